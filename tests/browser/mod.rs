//! Shared harness of the `pages_*` browser tests (and of
//! `examples/screen_bench.rs`): the real `hallq` binary on a random port with
//! a temporary data directory (restartable on the same port), headless
//! Chromium driven over WebDriver (`chromedriver` + fantoccini), a tiny HTTP
//! client to drive the hall through its API, and screenshots saved under
//! `target/screenshots/` (the CI artifacts).
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (tests/run.sh
//! installs them).
#![allow(dead_code)]

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use bytes::Bytes;
use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;

pub const KIOSK_KEY: &str = "demo-kiosk";
pub const DISPLAY_KEY: &str = "demo-display";

/// Any one HTTP request to the daemon or to chromedriver.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Milliseconds since the Unix epoch, with a fraction (the clock the pages'
/// `performance.timeOrigin + performance.now()` is comparable with).
pub fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
        * 1000.0
}

/// A free TCP port on 127.0.0.1 (free when asked; the caller binds it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn which(names: &[&str], fallbacks: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    fallbacks.iter().map(PathBuf::from).find(|p| p.is_file())
}

const INSTALL_HINT: &str = "install chromium and chromium-driver (tests/run.sh does)";

/// `chromedriver` and the Chromium it drives.
pub fn browser_tools() -> (PathBuf, PathBuf) {
    let driver = which(&["chromedriver"], &["/usr/bin/chromedriver"]).expect(INSTALL_HINT);
    let chromium = which(
        &["chromium", "chromium-browser", "google-chrome"],
        &["/usr/bin/chromium", "/usr/lib/chromium/chromium"],
    )
    .expect(INSTALL_HINT);
    (driver, chromium)
}

/// Where screenshots go: `$CARGO_TARGET_DIR/screenshots`, else the crate's
/// `target/screenshots`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
            }
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}

