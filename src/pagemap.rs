//! `/proc/PID/pagemap`: what the page table says about each virtual page.
//!
//! The file holds one 64-bit entry (native byte order) per virtual page, so the entry
//! of address `a` sits at byte offset `a / page_size * 8`. The bits used here
//! (see the kernel's `Documentation/admin-guide/mm/pagemap.rst`):
//!
//! ```text
//! bit 63     page present in RAM
//! bit 62     page swapped out
//! bit 61     file page or shared anonymous page
//! bit 56     page exclusively mapped: only one page table maps it (Linux 4.2+)
//! bit 55     soft-dirty
//! bits 0-54  page frame number (PFN): the physical page, when present.
//!            Reads as 0 without CAP_SYS_ADMIN (Linux 4.2+), so that an
//!            ordinary process cannot learn physical addresses.
//! ```

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

const PRESENT: u64 = 1 << 63;
const SWAPPED: u64 = 1 << 62;
const FILE_OR_SHARED_ANON: u64 = 1 << 61;
const EXCLUSIVE: u64 = 1 << 56;
const SOFT_DIRTY: u64 = 1 << 55;
const FRAME_MASK: u64 = (1 << 55) - 1;

/// One pagemap entry: the kernel's view of one virtual page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageEntry(pub u64);

impl PageEntry {
    /// The page is in RAM and this page table maps it.
    pub fn is_present(self) -> bool {
        self.0 & PRESENT != 0
    }

    /// The page was written out to swap.
    pub fn is_swapped(self) -> bool {
        self.0 & SWAPPED != 0
    }

    /// The page belongs to a file (or to shared anonymous memory, which is a file in tmpfs).
    pub fn is_file_or_shared_anon(self) -> bool {
        self.0 & FILE_OR_SHARED_ANON != 0
    }

    /// Exactly one page table maps this physical page. After `fork` a private
    /// page is mapped by both processes, so this bit is clear until one of them
    /// writes and gets its own copy.
    pub fn is_exclusive(self) -> bool {
        self.0 & EXCLUSIVE != 0
    }

    /// Written since the soft-dirty bits were last cleared (via `/proc/PID/clear_refs`).
    pub fn is_soft_dirty(self) -> bool {
        self.0 & SOFT_DIRTY != 0
    }

    /// The physical page frame number. `None` when the page is not in RAM, or
    /// when the kernel hides it: without CAP_SYS_ADMIN it reports frame 0.
    pub fn frame(self) -> Option<u64> {
        let frame = self.0 & FRAME_MASK;
        (self.is_present() && !self.is_swapped() && frame != 0).then_some(frame)
    }

    /// True when the page is present but its frame number reads as 0: the
    /// caller lacks CAP_SYS_ADMIN.
    pub fn frame_hidden(self) -> bool {
        self.is_present() && !self.is_swapped() && self.0 & FRAME_MASK == 0
    }

    /// A short description such as "present, exclusively mapped".
    pub fn describe(self) -> String {
        if self.is_swapped() {
            return "swapped out".into();
        }
        if !self.is_present() {
            return "not present".into();
        }
        let mut words = vec!["present"];
        words.push(if self.is_exclusive() { "exclusively mapped" } else { "not exclusive (mapped more than once)" });
        if self.is_file_or_shared_anon() {
            words.push("file or shared");
        }
        words.join(", ")
    }
}

/// The pagemap entries of `count` pages starting at the page that holds `addr`,
/// in process `pid` (`None` reads the calling process). Reading another
/// process's pagemap needs the same permission as reading its memory.
pub fn entries(pid: Option<i32>, addr: usize, count: usize) -> io::Result<Vec<PageEntry>> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/pagemap"),
        None => "/proc/self/pagemap".to_string(),
    };
    let file = File::open(path)?;
    let mut raw = vec![0u8; count * 8];
    file.read_exact_at(&mut raw, (addr / crate::sys::page_size() * 8) as u64)?;
    Ok(raw.chunks_exact(8).map(|b| PageEntry(u64::from_ne_bytes(b.try_into().expect("8 bytes")))).collect())
}

/// The pagemap entry of the page that holds `addr` in process `pid` (`None`: this process).
pub fn entry(pid: Option<i32>, addr: usize) -> io::Result<PageEntry> {
    Ok(entries(pid, addr, 1)?[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_bits() {
        // Present, exclusive, frame 0x107c6c: what root sees for a page just written.
        let mine = PageEntry(PRESENT | EXCLUSIVE | 0x107c6c);
        assert!(mine.is_present() && mine.is_exclusive() && !mine.is_swapped());
        assert_eq!(mine.frame(), Some(0x107c6c));
        assert!(!mine.frame_hidden());
        assert_eq!(mine.describe(), "present, exclusively mapped");
        // The same page seen without CAP_SYS_ADMIN after fork: frame hidden, not exclusive.
        let shared = PageEntry(PRESENT);
        assert_eq!(shared.frame(), None);
        assert!(shared.frame_hidden());
        assert_eq!(shared.describe(), "present, not exclusive (mapped more than once)");
        let file = PageEntry(PRESENT | FILE_OR_SHARED_ANON | SOFT_DIRTY);
        assert!(file.is_file_or_shared_anon() && file.is_soft_dirty());
        assert!(file.describe().ends_with("file or shared"));
        // Swapped: the low bits are a swap type and offset, not a frame.
        let swapped = PageEntry(SWAPPED | 0x1234);
        assert_eq!((swapped.frame(), swapped.frame_hidden()), (None, false));
        assert_eq!(swapped.describe(), "swapped out");
        assert_eq!(PageEntry(0).describe(), "not present");
    }

    #[test]
    fn reads_its_own_pages() {
        let page = crate::sys::page_size();
        // SAFETY: a fresh private anonymous mapping of two pages, unmapped below.
        let memory = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(memory, libc::MAP_FAILED);
        // SAFETY: inside the mapping; touch only the first page.
        unsafe { std::ptr::write_volatile(memory.cast::<u8>(), 1) };
        let both = entries(None, memory as usize, 2).unwrap();
        assert!(both[0].is_present() && both[0].is_exclusive() && !both[0].is_file_or_shared_anon());
        assert!(!both[1].is_present(), "an untouched page is not in the page table");
        assert_eq!(entry(None, memory as usize + 1).unwrap(), both[0], "any address in the page");
        // Either a real frame (with CAP_SYS_ADMIN) or a hidden one (frame 0), never both.
        assert_ne!(both[0].frame().is_some(), both[0].frame_hidden());
        // SAFETY: unmapping what was mapped above.
        unsafe { libc::munmap(memory, 2 * page) };
    }
}
