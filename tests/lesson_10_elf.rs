//! lesson-10-elf: its normalized output, and the evidence it must show.

mod common;
use common::{assert_has, normalize, run_lesson};
use regex_lite::Regex;

/// The lesson's own file offsets, vaddrs and sizes change with every edit of
/// its code (and of the workbook library it links); `sleep`'s differ between
/// machines. Those numbers are hidden here, on the lines that print them; the
/// relations between them are the evidence, and every one is a ✓ line kept in
/// the snapshot. Also hidden: device, inode and directory of the two files.
fn normalize_lesson_10(text: &str) -> String {
    let per_build_line = Regex::new(concat!(
        r"^  (· entry point in the file \(e_entry\)|\.\S+ +vaddr |LOAD \d+ \(|PT_GNU_RELRO covers |last PT_LOAD: )",
        r"|offset rounded down to a page = maps offset: ",
    ))
    .unwrap();
    let number = Regex::new(r"\[ADDR\]|0x[0-9a-f]+").unwrap();
    let maps_columns =
        Regex::new(r"([rwxsp-]{4}) [0-9a-f]{8} [0-9a-f]{2}:[0-9a-f]{2} \d+ /\S*/(lesson-10-elf|sleep)$").unwrap();
    let file = Regex::new(r"(· file: )/\S*/").unwrap();
    let lines = text.lines().map(|line| {
        let line = if per_build_line.is_match(line) { number.replace_all(line, "[N]") } else { line.into() };
        let line = maps_columns.replace_all(&line, "$1 [OFFSET] [DEV] [INODE] .../$2");
        file.replace_all(&line, "$1.../").into_owned()
    });
    lines.collect::<Vec<_>>().join("\n") + "\n"
}

#[test]
fn matches_elf_segments_to_the_map() {
    let run = run_lesson("lesson-10-elf", &[]);
    assert_eq!(run.code, Some(0), "lesson failed:\n{}{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(!out.contains('✗'), "a claim did not hold:\n{out}");
    assert_has(out, "✓ the first four bytes are the ELF magic \\x7fELF: 7f 45 4c 46");
    assert_eq!(out.matches("ET_DYN — a position-independent executable (PIE)").count(), 2, "both are PIEs:\n{out}");
    // Every PT_LOAD of both files: start, offset and permissions each checked against its maps line.
    let loads = out.lines().filter(|l| l.starts_with("  LOAD ")).count();
    assert!(loads >= 6, "expected the PT_LOADs of two files:\n{out}");
    for claim in [
        "✓ bias + vaddr, rounded down to a page = start of its line: 0x",
        "✓ offset rounded down to a page = maps offset: 0x",
        "✓ flags = permissions, RELRO pages without w: r",
    ] {
        assert_eq!(out.matches(claim).count(), loads, "{claim:?} once per PT_LOAD:\n{out}");
    }
    assert_eq!(out.matches("✓ its pages, RW in the file, are read-only after relocation: r--p").count(), 2);
    assert_has(out, "the bss ends in rw-p memory right after the file's pages: rw-p anonymous");
    assert_has(out, "    the bss past the file: ");
    assert_eq!(out.matches("✓ AT_ENTRY (the runtime entry) = bias + e_entry: 0x").count(), 2);
    assert_eq!(out.matches("✓ the entry point is in executable code: r-xp").count(), 2);
    assert_has(out, "✓ ld.so's way: AT_PHDR − PT_PHDR's vaddr = the same bias: 0x");
    assert_has(out, "✓ sleep, killed and reaped: killed by SIGKILL, its /proc entry gone");
    assert_has(out, "All 37 claims held on this machine.");
    common::lesson_snapshot!("output", normalize_lesson_10(&normalize(out)));
}
