//! `device_bench`: how fast a call reaches the devices — a load tool that
//! prints tables (medians, percentiles, ratios), never assertions.
//!
//! ```text
//! cargo run --release --example device_bench -- latency  [--iterations 500] [--quick]
//! cargo run --release --example device_bench -- wire     [--iterations 40]  [--quick]
//! cargo run --release --example device_bench -- keypads  [--presses 50]     [--quick]
//! ```
//!
//! Everything runs in this one process, as `hallq serve` would: the owner
//! on a journal in a fresh temporary directory (`--data-dir DIR` puts that
//! directory elsewhere, e.g. on /dev/shm to take the disk's fsync out), the
//! device simulator on real PTY pairs, the device layer (hub and one task
//! per bus) on a multi-threaded tokio runtime with one worker per core,
//! and — for `latency` and `wire` — the HTTP API on `127.0.0.1:0`. The
//! client (HTTP requests, key presses, reading the simulator's frame logs)
//! runs on its own single-threaded runtime on the main thread.
//!
//! - **latency** — software latency with `wire_speed` off (the embedded demo
//!   hall: every bus simulated): staff sign in over HTTP at several windows
//!   of both floors, the kiosk key issues tickets, then each round a
//!   window's called ticket is marked no-show (untimed; the indicator's
//!   write for it is awaited) and the timed `call-next` follows. Measured:
//!   from just before the HTTP request is written to the first byte of the
//!   window indicator's first frame as the simulator read it from its PTY
//!   (`FrameRecord::first_byte_at`). Beside it: the HTTP answer, and when a
//!   subscriber of the owner's event stream saw the `TicketCalled` (≈ the
//!   commit, since events are published after it).
//! - **wire** — the same with `wire_speed = true` at 9600 baud on the floor
//!   bus of windows 12–15 (their indicators and the zone board of
//!   `f1-police`) and on that zone's TTS bus. Each call is made on a quiet
//!   bus (only keypad/evaluator polls running, the chip silent); measured to
//!   the *last* byte of the indicator's frames, the board's frames and the
//!   speak frame, against the wire-time floor of those frames (explained in
//!   the output). TTS chips speak 2 ms per character here (instead of 250)
//!   so each call's speak frame finds the chip idle. `--interval-ms N`
//!   makes the calls N ms apart instead (the bus still busy with the call
//!   before) and measures the indicator only.
//! - **keypads** — 30 keypads alone on one 9600-baud bus in wire-speed mode
//!   (a hall derived from the demo: windows 1–18 and 21–32, window 32 given
//!   a service; no indicators, boards or evaluators on that bus, no other
//!   buses), every window staffed with tickets waiting; a call-next key is
//!   pressed on the simulator at a random window after a random pause, and
//!   the time to the `TicketCalled` event on the owner's stream is measured.
//!   `--empty-hall` issues no tickets (every window's poll rank equal) and
//!   measures each press to its acknowledgement instead.
//!
//! `--quick` runs fewer rounds (for a smoke run). The machine's load
//! average is printed before and after: on a shared machine compare runs
//! only when it is low.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use hallq::accounts::{Accounts, HashCost};
use hallq::api::{AppState, router};
use hallq::config::{Config, DEMO_HALL_TOML, Role};
use hallq::daemon::clock::{Clock, SystemClock};
use hallq::daemon::devices::opener;
use hallq::daemon::{ACCOUNTS_FILE, HallHandle, JOURNAL_FILE, Owner, Published};
use hallq::devices::bus::{Devices, Link};
use hallq::devices::keypad::KeypadKey;
use hallq::devices::profile::Protocol;
use hallq::queue::{Actor, Command, Event, IssueSource, TicketStatus};
use hallq::sim::SimRng;
use hallq::sim::devices::{FrameRecord, SimHall, SimSpec};

