//! What a test file may use, with `use crate::prelude::*;`: the test types,
//! `ensure`, and small helpers that read the kernel's own numbers.
//!
//! A test file is a module placed beside the learner's code, which it reaches
//! as `super::exercise`. It lists its tests in `pub const TESTS: &[Test]`.
//! The format is documented for instructors in book/src/instructor-tests.md.
//!
//! A failed test names the *property* that did not hold ("the region is
//! rounded up to whole pages"), never the value it expected: the learner
//! should find the answer, not copy it.

#![allow(dead_code)] // a helper for test authors is fine to leave unused

use std::fmt::Debug;
use std::sync::atomic::{AtomicI32, Ordering};

/// One hidden test: a name (shown to the learner) and the function that runs it.
pub struct Test {
    pub name: &'static str,
    pub run: fn() -> Outcome,
}

/// `Ok(())` when every property held, else the first that did not.
pub type Outcome = Result<(), Failure>;

/// The property that did not hold, and what the learner's code did (its own
/// return value or error), never the expected value.
#[derive(Debug)]
pub struct Failure {
    pub property: String,
    pub detail: String,
}

/// Fails with `property` unless it `held`.
pub fn ensure(held: bool, property: &str) -> Outcome {
    if held { Ok(()) } else { fail(property) }
}

/// Fails with `property`.
pub fn fail(property: &str) -> Outcome {
    Err(Failure { property: property.to_string(), detail: String::new() })
}

/// The learner's `Ok` value, or a failure of `property` that shows the learner's error.
pub fn ensure_ok<T, E: Debug>(result: Result<T, E>, property: &str) -> Result<T, Failure> {
    result.map_err(|error| Failure { property: property.to_string(), detail: format!("your code returned Err({error:?})") })
}

/// The learner's `Some` value, or a failure of `property`.
pub fn ensure_some<T>(value: Option<T>, property: &str) -> Result<T, Failure> {
    value.ok_or_else(|| Failure { property: property.to_string(), detail: "your code returned None".to_string() })
}

/// The size of a page on this machine (never assume 4096).
pub fn page_size() -> usize {
    // SAFETY: sysconf only reads a value.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    assert!(size > 0, "sysconf(_SC_PAGESIZE) failed");
    size as usize
}

/// Minor page faults of this process so far (getrusage RUSAGE_SELF).
pub fn minor_faults() -> u64 {
    rusage(libc::RUSAGE_SELF).ru_minflt as u64
}

/// Minor page faults of the children this process has waited for.
pub fn children_minor_faults() -> u64 {
    rusage(libc::RUSAGE_CHILDREN).ru_minflt as u64
}

fn rusage(who: i32) -> libc::rusage {
    // SAFETY: a zeroed rusage is valid, and getrusage fills it.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    }
}

