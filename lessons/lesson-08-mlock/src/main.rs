//! Lesson 08: mlock. Pin pages in RAM, within RLIMIT_MEMLOCK unless the process holds CAP_IPC_LOCK.
//!
//! Run it: `cargo run -p lesson-08-mlock` (add `-- --pause` to look at the `Locked:` line of smaps
//! yourself). Try it as root and as an ordinary user: the output differs, and the lesson says why.

use std::io::Read;
use std::process::ExitCode;
use std::ptr;

use libc::{MAP_ANONYMOUS, MAP_FAILED, MAP_PRIVATE, PROT_READ, PROT_WRITE};
use nix::errno::Errno;
use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit, setrlimit};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, fork, pipe};
use workbook::child::{Ending, flush_stdio, run_in_child};
use workbook::maps::Snapshot;
use workbook::smaps::{has_effective_capability, region_usage, status_field};
use workbook::sys::page_size;
use workbook::{Lesson, size};

/// The limit the children set for themselves, so every machine shows the same numbers.
const CHILD_LIMIT: u64 = 64 * 1024;

fn main() -> ExitCode {
    let lesson = Lesson::start(
        "lesson-08-mlock",
        "Lesson 08 · mlock: keep pages in RAM, within a limit",
        "mlock pins pages in RAM; RLIMIT_MEMLOCK caps how much, unless the process holds CAP_IPC_LOCK.",
    );
    let page = page_size();
    lesson.show("page size (sysconf _SC_PAGESIZE)", size(page));

    // ANCHOR: limits
    lesson.step("How much may this process lock? RLIMIT_MEMLOCK and CAP_IPC_LOCK");
    let (soft, hard) = getrlimit(Resource::RLIMIT_MEMLOCK).expect("getrlimit(RLIMIT_MEMLOCK) cannot fail");
    let limit = |value| if value == RLIM_INFINITY { "unlimited".to_string() } else { size(value as usize) };
    lesson.show("RLIMIT_MEMLOCK soft limit, the one enforced (ulimit -Sl)", limit(soft));
    lesson.show("RLIMIT_MEMLOCK hard limit, the ceiling for the soft one (ulimit -Hl)", limit(hard));
    let privileged = has_cap_ipc_lock();
    let answer = if privileged { "yes: the limit does not apply to it" } else { "no: the limit applies" };
    lesson.show("CAP_IPC_LOCK in this process's effective set (CapEff bit 14)", answer);
    lesson.check("memory locked so far (VmLck in /proc/self/status)", size(locked_now()), locked_now() == 0);
    if !privileged && soft < page as u64 {
        lesson.say(
            "The soft limit is below one page: nothing can be locked. Try `ulimit -l 64`, if the hard limit allows.",
        );
        return lesson.finish();
    }
    // ANCHOR_END: limits

    // ANCHOR: one_byte
    lesson.step("Lock one byte in the middle of a page: the whole page gets locked");
    // SAFETY: a fresh anonymous mapping of three pages; nothing else refers to it.
    let mapping =
        unsafe { libc::mmap(ptr::null_mut(), 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
    assert_ne!(mapping, MAP_FAILED, "mmap of 3 pages failed: {}", Errno::last());
    let middle_page = mapping as usize + page;
    let byte = middle_page + page / 2;
    // SAFETY: one byte inside the mapping; mlock only changes how its page is kept.
    let result = Errno::result(unsafe { libc::mlock(byte as *const _, 1) });
    lesson.check(&format!("mlock(byte {} of the middle page, 1)", page / 2), outcome(result), result.is_ok());
    lesson.check("VmLck now", size(locked_now()), locked_now() == page);
    let line = Snapshot::of_self().expect("read maps").find(byte).cloned().expect("the byte is mapped");
    let placement = format!("starts {} bytes below the byte, {} long", byte - line.start, size(line.len()));
    let own_line = line.start == middle_page && line.len() == page;
    lesson.check("the locked page is now a line of its own in maps", placement, own_line);
    let locked = region_usage(None, middle_page).expect("read smaps").expect("the line is in smaps").locked;
    lesson.check("Locked of that line in /proc/self/smaps", size(locked as usize), locked == page as u64);
    lesson.pause("one page is locked", &[format!("grep -A20 {middle_page:x} /proc/{}/smaps", std::process::id())]);
    // ANCHOR_END: one_byte

    // ANCHOR: fork
    lesson.step("A fork child does not inherit the lock");
    let (wait_read, wait_write) = pipe().expect("pipe failed: too many open files?");
    flush_stdio();
    // SAFETY: the lesson is single-threaded; the child only waits on the pipe and calls _exit.
    let child = match unsafe { fork() }.expect("fork failed: out of processes or memory?") {
        ForkResult::Child => {
            drop(wait_write);
            // Wait (read blocks) until the parent has looked at our /proc files and closed its end.
            let _ = std::fs::File::from(wait_read).read(&mut [0u8]);
            // SAFETY: _exit ends only this child, without running the parent's cleanup.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => child,
    };
    drop(wait_read);
    let child_vmlck = status_field(Some(child.as_raw()), "VmLck").expect("read child status").expect("VmLck");
    let child_usage = region_usage(Some(child.as_raw()), middle_page).expect("read child smaps");
    drop(wait_write); // end of file for the child: it exits
    waitpid(child, None).expect("waitpid on our own child");
    lesson.check("the parent's VmLck", size(locked_now()), locked_now() == page);
    lesson.check("the child's VmLck (/proc/CHILD/status)", size(child_vmlck as usize), child_vmlck == 0);
    let child_locked = child_usage.expect("the child has the same line").locked;
    lesson.check("the child's Locked for the same page (smaps)", size(child_locked as usize), child_locked == 0);
    // ANCHOR_END: fork

    // ANCHOR: limit
    lesson.step("Past the limit: mlock fails with ENOMEM");
    // A process may lower its hard limit but never raise it, so the children stay at or below it.
    let child_limit = (CHILD_LIMIT.min(hard) as usize) / page * page;
    lesson.say(format!("Each child first sets its own limit to {} with setrlimit.", size(child_limit)));
    if privileged {
        lesson.say("A child that keeps CAP_IPC_LOCK:");
        let run = run_in_child(|| lock_past_the_limit(&lesson, child_limit, false));
        lesson.child_output(&run);
        lesson.check("every claim in that child held", run.describe(), run.ending == Ending::Exited(0));
        lesson.say("A child that drops CAP_IPC_LOCK, as an ordinary user's process has none:");
    } else {
        lesson.say("This process has no CAP_IPC_LOCK, and neither has its child:");
    }
    let run = run_in_child(|| lock_past_the_limit(&lesson, child_limit, true));
    lesson.child_output(&run);
    lesson.check("every claim in that child held", run.describe(), run.ending == Ending::Exited(0));
    // ANCHOR_END: limit

    // ANCHOR: unlock
    lesson.step("munlock and munmap: nothing stays locked");
    // SAFETY: the same byte locked above; munlock also rounds down to its page.
    let result = Errno::result(unsafe { libc::munlock(byte as *const _, 1) });
    lesson.check("munlock of the same byte", outcome(result), result.is_ok());
    lesson.check("VmLck after munlock", size(locked_now()), locked_now() == 0);
    // SAFETY: unmapping the whole mapping; it is not used again.
    let result = unsafe { libc::munmap(mapping, 3 * page) };
    assert_eq!(result, 0, "munmap failed: {}", Errno::last());
    // ANCHOR_END: unlock

    lesson.finish()
}

// ANCHOR: child
/// In a child: set RLIMIT_MEMLOCK to `limit`, lock exactly `limit`, then one page
/// more. Without CAP_IPC_LOCK the second mlock fails; with it, both succeed.
/// Returns the exit status: 0 when every claim held.
fn lock_past_the_limit(lesson: &Lesson, limit: usize, drop_capability: bool) -> i32 {
    let page = page_size();
    let mut held = true;
    if drop_capability && has_cap_ipc_lock() {
        let dropped = drop_cap_ipc_lock();
        held &= lesson.check("dropped CAP_IPC_LOCK with capset", outcome(dropped), !has_cap_ipc_lock());
    }
    setrlimit(Resource::RLIMIT_MEMLOCK, limit as u64, limit as u64).expect("lowering RLIMIT_MEMLOCK is allowed");
    // SAFETY: a fresh anonymous mapping, one page longer than the limit.
    let memory = unsafe {
        libc::mmap(ptr::null_mut(), limit + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    };
    assert_ne!(memory, MAP_FAILED, "mmap failed: {}", Errno::last());
    // SAFETY: the first `limit` bytes of the mapping above.
    let first = Errno::result(unsafe { libc::mlock(memory, limit) });
    held &= lesson.check(&format!("mlock of {}, all the limit allows", size(limit)), outcome(first), first.is_ok());
    held &= lesson.check("VmLck", size(locked_now()), locked_now() == limit);
    // SAFETY: the last page of the mapping, not locked yet.
    let more = Errno::result(unsafe { libc::mlock(memory.cast::<u8>().add(limit).cast(), page) });
    if has_cap_ipc_lock() {
        held &= lesson.check("mlock of one page more: CAP_IPC_LOCK bypasses the limit", outcome(more), more.is_ok());
        held &= lesson.check("VmLck, above the limit", size(locked_now()), locked_now() == limit + page);
    } else {
        let refused = more == Err(Errno::ENOMEM);
        held &= lesson.check("mlock of one page more", outcome(more), refused);
        held &= lesson.check("VmLck, unchanged", size(locked_now()), locked_now() == limit);
    }
    // Exiting unlocks and unmaps everything this child locked and mapped.
    if held { 0 } else { 1 }
}
// ANCHOR_END: child

/// Bytes of memory this process has locked: `VmLck` from /proc/self/status.
fn locked_now() -> usize {
    status_field(None, "VmLck").expect("read /proc/self/status").expect("VmLck is in status") as usize
}

/// A syscall's result as the lesson prints it: "ok", or the error's name.
fn outcome(result: Result<impl Sized, Errno>) -> String {
    result.map_or_else(|e| format!("{e}"), |_| "ok".to_string())
}

// ANCHOR: capability
/// CAP_IPC_LOCK is bit 14 of the capability sets (linux/capability.h).
const CAP_IPC_LOCK: u32 = 14;

/// Whether CAP_IPC_LOCK is in this process's effective set: the `CapEff` line of
/// /proc/self/status, a hexadecimal bit mask.
fn has_cap_ipc_lock() -> bool {
    has_effective_capability(None, CAP_IPC_LOCK).expect("read CapEff from /proc/self/status")
}

// The arguments of capget(2) and capset(2), from linux/capability.h: a header
// (version 3, pid 0 = this thread) and two data words, for capabilities 0-31 and 32-63.
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Remove CAP_IPC_LOCK from this process's effective and permitted sets. With
/// it gone from the permitted set too, the process can never take it back.
fn drop_cap_ipc_lock() -> Result<(), Errno> {
    let mut header = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let mut data = [CapData::default(); 2];
    // SAFETY: a version-3 header and two data words, which is what capget writes.
    Errno::result(unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) })?;
    data[0].effective &= !(1 << CAP_IPC_LOCK);
    data[0].permitted &= !(1 << CAP_IPC_LOCK);
    // SAFETY: the same header and data words, as capset reads them.
    Errno::result(unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) }).map(drop)
}
// ANCHOR_END: capability
