//! The manager's alerts, derived from the hall (pure).
//!
//! [`evaluate`] looks at the hall at one moment and lists what a manager
//! should look at now:
//!
//! | kind | subject | raised when | level |
//! |---|---|---|---|
//! | `long_wait` | service | its longest-waiting ticket has waited longer than the service's `target_wait_minutes` | warn; alarm over twice the target |
//! | `idle_window` | window | a staffed, open, unpaused window without a ticket has been idle `[alerts] idle_minutes` while people it could serve wait | warn; alarm over twice the limit |
//! | `long_pause` | window | a staffed window has been paused longer than `[alerts] pause_minutes` allows for its reason, while a session is open or people it could serve wait | warn; alarm over twice the limit |
//! | `early_lunch` | window | a window went to lunch within the open session more than `[alerts] early_lunch_minutes` before the session's end | warn |
//! | `device_offline` | device | the device layer reports it offline | alarm |
//!
//! Each alert has a stable `key` (kind and subject: `long_wait:tax`,
//! `idle_window:12`, `device_offline:floor1/101`), so the monitor
//! (`daemon::alerts`) can tell a new alert from one still going on, and a
//! `since_ms`: when the condition began (the oldest ticket's wait start
//! plus the target, the moment the window became idle while people waited,
//! the pause's start plus its limit…), so an alert re-raised after a restart
//! says how long it has lasted. Messages name the condition and its limit,
//! not the minutes elapsed, so they stay the same while the alert lasts;
//! pages show the time since `since_ms`.
//!
//! **Architecture invariant:** no I/O, no clock (`now_ms` is an argument),
//! nothing journaled: alerts are derived data, recomputed from the hall
//! (and the device health handed in) whenever asked. Cost: O(windows ×
//! services per window + services × priority ranks), plus the tickets
//! transferred to a named window — cheap enough to run on the owner
//! thread after every batch and every second.

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::config::AlertsConfig;
use crate::devices::bus::{DeviceStatus, Link, Serves};
use crate::queue::calendar;
use crate::queue::{Hall, Millis, PauseReason, WindowActivity, WindowNo};

const MINUTE_MS: f64 = 60_000.0;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    LongWait,
    IdleWindow,
    LongPause,
    EarlyLunch,
    DeviceOffline,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::LongWait,
        Kind::IdleWindow,
        Kind::LongPause,
        Kind::EarlyLunch,
        Kind::DeviceOffline,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::LongWait => "long_wait",
            Kind::IdleWindow => "idle_window",
            Kind::LongPause => "long_pause",
            Kind::EarlyLunch => "early_lunch",
            Kind::DeviceOffline => "device_offline",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Warn,
    Alarm,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Warn => "warn",
            Level::Alarm => "alarm",
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// Kind and subject, stable while the condition lasts: `long_wait:tax`.
    pub key: String,
    pub kind: Kind,
    pub level: Level,
    /// The service (long waits).
    pub service: Option<String>,
    /// The window (idle, pause, lunch; a device serving a window).
    pub window: Option<WindowNo>,
    /// The device's label, `bus/unit` or `bus` (device alerts).
    pub device: Option<String>,
    pub message: String,
    pub message_en: String,
    /// When the condition began.
    pub since_ms: Millis,
}

/// A device that is offline, as the alerts need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineDevice {
    /// `bus/unit`, or `bus` for an address-less device.
    pub label: String,
    pub profile: String,
    pub serves: Serves,
    /// Since when it is known to be offline.
    pub since_ms: Millis,
}

impl OfflineDevice {
    /// The offline devices of a health list. `since_ms` is the device's
    /// last answer, or `now_ms` when it never answered (a port that cannot
    /// be opened); the monitor keeps the first moment it saw one offline.
    pub fn from_statuses(list: &[DeviceStatus], now_ms: Millis) -> Vec<OfflineDevice> {
        list.iter()
            .filter(|d| d.health.link == Link::Offline)
            .map(|d| OfflineDevice {
                label: device_label(&d.info.bus, d.info.unit),
                profile: d.info.profile.clone(),
                serves: d.info.serves.clone(),
                since_ms: d.health.last_seen_ms.unwrap_or(now_ms).min(now_ms),
            })
            .collect()
    }
}

