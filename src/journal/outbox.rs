//! The evaluation outbox (transactional outbox): one row per 好差评 rating
//! that must be pushed to the provincial platform, written in the SAME
//! transaction as the `service_rated` event it comes from, and marked
//! acknowledged (again by the single writer) once the platform took it.
//!
//! The table lives outside the hash chain, like `snapshots`: it is delivery
//! bookkeeping, not the record. Its `id` is the seq of the `service_rated`
//! row, so every entry points into the chain, and `payload` is the joined
//! evaluation (`stats::EvaluationRecord`) as JSON, frozen at commit.
//!
//! ```text
//! outbox(id        INTEGER PRIMARY KEY  -- = events.seq of the service_rated row
//!        created_ms INTEGER             -- the event's at_ms
//!        payload   TEXT                 -- EvaluationRecord as JSON
//!        acked_ms  INTEGER NULL)        -- when the receiver's 2xx was committed; NULL = pending
//! ```
//!
//! Added by schema version 2; a version-1 journal gets the table when the
//! writer opens it (see `schema.rs`). A read-only handle on a version-1
//! journal sees an empty outbox.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::{JournalError, MAX_PAYLOAD_BYTES, schema};

/// Schema version 2: the outbox table and its pending index.
pub(crate) const SCHEMA_V2: &str = "
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY NOT NULL CHECK (id >= 1),
    created_ms INTEGER NOT NULL,
    payload    TEXT NOT NULL,
    acked_ms   INTEGER
) STRICT;

CREATE INDEX outbox_pending ON outbox (id) WHERE acked_ms IS NULL;

CREATE TRIGGER outbox_keep BEFORE DELETE ON outbox
BEGIN SELECT RAISE(ABORT, 'hallq outbox entries are kept: DELETE refused'); END;
";

/// Most acknowledgements one batch may carry.
pub const MAX_ACKS_PER_BATCH: usize = 4096;

/// A new entry, written with the batch that appends its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxEntry {
    /// The seq of the `service_rated` row (must be in the same batch).
    pub id: u64,
    pub created_ms: i64,
    /// The joined evaluation as JSON, at most [`MAX_PAYLOAD_BYTES`].
    pub payload: String,
}

/// What a batch writes to the outbox beside its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxWrites {
    pub entries: Vec<NewOutboxEntry>,
    /// Entries the receiver acknowledged (2xx): marked with `acked_ms`.
    pub acks: Vec<u64>,
    /// The time written into `acked_ms`.
    pub acked_ms: i64,
}

impl OutboxWrites {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.acks.is_empty()
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: u64,
    pub created_ms: i64,
    pub payload: String,
    pub acked_ms: Option<i64>,
}

/// How the outbox stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Entries not yet acknowledged.
    pub pending: u64,
    /// Entries acknowledged.
    pub acked: u64,
    /// `created_ms` of the oldest pending entry.
    pub oldest_pending_ms: Option<i64>,
    /// Id of the most recently acknowledged entry (highest id).
    pub last_acked_id: Option<u64>,
}

fn to_i64(id: u64) -> Result<i64, JournalError> {
    i64::try_from(id).map_err(|_| JournalError::SeqOverflow)
}

/// Writes `w` inside the writer's transaction `tx`, whose batch appends seqs
/// `first..=last` (an empty batch: `first > last`). Refuses (nothing is
/// committed, the caller rolls back) an entry whose id is not in the batch or
/// whose payload is too long; an ack of an unknown or already acknowledged id
/// changes nothing. Returns how many entries were newly acknowledged.
pub(crate) fn write(
    tx: &Transaction<'_>,
    first: u64,
    last: u64,
    w: &OutboxWrites,
) -> Result<usize, JournalError> {
    if w.acks.len() > MAX_ACKS_PER_BATCH {
        return Err(JournalError::BatchTooLarge {
            records: w.acks.len(),
            bytes: 0,
            max_records: MAX_ACKS_PER_BATCH,
            max_bytes: 0,
        });
    }
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO outbox (id, created_ms, payload, acked_ms) VALUES (?1, ?2, ?3, NULL)",
        )?;
        for (index, e) in w.entries.iter().enumerate() {
            if !(first..=last).contains(&e.id) {
                return Err(JournalError::OutboxEntry {
                    id: e.id,
                    reason: format!("not an event of this batch (seqs {first}..={last})"),
                });
            }
            if e.payload.len() > MAX_PAYLOAD_BYTES {
                return Err(JournalError::FieldTooLong {
                    index,
                    field: "outbox payload",
                    len: e.payload.len(),
                    max: MAX_PAYLOAD_BYTES,
                });
            }
            if e.payload.as_bytes().contains(&0) {
                return Err(JournalError::NulInField {
                    index,
                    field: "outbox payload",
                });
            }
            insert.execute((to_i64(e.id)?, e.created_ms, e.payload.as_str()))?;
        }
    }
    let mut acked = 0;
    let mut update =
        tx.prepare_cached("UPDATE outbox SET acked_ms = ?2 WHERE id = ?1 AND acked_ms IS NULL")?;
    for id in &w.acks {
        acked += update.execute((to_i64(*id)?, w.acked_ms))?;
    }
    Ok(acked)
}

