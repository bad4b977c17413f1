//! hallq under systemd: the unit file passes `systemd-analyze verify` and
//! keeps its hardening (`security --offline`); `hallq serve` sends READY=1
//! only once it accepts connections, WATCHDOG=1 while it runs and STOPPING=1
//! on SIGTERM over `$NOTIFY_SOCKET` (path and abstract sockets); and
//! `--log-format json` writes one JSON object per log line.
//!
//! systemd-analyze comes with Debian's `systemd` package (tests/run.sh
//! installs it); it needs no running systemd.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::daemon::{Log, serve_cmd_global};

const UNIT: &str = include_str!("../systemd/hallq.service");
/// Upper bound of any one wait: only a broken daemon gets near it.
const PATIENCE: Duration = Duration::from_secs(60);

fn hallq() -> &'static str {
    env!("CARGO_BIN_EXE_hallq")
}

/// The unit with ExecStart pointed at this build's binary (verify checks
/// that the program exists), written as `hallq.service` in `dir`.
fn unit_copy(dir: &Path) -> PathBuf {
    assert!(
        UNIT.contains("ExecStart=/usr/local/bin/hallq serve "),
        "ExecStart runs /usr/local/bin/hallq serve"
    );
    let text = UNIT.replace(
        "ExecStart=/usr/local/bin/hallq ",
        &format!("ExecStart={} ", hallq()),
    );
    let path = dir.join("hallq.service");
    std::fs::write(&path, text).unwrap();
    path
}

fn systemd_analyze(args: &[&str], unit: &Path) -> Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .unwrap_or_else(|e| {
            panic!("systemd-analyze: {e} (Debian's `systemd` package; tests/run.sh installs it)")
        })
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// The values of `key=` in the unit, in order (comments skipped).
fn unit_values(key: &str) -> Vec<String> {
    UNIT.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_unit_verifies_without_a_word() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_copy(dir.path());
    let out = systemd_analyze(&["verify"], &unit);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "verify failed:\n{said}");
    // verify exits 0 on unknown keys and bad values, so any word is a failure.
    assert!(
        said.trim().is_empty(),
        "systemd-analyze verify said:\n{said}"
    );
}

#[test]
fn verify_would_catch_a_mistake() {
    // The check above can fail: a misspelt key is reported.
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_copy(dir.path());
    let bad = std::fs::read_to_string(&unit)
        .unwrap()
        .replace("NoNewPrivileges=yes", "NoNewPrivilege=yes");
    std::fs::write(&unit, bad).unwrap();
    let out = systemd_analyze(&["verify"], &unit);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("NoNewPrivilege"), "verify said: {said:?}");
}

#[test]
fn the_unit_stays_hardened() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_copy(dir.path());
    // Exposure 0.0 (locked down) … 10.0 (unprotected); hallq's unit is at 1.5.
    // Above 2.0 someone has loosened it: fail.
    let out = systemd_analyze(&["security", "--offline=yes", "--threshold=20"], &unit);
    let said = text(&out.stdout);
    let overall = said
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or("");
    assert!(
        out.status.success(),
        "exposure above 2.0: {overall}\n{said}{}",
        text(&out.stderr)
    );
    assert!(!overall.is_empty(), "no exposure level:\n{said}");
}

#[test]
fn the_unit_says_what_the_issue_asks() {
    for (key, want) in [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("WatchdogSec", "30"),
        ("Restart", "on-failure"),
        ("User", "hallq"),
        ("Group", "hallq"),
        ("SupplementaryGroups", "dialout"),
        ("StateDirectory", "hallq"),
        ("ConfigurationDirectory", "hallq"),
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "no"),
        ("CapabilityBoundingSet", ""),
        ("UMask", "0077"),
    ] {
        assert_eq!(unit_values(key), vec![want.to_string()], "{key}=");
    }
    let devices = unit_values("DeviceAllow");
    for port in ["char-ttyUSB rw", "char-ttyS rw", "char-ttyACM rw"] {
        assert!(devices.iter().any(|d| d == port), "DeviceAllow={port}");
    }
    // `systemctl reload`: SIGHUP, which hallq handles (tests/config_reload.rs).
    assert_eq!(
        unit_values("ExecReload"),
        vec![r#"/bin/sh -c 'kill -HUP "$MAINPID"'"#.to_string()]
    );
}

