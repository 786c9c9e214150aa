//! # Exercise 10 · elf: the PT_LOAD segment and maps line of an address
//!
//! Lesson 10 read an executable's program headers and matched each PT_LOAD
//! segment to a line of /proc/self/maps. Here you read them yourself, byte by
//! byte, and then answer "where does this address come from?" for any
//! address of this program: which segment of the file, at which load bias,
//! in which line of the map.
//!
//! Fill in the two functions below, replacing each `todo!()`. Read the file
//! with `std::fs::read`; no ELF library is needed (64-bit little-endian only).
//!
//! ```text
//! ELF header                      program header (e_phentsize bytes, 56 here)
//!   0  magic 7f 45 4c 46            0  p_type   u32  (1 = PT_LOAD)
//!   4  class: 2 = 64-bit            4  p_flags  u32  (PF_X 1, PF_W 2, PF_R 4)
//!   5  data:  1 = little-endian     8  p_offset u64
//!  24  e_entry     u64             16  p_vaddr  u64
//!  32  e_phoff     u64             32  p_filesz u64
//!  54  e_phentsize u16             40  p_memsz  u64
//!  56  e_phnum     u16
//! ```
//!
//! Check your work:   `cargo workbook verify 10`
//! Stuck?             `cargo workbook hint 10`   (run it again for the next hint)

use std::io;
use std::path::Path;

/// Segment flags, as in `p_flags`.
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

/// One PT_LOAD program header: a piece of the file and where it goes in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Where the piece starts in the file.
    pub offset: u64,
    /// Where it goes in memory, before the load bias is added.
    pub vaddr: u64,
    /// Bytes taken from the file.
    pub filesz: u64,
    /// Bytes in memory: more than `filesz` when zeros follow (the bss).
    pub memsz: u64,
    /// `PF_R | PF_W | PF_X` bits.
    pub flags: u32,
}

/// Where an address of this program comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The PT_LOAD segment whose memory holds the address.
    pub segment: Segment,
    /// Run-time address minus `p_vaddr`: where the kernel placed the program.
    pub load_bias: usize,
    /// The line of /proc/self/maps that holds the address, as the file has it
    /// (without the newline).
    pub maps_line: String,
}

/// The PT_LOAD program headers of the ELF file at `path`, in file order.
///
/// Read the whole file, check it, then read `e_phnum` headers of
/// `e_phentsize` bytes each, starting at `e_phoff`, and keep those whose
/// `p_type` is 1. Return `Err` of kind `io::ErrorKind::InvalidData` for a file
/// that is not a 64-bit little-endian ELF file (wrong magic, class or data
/// byte), or that is too short for its header or its program headers, or
/// whose `e_phentsize` is below 56. Never panic, never index out of bounds.
pub fn load_segments(path: &Path) -> io::Result<Vec<Segment>> {
    let _ = path;
    todo!("read the ELF header, then the program headers")
}

/// Where `addr`, an address in this process, comes from: `Ok(None)` when no
/// PT_LOAD segment of this program's own executable holds it.
///
/// - This program's file is `/proc/self/exe`: read its segments and `e_entry`.
/// - The load bias is where the kernel says the entry point is now,
///   `libc::getauxval(libc::AT_ENTRY)`, minus `e_entry` from the file.
/// - The segment that holds `addr` is the one with
///   `p_vaddr <= addr - bias < p_vaddr + p_memsz` (memsz: the bss counts).
/// - The maps line is the line of /proc/self/maps whose range holds `addr`.
pub fn origin_of(addr: usize) -> io::Result<Option<Origin>> {
    let _ = addr;
    todo!("compute the load bias, find the segment and the maps line")
}
