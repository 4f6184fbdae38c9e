//! One store per directory: an exclusive `flock` on the directory's `lock` file,
//! held for as long as the store is open (and dropped by the kernel when the
//! process dies, so a crash never leaves a directory locked).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use super::error::PersistError;

#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Locks `dir`, or `Locked` when another open store holds it.
    pub fn take(dir: &Path) -> Result<DirLock, PersistError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(PersistError::Locked),
            Err(TryLockError::Error(e)) => Err(PersistError::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_directory_is_refused_until_its_lock_is_dropped() {
        let dir = super::super::store::tests::scratch("lock");
        std::fs::create_dir_all(&dir).unwrap();
        let first = DirLock::take(&dir).unwrap();
        assert!(matches!(DirLock::take(&dir), Err(PersistError::Locked)));
        drop(first);
        assert!(DirLock::take(&dir).is_ok());
    }
}
