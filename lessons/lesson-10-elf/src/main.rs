//! Lesson 10: how an ELF file becomes a memory map.
//!
//! Run it: `cargo run -p lesson-10-elf` (add `-- --pause` to compare the map
//! yourself with `readelf -lW` from another terminal).

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::AtomicU8;
use std::time::Duration;

use goblin::elf::Elf;
use goblin::elf::header::{ET_DYN, ET_EXEC, et_to_str, machine_to_str};
use goblin::elf::program_header::{PF_R, PF_W, PF_X, PT_GNU_RELRO, PT_LOAD, PT_PHDR, ProgramHeader, pt_to_str};
use nix::sys::signal::Signal;
use workbook::maps::{Backing, Region, Snapshot};
use workbook::proc_pid;
use workbook::report::addr;
use workbook::sys::{page_size, round_up_to_page};
use workbook::{Lesson, size};

// ANCHOR: bss_static
/// 256 KiB of zeros in `.bss`: more than any page size, so part of this
/// program's bss surely lies past the last page the file provides.
static ZEROED: [AtomicU8; 256 * 1024] = [const { AtomicU8::new(0) }; 256 * 1024];
// ANCHOR_END: bss_static

fn main() -> ExitCode {
    let lesson = Lesson::start(
        "lesson-10-elf",
        "Lesson 10 · elf: from an executable file to a memory map",
        "The kernel and the dynamic loader map an ELF file's PT_LOAD segments; /proc/PID/maps shows where.",
    );
    lesson.show("page size (sysconf _SC_PAGESIZE)", size(page_size()));
    std::hint::black_box(&ZEROED); // used, so the linker keeps it

    // ANCHOR: header
    lesson.step("This program's own file: the ELF header");
    let exe = fs::read_link("/proc/self/exe").expect("readlink /proc/self/exe").to_string_lossy().into_owned();
    let bytes = fs::read("/proc/self/exe").expect("read /proc/self/exe");
    let elf = Elf::parse(&bytes).expect("this program is an ELF file goblin can read");
    lesson.show("file", &exe);
    let magic: Vec<String> = bytes[..4].iter().map(|b| format!("{b:02x}")).collect();
    lesson.check("the first four bytes are the ELF magic \\x7fELF", magic.join(" "), bytes.starts_with(b"\x7fELF"));
    show_header(&lesson, &elf);
    // ANCHOR_END: header

    // ANCHOR: segments
    lesson.step("Its main sections, and the PT_LOAD segment that holds each");
    for name in [".rodata", ".text", ".data.rel.ro", ".got", ".data", ".bss"] {
        // Sections are the linker's view, segments the loader's: each section lies inside one PT_LOAD.
        let Some(section) = elf.section_headers.iter().find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(name)) else {
            continue; // another linker may not make this section
        };
        let (from, len) = (section.sh_addr, section.sh_size);
        let load = loads(&elf).enumerate().find(|(_, h)| (h.p_vaddr..h.p_vaddr + h.p_memsz).contains(&from));
        let load = load.map_or("no LOAD".into(), |(i, h)| format!("LOAD {i} ({})", flags(h)));
        lesson.say(format!("{name:<13} vaddr {from:#x}, size {len:#x}, in {load}"));
    }
    // ANCHOR_END: segments

    // ANCHOR: match_self
    lesson.step("Match the file to /proc/self/maps: bias, segments, RELRO, bss, entry");
    let map = Snapshot::of_self().expect("read /proc/self/maps");
    // SAFETY: getauxval only reads the auxiliary vector the kernel passed to this program.
    let (at_entry, at_phdr) = unsafe { (libc::getauxval(libc::AT_ENTRY), libc::getauxval(libc::AT_PHDR)) };
    let bias = match_file(&lesson, &elf, &map, &exe, at_entry as usize);
    // ld.so finds the bias another way: where the program headers are in memory (AT_PHDR) − PT_PHDR's vaddr.
    if let Some(phdr) = elf.program_headers.iter().find(|h| h.p_type == PT_PHDR) {
        let from_phdr = (at_phdr as usize).wrapping_sub(phdr.p_vaddr as usize);
        lesson.check("ld.so's way: AT_PHDR − PT_PHDR's vaddr = the same bias", addr(from_phdr), from_phdr == bias);
    }
    lesson.show("main() is not the entry point: _start runs first", addr(main as fn() -> ExitCode as usize));
    lesson.pause("compare the map with the file", &[format!("cat /proc/{}/maps", std::process::id())]);
    // ANCHOR_END: match_self

    // ANCHOR: sleep
    lesson.step("The same for another program: sleep 30");
    let mut command = Command::new("sleep");
    // If this lesson is interrupted, sleep dies with it instead of lingering for 30 s.
    workbook::child::dies_with_this_process(command.arg("30").stdin(Stdio::null()));
    let mut sleep = command.spawn().expect("start `sleep 30`");
    let pid = sleep.id() as i32;
    // Its loader finishes (libraries mapped, RELRO protected) before sleep calls nanosleep: wait for that.
    let nanosleep = [libc::SYS_clock_nanosleep, libc::SYS_nanosleep];
    if !proc_pid::wait_for_syscall(pid, &nanosleep, Duration::from_secs(2)) {
        lesson.say("sleep was not in nanosleep after 2 s: its loader may not have finished");
    }
    let path =
        fs::read_link(format!("/proc/{pid}/exe")).expect("readlink /proc/PID/exe").to_string_lossy().into_owned();
    let file = fs::read(&path).expect("read the sleep executable");
    let sleep_elf = Elf::parse(&file).expect("sleep is an ELF file goblin can read");
    let sleep_map = Snapshot::of_pid(pid).expect("read /proc/PID/maps of our own child");
    lesson.show("file", &path);
    show_header(&lesson, &sleep_elf);
    let at_entry = proc_pid::aux_value(Some(pid), libc::AT_ENTRY).expect("read /proc/PID/auxv of our child");
    match_file(&lesson, &sleep_elf, &sleep_map, &path, at_entry.unwrap_or(0));
    lesson.pause(
        &format!("sleep, pid {pid}, is still running"),
        &[format!("cat /proc/{pid}/maps"), format!("readelf -lW {path}")],
    );
    sleep.kill().expect("kill sleep");
    let status = sleep.wait().expect("wait for sleep");
    let gone = !std::path::Path::new(&format!("/proc/{pid}")).exists(); // reaped: no zombie left
    let signal = status.signal().and_then(|s| Signal::try_from(s).ok()).map_or("no signal", Signal::as_str);
    let ending = format!("killed by {signal}, its /proc entry {}", if gone { "gone" } else { "still there" });
    lesson.check("sleep, killed and reaped", ending, status.signal() == Some(libc::SIGKILL) && gone);
    // ANCHOR_END: sleep

    lesson.finish()
}

