//! Power cut of the whole daemon during a busy day (issue 7).
//!
//! The real `hallq serve` runs the embedded demo hall with its simulated
//! devices (indicators, boards, keypads, evaluators and voice chips on PTYs,
//! so device traffic is part of the day), on one data directory for every
//! round. Each round, concurrent HTTP clients work the hall: kiosks issue
//! tickets, staff signed in at their windows call, start, finish, mark
//! no-shows, transfer, pause and resume, and a manager closes and reopens a
//! window now and then. Every POST carries an `Idempotency-Key`, and every
//! answer is recorded. At a seeded moment 50–1,500 ms into the round the
//! daemon is SIGKILLed. Then, with the daemon down:
//!
//! - `hallq verify --data DIR` (the binary) exits 0;
//! - every acknowledged (2xx) operation of every round so far is in the
//!   journal under its key, with what it answered (the ticket id and number
//!   issued, the ticket a call-next called, the window acted on…), exactly
//!   once; a call-next answered "nobody waits" left nothing;
//! - a refused operation (4xx) left nothing; an unanswered one (the kill
//!   came first) may be there or not, but if it is, it is whole: exactly
//!   the events of one application of its command;
//! - no ticket number appears twice on a business day (per series cycle).
//!
//! The daemon is restarted, and before new traffic: `/healthz` and the hall
//! answer, no ticket is the current ticket of two windows and every calling
//! or serving window has a called or serving current ticket, a few
//! acknowledged requests of earlier rounds are re-sent with their original
//! key and body and must get the same answer (window actions say
//! `replayed`) and no second application (the next journal check sees the
//! key's events once), and acknowledged tickets read back with their number.
//!
//! A second test cuts the power while `[backup] every_minutes = 0.05` takes
//! sets (kiosk traffic only): after each cut every directory named like a
//! set is whole (journal verifying at the head its name says, accounts,
//! person key); partial sets are only under their hidden partial name; the
//! newest set restores with `hallq restore` and verifies.
//!
//! `HALLQ_POWER_CUT_ROUNDS` (default 30) and `HALLQ_POWER_CUT_BACKUP_ROUNDS`
//! (default 8) set the number of kills, `HALLQ_POWER_CUT_SEED` replays a
//! schedule (the seed is printed), `HALLQ_TEST_BIN` runs another build of
//! `hallq`. Checked against a broken build: a journal append that left its
//! transaction open until the next append (so the owner answered before
//! the commit) was caught at the first kill ("acknowledged but missing").

mod common;

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::daemon::{self, Daemon, Log};
use common::{KIOSK, Req, try_send};
use hallq::config::{Config, DEMO_HALL_TOML};
use hallq::daemon::backups;
use hallq::daemon::idempotency::split_client;
use hallq::daemon::{ACCOUNTS_FILE, JOURNAL_FILE};
use hallq::journal::{JournalError, JournalReader, Record};
use hallq::queue::Event;
use hallq::sim::traffic::SimRng;

const ROUNDS_DEFAULT: usize = 30;
/// Kills of the second test, while backups are taken every 3 s.
const BACKUP_ROUNDS_DEFAULT: usize = 8;
const KIOSKS: usize = 4;
const COUNTERS: usize = 8;
/// One request may take this long before it counts as unanswered.
const REQUEST_WAIT: Duration = Duration::from_secs(10);
/// Start-up (replay, simulated buses) may take this long in a debug build.
const START_WAIT: Duration = Duration::from_secs(60);
/// Acknowledged requests re-sent after each restart.
const RESENDS_PER_ROUND: usize = 6;

/// `hallq serve --quiet-sim EXTRA…` at `RUST_LOG=warn`, its log appended to
/// `log`.
fn serve(data: &Path, extra: &[&str], log: &Path) -> Daemon {
    let mut cmd = daemon::serve_cmd(data);
    cmd.arg("--quiet-sim").args(extra);
    Daemon::start(cmd, Log::File(log.to_path_buf()), START_WAIT)
}

// --- operations and what they were answered ------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Issue,
    SignIn,
    CallNext,
    Start,
    Finish,
    NoShow,
    Transfer,
    Pause,
    Resume,
    Open,
    Close,
}

