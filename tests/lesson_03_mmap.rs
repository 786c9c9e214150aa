//! lesson-03-mmap: its normalized output, and the evidence it must show.

mod common;
use common::{assert_has, normalize, page_size, run_lesson};

#[test]
fn maps_100_mib_and_proves_it() {
    let run = run_lesson("lesson-03-mmap", &[]);
    assert_eq!(run.code, Some(0), "lesson failed:\n{}{}", run.stdout, run.stderr);
    let out = &run.stdout;
    let pages = 100 * 1024 * 1024 / page_size();
    assert!(!out.contains('✗'), "a claim did not hold:\n{out}");
    assert_has(out, "✓ lines that changed in the map: 1 added, 0 removed");
    assert_has(out, "✓ its permissions: rw-p");
    assert_has(out, &format!("✓ its length: 100 MiB (104857600 bytes, {pages} pages)"));
    assert_has(out, &format!("({} bytes, {} pages)", 104857600 + page_size(), pages + 1));
    assert_has(out, &format!("✓ minor page faults while touching = pages touched: {pages} faults for {pages} pages"));
    assert_has(out, "✓ Rss of the region before touching (smaps): 0 bytes (0 pages)");
    assert_has(out, "killed by SIGSEGV (SEGV_MAPERR at 0x");
    assert_has(out, "✓ again at the same, now taken, address: EEXIST");
    assert_has(out, "All 18 claims held on this machine.");
    common::lesson_snapshot!("output", normalize(out));
}
