//! Hidden tests of exercise 06 · cow. Each runs in a process of its own, so
//! the learner's fork is safe here.

use super::exercise::{Seen, after_child_writes};
use crate::prelude::*;

pub const TESTS: &[Test] = &[
    Test { name: "private_memory_splits_after_the_write", run: private_memory_splits_after_the_write },
    Test { name: "shared_memory_shows_the_write_to_both", run: shared_memory_shows_the_write_to_both },
    Test { name: "whole_u64_values_come_through", run: whole_u64_values_come_through },
    Test { name: "the_child_really_wrote_and_was_reaped", run: the_child_really_wrote_and_was_reaped },
    Test { name: "no_page_or_descriptor_is_left_behind", run: no_page_or_descriptor_is_left_behind },
];

fn run(before: u64, child_writes: u64, shared: bool) -> Result<Seen, Failure> {
    ensure_ok(after_child_writes(before, child_writes, shared), "after_child_writes succeeds")
}

fn private_memory_splits_after_the_write() -> Outcome {
    let seen = run(41, 42, false)?;
    ensure(seen.child == 42, "private: the child reads back what it wrote")?;
    ensure(seen.parent == 41, "private: the parent still sees its own value (the child wrote to a copy)")
}

fn shared_memory_shows_the_write_to_both() -> Outcome {
    let seen = run(41, 42, true)?;
    ensure(seen.child == 42, "shared: the child reads back what it wrote")?;
    ensure(seen.parent == 42, "shared: the parent sees the child's write (one page for both)")
}

fn whole_u64_values_come_through() -> Outcome {
    for (before, after) in [(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210), (u64::MAX, 0), (7, 1 << 40)] {
        for shared in [false, true] {
            let seen = run(before, after, shared)?;
            ensure(seen.child == after, "the child's value comes through whole, all 64 bits (use the pipe)")?;
            ensure(
                seen.parent == if shared { after } else { before },
                "the parent's value is read whole, all 64 bits",
            )?;
        }
    }
    Ok(())
}

fn the_child_really_wrote_and_was_reaped() -> Outcome {
    let faults_before = children_minor_faults();
    run(1, 2, false)?;
    // RUSAGE_CHILDREN counts the faults of children that were waited for: the
    // child's write to a copy-on-write page is one of them.
    ensure(children_minor_faults() > faults_before, "a child was forked, wrote, and was waited for (RUSAGE_CHILDREN)")?;
    ensure(no_children_left(), "no zombie is left behind")
}

fn no_page_or_descriptor_is_left_behind() -> Outcome {
    let open_before = open_descriptors();
    let shared_before = shared_anonymous_regions();
    for _ in 0..3 {
        run(5, 6, true)?;
        run(5, 6, false)?;
    }
    ensure(shared_anonymous_regions() == shared_before, "the page is unmapped before returning")?;
    ensure(open_descriptors() == open_before, "both ends of the pipe are closed before returning")
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|dir| dir.count()).unwrap_or(0)
}

fn shared_anonymous_regions() -> usize {
    maps_entries()
        .iter()
        .filter(|e| e.perms.ends_with('s') && (e.path.is_empty() || e.path.starts_with("/dev/zero")))
        .count()
}
