//! The command line every lesson shares: `--help`, `--pause` without a terminal,
//! and a clear one-line error for anything else.

mod common;
use common::{lesson_packages, run_lesson};

#[test]
fn help_describes_the_lesson_and_exits_0() {
    for package in lesson_packages() {
        let run = run_lesson(&package, &["--help"]);
        assert_eq!(run.code, Some(0), "{package} --help");
        assert!(run.stdout.contains(&format!("Usage: cargo run -p {package}")), "{package}:\n{}", run.stdout);
        assert!(run.stdout.contains("--pause"), "{package} --help does not mention --pause");
    }
}

#[test]
fn unknown_arguments_get_one_line_and_a_hint_with_status_2() {
    for package in lesson_packages() {
        for junk in ["--bogus", "100", "-x"] {
            let run = run_lesson(&package, &[junk]);
            assert_eq!(run.code, Some(2), "{package} {junk}: exit status");
            assert!(run.stdout.is_empty(), "{package} {junk} printed to stdout:\n{}", run.stdout);
            let lines: Vec<&str> = run.stderr.lines().collect();
            assert_eq!(lines.len(), 2, "{package} {junk}: expected an error and a hint:\n{}", run.stderr);
            assert_eq!(lines[0], format!("error: unknown argument '{junk}'"));
            assert!(lines[1].starts_with("hint: "), "{package}: {}", lines[1]);
        }
    }
}

#[test]
fn pause_never_waits_without_a_terminal() {
    // stdin is /dev/null here: a lesson that waited for Enter would hang this test.
    for package in lesson_packages() {
        let run = run_lesson(&package, &["--pause"]);
        assert_eq!(run.code, Some(0), "{package} --pause:\n{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("⏸ paused:"), "{package} --pause never paused:\n{}", run.stdout);
        assert!(run.stdout.contains("(not waiting: standard input is not a terminal)"), "{package}");
        assert!(run.stdout.contains("(pid "), "{package} --pause did not print its pid");
    }
}
