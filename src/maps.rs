//! `/proc/PID/maps`: one line per virtual memory area (VMA) of a process.
//!
//! ```text
//! 7f3a1c000000-7f3a22400000 rw-p 00000000 00:00 0                          [anon:demo]
//! └ start ─────┘ └ end ────┘ perms offset  dev   inode                      path
//! ```
//! The path column tells what backs the area: a file, a special area the
//! kernel names in brackets (`[heap]`, `[stack]`, `[vdso]`, ...), or nothing
//! at all (an anonymous mapping).

use std::fmt;
use std::io;

/// The four permission letters of a maps line, such as `r-xp` or `rw-s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    /// `s`: writes are shared with every process that maps the same object.
    /// `p`: private, a write makes a private copy of the page (copy-on-write).
    pub shared: bool,
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flag = |on: bool, letter: char| if on { letter } else { '-' };
        write!(
            f,
            "{}{}{}{}",
            flag(self.read, 'r'),
            flag(self.write, 'w'),
            flag(self.exec, 'x'),
            if self.shared { 's' } else { 'p' }
        )
    }
}

/// What backs a region, from the last column of a maps line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backing {
    /// No path: anonymous memory from `mmap(MAP_ANONYMOUS)`, a thread stack, a malloc arena.
    Anonymous,
    /// A mapped file. `deleted` is set when the file was removed after it was mapped.
    File { path: String, deleted: bool },
    /// `[heap]`: the area grown by `brk`.
    Heap,
    /// `[stack]`: the main thread's stack.
    Stack,
    /// `[vdso]`: code the kernel maps into every process so some system calls need no kernel entry.
    Vdso,
    /// `[vvar]` (and on newer kernels `[vvar_vclock]`): data the vdso reads, such as the clock.
    Vvar(String),
    /// `[vsyscall]`: the legacy fixed-address page of x86_64.
    Vsyscall,
    /// `[anon:NAME]`: an anonymous mapping named with `prctl(PR_SET_VMA_ANON_NAME)`.
    AnonNamed(String),
    /// Any other bracketed name the kernel uses (`[uprobes]`, `[anon_shmem:NAME]`, ...).
    Special(String),
}

/// One line of `/proc/PID/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub start: usize,
    /// One past the last byte: the region covers `start..end`.
    pub end: usize,
    pub perms: Perms,
    /// Offset into the backing file (0 for anonymous memory).
    pub offset: u64,
    /// Device of the backing file as `major:minor` in hex, `00:00` when there is none.
    pub device: (u32, u32),
    /// Inode of the backing file, 0 when there is none.
    pub inode: u64,
    pub backing: Backing,
}

impl Region {
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn contains(&self, addr: usize) -> bool {
        (self.start..self.end).contains(&addr)
    }

    /// The path column as the kernel prints it ("" for anonymous memory).
    pub fn path_column(&self) -> String {
        match &self.backing {
            Backing::Anonymous => String::new(),
            Backing::File { path, deleted } => {
                if *deleted {
                    format!("{path} (deleted)")
                } else {
                    path.clone()
                }
            }
            Backing::Heap => "[heap]".into(),
            Backing::Stack => "[stack]".into(),
            Backing::Vdso => "[vdso]".into(),
            Backing::Vvar(name) | Backing::Special(name) => format!("[{name}]"),
            Backing::Vsyscall => "[vsyscall]".into(),
            Backing::AnonNamed(name) => format!("[anon:{name}]"),
        }
    }
}

/// Prints the region back in the kernel's own format (without the column padding).
impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:08x}-{:08x} {} {:08x} {:02x}:{:02x} {}",
            self.start, self.end, self.perms, self.offset, self.device.0, self.device.1, self.inode
        )?;
        let path = self.path_column();
        if !path.is_empty() {
            write!(f, " {path}")?;
        }
        Ok(())
    }
}

