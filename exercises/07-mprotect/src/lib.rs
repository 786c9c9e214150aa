//! # Exercise 07 · mprotect: a buffer with a guard page
//!
//! Lesson 07 put a `PROT_NONE` page after some memory, and the first byte
//! written past the end faulted at once with `SEGV_ACCERR`. Here you build
//! that as a type: a buffer whose overflow can never go unnoticed.
//!
//! Fill in the struct and its methods below, replacing each `todo!()`. Add
//! whatever fields you need to `GuardedBuffer` (replace `_fields_you_need`).
//!
//! Check your work:   `cargo workbook verify 07`
//! Stuck?             `cargo workbook hint 07`   (run it again for the next hint)

use std::io;

/// `size` bytes of read-write memory followed directly by a guard page that
/// may not be read or written: the first byte past the end faults.
pub struct GuardedBuffer {
    _fields_you_need: (),
}

impl GuardedBuffer {
    /// Make a buffer of `size` bytes with a guard page right after its last byte.
    ///
    /// - Map whole pages with `libc::mmap` (private, anonymous, read-write):
    ///   enough pages for `size` bytes (rounded up), plus one more for the guard.
    /// - Make that last page inaccessible with `libc::mprotect(.., PROT_NONE)`.
    ///   `mprotect` works on whole pages and wants a page-aligned address.
    /// - Place the buffer at the *end* of the read-write pages, so that its
    ///   last byte is the last byte before the guard page: `data() + size()`
    ///   is then the guard page's first byte, even when `size` is not a whole
    ///   number of pages.
    /// - `size` 0 is an `Err` (`io::ErrorKind::InvalidInput`); a failing call
    ///   is `Err(io::Error::last_os_error())`, after unmapping what was mapped.
    pub fn new(size: usize) -> io::Result<GuardedBuffer> {
        let _ = size;
        todo!("mmap pages + 1, mprotect the last one PROT_NONE, place the buffer at the end")
    }

    /// The first byte of the buffer.
    pub fn data(&self) -> *mut u8 {
        todo!("return the start of the buffer")
    }

    /// The number of usable bytes: the `size` given to `new`.
    pub fn size(&self) -> usize {
        todo!("return the size")
    }

    /// The address of the guard page (a multiple of the page size).
    pub fn guard_page(&self) -> usize {
        todo!("return the guard page's address")
    }
}

impl Drop for GuardedBuffer {
    /// Unmap everything `new` mapped, the guard page included.
    fn drop(&mut self) {
        todo!("munmap the whole mapping")
    }
}
