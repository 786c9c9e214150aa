//! Runs the hidden tests of one exercise. `cargo workbook verify` builds this
//! program with the learner's code inside it (see build.rs) and starts it once
//! per test, each time as a fresh process with its own limits: a test may fork,
//! fault or never end without disturbing the other tests or the checker. (A
//! multithreaded test harness would be the wrong home for code that forks: the
//! child gets a copy of every lock the other threads held, and can hang on one.)
//!
//! ```text
//! workbook-harness --list                  one line per test: VARIANT SUITE TEST
//! workbook-harness VARIANT SUITE TEST      run exactly that test, in this process
//! ```
//!
//! The verdict goes to file descriptor 3 when it is open (the checker opens
//! it), one record per line, so nothing the learner's code prints can pass for
//! one. Without fd 3 (run by hand) the records go to stderr.
//!
//! ```text
//! pass PID
//! fail PID PROPERTY<TAB>DETAIL
//! panic PID LOCATION<TAB>MESSAGE
//! fault PID SIGNO SI_CODE SI_ADDR
//! ```
//! Exit status: 0 passed, 1 failed, 101 panicked, or killed by a signal.

// The selftest builds the same test file once per source it proves.
#![allow(clippy::duplicate_mod)]

pub mod prelude;

use std::sync::atomic::{AtomicI32, Ordering};

use prelude::{Failure, Test};

include!(concat!(env!("OUT_DIR"), "/selected.rs"));

/// One source under test (usually the learner's) with its test suites.
pub struct Variant {
    pub name: &'static str,
    /// `(suite name, tests)`: "hidden", and "instructor" when an extra folder was given.
    pub suites: &'static [(&'static str, &'static [Test])],
}

/// Where records go: fd 3 from the checker, or stderr.
static REPORT_FD: AtomicI32 = AtomicI32::new(2);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.as_slice() {
        [flag] if flag == "--list" => list(),
        [variant, suite, test] => run(variant, suite, test),
        _ => {
            eprintln!("usage: workbook-harness --list | workbook-harness VARIANT SUITE TEST");
            eprintln!("(this program is built and started by `cargo workbook verify`)");
            2
        }
    };
    std::process::exit(code);
}

fn list() -> i32 {
    if VARIANTS.is_empty() {
        println!("# built without an exercise: run it through `cargo workbook verify`");
    }
    for variant in VARIANTS {
        for (suite, tests) in variant.suites {
            for test in *tests {
                println!("{} {suite} {}", variant.name, test.name);
            }
        }
    }
    0
}

fn find(variant: &str, suite: &str, test: &str) -> Option<&'static Test> {
    let variant = VARIANTS.iter().find(|v| v.name == variant)?;
    let (_, tests) = variant.suites.iter().find(|(name, _)| *name == suite)?;
    tests.iter().find(|t| t.name == test)
}

fn run(variant: &str, suite: &str, name: &str) -> i32 {
    let Some(test) = find(variant, suite, name) else {
        eprintln!("no test {name} in suite {suite} of variant {variant}; see --list");
        return 2;
    };
    use_report_fd();
    install_fault_handler(libc::SIGSEGV);
    install_fault_handler(libc::SIGBUS);
    std::panic::set_hook(Box::new(report_panic));
    let pid = std::process::id();
    let result = std::panic::catch_unwind(test.run);
    if std::process::id() != pid {
        // A child the learner's code forked returned from its function into the
        // test instead of exiting. Its verdict must not count: say so and stop it.
        record(&format!("child-returned {}", std::process::id()));
        // SAFETY: _exit ends only this stray child, without running the test's cleanup twice.
        unsafe { libc::_exit(0) };
    }
    match result {
        Ok(Ok(())) => {
            record(&format!("pass {pid}"));
            0
        }
        Ok(Err(Failure { property, detail })) => {
            record(&format!("fail {pid} {}\t{}", escape(&property), escape(&detail)));
            1
        }
        Err(_) => 101, // the panic hook has recorded it
    }
}

