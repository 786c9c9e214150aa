//! Reference solution of exercise 08 · mlock. (`cargo workbook solution 08`
//! shows it once you have solved the exercise.)

use std::fmt;
use std::io;

#[derive(Debug)]
pub enum LockError {
    OverLimit { wanted: usize, limit: u64 },
    Other(io::Error),
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::OverLimit { wanted, limit } => write!(
                f,
                "cannot lock {wanted} bytes: this process may lock at most {limit} bytes (RLIMIT_MEMLOCK); \
                 raise it with `ulimit -l` (in KiB) or lock less"
            ),
            LockError::Other(error) => write!(f, "cannot lock the secret: {error}"),
        }
    }
}

pub struct LockedSecret {
    pages: *mut libc::c_void,
    pages_len: usize,
    len: usize,
}

fn page_size() -> usize {
    // SAFETY: sysconf only reads a value; the page size is always positive.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

fn memlock_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills a struct we own.
    unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) };
    limit.rlim_cur
}

impl LockedSecret {
    pub fn new(secret: &[u8]) -> Result<LockedSecret, LockError> {
        if secret.is_empty() {
            return Err(LockError::Other(io::Error::new(io::ErrorKind::InvalidInput, "an empty secret")));
        }
        let pages_len = secret.len().next_multiple_of(page_size());
        // SAFETY: a new anonymous mapping; it replaces nothing.
        let pages = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                pages_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if pages == libc::MAP_FAILED {
            return Err(LockError::Other(io::Error::last_os_error()));
        }
        // Lock first, copy after: the secret never sits in pages that could be swapped.
        // SAFETY: locking the pages we just mapped.
        if unsafe { libc::mlock(pages, pages_len) } == -1 {
            let error = io::Error::last_os_error();
            // SAFETY: unmapping what we mapped; nothing else refers to it.
            unsafe { libc::munmap(pages, pages_len) };
            return Err(match error.raw_os_error() {
                Some(libc::ENOMEM) | Some(libc::EPERM) => {
                    LockError::OverLimit { wanted: pages_len, limit: memlock_limit() }
                }
                _ => LockError::Other(error),
            });
        }
        // SAFETY: the pages are mapped read-write and hold at least secret.len() bytes.
        unsafe { std::ptr::copy_nonoverlapping(secret.as_ptr(), pages.cast::<u8>(), secret.len()) };
        Ok(LockedSecret { pages, pages_len, len: secret.len() })
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the first `len` bytes of our mapping hold the secret, for as long as self lives.
        unsafe { std::slice::from_raw_parts(self.pages.cast::<u8>(), self.len) }
    }
}

impl Drop for LockedSecret {
    fn drop(&mut self) {
        let bytes = self.pages.cast::<u8>();
        for i in 0..self.len {
            // SAFETY: inside our mapping; volatile, so the wipe is not optimized away.
            unsafe { bytes.add(i).write_volatile(0) };
        }
        // SAFETY: unlocking and unmapping exactly our pages.
        unsafe {
            libc::munlock(self.pages, self.pages_len);
            libc::munmap(self.pages, self.pages_len);
        }
    }
}
