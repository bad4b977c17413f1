//! JSON views of the hall. Built on the owner thread (inside a `query`), so
//! each view is one consistent moment. No personal data: a person appears
//! nowhere; staff appear by name and job number, as on the window indicator.

use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use crate::queue::{Hall, Millis, Ticket, TicketStatus, WindowActivity, WindowNo, calendar};

/// Local time in the hall's zone, RFC 3339.
pub fn time(tz: Tz, ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&tz)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        })
        .unwrap_or_default()
}

pub fn status_name(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::Waiting => "waiting",
        TicketStatus::Called => "called",
        TicketStatus::Serving => "serving",
        TicketStatus::Parked => "parked",
        TicketStatus::Finished => "finished",
        TicketStatus::NoShow => "no_show",
        TicketStatus::Cancelled => "cancelled",
        TicketStatus::Expired => "expired",
    }
}

/// Minutes still to wait until the first call: the median and an 80%
/// interval (`low` = p10, `high` = p90).
///
/// `method` says where it comes from: `lookahead` — the hall's own routing
/// simulated forward with learned service times (`crate::forecast`,
/// measured in BENCHMARKS.md "Wait estimates"); `classic` — place in line ×
/// expected minutes per case ÷ staffed open windows, with a wide band, when
/// no look-ahead covers the ticket yet.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WaitEstimate {
    pub minutes: u32,
    pub low: u32,
    pub high: u32,
    /// `lookahead` or `classic`.
    pub method: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketView {
    pub id: u64,
    /// As printed and announced, e.g. `A012`.
    pub number: String,
    pub service: String,
    pub service_name: String,
    pub service_name_en: String,
    /// waiting, called, serving, parked, finished, no_show, cancelled, expired
    pub status: String,
    pub issued_at: String,
    pub priority: Option<String>,
    pub cases: u32,
    /// Step of a multi-step flow, 0 for the first.
    pub step: u32,
    /// Tickets ahead in its own line (waiting tickets only).
    pub ahead: Option<usize>,
    pub wait_estimate: Option<WaitEstimate>,
    /// The window it is called to or served at.
    pub window: Option<WindowNo>,
    pub window_name: Option<String>,
    pub floor: Option<i32>,
    pub zone: Option<String>,
    pub outcome: Option<String>,
    /// The phone status page (`/t/{id}?k=…`), for the QR code on the
    /// ticket; only in the answer to the one who issued it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketEnvelope {
    /// `null` when call-next found nobody waiting.
    pub ticket: Option<TicketView>,
}

pub fn estimate(hall: &Hall, t: &Ticket, now_ms: Millis) -> Option<WaitEstimate> {
    let ahead = hall.ahead(t.id, now_ms)?;
    let per_case = hall
        .config()
        .service(&t.service)
        .map_or(10, |s| s.expected_minutes);
    let serving = match t.directed_to {
        Some(_) => 1,
        None => staffed_windows(hall, &t.service),
    };
    Some(classic_estimate(ahead, per_case, serving))
}

/// (place in line) × minutes per case ÷ windows, with a wide band.
fn classic_estimate(ahead: usize, per_case_minutes: u32, windows: usize) -> WaitEstimate {
    let minutes = ((ahead as u64 + 1) * u64::from(per_case_minutes.max(1)))
        .div_ceil(windows.max(1) as u64) as u32;
    WaitEstimate {
        minutes,
        low: minutes / 2,
        high: minutes + minutes / 2 + 1,
        method: "classic".to_string(),
    }
}

/// A look-ahead estimate as minutes still to wait at `now_ms` (rounded to
/// the nearest minute; the interval never narrower than the median's minute).
pub fn lookahead_estimate(e: &crate::forecast::Estimate, now_ms: Millis) -> WaitEstimate {
    let (low, mid, high) = e.minutes_from(now_ms);
    let minutes = mid.round() as u32;
    WaitEstimate {
        minutes,
        low: (low.floor() as u32).min(minutes),
        high: (high.ceil() as u32).max(minutes),
        method: "lookahead".to_string(),
    }
}

