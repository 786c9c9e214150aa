//! # Exercise 03 · mmap: ask the kernel for whole pages
//!
//! Lesson 03 mapped 100 MiB and proved what it got from /proc/self/maps. Now
//! you write the mapping code. Fill in the three functions below, replacing
//! each `todo!()`, using `libc::mmap` and `libc::munmap` yourself.
//!
//! Check your work:   `cargo workbook verify 03`
//! Stuck?             `cargo workbook hint 03`   (run it again for the next hint)
//!
//! The hidden tests read /proc/self/maps and the kernel's residency bits to
//! see what you really mapped, so the numbers you return must be the truth.

use std::io;

/// A region of this process's address space made by [`map_pages`] or [`map_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// The first address of the region: what `mmap` returned.
    pub start: usize,
    /// Its length in bytes. The kernel maps whole pages, so this is always a
    /// whole number of pages.
    pub len: usize,
}

/// Map `pages` pages of fresh memory and return the region.
///
/// - Call `libc::mmap` with no address hint (`std::ptr::null_mut()`), so the
///   kernel chooses the address; protection `PROT_READ | PROT_WRITE`; flags
///   `MAP_PRIVATE | MAP_ANONYMOUS` (no file behind it); fd `-1`; offset `0`.
/// - The length in bytes is `pages` times the page size. Ask the kernel for the
///   page size with `libc::sysconf(libc::_SC_PAGESIZE)`: it is not 4096 everywhere.
/// - Do not touch the memory: it must not use any RAM until somebody writes to it.
/// - When `mmap` fails it returns `libc::MAP_FAILED`, not null. Return that
///   failure as `Err(std::io::Error::last_os_error())`; never panic. Asking for
///   0 pages is such a failure. A count whose byte length does not fit in a
///   `usize` must also be an `Err` (for example `io::ErrorKind::InvalidInput`).
pub fn map_pages(pages: usize) -> io::Result<Region> {
    let _ = pages;
    todo!("map `pages` pages with libc::mmap")
}

/// Map at least `bytes` bytes, the same way as [`map_pages`].
///
/// The kernel only maps whole pages, so the region you get is `bytes` rounded
/// up to a whole number of pages, and the `len` you return must say so. A size
/// that is already a whole number of pages gets no extra page. 0 bytes, or a
/// size too large to round up, is an `Err`, as in [`map_pages`].
pub fn map_bytes(bytes: usize) -> io::Result<Region> {
    let _ = bytes;
    todo!("round `bytes` up to whole pages, then map them")
}

/// Give a region back to the kernel with `libc::munmap`.
///
/// Afterwards no line of /proc/self/maps covers any address of the region. A
/// failing `munmap` returns -1: report it as `Err(io::Error::last_os_error())`.
pub fn unmap(region: Region) -> io::Result<()> {
    let _ = region;
    todo!("unmap the whole region with libc::munmap")
}
