//! The authorization matrix: every route of the router × every kind of
//! caller gets exactly the status the table below says, and a refused
//! request changes nothing (the journal's last seq and the hall's windows
//! and tickets are the same before and after).
//!
//! The table is derived from `Caller::require(Need)` in src/api/auth.rs and
//! the issue's rules: staff act only at the window they are signed in at
//! (the core refuses everyone else with `not_signed_in`); a supervisor reads
//! everything and changes nothing; a kiosk key can only issue tickets; a
//! display key can only read (the live hall, windows and the event stream,
//! not the record of personal data); a person who must change the password
//! can do nothing else (but sign out).
//!
//! Before each cell the hall is brought to the route's precondition (e.g. a
//! called ticket at window 1 for `recall`), so an allowed caller succeeds.

mod common;

use std::collections::BTreeSet;

use common::*;
use hallq::queue::{Actor, Command, IssueSource, Outcome, PauseReason, TicketId, TicketStatus};
use serde_json::{Value, json};

/// The callers, in the table's column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum P {
    /// No Authorization header.
    None,
    /// A bearer token nobody issued.
    Garbage,
    /// A session past its expiry.
    Expired,
    /// A session ended with DELETE /api/v1/sessions.
    SignedOut,
    Kiosk,
    Display,
    /// w01, signed in at window 1 (the window acted on).
    StaffHere,
    /// w02, signed in at window 2.
    StaffOther,
    /// w03 (staff + window_head), signed in at window 3.
    Head,
    Manager,
    Supervisor,
    Admin,
    /// w28 after an admin reset: must change the password first.
    MustChange,
}

const CALLERS: [P; 13] = [
    P::None,
    P::Garbage,
    P::Expired,
    P::SignedOut,
    P::Kiosk,
    P::Display,
    P::StaffHere,
    P::StaffOther,
    P::Head,
    P::Manager,
    P::Supervisor,
    P::Admin,
    P::MustChange,
];

/// The expected answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum X {
    /// Allowed: this 2xx status.
    Ok(u16),
    /// 401 unauthorized.
    U,
    /// 403 forbidden (the role may not).
    F,
    /// 403 not_signed_in (the role may, but not at this window).
    N,
    /// 403 password_change_required.
    M,
    /// Another refusal, with its code.
    E(u16, &'static str),
}

use X::{F, M, N, U};
const OK: X = X::Ok(200);
const C201: X = X::Ok(201);
const C204: X = X::Ok(204);
const ELSEWHERE: X = X::E(409, "already_signed_in_elsewhere");
const WEAK: X = X::E(422, "password_too_weak");
/// Allowed, but the test server runs no device simulator.
const NS: X = X::E(404, "no_simulator");

/// What the hall must look like before the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    Nothing,
    SessionOpen,
    SessionClosed,
    /// w01 at window 1, nothing in progress, not paused.
    Idle,
    /// Window 1 unstaffed; w01 and the manager signed in nowhere.
    Unstaffed,
    /// Idle, and a tax ticket waiting (window 1 serves tax).
    Waiting,
    Called,
    Serving,
    /// Idle, with a ticket parked at window 1.
    Parked,
    Paused,
    Window11Open,
    Window11Closed,
}

struct Ctx {
    /// A waiting tax ticket's number (for `call`).
    waiting: String,
    /// A ticket parked at window 1 (for `unpark`).
    parked: String,
    /// Some ticket's id (for the public GET).
    ticket_id: u64,
    /// That ticket's phone-link key (`?k=`).
    k: String,
    day: String,
}

struct Route {
    method: &'static str,
    /// `{id}`, `{k}` and `{day}` are filled from the context, `{window}` is 1.
    path: &'static str,
    setup: Setup,
    body: fn(&Ctx) -> Option<Value>,
    expect: [X; 13],
}

fn no_body(_: &Ctx) -> Option<Value> {
    None
}

