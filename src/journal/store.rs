//! [`Journal`]: the single writer of a journal file.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, TransactionBehavior};

use super::chain::{Hash, chain};
use super::limits::{check_batch, record_bytes};
use super::outbox::{self, OutboxWrites};
use super::{
    JournalError, NewRecord, Record, VerifyReport, backup, read, schema, snapshot, verify,
};

const INSERT_EVENT: &str = "INSERT INTO events (seq, at_ms, actor, client, kind, payload, hash) \
                            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// The writer's handle on a journal file. One per file: a second writer's
/// appends fail with [`JournalError::Diverged`] rather than fork the chain.
///
/// `Journal` is `Send` but not `Sync`: give it to one thread (the daemon's
/// commit thread) and send it batches.
#[derive(Debug)]
pub struct Journal {
    conn: Connection,
    path: PathBuf,
    last_seq: u64,
    last_hash: Hash,
    poisoned: bool,
}

impl Journal {
    /// Opens or creates the journal at `path` (its directory must exist):
    /// WAL mode, `synchronous=FULL`, schema created or checked, head read.
    ///
    /// Refuses a file that is not a hallq journal, a newer schema, or a
    /// journal whose last row is unparsable. Does not verify the whole chain
    /// (that is [`verify`](super::verify())); replay through
    /// [`for_each_from`](Self::for_each_from) checks every row it reads.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let conn = schema::open_writer(path)?;
        let (last_seq, last_hash) = read::head(&conn)?;
        Ok(Journal {
            conn,
            path: path.to_owned(),
            last_seq,
            last_hash,
            poisoned: false,
        })
    }

    /// The file this journal was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The seq of the last record; 0 when empty.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The chain hash of the last record; 32 zero bytes when empty. Record it
    /// outside the file (daily report, supervisor) to anchor the chain.
    pub fn last_hash(&self) -> [u8; 32] {
        self.last_hash
    }

    /// Appends `records` in one transaction (the group commit) and returns
    /// the seq of the first one; they get consecutive seqs. When this returns
    /// `Ok` the batch is durable (one WAL fsync for the whole batch).
    ///
    /// An empty slice is a no-op (no transaction, no fsync) that returns
    /// `last_seq() + 1`.
    ///
    /// On `Err` nothing was appended and `last_seq`/`last_hash` are
    /// unchanged, with one exception: [`JournalError::CommitFailed`] means
    /// the COMMIT itself failed and the outcome on disk is unknown; the
    /// handle is then poisoned and every later append returns
    /// [`JournalError::Poisoned`] until the journal is reopened.
    pub fn append(&mut self, records: &[NewRecord<'_>]) -> Result<u64, JournalError> {
        self.append_with_outbox(records, &OutboxWrites::default())
    }

    /// [`append`](Self::append), writing `outbox` (new entries for events
    /// of this batch, acknowledgements) in the SAME transaction: an entry
    /// exists exactly when its event does. With no records but some
    /// acknowledgements it still commits (and appends no event).
    pub fn append_with_outbox(
        &mut self,
        records: &[NewRecord<'_>],
        outbox: &OutboxWrites,
    ) -> Result<u64, JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned);
        }
        check_batch(records)?;
        let first = self
            .last_seq
            .checked_add(1)
            .ok_or(JournalError::SeqOverflow)?;
        if records.is_empty() && outbox.is_empty() {
            return Ok(first);
        }
        let last = self
            .last_seq
            .checked_add(records.len() as u64)
            .filter(|s| i64::try_from(*s).is_ok())
            .ok_or(JournalError::SeqOverflow)?;

        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Inside the write lock: the head on disk must be the head we chain
        // from. Otherwise another writer appended, or the tail was edited.
        let (disk_seq, disk_hash) = read::head(&tx)?;
        if (disk_seq, disk_hash) != (self.last_seq, self.last_hash) {
            return Err(JournalError::Diverged(format!(
                "this handle's head is seq {} ({}), the file's is seq {disk_seq} ({})",
                self.last_seq,
                hex::encode(self.last_hash),
                hex::encode(disk_hash)
            )));
        }
        let mut prev = self.last_hash;
        {
            let mut insert = tx.prepare_cached(INSERT_EVENT)?;
            for (index, (seq, r)) in (first..=last).zip(records).enumerate() {
                // Unreachable after check_batch (fields are far below 4 GiB).
                let hash = chain(&prev, seq, r).ok_or(JournalError::FieldTooLong {
                    index,
                    field: "record",
                    len: record_bytes(r),
                    max: u32::MAX as usize,
                })?;
                let seq_i = i64::try_from(seq).map_err(|_| JournalError::SeqOverflow)?;
                insert.execute((
                    seq_i,
                    r.at_ms,
                    r.actor,
                    r.client,
                    r.kind,
                    r.payload,
                    &hash[..],
                ))?;
                prev = hash;
            }
        }
        if !outbox.is_empty() {
            outbox::write(&tx, first, last, outbox)?;
        }
        if let Err(e) = tx.commit() {
            self.poisoned = true;
            return Err(JournalError::CommitFailed(e));
        }
        self.last_seq = last;
        self.last_hash = prev;
        Ok(first)
    }

    /// Calls `f` with every record with `seq > after_seq`, in order, without
    /// loading the table in memory. Every row is checked against its
    /// predecessor (dense seq, chain link); a broken row stops the stream
    /// with [`JournalError::Broken`]. `f`'s error stops it too and is
    /// returned as is; `E` is the caller's error type (`JournalError`,
    /// `anyhow::Error`, a daemon error...) and only needs
    /// `From<JournalError>`.
    ///
    /// Reads one consistent snapshot of the file.
    pub fn for_each_from<E, F>(&self, after_seq: u64, f: F) -> Result<(), E>
    where
        E: From<JournalError>,
        F: FnMut(Record) -> Result<(), E>,
    {
        read::for_each_from(&self.conn, after_seq, f)
    }

    /// Up to `limit` records with `seq > after_seq`, checked like
    /// [`for_each_from`](Self::for_each_from). Returns fewer when the
    /// journal ends, and at most [`MAX_READ_RECORDS`](super::MAX_READ_RECORDS)
    /// records or about [`MAX_READ_BYTES`](super::MAX_READ_BYTES) of text
    /// (at least one record if any exists): loop until it returns empty.
    pub fn read_range(&self, after_seq: u64, limit: usize) -> Result<Vec<Record>, JournalError> {
        read::read_range(&self.conn, after_seq, limit)
    }

    /// Durably stores `state_json` as the state after `seq`
    /// (`0 <= seq <= last_seq()`), replacing any snapshot at the same seq.
    /// Snapshots are outside the hash chain.
    pub fn save_snapshot(&mut self, seq: u64, state_json: &str) -> Result<(), JournalError> {
        snapshot::save(&mut self.conn, self.last_seq, seq, state_json)
    }

    /// The latest snapshot with `seq <= last_seq()`, as `(seq, state_json)`.
    /// Replay = this state, then [`for_each_from(seq)`](Self::for_each_from).
    /// Fails with [`JournalError::SnapshotChainMismatch`] when the event at
    /// that seq is not the one the snapshot was taken after.
    pub fn latest_snapshot(&self) -> Result<Option<(u64, String)>, JournalError> {
        snapshot::latest(&self.conn, self.last_seq)
    }

    /// Deletes all snapshots but the `keep` latest; returns how many went.
    pub fn prune_snapshots(&mut self, keep: usize) -> Result<usize, JournalError> {
        snapshot::prune(&self.conn, keep)
    }

    /// Online backup to `dest` (which must not exist) with the SQLite backup
    /// API: a consistent copy even while other connections append. See
    /// [`backup`](super::backup()).
    pub fn backup_to(&self, dest: &Path) -> Result<(), JournalError> {
        backup::backup_connection(&self.conn, dest)
    }

    /// [`verify`](super::verify()) through this handle's connection.
    pub fn verify(&self) -> Result<VerifyReport, JournalError> {
        verify::verify_connection(&self.conn)
    }
}
