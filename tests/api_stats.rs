//! The statistics routes against an in-process hall: who may read them, bad
//! queries (400 naming the parameter), the downloads, and figures that move
//! when a ticket is served and rated.

mod common;

use common::*;
use hallq::queue::{Actor, Command, Rating, TicketId};
use serde_json::Value;

/// The demo hall, ranking anyone with one rating (the default needs 20).
async fn hall() -> TestServer {
    let mut c = demo_config();
    c.file.stats.ranking_min_rated = 1;
    start(c).await
}

async fn stats(s: &TestServer, query: &str, token: &str) -> Value {
    let r = s.get(&format!("/api/v1/stats{query}"), Some(token)).await;
    assert_eq!(r.status, 200, "stats{query}: {}", r.text());
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    r.json()
}

/// Issues a tax ticket, serves it at window 1 as w01 and rates it.
async fn serve_one(s: &TestServer, w01: &str, rating: Option<Rating>) -> u64 {
    let id = s.issue("tax").await["id"].as_u64().unwrap();
    let called = s.act(1, "call-next", w01, None).await;
    assert_eq!(called["ticket"]["id"].as_u64(), Some(id), "{called}");
    s.act(1, "start", w01, None).await;
    s.act(
        1,
        "finish",
        w01,
        Some(serde_json::json!({"outcome": "done"})),
    )
    .await;
    s.submit(
        Actor::System,
        Command::Rate {
            window: 1,
            ticket: TicketId(id),
            rating,
        },
    )
    .await
    .expect("rate");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_move_when_a_ticket_is_served_and_rated() {
    let s = hall().await;
    let manager = s.token("manager");
    let w01 = s.token("w01");
    s.act(1, "sign-in", &w01, None).await;
    let day = s.day().await;

    let before = stats(&s, "", &manager).await;
    assert_eq!(before["period"]["kind"], "day");
    assert_eq!(before["period"]["label"], day.as_str(), "default: today");
    let served0 = before["hall"]["served"].as_u64().unwrap();
    let issued0 = before["hall"]["issued"].as_u64().unwrap();
    let seq0 = before["journal_last_seq"].as_u64().unwrap();
    // The files the dashboard offers.
    let files: Vec<&str> = before["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["stem"].as_str().unwrap())
        .collect();
    for stem in ["services", "windows", "staff", "departments", "evaluations"] {
        assert!(files.contains(&stem), "{files:?}");
    }

    // Nothing changed: the same answer (from the cache).
    let again = s
        .get("/api/v1/stats?period=day", Some(&manager))
        .await
        .json();
    assert_eq!(again, before);

    serve_one(&s, &w01, Some(Rating::VerySatisfied)).await;
    let after = stats(&s, &format!("?period=day&value={day}"), &manager).await;
    assert_eq!(after["hall"]["served"].as_u64().unwrap(), served0 + 1);
    assert_eq!(after["hall"]["issued"].as_u64().unwrap(), issued0 + 1);
    assert!(after["journal_last_seq"].as_u64().unwrap() > seq0);
    let tax = after["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "tax")
        .expect("tax in services");
    assert!(tax["figures"]["served"].as_u64().unwrap() >= 1);
    let w1 = after["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "1")
        .expect("window 1");
    assert_eq!(w1["figures"]["ratings"]["very_satisfied"], 1);
    let staff = after["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "w01")
        .expect("w01 in staff");
    assert_eq!(staff["figures"]["ratings"]["satisfaction_rate"], 1.0);

    // The month and the quarter contain today's ticket too.
    for kind in ["week", "month", "quarter"] {
        let r = stats(&s, &format!("?period={kind}"), &manager).await;
        assert_eq!(r["period"]["kind"], kind);
        assert!(r["hall"]["served"].as_u64().unwrap() > served0, "{kind}");
    }

    // Rankings: window 1 and w01 now rank (one rating needed here).
    let display = s.get("/api/v1/stats/rankings", Some(DISPLAY)).await;
    assert_eq!(display.status, 200, "{}", display.text());
    let ranks = display.json();
    assert_eq!(ranks["period"]["label"], day.as_str());
    assert_eq!(ranks["rankings"]["windows"][0]["id"], "1", "{ranks}");
    assert_eq!(ranks["rankings"]["staff"][0]["id"], "w01", "{ranks}");
    assert_eq!(ranks["rankings"]["staff"][0]["rank"], 1);

    // A negative rating lowers w01's satisfaction and lands in the follow-ups.
    serve_one(&s, &w01, Some(Rating::VeryDissatisfied)).await;
    let later = stats(&s, "", &manager).await;
    let staff = later["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "w01")
        .unwrap();
    assert_eq!(staff["figures"]["ratings"]["satisfaction_rate"], 0.5);
    assert_eq!(later["followups"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_are_files_with_names() {
    let s = hall().await;
    let manager = s.token("manager");
    let w01 = s.token("w01");
    s.act(1, "sign-in", &w01, None).await;
    serve_one(&s, &w01, Some(Rating::Satisfied)).await;
    let day = s.day().await;
    let json = stats(&s, "", &manager).await;

    let x = s
        .get("/api/v1/stats/report.xlsx?period=day", Some(&manager))
        .await;
    assert_eq!(x.status, 200, "{}", x.text());
    assert_eq!(
        x.header("content-type"),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    assert_eq!(
        x.header("content-disposition"),
        Some(format!("attachment; filename=\"hallq-{day}.xlsx\"").as_str())
    );
    assert!(x.body.starts_with(b"PK\x03\x04"), "a zip file");
    let zip = zip::ZipArchive::new(std::io::Cursor::new(x.body.clone())).expect("xlsx opens");
    let sheets = zip
        .file_names()
        .filter(|n| {
            n.as_ref()
                .is_ok_and(|n| n.starts_with("xl/worksheets/sheet"))
        })
        .count();
    assert_eq!(sheets, json["files"].as_array().unwrap().len());

    let c = s
        .get(
            &format!("/api/v1/stats/summary.csv?period=day&value={day}"),
            Some(&manager),
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.text());
    assert_eq!(c.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        c.header("content-disposition"),
        Some(format!("attachment; filename=\"summary-{day}.csv\"").as_str())
    );
    assert!(c.body.starts_with(&[0xEF, 0xBB, 0xBF]), "BOM");
    let rows = hallq::report::csv::parse(&c.text()).unwrap();
    let served_col = rows[0]
        .iter()
        .position(|h| h == "办理数")
        .expect("办理数 column");
    let total = rows.last().unwrap();
    assert_eq!(
        total[served_col],
        json["hall"]["served"].as_u64().unwrap().to_string(),
        "the CSV's total is the API's figure"
    );

    // Another view.
    let c = s.get("/api/v1/stats/staff.csv", Some(&manager)).await;
    assert_eq!(c.status, 200);
    assert!(c.text().contains("w01"), "{}", c.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_name_the_parameter() {
    let s = hall().await;
    let manager = s.token("manager");
    let cases = [
        ("/api/v1/stats?period=year", 400, "bad_period", "period"),
        (
            "/api/v1/stats?period=month&value=2026-13",
            400,
            "bad_value",
            "value",
        ),
        (
            "/api/v1/stats?period=day&value=tomorrow",
            400,
            "bad_value",
            "value",
        ),
        (
            "/api/v1/stats?period=week&value=2025-W53",
            400,
            "bad_value",
            "01–52",
        ),
        (
            "/api/v1/stats?value=2026-11",
            400,
            "bad_value",
            "YYYY-MM-DD",
        ),
        ("/api/v1/stats?month=2026-11", 400, "bad_query", "month"),
        (
            "/api/v1/stats/rankings?period=",
            400,
            "bad_period",
            "period",
        ),
        (
            "/api/v1/stats/report.xlsx?period=quarter&value=2026-Q5",
            400,
            "bad_value",
            "1–4",
        ),
        (
            "/api/v1/stats/nothing.csv",
            404,
            "not_found",
            "services.csv",
        ),
        ("/api/v1/stats/report.pdf", 404, "not_found", "report.xlsx"),
    ];
    for (path, status, code, mentions) in cases {
        let r = s.get(path, Some(&manager)).await;
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert_eq!(r.error_code(), code, "{path}");
        let en = r.json()["error"]["message_en"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(en.contains(mentions), "{path}: {en}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_read() {
    let s = hall().await;
    let w01 = s.token("w01");
    let head = s.token("w03");
    for (who, token, stats_status, rankings_status) in [
        ("manager", s.token("manager"), 200, 200),
        ("supervisor", s.token("supervisor"), 200, 200),
        ("admin", s.token("admin"), 200, 200),
        ("staff", w01.clone(), 403, 403),
        ("window head", head.clone(), 403, 200),
        ("display", DISPLAY.to_string(), 403, 200),
        ("kiosk", KIOSK.to_string(), 403, 403),
    ] {
        let r = s.get("/api/v1/stats", Some(&token)).await;
        assert_eq!(r.status, stats_status, "{who} stats: {}", r.text());
        let r = s.get("/api/v1/stats/staff.csv", Some(&token)).await;
        assert_eq!(r.status, stats_status, "{who} staff.csv");
        let r = s.get("/api/v1/stats/rankings", Some(&token)).await;
        assert_eq!(r.status, rankings_status, "{who} rankings: {}", r.text());
    }
    let r = s.get("/api/v1/stats", None).await;
    assert_eq!(r.status, 401);
}
