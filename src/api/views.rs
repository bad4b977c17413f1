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

/// A first wait estimate: the classic queue-length estimate, place in line ×
/// expected minutes per case ÷ staffed open windows serving the service, with
/// a wide band. (The statistics work replaces it with a measured estimator.)
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WaitEstimate {
    pub minutes: u32,
    pub low: u32,
    pub high: u32,
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
        number: t.number.clone(),
        service: t.service.clone(),
        service_name: service.map(|s| s.name.clone()).unwrap_or_default(),
        service_name_en: service.map(|s| s.name_en.clone()).unwrap_or_default(),
        status: status_name(t.status).to_string(),
        issued_at: time(config.tz, t.issued_ms),
        priority: t.priority.clone(),
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
    pub zone: String,
    pub floor: i32,
    /// closed, unstaffed, idle, calling, serving, paused
    pub state: String,
    pub paused_reason: Option<String>,
    pub staff: Option<StaffView>,
    pub current: Option<CurrentTicket>,
    /// Minutes staffed and idle while tickets it serves wait (idle windows only).
    pub idle_minutes: Option<i64>,
    pub since: String,
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
            number: t.number.clone(),
            status: status_name(t.status).to_string(),
            service: t.service.clone(),
        });
    let someone_waits = w.services.iter().any(|s| hall.waiting_for(&s.service) > 0);
    let idle_minutes =
        (state == "idle" && someone_waits).then(|| (now_ms - w.since_ms).max(0) / 60_000);
    Some(WindowView {
        number: n,
        name: c.name.clone(),
        name_en: c.name_en.clone(),
        kind: snake(c.kind),
        zone: c.zone.clone(),
        floor: zone.map_or(0, |z| z.floor),
        state: state.to_string(),
        paused_reason,
        staff,
        current,
        idle_minutes,
        since: time(config.tz, w.since_ms),
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
            .map(|t| t.number.clone())
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
                .map(|t| t.number.clone())
                .unwrap_or_default(),
            service: c.service,
            rank: c.rank,
            directed: c.directed,
            promoted: c.promoted,
        })
        .collect();
    let waiting = hall.waiting_for_window(window.number);
    Some(WindowDetail {
        window,
        next,
        upcoming,
        waiting,
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceView {
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub prefix: String,
    pub department: String,
    pub waiting: usize,
    /// Minutes the longest-waiting ticket has waited.
    pub longest_wait_minutes: i64,
    /// Estimate for a citizen arriving now.
    pub estimate: WaitEstimate,
    pub staffed_windows: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoticeView {
    pub from: String,
    pub to: String,
    pub notice: String,
    pub notice_en: String,
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

pub fn hall_view(hall: &Hall, seq: u64, now_ms: Millis) -> HallView {
    let config = hall.config();
    let mut longest: std::collections::HashMap<&str, Millis> = std::collections::HashMap::new();
    for t in hall.tickets().filter(|t| t.status == TicketStatus::Waiting) {
        let e = longest.entry(t.service.as_str()).or_insert(t.key.at_ms);
        *e = (*e).min(t.key.at_ms);
    }
    let services = config
        .services()
        .iter()
        .map(|s| {
            let waiting = hall.waiting_for(&s.id);
            let staffed = staffed_windows(hall, &s.id);
            ServiceView {
                id: s.id.clone(),
                name: s.name.clone(),
                name_en: s.name_en.clone(),
                prefix: s.prefix.clone(),
                department: s.department.clone(),
                waiting,
                longest_wait_minutes: longest
                    .get(s.id.as_str())
                    .map_or(0, |t| (now_ms - t).max(0) / 60_000),
                estimate: classic_estimate(waiting, s.expected_minutes, staffed),
                staffed_windows: staffed,
            }
        })
        .collect();
    let windows = hall
        .windows()
        .filter_map(|w| window(hall, w.number, now_ms))
        .collect();
    let notices = calendar::notices_at(&config.file.calendar, config.tz, now_ms)
        .into_iter()
        .map(|c| NoticeView {
            from: c.from.to_string(),
            to: c.to.to_string(),
            notice: c.notice.clone(),
            notice_en: c.notice_en.clone(),
        })
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
        notices,
        devices: None,
    }
}