/// Turn transparent huge pages off for this process, so one fault maps one page.
pub fn no_huge_pages() {
    // SAFETY: prctl with plain integer arguments.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

/// Memory a test owns: an anonymous mapping, unmapped when dropped.
pub struct Mapping {
    pub ptr: *mut u8,
    pub len: usize,
}

impl Mapping {
    /// A private anonymous mapping of `len` bytes with protection `prot`.
    pub fn anonymous(len: usize, prot: i32) -> Mapping {
        Mapping::new(len, prot, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS)
    }

    pub fn new(len: usize, prot: i32, flags: i32) -> Mapping {
        // SAFETY: a fresh mapping that nothing else refers to.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, -1, 0) };
        assert!(ptr != libc::MAP_FAILED, "the test could not map {len} bytes: {}", std::io::Error::last_os_error());
        Mapping { ptr: ptr.cast(), len }
    }

    pub fn addr(&self) -> usize {
        self.ptr as usize
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping this value owns.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// One line of /proc/self/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapsLine {
    pub start: usize,
    pub end: usize,
    pub perms: String,
    pub offset: u64,
    pub inode: u64,
    /// The path column, "" for anonymous memory.
    pub path: String,
}

impl MapsLine {
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn contains(&self, addr: usize) -> bool {
        (self.start..self.end).contains(&addr)
    }

    /// Parse one line of a maps file. The path may contain spaces.
    pub fn parse(line: &str) -> Option<MapsLine> {
        let mut rest = line;
        let mut field = || {
            let trimmed = rest.trim_start();
            let end = trimmed.find(' ').unwrap_or(trimmed.len());
            let (word, after) = trimmed.split_at(end);
            rest = after;
            word
        };
        let (start, end) = field().split_once('-')?;
        let perms = field().to_string();
        let offset = u64::from_str_radix(field(), 16).ok()?;
        let _device = field();
        let inode = field().parse().ok()?;
        let path = rest.trim_start().to_string();
        let hex = |text: &str| usize::from_str_radix(text, 16).ok();
        Some(MapsLine { start: hex(start)?, end: hex(end)?, perms, offset, inode, path })
    }
}

/// Every line of this process's /proc/self/maps.
pub fn maps() -> Vec<MapsLine> {
    let text = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    text.lines().filter_map(MapsLine::parse).collect()
}

/// The line of /proc/self/maps whose range contains `addr`.
pub fn maps_line(addr: usize) -> Option<MapsLine> {
    maps().into_iter().find(|line| line.contains(addr))
}

/// Addresses that are mapped now but were not in `before`: `(start, end)` runs,
/// merged where they touch. A new mapping shows up here even when the kernel
/// merged it into a neighbouring line of the same permissions.
pub fn new_ranges(before: &[MapsLine], after: &[MapsLine]) -> Vec<(usize, usize)> {
    let mut added: Vec<(usize, usize)> = Vec::new();
    for line in after {
        let mut pieces = vec![(line.start, line.end)];
        for old in before {
            pieces = pieces.into_iter().flat_map(|piece| subtract(piece, (old.start, old.end))).collect();
        }
        for piece in pieces {
            match added.last_mut() {
                Some(last) if last.1 == piece.0 => last.1 = piece.1,
                _ => added.push(piece),
            }
        }
    }
    added
}

fn subtract((start, end): (usize, usize), (cut_start, cut_end): (usize, usize)) -> Vec<(usize, usize)> {
    if cut_end <= start || end <= cut_start {
        return vec![(start, end)];
    }
    let mut left = Vec::new();
    if start < cut_start {
        left.push((start, cut_start));
    }
    if cut_end < end {
        left.push((cut_end, end));
    }
    left
}

/// A field of the /proc/self/smaps block for the region containing `addr`, in bytes.
pub fn smaps_field(addr: usize, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/smaps").expect("read /proc/self/smaps");
    let mut inside = false;
    for line in text.lines() {
        // A block starts with its maps line; "Name: value" lines follow.
        if let Some(region) = MapsLine::parse(line) {
            inside = region.contains(addr);
            continue;
        }
        if inside && let Some(value) = kb_field(line, name) {
            return Some(value);
        }
    }
    None
}

/// A `kB` field of /proc/self/status, such as VmLck, in bytes.
pub fn status_field(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    text.lines().find_map(|line| kb_field(line, name))
}

/// `Name:   123 kB` -> 123 * 1024, when the line's name is exactly `name`.
fn kb_field(line: &str, name: &str) -> Option<u64> {
    let (key, value) = line.split_once(':')?;
    if key != name {
        return None;
    }
    let number = value.trim().strip_suffix("kB")?.trim();
    Some(number.parse::<u64>().ok()? * 1024)
}

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEnd {
    Exited(i32),
    /// Killed by `signal`; `code` and `addr` are the `si_code` and `si_addr` of
    /// a SIGSEGV or SIGBUS, when the child's handler saw one.
    Killed { signal: i32, code: Option<i32>, addr: Option<usize> },
}

/// `si_code` values of memory faults (include/uapi/asm-generic/siginfo.h).
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRERR: i32 = 2;

/// The write end of the pipe the child's fault handler reports on.
static CHILD_FAULT_PIPE: AtomicI32 = AtomicI32::new(-1);

/// Run `body` in a forked child and report how the child ended: its return
/// value as the exit status, or the signal (with si_code and address) that
/// killed it. What the child prints goes where the test's output goes.
pub fn in_child(body: impl FnOnce() -> i32) -> ChildEnd {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills two descriptors.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0, "pipe2 failed");
    let [read_end, write_end] = fds;
    // SAFETY: the harness runs each test single-threaded, so the child may run
    // ordinary Rust code; it never returns into the test (it calls _exit).
    match unsafe { libc::fork() } {
        -1 => panic!("the test could not fork: {}", std::io::Error::last_os_error()),
        0 => {
            // SAFETY: closing our copy of the read end; it is not used in the child.
            unsafe { libc::close(read_end) };
            CHILD_FAULT_PIPE.store(write_end, Ordering::SeqCst);
            catch_faults(libc::SIGSEGV);
            catch_faults(libc::SIGBUS);
            let status = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(101);
            // SAFETY: _exit ends the child without running the test's destructors twice.
            unsafe { libc::_exit(status) }
        }
        child => {
            // SAFETY: the parent keeps only the read end.
            unsafe { libc::close(write_end) };
            let status = wait_for(child);
            let fault = read_fault(read_end);
            // SAFETY: closing the read end we own.
            unsafe { libc::close(read_end) };
            ending(status, fault)
        }
    }
}

fn wait_for(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: waiting for our own child; retried when a signal interrupts it.
    while unsafe { libc::waitpid(pid, &mut status, 0) } == -1 {
        assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(libc::EINTR), "waitpid failed");
    }
    status
}

