//! `[[notice]]` and `target_wait_minutes`: every rule has a failing case
//! that names the field, the line and what is allowed; the demo hall's
//! notices, and the screens' date filter.

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use hallq::api::views;
use hallq::config::{Config, ConfigError, NoticeKind};
use hallq::queue::Hall;

const FILE: &str = "halls/notices.toml";

/// A small valid hall with two notices: [0] a dated notice for zone z1,
/// [1] a disclosure for zone z2.
const BASE: &str = r#"[hall]
name = "测试大厅"
timezone = "Asia/Shanghai"

[[zone]]
id = "z1"
name = "一楼大厅"
floor = 1

[[zone]]
id = "z2"
name = "二楼大厅"
floor = 2

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

[[service]]
id = "s2"
name = "业务二"
department = "d1"
prefix = "B"
matter_class = "immediate"
expected_minutes = 5
target_wait_minutes = 45

[[window]]
number = 1
name = "1号窗"
kind = "comprehensive"
zone = "z1"
services = [{ service = "s1" }, { service = "s2" }]

[[calendar.session]]
days = ["mon", "tue"]
from = "08:30"
to = "11:30"

[[notice]]
kind = "notice"
text = "不动产登记已迁至二楼"
text_en = "Real estate has moved upstairs"
from = "2026-11-01"
to = "2026-11-30"
zones = ["z1"]

[[notice]]
kind = "disclosure"
text = "投诉电话12345"
zones = ["z2"]
"#;

/// BASE with `old` (which must occur exactly once) replaced by `new`.
fn edit(old: &str, new: &str) -> String {
    assert_eq!(BASE.matches(old).count(), 1, "`{old}` must occur once");
    BASE.replacen(old, new, 1)
}

/// BASE followed by `more`.
fn plus(more: &str) -> String {
    format!("{BASE}\n{more}")
}

/// The 1-based line of the only line containing `needle`, found
/// independently of hallq's locator.
fn line(text: &str, needle: &str) -> usize {
    let hits: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(hits.len(), 1, "`{needle}` must be on exactly one line");
    hits[0]
}

fn errors(text: &str) -> Vec<ConfigError> {
    match Config::from_toml_str(FILE, text) {
        Ok(_) => panic!("expected errors, the config is valid:\n{text}"),
        Err(e) => e.0,
    }
}

fn valid(text: &str) -> Config {
    Config::from_toml_str(FILE, text).unwrap_or_else(|e| panic!("{e}"))
}

