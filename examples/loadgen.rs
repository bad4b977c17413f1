//! `loadgen`: drives a real hallq over HTTP and compares it with a bare
//! endpoint in the same run.
//!
//! N kiosk clients issue tickets (`POST /api/v1/tickets`) and M counter
//! clients each work their own window (`call-next` → `start` → `finish`),
//! every client on its own keep-alive HTTP/1.1 connection, in a closed loop
//! (the next request leaves when the previous answer is in), each POST with
//! an `Idempotency-Key` as a real kiosk or counter sends. Then the same
//! client machinery, with the same number of connections and the same
//! request shape, hits an in-process axum server whose only route answers
//! `ok` without any work; our throughput is printed as a fraction of it.
//!
//! ```text
//! # start a hallq for the run (fresh temp data dir, permissive config):
//! cargo run --release --example loadgen -- --spawn target/release/hallq \
//!     --kiosks 8 --counters 24 --seconds 10 --runs 3
//! # or against a running daemon (demo hall: staff password "demo"; note the
//! # demo's default rate limit of 120 issues/min per client address):
//! cargo run --release --example loadgen -- --url 127.0.0.1:8080 --counters 12
//! ```
//!
//! Options: `--spawn PATH` | `--url HOST:PORT`; `--config FILE` (the hall
//! config, for the spawned daemon and to know windows, services and staff;
//! default: the demo hall made permissive: no caps, no flows (`next_step`),
//! 1–99,999 wrapping series, high rate limits); `--data DIR` (the spawned daemon's data directory;
//! default a fresh temporary directory — put it on tmpfs, e.g. /dev/shm, to
//! see the daemon without the disk's fsync); `--kiosks 8`, `--counters 24`
//! (at most one per staff account and window); `--seconds 10` measured after
//! `--warmup 2`; `--runs 1` (each run measures hallq then the bare endpoint,
//! and medians are printed); `--client-threads 1` (the load generator's own
//! runtime); `--bare-threads 2` (workers of the bare server, like hallq's
//! default runtime on 2 cores); `--prefill 20` tickets per counter window
//! before measuring; `--queue-max 50` (a kiosk leaves a service alone for
//! 20 ms after a ticket with that many ahead of it, and pauses 1 ms when all
//! are so, as people stop coming when the line is long: lanes stay bounded
//! instead of growing for the whole run; 0 = never); `--password` (counters' password in `--url` mode,
//! default `demo`); `--kiosk-key demo-kiosk`; `--no-bare`;
//! `--no-idempotency`.
//!
//! With `--spawn`, loadgen gives the counter accounts a password in the data
//! directory it uses (through `hallq::accounts`, with the cheap test hash
//! cost, no forced change): never point `--data` at a real hall's data.
//!
//! A *durable operation* is a POST answered 2xx that changed the hall (its
//! events were committed to the journal before the answer): an issue, a
//! call-next that called a ticket, a start, a finish. A call-next that
//! finds nobody waiting is counted apart (the counter then waits 1 ms).
//! Latencies are client-side, from writing the request to the last byte of
//! the answer. The `cpu:` line says what the load generator itself cost per
//! request and how many cores the spawned daemon (or the bare server) used
//! while measured (Linux /proc), so one can see who was the bottleneck.
//!
//! The client is a minimal HTTP/1.1 keep-alive client (one `write`, reused
//! buffers, httparse), as lean per request as wrk, so that on a small
//! machine it leaves the CPU to the server.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

use hallq::config::{Config, DEMO_HALL_TOML, Role};

