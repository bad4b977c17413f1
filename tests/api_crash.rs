//! Power cut over HTTP.
//!
//! 8 kiosk clients and 16 counter clients work concurrently over real HTTP
//! against a `hallq serve` process, which is SIGKILLed at random moments
//! (22 times under load, plus 3 times during start-up) and restarted on the
//! same data directory. Clients behave like real kiosks and counters: every
//! POST carries an `Idempotency-Key`, and after a failure (connection reset,
//! refused, timeout, 5xx) the *same* request with the *same* key is sent
//! again once the daemon is back.
//!
//! After every kill (the daemon is down, so the files are exactly what the
//! next start-up replays), and once more at the end:
//!
//! - the journal verifies (hash chain), in-process; `hallq verify` at the end;
//! - every ticket whose issue got a 2xx answer is in the journal, with the id
//!   and number the kiosk was told;
//! - no number appears twice in a series within a business day (the test's
//!   configuration gives every series 1–99,999 without wrap, so any repeat
//!   is a reuse);
//! - no idempotency key produced two tickets or two calls, and each answered
//!   key maps to the event the client was told about;
//! - the journal, replayed with `hallq::daemon::replay::replay`, has no
//!   ticket at two windows, and every called or serving ticket is the
//!   current ticket of the one window it names.
//!
//! At the end, with the daemon up again, some answered keys are re-sent and
//! must get their first answer without a new event, and a sample of answered
//! tickets is read back with `GET /api/v1/tickets/{id}`. The re-sent keys are
//! drawn from those the daemon promises to remember, the last
//! `ENTRIES_MAX` keyed commands; a fast machine answers more than that here.
//!
//! Set `HALLQ_CRASH_SEED` to replay a schedule; the seed is printed.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::watch;

use common::daemon::{DAEMON_WAIT, Daemon, Log, serve_cmd, verify};
use hallq::accounts::{Accounts, HashCost};
use hallq::config::{Config, DEMO_HALL_TOML, Role};
use hallq::daemon::clock::{Clock, SystemClock};
use hallq::daemon::idempotency::{ENTRIES_MAX, split_client};
use hallq::daemon::replay::replay;
use hallq::daemon::{ACCOUNTS_FILE, JOURNAL_FILE};
use hallq::journal::{Journal, JournalError, JournalReader, Record};
use hallq::queue::{Event, TicketStatus};

const KIOSKS: usize = 8;
const COUNTERS: usize = 16;
/// Kills while clients are working (the brief asks for at least 20).
const KILLS_UNDER_LOAD: usize = 22;
/// Extra kills while the daemon is starting (replaying, before it listens).
const KILLS_AT_START: usize = 3;
const KIOSK_KEY: &str = "demo-kiosk";
const FIRST_PASSWORD: &str = "first-Crash-pw-1357";
const PASSWORD: &str = "crash-Test-pw-4711";
/// One request attempt may take this long before it counts as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// A client gives up (and the test fails) after this many attempts of one request.
const ATTEMPTS_MAX: u32 = 3_000;

// --- a small seeded generator (no global randomness: the seed replays) ----

#[derive(Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range_ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }
}

// --- set-up: a written configuration with high limits, and passwords ------

/// The demo hall with generous rate limits, no caps, and 1–99,999 series
/// without wrap (so any repeated number in a day is a reuse).
fn write_config(dir: &Path) -> PathBuf {
    let mut doc: toml::Table = toml::from_str(DEMO_HALL_TOML).expect("demo hall parses");
    let services = doc
        .get_mut("service")
        .and_then(toml::Value::as_array_mut)
        .expect("services");
    for service in services {
        let t = service.as_table_mut().expect("service table");
        for cap in ["daily_cap", "per_person_daily_cap", "issue_windows"] {
            t.remove(cap);
        }
        let mut series = toml::Table::new();
        series.insert("start".into(), toml::Value::Integer(1));
        series.insert("end".into(), toml::Value::Integer(99_999));
        series.insert("wrap".into(), toml::Value::Boolean(false));
        t.insert("series".into(), toml::Value::Table(series));
    }
    let mut server = toml::Table::new();
    server.insert(
        "issues_per_minute".into(),
        toml::Value::Integer(100_000_000),
    );
    server.insert(
        "sign_ins_per_minute".into(),
        toml::Value::Integer(1_000_000),
    );
    doc.insert("server".into(), toml::Value::Table(server));
    let path = dir.join("crash-hall.toml");
    std::fs::write(&path, toml::to_string(&doc).expect("serialize")).expect("write config");
    path
}

