//! Lesson 03: ask the kernel for memory with mmap, and watch it arrive.
//!
//! Run it: `cargo run -p lesson-03-mmap` (add `-- --pause` to stop and look
//! at `/proc/PID/maps` yourself from another terminal).

use std::process::ExitCode;
use std::ptr;

use libc::{MAP_ANONYMOUS, MAP_FAILED, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, PROT_NONE, PROT_READ, PROT_WRITE};
use nix::errno::Errno;
use workbook::child::run_in_child;
use workbook::maps::Snapshot;
use workbook::report::addr;
use workbook::smaps::{region_usage, status_field};
use workbook::sys::{Faults, page_size};
use workbook::{Lesson, size};

const MIB: usize = 1024 * 1024;
const LEN: usize = 100 * MIB;

fn main() -> ExitCode {
    let lesson = Lesson::start(
        "lesson-03-mmap",
        "Lesson 03 · mmap: ask the kernel for 100 MiB",
        "A process gets memory by asking the kernel to map pages into its address space.",
    );
    let page = page_size();
    lesson.show("page size (sysconf _SC_PAGESIZE)", size(page));

    // ANCHOR: thp
    // Transparent huge pages could map 2 MiB per fault and blur the one-fault-
    // per-page count of step 3, so this process opts out of them.
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers.
    let thp_off = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } == 0;
    lesson.show(
        "transparent huge pages for this process",
        if thp_off { "off (PR_SET_THP_DISABLE)" } else { "could not turn off" },
    );
    // ANCHOR_END: thp

    // ANCHOR: map
    lesson.step("Map 100 MiB of anonymous private memory");
    let before = Snapshot::of_self().expect("read /proc/self/maps");
    // SAFETY: a fresh anonymous mapping; nothing else refers to this memory.
    let memory =
        unsafe { libc::mmap(ptr::null_mut(), LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
    assert_ne!(memory, MAP_FAILED, "mmap of 100 MiB failed: {}", Errno::last());
    let after = Snapshot::of_self().expect("read /proc/self/maps");
    lesson.say(format!(
        "mmap(NULL, {LEN}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = {}",
        addr(memory as usize)
    ));
    let diff = before.diff(&after);
    for region in &diff.added {
        lesson.quote("new line in /proc/self/maps:", region);
    }
    let region = after.find(memory as usize).expect("the new mapping is in the map");
    lesson.check(
        "lines that changed in the map",
        format!("{} added, {} removed", diff.added.len(), diff.removed.len()),
        diff.added.len() == 1 && diff.removed.is_empty(),
    );
    lesson.check("the new region starts at the returned address", addr(region.start), region.start == memory as usize);
    lesson.check("its permissions", region.perms, region.perms.to_string() == "rw-p");
    lesson.check("its length", size(region.len()), region.len() == LEN);
    lesson.pause(
        "100 MiB is mapped but not touched",
        &[format!("grep -A4 {:x} /proc/{}/smaps", region.start, std::process::id())],
    );
    // ANCHOR_END: map

    // ANCHOR: round
    lesson.step("Ask for 100 MiB + 1 byte: the kernel maps whole pages");
    // Read-only on purpose: the kernel merges neighbouring mappings with the same
    // permissions into one line, and this one must stay a line of its own to be measured.
    // SAFETY: as above, a fresh anonymous mapping.
    let odd = unsafe { libc::mmap(ptr::null_mut(), LEN + 1, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
    assert_ne!(odd, MAP_FAILED, "mmap of 100 MiB + 1 failed: {}", Errno::last());
    let odd_region = Snapshot::of_self().expect("read maps").find(odd as usize).cloned().expect("mapped");
    lesson.say(format!("asked for {}", size(LEN + 1)));
    lesson.quote("its line in /proc/self/maps:", &odd_region);
    let one_more_page = odd_region.start == odd as usize && odd_region.len() == LEN + page;
    lesson.check("got a region one whole page longer", size(odd_region.len()), one_more_page);
    // SAFETY: unmapping exactly what was mapped above; nothing refers to it.
    unsafe { libc::munmap(odd, LEN + 1) };
    // ANCHOR_END: round

    // ANCHOR: touch
    lesson.step("Touch every page: memory arrives one page fault at a time");
    let rss_mapped = region_usage(None, region.start).expect("read smaps").expect("region in smaps").rss;
    lesson.check("Rss of the region before touching (smaps)", size(rss_mapped as usize), rss_mapped == 0);
    let vm_rss_before = status_field(None, "VmRSS").expect("read status").expect("VmRSS");
    // Code is paged in on demand too: the first run of this loop could fault on
    // its own instructions. A rehearsal on a one-page scratch mapping pages them in.
    // SAFETY: a fresh one-page anonymous mapping, unmapped right after the rehearsal.
    let scratch =
        unsafe { libc::mmap(ptr::null_mut(), page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
    assert_ne!(scratch, MAP_FAILED, "mmap of one page failed: {}", Errno::last());
    touch_every_page(scratch.cast(), page, page);
    // SAFETY: unmapping the scratch page mapped above.
    unsafe { libc::munmap(scratch, page) };
    let faults = touch_every_page(memory.cast(), LEN, page);
    let vm_rss_after = status_field(None, "VmRSS").expect("read status").expect("VmRSS");
    let rss_touched = region_usage(None, region.start).expect("read smaps").expect("region in smaps").rss;
    let pages = LEN / page;
    lesson.check(
        "minor page faults while touching = pages touched",
        format!("{} faults for {pages} pages", faults.minor),
        faults.minor == pages as u64,
    );
    lesson.check("Rss of the region after touching (smaps)", size(rss_touched as usize), rss_touched == LEN as u64);
    // VmRSS is a per-process counter the kernel updates in batches: close, not exact.
    let grown_mib = (vm_rss_after as f64 - vm_rss_before as f64) / MIB as f64;
    lesson.check(
        "VmRSS grew by about 100 MiB (status)",
        format!("{grown_mib:.0} MiB"),
        (grown_mib - 100.0).abs() < 1.0,
    );
    lesson.pause("every page is touched now", &[format!("grep VmRSS /proc/{}/status", std::process::id())]);
    // ANCHOR_END: touch

    // ANCHOR: unmap
    lesson.step("munmap: the region is gone, and touching it faults");
    // SAFETY: unmapping the whole mapping; it is not used again except in a child that expects to fault.
    let unmapped = unsafe { libc::munmap(memory, LEN) };
    lesson.check("munmap returned", unmapped, unmapped == 0);
    let gone = Snapshot::of_self().expect("read maps").find(memory as usize).is_none();
    lesson.check("a region containing the old address", if gone { "none" } else { "still there" }, gone);
    let run = run_in_child(|| {
        // SAFETY: deliberately touching unmapped memory in a child, to watch it fault.
        unsafe { ptr::write_volatile(memory.cast::<u8>(), 1) };
        0
    });
    let fault = run.fault.map(|f| (f.code_name(), f.addr));
    lesson.check(
        "a child that writes to the old address",
        run.describe(),
        fault == Some(("SEGV_MAPERR", memory as usize)),
    );
    // ANCHOR_END: unmap

    // ANCHOR: fixed
    lesson.step("Choose the address: MAP_FIXED_NOREPLACE and MAP_FIXED");
    let wanted = memory as usize; // known to be free again after the munmap above
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping.
    let placed = unsafe {
        libc::mmap(
            wanted as *mut _,
            page,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    lesson.check(
        "MAP_FIXED_NOREPLACE at a free address returns exactly it",
        addr(placed as usize),
        placed as usize == wanted,
    );
    // SAFETY: the page was just mapped read-write.
    unsafe { ptr::write_volatile(placed.cast::<u8>(), b'A') };
    // SAFETY: as above; this call is expected to fail because the page is taken.
    let again = unsafe {
        libc::mmap(
            wanted as *mut _,
            page,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    let refused = if again == MAP_FAILED { Errno::last() } else { Errno::UnknownErrno };
    lesson.check("again at the same, now taken, address", refused, refused == Errno::EEXIST);
    // SAFETY: MAP_FIXED replaces the page we own at `wanted`; nothing else points into it.
    let replaced = unsafe {
        libc::mmap(wanted as *mut _, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
    };
    // SAFETY: the fresh page at `replaced` is readable.
    let byte = unsafe { ptr::read_volatile(replaced.cast::<u8>()) };
    lesson.check(
        "MAP_FIXED silently replaced it: the byte that was 'A' now reads",
        byte,
        replaced as usize == wanted && byte == 0,
    );
    // SAFETY: unmapping the page mapped above.
    unsafe { libc::munmap(replaced, page) };
    // ANCHOR_END: fixed

    // ANCHOR: mremap
    lesson.step("Grow a mapping with mremap(MREMAP_MAYMOVE)");
    let small = 4 * page;
    // Reserve 5 pages, then make the 5th PROT_NONE: a neighbour that blocks growing in place.
    // SAFETY: a fresh anonymous mapping.
    let data = unsafe {
        libc::mmap(ptr::null_mut(), small + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    };
    assert_ne!(data, MAP_FAILED, "mmap failed: {}", Errno::last());
    // SAFETY: the last page of the mapping above; 0..small stays read-write.
    unsafe { libc::mprotect(data.cast::<u8>().add(small).cast(), page, PROT_NONE) };
    for i in 0..small {
        // SAFETY: i < small, inside the read-write part.
        unsafe { ptr::write_volatile(data.cast::<u8>().add(i), (i % 251) as u8) };
    }
    // SAFETY: growing the 4 read-write pages to 8; the kernel may move them.
    let grown = unsafe { libc::mremap(data, small, 2 * small, libc::MREMAP_MAYMOVE) };
    assert_ne!(grown, MAP_FAILED, "mremap failed: {}", Errno::last());
    let map = Snapshot::of_self().expect("read maps");
    let new_region = map.find(grown as usize).expect("grown region is mapped");
    lesson.quote("after mremap:", new_region);
    lesson.check(
        "it moved, because the next page was taken",
        format!("{} -> {}", addr(data as usize), addr(grown as usize)),
        grown != data,
    );
    lesson.check("the grown region's length", size(new_region.len()), new_region.len() == 2 * small);
    // SAFETY: the first `small` bytes of the grown mapping hold the moved data.
    let kept = (0..small).all(|i| unsafe { ptr::read_volatile(grown.cast::<u8>().add(i)) } == (i % 251) as u8);
    lesson.check("all 4 pages of data came along", if kept { "identical" } else { "changed" }, kept);
    // SAFETY: unmapping the grown mapping and the PROT_NONE neighbour.
    unsafe {
        libc::munmap(grown, 2 * small);
        libc::munmap(data.cast::<u8>().add(small).cast(), page);
    }
    // ANCHOR_END: mremap

    lesson.finish()
}

// ANCHOR: touch_fn
/// Write one byte into every page of `len` bytes at `start`, and count the
/// minor faults that took.
fn touch_every_page(start: *mut u8, len: usize, page: usize) -> Faults {
    let before = Faults::now();
    for offset in (0..len).step_by(page) {
        // SAFETY: offset < len, inside the caller's mapping; volatile so the write really happens.
        unsafe { ptr::write_volatile(start.add(offset), 1) };
    }
    Faults::since(before)
}
// ANCHOR_END: touch_fn
