//! The only code that knows HTTP and JSON: `/api/v1` routes, auth, the
//! event stream, the OpenAPI document, `/healthz`.
//!
//! Every handler either reads the hall through `HallHandle::query` (one
//! consistent moment) or submits a command and answers after its events are
//! durable. Roles are checked here (`auth::Need`); domain rules (who is
//! signed in where, caps…) in the core.

pub mod alerts;
pub mod audio;
pub mod auth;
pub mod error;
pub mod evaluations;
pub mod events;
pub mod extract;
pub mod hall;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod print;
pub mod public;
pub mod reload;
pub mod sessions;
pub mod sim;
pub mod stats;
pub mod tickets;
pub mod views;
pub mod windows;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post, put};
use serde_json::json;

use crate::accounts::Accounts;
use crate::config::Config;
use crate::config::live::LiveConfig;
use crate::daemon::HallHandle;
use crate::daemon::idempotency;
use error::ApiError;
use limits::{Rate, RateLimiter};

/// Largest request body accepted.
pub const BODY_BYTES_MAX: usize = 16 * 1024;
/// Longest a request (other than the event stream) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub hall: HallHandle,
    pub accounts: Arc<Accounts>,
    /// The configuration as of now: a reload swaps it (`daemon/reload.rs`);
    /// take `state.config.get()` once per request.
    pub config: LiveConfig,
    pub journal_path: PathBuf,
    /// The hall's key for person hashes.
    pub person_key: Arc<Vec<u8>>,
    pub limits: Arc<RateLimiter>,
    /// The device layer's health, when the hall has devices.
    pub devices: Option<Arc<crate::devices::bus::Devices>>,
    /// The device simulator (`port = "sim"` buses), for `/api/v1/sim/…`.
    pub sim: Option<crate::sim::devices::SimHall>,
    /// Statistics reports already computed, by (period, journal seq) (`api/stats.rs`).
    pub stats: Arc<stats::StatsCache>,
    /// The alert monitor (`hallq serve`); without it alerts are evaluated per request.
    pub alerts: Option<Arc<crate::daemon::alerts::AlertMonitor>>,
    /// The 好差评 push's counters, when `[evaluation_push]` runs (`daemon/outbox.rs`).
    pub outbox: Option<Arc<crate::daemon::outbox::OutboxCounters>>,
    /// What the scheduled backups did since start, when `[backup]` runs (`daemon/backups.rs`).
    pub backups: Option<Arc<crate::daemon::backups::BackupStatus>>,
    /// The latest look-ahead of waits (`forecast::runner`); empty until the
    /// forecaster runs, and then the views fall back to the classic estimate.
    pub forecast: crate::forecast::ForecastHandle,
    /// Requests per route and open event streams, for `GET /metrics` (`api/metrics.rs`).
    pub metrics: Arc<metrics::ApiMetrics>,
    /// `POST /api/v1/config/reload` (`hallq serve`); without it the route refuses.
    pub reload: Option<Arc<crate::daemon::reload::Reloader>>,
}

impl AppState {
    pub fn new(
        hall: HallHandle,
        accounts: Arc<Accounts>,
        config: Arc<Config>,
        journal_path: PathBuf,
        person_key: Vec<u8>,
    ) -> AppState {
        let server = &config.file.server;
        let limits = RateLimiter::new(
            Rate {
                per_minute: server.issues_per_minute,
                burst: 20,
            },
            Rate {
                per_minute: server.sign_ins_per_minute,
                burst: 10,
            },
        );
        AppState {
            hall,
            accounts,
            config: LiveConfig::new(config),
            journal_path,
            person_key: Arc::new(person_key),
            limits: Arc::new(limits),
            devices: None,
            sim: None,
            stats: Arc::default(),
            alerts: None,
            outbox: None,
            backups: None,
            forecast: crate::forecast::ForecastHandle::new(),
            metrics: Arc::default(),
            reload: None,
        }
    }

    /// Serves `POST /api/v1/config/reload` with this reloader.
    pub fn with_reload(mut self, reloader: Arc<crate::daemon::reload::Reloader>) -> AppState {
        self.reload = Some(reloader);
        self
    }

