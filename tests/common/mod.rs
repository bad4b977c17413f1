//! Shared helpers of the `api_*` tests: an in-process hallq (owner, accounts,
//! router) on a real `127.0.0.1:0` listener, and a tiny HTTP/1.1 client
//! written on a bare TCP stream, so tests can send exactly the bytes they
//! mean (`/../`, `%2e%2e`, wrong headers, oversized bodies) and read
//! Server-Sent Events chunk by chunk.
#![allow(dead_code)]

pub mod daemon;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hallq::accounts::{Accounts, HashCost};
use hallq::api::{AppState, router};
use hallq::config::Config;
use hallq::daemon::clock::{Clock, SystemClock};
use hallq::daemon::{ACCOUNTS_FILE, Applied, HallHandle, JOURNAL_FILE, SubmitError};
use hallq::queue::{Actor, Command};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long any single request may take before the test fails.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

pub const KIOSK: &str = "demo-kiosk";
pub const DISPLAY: &str = "demo-display";

/// The demo hall with the per-client rate limits raised: all test requests
/// come from 127.0.0.1, and only `api_bad_input` tests the limits.
pub fn demo_config() -> Config {
    without_rate_limits(Config::demo())
}

/// The demo hall in a fixed-offset time zone where it is about noon now.
/// The demo's day ends at local midnight (its waiting tickets expire then),
/// so what a test expects of the rest of the day must not depend on the
/// hour the test happens to run at.
#[allow(dead_code)] // not every test file looks at the rest of the day
pub fn demo_config_at_noon() -> Config {
    use chrono::Timelike;
    let east = 12 - chrono::Utc::now().hour() as i32; // hours east of UTC
    let tz = match east {
        0 => "Etc/GMT".to_string(),
        e if e > 0 => format!("Etc/GMT-{e}"), // the Etc zones' sign is inverted
        e => format!("Etc/GMT+{}", -e),
    };
    let text = hallq::config::DEMO_HALL_TOML.replace(
        r#"timezone = "Asia/Shanghai""#,
        &format!(r#"timezone = "{tz}""#),
    );
    let c = Config::from_toml_str(hallq::config::DEMO_HALL_NAME, &text)
        .unwrap_or_else(|e| panic!("the demo hall in {tz} is invalid:\n{e}"));
    assert_eq!(
        c.file.hall.timezone, tz,
        "the demo hall's time zone was replaced"
    );
    without_rate_limits(c)
}

fn without_rate_limits(mut c: Config) -> Config {
    c.file.server.issues_per_minute = 600_000;
    c.file.server.sign_ins_per_minute = 600_000;
    c
}

/// A running in-process hallq.
pub struct TestServer {
    pub addr: SocketAddr,
    pub hall: HallHandle,
    pub accounts: Arc<Accounts>,
    pub config: Arc<Config>,
    pub journal_path: PathBuf,
    pub dir: tempfile::TempDir,
}

/// Starts hallq with `config` in a fresh data directory and waits until the
/// calendar has opened the business day.
pub async fn start(config: Config) -> TestServer {
    start_with(config, |state| state).await
}

/// Same, with `extend` adding parts `hallq serve` adds (e.g. the forecaster)
/// to the API's state before the listener opens.
#[allow(dead_code)] // not every test binary extends the state
pub async fn start_with(config: Config, extend: impl FnOnce(AppState) -> AppState) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Arc::new(config);
    let accounts = Arc::new(
        Accounts::open_with_cost(
            &dir.path().join(ACCOUNTS_FILE),
            config.clone(),
            SystemClock.now_ms(),
            HashCost::INSECURE_FAST_FOR_TESTS,
        )
        .expect("open accounts"),
    );
    let journal_path = dir.path().join(JOURNAL_FILE);
    let owner =
        hallq::daemon::start(config.clone(), &journal_path, SystemClock).expect("start owner");
    let hall = owner.handle.clone();
    let state = AppState::new(
        hall.clone(),
        accounts.clone(),
        config.clone(),
        journal_path.clone(),
        vec![7u8; 32],
    );
    let state = extend(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    // Let the calendar open the day and the session (the demo hall is open 24/7).
    for _ in 0..200 {
        hall.tick();
        let open = hall
            .query(|h, _| h.day().is_some() && h.state().session.is_some())
            .await
            .expect("owner answers");
        if open {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    TestServer {
        addr,
        hall,
        accounts,
        config,
        journal_path,
        dir,
    }
}

pub async fn start_demo() -> TestServer {
    start(demo_config()).await
}

impl TestServer {
    /// Sends one request and reads the whole answer.
    pub async fn send(&self, req: Req) -> Resp {
        send(self.addr, req).await
    }

    /// Sends exactly these bytes (they should ask for `Connection: close`).
    pub async fn send_raw_bytes(&self, bytes: &[u8]) -> Resp {
        send_raw(self.addr, bytes).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Req::new("GET", path).auth(token)).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(Req::new("POST", path).auth(token).json(&body))
            .await
    }

    /// POST without a body (counter actions that take none).
    pub async fn post_empty(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Req::new("POST", path).auth(token)).await
    }

    /// The journal's last sequence number, as the owner sees it.
    pub async fn seq(&self) -> u64 {
        self.hall.query(|_, seq| seq).await.expect("owner answers")
    }

    /// Reads the hall on the owner thread.
    pub async fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&hallq::queue::Hall) -> R + Send + 'static,
    ) -> R {
        self.hall
            .query(move |h, _| f(h))
            .await
            .expect("owner answers")
    }

    /// Submits a command directly (test setup, bypassing HTTP).
    pub async fn submit(&self, actor: Actor, command: Command) -> Result<Applied, SubmitError> {
        self.hall.submit(actor, "test-setup", command).await
    }

    /// A session token for a demo account, made without HTTP (no rate limit, no journal row).
    pub fn token(&self, account: &str) -> String {
        self.accounts
            .sign_in(account, "demo", SystemClock.now_ms())
            .expect("demo sign-in")
            .token
    }

    /// A token whose session has already expired.
    pub fn expired_token(&self, account: &str) -> String {
        let hours = i64::from(self.config.file.server.session_hours);
        let past = SystemClock.now_ms() - hours * 3_600_000 - 60_000;
        self.accounts
            .sign_in(account, "demo", past)
            .expect("sign-in in the past")
            .token
    }

    /// Signs in over HTTP; returns the response body.
    pub async fn http_sign_in(&self, account: &str, password: &str) -> Resp {
        self.post(
            "/api/v1/sessions",
            None,
            serde_json::json!({"account": account, "password": password}),
        )
        .await
    }

    /// Today's business day (YYYY-MM-DD).
    pub async fn day(&self) -> String {
        self.query(|h| h.day().map(|d| d.to_string()))
            .await
            .expect("a business day is open")
    }

    /// Issues a ticket with the kiosk key; panics unless 201. Returns the ticket view.
    pub async fn issue(&self, service: &str) -> Value {
        let r = self
            .post(
                "/api/v1/tickets",
                Some(KIOSK),
                serde_json::json!({"service": service}),
            )
            .await;
        assert_eq!(r.status, 201, "issue {service}: {}", r.text());
        r.json()["ticket"].clone()
    }

    /// Runs a window action and panics unless 200; returns the body.
    pub async fn act(&self, window: u32, action: &str, token: &str, body: Option<Value>) -> Value {
        let path = format!("/api/v1/windows/{window}/{action}");
        let r = match body {
            Some(b) => self.post(&path, Some(token), b).await,
            None => self.post_empty(&path, Some(token)).await,
        };
        assert_eq!(r.status, 200, "{action} at window {window}: {}", r.text());
        r.json()
    }

    /// Every journal row after `after`, read through the API as the supervisor.
    pub async fn journal_rows(&self, token: &str, after: u64) -> Vec<Value> {
        let mut rows = Vec::new();
        let mut after = after;
        loop {
            let r = self
                .get(
                    &format!("/api/v1/journal?after={after}&limit=5000"),
                    Some(token),
                )
                .await;
            assert_eq!(r.status, 200, "journal: {}", r.text());
            let page = r.json();
            let got = page["rows"].as_array().expect("rows").clone();
            if got.is_empty() {
                return rows;
            }
            after = page["next_after"].as_u64().expect("next_after");
            rows.extend(got);
        }
    }
}

