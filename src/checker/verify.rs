//! `cargo workbook verify [N]`: build exercise N with the learner's code, run
//! each hidden test in its own sandboxed process, and report what happened in
//! words a learner can act on: which property failed, or how the code crashed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use nix::sys::signal::Signal;

use super::args::RunOptions;
use super::catalog::{EXERCISES, Exercise, Workbook};
use super::compile::{self, Build, Source, Suite};
use super::hints;
use super::lock;
use super::progress::Progress;
use super::sandbox::{self, Ending, Limits, Record, TestRun};
use super::style::{self, FAIL, PASS};
use super::{Outcome, Problem};

/// One test the harness offers: `VARIANT SUITE NAME` from `--list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestId {
    pub variant: String,
    pub suite: String,
    pub name: String,
}

/// Whether a test passed, and if not, why, in lines for the learner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Pass,
    Fail(Vec<String>),
}

pub fn verify_command(workbook: &Workbook, exercise: Option<&'static Exercise>, options: &RunOptions) -> Outcome {
    let mut progress = Progress::load(&workbook.progress_file());
    let Some(exercise) = exercise.or_else(|| progress.next_unsolved()) else {
        println!("{}", style::good("All ten exercises are done. Well done!"));
        println!("Verify one again with `cargo workbook verify N`, or compare with `cargo workbook solution N`.");
        return Ok(true);
    };
    verify(workbook, exercise, options, &mut progress)
}

/// Verify one exercise, print the report and record the verdict.
pub fn verify(workbook: &Workbook, exercise: &Exercise, options: &RunOptions, progress: &mut Progress) -> Outcome {
    let source = workbook.source(exercise);
    if !source.is_file() {
        return Err(Problem::failed(format!("{} is missing", workbook.show(&source)))
            .with_hint(format!("`cargo workbook reset {}` puts the exercise back", exercise.id())));
    }
    let suites = suites(workbook, exercise, options)?;
    compile::cargo()?;
    println!("{}", style::heading(&format!("Exercise {} · {}: {}", exercise.id(), exercise.name, exercise.task)));
    println!("{}", style::dim(&format!("  your code: {}", workbook.show(&source))));
    if let (Some(dir), 1) = (&options.tests_dir, suites.len()) {
        println!("{}", style::dim(&format!("  (no {}.rs in {}: hidden tests only)", exercise.slug(), dir.display())));
    }
    let _lock = lock::exclusive(&workbook.target_dir().join("workbook-harness.lock"))?;
    let Some(harness) = build(workbook, &[Source { variant: "learner".into(), path: source }], &suites)? else {
        progress.set_verdict(exercise, false);
        progress.save()?;
        print_stuck(workbook, exercise, progress);
        return Ok(false);
    };
    let tests = list_tests(&harness)?;
    let started = Instant::now();
    let limits = Limits::new(options.timeout);
    sandbox::prepare_to_supervise();
    let mut failed = 0;
    let mut previous_reason: Option<Vec<String>> = None;
    for test in &tests {
        let run = sandbox::run_test(&harness, &[&test.variant, &test.suite, &test.name], limits)?;
        let judgement = judge(&run, workbook);
        if judgement != Judgement::Pass {
            failed += 1;
        }
        print_test(test, &run, &judgement, &mut previous_reason);
    }
    println!("{}", style::dim(&format!("  ran {} tests in {}", tests.len(), style::seconds(started.elapsed()))));
    let passed = failed == 0 && !tests.is_empty();
    progress.set_verdict(exercise, passed);
    progress.save()?;
    println!();
    if passed {
        print_done(exercise, progress, tests.len());
    } else {
        println!("{}", style::bad(&format!("{failed} of {} tests failed.", tests.len())));
        print_stuck(workbook, exercise, progress);
    }
    Ok(passed)
}

/// The hidden tests, and the instructor's for this exercise when `--tests DIR` has them.
pub fn suites(workbook: &Workbook, exercise: &Exercise, options: &RunOptions) -> Result<Vec<Suite>, Problem> {
    let mut suites = vec![Suite { name: "hidden".into(), path: workbook.hidden_tests(exercise) }];
    if let Some(dir) = &options.tests_dir {
        if !dir.is_dir() {
            return Err(Problem::usage(
                format!("--tests {}: no such folder", dir.display()),
                "give the folder that holds the instructor's NN-name.rs test files",
            ));
        }
        let file = dir.join(format!("{}.rs", exercise.slug()));
        // No file: this exercise has no instructor tests (verify says so).
        if let Ok(path) = file.canonicalize() {
            suites.push(Suite { name: "instructor".into(), path });
        }
    }
    Ok(suites)
}

