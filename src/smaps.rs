//! `/proc/PID/smaps`, `/proc/PID/smaps_rollup` and `/proc/PID/status`:
//! how much of a region is really in memory, and who shares it.

use std::io;

/// The memory figures of one region (or of the whole process, for `smaps_rollup`),
/// in bytes. The kernel prints them in kB; these are already multiplied out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Size of the region's address range.
    pub size: u64,
    /// Resident set size: bytes of the region that are in RAM now.
    pub rss: u64,
    /// Proportional set size: each resident page divided by the number of processes mapping it.
    pub pss: u64,
    pub shared_clean: u64,
    pub shared_dirty: u64,
    pub private_clean: u64,
    pub private_dirty: u64,
    /// Pages that belong to no file: fresh anonymous pages and copy-on-write copies.
    pub anonymous: u64,
    /// Part of `anonymous` backed by transparent huge pages.
    pub anon_huge_pages: u64,
    /// Bytes locked in RAM by `mlock`.
    pub locked: u64,
    pub swap: u64,
}

impl Usage {
    /// Parse the `Name:   N kB` lines of one smaps entry or of smaps_rollup.
    pub fn parse(lines: &str) -> Usage {
        let mut usage = Usage::default();
        for line in lines.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let Some(bytes) = kb_value(value) else {
                continue;
            };
            let field = match name {
                "Size" => &mut usage.size,
                "Rss" => &mut usage.rss,
                "Pss" => &mut usage.pss,
                "Shared_Clean" => &mut usage.shared_clean,
                "Shared_Dirty" => &mut usage.shared_dirty,
                "Private_Clean" => &mut usage.private_clean,
                "Private_Dirty" => &mut usage.private_dirty,
                "Anonymous" => &mut usage.anonymous,
                "AnonHugePages" => &mut usage.anon_huge_pages,
                "Locked" => &mut usage.locked,
                "Swap" => &mut usage.swap,
                _ => continue,
            };
            *field = bytes;
        }
        usage
    }
}

/// `"   102400 kB"` → 104857600.
fn kb_value(text: &str) -> Option<u64> {
    let number = text.trim().strip_suffix("kB")?.trim();
    number.parse::<u64>().ok().map(|kb| kb * 1024)
}

/// The smaps entry of the region that starts at `start` in process `pid`
/// (`None` reads the calling process). `Ok(None)` when no region starts there.
pub fn region_usage(pid: Option<i32>, start: usize) -> io::Result<Option<Usage>> {
    let text = std::fs::read_to_string(proc_path(pid, "smaps"))?;
    Ok(entry_starting_at(&text, start).map(Usage::parse))
}

/// The whole-process totals from `smaps_rollup` (Linux 4.14 and later).
pub fn rollup(pid: Option<i32>) -> io::Result<Usage> {
    std::fs::read_to_string(proc_path(pid, "smaps_rollup")).map(|t| Usage::parse(&t))
}

/// The lines of the smaps entry whose header line starts at `start`.
fn entry_starting_at(smaps: &str, start: usize) -> Option<&str> {
    let header = format!("{start:08x}-");
    let begin = smaps.match_indices(&header).find(|(i, _)| *i == 0 || smaps.as_bytes()[i - 1] == b'\n')?.0;
    let body = &smaps[begin..];
    let body_start = body.find('\n')? + 1;
    // The entry ends where the next header (a line starting with a hex range) begins.
    let len = body[body_start..].split_inclusive('\n').take_while(|line| !is_header(line)).map(str::len).sum::<usize>();
    Some(&body[body_start..body_start + len])
}

fn is_header(line: &str) -> bool {
    line.split(' ').next().and_then(|range| range.split_once('-')).is_some_and(|(a, b)| {
        !a.is_empty() && a.chars().all(|c| c.is_ascii_hexdigit()) && b.chars().all(|c| c.is_ascii_hexdigit())
    })
}

/// One `Vm...:` or other field of `/proc/PID/status`, such as `VmRSS` or `VmLck`,
/// in bytes when the kernel gives it in kB, as the raw decimal number otherwise.
/// The capability masks (`CapEff`, ...) are hexadecimal: see [`has_effective_capability`].
pub fn status_field(pid: Option<i32>, name: &str) -> io::Result<Option<u64>> {
    let text = std::fs::read_to_string(proc_path(pid, "status"))?;
    Ok(status_value(&text, name))
}

fn status_value(status: &str, name: &str) -> Option<u64> {
    let value = status.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))?;
    kb_value(value).or_else(|| value.trim().parse().ok())
}

