//! Lesson 06: copy-on-write. fork copies the page tables, not the pages; the
//! first write to a shared page copies that one page.
//!
//! Run it: `cargo run -p lesson-06-cow` (add `-- --pause` to look at the
//! parent's and the child's smaps yourself from another terminal).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::ExitCode;
use std::ptr;
use std::time::{Duration, Instant};

use libc::{MAP_ANONYMOUS, MAP_FAILED, MAP_POPULATE, MAP_PRIVATE, PROT_READ, PROT_WRITE};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, execv, fork, pipe2};
use workbook::child::flush_stdio;
use workbook::fenced::Fenced;
use workbook::maps::Snapshot;
use workbook::pagemap::{self, PageEntry};
use workbook::report::addr;
use workbook::smaps::region_usage;
use workbook::sys::{Faults, page_size};
use workbook::{Lesson, size};

const PAGES: usize = 16;
const WRITTEN: usize = 4;
const BIG: usize = 128 * 1024 * 1024;

fn main() -> ExitCode {
    let lesson = Lesson::start(
        "lesson-06-cow",
        "Lesson 06 · copy-on-write: fork shares pages until someone writes",
        "fork gives the child a copy of the parent's page tables, not of its memory; a write copies one page.",
    );
    let page = page_size();
    lesson.show("page size (sysconf _SC_PAGESIZE)", size(page));
    // Transparent huge pages would share and copy 2 MiB at a time; this lesson counts single pages.
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers. Children inherit the setting.
    let thp_off = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } == 0;
    lesson.show("transparent huge pages for this process", if thp_off { "off (PR_SET_THP_DISABLE)" } else { "on" });

    // ANCHOR: before
    lesson.step("Write 16 pages of private memory");
    // Fenced: private anonymous memory with a PROT_NONE page on each side, so smaps counts it alone.
    let region = Fenced::map(PAGES * page, page);
    let memory = region.memory.cast::<u8>();
    for i in 0..PAGES {
        // SAFETY: i * page is inside the region.
        unsafe { ptr::write_volatile(memory.add(i * page), b'P') };
    }
    lesson.say(format!("{} at {}; every page holds 'P'", size(PAGES * page), addr(region.addr())));
    // A sandbox may hide pagemap: then the lesson says so and shows the rest.
    match pagemap::entry(None, region.addr()) {
        Ok(entry) => {
            let held = entry.is_present() && entry.is_exclusive();
            lesson.check("page 0 in /proc/self/pagemap", entry.describe(), held);
        }
        Err(e) => lesson.show("/proc/self/pagemap", format!("cannot be read here ({e}): its steps are skipped")),
    }
    // Expected smaps columns, in pages: Rss, Pss, Shared_Dirty, Private_Dirty.
    let (n, w) = (PAGES as f64, WRITTEN as f64);
    check_smaps(&lesson, "smaps of the region", None, region.addr(), [n, n, 0.0, n]);
    // ANCHOR_END: before

    // ANCHOR: fork
    lesson.step("fork: parent and child map the same physical pages");
    let (go_read, mut go_write) = pipe();
    let (mut report_read, report_write) = pipe();
    flush_stdio();
    // SAFETY: the lesson is single-threaded; the child runs child_writes, which ends in _exit.
    let child = match unsafe { fork() }.expect("fork failed: out of processes or memory?") {
        ForkResult::Child => {
            drop((go_write, report_read));
            child_writes(memory, go_read, report_write)
        }
        ForkResult::Parent { child } => child,
    };
    drop((go_read, report_write));
    let pid = child.as_raw();
    lesson.say(format!("fork() returned the child's pid {pid}; the child waits for a word on a pipe"));
    if let Some((in_parent, in_child)) = check_pagemaps(&lesson, "page 0", region.addr(), pid, false) {
        frames(&lesson, "page 0 is one physical frame for both", in_parent, in_child, true);
    }
    for (who, of) in [("parent", None), ("child", Some(pid))] {
        check_smaps(&lesson, &format!("smaps of the region in the {who}"), of, region.addr(), [n, n / 2.0, n, 0.0]);
    }
    let smaps = format!("/proc/{}/smaps /proc/{pid}/smaps", std::process::id());
    lesson.pause("the 16 pages are shared", &[format!("grep -A10 {:x} {smaps}", region.addr())]);
    // ANCHOR_END: fork

    // ANCHOR: write
    lesson.step("The child writes 4 pages: the kernel copies exactly those 4");
    go_write.write_all(b"w").expect("tell the child to write");
    let mut report = [0u8; 9];
    report_read.read_exact(&mut report).expect("the child's report");
    let faults = u64::from_ne_bytes(report[..8].try_into().expect("8 bytes"));
    let child_sees = report[8] as char;
    // SAFETY: page 0 of the region, still mapped in the parent.
    let parent_sees = unsafe { ptr::read_volatile(memory) } as char;
    let values = format!("at {}: parent reads {parent_sees:?}, child reads {child_sees:?}", addr(region.addr()));
    lesson.check("one virtual address, two values", values, parent_sees == 'P' && child_sees == 'C');
    lesson.check("minor faults in the child while it wrote 4 pages", faults, faults == WRITTEN as u64);
    if let Some((in_parent, in_child)) = check_pagemaps(&lesson, "page 0", region.addr(), pid, true) {
        frames(&lesson, "the child's page 0 is a new frame", in_parent, in_child, false);
    }
    check_pagemaps(&lesson, "page 4, which nobody wrote,", region.addr() + WRITTEN * page, pid, false);
    for (who, of) in [("parent", None), ("child", Some(pid))] {
        // Pss: its own copies count whole, the pages still shared count half.
        let expected = [n, w + (n - w) / 2.0, n - w, w];
        check_smaps(&lesson, &format!("smaps of the region in the {who}"), of, region.addr(), expected);
    }
    lesson.pause("the child has its own copy of 4 pages", &[format!("grep -A10 {:x} {smaps}", region.addr())]);
    drop(go_write); // end of file on the pipe: the child exits
    let ending = waitpid(child, None).expect("waitpid on our own child");
    lesson.check("the child", ended(ending), ending == WaitStatus::Exited(child, 0));
    // ANCHOR_END: write

    // ANCHOR: cheap
    lesson.step("fork is cheap: it copies page tables, not memory");
    let big = Fenced::map(BIG, page);
    for offset in (0..BIG).step_by(page) {
        // SAFETY: offset < BIG, inside the region.
        unsafe { ptr::write_volatile(big.memory.cast::<u8>().add(offset), 1) };
    }
    let rss = region_usage(None, big.addr()).expect("read smaps").expect("an smaps entry").rss;
    lesson.check("Rss of a second region, every page written", size(rss as usize), rss == BIG as u64);
    let mut forks: Vec<Duration> = (0..3).map(|_| time_fork_exit_wait()).collect();
    forks.sort();
    // What fork would have to do without copy-on-write: get 128 MiB of new pages and copy into them.
    let started = Instant::now();
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE; // MAP_POPULATE: allocate every page now
    // SAFETY: a fresh anonymous mapping, unmapped below.
    let copy = unsafe { libc::mmap(ptr::null_mut(), BIG, PROT_READ | PROT_WRITE, flags, -1, 0) };
    assert_ne!(copy, MAP_FAILED, "mmap of 128 MiB failed: {}", Errno::last());
    // SAFETY: two distinct mappings of BIG bytes each.
    unsafe { ptr::copy_nonoverlapping(big.memory.cast::<u8>(), copy.cast::<u8>(), BIG) };
    let copying = started.elapsed();
    let timings = format!("{} vs {}", ms(forks[1]), ms(copying));
    lesson.check("fork + _exit + waitpid (median of 3) beat mmap + memcpy of 128 MiB", timings, forks[1] < copying);
    // SAFETY: unmapping the copy; nothing refers to it any more.
    unsafe { libc::munmap(copy, BIG) };
    drop(big);
    // ANCHOR_END: cheap

    // ANCHOR: exec
    lesson.step("exec: the new program starts from a fresh map");
    let (ending, text) = cat_proc_self_maps();
    lesson.say("a child ran execv(\"/bin/cat\", [\"cat\", \"/proc/self/maps\"]): cat printed its own map");
    lesson.check("cat", ended(ending), matches!(ending, WaitStatus::Exited(_, 0)));
    let map = Snapshot::parse(&text).expect("cat printed a maps file");
    let range = (region.addr(), region.addr() + PAGES * page);
    let old = map.regions.iter().filter(|r| (r.start, r.end) == range).count();
    lesson.check("lines with the 16-page region's range in cat's map", old, old == 0);
    let exe = std::env::current_exe().expect("the path of this lesson's executable");
    let (here, there) = (lines_of(&Snapshot::of_self().expect("read maps"), &exe), lines_of(&map, &exe));
    lesson.check("lines of this lesson's executable (mapped here) in cat's map", there, there == 0 && here > 0);
    let cat = lines_of(&map, &std::fs::canonicalize("/bin/cat").expect("/bin/cat exists"));
    lesson.check("lines of cat's own executable in cat's map", if cat > 0 { "present" } else { "none" }, cat > 0);
    // ANCHOR_END: exec

    lesson.finish()
}

