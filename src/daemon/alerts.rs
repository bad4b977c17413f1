//! The alert monitor of `hallq serve`: keeps the hall's current alerts
//! (`crate::alerts::evaluate`) and announces each change.
//!
//! One task re-evaluates after every committed batch (the owner's
//! broadcast; a burst of events is one evaluation), after every device
//! going offline or coming back, and once a second (time alone makes waits
//! long, windows idle and pauses too long). The evaluation is a
//! `HallHandle::query`, so it sees one consistent moment and costs the
//! owner thread O(windows + services). The new set is compared with the
//! previous one by key: a new key, or a changed level or message, is
//! `raised`; a key gone is `cleared`. Changes go to a broadcast channel
//! (the event stream sends them as `event: alert`); the current set, with
//! when each condition began, and a count per kind are readable at any time.
//!
//! **Architecture invariant:** alerts are derived data and are not
//! journaled: the journal records what people and devices did, and every
//! alert can be recomputed from the hall it rebuilds. The monitor evaluates
//! once before `hallq serve` starts listening, so after a restart the alerts
//! that still hold are raised again at once, each with the time its
//! condition began (a device's since is the first time this process saw it
//! offline, or its last answer).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;
use utoipa::ToSchema;

use super::owner::{HallHandle, SubmitError};
use crate::alerts::{self, Alert, Kind, OfflineDevice};
use crate::devices::bus::{DeviceChange, Link, Registry, Serves};
use crate::queue::{Hall, Millis};

/// How often time alone is checked.
pub const TICK: Duration = Duration::from_secs(1);
/// Changes kept for slow subscribers (a stream that lags re-sends the current set).
pub const CHANGES_CAPACITY: usize = 256;

/// `raised` (new, or its level or message changed) or `cleared`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeState {
    Raised,
    Cleared,
}

/// One change of the current set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertChange {
    pub state: ChangeState,
    pub alert: Alert,
}

/// Per kind: alerts raised since the daemon started, and active now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct KindCount {
    pub kind: Kind,
    /// New alerts of this kind since start (a level change is not a new alert).
    pub raised_total: u64,
    pub active: usize,
}

#[derive(Default)]
struct Current {
    /// In evaluation order.
    alerts: Vec<Alert>,
    raised_total: BTreeMap<Kind, u64>,
}

/// The current alerts and their changes.
pub struct AlertMonitor {
    current: Mutex<Current>,
    changes: broadcast::Sender<Arc<AlertChange>>,
    /// The offline devices of the last evaluation.
    offline: Mutex<Vec<OfflineDevice>>,
}

impl Default for AlertMonitor {
    fn default() -> Self {
        AlertMonitor::new()
    }
}

impl AlertMonitor {
    pub fn new() -> AlertMonitor {
        let (changes, _) = broadcast::channel(CHANGES_CAPACITY);
        AlertMonitor {
            current: Mutex::new(Current::default()),
            changes,
            offline: Mutex::new(Vec::new()),
        }
    }

    /// The alerts of `hall` at `now_ms` (on the owner thread, inside a
    /// query), each alert that is current keeping the monitor's since: what
    /// a view of that very moment shows, even before the monitor's next
    /// evaluation has announced the change.
    pub fn evaluate(&self, hall: &Hall, now_ms: Millis) -> Vec<Alert> {
        let offline = self
            .offline
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut list = alerts::evaluate(hall, now_ms, &offline);
        let c = self.lock();
        for a in &mut list {
            if let Some(old) = c.alerts.iter().find(|o| o.key == a.key) {
                a.since_ms = a.since_ms.min(old.since_ms);
            }
        }
        list
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The alerts in force, each with when its condition began.
    pub fn current(&self) -> Vec<Alert> {
        self.lock().alerts.clone()
    }

    /// Changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<AlertChange>> {
        self.changes.subscribe()
    }

    /// Every kind, with its totals (for `/metrics`).
    pub fn counts(&self) -> Vec<KindCount> {
        let c = self.lock();
        Kind::ALL
            .iter()
            .map(|&kind| KindCount {
                kind,
                raised_total: c.raised_total.get(&kind).copied().unwrap_or(0),
                active: c.alerts.iter().filter(|a| a.kind == kind).count(),
            })
            .collect()
    }

