//! lesson-02-maps: its normalized output, and the evidence it must show.

mod common;
use common::{assert_has, normalize, page_size, run_lesson};
use regex_lite::Regex;

/// What differs between builds of the lesson or between machines, beyond what
/// `normalize` hides: the executable's path, device and inode, the file offset
/// and length of its code (they change with every edit of the code), the inode
/// of the shared page, and which areas the kernel names (`[vsyscall]` only on
/// x86_64, `[vvar_vclock]` only on newer kernels).
fn normalize_lesson_02(text: &str) -> String {
    let rules = [
        // a quoted maps line of the executable: offset, device, inode and path vary by build and machine
        (
            r"([rwxsp-]{4}) [0-9a-f]{8} [0-9a-f]{2}:[0-9a-f]{2} \d+ /\S*lesson-02-maps",
            "$1 [OFFSET] [DEV] [INODE] [EXE]",
        ),
        // the shared page: an inode of the kernel's internal shmem filesystem
        (r"[0-9a-f]{2}:[0-9a-f]{2} \d+ /dev/zero", "[DEV] [INODE] /dev/zero"),
        // step 2, one field per line
        (r"(· start-end: \[ADDR\]-\[ADDR\] — ).*(, end excluded)", "$1[LENGTH]$2"),
        (r"(· offset: )[0-9a-f]{8}", "$1[OFFSET]"),
        (r"(· device: )[0-9a-f]{2}:[0-9a-f]{2}", "$1[DEV]"),
        (r"(· inode: )\d+", "$1[INODE]"),
        (r"(· path: )/\S*lesson-02-maps", "$1[EXE]"),
        (r"(· areas the kernel named in this map: ).*", "$1[NAMED AREAS]"),
    ];
    rules.iter().fold(text.to_string(), |text, (pattern, with)| {
        Regex::new(pattern).expect("valid pattern").replace_all(&text, *with).into_owned()
    })
}

/// The tour line for `what` held its claim and names the expected kind of line.
#[track_caller]
fn assert_tour_stop(out: &str, what: &str, line: &str) {
    let found = out.lines().find(|l| l.contains(what)).unwrap_or_else(|| panic!("no tour stop {what:?}:\n{out}"));
    assert!(found.starts_with("  ✓ ") && found.ends_with(line), "tour stop {what:?} should end in {line:?}: {found}");
}

#[test]
fn tours_the_address_space_and_proves_it() {
    let run = run_lesson("lesson-02-maps", &[]);
    assert_eq!(run.code, Some(0), "lesson failed:\n{}{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(!out.contains('✗'), "a claim did not hold:\n{out}");
    assert_tour_stop(out, "a function (main)", "r-xp the executable");
    assert_tour_stop(out, "a string literal", "r--p the executable");
    assert_tour_stop(out, "an initialized static (.data)", "rw-p the executable");
    assert_tour_stop(out, "a zeroed static (.bss)", "rw-p anonymous");
    assert_tour_stop(out, "a 64-byte Box", "rw-p [heap]");
    assert_tour_stop(out, "a 1 MiB Vec", "rw-p anonymous");
    assert_tour_stop(out, "a local variable", "rw-p [stack]");
    assert_tour_stop(out, "the vdso (getauxval AT_SYSINFO_EHDR)", "r-xp [vdso]");
    let named = out.lines().find(|l| l.contains("areas the kernel named")).expect("named areas line");
    for area in ["[heap]", "[stack]", "[vdso]"] {
        assert!(named.contains(area), "{area} missing from {named}");
    }
    assert_has(out, "· perms: r-xp — read, no write, execute, private");
    assert_has(out, "✓ start, end and offset are whole pages: yes");
    assert_has(out, "✓ the MAP_SHARED page's line ends in s: rw-s");
    assert_has(out, "✓ the code is not writable: r-xp");
    assert_has(out, "✓ the stack is not executable: rw-p");
    assert_has(out, "✓ a child that writes into main(): killed by SIGSEGV (SEGV_ACCERR at 0x");
    assert_has(out, "✓ a child that jumps to bytes on its stack: killed by SIGSEGV (SEGV_ACCERR at 0x");
    assert_has(out, "✓ blocks inside [heap]: 256 of 256");
    assert_has(out, "✓ the block is in an anonymous line: rw-p anonymous");
    let page = page_size();
    let grown = (1024 * 1024 + 16usize).div_ceil(page) * page; // 1 MiB plus glibc's 16-byte header, in pages
    assert_has(out, &format!("whole pages: {} KiB ({grown} bytes, {} pages)", grown / 1024, grown / page));
    assert_has(out, "All 21 claims held on this machine.");
    common::lesson_snapshot!("output", normalize_lesson_02(&normalize(out)));
}
