//! A minute of the soak (`examples/soak.rs`, BENCHMARKS.md "Soak") in CI:
//! the real binary serving the 128-window soak hall, its devices in a
//! separate `hallq sim` on PTYs with faults injected, tickets arriving at the
//! soak's rate (20,000 an hour), every window's counter working, screens on
//! the event stream. Nothing may answer 5xx or fail in transport, every
//! issued ticket must end (finished or no-show) and be in the journal, and
//! `hallq verify` must pass. Memory and latency are printed, not asserted
//! (they go to BENCHMARKS.md).

#[path = "../examples/support/counter.rs"]
mod counter;
#[path = "../examples/support/http.rs"]
mod http;
// The example uses every option (the uniform curve, progress lines); this
// test only some.
#[allow(dead_code)]
#[path = "../examples/support/soak_day.rs"]
mod soak_day;
#[path = "../examples/support/spawn.rs"]
mod spawn;

use std::path::PathBuf;

#[test]
fn a_minute_of_the_soak_day_loses_nothing() {
    let work = tempfile::tempdir().expect("temp dir");
    let opts = soak_day::Options {
        hallq: PathBuf::from(env!("CARGO_BIN_EXE_hallq")),
        config: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("firmware-config/examples/soak-hall.toml"),
        work: work.path().join("run"),
        // The soak's rate: 20,000 tickets an hour.
        tickets: 333,
        minutes: 1.0,
        curve: soak_day::Curve::Day,
        kiosks: 4,
        screens: 10,
        busy: 0.85,
        drain_minutes: 5.0,
        sample_seconds: 10.0,
        faults: true,
        seed: 11,
        kiosk_key: "soak-kiosk".into(),
        display_key: "soak-display".into(),
        progress: false,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let report = runtime.block_on(soak_day::run(opts)).expect("the soak ran");
    report.print();
    assert_eq!(report.server_errors, 0, "5xx answers: {:?}", report.errors);
    assert_eq!(
        report.transport_errors, 0,
        "transport failures: {:?}",
        report.errors
    );
    assert!(report.verify_ok, "hallq verify: {}", report.verify_output);
    assert_eq!(report.issued, 333, "refused issues: {:?}", report.errors);
    assert!(
        report.not_ended.is_empty(),
        "tickets that did not end: {:?}",
        report.not_ended
    );
    assert_eq!(
        report.events.get("ticket_issued").copied(),
        Some(report.issued),
        "every acknowledged ticket is in the journal"
    );
    assert!(
        report.faults.len() >= 12,
        "faults injected: {:?}",
        report.faults
    );
    assert!(
        report.events.get("service_rated").copied().unwrap_or(0) > 0
            && report.events.get("ticket_no_show").copied().unwrap_or(0) > 0
            && report
                .events
                .get("ticket_transferred")
                .copied()
                .unwrap_or(0)
                > 0,
        "ratings, no-shows and transfers happened: {:?}",
        report.events
    );
    assert!(
        report.screen_events.iter().all(|&n| n > 0),
        "every screen got events: {:?}",
        report.screen_events
    );
    assert!(report.problems().is_empty(), "{:?}", report.problems());
}
