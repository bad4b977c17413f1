//! A soak day: a busy hall driven for a long time against a real `hallq
//! serve` whose devices are a separate `hallq sim` (PTYs), with device
//! faults injected through the simulator's console, while the daemon's
//! memory, latency, errors and journal are recorded.
//!
//! Used by `examples/soak.rs` (the hour-long run of BENCHMARKS.md) and by
//! `tests/soak_smoke.rs` (a minute of it in CI). The including crate declares
//! `http`, `counter` and `spawn` (the files beside this one) at its root.
//!
//! What runs:
//! - `hallq sim --config FILE`: every `"sim"` bus of the configuration on a
//!   PTY; its stdin takes `fault …` and `rate …` commands.
//! - `hallq serve --config FILE --bus NAME=PTY …`: the daemon, with its own
//!   data directory, driving those PTYs as it would real RS-485 adapters.
//! - Kiosks issue the day's tickets on a schedule (a day-shaped arrival
//!   curve — morning peak, lunch dip, afternoon peak — or uniform), each at
//!   a service drawn in proportion to the windows that serve it (a flow's
//!   later steps take what the earlier steps send them).
//! - One counter per window (its staff account signed in there): call-next,
//!   a walk to the window, start, a random service time, finish; 3% are
//!   no-shows (no-show after a few seconds), 5% are recalled first, 2% are
//!   transferred to another service of the zone; 60% of finished tickets are
//!   rated on the window's evaluator (a `rate` console command to the
//!   simulator, so the rating travels the bus like a real press).
//! - Big screens: event-stream readers on `/api/v1/events` the whole time.
//! - Faults on a schedule (unplugged devices plugged back, garbage, bad CRC,
//!   slow devices, a whole line silent, a voice chip gone).
//! - Every `sample_seconds` the daemon's VmRSS, VmHWM and RssAnon (/proc),
//!   the tickets issued so far and the journal's size.
//!
//! At the end (all arrivals issued, nobody waiting, every counter idle) each
//! issued ticket is read back (it must have ended: finished or no-show),
//! the daemon is stopped with SIGTERM and `hallq verify` must pass.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use hallq::config::{Config, Role};
use hallq::daemon::JOURNAL_FILE;
use hallq::journal::JournalReader;
use hallq::sim::traffic::SimRng;

use crate::counter::{Phase, prepare_counter, resync};
use crate::http::{Conn, Verb, ok};

const FIRST_PASSWORD: &str = "soak-First-2468";
const PASSWORD: &str = "soak-Pass-9753";

/// Share of called tickets that do not come (no-show).
const NO_SHOW_PERCENT: u64 = 3;
/// Share of called tickets recalled once before they come.
const RECALL_PERCENT: u64 = 5;
/// Share of served tickets transferred to another service of the zone.
const TRANSFER_PERCENT: u64 = 2;
/// Share of finished tickets the citizen rates on the evaluator.
const RATE_PERCENT: u64 = 60;
/// A request unanswered this long counts as a transport failure.
const ANSWER_LIMIT: Duration = Duration::from_secs(30);
/// A real hall's arrivals by hour over a 10-hour day (08:30–18:30 folded
/// into the run): morning peak, lunch dip, afternoon peak.
const DAY_SHAPE: [f64; 10] = [0.7, 1.3, 1.5, 1.2, 0.6, 0.5, 1.1, 1.4, 1.1, 0.6];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    Day,
    Uniform,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The hallq binary.
    pub hallq: PathBuf,
    /// The hall configuration (its `"sim"` buses are simulated).
    pub config: PathBuf,
    /// A fresh directory for the daemon's data and the processes' logs.
    pub work: PathBuf,
    pub tickets: u64,
    /// Minutes over which the tickets arrive.
    pub minutes: f64,
    pub curve: Curve,
    pub kiosks: usize,
    /// Event-stream readers (big screens).
    pub screens: usize,
    /// Target share of the windows' time spent with a citizen.
    pub busy: f64,
    /// After the last arrival, at most this long for the hall to empty.
    pub drain_minutes: f64,
    pub sample_seconds: f64,
    pub faults: bool,
    pub seed: u64,
    pub kiosk_key: String,
    pub display_key: String,
    /// A line on stdout every minute.
    pub progress: bool,
}

// --- measurements ------------------------------------------------------------

pub const KINDS: [&str; 8] = [
    "issue",
    "call-next",
    "recall",
    "start",
    "finish",
    "no-show",
    "transfer",
    "events-open",
];
const ISSUE: usize = 0;
const CALL: usize = 1;
const RECALL: usize = 2;
const START: usize = 3;
const FINISH: usize = 4;
const NO_SHOW: usize = 5;
const TRANSFER: usize = 6;
const EVENTS_OPEN: usize = 7;

#[derive(Default)]
struct Stats {
    lat_us: [Vec<u32>; KINDS.len()],
    /// (kind, status) → count, for every non-2xx (status 0 = transport).
    errors: BTreeMap<(usize, u16), u64>,
    /// call-next answered with nobody to call.
    empty_calls: u64,
    ratings_sent: u64,
    /// Requests sent again (same Idempotency-Key) on a new connection.
    resent: u64,
    /// Idle connections the daemon had closed, reopened before a request.
    reopened: u64,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        for (mine, theirs) in self.lat_us.iter_mut().zip(other.lat_us) {
            mine.extend(theirs);
        }
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
        self.empty_calls += other.empty_calls;
        self.ratings_sent += other.ratings_sent;
        self.resent += other.resent;
        self.reopened += other.reopened;
    }

    fn time(&mut self, kind: usize, t0: Instant) {
        let us = t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
        self.lat_us[kind].push(us);
    }

    fn error(&mut self, kind: usize, status: u16) {
        *self.errors.entry((kind, status)).or_default() += 1;
    }
}

