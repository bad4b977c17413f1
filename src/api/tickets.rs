//! Tickets: issue (kiosk, staff, appointment check-in, batch), public status,
//! and the full record of a business day.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Caller, Need};
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::limits::Bucket;
use super::views::{self, TicketEnvelope, TicketView};
use super::{AppState, idempotency_key};
use crate::accounts::Principal;
use crate::daemon::Submission;
use crate::daemon::clock::{Clock, SystemClock};
use crate::journal::JournalReader;
use crate::queue::{Command, Event, IssueSource, TicketId, person};

/// Longest id number accepted (Chinese resident id: 18; passports and others shorter).
const PERSON_ID_CHARS_MAX: usize = 32;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// Service id, e.g. `estate-search`.
    #[schema(example = "estate-search")]
    pub service: String,
    /// Priority class id (绿色通道, 老弱病残孕 …).
    #[serde(default)]
    pub priority: Option<String>,
    /// The citizen's id number, for per-person caps. Only a keyed hash is kept.
    #[serde(default)]
    pub person: Option<String>,
    /// Appointment code, for an appointment check-in.
    #[serde(default)]
    pub appointment: Option<String>,
    /// The appointment slot's start (RFC 3339); default now.
    #[serde(default)]
    pub appointment_at: Option<String>,
    /// Cases on one batch ticket (an agent bringing several), default 1, at
    /// most the service's `max_cases`.
    #[serde(default)]
    #[schema(minimum = 1, example = 1)]
    pub cases: Option<u32>,
}

/// Issue a ticket.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", request_body = IssueRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "retries with the same key get the first answer", min_length = 1, max_length = 128, pattern = "^[!-~]+$")),
    responses((status = 201, body = TicketEnvelope), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "this client address issued too many tickets (`[server] issues_per_minute`, burst 20)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn issue(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<IssueRequest>,
) -> Result<(StatusCode, Json<TicketEnvelope>), ApiError> {
    caller.require(Need::Issue)?;
    let now = SystemClock.now_ms();
    if !state.limits.allow(&caller.client, Bucket::Issue, now) {
        return Err(ApiError::rate_limited());
    }
    let key = idempotency_key(&headers)?;
    let person = match req.person.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id)
            if id.chars().count() > PERSON_ID_CHARS_MAX
                || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') =>
        {
            return Err(ApiError::unprocessable(
                "bad_person_id",
                "证件号码格式不正确（最多32位字母和数字）",
                "the id number is not valid (up to 32 letters and digits)",
            ));
        }
        Some(id) => Some(person::person_key(&state.person_key, id)),
    };
    let source = match (&req.appointment, &caller.principal) {
        (Some(code), _) => {
            let due_ms = match &req.appointment_at {
                Some(t) => chrono::DateTime::parse_from_rfc3339(t)
                    .map_err(|_| {
                        ApiError::unprocessable(
                            "bad_appointment_at",
                            "预约时间须为 RFC 3339 格式",
                            "appointment_at must be an RFC 3339 time",
                        )
                    })?
                    .timestamp_millis(),
                None => now,
            };
            IssueSource::Appointment {
                code: code.clone(),
                due_ms,
            }
        }
        (None, Principal::Machine { .. }) => IssueSource::Kiosk,
        (None, Principal::Person { .. }) => IssueSource::Staff,
    };
    let command = Command::Issue {
        service: req.service,
        priority: req.priority,
        person,
        source,
        cases: req.cases.unwrap_or(1),
    };
    let applied = state
        .hall
        .submit_with(Submission {
            actor: caller.actor(Need::Issue),
            client: caller.journal_client(),
            idempotency_key: key,
            command,
        })
        .await?;
    let id = applied
        .events
        .iter()
        .find_map(|e| match e {
            Event::TicketIssued { ticket, .. } => Some(*ticket),
            _ => None,
        })
        .ok_or_else(|| ApiError::internal("issue produced no ticket"))?;
    let now = SystemClock.now_ms();
    let key = state.person_key.clone();
    let forecast = state.forecast.latest();
    let view = state
        .hall
        .query(move |hall, _| {
            hall.ticket(id).map(|t| TicketView {
                status_url: Some(super::public::status_path(&key, &t)),
                ..views::ticket_forecast(hall, &t, now, &forecast)
            })
        })
        .await?
        .ok_or_else(|| ApiError::not_found("号票", "ticket"))?;
    Ok((
        StatusCode::CREATED,
        Json(TicketEnvelope { ticket: Some(view) }),
    ))
}