// ANCHOR: child
/// The child's side of steps 2 and 3: wait for the word, write WRITTEN pages,
/// report its fault count and the byte it reads back, then wait for end of file.
fn child_writes(memory: *mut u8, mut go: File, mut report: File) -> ! {
    let _ = go.read(&mut [0u8]);
    // The child shares its code and stack pages with the parent too, and its first
    // touch of one of them can fault. A rehearsal on a byte of its own takes those faults.
    let mut rehearsal = 0u8;
    write_pages(&mut rehearsal, 1);
    let faults = write_pages(memory, WRITTEN).minor;
    // SAFETY: page 0 of the region, just written.
    let seen = unsafe { ptr::read_volatile(memory) };
    let _ = report.write_all(&[&faults.to_ne_bytes()[..], &[seen]].concat());
    let _ = go.read(&mut [0u8]); // returns when the parent closes its end
    // SAFETY: _exit ends only the child, without running the parent's cleanup.
    unsafe { libc::_exit(0) }
}

/// Write 'C' to the first byte of `count` pages from `memory`; the faults that took.
fn write_pages(memory: *mut u8, count: usize) -> Faults {
    let before = Faults::now();
    for i in 0..count {
        // SAFETY: the caller owns `count` pages (or, for count 1, one byte) at `memory`.
        unsafe { ptr::write_volatile(memory.add(i * page_size()), b'C') };
    }
    Faults::since(before)
}
// ANCHOR_END: child

