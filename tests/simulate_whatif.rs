//! `hallq simulate`: staffing what-ifs on the county hall.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::NaiveDate;
use hallq::config::Config;
use hallq::daemon::clock::Clock;
use hallq::forecast::Model;
use hallq::forecast::whatif::{Arrivals, Day, WhatIf, parse_pattern, parse_plan, what_if};
use hallq::queue::calendar::instant;
use hallq::queue::{Actor, Command, IssueSource, MINUTE_MS};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn county_path() -> PathBuf {
    root().join("firmware-config/examples/county-hall.toml")
}

fn county() -> Config {
    Config::load(&county_path()).expect("the county hall example is valid")
}

fn day_median(w: &WhatIf, service: &str) -> (f64, f64) {
    let row = w
        .rows
        .iter()
        .find(|r| r.service == service && r.hour.is_none())
        .expect("a whole-day row");
    (
        row.baseline.median.expect("baseline waits"),
        row.plan
            .as_ref()
            .and_then(|p| p.median)
            .expect("plan waits"),
    )
}

#[test]
fn more_windows_for_the_busy_service_lower_its_predicted_waits() {
    let config = county();
    let path = root().join("firmware-config/examples/rush-day-arrivals.toml");
    let text = std::fs::read_to_string(&path).expect("example arrivals");
    let pattern = parse_pattern(&config, "arrivals", &text).expect("valid pattern");
    let date = pattern.date.expect("a date");
    let plan = parse_plan(
        &config,
        "plan",
        r#"
[[window]]
number = 23
services = [{ service = "social" }]
[[window]]
number = 30
zone = "social-2f"
services = [{ service = "social" }]
"#,
    )
    .expect("valid plan");
    let model = Model::new(Arc::new(config.clone()));
    let day = Day {
        date,
        arrivals: Arrivals::Pattern(pattern.arrivals),
        staffed: None,
    };
    let w = what_if(&config, &model, &day, Some(("plan", &plan)), 6, 7).expect("what-if runs");
    let (base, planned) = day_median(&w, "social");
    assert!(
        planned < 0.7 * base,
        "two more social windows: median {planned:.1} min, not clearly below {base:.1}"
    );
    // The plan does not touch the bank's windows: its waits stay about the same.
    let (b, p) = day_median(&w, "bank");
    assert!((b - p).abs() < 5.0, "bank {b:.1} vs {p:.1}");
    // Same seed, same answer.
    let again = what_if(&config, &model, &day, Some(("plan", &plan)), 6, 7).expect("what-if runs");
    assert_eq!(
        serde_json::to_string(&w).expect("json"),
        serde_json::to_string(&again).expect("json")
    );
}

#[test]
fn the_example_plan_is_valid_for_the_county_hall() {
    let config = county();
    let path = root().join("firmware-config/examples/rush-day-plan.toml");
    let text = std::fs::read_to_string(&path).expect("example plan");
    let plan = parse_plan(&config, "plan", &text).expect("valid plan");
    let date = NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
    hallq::forecast::whatif::planned(&config, date, None, &plan).expect("the plan applies");
}

fn simulate(args: &[&str]) -> (bool, String, String) {
    let out = Process::new(env!("CARGO_BIN_EXE_hallq"))
        .arg("simulate")
        .args(args)
        .output()
        .expect("run hallq");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_plan_naming_an_unknown_service_is_refused_with_the_field_line_and_choices() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        "name = \"教师资格认定\"\n\n[[window]]\nnumber = 23\nservices = [{ service = \"teacher-cert\" }]\n",
    )
    .expect("write plan");
    let arrivals = root().join("firmware-config/examples/rush-day-arrivals.toml");
    let (ok, _, err) = simulate(&[
        "--config",
        county_path().to_str().expect("path"),
        "--data",
        dir.path().to_str().expect("path"),
        "--arrivals",
        arrivals.to_str().expect("path"),
        "--plan",
        plan.to_str().expect("path"),
    ]);
    assert!(!ok, "refused");
    assert!(err.contains("window[0].services[0].service"), "{err}");
    assert!(err.contains(":5:"), "the line of the field: {err}");
    assert!(err.contains("unknown service \"teacher-cert\""), "{err}");
    assert!(
        err.contains("\"social\""),
        "the allowed services are listed: {err}"
    );

    // A misspelt key names the key, its line and what is allowed.
    std::fs::write(&plan, "[[windows]]\nnumber = 23\n").expect("write plan");
    let (ok, _, err) = simulate(&[
        "--config",
        county_path().to_str().expect("path"),
        "--arrivals",
        arrivals.to_str().expect("path"),
        "--plan",
        plan.to_str().expect("path"),
    ]);
    assert!(!ok);
    assert!(err.contains("windows") && err.contains("window"), "{err}");
    assert!(err.contains("line 1"), "{err}");
}

