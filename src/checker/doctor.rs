//! `cargo workbook doctor`: what this machine lets the lessons show.
//!
//! Each lesson adapts to its machine (root or not, huge pages on or off, ...).
//! The doctor reads the same settings the lessons read, prints them, and says
//! lesson by lesson what this learner will see and why, so that a surprise on
//! the day has an explanation before it happens. Nothing here may panic: a
//! file that is missing or masked (containers, WSL) is an "unknown (why)".

use std::process::Command;

use super::Outcome;
use super::Problem;
use super::style;

/// A fact about the machine, or why it could not be learned.
type Known<T> = Result<T, String>;

/// CAP_IPC_LOCK is bit 14 of the capability sets (linux/capability.h).
const CAP_IPC_LOCK: u32 = 14;
const THP: &str = "/sys/kernel/mm/transparent_hugepage";
/// Lesson 03 and 04 map 100 MiB; lesson 08's children lock up to 64 KiB.
const LESSON_REGION: usize = 100 * 1024 * 1024;
const LESSON_08_CHILD_LIMIT: u64 = 64 * 1024;

/// Everything the doctor looks at.
struct Machine {
    system: Known<(String, String, String)>,
    page_size: Known<usize>,
    thp_mode: Known<String>,
    huge_page: Known<usize>,
    overcommit: Known<String>,
    memlock: Known<(u64, u64)>,
    address_space_limited: bool,
    euid: u32,
    cap_ipc_lock: Known<bool>,
    frames: Known<bool>,
    anon_names: Known<bool>,
    core_limit: Known<u64>,
    core_pattern: Known<String>,
    aslr: Known<String>,
    rustc: Known<String>,
    sleep_found: bool,
}

pub fn doctor() -> Outcome {
    if let Err(reason) = can_run_here() {
        return Err(Problem::failed(format!("the workbook cannot run here: {reason}"))
            .with_hint("run it on Linux: a Linux laptop, a VM, WSL2 or a container (the book's instructors' pages)"));
    }
    let machine = Machine::inspect();
    println!("{}", style::heading("Your machine, as the workbook's lessons see it"));
    println!();
    for (what, value) in machine.facts() {
        println!("  {what:<18} {value}");
    }
    println!();
    println!("{}", style::heading("What each lesson will show you here, and why"));
    println!();
    for (lesson, prediction) in machine.predictions() {
        let lines = wrap(&prediction, 84);
        println!("  {lesson:<12} {}", lines.join(&format!("\n  {:<12} ", "")));
    }
    println!();
    println!("{}", style::good("The workbook can run here."));
    Ok(true)
}

/// The workbook needs Linux, a readable /proc and a page size.
fn can_run_here() -> Result<(), String> {
    match uname() {
        Ok((name, _, _)) if name == "Linux" => {}
        Ok((name, _, _)) => return Err(format!("this is {name}, not Linux")),
        Err(why) => return Err(format!("uname failed ({why})")),
    }
    if let Err(e) = std::fs::read_to_string("/proc/self/status") {
        return Err(format!("/proc/self/status is unreadable ({e}): is /proc mounted?"));
    }
    page_size().map(|_| ())
}

impl Machine {
    fn inspect() -> Machine {
        let page_size = page_size();
        Machine {
            system: uname(),
            thp_mode: read_trimmed(&format!("{THP}/enabled")).map(|line| bracketed(&line)),
            huge_page: read_trimmed(&format!("{THP}/hpage_pmd_size")).and_then(|s| number(&s)),
            overcommit: read_trimmed("/proc/sys/vm/overcommit_memory"),
            memlock: rlimit(libc::RLIMIT_MEMLOCK),
            address_space_limited: rlimit(libc::RLIMIT_AS).is_ok_and(|(soft, _)| soft != libc::RLIM_INFINITY),
            // SAFETY: geteuid has no arguments and cannot fail.
            euid: unsafe { libc::geteuid() },
            cap_ipc_lock: has_capability(CAP_IPC_LOCK),
            frames: page_size.clone().and_then(frames_readable),
            anon_names: page_size.clone().and_then(anon_names_work),
            core_limit: rlimit(libc::RLIMIT_CORE).map(|(soft, _)| soft),
            core_pattern: read_trimmed("/proc/sys/kernel/core_pattern"),
            aslr: read_trimmed("/proc/sys/kernel/randomize_va_space"),
            rustc: rustc_version(),
            sleep_found: program_on_path("sleep"),
            page_size,
        }
    }

