//! Every kind of configuration error names the file, the right line, the
//! field path, and says what is allowed.

use hallq::config::{Config, ConfigError};

const FILE: &str = "halls/test-hall.toml";

/// A small valid hall; tests edit it with [`edit`] or append to it.
const BASE: &str = r#"[hall]
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
name = "1号窗"
kind = "comprehensive"
zone = "z1"
services = [{ service = "s1" }]

[calendar]
issue_cutoff_minutes = 0

[[calendar.session]]
days = ["mon", "tue"]
from = "08:30"
to = "11:30"
"#;

/// BASE with `old` (which must occur exactly once) replaced by `new`.
fn edit(old: &str, new: &str) -> String {
    edit_text(BASE, old, new)
}

fn edit_text(text: &str, old: &str, new: &str) -> String {
    assert_eq!(text.matches(old).count(), 1, "`{old}` must occur once");
    text.replacen(old, new, 1)
}

/// BASE followed by `more`.
fn plus(more: &str) -> String {
    format!("{BASE}\n{more}")
}

/// The 1-based line of the `nth` (0-based) line containing `needle`, found
/// independently of hallq's locator.
fn nth_line(text: &str, needle: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} not in:\n{text}"))
        .0
        + 1
}

fn line(text: &str, needle: &str) -> usize {
    assert_eq!(
        text.lines().filter(|l| l.contains(needle)).count(),
        1,
        "`{needle}` must be on exactly one line"
    );
    nth_line(text, needle, 0)
}

