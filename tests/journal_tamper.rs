//! Tamper evidence: edits, deletions, forged hashes and garbage bytes are
//! named by `verify` at the right seq, and replay refuses them. Corrupted
//! files give errors, never panics.

use std::path::{Path, PathBuf};

use hallq::journal::{Journal, JournalError, JournalReader, NewRecord, verify};
use rusqlite::Connection;

const ROWS: u64 = 60;

/// A closed, checkpointed journal of `ROWS` rows in `dir/pristine.db`
/// (created on first use).
fn pristine(dir: &Path) -> PathBuf {
    let path = dir.join("pristine.db");
    if path.exists() {
        return path;
    }
    let mut j = Journal::open(&path).expect("open");
    let payloads: Vec<String> = (1..=ROWS)
        .map(|i| format!(r#"{{"ticket":"B{i:03}","note":"第{i}号"}}"#))
        .collect();
    for chunk in payloads.chunks(8) {
        let batch: Vec<NewRecord<'_>> = chunk
            .iter()
            .map(|p| NewRecord {
                at_ms: 1_717_200_000_000,
                actor: "staff:7",
                client: "window-3",
                kind: "ticket.issued",
                payload: p,
            })
            .collect();
        j.append(&batch).expect("append");
    }
    assert_eq!(j.last_seq(), ROWS);
    drop(j);
    assert!(
        !dir.join("pristine.db-wal").exists(),
        "closed and checkpointed"
    );
    path
}

fn copy(src: &Path, name: &str) -> PathBuf {
    let dest = src.with_file_name(name);
    std::fs::copy(src, &dest).expect("copy");
    dest
}

/// Runs raw SQL on `path` the way an attacker with the file would: the
/// append-only triggers are dropped first.
fn tamper(path: &Path, sql: &str) {
    let c = Connection::open(path).expect("raw open");
    c.execute_batch(
        "DROP TRIGGER IF EXISTS events_append_only_update;
         DROP TRIGGER IF EXISTS events_append_only_delete;",
    )
    .expect("drop triggers");
    c.execute_batch(sql).expect("tamper");
}

fn broken_at(path: &Path) -> (u64, String) {
    let report = verify(path).expect("verify");
    let b = report.first_broken.expect("must be broken");
    (b.seq, b.reason)
}

fn replay_error(path: &Path) -> JournalError {
    let j = Journal::open(path).expect("open still works: only the tail is read");
    j.for_each_from(0, |_| Ok::<(), JournalError>(()))
        .expect_err("replay must refuse")
}

#[test]
fn untouched_journal_verifies_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = pristine(dir.path());
    let report = verify(&path).expect("verify");
    assert!(report.is_clean(), "{report:?}");
    assert_eq!((report.rows, report.last_seq), (ROWS, ROWS));
}

#[test]
fn triggers_refuse_casual_edits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy(&pristine(dir.path()), "t.db");
    let c = Connection::open(&path).expect("raw open");
    let err = c
        .execute("UPDATE events SET payload = '{}' WHERE seq = 3", [])
        .expect_err("append-only");
    assert!(err.to_string().contains("append-only"), "{err}");
    assert!(c.execute("DELETE FROM events WHERE seq = 3", []).is_err());
    drop(c);
    assert!(verify(&path).expect("verify").is_clean());
}

#[test]
fn edited_payload_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy(&pristine(dir.path()), "t.db");
    tamper(
        &path,
        r#"UPDATE events SET payload = '{"ticket":"B017","note":"改"}' WHERE seq = 17"#,
    );
    let (seq, reason) = broken_at(&path);
    assert_eq!(seq, 17);
    assert!(reason.starts_with("hash mismatch"), "{reason}");
    match replay_error(&path) {
        JournalError::Broken { seq: 17, .. } => {}
        other => panic!("wrong error: {other}"),
    }
}

#[test]
fn edited_actor_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy(&pristine(dir.path()), "t.db");
    tamper(&path, "UPDATE events SET actor = 'staff:8' WHERE seq = 1");
    assert_eq!(broken_at(&path).0, 1);
    let path = copy(&pristine(dir.path()), "t2.db");
    tamper(&path, "UPDATE events SET at_ms = at_ms + 1 WHERE seq = 60");
    assert_eq!(broken_at(&path).0, 60);
}

#[test]
fn deleted_row_is_a_gap_at_its_seq() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy(&pristine(dir.path()), "t.db");
    tamper(&path, "DELETE FROM events WHERE seq = 23");
    let (seq, reason) = broken_at(&path);
    assert_eq!(seq, 23);
    assert!(reason.starts_with("gap in sequence"), "{reason}");
    let report = verify(&path).expect("verify");
    assert_eq!((report.rows, report.last_seq), (ROWS - 1, ROWS));
    match replay_error(&path) {
        JournalError::Broken { seq: 23, reason } => assert!(reason.contains("gap"), "{reason}"),
        other => panic!("wrong error: {other}"),
    }
    // Resuming a stream right at the hole is refused too.
    let j = JournalReader::open(&path).expect("reader");
    assert!(matches!(
        j.read_range(23, 5),
        Err(JournalError::Broken { seq: 23, .. })
    ));

    let path = copy(&pristine(dir.path()), "t2.db");
    tamper(&path, "DELETE FROM events WHERE seq = 1");
    assert_eq!(broken_at(&path).0, 1);
}