/// (path, method) of every `.route(…)` in src/api/mod.rs.
pub fn router_routes() -> BTreeSet<(String, String)> {
    let src = include_str!("../../src/api/mod.rs");
    let mut out = BTreeSet::new();
    for part in src.split(".route(").skip(1) {
        let Some(rest) = part.trim_start().strip_prefix('"') else {
            continue;
        };
        let Some((path, rest)) = rest.split_once('"') else {
            continue;
        };
        // The method routers of this route: up to the closing of `.route(`.
        let mut depth = 1i32;
        let mut end = rest.len();
        for (i, ch) in rest.char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let methods = &rest[..end];
        for m in ["get", "post", "put", "delete", "patch"] {
            let hit = methods.match_indices(&format!("{m}(")).any(|(i, _)| {
                i == 0
                    || !methods[..i]
                        .chars()
                        .last()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if hit {
                out.insert((path.to_string(), m.to_string()));
            }
        }
    }
    out
}

// --- the HTTP/1.1 client ------------------------------------------------------

/// A request, built up and then sent as exact bytes.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Req {
    pub fn new(method: &str, path: &str) -> Req {
        Req {
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// `Authorization: Bearer <token>` when a token is given.
    pub fn auth(self, token: Option<&str>) -> Req {
        match token {
            Some(t) => self.header("Authorization", &format!("Bearer {t}")),
            None => self,
        }
    }

    pub fn json(self, body: &Value) -> Req {
        self.header("Content-Type", "application/json")
            .raw_body(serde_json::to_vec(body).expect("json"))
    }

    /// A body as given; add a Content-Type yourself (or not).
    pub fn raw_body(mut self, body: impl Into<Vec<u8>>) -> Req {
        self.body = Some(body.into());
        self
    }

    fn to_bytes(&self, addr: SocketAddr) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
            self.method, self.path
        )
        .into_bytes();
        for (k, v) in &self.headers {
            out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        match &self.body {
            Some(b) => {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
            }
            None => out.extend_from_slice(b"Content-Length: 0\r\n\r\n"),
        }
        out
    }
}

/// A response, read to the end.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// The error code of a JSON error answer, after checking its shape:
    /// `{"error": {"code", "message", "message_en"}}`, all non-empty strings.
    pub fn error_code(&self) -> String {
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "status {}: error without a JSON content type: {:?} {:?}",
            self.status,
            self.headers,
            self.text()
        );
        let v = self.json();
        let e = &v["error"];
        for field in ["code", "message", "message_en"] {
            assert!(
                e[field].as_str().is_some_and(|s| !s.is_empty()),
                "status {}: error.{field} missing or empty in {v}",
                self.status
            );
        }
        e["code"].as_str().unwrap_or_default().to_string()
    }

    /// Asserts the status and the error code of a JSON error answer.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            self.status,
            status,
            "expected {status} {code}, got: {}",
            self.text()
        );
        assert_eq!(self.error_code(), code, "status {status}: {}", self.text());
    }
}