fn ending(status: i32, fault: Option<(i32, usize)>) -> ChildEnd {
    if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        ChildEnd::Killed { signal, code: fault.map(|f| f.0), addr: fault.map(|f| f.1) }
    } else {
        ChildEnd::Exited(libc::WEXITSTATUS(status))
    }
}

fn read_fault(fd: i32) -> Option<(i32, usize)> {
    let mut record = [0u64; 2];
    // SAFETY: reading at most size_of(record) bytes into it.
    let n = unsafe { libc::read(fd, record.as_mut_ptr().cast(), size_of_val(&record)) };
    (n == size_of_val(&record) as isize).then_some((record[0] as i32, record[1] as usize))
}

fn catch_faults(signo: i32) {
    // SAFETY: as in the harness's own handler: zeroed sigaction, async-signal-safe handler.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = child_fault as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signo, &action, std::ptr::null_mut());
    }
}

extern "C" fn child_fault(signo: libc::c_int, info: *mut libc::siginfo_t, _context: *mut libc::c_void) {
    // SAFETY: a valid siginfo_t from the kernel; write, signal and raise are async-signal-safe.
    unsafe {
        let record = [(*info).si_code as u64, (*info).si_addr() as u64];
        libc::write(CHILD_FAULT_PIPE.load(Ordering::SeqCst), record.as_ptr().cast(), size_of_val(&record));
        libc::signal(signo, libc::SIG_DFL);
        libc::raise(signo);
    }
}

/// True when this process has no child left to wait for: no zombie, nothing running.
pub fn no_children_left() -> bool {
    let mut status = 0;
    // SAFETY: WNOHANG never blocks; ECHILD means there are no children at all.
    let result = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    result == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
}

/// A fresh, empty temporary file for a test (removed by the caller or when the
/// test's process group is gone; the directory is the system's temp dir).
pub fn temp_file(tag: &str, contents: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("workbook-{tag}-{}", std::process::id()));
    std::fs::write(&path, contents).expect("write a temporary file for the test");
    path
}

/// How many pages of `[addr, addr + len)` are in RAM now, from `mincore`.
/// `None` when part of the range is not mapped (mincore says ENOMEM).
pub fn resident_pages(addr: usize, len: usize) -> Option<usize> {
    let mut flags = vec![0u8; len.div_ceil(page_size())];
    // SAFETY: `flags` has one byte per page of the range, as mincore requires.
    let result = unsafe { libc::mincore(addr as *mut libc::c_void, len, flags.as_mut_ptr()) };
    (result == 0).then(|| flags.iter().filter(|&&f| f & 1 == 1).count())
}