/// The look-ahead's estimate of a waiting ticket when the forecast covers
/// it: the ticket itself if it was waiting when the forecast was made, else
/// (issued since) the estimate of a new ordinary ticket of its service.
pub fn forecast_estimate(
    forecast: &crate::forecast::Forecast,
    t: &Ticket,
    now_ms: Millis,
) -> Option<WaitEstimate> {
    if t.status != TicketStatus::Waiting || forecast.runs == 0 {
        return None;
    }
    // Called (and requeued) after the forecast: its entry is about a call that happened.
    if t.called_ms.is_some_and(|c| c >= forecast.at_ms) {
        return None;
    }
    let e = match forecast.ticket(t.id) {
        Some(e) => e,
        None if t.issued_ms >= forecast.at_ms && t.priority.is_none() && t.step == 0 => {
            forecast.arrival(&t.service)?
        }
        None => return None,
    };
    e.is_reliable().then(|| lookahead_estimate(e, now_ms))
}

/// The ticket's view with the look-ahead estimate where the forecast covers it.
pub fn ticket_forecast(
    hall: &Hall,
    t: &Ticket,
    now_ms: Millis,
    forecast: &crate::forecast::Forecast,
) -> TicketView {
    let mut v = ticket(hall, t, now_ms);
    if let Some(e) = forecast_estimate(forecast, t, now_ms) {
        v.wait_estimate = Some(e);
    }
    v
}

/// Replaces the services' classic estimates by the look-ahead's estimate
/// of a citizen taking a ticket now, where the forecast has one.
pub fn services_forecast(
    services: &mut [ServiceView],
    forecast: &crate::forecast::Forecast,
    now_ms: Millis,
) {
    for s in services {
        service_forecast(s, forecast, now_ms);
    }
}

/// One service's estimate from the look-ahead, where the forecast has one.
pub fn service_forecast(s: &mut ServiceView, forecast: &crate::forecast::Forecast, now_ms: Millis) {
    if let Some(e) = forecast.arrival(&s.id).filter(|e| e.is_reliable()) {
        s.estimate = lookahead_estimate(e, now_ms);
    }
}

/// Open, staffed windows that serve a service.
fn staffed_windows(hall: &Hall, service: &str) -> usize {
    hall.windows()
        .filter(|w| w.open && w.staff.is_some() && w.services.iter().any(|s| s.service == service))
        .count()
}