// ANCHOR: helpers
/// The PT_LOAD program headers, in file order (which is also address order).
fn loads<'a>(elf: &'a Elf) -> impl Iterator<Item = &'a ProgramHeader> {
    elf.program_headers.iter().filter(|h| h.p_type == PT_LOAD)
}

/// Segment flags as readelf prints them: "R E", "RW".
fn flags(h: &ProgramHeader) -> String {
    let flag = |bit: u32, letter: &'static str| if h.p_flags & bit != 0 { letter } else { " " };
    format!("{}{}{}", flag(PF_R, "R"), flag(PF_W, "W"), flag(PF_X, "E")).trim_end().to_string()
}

/// The lines of a map that show one file.
fn lines_of<'a>(map: &'a Snapshot, file: &str) -> Vec<&'a Region> {
    map.regions.iter().filter(|r| matches!(&r.backing, Backing::File { path, .. } if path == file)).collect()
}

fn page_down(n: u64) -> usize {
    n as usize / page_size() * page_size()
}

fn show_header(lesson: &Lesson, elf: &Elf) {
    let kind = match (elf.header.e_type, elf.interpreter) {
        (ET_DYN, Some(_)) => "a position-independent executable (PIE), loadable at any address",
        (ET_EXEC, _) => "a fixed-address executable, loaded where its vaddrs say",
        (ET_DYN, None) => "position-independent with no interpreter: a static PIE (or a shared library)",
        _ => "not an executable",
    };
    let class = if elf.is_64 { "ELF64" } else { "ELF32" };
    let machine = machine_to_str(elf.header.e_machine);
    lesson.show("class, machine, type", format!("{class}, {machine}, ET_{} — {kind}", et_to_str(elf.header.e_type)));
    lesson.show("interpreter (PT_INTERP)", elf.interpreter.unwrap_or("none: statically linked"));
    lesson.show("entry point in the file (e_entry)", format!("{:#x}", elf.header.e_entry));
    let kinds: Vec<&str> = elf.program_headers.iter().map(|h| pt_to_str(h.p_type).trim_start_matches("PT_")).collect();
    lesson.show("program headers", kinds.join(" "));
}

/// Everything the file says about its memory, checked against the map; returns the load bias.
fn match_file(lesson: &Lesson, elf: &Elf, map: &Snapshot, file: &str, at_entry: usize) -> usize {
    // The load bias: where the first PT_LOAD landed, minus where the file asked for it.
    let first = loads(elf).next().expect("an executable has a PT_LOAD");
    let lowest = lines_of(map, file).into_iter().next().expect("the file is mapped");
    let bias = lowest.start - page_down(first.p_vaddr);
    lesson.show("load bias = first line's start − first PT_LOAD's vaddr rounded down", addr(bias));
    let fixed = elf.header.e_type == ET_EXEC;
    lesson.check("the bias is 0 exactly when the type is ET_EXEC", addr(bias), (bias == 0) == fixed);
    match_segments(lesson, elf, map, file, bias);
    check_relro(lesson, elf, map, file, bias);
    check_bss(lesson, elf, map, bias);
    let entry = bias + elf.header.e_entry as usize;
    lesson.check("AT_ENTRY (the runtime entry) = bias + e_entry", addr(at_entry), at_entry == entry);
    let code = map.find(entry).map_or("not mapped".into(), |r| r.perms.to_string());
    lesson.check("the entry point is in executable code", &code, code == "r-xp");
    bias
}

