//! Reference solution of exercise 05 · filemap. (`cargo workbook solution 05`
//! shows it once you have solved the exercise.)

use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

fn page_size() -> u64 {
    // SAFETY: sysconf only reads a value; the page size is always positive.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

pub fn append_through_mapping(path: &Path, data: &[u8]) -> io::Result<u64> {
    let file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
    let old_len = file.metadata()?.len();
    if data.is_empty() {
        return Ok(old_len);
    }
    let new_len = old_len + data.len() as u64;
    // The file must have the bytes before the mapping can reach them.
    file.set_len(new_len)?;
    // Map only from the page holding the old end: mmap offsets are whole pages.
    let offset = old_len / page_size() * page_size();
    let len = (new_len - offset) as usize;
    // SAFETY: a new shared mapping of our open file; it replaces nothing.
    let map = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            offset as libc::off_t,
        )
    };
    if map == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let start = (old_len - offset) as usize;
    // SAFETY: start + data.len() == len: the copy stays inside the mapping,
    // and the file is long enough for every byte of it (set_len above).
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), map.cast::<u8>().add(start), data.len()) };
    // SAFETY: syncing and then unmapping exactly the mapping made above.
    let synced = unsafe { libc::msync(map, len, libc::MS_SYNC) };
    let error = io::Error::last_os_error();
    // SAFETY: as above; the mapping is not used after this.
    unsafe { libc::munmap(map, len) };
    if synced == -1 {
        return Err(error);
    }
    Ok(new_len)
}
