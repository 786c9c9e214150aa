//! Reference solution of exercise 01 · segv. (`cargo workbook solution 01`
//! shows it once you have solved the exercise.)

use std::io;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    Killed(i32),
}

pub fn write_in_child(addr: usize) -> io::Result<Ending> {
    // SAFETY: fork has no preconditions here; the child below only writes one
    // byte and calls _exit, so it never runs the parent's code twice.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            // SAFETY: writing to an arbitrary address is the experiment: it may
            // fault, and only this child dies of it. write_volatile makes sure
            // the compiler emits this very write instead of reasoning it away.
            unsafe { std::ptr::write_volatile(addr as *mut u8, 1) };
            // SAFETY: _exit ends the child at once, without returning into the caller.
            unsafe { libc::_exit(0) }
        }
        child => wait_for(child),
    }
}

fn wait_for(child: libc::pid_t) -> io::Result<Ending> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child with a valid status pointer.
        if unsafe { libc::waitpid(child, &mut status, 0) } == child {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    if libc::WIFSIGNALED(status) {
        Ok(Ending::Killed(libc::WTERMSIG(status)))
    } else {
        Ok(Ending::Exited(libc::WEXITSTATUS(status)))
    }
}

/// An immutable static without interior mutability lives in a read-only
/// segment of the executable (mapped `r--p`), as do string literals.
static NEVER_CHANGES: [u8; 8] = *b"constant";

pub fn read_only_address() -> usize {
    NEVER_CHANGES.as_ptr() as usize
}
