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

use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::clock::{Clock, Monotonic};
use super::replay;
use crate::config::Config;
use crate::journal::{Journal, NewRecord};
use crate::queue::{Actor, Command, Event, Hall, Millis, Refusal};

/// Commands and queries waiting for the owner (a limit: submitters wait, or
/// get `Busy` from `try_submit`, beyond it).
pub const CHANNEL_CAPACITY: usize = 4096;
/// Most messages folded into one commit.
pub const BATCH_MAX: usize = 1024;
/// Published events kept for slow subscribers before they must catch up from the journal.
pub const BROADCAST_CAPACITY: usize = 8192;

/// A committed event as the rest of hallq sees it.
#[derive(Debug, Clone)]
pub struct Published {
    pub seq: u64,
    pub at_ms: Millis,
    pub actor: String,
    pub client: String,
    pub event: Event,
}

/// What a submitter gets back for a command that was accepted.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Journal sequence of the first event (0 when the command produced none).
    pub first_seq: u64,
    pub at_ms: Millis,
    pub events: Vec<Event>,
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

enum Msg {
    Submit {
        actor: Actor,
        client: String,
        command: Command,
        reply: oneshot::Sender<Result<Applied, SubmitError>>,
    },
    Query(Query),
    /// Apply whatever the calendar makes due now.
    Tick,
    Shutdown,
}

/// A cheap, cloneable handle to the owner task.
#[derive(Clone)]
pub struct HallHandle {
    tx: mpsc::Sender<Msg>,
    events: broadcast::Sender<Arc<Published>>,
}

