//! Run one hidden test in a process of its own, and survive whatever the
//! learner's code does in it: fault, abort, loop forever, allocate without
//! end, fork without end, or print without end.
//!
//! - The test runs in its own process group, so one `killpg` ends it and
//!   everything it forked; the checker becomes a "child subreaper", so those
//!   descendants come back to it to be reaped instead of lingering as zombies.
//! - Limits are set in the child before `exec`: address space (so endless
//!   allocation fails instead of eating the machine), CPU time, file size, no
//!   core files, and a number of processes for the user (which the kernel
//!   ignores for root: there the checker counts the group's members itself).
//! - A wall-clock timeout, and at most `OUTPUT_LIMIT` bytes of output kept.
//! - The verdict comes on its own pipe (fd 3 in the test), apart from output.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::Problem;

/// Output kept per test; the rest is counted and dropped.
pub const OUTPUT_LIMIT: usize = 64 * 1024;
/// Address space of a test: room for the lessons' 100 MiB, not for runaway allocation.
pub const ADDRESS_SPACE: u64 = 1 << 30;
/// Largest file a test may write.
pub const FILE_SIZE: u64 = 64 << 20;
/// Processes a test may have at once (itself and what it forks).
pub const MAX_PROCESSES: usize = 64;

/// The limits of one test process.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    /// RLIMIT_NPROC to set: the user's tasks now plus room for the test. The
    /// kernel counts every process (and thread) of the user against it.
    pub user_tasks: u64,
}

impl Limits {
    pub fn new(timeout: Duration) -> Limits {
        Limits { timeout, user_tasks: count_user_tasks() + MAX_PROCESSES as u64 }
    }
}

/// How the test process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    Killed(i32),
    /// Still running at the time limit; its whole group was killed.
    TimedOut(Duration),
    /// Its group grew past `MAX_PROCESSES`; its whole group was killed.
    ForkedWithoutEnd,
}

/// One line the harness reported on fd 3 (see checker/harness/src/main.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Pass { pid: i32 },
    Fail { pid: i32, property: String, detail: String },
    Panic { pid: i32, location: String, message: String },
    Fault { pid: i32, signal: i32, code: i32, addr: usize },
    ChildReturned { pid: i32 },
}

