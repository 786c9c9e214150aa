//! Lesson 04: demand paging. Memory arrives one page fault at a time; huge
//! pages change the count; overcommit decides how much you may be promised.
//!
//! Run it: `cargo run -p lesson-04-paging` (add `-- --pause` to look at
//! `/proc/PID/smaps` yourself while it waits).

use std::process::ExitCode;
use std::ptr;

use libc::{MAP_ANONYMOUS, MAP_FAILED, MAP_NORESERVE, MAP_PRIVATE, PROT_READ, PROT_WRITE, c_void};
use nix::errno::Errno;
use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit};
use workbook::fenced::Fenced;
use workbook::maps::Snapshot;
use workbook::smaps::region_usage;
use workbook::sys::{Faults, page_size};
use workbook::{Lesson, meminfo, size};

const MIB: usize = 1024 * 1024;
/// Pages in the mapping of steps 1 and 2, and how many of them get a line of their own.
const PAGES: usize = 256;
const ROWS: usize = 4;
/// The region of step 4, written with huge pages allowed.
const HUGE_LEN: usize = 100 * MIB;
const THP: &str = "/sys/kernel/mm/transparent_hugepage";

fn main() -> ExitCode {
    let lesson = Lesson::start(
        "lesson-04-paging",
        "Lesson 04 · Demand paging: memory arrives when you touch it",
        "A mapping is a promise. The kernel keeps it one page fault at a time, and only when asked.",
    );
    let page = page_size();
    lesson.show("page size (sysconf _SC_PAGESIZE)", size(page));
    // ANCHOR: thp_off
    // Huge pages would map many pages per fault; steps 1 to 3 count single pages.
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers.
    let thp_off = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } == 0;
    lesson.show(
        "transparent huge pages for this process",
        if thp_off { "off (PR_SET_THP_DISABLE)" } else { "could not turn off" },
    );
    // ANCHOR_END: thp_off

    // ANCHOR: map
    lesson.step(&format!("Map {PAGES} pages: nothing is resident yet"));
    let len = PAGES * page;
    // Fenced: mmap with a PROT_NONE page on each side, so smaps counts this region alone (src/fenced.rs).
    let region = Fenced::map(len, page);
    let memory = region.memory;
    let line = Snapshot::of_self().expect("read /proc/self/maps").find(memory as usize).cloned().expect("mapped");
    lesson.quote("its line in /proc/self/maps:", &line);
    lesson.check("a line of its own", size(line.len()), line.start == memory as usize && line.len() == len);
    let resident = resident_pages(memory, len);
    lesson.check("pages resident (mincore)", format!("{resident} of {PAGES}"), resident == 0);
    lesson.check("Rss of the region (smaps)", size(rss(memory)), rss(memory) == 0);
    // ANCHOR_END: map

    // ANCHOR: touch
    lesson.step("Write to the pages one at a time: one fault, one more page of Rss");
    for n in 1..=ROWS {
        let before = Faults::now();
        // SAFETY: page n-1 lies inside the mapping; volatile so the write really happens.
        unsafe { ptr::write_volatile(memory.cast::<u8>().add((n - 1) * page), 1) };
        let faults = Faults::since(before).minor;
        let rss = rss(memory);
        let held = faults == 1 && rss == n * page;
        lesson.check(&format!("after writing page {n}"), format!("{faults} minor fault, Rss {}", size(rss)), held);
    }
    let before = Faults::now();
    for offset in (ROWS * page..len).step_by(page) {
        // SAFETY: offset < len, inside the mapping.
        unsafe { ptr::write_volatile(memory.cast::<u8>().add(offset), 1) };
    }
    let faults = Faults::since(before).minor;
    let rest = (PAGES - ROWS) as u64;
    lesson.check(&format!("writing the other {rest} pages"), format!("{faults} minor faults"), faults == rest);
    lesson.check("Rss of the region (smaps)", size(rss(memory)), rss(memory) == len);
    let resident = resident_pages(memory, len);
    lesson.check("pages resident (mincore)", format!("{resident} of {PAGES}"), resident == PAGES);
    lesson.pause(
        "every page is written",
        &[format!("grep -A4 {:x} /proc/{}/smaps", memory as usize, std::process::id())],
    );
    drop(region); // munmap
    // ANCHOR_END: touch

    // ANCHOR: zero_page
    lesson.step("Reading is not writing: a read fault maps the shared zero page");
    let fenced = Fenced::map(page, page);
    let one = fenced.memory;
    let before = Faults::now();
    // SAFETY: the page is mapped and readable.
    let byte = unsafe { ptr::read_volatile(one.cast::<u8>()) };
    let faults = Faults::since(before).minor;
    lesson.check("reading an untouched page", format!("{faults} minor fault, reads {byte}"), faults == 1 && byte == 0);
    lesson.check("Rss of the page after the read (smaps)", size(rss(one)), rss(one) == 0);
    let resident = resident_pages(one, page);
    lesson.check("yet it is resident (mincore): the zero page", format!("{resident} of 1"), resident == 1);
    let before = Faults::now();
    // SAFETY: as above; the page is writable too.
    unsafe { ptr::write_volatile(one.cast::<u8>(), 1) };
    let faults = Faults::since(before).minor;
    let held = faults == 1 && rss(one) == page;
    lesson.check("then writing it", format!("{faults} more minor fault, Rss {}", size(rss(one))), held);
    drop(fenced);
    // ANCHOR_END: zero_page

    // ANCHOR: huge
    lesson.step("Transparent huge pages: one fault can map a whole huge page");
    let setting = std::fs::read_to_string(format!("{THP}/enabled")).unwrap_or_default();
    let hpage: usize =
        std::fs::read_to_string(format!("{THP}/hpage_pmd_size")).map_or(0, |s| s.trim().parse().unwrap_or(0));
    lesson.show(
        &format!("{THP}/enabled"),
        if setting.is_empty() { "(missing: no THP in this kernel)" } else { setting.trim() },
    );
    if setting.is_empty() || setting.contains("[never]") || hpage == 0 {
        lesson.say("Huge pages are off for the whole machine, so this step cannot show them here.");
    } else if hpage > HUGE_LEN {
        lesson.say(format!("A huge page here is {}: not even one fits in 100 MiB.", size(hpage)));
    } else {
        lesson.show("huge page size (hpage_pmd_size)", size(hpage));
        // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers.
        let allowed = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 0, 0, 0, 0) } == 0;
        lesson.check("huge pages allowed again for this process (prctl)", allowed, allowed);
        // A huge page must start at a multiple of its size, so the region does too.
        let region = Fenced::map(HUGE_LEN, hpage);
        let huge = region.memory;
        // SAFETY: advice on a range we own; it only changes how the kernel backs it.
        let advised = unsafe { libc::madvise(huge, HUGE_LEN, libc::MADV_HUGEPAGE) };
        lesson.check("madvise(MADV_HUGEPAGE) on 100 MiB aligned to a huge page", advised, advised == 0);
        let before = Faults::now();
        for offset in (0..HUGE_LEN).step_by(page) {
            // SAFETY: offset < HUGE_LEN, inside the aligned mapping.
            unsafe { ptr::write_volatile(huge.cast::<u8>().add(offset), 1) };
        }
        let faults = Faults::since(before).minor as usize;
        let usage =
            region_usage(None, huge as usize).expect("read smaps").expect("a region starts at the aligned address");
        let in_huge = usage.anon_huge_pages as usize;
        let (huge_pages, small_pages) = (in_huge / hpage, (HUGE_LEN - in_huge) / page);
        if in_huge == 0 {
            let defrag = std::fs::read_to_string(format!("{THP}/defrag")).unwrap_or_default();
            lesson.say(format!(
                "No huge page this time ({faults} faults): the kernel found no free block of {}",
                size(hpage)
            ));
            lesson.say(format!("and its defrag setting ({}) decides how hard it tries to make one.", defrag.trim()));
        } else {
            lesson.check("AnonHugePages of the region (smaps)", size(in_huge), in_huge > 0);
            lesson.check(
                "minor faults: one per huge page, at most one per small page",
                format!("{faults} faults for {} pages ({huge_pages} huge + {small_pages} small)", HUGE_LEN / page),
                faults >= huge_pages && faults <= huge_pages + small_pages,
            );
        }
        lesson.pause(
            "100 MiB written with huge pages allowed",
            &[format!("grep -A24 {:x} /proc/{}/smaps", huge as usize, std::process::id())],
        );
        drop(region);
    }
    // ANCHOR_END: huge

    // ANCHOR: overcommit
    lesson.step("Overcommit: ask for twice RAM + swap");
    let mode = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").map_or(String::new(), |s| s.trim().into());
    let mode = if mode.is_empty() { "unreadable".to_string() } else { mode };
    let meminfo = |name| meminfo::field(name).expect("read /proc/meminfo").unwrap_or(0) as usize;
    let ram_and_swap = meminfo("MemTotal") + meminfo("SwapTotal");
    let (limit, committed) = (meminfo("CommitLimit"), meminfo("Committed_AS"));
    let name = ["heuristic", "always", "strict"].get(mode.parse::<usize>().unwrap_or(9)).unwrap_or(&"unknown");
    lesson.show("overcommit mode (/proc/sys/vm/overcommit_memory)", format!("{mode} ({name})"));
    lesson.show("RAM + swap (MemTotal + SwapTotal)", size(ram_and_swap));
    lesson.show("CommitLimit (/proc/meminfo)", size(limit));
    lesson.show("Committed_AS (/proc/meminfo)", size(committed));
    let ask = (2 * ram_and_swap).next_multiple_of(1024 * MIB);
    lesson.show("asking for 2 × (RAM + swap), rounded up", size(ask));
    let try_map = |flags| {
        // SAFETY: a fresh anonymous mapping, unmapped at once if it succeeds.
        let p = unsafe {
            libc::mmap(ptr::null_mut(), ask, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0)
        };
        if p == MAP_FAILED {
            return Errno::last().to_string();
        }
        // SAFETY: unmapping what was just mapped; it was never touched.
        unsafe { libc::munmap(p, ask) };
        "mapped".to_string()
    };
    let (as_limit, _) = getrlimit(Resource::RLIMIT_AS).expect("getrlimit(RLIMIT_AS)");
    if !["0", "1", "2"].contains(&mode.as_str()) {
        lesson.say("The overcommit mode cannot be read here, so the lesson cannot say what to expect: skipped.");
    } else if as_limit != RLIM_INFINITY && as_limit < ask as u64 {
        lesson
            .say(format!("`ulimit -v` caps this process at {}: that would refuse it first.", size(as_limit as usize)));
    } else {
        let plain_ok = mode == "1" || (mode == "2" && ask <= limit.saturating_sub(committed));
        let plain = try_map(0);
        lesson.check("mmap without MAP_NORESERVE", &plain, (plain == "mapped") == plain_ok);
        let noreserve = try_map(MAP_NORESERVE);
        lesson.check("mmap with MAP_NORESERVE", &noreserve, (noreserve == "mapped") == (mode != "2" || plain_ok));
    }
    lesson.say("Mode 0 refuses only one mapping larger than RAM + swap, and MAP_NORESERVE skips even that.");
    lesson.say("Mode 1 refuses nothing. Mode 2 refuses whatever would take Committed_AS past CommitLimit,");
    lesson.say(format!("MAP_NORESERVE or not. This machine is in mode {mode}."));
    // ANCHOR_END: overcommit

    lesson.finish()
}

// ANCHOR: mincore
/// How many pages of the `len` bytes at `start` are resident in RAM, from mincore(2).
fn resident_pages(start: *mut c_void, len: usize) -> usize {
    let mut flags = vec![0u8; len.div_ceil(page_size())];
    // SAFETY: `flags` has one byte per page of the range, as mincore requires.
    let rc = unsafe { libc::mincore(start, len, flags.as_mut_ptr()) };
    assert_eq!(rc, 0, "mincore failed: {}", Errno::last());
    flags.iter().filter(|&&f| f & 1 == 1).count()
}
// ANCHOR_END: mincore

/// Rss of the region that starts at `start`, in bytes, from /proc/self/smaps.
fn rss(start: *mut c_void) -> usize {
    let usage = region_usage(None, start as usize).expect("read /proc/self/smaps");
    usage.expect("a region of its own starts at this address").rss as usize
}
