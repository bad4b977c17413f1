//! Counter actions by the staff member signed in at a window, the window's
//! own view, and a manager's window changes.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, Need};
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath};
use super::views::{self, TicketView, WindowDetail, WindowView};
use super::{AppState, idempotency_key};
use crate::daemon::Submission;
use crate::daemon::clock::{Clock, SystemClock};
use crate::queue::{Command, Event, Outcome, PauseReason, TransferTarget, WindowNo, WindowService};

/// The answer to every window action: the ticket acted on (or `null`) and the window now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionResult {
    pub ticket: Option<TicketView>,
    pub window: Option<WindowView>,
    /// True when this answers a retry with the same Idempotency-Key.
    pub replayed: bool,
}

/// Submits a window command for the caller and answers with the ticket and window after it.
async fn act(
    state: &AppState,
    caller: &Caller,
    need: Need,
    window: WindowNo,
    headers: &HeaderMap,
    command: Command,
) -> Result<Json<ActionResult>, ApiError> {
    caller.require(need)?;
    let key = idempotency_key(headers)?;
    let applied = state
        .hall
        .submit_with(Submission {
            actor: caller.actor(need),
            client: caller.journal_client(),
            idempotency_key: key,
            command,
        })
        .await?;
    // The ticket acted on (a finish may first close the previous citizen's
    // evaluation, an event about another ticket).
    let ticket = applied
        .events
        .iter()
        .filter(|e| !matches!(e, Event::ServiceRated { .. }))
        .find_map(Event::ticket);
    let replayed = applied.replayed;
    let now = SystemClock.now_ms();
    let forecast = state.forecast.latest();
    let (ticket, window) = state
        .hall
        .query(move |hall, _| {
            (
                ticket
                    .and_then(|t| hall.ticket(t))
                    .map(|t| views::ticket_forecast(hall, &t, now, &forecast)),
                views::window(hall, window, now),
            )
        })
        .await?;
    Ok(Json(ActionResult {
        ticket,
        window,
        replayed,
    }))
}

/// A window action without a body: `plain_action!(name, path, doc, command)`
/// for window staff, or with a leading `"manager", Manager` for managers.
macro_rules! plain_action {
    ($tag:literal, $need:ident, $name:ident, $path:literal, $doc:literal, $command:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = $tag,
            params(("n" = u32, Path, description = "window number", example = 5),
                   ("Idempotency-Key" = Option<String>, Header, description = "retries with the same key get the first answer", min_length = 1, max_length = 128, pattern = "^[!-~]+$")),
            responses((status = 200, body = ActionResult), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
            security(("bearer" = [])))]
        pub async fn $name(State(state): State<AppState>, caller: Caller, headers: HeaderMap, ApiPath(n): ApiPath<WindowNo>) -> Result<Json<ActionResult>, ApiError> {
            let make: fn(WindowNo) -> Command = $command;
            act(&state, &caller, Need::$need, n, &headers, make(n)).await
        }
    };
    ($name:ident, $path:literal, $doc:literal, $command:expr) => {
        plain_action!("counter", WindowStaff, $name, $path, $doc, $command);
    };
}

plain_action!(
    sign_in,
    "/api/v1/windows/{n}/sign-in",
    "Sign in at a window (one person per window, one window per person).",
    |window| Command::SignIn { window }
);
plain_action!(
    sign_out,
    "/api/v1/windows/{n}/sign-out",
    "Sign out of the window.",
    |window| Command::SignOut { window }
);
plain_action!(
    call_next,
    "/api/v1/windows/{n}/call-next",
    "Call the next ticket by routing; `ticket` is null when nobody waits.",
    |window| Command::CallNext { window }
);
plain_action!(
    recall,
    "/api/v1/windows/{n}/recall",
    "Call the current ticket again (past the service's recall limit it becomes a no-show).",
    |window| Command::Recall { window }
);
plain_action!(
    start,
    "/api/v1/windows/{n}/start",
    "Start serving the called ticket.",
    |window| Command::Start { window }
);
plain_action!(
    no_show,
    "/api/v1/windows/{n}/no-show",
    "Mark the called ticket as not present (it may go back in line).",
    |window| Command::NoShow { window }
);
plain_action!(
    park,
    "/api/v1/windows/{n}/park",
    "Hold the current ticket aside (挂起).",
    |window| Command::Park { window }
);
plain_action!(
    resume,
    "/api/v1/windows/{n}/resume",
    "Resume service after a pause.",
    |window| Command::Resume { window }
);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    /// The ticket number, e.g. `A012`.
    pub ticket: String,
    /// Why it is called out of order (required, kept in the record).
    pub reason: String,
}

