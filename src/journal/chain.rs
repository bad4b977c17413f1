//! The hash chain as one pure function: no I/O, no state.
//!
//! ```text
//! hash = SHA-256(prev_hash || seq u64 BE || at_ms i64 BE
//!                || for actor, client, kind, payload: len u32 BE || UTF-8 bytes)
//! ```
//!
//! The genesis `prev_hash` (before seq 1) is [`GENESIS_HASH`], 32 zero bytes.

use sha2::{Digest, Sha256};

use super::NewRecord;

/// A SHA-256 chain hash.
pub type Hash = [u8; 32];

/// The `prev_hash` of seq 1.
pub const GENESIS_HASH: Hash = [0; 32];

/// Computes the chain hash of `record` stored at `seq` after a row whose hash
/// is `prev`.
///
/// Returns `None` only if a field is 4 GiB or longer, which cannot be encoded
/// with a u32 length. That never happens for records within the journal's
/// limits, nor for values read back from SQLite (its hard limit is 2 GiB).
pub fn chain(prev: &Hash, seq: u64, record: &NewRecord<'_>) -> Option<Hash> {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(seq.to_be_bytes());
    hasher.update(record.at_ms.to_be_bytes());
    for field in [record.actor, record.client, record.kind, record.payload] {
        let len = u32::try_from(field.len()).ok()?;
        hasher.update(len.to_be_bytes());
        hasher.update(field.as_bytes());
    }
    Some(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Pinned vectors, computed once with an independent implementation
    // (Python: hashlib.sha256 over struct.pack('>Q', seq), '>q', '>I').
    // If these change, every journal ever written stops verifying.
    const VECTOR_1: &str = "bfd3f429091a424ce2ca37d635a6048738e94bf8eb6790718bcb84a03bf4a240";
    const VECTOR_2: &str = "233b728ac51b16caab17a13133a22a416ccb31109c9ed644eda56dc4dd99cdec";

    fn first() -> NewRecord<'static> {
        NewRecord {
            at_ms: 1_700_000_000_000,
            actor: "staff:1024",
            client: "window-12",
            kind: "ticket.called",
            payload: r#"{"ticket":"A012","window":12,"text":"请A012号到12号窗口办理"}"#,
        }
    }

    #[test]
    fn pinned_vectors() {
        let h1 = chain(&GENESIS_HASH, 1, &first()).expect("encodable");
        assert_eq!(hex::encode(h1), VECTOR_1);
        let empty = NewRecord {
            at_ms: -1,
            actor: "",
            client: "",
            kind: "",
            payload: "",
        };
        let h2 = chain(&h1, 2, &empty).expect("encodable");
        assert_eq!(hex::encode(h2), VECTOR_2);
    }

    #[test]
    fn every_input_matters() {
        let base = chain(&GENESIS_HASH, 1, &first()).expect("encodable");
        let mut prev = GENESIS_HASH;
        prev[31] = 1;
        assert_ne!(chain(&prev, 1, &first()), Some(base));
        assert_ne!(chain(&GENESIS_HASH, 2, &first()), Some(base));
        let variants = [
            NewRecord {
                at_ms: 1_700_000_000_001,
                ..first()
            },
            NewRecord {
                actor: "staff:1025",
                ..first()
            },
            NewRecord {
                client: "window-13",
                ..first()
            },
            NewRecord {
                kind: "ticket.recalled",
                ..first()
            },
            NewRecord {
                payload: "{}",
                ..first()
            },
        ];
        for v in variants {
            assert_ne!(chain(&GENESIS_HASH, 1, &v), Some(base), "{v:?}");
        }
    }

    #[test]
    fn length_prefixes_separate_fields() {
        // Without length prefixes these two would hash the same bytes.
        let a = NewRecord {
            at_ms: 0,
            actor: "ab",
            client: "c",
            kind: "",
            payload: "",
        };
        let b = NewRecord {
            at_ms: 0,
            actor: "a",
            client: "bc",
            kind: "",
            payload: "",
        };
        assert_ne!(chain(&GENESIS_HASH, 1, &a), chain(&GENESIS_HASH, 1, &b));
    }
}
