//! A real `hallq serve` process for tests: started on `127.0.0.1:0`, its
//! address read from the `hallq listening on http://ADDR` line, its log
//! (stderr, `RUST_LOG=info`) kept for assertions, signals sent with
//! `kill`, killed when dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// How long a daemon may take to start, or to log an awaited line.
pub const DAEMON_WAIT: Duration = Duration::from_secs(120);

/// `hallq` with info logs (tests read them).
pub fn hallq() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hallq"));
    c.env("RUST_LOG", "info");
    c
}

/// Sets `account`'s password with `hallq passwd` (daemon stopped); the
/// account must change it at its first sign-in.
pub fn passwd(config: &Path, data: &Path, account: &str, password: &str) {
    let mut child = hallq()
        .args(["passwd", account, "--config"])
        .arg(config)
        .arg("--data")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn hallq passwd");
    writeln!(child.stdin.take().expect("stdin"), "{password}").expect("write");
    assert!(
        child.wait().expect("wait").success(),
        "hallq passwd {account}"
    );
}

pub struct Daemon {
    pub child: Child,
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// `hallq serve --quiet-sim --listen 127.0.0.1:0 --data DATA [--config FILE]`.
    pub fn serve(config: Option<&Path>, data: &Path) -> Daemon {
        let mut cmd = hallq();
        cmd.args(["serve", "--quiet-sim", "--listen", "127.0.0.1:0", "--data"])
            .arg(data);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hallq serve");
        let logs: Arc<Mutex<Vec<String>>> = Arc::default();
        let stderr = child.stderr.take().expect("stderr");
        let kept = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                kept.lock().expect("logs").push(line);
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(a) = line.strip_prefix("hallq listening on http://") {
                    let _ = tx.send(a.parse::<SocketAddr>().expect("address"));
                    sent = true;
                }
            }
        });
        let addr = rx.recv_timeout(DAEMON_WAIT).unwrap_or_else(|_| {
            panic!(
                "hallq serve printed no address; log:\n{}",
                logs.lock().expect("logs").join("\n")
            )
        });
        Daemon { child, addr, logs }
    }

    /// Every log line so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("logs").clone()
    }

    /// Log lines containing `needle`.
    pub fn logged(&self, needle: &str) -> Vec<String> {
        self.logs()
            .into_iter()
            .filter(|l| l.contains(needle))
            .collect()
    }

    /// Waits until `count` log lines contain `needle`; panics after [`DAEMON_WAIT`].
    pub fn wait_logged(&self, needle: &str, count: usize) -> Vec<String> {
        let until = Instant::now() + DAEMON_WAIT;
        loop {
            let found = self.logged(needle);
            if found.len() >= count {
                return found;
            }
            assert!(
                Instant::now() < until,
                "no {count}× {needle:?} in the log:\n{}",
                self.logs().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal by name (`HUP`, `TERM`).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{name}");
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, and waits for a clean exit.
    pub fn stop(mut self) {
        self.signal("TERM");
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "hallq serve exited with {status}");
    }
}
