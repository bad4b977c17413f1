//! Configuration reload: `SIGHUP` to `hallq serve --config FILE`, or
//! `POST /api/v1/config/reload` (admin). Both re-read the same file from
//! disk and go through [`Reloader::reload`], so they answer and log the same:
//!
//! - **refused**, with every reason, and nothing changes: the file does
//!   not validate (the errors of `hallq check`: file, line, field); a
//!   restart-only part differs (`config::diff`, each field named); or the
//!   hall the new file gives would lose something live (a ticket waiting,
//!   called, served or parked, a staff member signed in at a window —
//!   `conflicts`); or the journal refused the commit;
//! - **unchanged**: the file's SHA-256 is the running configuration's; no event;
//! - **applied**, with the list of changes: one `config_applied` row.
//!
//! The journal is first replayed under the new configuration on a
//! read-only connection, off the owner (the hall keeps serving). Applying
//! happens on the owner thread (the one writer), before the commands of its
//! batch: the owner replays only the rows added since — so the result is
//! exactly the hall a restart would build — checks that nothing live is
//! lost, commits `config_applied` (with the changes in
//! words), and only then swaps the hall, sets the [`LiveConfig`] cell every
//! other reader goes by, and publishes the event. A failed commit keeps the
//! old hall and the old configuration: nothing is ever half-applied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::HallHandle;
use super::idempotency::IdempotencyCache;
use super::replay;
use crate::config::live::LiveConfig;
use crate::config::{Config, diff};
use crate::journal::{Journal, JournalReader};
use crate::queue::{Event, Hall, Ticket, TicketStatus};

/// Where a reload reads the configuration: the file `hallq serve --config`
/// was given, with the same `--bus NAME=PATH` overrides applied.
#[derive(Debug, Clone)]
pub struct ReloadSource {
    pub path: PathBuf,
    pub bus_overrides: Vec<String>,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ReloadOutcome {
    /// Committed as `config_applied` at `seq`.
    Applied {
        sha256: String,
        seq: u64,
        changes: Vec<String>,
    },
    /// The file is the running configuration (same SHA-256): nothing recorded.
    Unchanged { sha256: String },
    /// Nothing changed; every reason.
    Refused { reasons: Vec<String> },
}

impl ReloadOutcome {
    fn refused(reason: impl Into<String>) -> ReloadOutcome {
        ReloadOutcome::Refused {
            reasons: vec![reason.into()],
        }
    }

