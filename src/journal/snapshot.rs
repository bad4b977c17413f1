//! Snapshots: opaque state JSON after a seq, outside the hash chain.
//!
//! Each snapshot stores the chain hash of the event at its seq
//! (`GENESIS_HASH` for seq 0). Reading a snapshot back checks that hash
//! against the event table, so a snapshot never silently applies to a
//! different history than the one it was taken on.

use rusqlite::{Connection, OptionalExtension};

use super::JournalError;
use super::chain::{GENESIS_HASH, Hash};
use super::limits::check_snapshot;

/// The stored hash of the event at `seq`; `GENESIS_HASH` for 0.
fn event_hash(conn: &Connection, seq: u64) -> Result<Option<Hash>, JournalError> {
    if seq == 0 {
        return Ok(Some(GENESIS_HASH));
    }
    let seq_i = i64::try_from(seq).map_err(|_| JournalError::SeqOverflow)?;
    let mut stmt = conn.prepare_cached("SELECT hash FROM events WHERE seq = ?1")?;
    let blob: Option<Vec<u8>> = stmt
        .query_row([seq_i], |r| r.get(0))
        .optional()
        .map_err(|e| JournalError::Broken {
            seq,
            reason: format!("unparsable row: {e}"),
        })?;
    match blob {
        None => Ok(None),
        Some(b) => Hash::try_from(b.as_slice())
            .map(Some)
            .map_err(|_| JournalError::Broken {
                seq,
                reason: format!("unparsable row: hash is {} bytes, not 32", b.len()),
            }),
    }
}

/// Saves (or replaces) the snapshot at `seq`; `last_seq` is the head.
pub(crate) fn save(
    conn: &mut Connection,
    last_seq: u64,
    seq: u64,
    state_json: &str,
) -> Result<(), JournalError> {
    check_snapshot(state_json)?;
    if seq > last_seq {
        return Err(JournalError::SnapshotBeyondHead { seq, last_seq });
    }
    let seq_i = i64::try_from(seq).map_err(|_| JournalError::SeqOverflow)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let hash = event_hash(&tx, seq)?.ok_or_else(|| JournalError::Broken {
        seq,
        reason: format!("gap in sequence: seq {seq} is missing"),
    })?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO snapshots (seq, chain_hash, state) VALUES (?1, ?2, ?3)",
    )?
    .execute((seq_i, &hash[..], state_json))?;
    tx.commit()?;
    Ok(())
}

/// The latest snapshot with `seq <= last_seq`, checked against the chain.
pub(crate) fn latest(
    conn: &Connection,
    last_seq: u64,
) -> Result<Option<(u64, String)>, JournalError> {
    let last_i = i64::try_from(last_seq).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT seq, chain_hash, state FROM snapshots WHERE seq <= ?1 ORDER BY seq DESC LIMIT 1",
    )?;
    let row: Option<(i64, Vec<u8>, String)> = stmt
        .query_row([last_i], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((seq_i, chain_hash, state)) = row else {
        return Ok(None);
    };
    let seq = u64::try_from(seq_i).map_err(|_| JournalError::SnapshotChainMismatch { seq: 0 })?;
    match event_hash(conn, seq)? {
        Some(h) if h[..] == chain_hash[..] => Ok(Some((seq, state))),
        _ => Err(JournalError::SnapshotChainMismatch { seq }),
    }
}

/// Deletes all but the `keep` latest snapshots; returns how many went.
pub(crate) fn prune(conn: &Connection, keep: usize) -> Result<usize, JournalError> {
    let keep_i = i64::try_from(keep).unwrap_or(i64::MAX);
    let n = conn.execute(
        "DELETE FROM snapshots WHERE seq NOT IN \
         (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?1)",
        [keep_i],
    )?;
    Ok(n)
}
