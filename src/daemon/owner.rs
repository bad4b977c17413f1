//! The owner task: the one thread that holds the hall.
//!
//! It takes messages from a bounded channel in order, applies each command
//! to the hall (decide + evolve), then commits every event of the batch in
//! ONE journal transaction (group commit: concurrent submitters share an
//! fsync), and only then answers the submitters and publishes the events.
//! Nothing outside this thread sees an event before the journal holds it
//! (invariant "commit before effect").
//!
//! If a commit fails, the batch's speculative state is thrown away by
//! rebuilding the hall from the journal, and every submitter of the batch
//! gets an error; nothing they asked for happened.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use anyhow::Context;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::clock::{Clock, Monotonic};
use super::idempotency::{self, IdempotencyCache};
use super::replay;
use crate::config::Config;
use crate::journal::outbox::{NewOutboxEntry, OutboxWrites};
use crate::journal::{Journal, NewRecord};
use crate::queue::refusal::refuse;
use crate::queue::{Actor, Command, Event, Hall, Millis, Refusal};

/// Commands and queries waiting for the owner (a limit: submitters wait, or
/// get `Busy` from `try_submit`, beyond it).
pub const CHANNEL_CAPACITY: usize = 4096;
/// Most messages folded into one commit.
pub const BATCH_MAX: usize = 1024;
/// Published events kept for slow subscribers before they must catch up from
/// the journal (or, the device hub, fetch the hall again). Each holds its
/// event and strings until overwritten, so the buffer is always full: 2,048
/// is about a minute of the soak's ten-times-busy hall (≈ 0.7 MB; 8,192 held
/// ≈ 2.7 MB).
pub const BROADCAST_CAPACITY: usize = 2048;

/// A committed event as the rest of hallq sees it.
#[derive(Debug, Clone)]
pub struct Published {
    pub seq: u64,
    pub at_ms: Millis,
    pub actor: String,
    pub client: String,
    pub event: Event,
    /// The number of the ticket the event is about, when the hall knows it:
    /// a screen shows a call straight from the message, and no subscriber
    /// need keep a map of the day's numbers.
    pub number: Option<String>,
}

/// What a submitter gets back for a command that was accepted.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Journal sequence of the first event (0 when the command produced none).
    pub first_seq: u64,
    pub at_ms: Millis,
    pub events: Vec<Event>,
    /// True when this is the remembered answer to an earlier request with
    /// the same idempotency key (nothing was applied this time).
    pub replayed: bool,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SubmitError {
    #[error("refused: {0}")]
    Refused(Refusal),
    #[error("the journal could not commit: {0}")]
    Journal(String),
    #[error("the hall is shutting down")]
    ShuttingDown,
    #[error("the hall is busy; try again")]
    Busy,
}

type Query = Box<dyn FnOnce(&Hall, u64) + Send>;
/// Outbox entries to mark acknowledged, and who waits for the commit.
type OutboxAck = (Vec<u64>, oneshot::Sender<Result<(), SubmitError>>);
type Reply = oneshot::Sender<Result<Applied, SubmitError>>;

/// A command with who sent it, from where, and its idempotency key.
pub struct Submission {
    pub actor: Actor,
    pub client: String,
    pub idempotency_key: Option<String>,
    pub command: Command,
}

enum Msg {
    Submit(Submission, Reply),
    Query(Query),
    /// Apply whatever the calendar makes due now.
    Tick,
    Shutdown,
    /// Mark evaluation outbox entries acknowledged by the receiver,
    /// committed with the next batch (the owner is the one writer).
    OutboxAck(OutboxAck),
    /// Apply a validated configuration (`reload.rs`), before the batch's commands.
    Reload(Box<ReloadRequest>),
}

/// A configuration to apply, the cell to set once committed, who asked.
struct ReloadRequest {
    config: Arc<Config>,
    /// The journal already replayed under `config` off this thread, if so.
    pre: Option<super::reload::PreReplayed>,
    live: crate::config::live::LiveConfig,
    actor: String,
    client: String,
    reply: oneshot::Sender<super::reload::ReloadOutcome>,
}