/// One memory sample.
#[derive(Debug, Clone)]
pub struct Sample {
    pub seconds: f64,
    pub rss_kb: u64,
    pub hwm_kb: u64,
    /// RssAnon: the daemon's own memory, without the binary's code pages
    /// (clean, shared with other processes, reclaimable).
    pub anon_kb: u64,
    pub issued: u64,
    pub journal_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct Latency {
    pub kind: &'static str,
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Default)]
pub struct Report {
    pub windows: usize,
    pub tickets_planned: u64,
    pub issued: u64,
    pub arrival_seconds: f64,
    pub total_seconds: f64,
    pub drained: bool,
    pub rss_idle_kb: u64,
    pub anon_idle_kb: u64,
    pub samples: Vec<Sample>,
    pub latency: Vec<Latency>,
    /// "kind status" → count of non-2xx answers.
    pub errors: BTreeMap<String, u64>,
    pub server_errors: u64,
    pub transport_errors: u64,
    pub empty_calls: u64,
    pub ratings_sent: u64,
    /// Requests sent again (same Idempotency-Key) on a new connection.
    pub resent: u64,
    /// Idle connections the daemon had closed, reopened before a request.
    pub reopened: u64,
    pub faults: Vec<String>,
    /// Issued tickets that did not end (status → count), and unknown ones.
    pub not_ended: BTreeMap<String, u64>,
    pub journal_bytes: u64,
    pub journal_rows: u64,
    /// Journal rows by kind.
    pub events: BTreeMap<String, u64>,
    pub verify_ok: bool,
    pub verify_output: String,
    pub screen_events: Vec<u64>,
    pub screen_reconnects: u64,
    pub daemon_cpu_seconds: f64,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

fn median_kb(v: impl Iterator<Item = u64>) -> Option<u64> {
    let mut v: Vec<u64> = v.collect();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

impl Report {
    /// Median RSS (kB) in the first and last `share` of the arrival period.
    pub fn rss_first_last(&self, share: f64) -> (Option<u64>, Option<u64>) {
        self.first_last(share, |s| s.rss_kb)
    }

    /// Median of `kb` over the samples in the first and last `share` of the
    /// arrival period.
    fn first_last(&self, share: f64, kb: impl Fn(&Sample) -> u64) -> (Option<u64>, Option<u64>) {
        let span = self.arrival_seconds * share;
        let first = median_kb(self.samples.iter().filter(|s| s.seconds < span).map(&kb));
        let last = median_kb(
            self.samples
                .iter()
                .filter(|s| {
                    s.seconds >= self.arrival_seconds - span && s.seconds <= self.arrival_seconds
                })
                .map(&kb),
        );
        (first, last)
    }

    /// What makes the run a failure (empty when it passed).
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.server_errors > 0 {
            p.push(format!("{} answers were 5xx", self.server_errors));
        }
        if self.transport_errors > 0 {
            p.push(format!(
                "{} requests failed in transport",
                self.transport_errors
            ));
        }
        if !self.verify_ok {
            p.push(format!(
                "hallq verify failed: {}",
                self.verify_output.trim()
            ));
        }
        if !self.not_ended.is_empty() {
            p.push(format!(
                "issued tickets that did not end: {:?}",
                self.not_ended
            ));
        }
        if !self.drained {
            p.push("the hall did not empty within the drain time".to_string());
        }
        let issued_rows = self.events.get("ticket_issued").copied().unwrap_or(0);
        if issued_rows != self.issued {
            p.push(format!(
                "{} tickets acknowledged to kiosks but {issued_rows} ticket_issued rows in the journal",
                self.issued
            ));
        }
        if self.issued < self.tickets_planned {
            p.push(format!(
                "{} of {} tickets were refused",
                self.tickets_planned - self.issued,
                self.tickets_planned
            ));
        }
        p
    }

    pub fn print(&self) {
        println!(
            "soak: {} windows, {} of {} tickets issued over {:.0} s of arrivals, {:.0} s in all (drained: {})",
            self.windows,
            self.issued,
            self.tickets_planned,
            self.arrival_seconds,
            self.total_seconds,
            self.drained
        );
        let (first, last) = self.rss_first_last(1.0 / 6.0);
        let max_hwm = self.samples.iter().map(|s| s.hwm_kb).max().unwrap_or(0);
        println!(
            "rss: idle {} kB; median first sixth {} kB, last sixth {} kB; peak VmHWM {} kB",
            self.rss_idle_kb,
            first.map_or("-".into(), |v| v.to_string()),
            last.map_or("-".into(), |v| v.to_string()),
            max_hwm
        );
        let (anon_first, anon_last) = self.first_last(1.0 / 6.0, |s| s.anon_kb);
        println!(
            "rss anon (without the binary's code pages): idle {} kB; median first sixth {} kB, last sixth {} kB",
            self.anon_idle_kb,
            anon_first.map_or("-".into(), |v| v.to_string()),
            anon_last.map_or("-".into(), |v| v.to_string()),
        );
        if let (Some(f), Some(l)) = (first, last) {
            let growth = l as f64 - f as f64;
            let per_k = 1000.0 * growth / (self.issued.max(1) as f64 * 5.0 / 6.0);
            println!(
                "rss growth first→last sixth: {growth:+.0} kB ({per_k:+.1} kB per 1,000 tickets)"
            );
        }
        println!("latency (ms, client side):");
        for l in &self.latency {
            if l.count > 0 {
                println!(
                    "  {:<12} n={:<7} p50 {:>7.2}  p99 {:>7.2}  max {:>8.2}",
                    l.kind, l.count, l.p50_ms, l.p99_ms, l.max_ms
                );
            }
        }
        println!(
            "errors: 5xx {}, transport {}, non-2xx by kind {:?}; empty call-next {}; \
             sent again on a new connection (same key) {}; idle connections the daemon \
             closed, reopened {}",
            self.server_errors,
            self.transport_errors,
            self.errors,
            self.empty_calls,
            self.resent,
            self.reopened
        );
        println!(
            "journal: {} rows, {} bytes ({:.1} MB) at the end; verify: {}",
            self.journal_rows,
            self.journal_bytes,
            self.journal_bytes as f64 / 1e6,
            if self.verify_ok { "ok" } else { "FAILED" }
        );
        println!("journal rows by kind: {:?}", self.events);
        println!(
            "screens: events per stream {:?}, reconnects {}; ratings sent {}; daemon cpu {:.0} s",
            self.screen_events, self.screen_reconnects, self.ratings_sent, self.daemon_cpu_seconds
        );
        println!("faults injected ({}):", self.faults.len());
        for f in &self.faults {
            println!("  {f}");
        }
        println!("rss timeline (s, VmRSS kB, VmHWM kB, RssAnon kB, issued, journal bytes):");
        for s in &self.samples {
            println!(
                "  {:>6.0} {:>7} {:>7} {:>7} {:>6} {:>10}",
                s.seconds, s.rss_kb, s.hwm_kb, s.anon_kb, s.issued, s.journal_bytes
            );
        }
        let problems = self.problems();
        if problems.is_empty() {
            println!("result: PASS");
        } else {
            for p in problems {
                println!("result: FAIL: {p}");
            }
        }
    }
}

// --- the hall plan -----------------------------------------------------------

struct Plan {
    /// (account, window) per counter.
    counters: Vec<(String, u32)>,
    /// Services a ticket is issued for, with their share of the arrivals.
    services: Vec<String>,
    demand: Vec<u32>,
    priority: Option<String>,
    /// Per window: the other services of its zone (transfer targets).
    zone_services: BTreeMap<u32, Vec<String>>,
    /// Service steps per issued ticket (flows make more than one).
    steps_per_ticket: f64,
}

fn plan(config: &Config) -> anyhow::Result<Plan> {
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
    if staff.len() < windows.len() {
        bail!(
            "{}: {} windows call but only {} staff accounts can sign in at them",
            config.source_name,
            windows.len(),
            staff.len()
        );
    }
    let counters = staff
        .iter()
        .zip(&windows)
        .map(|(a, w)| (a.to_string(), w.number))
        .collect();
    // Capacity per service in window-equivalents (a window's time split by
    // its weights).
    let mut capacity: BTreeMap<&str, f64> = BTreeMap::new();
    for w in &windows {
        let total: f64 = w.services.iter().map(|s| f64::from(s.weight)).sum();
        for s in &w.services {
            *capacity.entry(s.service.as_str()).or_default() += f64::from(s.weight) / total;
        }
    }
    // Direct arrivals: a service's capacity less what earlier flow steps
    // send it (at least a tenth of it); when a step is sent more than 90% of
    // its capacity, the steps sending to it get fewer arrivals, so no line
    // grows for the whole day.
    let next: BTreeMap<&str, &str> = config
        .services()
        .iter()
        .filter_map(|s| Some((s.id.as_str(), s.next_step.as_deref()?)))
        .collect();
    let mut scale: BTreeMap<&str, f64> = capacity.keys().map(|&s| (s, 1.0)).collect();
    let mut direct: BTreeMap<&str, f64> = capacity.clone();
    let mut inflow: BTreeMap<&str, f64> = BTreeMap::new();
    // Chains are short; settle them by repeating.
    for _ in 0..8 {
        inflow.clear();
        for _ in 0..4 {
            let mut into: BTreeMap<&str, f64> = BTreeMap::new();
            for (&from, &to) in &next {
                let load = direct.get(from).copied().unwrap_or(0.0)
                    + inflow.get(from).copied().unwrap_or(0.0);
                *into.entry(to).or_default() += load;
            }
            inflow = into;
        }
        for (&to, &into) in &inflow {
            let cap = capacity.get(to).copied().unwrap_or(0.0);
            if into > 0.9 * cap {
                for (&from, _) in next.iter().filter(|&(_, &t)| t == to) {
                    if let Some(f) = scale.get_mut(from) {
                        *f *= 0.9 * cap / into;
                    }
                }
            }
        }
        for (s, d) in direct.iter_mut() {
            let cap = capacity[s];
            let into = inflow.get(s).copied().unwrap_or(0.0);
            *d = scale[s] * (cap - into).max(cap * 0.1);
        }
    }
    let services: Vec<String> = direct.keys().map(|s| s.to_string()).collect();
    let total_direct: f64 = direct.values().sum();
    let total_load: f64 = total_direct + inflow.values().sum::<f64>();
    let demand = direct
        .values()
        .map(|d| (d * 1000.0).round() as u32)
        .collect();
    let mut zone_services = BTreeMap::new();
    for w in &windows {
        let mut others: BTreeSet<&str> = BTreeSet::new();
        for v in windows.iter().filter(|v| v.zone == w.zone) {
            others.extend(v.services.iter().map(|s| s.service.as_str()));
        }
        zone_services.insert(
            w.number,
            others.into_iter().map(str::to_string).collect::<Vec<_>>(),
        );
    }
    Ok(Plan {
        counters,
        services,
        demand,
        priority: config.file.priority.first().map(|p| p.id.clone()),
        zone_services,
        steps_per_ticket: total_load / total_direct.max(1e-9),
    })
}

/// Arrival times (seconds from the start) of `n` tickets over `seconds`.
fn arrivals(n: u64, seconds: f64, curve: Curve, rng: &mut SimRng) -> Vec<f64> {
    let shape: &[f64] = match curve {
        Curve::Day => &DAY_SHAPE,
        Curve::Uniform => &[1.0],
    };
    let total: f64 = shape.iter().sum();
    let seg = seconds / shape.len() as f64;
    (0..n)
        .map(|i| {
            // Inverse of the piecewise-linear cumulative curve at a jittered
            // quantile.
            let jitter = (rng.below(1_000_000) as f64) / 1_000_000.0;
            let mut q = (i as f64 + jitter) / n as f64 * total;
            for (k, &w) in shape.iter().enumerate() {
                if q < w || k == shape.len() - 1 {
                    return seg * (k as f64 + (q / w).min(1.0));
                }
                q -= w;
            }
            seconds
        })
        .collect()
}

// --- processes -----------------------------------------------------------------

/// A child process killed when dropped.
struct Proc {
    child: Child,
    name: &'static str,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// SIGTERM, then wait up to `limit` (then SIGKILL). True when it exited 0.
    fn terminate(&mut self, limit: Duration) -> anyhow::Result<bool> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.success());
            }
            if Instant::now() >= deadline {
                eprintln!("soak: {} did not stop in {limit:?}; killing it", self.name);
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Starts `hallq sim`; returns it, its bus flags and a sender of console lines.
fn start_sim(opts: &Options) -> anyhow::Result<(Proc, Vec<String>, mpsc::UnboundedSender<String>)> {
    let log = std::fs::File::create(opts.work.join("sim.log"))?;
    let mut child = Command::new(&opts.hallq)
        .arg("sim")
        .arg("--config")
        .arg(&opts.config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log.try_clone()?)
        .spawn()
        .with_context(|| format!("starting {} sim", opts.hallq.display()))?;
    let stdout = child.stdout.take().context("sim stdout")?;
    let mut stdin = child.stdin.take().context("sim stdin")?;
    let proc = Proc {
        child,
        name: "hallq sim",
    };
    let mut lines = BufReader::new(stdout);
    let mut buses = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            bail!(
                "hallq sim exited before listing its buses (see {})",
                opts.work.join("sim.log").display()
            );
        }
        // "bus NAME: PATH (N devices)"
        if let Some(rest) = line.strip_prefix("bus ") {
            let (name, rest) = rest.split_once(": ").context("sim bus line")?;
            let path = rest.split(" (").next().context("sim bus path")?;
            buses.push(format!("{name}={path}"));
        } else if line.starts_with("type help") {
            break;
        }
    }
    // Keep draining what the simulator prints (every device change) into its log.
    let mut log_out = log;
    std::thread::Builder::new()
        .name("soak-sim-out".into())
        .spawn(move || {
            let mut line = String::new();
            while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
                let _ = log_out.write_all(line.as_bytes());
                line.clear();
            }
        })?;
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    std::thread::Builder::new()
        .name("soak-sim-in".into())
        .spawn(move || {
            while let Some(cmd) = rx.blocking_recv() {
                if writeln!(stdin, "{cmd}")
                    .and_then(|()| stdin.flush())
                    .is_err()
                {
                    break;
                }
            }
        })?;
    Ok((proc, buses, tx))
}

