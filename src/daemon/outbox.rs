//! The 好差评 push: every rating is written to the journal's outbox in the
//! transaction of its `service_rated` event (by the owner, see [`apply`]),
//! and this task sends the pending entries, oldest first, to the configured
//! `[evaluation_push] url` until the receiver acknowledges each with a 2xx.
//!
//! # What is pushed
//!
//! Ratings only (非常满意 … 非常不满意). A *not rated* (未评价, the evaluator
//! timed out or the window finished its next ticket first) is not an
//! evaluation the provincial platform collects; it stays in the journal and
//! in the statistics (rated share), and in `GET /api/v1/evaluations`.
//!
//! Entries are written only while `[evaluation_push]` is configured: a hall
//! that does not push does not grow an outbox nobody drains. Ratings given
//! before the push was configured are not sent; they are in the evaluations
//! export (CSV/JSON, computed from the journal for any period) for a manual
//! upload. Entries written while the push was configured but not yet
//! acknowledged are kept if it is switched off, and sent when it is back.
//!
//! # The request
//!
//! `POST url`, `Content-Type: application/json`, `Idempotency-Key:
//! hallq-<hall_code>-<id>`, `Authorization: Bearer <token>` when
//! `token_file` is set. The body is the joined evaluation
//! (`stats::EvaluationRecord`: `id`, ticket, service, department, window,
//! staff, rating …) as frozen at commit, plus `idempotency_key` and
//! `hall_code`. `id` is the journal seq of the `service_rated` row: unique
//! and stable for the life of the hall.
//!
//! # Delivery: never lost, sent again only in one case
//!
//! - A 2xx acknowledges the entry: the pusher asks the owner to mark it
//!   (`HallHandle::outbox_ack`, committed in the owner's next batch — the
//!   owner stays the one writer). Once that commit is done the entry is never
//!   sent again, across restarts too (pending entries are read back from the
//!   journal). While the mark is not committed yet (a failed commit), the
//!   pusher retries the mark, not the send.
//! - Anything else (non-2xx, timeout, connection refused or reset, a
//!   redirect) is a failed attempt: the same entry is tried again after an
//!   exponential backoff (see [`Backoff`]); entries behind it wait, so the
//!   receiver sees ratings in journal order. An entry is never dropped.
//! - The one unavoidable resend: the process dies after the receiver sent its
//!   2xx and before the mark was committed (power cut, SIGKILL). After the
//!   restart the same entry is sent again with the same `Idempotency-Key`
//!   and `id`; the receiver must deduplicate by that key (or id). No
//!   protocol can avoid this without the receiver's help.
//! - Restoring a journal backup brings back entries acknowledged after the
//!   backup was taken; they are resent the same way.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast::error::RecvError;

use super::HallHandle;
use super::clock::{Clock, SystemClock};
use crate::config::{Config, EvaluationPushConfig};
use crate::journal::outbox::{OutboxEntry, OutboxReader};
use crate::queue::{Actor, Command, Event, Hall, Millis, Refusal};
use crate::sim::traffic::SimRng;
use crate::stats::EvaluationRecord;

/// First retry delay.
pub const BACKOFF_FIRST_MS: u64 = 1_000;
/// Longest retry delay.
pub const BACKOFF_MAX_MS: u64 = 5 * 60 * 1_000;
/// Entries read from the journal at a time.
const READ_BATCH: usize = 64;
/// Even without a new rating on the broadcast, look at the outbox this often.
const IDLE_RECHECK: Duration = Duration::from_secs(30);
/// Most bytes of a receiver's answer kept (for `last_error`).
const ANSWER_BYTES_MAX: u64 = 4096;
/// Most characters of `last_error`.
const LAST_ERROR_CHARS_MAX: usize = 200;

// ---------------------------------------------------------------------------
// On the owner thread: applying a command while capturing its evaluations.

