//! One checker at a time builds and runs the harness: two at once (a `watch`
//! in one terminal and a `verify` in another, or tests running in parallel)
//! would each rebuild the same binary with a different exercise inside, and
//! one of them could run the other's build.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::Problem;

/// Holds an exclusive `flock` on a file until dropped.
pub struct Lock {
    _file: File,
}

pub fn exclusive(path: &Path) -> Result<Lock, Problem> {
    let cannot = |e: std::io::Error| Problem::failed(format!("cannot lock {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(cannot)?;
    }
    let file = File::options().create(true).truncate(false).write(true).open(path).map_err(cannot)?;
    // SAFETY: flock on a descriptor we own. Try first, so we can say why we wait.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        eprintln!("waiting for another `cargo workbook` to finish its tests...");
        // SAFETY: as above, blocking this time; retried if a signal interrupts it.
        while unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(cannot(error));
            }
        }
    }
    Ok(Lock { _file: file })
}