// ---------------------------------------------------------------------------
// HTTP

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Bytes,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One HTTP/1.1 request on its own connection, from `source` when given
/// (another loopback address has its own kiosk rate-limit bucket).
pub async fn http(
    addr: SocketAddr,
    source: Option<IpAddr>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> anyhow::Result<Resp> {
    let go = async {
        let sock = tokio::net::TcpSocket::new_v4()?;
        if let Some(ip) = source {
            sock.bind(SocketAddr::new(ip, 0))?;
        }
        let stream = sock.connect(addr).await?;
        stream.set_nodelay(true)?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, addr.to_string())
            .header(hyper::header::ACCEPT, "application/json");
        if let Some(t) = token {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let bytes = match body {
            Some(v) => {
                req = req.header(hyper::header::CONTENT_TYPE, "application/json");
                Bytes::from(serde_json::to_vec(v)?)
            }
            None => Bytes::new(),
        };
        let res = sender.send_request(req.body(Full::new(bytes))?).await?;
        let status = res.status().as_u16();
        let body = res.into_body().collect().await?.to_bytes();
        anyhow::Ok(Resp { status, body })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, go)
        .await
        .with_context(|| format!("{method} {path}: no answer in {REQUEST_TIMEOUT:?}"))?
}

/// Drives the hall through its API, as kiosks and counters do.
#[derive(Clone, Debug)]
pub struct Api {
    pub addr: SocketAddr,
    /// Source address of requests (None: 127.0.0.1).
    pub source: Option<IpAddr>,
}

impl Api {
    pub fn new(addr: SocketAddr) -> Api {
        Api { addr, source: None }
    }

    /// The same API, sending from another loopback address.
    pub fn with_source(&self, ip: Ipv4Addr) -> Api {
        Api {
            addr: self.addr,
            source: Some(IpAddr::V4(ip)),
        }
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        http(self.addr, self.source, method, path, token, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e:#}"))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request("GET", path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Option<&Value>) -> Resp {
        self.request("POST", path, token, body).await
    }

    /// POST that must answer 2xx; returns the JSON body (null when empty).
    pub async fn post_ok(&self, path: &str, token: Option<&str>, body: Option<&Value>) -> Value {
        let r = self.post(path, token, body).await;
        assert!(
            (200..300).contains(&r.status),
            "POST {path}: {} {}",
            r.status,
            r.text()
        );
        if r.body.is_empty() {
            Value::Null
        } else {
            r.json()
        }
    }

    /// A session token for a demo account (password `demo`).
    pub async fn sign_in(&self, account: &str) -> String {
        let r = self
            .post(
                "/api/v1/sessions",
                None,
                Some(&json!({"account": account, "password": "demo"})),
            )
            .await;
        assert_eq!(r.status, 201, "sign in {account}: {}", r.text());
        r.json()["token"]
            .as_str()
            .expect("token in the sign-in answer")
            .to_string()
    }

    /// Signs `account` in and seats it at window `n`; returns its token.
    pub async fn staff_window(&self, account: &str, n: u32) -> String {
        let token = self.sign_in(account).await;
        self.post_ok(&format!("/api/v1/windows/{n}/sign-in"), Some(&token), None)
            .await;
        token
    }

    /// Issues a ticket with the kiosk key; returns the TicketView.
    pub async fn issue(&self, service: &str) -> Value {
        let r = self
            .post(
                "/api/v1/tickets",
                Some(KIOSK_KEY),
                Some(&json!({"service": service})),
            )
            .await;
        assert_eq!(r.status, 201, "issue {service}: {}", r.text());
        r.json()["ticket"].clone()
    }

    /// Issues a ticket and returns its number.
    pub async fn issue_number(&self, service: &str) -> String {
        self.issue(service).await["number"]
            .as_str()
            .expect("ticket number")
            .to_string()
    }

    /// Calls the next ticket at window `n`; returns the called number
    /// (panics when nobody was called).
    pub async fn call_next(&self, token: &str, n: u32) -> String {
        let v = self
            .post_ok(&format!("/api/v1/windows/{n}/call-next"), Some(token), None)
            .await;
        v["ticket"]["number"]
            .as_str()
            .unwrap_or_else(|| panic!("window {n} called nobody: {v}"))
            .to_string()
    }

    /// Starts and finishes (done) the ticket at window `n`.
    pub async fn serve_current(&self, token: &str, n: u32) {
        self.post_ok(&format!("/api/v1/windows/{n}/start"), Some(token), None)
            .await;
        self.post_ok(
            &format!("/api/v1/windows/{n}/finish"),
            Some(token),
            Some(&json!({"outcome": "done"})),
        )
        .await;
    }

    /// The hall view (display key).
    pub async fn hall(&self) -> Value {
        let r = self.get("/api/v1/hall", Some(DISPLAY_KEY)).await;
        assert_eq!(r.status, 200, "GET /api/v1/hall: {}", r.text());
        r.json()
    }

    /// One window's view (display key).
    pub async fn window(&self, n: u32) -> Value {
        let r = self
            .get(&format!("/api/v1/windows/{n}"), Some(DISPLAY_KEY))
            .await;
        assert_eq!(r.status, 200, "GET /api/v1/windows/{n}: {}", r.text());
        r.json()
    }
}

// ---------------------------------------------------------------------------
// The daemon

/// The `hallq` binary of this build.
pub fn hallq_exe() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_hallq") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debug/hallq"),
    }
}

/// A running `hallq serve` (the embedded demo hall) with its own data
/// directory; killed on drop. Its stderr goes to `hallq.log` beside the data,
/// printed when a test fails.
pub struct Daemon {
    exe: PathBuf,
    child: Option<tokio::process::Child>,
    pub addr: SocketAddr,
    root: tempfile::TempDir,
}

impl Daemon {
    /// The test build's binary on a random port.
    pub async fn start() -> Daemon {
        Daemon::start_exe(hallq_exe()).await
    }