/// Build the harness; on a compile error, show it and return None.
pub fn build(workbook: &Workbook, sources: &[Source], suites: &[Suite]) -> Result<Option<PathBuf>, Problem> {
    let started = Instant::now();
    match compile::build_harness(workbook, sources, suites)? {
        Build::Built(harness) => {
            println!("{}", style::dim(&format!("  built with the tests in {}", style::seconds(started.elapsed()))));
            Ok(Some(harness))
        }
        Build::Failed(diagnostics) => {
            println!("{} {}", style::bad(FAIL), style::bad("the code does not compile:"));
            println!();
            println!("{diagnostics}");
            if diagnostics.contains("checker/hidden/") {
                println!("The tests could not call your code the way the exercise describes it:");
                println!("keep the names and signatures of the functions and types as they were given.");
            }
            Ok(None)
        }
    }
}

/// Ask the harness which tests it holds.
pub fn list_tests(harness: &Path) -> Result<Vec<TestId>, Problem> {
    let output = Command::new(harness)
        .arg("--list")
        .output()
        .map_err(|e| Problem::failed(format!("cannot run {}: {e}", harness.display())))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let tests = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (variant, suite, name) = (words.next()?, words.next()?, words.next()?);
            Some(TestId { variant: variant.into(), suite: suite.into(), name: name.into() })
        })
        .collect();
    Ok(tests)
}

/// What a test run means for the learner.
pub fn judge(run: &TestRun, workbook: &Workbook) -> Judgement {
    let main = |record: &&Record| record_pid(record) == run.pid;
    let mut reasons = Vec::new();
    if run.records.iter().any(|r| matches!(r, Record::ChildReturned { .. })) {
        reasons.push("a child your code forked returned from your function into the test, instead of ending: end the child with libc::_exit".to_string());
    }
    let verdict = run.records.iter().filter(main).find(|r| !matches!(r, Record::Fault { .. }));
    match (run.ending, verdict) {
        (Ending::Exited(0), Some(Record::Pass { .. })) => {}
        (Ending::Exited(_), Some(Record::Fail { property, detail, .. })) => {
            reasons.push(format!("property not met: {property}"));
            if !detail.is_empty() {
                reasons.push(detail.clone());
            }
        }
        (Ending::Exited(_), Some(Record::Panic { location, message, .. })) if in_checker(location) => {
            reasons.push(format!("the test itself could not go on: {message}"));
            reasons.push(format!("(at {}: perhaps your code left the process in a state the test did not expect)", workbook.show(Path::new(location))));
        }
        (Ending::Exited(_), Some(Record::Panic { location, message, .. })) => {
            reasons.push(format!("panicked: {message}"));
            reasons.push(format!("at {}", workbook.show(Path::new(location))));
        }
        (Ending::Killed(signal), _) => reasons.push(killed(signal, run)),
        (Ending::TimedOut(limit), _) => reasons.push(format!(
            "timed out after {}: the test and every process it started were killed (an endless loop? waiting for a child that never ends?)",
            style::seconds(limit)
        )),
        (Ending::ForkedWithoutEnd, _) => reasons.push(format!(
            "forked without end: more than {} processes at once, so all of them were killed",
            sandbox::MAX_PROCESSES
        )),
        (Ending::Exited(code), _) => reasons.push(format!(
            "the test process ended with exit status {code} before the test finished: does your code call exit()?"
        )),
    }
    for record in run.records.iter().filter(|r| record_pid(r) != run.pid) {
        if let Record::Panic { message, location, .. } = record {
            reasons.push(format!("a child process panicked: {message} (at {})", workbook.show(Path::new(location))));
        }
    }
    if reasons.is_empty() { Judgement::Pass } else { Judgement::Fail(reasons) }
}

/// True for a place in the hidden tests or the harness, not in the learner's code.
fn in_checker(location: &str) -> bool {
    location.contains("checker/hidden/") || location.contains("checker/harness/")
}

