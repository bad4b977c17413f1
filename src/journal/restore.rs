//! The SQL side of backup sets and restores (the rest is in
//! `daemon::backups`): copying the accounts store online, and dropping its
//! sessions from a copy.
//!
//! The journal itself is copied with [`backup()`](super::backup()) both ways
//! (into a set, and from a set back into a data directory): the SQLite
//! backup API reads a consistent snapshot whatever the source's mode (a WAL
//! file with its `-wal`, or a self-contained copy) and writes a
//! self-contained file that is renamed into place only when complete.

use std::fs::File;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::{JournalError, backup};

/// Copies the accounts store at `src` to `dest` (which must not exist) with
/// the SQLite online backup API: safe while the daemon writes `src`.
/// `src` must look like an accounts store (its `accounts` table), so a
/// mistaken path is refused rather than copied.
pub fn copy_accounts(src: &Path, dest: &Path) -> Result<(), JournalError> {
    let conn = open_accounts_read_only(src)?;
    backup::backup_connection(&conn, dest)
}

/// Deletes every session (bearer-token hashes, live or not) from the
/// accounts copy at `path` and compacts it, so a backup set holds no
/// sign-in and a restore signs everyone out; accounts and password hashes
/// stay. The file is fsynced.
pub fn drop_sessions(path: &Path) -> Result<(), JournalError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|source| JournalError::Open {
        path: path.to_owned(),
        source,
    })?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute("DELETE FROM sessions", [])?;
    conn.execute_batch("VACUUM")?;
    conn.close().map_err(|(_, e)| JournalError::Sqlite(e))?;
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| JournalError::Io {
            path: path.to_owned(),
            source,
        })
}

fn open_accounts_read_only(path: &Path) -> Result<Connection, JournalError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|source| JournalError::Open {
        path: path.to_owned(),
        source,
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('accounts', 'sessions')",
            [],
            |r| r.get(0),
        )
        .map_err(|source| JournalError::Open {
            path: path.to_owned(),
            source,
        })?;
    if tables != 2 {
        return Err(JournalError::NotAJournal {
            path: path.to_owned(),
            reason: "not a hallq accounts store (no accounts and sessions tables)".into(),
        });
    }
    Ok(conn)
}
