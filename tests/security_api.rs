//! SECURITY.md's claims about the HTTP surface that no other test shows:
//! forwarding headers cannot spoof the client address (rate limits, the
//! journal's client column), paths cannot leave the embedded pages, a
//! megabyte body is refused and the daemon lives, scanners get plain JSON
//! without banners, and the pages carry their security headers.

mod common;

use common::*;
use serde_json::json;

/// Headers a client could send to claim another address.
const SPOOF_HEADERS: [&str; 5] = [
    "X-Forwarded-For",
    "X-Real-IP",
    "Forwarded",
    "X-Client-IP",
    "True-Client-IP",
];

fn spoof(req: Req, n: u32) -> Req {
    let ip = format!("10.9.{}.{}", n / 250, n % 250 + 1);
    SPOOF_HEADERS.iter().fold(req, |r, h| {
        let v = if *h == "Forwarded" {
            format!("for={ip}")
        } else {
            ip.clone()
        };
        r.header(h, &v)
    })
}

/// The address a limit counts and the journal records is the TCP peer's,
/// never what a header claims: a kiosk that sends a new `X-Forwarded-For`
/// with every request is still limited after its burst, and its tickets
/// are recorded as coming from 127.0.0.1. Sign-ins likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_cannot_spoof_the_client_address() {
    let mut config = hallq::config::Config::demo();
    config.file.server.issues_per_minute = 1;
    config.file.server.sign_ins_per_minute = 1;
    let s = start(config).await;
    let supervisor = s.token("supervisor");
    let issue = |n: u32| {
        spoof(
            Req::new("POST", "/api/v1/tickets")
                .auth(Some(KIOSK))
                .json(&json!({"service": "tax"})),
            n,
        )
    };
    let mut issued = 0;
    let mut limited = None;
    for n in 0..30 {
        let r = s.send(issue(n)).await;
        match r.status {
            201 => issued += 1,
            _ => {
                limited = Some(r);
                break;
            }
        }
    }
    limited
        .expect("a new X-Forwarded-For per request escaped the limit")
        .assert_error(429, "rate_limited");
    assert!((20..=21).contains(&issued), "the burst is 20: {issued}");
    // Another real address is its own client (the limit is per peer).
    let r = send_from(s.addr, std::net::Ipv4Addr::new(127, 0, 0, 2), issue(99)).await;
    assert_eq!(r.status, 201, "{}", r.text());

    // Sign-ins: a burst of 10 from one peer, whatever the headers say.
    let mut statuses = Vec::new();
    for n in 0..12 {
        let r = s
            .send(spoof(
                Req::new("POST", "/api/v1/sessions")
                    .json(&json!({"account": "w05", "password": "Wrong-Guess-1"})),
                n,
            ))
            .await;
        statuses.push(r.status);
    }
    assert!(
        statuses[..10].iter().all(|&st| st == 401 || st == 403),
        "{statuses:?}"
    );
    assert_eq!(statuses[10..], [429, 429], "{statuses:?}");

    // The journal's client column names the peer, never the claimed address.
    let rows = s.journal_rows(&supervisor, 0).await;
    let issued_rows: Vec<_> = rows
        .iter()
        .filter(|r| r["kind"] == "ticket_issued")
        .collect();
    assert_eq!(issued_rows.len(), issued + 1, "{issued_rows:?}");
    let failed: Vec<_> = rows
        .iter()
        .filter(|r| r["kind"] == "account_activity" && r["event"]["account"] == "w05")
        .collect();
    assert!(!failed.is_empty(), "failed sign-ins are recorded");
    for r in issued_rows.iter().chain(&failed) {
        let client = r["client"].as_str().expect("client column");
        // "ADDRESS ROLE" for a change, "ADDRESS" for account activity.
        let address = client.split(' ').next().unwrap_or_default();
        assert!(
            address == "127.0.0.1" || address == "127.0.0.2",
            "client column {client:?}"
        );
        assert!(
            !client.contains("10.9."),
            "a claimed address was recorded: {r}"
        );
    }
    assert!(
        issued_rows.iter().any(|r| r["client"]
            .as_str()
            .is_some_and(|c| c.starts_with("127.0.0.2 "))),
        "the second peer is recorded as itself"
    );
}

