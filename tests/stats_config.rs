//! `[stats]`: defaults when absent, and every rule has a failing case that
//! names the field, the line and what is allowed.

use hallq::config::{Config, ConfigError, StatsConfig};

const FILE: &str = "halls/stats.toml";

fn hall(stats: &str) -> String {
    format!(
        r#"[hall]
name = "测试大厅"

[[zone]]
id = "z1"
name = "一楼大厅"
floor = 1

[[department]]
id = "d1"
name = "测试局"

[[service]]
id = "s1"
name = "业务一"
department = "d1"
prefix = "A"
matter_class = "immediate"
expected_minutes = 5

[[window]]
number = 1
name = "一号窗"
kind = "comprehensive"
zone = "z1"
services = [{{ service = "s1" }}]
{stats}
[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "08:30"
to = "17:00"
"#
    )
}

/// The single error of a file whose `[stats]` table starts on line 28.
fn error(stats: &str) -> ConfigError {
    let errors = Config::from_toml_str(FILE, &hall(stats))
        .err()
        .unwrap_or_else(|| panic!("accepted: {stats}"))
        .0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn absent_means_the_defaults() {
    let c = Config::from_toml_str(FILE, &hall("")).expect("valid");
    assert_eq!(c.file.stats, StatsConfig::default());
    assert_eq!(c.file.stats.wait_thresholds_minutes, vec![15, 30]);
    assert_eq!(c.file.stats.followup_days, 5);
    assert_eq!(c.file.stats.ranking_min_rated, 20);
    let c = Config::from_toml_str(
        FILE,
        &hall("\n[stats]\nwait_thresholds_minutes = [10, 20, 60]\nfollowup_days = 10\n"),
    )
    .expect("valid");
    assert_eq!(c.file.stats.wait_thresholds_minutes, vec![10, 20, 60]);
    assert_eq!(c.file.stats.followup_days, 10);
}

#[test]
fn thresholds_must_be_ascending_and_in_range() {
    // Line 27 is blank, [stats] is line 28, its first key line 29.
    let e = error("\n[stats]\nwait_thresholds_minutes = [30, 15]\n");
    assert_eq!(e.field, "stats.wait_thresholds_minutes");
    assert_eq!(e.line, Some(29));
    assert!(e.message.contains("ascending"), "{}", e.message);
    let e = error("\n[stats]\nwait_thresholds_minutes = [0, 15]\n");
    assert!(e.message.contains("1–480"), "{}", e.message);
    let e = error("\n[stats]\nwait_thresholds_minutes = [15, 481]\n");
    assert!(
        e.message.contains("481") && e.message.contains("1–480"),
        "{}",
        e.message
    );
    let e = error("\n[stats]\nwait_thresholds_minutes = [15, 15]\n");
    assert!(e.message.contains("ascending"), "{}", e.message);
}

#[test]
fn followup_days_and_ranking_volume_are_bounded() {
    let e = error("\n[stats]\nfollowup_days = 0\n");
    assert_eq!(
        (e.field.as_str(), e.line),
        ("stats.followup_days", Some(29))
    );
    assert!(e.message.contains("1–60"), "{}", e.message);
    let e = error("\n[stats]\nfollowup_days = 61\n");
    assert!(e.message.contains("61"), "{}", e.message);
    let e = error("\n[stats]\nranking_min_rated = 0\n");
    assert_eq!(e.field, "stats.ranking_min_rated");
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    // The line of the misspelt key itself.
    let e = error("\n[stats]\nfollowup_day = 5\n");
    assert_eq!(e.line, Some(29));
    assert!(e.message.contains("followup_day"), "{}", e.message);
}
