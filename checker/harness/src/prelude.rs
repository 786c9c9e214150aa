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
    result.map_err(|error| Failure {
        property: property.to_string(),
        detail: format!("your code returned Err({error:?})"),
    })
}

/// The learner's `Some` value, or a failure of `property`.
pub fn ensure_some<T>(value: Option<T>, property: &str) -> Result<T, Failure> {
    value.ok_or_else(|| Failure { property: property.to_string(), detail: "your code returned None".to_string() })
}

/// The size of a page on this machine (never assume 4096).
pub use workbook::sys::page_size;

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
    /// Bytes of `PROT_NONE` guard on each side (0 unless made by `isolated`).
    guard: usize,
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
        Mapping { ptr: ptr.cast(), len, guard: 0 }
    }

    /// `len` bytes of private anonymous memory with a `PROT_NONE` page on each
    /// side, so that the kernel cannot merge it with a neighbour: its maps line
    /// and smaps block describe exactly this memory.
    pub fn isolated(len: usize, prot: i32) -> Mapping {
        let page = page_size();
        let inner = len.next_multiple_of(page);
        let mut whole = Mapping::anonymous(inner + 2 * page, libc::PROT_NONE);
        // SAFETY: the middle of the test's own mapping; the first page stays a guard.
        let ptr = unsafe { whole.ptr.add(page) };
        // SAFETY: changing the protection of that middle part only.
        let result = unsafe { libc::mprotect(ptr.cast(), inner, prot) };
        assert_eq!(result, 0, "the test could not mprotect its memory: {}", std::io::Error::last_os_error());
        (whole.ptr, whole.len, whole.guard) = (ptr, len, page);
        whole
    }

    pub fn addr(&self) -> usize {
        self.ptr as usize
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let start = self.ptr as usize - self.guard;
        let len = self.len.next_multiple_of(page_size()) + 2 * self.guard;
        // SAFETY: unmapping exactly the mapping this value owns, guards included.
        unsafe { libc::munmap(start as *mut libc::c_void, len) };
    }
}

/// One line of /proc/self/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapsEntry {
    pub start: usize,
    pub end: usize,
    pub perms: String,
    pub offset: u64,
    pub inode: u64,
    /// The path column, "" for anonymous memory.
    pub path: String,
}

impl MapsEntry {
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn contains(&self, addr: usize) -> bool {
        (self.start..self.end).contains(&addr)
    }

    /// Parse one line of a maps file, with the workbook's own parser (the one
    /// the lessons use), flattened to the plain fields tests compare.
    pub fn parse(line: &str) -> Option<MapsEntry> {
        let region = workbook::maps::parse_line(line).ok()?;
        Some(MapsEntry {
            start: region.start,
            end: region.end,
            perms: region.perms.to_string(),
            offset: region.offset,
            inode: region.inode,
            path: region.path_column(),
        })
    }
}

/// Every line of this process's /proc/self/maps.
pub fn maps_entries() -> Vec<MapsEntry> {
    let text = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    text.lines().filter_map(MapsEntry::parse).collect()
}

/// The line of /proc/self/maps whose range contains `addr`.
pub fn maps_entry(addr: usize) -> Option<MapsEntry> {
    maps_entries().into_iter().find(|line| line.contains(addr))
}

