//! Configuration reload (`src/daemon/reload.rs`), with the real binary and a
//! configuration file in a temporary directory:
//!
//! - SIGHUP with a renamed service, a changed target and an added window:
//!   the API shows them, the journal has `config_applied` with the changes,
//!   `hallq verify` passes, a restart gives the same hall (and records
//!   nothing new); the same file again is `unchanged`.
//! - Refused, with nothing changed (journal head, API) and the daemon still
//!   running: an invalid file (line and field named), a restart-only change
//!   (each field named), a service removed while tickets wait for it, a
//!   window removed while staff is signed in there.
//! - `POST /api/v1/config/reload`: an admin applies, a manager gets 403, the
//!   demo hall refuses; tickets issued during a reload are all kept.
//! - The device hub follows a reload (in-process, simulated devices): a
//!   window moved to another zone has its calls on that zone's board.

mod common;

use std::path::{Path, PathBuf};

use common::daemon::{DAEMON_WAIT, Daemon, Log, passwd, serve_cmd, verify};
use common::{DISPLAY, KIOSK, Req, Resp, send};
use hallq::daemon::JOURNAL_FILE;
use hallq::journal::JournalReader;
use serde_json::{Value, json};

const FIRST: &str = "first-Reload-pw-2468";
const PASSWORD: &str = "reload-Test-pw-1357";

/// A small hall open around the clock: services `a` and `b`, windows 1 and 2,
/// an admin, a manager, staff w01, the demo kiosk and display keys.
const HALL: &str = r#"
[hall]
name = "重载测试大厅"
timezone = "Asia/Shanghai"

[[zone]]
id = "z1"
name = "一楼大厅"
floor = 1

[[department]]
id = "d1"
name = "测试局"

[[service]]
id = "a"
name = "综合受理"
department = "d1"
prefix = "A"
matter_class = "immediate"
expected_minutes = 5
target_wait_minutes = 30

[[service]]
id = "b"
name = "税务"
department = "d1"
prefix = "B"
matter_class = "immediate"
expected_minutes = 5

[[window]]
number = 1
name = "1号窗"
kind = "comprehensive"
zone = "z1"
services = [{ service = "a" }, { service = "b" }]

[[window]]
number = 2
name = "2号窗"
kind = "comprehensive"
zone = "z1"
services = [{ service = "a" }, { service = "b" }]

#WINDOW3

[[staff]]
account = "admin"
job_number = "T000"
name = "管理员"
roles = ["admin"]

[[staff]]
account = "manager"
job_number = "T001"
name = "值班主任"
roles = ["manager"]

[[staff]]
account = "w01"
job_number = "T002"
name = "李娜"

[[api_key]]
id = "demo-kiosk"
role = "kiosk"
sha256 = "49d6cc27f1e3b72fb829ac8ec864fc2045e8684b5bfb2b46b0a922330c84d6ea"

[[api_key]]
id = "demo-display"
role = "display"
sha256 = "6cc97a80c30d86eb42c2a012c44ef05cbf494dfbee0c6f18b471ecd83fc041f2"

[server]
issues_per_minute = 100000

[calendar]
issue_cutoff_minutes = 0
extended_service = true

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
from = "00:00"
to = "24:00"
"#;

const WINDOW3: &str = r#"
[[window]]
number = 3
name = "3号窗"
kind = "comprehensive"
zone = "z1"
services = [{ service = "a" }]
"#;

/// The live changes of the test: service `a` renamed and its target
/// lowered, window 3 added, the phones' public address set.
fn changed() -> String {
    HALL.replace("name = \"综合受理\"", "name = \"综合窗口受理\"")
        .replace(
            "issues_per_minute = 100000",
            "issues_per_minute = 100000\npublic_url = \"https://reload.example.gov.cn\"",
        )
        .replace("target_wait_minutes = 30", "target_wait_minutes = 20")
        .replace("#WINDOW3", WINDOW3)
}

/// Service `b` removed (from the windows too).
fn without_b() -> String {
    let start = HALL.find("[[service]]\nid = \"b\"").expect("service b");
    let end = start + HALL[start..].find("[[window]]").expect("window");
    let mut s = HALL.to_string();
    s.replace_range(start..end, "");
    s.replace(", { service = \"b\" }", "")
}

/// Window 2 removed.
fn without_window_2() -> String {
    let start = HALL.find("[[window]]\nnumber = 2").expect("window 2");
    let end = start + HALL[start..].find("#WINDOW3").expect("marker");
    let mut s = HALL.to_string();
    s.replace_range(start..end, "");
    s
}

