//! An instructor's private tests for exercise 03 · mmap: the example the book's
//! "Your own tests" page shows. Put files like this one in a folder of your
//! own, named after the exercise (03-mmap.rs), and run
//! `cargo workbook verify 03 --tests that-folder`.

// The learner's code, as the exercise declares it.
use super::exercise::{map_bytes, map_pages, unmap};
// Test, Outcome, ensure, page_size, maps_entry, Mapping, in_child, ...
use crate::prelude::*;

pub const TESTS: &[Test] = &[
    Test { name: "a_big_mapping_is_one_line", run: a_big_mapping_is_one_line },
    Test { name: "regions_do_not_overlap", run: regions_do_not_overlap },
];

/// 100 MiB, as in lesson 03: one line of /proc/self/maps, untouched.
fn a_big_mapping_is_one_line() -> Outcome {
    let len = 100 << 20;
    let region = ensure_ok(map_bytes(len), "map_bytes maps 100 MiB")?;
    let line = ensure_some(maps_entry(region.start), "the region is in /proc/self/maps")?;
    ensure(line.start <= region.start && line.end >= region.start + len, "one line covers all 100 MiB")?;
    ensure(pages_in_ram(region.start, region.len) == Some(0), "none of the 100 MiB is in RAM yet")?;
    ensure_ok(unmap(region), "unmap succeeds")?;
    Ok(())
}

/// Two live regions never share a page.
fn regions_do_not_overlap() -> Outcome {
    let first = ensure_ok(map_pages(4), "map_pages(4) succeeds")?;
    let second = ensure_ok(map_pages(4), "map_pages(4) succeeds")?;
    let apart = first.start + first.len <= second.start || second.start + second.len <= first.start;
    ensure(apart, "two regions mapped one after the other do not overlap")
}
