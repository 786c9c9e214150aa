//! # Exercise 06 · cow: what parent and child see after a write
//!
//! Lesson 06 showed copy-on-write: after `fork`, parent and child share
//! every page until one of them writes; then the writer gets a copy of its
//! own, at the same virtual address. Here you run that experiment yourself,
//! for a private mapping and for a shared one, and report what each process
//! sees.
//!
//! Fill in the function below, replacing the `todo!()`.
//!
//! Check your work:   `cargo workbook verify 06`
//! Stuck?             `cargo workbook hint 06`   (run it again for the next hint)

use std::io;

/// What each process read at the same address after the child's write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub parent: u64,
    pub child: u64,
}

/// Run the copy-on-write experiment once and report what each side sees.
///
/// 1. Map one page of anonymous memory with `libc::mmap`: `MAP_SHARED |
///    MAP_ANONYMOUS` when `shared` is true, `MAP_PRIVATE | MAP_ANONYMOUS` when
///    it is false; readable and writable. Store `before` (a `u64`) at its start.
/// 2. Make a pipe (`libc::pipe`) so the child can tell the parent what it saw,
///    then `libc::fork()`.
/// 3. The child writes `child_writes` at the start of the page, reads the value
///    back, sends those 8 bytes (`u64::to_ne_bytes`) through the pipe, and ends
///    with `libc::_exit(0)`. (Not through its exit status: that holds 8 bits.)
/// 4. The parent reads the child's 8 bytes, waits for the child with
///    `libc::waitpid` (so the write has surely happened, and no zombie is
///    left), and only then reads the value at the start of its own page.
/// 5. Unmap the page and close both ends of the pipe before returning.
///
/// Every failing call is an `Err(io::Error::last_os_error())`, never a panic.
pub fn after_child_writes(before: u64, child_writes: u64, shared: bool) -> io::Result<Seen> {
    let _ = (before, child_writes, shared);
    todo!("mmap, store, pipe, fork; the child writes and reports; the parent waits and reads")
}
