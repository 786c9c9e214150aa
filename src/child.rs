//! Run one step of a lesson in a forked child and report how it ended.
//!
//! A step that faults must not take the lesson down with it, so it runs in a
//! child. The parent captures what the child printed, reaps it, and learns how
//! it ended: its exit status, or the signal that killed it, and, for a memory
//! fault, the `si_code` and the faulting address that the child's signal
//! handler passed up a pipe.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

/// `si_code` values the kernel puts in `siginfo_t` for memory faults.
///
/// The `libc` crate does not define the Linux `SEGV_*` and `BUS_*` codes, so
/// they are copied here from the kernel's `include/uapi/asm-generic/siginfo.h`.
pub mod si_code {
    /// Sent by `kill(2)` or `raise(3)`, not by a fault.
    pub const SI_USER: i32 = 0;
    /// Sent by the kernel itself (for example a fault on a non-canonical x86_64 address).
    pub const SI_KERNEL: i32 = 0x80;
    /// Sent by `tkill(2)` / `tgkill(2)` (which is what `raise(3)` uses).
    pub const SI_TKILL: i32 = -6;
    /// SIGSEGV: no mapping at that address.
    pub const SEGV_MAPERR: i32 = 1;
    /// SIGSEGV: there is a mapping, but its protection forbids the access.
    pub const SEGV_ACCERR: i32 = 2;
    /// SIGSEGV: a memory-protection-key check failed.
    pub const SEGV_PKUERR: i32 = 4;
    /// SIGBUS: the address is misaligned for the access.
    pub const BUS_ADRALN: i32 = 1;
    /// SIGBUS: the address is mapped but no longer backed (for example past the end of a file).
    pub const BUS_ADRERR: i32 = 2;
    /// SIGBUS: a hardware error on the object.
    pub const BUS_OBJERR: i32 = 3;

    /// The name of `code` for a signal `signo`, such as "SEGV_MAPERR".
    pub fn name(signo: i32, code: i32) -> &'static str {
        match (signo, code) {
            (libc::SIGSEGV, SEGV_MAPERR) => "SEGV_MAPERR",
            (libc::SIGSEGV, SEGV_ACCERR) => "SEGV_ACCERR",
            (libc::SIGSEGV, SEGV_PKUERR) => "SEGV_PKUERR",
            (libc::SIGBUS, BUS_ADRALN) => "BUS_ADRALN",
            (libc::SIGBUS, BUS_ADRERR) => "BUS_ADRERR",
            (libc::SIGBUS, BUS_OBJERR) => "BUS_OBJERR",
            (_, SI_USER) => "SI_USER",
            (_, SI_KERNEL) => "SI_KERNEL",
            (_, SI_TKILL) => "SI_TKILL",
            _ => "unknown si_code",
        }
    }
}

/// What the child's fault handler saw: the signal, its `si_code` and `si_addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub signal: Signal,
    pub code: i32,
    /// The address the faulting instruction touched (`si_addr`).
    pub addr: usize,
}

impl Fault {
    pub fn code_name(&self) -> &'static str {
        si_code::name(self.signal as i32, self.code)
    }
}

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    Killed { signal: Signal, core_dumped: bool },
}

/// Everything the parent learned about one child.
#[derive(Debug, Clone)]
pub struct ChildRun {
    pub pid: i32,
    pub ending: Ending,
    /// Present when the child died of SIGSEGV or SIGBUS raised by a real fault or by `raise`.
    pub fault: Option<Fault>,
    /// What the child wrote to stdout and stderr, in order.
    pub output: String,
}

impl ChildRun {
    /// The signal that killed the child, if one did.
    pub fn signal(&self) -> Option<Signal> {
        match self.ending {
            Ending::Killed { signal, .. } => Some(signal),
            Ending::Exited(_) => None,
        }
    }

    /// One line, such as "killed by SIGSEGV (SEGV_MAPERR at 0x0)".
    pub fn describe(&self) -> String {
        match self.ending {
            Ending::Exited(code) => format!("exited with status {code}"),
            Ending::Killed { signal, .. } => match self.fault {
                Some(f) if f.signal == signal => {
                    format!("killed by {} ({} at {:#x})", signal.as_str(), f.code_name(), f.addr)
                }
                _ => format!("killed by {}", signal.as_str()),
            },
        }
    }
}

/// The write end of the fault pipe, for the signal handler. -1 when not in a child step.
static FAULT_PIPE: AtomicI32 = AtomicI32::new(-1);

/// Run `step` in a forked child and wait for it. The step's return value is
/// the child's exit status. Before the step runs, the child:
/// - sends its stdout and stderr into a pipe the parent reads,
/// - installs a SIGSEGV/SIGBUS handler that reports `si_code` and `si_addr`,
/// - prints a panic as one line, `panicked: MESSAGE`, without a backtrace,
/// - sets its core-file size limit to 0, so a crash leaves no `core` file
///   behind in the learner's directory.
pub fn run_in_child(step: impl FnOnce() -> i32) -> ChildRun {
    flush_stdio();
    let (output_read, output_write) = pipe();
    let (fault_read, fault_write) = pipe();
    let parent = nix::unistd::getpid();
    // SAFETY: the lessons are single-threaded when they fork, so the child may
    // run ordinary Rust code; it never returns into the parent's code (`_exit`).
    match unsafe { fork() }.expect("fork failed: the system may be out of processes or memory") {
        ForkResult::Child => {
            die_with_parent(parent);
            drop((output_read, fault_read));
            prepare_child(&output_write, &fault_write);
            let status = std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).unwrap_or(101);
            flush_stdio();
            // SAFETY: _exit ends only this child; skipping the parent's atexit work is the point.
            unsafe { libc::_exit(status) }
        }
        ForkResult::Parent { child } => {
            drop((output_write, fault_write));
            let output = read_all(output_read);
            let ending = reap(child);
            let fault = read_fault(fault_read);
            ChildRun { pid: child.as_raw(), ending, fault, output }
        }
    }
}

