//! How long a configuration reload holds the owner (`src/daemon/reload.rs`):
//! `reload_pause [TICKETS] [RUNS]` (defaults 20000 and 7).
//!
//! Fills a fresh journal with a busy day through the owner — the demo hall
//! made permissive (no caps, wrapping 5-digit series, no flows), one staff
//! member per window, TICKETS tickets issued, called, started and finished,
//! plus 300 left waiting — then applies RUNS reloads that alternate two
//! configurations (a service renamed and back) and prints, for each, the
//! time `HallHandle::reload` took (the owner does nothing else meanwhile:
//! replay of the whole journal under the new configuration, the live
//! check, one commit). For comparison it prints a plain replay of the same
//! journal (what a restart costs).
//!
//! ```text
//! cargo run --release --example reload_pause -- 20000 7
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hallq::config::Config;
use hallq::config::live::LiveConfig;
use hallq::daemon::clock::SystemClock;
use hallq::daemon::reload::ReloadOutcome;
use hallq::daemon::{JOURNAL_FILE, SubmitError, start};
use hallq::journal::Journal;
use hallq::queue::{Actor, Command, IssueSource, Outcome};

fn permissive() -> Config {
    let mut c = Config::demo();
    for s in &mut c.file.services {
        s.daily_cap = None;
        s.per_person_daily_cap = None;
        s.issue_windows.clear();
        s.series.start = 1;
        s.series.end = 99_999;
        s.series.wrap = true;
        s.next_step = None;
    }
    c
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let tickets: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let runs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(7);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(JOURNAL_FILE);
    let a = Arc::new(permissive());
    let owner = start(a.clone(), &path, SystemClock)?;
    let handle = owner.handle;

    // One worker per window: issue one of its services, call, start, finish.
    let windows: Vec<(u32, String)> = a
        .windows()
        .iter()
        .filter_map(|w| Some((w.number, w.services.first()?.service.clone())))
        .filter(|(n, _)| a.staff(&format!("w{n:02}")).is_some())
        .collect();
    let per_window = tickets.div_ceil(windows.len());
    let filled = Instant::now();
    let mut threads = Vec::new();
    for (window, service) in windows.clone() {
        let handle = handle.clone();
        threads.push(std::thread::spawn(move || -> anyhow::Result<()> {
            let me = Actor::Staff(format!("w{window:02}"));
            handle.submit_blocking(me.clone(), "fill", Command::SignIn { window })?;
            for _ in 0..per_window {
                let issue = Command::Issue {
                    service: service.clone(),
                    priority: None,
                    person: None,
                    source: IssueSource::Kiosk,
                    cases: 1,
                };
                handle.submit_blocking(Actor::Kiosk("k1".into()), "fill", issue)?;
                for command in [
                    Command::CallNext { window },
                    Command::Start { window },
                    Command::Finish {
                        window,
                        outcome: Outcome::Done,
                        reason: None,
                    },
                ] {
                    // Another window of the same service may have called it first.
                    match handle.submit_blocking(me.clone(), "fill", command) {
                        Ok(_) => {}
                        Err(SubmitError::Refused(_)) => break,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Ok(())
        }));
    }
    for t in threads {
        t.join().expect("worker")?;
    }
    for i in 0..300 {
        let (_, service) = &windows[i % windows.len()];
        let issue = Command::Issue {
            service: service.clone(),
            priority: None,
            person: None,
            source: IssueSource::Kiosk,
            cases: 1,
        };
        handle.submit_blocking(Actor::Kiosk("k1".into()), "fill", issue)?;
    }
    let rows = Journal::open(&path)?.last_seq();
    println!(
        "journal: {rows} rows ({} tickets, {} windows) filled in {:.1} s",
        per_window * windows.len() + 300,
        windows.len(),
        filled.elapsed().as_secs_f64()
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let live = LiveConfig::new(a.clone());
    let mut b = (*a).clone();
    b.file.services[0].name.push_str("（重载）");
    b.source_sha256 = format!("{}-b", a.source_sha256);
    let b = Arc::new(b);
    // Two ways: the owner replays the whole journal itself, or (as
    // `Reloader` does) it is replayed off the owner first and the owner
    // replays only the rows since. A probe thread reads the hall through
    // the owner in a loop: its slowest round trip is the hall's pause.
    for pre_replayed in [false, true] {
        let label = if pre_replayed {
            "pre-replayed off the owner"
        } else {
            "owner replays all"
        };
        let mut pauses = Vec::new();
        let mut totals = Vec::new();
        for run in 0..runs {
            let next = if live.get().source_sha256 == a.source_sha256 {
                b.clone()
            } else {
                a.clone()
            };
            let stop = Arc::new(AtomicBool::new(false));
            let probe = {
                let (handle, stop) = (handle.clone(), stop.clone());
                std::thread::spawn(move || -> anyhow::Result<Duration> {
                    let rt = tokio::runtime::Builder::new_current_thread().build()?;
                    let mut slowest = Duration::ZERO;
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        rt.block_on(handle.query(|_, seq| seq))?;
                        slowest = slowest.max(t.elapsed());
                    }
                    Ok(slowest)
                })
            };
            let t = Instant::now();
            let pre = if pre_replayed {
                Some(hallq::daemon::reload::pre_replay(next.clone(), &path)?)
            } else {
                None
            };
            let outcome = rt.block_on(handle.reload(next, pre, live.clone(), "system", "bench"))?;
            let total = t.elapsed();
            stop.store(true, Ordering::Relaxed);
            let pause = probe.join().expect("probe")?;
            if !matches!(outcome, ReloadOutcome::Applied { .. }) {
                anyhow::bail!("reload {run} was not applied: {outcome:?}");
            }
            println!(
                "reload {run} ({label}): total {:.1} ms, hall paused {:.1} ms",
                total.as_secs_f64() * 1e3,
                pause.as_secs_f64() * 1e3
            );
            pauses.push(pause);
            totals.push(total);
        }
        println!(
            "{label}: hall paused median {:.1} ms (max {:.1}), reload took median {:.1} ms, of {runs}",
            median(pauses.clone()).as_secs_f64() * 1e3,
            pauses
                .iter()
                .max()
                .copied()
                .unwrap_or_default()
                .as_secs_f64()
                * 1e3,
            median(totals).as_secs_f64() * 1e3,
        );
    }
    let t = Instant::now();
    let journal = Journal::open(&path)?;
    let replayed = hallq::daemon::replay::replay_full(a.clone(), &journal, None)?;
    let replay = t.elapsed();
    println!(
        "plain replay of the journal ({} events, a restart's cost): {:.1} ms",
        replayed.events,
        replay.as_secs_f64() * 1e3,
    );
    rt.block_on(handle.shutdown());
    Ok(())
}