/// A cheap, cloneable handle to the owner task.
#[derive(Clone)]
pub struct HallHandle {
    tx: mpsc::Sender<Msg>,
    events: broadcast::Sender<Arc<Published>>,
    /// False after a commit failed, true again after one succeeds.
    journal_ok: Arc<AtomicBool>,
    /// Loop turns the owner has finished (the systemd watchdog's evidence of progress).
    turns: Arc<AtomicU64>,
    /// Commit latency and counts, for `GET /metrics`.
    journal_metrics: Arc<super::metrics::JournalMetrics>,
}

impl HallHandle {
    /// The journal's commit figures since start (`GET /metrics`).
    pub fn journal_metrics(&self) -> &super::metrics::JournalMetrics {
        &self.journal_metrics
    }

    /// Submits a command and waits until its events are durable (or it was refused).
    pub async fn submit(
        &self,
        actor: Actor,
        client: &str,
        command: Command,
    ) -> Result<Applied, SubmitError> {
        self.submit_with(Submission {
            actor,
            client: client.to_string(),
            idempotency_key: None,
            command,
        })
        .await
    }

    /// Submits with an idempotency key (validate it with `idempotency::valid_key` first).
    pub async fn submit_with(&self, submission: Submission) -> Result<Applied, SubmitError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Msg::Submit(submission, reply))
            .await
            .map_err(|_| SubmitError::ShuttingDown)?;
        rx.await.map_err(|_| SubmitError::ShuttingDown)?
    }

    /// Like `submit`, from a thread that is not async.
    pub fn submit_blocking(
        &self,
        actor: Actor,
        client: &str,
        command: Command,
    ) -> Result<Applied, SubmitError> {
        let (reply, rx) = oneshot::channel();
        let submission = Submission {
            actor,
            client: client.to_string(),
            idempotency_key: None,
            command,
        };
        self.tx
            .blocking_send(Msg::Submit(submission, reply))
            .map_err(|_| SubmitError::ShuttingDown)?;
        rx.blocking_recv().map_err(|_| SubmitError::ShuttingDown)?
    }

    /// Reads the hall (as of the last commit) on the owner thread.
    pub async fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Hall, u64) -> R + Send + 'static,
    ) -> Result<R, SubmitError> {
        let (reply, rx) = oneshot::channel();
        let q: Query = Box::new(move |hall, seq| {
            let _ = reply.send(f(hall, seq));
        });
        self.tx
            .send(Msg::Query(q))
            .await
            .map_err(|_| SubmitError::ShuttingDown)?;
        rx.await.map_err(|_| SubmitError::ShuttingDown)
    }

    /// Marks outbox entries acknowledged (the receiver answered 2xx);
    /// returns once the mark is committed. Unknown or already marked ids
    /// change nothing.
    pub async fn outbox_ack(&self, ids: Vec<u64>) -> Result<(), SubmitError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Msg::OutboxAck((ids, reply)))
            .await
            .map_err(|_| SubmitError::ShuttingDown)?;
        rx.await.map_err(|_| SubmitError::ShuttingDown)?
    }

    /// Has the owner apply a validated configuration (`daemon::reload`):
    /// rebuild the hall under it (finishing `pre`, the journal replayed
    /// under it off the owner, else replaying it all), check nothing live is lost, commit
    /// `config_applied`, swap, set `live`, publish. Use `Reloader::reload`.
    pub async fn reload(
        &self,
        config: Arc<Config>,
        pre: Option<super::reload::PreReplayed>,
        live: crate::config::live::LiveConfig,
        actor: &str,
        client: &str,
    ) -> Result<super::reload::ReloadOutcome, SubmitError> {
        let (reply, rx) = oneshot::channel();
        let request = ReloadRequest {
            config,
            pre,
            live,
            actor: actor.to_string(),
            client: client.to_string(),
            reply,
        };
        self.tx
            .send(Msg::Reload(Box::new(request)))
            .await
            .map_err(|_| SubmitError::ShuttingDown)?;
        rx.await.map_err(|_| SubmitError::ShuttingDown)
    }

    /// Whether the journal accepted the owner's last commit.
    pub fn journal_writable(&self) -> bool {
        self.journal_ok.load(Ordering::Relaxed)
    }

    /// How many loop turns (batches) the owner has finished; it stops
    /// moving when the owner is stuck (`daemon::notify`'s watchdog).
    pub fn turns(&self) -> u64 {
        self.turns.load(Ordering::Relaxed)
    }

    /// Committed events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.events.subscribe()
    }

    /// Asks the owner to apply calendar-driven commands that are due.
    pub fn tick(&self) -> bool {
        self.tx.try_send(Msg::Tick).is_ok()
    }

    /// Asks the owner to finish what is queued, commit and stop.
    pub async fn shutdown(&self) {
        let _ = self.tx.send(Msg::Shutdown).await;
    }
}

