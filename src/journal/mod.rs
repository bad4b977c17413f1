//! The durable journal: an append-only, hash-chained event log in SQLite.
//!
//! This is the only code in hallq that knows SQL. Every event of the hall is
//! appended here, and [`Journal::append`] returns only once the batch is
//! durable (WAL, `synchronous=FULL`), so the daemon can honour *commit before
//! effect* (DESIGN.md §4, invariant 2). The journal is generic over the event
//! payload: it stores the caller's JSON text verbatim and never parses it.
//!
//! # Files and modules
//!
//! - [`mod@chain`]: the pure hash-chain function [`chain()`] (no I/O).
//! - `limits`: size limits and record validation.
//! - `schema`: DDL, connection settings, schema version and migration.
//! - `store`: [`Journal`], the single writer.
//! - `reader`: [`JournalReader`], a read-only handle for other processes.
//! - `read`: row decoding and chain checking while streaming.
//! - `snapshot`, [`verify()`], [`backup()`].
//!
//! # The hash chain (for auditors)
//!
//! Every row of the `events` table stores `hash`, a 32-byte BLOB:
//!
//! ```text
//! hash(seq) = SHA-256( prev_hash                    32 bytes
//!                    || seq    as u64 big-endian      8 bytes
//!                    || at_ms  as i64 big-endian      8 bytes (two's complement)
//!                    || len(actor)   as u32 big-endian || actor   bytes (UTF-8)
//!                    || len(client)  as u32 big-endian || client  bytes (UTF-8)
//!                    || len(kind)    as u32 big-endian || kind    bytes (UTF-8)
//!                    || len(payload) as u32 big-endian || payload bytes (UTF-8) )
//! prev_hash = hash(seq - 1), and 32 zero bytes for seq = 1.
//! ```
//!
//! Lengths are byte lengths of the UTF-8 text as stored. Seqs start at 1 and
//! are dense. A 20-line Python re-implementation (hashlib + struct) reproduces
//! the pinned vectors in `chain::tests`.
//!
//! What the chain proves, and what it does not: editing, inserting or
//! deleting any row in the middle is detected by [`verify()`] at that seq.
//! Rewriting *every* hash after an edit, or cutting rows off the tail, yields
//! a chain that is consistent with itself; that is only detected by comparing
//! the head ([`VerifyReport::last_seq`], [`VerifyReport::last_hash`]) with a
//! value recorded elsewhere (a daily report, the supervisor's copy, a backup).
//! Anchor the head outside this file.
//!
//! # Schema (version 2)
//!
//! `meta(key, value)` holds `schema_version`; `PRAGMA application_id` is
//! [`APPLICATION_ID`]. `events(seq, at_ms, actor, client, kind, payload, hash)`
//! is a STRICT table with triggers that refuse `UPDATE` and `DELETE`
//! (a guard against accidents, not against an attacker with the file: that
//! is what the chain is for). `snapshots(seq, chain_hash, state)` is outside
//! the chain; each snapshot records the chain hash of the event at its seq so
//! it cannot be replayed on top of a different history. `outbox(id,
//! created_ms, payload, acked_ms)` (version 2, [`mod@outbox`]) is outside the
//! chain too: 好差评 evaluations waiting to be pushed, each written in the
//! transaction of its `service_rated` row (`id` = that seq). A version-1
//! journal gets the table when the writer opens it.
//!
//! # Limits (DESIGN.md §4, invariant 6)
//!
//! A record is refused (nothing appended, [`JournalError::FieldTooLong`] or
//! [`JournalError::NulInField`]) when `actor` or `client` exceeds
//! [`MAX_ACTOR_BYTES`]/[`MAX_CLIENT_BYTES`] (256 bytes), `kind` exceeds
//! [`MAX_KIND_BYTES`] (128 bytes), `payload` exceeds [`MAX_PAYLOAD_BYTES`]
//! (1 MiB), or any field contains a NUL character. A batch is refused
//! ([`JournalError::BatchTooLarge`]) above [`MAX_BATCH_RECORDS`] records or
//! [`MAX_BATCH_BYTES`] bytes. A snapshot is refused above
//! [`MAX_SNAPSHOT_BYTES`]. [`Journal::read_range`] returns at most
//! [`MAX_READ_RECORDS`] records and stops after [`MAX_READ_BYTES`] (but
//! always returns at least one record when one exists).
//!
//! # Failure semantics
//!
//! Bad data never panics: a corrupted or tampered file yields
//! [`JournalError`]s (or a [`BrokenRow`] from [`verify()`]). Streaming reads
//! ([`Journal::for_each_from`], [`Journal::read_range`]) check seq density
//! and the chain link of every row they return, so replay refuses a
//! tampered history. If the `COMMIT` of an append itself fails (I/O error,
//! disk full) the outcome on disk is ambiguous; the journal is then poisoned
//! ([`JournalError::Poisoned`]) and must be reopened, which re-reads the
//! true head from disk.

pub mod chain;
mod error;
mod limits;
pub mod outbox;
mod read;
mod reader;
mod schema;
mod snapshot;
mod store;

pub mod accounts;
pub mod backup;
pub mod restore;
pub mod verify;

pub use backup::backup;
pub use chain::{GENESIS_HASH, Hash, chain};
pub use error::JournalError;
pub use limits::{
    MAX_ACTOR_BYTES, MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_CLIENT_BYTES, MAX_KIND_BYTES,
    MAX_PAYLOAD_BYTES, MAX_READ_BYTES, MAX_READ_RECORDS, MAX_SNAPSHOT_BYTES,
};
pub use reader::JournalReader;
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use store::Journal;
pub use verify::{BrokenRow, VerifyReport, verify};

/// A record to append. All text is stored verbatim; `payload` is the
/// caller's JSON (never parsed here). See the module docs for limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewRecord<'a> {
    /// Event time in milliseconds since the Unix epoch (the caller's clock).
    pub at_ms: i64,
    /// Who caused the event (staff account, `system`, ...), at most 256 bytes.
    pub actor: &'a str,
    /// Where it came from (keypad, counter page, kiosk id ...), at most 256 bytes.
    pub client: &'a str,
    /// Event kind, at most 128 bytes.
    pub kind: &'a str,
    /// Event payload (JSON text), at most 1 MiB.
    pub payload: &'a str,
}

/// A record as stored, with its seq and chain hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Position in the journal: 1, 2, 3, ... dense.
    pub seq: u64,
    pub at_ms: i64,
    pub actor: String,
    pub client: String,
    pub kind: String,
    pub payload: String,
    /// `chain(hash of seq - 1, seq, record)`, see the module docs.
    pub hash: [u8; 32],
}

impl Record {
    /// The record's fields as a [`NewRecord`] (for hashing or re-appending).
    pub fn as_new(&self) -> NewRecord<'_> {
        NewRecord {
            at_ms: self.at_ms,
            actor: &self.actor,
            client: &self.client,
            kind: &self.kind,
            payload: &self.payload,
        }
    }
}