/// Why a maps line could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: String,
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read maps line {:?}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// Parse one line of `/proc/PID/maps`.
pub fn parse_line(line: &str) -> Result<Region, ParseError> {
    let fail = |reason| ParseError { line: line.to_string(), reason };
    // The first five columns never contain spaces; the path is everything after
    // them (it may contain spaces itself), with the alignment padding removed.
    let mut rest = line.trim_end_matches('\n');
    let mut next_field = || {
        rest = rest.trim_start_matches(' ');
        let end = rest.find(' ').unwrap_or(rest.len());
        let (field, tail) = rest.split_at(end);
        rest = tail;
        field
    };
    let range = next_field();
    let perms = next_field();
    let offset = next_field();
    let device = next_field();
    let inode = next_field();
    let path = rest.trim_start_matches(' ');

    let (start, end) = range.split_once('-').ok_or(fail("no start-end range"))?;
    let hex = |s: &str| usize::from_str_radix(s, 16);
    let start = hex(start).map_err(|_| fail("start is not hex"))?;
    let end = hex(end).map_err(|_| fail("end is not hex"))?;
    if end < start {
        return Err(fail("end is below start"));
    }
    let perms = parse_perms(perms).ok_or(fail("permissions are not like rwxp"))?;
    let offset = u64::from_str_radix(offset, 16).map_err(|_| fail("offset is not hex"))?;
    let (major, minor) = device.split_once(':').ok_or(fail("device is not major:minor"))?;
    let major = u32::from_str_radix(major, 16).map_err(|_| fail("device major is not hex"))?;
    let minor = u32::from_str_radix(minor, 16).map_err(|_| fail("device minor is not hex"))?;
    let inode = inode.parse().map_err(|_| fail("inode is not a number"))?;
    Ok(Region { start, end, perms, offset, device: (major, minor), inode, backing: parse_backing(path) })
}

fn parse_perms(text: &str) -> Option<Perms> {
    let letters: Vec<char> = text.chars().collect();
    let [r, w, x, s] = letters[..] else {
        return None;
    };
    let bit = |c: char, on: char| match c {
        c if c == on => Some(true),
        '-' => Some(false),
        _ => None,
    };
    Some(Perms {
        read: bit(r, 'r')?,
        write: bit(w, 'w')?,
        exec: bit(x, 'x')?,
        shared: match s {
            's' => true,
            'p' => false,
            _ => return None,
        },
    })
}

fn parse_backing(path: &str) -> Backing {
    if path.is_empty() {
        return Backing::Anonymous;
    }
    // Bracketed names are the kernel's own; a file path always starts with '/'.
    if let Some(name) = path.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
        return match name {
            "heap" => Backing::Heap,
            "stack" => Backing::Stack,
            "vdso" => Backing::Vdso,
            "vsyscall" => Backing::Vsyscall,
            n if n.starts_with("vvar") => Backing::Vvar(n.to_string()),
            n => match n.strip_prefix("anon:") {
                Some(anon_name) => Backing::AnonNamed(anon_name.to_string()),
                None => Backing::Special(n.to_string()),
            },
        };
    }
    match path.strip_suffix(" (deleted)") {
        Some(path) => Backing::File { path: path.to_string(), deleted: true },
        None => Backing::File { path: path.to_string(), deleted: false },
    }
}

/// All regions of one process at one moment, lowest address first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub regions: Vec<Region>,
}

impl Snapshot {
    /// Read `/proc/self/maps` of the calling process.
    pub fn of_self() -> io::Result<Snapshot> {
        Snapshot::read("/proc/self/maps")
    }

    /// Read `/proc/PID/maps` of another process (needs permission to trace it).
    pub fn of_pid(pid: i32) -> io::Result<Snapshot> {
        Snapshot::read(&format!("/proc/{pid}/maps"))
    }

