//! Backups and restore (`src/daemon/backups.rs`, `hallq restore`).
//!
//! - The restore drill of the README, end to end with real processes: a
//!   daemon with `[backup] every_minutes` takes sets (and off-site copies)
//!   while tickets are issued and served; it is killed; the newest set is
//!   restored into a fresh directory; a daemon started there has the
//!   tickets, accounts (not sessions) and person key; `hallq verify` prints
//!   the head `hallq restore` printed. Restore refuses while a daemon runs
//!   there and refuses to overwrite without `--force`, which moves the old
//!   files aside.
//! - A tampered backup is refused with the broken row named, and nothing
//!   is written.
//! - Retention keeps the newest sets, in both directories, and nothing else
//!   is touched.
//! - `[backup]` configuration errors name the field and the line.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::daemon::{DAEMON_WAIT, Daemon, Log, hallq, serve_cmd};

use serde_json::{Value, json};

use hallq::config::{Config, DEMO_HALL_TOML};
use hallq::daemon::backups::{self, BackupPlan, Schedule};
use hallq::daemon::{ACCOUNTS_FILE, JOURNAL_FILE};
use hallq::journal::{Journal, JournalReader, NewRecord};

const KIOSK: &str = "demo-kiosk";
const FIRST_PASSWORD: &str = "first-Backup-pw-2468";
const PASSWORD: &str = "backup-Drill-pw-1357";

// --- processes --------------------------------------------------------------

/// `hallq serve --quiet-sim --config CONFIG` at `RUST_LOG=warn`, no log.
fn serve(config: &Path, data: &Path) -> Daemon {
    let mut cmd = serve_cmd(data);
    cmd.arg("--quiet-sim").arg("--config").arg(config);
    Daemon::start(cmd, Log::Null, DAEMON_WAIT)
}

fn run(args: &[&str], data: &Path) -> Output {
    hallq()
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run hallq")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn passwd(config: &Path, data: &Path, account: &str) {
    common::daemon::passwd(config, data, account, FIRST_PASSWORD);
}

// --- a small HTTP/1.1 client (Connection: close) ------------------------------

fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: hallq\r\nConnection: close\r\n");
    if !token.is_empty() {
        req.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = text(&raw[..split]).to_ascii_lowercase();
    let mut payload = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        payload = dechunk(&payload);
    }
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let value = if payload.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&payload).unwrap_or(Value::String(text(&payload)))
    };
    (status, value)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").expect("chunk size");
        let size = usize::from_str_radix(text(&b[..eol]).trim(), 16).expect("hex size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 4 + size..];
    }
}

fn ok(addr: SocketAddr, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
    let (status, v) = call(addr, method, path, token, body);
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {v}"
    );
    v
}

/// Signs in; with the first password, changes it to [`PASSWORD`].
fn sign_in(addr: SocketAddr, account: &str, password: &str) -> String {
    let v = ok(
        addr,
        "POST",
        "/api/v1/sessions",
        "",
        Some(json!({"account": account, "password": password})),
    );
    let token = v["token"].as_str().expect("token").to_owned();
    if password == FIRST_PASSWORD {
        ok(
            addr,
            "POST",
            "/api/v1/sessions/password",
            &token,
            Some(json!({"old_password": FIRST_PASSWORD, "new_password": PASSWORD})),
        );
    }
    token
}

// --- files --------------------------------------------------------------------

fn write_config(dir: &Path, backup: &str) -> PathBuf {
    let path = dir.join("hall.toml");
    std::fs::write(&path, format!("{DEMO_HALL_TOML}\n{backup}")).expect("write config");
    path
}

fn head(journal: &Path) -> u64 {
    JournalReader::open(journal)
        .expect("open journal")
        .last_seq()
        .expect("head")
}

fn set_seq(set: &Path) -> u64 {
    let name = set.file_name().unwrap().to_str().unwrap();
    backups::parse_set_name(name).expect("a set name").1
}