    /// Takes a new evaluation as the current set; returns the changes
    /// (cleared first, then raised, each in evaluation order) and
    /// broadcasts them. An alert that goes on keeps the earliest `since_ms`
    /// seen: its condition has held since then.
    pub fn update(&self, evaluated: Vec<Alert>) -> Vec<AlertChange> {
        let mut c = self.lock();
        let before: HashMap<&str, &Alert> = c.alerts.iter().map(|a| (a.key.as_str(), a)).collect();
        let mut next = Vec::with_capacity(evaluated.len());
        let mut raised = Vec::new();
        let mut new_kinds = Vec::new();
        for mut a in evaluated {
            match before.get(a.key.as_str()) {
                Some(old) => {
                    a.since_ms = a.since_ms.min(old.since_ms);
                    if old.level != a.level || old.message != a.message {
                        raised.push(a.clone());
                    }
                }
                None => {
                    new_kinds.push(a.kind);
                    raised.push(a.clone());
                }
            }
            next.push(a);
        }
        let still: std::collections::HashSet<&str> = next.iter().map(|a| a.key.as_str()).collect();
        let mut changes: Vec<AlertChange> = c
            .alerts
            .iter()
            .filter(|a| !still.contains(a.key.as_str()))
            .map(|a| AlertChange {
                state: ChangeState::Cleared,
                alert: a.clone(),
            })
            .collect();
        changes.extend(raised.into_iter().map(|alert| AlertChange {
            state: ChangeState::Raised,
            alert,
        }));
        for kind in new_kinds {
            *c.raised_total.entry(kind).or_default() += 1;
        }
        c.alerts = next;
        // Sent under the lock, so subscribers see changes in the order of updates.
        for change in &changes {
            let _ = self.changes.send(Arc::new(change.clone()));
        }
        changes
    }
}

/// The device layer's offline devices, kept from its link changes.
struct DeviceWatch {
    registry: Arc<Registry>,
    changes: broadcast::Receiver<DeviceChange>,
    /// Registry index → (label, profile, serves).
    infos: Vec<(String, String, Serves)>,
    /// Registry index → since when it is offline.
    offline: BTreeMap<usize, Millis>,
}

impl DeviceWatch {
    fn new(registry: Arc<Registry>, now_ms: Millis) -> DeviceWatch {
        let changes = registry.subscribe();
        let statuses = registry.statuses();
        let infos = statuses
            .iter()
            .map(|d| {
                (
                    alerts::device_label(&d.info.bus, d.info.unit),
                    d.info.profile.clone(),
                    d.info.serves.clone(),
                )
            })
            .collect();
        let mut watch = DeviceWatch {
            registry,
            changes,
            infos,
            offline: BTreeMap::new(),
        };
        watch.resync(now_ms);
        watch
    }

    /// Re-reads every device's link (at start, and after missing changes).
    fn resync(&mut self, now_ms: Millis) {
        let statuses = self.registry.statuses();
        for (i, d) in statuses.iter().enumerate() {
            if d.health.link == Link::Offline {
                let since = d.health.last_seen_ms.unwrap_or(now_ms).min(now_ms);
                self.offline.entry(i).or_insert(since);
            } else {
                self.offline.remove(&i);
            }
        }
    }

    fn apply(&mut self, change: &DeviceChange) {
        if change.link == Link::Offline {
            self.offline.entry(change.device).or_insert(change.at_ms);
        } else {
            self.offline.remove(&change.device);
        }
    }

    fn list(&self) -> Vec<OfflineDevice> {
        self.offline
            .iter()
            .filter_map(|(&i, &since_ms)| {
                let (label, profile, serves) = self.infos.get(i)?;
                Some(OfflineDevice {
                    label: label.clone(),
                    profile: profile.clone(),
                    serves: serves.clone(),
                    since_ms,
                })
            })
            .collect()
    }
}

/// Where the monitor gets `now` (the daemon's wall clock).
pub type NowFn = Arc<dyn Fn() -> Millis + Send + Sync>;

/// Starts the monitor: evaluates once (so alerts that hold at start are
/// current before anyone asks), then follows the hall, the devices and
/// the clock until the owner stops.
pub async fn start(
    handle: HallHandle,
    registry: Option<Arc<Registry>>,
    now_ms: NowFn,
) -> Result<Arc<AlertMonitor>, SubmitError> {
    let monitor = Arc::new(AlertMonitor::new());
    let events = handle.subscribe();
    let mut devices = registry.map(|r| DeviceWatch::new(r, now_ms()));
    evaluate(&handle, &monitor, devices.as_mut(), &now_ms).await?;
    tokio::spawn(run(handle, monitor.clone(), events, devices, now_ms));
    Ok(monitor)
}

async fn evaluate(
    handle: &HallHandle,
    monitor: &AlertMonitor,
    devices: Option<&mut DeviceWatch>,
    now_ms: &NowFn,
) -> Result<(), SubmitError> {
    let offline = devices.map(|d| d.list()).unwrap_or_default();
    *monitor.offline.lock().unwrap_or_else(|e| e.into_inner()) = offline.clone();
    let now = now_ms();
    let evaluated = handle
        .query(move |hall, _| alerts::evaluate(hall, now, &offline))
        .await?;
    monitor.update(evaluated);
    Ok(())
}

