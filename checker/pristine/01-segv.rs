//! # Exercise 01 · segv: make an address fault, and report how
//!
//! Lesson 01 wrote through a null pointer in a child process and watched the
//! child die of SIGSEGV. Now you write both sides: the child that writes to an
//! address, and the parent that learns from `waitpid` how the child ended.
//! Then you find an address that is mapped but may not be written.
//!
//! Fill in the two functions below, replacing each `todo!()`.
//!
//! Check your work:   `cargo workbook verify 01`
//! Stuck?             `cargo workbook hint 01`   (run it again for the next hint)

use std::io;

/// How a child process ended, as its parent learns it from `waitpid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The child exited by itself with this status, as in `_exit(status)`.
    Exited(i32),
    /// A signal killed the child: its number, such as `libc::SIGSEGV` (11 on x86_64).
    Killed(i32),
}

/// Start a child process that writes one byte to `addr`, wait for it, and
/// return how it ended.
///
/// - Create the child with `libc::fork()`. It returns twice: 0 in the child,
///   the child's pid in the parent, -1 (and no child) on failure; return that
///   failure as `Err(io::Error::last_os_error())`.
/// - In the child: write any byte to `addr` with `std::ptr::write_volatile`
///   (lesson 01 shows why a plain `*ptr = 1` is not the same), then end the
///   child with `libc::_exit(0)`. The child must never return from this function.
/// - In the parent: wait for that child with `libc::waitpid` and decode the
///   status with `libc::WIFEXITED` / `libc::WEXITSTATUS` or `libc::WIFSIGNALED`
///   / `libc::WTERMSIG`. Waiting also reaps the child: no zombie may be left.
///
/// The parent's own memory is never touched: the write happens in the child's
/// copy of the address space.
pub fn write_in_child(addr: usize) -> io::Result<Ending> {
    let _ = addr;
    todo!("fork, write to addr in the child, wait in the parent")
}

/// An address in this process that is mapped, but not writable: a write to it
/// faults with `SEGV_ACCERR` ("you may not"), not `SEGV_MAPERR` ("nothing here").
///
/// Any such address will do. Where does a program keep what it must never
/// change? Look for a line of /proc/self/maps without `w` in its permissions.
pub fn read_only_address() -> usize {
    todo!("return the address of something mapped read-only")
}
