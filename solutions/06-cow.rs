//! Reference solution of exercise 06 · cow. (`cargo workbook solution 06`
//! shows it once you have solved the exercise.)

use std::io;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub parent: u64,
    pub child: u64,
}

fn page_size() -> usize {
    // SAFETY: sysconf only reads a value; the page size is always positive.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// -1 from a libc call becomes the error it left in errno.
fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result == -1 { Err(io::Error::last_os_error()) } else { Ok(result) }
}

pub fn after_child_writes(before: u64, child_writes: u64, shared: bool) -> io::Result<Seen> {
    let sharing = if shared { libc::MAP_SHARED } else { libc::MAP_PRIVATE };
    let len = page_size();
    // SAFETY: a new anonymous mapping; it replaces nothing.
    let page = unsafe {
        libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, sharing | libc::MAP_ANONYMOUS, -1, 0)
    };
    if page == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let value = page.cast::<u64>();
    // SAFETY: the page is mapped read-write and page-aligned, so a u64 fits at its start.
    unsafe { value.write_volatile(before) };
    let result = fork_and_compare(value, child_writes);
    // SAFETY: unmapping the page mapped above; nothing refers to it any more.
    unsafe { libc::munmap(page, len) };
    result
}

fn fork_and_compare(value: *mut u64, child_writes: u64) -> io::Result<Seen> {
    let mut fds = [0; 2];
    // SAFETY: pipe fills the two descriptors.
    check(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
    let [read_end, write_end] = fds;
    // SAFETY: the child only writes to memory, to the pipe, and calls _exit.
    let child = unsafe { libc::fork() };
    if child == 0 {
        // SAFETY: the child's copy of the page (or the shared page) is mapped read-write.
        let seen = unsafe {
            value.write_volatile(child_writes);
            value.read_volatile()
        };
        // SAFETY: 8 bytes from a local array into our pipe; then _exit ends the child.
        unsafe {
            libc::write(write_end, seen.to_ne_bytes().as_ptr().cast(), 8);
            libc::_exit(0);
        }
    }
    // SAFETY: the parent no longer needs the write end.
    unsafe { libc::close(write_end) };
    let result = if child == -1 { Err(io::Error::last_os_error()) } else { parent_side(child, read_end, value) };
    // SAFETY: closing the read end, done with it.
    unsafe { libc::close(read_end) };
    result
}

fn parent_side(child: libc::pid_t, read_end: libc::c_int, value: *mut u64) -> io::Result<Seen> {
    let mut bytes = [0u8; 8];
    // SAFETY: reading at most 8 bytes into a local array.
    let got = unsafe { libc::read(read_end, bytes.as_mut_ptr().cast(), 8) };
    let mut status = 0;
    // SAFETY: waiting for our own child.
    check(unsafe { libc::waitpid(child, &mut status, 0) })?;
    if got != 8 {
        return Err(io::Error::other("the child did not report what it saw"));
    }
    // SAFETY: the parent's page is still mapped; the child has finished.
    let parent = unsafe { value.read_volatile() };
    Ok(Seen { parent, child: u64::from_ne_bytes(bytes) })
}
