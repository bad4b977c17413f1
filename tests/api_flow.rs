//! Every route of the HTTP API against the demo hall, over real HTTP: sign
//! in, the whole counter cycle, no-show and re-queue, park/unpark,
//! transfers, the four-step real-estate flow, pause/resume, the reads, the
//! manager's changes, passwords, sign-out, /healthz and /openapi.json.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// The journal rows of one kind, as the supervisor reads them.
async fn rows_of(s: &TestServer, kind: &str) -> Vec<Value> {
    let sup = s.token("supervisor");
    s.journal_rows(&sup, 0)
        .await
        .into_iter()
        .filter(|r| r["kind"] == kind)
        .collect()
}

/// A staff token signed in at `window`.
async fn at_window(s: &TestServer, account: &str, window: u32) -> String {
    let t = s.token(account);
    let w = s.act(window, "sign-in", &t, None).await;
    assert_eq!(w["window"]["staff"]["account"], account);
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_cycle_issue_call_recall_start_finish() {
    let s = start_demo().await;
    let r = s.http_sign_in("w01", "demo").await;
    assert_eq!(r.status, 201, "{}", r.text());
    let b = r.json();
    assert_eq!(b["role"], "staff");
    assert_eq!(b["must_change_password"], false);
    let tok = b["token"].as_str().expect("token").to_string();
    assert_eq!(tok.len(), 43, "256-bit token, base64url");

    let w = s.act(1, "sign-in", &tok, None).await;
    assert_eq!(w["window"]["state"], "idle");
    assert_eq!(w["window"]["staff"]["account"], "w01");
    assert!(w["ticket"].is_null());

    // Nobody waits yet: 200 with a null ticket.
    let r = s.act(1, "call-next", &tok, None).await;
    assert!(r["ticket"].is_null(), "{r}");

    let plain = s.issue("tax").await;
    assert_eq!(plain["number"], "K001");
    assert_eq!(plain["service"], "tax");
    assert_eq!(plain["status"], "waiting");
    assert_eq!(plain["ahead"], 0);
    assert!(plain["id"].is_u64());
    assert!(plain["issued_at"].is_string());
    for f in ["minutes", "low", "high"] {
        assert!(
            plain["wait_estimate"][f].is_u64(),
            "wait_estimate.{f}: {plain}"
        );
    }
    let r = s
        .post(
            "/api/v1/tickets",
            Some(KIOSK),
            json!({"service": "tax", "priority": "green"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let green = r.json()["ticket"].clone();
    assert_eq!(green["number"], "K002");
    assert_eq!(green["priority"], "green");

    // Priority first.
    let c = s.act(1, "call-next", &tok, None).await;
    assert_eq!(c["ticket"]["number"], "K002");
    assert_eq!(c["ticket"]["status"], "called");
    assert_eq!(c["ticket"]["window"], 1);
    assert_eq!(c["window"]["state"], "calling");
    assert_eq!(c["window"]["current"]["number"], "K002");

    let r = s.act(1, "recall", &tok, None).await;
    assert_eq!(r["ticket"]["status"], "called");
    let recalled = rows_of(&s, "ticket_recalled").await;
    assert_eq!(recalled.len(), 1);
    assert_eq!(recalled[0]["event"]["recall"], 1);

    let r = s.act(1, "start", &tok, None).await;
    assert_eq!(r["ticket"]["status"], "serving");
    assert_eq!(r["window"]["state"], "serving");

    // Rejected needs a reason.
    let before = s.seq().await;
    let r = s
        .post(
            "/api/v1/windows/1/finish",
            Some(&tok),
            json!({"outcome": "rejected"}),
        )
        .await;
    r.assert_error(422, "reason_required");
    let r = s
        .post(
            "/api/v1/windows/1/finish",
            Some(&tok),
            json!({"outcome": "rejected", "reason": "   "}),
        )
        .await;
    r.assert_error(422, "reason_required");
    assert_eq!(s.seq().await, before, "a refused finish changes nothing");
    let r = s
        .act(
            1,
            "finish",
            &tok,
            Some(json!({"outcome": "rejected", "reason": "材料不全且不符合受理条件"})),
        )
        .await;
    assert_eq!(r["ticket"]["status"], "finished");
    assert_eq!(r["ticket"]["outcome"], "rejected");
    assert_eq!(r["window"]["state"], "idle");
    let finished = rows_of(&s, "ticket_finished").await;
    assert_eq!(
        finished.last().expect("finished row")["event"]["reason"],
        "材料不全且不符合受理条件"
    );

    // Start twice or finish twice are refused.
    let c = s.act(1, "call-next", &tok, None).await;
    assert_eq!(c["ticket"]["number"], "K001");
    s.post_empty("/api/v1/windows/1/call-next", Some(&tok))
        .await
        .assert_error(409, "ticket_in_progress");
    s.post(
        "/api/v1/windows/1/finish",
        Some(&tok),
        json!({"outcome": "done"}),
    )
    .await
    .assert_error(409, "ticket_not_serving");
    s.act(1, "start", &tok, None).await;
    s.post_empty("/api/v1/windows/1/start", Some(&tok))
        .await
        .assert_error(409, "ticket_not_called");
    let r = s
        .act(1, "finish", &tok, Some(json!({"outcome": "done"})))
        .await;
    assert_eq!(r["ticket"]["outcome"], "done");
    assert_eq!(r["ticket"]["status"], "finished");

    let r = s.act(1, "call-next", &tok, None).await;
    assert!(r["ticket"].is_null(), "nobody waits: {r}");
    s.post_empty("/api/v1/windows/1/recall", Some(&tok))
        .await
        .assert_error(409, "no_current_ticket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_outcome_finishes_a_ticket() {
    let s = start_demo().await;
    let tok = at_window(&s, "w01", 1).await;
    for (i, outcome) in [
        "done",
        "accepted",
        "reported_up",
        "incomplete",
        "wrong_jurisdiction",
        "rejected",
    ]
    .iter()
    .enumerate()
    {
        s.issue("medical").await;
        s.act(1, "call-next", &tok, None).await;
        s.act(1, "start", &tok, None).await;
        let r = s
            .act(
                1,
                "finish",
                &tok,
                Some(json!({"outcome": outcome, "reason": format!("理由{i}")})),
            )
            .await;
        assert_eq!(r["ticket"]["outcome"], *outcome);
        assert_eq!(r["ticket"]["status"], "finished");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_show_requeues_once_then_is_final() {
    let s = start_demo().await;
    let tok = at_window(&s, "w01", 1).await;
    let p1 = s.issue("medical").await;
    let p2 = s.issue("medical").await;

    let c = s.act(1, "call-next", &tok, None).await;
    assert_eq!(c["ticket"]["id"], p1["id"]);
    let r = s.act(1, "no-show", &tok, None).await;
    assert_eq!(r["ticket"]["id"], p1["id"]);
    assert_eq!(r["ticket"]["status"], "waiting", "requeued: {r}");
    assert!(r["window"]["current"].is_null());
    let ns = rows_of(&s, "ticket_no_show").await;
    assert!(
        !ns[0]["event"]["requeue"].is_null(),
        "first no-show requeues: {}",
        ns[0]
    );

    // Back behind the one other waiting ticket.
    let c = s.act(1, "call-next", &tok, None).await;
    assert_eq!(c["ticket"]["id"], p2["id"]);
    s.act(1, "start", &tok, None).await;
    s.act(1, "finish", &tok, Some(json!({"outcome": "done"})))
        .await;

    let c = s.act(1, "call-next", &tok, None).await;
    assert_eq!(c["ticket"]["id"], p1["id"], "the no-show comes back");
    assert_eq!(c["ticket"]["number"], p1["number"], "with its number");
    let r = s.act(1, "no-show", &tok, None).await;
    assert_eq!(
        r["ticket"]["status"], "no_show",
        "second no-show is final (no_show_requeue_max = 1)"
    );
    let r = s.act(1, "call-next", &tok, None).await;
    assert!(r["ticket"].is_null());
    s.post_empty("/api/v1/windows/1/no-show", Some(&tok))
        .await
        .assert_error(409, "no_current_ticket");

    // The public view says so too.
    let r = s.get(&format!("/api/v1/tickets/{}", p1["id"]), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["ticket"]["status"], "no_show");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn park_and_unpark() {
    let s = start_demo().await;
    let tok = at_window(&s, "w01", 1).await;
    let m1 = s.issue("social-insurance").await;
    let m2 = s.issue("social-insurance").await;
    s.act(1, "call-next", &tok, None).await;
    s.act(1, "start", &tok, None).await;
    let r = s.act(1, "park", &tok, None).await;
    assert_eq!(r["ticket"]["number"], m1["number"]);
    assert_eq!(r["ticket"]["status"], "parked");
    assert_eq!(r["window"]["parked"], json!([m1["number"]]));
    assert!(r["window"]["current"].is_null());
    assert_eq!(r["window"]["state"], "idle");

    let c = s.act(1, "call-next", &tok, None).await;
    assert_eq!(c["ticket"]["id"], m2["id"]);
    s.post(
        "/api/v1/windows/1/unpark",
        Some(&tok),
        json!({"ticket": m1["number"]}),
    )
    .await
    .assert_error(409, "ticket_in_progress");
    s.act(1, "start", &tok, None).await;
    s.act(1, "finish", &tok, Some(json!({"outcome": "done"})))
        .await;

    let r = s
        .act(1, "unpark", &tok, Some(json!({"ticket": m1["number"]})))
        .await;
    assert_eq!(r["ticket"]["id"], m1["id"]);
    assert_eq!(
        r["ticket"]["status"], "serving",
        "back as it was when parked"
    );
    assert_eq!(r["window"]["current"]["number"], m1["number"]);
    assert_eq!(r["window"]["parked"], json!([]));
    s.act(1, "finish", &tok, Some(json!({"outcome": "done"})))
        .await;
    s.post(
        "/api/v1/windows/1/unpark",
        Some(&tok),
        json!({"ticket": m1["number"]}),
    )
    .await
    .assert_error(409, "ticket_not_parked_here");
    s.post(
        "/api/v1/windows/1/unpark",
        Some(&tok),
        json!({"ticket": "M999"}),
    )
    .await
    .assert_error(404, "unknown_ticket");
    s.post_empty("/api/v1/windows/1/park", Some(&tok))
        .await
        .assert_error(409, "no_current_ticket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_to_a_service_and_to_a_window() {
    let s = start_demo().await;
    let t1 = at_window(&s, "w01", 1).await;
    let t2 = at_window(&s, "w02", 2).await;
    let t3 = at_window(&s, "w03", 3).await;
    let f = s.issue("estate-search").await;
    s.act(1, "call-next", &t1, None).await;
    s.act(1, "start", &t1, None).await;

    // Bad targets first: neither, both, unknown, the same window.
    s.post("/api/v1/windows/1/transfer", Some(&t1), json!({}))
        .await
        .assert_error(422, "bad_transfer");
    s.post(
        "/api/v1/windows/1/transfer",
        Some(&t1),
        json!({"service": "invoice", "window": 2}),
    )
    .await
    .assert_error(422, "bad_transfer");
    s.post(
        "/api/v1/windows/1/transfer",
        Some(&t1),
        json!({"service": "nope"}),
    )
    .await
    .assert_error(422, "unknown_service");
    s.post(
        "/api/v1/windows/1/transfer",
        Some(&t1),
        json!({"window": 1}),
    )
    .await
    .assert_error(422, "bad_transfer");
    s.post(
        "/api/v1/windows/1/transfer",
        Some(&t1),
        json!({"window": 999}),
    )
    .await
    .assert_error(404, "unknown_window");

    let r = s
        .act(
            1,
            "transfer",
            &t1,
            Some(json!({"service": "invoice", "reason": "需开具发票"})),
        )
        .await;
    assert_eq!(r["ticket"]["id"], f["id"]);
    assert_eq!(
        r["ticket"]["number"], f["number"],
        "a transfer keeps the number"
    );
    assert_eq!(r["ticket"]["service"], "invoice");
    assert_eq!(r["ticket"]["status"], "waiting");
    assert_eq!(r["window"]["state"], "idle");

    // Window 2 serves invoices: it is its next candidate, with the reason why.
    let w2 = s.get("/api/v1/windows/2", Some(&t2)).await;
    assert_eq!(w2.status, 200);
    let w2 = w2.json();
    assert_eq!(w2["next"][0]["number"], f["number"]);
    assert!(
        w2["next"][0]["why"]
            .as_str()
            .is_some_and(|w| w.starts_with("chosen")),
        "{w2}"
    );
    let c = s.act(2, "call-next", &t2, None).await;
    assert_eq!(c["ticket"]["id"], f["id"]);
    s.act(2, "start", &t2, None).await;

    let r = s.act(2, "transfer", &t2, Some(json!({"window": 3}))).await;
    assert_eq!(r["ticket"]["number"], f["number"]);
    assert_eq!(r["ticket"]["status"], "waiting");
    let w3 = s.get("/api/v1/windows/3", Some(&t3)).await.json();
    let cand = &w3["next"][0];
    assert_eq!(cand["number"], f["number"]);
    assert_eq!(cand["directed"], true, "{w3}");
    assert!(cand["why"].as_str().is_some_and(|w| !w.is_empty()));
    let w2 = s.get("/api/v1/windows/2", Some(&t2)).await.json();
    assert!(
        w2["next"]
            .as_array()
            .expect("next")
            .iter()
            .all(|c| c["number"] != f["number"]),
        "directed to 3 only: {w2}"
    );
    let c = s.act(3, "call-next", &t3, None).await;
    assert_eq!(c["ticket"]["id"], f["id"]);
    s.act(3, "start", &t3, None).await;
    let r = s
        .act(3, "finish", &t3, Some(json!({"outcome": "accepted"})))
        .await;
    assert_eq!(r["ticket"]["status"], "finished");
    assert_eq!(r["ticket"]["number"], f["number"]);
    let tr = rows_of(&s, "ticket_transferred").await;
    assert_eq!(tr.len(), 2);
    assert_eq!(tr[0]["event"]["reason"], "需开具发票");
    assert_eq!(tr[1]["event"]["to_window"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_estate_flow_keeps_its_number_through_four_steps() {
    let s = start_demo().await;
    let steps = [
        (21, "w19", "estate-search"),
        (22, "w20", "estate-review"),
        (5, "w05", "estate-fee"),
        (7, "w07", "estate-pickup"),
    ];
    let mut tokens = Vec::new();
    for (w, a, _) in steps {
        tokens.push(at_window(&s, a, w).await);
    }
    let f = s.issue("estate-search").await;
    let id = f["id"].as_u64().expect("id");
    let number = f["number"].as_str().expect("number").to_string();
    assert!(number.starts_with('F'));
    for (i, ((window, _, service), tok)) in steps.iter().zip(&tokens).enumerate() {
        let c = s.act(*window, "call-next", tok, None).await;
        assert_eq!(c["ticket"]["id"], id, "step {i} at window {window}");
        assert_eq!(c["ticket"]["number"], number.as_str());
        assert_eq!(c["ticket"]["service"], *service);
        assert_eq!(c["ticket"]["step"], i);
        s.act(*window, "start", tok, None).await;
        let r = s
            .act(*window, "finish", tok, Some(json!({"outcome": "done"})))
            .await;
        let t = &r["ticket"];
        assert_eq!(t["number"], number.as_str());
        if let Some((_, _, next)) = steps.get(i + 1) {
            assert_eq!(
                t["status"], "waiting",
                "after step {i} it waits for the next: {t}"
            );
            assert_eq!(t["service"], *next);
            assert_eq!(t["step"], i + 1);
            // The public view agrees, without auth.
            let p = s.get(&format!("/api/v1/tickets/{id}"), None).await.json();
            assert_eq!(p["ticket"]["service"], *next);
            assert_eq!(p["ticket"]["number"], number.as_str());
        } else {
            assert_eq!(t["status"], "finished");
            assert_eq!(t["outcome"], "done");
        }
    }
    // The day's record has the ticket with every event of its four steps.
    let m = s.token("manager");
    let r = s
        .get(&format!("/api/v1/tickets?day={}", s.day().await), Some(&m))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let day = r.json();
    let t = day["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .find(|t| t["id"] == id)
        .expect("ticket listed")
        .clone();
    assert_eq!(t["number"], number.as_str());
    let kinds: Vec<&str> = t["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or(""))
        .collect();
    let mut want = vec!["ticket_issued"];
    for _ in 0..4 {
        want.extend(["ticket_called", "service_started", "ticket_finished"]);
    }
    assert_eq!(kinds, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_sign_out() {
    let s = start_demo().await;
    let tok = at_window(&s, "w01", 1).await;
    s.issue("tax").await;
    let r = s
        .act(1, "pause", &tok, Some(json!({"reason": "lunch"})))
        .await;
    assert_eq!(r["window"]["state"], "paused");
    assert_eq!(r["window"]["paused_reason"], "lunch");
    s.post_empty("/api/v1/windows/1/call-next", Some(&tok))
        .await
        .assert_error(409, "window_paused");
    s.post(
        "/api/v1/windows/1/pause",
        Some(&tok),
        json!({"reason": "break"}),
    )
    .await
    .assert_error(409, "window_paused");
    let r = s.act(1, "resume", &tok, None).await;
    assert_eq!(r["window"]["state"], "idle");
    s.post_empty("/api/v1/windows/1/resume", Some(&tok))
        .await
        .assert_error(409, "window_not_paused");
    for reason in ["break", "out_of_supplies", "meeting"] {
        s.act(1, "pause", &tok, Some(json!({"reason": reason})))
            .await;
        s.act(1, "resume", &tok, None).await;
    }

    // Not while a ticket is in progress.
    s.act(1, "call-next", &tok, None).await;
    s.post(
        "/api/v1/windows/1/pause",
        Some(&tok),
        json!({"reason": "lunch"}),
    )
    .await
    .assert_error(409, "ticket_in_progress");
    s.post_empty("/api/v1/windows/1/sign-out", Some(&tok))
        .await
        .assert_error(409, "ticket_in_progress");
    s.act(1, "start", &tok, None).await;
    s.act(1, "finish", &tok, Some(json!({"outcome": "done"})))
        .await;

    let r = s.act(1, "sign-out", &tok, None).await;
    assert_eq!(r["window"]["state"], "unstaffed");
    assert!(r["window"]["staff"].is_null());
    s.post_empty("/api/v1/windows/1/call-next", Some(&tok))
        .await
        .assert_error(403, "not_signed_in");
    // And back in.
    s.act(1, "sign-in", &tok, None).await;
    let kinds: Vec<String> = s
        .journal_rows(&s.token("supervisor"), 0)
        .await
        .iter()
        .map(|r| r["kind"].as_str().unwrap_or_default().to_string())
        .filter(|k| k.starts_with("window_") || k.starts_with("staff_"))
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "window_paused").count(), 4);
    assert_eq!(kinds.iter().filter(|k| *k == "window_resumed").count(), 4);
    assert_eq!(kinds.iter().filter(|k| *k == "staff_signed_out").count(), 1);
    assert_eq!(kinds.iter().filter(|k| *k == "staff_signed_in").count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_with_priority_person_caps_batches_and_appointments() {
    let s = start_demo().await;
    let issue = |body: Value| {
        let s = &s;
        async move { s.post("/api/v1/tickets", Some(KIOSK), body).await }
    };
    let r = issue(json!({"service": "hukou", "priority": "care"})).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["ticket"]["priority"], "care");
    issue(json!({"service": "hukou", "priority": "vip"}))
        .await
        .assert_error(422, "unknown_priority");
    issue(json!({"service": "no-such-service"}))
        .await
        .assert_error(422, "unknown_service");

    // Per-person caps: marriage allows 1 per person per day, estate-search 2.
    let id_no = "110101199003071234";
    let r = issue(json!({"service": "marriage", "person": id_no})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let personal = r.json()["ticket"].clone();
    issue(json!({"service": "marriage", "person": id_no}))
        .await
        .assert_error(409, "person_cap_reached");
    assert_eq!(
        issue(json!({"service": "marriage", "person": "110101199003075678"}))
            .await
            .status,
        201
    );
    for _ in 0..2 {
        assert_eq!(
            issue(json!({"service": "estate-search", "person": id_no}))
                .await
                .status,
            201
        );
    }
    issue(json!({"service": "estate-search", "person": id_no}))
        .await
        .assert_error(409, "person_cap_reached");
    issue(json!({"service": "marriage", "person": "11010119900307123'; --"}))
        .await
        .assert_error(422, "bad_person_id");

    // The public view has no personal data: neither the id number nor its hash.
    let sup = s.token("supervisor");
    let issued = s.journal_rows(&sup, 0).await;
    let hash = issued
        .iter()
        .find(|r| r["kind"] == "ticket_issued" && r["event"]["ticket"] == personal["id"])
        .and_then(|r| r["event"]["person"].as_str().map(String::from))
        .expect("the journal keeps the person's hash");
    assert!(!hash.contains(id_no), "only a keyed hash is kept");
    assert!(
        !serde_json::to_string(&issued)
            .expect("json")
            .contains(id_no),
        "the id number never enters the journal"
    );
    let p = s
        .get(&format!("/api/v1/tickets/{}", personal["id"]), None)
        .await;
    assert_eq!(p.status, 200);
    assert!(
        !p.text().contains(id_no) && !p.text().contains(&hash),
        "{}",
        p.text()
    );
    assert!(p.json()["ticket"].get("person").is_none());

    // Batch tickets: business-start allows 5 cases.
    let r = issue(json!({"service": "business-start", "cases": 3})).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["ticket"]["cases"], 3);
    issue(json!({"service": "business-start", "cases": 6}))
        .await
        .assert_error(422, "bad_cases");
    issue(json!({"service": "business-start", "cases": 0}))
        .await
        .assert_error(422, "bad_cases");

    // Appointment check-in.
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(20)).to_rfc3339();
    let r =
        issue(json!({"service": "hukou", "appointment": "YY-0001", "appointment_at": soon})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let appt = r.json()["ticket"].clone();
    assert_eq!(appt["service"], "hukou");
    issue(json!({"service": "hukou", "appointment": "YY-0001", "appointment_at": soon}))
        .await
        .assert_error(409, "appointment_already_checked_in");
    let far = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    issue(json!({"service": "hukou", "appointment": "YY-0002", "appointment_at": far}))
        .await
        .assert_error(422, "bad_appointment");
    issue(json!({"service": "hukou", "appointment": "YY-0003", "appointment_at": "tomorrow"}))
        .await
        .assert_error(422, "bad_appointment_at");
    let r = issue(json!({"service": "hukou", "appointment": "YY-0004"})).await;
    assert_eq!(
        r.status,
        201,
        "appointment_at defaults to now: {}",
        r.text()
    );
    let rows = s.journal_rows(&sup, 0).await;
    let appt_row = rows
        .iter()
        .find(|r| r["kind"] == "ticket_issued" && r["event"]["ticket"] == appt["id"])
        .expect("row");
    assert_eq!(appt_row["event"]["source"]["kind"], "appointment");
    assert_eq!(appt_row["event"]["source"]["code"], "YY-0001");

    // Staff may register a ticket at the window; the record says who and from where.
    let w = s.token("w12");
    let r = s
        .post("/api/v1/tickets", Some(&w), json!({"service": "hukou"}))
        .await;
    assert_eq!(r.status, 201);
    let id = r.json()["ticket"]["id"].clone();
    let rows = s.journal_rows(&sup, 0).await;
    let row = rows
        .iter()
        .find(|r| r["kind"] == "ticket_issued" && r["event"]["ticket"] == id)
        .expect("row");
    assert_eq!(row["event"]["source"]["kind"], "staff");
    assert_eq!(row["actor"], "staff:w12");
    assert!(
        row["client"]
            .as_str()
            .is_some_and(|c| c.contains("127.0.0.1") && c.contains("staff")),
        "{row}"
    );
    let kiosk_row = rows
        .iter()
        .find(|r| r["kind"] == "ticket_issued")
        .expect("row");
    assert_eq!(kiosk_row["actor"], "kiosk:demo-kiosk");
    assert!(
        kiosk_row["client"]
            .as_str()
            .is_some_and(|c| c.contains("kiosk")),
        "{kiosk_row}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_out_of_order_with_a_reason() {
    let s = start_demo().await;
    let tok = at_window(&s, "w01", 1).await;
    let k1 = s.issue("tax").await;
    let _k2 = s.issue("tax").await;
    let k3 = s.issue("tax").await;
    let a = s.issue("hukou").await;
    s.post(
        "/api/v1/windows/1/call",
        Some(&tok),
        json!({"ticket": k3["number"], "reason": ""}),
    )
    .await
    .assert_error(422, "reason_required");
    s.post(
        "/api/v1/windows/1/call",
        Some(&tok),
        json!({"ticket": "K999", "reason": "x"}),
    )
    .await
    .assert_error(404, "unknown_ticket");
    s.post(
        "/api/v1/windows/1/call",
        Some(&tok),
        json!({"ticket": a["number"], "reason": "x"}),
    )
    .await
    .assert_error(409, "service_not_served_here");
    s.post(
        "/api/v1/windows/1/call",
        Some(&tok),
        json!({"ticket": "K003"}),
    )
    .await
    .assert_error(422, "invalid_body");

    let r = s
        .act(
            1,
            "call",
            &tok,
            Some(json!({"ticket": k3["number"], "reason": "老人腿脚不便"})),
        )
        .await;
    assert_eq!(r["ticket"]["id"], k3["id"]);
    assert_eq!(r["ticket"]["status"], "called");
    let called = rows_of(&s, "ticket_called").await;
    let last = called.last().expect("called row");
    assert_eq!(last["event"]["rule"], "out_of_order");
    assert_eq!(last["event"]["reason"], "老人腿脚不便");
    s.act(1, "start", &tok, None).await;
    s.act(1, "finish", &tok, Some(json!({"outcome": "done"})))
        .await;
    s.post(
        "/api/v1/windows/1/call",
        Some(&tok),
        json!({"ticket": k3["number"], "reason": "再来"}),
    )
    .await
    .assert_error(409, "ticket_not_waiting");
    // Routing order is unchanged for the rest.
    let c = s.act(1, "call-next", &tok, None).await;
    assert_eq!(c["ticket"]["id"], k1["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_hall_window_ticket_and_day() {
    let s = start_demo().await;
    let tok = at_window(&s, "w01", 1).await;
    let k = s.issue("tax").await;
    let p = s.issue("medical").await;

    let w = s.get("/api/v1/windows/1", Some(&tok)).await;
    assert_eq!(w.status, 200, "{}", w.text());
    let w = w.json();
    assert_eq!(w["number"], 1);
    assert_eq!(w["state"], "idle");
    assert_eq!(w["staff"]["account"], "w01");
    assert_eq!(w["waiting"], 2);
    let next = w["next"].as_array().expect("next");
    assert_eq!(next.len(), 2, "{w}");
    let numbers: BTreeSet<&str> = next
        .iter()
        .map(|c| c["number"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        numbers,
        BTreeSet::from([k["number"].as_str().unwrap(), p["number"].as_str().unwrap()])
    );
    assert!(
        next[0]["why"]
            .as_str()
            .is_some_and(|x| x.starts_with("chosen")),
        "{w}"
    );
    assert!(
        next[1]["why"]
            .as_str()
            .is_some_and(|x| x.starts_with("not chosen")),
        "{w}"
    );
    // What call-next takes is the first candidate.
    let c = s.act(1, "call-next", &tok, None).await;
    assert_eq!(c["ticket"]["number"], next[0]["number"]);
    s.get("/api/v1/windows/999", Some(&tok))
        .await
        .assert_error(404, "not_found");

    for who in ["manager", "supervisor"] {
        let t = s.token(who);
        let h = s.get("/api/v1/hall", Some(&t)).await;
        assert_eq!(h.status, 200);
        let h = h.json();
        assert_eq!(h["session_open"], true);
        assert_eq!(h["business_day"], s.day().await.as_str());
        assert!(h["seq"].as_u64().is_some_and(|q| q > 0));
        let services = h["services"].as_array().expect("services");
        assert_eq!(services.len(), s.config.services().len());
        let svc = |id: &str| {
            services
                .iter()
                .find(|x| x["id"] == id)
                .cloned()
                .expect("service")
        };
        let waiting_tax =
            svc("tax")["waiting"].as_u64().unwrap() + svc("medical")["waiting"].as_u64().unwrap();
        assert_eq!(waiting_tax, 1, "one of the two was called");
        assert!(svc("tax")["estimate"]["minutes"].is_u64());
        assert!(svc("tax")["longest_wait_minutes"].is_i64());
        let windows = h["windows"].as_array().expect("windows");
        assert_eq!(windows.len(), s.config.windows().len());
        let w1 = windows.iter().find(|w| w["number"] == 1).expect("window 1");
        assert_eq!(w1["state"], "calling");
        assert_eq!(w1["staff"]["account"], "w01");
        assert_eq!(w1["current"]["number"], c["ticket"]["number"]);
    }
    let h = s.get("/api/v1/hall", Some(DISPLAY)).await;
    assert_eq!(h.status, 200, "a display screen reads the hall");

    let today = s.day().await;
    for who in ["manager", "supervisor"] {
        let t = s.token(who);
        let r = s
            .get(&format!("/api/v1/tickets?day={today}"), Some(&t))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let d = r.json();
        assert_eq!(d["day"], today.as_str());
        let tickets = d["tickets"].as_array().expect("tickets");
        assert_eq!(tickets.len(), 2);
        let called = tickets
            .iter()
            .find(|t| t["number"] == c["ticket"]["number"])
            .expect("called ticket");
        let kinds: Vec<&str> = called["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["ticket_issued", "ticket_called"]);
        assert!(
            called["events"][1]["actor"]
                .as_str()
                .is_some_and(|a| a.contains("w01"))
        );
        let r = s.get("/api/v1/tickets?day=2001-01-01", Some(&t)).await;
        assert_eq!(r.json()["tickets"], json!([]));
    }
    s.get(&format!("/api/v1/tickets/{}", u64::MAX), None)
        .await
        .assert_error(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_opens_closes_windows_changes_services_and_sessions() {
    let s = start_demo().await;
    let m = s.token("manager");
    let w11 = s.token("w11");

    let r = s.act(11, "close", &m, None).await;
    assert_eq!(r["window"]["state"], "closed");
    s.post_empty("/api/v1/windows/11/close", Some(&m))
        .await
        .assert_error(409, "window_closed");
    s.post_empty("/api/v1/windows/11/sign-in", Some(&w11))
        .await
        .assert_error(409, "window_closed");
    let r = s.act(11, "open", &m, None).await;
    assert_eq!(r["window"]["state"], "unstaffed");
    s.post_empty("/api/v1/windows/11/open", Some(&m))
        .await
        .assert_error(409, "window_already_open");
    s.post_empty("/api/v1/windows/999/open", Some(&m))
        .await
        .assert_error(404, "unknown_window");

    // Closing a staffed, idle window signs its staff out.
    s.act(11, "sign-in", &w11, None).await;
    let r = s.act(11, "close", &m, None).await;
    assert!(r["window"]["staff"].is_null());
    s.act(11, "open", &m, None).await;

    let put = |body: Value| {
        let s = &s;
        let m = m.clone();
        async move {
            s.send(
                Req::new("PUT", "/api/v1/windows/11/services")
                    .auth(Some(&m))
                    .json(&body),
            )
            .await
        }
    };
    let r = put(json!({"services": [{"service": "consult", "weight": 40}, {"service": "fallback", "weight": 60}]})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let w = s.get("/api/v1/windows/11", Some(&m)).await.json();
    assert_eq!(
        w["services"],
        json!([{"service": "consult", "weight": 40}, {"service": "fallback", "weight": 60}])
    );
    put(json!({"services": [{"service": "nope", "weight": 40}]}))
        .await
        .assert_error(422, "unknown_service");
    put(json!({"services": [{"service": "consult", "weight": 0}]}))
        .await
        .assert_error(422, "bad_weight");
    put(json!({"services": [{"service": "consult", "weight": 101}]}))
        .await
        .assert_error(422, "bad_weight");
    put(json!({"services": [{"service": "consult", "weight": 5}, {"service": "consult", "weight": 6}]}))
        .await
        .assert_error(422, "duplicate_service");
    // Window 11 now calls consultation tickets.
    let z = s.issue("consult").await;
    s.act(11, "sign-in", &w11, None).await;
    let c = s.act(11, "call-next", &w11, None).await;
    assert_eq!(c["ticket"]["id"], z["id"]);

    let r = s.post_empty("/api/v1/hall/session/close", Some(&m)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["session_open"], false);
    assert!(r.json()["seq"].as_u64().is_some_and(|q| q > 0));
    s.post("/api/v1/tickets", Some(KIOSK), json!({"service": "tax"}))
        .await
        .assert_error(409, "hall_closed");
    s.post_empty("/api/v1/hall/session/close", Some(&m))
        .await
        .assert_error(409, "session_not_open");
    // Extended service: calling goes on after the session closed.
    s.act(11, "start", &w11, None).await;
    s.act(11, "finish", &w11, Some(json!({"outcome": "done"})))
        .await;
    let r = s.post_empty("/api/v1/hall/session/open", Some(&m)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["session_open"], true);
    s.post_empty("/api/v1/hall/session/open", Some(&m))
        .await
        .assert_error(409, "session_already_open");
    s.issue("tax").await;

    // Each change is in the journal with the manager and the client's address and role.
    let sup = s.token("supervisor");
    let rows = s.journal_rows(&sup, 0).await;
    for kind in [
        "window_closed",
        "window_opened",
        "window_services_changed",
        "session_closed",
        "session_opened",
    ] {
        let row = rows
            .iter()
            .rev()
            .find(|r| r["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} row"));
        if kind != "session_opened" || row["actor"] != "system" {
            assert_eq!(row["actor"], "manager:manager", "{row}");
            assert!(
                row["client"]
                    .as_str()
                    .is_some_and(|c| c.contains("127.0.0.1") && c.contains("manager")),
                "{row}"
            );
        }
    }
    let opened: Vec<&Value> = rows
        .iter()
        .filter(|r| r["kind"] == "session_opened")
        .collect();
    assert_eq!(opened.last().unwrap()["actor"], "manager:manager");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_pages_for_the_supervisor() {
    let s = start_demo().await;
    for _ in 0..5 {
        s.issue("tax").await;
    }
    let sup = s.token("supervisor");
    let all = s.journal_rows(&sup, 0).await;
    assert!(all.len() >= 7);
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r["seq"], i as u64 + 1, "dense from 1");
        assert_eq!(r["hash"].as_str().map(str::len), Some(64));
        assert!(
            r["kind"].is_string()
                && r["actor"].is_string()
                && r["at"].is_string()
                && r["event"].is_object()
        );
    }
    let r = s.get("/api/v1/journal?after=2&limit=3", Some(&sup)).await;
    assert_eq!(r.status, 200);
    let page = r.json();
    let seqs: Vec<u64> = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [3, 4, 5]);
    assert_eq!(page["next_after"], 5);
    let last = all.len() as u64;
    let r = s
        .get(&format!("/api/v1/journal?after={last}"), Some(&sup))
        .await
        .json();
    assert_eq!(r["rows"], json!([]));
    assert_eq!(r["next_after"], last);
    assert_eq!(s.seq().await, last);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_password_then_the_old_one_fails() {
    let s = start_demo().await;
    let r = s.http_sign_in("w04", "demo").await;
    let tok = r.json()["token"].as_str().unwrap().to_string();
    let change = |old: &str, new: &str| {
        let s = &s;
        let tok = tok.clone();
        let body = json!({"old_password": old, "new_password": new});
        async move { s.post("/api/v1/sessions/password", Some(&tok), body).await }
    };
    change("wrong-old-password", "Qiu-Shui-2024!")
        .await
        .assert_error(403, "wrong_password");
    let r = change("demo", "short").await;
    assert_eq!(r.status, 422, "{}", r.text());
    r.error_code();
    assert_eq!(change("demo", "12345678").await.status, 422, "too common");
    let r = change("demo", "Qiu-Shui-2024!").await;
    assert_eq!(r.status, 204, "{}", r.text());
    s.http_sign_in("w04", "demo")
        .await
        .assert_error(401, "bad_credentials");
    let r = s.http_sign_in("w04", "Qiu-Shui-2024!").await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["must_change_password"], false);
    let rows = rows_of(&s, "account_activity").await;
    assert!(rows.iter().any(|r| r["event"]["account"] == "w04" && r["event"]["activity"] == "password_changed"), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reset_forces_a_change_at_next_sign_in() {
    let s = start_demo().await;
    let admin = s.http_sign_in("admin", "demo").await.json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let old = s.token("w06");
    let r = s
        .post(
            "/api/v1/accounts/w06/password",
            Some(&admin),
            json!({"new_password": "Temp-Start-77x"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        s.get("/api/v1/windows/6", Some(&old)).await.status,
        401,
        "a reset ends the account's sessions"
    );
    s.post(
        "/api/v1/accounts/nobody/password",
        Some(&admin),
        json!({"new_password": "Temp-Start-77x"}),
    )
    .await
    .assert_error(404, "not_found");
    s.http_sign_in("w06", "demo")
        .await
        .assert_error(401, "bad_credentials");

    let r = s.http_sign_in("w06", "Temp-Start-77x").await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["must_change_password"], true);
    let tok = r.json()["token"].as_str().unwrap().to_string();
    s.get("/api/v1/windows/6", Some(&tok))
        .await
        .assert_error(403, "password_change_required");
    s.post_empty("/api/v1/windows/6/sign-in", Some(&tok))
        .await
        .assert_error(403, "password_change_required");
    let r = s
        .post(
            "/api/v1/sessions/password",
            Some(&tok),
            json!({"old_password": "Temp-Start-77x", "new_password": "Mine-Only-4242"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());

    let r = s.http_sign_in("w06", "Mine-Only-4242").await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["must_change_password"], false);
    let tok = r.json()["token"].as_str().unwrap().to_string();
    assert_eq!(s.get("/api/v1/windows/6", Some(&tok)).await.status, 200);
    s.act(6, "sign-in", &tok, None).await;
    let rows = rows_of(&s, "account_activity").await;
    assert!(
        rows.iter()
            .any(|r| r["event"]["account"] == "w06" && r["event"]["activity"] == "password_reset"),
        "{rows:?}"
    );
}

/// The route documents "other sessions of the account end": the session
/// used to change the password goes on (with the forced change cleared).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_that_changed_the_password_goes_on() {
    let s = start_demo().await;
    let admin = s.token("admin");
    let r = s
        .post(
            "/api/v1/accounts/w08/password",
            Some(&admin),
            json!({"new_password": "Temp-Start-77x"}),
        )
        .await;
    assert_eq!(r.status, 204);
    let tok = s.http_sign_in("w08", "Temp-Start-77x").await.json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let other = s.http_sign_in("w08", "Temp-Start-77x").await.json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .post(
            "/api/v1/sessions/password",
            Some(&tok),
            json!({"old_password": "Temp-Start-77x", "new_password": "Mine-Only-4242"}),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = s.get("/api/v1/windows/8", Some(&tok)).await;
    assert_eq!(
        r.status,
        200,
        "the token used for the change keeps working: {}",
        r.text()
    );
    s.get("/api/v1/windows/8", Some(&other))
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_ends_the_token() {
    let s = start_demo().await;
    let tok = s.http_sign_in("w09", "demo").await.json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let other = s.token("w09");
    assert_eq!(s.get("/api/v1/windows/9", Some(&tok)).await.status, 200);
    let r = s
        .send(Req::new("DELETE", "/api/v1/sessions").auth(Some(&tok)))
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    s.get("/api/v1/windows/9", Some(&tok))
        .await
        .assert_error(401, "unauthorized");
    s.send(Req::new("DELETE", "/api/v1/sessions").auth(Some(&tok)))
        .await
        .assert_error(401, "unauthorized");
    assert_eq!(
        s.get("/api/v1/windows/9", Some(&other)).await.status,
        200,
        "only that session ends"
    );
    let rows = rows_of(&s, "account_activity").await;
    assert!(
        rows.iter()
            .any(|r| r["event"]["account"] == "w09" && r["event"]["activity"] == "signed_out"),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r["event"]["account"] == "w09" && r["event"]["activity"] == "signed_in"),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_the_journal() {
    let s = start_demo().await;
    let r = s.get("/healthz", None).await;
    assert_eq!(r.status, 200);
    let h = r.json();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["journal_seq"], s.seq().await);
    assert_eq!(h["business_day"], s.day().await.as_str());
    s.issue("tax").await;
    let h = s.get("/healthz", None).await.json();
    assert_eq!(h["journal_seq"], s.seq().await);
    assert_eq!(h["waiting"], 1);
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in ["get", "post", "put", "delete", "patch"] {
            if item.get(m).is_some() {
                out.insert((path.clone(), m.to_string()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_api_route() {
    let s = start_demo().await;
    let r = s.get("/openapi.json", None).await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')));
    let routes = router_routes();
    assert!(routes.len() >= 30, "parsed the router: {routes:?}");
    let api: BTreeSet<_> = routes
        .iter()
        .filter(|(p, _)| p.starts_with("/api/"))
        .cloned()
        .collect();
    let documented = documented(&doc);
    let missing: Vec<_> = api.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from /openapi.json: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    // The bearer scheme is declared.
    assert!(
        doc["components"]["securitySchemes"]["bearer"].is_object(),
        "{}",
        doc["components"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_healthz_too() {
    let s = start_demo().await;
    let doc = s.get("/openapi.json", None).await.json();
    let documented = documented(&doc);
    let missing: Vec<_> = router_routes()
        .into_iter()
        .filter(|(p, _)| p != "/openapi.json" && !p.starts_with("/static/"))
        .filter(|r| !documented.contains(r))
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from /openapi.json: {missing:?}"
    );
}

/// The real binary: `hallq serve --listen 127.0.0.1:0` prints its address,
/// serves the demo hall, and a sign-in and an issue work end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_the_demo_hall() {
    let dir = tempfile::tempdir().unwrap();
    let d = start_daemon(
        daemon::serve_cmd(dir.path()),
        daemon::Log::Null,
        Duration::from_secs(30),
    )
    .await;
    let addr = d.addr;
    let r = send(addr, Req::new("GET", "/healthz")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        addr,
        Req::new("POST", "/api/v1/tickets")
            .auth(Some(KIOSK))
            .json(&json!({"service": "tax"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = send(
        addr,
        Req::new("POST", "/api/v1/sessions").json(&json!({"account": "w01", "password": "demo"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let tok = r.json()["token"].as_str().unwrap().to_string();
    let r = send(
        addr,
        Req::new("POST", "/api/v1/windows/1/sign-in").auth(Some(&tok)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        addr,
        Req::new("POST", "/api/v1/windows/1/call-next").auth(Some(&tok)),
    )
    .await;
    assert_eq!(r.json()["ticket"]["number"], "K001");
    // SIGTERM: a clean stop.
    stop_daemon(d, Duration::from_secs(20)).await;
}

/// Kiosks and counters at once over HTTP: no number is issued twice, and no
/// ticket is called at two windows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_kiosks_and_counters_never_share_a_number_or_a_ticket() {
    let s = start_demo().await;
    // 8 kiosks (each its own address, as the rate limit counts per address), 5 tickets each.
    let issues: Vec<_> = (0..40u8)
        .map(|i| {
            let addr = s.addr;
            tokio::spawn(async move {
                let req = Req::new("POST", "/api/v1/tickets")
                    .auth(Some(KIOSK))
                    .json(&json!({"service": "estate-search"}));
                send_from(addr, std::net::Ipv4Addr::new(127, 0, 0, 2 + i % 8), req).await
            })
        })
        .collect();
    let mut numbers = BTreeSet::new();
    for t in issues {
        let r = t.await.expect("task");
        assert_eq!(r.status, 201, "{}", r.text());
        assert!(numbers.insert(r.json()["ticket"]["number"].as_str().unwrap().to_string()));
    }
    assert_eq!(numbers.len(), 40);

    // Four windows serve estate-search; they call until nobody waits.
    let mut counters = Vec::new();
    for (w, a) in [(1, "w01"), (4, "w04"), (21, "w19"), (23, "w21")] {
        let tok = at_window(&s, a, w).await;
        let addr = s.addr;
        counters.push(tokio::spawn(async move {
            let act = |action: &'static str, body: Option<Value>| {
                let tok = tok.clone();
                async move {
                    let mut req =
                        Req::new("POST", &format!("/api/v1/windows/{w}/{action}")).auth(Some(&tok));
                    if let Some(b) = body {
                        req = req.json(&b);
                    }
                    let r = send(addr, req).await;
                    assert_eq!(r.status, 200, "{action} at {w}: {}", r.text());
                    r.json()
                }
            };
            let mut called = Vec::new();
            loop {
                let c = act("call-next", None).await;
                if c["ticket"].is_null() {
                    return called;
                }
                assert_eq!(c["ticket"]["window"], w);
                called.push(c["ticket"]["id"].as_u64().unwrap());
                act("start", None).await;
                act("finish", Some(json!({"outcome": "incomplete"}))).await;
            }
        }));
    }
    let mut all = Vec::new();
    for c in counters {
        all.extend(c.await.expect("counter"));
    }
    let distinct: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(all.len(), 40, "every ticket called once: {all:?}");
    assert_eq!(distinct.len(), 40, "no ticket called twice");
    assert_eq!(s.query(|h| h.waiting()).await, 0);
}
