//! Lesson 07: mprotect. A guard page catches the first byte past the end of a
//! buffer, and a read-only page refuses writes.
//!
//! Run it: `cargo run -p lesson-07-mprotect` (add `-- --pause` to watch the
//! region's lines in `/proc/PID/maps` change from another terminal).

use std::process::ExitCode;
use std::ptr;

use libc::{MAP_ANONYMOUS, MAP_FAILED, MAP_PRIVATE, PROT_NONE, PROT_READ, PROT_WRITE};
use nix::errno::Errno;
use workbook::child::{ChildRun, Ending, run_in_child};
use workbook::maps::{Region, Snapshot};
use workbook::report::addr;
use workbook::sys::page_size;
use workbook::{Lesson, size};

/// The pages the program may use. One more page, the guard, follows them.
const BUFFER_PAGES: usize = 4;

fn main() -> ExitCode {
    let lesson = Lesson::start(
        "lesson-07-mprotect",
        "Lesson 07 · mprotect: guard pages and read-only memory",
        "Every page has its own permissions; mprotect changes them and the MMU checks them on every access.",
    );
    let page = page_size();
    lesson.show("page size (sysconf _SC_PAGESIZE)", size(page));
    let len = BUFFER_PAGES * page;

    // ANCHOR: guard
    lesson.step(&format!("Map a {BUFFER_PAGES}-page buffer and one page more, and make that page a guard"));
    // SAFETY: a fresh anonymous mapping; nothing else refers to this memory.
    let mapping =
        unsafe { libc::mmap(ptr::null_mut(), len + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
    assert_ne!(mapping, MAP_FAILED, "mmap of {} bytes failed: {}", len + page, Errno::last());
    let buffer = mapping.cast::<u8>();
    let guard = buffer.wrapping_add(len); // the first byte past the end of the buffer
    let whole = (buffer as usize, len + page);
    let fresh = layout(whole);
    lesson.check(
        "after mmap, our pages in /proc/self/maps",
        &fresh,
        fresh == format!("rw-p ({})", pages(BUFFER_PAGES + 1)),
    );
    // SAFETY: the last page of the mapping above; the buffer's pages keep PROT_READ|PROT_WRITE.
    let result = unsafe { libc::mprotect(guard.cast(), page, PROT_NONE) };
    assert_eq!(result, 0, "mprotect of the guard page failed: {}", Errno::last());
    lesson.say(format!("mprotect({}, {page}, PROT_NONE) = {result}", addr(guard as usize)));
    for line in lines_covering(whole) {
        lesson.quote("maps:", line);
    }
    let guarded = format!("rw-p ({}) | ---p (1 page)", pages(BUFFER_PAGES));
    let split = layout(whole);
    lesson.check("after mprotect, the kernel split them into two lines", &split, split == guarded);
    let guard_line = Snapshot::of_self().expect("read maps").find(guard as usize).cloned().expect("guard is mapped");
    lesson.check(
        "the ---p line starts exactly at the end of the buffer",
        addr(guard_line.start),
        guard_line.start == guard as usize,
    );
    lesson.pause("the buffer is rw-p, the guard page ---p", &[format!("cat /proc/{}/maps", std::process::id())]);
    // ANCHOR_END: guard

    // ANCHOR: inside
    lesson.step("Writes inside the buffer work");
    for offset in 0..len {
        // SAFETY: offset < len, inside the read-write buffer.
        unsafe { ptr::write_volatile(buffer.add(offset), pattern(offset)) };
    }
    // SAFETY: every offset below len is inside the readable buffer.
    let intact = (0..len).all(|offset| unsafe { ptr::read_volatile(buffer.add(offset)) } == pattern(offset));
    lesson.check("wrote every byte of the buffer and read it back", size(len), intact);
    let last = buffer.wrapping_add(len - 1);
    let run = run_in_child(|| {
        // SAFETY: the last byte of the buffer, still read-write in the child's copy.
        unsafe { ptr::write_volatile(last, 1) };
        0
    });
    lesson.check("a child that writes the buffer's last byte", run.describe(), run.ending == Ending::Exited(0));
    // ANCHOR_END: inside

    // ANCHOR: past
    lesson.step("One byte past the end: the guard page stops it");
    let run = run_in_child(|| {
        // SAFETY: deliberately writing to the PROT_NONE guard page, in a child, to watch it fault.
        unsafe { ptr::write_volatile(guard, 1) };
        0
    });
    lesson.check("a child that writes buffer[len]", run.describe(), fault(&run).0 == "SEGV_ACCERR");
    let off_by = fault(&run).1.wrapping_sub(guard as usize) as isize;
    lesson.check("si_addr minus the guard page's address", format!("{off_by} bytes"), off_by == 0);
    // SAFETY: deliberately reading the guard page in a child: PROT_NONE forbids reading too.
    let run = run_in_child(|| i32::from(unsafe { ptr::read_volatile(guard) }));
    lesson.check("a child that only reads buffer[len]", run.describe(), fault(&run) == ("SEGV_ACCERR", guard as usize));
    let run = run_in_child(|| {
        // SAFETY: deliberately writing through a null pointer in a child, as in lesson 01.
        unsafe { ptr::write_volatile(ptr::null_mut::<u8>(), 1) };
        0
    });
    lesson.check(
        "compare: a child that writes through a null pointer",
        run.describe(),
        fault(&run) == ("SEGV_MAPERR", 0),
    );
    lesson.say("SEGV_ACCERR: a region is there, but its permissions forbid the access.");
    lesson.say("SEGV_MAPERR: no region at that address at all.");
    // ANCHOR_END: past

    // ANCHOR: readonly
    lesson.step("Turn the buffer's second page read-only");
    let second = buffer.wrapping_add(page);
    // SAFETY: the second page of the buffer; it was read-write and holds the pattern.
    let result = unsafe { libc::mprotect(second.cast(), page, PROT_READ) };
    assert_eq!(result, 0, "mprotect of the second page failed: {}", Errno::last());
    lesson.say(format!("mprotect({}, {page}, PROT_READ) = {result}", addr(second as usize)));
    for line in lines_covering(whole) {
        lesson.quote("maps:", line);
    }
    let split = layout(whole);
    let expected = format!("rw-p (1 page) | r--p (1 page) | rw-p ({}) | ---p (1 page)", pages(BUFFER_PAGES - 2));
    lesson.check("one line became three around the read-only page", &split, split == expected);
    let target = second.wrapping_add(100);
    // SAFETY: the page is PROT_READ, so reading it is allowed.
    let byte = unsafe { ptr::read_volatile(target) };
    lesson.pause("the second page is read-only", &[format!("cat /proc/{}/maps", std::process::id())]);
    let written = pattern(page + 100);
    let measured = format!("byte 100 reads {byte}, as written in step 2");
    lesson.check("reading it still works, and the data is unchanged", measured, byte == written);
    let run = run_in_child(|| {
        // SAFETY: deliberately writing to the read-only page in a child, to watch it fault.
        unsafe { ptr::write_volatile(target, 1) };
        0
    });
    lesson.check("a child that writes byte 100 of it", run.describe(), fault(&run) == ("SEGV_ACCERR", target as usize));
    // SAFETY: the same page back to read-write, as it was mapped.
    let result = unsafe { libc::mprotect(second.cast(), page, PROT_READ | PROT_WRITE) };
    assert_eq!(result, 0, "mprotect back to read-write failed: {}", Errno::last());
    let merged = layout(whole);
    lesson.check("back to PROT_READ|PROT_WRITE: the lines merge again", &merged, merged == guarded);
    // ANCHOR_END: readonly

    // ANCHOR: rules
    lesson.step("The rules: whole pages, inside a mapping");
    // SAFETY: an address one byte into the buffer; mprotect must refuse it and change nothing.
    let result = unsafe { libc::mprotect(buffer.wrapping_add(1).cast(), page, PROT_READ) };
    let refused = if result == -1 { Errno::last() } else { Errno::UnknownErrno };
    lesson.check("mprotect(buffer + 1, ...): an address that is not page-aligned", refused, refused == Errno::EINVAL);
    // SAFETY: unmapping the whole mapping; it is not touched again.
    let result = unsafe { libc::munmap(mapping, len + page) };
    assert_eq!(result, 0, "munmap failed: {}", Errno::last());
    // SAFETY: the range was just unmapped; mprotect must refuse it.
    let result = unsafe { libc::mprotect(mapping, page, PROT_READ) };
    let refused = if result == -1 { Errno::last() } else { Errno::UnknownErrno };
    lesson.check("mprotect on the same range after munmap", refused, refused == Errno::ENOMEM);
    let local = 0u8;
    let stack = Snapshot::of_self().expect("read maps").find(&raw const local as usize).cloned().expect("stack");
    lesson.quote("a local variable lives in:", &stack);
    lesson.check("the stack is not executable (no x)", stack.perms, !stack.perms.exec);
    lesson.say("Data pages lack PROT_EXEC, so machine code smuggled into a buffer cannot run there (NX).");
    // ANCHOR_END: rules

    lesson.finish()
}

/// The byte the lesson writes at `offset`, so any byte can be checked later.
fn pattern(offset: usize) -> u8 {
    (offset % 251) as u8
}

/// How a child's fault ended: its si_code name and si_addr, or ("no fault", 0).
fn fault(run: &ChildRun) -> (&'static str, usize) {
    run.fault.map_or(("no fault", 0), |f| (f.code_name(), f.addr))
}

/// The lines of /proc/self/maps that cover any byte of `start..start + len`.
fn lines_covering((start, len): (usize, usize)) -> Vec<Region> {
    let map = Snapshot::of_self().expect("read /proc/self/maps");
    map.regions.into_iter().filter(|r| r.start < start + len && r.end > start).collect()
}

/// Those lines as "rw-p (4 pages) | ---p (1 page)": permissions, and how many
/// of *our* pages each one holds (a line may reach past them into a neighbour).
fn layout((start, len): (usize, usize)) -> String {
    let ours = |r: &Region| (r.end.min(start + len) - r.start.max(start)) / page_size();
    let describe = |r: &Region| format!("{} ({})", r.perms, pages(ours(r)));
    lines_covering((start, len)).iter().map(describe).collect::<Vec<_>>().join(" | ")
}

/// "1 page", "4 pages".
fn pages(count: usize) -> String {
    if count == 1 { "1 page".to_string() } else { format!("{count} pages") }
}
