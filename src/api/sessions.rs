//! Signing in and out, changing and resetting passwords. Argon2 runs on the
//! blocking pool; every outcome is recorded in the journal (who, from where).

use axum::Json;
use axum::extract::FromRequestParts;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::{Caller, Need, client_of};
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath};
use super::limits::Bucket;
use crate::accounts::{PasswordError, Principal, SignInError};
use crate::daemon::clock::{Clock, SystemClock};
use crate::queue::{AccountActivity, Actor, Command};

/// The client address of an unauthenticated request.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientAddr, ApiError> {
        Ok(ClientAddr(client_of(parts)))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    pub account: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignInResponse {
    /// Bearer token for `Authorization: Bearer …`; shown only now.
    pub token: String,
    /// The account's highest role: admin, supervisor, manager, window_head or staff.
    pub role: String,
    pub roles: Vec<String>,
    pub must_change_password: bool,
    pub expires_at: String,
}

/// Records account activity in the journal (best effort: a refusal to
/// record must not turn a sign-in into a server error).
async fn record(state: &AppState, account: &str, client: &str, activity: AccountActivity) {
    let command = Command::RecordAccountActivity {
        account: account.to_string(),
        activity,
    };
    if let Err(e) = state
        .hall
        .submit(Actor::Staff(account.to_string()), client, command)
        .await
    {
        tracing::warn!(error = %e, "could not record account activity");
    }
}

fn sign_in_error(e: &SignInError) -> ApiError {
    let status = match e {
        SignInError::Locked { .. } => StatusCode::FORBIDDEN,
        SignInError::Store(_) => return ApiError::internal(e),
        _ => StatusCode::UNAUTHORIZED,
    };
    ApiError::new(status, e.code(), e.zh(), e.to_string())
}

fn password_error(e: &PasswordError) -> ApiError {
    let status = match e.code() {
        "wrong_password" | "account_locked" => StatusCode::FORBIDDEN,
        "store_error" => return ApiError::internal(e),
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, e.code(), e.zh(), e.to_string())
}

/// Sign in with an account and password; 5 failures in a row lock the account for 15 minutes.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = SignInRequest,
    responses((status = 201, body = SignInResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(req): ApiJson<SignInRequest>,
) -> Result<(StatusCode, Json<SignInResponse>), ApiError> {
    let now = SystemClock.now_ms();
    if !state.limits.allow(&client, Bucket::SignIn, now) {
        return Err(ApiError::rate_limited());
    }
    let accounts = state.accounts.clone();
    let (account, password) = (req.account.clone(), req.password);
    let result = tokio::task::spawn_blocking(move || accounts.sign_in(&account, &password, now))
        .await
        .map_err(ApiError::internal)?;
    match result {
        Ok(session) => {
            record(&state, &session.account, &client, AccountActivity::SignedIn).await;
            let mut roles = session.roles.clone();
            roles.sort();
            let role = roles
                .last()
                .map(|r| super::views::snake(*r))
                .unwrap_or_default();
            Ok((
                StatusCode::CREATED,
                Json(SignInResponse {
                    token: session.token,
                    role,
                    roles: roles.into_iter().map(super::views::snake).collect(),
                    must_change_password: session.must_change_password,
                    expires_at: super::views::time(state.config.get().tz, session.expires_ms),
                }),
            ))
        }
        Err(e) => {
            // Only accounts of this hall are named in the record (no probing of others' names).
            if state.config.get().staff(&req.account).is_some() {
                let activity = match e {
                    SignInError::Locked { .. } => AccountActivity::Locked,
                    _ => AccountActivity::SignInFailed,
                };
                record(&state, &req.account, &client, activity).await;
            }
            Err(sign_in_error(&e))
        }
    }
}

/// Sign out: this token stops working.
#[utoipa::path(delete, path = "/api/v1/sessions", tag = "sessions",
    responses((status = 204), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn sign_out(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
) -> Result<StatusCode, ApiError> {
    caller.require(Need::Person)?;
    let token = super::auth::bearer(&headers).ok_or_else(ApiError::unauthorized)?;
    state.accounts.sign_out(token);
    if let Some(account) = caller.account() {
        record(&state, account, &caller.client, AccountActivity::SignedOut).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub old_password: String,
    pub new_password: String,
}

/// Change your own password (required at first sign-in); other sessions of the account end.
#[utoipa::path(post, path = "/api/v1/sessions/password", tag = "sessions", request_body = ChangePasswordRequest,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    caller.require(Need::Person)?;
    let Principal::Person {
        account, session, ..
    } = &caller.principal
    else {
        return Err(ApiError::forbidden());
    };
    let (account, session) = (account.clone(), session.clone());
    let accounts = state.accounts.clone();
    let now = SystemClock.now_ms();
    let who = account.clone();
    // The caller stays signed in; the account's other sessions end.
    tokio::task::spawn_blocking(move || {
        accounts.change_password_keeping(
            &who,
            &req.old_password,
            &req.new_password,
            Some(&session),
            now,
        )
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| password_error(&e))?;
    record(
        &state,
        &account,
        &caller.client,
        AccountActivity::PasswordChanged,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    pub new_password: String,
}

/// Set a new password for an account (admin); its owner must change it at the next sign-in.
#[utoipa::path(post, path = "/api/v1/accounts/{account}/password", tag = "sessions", request_body = ResetPasswordRequest,
    params(("account" = String, Path, description = "account id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn reset_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(account): ApiPath<String>,
    ApiJson(req): ApiJson<ResetPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    caller.require(Need::Admin)?;
    if state.config.get().staff(&account).is_none() {
        return Err(ApiError::not_found("该账号", "account"));
    }
    let accounts = state.accounts.clone();
    let now = SystemClock.now_ms();
    let who = account.clone();
    tokio::task::spawn_blocking(move || accounts.set_password(&who, &req.new_password, now))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| password_error(&e))?;
    record(
        &state,
        &account,
        &caller.client,
        AccountActivity::PasswordReset,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
