//! The only code that knows HTTP and JSON. For now: `GET /healthz`; the
//! versioned API, SSE and pages plug in here.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use serde_json::json;

use crate::daemon::HallHandle;

pub fn router(handle: HallHandle) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(handle)
}

/// Live and able to commit: the owner answers, and reports the journal position.
async fn healthz(State(hall): State<HallHandle>) -> impl IntoResponse {
    match hall
        .query(|hall, seq| (seq, hall.day().map(|d| d.to_string()), hall.waiting()))
        .await
    {
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
