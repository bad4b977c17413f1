//! `GET /metrics`: the daemon's operating figures in the Prometheus text
//! exposition format (version 0.0.4), written by hand.
//!
//! What is exposed (all names start with `hallq_`):
//!
//! | family | type | labels |
//! |---|---|---|
//! | `tickets` | gauge | service, state — tickets the hall holds now (today's, and live ones carried over) |
//! | `tickets_issued_today`, `tickets_served_today` | gauge | service — issued for the service's series today; finished today (last step at that service) |
//! | `day_issued`, `day_visits_served`, `day_no_shows` | gauge | — the day tally's totals |
//! | `longest_wait_seconds` | gauge | service — 0 when nobody waits |
//! | `windows` | gauge | activity — unstaffed, idle, calling, serving, paused, closed |
//! | `business_day_open`, `session_open` | gauge | — |
//! | `devices` | gauge | link — online, offline, unknown |
//! | `device_up` | gauge | device, bus, unit, profile, serves — 1 online, 0 otherwise |
//! | `bus_requests_total`, `bus_errors_total`, `bus_device_offline_total` | counter | bus (and kind) |
//! | `journal_commit_seconds` | histogram | — one observation per batch transaction |
//! | `journal_commit_failures_total`, `journal_events_committed_total` | counter | — |
//! | `journal_bytes` | gauge | file — main, wal |
//! | `journal_last_seq`, `journal_writable` | gauge | — |
//! | `sse_clients` | gauge | stream — events, public, sim |
//! | `http_requests_total` | counter | route (the matched template, never the raw path), method, code |
//! | `http_request_duration_seconds` | histogram | route, method — until the response head |
//! | `alerts_active`, `alerts_raised_total` | gauge, counter | kind |
//! | `evaluation_outbox_pending`, `…_sent_total`, `…_failures_total` | gauge, counter | — (when `[evaluation_push]` runs) |
//! | `forecast_age_seconds` | gauge | — (once the forecaster has looked ahead) |
//! | `backup_runs_total`, `backup_offsite_failures_total` | counter | result — ok, failed (when `[backup]` runs) |
//! | `backup_last_success_timestamp_seconds`, `backup_last_seq` | gauge | — (once a set was taken since start) |
//! | `build_info` | gauge | version |
//! | `process_resident_memory_bytes` | gauge | — (Linux) |
//!
//! No personal data: services, windows by number, devices by index and bus;
//! never a person hash, an account or a ticket number.
//!
//! Access: a signed-in manager or admin, or an `[[api_key]]` with
//! `role = "metrics"` given as the bearer token (Prometheus:
//! `authorization: {credentials: KEY}` in the scrape config). Anyone else
//! gets 401/403: the figures say how busy the hall is and which devices are
//! down, which is not for the public network.
//!
//! The scrape is cheap: one pass over the hall's tickets and windows on the
//! owner thread, atomics and short locks for the rest.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};

use super::AppState;
use super::auth::{Caller, Need};
use super::error::ApiError;
use crate::daemon::clock::{Clock, SystemClock};
use crate::daemon::metrics::{Histogram, HistogramSnapshot};
use crate::queue::{Hall, Millis, TicketStatus, WindowActivity};

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Which kind of long-lived event stream a client holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// `GET /api/v1/events` (pages, screens, kiosks).
    Events,
    /// `GET /api/v1/public/tickets/{id}/events` (citizens' phones).
    Public,
    /// `GET /api/v1/sim/events` (the demo's simulator page).
    Sim,
}

impl StreamKind {
    const ALL: [StreamKind; 3] = [StreamKind::Events, StreamKind::Public, StreamKind::Sim];

    fn name(self) -> &'static str {
        match self {
            StreamKind::Events => "events",
            StreamKind::Public => "public",
            StreamKind::Sim => "sim",
        }
    }
}

/// What one route template has seen, per method.
struct RouteStats {
    codes: BTreeMap<u16, u64>,
    latency: Histogram,
}

/// The HTTP side's figures: requests per route, open event streams.
#[derive(Default)]
pub struct ApiMetrics {
    /// route template → method → figures. Bounded: templates come from the
    /// router (plus `unmatched`), methods from a fixed list.
    routes: Mutex<BTreeMap<String, BTreeMap<&'static str, RouteStats>>>,
    streams: [AtomicI64; 3],
}