pub fn ticket(hall: &Hall, t: &Ticket, now_ms: Millis) -> TicketView {
    let config = hall.config();
    let service = config.service(&t.service);
    let window = t.window.and_then(|n| config.window(n));
    let zone = window.and_then(|w| config.zone(&w.zone));
    TicketView {
        id: t.id.0,
        number: t.number.to_string(),
        service: t.service.to_string(),
        service_name: service.map(|s| s.name.clone()).unwrap_or_default(),
        service_name_en: service.map(|s| s.name_en.clone()).unwrap_or_default(),
        status: status_name(t.status).to_string(),
        issued_at: time(config.tz, t.issued_ms),
        priority: t.priority.as_ref().map(|p| p.to_string()),
        cases: t.cases,
        step: t.step,
        ahead: hall.ahead(t.id, now_ms),
        wait_estimate: estimate(hall, t, now_ms),
        window: t
            .window
            .filter(|_| matches!(t.status, TicketStatus::Called | TicketStatus::Serving)),
        window_name: window.map(|w| w.name.clone()),
        floor: zone.map(|z| z.floor),
        zone: zone.map(|z| z.name.clone()),
        outcome: t.outcome.map(snake),
        status_url: None,
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffView {
    pub account: String,
    pub name: String,
    pub job_number: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurrentTicket {
    pub id: u64,
    pub number: String,
    pub status: String,
    pub service: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WindowView {
    pub number: WindowNo,
    pub name: String,
    pub name_en: String,
    pub kind: String,
    /// The department whose window it is (none for comprehensive windows).
    pub department: Option<String>,
    pub zone: String,
    pub zone_name: String,
    pub zone_name_en: String,
    pub floor: i32,
    /// closed, unstaffed, idle, calling, serving, paused
    pub state: String,
    pub paused_reason: Option<String>,
    pub staff: Option<StaffView>,
    pub current: Option<CurrentTicket>,
    /// Minutes staffed and idle while tickets it serves wait (idle windows only).
    pub idle_minutes: Option<i64>,
    /// When the window last changed state (local time, RFC 3339); null for
    /// a window nothing has happened at since the journal began.
    pub since: Option<String>,
    pub services: Vec<WindowServiceView>,
    pub parked: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WindowServiceView {
    pub service: String,
    pub weight: u32,
}

/// A unit enum's serde name (`done`, `window_head`, `out_of_supplies` …).
pub fn snake<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

pub fn window(hall: &Hall, n: WindowNo, now_ms: Millis) -> Option<WindowView> {
    let config = hall.config();
    let w = hall.window(n)?;
    let c = config.window(n)?;
    let zone = config.zone(&c.zone);
    let activity = hall.activity(n)?;
    let (state, paused_reason) = match activity {
        WindowActivity::Closed => ("closed", None),
        WindowActivity::Unstaffed => ("unstaffed", None),
        WindowActivity::Idle => ("idle", None),
        WindowActivity::Calling { .. } => ("calling", None),
        WindowActivity::Serving { .. } => ("serving", None),
        WindowActivity::Paused { reason } => ("paused", Some(snake(reason))),
    };
    let staff = w.staff.as_ref().map(|a| {
        let s = config.staff(a);
        StaffView {
            account: a.clone(),
            name: s.map(|s| s.name.clone()).unwrap_or_default(),
            job_number: s.map(|s| s.job_number.clone()).unwrap_or_default(),
        }
    });
    let current = w
        .current
        .and_then(|id| hall.ticket(id))
        .map(|t| CurrentTicket {
            id: t.id.0,
            number: t.number.to_string(),
            status: status_name(t.status).to_string(),
            service: t.service.to_string(),
        });
    let someone_waits = w.services.iter().any(|s| hall.waiting_for(&s.service) > 0);
    let idle_minutes =
        (state == "idle" && someone_waits).then(|| (now_ms - w.since_ms).max(0) / 60_000);
    Some(WindowView {
        number: n,
        name: c.name.clone(),
        name_en: c.name_en.clone(),
        kind: snake(c.kind),
        department: c.department.clone(),
        zone: c.zone.clone(),
        zone_name: zone.map(|z| z.name.clone()).unwrap_or_default(),
        zone_name_en: zone.map(|z| z.name_en.clone()).unwrap_or_default(),
        floor: zone.map_or(0, |z| z.floor),
        state: state.to_string(),
        paused_reason,
        staff,
        current,
        idle_minutes,
        since: (w.since_ms > 0).then(|| time(config.tz, w.since_ms)),
        services: w
            .services
            .iter()
            .map(|s| WindowServiceView {
                service: s.service.clone(),
                weight: s.weight,
            })
            .collect(),
        parked: w
            .parked
            .iter()
            .filter_map(|id| hall.ticket(*id))
            .map(|t| t.number.to_string())
            .collect(),
    })
}

/// One candidate of the routing explanation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NextCandidate {
    pub number: String,
    pub service: String,
    pub rank: u32,
    pub promoted: bool,
    pub appointment_due: bool,
    pub directed: bool,
    pub weight: u32,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WindowDetail {
    #[serde(flatten)]
    pub window: WindowView,
    /// The head of every line this window could call, best first; the first is what call-next takes.
    pub next: Vec<NextCandidate>,
    /// Tickets waiting in the lines of the services this window serves.
    /// The next tickets this window would call, in order, if it called again
    /// and again now (up to 10; other windows' calls can change it).
    pub upcoming: Vec<UpcomingTicket>,
    pub waiting: usize,
    /// The staff member signed in here: this business day's figures.
    pub staff_today: Option<StaffToday>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffToday {
    pub account: String,
    /// Steps finished today (any outcome), at any window.
    pub served: u32,
    /// Mean start → finish, in minutes (one decimal); none before the first timed case.
    pub average_service_minutes: Option<f64>,
}

pub fn staff_today(hall: &Hall, account: &str) -> StaffToday {
    let t = hall
        .state()
        .tally
        .staff
        .get(account)
        .copied()
        .unwrap_or_default();
    StaffToday {
        account: account.to_string(),
        served: t.served,
        average_service_minutes: (t.timed > 0).then(|| {
            let m = t.service_ms_total as f64 / f64::from(t.timed) / 60_000.0;
            (m * 10.0).round() / 10.0
        }),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UpcomingTicket {
    pub number: String,
    pub service: String,
    pub rank: u32,
    pub directed: bool,
    pub promoted: bool,
}

/// How many tickets a window's preview lists.
pub const UPCOMING_MAX: usize = 10;

pub fn window_detail(hall: &Hall, n: WindowNo, now_ms: Millis) -> Option<WindowDetail> {
    let window = window(hall, n, now_ms)?;
    let next = hall
        .explain_next(n, now_ms)
        .candidates
        .into_iter()
        .map(|c| NextCandidate {
            number: c.number,
            service: c.candidate.service,
            rank: c.candidate.rank,
            promoted: c.candidate.promoted,
            appointment_due: c.candidate.appointment_due,
            directed: c.candidate.directed,
            weight: c.candidate.weight,
            why: c.why,
        })
        .collect();
    let upcoming = hall
        .preview_next(n, now_ms, UPCOMING_MAX)
        .into_iter()
        .map(|c| UpcomingTicket {
            number: hall
                .ticket(c.ticket)
                .map(|t| t.number.to_string())
                .unwrap_or_default(),
            service: c.service,
            rank: c.rank,
            directed: c.directed,
            promoted: c.promoted,
        })
        .collect();
    let waiting = hall.waiting_for_window(window.number);
    let staff_today = window.staff.as_ref().map(|s| staff_today(hall, &s.account));
    Some(WindowDetail {
        window,
        next,
        upcoming,
        waiting,
        staff_today,
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceView {
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub prefix: String,
    pub department: String,
    pub department_name: String,
    pub department_name_en: String,
    /// Zones with a window that serves it (where to wait).
    pub zones: Vec<String>,
    /// The wait the hall promises; longer raises an alert.
    pub target_wait_minutes: u32,
    pub waiting: usize,
    /// Minutes the longest-waiting ticket has waited.
    pub longest_wait_minutes: i64,
    /// Estimate for a citizen arriving now.
    pub estimate: WaitEstimate,
    pub staffed_windows: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoticeView {
    /// closure, notice, disclosure
    pub kind: String,
    /// Local date or date-time it starts ("" = always).
    pub from: String,
    pub to: String,
    pub notice: String,
    pub notice_en: String,
    /// Zones whose screens show it; empty = all.
    pub zones: Vec<String>,
}

/// One call of the day, for screens that (re)load: newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallView {
    pub ticket_id: u64,
    pub number: String,
    pub service: String,
    pub service_name: String,
    pub service_name_en: String,
    pub window: WindowNo,
    pub window_name: String,
    pub window_name_en: String,
    pub zone: String,
    pub zone_name: String,
    pub zone_name_en: String,
    pub floor: i32,
    pub at: String,
    /// 0 for the first call, n for the n-th recall.
    pub recalls: u32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZoneView {
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub floor: i32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepartmentView {
    pub id: String,
    pub name: String,
    pub name_en: String,
}

/// Something a manager should look at now (see `crate::alerts`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    /// Kind and subject, stable while the alert lasts: `long_wait:tax`, `idle_window:12`.
    pub key: String,
    /// long_wait, idle_window, long_pause, early_lunch, device_offline
    pub kind: String,
    /// warn, alarm
    pub level: String,
    pub message: String,
    pub message_en: String,
    pub service: Option<String>,
    pub window: Option<WindowNo>,
    /// Device label (bus/unit) for device alerts.
    pub device: Option<String>,
    /// When the condition began (local time, RFC 3339).
    pub since: String,
    /// The same, in ms since the epoch.
    pub since_ms: Millis,
}

impl AlertView {
    pub fn new(a: &crate::alerts::Alert, tz: Tz) -> AlertView {
        AlertView {
            key: a.key.clone(),
            kind: a.kind.name().to_string(),
            level: a.level.name().to_string(),
            message: a.message.clone(),
            message_en: a.message_en.clone(),
            service: a.service.clone(),
            window: a.window,
            device: a.device.clone(),
            since: time(tz, a.since_ms),
            since_ms: a.since_ms,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HallView {
    pub name: String,
    pub name_en: String,
    pub business_day: Option<String>,
    pub session_open: bool,
    pub now: String,
    /// Journal sequence this view reflects (resume the event stream after it).
    pub seq: u64,
    pub services: Vec<ServiceView>,
    pub windows: Vec<WindowView>,
    pub notices: Vec<NoticeView>,
    pub recent_calls: Vec<CallView>,
    pub zones: Vec<ZoneView>,
    pub departments: Vec<DepartmentView>,
    pub alerts: Vec<AlertView>,
    /// The RS-485 devices and their health (absent when the hall has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub devices: Option<DevicesView>,
}

/// Device health at a glance, and per device.
#[derive(Debug, Clone, Serialize)]
pub struct DevicesView {
    pub online: usize,
    pub offline: usize,
    /// Not talked to yet.
    pub unknown: usize,
    pub list: Vec<crate::devices::bus::DeviceStatus>,
    /// Per voice bus: announcements pushed, spoken, merged, dropped (stale,
    /// full), retried, waiting.
    pub voice: Vec<VoiceView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VoiceView {
    pub bus: String,
    #[serde(flatten)]
    pub stats: crate::devices::voice::VoiceStats,
}

impl DevicesView {
    pub fn new(
        list: Vec<crate::devices::bus::DeviceStatus>,
        voice: Vec<(String, crate::devices::voice::VoiceStats)>,
    ) -> DevicesView {
        use crate::devices::bus::Link;
        let count = |link| list.iter().filter(|d| d.health.link == link).count();
        DevicesView {
            online: count(Link::Online),
            offline: count(Link::Offline),
            unknown: count(Link::Unknown),
            list,
            voice: voice
                .into_iter()
                .map(|(bus, stats)| VoiceView { bus, stats })
                .collect(),
        }
    }
}

/// Every service: waiting, longest wait, an estimate for a citizen arriving now.
pub fn services(hall: &Hall, now_ms: Millis) -> Vec<ServiceView> {
    let config = hall.config();
    // The same wait starts as the long-wait alert (an appointment waits from its slot).
    let longest = crate::alerts::wait_starts(hall);
    config
        .services()
        .iter()
        .map(|s| {
            let waiting = hall.waiting_for(&s.id);
            let staffed = staffed_windows(hall, &s.id);
            let department = config.department(&s.department);
            let mut zones: Vec<String> = config
                .windows()
                .iter()
                .filter(|w| w.services.iter().any(|x| x.service == s.id))
                .map(|w| w.zone.clone())
                .collect();
            zones.sort();
            zones.dedup();
            ServiceView {
                id: s.id.clone(),
                name: s.name.clone(),
                name_en: s.name_en.clone(),
                prefix: s.prefix.clone(),
                department: s.department.clone(),
                department_name: department.map(|d| d.name.clone()).unwrap_or_default(),
                department_name_en: department.map(|d| d.name_en.clone()).unwrap_or_default(),
                zones,
                target_wait_minutes: s.target_wait_minutes,
                waiting,
                longest_wait_minutes: longest
                    .get(s.id.as_str())
                    .map_or(0, |t| (now_ms - t).max(0) / 60_000),
                estimate: classic_estimate(waiting, s.expected_minutes, staffed),
                staffed_windows: staffed,
            }
        })
        .collect()
}

pub fn zones(hall: &Hall) -> Vec<ZoneView> {
    hall.config()
        .file
        .zones
        .iter()
        .map(|z| ZoneView {
            id: z.id.clone(),
            name: z.name.clone(),
            name_en: z.name_en.clone(),
            floor: z.floor,
        })
        .collect()
}

pub fn departments(hall: &Hall) -> Vec<DepartmentView> {
    hall.config()
        .file
        .departments
        .iter()
        .map(|d| DepartmentView {
            id: d.id.clone(),
            name: d.name.clone(),
            name_en: d.name_en.clone(),
        })
        .collect()
}

/// Closures still to come or running, and the notices whose dates include today.
pub fn notices(hall: &Hall, now_ms: Millis) -> Vec<NoticeView> {
    let config = hall.config();
    let today = calendar::local(config.tz, now_ms).date();
    let closures = calendar::notices_at(&config.file.calendar, config.tz, now_ms)
        .into_iter()
        .map(|c| NoticeView {
            kind: "closure".into(),
            from: c.from.to_string(),
            to: c.to.to_string(),
            notice: c.notice.clone(),
            notice_en: c.notice_en.clone(),
            zones: Vec::new(),
        });
    let notices = config
        .file
        .notices
        .iter()
        .filter(|n| n.from.is_none_or(|f| f <= today) && n.to.is_none_or(|t| today <= t))
        .map(|n| NoticeView {
            kind: snake(n.kind),
            from: n.from.map(|d| d.to_string()).unwrap_or_default(),
            to: n.to.map(|d| d.to_string()).unwrap_or_default(),
            notice: n.text.clone(),
            notice_en: n.text_en.clone(),
            zones: n.zones.clone(),
        });
    closures.chain(notices).collect()
}

pub fn recent_calls(hall: &Hall) -> Vec<CallView> {
    let config = hall.config();
    hall.state()
        .tally
        .recent_calls
        .iter()
        .filter_map(|c| {
            let t = hall.ticket(c.ticket)?;
            let w = config.window(c.window)?;
            let zone = config.zone(&w.zone);
            let service = config.service(&t.service);
            Some(CallView {
                ticket_id: t.id.0,
                number: t.number.to_string(),
                service: t.service.to_string(),
                service_name: service.map(|s| s.name.clone()).unwrap_or_default(),
                service_name_en: service.map(|s| s.name_en.clone()).unwrap_or_default(),
                window: c.window,
                window_name: w.name.clone(),
                window_name_en: w.name_en.clone(),
                zone: w.zone.clone(),
                zone_name: zone.map(|z| z.name.clone()).unwrap_or_default(),
                zone_name_en: zone.map(|z| z.name_en.clone()).unwrap_or_default(),
                floor: zone.map_or(0, |z| z.floor),
                at: time(config.tz, c.at_ms),
                recalls: c.recalls,
            })
        })
        .collect()
}

pub fn hall_view(hall: &Hall, seq: u64, now_ms: Millis) -> HallView {
    let config = hall.config();
    let services = services(hall, now_ms);
    let windows: Vec<WindowView> = hall
        .windows()
        .filter_map(|w| window(hall, w.number, now_ms))
        .collect();
    let alerts = crate::alerts::evaluate(hall, now_ms, &[])
        .iter()
        .map(|a| AlertView::new(a, config.tz))
        .collect();
    HallView {
        name: config.file.hall.name.clone(),
        name_en: config.file.hall.name_en.clone(),
        business_day: hall.day().map(|d| d.to_string()),
        session_open: hall.state().session.is_some(),
        now: time(config.tz, now_ms),
        seq,
        services,
        windows,
        notices: notices(hall, now_ms),
        recent_calls: recent_calls(hall),
        zones: zones(hall),
        departments: departments(hall),
        alerts,
        devices: None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::config::{Config, NoticeKind};
    use crate::queue::tally::StaffTally;

    const HALL: &str = r#"
[hall]
name = "视图测试大厅"
name_en = "View Test Hall"
timezone = "Asia/Shanghai"

[[zone]]
id = "z1"
name = "一楼大厅"
name_en = "1F Hall"
floor = 1

[[zone]]
id = "z2"
name = "二楼大厅"
name_en = "2F Hall"
floor = 2

[[department]]
id = "d1"
name = "测试局"
name_en = "Test Bureau"

[[department]]
id = "d2"
name = "另一局"
name_en = "Other Bureau"

[[service]]
id = "s1"
name = "业务一"
name_en = "Service one"
department = "d1"
prefix = "A"
matter_class = "immediate"
expected_minutes = 5
target_wait_minutes = 15

[[service]]
id = "s2"
name = "业务二"
department = "d2"
prefix = "B"
matter_class = "immediate"
expected_minutes = 5

[[window]]
number = 1
name = "1号窗"
name_en = "Window 1"
kind = "department"
department = "d1"
zone = "z2"
services = [{ service = "s1" }]

[[window]]
number = 2
name = "2号窗"
kind = "comprehensive"
zone = "z1"
services = [{ service = "s1" }, { service = "s2" }]

[[window]]
number = 3
name = "3号窗"
kind = "comprehensive"
zone = "z2"
services = [{ service = "s1" }]

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "08:30"
to = "17:00"

[[calendar.closure]]
from = "2026-11-20T14:00"
to = "2026-11-20T15:00"
notice = "上周的系统升级"

[[calendar.closure]]
from = "2026-11-25T14:00"
to = "2026-11-25T15:00"
notice = "系统升级，暂停办理"
notice_en = "System upgrade"

[[notice]]
kind = "notice"
text = "昨天结束的通知"
to = "2026-11-22"

[[notice]]
kind = "disclosure"
text = "投诉电话12345"
text_en = "Complaints: 12345"

[[notice]]
text = "今天的通知"
from = "2026-11-23"
to = "2026-11-23"
zones = ["z2"]

[[notice]]
kind = "notice"
text = "明天开始的通知"
from = "2026-11-24"
"#;

    fn hall() -> Hall {
        let config = Config::from_toml_str("views", HALL).unwrap_or_else(|e| panic!("{e}"));
        Hall::new(Arc::new(config))
    }

    /// An instant given in UTC.
    fn utc(d: u32, hh: u32, mm: u32) -> Millis {
        Utc.with_ymd_and_hms(2026, 11, d, hh, mm, 0)
            .single()
            .expect("utc time")
            .timestamp_millis()
    }

    #[test]
    fn notices_are_filtered_by_their_dates_in_the_halls_time_zone() {
        let hall = hall();
        // Monday 2026-11-23 10:00 local.
        let now = utc(23, 2, 0);
        let shown = notices(&hall, now);
        let texts: Vec<(&str, &str)> = shown
            .iter()
            .map(|n| (n.kind.as_str(), n.notice.as_str()))
            .collect();
        assert_eq!(
            texts,
            vec![
                ("closure", "系统升级，暂停办理"),
                ("disclosure", "投诉电话12345"),
                ("notice", "今天的通知"),
            ],
            "yesterday's and tomorrow's notices and past closures are not shown"
        );
        let closure = &shown[0];
        assert_eq!(closure.from, "2026-11-25T14:00");
        assert_eq!(closure.to, "2026-11-25T15:00");
        assert_eq!(closure.notice_en, "System upgrade");
        assert!(closure.zones.is_empty());
        let disclosure = &shown[1];
        assert_eq!(disclosure.from, "");
        assert_eq!(disclosure.to, "");
        assert_eq!(disclosure.notice_en, "Complaints: 12345");
        let today = &shown[2];
        assert_eq!(today.from, "2026-11-23");
        assert_eq!(today.to, "2026-11-23");
        assert_eq!(today.zones, vec!["z2".to_string()]);

        // 2026-11-23 00:30 local is still 11-22 in UTC: yesterday's notice is gone.
        let early = notices(&hall, utc(22, 16, 30));
        assert!(
            early.iter().all(|n| n.notice != "昨天结束的通知"),
            "{early:?}"
        );
        assert!(early.iter().any(|n| n.notice == "今天的通知"), "{early:?}");

        // 2026-11-24 00:30 local (still 11-23 in UTC): today's ended, tomorrow's began.
        let next: Vec<String> = notices(&hall, utc(23, 16, 30))
            .into_iter()
            .map(|n| n.notice)
            .collect();
        assert_eq!(
            next,
            vec!["系统升级，暂停办理", "投诉电话12345", "明天开始的通知"]
        );

        // 2026-11-22 23:59 local: only yesterday's (then today's) notice and the disclosure.
        let before: Vec<String> = notices(&hall, utc(22, 15, 59))
            .into_iter()
            .filter(|n| n.kind != "closure")
            .map(|n| n.notice)
            .collect();
        assert_eq!(before, vec!["昨天结束的通知", "投诉电话12345"]);
    }

    #[test]
    fn the_demo_hall_has_notices_of_each_kind_shown_every_day() {
        let config = Config::demo();
        for kind in [NoticeKind::Notice, NoticeKind::Disclosure] {
            assert!(
                config.file.notices.iter().any(|n| n.kind == kind),
                "no {kind:?} in the demo hall"
            );
        }
        let n = config.file.notices.len();
        let hall = Hall::new(Arc::new(config));
        let shown = notices(&hall, utc(23, 2, 0));
        let kinds: Vec<&str> = shown.iter().map(|n| n.kind.as_str()).collect();
        assert!(
            kinds.contains(&"notice") && kinds.contains(&"disclosure"),
            "{kinds:?}"
        );
        assert_eq!(
            shown.iter().filter(|n| n.kind != "closure").count(),
            n,
            "the demo notices have no dates"
        );
        assert!(
            shown
                .iter()
                .any(|n| n.zones == vec!["f1-general".to_string()]),
            "{shown:?}"
        );
    }

    #[test]
    fn services_carry_department_zones_and_target() {
        let hall = hall();
        let services = services(&hall, utc(23, 2, 0));
        let s1 = &services[0];
        assert_eq!(s1.id, "s1");
        assert_eq!(s1.department_name, "测试局");
        assert_eq!(s1.department_name_en, "Test Bureau");
        assert_eq!(
            s1.zones,
            vec!["z1".to_string(), "z2".to_string()],
            "sorted, once each"
        );
        assert_eq!(s1.target_wait_minutes, 15);
        let s2 = &services[1];
        assert_eq!(s2.department_name, "另一局");
        assert_eq!(s2.zones, vec!["z1".to_string()]);
        assert_eq!(s2.target_wait_minutes, 30, "the default");
    }

    #[test]
    fn windows_carry_department_and_zone_names() {
        let hall = hall();
        let w1 = window(&hall, 1, 0).expect("window 1");
        assert_eq!(w1.department.as_deref(), Some("d1"));
        assert_eq!(w1.zone, "z2");
        assert_eq!(w1.zone_name, "二楼大厅");
        assert_eq!(w1.zone_name_en, "2F Hall");
        assert_eq!(w1.floor, 2);
        let w2 = window(&hall, 2, 0).expect("window 2");
        assert_eq!(w2.department, None);
        assert_eq!(w2.zone_name, "一楼大厅");
        assert!(window(&hall, 4, 0).is_none());
        let zones: Vec<(String, i32)> = zones(&hall).into_iter().map(|z| (z.id, z.floor)).collect();
        assert_eq!(zones, vec![("z1".to_string(), 1), ("z2".to_string(), 2)]);
        let departments: Vec<String> = departments(&hall).into_iter().map(|d| d.name_en).collect();
        assert_eq!(departments, vec!["Test Bureau", "Other Bureau"]);
    }

    #[test]
    fn staff_today_averages_timed_cases_to_one_decimal() {
        let mut hall = hall();
        let none = staff_today(&hall, "nobody");
        assert_eq!(none.served, 0);
        assert_eq!(none.average_service_minutes, None);

        hall.s.tally.staff.insert(
            "s1".into(),
            StaffTally {
                served: 3,
                timed: 2,
                // 7 min + 3.5 min: a mean of 5.25 min.
                service_ms_total: 630_000,
            },
        );
        hall.s.tally.staff.insert(
            "s2".into(),
            StaffTally {
                served: 1,
                timed: 0,
                service_ms_total: 0,
            },
        );
        let s1 = staff_today(&hall, "s1");
        assert_eq!(s1.account, "s1");
        assert_eq!(s1.served, 3);
        assert_eq!(s1.average_service_minutes, Some(5.3));
        let s2 = staff_today(&hall, "s2");
        assert_eq!(s2.served, 1);
        assert_eq!(s2.average_service_minutes, None, "no timed case yet");
    }
}