/// The matrix.
#[rustfmt::skip]
fn table() -> Vec<Route> {
    let r = |method, path, setup, body, expect| Route { method, path, setup, body, expect };
    vec![
        //                                                                       none garb exp  out  kiosk disp here  other head  mgr  sup  admin chg
        r("GET", "/healthz", Setup::Nothing, no_body,                           [OK,  OK,  OK,  OK,  OK,   OK,  OK,   OK,   OK,   OK,  OK,  OK,   OK]),
        r("GET", "/openapi.json", Setup::Nothing, no_body,                      [OK,  OK,  OK,  OK,  OK,   OK,  OK,   OK,   OK,   OK,  OK,  OK,   OK]),
        // Prometheus metrics: managers, admins and `metrics` keys (tests/api_metrics.rs checks the key).
        r("GET", "/metrics", Setup::Nothing, no_body,                           [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  F,   OK,   M]),
        r("GET", "/api/v1/tickets/{id}", Setup::Nothing, no_body,               [OK,  OK,  OK,  OK,  OK,   OK,  OK,   OK,   OK,   OK,  OK,  OK,   OK]),
        r("GET", "/api/v1/public/tickets/{id}?k={k}", Setup::Nothing, no_body,  [OK,  OK,  OK,  OK,  OK,   OK,  OK,   OK,   OK,   OK,  OK,  OK,   OK]),
        r("GET", "/api/v1/public/tickets/{id}/events?k={k}", Setup::Nothing, no_body,
                                                                                [OK,  OK,  OK,  OK,  OK,   OK,  OK,   OK,   OK,   OK,  OK,  OK,   OK]),
        r("GET", "/api/v1/public/tickets/{id}/qr.svg?k={k}", Setup::Nothing, no_body,
                                                                                [OK,  OK,  OK,  OK,  OK,   OK,  OK,   OK,   OK,   OK,  OK,  OK,   OK]),
        r("GET", "/api/v1/tickets/{id}/escpos", Setup::Nothing, no_body,        [U,   U,   U,   U,   OK,   F,   OK,   OK,   OK,   OK,  F,   F,    M]),
        r("GET", "/api/v1/announcements/audio?ticket=K001&window=1", Setup::Nothing, no_body,
                                                                                [U,   U,   U,   U,   F,    OK,  F,    F,    OK,   OK,  OK,  OK,   M]),
        r("GET", "/api/v1/sim/devices", Setup::Nothing, no_body,                [U,   U,   U,   U,   F,    NS,  F,    F,    NS,   NS,  NS,  NS,   M]),
        r("GET", "/api/v1/sim/events", Setup::Nothing, no_body,                 [U,   U,   U,   U,   F,    NS,  F,    F,    NS,   NS,  NS,  NS,   M]),
        r("POST", "/api/v1/sim/keypads/{window}", Setup::Nothing, |_| Some(json!({"key": "call_next"})),
                                                                                [U,   U,   U,   U,   F,    NS,  F,    F,    NS,   NS,  NS,  NS,   M]),
        r("POST", "/api/v1/sim/evaluators/{window}", Setup::Nothing, |_| Some(json!({"rating": 1})),
                                                                                [U,   U,   U,   U,   F,    NS,  F,    F,    NS,   NS,  NS,  NS,   M]),
        r("GET", "/api/v1/hall", Setup::Nothing, no_body,                       [U,   U,   U,   U,   F,    OK,  F,    F,    OK,   OK,  OK,  OK,   M]),
        r("GET", "/api/v1/alerts", Setup::Nothing, no_body,                     [U,   U,   U,   U,   F,    OK,  F,    F,    OK,   OK,  OK,  OK,   M]),
        r("GET", "/api/v1/windows/1", Setup::Nothing, no_body,                  [U,   U,   U,   U,   F,    OK,  OK,   OK,   OK,   OK,  OK,  OK,   M]),
        r("GET", "/api/v1/journal", Setup::Nothing, no_body,                    [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  OK,  OK,   M]),
        r("GET", "/api/v1/tickets?day={day}", Setup::Nothing, no_body,          [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  OK,  OK,   M]),
        r("GET", "/api/v1/events", Setup::Nothing, no_body,                     [U,   U,   U,   U,   OK,   OK,  OK,   OK,   OK,   OK,  OK,  OK,   M]),
        r("GET", "/api/v1/windows", Setup::Nothing, no_body,                    [U,   U,   U,   U,   F,    OK,  OK,   OK,   OK,   OK,  OK,  OK,   M]),
        r("GET", "/api/v1/services", Setup::Nothing, no_body,                   [U,   U,   U,   U,   OK,   OK,  OK,   OK,   OK,   OK,  OK,  OK,   M]),
        r("GET", "/api/v1/hall/today", Setup::Nothing, no_body,                 [U,   U,   U,   U,   F,    OK,  F,    F,    OK,   OK,  OK,  OK,   M]),
        // Statistics name every staff member's figures: the record's readers only; rankings are public honours.
        r("GET", "/api/v1/stats?period=day", Setup::Nothing, no_body,           [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  OK,  OK,   M]),
        r("GET", "/api/v1/stats/rankings", Setup::Nothing, no_body,             [U,   U,   U,   U,   F,    OK,  F,    F,    OK,   OK,  OK,  OK,   M]),
        r("GET", "/api/v1/stats/report.xlsx?period=month", Setup::Nothing, no_body,
                                                                                [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  OK,  OK,   M]),
        r("GET", "/api/v1/stats/services.csv", Setup::Nothing, no_body,         [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  OK,  OK,   M]),
        r("GET", "/api/v1/evaluations?format=csv", Setup::Nothing, no_body,     [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  OK,  OK,   M]),
        r("GET", "/api/v1/evaluations/followups", Setup::Nothing, no_body,      [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  OK,  OK,   M]),
        r("GET", "/api/v1/evaluations/outbox", Setup::Nothing, no_body,         [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  OK,  OK,   M]),
        r("GET", "/static/common/hallq.js", Setup::Nothing, no_body,            [OK,  OK,  OK,  OK,  OK,   OK,  OK,   OK,   OK,   OK,  OK,  OK,   OK]),
        // The in-process test hall has no devices, so no evaluator to light.
        r("POST", "/api/v1/windows/1/request-evaluation", Setup::Idle, no_body, [U,   U,   U,   U,   F,    F,   X::E(409, "no_evaluator"), N, N, N, F, F, M]),
        r("POST", "/api/v1/tickets", Setup::SessionOpen, |_| Some(json!({"service": "tax"})),
                                                                                [U,   U,   U,   U,   C201, F,   C201, C201, C201, C201, F,  F,    M]),
        r("POST", "/api/v1/windows/1/sign-out", Setup::Idle, no_body,           [U,   U,   U,   U,   F,    F,   OK,   N,    N,    N,   F,   F,    M]),
        r("POST", "/api/v1/windows/1/sign-in", Setup::Unstaffed, no_body,       [U,   U,   U,   U,   F,    F,   OK,   ELSEWHERE, ELSEWHERE, OK, F, F, M]),
        r("POST", "/api/v1/windows/1/call-next", Setup::Waiting, no_body,       [U,   U,   U,   U,   F,    F,   OK,   N,    N,    N,   F,   F,    M]),
        r("POST", "/api/v1/windows/1/call", Setup::Waiting, |c| Some(json!({"ticket": c.waiting, "reason": "授权矩阵"})),
                                                                                [U,   U,   U,   U,   F,    F,   OK,   N,    N,    N,   F,   F,    M]),
        r("POST", "/api/v1/windows/1/recall", Setup::Called, no_body,           [U,   U,   U,   U,   F,    F,   OK,   N,    N,    N,   F,   F,    M]),
        r("POST", "/api/v1/windows/1/start", Setup::Called, no_body,            [U,   U,   U,   U,   F,    F,   OK,   N,    N,    N,   F,   F,    M]),
        r("POST", "/api/v1/windows/1/finish", Setup::Serving, |_| Some(json!({"outcome": "incomplete"})),
                                                                                [U,   U,   U,   U,   F,    F,   OK,   N,    N,    N,   F,   F,    M]),
        r("POST", "/api/v1/windows/1/no-show", Setup::Called, no_body,          [U,   U,   U,   U,   F,    F,   OK,   N,    N,    N,   F,   F,    M]),
        r("POST", "/api/v1/windows/1/park", Setup::Serving, no_body,            [U,   U,   U,   U,   F,    F,   OK,   N,    N,    N,   F,   F,    M]),
        r("POST", "/api/v1/windows/1/unpark", Setup::Parked, |c| Some(json!({"ticket": c.parked})),
                                                                                [U,   U,   U,   U,   F,    F,   OK,   N,    N,    N,   F,   F,    M]),
        r("POST", "/api/v1/windows/1/transfer", Setup::Serving, |_| Some(json!({"service": "invoice"})),
                                                                                [U,   U,   U,   U,   F,    F,   OK,   N,    N,    N,   F,   F,    M]),
        r("POST", "/api/v1/windows/1/pause", Setup::Idle, |_| Some(json!({"reason": "meeting"})),
                                                                                [U,   U,   U,   U,   F,    F,   OK,   N,    N,    N,   F,   F,    M]),
        r("POST", "/api/v1/windows/1/resume", Setup::Paused, no_body,           [U,   U,   U,   U,   F,    F,   OK,   N,    N,    N,   F,   F,    M]),
        r("POST", "/api/v1/windows/11/close", Setup::Window11Open, no_body,     [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  F,   F,    M]),
        r("POST", "/api/v1/windows/11/open", Setup::Window11Closed, no_body,    [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  F,   F,    M]),
        r("PUT", "/api/v1/windows/11/services", Setup::Nothing, |_| Some(json!({"services": [{"service": "fallback", "weight": 50}]})),
                                                                                [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  F,   F,    M]),
        r("POST", "/api/v1/hall/session/close", Setup::SessionOpen, no_body,    [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  F,   F,    M]),
        r("POST", "/api/v1/hall/session/open", Setup::SessionClosed, no_body,   [U,   U,   U,   U,   F,    F,   F,    F,    F,    OK,  F,   F,    M]),
        r("POST", "/api/v1/accounts/w29/password", Setup::Nothing, |_| Some(json!({"new_password": "Reset-By-Admin-9"})),
                                                                                [U,   U,   U,   U,   F,    F,   F,    F,    F,    F,   F,   C204, M]),
        // The in-process hall has no configuration file to re-read (tests/config_reload.rs applies one).
        r("POST", "/api/v1/config/reload", Setup::Nothing, no_body,             [U,   U,   U,   U,   F,    F,   F,    F,    F,    F,   F,   X::E(409, "config_reload_refused"), M]),
        r("POST", "/api/v1/sessions/password", Setup::Nothing, |_| Some(json!({"old_password": "whatever", "new_password": "short"})),
                                                                                [U,   U,   U,   U,   F,    F,   WEAK, WEAK, WEAK, WEAK, WEAK, WEAK, WEAK]),
        r("POST", "/api/v1/sessions", Setup::Nothing, |_| Some(json!({"account": "w27", "password": "demo"})),
                                                                                [C201, C201, C201, C201, C201, C201, C201, C201, C201, C201, C201, C201, C201]),
        // Last: it ends every person's session.
        r("DELETE", "/api/v1/sessions", Setup::Nothing, no_body,                [U,   U,   U,   U,   F,    F,   C204, C204, C204, C204, C204, C204, C204]),
    ]
}

