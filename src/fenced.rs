//! A region of fresh anonymous memory that keeps a line of `/proc/self/maps`,
//! and an entry of `/proc/self/smaps`, to itself.
//!
//! The kernel merges a new mapping into a neighbouring region that looks the
//! same (anonymous, same permissions and flags), so the smaps entry of a plain
//! `mmap` may also count pages of that neighbour: glibc and the loader leave
//! small anonymous `rw-p` regions next to the libraries, right where the next
//! mapping tends to land. [`Fenced`] puts an inaccessible `PROT_NONE` page on
//! each side of the memory, so nothing can merge with it and a lesson that
//! measures its Rss measures only its own pages.
//!
//! ```text
//! 7f5f775b7000-7f5f775b8000 ---p 00000000 00:00 0    fence
//! 7f5f775b8000-7f5f776b8000 rw-p 00000000 00:00 0    the memory
//! 7f5f776b8000-7f5f776b9000 ---p 00000000 00:00 0    fence
//! ```

use std::ptr;

use libc::{MAP_ANONYMOUS, MAP_FAILED, MAP_FIXED, MAP_PRIVATE, PROT_NONE, PROT_READ, PROT_WRITE, c_void};
use nix::errno::Errno;

use crate::sys::page_size;

/// Private anonymous read-write memory between two `PROT_NONE` fences.
/// Dropping it unmaps the memory and the fences.
pub struct Fenced {
    /// The first byte of the read-write memory.
    pub memory: *mut c_void,
    /// Its length in bytes, as asked for.
    pub len: usize,
    reservation: *mut c_void,
    span: usize,
}

impl Fenced {
    /// Map `len` bytes of fresh, untouched memory starting at a multiple of
    /// `align` (a multiple of the page size: pass the page size for "anywhere",
    /// the huge page size to let transparent huge pages back all of it).
    ///
    /// Two `mmap` calls: a `PROT_NONE` reservation at least one page longer than
    /// needed on each side, then the read-write memory placed inside it with
    /// `MAP_FIXED`, which replaces only that part of the reservation.
    pub fn map(len: usize, align: usize) -> Fenced {
        let page = page_size();
        assert!(len > 0 && align >= page && align % page == 0, "len > 0 and align a multiple of the page size");
        let span = len + align + page;
        // SAFETY: a fresh PROT_NONE reservation: it takes no memory and nothing refers to it.
        let reservation = unsafe { libc::mmap(ptr::null_mut(), span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
        assert_ne!(reservation, MAP_FAILED, "mmap of a {span}-byte reservation failed: {}", Errno::last());
        // At least one page from the start; and start + len <= reservation + align + len,
        // which leaves at least one page before the end.
        let start = (reservation as usize + page).next_multiple_of(align);
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
        // SAFETY: MAP_FIXED replaces part of our own reservation, never anyone else's memory.
        let memory = unsafe { libc::mmap(start as *mut c_void, len, PROT_READ | PROT_WRITE, flags, -1, 0) };
        assert_eq!(memory as usize, start, "mmap(MAP_FIXED) inside the reservation failed: {}", Errno::last());
        Fenced { memory, len, reservation, span }
    }

    /// The address of the first byte, as a number (for `/proc` lookups and printing).
    pub fn addr(&self) -> usize {
        self.memory as usize
    }
}

impl Drop for Fenced {
    fn drop(&mut self) {
        // SAFETY: the whole reservation, fences included; the memory is not used after drop.
        unsafe { libc::munmap(self.reservation, self.span) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maps::Snapshot;

    #[test]
    fn a_line_of_its_own_between_fences_aligned_and_all_unmapped_on_drop() {
        let page = page_size();
        for _ in 0..3 {
            let region = Fenced::map(5 * page, page);
            let map = Snapshot::of_self().unwrap();
            let line = map.find(region.addr()).unwrap();
            assert_eq!((line.start, line.len()), (region.addr(), 5 * page));
            assert_eq!(line.perms.to_string(), "rw-p");
            assert_eq!(map.find(region.addr() - 1).unwrap().perms.to_string(), "---p");
            assert_eq!(map.find(region.addr() + 5 * page).unwrap().perms.to_string(), "---p");
        }
        // In the same test: no other test of this binary maps memory while this one looks.
        let align = 64 * page_size();
        let region = Fenced::map(align, align);
        assert_eq!(region.addr() % align, 0);
        let (first, last) = (region.addr() - page_size(), region.addr() + align);
        drop(region);
        let map = Snapshot::of_self().unwrap();
        assert!(map.find(first).is_none() && map.find(last).is_none(), "fences are gone too");
    }
}
