//! Power cut under load: SIGKILL a process driving the owner task with
//! concurrent submitters, many times; after each restart the journal
//! verifies, every acknowledged event is there, and the replayed hall is
//! consistent (restarting the owner on it works).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hallq::config::Config;
use hallq::daemon::JOURNAL_FILE;
use hallq::journal::{self, Journal};

/// The example binary beside this test's profile dir, built on demand when a
/// filtered `cargo test --test …` did not build examples.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("examples").join(name);
    if !bin.exists() {
        let release = dir.file_name().is_some_and(|n| n == "release");
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--example", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if release {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("run cargo");
        assert!(status.success(), "building example {name} failed");
    }
    bin
}

#[test]
fn sigkill_under_load_loses_nothing_acknowledged() {
    let bin = example("owner_load");
    assert!(bin.exists(), "build examples first: {}", bin.display());
    let dir = tempfile::tempdir().expect("tempdir");
    let journal_path = dir.path().join(JOURNAL_FILE);
    let mut total_acked = 0usize;
    for round in 0..8u64 {
        let mut child = Command::new(&bin)
            .arg(dir.path())
            .arg("6")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn owner_load");
        let stdout = child.stdout.take().expect("stdout");
        // Let it run a varying while, then cut the power.
        let run_for = Duration::from_millis(150 + (round * 97) % 400);
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let parts: Vec<u64> = line
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|s| s.parse().ok())
                    .collect();
                if parts.len() == 2 {
                    acks.push((parts[0], parts[1]));
                }
            }
            acks
        });
        let started = Instant::now();
        while started.elapsed() < run_for {
            std::thread::sleep(Duration::from_millis(10));
        }
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        let acks = reader.join().expect("reader");
        assert!(
            !acks.is_empty() || round > 0,
            "round {round}: nothing was acknowledged"
        );
        total_acked += acks.len();

        let report = journal::verify(&journal_path).expect("verify");
        assert!(
            report.first_broken.is_none(),
            "round {round}: chain broken: {:?}",
            report.first_broken
        );
        let last_acked = acks.iter().map(|(seq, n)| seq + n - 1).max().unwrap_or(0);
        assert!(
            report.last_seq >= last_acked,
            "round {round}: acknowledged seq {last_acked} missing (journal ends at {})",
            report.last_seq
        );
        // Every acknowledged event is present and readable as an event.
        let j = Journal::open(&journal_path).expect("reopen");
        for (seq, n) in &acks {
            let rows = j.read_range(seq - 1, *n as usize).expect("read");
            assert_eq!(
                rows.len() as u64,
                *n,
                "round {round}: ack at {seq} lost rows"
            );
            for r in rows {
                serde_json::from_str::<hallq::queue::Event>(&r.payload).expect("event parses");
            }
        }
        // The hall replays, and a restarted owner accepts commands on it.
        let (hall, _) =
            hallq::daemon::replay::replay(Arc::new(Config::demo()), &j, None).expect("replay");
        let live = hall.tickets().filter(|t| t.status.is_live()).count();
        assert_eq!(hall.state().live, live, "round {round}: live count drifted");
        for w in hall.windows() {
            if let Some(t) = w.current {
                assert_eq!(
                    hall.ticket(t).and_then(|t| t.window),
                    Some(w.number),
                    "round {round}: window {} current mismatch",
                    w.number
                );
            }
        }
    }
    assert!(
        total_acked > 100,
        "too little load to mean anything: {total_acked} acks"
    );
}