    /// The settings, one (name, value) pair per line.
    fn facts(&self) -> Vec<(&'static str, String)> {
        vec![
            ("system", self.system.as_ref().map(|(n, r, a)| format!("{n} {r}, {a}")).unwrap_or_else(unknown)),
            (
                "page size",
                self.page_size.as_ref().map(|&p| format!("{} (sysconf)", human(p as u64))).unwrap_or_else(unknown),
            ),
            ("huge pages (THP)", self.thp_fact()),
            (
                "overcommit",
                self.overcommit.as_ref().map(|m| format!("{m} ({})", overcommit_name(m))).unwrap_or_else(unknown),
            ),
            (
                "ulimit -l",
                self.memlock
                    .as_ref()
                    .map(|&(s, h)| format!("soft {}, hard {}", limit(s), limit(h)))
                    .unwrap_or_else(unknown),
            ),
            ("user", self.user_fact()),
            ("pagemap frames", yes_no(&self.frames, "readable", "hidden (they read as 0 without CAP_SYS_ADMIN)")),
            (
                "named anon memory",
                yes_no(&self.anon_names, "works ([anon:NAME] in maps)", "off (CONFIG_ANON_VMA_NAME)"),
            ),
            ("core dumps", self.core_fact()),
            ("ASLR", self.aslr.as_ref().map(|m| format!("{m} ({})", aslr_name(m))).unwrap_or_else(unknown)),
            ("Rust", self.rustc.clone().unwrap_or_else(|why| unknown(&why))),
        ]
    }

    fn thp_fact(&self) -> String {
        match (&self.thp_mode, &self.huge_page) {
            (Ok(mode), Ok(size)) => format!("{mode}, huge page {}", human(*size as u64)),
            (Ok(mode), Err(why)) => format!("{mode}, huge page size {}", unknown(why)),
            (Err(why), _) => unknown(why),
        }
    }

    fn user_fact(&self) -> String {
        let who = if self.euid == 0 { "root".to_string() } else { format!("uid {}, not root", self.euid) };
        let cap = yes_no(&self.cap_ipc_lock, "with CAP_IPC_LOCK", "without CAP_IPC_LOCK");
        format!("{who}, {cap}")
    }

    fn core_fact(&self) -> String {
        let limit = self.core_limit.as_ref().map(|&l| limit(l)).unwrap_or_else(unknown);
        let pattern = self.core_pattern.as_ref().map(|p| format!("{p:?}")).unwrap_or_else(unknown);
        format!("ulimit -c {limit}, core_pattern {pattern}")
    }

    /// One line per lesson: what it will show on this machine, and why.
    fn predictions(&self) -> Vec<(&'static str, String)> {
        vec![
            ("01 segv", self.predict_segv()),
            ("02 maps", self.predict_maps()),
            ("03 mmap", self.predict_mmap()),
            ("04 paging", self.predict_paging()),
            ("05 filemap", "nothing here changes it: every kind of mapping behaves as the chapter says".into()),
            ("06 cow", self.predict_cow()),
            ("07 mprotect", format!("the guard page is one page: {}", self.page_text())),
            ("08 mlock", self.predict_mlock()),
            (
                "09 smaps",
                "nothing here changes it: huge pages are turned off for the lesson, Pss splits exactly".into(),
            ),
            ("10 elf", self.predict_elf()),
        ]
    }