struct Hall {
    _dir: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
}

impl Hall {
    fn new() -> Hall {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("hall.toml");
        let data = dir.path().join("data");
        std::fs::write(&config, HALL).expect("write config");
        for account in ["admin", "manager", "w01"] {
            passwd(&config, &data, account, FIRST);
        }
        Hall {
            _dir: dir,
            config,
            data,
        }
    }

    fn write(&self, text: &str) {
        std::fs::write(&self.config, text).expect("write config");
    }

    fn serve(&self) -> Daemon {
        serve(Some(&self.config), &self.data)
    }

    fn journal(&self) -> PathBuf {
        self.data.join(JOURNAL_FILE)
    }
}

/// `hallq serve --quiet-sim [--config FILE]` at `RUST_LOG=info`, its log
/// kept (the tests read it).
fn serve(config: Option<&Path>, data: &Path) -> Daemon {
    let mut cmd = serve_cmd(data);
    cmd.arg("--quiet-sim").env("RUST_LOG", "info");
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    Daemon::start(cmd, Log::Keep, DAEMON_WAIT)
}

fn head(journal: &Path) -> u64 {
    JournalReader::open(journal)
        .expect("open journal")
        .last_seq()
        .expect("head")
}

/// (seq, payload) of every `config_applied` row.
fn config_rows(journal: &Path) -> Vec<(u64, Value)> {
    let mut rows = Vec::new();
    JournalReader::open(journal)
        .expect("open journal")
        .for_each_from(0, |rec| -> anyhow::Result<()> {
            if rec.kind == "config_applied" {
                rows.push((rec.seq, serde_json::from_str(&rec.payload)?));
            }
            Ok(())
        })
        .expect("read journal");
    rows
}

async fn call(addr: std::net::SocketAddr, method: &str, path: &str, token: &str) -> Resp {
    send(addr, Req::new(method, path).auth(Some(token))).await
}

async fn ok(addr: std::net::SocketAddr, method: &str, path: &str, token: &str) -> Value {
    let r = call(addr, method, path, token).await;
    assert!(
        (200..300).contains(&r.status),
        "{method} {path}: {}",
        r.text()
    );
    r.json()
}

/// Signs in; the first time, changes the password set by `hallq passwd`.
async fn sign_in(addr: std::net::SocketAddr, account: &str, first: bool) -> String {
    let password = if first { FIRST } else { PASSWORD };
    let r = send(
        addr,
        Req::new("POST", "/api/v1/sessions")
            .json(&json!({"account": account, "password": password})),
    )
    .await;
    assert_eq!(r.status, 201, "sign in {account}: {}", r.text());
    let token = r.json()["token"].as_str().expect("token").to_string();
    if first {
        let r = send(
            addr,
            Req::new("POST", "/api/v1/sessions/password")
                .auth(Some(&token))
                .json(&json!({"old_password": FIRST, "new_password": PASSWORD})),
        )
        .await;
        assert!(r.status < 300, "change password: {}", r.text());
    }
    token
}

async fn issue(addr: std::net::SocketAddr, service: &str) -> String {
    let r = send(
        addr,
        Req::new("POST", "/api/v1/tickets")
            .auth(Some(KIOSK))
            .json(&json!({"service": service})),
    )
    .await;
    assert_eq!(r.status, 201, "issue {service}: {}", r.text());
    r.json()["ticket"]["number"]
        .as_str()
        .expect("number")
        .to_string()
}

/// What a person sees of the hall: services (name, target, waiting),
/// windows (name, state, staff), today's tickets (number, status, window).
async fn fingerprint(addr: std::net::SocketAddr, manager: &str) -> Value {
    let services = ok(addr, "GET", "/api/v1/services", KIOSK).await;
    let services: Vec<Value> = services["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| json!([s["id"], s["name"], s["target_wait_minutes"], s["waiting"]]))
        .collect();
    let windows = ok(addr, "GET", "/api/v1/windows", DISPLAY).await;
    let windows: Vec<Value> = windows["windows"]
        .as_array()
        .expect("windows")
        .iter()
        .map(|w| json!([w["number"], w["name"], w["state"], w["staff"]]))
        .collect();
    let day = ok(addr, "GET", "/healthz", KIOSK).await["business_day"].clone();
    let day = day.as_str().expect("a business day");
    let tickets = ok(addr, "GET", &format!("/api/v1/tickets?day={day}"), manager).await;
    let tickets: Vec<Value> = tickets["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .map(|t| {
            json!([
                t["number"],
                t["service"],
                t["events"].as_array().map(Vec::len)
            ])
        })
        .collect();
    json!({"services": services, "windows": windows, "tickets": tickets})
}