#[derive(Parser, Debug)]
#[command(about = "Device benchmarks of hallq (see the file's documentation)")]
struct Args {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(clap::Args, Debug, Clone)]
struct Common {
    /// Fewer rounds: a smoke run.
    #[arg(long)]
    quick: bool,
    /// Where the temporary data directory (journal, accounts) is made.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// Software latency: HTTP call-next → first byte of the indicator's frame.
    Latency {
        /// Timed calls (default 500; 100 with --quick).
        #[arg(long)]
        iterations: Option<usize>,
        /// Software only: every bus with `gap_ms = 0` (a PTY has no wire, so
        /// no inter-frame gap is needed), leaving commit, hub, bus task and PTY.
        #[arg(long)]
        no_gap: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Wire-speed mode at 9600 baud: call-next → last byte of indicator, board, speech.
    Wire {
        /// Timed calls (default 40; 6 with --quick).
        #[arg(long)]
        iterations: Option<usize>,
        /// Calls this many ms apart instead of each on a quiet bus: the
        /// previous call's board write may still be going. Only the
        /// indicator is measured then.
        #[arg(long, value_name = "MS")]
        interval_ms: Option<u64>,
        #[command(flatten)]
        common: Common,
    },
    /// 30 keypads on one 9600-baud bus: key press → TicketCalled.
    Keypads {
        /// Presses (default 50; 12 with --quick).
        #[arg(long)]
        presses: Option<usize>,
        /// Seed of the random windows and pauses.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A press not called within this long counts as lost (over two
        /// polling rounds of 30 keypads at 9600 baud).
        #[arg(long, default_value_t = 3000)]
        lost_after_ms: u64,
        /// Stop pressing after this many seconds, however many presses are done.
        #[arg(long, default_value_t = 50)]
        seconds: u64,
        /// No tickets at all: every window's poll rank is equal (0), so the
        /// bus polls the keypads in turn. A call-next then calls nobody and
        /// the press is measured to its acknowledgement (FC06) instead,
        /// which the bus sends once the hall's verdict is in.
        #[arg(long)]
        empty_hall: bool,
        #[command(flatten)]
        common: Common,
    },
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!("load average before: {}", load_average());
    let result = match args.scenario {
        Scenario::Latency {
            iterations,
            no_gap,
            common,
        } => {
            let n = iterations.unwrap_or(if common.quick { 100 } else { 500 });
            let mut config = latency_config();
            if no_gap {
                for bus in config.file.buses.iter_mut() {
                    bus.gap_ms = Some(0);
                }
            }
            let rig = server.block_on(Rig::start(config, 250, true, &common))?;
            let r = client.block_on(latency(&rig, n));
            server.block_on(rig.stop());
            r
        }
        Scenario::Wire {
            iterations,
            interval_ms,
            common,
        } => {
            let n = iterations.unwrap_or(if common.quick { 6 } else { 40 });
            let rig = server.block_on(Rig::start(wire_config(), 2, true, &common))?;
            let interval = interval_ms.map(Duration::from_millis);
            let r = client.block_on(wire(&rig, n, interval));
            server.block_on(rig.stop());
            r
        }
        Scenario::Keypads {
            presses,
            seed,
            lost_after_ms,
            seconds,
            empty_hall,
            common,
        } => {
            let n = presses.unwrap_or(if common.quick { 12 } else { 50 });
            let rig = server.block_on(Rig::start(keypads_config()?, 250, false, &common))?;
            let limits = PressLimits {
                lost_after: Duration::from_millis(lost_after_ms),
                budget: Duration::from_secs(seconds),
                empty_hall,
            };
            let r = client.block_on(keypads(&rig, n, seed, limits));
            server.block_on(rig.stop());
            r
        }
    };
    println!("load average after: {}", load_average());
    drop(client);
    server.shutdown_timeout(Duration::from_secs(1));
    result
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

// --- configurations ------------------------------------------------------------

/// Windows of the latency scenario: both floors, services without caps.
const LATENCY_WINDOWS: [u32; 11] = [12, 13, 14, 15, 16, 17, 18, 26, 27, 29, 31];
/// Windows of the wire scenario: zone f1-police (one board, an XFS5152 chip).
const WIRE_WINDOWS: [u32; 4] = [12, 13, 14, 15];
const WIRE_BUSES: [&str; 2] = ["floor1", "voice-f1-police"];
/// The bus of the keypads scenario.
const KEYS_BUS: &str = "keys";

/// The demo hall, rate limits raised (every request comes from 127.0.0.1).
fn latency_config() -> Config {
    let mut c = Config::demo();
    c.file.server.issues_per_minute = 1_000_000;
    c.file.server.sign_ins_per_minute = 1_000_000;
    c
}

/// The demo hall with wire-speed mode on the floor-1 bus and the f1-police voice bus.
fn wire_config() -> Config {
    let mut c = latency_config();
    for bus in c.file.buses.iter_mut() {
        if WIRE_BUSES.contains(&bus.name.as_str()) {
            bus.wire_speed = true;
        }
    }
    c
}

/// The demo hall's windows and people, with one 9600-baud wire-speed bus
/// carrying one keypad per window (30) and nothing else.
fn keypads_config() -> anyhow::Result<Config> {
    let mut doc: toml::Table = toml::from_str(DEMO_HALL_TOML)?;
    let windows = doc
        .get_mut("window")
        .and_then(toml::Value::as_array_mut)
        .context("demo hall windows")?;
    let mut numbers = Vec::new();
    for w in windows.iter_mut() {
        let t = w.as_table_mut().context("window table")?;
        let number = t
            .get("number")
            .and_then(toml::Value::as_integer)
            .context("window number")?;
        numbers.push(number);
        if t.get("services").is_none() {
            // The leader's window calls nothing in the demo; here it takes complaints.
            let mut s = toml::Table::new();
            s.insert("service".into(), "complaint".into());
            t.insert(
                "services".into(),
                toml::Value::Array(vec![toml::Value::Table(s)]),
            );
        }
    }
    let mut bus = toml::Table::new();
    bus.insert("name".into(), KEYS_BUS.into());
    bus.insert("port".into(), "sim".into());
    bus.insert("baud".into(), 9600.into());
    bus.insert("wire_speed".into(), true.into());
    doc.insert(
        "bus".into(),
        toml::Value::Array(vec![toml::Value::Table(bus)]),
    );
    let devices = numbers
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let mut d = toml::Table::new();
            d.insert("profile".into(), "generic-keypad".into());
            d.insert("window".into(), n.into());
            d.insert("bus".into(), KEYS_BUS.into());
            d.insert("unit".into(), (i as i64 + 1).into());
            toml::Value::Table(d)
        })
        .collect();
    doc.insert("device".into(), toml::Value::Array(devices));
    let text = toml::to_string(&doc)?;
    Config::from_toml_str("device_bench keypads hall (demo hall, 30 keypads)", &text)
        .map_err(|e| anyhow!("the derived keypads hall is invalid:\n{e}"))
}

// --- the rig: owner, simulator, device layer, HTTP -------------------------------

