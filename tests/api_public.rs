//! The citizen's side: the phone page's status behind its capability link
//! (view, live stream, QR code), the printed slip (ESC/POS) and the spoken
//! announcement (WAV).

mod common;

use std::time::Duration;

use common::*;
use hallq::queue::TicketId;
use serde_json::{Value, json};

/// The test servers' person key (tests/common).
const KEY: [u8; 32] = [7u8; 32];

/// Issues a ticket of `service`; returns (id, number, k).
async fn issue(s: &TestServer, service: &str) -> (u64, String, String) {
    let t = s.issue(service).await;
    let id = t["id"].as_u64().expect("id");
    let ticket = s
        .query(move |h| h.ticket(TicketId(id)).map(std::borrow::Cow::into_owned))
        .await
        .expect("the ticket");
    let k = hallq::api::public::status_mac(&KEY, &ticket);
    (id, t["number"].as_str().unwrap().to_string(), k)
}

fn phone(id: u64, k: &str) -> String {
    format!("/api/v1/public/tickets/{id}?k={k}")
}

/// The next `event: ticket` of a phone stream, as JSON; `None` when the
/// stream ended or nothing came within `wait`.
async fn next_ticket(st: &mut SseStream, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match st.next(left).await? {
            Sse::Comment(_) => continue,
            Sse::Event { event, data, id } => {
                assert_eq!(event.as_deref(), Some("ticket"));
                assert_eq!(id, None, "phone events carry no journal id");
                return Some(serde_json::from_str(&data).expect("JSON data"));
            }
        }
    }
}