/// Sends raw bytes and reads the answer until the server closes.
pub async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> Resp {
    send_raw_from(addr, None, bytes).await
}

/// Sends `req` from another loopback address (127.0.0.2 …), as another
/// client machine would: the per-client rate limits count per address.
pub async fn send_from(addr: SocketAddr, from: std::net::Ipv4Addr, req: Req) -> Resp {
    send_raw_from(addr, Some(from), &req.to_bytes(addr)).await
}

async fn connect(addr: SocketAddr, from: Option<std::net::Ipv4Addr>) -> TcpStream {
    match from {
        None => TcpStream::connect(addr).await.expect("connect"),
        Some(ip) => {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket
                .bind(SocketAddr::from((ip, 0)))
                .expect("bind the client address");
            socket.connect(addr).await.expect("connect")
        }
    }
}

async fn send_raw_from(addr: SocketAddr, from: Option<std::net::Ipv4Addr>, bytes: &[u8]) -> Resp {
    let fut = async {
        let mut s = connect(addr, from).await;
        // The server may answer (413) and close before reading everything;
        // a failed write is fine as long as the answer can be read.
        let _ = s.write_all(bytes).await;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if buf.is_empty() => panic!("reading the answer: {e}"),
                Err(_) => break,
            }
        }
        parse_response(&buf)
    };
    tokio::time::timeout(REQUEST_TIMEOUT, fut)
        .await
        .expect("the request timed out")
}

pub async fn send(addr: SocketAddr, req: Req) -> Resp {
    send_raw(addr, &req.to_bytes(addr)).await
}

/// Sends `req` (from a given loopback address when `from` is set) and reads
/// the whole answer; `Err` when the daemon cannot be reached, closes before
/// a complete head, or takes longer than `wait` — what a client sees when
/// the power is cut under its request.
pub async fn try_send(
    addr: SocketAddr,
    from: Option<std::net::Ipv4Addr>,
    req: &Req,
    wait: Duration,
) -> Result<Resp, String> {
    let fut = async {
        let mut s = match from {
            None => TcpStream::connect(addr).await,
            Some(ip) => {
                let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
                socket
                    .bind(SocketAddr::from((ip, 0)))
                    .map_err(|e| e.to_string())?;
                socket.connect(addr).await
            }
        }
        .map_err(|e| format!("connect: {e}"))?;
        s.write_all(&req.to_bytes(addr))
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if find(&buf, b"\r\n\r\n").is_none() {
            return Err(format!(
                "closed after {} bytes, before a whole head",
                buf.len()
            ));
        }
        Ok(parse_response(&buf))
    };
    tokio::time::timeout(wait, fut)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {wait:?}")))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (status, headers)
}