#[test]
fn exec_start_flags_are_hallqs() {
    // ExecStart's arguments, with the configuration pointed at a missing
    // file: hallq must fail on the file (exit 1), not on the flags (clap: 2).
    let exec = unit_values("ExecStart").pop().expect("ExecStart");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("hall.toml");
    let args: Vec<String> = exec
        .split_whitespace()
        .skip(1)
        .map(|a| {
            if a == "/etc/hallq/hall.toml" {
                missing.display().to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    assert!(args.contains(&missing.display().to_string()), "{exec}");
    let out = Command::new(hallq())
        .args(&args)
        .arg("--data")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("hall.toml"), "{err}");
}

// ---------------------------------------------------------------------------
// sd_notify

/// A `hallq serve` of the demo hall; killed on drop.
struct Daemon {
    process: common::daemon::Daemon,
    _dir: tempfile::TempDir,
}

impl Daemon {
    /// `hallq GLOBAL… serve … EXTRA…` with `env` added to a clean environment.
    fn spawn(env: &[(&str, &str)], global: &[&str], extra: &[&str], log: Log) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("hall.toml");
        std::fs::write(&config, hallq::config::DEMO_HALL_TOML).unwrap();
        let mut cmd = serve_cmd_global(global, &dir.path().join("data"));
        cmd.arg("--quiet-sim")
            .arg("--config")
            .arg(&config)
            .args(extra)
            .env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Daemon {
            process: common::daemon::Daemon::spawn(cmd, log),
            _dir: dir,
        }
    }

    /// The address of the "hallq listening on http://…" line.
    fn address(&mut self) -> String {
        self.process.listening(PATIENCE).to_string()
    }

    fn sigterm(&self) {
        self.process.signal("TERM");
    }

    fn wait_success(&mut self) {
        let status = self.process.child.wait().unwrap();
        assert!(status.success(), "hallq exit status {status}");
    }
}

fn receiver(socket: UnixDatagram) -> impl FnMut() -> String {
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    move || {
        let mut buf = [0u8; 1024];
        let n = socket.recv(&mut buf).expect("a notification from hallq");
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }
}

/// READY=1 arrives first, when the port already accepts connections.
fn expect_ready(recv: &mut impl FnMut() -> String) -> String {
    let ready = recv();
    let mut lines = ready.lines();
    assert_eq!(lines.next(), Some("READY=1"), "{ready:?}");
    let status = lines.next().unwrap_or("");
    let addr = status
        .strip_prefix("STATUS=listening on http://")
        .unwrap_or_else(|| panic!("status {status:?}"))
        .to_string();
    std::net::TcpStream::connect(&addr).expect("the port accepts connections at READY=1");
    addr
}

#[test]
fn ready_watchdog_and_stopping_over_a_path_socket() {
    let sockdir = tempfile::tempdir().unwrap();
    let path = sockdir.path().join("notify");
    let mut recv = receiver(UnixDatagram::bind(&path).unwrap());
    let mut d = Daemon::spawn(
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "1000000"),
        ],
        &[],
        &[],
        Log::Null,
    );
    let addr = expect_ready(&mut recv);
    assert_eq!(d.address(), addr);
    // The owner turns (nudged by the watchdog itself): pings keep coming.
    for _ in 0..3 {
        assert_eq!(recv(), "WATCHDOG=1");
    }
    d.sigterm();
    // Pings already on their way may precede it; then STOPPING=1 ends it.
    let mut last = recv();
    while last == "WATCHDOG=1" {
        last = recv();
    }
    assert_eq!(last, "STOPPING=1");
    d.wait_success();
}

#[test]
fn ready_and_stopping_over_an_abstract_socket_without_watchdog() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("hallq-test-notify-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let mut recv = receiver(UnixDatagram::bind_addr(&addr).unwrap());
    let mut d = Daemon::spawn(
        &[("NOTIFY_SOCKET", &format!("@{name}"))],
        &[],
        &[],
        Log::Null,
    );
    expect_ready(&mut recv);
    d.sigterm();
    // No WATCHDOG_USEC: no pings, the next message is STOPPING=1.
    assert_eq!(recv(), "STOPPING=1");
    d.wait_success();
}

// ---------------------------------------------------------------------------
// --log-format

/// Runs the daemon until it listens, stops it, and returns its stderr.
fn logs_of(global: &[&str], extra: &[&str]) -> String {
    let mut d = Daemon::spawn(&[], global, extra, Log::Keep);
    d.address();
    // SIGTERM, a clean exit, and the whole of its standard error.
    d.process.stop()
}

fn assert_json_lines(logs: &str) {
    let lines: Vec<&str> = logs.lines().collect();
    assert!(!lines.is_empty(), "no log lines");
    let mut messages = Vec::new();
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\nall:\n{logs}"));
        assert!(v["timestamp"].is_string(), "{line}");
        assert!(v["level"].is_string(), "{line}");
        assert!(v["target"].is_string(), "{line}");
        messages.push(
            v["message"]
                .as_str()
                .unwrap_or_else(|| panic!("{line}"))
                .to_string(),
        );
    }
    for want in [
        "hall replayed",
        "listening",
        "owner stopped after its last commit",
    ] {
        assert!(
            messages.iter().any(|m| m == want),
            "{want:?} in {messages:?}"
        );
    }
    let listening: serde_json::Value = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["message"] == "listening")
        .unwrap();
    assert_eq!(listening["level"], "INFO");
    assert!(
        listening["listen"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{listening}"
    );
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    assert_json_lines(&logs_of(&[], &["--log-format", "json"]));
}

