//! The daemon's forecaster: a background task that keeps the latest
//! [`Forecast`] for the views.
//!
//! At start-up it trains the [`Model`] from the journal (the last
//! [`TRAIN_DAYS`] days, read-only, on the blocking pool), then follows the
//! owner's broadcast of committed events. After committed batches — at most
//! once per [`MIN_INTERVAL`] (and never more than [`BUSY_SHARE`] of one
//! core: after a look-ahead of d, the next waits at least d ÷ that share),
//! and at least every [`MAX_INTERVAL`] while tickets wait, so an estimate
//! does not go stale in a quiet hall — it takes a copy of the hall's live
//! part (`Hall::live_copy` in `HallHandle::query`, the only work on the
//! owner thread), runs the look-ahead on the blocking pool, and publishes
//! the result. Readers take an `Arc` of the latest forecast; nobody waits for a
//! look-ahead.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::broadcast::error::RecvError;

use super::lookahead::{Forecast, Settings, look_ahead};
use super::model::Model;
use crate::config::Config;
use crate::daemon::HallHandle;
use crate::daemon::clock::{Clock, SystemClock};
use crate::journal::JournalReader;
use crate::queue::{Event, MINUTE_MS, Millis};

/// Days of journal the model learns from at start-up.
pub const TRAIN_DAYS: i64 = 30;
/// Least time between two look-aheads.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Most of one core the look-ahead may take (a very busy hall gets fewer, not slower, updates).
pub const BUSY_SHARE: u32 = 4; // 1/4 of a core
/// Waiting tickets above which a look-ahead uses fewer runs (at least 8).
pub const RUNS_FULL_UP_TO: usize = 400;
/// Most time between two look-aheads while tickets wait.
pub const MAX_INTERVAL: Duration = Duration::from_secs(30);

/// Where the latest forecast is kept. Cheap to clone; an empty handle holds
/// an empty forecast (the views then fall back to the classic estimate).
#[derive(Debug, Clone, Default)]
pub struct ForecastHandle {
    latest: Arc<RwLock<Arc<Forecast>>>,
}

impl ForecastHandle {
    pub fn new() -> ForecastHandle {
        ForecastHandle::default()
    }