    pub async fn start_exe(exe: PathBuf) -> Daemon {
        let root = tempfile::tempdir().expect("tempdir");
        let (child, addr) = spawn_daemon(&exe, root.path(), "127.0.0.1:0").await;
        Daemon {
            exe,
            child: Some(child),
            addr,
            root,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.root.path().join("hallq.log")
    }

    pub fn api(&self) -> Api {
        Api::new(self.addr)
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// kill -9: no chance to flush or say goodbye.
    pub async fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.start_kill().expect("SIGKILL hallq");
            c.wait().await.expect("wait for hallq");
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = c.id().expect("pid");
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let status = tokio::time::timeout(Duration::from_secs(20), c.wait())
                .await
                .expect("hallq stops on SIGTERM")
                .expect("wait");
            assert!(status.success(), "hallq exit status {status}");
        }
    }

    /// Starts again on the same port with the same data directory (after
    /// `kill9` or `stop`; kills a running one first).
    pub async fn restart(&mut self) {
        self.kill9().await;
        let listen = self.addr.to_string();
        let (child, addr) = spawn_daemon(&self.exe, self.root.path(), &listen).await;
        assert_eq!(addr, self.addr);
        self.child = Some(child);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.start_kill();
        }
        if std::thread::panicking()
            && let Ok(f) = File::open(self.log_path())
        {
            let lines: Vec<String> = BufReader::new(f).lines().map_while(Result::ok).collect();
            let from = lines.len().saturating_sub(40);
            eprintln!("---- last lines of hallq's log ----");
            for l in &lines[from..] {
                eprintln!("{l}");
            }
        }
    }
}

async fn spawn_daemon(
    exe: &Path,
    root: &Path,
    listen: &str,
) -> (tokio::process::Child, SocketAddr) {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("hallq.log"))
        .expect("daemon log");
    let mut child = tokio::process::Command::new(exe)
        .args(["serve", "--quiet-sim", "--listen", listen, "--data"])
        .arg(root.join("data"))
        .stdin(Stdio::null())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", exe.display()));
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("hallq stdout") {
            if let Some(url) = line.strip_prefix("hallq listening on http://") {
                return url.trim().parse::<SocketAddr>().expect("address");
            }
        }
        panic!(
            "hallq exited without printing its address (log: {})",
            root.join("hallq.log").display()
        )
    })
    .await
    .expect("hallq printed its address in time");
    // Keep reading so the pipe never fills.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

// ---------------------------------------------------------------------------
// The browser

/// chromedriver in its own process group: dropping it kills the group, so
/// no Chromium outlives a failed test.
struct Driver {
    child: std::process::Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(exe: &Path) -> Driver {
        use std::os::unix::process::CommandExt as _;
        let port = free_port();
        let child = std::process::Command::new(exe)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e} — {INSTALL_HINT}", exe.display()));
        let d = Driver { child, port };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http(addr, None, "GET", "/status", None, None).await
                && r.status == 200
                && r.json()["value"]["ready"] == json!(true)
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        d
    }
}