/// Ask the kernel to kill this (just forked) child with SIGKILL when its parent
/// dies, and exit now if the parent is already gone.
///
/// A lesson interrupted with Ctrl-C (or `kill -INT`) dies without waiting for
/// its children; without this, a child in the middle of a step would live on,
/// orphaned. `parent` is the parent's pid, read *before* the fork: if the
/// parent died between the fork and the prctl, `getppid()` is already someone
/// else, and no death signal would ever come.
pub fn die_with_parent(parent: Pid) {
    // SAFETY: prctl with PR_SET_PDEATHSIG takes plain integers.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if nix::unistd::getppid() != parent {
        // SAFETY: _exit ends only this child, which has nobody left to report to.
        unsafe { libc::_exit(1) }
    }
}

/// Make the program `command` starts die with this process, as [`die_with_parent`]
/// does for a forked child: `kill -INT` on the lesson must not leave, say, a
/// `sleep 30` running for half a minute.
pub fn dies_with_this_process(command: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs in the child between fork and exec, and calls only
    // prctl, getppid and _exit, which are async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            die_with_parent(parent);
            Ok(())
        })
    }
}

/// Flush Rust's buffered stdout: a fork copies the buffer into the child, and a
/// crash throws away whatever was still in it.
pub fn flush_stdio() {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}

fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2 failed: too many open files?")
}

fn prepare_child(output: &OwnedFd, fault: &OwnedFd) {
    // SAFETY: dup2 onto stdout/stderr; both descriptors are valid and owned here.
    unsafe {
        libc::dup2(output.as_raw_fd(), 1);
        libc::dup2(output.as_raw_fd(), 2);
    }
    let _ = setrlimit(Resource::RLIMIT_CORE, 0, nix::sys::resource::RLIM_INFINITY);
    // One line per panic, without a backtrace, so a child's panic reads the same on every machine.
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(a panic without a message)");
        eprintln!("panicked: {message}");
    }));
    FAULT_PIPE.store(fault.as_raw_fd(), Ordering::SeqCst);
    install_fault_handler(libc::SIGSEGV);
    install_fault_handler(libc::SIGBUS);
}

fn install_fault_handler(signo: i32) {
    // SAFETY: a zeroed sigaction is a valid starting point; the handler below
    // only calls async-signal-safe functions (write, signal, raise).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = report_fault as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signo, &action, std::ptr::null_mut());
    }
    install_alternate_stack();
}

/// A fault from running off the stack needs a different stack to run the handler on.
fn install_alternate_stack() {
    const SIZE: usize = 64 * 1024;
    let stack: &'static mut [u8] = Box::leak(vec![0u8; SIZE].into_boxed_slice());
    let alt = libc::stack_t { ss_sp: stack.as_mut_ptr().cast(), ss_flags: 0, ss_size: SIZE };
    // SAFETY: the stack lives for the rest of the child's life (leaked).
    unsafe { libc::sigaltstack(&alt, std::ptr::null_mut()) };
}

/// The signal handler: write (signal, si_code, si_addr) to the pipe, then die
/// of the same signal with its default action so the parent sees the real
/// ending. Only async-signal-safe calls are allowed here: no allocation, no locks.
extern "C" fn report_fault(signo: libc::c_int, info: *mut libc::siginfo_t, _context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
    let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    let record: [i64; 3] = [signo as i64, code as i64, addr as i64];
    // SAFETY: write, signal and raise are async-signal-safe (signal-safety(7)).
    unsafe {
        libc::write(FAULT_PIPE.load(Ordering::SeqCst), record.as_ptr().cast(), size_of_val(&record));
        libc::signal(signo, libc::SIG_DFL);
        // The signal stays blocked until the handler returns; then it kills us.
        libc::raise(signo);
    }
}

fn read_all(fd: OwnedFd) -> String {
    let mut bytes = Vec::new();
    let _ = std::fs::File::from(fd).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

fn reap(child: Pid) -> Ending {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ending::Exited(code),
            Ok(WaitStatus::Signaled(_, signal, core_dumped)) => {
                return Ending::Killed { signal, core_dumped };
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => panic!("waitpid({child}) failed: {e}"),
        }
    }
}

fn read_fault(fd: OwnedFd) -> Option<Fault> {
    let mut raw = [0u8; 24];
    // The child is gone, so the pipe holds either one whole record or nothing.
    // SAFETY: fd is a valid, owned pipe read end; File takes ownership of it.
    let mut file = unsafe { std::fs::File::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(fd)) };
    file.read_exact(&mut raw).ok()?;
    let field = |i: usize| i64::from_ne_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    Some(Fault { signal: Signal::try_from(field(0) as i32).ok()?, code: field(1) as i32, addr: field(2) as usize })
}

// The tests of this module fork, so they live in tests/child_runner.rs, a test
// binary without the multithreaded harness: forking a process that has other
// threads can deadlock the child on a lock one of them held.