/// Nothing outside `displays/` is ever served: dot segments, encoded and
/// double-encoded, backslashes, absolute paths and NULs under `/static/`
/// and the page routes all get 404 — in this debug build too, where the
/// pages are read from disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_cannot_leave_the_pages() {
    let s = start_demo().await;
    // The asset route works, so a 404 below is the guard, not a dead route.
    let r = s.get("/static/common/hallq.js", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    for path in [
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/%2E%2E/Cargo.toml",
        "/static/..%2fCargo.toml",
        "/static/..%2FCargo.toml",
        "/static/%2e%2e%2fCargo.toml",
        "/static/%252e%252e/Cargo.toml",
        "/static/common/../../Cargo.toml",
        "/static/common/..%2f..%2fCargo.toml",
        "/static/common/%2e%2e/%2e%2e/src/main.rs",
        "/static/..\\Cargo.toml",
        "/static/..%5cCargo.toml",
        "/static/%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/%00",
        "/static/common/hallq.js%00.html",
        "/static/../../../../../../etc/passwd",
        "/static/index.html",
        "/static/screen/index.html",
        "/screen/../Cargo.toml",
        "/Cargo.toml",
        "/src/main.rs",
        "/displays/index.html",
        "/.git/config",
    ] {
        let r = s.get(path, None).await;
        assert!(
            matches!(r.status, 400 | 404),
            "{path}: {} {}",
            r.status,
            r.text()
        );
        let text = r.text();
        for leak in ["[package]", "root:", "fn main", "[core]", "<html"] {
            assert!(!text.contains(leak), "{path} served a file: {text}");
        }
        // Our JSON error, or hyper's bare 400 for a request line it will not parse.
        if r.status == 404 {
            r.error_code();
        }
    }
    // Pages that take a parameter serve the page itself, never a file named by it.
    for path in ["/window/..%2f..%2fCargo.toml", "/t/..%2f..%2fsrc%2fmain.rs"] {
        let text = s.get(path, None).await.text();
        assert!(
            !text.contains("[package]") && !text.contains("fn main"),
            "{path}: {text}"
        );
    }
}

/// A 1 MB body is refused with 413 whether its length is declared or it
/// comes chunked, on signed-in and public routes alike, and the daemon
/// goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_megabyte_body_gets_413_and_the_daemon_lives() {
    let s = start_demo().await;
    let seq = s.seq().await;
    let megabyte = format!(
        r#"{{"service":"tax","appointment":"{}"}}"#,
        "x".repeat(1 << 20)
    );
    for (path, token) in [
        ("/api/v1/tickets", Some(KIOSK)),
        ("/api/v1/sessions", None),
        ("/api/v1/windows/1/finish", Some(KIOSK)),
        ("/api/v1/no-such-route", None),
    ] {
        let r = s
            .send(
                Req::new("POST", path)
                    .auth(token)
                    .header("Content-Type", "application/json")
                    .raw_body(megabyte.clone().into_bytes()),
            )
            .await;
        // An unknown route may answer 404 before reading anything.
        if path.contains("no-such") {
            assert!(matches!(r.status, 404 | 413), "{path}: {}", r.status);
        } else {
            r.assert_error(413, "body_too_large");
        }
    }
    // Chunked: no length declared, the limit is counted while reading.
    let mut raw = format!(
        "POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Authorization: Bearer {KIOSK}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for chunk in megabyte.as_bytes().chunks(64 * 1024) {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let r = s.send_raw_bytes(&raw).await;
    r.assert_error(413, "body_too_large");
    assert_eq!(s.seq().await, seq, "nothing was applied");
    assert_eq!(s.get("/healthz", None).await.status, 200);
    s.issue("tax").await;
}

