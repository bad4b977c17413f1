//! Rebuilding the hall from the journal: start-up, `hallq replay --at`, and
//! recovery after a failed commit. Replay only evolves events; it never
//! re-decides a command.

use std::sync::Arc;

use anyhow::anyhow;

use super::idempotency::{self, IdempotencyCache};
use crate::config::Config;
use crate::journal::{Journal, JournalReader, Record};
use crate::queue::{Event, Hall, Millis};

/// What a replay rebuilds.
pub struct Replayed {
    pub hall: Hall,
    /// Time of the last event (the clock floor after a restart).
    pub last_at_ms: Millis,
    /// Remembered answers of requests that carried an idempotency key.
    pub idempotency: IdempotencyCache,
    pub events: u64,
}

/// Folds journal records into a hall.
pub struct Replayer {
    out: Replayed,
    until_ms: Option<Millis>,
}

impl Replayer {
    pub fn new(config: Arc<Config>, until_ms: Option<Millis>) -> Replayer {
        Replayer {
            out: Replayed {
                hall: Hall::new(config),
                last_at_ms: 0,
                idempotency: IdempotencyCache::default(),
                events: 0,
            },
            until_ms,
        }
    }

    pub fn feed(&mut self, record: Record) -> anyhow::Result<()> {
        if self.until_ms.is_some_and(|t| record.at_ms > t) {
            return Ok(());
        }
        let event = event_of(&record)?;
        self.out.hall.evolve(&event, record.at_ms);
        if let (_, Some(key), fingerprint) = idempotency::split_client_fingerprint(&record.client) {
            self.out
                .idempotency
                .extend(&record.actor, key, fingerprint, record.seq, record.at_ms);
        }
        self.out.last_at_ms = self.out.last_at_ms.max(record.at_ms);
        self.out.events += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Replayed {
        self.out.idempotency.prune(self.out.last_at_ms);
        self.out
    }
}

/// The event a journal row holds; a row this build cannot read is an error
/// naming it (replay must not skip what it cannot read).
pub fn event_of(record: &Record) -> anyhow::Result<Event> {
    serde_json::from_str(&record.payload).map_err(|e| {
        anyhow!(
            "journal row {} ({}) cannot be read by this build: {e}",
            record.seq,
            record.kind
        )
    })
}

/// Everything a replay rebuilds, as of the journal's end (or of `until_ms`).
pub fn replay_full(
    config: Arc<Config>,
    journal: &Journal,
    until_ms: Option<Millis>,
) -> anyhow::Result<Replayed> {
    let mut r = Replayer::new(config, until_ms);
    journal.for_each_from(0, |rec| r.feed(rec))?;
    Ok(r.finish())
}

/// The hall as of the journal's end (or of `until_ms`), and the time of its last event.
pub fn replay(
    config: Arc<Config>,
    journal: &Journal,
    until_ms: Option<Millis>,
) -> anyhow::Result<(Hall, Millis)> {
    let r = replay_full(config, journal, until_ms)?;
    Ok((r.hall, r.last_at_ms))
}

/// Same, through a read-only connection (safe while a daemon runs).
pub fn replay_read_only(
    config: Arc<Config>,
    reader: &JournalReader,
    until_ms: Option<Millis>,
) -> anyhow::Result<(Hall, Millis)> {
    let mut r = Replayer::new(config, until_ms);
    reader.for_each_from(0, |rec| r.feed(rec))?;
    let out = r.finish();
    Ok((out.hall, out.last_at_ms))
}
