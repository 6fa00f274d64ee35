//! Private scratch space for conversions.
//!
//! Owns the only places where a document's plaintext touches a file system: one directory per
//! process (mode 0700) under memory-backed `/dev/shm` when the host has it, and one
//! sub-directory per conversion that is removed when the conversion ends (success, error,
//! timeout or panic alike: removal is in `Drop`). Directories left by a crashed process are
//! removed at the next start.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const PREFIX: &str = "printgate-scratch-";

#[derive(Debug)]
pub struct ScratchRoot {
    dir: PathBuf,
}

impl ScratchRoot {
    /// Creates this process's scratch root under `base` (default: `/dev/shm`, else the temp dir)
    /// and removes roots of processes that no longer run.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn create(base: Option<&Path>) -> std::io::Result<Self> {
        let base = match base {
            Some(b) => b.to_path_buf(),
            None if Path::new("/dev/shm").is_dir() => PathBuf::from("/dev/shm"),
            None => std::env::temp_dir(),
        };
        remove_stale(&base, PREFIX);
        let dir = base.join(format!("{PREFIX}{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        Ok(Self { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A fresh directory for one conversion, removed when the value is dropped.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn job(&self) -> std::io::Result<ScratchDir> {
        let dir = self.dir.join(uuid::Uuid::new_v4().simple().to_string());
        fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(ScratchDir { dir })
    }
}

impl Drop for ScratchRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Removes `PREFIX<pid>[-…]` directories under `base` whose process is gone.
pub fn remove_stale(base: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(base) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid =
            name.to_str().and_then(|n| n.strip_prefix(prefix)).and_then(|rest| rest.split('-').next()).and_then(|p| p.parse::<i32>().ok());
        let Some(pid) = pid else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks that the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            tracing::info!(path = %entry.path().display(), "removing a directory left by a stopped process");
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// One conversion's directory; everything in it is deleted on drop.
#[derive(Debug)]
pub struct ScratchDir {
    dir: PathBuf,
}

impl ScratchDir {
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes `bytes` to a new private file (mode 0600) named `name` and returns its path.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write(&self, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.dir.join(name);
        let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        f.write_all(bytes)?;
        Ok(path)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::error!(path = %self.dir.display(), error = %e, "cannot remove conversion scratch files");
        }
    }
}
