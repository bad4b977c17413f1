//! Property: arbitrary batches of arbitrary (NUL-free) text, Chinese
//! included, round-trip exactly through append / reopen / read and verify.

use hallq::journal::{Journal, JournalError, NewRecord, verify};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Rec {
    at_ms: i64,
    actor: String,
    client: String,
    kind: String,
    payload: String,
}

fn text(max_chars: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        // Any Unicode scalar except NUL (the journal refuses NUL).
        proptest::string::string_regex(&format!("[^\\x00]{{0,{max_chars}}}")).expect("regex"),
        proptest::string::string_regex(&format!("[\\u4e00-\\u9fa5A-Z0-9号窗口]{{0,{max_chars}}}"))
            .expect("regex"),
        Just(String::new()),
    ]
}

fn rec() -> impl Strategy<Value = Rec> {
    // 64 chars of at most 4 bytes each stay within the 256-byte limits.
    (any::<i64>(), text(64), text(64), text(32), text(400)).prop_map(
        |(at_ms, actor, client, kind, payload)| Rec {
            at_ms,
            actor,
            client,
            kind,
            payload,
        },
    )
}

fn new(r: &Rec) -> NewRecord<'_> {
    NewRecord {
        at_ms: r.at_ms,
        actor: &r.actor,
        client: &r.client,
        kind: &r.kind,
        payload: &r.payload,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn arbitrary_batches_round_trip(batches in prop::collection::vec(prop::collection::vec(rec(), 0..12), 1..6)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.db");
        {
            let mut j = Journal::open(&path).expect("open");
            for b in &batches {
                let recs: Vec<NewRecord<'_>> = b.iter().map(new).collect();
                let first = j.append(&recs).expect("append");
                prop_assert_eq!(first + b.len() as u64, j.last_seq() + 1);
            }
        }
        let expected: Vec<&Rec> = batches.iter().flatten().collect();
        let j = Journal::open(&path).expect("reopen");
        prop_assert_eq!(j.last_seq(), expected.len() as u64);
        let mut got = Vec::new();
        j.for_each_from(0, |r| { got.push(r); Ok::<(), JournalError>(()) }).expect("read");
        prop_assert_eq!(got.len(), expected.len());
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            prop_assert_eq!(g.seq, i as u64 + 1);
            prop_assert_eq!(g.as_new(), new(e));
        }
        let report = verify(&path).expect("verify");
        prop_assert!(report.is_clean(), "{:?}", report);
        prop_assert_eq!(report.last_seq, expected.len() as u64);
    }
}
