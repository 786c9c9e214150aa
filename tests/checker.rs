//! The exercise checker, end to end: `cargo workbook` as a learner uses it,
//! always on a copy of an exercise under target/ (the real exercises/ folder
//! is never touched), and its answers to bad input.
//!
//! The hidden tests themselves are proven by `cargo workbook selftest`
//! (solutions pass, untouched exercises and plausible wrong answers fail).

mod common;
use common::{Run, run_workbook as workbook};
use std::path::{Path, PathBuf};
use std::process::Command;

use regex_lite::Regex;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

const ALL: [&str; 10] = [
    "01-segv",
    "02-maps",
    "03-mmap",
    "04-paging",
    "05-filemap",
    "06-cow",
    "07-mprotect",
    "08-mlock",
    "09-smaps",
    "10-elf",
];

/// A learner's copy of some exercises: `DIR/exercises/NN-name/...` (untouched),
/// with its own `.workbook/` state, under target/.
struct Copy {
    dir: PathBuf,
}

impl Copy {
    fn new(name: &str, exercises: &[&str]) -> Copy {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("checker").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        for slug in exercises {
            let src = dir.join("exercises").join(slug).join("src");
            std::fs::create_dir_all(&src).unwrap();
            std::fs::copy(Path::new(ROOT).join("checker/pristine").join(format!("{slug}.rs")), src.join("lib.rs"))
                .unwrap();
        }
        Copy { dir }
    }

    fn exercises(&self) -> String {
        self.dir.join("exercises").display().to_string()
    }

    fn source(&self, slug: &str) -> PathBuf {
        self.dir.join("exercises").join(slug).join("src/lib.rs")
    }

    fn write_source(&self, slug: &str, text: &str) {
        std::fs::write(self.source(slug), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let exercises = self.exercises();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--exercises", &exercises]);
        workbook(&all, env)
    }

    /// Output with this copy's folder and the timings taken out.
    fn normalize(&self, text: &str) -> String {
        let relative = self.dir.strip_prefix(ROOT).unwrap_or(&self.dir);
        let text =
            text.replace(&format!("{}/", self.dir.display()), "").replace(&format!("{}/", relative.display()), "");
        let timing = Regex::new(r"\d+\.\d s\b").unwrap();
        timing.replace_all(&text, "[TIME] s").into_owned()
    }
}

fn solution(slug: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join("solutions").join(format!("{slug}.rs"))).unwrap()
}

