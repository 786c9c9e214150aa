//! Lesson 05: file mappings. Shared or private, file or anonymous: the four
//! kinds of mapping, each one run, and what happens past the end of a file.
//!
//! Run it: `cargo run -p lesson-05-filemap` (add `-- --pause` to look at the
//! mappings in `/proc/PID/maps` while it waits).

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::Path;
use std::process::ExitCode;
use std::ptr;

use libc::{MAP_ANONYMOUS, MAP_FAILED, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, c_void};
use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};
use workbook::child::{flush_stdio, run_in_child};
use workbook::maps::Snapshot;
use workbook::smaps::region_usage;
use workbook::sys::page_size;
use workbook::tempdir::PrivateDir;
use workbook::{Lesson, size};

const ORIGINAL: &str = "the file's own words";
const VIA_SHARED: &str = "written through MAP_SHARED";
const VIA_PRIVATE: &str = "written through MAP_PRIVATE";
const CHILDS: &str = "the child's value";
/// Length of the short file of step 5: less than any page.
const SHORT: usize = 100;

fn main() -> ExitCode {
    let lesson = Lesson::start(
        "lesson-05-filemap",
        "Lesson 05 · File mappings: shared or private, file or anonymous",
        "mmap can map a file or fresh zeros, and share your writes or keep them to yourself.",
    );
    let page = page_size();
    lesson.show("page size (sysconf _SC_PAGESIZE)", size(page));

    // ANCHOR: setup
    // mkdtemp: a new directory only this user may enter; dropping `dir` removes it and its files.
    let dir = PrivateDir::create("vmw-lesson-05-").expect("create a private directory with mkdtemp");
    let mode = std::fs::metadata(dir.path()).expect("stat the directory").permissions().mode() & 0o777;
    lesson.check(&format!("a private directory {}", dir.path().display()), format!("mode {mode:o}"), mode == 0o700);
    let data = dir.join("data");
    let mut contents = ORIGINAL.as_bytes().to_vec();
    contents.resize(page, 0); // one whole page, zero-padded
    std::fs::write(&data, &contents).expect("write the data file");
    // ANCHOR_END: setup

    // ANCHOR: shared_file
    lesson.step("MAP_SHARED file mapping: a write through memory reaches the file");
    let fd = OpenOptions::new().read(true).write(true).open(&data).expect("open data read-write").into_raw_fd();
    // SAFETY: a fresh shared mapping of one page of our own file.
    let shared = unsafe { libc::mmap(ptr::null_mut(), page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) };
    assert_ne!(shared, MAP_FAILED, "mmap of the data file failed: {}", Errno::last());
    // SAFETY: fd came from into_raw_fd above and is closed exactly once.
    let closed = unsafe { libc::close(fd) };
    lesson.check("close(fd) right after mmap", closed, closed == 0);
    // SAFETY: F_GETFD only asks the kernel about the descriptor number.
    let gone = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 && Errno::last() == Errno::EBADF;
    lesson.check("fcntl(fd, F_GETFD) after the close", if gone { "EBADF" } else { "still open" }, gone);
    lesson.quote("the mapping holds the file itself:", line_of(shared));
    lesson.check("reading the mapping", read_str(shared), read_str(shared) == ORIGINAL);
    write_str(shared, VIA_SHARED);
    let shared_reached = pread_str(&data) == VIA_SHARED;
    lesson.check("pread(2) of the file through a new descriptor", pread_str(&data), shared_reached);
    let dirty = dirty_bytes(shared);
    // SAFETY: msync of exactly the mapping above.
    let synced = unsafe { libc::msync(shared, page, libc::MS_SYNC) };
    lesson.check("msync(MS_SYNC): write the dirty page back to the file now", synced, synced == 0);
    let clean = dirty_bytes(shared);
    // tmpfs keeps files in memory only: there is no disk to write to, so the page stays dirty.
    let tmpfs =
        nix::sys::statfs::statfs(dir.path()).is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC);
    let dirt = format!("{} -> {}{}", size(dirty), size(clean), if tmpfs { " (on tmpfs)" } else { "" });
    lesson.check(
        "dirty bytes of the mapping before -> after msync (smaps)",
        dirt,
        dirty == page && (clean == 0) != tmpfs,
    );
    // ANCHOR_END: shared_file

    // ANCHOR: private_file
    lesson.step("MAP_PRIVATE file mapping: a write stays in this process");
    let private = map_file(&data, page, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    lesson.quote("its line (opened read-only: a private copy never goes back):", line_of(private));
    lesson.check("it starts as the file", read_str(private), read_str(private) == VIA_SHARED);
    write_str(private, VIA_PRIVATE);
    lesson.check("reading it after a write", read_str(private), read_str(private) == VIA_PRIVATE);
    let private_reached = pread_str(&data) == VIA_PRIVATE;
    lesson.check("pread(2) of the file", pread_str(&data), !private_reached);
    let anonymous = region_usage(None, private as usize).expect("read smaps").expect("in smaps").anonymous as usize;
    lesson.check("Anonymous of the private mapping (smaps): its own copy", size(anonymous), anonymous == page);
    lesson.pause(
        "two mappings of one file, one shared and one private",
        &[format!("grep data /proc/{}/maps", std::process::id())],
    );
    // ANCHOR_END: private_file

    // ANCHOR: anonymous
    lesson.step("MAP_SHARED | MAP_ANONYMOUS: parent and child share the page");
    // SAFETY: a fresh shared anonymous mapping.
    let both = unsafe { libc::mmap(ptr::null_mut(), page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) };
    assert_ne!(both, MAP_FAILED, "mmap failed: {}", Errno::last());
    lesson.quote("its line:", line_of(both));
    write_str(both, "the parent's value");
    let child_ok = child_writes(both, CHILDS);
    let shared_seen = read_str(both) == CHILDS;
    lesson.check("after the child wrote and exited, the parent reads", read_str(both), child_ok && shared_seen);

    lesson.step("MAP_PRIVATE | MAP_ANONYMOUS: the child's write stays in the child");
    // SAFETY: a fresh private anonymous mapping.
    let mine = unsafe { libc::mmap(ptr::null_mut(), page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
    assert_ne!(mine, MAP_FAILED, "mmap failed: {}", Errno::last());
    write_str(mine, "the parent's value");
    let child_ok = child_writes(mine, CHILDS);
    let private_seen = read_str(mine) == CHILDS;
    lesson.check("after the child wrote and exited, the parent reads", read_str(mine), child_ok && !private_seen);
    // ANCHOR_END: anonymous

    // ANCHOR: table
    lesson.step("The four kinds of mapping, as this run measured them");
    let yes = |held: bool| if held { "yes" } else { "no" };
    lesson.say(format!(
        "{:13}{:36}{}",
        "", "file: the file saw the write", "anonymous: the parent saw the child's write"
    ));
    for (flag, file, anonymous) in
        [("MAP_SHARED", shared_reached, shared_seen), ("MAP_PRIVATE", private_reached, private_seen)]
    {
        lesson.say(format!("{flag:13}{:36}{}", yes(file), yes(anonymous)));
    }
    // ANCHOR_END: table

    // ANCHOR: past_eof
    lesson.step(&format!("Past the end of a {SHORT}-byte file: zeros in its last page, SIGBUS after it"));
    let short = dir.join("short");
    std::fs::write(&short, [b'x'; SHORT]).expect("write the short file");
    let over = map_file(&short, 2 * page, PROT_READ, MAP_SHARED);
    lesson.quote("two pages mapped over it:", line_of(over));
    // SAFETY: every offset below `page` is inside the first mapped page.
    let zeros = (SHORT..page).all(|i| unsafe { ptr::read_volatile(over.cast::<u8>().add(i)) } == 0);
    lesson.check(
        &format!("bytes {SHORT} to {} of the first page", page - 1),
        if zeros { "all 0" } else { "not all 0" },
        zeros,
    );
    let second = over as usize + page;
    // SAFETY: deliberately touching the page that has no file behind it, in a child.
    let run = run_in_child(|| i32::from(unsafe { ptr::read_volatile(second as *const u8) }));
    let fault = run.fault.map(|f| (f.code_name(), f.addr));
    lesson.check("a child that reads the second page", run.describe(), fault == Some(("BUS_ADRERR", second)));

    lesson.step("Writing to a PROT_READ file mapping: SIGSEGV, not SIGBUS");
    let read_only = map_file(&data, page, PROT_READ, MAP_SHARED);
    // SAFETY: deliberately writing to a read-only mapping, in a child.
    let run = run_in_child(|| unsafe {
        ptr::write_volatile(read_only.cast::<u8>(), 1);
        0
    });
    let fault = run.fault.map(|f| (f.code_name(), f.addr));
    lesson.check("a child that writes to it", run.describe(), fault == Some(("SEGV_ACCERR", read_only as usize)));
    // ANCHOR_END: past_eof

    // ANCHOR: cleanup
    lesson.step("Clean up");
    for (at, len) in [(shared, page), (private, page), (both, page), (mine, page), (over, 2 * page), (read_only, page)]
    {
        // SAFETY: each of the mappings above, with its length; none is used again.
        unsafe { libc::munmap(at, len) };
    }
    let path = dir.path().to_path_buf();
    drop(dir); // removes the directory and its two files
    let gone = !path.exists();
    lesson.check("the private directory after drop", if gone { "gone" } else { "still there" }, gone);
    // ANCHOR_END: cleanup

    lesson.finish()
}

// ANCHOR: helpers
/// open(2) `path` read-only, mmap `len` bytes of it, and close the descriptor at once:
/// the mapping keeps its own reference to the file.
fn map_file(path: &Path, len: usize, prot: i32, flags: i32) -> *mut c_void {
    let file = File::open(path).expect("open the file read-only");
    // SAFETY: a fresh mapping of our own file; `file` is closed when it goes out of scope.
    let at = unsafe { libc::mmap(ptr::null_mut(), len, prot, flags, file.as_raw_fd(), 0) };
    assert_ne!(at, MAP_FAILED, "mmap of {} failed: {}", path.display(), Errno::last());
    at
}

/// fork(2): the child writes `text` at `at` and exits; the parent waits for it.
/// True when the child exited with status 0.
fn child_writes(at: *mut c_void, text: &str) -> bool {
    flush_stdio(); // or the child would inherit, and print again, what is still buffered
    // SAFETY: the lesson is single-threaded; the child only writes memory and calls _exit.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            write_str(at, text);
            // SAFETY: _exit ends only the child, without running the parent's cleanup.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => waitpid(child, None).expect("waitpid") == WaitStatus::Exited(child, 0),
    }
}
// ANCHOR_END: helpers

/// Write `text` and a terminating zero byte at `at`.
fn write_str(at: *mut c_void, text: &str) {
    // SAFETY: every mapping here is at least a page long, and every text far shorter.
    unsafe {
        ptr::copy_nonoverlapping(text.as_ptr(), at.cast::<u8>(), text.len());
        ptr::write_volatile(at.cast::<u8>().add(text.len()), 0);
    }
}

/// The zero-terminated text at `at` (at most 64 bytes).
fn read_str(at: *mut c_void) -> String {
    // SAFETY: every mapping here is readable and at least 64 bytes long; volatile, because
    // another process (the child) may have written these bytes since this one last looked.
    let bytes: Vec<u8> = (0..64).map(|i| unsafe { ptr::read_volatile(at.cast::<u8>().add(i)) }).collect();
    text(&bytes)
}

/// The zero-terminated text at the start of the file, read with pread(2).
fn pread_str(path: &Path) -> String {
    let mut bytes = [0u8; 64];
    File::open(path).and_then(|f| f.read_at(&mut bytes, 0)).expect("pread the file");
    text(&bytes)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes.split(|&b| b == 0).next().unwrap_or_default()).into_owned()
}

/// The maps line of the region that contains `at`.
fn line_of(at: *mut c_void) -> String {
    let map = Snapshot::of_self().expect("read /proc/self/maps");
    map.find(at as usize).map_or("(not mapped)".into(), ToString::to_string)
}

/// Dirty bytes (Shared_Dirty + Private_Dirty) of the region that starts at `at`, from smaps.
fn dirty_bytes(at: *mut c_void) -> usize {
    let usage = region_usage(None, at as usize).expect("read smaps").expect("the region is in smaps");
    (usage.shared_dirty + usage.private_dirty) as usize
}