/// Holds one open event stream in the `sse_clients` gauge until dropped.
pub struct StreamGuard {
    metrics: Arc<ApiMetrics>,
    kind: StreamKind,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.metrics.streams[self.kind as usize].fetch_sub(1, Ordering::Relaxed);
    }
}

impl ApiMetrics {
    /// Counts an event stream as open until the guard is dropped.
    pub fn stream_opened(self: &Arc<Self>, kind: StreamKind) -> StreamGuard {
        self.streams[kind as usize].fetch_add(1, Ordering::Relaxed);
        StreamGuard {
            metrics: self.clone(),
            kind,
        }
    }

    /// Event streams open now, by kind.
    pub fn streams_open(&self, kind: StreamKind) -> i64 {
        self.streams[kind as usize].load(Ordering::Relaxed)
    }

    fn record(&self, route: &str, method: &'static str, code: u16, took: std::time::Duration) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let by_method = match routes.get_mut(route) {
            Some(m) => m,
            None => routes.entry(route.to_string()).or_default(),
        };
        let stats = by_method.entry(method).or_insert_with(|| RouteStats {
            codes: BTreeMap::new(),
            latency: Histogram::latency(),
        });
        *stats.codes.entry(code).or_insert(0) += 1;
        stats.latency.observe(took);
    }

    /// (route, method, code, count) and (route, method, latency), sorted.
    #[allow(clippy::type_complexity)]
    fn http_snapshot(
        &self,
    ) -> (
        Vec<(String, &'static str, u16, u64)>,
        Vec<(String, &'static str, HistogramSnapshot)>,
    ) {
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let mut counts = Vec::new();
        let mut latencies = Vec::new();
        for (route, methods) in routes.iter() {
            for (method, stats) in methods {
                for (code, n) in &stats.codes {
                    counts.push((route.clone(), *method, *code, *n));
                }
                latencies.push((route.clone(), *method, stats.latency.snapshot()));
            }
        }
        (counts, latencies)
    }
}

/// `stream`, counted in `sse_clients` for as long as it is alive (the
/// server drops a response body when its client is gone).
pub fn guarded<S: Stream>(stream: S, guard: StreamGuard) -> impl Stream<Item = S::Item> {
    stream.map(move |item| {
        let _ = &guard;
        item
    })
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// The middleware: counts every request by its route template, method and
/// status code, and times it until the response head.
pub async fn track(
    State(metrics): State<Arc<ApiMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = method_name(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.record(
        &route,
        method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The hall's figures at one moment, read on the owner thread.
#[derive(Debug, Default)]
struct HallFigures {
    seq: u64,
    day_open: bool,
    session_open: bool,
    /// In the configuration's order.
    services: Vec<ServiceFigures>,
    /// By activity, in [`ACTIVITIES`] order.
    windows: [u64; 6],
    day_issued: u32,
    day_served: u32,
    day_no_shows: u32,
}

#[derive(Debug, Default)]
struct ServiceFigures {
    id: String,
    /// By state, in [`STATES`] order.
    states: [u64; 8],
    issued_today: u64,
    served_today: u64,
    longest_wait_s: f64,
}

const STATES: [&str; 8] = [
    "waiting",
    "called",
    "serving",
    "parked",
    "finished",
    "no_show",
    "cancelled",
    "expired",
];

fn state_index(s: TicketStatus) -> usize {
    match s {
        TicketStatus::Waiting => 0,
        TicketStatus::Called => 1,
        TicketStatus::Serving => 2,
        TicketStatus::Parked => 3,
        TicketStatus::Finished => 4,
        TicketStatus::NoShow => 5,
        TicketStatus::Cancelled => 6,
        TicketStatus::Expired => 7,
    }
}

const ACTIVITIES: [&str; 6] = [
    "unstaffed",
    "idle",
    "calling",
    "serving",
    "paused",
    "closed",
];

fn activity_index(a: &WindowActivity) -> usize {
    match a {
        WindowActivity::Unstaffed => 0,
        WindowActivity::Idle => 1,
        WindowActivity::Calling { .. } => 2,
        WindowActivity::Serving { .. } => 3,
        WindowActivity::Paused { .. } => 4,
        WindowActivity::Closed => 5,
    }
}

/// One pass over tickets and windows (runs on the owner thread: keep it cheap).
fn hall_figures(hall: &Hall, seq: u64, now_ms: Millis) -> HallFigures {
    let config = hall.config();
    let index: std::collections::HashMap<&str, usize> = config
        .services()
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut services: Vec<ServiceFigures> = config
        .services()
        .iter()
        .map(|s| ServiceFigures {
            id: s.id.clone(),
            ..ServiceFigures::default()
        })
        .collect();
    let today = hall.day();
    for t in hall.tickets() {
        if let Some(&i) = index.get(t.service.as_str()) {
            services[i].states[state_index(t.status)] += 1;
            if t.status == TicketStatus::Finished && Some(t.day) == today {
                services[i].served_today += 1;
            }
        }
        if Some(t.day) == today
            && let Some(&i) = index.get(t.issued_for.as_str())
        {
            services[i].issued_today += 1;
        }
    }
    for (id, start) in crate::alerts::wait_starts(hall) {
        if let Some(&i) = index.get(id) {
            services[i].longest_wait_s = (now_ms - start).max(0) as f64 / 1000.0;
        }
    }
    let mut windows = [0u64; 6];
    for w in hall.windows() {
        if let Some(a) = hall.activity(w.number) {
            windows[activity_index(&a)] += 1;
        }
    }
    let state = hall.state();
    HallFigures {
        seq,
        day_open: state.day.is_some() && !state.day_ended,
        session_open: state.session.is_some(),
        services,
        windows,
        day_issued: state.tally.issued,
        day_served: state.tally.served,
        day_no_shows: state.tally.no_show,
    }
}

/// Writes the exposition text: a family's HELP and TYPE once, then its samples.
#[derive(Default)]
struct Exposition {
    out: String,
}

/// Escapes a label value: backslash, double quote and line feed.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// A sample value as the format writes it.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP hallq_{name} {help}");
        let _ = writeln!(self.out, "# TYPE hallq_{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str("hallq_");
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(&number(value));
        self.out.push('\n');
    }

    /// One family, one sample without labels.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSnapshot) {
        let bucket = format!("{name}_bucket");
        for (bound, n) in &h.buckets {
            let le = number(*bound);
            let mut l = labels.to_vec();
            l.push(("le", &le));
            self.sample(&bucket, &l, *n as f64);
        }
        let mut l = labels.to_vec();
        l.push(("le", "+Inf"));
        self.sample(&bucket, &l, h.count as f64);
        self.sample(&format!("{name}_sum"), labels, h.sum_seconds);
        self.sample(&format!("{name}_count"), labels, h.count as f64);
    }
}

/// Everything a scrape shows, gathered first, then written.
struct Scrape {
    hall: HallFigures,
    journal: JournalFigures,
    devices: Vec<crate::devices::bus::DeviceStatus>,
    streams: [i64; 3],
    http_counts: Vec<(String, &'static str, u16, u64)>,
    http_latency: Vec<(String, &'static str, HistogramSnapshot)>,
    alerts: Option<Vec<crate::daemon::alerts::KindCount>>,
    outbox: Option<crate::daemon::outbox::OutboxSnapshot>,
    backups: Option<crate::daemon::backups::BackupSnapshot>,
    forecast_age_s: Option<f64>,
    rss_bytes: Option<u64>,
}

struct JournalFigures {
    commit: HistogramSnapshot,
    failures: u64,
    events: u64,
    main_bytes: u64,
    wal_bytes: u64,
    writable: bool,
}

fn render(s: &Scrape) -> String {
    let mut x = Exposition::default();
    let h = &s.hall;
    x.family(
        "tickets",
        "gauge",
        "Tickets the hall holds now, by the service of their current step and state.",
    );
    for svc in &h.services {
        for (i, state) in STATES.iter().enumerate() {
            x.sample(
                "tickets",
                &[("service", &svc.id), ("state", state)],
                svc.states[i] as f64,
            );
        }
    }
    x.family(
        "tickets_issued_today",
        "gauge",
        "Tickets issued today from the service's number series (resets when a business day opens).",
    );
    for svc in &h.services {
        x.sample(
            "tickets_issued_today",
            &[("service", &svc.id)],
            svc.issued_today as f64,
        );
    }
    x.family(
        "tickets_served_today",
        "gauge",
        "Today's tickets whose last step finished, by the service of that step.",
    );
    for svc in &h.services {
        x.sample(
            "tickets_served_today",
            &[("service", &svc.id)],
            svc.served_today as f64,
        );
    }
    x.family(
        "longest_wait_seconds",
        "gauge",
        "How long the longest-waiting ticket of the service has waited (0 when nobody waits).",
    );
    for svc in &h.services {
        x.sample(
            "longest_wait_seconds",
            &[("service", &svc.id)],
            svc.longest_wait_s,
        );
    }
    x.single(
        "day_issued",
        "gauge",
        "Tickets issued today (the day tally).",
        f64::from(h.day_issued),
    );
    x.single(
        "day_visits_served",
        "gauge",
        "Visits finished today, every flow step counted (the day tally).",
        f64::from(h.day_served),
    );
    x.single(
        "day_no_shows",
        "gauge",
        "No-shows today (the day tally).",
        f64::from(h.day_no_shows),
    );
    x.single(
        "business_day_open",
        "gauge",
        "1 while a business day is open.",
        f64::from(u8::from(h.day_open)),
    );
    x.single(
        "session_open",
        "gauge",
        "1 while a session is open (tickets may be issued).",
        f64::from(u8::from(h.session_open)),
    );
    x.family("windows", "gauge", "Windows by what they are doing now.");
    for (i, a) in ACTIVITIES.iter().enumerate() {
        x.sample("windows", &[("activity", a)], h.windows[i] as f64);
    }

    // Devices.
    use crate::devices::bus::{Link, Serves};
    x.family("devices", "gauge", "Configured devices by link state.");
    for (link, name) in [
        (Link::Online, "online"),
        (Link::Offline, "offline"),
        (Link::Unknown, "unknown"),
    ] {
        let n = s.devices.iter().filter(|d| d.health.link == link).count();
        x.sample("devices", &[("link", name)], n as f64);
    }
    x.family(
        "device_up",
        "gauge",
        "1 when the device answers, 0 when offline or not talked to yet.",
    );
    for d in &s.devices {
        let index = d.info.index.to_string();
        let unit = d.info.unit.map(|u| u.to_string()).unwrap_or_default();
        let serves = match &d.info.serves {
            Serves::Window(w) => format!("window {w}"),
            Serves::Zone(z) => format!("zone {z}"),
        };
        x.sample(
            "device_up",
            &[
                ("device", &index),
                ("bus", &d.info.bus),
                ("unit", &unit),
                ("profile", &d.info.profile),
                ("serves", &serves),
            ],
            f64::from(u8::from(d.health.link == Link::Online)),
        );
    }
    let mut buses: BTreeMap<&str, [u64; 8]> = BTreeMap::new();
    for d in &s.devices {
        let b = buses.entry(d.info.bus.as_str()).or_default();
        let hl = &d.health;
        for (i, v) in [
            hl.requests,
            hl.timeouts,
            hl.crc_errors,
            hl.garbage,
            hl.bad_replies,
            hl.port_errors,
            hl.exceptions,
            hl.went_offline,
        ]
        .into_iter()
        .enumerate()
        {
            b[i] += v;
        }
    }
    x.family(
        "bus_requests_total",
        "counter",
        "Requests sent on the bus (polls, writes, probes) since start.",
    );
    for (bus, c) in &buses {
        x.sample("bus_requests_total", &[("bus", bus)], c[0] as f64);
    }
    const KINDS: [&str; 6] = [
        "timeout",
        "bad_crc",
        "garbage",
        "bad_reply",
        "port_error",
        "exception",
    ];
    x.family(
        "bus_errors_total",
        "counter",
        "Failed exchanges on the bus since start, by kind (exception: the device answered with a Modbus exception).",
    );
    for (bus, c) in &buses {
        for (i, kind) in KINDS.iter().enumerate() {
            x.sample(
                "bus_errors_total",
                &[("bus", bus), ("kind", kind)],
                c[i + 1] as f64,
            );
        }
    }
    x.family(
        "bus_device_offline_total",
        "counter",
        "Times a device of the bus went offline since start.",
    );
    for (bus, c) in &buses {
        x.sample("bus_device_offline_total", &[("bus", bus)], c[7] as f64);
    }

    // Journal.
    let j = &s.journal;
    x.family(
        "journal_commit_seconds",
        "histogram",
        "Time of each batch's journal transaction (append and fsync).",
    );
    x.histogram("journal_commit_seconds", &[], &j.commit);
    x.single(
        "journal_commit_failures_total",
        "counter",
        "Commits the journal refused since start.",
        j.failures as f64,
    );
    x.single(
        "journal_events_committed_total",
        "counter",
        "Events committed since start.",
        j.events as f64,
    );
    x.family(
        "journal_bytes",
        "gauge",
        "Size of the journal's SQLite files.",
    );
    x.sample("journal_bytes", &[("file", "main")], j.main_bytes as f64);
    x.sample("journal_bytes", &[("file", "wal")], j.wal_bytes as f64);
    x.single(
        "journal_last_seq",
        "gauge",
        "Sequence number of the journal's last row.",
        h.seq as f64,
    );
    x.single(
        "journal_writable",
        "gauge",
        "1 when the journal took the last commit.",
        f64::from(u8::from(j.writable)),
    );

    // HTTP.
    x.family("sse_clients", "gauge", "Open event streams, by kind.");
    for k in StreamKind::ALL {
        x.sample(
            "sse_clients",
            &[("stream", k.name())],
            s.streams[k as usize] as f64,
        );
    }
    x.family(
        "http_requests_total",
        "counter",
        "HTTP requests since start, by route template, method and status code.",
    );
    for (route, method, code, n) in &s.http_counts {
        let code = code.to_string();
        x.sample(
            "http_requests_total",
            &[("route", route), ("method", method), ("code", &code)],
            *n as f64,
        );
    }
    x.family(
        "http_request_duration_seconds",
        "histogram",
        "Time to the response head, by route template and method (an event stream counts until it starts).",
    );
    for (route, method, hist) in &s.http_latency {
        x.histogram(
            "http_request_duration_seconds",
            &[("route", route), ("method", method)],
            hist,
        );
    }

    // Alerts, outbox, forecast.
    if let Some(counts) = &s.alerts {
        x.family("alerts_active", "gauge", "Alerts in force now, by kind.");
        for c in counts {
            x.sample("alerts_active", &[("kind", c.kind.name())], c.active as f64);
        }
        x.family(
            "alerts_raised_total",
            "counter",
            "Alerts raised since start, by kind (a level change is not a new alert).",
        );
        for c in counts {
            x.sample(
                "alerts_raised_total",
                &[("kind", c.kind.name())],
                c.raised_total as f64,
            );
        }
    }
    if let Some(o) = &s.outbox {
        x.single(
            "evaluation_outbox_pending",
            "gauge",
            "好差评 records waiting to be pushed, at the pusher's last look.",
            o.pending as f64,
        );
        x.single(
            "evaluation_outbox_sent_total",
            "counter",
            "好差评 records the receiver acknowledged since start.",
            o.sent as f64,
        );
        x.single(
            "evaluation_outbox_failures_total",
            "counter",
            "Failed push attempts since start.",
            o.failures as f64,
        );
    }
    if let Some(b) = &s.backups {
        x.family(
            "backup_runs_total",
            "counter",
            "Scheduled backup sets since start: taken and verified, or failed (see the log).",
        );
        x.sample("backup_runs_total", &[("result", "ok")], b.taken as f64);
        x.sample(
            "backup_runs_total",
            &[("result", "failed")],
            b.failed as f64,
        );
        x.single(
            "backup_offsite_failures_total",
            "counter",
            "Sets taken whose off-site copy failed (the local set is kept).",
            b.offsite_failed as f64,
        );
        if let Some(ms) = b.last_ok_ms {
            x.single(
                "backup_last_success_timestamp_seconds",
                "gauge",
                "When the last set was taken and verified (Unix time).",
                ms as f64 / 1000.0,
            );
            x.single(
                "backup_last_seq",
                "gauge",
                "The journal head held by the last set.",
                b.last_seq as f64,
            );
        }
    }
    if let Some(age) = s.forecast_age_s {
        x.single(
            "forecast_age_seconds",
            "gauge",
            "Age of the latest look-ahead of waits.",
            age,
        );
    }
    x.family("build_info", "gauge", "The running hallq's version.");
    x.sample("build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    if let Some(rss) = s.rss_bytes {
        x.single(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory of the daemon.",
            rss as f64,
        );
    }
    x.out
}

/// Resident set size from `/proc/self/statm` (Linux); `None` elsewhere.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The metrics (Prometheus text format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "hall",
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String,
               description = "Prometheus text exposition: tickets by service and state, waits, windows, \
                 devices and bus errors, journal commit latency and size, SSE clients, HTTP requests, alerts"),
              (status = 401, body = super::error::ErrorBody, description = "no or unknown bearer token"),
              (status = 403, body = super::error::ErrorBody, description = "neither a manager, an admin nor a metrics key")),
    security(("bearer" = [])))]
pub async fn scrape(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Need::Metrics)?;
    let now_ms = SystemClock.now_ms();
    let hall = state
        .hall
        .query(move |hall, seq| hall_figures(hall, seq, now_ms))
        .await?;
    let jm = state.hall.journal_metrics();
    let wal = {
        let mut p = state.journal_path.clone().into_os_string();
        p.push("-wal");
        std::path::PathBuf::from(p)
    };
    let journal = JournalFigures {
        commit: jm.commit.snapshot(),
        failures: jm.commit_failures.load(Ordering::Relaxed),
        events: jm.events.load(Ordering::Relaxed),
        main_bytes: file_len(&state.journal_path),
        wal_bytes: file_len(&wal),
        writable: state.hall.journal_writable(),
    };
    let (http_counts, http_latency) = state.metrics.http_snapshot();
    let forecast = state.forecast.latest();
    let scrape = Scrape {
        hall,
        journal,
        devices: state
            .devices
            .as_ref()
            .map(|d| d.statuses())
            .unwrap_or_default(),
        streams: StreamKind::ALL.map(|k| state.metrics.streams_open(k)),
        http_counts,
        http_latency,
        alerts: state.alerts.as_ref().map(|m| m.counts()),
        outbox: state.outbox.as_ref().map(|o| o.snapshot()),
        backups: state.backups.as_ref().map(|b| b.snapshot()),
        forecast_age_s: (forecast.at_ms > 0)
            .then(|| (now_ms - forecast.at_ms).max(0) as f64 / 1000.0),
        rss_bytes: rss_bytes(),
    };
    let body = render(&scrape);
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(escape_label("综合窗口"), "综合窗口");
    }

    #[test]
    fn samples_and_histograms_are_written_in_the_format() {
        let mut x = Exposition::default();
        x.family("t", "gauge", "a \\ help\nline");
        x.sample("t", &[("zone", "A\"1")], 2.0);
        let h = Histogram::new(&[0.5, 1.0]);
        h.observe(std::time::Duration::from_millis(700));
        x.histogram("h", &[("route", "/x/{n}")], &h.snapshot());
        let out = x.out;
        assert!(out.contains("# HELP hallq_t a \\\\ help\\nline\n"), "{out}");
        assert!(out.contains("hallq_t{zone=\"A\\\"1\"} 2\n"), "{out}");
        assert!(out.contains("hallq_h_bucket{route=\"/x/{n}\",le=\"0.5\"} 0\n"));
        assert!(out.contains("hallq_h_bucket{route=\"/x/{n}\",le=\"1\"} 1\n"));
        assert!(out.contains("hallq_h_bucket{route=\"/x/{n}\",le=\"+Inf\"} 1\n"));
        assert!(out.contains("hallq_h_count{route=\"/x/{n}\"} 1\n"));
        assert!(out.contains("hallq_h_sum{route=\"/x/{n}\"} 0.7\n"), "{out}");
    }

    #[test]
    fn a_stream_guard_counts_while_alive() {
        let m = Arc::new(ApiMetrics::default());
        let g = m.stream_opened(StreamKind::Public);
        assert_eq!(m.streams_open(StreamKind::Public), 1);
        assert_eq!(m.streams_open(StreamKind::Events), 0);
        drop(g);
        assert_eq!(m.streams_open(StreamKind::Public), 0);
    }
}