/// Whether `conn`'s journal has the outbox table (a version-1 journal opened
/// read-only has not).
fn has_table(conn: &Connection) -> Result<bool, JournalError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'outbox'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let id: i64 = r.get(0)?;
    Ok(OutboxEntry {
        id: u64::try_from(id).unwrap_or(0),
        created_ms: r.get(1)?,
        payload: r.get(2)?,
        acked_ms: r.get(3)?,
    })
}

/// Pending entries with `id > after_id`, oldest first, at most `limit`.
pub(crate) fn pending(
    conn: &Connection,
    after_id: u64,
    limit: usize,
) -> Result<Vec<OutboxEntry>, JournalError> {
    if !has_table(conn)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id, created_ms, payload, acked_ms FROM outbox \
         WHERE acked_ms IS NULL AND id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map((to_i64(after_id)?, limit), entry)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every entry with `id > after_id` (pending or not), oldest first, at most `limit`.
pub(crate) fn entries(
    conn: &Connection,
    after_id: u64,
    limit: usize,
) -> Result<Vec<OutboxEntry>, JournalError> {
    if !has_table(conn)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id, created_ms, payload, acked_ms FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map((to_i64(after_id)?, limit), entry)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Counts of the outbox.
pub(crate) fn counts(conn: &Connection) -> Result<OutboxCounts, JournalError> {
    if !has_table(conn)? {
        return Ok(OutboxCounts::default());
    }
    let (pending, oldest): (i64, Option<i64>) = conn.query_row(
        "SELECT count(*), min(created_ms) FROM outbox WHERE acked_ms IS NULL",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (acked, last): (i64, Option<i64>) = conn.query_row(
        "SELECT count(*), max(id) FROM outbox WHERE acked_ms IS NOT NULL",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(OutboxCounts {
        pending: u64::try_from(pending).unwrap_or(0),
        acked: u64::try_from(acked).unwrap_or(0),
        oldest_pending_ms: oldest,
        last_acked_id: last.and_then(|l| u64::try_from(l).ok()),
    })
}

/// A read-only handle on a journal's outbox (the pusher's and the API's
/// view; the daemon's writer is the only one that changes it).
#[derive(Debug)]
pub struct OutboxReader {
    conn: Connection,
}

impl OutboxReader {
    /// Opens an existing journal read-only (never creates or changes it).
    pub fn open(path: &Path) -> Result<OutboxReader, JournalError> {
        Ok(OutboxReader {
            conn: schema::open_read_only(path)?,
        })
    }

    /// Pending entries with `id > after_id`, oldest first, at most `limit`.
    pub fn pending(&self, after_id: u64, limit: usize) -> Result<Vec<OutboxEntry>, JournalError> {
        pending(&self.conn, after_id, limit)
    }

    /// All entries with `id > after_id`, oldest first, at most `limit`.
    pub fn entries(&self, after_id: u64, limit: usize) -> Result<Vec<OutboxEntry>, JournalError> {
        entries(&self.conn, after_id, limit)
    }

    pub fn counts(&self) -> Result<OutboxCounts, JournalError> {
        counts(&self.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Journal, JournalReader, NewRecord, SCHEMA_VERSION};

    fn rec(payload: &str) -> NewRecord<'_> {
        NewRecord {
            at_ms: 1_000,
            actor: "system",
            client: "test",
            kind: "service_rated",
            payload,
        }
    }

    /// A journal as schema version 1 wrote it: no outbox table.
    fn write_v1_journal(path: &Path) {
        let conn = Connection::open(path).expect("open");
        conn.execute_batch(schema::SCHEMA_V1).expect("v1 schema");
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', 1)",
            [],
        )
        .expect("version");
        conn.pragma_update(None, "application_id", crate::journal::APPLICATION_ID)
            .expect("app id");
        // Two chained rows, exactly as the writer chains them.
        let mut prev = crate::journal::GENESIS_HASH;
        for seq in 1..=2u64 {
            let r = rec("{\"n\":1}");
            let hash = crate::journal::chain(&prev, seq, &r).expect("chain");
            conn.execute(
                "INSERT INTO events (seq, at_ms, actor, client, kind, payload, hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                (
                    seq as i64,
                    r.at_ms,
                    r.actor,
                    r.client,
                    r.kind,
                    r.payload,
                    &hash[..],
                ),
            )
            .expect("insert");
            prev = hash;
        }
    }

    #[test]
    fn a_version_1_journal_opens_and_gets_the_outbox() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        write_v1_journal(&path);

        // Read-only, before any writer touched it: an empty outbox, no error.
        let reader = OutboxReader::open(&path).expect("read-only open of a v1 journal");
        assert_eq!(reader.counts().expect("counts"), OutboxCounts::default());
        assert!(reader.pending(0, 10).expect("pending").is_empty());
        drop(reader);

        let mut j = Journal::open(&path).expect("the writer migrates a v1 journal");
        assert_eq!(j.last_seq(), 2);
        assert_eq!(
            j.verify().expect("verify").last_seq,
            2,
            "the chain is intact"
        );
        let first = j
            .append_with_outbox(
                &[rec("{\"n\":3}")],
                &OutboxWrites {
                    entries: vec![NewOutboxEntry {
                        id: 3,
                        created_ms: 1_000,
                        payload: "{\"id\":3}".into(),
                    }],
                    ..OutboxWrites::default()
                },
            )
            .expect("append with an outbox entry");
        assert_eq!(first, 3);
        drop(j);

        let conn = Connection::open(&path).expect("open");
        let v: i64 = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .expect("version");
        assert_eq!(v, SCHEMA_VERSION);
        drop(conn);
        let reader = OutboxReader::open(&path).expect("reader");
        let pending = reader.pending(0, 10).expect("pending");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, 3);
        assert_eq!(
            JournalReader::open(&path)
                .expect("reader")
                .verify()
                .expect("verify")
                .last_seq,
            3
        );
        // Opening again does not migrate twice.
        drop(Journal::open(&path).expect("reopen"));
    }

    #[test]
    fn entries_commit_with_their_events_and_acks_mark_them_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.db");
        let mut j = Journal::open(&path).expect("open");
        j.append(&[rec("{}")]).expect("append");
        let entry = |id| NewOutboxEntry {
            id,
            created_ms: 7,
            payload: format!("{{\"id\":{id}}}"),
        };
        // An entry that is not an event of its batch is refused, and the
        // whole batch with it.
        let err = j
            .append_with_outbox(
                &[rec("{}")],
                &OutboxWrites {
                    entries: vec![entry(1)],
                    ..OutboxWrites::default()
                },
            )
            .expect_err("id 1 is not in this batch");
        assert!(
            matches!(err, JournalError::OutboxEntry { id: 1, .. }),
            "{err}"
        );
        assert_eq!(j.last_seq(), 1, "nothing of the refused batch was appended");

        j.append_with_outbox(
            &[rec("{}"), rec("{}")],
            &OutboxWrites {
                entries: vec![entry(2), entry(3)],
                ..OutboxWrites::default()
            },
        )
        .expect("append");
        let reader = OutboxReader::open(&path).expect("reader");
        assert_eq!(reader.counts().expect("counts").pending, 2);
        assert_eq!(reader.counts().expect("counts").oldest_pending_ms, Some(7));

        // An ack alone (no events) commits too; unknown and repeated acks change nothing.
        let acks = |ids: Vec<u64>| OutboxWrites {
            acks: ids,
            acked_ms: 99,
            ..OutboxWrites::default()
        };
        assert_eq!(
            j.append_with_outbox(&[], &acks(vec![2, 42])).expect("ack"),
            4
        );
        assert_eq!(j.last_seq(), 3, "an ack appends no event");
        j.append_with_outbox(&[], &acks(vec![2]))
            .expect("ack again");
        let c = reader.counts().expect("counts");
        assert_eq!((c.pending, c.acked, c.last_acked_id), (1, 1, Some(2)));
        let pending = reader.pending(0, 10).expect("pending");
        assert_eq!(pending.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3]);
        let all = reader.entries(0, 10).expect("entries");
        assert_eq!(all[0].acked_ms, Some(99));
        assert_eq!(all[1].acked_ms, None);
        assert!(reader.pending(3, 10).expect("pending").is_empty());
    }
}