/// A rating of the batch being applied: the index of its `service_rated`
/// event among the command's events, and the joined record (its `id` is set
/// at commit, when the seq is known).
pub type Captured = (usize, EvaluationRecord);

/// `Hall::apply` (decide, then evolve every event), building the
/// `EvaluationRecord` of each rated `service_rated` event from the hall as
/// it stands just before that event is folded — the same moment the
/// statistics replay uses — attributed to the visit that finished at the
/// window (its service, not the next flow step's), so both build the same
/// record. With `capture` false it is exactly `hall.apply`.
pub fn apply(
    hall: &mut Hall,
    actor: &Actor,
    command: &Command,
    now_ms: Millis,
    capture: bool,
) -> Result<(Vec<Event>, Vec<Captured>), Refusal> {
    if !capture {
        return hall.apply(actor, command, now_ms).map(|e| (e, Vec::new()));
    }
    let events = hall.decide(actor, command, now_ms)?;
    let mut captured = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if let Event::ServiceRated {
            ticket,
            window,
            staff,
            rating: rating @ Some(_),
        } = e
        {
            let mut record =
                crate::stats::evaluation::record(hall, 0, now_ms, *ticket, *window, staff, *rating);
            // The rated visit is the one that finished at this window (the
            // statistics attribute it the same way).
            if let Some(a) = hall
                .window(*window)
                .and_then(|w| w.awaiting_rating.as_ref())
                .filter(|a| a.ticket == *ticket)
            {
                crate::stats::evaluation::set_visit_service(hall.config(), &mut record, &a.service);
            }
            captured.push((i, record));
        }
        hall.evolve(e, now_ms);
    }
    Ok((events, captured))
}

// ---------------------------------------------------------------------------
// Backoff (pure: the randomness is a seeded SimRng).

/// Exponential backoff with "equal jitter": the delay after the n-th failure
/// in a row (n = 0, 1, …) is uniform in [b/2, b] with
/// b = min(1 s × 2ⁿ, 5 min). A success resets it. Jitter spreads the retries
/// of many halls after the provincial platform comes back.
#[derive(Debug, Clone)]
pub struct Backoff {
    failures: u32,
    rng: SimRng,
}

impl Backoff {
    pub fn new(seed: u64) -> Backoff {
        Backoff {
            failures: 0,
            rng: SimRng::new(seed),
        }
    }

    /// The upper bound b of the next delay (before jitter).
    pub fn ceiling_ms(&self) -> u64 {
        let doublings = self.failures.min(20);
        BACKOFF_FIRST_MS
            .saturating_mul(1u64 << doublings)
            .min(BACKOFF_MAX_MS)
    }