fn w01() -> Actor {
    Actor::Staff("w01".into())
}

fn mgr() -> Actor {
    Actor::Manager("manager".into())
}

/// (staff, current ticket status, paused, parked numbers) of a window.
async fn window(
    s: &TestServer,
    n: u32,
) -> (
    Option<String>,
    Option<TicketStatus>,
    bool,
    Vec<String>,
    bool,
) {
    s.query(move |h| {
        let w = h.window(n).expect("window");
        let current = w.current.and_then(|t| h.ticket(t)).map(|t| t.status);
        let parked = w
            .parked
            .iter()
            .filter_map(|t| h.ticket(*t))
            .map(|t| t.number.to_string())
            .collect();
        (w.staff.clone(), current, w.paused.is_some(), parked, w.open)
    })
    .await
}

async fn ok(s: &TestServer, actor: Actor, command: Command) {
    let what = format!("{command:?}");
    s.submit(actor, command)
        .await
        .unwrap_or_else(|e| panic!("setup {what}: {e}"));
}

async fn ensure_session_open(s: &TestServer) {
    if !s.query(|h| h.state().session.is_some()).await {
        ok(s, mgr(), Command::OpenSession { slot: None }).await;
    }
}

/// Signs out whoever is at a window (finishing what is in progress first).
async fn vacate(s: &TestServer, n: u32) {
    let (staff, current, paused, _, _) = window(s, n).await;
    let Some(staff) = staff else { return };
    let me = Actor::Staff(staff);
    if paused {
        ok(s, me.clone(), Command::Resume { window: n }).await;
    }
    finish_current(s, n, me, current).await;
    ok(s, Actor::System, Command::SignOut { window: n }).await;
}

