//! Hidden tests of exercise 07 · mprotect. Writes that should fault are made
//! in a child process, whose death the test observes with its si_code.

use super::exercise::GuardedBuffer;
use crate::prelude::*;

pub const TESTS: &[Test] = &[
    Test { name: "every_byte_of_the_buffer_is_writable", run: every_byte_of_the_buffer_is_writable },
    Test { name: "the_first_byte_past_the_end_faults", run: the_first_byte_past_the_end_faults },
    Test { name: "reading_past_the_end_faults_too", run: reading_past_the_end_faults_too },
    Test { name: "maps_shows_the_guard_page", run: maps_shows_the_guard_page },
    Test { name: "size_zero_is_an_error", run: size_zero_is_an_error },
    Test { name: "drop_unmaps_everything", run: drop_unmaps_everything },
];

fn sizes() -> [usize; 4] {
    [1, 100, page_size(), 2 * page_size() + 100]
}

fn buffer(size: usize) -> Result<GuardedBuffer, Failure> {
    ensure_ok(GuardedBuffer::new(size), "GuardedBuffer::new succeeds for a size above 0")
}

fn every_byte_of_the_buffer_is_writable() -> Outcome {
    for size in sizes() {
        let buffer = buffer(size)?;
        ensure(buffer.size() == size, "size() is the size given to new")?;
        let data = buffer.data();
        let ending = in_child(|| {
            for i in 0..size {
                // SAFETY: inside the buffer; a fault would end only this child.
                unsafe { data.add(i).write_volatile(i as u8) };
            }
            // SAFETY: as above, reading back.
            let intact = (0..size).all(|i| unsafe { data.add(i).read_volatile() } == i as u8);
            if intact { 0 } else { 1 }
        });
        ensure(ending == ChildEnd::Exited(0), "every byte from data() to data() + size() - 1 can be written and read")?;
    }
    Ok(())
}

fn the_first_byte_past_the_end_faults() -> Outcome {
    for size in sizes() {
        let buffer = buffer(size)?;
        let past_the_end = buffer.data() as usize + size;
        let ending = in_child(|| {
            // SAFETY: a deliberate overflow by one byte, in a child.
            unsafe { (past_the_end as *mut u8).write_volatile(1) };
            0
        });
        let ChildEnd::Killed { signal, code, addr } = ending else {
            return fail(
                "writing the first byte past the end kills the writer (the guard page is right after the buffer)",
            );
        };
        ensure(signal == libc::SIGSEGV, "the overflow is a SIGSEGV")?;
        ensure(code == Some(SEGV_ACCERR), "its si_code is SEGV_ACCERR: a mapped page without permission")?;
        ensure(addr == Some(past_the_end), "it faults at exactly the first byte past the end")?;
        ensure(buffer.guard_page() == past_the_end, "guard_page() is the first byte past the end")?;
    }
    Ok(())
}

fn reading_past_the_end_faults_too() -> Outcome {
    let buffer = buffer(300)?;
    let past_the_end = buffer.data() as usize + 300;
    let ending = in_child(|| {
        // SAFETY: a deliberate read past the end, in a child.
        let byte = unsafe { (past_the_end as *const u8).read_volatile() };
        i32::from(byte == 255)
    });
    ensure(
        matches!(ending, ChildEnd::Killed { signal: libc::SIGSEGV, .. }),
        "reading the guard page faults too (PROT_NONE, not read-only)",
    )
}

fn maps_shows_the_guard_page() -> Outcome {
    let buffer = buffer(2 * page_size() + 1)?;
    ensure(buffer.guard_page() % page_size() == 0, "guard_page() is a multiple of the page size")?;
    let guard = ensure_some(maps_entry(buffer.guard_page()), "the guard page is mapped (a line of /proc/self/maps)")?;
    ensure(guard.perms == "---p", "the guard page's line in /proc/self/maps is ---p")?;
    let data = ensure_some(maps_entry(buffer.data() as usize), "the buffer is mapped")?;
    ensure(data.perms == "rw-p", "the buffer's line in /proc/self/maps is rw-p")?;
    ensure(data.end == guard.start, "the buffer's pages end where the guard page starts")
}

fn size_zero_is_an_error() -> Outcome {
    ensure(GuardedBuffer::new(0).is_err(), "GuardedBuffer::new(0) is an Err")
}

fn drop_unmaps_everything() -> Outcome {
    let buffer = buffer(page_size() + 1)?;
    let (data, guard) = (buffer.data() as usize, buffer.guard_page());
    drop(buffer);
    ensure(maps_entry(data).is_none(), "after drop the buffer's pages are unmapped")?;
    ensure(maps_entry(guard).is_none(), "after drop the guard page is unmapped too")
}
