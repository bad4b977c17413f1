//! Alerts on the API: `GET /api/v1/alerts` (the current set and the
//! counts per kind) and the `event: alert` messages of `/api/v1/events`.
//!
//! Who sees them: `GET /api/v1/alerts` needs what the hall view needs
//! (`Need::ReadHall`: managers, window heads, supervisors, admins and display
//! screens — the hall view has always carried the alerts). The event stream
//! sends `event: alert` only to *people* who may read the hall: kiosks and
//! screens in the public area show no alerts, so they are not woken for
//! them. Each message is `{"state": "raised"|"cleared", "alert": {…}}`
//! without an `id:` (alerts are not journal events, so they neither
//! advance nor break resumption). A stream sends every current alert as
//! `raised` when it opens (so a page that reconnects, or a daemon that
//! restarted, shows the set at once), and again if it fell behind.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::sse::Event as SseEvent;
use serde::Serialize;
use tokio::sync::broadcast;
use utoipa::ToSchema;

use super::AppState;
use super::auth::{Caller, Need};
use super::error::{ApiError, ErrorBody};
use super::views::AlertView;
use crate::accounts::Principal;
use crate::alerts::OfflineDevice;
use crate::daemon::alerts::{AlertChange, ChangeState, KindCount};
use crate::daemon::clock::{Clock, SystemClock};
use crate::queue::{Hall, Millis};

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertsView {
    /// The alerts in force, in a stable order (long waits, then windows, then devices).
    pub alerts: Vec<AlertView>,
    /// Per kind: raised since the daemon started, and active now (empty
    /// when no monitor runs).
    pub counts: Vec<KindCount>,
}

/// The alerts of the hall at `now_ms`, to run on the owner thread (inside
/// the query of the view that shows them, so both are one moment): through
/// the monitor (which keeps each alert's since and knows the devices), or
/// from the device health read now when no monitor runs (tests).
pub fn evaluator(
    state: &AppState,
    now_ms: Millis,
) -> impl FnOnce(&Hall) -> Vec<AlertView> + Send + 'static {
    let tz = state.config.get().tz;
    let monitor = state.alerts.clone();
    let offline = match (&monitor, &state.devices) {
        (None, Some(d)) => OfflineDevice::from_statuses(&d.statuses(), now_ms),
        _ => Vec::new(),
    };
    move |hall| {
        let list = match &monitor {
            Some(m) => m.evaluate(hall, now_ms),
            None => crate::alerts::evaluate(hall, now_ms, &offline),
        };
        list.iter().map(|a| AlertView::new(a, tz)).collect()
    }
}

/// The alerts in force now.
pub async fn current(state: &AppState) -> Result<Vec<AlertView>, ApiError> {
    let alerts = evaluator(state, SystemClock.now_ms());
    Ok(state.hall.query(move |hall, _| alerts(hall)).await?)
}

/// What a manager should look at now: long waits, idle windows while people wait, long pauses, early lunches, devices offline.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "hall",
    responses((status = 200, body = AlertsView), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AlertsView>, ApiError> {
    caller.require(Need::ReadHall)?;
    let alerts = current(&state).await?;
    let counts = state
        .alerts
        .as_ref()
        .map(|m| m.counts())
        .unwrap_or_default();
    Ok(Json(AlertsView { alerts, counts }))
}

/// Whether the event stream sends this caller `event: alert`: people who may read the hall.
pub fn follows_alerts(caller: &Caller) -> bool {
    matches!(caller.principal, Principal::Person { .. }) && caller.require(Need::ReadHall).is_ok()
}

#[derive(Debug, Serialize)]
struct Message {
    state: ChangeState,
    alert: AlertView,
}

/// One `event: alert` message.
pub fn message(
    tz: chrono_tz::Tz,
    state: ChangeState,
    alert: &crate::alerts::Alert,
) -> Result<SseEvent, Infallible> {
    let data = Message {
        state,
        alert: AlertView::new(alert, tz),
    };
    let json = serde_json::to_string(&data).unwrap_or_default();
    Ok(SseEvent::default().event("alert").data(json))
}

/// Every current alert as `raised` (a stream opening, or one that fell behind).
pub fn snapshot(state: &AppState) -> Vec<Result<SseEvent, Infallible>> {
    let tz = state.config.get().tz;
    state
        .alerts
        .as_ref()
        .map(|m| {
            m.current()
                .iter()
                .map(|a| message(tz, ChangeState::Raised, a))
                .collect()
        })
        .unwrap_or_default()
}

/// The messages for the next alert change: one, or the whole current set
/// after a lag; pending forever for a caller who does not follow alerts.
pub async fn next_messages(
    state: &AppState,
    rx: &mut Option<broadcast::Receiver<Arc<AlertChange>>>,
) -> Vec<Result<SseEvent, Infallible>> {
    let Some(r) = rx.as_mut() else {
        return std::future::pending().await;
    };
    match r.recv().await {
        Ok(change) => vec![message(state.config.get().tz, change.state, &change.alert)],
        Err(broadcast::error::RecvError::Lagged(_)) => snapshot(state),
        Err(broadcast::error::RecvError::Closed) => {
            *rx = None;
            Vec::new()
        }
    }
}