fn errors(text: &str) -> Vec<ConfigError> {
    match Config::from_toml_str(FILE, text) {
        Ok(_) => panic!("expected errors, the config is valid:\n{text}"),
        Err(e) => e.0,
    }
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

#[test]
fn the_base_config_is_valid() {
    let config = Config::from_toml_str(FILE, BASE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.services().len(), 1);
}

// ---------------------------------------------------------------------------
// Syntax and type errors.

#[test]
fn syntax_error_has_its_line() {
    let text = edit("name = \"业务一\"", "name = \"业务一");
    let all = errors(&text);
    assert_eq!(all[0].file, FILE);
    assert_eq!(all[0].line, Some(line(&text, "业务一")), "{all:?}");
    assert_eq!(all[0].field, "");
    assert!(all[0].message.contains("TOML syntax error"), "{}", all[0]);
    let text = edit("expected_minutes = 5", "expected_minutes =");
    let all = errors(&text);
    assert_eq!(
        all[0].line,
        Some(line(&text, "expected_minutes =")),
        "{all:?}"
    );
}

#[test]
fn syntax_error_unclosed_header() {
    let text = edit("[[window]]", "[[window]");
    let all = errors(&text);
    assert_eq!(all[0].line, Some(line(&text, "[[window]")), "{all:?}");
}

#[test]
fn duplicate_key_is_a_syntax_error_on_its_line() {
    let text = edit("prefix = \"A\"", "prefix = \"A\"\nprefix = \"B\"");
    let all = errors(&text);
    assert_eq!(all[0].line, Some(line(&text, "prefix = \"B\"")), "{all:?}");
    assert!(all[0].message.contains("duplicate key"), "{}", all[0]);
}

#[test]
fn unknown_key_lists_the_allowed_keys() {
    let text = edit("prefix = \"A\"", "prefx = \"A\"");
    expect(
        &text,
        "service[0].prefx",
        line(&text, "prefx"),
        &["unknown key `prefx`", "`prefix`", "`daily_cap`"],
    );
}

#[test]
fn unknown_table_lists_the_allowed_tables() {
    let text = plus("[[windows]]\nnumber = 2\n");
    expect(
        &text,
        "windows",
        line(&text, "[[windows]]"),
        &["unknown key `windows`", "`window`", "`calendar`"],
    );
}

#[test]
fn unknown_calendar_key_is_reported() {
    let text = edit("issue_cutoff_minutes = 0", "cutoff = 0");
    expect(
        &text,
        "calendar.cutoff",
        line(&text, "cutoff = 0"),
        &["unknown key `cutoff`", "`issue_cutoff_minutes`"],
    );
}

#[test]
fn wrong_type_says_what_is_expected() {
    let text = edit("expected_minutes = 5", "expected_minutes = \"five\"");
    expect(
        &text,
        "service[0].expected_minutes",
        line(&text, "\"five\""),
        &["invalid type", "whole number"],
    );
    let text = edit("floor = 1", "floor = 1.5");
    expect(
        &text,
        "zone[0].floor",
        line(&text, "floor = 1.5"),
        &["invalid type", "whole number"],
    );
    let text = edit("services = [{ service = \"s1\" }]", "services = \"s1\"");
    expect(
        &text,
        "window[0].services",
        line(&text, "services = \"s1\""),
        &["expected an array"],
    );
}

#[test]
fn negative_number_for_unsigned_field() {
    let text = edit("expected_minutes = 5", "expected_minutes = -5");
    expect(
        &text,
        "service[0].expected_minutes",
        line(&text, "= -5"),
        &["-5", "0 to 4294967295"],
    );
}

#[test]
fn missing_field_points_at_its_table() {
    let text = edit("prefix = \"A\"\n", "");
    expect(
        &text,
        "service[0].prefix",
        line(&text, "[[service]]"),
        &["required key `prefix` is missing"],
    );
    let text = edit("zone = \"z1\"\n", "");
    expect(
        &text,
        "window[0].zone",
        line(&text, "[[window]]"),
        &["required key `zone`"],
    );
    let text = edit(
        "services = [{ service = \"s1\" }]",
        "services = [{ weight = 2 }]",
    );
    expect(
        &text,
        "window[0].services[0].service",
        line(&text, "weight = 2"),
        &["required key `service`"],
    );
}

#[test]
fn missing_hall_table() {
    let text = edit("[hall]\nname = \"测试大厅\"\n", "");
    let all = errors(&text);
    let e = all
        .iter()
        .find(|e| e.field == "hall")
        .expect("an error about [hall]");
    assert!(e.message.contains("[hall] table is missing"), "{e}");
}

#[test]
fn bad_time_says_how_to_write_it() {
    let text = edit("from = \"08:30\"", "from = \"8:30\"");
    expect(
        &text,
        "calendar.session[0].from",
        line(&text, "\"8:30\""),
        &["\"8:30\"", "HH:MM", "00:00 to 24:00"],
    );
    let text = edit("to = \"11:30\"", "to = \"24:30\"");
    expect(
        &text,
        "calendar.session[0].to",
        line(&text, "24:30"),
        &["HH:MM"],
    );
}

#[test]
fn unquoted_time_or_date_says_to_quote_it() {
    let text = edit("from = \"08:30\"", "from = 08:30");
    expect(
        &text,
        "calendar.session[0].from",
        line(&text, "from = 08:30"),
        &["quoted string", "\"08:30\""],
    );
    let text = plus("[[calendar.holiday]]\nfrom = 2026-10-01\nname = \"国庆节\"\n");
    expect(
        &text,
        "calendar.holiday[0].from",
        line(&text, "from = 2026-10-01"),
        &["quoted string", "\"2026-10-01\""],
    );
}

#[test]
fn bad_date_says_how_to_write_it() {
    let text = plus("[[calendar.holiday]]\nfrom = \"2026-13-01\"\nname = \"节日\"\n");
    expect(
        &text,
        "calendar.holiday[0].from",
        line(&text, "2026-13-01"),
        &["not a valid date", "YYYY-MM-DD"],
    );
    let text = plus(
        "[[calendar.closure]]\nfrom = \"2026-12-01\"\nto = \"2026-12-01T17:00\"\nnotice = \"停\"\n",
    );
    expect(
        &text,
        "calendar.closure[0].from",
        line(&text, "from = \"2026-12-01\""),
        &["YYYY-MM-DDTHH:MM"],
    );
}

#[test]
fn unknown_enum_value_lists_the_allowed_values() {
    let text = edit("kind = \"comprehensive\"", "kind = \"综合\"");
    expect(
        &text,
        "window[0].kind",
        line(&text, "\"综合\""),
        &["unknown value `综合`", "`comprehensive`", "`fee`"],
    );
    let text = edit("days = [\"mon\", \"tue\"]", "days = [\"mon\", \"tues\"]");
    expect(
        &text,
        "calendar.session[0].days[1]",
        line(&text, "tues"),
        &["unknown value `tues`", "`tue`"],
    );
}

#[test]
fn type_errors_in_several_tables_are_all_reported() {
    let text = plus(
        "[[service]]\nid = \"s2\"\nname = \"二\"\ndepartment = \"d1\"\nprefix = \"B\"\nmatter_class = \"fast\"\nexpected_minutes = 5\n\n\
         [[staff]]\naccount = \"a.b\"\njob_number = 7\nname = \"甲\"\n",
    );
    let text = edit_text(&text, "floor = 1", "floor = \"one\"");
    let all = errors(&text);
    let fields: Vec<&str> = all.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "zone[0].floor",
            "service[1].matter_class",
            "staff[0].job_number"
        ],
        "{all:?}"
    );
    assert_eq!(all[1].line, Some(line(&text, "\"fast\"")));
    assert_eq!(all[2].line, Some(line(&text, "job_number = 7")));
}

