//! # Exercise 04 · paging: count the page faults of touching memory
//!
//! Lesson 04 showed demand paging: fresh memory costs nothing until it is
//! touched, and then one page fault per page. Here you measure it yourself,
//! with `getrusage` around your own writes, and you ask the kernel which
//! pages are in RAM with `mincore`.
//!
//! Fill in the two functions below, replacing each `todo!()`. The tests hand
//! you fresh memory from `mmap`: page-aligned, readable and writable, never
//! touched before, with transparent huge pages turned off.
//!
//! Check your work:   `cargo workbook verify 04`
//! Stuck?             `cargo workbook hint 04`   (run it again for the next hint)

use std::io;

/// Write one byte into every page of `memory`, and return how many minor
/// page faults this process took while doing so.
///
/// - Count with `libc::getrusage(libc::RUSAGE_SELF, ...)`: its `ru_minflt`
///   is this process's minor faults so far. Read it just before and just
///   after the writes; return the difference. Do nothing else in between
///   (allocating, printing) that could fault as well.
/// - One write per page: at offsets 0, page, 2 × page, ... for as long as
///   they are inside `memory`. A last page that `memory` covers only in part
///   is a page too. The page size comes from `libc::sysconf(libc::_SC_PAGESIZE)`.
/// - Write, do not just read: reading a fresh page maps the kernel's shared
///   zero page, and the page gets no memory of its own.
pub fn touch_pages(memory: &mut [u8]) -> u64 {
    let _ = memory;
    todo!("getrusage, one write per page, getrusage again")
}

/// How many pages of `memory` are in RAM now, asked of the kernel with `libc::mincore`.
///
/// `memory` starts at a page boundary. `mincore(addr, len, vec)` fills one
/// byte of `vec` per page of the range, so `vec` needs `len` divided by the
/// page size *rounded up* bytes; a page is in RAM when the lowest bit of its
/// byte is set. When `mincore` fails (-1), return `Err(io::Error::last_os_error())`.
pub fn resident_pages(memory: &[u8]) -> io::Result<usize> {
    let _ = memory;
    todo!("call mincore and count the bytes with the lowest bit set")
}