/// Records go to fd 3 when the checker opened it, else to stderr.
fn use_report_fd() {
    // SAFETY: F_GETFD only asks whether fd 3 is open.
    if unsafe { libc::fcntl(3, libc::F_GETFD) } != -1 {
        REPORT_FD.store(3, Ordering::SeqCst);
    }
}

/// One record line. Newlines inside it are escaped so it stays one line.
fn record(line: &str) {
    write_all(REPORT_FD.load(Ordering::SeqCst), format!("{line}\n").as_bytes());
}

fn write_all(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writing from a valid slice to a file descriptor.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n").replace('\t', "\\t")
}

fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let message = match (info.payload().downcast_ref::<&str>(), info.payload().downcast_ref::<String>()) {
        (Some(text), _) => text.to_string(),
        (None, Some(text)) => text.clone(),
        (None, None) => "(a panic without a message)".to_string(),
    };
    let location = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
    record(&format!("panic {} {}\t{}", std::process::id(), escape(&location), escape(&message)));
}

fn install_fault_handler(signo: i32) {
    // A handler for a stack overflow needs a stack of its own to run on.
    const ALT_STACK: usize = 64 * 1024;
    let stack: &'static mut [u8] = Box::leak(vec![0u8; ALT_STACK].into_boxed_slice());
    let alt = libc::stack_t { ss_sp: stack.as_mut_ptr().cast(), ss_flags: 0, ss_size: ALT_STACK };
    // SAFETY: the alternate stack is leaked, so it lives as long as the process;
    // a zeroed sigaction is a valid start, and the handler is async-signal-safe.
    unsafe {
        libc::sigaltstack(&alt, std::ptr::null_mut());
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = report_fault as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signo, &action, std::ptr::null_mut());
    }
}

/// Writes `fault PID SIGNO SI_CODE SI_ADDR`, then dies of the same signal so
/// the checker sees the real ending. Only async-signal-safe calls: no
/// allocation, no locks, no `format!` (see signal-safety(7)).
extern "C" fn report_fault(signo: libc::c_int, info: *mut libc::siginfo_t, _context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
    let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    // SAFETY: getpid is async-signal-safe.
    let pid = unsafe { libc::getpid() };
    let mut line = Line::default();
    line.text(b"fault ");
    line.decimal(pid as i64);
    line.text(b" ");
    line.decimal(signo as i64);
    line.text(b" ");
    line.decimal(code as i64);
    line.text(b" 0x");
    line.hex(addr);
    line.text(b"\n");
    write_all(REPORT_FD.load(Ordering::SeqCst), line.as_bytes());
    // SAFETY: signal and raise are async-signal-safe. The signal stays blocked
    // until this handler returns; then the default action ends the process.
    unsafe {
        libc::signal(signo, libc::SIG_DFL);
        libc::raise(signo);
    }
}

/// A fixed-size line built without allocating, for the signal handler.
struct Line {
    bytes: [u8; 96],
    len: usize,
}

impl Default for Line {
    fn default() -> Line {
        Line { bytes: [0; 96], len: 0 }
    }
}

impl Line {
    fn text(&mut self, text: &[u8]) {
        for &b in text {
            if self.len < self.bytes.len() {
                self.bytes[self.len] = b;
                self.len += 1;
            }
        }
    }

    fn decimal(&mut self, value: i64) {
        if value < 0 {
            self.text(b"-");
        }
        self.digits(value.unsigned_abs(), 10);
    }

    fn hex(&mut self, value: usize) {
        self.digits(value as u64, 16);
    }

    fn digits(&mut self, mut value: u64, base: u64) {
        let mut reversed = [0u8; 20];
        let mut n = 0;
        loop {
            reversed[n] = b"0123456789abcdef"[(value % base) as usize];
            n += 1;
            value /= base;
            if value == 0 {
                break;
            }
        }
        for i in (0..n).rev() {
            self.text(&[reversed[i]]);
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}