fn parse_response(buf: &[u8]) -> Resp {
    let end = find(buf, b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(buf)));
    let (status, headers) = parse_head(&String::from_utf8_lossy(&buf[..end]));
    let rest = &buf[end + 4..];
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(rest, b"\r\n") {
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        rest = &rest[eol + 2..];
        if size == 0 || rest.len() < size {
            break;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[(size + 2).min(rest.len())..];
    }
    out
}

// --- Server-Sent Events ------------------------------------------------------

/// One SSE message: a comment (keep-alive) or an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Sse {
    Comment(String),
    Event {
        id: Option<u64>,
        event: Option<String>,
        data: String,
    },
}

/// An open event stream, read chunk by chunk.
pub struct SseStream {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    reader: BufReader<TcpStream>,
    chunked: bool,
    /// Bytes read but not yet decoded (chunked transfer coding).
    raw: Vec<u8>,
    /// The decoded body not yet parsed into messages.
    decoded: Vec<u8>,
    ended: bool,
    /// The answer's body when it was not a stream (an error).
    pub body: Vec<u8>,
}

impl SseStream {
    /// Opens `/api/v1/events{query}` with `token` and optional `Last-Event-ID`.
    pub async fn open(
        addr: SocketAddr,
        query: &str,
        token: Option<&str>,
        last_event_id: Option<u64>,
    ) -> SseStream {
        let mut req = Req::new("GET", &format!("/api/v1/events{query}"))
            .auth(token)
            .header("Accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", &id.to_string());
        }
        SseStream::open_req(addr, req).await
    }

    /// Sends `req` (a GET of the event stream) and reads the answer's head.
    pub async fn open_req(addr: SocketAddr, req: Req) -> SseStream {
        let fut = async {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            s.write_all(&req.to_bytes(addr)).await.expect("write");
            let mut reader = BufReader::new(s);
            let mut head = String::new();
            loop {
                let mut line = String::new();
                let n = reader.read_line(&mut line).await.expect("read head");
                if n == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let (status, headers) = parse_head(head.trim_end());
            let chunked = headers.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
            });
            let mut stream = SseStream {
                status,
                headers,
                reader,
                chunked,
                raw: Vec::new(),
                decoded: Vec::new(),
                ended: false,
                body: Vec::new(),
            };
            if status != 200 {
                let mut rest = Vec::new();
                let _ = stream.reader.read_to_end(&mut rest).await;
                stream.body = if chunked { dechunk(&rest) } else { rest };
            }
            stream
        };
        tokio::time::timeout(REQUEST_TIMEOUT, fut)
            .await
            .expect("opening the event stream timed out")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Reads more of the body; false at its end. Cancel-safe (it is raced
    /// against timeouts): bytes read are kept in `raw` until a whole chunk
    /// is there.
    async fn fill(&mut self) -> bool {
        if self.ended {
            return false;
        }
        let mut data = [0u8; 8192];
        let n = match self.reader.read(&mut data).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        if !self.chunked {
            self.decoded.extend_from_slice(&data[..n]);
            return true;
        }
        self.raw.extend_from_slice(&data[..n]);
        while let Some(eol) = find(&self.raw, b"\r\n") {
            let size_text = String::from_utf8_lossy(&self.raw[..eol]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .unwrap_or_else(|_| panic!("bad chunk size {size_text:?}"));
            if size == 0 {
                self.ended = true;
                break;
            }
            if self.raw.len() < eol + 2 + size + 2 {
                break;
            }
            self.decoded
                .extend_from_slice(&self.raw[eol + 2..eol + 2 + size]);
            self.raw.drain(..eol + 2 + size + 2);
        }
        true
    }

    /// The next message, or `None` when none arrives within `wait` (or the stream ended).
    pub async fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = find(&self.decoded, b"\n\n") {
                let block: Vec<u8> = self.decoded.drain(..end + 2).collect();
                let block = String::from_utf8(block).expect("an SSE message is UTF-8");
                if let Some(m) = parse_block(&block) {
                    return Some(m);
                }
                continue;
            }
            match tokio::time::timeout_at(deadline, self.fill()).await {
                Ok(true) => {}
                Ok(false) | Err(_) => return None,
            }
        }
    }

    /// The next event (comments skipped) as (id, kind, data JSON).
    pub async fn next_event(&mut self, wait: Duration) -> Option<(u64, String, Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await? {
                Sse::Comment(_) => continue,
                Sse::Event { id, event, data } => {
                    let id = id.expect("every event has an id");
                    let data: Value = serde_json::from_str(&data).expect("event data is JSON");
                    return Some((id, event.unwrap_or_default(), data));
                }
            }
        }
    }

    /// Events until (and including) the one with id `last`; panics if it does not come in time.
    pub async fn events_until(&mut self, last: u64) -> Vec<(u64, String, Value)> {
        let mut got = Vec::new();
        loop {
            match self.next_event(Duration::from_secs(10)).await {
                Some(e) => {
                    let id = e.0;
                    got.push(e);
                    if id >= last {
                        return got;
                    }
                }
                None => panic!(
                    "the stream stopped before event {last}; got {:?}",
                    got.iter().map(|e| e.0).collect::<Vec<_>>()
                ),
            }
        }
    }
}

