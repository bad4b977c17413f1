//! SECURITY.md's claims about the running daemon, shown on the real binary:
//! silent and slow clients are cut off, the logs never hold an id number,
//! a person hash, a password or a token (text and JSON formats), and the
//! secrets in the data directory are readable by the daemon's user only.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The daemon's limit for a connection that stopped talking.
const QUIET_LIMIT: Duration = hallq::daemon::serve::HEADER_READ_TIMEOUT;

/// How long the daemon may take to close a connection that stopped
/// talking: its limit with a wide margin for a loaded CI machine.
const CUT_OFF_PATIENCE: Duration = Duration::from_secs(60);

/// Reads until the server closes the connection (EOF or reset); returns
/// what it sent and when it closed. Panics if it stays open for
/// `CUT_OFF_PATIENCE`.
async fn until_closed(what: &str, mut conn: TcpStream, started: Instant) -> (Vec<u8>, Duration) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = CUT_OFF_PATIENCE.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Err(_) => panic!(
                "{what}: still open after {} s; got {:?}",
                CUT_OFF_PATIENCE.as_secs(),
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return (got, started.elapsed()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// A slowloris holds connections open by never finishing a request. The
/// daemon closes a connection that sends nothing, one whose headers stop
/// half-way, and an idle kept-alive one, and goes on serving others; an
/// event stream opened before them is not cut off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_slow_clients_are_cut_off() {
    let d = Hallq::serve_demo(&[], &[]).await;
    let mut stream = SseStream::open(d.addr, "", Some(DISPLAY), None).await;
    assert_eq!(stream.status, 200);
    let started = Instant::now();
    // 1. Connects and says nothing.
    let silent = TcpStream::connect(d.addr).await.expect("connect");
    // 2. Starts a request and never finishes its headers.
    let mut half = TcpStream::connect(d.addr).await.expect("connect");
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: hall\r\nX-Slow: ")
        .await
        .expect("write");
    // 3. One complete request, then another within the limit on the same
    // connection (keep-alive works), then the connection is left idle.
    let mut idle = TcpStream::connect(d.addr).await.expect("connect");
    let request = b"GET /healthz HTTP/1.1\r\nHost: hall\r\n\r\n";
    idle.write_all(request).await.expect("write");
    let mut first = [0u8; 1024];
    let n = idle.read(&mut first).await.expect("the first answer");
    // (A read may hold only part of the answer; the rest comes below.)
    let first = String::from_utf8_lossy(&first[..n]).into_owned();
    assert!(first.starts_with("HTTP/1.1 200"), "{first:?}");
    tokio::time::sleep(QUIET_LIMIT / 5).await;
    idle.write_all(request).await.expect("write");
    let ((silent, silent_at), (half, half_at), (idle, idle_at)) = tokio::join!(
        until_closed("a silent connection", silent, started),
        until_closed("unfinished headers", half, started),
        until_closed("an idle kept-alive connection", idle, started),
    );
    assert!(silent.is_empty(), "{:?}", String::from_utf8_lossy(&silent));
    assert!(
        !String::from_utf8_lossy(&half).contains("200 OK"),
        "unfinished headers were served: {:?}",
        String::from_utf8_lossy(&half)
    );
    let idle = first + &String::from_utf8_lossy(&idle);
    assert_eq!(
        idle.matches("HTTP/1.1 200").count(),
        2,
        "the second request, sent after {:?} idle, was answered on the same connection: {idle:?}",
        QUIET_LIMIT / 5
    );
    // None of them was cut off before its limit.
    for (what, at) in [("silent", silent_at), ("half", half_at), ("idle", idle_at)] {
        assert!(
            at >= QUIET_LIMIT,
            "the {what} connection was closed after {at:?}, before the limit {QUIET_LIMIT:?}"
        );
    }
    // The daemon lives and serves.
    let r = send(d.addr, Req::new("GET", "/healthz")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The event stream, open all along, still delivers.
    let r = send(
        d.addr,
        Req::new("POST", "/api/v1/tickets")
            .auth(Some(KIOSK))
            .json(&json!({"service": "tax"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let mut seen = Vec::new();
    loop {
        match stream.next(Duration::from_secs(30)).await {
            Some(Sse::Event { event, .. }) if event.as_deref() == Some("ticket_issued") => break,
            Some(m) => seen.push(m),
            None => panic!(
                "the event stream was cut off after {} s; it delivered {} messages",
                started.elapsed().as_secs(),
                seen.len()
            ),
        }
    }
    d.stop().await;
}

/// What must never reach a log line.
struct Secrets {
    id_numbers: Vec<String>,
    person_hashes: Vec<String>,
    passwords: Vec<String>,
    tokens: Vec<String>,
}

/// Drives every path that handles an id number, a password or a token:
/// tickets issued with id numbers (valid, refused as malformed, over the
/// per-person cap), sign-ins with wrong and right passwords (up to a lock),
/// a password change and an admin's reset, requests with a stolen-looking
/// token, sign-out. Returns what was used.
async fn exercise(d: &Hallq) -> Secrets {
    let id = "110101199003074578";
    let id_x = "11010119900307123x";
    let bad_id = "11010119900307457!@#-not-an-id";
    let issue = |body: serde_json::Value| {
        send(
            d.addr,
            Req::new("POST", "/api/v1/tickets")
                .auth(Some(KIOSK))
                .json(&body),
        )
    };
    for (person, want) in [(id, 201), (id_x, 201), (bad_id, 422)] {
        let r = issue(json!({"service": "tax", "person": person})).await;
        assert_eq!(r.status, want, "issue for {person}: {}", r.text());
    }
    // Over the per-person cap, or refused for another reason: never logged.
    for _ in 0..5 {
        let _ = issue(json!({"service": "tax", "person": id})).await;
    }
    // A body the server cannot parse, with an id number in it.
    let r = send(
        d.addr,
        Req::new("POST", "/api/v1/tickets")
            .auth(Some(KIOSK))
            .header("Content-Type", "application/json")
            .raw_body(format!(r#"{{"service":"tax","person":"{id}""#)),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());

    let sign_in = |account: &str, password: &str| {
        send(
            d.addr,
            Req::new("POST", "/api/v1/sessions")
                .json(&json!({"account": account, "password": password})),
        )
    };
    let wrong = "Wrong-Guess-Passw0rd";
    for _ in 0..6 {
        let r = sign_in("w05", wrong).await;
        assert!(matches!(r.status, 401 | 403), "{}", r.text());
    }
    let r = sign_in("nobody-here", wrong).await;
    assert_eq!(r.status, 401, "{}", r.text());

    let w04 = d.token("w04").await;
    let changed = "Qiu-Shui-Secret-2024";
    let r = send(
        d.addr,
        Req::new("POST", "/api/v1/sessions/password")
            .auth(Some(&w04))
            .json(&json!({"old_password": "demo", "new_password": changed})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = sign_in("w04", changed).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let w04_again = r.json()["token"].as_str().expect("token").to_string();

    let admin = d.token("admin").await;
    let reset = "Temp-Reset-Secret-77";
    let r = send(
        d.addr,
        Req::new("POST", "/api/v1/accounts/w07/password")
            .auth(Some(&admin))
            .json(&json!({"new_password": reset})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());

    // The supervisor reads the record: the person hashes are there (so the
    // hashes this test looks for in the logs are the real ones). This is
    // the 11th sign-in from this address, one more than the limiter's burst
    // of 10: wait for its refill (20 a minute, one token per 3 s) rather
    // than count on the sign-ins above having been slow.
    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    let supervisor = d.token("supervisor").await;
    let r = send(
        d.addr,
        Req::new("GET", "/api/v1/journal?after=0&limit=5000").auth(Some(&supervisor)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let key = std::fs::read(d.data().join("person.key")).expect("person.key");
    let person_hashes: Vec<String> = [id, id_x]
        .iter()
        .map(|n| hallq::queue::person::person_key(&key, n))
        .collect();
    for h in &person_hashes {
        assert!(
            r.text().contains(h.as_str()),
            "person hash {h} not in the record"
        );
    }
    assert!(!r.text().contains(id), "the id number is in the record");

    // Tokens: a signed-out one used again, a forged one.
    let r = send(
        d.addr,
        Req::new("DELETE", "/api/v1/sessions").auth(Some(&w04_again)),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = send(
        d.addr,
        Req::new("GET", "/api/v1/hall").auth(Some(&w04_again)),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text());
    let forged = "Zm9yZ2VkLXRva2VuLXRoYXQtbm9ib2R5LWV2ZXItaXNzdWVk";
    let r = send(d.addr, Req::new("GET", "/api/v1/hall").auth(Some(forged))).await;
    assert_eq!(r.status, 401, "{}", r.text());

    Secrets {
        id_numbers: vec![id.into(), id_x.into(), id_x.to_uppercase(), bad_id.into()],
        person_hashes,
        passwords: vec![wrong.into(), changed.into(), reset.into()],
        tokens: vec![w04, w04_again, admin, supervisor, forged.into()],
    }
}

fn assert_clean(format: &str, logs: &str, s: &Secrets) {
    assert!(
        logs.contains("listening"),
        "{format}: the logs were captured: {logs}"
    );
    let found = |needle: &str| logs.contains(needle);
    for (kind, list) in [
        ("id number", &s.id_numbers),
        ("person hash", &s.person_hashes),
        ("password", &s.passwords),
        ("token", &s.tokens),
    ] {
        for needle in list {
            assert!(
                !found(needle),
                "{format} logs hold a {kind} ({needle}):\n{logs}"
            );
        }
    }
    // Nor any part of one long enough to matter (a 16-character slice).
    for t in &s.tokens {
        for part in t.as_bytes().chunks(16).filter(|c| c.len() == 16) {
            let part = std::str::from_utf8(part).expect("ascii");
            assert!(!found(part), "{format} logs hold part of a token:\n{logs}");
        }
    }
    let id_prefix = &s.id_numbers[0][..12];
    assert!(
        !found(id_prefix),
        "{format} logs hold part of an id number:\n{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_hold_an_id_number_a_person_hash_a_password_or_a_token() {
    // The default text logs, the JSON logs, and the most verbose level
    // (what someone debugging a problem would switch on).
    for (format, global, env) in [
        ("text", vec![], vec![]),
        ("json", vec!["--log-format", "json"], vec![]),
        (
            "text at RUST_LOG=trace",
            vec![],
            vec![("RUST_LOG", "trace")],
        ),
    ] {
        let d = Hallq::serve_demo(&global, &env).await;
        let secrets = exercise(&d).await;
        let logs = d.stop().await;
        assert_clean(format, &logs, &secrets);
    }
}

/// The person key, the accounts store and the lock file are created
/// readable and writable by the daemon's user only (mode 0600), whatever
/// the umask.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_in_the_data_directory_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let d = Hallq::serve_demo(&[], &[]).await;
    // A sign-in writes the store (its WAL too).
    d.token("w01").await;
    let data = d.data();
    let mode = |name: &str| {
        std::fs::metadata(data.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    for name in [
        "person.key",
        "accounts.sqlite",
        "accounts.sqlite-wal",
        "lock",
    ] {
        assert_eq!(mode(name), 0o600, "{name} is {:o}", mode(name));
    }
    assert_eq!(
        std::fs::read(data.join("person.key")).expect("key").len(),
        32
    );
    // The journal itself is as umask makes it, so the directory is what
    // keeps others out of the record.
    let dir_mode = std::fs::metadata(&data)
        .expect("data dir")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700, "the data directory is {dir_mode:o}");
    d.stop().await;
}