/// Check that the page at `at` is present in the parent and in `child`, and
/// exclusively mapped or not; return both entries (None where pagemap is hidden).
fn check_pagemaps(
    lesson: &Lesson,
    label: &str,
    at: usize,
    child: i32,
    exclusive: bool,
) -> Option<(PageEntry, PageEntry)> {
    let (Ok(parent), Ok(child)) = (pagemap::entry(None, at), pagemap::entry(Some(child), at)) else {
        return None; // step 1 said pagemap cannot be read here
    };
    for (who, entry) in [("parent", parent), ("child", child)] {
        let held = entry.is_present() && entry.is_exclusive() == exclusive;
        lesson.check(&format!("{label} in the {who}'s pagemap"), entry.describe(), held);
    }
    Some((parent, child))
}

/// Physical frame numbers need CAP_SYS_ADMIN: without it the kernel reports 0.
fn frames(lesson: &Lesson, claim: &str, parent: PageEntry, child: PageEntry, same: bool) {
    match (parent.frame(), child.frame()) {
        (Some(p), Some(c)) => {
            lesson.check(claim, format!("parent frame {p:#x}, child frame {c:#x}"), (p == c) == same);
        }
        _ => lesson.show("physical frame numbers", "hidden: they read as 0 without CAP_SYS_ADMIN"),
    }
}

/// Check the smaps entry of the region at `start` against the expected
/// [Rss, Pss, Shared_Dirty, Private_Dirty], in pages (Pss may be a fraction).
fn check_smaps(lesson: &Lesson, claim: &str, pid: Option<i32>, start: usize, expected: [f64; 4]) {
    let u = region_usage(pid, start).expect("read smaps").expect("the region has an smaps entry");
    let pages = [u.rss, u.pss, u.shared_dirty, u.private_dirty].map(|bytes| bytes as f64 / page_size() as f64);
    let [rss, pss, shared, private] = pages;
    let text = format!("Rss {rss} · Pss {pss} · Shared_Dirty {shared} · Private_Dirty {private} pages");
    lesson.check(claim, text, pages == expected);
}

// ANCHOR: cat
/// A child that becomes `cat /proc/self/maps` with execv, its stdout a pipe:
/// how it ended and what it printed.
fn cat_proc_self_maps() -> (WaitStatus, String) {
    let (mut maps_read, maps_write) = pipe();
    flush_stdio();
    // SAFETY: single-threaded; the child only calls dup2, execv and _exit.
    let child = match unsafe { fork() }.expect("fork failed: out of processes or memory?") {
        ForkResult::Child => {
            // SAFETY: make the pipe the child's stdout; both descriptors are valid.
            unsafe { libc::dup2(maps_write.as_raw_fd(), 1) };
            let _ = execv(c"/bin/cat", &[c"cat", c"/proc/self/maps"]);
            // SAFETY: exec failed; _exit ends only the child.
            unsafe { libc::_exit(127) }
        }
        ForkResult::Parent { child } => child,
    };
    drop(maps_write);
    let mut text = String::new();
    maps_read.read_to_string(&mut text).expect("read what cat printed");
    (waitpid(child, None).expect("waitpid on our own child"), text)
}

/// How many lines of `map` map the file at `path`.
fn lines_of(map: &Snapshot, path: &Path) -> usize {
    map.regions.iter().filter(|r| r.path_column() == path.to_string_lossy()).count()
}
// ANCHOR_END: cat

/// fork a child that exits at once, and wait for it: the whole cost of a fork.
fn time_fork_exit_wait() -> Duration {
    flush_stdio();
    let started = Instant::now();
    // SAFETY: single-threaded; the child only calls _exit.
    match unsafe { fork() }.expect("fork failed: out of processes or memory?") {
        // SAFETY: _exit ends only the child.
        ForkResult::Child => unsafe { libc::_exit(0) },
        ForkResult::Parent { child } => drop(waitpid(child, None).expect("waitpid on our own child")),
    }
    started.elapsed()
}

fn ended(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited with status {code}"),
        other => format!("{other:?}"),
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn pipe() -> (File, File) {
    let (read, write) = pipe2(OFlag::O_CLOEXEC).expect("pipe2 failed: too many open files?");
    (File::from(read), File::from(write))
}