fn sessions_in(accounts: &Path) -> i64 {
    let c = rusqlite::Connection::open(accounts).expect("open accounts");
    c.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .expect("count sessions")
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

/// The `head: seq N hash H` line of `hallq verify` or `hallq restore`.
fn head_line(out: &str) -> String {
    out.lines()
        .find(|l| l.starts_with("head: seq "))
        .unwrap_or_else(|| panic!("no head line in:\n{out}"))
        .to_owned()
}

// --- the drill ------------------------------------------------------------------

#[test]
fn restore_drill_brings_back_tickets_accounts_and_key_and_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let offsite = dir.path().join("share");
    let config = write_config(
        dir.path(),
        &format!(
            "[backup]\ndir = \"backups\"\noffsite_dir = {:?}\nevery_minutes = 0.05\nkeep = 3\n",
            offsite.display().to_string()
        ),
    );
    passwd(&config, &data, "w01");

    let d = serve(&config, &data);
    let staff = sign_in(d.addr, "w01", FIRST_PASSWORD);
    ok(d.addr, "POST", "/api/v1/windows/1/sign-in", &staff, None);
    let mut tickets = Vec::new();
    for _ in 0..3 {
        let t = ok(
            d.addr,
            "POST",
            "/api/v1/tickets",
            KIOSK,
            Some(json!({"service": "tax"})),
        );
        tickets.push((
            t["ticket"]["id"].as_u64().expect("id"),
            t["ticket"]["number"].as_str().expect("number").to_owned(),
        ));
    }
    // Serve the first one through to the end.
    ok(d.addr, "POST", "/api/v1/windows/1/call-next", &staff, None);
    ok(d.addr, "POST", "/api/v1/windows/1/start", &staff, None);
    ok(
        d.addr,
        "POST",
        "/api/v1/windows/1/finish",
        &staff,
        Some(json!({"outcome": "done"})),
    );
    let served = ok(
        d.addr,
        "GET",
        &format!("/api/v1/tickets/{}", tickets[0].0),
        KIOSK,
        None,
    );
    let served_status = served["ticket"]["status"].clone();
    assert_eq!(served_status, "finished", "{served}");
    assert!(sessions_in(&data.join(ACCOUNTS_FILE)) >= 1);

    // Wait for a set holding everything above, here and off-site.
    let wanted = head(&data.join(JOURNAL_FILE));
    let backups_dir = data.join("backups");
    let deadline = Instant::now() + Duration::from_secs(120);
    let set = loop {
        let here = backups::list_sets(&backups_dir).unwrap_or_default();
        let there = backups::list_sets(&offsite).unwrap_or_default();
        let newest = here.last().filter(|s| set_seq(s) >= wanted).cloned();
        if let Some(s) = newest
            && there.iter().any(|t| t.file_name() == s.file_name())
        {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "no backup set reached seq {wanted}: {here:?} {there:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    drop(d); // SIGKILL: the box dies.

    // The set: private, complete, no sessions.
    for f in [JOURNAL_FILE, ACCOUNTS_FILE, "person.key"] {
        assert!(set.join(f).is_file(), "{f} in {}", set.display());
        #[cfg(unix)]
        assert_eq!(mode(&set.join(f)), 0o600, "{f}");
    }
    #[cfg(unix)]
    assert_eq!(mode(&set), 0o700);
    assert_eq!(
        sessions_in(&set.join(ACCOUNTS_FILE)),
        0,
        "no sessions in a set"
    );
    assert!(
        backups::list_sets(&backups_dir).unwrap().len() <= 4,
        "retention (3, plus at most one being pruned)"
    );

    // Restore into a fresh directory.
    let fresh = dir.path().join("restored");
    let out = run(&["restore", set.to_str().unwrap()], &fresh);
    assert!(out.status.success(), "restore: {}", text(&out.stderr));
    let restored_head = head_line(&text(&out.stdout));
    let verify = run(&["verify"], &fresh);
    assert!(verify.status.success(), "verify: {}", text(&verify.stdout));
    assert_eq!(head_line(&text(&verify.stdout)), restored_head);
    assert_eq!(
        restored_head,
        head_line(&text(&run(&["verify"], &set).stdout)),
        "the head of the set itself"
    );
    assert_eq!(
        std::fs::read(fresh.join("person.key")).unwrap(),
        std::fs::read(data.join("person.key")).unwrap(),
        "the person key comes back"
    );

    // A daemon on the restored directory has the tickets; the password
    // came back, the old session did not.
    let r = serve(&config, &fresh);
    for (id, number) in &tickets {
        let v = ok(r.addr, "GET", &format!("/api/v1/tickets/{id}"), KIOSK, None);
        assert_eq!(v["ticket"]["number"], number.as_str(), "{v}");
    }
    let v = ok(
        r.addr,
        "GET",
        &format!("/api/v1/tickets/{}", tickets[0].0),
        KIOSK,
        None,
    );
    assert_eq!(v["ticket"]["status"], served_status);
    let (status, _) = call(r.addr, "GET", "/api/v1/windows/1", &staff, None);
    assert_eq!(status, 401, "a session from before the backup is gone");
    let again = sign_in(r.addr, "w01", PASSWORD);
    ok(r.addr, "GET", "/api/v1/windows/1", &again, None);

    // Not while a daemon runs there.
    let out = run(&["restore", set.to_str().unwrap(), "--force"], &fresh);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("in use by another hallq process"), "{err}");
    assert!(err.contains(&format!("pid {}", r.child.id())), "{err}");
    drop(r);

    // Not over an existing journal without --force ...
    let before = std::fs::read(fresh.join(JOURNAL_FILE)).unwrap();
    let out = run(&["restore", set.to_str().unwrap()], &fresh);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("refusing to overwrite") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(fresh.join(JOURNAL_FILE)).unwrap(), before);

    // ... and with it, the old files are moved aside, not deleted.
    let out = run(&["restore", set.to_str().unwrap(), "--force"], &fresh);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(head_line(&text(&out.stdout)), restored_head);
    let aside: Vec<PathBuf> = std::fs::read_dir(&fresh)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("journal.sqlite.before-restore-")
        })
        .collect();
    assert!(!aside.is_empty(), "the old journal was moved aside");
    let old = aside
        .iter()
        .find(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            !n.ends_with("-wal") && !n.ends_with("-shm")
        })
        .expect("the old journal file");
    assert!(
        hallq::journal::verify(old)
            .expect("the aside journal opens")
            .is_clean(),
        "the journal moved aside is intact"
    );
    let verify = run(&["verify"], &fresh);
    assert!(verify.status.success());
    assert_eq!(head_line(&text(&verify.stdout)), restored_head);
}