#[derive(Parser, Debug, Clone)]
#[command(about = "HTTP load generator for hallq (see the file's documentation)")]
struct Args {
    /// Start this hallq binary for the run.
    #[arg(long, value_name = "PATH", conflicts_with = "url")]
    spawn: Option<PathBuf>,
    /// Drive an already running daemon at HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    url: Option<String>,
    /// Hall configuration (default: the demo hall, made permissive when spawning).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory of the spawned daemon (default: a fresh temporary directory).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    #[arg(long, default_value_t = 8)]
    kiosks: usize,
    #[arg(long, default_value_t = 24)]
    counters: usize,
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Unmeasured seconds before each phase.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Threads of the load generator's own runtime.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Worker threads of the in-process bare server.
    #[arg(long, default_value_t = 2)]
    bare_threads: usize,
    /// Tickets issued per counter window before measuring.
    #[arg(long, default_value_t = 20)]
    prefill: usize,
    /// A kiosk pauses 1 ms after a ticket with this many ahead of it (0: never).
    #[arg(long, default_value_t = 50)]
    queue_max: u64,
    /// Counters' password in --url mode.
    #[arg(long, default_value = "demo")]
    password: String,
    #[arg(long, default_value = "demo-kiosk")]
    kiosk_key: String,
    /// Skip the bare-endpoint comparison.
    #[arg(long)]
    no_bare: bool,
    /// Send no Idempotency-Key headers.
    #[arg(long)]
    no_idempotency: bool,
}

/// Password given to the counter accounts of a spawned daemon.
const SPAWN_PASSWORD: &str = "loadgen-Pass-8642";
const SPAWN_FIRST_PASSWORD: &str = "loadgen-First-1357";

// --- operation kinds and per-client statistics ------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Issue = 0,
    CallNext = 1,
    Start = 2,
    Finish = 3,
    Bare = 4,
}
const KINDS: usize = 5;
const KIND_NAMES: [&str; KINDS] = ["issue", "call-next", "start", "finish", "bare"];

/// One client's measurements. Latencies in microseconds, pre-reserved so the
/// hot loop only pushes.
struct Stats {
    lat_us: [Vec<u32>; KINDS],
    durable: u64,
    requests: u64,
    /// call-next answered with nobody waiting.
    empty_calls: u64,
    /// 1 ms kiosk pauses because every lane was at `--queue-max`.
    pauses: u64,
    /// Non-2xx answers by status, and transport failures (status 0).
    errors: Vec<(u16, u64)>,
}

impl Stats {
    fn new(reserve: usize) -> Stats {
        Stats {
            lat_us: std::array::from_fn(|_| Vec::with_capacity(reserve)),
            durable: 0,
            requests: 0,
            empty_calls: 0,
            pauses: 0,
            errors: Vec::new(),
        }
    }
    fn error(&mut self, status: u16) {
        self.errors_n(status, 1);
    }
    fn errors_n(&mut self, status: u16, count: u64) {
        match self.errors.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += count,
            None => self.errors.push((status, count)),
        }
    }
    fn merge(&mut self, other: Stats) {
        for (mine, theirs) in self.lat_us.iter_mut().zip(other.lat_us) {
            mine.extend_from_slice(&theirs);
        }
        self.durable += other.durable;
        self.requests += other.requests;
        self.empty_calls += other.empty_calls;
        self.pauses += other.pauses;
        for (s, n) in other.errors {
            self.errors_n(s, n);
        }
    }
}

/// When a client measures and when it stops.
#[derive(Clone, Copy)]
struct Window {
    measure_from: Instant,
    end: Instant,
}

impl Window {
    fn seconds(&self) -> f64 {
        (self.end - self.measure_from).as_secs_f64()
    }
}

#[path = "support/http.rs"]
mod http;
use http::{Conn, Verb, ok};
#[path = "support/counter.rs"]
mod counter;
#[path = "support/spawn.rs"]
mod spawn;
use counter::{Phase, prepare_counter, resync};

// --- the hall side: accounts, windows, services --------------------------------

struct Plan {
    /// (account, window) per counter.
    counters: Vec<(String, u32)>,
    /// `{"service":"…"}` bodies kiosks cycle through: one per counter window
    /// (its first service), so demand is spread like the windows.
    issue_bodies: Vec<Vec<u8>>,
}