async fn run(
    handle: HallHandle,
    monitor: Arc<AlertMonitor>,
    mut events: broadcast::Receiver<Arc<super::Published>>,
    mut devices: Option<DeviceWatch>,
    now_ms: NowFn,
) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate: start() has just evaluated
    loop {
        tokio::select! {
            r = events.recv() => match r {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    // One evaluation for the whole burst.
                    while !matches!(
                        events.try_recv(),
                        Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed)
                    ) {}
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick() => {}
            change = device_change(&mut devices) => {
                if let Some(d) = devices.as_mut() {
                    match change {
                        Some(c) => d.apply(&c),
                        None => d.resync(now_ms()),
                    }
                }
            }
        }
        // A failed query (the owner is stopping, or contained a panic in
        // the evaluation) leaves the set as it was until the next try; the
        // task ends when the owner's broadcast closes.
        let _ = evaluate(&handle, &monitor, devices.as_mut(), &now_ms).await;
    }
}

/// The next device change; pending forever without devices; `None` after
/// a lag (the watch re-reads every device then).
async fn device_change(devices: &mut Option<DeviceWatch>) -> Option<DeviceChange> {
    let Some(d) = devices.as_mut() else {
        return std::future::pending().await;
    };
    match d.changes.recv().await {
        Ok(change) => Some(change),
        Err(broadcast::error::RecvError::Lagged(_)) => None,
        Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::Level;

    fn alert(key: &str, kind: Kind, level: Level, since_ms: Millis) -> Alert {
        Alert {
            key: key.into(),
            kind,
            level,
            service: None,
            window: None,
            device: None,
            message: format!("{key} {level:?}"),
            message_en: String::new(),
            since_ms,
        }
    }

    fn states(changes: &[AlertChange]) -> Vec<(ChangeState, String, Level)> {
        changes
            .iter()
            .map(|c| (c.state, c.alert.key.clone(), c.alert.level))
            .collect()
    }

    #[test]
    fn changes_are_raised_on_new_keys_and_level_changes_and_cleared_when_gone() {
        let m = AlertMonitor::new();
        let mut rx = m.subscribe();
        let a = alert("long_wait:s1", Kind::LongWait, Level::Warn, 100);
        let b = alert("long_pause:2", Kind::LongPause, Level::Warn, 200);
        let c1 = m.update(vec![a.clone(), b.clone()]);
        assert_eq!(
            states(&c1),
            vec![
                (ChangeState::Raised, "long_wait:s1".into(), Level::Warn),
                (ChangeState::Raised, "long_pause:2".into(), Level::Warn),
            ]
        );
        // The same again: nothing to say.
        assert!(m.update(vec![a.clone(), b.clone()]).is_empty());
        // A later since for a condition that went on: the earlier is kept.
        let mut later = a.clone();
        later.since_ms = 150;
        assert!(m.update(vec![later, b.clone()]).is_empty());
        assert_eq!(m.current()[0].since_ms, 100);
        // Level up: raised again, same key and since; b gone: cleared.
        let up = alert("long_wait:s1", Kind::LongWait, Level::Alarm, 100);
        let c2 = m.update(vec![up]);
        assert_eq!(
            states(&c2),
            vec![
                (ChangeState::Cleared, "long_pause:2".into(), Level::Warn),
                (ChangeState::Raised, "long_wait:s1".into(), Level::Alarm),
            ]
        );
        assert_eq!(c2[1].alert.since_ms, 100);
        let c3 = m.update(Vec::new());
        assert_eq!(
            states(&c3),
            vec![(ChangeState::Cleared, "long_wait:s1".into(), Level::Alarm)]
        );
        assert!(m.current().is_empty());
        // Every change was broadcast, in order.
        let mut got = Vec::new();
        while let Ok(c) = rx.try_recv() {
            got.push((c.state, c.alert.key.clone()));
        }
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[4], (ChangeState::Cleared, "long_wait:s1".to_string()));
    }

    #[test]
    fn counts_follow_new_alerts_and_the_active_set() {
        let m = AlertMonitor::new();
        let a = alert("idle_window:1", Kind::IdleWindow, Level::Warn, 1);
        let b = alert("idle_window:2", Kind::IdleWindow, Level::Warn, 1);
        m.update(vec![a.clone(), b.clone()]);
        let mut up = a.clone();
        up.level = Level::Alarm;
        m.update(vec![up, b.clone()]);
        m.update(vec![b.clone()]);
        m.update(vec![a.clone(), b]);
        let counts = m.counts();
        assert_eq!(counts.len(), Kind::ALL.len());
        let idle = counts
            .iter()
            .find(|c| c.kind == Kind::IdleWindow)
            .expect("idle_window");
        assert_eq!(
            idle.raised_total, 3,
            "a, b, then a again (not its level change)"
        );
        assert_eq!(idle.active, 2);
        let wait = counts
            .iter()
            .find(|c| c.kind == Kind::LongWait)
            .expect("long_wait");
        assert_eq!((wait.raised_total, wait.active), (0, 0));
    }
}
