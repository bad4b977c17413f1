//! Crash-test writer for the journal (used by tests/journal_crash.rs).
//!
//! Usage: `journal_crash_writer <db path> [max batches]`
//!
//! Appends a deterministic, infinite sequence of batches and prints
//! `acked <last_seq>` (flushed) after each successful append. Batch `b` has
//! `batch_size(b)` records; record `i` of batch `b` at `seq` carries
//! `payload(b, size, i, seq)`. A batch lost to a crash is retried with the
//! same number on the next start, so whatever is on disk is always a prefix
//! of the same sequence and every committed state ends on a batch boundary.
//! Exits with status 2 if the journal does not end on a batch boundary
//! (a torn batch).
//!
//! Keep `batch_size` and `payload` identical to the copies in the test.

use std::io::Write;
use std::path::PathBuf;

use hallq::journal::{Journal, NewRecord};

/// Records in batch `b`: mostly 1..=37, every tenth batch 100..=156.
fn batch_size(b: u64) -> u64 {
    if b % 10 == 9 {
        100 + b % 57
    } else {
        1 + (b * 7919) % 37
    }
}

/// The payload of record `i` (0-based) of batch `b` (of `size`) at `seq`.
fn payload(b: u64, size: u64, i: u64, seq: u64) -> String {
    let fill_len = ((seq * 131) % 120) as usize;
    let fill: String = "请A012号到12号窗口办理"
        .chars()
        .cycle()
        .take(fill_len)
        .collect();
    format!(r#"{{"batch":{b},"size":{size},"item":{i},"seq":{seq},"fill":"{fill}"}}"#)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let path = PathBuf::from(
        args.next()
            .ok_or_else(|| anyhow::anyhow!("usage: journal_crash_writer <db> [max batches]"))?,
    );
    let max_batches: u64 = match args.next() {
        Some(s) => s.to_string_lossy().parse()?,
        None => u64::MAX,
    };

    let mut journal = Journal::open(&path)?;
    let last = journal.last_seq();
    let (mut b, mut end) = (0u64, 0u64);
    while end < last {
        end += batch_size(b);
        b += 1;
    }
    if end != last {
        eprintln!(
            "torn batch: last_seq {last} is inside batch {} (ends at {end})",
            b - 1
        );
        std::process::exit(2);
    }

    let stdout = std::io::stdout();
    for _ in 0..max_batches {
        let size = batch_size(b);
        let payloads: Vec<String> = (0..size)
            .map(|i| payload(b, size, i, end + 1 + i))
            .collect();
        let records: Vec<NewRecord<'_>> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| NewRecord {
                at_ms: 1_700_000_000_000 + (end + 1 + i as u64) as i64,
                actor: "crash-writer",
                client: "journal-crash-test",
                kind: "test.batch_item",
                payload: p,
            })
            .collect();
        let first = journal.append(&records)?;
        anyhow::ensure!(
            first == end + 1,
            "append returned {first}, expected {}",
            end + 1
        );
        end += size;
        b += 1;
        let mut out = stdout.lock();
        writeln!(out, "acked {end}")?;
        out.flush()?;
    }
    Ok(())
}