impl Kind {
    fn action(self) -> &'static str {
        match self {
            Kind::Issue => "issue",
            Kind::SignIn => "sign-in",
            Kind::CallNext => "call-next",
            Kind::Start => "start",
            Kind::Finish => "finish",
            Kind::NoShow => "no-show",
            Kind::Transfer => "transfer",
            Kind::Pause => "pause",
            Kind::Resume => "resume",
            Kind::Open => "open",
            Kind::Close => "close",
        }
    }

    /// Whether one application of the command journals `e` as its main event.
    fn is_main(self, e: &Event) -> bool {
        matches!(
            (self, e),
            (Kind::Issue, Event::TicketIssued { .. })
                | (Kind::SignIn, Event::StaffSignedIn { .. })
                | (Kind::CallNext, Event::TicketCalled { .. })
                | (Kind::Start, Event::ServiceStarted { .. })
                | (Kind::Finish, Event::TicketFinished { .. })
                | (Kind::NoShow, Event::TicketNoShow { .. })
                | (Kind::Transfer, Event::TicketTransferred { .. })
                | (Kind::Pause, Event::WindowPaused { .. })
                | (Kind::Resume, Event::WindowResumed { .. })
                | (Kind::Open, Event::WindowOpened { .. })
                | (Kind::Close, Event::WindowClosed { .. })
        )
    }

    /// Other events one application may journal under the same key: a
    /// finish closes the previous citizen's evaluation as not rated; closing
    /// a window signs its staff out (its own event, for attendance).
    fn may_also(self, e: &Event) -> bool {
        matches!(
            (self, e),
            (Kind::Finish, Event::ServiceRated { .. })
                | (Kind::Close, Event::StaffSignedOut { .. })
        )
    }
}

#[derive(Clone, Debug)]
enum Answer {
    /// 2xx, with its JSON body.
    Acked(Value),
    /// 4xx: decided and refused (or rejected before the hall).
    Refused(u16, String),
    /// 5xx, a broken connection, a truncated answer, a timeout.
    Lost(String),
}

#[derive(Clone, Debug)]
struct Op {
    key: String,
    kind: Kind,
    round: usize,
    window: Option<u32>,
    token: String,
    from: Option<Ipv4Addr>,
    path: String,
    body: Option<Value>,
    answer: Answer,
}

impl Op {
    fn req(&self) -> Req {
        let req = Req::new("POST", &self.path)
            .auth(Some(&self.token))
            .header("Idempotency-Key", &self.key);
        match &self.body {
            Some(b) => req.json(b),
            None => req,
        }
    }

    /// The ticket id the answer named (`ticket.id`), if any.
    fn acked_ticket(&self) -> Option<u64> {
        match &self.answer {
            Answer::Acked(b) => b["ticket"]["id"].as_u64(),
            _ => None,
        }
    }

    /// Whether the answer says the command changed nothing (a call-next
    /// with nobody waiting): then nothing is journaled and nothing remembered.
    fn acked_without_events(&self) -> bool {
        matches!(&self.answer, Answer::Acked(b) if self.kind == Kind::CallNext && b["ticket"].is_null())
    }
}

#[derive(Default)]
struct Counts {
    http_5xx: AtomicU64,
}

async fn exchange(addr: SocketAddr, op: &mut Op, counts: &Counts) {
    op.answer = match try_send(addr, op.from, &op.req(), REQUEST_WAIT).await {
        Err(e) => Answer::Lost(e),
        Ok(r) if (200..300).contains(&r.status) => match serde_json::from_slice(&r.body) {
            Ok(v) => Answer::Acked(v),
            Err(e) => Answer::Lost(format!("{} with a cut body: {e}", r.status)),
        },
        Ok(r) if r.status >= 500 => {
            counts.http_5xx.fetch_add(1, Ordering::Relaxed);
            Answer::Lost(format!("{} {}", r.status, r.text()))
        }
        Ok(r) => {
            let code = serde_json::from_slice::<Value>(&r.body)
                .ok()
                .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
                .unwrap_or_default();
            Answer::Refused(r.status, code)
        }
    };
}

async fn get(addr: SocketAddr, path: &str, token: &str) -> Option<Value> {
    let r = try_send(
        addr,
        None,
        &Req::new("GET", path).auth(Some(token)),
        REQUEST_WAIT,
    )
    .await
    .ok()?;
    if r.status != 200 {
        return None;
    }
    serde_json::from_slice(&r.body).ok()
}

// --- the clients of one round --------------------------------------------------

/// What every client of a round needs.
struct RoundCtx {
    addr: SocketAddr,
    round: usize,
    seed: u64,
    services: Vec<String>,
    counters: Vec<(u32, String)>,
    manager: String,
    counts: Arc<Counts>,
}

fn new_op(
    ctx: &RoundCtx,
    key: String,
    kind: Kind,
    window: Option<u32>,
    token: &str,
    from: Option<Ipv4Addr>,
) -> Op {
    let path = match window {
        Some(w) => format!("/api/v1/windows/{w}/{}", kind.action()),
        None => "/api/v1/tickets".to_string(),
    };
    Op {
        key,
        kind,
        round: ctx.round,
        window,
        token: token.to_string(),
        from,
        path,
        body: None,
        answer: Answer::Lost("not sent".into()),
    }
}