// --- tampering ------------------------------------------------------------------

/// A data directory with a small journal (no daemon), and a set of it.
fn journal_and_set(dir: &Path) -> (PathBuf, PathBuf) {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut j = Journal::open(&data.join(JOURNAL_FILE)).expect("journal");
    for i in 0..5 {
        let payload = format!("{{\"n\":{i}}}");
        j.append(&[NewRecord {
            at_ms: 1_700_000_000_000 + i,
            actor: "test",
            client: "test",
            kind: "note",
            payload: &payload,
        }])
        .expect("append");
    }
    drop(j);
    let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 9)
        .unwrap()
        .and_hms_opt(21, 0, 0)
        .unwrap();
    let (set, report) = backups::take_set(&data, &dir.join("backups"), at).expect("take set");
    assert_eq!(report.last_seq, 5);
    assert_eq!(
        set.file_name().unwrap().to_str().unwrap(),
        "hallq-20260309-210000-seq5"
    );
    (data, set)
}

fn flip_payload_byte(journal: &Path, seq: i64) {
    let c = rusqlite::Connection::open(journal).expect("open");
    c.execute_batch(
        "DROP TRIGGER IF EXISTS events_append_only_update;
         DROP TRIGGER IF EXISTS events_append_only_delete;",
    )
    .expect("drop guards");
    let payload: String = c
        .query_row("SELECT payload FROM events WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .expect("payload");
    let tampered = payload.replacen(':', ": ", 1);
    assert_ne!(tampered, payload);
    c.execute(
        "UPDATE events SET payload = ?1 WHERE seq = ?2",
        rusqlite::params![tampered, seq],
    )
    .expect("tamper");
}

#[test]
fn a_tampered_backup_is_refused_naming_the_broken_row_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, set) = journal_and_set(dir.path());
    flip_payload_byte(&set.join(JOURNAL_FILE), 3);

    let fresh = dir.path().join("fresh");
    let out = run(&["restore", set.to_str().unwrap()], &fresh);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("does not verify"), "{err}");
    assert!(err.contains("first broken row is seq 3"), "{err}");
    assert!(err.contains("hash mismatch"), "{err}");
    assert!(!fresh.join(JOURNAL_FILE).exists(), "nothing restored");
    assert!(!fresh.exists(), "a refused backup writes nothing");

    // The bare journal file is refused the same way, and --force changes nothing.
    let out = run(
        &[
            "restore",
            set.join(JOURNAL_FILE).to_str().unwrap(),
            "--force",
        ],
        &fresh,
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("first broken row is seq 3"));
    assert!(!fresh.join(JOURNAL_FILE).exists());
}

