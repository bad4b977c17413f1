//! The data directory lock: one writer per data directory.
//!
//! `hallq serve` (and `hallq restore`) take an exclusive advisory lock
//! (`flock(2)` through [`std::fs::File::try_lock`]) on the file `lock` in the
//! data directory and hold it for the life of the process. A second daemon
//! on the same directory is refused at once, with the directory and the
//! holder's pid (written into the lock file) in the message. The kernel
//! drops the lock when the holder exits in any way, SIGKILL and power cut
//! included, so a stale lock file never blocks a restart: only a *live*
//! holder does.
//!
//! Read-only commands (`verify`, `report`, `replay`, `backup`, `simulate`)
//! never take the lock; they work beside a running daemon. `hallq passwd`
//! does not take it either: it writes only `accounts.sqlite`, which the
//! daemon shares safely (SQLite WAL; the daemon sees the change through
//! `data_version` and reloads).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "lock";

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds the lock.
    #[error(
        "the data directory {dir} is in use by another hallq process ({holder}); \
         stop it first (only one process may write a data directory)"
    )]
    Held { dir: PathBuf, holder: String },
    /// The lock file could not be opened or locked.
    #[error("cannot lock the data directory {dir} ({path}): {source}")]
    Io {
        dir: PathBuf,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
    path: PathBuf,
}

impl DataLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes the exclusive lock on `data_dir` (which must exist) for `command`
/// (`serve`, `restore`), or says who holds it. Never waits.
pub fn acquire(data_dir: &Path, command: &str) -> Result<DataLock, LockError> {
    let path = data_dir.join(LOCK_FILE);
    let io = |source| LockError::Io {
        dir: data_dir.to_owned(),
        path: path.clone(),
        source,
    };
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(LockError::Held {
                dir: data_dir.to_owned(),
                holder: describe_holder(&mut file),
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    // Ours now: say who we are, for the next one who is refused.
    let record = format!("pid {}\ncommand {command}\n", std::process::id());
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(record.as_bytes()).map_err(io)?;
    file.sync_data().map_err(io)?;
    Ok(DataLock { _file: file, path })
}

/// "pid 1234, hallq serve" from the holder's record, or what is known.
fn describe_holder(file: &mut File) -> String {
    let mut text = String::new();
    // The file is small; a holder still writing it may leave it empty.
    let _ = file.take(4096).read_to_string(&mut text);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    match (field("pid"), field("command")) {
        (Some(pid), Some(cmd)) => format!("pid {pid}, hallq {cmd}"),
        (Some(pid), None) => format!("pid {pid}"),
        _ => "pid unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_with_the_holders_pid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let held = acquire(dir.path(), "serve").expect("first lock");
        let err = acquire(dir.path(), "serve").expect_err("second lock must fail");
        let text = err.to_string();
        assert!(
            text.contains(&dir.path().display().to_string()),
            "names the directory: {text}"
        );
        assert!(
            text.contains(&format!("pid {}, hallq serve", std::process::id())),
            "names the holder: {text}"
        );
        drop(held);
        let again = acquire(dir.path(), "restore").expect("free after drop");
        let record = std::fs::read_to_string(again.path()).expect("read lock file");
        assert_eq!(
            record,
            format!("pid {}\ncommand restore\n", std::process::id())
        );
    }

    #[test]
    fn a_stale_lock_file_does_not_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(LOCK_FILE), "pid 999999\ncommand serve\n").expect("write");
        acquire(dir.path(), "serve").expect("a file without a live holder is no lock");
    }

    #[test]
    fn a_missing_directory_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let err = acquire(&missing, "serve").expect_err("no directory");
        assert!(matches!(err, LockError::Io { .. }));
        assert!(err.to_string().contains(&missing.display().to_string()));
    }
}
