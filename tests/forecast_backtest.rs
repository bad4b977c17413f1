//! The wait-estimate backtest, small enough for CI: a county hall with
//! lunch, two warm-up days and one estimated short day (the morning
//! session). The full figures are in BENCHMARKS.md ("Wait estimates",
//! `examples/estimate_backtest.rs`). Seeds here are not the tuning seeds.
//!
//! Only statistical sanity is asserted, with wide margins — but each can
//! fail: an estimator no better than the classic one, or intervals that do
//! not mean 80%, fail it.

use hallq::config::Config;
use hallq::forecast::Settings;
use hallq::forecast::backtest::{BacktestSettings, Summary, lookahead_estimator, run_seed};

fn county() -> Config {
    Config::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/firmware-config/examples/county-hall.toml"
    )))
    .expect("the county hall example is valid")
}

fn small() -> BacktestSettings {
    BacktestSettings {
        warm_days: 2,
        eval_days: 1,
        every: 2,
        sessions: Some(1),
        lookahead: Settings {
            runs: 16,
            ..Settings::default()
        },
        ..BacktestSettings::default()
    }
}

#[test]
fn lookahead_beats_the_classic_estimate_and_its_intervals_mean_80_percent() {
    let config = county();
    let settings = small();
    let mut all = Vec::new();
    for seed in [301, 302] {
        let mut estimator = lookahead_estimator(settings.lookahead.clone());
        let samples = run_seed(&config, seed, &settings, &mut estimator).expect("backtest runs");
        all.extend(samples);
    }
    let s = Summary::of(&all);
    eprintln!("{s:?}");
    assert!(s.samples >= 60, "too few estimated tickets: {}", s.samples);
    assert!(
        s.mean_actual > 3.0,
        "the simulated morning must make people wait (mean {:.1} min)",
        s.mean_actual
    );
    assert!(
        s.mae_ours < 0.85 * s.mae_classic,
        "look-ahead MAE {:.2} min is not clearly below the classic {:.2} min",
        s.mae_ours,
        s.mae_classic
    );
    assert!(
        (0.6..=0.95).contains(&s.coverage),
        "80% intervals cover {:.0}% of real waits",
        100.0 * s.coverage
    );
    for x in &all {
        assert!(
            x.ours_low <= x.ours + 1e-9 && x.ours <= x.ours_high + 1e-9,
            "interval around the median: {x:?}"
        );
    }
}

#[test]
fn a_backtest_is_reproducible_from_its_seed() {
    let config = county();
    let settings = BacktestSettings {
        warm_days: 1,
        every: 5,
        ..small()
    };
    let run = || {
        let mut estimator = lookahead_estimator(settings.lookahead.clone());
        run_seed(&config, 303, &settings, &mut estimator).expect("backtest runs")
    };
    let (a, b) = (run(), run());
    assert!(!a.is_empty());
    let key = |v: &[hallq::forecast::backtest::Sample]| -> Vec<(u64, u64, u64)> {
        v.iter()
            .map(|s| (s.ticket, s.actual.to_bits(), s.ours.to_bits()))
            .collect()
    };
    assert_eq!(key(&a), key(&b));
}

/// The forecaster looks ahead from `Hall::live_copy` (only the live
/// tickets), so its cost follows the line, not the day, and the device
/// hub's replica drops finished tickets (`Hall::forget_finished`). Both must
/// decide the rest of the day exactly as the whole hall, finished tickets
/// and all: the same forecast, run by run.
#[test]
fn a_hall_without_its_finished_tickets_decides_the_rest_of_the_day_as_the_whole_hall() {
    let config = county();
    let settings = BacktestSettings {
        warm_days: 1,
        every: 3,
        ..small()
    };
    let lookahead = Settings {
        runs: 8,
        ..settings.lookahead.clone()
    };
    let (mut compared, mut finished_left_out) = (0usize, 0usize);
    let mut estimator = |hall: &hallq::queue::Hall, model: &hallq::forecast::Model, now| {
        let copy = hall.live_copy();
        finished_left_out = finished_left_out.max(hall.tickets().count() - copy.tickets().count());
        let s = Settings {
            seed: now as u64,
            ..lookahead.clone()
        };
        let whole = hallq::forecast::look_ahead(hall, model, now, &s);
        let live = hallq::forecast::look_ahead(&copy, model, now, &s);
        // The device hub's replica forgets finished tickets in place.
        let mut forgetting = hall.clone();
        forgetting.forget_finished();
        let forgot = hallq::forecast::look_ahead(&forgetting, model, now, &s);
        let sorted = |f: &hallq::forecast::Forecast| {
            let mut v: Vec<_> = f.tickets.iter().map(|(id, e)| (id.0, *e)).collect();
            v.sort_by_key(|(id, _)| *id);
            v
        };
        assert_eq!(
            sorted(&whole),
            sorted(&live),
            "estimates of waiting tickets"
        );
        assert_eq!(whole.arrivals, live.arrivals, "estimates for a new ticket");
        assert_eq!(whole.steps, live.steps, "the runs took the same steps");
        assert_eq!(sorted(&whole), sorted(&forgot), "after forget_finished");
        assert_eq!(whole.arrivals, forgot.arrivals, "after forget_finished");
        assert_eq!(whole.steps, forgot.steps, "after forget_finished");
        compared += 1;
        whole
    };
    run_seed(&config, 304, &settings, &mut estimator).expect("backtest runs");
    assert!(compared >= 10, "only {compared} look-aheads compared");
    assert!(
        finished_left_out >= 20,
        "the copy must have left finished tickets out (at most {finished_left_out})"
    );
}
