//! lesson-05-filemap: its normalized output, and the evidence it must show.

mod common;
use common::{assert_has, normalize, page_size, run_lesson};
use regex_lite::Regex;
use workbook::size;

/// What differs between runs and machines in this lesson, beyond addresses and
/// pids: the random part of the temporary directory's name (and the directory
/// itself when TMPDIR points elsewhere), and the device and inode numbers of
/// the mapped files in their maps lines. Permissions and offsets stay.
fn hide_names_and_inodes(text: &str) -> String {
    let temp = std::env::temp_dir().display().to_string();
    let text = text.replace(&format!("{temp}/vmw-lesson-05-"), "/tmp/vmw-lesson-05-");
    let rules = [
        (r"vmw-lesson-05-[A-Za-z0-9]{6}", "vmw-lesson-05-XXXXXX"),
        (r"([r-][w-][x-][sp]) ([0-9a-f]{8}) [0-9a-f]{2,}:[0-9a-f]{2,} \d+ ", "$1 $2 [DEV] [INODE] "),
    ];
    rules.iter().fold(text, |text, (pattern, with)| {
        Regex::new(pattern).expect("valid pattern").replace_all(&text, *with).into_owned()
    })
}

#[test]
fn four_kinds_of_mapping_and_the_end_of_a_file() {
    let run = run_lesson("lesson-05-filemap", &[]);
    assert_eq!(run.code, Some(0), "lesson failed:\n{}{}", run.stdout, run.stderr);
    let out = &run.stdout;
    let page = page_size();
    assert!(!out.contains('✗'), "a claim did not hold:\n{out}");

    // The private directory: mode 0700, and really gone afterwards.
    let dir = Regex::new(r"✓ a private directory (\S+): mode 700").unwrap();
    let dir = dir.captures(out).expect("the lesson names its private directory")[1].to_string();
    assert!(!std::path::Path::new(&dir).exists(), "{dir} was left behind");
    assert_has(out, "✓ the private directory after drop: gone");

    // Shared file mapping.
    assert_has(out, "✓ close(fd) right after mmap: 0");
    assert_has(out, "✓ fcntl(fd, F_GETFD) after the close: EBADF");
    assert!(Regex::new(r"the mapping holds the file itself: \S+ rw-s 00000000 .*/data\n").unwrap().is_match(out));
    assert_has(out, "✓ reading the mapping: the file's own words");
    assert_has(out, "✓ pread(2) of the file through a new descriptor: written through MAP_SHARED");
    assert_has(out, "✓ msync(MS_SYNC): write the dirty page back to the file now: 0");
    let tmpfs = nix::sys::statfs::statfs(&std::env::temp_dir())
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC);
    if !tmpfs {
        assert_has(out, &format!("before -> after msync (smaps): {} -> 0 bytes (0 pages)", size(page)));
    }

    // Private file mapping.
    assert!(Regex::new(r"a private copy never goes back\): \S+ rw-p 00000000 .*/data\n").unwrap().is_match(out));
    assert_has(out, "✓ reading it after a write: written through MAP_PRIVATE");
    assert_has(out, "✓ pread(2) of the file: written through MAP_SHARED");
    assert_has(out, &format!("✓ Anonymous of the private mapping (smaps): its own copy: {}", size(page)));

    // Anonymous mappings shared with, or kept from, a child.
    assert!(Regex::new(r"its line: \S+ rw-s 00000000 .* /dev/zero \(deleted\)\n").unwrap().is_match(out));
    assert_has(out, "✓ after the child wrote and exited, the parent reads: the child's value");
    assert_has(out, "✓ after the child wrote and exited, the parent reads: the parent's value");
    assert!(Regex::new(r"MAP_SHARED +yes +yes\n").unwrap().is_match(out), "table row MAP_SHARED:\n{out}");
    assert!(Regex::new(r"MAP_PRIVATE +no +no\n").unwrap().is_match(out), "table row MAP_PRIVATE:\n{out}");

    // Past the end of the file, and a protection fault for contrast.
    let over = Regex::new(r"two pages mapped over it: ([0-9a-f]+)-([0-9a-f]+) r--s ").unwrap();
    let c = over.captures(out).expect("the maps line of the two-page mapping");
    let (start, end) = (usize::from_str_radix(&c[1], 16).unwrap(), usize::from_str_radix(&c[2], 16).unwrap());
    assert_eq!(end - start, 2 * page);
    assert_has(out, &format!("✓ bytes 100 to {} of the first page: all 0", page - 1));
    assert_has(
        out,
        &format!("✓ a child that reads the second page: killed by SIGBUS (BUS_ADRERR at {:#x})", start + page),
    );
    assert_has(out, "✓ a child that writes to it: killed by SIGSEGV (SEGV_ACCERR at 0x");

    assert_has(out, "All 17 claims held on this machine.");
    common::lesson_snapshot!("output", hide_names_and_inodes(&normalize(out)));
}
