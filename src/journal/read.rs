//! Reading rows back: decoding without trusting the file, checking the
//! chain while streaming, and the shared read paths of [`Journal`] and
//! [`JournalReader`].
//!
//! [`Journal`]: super::Journal
//! [`JournalReader`]: super::JournalReader

use rusqlite::Connection;
use rusqlite::Row;
use rusqlite::types::ValueRef;

use super::chain::{GENESIS_HASH, Hash, chain};
use super::limits::{MAX_READ_BYTES, MAX_READ_RECORDS, record_bytes};
use super::{BrokenRow, JournalError, Record};

/// Every column of `events`, in [`decode_row`] order.
pub(crate) const SELECT_EVENTS: &str =
    "SELECT seq, at_ms, actor, client, kind, payload, hash FROM events";

/// Why a row could not be decoded; `seq` when at least that was readable.
#[derive(Debug)]
pub(crate) struct RowError {
    pub seq: Option<u64>,
    pub reason: String,
}

fn integer(row: &Row<'_>, idx: usize, name: &str) -> Result<i64, String> {
    match row.get_ref(idx) {
        Ok(ValueRef::Integer(v)) => Ok(v),
        Ok(v) => Err(format!("{name} is {}, not INTEGER", v.data_type())),
        Err(e) => Err(format!("{name}: {e}")),
    }
}

fn text(row: &Row<'_>, idx: usize, name: &str) -> Result<String, String> {
    match row.get_ref(idx) {
        Ok(ValueRef::Text(bytes)) => std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| format!("{name} is not valid UTF-8: {e}")),
        Ok(v) => Err(format!("{name} is {}, not TEXT", v.data_type())),
        Err(e) => Err(format!("{name}: {e}")),
    }
}

fn hash(row: &Row<'_>, idx: usize, name: &str) -> Result<Hash, String> {
    match row.get_ref(idx) {
        Ok(ValueRef::Blob(bytes)) => {
            Hash::try_from(bytes).map_err(|_| format!("{name} is {} bytes, not 32", bytes.len()))
        }
        Ok(v) => Err(format!("{name} is {}, not BLOB", v.data_type())),
        Err(e) => Err(format!("{name}: {e}")),
    }
}

fn seq(row: &Row<'_>, idx: usize) -> Result<u64, String> {
    let raw = integer(row, idx, "seq")?;
    u64::try_from(raw)
        .ok()
        .filter(|s| *s >= 1)
        .ok_or_else(|| format!("seq {raw} is not positive"))
}

/// Decodes a row selected with [`SELECT_EVENTS`]. Never panics.
pub(crate) fn decode_row(row: &Row<'_>) -> Result<Record, RowError> {
    let seq = seq(row, 0).map_err(|reason| RowError { seq: None, reason })?;
    let err = |reason| RowError {
        seq: Some(seq),
        reason,
    };
    Ok(Record {
        seq,
        at_ms: integer(row, 1, "at_ms").map_err(err)?,
        actor: text(row, 2, "actor").map_err(err)?,
        client: text(row, 3, "client").map_err(err)?,
        kind: text(row, 4, "kind").map_err(err)?,
        payload: text(row, 5, "payload").map_err(err)?,
        hash: hash(row, 6, "hash").map_err(err)?,
    })
}

/// Checks that rows form the chain, one row at a time.
#[derive(Debug, Clone)]
pub(crate) struct ChainCheck {
    /// The seq the next row must have.
    pub next_seq: u64,
    /// The stored hash of the previous row.
    pub prev_hash: Hash,
}

impl ChainCheck {
    /// Before seq 1.
    pub fn genesis() -> Self {
        ChainCheck {
            next_seq: 1,
            prev_hash: GENESIS_HASH,
        }
    }

    /// After a row `seq` whose stored hash is `hash`.
    pub fn after(seq: u64, hash: Hash) -> Self {
        ChainCheck {
            next_seq: seq.saturating_add(1),
            prev_hash: hash,
        }
    }

    /// Accepts `rec` as the next link, or says why it is not.
    pub fn check(&mut self, rec: &Record) -> Result<(), BrokenRow> {
        let expected = self.next_seq;
        if rec.seq != expected {
            let reason = if rec.seq > expected {
                format!(
                    "gap in sequence: seq {expected} is missing (next row present is seq {})",
                    rec.seq
                )
            } else {
                format!(
                    "out of order: expected seq {expected}, found seq {}",
                    rec.seq
                )
            };
            return Err(BrokenRow {
                seq: expected,
                reason,
            });
        }
        let computed = chain(&self.prev_hash, rec.seq, &rec.as_new()).ok_or_else(|| BrokenRow {
            seq: rec.seq,
            reason: "unparsable row: a field is too long to hash".to_owned(),
        })?;
        if computed != rec.hash {
            return Err(BrokenRow {
                seq: rec.seq,
                reason: format!(
                    "hash mismatch: stored {}, computed {}",
                    hex::encode(rec.hash),
                    hex::encode(computed)
                ),
            });
        }
        self.prev_hash = rec.hash;
        self.next_seq = expected.saturating_add(1);
        Ok(())
    }
}