fn record_pid(record: &Record) -> i32 {
    match record {
        Record::Pass { pid }
        | Record::Fail { pid, .. }
        | Record::Panic { pid, .. }
        | Record::Fault { pid, .. }
        | Record::ChildReturned { pid } => *pid,
    }
}

/// "killed by SIGSEGV (SEGV_MAPERR at 0x0): ..." with what that usually means.
fn killed(signal: i32, run: &TestRun) -> String {
    let name = Signal::try_from(signal).map(|s| s.as_str()).unwrap_or("an unknown signal");
    let fault = run.records.iter().find_map(|r| match r {
        Record::Fault { pid, signal: s, code, addr } if *pid == run.pid && *s == signal => Some((*code, *addr)),
        _ => None,
    });
    let how = match fault {
        Some((code, addr)) => format!(" ({} at {addr:#x})", workbook::child::si_code::name(signal, code)),
        None => String::new(),
    };
    let why = match signal {
        libc::SIGSEGV => {
            "the code touched memory it may not: a null or dangling pointer, a page without that permission, or a stack overflow"
        }
        libc::SIGBUS => "the code touched a mapped page with nothing behind it, such as past the end of a mapped file",
        libc::SIGABRT if run.output.contains("memory allocation of") => {
            "an allocation failed: a test may use at most 1 GiB of address space"
        }
        libc::SIGABRT => "the process aborted (a panic that cannot unwind, or abort())",
        libc::SIGXCPU => "it used too much CPU time: an endless loop?",
        libc::SIGXFSZ => "it wrote a file larger than the 64 MiB a test may write",
        libc::SIGKILL => "killed from outside: perhaps the system ran out of memory",
        _ => "a signal ended the test",
    };
    format!("killed by {name}{how}: {why}")
}

/// One line per test, with the reasons and the learner's output under a failure.
fn print_test(test: &TestId, run: &TestRun, judgement: &Judgement, previous_reason: &mut Option<Vec<String>>) {
    let name = if test.suite == "hidden" { test.name.clone() } else { format!("{} (from {})", test.name, test.suite) };
    match judgement {
        Judgement::Pass => println!("  {} {name}", style::good(PASS)),
        Judgement::Fail(reasons) => {
            println!("  {} {name}", style::bad(FAIL));
            if previous_reason.as_ref() == Some(reasons) {
                println!("      {}", style::dim("(the same as above)"));
            } else {
                for reason in reasons {
                    println!("      {reason}");
                }
                *previous_reason = Some(reasons.clone());
            }
        }
    }
    print_output(run);
}

fn print_output(run: &TestRun) {
    if run.output.trim().is_empty() {
        return;
    }
    println!("      {}", style::dim("your code printed:"));
    for line in style::trim_lines(&run.output, 12, 160) {
        println!("        {} {line}", style::dim("│"));
    }
    if run.output_cut > 0 {
        println!("        {}", style::dim(&format!("(output cut: {} more not kept)", style::bytes(run.output_cut))));
    }
}

fn print_done(exercise: &Exercise, progress: &Progress, tests: usize) {
    println!("{}", style::good(&format!("{PASS} All {tests} tests passed: exercise {} is done.", exercise.id())));
    println!("  Progress: {} of {} exercises done.", progress.done_count(), EXERCISES.len());
    println!(
        "  Compare with the reference solution: {}",
        style::command(&format!("cargo workbook solution {}", exercise.id()))
    );
    if let Some(next) = progress.next_unsolved_after(exercise) {
        println!("  Next: {}", style::command(&format!("cargo workbook verify {}", next.id())));
    }
}

fn print_stuck(workbook: &Workbook, exercise: &Exercise, progress: &Progress) {
    let total = hints::count(workbook, exercise);
    let seen = progress.record(exercise).hints_seen;
    let which = match (total, seen) {
        (0, _) => String::new(),
        (total, seen) if seen < total => format!(" (hint {} of {total})", seen + 1),
        (total, _) => format!(" (you have read all {total}; `--all` shows them again)"),
    };
    println!("  Stuck? {}{which}", style::command(&format!("cargo workbook hint {}", exercise.id())));
    println!(
        "  The lesson shows the calls at work: {}",
        style::command(&format!("cargo run -p {}", exercise.lesson()))
    );
}