/// A wall clock the test moves.
#[derive(Clone)]
struct TestClock(Arc<AtomicI64>);

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Records a morning in a journal: one staffed social window, a queue of 30.
async fn record_morning(config: Config, journal: &Path) -> NaiveDate {
    let date = NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
    let config = Arc::new(config);
    let at = |h: u32, m: u32| instant(config.tz, date.and_hms_opt(h, m, 0).expect("time"));
    let clock = TestClock(Arc::new(AtomicI64::new(at(8, 31))));
    let owner = hallq::daemon::start(config.clone(), journal, clock.clone()).expect("owner");
    let h = owner.handle.clone();
    let staff = Actor::Staff("wei.lan".into());
    h.submit(staff, "test", Command::SignIn { window: 24 })
        .await
        .expect("sign in");
    for i in 0..30 {
        clock.0.store(at(8, 32) + i * MINUTE_MS, Ordering::SeqCst);
        h.submit(
            Actor::Kiosk("k1".into()),
            "test",
            Command::Issue {
                service: "social".into(),
                priority: None,
                person: None,
                source: IssueSource::Kiosk,
                cases: 1,
            },
        )
        .await
        .expect("issue");
    }
    h.shutdown().await;
    drop(h);
    tokio::task::spawn_blocking(move || owner.thread.join())
        .await
        .expect("join")
        .expect("owner thread")
        .expect("owner result");
    date
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_day_replays_under_another_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join(hallq::daemon::JOURNAL_FILE);
    let date = record_morning(county(), &journal).await;
    // The library: the recorded day's staffing is one window.
    let reader = hallq::journal::JournalReader::open(&journal).expect("reader");
    let day = hallq::forecast::whatif::recorded_day(&county(), &reader, date).expect("read");
    assert!(matches!(&day.arrivals, Arrivals::Recorded(list) if list.len() == 30));
    assert_eq!(day.staffed, Some(BTreeSet::from([24])));

    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        "[[window]]\nnumber = 23\nservices = [{ service = \"social\" }]\n",
    )
    .expect("write plan");
    let (ok, out, err) = simulate(&[
        "--config",
        county_path().to_str().expect("path"),
        "--data",
        dir.path().to_str().expect("path"),
        "--day",
        &date.to_string(),
        "--plan",
        plan.to_str().expect("path"),
        "--runs",
        "5",
        "--json",
    ]);
    assert!(ok, "{err}");
    let w: serde_json::Value = serde_json::from_str(&out).expect("json");
    let social = w["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["service"] == "social" && r["hour"].is_null())
        .expect("social row")
        .clone();
    assert_eq!(social["baseline"]["tickets"], 30.0, "{social}");
    let (b, p) = (
        social["baseline"]["median"].as_f64().expect("baseline"),
        social["plan"]["median"].as_f64().expect("plan"),
    );
    assert!(
        p < 0.75 * b,
        "a second social window: {p:.1} vs {b:.1} minutes"
    );

    // A day with nothing recorded is refused plainly.
    let (ok, _, err) = simulate(&[
        "--config",
        county_path().to_str().expect("path"),
        "--data",
        dir.path().to_str().expect("path"),
        "--day",
        "2026-11-25",
    ]);
    assert!(!ok);
    assert!(err.contains("no ticket issued that day"), "{err}");
}