/// A kiosk at its own address (rate limits count per address): issues
/// until the power goes.
async fn kiosk(ctx: Arc<RoundCtx>, k: usize) -> Vec<Op> {
    let mut rng = SimRng::new(ctx.seed ^ (ctx.round as u64) << 20 ^ 0x4B10 ^ k as u64);
    let from = Ipv4Addr::new(127, 0, 0, 20 + k as u8);
    let mut ops = Vec::new();
    for i in 1.. {
        let service = rng.pick(&ctx.services).expect("services").clone();
        let mut op = new_op(
            &ctx,
            format!("r{}-k{k}-{i}", ctx.round),
            Kind::Issue,
            None,
            KIOSK,
            Some(from),
        );
        op.body = Some(json!({ "service": service }));
        exchange(ctx.addr, &mut op, &ctx.counts).await;
        let lost = matches!(op.answer, Answer::Lost(_));
        ops.push(op);
        if lost {
            break;
        }
        tokio::time::sleep(Duration::from_millis(rng.range(5, 40) as u64)).await;
    }
    ops
}

/// A member of staff at window `w`: works the window by what it shows
/// (the window's `state` in each answer, or a fresh GET after a refusal).
async fn counter(ctx: Arc<RoundCtx>, c: usize) -> Vec<Op> {
    let (w, token) = ctx.counters[c].clone();
    let mut rng = SimRng::new(ctx.seed ^ (ctx.round as u64) << 20 ^ 0xC0 ^ (c as u64) << 8);
    let from = Some(Ipv4Addr::new(127, 0, 0, 40 + c as u8));
    let mut ops = Vec::new();
    let mut state: Option<String> = None;
    for i in 1.. {
        let Some(s) = state.clone() else {
            match get(ctx.addr, &format!("/api/v1/windows/{w}"), &token).await {
                Some(v) => state = v["state"].as_str().map(str::to_string),
                None => break,
            }
            continue;
        };
        let (kind, body) = match s.as_str() {
            "unstaffed" => (Kind::SignIn, None),
            "idle" if rng.chance(6) => {
                let reason = *rng.pick(&["lunch", "break", "meeting"]).expect("reasons");
                (Kind::Pause, Some(json!({ "reason": reason })))
            }
            "idle" => (Kind::CallNext, None),
            "paused" => (Kind::Resume, None),
            "calling" if rng.chance(20) => (Kind::NoShow, None),
            "calling" => (Kind::Start, None),
            "serving" if rng.chance(15) => {
                let to = rng.pick(&ctx.services).expect("services").clone();
                (
                    Kind::Transfer,
                    Some(json!({ "service": to, "reason": "power-cut test" })),
                )
            }
            "serving" => {
                let outcome = *rng
                    .pick(&["done", "done", "done", "accepted", "incomplete"])
                    .expect("outcomes");
                (Kind::Finish, Some(json!({ "outcome": outcome })))
            }
            _ => {
                // closed (the manager will reopen it) or not ours.
                tokio::time::sleep(Duration::from_millis(30)).await;
                state = None;
                continue;
            }
        };
        let mut op = new_op(
            &ctx,
            format!("r{}-w{w}-{i}", ctx.round),
            kind,
            Some(w),
            &token,
            from,
        );
        op.body = body;
        exchange(ctx.addr, &mut op, &ctx.counts).await;
        state = match &op.answer {
            Answer::Acked(b) => b["window"]["state"].as_str().map(str::to_string),
            _ => None,
        };
        let lost = matches!(op.answer, Answer::Lost(_));
        let idle_call = op.acked_without_events();
        ops.push(op);
        if lost {
            break;
        }
        let pause = if idle_call || kind == Kind::Pause {
            rng.range(20, 60)
        } else {
            rng.range(0, 8)
        };
        tokio::time::sleep(Duration::from_millis(pause as u64)).await;
    }
    ops
}