/// Sets the counter accounts' passwords through the accounts library (with
/// the cheap test hash cost, so a debug build does not spend seconds in
/// argon2) and performs the forced first change, as `hallq passwd` plus a
/// first sign-in would.
fn provision(config: Arc<Config>, data: &Path, accounts: &[String]) {
    std::fs::create_dir_all(data).expect("data dir");
    let now = SystemClock.now_ms();
    let store = Accounts::open_with_cost(
        &data.join(ACCOUNTS_FILE),
        config,
        now,
        HashCost::INSECURE_FAST_FOR_TESTS,
    )
    .expect("accounts store");
    for a in accounts {
        store
            .set_password(a, FIRST_PASSWORD, now)
            .expect("set password");
        store
            .change_password(a, FIRST_PASSWORD, PASSWORD, now)
            .expect("first change");
    }
}

// --- the daemon process ---------------------------------------------------

struct Paths {
    config: PathBuf,
    data: PathBuf,
    log: PathBuf,
}

impl Paths {
    /// `hallq serve --config CONFIG` at `RUST_LOG=warn`, its log appended to
    /// `log`; not yet listening ([`Daemon::listening`]).
    fn spawn(&self) -> Daemon {
        let mut cmd = serve_cmd(&self.data);
        cmd.arg("--config").arg(&self.config);
        Daemon::spawn(cmd, Log::File(self.log.clone()))
    }
}

// --- HTTP clients -----------------------------------------------------------

struct Reply {
    status: u16,
    body: Value,
}

/// Transport and server-fault counts, shared by all clients.
#[derive(Default)]
struct Faults {
    transport: AtomicU64,
    server_5xx: AtomicU64,
    status_500: AtomicU64,
}

/// One keep-alive connection that follows the daemon across restarts.
struct Client {
    addr: watch::Receiver<Option<SocketAddr>>,
    conn: Option<SendRequest<Full<Bytes>>>,
    faults: Arc<Faults>,
}

impl Client {
    fn new(addr: watch::Receiver<Option<SocketAddr>>, faults: Arc<Faults>) -> Client {
        Client {
            addr,
            conn: None,
            faults,
        }
    }

