//! Round trip: append batches, reopen, read back identical; limits; errors
//! leave the journal unchanged; a second writer cannot fork the chain.

use hallq::journal::{
    GENESIS_HASH, Journal, JournalError, JournalReader, MAX_PAYLOAD_BYTES, MAX_READ_RECORDS,
    NewRecord, Record, chain, verify,
};

struct Owned {
    at_ms: i64,
    actor: String,
    client: String,
    kind: String,
    payload: String,
}

impl Owned {
    fn as_new(&self) -> NewRecord<'_> {
        NewRecord {
            at_ms: self.at_ms,
            actor: &self.actor,
            client: &self.client,
            kind: &self.kind,
            payload: &self.payload,
        }
    }
}

fn event(i: usize) -> Owned {
    Owned {
        at_ms: 1_717_200_000_000 + i as i64 * 1_000,
        actor: format!("staff:{}", 1000 + i % 7),
        client: format!("keypad-{}", i % 12),
        kind: ["ticket.issued", "ticket.called", "ticket.done"][i % 3].to_owned(),
        payload: format!(
            r#"{{"ticket":"A{:03}","window":{},"text":"请到{}号窗口"}}"#,
            i,
            i % 12,
            i % 12
        ),
    }
}

/// Appends `sizes.len()` batches; returns all events in order.
fn fill(j: &mut Journal, sizes: &[usize], start: usize) -> Vec<Owned> {
    let mut all = Vec::new();
    let mut i = start;
    for &n in sizes {
        let batch: Vec<Owned> = (i..i + n).map(event).collect();
        let recs: Vec<NewRecord<'_>> = batch.iter().map(Owned::as_new).collect();
        let before = j.last_seq();
        let first = j.append(&recs).expect("append");
        assert_eq!(first, before + 1);
        assert_eq!(j.last_seq(), before + n as u64);
        i += n;
        all.extend(batch);
    }
    all
}

fn assert_matches(records: &[Record], expected: &[Owned]) {
    assert_eq!(records.len(), expected.len());
    let mut prev = GENESIS_HASH;
    for (k, (r, e)) in records.iter().zip(expected).enumerate() {
        assert_eq!(r.seq, k as u64 + 1, "seqs are dense from 1");
        assert_eq!(r.as_new(), e.as_new());
        assert_eq!(Some(r.hash), chain(&prev, r.seq, &r.as_new()));
        prev = r.hash;
    }
}

#[test]
fn round_trip_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hall.journal");
    let sizes = [1, 5, 32, 2, 100, 1, 7];
    let expected;
    let head;
    {
        let mut j = Journal::open(&path).expect("open");
        assert_eq!(j.last_seq(), 0);
        assert_eq!(j.last_hash(), GENESIS_HASH);
        expected = fill(&mut j, &sizes, 0);
        head = (j.last_seq(), j.last_hash());
    }
    let mut j = Journal::open(&path).expect("reopen");
    assert_eq!((j.last_seq(), j.last_hash()), head);
    assert_eq!(j.last_seq(), expected.len() as u64);

    let mut streamed = Vec::new();
    j.for_each_from(0, |r| {
        streamed.push(r);
        Ok::<(), JournalError>(())
    })
    .expect("stream");
    assert_matches(&streamed, &expected);

    let all = j.read_range(0, 10_000).expect("read_range");
    assert_eq!(all, streamed);

    // Resuming from the middle, in pages.
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = j.read_range(after, 13).expect("page");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 13);
        after = page.last().map(|r| r.seq).expect("non-empty");
        paged.extend(page);
    }
    assert_eq!(paged, streamed);
    assert_eq!(j.read_range(j.last_seq(), 10).expect("at head"), vec![]);
    assert_eq!(
        j.read_range(j.last_seq() + 5, 10).expect("beyond head"),
        vec![]
    );
    assert_eq!(j.read_range(3, 0).expect("limit 0"), vec![]);

    let mut tail = Vec::new();
    j.for_each_from(40, |r| {
        tail.push(r.seq);
        Ok::<(), JournalError>(())
    })
    .expect("tail");
    assert_eq!(tail, (41..=j.last_seq()).collect::<Vec<_>>());

    // Appending after reopen continues the same chain.
    let more = fill(&mut j, &[3], expected.len());
    assert_eq!(j.last_seq(), (expected.len() + more.len()) as u64);
    let report = verify(&path).expect("verify");
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.rows, j.last_seq());
    assert_eq!(report.last_seq, j.last_seq());
    assert_eq!(report.last_hash, j.last_hash());
}