/// Call a given waiting ticket out of order.
#[utoipa::path(post, path = "/api/v1/windows/{n}/call", tag = "counter", request_body = CallRequest,
    params(("n" = u32, Path, description = "window number", example = 5)),
    responses((status = 200, body = ActionResult), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn call(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(n): ApiPath<WindowNo>,
    ApiJson(req): ApiJson<CallRequest>,
) -> Result<Json<ActionResult>, ApiError> {
    act(
        &state,
        &caller,
        Need::WindowStaff,
        n,
        &headers,
        Command::CallTicket {
            window: n,
            number: req.ticket,
            reason: req.reason,
        },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishRequest {
    /// done, accepted, reported_up, rejected, incomplete, wrong_jurisdiction
    #[schema(value_type = String,
        pattern = "^(done|accepted|reported_up|rejected|incomplete|wrong_jurisdiction)$")]
    pub outcome: Outcome,
    /// Required for `rejected`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Finish serving the current ticket with an outcome (a flow's next step follows `done`).
#[utoipa::path(post, path = "/api/v1/windows/{n}/finish", tag = "counter", request_body = FinishRequest,
    params(("n" = u32, Path, description = "window number", example = 5)),
    responses((status = 200, body = ActionResult), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn finish(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(n): ApiPath<WindowNo>,
    ApiJson(req): ApiJson<FinishRequest>,
) -> Result<Json<ActionResult>, ApiError> {
    act(
        &state,
        &caller,
        Need::WindowStaff,
        n,
        &headers,
        Command::Finish {
            window: n,
            outcome: req.outcome,
            reason: req.reason,
        },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnparkRequest {
    pub ticket: String,
}

/// Take a parked ticket back at this window.
#[utoipa::path(post, path = "/api/v1/windows/{n}/unpark", tag = "counter", request_body = UnparkRequest,
    params(("n" = u32, Path, description = "window number", example = 5)),
    responses((status = 200, body = ActionResult), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn unpark(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(n): ApiPath<WindowNo>,
    ApiJson(req): ApiJson<UnparkRequest>,
) -> Result<Json<ActionResult>, ApiError> {
    act(
        &state,
        &caller,
        Need::WindowStaff,
        n,
        &headers,
        Command::Unpark {
            window: n,
            number: req.ticket,
        },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// Transfer to this service's line…
    #[serde(default)]
    pub service: Option<String>,
    /// …or to this window only (give one of the two).
    #[serde(default)]
    pub window: Option<WindowNo>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Transfer the current ticket, keeping its number, arrival time and priority.
#[utoipa::path(post, path = "/api/v1/windows/{n}/transfer", tag = "counter", request_body = TransferRequest,
    params(("n" = u32, Path, description = "window number", example = 5)),
    responses((status = 200, body = ActionResult), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn transfer(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(n): ApiPath<WindowNo>,
    ApiJson(req): ApiJson<TransferRequest>,
) -> Result<Json<ActionResult>, ApiError> {
    let to = match (req.service, req.window) {
        (Some(s), None) => TransferTarget::Service(s),
        (None, Some(w)) => TransferTarget::Window(w),
        _ => return Err(crate::queue::refusal::refuse::transfer_target().into()),
    };
    act(
        &state,
        &caller,
        Need::WindowStaff,
        n,
        &headers,
        Command::Transfer {
            window: n,
            to,
            reason: req.reason,
        },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseRequest {
    /// lunch, break, out_of_supplies, meeting
    #[schema(value_type = String, pattern = "^(lunch|break|out_of_supplies|meeting)$")]
    pub reason: PauseReason,
}

/// Pause service at the window (暂停服务) with a reason.
#[utoipa::path(post, path = "/api/v1/windows/{n}/pause", tag = "counter", request_body = PauseRequest,
    params(("n" = u32, Path, description = "window number", example = 5)),
    responses((status = 200, body = ActionResult), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(n): ApiPath<WindowNo>,
    ApiJson(req): ApiJson<PauseRequest>,
) -> Result<Json<ActionResult>, ApiError> {
    act(
        &state,
        &caller,
        Need::WindowStaff,
        n,
        &headers,
        Command::Pause {
            window: n,
            reason: req.reason,
        },
    )
    .await
}

/// A window: its state, staff, current ticket, and the heads of the lines it would call next, with why.
#[utoipa::path(get, path = "/api/v1/windows/{n}", tag = "counter",
    params(("n" = u32, Path, description = "window number", example = 5)),
    responses((status = 200, body = WindowDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_window(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(n): ApiPath<WindowNo>,
) -> Result<Json<WindowDetail>, ApiError> {
    caller.require(Need::ReadWindow)?;
    let now = SystemClock.now_ms();
    let detail = state
        .hall
        .query(move |hall, _| views::window_detail(hall, n, now))
        .await?;
    detail
        .map(Json)
        .ok_or_else(|| ApiError::not_found("窗口", "window"))
}

// --- manager ---------------------------------------------------------------

plain_action!(
    "manager",
    Manager,
    open_window,
    "/api/v1/windows/{n}/open",
    "Open a closed window (manager).",
    |window| Command::OpenWindow { window }
);
plain_action!(
    "manager",
    Manager,
    close_window,
    "/api/v1/windows/{n}/close",
    "Close a window (manager); its parked and transferred tickets go back in line.",
    |window| Command::CloseWindow { window }
);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicesRequest {
    pub services: Vec<ServiceWeight>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceWeight {
    pub service: String,
    /// 1–100; higher is preferred by this window.
    pub weight: u32,
}

/// Change the services a window serves, with weights (manager).
#[utoipa::path(put, path = "/api/v1/windows/{n}/services", tag = "manager", request_body = ServicesRequest,
    params(("n" = u32, Path, description = "window number", example = 5)),
    responses((status = 200, body = ActionResult), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn set_services(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(n): ApiPath<WindowNo>,
    ApiJson(req): ApiJson<ServicesRequest>,
) -> Result<Json<ActionResult>, ApiError> {
    if req.services.len() > 200 {
        return Err(ApiError::unprocessable(
            "too_many_services",
            "一个窗口最多200项业务",
            "a window may serve at most 200 services",
        ));
    }
    let services = req
        .services
        .into_iter()
        .map(|s| WindowService {
            service: s.service,
            weight: s.weight,
        })
        .collect();
    act(
        &state,
        &caller,
        Need::Manager,
        n,
        &headers,
        Command::SetWindowServices {
            window: n,
            services,
        },
    )
    .await
}

/// Every window: what the counter page offers to sign in at, and what window screens show.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowList {
    pub windows: Vec<WindowView>,
}

/// All windows, in number order.
#[utoipa::path(get, path = "/api/v1/windows", tag = "counter",
    responses((status = 200, body = WindowList), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_windows(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WindowList>, ApiError> {
    caller.require(Need::ReadWindow)?;
    let now = SystemClock.now_ms();
    let windows = state
        .hall
        .query(move |hall, _| {
            hall.windows()
                .filter_map(|w| views::window(hall, w.number, now))
                .collect()
        })
        .await?;
    Ok(Json(WindowList { windows }))
}

/// 请评价: light the window's evaluator for the citizen just served, as the
/// keypad's key does (staff signed in at this window).
#[utoipa::path(post, path = "/api/v1/windows/{n}/request-evaluation", tag = "counter",
    params(("n" = u32, Path, description = "window number", example = 5)),
    responses((status = 204, description = "the evaluator asks for a rating"),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn request_evaluation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(n): ApiPath<WindowNo>,
) -> Result<axum::http::StatusCode, ApiError> {
    use crate::devices::bus::Verdict;
    use crate::queue::refusal::refuse;
    caller.require(Need::WindowStaff)?;
    let account = caller.account().unwrap_or_default().to_string();
    let here = state
        .hall
        .query(move |hall, _| {
            hall.window(n)
                .map(|w| w.staff.as_deref() == Some(account.as_str()))
        })
        .await?;
    match here {
        None => return Err(refuse::unknown_window(n).into()),
        Some(false) => return Err(refuse::not_signed_in_here(n).into()),
        Some(true) => {}
    }
    let verdict = match &state.devices {
        Some(d) => d.request_evaluation(n).await,
        None => None,
    };
    match verdict {
        Some(Verdict::Applied) => Ok(axum::http::StatusCode::NO_CONTENT),
        Some(Verdict::Refused(_)) => Err(refuse::not_awaiting_rating(n).into()),
        Some(Verdict::Retry) => Err(ApiError::unavailable()),
        None => Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "no_evaluator",
            format!("{n}号窗口没有评价器"),
            format!("window {n} has no evaluator"),
        )),
    }
}