fn start_daemon(
    opts: &Options,
    data: &Path,
    buses: &[String],
) -> anyhow::Result<(Proc, SocketAddr)> {
    let log = std::fs::File::create(opts.work.join("serve.log"))?;
    let mut cmd = Command::new(&opts.hallq);
    cmd.arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .arg("--data")
        .arg(data)
        .arg("--config")
        .arg(&opts.config);
    for b in buses {
        cmd.arg("--bus").arg(b);
    }
    let mut child = cmd
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {} serve", opts.hallq.display()))?;
    let mut stdout = child.stdout.take().context("serve stdout")?;
    let proc = Proc {
        child,
        name: "hallq serve",
    };
    let addr = crate::spawn::listening_addr(&mut stdout)?;
    std::thread::Builder::new()
        .name("soak-serve-out".into())
        .spawn(move || {
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        })?;
    Ok((proc, addr))
}

/// A process's memory from /proc, in kB.
struct Memory {
    rss_kb: u64,
    hwm_kb: u64,
    anon_kb: u64,
}

fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some(Memory {
        rss_kb: field("VmRSS:")?,
        hwm_kb: field("VmHWM:")?,
        anon_kb: field("RssAnon:")?,
    })
}

/// utime + stime of a process, in seconds (clock ticks taken as 1/100 s).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.rfind(')')?;
    let mut fields = stat[close + 2..].split_whitespace();
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn journal_bytes(data: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(data.join(format!("{JOURNAL_FILE}{suffix}"))).ok())
        .map(|m| m.len())
        .sum()
}