#[test]
fn empty_batch_is_a_no_op() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.db");
    let mut j = Journal::open(&path).expect("open");
    assert_eq!(j.append(&[]).expect("empty"), 1);
    assert_eq!(j.last_seq(), 0);
    fill(&mut j, &[2], 0);
    assert_eq!(j.append(&[]).expect("empty"), 3);
    assert_eq!(j.last_seq(), 2);
}

#[test]
fn refused_batches_append_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.db");
    let mut j = Journal::open(&path).expect("open");
    fill(&mut j, &[4], 0);
    let head = (j.last_seq(), j.last_hash());

    let ok = event(99);
    let big = "x".repeat(MAX_PAYLOAD_BYTES + 1);
    let long_actor = "a".repeat(257);
    let cases: Vec<(Vec<NewRecord<'_>>, &str)> = vec![
        (
            vec![
                ok.as_new(),
                NewRecord {
                    payload: &big,
                    ..ok.as_new()
                },
            ],
            "payload",
        ),
        (
            vec![NewRecord {
                actor: &long_actor,
                ..ok.as_new()
            }],
            "actor",
        ),
        (
            vec![
                ok.as_new(),
                NewRecord {
                    kind: "a\0b",
                    ..ok.as_new()
                },
            ],
            "kind",
        ),
    ];
    for (batch, field) in cases {
        let err = j.append(&batch).expect_err("must be refused");
        let msg = err.to_string();
        assert!(msg.contains(field), "{msg}");
        assert!(matches!(
            err,
            JournalError::FieldTooLong { .. } | JournalError::NulInField { .. }
        ));
        assert_eq!((j.last_seq(), j.last_hash()), head);
    }
    drop(j);
    let j = Journal::open(&path).expect("reopen");
    assert_eq!(
        (j.last_seq(), j.last_hash()),
        head,
        "nothing reached the disk"
    );
}

#[test]
fn callback_error_stops_the_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.db");
    let mut j = Journal::open(&path).expect("open");
    fill(&mut j, &[10], 0);
    let mut seen = 0;
    let result: Result<(), anyhow::Error> = j.for_each_from(0, |r| {
        seen += 1;
        if r.seq == 4 {
            anyhow::bail!("replay refused seq {}", r.seq);
        }
        Ok(())
    });
    assert_eq!(seen, 4);
    assert_eq!(
        result.expect_err("stopped").to_string(),
        "replay refused seq 4"
    );
}

#[test]
fn a_second_writer_cannot_fork_the_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.db");
    let mut a = Journal::open(&path).expect("open a");
    fill(&mut a, &[3], 0);
    let mut b = Journal::open(&path).expect("open b");
    fill(&mut b, &[2], 3);
    let e = event(50);
    let err = a.append(&[e.as_new()]).expect_err("a is stale");
    assert!(matches!(err, JournalError::Diverged(_)), "{err}");
    assert_eq!(a.last_seq(), 3);
    assert_eq!(b.last_seq(), 5);
    assert!(verify(&path).expect("verify").is_clean());
    assert_eq!(Journal::open(&path).expect("reopen").last_seq(), 5);
}

#[test]
fn reader_and_verify_work_while_the_writer_is_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.db");
    let mut j = Journal::open(&path).expect("open");
    let expected = fill(&mut j, &[6, 6], 0);
    let reader = JournalReader::open(&path).expect("reader");
    assert_eq!(reader.last_seq().expect("head"), 12);
    assert_matches(&reader.read_range(0, 100).expect("read"), &expected);
    fill(&mut j, &[1], 12);
    assert_eq!(reader.last_seq().expect("head"), 13, "sees new commits");
    let report = verify(&path).expect("verify");
    assert!(report.is_clean());
    assert_eq!(report.last_seq, 13);
    assert_eq!(j.verify().expect("self verify"), report);
}

#[test]
fn read_range_is_capped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.db");
    let mut j = Journal::open(&path).expect("open");
    let tiny = NewRecord {
        at_ms: 0,
        actor: "",
        client: "",
        kind: "k",
        payload: "{}",
    };
    let batch = vec![tiny; 4096];
    j.append(&batch).expect("append");
    j.append(&batch[..10]).expect("append");
    let page = j.read_range(0, usize::MAX).expect("read");
    assert_eq!(page.len(), MAX_READ_RECORDS);
    let rest = j
        .read_range(MAX_READ_RECORDS as u64, usize::MAX)
        .expect("read");
    assert_eq!(rest.len(), 4106 - MAX_READ_RECORDS);
}

#[test]
fn open_needs_an_existing_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Journal::open(&dir.path().join("missing/j.db")).expect_err("no dir");
    assert!(matches!(err, JournalError::Open { .. }), "{err}");
}