impl HallHandle {
    /// Submits a command and waits until its events are durable (or it was refused).
    pub async fn submit(
        &self,
        actor: Actor,
        client: &str,
        command: Command,
    ) -> Result<Applied, SubmitError> {
        let (reply, rx) = oneshot::channel();
        let msg = Msg::Submit {
            actor,
            client: client.to_string(),
            command,
            reply,
        };
        self.tx
            .send(msg)
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
        let msg = Msg::Submit {
            actor,
            client: client.to_string(),
            command,
            reply,
        };
        self.tx
            .blocking_send(msg)
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
    let (hall, last_at_ms) = replay::replay(config.clone(), &journal, None)?;
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
    let mut owner = OwnerLoop {
        hall,
        clock: Monotonic::new(clock, last_at_ms),
        events: events.clone(),
        rx,
        batch: Vec::new(),
    };
    if owner.hall.state().config_sha256.as_deref() != Some(config.source_sha256.as_str()) {
        let event = Event::ConfigApplied {
            sha256: config.source_sha256.clone(),
            source: config.source_name.clone(),
        };
        let now = owner.clock.now_ms();
        commit(&mut journal, &[(now, "system", "daemon", &event)])?;
        owner.hall.evolve(&event, now);
    }
    let thread = std::thread::Builder::new()
        .name("hallq-owner".into())
        .spawn(move || owner.run(journal))
        .context("starting the owner thread")?;
    Ok(Owner {
        handle: HallHandle { tx, events },
        thread,
    })
}

struct OwnerLoop<C: Clock> {
    hall: Hall,
    clock: Monotonic<C>,
    events: broadcast::Sender<Arc<Published>>,
    rx: mpsc::Receiver<Msg>,
    batch: Vec<Msg>,
}

/// One accepted command of a batch: who, and which events (by index into the batch's events).
struct Pending {
    reply: Option<oneshot::Sender<Result<Applied, SubmitError>>>,
    outcome: Result<(usize, usize), Refusal>,
    at_ms: Millis,
}

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
            let stop = self.process_batch(&mut journal)?;
            if stop {
                tracing::info!(
                    seq = journal.last_seq(),
                    "owner stopped after its last commit"
                );
                return Ok(());
            }
        }
    }

    /// Applies a batch, commits it, answers and publishes. Returns true on shutdown.
    fn process_batch(&mut self, journal: &mut Journal) -> anyhow::Result<bool> {
        let msgs: Vec<Msg> = std::mem::take(&mut self.batch);
        let mut stop = false;
        // (at_ms, actor, client, event) of every event of the batch, in order.
        let mut staged: Vec<(Millis, String, String, Event)> = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut queries: Vec<Query> = Vec::new();
        for msg in msgs {
            if stop {
                continue; // dropped: their submitters see ShuttingDown
            }
            let now = self.clock.now_ms();
            self.lifecycle(now, &mut staged);
            match msg {
                Msg::Submit {
                    actor,
                    client,
                    command,
                    reply,
                } => {
                    let outcome = match self.hall.apply(&actor, &command, now) {
                        Ok(events) => {
                            let start = staged.len();
                            let label = actor.label();
                            staged.extend(
                                events
                                    .into_iter()
                                    .map(|e| (now, label.clone(), client.clone(), e)),
                            );
                            Ok((start, staged.len()))
                        }
                        Err(refusal) => Err(refusal),
                    };
                    pending.push(Pending {
                        reply: Some(reply),
                        outcome,
                        at_ms: now,
                    });
                }
                Msg::Query(q) => queries.push(q),
                Msg::Tick => {}
                Msg::Shutdown => stop = true,
            }
        }
        let first_seq = journal.last_seq() + 1;
        if !staged.is_empty() {
            let rows: Vec<(Millis, &str, &str, &Event)> = staged
                .iter()
                .map(|(at, actor, client, e)| (*at, actor.as_str(), client.as_str(), e))
                .collect();
            if let Err(err) = commit(journal, &rows) {
                tracing::error!(error = %err, "journal commit failed; rebuilding the hall from the journal");
                for p in pending.iter_mut() {
                    if let (Some(reply), Ok(_)) = (p.reply.take(), &p.outcome) {
                        let _ = reply.send(Err(SubmitError::Journal(err.to_string())));
                    }
                }
                let (hall, _) = replay::replay(self.hall.config().clone(), journal, None)
                    .context("rebuilding the hall after a failed commit")?;
                self.hall = hall;
            }
        }
        let committed =
            journal.last_seq() >= first_seq + staged.len() as u64 - 1 && !staged.is_empty();
        // Publish before answering: whoever holds an answer can count on the
        // event being on the stream already.
        if committed {
            for (i, (at_ms, actor, client, event)) in staged.iter().enumerate() {
                let published = Published {
                    seq: first_seq + i as u64,
                    at_ms: *at_ms,
                    actor: actor.clone(),
                    client: client.clone(),
                    event: event.clone(),
                };
                let _ = self.events.send(Arc::new(published));
            }
        }
        for p in pending {
            let Some(reply) = p.reply else { continue };
            let answer = match p.outcome {
                Ok((a, b)) => Ok(Applied {
                    first_seq: if a < b { first_seq + a as u64 } else { 0 },
                    at_ms: p.at_ms,
                    events: staged[a..b].iter().map(|(_, _, _, e)| e.clone()).collect(),
                }),
                Err(refusal) => Err(SubmitError::Refused(refusal)),
            };
            let _ = reply.send(answer);
        }
        let seq = journal.last_seq();
        for q in queries {
            q(&self.hall, seq);
        }
        Ok(stop)
    }

    /// Applies every calendar-driven command due at `now` as the System actor.
    fn lifecycle(&mut self, now: Millis, staged: &mut Vec<(Millis, String, String, Event)>) {
        // Bounded: a day roll-over takes at most a handful of steps.
        for _ in 0..8 {
            let Some(command) = self.hall.due_lifecycle(now) else {
                return;
            };
            match self.hall.apply(&Actor::System, &command, now) {
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

/// Appends events as one transaction.
fn commit(journal: &mut Journal, rows: &[(Millis, &str, &str, &Event)]) -> anyhow::Result<u64> {
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
    Ok(journal.append(&records)?)
}
