//! How long the statistics of a period take (BENCHMARKS.md, "Statistics").
//!
//! Plays `--days` days of seeded hall traffic (`sim::Traffic`, the calendar
//! driven as the owner does) through the real core into a temporary journal,
//! then folds the whole journal with `stats::from_reader` for one day, the
//! month and the quarter, `--runs` times each, and prints the medians.
//!
//!     cargo run --release --example stats_month -- [--config FILE] [--days 31] [--runs 5] [--seed 7] [--rate 1]
//!
//! `--rate k` sends k traffic commands per clock step (a busier hall).
//!
//! The default hall is firmware-config/examples/county-hall.toml, starting on
//! Sunday 1 November 2026.

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use hallq::config::Config;
use hallq::journal::{Journal, JournalReader, MAX_BATCH_RECORDS, NewRecord};
use hallq::queue::{Actor, Event, Hall, MINUTE_MS, Millis, calendar};
use hallq::sim::Traffic;
use hallq::stats::{self, Period};

fn main() -> anyhow::Result<()> {
    let mut config_path = "firmware-config/examples/county-hall.toml".to_string();
    let (mut days, mut runs, mut seed, mut rate) = (31i64, 5usize, 7u64, 1usize);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--config" => config_path = value,
            "--days" => days = value.parse()?,
            "--runs" => runs = value.parse::<usize>()?.max(1),
            "--seed" => seed = value.parse()?,
            "--rate" => rate = value.parse::<usize>()?.max(1),
            other => {
                anyhow::bail!("unknown flag {other}; use --config, --days, --runs, --seed, --rate")
            }
        }
    }
    let config = Arc::new(
        Config::load(std::path::Path::new(&config_path)).map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("journal.sqlite3");

    let first = NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
    let start_ms = calendar::instant(config.tz, first.and_hms_opt(0, 0, 0).expect("midnight"));
    let end_ms = start_ms + days * 24 * 60 * MINUTE_MS;
    let t0 = Instant::now();
    let (events, tickets) = play(&config, &path, seed, rate, start_ms, end_ms)?;
    println!(
        "played {days} days of {} ({} windows) in {:.1} s: {events} events, {tickets} tickets ({:.0} a day)",
        config.file.hall.name,
        config.windows().len(),
        t0.elapsed().as_secs_f64(),
        tickets as f64 / days as f64
    );

    let reader = JournalReader::open(&path)?;
    let mut read_ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let mut n = 0u64;
        reader.for_each_from(0, |_| -> anyhow::Result<()> {
            n += 1;
            Ok(())
        })?;
        assert_eq!(n, events);
        read_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    read_ms.sort_by(f64::total_cmp);
    println!(
        "reading the journal alone: median {:.0} ms over {runs} runs",
        read_ms[read_ms.len() / 2]
    );
    let periods = [
        Period::parse("day", "2026-11-24").map_err(anyhow::Error::msg)?,
        Period::parse("month", "2026-11").map_err(anyhow::Error::msg)?,
        Period::parse("quarter", "2026-Q4").map_err(anyhow::Error::msg)?,
    ];
    for period in periods {
        let mut times = Vec::with_capacity(runs);
        let (mut issued, mut rows) = (0, 0);
        for _ in 0..runs {
            let t = Instant::now();
            let r = stats::from_reader(config.clone(), &reader, &period)?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            issued = r.hall.issued;
            rows = r.journal_last_seq;
            let tables = stats::tables(&r, &config.file.hall.name);
            assert!(!tables.is_empty());
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "{:>8} {}: median {median:.0} ms over {runs} runs; {rows} of {events} rows read ({:.2} µs per row read); {issued} tickets in the period",
            period.kind().as_str(),
            period.label(),
            median * 1000.0 / rows.max(1) as f64,
        );
    }
    Ok(())
}

/// Seeded traffic into the journal; returns (events, tickets issued).
fn play(
    config: &Arc<Config>,
    path: &std::path::Path,
    seed: u64,
    rate: usize,
    start_ms: Millis,
    end_ms: Millis,
) -> anyhow::Result<(u64, u64)> {
    let mut journal = Journal::open(path)?;
    let mut hall = Hall::new(config.clone());
    let mut traffic = Traffic::new(seed, config.clone());
    let mut pending: Vec<(Millis, String, String, &'static str)> = Vec::new();
    let (mut events, mut tickets) = (0u64, 0u64);
    let mut now = start_ms;
    let mut push = |pending: &mut Vec<_>, at: Millis, actor: &Actor, evs: Vec<Event>| {
        for e in evs {
            events += 1;
            tickets += u64::from(matches!(e, Event::TicketIssued { .. }));
            pending.push((
                at,
                actor.label(),
                serde_json::to_string(&e).expect("json"),
                e.kind(),
            ));
        }
    };
    while now < end_ms {
        now += traffic.step_ms(&hall);
        while let Some(command) = hall.due_lifecycle(now) {
            match hall.apply(&Actor::System, &command, now) {
                Ok(evs) if !evs.is_empty() => push(&mut pending, now, &Actor::System, evs),
                _ => break,
            }
        }
        for _ in 0..rate {
            let (actor, command) = traffic.next(&hall, now);
            if let Ok(evs) = hall.apply(&actor, &command, now) {
                push(&mut pending, now, &actor, evs);
            }
        }
        if pending.len() >= MAX_BATCH_RECORDS / 2 {
            flush(&mut journal, &mut pending)?;
        }
    }
    flush(&mut journal, &mut pending)?;
    Ok((events, tickets))
}

fn flush(
    journal: &mut Journal,
    pending: &mut Vec<(Millis, String, String, &'static str)>,
) -> anyhow::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let records: Vec<NewRecord<'_>> = pending
        .iter()
        .map(|(at, actor, payload, kind)| NewRecord {
            at_ms: *at,
            actor,
            client: "bench",
            kind,
            payload,
        })
        .collect();
    journal.append(&records)?;
    pending.clear();
    Ok(())
}