fn plan(config: &Config, counters: usize) -> anyhow::Result<Plan> {
    let windows: Vec<_> = config
        .windows()
        .iter()
        .filter(|w| !w.services.is_empty())
        .collect();
    let staff: Vec<&str> = config
        .file
        .staff
        .iter()
        .filter(|s| s.roles.contains(&Role::Staff))
        .map(|s| s.account.as_str())
        .collect();
    let max = windows.len().min(staff.len());
    if counters > max {
        bail!(
            "at most {max} counters: the hall has {} windows that call and {} staff accounts",
            windows.len(),
            staff.len()
        );
    }
    let counters: Vec<(String, u32)> = staff
        .iter()
        .zip(&windows)
        .take(counters)
        .map(|(a, w)| (a.to_string(), w.number))
        .collect();
    let mut issue_bodies: Vec<Vec<u8>> = windows
        .iter()
        .take(counters.len().max(1))
        .map(|w| format!("{{\"service\":\"{}\"}}", w.services[0].service).into_bytes())
        .collect();
    if issue_bodies.is_empty() {
        issue_bodies.push(
            format!(
                "{{\"service\":\"{}\"}}",
                config
                    .services()
                    .first()
                    .context("the hall has no services")?
                    .id
            )
            .into_bytes(),
        );
    }
    Ok(Plan {
        counters,
        issue_bodies,
    })
}

/// The demo hall without caps, with 1–99,999 wrapping series and rate
/// limits no load test reaches.
fn permissive_config() -> anyhow::Result<String> {
    let mut doc: toml::Table = toml::from_str(DEMO_HALL_TOML)?;
    for service in doc
        .get_mut("service")
        .and_then(toml::Value::as_array_mut)
        .context("demo hall services")?
    {
        let t = service.as_table_mut().context("service table")?;
        // No caps; no flows (each ticket is one counter cycle, so what
        // kiosks issue is what counters call and lanes stay bounded).
        for key in [
            "daily_cap",
            "per_person_daily_cap",
            "issue_windows",
            "next_step",
        ] {
            t.remove(key);
        }
        let mut series = toml::Table::new();
        series.insert("start".into(), toml::Value::Integer(1));
        series.insert("end".into(), toml::Value::Integer(99_999));
        series.insert("wrap".into(), toml::Value::Boolean(true));
        t.insert("series".into(), toml::Value::Table(series));
    }
    let mut server = toml::Table::new();
    server.insert(
        "issues_per_minute".into(),
        toml::Value::Integer(1_000_000_000),
    );
    server.insert(
        "sign_ins_per_minute".into(),
        toml::Value::Integer(1_000_000),
    );
    doc.insert("server".into(), toml::Value::Table(server));
    Ok(toml::to_string(&doc)?)
}

