//! Lesson 09: what smaps says about memory that several processes share.
//! Rss counts every page a process maps; Pss divides each page among the
//! processes that map it, so the Pss of all of them adds up to what exists.
//!
//! Run it: `cargo run -p lesson-09-smaps` (add `-- --pause` to read the four
//! processes' smaps yourself from another terminal).

use std::fs::File;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::ptr;

use libc::{MAP_ANONYMOUS, MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, pipe2};
use workbook::Lesson;
use workbook::child::flush_stdio;
use workbook::fenced::Fenced;
use workbook::maps::{Backing, Snapshot};
use workbook::smaps::{Usage, region_usage, rollup};
use workbook::sys::page_size;

const PAGES: usize = 16;
const WRITTEN: usize = 4;
const CHILDREN: usize = 3;

fn main() -> ExitCode {
    let lesson = Lesson::start(
        "lesson-09-smaps",
        "Lesson 09 · smaps: Rss, Pss, and who shares what",
        "Rss counts every page a process maps; Pss splits each page among the processes that map it.",
    );
    let page = page_size();
    lesson.show("page size (sysconf _SC_PAGESIZE)", workbook::size(page));
    // Transparent huge pages would make some pages 2 MiB; this lesson counts single pages.
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers. Children inherit the setting.
    let thp_off = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } == 0;
    lesson.show("transparent huge pages for this process", if thp_off { "off (PR_SET_THP_DISABLE)" } else { "on" });
    let (n, w, all) = (PAGES as f64, WRITTEN as f64, (CHILDREN + 1) as f64);

    // ANCHOR: map
    lesson.step("Two regions of 16 written pages, in one process");
    // SAFETY: a fresh shared anonymous mapping; nothing else refers to it yet.
    let shared =
        unsafe { libc::mmap(ptr::null_mut(), PAGES * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) };
    assert_ne!(shared, MAP_FAILED, "mmap(MAP_SHARED | MAP_ANONYMOUS) failed: {}", Errno::last());
    let shared = shared.cast::<u8>();
    // Fenced: private anonymous memory with a PROT_NONE page on each side, so smaps counts it alone.
    let private_region = Fenced::map(PAGES * page, page);
    let private = private_region.memory.cast::<u8>();
    write_pages(shared, PAGES, b'S');
    write_pages(private, PAGES, b'P');
    lesson.say("smaps calls a page Shared when it is mapped more than once (here: by more than one process),");
    lesson
        .say("and Private otherwise, so with one process even MAP_SHARED pages are Private. Written pages are Dirty.");
    check_smaps(&lesson, "MAP_SHARED region", None, shared, [n, n, 0.0, n]);
    check_smaps(&lesson, "MAP_PRIVATE region", None, private, [n, n, 0.0, n]);
    // ANCHOR_END: map

    // ANCHOR: fork
    lesson.step("Fork 3 children; each reads the shared pages and writes 4 private ones");
    let (mut ready_read, ready_write) = pipe();
    let (release_read, release_write) = pipe();
    let mut children: Vec<Pid> = Vec::new();
    for _ in 0..CHILDREN {
        flush_stdio();
        // SAFETY: the lesson is single-threaded; the child runs child_life, which ends in _exit.
        match unsafe { fork() }.expect("fork failed: out of processes or memory?") {
            ForkResult::Child => {
                drop(release_write); // so that the parent's close is the end of file
                child_life(shared, private, ready_write, release_read)
            }
            ForkResult::Parent { child } => children.push(child),
        }
    }
    drop((ready_write, release_read));
    ready_read.read_exact(&mut [0u8; CHILDREN]).expect("every child says it is ready");
    write_pages(private, WRITTEN, b'C'); // the parent writes the same 4 pages as each child
    lesson.say("all 3 children are ready and wait on a pipe; the parent has written its 4 pages too");
    let mut processes = vec![("parent".to_string(), None)];
    for (i, child) in children.iter().enumerate() {
        processes.push((format!("child {} (pid {child})", i + 1), Some(child.as_raw())));
    }
    let pids: Vec<String> = children.iter().map(|c| format!("/proc/{c}/smaps")).collect();
    let inspect = format!("grep -A10 {:x} /proc/{}/smaps {}", shared as usize, std::process::id(), pids.join(" "));
    lesson.pause("4 processes map the shared region", &[inspect]);
    // ANCHOR_END: fork

    // ANCHOR: shared
    lesson.step("The MAP_SHARED region: Pss = Rss / 4 in every process");
    let mut sums = [0.0; 2];
    for (who, pid) in &processes {
        let [rss, pss, ..] = check_smaps(&lesson, who, *pid, shared, [n, n / all, n, 0.0]);
        sums = [sums[0] + rss, sums[1] + pss];
    }
    lesson.check("Rss of the 4 added up: each page counted 4 times", pages(sums[0]), sums[0] == all * n);
    lesson.check("Pss of the 4 added up: each page counted once", pages(sums[1]), sums[1] == n);
    // ANCHOR_END: shared

    // ANCHOR: private
    lesson.step("The MAP_PRIVATE region: 4 private copies each, 12 pages still shared");
    let mut pss_sum = 0.0;
    for (who, pid) in &processes {
        // Pss: its own 4 copies count whole, the 12 pages shared by all 4 count a quarter.
        pss_sum += check_smaps(&lesson, who, *pid, private, [n, w + (n - w) / all, n - w, w])[1];
    }
    let exist = all * w + (n - w);
    let text = format!("{} = 4 × 4 copies + 12 shared pages", pages(pss_sum));
    lesson.check("Pss of the 4 added up: the pages that exist", text, pss_sum == exist);
    // ANCHOR_END: private

    // ANCHOR: clean
    lesson.step("Clean pages: the C library's code");
    let getpid = libc::getpid as *const () as usize;
    let map = Snapshot::of_self().expect("read /proc/self/maps");
    let code = map.find(getpid).expect("getpid is mapped");
    let u = region_usage(None, code.start).expect("read smaps").expect("the code region has an smaps entry");
    let from_file = matches!(code.backing, Backing::File { .. });
    let what = format!("{}, mapped from {}", code.perms, if from_file { "a file" } else { "no file" });
    lesson.check("the region that holds getpid (the C library's code)", what, from_file && code.perms.exec);
    lesson.show("its smaps", kb_columns(&u));
    let dirty = (u.shared_dirty + u.private_dirty) as f64 / page as f64;
    lesson.check("pages written since they were read from the file (Dirty)", pages(dirty), dirty == 0.0);
    let clean = u.shared_clean + u.private_clean;
    lesson.check("Shared_Clean + Private_Clean = Rss", format!("{} = {}", kb(clean), kb(u.rss)), clean == u.rss);
    let text = format!("Pss {} < Rss {}", kb(u.pss), kb(u.rss));
    lesson.check("other processes run the same pages, so Pss < Rss", text, u.pss < u.rss);
    // ANCHOR_END: clean

    // ANCHOR: rollup
    lesson.step("The totals: /proc/PID/smaps_rollup");
    // smaps_rollup came in Linux 4.14; a sandbox may hide it. Say so rather than stop.
    match (rollup(None), rollup(Some(children[0].as_raw()))) {
        (Ok(total), Ok(child_total)) => {
            lesson.show("smaps_rollup of the parent", kb_columns(&total));
            let text = format!("Pss {} < Rss {}", kb(total.pss), kb(total.rss));
            lesson.check("the parent shares pages with its children: Pss < Rss", text, total.pss < total.rss);
            // A waiting child changes nothing in its map, so its two files describe the same moment.
            let sum = rss_of_every_region(children[0].as_raw());
            let text = format!("{} = {}", kb(child_total.rss), kb(sum));
            lesson.check("child 1: smaps_rollup Rss = the Rss of all its smaps entries", text, child_total.rss == sum);
        }
        (Err(e), _) | (_, Err(e)) => lesson.show("smaps_rollup", format!("cannot be read here ({e}): skipped")),
    }
    // ANCHOR_END: rollup

    // ANCHOR: release
    lesson.step("Release the children: the parent is alone again");
    drop(release_write); // end of file for every child: they exit
    let endings: Vec<WaitStatus> = children.iter().map(|&c| waitpid(c, None).expect("waitpid on a child")).collect();
    let exited = endings.iter().filter(|e| matches!(e, WaitStatus::Exited(_, 0))).count();
    lesson.check("children that exited with status 0", exited, exited == CHILDREN);
    check_smaps(&lesson, "MAP_SHARED region", None, shared, [n, n, 0.0, n]);
    check_smaps(&lesson, "MAP_PRIVATE region", None, private, [n, n, 0.0, n]);
    // SAFETY: unmapping the shared region; no process uses it any more.
    unsafe { libc::munmap(shared.cast(), PAGES * page) };
    // ANCHOR_END: release

    lesson.finish()
}

