//! Rebuilding the hall from the journal: start-up, `hallq replay --at`, and
//! recovery after a failed commit. Replay only evolves events; it never
//! re-decides a command.

use std::sync::Arc;

use anyhow::anyhow;

use crate::config::Config;
use crate::journal::{Journal, JournalReader, Record};
use crate::queue::{Event, Hall, Millis};

/// Folds journal records into a hall.
pub struct Replayer {
    hall: Hall,
    until_ms: Option<Millis>,
    last_at_ms: Millis,
    pub events: u64,
}

impl Replayer {
    pub fn new(config: Arc<Config>, until_ms: Option<Millis>) -> Replayer {
        Replayer {
            hall: Hall::new(config),
            until_ms,
            last_at_ms: 0,
            events: 0,
        }
    }

    pub fn feed(&mut self, record: Record) -> anyhow::Result<()> {
        if self.until_ms.is_some_and(|t| record.at_ms > t) {
            return Ok(());
        }
        let event: Event = serde_json::from_str(&record.payload).map_err(|e| {
            anyhow!(
                "journal row {} ({}) cannot be read by this build: {e}",
                record.seq,
                record.kind
            )
        })?;
        self.hall.evolve(&event, record.at_ms);
        self.last_at_ms = self.last_at_ms.max(record.at_ms);
        self.events += 1;
        Ok(())
    }

    pub fn finish(self) -> (Hall, Millis) {
        (self.hall, self.last_at_ms)
    }
}

/// The hall as of the journal's end (or of `until_ms`), and the time of its last event.
pub fn replay(
    config: Arc<Config>,
    journal: &Journal,
    until_ms: Option<Millis>,
) -> anyhow::Result<(Hall, Millis)> {
    let mut r = Replayer::new(config, until_ms);
    journal.for_each_from(0, |rec| r.feed(rec))?;
    Ok(r.finish())
}

/// Same, through a read-only connection (safe while a daemon runs).
pub fn replay_read_only(
    config: Arc<Config>,
    reader: &JournalReader,
    until_ms: Option<Millis>,
) -> anyhow::Result<(Hall, Millis)> {
    let mut r = Replayer::new(config, until_ms);
    reader.for_each_from(0, |rec| r.feed(rec))?;
    Ok(r.finish())
}
