//! lesson-08-mlock: its normalized output, and the evidence it must show.
//!
//! As root (with CAP_IPC_LOCK) the lesson also shows the limit being bypassed,
//! so root and an ordinary user each have their own snapshot: "output" (the
//! ordinary user's, shown in the book) and "output_as_root".

mod common;
use common::{assert_has, is_root, normalize, page_size, run_lesson};

#[test]
fn locks_within_the_limit_and_fails_past_it() {
    let run = run_lesson("lesson-08-mlock", &[]);
    assert_eq!(run.code, Some(0), "lesson failed:\n{}{}", run.stdout, run.stderr);
    let out = &run.stdout;
    let page = size(page_size());
    let limit = size(64 * 1024);
    let limit_and_a_page = size(64 * 1024 + page_size());
    assert!(!out.contains('✗'), "a claim did not hold:\n{out}");
    assert_has(out, "✓ memory locked so far (VmLck in /proc/self/status): 0 bytes (0 pages)");
    assert_has(out, &format!("✓ VmLck now: {page}"));
    assert_has(out, &format!("starts {} bytes below the byte, {page} long", page_size() / 2));
    assert_has(out, &format!("✓ Locked of that line in /proc/self/smaps: {page}"));
    assert_has(out, &format!("✓ the parent's VmLck: {page}"));
    assert_has(out, "✓ the child's VmLck (/proc/CHILD/status): 0 bytes (0 pages)");
    assert_has(out, "✓ the child's Locked for the same page (smaps): 0 bytes (0 pages)");
    assert_has(out, &format!("Each child first sets its own limit to {limit} with setrlimit."));
    assert_has(out, &format!("✓ mlock of {limit}, all the limit allows: ok"));
    assert_has(out, "✓ mlock of one page more: ENOMEM");
    assert_has(out, &format!("✓ VmLck, unchanged: {limit}"));
    assert_has(out, "✓ VmLck after munlock: 0 bytes (0 pages)");
    if is_root() {
        assert_has(out, "(CapEff bit 14): yes");
        assert_has(out, "✓ mlock of one page more: CAP_IPC_LOCK bypasses the limit: ok");
        assert_has(out, &format!("✓ VmLck, above the limit: {limit_and_a_page}"));
        assert_has(out, "✓ dropped CAP_IPC_LOCK with capset: ok");
        assert_has(out, "All 12 claims held on this machine.");
        insta::assert_snapshot!("output_as_root", normalize(out));
    } else {
        assert_has(out, "(CapEff bit 14): no");
        assert_has(out, "All 11 claims held on this machine.");
        insta::assert_snapshot!("output", normalize(out));
    }
}

fn size(bytes: usize) -> String {
    workbook::size(bytes)
}
