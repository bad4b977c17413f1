//! Client mistakes get a 4xx with our JSON error shape
//! (`{"error":{"code","message","message_en"}}`), never a 5xx, change
//! nothing, and the daemon keeps serving. Also: Idempotency-Key, the
//! per-client rate limits, and the account lock after 5 wrong passwords.

mod common;

use common::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// What a bad request must get: exactly this status and code, or (for
/// `ANY_4XX`) any 4xx with our JSON error shape.
const ANY_4XX: u16 = 0;

/// (method, path, token, content type, body, status, code).
type BodyCase<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Vec<u8>,
    u16,
    &'a str,
);

#[track_caller]
fn check(what: &str, r: &Resp, status: u16, code: &str) {
    assert!(
        r.status < 500,
        "{what}: a client mistake got {}: {}",
        r.status,
        r.text()
    );
    assert!(
        (400..500).contains(&r.status),
        "{what}: not a 4xx but {}: {}",
        r.status,
        r.text()
    );
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{what}: {} without our JSON error: {:?} {:?}",
        r.status,
        r.headers,
        r.text()
    );
    let got = r.error_code();
    if status != ANY_4XX {
        assert_eq!(
            (r.status, got.as_str()),
            (status, code),
            "{what}: {}",
            r.text()
        );
    }
    assert!(
        !r.text().contains("root:"),
        "{what}: leaked a file: {}",
        r.text()
    );
}

