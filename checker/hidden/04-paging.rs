//! Hidden tests of exercise 04 · paging. Each runs in a process of its own,
//! with transparent huge pages off, on memory nobody has touched yet.

use super::exercise::{resident_pages, touch_pages};
use crate::prelude::*;

pub const TESTS: &[Test] = &[
    Test { name: "one_fault_per_fresh_page", run: one_fault_per_fresh_page },
    Test { name: "touching_again_takes_no_faults", run: touching_again_takes_no_faults },
    Test { name: "every_page_gets_memory_of_its_own", run: every_page_gets_memory_of_its_own },
    Test { name: "a_partial_last_page_is_touched_too", run: a_partial_last_page_is_touched_too },
    Test { name: "resident_pages_counts_what_is_in_ram", run: resident_pages_counts_what_is_in_ram },
    Test { name: "resident_pages_counts_a_partial_last_page", run: resident_pages_counts_a_partial_last_page },
    Test { name: "resident_pages_reports_unmapped_memory", run: resident_pages_reports_unmapped_memory },
];

/// Fresh, isolated, untouched memory as a slice.
fn fresh(pages: usize) -> (Mapping, &'static mut [u8]) {
    no_huge_pages();
    let memory = Mapping::isolated(pages * page_size(), libc::PROT_READ | libc::PROT_WRITE);
    // SAFETY: the mapping lives as long as the returned Mapping, which the
    // test keeps alive while it uses the slice.
    let slice = unsafe { std::slice::from_raw_parts_mut(memory.ptr, memory.len) };
    (memory, slice)
}

/// The learner's code runs once on other memory first, so that the faults
/// of loading its own code are not counted against it.
fn warm_up() {
    let (_memory, slice) = fresh(2);
    touch_pages(slice);
}

fn one_fault_per_fresh_page() -> Outcome {
    warm_up();
    for pages in [16, 64] {
        let (_memory, slice) = fresh(pages);
        let faults = touch_pages(slice);
        ensure(faults > 0, "touching fresh pages counts some faults")?;
        ensure(faults == pages as u64, "touching N fresh pages counts N minor faults")?;
    }
    Ok(())
}

fn touching_again_takes_no_faults() -> Outcome {
    warm_up();
    let (_memory, slice) = fresh(32);
    touch_pages(slice);
    ensure(touch_pages(slice) == 0, "touching the same pages again counts no faults: they are mapped now")
}

fn every_page_gets_memory_of_its_own() -> Outcome {
    let (memory, slice) = fresh(16);
    touch_pages(slice);
    let rss = smaps_field(memory.addr(), "Rss");
    ensure(
        rss == Some(memory.len as u64),
        "after touching, every page is in RAM with its own frame (Rss): write, not read",
    )
}

fn a_partial_last_page_is_touched_too() -> Outcome {
    warm_up();
    let (memory, slice) = fresh(6);
    let partial = &mut slice[..5 * page_size() + 1];
    let faults = touch_pages(partial);
    ensure(faults == 6, "a last page covered only in part is touched and counted too")?;
    ensure(smaps_field(memory.addr(), "Rss") == Some(6 * page_size() as u64), "the last, partial page is in RAM too")
}

fn resident_pages_counts_what_is_in_ram() -> Outcome {
    let (_memory, slice) = fresh(12);
    ensure(ensure_ok(resident_pages(slice), "resident_pages succeeds")? == 0, "fresh memory has no page in RAM")?;
    for offset in [0, 3, 4, 11] {
        slice[offset * page_size()] = 1;
    }
    ensure(
        ensure_ok(resident_pages(slice), "resident_pages succeeds")? == 4,
        "resident_pages counts the pages written to",
    )
}

fn resident_pages_counts_a_partial_last_page() -> Outcome {
    let (_memory, slice) = fresh(4);
    for page in 0..4 {
        slice[page * page_size()] = 1;
    }
    let three_and_a_bit = &slice[..3 * page_size() + 1];
    let count = ensure_ok(resident_pages(three_and_a_bit), "resident_pages succeeds")?;
    ensure(count == 4, "a range that ends inside a page counts that page (round the vector up)")
}

fn resident_pages_reports_unmapped_memory() -> Outcome {
    let (memory, slice) = fresh(2);
    // SAFETY: unmapping the test's own second page; the slice is only handed
    // to mincore, which reads no byte of it.
    unsafe { libc::munmap(memory.ptr.add(page_size()).cast(), page_size()) };
    ensure(resident_pages(slice).is_err(), "a range that is not all mapped gives Err (mincore fails with ENOMEM)")
}
