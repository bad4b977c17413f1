//! The real `hallq` binary as a child process — the one place tests start
//! it: `hallq serve` on `127.0.0.1:0`, its address read from the `hallq
//! listening on http://ADDR` (or `https://`) line (stdout drained for the
//! process's life, so a full pipe never stalls it), its log (stderr)
//! dropped, kept in memory or appended to a file, signals sent with `kill`,
//! SIGKILL (a power cut), `hallq verify`, and killed when dropped. The async
//! tests use the thin wrappers in `common` over the same pieces
//! ([`super::start_daemon`], [`super::stop_daemon`], [`super::Hallq`]).

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a daemon may take to start, to log an awaited line, or to exit
/// after SIGTERM.
pub const DAEMON_WAIT: Duration = Duration::from_secs(120);

/// The binary under test: this build's `hallq`, or `HALLQ_TEST_BIN` (to run
/// a test against another build, e.g. a deliberately broken one).
pub fn bin() -> PathBuf {
    std::env::var_os("HALLQ_TEST_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_hallq").into(), Into::into)
}

/// `hallq` with `RUST_LOG=warn` and without systemd's variables (a test run
/// from a unit must not notify or feed its watchdog).
pub fn hallq() -> Command {
    let mut c = Command::new(bin());
    c.env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .env_remove("JOURNAL_STREAM")
        .env("RUST_LOG", "warn");
    c
}

/// `hallq serve --listen 127.0.0.1:0 --data DATA`; add `--quiet-sim`,
/// `--config FILE`, `RUST_LOG` … and start it with [`Daemon::start`].
pub fn serve_cmd(data: &Path) -> Command {
    serve_cmd_global(&[], data)
}

/// [`serve_cmd`] with `global` options before the subcommand (`hallq
/// --log-format json serve …`).
pub fn serve_cmd_global(global: &[&str], data: &Path) -> Command {
    let mut c = hallq();
    c.args(global)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data);
    c
}

/// `hallq verify --data DATA`, with its output.
pub fn verify(data: &Path) -> Output {
    hallq()
        .arg("verify")
        .arg("--data")
        .arg(data)
        .output()
        .expect("run hallq verify")
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
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hallq passwd");
    writeln!(child.stdin.take().expect("stdin"), "{password}").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "hallq passwd {account}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Where a daemon's log (stderr) goes.
pub enum Log {
    /// Nowhere.
    Null,
    /// Kept in memory, line by line ([`Daemon::logs`]).
    Keep,
    /// Appended to this file (it survives restarts and the process).
    File(PathBuf),
}

enum Kept {
    Null,
    /// The lines, and the thread reading them (it ends at EOF).
    Lines(Arc<Mutex<Vec<String>>>, Option<JoinHandle<()>>),
    File(PathBuf),
}

/// A running `hallq serve`; killed (SIGKILL) when dropped.
pub struct Daemon {
    pub child: Child,
    /// Set by [`Daemon::start`] / [`Daemon::listening`].
    pub addr: SocketAddr,
    /// What it printed: `http://ADDR`, or `https://ADDR` with TLS.
    pub url: String,
    listening: mpsc::Receiver<String>,
    log: Kept,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Spawns `cmd` (from [`serve_cmd`]) and waits up to `wait` for its
    /// address; panics with its log if it prints none.
    pub fn start(cmd: Command, log: Log, wait: Duration) -> Daemon {
        let mut d = Daemon::spawn(cmd, log);
        d.listening(wait);
        d
    }

    /// Spawns `cmd` without waiting for its address (to cut the power while
    /// it starts); [`Daemon::listening`] waits for it.
    pub fn spawn(mut cmd: Command, log: Log) -> Daemon {
        let (stderr, mut kept) = match log {
            Log::Null => (Stdio::null(), Kept::Null),
            Log::Keep => (Stdio::piped(), Kept::Lines(Arc::default(), None)),
            Log::File(p) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&p)
                    .expect("log file");
                (Stdio::from(f), Kept::File(p))
            }
        };
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn hallq serve");
        if let Kept::Lines(lines, reader) = &mut kept {
            let stderr = child.stderr.take().expect("stderr");
            let lines = lines.clone();
            *reader = Some(std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().expect("logs").push(line);
                }
            }));
        }
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.trim().strip_prefix("hallq listening on ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        Daemon {
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            url: String::new(),
            listening: rx,
            log: kept,
        }
    }

    /// Waits up to `wait` for `hallq listening on http://ADDR` (or
    /// `https://`); panics with the log when it exits first or prints
    /// nothing in time.
    pub fn listening(&mut self, wait: Duration) -> SocketAddr {
        match self.listening.recv_timeout(wait) {
            Ok(url) => {
                let addr = url
                    .strip_prefix("http://")
                    .or_else(|| url.strip_prefix("https://"))
                    .and_then(|a| a.parse::<SocketAddr>().ok())
                    .unwrap_or_else(|| panic!("not a listen address: {url}"));
                self.addr = addr;
                self.url = url;
                addr
            }
            Err(e) => {
                let why = match e {
                    mpsc::RecvTimeoutError::Timeout => format!("within {wait:?}"),
                    mpsc::RecvTimeoutError::Disconnected => "before it closed stdout".into(),
                };
                let _ = self.child.kill();
                let status = self.child.wait();
                panic!(
                    "hallq serve printed no address {why} ({status:?}); log:\n{}",
                    self.log_tail()
                )
            }
        }
    }

    /// Every log line so far (none with [`Log::Null`]).
    pub fn logs(&self) -> Vec<String> {
        match &self.log {
            Kept::Null => Vec::new(),
            Kept::Lines(lines, _) => lines.lock().expect("logs").clone(),
            Kept::File(p) => std::fs::read_to_string(p)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect(),
        }
    }

    /// The last 4,000 bytes or so of the log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = self.logs().join("\n");
        let start = text.len().saturating_sub(4_000);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        text[start..].to_string()
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

    /// SIGKILL and reap: the power cut.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// SIGTERM; waits up to [`DAEMON_WAIT`] for a clean exit and returns
    /// everything it logged.
    pub fn stop(self) -> String {
        self.stop_within(DAEMON_WAIT)
    }

    /// SIGTERM; waits up to `wait` for a clean exit and returns everything
    /// it logged.
    pub fn stop_within(mut self, wait: Duration) -> String {
        self.signal("TERM");
        let until = Instant::now() + wait;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                Instant::now() < until,
                "hallq serve still runs {wait:?} after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The stderr reader may still hold the last lines: it ends at EOF.
        if let Kept::Lines(_, reader) = &mut self.log
            && let Some(reader) = reader.take()
        {
            let _ = reader.join();
        }
        let logs = self.logs().join("\n");
        assert!(
            status.success(),
            "hallq serve exited with {status}; log:\n{logs}"
        );
        logs
    }
}