/// Addresses that are mapped now but were not in `before`: `(start, end)` runs,
/// merged where they touch. A new mapping shows up here even when the kernel
/// merged it into a neighbouring line of the same permissions.
pub fn new_ranges(before: &[MapsEntry], after: &[MapsEntry]) -> Vec<(usize, usize)> {
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
        if let Some(region) = MapsEntry::parse(line) {
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
    Killed {
        signal: i32,
        code: Option<i32>,
        addr: Option<usize>,
    },
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

/// A new temporary file holding `contents`, with a name no other test uses.
/// The test removes it when done (a test killed halfway leaves it in the
/// system's temporary folder, named workbook-TAG-PID-N).
pub fn temp_file(tag: &str, contents: &[u8]) -> std::path::PathBuf {
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("workbook-{tag}-{}-{n}", std::process::id()));
    std::fs::write(&path, contents).expect("write a temporary file for the test");
    path
}

/// How many pages of `[addr, addr + len)` are in RAM now, from `mincore`.
/// `None` when part of the range is not mapped (mincore says ENOMEM).
pub fn pages_in_ram(addr: usize, len: usize) -> Option<usize> {
    let mut flags = vec![0u8; len.div_ceil(page_size())];
    // SAFETY: `flags` has one byte per page of the range, as mincore requires.
    let result = unsafe { libc::mincore(addr as *mut libc::c_void, len, flags.as_mut_ptr()) };
    (result == 0).then(|| flags.iter().filter(|&&f| f & 1 == 1).count())
}

/// From now on, refuse (EPERM) every system call that writes file data
/// through a file descriptor above 3 (write, pwrite, writev, sendfile,
/// copy_file_range, splice...), with a seccomp filter. Output (fds 1 and 2)
/// and the verdict (fd 3) still work. What still reaches a file then went
/// through a shared mapping. Returns false where the filter is not known
/// (an architecture other than x86_64 or aarch64).
pub fn forbid_file_writes() -> bool {
    let Some(arch) = AUDIT_ARCH else { return false };
    let by_fd = [
        libc::SYS_write,
        libc::SYS_pwrite64,
        libc::SYS_writev,
        libc::SYS_pwritev,
        libc::SYS_pwritev2,
        libc::SYS_sendfile,
    ];
    let always = [libc::SYS_copy_file_range, libc::SYS_splice, libc::SYS_vmsplice, libc::SYS_fallocate];
    let mut program = vec![
        bpf(BPF_LD_W_ABS, 0, 0, 4), // A = seccomp_data.arch
        bpf(BPF_JEQ_K, 1, 0, arch),
        bpf(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW), // another ABI: leave it alone
        bpf(BPF_LD_W_ABS, 0, 0, 0),              // A = seccomp_data.nr
    ];
    for nr in by_fd {
        program.extend([
            bpf(BPF_JEQ_K, 0, 4, nr as u32),
            bpf(BPF_LD_W_ABS, 0, 0, 16), // A = low half of args[0], the fd
            bpf(BPF_JGE_K, 0, 1, 4),
            bpf(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | libc::EPERM as u32),
            bpf(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
        ]);
    }
    for nr in always {
        program.extend([bpf(BPF_JEQ_K, 0, 1, nr as u32), bpf(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | libc::EPERM as u32)]);
    }
    program.push(bpf(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW));
    let fprog = libc::sock_fprog { len: program.len() as u16, filter: program.as_mut_ptr() };
    // SAFETY: no_new_privs is required for an unprivileged filter; the
    // program is a valid BPF array that outlives the call (the kernel copies it).
    unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &fprog as *const libc::sock_fprog) == 0
    }
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: Option<u32> = Some(0xC000_003E);
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: Option<u32> = Some(0xC000_00B7);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const AUDIT_ARCH: Option<u32> = None;

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;

fn bpf(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Linux capability numbers (include/uapi/linux/capability.h).
pub const CAP_IPC_LOCK: u32 = 14;

/// Drop capability `cap` from this process's effective and permitted sets,
/// so a test behaves the same as root and as an ordinary user. (Root has
/// CAP_IPC_LOCK, which lets it lock memory past RLIMIT_MEMLOCK.)
pub fn drop_capability(cap: u32) {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header { version: VERSION_3, pid: 0 };
    let mut data = [Data::default(); 2];
    let (word, bit) = ((cap / 32) as usize, 1u32 << (cap % 32));
    // SAFETY: capget/capset with a version-3 header and two data words, as the kernel expects.
    unsafe {
        libc::syscall(libc::SYS_capget, &mut header as *mut Header, data.as_mut_ptr());
        data[word].effective &= !bit;
        data[word].permitted &= !bit;
        libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr());
    }
}

/// Set this process's RLIMIT_MEMLOCK (soft and hard) to `bytes`. Lowering is always allowed.
pub fn set_memlock_limit(bytes: u64) {
    let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
    // SAFETY: setrlimit with a valid struct.
    let result = unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &limit) };
    assert_eq!(result, 0, "the test could not lower RLIMIT_MEMLOCK: {}", std::io::Error::last_os_error());
}
