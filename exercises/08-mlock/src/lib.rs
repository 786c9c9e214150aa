//! # Exercise 08 · mlock: lock a secret in memory, within the limit
//!
//! Lesson 08 locked pages with `mlock` (so they are never written to swap)
//! and hit RLIMIT_MEMLOCK (`ulimit -l`) when it asked for too much. Here you
//! write the type a program would use for a key or a password: its bytes in
//! pages of their own, locked, wiped when dropped, and a clear error when
//! the limit does not allow it.
//!
//! Fill in the types and functions below, replacing each `todo!()`. Add the
//! fields you need to `LockedSecret` (replace `_fields_you_need`).
//!
//! Check your work:   `cargo workbook verify 08`
//! Stuck?             `cargo workbook hint 08`   (run it again for the next hint)

use std::fmt;
use std::io;

/// Why a secret could not be locked.
#[derive(Debug)]
pub enum LockError {
    /// `mlock` said ENOMEM or EPERM: the pages would take this process past
    /// its RLIMIT_MEMLOCK (which counts everything it has locked already).
    OverLimit {
        /// The bytes you asked `mlock` to lock: whole pages.
        wanted: usize,
        /// The soft RLIMIT_MEMLOCK in bytes, from `libc::getrlimit`.
        limit: u64,
    },
    /// Any other failure: the secret was empty (`io::ErrorKind::InvalidInput`),
    /// or `mmap` failed.
    Other(io::Error),
}

impl fmt::Display for LockError {
    /// One clear sentence. For `OverLimit` it names both numbers (`wanted` and
    /// `limit`, in bytes, written as plain decimal numbers) and says how to
    /// raise the limit: it must contain the words `ulimit -l`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!("write the message for each case")
    }
}

/// A secret kept in locked memory of its own.
pub struct LockedSecret {
    _fields_you_need: (),
}

impl LockedSecret {
    /// Copy `secret` into pages of its own and lock them.
    ///
    /// 1. Map enough whole pages for the secret with `libc::mmap` (private,
    ///    anonymous, read-write) and copy the secret to their start.
    /// 2. Lock those pages with `libc::mlock(addr, len)`.
    /// 3. If `mlock` fails with ENOMEM or EPERM, return `LockError::OverLimit`
    ///    with `wanted` = the length you passed to `mlock` and `limit` from
    ///    `libc::getrlimit(libc::RLIMIT_MEMLOCK, ..)`. Any other failure is
    ///    `LockError::Other(io::Error::last_os_error())`.
    ///
    /// On every failure, unmap what you mapped: nothing stays behind. An
    /// empty secret is `LockError::Other` with `io::ErrorKind::InvalidInput`.
    pub fn new(secret: &[u8]) -> Result<LockedSecret, LockError> {
        let _ = secret;
        todo!("mmap, copy, mlock; on failure tell OverLimit from Other")
    }

    /// The secret's bytes (exactly as many as were given to `new`).
    pub fn bytes(&self) -> &[u8] {
        todo!("a slice of the locked memory")
    }
}

impl Drop for LockedSecret {
    /// Overwrite the secret with zeros (with `std::ptr::write_volatile`, so the
    /// compiler cannot skip writes to memory that is about to go away), then
    /// `libc::munlock` and `libc::munmap` the pages.
    fn drop(&mut self) {
        todo!("wipe, unlock, unmap")
    }
}