// --- the clients -----------------------------------------------------------------

/// What every client task shares.
struct Shared {
    start: Instant,
    /// Set when the run is over: counters leave at their next idle moment,
    /// screens close.
    stop: AtomicBool,
    arrivals_done: AtomicBool,
    /// Counters with a ticket in hand.
    busy: AtomicUsize,
    issued: AtomicU64,
    issued_ids: Mutex<Vec<u64>>,
    console: mpsc::UnboundedSender<String>,
    /// The hard end: nothing is sent after it.
    deadline: Instant,
}

fn seconds_between(rng: &mut SimRng, lo: f64, hi: f64) -> Duration {
    Duration::from_secs_f64(lo + (hi - lo) * rng.below(1_000_000) as f64 / 1_000_000.0)
}

/// Exponential with this mean, cut to [mean/10, 4 × mean].
fn service_time(rng: &mut SimRng, mean: f64) -> Duration {
    let u = (rng.below(1_000_000) as f64 + 0.5) / 1_000_000.0;
    Duration::from_secs_f64((-u.ln() * mean).clamp(mean / 10.0, mean * 4.0))
}

async fn kiosk(
    addr: SocketAddr,
    key: String,
    times: Vec<(f64, Vec<u8>)>,
    shared: Arc<Shared>,
    client: u32,
) -> Stats {
    let mut stats = Stats::default();
    let mut conn = match Conn::open(addr, &key).await {
        Ok(c) => c,
        Err(_) => {
            stats.error(ISSUE, 0);
            return stats;
        }
    };
    for (seq, (at, body)) in times.into_iter().enumerate() {
        let when = shared.start + Duration::from_secs_f64(at);
        tokio::time::sleep_until(when.into()).await;
        if Instant::now() >= shared.deadline {
            break;
        }
        let t0 = Instant::now();
        match send_retrying(
            &mut conn,
            "/api/v1/tickets",
            (client, seq as u64),
            &body,
            &mut stats,
        )
        .await
        {
            Ok((status, answer)) if ok(status) => {
                stats.time(ISSUE, t0);
                let v: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
                if let Some(id) = v["ticket"]["id"].as_u64() {
                    shared.issued_ids.lock().expect("issued ids").push(id);
                }
                shared.issued.fetch_add(1, Ordering::Relaxed);
            }
            Ok((status, _)) => stats.error(ISSUE, status),
            Err(_) => {
                stats.error(ISSUE, 0);
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = conn.reconnect().await;
            }
        }
    }
    stats.reopened = conn.reopened;
    stats
}