pub async fn ticket_view(state: &AppState, id: TicketId) -> Result<Option<TicketView>, ApiError> {
    let now = SystemClock.now_ms();
    let forecast = state.forecast.latest();
    Ok(state
        .hall
        .query(move |hall, _| {
            hall.ticket(id)
                .map(|t| views::ticket_forecast(hall, &t, now, &forecast))
        })
        .await?)
}

/// Public status of one ticket (no personal data): what the phone page shows.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets",
    params(("id" = u64, Path, description = "ticket id", example = 1)),
    responses((status = 200, body = TicketEnvelope), (status = 404, body = ErrorBody)))]
pub async fn get_ticket(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<TicketEnvelope>, ApiError> {
    let view = ticket_view(&state, TicketId(id))
        .await?
        .ok_or_else(|| ApiError::not_found("号票", "ticket"))?;
    Ok(Json(TicketEnvelope { ticket: Some(view) }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    /// Business day, YYYY-MM-DD.
    pub day: chrono::NaiveDate,
}

/// One journaled event, as the record shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedEvent {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub client: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayTicket {
    pub id: u64,
    pub number: String,
    pub service: String,
    pub issued_at: String,
    pub events: Vec<RecordedEvent>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayTickets {
    pub day: String,
    pub tickets: Vec<DayTicket>,
}

/// Every ticket of a business day with its events, from the journal.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", params(DayQuery),
    responses((status = 200, body = DayTickets), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_day(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> Result<Json<DayTickets>, ApiError> {
    caller.require(Need::ReadRecord)?;
    let path = state.journal_path.clone();
    let tz = state.config.get().tz;
    let day = q.day;
    let tickets = tokio::task::spawn_blocking(move || day_tickets(&path, tz, day))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Json(DayTickets {
        day: day.to_string(),
        tickets,
    }))
}

/// Scans the journal for the tickets issued on `day` and every event about them.
fn day_tickets(
    path: &std::path::Path,
    tz: chrono_tz::Tz,
    day: chrono::NaiveDate,
) -> anyhow::Result<Vec<DayTicket>> {
    let reader = JournalReader::open(path)?;
    let mut current: Option<chrono::NaiveDate> = None;
    let mut out: Vec<DayTicket> = Vec::new();
    let mut index: std::collections::HashMap<TicketId, usize> = std::collections::HashMap::new();
    reader.for_each_from(0, |r| -> anyhow::Result<()> {
        let event: Event = serde_json::from_str(&r.payload)?;
        let recorded = |e: &Event| RecordedEvent {
            seq: r.seq,
            at: views::time(tz, r.at_ms),
            actor: r.actor.clone(),
            client: crate::daemon::idempotency::split_client(&r.client)
                .0
                .to_string(),
            kind: r.kind.clone(),
            event: serde_json::to_value(e).unwrap_or_default(),
        };
        match &event {
            Event::DayOpened { date } => current = Some(*date),
            Event::TicketIssued {
                ticket,
                number,
                service,
                ..
            } if current == Some(day) => {
                index.insert(*ticket, out.len());
                out.push(DayTicket {
                    id: ticket.0,
                    number: number.clone(),
                    service: service.clone(),
                    issued_at: views::time(tz, r.at_ms),
                    events: vec![recorded(&event)],
                });
            }
            Event::DayEnded { expired, .. } => {
                for t in expired {
                    if let Some(&i) = index.get(t) {
                        out[i].events.push(recorded(&event));
                    }
                }
            }
            e => {
                if let Some(&i) = e.ticket().and_then(|t| index.get(&t)) {
                    out[i].events.push(recorded(e));
                }
            }
        }
        Ok(())
    })?;
    Ok(out)
}