#[test]
fn a_bare_journal_file_restores_and_leaves_accounts_and_key_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, _) = journal_and_set(dir.path());
    let copy = dir.path().join("copy.sqlite");
    let out = hallq()
        .args(["backup", copy.to_str().unwrap(), "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fresh = dir.path().join("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join("person.key"), [7u8; 32]).unwrap();
    let out = run(&["restore", copy.to_str().unwrap()], &fresh);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("bare journal"), "{stdout}");
    assert!(stdout.contains("head: seq 5 "), "{stdout}");
    assert_eq!(std::fs::read(fresh.join("person.key")).unwrap(), [7u8; 32]);
    assert_eq!(head(&fresh.join(JOURNAL_FILE)), 5);
}

// --- retention ------------------------------------------------------------------

#[test]
fn retention_keeps_the_newest_sets_in_both_directories_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, first) = journal_and_set(dir.path());
    let sets_dir = first.parent().unwrap().to_owned();
    let offsite = dir.path().join("share");
    std::fs::create_dir_all(&offsite).unwrap();
    std::fs::write(sets_dir.join("notes.txt"), "not a set").unwrap();
    std::fs::create_dir(offsite.join("hallq-other-hall")).unwrap();
    for h in 1..=3 {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 10)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap();
        let (set, _) = backups::take_set(&data, &sets_dir, at).unwrap();
        backups::copy_set(&set, &offsite).unwrap();
    }
    // One more through the scheduled path (named by the clock: newest).
    let plan = BackupPlan {
        dir: sets_dir.clone(),
        offsite_dir: Some(offsite.clone()),
        schedule: Schedule::Every(Duration::from_secs(60)),
        keep: 2,
    };
    let outcome = backups::run_once(&plan, &data, "Asia/Shanghai".parse().unwrap()).unwrap();
    assert!(
        matches!(outcome.offsite, Some(Ok(_))),
        "{:?}",
        outcome.offsite
    );
    assert_eq!(outcome.seq, 5);
    let names = |d: &Path| -> Vec<String> {
        backups::list_sets(d)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
            .collect()
    };
    let newest = outcome
        .set
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        names(&sets_dir),
        ["hallq-20260310-030000-seq5".to_owned(), newest.clone()]
    );
    assert_eq!(
        names(&offsite),
        ["hallq-20260310-030000-seq5".to_owned(), newest]
    );
    // 3 here (20260309-21, 20260310-01, -02) and 2 off-site (-01, -02).
    assert_eq!(outcome.pruned.len(), 5, "{:?}", outcome.pruned);
    assert!(sets_dir.join("notes.txt").exists());
    assert!(offsite.join("hallq-other-hall").exists());
}