    /// The delay before the next attempt, counting one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let b = self.ceiling_ms();
        let half = b / 2;
        let delay = half + self.rng.below(b - half + 1);
        self.failures = self.failures.saturating_add(1);
        Duration::from_millis(delay)
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

// ---------------------------------------------------------------------------
// Counters for the dashboard and metrics.

/// What the pusher has done since the daemon started (readable from
/// `AppState::outbox`). Pending entries are counted from the journal.
#[derive(Debug, Default)]
pub struct OutboxCounters {
    /// Entries the receiver acknowledged (2xx) since start.
    sent: AtomicU64,
    /// Failed attempts since start.
    failures: AtomicU64,
    /// Pending entries at the pusher's last look at the outbox.
    pending: AtomicU64,
    detail: Mutex<Detail>,
}

#[derive(Debug, Default, Clone)]
struct Detail {
    last_error: Option<String>,
    last_error_ms: Option<Millis>,
    last_sent_id: Option<u64>,
    last_sent_ms: Option<Millis>,
    /// The entry being sent (or waited on), and when it is tried next.
    current_id: Option<u64>,
    next_attempt_ms: Option<Millis>,
    failures_in_a_row: u32,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct OutboxSnapshot {
    /// Acknowledged (2xx) since the daemon started.
    pub sent: u64,
    /// Failed attempts since the daemon started.
    pub failures: u64,
    /// Pending entries at the pusher's last look.
    pub pending: u64,
    /// The last failure (`HTTP 503: …`, `connection: …`), if any.
    pub last_error: Option<String>,
    pub last_error_ms: Option<Millis>,
    pub last_sent_id: Option<u64>,
    pub last_sent_ms: Option<Millis>,
    /// The entry at the head of the line (being sent or waiting to be retried).
    pub current_id: Option<u64>,
    /// When the head entry is tried next (after a failure).
    pub next_attempt_ms: Option<Millis>,
    /// Failures of the head entry in a row.
    pub failures_in_a_row: u32,
}

impl OutboxCounters {
    pub fn snapshot(&self) -> OutboxSnapshot {
        let d = self.detail.lock().map(|d| d.clone()).unwrap_or_default();
        OutboxSnapshot {
            sent: self.sent.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            pending: self.pending.load(Ordering::Relaxed),
            last_error: d.last_error,
            last_error_ms: d.last_error_ms,
            last_sent_id: d.last_sent_id,
            last_sent_ms: d.last_sent_ms,
            current_id: d.current_id,
            next_attempt_ms: d.next_attempt_ms,
            failures_in_a_row: d.failures_in_a_row,
        }
    }

    fn with(&self, f: impl FnOnce(&mut Detail)) {
        if let Ok(mut d) = self.detail.lock() {
            f(&mut d);
        }
    }

    fn failed(&self, id: Option<u64>, error: &str, retry_in: Duration, in_a_row: u32) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let now = SystemClock.now_ms();
        let error: String = error
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(LAST_ERROR_CHARS_MAX)
            .collect();
        self.with(|d| {
            d.last_error = Some(error);
            d.last_error_ms = Some(now);
            d.current_id = id;
            d.next_attempt_ms = Some(now + retry_in.as_millis() as Millis);
            d.failures_in_a_row = in_a_row;
        });
    }

    fn acknowledged(&self, id: u64) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
                Some(p.saturating_sub(1))
            })
            .ok();
        let now = SystemClock.now_ms();
        self.with(|d| {
            d.last_sent_id = Some(id);
            d.last_sent_ms = Some(now);
            d.current_id = None;
            d.next_attempt_ms = None;
            d.failures_in_a_row = 0;
        });
    }
}

// ---------------------------------------------------------------------------
// The pusher task.

/// `[evaluation_push]` with its files read: what the task needs.
pub struct PushTarget {
    url: String,
    /// Never logged (no Debug derive on purpose).
    token: Option<String>,
    timeout: Duration,
    ca_pem: Option<Vec<u8>>,
    hall_code: String,
}

impl std::fmt::Debug for PushTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushTarget")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "(set)"))
            .field("timeout", &self.timeout)
            .field("ca", &self.ca_pem.is_some())
            .field("hall_code", &self.hall_code)
            .finish()
    }
}

/// The hall code of the `Idempotency-Key`: the configured one, else `h` and
/// 12 hex digits of the SHA-256 of the hall's name (stable while the name is).
pub fn hall_code(config: &Config, push: &EvaluationPushConfig) -> String {
    match &push.hall_code {
        Some(code) => code.clone(),
        None => {
            let digest = Sha256::digest(config.file.hall.name.as_bytes());
            format!("h{}", &hex::encode(digest)[..12])
        }
    }
}

/// `hallq-<hall_code>-<id>`.
pub fn idempotency_key(hall_code: &str, id: u64) -> String {
    format!("hallq-{hall_code}-{id}")
}

