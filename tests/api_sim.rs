//! The simulator routes of the real binary serving the demo hall: every
//! simulated device listed, their changes streamed, and a key pressed on a
//! simulated keypad travelling the whole device path (simulated RS-485 →
//! hub → owner) to call a ticket; a rating on the evaluator likewise.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// `hallq serve` on the demo hall (its buses are simulated).
struct Daemon {
    addr: std::net::SocketAddr,
    hallq: Hallq,
}

async fn serve_demo() -> Daemon {
    let hallq = Hallq::serve_demo_within(&[], &[], Duration::from_secs(30)).await;
    Daemon {
        addr: hallq.addr,
        hallq,
    }
}

impl Daemon {
    async fn get(&self, path: &str, token: &str) -> Resp {
        send(self.addr, Req::new("GET", path).auth(Some(token))).await
    }

    async fn post(&self, path: &str, token: &str, body: Option<Value>) -> Resp {
        let mut req = Req::new("POST", path).auth(Some(token));
        if let Some(b) = body {
            req = req.json(&b);
        }
        send(self.addr, req).await
    }

    async fn token(&self, account: &str) -> String {
        self.hallq.token(account).await
    }

    /// Polls `GET path` until `done` holds, for up to `wait`.
    async fn until(
        &self,
        path: &str,
        token: &str,
        wait: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + wait;
        loop {
            let r = self.get(path, token).await;
            assert_eq!(r.status, 200, "{}", r.text());
            let v = r.json();
            if done(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting on {path}: {v}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The next `event: sim` message matching `want`, within `wait`.
async fn sim_event(st: &mut SseStream, wait: Duration, want: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen = 0;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match st.next(left).await {
            Some(Sse::Comment(_)) => {}
            Some(Sse::Event { event, data, .. }) => {
                if event.as_deref() != Some("sim") {
                    continue;
                }
                seen += 1;
                let v: Value = serde_json::from_str(&data).expect("JSON");
                if want(&v) {
                    return v;
                }
            }
            None => panic!("no matching sim event ({seen} others)"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_keypad_calls_and_an_evaluator_rates() {
    let d = serve_demo().await;

    // Every device of the demo hall, with its window or zone.
    let r = d.get("/api/v1/sim/devices", DISPLAY).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let devices = r.json()["devices"].as_array().unwrap().clone();
    assert_eq!(devices.len(), 101);
    let keypad = devices
        .iter()
        .find(|x| x["protocol"] == "modbus-keypad" && x["window"] == 1)
        .expect("window 1's keypad");
    assert!(keypad["label"].as_str().unwrap().starts_with("窗口1 "));
    assert!(keypad["unit"].as_u64().is_some());
    assert_eq!(keypad["content"]["kind"], "keypad");
    assert_eq!(keypad["fault"], "none");
    assert!(keypad["zone"].is_null());
    let voice = devices
        .iter()
        .find(|x| x["protocol"] == "syn6288" || x["protocol"] == "xfs5152")
        .expect("a voice chip");
    assert!(voice["zone"].is_string());
    assert!(voice["window"].is_null());
    assert!(voice["unit"].is_null());
    assert!(voice["spoken"].is_array());
    for x in &devices {
        for field in ["bus", "label", "profile", "protocol", "fault", "shows"] {
            assert!(x[field].is_string(), "{field} of {x}");
        }
        assert!(x["content"]["kind"].is_string(), "{x}");
    }

    let mgr = d.token("manager").await;
    let mut changes = SseStream::open_req(
        d.addr,
        Req::new("GET", "/api/v1/sim/events")
            .auth(Some(&mgr))
            .header("Accept", "text/event-stream"),
    )
    .await;
    assert_eq!(changes.status, 200);

    // w01 at window 1, a ticket waiting; the keypad's call-next key calls it.
    let w01 = d.token("w01").await;
    let r = d.post("/api/v1/windows/1/sign-in", &w01, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = d
        .post("/api/v1/tickets", KIOSK, Some(json!({"service": "tax"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let number = r.json()["ticket"]["number"].as_str().unwrap().to_string();
    let r = d
        .post(
            "/api/v1/sim/keypads/1",
            DISPLAY,
            Some(json!({"key": "call_next"})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let w = d
        .until("/api/v1/windows/1", &w01, Duration::from_secs(10), |w| {
            w["current"]["number"] == number.as_str()
        })
        .await;
    assert_eq!(w["current"]["status"], "called");
    // The window's indicator shows it, on the stream of changes.
    let shown = sim_event(&mut changes, Duration::from_secs(10), |v| {
        v["kind"] == "shows"
            && v["label"].as_str().is_some_and(|l| l.starts_with("窗口1 "))
            && v["text"].as_str().is_some_and(|t| t.contains(&number))
    })
    .await;
    assert!(shown["bus"].is_string());

    // Served and finished: the evaluator's lamp lights; a rating of 1 is
    // recorded for that ticket.
    let r = d.post("/api/v1/windows/1/start", &w01, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = d
        .post(
            "/api/v1/windows/1/finish",
            &w01,
            Some(json!({"outcome": "done"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    d.until(
        "/api/v1/sim/devices",
        DISPLAY,
        Duration::from_secs(10),
        |v| {
            v["devices"].as_array().unwrap().iter().any(|x| {
                x["protocol"] == "modbus-evaluator"
                    && x["window"] == 1
                    && x["content"]["prompt"] == true
            })
        },
    )
    .await;
    let r = d
        .post(
            "/api/v1/sim/evaluators/1",
            DISPLAY,
            Some(json!({"rating": 1})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let rows = d
        .until(
            "/api/v1/journal?after=0&limit=5000",
            &mgr,
            Duration::from_secs(10),
            |page| {
                page["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["kind"] == "service_rated")
            },
        )
        .await;
    let rated = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "service_rated")
        .unwrap()
        .clone();
    assert_eq!(rated["event"]["rating"], "very_satisfied", "{rated}");
    assert_eq!(rated["event"]["window"], 1, "{rated}");
    assert_eq!(rated["event"]["staff"], "w01", "{rated}");

    // Refusals name what is wrong.
    d.post(
        "/api/v1/sim/keypads/9999",
        DISPLAY,
        Some(json!({"key": "call_next"})),
    )
    .await
    .assert_error(404, "unknown_window");
    let r = d
        .post(
            "/api/v1/sim/keypads/1",
            DISPLAY,
            Some(json!({"key": "self_destruct"})),
        )
        .await;
    r.assert_error(422, "invalid_body");
    assert!(r.text().contains("key"), "{}", r.text());
    let r = d
        .post(
            "/api/v1/sim/evaluators/1",
            DISPLAY,
            Some(json!({"rating": 6})),
        )
        .await;
    r.assert_error(422, "bad_rating");
    assert!(
        r.json()["error"]["message_en"]
            .as_str()
            .unwrap()
            .starts_with("rating")
    );
    d.post(
        "/api/v1/sim/evaluators/1",
        KIOSK,
        Some(json!({"rating": 1})),
    )
    .await
    .assert_error(403, "forbidden");
    d.get("/api/v1/sim/devices", KIOSK)
        .await
        .assert_error(403, "forbidden");
    // A window without a keypad (if the demo hall has one).
    let with_keypad: Vec<u64> = devices
        .iter()
        .filter(|x| x["protocol"] == "modbus-keypad")
        .filter_map(|x| x["window"].as_u64())
        .collect();
    let hall = d.get("/api/v1/hall", DISPLAY).await.json();
    if let Some(n) = hall["windows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["number"].as_u64())
        .find(|n| !with_keypad.contains(n))
    {
        let r = d
            .post(
                &format!("/api/v1/sim/keypads/{n}"),
                DISPLAY,
                Some(json!({"key": "call_next"})),
            )
            .await;
        r.assert_error(404, "no_device");
        assert!(
            r.json()["error"]["message_en"]
                .as_str()
                .unwrap()
                .starts_with("window")
        );
    }
}