#[test]
fn an_offsite_failure_keeps_the_local_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, first) = journal_and_set(dir.path());
    // A file where the share should be: every copy there fails.
    let offsite = dir.path().join("share");
    std::fs::write(&offsite, "not a directory").unwrap();
    let plan = BackupPlan {
        dir: first.parent().unwrap().to_owned(),
        offsite_dir: Some(offsite),
        schedule: Schedule::Every(Duration::from_secs(60)),
        keep: 14,
    };
    let outcome = backups::run_once(&plan, &data, "Asia/Shanghai".parse().unwrap()).unwrap();
    assert!(
        matches!(outcome.offsite, Some(Err(_))),
        "{:?}",
        outcome.offsite
    );
    assert!(outcome.set.join(JOURNAL_FILE).is_file());
    assert!(
        hallq::journal::verify(&outcome.set.join(JOURNAL_FILE))
            .unwrap()
            .is_clean()
    );
}

// --- configuration ------------------------------------------------------------

fn config_errors(backup: &str) -> String {
    match Config::from_toml_str("hall.toml", &format!("{DEMO_HALL_TOML}\n{backup}")) {
        Ok(_) => panic!("accepted:\n{backup}"),
        Err(e) => e.to_string(),
    }
}

/// `hall.toml:N:` for the line `[backup]` is on, plus `offset`.
fn at_line(offset: usize) -> String {
    let text = format!("{DEMO_HALL_TOML}\n[backup]");
    format!("hall.toml:{}:", text.lines().count() + offset)
}

#[test]
fn backup_configuration_errors_name_the_field_and_line() {
    let e = config_errors("[backup]\ndir = \"b\"\nat = [\"12:30\"]\nevery_minutes = 5\n");
    assert!(
        e.contains("backup.every_minutes") && e.contains("not both"),
        "{e}"
    );
    assert!(e.contains(&at_line(3)), "line of every_minutes: {e}");

    let e = config_errors("[backup]\ndir = \"b\"\n");
    assert!(e.contains("say when to back up"), "{e}");

    let e = config_errors("[backup]\ndir = \"b\"\nevery_minutes = 60\nkeep = 0\n");
    assert!(e.contains("backup.keep") && e.contains("1–1000"), "{e}");
    assert!(e.contains(&at_line(3)), "line of keep: {e}");

    let e = config_errors("[backup]\ndir = \"b\"\nevery_minutes = 0.01\n");
    assert!(
        e.contains("backup.every_minutes") && e.contains("out of range"),
        "{e}"
    );

    let e = config_errors("[backup]\ndir = \"b\"\nat = [\"12:30\", \"25:00\"]\n");
    assert!(e.contains("25:00") && e.contains("HH:MM"), "{e}");

    let e = config_errors("[backup]\ndir = \"b\"\nat = [\"12:30\", \"12:30\"]\n");
    assert!(e.contains("listed twice"), "{e}");

    let e = config_errors("[backup]\ndir = \"b\"\nevery_minutes = 60\nretain = 3\n");
    assert!(e.contains("retain"), "unknown key: {e}");
    assert!(e.contains(&at_line(3)), "line of the unknown key: {e}");

    let ok = Config::from_toml_str(
        "hall.toml",
        &format!("{DEMO_HALL_TOML}\n[backup]\ndir = \"/var/backups/hallq\"\nat = [\"12:30\", \"21:00\"]\n"),
    )
    .expect("a valid [backup]");
    let b = ok.file.backup.expect("[backup]");
    assert_eq!(b.keep, 14, "default retention");
    assert_eq!(
        BackupPlan::new(&b, Path::new("/data")).dir,
        PathBuf::from("/var/backups/hallq")
    );
}

/// A scrape of `GET /metrics` as text.
fn scrape(addr: SocketAddr, key: &str) -> String {
    let (status, body) = call(addr, "GET", "/metrics", key, None);
    assert_eq!(status, 200, "{body}");
    body.as_str().expect("text exposition").to_owned()
}