async fn finish_current(s: &TestServer, n: u32, me: Actor, current: Option<TicketStatus>) {
    match current {
        Some(TicketStatus::Called) => {
            ok(s, me.clone(), Command::Start { window: n }).await;
            ok(
                s,
                me,
                Command::Finish {
                    window: n,
                    outcome: Outcome::Incomplete,
                    reason: None,
                },
            )
            .await;
        }
        Some(TicketStatus::Serving) => {
            ok(
                s,
                me,
                Command::Finish {
                    window: n,
                    outcome: Outcome::Incomplete,
                    reason: None,
                },
            )
            .await;
        }
        _ => {}
    }
}

/// w01 at window 1, nothing in progress, not paused.
async fn ensure_idle(s: &TestServer) {
    let (staff, current, paused, _, _) = window(s, 1).await;
    if staff.as_deref() != Some("w01") {
        vacate(s, 1).await;
        ok(s, w01(), Command::SignIn { window: 1 }).await;
        return;
    }
    if paused {
        ok(s, w01(), Command::Resume { window: 1 }).await;
    }
    finish_current(s, 1, w01(), current).await;
}

/// A waiting tax ticket's number.
async fn ensure_waiting(s: &TestServer) -> String {
    ensure_session_open(s).await;
    let find = || {
        s.query(|h| {
            h.tickets()
                .filter(|t| {
                    t.service == "tax"
                        && t.status == TicketStatus::Waiting
                        && t.directed_to.is_none()
                })
                .min_by_key(|t| t.id)
                .map(|t| t.number.to_string())
        })
    };
    if let Some(n) = find().await {
        return n;
    }
    let issue = Command::Issue {
        service: "tax".into(),
        priority: None,
        person: None,
        source: IssueSource::Kiosk,
        cases: 1,
    };
    ok(s, Actor::Kiosk("setup".into()), issue).await;
    find().await.expect("a waiting tax ticket")
}

