//! Limits on everything the journal accepts or returns, and the checks.

use super::{JournalError, NewRecord};

/// Largest `actor`, in bytes of UTF-8.
pub const MAX_ACTOR_BYTES: usize = 256;
/// Largest `client`, in bytes of UTF-8.
pub const MAX_CLIENT_BYTES: usize = 256;
/// Largest `kind`, in bytes of UTF-8.
pub const MAX_KIND_BYTES: usize = 128;
/// Largest `payload`, in bytes of UTF-8 (1 MiB).
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;
/// Most records in one `append` (one transaction).
pub const MAX_BATCH_RECORDS: usize = 4096;
/// Most bytes (sum of all fields) in one `append`.
pub const MAX_BATCH_BYTES: usize = 64 << 20;
/// Largest snapshot state, in bytes.
pub const MAX_SNAPSHOT_BYTES: usize = 64 << 20;
/// Most records returned by one `read_range`.
pub const MAX_READ_RECORDS: usize = 4096;
/// `read_range` stops adding records once their text reaches this many bytes.
pub const MAX_READ_BYTES: usize = 16 << 20;

/// Checks one field; `index` is the record's position in the batch.
fn check_field(
    index: usize,
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<(), JournalError> {
    if value.len() > max {
        return Err(JournalError::FieldTooLong {
            index,
            field,
            len: value.len(),
            max,
        });
    }
    if value.as_bytes().contains(&0) {
        return Err(JournalError::NulInField { index, field });
    }
    Ok(())
}

/// Total text bytes of a record.
pub(crate) fn record_bytes(r: &NewRecord<'_>) -> usize {
    r.actor.len() + r.client.len() + r.kind.len() + r.payload.len()
}

/// Validates a whole batch before anything is written.
pub(crate) fn check_batch(records: &[NewRecord<'_>]) -> Result<(), JournalError> {
    let bytes: usize = records.iter().map(record_bytes).sum();
    if records.len() > MAX_BATCH_RECORDS || bytes > MAX_BATCH_BYTES {
        return Err(JournalError::BatchTooLarge {
            records: records.len(),
            bytes,
            max_records: MAX_BATCH_RECORDS,
            max_bytes: MAX_BATCH_BYTES,
        });
    }
    for (index, r) in records.iter().enumerate() {
        check_field(index, "actor", r.actor, MAX_ACTOR_BYTES)?;
        check_field(index, "client", r.client, MAX_CLIENT_BYTES)?;
        check_field(index, "kind", r.kind, MAX_KIND_BYTES)?;
        check_field(index, "payload", r.payload, MAX_PAYLOAD_BYTES)?;
    }
    Ok(())
}

/// Validates a snapshot state.
pub(crate) fn check_snapshot(state: &str) -> Result<(), JournalError> {
    if state.len() > MAX_SNAPSHOT_BYTES {
        return Err(JournalError::SnapshotTooLarge {
            len: state.len(),
            max: MAX_SNAPSHOT_BYTES,
        });
    }
    if state.as_bytes().contains(&0) {
        return Err(JournalError::SnapshotNul);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec<'a>(actor: &'a str, payload: &'a str) -> NewRecord<'a> {
        NewRecord {
            at_ms: 0,
            actor,
            client: "c",
            kind: "k",
            payload,
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let actor = "a".repeat(MAX_ACTOR_BYTES);
        let payload = "p".repeat(MAX_PAYLOAD_BYTES);
        assert!(check_batch(&[rec(&actor, &payload)]).is_ok());
    }

    #[test]
    fn oversize_fields_are_named() {
        let actor = "a".repeat(MAX_ACTOR_BYTES + 1);
        let err = check_batch(&[rec("ok", "{}"), rec(&actor, "{}")]).unwrap_err();
        assert!(matches!(
            err,
            JournalError::FieldTooLong {
                index: 1,
                field: "actor",
                len: 257,
                max: 256
            }
        ));
        // Limits are bytes, not characters: 86 Chinese characters are 258 bytes.
        let client = "窗".repeat(86);
        let r = NewRecord {
            client: &client,
            ..rec("a", "{}")
        };
        assert!(matches!(
            check_batch(&[r]),
            Err(JournalError::FieldTooLong {
                field: "client",
                ..
            })
        ));
        let payload = "p".repeat(MAX_PAYLOAD_BYTES + 1);
        assert!(matches!(
            check_batch(&[rec("a", &payload)]),
            Err(JournalError::FieldTooLong {
                field: "payload",
                ..
            })
        ));
    }

    #[test]
    fn nul_is_refused() {
        let err = check_batch(&[rec("a", "{\"x\":\"\0\"}")]).unwrap_err();
        assert!(matches!(
            err,
            JournalError::NulInField {
                index: 0,
                field: "payload"
            }
        ));
        assert!(matches!(
            check_snapshot("a\0"),
            Err(JournalError::SnapshotNul)
        ));
    }

    #[test]
    fn batch_count_limit() {
        let batch = vec![rec("a", "{}"); MAX_BATCH_RECORDS + 1];
        assert!(matches!(
            check_batch(&batch),
            Err(JournalError::BatchTooLarge { .. })
        ));
        assert!(check_batch(&batch[..MAX_BATCH_RECORDS]).is_ok());
    }
}