struct Rig {
    config: Arc<Config>,
    owner: Owner,
    sim: SimHall,
    devices: Arc<Devices>,
    addr: Option<SocketAddr>,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn start(
        config: Config,
        speech_ms_per_char: u64,
        http: bool,
        common: &Common,
    ) -> anyhow::Result<Rig> {
        let dir = match &common.data_dir {
            Some(d) => tempfile::tempdir_in(d)?,
            None => tempfile::tempdir()?,
        };
        let config = Arc::new(config);
        let journal = dir.path().join(JOURNAL_FILE);
        let owner = hallq::daemon::start(config.clone(), &journal, SystemClock)?;
        let handle = owner.handle.clone();
        // The calendar ticker of `hallq serve`.
        tokio::spawn({
            let handle = handle.clone();
            async move {
                let mut every = tokio::time::interval(Duration::from_secs(1));
                loop {
                    every.tick().await;
                    handle.tick();
                }
            }
        });
        let mut open = false;
        for _ in 0..500 {
            handle.tick();
            open = handle
                .query(|h, _| h.day().is_some() && h.state().session.is_some())
                .await?;
            if open {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if !open {
            bail!("the calendar did not open the business day");
        }
        let mut spec = SimSpec::from_config(&config);
        spec.speech_ms_per_char = speech_ms_per_char;
        let sim = SimHall::start(spec)?;
        let devices = Devices::start(
            config.clone(),
            handle.clone(),
            opener(Some(sim.clone())),
            Arc::new(|| SystemClock.now_ms()),
        )
        .await
        .map_err(|e| anyhow!("starting the device layer: {e}"))?;
        let devices = Arc::new(devices);
        let addr = if http {
            let accounts = Arc::new(Accounts::open_with_cost(
                &dir.path().join(ACCOUNTS_FILE),
                config.clone(),
                SystemClock.now_ms(),
                HashCost::INSECURE_FAST_FOR_TESTS,
            )?);
            let state = AppState::new(
                handle.clone(),
                accounts,
                config.clone(),
                journal.clone(),
                vec![7u8; 32],
            )
            .with_devices(devices.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Some(addr)
        } else {
            None
        };
        let rig = Rig {
            config,
            owner,
            sim,
            devices,
            addr,
            data: dir.path().to_path_buf(),
            _dir: dir,
        };
        rig.until_online().await?;
        Ok(rig)
    }

    fn handle(&self) -> &HallHandle {
        &self.owner.handle
    }

    async fn stop(self) {
        self.owner.handle.shutdown().await;
    }

    /// Waits until every device has answered once (at most 20 s; then
    /// says which have not, and goes on: the scenario shows the rest).
    async fn until_online(&self) -> anyhow::Result<()> {
        let give_up = Instant::now() + Duration::from_secs(20);
        loop {
            let statuses = self.devices.statuses();
            let waiting: Vec<String> = statuses
                .iter()
                .filter(|s| s.health.link != Link::Online)
                .map(|s| format!("{}#{}", s.info.bus, s.info.unit.unwrap_or(0)))
                .collect();
            if waiting.is_empty() {
                return Ok(());
            }
            if Instant::now() > give_up {
                println!(
                    "WARNING: {} of {} devices not online 20 s after the start: {}",
                    waiting.len(),
                    statuses.len(),
                    waiting.join(" ")
                );
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until no write (FC16, FC06) went out on `buses` for `quiet`,
    /// and no frame at all on the address-less (voice) buses among them:
    /// polls and idle checks (reads) may go on.
    async fn until_quiet(&self, buses: &[&str], quiet: Duration, max: Duration) -> bool {
        let give_up = Instant::now() + max;
        loop {
            let now = Instant::now();
            let busy = buses.iter().any(|bus| {
                self.sim
                    .frames(bus)
                    .iter()
                    .rev()
                    .take_while(|f| now.saturating_duration_since(f.last_byte_at) < quiet)
                    .any(|f| f.unit.is_none() || matches!(f.function, Some(0x10 | 0x06)))
            });
            if !busy {
                return true;
            }
            if now > give_up {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// (bus, unit) of every device of `protocol` serving `window`.
    fn window_devices(&self, window: u32, protocol: Protocol) -> Vec<(String, Option<u8>)> {
        self.config
            .devices()
            .iter()
            .filter(|d| d.window == Some(window))
            .filter(|d| self.config.device_profile(d).protocol() == protocol)
            .map(|d| (d.bus.clone(), d.unit))
            .collect()
    }

    /// (bus, unit) of every device of one of `protocols` serving `zone`.
    fn zone_devices(&self, zone: &str, protocols: &[Protocol]) -> Vec<(String, Option<u8>)> {
        self.config
            .devices()
            .iter()
            .filter(|d| d.zone.as_deref() == Some(zone))
            .filter(|d| protocols.contains(&self.config.device_profile(d).protocol()))
            .map(|d| (d.bus.clone(), d.unit))
            .collect()
    }

    fn first_service(&self, window: u32) -> anyhow::Result<String> {
        self.config
            .window(window)
            .and_then(|w| w.services.first())
            .map(|s| s.service.clone())
            .with_context(|| format!("window {window} has no service"))
    }

    /// Staff accounts, one per window, in configuration order.
    fn staff_for(&self, windows: &[u32]) -> anyhow::Result<Vec<String>> {
        let staff: Vec<String> = self
            .config
            .file
            .staff
            .iter()
            .filter(|s| s.roles.contains(&Role::Staff))
            .map(|s| s.account.clone())
            .collect();
        if staff.len() < windows.len() {
            bail!(
                "{} windows but {} staff accounts",
                windows.len(),
                staff.len()
            );
        }
        Ok(staff[..windows.len()].to_vec())
    }

    /// Prints device errors and simulator drops seen during the run.
    fn print_anomalies(&self) {
        let mut lines = Vec::new();
        for s in self.devices.statuses() {
            let h = &s.health;
            let errors = h.timeouts + h.crc_errors + h.garbage + h.bad_replies + h.port_errors;
            if errors > 0 || h.went_offline > 0 || h.link != Link::Online {
                lines.push(format!(
                    "  {} unit {:?}: {:?}, timeouts {}, crc {}, garbage {}, bad replies {}, port errors {}, went offline {}",
                    s.info.bus,
                    s.info.unit,
                    h.link,
                    h.timeouts,
                    h.crc_errors,
                    h.garbage,
                    h.bad_replies,
                    h.port_errors,
                    h.went_offline
                ));
            }
        }
        for bus in self.sim.bus_names() {
            if let Some(st) = self.sim.bus_stats(&bus)
                && (st.collisions + st.dropped_bytes_in + st.dropped_bytes_out + st.bad_frames) > 0
            {
                lines.push(format!(
                    "  sim bus {bus}: collisions {}, bad frames {}, dropped in {} / out {} bytes",
                    st.collisions, st.bad_frames, st.dropped_bytes_in, st.dropped_bytes_out
                ));
            }
        }
        if lines.is_empty() {
            println!("device health: no errors, every device online, no collisions or drops");
        } else {
            println!("device health (anything but clean):");
            for l in lines {
                println!("{l}");
            }
        }
    }
}

// --- a small HTTP/1.1 keep-alive client (hyper) ------------------------------------

struct Http {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Http {
    async fn connect(addr: SocketAddr) -> anyhow::Result<Http> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Http {
            sender,
            host: addr.to_string(),
        })
    }

    fn build(
        &self,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<hyper::Request<Full<Bytes>>> {
        let mut b = hyper::Request::builder()
            .method("POST")
            .uri(path)
            .header("host", &self.host)
            .header("authorization", format!("Bearer {token}"));
        let bytes = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Bytes::from(serde_json::to_vec(v)?)
            }
            None => Bytes::new(),
        };
        Ok(b.body(Full::new(bytes))?)
    }

    /// Sends a built request; (status, JSON body).
    async fn send(&mut self, req: hyper::Request<Full<Bytes>>) -> anyhow::Result<(u16, Value)> {
        let resp = self.sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }

    async fn post(
        &mut self,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        self.sender.ready().await?;
        let req = self.build(path, token, body)?;
        self.send(req).await
    }
}

const KIOSK_KEY: &str = "demo-kiosk";

/// Signs each account in over HTTP and at its window; returns the tokens.
async fn sign_in_windows(
    http: &mut Http,
    rig: &Rig,
    windows: &[u32],
) -> anyhow::Result<HashMap<u32, String>> {
    let mut tokens = HashMap::new();
    for (account, &w) in rig.staff_for(windows)?.iter().zip(windows) {
        let (status, v) = http
            .post(
                "/api/v1/sessions",
                "none",
                Some(&json!({"account": account, "password": "demo"})),
            )
            .await?;
        if status != 201 {
            bail!("sign-in of {account}: {status} {v}");
        }
        let token = v["token"].as_str().context("token")?.to_string();
        let (status, v) = http
            .post(&format!("/api/v1/windows/{w}/sign-in"), &token, None)
            .await?;
        if status != 200 {
            bail!("{account} at window {w}: {status} {v}");
        }
        tokens.insert(w, token);
    }
    Ok(tokens)
}

async fn issue_http(http: &mut Http, service: &str, count: usize) -> anyhow::Result<()> {
    for _ in 0..count {
        let (status, v) = http
            .post(
                "/api/v1/tickets",
                KIOSK_KEY,
                Some(&json!({ "service": service })),
            )
            .await?;
        if status != 201 {
            bail!("issue {service}: {status} {v}");
        }
    }
    Ok(())
}

/// Records when a subscriber of the owner's stream sees each `TicketCalled`:
/// (window, instant). Runs on the client's runtime, which is idle while a
/// request is in flight, so it wakes as soon as the event is published.
fn watch_calls(handle: &HallHandle) -> Arc<Mutex<Vec<(u32, Instant)>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut rx = handle.subscribe();
    let sink = seen.clone();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(p) => {
                    if let Event::TicketCalled { window, .. } = p.event {
                        let now = Instant::now();
                        sink.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push((window, now));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    seen
}

/// The first frame to `unit` on `bus` whose first byte came after `after`,
/// and the frames the bus sent before it since the one in flight at `after`.
struct Found {
    frame: FrameRecord,
    /// The frame just before it.
    prev: Option<FrameRecord>,
    /// From the last frame begun before `after` up to `prev`.
    before: Vec<FrameRecord>,
}

fn first_frame_after(sim: &SimHall, bus: &str, unit: Option<u8>, after: Instant) -> Option<Found> {
    let frames = sim.frames(bus);
    let from = frames.partition_point(|f| f.first_byte_at <= after);
    let i = (from..frames.len()).find(|&i| frames[i].unit == unit)?;
    Some(Found {
        frame: frames[i],
        prev: i.checked_sub(1).map(|p| frames[p]),
        before: frames[from.saturating_sub(1)..i].to_vec(),
    })
}

/// `unit/function len` of each frame, e.g. `112/fc16 27B`.
fn describe(frames: &[FrameRecord]) -> String {
    frames
        .iter()
        .map(|f| {
            format!(
                "{}/fc{:02x} {}B",
                f.unit.map_or("-".to_string(), |u| u.to_string()),
                f.function.unwrap_or(0),
                f.len
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Waits (looking at the log every `step`) for that frame, up to `max`.
async fn wait_frame(
    sim: &SimHall,
    bus: &str,
    unit: Option<u8>,
    after: Instant,
    step: Duration,
    max: Duration,
) -> Option<Found> {
    let give_up = Instant::now() + max;
    loop {
        tokio::time::sleep(step).await;
        if let Some(found) = first_frame_after(sim, bus, unit, after) {
            return Some(found);
        }
        if Instant::now() > give_up {
            return None;
        }
    }
}

// --- statistics ---------------------------------------------------------------------

fn quantile<T: Copy>(sorted: &[T], q: f64) -> T {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `p50  p90  p99  max` of durations, in ms.
fn row(label: &str, v: &[Duration]) -> String {
    if v.is_empty() {
        return format!("{label:<44} (no samples)");
    }
    let mut s = v.to_vec();
    s.sort();
    format!(
        "{label:<44} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3}",
        ms(s.iter().sum::<Duration>() / s.len() as u32),
        ms(quantile(&s, 0.5)),
        ms(quantile(&s, 0.9)),
        ms(quantile(&s, 0.99)),
        ms(*s.last().unwrap_or(&Duration::ZERO)),
    )
}

fn header() -> String {
    format!(
        "{:<44} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "(ms)", "mean", "p50", "p90", "p99", "max"
    )
}

// --- latency --------------------------------------------------------------------------

async fn latency(rig: &Rig, n: usize) -> anyhow::Result<()> {
    let windows = LATENCY_WINDOWS;
    let addr = rig.addr.context("no HTTP listener")?;
    let mut http = Http::connect(addr).await?;
    let tokens = sign_in_windows(&mut http, rig, &windows).await?;
    let per_window = n.div_ceil(windows.len()) + 3;
    for &w in &windows {
        issue_http(&mut http, &rig.first_service(w)?, per_window).await?;
    }
    let mut indicators = HashMap::new();
    for &w in &windows {
        let d = rig.window_devices(w, Protocol::ModbusWindowIndicator);
        indicators.insert(w, d.first().cloned().context("window without indicator")?);
    }
    let calls = watch_calls(rig.handle());
    // Let the writes of the setup (keypad screens, indicators) go out.
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!(
        "latency: {n} HTTP call-next over windows {windows:?} (both floors), wire_speed off, \
         journal in {}",
        rig.data.display()
    );

    let mut http_ms = Vec::with_capacity(n);
    let mut published = Vec::with_capacity(n);
    let mut first_byte = Vec::with_capacity(n);
    let mut after_publish = Vec::with_capacity(n);
    let mut line_wait = Vec::with_capacity(n);
    let mut software = Vec::with_capacity(n);
    let mut started_after = Vec::new();
    let mut slowest: Vec<(Duration, String)> = Vec::new();
    let mut missing = 0usize;
    let mut called: HashMap<u32, bool> = HashMap::new();
    let mut done = 0usize;
    let mut round = 0usize;
    while done < n {
        let w = windows[round % windows.len()];
        round += 1;
        let token = &tokens[&w];
        let (bus, unit) = indicators[&w].clone();
        let gap = rig.config.bus(&bus).context("bus")?.gap();
        if called.get(&w).copied().unwrap_or(false) {
            let before = Instant::now();
            let (status, v) = http
                .post(&format!("/api/v1/windows/{w}/no-show"), token, None)
                .await?;
            if status != 200 {
                bail!("no-show at {w}: {status} {v}");
            }
            called.insert(w, false);
            // The indicator's write for the no-show, so the timed call starts on a quiet slot.
            let _ = wait_frame(
                &rig.sim,
                &bus,
                unit,
                before,
                Duration::from_millis(2),
                Duration::from_secs(2),
            )
            .await;
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
        http.sender.ready().await?;
        let req = http.build(&format!("/api/v1/windows/{w}/call-next"), token, None)?;
        let t0 = Instant::now();
        let (status, v) = http.send(req).await?;
        let answered = t0.elapsed();
        if status != 200 {
            bail!("call-next at {w}: {status} {v}");
        }
        if v["ticket"].is_null() {
            // Nobody waiting: more tickets, untimed, and try again.
            issue_http(&mut http, &rig.first_service(w)?, 5).await?;
            continue;
        }
        called.insert(w, true);
        done += 1;
        http_ms.push(answered);
        let frame = wait_frame(
            &rig.sim,
            &bus,
            unit,
            t0,
            Duration::from_millis(2),
            Duration::from_secs(5),
        )
        .await;
        let seen = calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .rev()
            .find(|(cw, at)| *cw == w && *at > t0)
            .map(|(_, at)| *at);
        if let Some(at) = seen {
            published.push(at - t0);
        }
        let Some(Found {
            frame: f,
            prev,
            before,
        }) = frame
        else {
            missing += 1;
            continue;
        };
        slowest.push((f.first_byte_at - t0, describe(&before)));
        first_byte.push(f.first_byte_at - t0);
        let Some(seen) = seen else { continue };
        after_publish.push(f.first_byte_at.saturating_duration_since(seen));
        // The line is free a gap after the frame before (the simulator
        // answers at once when wire_speed is off).
        let line_free = prev.map_or(seen, |p| p.last_byte_at + gap);
        line_wait.push(line_free.saturating_duration_since(seen));
        software.push(
            f.first_byte_at
                .saturating_duration_since(seen.max(line_free)),
        );
        if let Some(p) = prev.filter(|p| p.first_byte_at > seen) {
            started_after.push(p.first_byte_at - seen);
        }
    }
    println!("{}", header());
    println!("{}", row("HTTP call-next answered (client side)", &http_ms));
    println!(
        "{}",
        row("TicketCalled seen by a subscriber (≈commit)", &published)
    );
    println!(
        "{}",
        row("indicator frame, first byte at the device", &first_byte)
    );
    println!(
        "{}",
        row("  … of which after the event was seen", &after_publish)
    );
    println!(
        "{}",
        row("    … line busy: exchange in flight + gap", &line_wait)
    );
    println!("{}", row("    … the rest (hub, bus task, PTY)", &software));
    println!(
        "{}",
        row(
            &format!(
                "event seen → another exchange began ({}/{})",
                started_after.len(),
                software.len()
            ),
            &started_after
        )
    );
    // What the bus really leaves between frames (the simulator answers at
    // once, so this is hallq's gap wait plus its wake-up).
    let frames = rig.sim.frames("floor1");
    let spacing: Vec<Duration> = frames
        .windows(2)
        .map(|p| {
            p[1].first_byte_at
                .saturating_duration_since(p[0].last_byte_at)
        })
        .collect();
    println!(
        "{}",
        row("floor1: silence between consecutive frames", &spacing)
    );
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (d, frames) in slowest.iter().take(3) {
        println!(
            "slow call: {:.3} ms; frames from the one in flight to the indicator's (unit/function \
             length): {frames}",
            ms(*d)
        );
    }
    println!(
        "(the gap is the 3.5-character silence Modbus RTU needs between frames, {:.3} ms at \
         9600 baud; hallq keeps it on the PTY too; the simulator answers at once)",
        ms(rig
            .config
            .bus("floor1")
            .map(|b| b.gap())
            .unwrap_or_default())
    );
    if missing > 0 {
        println!("{missing} calls: no indicator frame within 5 s");
    }
    let mut s = first_byte.clone();
    s.sort();
    if !s.is_empty() {
        let p99 = quantile(&s, 0.99);
        println!(
            "target: p99 of request → indicator first byte ≤ 1 ms: {} (p99 {:.3} ms)",
            if p99 <= Duration::from_millis(1) {
                "met"
            } else {
                "NOT met"
            },
            ms(p99)
        );
    }
    rig.print_anomalies();
    Ok(())
}

// --- wire -----------------------------------------------------------------------------

/// Wire timing of one simulated bus, as the simulator models it.
#[derive(Debug, Clone, Copy)]
struct Timing {
    byte: Duration,
    /// The silence hallq keeps before each request (`BusConfig::gap`).
    gap: Duration,
    /// A device's reply starts this long after the request's last byte
    /// (the simulator: 3.5 character times, at least 1.75 ms).
    turnaround: Duration,
}

impl Timing {
    fn of(rig: &Rig, bus: &str) -> anyhow::Result<Timing> {
        let byte = rig
            .sim
            .byte_time(bus)
            .with_context(|| format!("bus {bus} is not in wire-speed mode"))?;
        let gap = rig.config.bus(bus).context("no such bus")?.gap();
        let turnaround = (byte * 7 / 2).max(Duration::from_micros(1750));
        Ok(Timing {
            byte,
            gap,
            turnaround,
        })
    }

    fn bytes(&self, n: usize) -> Duration {
        self.byte * u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// When the exchange of `f` leaves the wire: its reply's last byte.
    fn exchange_end(&self, f: &FrameRecord) -> Instant {
        match reply_len(f) {
            0 => f.last_byte_at,
            r => f.last_byte_at + self.turnaround + self.bytes(r),
        }
    }

    /// Earliest last byte of the last of `frames`, sent back to back (gap,
    /// request, turnaround, reply, gap, …) from `start`.
    fn chain(&self, start: Instant, frames: &[&FrameRecord]) -> Instant {
        let mut t = start;
        for (i, f) in frames.iter().enumerate() {
            if i > 0 {
                let prev = frames[i - 1];
                if reply_len(prev) > 0 {
                    t += self.turnaround + self.bytes(reply_len(prev));
                }
                t += self.gap;
            }
            t += self.bytes(f.len);
        }
        t
    }

    /// When the line is free for a request made at `t0`: after the
    /// exchange in flight (if any) and the gap behind it.
    fn free_at(&self, frames: &[FrameRecord], t0: Instant) -> Instant {
        match frames.iter().rev().find(|f| f.first_byte_at < t0) {
            Some(p) => t0.max(self.exchange_end(p) + self.gap),
            None => t0,
        }
    }
}

/// Bytes of the reply to a request frame: FC16/FC06 echo 8 bytes; an FC04
/// poll reads 9 input registers (5 + 18); an FC03 probe reads one (7); a
/// TTS chip answers one status byte; nothing when nobody answered.
fn reply_len(f: &FrameRecord) -> usize {
    if !f.answered {
        return 0;
    }
    match (f.unit, f.function) {
        (None, _) => 1,
        (Some(_), Some(0x10 | 0x06)) => 8,
        (Some(_), Some(0x04)) => 5 + 2 * 9,
        (Some(_), Some(0x03)) => 7,
        _ => 5,
    }
}

/// One target's numbers for one call.
#[derive(Default)]
struct Target {
    measured: Vec<Duration>,
    floor: Vec<Duration>,
    floor_sent: Vec<Duration>,
    /// Frames sent to other devices between the call and this target's last byte.
    others: Vec<usize>,
    within: usize,
}

impl Target {
    fn push(
        &mut self,
        measured: Duration,
        floor: Duration,
        floor_sent: Duration,
        others: usize,
        t: &Timing,
    ) {
        if measured.as_secs_f64() <= 1.1 * floor.as_secs_f64() + t.turnaround.as_secs_f64() {
            self.within += 1;
        }
        self.measured.push(measured);
        self.floor.push(floor);
        self.floor_sent.push(floor_sent);
        self.others.push(others);
    }

    fn print(&self, label: &str) {
        let n = self.measured.len();
        if n == 0 {
            println!("{label:<22} (no samples)");
            return;
        }
        let sorted = |v: &[Duration]| {
            let mut s = v.to_vec();
            s.sort();
            s
        };
        let ratios = |floors: &[Duration]| {
            let mut r: Vec<f64> = self
                .measured
                .iter()
                .zip(floors)
                .map(|(m, f)| m.as_secs_f64() / f.as_secs_f64().max(1e-9))
                .collect();
            r.sort_by(f64::total_cmp);
            r
        };
        let (m, f) = (sorted(&self.measured), sorted(&self.floor));
        let r = ratios(&self.floor);
        let rs = ratios(&self.floor_sent);
        let mut others = self.others.clone();
        others.sort();
        println!(
            "{label:<22} {:>8.1} {:>8.1} {:>8.1} | {:>6.3} {:>6.3} {:>6.3} | {:>6.3} {:>6.3} | {:>7} | {:>3}/{n}",
            ms(quantile(&m, 0.5)),
            ms(quantile(&m, 0.99)),
            ms(quantile(&f, 0.5)),
            quantile(&r, 0.5),
            quantile(&r, 0.99),
            r[r.len() - 1],
            quantile(&rs, 0.5),
            quantile(&rs, 0.99),
            format!("{}/{}", quantile(&others, 0.5), others[others.len() - 1]),
            self.within,
        );
    }
}

/// Indices of the first run of consecutive frames from `from` on whose unit is in `units`.
fn run_of(frames: &[FrameRecord], from: usize, units: &[Option<u8>]) -> Option<(usize, usize)> {
    let start = (from..frames.len()).find(|&i| units.contains(&frames[i].unit))?;
    let mut end = start;
    while end + 1 < frames.len() && units.contains(&frames[end + 1].unit) {
        end += 1;
    }
    // Complete only once another device's frame follows.
    (end + 1 < frames.len()).then_some((start, end))
}

async fn wire(rig: &Rig, n: usize, interval: Option<Duration>) -> anyhow::Result<()> {
    let windows = WIRE_WINDOWS;
    let zone = rig
        .config
        .window(windows[0])
        .map(|w| w.zone.clone())
        .context("window")?;
    let addr = rig.addr.context("no HTTP listener")?;
    let mut http = Http::connect(addr).await?;
    let tokens = sign_in_windows(&mut http, rig, &windows).await?;
    let per_window = n.div_ceil(windows.len()) + 3;
    for &w in &windows {
        issue_http(&mut http, &rig.first_service(w)?, per_window).await?;
    }
    let boards = rig.zone_devices(&zone, &[Protocol::ModbusTextBoard]);
    let voice = rig.zone_devices(&zone, &[Protocol::Syn6288, Protocol::Xfs5152]);
    let (modbus_bus, _) = rig
        .window_devices(windows[0], Protocol::ModbusWindowIndicator)
        .first()
        .cloned()
        .context("indicator")?;
    let (voice_bus, _) = voice.first().cloned().context("zone without voice chip")?;
    if boards.iter().any(|(b, _)| *b != modbus_bus) {
        bail!("the zone's boards are not on the indicators' bus");
    }
    let board_units: Vec<Option<u8>> = boards.iter().map(|(_, u)| *u).collect();
    let t_bus = Timing::of(rig, &modbus_bus)?;
    let t_voice = Timing::of(rig, &voice_bus)?;
    let quiet = [modbus_bus.as_str(), voice_bus.as_str()];
    if !rig
        .until_quiet(&quiet, Duration::from_millis(500), Duration::from_secs(60))
        .await
    {
        println!("warning: the buses did not fall quiet after the setup within 60 s");
    }
    println!(
        "wire: {n} HTTP call-next at windows {windows:?} (zone {zone}); wire_speed on bus {modbus_bus} \
         (indicators, keypads, evaluators, boards {board_units:?}) and {voice_bus} (voice); \
         9600 baud 8N1: byte {:.3} ms, gap {:.3} ms, turnaround {:.3} ms; TTS 2 ms/char",
        ms(t_bus.byte),
        ms(t_bus.gap),
        ms(t_bus.turnaround)
    );

    let mut ind = Target::default();
    let mut board = Target::default();
    let mut speech = Target::default();
    let mut http_ms = Vec::new();
    let mut called: HashMap<u32, bool> = HashMap::new();
    let mut incomplete = 0usize;
    let mut not_quiet = 0usize;
    let mut last_call: Option<Instant> = None;
    let mut slowest: Vec<(Duration, String)> = Vec::new();
    let mut done = 0usize;
    let mut round = 0usize;
    while done < n {
        let w = windows[round % windows.len()];
        round += 1;
        let token = &tokens[&w];
        let ind_units: Vec<Option<u8>> = rig
            .window_devices(w, Protocol::ModbusWindowIndicator)
            .iter()
            .map(|(_, u)| *u)
            .collect();
        if called.get(&w).copied().unwrap_or(false) {
            let (status, v) = http
                .post(&format!("/api/v1/windows/{w}/no-show"), token, None)
                .await?;
            if status != 200 {
                bail!("no-show at {w}: {status} {v}");
            }
            called.insert(w, false);
        }
        if let Some(iv) = interval {
            if let Some(last) = last_call {
                tokio::time::sleep_until(tokio::time::Instant::from_std(last + iv)).await;
            }
        } else if !rig
            .until_quiet(&quiet, Duration::from_millis(300), Duration::from_secs(10))
            .await
        {
            // Start each call on a quiet line: polls only, the chip silent.
            not_quiet += 1;
        }
        http.sender.ready().await?;
        let req = http.build(&format!("/api/v1/windows/{w}/call-next"), token, None)?;
        let t0 = Instant::now();
        last_call = Some(t0);
        let (status, v) = http.send(req).await?;
        let answered = t0.elapsed();
        if status != 200 {
            bail!("call-next at {w}: {status} {v}");
        }
        if v["ticket"].is_null() {
            issue_http(&mut http, &rig.first_service(w)?, 5).await?;
            continue;
        }
        called.insert(w, true);
        done += 1;
        http_ms.push(answered);
        if interval.is_some() {
            // Only the indicator: the board and the voice may still be busy
            // with the call before.
            let give_up = Instant::now() + Duration::from_secs(10);
            let found = loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let frames = rig.sim.frames(&modbus_bus);
                let from = frames.partition_point(|f| f.first_byte_at < t0);
                if let Some(i) = run_of(&frames, from, &ind_units) {
                    break Some((frames, from, i));
                }
                if Instant::now() > give_up {
                    break None;
                }
            };
            let Some((frames, from, i)) = found else {
                incomplete += 1;
                continue;
            };
            let start = t_bus.free_at(&frames[..from], t0);
            let own: Vec<&FrameRecord> = frames[i.0..=i.1].iter().collect();
            let sent: Vec<&FrameRecord> = frames[from..=i.1].iter().collect();
            let measured = frames[i.1].last_byte_at - t0;
            ind.push(
                measured,
                t_bus.chain(start, &own) - t0,
                t_bus.chain(start, &sent) - t0,
                sent.len() - own.len(),
                &t_bus,
            );
            slowest.push((measured, describe(&frames[from.saturating_sub(1)..i.0])));
            continue;
        }
        // Wait for the indicator's and the board's writes and the speak frame.
        let give_up = Instant::now() + Duration::from_secs(10);
        let found = loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let frames = rig.sim.frames(&modbus_bus);
            let vframes = rig.sim.frames(&voice_bus);
            let from = frames.partition_point(|f| f.first_byte_at < t0);
            let vfrom = vframes.partition_point(|f| f.first_byte_at < t0);
            let i = run_of(&frames, from, &ind_units);
            let b = run_of(&frames, from, &board_units);
            let s = (vfrom..vframes.len()).find(|&k| vframes[k].function == Some(0x01));
            if let (Some(i), Some(b), Some(s)) = (i, b, s) {
                break Some((frames, from, i, b, vframes, vfrom, s));
            }
            if Instant::now() > give_up {
                break None;
            }
        };
        let Some((frames, from, i, b, vframes, vfrom, s)) = found else {
            incomplete += 1;
            continue;
        };
        let start = t_bus.free_at(&frames[..from], t0);
        let required: Vec<usize> = (i.0..=i.1).chain(b.0..=b.1).collect();
        let measure = |target: &mut Target, end: usize| {
            let req: Vec<&FrameRecord> = required
                .iter()
                .filter(|&&k| k <= end)
                .map(|&k| &frames[k])
                .collect();
            let sent: Vec<&FrameRecord> = frames[from..=end].iter().collect();
            let measured = frames[end].last_byte_at - t0;
            let floor = t_bus.chain(start, &req) - t0;
            let floor_sent = t_bus.chain(start, &sent) - t0;
            target.push(measured, floor, floor_sent, sent.len() - req.len(), &t_bus);
        };
        measure(&mut ind, i.1);
        measure(&mut board, b.1);
        let vstart = t_voice.free_at(&vframes[..vfrom], t0);
        let speak = &vframes[s];
        let floor = t_voice.chain(vstart, &[speak]) - t0;
        let floor_sent = t_voice.chain(vstart, &vframes[vfrom..=s].iter().collect::<Vec<_>>()) - t0;
        speech.push(
            speak.last_byte_at - t0,
            floor,
            floor_sent,
            s - vfrom,
            &t_voice,
        );
    }
    println!(
        "{:<22} {:>8} {:>8} {:>8} | {:>20} | {:>13} | {:>7} | {:>6}",
        "last byte of (ms)",
        "p50",
        "p99",
        "floor50",
        "measured/floor",
        "÷ sent floor",
        "other",
        "within"
    );
    println!(
        "{:<22} {:>8} {:>8} {:>8} | {:>6} {:>6} {:>6} | {:>6} {:>6} | {:>7} | {:>6}",
        "", "", "", "", "p50", "p99", "max", "p50", "p99", "p50/max", ""
    );
    ind.print("window indicator");
    if let Some(iv) = interval {
        println!(
            "(calls {} ms apart: the board and the voice are not measured)",
            iv.as_millis()
        );
        slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
        for (d, frames) in slowest.iter().take(3) {
            println!(
                "slow call: {:.1} ms; frames from the one in flight to the indicator's: {frames}",
                ms(*d)
            );
        }
    } else {
        board.print("zone board");
        speech.print("voice speak frame");
    }
    println!("{}", row("HTTP call-next answered", &http_ms));
    println!(
        "floor: from the call (or, if an exchange was in flight, from the end of its reply plus \
         the gap) the target's request frames and those of the indicator before the board, each \
         = gap + bytes × 10 bits / 9600 (1.042 ms a byte), each but the last followed by the \
         device's turnaround (3.5 characters, 3.646 ms) and its reply (FC16: 8 bytes); the board \
         floor includes the indicator's frames (both must be written; the indicator goes first). \
         The speak frame's floor is its own bytes (its bus idle). \
         '÷ sent floor' uses every frame actually sent on the bus up to the target (the \
         window's keypad and evaluator screens, polls) instead: the rest is software. \
         'other' = frames to other devices in between; \
         'within' = calls with measured ≤ 1.1 × floor + turnaround (the target)."
    );
    if incomplete > 0 {
        println!("{incomplete} calls: frames not all seen within 10 s (left out)");
    }
    if not_quiet > 0 {
        println!("{not_quiet} calls started before the bus fell quiet (10 s wait ran out)");
    }
    rig.print_anomalies();
    Ok(())
}

// --- keypads --------------------------------------------------------------------------

/// When a press counts as lost, and how long the scenario may press.
struct PressLimits {
    lost_after: Duration,
    budget: Duration,
    empty_hall: bool,
}

async fn keypads(rig: &Rig, n: usize, seed: u64, limits: PressLimits) -> anyhow::Result<()> {
    let handle = rig.handle();
    let windows: Vec<u32> = rig
        .config
        .devices()
        .iter()
        .filter(|d| d.bus == KEYS_BUS)
        .filter_map(|d| d.window)
        .collect();
    let staff = rig.staff_for(&windows)?;
    for (account, &w) in staff.iter().zip(&windows) {
        handle
            .submit(
                Actor::Staff(account.clone()),
                "device_bench",
                Command::SignIn { window: w },
            )
            .await
            .map_err(|e| anyhow!("{account} at {w}: {e}"))?;
    }
    let per_window = if limits.empty_hall {
        0
    } else {
        (2 * n).div_ceil(windows.len()) + 2
    };
    for &w in &windows {
        let service = rig.first_service(w)?;
        for _ in 0..per_window {
            issue_direct(handle, &service).await?;
        }
    }
    let staff_at: HashMap<u32, String> = windows.iter().copied().zip(staff).collect();
    let units: HashMap<u32, Option<u8>> = windows
        .iter()
        .map(|&w| {
            let u = rig
                .window_devices(w, Protocol::ModbusKeypad)
                .first()
                .and_then(|(_, u)| *u);
            (w, u)
        })
        .collect();
    if !rig
        .until_quiet(
            &[KEYS_BUS],
            Duration::from_millis(500),
            Duration::from_secs(60),
        )
        .await
    {
        println!("warning: the keypad bus did not fall quiet after the setup within 60 s");
    }
    let t = Timing::of(rig, KEYS_BUS)?;
    let poll_exchange = t.gap + t.bytes(8) + t.turnaround + t.bytes(23);
    println!(
        "keypads: {n} call-next presses at random windows (seed {seed}), {} keypads alone on bus {KEYS_BUS} \
         at 9600 baud in wire-speed mode (no indicators or evaluators on it); every window \
         staffed, {}; a random 0–400 ms pause before each press. One poll \
         exchange = gap + 8 + turnaround + 23 bytes = {:.1} ms, so a round of {} polls ≥ {:.0} ms.",
        windows.len(),
        if limits.empty_hall {
            "NO tickets (--empty-hall: measured to the key's acknowledgement)"
        } else {
            "tickets waiting"
        },
        ms(poll_exchange),
        windows.len(),
        ms(poll_exchange) * windows.len() as f64
    );
    let ws = windows.clone();
    let ranks: Vec<(u32, usize)> = handle
        .query(move |h, _| ws.iter().map(|&w| (w, h.waiting_for_window(w))).collect())
        .await?;
    println!(
        "poll rank at the start (tickets waiting for each window; keypads of busier windows \
         get a head start): {}",
        ranks
            .iter()
            .map(|(w, r)| format!("{w}:{r}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut rng = SimRng::new(seed);
    let mut rx = handle.subscribe();
    let began = Instant::now();
    let mut lost_at: Vec<u32> = Vec::new();
    let mut total = Vec::with_capacity(n);
    let mut to_poll = Vec::with_capacity(n);
    let mut after_poll = Vec::with_capacity(n);
    let mut lost = 0usize;
    let mut pressed = 0usize;
    for _ in 0..n {
        if began.elapsed() > limits.budget {
            println!(
                "(time budget of {} s reached after {pressed} presses)",
                limits.budget.as_secs()
            );
            break;
        }
        pressed += 1;
        let w = windows[rng.below(windows.len() as u64) as usize];
        let account = &staff_at[&w];
        // The window idle with someone waiting (untimed).
        let (current, waiting) = handle
            .query(move |h, _| {
                let window = h.window(w);
                let current = window
                    .and_then(|x| x.current)
                    .and_then(|t| h.ticket(t))
                    .map(|t| t.status);
                (current, h.waiting_for_window(w))
            })
            .await?;
        match current {
            Some(TicketStatus::Called) => {
                submit_staff(handle, account, Command::NoShow { window: w }).await?;
            }
            Some(_) => {
                submit_staff(handle, account, Command::Start { window: w })
                    .await
                    .ok();
                submit_staff(
                    handle,
                    account,
                    Command::Finish {
                        window: w,
                        outcome: hallq::queue::Outcome::Done,
                        reason: None,
                    },
                )
                .await?;
            }
            None => {}
        }
        if waiting < 2 && !limits.empty_hall {
            let service = rig.first_service(w)?;
            for _ in 0..3 {
                issue_direct(handle, &service).await?;
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.range(0, 400).unsigned_abs())).await;
        while rx.try_recv().is_ok() {}
        let t0 = Instant::now();
        rig.sim
            .press_key(w, KeypadKey::CallNext)
            .map_err(|e| anyhow!("press at {w}: {e}"))?;
        let got = tokio::time::timeout(limits.lost_after, async {
            if limits.empty_hall {
                // The acknowledgement follows the verdict.
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    let ack = rig.sim.frames(KEYS_BUS).into_iter().find(|f| {
                        f.first_byte_at >= t0 && f.unit == units[&w] && f.function == Some(0x06)
                    });
                    if let Some(f) = ack {
                        return Some(f.first_byte_at);
                    }
                }
            }
            loop {
                match rx.recv().await {
                    Ok(p) if is_call_at(&p, w) => return Some(Instant::now()),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .await;
        let Ok(Some(at)) = got else {
            lost += 1;
            lost_at.push(w);
            continue;
        };
        total.push(at - t0);
        let poll = rig
            .sim
            .frames(KEYS_BUS)
            .into_iter()
            .find(|f| f.first_byte_at >= t0 && f.unit == units[&w] && f.function == Some(0x04));
        if let Some(f) = poll {
            to_poll.push(f.first_byte_at - t0);
            after_poll.push(at.saturating_duration_since(f.first_byte_at));
        }
    }
    println!("{}", header());
    let what = if limits.empty_hall {
        "press → acknowledgement (FC06) starts"
    } else {
        "press → TicketCalled published (if it was)"
    };
    println!("{}", row(what, &total));
    println!(
        "{}",
        row("  press → the keypad's next poll starts", &to_poll)
    );
    println!(
        "{}",
        row("  poll starts → that (wire + software)", &after_poll)
    );
    if lost > 0 {
        println!(
            "{lost} of {pressed} presses LOST: nothing within {} ms (windows {lost_at:?})",
            limits.lost_after.as_millis()
        );
    }
    // How evenly the keypads were polled while measuring.
    let frames = rig.sim.frames(KEYS_BUS);
    let measured: Vec<&FrameRecord> = frames.iter().filter(|f| f.first_byte_at >= began).collect();
    let seconds = began.elapsed().as_secs_f64();
    let mut polls: Vec<(u32, usize)> = windows
        .iter()
        .map(|w| {
            let u = units[w];
            let n = measured
                .iter()
                .filter(|f| f.unit == u && f.function == Some(0x04))
                .count();
            (*w, n)
        })
        .collect();
    polls.sort_by_key(|&(_, n)| n);
    let writes = measured.iter().filter(|f| f.function == Some(0x10)).count();
    let acks = measured.iter().filter(|f| f.function == Some(0x06)).count();
    println!(
        "bus {KEYS_BUS} over {seconds:.0} s: {} frames ({:.1}/s): polls per keypad min {} (window {}), \
         median {}, max {} (window {}); {writes} screen writes (FC16), {acks} acknowledgements (FC06)",
        measured.len(),
        measured.len() as f64 / seconds,
        polls[0].1,
        polls[0].0,
        polls[polls.len() / 2].1,
        polls[polls.len() - 1].1,
        polls[polls.len() - 1].0,
    );
    let never: Vec<u32> = polls.iter().filter(|p| p.1 == 0).map(|p| p.0).collect();
    if !never.is_empty() {
        println!("keypads never polled while measuring: windows {never:?}");
    }
    rig.print_anomalies();
    Ok(())
}

fn is_call_at(p: &Published, w: u32) -> bool {
    matches!(p.event, Event::TicketCalled { window, .. } if window == w)
}

async fn submit_staff(handle: &HallHandle, account: &str, command: Command) -> anyhow::Result<()> {
    handle
        .submit(Actor::Staff(account.to_string()), "device_bench", command)
        .await
        .map(|_| ())
        .map_err(|e| anyhow!("{account}: {e}"))
}

async fn issue_direct(handle: &HallHandle, service: &str) -> anyhow::Result<()> {
    handle
        .submit(
            Actor::Kiosk("device_bench".into()),
            "device_bench",
            Command::Issue {
                service: service.to_string(),
                priority: None,
                person: None,
                source: IssueSource::Kiosk,
                cases: 1,
            },
        )
        .await
        .map(|_| ())
        .map_err(|e| anyhow!("issue {service}: {e}"))
}
