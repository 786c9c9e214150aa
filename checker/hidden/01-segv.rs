//! Hidden tests of exercise 01 · segv. Each runs in a process of its own, so
//! the learner's fork is safe here.

use super::exercise::{Ending, read_only_address, write_in_child};
use crate::prelude::*;

pub const TESTS: &[Test] = &[
    Test { name: "a_null_write_kills_the_child_with_sigsegv", run: a_null_write_kills_the_child_with_sigsegv },
    Test { name: "a_write_to_writable_memory_exits_0", run: a_write_to_writable_memory_exits_0 },
    Test { name: "the_write_happens_in_the_child_only", run: the_write_happens_in_the_child_only },
    Test { name: "an_unmapped_or_read_only_page_kills_the_child", run: an_unmapped_or_read_only_page_kills_the_child },
    Test { name: "other_signals_are_reported_too", run: other_signals_are_reported_too },
    Test { name: "the_child_is_reaped", run: the_child_is_reaped },
    Test { name: "the_read_only_address_is_mapped_without_w", run: the_read_only_address_is_mapped_without_w },
    Test { name: "writing_the_read_only_address_is_segv_accerr", run: writing_the_read_only_address_is_segv_accerr },
];

fn a_null_write_kills_the_child_with_sigsegv() -> Outcome {
    let ending = ensure_ok(write_in_child(0), "write_in_child returns Ok when fork works")?;
    ensure(ending == Ending::Killed(libc::SIGSEGV), "a write to address 0 is reported as Killed(SIGSEGV)")
}

fn a_write_to_writable_memory_exits_0() -> Outcome {
    let page = Mapping::anonymous(page_size(), libc::PROT_READ | libc::PROT_WRITE);
    let ending = ensure_ok(write_in_child(page.addr()), "write_in_child returns Ok when fork works")?;
    ensure(ending == Ending::Exited(0), "a write to writable memory is reported as Exited(0)")
}

fn the_write_happens_in_the_child_only() -> Outcome {
    let page = Mapping::anonymous(page_size(), libc::PROT_READ | libc::PROT_WRITE);
    ensure_ok(write_in_child(page.addr() + 7), "write_in_child returns Ok when fork works")?;
    // SAFETY: reading the test's own mapped page.
    let untouched = (0..page_size()).all(|i| unsafe { std::ptr::read_volatile(page.ptr.add(i)) } == 0);
    ensure(untouched, "the parent's memory is unchanged: only the child writes")
}

fn an_unmapped_or_read_only_page_kills_the_child() -> Outcome {
    let gone = Mapping::anonymous(page_size(), libc::PROT_READ | libc::PROT_WRITE);
    let unmapped = gone.addr();
    drop(gone);
    let ending = ensure_ok(write_in_child(unmapped), "write_in_child returns Ok when fork works")?;
    ensure(ending == Ending::Killed(libc::SIGSEGV), "a write to an unmapped page is reported as Killed(SIGSEGV)")?;
    let read_only = Mapping::anonymous(page_size(), libc::PROT_READ);
    let ending = ensure_ok(write_in_child(read_only.addr()), "write_in_child returns Ok when fork works")?;
    ensure(ending == Ending::Killed(libc::SIGSEGV), "a write to a read-only page is reported as Killed(SIGSEGV)")
}

/// A shared mapping of an empty file: the page has no file data behind it, so a write is SIGBUS.
fn other_signals_are_reported_too() -> Outcome {
    let path = temp_file("segv-empty", b"");
    let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).expect("open the test's file");
    let _ = std::fs::remove_file(&path);
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    // SAFETY: a shared mapping of the test's own (empty) file.
    let addr = unsafe {
        libc::mmap(std::ptr::null_mut(), page_size(), prot, libc::MAP_SHARED, std::os::fd::AsRawFd::as_raw_fd(&file), 0)
    };
    assert!(addr != libc::MAP_FAILED, "the test could not map its file");
    let ending = ensure_ok(write_in_child(addr as usize), "write_in_child returns Ok when fork works")?;
    ensure(
        ending == Ending::Killed(libc::SIGBUS),
        "a write past the end of a mapped file is reported as Killed(SIGBUS)",
    )
}

fn the_child_is_reaped() -> Outcome {
    ensure_ok(write_in_child(0), "write_in_child returns Ok when fork works")?;
    let page = Mapping::anonymous(page_size(), libc::PROT_READ | libc::PROT_WRITE);
    ensure_ok(write_in_child(page.addr()), "write_in_child returns Ok when fork works")?;
    ensure(no_children_left(), "every child was waited for: no zombie is left behind")
}

fn the_read_only_address_is_mapped_without_w() -> Outcome {
    let addr = read_only_address();
    let line = ensure_some(maps_entry(addr), "the address is mapped: a line of /proc/self/maps covers it")?;
    ensure(!line.perms.contains('w'), "the line that covers it has no w in its permissions")
}

fn writing_the_read_only_address_is_segv_accerr() -> Outcome {
    let addr = read_only_address();
    let ending = in_child(|| {
        // SAFETY: a deliberate write in a child, to see how it faults.
        unsafe { std::ptr::write_volatile(addr as *mut u8, 1) };
        0
    });
    ensure(
        matches!(ending, ChildEnd::Killed { signal: libc::SIGSEGV, code: Some(SEGV_ACCERR), .. }),
        "a write to the address faults with SIGSEGV and si_code SEGV_ACCERR (mapped, but not writable)",
    )
}
