//! [`JournalReader`]: a read-only handle for other processes and threads
//! (supervisor tools, exports, a second thread serving old events).

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::{JournalError, Record, VerifyReport, backup, read, schema, snapshot, verify};

/// A read-only handle on a journal. Opening never creates or changes the
/// file, and works while the daemon's [`Journal`](super::Journal) has it
/// open in WAL mode. Each call sees the file as of that call.
#[derive(Debug)]
pub struct JournalReader {
    conn: Connection,
    path: PathBuf,
}

impl JournalReader {
    /// Opens an existing journal read-only.
    pub fn open(path: &Path) -> Result<JournalReader, JournalError> {
        Ok(JournalReader {
            conn: schema::open_read_only(path)?,
            path: path.to_owned(),
        })
    }

    /// The file this reader was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The seq of the last record now on disk; 0 when empty.
    pub fn last_seq(&self) -> Result<u64, JournalError> {
        Ok(read::head(&self.conn)?.0)
    }

    /// As [`Journal::for_each_from`](super::Journal::for_each_from).
    pub fn for_each_from<E, F>(&self, after_seq: u64, f: F) -> Result<(), E>
    where
        E: From<JournalError>,
        F: FnMut(Record) -> Result<(), E>,
    {
        read::for_each_from(&self.conn, after_seq, f)
    }

    /// As [`Journal::read_range`](super::Journal::read_range).
    pub fn read_range(&self, after_seq: u64, limit: usize) -> Result<Vec<Record>, JournalError> {
        read::read_range(&self.conn, after_seq, limit)
    }

    /// The latest snapshot at or before the current head, checked against
    /// the chain, as [`Journal::latest_snapshot`](super::Journal::latest_snapshot).
    pub fn latest_snapshot(&self) -> Result<Option<(u64, String)>, JournalError> {
        let last_seq = read::head(&self.conn)?.0;
        snapshot::latest(&self.conn, last_seq)
    }

    /// As [`Journal::backup_to`](super::Journal::backup_to).
    pub fn backup_to(&self, dest: &Path) -> Result<(), JournalError> {
        backup::backup_connection(&self.conn, dest)
    }

    /// [`verify`](super::verify()) through this reader's connection.
    pub fn verify(&self) -> Result<VerifyReport, JournalError> {
        verify::verify_connection(&self.conn)
    }
}