/// The running owner thread.
pub struct Owner {
    pub handle: HallHandle,
    pub thread: JoinHandle<anyhow::Result<()>>,
}

/// Opens the journal, replays it, records the configuration if it changed,
/// and starts the owner thread.
pub fn start<C: Clock>(
    config: Arc<Config>,
    journal_path: &std::path::Path,
    clock: C,
) -> anyhow::Result<Owner> {
    let mut journal = Journal::open(journal_path)
        .with_context(|| format!("opening journal {}", journal_path.display()))?;
    let replayed = replay::replay_full(config.clone(), &journal, None)?;
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
    let mut owner = OwnerLoop {
        hall: replayed.hall,
        clock: Monotonic::new(clock, replayed.last_at_ms),
        events: events.clone(),
        rx,
        batch: Vec::new(),
        keys: replayed.idempotency,
        journal_ok: Arc::new(AtomicBool::new(true)),
        turns: Arc::default(),
        poisoned: false,
        outbox: config.file.evaluation_push.is_some(),
        rated: Vec::new(),
        journal_metrics: Arc::default(),
    };
    if owner.hall.state().config_sha256.as_deref() != Some(config.source_sha256.as_str()) {
        let event = Event::ConfigApplied {
            sha256: config.source_sha256.clone(),
            source: config.source_name.clone(),
            changes: Vec::new(),
        };
        let now = owner.clock.now_ms();
        commit(
            &mut journal,
            &[(now, "system", "daemon", &event)],
            &OutboxWrites::default(),
        )?;
        owner.hall.evolve(&event, now);
    }
    let journal_ok = owner.journal_ok.clone();
    let turns = owner.turns.clone();
    let journal_metrics = owner.journal_metrics.clone();
    let thread = std::thread::Builder::new()
        .name("hallq-owner".into())
        .spawn(move || owner.run(journal))
        .context("starting the owner thread")?;
    Ok(Owner {
        handle: HallHandle {
            tx,
            events,
            journal_ok,
            turns,
            journal_metrics,
        },
        thread,
    })
}

struct OwnerLoop<C: Clock> {
    hall: Hall,
    clock: Monotonic<C>,
    events: broadcast::Sender<Arc<Published>>,
    rx: mpsc::Receiver<Msg>,
    batch: Vec<Msg>,
    keys: IdempotencyCache,
    journal_ok: Arc<AtomicBool>,
    /// Bumped after every batch (`HallHandle::turns`).
    turns: Arc<AtomicU64>,
    /// Set when applying a command panicked: the batch must not be committed.
    poisoned: bool,
    /// Write an outbox entry for each rating (`[evaluation_push]` is set).
    outbox: bool,
    /// The batch's ratings: (index in `staged`, joined record).
    rated: Vec<super::outbox::Captured>,
    /// Commit latency and counts, shared with the handle (`GET /metrics`).
    journal_metrics: Arc<super::metrics::JournalMetrics>,
}