/// One headless Chromium window.
pub struct Browser {
    pub client: Client,
    base: String,
    driver: Driver,
    emulated: AtomicBool,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Opens headless Chromium with a `width`×`height` viewport; relative
    /// paths given to `goto` are under `base` (`http://127.0.0.1:PORT`).
    pub async fn open(base: &str, width: u32, height: u32) -> Browser {
        let (driver_exe, chromium) = browser_tools();
        // A failure screenshot of an earlier run of this test is stale now.
        let _ = std::fs::remove_file(screenshot_dir().join(format!("{}.png", failed_name())));
        let driver = Driver::start(&driver_exe).await;
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-dev-shm-usage".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--no-first-run".to_string(),
            "--force-device-scale-factor=1".to_string(),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={width},{height}"),
            // The headless "screen" bounds the window: room for 4K and more.
            "--screen-info={0,0 7680x4320}".to_string(),
            "--autoplay-policy=no-user-gesture-required".to_string(),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_string(),
            json!({"binary": chromium.to_string_lossy(), "args": args}),
        );
        caps.insert("pageLoadStrategy".to_string(), json!("normal"));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("a Chromium session via chromedriver: {e}"));
        let b = Browser {
            client,
            base: base.trim_end_matches('/').to_string(),
            driver,
            emulated: AtomicBool::new(false),
            _profile: profile,
        };
        b.set_viewport(width, height).await;
        b
    }

    /// Ends the session (Chromium quits); the driver is killed on drop.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    pub async fn goto(&self, path: &str) {
        let url = self.url(path);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Makes the page's viewport exactly `width`×`height` CSS pixels: by
    /// resizing the window, or past the headless screen's size by emulation.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        if self.emulated.swap(false, Ordering::SeqCst) {
            self.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
                .await;
        }
        let (mut w, mut h) = (width, height);
        for _ in 0..3 {
            self.client
                .set_window_size(w, h)
                .await
                .unwrap_or_else(|e| panic!("window size {w}x{h}: {e}"));
            let v = self
                .js("return [window.innerWidth, window.innerHeight]")
                .await;
            let (iw, ih) = (
                v[0].as_u64().unwrap_or(0) as i64,
                v[1].as_u64().unwrap_or(0) as i64,
            );
            if iw == i64::from(width) && ih == i64::from(height) {
                return;
            }
            w = (i64::from(w) + i64::from(width) - iw).max(100) as u32;
            h = (i64::from(h) + i64::from(height) - ih).max(100) as u32;
        }
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
        self.emulated.store(true, Ordering::SeqCst);
        let v = self
            .js("return [window.innerWidth, window.innerHeight]")
            .await;
        assert_eq!(
            v,
            json!([width, height]),
            "could not make the viewport {width}x{height}"
        );
    }

    /// Sends a Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let session = self
            .client
            .session_id()
            .await
            .ok()
            .flatten()
            .expect("a WebDriver session");
        let addr = SocketAddr::from(([127, 0, 0, 1], self.driver.port));
        let path = format!("/session/{session}/goog/cdp/execute");
        let r = http(
            addr,
            None,
            "POST",
            &path,
            None,
            Some(&json!({"cmd": cmd, "params": params})),
        )
        .await
        .unwrap_or_else(|e| panic!("CDP {cmd}: {e:#}"));
        assert_eq!(r.status, 200, "CDP {cmd}: {}", r.text());
        r.json()["value"].clone()
    }

    /// Runs `script` (a function body: `return …`) in the page.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs `script` with `arguments[0..]`.
    pub async fn js_args(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Evaluates a JS expression; errors (a missing element…) count as false.
    pub async fn check(&self, expr: &str) -> bool {
        let script = format!("try {{ return !!({expr}); }} catch (e) {{ return false; }}");
        self.js(&script).await == json!(true)
    }

    /// Waits until the JS expression `expr` is truthy; on time-out saves a
    /// `FAILED-…` screenshot and panics with the page's text.
    pub async fn wait_for(&self, expr: &str, timeout: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if self.check(expr).await {
                return start.elapsed();
            }
            if start.elapsed() > timeout {
                self.fail(&format!("waited {timeout:?} for `{expr}`")).await;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until an element matches the CSS selector.
    pub async fn wait_css(&self, selector: &str, timeout: Duration) -> Duration {
        let expr = format!("document.querySelector({})", js_str(selector));
        self.wait_for(&expr, timeout).await
    }

    /// Panics with `why`, the page's address and text; saves a screenshot.
    pub async fn fail(&self, why: &str) -> ! {
        let shot = self.try_screenshot(&failed_name()).await;
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let text = self
            .client
            .execute(
                "return document.body ? document.body.innerText.slice(0, 3000) : '(no body)'",
                vec![],
            )
            .await
            .unwrap_or_default();
        panic!(
            "{why}\npage: {url}\nscreenshot: {}\npage text:\n{}",
            shot.map(|p| p.display().to_string())
                .unwrap_or_else(|e| format!("(failed: {e})")),
            text.as_str().unwrap_or_default()
        );
    }

    pub async fn count(&self, selector: &str) -> usize {
        let v = self
            .js(&format!(
                "return document.querySelectorAll({}).length",
                js_str(selector)
            ))
            .await;
        v.as_u64().unwrap_or(0) as usize
    }

    /// The element's `textContent`, trimmed ("" when missing).
    pub async fn text(&self, selector: &str) -> String {
        let v = self
            .js(&format!(
                "const e = document.querySelector({}); return e ? e.textContent.trim() : ''",
                js_str(selector)
            ))
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// Clicks the element as a user would (WebDriver click).
    pub async fn click(&self, selector: &str) {
        self.wait_css(selector, Duration::from_secs(10)).await;
        let e = self
            .client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("find {selector}: {e}"));
        if let Err(err) = e.click().await {
            self.fail(&format!("click {selector}: {err}")).await;
        }
    }

    /// Types `text` into an input after clearing it.
    pub async fn fill(&self, selector: &str, text: &str) {
        self.wait_css(selector, Duration::from_secs(10)).await;
        let e = self
            .client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("find {selector}: {e}"));
        let _ = e.clear().await;
        if let Err(err) = e.send_keys(text).await {
            self.fail(&format!("type into {selector}: {err}")).await;
        }
    }

    /// Presses one key (a `fantoccini::key::Key` as char) on the focused page.
    pub async fn press(&self, key: char) {
        let keys = KeyActions::new("keyboard".to_string())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("key press: {e}"));
    }

    /// Saves a PNG of the viewport as `target/screenshots/<name>.png`, and
    /// prints what overflows (for whoever reviews the screenshots): the page
    /// scrolling, and visible elements whose text is wider or taller than
    /// their box without an ellipsis.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = self
            .try_screenshot(name)
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e:#}"));
        let report = self.js(OVERFLOW_REPORT).await;
        let items = report["items"].as_array().cloned().unwrap_or_default();
        let page = &report["page"];
        if !items.is_empty() || page["scrolls"] == json!(true) {
            eprintln!("{name}.png: page {page}");
            for i in items {
                eprintln!("  overflows: {}", i.as_str().unwrap_or_default());
            }
        }
        path
    }

    async fn try_screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Clicks `.lang-switch` and checks the page is in English: `<html
    /// lang="en">`, fewer Chinese characters on the page than before (names
    /// of people stay Chinese), and no visible element with `data-en` still
    /// showing its `data-zh`. Returns "N → M Chinese characters".
    pub async fn switch_to_english(&self) -> String {
        const CJK: &str = "(document.body.innerText.match(/[\\u4e00-\\u9fff]/g) || []).length";
        let before = self.js(&format!("return {CJK}")).await;
        self.click(".lang-switch").await;
        self.wait_for(
            "document.documentElement.lang === 'en'",
            Duration::from_secs(5),
        )
        .await;
        let v = self
            .js(&format!(
                "const shown = [...document.querySelectorAll('[data-en]')]
                   .filter((e) => e.dataset.en && e.getClientRects().length > 0);
                 // Still showing its Chinese after the switch (pages may
                 // replace a label by data, e.g. the zone's name: fine).
                 const wrong = shown.filter((e) => e.dataset.zh !== undefined
                     && e.dataset.zh.trim() !== e.dataset.en.trim()
                     && e.textContent.trim() === e.dataset.zh.trim())
                   .map((e) => e.outerHTML.slice(0, 200));
                 return {{ wrong, cjk: {CJK} }};"
            ))
            .await;
        let wrong = v["wrong"].as_array().cloned().unwrap_or_default();
        if !wrong.is_empty() {
            self.fail(&format!(
                "labels not in English after the switch: {wrong:?}"
            ))
            .await;
        }
        let (before, after) = (before.as_u64().unwrap_or(0), v["cjk"].as_u64().unwrap_or(0));
        if after >= before {
            self.fail(&format!(
                "still {after} Chinese characters after .lang-switch (before: {before})"
            ))
            .await;
        }
        format!("{before} → {after} Chinese characters")
    }

    /// Back to Chinese (the switch toggles).
    pub async fn switch_to_chinese(&self) {
        self.click(".lang-switch").await;
        self.wait_for(
            "document.documentElement.lang !== 'en'",
            Duration::from_secs(5),
        )
        .await;
    }

    /// Installs (once per page load) a MutationObserver recording when each
    /// ticket number first appears on the big screen:
    /// `window.__hqSeen[number] = {featured, recent, first}` in ms since the
    /// epoch (`performance.timeOrigin + performance.now()`).
    pub async fn observe_calls(&self) {
        self.js(OBSERVE_CALLS).await;
    }

    /// When `number` first appeared in `#featured` (ms since the epoch).
    pub async fn seen_at(&self, number: &str, list: &str) -> Option<f64> {
        let v = self
            .js_args(
                "const s = (window.__hqSeen || {})[arguments[0]]; return s ? s[arguments[1]] : null",
                vec![json!(number), json!(list)],
            )
            .await;
        v.as_f64()
    }

    /// `window.__hqSeen` as a whole.
    pub async fn seen_all(&self) -> Value {
        self.js("return window.__hqSeen || {}").await
    }
}