async fn prepare(s: &TestServer, setup: Setup, ctx: &mut Ctx) {
    match setup {
        Setup::Nothing => {}
        Setup::SessionOpen => ensure_session_open(s).await,
        Setup::SessionClosed => {
            if s.query(|h| h.state().session.is_some()).await {
                ok(s, mgr(), Command::CloseSession).await;
            }
        }
        Setup::Idle => ensure_idle(s).await,
        Setup::Unstaffed => {
            vacate(s, 1).await;
            if let Some(n) = s.query(|h| h.window_of_staff("manager")).await {
                vacate(s, n).await;
            }
        }
        Setup::Waiting => {
            ensure_idle(s).await;
            ctx.waiting = ensure_waiting(s).await;
        }
        Setup::Called | Setup::Serving => {
            let (staff, current, _, _, _) = window(s, 1).await;
            let have = match (setup, current) {
                (Setup::Called, Some(TicketStatus::Called))
                | (Setup::Serving, Some(TicketStatus::Serving)) => true,
                (Setup::Serving, Some(TicketStatus::Called)) => {
                    ok(s, w01(), Command::Start { window: 1 }).await;
                    true
                }
                _ => false,
            };
            if have && staff.as_deref() == Some("w01") {
                return;
            }
            ensure_idle(s).await;
            ensure_waiting(s).await;
            ok(s, w01(), Command::CallNext { window: 1 }).await;
            if setup == Setup::Serving {
                ok(s, w01(), Command::Start { window: 1 }).await;
            }
        }
        Setup::Parked => {
            ensure_idle(s).await;
            let (_, _, _, parked, _) = window(s, 1).await;
            if let Some(p) = parked.first() {
                ctx.parked = p.clone();
                return;
            }
            ensure_waiting(s).await;
            ok(s, w01(), Command::CallNext { window: 1 }).await;
            ok(s, w01(), Command::Park { window: 1 }).await;
            let (_, _, _, parked, _) = window(s, 1).await;
            ctx.parked = parked.first().expect("parked").clone();
        }
        Setup::Paused => {
            let (staff, _, paused, _, _) = window(s, 1).await;
            if staff.as_deref() == Some("w01") && paused {
                return;
            }
            ensure_idle(s).await;
            ok(
                s,
                w01(),
                Command::Pause {
                    window: 1,
                    reason: PauseReason::Lunch,
                },
            )
            .await;
        }
        Setup::Window11Open => {
            if !window(s, 11).await.4 {
                ok(s, mgr(), Command::OpenWindow { window: 11 }).await;
            }
        }
        Setup::Window11Closed => {
            if window(s, 11).await.4 {
                ok(s, mgr(), Command::CloseWindow { window: 11 }).await;
            }
        }
    }
}

