//! lesson-08-mlock: its normalized output, and the evidence it must show.
//!
//! As root (with CAP_IPC_LOCK) the lesson also shows the limit being bypassed,
//! so root and an ordinary user each have their own snapshot: "output" (the
//! ordinary user's, shown in the book) and "output_as_root".

//!
//! The lesson's own RLIMIT_MEMLOCK (step 1) is the machine's `ulimit -l`: 64 KiB
//! for many users, 8 MiB on many desktops. The test checks that those lines
//! report this process's real limits, then hides the numbers in the snapshot;
//! every child sets its own limit, so the evidence after step 1 is the same
//! on every machine.

mod common;
use common::{assert_has, is_root, normalize, page_size, run_lesson};
use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit};
use regex_lite::Regex;

#[test]
fn locks_within_the_limit_and_fails_past_it() {
    let run = run_lesson("lesson-08-mlock", &[]);
    assert_eq!(run.code, Some(0), "lesson failed:\n{}{}", run.stdout, run.stderr);
    let out = &run.stdout;
    let page = size(page_size());
    let limit = size(64 * 1024);
    let limit_and_a_page = size(64 * 1024 + page_size());
    assert!(!out.contains('✗'), "a claim did not hold:\n{out}");
    let (soft, hard) = getrlimit(Resource::RLIMIT_MEMLOCK).expect("getrlimit(RLIMIT_MEMLOCK)");
    assert_has(out, &format!("soft limit, the one enforced (ulimit -Sl): {}", limit_text(soft)));
    assert_has(out, &format!("hard limit, the ceiling for the soft one (ulimit -Hl): {}", limit_text(hard)));
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
        common::lesson_snapshot!("output_as_root", hide_own_limit(&normalize(out)));
    } else {
        assert_has(out, "(CapEff bit 14): no");
        assert_has(out, "All 11 claims held on this machine.");
        common::lesson_snapshot!("output", hide_own_limit(&normalize(out)));
    }
}

fn size(bytes: usize) -> String {
    workbook::size(bytes)
}

/// How the lesson prints a limit: a size, or "unlimited".
fn limit_text(limit: u64) -> String {
    if limit == RLIM_INFINITY { "unlimited".to_string() } else { size(limit as usize) }
}

/// The machine's `ulimit -l` (checked above against getrlimit) becomes [LIMIT].
fn hide_own_limit(text: &str) -> String {
    let limit = Regex::new(r"(?m)^(  · RLIMIT_MEMLOCK (soft|hard) limit[^:]*): .*$").expect("valid pattern");
    limit.replace_all(text, "$1: [LIMIT]").into_owned()
}
