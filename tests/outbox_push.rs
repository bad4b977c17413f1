//! The 好差评 push end to end: the real daemon (`hallq serve`, demo hall
//! with its simulated evaluators, plus `[evaluation_push]`) pushes every
//! rating to a receiver in this test that fails half the time — every odd
//! request gets a 503, one connection is closed without an answer — and the
//! daemon is SIGKILLed while the receiver holds an accepted request open
//! (the 2xx-before-mark window). After a restart:
//! - every rating arrived (the receiver accepted every rated journal seq);
//! - no acknowledged entry was sent again, except the one caught in the
//!   crash window, which came back once with the same Idempotency-Key;
//! - a failed attempt is retried with the same entry, oldest first;
//! - a *not rated* visit is never pushed;
//! - the outbox ends empty, and what was pushed is exactly what the
//!   evaluations export (computed from the journal) lists.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{DISPLAY, KIOSK, Req, Resp, daemon, send, start_daemon};
use hallq::journal::JournalReader;
use hallq::journal::outbox::OutboxReader;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "push-token-7f3a";
const HALL_CODE: &str = "test-hall";
const PASSWORD: &str = "Outbox-Test-Pass-42";

// ---------------------------------------------------------------------------
// The receiver.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// 200: accepted.
    Accepted,
    /// 503.
    Unavailable,
    /// The connection closed without an answer.
    Closed,
    /// Accepted (recorded), but the answer never comes: the sender dies first.
    Held,
}

/// What the receiver does with its n-th request (1-based).
fn plan(n: usize) -> Answer {
    match n {
        3 => Answer::Closed,
        6 => Answer::Held,
        n if n % 2 == 1 => Answer::Unavailable,
        _ => Answer::Accepted,
    }
}

#[derive(Debug, Clone)]
struct Seen {
    n: usize,
    id: u64,
    key: String,
    authorization: String,
    content_type: String,
    body: Value,
    answer: Answer,
}

#[derive(Default)]
struct Log {
    seen: Vec<Seen>,
    /// Connections of held requests, kept open.
    held: Vec<TcpStream>,
    /// Requests the receiver could not parse.
    garbage: Vec<String>,
}

type Shared = Arc<Mutex<Log>>;

async fn receiver() -> (std::net::SocketAddr, Shared) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log: Shared = Arc::default();
    let shared = log.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = shared.clone();
            tokio::spawn(async move { serve_one(stream, log).await });
        }
    });
    (addr, log)
}

async fn serve_one(stream: TcpStream, log: Shared) {
    let mut reader = tokio::io::BufReader::new(stream);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line == "\r\n" {
            break;
        }
        head.push(line.trim_end().to_string());
    }
    let header = |name: &str| {
        head.iter()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let len: usize = header("content-length").parse().unwrap_or(0);
    let mut body = vec![0u8; len];
    if reader.read_exact(&mut body).await.is_err() {
        return;
    }
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let Some(body) = parsed.filter(|_| {
        head.first()
            .is_some_and(|l| l.starts_with("POST /hcp/evaluations "))
    }) else {
        log.lock().unwrap().garbage.push(format!("{head:?}"));
        return;
    };
    let answer = {
        let mut l = log.lock().unwrap();
        let n = l.seen.len() + 1;
        let answer = plan(n);
        l.seen.push(Seen {
            n,
            id: body["id"].as_u64().unwrap_or(0),
            key: header("idempotency-key"),
            authorization: header("authorization"),
            content_type: header("content-type"),
            body,
            answer,
        });
        answer
    };
    let mut stream = reader.into_inner();
    let reply: &[u8] = match answer {
        Answer::Accepted => b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}",
        Answer::Unavailable => b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 11\r\nConnection: close\r\n\r\nmaintenance",
        Answer::Closed => return, // dropped: closed without an answer
        Answer::Held => {
            log.lock().unwrap().held.push(stream);
            return;
        }
    };
    let _ = stream.write_all(reply).await;
    let _ = stream.shutdown().await;
}

// ---------------------------------------------------------------------------
// The daemon.

struct Daemon {
    addr: std::net::SocketAddr,
    process: daemon::Daemon,
}

