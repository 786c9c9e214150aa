//! Helpers shared by the lesson tests: build a lesson from the current source,
//! run it, and normalize what legitimately varies between runs and machines.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use regex_lite::Regex;

/// What a lesson (or the checker) printed and how it ended.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
}

/// Build `package` with cargo now (once per test binary) and return its binary's path.
///
/// Cargo rebuilds whatever changed, so a stale binary can never be tested: the
/// path comes from cargo's own report of the artifact it just produced.
pub fn lesson_binary(package: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(package) {
        return path.clone();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--quiet", "--message-format=json-render-diagnostics", "-p", package])
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build");
    assert!(output.status.success(), "cargo build -p {package} failed");
    let executable = Regex::new(r#""executable":"([^"]+)""#).unwrap();
    let path = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains(&format!(r#""name":"{package}""#)))
        .find_map(|line| Some(PathBuf::from(executable.captures(line)?.get(1)?.as_str())))
        .unwrap_or_else(|| panic!("cargo built no executable for {package}"));
    built.insert(package.to_string(), path.clone());
    path
}

/// The package names of every lesson under lessons/.
pub fn lesson_packages() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/lessons");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read lessons/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("lesson-"))
        .collect();
    names.sort();
    names
}

/// Run a freshly built lesson with `args`, stdin closed and stdout not a terminal.
pub fn run_lesson(package: &str, args: &[&str]) -> Run {
    let binary = lesson_binary(package);
    let output = Command::new(&binary)
        .args(args)
        .stdin(Stdio::null())
        .env_remove("NO_COLOR")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", binary.display()));
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code(),
    }
}

/// Replace what varies between runs and machines: addresses, pids, timings.
/// Never sizes, counts, permissions, signal names or si_code: those are the evidence.
pub fn normalize(text: &str) -> String {
    static RULES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            // a maps range: 7f3a1c000000-7f3a22400000
            (r"\b[0-9a-f]{8,16}-[0-9a-f]{8,16}\b", "[ADDR]-[ADDR]"),
            // a hex address of 5 digits or more (0x0 and 0x10 stay: they are evidence)
            (r"\b0x[0-9a-f]{5,16}\b", "[ADDR]"),
            // in a `grep -A3 7f3a1c000000 ...` suggestion
            (r"grep -A(\d+) [0-9a-f]{5,16}\b", "grep -A$1 [ADDR]"),
            (r"\bpid \d+", "pid [PID]"),
            (r"/proc/\d+\b", "/proc/[PID]"),
            (r"\b\d+(\.\d+)? (ns|µs|ms|s)\b", "[TIME] $2"),
        ]
        .into_iter()
        .map(|(pattern, with)| (Regex::new(pattern).expect("valid pattern"), with))
        .collect()
    });
    rules.iter().fold(text.to_string(), |text, (re, with)| re.replace_all(&text, *with).into_owned())
}

/// The page size of this machine, for assertions that scale with it.
pub fn page_size() -> usize {
    workbook::sys::page_size()
}

/// Assert that `haystack` contains `needle`, printing the whole output when it does not.
#[track_caller]
pub fn assert_has(haystack: &str, needle: &str) {
    assert!(haystack.contains(needle), "expected to find {needle:?} in the lesson's output:\n{haystack}");
}

#[test]
fn normalize_keeps_evidence_and_hides_addresses() {
    let line = "  ✓ a child: killed by SIGSEGV (SEGV_MAPERR at 0x0) after 12.5 ms, pid 4242, 0x7f4828000000";
    assert_eq!(
        normalize(line),
        "  ✓ a child: killed by SIGSEGV (SEGV_MAPERR at 0x0) after [TIME] ms, pid [PID], [ADDR]"
    );
    assert_eq!(normalize("7ff7959ff000-7ff79be00000 r--p 00000000 00:00 0"), "[ADDR]-[ADDR] r--p 00000000 00:00 0");
    assert_eq!(normalize("104857600 bytes, 25600 pages"), "104857600 bytes, 25600 pages");
}

/// True when the tests run as root: some lessons legitimately show more as root
/// (CAP_IPC_LOCK bypasses the mlock limit, CAP_SYS_ADMIN reveals page frame
/// numbers) and keep a second snapshot, `output_as_root`, for that case.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The page size the lessons' snapshots were recorded with.
pub const SNAPSHOT_PAGE_SIZE: usize = 4096;

/// Compare a lesson's normalized output with its snapshot. The snapshots were
/// recorded on 4 KiB pages, and many of their counts ("25600 pages") hold only
/// there. On a machine with other pages (16 or 64 KiB on some aarch64) those
/// counts legitimately differ: the test's explicit assertions, which compute
/// from the page size, still run and must pass; only this comparison is
/// skipped, and the test says so.
#[allow(unused_macros)] // test binaries that show no lesson output leave it unused
macro_rules! lesson_snapshot {
    ($name:expr, $text:expr) => {
        if crate::common::page_size() == crate::common::SNAPSHOT_PAGE_SIZE {
            insta::assert_snapshot!($name, $text);
        } else {
            eprintln!(
                "snapshot {:?} not compared: recorded with {} KiB pages, this machine has {} KiB pages",
                $name,
                crate::common::SNAPSHOT_PAGE_SIZE / 1024,
                crate::common::page_size() / 1024
            );
        }
    };
}
#[allow(unused_imports)]
pub(crate) use lesson_snapshot;

/// Run the checker's own binary (what `cargo workbook` runs) in the repository,
/// with `env` added, colors off and stdin closed.
pub fn run_workbook(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_workbook"))
        .args(args)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .expect("run the workbook checker");
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code(),
    }
}