/// Everything known about one test run.
#[derive(Debug)]
pub struct TestRun {
    pub pid: i32,
    pub ending: Ending,
    /// What the test printed (stdout and stderr interleaved), at most `OUTPUT_LIMIT` bytes.
    pub output: String,
    /// Bytes of output dropped beyond the limit.
    pub output_cut: usize,
    pub records: Vec<Record>,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Call once before running tests. Ctrl-C will stop the running test's group
/// too (it is not in the terminal's foreground group, so it would not get the
/// SIGINT itself), and orphans of a test come back to the checker to be reaped.
pub fn prepare_to_supervise() {
    extern "C" fn on_interrupt(_signo: libc::c_int) {
        INTERRUPTED.store(true, Ordering::SeqCst);
    }
    // SAFETY: the handler only stores to an atomic. No SA_RESTART, so a
    // waiting poll(2) returns at once with EINTR.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_interrupt as *const () as usize;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Run `program args...` as one isolated test and wait for the verdict.
pub fn run_test(program: &Path, args: &[&str], limits: Limits) -> Result<TestRun, Problem> {
    let (output_read, output_write) = pipe()?;
    let (report_read, report_write) = pipe()?;
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null()).env("RUST_BACKTRACE", "0");
    command.stdout(Stdio::from(output_write.try_clone().map_err(io_problem)?)).stderr(Stdio::from(output_write));
    let report_fd = report_write.as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls: no allocation, no locks.
    unsafe { command.pre_exec(move || prepare_child(report_fd, limits)) };
    let spawned = command.spawn();
    // The command holds the pipes' write ends: drop them so EOF can arrive.
    drop(command);
    drop(report_write);
    let child = spawned.map_err(|e| Problem::failed(format!("cannot start {}: {e}", program.display())))?;
    let pid = child.id() as i32;
    let mut streams = Streams::new(output_read, report_read);
    let ending = supervise(child, pid, &mut streams, limits)?;
    remove_leftover_files(pid);
    Ok(TestRun {
        pid,
        ending,
        output: String::from_utf8_lossy(&streams.output.bytes).into_owned(),
        output_cut: streams.output.dropped,
        records: parse_records(&String::from_utf8_lossy(&streams.report.bytes)),
    })
}

/// A test killed halfway cannot remove its temporary files (the prelude
/// names them workbook-TAG-PID-N in the temporary folder): remove them here.
fn remove_leftover_files(pid: i32) {
    let suffix = format!("-{pid}-");
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours = name.starts_with("workbook-")
            && name.rsplit_once(&suffix).is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if ours {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// In the child, between fork and exec.
fn prepare_child(report_fd: i32, limits: Limits) -> std::io::Result<()> {
    let cpu_seconds = limits.timeout.as_secs() + 2;
    // SAFETY: plain system calls on this (child) process only.
    unsafe {
        libc::setpgid(0, 0);
        // If the checker dies, the test dies with it.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if libc::dup2(report_fd, 3) == -1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    lower_limit(libc::RLIMIT_AS, ADDRESS_SPACE);
    lower_limit(libc::RLIMIT_CPU, cpu_seconds);
    lower_limit(libc::RLIMIT_FSIZE, FILE_SIZE);
    lower_limit(libc::RLIMIT_CORE, 0);
    lower_limit(libc::RLIMIT_NPROC, limits.user_tasks);
    // The lowest CPU priority: a fork bomb of a few hundred processes must
    // not starve the checker that has to notice and stop it. (At nice 5 it
    // did: the bomb reached the system's pid limit first.)
    // SAFETY: setpriority on this process only.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
    Ok(())
}

/// Lower a limit to `value` (never raise it: a learner's stricter limit stays).
fn lower_limit(resource: libc::__rlimit_resource_t, value: u64) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit on this process with a valid struct.
    unsafe {
        if libc::getrlimit(resource, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_cur.min(value);
            limit.rlim_max = limit.rlim_max.min(value);
            libc::setrlimit(resource, &limit);
        }
    }
}

/// Watch the test until it ends, times out or forks too much; then kill and
/// reap its whole group, and collect the rest of its output.
fn supervise(mut child: Child, pgid: i32, streams: &mut Streams, limits: Limits) -> Result<Ending, Problem> {
    let started = Instant::now();
    let tasks_before = tasks_on_system();
    let mut next_count = started;
    // Some(ending) when the checker had to stop the test; None when it ended by itself.
    let forced = loop {
        streams.wait_and_read(Duration::from_millis(10));
        if has_ended(pgid) {
            break None;
        }
        if interrupted() {
            stop(&mut child, pgid);
            return Err(Problem::failed("interrupted: the running test and its processes were stopped"));
        }
        if started.elapsed() >= limits.timeout {
            break Some(Ending::TimedOut(limits.timeout));
        }
        if forking_without_end(pgid, tasks_before, &mut next_count) {
            break Some(Ending::ForkedWithoutEnd);
        }
    };
    let status = stop(&mut child, pgid);
    streams.drain(Duration::from_millis(300));
    reap_group(pgid);
    Ok(forced.unwrap_or(status))
}

/// Kill the whole group, then reap the test process. In this order: until it
/// is reaped, the test's pid cannot be reused, so `pgid` still names its group.
fn stop(child: &mut Child, pgid: i32) -> Ending {
    // SAFETY: killpg on the test's own group; see above why the number is still its.
    unsafe { libc::killpg(pgid, libc::SIGKILL) };
    child.wait().map(exit_ending).unwrap_or(Ending::Exited(-1))
}

/// True once the test process has ended, without reaping it (WNOWAIT).
fn has_ended(pid: i32) -> bool {
    // SAFETY: a zeroed siginfo_t is valid; waitid fills it; WNOWAIT leaves the child waitable.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) == 0 && info.si_pid() != 0
    }
}

fn exit_ending(status: std::process::ExitStatus) -> Ending {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Ending::Exited(code),
        (None, Some(signal)) => Ending::Killed(signal),
        (None, None) => Ending::Exited(-1),
    }
}

/// Reap the group's processes that came back to us (we are their subreaper).
fn reap_group(pgid: i32) {
    let give_up = Instant::now() + Duration::from_secs(2);
    while Instant::now() < give_up {
        let mut status = 0;
        // SAFETY: waiting, without blocking, for members of the test's group.
        match unsafe { libc::waitpid(-pgid, &mut status, libc::WNOHANG) } {
            0 => std::thread::sleep(Duration::from_millis(2)), // killed, not yet gone
            -1 => return,                                      // ECHILD: none left
            _ => {}
        }
    }
}

/// True when the test seems to fork without end. A fork bomb doubles every
/// few microseconds and soon starves everything else, the checker included,
/// so it must be caught early and cheaply: the system's task count is one
/// read of /proc/loadavg, every turn; a jump of `SUDDEN_TASKS` during one
/// test is taken as the test's doing. Slower growth is caught by counting
/// the group's members (a walk of /proc) a few times a second.
fn forking_without_end(pgid: i32, tasks_before: Option<u64>, next_count: &mut Instant) -> bool {
    if let (Some(before), Some(now)) = (tasks_before, tasks_on_system())
        && now > before + SUDDEN_TASKS
    {
        return true;
    }
    if Instant::now() < *next_count {
        return false;
    }
    *next_count = Instant::now() + Duration::from_millis(200);
    group_size(pgid) > MAX_PROCESSES
}

/// More new tasks on the whole system than this, while one test runs, is a fork bomb.
const SUDDEN_TASKS: u64 = 4 * MAX_PROCESSES as u64;

/// Processes and threads on the whole system: the number after the slash
/// in the fourth field of /proc/loadavg ("0.20 0.18 0.12 1/80 11206").
fn tasks_on_system() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().nth(3)?.split_once('/')?.1.parse().ok()
}

