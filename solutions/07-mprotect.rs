//! Reference solution of exercise 07 · mprotect. (`cargo workbook solution 07`
//! shows it once you have solved the exercise.)

use std::io;

pub struct GuardedBuffer {
    /// Where the whole mapping starts, and its length, guard page included.
    mapping: *mut libc::c_void,
    mapping_len: usize,
    size: usize,
}

fn page_size() -> usize {
    // SAFETY: sysconf only reads a value; the page size is always positive.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

impl GuardedBuffer {
    pub fn new(size: usize) -> io::Result<GuardedBuffer> {
        if size == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a guarded buffer needs at least one byte"));
        }
        let page = page_size();
        let usable = size.checked_next_multiple_of(page).ok_or(io::ErrorKind::InvalidInput)?;
        let mapping_len = usable.checked_add(page).ok_or(io::ErrorKind::InvalidInput)?;
        // SAFETY: a new anonymous mapping; it replaces nothing.
        let mapping = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapping_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if mapping == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let buffer = GuardedBuffer { mapping, mapping_len, size };
        // SAFETY: the last page of our own mapping; page-aligned because the mapping is.
        if unsafe { libc::mprotect(buffer.guard_page() as *mut libc::c_void, page, libc::PROT_NONE) } == -1 {
            return Err(io::Error::last_os_error()); // dropping `buffer` unmaps it
        }
        Ok(buffer)
    }

    pub fn data(&self) -> *mut u8 {
        (self.guard_page() - self.size) as *mut u8
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn guard_page(&self) -> usize {
        self.mapping as usize + self.mapping_len - page_size()
    }
}

impl Drop for GuardedBuffer {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping `new` made, guard page included.
        unsafe { libc::munmap(self.mapping, self.mapping_len) };
    }
}
