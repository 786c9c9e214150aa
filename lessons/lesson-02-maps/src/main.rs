//! Lesson 02: a tour of the address space, read from /proc/self/maps.
//!
//! Run it: `cargo run -p lesson-02-maps` (add `-- --pause` to read the same
//! map yourself from another terminal while the lesson waits).

use std::os::unix::fs::MetadataExt;
use std::process::ExitCode;
use std::ptr;
use std::sync::atomic::{AtomicU8, AtomicU64};

use libc::{MAP_ANONYMOUS, MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE};
use nix::errno::Errno;
use workbook::child::run_in_child;
use workbook::maps::{Backing, Perms, Region, Snapshot};
use workbook::report::addr;
use workbook::sys::{page_size, round_up_to_page};
use workbook::{Lesson, size};

const MIB: usize = 1024 * 1024;

// ANCHOR: objects
/// A string literal: its bytes are stored in the executable, in a read-only section.
const GREETING: &str = "hello from a string literal";
/// An initialized static that can change: `.data`, its bytes are stored in the executable.
static INITIALIZED: AtomicU64 = AtomicU64::new(42);
/// A zero-initialized static: `.bss`. The executable stores only its size; the
/// kernel hands out zero pages. Aligned to 64 KiB (at least one page on every
/// Linux machine) so it cannot share a page with `.data`.
#[repr(C, align(65536))]
struct Zeroed([AtomicU8; 65536]);
static ZEROED: Zeroed = Zeroed([const { AtomicU8::new(0) }; 65536]);
// ANCHOR_END: objects

