//! lesson-09-smaps: its normalized output, and the evidence it must show.
//!
//! The lesson prints its own regions in pages (exact, the same on every run)
//! and figures that depend on the rest of the machine (the C library's code,
//! whole-process totals) in kB, as the kernel does. Those kB figures change
//! from run to run, so this test hides them after checking the claims about them.

mod common;
use common::{assert_has, normalize, run_lesson};
use regex_lite::Regex;

#[test]
fn pss_divides_shared_pages_among_the_processes() {
    let run = run_lesson("lesson-09-smaps", &[]);
    assert_eq!(run.code, Some(0), "lesson failed:\n{}{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(!out.contains('✗'), "a claim did not hold:\n{out}");
    // One process: every page Private, even in the MAP_SHARED region.
    assert_has(out, "✓ MAP_SHARED region: Rss 16 · Pss 16 · Shared_Dirty 0 · Private_Dirty 16 pages");
    // Four processes: Pss = Rss / 4 in each, the Pss add up to the 16 pages that exist.
    for who in ["parent", "child 1 (pid", "child 2 (pid", "child 3 (pid"] {
        assert_has(out, &format!("✓ {who}"));
    }
    let quarter = "Rss 16 · Pss 4 · Shared_Dirty 16 · Private_Dirty 0 pages";
    assert_eq!(out.matches(quarter).count(), 4, "Pss = Rss / 4 in all four processes:\n{out}");
    assert_has(out, "✓ Rss of the 4 added up: each page counted 4 times: 64 pages");
    assert_has(out, "✓ Pss of the 4 added up: each page counted once: 16 pages");
    // Private copies: 4 whole pages plus a quarter of 12 shared ones.
    let split = "Rss 16 · Pss 7 · Shared_Dirty 12 · Private_Dirty 4 pages";
    assert_eq!(out.matches(split).count(), 4, "Pss = 4 + 12 / 4 in all four processes:\n{out}");
    assert_has(out, "✓ Pss of the 4 added up: the pages that exist: 28 pages = 4 × 4 copies + 12 shared pages");
    // Clean file pages, totals, and the parent alone again.
    assert_has(out, "✓ the region that holds getpid (the C library's code): r-xp, mapped from a file");
    assert_has(out, "✓ pages written since they were read from the file (Dirty): 0 pages");
    assert_has(out, "✓ children that exited with status 0: 3");
    let alone = "Rss 16 · Pss 16 · Shared_Dirty 0 · Private_Dirty 16 pages";
    assert_eq!(out.matches(alone).count(), 4, "before fork and after the children exit:\n{out}");
    assert_has(out, "All 22 claims held on this machine.");
    // The machine-dependent figures, all in kB: hidden after the claims above checked them.
    let kb = Regex::new(r"\b\d+ kB\b").unwrap();
    common::lesson_snapshot!("output", kb.replace_all(&normalize(out), "[N] kB"));
}
