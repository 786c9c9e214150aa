//! Hidden tests of exercise 03 · mmap. Each runs in a process of its own.
//! They check what the kernel really mapped (/proc/self/maps, mincore), not
//! only what the learner's functions return.

use super::exercise::{map_bytes, map_pages, unmap};
use crate::prelude::*;

pub const TESTS: &[Test] = &[
    Test { name: "maps_one_private_writable_page", run: maps_one_private_writable_page },
    Test { name: "maps_exactly_the_pages_asked_for", run: maps_exactly_the_pages_asked_for },
    Test { name: "rounds_up_to_whole_pages", run: rounds_up_to_whole_pages },
    Test { name: "leaves_the_pages_untouched", run: leaves_the_pages_untouched },
    Test { name: "every_page_can_be_written_and_read", run: every_page_can_be_written_and_read },
    Test { name: "unmap_gives_the_whole_region_back", run: unmap_gives_the_whole_region_back },
    Test { name: "impossible_requests_are_errors_not_panics", run: impossible_requests_are_errors_not_panics },
];

fn maps_one_private_writable_page() -> Outcome {
    let region = ensure_ok(map_pages(1), "map_pages(1) succeeds")?;
    ensure(region.len == page_size(), "len is the number of pages times the page size")?;
    let line = ensure_some(maps_entry(region.start), "a line of /proc/self/maps covers the returned start")?;
    ensure(line.perms.starts_with("rw"), "the region is readable and writable (rw in /proc/self/maps)")?;
    ensure(line.perms.ends_with('p'), "the region is private (p in /proc/self/maps), not shared")?;
    ensure(line.path.is_empty() && line.inode == 0, "the region is anonymous: no file behind it")
}

/// Compare the map before and after: the new addresses must be exactly the region.
fn maps_exactly_the_pages_asked_for() -> Outcome {
    for pages in [1, 5, 16] {
        let before = maps_entries();
        let region = ensure_ok(map_pages(pages), "map_pages succeeds for a few pages")?;
        let after = maps_entries();
        ensure(region.len == pages * page_size(), "len is the number of pages times the page size")?;
        let added = new_ranges(&before, &after);
        let run = added.iter().find(|(start, end)| (*start..*end).contains(&region.start));
        ensure(run.is_some(), "the returned start is the start of newly mapped memory")?;
        ensure(
            run == Some(&(region.start, region.start + region.len)),
            "the kernel mapped exactly the pages asked for: no page more, no page less",
        )?;
    }
    Ok(())
}

fn rounds_up_to_whole_pages() -> Outcome {
    let page = page_size();
    for (bytes, pages) in [(1, 1), (page + 1, 2), (3 * page - 1, 3)] {
        let before = maps_entries();
        let region = ensure_ok(map_bytes(bytes), "map_bytes succeeds for a few bytes")?;
        let added = new_ranges(&before, &maps_entries());
        ensure(region.len == pages * page, "map_bytes rounds a partial page up to one whole page")?;
        ensure(
            added.contains(&(region.start, region.start + region.len)),
            "the reported len is what the kernel mapped (/proc/self/maps)",
        )?;
    }
    let exact = ensure_ok(map_bytes(4 * page), "map_bytes succeeds for whole pages")?;
    ensure(exact.len == 4 * page, "a size of whole pages gets no extra page")
}

fn leaves_the_pages_untouched() -> Outcome {
    let region = ensure_ok(map_pages(16), "map_pages(16) succeeds")?;
    let resident = pages_in_ram(region.start, region.len);
    ensure(resident.is_some(), "the whole region is mapped")?;
    ensure(resident == Some(0), "no page is in RAM before it is touched (mincore): do not write to it")
}

fn every_page_can_be_written_and_read() -> Outcome {
    let region = ensure_ok(map_pages(8), "map_pages(8) succeeds")?;
    // In a child, so that a wrong protection is a finding, not the end of the test.
    let ending = in_child(|| {
        let base = region.start as *mut u8;
        for offset in (0..region.len).step_by(page_size()) {
            // SAFETY: inside the region the learner mapped; a fault ends only this child.
            unsafe { std::ptr::write_volatile(base.add(offset), 0x5a) };
        }
        // SAFETY: as above, reading back what was written.
        let all_back =
            (0..region.len).step_by(page_size()).all(|o| unsafe { std::ptr::read_volatile(base.add(o)) } == 0x5a);
        if all_back { 0 } else { 1 }
    });
    ensure(ending == ChildEnd::Exited(0), "every page of the region can be written and read back")
}

fn unmap_gives_the_whole_region_back() -> Outcome {
    let region = ensure_ok(map_pages(3), "map_pages(3) succeeds")?;
    ensure_ok(unmap(region), "unmap of a region from map_pages succeeds")?;
    let last_page = region.start + region.len - page_size();
    ensure(
        maps_entry(region.start).is_none(),
        "after unmap no line of /proc/self/maps covers the region's first page",
    )?;
    ensure(maps_entry(last_page).is_none(), "after unmap no line of /proc/self/maps covers the region's last page")
}

fn impossible_requests_are_errors_not_panics() -> Outcome {
    ensure(map_pages(0).is_err(), "map_pages(0) returns an Err")?;
    ensure(map_bytes(0).is_err(), "map_bytes(0) returns an Err")?;
    ensure(map_pages(usize::MAX / 2).is_err(), "a page count too large for a usize of bytes returns an Err")?;
    ensure(map_bytes(usize::MAX - 1).is_err(), "a byte count too large to round up returns an Err")
}