/// The server still answers and still issues.
async fn still_serving(s: &TestServer) {
    let r = s.get("/healthz", None).await;
    assert_eq!(r.status, 200, "healthz after bad input: {}", r.text());
    let r = s
        .post("/api/v1/tickets", Some(KIOSK), json!({"service": "tax"}))
        .await;
    assert_eq!(r.status, 201, "issue after bad input: {}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_get_json_4xx_and_change_nothing() {
    let s = start_demo().await;
    let w01 = s.token("w01");
    let m = s.token("manager");
    let admin = s.token("admin");
    s.act(1, "sign-in", &w01, None).await;
    s.issue("tax").await;
    s.act(1, "call-next", &w01, None).await;
    s.act(1, "start", &w01, None).await;
    let seq = s.seq().await;

    let json_ct = Some("application/json");
    let long_reason = "理".repeat(201);
    let nested = format!("{}{}", "[".repeat(3000), "]".repeat(3000));
    let too_many: Vec<Value> = (0..201)
        .map(|i| json!({"service": format!("s{i}"), "weight": 1}))
        .collect();
    #[rustfmt::skip]
    let cases: Vec<BodyCase> = vec![
        // (method, path, token, content type, body, status, code)
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, b"{\"service\":".to_vec(), 400, "bad_json"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, b"not json at all".to_vec(), 400, "bad_json"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, b"".to_vec(), 400, "bad_json"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, b"{\"service\":\"tax\"} trailing".to_vec(), 400, "bad_json"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, b"{\"service\":\"t\xffx\"}".to_vec(), ANY_4XX, ""),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, nested.into_bytes(), ANY_4XX, ""),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, b"[]".to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, b"{}".to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, br#"{"service":"tax","foo":1}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, br#"{"service":5}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, br#"{"service":"tax","cases":"three"}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, br#"{"service":"tax","cases":-1}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, br#"{"service":"tax","cases":4294967296}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, br#"{"service":"tax","cases":1.5}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, br#"{"service":"tax","cases":1e400}"#.to_vec(), ANY_4XX, ""),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, br#"{"service":"tax","priority":["green"]}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, br#"{"service":"../../etc/passwd"}"#.to_vec(), 422, "unknown_service"),
        ("POST", "/api/v1/tickets", Some(KIOSK), json_ct, br#"{"service":"tax\u0000"}"#.to_vec(), 422, "unknown_service"),
        ("POST", "/api/v1/tickets", Some(KIOSK), Some("text/plain"), br#"{"service":"tax"}"#.to_vec(), 415, "json_required"),
        ("POST", "/api/v1/tickets", Some(KIOSK), Some("application/x-www-form-urlencoded"), b"service=tax".to_vec(), 415, "json_required"),
        ("POST", "/api/v1/tickets", Some(KIOSK), None, br#"{"service":"tax"}"#.to_vec(), 415, "json_required"),
        ("POST", "/api/v1/sessions", None, json_ct, br#"{"account":"w01"}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/sessions", None, json_ct, br#"{"account":"w01","password":"demo","otp":1}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/sessions", None, Some("text/plain"), b"w01:demo".to_vec(), 415, "json_required"),
        ("POST", "/api/v1/windows/1/finish", Some(&w01), json_ct, br#"{"outcome":"great"}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/windows/1/finish", Some(&w01), json_ct, br#"{}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/windows/1/transfer", Some(&w01), json_ct, br#"{"window":-3}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/windows/1/transfer", Some(&w01), json_ct, br#"{"window":"two"}"#.to_vec(), 422, "invalid_body"),
        // serde_json calls a number where an enum is expected a syntax error: 400, still our shape.
        ("POST", "/api/v1/windows/1/pause", Some(&w01), json_ct, br#"{"reason":5}"#.to_vec(), ANY_4XX, ""),
        ("POST", "/api/v1/windows/1/call", Some(&w01), json_ct, br#"{"ticket":null,"reason":"x"}"#.to_vec(), 422, "invalid_body"),
        ("PUT", "/api/v1/windows/1/services", Some(&m), json_ct, br#"{"services":"all"}"#.to_vec(), 422, "invalid_body"),
        ("PUT", "/api/v1/windows/1/services", Some(&m), json_ct, serde_json::to_vec(&json!({"services": too_many})).unwrap(), 422, "too_many_services"),
        ("PUT", "/api/v1/windows/1/services", Some(&m), json_ct, br#"{"services":[{"service":"tax","weight":-1}]}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/windows/1/transfer", Some(&w01), json_ct, serde_json::to_vec(&json!({"service": "invoice", "reason": long_reason})).unwrap(), 422, "reason_too_long"),
        ("POST", "/api/v1/windows/1/finish", Some(&w01), json_ct, serde_json::to_vec(&json!({"outcome": "rejected", "reason": long_reason})).unwrap(), 422, "reason_too_long"),
        ("POST", "/api/v1/sessions/password", Some(&w01), json_ct, br#"{"old_password":"demo"}"#.to_vec(), 422, "invalid_body"),
        ("POST", "/api/v1/accounts/w02/password", Some(&admin), json_ct, br#"{"new_password":12345678}"#.to_vec(), 422, "invalid_body"),
    ];
    for (method, path, token, ct, body, status, code) in cases {
        let mut req = Req::new(method, path).auth(token).raw_body(body.clone());
        if let Some(ct) = ct {
            req = req.header("Content-Type", ct);
        }
        let r = s.send(req).await;
        check(
            &format!(
                "{method} {path} {:?}",
                String::from_utf8_lossy(&body[..body.len().min(60)])
            ),
            &r,
            status,
            code,
        );
    }
    // Charset parameters are fine.
    let r = s
        .send(
            Req::new("POST", "/api/v1/tickets")
                .auth(Some(KIOSK))
                .header("Content-Type", "application/json; charset=utf-8")
                .raw_body(br#"{"service":"medical"}"#.to_vec()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        s.seq().await,
        seq + 1,
        "only the valid issue changed the hall"
    );
    still_serving(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_paths_queries_and_traversal_attempts() {
    let s = start_demo().await;
    let w01 = s.token("w01");
    let admin = s.token("admin");
    let sup = s.token("supervisor");
    s.issue("tax").await;
    let seq = s.seq().await;
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, Option<&str>, u16, &str)> = vec![
        // Numbers in paths: negative, overflowing, not numbers.
        ("GET", "/api/v1/windows/-1", Some(DISPLAY), 400, "bad_path"),
        ("GET", "/api/v1/windows/4294967296", Some(DISPLAY), 400, "bad_path"),
        ("GET", "/api/v1/windows/99999999999999999999999", Some(DISPLAY), 400, "bad_path"),
        ("GET", "/api/v1/windows/abc", Some(DISPLAY), 400, "bad_path"),
        ("GET", "/api/v1/windows/1.0", Some(DISPLAY), 400, "bad_path"),
        ("POST", "/api/v1/windows/-1/call-next", Some(&w01), 400, "bad_path"),
        ("POST", "/api/v1/windows/18446744073709551616/sign-in", Some(&w01), 400, "bad_path"),
        ("GET", "/api/v1/tickets/-5", None, 400, "bad_path"),
        ("GET", "/api/v1/tickets/18446744073709551616", None, 400, "bad_path"),
        ("GET", "/api/v1/tickets/1e3", None, 400, "bad_path"),
        ("GET", "/api/v1/tickets/0x10", None, 400, "bad_path"),
        // Unknown things.
        ("GET", "/api/v1/windows/999", Some(DISPLAY), 404, "not_found"),
        ("GET", "/api/v1/windows/0", Some(DISPLAY), 404, "not_found"),
        ("POST", "/api/v1/windows/999/sign-in", Some(&w01), 404, "unknown_window"),
        ("POST", "/api/v1/windows/0/call-next", Some(&w01), 404, "unknown_window"),
        ("GET", "/api/v1/tickets/999999", None, 404, "not_found"),
        ("GET", "/api/v1/tickets/0", None, 404, "not_found"),
        ("GET", "/api/v1/nothing-here", None, 404, "not_found"),
        ("GET", "/api/v2/hall", Some(&sup), 404, "not_found"),
        // Queries.
        ("GET", "/api/v1/tickets", Some(&sup), 400, "bad_query"),
        ("GET", "/api/v1/tickets?day=2024-13-01", Some(&sup), 400, "bad_query"),
        ("GET", "/api/v1/tickets?day=yesterday", Some(&sup), 400, "bad_query"),
        ("GET", "/api/v1/tickets?day=2024-01-01&x=1", Some(&sup), 400, "bad_query"),
        ("GET", "/api/v1/journal?after=-1", Some(&sup), 400, "bad_query"),
        ("GET", "/api/v1/journal?after=abc", Some(&sup), 400, "bad_query"),
        ("GET", "/api/v1/journal?limit=-1", Some(&sup), 400, "bad_query"),
        ("GET", "/api/v1/journal?after=18446744073709551616", Some(&sup), 400, "bad_query"),
        // Path traversal and encoded NULs: nothing is ever read from disk.
        ("GET", "/../../etc/passwd", None, 404, "not_found"),
        ("GET", "/%2e%2e/%2e%2e/etc/passwd", None, 404, "not_found"),
        ("GET", "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", None, 404, "not_found"),
        ("GET", "/api/v1/../../etc/passwd", None, 404, "not_found"),
        ("GET", "/api/v1/tickets/..%2f..%2fetc%2fpasswd", None, 400, "bad_path"),
        ("GET", "/api/v1/tickets/%2e%2e", None, 400, "bad_path"),
        ("GET", "/api/v1/tickets/1%00", None, 400, "bad_path"),
        ("GET", "/api/v1/windows/1%00", Some(DISPLAY), 400, "bad_path"),
        ("GET", "/api/v1/windows/1%00/../../etc/passwd", Some(DISPLAY), 404, "not_found"),
        ("GET", "/%00", None, 404, "not_found"),
        ("GET", "/healthz%00", None, 404, "not_found"),
        ("GET", "/static/..%2f..%2fetc/passwd", None, 404, "not_found"),
        ("GET", "/displays/../../../etc/passwd", None, 404, "not_found"),
        ("GET", "//etc/passwd", None, 404, "not_found"),
        ("GET", "/api/v1/hall/..;/journal", Some(&sup), 404, "not_found"),
        ("GET", "/api/v1/hall%2f..%2fjournal", Some(&sup), 404, "not_found"),
        ("GET", "/openapi.json/../../etc/passwd", None, 404, "not_found"),
        ("POST", "/api/v1/accounts/..%2F..%2Fetc%2Fpasswd/password", Some(&admin), 404, "not_found"),
        ("POST", "/api/v1/accounts/w01%00/password", Some(&admin), 404, "not_found"),
    ];
    for (method, path, token, status, code) in cases {
        let mut req = Req::new(method, path).auth(token);
        if path.contains("/accounts/") {
            req = req.json(&json!({"new_password": "Some-Strong-Pass-1"}));
        }
        let r = s.send(req).await;
        check(&format!("{method} {path}"), &r, status, code);
    }
    // Odd headers.
    let long = "x".repeat(600);
    for auth in [
        format!("Bearer {long}"),
        "Bearer".to_string(),
        "Bearer    ".to_string(),
        "Token abc".to_string(),
        "Bearer a b c".to_string(),
    ] {
        let r = s
            .send(Req::new("GET", "/api/v1/hall").header("Authorization", &auth))
            .await;
        check(
            &format!("Authorization: {}", &auth[..auth.len().min(20)]),
            &r,
            401,
            "unauthorized",
        );
    }
    let r = s.send_raw_bytes(b"GET /api/v1/hall HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer \xff\xfe\r\n\r\n").await;
    check("non-UTF-8 Authorization", &r, 401, "unauthorized");
    assert_eq!(s.seq().await, seq, "bad requests changed nothing");
    still_serving(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_bodies_get_413() {
    let s = start_demo().await;
    let w01 = s.token("w01");
    let seq = s.seq().await;
    let big = format!(
        r#"{{"service":"tax","appointment":"{}"}}"#,
        "x".repeat(17 * 1024)
    );
    for (path, token) in [
        ("/api/v1/tickets", Some(KIOSK)),
        ("/api/v1/sessions", None),
        ("/api/v1/windows/1/finish", Some(w01.as_str())),
    ] {
        let r = s
            .send(
                Req::new("POST", path)
                    .auth(token)
                    .header("Content-Type", "application/json")
                    .raw_body(big.clone().into_bytes()),
            )
            .await;
        check(&format!("17 KiB to {path}"), &r, 413, "body_too_large");
    }
    // Just under the limit is read (and refused for what it says, not its size).
    let fits = format!(
        r#"{{"service":"tax","appointment":"{}"}}"#,
        "x".repeat(15 * 1024)
    );
    let r = s
        .send(
            Req::new("POST", "/api/v1/tickets")
                .auth(Some(KIOSK))
                .header("Content-Type", "application/json")
                .raw_body(fits.into_bytes()),
        )
        .await;
    check("15 KiB appointment code", &r, 422, "bad_appointment");
    assert_eq!(s.seq().await, seq);
    still_serving(&s).await;
}

/// A declared Content-Length beyond the limit must be refused at once, not
/// after waiting for a body that may never come (each such request holds a
/// connection and a task for the whole request timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_content_length_is_refused_at_once() {
    let s = start_demo().await;
    let head = format!(
        "POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {KIOSK}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{{\"service\":"
    );
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        s.send_raw_bytes(head.as_bytes()),
    )
    .await
    .expect("answered within 3 s, without waiting for the body");
    check("Content-Length: 100 MB", &r, 413, "body_too_large");
}

/// A request that runs out of time (here: a body that stops coming) is a
/// client mistake and gets our JSON error too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_timeout_is_a_json_error() {
    let s = start_demo().await;
    let head = format!(
        "POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {KIOSK}\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n{{\"service\":"
    );
    let r = s.send_raw_bytes(head.as_bytes()).await;
    check("a body that stops coming", &r, 408, "request_timeout");
}

/// A method a route does not have is a client mistake too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_get_a_json_405() {
    let s = start_demo().await;
    let sup = s.token("supervisor");
    for (method, path) in [
        ("GET", "/api/v1/windows/1/call-next"),
        ("DELETE", "/api/v1/hall"),
        ("PUT", "/api/v1/tickets"),
        ("PATCH", "/healthz"),
    ] {
        let r = s.send(Req::new(method, path).auth(Some(&sup))).await;
        check(&format!("{method} {path}"), &r, 405, "method_not_allowed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_are_4xx_and_change_nothing() {
    let s = start_demo().await;
    let sup = s.token("supervisor");
    let seq = s.seq().await;
    for (method, path) in [
        ("GET", "/api/v1/windows/1/call-next"),
        ("DELETE", "/api/v1/hall"),
        ("PUT", "/api/v1/tickets"),
        ("PATCH", "/healthz"),
    ] {
        let r = s.send(Req::new(method, path).auth(Some(&sup))).await;
        assert_eq!(r.status, 405, "{method} {path}: {}", r.text());
    }
    assert_eq!(s.seq().await, seq);
    still_serving(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys() {
    let s = start_demo().await;
    let seq = s.seq().await;
    for key in ["has space", "", "ключ", &"k".repeat(129), "tab\there"] {
        let r = s
            .send(
                Req::new("POST", "/api/v1/tickets")
                    .auth(Some(KIOSK))
                    .header("Idempotency-Key", key)
                    .json(&json!({"service": "tax"})),
            )
            .await;
        check(
            &format!("Idempotency-Key {key:?}"),
            &r,
            400,
            "bad_idempotency_key",
        );
    }
    assert_eq!(s.seq().await, seq, "a bad key issues nothing");

    // The same key retried: the same ticket, once.
    let issue = |key: &str| {
        let s = &s;
        let key = key.to_string();
        async move {
            s.send(
                Req::new("POST", "/api/v1/tickets")
                    .auth(Some(KIOSK))
                    .header("Idempotency-Key", &key)
                    .json(&json!({"service": "tax"})),
            )
            .await
        }
    };
    let a = issue("kiosk-3-000042").await;
    let b = issue("kiosk-3-000042").await;
    assert_eq!(
        (a.status, b.status),
        (201, 201),
        "{} / {}",
        a.text(),
        b.text()
    );
    assert_eq!(a.json()["ticket"]["id"], b.json()["ticket"]["id"]);
    assert_eq!(a.json()["ticket"]["number"], b.json()["ticket"]["number"]);
    // The same key with a different request is refused and issues nothing,
    // rather than answering with the first ticket as if it were this one.
    let seq_before = s.seq().await;
    let other = s
        .send(
            Req::new("POST", "/api/v1/tickets")
                .auth(Some(KIOSK))
                .header("Idempotency-Key", "kiosk-3-000042")
                .json(&json!({"service": "tax", "cases": 2})),
        )
        .await;
    check("a key reused", &other, 422, "idempotency_key_reused");
    assert_eq!(s.seq().await, seq_before, "a reused key applies nothing");
    let c = issue(&"k".repeat(128)).await;
    assert_eq!(c.status, 201, "128 characters is allowed");
    assert_ne!(
        c.json()["ticket"]["id"],
        a.json()["ticket"]["id"],
        "another key, another ticket"
    );
    // A burst of double taps, concurrently.
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let addr = s.addr;
            tokio::spawn(async move {
                send(
                    addr,
                    Req::new("POST", "/api/v1/tickets")
                        .auth(Some(KIOSK))
                        .header("Idempotency-Key", "double-tap")
                        .json(&json!({"service": "tax"})),
                )
                .await
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let r = t.await.expect("task");
        assert_eq!(r.status, 201, "{}", r.text());
        ids.insert(r.json()["ticket"]["id"].as_u64().unwrap());
    }
    assert_eq!(ids.len(), 1, "concurrent retries got one ticket: {ids:?}");
    let waiting = s.query(|h| h.waiting_for("tax")).await;
    assert_eq!(waiting, 3, "three keys, three tickets");
    let issued = s
        .journal_rows(&s.token("supervisor"), 0)
        .await
        .iter()
        .filter(|r| r["kind"] == "ticket_issued")
        .count();
    assert_eq!(issued, 3);

    // A counter retry never skips a citizen.
    let w01 = s.token("w01");
    s.act(1, "sign-in", &w01, None).await;
    let call = || {
        let s = &s;
        let w01 = w01.clone();
        async move {
            s.send(
                Req::new("POST", "/api/v1/windows/1/call-next")
                    .auth(Some(&w01))
                    .header("Idempotency-Key", "tap-1"),
            )
            .await
        }
    };
    let first = call().await;
    let again = call().await;
    assert_eq!((first.status, again.status), (200, 200), "{}", again.text());
    assert_eq!(first.json()["ticket"]["id"], again.json()["ticket"]["id"]);
    assert_eq!(first.json()["replayed"], false);
    assert_eq!(again.json()["replayed"], true);
    assert_eq!(
        s.query(|h| h.waiting_for("tax")).await,
        2,
        "one call, one citizen"
    );
    let r = s
        .send(
            Req::new("POST", "/api/v1/windows/1/start")
                .auth(Some(&w01))
                .header("Idempotency-Key", "x y"),
        )
        .await;
    check(
        "bad key on a counter action",
        &r,
        400,
        "bad_idempotency_key",
    );
    let called = s
        .query(|h| {
            h.window(1)
                .and_then(|w| w.current)
                .and_then(|t| h.ticket(t))
                .map(|t| format!("{:?}", t.status))
        })
        .await;
    assert_eq!(
        called.as_deref(),
        Some("Called"),
        "a refused key starts nothing"
    );
}

/// A small hall with tight rate limits.
fn limited_config() -> hallq::config::Config {
    let kiosk_sha = hex::encode(Sha256::digest(b"limited-kiosk-key"));
    let text = format!(
        r#"
[hall]
name = "限流测试大厅"
timezone = "Asia/Shanghai"

[server]
issues_per_minute = 6
sign_ins_per_minute = 6

[[zone]]
id = "main"
name = "大厅"
floor = 1

[[department]]
id = "office"
name = "管理办"

[[service]]
id = "plain"
name = "普通业务"
department = "office"
prefix = "A"
matter_class = "immediate"
expected_minutes = 5

[[window]]
number = 1
name = "一号窗"
kind = "comprehensive"
department = "office"
zone = "main"
services = [{{ service = "plain" }}]

[[staff]]
account = "clerk"
job_number = "P001"
name = "一号"

[calendar]
issue_cutoff_minutes = 0
extended_service = true

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
from = "00:00"
to = "24:00"

[[api_key]]
id = "kiosk-1"
role = "kiosk"
sha256 = "{kiosk_sha}"
"#
    );
    hallq::config::Config::from_toml_str("limited.toml", &text).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_faster_than_the_rate_gets_429() {
    let s = start(limited_config()).await;
    assert_eq!(s.config.file.server.issues_per_minute, 6);
    let issue = || {
        s.post(
            "/api/v1/tickets",
            Some("limited-kiosk-key"),
            json!({"service": "plain"}),
        )
    };
    // The burst (20) goes through, then the refill of 6 a minute is far too slow.
    let mut ok = 0;
    let mut limited = None;
    for _ in 0..25 {
        let r = issue().await;
        match r.status {
            201 => ok += 1,
            _ => {
                limited = Some(r);
                break;
            }
        }
    }
    let r = limited.expect("the kiosk was limited");
    check("issue beyond the rate", &r, 429, "rate_limited");
    assert!((20..=21).contains(&ok), "burst of 20, got {ok}");
    let seq = s.seq().await;
    check("still limited", &issue().await, 429, "rate_limited");
    assert_eq!(s.seq().await, seq, "a limited request issues nothing");
    assert_eq!(s.query(|h| h.waiting()).await, ok);
    // Other routes still answer, and another kiosk (another address) is not limited.
    assert_eq!(s.get("/healthz", None).await.status, 200);
    let other = Req::new("POST", "/api/v1/tickets")
        .auth(Some("limited-kiosk-key"))
        .json(&json!({"service": "plain"}));
    let r = send_from(s.addr, std::net::Ipv4Addr::new(127, 0, 0, 2), other).await;
    assert_eq!(r.status, 201, "the limit is per client: {}", r.text());

    // Sign-ins: a burst of 10, then 429.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(s.http_sign_in("clerk", "wrong-password").await.status);
    }
    assert!(
        statuses[..10].iter().all(|&st| st == 401 || st == 403),
        "{statuses:?}"
    );
    assert_eq!(statuses[10..], [429, 429], "{statuses:?}");
    check(
        "sign-in beyond the rate",
        &s.http_sign_in("clerk", "x").await,
        429,
        "rate_limited",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_passwords_lock_the_account() {
    let s = start_demo().await;
    for i in 1..=4 {
        let r = s.http_sign_in("w05", &format!("wrong-{i}")).await;
        check(&format!("wrong password {i}"), &r, 401, "bad_credentials");
    }
    let fifth = s.http_sign_in("w05", "wrong-5").await;
    assert!(matches!(fifth.status, 401 | 403), "{}", fifth.text());
    let code = fifth.error_code();
    assert!(
        code == "bad_credentials" || code == "account_locked",
        "{code}"
    );
    check(
        "right password after 5 wrong",
        &s.http_sign_in("w05", "demo").await,
        403,
        "account_locked",
    );
    // Others are not affected.
    assert_eq!(s.http_sign_in("w06", "demo").await.status, 201);
    // An unknown account behaves the same (no probing of names).
    for i in 1..=5 {
        let r = s.http_sign_in("ghost", &format!("wrong-{i}")).await;
        assert!(matches!(r.status, 401 | 403), "{}", r.text());
    }
    check(
        "unknown account after 5 tries",
        &s.http_sign_in("ghost", "demo").await,
        403,
        "account_locked",
    );
    // The record has the failures and the lock of the real account only.
    let rows = s.journal_rows(&s.token("supervisor"), 0).await;
    let activity = |acct: &str, what: &str| {
        rows.iter()
            .filter(|r| {
                r["kind"] == "account_activity"
                    && r["event"]["account"] == acct
                    && r["event"]["activity"] == what
            })
            .count()
    };
    assert!(activity("w05", "sign_in_failed") >= 4);
    assert!(activity("w05", "locked") >= 1);
    assert_eq!(
        rows.iter()
            .filter(|r| r["event"]["account"] == "ghost")
            .count(),
        0
    );
    // A wrong current password in a change counts too.
    let tok = s.token("w07");
    for i in 1..=4 {
        let r = s
            .post(
                "/api/v1/sessions/password",
                Some(&tok),
                json!({"old_password": "nope", "new_password": "Brand-New-Pass-7"}),
            )
            .await;
        check(
            &format!("wrong current password {i}"),
            &r,
            403,
            "wrong_password",
        );
    }
    let r = s
        .post(
            "/api/v1/sessions/password",
            Some(&tok),
            json!({"old_password": "nope", "new_password": "Brand-New-Pass-7"}),
        )
        .await;
    check("wrong current password 5", &r, ANY_4XX, "");
    check(
        "sign-in after 5 wrong current passwords",
        &s.http_sign_in("w07", "demo").await,
        403,
        "account_locked",
    );
}

/// `account_locked` is 403 at sign-in; a password change of a locked
/// account should say the same, not 422 (the request is well-formed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_account_is_403_on_password_change_too() {
    let s = start_demo().await;
    let tok = s.token("w07");
    for _ in 0..5 {
        let _ = s.http_sign_in("w07", "wrong").await;
    }
    check(
        "sign-in",
        &s.http_sign_in("w07", "demo").await,
        403,
        "account_locked",
    );
    let r = s
        .post(
            "/api/v1/sessions/password",
            Some(&tok),
            json!({"old_password": "demo", "new_password": "Brand-New-Pass-7"}),
        )
        .await;
    check("password change while locked", &r, 403, "account_locked");
}
