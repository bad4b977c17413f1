//! DDL, connection settings, schema version and migration.
//!
//! A journal file is recognised by `PRAGMA application_id` =
//! [`APPLICATION_ID`] and a `meta` row `schema_version`. A fresh (empty)
//! file is initialised; any other SQLite file is refused rather than
//! written to.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::JournalError;

/// The schema this build writes and reads. Version 2 added the evaluation
/// outbox (`outbox.rs`); a version-1 journal is migrated when the writer
/// opens it, and read as is (with an empty outbox) by read-only handles.
pub const SCHEMA_VERSION: i64 = 2;

/// `PRAGMA application_id` of a hallq journal: ASCII "HQJ1".
pub const APPLICATION_ID: i32 = 0x4851_4a31;

/// How long a connection waits for a lock held by another connection
/// (WAL readers and the single writer almost never wait).
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The WAL file is truncated back to this size after a checkpoint, so a long
/// reader (a backup) cannot leave a huge WAL behind.
const JOURNAL_SIZE_LIMIT_BYTES: i64 = 64 << 20;

pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value ANY NOT NULL
) STRICT;

CREATE TABLE events (
    seq     INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 1),
    at_ms   INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    client  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL,
    hash    BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'hallq journal is append-only: UPDATE refused'); END;

CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'hallq journal is append-only: DELETE refused'); END;

CREATE TABLE snapshots (
    seq        INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 0),
    chain_hash BLOB NOT NULL CHECK (length(chain_hash) = 32),
    state      TEXT NOT NULL
) STRICT;
";

/// Each connection's page cache, in SQLite's negative-KiB form: 512 KiB
/// (SQLite's default is 2 MiB). The journal is appended at its end and read
/// in seq order, so a few hot pages are all a cache holds to any use, and
/// the daemon keeps several connections open for the whole day.
const CACHE_SIZE: i64 = -512;

/// Opens `path` for writing: WAL, `synchronous=FULL`, schema created or
/// checked, and migrated from an older version.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, JournalError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn =
        Connection::open_with_flags(path, flags).map_err(|source| JournalError::Open {
            path: path.to_owned(),
            source,
        })?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Refuse a foreign file before changing anything in it.
    check_identity(&conn, path, true)?;

    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(JournalError::PragmaRefused {
            pragma: "journal_mode = WAL",
            got: mode,
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    let synchronous: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0))?;
    if synchronous != 2 {
        return Err(JournalError::PragmaRefused {
            pragma: "synchronous = FULL",
            got: synchronous.to_string(),
        });
    }
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT_BYTES)?;
    conn.pragma_update(None, "cache_size", CACHE_SIZE)?;

    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Re-check inside the write lock: another process may have initialised
    // the file between the first check and now.
    let mut version = match check_identity(&tx, path, true)? {
        Identity::Empty => {
            tx.execute_batch(SCHEMA_V1)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', 1)",
                [],
            )?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            1
        }
        Identity::Journal(v) => v,
    };
    // Migrations, one step at a time, inside this transaction: a crash
    // half-way leaves the file at its old version.
    if version < 2 {
        tx.execute_batch(super::outbox::SCHEMA_V2)?;
        version = 2;
    }
    debug_assert_eq!(version, SCHEMA_VERSION);
    tx.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'schema_version' AND value IS NOT ?1",
        [version],
    )?;
    tx.commit()?;
    Ok(conn)
}

/// Opens an existing journal read-only. Works while a writer has the file
/// open in WAL mode; never creates or changes the file's content.
pub(crate) fn open_read_only(path: &Path) -> Result<Connection, JournalError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|source| JournalError::Open {
        path: path.to_owned(),
        source,
    })?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    check_identity(&conn, path, false)?;
    conn.pragma_update(None, "cache_size", CACHE_SIZE)?;
    Ok(conn)
}

#[derive(Debug, PartialEq, Eq)]
enum Identity {
    /// A database with no schema at all: may be initialised.
    Empty,
    /// A hallq journal of a version this build reads (1 ..= SCHEMA_VERSION).
    Journal(i64),
}

/// Decides whether `conn` holds a journal this build can use.
fn check_identity(
    conn: &Connection,
    path: &Path,
    empty_ok: bool,
) -> Result<Identity, JournalError> {
    let not_a_journal = |reason: String| JournalError::NotAJournal {
        path: path.to_owned(),
        reason,
    };
    // Reading page 1 is the first access: a garbage file fails here.
    let app_id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|e| not_a_journal(format!("unreadable header: {e}")))?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(|e| not_a_journal(format!("unreadable schema: {e}")))?;
    if app_id == 0 && objects == 0 {
        return if empty_ok {
            Ok(Identity::Empty)
        } else {
            Err(not_a_journal("empty database".to_owned()))
        };
    }
    if app_id != APPLICATION_ID {
        return Err(not_a_journal(format!(
            "application_id is {app_id:#x}, expected {APPLICATION_ID:#x}"
        )));
    }
    let version: i64 = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| not_a_journal(format!("no readable schema_version: {e}")))?;
    match version {
        v @ 1..=SCHEMA_VERSION => Ok(Identity::Journal(v)),
        v if v > SCHEMA_VERSION => Err(JournalError::UnsupportedSchema {
            found: v,
            supported: SCHEMA_VERSION,
        }),
        v => Err(not_a_journal(format!("unknown schema_version {v}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.db");
        drop(open_writer(&path).expect("create"));
        let conn = open_writer(&path).expect("reopen");
        let v: i64 = conn
            .query_row(
                "SELECT value FROM meta WHERE key='schema_version'",
                [],
                |r| r.get(0),
            )
            .expect("version");
        assert_eq!(v, SCHEMA_VERSION);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
        drop(open_read_only(&path).expect("read-only"));
    }

    #[test]
    fn refuses_foreign_and_future_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let foreign = dir.path().join("foreign.db");
        let c = Connection::open(&foreign).expect("open");
        c.execute_batch("CREATE TABLE t (x)").expect("create");
        drop(c);
        assert!(matches!(
            open_writer(&foreign),
            Err(JournalError::NotAJournal { .. })
        ));
        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, vec![0x5a; 8192]).expect("write");
        assert!(matches!(
            open_writer(&garbage),
            Err(JournalError::NotAJournal { .. })
        ));
        assert!(matches!(
            open_read_only(&garbage),
            Err(JournalError::NotAJournal { .. })
        ));

        let future = dir.path().join("future.db");
        drop(open_writer(&future).expect("create"));
        let c = Connection::open(&future).expect("open");
        c.execute("UPDATE meta SET value = 3 WHERE key = 'schema_version'", [])
            .expect("bump");
        drop(c);
        assert!(matches!(
            open_writer(&future),
            Err(JournalError::UnsupportedSchema {
                found: 3,
                supported: 2
            })
        ));
    }

    #[test]
    fn read_only_refuses_missing_and_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.db");
        assert!(matches!(
            open_read_only(&missing),
            Err(JournalError::Open { .. })
        ));
        assert!(!missing.exists(), "read-only open must not create the file");
        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, b"").expect("write");
        assert!(matches!(
            open_read_only(&empty),
            Err(JournalError::NotAJournal { .. })
        ));
    }
}
