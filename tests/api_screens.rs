//! What the web screens read: recent calls, zones and departments in the
//! hall view, the window list, a staff member's day, today's figures, the
//! kiosk's service list with a dry run of issuing, ticket numbers in the
//! event stream, and the pages and their assets.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const S10: Duration = Duration::from_secs(10);

/// The demo hall's window numbers: 1–18 on the ground floor, 21–32 upstairs.
fn demo_windows() -> Vec<u64> {
    (1..=18).chain(21..=32).collect()
}

/// The local hour ("HH") of an RFC 3339 local time such as `2026-11-23T09:30:00+08:00`.
fn hour_of(rfc3339: &str) -> usize {
    rfc3339
        .get(11..13)
        .and_then(|h| h.parse().ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {rfc3339:?}"))
}

fn number(ticket: &Value) -> String {
    ticket["number"].as_str().expect("number").to_string()
}

// ---------------------------------------------------------------------------
// GET /api/v1/hall

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hall_view_lists_recent_calls_newest_first_without_duplicates() {
    let s = start_demo().await;
    let w01 = s.token("w01");
    let w03 = s.token("w03");
    s.act(1, "sign-in", &w01, None).await;
    s.act(3, "sign-in", &w03, None).await;

    let empty = s.get("/api/v1/hall", Some(DISPLAY)).await;
    assert_eq!(empty.status, 200, "{}", empty.text());
    assert_eq!(empty.json()["recent_calls"], json!([]));

    let a = s.issue("tax").await;
    let b = s.issue("tax").await;
    let called_a = s.act(1, "call-next", &w01, None).await;
    assert_eq!(called_a["ticket"]["number"], a["number"]);
    let called_b = s.act(3, "call-next", &w03, None).await;
    assert_eq!(called_b["ticket"]["number"], b["number"]);
    s.act(1, "recall", &w01, None).await;

    let r = s.get("/api/v1/hall", Some(DISPLAY)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let calls = v["recent_calls"].as_array().expect("recent_calls");
    let brief: Vec<(String, u64, u64)> = calls
        .iter()
        .map(|c| {
            (
                number(c),
                c["window"].as_u64().expect("window"),
                c["recalls"].as_u64().expect("recalls"),
            )
        })
        .collect();
    assert_eq!(
        brief,
        vec![(number(&a), 1, 1), (number(&b), 3, 0)],
        "the recalled ticket is on top, once"
    );
    let top = &calls[0];
    assert_eq!(top["ticket_id"], a["id"]);
    assert_eq!(top["service"], "tax");
    assert_eq!(top["service_name"], "税费申报缴纳");
    assert_eq!(top["service_name_en"], "Tax filing and payment");
    assert_eq!(top["window_name"], "综合受理1号窗");
    assert_eq!(top["window_name_en"], "Comprehensive 1");
    assert_eq!(top["zone"], "f1-general");
    assert_eq!(top["zone_name"], "一楼综合受理区");
    assert_eq!(top["zone_name_en"], "1F Comprehensive Service Area");
    assert_eq!(top["floor"], 1);
    assert!(
        top["at"].as_str().is_some_and(|t| t.ends_with("+08:00")),
        "{top}"
    );
    assert_eq!(calls[1]["window_name"], "综合受理3号窗");

    // Zones and departments, as configured.
    let zones: Vec<&str> = v["zones"]
        .as_array()
        .expect("zones")
        .iter()
        .map(|z| z["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        zones,
        [
            "f1-general",
            "f1-police",
            "f1-convenience",
            "f2-estate",
            "f2-social"
        ]
    );
    assert_eq!(v["zones"][3]["floor"], 2);
    assert_eq!(v["zones"][3]["name"], "二楼不动产登记区");
    let departments = v["departments"].as_array().expect("departments");
    assert_eq!(departments.len(), 15);
    assert_eq!(departments[0]["id"], "hall-office");
    assert_eq!(departments[0]["name_en"], "Hall Management Office");
    // Nobody waits long yet, no window idles for minutes: no alerts.
    assert_eq!(v["alerts"], json!([]));
    // The demo notices: both kinds.
    let kinds: Vec<&str> = v["notices"]
        .as_array()
        .expect("notices")
        .iter()
        .map(|n| n["kind"].as_str().expect("kind"))
        .collect();
    assert!(
        kinds.contains(&"notice") && kinds.contains(&"disclosure"),
        "{kinds:?}"
    );
    // Services carry their department's names, zones and target.
    let tax = v["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|x| x["id"] == "tax")
        .expect("tax")
        .clone();
    assert_eq!(tax["department_name"], "国家税务总局安和县税务局");
    assert_eq!(tax["department_name_en"], "County Taxation Bureau");
    assert_eq!(tax["target_wait_minutes"], 30);
    assert!(
        tax["zones"]
            .as_array()
            .expect("zones")
            .iter()
            .any(|z| z == "f1-general"),
        "{tax}"
    );
    // Window 1 shows its zone by name.
    let w1 = &v["windows"][0];
    assert_eq!(w1["number"], 1);
    assert_eq!(w1["zone_name"], "一楼综合受理区");
    assert_eq!(w1["department"], "hall-office");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_called_again_after_a_no_show_is_listed_once() {
    let s = start_demo().await;
    let w01 = s.token("w01");
    s.act(1, "sign-in", &w01, None).await;
    let a = s.issue("tax").await;
    s.act(1, "call-next", &w01, None).await;
    s.act(1, "no-show", &w01, None).await;
    // Requeued (behind nobody), called again.
    let again = s.act(1, "call-next", &w01, None).await;
    assert_eq!(again["ticket"]["number"], a["number"]);
    let v = s.get("/api/v1/hall", Some(DISPLAY)).await.json();
    let calls = v["recent_calls"].as_array().expect("recent_calls");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["number"], a["number"]);
    assert_eq!(calls[0]["recalls"], 0);
}

// ---------------------------------------------------------------------------
// GET /api/v1/windows, staff_today

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_list_has_every_window_with_its_zone() {
    let s = start_demo().await;
    let w01 = s.token("w01");
    s.act(1, "sign-in", &w01, None).await;
    for token in [DISPLAY.to_string(), w01.clone(), s.token("supervisor")] {
        let r = s.get("/api/v1/windows", Some(&token)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        let windows = v["windows"].as_array().expect("windows");
        assert_eq!(windows.len(), 30);
        let numbers: Vec<u64> = windows
            .iter()
            .map(|w| w["number"].as_u64().expect("number"))
            .collect();
        assert_eq!(numbers, demo_windows(), "in number order");
        for w in windows {
            assert!(
                w["zone_name"].as_str().is_some_and(|z| !z.is_empty()),
                "{w}"
            );
            assert!(
                w["zone_name_en"].as_str().is_some_and(|z| !z.is_empty()),
                "{w}"
            );
        }
        assert_eq!(windows[0]["state"], "idle");
        assert_eq!(windows[0]["staff"]["account"], "w01");
        assert_eq!(windows[1]["state"], "unstaffed");
        // Since when: the sign-in for window 1, in the hall's time; nothing
        // yet for a window nobody has touched (not 1970).
        assert!(
            windows[0]["since"]
                .as_str()
                .is_some_and(|t| t.ends_with("+08:00") && !t.starts_with("1970")),
            "{}",
            windows[0]
        );
        assert!(windows[1]["since"].is_null(), "{}", windows[1]);
        let w12 = windows.iter().find(|w| w["number"] == 12).expect("12");
        assert_eq!(w12["zone"], "f1-police");
        assert_eq!(w12["zone_name"], "一楼公安交警区");
        assert_eq!(w12["department"], "police");
        let w21 = windows.iter().find(|w| w["number"] == 21).expect("21");
        assert_eq!(w21["zone_name_en"], "2F Real Estate Registration Area");
        assert_eq!(w21["floor"], 2);
    }
    // A kiosk issues tickets; it does not read windows.
    s.get("/api/v1/windows", Some(KIOSK))
        .await
        .assert_error(403, "forbidden");
    assert_eq!(s.get("/api/v1/windows", None).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_today_counts_the_signed_in_staff_members_finishes() {
    let s = start_demo().await;
    let w01 = s.token("w01");
    s.act(1, "sign-in", &w01, None).await;

    let before = s.get("/api/v1/windows/1", Some(&w01)).await.json();
    assert_eq!(
        before["staff_today"],
        json!({"account": "w01", "served": 0, "average_service_minutes": null})
    );
    let nobody = s.get("/api/v1/windows/2", Some(&w01)).await.json();
    assert_eq!(nobody["staff_today"], Value::Null, "nobody signed in at 2");

    s.issue("tax").await;
    s.issue("tax").await;
    s.act(1, "call-next", &w01, None).await;
    s.act(1, "start", &w01, None).await;
    s.act(1, "finish", &w01, Some(json!({"outcome": "done"})))
        .await;
    let after = s.get("/api/v1/windows/1", Some(&w01)).await.json();
    let today = &after["staff_today"];
    assert_eq!(today["account"], "w01");
    assert_eq!(today["served"], 1);
    // Started and finished within the test: a mean of (about) no minutes.
    assert_eq!(today["average_service_minutes"], json!(0.0), "{today}");

    // A no-show is not a finish.
    s.act(1, "call-next", &w01, None).await;
    s.act(1, "no-show", &w01, None).await;
    let after = s.get("/api/v1/windows/1", Some(&w01)).await.json();
    assert_eq!(after["staff_today"]["served"], 1);

    // The figures follow the person, not the window.
    s.act(1, "sign-out", &w01, None).await;
    s.act(2, "sign-in", &w01, None).await;
    let moved = s.get("/api/v1/windows/2", Some(&w01)).await.json();
    assert_eq!(moved["staff_today"]["served"], 1);
    assert_eq!(
        s.get("/api/v1/windows/1", Some(&w01)).await.json()["staff_today"],
        Value::Null
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_evaluation_needs_the_staff_signed_in_there_and_an_evaluator() {
    let s = start_demo().await;
    let w01 = s.token("w01");
    let w02 = s.token("w02");
    s.act(1, "sign-in", &w01, None).await;
    // Not signed in at window 1.
    s.post_empty("/api/v1/windows/1/request-evaluation", Some(&w02))
        .await
        .assert_error(403, "not_signed_in");
    s.post_empty("/api/v1/windows/99/request-evaluation", Some(&w01))
        .await
        .assert_error(404, "unknown_window");
    s.post_empty("/api/v1/windows/1/request-evaluation", Some(KIOSK))
        .await
        .assert_error(403, "forbidden");
    // The in-process test server runs without the device layer.
    s.post_empty("/api/v1/windows/1/request-evaluation", Some(&w01))
        .await
        .assert_error(409, "no_evaluator");
}

// ---------------------------------------------------------------------------
// GET /api/v1/hall/today

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn today_counts_arrivals_by_hour_and_the_days_totals() {
    let s = start_demo().await;
    let w01 = s.token("w01");
    s.act(1, "sign-in", &w01, None).await;
    let a = s.issue("tax").await;
    s.issue("medical").await;
    s.act(1, "call-next", &w01, None).await;
    s.act(1, "start", &w01, None).await;
    s.act(1, "finish", &w01, Some(json!({"outcome": "done"})))
        .await;

    let r = s.get("/api/v1/hall/today", Some(&s.token("manager"))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["business_day"], s.day().await);
    assert_eq!(v["issued"], 2);
    assert_eq!(v["served"], 1);
    assert_eq!(v["no_show"], 0);
    assert_eq!(v["waiting"], 1);
    let hours = v["hours"].as_array().expect("hours");
    assert_eq!(hours.len(), 24);
    for (i, h) in hours.iter().enumerate() {
        assert_eq!(h["hour"], i as u64);
    }
    let issued_hour = hour_of(a["issued_at"].as_str().expect("issued_at"));
    let h = &hours[issued_hour];
    assert!(h["arrivals"].as_u64().expect("arrivals") >= 1, "{h}");
    let arrivals: u64 = hours
        .iter()
        .map(|h| h["arrivals"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(arrivals, 2);
    let called: u64 = hours
        .iter()
        .map(|h| h["called"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(called, 1);
    for h in hours {
        if h["called"] == 0 {
            assert_eq!(h["mean_wait_minutes"], Value::Null, "{h}");
            assert_eq!(h["max_wait_minutes"], Value::Null, "{h}");
        } else {
            // Called within the test: about no minutes.
            assert_eq!(h["mean_wait_minutes"], json!(0.0), "{h}");
            assert_eq!(h["max_wait_minutes"], json!(0.0), "{h}");
        }
    }

    // Screens read it too; kiosks and window staff do not.
    assert_eq!(s.get("/api/v1/hall/today", Some(DISPLAY)).await.status, 200);
    s.get("/api/v1/hall/today", Some(KIOSK))
        .await
        .assert_error(403, "forbidden");
    s.get("/api/v1/hall/today", Some(&w01))
        .await
        .assert_error(403, "forbidden");
}

// ---------------------------------------------------------------------------
// GET /api/v1/services

fn service<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no service {id} in {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_sees_whether_each_service_issues_now() {
    let s = start_demo().await;
    let r = s.get("/api/v1/services", Some(KIOSK)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let open = r.json();
    let all = open["services"].as_array().expect("services");
    assert_eq!(all.len(), s.config.services().len());
    for x in all {
        assert_eq!(x["issuing"], true, "{x}");
        assert_eq!(x["refusal"], Value::Null, "{x}");
    }
    let tax = service(&open, "tax");
    assert_eq!(tax["department_name"], "国家税务总局安和县税务局");
    assert_eq!(tax["waiting"], 0);
    assert_eq!(open["departments"].as_array().map(Vec::len), Some(15));
    assert_eq!(open["zones"].as_array().map(Vec::len), Some(5));
    // The dry run issued nothing.
    s.issue("tax").await;
    let again = s.get("/api/v1/services", Some(KIOSK)).await.json();
    assert_eq!(service(&again, "tax")["waiting"], 1);
    assert_eq!(
        s.query(|h| h.state().tally.issued).await,
        1,
        "only the real ticket"
    );

    // The manager closes the session: nothing issues, and the kiosk says why.
    let m = s.token("manager");
    let closed = s.post_empty("/api/v1/hall/session/close", Some(&m)).await;
    assert_eq!(closed.status, 200, "{}", closed.text());
    assert_eq!(closed.json()["session_open"], false);
    let r = s.get("/api/v1/services", Some(KIOSK)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let shut = r.json();
    for x in shut["services"].as_array().expect("services") {
        assert_eq!(x["issuing"], false, "{x}");
        assert_eq!(x["refusal"]["code"], "hall_closed", "{x}");
        assert!(
            x["refusal"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(
            x["refusal"]["message_en"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // The same answer a real request gets.
    s.post("/api/v1/tickets", Some(KIOSK), json!({"service": "tax"}))
        .await
        .assert_error(409, "hall_closed");

    // Reopened: issuing again.
    let reopened = s.post_empty("/api/v1/hall/session/open", Some(&m)).await;
    assert_eq!(reopened.status, 200, "{}", reopened.text());
    let back = s.get("/api/v1/services", Some(KIOSK)).await.json();
    assert_eq!(service(&back, "tax")["issuing"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_at_its_daily_cap_stops_issuing_alone() {
    let mut config = demo_config();
    let tax = config
        .file
        .services
        .iter_mut()
        .find(|x| x.id == "tax")
        .expect("tax");
    tax.daily_cap = Some(1);
    let s = start(config).await;
    s.issue("tax").await;
    let list = s.get("/api/v1/services", Some(KIOSK)).await.json();
    let tax = service(&list, "tax");
    assert_eq!(tax["issuing"], false, "{tax}");
    assert_eq!(tax["refusal"]["code"], "daily_cap_reached", "{tax}");
    assert_eq!(service(&list, "invoice")["issuing"], true);
    s.post("/api/v1/tickets", Some(KIOSK), json!({"service": "tax"}))
        .await
        .assert_error(409, "daily_cap_reached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_are_for_kiosks_staff_and_screens() {
    let s = start_demo().await;
    for token in [KIOSK.to_string(), DISPLAY.to_string(), s.token("w01")] {
        let r = s.get("/api/v1/services", Some(&token)).await;
        assert_eq!(r.status, 200, "{token}: {}", r.text());
    }
    assert_eq!(s.get("/api/v1/services", None).await.status, 401);
}

// ---------------------------------------------------------------------------
// GET /api/v1/events: ticket numbers in the messages

/// The first `kind` event in `got` about ticket `id`.
fn about<'a>(got: &'a [(u64, String, Value)], kind: &str, id: &Value) -> &'a Value {
    &got.iter()
        .find(|(_, k, d)| k == kind && d["event"]["ticket"] == *id)
        .unwrap_or_else(|| panic!("no {kind} of ticket {id} in {got:?}"))
        .2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_events_carry_the_ticket_number_live_and_in_catch_up() {
    let s = start_demo().await;
    let w01 = s.token("w01");
    let mut live = SseStream::open(s.addr, "", Some(DISPLAY), None).await;
    assert_eq!(live.status, 200);
    s.act(1, "sign-in", &w01, None).await;
    let a = s.issue("tax").await;
    s.act(1, "call-next", &w01, None).await;
    s.act(1, "recall", &w01, None).await;
    let end = s.seq().await;
    let want = json!({"id": a["id"], "number": a["number"]});

    let got = live.events_until(end).await;
    for kind in ["ticket_issued", "ticket_called", "ticket_recalled"] {
        assert_eq!(about(&got, kind, &a["id"])["ticket"], want, "live {kind}");
    }
    let signed_in = got
        .iter()
        .find(|(_, k, _)| k == "staff_signed_in")
        .expect("staff_signed_in");
    assert_eq!(signed_in.2["ticket"], Value::Null, "not about a ticket");

    // Catching up from the journal: the same.
    let mut replay = SseStream::open(s.addr, "?after=0", Some(DISPLAY), None).await;
    assert_eq!(replay.status, 200);
    let caught = replay.events_until(end).await;
    for kind in ["ticket_issued", "ticket_called", "ticket_recalled"] {
        assert_eq!(
            about(&caught, kind, &a["id"])["ticket"],
            want,
            "catch-up {kind}"
        );
    }
    // Resuming after the issue (its event not replayed): known from the hall.
    let issued_seq = caught
        .iter()
        .find(|(_, k, _)| k == "ticket_issued")
        .expect("issued")
        .0;
    let mut resumed =
        SseStream::open(s.addr, &format!("?after={issued_seq}"), Some(DISPLAY), None).await;
    let rest = resumed.events_until(end).await;
    assert_eq!(rest[0].0, issued_seq + 1);
    assert_eq!(about(&rest, "ticket_called", &a["id"])["ticket"], want);
}

/// A screen that resumes mid-day sees a ticket by its number only: the
/// number never changes, while its service does (a transfer, a next step),
/// and the stream cannot know the service at a caught-up moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_names_tickets_by_number_only_live_and_resumed() {
    let s = start_demo().await;
    let w01 = s.token("w01");
    s.act(1, "sign-in", &w01, None).await;
    let mut live = SseStream::open(s.addr, "", Some(DISPLAY), None).await;
    let a = s.issue("tax").await;
    let after_issue = s.seq().await;
    s.act(1, "call-next", &w01, None).await;
    s.act(1, "transfer", &w01, Some(json!({"service": "invoice"})))
        .await;
    let end = s.seq().await;
    let want = json!({"id": a["id"], "number": a["number"]});
    let got = live.events_until(end).await;
    for kind in ["ticket_called", "ticket_transferred"] {
        assert_eq!(about(&got, kind, &a["id"])["ticket"], want, "live {kind}");
    }
    let mut resumed = SseStream::open(
        s.addr,
        &format!("?after={after_issue}"),
        Some(DISPLAY),
        None,
    )
    .await;
    let rest = resumed.events_until(end).await;
    for kind in ["ticket_called", "ticket_transferred"] {
        assert_eq!(
            about(&rest, kind, &a["id"])["ticket"],
            want,
            "resumed {kind}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_may_follow_the_event_stream() {
    let s = start_demo().await;
    let mut stream = SseStream::open(s.addr, "", Some(KIOSK), None).await;
    assert_eq!(
        stream.status,
        200,
        "{}",
        String::from_utf8_lossy(&stream.body)
    );
    assert!(
        stream
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"))
    );
    let a = s.issue("tax").await;
    let (id, kind, data) = stream.next_event(S10).await.expect("an event");
    assert_eq!(id, s.seq().await);
    assert_eq!(kind, "ticket_issued");
    assert_eq!(data["ticket"]["number"], a["number"]);
    // Without a key: no stream.
    let none = SseStream::open(s.addr, "", None, None).await;
    assert_eq!(none.status, 401);
}

// ---------------------------------------------------------------------------
// Pages and assets

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_html_with_a_strict_content_security_policy() {
    let s = start_demo().await;
    for path in [
        "/screen",
        "/window/3",
        "/counter",
        "/kiosk",
        "/t/5",
        "/manager",
        "/sim",
        "/",
    ] {
        let r = s.get(path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "{path}: {:?}",
            r.header("content-type")
        );
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("script-src 'self'"), "{path}: CSP {csp:?}");
        assert!(
            csp.contains("frame-ancestors 'none'"),
            "{path}: CSP {csp:?}"
        );
        assert!(!csp.contains("unsafe-eval"), "{path}: CSP {csp:?}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert!(
            r.text().to_ascii_lowercase().contains("<html"),
            "{path} is not a page"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_served_with_their_types_and_nothing_else() {
    let s = start_demo().await;
    let js = s.get("/static/common/hallq.js", None).await;
    assert_eq!(js.status, 200, "{}", js.text());
    assert!(
        js.header("content-type")
            .is_some_and(|c| c.contains("javascript")),
        "{:?}",
        js.header("content-type")
    );
    assert_eq!(js.header("x-content-type-options"), Some("nosniff"));
    assert!(
        js.header("content-security-policy")
            .is_some_and(|c| c.contains("script-src 'self'"))
    );
    assert!(!js.body.is_empty());
    let css = s.get("/static/common/hallq.css", None).await;
    assert_eq!(css.status, 200);
    assert!(
        css.header("content-type")
            .is_some_and(|c| c.starts_with("text/css")),
        "{:?}",
        css.header("content-type")
    );

    for path in [
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/common/../../Cargo.toml",
        "/static/%2e%2e%2fCargo.toml",
        "/static//etc/passwd",
        "/static/../src/main.rs",
        "/static/screen/index.html",
        "/static/index.html",
        "/static/common/nope.js",
    ] {
        let r = s.get(path, None).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert_eq!(r.error_code(), "not_found", "{path}");
        assert!(!r.text().contains("[package]"), "{path} leaked Cargo.toml");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_page_is_a_json_404() {
    let s = start_demo().await;
    for path in ["/nope", "/screen/extra", "/window", "/api/v1/nope"] {
        s.get(path, None).await.assert_error(404, "not_found");
    }
}

/// `message_en` is what the English screens show: no Chinese in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_explains_itself_in_english() {
    let s = start_demo().await;
    for path in ["/static/common/nope.js", "/nope"] {
        let r = s.get(path, None).await;
        r.assert_error(404, "not_found");
        let en = r.json()["error"]["message_en"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(en.is_ascii(), "{path}: message_en {en:?} is not English");
    }
}
