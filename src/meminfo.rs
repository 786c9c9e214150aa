//! `/proc/meminfo`: the whole machine's memory, and what the kernel has promised.
//!
//! ```text
//! MemTotal:       24684084 kB
//! SwapTotal:             0 kB
//! CommitLimit:    12342040 kB
//! Committed_AS:      61272 kB
//! ```

use std::io;

/// One field of `/proc/meminfo`, such as `MemTotal` or `Committed_AS`, in bytes
/// (the kernel prints kB). `Ok(None)` when this kernel has no such field.
pub fn field(name: &str) -> io::Result<Option<u64>> {
    std::fs::read_to_string("/proc/meminfo").map(|text| value(&text, name))
}

fn value(meminfo: &str, name: &str) -> Option<u64> {
    let rest = meminfo.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))?;
    let kb = rest.trim().strip_suffix("kB")?.trim();
    kb.parse::<u64>().ok().map(|kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Lines copied from /proc/meminfo on x86_64, Linux 6.x.
    const MEMINFO: &str = "\
MemTotal:       24684084 kB
MemFree:        23001928 kB
SwapTotal:             0 kB
CommitLimit:    12342040 kB
Committed_AS:      61272 kB
HugePages_Total:       0
";

    #[test]
    fn reads_fields_in_bytes() {
        assert_eq!(value(MEMINFO, "MemTotal"), Some(24684084 * 1024));
        assert_eq!(value(MEMINFO, "SwapTotal"), Some(0));
        assert_eq!(value(MEMINFO, "Committed_AS"), Some(61272 * 1024));
        assert_eq!(value(MEMINFO, "Mem"), None, "a prefix of a name is not the name");
        assert_eq!(value(MEMINFO, "HugePages_Total"), None, "a count, not a size in kB");
        assert_eq!(value(MEMINFO, "Missing"), None);
    }

    #[test]
    fn reads_this_machine() {
        assert!(field("MemTotal").unwrap().unwrap() > 0);
        assert!(field("CommitLimit").unwrap().is_some());
    }
}