/// The last row's seq and hash; `(0, GENESIS_HASH)` when empty.
pub(crate) fn head(conn: &Connection) -> Result<(u64, Hash), JournalError> {
    let mut stmt = conn.prepare_cached("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")?;
    let mut rows = stmt.query([])?;
    let Some(row) = rows.next()? else {
        return Ok((0, GENESIS_HASH));
    };
    let seq = seq(row, 0).map_err(|reason| JournalError::Broken {
        seq: 0,
        reason: format!("unparsable last row: {reason}"),
    })?;
    let hash = hash(row, 1, "hash").map_err(|reason| JournalError::Broken {
        seq,
        reason: format!("unparsable row: {reason}"),
    })?;
    Ok((seq, hash))
}

/// Streams rows with `seq > after_seq` in order, at most `max_rows` of them,
/// until `f` returns `Ok(false)` or an error.
///
/// Each row is checked against its predecessor (seq density and chain link);
/// the row at `after_seq` itself is the anchor. A row missing at `after_seq`
/// while later rows exist is a gap. `after_seq` beyond the head streams
/// nothing.
pub(crate) fn stream<E: From<JournalError>>(
    conn: &Connection,
    after_seq: u64,
    max_rows: Option<usize>,
    mut f: impl FnMut(Record) -> Result<bool, E>,
) -> Result<(), E> {
    let Ok(start) = i64::try_from(after_seq.max(1)) else {
        return Ok(()); // No seq can be that large.
    };
    let anchor_rows = i64::from(after_seq > 0);
    let limit = match max_rows {
        None => -1, // SQLite: a negative LIMIT means no limit.
        Some(n) => i64::try_from(n)
            .unwrap_or(i64::MAX)
            .saturating_add(anchor_rows),
    };
    let mut stmt = conn
        .prepare_cached(&format!(
            "{SELECT_EVENTS} WHERE seq >= ?1 ORDER BY seq LIMIT ?2"
        ))
        .map_err(JournalError::from)?;
    let mut rows = stmt.query((start, limit)).map_err(JournalError::from)?;
    let mut check = (after_seq == 0).then(ChainCheck::genesis);
    while let Some(row) = rows.next().map_err(JournalError::from)? {
        let expected = check.as_ref().map_or(after_seq, |c| c.next_seq);
        let rec = decode_row(row).map_err(|e| JournalError::Broken {
            seq: e.seq.unwrap_or(expected),
            reason: format!("unparsable row: {}", e.reason),
        })?;
        match check.as_mut() {
            None => {
                if rec.seq != after_seq {
                    return Err(JournalError::Broken {
                        seq: after_seq,
                        reason: format!(
                            "gap in sequence: seq {after_seq} is missing (next row present is seq {})",
                            rec.seq
                        ),
                    }
                    .into());
                }
                check = Some(ChainCheck::after(rec.seq, rec.hash));
            }
            Some(c) => {
                c.check(&rec).map_err(JournalError::broken)?;
                if !f(rec)? {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// `for_each_from` for both handle types.
pub(crate) fn for_each_from<E: From<JournalError>>(
    conn: &Connection,
    after_seq: u64,
    mut f: impl FnMut(Record) -> Result<(), E>,
) -> Result<(), E> {
    stream(conn, after_seq, None, |r| f(r).map(|()| true))
}

/// `read_range` for both handle types.
pub(crate) fn read_range(
    conn: &Connection,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<Record>, JournalError> {
    let limit = limit.min(MAX_READ_RECORDS);
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    let mut bytes = 0usize;
    stream(conn, after_seq, Some(limit), |r: Record| {
        bytes = bytes.saturating_add(record_bytes(&r.as_new()));
        out.push(r);
        Ok::<bool, JournalError>(out.len() < limit && bytes < MAX_READ_BYTES)
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, prev: &Hash) -> Record {
        let mut r = Record {
            seq,
            at_ms: 0,
            actor: "a".into(),
            client: "c".into(),
            kind: "k".into(),
            payload: format!("{{\"n\":{seq}}}"),
            hash: [0; 32],
        };
        r.hash = chain(prev, seq, &r.as_new()).expect("hash");
        r
    }

    #[test]
    fn chain_check_accepts_a_chain_and_names_breaks() {
        let r1 = record(1, &GENESIS_HASH);
        let r2 = record(2, &r1.hash);
        let r3 = record(3, &r2.hash);
        let mut ok = ChainCheck::genesis();
        for r in [&r1, &r2, &r3] {
            ok.check(r).expect("chained");
        }

        let mut gap = ChainCheck::genesis();
        gap.check(&r1).expect("first");
        let b = gap.check(&r3).expect_err("gap");
        assert_eq!(b.seq, 2);
        assert!(b.reason.starts_with("gap in sequence"), "{}", b.reason);

        let mut edited = ChainCheck::after(1, r1.hash);
        let mut r2x = r2.clone();
        r2x.payload.push(' ');
        let b = edited.check(&r2x).expect_err("edited");
        assert_eq!(b.seq, 2);
        assert!(b.reason.starts_with("hash mismatch"), "{}", b.reason);

        let mut back = ChainCheck::after(2, r2.hash);
        let b = back.check(&r2).expect_err("repeat");
        assert_eq!(b.seq, 3);
        assert!(b.reason.starts_with("out of order"), "{}", b.reason);
    }
}
