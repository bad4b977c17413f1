//! Online backup while another thread appends: every copy verifies, is a
//! self-contained file, and is a prefix of the final journal.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use hallq::journal::{Journal, JournalError, JournalReader, NewRecord, Record, backup, verify};

fn append_batch(j: &mut Journal, n: usize) {
    let base = j.last_seq();
    let payloads: Vec<String> = (1..=n as u64)
        .map(|i| {
            format!(
                r#"{{"seq":{},"pad":"{}"}}"#,
                base + i,
                "叫".repeat(((base + i) % 300) as usize)
            )
        })
        .collect();
    let batch: Vec<NewRecord<'_>> = payloads
        .iter()
        .map(|p| NewRecord {
            at_ms: 1_717_200_000_000,
            actor: "staff:1",
            client: "window-1",
            kind: "ticket.called",
            payload: p,
        })
        .collect();
    j.append(&batch).expect("append");
}

fn all_records(path: &Path) -> Vec<Record> {
    let r = JournalReader::open(path).expect("reader");
    let mut out = Vec::new();
    r.for_each_from(0, |rec| {
        out.push(rec);
        Ok::<(), JournalError>(())
    })
    .expect("read");
    out
}

#[test]
fn backup_while_appending_is_a_verified_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hall.journal");
    let mut j = Journal::open(&path).expect("open");
    for n in 1..=20 {
        append_batch(&mut j, n);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                append_batch(&mut j, 1 + n % 16);
                n += 1;
            }
            j
        })
    };

    let mut copies = Vec::new();
    for k in 0..6 {
        thread::sleep(Duration::from_millis(30));
        let dest = dir.path().join(format!("backup-{k}.db"));
        backup(&path, &dest).expect("backup");
        copies.push(dest);
    }
    thread::sleep(Duration::from_millis(30));
    stop.store(true, Ordering::Relaxed);
    let j = writer.join().expect("writer thread");

    let final_records = all_records(&path);
    assert_eq!(final_records.len() as u64, j.last_seq());
    assert!(verify(&path).expect("verify").is_clean());

    let mut previous = 0;
    for dest in &copies {
        let report = verify(dest).expect("verify copy");
        assert!(report.is_clean(), "{dest:?}: {report:?}");
        assert!(report.last_seq >= previous, "copies only grow");
        previous = report.last_seq;
        let copied = all_records(dest);
        assert_eq!(copied.len() as u64, report.last_seq);
        assert_eq!(
            copied[..],
            final_records[..copied.len()],
            "{dest:?} is a prefix"
        );

        // Self-contained: not in WAL mode, no side files.
        let header = std::fs::read(dest).expect("read copy");
        assert_eq!(&header[..16], b"SQLite format 3\0");
        assert_eq!(
            (header[18], header[19]),
            (1, 1),
            "rollback-journal file format"
        );
        let wal = format!("{}-wal", dest.display());
        assert!(!Path::new(&wal).exists());
    }
    assert!(
        previous < j.last_seq(),
        "the writer kept appending after the last backup ({previous} vs {})",
        j.last_seq()
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn backup_to_from_the_writer_and_no_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.db");
    let mut j = Journal::open(&path).expect("open");
    append_batch(&mut j, 32);
    j.save_snapshot(10, r#"{"s":10}"#).expect("snapshot");
    let dest = dir.path().join("copy.db");
    j.backup_to(&dest).expect("backup_to");
    append_batch(&mut j, 3);

    let err = j.backup_to(&dest).expect_err("exists");
    assert!(matches!(err, JournalError::DestinationExists(_)), "{err}");
    assert!(matches!(
        backup(&path, &dest),
        Err(JournalError::DestinationExists(_))
    ));

    let report = verify(&dest).expect("verify");
    assert!(report.is_clean());
    assert_eq!(report.last_seq, 32);
    // The copy is a working journal, snapshots included.
    let mut restored = Journal::open(&dest).expect("open copy");
    assert_eq!(restored.last_seq(), 32);
    assert_eq!(
        restored.latest_snapshot().expect("snapshot"),
        Some((10, r#"{"s":10}"#.to_owned()))
    );
    append_batch(&mut restored, 2);
    assert!(restored.verify().expect("verify").is_clean());
}

#[test]
fn backup_of_a_missing_or_foreign_file_fails_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("copy.db");
    assert!(backup(&dir.path().join("missing.db"), &dest).is_err());
    assert!(!dest.exists());
    let other = dir.path().join("other.db");
    std::fs::write(&other, b"not a database at all").expect("write");
    assert!(matches!(
        backup(&other, &dest),
        Err(JournalError::NotAJournal { .. })
    ));
    assert!(!dest.exists());
}
