//! Tests of `workbook::child`. They fork, so this test binary has no
//! multithreaded harness (`harness = false` in Cargo.toml): a fork while other
//! threads hold locks can deadlock the child.

use nix::sys::signal::Signal;
use workbook::child::{Ending, run_in_child};

fn reports_exit_status_and_output() {
    let run = run_in_child(|| {
        println!("hello from the child");
        eprintln!("and from its stderr");
        7
    });
    assert_eq!(run.ending, Ending::Exited(7));
    assert_eq!(run.output, "hello from the child\nand from its stderr\n");
    assert!(run.fault.is_none());
}

fn reports_a_fault_with_code_and_address() {
    let run = run_in_child(|| {
        // SAFETY: deliberately invalid: this child is meant to fault.
        unsafe { std::ptr::write_volatile(16 as *mut u8, 1) };
        0
    });
    assert_eq!(run.signal(), Some(Signal::SIGSEGV));
    let fault = run.fault.expect("the handler reported the fault");
    assert_eq!((fault.code_name(), fault.addr), ("SEGV_MAPERR", 16));
    assert_eq!(run.describe(), "killed by SIGSEGV (SEGV_MAPERR at 0x10)");
    assert_eq!(run.ending, Ending::Killed { signal: Signal::SIGSEGV, core_dumped: false });
}

fn a_raised_signal_still_kills_and_is_named() {
    let run = run_in_child(|| {
        nix::sys::signal::raise(Signal::SIGBUS).expect("raise");
        0
    });
    assert_eq!(run.signal(), Some(Signal::SIGBUS));
    assert_eq!(run.fault.expect("reported").code_name(), "SI_TKILL");
}

fn a_panic_in_the_step_is_exit_101_with_its_message() {
    let run = run_in_child(|| panic!("step went wrong"));
    assert_eq!(run.ending, Ending::Exited(101));
    assert!(run.output.contains("step went wrong"), "{}", run.output);
}

fn a_killed_child_is_reaped_and_named() {
    let run = run_in_child(|| {
        nix::sys::signal::kill(nix::unistd::getpid(), Signal::SIGKILL).expect("kill");
        0
    });
    assert_eq!(run.describe(), "killed by SIGKILL");
    // Reaped: waitpid on it again finds no such child.
    assert!(nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(run.pid), None).is_err());
}

fn main() {
    let tests: [(&str, fn()); 5] = [
        ("reports_exit_status_and_output", reports_exit_status_and_output),
        ("reports_a_fault_with_code_and_address", reports_a_fault_with_code_and_address),
        ("a_raised_signal_still_kills_and_is_named", a_raised_signal_still_kills_and_is_named),
        ("a_panic_in_the_step_is_exit_101_with_its_message", a_panic_in_the_step_is_exit_101_with_its_message),
        ("a_killed_child_is_reaped_and_named", a_killed_child_is_reaped_and_named),
    ];
    for (name, test) in tests {
        test();
        println!("test {name} ... ok");
    }
    println!("\ntest result: ok. {} passed; 0 failed", tests.len());
}
