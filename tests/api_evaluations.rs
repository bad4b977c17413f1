//! `GET /api/v1/evaluations` (JSON and CSV), `/followups` and `/outbox`
//! on the in-process hall: ratings given through the core come back joined,
//! the CSV opens as a spreadsheet expects (BOM, Chinese header, formulas
//! defused), negative ratings get a deadline, and bad input is a 400 that
//! names the parameter.

mod common;

use common::*;
use hallq::queue::{Actor, Command, Rating, TicketId};
use serde_json::Value;

/// Serves one `service` ticket at window 1 as w01 and rates it (`None`: not
/// rated, recorded when the next ticket finishes).
async fn serve_and_rate(s: &TestServer, staff: &str, service: &str, rating: Option<Rating>) -> u64 {
    let ticket = s.issue(service).await;
    let id = ticket["id"].as_u64().expect("ticket id");
    s.act(1, "call-next", staff, None).await;
    s.act(1, "start", staff, None).await;
    s.act(
        1,
        "finish",
        staff,
        Some(serde_json::json!({"outcome": "done"})),
    )
    .await;
    if let Some(r) = rating {
        s.submit(
            Actor::System,
            Command::Rate {
                window: 1,
                ticket: TicketId(id),
                rating: Some(r),
            },
        )
        .await
        .expect("rate");
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluations_are_exported_joined_and_followed_up() {
    let mut config = demo_config();
    // A staff name a spreadsheet would run as a formula.
    let w01 = config
        .file
        .staff
        .iter_mut()
        .find(|p| p.account == "w01")
        .expect("w01");
    w01.name = "=HYPERLINK(\"http://x\")".into();
    let s = start(config).await;
    let staff = s.token("w01");
    let manager = s.token("manager");
    s.act(1, "sign-in", &staff, None).await;

    let t1 = serve_and_rate(&s, &staff, "tax", Some(Rating::VerySatisfied)).await;
    let t2 = serve_and_rate(&s, &staff, "tax", Some(Rating::VeryDissatisfied)).await;
    let t3 = serve_and_rate(&s, &staff, "tax", None).await;
    // Finishing the next visit records t3 as not rated.
    let t4 = serve_and_rate(&s, &staff, "tax", Some(Rating::Dissatisfied)).await;
    let day = s.day().await;

    // JSON: ratings only by default, joined.
    let r = s
        .get(
            &format!("/api/v1/evaluations?from={day}&to={day}"),
            Some(&manager),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let list = v["evaluations"].as_array().expect("list").clone();
    let tickets: Vec<u64> = list.iter().map(|e| e["ticket"].as_u64().unwrap()).collect();
    assert_eq!(tickets, vec![t1, t2, t4], "{v}");
    assert_eq!(v["count"], 3);
    let e = &list[0];
    assert_eq!(e["service"], "tax");
    assert_eq!(e["department"], "tax");
    assert_eq!(e["window"], 1);
    assert_eq!(e["staff"], "w01");
    assert_eq!(e["rating_code"], 1);
    assert_eq!(e["rating_name"], "非常满意");
    assert!(e["number"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(e["id"].as_u64().unwrap() > 0);
    // With the not-rated visit.
    let r = s
        .get(
            &format!("/api/v1/evaluations?from={day}&to={day}&include_unrated=true"),
            Some(&manager),
        )
        .await;
    let all = r.json();
    assert_eq!(all["count"], 4);
    assert!(
        all["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ticket"] == t3 && e["rating"].is_null() && e["rating_name"] == "未评价")
    );

    // CSV: BOM, Chinese header, one row per rating, the formula defused.
    let r = s
        .get(
            &format!("/api/v1/evaluations?from={day}&to={day}&format=csv"),
            Some(&manager),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    assert!(
        r.header("content-disposition")
            .unwrap()
            .contains(&format!("evaluations-{day}-{day}.csv"))
    );
    assert!(r.body.starts_with(&[0xEF, 0xBB, 0xBF]), "BOM");
    let text = r.text();
    let text = text.trim_start_matches('\u{feff}');
    let rows = hallq::report::csv::parse(text).expect("CSV parses");
    assert_eq!(rows.len(), 4, "{text}");
    assert_eq!(rows[0][0], "评价编号");
    assert!(rows[0].contains(&"评价".to_string()));
    let name_col = rows[0].iter().position(|h| h == "工作人员姓名").unwrap();
    assert!(rows[1][name_col].starts_with("'="), "{:?}", rows[1]);

    // Follow-ups: the two negative ratings, with a deadline after the day.
    let r = s
        .get(
            &format!("/api/v1/evaluations/followups?from={day}&to={day}"),
            Some(&manager),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let f = r.json();
    let items = f["followups"].as_array().unwrap();
    let tickets: Vec<u64> = items
        .iter()
        .map(|i| i["evaluation"]["ticket"].as_u64().unwrap())
        .collect();
    assert_eq!(tickets, vec![t2, t4], "{f}");
    for i in items {
        assert!(i["deadline"].as_str().unwrap() > day.as_str(), "{i}");
        assert_eq!(i["overdue"], false);
    }
    let r = s
        .get(
            &format!("/api/v1/evaluations/followups?from={day}&to={day}&format=csv"),
            Some(&manager),
        )
        .await;
    let text = r.text();
    let rows = hallq::report::csv::parse(text.trim_start_matches('\u{feff}')).expect("CSV");
    assert_eq!(rows.len(), 3);
    assert!(rows[0].contains(&"整改期限".to_string()));

    // The outbox: no push configured, nothing written.
    let r = s.get("/api/v1/evaluations/outbox", Some(&manager)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let o: Value = r.json();
    assert_eq!(o["configured"], false);
    assert_eq!(o["pending"], 0);
    assert_eq!(o["acknowledged"], 0);
    assert!(o["pusher"].is_null());

    // Bad input names the parameter.
    for (query, code) in [
        ("from=2026-13-01", "bad_from"),
        ("to=yesterday", "bad_to"),
        ("from=2026-11-02&to=2026-11-01", "bad_range"),
        ("from=2024-01-01&to=2026-01-01", "bad_range"),
        ("format=xlsx", "bad_format"),
    ] {
        let r = s
            .get(&format!("/api/v1/evaluations?{query}"), Some(&manager))
            .await;
        r.assert_error(400, code);
    }
    let r = s.get("/api/v1/evaluations?sort=asc", Some(&manager)).await;
    assert_eq!(r.status, 400, "an unknown parameter is refused");
}