#[track_caller]
fn assert_has(run: &Run, needle: &str) {
    assert!(
        run.stdout.contains(needle) || run.stderr.contains(needle),
        "expected {needle:?} in the output:\n{}\n--- stderr:\n{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn bad_input_gets_one_error_line_a_hint_and_status_2() {
    let cases: &[&[&str]] = &[
        &["verify", "11"],
        &["verify", "mmap", "elf"],
        &["hint"],
        &["frobnicate"],
        &["verify", "--bogus"],
        &["list", "3"],
        &["solution", "xyz"],
        &["watch", "--timeout"],
        &["verify", "--timeout", "forever"],
        &["hint", "3", "--force"],
        &["verify", "3", "--tests", "/nonexistent/folder"],
        &["list", "--exercises", "/nonexistent/folder"],
        // every command, not only the common ones: reset, selftest and watch too
        &["reset"],
        &["reset", "99"],
        &["reset", "3", "--all"],
        &["selftest", "99"],
        &["selftest", "--manual"],
        &["watch", "0"],
        &["solution", "3", "4"],
    ];
    for args in cases {
        let run = workbook(args, &[]);
        assert_eq!(run.code, Some(2), "{args:?}: status\n{}{}", run.stdout, run.stderr);
        assert!(run.stdout.is_empty(), "{args:?} printed to stdout:\n{}", run.stdout);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: expected an error and a hint:\n{}", run.stderr);
        assert!(lines[0].starts_with("error: ") && lines[1].starts_with("hint: "), "{args:?}:\n{}", run.stderr);
    }
}

#[test]
fn help_names_every_command() {
    for args in [&["--help"][..], &["help"], &[], &["verify", "-h"]] {
        let run = workbook(args, &[]);
        assert_eq!(run.code, Some(0), "{args:?}");
        for command in ["list", "verify", "watch", "hint", "solution", "reset", "selftest", "--manual", "--tests"] {
            assert!(run.stdout.contains(command), "{args:?}: help does not mention {command}");
        }
    }
}

#[test]
fn a_learner_session_from_list_to_solved() {
    let copy = Copy::new("session", &ALL);
    let list = copy.run(&["list"]);
    assert_eq!(list.code, Some(0), "{}", list.stderr);
    assert_has(&list, "03  mmap");
    assert_has(&list, "Progress: 0 of 10 done");
    insta::assert_snapshot!("list_fresh", copy.normalize(&list.stdout));

    let untouched = copy.run(&["verify", "3"]);
    assert_eq!(untouched.code, Some(1), "{}{}", untouched.stdout, untouched.stderr);
    assert_has(&untouched, "panicked: not yet implemented");
    assert_has(&untouched, "7 of 7 tests failed.");
    insta::assert_snapshot!("verify_untouched", copy.normalize(&untouched.stdout));

    let refused = copy.run(&["solution", "3"]);
    assert_eq!(refused.code, Some(1));
    assert_has(&refused, "error: exercise 03 is not solved yet");

    let hint = copy.run(&["hint", "mmap"]);
    assert_has(&hint, "hint 1 of 3");
    assert_has(&copy.run(&["hint", "03"]), "hint 2 of 3");

    let wrong = solution("03-mmap")
        .replace("let len = bytes.checked_next_multiple_of(page_size()).ok_or_else(too_large)?;", "let len = bytes;");
    copy.write_source("03-mmap", &wrong);
    let mistaken = copy.run(&["verify", "03-mmap"]);
    assert_eq!(mistaken.code, Some(1));
    assert_has(&mistaken, "property not met: map_bytes rounds a partial page up to one whole page");
    insta::assert_snapshot!("verify_wrong_answer", copy.normalize(&mistaken.stdout));

    copy.write_source("03-mmap", &solution("03-mmap"));
    let solved = copy.run(&["verify", "lesson-03-mmap"]);
    assert_eq!(solved.code, Some(0), "{}{}", solved.stdout, solved.stderr);
    assert_has(&solved, "All 7 tests passed: exercise 03 is done.");
    insta::assert_snapshot!("verify_solved", copy.normalize(&solved.stdout));

    assert_has(&copy.run(&["list"]), "Progress: 1 of 10 done");
    let progress = std::fs::read_to_string(copy.dir.join(".workbook/progress")).unwrap();
    assert!(progress.contains("03-mmap done hints=2"), "{progress}");
    assert_eq!(copy.run(&["solution", "3"]).code, Some(0));
}

#[test]
fn reset_keeps_a_backup_and_restores_the_exercise() {
    let copy = Copy::new("reset", &["01-segv"]);
    let untouched = copy.run(&["reset", "1"]);
    assert_has(&untouched, "untouched already");
    copy.write_source("01-segv", "// my half-finished work\n");
    let reset = copy.run(&["reset", "segv"]);
    assert_eq!(reset.code, Some(0), "{}", reset.stderr);
    let saved = Regex::new(r"Saved your version to (\S+)").unwrap();
    let backup = saved.captures(&reset.stdout).expect("the backup's path is printed")[1].to_string();
    let backup = if Path::new(&backup).is_absolute() { PathBuf::from(backup) } else { Path::new(ROOT).join(backup) };
    assert!(backup.starts_with(copy.dir.join(".workbook/backups")), "{}", backup.display());
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), "// my half-finished work\n");
    let pristine = std::fs::read(Path::new(ROOT).join("checker/pristine/01-segv.rs")).unwrap();
    assert_eq!(std::fs::read(copy.source("01-segv")).unwrap(), pristine);
    // A second reset in the same second must not overwrite the first backup.
    copy.write_source("01-segv", "// second attempt\n");
    let again = copy.run(&["reset", "01"]);
    let second = saved.captures(&again.stdout).expect("printed")[1].to_string();
    assert_ne!(second, saved.captures(&reset.stdout).unwrap()[1].to_string());
}

#[test]
fn a_damaged_progress_file_costs_one_warning() {
    let copy = Copy::new("damaged", &["02-maps"]);
    std::fs::create_dir_all(copy.dir.join(".workbook")).unwrap();
    std::fs::write(copy.dir.join(".workbook/progress"), b"\xff\xfe\x00 nonsense\n02-maps done hints=1\n").unwrap();
    let run = copy.run(&["list"]);
    assert_eq!(run.code, Some(0));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("warning: "), "{}", run.stderr);
    assert_has(&run, "Progress: 1 of 10 done");
}

/// Learner code that crashes in every way is reported, and the checker lives on.
/// The exercise's `map_bytes(1)` misbehaves as $CRASH says; only one hidden
/// test calls it with 1, so each run costs at most one time limit.
#[test]
fn crashes_hangs_and_floods_are_reported_and_contained() {
    let copy = Copy::new("crashes", &["03-mmap"]);
    let crashing = solution("03-mmap").replace(
        "pub fn map_bytes(bytes: usize) -> io::Result<Region> {",
        "pub fn map_bytes(bytes: usize) -> io::Result<Region> {\n    if bytes == 1 { crash(); }",
    ) + CRASHES;
    copy.write_source("03-mmap", &crashing);
    let cases = [
        ("segv", "killed by SIGSEGV (SEGV_MAPERR at 0x0)"),
        ("abort", "killed by SIGABRT"),
        ("loop", "timed out after 2.0 s"),
        ("allocate", "an allocation failed"),
        ("flood", "(output cut: "),
        ("fork", "forked without end"),
        ("exit", "ended with exit status 3 before the test finished"),
    ];
    for (crash, expected) in cases {
        let started = std::time::Instant::now();
        let run = copy.run_with(&["verify", "3", "--timeout", "2"], &[("CRASH", crash)]);
        assert_eq!(run.code, Some(1), "{crash}: {}{}", run.stdout, run.stderr);
        assert_has(&run, "✗ rounds_up_to_whole_pages");
        // The other tests did not suffer: they still pass.
        assert_has(&run, "✓ maps_exactly_the_pages_asked_for");
        let ok = run.stdout.contains(expected)
            // An ordinary user runs out of processes (RLIMIT_NPROC) before 64 are counted.
            || (crash == "fork" && run.stdout.contains("timed out"));
        assert!(ok, "{crash}: expected {expected:?} in:\n{}", run.stdout);
        assert!(started.elapsed().as_secs() < 20, "{crash}: took {:?}", started.elapsed());
        assert!(run.stdout.lines().count() < 80, "{crash}: the report is too long:\n{}", run.stdout);
    }
}