/// Asserts there is an error at `field` on `line` whose message contains all of `parts`.
#[track_caller]
fn expect(text: &str, field: &str, line: usize, parts: &[&str]) -> ConfigError {
    let all = errors(text);
    let listing = all
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let Some(e) = all.iter().find(|e| e.field == field) else {
        panic!("no error at `{field}`; got:\n{listing}");
    };
    assert_eq!(e.file, FILE);
    assert_eq!(
        e.line,
        Some(line),
        "wrong line for `{field}`; got:\n{listing}"
    );
    for part in parts {
        assert!(
            e.message.contains(part),
            "message of `{field}` lacks `{part}`: {}",
            e.message
        );
    }
    e.clone()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

// ---------------------------------------------------------------------------
// Valid notices

#[test]
fn the_base_notices_parse() {
    let c = valid(BASE);
    let n = &c.file.notices;
    assert_eq!(n.len(), 2);
    assert_eq!(n[0].kind, NoticeKind::Notice);
    assert_eq!(n[0].text, "不动产登记已迁至二楼");
    assert_eq!(n[0].text_en, "Real estate has moved upstairs");
    assert_eq!(n[0].from, Some(date(2026, 11, 1)));
    assert_eq!(n[0].to, Some(date(2026, 11, 30)));
    assert_eq!(n[0].zones, vec!["z1".to_string()]);
    assert_eq!(n[1].kind, NoticeKind::Disclosure);
    assert_eq!(n[1].text_en, "");
    assert_eq!(n[1].from, None);
    assert_eq!(n[1].to, None);
    assert_eq!(n[1].zones, vec!["z2".to_string()]);
}

#[test]
fn a_notice_needs_only_its_text() {
    let c = valid(&plus("[[notice]]\ntext = \"只有文字\"\n"));
    let n = &c.file.notices[2];
    assert_eq!(n.kind, NoticeKind::Notice, "the default kind");
    assert_eq!(n.text, "只有文字");
    assert!(n.zones.is_empty(), "every zone");
    assert_eq!((n.from, n.to), (None, None));
    // A hall without notices has none.
    let bare = BASE.split("[[notice]]").next().expect("base");
    assert!(valid(bare).file.notices.is_empty());
}

#[test]
fn limits_are_inclusive() {
    let text = "字".repeat(200);
    valid(&edit(
        "text = \"投诉电话12345\"",
        &format!("text = \"{text}\""),
    ));
    let text_en = "e".repeat(400);
    valid(&edit(
        "text_en = \"Real estate has moved upstairs\"",
        &format!("text_en = \"{text_en}\""),
    ));
    // One day.
    valid(&edit("to = \"2026-11-30\"", "to = \"2026-11-01\""));
    // The target wait's range ends.
    valid(&edit("target_wait_minutes = 45", "target_wait_minutes = 1"));
    valid(&edit(
        "target_wait_minutes = 45",
        "target_wait_minutes = 480",
    ));
}

// ---------------------------------------------------------------------------
// [[notice]] errors

#[test]
fn notice_text_must_not_be_empty() {
    let t = edit("text = \"投诉电话12345\"", "text = \"\"");
    expect(
        &t,
        "notice[1].text",
        line(&t, "text = \"\""),
        &["must not be empty", "1–200"],
    );
    let t = edit("text = \"不动产登记已迁至二楼\"", "text = \"   \"");
    expect(
        &t,
        "notice[0].text",
        line(&t, "text = \"   \""),
        &["must not be empty"],
    );
}

#[test]
fn notice_text_fits_the_panel() {
    let long = "字".repeat(201);
    let t = edit(
        "text = \"不动产登记已迁至二楼\"",
        &format!("text = \"{long}\""),
    );
    expect(
        &t,
        "notice[0].text",
        line(&t, &long),
        &["201 characters", "at most 200"],
    );
    let long_en = "e".repeat(401);
    let t = edit(
        "text_en = \"Real estate has moved upstairs\"",
        &format!("text_en = \"{long_en}\""),
    );
    expect(
        &t,
        "notice[0].text_en",
        line(&t, &long_en),
        &["too long", "400"],
    );
}

#[test]
fn notice_text_is_required() {
    let t = plus("[[notice]]\nkind = \"notice\"\n");
    // The missing key is reported on its table's header, the third [[notice]].
    let header = t
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("[[notice]]"))
        .nth(2)
        .expect("third notice")
        .0
        + 1;
    expect(
        &t,
        "notice[2].text",
        header,
        &["required key `text` is missing"],
    );
}

#[test]
fn notice_zones_must_exist() {
    let t = edit("zones = [\"z2\"]", "zones = [\"z9\"]");
    expect(
        &t,
        "notice[1].zones[0]",
        line(&t, "\"z9\""),
        &["unknown zone \"z9\"", "z1, z2"],
    );
    // The second of two zones.
    let t = edit("zones = [\"z1\"]", "zones = [\"z1\",\n  \"f3-nowhere\"]");
    expect(
        &t,
        "notice[0].zones[1]",
        line(&t, "f3-nowhere"),
        &["unknown zone \"f3-nowhere\"", "z1, z2"],
    );
}

#[test]
fn notice_dates_must_not_be_reversed() {
    let t = edit("to = \"2026-11-30\"", "to = \"2026-10-31\"");
    expect(
        &t,
        "notice[0].to",
        line(&t, "to = \"2026-10-31\""),
        &["2026-11-01", "2026-10-31", "reversed"],
    );
}

#[test]
fn notice_dates_are_dates() {
    let t = edit("from = \"2026-11-01\"", "from = \"2026-11-31\"");
    expect(
        &t,
        "notice[0].from",
        line(&t, "2026-11-31"),
        &["\"2026-11-31\" is not a valid date", "YYYY-MM-DD"],
    );
}

#[test]
fn unknown_key_in_a_notice_lists_the_keys() {
    let t = edit(
        "text = \"投诉电话12345\"",
        "text = \"投诉电话12345\"\ncolour = \"red\"",
    );
    expect(
        &t,
        "notice[1].colour",
        line(&t, "colour"),
        &["unknown key `colour`", "`text`", "`zones`"],
    );
}

#[test]
fn unknown_notice_kind_lists_the_kinds() {
    let t = edit("kind = \"disclosure\"", "kind = \"alert\"");
    expect(
        &t,
        "notice[1].kind",
        line(&t, "\"alert\""),
        &["unknown value `alert`", "`notice`", "`disclosure`"],
    );
}

