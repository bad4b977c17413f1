//! Snapshots: round trip, "latest at or before the head" selection, replay
//! from a snapshot, and refusal of a snapshot from another history.

use hallq::journal::{Journal, JournalError, JournalReader, NewRecord, verify};

fn append_n(j: &mut Journal, n: u64) {
    let payloads: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"n":{}}}"#, j.last_seq() + i + 1))
        .collect();
    let batch: Vec<NewRecord<'_>> = payloads
        .iter()
        .map(|p| NewRecord {
            at_ms: 0,
            actor: "system",
            client: "test",
            kind: "counter.add",
            payload: p,
        })
        .collect();
    j.append(&batch).expect("append");
}

#[test]
fn latest_snapshot_round_trip_and_selection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.db");
    let mut j = Journal::open(&path).expect("open");
    assert_eq!(j.latest_snapshot().expect("none"), None);

    j.save_snapshot(0, r#"{"day":"empty"}"#)
        .expect("seq 0 is the empty state");
    append_n(&mut j, 10);
    j.save_snapshot(10, r#"{"day":"2024-06-03","sum":55}"#)
        .expect("save");
    append_n(&mut j, 10);
    j.save_snapshot(5, r#"{"late":"older seq saved later"}"#)
        .expect("save");
    assert_eq!(
        j.latest_snapshot().expect("latest"),
        Some((10, r#"{"day":"2024-06-03","sum":55}"#.to_owned())),
        "latest by seq, not by time of saving"
    );
    j.save_snapshot(20, r#"{"day":"2024-06-04","办结":"是"}"#)
        .expect("save");
    j.save_snapshot(20, r#"{"day":"2024-06-04","sum":210}"#)
        .expect("same seq replaces");

    let err = j.save_snapshot(21, "{}").expect_err("beyond head");
    assert!(matches!(
        err,
        JournalError::SnapshotBeyondHead {
            seq: 21,
            last_seq: 20
        }
    ));
    assert!(matches!(
        j.save_snapshot(3, "a\0b"),
        Err(JournalError::SnapshotNul)
    ));
    drop(j);

    let j = Journal::open(&path).expect("reopen");
    let (seq, state) = j.latest_snapshot().expect("latest").expect("some");
    assert_eq!(
        (seq, state.as_str()),
        (20, r#"{"day":"2024-06-04","sum":210}"#)
    );
    let reader = JournalReader::open(&path).expect("reader");
    assert_eq!(
        reader.latest_snapshot().expect("latest"),
        Some((seq, state))
    );
    // Snapshots are outside the chain.
    assert!(verify(&path).expect("verify").is_clean());
}

#[test]
fn replay_from_snapshot_reproduces_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.db");
    let mut j = Journal::open(&path).expect("open");
    append_n(&mut j, 7);
    // State = sum of n over all events; the snapshot holds it after seq 7.
    j.save_snapshot(7, "28").expect("save");
    append_n(&mut j, 5);
    drop(j);

    let j = Journal::open(&path).expect("reopen");
    let (seq, state) = j.latest_snapshot().expect("latest").expect("some");
    let mut sum: u64 = state.parse().expect("number");
    j.for_each_from(seq, |r| {
        sum += r.seq;
        Ok::<(), JournalError>(())
    })
    .expect("replay");
    assert_eq!(sum, (1..=12).sum::<u64>());
}

#[test]
fn prune_keeps_the_latest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut j = Journal::open(&dir.path().join("j.db")).expect("open");
    for day in 1..=5 {
        append_n(&mut j, 3);
        j.save_snapshot(j.last_seq(), &format!(r#"{{"day":{day}}}"#))
            .expect("save");
    }
    assert_eq!(j.prune_snapshots(2).expect("prune"), 3);
    assert_eq!(
        j.latest_snapshot().expect("latest"),
        Some((15, r#"{"day":5}"#.to_owned()))
    );
}

#[test]
fn snapshot_on_another_history_is_refused() {
    // The snapshot at seq 4 was taken after the original event 4; if event 4
    // is replaced (hash and all), the snapshot must not be used.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.db");
    let mut j = Journal::open(&path).expect("open");
    append_n(&mut j, 4);
    j.save_snapshot(4, "{}").expect("save");
    drop(j);
    let c = rusqlite::Connection::open(&path).expect("raw");
    c.execute_batch(
        "DROP TRIGGER events_append_only_update;
         UPDATE events SET hash = randomblob(32) WHERE seq = 4;",
    )
    .expect("tamper");
    drop(c);
    let j = Journal::open(&path).expect("open");
    assert!(matches!(
        j.latest_snapshot(),
        Err(JournalError::SnapshotChainMismatch { seq: 4 })
    ));
}
