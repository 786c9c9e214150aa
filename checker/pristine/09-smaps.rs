//! # Exercise 09 · smaps: a region's Rss and Pss
//!
//! Lesson 09 shared one region among several processes and watched its Pss
//! (proportional set size) shrink: each page's cost is split evenly among the
//! processes that map it. Here you read those numbers from /proc/self/smaps
//! yourself, and you set up the sharing that divides them.
//!
//! ```text
//! 7f5e3c000000-7f5e3c008000 rw-s 00000000 00:01 2071    /dev/zero (deleted)
//! Size:                 32 kB
//! Rss:                  32 kB
//! Pss:                   8 kB
//! Pss_Dirty:             8 kB
//! Shared_Clean:          0 kB
//! ...
//! ```
//!
//! Fill in the two functions below, replacing each `todo!()`.
//!
//! Check your work:   `cargo workbook verify 09`
//! Stuck?             `cargo workbook hint 09`   (run it again for the next hint)

use std::io;

/// Some fields of one region's block in /proc/self/smaps, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub rss: u64,
    pub pss: u64,
    pub shared_clean: u64,
    pub shared_dirty: u64,
    pub private_clean: u64,
    pub private_dirty: u64,
}

/// The `Usage` of the region of this process that holds `addr`, from
/// /proc/self/smaps, or `Ok(None)` when no region holds it.
///
/// - The file is a list of blocks. Each starts with the region's maps line
///   (`start-end perms ...`: the region holds `start` but not `end`), then
///   lines `Name:   value kB`.
/// - Take exactly the fields named `Rss`, `Pss`, `Shared_Clean`,
///   `Shared_Dirty`, `Private_Clean` and `Private_Dirty`. Other fields start
///   with the same letters (`Pss_Dirty`, `Pss_Anon`...): do not mix them up.
/// - The file says kB (meaning KiB); return bytes: multiply by 1024.
/// - An error reading the file is an `Err`.
pub fn usage_of(addr: usize) -> io::Result<Option<Usage>> {
    let _ = addr;
    todo!("find the block that holds addr and read its fields")
}

/// This process's Pss of the region `[addr, addr + len)`, measured while
/// `children` child processes share it too; then the children are gone.
///
/// The region is a `MAP_SHARED` mapping whose pages this process has already
/// touched. After `fork` a child has the mapping, but the kernel maps its
/// pages into the child only when the child touches them. So:
///
/// 1. Make two pipes: `ready` (children to parent) and `release` (parent to children).
/// 2. Fork `children` children. Each child closes the pipe ends it does not
///    use, reads one byte of every page of the region (`read_volatile`),
///    writes one byte to `ready`, then blocks reading `release` until it
///    reads end-of-file, and ends with `libc::_exit(0)`.
/// 3. The parent closes the ends it does not use, reads one byte from `ready`
///    per child (now every child maps every page), and reads its `Pss` with
///    [`usage_of`].
/// 4. Then it closes `release` (every child's read returns end-of-file),
///    waits for every child with `libc::waitpid`, and returns the Pss.
///
/// With no children, it simply returns the Pss.
pub fn pss_while_shared(addr: usize, len: usize, children: usize) -> io::Result<u64> {
    let _ = (addr, len, children);
    todo!("fork children that touch the region, measure Pss, release and reap them")
}