/// The manager: reopens closed counter windows, then now and then closes
/// one and reopens it a moment later.
async fn manage(ctx: Arc<RoundCtx>) -> Vec<Op> {
    let mut rng = SimRng::new(ctx.seed ^ (ctx.round as u64) << 20 ^ 0x3A4A);
    let from = Some(Ipv4Addr::new(127, 0, 0, 60));
    let mut ops = Vec::new();
    let mut i = 0;
    let mut send = async |kind: Kind, w: u32, ops: &mut Vec<Op>| -> bool {
        i += 1;
        let mut op = new_op(
            &ctx,
            format!("r{}-m-{i}", ctx.round),
            kind,
            Some(w),
            &ctx.manager,
            from,
        );
        exchange(ctx.addr, &mut op, &ctx.counts).await;
        let lost = matches!(op.answer, Answer::Lost(_));
        ops.push(op);
        !lost
    };
    let Some(list) = get(ctx.addr, "/api/v1/windows", &ctx.manager).await else {
        return ops;
    };
    for v in list["windows"].as_array().cloned().unwrap_or_default() {
        let n = v["number"].as_u64().unwrap_or(0) as u32;
        if v["state"] == "closed"
            && ctx.counters.iter().any(|(w, _)| *w == n)
            && !send(Kind::Open, n, &mut ops).await
        {
            return ops;
        }
    }
    loop {
        tokio::time::sleep(Duration::from_millis(rng.range(150, 500) as u64)).await;
        let w = ctx.counters[rng.below(ctx.counters.len() as u64) as usize].0;
        if !send(Kind::Close, w, &mut ops).await {
            return ops;
        }
        tokio::time::sleep(Duration::from_millis(rng.range(50, 300) as u64)).await;
        if !send(Kind::Open, w, &mut ops).await {
            return ops;
        }
    }
}

// --- the journal ------------------------------------------------------------------

/// What the journal holds, scanned incrementally after each kill.
#[derive(Default)]
struct Facts {
    after_seq: u64,
    day: Option<String>,
    /// Idempotency key → its rows (seq, event).
    by_key: HashMap<String, Vec<(u64, Event)>>,
    /// (business day, series cycle, number) → ticket id.
    numbers: HashMap<(String, u32, String), u64>,
    issued: usize,
    violations: Vec<String>,
}

impl Facts {
    fn scan(&mut self, journal: &Path) {
        let reader = JournalReader::open(journal).expect("open the journal read-only");
        reader
            .for_each_from(self.after_seq, |rec: Record| -> Result<(), JournalError> {
                self.after_seq = rec.seq;
                let event: Event = serde_json::from_str(&rec.payload).expect("an event payload");
                match &event {
                    Event::DayOpened { date } => self.day = Some(date.to_string()),
                    Event::TicketIssued {
                        ticket,
                        number,
                        cycle,
                        ..
                    } => {
                        self.issued += 1;
                        let day = self.day.clone().unwrap_or_default();
                        if let Some(first) = self
                            .numbers
                            .insert((day.clone(), *cycle, number.clone()), ticket.0)
                        {
                            self.violations.push(format!(
                                "number {number} (cycle {cycle}) issued twice on {day}: tickets {first} and {} (seq {})",
                                ticket.0, rec.seq
                            ));
                        }
                    }
                    _ => {}
                }
                if let (_, Some(key)) = split_client(&rec.client) {
                    self.by_key
                        .entry(key.to_string())
                        .or_default()
                        .push((rec.seq, event));
                }
                Ok(())
            })
            .expect("the journal reads back");
    }
}

/// The events journaled under `op`'s key are one whole application of it:
/// exactly one main event, about the op's window, nothing foreign.
fn check_whole(op: &Op, rows: &[(u64, Event)]) -> Result<(), String> {
    let mains: Vec<&Event> = rows
        .iter()
        .map(|(_, e)| e)
        .filter(|e| op.kind.is_main(e))
        .collect();
    if mains.len() != 1 {
        return Err(format!("{} main events", mains.len()));
    }
    if let Some((seq, e)) = rows
        .iter()
        .find(|(_, e)| !op.kind.is_main(e) && !op.kind.may_also(e))
    {
        return Err(format!("a foreign event at seq {seq}: {e:?}"));
    }
    let window = match mains[0] {
        Event::TicketCalled { window, .. }
        | Event::ServiceStarted { window, .. }
        | Event::TicketFinished { window, .. }
        | Event::TicketNoShow { window, .. }
        | Event::StaffSignedIn { window, .. }
        | Event::WindowPaused { window, .. }
        | Event::WindowResumed { window }
        | Event::WindowOpened { window }
        | Event::WindowClosed { window, .. } => Some(*window),
        Event::TicketTransferred { from_window, .. } => Some(*from_window),
        _ => None,
    };
    if window != op.window {
        return Err(format!(
            "main event at window {window:?}, asked at {:?}",
            op.window
        ));
    }
    Ok(())
}