/// What a scanner learns: unknown addresses, methods and credentials get
/// a short JSON error — no `Server` or `X-Powered-By` banner, no version,
/// no stack trace, no framework name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanners_get_plain_json_without_banners() {
    let s = start_demo().await;
    let cases = [
        ("GET", "/admin", 404),
        ("GET", "/wp-login.php", 404),
        ("GET", "/.env", 404),
        ("GET", "/cgi-bin/test.cgi", 404),
        ("GET", "/server-status", 404),
        ("GET", "/api/v1/../../etc/shadow", 404),
        ("TRACE", "/", 405),
        ("DELETE", "/api/v1/hall", 405),
        ("PUT", "/healthz", 405),
        ("GET", "/api/v1/hall", 401),
        ("GET", "/api/v1/journal", 401),
        ("GET", "/metrics", 401),
        ("POST", "/api/v1/tickets", 401),
    ];
    for (method, path, status) in cases {
        let r = s.send(Req::new(method, path)).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        r.error_code();
        let text = r.text().to_lowercase();
        assert!(text.len() < 300, "{method} {path}: a long answer: {text}");
        for word in [
            "axum",
            "hyper",
            "tokio",
            "rust",
            "panick",
            "backtrace",
            "src/",
            ".rs",
            "hallq/",
            "0.1.",
            "sqlite",
        ] {
            assert!(
                !text.contains(word),
                "{method} {path} says {word:?}: {text}"
            );
        }
        for (name, value) in &r.headers {
            let name = name.to_lowercase();
            assert!(
                !matches!(
                    name.as_str(),
                    "server" | "x-powered-by" | "x-aspnet-version"
                ),
                "{method} {path}: banner header {name}: {value}"
            );
            let value = value.to_lowercase();
            assert!(
                !value.contains("hallq") && !value.contains("axum") && !value.contains("hyper"),
                "{method} {path}: header {name}: {value}"
            );
        }
    }
}

/// Every page and asset says: run only the hall's own scripts, never be
/// framed by another site, never sniff a type, never send a Referer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_security_headers() {
    let s = start_demo().await;
    let mut paths: Vec<String> = hallq::api::pages::PAGES
        .iter()
        .map(|(route, _)| route.replace("{n}", "1").replace("{id}", "1"))
        .collect();
    paths.extend([
        "/static/common/hallq.js".into(),
        "/static/common/hallq.css".into(),
    ]);
    for path in &paths {
        let r = s.get(path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let csp = r
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"));
        for part in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "connect-src 'self'",
        ] {
            assert!(csp.contains(part), "{path}: CSP without {part}: {csp}");
        }
        assert!(
            !csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'"),
            "{path}: {csp}"
        );
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{path}");
    }
}

/// Credentials travel only in the `Authorization` header: no answer sets a
/// cookie, and no answer allows another site's page to read it (no CORS
/// headers, a preflight is refused), so a page elsewhere cannot act with a
/// signed-in person's rights (no cross-site request forgery).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cookies_and_no_cross_origin_reads() {
    let s = start_demo().await;
    let evil = "http://evil.example";
    let r = s
        .send(
            Req::new("POST", "/api/v1/sessions")
                .header("Origin", evil)
                .json(&json!({"account": "w01", "password": "demo"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let token = r.json()["token"].as_str().expect("token").to_string();
    let preflight = Req::new("OPTIONS", "/api/v1/windows/1/call-next")
        .header("Origin", evil)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization");
    let answers = [
        r,
        s.send(
            Req::new("GET", "/api/v1/windows/1")
                .auth(Some(&token))
                .header("Origin", evil),
        )
        .await,
        s.send(preflight).await,
        s.get("/counter", None).await,
    ];
    for a in &answers {
        for (name, value) in &a.headers {
            let name = name.to_lowercase();
            assert!(
                name != "set-cookie" && !name.starts_with("access-control-"),
                "{} answer with {name}: {value}",
                a.status
            );
        }
    }
    assert_eq!(answers[2].status, 405, "a CORS preflight is refused");
}