    /// Shows the forecaster's look-ahead estimates in the views.
    pub fn with_forecast(mut self, forecast: crate::forecast::ForecastHandle) -> AppState {
        self.forecast = forecast;
        self
    }

    /// Adds the device layer's health to the hall view and the event stream.
    pub fn with_devices(mut self, devices: Arc<crate::devices::bus::Devices>) -> AppState {
        self.devices = Some(devices);
        self
    }

    /// Serves the device simulator's routes (`/api/v1/sim/…`).
    pub fn with_sim(mut self, sim: crate::sim::devices::SimHall) -> AppState {
        self.sim = Some(sim);
        self
    }

    /// Takes the alerts from the monitor: the hall view, `GET /api/v1/alerts`
    /// and `event: alert` on the event stream.
    pub fn with_alerts(mut self, monitor: Arc<crate::daemon::alerts::AlertMonitor>) -> AppState {
        self.alerts = Some(monitor);
        self
    }

    /// The scheduled backups' results for `GET /metrics`.
    pub fn with_backups(mut self, status: Arc<crate::daemon::backups::BackupStatus>) -> AppState {
        self.backups = Some(status);
        self
    }

    /// The 好差评 push's counters for `GET /api/v1/evaluations/outbox`.
    pub fn with_outbox(mut self, counters: Arc<crate::daemon::outbox::OutboxCounters>) -> AppState {
        self.outbox = Some(counters);
        self
    }
}

