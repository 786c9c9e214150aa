//! Two more `/proc/PID` files: the auxiliary vector a program was started
//! with (`auxv`), and the system call a process is blocked in (`syscall`).
//!
//! Both are readable for your own processes and your own children (the kernel
//! checks the same permission as for attaching a debugger).

use std::io;
use std::time::{Duration, Instant};

/// The auxiliary vector of a process: the (type, value) pairs the kernel put
/// on its stack at exec, such as `AT_ENTRY`, `AT_PHDR`, `AT_PAGESZ`.
/// `None` reads the calling process.
pub fn auxv(pid: Option<i32>) -> io::Result<Vec<(usize, usize)>> {
    let path = pid.map_or("/proc/self/auxv".to_string(), |pid| format!("/proc/{pid}/auxv"));
    let raw = std::fs::read(path)?;
    let word = |bytes: &[u8]| usize::from_ne_bytes(bytes.try_into().expect("a whole word"));
    let words: Vec<usize> = raw.chunks_exact(size_of::<usize>()).map(word).collect();
    // The vector ends with an AT_NULL (0) entry.
    Ok(words.chunks_exact(2).map(|pair| (pair[0], pair[1])).take_while(|&(kind, _)| kind != 0).collect())
}

/// One entry of a process's auxiliary vector, such as `libc::AT_ENTRY`.
pub fn aux_value(pid: Option<i32>, kind: libc::c_ulong) -> io::Result<Option<usize>> {
    Ok(auxv(pid)?.into_iter().find(|&(k, _)| k == kind as usize).map(|(_, value)| value))
}

/// The number of the system call `pid` is blocked in, or `None` while it runs
/// in user space (the file then says "running") or has no syscall in progress.
pub fn current_syscall(pid: i32) -> io::Result<Option<libc::c_long>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/syscall"))?;
    Ok(text.split_whitespace().next().and_then(|first| first.parse().ok()).filter(|&n: &libc::c_long| n >= 0))
}

/// Poll until `pid` is blocked in one of `numbers` (for example
/// `libc::SYS_clock_nanosleep`), for at most `timeout`. True when it got there.
pub fn wait_for_syscall(pid: i32, numbers: &[libc::c_long], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if current_syscall(pid).ok().flatten().is_some_and(|n| numbers.contains(&n)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn own_auxv_agrees_with_getauxval() {
        for kind in [libc::AT_ENTRY, libc::AT_PHDR, libc::AT_PAGESZ] {
            // SAFETY: getauxval only reads this process's auxiliary vector.
            let expected = unsafe { libc::getauxval(kind) } as usize;
            assert_eq!(aux_value(None, kind).unwrap(), Some(expected), "auxv entry {kind}");
        }
        assert_eq!(aux_value(None, libc::AT_PAGESZ).unwrap(), Some(crate::sys::page_size()));
        assert_eq!(aux_value(None, 0xdead).unwrap(), None);
    }

    #[test]
    fn sees_a_child_blocked_in_nanosleep() {
        let mut child = Command::new("sleep").arg("10").stdin(Stdio::null()).spawn().expect("start sleep");
        let pid = child.id() as i32;
        let asleep = wait_for_syscall(pid, &[libc::SYS_clock_nanosleep, libc::SYS_nanosleep], Duration::from_secs(5));
        let entry = aux_value(Some(pid), libc::AT_ENTRY);
        child.kill().expect("kill sleep");
        child.wait().expect("reap sleep");
        assert!(asleep, "sleep never showed up in (clock_)nanosleep");
        assert!(entry.unwrap().is_some_and(|e| e != 0), "a child's auxv has AT_ENTRY");
    }
}