async fn open_phone_stream(s: &TestServer, id: u64, k: &str) -> SseStream {
    let req = Req::new("GET", &format!("/api/v1/public/tickets/{id}/events?k={k}"))
        .header("Accept", "text/event-stream");
    SseStream::open_req(s.addr, req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_view_needs_the_key_and_shows_no_personal_data() {
    let s = start_demo().await;
    let (first, _, _) = issue(&s, "tax").await;
    let first: u64 = first;
    let (id, number, k) = issue(&s, "tax").await;
    let r = s.get(&phone(id, &k), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = r.json();
    assert_eq!(v["number"], number.as_str());
    assert_eq!(v["status"], "waiting");
    assert_eq!(v["ahead"], 1, "the first tax ticket is ahead");
    assert!(v["wait_estimate"]["minutes"].as_u64().is_some(), "{v}");
    assert_eq!(v["hall_name"], s.config.file.hall.name.as_str());
    assert!(v["service_name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(v["window"].is_null());
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "ahead",
            "floor",
            "hall_name",
            "hall_name_en",
            "issued_at",
            "number",
            "service_name",
            "service_name_en",
            "status",
            "wait_estimate",
            "window",
            "window_name",
            "window_name_en",
            "zone_name",
            "zone_name_en"
        ]
    );
    // A sign-in changes nothing: the key is the credential.
    let r = s.get(&phone(id, &k), Some(KIOSK)).await;
    assert_eq!(r.status, 200);

    // Wrong key, another ticket's key, no key, unknown id, malformed keys:
    // the very same 404.
    let first = s
        .query(move |h| h.ticket(TicketId(first)).map(std::borrow::Cow::into_owned))
        .await
        .unwrap();
    let first_k = hallq::api::public::status_mac(&KEY, &first);
    let mut flipped = k.clone().into_bytes();
    flipped[15] = if flipped[15] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    let wrong = [
        phone(id, &flipped),
        phone(id, &first_k),
        format!("/api/v1/public/tickets/{id}"),
        format!("/api/v1/public/tickets/{id}?k="),
        phone(id, &k[..15]),
        phone(id, &format!("{k}00")),
        phone(id, "zzzzzzzzzzzzzzzz"),
        phone(999_999, &k),
    ];
    let mut bodies = Vec::new();
    for path in &wrong {
        let r = s.get(path, None).await;
        r.assert_error(404, "not_found");
        bodies.push(r.body);
        let (base, query) = path.split_once('?').unwrap_or((path, ""));
        s.get(&format!("{base}/qr.svg?{query}"), None)
            .await
            .assert_error(404, "not_found");
        let st =
            SseStream::open_req(s.addr, Req::new("GET", &format!("{base}/events?{query}"))).await;
        assert_eq!(st.status, 404, "{path}");
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one answer for all"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_stream_follows_the_ticket_to_its_end() {
    let s = start_demo().await;
    let (id, number, k) = issue(&s, "tax").await;
    let mut st = open_phone_stream(&s, id, &k).await;
    assert_eq!(st.status, 200);
    assert!(
        st.header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"))
    );
    let first = next_ticket(&mut st, Duration::from_secs(5))
        .await
        .expect("the view at once");
    assert_eq!(first["number"], number.as_str());
    assert_eq!(first["status"], "waiting");

    // Unrelated events that do not change the view send nothing.
    let w05 = s.token("w05");
    s.act(5, "sign-in", &w05, None).await;

    let w01 = s.token("w01");
    s.act(1, "sign-in", &w01, None).await;
    let called = s.act(1, "call-next", &w01, None).await;
    assert_eq!(called["ticket"]["number"], number.as_str());
    let mut seen = Vec::new();
    let view = loop {
        let v = next_ticket(&mut st, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("an update after the call; saw {seen:?}"));
        if v["status"] == "called" {
            break v;
        }
        seen.push(v);
    };
    assert_eq!(view["window"], 1);
    assert!(view["window_name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(view["ahead"].is_null());

    s.act(1, "start", &w01, None).await;
    s.act(1, "finish", &w01, Some(json!({"outcome": "done"})))
        .await;
    let last = loop {
        let v = next_ticket(&mut st, Duration::from_secs(5))
            .await
            .expect("the final state");
        if v["status"] == "finished" {
            break v;
        }
    };
    assert_eq!(last["number"], number.as_str());
    // After a final state the stream ends (at once, not by a timeout).
    let t0 = std::time::Instant::now();
    assert!(
        next_ticket(&mut st, Duration::from_secs(10))
            .await
            .is_none()
    );
    assert!(t0.elapsed() < Duration::from_secs(5), "the stream ended");
    // A finished ticket's stream sends its state once and ends.
    let mut again = open_phone_stream(&s, id, &k).await;
    let v = next_ticket(&mut again, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(v["status"], "finished");
    let t0 = std::time::Instant::now();
    assert!(
        next_ticket(&mut again, Duration::from_secs(10))
            .await
            .is_none()
    );
    assert!(t0.elapsed() < Duration::from_secs(5), "the stream ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_view_is_not_sent_again() {
    let s = start_demo().await;
    let (id, _, k) = issue(&s, "tax").await;
    let mut st = open_phone_stream(&s, id, &k).await;
    next_ticket(&mut st, Duration::from_secs(5)).await.unwrap();
    // 30 tickets behind it: its view does not change, so nothing is sent.
    for _ in 0..30 {
        s.issue("tax").await;
    }
    assert!(
        next_ticket(&mut st, Duration::from_millis(2500))
            .await
            .is_none(),
        "a view that did not change is not sent again"
    );
}

/// Parses `xml` far enough to know its elements nest properly; returns the
/// root element's name.
fn well_formed_root(xml: &str) -> String {
    let mut rest = xml.trim_start();
    if let Some(after) = rest.strip_prefix("<?xml") {
        rest = &after[after.find("?>").expect("end of the declaration") + 2..];
    }
    let mut stack: Vec<String> = Vec::new();
    let mut root = None;
    while let Some(open) = rest.find('<') {
        assert!(
            rest[..open].trim().is_empty() || !stack.is_empty(),
            "text outside the root"
        );
        let close = rest[open..].find('>').expect("a tag ends") + open;
        let tag = &rest[open + 1..close];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "nesting");
        } else {
            let name: String = tag
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '/')
                .collect();
            assert!(!name.is_empty(), "a tag name in {tag:?}");
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "quoted attributes in {tag:?}"
            );
            if root.is_none() {
                root = Some(name.clone());
            } else {
                assert!(!stack.is_empty(), "one root element");
            }
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    assert!(rest.trim().is_empty());
    root.expect("a root element")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_qr_code_encodes_the_absolute_phone_link() {
    let s = start_demo().await;
    let (id, _, k) = issue(&s, "tax").await;
    let r = s
        .get(&format!("/api/v1/public/tickets/{id}/qr.svg?k={k}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    let svg = r.text();
    assert_eq!(well_formed_root(&svg), "svg");
    assert!(svg.contains("<svg"));
    // The same code as the link's, rendered alike: the link is http:// and
    // the Host the request used.
    let link = format!("http://{}/t/{id}?k={k}", s.addr);
    assert_eq!(svg, hallq::api::public::qr_svg_of(&link).unwrap());

    // A Host that is not a host: 400, unless public_url is configured.
    let raw = format!(
        "GET /api/v1/public/tickets/{id}/qr.svg?k={k} HTTP/1.1\r\nHost: evil.example/x?y\r\nConnection: close\r\n\r\n"
    );
    s.send_raw_bytes(raw.as_bytes())
        .await
        .assert_error(400, "bad_host");

    let mut config = demo_config();
    config.file.server.public_url = Some("https://hall.example.gov.cn/".into());
    let s = start(config).await;
    let (id, _, k) = issue(&s, "tax").await;
    let r = s
        .get(&format!("/api/v1/public/tickets/{id}/qr.svg?k={k}"), None)
        .await;
    assert_eq!(r.status, 200);
    let link = format!("https://hall.example.gov.cn/t/{id}?k={k}");
    assert_eq!(r.text(), hallq::api::public::qr_svg_of(&link).unwrap());
    let raw = format!(
        "GET /api/v1/public/tickets/{id}/qr.svg?k={k} HTTP/1.1\r\nHost: evil.example/x?y\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(s.send_raw_bytes(raw.as_bytes()).await.status, 200);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn gb18030(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slip_is_esc_pos() {
    let s = start_demo().await;
    issue(&s, "tax").await;
    let (id, number, k) = issue(&s, "tax").await;
    let r = s
        .get(&format!("/api/v1/tickets/{id}/escpos"), Some(KIOSK))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    let b = &r.body;
    assert_eq!(&b[..2], b"\x1b@", "init first");
    assert_eq!(&b[2..4], b"\x1c&", "Chinese mode");
    assert_eq!(&b[b.len() - 4..], b"\x1dVB\x00", "partial cut last");
    assert!(find(b, format!("{number}\n").as_bytes()).is_some());
    assert!(find(b, &gb18030(&s.config.file.hall.name)).is_some());
    assert!(find(b, &gb18030("前面还有1人")).is_some());
    assert!(find(b, &gb18030("预计等候")).is_some());
    assert!(find(b, &gb18030("分钟")).is_some());
    // The QR code: store command with the absolute link.
    let link = format!("http://{}/t/{id}?k={k}", s.addr);
    let at = find(b, &[0x1D, b'(', b'k']).expect("GS ( k");
    let store = find(&b[at..], &[49, 80, 48]).expect("store") + at;
    let n = usize::from(b[store - 2]) | usize::from(b[store - 1]) << 8;
    assert_eq!(n, link.len() + 3);
    assert_eq!(&b[store + 3..store + 3 + link.len()], link.as_bytes());

    // Staff and managers may print too; screens and supervisors may not.
    let w01 = s.token("w01");
    assert_eq!(
        s.get(&format!("/api/v1/tickets/{id}/escpos"), Some(&w01))
            .await
            .status,
        200
    );
    s.get(&format!("/api/v1/tickets/{id}/escpos"), Some(DISPLAY))
        .await
        .assert_error(403, "forbidden");
    s.get(&format!("/api/v1/tickets/{id}/escpos"), None)
        .await
        .assert_error(401, "unauthorized");
    s.get("/api/v1/tickets/999999/escpos", Some(KIOSK))
        .await
        .assert_error(404, "not_found");
}

/// Checks a RIFF/WAVE's sizes; returns the data chunk's size.
fn check_wav(b: &[u8]) -> usize {
    assert!(b.len() > 44, "{} bytes", b.len());
    assert_eq!(&b[..4], b"RIFF");
    assert_eq!(&b[8..12], b"WAVE");
    assert_eq!(
        u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize,
        b.len() - 8
    );
    let at = find(b, b"data").expect("a data chunk");
    let data = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as usize;
    assert_eq!(data, b.len() - at - 8);
    data
}

fn espeak_ng_installed() -> bool {
    std::process::Command::new("espeak-ng")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_announcement_is_spoken_where_espeak_ng_is() {
    let s = start_demo().await;
    let r = s
        .get(
            "/api/v1/announcements/audio?ticket=K001&window=12",
            Some(DISPLAY),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("audio/wav"));
    check_wav(&r.body);
    let kind = if espeak_ng_installed() {
        "speech"
    } else {
        "chime"
    };
    assert_eq!(r.header("x-hallq-audio"), Some(kind));
    // The same again (from the cache): the same bytes.
    let again = s
        .get(
            "/api/v1/announcements/audio?ticket=K001&window=12",
            Some(DISPLAY),
        )
        .await;
    assert_eq!(again.body, r.body);
    // Another call sounds different.
    if kind == "speech" {
        let other = s
            .get(
                "/api/v1/announcements/audio?ticket=A2&window=3",
                Some(DISPLAY),
            )
            .await;
        assert_eq!(other.header("x-hallq-audio"), Some("speech"));
        assert_ne!(other.body, r.body);
    }

    for (query, status, code, field) in [
        ("ticket=k001&window=1", 400, "bad_ticket", "ticket"),
        ("ticket=K0012345X&window=1", 400, "bad_ticket", "ticket"),
        ("ticket=-v&window=1", 400, "bad_ticket", "ticket"),
        ("ticket=&window=1", 400, "bad_ticket", "ticket"),
        ("ticket=K001&window=9999", 404, "unknown_window", "window"),
        ("ticket=K001&window=x", 400, "bad_window", "window"),
        ("ticket=K001&window=-1", 400, "bad_window", "window"),
        ("ticket=K001", 400, "bad_window", "window"),
        ("window=1", 400, "bad_ticket", "ticket"),
        ("ticket=K001&window=1&voice=en", 400, "bad_query", "voice"),
    ] {
        let r = s
            .get(
                &format!("/api/v1/announcements/audio?{query}"),
                Some(DISPLAY),
            )
            .await;
        r.assert_error(status, code);
        assert!(
            r.json()["error"]["message_en"]
                .as_str()
                .is_some_and(|m| m.contains(field)),
            "{query}: {}",
            r.text()
        );
    }
    let mgr = s.token("manager");
    assert_eq!(
        s.get("/api/v1/announcements/audio?ticket=K1&window=1", Some(&mgr))
            .await
            .status,
        200
    );
    s.get(
        "/api/v1/announcements/audio?ticket=K1&window=1",
        Some(KIOSK),
    )
    .await
    .assert_error(403, "forbidden");
}

/// The real binary with `HALLQ_ESPEAK` pointing nowhere: the chime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_espeak_ng_the_announcement_is_a_chime() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = daemon::serve_cmd(dir.path());
    cmd.arg("--quiet-sim")
        .env("HALLQ_ESPEAK", "/nonexistent/espeak-ng");
    let d = start_daemon(cmd, daemon::Log::Null, Duration::from_secs(30)).await;
    let addr = d.addr;
    let r = send(
        addr,
        Req::new("GET", "/api/v1/announcements/audio?ticket=K001&window=1").auth(Some(DISPLAY)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-hallq-audio"), Some("chime"));
    assert_eq!(r.header("content-type"), Some("audio/wav"));
    let data = check_wav(&r.body);
    assert_eq!(&r.body[36..40], b"data", "the plain 44-byte header");
    assert_eq!(data, r.body.len() - 44);
    assert_eq!(r.body, hallq::api::audio::chime());
    drop(d);
}
