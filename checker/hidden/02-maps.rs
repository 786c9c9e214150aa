//! Hidden tests of exercise 02 · maps: hand-made lines with the odd cases the
//! kernel really writes, then this process's own /proc/self/maps.

use super::exercise::{MapsLine, Perms, parse_line, region_of};
use crate::prelude::*;

pub const TESTS: &[Test] = &[
    Test { name: "reads_every_column_of_a_file_line", run: reads_every_column_of_a_file_line },
    Test { name: "anonymous_memory_has_an_empty_path", run: anonymous_memory_has_an_empty_path },
    Test { name: "a_path_with_spaces_is_kept_whole", run: a_path_with_spaces_is_kept_whole },
    Test { name: "a_deleted_file_is_marked", run: a_deleted_file_is_marked },
    Test { name: "special_regions_and_large_numbers", run: special_regions_and_large_numbers },
    Test { name: "all_four_permission_letters", run: all_four_permission_letters },
    Test { name: "malformed_lines_are_none_not_panics", run: malformed_lines_are_none_not_panics },
    Test { name: "every_line_of_this_process_parses", run: every_line_of_this_process_parses },
    Test { name: "region_of_finds_the_right_region", run: region_of_finds_the_right_region },
    Test { name: "region_of_excludes_the_end_address", run: region_of_excludes_the_end_address },
];

fn parse(line: &str) -> Result<MapsLine, Failure> {
    ensure_some(parse_line(line), "a well-formed maps line parses (returns Some)")
}

fn reads_every_column_of_a_file_line() -> Outcome {
    let line = parse("5581f0a00000-5581f0a21000 r-xp 00002000 fd:01 1835027                    /usr/bin/cat")?;
    ensure(line.start == 0x5581f0a00000 && line.end == 0x5581f0a21000, "start and end are read as hexadecimal")?;
    ensure(
        line.perms == Perms { read: true, write: false, exec: true, shared: false },
        "r-xp means read, exec, private",
    )?;
    ensure(line.offset == 0x2000, "the offset is read as hexadecimal")?;
    ensure(line.device == (0xfd, 0x01), "the device is major:minor, both hexadecimal")?;
    ensure(line.inode == 1835027, "the inode is read as decimal")?;
    ensure(line.path == "/usr/bin/cat", "the path is the last column, without the padding before it")?;
    ensure(!line.deleted, "a path without ' (deleted)' is not deleted")
}

fn anonymous_memory_has_an_empty_path() -> Outcome {
    // The kernel ends a line without a path with a space after the inode.
    for text in ["7f3a1c000000-7f3a22400000 rw-p 00000000 00:00 0 ", "7f3a1c000000-7f3a22400000 rw-p 00000000 00:00 0"]
    {
        let line = parse(text)?;
        ensure(line.path.is_empty(), "a line without a path has an empty path")?;
        ensure(line.inode == 0 && line.device == (0, 0), "anonymous memory has device 00:00 and inode 0")?;
    }
    Ok(())
}

fn a_path_with_spaces_is_kept_whole() -> Outcome {
    let line = parse("7f0000000000-7f0000001000 r--s 00000000 08:02 42     /tmp/my notes (v2).txt")?;
    ensure(line.path == "/tmp/my notes (v2).txt", "a path with spaces is kept whole")
}

fn a_deleted_file_is_marked() -> Outcome {
    let line = parse("7f0000000000-7f0000004000 rw-s 00001000 00:05 1234 /memfd:buffer (deleted)")?;
    ensure(line.deleted, "' (deleted)' at the end of the path sets deleted")?;
    ensure(line.path == "/memfd:buffer", "the path of a deleted file leaves out ' (deleted)'")
}

fn special_regions_and_large_numbers() -> Outcome {
    let vsyscall = parse("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]")?;
    ensure(
        vsyscall.start == 0xffffffffff600000 && vsyscall.end == 0xffffffffff601000,
        "addresses can use all 64 bits",
    )?;
    ensure(vsyscall.path == "[vsyscall]", "a bracketed name is the path")?;
    let named = parse("7ffd1c000000-7ffd1c200000 rw-p 00000000 00:00 0   [anon:my buffer]")?;
    ensure(named.path == "[anon:my buffer]", "a bracketed name with a space is kept whole")?;
    let big = parse("00400000-00452000 r-xp 7fffffffff000 103:0a 18446744073709551615  /big")?;
    ensure(big.offset == 0x7fffffffff000, "large offsets are read whole")?;
    ensure(big.device == (0x103, 0x0a), "a major device number can have three hex digits")?;
    ensure(big.inode == u64::MAX, "inodes can use all 64 bits")
}

fn all_four_permission_letters() -> Outcome {
    let all = parse("1000-2000 rwxs 00000000 00:00 0")?;
    ensure(all.perms == Perms { read: true, write: true, exec: true, shared: true }, "rwxs sets all four")?;
    let none = parse("1000-2000 ---p 00000000 00:00 0")?;
    ensure(none.perms == Perms { read: false, write: false, exec: false, shared: false }, "---p sets none")?;
    let shared = parse("1000-2000 rw-s 00000000 00:00 0")?;
    ensure(shared.perms.shared && shared.perms.write && !shared.perms.exec, "rw-s is shared and writable")
}