// ---------------------------------------------------------------------------
// Hall, zones, departments.

#[test]
fn hall_name_and_timezone() {
    let text = edit(
        "name = \"测试大厅\"",
        "name = \"  \"\ntimezone = \"Asia/Beijing\"",
    );
    expect(
        &text,
        "hall.name",
        line(&text, "name = \"  \""),
        &["must not be empty"],
    );
    expect(
        &text,
        "hall.timezone",
        line(&text, "Asia/Beijing"),
        &["\"Asia/Beijing\"", "IANA", "Asia/Shanghai"],
    );
}

#[test]
fn ids_must_have_allowed_characters() {
    let text = edit("id = \"z1\"", "id = \"Zone 1\"");
    expect(
        &text,
        "zone[0].id",
        line(&text, "Zone 1"),
        &["\"Zone 1\"", "lowercase a–z", "digits 0–9", "'-' and '_'"],
    );
    let text = edit("id = \"d1\"", "id = \"\"");
    let e = expect(
        &text,
        "department[0].id",
        line(&text, "id = \"\""),
        &["must not be empty", "1–32 characters"],
    );
    assert!(
        e.to_string()
            .starts_with(&format!("{FILE}:{}: department[0].id: ", e.line.unwrap())),
        "{e}"
    );
}

#[test]
fn ids_must_be_unique() {
    let text = plus("[[zone]]\nid = \"z1\"\nname = \"二楼\"\nfloor = 2\n");
    expect(
        &text,
        "zone[1].id",
        nth_line(&text, "id = \"z1\"", 1),
        &["already used by zone[0] (line 5)", "unique"],
    );
    let text = plus("[[department]]\nid = \"d1\"\nname = \"另一局\"\n");
    expect(
        &text,
        "department[1].id",
        nth_line(&text, "id = \"d1\"", 1),
        &["already used by department[0]"],
    );
}

#[test]
fn zone_floor_must_be_a_real_floor() {
    let text = edit("floor = 1", "floor = 0");
    expect(
        &text,
        "zone[0].floor",
        line(&text, "floor = 0"),
        &["floor 0", "1 to 200", "-9 to -1", "no floor 0"],
    );
    let text = edit("floor = 1", "floor = -12");
    expect(
        &text,
        "zone[0].floor",
        line(&text, "floor = -12"),
        &["floor -12"],
    );
}

#[test]
fn nothing_defined_is_an_error() {
    let text = "[hall]\nname = \"空大厅\"\n";
    let all = errors(text);
    for field in ["zone", "service", "window", "calendar.session"] {
        let e = all
            .iter()
            .find(|e| e.field == field)
            .unwrap_or_else(|| panic!("no error at {field}: {all:?}"));
        assert!(
            e.message.contains("at least") || e.message.contains("never open"),
            "{e}"
        );
    }
}

// ---------------------------------------------------------------------------
// Services.

#[test]
fn prefix_is_one_or_two_uppercase_letters() {
    for bad in ["a", "ABC", "A1", "", "甲"] {
        let text = edit("prefix = \"A\"", &format!("prefix = \"{bad}\""));
        expect(
            &text,
            "service[0].prefix",
            line(&text, "prefix = "),
            &["1 or 2 uppercase letters A–Z"],
        );
    }
}

/// A second service served by window 1, with extra lines.
fn second_service(extra: &str) -> String {
    let text = plus(&format!(
        "[[service]]\nid = \"s2\"\nname = \"业务二\"\ndepartment = \"d1\"\nprefix = \"B\"\nmatter_class = \"immediate\"\nexpected_minutes = 5\n{extra}"
    ));
    edit_text(
        &text,
        "services = [{ service = \"s1\" }]",
        "services = [{ service = \"s1\" }, { service = \"s2\" }]",
    )
}

