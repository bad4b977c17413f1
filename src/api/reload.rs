//! `POST /api/v1/config/reload`: re-read the configuration file the daemon
//! was started with (never a file sent over the network) and apply it the
//! way `SIGHUP` does (`daemon/reload.rs`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;
use super::auth::{Caller, Need};
use super::error::{ApiError, ErrorBody};
use crate::daemon::reload::ReloadOutcome;

/// Re-read the configuration file from disk and apply it (admin). Validated
/// first; restart-only parts, or a change that would lose a live ticket or a
/// signed-in staff member, refuse the whole reload (409, every reason in the
/// message). The same file again is `unchanged` and records nothing.
#[utoipa::path(post, path = "/api/v1/config/reload", tag = "manager",
    responses(
        (status = 200, description = "{result: applied, sha256, seq, changes: [..]} or {result: unchanged, sha256}"),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "config_reload_refused: nothing changed; the message lists every reason (file, line, field)")),
    security(("bearer" = [])))]
pub async fn reload(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ReloadOutcome>, ApiError> {
    caller.require(Need::Admin)?;
    let outcome = match &state.reload {
        Some(reloader) => {
            // As every person's change: the account's label, the address and role.
            let actor = caller.actor(Need::Admin).label();
            let client = caller.journal_client();
            let reloader = reloader.clone();
            // Its own task: a request that times out (a long journal) or
            // whose client leaves does not cut the reload short; it
            // finishes and logs its result.
            tokio::spawn(async move { reloader.reload("api", &actor, &client).await })
                .await
                .map_err(ApiError::internal)?
        }
        None => ReloadOutcome::Refused {
            reasons: vec!["this hall was not started by `hallq serve --config FILE`; there is nothing to reload".into()],
        },
    };
    match outcome {
        ReloadOutcome::Refused { reasons } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "config_reload_refused",
            format!("配置未重新加载，未作任何更改：{}", reasons.join("；")),
            format!(
                "the configuration was not reloaded; nothing changed: {}",
                reasons.join("; ")
            ),
        )),
        other => Ok(Json(other)),
    }
}
