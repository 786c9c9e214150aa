//! Hidden tests of exercise 05 · filemap. While the learner's function runs,
//! a seccomp filter refuses write(2) and its relatives on files, so whatever
//! reaches the file went through the shared mapping.

use super::exercise::append_through_mapping;
use crate::prelude::*;

pub const TESTS: &[Test] = &[
    Test { name: "appends_to_a_small_file", run: appends_to_a_small_file },
    Test { name: "appends_to_an_empty_file", run: appends_to_an_empty_file },
    Test { name: "appends_across_a_page_boundary", run: appends_across_a_page_boundary },
    Test { name: "appends_several_pages", run: appends_several_pages },
    Test { name: "appending_nothing_changes_nothing", run: appending_nothing_changes_nothing },
    Test { name: "leaves_no_mapping_behind", run: leaves_no_mapping_behind },
];

/// Append `data` to a new file holding `initial`; return what the function
/// returned and what the file then holds.
fn append(initial: &[u8], data: &[u8]) -> Result<(u64, Vec<u8>), Failure> {
    let mut results = append_each(&[(initial, data)]);
    results.remove(0)
}

/// Make every file first (making a file is a write), then refuse writes and
/// append to each through the learner's function.
fn append_each(cases: &[(&[u8], &[u8])]) -> Vec<Result<(u64, Vec<u8>), Failure>> {
    let paths: Vec<_> = cases.iter().map(|(initial, _)| temp_file("filemap", initial)).collect();
    forbid_file_writes();
    let mut results = Vec::new();
    for (path, (_, data)) in paths.iter().zip(cases) {
        let result = append_through_mapping(path, data);
        let contents = std::fs::read(path).expect("the test reads its file back");
        let _ = std::fs::remove_file(path);
        let property = "append_through_mapping succeeds (write(2) on files is refused here: go through the mapping)";
        results.push(ensure_ok(result, property).map(|length| (length, contents)));
    }
    results
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

fn check(initial: &[u8], data: &[u8]) -> Outcome {
    let (length, contents) = append(initial, data)?;
    let expected = [initial, data].concat();
    ensure(contents.len() == expected.len(), "the file grows by exactly the appended bytes")?;
    ensure(contents.starts_with(initial), "the file's old bytes are unchanged")?;
    ensure(contents == expected, "the appended bytes are in the file, after the old ones")?;
    ensure(length == expected.len() as u64, "the returned length is the file's new length")
}

fn appends_to_a_small_file() -> Outcome {
    check(b"hello ", b"world")
}

fn appends_to_an_empty_file() -> Outcome {
    check(b"", &pattern(100, 7))
}

fn appends_across_a_page_boundary() -> Outcome {
    check(&pattern(page_size() - 3, 1), &pattern(10, 2))
}

fn appends_several_pages() -> Outcome {
    check(&pattern(page_size() * 3 / 2, 3), &pattern(3 * page_size() + 5, 4))
}

fn appending_nothing_changes_nothing() -> Outcome {
    let initials = [Vec::new(), pattern(page_size(), 5), pattern(10, 6)];
    let cases: Vec<(&[u8], &[u8])> = initials.iter().map(|initial| (initial.as_slice(), &b""[..])).collect();
    for (initial, result) in initials.iter().zip(append_each(&cases)) {
        let (length, contents) = result?;
        ensure(contents == *initial, "appending nothing leaves the file as it was")?;
        ensure(length == initial.len() as u64, "appending nothing returns the file's length")?;
    }
    Ok(())
}

fn leaves_no_mapping_behind() -> Outcome {
    let path = temp_file("filemap-unmap", b"some bytes");
    let result = append_through_mapping(&path, &pattern(2 * page_size(), 8));
    let name = path.display().to_string();
    let still_mapped = maps_entries().iter().any(|entry| entry.path.starts_with(&name));
    let _ = std::fs::remove_file(&path);
    ensure_ok(result, "append_through_mapping succeeds")?;
    ensure(!still_mapped, "no mapping of the file is left in /proc/self/maps afterwards")
}
