//! A private temporary directory for a lesson's files, removed when dropped.
//!
//! `mkdtemp(3)` creates the directory with a unique name and mode 0700, so no
//! other user can read, replace or race the files inside it. Dropping the
//! [`PrivateDir`] removes the directory and everything in it, also when a step
//! panics and the lesson unwinds: a lesson never leaves files behind.
//!
//! Ctrl-C is different: SIGINT's default action ends the process at once, and
//! no `Drop` runs. So the directory and every path handed out by
//! [`PrivateDir::join`] are also remembered, as C strings made in advance, and
//! a small handler for SIGINT, SIGTERM and SIGHUP removes them (`unlink`, then
//! `rmdir`: async-signal-safe calls on memory that is already there), then
//! lets the signal end the process as it would have.

use std::ffi::{CString, c_char};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr::null_mut;
use std::sync::Once;
use std::sync::atomic::{AtomicPtr, Ordering};

/// A directory under `std::env::temp_dir()` that only this user can enter.
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    /// Create `$TMPDIR/<prefix>XXXXXX` (or `/tmp/...`), the X's replaced by `mkdtemp`.
    pub fn create(prefix: &str) -> io::Result<PrivateDir> {
        let template = std::env::temp_dir().join(format!("{prefix}XXXXXX"));
        let path = nix::unistd::mkdtemp(&template).map_err(io::Error::from)?;
        remove_on_interrupt(&path);
        Ok(PrivateDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` inside the directory (removed on Ctrl-C too, if it is created).
    pub fn join(&self, name: &str) -> PathBuf {
        let path = self.path.join(name);
        remove_on_interrupt(&path);
        path
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        // Best effort: a failure here must not turn into a panic during unwinding.
        let _ = std::fs::remove_dir_all(&self.path);
        forget_paths_under(&self.path);
    }
}

/// How many paths can wait for removal at once; a lesson needs a handful.
const SLOTS: usize = 16;

/// The paths to remove if a signal ends the process: leaked `CString`s, or null.
static ON_INTERRUPT: [AtomicPtr<c_char>; SLOTS] = [const { AtomicPtr::new(null_mut()) }; SLOTS];

/// Remember `path` for the signal handler, and install the handler the first time.
fn remove_on_interrupt(path: &Path) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        for signo in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            install_cleanup_handler(signo);
        }
    });
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else { return };
    let raw = c_path.into_raw();
    if !ON_INTERRUPT
        .iter()
        .any(|slot| slot.compare_exchange(null_mut(), raw, Ordering::SeqCst, Ordering::SeqCst).is_ok())
    {
        // Every slot is taken: only the interrupted case loses, and Drop still removes it.
        // SAFETY: `raw` came from into_raw above and was stored nowhere.
        drop(unsafe { CString::from_raw(raw) });
    }
}

/// After `dir` is removed normally, its paths no longer need the handler.
fn forget_paths_under(dir: &Path) {
    for slot in &ON_INTERRUPT {
        let raw = slot.load(Ordering::SeqCst);
        // SAFETY: a non-null slot holds a CString leaked by remove_on_interrupt.
        if raw.is_null() || !unsafe { std::ffi::CStr::from_ptr(raw) }.to_bytes().starts_with(dir.as_os_str().as_bytes())
        {
            continue;
        }
        // Empty the slot first, so the handler can never see memory that is being freed.
        if slot.compare_exchange(raw, null_mut(), Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            // SAFETY: the slot held `raw`, from into_raw; nothing else refers to it now.
            drop(unsafe { CString::from_raw(raw) });
        }
    }
}

/// Install the cleanup handler for `signo`, unless the signal is ignored (as for
/// a program started with `nohup`): an ignored signal should stay ignored.
fn install_cleanup_handler(signo: libc::c_int) {
    // SAFETY: zeroed sigactions are valid; the handler only calls async-signal-safe
    // functions. SA_RESETHAND puts back the default action as the handler starts.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signo, std::ptr::null(), &mut old);
        if old.sa_sigaction == libc::SIG_IGN {
            return;
        }
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = remove_then_reraise as *const () as usize;
        action.sa_flags = libc::SA_RESETHAND;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signo, &action, std::ptr::null_mut());
    }
}

/// The handler: unlink every remembered file, rmdir every remembered directory
/// (unlink fails on a directory and rmdir on a file; both failures are harmless),
/// then raise the signal again. Its action is the default one now, and it is
/// blocked until this handler returns: then it ends the process as if no
/// handler had been there, and the shell sees "killed by SIGINT".
extern "C" fn remove_then_reraise(signo: libc::c_int) {
    // SAFETY: unlink, rmdir and raise are async-signal-safe (signal-safety(7));
    // every non-null slot points at a NUL-terminated string that stays allocated.
    unsafe {
        for slot in &ON_INTERRUPT {
            let path = slot.load(Ordering::SeqCst);
            if !path.is_null() {
                libc::unlink(path);
            }
        }
        for slot in &ON_INTERRUPT {
            let path = slot.load(Ordering::SeqCst);
            if !path.is_null() {
                libc::rmdir(path);
            }
        }
        libc::raise(signo);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn is_private_unique_and_removed_with_its_files() {
        let (a, b) = (PrivateDir::create("vmw-test-").unwrap(), PrivateDir::create("vmw-test-").unwrap());
        assert_ne!(a.path(), b.path());
        assert!(a.path().file_name().unwrap().to_str().unwrap().starts_with("vmw-test-"));
        assert_eq!(std::fs::metadata(a.path()).unwrap().permissions().mode() & 0o777, 0o700);
        std::fs::write(a.join("file"), b"data").unwrap();
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists());
    }

    #[test]
    fn is_removed_when_a_step_panics() {
        let mut seen = None;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let dir = PrivateDir::create("vmw-test-").unwrap();
            seen = Some(dir.path().to_path_buf());
            std::fs::write(dir.join("file"), b"data").unwrap();
            panic!("a step failed");
        }));
        assert!(result.is_err());
        assert!(!seen.unwrap().exists());
    }
}