    fn page_text(&self) -> String {
        self.page_size.as_ref().map(|&p| human(p as u64)).unwrap_or_else(unknown)
    }

    fn predict_segv(&self) -> String {
        let pattern = match &self.core_pattern {
            Ok(p) if p.starts_with('|') => "cores here go to a program (core_pattern starts with |)".to_string(),
            Ok(p) => format!("cores here would be files named from {p:?}"),
            Err(why) => format!("where cores go is {}", unknown(why)),
        };
        format!("shows your core limit and {pattern}; its crashing children set their own limit to 0, so no core file")
    }

    fn predict_maps(&self) -> String {
        match self.aslr.as_deref() {
            Ok("0") => "ASLR is off (0): the addresses repeat from run to run".into(),
            Ok(_) => "ASLR is on: the addresses change every run, the order of the regions does not".into(),
            Err(why) => format!("ASLR is {}: compare the addresses of two runs", unknown(why)),
        }
    }

    fn predict_mmap(&self) -> String {
        match self.page_size.as_ref() {
            Ok(&page) => format!(
                "turns huge pages off for itself (prctl), so it expects one fault per page: {} faults for 100 MiB",
                LESSON_REGION / page
            ),
            Err(why) => format!("page size {}", unknown(why)),
        }
    }

    fn predict_paging(&self) -> String {
        let huge = match (&self.thp_mode, self.huge_page.as_ref()) {
            (Err(_), _) | (_, Err(_)) => "THP missing: the lesson will say huge pages are off".to_string(),
            (Ok(mode), _) if mode == "never" => "THP never: the lesson will say huge pages are off".to_string(),
            (Ok(_), Ok(&size)) if size == 0 || size > LESSON_REGION => {
                format!("huge pages of {} do not fit in 100 MiB: the lesson says so", human(size as u64))
            }
            (Ok(mode), Ok(&size)) => format!(
                "THP {mode}: the lesson opts in with MADV_HUGEPAGE and expects ~{} faults for 100 MiB \
                 (or says no free {} block was found)",
                LESSON_REGION / size,
                human(size as u64)
            ),
        };
        format!("{huge}; {}", self.predict_overcommit())
    }

    fn predict_overcommit(&self) -> String {
        if self.address_space_limited {
            return "`ulimit -v` is set, so it skips the overcommit test".into();
        }
        match self.overcommit.as_deref() {
            Ok("0") => "overcommit 0: 2 × (RAM + swap) is refused, but mapped with MAP_NORESERVE".into(),
            Ok("1") => "overcommit 1: 2 × (RAM + swap) is mapped, with or without MAP_NORESERVE".into(),
            Ok("2") => "overcommit 2: 2 × (RAM + swap) is refused, even with MAP_NORESERVE".into(),
            Ok(other) => format!("overcommit mode {other:?} is one the lesson does not know"),
            Err(why) => format!("overcommit mode {}", unknown(why)),
        }
    }

    fn predict_cow(&self) -> String {
        match &self.frames {
            Ok(true) => {
                "frame numbers readable: it shows one frame shared after fork, a new one after the write".into()
            }
            Ok(false) => {
                let why = if self.euid == 0 { "no CAP_SYS_ADMIN" } else { "not root" };
                format!("frame numbers hidden ({why}): the lesson shows the exclusive bit instead")
            }
            Err(why) => format!("pagemap {}: the lesson needs /proc/self/pagemap", unknown(why)),
        }
    }

