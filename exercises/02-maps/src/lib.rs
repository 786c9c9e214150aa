//! # Exercise 02 · maps: read a line of /proc/self/maps, odd cases included
//!
//! Lesson 02 toured the address space with /proc/self/maps. Here you write
//! the parser that tour needs: one line in, its six columns out, and then a
//! lookup that finds which region of this process holds an address.
//!
//! ```text
//! 5581f0a00000-5581f0a21000 r-xp 00002000 fd:01 1835027                    /usr/bin/cat
//! start        end          perms offset  device inode                      path
//! ```
//!
//! Fill in the two functions below, replacing each `todo!()`.
//!
//! Check your work:   `cargo workbook verify 02`
//! Stuck?             `cargo workbook hint 02`   (run it again for the next hint)

use std::io;

/// The permissions column: four letters such as `r-xp` or `rw-s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perms {
    /// `r` in the first place (`-` when not).
    pub read: bool,
    /// `w` in the second place.
    pub write: bool,
    /// `x` in the third place.
    pub exec: bool,
    /// `s` in the fourth place (shared); `p` means private.
    pub shared: bool,
}

/// One line of /proc/PID/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapsLine {
    /// First address of the region.
    pub start: usize,
    /// One past the last address: the region is `start..end`.
    pub end: usize,
    pub perms: Perms,
    /// Offset into the mapped file.
    pub offset: u64,
    /// The device of the mapped file: `(major, minor)`.
    pub device: (u32, u32),
    /// The inode of the mapped file; 0 when no file is mapped.
    pub inode: u64,
    /// The last column without its leading padding: a file's path, a name
    /// in brackets such as `[stack]`, or "" for anonymous memory. Without
    /// the ` (deleted)` the kernel adds for a file removed after mapping.
    pub path: String,
    /// True when the kernel marked the path ` (deleted)`.
    pub deleted: bool,
}

/// Parse one line of a maps file.
///
/// - The addresses, the offset and the two halves of the device are
///   hexadecimal without `0x`; the inode is decimal.
/// - Columns are separated by one space, but the kernel pads before the path
///   column with as many spaces as it likes, and a line without a path may
///   end in a space. The path itself may contain spaces (`/tmp/my file`,
///   `[anon:my buffer]`): keep it whole.
/// - Return `None` for anything that is not a well-formed maps line (a
///   missing column, a number that does not parse, permissions that are not
///   four of the right letters, an end before its start). Never panic: this
///   function may be handed any text at all.
pub fn parse_line(line: &str) -> Option<MapsLine> {
    let _ = line;
    todo!("split the columns and parse each one")
}

/// The line of this process's /proc/self/maps whose region contains `addr`,
/// or `None` when no region does. A region holds its start address, but not
/// its end address. An error reading the file is returned as `Err`.
pub fn region_of(addr: usize) -> io::Result<Option<MapsLine>> {
    let _ = addr;
    todo!("read /proc/self/maps and find the line that holds addr")
}
