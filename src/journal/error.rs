//! The journal's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the journal. Validation errors
/// (`FieldTooLong`, `NulInField`, `BatchTooLarge`, `Snapshot*`) are raised
/// before any write; on every error from [`Journal::append`] nothing was
/// appended, except [`JournalError::CommitFailed`] (see there).
///
/// [`Journal::append`]: super::Journal::append
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    #[error("cannot open journal {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} is not a hallq journal: {reason}")]
    NotAJournal { path: PathBuf, reason: String },

    #[error("journal schema_version {found} is not supported by this build (supports {supported})")]
    UnsupportedSchema { found: i64, supported: i64 },

    /// SQLite did not accept a setting the journal's guarantees rest on
    /// (`journal_mode=WAL`, `synchronous=FULL`).
    #[error("PRAGMA {pragma} was refused: SQLite reports {got:?}")]
    PragmaRefused { pragma: &'static str, got: String },

    #[error("record {index} of the batch: {field} is {len} bytes, the limit is {max}")]
    FieldTooLong {
        index: usize,
        field: &'static str,
        len: usize,
        max: usize,
    },

    #[error("record {index} of the batch: {field} contains a NUL character")]
    NulInField { index: usize, field: &'static str },

    #[error(
        "batch of {records} records / {bytes} bytes exceeds the limit of {max_records} records / {max_bytes} bytes"
    )]
    BatchTooLarge {
        records: usize,
        bytes: usize,
        max_records: usize,
        max_bytes: usize,
    },

    #[error("snapshot state is {len} bytes, the limit is {max}")]
    SnapshotTooLarge { len: usize, max: usize },

    #[error("snapshot state contains a NUL character")]
    SnapshotNul,

    #[error("snapshot seq {seq} is beyond the journal head {last_seq}")]
    SnapshotBeyondHead { seq: u64, last_seq: u64 },

    #[error(
        "snapshot at seq {seq} belongs to a different history (its chain hash differs from the event's)"
    )]
    SnapshotChainMismatch { seq: u64 },

    /// A row read back breaks the chain: missing seq, hash mismatch or an
    /// unparsable row. Replay must stop here; run [`verify`](super::verify())
    /// for the full report.
    #[error("journal broken at seq {seq}: {reason}")]
    Broken { seq: u64, reason: String },

    /// The head on disk is not the head this handle appended last: another
    /// writer, or an edit of the tail. Nothing was appended; reopen.
    #[error("journal head diverged: {0}; reopen the journal")]
    Diverged(String),

    /// The `COMMIT` of an append failed. SQLite rolled back what it could,
    /// but after an I/O error the batch may or may not be on disk. The
    /// handle is poisoned; reopen to learn the true head.
    #[error("commit failed, outcome unknown (journal poisoned, reopen it): {0}")]
    CommitFailed(#[source] rusqlite::Error),

    #[error("an earlier commit failed with an unknown outcome; reopen the journal")]
    Poisoned,

    #[error("seq would exceed i64::MAX")]
    SeqOverflow,

    #[error("backup destination {0} already exists; a backup never overwrites a file")]
    DestinationExists(PathBuf),

    /// An outbox entry the batch may not write (nothing was committed).
    #[error("outbox entry {id}: {reason}")]
    OutboxEntry { id: u64, reason: String },
}

impl JournalError {
    /// A `Broken` error from a broken-row description.
    pub(crate) fn broken(row: super::BrokenRow) -> Self {
        JournalError::Broken {
            seq: row.seq,
            reason: row.reason,
        }
    }
}