// ---------------------------------------------------------------------------
// target_wait_minutes

#[test]
fn target_wait_defaults_to_thirty_minutes() {
    let c = valid(BASE);
    assert_eq!(c.service("s1").expect("s1").target_wait_minutes, 30);
    assert_eq!(c.service("s2").expect("s2").target_wait_minutes, 45);
}

#[test]
fn target_wait_is_one_to_480_minutes() {
    for bad in ["0", "481"] {
        let t = edit(
            "target_wait_minutes = 45",
            &format!("target_wait_minutes = {bad}"),
        );
        expect(
            &t,
            "service[1].target_wait_minutes",
            line(&t, "target_wait_minutes"),
            &[bad, "out of range", "1–480"],
        );
    }
    // On the first service, where it was not written before.
    let t = edit("prefix = \"A\"", "prefix = \"A\"\ntarget_wait_minutes = 0");
    expect(
        &t,
        "service[0].target_wait_minutes",
        line(&t, "target_wait_minutes = 0"),
        &["out of range", "1–480"],
    );
}

// ---------------------------------------------------------------------------
// The demo hall and the screens' filter

fn at_utc(y: i32, m: u32, d: u32, hh: u32, mm: u32) -> i64 {
    Utc.with_ymd_and_hms(y, m, d, hh, mm, 0)
        .single()
        .expect("utc time")
        .timestamp_millis()
}

#[test]
fn the_demo_hall_has_a_notice_of_each_kind() {
    let c = Config::demo();
    let count = |kind| c.file.notices.iter().filter(|n| n.kind == kind).count();
    assert!(count(NoticeKind::Notice) >= 1);
    assert!(count(NoticeKind::Disclosure) >= 1);
    for (i, n) in c.file.notices.iter().enumerate() {
        assert!(!n.text.trim().is_empty(), "notice[{i}]");
        assert!(!n.text_en.trim().is_empty(), "notice[{i}] has no English");
    }
    // Undated: shown on any day.
    let total = c.file.notices.len();
    let hall = Hall::new(Arc::new(c));
    for now in [at_utc(2026, 1, 1, 2, 0), at_utc(2031, 7, 15, 9, 0)] {
        let shown = views::notices(&hall, now);
        assert_eq!(
            shown.iter().filter(|n| n.kind != "closure").count(),
            total,
            "{shown:?}"
        );
    }
}

#[test]
fn screens_show_a_notice_only_between_its_dates() {
    let t = plus(
        "[[notice]]\ntext = \"昨天为止\"\nto = \"2026-11-22\"\n\n\
         [[notice]]\ntext = \"明天开始\"\nfrom = \"2026-11-24\"\n",
    );
    let hall = Hall::new(Arc::new(valid(&t)));
    // Monday 2026-11-23 10:00 in Shanghai.
    let texts = |now| -> Vec<String> {
        views::notices(&hall, now)
            .into_iter()
            .map(|n| n.notice)
            .collect()
    };
    assert_eq!(
        texts(at_utc(2026, 11, 23, 2, 0)),
        vec!["不动产登记已迁至二楼", "投诉电话12345"]
    );
    // Sunday 23:30 local: the notice ending that day is still shown.
    assert_eq!(
        texts(at_utc(2026, 11, 22, 15, 30)),
        vec!["不动产登记已迁至二楼", "投诉电话12345", "昨天为止"]
    );
    // Tuesday 00:10 local (Monday in UTC): tomorrow's notice has begun.
    assert_eq!(
        texts(at_utc(2026, 11, 23, 16, 10)),
        vec!["不动产登记已迁至二楼", "投诉电话12345", "明天开始"]
    );
    // 2026-12-01: the November notice is over.
    assert_eq!(
        texts(at_utc(2026, 12, 1, 2, 0)),
        vec!["投诉电话12345", "明天开始"]
    );
    // Kinds and zones travel with the text.
    let shown = views::notices(&hall, at_utc(2026, 11, 23, 2, 0));
    assert_eq!(shown[0].kind, "notice");
    assert_eq!(shown[0].zones, vec!["z1".to_string()]);
    assert_eq!(shown[0].from, "2026-11-01");
    assert_eq!(shown[0].to, "2026-11-30");
    assert_eq!(shown[0].notice_en, "Real estate has moved upstairs");
    assert_eq!(shown[1].kind, "disclosure");
    assert_eq!(shown[1].zones, vec!["z2".to_string()]);
}