/// Everything that must hold of the files after a kill, for every op so far.
fn check_after_kill(what: &str, ops: &[Op], facts: &Facts) -> usize {
    let mut failures = facts.violations.clone();
    let mut acked_checked = 0;
    for op in ops {
        let rows = facts.by_key.get(&op.key).map(Vec::as_slice);
        let about = format!(
            "{} {} (key {}, round {})",
            op.kind.action(),
            op.path,
            op.key,
            op.round
        );
        match (&op.answer, rows) {
            (Answer::Acked(_), _) if op.acked_without_events() => {
                acked_checked += 1;
                if let Some(rows) = rows {
                    failures.push(format!(
                        "{about}: answered 'nobody waits' but journaled {rows:?}"
                    ));
                }
            }
            (Answer::Acked(body), None) => failures.push(format!(
                "{about}: acknowledged but missing from the journal; answer {body}"
            )),
            (Answer::Acked(body), Some(rows)) => {
                acked_checked += 1;
                if let Err(e) = check_whole(op, rows) {
                    failures.push(format!(
                        "{about}: not one whole application ({e}): {rows:?}"
                    ));
                    continue;
                }
                let main = &rows
                    .iter()
                    .find(|(_, e)| op.kind.is_main(e))
                    .expect("main")
                    .1;
                if let Some(id) = op.acked_ticket()
                    && main.ticket().is_some_and(|t| t.0 != id)
                {
                    failures.push(format!("{about}: answered ticket {id}, journaled {main:?}"));
                }
                if let Event::TicketIssued { number, .. } = main
                    && body["ticket"]["number"].as_str() != Some(number.as_str())
                {
                    failures.push(format!(
                        "{about}: answered number {}, journaled {number}",
                        body["ticket"]["number"]
                    ));
                }
            }
            (Answer::Refused(status, code), Some(rows)) => failures.push(format!(
                "{about}: refused {status} {code} but journaled {rows:?}"
            )),
            (Answer::Refused(..), None) | (Answer::Lost(_), None) => {}
            (Answer::Lost(why), Some(rows)) => {
                if let Err(e) = check_whole(op, rows) {
                    failures.push(format!(
                        "{about}: unanswered ({why}) and not whole ({e}): {rows:?}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{what}: {} failures:\n{}",
        failures.len(),
        failures[..failures.len().min(30)].join("\n")
    );
    acked_checked
}

// --- after a restart ----------------------------------------------------------------

/// The restarted hall answers and is consistent.
async fn check_restarted(what: &str, addr: SocketAddr, manager: &str) {
    let health = try_send(addr, None, &Req::new("GET", "/healthz"), REQUEST_WAIT)
        .await
        .unwrap_or_else(|e| panic!("{what}: /healthz: {e}"));
    assert_eq!(health.status, 200, "{what}: /healthz {}", health.text());
    get(addr, "/api/v1/hall", manager)
        .await
        .unwrap_or_else(|| panic!("{what}: GET /api/v1/hall failed"));
    let list = get(addr, "/api/v1/windows", manager)
        .await
        .unwrap_or_else(|| panic!("{what}: GET /api/v1/windows failed"));
    let mut current_at: HashMap<u64, u64> = HashMap::new();
    for v in list["windows"].as_array().expect("windows") {
        let n = v["number"].as_u64().expect("number");
        let state = v["state"].as_str().unwrap_or("");
        let current = &v["current"];
        match state {
            "calling" | "serving" => {
                let want = if state == "calling" {
                    "called"
                } else {
                    "serving"
                };
                assert_eq!(
                    current["status"].as_str(),
                    Some(want),
                    "{what}: window {n} is {state} with current {current}"
                );
            }
            _ => assert!(
                current.is_null(),
                "{what}: window {n} is {state} but holds {current}"
            ),
        }
        if let Some(id) = current["id"].as_u64()
            && let Some(other) = current_at.insert(id, n)
        {
            panic!("{what}: ticket {id} is current at windows {other} and {n}");
        }
    }
}

/// Re-sends acknowledged requests of earlier rounds with their key: the
/// same answer, flagged as replayed. Returns how many were re-sent.
async fn resend(what: &str, addr: SocketAddr, ops: &[Op], rng: &mut SimRng) -> usize {
    let candidates: Vec<&Op> = ops
        .iter()
        .filter(|o| matches!(o.answer, Answer::Acked(_)) && !o.acked_without_events())
        .collect();
    let mut sent = 0;
    for _ in 0..RESENDS_PER_ROUND.min(candidates.len()) {
        let op = candidates[rng.below(candidates.len() as u64) as usize];
        let r = try_send(addr, op.from, &op.req(), REQUEST_WAIT)
            .await
            .unwrap_or_else(|e| panic!("{what}: re-sending {}: {e}", op.key));
        assert!(
            (200..300).contains(&r.status),
            "{what}: re-sent {} {} (key {}): {} {}",
            op.kind.action(),
            op.path,
            op.key,
            r.status,
            r.text()
        );
        let v = r.json();
        let Answer::Acked(first) = &op.answer else {
            unreachable!()
        };
        assert_eq!(
            v["ticket"]["id"],
            first["ticket"]["id"],
            "{what}: re-sent {} (key {}) answered another ticket: {v} (first: {first})",
            op.kind.action(),
            op.key
        );
        if op.kind == Kind::Issue {
            assert_eq!(
                v["ticket"]["number"], first["ticket"]["number"],
                "{what}: re-sent {}",
                op.key
            );
        } else {
            assert_eq!(
                v["replayed"],
                json!(true),
                "{what}: re-sent {}: {v}",
                op.key
            );
        }
        // The ticket reads back with the number it was given.
        if let Some(id) = op.acked_ticket() {
            let t = get(addr, &format!("/api/v1/tickets/{id}"), &op.token)
                .await
                .unwrap_or_else(|| panic!("{what}: GET /api/v1/tickets/{id} failed"));
            assert_eq!(
                t["ticket"]["number"], first["ticket"]["number"],
                "{what}: ticket {id} reads back as {t}"
            );
        }
        sent += 1;
    }
    sent
}

// --- the test -------------------------------------------------------------------------

async fn session(addr: SocketAddr, account: &str, from: Ipv4Addr) -> String {
    let r = try_send(
        addr,
        Some(from),
        &Req::new("POST", "/api/v1/sessions")
            .json(&json!({ "account": account, "password": "demo" })),
        Duration::from_secs(60),
    )
    .await
    .unwrap_or_else(|e| panic!("signing in {account}: {e}"));
    assert_eq!(r.status, 201, "signing in {account}: {}", r.text());
    let v = r.json();
    assert_eq!(v["must_change_password"], json!(false), "{account}: {v}");
    v["token"].as_str().expect("token").to_string()
}

/// A number from the environment, when set and valid.
fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

/// `HALLQ_POWER_CUT_SEED`, or one from the clock (printed by each test).
fn run_seed() -> u64 {
    env_number("HALLQ_POWER_CUT_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    })
}

#[test]
fn power_cut_during_a_busy_day_loses_no_acknowledged_operation() {
    let started = Instant::now();
    let rounds = env_number("HALLQ_POWER_CUT_ROUNDS").unwrap_or(ROUNDS_DEFAULT as u64) as usize;
    let seed = run_seed();
    eprintln!("power_cut: HALLQ_POWER_CUT_SEED={seed} HALLQ_POWER_CUT_ROUNDS={rounds}");
    let mut rng = SimRng::new(seed);

    // Counter windows 1…COUNTERS staffed by w01…, and the services they serve.
    let config = Config::demo();
    let mut counter_windows = Vec::new();
    let mut services: Vec<String> = Vec::new();
    for w in config.windows().iter().filter(|w| !w.services.is_empty()) {
        let account = format!("w{:02}", w.number);
        if !config.file.staff.iter().any(|s| s.account == account) {
            continue;
        }
        counter_windows.push((w.number, account));
        for s in &w.services {
            if !services.contains(&s.service) {
                services.push(s.service.clone());
            }
        }
        if counter_windows.len() == COUNTERS {
            break;
        }
    }
    assert_eq!(counter_windows.len(), COUNTERS, "demo windows with staff");

    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let log = tmp.path().join("hallq.log");
    let journal = data.join(JOURNAL_FILE);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let counts = Arc::new(Counts::default());
    let start = || serve(&data, &[], &log);

    // Sessions are durable: sign in once, before the first cut.
    let first = start();
    let (counters, manager) = runtime.block_on(async {
        let mut counters = Vec::new();
        for (i, (w, account)) in counter_windows.iter().enumerate() {
            let token = session(first.addr, account, Ipv4Addr::new(127, 0, 0, 80 + i as u8)).await;
            counters.push((*w, token));
        }
        let manager = session(first.addr, "manager", Ipv4Addr::new(127, 0, 0, 79)).await;
        (counters, manager)
    });

    let mut daemon = Some(first);
    let mut ops: Vec<Op> = Vec::new();
    let mut facts = Facts::default();
    let mut acked_checked = 0;
    let mut resent = 0;
    let mut kill_after = Vec::new();
    for round in 0..rounds {
        let addr = match &daemon {
            Some(d) => d.addr,
            None => {
                let d = start();
                let addr = d.addr;
                daemon = Some(d);
                let what = format!("after restart {round} (seed {seed})");
                resent += runtime.block_on(async {
                    check_restarted(&what, addr, &manager).await;
                    resend(&what, addr, &ops, &mut rng).await
                });
                addr
            }
        };
        let ctx = Arc::new(RoundCtx {
            addr,
            round,
            seed,
            services: services.clone(),
            counters: counters.clone(),
            manager: manager.clone(),
            counts: counts.clone(),
        });
        let kill_at = Duration::from_millis(rng.range(50, 1_500) as u64);
        kill_after.push(kill_at.as_millis() as u64);
        let round_ops = runtime.block_on(async {
            let mut tasks = Vec::new();
            for k in 0..KIOSKS {
                tasks.push(tokio::spawn(kiosk(ctx.clone(), k)));
            }
            for c in 0..COUNTERS {
                tasks.push(tokio::spawn(counter(ctx.clone(), c)));
            }
            tasks.push(tokio::spawn(manage(ctx.clone())));
            tokio::time::sleep(kill_at).await;
            // The power cut.
            daemon.take().expect("the daemon runs").kill();
            let mut all = Vec::new();
            for t in tasks {
                let got = tokio::time::timeout(Duration::from_secs(30), t)
                    .await
                    .expect("clients stop once the daemon is gone")
                    .expect("client task");
                all.extend(got);
            }
            all
        });
        ops.extend(round_ops);

        let what = format!("after kill {} at {kill_at:?} (seed {seed})", round + 1);
        let out = daemon::verify(&data);
        assert!(
            out.status.success(),
            "{what}: hallq verify failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        facts.scan(&journal);
        acked_checked = check_after_kill(&what, &ops, &facts);
    }

    // A last start: the hall after the last cut answers and is consistent.
    let daemon = start();
    runtime.block_on(async {
        let what = format!("after the last restart (seed {seed})");
        check_restarted(&what, daemon.addr, &manager).await;
        resent += resend(&what, daemon.addr, &ops, &mut rng).await;
    });
    daemon.kill();
    facts.scan(&journal);
    acked_checked = acked_checked.max(check_after_kill("at the end", &ops, &facts));

    let mut by_kind: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    for op in &ops {
        let e = by_kind.entry(op.kind.action().to_string()).or_default();
        match &op.answer {
            Answer::Acked(_) => e.0 += 1,
            Answer::Refused(status, code) => {
                e.1 += 1;
                *refusals
                    .entry(format!("{} {status} {code}", op.kind.action()))
                    .or_default() += 1;
            }
            Answer::Lost(_) => e.2 += 1,
        }
    }
    let lost_present = ops
        .iter()
        .filter(|o| matches!(o.answer, Answer::Lost(_)) && facts.by_key.contains_key(&o.key))
        .count();
    let lost = ops
        .iter()
        .filter(|o| matches!(o.answer, Answer::Lost(_)))
        .count();
    eprintln!(
        "power_cut: {rounds} rounds / {rounds} kills in {:.1} s (kills at {kill_after:?} ms); {} requests, \
         {acked_checked} acknowledged checked against the journal, {resent} re-sent after restarts; \
         {lost} unanswered ({lost_present} of them journaled, whole); {} tickets issued, journal at seq {}; \
         5xx {}; by action (acked, refused, unanswered): {by_kind:?}; refusals {refusals:?}",
        started.elapsed().as_secs_f64(),
        ops.len(),
        facts.issued,
        facts.after_seq,
        counts.http_5xx.load(Ordering::Relaxed),
    );
    let acked = |k: Kind| {
        ops.iter()
            .filter(|o| {
                o.kind == k && matches!(o.answer, Answer::Acked(_)) && !o.acked_without_events()
            })
            .count()
    };
    for k in [Kind::Issue, Kind::CallNext, Kind::Start, Kind::Finish] {
        assert!(
            acked(k) >= 20,
            "too little {} work: {}",
            k.action(),
            acked(k)
        );
    }
    // The rarer actions (the manager acts every 150–500 ms) over enough rounds.
    for k in [Kind::NoShow, Kind::Transfer, Kind::Pause, Kind::Close] {
        assert!(
            rounds < 10 || acked(k) > 0,
            "no {} was ever acknowledged",
            k.action()
        );
    }
    assert!(
        lost > 0,
        "no request was ever cut off: the kills hit nothing"
    );
}

// --- killing during scheduled backups ---------------------------------------------------

/// Every entry of the backup directory named like a set is a whole set:
/// journal (verifying, with the head its name says), accounts, person key.
/// Returns (sets, other entries — partial sets left by a cut).
fn check_backup_dir(what: &str, dir: &Path) -> (usize, usize) {
    let mut sets = 0;
    let mut others = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, 0);
    };
    for entry in entries {
        let entry = entry.expect("backup dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((_, seq)) = backups::parse_set_name(&name) else {
            others += 1;
            continue;
        };
        sets += 1;
        let set = entry.path();
        for f in [JOURNAL_FILE, ACCOUNTS_FILE, "person.key"] {
            assert!(set.join(f).is_file(), "{what}: set {name} lacks {f}");
        }
        let report = hallq::journal::verify(&set.join(JOURNAL_FILE))
            .unwrap_or_else(|e| panic!("{what}: set {name}: {e}"));
        assert!(
            report.is_clean(),
            "{what}: set {name} does not verify: {report:?}"
        );
        assert_eq!(
            report.last_seq, seq,
            "{what}: set {name} holds seq {}",
            report.last_seq
        );
    }
    (sets, others)
}

#[test]
fn power_cut_during_scheduled_backups_leaves_no_partial_set_looking_complete() {
    let started = Instant::now();
    let rounds = env_number("HALLQ_POWER_CUT_BACKUP_ROUNDS").unwrap_or(BACKUP_ROUNDS_DEFAULT as u64)
        as usize;
    let seed = run_seed();
    eprintln!("power_cut backups: HALLQ_POWER_CUT_SEED={seed}");
    let mut rng = SimRng::new(seed ^ 0xBAC0);
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let sets_dir = tmp.path().join("backups");
    let config_path = tmp.path().join("hall.toml");
    std::fs::write(
        &config_path,
        format!(
            "{DEMO_HALL_TOML}\n[backup]\ndir = \"{}\"\nevery_minutes = 0.05\nkeep = 1000\n",
            sets_dir.display()
        ),
    )
    .expect("write config");
    let config = Config::load(&config_path).expect("the config is valid");
    let services: Vec<String> = config
        .windows()
        .iter()
        .flat_map(|w| w.services.iter().map(|s| s.service.clone()))
        .take(4)
        .collect();
    let log = tmp.path().join("hallq.log");
    let config_arg = config_path.to_str().expect("utf-8 path");
    let start = || serve(&data, &["--config", config_arg], &log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let counts = Arc::new(Counts::default());
    let mut ops: Vec<Op> = Vec::new();
    let mut facts = Facts::default();
    let mut partial_seen = 0;
    for round in 0..rounds {
        let daemon = start();
        let addr = daemon.addr;
        if round > 0 {
            runtime.block_on(resend(
                &format!("backup round {round}"),
                addr,
                &ops,
                &mut rng,
            ));
        }
        let ctx = Arc::new(RoundCtx {
            addr,
            round,
            seed,
            services: services.clone(),
            counters: Vec::new(),
            manager: String::new(),
            counts: counts.clone(),
        });
        // Sets are due every 3 s: cut before, during or after one.
        let kill_at = Duration::from_millis(rng.range(2_500, 7_000) as u64);
        let mut daemon = Some(daemon);
        ops.extend(runtime.block_on(async {
            let tasks: Vec<_> = (0..2)
                .map(|k| tokio::spawn(kiosk(ctx.clone(), k)))
                .collect();
            tokio::time::sleep(kill_at).await;
            daemon.take().expect("running").kill();
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.expect("kiosk task"));
            }
            all
        }));
        let what = format!("backup round {round}, kill at {kill_at:?} (seed {seed})");
        let out = daemon::verify(&data);
        assert!(
            out.status.success(),
            "{what}: hallq verify failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        facts.scan(&data.join(JOURNAL_FILE));
        check_after_kill(&what, &ops, &facts);
        let (_, others) = check_backup_dir(&what, &sets_dir);
        partial_seen = partial_seen.max(others);
    }
    let (sets, others) = check_backup_dir("at the end", &sets_dir);
    assert!(sets > 0, "no backup set was ever taken");
    // The newest set restores into a fresh directory and verifies there.
    let newest = backups::list_sets(&sets_dir)
        .expect("list sets")
        .pop()
        .expect("a set");
    let fresh = tmp.path().join("restored");
    let out = daemon::hallq()
        .arg("restore")
        .arg(&newest)
        .arg("--data")
        .arg(&fresh)
        .output()
        .expect("run hallq restore");
    assert!(
        out.status.success(),
        "restore {}: {}",
        newest.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        daemon::verify(&fresh).status.success(),
        "the restored journal verifies"
    );
    eprintln!(
        "power_cut backups: {rounds} kills in {:.1} s; {sets} whole sets, {others} partial sets left \
         by cuts; {} tickets acknowledged",
        started.elapsed().as_secs_f64(),
        ops.iter()
            .filter(|o| matches!(o.answer, Answer::Acked(_)))
            .count()
    );
}