/// What became of one submission of a batch.
enum Outcome {
    /// Accepted: its events are `staged[a..b]`.
    Applied(usize, usize),
    Refused(Refusal),
    /// Answered before, by an earlier request with the same key.
    Remembered(Applied),
    /// The same key as the submission at this index of this batch.
    SameAs(usize),
    /// The remembered answer could not be read back from the journal.
    Failed(SubmitError),
}

struct Pending {
    reply: Option<Reply>,
    outcome: Outcome,
    at_ms: Millis,
    /// (actor label, key) when the request carried an idempotency key.
    key: Option<(String, String)>,
    /// The command's fingerprint, when it carried a key.
    fingerprint: Option<String>,
}

/// (at_ms, actor, journal client, event) of every event of a batch, in order.
type Staged = Vec<(Millis, String, String, Event)>;

impl<C: Clock> OwnerLoop<C> {
    fn run(mut self, mut journal: Journal) -> anyhow::Result<()> {
        loop {
            let Some(first) = self.rx.blocking_recv() else {
                return Ok(());
            };
            self.batch.push(first);
            while self.batch.len() < BATCH_MAX {
                match self.rx.try_recv() {
                    Ok(m) => self.batch.push(m),
                    Err(_) => break,
                }
            }
            if self.process_batch(&mut journal)? {
                tracing::info!(
                    seq = journal.last_seq(),
                    "owner stopped after its last commit"
                );
                return Ok(());
            }
            self.turns.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Applies a batch, commits it, publishes, answers. Returns true on shutdown.
    fn process_batch(&mut self, journal: &mut Journal) -> anyhow::Result<bool> {
        let mut msgs: Vec<Msg> = std::mem::take(&mut self.batch);
        // Reads first, from the committed state: no submitter of this batch
        // has an answer yet, so ordering the reads before the batch is
        // linearizable, and they need not wait for its fsync.
        let seq = journal.last_seq();
        msgs.retain_mut(|m| match m {
            Msg::Query(_) => {
                if let Msg::Query(q) = std::mem::replace(m, Msg::Tick) {
                    // A read cannot change the hall: contain a panic and go on.
                    if std::panic::catch_unwind(AssertUnwindSafe(|| q(&self.hall, seq))).is_err() {
                        tracing::error!("a read of the hall panicked; the hall goes on");
                    }
                }
                false
            }
            _ => true,
        });
        // Reloads next, with nothing uncommitted: the journal is the hall.
        let mut reloads = Vec::new();
        msgs.retain_mut(|m| {
            if matches!(m, Msg::Reload(_)) {
                reloads.push(std::mem::replace(m, Msg::Tick));
                false
            } else {
                true
            }
        });
        for m in reloads {
            if let Msg::Reload(mut r) = m {
                let outcome = self.reload(journal, &mut r);
                let _ = r.reply.send(outcome);
            }
        }
        let mut stop = false;
        let mut staged: Staged = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut acks: Vec<OutboxAck> = Vec::new();
        self.rated.clear();
        // The calendar's boundaries are minutes apart: checking once per batch
        // (before any command of it) is enough, and keeps it off the per-command path.
        let now = self.clock.now_ms();
        self.lifecycle(now, &mut staged);
        for msg in msgs {
            if stop {
                continue; // dropped: their submitters see ShuttingDown
            }
            let now = self.clock.now_ms();
            match msg {
                Msg::Submit(submission, reply) => {
                    let p = self.decide_one(journal, submission, reply, now, &mut staged, &pending);
                    pending.push(p);
                }
                Msg::Query(_) => {} // answered before the batch, above
                Msg::Tick => {}
                Msg::Shutdown => stop = true,
                Msg::OutboxAck(ack) => acks.push(ack),
                Msg::Reload(_) => {} // applied before the batch, above
            }
        }
        let first_seq = journal.last_seq() + 1;
        let mut committed = true;
        if !staged.is_empty() || self.poisoned || !acks.is_empty() {
            let result = if self.poisoned {
                // A command panicked half-way: nothing of this batch may stand.
                Err(anyhow::anyhow!(
                    "an internal error discarded this batch; nothing of it was applied"
                ))
            } else {
                let rows: Vec<(Millis, &str, &str, &Event)> = staged
                    .iter()
                    .map(|(at, actor, client, e)| (*at, actor.as_str(), client.as_str(), e))
                    .collect();
                let outbox = self.outbox_writes(first_seq, &staged, &acks);
                let started = std::time::Instant::now();
                let result = outbox.and_then(|outbox| commit(journal, &rows, &outbox));
                let took = started.elapsed();
                self.journal_metrics
                    .committed(took, rows.len(), result.is_ok());
                self.journal_ok.store(result.is_ok(), Ordering::Relaxed);
                result
            };
            self.poisoned = false;
            for (_, reply) in acks.drain(..) {
                let _ = reply.send(match &result {
                    Ok(_) => Ok(()),
                    Err(err) => Err(SubmitError::Journal(err.to_string())),
                });
            }
            if let Err(err) = result {
                committed = false;
                tracing::error!(error = %err, "batch not committed; rebuilding the hall from the journal");
                for p in pending.iter_mut() {
                    if matches!(p.outcome, Outcome::Applied(..) | Outcome::SameAs(_))
                        && let Some(reply) = p.reply.take()
                    {
                        let _ = reply.send(Err(SubmitError::Journal(err.to_string())));
                    }
                }
                let rebuilt = replay::replay_full(self.hall.config().clone(), journal, None)
                    .context("rebuilding the hall after a failed commit")?;
                self.hall = rebuilt.hall;
                self.keys = rebuilt.idempotency;
            }
        }
        // Publish before answering: whoever holds an answer can count on the
        // event being on the stream already.
        if committed && self.events.receiver_count() > 0 {
            for (i, (at_ms, actor, client, event)) in staged.iter().enumerate() {
                let published = Published {
                    seq: first_seq + i as u64,
                    at_ms: *at_ms,
                    actor: actor.clone(),
                    client: client.clone(),
                    event: event.clone(),
                    number: self.hall.number_of(event),
                };
                let _ = self.events.send(Arc::new(published));
            }
        }
        let answers: Vec<Option<Result<Applied, SubmitError>>> = pending
            .iter()
            .map(|p| match &p.outcome {
                Outcome::Applied(a, b) => Some(Ok(Applied {
                    first_seq: if a < b { first_seq + *a as u64 } else { 0 },
                    at_ms: p.at_ms,
                    events: staged[*a..*b]
                        .iter()
                        .map(|(_, _, _, e)| e.clone())
                        .collect(),
                    replayed: false,
                })),
                Outcome::Refused(r) => Some(Err(SubmitError::Refused(r.clone()))),
                Outcome::Remembered(applied) => Some(Ok(applied.clone())),
                Outcome::Failed(e) => Some(Err(e.clone())),
                Outcome::SameAs(_) => None,
            })
            .collect();
        for (i, p) in pending.iter_mut().enumerate() {
            let answer = match &p.outcome {
                Outcome::SameAs(j) => answers[*j].clone().map(|r| {
                    r.map(|a| Applied {
                        replayed: true,
                        ..a
                    })
                }),
                _ => answers[i].clone(),
            };
            // An answer that applied nothing (a call-next with nobody waiting)
            // is not remembered: a retry decides again and cannot apply
            // anything twice, and replay would not rebuild it either.
            if let (Some((actor, key)), Some(Ok(applied)), Outcome::Applied(..)) =
                (&p.key, &answer, &p.outcome)
                && committed
                && !applied.events.is_empty()
            {
                self.keys.insert(
                    actor,
                    key,
                    p.fingerprint.as_deref(),
                    applied.first_seq,
                    applied.events.len(),
                    applied.at_ms,
                );
            }
            if let (Some(reply), Some(answer)) = (p.reply.take(), answer) {
                let _ = reply.send(answer);
            }
        }
        if let Some(last) = pending.last() {
            self.keys.prune(last.at_ms);
        }
        Ok(stop)
    }

    /// Decides one submission: a remembered answer, or apply it.
    fn decide_one(
        &mut self,
        journal: &Journal,
        s: Submission,
        reply: Reply,
        now: Millis,
        staged: &mut Staged,
        batch: &[Pending],
    ) -> Pending {
        let label = s.actor.label();
        let key = s.idempotency_key.map(|k| (label.clone(), k));
        let fingerprint = key.as_ref().map(|_| idempotency::fingerprint(&s.command));
        if let (Some((actor, k)), Some(fp)) = (&key, &fingerprint) {
            let remembered = match self.keys.lookup(journal, actor, k, fp) {
                Err(e) => Some(Outcome::Failed(SubmitError::Journal(e))),
                Ok(idempotency::Lookup::Same(applied)) => Some(Outcome::Remembered(applied)),
                Ok(idempotency::Lookup::Reused) => {
                    Some(Outcome::Refused(refuse::idempotency_key_reused()))
                }
                Ok(idempotency::Lookup::Fresh) => {
                    // The same key earlier in this very batch (a double tap).
                    batch
                        .iter()
                        .position(|p| {
                            p.key.as_ref() == key.as_ref()
                                && matches!(p.outcome, Outcome::Applied(..))
                        })
                        .map(|j| {
                            if batch[j].fingerprint == fingerprint {
                                Outcome::SameAs(j)
                            } else {
                                Outcome::Refused(refuse::idempotency_key_reused())
                            }
                        })
                }
            };
            if let Some(outcome) = remembered {
                return Pending {
                    reply: Some(reply),
                    outcome,
                    at_ms: now,
                    key,
                    fingerprint,
                };
            }
        }
        let client = idempotency::journal_client(
            &s.client,
            key.as_ref()
                .map(|(_, k)| k.as_str())
                .zip(fingerprint.as_deref()),
        );
        let capture = self.outbox;
        let applied = std::panic::catch_unwind(AssertUnwindSafe(|| {
            super::outbox::apply(&mut self.hall, &s.actor, &s.command, now, capture)
        }));
        let Ok(applied) = applied else {
            // The hall may be half-changed: the batch is discarded and rebuilt.
            // Only the command's name: its fields may hold a person hash.
            let debug = format!("{:?}", s.command);
            let name = debug.split([' ', '{', '(']).next().unwrap_or("?");
            tracing::error!(command = name, "applying a command panicked");
            self.poisoned = true;
            return Pending {
                reply: Some(reply),
                outcome: Outcome::Applied(staged.len(), staged.len()),
                at_ms: now,
                key,
                fingerprint,
            };
        };
        let outcome = match applied {
            Ok((events, rated)) => {
                let start = staged.len();
                self.rated
                    .extend(rated.into_iter().map(|(i, r)| (start + i, r)));
                staged.extend(
                    events
                        .into_iter()
                        .map(|e| (now, label.clone(), client.clone(), e)),
                );
                Outcome::Applied(start, staged.len())
            }
            Err(refusal) => Outcome::Refused(refusal),
        };
        Pending {
            reply: Some(reply),
            outcome,
            at_ms: now,
            key,
            fingerprint,
        }
    }

    /// Applies every calendar-driven command due at `now` as the System actor.
    fn lifecycle(&mut self, now: Millis, staged: &mut Staged) {
        // Bounded: a day roll-over takes at most a handful of steps.
        for _ in 0..8 {
            let Some(command) = self.hall.due_lifecycle(now) else {
                return;
            };
            let applied = std::panic::catch_unwind(AssertUnwindSafe(|| {
                self.hall.apply(&Actor::System, &command, now)
            }));
            let Ok(applied) = applied else {
                tracing::error!(?command, "a calendar command panicked");
                self.poisoned = true;
                return;
            };
            match applied {
                Ok(events) => staged.extend(
                    events
                        .into_iter()
                        .map(|e| (now, "system".to_string(), "calendar".to_string(), e)),
                ),
                Err(refusal) => {
                    tracing::warn!(%refusal, ?command, "calendar command refused");
                    return;
                }
            }
        }
    }
}

impl<C: Clock> OwnerLoop<C> {
    /// Applies a configuration (`reload.rs`): prepared from the journal,
    /// committed alone, then swapped in; on any refusal or a failed commit
    /// the hall and the configuration stay as they were.
    fn reload(
        &mut self,
        journal: &mut Journal,
        r: &mut ReloadRequest,
    ) -> super::reload::ReloadOutcome {
        use super::reload::{ReloadOutcome, prepare};
        let pre = r.pre.take();
        let prepared = match std::panic::catch_unwind(AssertUnwindSafe(|| {
            prepare(&self.hall, journal, r.config.clone(), pre)
        })) {
            Ok(Ok(p)) => p,
            Ok(Err(outcome)) => return outcome,
            Err(_) => {
                tracing::error!("preparing a configuration reload panicked; the hall goes on");
                return ReloadOutcome::Refused {
                    reasons: vec!["an internal error stopped the reload; nothing changed".into()],
                };
            }
        };
        let now = self.clock.now_ms();
        let rows = [(now, r.actor.as_str(), r.client.as_str(), &prepared.event)];
        let started = std::time::Instant::now();
        let result = commit(journal, &rows, &OutboxWrites::default());
        self.journal_metrics
            .committed(started.elapsed(), rows.len(), result.is_ok());
        self.journal_ok.store(result.is_ok(), Ordering::Relaxed);
        if let Err(e) = result {
            tracing::error!(error = %e, "config_applied not committed; the running configuration stays");
            return ReloadOutcome::Refused {
                reasons: vec![format!(
                    "the journal could not commit config_applied ({e}); nothing changed"
                )],
            };
        }
        let seq = journal.last_seq();
        let mut hall = prepared.hall;
        hall.evolve(&prepared.event, now);
        self.hall = hall;
        self.keys = prepared.keys;
        r.live.set(r.config.clone());
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(Arc::new(Published {
                seq,
                at_ms: now,
                actor: r.actor.clone(),
                client: r.client.clone(),
                number: self.hall.number_of(&prepared.event),
                event: prepared.event,
            }));
        }
        ReloadOutcome::Applied {
            sha256: r.config.source_sha256.clone(),
            seq,
            changes: prepared.changes,
        }
    }

    /// The batch's outbox writes: an entry per captured rating (its id is
    /// the seq its event gets in this commit) and the acknowledgements.
    fn outbox_writes(
        &mut self,
        first_seq: u64,
        staged: &Staged,
        acks: &[OutboxAck],
    ) -> anyhow::Result<OutboxWrites> {
        let mut entries = Vec::with_capacity(self.rated.len());
        for (index, mut record) in self.rated.drain(..) {
            let Some((at_ms, ..)) = staged.get(index) else {
                anyhow::bail!("a rating's event {index} is not in the batch");
            };
            record.id = first_seq + index as u64;
            entries.push(NewOutboxEntry {
                id: record.id,
                created_ms: *at_ms,
                payload: serde_json::to_string(&record)?,
            });
        }
        Ok(OutboxWrites {
            entries,
            acks: acks
                .iter()
                .flat_map(|(ids, _)| ids.iter().copied())
                .collect(),
            acked_ms: self.clock.now_ms(),
        })
    }
}

/// Appends events (and the batch's outbox writes) as one transaction.
fn commit(
    journal: &mut Journal,
    rows: &[(Millis, &str, &str, &Event)],
    outbox: &OutboxWrites,
) -> anyhow::Result<u64> {
    let payloads: Vec<String> = rows
        .iter()
        .map(|(_, _, _, e)| serde_json::to_string(e))
        .collect::<Result<_, _>>()?;
    let records: Vec<NewRecord<'_>> = rows
        .iter()
        .zip(&payloads)
        .map(|((at_ms, actor, client, e), payload)| NewRecord {
            at_ms: *at_ms,
            actor,
            client,
            kind: e.kind(),
            payload,
        })
        .collect();
    Ok(journal.append_with_outbox(&records, outbox)?)
}