fn main() -> ExitCode {
    let lesson = Lesson::start(
        "lesson-02-maps",
        "Lesson 02 · maps: a tour of the address space",
        "Every address a process uses lies in one line of /proc/self/maps; the line says what is there.",
    );
    let page = page_size();
    lesson.show("page size (sysconf _SC_PAGESIZE)", size(page));
    let exe = std::env::current_exe().expect("read /proc/self/exe").to_string_lossy().into_owned();

    // ANCHOR: tour
    lesson.step("A tour: where things live, low addresses to high");
    let local = 7u64; // a local variable, on the main thread's stack
    let small = Box::new([1u8; 64]); // small: malloc serves it from the brk heap
    let large = vec![0u8; MIB]; // large: malloc asks mmap for a region of its own
    // SAFETY: getauxval only reads the auxiliary vector the kernel gave this process.
    let vdso = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) } as usize;
    // Each stop: what it is, its address, and the maps line it must be in (permissions, then what backs it).
    let mut tour = vec![
        ("a function (main)", main as fn() -> ExitCode as usize, "r-xp the executable"),
        ("a string literal", GREETING.as_ptr() as usize, "r--p the executable"),
        ("an initialized static (.data)", &raw const INITIALIZED as usize, "rw-p the executable"),
        ("a zeroed static (.bss)", &raw const ZEROED as usize, "rw-p anonymous"),
        ("a 64-byte Box", &raw const *small as usize, "rw-p [heap]"),
        ("a 1 MiB Vec", large.as_ptr() as usize, "rw-p anonymous"),
        ("a local variable", &raw const local as usize, "rw-p [stack]"),
        ("the vdso (getauxval AT_SYSINFO_EHDR)", vdso, "r-xp [vdso]"),
    ];
    tour.retain(|&(_, address, _)| address != 0); // no vdso when the kernel was booted with vdso=0
    tour.sort_by_key(|&(_, address, _)| address);
    let map = Snapshot::of_self().expect("read /proc/self/maps");
    for (what, address, expected) in &tour {
        let region = map.find(*address).expect("every object of this process is in some mapped region");
        let found = describe(region, &exe);
        let line = format!("{:x}-{:x} {found}", region.start, region.end);
        lesson.check(&format!("{:<16} {what:<37}", addr(*address)), line, found == *expected);
    }
    // Areas the kernel names in brackets: [heap], [stack], [vdso], [vvar], [vsyscall], ... (they differ by machine)
    let bracketed =
        |r: &&Region| !matches!(r.backing, Backing::Anonymous | Backing::File { .. } | Backing::AnonNamed(_));
    let named: Vec<String> = map.regions.iter().filter(bracketed).map(Region::path_column).collect();
    lesson.show("areas the kernel named in this map", named.join(" "));
    lesson.pause("the tour is laid out", &[format!("cat /proc/{}/maps", std::process::id())]);
    // ANCHOR_END: tour

    // ANCHOR: fields
    lesson.step("One line, field by field: the line that holds main()");
    let text = map.find(main as fn() -> ExitCode as usize).expect("main is mapped").clone();
    lesson.quote("/proc/self/maps:", &text);
    lesson.show("start-end", format!("{:x}-{:x} — {}, end excluded", text.start, text.end, size(text.len())));
    lesson.show("perms", format!("{} — {}", text.perms, spell(text.perms)));
    lesson.show("offset", format!("{:08x} — its first byte is this far into the file", text.offset));
    lesson.show("device", format!("{:02x}:{:02x} — major:minor of the filesystem", text.device.0, text.device.1));
    lesson.show("inode", format!("{} — the file's number on that filesystem", text.inode));
    lesson.show("path", format!("{} — the file ([name] for kernel areas, empty if anonymous)", text.path_column()));
    let file = std::fs::metadata(&exe).expect("stat the executable");
    if (libc::major(file.dev()), libc::minor(file.dev()), file.ino()) == (text.device.0, text.device.1, text.inode) {
        lesson.check("device and inode are the ones stat() gives for the executable", "same", true);
    } else {
        lesson.say("stat() gives other numbers here: overlayfs and btrfs may show the underlying file's in maps");
    }
    let aligned = [text.start, text.end, text.offset as usize].iter().all(|n| n % page == 0);
    lesson.check("start, end and offset are whole pages", if aligned { "yes" } else { "no" }, aligned);
    // ANCHOR_END: fields

    // ANCHOR: perms
    lesson.step("The permission letters: r, w, x, and p or s");
    let literal = map.find(GREETING.as_ptr() as usize).expect("literal is mapped");
    let stack = map.find(&raw const local as usize).expect("the stack is mapped");
    lesson.quote("r: readable     ", literal);
    lesson.quote("w: writable     ", stack);
    lesson.quote("x: executable   ", &text);
    // SAFETY: a fresh one-page shared anonymous mapping, unmapped below.
    let shared =
        unsafe { libc::mmap(ptr::null_mut(), page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) };
    assert_ne!(shared, MAP_FAILED, "mmap of one shared page failed: {}", Errno::last());
    let shared_line = Snapshot::of_self().expect("read maps").find(shared as usize).cloned().expect("mapped");
    lesson.quote("s: MAP_SHARED   ", &shared_line);
    lesson.check("the MAP_SHARED page's line ends in s", shared_line.perms, shared_line.perms.shared);
    // SAFETY: unmapping the page mapped just above.
    unsafe { libc::munmap(shared, page) };
    lesson.check("the code is not writable", text.perms, !text.perms.write);
    lesson.check("the stack is not executable", stack.perms, !stack.perms.exec);
    let code = main as fn() -> ExitCode as *mut u8;
    let wrote = run_in_child(|| {
        // SAFETY: none: the child writes into read-only code on purpose, and dies of it.
        unsafe { ptr::write_volatile(code, 0) };
        0
    });
    let fault = wrote.fault.map(|f| (f.code_name(), f.addr));
    lesson.check("a child that writes into main()", wrote.describe(), fault == Some(("SEGV_ACCERR", code as usize)));
    let bytes = [0u8; 16];
    let on_stack = bytes.as_ptr();
    let jumped = run_in_child(|| {
        // SAFETY: none: the child calls bytes on its stack as code on purpose, and dies of it.
        let jump: extern "C" fn() = unsafe { std::mem::transmute(on_stack) };
        jump();
        0
    });
    let fault = jumped.fault.map(|f| (f.code_name(), f.addr));
    let held = stack.contains(on_stack as usize) && fault == Some(("SEGV_ACCERR", on_stack as usize));
    lesson.check("a child that jumps to bytes on its stack", jumped.describe(), held);
    // ANCHOR_END: perms

    // ANCHOR: brk
    lesson.step("Small allocations: malloc grows [heap] by moving the program break");
    // SAFETY: sbrk(0) moves nothing; it returns the current program break.
    let break_before = unsafe { libc::sbrk(0) } as usize;
    let blocks: Vec<Box<[u8; 1024]>> = (0..256).map(|_| Box::new([2u8; 1024])).collect();
    // SAFETY: as above.
    let break_after = unsafe { libc::sbrk(0) } as usize;
    let map = Snapshot::of_self().expect("read maps");
    let heap = map.regions.iter().find(|r| r.backing == Backing::Heap).expect("malloc made a [heap]");
    lesson.quote("[heap] now:", heap);
    lesson.say(format!("256 blocks of 1 KiB each; sbrk(0) was {}, is {}", addr(break_before), addr(break_after)));
    lesson.check("the program break moved up by", size(break_after - break_before), break_after > break_before);
    lesson.check("[heap] ends at the break", addr(heap.end), heap.end == round_up_to_page(break_after));
    let inside = blocks.iter().filter(|b| heap.contains(b.as_ptr() as usize)).count();
    lesson.check("blocks inside [heap]", format!("{inside} of {}", blocks.len()), inside == blocks.len());
    // ANCHOR_END: brk

    // ANCHOR: mmap
    lesson.step("A large allocation: malloc calls mmap, the break stays put");
    lesson.say("by default glibc's malloc serves blocks of 128 KiB and up (M_MMAP_THRESHOLD) with mmap");
    let before = Snapshot::of_self().expect("read maps");
    // SAFETY: as above.
    let break_before = unsafe { libc::sbrk(0) } as usize;
    let big = vec![0u8; MIB];
    // SAFETY: as above.
    let break_after = unsafe { libc::sbrk(0) } as usize;
    let after = Snapshot::of_self().expect("read maps");
    let diff = before.diff(&after);
    diff.removed.iter().for_each(|r| lesson.quote("- line gone:", r));
    diff.added.iter().for_each(|r| lesson.quote("+ new line: ", r));
    if !diff.removed.is_empty() {
        lesson.say("the kernel merged the new pages with an anonymous neighbour of the same permissions");
    }
    let region = after.find(big.as_ptr() as usize).expect("the block is mapped");
    lesson.check("the program break did not move", addr(break_after), break_after == break_before);
    let found = describe(region, &exe);
    lesson.check("the block is in an anonymous line", &found, found == "rw-p anonymous");
    let header = big.as_ptr() as usize % page;
    lesson.show("the block starts this far into its first page (malloc's header)", format!("{header} bytes"));
    let grown = mapped_bytes(&after) - mapped_bytes(&before);
    let expected = round_up_to_page(MIB + header);
    lesson.check("the address space grew by 1 MiB + header, in whole pages", size(grown), grown == expected);
    let look = format!("grep -A4 {:x} /proc/{}/smaps", region.start, std::process::id());
    lesson.pause("the 1 MiB block is mapped", &[look]);
    // ANCHOR_END: mmap

    lesson.finish()
}

// ANCHOR: helpers
/// How the tour names a line: its permissions, then the executable, another file, a kernel-named area,
/// or anonymous memory. For example "r-xp the executable" or "rw-p [heap]".
fn describe(region: &Region, exe: &str) -> String {
    let backing = match &region.backing {
        Backing::File { path, .. } if path == exe => "the executable".into(),
        Backing::File { path, .. } => path.rsplit('/').next().unwrap_or(path).to_string(),
        Backing::Anonymous => "anonymous".into(),
        _ => region.path_column(),
    };
    format!("{} {backing}", region.perms)
}

/// The four letters in words: "r-xp" is "read, no write, execute, private".
fn spell(perms: Perms) -> String {
    let can = |on: bool, what: &str| if on { what.to_string() } else { format!("no {what}") };
    let sharing = if perms.shared { "shared" } else { "private" };
    format!("{}, {}, {}, {sharing}", can(perms.read, "read"), can(perms.write, "write"), can(perms.exec, "execute"))
}

/// The size of the whole address space: the sum of every line's length.
fn mapped_bytes(map: &Snapshot) -> usize {
    map.regions.iter().map(Region::len).sum()
}
// ANCHOR_END: helpers