    fn predict_mlock(&self) -> String {
        let who = if self.euid == 0 { "you are root" } else { "you are not root" };
        let Ok((soft, hard)) = self.memlock else { return "ulimit -l is unknown: the lesson reads it itself".into() };
        match (&self.cap_ipc_lock, self.page_size.as_ref()) {
            (Ok(true), _) => format!(
                "{who} with CAP_IPC_LOCK: the lesson shows the limit bypassed, then drops the capability in a child"
            ),
            (Ok(false), Ok(&page)) if soft < page as u64 => format!(
                "{who}, without CAP_IPC_LOCK, and ulimit -l ({}) is below one page: the lesson stops after its \
                 first step and asks for `ulimit -l 64`",
                limit(soft)
            ),
            (Ok(false), Ok(&page)) => format!(
                "{who}, without CAP_IPC_LOCK: your limit applies; a child locks {} and fails with ENOMEM one page later",
                human(LESSON_08_CHILD_LIMIT.min(hard) / page as u64 * page as u64)
            ),
            (Err(why), _) | (_, Err(why)) => format!("CAP_IPC_LOCK or page size {}", unknown(why)),
        }
    }

    fn predict_elf(&self) -> String {
        if self.sleep_found {
            "reads its own ELF file and maps, then those of `sleep 30`".into()
        } else {
            "`sleep` is not on your PATH: its last step, which runs `sleep 30`, will fail".into()
        }
    }
}

/// "unknown (why)": how every fact that could not be learned is shown.
fn unknown(why: &String) -> String {
    format!("unknown ({why})")
}

fn yes_no(fact: &Known<bool>, yes: &str, no: &str) -> String {
    match fact {
        Ok(true) => yes.to_string(),
        Ok(false) => no.to_string(),
        Err(why) => unknown(why),
    }
}

fn read_trimmed(path: &str) -> Known<String> {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).map_err(|e| format!("{path}: {e}"))
}

fn number(text: &str) -> Known<usize> {
    text.trim().parse().map_err(|_| format!("not a number: {text:?}"))
}

/// "always [madvise] never" -> "madvise": the kernel marks the mode in use.
fn bracketed(line: &str) -> String {
    match line.split_once('[').and_then(|(_, rest)| rest.split_once(']')) {
        Some((mode, _)) => mode.to_string(),
        None => line.to_string(),
    }
}

fn overcommit_name(mode: &str) -> &'static str {
    match mode {
        "0" => "heuristic",
        "1" => "always",
        "2" => "strict",
        _ => "unknown mode",
    }
}

fn aslr_name(mode: &str) -> &'static str {
    match mode {
        "0" => "off",
        "1" => "stack, libraries and mmap randomized",
        "2" => "full: heap randomized too",
        _ => "unknown mode",
    }
}