/// A POST with an Idempotency-Key, as a real client sends it: when the
/// connection fails (the server closes keep-alive connections that idle) it
/// is reopened and the request sent again with the same key, once; an answer
/// slower than `ANSWER_LIMIT` is a transport failure.
async fn send_retrying(
    conn: &mut Conn,
    path: &str,
    key: (u32, u64),
    body: &[u8],
    stats: &mut Stats,
) -> std::io::Result<(u16, Vec<u8>)> {
    for attempt in 0..2 {
        match tokio::time::timeout(ANSWER_LIMIT, conn.send(Verb::Post, path, Some(key), body)).await
        {
            Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
            Ok(Ok((status, answer))) => return Ok((status, answer.to_vec())),
            Ok(Err(e)) if attempt == 1 => return Err(e),
            Ok(Err(_)) => {
                stats.resent += 1;
                conn.reconnect().await?;
            }
        }
    }
    unreachable!("the loop returns on its second attempt")
}

struct Counter {
    id: u32,
    window: u32,
    account: String,
    conn: Conn,
    rng: SimRng,
    service_mean: f64,
    others: Vec<String>,
}

/// One staff member at a window for the whole run.
async fn counter(mut c: Counter, shared: Arc<Shared>) -> Stats {
    let mut stats = Stats::default();
    let call = format!("/api/v1/windows/{}/call-next", c.window);
    let recall = format!("/api/v1/windows/{}/recall", c.window);
    let start = format!("/api/v1/windows/{}/start", c.window);
    let finish = format!("/api/v1/windows/{}/finish", c.window);
    let no_show = format!("/api/v1/windows/{}/no-show", c.window);
    let transfer = format!("/api/v1/windows/{}/transfer", c.window);
    let mut phase = Phase::Idle;
    let mut service = String::new();
    let mut seq = 0u64;
    loop {
        if Instant::now() >= shared.deadline {
            break;
        }
        if phase == Phase::Idle && shared.stop.load(Ordering::Relaxed) {
            break;
        }
        // What to send next, after how long a pause.
        let (kind, path, body, pause): (usize, &str, String, Duration) = match phase {
            Phase::Idle => (CALL, &call, String::new(), Duration::ZERO),
            Phase::Called => {
                if c.rng.chance(NO_SHOW_PERCENT) {
                    (
                        NO_SHOW,
                        &no_show,
                        String::new(),
                        seconds_between(&mut c.rng, 3.0, 6.0),
                    )
                } else if c.rng.chance(RECALL_PERCENT) {
                    (
                        RECALL,
                        &recall,
                        String::new(),
                        seconds_between(&mut c.rng, 1.0, 2.0),
                    )
                } else {
                    (
                        START,
                        &start,
                        String::new(),
                        seconds_between(&mut c.rng, 0.5, 3.0),
                    )
                }
            }
            Phase::Serving => {
                let pause = service_time(&mut c.rng, c.service_mean);
                let others: Vec<&String> = c.others.iter().filter(|s| **s != service).collect();
                if !others.is_empty() && c.rng.chance(TRANSFER_PERCENT) {
                    let to = others[c.rng.below(others.len() as u64) as usize];
                    let body = serde_json::json!({"service": to, "reason": "soak: another matter"});
                    (TRANSFER, &transfer, body.to_string(), pause)
                } else {
                    (FINISH, &finish, r#"{"outcome":"done"}"#.to_string(), pause)
                }
            }
        };
        tokio::time::sleep(pause).await;
        seq += 1;
        let t0 = Instant::now();
        let answer =
            send_retrying(&mut c.conn, path, (c.id, seq), body.as_bytes(), &mut stats).await;
        let took = t0.elapsed();
        if took > Duration::from_secs(5) {
            eprintln!("soak: window {}: {} took {took:?}", c.window, KINDS[kind]);
        }
        match answer {
            Ok((status, bytes)) if ok(status) => {
                let nobody = kind == CALL && bytes.starts_with(br#"{"ticket":null"#);
                if nobody {
                    stats.empty_calls += 1;
                } else {
                    stats.time(kind, t0);
                }
                if kind == CALL && !nobody {
                    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                    service = v["ticket"]["service"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                }
                let before = phase;
                phase = match kind {
                    CALL if nobody => Phase::Idle,
                    CALL | RECALL => Phase::Called,
                    START => Phase::Serving,
                    _ => Phase::Idle,
                };
                note_busy(&shared, before, phase);
                if kind == FINISH && c.rng.chance(RATE_PERCENT) {
                    stats.ratings_sent += 1;
                    let delay = seconds_between(&mut c.rng, 0.5, 3.0);
                    let rating = [1, 1, 1, 2, 2, 2, 3, 4, 5][c.rng.below(9) as usize];
                    let line = format!("rate {} {rating}", c.window);
                    let console = shared.console.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = console.send(line);
                    });
                }
                if nobody {
                    // Nobody waits: look again in a second or two.
                    let wait = seconds_between(&mut c.rng, 1.0, 2.0);
                    tokio::time::sleep(wait).await;
                }
            }
            Ok((status, bytes)) => {
                stats.error(kind, status);
                if stats.errors.values().sum::<u64>() <= 3 {
                    eprintln!(
                        "soak: window {}: {} answered {status}: {}",
                        c.window,
                        KINDS[kind],
                        String::from_utf8_lossy(&bytes)
                    );
                }
                let before = phase;
                match resync(&mut c.conn, c.window, &c.account).await {
                    Ok(p) => phase = p,
                    Err(e) => {
                        eprintln!("soak: counter at window {}: {e:#}", c.window);
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
                note_busy(&shared, before, phase);
            }
            Err(_) => {
                stats.error(kind, 0);
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = c.conn.reconnect().await;
            }
        }
    }
    note_busy(&shared, phase, Phase::Idle);
    stats.reopened = c.conn.reopened;
    stats
}

fn note_busy(shared: &Shared, before: Phase, after: Phase) {
    match (before == Phase::Idle, after == Phase::Idle) {
        (true, false) => {
            shared.busy.fetch_add(1, Ordering::Relaxed);
        }
        (false, true) => {
            shared.busy.fetch_sub(1, Ordering::Relaxed);
        }
        _ => {}
    }
}

/// A big screen: reads `/api/v1/events` until the run stops, reconnecting
/// after `Last-Event-ID` if the stream ends. (events, reconnects, stats)
async fn screen(addr: SocketAddr, key: String, shared: Arc<Shared>) -> (u64, u64, Stats) {
    let mut stats = Stats::default();
    let mut events = 0u64;
    let mut reconnects = 0u64;
    let mut last_id: Option<u64> = None;
    let mut buf = vec![0u8; 16 * 1024];
    'connect: while !shared.stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
            stats.error(EVENTS_OPEN, 0);
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        let mut req = format!(
            "GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nAccept: text/event-stream\r\n"
        );
        if let Some(id) = last_id {
            req.push_str(&format!("Last-Event-ID: {id}\r\n"));
        }
        req.push_str("\r\n");
        if stream.write_all(req.as_bytes()).await.is_err() {
            stats.error(EVENTS_OPEN, 0);
            continue;
        }
        let mut head_seen = false;
        let mut carry: Vec<u8> = Vec::new();
        loop {
            if shared.stop.load(Ordering::Relaxed) {
                break 'connect;
            }
            let n = match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await
            {
                Err(_) => continue,
                Ok(Ok(0)) | Ok(Err(_)) => {
                    reconnects += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue 'connect;
                }
                Ok(Ok(n)) => n,
            };
            carry.extend_from_slice(&buf[..n]);
            if !head_seen {
                let Some(end) = carry.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&carry[..end]).to_string();
                let status: u16 = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if !ok(status) {
                    stats.error(EVENTS_OPEN, status);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue 'connect;
                }
                stats.time(EVENTS_OPEN, t0);
                head_seen = true;
                carry.drain(..end + 4);
            }
            // Count whole messages (a blank line ends one) and keep the tail.
            let mut consumed = 0;
            while let Some(at) = carry[consumed..].windows(2).position(|w| w == b"\n\n") {
                let message = &carry[consumed..consumed + at];
                for line in message.split(|&b| b == b'\n') {
                    if let Some(id) = line.strip_prefix(b"id:")
                        && let Ok(id) = std::str::from_utf8(id).unwrap_or("").trim().parse()
                    {
                        last_id = Some(id);
                    }
                }
                if message.windows(5).any(|w| w == b"data:") {
                    events += 1;
                }
                consumed += at + 2;
            }
            carry.drain(..consumed);
        }
    }
    (events, reconnects, stats)
}

/// The faults of the run: (at, line to send) pairs, plugs back included.
fn fault_schedule(config: &Config, seconds: f64, rng: &mut SimRng) -> Vec<(f64, String)> {
    let devices = config.devices();
    let modbus_buses: Vec<&str> = config
        .buses()
        .iter()
        .map(|b| b.name.as_str())
        .filter(|b| {
            devices
                .iter()
                .any(|d| d.bus == *b && d.unit.is_some() && d.window.is_some())
        })
        .collect();
    let lone_buses = |profile: &str| -> Vec<&str> {
        config
            .buses()
            .iter()
            .map(|b| b.name.as_str())
            .filter(|b| {
                devices
                    .iter()
                    .any(|d| d.bus == *b && d.unit.is_none() && d.profile.contains(profile))
            })
            .collect()
    };
    let voice: Vec<&str> = [lone_buses("syn6288"), lone_buses("xfs5152")].concat();
    let bx5k = lone_buses("bx5k");
    let unit_of = |bus: &str, profile: &str, rng: &mut SimRng| -> Option<u8> {
        let units: Vec<u8> = devices
            .iter()
            .filter(|d| d.bus == bus && d.profile.contains(profile))
            .filter_map(|d| d.unit)
            .collect();
        rng.pick(&units).copied()
    };
    let count = (seconds / 150.0).round().clamp(6.0, 48.0) as usize;
    let period = seconds / count as f64;
    let mut out = Vec::new();
    for i in 0..count {
        let at = period * (i as f64 + 0.25);
        let lasts = period * 0.5;
        let Some(&bus) = rng.pick(&modbus_buses) else {
            break;
        };
        // (bus, unit or "all", fault)
        let pick: Option<(String, String, String)> = match i % 8 {
            0 => {
                unit_of(bus, "indicator", rng).map(|u| (bus.into(), u.to_string(), "unplug".into()))
            }
            1 => unit_of(bus, "keypad", rng).map(|u| (bus.into(), u.to_string(), "garbage".into())),
            2 => {
                unit_of(bus, "evaluator", rng).map(|u| (bus.into(), u.to_string(), "badcrc".into()))
            }
            3 => unit_of(bus, "board", rng).map(|u| (bus.into(), u.to_string(), "slow 120".into())),
            4 => Some((bus.into(), "all".into(), "silent".into())),
            5 => rng
                .pick(&voice)
                .map(|b| (b.to_string(), "all".into(), "unplug".into())),
            6 => {
                unit_of(bus, "keypad", rng).map(|u| (bus.into(), u.to_string(), "slow 400".into()))
            }
            _ => match rng.pick(&bx5k) {
                Some(b) => Some((b.to_string(), "all".into(), "garbage".into())),
                None => unit_of(bus, "evaluator", rng)
                    .map(|u| (bus.into(), u.to_string(), "unplug".into())),
            },
        };
        if let Some((bus, unit, fault)) = pick {
            out.push((at, format!("fault {bus} {unit} {fault}")));
            out.push((at + lasts, format!("fault {bus} {unit} none")));
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// A GET on the probe connection, reconnecting once if the server closed it.
async fn probe_get(conn: &mut Conn, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    if let Ok((status, body)) = conn.send(Verb::Get, path, None, b"").await {
        return Ok((status, body.to_vec()));
    }
    conn.reconnect().await?;
    let (status, body) = conn.send(Verb::Get, path, None, b"").await?;
    Ok((status, body.to_vec()))
}

async fn healthz_waiting(conn: &mut Conn) -> Option<u64> {
    let (status, body) = probe_get(conn, "/healthz").await.ok()?;
    if !ok(status) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    v["waiting"].as_u64()
}

// --- the run ---------------------------------------------------------------------

pub async fn run(opts: Options) -> anyhow::Result<Report> {
    let config = Config::load(&opts.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let plan = plan(&config)?;
    std::fs::create_dir_all(&opts.work)?;
    let data = opts.work.join("data");
    if data.exists() {
        bail!("{} exists: give a fresh --work directory", data.display());
    }
    let accounts: Vec<String> = plan.counters.iter().map(|(a, _)| a.clone()).collect();
    crate::spawn::provision(
        Arc::new(config.clone()),
        &data,
        &accounts,
        FIRST_PASSWORD,
        PASSWORD,
    )?;

    let (mut sim, buses, console) = start_sim(&opts)?;
    let (mut daemon, addr) = start_daemon(&opts, &data, &buses)?;
    let pid = daemon.child.id();
    eprintln!(
        "soak: hallq serve pid {pid} on {addr}, {} buses from hallq sim pid {}, work {}",
        buses.len(),
        sim.child.id(),
        opts.work.display()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = memory(pid);
    let mut report = Report {
        windows: plan.counters.len(),
        tickets_planned: opts.tickets,
        rss_idle_kb: idle.as_ref().map_or(0, |m| m.rss_kb),
        anon_idle_kb: idle.as_ref().map_or(0, |m| m.anon_kb),
        ..Report::default()
    };

    let mut rng = SimRng::new(opts.seed);
    let arrival_seconds = opts.minutes * 60.0;
    // Each window's cycle: the request round trips, the walk (1.75 s on
    // average) and the service, so that the windows are `busy` of the time.
    let cycle = opts.busy * plan.counters.len() as f64 * arrival_seconds
        / (opts.tickets as f64 * (plan.steps_per_ticket + 0.05));
    let service_mean = (cycle - 1.75).max(1.0);
    eprintln!(
        "soak: {} tickets over {:.0} s ({:?} curve), {} windows, {:.2} service steps per ticket, mean service {:.1} s",
        opts.tickets,
        arrival_seconds,
        opts.curve,
        plan.counters.len(),
        plan.steps_per_ticket,
        service_mean
    );

    // Sign the counters in before the clock starts.
    let mut counters = Vec::new();
    for (i, (account, window)) in plan.counters.iter().enumerate() {
        let (conn, phase) = prepare_counter(addr, account, *window, PASSWORD).await?;
        if phase != Phase::Idle {
            bail!("window {window} is not idle at the start");
        }
        counters.push(Counter {
            id: 10_000 + i as u32,
            window: *window,
            account: account.clone(),
            conn,
            rng: SimRng::new(opts.seed ^ (0x5eed_0000 + i as u64)),
            service_mean,
            others: plan.zone_services.get(window).cloned().unwrap_or_default(),
        });
    }

    let start = Instant::now();
    let drain = Duration::from_secs_f64(opts.drain_minutes * 60.0);
    let shared = Arc::new(Shared {
        start,
        stop: AtomicBool::new(false),
        arrivals_done: AtomicBool::new(false),
        busy: AtomicUsize::new(0),
        issued: AtomicU64::new(0),
        issued_ids: Mutex::new(Vec::with_capacity(opts.tickets as usize)),
        console: console.clone(),
        deadline: start + Duration::from_secs_f64(arrival_seconds) + drain,
    });

    // Arrivals, dealt round-robin to the kiosks.
    let times = arrivals(opts.tickets, arrival_seconds, opts.curve, &mut rng);
    let kiosks = opts.kiosks.max(1);
    let mut per_kiosk: Vec<Vec<(f64, Vec<u8>)>> = vec![Vec::new(); kiosks];
    for (i, at) in times.into_iter().enumerate() {
        let service = &plan.services[rng.weighted(&plan.demand)];
        let body = match &plan.priority {
            Some(p) if rng.chance(5) => serde_json::json!({"service": service, "priority": p}),
            _ => serde_json::json!({"service": service}),
        };
        per_kiosk[i % kiosks].push((at, body.to_string().into_bytes()));
    }
    let mut kiosk_tasks = Vec::new();
    for (k, times) in per_kiosk.into_iter().enumerate() {
        kiosk_tasks.push(tokio::spawn(kiosk(
            addr,
            opts.kiosk_key.clone(),
            times,
            shared.clone(),
            k as u32,
        )));
    }
    let counter_tasks: Vec<_> = counters
        .into_iter()
        .map(|c| tokio::spawn(counter(c, shared.clone())))
        .collect();
    let screen_tasks: Vec<_> = (0..opts.screens)
        .map(|_| tokio::spawn(screen(addr, opts.display_key.clone(), shared.clone())))
        .collect();

    // Faults.
    let faults = if opts.faults {
        fault_schedule(&config, arrival_seconds, &mut rng)
    } else {
        Vec::new()
    };
    let fault_task = {
        let shared = shared.clone();
        let console = console.clone();
        tokio::spawn(async move {
            let mut sent = Vec::new();
            for (at, line) in faults {
                tokio::time::sleep_until((shared.start + Duration::from_secs_f64(at)).into()).await;
                if shared.stop.load(Ordering::Relaxed) {
                    break;
                }
                let _ = console.send(line.clone());
                sent.push(format!("{at:>7.1} s  {line}"));
            }
            sent
        })
    };

    // Samples and the end of the run.
    let mut probe = Conn::open(addr, "none").await?;
    let sample_every = Duration::from_secs_f64(opts.sample_seconds);
    let mut next_sample = start;
    let mut next_progress = start + Duration::from_secs(60);
    let mut quiet_checks = 0;
    let mut arrivals_left = kiosk_tasks;
    let mut kiosk_stats = Vec::new();
    loop {
        let now = Instant::now();
        if now >= next_sample {
            if let Some(m) = memory(pid) {
                report.samples.push(Sample {
                    seconds: (now - start).as_secs_f64(),
                    rss_kb: m.rss_kb,
                    hwm_kb: m.hwm_kb,
                    anon_kb: m.anon_kb,
                    issued: shared.issued.load(Ordering::Relaxed),
                    journal_bytes: journal_bytes(&data),
                });
            }
            next_sample += sample_every;
        }
        if opts.progress && now >= next_progress {
            let s = report.samples.last();
            println!(
                "soak: {:>5.0} s: issued {}, busy windows {}, VmRSS {} kB, journal {} bytes",
                (now - start).as_secs_f64(),
                shared.issued.load(Ordering::Relaxed),
                shared.busy.load(Ordering::Relaxed),
                s.map_or(0, |s| s.rss_kb),
                s.map_or(0, |s| s.journal_bytes)
            );
            next_progress += Duration::from_secs(60);
        }
        if !shared.arrivals_done.load(Ordering::Relaxed)
            && arrivals_left.iter().all(|t| t.is_finished())
        {
            for t in arrivals_left.drain(..) {
                kiosk_stats.push(t.await?);
            }
            shared.arrivals_done.store(true, Ordering::Relaxed);
            report.arrival_seconds = (Instant::now() - start).as_secs_f64().max(arrival_seconds);
            eprintln!(
                "soak: arrivals done after {:.0} s; draining",
                report.arrival_seconds
            );
        }
        if shared.arrivals_done.load(Ordering::Relaxed) {
            let waiting = healthz_waiting(&mut probe).await;
            if waiting == Some(0) && shared.busy.load(Ordering::Relaxed) == 0 {
                quiet_checks += 1;
            } else {
                quiet_checks = 0;
            }
            if quiet_checks >= 3 {
                report.drained = true;
                break;
            }
        }
        if now >= shared.deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    shared.stop.store(true, Ordering::Relaxed);
    let mut stats = Stats::default();
    for s in kiosk_stats {
        stats.merge(s);
    }
    for t in counter_tasks {
        stats.merge(t.await?);
    }
    for t in screen_tasks {
        let (events, reconnects, s) = t.await?;
        report.screen_events.push(events);
        report.screen_reconnects += reconnects;
        stats.merge(s);
    }
    report.faults = fault_task.await?;
    // Faults still on are cleared before the devices are judged.
    if opts.faults {
        for b in config.buses() {
            let _ = console.send(format!("fault {} all none", b.name));
        }
    }
    report.total_seconds = start.elapsed().as_secs_f64();
    if let Some(m) = memory(pid) {
        report.samples.push(Sample {
            seconds: report.total_seconds,
            rss_kb: m.rss_kb,
            hwm_kb: m.hwm_kb,
            anon_kb: m.anon_kb,
            issued: shared.issued.load(Ordering::Relaxed),
            journal_bytes: journal_bytes(&data),
        });
    }
    report.daemon_cpu_seconds = cpu_seconds(pid).unwrap_or(f64::NAN);

    // Every issued ticket must have ended.
    let ids = std::mem::take(&mut *shared.issued_ids.lock().expect("issued ids"));
    report.issued = shared.issued.load(Ordering::Relaxed);
    for id in &ids {
        let (status, body) = probe_get(&mut probe, &format!("/api/v1/tickets/{id}")).await?;
        let state = if ok(status) {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            v["ticket"]["status"].as_str().unwrap_or("?").to_string()
        } else {
            format!("HTTP {status}")
        };
        if state != "finished" && state != "no_show" {
            *report.not_ended.entry(state).or_default() += 1;
        }
    }

    // Latency and errors.
    for (k, name) in KINDS.iter().enumerate() {
        let v = &mut stats.lat_us[k];
        v.sort_unstable();
        report.latency.push(Latency {
            kind: name,
            count: v.len(),
            p50_ms: percentile(v, 0.50),
            p99_ms: percentile(v, 0.99),
            max_ms: v.last().map_or(f64::NAN, |&m| f64::from(m) / 1000.0),
        });
    }
    for (&(kind, status), &n) in &stats.errors {
        *report
            .errors
            .entry(format!("{} {status}", KINDS[kind]))
            .or_default() += n;
        if status >= 500 {
            report.server_errors += n;
        }
        if status == 0 {
            report.transport_errors += n;
        }
    }
    report.empty_calls = stats.empty_calls;
    report.ratings_sent = stats.ratings_sent;
    report.resent = stats.resent;
    report.reopened = stats.reopened;

    // Stop the daemon, then verify and count the journal.
    drop(probe);
    if !daemon.terminate(Duration::from_secs(30))? {
        eprintln!(
            "soak: hallq serve did not exit cleanly (see {})",
            opts.work.join("serve.log").display()
        );
    }
    // The journal's size once the daemon closed it (its WAL checkpointed).
    report.journal_bytes = journal_bytes(&data);
    let verify = Command::new(&opts.hallq)
        .arg("verify")
        .arg("--data")
        .arg(&data)
        .output()
        .context("running hallq verify")?;
    report.verify_ok = verify.status.success();
    report.verify_output = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let reader = JournalReader::open(&data.join(JOURNAL_FILE))?;
    reader.for_each_from(0, |r| -> Result<(), hallq::journal::JournalError> {
        report.journal_rows += 1;
        *report.events.entry(r.kind).or_default() += 1;
        Ok(())
    })?;
    let _ = console.send("quit".to_string());
    drop(console);
    let _ = sim.terminate(Duration::from_secs(5));
    Ok(report)
}
