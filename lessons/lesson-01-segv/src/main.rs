//! Lesson 01: write through a null pointer and watch the kernel stop the process.
//!
//! Run it: `cargo run -p lesson-01-segv`. Every crash happens in a child
//! process, so the lesson itself lives on to report how each child died.

use std::io::Write;
use std::process::ExitCode;
use std::ptr;

use nix::sys::resource::{Resource, getrlimit};
use nix::sys::signal::Signal;
use workbook::Lesson;
use workbook::child::{Ending, run_in_child};

fn main() -> ExitCode {
    let lesson = Lesson::start(
        "lesson-01-segv",
        "Lesson 01 · A null pointer and SIGSEGV",
        "Address 0 is not mapped, so a write there is stopped by the MMU and the kernel kills the process.",
    );

    // ANCHOR: null_write
    lesson.step("Write through a null pointer (in a child process)");
    let run = run_in_child(|| {
        println!("before invalid access");
        let p: *mut i32 = ptr::null_mut();
        // SAFETY: not safe at all, on purpose: address 0 is never mapped, so this child dies here.
        unsafe { ptr::write_volatile(p, 0) };
        println!("after invalid access");
        0
    });
    lesson.child_output(&run);
    lesson.check("the child was killed by", run.describe(), run.signal() == Some(Signal::SIGSEGV));
    let said_before = run.output.contains("before invalid access");
    let said_after = run.output.contains("after invalid access");
    let seen = |yes: bool| if yes { "in the child's output" } else { "not in the child's output" };
    lesson.check("\"before invalid access\" was printed", seen(said_before), said_before);
    lesson.check("\"after invalid access\" never was", seen(said_after), !said_after);
    let fault = run.fault.expect("the child's fault handler reports every SIGSEGV");
    lesson.check(
        "si_code says there is no mapping at that address",
        fault.code_name(),
        fault.code_name() == "SEGV_MAPERR",
    );
    lesson.check("si_addr, the address the write touched", format!("{:#x}", fault.addr), fault.addr == 0);
    // ANCHOR_END: null_write

    // ANCHOR: plain_write
    lesson.step("Why write_volatile? Try a plain `*p = 0` instead");
    let plain = run_in_child(|| {
        let p: *mut i32 = ptr::null_mut();
        // SAFETY: undefined behaviour on purpose: the compiler may assume it never happens.
        unsafe { *p = 0 };
        println!("the plain write did nothing and the child carried on");
        0
    });
    lesson.child_output(&plain);
    let build = if cfg!(debug_assertions) { "debug build" } else { "optimized (release) build" };
    lesson.show(&format!("in this {build}, the plain write child"), plain.describe());
    if cfg!(debug_assertions) {
        // Debug builds check every raw-pointer dereference for null and abort on it.
        let caught = plain.signal() == Some(Signal::SIGABRT) && plain.output.contains("null pointer dereference");
        lesson.check("Rust's debug null check stopped it before the MMU could", plain.describe(), caught);
    } else {
        lesson.say("An optimized build has no null check, and the write is undefined behaviour:");
        lesson.say("the compiler may delete it, trap (SIGILL) or let it fault. Only write_volatile");
        lesson.say("promises that the write really happens, exactly as written.");
    }
    // ANCHOR_END: plain_write

    // ANCHOR: core
    lesson.step("Core dumps: what the kernel can leave behind");
    let (core_soft, _) = getrlimit(Resource::RLIMIT_CORE).expect("getrlimit(RLIMIT_CORE)");
    let limit = if core_soft == nix::sys::resource::RLIM_INFINITY { "unlimited".into() } else { core_soft.to_string() };
    lesson.show("this lesson's core file size limit (ulimit -c)", limit);
    let pattern =
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_else(|e| format!("unreadable: {e}"));
    lesson.show("where cores go (/proc/sys/kernel/core_pattern)", pattern.trim());
    lesson.pause(
        "compare this process's limits with your shell's `ulimit -c`",
        &[format!("grep -i core /proc/{}/limits", std::process::id())],
    );
    let dumped = matches!(run.ending, Ending::Killed { core_dumped: true, .. });
    lesson.check("the step 1 child wrote a core dump", dumped, !dumped);
    lesson.say("The children of this lesson set their core limit to 0, so no `core` file is left");
    lesson.say("in your directory. Your own crashing program would dump one when `ulimit -c` allows.");
    // ANCHOR_END: core

    // ANCHOR: buffers
    lesson.step("Output still in a buffer dies with the process");
    let after_exit = run_in_child(|| {
        print!("text without a newline");
        std::process::exit(0) // runs Rust's and libc's exit work: stdout is flushed
    });
    lesson.check(
        "print! then std::process::exit: the text arrives",
        quoted(&after_exit.output),
        after_exit.output == "text without a newline",
    );
    let after_underscore_exit = run_in_child(|| {
        print!("text without a newline");
        // SAFETY: _exit ends the process at once, skipping all exit work, flushing included.
        unsafe { libc::_exit(0) }
    });
    lesson.check(
        "print! then _exit: the text is lost",
        quoted(&after_underscore_exit.output),
        after_underscore_exit.output.is_empty(),
    );
    let after_kill = run_in_child(|| {
        print!("text without a newline");
        let _ = std::io::stderr().flush();
        nix::sys::signal::raise(Signal::SIGKILL).expect("raise(SIGKILL)");
        0
    });
    lesson.check(
        "print! then killed by SIGKILL: the text is lost",
        quoted(&after_kill.output),
        after_kill.output.is_empty(),
    );
    // ANCHOR_END: buffers

    lesson.finish()
}

/// Show captured output as a quoted string, or say that there was none.
fn quoted(output: &str) -> String {
    if output.is_empty() { "nothing arrived".into() } else { format!("{output:?}") }
}