struct Spawned {
    child: Child,
    _stdout: std::process::ChildStdout,
    _tmp: Option<tempfile::TempDir>,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(bin: &Path, args: &Args, plan: &Plan) -> anyhow::Result<(Spawned, SocketAddr)> {
    let tmp = tempfile::tempdir()?;
    let data = args.data.clone().unwrap_or_else(|| tmp.path().join("data"));
    let config_path = match &args.config {
        Some(p) => p.clone(),
        None => {
            let p = tmp.path().join("loadgen-hall.toml");
            std::fs::write(&p, permissive_config()?)?;
            p
        }
    };
    let config = Arc::new(Config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?);
    let accounts: Vec<String> = plan.counters.iter().map(|(a, _)| a.clone()).collect();
    spawn::provision(
        config,
        &data,
        &accounts,
        SPAWN_FIRST_PASSWORD,
        SPAWN_PASSWORD,
    )?;
    let mut child = Command::new(bin)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .arg("--data")
        .arg(&data)
        .arg("--config")
        .arg(&config_path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let addr = spawn::listening_addr(&mut stdout)?;
    eprintln!(
        "spawned {} (pid {}) on {addr}, data {}",
        bin.display(),
        child.id(),
        data.display()
    );
    Ok((
        Spawned {
            child,
            _stdout: stdout,
            _tmp: Some(tmp),
        },
        addr,
    ))
}

// --- the clients -------------------------------------------------------------------

struct Counter {
    id: u32,
    window: u32,
    account: String,
    conn: Conn,
    phase: Phase,
}

async fn counter_loop(mut c: Counter, win: Window, idempotent: bool, reserve: usize) -> Stats {
    let mut stats = Stats::new(reserve);
    let call = format!("/api/v1/windows/{}/call-next", c.window);
    let start = format!("/api/v1/windows/{}/start", c.window);
    let finish = format!("/api/v1/windows/{}/finish", c.window);
    let done: &[u8] = br#"{"outcome":"done"}"#;
    let empty: &[u8] = b"";
    let mut seq = 0u64;
    loop {
        let t0 = Instant::now();
        if t0 >= win.end {
            return stats;
        }
        seq += 1;
        let key = idempotent.then_some((c.id, seq));
        let (kind, target, body) = match c.phase {
            Phase::Idle => (Kind::CallNext, &call, empty),
            Phase::Called => (Kind::Start, &start, empty),
            Phase::Serving => (Kind::Finish, &finish, done),
        };
        let answer = c.conn.send(Verb::Post, target, key, body).await;
        let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
        let measured = t0 >= win.measure_from && Instant::now() <= win.end;
        if measured {
            stats.requests += 1;
        }
        match answer {
            Ok((status, bytes)) if ok(status) => {
                let nobody = kind == Kind::CallNext && bytes.starts_with(br#"{"ticket":null"#);
                if measured {
                    if nobody {
                        stats.empty_calls += 1;
                    } else {
                        stats.durable += 1;
                        stats.lat_us[kind as usize].push(us);
                    }
                }
                c.phase = match (kind, nobody) {
                    (Kind::CallNext, true) => {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        Phase::Idle
                    }
                    (Kind::CallNext, false) => Phase::Called,
                    (Kind::Start, _) => Phase::Serving,
                    _ => Phase::Idle,
                };
            }
            Ok((status, _)) => {
                if measured {
                    stats.error(status);
                }
                match resync(&mut c.conn, c.window, &c.account).await {
                    Ok(p) => c.phase = p,
                    Err(e) => {
                        eprintln!("counter at window {}: {e:#}", c.window);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
            Err(_) => {
                if measured {
                    stats.error(0);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                let _ = c.conn.reconnect().await;
            }
        }
    }
}

/// What a kiosk-style client (one POST after another) sends, and when.
struct Issuer {
    id: u32,
    bodies: Arc<Vec<Vec<u8>>>,
    path: String,
    kind: Kind,
    win: Window,
    idempotent: bool,
    reserve: usize,
    /// A service whose new ticket had this many ahead of it is left alone
    /// for a while; when all are, the kiosk pauses 1 ms.
    queue_max: Option<u64>,
}

/// The `"ahead":N` of a ticket answer, found without parsing the JSON.
fn ahead(body: &[u8]) -> Option<u64> {
    const FIELD: &[u8] = b"\"ahead\":";
    let at = body.windows(FIELD.len()).position(|w| w == FIELD)? + FIELD.len();
    let digits = body[at..].iter().take_while(|b| b.is_ascii_digit());
    let mut n = None;
    for d in digits {
        n = Some(n.unwrap_or(0u64) * 10 + u64::from(d - b'0'));
    }
    n
}

async fn kiosk_loop(mut conn: Conn, how: Issuer) -> Stats {
    let Issuer {
        id,
        bodies,
        path,
        kind,
        win,
        idempotent,
        reserve,
        queue_max,
    } = how;
    // Back-pressure, as in a hall: people stop coming in when the line is
    // long. Keeps every lane (and the work it costs) bounded.
    const FULL_FOR: Duration = Duration::from_millis(20);
    let mut full_until: Vec<Option<Instant>> = vec![None; bodies.len()];
    let mut stats = Stats::new(reserve);
    let mut seq = 0u64;
    let mut next = id as usize % bodies.len();
    loop {
        let t0 = Instant::now();
        if t0 >= win.end {
            return stats;
        }
        let pick = (0..bodies.len())
            .map(|i| (next + i) % bodies.len())
            .find(|&i| full_until[i].is_none_or(|until| until <= t0));
        let Some(index) = pick else {
            if t0 >= win.measure_from {
                stats.pauses += 1;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        };
        next = (index + 1) % bodies.len();
        seq += 1;
        let key = idempotent.then_some((id, seq));
        let body = &bodies[index];
        let answer = conn.send(Verb::Post, &path, key, body).await;
        let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
        let measured = t0 >= win.measure_from && Instant::now() <= win.end;
        if measured {
            stats.requests += 1;
        }
        match answer {
            Ok((status, body)) if ok(status) => {
                if measured {
                    stats.durable += 1;
                    stats.lat_us[kind as usize].push(us);
                }
                if queue_max.is_some_and(|max| ahead(body).is_some_and(|a| a >= max)) {
                    full_until[index] = Some(Instant::now() + FULL_FOR);
                }
            }
            Ok((status, _)) => {
                if measured {
                    stats.error(status);
                }
            }
            Err(_) => {
                if measured {
                    stats.error(0);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                let _ = conn.reconnect().await;
            }
        }
    }
}

// --- phases ----------------------------------------------------------------------

struct Outcome {
    stats: Stats,
    seconds: f64,
    cpu: Cpu,
    /// Tickets waiting when the phase ended.
    waiting: Option<u64>,
}

/// CPU seconds used during the measured part of a phase.
#[derive(Default, Clone, Copy)]
struct Cpu {
    /// The load generator's own client threads.
    client: f64,
    /// The in-process bare server's threads.
    bare: f64,
    /// The spawned hallq process (when loadgen started it).
    server: Option<f64>,
}

/// CPU seconds of this process's threads whose name starts with one of
/// `prefixes` (Linux /proc; 0 elsewhere). Clock ticks are taken as 1/100 s.
fn thread_cpu(prefixes: &[&str]) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|stat| {
            let (name, ticks) = parse_stat(&stat)?;
            prefixes
                .iter()
                .any(|p| name.starts_with(p))
                .then_some(ticks)
        })
        .sum::<f64>()
}

fn process_cpu(pid: u32) -> Option<f64> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?).map(|(_, t)| t)
}

/// (name, utime + stime in seconds) of a /proc stat line.
fn parse_stat(stat: &str) -> Option<(&str, f64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = &stat[open + 1..close];
    let mut fields = stat[close + 2..].split_whitespace();
    // After the name: state (3), … utime (14), stime (15).
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((name, (utime + stime) / 100.0))
}

fn cpu_now(server_pid: Option<u32>) -> Cpu {
    Cpu {
        client: thread_cpu(&["loadgen"]),
        bare: thread_cpu(&["bare"]),
        server: server_pid.and_then(process_cpu),
    }
}

/// Waits through a phase's window and returns the CPU used in its measured part.
async fn measure_cpu(win: Window, server_pid: Option<u32>) -> Cpu {
    tokio::time::sleep_until(win.measure_from.into()).await;
    let a = cpu_now(server_pid);
    tokio::time::sleep_until(win.end.into()).await;
    let b = cpu_now(server_pid);
    Cpu {
        client: b.client - a.client,
        bare: b.bare - a.bare,
        server: b.server.zip(a.server).map(|(b, a)| b - a),
    }
}

fn reserve_for(args: &Args) -> usize {
    // Room for ~40,000 requests/s per client set spread over the clients.
    let total = (args.seconds * 40_000.0) as usize;
    (total / (args.kiosks + args.counters).max(1)).clamp(1_024, 1 << 20)
}

async fn run_hallq(
    args: &Args,
    addr: SocketAddr,
    plan: &Plan,
    password: &str,
    server_pid: Option<u32>,
) -> anyhow::Result<Outcome> {
    let reserve = reserve_for(args);
    let bodies = Arc::new(plan.issue_bodies.clone());
    // Sign the counters in first (argon2 verification is not what we measure).
    let mut counters = Vec::new();
    for (i, (account, window)) in plan.counters.iter().enumerate() {
        let (conn, phase) = prepare_counter(addr, account, *window, password).await?;
        counters.push(Counter {
            id: 10_000 + i as u32,
            window: *window,
            account: account.clone(),
            conn,
            phase,
        });
    }
    let mut kiosks = Vec::new();
    for _ in 0..args.kiosks {
        kiosks.push(Conn::open(addr, &args.kiosk_key).await?);
    }
    // Prefill: tickets for every counter window, so counters start busy.
    if args.prefill > 0 && !kiosks.is_empty() {
        let want = args.prefill * bodies.len();
        let mut refused = 0;
        let tickets = "/api/v1/tickets";
        for i in 0..want {
            let k = i % kiosks.len();
            let (status, _) = kiosks[k]
                .send(Verb::Post, tickets, None, &bodies[i % bodies.len()])
                .await?;
            if !ok(status) {
                refused += 1;
            }
        }
        if refused > 0 {
            eprintln!("prefill: {refused} of {want} issues refused (rate limit or caps?)");
        }
    }
    let now = Instant::now();
    let win = Window {
        measure_from: now + Duration::from_secs_f64(args.warmup),
        end: now + Duration::from_secs_f64(args.warmup + args.seconds),
    };
    let idempotent = !args.no_idempotency;
    let mut tasks = Vec::new();
    for (i, conn) in kiosks.into_iter().enumerate() {
        let how = Issuer {
            id: i as u32,
            bodies: bodies.clone(),
            path: "/api/v1/tickets".to_string(),
            kind: Kind::Issue,
            win,
            idempotent,
            reserve,
            queue_max: (args.queue_max > 0).then_some(args.queue_max),
        };
        tasks.push(tokio::spawn(kiosk_loop(conn, how)));
    }
    for c in counters {
        tasks.push(tokio::spawn(counter_loop(c, win, idempotent, reserve)));
    }
    let cpu = measure_cpu(win, server_pid).await;
    let mut stats = Stats::new(0);
    for t in tasks {
        stats.merge(t.await?);
    }
    let waiting = waiting(addr).await.ok();
    Ok(Outcome {
        stats,
        seconds: win.seconds(),
        cpu,
        waiting,
    })
}

/// Tickets waiting in the hall now (`GET /healthz`).
async fn waiting(addr: SocketAddr) -> anyhow::Result<u64> {
    let mut conn = Conn::open(addr, "none").await?;
    let (_, body) = conn.send(Verb::Get, "/healthz", None, b"").await?;
    let v: serde_json::Value = serde_json::from_slice(body)?;
    v["waiting"].as_u64().context("no waiting count")
}

async fn run_bare(args: &Args, addr: SocketAddr, plan: &Plan) -> anyhow::Result<Outcome> {
    let reserve = reserve_for(args);
    let bodies = Arc::new(plan.issue_bodies.clone());
    let now = Instant::now();
    let warmup = args.warmup.min(1.0);
    let win = Window {
        measure_from: now + Duration::from_secs_f64(warmup),
        end: now + Duration::from_secs_f64(warmup + args.seconds),
    };
    let mut tasks = Vec::new();
    for i in 0..(args.kiosks + args.counters) {
        let conn = Conn::open(addr, &args.kiosk_key).await?;
        let how = Issuer {
            id: i as u32,
            bodies: bodies.clone(),
            path: "/bare".to_string(),
            kind: Kind::Bare,
            win,
            idempotent: !args.no_idempotency,
            reserve,
            queue_max: None,
        };
        tasks.push(tokio::spawn(kiosk_loop(conn, how)));
    }
    let cpu = measure_cpu(win, None).await;
    let mut stats = Stats::new(0);
    for t in tasks {
        stats.merge(t.await?);
    }
    Ok(Outcome {
        stats,
        seconds: win.seconds(),
        cpu,
        waiting: None,
    })
}

/// A trivial axum server on its own runtime (its own threads, as a separate
/// process would have): one route answering `ok`.
fn start_bare(threads: usize) -> anyhow::Result<SocketAddr> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("bare-server".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads.max(1))
                .thread_name("bare-worker")
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(anyhow::anyhow!(e)));
                    return;
                }
            };
            runtime.block_on(async move {
                let app = axum::Router::new().route("/bare", axum::routing::any(|| async { "ok" }));
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = tx.send(Err(anyhow::anyhow!(e)));
                        return;
                    }
                };
                let _ = tx.send(listener.local_addr().map_err(anyhow::Error::from));
                let _ = axum::serve(listener, app).await;
            });
        })?;
    rx.recv()?
}