/// 4096 -> "4 KiB", 2097152 -> "2 MiB", 1000 -> "1000 bytes".
fn human(bytes: u64) -> String {
    const KIB: u64 = 1024;
    match bytes {
        0 => "0 bytes".into(),
        b if b % (KIB * KIB) == 0 => format!("{} MiB", b / (KIB * KIB)),
        b if b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

fn limit(value: u64) -> String {
    match value {
        libc::RLIM_INFINITY => "unlimited".into(),
        0 => "0".into(),
        bytes => human(bytes),
    }
}

/// Break `text` into lines of at most `width` characters, at spaces, so that
/// the predictions read well in an 80-to-100-column terminal.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("starts with one line");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// (sysname, release, machine) from uname(2).
fn uname() -> Known<(String, String, String)> {
    // SAFETY: utsname is plain bytes; uname fills the struct we own.
    let mut names: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `names` is a valid, writable utsname.
    if unsafe { libc::uname(&mut names) } != 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    let text = |field: &[libc::c_char]| {
        let bytes: Vec<u8> = field.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Ok((text(&names.sysname), text(&names.release), text(&names.machine)))
}

fn page_size() -> Known<usize> {
    // SAFETY: sysconf takes a plain integer.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        size if size > 0 => Ok(size as usize),
        _ => Err("sysconf(_SC_PAGESIZE) gave no page size".into()),
    }
}

fn rlimit(resource: libc::__rlimit_resource_t) -> Known<(u64, u64)> {
    let mut value = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills the struct we own.
    if unsafe { libc::getrlimit(resource, &mut value) } != 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    Ok((value.rlim_cur, value.rlim_max))
}

/// Whether capability `bit` is in this process's effective set (CapEff, hex).
fn has_capability(bit: u32) -> Known<bool> {
    workbook::smaps::has_effective_capability(None, bit).map_err(|e| format!("/proc/self/status: {e}"))
}

/// A private anonymous mapping of one page, unmapped when dropped.
struct OnePage {
    address: *mut libc::c_void,
    size: usize,
}

impl OnePage {
    fn map(size: usize) -> Known<OnePage> {
        let protection = libc::PROT_READ | libc::PROT_WRITE;
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let address = unsafe {
            libc::mmap(std::ptr::null_mut(), size, protection, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
        };
        if address == libc::MAP_FAILED {
            return Err(format!("mmap of one page failed: {}", std::io::Error::last_os_error()));
        }
        Ok(OnePage { address, size })
    }
}

impl Drop for OnePage {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping, which nothing refers to any more.
        unsafe { libc::munmap(self.address, self.size) };
    }
}

/// Touch a page and read its pagemap entry: a frame number means this process
/// may see physical frames (without CAP_SYS_ADMIN they read as 0).
fn frames_readable(page: usize) -> Known<bool> {
    let mapping = OnePage::map(page)?;
    // SAFETY: the first byte of our own writable mapping; volatile so the page really arrives.
    unsafe { std::ptr::write_volatile(mapping.address.cast::<u8>(), 1) };
    let entry =
        workbook::pagemap::entry(None, mapping.address as usize).map_err(|e| format!("/proc/self/pagemap: {e}"))?;
    Ok(entry.frame().is_some())
}

/// Name a fresh mapping with prctl(PR_SET_VMA_ANON_NAME) and look for
/// `[anon:NAME]` in /proc/self/maps. EINVAL: the kernel lacks CONFIG_ANON_VMA_NAME.
fn anon_names_work(page: usize) -> Known<bool> {
    const NAME: &std::ffi::CStr = c"workbook-doctor";
    let mapping = OnePage::map(page)?;
    let (option, set) = (libc::PR_SET_VMA, libc::PR_SET_VMA_ANON_NAME as libc::c_ulong);
    // SAFETY: names our own mapping; the name is a NUL-terminated string that outlives the call.
    let result = unsafe { libc::prctl(option, set, mapping.address as libc::c_ulong, page, NAME.as_ptr()) };
    if result != 0 {
        let error = std::io::Error::last_os_error();
        return match error.raw_os_error() {
            Some(libc::EINVAL) => Ok(false),
            _ => Err(format!("prctl(PR_SET_VMA_ANON_NAME): {error}")),
        };
    }
    let maps = std::fs::read_to_string("/proc/self/maps").map_err(|e| format!("/proc/self/maps: {e}"))?;
    Ok(maps.contains("[anon:workbook-doctor]"))
}

fn rustc_version() -> Known<String> {
    let output = Command::new("rustc").arg("--version").output().map_err(|e| format!("rustc: {e}"))?;
    if !output.status.success() {
        return Err(format!("rustc --version: {}", output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn program_on_path(name: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join(name).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernels_settings_words() {
        assert_eq!(bracketed("always [madvise] never"), "madvise");
        assert_eq!(bracketed("[never]"), "never");
        assert_eq!(bracketed("garbage"), "garbage");
        assert_eq!(human(4096), "4 KiB");
        assert_eq!(human(2 * 1024 * 1024), "2 MiB");
        assert_eq!(human(1000), "1000 bytes");
        assert_eq!(limit(libc::RLIM_INFINITY), "unlimited");
        assert!(number("x").is_err());
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
    }

    #[test]
    fn inspects_this_machine_without_panicking() {
        let machine = Machine::inspect();
        assert_eq!(machine.facts().len(), 11);
        assert_eq!(machine.predictions().len(), 10);
    }
}