// ANCHOR: child
/// A child's life: read every shared page (fork copied none of their page table
/// entries: the kernel fills them in on first touch), write its own copy of
/// WRITTEN private pages, say it is ready, and wait for the end of the pipe.
fn child_life(shared: *mut u8, private: *mut u8, mut ready: File, mut release: File) -> ! {
    for i in 0..PAGES {
        // SAFETY: inside the shared region the child inherited.
        unsafe { ptr::read_volatile(shared.add(i * page_size())) };
    }
    write_pages(private, WRITTEN, b'C');
    let _ = ready.write_all(b"r");
    let _ = release.read(&mut [0u8]); // returns when the parent closes its end
    // SAFETY: _exit ends only the child, without running the parent's cleanup.
    unsafe { libc::_exit(0) }
}
// ANCHOR_END: child

/// Write `byte` to the first byte of `count` pages from `memory`.
fn write_pages(memory: *mut u8, count: usize, byte: u8) {
    for i in 0..count {
        // SAFETY: every caller passes a region of at least `count` pages.
        unsafe { ptr::write_volatile(memory.add(i * page_size()), byte) };
    }
}

/// Check the smaps entry of the region at `start` in `pid` against the expected
/// [Rss, Pss, Shared_Dirty, Private_Dirty] in pages (Pss may be a fraction); return what it says.
fn check_smaps(lesson: &Lesson, claim: &str, pid: Option<i32>, start: *mut u8, expected: [f64; 4]) -> [f64; 4] {
    let u = region_usage(pid, start as usize).expect("read smaps").expect("the region has an smaps entry");
    let measured = [u.rss, u.pss, u.shared_dirty, u.private_dirty].map(|bytes| bytes as f64 / page_size() as f64);
    let [rss, pss, shared, private] = measured;
    let text = format!("Rss {rss} · Pss {pss} · Shared_Dirty {shared} · Private_Dirty {private} pages");
    lesson.check(claim, text, measured == expected);
    measured
}