/// How many processes are in group `pgid` now, from /proc/PID/stat.
fn group_size(pgid: i32) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_str().is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit())))
        .filter(|entry| process_group(&entry.path()) == Some(pgid))
        .count()
}

/// The pgrp field of /proc/PID/stat: after "pid (comm) state ppid".
fn process_group(proc_dir: &Path) -> Option<i32> {
    let stat = std::fs::read_to_string(proc_dir.join("stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(2)?.parse().ok()
}

/// Tasks (threads) of this user now: what the kernel counts against RLIMIT_NPROC.
fn count_user_tasks() -> u64 {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() }.to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    let mut tasks = 0;
    for entry in entries.flatten() {
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
        let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::split_whitespace);
        let real_uid = field("Uid:").and_then(|mut words| words.next());
        if real_uid == Some(uid.as_str()) {
            tasks += field("Threads:").and_then(|mut w| w.next()?.parse::<u64>().ok()).unwrap_or(1);
        }
    }
    tasks
}

fn pipe() -> Result<(OwnedFd, OwnedFd), Problem> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two new descriptors, which we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io_problem(std::io::Error::last_os_error()));
    }
    // SAFETY: both descriptors are new and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn io_problem(error: std::io::Error) -> Problem {
    Problem::failed(format!("cannot run a test: {error}"))
}

/// The two pipes from the test: its output, and its reports.
struct Streams {
    output: Capture,
    report: Capture,
}

/// What came through one pipe, up to a limit.
struct Capture {
    file: Option<std::fs::File>,
    bytes: Vec<u8>,
    dropped: usize,
}

