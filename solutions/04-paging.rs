//! Reference solution of exercise 04 · paging. (`cargo workbook solution 04`
//! shows it once you have solved the exercise.)

use std::io;

fn page_size() -> usize {
    // SAFETY: sysconf only reads a value; the page size is always positive.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

fn minor_faults() -> u64 {
    // SAFETY: a zeroed rusage is a valid value for getrusage to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer cannot fail.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_minflt as u64
}

pub fn touch_pages(memory: &mut [u8]) -> u64 {
    let page = page_size();
    let before = minor_faults();
    for offset in (0..memory.len()).step_by(page) {
        // A plain write is enough: the caller can read `memory` afterwards,
        // so the compiler must keep every one of these stores.
        memory[offset] = 1;
    }
    minor_faults() - before
}

pub fn resident_pages(memory: &[u8]) -> io::Result<usize> {
    let mut in_ram = vec![0u8; memory.len().div_ceil(page_size())];
    // SAFETY: `memory` starts at a page boundary (the caller promises it) and
    // `in_ram` has one byte for every page of the range, as mincore needs.
    let result = unsafe { libc::mincore(memory.as_ptr() as *mut libc::c_void, memory.len(), in_ram.as_mut_ptr()) };
    if result == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(in_ram.iter().filter(|&&byte| byte & 1 == 1).count())
}