/// Sends SIGHUP and waits for the `n`th reload since start to finish;
/// returns its result line.
fn hup(d: &Daemon, n: usize) -> String {
    d.signal("HUP");
    let lines = d.wait_logged("configuration reload finished", n);
    lines[n - 1].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_live_changes_and_refuses_everything_else_whole() {
    let hall = Hall::new();
    let mut d = hall.serve();
    let addr = d.addr;
    let manager = sign_in(addr, "manager", true).await;
    let w01 = sign_in(addr, "w01", true).await;
    // Live state: tickets waiting for a and b, w01 signed in at window 2.
    for service in ["a", "b", "b", "b"] {
        issue(addr, service).await;
    }
    ok(addr, "POST", "/api/v1/windows/2/sign-in", &w01).await;
    let before = fingerprint(addr, &manager).await;
    let journal = hall.journal();
    let seq0 = head(&journal);

    // Each refused reload: nothing recorded, nothing changed, still running.
    // Window 2's zone made unknown: the error names its line and field.
    let tail = "services = [{ service = \"a\" }, { service = \"b\" }]\n\n#WINDOW3";
    let invalid = HALL.replace(
        &format!("zone = \"z1\"\n{tail}"),
        &format!("zone = \"nowhere\"\n{tail}"),
    );
    let line = invalid
        .lines()
        .position(|l| l == "zone = \"nowhere\"")
        .expect("the bad line")
        + 1;
    let at_line = format!("hall.toml:{line}: window[1].zone");
    let refusals: [(&str, String, Vec<&str>); 4] = [
        ("an invalid file", invalid.clone(), vec![at_line.as_str()]),
        (
            "restart-only changes",
            changed()
                .replace("Asia/Shanghai", "Asia/Urumqi")
                .replace("name = \"李娜\"", "name = \"李娜娜\""),
            vec![
                "hall timezone: \"Asia/Shanghai\" → \"Asia/Urumqi\" — needs a restart",
                "staff \"w01\" name changed — needs a restart",
            ],
        ),
        (
            "a service removed while tickets wait for it",
            without_b(),
            vec!["service \"b\" (税务) is removed while 3 live ticket(s) need it: B001 waiting"],
        ),
        (
            "a window removed while staff is signed in there",
            without_window_2(),
            vec!["window 2 is removed while w01 is signed in there"],
        ),
    ];
    for (i, (what, text, words)) in refusals.iter().enumerate() {
        hall.write(text);
        let result = hup(&d, i + 1);
        assert!(result.contains("refused"), "{what}: {result}");
        let refused = d.logged("configuration reload refused: reason");
        for w in words {
            assert!(
                refused.iter().any(|l| l.contains(w)),
                "{what}: no reason with {w:?} in:\n{}",
                refused.join("\n")
            );
        }
        assert_eq!(head(&journal), seq0, "{what}: the journal took a row");
        assert!(d.running(), "{what}: the daemon stopped");
        assert_eq!(
            fingerprint(addr, &manager).await,
            before,
            "{what}: the hall changed"
        );
    }
    // Live changes: applied as one row with the changes in words.
    hall.write(&changed());
    let applied = hup(&d, 5);
    assert!(applied.contains("applied"), "{applied}");
    let after = fingerprint(addr, &manager).await;
    let services = after["services"].to_string();
    assert!(
        services.contains("[\"a\",\"综合窗口受理\",20,1]"),
        "{services}"
    );
    let windows = after["windows"].as_array().expect("windows");
    assert!(
        windows.iter().any(|w| w[0] == 3 && w[1] == "3号窗"),
        "{after}"
    );
    assert_eq!(after["tickets"], before["tickets"], "tickets kept");
    let rows = config_rows(&journal);
    let (seq, last) = rows.last().expect("a config_applied row");
    assert_eq!(*seq, seq0 + 1, "one row, right after the head");
    let changes: Vec<&str> = last["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        changes.contains(&"service \"a\" name: \"综合受理\" → \"综合窗口受理\""),
        "{changes:?}"
    );
    assert!(
        changes.contains(&"service \"a\" target_wait_minutes: 30 → 20"),
        "{changes:?}"
    );
    assert!(changes.contains(&"window 3 (3号窗) added"), "{changes:?}");
    assert!(
        changes.contains(&"server public_url: (none) → \"https://reload.example.gov.cn\""),
        "{changes:?}"
    );
    // The handlers' configuration too: the printed ticket's QR code links
    // to the new public address.
    let r = send(
        addr,
        Req::new("POST", "/api/v1/tickets")
            .auth(Some(KIOSK))
            .json(&json!({"service": "a"})),
    )
    .await;
    let id = r.json()["ticket"]["id"].as_u64().expect("id");
    let printed = call(addr, "GET", &format!("/api/v1/tickets/{id}/escpos"), KIOSK).await;
    assert_eq!(printed.status, 200);
    assert!(
        printed.text().contains("https://reload.example.gov.cn/t/"),
        "the QR link of the printed ticket"
    );

    // The same file again: unchanged, nothing recorded.
    let head_applied = head(&journal);
    let again = hup(&d, 6);
    assert!(again.contains("unchanged"), "{again}");
    assert_eq!(head(&journal), head_applied);

    // A restart gives the same hall and records nothing new.
    let live = fingerprint(addr, &manager).await;
    d.stop();
    let verify = verify(&hall.data);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let (stopped, recorded) = (head(&journal), config_rows(&journal));
    let d = hall.serve();
    assert_eq!(head(&journal), stopped, "the restart recorded nothing");
    assert_eq!(config_rows(&journal), recorded);
    let manager = sign_in(d.addr, "manager", false).await;
    assert_eq!(
        fingerprint(d.addr, &manager).await,
        live,
        "a restart gives the reloaded hall"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reloads_for_admins_only_and_keeps_tickets_issued_meanwhile() {
    let hall = Hall::new();
    let d = hall.serve();
    let addr = d.addr;
    let admin = sign_in(addr, "admin", true).await;
    let manager = sign_in(addr, "manager", true).await;

    hall.write(&changed());
    let r = call(addr, "POST", "/api/v1/config/reload", &manager).await;
    r.assert_error(403, "forbidden");
    let r = call(addr, "POST", "/api/v1/config/reload", KIOSK).await;
    r.assert_error(403, "forbidden");
    assert!(
        config_rows(&hall.journal())
            .iter()
            .all(|(_, p)| p.get("changes").is_none())
    );

    // An invalid file through the API: 409 with the line and the field.
    hall.write(&HALL.replace("prefix = \"B\"", "prefix = \"B\"\nprefix_typo = 1"));
    let r = call(addr, "POST", "/api/v1/config/reload", &admin).await;
    r.assert_error(409, "config_reload_refused");
    let message = r.json()["error"]["message_en"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let line = HALL
        .lines()
        .position(|l| l == "prefix = \"B\"")
        .expect("line")
        + 2;
    assert!(message.contains(&format!("hall.toml:{line}:")), "{message}");
    assert!(message.contains("prefix_typo"), "{message}");

    // Tickets issued while reloads run: every one is kept.
    hall.write(&changed());
    let issuing = tokio::spawn(async move {
        let mut numbers = Vec::new();
        for i in 0..60 {
            numbers.push(issue(addr, if i % 2 == 0 { "a" } else { "b" }).await);
        }
        numbers
    });
    let r = call(addr, "POST", "/api/v1/config/reload", &admin).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["result"], "applied", "{v}");
    assert!(v["changes"].as_array().is_some_and(|c| c.len() == 4), "{v}");
    // Back and forth while tickets keep coming.
    hall.write(HALL);
    let r = call(addr, "POST", "/api/v1/config/reload", &admin).await;
    assert_eq!(r.json()["result"], "applied", "{}", r.text());
    hall.write(&changed());
    let r = call(addr, "POST", "/api/v1/config/reload", &admin).await;
    assert_eq!(r.json()["result"], "applied", "{}", r.text());
    let numbers = issuing.await.expect("issuing");
    let r = call(addr, "POST", "/api/v1/config/reload", &admin).await;
    assert_eq!(r.json()["result"], "unchanged", "{}", r.text());

    let day = ok(addr, "GET", "/healthz", KIOSK).await["business_day"].clone();
    let tickets = ok(
        addr,
        "GET",
        &format!("/api/v1/tickets?day={}", day.as_str().unwrap()),
        &manager,
    )
    .await;
    let listed = tickets.to_string();
    for n in &numbers {
        assert!(
            listed.contains(&format!("\"{n}\"")),
            "ticket {n} lost: {listed}"
        );
    }
    let services = ok(addr, "GET", "/api/v1/services", KIOSK).await;
    let waiting: u64 = services["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| s["waiting"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(waiting, numbers.len() as u64, "every ticket still waits");
    assert_eq!(
        config_rows(&hall.journal()).len(),
        4,
        "start + three reloads"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_hall_refuses_a_reload_and_keeps_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = serve(None, dir.path());
    let r = send(
        d.addr,
        Req::new("POST", "/api/v1/sessions").json(&json!({"account": "admin", "password": "demo"})),
    )
    .await;
    let admin = r.json()["token"].as_str().expect("token").to_string();
    let journal = dir.path().join(JOURNAL_FILE);
    let seq = head(&journal);
    let r = call(d.addr, "POST", "/api/v1/config/reload", &admin).await;
    r.assert_error(409, "config_reload_refused");
    assert!(r.text().contains("embedded demo hall"), "{}", r.text());
    d.signal("HUP");
    let refused = d.wait_logged("configuration reload refused: reason", 2);
    assert!(
        refused.iter().all(|l| l.contains("demo hall")),
        "{refused:?}"
    );
    assert!(d.running(), "SIGHUP must not stop the demo hall");
    assert_eq!(head(&journal), seq);
}

/// The board lines of a zone's text board in the simulator.
fn board(sim: &hallq::sim::devices::SimHall, zone: &str) -> Vec<String> {
    use hallq::sim::devices::{SimContent, SlaveContent};
    let label = format!("{zone} board");
    sim.devices()
        .into_iter()
        .find(|d| d.label.starts_with(&label))
        .and_then(|d| match d.content {
            SimContent::Modbus(SlaveContent::Board(b)) => Some(b.lines),
            _ => None,
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_hub_follows_a_reload() {
    use hallq::config::Config;
    use hallq::config::live::LiveConfig;
    use hallq::daemon::clock::{Clock, SystemClock};
    use hallq::queue::{Actor, Command, Event, IssueSource};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().expect("tempdir");
    let demo = Arc::new(Config::demo());
    let owner = hallq::daemon::start(demo.clone(), &dir.path().join(JOURNAL_FILE), SystemClock)
        .expect("owner");
    let handle = owner.handle.clone();
    let mut spec = hallq::sim::devices::SimSpec::from_config(&demo);
    spec.speech_ms_per_char = 2;
    let sim = hallq::sim::devices::SimHall::start(spec).expect("sim");
    let _devices = hallq::devices::bus::Devices::start(
        demo.clone(),
        handle.clone(),
        hallq::daemon::devices::opener(Some(sim.clone())),
        Arc::new(|| SystemClock.now_ms()),
    )
    .await
    .expect("devices");
    handle.tick();
    let wait = Duration::from_secs(30);
    let start = Instant::now();
    while !handle
        .query(|hall, _| hall.state().session.is_some())
        .await
        .expect("query")
    {
        assert!(start.elapsed() < wait, "the day opens");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Window 1 moves from the general zone to the police zone.
    let text = hallq::config::DEMO_HALL_TOML.replacen(
        "name_en = \"Comprehensive 1\"\nkind = \"comprehensive\"\ndepartment = \"hall-office\"\nzone = \"f1-general\"",
        "name_en = \"Comprehensive 1\"\nkind = \"comprehensive\"\ndepartment = \"hall-office\"\nzone = \"f1-police\"",
        1,
    );
    assert_ne!(text, hallq::config::DEMO_HALL_TOML, "window 1's zone line");
    let moved = Arc::new(Config::from_toml_str("moved.toml", &text).expect("valid"));
    let outcome = handle
        .reload(moved, None, LiveConfig::new(demo.clone()), "system", "test")
        .await
        .expect("owner");
    assert!(
        matches!(
            outcome,
            hallq::daemon::reload::ReloadOutcome::Applied { .. }
        ),
        "{outcome:?}"
    );

    let me = Actor::Staff("w01".into());
    handle
        .submit(me.clone(), "test", Command::SignIn { window: 1 })
        .await
        .expect("sign in");
    let applied = handle
        .submit(
            Actor::Kiosk("k".into()),
            "test",
            Command::Issue {
                service: "tax".into(),
                priority: None,
                person: None,
                source: IssueSource::Kiosk,
                cases: 1,
            },
        )
        .await
        .expect("issue");
    let Event::TicketIssued { number, .. } = &applied.events[0] else {
        panic!("{:?}", applied.events);
    };
    handle
        .submit(me, "test", Command::CallNext { window: 1 })
        .await
        .expect("call");
    let start = Instant::now();
    while !board(&sim, "f1-police")
        .iter()
        .any(|l| l.contains(number.as_str()))
    {
        assert!(
            start.elapsed() < wait,
            "the police zone's board shows window 1's call"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !board(&sim, "f1-general")
            .iter()
            .any(|l| l.contains(number.as_str())),
        "the general zone's board must not show it any more"
    );
}