impl Capture {
    fn new(fd: OwnedFd) -> Capture {
        // Non-blocking, so reading never waits for a writer that is still alive.
        // SAFETY: fcntl flags on a descriptor we own.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        Capture { file: Some(std::fs::File::from(fd)), bytes: Vec::new(), dropped: 0 }
    }

    /// Read what is there now. Closes the pipe at end of file.
    fn read_available(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        while let Some(file) = self.file.as_mut() {
            match file.read(&mut chunk) {
                Ok(0) => self.file = None,
                Ok(n) => {
                    let room = OUTPUT_LIMIT.saturating_sub(self.bytes.len()).min(n);
                    self.bytes.extend_from_slice(&chunk[..room]);
                    self.dropped += n - room;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => self.file = None,
            }
        }
    }
}

impl Streams {
    fn new(output: OwnedFd, report: OwnedFd) -> Streams {
        Streams { output: Capture::new(output), report: Capture::new(report) }
    }

    fn open(&self) -> Vec<libc::pollfd> {
        [&self.output, &self.report]
            .iter()
            .filter_map(|c| c.file.as_ref())
            .map(|f| libc::pollfd { fd: f.as_raw_fd(), events: libc::POLLIN, revents: 0 })
            .collect()
    }

    /// Wait up to `timeout` for something to read, and read it.
    fn wait_and_read(&mut self, timeout: Duration) {
        let mut fds = self.open();
        if fds.is_empty() {
            std::thread::sleep(timeout);
            return;
        }
        // SAFETY: poll on descriptors we own, with the right count.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout.as_millis() as i32) };
        self.output.read_available();
        self.report.read_available();
    }

    /// Read until both pipes are closed, or `patience` runs out (a process
    /// that escaped the group may hold a pipe open).
    fn drain(&mut self, patience: Duration) {
        let until = Instant::now() + patience;
        while !self.open().is_empty() && Instant::now() < until {
            self.wait_and_read(Duration::from_millis(10));
        }
    }
}

fn parse_records(text: &str) -> Vec<Record> {
    text.lines().filter_map(parse_record).collect()
}

fn parse_record(line: &str) -> Option<Record> {
    let (kind, rest) = line.split_once(' ')?;
    let (pid, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let pid: i32 = pid.parse().ok()?;
    let (first, second) = rest.split_once('\t').unwrap_or((rest, ""));
    Some(match kind {
        "pass" => Record::Pass { pid },
        "child-returned" => Record::ChildReturned { pid },
        "fail" => Record::Fail { pid, property: unescape(first), detail: unescape(second) },
        "panic" => Record::Panic { pid, location: unescape(first), message: unescape(second) },
        "fault" => {
            let mut words = rest.split_whitespace();
            let signal = words.next()?.parse().ok()?;
            let code = words.next()?.parse().ok()?;
            let addr = usize::from_str_radix(words.next()?.trim_start_matches("0x"), 16).ok()?;
            Record::Fault { pid, signal, code, addr }
        }
        _ => return None,
    })
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_record() {
        let text = "pass 10\nfail 11 the region is rw\\tx\tyour code returned Err(1)\npanic 12 src/lib.rs:3:5\tnot yet\\nimplemented\nfault 13 11 1 0x0\nchild-returned 14\nnonsense\nfault x\n";
        assert_eq!(
            parse_records(text),
            vec![
                Record::Pass { pid: 10 },
                Record::Fail {
                    pid: 11,
                    property: "the region is rw\tx".into(),
                    detail: "your code returned Err(1)".into()
                },
                Record::Panic { pid: 12, location: "src/lib.rs:3:5".into(), message: "not yet\nimplemented".into() },
                Record::Fault { pid: 13, signal: 11, code: 1, addr: 0 },
                Record::ChildReturned { pid: 14 },
            ]
        );
    }

    #[test]
    fn reads_the_process_group_from_stat() {
        let pgrp = process_group(Path::new("/proc/self"));
        // SAFETY: getpgrp cannot fail.
        assert_eq!(pgrp, Some(unsafe { libc::getpgrp() }));
    }
}