#[test]
fn log_format_is_a_global_flag() {
    // `hallq --log-format json serve …` works too.
    assert_json_lines(&logs_of(&["--log-format", "json"], &[]));
}

#[test]
fn text_logs_are_the_default_and_plain_on_a_pipe() {
    let logs = logs_of(&[], &[]);
    assert!(
        logs.lines()
            .any(|l| l.contains("INFO") && l.contains("listening")),
        "{logs}"
    );
    assert!(
        logs.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_err()),
        "{logs}"
    );
    assert!(
        !logs.contains('\u{1b}'),
        "no colour codes on a pipe: {logs:?}"
    );
}

#[test]
fn an_unknown_log_format_is_refused() {
    let out = Command::new(hallq())
        .args(["serve", "--log-format", "xml"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--log-format") && err.contains("json") && err.contains("text"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_turns_stop_while_the_owner_is_stuck() {
    // The watchdog's evidence: `HallHandle::turns` moves with each batch of
    // the owner loop and stands still while the loop is stuck.
    let dir = tempfile::tempdir().unwrap();
    let config = std::sync::Arc::new(hallq::config::Config::demo());
    let owner = hallq::daemon::start(
        config,
        &dir.path().join(hallq::daemon::JOURNAL_FILE),
        hallq::daemon::clock::SystemClock,
    )
    .unwrap();
    let hall = owner.handle.clone();
    hall.query(|_, _| ()).await.unwrap();
    let before = hall.turns();
    hall.query(|_, _| ()).await.unwrap();
    // The reply is sent inside the batch; the turn is counted right after.
    let moved = tokio::time::timeout(PATIENCE, async {
        while hall.turns() == before {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(moved.is_ok(), "a batch is a turn");

    // Stick the owner inside a query until released.
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let stuck = tokio::spawn({
        let hall = hall.clone();
        async move {
            hall.query(move |_, _| {
                entered_tx.send(()).unwrap();
                release_rx.recv().unwrap();
            })
            .await
        }
    });
    tokio::task::spawn_blocking(move || entered_rx.recv_timeout(PATIENCE))
        .await
        .unwrap()
        .expect("the owner runs the query");
    let stuck_at = hall.turns();
    for _ in 0..5 {
        hall.tick(); // the watchdog's nudges
    }
    assert_eq!(hall.turns(), stuck_at, "no turn while stuck");
    release_tx.send(()).unwrap();
    stuck.await.unwrap().unwrap();
    let resumed = tokio::time::timeout(PATIENCE, async {
        while hall.turns() == stuck_at {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(resumed.is_ok(), "turns resume");
    hall.shutdown().await;
}

#[test]
fn text_logs_leave_the_timestamp_to_journald() {
    use std::os::unix::fs::MetadataExt;
    // Standard error is "the journal" when $JOURNAL_STREAM names its device
    // and inode, as systemd sets it; here a file stands in for the stream.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let file = std::fs::File::create(&log).unwrap();
    let meta = file.metadata().unwrap();
    let stream = format!("{}:{}", meta.dev(), meta.ino());
    let mut d = Daemon::spawn(
        &[("JOURNAL_STREAM", &stream)],
        &[],
        &[],
        Log::File(log.clone()),
    );
    d.address();
    d.sigterm();
    d.wait_success();
    let logs = std::fs::read_to_string(&log).unwrap();
    let listening = logs
        .lines()
        .find(|l| l.contains("listening"))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(listening.trim_start().starts_with("INFO"), "{listening:?}");

    // The same stream variable naming another file: timestamps stay.
    let other = std::fs::File::create(dir.path().join("other.log")).unwrap();
    let log2 = dir.path().join("stderr2.log");
    let meta = other.metadata().unwrap();
    let stream = format!("{}:{}", meta.dev(), meta.ino());
    let mut d = Daemon::spawn(
        &[("JOURNAL_STREAM", &stream)],
        &[],
        &[],
        Log::File(log2.clone()),
    );
    d.address();
    d.sigterm();
    d.wait_success();
    let logs = std::fs::read_to_string(&log2).unwrap();
    let listening = logs
        .lines()
        .find(|l| l.contains("listening"))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(
        listening.starts_with(|c: char| c.is_ascii_digit()),
        "{listening:?}"
    );
}
