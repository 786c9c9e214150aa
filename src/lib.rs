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

// Every module is Linux-only. Leaving them out elsewhere keeps the message above
// the only error a macOS or Windows learner sees.
#[cfg(target_os = "linux")]
pub mod child;
#[cfg(target_os = "linux")]
pub mod cli;
#[cfg(target_os = "linux")]
pub mod fenced;
#[cfg(target_os = "linux")]
pub mod maps;
#[cfg(target_os = "linux")]
pub mod meminfo;
#[cfg(target_os = "linux")]
pub mod pagemap;
#[cfg(target_os = "linux")]
pub mod proc_pid;
#[cfg(target_os = "linux")]
pub mod report;
#[cfg(target_os = "linux")]
pub mod smaps;
#[cfg(target_os = "linux")]
pub mod sys;
#[cfg(target_os = "linux")]
pub mod tempdir;

#[cfg(target_os = "linux")]
pub use report::{Lesson, size};