/// The `Idempotency-Key` header, if present and well-formed.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(k) if idempotency::valid_key(k) => Ok(Some(k.to_string())),
        _ => Err(ApiError::bad_request(
            "bad_idempotency_key",
            format!(
                "Idempotency-Key 须为1到{}个可见ASCII字符",
                idempotency::KEY_CHARS_MAX
            ),
            format!(
                "Idempotency-Key must be 1–{} visible ASCII characters",
                idempotency::KEY_CHARS_MAX
            ),
        )),
    }
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/api/v1/sessions",
            post(sessions::sign_in).delete(sessions::sign_out),
        )
        .route("/api/v1/sessions/password", post(sessions::change_password))
        .route(
            "/api/v1/accounts/{account}/password",
            post(sessions::reset_password),
        )
        .route(
            "/api/v1/tickets",
            post(tickets::issue).get(tickets::list_day),
        )
        .route("/api/v1/tickets/{id}", get(tickets::get_ticket))
        .route("/api/v1/services", get(hall::services))
        .route("/api/v1/windows", get(windows::list_windows))
        .route("/api/v1/windows/{n}", get(windows::get_window))
        .route("/api/v1/windows/{n}/sign-in", post(windows::sign_in))
        .route("/api/v1/windows/{n}/sign-out", post(windows::sign_out))
        .route("/api/v1/windows/{n}/call-next", post(windows::call_next))
        .route("/api/v1/windows/{n}/call", post(windows::call))
        .route("/api/v1/windows/{n}/recall", post(windows::recall))
        .route("/api/v1/windows/{n}/start", post(windows::start))
        .route("/api/v1/windows/{n}/finish", post(windows::finish))
        .route("/api/v1/windows/{n}/no-show", post(windows::no_show))
        .route("/api/v1/windows/{n}/park", post(windows::park))
        .route("/api/v1/windows/{n}/unpark", post(windows::unpark))
        .route("/api/v1/windows/{n}/transfer", post(windows::transfer))
        .route("/api/v1/windows/{n}/pause", post(windows::pause))
        .route("/api/v1/windows/{n}/resume", post(windows::resume))
        .route("/api/v1/windows/{n}/open", post(windows::open_window))
        .route("/api/v1/windows/{n}/close", post(windows::close_window))
        .route("/api/v1/windows/{n}/services", put(windows::set_services))
        .route(
            "/api/v1/windows/{n}/request-evaluation",
            post(windows::request_evaluation),
        )
        .route("/api/v1/alerts", get(alerts::list))
        .route("/api/v1/hall/today", get(hall::today))
        .route("/api/v1/stats", get(stats::get_stats))
        .route("/api/v1/stats/rankings", get(stats::rankings))
        .route("/api/v1/stats/{file}", get(stats::file))
        .route("/api/v1/evaluations", get(evaluations::list))
        .route("/api/v1/evaluations/followups", get(evaluations::followups))
        .route("/api/v1/evaluations/outbox", get(evaluations::outbox))
        .route("/api/v1/hall", get(hall::get_hall))
        .route("/api/v1/hall/session/open", post(hall::open_session))
        .route("/api/v1/hall/session/close", post(hall::close_session))
        .route("/api/v1/journal", get(hall::journal))
        .route("/api/v1/config/reload", post(reload::reload))
        .route("/api/v1/public/tickets/{id}", get(public::phone))
        .route("/api/v1/public/tickets/{id}/qr.svg", get(public::qr_svg))
        .route("/api/v1/tickets/{id}/escpos", get(print::escpos))
        .route("/api/v1/announcements/audio", get(audio::announcement))
        .route("/api/v1/sim/devices", get(sim::devices))
        .route("/api/v1/sim/keypads/{window}", post(sim::press_key))
        .route("/api/v1/sim/evaluators/{window}", post(sim::rate))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::scrape))
        .route("/openapi.json", get(openapi::document))
        .layer(middleware::from_fn(time_limit));
    // The event stream is long-lived: no request timeout.
    let stream = Router::new()
        .route("/api/v1/events", get(events::events))
        .route(
            "/api/v1/public/tickets/{id}/events",
            get(public::phone_events),
        )
        .route("/api/v1/sim/events", get(sim::events));
    let mut web = Router::new().route("/static/{*path}", get(pages::asset));
    for (route, file) in pages::PAGES {
        web = web.route(route, get(move || async move { pages::page(file) }));
    }
    api.merge(stream)
        .merge(web)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(size_limit))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(middleware::from_fn_with_state(
            state.config.get().tz,
            hall_time,
        ))
        // Requests by route template and status, for `GET /metrics`.
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// Every answer says the hall's time (`X-Hall-Time`, RFC 3339 with the
/// hall's offset), so a page's clock shows the hall's time whatever the
/// screen's own clock and zone.
async fn hall_time(State(tz): State<chrono_tz::Tz>, request: Request, next: Next) -> Response {
    use crate::daemon::clock::{Clock, SystemClock};
    let mut response = next.run(request).await;
    if let Ok(v) = axum::http::HeaderValue::from_str(&views::time(tz, SystemClock.now_ms())) {
        response.headers_mut().insert("x-hall-time", v);
    }
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("该地址", "address")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "该地址不支持此请求方法",
        "this method is not allowed here",
    )
}

/// Refuses a declared body over the limit at once, before reading any of it.
async fn size_limit(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_BYTES_MAX as u64) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("请求内容不得超过{}KB", BODY_BYTES_MAX / 1024),
            format!("the body may be at most {} KiB", BODY_BYTES_MAX / 1024),
        )
        .into_response();
    }
    next.run(request).await
}

/// Answers a request that takes too long (a body that stops arriving) with a JSON 408.
async fn time_limit(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "请求超时",
            format!(
                "the request did not complete within {} s",
                REQUEST_TIMEOUT.as_secs()
            ),
        )
        .into_response(),
    }
}

/// Live and able to commit: the owner answers and the journal took its last commit.
#[utoipa::path(get, path = "/healthz", tag = "hall",
    responses((status = 200, description = "{status: ok, journal_seq, business_day, waiting}"),
              (status = 503, description = "the owner does not answer or the journal refused a commit")))]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let writable = state.hall.journal_writable();
    match state
        .hall
        .query(|hall, seq| (seq, hall.day().map(|d| d.to_string()), hall.waiting()))
        .await
    {
        Ok(_) if !writable => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "error": "the journal refused the last commit"})),
        ),
        Ok((seq, day, waiting)) => (
            StatusCode::OK,
            Json(
                json!({"status": "ok", "journal_seq": seq, "business_day": day, "waiting": waiting}),
            ),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "error": e.to_string()})),
        ),
    }
}