const CRASHES: &str = r#"
fn crash() {
    match std::env::var("CRASH").as_deref() {
        Ok("segv") => unsafe { std::ptr::write_volatile(std::ptr::null_mut::<u8>(), 1) },
        Ok("abort") => std::process::abort(),
        Ok("loop") => loop { std::hint::spin_loop() },
        Ok("allocate") => {
            let mut hoard = Vec::new();
            loop { hoard.push(vec![0u8; 1 << 24]); }
        }
        Ok("flood") => loop { println!("spam, spam, spam, eggs and spam"); },
        // Forks without end, but linearly and at most 1000 times: a real fork bomb
        // run as root (where RLIMIT_NPROC does not apply) took the whole test
        // machine down for twenty minutes. The children sleep; they never fork.
        Ok("fork") => {
            for _ in 0..1000 {
                if unsafe { libc::fork() } == 0 {
                    std::thread::sleep(std::time::Duration::from_secs(30));
                    unsafe { libc::_exit(0) };
                }
            }
            std::thread::sleep(std::time::Duration::from_secs(30));
        }
        Ok("exit") => std::process::exit(3),
        _ => {}
    }
}
"#;

#[test]
fn an_instructors_tests_run_too_and_are_proven_by_selftest() {
    let copy = Copy::new("instructor", &["03-mmap"]);
    copy.write_source("03-mmap", &solution("03-mmap"));
    let tests = Path::new(ROOT).join("checker/examples/instructor-tests").display().to_string();
    let run = copy.run(&["verify", "3", "--tests", &tests]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_has(&run, "✓ a_big_mapping_is_one_line (from instructor)");
    assert_has(&run, "All 9 tests passed");
    let proof = workbook(&["selftest", "3", "--tests", &tests], &[]);
    assert_eq!(proof.code, Some(0), "{}{}", proof.stdout, proof.stderr);
}

#[test]
fn watch_manual_verifies_on_enter_and_stops_on_q() {
    let copy = Copy::new("watch-manual", &["03-mmap"]);
    let exercises = copy.exercises();
    let mut child = Command::new(env!("CARGO_BIN_EXE_workbook"))
        .args(["watch", "3", "--manual", "--exercises", &exercises])
        .env("NO_COLOR", "1")
        .current_dir(ROOT)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"\nq\n").unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.matches("7 of 7 tests failed.").count(), 2, "{stdout}");
    assert!(stdout.ends_with("Stopped watching.\n"), "{stdout}");
}

/// `watch` notices a save, verifies again, and moves on when the exercise passes.
#[test]
fn watch_verifies_again_when_the_file_is_saved() {
    use std::io::{BufRead, BufReader, Write};
    let copy = Copy::new("watch", &["03-mmap", "04-paging"]);
    let exercises = copy.exercises();
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_workbook"))
            .args(["watch", "3", "--exercises", &exercises])
            .env("NO_COLOR", "1")
            .current_dir(ROOT)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (lines, received) = std::sync::mpsc::channel();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let wait_for = |needle: &str| {
        let mut seen = String::new();
        while !seen.contains(needle) {
            match received.recv_timeout(std::time::Duration::from_secs(60)) {
                Ok(line) => seen.push_str(&(line + "\n")),
                Err(_) => panic!("watch never printed {needle:?}; it printed:\n{seen}"),
            }
        }
        seen
    };
    wait_for("Watching");
    copy.write_source("03-mmap", &solution("03-mmap"));
    wait_for("All 7 tests passed");
    let moved_on = wait_for("Watching");
    assert!(moved_on.contains("On to exercise 04"), "{moved_on}");
    child.0.stdin.as_mut().unwrap().write_all(b"q\n").unwrap();
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
}

#[test]
fn a_missing_toolchain_is_one_line_and_a_suggestion() {
    let output = Command::new(env!("CARGO_BIN_EXE_workbook"))
        .args(["verify", "3"])
        .env_remove("CARGO")
        .env("PATH", "/nonexistent")
        .current_dir(ROOT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stdout));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].starts_with("error: cannot find cargo") && lines[1].contains("rustup"), "{stderr}");
}

/// Kills the checker a test started if the test fails half-way, so that no
/// `workbook watch` outlives a failed test (stdin closing does not stop it).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