impl PushTarget {
    /// Reads `token_file` and `ca_file` (relative to the configuration
    /// file's directory). Fails — and so stops the start — when a file is
    /// missing, the token is empty or not a visible-ASCII header value, or
    /// the CA file holds no certificate.
    pub fn prepare(config: &Config) -> anyhow::Result<Option<PushTarget>> {
        let Some(push) = &config.file.evaluation_push else {
            return Ok(None);
        };
        let base = Path::new(&config.source_name)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let token = match &push.token_file {
            None => None,
            Some(file) => {
                let path = base.join(file);
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!("reading [evaluation_push] token_file {}", path.display())
                })?;
                let token = text.trim();
                if token.is_empty() || !token.chars().all(|c| c.is_ascii_graphic()) {
                    anyhow::bail!(
                        "[evaluation_push] token_file {}: the token must be one line of visible ASCII \
                         characters (it is sent as `Authorization: Bearer <token>`)",
                        path.display()
                    );
                }
                Some(token.to_string())
            }
        };
        let ca_pem = match &push.ca_file {
            None => None,
            Some(file) => {
                let path = base.join(file);
                let pem = std::fs::read(&path).with_context(|| {
                    format!("reading [evaluation_push] ca_file {}", path.display())
                })?;
                let certs = ca_certificates(&pem);
                if certs.is_empty() {
                    anyhow::bail!(
                        "[evaluation_push] ca_file {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
                        path.display()
                    );
                }
                Some(pem)
            }
        };
        Ok(Some(PushTarget {
            url: push.url.clone(),
            token,
            timeout: Duration::from_secs(u64::from(push.timeout_seconds)),
            ca_pem,
            hall_code: hall_code(config, push),
        }))
    }

    fn agent(&self) -> ureq::Agent {
        let mut builder = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            // A redirected POST is not an acknowledgement: never follow one.
            .max_redirects(0)
            .user_agent(concat!("hallq/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &self.ca_pem {
            let certs = ca_certificates(pem);
            builder = builder.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                    .build(),
            );
        }
        builder.build().into()
    }
}

fn ca_certificates(pem: &[u8]) -> Vec<ureq::tls::Certificate<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect()
}

/// The body of one entry: the stored record plus its idempotency key and
/// the hall code. A payload that is not a JSON object (never written by
/// hallq) is sent wrapped as `{"evaluation": …}` rather than dropped.
pub fn body(entry: &OutboxEntry, hall_code: &str) -> String {
    let key = idempotency_key(hall_code, entry.id);
    let mut value = match serde_json::from_str::<serde_json::Value>(&entry.payload) {
        Ok(serde_json::Value::Object(map)) => serde_json::Value::Object(map),
        Ok(other) => serde_json::json!({ "id": entry.id, "evaluation": other }),
        Err(_) => serde_json::json!({ "id": entry.id, "evaluation": entry.payload }),
    };
    if let Some(map) = value.as_object_mut() {
        map.insert("idempotency_key".into(), key.into());
        map.insert("hall_code".into(), hall_code.into());
    }
    value.to_string()
}

/// One attempt: Ok on a 2xx, else what went wrong. BLOCKING.
fn send_one(agent: &ureq::Agent, target: &PushTarget, entry: &OutboxEntry) -> Result<(), String> {
    let key = idempotency_key(&target.hall_code, entry.id);
    let mut request = agent
        .post(&target.url)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", &key);
    if let Some(token) = &target.token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    match request.send(body(entry, &target.hall_code)) {
        Ok(mut response) => {
            let status = response.status().as_u16();
            // Read (a bounded part of) the answer so the connection can be reused.
            let text = response
                .body_mut()
                .with_config()
                .limit(ANSWER_BYTES_MAX)
                .read_to_string()
                .unwrap_or_default();
            if (200..300).contains(&status) {
                Ok(())
            } else {
                let text = text.trim();
                Err(if text.is_empty() {
                    format!("HTTP {status}")
                } else {
                    format!("HTTP {status}: {text}")
                })
            }
        }
        Err(e) => Err(format!("{e}")),
    }
}

