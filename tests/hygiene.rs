//! Every lesson cleans up after itself (DESIGN.md, principle 4): when it ends,
//! and when it is interrupted with SIGINT (what Ctrl-C sends), it leaves
//! - no process behind: no child still running, no zombie;
//! - no file in $TMPDIR, and none (not even a `core`) in its working directory.
//!
//! Locked memory needs no check of its own: mlock'ed pages belong to a
//! process's mappings and go with it, so "no process left" covers them.
//!
//! How leftover processes are found. The test process makes itself a *child
//! subreaper* (prctl PR_SET_CHILD_SUBREAPER): when a process dies, its children
//! are handed to the nearest living subreaper among its ancestors instead of
//! to init. So every descendant a lesson leaves, and every child that exits
//! after the lesson without anyone to wait for it, becomes a child of this test
//! process, where it can be seen: as a process whose `PPid` in /proc is ours.
//! The kernel reparents a dying process's children *before* the parent can be
//! waited for, so once `wait` has returned for the lesson, every leftover is
//! already ours; the check has no race with the reparenting.
//!
//! The subreaper attribute belongs to the whole process, not one thread, and
//! the test harness runs tests on several threads, so anything another test in
//! this binary started would show up too: this file therefore has one test
//! that spawns processes, and runs the lessons one after another inside it.

mod common;
use common::{lesson_binary, lesson_packages};

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// When the interrupted runs get their SIGINT: 2 ms after the start (while it
/// sets up), then at a quarter, half and three quarters of the time a whole run
/// took, so that every lesson is also caught in the middle of its steps, with
/// its children, files and mappings in place.
const INTERRUPT_EARLY: Duration = Duration::from_millis(2);
const INTERRUPT_AT_QUARTERS: [u32; 3] = [1, 2, 3];

/// How long a child killed by the lesson's death (PR_SET_PDEATHSIG) may take to
/// finish dying once the lesson is gone. A child still alive after this is left behind.
const GRACE: Duration = Duration::from_secs(2);

#[test]
fn lessons_leave_no_process_no_file_and_no_core_behind() {
    let packages = lesson_packages();
    // Build every lesson first: cargo's own processes must not be in the picture.
    let binaries: Vec<_> = packages.iter().map(|p| lesson_binary(p)).collect();
    become_subreaper();
    let mut problems = Vec::new();
    for (package, binary) in packages.iter().zip(&binaries) {
        let started = Instant::now();
        problems.extend(check_run(package, binary, None));
        let whole_run = started.elapsed();
        let quarters = INTERRUPT_AT_QUARTERS.map(|q| whole_run * q / 4);
        for delay in std::iter::once(INTERRUPT_EARLY).chain(quarters) {
            problems.extend(check_run(package, binary, Some(delay)));
        }
    }
    assert!(problems.is_empty(), "lessons left things behind:\n{}", problems.join("\n"));
}

/// Run one lesson in fresh, empty TMPDIR and working directories (interrupted
/// after `interrupt_after`, if given) and describe whatever it left behind.
fn check_run(package: &str, binary: &Path, interrupt_after: Option<Duration>) -> Vec<String> {
    let tmp = EmptyDir::new("tmp");
    let cwd = EmptyDir::new("cwd");
    let run = match interrupt_after {
        None => package.to_string(),
        Some(delay) => format!("{package} (SIGINT after {delay:?})"),
    };
    let mut child = Command::new(binary)
        .env("TMPDIR", &tmp.0)
        .current_dir(&cwd.0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {package}: {e}"));
    let mut problems = Vec::new();
    if let Some(delay) = interrupt_after {
        std::thread::sleep(delay);
        interrupt(&child);
    }
    let status = child.wait().expect("wait for the lesson");
    if interrupt_after.is_none() && !status.success() {
        problems.push(format!("{run}: ended with {status}"));
    }
    // A lesson that ended normally must have reaped and stopped all its children.
    // An interrupted one had no chance to: its children must die with it, within GRACE.
    let grace = if interrupt_after.is_some() { GRACE } else { Duration::ZERO };
    for leftover in leftover_processes(grace) {
        problems.push(format!("{run}: left a process behind: {leftover}"));
    }
    for (dir, what) in [(&tmp, "TMPDIR"), (&cwd, "its working directory")] {
        for name in dir.entries() {
            problems.push(format!("{run}: left {name:?} in {what}"));
        }
    }
    problems
}

/// SIGINT to the lesson alone, as `kill -INT PID` does. (Ctrl-C in a terminal
/// signals the whole process group, children too; this is the harder case.)
fn interrupt(child: &Child) {
    // ESRCH: the lesson already finished, which is fine.
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGINT);
}

fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes plain integers.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "prctl(PR_SET_CHILD_SUBREAPER): {}", std::io::Error::last_os_error());
}

/// Processes that have become our children (see the top of the file), waiting up
/// to `grace` for them to exit. Zombies among them are reaped so the next run
/// starts clean; each one is described as "PID (NAME) STATE".
fn leftover_processes(grace: Duration) -> Vec<String> {
    let deadline = Instant::now() + grace;
    loop {
        let alive: Vec<String> =
            our_children().into_iter().filter(|(_, _, state)| *state != 'Z').map(describe).collect();
        let zombies = reap_zombies();
        if alive.is_empty() && (grace.is_zero() || zombies.is_empty()) {
            // With no grace, a zombie is a child the lesson never waited for: a leftover.
            return if grace.is_zero() { zombies } else { Vec::new() };
        }
        if Instant::now() >= deadline {
            return alive.into_iter().chain(zombies).collect();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Reap every child of ours that has exited, and describe each.
fn reap_zombies() -> Vec<String> {
    let mut reaped = Vec::new();
    while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
        match status {
            WaitStatus::StillAlive => break,
            other => reaped.push(format!("{other:?} (exited without being waited for)")),
        }
    }
    reaped
}

/// (pid, name, state) of every process whose parent is this process, from /proc.
fn our_children() -> Vec<(i32, String, char)> {
    let me = std::process::id() as i32;
    let entries = std::fs::read_dir("/proc").expect("read /proc");
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            // /proc/PID/stat: "PID (NAME) STATE PPID ..."; NAME may contain spaces, so split at the last ')'.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (head, tail) = stat.rsplit_once(") ")?;
            let name = head.split_once(" (")?.1.to_string();
            let mut fields = tail.split_whitespace();
            let state = fields.next()?.chars().next()?;
            let ppid: i32 = fields.next()?.parse().ok()?;
            (ppid == me).then_some((pid, name, state))
        })
        .collect()
}

fn describe((pid, name, state): (i32, String, char)) -> String {
    format!("{pid} ({name}) state {state}")
}

/// A fresh empty directory under the system's temporary directory, removed at the end.
struct EmptyDir(std::path::PathBuf);

impl EmptyDir {
    fn new(what: &str) -> EmptyDir {
        let template = std::env::temp_dir().join(format!("vmw-hygiene-{what}-XXXXXX"));
        EmptyDir(nix::unistd::mkdtemp(&template).expect("mkdtemp"))
    }

    fn entries(&self) -> Vec<String> {
        let entries = std::fs::read_dir(&self.0).expect("read a test directory");
        entries.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned())).collect()
    }
}

impl Drop for EmptyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