/// `bus/unit`, or `bus` for a device without an address.
pub fn device_label(bus: &str, unit: Option<u8>) -> String {
    match unit {
        Some(u) => format!("{bus}/{u}"),
        None => bus.to_string(),
    }
}

/// The limits of `[alerts]`, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub idle_ms: Millis,
    pub early_lunch_ms: Millis,
    pause_ms: [Millis; 4],
}

fn ms(minutes: f64) -> Millis {
    (minutes * MINUTE_MS).round() as Millis
}

impl Limits {
    pub fn new(c: &AlertsConfig) -> Limits {
        let p = &c.pause_minutes;
        Limits {
            idle_ms: ms(c.idle_minutes),
            early_lunch_ms: ms(c.early_lunch_minutes),
            pause_ms: [
                ms(p.lunch),
                ms(p.break_),
                ms(p.out_of_supplies),
                ms(p.meeting),
            ],
        }
    }

    /// How long a pause for `reason` may last.
    pub fn pause_ms(&self, reason: PauseReason) -> Millis {
        self.pause_ms[match reason {
            PauseReason::Lunch => 0,
            PauseReason::Break => 1,
            PauseReason::OutOfSupplies => 2,
            PauseReason::Meeting => 3,
        }]
    }
}

/// Per service, when its longest-waiting ticket began to wait (services
/// with nobody waiting are absent). Counts every waiting ticket of the
/// service: its own lines at every priority, and tickets transferred to a
/// named window. A walk-in waits from its arrival (kept through transfers
/// and next steps), an appointment from its slot.
pub fn wait_starts(hall: &Hall) -> HashMap<&str, Millis> {
    with_directed(hall, lane_starts(hall))
}

/// `lanes` with the tickets transferred to a named window added to their services.
fn with_directed<'h>(
    hall: &'h Hall,
    mut out: HashMap<&'h str, Millis>,
) -> HashMap<&'h str, Millis> {
    for (_, lane) in hall.queues().directed_lanes() {
        for e in lane.entries() {
            let Some(t) = hall.ticket(e.id) else { continue };
            let Some(s) = hall.config().service(&t.service) else {
                continue;
            };
            let start = e.wait_start_ms();
            out.entry(s.id.as_str())
                .and_modify(|x| *x = (*x).min(start))
                .or_insert(start);
        }
    }
    out
}

/// Per service, when the longest wait in its own lines began (any window
/// serving it may call these; tickets transferred to a named window are not counted).
fn lane_starts(hall: &Hall) -> HashMap<&str, Millis> {
    let queues = hall.queues();
    let mut out: HashMap<&str, Millis> = HashMap::new();
    for s in hall.config().services() {
        if let Some(start) = queues
            .service_lanes(&s.id)
            .filter_map(|l| l.wait_start_ms())
            .min()
        {
            out.insert(s.id.as_str(), start);
        }
    }
    out
}

/// Per window, when the longest wait among the tickets transferred to it began.
fn directed_starts(hall: &Hall) -> HashMap<WindowNo, Millis> {
    let mut out: HashMap<WindowNo, Millis> = HashMap::new();
    for (w, lane) in hall.queues().directed_lanes() {
        if let Some(start) = lane.wait_start_ms() {
            out.entry(w)
                .and_modify(|x| *x = (*x).min(start))
                .or_insert(start);
        }
    }
    out
}