/// The running pusher.
pub struct Pusher {
    pub counters: Arc<OutboxCounters>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts the pusher task: it reads the outbox of `journal_path` (read-only)
/// and acknowledges through `hall`.
pub fn start(target: PushTarget, hall: HallHandle, journal_path: PathBuf) -> Pusher {
    let counters = Arc::new(OutboxCounters::default());
    let seed = SystemClock.now_ms() as u64 ^ u64::from(std::process::id()).rotate_left(32);
    // Logged without its query (it may carry a platform's application id).
    let url = target.url.split('?').next().unwrap_or_default().to_string();
    tracing::info!(%url, hall_code = %target.hall_code, "evaluation push started");
    let task = tokio::spawn(run(
        Arc::new(target),
        hall,
        journal_path,
        counters.clone(),
        Backoff::new(seed),
    ));
    Pusher { counters, task }
}

async fn read_pending(path: PathBuf) -> anyhow::Result<(Vec<OutboxEntry>, u64)> {
    tokio::task::spawn_blocking(move || {
        let reader = OutboxReader::open(&path)?;
        let entries = reader.pending(0, READ_BATCH)?;
        let pending = reader.counts()?.pending;
        anyhow::Ok((entries, pending))
    })
    .await?
}

async fn run(
    target: Arc<PushTarget>,
    hall: HallHandle,
    journal_path: PathBuf,
    counters: Arc<OutboxCounters>,
    mut backoff: Backoff,
) {
    // Subscribe before the first read, so a rating committed in between wakes us.
    let mut events = hall.subscribe();
    let agent = target.agent();
    // Acknowledged by the receiver, mark not committed yet: never resent.
    let mut unmarked: Vec<u64> = Vec::new();
    loop {
        if !unmarked.is_empty() {
            match hall.outbox_ack(unmarked.clone()).await {
                Ok(()) => unmarked.clear(),
                Err(super::SubmitError::ShuttingDown) => return,
                Err(e) => {
                    let delay = backoff.next_delay();
                    let error = format!("marking acknowledged entries: {e}");
                    tracing::warn!(error = %error, "evaluation push");
                    counters.failed(unmarked.first().copied(), &error, delay, backoff.failures());
                    tokio::time::sleep(delay).await;
                    continue;
                }
            }
        }
        let entries = match read_pending(journal_path.clone()).await {
            Ok((entries, pending)) => {
                counters.pending.store(pending, Ordering::Relaxed);
                entries
            }
            Err(e) => {
                let delay = backoff.next_delay();
                let error = format!("reading the outbox: {e:#}");
                tracing::warn!(error = %error, "evaluation push");
                counters.failed(None, &error, delay, backoff.failures());
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        if entries.is_empty() {
            wait_for_rating(&mut events).await;
            continue;
        }
        for entry in entries {
            let entry = Arc::new(entry);
            loop {
                let (agent, target2, e2) = (agent.clone(), target.clone(), entry.clone());
                let result = tokio::task::spawn_blocking(move || send_one(&agent, &target2, &e2))
                    .await
                    .unwrap_or_else(|e| Err(format!("the sending thread failed: {e}")));
                match result {
                    Ok(()) => {
                        backoff.reset();
                        counters.acknowledged(entry.id);
                        match hall.outbox_ack(vec![entry.id]).await {
                            Ok(()) => {}
                            Err(super::SubmitError::ShuttingDown) => return,
                            Err(_) => unmarked.push(entry.id),
                        }
                        break;
                    }
                    Err(error) => {
                        let delay = backoff.next_delay();
                        tracing::warn!(id = entry.id, error = %error, retry_in_ms = delay.as_millis() as u64, "evaluation push failed");
                        counters.failed(Some(entry.id), &error, delay, backoff.failures());
                        tokio::time::sleep(delay).await;
                    }
                }
            }
            if !unmarked.is_empty() {
                break; // mark those first, then read the outbox again
            }
        }
    }
}

/// Waits for a rating on the owner's broadcast (or a lag, or
/// [`IDLE_RECHECK`]), whichever comes first.
async fn wait_for_rating(events: &mut tokio::sync::broadcast::Receiver<Arc<super::Published>>) {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(p)
                    if matches!(
                        p.event,
                        Event::ServiceRated {
                            rating: Some(_),
                            ..
                        }
                    ) =>
                {
                    return;
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => return,
                Err(RecvError::Closed) => {
                    std::future::pending::<()>().await;
                }
            }
        }
    };
    let _ = tokio::time::timeout(IDLE_RECHECK, wait).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_five_minutes_with_jitter() {
        let mut b = Backoff::new(42);
        let mut ceilings = Vec::new();
        for _ in 0..14 {
            let ceiling = b.ceiling_ms();
            let d = b.next_delay().as_millis() as u64;
            assert!(
                (ceiling / 2..=ceiling).contains(&d),
                "{d} ms outside [{}, {ceiling}]",
                ceiling / 2
            );
            ceilings.push(ceiling);
        }
        assert_eq!(
            &ceilings[..10],
            &[
                1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000
            ]
        );
        assert!(ceilings[10..].iter().all(|c| *c == BACKOFF_MAX_MS));
        // Thousands of failures in a row never overflow and stay capped.
        for _ in 0..10_000 {
            assert!(b.next_delay().as_millis() as u64 <= BACKOFF_MAX_MS);
        }
        b.reset();
        assert_eq!(b.failures(), 0);
        assert!(b.next_delay().as_millis() as u64 <= BACKOFF_FIRST_MS);
    }

    #[test]
    fn backoff_jitter_spreads_delays_and_is_seeded() {
        let delays = |seed| {
            let mut b = Backoff::new(seed);
            (0..12)
                .map(|_| {
                    let d = b.next_delay();
                    b.reset();
                    d
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(delays(7), delays(7), "same seed, same delays");
        let first = delays(7);
        let distinct: std::collections::BTreeSet<_> = first.iter().collect();
        assert!(distinct.len() > 6, "jitter varies the delay: {first:?}");
        assert_ne!(delays(7), delays(8));
    }

    #[test]
    fn keys_and_bodies() {
        assert_eq!(idempotency_key("h1a2", 17), "hallq-h1a2-17");
        let entry = OutboxEntry {
            id: 17,
            created_ms: 0,
            payload: r#"{"id":17,"rating_name":"满意"}"#.into(),
            acked_ms: None,
        };
        let v: serde_json::Value = serde_json::from_str(&body(&entry, "h1")).expect("JSON");
        assert_eq!(v["id"], 17);
        assert_eq!(v["rating_name"], "满意");
        assert_eq!(v["idempotency_key"], "hallq-h1-17");
        assert_eq!(v["hall_code"], "h1");
        // A payload hallq never writes is still sent, wrapped, never dropped.
        let odd = OutboxEntry {
            payload: "not json".into(),
            ..entry
        };
        let v: serde_json::Value = serde_json::from_str(&body(&odd, "h1")).expect("JSON");
        assert_eq!(v["id"], 17);
        assert_eq!(v["evaluation"], "not json");
    }

    #[test]
    fn the_default_hall_code_is_derived_from_the_hall_name() {
        let config = Config::demo();
        let push = EvaluationPushConfig {
            url: "https://x.example".into(),
            token_file: None,
            timeout_seconds: 10,
            ca_file: None,
            hall_code: None,
        };
        let code = hall_code(&config, &push);
        assert!(code.starts_with('h') && code.len() == 13, "{code}");
        assert!(crate::config::validate::is_hall_code(&code));
        let named = EvaluationPushConfig {
            hall_code: Some("341122-zwfw".into()),
            ..push
        };
        assert_eq!(hall_code(&config, &named), "341122-zwfw");
    }
}
