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
    let mut view = state
        .hall
        .query(move |hall, seq| views::hall_view(hall, seq, now))
        .await?;
    view.devices = state
        .devices
        .as_ref()
        .map(|d| views::DevicesView::new(d.statuses(), d.voice_stats()));
    Ok(Json(view))
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
    let tz = state.config.tz;
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