fn malformed_lines_are_none_not_panics() -> Outcome {
    let kinds: [(&str, &[&str]); 4] = [
        (
            "a line with a column missing gives None",
            &[
                "",
                " ",
                "garbage",
                "1000-2000",
                "1000-2000 rw-p",
                "1000-2000 rw-p 00000000 00:00",
                "1000 rw-p 00000000 00:00 0",
            ],
        ),
        (
            "a number that does not parse gives None",
            &[
                "zz00-2000 rw-p 00000000 00:00 0",
                "1000-2000 rw-p 0000zz00 00:00 0",
                "1000-2000 rw-p 00000000 0000 0",
                "1000-2000 rw-p 00000000 00:00 x",
                "1000-2000-3000 rw-p 00000000 00:00 0",
                "10000000000000000-2 rw-p 00000000 00:00 0",
                "é-ü rw-p 00000000 00:00 0",
                "1000-2000 rw-p 00000000 00:00 0\u{0}",
            ],
        ),
        (
            "permissions that are not four of the right letters give None",
            &[
                "1000-2000 rw-x 00000000 00:00 0",
                "1000-2000 rwp 00000000 00:00 0",
                "1000-2000 rw-pp 00000000 00:00 0",
                "1000-2000 wr-p 00000000 00:00 0",
            ],
        ),
        ("an end before its start gives None", &["2000-1000 rw-p 00000000 00:00 0"]),
    ];
    for (property, lines) in kinds {
        for line in lines {
            ensure(parse_line(line).is_none(), property)?;
        }
    }
    Ok(())
}

fn every_line_of_this_process_parses() -> Outcome {
    for reference in maps_entries() {
        let text = format!("{:x}-{:x}", reference.start, reference.end);
        let raw = std::fs::read_to_string("/proc/self/maps").expect("read maps");
        let Some(raw_line) = raw.lines().find(|l| l.starts_with(&text)) else { continue };
        let line = ensure_some(parse_line(raw_line), "every line of this process's /proc/self/maps parses")?;
        ensure(line.start == reference.start && line.end == reference.end, "real lines: start and end")?;
        ensure(line.inode == reference.inode, "real lines: the inode")?;
        let expected_path = reference.path.strip_suffix(" (deleted)").unwrap_or(&reference.path);
        ensure(line.path == expected_path, "real lines: the path")?;
        let letters = [line.perms.read, line.perms.write, line.perms.exec];
        let shown: String = letters.iter().zip(['r', 'w', 'x']).map(|(on, c)| if *on { c } else { '-' }).collect();
        let shown = format!("{shown}{}", if line.perms.shared { 's' } else { 'p' });
        ensure(shown == reference.perms, "real lines: the permissions")?;
    }
    Ok(())
}

fn region_of_finds_the_right_region() -> Outcome {
    let local = 0u8;
    let stack =
        ensure_ok(region_of(std::hint::black_box(&local) as *const u8 as usize), "region_of reads /proc/self/maps")?;
    ensure(stack.is_some_and(|l| l.path == "[stack]"), "a local variable is found in [stack]")?;
    let code =
        ensure_ok(region_of(region_of_finds_the_right_region as fn() -> Outcome as usize), "region_of reads maps")?;
    ensure(code.is_some_and(|l| l.perms.exec && !l.perms.write), "a function is found in an r-x region")?;
    let memory = Mapping::anonymous(3 * page_size(), libc::PROT_READ);
    let last_byte = memory.addr() + memory.len - 1;
    let found = ensure_ok(region_of(last_byte), "region_of reads /proc/self/maps")?;
    let found = ensure_some(found, "the last byte of a mapping is found")?;
    ensure(
        found.start <= memory.addr() && found.end >= memory.addr() + memory.len,
        "the region found holds the address",
    )?;
    ensure(
        found.perms.read && !found.perms.write && found.path.is_empty(),
        "the region found is the right one (r--p, anonymous)",
    )
}

fn region_of_excludes_the_end_address() -> Outcome {
    // Two pages, the second unmapped again: the first page's end has nothing mapped at it.
    let memory = Mapping::anonymous(2 * page_size(), libc::PROT_READ);
    // SAFETY: unmapping the second page of the test's own mapping.
    unsafe { libc::munmap(memory.ptr.add(page_size()).cast(), page_size()) };
    let end = memory.addr() + page_size();
    let found = ensure_ok(region_of(end), "region_of reads /proc/self/maps")?;
    ensure(found.is_none(), "the end address of a region is not part of it")?;
    let nothing = ensure_ok(region_of(0), "region_of reads /proc/self/maps")?;
    ensure(nothing.is_none(), "address 0 is in no region")
}