async fn spawn_daemon(config: &Path, data: &Path) -> Daemon {
    let mut cmd = daemon::serve_cmd(data);
    cmd.arg("--quiet-sim").arg("--config").arg(config);
    let process = start_daemon(cmd, daemon::Log::Null, Duration::from_secs(120)).await;
    Daemon {
        addr: process.addr,
        process,
    }
}

fn set_password(config: &Path, data: &Path, account: &str) {
    daemon::passwd(config, data, account, &format!("{PASSWORD}-old"));
}

impl Daemon {
    async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Resp {
        let mut req = Req::new(method, path).auth(Some(token));
        if let Some(b) = body {
            req = req.json(&b);
        }
        send(self.addr, req).await
    }

    /// Signs in with the password `hallq passwd` set and changes it, or
    /// signs in with the changed one.
    async fn person(&self, account: &str) -> String {
        for password in [PASSWORD.to_string(), format!("{PASSWORD}-old")] {
            let r = self
                .call(
                    "POST",
                    "/api/v1/sessions",
                    "",
                    Some(json!({"account": account, "password": password})),
                )
                .await;
            if r.status != 201 {
                continue;
            }
            let token = r.json()["token"].as_str().unwrap().to_string();
            if password != PASSWORD {
                let r = self
                    .call(
                        "POST",
                        "/api/v1/sessions/password",
                        &token,
                        Some(json!({"old_password": password, "new_password": PASSWORD})),
                    )
                    .await;
                assert_eq!(r.status, 204, "{}", r.text());
            }
            return token;
        }
        panic!("{account} could not sign in")
    }

    async fn ok(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let r = self.call(method, path, token, body).await;
        assert!(
            (200..300).contains(&r.status),
            "{method} {path}: {} {}",
            r.status,
            r.text()
        );
        if r.body.is_empty() {
            Value::Null
        } else {
            r.json()
        }
    }