/// `3`, `0.5`, `0.05`: minutes as written in the configuration.
pub fn minutes_text(ms: Millis) -> String {
    let m = ms as f64 / MINUTE_MS;
    let text = format!("{m:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

fn reason_text(reason: PauseReason) -> (&'static str, &'static str) {
    match reason {
        PauseReason::Lunch => ("午休", "lunch"),
        PauseReason::Break => ("休息", "a break"),
        PauseReason::OutOfSupplies => ("缺少耗材", "supplies"),
        PauseReason::Meeting => ("开会", "a meeting"),
    }
}

/// The level of a condition over `limit_ms` by `elapsed_ms`: warn above the
/// limit, alarm above twice it; `None` at or below the limit.
fn level(elapsed_ms: Millis, limit_ms: Millis) -> Option<Level> {
    if elapsed_ms > limit_ms.saturating_mul(2) {
        Some(Level::Alarm)
    } else if elapsed_ms > limit_ms {
        Some(Level::Warn)
    } else {
        None
    }
}

/// Every alert of the hall at `now_ms`, in a stable order: long waits (in
/// the configuration's service order), then per window (by number) idle,
/// long pause and early lunch, then devices (in the order given).
pub fn evaluate(hall: &Hall, now_ms: Millis, devices: &[OfflineDevice]) -> Vec<Alert> {
    let config = hall.config();
    let limits = Limits::new(&config.file.alerts);
    let lanes = lane_starts(hall);
    let starts = with_directed(hall, lanes.clone());
    let directed = directed_starts(hall);
    let mut out = Vec::new();

    for s in config.services() {
        let Some(&start) = starts.get(s.id.as_str()) else {
            continue;
        };
        let target_ms = i64::from(s.target_wait_minutes) * 60_000;
        let Some(level) = level(now_ms - start, target_ms) else {
            continue;
        };
        let name_en = if s.name_en.is_empty() {
            &s.name
        } else {
            &s.name_en
        };
        let t = s.target_wait_minutes;
        let (message, message_en) = match level {
            Level::Warn => (
                format!("{}：最长等候已超过承诺的{t}分钟", s.name),
                format!("{name_en}: the longest wait is over the {t} min target"),
            ),
            Level::Alarm => (
                format!("{}：最长等候已超过承诺时限{t}分钟的两倍", s.name),
                format!("{name_en}: the longest wait is over twice the {t} min target"),
            ),
        };
        out.push(Alert {
            key: format!("long_wait:{}", s.id),
            kind: Kind::LongWait,
            level,
            service: Some(s.id.clone()),
            window: None,
            device: None,
            message,
            message_en,
            since_ms: start + target_ms,
        });
    }

    // The open session's start, found once if a window is at lunch.
    let mut session_start: Option<Option<Millis>> = None;
    for w in hall.windows() {
        let n = w.number;
        // When the longest wait among the people this window could serve began.
        let waiting_since = w
            .services
            .iter()
            .filter_map(|s| lanes.get(s.service.as_str()).copied())
            .chain(directed.get(&n).copied())
            .min();
        match hall.activity(n) {
            Some(WindowActivity::Idle) => {
                let Some(waiting_since) = waiting_since else {
                    continue;
                };
                let idle_since = w.since_ms.max(waiting_since);
                let idle_ms = now_ms - idle_since;
                if idle_ms < limits.idle_ms {
                    continue;
                }
                let level = if idle_ms > limits.idle_ms.saturating_mul(2) {
                    Level::Alarm
                } else {
                    Level::Warn
                };
                let m = minutes_text(limits.idle_ms);
                out.push(Alert {
                    key: format!("idle_window:{n}"),
                    kind: Kind::IdleWindow,
                    level,
                    service: None,
                    window: Some(n),
                    device: None,
                    message: format!("{n}号窗口空闲已达{m}分钟，仍有群众等候"),
                    message_en: format!(
                        "Window {n} has been idle for {m} min or more while people wait"
                    ),
                    since_ms: idle_since + limits.idle_ms,
                });
            }
            Some(WindowActivity::Paused { reason }) if w.staff.is_some() => {
                let paused_since = w.since_ms;
                let limit = limits.pause_ms(reason);
                let matters = hall.state().session.is_some() || waiting_since.is_some();
                if matters && let Some(level) = level(now_ms - paused_since, limit) {
                    let (zh, en) = reason_text(reason);
                    let m = minutes_text(limit);
                    let (message, message_en) = match level {
                        Level::Warn => (
                            format!("{n}号窗口因{zh}暂停已超过{m}分钟"),
                            format!("Window {n} has been paused for {en} over {m} min"),
                        ),
                        Level::Alarm => (
                            format!("{n}号窗口因{zh}暂停已超过{m}分钟的两倍"),
                            format!("Window {n} has been paused for {en} over twice {m} min"),
                        ),
                    };
                    out.push(Alert {
                        key: format!("long_pause:{n}"),
                        kind: Kind::LongPause,
                        level,
                        service: None,
                        window: Some(n),
                        device: None,
                        message,
                        message_en,
                        since_ms: paused_since + limit,
                    });
                }
                if reason == PauseReason::Lunch
                    && let Some(session) = hall.state().session
                    && let Some(ends_ms) = session.ends_ms
                {
                    let start = *session_start.get_or_insert_with(|| open_session_start(hall));
                    // A lunch begun before this session opened is not this
                    // session's early lunch (a long pause, if anything).
                    let in_session = start.is_none_or(|s| paused_since >= s);
                    if in_session && ends_ms - paused_since > limits.early_lunch_ms {
                        let tz = config.tz;
                        let at = hhmm(tz, paused_since);
                        let end = match hhmm(tz, ends_ms) {
                            // A session to the end of the day ends at 24:00, not 00:00.
                            midnight if midnight == "00:00" => "24:00".to_string(),
                            end => end,
                        };
                        out.push(Alert {
                            key: format!("early_lunch:{n}"),
                            kind: Kind::EarlyLunch,
                            level: Level::Warn,
                            service: None,
                            window: Some(n),
                            device: None,
                            message: format!("{n}号窗口{at}开始午休，早于本时段结束（{end}）"),
                            message_en: format!(
                                "Window {n} went to lunch at {at}, before the session ends at {end}"
                            ),
                            since_ms: paused_since,
                        });
                    }
                }
            }
            _ => {}
        }
    }

    for d in devices {
        let (serves, serves_en, window) = match &d.serves {
            Serves::Window(w) => (format!("{w}号窗口"), format!("window {w}"), Some(*w)),
            Serves::Zone(z) => {
                let zone = config.zone(z);
                let name = zone.map_or_else(|| z.clone(), |x| x.name.clone());
                let name_en = zone
                    .filter(|x| !x.name_en.is_empty())
                    .map_or_else(|| z.clone(), |x| x.name_en.clone());
                (name, format!("zone {name_en}"), None)
            }
        };
        let label = &d.label;
        out.push(Alert {
            key: format!("device_offline:{label}"),
            kind: Kind::DeviceOffline,
            level: Level::Alarm,
            service: None,
            window,
            device: Some(label.clone()),
            message: format!("{serves}的{}（{label}）离线", d.profile),
            message_en: format!("{} of {serves_en} ({label}) is offline", d.profile),
            since_ms: d.since_ms,
        });
    }
    out
}

/// When the open session began, from the calendar slot it was opened for
/// (`None` for a session a manager opened outside the calendar).
fn open_session_start(hall: &Hall) -> Option<Millis> {
    let slot = hall.state().session?.slot?;
    let day = hall.day()?;
    let config = hall.config();
    let plan = calendar::day_plan(&config.file.calendar, day);
    let s = plan.slots.iter().find(|s| s.index == slot)?;
    Some(calendar::instant(config.tz, s.start))
}

fn hhmm(tz: chrono_tz::Tz, at_ms: Millis) -> String {
    calendar::local(tz, at_ms).format("%H:%M").to_string()
}