/// Everything a refused request must leave alone: windows, tickets, session.
async fn fingerprint(s: &TestServer) -> String {
    s.query(|h| {
        let windows: Vec<_> = h.windows().cloned().collect();
        let mut tickets: Vec<_> = h.tickets().map(std::borrow::Cow::into_owned).collect();
        tickets.sort_by_key(|t| t.id);
        serde_json::to_string(&(windows, tickets, h.state().session.is_some())).expect("json")
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_times_every_caller() {
    let s = start_demo().await;

    // The table covers every route of the router, and nothing else.
    let table = table();
    let covered: BTreeSet<(String, String)> = table
        .iter()
        .map(|r| {
            let path = r
                .path
                .split('?')
                .next()
                .unwrap_or_default()
                .replace("/1/", "/{n}/")
                .replace("/11/", "/{n}/")
                .replace("/w29/", "/{account}/");
            let path = if path.starts_with("/static/") {
                "/static/{*path}".to_string()
            } else if path == "/api/v1/windows/1" {
                "/api/v1/windows/{n}".to_string()
            } else if path.starts_with("/api/v1/stats/") && path != "/api/v1/stats/rankings" {
                "/api/v1/stats/{file}".to_string()
            } else {
                path
            };
            (path, r.method.to_ascii_lowercase())
        })
        .collect();
    assert_eq!(
        covered,
        router_routes(),
        "the matrix must list every route of src/api/mod.rs"
    );

    // The callers.
    let mut tokens: Vec<Option<String>> = Vec::new();
    let staff_here = s.token("w01");
    let staff_other = s.token("w02");
    let head = s.token("w03");
    ok(&s, w01(), Command::SignIn { window: 1 }).await;
    ok(
        &s,
        Actor::Staff("w02".into()),
        Command::SignIn { window: 2 },
    )
    .await;
    ok(
        &s,
        Actor::Staff("w03".into()),
        Command::SignIn { window: 3 },
    )
    .await;
    let signed_out = s.token("w13");
    let r = s
        .send(Req::new("DELETE", "/api/v1/sessions").auth(Some(&signed_out)))
        .await;
    assert_eq!(r.status, 204);
    s.accounts
        .set_password(
            "w28",
            "Temp-Reset-4711",
            hallq::daemon::clock::Clock::now_ms(&hallq::daemon::clock::SystemClock),
        )
        .expect("reset");
    let must_change = s
        .post(
            "/api/v1/sessions",
            None,
            json!({"account": "w28", "password": "Temp-Reset-4711"}),
        )
        .await;
    assert_eq!(must_change.json()["must_change_password"], true);
    let must_change = must_change.json()["token"].as_str().unwrap().to_string();
    for p in CALLERS {
        tokens.push(match p {
            P::None => None,
            P::Garbage => Some("bm90LWEtcmVhbC10b2tlbi1ub3QtYS1yZWFsLXRva2Vu".to_string()),
            P::Expired => Some(s.expired_token("w10")),
            P::SignedOut => Some(signed_out.clone()),
            P::Kiosk => Some(KIOSK.to_string()),
            P::Display => Some(DISPLAY.to_string()),
            P::StaffHere => Some(staff_here.clone()),
            P::StaffOther => Some(staff_other.clone()),
            P::Head => Some(head.clone()),
            P::Manager => Some(s.token("manager")),
            P::Supervisor => Some(s.token("supervisor")),
            P::Admin => Some(s.token("admin")),
            P::MustChange => Some(must_change.clone()),
        });
    }

    let ticket_id = s.issue("hukou").await["id"].as_u64().unwrap();
    let ticket = s
        .query(move |h| {
            h.ticket(TicketId(ticket_id))
                .map(std::borrow::Cow::into_owned)
        })
        .await
        .expect("the ticket");
    let mut ctx = Ctx {
        waiting: String::new(),
        parked: String::new(),
        ticket_id,
        k: hallq::api::public::status_mac(&[7u8; 32], &ticket),
        day: s.day().await,
    };
    let mut failures = Vec::new();
    for route in &table {
        for (i, p) in CALLERS.iter().enumerate() {
            prepare(&s, route.setup, &mut ctx).await;
            let path = route
                .path
                .replace("{id}", &ctx.ticket_id.to_string())
                .replace("{k}", &ctx.k)
                .replace("{window}", "1")
                .replace("{day}", &ctx.day);
            let token = tokens[i].as_deref();
            let expect = route.expect[i];
            let (seq0, fp0) = (s.seq().await, fingerprint(&s).await);
            let stream = path
                .split('?')
                .next()
                .unwrap_or_default()
                .ends_with("/events");
            let (status, code) = if stream {
                let req = Req::new("GET", &path)
                    .auth(token)
                    .header("Accept", "text/event-stream");
                let st = SseStream::open_req(s.addr, req).await;
                let code = if st.status == 200 {
                    assert!(
                        st.header("content-type")
                            .is_some_and(|c| c.starts_with("text/event-stream"))
                    );
                    String::new()
                } else {
                    Resp {
                        status: st.status,
                        headers: st.headers.clone(),
                        body: st.body.clone(),
                    }
                    .error_code()
                };
                (st.status, code)
            } else {
                let mut req = Req::new(route.method, &path).auth(token);
                if let Some(b) = (route.body)(&ctx) {
                    req = req.json(&b);
                }
                let r = s.send(req).await;
                let code = if r.status >= 400 {
                    r.error_code()
                } else {
                    String::new()
                };
                (r.status, code)
            };
            let (want_status, want_code) = match expect {
                X::Ok(st) => (st, ""),
                X::U => (401, "unauthorized"),
                X::F => (403, "forbidden"),
                X::N => (403, "not_signed_in"),
                X::M => (403, "password_change_required"),
                X::E(st, c) => (st, c),
            };
            if status != want_status || code != want_code {
                failures.push(format!(
                    "{} {path} as {p:?}: want {want_status} {want_code}, got {status} {code}",
                    route.method
                ));
                continue;
            }
            let (seq1, fp1) = (s.seq().await, fingerprint(&s).await);
            let mutating = route.method != "GET";
            match expect {
                X::Ok(_)
                    if mutating
                        && !path.starts_with("/api/v1/sessions")
                        && !path.starts_with("/api/v1/accounts") =>
                {
                    if seq1 <= seq0 {
                        failures.push(format!(
                            "{} {path} as {p:?}: allowed but nothing was journaled",
                            route.method
                        ));
                    }
                }
                X::Ok(_) if mutating => {}
                _ => {
                    if seq1 != seq0 || fp1 != fp0 {
                        failures.push(format!(
                            "{} {path} as {p:?}: {} changed something (seq {seq0} → {seq1}, hall changed: {})",
                            route.method,
                            if matches!(expect, X::Ok(_)) { "a read" } else { "a refused request" },
                            fp0 != fp1
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells differ from the table:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // The admin's reset took effect (w29 must change at next sign-in), and
    // every person's token is gone after the last route.
    let r = s
        .post(
            "/api/v1/sessions",
            None,
            json!({"account": "w29", "password": "Reset-By-Admin-9"}),
        )
        .await;
    assert_eq!(r.json()["must_change_password"], true);
    for (i, p) in CALLERS.iter().enumerate() {
        if matches!(
            p,
            P::StaffHere | P::Manager | P::Supervisor | P::Admin | P::MustChange
        ) {
            let r = s.get("/api/v1/windows/1", tokens[i].as_deref()).await;
            assert_eq!(r.status, 401, "{p:?} signed out");
        }
    }
}

/// A refused sign-in at another window, a supervisor's attempt to act, and
/// a display's attempt to issue leave the record exactly as it was,
/// including its hash chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_leave_the_journal_untouched() {
    let s = start_demo().await;
    let w01 = s.token("w01");
    let sup = s.token("supervisor");
    s.act(1, "sign-in", &w01, None).await;
    s.issue("tax").await;
    let before = s.journal_rows(&sup, 0).await;
    s.post_empty("/api/v1/windows/2/sign-in", Some(&w01))
        .await
        .assert_error(409, "already_signed_in_elsewhere");
    s.post_empty("/api/v1/windows/2/call-next", Some(&w01))
        .await
        .assert_error(403, "not_signed_in");
    s.post_empty("/api/v1/windows/1/call-next", Some(&sup))
        .await
        .assert_error(403, "forbidden");
    s.post_empty("/api/v1/hall/session/close", Some(&sup))
        .await
        .assert_error(403, "forbidden");
    s.post("/api/v1/tickets", Some(DISPLAY), json!({"service": "tax"}))
        .await
        .assert_error(403, "forbidden");
    s.post("/api/v1/tickets", Some(&sup), json!({"service": "tax"}))
        .await
        .assert_error(403, "forbidden");
    s.post_empty("/api/v1/windows/1/call-next", Some(KIOSK))
        .await
        .assert_error(403, "forbidden");
    let after = s.journal_rows(&sup, 0).await;
    assert_eq!(before, after);
    // A person's token is not a key, and a key is not a session: the
    // scheme must be Bearer.
    let r = s
        .send(Req::new("GET", "/api/v1/hall").header("Authorization", &format!("Basic {sup}")))
        .await;
    r.assert_error(401, "unauthorized");
    let r = s
        .send(Req::new("GET", "/api/v1/hall").header("Authorization", &format!("bearer {sup}")))
        .await;
    assert_eq!(r.status, 200, "the scheme is case-insensitive");
}