/// The sum of the `Rss:` lines of every entry in `/proc/PID/smaps`.
fn rss_of_every_region(pid: i32) -> u64 {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("read the child's smaps");
    let kb = |value: &str| value.trim().trim_end_matches("kB").trim().parse::<u64>().expect("a number of kB");
    smaps.lines().filter_map(|line| line.strip_prefix("Rss:")).map(kb).sum::<u64>() * 1024
}

/// Machine-dependent figures, in kB as the kernel prints them.
fn kb_columns(u: &Usage) -> String {
    let (rss, pss) = (kb(u.rss), kb(u.pss));
    let (sc, sd, pc, pd) = (kb(u.shared_clean), kb(u.shared_dirty), kb(u.private_clean), kb(u.private_dirty));
    format!("Rss {rss} · Pss {pss} · Shared_Clean {sc} · Shared_Dirty {sd} · Private_Clean {pc} · Private_Dirty {pd}")
}

fn kb(bytes: u64) -> String {
    format!("{} kB", bytes / 1024)
}

fn pages(count: f64) -> String {
    format!("{count} pages")
}

fn pipe() -> (File, File) {
    let (read, write) = pipe2(OFlag::O_CLOEXEC).expect("pipe2 failed: too many open files?");
    (File::from(read), File::from(write))
}
