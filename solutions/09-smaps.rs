//! Reference solution of exercise 09 · smaps. (`cargo workbook solution 09`
//! shows it once you have solved the exercise.)

use std::io;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub rss: u64,
    pub pss: u64,
    pub shared_clean: u64,
    pub shared_dirty: u64,
    pub private_clean: u64,
    pub private_dirty: u64,
}

pub fn usage_of(addr: usize) -> io::Result<Option<Usage>> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut found: Option<Usage> = None;
    for line in smaps.lines() {
        if let Some((start, end)) = region_range(line) {
            if found.is_some() {
                break; // the block we wanted is over
            }
            if start <= addr && addr < end {
                found = Some(Usage::default());
            }
            continue;
        }
        let (Some(usage), Some((name, bytes))) = (found.as_mut(), field(line)) else { continue };
        match name {
            "Rss" => usage.rss = bytes,
            "Pss" => usage.pss = bytes,
            "Shared_Clean" => usage.shared_clean = bytes,
            "Shared_Dirty" => usage.shared_dirty = bytes,
            "Private_Clean" => usage.private_clean = bytes,
            "Private_Dirty" => usage.private_dirty = bytes,
            _ => {}
        }
    }
    Ok(found)
}

/// The range of a block's first line (`start-end perms ...`); None for a field line.
fn region_range(line: &str) -> Option<(usize, usize)> {
    let (start, end) = line.split_whitespace().next()?.split_once('-')?;
    Some((usize::from_str_radix(start, 16).ok()?, usize::from_str_radix(end, 16).ok()?))
}

/// `Name:   12 kB` -> ("Name", 12 * 1024). None for fields that are not sizes.
fn field(line: &str) -> Option<(&str, u64)> {
    let (name, value) = line.split_once(':')?;
    let kib: u64 = value.trim().strip_suffix(" kB")?.trim().parse().ok()?;
    Some((name, kib * 1024))
}

fn page_size() -> usize {
    // SAFETY: sysconf only reads a value; the page size is always positive.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

fn pipe() -> io::Result<[libc::c_int; 2]> {
    let mut fds = [0; 2];
    // SAFETY: pipe fills the two descriptors.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(fds)
}

fn close(fd: libc::c_int) {
    // SAFETY: closing a descriptor this process owns.
    unsafe { libc::close(fd) };
}

pub fn pss_while_shared(addr: usize, len: usize, children: usize) -> io::Result<u64> {
    let [ready_read, ready_write] = pipe()?;
    let [release_read, release_write] = pipe()?;
    let mut pids = Vec::new();
    for _ in 0..children {
        // SAFETY: the child only touches memory, uses its pipes and calls _exit.
        match unsafe { libc::fork() } {
            -1 => break,
            0 => share_then_wait(addr, len, [ready_read, ready_write], [release_read, release_write]),
            pid => pids.push(pid),
        }
    }
    close(ready_write);
    close(release_read);
    // One byte from each child: then every child maps every page.
    let mut byte = [0u8; 1];
    for _ in &pids {
        // SAFETY: reading one byte into a local buffer.
        unsafe { libc::read(ready_read, byte.as_mut_ptr().cast(), 1) };
    }
    let pss = usage_of(addr).map(|usage| usage.map(|u| u.pss).unwrap_or(0));
    // End of file on `release` lets every child go.
    close(release_write);
    close(ready_read);
    for pid in &pids {
        let mut status = 0;
        // SAFETY: waiting for our own children.
        unsafe { libc::waitpid(*pid, &mut status, 0) };
    }
    if pids.len() < children {
        return Err(io::Error::last_os_error());
    }
    pss
}

/// A child: map every page by reading it, say so, wait to be released, end.
fn share_then_wait(addr: usize, len: usize, ready: [libc::c_int; 2], release: [libc::c_int; 2]) -> ! {
    close(ready[0]);
    close(release[1]);
    for offset in (0..len).step_by(page_size()) {
        // SAFETY: the region is mapped in this child too (inherited by fork).
        unsafe { std::ptr::read_volatile((addr + offset) as *const u8) };
    }
    let mut byte = [1u8; 1];
    // SAFETY: one byte to the parent, then wait for end of file, then end.
    unsafe {
        libc::write(ready[1], byte.as_ptr().cast(), 1);
        while libc::read(release[0], byte.as_mut_ptr().cast(), 1) > 0 {}
        libc::_exit(0)
    }
}
