//! The daemon's forecaster behind the API: once it has looked ahead, ticket
//! and service estimates say `method: "lookahead"`; where it cannot say
//! anything (nobody staffs the service), the classic estimate stays, labelled.

mod common;

use std::time::Duration;

use common::{KIOSK, TestServer, demo_config_at_noon};
use serde_json::Value;

/// The in-process hall of `common::start`, with the forecaster running as
/// in `hallq serve`; at about noon of the hall's day, so the rest of the day
/// is long enough for the waiting tickets to be called.
async fn start_with_forecast() -> TestServer {
    common::start_with(demo_config_at_noon(), |state| {
        let forecast = hallq::forecast::runner::spawn(
            state.hall.clone(),
            state.config.get(),
            state.journal_path.clone(),
        );
        state.with_forecast(forecast)
    })
    .await
}

async fn estimate_of(s: &TestServer, id: u64) -> Value {
    let r = s.get(&format!("/api/v1/tickets/{id}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["ticket"]["wait_estimate"].clone()
}

/// Polls until the ticket's estimate comes from the look-ahead (the
/// forecaster runs at most once a second after a change).
async fn lookahead_estimate(s: &TestServer, id: u64) -> Value {
    for _ in 0..300 {
        let e = estimate_of(s, id).await;
        if e["method"] == "lookahead" {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("ticket {id} never got a look-ahead estimate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estimates_come_from_the_lookahead_once_it_has_run() {
    let s = start_with_forecast().await;
    let tok = s.token("w01");
    s.act(1, "sign-in", &tok, None).await;
    // Nobody staffs the windows of this service.
    let unstaffed = s.issue("hukou").await;
    let first = s.issue("tax").await;
    assert_eq!(first["wait_estimate"]["method"], "classic");
    let mut ids = vec![first["id"].as_u64().expect("id")];
    for _ in 0..4 {
        ids.push(s.issue("tax").await["id"].as_u64().expect("id"));
    }
    let last = lookahead_estimate(&s, ids[4]).await;
    let early = lookahead_estimate(&s, ids[0]).await;
    for e in [&early, &last] {
        let (lo, mid, hi) = (e["low"].as_u64(), e["minutes"].as_u64(), e["high"].as_u64());
        assert!(lo <= mid && mid <= hi, "interval around the median: {e}");
    }
    // Four tickets ahead of the last one at a single staffed window.
    assert!(
        last["minutes"].as_u64() > early["minutes"].as_u64(),
        "the fifth in line waits longer than the first: {early} vs {last}"
    );
    assert!(last["high"].as_u64() > Some(0));
    // The forecast that covers the tax tickets is newer than the hukou
    // ticket, and says nothing useful about it: it stays classic.
    let e = estimate_of(&s, unstaffed["id"].as_u64().expect("id")).await;
    assert_eq!(e["method"], "classic", "{e}");

    // A citizen taking a tax ticket now: the look-ahead's new-arrival estimate.
    let mut found = Value::Null;
    for _ in 0..100 {
        let r = s.get("/api/v1/services", Some(KIOSK)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let list = r.json()["services"].clone();
        let tax = list
            .as_array()
            .expect("services")
            .iter()
            .find(|x| x["id"] == "tax")
            .cloned()
            .expect("tax");
        if tax["estimate"]["method"] == "lookahead" {
            found = tax;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found["estimate"]["method"], "lookahead", "{found}");
    assert!(
        found["estimate"]["minutes"].as_u64() >= last["minutes"].as_u64(),
        "a new arrival is behind the fifth ticket: {found} vs {last}"
    );
}