    /// Polls until window 1's evaluator asks for a rating.
    async fn evaluator_lit(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self.ok("GET", "/api/v1/sim/devices", DISPLAY, None).await;
            let lit = v["devices"].as_array().unwrap().iter().any(|x| {
                x["protocol"] == "modbus-evaluator"
                    && x["window"] == 1
                    && x["content"]["prompt"] == true
            });
            if lit {
                return;
            }
            assert!(Instant::now() < deadline, "window 1's evaluator never lit");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Issues a ticket of `service`, calls, serves and finishes it at window 1.
    async fn serve_one(&self, staff: &str, service: &str) -> String {
        let t = self
            .ok(
                "POST",
                "/api/v1/tickets",
                KIOSK,
                Some(json!({"service": service})),
            )
            .await;
        let number = t["ticket"]["number"].as_str().unwrap().to_string();
        self.ok("POST", "/api/v1/windows/1/call-next", staff, None)
            .await;
        let w = self.ok("GET", "/api/v1/windows/1", staff, None).await;
        assert_eq!(w["current"]["number"], number.as_str(), "{w}");
        self.ok("POST", "/api/v1/windows/1/start", staff, None)
            .await;
        self.ok(
            "POST",
            "/api/v1/windows/1/finish",
            staff,
            Some(json!({"outcome": "done"})),
        )
        .await;
        number
    }

    /// Presses `rating` (1–5) on window 1's evaluator and waits until the
    /// journal holds the rating.
    async fn rate(&self, journal: &Path, rating: u8, before: usize) {
        self.evaluator_lit().await;
        let r = self
            .call(
                "POST",
                "/api/v1/sim/evaluators/1",
                DISPLAY,
                Some(json!({"rating": rating})),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.text());
        let deadline = Instant::now() + Duration::from_secs(30);
        while rated_rows(journal).len() <= before {
            assert!(
                Instant::now() < deadline,
                "the rating never reached the journal"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn kill(self) {
        self.process.kill();
    }
}

/// (seq, rating) of every `service_rated` row of the journal.
fn rated_rows(journal: &Path) -> Vec<(u64, Option<String>)> {
    let Ok(reader) = JournalReader::open(journal) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    reader
        .for_each_from(0, |rec| {
            if rec.kind == "service_rated" {
                let v: Value = serde_json::from_str(&rec.payload).expect("payload");
                out.push((rec.seq, v["rating"].as_str().map(str::to_string)));
            }
            Ok::<(), hallq::journal::JournalError>(())
        })
        .expect("journal reads");
    out
}

async fn wait_for(what: &str, wait: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + wait;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn accepted(log: &Shared) -> Vec<Seen> {
    log.lock()
        .unwrap()
        .seen
        .iter()
        .filter(|s| matches!(s.answer, Answer::Accepted | Answer::Held))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rating_reaches_a_flaky_receiver_once_across_a_kill() {
    let (receiver_addr, log) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(dir.path().join("push.token"), format!("{TOKEN}\n")).unwrap();
    let config = dir.path().join("hall.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[evaluation_push]\nurl = \"http://{receiver_addr}/hcp/evaluations\"\n\
             token_file = \"push.token\"\ntimeout_seconds = 120\nhall_code = \"{HALL_CODE}\"\n",
            hallq::config::DEMO_HALL_TOML
        ),
    )
    .unwrap();
    let journal = data.join(hallq::daemon::JOURNAL_FILE);
    set_password(&config, &data, "w01");
    set_password(&config, &data, "manager");

    let d = spawn_daemon(&config, &data).await;
    let staff = d.person("w01").await;
    d.ok("POST", "/api/v1/windows/1/sign-in", &staff, None)
        .await;

    // Three rated visits; estate-search is a flow (its next step is
    // estate-review): the rating is about the step that finished.
    let services = [
        "estate-search",
        "tax",
        "estate-search",
        "tax",
        "tax",
        "estate-search",
    ];
    let ratings = [1u8, 4, 2, 5, 3, 1];
    for i in 0..3 {
        d.serve_one(&staff, services[i]).await;
        d.rate(&journal, ratings[i], rated_rows(&journal).len())
            .await;
    }
    // The receiver accepts the third entry but never answers: kill the
    // daemon in that window (2xx sent, mark not committed).
    wait_for("the held request", Duration::from_secs(120), || {
        log.lock()
            .unwrap()
            .seen
            .iter()
            .any(|s| s.answer == Answer::Held)
    })
    .await;
    let held_id = log
        .lock()
        .unwrap()
        .seen
        .iter()
        .find(|s| s.answer == Answer::Held)
        .unwrap()
        .id;
    d.kill().await;
    let pending = OutboxReader::open(&journal)
        .unwrap()
        .pending(0, 100)
        .unwrap();
    assert!(
        pending.iter().any(|e| e.id == held_id),
        "the held entry is still pending after the kill: {pending:?}"
    );

    // Restart: the pending entries are read back and sent.
    let d = spawn_daemon(&config, &data).await;
    // One visit left unrated: finishing the next one records it as not rated.
    d.serve_one(&staff, "tax").await;
    d.evaluator_lit().await;
    for i in 3..6 {
        d.serve_one(&staff, services[i]).await;
        d.rate(&journal, ratings[i], rated_rows(&journal).len())
            .await;
    }

    let rows = rated_rows(&journal);
    let rated: BTreeSet<u64> = rows
        .iter()
        .filter(|(_, r)| r.is_some())
        .map(|(s, _)| *s)
        .collect();
    let unrated: BTreeSet<u64> = rows
        .iter()
        .filter(|(_, r)| r.is_none())
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(rated.len(), 6, "{rows:?}");
    assert_eq!(unrated.len(), 1, "{rows:?}");

    // Everything arrives and the outbox drains.
    wait_for("every rating accepted", Duration::from_secs(180), || {
        let got: BTreeSet<u64> = accepted(&log).iter().map(|s| s.id).collect();
        got == rated
    })
    .await;
    wait_for("an empty outbox", Duration::from_secs(60), || {
        OutboxReader::open(&journal)
            .unwrap()
            .counts()
            .unwrap()
            .pending
            == 0
    })
    .await;
    let counts = OutboxReader::open(&journal).unwrap().counts().unwrap();
    assert_eq!((counts.pending, counts.acked), (0, 6));

    let seen = log.lock().unwrap().seen.clone();
    assert!(log.lock().unwrap().garbage.is_empty());
    // Every request: the right headers, the id in the body and the key.
    for (i, s) in seen.iter().enumerate() {
        assert_eq!(s.n, i + 1);
        assert_eq!(s.key, format!("hallq-{HALL_CODE}-{}", s.id), "{s:?}");
        assert_eq!(s.body["idempotency_key"], s.key.as_str());
        assert_eq!(s.body["hall_code"], HALL_CODE);
        assert_eq!(s.authorization, format!("Bearer {TOKEN}"), "{s:?}");
        assert!(s.content_type.starts_with("application/json"), "{s:?}");
        assert!(rated.contains(&s.id), "{s:?} is not a rated journal row");
        assert!(!unrated.contains(&s.id), "a not-rated visit was pushed");
    }
    // Oldest first, and a failed attempt is retried with the same entry.
    for w in seen.windows(2) {
        if w[1].id < w[0].id {
            // Only the restart goes back: to the entry caught in the crash window.
            assert_eq!(w[1].id, held_id, "order: {seen:?}");
            assert_eq!(w[0].answer, Answer::Held);
        }
        if matches!(w[0].answer, Answer::Unavailable | Answer::Closed) {
            assert_eq!(
                w[1].id, w[0].id,
                "a failure is retried with the same entry: {seen:?}"
            );
        }
    }
    assert!(seen.iter().any(|s| s.answer == Answer::Closed));
    assert!(
        seen.iter()
            .filter(|s| s.answer == Answer::Unavailable)
            .count()
            >= 3
    );
    // Once acknowledged, never sent again — except the crash window's entry,
    // sent once more with the same key, which the receiver deduplicates.
    let mut acks: BTreeMap<u64, usize> = BTreeMap::new();
    for s in accepted(&log) {
        *acks.entry(s.id).or_default() += 1;
    }
    for (id, times) in &acks {
        let expected = if *id == held_id { 2 } else { 1 };
        assert_eq!(*times, expected, "id {id} accepted {times} times: {seen:?}");
    }
    for (i, s) in seen.iter().enumerate() {
        let acked_before = seen[..i]
            .iter()
            .any(|p| p.id == s.id && p.answer == Answer::Accepted);
        assert!(
            !acked_before,
            "{} was sent again after its acknowledgement",
            s.id
        );
    }

    // What was pushed is what the export lists, record for record.
    let manager = d.person("manager").await;
    let first_day = seen
        .iter()
        .filter_map(|s| s.body["date"].as_str())
        .min()
        .unwrap()
        .to_string();
    let last_day = seen
        .iter()
        .filter_map(|s| s.body["date"].as_str())
        .max()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/evaluations?from={first_day}&to={last_day}");
    let export = d.ok("GET", &path, &manager, None).await;
    let exported: BTreeMap<u64, Value> = export["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_u64().unwrap(), e.clone()))
        .collect();
    assert_eq!(exported.keys().copied().collect::<BTreeSet<_>>(), rated);
    for s in &seen {
        let mut pushed = s.body.clone();
        let m = pushed.as_object_mut().unwrap();
        m.remove("idempotency_key");
        m.remove("hall_code");
        assert_eq!(&pushed, &exported[&s.id], "pushed and exported differ");
    }
    // The flow's first step is what was rated, and the ratings are the ones pressed.
    let pressed: Vec<u64> = ratings.iter().map(|r| u64::from(*r)).collect();
    let codes: Vec<u64> = exported
        .values()
        .map(|e| e["rating_code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, pressed);
    for (e, service) in exported.values().zip(services) {
        assert_eq!(e["service"], service, "{e}");
    }
    // Not-rated visits are in the export only when asked for.
    let all = d
        .ok(
            "GET",
            &format!("{path}&include_unrated=true"),
            &manager,
            None,
        )
        .await;
    assert_eq!(all["count"], 7);

    // The status route.
    let status = d
        .ok("GET", "/api/v1/evaluations/outbox", &manager, None)
        .await;
    assert_eq!(status["configured"], true);
    assert_eq!(status["pending"], 0);
    assert_eq!(status["acknowledged"], 6);
    assert!(status["pusher"]["sent"].as_u64().unwrap() >= 4, "{status}");
    assert!(
        status["pusher"]["failures"].as_u64().unwrap() >= 2,
        "{status}"
    );
    assert!(
        status["pusher"]["last_error"]
            .as_str()
            .unwrap()
            .contains("503"),
        "{status}"
    );
    assert!(!status.to_string().contains(TOKEN), "the token never shows");
    d.kill().await;
}
