//! Shared plumbing for the Virtual Memory Workbook.
//!
//! Everything here is *plumbing*: reading `/proc`, running a step in a child
//! process and reporting how it ended, printing evidence. The system calls a
//! lesson teaches (`mmap`, `mprotect`, `mlock`, `fork`, ...) are called in the
//! lesson's own `main.rs`, where the learner can see them.

// The workbook is about the Linux memory manager: stop early, with one line that
// says what to do, instead of pages of errors about missing Linux APIs.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "The Virtual Memory Workbook needs Linux: its lessons read /proc and call Linux system calls. \
     Run it in a Linux VM, in WSL2 on Windows, or in a Linux container (for example \
     `docker run -it --rm -v \"$PWD\":/work -w /work rust:latest`)."
);

pub mod child;
pub mod cli;
pub mod fenced;
pub mod maps;
pub mod meminfo;
pub mod pagemap;
pub mod proc_pid;
pub mod report;
pub mod smaps;
pub mod sys;
pub mod tempdir;

pub use report::{Lesson, size};