/// Every PT_LOAD: its lines start at bias + vaddr and at its file offset (both rounded down to a
/// page), with its flags as permissions (minus w where RELRO was made read-only).
fn match_segments(lesson: &Lesson, elf: &Elf, map: &Snapshot, file: &str, bias: usize) {
    let relro = elf.program_headers.iter().find(|h| h.p_type == PT_GNU_RELRO);
    let relro = relro.map_or(0..0, |r| bias + page_down(r.p_vaddr)..bias + page_down(r.p_vaddr + r.p_memsz));
    for (i, h) in loads(elf).enumerate() {
        let start = bias + page_down(h.p_vaddr);
        let end = round_up_to_page(bias + (h.p_vaddr + h.p_filesz) as usize);
        let lines: Vec<&Region> =
            lines_of(map, file).into_iter().filter(|r| r.start >= start && r.end <= end).collect();
        let (offset, vaddr, filesz, memsz) = (h.p_offset, h.p_vaddr, h.p_filesz, h.p_memsz);
        lesson.say(format!(
            "LOAD {i} ({}): offset {offset:#x}, vaddr {vaddr:#x}, filesz {filesz:#x}, memsz {memsz:#x}",
            flags(h)
        ));
        lines.iter().for_each(|line| lesson.quote("maps:", line));
        let (line_start, line_offset) = lines.first().map_or((0, 0), |r| (r.start, r.offset as usize));
        lesson.check("bias + vaddr, rounded down to a page = start of its line", addr(line_start), line_start == start);
        let same = line_offset == page_down(h.p_offset);
        lesson.check("offset rounded down to a page = maps offset", format!("{line_offset:#x}"), same);
        let wanted = |r: &&Region| {
            let write = h.p_flags & PF_W != 0 && !relro.contains(&r.start);
            (r.perms.read, r.perms.write, r.perms.exec) == (h.p_flags & PF_R != 0, write, h.p_flags & PF_X != 0)
        };
        let perms: Vec<String> = lines.iter().map(|r| r.perms.to_string()).collect();
        let held = !lines.is_empty() && lines.iter().all(wanted);
        lesson.check("flags = permissions, RELRO pages without w", perms.join(" "), held);
    }
}

/// PT_GNU_RELRO: data the loader fills in at start-up (relocations), then makes read-only.
fn check_relro(lesson: &Lesson, elf: &Elf, map: &Snapshot, file: &str, bias: usize) {
    let Some(relro) = elf.program_headers.iter().find(|h| h.p_type == PT_GNU_RELRO) else {
        lesson.say("no PT_GNU_RELRO in this file: nothing is made read-only after relocation");
        return;
    };
    // The loader protects whole pages: from the first page of RELRO to the last page it covers entirely.
    let (from, to) = (bias + page_down(relro.p_vaddr), bias + page_down(relro.p_vaddr + relro.p_memsz));
    lesson.say(format!("PT_GNU_RELRO covers vaddr {:#x} + {:#x}", relro.p_vaddr, relro.p_memsz));
    if from == to {
        return lesson.say("it covers no whole page, so there is nothing to make read-only");
    }
    let lines: Vec<&Region> = lines_of(map, file).into_iter().filter(|r| r.start < to && r.end > from).collect();
    let covered = lines.first().is_some_and(|r| r.start <= from) && lines.last().is_some_and(|r| r.end >= to);
    let read_only = lines.iter().all(|r| r.perms.to_string() == "r--p");
    let perms: Vec<String> = lines.iter().map(|r| r.perms.to_string()).collect();
    lesson.check("its pages, RW in the file, are read-only after relocation", perms.join(" "), covered && read_only);
}

/// The last PT_LOAD asks for more memory than the file holds: the rest is bss, zero-filled. The part
/// past the file's last page is anonymous memory; a small bss may fit in that last page instead.
fn check_bss(lesson: &Lesson, elf: &Elf, map: &Snapshot, bias: usize) {
    let last = loads(elf).last().expect("a PT_LOAD");
    let (memsz, filesz) = (last.p_memsz, last.p_filesz);
    if memsz == filesz {
        return lesson.say("the last PT_LOAD has memsz = filesz: this file has no bss");
    }
    lesson.say(format!("last PT_LOAD: memsz {memsz:#x} − filesz {filesz:#x} = {:#x} bytes of bss", memsz - filesz));
    let file_end = round_up_to_page(bias + (last.p_vaddr + filesz) as usize);
    let line = map.find(bias + (last.p_vaddr + memsz) as usize - 1).expect("the end of the bss is mapped");
    let anonymous = line.backing == Backing::Anonymous;
    let found = format!("{} {}", line.perms, if anonymous { "anonymous" } else { "in the file's last page" });
    let held = line.perms.to_string() == "rw-p" && (!anonymous || line.start == file_end);
    lesson.check("memsz > filesz; the bss ends in rw-p memory right after the file's pages", found, held);
    if anonymous {
        lesson.quote("the bss past the file:", line);
    }
}

// ANCHOR_END: helpers
