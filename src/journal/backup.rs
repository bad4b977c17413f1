//! Online backups with the SQLite backup API.
//!
//! The copy is taken in a single backup step, i.e. inside one read
//! transaction on the source: in WAL mode that is a consistent snapshot and
//! does not block the writer (appends go on into the WAL meanwhile). Copying
//! in small steps instead would restart whenever another connection writes,
//! and might never finish under a steady stream of appends.
//!
//! The copy is written next to `dest` as `.<name>.partial-<pid>`, switched to
//! a self-contained rollback-journal file (no `-wal`/`-shm` needed to read
//! it), fsynced, then renamed to `dest` and the directory fsynced. A crash
//! never leaves a half-written file under `dest`, and an existing `dest` is
//! never overwritten.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{JournalError, schema};

/// How often a busy or locked source is retried, and how long between tries.
const BUSY_RETRIES_MAX: u32 = 100;
const BUSY_RETRY_PAUSE: Duration = Duration::from_millis(20);

/// Opens the journal at `path` read-only and backs it up to `dest` (which
/// must not exist; its directory must). Safe while a daemon appends to
/// `path`. The copy passes [`verify`](super::verify()) whenever the source
/// does, and holds a prefix of the source's records.
pub fn backup(path: &Path, dest: &Path) -> Result<(), JournalError> {
    let src = schema::open_read_only(path)?;
    backup_connection(&src, dest)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_owned(),
        source,
    }
}

fn partial_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "journal-backup".to_owned());
    dest.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

fn remove_if_exists(path: &Path) -> Result<(), JournalError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(path)(e)),
        _ => Ok(()),
    }
}

/// Backs up the database of `src` to `dest`.
pub(crate) fn backup_connection(src: &Connection, dest: &Path) -> Result<(), JournalError> {
    if dest.symlink_metadata().is_ok() {
        return Err(JournalError::DestinationExists(dest.to_owned()));
    }
    let partial = partial_path(dest);
    let journal_file = PathBuf::from(format!("{}-journal", partial.display()));
    remove_if_exists(&partial)?;
    remove_if_exists(&journal_file)?;
    let result = copy_to(src, &partial).and_then(|()| publish(&partial, dest));
    if result.is_err() {
        // Best effort: the error being returned matters more.
        let _ = remove_if_exists(&partial);
        let _ = remove_if_exists(&journal_file);
    }
    result
}

/// Copies `src` into a new file at `partial`, fsynced, not in WAL mode.
fn copy_to(src: &Connection, partial: &Path) -> Result<(), JournalError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut dst =
        Connection::open_with_flags(partial, flags).map_err(|source| JournalError::Open {
            path: partial.to_owned(),
            source,
        })?;
    dst.pragma_update(None, "synchronous", "FULL")?;
    {
        let copy = Backup::new(src, &mut dst)?;
        let mut busy_retries = 0u32;
        loop {
            // -1: all pages in one step, i.e. one read transaction on src.
            match copy.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked => {
                    busy_retries += 1;
                    if busy_retries > BUSY_RETRIES_MAX {
                        return Err(JournalError::Sqlite(rusqlite::Error::SqliteFailure(
                            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                            Some("backup source stayed busy".to_owned()),
                        )));
                    }
                    thread::sleep(BUSY_RETRY_PAUSE);
                }
                // StepResult is non_exhaustive; a future variant is an error.
                _ => {
                    return Err(JournalError::Sqlite(rusqlite::Error::InvalidQuery));
                }
            }
        }
    }
    // The copied header says WAL; make the copy a single self-contained file.
    let mode: String = dst.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(JournalError::PragmaRefused {
            pragma: "journal_mode = DELETE (backup copy)",
            got: mode,
        });
    }
    dst.close().map_err(|(_, e)| JournalError::Sqlite(e))?;
    File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(io_err(partial))?;
    Ok(())
}

/// Moves the finished copy to `dest` and makes the rename durable.
fn publish(partial: &Path, dest: &Path) -> Result<(), JournalError> {
    if dest.symlink_metadata().is_ok() {
        return Err(JournalError::DestinationExists(dest.to_owned()));
    }
    std::fs::rename(partial, dest).map_err(io_err(dest))?;
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))?;
    Ok(())
}
