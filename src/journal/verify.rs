//! Whole-chain verification, for auditors and for the daemon's self-check.

use std::path::Path;

use rusqlite::{Connection, ErrorCode};

use super::JournalError;
use super::chain::GENESIS_HASH;
use super::read::{ChainCheck, SELECT_EVENTS, decode_row};
use super::schema;

/// The result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Rows scanned (including any after the first broken one).
    pub rows: u64,
    /// The highest readable seq; 0 when empty.
    pub last_seq: u64,
    /// The stored hash of the last readable row; 32 zero bytes when empty.
    /// Compare with a head recorded elsewhere to detect a rewritten or
    /// truncated tail, which the chain alone cannot reveal.
    pub last_hash: [u8; 32],
    /// The first row where the chain breaks; `None` when the journal is clean.
    pub first_broken: Option<BrokenRow>,
}

impl VerifyReport {
    /// True when every row from seq 1 to `last_seq` is present and chained.
    pub fn is_clean(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenRow {
    /// The seq of the broken row; for a gap, the first missing seq.
    pub seq: u64,
    /// Starts with `hash mismatch`, `gap in sequence`, `out of order`,
    /// `unparsable row` or `unreadable`.
    pub reason: String,
}

/// Opens `path` read-only (fine while the daemon has it open in WAL mode)
/// and checks the whole chain in one consistent read: seqs dense from 1, and
/// every row's hash equal to `chain(previous row's hash, row)`.
///
/// Returns `Err` only when the file cannot be opened as a journal or a
/// non-corruption SQLite error occurs; a broken chain, an unparsable row or
/// a corrupt page is a report with [`VerifyReport::first_broken`] set.
pub fn verify(path: &Path) -> Result<VerifyReport, JournalError> {
    let conn = schema::open_read_only(path)?;
    verify_connection(&conn)
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

/// [`verify`] on an open connection (one SELECT: one consistent snapshot).
pub(crate) fn verify_connection(conn: &Connection) -> Result<VerifyReport, JournalError> {
    let mut report = VerifyReport {
        rows: 0,
        last_seq: 0,
        last_hash: GENESIS_HASH,
        first_broken: None,
    };
    let mut check = ChainCheck::genesis();
    let mut stmt = match conn.prepare(&format!("{SELECT_EVENTS} ORDER BY seq")) {
        Ok(s) => s,
        Err(e) if is_corruption(&e) => {
            report.first_broken = Some(unreadable(1, &e));
            return Ok(report);
        }
        Err(e) => return Err(e.into()),
    };
    let mut rows = stmt.query([])?;
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) if is_corruption(&e) => {
                if report.first_broken.is_none() {
                    report.first_broken = Some(unreadable(check.next_seq, &e));
                }
                break;
            }
            Err(e) => return Err(e.into()),
        };
        report.rows += 1;
        match decode_row(row) {
            Ok(rec) => {
                report.last_seq = report.last_seq.max(rec.seq);
                report.last_hash = rec.hash;
                if report.first_broken.is_none() {
                    report.first_broken = check.check(&rec).err();
                }
            }
            Err(e) => {
                if let Some(seq) = e.seq {
                    report.last_seq = report.last_seq.max(seq);
                }
                if report.first_broken.is_none() {
                    report.first_broken = Some(BrokenRow {
                        seq: e.seq.unwrap_or(check.next_seq),
                        reason: format!("unparsable row: {}", e.reason),
                    });
                }
            }
        }
    }
    Ok(report)
}

fn unreadable(seq: u64, e: &rusqlite::Error) -> BrokenRow {
    BrokenRow {
        seq,
        reason: format!("unreadable: {e}"),
    }
}
