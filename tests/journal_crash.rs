//! Kill -9 mid-commit: run `examples/journal_crash_writer.rs` repeatedly on
//! one file, SIGKILL it after a random 5–150 ms, and check after each round
//! that the journal verifies, every acknowledged seq is present with the
//! expected payload, seqs are dense, and what lies beyond the last ack is
//! whole batches only.
//!
//! Set `HALLQ_CRASH_SEED` to replay a failing run (the seed is printed).

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use hallq::journal::{Journal, JournalError, verify};

const ROUNDS: usize = 20;

// Identical to the writer's layout (examples/journal_crash_writer.rs).
fn batch_size(b: u64) -> u64 {
    if b % 10 == 9 {
        100 + b % 57
    } else {
        1 + (b * 7919) % 37
    }
}

fn payload(b: u64, size: u64, i: u64, seq: u64) -> String {
    let fill_len = ((seq * 131) % 120) as usize;
    let fill: String = "请A012号到12号窗口办理"
        .chars()
        .cycle()
        .take(fill_len)
        .collect();
    format!(r#"{{"batch":{b},"size":{size},"item":{i},"seq":{seq},"fill":"{fill}"}}"#)
}

/// The writer's deterministic layout, generated as far as needed.
#[derive(Default)]
struct Layout {
    /// `payloads[seq - 1]` is the expected payload of `seq`.
    payloads: Vec<String>,
    /// Seqs that end a batch, increasing.
    ends: Vec<u64>,
}

impl Layout {
    fn extend_to(&mut self, last: u64) {
        while self.payloads.len() < last as usize {
            let b = self.ends.len() as u64;
            let start = self.ends.last().copied().unwrap_or(0);
            let size = batch_size(b);
            for i in 0..size {
                self.payloads.push(payload(b, size, i, start + 1 + i));
            }
            self.ends.push(start + size);
        }
    }

    fn is_boundary(&self, seq: u64) -> bool {
        seq == 0 || self.ends.binary_search(&seq).is_ok()
    }
}

/// The text up to and including the last newline.
fn complete_lines(bytes: &[u8]) -> String {
    let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// SplitMix64: enough randomness for kill delays, reproducible from a seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The example binary, next to this test's binary:
/// `target/<profile>/deps/journal_crash-…` → `target/<profile>/examples/`.
/// `cargo test` builds examples, but `cargo test --test journal_crash` does
/// not, so build it here (a no-op when it is up to date).
fn writer_exe() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let name = format!("journal_crash_writer{}", std::env::consts::EXE_SUFFIX);
    let bin = profile_dir.join("examples").join(name);
    let target_dir = profile_dir.parent().expect("target dir");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some("release") => "release",
        Some(other) => other,
        None => "dev",
    };
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--example",
            "journal_crash_writer",
            "--profile",
            profile,
        ])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .status();
    match status {
        Ok(s) if s.success() => {}
        // Fall back to whatever cargo built for this test run, if anything.
        other => eprintln!("building the writer failed ({other:?}); using {bin:?} if present"),
    }
    assert!(bin.exists(), "writer example not found at {bin:?}");
    bin
}

#[test]
fn kill_dash_nine_loses_nothing_acknowledged() {
    let started = Instant::now();
    let seed = std::env::var("HALLQ_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("HALLQ_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let exe = writer_exe();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.journal");

    let mut max_acked = 0u64;
    let mut checked = 0u64;
    let mut layout = Layout::default();
    let mut unacked_tail_rounds = 0;
    for round in 0..ROUNDS {
        let delay = Duration::from_millis(5 + rng.next() % 146);
        let mut child = Command::new(&exe)
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn writer");
        let stdout = child.stdout.take().expect("stdout");
        let acks = thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = BufReader::new(stdout).read_to_end(&mut bytes);
            // Only newline-terminated lines count: a line cut by the kill
            // was never a complete acknowledgement.
            let complete = complete_lines(&bytes);
            complete
                .lines()
                .filter_map(|l| l.strip_prefix("acked "))
                .map(|n| n.parse::<u64>().expect("ack number"))
                .collect::<Vec<_>>()
        });
        thread::sleep(delay);
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            child.stderr.take().map(|mut e| e.read_to_string(&mut err));
            panic!("round {round}: writer exited by itself ({status}): {err}");
        }
        child.kill().expect("SIGKILL"); // Child::kill is SIGKILL on Unix.
        child.wait().expect("reap");
        let acks = acks.join().expect("reader thread");

        assert!(
            acks.windows(2).all(|w| w[0] < w[1]),
            "acks increase: {acks:?}"
        );
        if let Some(&last_ack) = acks.last() {
            assert!(last_ack >= max_acked);
            max_acked = last_ack;
        }

        // Reopen as the daemon would after a crash (this also initialises
        // a file the writer created but was killed before initialising).
        let j = Journal::open(&path).expect("reopen");
        let last_seq = j.last_seq();
        assert!(
            last_seq >= max_acked,
            "round {round} (seed {seed}): acked {max_acked} but only {last_seq} on disk"
        );
        if last_seq > max_acked {
            unacked_tail_rounds += 1;
        }
        layout.extend_to(last_seq);
        assert!(
            layout.is_boundary(last_seq),
            "round {round} (seed {seed}): torn batch, last seq {last_seq}"
        );
        for &a in &acks {
            assert!(layout.is_boundary(a), "ack {a} is not a batch boundary");
        }
        // Rows up to `checked` were compared in earlier rounds. The stream
        // checks each new row's seq and chain link as it goes.
        let mut next = checked + 1;
        j.for_each_from(checked, |r| {
            assert_eq!(r.seq, next);
            assert_eq!(
                r.payload,
                layout.payloads[(r.seq - 1) as usize],
                "seq {}",
                r.seq
            );
            next += 1;
            Ok::<(), JournalError>(())
        })
        .expect("replay");
        assert_eq!(next - 1, last_seq, "dense up to the head");
        checked = last_seq;

        // The whole chain, every few rounds (it grows; debug-build SHA-256
        // is slow) and at the end.
        if round % 4 == 3 || round + 1 == ROUNDS {
            let report = verify(&path).expect("verify");
            assert!(report.is_clean(), "round {round} (seed {seed}): {report:?}");
            assert_eq!((report.rows, report.last_seq), (last_seq, last_seq));
            assert_eq!(report.last_hash, j.last_hash());
        }
    }
    eprintln!(
        "{ROUNDS} rounds in {:?}: {max_acked} acked, {unacked_tail_rounds} rounds with a committed but unacknowledged tail",
        started.elapsed()
    );
    assert!(max_acked > 0, "the writer never got a batch acknowledged");
}
