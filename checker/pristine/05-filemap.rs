//! # Exercise 05 · filemap: append to a file through a shared mapping
//!
//! Lesson 05 showed that a write into a `MAP_SHARED` mapping of a file
//! reaches the file, and that a page of the mapping past the end of the file
//! is a SIGBUS. Here you use both facts: you append to a file without
//! `write(2)`, by growing the file and writing into a mapping of it.
//!
//! Fill in the function below, replacing the `todo!()`. The tests refuse
//! `write(2)` and its relatives on files while your code runs, so the bytes
//! must really travel through the mapping.
//!
//! Check your work:   `cargo workbook verify 05`
//! Stuck?             `cargo workbook hint 05`   (run it again for the next hint)

use std::io;
use std::path::Path;

/// Append `data` to the end of the file at `path` through a shared mapping,
/// and return the file's new length in bytes.
///
/// 1. Open the file for reading and writing (`std::fs::OpenOptions`).
/// 2. Grow it first with `File::set_len` (that is `ftruncate(2)`): a mapping
///    only reaches bytes the file has, and writing to a mapped page that lies
///    wholly past the end of the file kills the process with SIGBUS.
/// 3. Map it with `libc::mmap(.., PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset)`.
///    The offset must be a multiple of the page size: map from 0, or from the
///    start of the page that holds the old end of the file.
/// 4. Copy `data` in after the old end, call `libc::msync(.., MS_SYNC)` so the
///    file has it, and `libc::munmap` the mapping: leave no mapping behind.
///
/// Appending nothing (`data` empty) leaves the file as it is and returns its
/// length: do not call `mmap` then (a length of 0 is an error to it). Every
/// failure is an `Err`, never a panic.
pub fn append_through_mapping(path: &Path, data: &[u8]) -> io::Result<u64> {
    let _ = (path, data);
    todo!("grow the file, map it MAP_SHARED, copy, msync, unmap")
}
