//! lesson-04-paging: its normalized output, and the evidence it must show.

mod common;
use common::{assert_has, normalize, page_size, run_lesson};
use regex_lite::Regex;
use workbook::size;

/// What differs between machines or runs in this lesson, beyond addresses and pids:
/// the machine's memory sizes, its THP setting when it is "always" or "madvise"
/// (the lesson asks for huge pages with madvise either way, so the steps are the
/// same), and how many huge pages the kernel found free this time (it may fall
/// back to small pages when memory is fragmented). The test checks those
/// numbers' relation itself before hiding them.
fn hide_machine_sizes(text: &str) -> String {
    let rules = [
        (r"(?m)^(  · (RAM \+ swap|CommitLimit|Committed_AS|asking for)[^:]*): .*$", "$1: [SIZE]"),
        (
            r"(?m)^(  · /sys/kernel/mm/transparent_hugepage/enabled): .*\[(always|madvise)\].*$",
            "$1: [ALWAYS OR MADVISE]",
        ),
        (r"(✓ AnonHugePages of the region \(smaps\)): .*", "$1: [SIZE]"),
        (r"\d+ faults for (\d+) pages \(\d+ huge \+ \d+ small\)", "[N] faults for $1 pages ([N] huge + [N] small)"),
    ];
    rules.iter().fold(text.to_string(), |text, (pattern, with)| {
        Regex::new(pattern).expect("valid pattern").replace_all(&text, *with).into_owned()
    })
}

#[test]
fn faults_arrive_page_by_page_and_overcommit_is_explained() {
    let run = run_lesson("lesson-04-paging", &[]);
    assert_eq!(run.code, Some(0), "lesson failed:\n{}{}", run.stdout, run.stderr);
    let out = &run.stdout;
    let page = page_size();
    assert!(!out.contains('✗'), "a claim did not hold:\n{out}");

    assert_has(out, "✓ pages resident (mincore): 0 of 256");
    assert_has(out, "✓ Rss of the region (smaps): 0 bytes (0 pages)");
    for n in 1..=4 {
        assert_has(out, &format!("✓ after writing page {n}: 1 minor fault, Rss {}", size(n * page)));
    }
    assert_has(out, "✓ writing the other 252 pages: 252 minor faults");
    assert_has(out, &format!("✓ Rss of the region (smaps): {}", size(256 * page)));
    assert_has(out, "✓ pages resident (mincore): 256 of 256");

    assert_has(out, "✓ reading an untouched page: 1 minor fault, reads 0");
    assert_has(out, "✓ Rss of the page after the read (smaps): 0 bytes (0 pages)");
    assert_has(out, "✓ yet it is resident (mincore): the zero page: 1 of 1");
    assert_has(out, &format!("✓ then writing it: 1 more minor fault, Rss {}", size(page)));

    let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    if !thp.is_empty() && !thp.contains("[never]") {
        let counts = Regex::new(r"(\d+) faults for (\d+) pages \((\d+) huge \+ (\d+) small\)").unwrap();
        let c = counts.captures(out).expect("the huge-page step printed its fault count");
        let n = |i: usize| c[i].parse::<usize>().unwrap();
        let (faults, pages, huge, small) = (n(1), n(2), n(3), n(4));
        assert_eq!(pages, 100 * 1024 * 1024 / page);
        assert!(huge > 0 && faults >= huge && faults <= huge + small, "{}", &c[0]);
        assert_has(out, "✓ madvise(MADV_HUGEPAGE) on 100 MiB aligned to a huge page: 0");
    }

    let mode = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").unwrap_or_default();
    let (plain, noreserve) = match mode.trim() {
        "0" => ("ENOMEM", "mapped"), // one mapping larger than RAM + swap is refused, unless MAP_NORESERVE
        "1" => ("mapped", "mapped"), // nothing is refused
        _ => ("ENOMEM", "ENOMEM"),   // "2": twice RAM + swap is far past CommitLimit, NORESERVE or not
    };
    assert_has(out, &format!("overcommit mode (/proc/sys/vm/overcommit_memory): {}", mode.trim()));
    assert_has(out, &format!("✓ mmap without MAP_NORESERVE: {plain}"));
    assert_has(out, &format!("✓ mmap with MAP_NORESERVE: {noreserve}"));

    // THP "never" and overcommit modes 1 and 2 change what the lesson can show,
    // so each keeps its own snapshot; "output" is the common case, in the book.
    let thp_never = thp.is_empty() || thp.contains("[never]");
    assert_has(
        out,
        if thp_never { "All 16 claims held on this machine." } else { "All 20 claims held on this machine." },
    );
    let mut name = String::from("output");
    if thp_never {
        name += "_thp_never";
    }
    if mode.trim() != "0" {
        name += &format!("_overcommit_{}", mode.trim());
    }
    common::lesson_snapshot!(name, hide_machine_sizes(&normalize(out)));
}