#[test]
fn second_service_helper_is_valid() {
    Config::from_toml_str(FILE, &second_service("")).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn prefix_and_id_must_be_unique_across_services() {
    let text = edit_text(&second_service(""), "prefix = \"B\"", "prefix = \"A\"");
    expect(
        &text,
        "service[1].prefix",
        nth_line(&text, "prefix = \"A\"", 1),
        &["already used by service[0]", "own prefix"],
    );
    let text = edit_text(&second_service(""), "id = \"s2\"", "id = \"s1\"");
    expect(
        &text,
        "service[1].id",
        nth_line(&text, "id = \"s1\"", 1),
        &["already used by service[0]"],
    );
}

#[test]
fn series_limits() {
    let text = edit("prefix = \"A\"", "prefix = \"A\"\nseries = { end = 0 }");
    expect(
        &text,
        "service[0].series.end",
        line(&text, "end = 0"),
        &["series end 0", "1–99999"],
    );
    let text = edit(
        "prefix = \"A\"",
        "prefix = \"A\"\nseries = { start = 1, end = 100000 }",
    );
    expect(
        &text,
        "service[0].series.end",
        line(&text, "100000"),
        &["1–99999"],
    );
    let text = edit(
        "expected_minutes = 5",
        "expected_minutes = 5\n\n[service.series]\nstart = 50\nend = 20",
    );
    expect(
        &text,
        "service[0].series.start",
        line(&text, "start = 50"),
        &["after end 20", "at most end"],
    );
}

#[test]
fn caps_must_be_at_least_one() {
    let text = edit(
        "prefix = \"A\"",
        "prefix = \"A\"\ndaily_cap = 0\nper_person_daily_cap = 0",
    );
    expect(
        &text,
        "service[0].daily_cap",
        nth_line(&text, "daily_cap = 0", 0),
        &["1–100000", "leave it out"],
    );
    expect(
        &text,
        "service[0].per_person_daily_cap",
        line(&text, "per_person_daily_cap = 0"),
        &["1–100"],
    );
    let text = edit(
        "prefix = \"A\"",
        "prefix = \"A\"\ndaily_cap = 5\nper_person_daily_cap = 6",
    );
    expect(
        &text,
        "service[0].per_person_daily_cap",
        line(&text, "per_person_daily_cap"),
        &["larger than daily_cap 5", "at most daily_cap"],
    );
}

#[test]
fn issue_windows_are_ordered_capped_and_disjoint() {
    let text = edit(
        "prefix = \"A\"",
        "prefix = \"A\"\nissue_windows = [\n  { from = \"09:00\", to = \"08:00\" },\n  { from = \"10:00\", to = \"12:00\", cap = 0 },\n  { from = \"11:00\", to = \"13:00\" },\n  { from = \"13:00\", to = \"14:00\" },\n]",
    );
    expect(
        &text,
        "service[0].issue_windows[0].to",
        line(&text, "\"09:00\""),
        &["09:00–08:00", "from must be before to"],
    );
    expect(
        &text,
        "service[0].issue_windows[1].cap",
        line(&text, "cap = 0"),
        &["at least 1"],
    );
    expect(
        &text,
        "service[0].issue_windows[2].from",
        line(&text, "\"11:00\""),
        &[
            "overlaps issue_windows[1] (10:00–12:00)",
            "must not overlap",
        ],
    );
    let all = errors(&text);
    assert!(
        !all.iter()
            .any(|e| e.field == "service[0].issue_windows[3].from"),
        "touching windows are fine: {all:?}"
    );
}

#[test]
fn expected_minutes_recall_limit_and_max_cases() {
    let text = edit(
        "expected_minutes = 5",
        "expected_minutes = 0\nrecall_limit = 11\nmax_cases = 101",
    );
    expect(
        &text,
        "service[0].expected_minutes",
        line(&text, "expected_minutes = 0"),
        &["1–480"],
    );
    expect(
        &text,
        "service[0].recall_limit",
        line(&text, "recall_limit"),
        &["0–10"],
    );
    expect(
        &text,
        "service[0].max_cases",
        line(&text, "max_cases"),
        &["1–100"],
    );
    let text = edit(
        "expected_minutes = 5",
        "expected_minutes = 481\nmax_cases = 0",
    );
    expect(
        &text,
        "service[0].expected_minutes",
        line(&text, "481"),
        &["1–480"],
    );
    expect(
        &text,
        "service[0].max_cases",
        line(&text, "max_cases = 0"),
        &["1–100"],
    );
}

#[test]
fn promised_days_match_the_matter_class() {
    let text = edit(
        "matter_class = \"immediate\"",
        "matter_class = \"commitment\"",
    );
    expect(
        &text,
        "service[0].promised_days",
        line(&text, "[[service]]"),
        &["承诺件", "1 to 365"],
    );
    let text = edit(
        "matter_class = \"immediate\"",
        "matter_class = \"immediate\"\npromised_days = 3",
    );
    expect(
        &text,
        "service[0].promised_days",
        line(&text, "promised_days = 3"),
        &["即办件", "commitment"],
    );
    let text = edit(
        "matter_class = \"immediate\"",
        "matter_class = \"joint\"\npromised_days = 400",
    );
    expect(
        &text,
        "service[0].promised_days",
        line(&text, "400"),
        &["0–365"],
    );
}

#[test]
fn service_department_must_exist() {
    let text = edit("department = \"d1\"", "department = \"police\"");
    expect(
        &text,
        "service[0].department",
        line(&text, "\"police\""),
        &["\"police\" is not defined", "known: \"d1\""],
    );
    let text = edit("department = \"d1\"", "department = \"d2\"");
    expect(
        &text,
        "service[0].department",
        line(&text, "\"d2\""),
        &["\"d2\" is not defined", "did you mean \"d1\"?"],
    );
}

#[test]
fn next_step_must_exist_and_not_be_itself() {
    let text = edit(
        "expected_minutes = 5",
        "expected_minutes = 5\nnext_step = \"nope\"",
    );
    expect(
        &text,
        "service[0].next_step",
        line(&text, "nope"),
        &["not a defined service", "known: \"s1\""],
    );
    let text = edit(
        "expected_minutes = 5",
        "expected_minutes = 5\nnext_step = \"s1\"",
    );
    expect(
        &text,
        "service[0].next_step",
        line(&text, "next_step"),
        &["itself", "another service"],
    );
}

#[test]
fn next_step_cycles_are_reported_once() {
    let text = edit_text(
        &second_service("next_step = \"s1\"\n"),
        "prefix = \"A\"",
        "prefix = \"A\"\nnext_step = \"s2\"",
    );
    let all = errors(&text);
    let cycles: Vec<&ConfigError> = all.iter().filter(|e| e.message.contains("cycle")).collect();
    assert_eq!(cycles.len(), 1, "{all:?}");
    expect(
        &text,
        "service[0].next_step",
        line(&text, "next_step = \"s2\""),
        &["cycle s1 → s2 → s1", "without next_step"],
    );
}

#[test]
fn flows_are_bounded_in_length() {
    let mut more = String::new();
    for i in 2..=12 {
        let next = if i < 12 {
            format!("next_step = \"s{}\"\n", i + 1)
        } else {
            String::new()
        };
        let prefix = char::from(b'A' + i as u8);
        more.push_str(&format!(
            "[[service]]\nid = \"s{i}\"\nname = \"步骤{i}\"\ndepartment = \"d1\"\nprefix = \"{prefix}\"\nmatter_class = \"immediate\"\nexpected_minutes = 5\n{next}\n"
        ));
    }
    let services: Vec<String> = (1..=12)
        .map(|i| format!("{{ service = \"s{i}\" }}"))
        .collect();
    let text = plus(&more);
    let text = edit_text(
        &text,
        "services = [{ service = \"s1\" }]",
        &format!("services = [{}]", services.join(", ")),
    );
    let text = edit_text(
        &text,
        "expected_minutes = 5\n\n[[window]]",
        "expected_minutes = 5\nnext_step = \"s2\"\n\n[[window]]",
    );
    expect(
        &text,
        "service[0].next_step",
        line(&text, "next_step = \"s2\""),
        &["12 steps", "at most 10"],
    );
}

#[test]
fn every_service_needs_a_window() {
    let text = edit_text(
        &second_service(""),
        "{ service = \"s1\" }, { service = \"s2\" }",
        "{ service = \"s1\" }",
    );
    expect(
        &text,
        "service[1]",
        nth_line(&text, "[[service]]", 1),
        &["no window serves \"s2\"", "nobody can call"],
    );
}

// ---------------------------------------------------------------------------
// Windows.

#[test]
fn window_number_range_and_uniqueness() {
    let text = edit("number = 1", "number = 0");
    expect(
        &text,
        "window[0].number",
        line(&text, "number = 0"),
        &["1–9999"],
    );
    let text = edit("number = 1", "number = 10000");
    expect(
        &text,
        "window[0].number",
        line(&text, "number = 10000"),
        &["1–9999"],
    );
    let text = plus(
        "[[window]]\nnumber = 1\nname = \"又一个1号窗\"\nkind = \"comprehensive\"\nzone = \"z1\"\nservices = [{ service = \"s1\" }]\n",
    );
    expect(
        &text,
        "window[1].number",
        nth_line(&text, "number = 1", 1),
        &["\"1\" is already used by window[0]", "own number"],
    );
}

#[test]
fn window_zone_floor_and_department() {
    let text = edit("zone = \"z1\"\nservices", "zone = \"z2\"\nservices");
    expect(
        &text,
        "window[0].zone",
        line(&text, "\"z2\""),
        &["zone \"z2\" is not defined", "did you mean \"z1\"?"],
    );
    let text = edit(
        "zone = \"z1\"\nservices",
        "zone = \"z1\"\nfloor = 2\nservices",
    );
    expect(
        &text,
        "window[0].floor",
        line(&text, "floor = 2"),
        &[
            "floor 2 does not match zone \"z1\"",
            "floor = 1",
            "leave floor out",
        ],
    );
    let text = edit(
        "kind = \"comprehensive\"",
        "kind = \"comprehensive\"\ndepartment = \"tax\"",
    );
    expect(
        &text,
        "window[0].department",
        line(&text, "\"tax\""),
        &["\"tax\" is not defined"],
    );
    let text = edit("kind = \"comprehensive\"", "kind = \"department\"");
    expect(
        &text,
        "window[0].department",
        line(&text, "[[window]]"),
        &["must name its department", "comprehensive"],
    );
}

#[test]
fn department_window_serves_only_its_department() {
    let text = plus("[[department]]\nid = \"d2\"\nname = \"另一局\"\n");
    let text = edit_text(
        &text,
        "kind = \"comprehensive\"",
        "kind = \"department\"\ndepartment = \"d2\"",
    );
    expect(
        &text,
        "window[0].services[0].service",
        line(&text, "services = "),
        &["belongs to department \"d1\"", "kind = \"comprehensive\""],
    );
}

#[test]
fn open_windows_need_services_except_walk_up_desks() {
    let extra = "[[window]]\nnumber = 2\nname = \"2号窗\"\nkind = \"pickup\"\nzone = \"z1\"\n";
    let text = plus(extra);
    expect(
        &text,
        "window[1].services",
        nth_line(&text, "[[window]]", 1),
        &[
            "must serve at least one service",
            "open = false",
            "consultation, complaint",
        ],
    );
    let closed = plus(&format!("{extra}open = false\n"));
    Config::from_toml_str(FILE, &closed)
        .unwrap_or_else(|e| panic!("a closed window may have no services: {e}"));
    let desk = plus(&extra.replace("pickup", "consultation"));
    Config::from_toml_str(FILE, &desk)
        .unwrap_or_else(|e| panic!("a walk-up desk may have no services: {e}"));
}

#[test]
fn window_service_entries() {
    let text = edit(
        "services = [{ service = \"s1\" }]",
        "services = [\n  { service = \"s1\", weight = 0 },\n  { service = \"s9\" },\n  { service = \"s1\", weight = 101 },\n]",
    );
    expect(
        &text,
        "window[0].services[0].weight",
        line(&text, "weight = 0"),
        &["weight 0", "1–100"],
    );
    expect(
        &text,
        "window[0].services[1].service",
        line(&text, "\"s9\""),
        &["\"s9\" is not defined"],
    );
    expect(
        &text,
        "window[0].services[2].service",
        line(&text, "weight = 101"),
        &["already listed", "services[0]", "list each service once"],
    );
    let all = errors(&text);
    assert!(
        all.iter()
            .any(|e| e.field == "window[0].services[2].weight" && e.message.contains("1–100")),
        "{all:?}"
    );
}

// ---------------------------------------------------------------------------
// Staff, priority, routing.

const STAFF: &str = "[[staff]]\naccount = \"wang.fang\"\njob_number = \"A001\"\nname = \"王芳\"\ndepartment = \"d1\"\n";

#[test]
fn staff_is_valid_in_the_base() {
    Config::from_toml_str(FILE, &plus(STAFF)).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn staff_account_and_job_number() {
    let text = plus(&STAFF.replace("wang.fang", "Wang Fang"));
    expect(
        &text,
        "staff[0].account",
        line(&text, "Wang Fang"),
        &["2–32 characters", "lowercase a–z", "'.'"],
    );
    let text = plus(&STAFF.replace("\"A001\"", "\"\""));
    expect(
        &text,
        "staff[0].job_number",
        line(&text, "job_number"),
        &["工号", "must not be empty", "1–16"],
    );
    let text = plus(&format!("{STAFF}\n{}", STAFF.replace("王芳", "王芳二")));
    expect(
        &text,
        "staff[1].account",
        nth_line(&text, "wang.fang", 1),
        &["already used by staff[0]", "never shared"],
    );
    expect(
        &text,
        "staff[1].job_number",
        nth_line(&text, "A001", 1),
        &["already used by staff[0]"],
    );
}

#[test]
fn staff_department_and_roles() {
    let text = plus(&STAFF.replace("department = \"d1\"", "department = \"d7\"\nroles = []"));
    expect(
        &text,
        "staff[0].department",
        line(&text, "\"d7\""),
        &["\"d7\" is not defined"],
    );
    expect(
        &text,
        "staff[0].roles",
        line(&text, "roles = []"),
        &[
            "must not be empty",
            "staff, window_head, manager, supervisor, admin",
        ],
    );
    let text = plus(&format!("{STAFF}roles = [\"supervisor\", \"manager\"]\n"));
    expect(
        &text,
        "staff[0].roles",
        line(&text, "roles"),
        &["supervisor", "no other role"],
    );
    let text = plus(&format!("{STAFF}roles = [\"staff\", \"staff\"]\n"));
    expect(
        &text,
        "staff[0].roles",
        line(&text, "roles"),
        &["listed twice"],
    );
}

#[test]
fn priority_ids_and_ranks() {
    let text = plus(
        "[[priority]]\nid = \"green\"\nname = \"绿色通道\"\nrank = 2\n\n[[priority]]\nid = \"green\"\nname = \"老弱病残孕\"\nrank = 2\n\n[[priority]]\nid = \"p3\"\nname = \"预约\"\nrank = 0\n",
    );
    expect(
        &text,
        "priority[1].id",
        nth_line(&text, "id = \"green\"", 1),
        &["already used by priority[0]"],
    );
    expect(
        &text,
        "priority[1].rank",
        nth_line(&text, "rank = 2", 1),
        &["already used by priority[0]", "own rank"],
    );
    expect(
        &text,
        "priority[2].rank",
        line(&text, "rank = 0"),
        &["1–100"],
    );
}

#[test]
fn routing_bounds() {
    let text = plus(
        "[routing]\npriority_streak_max = 0\npriority_extra_wait_minutes_max = 0\nno_show_requeue_after = 101\nno_show_requeue_max = 6\n",
    );
    expect(
        &text,
        "routing.priority_streak_max",
        line(&text, "priority_streak_max"),
        &["allowed 1–100"],
    );
    expect(
        &text,
        "routing.priority_extra_wait_minutes_max",
        line(&text, "priority_extra_wait"),
        &["allowed 1–480"],
    );
    expect(
        &text,
        "routing.no_show_requeue_after",
        line(&text, "no_show_requeue_after"),
        &["allowed 0–100"],
    );
    expect(
        &text,
        "routing.no_show_requeue_max",
        line(&text, "no_show_requeue_max"),
        &["allowed 0–5"],
    );
}

// ---------------------------------------------------------------------------
// Calendar.

#[test]
fn session_days_and_hours() {
    let text = edit("days = [\"mon\", \"tue\"]", "days = []");
    expect(
        &text,
        "calendar.session[0].days",
        line(&text, "days = []"),
        &["at least one weekday", "mon, tue"],
    );
    let text = edit("days = [\"mon\", \"tue\"]", "days = [\"mon\", \"mon\"]");
    expect(
        &text,
        "calendar.session[0].days",
        line(&text, "days = "),
        &["listed twice"],
    );
    let text = edit("to = \"11:30\"", "to = \"08:30\"");
    expect(
        &text,
        "calendar.session[0].to",
        line(&text, "to = \"08:30\""),
        &["08:30–08:30", "from must be before to", "24:00"],
    );
}

#[test]
fn sessions_of_the_same_day_must_not_overlap() {
    let text = plus(
        "[[calendar.session]]\ndays = [\"tue\", \"wed\"]\nfrom = \"11:00\"\nto = \"17:00\"\n\n[[calendar.session]]\ndays = [\"mon\"]\nfrom = \"11:30\"\nto = \"12:00\"\n",
    );
    expect(
        &text,
        "calendar.session[1].from",
        line(&text, "\"11:00\""),
        &[
            "on tue",
            "overlaps session[0] (08:30–11:30)",
            "must not overlap",
        ],
    );
    let all = errors(&text);
    assert!(
        !all.iter().any(|e| e.field == "calendar.session[2].from"),
        "touching sessions are fine: {all:?}"
    );
}

#[test]
fn issue_cutoff_limits() {
    let text = edit("issue_cutoff_minutes = 0", "issue_cutoff_minutes = 240");
    expect(
        &text,
        "calendar.issue_cutoff_minutes",
        line(&text, "issue_cutoff"),
        &["0–239"],
    );
    let text = edit("issue_cutoff_minutes = 0", "issue_cutoff_minutes = 180");
    expect(
        &text,
        "calendar.issue_cutoff_minutes",
        line(&text, "issue_cutoff"),
        &[
            "session[0] (08:30–11:30, 180 minutes)",
            "shorter than every session",
        ],
    );
}

#[test]
fn holidays_are_ordered_and_disjoint() {
    let text = plus(
        "[[calendar.holiday]]\nfrom = \"2026-10-01\"\nto = \"2026-10-07\"\nname = \"国庆节\"\n\n[[calendar.holiday]]\nfrom = \"2026-10-05\"\nname = \"重叠\"\n\n[[calendar.holiday]]\nfrom = \"2026-05-05\"\nto = \"2026-05-01\"\nname = \"劳动节\"\n\n[[calendar.holiday]]\nfrom = \"2026-07-01\"\nto = \"2026-08-31\"\nname = \"暑假\"\n",
    );
    expect(
        &text,
        "calendar.holiday[1].from",
        line(&text, "2026-10-05"),
        &["overlaps holiday[0] (国庆节"],
    );
    expect(
        &text,
        "calendar.holiday[2].to",
        line(&text, "to = \"2026-05-01\""),
        &["before from 2026-05-05", "inclusive"],
    );
    expect(
        &text,
        "calendar.holiday[3].to",
        line(&text, "2026-08-31"),
        &["62 days", "at most 31"],
    );
}

#[test]
fn makeup_workdays() {
    let text = plus(
        "[[calendar.holiday]]\nfrom = \"2026-10-01\"\nto = \"2026-10-07\"\nname = \"国庆节\"\n\n[[calendar.makeup_workday]]\ndate = \"2026-10-03\"\n\n[[calendar.makeup_workday]]\ndate = \"2026-10-08\"\n\n[[calendar.makeup_workday]]\ndate = \"2026-10-10\"\nas = \"fri\"\n\n[[calendar.makeup_workday]]\ndate = \"2026-09-20\"\nas = \"mon\"\n",
    );
    expect(
        &text,
        "calendar.makeup_workday[0].date",
        line(&text, "2026-10-03"),
        &["inside holiday[0] (国庆节", "cannot be a holiday"],
    );
    expect(
        &text,
        "calendar.makeup_workday[1].date",
        line(&text, "2026-10-08"),
        &["is a thu", "Saturday or Sunday"],
    );
    expect(
        &text,
        "calendar.makeup_workday[2].as",
        line(&text, "as = \"fri\""),
        &["no [[calendar.session]] runs on fri", "has sessions"],
    );
    let all = errors(&text);
    assert!(
        !all.iter()
            .any(|e| e.field.starts_with("calendar.makeup_workday[3]")),
        "{all:?}"
    );
}

#[test]
fn closures_need_an_order_and_a_notice() {
    let text = plus(
        "[[calendar.closure]]\nfrom = \"2026-12-15T17:00\"\nto = \"2026-12-15T13:00\"\nnotice = \" \"\n",
    );
    expect(
        &text,
        "calendar.closure[0].to",
        line(&text, "to = \"2026-12-15T13:00\""),
        &["from must be before to"],
    );
    expect(
        &text,
        "calendar.closure[0].notice",
        line(&text, "notice"),
        &["must not be empty", "1–200"],
    );
}

// ---------------------------------------------------------------------------
// Many at once.

#[test]
fn all_semantic_errors_are_reported_in_line_order() {
    let text = edit("prefix = \"A\"", "prefix = \"a\"");
    let text = edit_text(&text, "number = 1", "number = 0");
    let text = edit_text(&text, "to = \"11:30\"", "to = \"08:00\"");
    let text = edit_text(&text, "floor = 1", "floor = 0");
    let all = errors(&text);
    let fields: Vec<&str> = all.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "zone[0].floor",
            "service[0].prefix",
            "window[0].number",
            "calendar.session[0].to"
        ],
        "{all:?}"
    );
    let lines: Vec<usize> = all.iter().map(|e| e.line.unwrap()).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
    assert!(all.iter().all(|e| e.file == FILE));
}

#[test]
fn a_flood_of_errors_is_cut_short_and_counted() {
    let mut more = String::new();
    for i in 0..300 {
        more.push_str(&format!(
            "[[zone]]\nid = \"bad zone {i}\"\nname = \"区{i}\"\nfloor = 1\n\n"
        ));
    }
    let all = errors(&plus(&more));
    assert_eq!(all.len(), 201, "200 errors and a count");
    let last = all.last().unwrap();
    assert_eq!(last.line, None);
    assert!(last.message.contains("100 more errors not shown"), "{last}");
}
