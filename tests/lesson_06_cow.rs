//! lesson-06-cow: its normalized output, and the evidence it must show.
//!
//! Physical frame numbers in /proc/PID/pagemap are readable only with
//! CAP_SYS_ADMIN, so root sees two more claims (the same frame before the
//! write, a new one after) and keeps its own snapshot, "output_as_root".

mod common;
use common::{assert_has, is_root, normalize, page_size, run_lesson};
use regex_lite::Regex;

#[test]
fn fork_shares_pages_until_a_write_copies_them() {
    let run = run_lesson("lesson-06-cow", &[]);
    assert_eq!(run.code, Some(0), "lesson failed:\n{}{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(!out.contains('✗'), "a claim did not hold:\n{out}");
    // Before fork: the parent's own pages.
    assert_has(out, "✓ page 0 in /proc/self/pagemap: present, exclusively mapped");
    assert_has(out, "✓ smaps of the region: Rss 16 · Pss 16 · Shared_Dirty 0 · Private_Dirty 16 pages");
    // After fork: shared by both, Pss halved.
    assert_has(out, "✓ page 0 in the child's pagemap: present, not exclusive (mapped more than once)");
    let shared = "Rss 16 · Pss 8 · Shared_Dirty 16 · Private_Dirty 0 pages";
    assert_has(out, &format!("✓ smaps of the region in the parent: {shared}"));
    assert_has(out, &format!("✓ smaps of the region in the child: {shared}"));
    // After the child's write of 4 pages: exactly 4 copies, one fault each.
    assert_has(out, "parent reads 'P', child reads 'C'");
    assert_has(out, "✓ minor faults in the child while it wrote 4 pages: 4");
    assert_has(out, "✓ page 0 in the child's pagemap: present, exclusively mapped");
    assert_has(out, "✓ page 4, which nobody wrote, in the child's pagemap: present, not exclusive");
    let split = "Rss 16 · Pss 10 · Shared_Dirty 12 · Private_Dirty 4 pages";
    assert_has(out, &format!("✓ smaps of the region in the parent: {split}"));
    assert_has(out, &format!("✓ smaps of the region in the child: {split}"));
    assert_has(out, "✓ the child: exited with status 0");
    // fork is cheap; exec starts from a fresh map.
    let big_pages = 128 * 1024 * 1024 / page_size();
    assert_has(out, &format!("every page written: 128 MiB (134217728 bytes, {big_pages} pages)"));
    assert_has(out, "✓ fork + _exit + waitpid (median of 3) beat mmap + memcpy of 128 MiB");
    assert_has(out, "✓ lines with the 16-page region's range in cat's map: 0");
    assert_has(out, "✓ lines of this lesson's executable (mapped here) in cat's map: 0");
    assert_has(out, "✓ lines of cat's own executable in cat's map: present");

    if is_root() {
        assert_has(out, "✓ page 0 is one physical frame for both: parent frame 0x");
        assert_has(out, "✓ the child's page 0 is a new frame: parent frame 0x");
        assert_has(out, "All 23 claims held on this machine.");
        // Frame numbers change on every run; the claims above checked them.
        let frame = Regex::new(r"frame (0x[0-9a-f]+|\[ADDR\])").unwrap();
        common::lesson_snapshot!("output_as_root", frame.replace_all(&normalize(out), "frame [PFN]"));
    } else {
        assert_has(out, "· physical frame numbers: hidden: they read as 0 without CAP_SYS_ADMIN");
        assert_has(out, "All 21 claims held on this machine.");
        common::lesson_snapshot!("output", normalize(out));
    }
}