    /// One line per change or reason, then `configuration reload finished`
    /// with the result, for the service's log.
    pub fn log(&self, trigger: &str) {
        match self {
            ReloadOutcome::Applied { seq, changes, .. } => {
                for c in changes {
                    tracing::info!(trigger = %trigger, change = %c, "configuration reload change");
                }
                tracing::info!(trigger = %trigger, result = "applied", seq, changes = changes.len(), "configuration reload finished");
            }
            ReloadOutcome::Unchanged { sha256 } => {
                tracing::info!(trigger = %trigger, result = "unchanged", %sha256, "configuration reload finished: the file is the running configuration; nothing recorded");
            }
            ReloadOutcome::Refused { reasons } => {
                for r in reasons {
                    tracing::warn!(trigger = %trigger, reason = %r, "configuration reload refused: reason");
                }
                tracing::warn!(trigger = %trigger, result = "refused", reasons = reasons.len(), "configuration reload finished: refused, nothing changed");
            }
        }
    }
}

/// The one entry point of both triggers.
pub struct Reloader {
    /// `None` for the embedded demo hall: there is no file to re-read.
    source: Option<ReloadSource>,
    hall: HallHandle,
    live: LiveConfig,
    journal_path: PathBuf,
    /// One reload at a time (a SIGHUP during an API reload waits).
    running: tokio::sync::Mutex<()>,
}

impl Reloader {
    pub fn new(
        source: Option<ReloadSource>,
        hall: HallHandle,
        live: LiveConfig,
        journal_path: PathBuf,
    ) -> Reloader {
        Reloader {
            source,
            hall,
            live,
            journal_path,
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// Re-reads the file, validates it, and has the owner apply it.
    /// `actor` and `client` are journaled on the `config_applied` row.
    pub async fn reload(&self, trigger: &str, actor: &str, client: &str) -> ReloadOutcome {
        let _one = self.running.lock().await;
        let outcome = match &self.source {
            None => ReloadOutcome::refused(
                "this is the embedded demo hall: there is no configuration file to re-read; \
                 start with `hallq serve --config FILE` to change the configuration",
            ),
            Some(source) => {
                let source = source.clone();
                match tokio::task::spawn_blocking(move || load(&source)).await {
                    Err(e) => ReloadOutcome::refused(format!("reading the file failed: {e}")),
                    Ok(Err(reasons)) => ReloadOutcome::Refused { reasons },
                    Ok(Ok(config)) => self.apply(Arc::new(config), actor, client).await,
                }
            }
        };
        outcome.log(trigger);
        outcome
    }

    /// The cheap checks here; the journal replayed under `config` on a
    /// blocking thread; then the owner finishes, checks again and commits.
    async fn apply(&self, config: Arc<Config>, actor: &str, client: &str) -> ReloadOutcome {
        if let Err(outcome) = precheck(&self.live.get(), &config) {
            return outcome;
        }
        let path = self.journal_path.clone();
        let c = config.clone();
        let pre = match tokio::task::spawn_blocking(move || pre_replay(c, &path)).await {
            Ok(Ok(pre)) => Some(pre),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "reload: replaying on a read-only connection failed; the owner replays it all");
                None
            }
            Err(e) => return ReloadOutcome::refused(format!("the replay failed: {e}")),
        };
        self.hall
            .reload(config, pre, self.live.clone(), actor, client)
            .await
            .unwrap_or_else(|e| ReloadOutcome::refused(e.to_string()))
    }
}

/// Reads and validates the file (every error of `hallq check`), then applies
/// the `--bus` overrides the daemon was started with.
fn load(source: &ReloadSource) -> Result<Config, Vec<String>> {
    let mut config = Config::load(&source.path).map_err(|errors| {
        let mut reasons: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
        reasons.push(format!(
            "{} error(s) in {}: the running configuration stays",
            errors.0.len(),
            source.path.display()
        ));
        reasons
    })?;
    let mut reasons = Vec::new();
    for b in &source.bus_overrides {
        match b.split_once('=') {
            Some((name, path)) => {
                if let Err(e) = config.set_bus_port(name, path) {
                    reasons.push(format!("--bus {b}: {e}"));
                }
            }
            None => reasons.push(format!("--bus {b}: expected NAME=PATH")),
        }
    }
    if reasons.is_empty() {
        Ok(config)
    } else {
        Err(reasons)
    }
}

/// The hall a reload would install, checked, and its event.
pub(super) struct Prepared {
    pub hall: Hall,
    pub keys: IdempotencyCache,
    pub event: Event,
    pub changes: Vec<String>,
}

/// On the owner thread, with nothing uncommitted: compares, rebuilds the hall
/// under `new` from the journal, and checks that nothing live is lost.
/// `Err` is the outcome to answer (unchanged or refused).
pub(super) fn prepare(
    current: &Hall,
    journal: &Journal,
    new: Arc<Config>,
    pre: Option<PreReplayed>,
) -> Result<Prepared, ReloadOutcome> {
    let changes = precheck(current.config(), &new)?;
    let cannot = |e: anyhow::Error| {
        ReloadOutcome::refused(format!(
            "the journal cannot be replayed under the new configuration: {e}"
        ))
    };
    let rebuilt = match pre.filter(|p| Arc::ptr_eq(&p.config, &new)) {
        // Only the rows committed since the pre-replay, on this thread.
        Some(PreReplayed {
            mut replayer,
            through,
            ..
        }) => {
            journal
                .for_each_from(through, |rec| replayer.feed(rec))
                .map_err(cannot)?;
            replayer.finish()
        }
        None => replay::replay_full(new.clone(), journal, None).map_err(cannot)?,
    };
    let lost = conflicts(current, &rebuilt.hall);
    if !lost.is_empty() {
        return Err(ReloadOutcome::Refused { reasons: lost });
    }
    let mut changes = capped(changes.into_iter().map(|c| c.text).collect());
    if changes.is_empty() {
        changes.push("no setting changed (comments or layout only)".into());
    }
    Ok(Prepared {
        hall: rebuilt.hall,
        keys: rebuilt.idempotency,
        event: Event::ConfigApplied {
            sha256: new.source_sha256.clone(),
            source: new.source_name.clone(),
            changes: changes.clone(),
        },
        changes,
    })
}

/// Most changes or reasons listed (the `config_applied` row stays far below
/// the journal's payload limit).
pub const LISTED_MAX: usize = 500;

fn capped(mut lines: Vec<String>) -> Vec<String> {
    if lines.len() > LISTED_MAX {
        let more = lines.len() - LISTED_MAX;
        lines.truncate(LISTED_MAX);
        lines.push(format!("… and {more} more"));
    }
    lines
}

/// The cheap checks, also made before the pre-replay: the same file is
/// *unchanged*; a restart-only difference is *refused*. Else the changes.
fn precheck(old: &Config, new: &Config) -> Result<Vec<diff::Change>, ReloadOutcome> {
    if old.source_sha256 == new.source_sha256 {
        return Err(ReloadOutcome::Unchanged {
            sha256: new.source_sha256.clone(),
        });
    }
    let changes = diff::diff(old, new);
    let restart: Vec<String> = changes
        .iter()
        .filter_map(|c| {
            c.restart
                .map(|why| format!("{} — needs a restart: {why}", c.text))
        })
        .collect();
    if restart.is_empty() {
        Ok(changes)
    } else {
        Err(ReloadOutcome::Refused {
            reasons: capped(restart),
        })
    }
}

/// The journal replayed under a new configuration on a read-only
/// connection, off the owner thread, through row `through`: the owner then
/// replays only the rows committed since, so the hall pauses for those and
/// not for the whole journal.
pub struct PreReplayed {
    config: Arc<Config>,
    replayer: replay::Replayer,
    through: u64,
}

/// BLOCKING: reads the whole journal.
pub fn pre_replay(config: Arc<Config>, journal_path: &Path) -> anyhow::Result<PreReplayed> {
    let reader = JournalReader::open(journal_path)?;
    let mut replayer = replay::Replayer::new(config.clone(), None);
    let mut through = 0;
    reader.for_each_from(0, |rec| {
        through = rec.seq;
        replayer.feed(rec)
    })?;
    Ok(PreReplayed {
        config,
        replayer,
        through,
    })
}

fn status_word(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::Waiting => "waiting",
        TicketStatus::Called => "called",
        TicketStatus::Serving => "being served",
        TicketStatus::Parked => "parked",
        TicketStatus::Finished => "finished",
        TicketStatus::NoShow => "a no-show",
        TicketStatus::Cancelled => "cancelled",
        TicketStatus::Expired => "expired",
    }
}

