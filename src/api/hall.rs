//! The hall as a whole: the live view, session control by managers, and the
//! journal for supervisors.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Caller, Need};
use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use super::tickets::RecordedEvent;
use super::views::{self, HallView};
use super::{AppState, idempotency_key};
use crate::daemon::Submission;
use crate::daemon::clock::{Clock, SystemClock};
use crate::journal::JournalReader;
use crate::queue::Command;

/// Live state: per service waiting, longest wait and an estimate; per window state, staff, current ticket, idle time.
#[utoipa::path(get, path = "/api/v1/hall", tag = "hall",
    responses((status = 200, body = HallView), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_hall(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<HallView>, ApiError> {
    caller.require(Need::ReadHall)?;
    let now = SystemClock.now_ms();
    // The alerts of the same moment, with the devices (`api/alerts.rs`).
    let alerts = super::alerts::evaluator(&state, now);
    let mut view = state
        .hall
        .query(move |hall, seq| {
            let mut view = views::hall_view(hall, seq, now);
            view.alerts = alerts(hall);
            view
        })
        .await?;
    views::services_forecast(&mut view.services, &state.forecast.latest(), now);
    if let Some(d) = &state.devices {
        view.devices = Some(views::DevicesView::new(d.statuses(), d.voice_stats()));
    }
    Ok(Json(view))
}

/// One hour of today.
#[derive(Debug, Serialize, ToSchema)]
pub struct HourView {
    /// Local hour, 0–23.
    pub hour: u32,
    pub arrivals: u32,
    /// Tickets first called in this hour.
    pub called: u32,
    /// Mean and longest wait (issue → first call) of those tickets.
    pub mean_wait_minutes: Option<f64>,
    pub max_wait_minutes: Option<f64>,
}

/// Today so far, for the dashboard's charts.
#[derive(Debug, Serialize, ToSchema)]
pub struct TodayView {
    pub business_day: Option<String>,
    pub issued: u32,
    /// Steps finished (any outcome).
    pub served: u32,
    pub no_show: u32,
    pub waiting: usize,
    /// Every hour of the day, 0–23.
    pub hours: Vec<HourView>,
}

fn minutes(ms: i64) -> f64 {
    (ms as f64 / 60_000.0 * 10.0).round() / 10.0
}

/// Today's arrivals and waits by hour, and the day's totals.
#[utoipa::path(get, path = "/api/v1/hall/today", tag = "hall",
    responses((status = 200, body = TodayView), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn today(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TodayView>, ApiError> {
    caller.require(Need::ReadHall)?;
    let view = state
        .hall
        .query(|hall, _| {
            let t = &hall.state().tally;
            TodayView {
                business_day: hall.day().map(|d| d.to_string()),
                issued: t.issued,
                served: t.served,
                no_show: t.no_show,
                waiting: hall
                    .live_tickets()
                    .filter(|t| t.status == crate::queue::TicketStatus::Waiting)
                    .count(),
                hours: t
                    .hours
                    .iter()
                    .enumerate()
                    .map(|(h, x)| HourView {
                        hour: h as u32,
                        arrivals: x.arrivals,
                        called: x.called,
                        mean_wait_minutes: (x.called > 0)
                            .then(|| minutes(x.wait_ms_total / i64::from(x.called))),
                        max_wait_minutes: (x.called > 0).then(|| minutes(x.wait_ms_max)),
                    })
                    .collect(),
            }
        })
        .await?;
    Ok(Json(view))
}

/// A service as the kiosk offers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuableService {
    #[serde(flatten)]
    pub service: views::ServiceView,
    /// Whether a ticket can be taken now.
    pub issuing: bool,
    /// Why not, as the kiosk would be told.
    pub refusal: Option<RefusalView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefusalView {
    pub code: String,
    pub message: String,
    pub message_en: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    pub hall_name: String,
    pub hall_name_en: String,
    pub services: Vec<IssuableService>,
    pub departments: Vec<views::DepartmentView>,
    pub zones: Vec<views::ZoneView>,
}

/// The services, whether each issues tickets now, waiting counts and estimates (kiosks, screens, staff).
#[utoipa::path(get, path = "/api/v1/services", tag = "tickets",
    responses((status = 200, body = ServiceList), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn services(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ServiceList>, ApiError> {
    caller
        .require(Need::Issue)
        .or_else(|_| caller.require(Need::ReadWindow))?;
    let now = SystemClock.now_ms();
    let mut list = state
        .hall
        .query(move |hall, _| {
            let probe = crate::queue::Actor::Kiosk("probe".into());
            let services = views::services(hall, now)
                .into_iter()
                .map(|service| {
                    // A dry run of the kiosk's own request: decide is pure.
                    let command = Command::Issue {
                        service: service.id.clone(),
                        priority: None,
                        person: None,
                        source: crate::queue::IssueSource::Kiosk,
                        cases: 1,
                    };
                    let refusal = hall
                        .decide(&probe, &command, now)
                        .err()
                        .map(|r| RefusalView {
                            code: r.code.to_string(),
                            message: r.zh,
                            message_en: r.en,
                        });
                    IssuableService {
                        service,
                        issuing: refusal.is_none(),
                        refusal,
                    }
                })
                .collect();
            ServiceList {
                hall_name: hall.config().file.hall.name.clone(),
                hall_name_en: hall.config().file.hall.name_en.clone(),
                services,
                departments: views::departments(hall),
                zones: views::zones(hall),
            }
        })
        .await?;
    let forecast = state.forecast.latest();
    for s in &mut list.services {
        views::service_forecast(&mut s.service, &forecast, now);
    }
    Ok(Json(list))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResult {
    pub session_open: bool,
    pub seq: u64,
}

async fn session_command(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    command: Command,
) -> Result<Json<SessionResult>, ApiError> {
    caller.require(Need::Manager)?;
    let key = idempotency_key(headers)?;
    let applied = state
        .hall
        .submit_with(Submission {
            actor: caller.actor(Need::Manager),
            client: caller.journal_client(),
            idempotency_key: key,
            command,
        })
        .await?;
    let open = state
        .hall
        .query(|hall, _| hall.state().session.is_some())
        .await?;
    Ok(Json(SessionResult {
        session_open: open,
        seq: applied.first_seq,
    }))
}

/// Open a session now, outside the calendar (manager).
#[utoipa::path(post, path = "/api/v1/hall/session/open", tag = "manager",
    responses((status = 200, body = SessionResult), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn open_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Json<SessionResult>, ApiError> {
    session_command(
        &state,
        &caller,
        &headers,
        Command::OpenSession { slot: None },
    )
    .await
}

/// Close the current session now; issuing stops (manager).
#[utoipa::path(post, path = "/api/v1/hall/session/close", tag = "manager",
    responses((status = 200, body = SessionResult), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn close_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Json<SessionResult>, ApiError> {
    session_command(&state, &caller, &headers, Command::CloseSession).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JournalQuery {
    /// Rows after this sequence number (default 0).
    #[serde(default)]
    pub after: u64,
    /// At most this many rows (default 500, at most 5000).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JournalRow {
    #[serde(flatten)]
    pub event: RecordedEvent,
    /// This row's chain hash (hex).
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JournalPage {
    pub rows: Vec<JournalRow>,
    /// Pass as `after` for the next page; equals the last row's seq.
    pub next_after: u64,
}

/// The journal itself, page by page, with each row's chain hash (supervisor, manager, admin).
#[utoipa::path(get, path = "/api/v1/journal", tag = "hall", params(JournalQuery),
    responses((status = 200, body = JournalPage), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn journal(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<JournalQuery>,
) -> Result<Json<JournalPage>, ApiError> {
    caller.require(Need::ReadRecord)?;
    let limit = q.limit.unwrap_or(500).clamp(1, 5000);
    let path = state.journal_path.clone();
    let tz = state.config.get().tz;
    let rows =
        tokio::task::spawn_blocking(move || JournalReader::open(&path)?.read_range(q.after, limit))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
    let next_after = rows.last().map_or(q.after, |r| r.seq);
    let rows = rows
        .into_iter()
        .map(|r| JournalRow {
            hash: hex::encode(r.hash),
            event: RecordedEvent {
                seq: r.seq,
                at: views::time(tz, r.at_ms),
                actor: r.actor,
                client: r.client,
                kind: r.kind,
                event: serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null),
            },
        })
        .collect();
    Ok(Json(JournalPage { rows, next_after }))
}
