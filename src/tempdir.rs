//! A private temporary directory for a lesson's files, removed when dropped.
//!
//! `mkdtemp(3)` creates the directory with a unique name and mode 0700, so no
//! other user can read, replace or race the files inside it. Dropping the
//! [`PrivateDir`] removes the directory and everything in it, also when a step
//! panics and the lesson unwinds: a lesson never leaves files behind.

use std::io;
use std::path::{Path, PathBuf};

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
        Ok(PrivateDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        // Best effort: a failure here must not turn into a panic during unwinding.
        let _ = std::fs::remove_dir_all(&self.path);
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
