//! Journal append throughput against the machine's fsync baseline.
//! `cargo bench --bench journal`
//!
//! - `sqlite_single_commit`: raw rusqlite, one row per transaction into a
//!   plain WAL + `synchronous=FULL` table of the same row shape: what one
//!   durable commit costs on this disk.
//! - `journal_append/N`: `Journal::append` with batches of N records (one
//!   transaction, one WAL fsync per batch). Throughput is in records.
//!
//! Files live under `CARGO_TARGET_TMPDIR` (target/tmp, same filesystem as
//! the repo, not tmpfs) so fsync is real.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hallq::journal::{Journal, NewRecord};

/// A typical event payload (~200 bytes).
fn payload(i: u64) -> String {
    format!(
        r#"{{"type":"ticket_called","ticket":"A{:03}","service":"不动产登记","window":{},"staff":"staff{}","zone":"一楼东区","at":"2026-11-24T10:{:02}:00+08:00"}}"#,
        i % 1000,
        1 + i % 128,
        i % 97,
        i % 60
    )
}

fn tempdir() -> tempfile::TempDir {
    let base = env!("CARGO_TARGET_TMPDIR");
    std::fs::create_dir_all(base).expect("target tmp dir");
    tempfile::Builder::new()
        .prefix("hallq-journal-bench-")
        .tempdir_in(base)
        .expect("tempdir")
}

fn sqlite_single_commit(c: &mut Criterion) {
    let dir = tempdir();
    let conn = rusqlite::Connection::open(dir.path().join("baseline.db")).expect("open");
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .expect("wal");
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("sync");
    conn.execute_batch(
        "CREATE TABLE events (
            seq INTEGER PRIMARY KEY NOT NULL, at_ms INTEGER NOT NULL,
            actor TEXT NOT NULL, client TEXT NOT NULL, kind TEXT NOT NULL,
            payload TEXT NOT NULL, hash BLOB NOT NULL
        ) STRICT",
    )
    .expect("create");
    let hash = [0x5au8; 32];
    let mut seq = 0i64;
    let mut group = c.benchmark_group("sqlite_single_commit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("1", |b| {
        b.iter(|| {
            seq += 1;
            // Autocommit: one statement = one transaction = one WAL fsync.
            conn.prepare_cached("INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .expect("prepare")
                .execute((
                    seq,
                    1_795_485_600_000i64 + seq,
                    "staff:1024",
                    "keypad-12",
                    "ticket.called",
                    payload(seq as u64),
                    &hash[..],
                ))
                .expect("insert");
        })
    });
    group.finish();
}

fn journal_append(c: &mut Criterion) {
    let dir = tempdir();
    let mut group = c.benchmark_group("journal_append");
    for size in [1usize, 8, 32, 256] {
        let mut journal = Journal::open(&dir.path().join(format!("j{size}.db"))).expect("open");
        let payloads: Vec<String> = (0..size as u64).map(payload).collect();
        let batch: Vec<NewRecord<'_>> = payloads
            .iter()
            .map(|p| NewRecord {
                at_ms: 1_795_485_600_000,
                actor: "staff:1024",
                client: "keypad-12",
                kind: "ticket.called",
                payload: p,
            })
            .collect();
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &batch, |b, batch| {
            b.iter(|| black_box(journal.append(batch).expect("append")))
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = sqlite_single_commit, journal_append
}
criterion_main!(benches);