const OBSERVE_CALLS: &str = r##"
if (!window.__hqSeen) {
  window.__hqSeen = {};
  const record = () => {
    const t = performance.timeOrigin + performance.now();
    for (const list of ["featured", "recent"]) {
      for (const el of document.querySelectorAll("#" + list + " .call[data-number]")) {
        const n = el.dataset.number;
        const s = window.__hqSeen[n] || (window.__hqSeen[n] = {});
        if (s[list] === undefined) s[list] = t;
        if (s.first === undefined) s.first = t;
      }
    }
  };
  new MutationObserver(record).observe(document.documentElement, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["data-number"],
  });
  record();
}
return true;
"##;

const OVERFLOW_REPORT: &str = r##"
const d = document.documentElement;
const page = { width: d.scrollWidth, height: d.scrollHeight, viewport: [innerWidth, innerHeight],
               scrolls: d.scrollWidth > innerWidth + 1 || d.scrollHeight > innerHeight + 1 };
const items = [];
for (const e of document.body.querySelectorAll("*")) {
  if (!e.getClientRects().length || !e.textContent.trim()) continue;
  const cs = getComputedStyle(e);
  if (cs.visibility === "hidden" || cs.display === "inline") continue;
  if (cs.textOverflow === "ellipsis" || e.closest("canvas, svg, select, option")) continue;
  // only elements holding text themselves (not the boxes around them)
  if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
  const clipsX = cs.overflowX !== "visible", clipsY = cs.overflowY !== "visible";
  // glyphs taller than a tight line-height are normal: a third of the font is not
  const wide = e.scrollWidth > e.clientWidth + 2;
  const tall = e.scrollHeight > e.clientHeight + Math.max(2, parseFloat(cs.fontSize) / 3);
  if (!(wide || tall) || e.clientWidth === 0) continue;
  // a scrolling list is fine; text cut or spilling out of its box is not
  if ((cs.overflowY === "auto" || cs.overflowY === "scroll") && !wide) continue;
  const id = e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (typeof e.className === "string" && e.className ? "." + e.className.trim().split(/\s+/).join(".") : "");
  items.push(id + (wide ? " wide " + e.scrollWidth + ">" + e.clientWidth : "") +
    (tall ? " tall " + e.scrollHeight + ">" + e.clientHeight : "") +
    (clipsX || clipsY ? " (clipped)" : " (spills)") + ": " + e.textContent.trim().slice(0, 40));
  if (items.length >= 15) break;
}
return { page, items };
"##;

/// `FAILED-<test name>`: the screenshot saved when a wait fails.
fn failed_name() -> String {
    format!(
        "FAILED-{}",
        std::thread::current()
            .name()
            .unwrap_or("test")
            .replace("::", "-")
    )
}

/// A JS string literal.
pub fn js_str(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

/// The value of a `--name value` command-line option.
pub fn arg_value(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()
}
