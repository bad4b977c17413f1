//! The wait-estimate backtest (BENCHMARKS.md, "Wait estimates").
//!
//! Simulated days of a hall (default: firmware-config/examples/county-hall.toml,
//! which has lunch), run with the real core by virtual staff; at every
//! issue our look-ahead estimate and the classic queue-length estimate are
//! recorded, and the real wait when the ticket is called.
//!
//!     cargo run --release --example estimate_backtest -- \
//!         [--config FILE] [--seeds 101,102,103] [--warm 5] [--eval 3] \
//!         [--runs 32] [--every 1] [--load 1.0] [--spread 1.0] [--json FILE]
//!
//! Seeds 1–99 were used for tuning; report with seeds ≥ 100.

use std::time::Instant;

use hallq::config::Config;
use hallq::forecast::backtest::{BacktestSettings, Sample, Summary, run_seed};
use hallq::forecast::{Settings, look_ahead};

fn main() -> anyhow::Result<()> {
    let mut config_path = "firmware-config/examples/county-hall.toml".to_string();
    let mut seeds: Vec<u64> = vec![101, 102, 103, 104, 105];
    let mut settings = BacktestSettings::default();
    let mut json: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--config" => config_path = value()?,
            "--seeds" => {
                seeds = value()?
                    .split(',')
                    .map(|s| s.trim().parse::<u64>())
                    .collect::<Result<_, _>>()?
            }
            "--warm" => settings.warm_days = value()?.parse()?,
            "--eval" => settings.eval_days = value()?.parse()?,
            "--runs" => settings.lookahead.runs = value()?.parse()?,
            "--every" => settings.every = value()?.parse()?,
            "--load" => settings.load = value()?.parse()?,
            "--spread" => settings.lookahead.spread = value()?.parse()?,
            "--no-arrivals" => settings.lookahead.arrivals = false,
            "--no-phantoms" => settings.lookahead.phantoms = false,
            "--json" => json = Some(value()?),
            other => anyhow::bail!(
                "unknown flag {other}; allowed: --config --seeds --warm --eval --runs --every --load --spread --no-arrivals --no-phantoms --json"
            ),
        }
    }
    let config =
        Config::load(std::path::Path::new(&config_path)).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "hall {config_path}: {} warm-up + {} estimated business days per seed, {} runs per look-ahead, load {}",
        settings.warm_days, settings.eval_days, settings.lookahead.runs, settings.load
    );
    let mut all: Vec<Sample> = Vec::new();
    let mut call_us: Vec<f64> = Vec::new();
    let mut run_us: Vec<f64> = Vec::new();
    let mut steps_per_run: Vec<f64> = Vec::new();
    println!(
        "{:>6} {:>7} {:>9} {:>9} {:>11} {:>7} {:>9} {:>9}",
        "seed", "tickets", "mean wait", "MAE ours", "MAE classic", "ratio", "coverage", "(config)"
    );
    for &seed in &seeds {
        let lookahead = settings.lookahead.clone();
        let mut estimator =
            |hall: &hallq::queue::Hall, model: &hallq::forecast::Model, now: i64| {
                let s = Settings {
                    seed: lookahead.seed ^ (now as u64),
                    ..lookahead.clone()
                };
                let t = Instant::now();
                let f = look_ahead(hall, model, now, &s);
                let us = t.elapsed().as_secs_f64() * 1e6;
                call_us.push(us);
                run_us.push(us / f.simulated_runs.max(1) as f64);
                steps_per_run.push(f.steps as f64 / f.simulated_runs.max(1) as f64);
                f
            };
        let samples =
            run_seed(&config, seed, &settings, &mut estimator).map_err(|e| anyhow::anyhow!(e))?;
        let s = Summary::of(&samples);
        println!(
            "{seed:>6} {:>7} {:>9.1} {:>9.2} {:>11.2} {:>7.2} {:>8.1}% {:>9.2}",
            s.samples,
            s.mean_actual,
            s.mae_ours,
            s.mae_classic,
            s.ratio,
            100.0 * s.coverage,
            s.mae_classic_config
        );
        all.extend(samples);
    }
    let s = Summary::of(&all);
    println!(
        "{:>6} {:>7} {:>9.1} {:>9.2} {:>11.2} {:>7.2} {:>8.1}% {:>9.2}",
        "all",
        s.samples,
        s.mean_actual,
        s.mae_ours,
        s.mae_classic,
        s.ratio,
        100.0 * s.coverage,
        s.mae_classic_config
    );
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    println!(
        "look-ahead cost: median {:.2} ms per estimate ({} runs for the waiting tickets + the new-arrival runs), {:.0} µs per simulated run, {:.0} steps per run; {} estimates",
        median(&mut call_us) / 1000.0,
        settings.lookahead.runs,
        median(&mut run_us),
        median(&mut steps_per_run),
        call_us.len()
    );
    if let Some(path) = json {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&serde_json::json!({ "summary": s, "samples": all }))?,
        )?;
        println!("samples written to {path}");
    }
    Ok(())
}