// --- reporting -------------------------------------------------------------------

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// p50 and p99 (ms) per kind.
fn latencies(stats: &mut Stats) -> [(f64, f64, usize); KINDS] {
    std::array::from_fn(|k| {
        let v = &mut stats.lat_us[k];
        v.sort_unstable();
        (percentile(v, 0.50), percentile(v, 0.99), v.len())
    })
}

fn thousands(x: f64) -> String {
    let n = x.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

struct RunFigures {
    durable_per_s: f64,
    requests_per_s: f64,
    lat: [(f64, f64, usize); KINDS],
    /// Loadgen CPU per request (µs) and hallq's CPU use (cores), in the hallq phase.
    client_us: f64,
    server_cores: f64,
    bare_per_s: Option<f64>,
    bare_lat: (f64, f64),
    bare_client_us: f64,
    bare_server_cores: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What a run's hallq phase saw besides throughput and latency.
#[derive(Default)]
struct Notes {
    empty_calls: u64,
    pauses: u64,
    waiting: Option<u64>,
    errors: Vec<(u16, u64)>,
}

fn print_run(label: &str, f: &RunFigures, notes: &Notes) {
    let mut line = format!(
        "{label}: hallq {} durable ops/s ({} req/s)",
        thousands(f.durable_per_s),
        thousands(f.requests_per_s)
    );
    for k in [Kind::Issue, Kind::CallNext, Kind::Start, Kind::Finish] {
        let (p50, p99, n) = f.lat[k as usize];
        if n > 0 {
            line.push_str(&format!(
                " | {} p50 {p50:.2} p99 {p99:.2} ms",
                KIND_NAMES[k as usize]
            ));
        }
    }
    if let Some(bare) = f.bare_per_s {
        line.push_str(&format!(
            " || bare {} req/s (p50 {:.2} p99 {:.2} ms) || hallq = {:.1}% of bare",
            thousands(bare),
            f.bare_lat.0,
            f.bare_lat.1,
            100.0 * f.durable_per_s / bare
        ));
    }
    println!("{line}");
    let server = if f.server_cores.is_finite() {
        format!("{:.2} cores", f.server_cores)
    } else {
        "n/a (not spawned)".to_string()
    };
    let mut cpu = format!("    cpu: loadgen {:.1} µs/req, hallq {server}", f.client_us);
    if f.bare_per_s.is_some() {
        cpu.push_str(&format!(
            "; bare phase: loadgen {:.1} µs/req, bare server {:.2} cores",
            f.bare_client_us, f.bare_server_cores
        ));
    }
    println!("{cpu}");
    if let Some(w) = notes.waiting {
        println!(
            "    waiting at the end: {w}; kiosk pauses (all lanes at --queue-max): {}; empty call-next: {}",
            notes.pauses, notes.empty_calls
        );
    }
    if !notes.errors.is_empty() {
        println!(
            "    non-2xx answers by status (0 = transport): {:?}",
            notes.errors
        );
    }
    if notes.errors.iter().any(|(s, _)| *s == 429) {
        println!(
            "    429 = the daemon's rate limit: raise [server] issues_per_minute (or use --spawn)"
        );
    }
}

async fn main_async(args: Args) -> anyhow::Result<()> {
    let config = match (&args.config, &args.spawn) {
        (Some(p), _) => Config::load(p).map_err(|e| anyhow::anyhow!("{e}"))?,
        (None, Some(_)) => Config::from_toml_str("loadgen-hall.toml", &permissive_config()?)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        (None, None) => Config::demo(),
    };
    let plan = plan(&config, args.counters)?;
    let (spawned, addr, password) = match (&args.spawn, &args.url) {
        (Some(bin), _) => {
            let (s, addr) = spawn(bin, &args, &plan)?;
            (Some(s), addr, SPAWN_PASSWORD.to_string())
        }
        (None, Some(url)) => {
            let host = url.trim_start_matches("http://").trim_end_matches('/');
            let addr = host.to_socket_addrs()?.next().context("resolving --url")?;
            (None, addr, args.password.clone())
        }
        (None, None) => bail!("give --spawn PATH or --url HOST:PORT"),
    };
    let server_pid = spawned.as_ref().map(|s| s.child.id());
    let bare = if args.no_bare {
        None
    } else {
        Some(start_bare(args.bare_threads)?)
    };
    println!(
        "loadgen: {} kiosks + {} counters = {} connections, {} s measured after {} s warm-up, \
         {} client thread(s), idempotency keys {}",
        args.kiosks,
        plan.counters.len(),
        args.kiosks + plan.counters.len(),
        args.seconds,
        args.warmup,
        args.client_threads,
        if args.no_idempotency { "off" } else { "on" }
    );
    let mut all = Vec::new();
    for run in 1..=args.runs {
        let mut h = run_hallq(&args, addr, &plan, &password, server_pid).await?;
        let lat = latencies(&mut h.stats);
        let mut figures = RunFigures {
            durable_per_s: h.stats.durable as f64 / h.seconds,
            requests_per_s: h.stats.requests as f64 / h.seconds,
            lat,
            client_us: 1e6 * h.cpu.client / h.stats.requests.max(1) as f64,
            server_cores: h.cpu.server.map_or(f64::NAN, |s| s / h.seconds),
            bare_per_s: None,
            bare_lat: (f64::NAN, f64::NAN),
            bare_client_us: f64::NAN,
            bare_server_cores: f64::NAN,
        };
        if let Some(bare_addr) = bare {
            let mut b = run_bare(&args, bare_addr, &plan).await?;
            let bl = latencies(&mut b.stats);
            figures.bare_per_s = Some(b.stats.durable as f64 / b.seconds);
            figures.bare_lat = (bl[Kind::Bare as usize].0, bl[Kind::Bare as usize].1);
            figures.bare_client_us = 1e6 * b.cpu.client / b.stats.requests.max(1) as f64;
            figures.bare_server_cores = b.cpu.bare / b.seconds;
        }
        let notes = Notes {
            empty_calls: h.stats.empty_calls,
            pauses: h.stats.pauses,
            waiting: h.waiting,
            errors: h.stats.errors.clone(),
        };
        print_run(&format!("run {run}"), &figures, &notes);
        all.push(figures);
    }
    if all.len() > 1 {
        let pick = |f: &dyn Fn(&RunFigures) -> f64| median(all.iter().map(f).collect());
        let med = RunFigures {
            durable_per_s: pick(&|f| f.durable_per_s),
            requests_per_s: pick(&|f| f.requests_per_s),
            lat: std::array::from_fn(|k| {
                (
                    pick(&|f| f.lat[k].0),
                    pick(&|f| f.lat[k].1),
                    all.iter().map(|f| f.lat[k].2).sum(),
                )
            }),
            client_us: pick(&|f| f.client_us),
            server_cores: pick(&|f| f.server_cores),
            bare_per_s: bare.map(|_| pick(&|f| f.bare_per_s.unwrap_or(f64::NAN))),
            bare_lat: (pick(&|f| f.bare_lat.0), pick(&|f| f.bare_lat.1)),
            bare_client_us: pick(&|f| f.bare_client_us),
            bare_server_cores: pick(&|f| f.bare_server_cores),
        };
        print_run(
            &format!("median of {} runs", all.len()),
            &med,
            &Notes::default(),
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = if args.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.client_threads)
            .thread_name("loadgen-client")
            .enable_all()
            .build()?
    };
    runtime.block_on(main_async(args))
}
