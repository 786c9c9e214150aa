//! Small facts about this process read from the kernel: page size and fault counts.

use nix::sys::resource::{UsageWho, getrusage};
use nix::unistd::{SysconfVar, sysconf};

/// The size of one page in bytes, as the kernel reports it (4096 on most x86_64
/// machines; 16384 or 65536 on some aarch64 machines). Never assume 4096.
pub fn page_size() -> usize {
    match sysconf(SysconfVar::PAGE_SIZE) {
        Ok(Some(size)) if size > 0 => size as usize,
        other => panic!("sysconf(_SC_PAGESIZE) gave no page size ({other:?}); is /proc mounted?"),
    }
}

/// Round `len` up to a whole number of pages.
pub fn round_up_to_page(len: usize) -> usize {
    len.div_ceil(page_size()) * page_size()
}

/// Page-fault counters of the calling process (from `getrusage(RUSAGE_SELF)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Faults {
    /// Faults served without I/O: a fresh zero page, a page already in the page cache, a copy-on-write copy.
    pub minor: u64,
    /// Faults that had to wait for I/O (reading a page from disk or swap).
    pub major: u64,
}

impl Faults {
    pub fn now() -> Faults {
        let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage(RUSAGE_SELF) cannot fail");
        Faults { minor: usage.minor_page_faults() as u64, major: usage.major_page_faults() as u64 }
    }

    /// Faults counted since `earlier`.
    pub fn since(earlier: Faults) -> Faults {
        let now = Faults::now();
        Faults { minor: now.minor - earlier.minor, major: now.major - earlier.major }
    }
}
