//! Reference solution of exercise 03 · mmap. (`cargo workbook solution 03`
//! shows it once you have solved the exercise.)

use std::io;
use std::ptr;

/// A region of this process's address space made by [`map_pages`] or [`map_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub start: usize,
    pub len: usize,
}

fn page_size() -> usize {
    // SAFETY: sysconf only reads a value; the page size is always positive.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

fn too_large() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "that many bytes do not fit in a usize")
}

pub fn map_pages(pages: usize) -> io::Result<Region> {
    let len = pages.checked_mul(page_size()).ok_or_else(too_large)?;
    map(len)
}

pub fn map_bytes(bytes: usize) -> io::Result<Region> {
    // The kernel would round up by itself, but it would not tell us: the
    // length we report must be the length it really mapped.
    let len = bytes.checked_next_multiple_of(page_size()).ok_or_else(too_large)?;
    map(len)
}

/// Map `len` bytes (a whole number of pages) of anonymous private read-write memory.
fn map(len: usize) -> io::Result<Region> {
    // SAFETY: a new mapping at an address the kernel chooses; it replaces nothing.
    let start = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if start == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(Region { start: start as usize, len })
}

pub fn unmap(region: Region) -> io::Result<()> {
    // SAFETY: the region came from map(); the caller gives up using it.
    if unsafe { libc::munmap(region.start as *mut libc::c_void, region.len) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