/// Whether capability number `bit` (from linux/capability.h: CAP_IPC_LOCK is 14)
/// is in the effective set of process `pid` (`None`: the calling process). The
/// `CapEff` line of /proc/PID/status is a hexadecimal bit mask.
pub fn has_effective_capability(pid: Option<i32>, bit: u32) -> io::Result<bool> {
    let status = std::fs::read_to_string(proc_path(pid, "status"))?;
    capability_in(&status, bit).map_err(|why| io::Error::new(io::ErrorKind::InvalidData, why))
}

fn capability_in(status: &str, bit: u32) -> Result<bool, String> {
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:")).ok_or("no CapEff line in status")?;
    let effective = u64::from_str_radix(hex.trim(), 16).map_err(|_| format!("CapEff is not hex: {hex:?}"))?;
    Ok(effective & (1 << bit) != 0)
}

fn proc_path(pid: Option<i32>, file: &str) -> String {
    match pid {
        Some(pid) => format!("/proc/{pid}/{file}"),
        None => format!("/proc/self/{file}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real smaps excerpt (x86_64, Linux 6.x), two entries.
    const SMAPS: &str = "\
7f3a1c000000-7f3a22400000 rw-p 00000000 00:00 0 
Size:             102400 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:              102400 kB
Pss:               51200 kB
Pss_Dirty:         51200 kB
Shared_Clean:          0 kB
Shared_Dirty:     102400 kB
Private_Clean:         0 kB
Private_Dirty:         0 kB
Referenced:       102400 kB
Anonymous:        102400 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
Locked:                0 kB
THPeligible:           0
VmFlags: rd wr mr mw me ac 
7ffd5b0f0000-7ffd5b111000 rw-p 00000000 00:00 0                          [stack]
Size:                132 kB
Rss:                  16 kB
Pss:                  16 kB
Private_Dirty:        16 kB
Anonymous:            16 kB
Swap:                  0 kB
VmFlags: rd wr mr mw me gd ac 
";

    #[test]
    fn reads_the_entry_of_one_region_only() {
        let usage = Usage::parse(entry_starting_at(SMAPS, 0x7f3a1c000000).unwrap());
        assert_eq!(usage.size, 100 << 20);
        assert_eq!(usage.rss, 100 << 20);
        assert_eq!(usage.pss, 50 << 20);
        assert_eq!(usage.shared_dirty, 100 << 20);
        assert_eq!(usage.private_dirty, 0);
        assert_eq!(usage.anonymous, 100 << 20);
        let stack = Usage::parse(entry_starting_at(SMAPS, 0x7ffd5b0f0000).unwrap());
        assert_eq!((stack.size, stack.rss, stack.private_dirty), (132 << 10, 16 << 10, 16 << 10));
        assert!(entry_starting_at(SMAPS, 0x1000).is_none());
        assert!(entry_starting_at(SMAPS, 0x7f3a1c001000).is_none(), "only a region's exact start matches");
    }

    #[test]
    fn reads_status_fields_in_bytes() {
        let status = "Name:\tsleep\nVmLck:\t       8 kB\nVmRSS:\t    1024 kB\nThreads:\t1\n";
        assert_eq!(status_value(status, "VmRSS"), Some(1 << 20));
        assert_eq!(status_value(status, "VmLck"), Some(8 << 10));
        assert_eq!(status_value(status, "Threads"), Some(1));
        assert_eq!(status_value(status, "VmSwap"), None);
        assert_eq!(status_value(status, "VmRS"), None, "a prefix of a name is not the name");
    }

    #[test]
    fn reads_capability_bits_from_the_hex_mask() {
        let status = "Name:\tx\nCapEff:\t0000000000004000\n";
        assert_eq!(capability_in(status, 14), Ok(true));
        assert_eq!(capability_in(status, 12), Ok(false));
        assert_eq!(capability_in("CapEff:\t000001ffffffffff\n", 40), Ok(true));
        assert!(capability_in("Name:\tx\n", 14).is_err());
        assert!(capability_in("CapEff:\tzz\n", 14).is_err());
    }

    #[test]
    fn reads_its_own_stack_and_rollup() {
        let stack = crate::maps::Snapshot::of_self()
            .unwrap()
            .regions
            .into_iter()
            .find(|r| r.backing == crate::maps::Backing::Stack)
            .unwrap();
        let usage = region_usage(None, stack.start).unwrap().unwrap();
        assert_eq!(usage.size, stack.len() as u64);
        assert!(usage.rss > 0 && usage.rss <= usage.size);
        let total = rollup(None).unwrap();
        assert!(total.rss >= usage.rss);
        assert!(status_field(None, "VmRSS").unwrap().unwrap() > 0);
    }
}