    /// The latest forecast (empty before the first look-ahead).
    pub fn latest(&self) -> Arc<Forecast> {
        self.latest
            .read()
            .map(|g| g.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    pub fn publish(&self, forecast: Forecast) {
        let forecast = Arc::new(forecast);
        match self.latest.write() {
            Ok(mut g) => *g = forecast,
            Err(e) => *e.into_inner() = forecast,
        }
    }
}

/// Trains a model from a journal: every event of the last `days` days before `now_ms`.
/// Returns the model and the last sequence read.
pub fn train_from_journal(
    config: Arc<Config>,
    reader: &JournalReader,
    now_ms: Millis,
    days: i64,
) -> anyhow::Result<(Model, u64)> {
    let mut model = Model::new(config);
    let from_ms = now_ms - days * 24 * 60 * MINUTE_MS;
    let mut last = 0;
    reader.for_each_from(0, |rec| -> anyhow::Result<()> {
        last = rec.seq;
        if rec.at_ms >= from_ms
            && let Ok(event) = serde_json::from_str::<Event>(&rec.payload)
        {
            model.observe(&event, rec.at_ms);
        }
        Ok(())
    })?;
    Ok((model, last))
}

/// Starts the forecaster for the running hall.
pub fn spawn(hall: HallHandle, config: Arc<Config>, journal_path: PathBuf) -> ForecastHandle {
    let handle = ForecastHandle::new();
    tokio::spawn(run(hall, config, journal_path, handle.clone()));
    handle
}

async fn run(hall: HallHandle, config: Arc<Config>, journal_path: PathBuf, out: ForecastHandle) {
    // Subscribe before reading the journal, so nothing falls in between.
    let mut events = hall.subscribe();
    let trained = {
        let (config, path) = (config.clone(), journal_path.clone());
        tokio::task::spawn_blocking(move || {
            let reader = JournalReader::open(&path)?;
            train_from_journal(config, &reader, SystemClock.now_ms(), TRAIN_DAYS)
        })
        .await
    };
    let (mut model, mut seen) = match trained {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "forecast: cannot read the journal; learning from now on");
            (Model::new(config.clone()), 0)
        }
        Err(e) => {
            tracing::warn!(error = %e, "forecast: training failed; learning from now on");
            (Model::new(config.clone()), 0)
        }
    };
    tracing::info!(
        events = model.observed,
        "forecast: model trained from the journal"
    );
    let mut dirty = true;
    let mut last_run: Option<Instant> = None;
    let mut min_gap = MIN_INTERVAL;
    let mut waiting = true;
    let mut round: u64 = 0;
    loop {
        let since = last_run.map_or(MAX_INTERVAL, |t| t.elapsed());
        let due = (dirty && since >= min_gap) || (waiting && since >= MAX_INTERVAL.max(min_gap));
        if due {
            let now = SystemClock.now_ms();
            // Only the live tickets: the look-ahead never reads a finished one,
            // and each of its runs copies what it is given.
            let Ok((snapshot, seq)) = hall.query(|h, seq| (h.live_copy(), seq)).await else {
                return; // the owner stopped
            };
            waiting = snapshot.waiting() > 0;
            let m = model.clone();
            round += 1;
            let full = Settings::default();
            // Many waiting tickets: fewer runs, so one look-ahead stays bounded.
            let runs =
                (full.runs * RUNS_FULL_UP_TO / snapshot.waiting().max(1)).clamp(8, full.runs);
            let settings = Settings {
                seed: seq ^ round.rotate_left(32),
                runs,
                ..full
            };
            let started = Instant::now();
            let result =
                tokio::task::spawn_blocking(move || look_ahead(&snapshot, &m, now, &settings))
                    .await;
            match result {
                Ok(mut f) => {
                    f.seq = seq;
                    tracing::debug!(
                        seq,
                        tickets = f.tickets.len(),
                        ms = started.elapsed().as_millis() as u64,
                        "forecast: looked ahead"
                    );
                    out.publish(f);
                }
                Err(e) => tracing::warn!(error = %e, "forecast: look-ahead failed"),
            }
            dirty = false;
            min_gap = MIN_INTERVAL.max(started.elapsed() * BUSY_SHARE);
            last_run = Some(Instant::now());
            continue;
        }
        let wait = if dirty {
            min_gap.saturating_sub(since)
        } else if waiting {
            MAX_INTERVAL.saturating_sub(since)
        } else {
            Duration::from_secs(3600)
        };
        match tokio::time::timeout(wait, events.recv()).await {
            Err(_) => {} // time for a look-ahead
            Ok(Ok(p)) => {
                if p.seq > seen && matches!(p.event, Event::ConfigApplied { .. }) {
                    // A reload (`daemon/reload.rs`): learn again under the
                    // configuration the hall now has (services, defaults).
                    let Ok(config) = hall.query(|h, _| h.config().clone()).await else {
                        return; // the owner stopped
                    };
                    let path = journal_path.clone();
                    let retrained = tokio::task::spawn_blocking(move || {
                        let reader = JournalReader::open(&path)?;
                        train_from_journal(config, &reader, SystemClock.now_ms(), TRAIN_DAYS)
                    })
                    .await;
                    if let Ok(Ok((m, last))) = retrained {
                        model = m;
                        seen = last.max(p.seq);
                    } else {
                        tracing::warn!(
                            "forecast: retraining after a reload failed; keeping the model"
                        );
                        seen = p.seq;
                    }
                    dirty = true;
                } else if p.seq > seen {
                    model.observe(&p.event, p.at_ms);
                    seen = p.seq;
                    dirty = true;
                }
            }
            Ok(Err(RecvError::Lagged(_))) => {
                // Catch up from the journal; later broadcast events at or
                // before what was read are skipped.
                let (path, mut m, after) = (journal_path.clone(), model.clone(), seen);
                let caught =
                    tokio::task::spawn_blocking(move || -> anyhow::Result<(Model, u64)> {
                        let reader = JournalReader::open(&path)?;
                        let mut last = after;
                        reader.for_each_from(after, |rec| -> anyhow::Result<()> {
                            last = rec.seq;
                            if let Ok(event) = serde_json::from_str::<Event>(&rec.payload) {
                                m.observe(&event, rec.at_ms);
                            }
                            Ok(())
                        })?;
                        Ok((m, last))
                    })
                    .await;
                if let Ok(Ok((m, last))) = caught {
                    model = m;
                    seen = last;
                }
                dirty = true;
            }
            Ok(Err(RecvError::Closed)) => return,
        }
    }
}