fn describe(t: &Ticket) -> String {
    match t.window {
        Some(w) => format!("{} {} at window {w}", t.number, status_word(t.status)),
        None => format!("{} {}", t.number, status_word(t.status)),
    }
}

/// Most tickets named in one reason.
const NAMED_MAX: usize = 10;

fn listed(tickets: &[&Ticket]) -> String {
    let mut names: Vec<String> = tickets
        .iter()
        .take(NAMED_MAX)
        .map(|t| describe(t))
        .collect();
    if tickets.len() > NAMED_MAX {
        names.push(format!("and {} more", tickets.len() - NAMED_MAX));
    }
    names.join(", ")
}

/// What the hall rebuilt under the new configuration would lose or change
/// of what is live now, in plain words; empty when nothing.
pub fn conflicts(now: &Hall, rebuilt: &Hall) -> Vec<String> {
    let new = rebuilt.config();
    let mut live: Vec<&Ticket> = now.live_tickets().collect();
    live.sort_by_key(|t| t.id);
    // Grouped by what causes the loss: a removed service, a removed window.
    let mut by_service: BTreeMap<&str, Vec<&Ticket>> = BTreeMap::new();
    let mut by_window: BTreeMap<u32, Vec<&Ticket>> = BTreeMap::new();
    let mut other = Vec::new();
    for t in live {
        // Replay keeps a ticket of a service the new file lacks (evolve
        // trusts its events), but nobody could call or serve it any more.
        let gone_service = Some(t.service.as_str()).filter(|s| new.service(s).is_none());
        let gone_window = [t.window, t.directed_to]
            .into_iter()
            .flatten()
            .find(|w| new.window(*w).is_none());
        let same = rebuilt.ticket(t.id).is_some_and(|n| {
            n.status == t.status && n.window == t.window && n.service == t.service
        });
        if same && gone_service.is_none() && gone_window.is_none() {
            continue;
        }
        if let Some(s) = gone_service {
            by_service.entry(s).or_default().push(t);
        } else if let Some(w) = gone_window {
            by_window.entry(w).or_default().push(t);
        } else {
            let after = rebuilt
                .ticket(t.id)
                .map_or("gone".to_string(), |t| describe(&t));
            other.push(format!("ticket {} would become {after}", describe(t)));
        }
    }
    let mut out = Vec::new();
    for (s, ts) in by_service {
        let name = now.config().service(s).map_or(s, |c| c.name.as_str());
        out.push(format!(
            "service \"{s}\" ({name}) is removed while {} live ticket(s) need it: {}",
            ts.len(),
            listed(&ts)
        ));
    }
    for (w, ts) in by_window {
        out.push(format!(
            "window {w} is removed while {} live ticket(s) are there or sent there: {}",
            ts.len(),
            listed(&ts)
        ));
    }
    out.extend(other);
    // Tickets the new configuration would bring back (their service returns).
    let mut back: Vec<&Ticket> = rebuilt
        .live_tickets()
        .filter(|t| now.live_ticket(t.id).is_none())
        .collect();
    back.sort_by_key(|t| t.id);
    if !back.is_empty() {
        out.push(format!(
            "{} ticket(s) of an earlier configuration would come back live: {}",
            back.len(),
            listed(&back)
        ));
    }
    for w in now.windows() {
        let Some(staff) = &w.staff else { continue };
        match rebuilt.window(w.number) {
            None => out.push(format!(
                "window {} is removed while {staff} is signed in there",
                w.number
            )),
            Some(n) if n.staff.as_ref() != Some(staff) => out.push(format!(
                "{staff}, signed in at window {}, would be signed out",
                w.number
            )),
            Some(_) => {}
        }
    }
    out
}
