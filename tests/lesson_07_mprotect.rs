//! lesson-07-mprotect: its normalized output, and the evidence it must show.

mod common;
use common::{assert_has, normalize, run_lesson};

#[test]
fn guard_page_and_read_only_page_fault_with_segv_accerr() {
    let run = run_lesson("lesson-07-mprotect", &[]);
    assert_eq!(run.code, Some(0), "lesson failed:\n{}{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(!out.contains('✗'), "a claim did not hold:\n{out}");
    assert_has(out, "✓ after mmap, our pages in /proc/self/maps: rw-p (5 pages)");
    assert_has(out, "✓ after mprotect, the kernel split them into two lines: rw-p (4 pages) | ---p (1 page)");
    assert_has(out, "✓ a child that writes the buffer's last byte: exited with status 0");
    assert_has(out, "✓ a child that writes buffer[len]: killed by SIGSEGV (SEGV_ACCERR at 0x");
    assert_has(out, "✓ si_addr minus the guard page's address: 0 bytes");
    assert_has(out, "✓ a child that only reads buffer[len]: killed by SIGSEGV (SEGV_ACCERR at 0x");
    assert_has(out, "✓ compare: a child that writes through a null pointer: killed by SIGSEGV (SEGV_MAPERR at 0x0)");
    assert_has(out, "rw-p (1 page) | r--p (1 page) | rw-p (2 pages) | ---p (1 page)");
    assert_has(out, "✓ a child that writes byte 100 of it: killed by SIGSEGV (SEGV_ACCERR at 0x");
    assert_has(out, "✓ back to PROT_READ|PROT_WRITE: the lines merge again: rw-p (4 pages) | ---p (1 page)");
    assert_has(out, "not page-aligned: EINVAL");
    assert_has(out, "✓ mprotect on the same range after munmap: ENOMEM");
    assert_has(out, "✓ the stack is not executable (no x): rw-p");
    assert_has(out, "All 16 claims held on this machine.");
    common::lesson_snapshot!("output", normalize(out));
}
