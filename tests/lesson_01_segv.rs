//! lesson-01-segv: its normalized output, and the evidence it must show.

mod common;
use common::{assert_has, normalize, run_lesson};
use regex_lite::Regex;

#[test]
fn a_null_write_dies_of_sigsegv_and_says_why() {
    let run = run_lesson("lesson-01-segv", &[]);
    assert_eq!(run.code, Some(0), "lesson failed:\n{}{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(!out.contains('✗'), "a claim did not hold:\n{out}");
    assert_has(out, "child │ before invalid access");
    assert!(!out.contains("child │ after invalid access"), "the line after the fault was printed:\n{out}");
    assert_has(out, "✓ the child was killed by: killed by SIGSEGV (SEGV_MAPERR at 0x0)");
    assert_has(out, "✓ si_code says there is no mapping at that address: SEGV_MAPERR");
    assert_has(out, "✓ si_addr, the address the write touched: 0x0");
    // The tests run a debug build, where Rust checks raw-pointer dereferences for null.
    assert_has(out, "child │ panicked: null pointer dereference occurred");
    assert_has(out, "✓ Rust's debug null check stopped it before the MMU could: killed by SIGABRT");
    assert_has(out, "✓ the step 1 child wrote a core dump: false");
    assert_has(out, r#"✓ print! then std::process::exit: the text arrives: "text without a newline""#);
    assert_has(out, "✓ print! then _exit: the text is lost: nothing arrived");
    assert_has(out, "✓ print! then killed by SIGKILL: the text is lost: nothing arrived");
    assert_has(out, "All 10 claims held on this machine.");
    common::lesson_snapshot!("output", machine_settings_hidden(&normalize(out)));
}

/// The shell's core limit and the system's core_pattern are this machine's settings, not the lesson's evidence.
fn machine_settings_hidden(text: &str) -> String {
    let limit = Regex::new(r"(core file size limit \(ulimit -c\)): .*").unwrap();
    let pattern = Regex::new(r"(where cores go \(/proc/sys/kernel/core_pattern\)): .*").unwrap();
    let text = limit.replace(text, "$1: [THIS MACHINE'S LIMIT]");
    pattern.replace(&text, "$1: [THIS MACHINE'S PATTERN]").into_owned()
}