#[test]
fn forged_hash_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy(&pristine(dir.path()), "t.db");
    tamper(
        &path,
        "UPDATE events SET hash = zeroblob(32) WHERE seq = 42",
    );
    let (seq, reason) = broken_at(&path);
    assert_eq!(seq, 42);
    assert!(reason.starts_with("hash mismatch"), "{reason}");
}

#[test]
fn recomputing_one_hash_after_an_edit_still_breaks_the_next_link() {
    // An attacker edits seq 10 and stores the correct new hash for it:
    // seq 11 no longer chains.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy(&pristine(dir.path()), "t.db");
    let (prev, row) = {
        let r = JournalReader::open(&path).expect("reader");
        let rows = r.read_range(8, 2).expect("read");
        (rows[0].hash, rows[1].clone())
    };
    let forged = NewRecord {
        payload: "{}",
        ..row.as_new()
    };
    let new_hash = hallq::journal::chain(&prev, 10, &forged).expect("hash");
    let c = Connection::open(&path).expect("raw");
    c.execute_batch("DROP TRIGGER events_append_only_update")
        .expect("drop");
    c.execute(
        "UPDATE events SET payload = '{}', hash = ?1 WHERE seq = 10",
        [&new_hash[..]],
    )
    .expect("forge");
    drop(c);
    let (seq, reason) = broken_at(&path);
    assert_eq!(seq, 11);
    assert!(reason.starts_with("hash mismatch"), "{reason}");
}

#[test]
fn unparsable_rows_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy(&pristine(dir.path()), "t.db");
    // Invalid UTF-8 in a TEXT column: SQLite stores it, we must not trust it.
    tamper(
        &path,
        "UPDATE events SET client = CAST(x'c3ff' AS TEXT) WHERE seq = 31",
    );
    let (seq, reason) = broken_at(&path);
    assert_eq!(seq, 31);
    assert!(reason.starts_with("unparsable row"), "{reason}");
    assert!(matches!(
        replay_error(&path),
        JournalError::Broken { seq: 31, .. }
    ));
}

#[test]
fn truncated_tail_needs_an_anchor() {
    // Cutting rows off the end leaves a self-consistent chain: the report
    // is clean, but its head differs from the anchored one.
    let dir = tempfile::tempdir().expect("tempdir");
    let original = pristine(dir.path());
    let anchored = verify(&original).expect("verify");
    let path = copy(&original, "t.db");
    tamper(&path, "DELETE FROM events WHERE seq > 50");
    let report = verify(&path).expect("verify");
    assert!(report.is_clean());
    assert_eq!(report.last_seq, 50);
    assert_ne!(report.last_hash, anchored.last_hash);
}

#[test]
fn appended_forgery_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = copy(&pristine(dir.path()), "t.db");
    tamper(
        &path,
        "INSERT INTO events VALUES (61, 0, 'x', 'x', 'x', '{}', randomblob(32))",
    );
    assert_eq!(broken_at(&path).0, 61);
}

#[test]
fn garbage_bytes_give_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let original = pristine(dir.path());
    let len = std::fs::metadata(&original).expect("meta").len() as usize;
    let mut detected = 0;
    // Overwrite each page in turn (and some odd offsets) with garbage.
    let offsets: Vec<usize> = (0..len)
        .step_by(4096)
        .chain([100, 4096 + 8, len - 50])
        .collect();
    for (k, &off) in offsets.iter().enumerate() {
        let path = dir.path().join(format!("garbage-{k}.db"));
        let mut bytes = std::fs::read(&original).expect("read");
        let end = (off + 512).min(bytes.len());
        for (i, b) in bytes[off..end].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37) ^ 0xa5;
        }
        std::fs::write(&path, &bytes).expect("write");
        // Each of these may fail; none may panic.
        let outcome = verify(&path);
        if !matches!(&outcome, Ok(r) if r.is_clean()) {
            detected += 1;
        }
        if let Ok(j) = JournalReader::open(&path) {
            let _ = j.for_each_from(0, |_| Ok::<(), JournalError>(()));
            let _ = j.latest_snapshot();
        }
        if let Ok(mut j) = Journal::open(&path) {
            let _ = j.for_each_from(0, |_| Ok::<(), JournalError>(()));
            let _ = j.append(&[NewRecord {
                at_ms: 0,
                actor: "a",
                client: "c",
                kind: "k",
                payload: "{}",
            }]);
        }
    }
    assert!(detected > 0, "some corruption must be detected");
}
