//! `screen_bench`: how long a call takes to reach the big screen — from
//! the moment a counter sends `call-next` to the moment the ticket number is
//! in the page's DOM, in real headless Chromium, against the release
//! `hallq` binary.
//!
//! ```text
//! cargo build --release            # the daemon under test: target/release/hallq
//! cargo run --release --example screen_bench -- --calls 200
//! ```
//!
//! It starts `target/release/hallq serve` (the embedded demo hall) on a
//! random port with a fresh data directory, opens
//! `/screen?zone=f1-general#key=demo-display` at 1920×1080 in headless
//! Chromium (Debian packages `chromium` and `chromium-driver`), and installs
//! a MutationObserver that records `performance.timeOrigin +
//! performance.now()` when each `data-number` first appears in `#featured`
//! or `#recent`. It issues every ticket first (tax, served by windows 1–3),
//! then calls them one by one on windows 1, 2, 3 in turn, `--interval-ms`
//! apart (the window's previous ticket is started and finished in between,
//! as a counter would), noting the wall clock (`SystemTime`) just before
//! each `call-next` request. Printed: p50/p90/p99/max of DOM time − request
//! time in ms, how many calls were seen, and the machine's load average.
//! A call that cannot get one of the four featured slots (each call stays
//! there 10 s) shows in `#recent` at once: "first appears" is what a citizen
//! sees first.
//!
//! Options: `--calls 200` (at most 999: one day's tax series), `--interval-ms
//! 300`, `--exe PATH` (default: `hallq` beside this example's directory,
//! i.e. `target/release/hallq`).

#[path = "../tests/browser/mod.rs"]
mod browser;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use browser::{Browser, Daemon, arg_value, now_ms};

/// Each loopback source address may issue 20 tickets at once (the demo's
/// kiosk rate limit burst).
const ISSUES_PER_SOURCE: usize = 20;
const WINDOWS: [u32; 3] = [1, 2, 3];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A file of `displays/` modified after `exe` was built (release builds
/// embed the pages).
fn newer_page_than(exe: &std::path::Path) -> Option<PathBuf> {
    let built = std::fs::metadata(exe).and_then(|m| m.modified()).ok()?;
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("displays")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            let meta = entry.metadata().ok()?;
            if meta.is_dir() {
                dirs.push(path);
            } else if meta.modified().ok()? > built {
                return Some(path);
            }
        }
    }
    None
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_string())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let calls: usize = arg_value("--calls")
        .map(|v| v.parse().expect("--calls N"))
        .unwrap_or(200);
    assert!((1..=999).contains(&calls), "--calls must be 1..=999");
    let interval = Duration::from_millis(
        arg_value("--interval-ms")
            .map(|v| v.parse().expect("--interval-ms N"))
            .unwrap_or(300),
    );
    let exe = arg_value("--exe").map(PathBuf::from).unwrap_or_else(|| {
        let me = std::env::current_exe().expect("current exe");
        // target/<profile>/examples/screen_bench → target/<profile>/hallq
        me.parent()
            .and_then(|p| p.parent())
            .expect("target dir")
            .join("hallq")
    });
    assert!(
        exe.is_file(),
        "{} is missing: run `cargo build --release` first (or give --exe)",
        exe.display()
    );
    if let Some(page) = newer_page_than(&exe) {
        println!(
            "warning: {} is newer than {}: the release binary embeds the pages, rebuild it",
            page.display(),
            exe.display()
        );
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "screen_bench: {calls} calls, {} ms apart, windows 1-3, daemon {}",
        interval.as_millis(),
        exe.display()
    );
    println!("load average at start: {} ({cores} cores)", loadavg());

    let hall = Daemon::start_exe(exe).await;
    let api = hall.api();
    let mut tokens = Vec::new();
    for w in WINDOWS {
        tokens.push(api.staff_window(&format!("w{w:02}"), w).await);
    }
    // Every ticket up front, from as many loopback addresses as the rate limit needs.
    let mut issued = 0;
    let mut source = 2u8;
    while issued < calls {
        let from = api.with_source(Ipv4Addr::new(127, 0, 0, source));
        let batch = ISSUES_PER_SOURCE.min(calls - issued);
        let jobs: Vec<_> = (0..batch)
            .map(|_| {
                let from = from.clone();
                tokio::spawn(async move { from.issue("tax").await })
            })
            .collect();
        for j in jobs {
            j.await.expect("issue task");
        }
        issued += batch;
        source += 1;
    }

    let b = Browser::open(&hall.base(), 1920, 1080).await;
    let version = b
        .client
        .capabilities()
        .and_then(|c| c.get("browserVersion").cloned())
        .unwrap_or_default();
    b.goto("/screen?zone=f1-general#key=demo-display").await;
    b.wait_css("#link.up", Duration::from_secs(15)).await;
    b.observe_calls().await;
    tokio::time::sleep(Duration::from_secs(1)).await; // let the first view settle

    let mut sent: Vec<(String, f64, f64)> = Vec::with_capacity(calls); // number, request, response
    let mut busy = [false; 3];
    let mut next = tokio::time::Instant::now();
    for i in 0..calls {
        let slot = i % WINDOWS.len();
        let w = WINDOWS[slot];
        if busy[slot] {
            api.serve_current(&tokens[slot], w).await;
        }
        tokio::time::sleep_until(next).await;
        next += interval;
        let t = now_ms();
        let number = api.call_next(&tokens[slot], w).await;
        let back = now_ms();
        busy[slot] = true;
        sent.push((number, t, back));
    }
    // Give the last calls time to arrive, then read what the page saw.
    let last = sent.last().map(|s| s.0.clone()).unwrap_or_default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while b.seen_at(&last, "first").await.is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = b.seen_all().await;
    b.close().await;
    drop(hall);

    let mut lat = Vec::new();
    let mut rtt = Vec::new();
    for (number, t, back) in &sent {
        rtt.push(back - t);
        if let Some(at) = seen[number.as_str()]["first"].as_f64() {
            lat.push(at - t);
        }
    }
    lat.sort_by(f64::total_cmp);
    rtt.sort_by(f64::total_cmp);
    let mean = lat.iter().sum::<f64>() / lat.len().max(1) as f64;
    println!("Chromium {}", version.as_str().unwrap_or("?"));
    println!("seen on the screen: {}/{}", lat.len(), sent.len());
    println!(
        "call-next request → number in the DOM (ms): p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  (min {:.1}, mean {:.1})",
        percentile(&lat, 50.0),
        percentile(&lat, 90.0),
        percentile(&lat, 99.0),
        lat.last().copied().unwrap_or(f64::NAN),
        lat.first().copied().unwrap_or(f64::NAN),
        mean
    );
    println!(
        "call-next HTTP round trip (ms): p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        percentile(&rtt, 50.0),
        percentile(&rtt, 90.0),
        percentile(&rtt, 99.0),
        rtt.last().copied().unwrap_or(f64::NAN)
    );
    println!("load average at end: {}", loadavg());
    if lat.len() < sent.len() {
        std::process::exit(1);
    }
}
