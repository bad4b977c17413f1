//! Who is calling, and may they. Bearer tokens of signed-in people, or the
//! API keys of kiosks and screens; roles decide every route.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::accounts::Principal;
use crate::config::{ApiKeyRole, Role};
use crate::daemon::clock::{Clock, SystemClock};
use crate::queue::Actor;

/// An authenticated caller and where the request came from.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The peer address, recorded with every change in the journal.
    pub client: String,
}

/// The peer's address (also for public routes).
pub fn client_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string())
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let token = bearer(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        if token.len() > 512 {
            return Err(ApiError::unauthorized());
        }
        let now = SystemClock.now_ms();
        let principal = state
            .accounts
            .authenticate(token, now)
            .or_else(|| state.accounts.authenticate_key(token))
            .ok_or_else(ApiError::unauthorized)?;
        Ok(Caller {
            principal,
            client: client_of(parts),
        })
    }
}

/// What a route needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any signed-in person, even one who must still change the password.
    Person,
    /// Staff acting at a window (staff, window head, manager); the core then
    /// checks they are signed in at that very window.
    WindowStaff,
    /// Issue tickets: kiosks, window staff, managers.
    Issue,
    Manager,
    /// Read the whole hall: managers, supervisors, admins, display screens.
    ReadHall,
    /// Read a window: the above and window staff.
    ReadWindow,
    /// Read the journal and every ticket's history: managers, supervisors, admins.
    ReadRecord,
    Admin,
    /// Scrape `GET /metrics`: managers, admins, `metrics` keys.
    Metrics,
}

fn has(roles: &[Role], wanted: &[Role]) -> bool {
    roles.iter().any(|r| wanted.contains(r))
}

impl Caller {
    /// Checks the route's need; a person who must change the password may
    /// do nothing else (except `Need::Person` routes).
    pub fn require(&self, need: Need) -> Result<(), ApiError> {
        use Role::*;
        let ok = match (&self.principal, need) {
            (
                Principal::Person {
                    must_change_password: true,
                    ..
                },
                n,
            ) if n != Need::Person => {
                return Err(ApiError::password_change_required());
            }
            (Principal::Person { .. }, Need::Person) => true,
            (Principal::Person { roles, .. }, Need::WindowStaff) => {
                has(roles, &[Staff, WindowHead, Manager])
            }
            (Principal::Person { roles, .. }, Need::Issue) => {
                has(roles, &[Staff, WindowHead, Manager])
            }
            (Principal::Person { roles, .. }, Need::Manager) => has(roles, &[Manager]),
            (Principal::Person { roles, .. }, Need::ReadHall) => {
                has(roles, &[Manager, Supervisor, Admin, WindowHead])
            }
            (Principal::Person { roles, .. }, Need::ReadWindow) => {
                has(roles, &[Staff, WindowHead, Manager, Supervisor, Admin])
            }
            (Principal::Person { roles, .. }, Need::ReadRecord) => {
                has(roles, &[Manager, Supervisor, Admin])
            }
            (Principal::Person { roles, .. }, Need::Admin) => has(roles, &[Admin]),
            (Principal::Person { roles, .. }, Need::Metrics) => has(roles, &[Manager, Admin]),
            (
                Principal::Machine {
                    role: ApiKeyRole::Metrics,
                    ..
                },
                Need::Metrics,
            ) => true,
            (
                Principal::Machine {
                    role: ApiKeyRole::Kiosk,
                    ..
                },
                Need::Issue,
            ) => true,
            (
                Principal::Machine {
                    role: ApiKeyRole::Display,
                    ..
                },
                Need::ReadHall | Need::ReadWindow,
            ) => true,
            (Principal::Machine { .. }, _) => false,
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// The actor the core sees for a command of this caller.
    pub fn actor(&self, need: Need) -> Actor {
        match (&self.principal, need) {
            (Principal::Machine { key_id, .. }, _) => Actor::Kiosk(key_id.clone()),
            (Principal::Person { account, .. }, Need::Manager) => Actor::Manager(account.clone()),
            (Principal::Person { account, .. }, _) => Actor::Staff(account.clone()),
        }
    }

    pub fn account(&self) -> Option<&str> {
        match &self.principal {
            Principal::Person { account, .. } => Some(account),
            Principal::Machine { .. } => None,
        }
    }

    /// Whether this caller may see personal hashes and the full record.
    pub fn is_auditor(&self) -> bool {
        matches!(&self.principal, Principal::Person { roles, .. } if has(roles, &[Role::Supervisor, Role::Admin, Role::Manager]))
    }

    /// The journal's client column: address and role, so every change says who and from where.
    pub fn journal_client(&self) -> String {
        let role = match &self.principal {
            Principal::Machine {
                role: ApiKeyRole::Kiosk,
                ..
            } => "kiosk".to_string(),
            Principal::Machine {
                role: ApiKeyRole::Display,
                ..
            } => "display".to_string(),
            Principal::Machine {
                role: ApiKeyRole::Metrics,
                ..
            } => "metrics".to_string(),
            Principal::Person { roles, .. } => roles
                .iter()
                .map(|r| super::views::snake(*r))
                .collect::<Vec<_>>()
                .join("+"),
        };
        format!("{} {role}", self.client)
    }
}
