//! Durable commands per second through the owner task, with 1 and 32
//! concurrent submitters, beside the machine's single-commit SQLite rate
//! measured in the same run. `cargo bench --bench commands`
//!
//! Submitters are tokio tasks on a 2-worker runtime, like the HTTP
//! handlers that will call the owner. Each submitter owns one window and one service and loops
//! issue → call next → start → finish; every command commits at least one
//! event with fsync (WAL, synchronous=FULL) before it is answered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hallq::config::Config;
use hallq::daemon::clock::SystemClock;
use hallq::daemon::{HallHandle, JOURNAL_FILE, start};
use hallq::queue::{Actor, Command, IssueSource, Outcome};

mod common;

fn scratch() -> tempfile::TempDir {
    // On the project's disk, not tmpfs, so fsync is real.
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir")
}

/// The baseline: one row per transaction, WAL, synchronous=FULL.
fn sqlite_single_commit(c: &mut Criterion) {
    let dir = scratch();
    let conn = rusqlite::Connection::open(dir.path().join("base.sqlite")).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("full");
    conn.execute_batch("CREATE TABLE t (seq INTEGER PRIMARY KEY, at_ms INTEGER, actor TEXT, client TEXT, kind TEXT, payload TEXT, hash BLOB)")
        .expect("table");
    let payload = r#"{"event":"ticket_called","ticket":12,"window":3,"staff":"zhangsan","rule":"routed","reason":null}"#;
    let mut group = c.benchmark_group("durable_commands");
    group.throughput(Throughput::Elements(1));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    let mut seq = 0i64;
    group.bench_function("sqlite_single_commit_baseline", |b| {
        b.iter(|| {
            seq += 1;
            conn.execute(
                "INSERT INTO t VALUES (?1, ?2, 'staff:zhangsan', 'bench', 'ticket_called', ?3, zeroblob(32))",
                rusqlite::params![seq, seq, payload],
            )
            .expect("insert")
        })
    });
    group.finish();
}

/// Submitters are tokio tasks, as HTTP handlers are.
fn run_submitters(
    rt: &tokio::runtime::Runtime,
    handle: &HallHandle,
    submitters: usize,
    commands: u64,
) -> Duration {
    let per = commands.div_ceil(submitters as u64);
    rt.block_on(async {
        let started = Instant::now();
        let tasks: Vec<_> = (0..submitters)
            .map(|w| {
                let h = handle.clone();
                tokio::spawn(async move {
                    let window = w as u32 + 1;
                    let me = Actor::Staff(format!("staff{w}"));
                    let cycle = [
                        Command::Issue {
                            service: format!("s{w}"),
                            priority: None,
                            person: None,
                            source: IssueSource::Kiosk,
                            cases: 1,
                        },
                        Command::CallNext { window },
                        Command::Start { window },
                        Command::Finish {
                            window,
                            outcome: Outcome::Done,
                            reason: None,
                        },
                    ];
                    for i in 0..per {
                        let command = cycle[(i % 4) as usize].clone();
                        let actor = if i % 4 == 0 {
                            Actor::Kiosk("k".into())
                        } else {
                            me.clone()
                        };
                        h.submit(actor, "bench", command).await.expect("command");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("submitter");
        }
        started.elapsed()
    })
}

fn owner_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable_commands");
    group.throughput(Throughput::Elements(1));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for submitters in [1usize, 32] {
        let dir = scratch();
        let text = common::synthetic_hall(32, 32, 1);
        let config =
            Arc::new(Config::from_toml_str("bench", &text).unwrap_or_else(|e| panic!("{e}")));
        let owner = start(config, &dir.path().join(JOURNAL_FILE), SystemClock).expect("owner");
        let handle = owner.handle.clone();
        for w in 0..32u32 {
            handle
                .submit_blocking(
                    Actor::Staff(format!("staff{w}")),
                    "bench",
                    Command::SignIn { window: w + 1 },
                )
                .expect("sign in");
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("rt");
        group.bench_function(format!("owner_{submitters}_submitters"), |b| {
            // Whole cycles of 4 commands per submitter, so every window ends idle.
            b.iter_custom(|iters| {
                let commands = iters.div_ceil(4 * submitters as u64) * 4 * submitters as u64;
                let took = run_submitters(&rt, &handle, submitters, commands);
                took.mul_f64(iters as f64 / commands as f64)
            })
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("rt");
        rt.block_on(handle.shutdown());
        drop(handle);
        owner.thread.join().expect("join").expect("owner");
    }
    group.finish();
}

criterion_group!(benches, sqlite_single_commit, owner_throughput);
criterion_main!(benches);