    fn read(path: &str) -> io::Result<Snapshot> {
        let text = std::fs::read_to_string(path)?;
        Snapshot::parse(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    pub fn parse(text: &str) -> Result<Snapshot, ParseError> {
        let regions = text.lines().filter(|l| !l.trim().is_empty()).map(parse_line).collect::<Result<_, _>>()?;
        Ok(Snapshot { regions })
    }

    /// The region that contains `addr`, if any part of the address space maps it.
    pub fn find(&self, addr: usize) -> Option<&Region> {
        self.regions.iter().find(|r| r.contains(addr))
    }

    /// What changed between `self` (before) and `after`: regions that are gone
    /// and regions that are new or different. A region that grew or changed
    /// permissions shows up in both lists.
    pub fn diff(&self, after: &Snapshot) -> Diff {
        Diff {
            removed: self.regions.iter().filter(|r| !after.regions.contains(r)).cloned().collect(),
            added: after.regions.iter().filter(|r| !self.regions.contains(r)).cloned().collect(),
        }
    }
}

/// The difference between two snapshots of one process's map.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    pub removed: Vec<Region>,
    pub added: Vec<Region>,
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real lines, copied from /proc/PID/maps on x86_64 and aarch64 machines.
    const TEXT: &str = "55d0c5a2e000-55d0c5a35000 r-xp 00002000 fd:01 1311017                    /usr/bin/sleep\n";
    const HEAP: &str = "55d0c6f7e000-55d0c6f9f000 rw-p 00000000 00:00 0                          [heap]";
    const ANON: &str = "7f3a1c000000-7f3a22400000 rw-p 00000000 00:00 0 ";
    const VSYSCALL: &str = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

    #[test]
    fn parses_every_column_of_a_file_line() {
        let r = parse_line(TEXT).unwrap();
        assert_eq!(r.start, 0x55d0c5a2e000);
        assert_eq!(r.end, 0x55d0c5a35000);
        assert_eq!(r.len(), 7 * 4096);
        assert_eq!(r.perms.to_string(), "r-xp");
        assert!(r.perms.read && !r.perms.write && r.perms.exec && !r.perms.shared);
        assert_eq!(r.offset, 0x2000);
        assert_eq!(r.device, (0xfd, 0x01));
        assert_eq!(r.inode, 1311017);
        assert_eq!(r.backing, Backing::File { path: "/usr/bin/sleep".into(), deleted: false });
    }

    #[test]
    fn names_the_special_regions() {
        assert_eq!(parse_line(HEAP).unwrap().backing, Backing::Heap);
        assert_eq!(parse_line(VSYSCALL).unwrap().backing, Backing::Vsyscall);
        let kind =
            |path: &str| parse_line(&format!("7ffd1000-7ffd3000 r--p 00000000 00:00 0    {path}")).unwrap().backing;
        assert_eq!(kind("[stack]"), Backing::Stack);
        assert_eq!(kind("[vdso]"), Backing::Vdso);
        assert_eq!(kind("[vvar]"), Backing::Vvar("vvar".into()));
        assert_eq!(kind("[vvar_vclock]"), Backing::Vvar("vvar_vclock".into()));
        assert_eq!(kind("[anon:my buffer]"), Backing::AnonNamed("my buffer".into()));
        assert_eq!(kind("[uprobes]"), Backing::Special("uprobes".into()));
    }

    #[test]
    fn anonymous_line_has_no_path_even_with_trailing_space() {
        let r = parse_line(ANON).unwrap();
        assert_eq!(r.backing, Backing::Anonymous);
        assert_eq!(r.len(), 100 * 1024 * 1024);
        assert_eq!(r.inode, 0);
    }

    #[test]
    fn keeps_spaces_in_paths_and_sees_deleted_files() {
        let line = "7f00aa000000-7f00aa001000 rw-s 00000000 00:1a 42   /tmp/my dir/data file.bin (deleted)";
        let r = parse_line(line).unwrap();
        assert!(r.perms.shared);
        assert_eq!(r.backing, Backing::File { path: "/tmp/my dir/data file.bin".into(), deleted: true });
        assert_eq!(r.path_column(), "/tmp/my dir/data file.bin (deleted)");
    }

    #[test]
    fn aarch64_addresses_and_shapes_print_back() {
        let line = "ffff90058000-ffff90067000 ---p 00188000 fd:00 788338 /usr/lib/aarch64-linux-gnu/libc.so.6";
        assert_eq!(parse_line(line).unwrap().to_string(), line);
    }

    #[test]
    fn rejects_broken_lines_with_a_reason() {
        assert_eq!(parse_line("").unwrap_err().reason, "no start-end range");
        assert_eq!(parse_line("zz-10 rw-p 0 00:00 0").unwrap_err().reason, "start is not hex");
        assert_eq!(parse_line("20-10 rw-p 0 00:00 0").unwrap_err().reason, "end is below start");
        assert_eq!(parse_line("10-20 rwq 0 00:00 0").unwrap_err().reason, "permissions are not like rwxp");
        assert_eq!(parse_line("10-20 rw-p 0 0000 0").unwrap_err().reason, "device is not major:minor");
        assert_eq!(parse_line("10-20 rw-p 0 00:00 x").unwrap_err().reason, "inode is not a number");
    }

    #[test]
    fn finds_the_region_of_an_address_and_diffs_snapshots() {
        let before = Snapshot::parse(&[TEXT, HEAP].concat()).unwrap();
        assert_eq!(before.find(0x55d0c5a2e000).unwrap().backing, parse_line(TEXT).unwrap().backing);
        assert!(before.find(0x55d0c5a35000).is_none(), "end is exclusive");
        let after = Snapshot::parse(&format!("{TEXT}{ANON}\n")).unwrap();
        let diff = before.diff(&after);
        assert_eq!(diff.removed, vec![parse_line(HEAP).unwrap()]);
        assert_eq!(diff.added, vec![parse_line(ANON).unwrap()]);
    }

    #[test]
    fn reads_its_own_map() {
        let snap = Snapshot::of_self().unwrap();
        let here = parses_every_column_of_a_file_line as *const () as usize;
        assert!(snap.find(here).unwrap().perms.exec, "code lives in an executable region");
        assert!(snap.regions.windows(2).all(|w| w[0].end <= w[1].start));
    }
}