/// The value of one sample line (`name{labels} value`), if present.
fn sample(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn a_failing_backup_is_counted_in_metrics_and_so_is_its_recovery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    // The backup directory's place is taken by a file: every set fails.
    let blocked = data.join("backups");
    std::fs::write(&blocked, b"not a directory").expect("block");
    let metrics_key = "metrics-key-for-the-backup-test";
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(metrics_key));
    let config = write_config(
        dir.path(),
        &format!(
            "[backup]\ndir = \"backups\"\nevery_minutes = 0.05\nkeep = 2\n\n\
             [[api_key]]\nid = \"prometheus\"\nrole = \"metrics\"\nsha256 = \"{sha}\"\n"
        ),
    );
    let d = serve(&config, &data);
    let wait_for = |what: &str, done: &dyn Fn(&str) -> bool| -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = scrape(d.addr, metrics_key);
            if done(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "{what}; last scrape:\n{text}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let failed = wait_for("no failed backup counted", &|t| {
        sample(t, "hallq_backup_runs_total{result=\"failed\"}").unwrap_or(0.0) >= 1.0
    });
    assert_eq!(
        sample(&failed, "hallq_backup_runs_total{result=\"ok\"}"),
        Some(0.0)
    );
    assert!(
        !failed.contains("hallq_backup_last_success_timestamp_seconds"),
        "no success before any set was taken"
    );

    // The operator clears the way: the next set is taken and shown.
    std::fs::remove_file(&blocked).expect("unblock");
    let ok = wait_for("no backup taken after the fix", &|t| {
        sample(t, "hallq_backup_runs_total{result=\"ok\"}").unwrap_or(0.0) >= 1.0
    });
    let taken_at =
        sample(&ok, "hallq_backup_last_success_timestamp_seconds").expect("last success timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - taken_at).abs() < 120.0, "{taken_at} vs now {now}");
    let seq = sample(&ok, "hallq_backup_last_seq").expect("last seq") as u64;
    let sets = backups::list_sets(&blocked).expect("sets");
    assert!(
        sets.iter().any(|s| set_seq(s) == seq),
        "the reported head {seq} is a set's: {sets:?}"
    );
}

#[test]
fn a_backup_set_taken_by_hand_lists_restores_and_heads_like_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, _) = journal_and_set(dir.path());
    let by_hand = dir.path().join("by-hand");
    let out = hallq()
        .args(["backup", "--set", by_hand.to_str().unwrap(), "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let taken_head = head_line(&text(&out.stdout));
    let verify = run(&["verify"], &data);
    assert_eq!(head_line(&text(&verify.stdout)), taken_head);
    let sets = backups::list_sets(&by_hand).expect("sets");
    assert_eq!(sets.len(), 1, "{sets:?}");
    assert_eq!(set_seq(&sets[0]), 5);
    #[cfg(unix)]
    assert_eq!(mode(&sets[0]), 0o700);

    let fresh = dir.path().join("fresh");
    let out = run(&["restore", sets[0].to_str().unwrap()], &fresh);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(head_line(&text(&out.stdout)), taken_head);

    // Without a journal there is nothing to take, and nothing is written.
    let empty = dir.path().join("empty");
    let nowhere = dir.path().join("nowhere");
    let out = run(&["backup", "--set", nowhere.to_str().unwrap()], &empty);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no journal"),
        "{}",
        text(&out.stderr)
    );
    assert!(!nowhere.exists());
}

#[test]
fn a_set_left_half_written_by_a_power_cut_is_removed_by_the_next_backup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, _) = journal_and_set(dir.path());
    let backups_dir = dir.path().join("backups");
    // A writer that died (no such pid) and one still at work (pid 1 lives).
    let dead = backups_dir.join(".hallq-partial-4194305");
    let live = backups_dir.join(".hallq-partial-1");
    for p in [&dead, &live] {
        std::fs::create_dir_all(p).unwrap();
        std::fs::write(p.join("person.key"), [9u8; 32]).unwrap();
    }
    let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 10)
        .unwrap()
        .and_hms_opt(21, 0, 0)
        .unwrap();
    backups::take_set(&data, &backups_dir, at).expect("take set");
    assert!(!dead.exists(), "the dead writer's partial set is gone");
    assert!(live.exists(), "a live writer's partial set is left alone");
    assert_eq!(backups::list_sets(&backups_dir).unwrap().len(), 2);
}