fn parse_block(block: &str) -> Option<Sse> {
    let mut id = None;
    let mut event = None;
    let mut data: Vec<&str> = Vec::new();
    let mut comment = None;
    for line in block.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix(':') {
            comment = Some(c.trim().to_string());
            continue;
        }
        let (field, value) = line
            .split_once(':')
            .map_or((line, ""), |(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)));
        match field {
            "id" => id = value.parse().ok(),
            "event" => event = Some(value.to_string()),
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() && id.is_none() && event.is_none() {
        return comment.map(Sse::Comment);
    }
    Some(Sse::Event {
        id,
        event,
        data: data.join("\n"),
    })
}

// --- the real binary ---------------------------------------------------------

/// `hallq serve` of the demo hall — the real binary, simulated buses quiet —
/// in a fresh data directory, its logs (stderr) written to a file so a test
/// can read them after it stops: the async face of [`daemon::Daemon`].
/// Killed on drop.
pub struct Hallq {
    pub addr: SocketAddr,
    pub daemon: daemon::Daemon,
    pub dir: tempfile::TempDir,
}

impl Hallq {
    /// `hallq GLOBAL… serve --listen 127.0.0.1:0 --data DIR/data --quiet-sim`,
    /// with `env` added (systemd's and `RUST_LOG` removed); returns once it
    /// printed the address it listens on (within 60 s).
    pub async fn serve_demo(global: &[&str], env: &[(&str, &str)]) -> Hallq {
        Hallq::serve_demo_within(global, env, Duration::from_secs(60)).await
    }

    /// [`Hallq::serve_demo`], waiting up to `wait` for the address.
    pub async fn serve_demo_within(global: &[&str], env: &[(&str, &str)], wait: Duration) -> Hallq {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = daemon::serve_cmd_global(global, &dir.path().join("data"));
        cmd.arg("--quiet-sim")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied());
        let log = daemon::Log::File(dir.path().join("stderr.log"));
        let daemon = start_daemon(cmd, log, wait).await;
        Hallq {
            addr: daemon.addr,
            daemon,
            dir,
        }
    }

    /// The data directory (journal, accounts, person key).
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Signs in over HTTP with the demo password; returns the token.
    pub async fn token(&self, account: &str) -> String {
        let r = send(
            self.addr,
            Req::new("POST", "/api/v1/sessions")
                .json(&serde_json::json!({"account": account, "password": "demo"})),
        )
        .await;
        assert_eq!(r.status, 201, "sign-in {account}: {}", r.text());
        r.json()["token"].as_str().expect("token").to_string()
    }

    /// SIGTERM, wait (up to 60 s) for a clean exit, and return everything
    /// it logged.
    pub async fn stop(self) -> String {
        stop_daemon(self.daemon, Duration::from_secs(60)).await
    }
}

/// [`daemon::Daemon::start`] from an async test: `cmd` (from
/// [`daemon::serve_cmd`]) started off the async workers.
pub async fn start_daemon(
    cmd: std::process::Command,
    log: daemon::Log,
    wait: Duration,
) -> daemon::Daemon {
    blocking(move || daemon::Daemon::start(cmd, log, wait)).await
}

/// [`daemon::Daemon::stop_within`] from an async test: SIGTERM, a clean exit
/// within `wait`, and everything it logged.
pub async fn stop_daemon(daemon: daemon::Daemon, wait: Duration) -> String {
    blocking(move || daemon.stop_within(wait)).await
}

/// Runs the blocking `f` off the async workers; its panic is the caller's.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}
