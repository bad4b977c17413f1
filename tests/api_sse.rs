//! `GET /api/v1/events`: committed events as Server-Sent Events, `id:` = the
//! journal's seq, resumable with `Last-Event-ID` (every event exactly once,
//! in order, no gaps), `?after=0` replays from the start, screens get no
//! personal data.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

type Received = Vec<(u64, String, Value)>;

/// Checks `got` against the journal: the same seqs, kinds and events, in
/// order, exactly `from..=to`.
fn assert_matches_journal(got: &Received, rows: &[Value], from: u64, to: u64) {
    let numbers: std::collections::HashMap<u64, &str> = (rows.iter())
        .filter(|r| r["kind"] == "ticket_issued")
        .map(|r| {
            (
                r["event"]["ticket"].as_u64().unwrap(),
                r["event"]["number"].as_str().unwrap(),
            )
        })
        .collect();
    let ids: Vec<u64> = got.iter().map(|e| e.0).collect();
    let want: Vec<u64> = (from..=to).collect();
    assert_eq!(ids, want, "every event once, in order, no gaps");
    for (id, kind, data) in got {
        let row = &rows[(*id - 1) as usize];
        assert_eq!(row["seq"], *id);
        assert_eq!(row["kind"], kind.as_str(), "event: line = kind");
        assert_eq!(data["seq"], *id, "data.seq = id");
        assert_eq!(data["kind"], kind.as_str());
        assert_eq!(data["event"]["event"], kind.as_str());
        assert_eq!(
            data["event"], row["event"],
            "seq {id}: the stream carries the journaled event"
        );
        assert!(data["at"].is_string());
        // A call shows on a screen straight from the message: the ticket's
        // number comes with every event about a ticket, live or caught up.
        match data["event"]["ticket"].as_u64() {
            Some(t) => assert_eq!(
                data["ticket"],
                json!({"id": t, "number": numbers[&t]}),
                "seq {id}: the ticket's id and number"
            ),
            None => assert!(data["ticket"].is_null(), "seq {id}: {data}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_with_last_event_id_misses_nothing_and_repeats_nothing() {
    let s = start_demo().await;
    let sup = s.token("supervisor");
    let w01 = s.token("w01");
    s.act(1, "sign-in", &w01, None).await;
    let head = s.seq().await;

    // Without Last-Event-ID the stream starts at the head.
    let mut stream = SseStream::open(s.addr, "", Some(&sup), None).await;
    assert_eq!(stream.status, 200);
    assert!(
        stream
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"))
    );
    for _ in 0..3 {
        s.issue("tax").await;
    }
    s.act(1, "call-next", &w01, None).await;
    s.act(1, "start", &w01, None).await;
    // Kiosks issue concurrently while the stream is read.
    let addr = s.addr;
    let writer = tokio::spawn(async move {
        for _ in 0..30 {
            let r = send(
                addr,
                Req::new("POST", "/api/v1/tickets")
                    .auth(Some(KIOSK))
                    .json(&json!({"service": "medical"})),
            )
            .await;
            assert_eq!(r.status, 201);
        }
    });
    let mut got = stream.events_until(head + 6).await;
    writer.await.expect("writer");
    s.act(1, "finish", &w01, Some(json!({"outcome": "done"})))
        .await;
    let first_part_end = s.seq().await;
    got.extend(stream.events_until(first_part_end).await);
    assert_eq!(got.first().map(|e| e.0), Some(head + 1));
    drop(stream); // disconnect

    // More happens while nobody listens.
    s.issue("tax").await;
    s.act(1, "call-next", &w01, None).await;
    s.act(1, "recall", &w01, None).await;
    s.act(1, "no-show", &w01, None).await;
    let m = s.token("manager");
    s.act(11, "close", &m, None).await;
    let last_seen = got.last().expect("events").0;
    assert!(s.seq().await > last_seen + 4);

    let mut stream = SseStream::open(s.addr, "", Some(&sup), Some(last_seen)).await;
    assert_eq!(stream.status, 200);
    // And while it reconnects.
    s.act(11, "open", &m, None).await;
    let end = s.seq().await;
    got.extend(stream.events_until(end).await);
    // Nothing more, nothing twice.
    assert!(
        stream
            .next_event(Duration::from_millis(300))
            .await
            .is_none(),
        "no event after the last one"
    );

    let rows = s.journal_rows(&sup, 0).await;
    assert_eq!(rows.len() as u64, end);
    assert_matches_journal(&got, &rows, head + 1, end);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_zero_replays_from_the_start() {
    let s = start_demo().await;
    let w01 = s.token("w01");
    s.act(1, "sign-in", &w01, None).await;
    for _ in 0..5 {
        s.issue("medical").await;
    }
    s.act(1, "call-next", &w01, None).await;
    for who in [DISPLAY.to_string(), s.token("supervisor")] {
        let end = s.seq().await;
        let mut stream = SseStream::open(s.addr, "?after=0", Some(&who), None).await;
        assert_eq!(stream.status, 200);
        let got = stream.events_until(end).await;
        assert_eq!(got[0].1, "config_applied");
        let rows = s.journal_rows(&s.token("supervisor"), 0).await;
        assert_matches_journal(&got, &rows, 1, end);
        // Live after the replay.
        s.issue("tax").await;
        let (id, kind, _) = stream
            .next_event(Duration::from_secs(10))
            .await
            .expect("a live event");
        assert_eq!(id, s.seq().await);
        assert_eq!(kind, "ticket_issued");
    }
    // `?after=` and Last-Event-ID agree.
    let mut a = SseStream::open(s.addr, "?after=3", Some(DISPLAY), None).await;
    let mut b = SseStream::open(s.addr, "", Some(DISPLAY), Some(3)).await;
    let end = s.seq().await;
    let (ga, gb) = (a.events_until(end).await, b.events_until(end).await);
    assert_eq!(ga.first().map(|e| e.0), Some(4));
    assert_eq!(ga, gb);
    // A malformed `after` is a client mistake.
    let bad = SseStream::open(s.addr, "?after=-1", Some(DISPLAY), None).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screens_get_no_personal_data_auditors_do() {
    let s = start_demo().await;
    let id_no = "44010619850211002X";
    let r = s
        .post(
            "/api/v1/tickets",
            Some(KIOSK),
            json!({"service": "marriage", "person": id_no}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let ticket = r.json()["ticket"]["id"].clone();
    let end = s.seq().await;
    let issued = |got: &Received| {
        got.iter()
            .find(|(_, k, d)| k == "ticket_issued" && d["event"]["ticket"] == ticket)
            .map(|e| e.2.clone())
            .expect("issued")
    };
    let sup = s.token("supervisor");
    let mut auditor = SseStream::open(s.addr, "?after=0", Some(&sup), None).await;
    let a = issued(&auditor.events_until(end).await);
    let hash = a["event"]["person"]
        .as_str()
        .expect("the supervisor sees the person's hash")
        .to_string();
    assert!(!hash.contains(id_no));
    for who in [DISPLAY.to_string(), s.token("w01")] {
        let mut screen = SseStream::open(s.addr, "?after=0", Some(&who), None).await;
        let d = issued(&screen.events_until(end).await);
        assert!(
            d["event"].get("person").is_none_or(Value::is_null),
            "a screen must not see the person: {d}"
        );
        let text = d.to_string();
        assert!(!text.contains(&hash) && !text.contains(id_no), "{text}");
        assert_eq!(
            d["event"]["number"], a["event"]["number"],
            "otherwise the same event"
        );
    }
}

/// A client that resumes after a seq the journal does not have (the journal
/// was restored from an older backup, or the data directory was reset while
/// a screen kept its Last-Event-ID) must still get new events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_point_beyond_the_head_still_gets_new_events() {
    let s = start_demo().await;
    let head = s.seq().await;
    let mut stream = SseStream::open(s.addr, "", Some(DISPLAY), Some(head + 1000)).await;
    if (400..500).contains(&stream.status) {
        // Refusing the resume point is fine too: the screen starts over.
        Resp {
            status: stream.status,
            headers: stream.headers.clone(),
            body: stream.body.clone(),
        }
        .error_code();
        return;
    }
    assert_eq!(stream.status, 200);
    s.issue("tax").await;
    let got = stream.next_event(Duration::from_secs(3)).await;
    assert!(
        got.is_some(),
        "a new event must reach the screen (or the stream must be refused); it got nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_stays_open_and_a_garbage_last_event_id_starts_at_the_head() {
    let s = start_demo().await;
    let head = s.seq().await;
    let mut stream = SseStream::open(s.addr, "", Some(DISPLAY), None).await;
    let req = Req::new("GET", "/api/v1/events")
        .auth(Some(DISPLAY))
        .header("Last-Event-ID", "not-a-number");
    let mut garbage = SseStream::open_req(s.addr, req).await;
    assert_eq!(garbage.status, 200);
    assert!(
        stream.next(Duration::from_millis(500)).await.is_none(),
        "nothing happened, nothing sent"
    );
    s.issue("tax").await;
    for st in [&mut stream, &mut garbage] {
        let (id, kind, _) = st.next_event(Duration::from_secs(10)).await.expect("event");
        assert_eq!((id, kind.as_str()), (head + 1, "ticket_issued"));
    }
}

/// Keep-alive comments arrive on an idle stream (every 15 s). Slow: run
/// with `--ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: waits up to 20 s for the 15 s keep-alive comment"]
async fn keep_alive_comments_on_an_idle_stream() {
    let s = start_demo().await;
    let mut stream = SseStream::open(s.addr, "", Some(DISPLAY), None).await;
    match stream.next(Duration::from_secs(20)).await {
        Some(Sse::Comment(_)) => {}
        other => panic!("expected a keep-alive comment, got {other:?}"),
    }
}
