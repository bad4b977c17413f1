//! Alerts of the real daemon on the demo hall (with a 3-second break limit
//! and one bus on a port that cannot open): a long pause is raised on the
//! event stream as `event: alert`, turns from warn to alarm, is raised again
//! at once after a restart (with the moment it began), and is cleared when
//! the window resumes; the dead bus's device is raised as offline. Kiosks
//! and screens get no alerts on their stream.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const PASSWORD: &str = "Alerts-Test-Pass-9";
const NEW_PASSWORD: &str = "Alerts-Test-Pass-10";
/// The bus pointed at a port that does not exist.
const DEAD_BUS: &str = "voice-f1-police";
const WAIT: Duration = Duration::from_secs(20);

struct Daemon {
    addr: std::net::SocketAddr,
    process: daemon::Daemon,
}

async fn serve(config: &std::path::Path, data: &std::path::Path) -> Daemon {
    let mut cmd = daemon::serve_cmd(data);
    cmd.args(["--quiet-sim", "--bus"])
        .arg(format!("{DEAD_BUS}=/nonexistent/hallq-alerts-test-tty"))
        .arg("--config")
        .arg(config);
    let process = start_daemon(cmd, daemon::Log::Null, Duration::from_secs(30)).await;
    Daemon {
        addr: process.addr,
        process,
    }
}

impl Daemon {
    async fn send(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Resp {
        let mut req = Req::new(method, path).auth(Some(token));
        if let Some(b) = body {
            req = req.json(&b);
        }
        send(self.addr, req).await
    }

    async fn stream(&self, token: &str) -> SseStream {
        let st = SseStream::open(self.addr, "", Some(token), None).await;
        assert_eq!(st.status, 200, "{}", String::from_utf8_lossy(&st.body));
        st
    }
}

/// The next `event: alert` whose data matches `want`, within `wait`.
async fn alert(st: &mut SseStream, wait: Duration, want: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + wait;
    let mut others = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match st.next(left).await {
            Some(Sse::Event {
                id, event, data, ..
            }) if event.as_deref() == Some("alert") => {
                assert_eq!(id, None, "alerts are not journal events");
                let v: Value = serde_json::from_str(&data).expect("JSON");
                if want(&v) {
                    return v;
                }
                others.push(v);
            }
            Some(_) => {}
            None => panic!("no matching alert within {wait:?}; others: {others:?}"),
        }
    }
}

fn is(v: &Value, state: &str, key: &str) -> bool {
    v["state"] == state && v["alert"]["key"] == key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_pause_and_an_offline_device_are_raised_and_cleared_on_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hall.toml");
    // The demo hall, with breaks allowed 3 s (fractions of minutes are allowed).
    std::fs::write(
        &config,
        format!(
            "{}\n[alerts]\npause_minutes = {{ break = 0.05 }}\n",
            hallq::config::DEMO_HALL_TOML
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    // Not the embedded demo: its accounts have no password until one is set.
    daemon::passwd(&config, &data, "manager", PASSWORD);

    let d = serve(&config, &data).await;
    let r = d
        .send(
            "POST",
            "/api/v1/sessions",
            "",
            Some(json!({"account": "manager", "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let token = r.json()["token"].as_str().unwrap().to_string();
    let r = d
        .send(
            "POST",
            "/api/v1/sessions/password",
            &token,
            Some(json!({"old_password": PASSWORD, "new_password": NEW_PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());

    let mut st = d.stream(&token).await;
    let screen = d.stream(DISPLAY).await;

    // The voice chip on the bus whose port cannot open.
    let offline = alert(&mut st, WAIT, |v| {
        is(v, "raised", &format!("device_offline:{DEAD_BUS}"))
    })
    .await;
    assert_eq!(offline["alert"]["kind"], "device_offline");
    assert_eq!(offline["alert"]["level"], "alarm");
    assert_eq!(offline["alert"]["device"], DEAD_BUS);
    assert!(
        offline["alert"]["message"]
            .as_str()
            .unwrap()
            .contains("离线"),
        "{offline}"
    );

    // A break at window 1, over its 3 s: warn, then (over 6 s) alarm.
    let r = d
        .send("POST", "/api/v1/windows/1/sign-in", &token, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = d
        .send(
            "POST",
            "/api/v1/windows/1/pause",
            &token,
            Some(json!({"reason": "break"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let warn = alert(&mut st, WAIT, |v| is(v, "raised", "long_pause:1")).await;
    assert_eq!(warn["alert"]["kind"], "long_pause");
    assert_eq!(warn["alert"]["level"], "warn");
    assert_eq!(warn["alert"]["window"], 1);
    assert_eq!(warn["alert"]["message"], "1号窗口因休息暂停已超过0.05分钟");
    let since_ms = warn["alert"]["since_ms"].as_i64().expect("since_ms");
    assert!(
        warn["alert"]["since"].as_str().unwrap().ends_with("+08:00"),
        "{warn}"
    );
    let alarm = alert(&mut st, WAIT, |v| is(v, "raised", "long_pause:1")).await;
    assert_eq!(alarm["alert"]["level"], "alarm", "{alarm}");
    assert_eq!(alarm["alert"]["since_ms"], since_ms, "the same condition");

    // The current set and the counts.
    let r = d.send("GET", "/api/v1/alerts", &token, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let current = r.json();
    let keys: Vec<&str> = current["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"long_pause:1"), "{keys:?}");
    assert!(
        keys.contains(&format!("device_offline:{DEAD_BUS}").as_str()),
        "{keys:?}"
    );
    let count = |kind: &str| {
        current["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no count of {kind}: {current}"))
    };
    assert_eq!(count("long_pause")["active"], 1);
    assert_eq!(
        count("long_pause")["raised_total"],
        1,
        "a level change is not a new alert"
    );
    assert!(count("device_offline")["active"].as_u64().unwrap() >= 1);
    // The hall view carries the monitor's set.
    let hall = d.send("GET", "/api/v1/hall", &token, None).await.json();
    assert!(
        hall["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["key"] == "long_pause:1" && a["since_ms"] == since_ms),
        "{}",
        hall["alerts"]
    );

    // A restart raises what still holds at once, with when it began.
    d.process.kill();
    drop(st);
    drop(screen);
    let d = serve(&config, &data).await;
    let mut st = d.stream(&token).await;
    let again = alert(&mut st, Duration::from_secs(5), |v| {
        is(v, "raised", "long_pause:1")
    })
    .await;
    assert_eq!(again["alert"]["since_ms"], since_ms, "{again}");
    assert_eq!(again["alert"]["level"], "alarm");
    let mut screen = d.stream(DISPLAY).await;

    // Resuming clears it.
    let r = d
        .send("POST", "/api/v1/windows/1/resume", &token, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cleared = alert(&mut st, WAIT, |v| is(v, "cleared", "long_pause:1")).await;
    assert_eq!(cleared["alert"]["kind"], "long_pause");
    let r = d.send("GET", "/api/v1/alerts", &token, None).await;
    assert!(
        !r.text().contains("long_pause:1"),
        "still listed: {}",
        r.text()
    );

    // The screen's stream saw the pause and the resume, but no alert.
    let mut kinds = Vec::new();
    while let Some(m) = screen.next(Duration::from_millis(300)).await {
        if let Sse::Event { event, .. } = m {
            kinds.push(event.unwrap_or_default());
        }
    }
    assert!(kinds.iter().any(|k| k == "window_resumed"), "{kinds:?}");
    assert!(!kinds.iter().any(|k| k == "alert"), "{kinds:?}");
}