    async fn once(
        &mut self,
        method: &Method,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Reply, String> {
        if self.conn.is_none() {
            let addr = {
                let current = self
                    .addr
                    .wait_for(Option::is_some)
                    .await
                    .map_err(|e| e.to_string())?;
                current.expect("address")
            };
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.conn = Some(sender);
        }
        let sender = self.conn.as_mut().expect("connection");
        sender.ready().await.map_err(|e| e.to_string())?;
        let mut req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(HOST, "hallq")
            .header(AUTHORIZATION, format!("Bearer {token}"));
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let payload = match body {
            Some(v) => {
                req = req.header(CONTENT_TYPE, "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let req = req.body(Full::new(payload)).map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| format!("status {status}: {e}"))?
        };
        Ok(Reply { status, body })
    }

    /// Sends until an answer that is neither a transport failure nor a 5xx,
    /// always with the same key. Returns the answer and the attempts made.
    async fn request(
        &mut self,
        method: Method,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> (Reply, u32) {
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(
                attempts <= ATTEMPTS_MAX,
                "{method} {path}: no answer after {ATTEMPTS_MAX} attempts"
            );
            match tokio::time::timeout(ATTEMPT_TIMEOUT, self.once(&method, path, token, key, body))
                .await
            {
                Ok(Ok(reply)) if reply.status < 500 => return (reply, attempts),
                Ok(Ok(reply)) => {
                    self.faults.server_5xx.fetch_add(1, Ordering::Relaxed);
                    if reply.status == 500 {
                        self.faults.status_500.fetch_add(1, Ordering::Relaxed);
                        eprintln!("500 on {method} {path}: {}", reply.body);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(Err(_)) | Err(_) => {
                    self.faults.transport.fetch_add(1, Ordering::Relaxed);
                    self.conn = None;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}

fn code(reply: &Reply) -> &str {
    reply.body["error"]["code"].as_str().unwrap_or("")
}

// --- what the clients were told ---------------------------------------------

/// A ticket a kiosk got a 201 for.
#[derive(Clone)]
struct IssueAck {
    key: String,
    /// The service asked for: a resend must be the same request.
    service: String,
    id: u64,
    number: String,
    attempts: u32,
    round: usize,
}

/// A call-next a counter got a ticket for.
#[derive(Clone)]
struct CallAck {
    key: String,
    window: u32,
    ticket: u64,
    replayed: bool,
}

struct Shared {
    stop: AtomicBool,
    round: AtomicUsize,
    issues: Mutex<Vec<IssueAck>>,
    calls: Mutex<Vec<CallAck>>,
    /// Refusals and other answers that are not errors of the daemon, by code.
    refusals: Mutex<HashMap<String, u64>>,
    /// Answers no correct daemon gives these clients (a 401, a 4xx that is not a refusal…).
    unexpected: Mutex<Vec<String>>,
    counter_ops: AtomicU64,
    resyncs: AtomicU64,
    replayed_answers: AtomicU64,
}

impl Shared {
    fn refused(&self, what: &str, reply: &Reply) {
        *self
            .refusals
            .lock()
            .unwrap()
            .entry(format!("{what}:{}:{}", reply.status, code(reply)))
            .or_default() += 1;
    }
    fn unexpected(&self, what: String) {
        eprintln!("unexpected: {what}");
        self.unexpected.lock().unwrap().push(what);
    }
}

async fn kiosk(
    k: usize,
    mut client: Client,
    shared: Arc<Shared>,
    services: Arc<Vec<String>>,
    seed: u64,
) {
    let mut rng = SplitMix(seed ^ (0xA11CE + k as u64));
    let mut i = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        i += 1;
        let key = format!("kiosk{k}-{i}");
        let service = &services[rng.below(services.len() as u64) as usize];
        let body = json!({ "service": service });
        let (reply, attempts) = client
            .request(
                Method::POST,
                "/api/v1/tickets",
                KIOSK_KEY,
                Some(&key),
                Some(&body),
            )
            .await;
        match reply.status {
            201 => {
                let t = &reply.body["ticket"];
                let (Some(id), Some(number)) = (t["id"].as_u64(), t["number"].as_str()) else {
                    shared.unexpected(format!("issue 201 without a ticket: {}", reply.body));
                    continue;
                };
                shared.issues.lock().unwrap().push(IssueAck {
                    key,
                    service: service.to_string(),
                    id,
                    number: number.to_string(),
                    attempts,
                    round: shared.round.load(Ordering::SeqCst),
                });
            }
            409 | 422 => shared.refused("issue", &reply),
            other => shared.unexpected(format!("issue {key}: {other} {}", reply.body)),
        }
        tokio::time::sleep(rng.range_ms(4, 30)).await;
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    SignIn,
    Idle,
    Called,
    Serving,
    Resync,
}

async fn counter(
    c: usize,
    window: u32,
    account: String,
    token: String,
    mut client: Client,
    shared: Arc<Shared>,
    seed: u64,
) {
    let mut rng = SplitMix(seed ^ (0xC0FFEE + c as u64));
    let base = format!("/api/v1/windows/{window}");
    let mut phase = Phase::SignIn;
    let mut i = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        i += 1;
        let key = format!("w{window}-{i}");
        if phase == Phase::Resync {
            shared.resyncs.fetch_add(1, Ordering::Relaxed);
            let (reply, _) = client.request(Method::GET, &base, &token, None, None).await;
            if reply.status != 200 {
                shared.unexpected(format!("GET {base}: {} {}", reply.status, reply.body));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            phase = if reply.body["staff"]["account"].as_str() != Some(account.as_str()) {
                Phase::SignIn
            } else {
                match reply.body["current"]["status"].as_str() {
                    None => Phase::Idle,
                    Some("called") => Phase::Called,
                    Some("serving") => Phase::Serving,
                    Some(other) => {
                        shared.unexpected(format!("window {window}: current ticket is {other}"));
                        Phase::Idle
                    }
                }
            };
            continue;
        }
        let (action, body) = match phase {
            Phase::SignIn => ("sign-in", None),
            Phase::Idle => ("call-next", None),
            Phase::Called => ("start", None),
            Phase::Serving => ("finish", Some(json!({ "outcome": "done" }))),
            Phase::Resync => unreachable!(),
        };
        let path = format!("{base}/{action}");
        let (reply, _) = client
            .request(Method::POST, &path, &token, Some(&key), body.as_ref())
            .await;
        shared.counter_ops.fetch_add(1, Ordering::Relaxed);
        if reply.body["replayed"] == json!(true) {
            shared.replayed_answers.fetch_add(1, Ordering::Relaxed);
        }
        match (reply.status, phase) {
            (200, Phase::SignIn) => phase = Phase::Resync,
            (200, Phase::Idle) => match reply.body["ticket"]["id"].as_u64() {
                Some(ticket) => {
                    shared.calls.lock().unwrap().push(CallAck {
                        key,
                        window,
                        ticket,
                        replayed: reply.body["replayed"] == json!(true),
                    });
                    phase = Phase::Called;
                }
                None => tokio::time::sleep(rng.range_ms(10, 30)).await,
            },
            (200, Phase::Called) => phase = Phase::Serving,
            (200, Phase::Serving) => phase = Phase::Idle,
            (403, _) if code(&reply) == "not_signed_in" => {
                // Only a day's end signs staff out; sign in again.
                shared.refused(action, &reply);
                phase = Phase::SignIn;
            }
            (409, _) => {
                // window_occupied (by us, before a crash), ticket_in_progress…:
                // find out where the window really is.
                shared.refused(action, &reply);
                phase = Phase::Resync;
            }
            (status, _) => {
                shared.unexpected(format!("{path}: {status} {}", reply.body));
                phase = Phase::Resync;
            }
        }
        if phase != Phase::Resync {
            tokio::time::sleep(rng.range_ms(0, 3)).await;
        }
    }
}

// --- the checks -------------------------------------------------------------

/// The idempotency keys of the last `bound` keyed commands in the journal
/// (a command's rows share its key; the test's keys are unique across
/// actors): the keys a daemon replaying this journal remembers.
fn last_keys(journal_path: &Path, bound: usize) -> HashSet<String> {
    let reader = JournalReader::open(journal_path).expect("open journal read-only");
    let mut keys: Vec<String> = Vec::new();
    reader
        .for_each_from(0, |rec: Record| -> Result<(), JournalError> {
            if let Some(k) = split_client(&rec.client).1
                && keys.last().map(String::as_str) != Some(k)
            {
                keys.push(k.to_string());
            }
            Ok(())
        })
        .expect("journal reads back");
    let from = keys.len().saturating_sub(bound);
    keys.split_off(from).into_iter().collect()
}

/// What the journal says, scanned incrementally after each kill.
#[derive(Default)]
struct JournalFacts {
    after_seq: u64,
    day: Option<String>,
    /// (business day, service, number) of every ticket issued.
    numbers: HashSet<(String, String, String)>,
    /// Ticket id → (number, seq).
    tickets: HashMap<u64, (String, u64)>,
    /// Idempotency key → (ticket id, seq) of an issue. The test's keys are
    /// unique across actors, so a key seen twice is a double application.
    issue_keys: HashMap<String, (u64, u64)>,
    /// Idempotency key → (ticket id, window) of a call.
    call_keys: HashMap<String, (u64, u32)>,
}

impl JournalFacts {
    fn scan(&mut self, reader: &JournalReader) {
        let mut violations = Vec::new();
        reader
            .for_each_from(self.after_seq, |rec: Record| -> Result<(), JournalError> {
                self.after_seq = rec.seq;
                let event: Event = serde_json::from_str(&rec.payload).expect("event payload");
                let key = split_client(&rec.client).1.map(str::to_string);
                match event {
                    Event::DayOpened { date } => self.day = Some(date.to_string()),
                    Event::TicketIssued {
                        ticket,
                        number,
                        service,
                        ..
                    } => {
                        let day = self.day.clone().unwrap_or_default();
                        if !self
                            .numbers
                            .insert((day.clone(), service.clone(), number.clone()))
                        {
                            violations.push(format!(
                                "number {number} of {service} issued twice on {day} (seq {})",
                                rec.seq
                            ));
                        }
                        if self
                            .tickets
                            .insert(ticket.0, (number.clone(), rec.seq))
                            .is_some()
                        {
                            violations.push(format!("ticket id {} issued twice", ticket.0));
                        }
                        if let Some(k) = key
                            && let Some(first) =
                                self.issue_keys.insert(k.clone(), (ticket.0, rec.seq))
                        {
                            violations.push(format!(
                                "idempotency key {k:?} issued two tickets: {} and {}",
                                first.0, ticket.0
                            ));
                        }
                    }
                    Event::TicketCalled { ticket, window, .. } => {
                        if let Some(k) = key
                            && let Some(first) =
                                self.call_keys.insert(k.clone(), (ticket.0, window))
                        {
                            violations.push(format!(
                                "idempotency key {k:?} called twice: {:?} and {}",
                                first, ticket.0
                            ));
                        }
                    }
                    _ => {}
                }
                Ok(())
            })
            .expect("journal reads back (chain intact)");
        assert!(
            violations.is_empty(),
            "journal violations:\n{}",
            violations.join("\n")
        );
    }
}

/// Everything that must hold of the files the next start-up will replay.
fn check_files(
    round: &str,
    config: &Arc<Config>,
    journal_path: &Path,
    facts: &mut JournalFacts,
    shared: &Shared,
) {
    let reader = JournalReader::open(journal_path).expect("open journal read-only");
    let report = reader.verify().expect("verify runs");
    assert!(
        report.is_clean(),
        "{round}: journal chain broken: {report:?}"
    );
    facts.scan(&reader);
    drop(reader);

    // Every answered issue is in the journal, as answered.
    for ack in shared.issues.lock().unwrap().iter() {
        let Some((number, _)) = facts.tickets.get(&ack.id) else {
            panic!(
                "{round}: ticket {} ({}) was answered 201 (key {}) but is not in the journal",
                ack.id, ack.number, ack.key
            );
        };
        assert_eq!(number, &ack.number, "{round}: ticket {} number", ack.id);
        assert_eq!(
            facts.issue_keys.get(&ack.key).map(|v| v.0),
            Some(ack.id),
            "{round}: key {} answered ticket {} but the journal's ticket for it differs",
            ack.key,
            ack.id
        );
    }
    // Every answered call is in the journal, at the window that asked.
    for ack in shared.calls.lock().unwrap().iter() {
        assert_eq!(
            facts.call_keys.get(&ack.key).copied(),
            Some((ack.ticket, ack.window)),
            "{round}: call-next {} answered ticket {} at window {}",
            ack.key,
            ack.ticket,
            ack.window
        );
    }

    // Replay: no ticket at two windows.
    let journal = Journal::open(journal_path).expect("open journal");
    let (hall, _) = replay(config.clone(), &journal, None).expect("replay");
    drop(journal);
    let mut at: HashMap<u64, u32> = HashMap::new();
    for w in hall.windows() {
        let mut held: Vec<u64> = w.parked.iter().map(|t| t.0).collect();
        if let Some(t) = w.current {
            let ticket = hall.ticket(t).expect("current ticket exists");
            assert!(
                matches!(ticket.status, TicketStatus::Called | TicketStatus::Serving),
                "{round}: window {}'s current ticket {} is {:?}",
                w.number,
                ticket.number,
                ticket.status
            );
            assert_eq!(
                ticket.window,
                Some(w.number),
                "{round}: ticket {} is current at window {} but names window {:?}",
                ticket.number,
                w.number,
                ticket.window
            );
            held.push(t.0);
        }
        for t in held {
            if let Some(other) = at.insert(t, w.number) {
                panic!("{round}: ticket {t} is at windows {other} and {}", w.number);
            }
        }
    }
    for t in hall.tickets() {
        if matches!(t.status, TicketStatus::Called | TicketStatus::Serving) {
            assert_eq!(
                at.get(&t.id.0).copied(),
                t.window,
                "{round}: ticket {} is {:?} but not the current ticket of its window",
                t.number,
                t.status
            );
        }
    }
}

// --- the test ---------------------------------------------------------------

#[test]
fn sigkill_over_http_loses_nothing_answered() {
    let started = Instant::now();
    let seed = std::env::var("HALLQ_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("api_crash: HALLQ_CRASH_SEED={seed}");
    let mut rng = SplitMix(seed);

    let tmp = tempfile::tempdir().expect("tempdir");
    let paths = Paths {
        config: write_config(tmp.path()),
        data: tmp.path().join("data"),
        log: tmp.path().join("hallq.log"),
    };
    let config = Arc::new(Config::load(&paths.config).expect("written config is valid"));
    let journal_path = paths.data.join(JOURNAL_FILE);

    // Counters: the first 16 windows that call tickets, staffed by the first
    // 16 staff accounts. Kiosks issue for the services those windows serve.
    let windows: Vec<u32> = config
        .windows()
        .iter()
        .filter(|w| !w.services.is_empty())
        .map(|w| w.number)
        .take(COUNTERS)
        .collect();
    let accounts: Vec<String> = config
        .file
        .staff
        .iter()
        .filter(|s| s.roles.contains(&Role::Staff))
        .map(|s| s.account.clone())
        .take(COUNTERS)
        .collect();
    assert_eq!((windows.len(), accounts.len()), (COUNTERS, COUNTERS));
    let mut services: Vec<String> = Vec::new();
    for w in config
        .windows()
        .iter()
        .filter(|w| windows.contains(&w.number))
    {
        for s in &w.services {
            if !services.contains(&s.service) {
                services.push(s.service.clone());
            }
        }
    }
    let services = Arc::new(services);
    provision(config.clone(), &paths.data, &accounts);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (addr_tx, addr_rx) = watch::channel::<Option<SocketAddr>>(None);
    let faults = Arc::new(Faults::default());
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        round: AtomicUsize::new(0),
        issues: Mutex::new(Vec::new()),
        calls: Mutex::new(Vec::new()),
        refusals: Mutex::new(HashMap::new()),
        unexpected: Mutex::new(Vec::new()),
        counter_ops: AtomicU64::new(0),
        resyncs: AtomicU64::new(0),
        replayed_answers: AtomicU64::new(0),
    });

    // First start: sign the counters in (sessions are durable and survive
    // every restart that follows).
    let mut first = paths.spawn();
    let addr = first.listening(DAEMON_WAIT);
    addr_tx.send_replace(Some(addr));
    let mut daemon = Some(first);
    let tokens: Vec<String> = runtime.block_on(async {
        let mut client = Client::new(addr_rx.clone(), faults.clone());
        let mut tokens = Vec::new();
        for a in &accounts {
            let body = json!({ "account": a, "password": PASSWORD });
            let (reply, _) = client
                .request(Method::POST, "/api/v1/sessions", "none", None, Some(&body))
                .await;
            assert_eq!(reply.status, 201, "sign in {a}: {}", reply.body);
            assert_eq!(reply.body["must_change_password"], json!(false));
            tokens.push(reply.body["token"].as_str().expect("token").to_string());
        }
        tokens
    });

    let mut tasks = Vec::new();
    for k in 0..KIOSKS {
        let client = Client::new(addr_rx.clone(), faults.clone());
        tasks.push(runtime.spawn(kiosk(k, client, shared.clone(), services.clone(), seed)));
    }
    for c in 0..COUNTERS {
        let client = Client::new(addr_rx.clone(), faults.clone());
        tasks.push(runtime.spawn(counter(
            c,
            windows[c],
            accounts[c].clone(),
            tokens[c].clone(),
            client,
            shared.clone(),
            seed,
        )));
    }

    // The power cuts. Start-up kills are spread among the load kills.
    let mut facts = JournalFacts::default();
    let mut kill_seqs: Vec<u64> = Vec::new();
    let mut kills_under_load = 0;
    let mut kills_at_start = 0;
    let mut check_time = Duration::ZERO;
    let total = KILLS_UNDER_LOAD + KILLS_AT_START;
    for round in 0..total {
        let at_start = round % 8 == 7 && kills_at_start < KILLS_AT_START;
        let mut running = match daemon.take() {
            Some(d) => d,
            None => paths.spawn(),
        };
        if round > 0 {
            if at_start {
                // Cut the power while it replays / opens the store.
                std::thread::sleep(rng.range_ms(20, 400));
            } else {
                let addr = running.listening(DAEMON_WAIT);
                addr_tx.send_replace(Some(addr));
            }
        }
        if !at_start {
            std::thread::sleep(rng.range_ms(150, 800));
        }
        addr_tx.send_replace(None);
        running.kill();
        shared.round.fetch_add(1, Ordering::SeqCst);
        if at_start {
            kills_at_start += 1;
        } else {
            kills_under_load += 1;
        }
        let what = format!("after kill {} (round {round}, seed {seed})", round + 1);
        let checking = Instant::now();
        check_files(&what, &config, &journal_path, &mut facts, &shared);
        check_time += checking.elapsed();
        kill_seqs.push(facts.after_seq);
    }
    assert!(
        kills_under_load >= 20,
        "only {kills_under_load} kills under load"
    );

    // Back up for good: let every client finish what it started, then stop.
    let mut daemon = paths.spawn();
    let addr = daemon.listening(DAEMON_WAIT);
    addr_tx.send_replace(Some(addr));
    shared.stop.store(true, Ordering::SeqCst);
    runtime.block_on(async {
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(30), t)
                .await
                .expect("clients finish after the last restart")
                .expect("client task");
        }
    });

    // Re-send answered keys once more: the first answer, no new event. Only
    // keys the daemon promises to remember are re-sent: the last
    // ENTRIES_MAX keyed commands (a fast machine answers more in this run).
    let before = JournalReader::open(&journal_path)
        .and_then(|r| r.last_seq())
        .expect("last seq");
    let remembered_keys = last_keys(&journal_path, ENTRIES_MAX);
    let issues = shared.issues.lock().unwrap().clone();
    let calls = shared.calls.lock().unwrap().clone();
    let issues_remembered: Vec<&IssueAck> = issues
        .iter()
        .filter(|a| remembered_keys.contains(&a.key))
        .collect();
    let calls_remembered: Vec<&CallAck> = calls
        .iter()
        .filter(|a| remembered_keys.contains(&a.key))
        .collect();
    assert!(
        issues_remembered.len() >= 60 && calls_remembered.len() >= 20,
        "too few remembered keys to re-send: {} of {} issues, {} of {} calls",
        issues_remembered.len(),
        issues.len(),
        calls_remembered.len(),
        calls.len()
    );
    let resent = runtime.block_on(async {
        let mut client = Client::new(addr_rx.clone(), faults.clone());
        let mut resent = 0;
        for ack in issues_remembered
            .iter()
            .step_by((issues_remembered.len() / 60).max(1))
        {
            let body = json!({ "service": ack.service });
            let (reply, _) = client
                .request(
                    Method::POST,
                    "/api/v1/tickets",
                    KIOSK_KEY,
                    Some(&ack.key),
                    Some(&body),
                )
                .await;
            assert_eq!(reply.status, 201, "resent {}: {}", ack.key, reply.body);
            assert_eq!(
                reply.body["ticket"]["id"].as_u64(),
                Some(ack.id),
                "resent key {} got another ticket",
                ack.key
            );
            let (reply, _) = client
                .request(
                    Method::GET,
                    &format!("/api/v1/tickets/{}", ack.id),
                    KIOSK_KEY,
                    None,
                    None,
                )
                .await;
            assert_eq!(reply.status, 200, "GET ticket {}: {}", ack.id, reply.body);
            assert_eq!(
                reply.body["ticket"]["number"].as_str(),
                Some(ack.number.as_str())
            );
            resent += 1;
        }
        for ack in calls_remembered
            .iter()
            .step_by((calls_remembered.len() / 20).max(1))
        {
            let c = windows
                .iter()
                .position(|&w| w == ack.window)
                .expect("window");
            let (reply, _) = client
                .request(
                    Method::POST,
                    &format!("/api/v1/windows/{}/call-next", ack.window),
                    &tokens[c],
                    Some(&ack.key),
                    None,
                )
                .await;
            assert_eq!(reply.status, 200, "resent {}: {}", ack.key, reply.body);
            assert_eq!(reply.body["replayed"], json!(true), "resent {}", ack.key);
            assert_eq!(reply.body["ticket"]["id"].as_u64(), Some(ack.ticket));
            resent += 1;
        }
        resent
    });
    let after = JournalReader::open(&journal_path)
        .and_then(|r| r.last_seq())
        .expect("last seq");
    assert_eq!(before, after, "re-sent keys appended events");
    daemon.kill();
    check_files("at the end", &config, &journal_path, &mut facts, &shared);

    let verify = verify(&paths.data);
    assert!(
        verify.status.success(),
        "hallq verify failed:\n{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );

    // Retried issues whose first attempt had committed before the kill were
    // answered from the remembered answer (the journal row predates the kill).
    let remembered = issues
        .iter()
        .filter(|a| a.attempts > 1 && a.round > 0)
        .filter(|a| {
            facts
                .issue_keys
                .get(&a.key)
                .is_some_and(|(_, seq)| *seq <= kill_seqs[a.round - 1])
        })
        .count();
    let retried = issues.iter().filter(|a| a.attempts > 1).count();
    let unexpected = shared.unexpected.lock().unwrap().clone();
    let refusals = shared.refusals.lock().unwrap().clone();
    eprintln!(
        "api_crash: {} s ({} ms checking), {kills_under_load} kills under load + {kills_at_start} at start-up, \
         {} events; {} tickets answered ({retried} after a retry, {remembered} of them from the \
         remembered answer), {} calls answered ({} from a remembered answer), {} counter requests ({} replayed answers, {} \
         resyncs); {resent} keys re-sent at the end; transport failures {}, 5xx {}; refusals {:?}",
        started.elapsed().as_secs(),
        check_time.as_millis(),
        facts.after_seq,
        issues.len(),
        calls.len(),
        calls.iter().filter(|c| c.replayed).count(),
        shared.counter_ops.load(Ordering::Relaxed),
        shared.replayed_answers.load(Ordering::Relaxed),
        shared.resyncs.load(Ordering::Relaxed),
        faults.transport.load(Ordering::Relaxed),
        faults.server_5xx.load(Ordering::Relaxed),
        refusals,
    );
    assert!(
        unexpected.is_empty(),
        "unexpected answers:\n{}",
        unexpected.join("\n")
    );
    assert_eq!(
        faults.status_500.load(Ordering::Relaxed),
        0,
        "a 500 was answered"
    );
    assert!(
        issues.len() >= 100,
        "too little work: {} tickets",
        issues.len()
    );
    assert!(calls.len() >= 50, "too little work: {} calls", calls.len());
    assert!(
        retried > 0,
        "no request was ever retried: the kills hit nothing"
    );
}
