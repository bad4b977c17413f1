//! Parsing and semantic checks of a hall configuration.
//!
//! [`parse_and_validate`] reports every problem it can find, not just the
//! first: TOML syntax errors (all of them, up to a limit), then type errors
//! (one per `[[table]]` entry, so three typos in three services give three
//! errors), then — once the file has the right shape — every semantic rule.
//! Each error names the file, the line, the field path (`service[3].prefix`)
//! and says what is wrong and what is allowed. No input makes it panic.
//!
//! Decisions a hall admin may trip over, all stated in the messages:
//! - ids (zone, department, service, priority) are 1–32 characters of
//!   `a-z 0-9 - _`; staff accounts are 2–32 of `a-z 0-9 . _ -`;
//! - an open window with no services is an error, except at walk-up desks
//!   (consultation, complaint, fallback, leader): nobody could be called to
//!   it. A closed window (`open = false`) may be set up without services;
//! - a `department` window serves only its own department's services
//!   (cross-department windows are `comprehensive`, 无差别受理);
//! - every service must be served by at least one window, open or not;
//! - a supervisor (电子监察) holds no other role;
//! - a make-up workday (调休) is a Saturday or Sunday and not a holiday;
//! - a real serial port belongs to one `[[bus]]` (only `"sim"` may repeat);
//! - a device serves one window or one zone, as its protocol says; a device
//!   without a Modbus address (voice chip, BX-5K) is alone on its bus.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::ops::Range;

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::locate::Locator;
use super::model::*;
use super::time::TimeOfDay;
use crate::devices::profile::{Profile, Protocol};

/// One problem in a configuration file: where, which field, what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The field path, e.g. `service[3].prefix` (0-based index into the array of tables).
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl ConfigError {
    pub fn new(file: &str, line: Option<usize>, field: &str, message: &str) -> ConfigError {
        ConfigError {
            file: file.to_string(),
            line,
            field: field.to_string(),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: ", self.file, line)?,
            None => write!(f, "{}: ", self.file)?,
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)
    }
}

/// Every problem found in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn single(error: ConfigError) -> ConfigErrors {
        ConfigErrors(vec![error])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// ---------------------------------------------------------------------------
// Limits (each is named in the error message that enforces it).

/// TOML syntax errors reported at most; later ones are usually echoes.
pub const MAX_SYNTAX_ERRORS: usize = 10;
/// Type and semantic errors reported at most; a last entry counts the rest.
pub const MAX_REPORTED_ERRORS: usize = 200;
pub const MAX_ID_CHARS: usize = 32;
/// Names of zones, departments, services, windows, priority classes, holidays.
pub const MAX_NAME_CHARS: usize = 64;
/// A staff name is shown with the job number on a 16-character indicator line.
pub const MAX_STAFF_NAME_CHARS: usize = 16;
pub const MAX_JOB_NUMBER_CHARS: usize = 16;
pub const MAX_NOTICE_CHARS: usize = 200;
pub const SERIES_END_MAX: u32 = 99_999;
pub const DAILY_CAP_MAX: u32 = 100_000;
pub const PER_PERSON_CAP_MAX: u32 = 100;
pub const EXPECTED_MINUTES_MAX: u32 = 480;
pub const PROMISED_DAYS_MAX: u32 = 365;
pub const RECALL_LIMIT_MAX: u32 = 10;
pub const MAX_CASES_MAX: u32 = 100;
/// Steps of a multi-step flow (查档 → 审核 → 缴费 → 领证 is 4).
pub const MAX_FLOW_STEPS: usize = 10;
pub const WINDOW_NUMBER_MAX: u32 = 9_999;
pub const WEIGHT_MAX: u32 = 100;
pub const RANK_MAX: u32 = 100;
pub const FLOOR_MAX: i32 = 200;
pub const FLOOR_MIN: i32 = -9;
pub const STREAK_MAX: u32 = 100;
pub const EXTRA_WAIT_MAX: u32 = 480;
pub const REQUEUE_AFTER_MAX: u32 = 100;
pub const REQUEUE_MAX: u32 = 5;
pub const ISSUE_CUTOFF_LIMIT: u32 = 240;
pub const HOLIDAY_MAX_DAYS: i64 = 31;
/// Serial ports (RS-485 lines) one hall may drive.
pub const MAX_BUSES: usize = 64;
/// Devices on all buses together.
pub const MAX_DEVICES: usize = 2048;
pub const BAUD_RATES: [u32; 8] = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200];
pub const TIMEOUT_MS_MIN: u32 = 10;
pub const TIMEOUT_MS_MAX: u32 = 5000;
pub const GAP_MS_MAX: u32 = 1000;
pub const OFFLINE_AFTER_MAX: u32 = 20;
/// Highest Modbus RTU slave address (0 is broadcast).
pub const UNIT_MAX: u8 = 247;

/// Window kinds that may have no services: walk-up desks where nobody is called.
pub const WALK_UP_KINDS: [WindowKind; 4] = [
    WindowKind::Consultation,
    WindowKind::Complaint,
    WindowKind::Fallback,
    WindowKind::Leader,
];

/// Parses TOML into the model and runs every semantic check; devices are
/// checked against the built-in profiles.
pub fn parse_and_validate(source_name: &str, text: &str) -> Result<HallConfig, ConfigErrors> {
    let profiles = super::builtin_profiles()?;
    parse_and_validate_with(source_name, text, &profiles)
}

/// [`parse_and_validate`] with the device profiles given (keyed by file name,
/// `generic-keypad.toml`).
pub fn parse_and_validate_with(
    source_name: &str,
    text: &str,
    profiles: &BTreeMap<String, Profile>,
) -> Result<HallConfig, ConfigErrors> {
    let locator = Locator::new(text);
    let config = parse(source_name, text, &locator)?;
    let mut ck = Checker {
        file: source_name,
        loc: &locator,
        errors: Vec::new(),
    };
    check_hall(&config, &mut ck);
    check_zones(&config, &mut ck);
    check_departments(&config, &mut ck);
    check_services(&config, &mut ck);
    check_flows(&config, &mut ck);
    check_windows(&config, &mut ck);
    check_service_coverage(&config, &mut ck);
    check_staff(&config, &mut ck);
    check_priorities(&config, &mut ck);
    check_routing(&config, &mut ck);
    check_calendar(&config, &mut ck);
    check_api_keys(&config, &mut ck);
    check_server(&config, &mut ck);
    check_buses(&config, &mut ck);
    check_devices(&config, profiles, &mut ck);
    check_notices(&config, &mut ck);
    check_stats(&config, &mut ck);
    check_evaluation_push(&config, &mut ck);
    check_alerts(&config, &mut ck);
    check_backup(&config, &mut ck);
    ck.finish().map(|()| config)
}

// ---------------------------------------------------------------------------
// Parsing: syntax and type errors.

/// An error from the TOML parser or serde, before it is placed.
struct RawError {
    message: String,
    span: Option<Range<usize>>,
    field: Option<String>,
}

impl RawError {
    fn from_toml(e: &toml::de::Error) -> RawError {
        RawError {
            message: e.message().to_string(),
            span: e.span(),
            field: None,
        }
    }
}

fn parse(file: &str, text: &str, loc: &Locator<'_>) -> Result<HallConfig, ConfigErrors> {
    if !loc.syntax_errors().is_empty() {
        let mut errors: Vec<ConfigError> = Vec::new();
        for e in loc.syntax_errors() {
            let line = e.span().map(|s| loc.line_at(s.start));
            let message = format!("TOML syntax error: {}", e.message());
            if errors
                .iter()
                .any(|x| x.line == line && x.message == message)
            {
                continue;
            }
            errors.push(ConfigError::new(file, line, "", &message));
            if errors.len() == MAX_SYNTAX_ERRORS {
                break;
            }
        }
        errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        return Err(ConfigErrors(errors));
    }
    let root = loc.root().clone();
    match HallConfig::deserialize(toml::de::Deserializer::from(root)) {
        Ok(config) => Ok(config),
        Err(whole) => {
            let mut raw = item_errors(loc.root().get_ref());
            if raw.is_empty() {
                raw.push(RawError::from_toml(&whole));
            }
            let total = raw.len();
            raw.truncate(MAX_REPORTED_ERRORS);
            let mut errors: Vec<ConfigError> =
                raw.into_iter().map(|r| place(r, file, text, loc)).collect();
            errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
            Err(ConfigErrors(limited(errors, total, file)))
        }
    }
}

const TOP_KEYS: &str = "`hall`, `zone`, `department`, `service`, `window`, `staff`, `priority`, `routing`, \
     `calendar`, `api_key`, `server`, `bus`, `device`, `notice`, `alerts`, `evaluation_push`, `stats`, `backup`";
const CALENDAR_KEYS: &str =
    "`issue_cutoff_minutes`, `extended_service`, `session`, `holiday`, `makeup_workday`, `closure`";

/// Type errors item by item, so each `[[service]]` with a problem gets its
/// own error (serde alone stops at the first).
fn item_errors(root: &DeTable<'_>) -> Vec<RawError> {
    let mut out = Vec::new();
    if root.get("hall").is_none() {
        out.push(RawError {
            message: "the [hall] table is missing; every file starts with [hall] and name = \"…\""
                .into(),
            span: None,
            field: Some("hall".into()),
        });
    }
    for (key, value) in root.iter() {
        match key.get_ref().as_ref() {
            "hall" => de_one::<HallSection>(value, &mut out),
            "zone" => de_each::<ZoneConfig>(value, &mut out),
            "department" => de_each::<DepartmentConfig>(value, &mut out),
            "service" => de_each::<ServiceConfig>(value, &mut out),
            "window" => de_each::<WindowConfig>(value, &mut out),
            "staff" => de_each::<StaffConfig>(value, &mut out),
            "priority" => de_each::<PriorityConfig>(value, &mut out),
            "routing" => de_one::<RoutingConfig>(value, &mut out),
            "calendar" => calendar_item_errors(value, &mut out),
            "api_key" => de_each::<ApiKeyConfig>(value, &mut out),
            "server" => de_one::<ServerConfig>(value, &mut out),
            "bus" => de_each::<BusConfig>(value, &mut out),
            "device" => de_each::<DeviceConfig>(value, &mut out),
            "notice" => de_each::<NoticeConfig>(value, &mut out),
            "alerts" => de_one::<AlertsConfig>(value, &mut out),
            "evaluation_push" => de_one::<EvaluationPushConfig>(value, &mut out),
            "stats" => de_one::<StatsConfig>(value, &mut out),
            "backup" => de_one::<BackupConfig>(value, &mut out),
            other => out.push(RawError {
                message: format!("unknown key `{other}`, expected one of {TOP_KEYS}"),
                span: Some(key.span()),
                field: None,
            }),
        }
    }
    out
}

fn calendar_item_errors(value: &Spanned<DeValue<'_>>, out: &mut Vec<RawError>) {
    let DeValue::Table(table) = value.get_ref() else {
        return de_one::<CalendarConfig>(value, out);
    };
    for (key, value) in table.iter() {
        match key.get_ref().as_ref() {
            "issue_cutoff_minutes" => de_one::<u32>(value, out),
            "extended_service" => de_one::<bool>(value, out),
            "session" => de_each::<SessionConfig>(value, out),
            "holiday" => de_each::<HolidayConfig>(value, out),
            "makeup_workday" => de_each::<MakeupWorkdayConfig>(value, out),
            "closure" => de_each::<ClosureConfig>(value, out),
            other => out.push(RawError {
                message: format!("unknown key `{other}`, expected one of {CALENDAR_KEYS}"),
                span: Some(key.span()),
                field: None,
            }),
        }
    }
}

fn de_one<T: DeserializeOwned>(value: &Spanned<DeValue<'_>>, out: &mut Vec<RawError>) {
    if let Err(e) = T::deserialize(ValueDeserializer::from(value.clone())) {
        let mut raw = RawError::from_toml(&e);
        raw.span = raw.span.or(Some(value.span()));
        out.push(raw);
    }
}

fn de_each<T: DeserializeOwned>(value: &Spanned<DeValue<'_>>, out: &mut Vec<RawError>) {
    match value.get_ref() {
        DeValue::Array(items) => items.iter().for_each(|item| de_one::<T>(item, out)),
        _ => de_one::<Vec<T>>(value, out),
    }
}

/// Gives a parser error its line and field path, and a clearer message.
fn place(raw: RawError, file: &str, text: &str, loc: &Locator<'_>) -> ConfigError {
    let offset = raw.span.as_ref().map(|s| s.start);
    let mut field = raw
        .field
        .or_else(|| offset.and_then(|o| loc.path_at(o)))
        .unwrap_or_default();
    let line = match offset {
        Some(o) => Some(loc.line_at(o)),
        None => loc.line_of(&field),
    };
    let source = raw.span.and_then(|s| text.get(s)).unwrap_or("");
    let message = match missing_field(&raw.message) {
        Some(name) => {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(name);
            format!("required key `{name}` is missing from this table; add `{name} = …`")
        }
        None => humanize(&raw.message, source),
    };
    ConfigError {
        file: file.to_string(),
        line,
        field,
        message,
    }
}

fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// Rewords serde's messages in the hall admin's terms.
fn humanize(message: &str, source: &str) -> String {
    const CHRONO: [&str; 6] = [
        "input is out of range",
        "input contains invalid characters",
        "premature end of input",
        "trailing input",
        "no possible date and time matching input",
        "input is not enough for unique date and time",
    ];
    if CHRONO.contains(&message) {
        return format!(
            "{source} is not a valid date ({message}); write a date as \"YYYY-MM-DD\", e.g. \"2026-10-01\""
        );
    }
    let unquoted_datetime =
        source.starts_with(|c: char| c.is_ascii_digit()) && source.contains([':', '-']);
    if message.starts_with("invalid type: map") && unquoted_datetime {
        return format!(
            "{source} must be written as a quoted string: dates \"2026-10-01\", times \"08:30\", \
             date and time \"2026-10-01T08:30\""
        );
    }
    let mut m = message
        .replace("unknown field", "unknown key")
        .replace("unknown variant", "unknown value")
        .replace(
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        )
        .replace("expected u8", "expected a whole number from 0 to 255")
        .replace(
            "expected i32",
            "expected a whole number (e.g. 2, or -1 for a basement)",
        )
        .replace("expected a sequence", "expected an array [ … ]")
        .replace("wanted string or table", "expected a quoted string");
    if let Some(i) = m.find("expected struct ") {
        m.truncate(i);
        m.push_str("expected a table (a [[…]] section or an inline { key = value, … })");
    }
    m
}

// ---------------------------------------------------------------------------
// Semantic checks.

struct Checker<'a> {
    file: &'a str,
    loc: &'a Locator<'a>,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        let field = field.into();
        let line = self.loc.line_of(&field);
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line,
            field,
            message: message.into(),
        });
    }

    /// ` (line N)` for an earlier definition, or nothing.
    fn at_line(&self, field: &str) -> String {
        self.loc
            .line_of(field)
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default()
    }

    fn finish(mut self) -> Result<(), ConfigErrors> {
        if self.errors.is_empty() {
            return Ok(());
        }
        self.errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        let total = self.errors.len();
        Err(ConfigErrors(limited(self.errors, total, self.file)))
    }
}

/// Keeps the first [`MAX_REPORTED_ERRORS`] of `total` errors and says how many more there are.
fn limited(mut errors: Vec<ConfigError>, total: usize, file: &str) -> Vec<ConfigError> {
    errors.truncate(MAX_REPORTED_ERRORS);
    if total > errors.len() {
        let more = total - errors.len();
        errors.push(ConfigError::new(
            file,
            None,
            "",
            &format!("… and {more} more errors not shown (at most {MAX_REPORTED_ERRORS} are listed); fix these first"),
        ));
    }
    errors
}

fn is_id(id: &str) -> bool {
    let n = id.chars().count();
    (1..=MAX_ID_CHARS).contains(&n)
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn check_id(ck: &mut Checker<'_>, field: String, id: &str) {
    if is_id(id) {
        return;
    }
    let what = if id.is_empty() {
        "must not be empty".to_string()
    } else {
        format!("\"{id}\" is not a valid id")
    };
    ck.error(
        field,
        format!(
            "{what}; an id is 1–{MAX_ID_CHARS} characters of lowercase a–z, digits 0–9, '-' and '_', \
             starting with a letter or digit (e.g. \"estate-search\")"
        ),
    );
}

fn check_name(ck: &mut Checker<'_>, field: String, name: &str, max: usize) {
    let n = name.chars().count();
    if name.trim().is_empty() {
        ck.error(
            field,
            format!("must not be empty; write the name citizens see (1–{max} characters)"),
        );
    } else if n > max {
        ck.error(
            field,
            format!(
                "is {n} characters long; at most {max} are allowed so it fits the hall's screens"
            ),
        );
    }
}

/// Reports each value already used by an earlier entry of `table`.
fn check_unique<'v>(
    ck: &mut Checker<'_>,
    table: &str,
    key: &str,
    values: impl Iterator<Item = &'v str>,
    rule: &str,
) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, value) in values.enumerate() {
        if value.is_empty() {
            continue; // reported as empty elsewhere
        }
        match first.get(value) {
            Some(&j) => {
                let earlier = ck.at_line(&format!("{table}[{j}].{key}"));
                ck.error(
                    format!("{table}[{i}].{key}"),
                    format!("\"{value}\" is already used by {table}[{j}]{earlier}; {rule}"),
                );
            }
            None => {
                first.insert(value, i);
            }
        }
    }
}

/// Levenshtein distance over characters, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// `did you mean "x"` for a near miss, else `known: a, b, c` (at most 10,
/// then `…`) — the ids an admin may choose from.
fn known<'v>(wanted: &str, values: impl Iterator<Item = &'v str>) -> String {
    let all: Vec<&str> = values.collect();
    if all.is_empty() {
        return "none are defined".to_string();
    }
    let closest = all.iter().map(|v| (edit_distance(wanted, v), *v)).min();
    if let Some((distance, value)) = closest
        && distance <= 2
        && distance < wanted.chars().count()
    {
        return format!("did you mean \"{value}\"?");
    }
    let mut list = all
        .iter()
        .take(10)
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > 10 {
        list.push_str(", …");
    }
    format!("known: {list}")
}

fn department_ids(c: &HallConfig) -> HashSet<&str> {
    c.departments.iter().map(|d| d.id.as_str()).collect()
}

fn check_department_ref(ck: &mut Checker<'_>, c: &HallConfig, field: String, department: &str) {
    if !department_ids(c).contains(department) {
        let known = known(department, c.departments.iter().map(|d| d.id.as_str()));
        ck.error(
            field,
            format!("department \"{department}\" is not defined; use the id of a [[department]] ({known})"),
        );
    }
}

fn check_hall(c: &HallConfig, ck: &mut Checker<'_>) {
    check_name(ck, "hall.name".into(), &c.hall.name, MAX_NAME_CHARS);
    if c.hall.timezone.parse::<Tz>().is_err() {
        ck.error(
            "hall.timezone",
            format!(
                "\"{}\" is not an IANA time zone name; write e.g. \"Asia/Shanghai\" (used across mainland China)",
                c.hall.timezone
            ),
        );
    }
}

fn check_zones(c: &HallConfig, ck: &mut Checker<'_>) {
    if c.zones.is_empty() {
        ck.error("zone", "no [[zone]] is defined; define at least one (id, name, floor) for the windows to stand in");
    }
    for (i, z) in c.zones.iter().enumerate() {
        check_id(ck, format!("zone[{i}].id"), &z.id);
        check_name(ck, format!("zone[{i}].name"), &z.name, MAX_NAME_CHARS);
        if z.floor == 0 || !(FLOOR_MIN..=FLOOR_MAX).contains(&z.floor) {
            ck.error(
                format!("zone[{i}].floor"),
                format!(
                    "floor {} is not allowed; write the floor as the building labels it: 1 to {FLOOR_MAX} \
                     (1 = ground floor), {FLOOR_MIN} to -1 below ground; there is no floor 0",
                    z.floor
                ),
            );
        }
    }
    check_unique(
        ck,
        "zone",
        "id",
        c.zones.iter().map(|z| z.id.as_str()),
        "zone ids must be unique",
    );
}

fn check_departments(c: &HallConfig, ck: &mut Checker<'_>) {
    for (i, d) in c.departments.iter().enumerate() {
        check_id(ck, format!("department[{i}].id"), &d.id);
        check_name(ck, format!("department[{i}].name"), &d.name, MAX_NAME_CHARS);
    }
    check_unique(
        ck,
        "department",
        "id",
        c.departments.iter().map(|d| d.id.as_str()),
        "department ids must be unique",
    );
}

fn check_services(c: &HallConfig, ck: &mut Checker<'_>) {
    if c.services.is_empty() {
        ck.error(
            "service",
            "no [[service]] is defined; define at least one so citizens can take tickets",
        );
    }
    for (i, s) in c.services.iter().enumerate() {
        let at = |key: &str| format!("service[{i}].{key}");
        check_id(ck, at("id"), &s.id);
        check_name(ck, at("name"), &s.name, MAX_NAME_CHARS);
        check_department_ref(ck, c, at("department"), &s.department);
        check_prefix(ck, at("prefix"), &s.prefix);
        check_series(ck, i, &s.series);
        check_caps(ck, i, s);
        check_issue_windows(ck, i, &s.issue_windows);
        check_service_numbers(ck, i, s);
    }
    check_unique(
        ck,
        "service",
        "id",
        c.services.iter().map(|s| s.id.as_str()),
        "service ids must be unique",
    );
    check_unique(
        ck,
        "service",
        "prefix",
        c.services.iter().map(|s| s.prefix.as_str()),
        "each service needs its own prefix so ticket numbers never collide",
    );
}

fn check_prefix(ck: &mut Checker<'_>, field: String, prefix: &str) {
    let ok = (1..=2).contains(&prefix.len()) && prefix.chars().all(|c| c.is_ascii_uppercase());
    if !ok {
        ck.error(
            field,
            format!("prefix \"{prefix}\" is not allowed; a prefix is 1 or 2 uppercase letters A–Z (e.g. \"A\", \"BD\")"),
        );
    }
}

fn check_series(ck: &mut Checker<'_>, i: usize, series: &SeriesConfig) {
    if !(1..=SERIES_END_MAX).contains(&series.end) {
        ck.error(
            format!("service[{i}].series.end"),
            format!(
                "series end {} is out of range; it must be 1–{SERIES_END_MAX} (its digit count sets the \
                 printed width: 999 → A012)",
                series.end
            ),
        );
    } else if series.start > series.end {
        ck.error(
            format!("service[{i}].series.start"),
            format!(
                "series start {} is after end {}; start must be 0–{} (at most end)",
                series.start, series.end, series.end
            ),
        );
    }
}

fn check_caps(ck: &mut Checker<'_>, i: usize, s: &ServiceConfig) {
    if let Some(cap) = s.daily_cap
        && !(1..=DAILY_CAP_MAX).contains(&cap)
    {
        ck.error(
            format!("service[{i}].daily_cap"),
            format!("daily_cap {cap} is out of range; allowed 1–{DAILY_CAP_MAX} cases a day, or leave it out for no cap"),
        );
    }
    if let Some(cap) = s.per_person_daily_cap {
        if !(1..=PER_PERSON_CAP_MAX).contains(&cap) {
            ck.error(
                format!("service[{i}].per_person_daily_cap"),
                format!(
                    "per_person_daily_cap {cap} is out of range; allowed 1–{PER_PERSON_CAP_MAX} tickets per \
                     person a day, or leave it out for no per-person cap"
                ),
            );
        } else if let Some(daily) = s.daily_cap
            && daily >= 1
            && cap > daily
        {
            ck.error(
                format!("service[{i}].per_person_daily_cap"),
                format!("per_person_daily_cap {cap} is larger than daily_cap {daily}; it must be at most daily_cap"),
            );
        }
    }
}

fn check_issue_windows(ck: &mut Checker<'_>, i: usize, windows: &[IssueWindowConfig]) {
    for (j, w) in windows.iter().enumerate() {
        if w.from >= w.to {
            ck.error(
                format!("service[{i}].issue_windows[{j}].to"),
                format!(
                    "issue window {}–{} is empty or reversed; from must be before to, within one day \
                     (to = \"24:00\" ends at midnight)",
                    w.from, w.to
                ),
            );
        }
        if w.cap == Some(0) {
            ck.error(
                format!("service[{i}].issue_windows[{j}].cap"),
                "cap 0 would never issue a ticket; a slot cap is at least 1, or leave it out for no slot cap",
            );
        }
    }
    let proper: Vec<(usize, TimeOfDay, TimeOfDay)> = windows
        .iter()
        .enumerate()
        .filter(|(_, w)| w.from < w.to)
        .map(|(j, w)| (j, w.from, w.to))
        .collect();
    for (a, b) in overlapping_pairs(&proper) {
        let (ja, fa, ta) = proper[a];
        let (jb, fb, tb) = proper[b];
        ck.error(
            format!("service[{i}].issue_windows[{jb}].from"),
            format!(
                "issue window {fb}–{tb} overlaps issue_windows[{ja}] ({fa}–{ta}); issue windows must not \
                 overlap (one may start when another ends)"
            ),
        );
    }
}

/// Pairs (earlier index, later index) into `spans` of intervals that overlap.
fn overlapping_pairs(spans: &[(usize, TimeOfDay, TimeOfDay)]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    for b in 0..spans.len() {
        for a in 0..b {
            let (_, fa, ta) = spans[a];
            let (_, fb, tb) = spans[b];
            if fa < tb && fb < ta {
                pairs.push((a, b));
            }
        }
    }
    pairs
}

fn check_service_numbers(ck: &mut Checker<'_>, i: usize, s: &ServiceConfig) {
    if !(1..=TARGET_WAIT_MINUTES_MAX).contains(&s.target_wait_minutes) {
        ck.error(
            format!("service[{i}].target_wait_minutes"),
            format!(
                "target_wait_minutes {} is out of range; allowed 1–{TARGET_WAIT_MINUTES_MAX}",
                s.target_wait_minutes
            ),
        );
    }
    if !(1..=EXPECTED_MINUTES_MAX).contains(&s.expected_minutes) {
        ck.error(
            format!("service[{i}].expected_minutes"),
            format!(
                "expected_minutes {} is out of range; allowed 1–{EXPECTED_MINUTES_MAX} minutes of service per case",
                s.expected_minutes
            ),
        );
    }
    let days = s.promised_days;
    let field = format!("service[{i}].promised_days");
    if days > PROMISED_DAYS_MAX {
        ck.error(
            field,
            format!("promised_days {days} is too long; allowed 0–{PROMISED_DAYS_MAX} working days"),
        );
    } else if s.matter_class == MatterClass::Commitment && days == 0 {
        ck.error(
            field,
            format!(
                "a commitment matter (承诺件) needs its time limit: promised_days from 1 to {PROMISED_DAYS_MAX} \
                 working days"
            ),
        );
    } else if s.matter_class == MatterClass::Immediate && days > 0 {
        ck.error(
            field,
            format!(
                "promised_days {days} contradicts matter_class = \"immediate\" (即办件, finished on the spot); \
                 leave promised_days out or use matter_class = \"commitment\""
            ),
        );
    }
    if s.recall_limit > RECALL_LIMIT_MAX {
        ck.error(
            format!("service[{i}].recall_limit"),
            format!(
                "recall_limit {} is too high; allowed 0–{RECALL_LIMIT_MAX} recalls before the call becomes a no-show",
                s.recall_limit
            ),
        );
    }
    if !(1..=MAX_CASES_MAX).contains(&s.max_cases) {
        ck.error(
            format!("service[{i}].max_cases"),
            format!(
                "max_cases {} is out of range; a ticket carries 1–{MAX_CASES_MAX} cases",
                s.max_cases
            ),
        );
    }
}

/// next_step references, self-loops, cycles and flow length.
fn check_flows(c: &HallConfig, ck: &mut Checker<'_>) {
    let index: HashMap<&str, usize> = c
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let next: Vec<Option<usize>> = c
        .services
        .iter()
        .map(|s| s.next_step.as_deref().and_then(|n| index.get(n).copied()))
        .collect();
    for (i, s) in c.services.iter().enumerate() {
        let Some(step) = s.next_step.as_deref() else {
            continue;
        };
        let field = format!("service[{i}].next_step");
        if step == s.id {
            ck.error(
                field,
                "next_step names this service itself; name another service, or leave next_step out",
            );
        } else if !index.contains_key(step) {
            let known = known(step, c.services.iter().map(|s| s.id.as_str()));
            ck.error(field, format!("next_step \"{step}\" is not a defined service; use the id of another [[service]] ({known})"));
        }
    }
    // Follow every chain; a cycle is reported once, on its first member.
    let mut in_reported_cycle = vec![false; c.services.len()];
    for start in 0..c.services.len() {
        let mut path = vec![start];
        let mut cur = start;
        let mut cycle = false;
        let mut ended = true;
        while let Some(n) = next[cur] {
            if let Some(pos) = path.iter().position(|&p| p == n) {
                cycle = pos == 0 && n != cur; // a self-loop is reported above
                ended = false;
                break;
            }
            path.push(n);
            cur = n;
        }
        if cycle {
            if !in_reported_cycle[start] {
                path.iter().for_each(|&p| in_reported_cycle[p] = true);
                let names: Vec<&str> = path
                    .iter()
                    .chain([&start])
                    .map(|&p| c.services[p].id.as_str())
                    .collect();
                ck.error(
                    format!("service[{start}].next_step"),
                    format!(
                        "next_step makes a cycle {}; a flow must end at a service without next_step",
                        names.join(" → ")
                    ),
                );
            }
        } else if ended && path.len() > MAX_FLOW_STEPS && !next.contains(&Some(start)) {
            ck.error(
                format!("service[{start}].next_step"),
                format!(
                    "the flow starting here has {} steps; a flow may have at most {MAX_FLOW_STEPS}",
                    path.len()
                ),
            );
        }
    }
}

fn check_windows(c: &HallConfig, ck: &mut Checker<'_>) {
    if c.windows.is_empty() {
        ck.error(
            "window",
            "no [[window]] is defined; define at least one window that serves the services",
        );
    }
    let zones: HashMap<&str, &ZoneConfig> = c.zones.iter().map(|z| (z.id.as_str(), z)).collect();
    let services: HashMap<&str, &ServiceConfig> =
        c.services.iter().map(|s| (s.id.as_str(), s)).collect();
    for (i, w) in c.windows.iter().enumerate() {
        let at = |key: &str| format!("window[{i}].{key}");
        if !(1..=WINDOW_NUMBER_MAX).contains(&w.number) {
            ck.error(
                at("number"),
                format!(
                    "window number {} is out of range; window numbers are 1–{WINDOW_NUMBER_MAX}",
                    w.number
                ),
            );
        }
        check_name(ck, at("name"), &w.name, MAX_NAME_CHARS);
        match zones.get(w.zone.as_str()) {
            None => {
                let known = known(&w.zone, c.zones.iter().map(|z| z.id.as_str()));
                ck.error(
                    at("zone"),
                    format!(
                        "zone \"{}\" is not defined; use the id of a [[zone]] ({known})",
                        w.zone
                    ),
                );
            }
            Some(zone) => {
                if let Some(floor) = w.floor
                    && floor != zone.floor
                {
                    ck.error(
                        at("floor"),
                        format!(
                            "floor {floor} does not match zone \"{}\", which is on floor {}; write floor = {} or leave floor out",
                            zone.id, zone.floor, zone.floor
                        ),
                    );
                }
            }
        }
        match &w.department {
            Some(d) => check_department_ref(ck, c, at("department"), d),
            None if w.kind == WindowKind::Department => ck.error(
                at("department"),
                "a window of kind \"department\" must name its department (department = \"…\"); a window \
                 serving several departments is kind \"comprehensive\" (无差别受理)",
            ),
            None => {}
        }
        check_window_services(ck, c, i, w, &services);
    }
    let numbers: Vec<String> = c.windows.iter().map(|w| w.number.to_string()).collect();
    check_unique(
        ck,
        "window",
        "number",
        numbers.iter().map(String::as_str),
        "each window needs its own number (it is announced and shown)",
    );
}

fn kind_name(kind: WindowKind) -> &'static str {
    match kind {
        WindowKind::Department => "department",
        WindowKind::Comprehensive => "comprehensive",
        WindowKind::Fee => "fee",
        WindowKind::Agency => "agency",
        WindowKind::Pickup => "pickup",
        WindowKind::Consultation => "consultation",
        WindowKind::Complaint => "complaint",
        WindowKind::Fallback => "fallback",
        WindowKind::Leader => "leader",
    }
}

fn check_window_services(
    ck: &mut Checker<'_>,
    c: &HallConfig,
    i: usize,
    w: &WindowConfig,
    services: &HashMap<&str, &ServiceConfig>,
) {
    if w.services.is_empty() && w.open && !WALK_UP_KINDS.contains(&w.kind) {
        ck.error(
            format!("window[{i}].services"),
            format!(
                "an open {} window must serve at least one service, or no ticket could ever be called to it; \
                 add services = [{{ service = \"…\" }}] or set open = false (only consultation, complaint, \
                 fallback and leader windows may have no services: they are walk-up desks)",
                kind_name(w.kind)
            ),
        );
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (j, entry) in w.services.iter().enumerate() {
        let at = |key: &str| format!("window[{i}].services[{j}].{key}");
        match services.get(entry.service.as_str()) {
            None => {
                let known = known(&entry.service, c.services.iter().map(|s| s.id.as_str()));
                ck.error(
                    at("service"),
                    format!(
                        "service \"{}\" is not defined; use the id of a [[service]] ({known})",
                        entry.service
                    ),
                );
            }
            Some(s) => {
                if w.kind == WindowKind::Department
                    && let Some(d) = &w.department
                    && *d != s.department
                {
                    ck.error(
                        at("service"),
                        format!(
                            "service \"{}\" belongs to department \"{}\", but this is a department window of \
                             \"{d}\"; a department window serves only its own department's services — use \
                             kind = \"comprehensive\" (无差别受理) for a cross-department window",
                            s.id, s.department
                        ),
                    );
                }
            }
        }
        if let Some(&k) = seen.get(entry.service.as_str()) {
            ck.error(
                at("service"),
                format!(
                    "service \"{}\" is already listed at this window as services[{k}]; list each service once \
                     and use weight to prefer it",
                    entry.service
                ),
            );
        } else {
            seen.insert(entry.service.as_str(), j);
        }
        if !(1..=WEIGHT_MAX).contains(&entry.weight) {
            ck.error(
                at("weight"),
                format!(
                    "weight {} is out of range; allowed 1–{WEIGHT_MAX} (higher = this window prefers the service)",
                    entry.weight
                ),
            );
        }
    }
}

fn check_service_coverage(c: &HallConfig, ck: &mut Checker<'_>) {
    let served: HashSet<&str> = c
        .windows
        .iter()
        .flat_map(|w| w.services.iter().map(|s| s.service.as_str()))
        .collect();
    for (i, s) in c.services.iter().enumerate() {
        if !served.contains(s.id.as_str()) {
            ck.error(
                format!("service[{i}]"),
                format!(
                    "no window serves \"{}\" ({}); citizens could take tickets that nobody can call — list it \
                     in the services of at least one [[window]]",
                    s.id, s.name
                ),
            );
        }
    }
}

fn is_account(account: &str) -> bool {
    (2..=32).contains(&account.len())
        && account
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

fn is_job_number(job: &str) -> bool {
    (1..=MAX_JOB_NUMBER_CHARS).contains(&job.len())
        && job.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn check_staff(c: &HallConfig, ck: &mut Checker<'_>) {
    for (i, s) in c.staff.iter().enumerate() {
        let at = |key: &str| format!("staff[{i}].{key}");
        if !is_account(&s.account) {
            ck.error(
                at("account"),
                format!(
                    "account \"{}\" is not allowed; an account is 2–32 characters of lowercase a–z, digits 0–9, \
                     '.', '_' and '-' (e.g. \"wang.fang\")",
                    s.account
                ),
            );
        }
        if !is_job_number(&s.job_number) {
            let what = if s.job_number.is_empty() {
                "job_number (工号) must not be empty".to_string()
            } else {
                format!("job_number \"{}\" is not allowed", s.job_number)
            };
            ck.error(
                at("job_number"),
                format!("{what}; a job number is 1–{MAX_JOB_NUMBER_CHARS} characters of A–Z, a–z, 0–9 and '-' (e.g. \"AH0203\")"),
            );
        }
        check_name(ck, at("name"), &s.name, MAX_STAFF_NAME_CHARS);
        if let Some(d) = &s.department {
            check_department_ref(ck, c, at("department"), d);
        }
        check_roles(ck, i, &s.roles);
    }
    check_unique(
        ck,
        "staff",
        "account",
        c.staff.iter().map(|s| s.account.as_str()),
        "one account per person, never shared",
    );
    check_unique(
        ck,
        "staff",
        "job_number",
        c.staff.iter().map(|s| s.job_number.as_str()),
        "job numbers (工号) are unique per person",
    );
}

fn check_roles(ck: &mut Checker<'_>, i: usize, roles: &[Role]) {
    let field = format!("staff[{i}].roles");
    if roles.is_empty() {
        ck.error(
            field,
            "roles must not be empty; allowed roles: staff, window_head, manager, supervisor, admin",
        );
        return;
    }
    let distinct: BTreeSet<Role> = roles.iter().copied().collect();
    if distinct.len() != roles.len() {
        ck.error(field.clone(), "a role is listed twice; list each role once");
    }
    if distinct.contains(&Role::Supervisor) && distinct.len() > 1 {
        ck.error(
            field,
            "a supervisor (电子监察) must hold no other role: supervision reads everything and changes nothing; \
             give other duties to a separate account",
        );
    }
}

fn check_api_keys(c: &HallConfig, ck: &mut Checker<'_>) {
    for (i, k) in c.api_keys.iter().enumerate() {
        check_id(ck, format!("api_key[{i}].id"), &k.id);
        let hex_ok = k.sha256.len() == 64
            && k.sha256
                .chars()
                .all(|ch| ch.is_ascii_digit() || ('a'..='f').contains(&ch));
        if !hex_ok {
            ck.error(
                format!("api_key[{i}].sha256"),
                "must be the key's SHA-256 as 64 lowercase hex characters (never the key itself); \
                 `hallq keygen --id ID --role kiosk` prints a new key and this line"
                    .to_string(),
            );
        }
    }
    check_unique(
        ck,
        "api_key",
        "id",
        c.api_keys.iter().map(|k| k.id.as_str()),
        "each kiosk or screen needs its own key id",
    );
    check_unique(
        ck,
        "api_key",
        "sha256",
        c.api_keys.iter().map(|k| k.sha256.as_str()),
        "two devices must not share a key, so one can be revoked alone",
    );
}

fn check_server(c: &HallConfig, ck: &mut Checker<'_>) {
    let s = &c.server;
    if !(1..=24 * 7).contains(&s.session_hours) {
        ck.error(
            "server.session_hours".to_string(),
            format!(
                "{} is out of range; a sign-in lasts 1–168 hours",
                s.session_hours
            ),
        );
    }
    if s.tls_cert.is_some() != s.tls_key.is_some() {
        let missing = if s.tls_cert.is_some() {
            "tls_key"
        } else {
            "tls_cert"
        };
        ck.error(
            format!("server.{missing}"),
            "HTTPS needs both tls_cert and tls_key (PEM file paths), or neither".to_string(),
        );
    }
    if let Some(url) = &s.public_url
        && let Err(why) = check_public_url(url)
    {
        ck.error("server.public_url".to_string(), why);
    }
}

/// `host` or `host:port`, as in a URL or a `Host` header: a DNS name or
/// IPv4 address (letters, digits, `.`, `-`), or an IPv6 address in
/// brackets; a port 1–65535.
pub fn is_host_port(s: &str) -> bool {
    let (host, port) = match s.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, tail)) => {
                if v6.is_empty()
                    || !v6
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
                {
                    return false;
                }
                match tail {
                    "" => (v6, None),
                    t => match t.strip_prefix(':') {
                        Some(p) => (v6, Some(p)),
                        None => return false,
                    },
                }
            }
            None => return false,
        },
        None => {
            let (h, p) = match s.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            };
            let label_ok = |l: &str| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            };
            if h.is_empty() || h.len() > 253 || !h.split('.').all(label_ok) {
                return false;
            }
            (h, p)
        }
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.chars().all(|c| c.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65_535).contains(&n))
    });
    !host.is_empty() && port_ok
}

/// `[server] public_url`: `http://` or `https://`, a host and an optional
/// port, nothing after it but an optional `/` (the phone pages live at the
/// root of the hall's address).
pub fn check_public_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            format!(
                "{url:?} must start with https:// or http:// (e.g. \"https://hall.example.gov.cn\")"
            )
        })?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#', '@']) {
        return Err(format!(
            "{url:?} must be only a scheme, a host and an optional port (e.g. \"https://hall.example.gov.cn:8443\"): \
             no path, query, fragment or user name — the phone page is always /t/{{id}}"
        ));
    }
    if !is_host_port(authority) {
        return Err(format!(
            "{url:?}: {authority:?} is not a host name or address with an optional port 1–65535"
        ));
    }
    Ok(())
}

fn check_priorities(c: &HallConfig, ck: &mut Checker<'_>) {
    for (i, p) in c.priority.iter().enumerate() {
        check_id(ck, format!("priority[{i}].id"), &p.id);
        check_name(ck, format!("priority[{i}].name"), &p.name, MAX_NAME_CHARS);
        if !(1..=RANK_MAX).contains(&p.rank) {
            ck.error(
                format!("priority[{i}].rank"),
                format!(
                    "rank {} is out of range; ranks are 1–{RANK_MAX} (1 = lowest priority above ordinary \
                     tickets, higher ranks are called first)",
                    p.rank
                ),
            );
        }
    }
    check_unique(
        ck,
        "priority",
        "id",
        c.priority.iter().map(|p| p.id.as_str()),
        "priority ids must be unique",
    );
    let ranks: Vec<String> = c.priority.iter().map(|p| p.rank.to_string()).collect();
    check_unique(
        ck,
        "priority",
        "rank",
        ranks.iter().map(String::as_str),
        "each priority class needs its own rank so the calling order is defined",
    );
}

fn check_routing(c: &HallConfig, ck: &mut Checker<'_>) {
    let r = &c.routing;
    let mut range = |key: &str, value: u32, min: u32, max: u32, meaning: &str| {
        if !(min..=max).contains(&value) {
            ck.error(
                format!("routing.{key}"),
                format!("{key} {value} is out of range; allowed {min}–{max} ({meaning})"),
            );
        }
    };
    range(
        "priority_streak_max",
        r.priority_streak_max,
        1,
        STREAK_MAX,
        "priority calls in a row before an ordinary ticket is called",
    );
    range(
        "priority_extra_wait_minutes_max",
        r.priority_extra_wait_minutes_max,
        1,
        EXTRA_WAIT_MAX,
        "minutes a passed-over ordinary ticket waits before it is promoted",
    );
    range(
        "no_show_requeue_after",
        r.no_show_requeue_after,
        0,
        REQUEUE_AFTER_MAX,
        "tickets a no-show goes back behind",
    );
    range(
        "no_show_requeue_max",
        r.no_show_requeue_max,
        0,
        REQUEUE_MAX,
        "times a no-show goes back in line; 0 = a no-show is final",
    );
}

pub(crate) fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

pub(crate) const ALL_DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn weekday_of(date: NaiveDate) -> Weekday {
    ALL_DAYS[date.weekday().num_days_from_monday() as usize]
}

fn check_calendar(c: &HallConfig, ck: &mut Checker<'_>) {
    let cal = &c.calendar;
    if cal.issue_cutoff_minutes >= ISSUE_CUTOFF_LIMIT {
        ck.error(
            "calendar.issue_cutoff_minutes",
            format!(
                "issue_cutoff_minutes {} is too large; allowed 0–{} minutes before a session ends",
                cal.issue_cutoff_minutes,
                ISSUE_CUTOFF_LIMIT - 1
            ),
        );
    }
    check_sessions(cal, ck);
    check_holidays(cal, ck);
    check_makeup_workdays(cal, ck);
    check_closures(cal, ck);
}

fn check_sessions(cal: &CalendarConfig, ck: &mut Checker<'_>) {
    if cal.sessions.is_empty() {
        ck.error(
            "calendar.session",
            "no [[calendar.session]] is defined, so the hall would never open; add e.g. days = [\"mon\", \"tue\", \
             \"wed\", \"thu\", \"fri\"], from = \"08:30\", to = \"11:30\"",
        );
    }
    for (i, s) in cal.sessions.iter().enumerate() {
        let at = |key: &str| format!("calendar.session[{i}].{key}");
        if s.days.is_empty() {
            ck.error(
                at("days"),
                "days must list at least one weekday: mon, tue, wed, thu, fri, sat, sun",
            );
        }
        let distinct: BTreeSet<Weekday> = s.days.iter().copied().collect();
        if distinct.len() != s.days.len() {
            ck.error(at("days"), "a weekday is listed twice; list each day once");
        }
        if s.from >= s.to {
            ck.error(
                at("to"),
                format!(
                    "session {}–{} is empty or reversed; from must be before to, within one day \
                     (to = \"24:00\" ends at midnight)",
                    s.from, s.to
                ),
            );
        } else {
            let length = u32::from(s.to.minutes() - s.from.minutes());
            if cal.issue_cutoff_minutes < ISSUE_CUTOFF_LIMIT && cal.issue_cutoff_minutes >= length {
                ck.error(
                    "calendar.issue_cutoff_minutes",
                    format!(
                        "issue_cutoff_minutes {} leaves no time to issue tickets in session[{i}] ({}–{}, {length} \
                         minutes); it must be shorter than every session",
                        cal.issue_cutoff_minutes, s.from, s.to
                    ),
                );
            }
        }
    }
    let mut reported: HashSet<(usize, usize)> = HashSet::new();
    for day in ALL_DAYS {
        let spans: Vec<(usize, TimeOfDay, TimeOfDay)> = cal
            .sessions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.from < s.to && s.days.contains(&day))
            .map(|(i, s)| (i, s.from, s.to))
            .collect();
        for (a, b) in overlapping_pairs(&spans) {
            let (ia, fa, ta) = spans[a];
            let (ib, fb, tb) = spans[b];
            if reported.insert((ia, ib)) {
                ck.error(
                    format!("calendar.session[{ib}].from"),
                    format!(
                        "on {} this session ({fb}–{tb}) overlaps session[{ia}] ({fa}–{ta}); sessions of the same \
                         day must not overlap (one may start when another ends)",
                        day_name(day)
                    ),
                );
            }
        }
    }
}

fn holiday_end(h: &HolidayConfig) -> NaiveDate {
    h.to.unwrap_or(h.from)
}

fn check_holidays(cal: &CalendarConfig, ck: &mut Checker<'_>) {
    for (i, h) in cal.holidays.iter().enumerate() {
        check_name(
            ck,
            format!("calendar.holiday[{i}].name"),
            &h.name,
            MAX_NAME_CHARS,
        );
        let end = holiday_end(h);
        if end < h.from {
            ck.error(
                format!("calendar.holiday[{i}].to"),
                format!(
                    "to {end} is before from {}; to is the holiday's last day (inclusive), on or after from",
                    h.from
                ),
            );
            continue;
        }
        let days = (end - h.from).num_days() + 1;
        if days > HOLIDAY_MAX_DAYS {
            ck.error(
                format!("calendar.holiday[{i}].to"),
                format!("the holiday lasts {days} days; at most {HOLIDAY_MAX_DAYS} are allowed (check the year)"),
            );
        }
        for (j, other) in cal.holidays.iter().enumerate().take(i) {
            let other_end = holiday_end(other);
            if other.from <= end && h.from <= other_end {
                ck.error(
                    format!("calendar.holiday[{i}].from"),
                    format!(
                        "{}–{end} overlaps holiday[{j}] ({}, {}–{other_end}); each day may belong to one holiday only",
                        h.from, other.name, other.from
                    ),
                );
                break;
            }
        }
    }
}

fn check_makeup_workdays(cal: &CalendarConfig, ck: &mut Checker<'_>) {
    let mut seen: HashMap<NaiveDate, usize> = HashMap::new();
    for (i, m) in cal.makeup_workdays.iter().enumerate() {
        let at = |key: &str| format!("calendar.makeup_workday[{i}].{key}");
        if let Some((j, h)) = cal
            .holidays
            .iter()
            .enumerate()
            .find(|(_, h)| h.from <= m.date && m.date <= holiday_end(h))
        {
            ck.error(
                at("date"),
                format!(
                    "{} is also inside holiday[{j}] ({}, {}–{}); a make-up workday (调休) cannot be a holiday",
                    m.date,
                    h.name,
                    h.from,
                    holiday_end(h)
                ),
            );
        }
        let weekday = weekday_of(m.date);
        if !matches!(weekday, Weekday::Sat | Weekday::Sun) {
            ck.error(
                at("date"),
                format!(
                    "{} is a {}; a make-up workday (调休) is a Saturday or Sunday worked as a weekday — check the date",
                    m.date,
                    day_name(weekday)
                ),
            );
        }
        if let Some(&j) = seen.get(&m.date) {
            ck.error(
                at("date"),
                format!(
                    "{} is already listed as makeup_workday[{j}]; list each date once",
                    m.date
                ),
            );
        } else {
            seen.insert(m.date, i);
        }
        if !cal.sessions.iter().any(|s| s.days.contains(&m.as_weekday)) {
            let day = day_name(m.as_weekday);
            ck.error(
                at("as"),
                format!(
                    "as = \"{day}\" but no [[calendar.session]] runs on {day}, so the day would have no hours; \
                     name a weekday that has sessions (usually the day it stands in for)"
                ),
            );
        }
    }
}

/// Longest wait target a service may promise.
pub const TARGET_WAIT_MINUTES_MAX: u32 = 480;

/// Most wait thresholds `[stats] wait_thresholds_minutes` may list.
pub const STATS_WAIT_THRESHOLDS_MAX: usize = 8;

/// Shortest alert limit (`[alerts]` idle and pause minutes): 3 s.
pub const ALERT_MINUTES_MIN: f64 = 0.05;
/// Longest alert limit (`[alerts]` idle and pause minutes): 8 h.
pub const ALERT_MINUTES_MAX: f64 = 480.0;
/// Longest `[alerts] early_lunch_minutes`.
pub const EARLY_LUNCH_MINUTES_MAX: f64 = 240.0;

fn check_alerts(c: &HallConfig, ck: &mut Checker<'_>) {
    let a = &c.alerts;
    let p = &a.pause_minutes;
    let limits = [
        ("alerts.idle_minutes", a.idle_minutes, "a window idle"),
        ("alerts.pause_minutes.lunch", p.lunch, "a lunch pause"),
        ("alerts.pause_minutes.break", p.break_, "a break"),
        (
            "alerts.pause_minutes.out_of_supplies",
            p.out_of_supplies,
            "a pause for supplies",
        ),
        (
            "alerts.pause_minutes.meeting",
            p.meeting,
            "a pause for a meeting",
        ),
    ];
    for (field, m, what) in limits {
        if !(ALERT_MINUTES_MIN..=ALERT_MINUTES_MAX).contains(&m) {
            ck.error(
                field,
                format!(
                    "{m} is out of range; {what} may last {ALERT_MINUTES_MIN}–{ALERT_MINUTES_MAX} minutes \
                     before an alert (fractions allowed: 0.5 = 30 s)"
                ),
            );
        }
    }
    if !(0.0..=EARLY_LUNCH_MINUTES_MAX).contains(&a.early_lunch_minutes) {
        ck.error(
            "alerts.early_lunch_minutes",
            format!(
                "{} is out of range; a lunch pause this many minutes before the session ends \
                 is an early lunch: 0–{EARLY_LUNCH_MINUTES_MAX}",
                a.early_lunch_minutes
            ),
        );
    }
}

fn check_stats(c: &HallConfig, ck: &mut Checker<'_>) {
    let s = &c.stats;
    let t = &s.wait_thresholds_minutes;
    if t.len() > STATS_WAIT_THRESHOLDS_MAX {
        ck.error(
            "stats.wait_thresholds_minutes",
            format!(
                "{} thresholds given; at most {STATS_WAIT_THRESHOLDS_MAX} (e.g. [15, 30])",
                t.len()
            ),
        );
    }
    for (i, m) in t.iter().enumerate() {
        if !(1..=TARGET_WAIT_MINUTES_MAX).contains(m) {
            ck.error(
                "stats.wait_thresholds_minutes",
                format!(
                    "threshold {m} (item {}) is out of range; each is 1–{TARGET_WAIT_MINUTES_MAX} minutes",
                    i + 1
                ),
            );
        } else if i > 0 && t[i - 1] >= *m {
            ck.error(
                "stats.wait_thresholds_minutes",
                format!(
                    "thresholds must be strictly ascending, but {} is followed by {m} (e.g. [15, 30])",
                    t[i - 1]
                ),
            );
        }
    }
    if !(1..=60).contains(&s.followup_days) {
        ck.error(
            "stats.followup_days",
            format!(
                "{} is out of range; a negative rating is followed up within 1–60 working days",
                s.followup_days
            ),
        );
    }
    if !(1..=10_000).contains(&s.ranking_min_rated) {
        ck.error(
            "stats.ranking_min_rated",
            format!(
                "{} is out of range; rankings need 1–10000 rated visits per window or person",
                s.ranking_min_rated
            ),
        );
    }
}

/// Shortest `[backup] every_minutes` (3 s, for drills and tests).
pub const BACKUP_EVERY_MINUTES_MIN: f64 = 0.05;
/// Longest `[backup] every_minutes` (a day).
pub const BACKUP_EVERY_MINUTES_MAX: f64 = 1440.0;
/// Most `[backup] at` times, and most sets `keep` may keep.
pub const BACKUP_AT_MAX: usize = 48;
pub const BACKUP_KEEP_MAX: u32 = 1000;

fn check_backup(c: &HallConfig, ck: &mut Checker<'_>) {
    let Some(b) = &c.backup else {
        return;
    };
    for (key, dir) in [
        ("dir", Some(&b.dir)),
        ("offsite_dir", b.offsite_dir.as_ref()),
    ] {
        if let Some(d) = dir
            && (d.trim().is_empty() || d.contains('\0'))
        {
            ck.error(
                format!("backup.{key}"),
                "must name a directory (absolute, or relative to the data directory)",
            );
        }
    }
    match (b.at.is_empty(), b.every_minutes) {
        (true, None) => ck.error(
            "backup",
            "say when to back up: at = [\"12:30\", \"21:00\"] (local times) or every_minutes = 60",
        ),
        (false, Some(_)) => ck.error(
            "backup.every_minutes",
            "give either at = [...] or every_minutes, not both",
        ),
        _ => {}
    }
    if let Some(m) = b.every_minutes
        && !(BACKUP_EVERY_MINUTES_MIN..=BACKUP_EVERY_MINUTES_MAX).contains(&m)
    {
        ck.error(
            "backup.every_minutes",
            format!(
                "{m} is out of range; every {BACKUP_EVERY_MINUTES_MIN}–{BACKUP_EVERY_MINUTES_MAX} minutes \
                 (fractions allowed: 0.5 = 30 s)"
            ),
        );
    }
    if b.at.len() > BACKUP_AT_MAX {
        ck.error(
            "backup.at",
            format!("{} times given; at most {BACKUP_AT_MAX}", b.at.len()),
        );
    }
    for (i, t) in b.at.iter().enumerate() {
        if *t == TimeOfDay::END_OF_DAY {
            ck.error(
                format!("backup.at[{i}]"),
                "24:00 is not a time of day to back up at; write 00:00",
            );
        } else if b.at[..i].contains(t) {
            ck.error(format!("backup.at[{i}]"), format!("{t} is listed twice"));
        }
    }
    if !(1..=BACKUP_KEEP_MAX).contains(&b.keep) {
        ck.error(
            "backup.keep",
            format!(
                "{} is out of range; keep 1–{BACKUP_KEEP_MAX} backup sets (default 14)",
                b.keep
            ),
        );
    }
}

/// Longest `[evaluation_push] url`.
pub const PUSH_URL_CHARS_MAX: usize = 2048;

fn check_evaluation_push(c: &HallConfig, ck: &mut Checker<'_>) {
    let Some(p) = &c.evaluation_push else {
        return;
    };
    if let Err(why) = check_push_url(&p.url) {
        ck.error("evaluation_push.url", why);
    }
    if !(1..=300).contains(&p.timeout_seconds) {
        ck.error(
            "evaluation_push.timeout_seconds",
            format!(
                "{} is out of range; one attempt may take 1–300 seconds (default 10)",
                p.timeout_seconds
            ),
        );
    }
    for (key, file) in [("token_file", &p.token_file), ("ca_file", &p.ca_file)] {
        if let Some(f) = file
            && (f.trim().is_empty() || f.contains('\0'))
        {
            ck.error(
                format!("evaluation_push.{key}"),
                "must name a file (a path, absolute or relative to this configuration file)",
            );
        }
    }
    if let Some(code) = &p.hall_code
        && !is_hall_code(code)
    {
        ck.error(
            "evaluation_push.hall_code",
            format!(
                "{code:?} is not allowed; 1–64 of A–Z a–z 0–9 . _ - (it goes into the Idempotency-Key header)"
            ),
        );
    }
}

/// `[evaluation_push] hall_code`: 1–64 of `A–Z a–z 0–9 . _ -`.
pub fn is_hall_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `[evaluation_push] url`: `https://` or `http://`, a host with an optional
/// port, then an optional path and query of visible ASCII; no user name or
/// password (a secret in a URL ends up in logs — use `token_file`), no fragment.
pub fn check_push_url(url: &str) -> Result<(), String> {
    if url.chars().count() > PUSH_URL_CHARS_MAX {
        return Err(format!(
            "the address is {} characters; at most {PUSH_URL_CHARS_MAX}",
            url.chars().count()
        ));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            format!(
                "{url:?} must start with https:// or http:// (e.g. \"https://hcp.example.gov.cn/api/evaluations\")"
            )
        })?;
    if let Some(bad) = rest.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "{url:?} contains {bad:?}; write the address with visible ASCII only (percent-encode the rest)"
        ));
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err(format!(
            "{url:?} carries a user name or password; put the token in token_file instead"
        ));
    }
    if !is_host_port(authority) {
        return Err(format!(
            "{url:?}: {authority:?} is not a host name or address with an optional port 1–65535"
        ));
    }
    if tail.contains('#') {
        return Err(format!(
            "{url:?} has a fragment (#…), which is never sent to a server; remove it"
        ));
    }
    Ok(())
}

fn check_notices(c: &HallConfig, ck: &mut Checker<'_>) {
    for (i, n) in c.notices.iter().enumerate() {
        let at = |key: &str| format!("notice[{i}].{key}");
        let chars = n.text.chars().count();
        if n.text.trim().is_empty() {
            ck.error(
                at("text"),
                format!("text must not be empty: it is shown on the big screens (1–{MAX_NOTICE_CHARS} characters)"),
            );
        } else if chars > MAX_NOTICE_CHARS {
            ck.error(
                at("text"),
                format!("text is {chars} characters long; at most {MAX_NOTICE_CHARS} fit a screen's notice panel"),
            );
        }
        if n.text_en.chars().count() > 2 * MAX_NOTICE_CHARS {
            ck.error(
                at("text_en"),
                format!(
                    "text_en is too long; at most {} characters",
                    2 * MAX_NOTICE_CHARS
                ),
            );
        }
        if let (Some(from), Some(to)) = (n.from, n.to)
            && from > to
        {
            ck.error(
                at("to"),
                format!(
                    "notice runs {from} → {to}, which is reversed; from must be on or before to"
                ),
            );
        }
        for (j, z) in n.zones.iter().enumerate() {
            if !c.zones.iter().any(|x| x.id == *z) {
                let known: Vec<&str> = c.zones.iter().map(|z| z.id.as_str()).collect();
                ck.error(
                    format!("notice[{i}].zones[{j}]"),
                    format!("unknown zone {z:?}; the zones are {}", known.join(", ")),
                );
            }
        }
    }
}

fn check_closures(cal: &CalendarConfig, ck: &mut Checker<'_>) {
    for (i, cl) in cal.closures.iter().enumerate() {
        let at = |key: &str| format!("calendar.closure[{i}].{key}");
        if cl.from >= cl.to {
            ck.error(
                at("to"),
                format!(
                    "closure {} → {} is empty or reversed; from must be before to",
                    cl.from, cl.to
                ),
            );
        }
        let n = cl.notice.chars().count();
        if cl.notice.trim().is_empty() {
            ck.error(
                at("notice"),
                format!("notice must not be empty: it is shown on the hall boards (1–{MAX_NOTICE_CHARS} characters)"),
            );
        } else if n > MAX_NOTICE_CHARS {
            ck.error(
                at("notice"),
                format!(
                    "notice is {n} characters long; at most {MAX_NOTICE_CHARS} fit the hall boards"
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Buses and devices.

/// The profile a device's `profile = "…"` names: a file name under
/// `firmware-config/profiles/`, with or without `.toml`.
pub(crate) fn find_profile<'p>(
    profiles: &'p BTreeMap<String, Profile>,
    name: &str,
) -> Option<&'p Profile> {
    if name.ends_with(".toml") {
        profiles.get(name)
    } else {
        profiles.get(&format!("{name}.toml"))
    }
}

/// Why `port` cannot be a bus's port, or `None` when it can.
pub(crate) fn port_problem(port: &str) -> Option<String> {
    const HOW: &str = "write the serial device's absolute path, best a stable name such as \
                       \"/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K4Q2L-if00-port0\" (or \"/dev/ttyUSB0\"), \
                       or \"sim\" for the built-in simulator";
    if port.is_empty() {
        Some(format!("port must not be empty; {HOW}"))
    } else if port != SIM_PORT && !port.starts_with('/') {
        Some(format!(
            "port \"{port}\" is neither \"sim\" nor an absolute path; {HOW}"
        ))
    } else {
        None
    }
}

/// Whether devices of `protocol` serve a window (else a zone).
pub(crate) fn serves_window(protocol: Protocol) -> bool {
    match protocol {
        Protocol::ModbusWindowIndicator | Protocol::ModbusKeypad | Protocol::ModbusEvaluator => {
            true
        }
        Protocol::ModbusTextBoard
        | Protocol::OnbonBx5kText
        | Protocol::Syn6288
        | Protocol::Xfs5152 => false,
    }
}

fn is_voice(protocol: Protocol) -> bool {
    matches!(protocol, Protocol::Syn6288 | Protocol::Xfs5152)
}

/// `1–18, 21–32`: sorted numbers as runs (at most 10 runs, then `…`).
fn number_runs(numbers: &BTreeSet<u32>) -> String {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &n in numbers {
        match runs.last_mut() {
            Some((_, last)) if n == *last + 1 => *last = n,
            _ => runs.push((n, n)),
        }
    }
    let mut shown: Vec<String> = runs
        .iter()
        .take(10)
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}–{b}")
            }
        })
        .collect();
    if runs.len() > 10 {
        shown.push("…".into());
    }
    shown.join(", ")
}

fn check_buses(c: &HallConfig, ck: &mut Checker<'_>) {
    if c.buses.len() > MAX_BUSES {
        ck.error(
            format!("bus[{MAX_BUSES}]"),
            format!(
                "{} buses are defined; a hall may drive at most {MAX_BUSES} serial ports and a file with \
                 more is refused — put more devices on each RS-485 line (up to 247 Modbus units each)",
                c.buses.len()
            ),
        );
    }
    for (i, b) in c.buses.iter().enumerate() {
        let at = |key: &str| format!("bus[{i}].{key}");
        check_id(ck, at("name"), &b.name);
        if let Some(problem) = port_problem(&b.port) {
            ck.error(at("port"), problem);
        }
        if !BAUD_RATES.contains(&b.baud) {
            let allowed = BAUD_RATES.map(|r| r.to_string()).join(", ");
            ck.error(
                at("baud"),
                format!(
                    "baud {} is not supported; allowed: {allowed} (window indicators, keypads and voice \
                     chips usually run at 9600)",
                    b.baud
                ),
            );
        }
        if !matches!(b.stop_bits, 1 | 2) {
            ck.error(
                at("stop_bits"),
                format!("stop_bits {} is not allowed; write 1 or 2", b.stop_bits),
            );
        }
        if !(TIMEOUT_MS_MIN..=TIMEOUT_MS_MAX).contains(&b.timeout_ms) {
            ck.error(
                at("timeout_ms"),
                format!(
                    "timeout_ms {} is out of range; a request waits {TIMEOUT_MS_MIN}–{TIMEOUT_MS_MAX} ms for \
                     its reply (default 150)",
                    b.timeout_ms
                ),
            );
        }
        if let Some(gap) = b.gap_ms
            && gap > GAP_MS_MAX
        {
            ck.error(
                at("gap_ms"),
                format!(
                    "gap_ms {gap} is out of range; allowed 0–{GAP_MS_MAX} ms of silence between frames, or \
                     leave it out for 3.5 character times (Modbus RTU)"
                ),
            );
        }
        if !(1..=OFFLINE_AFTER_MAX).contains(&b.offline_after) {
            ck.error(
                at("offline_after"),
                format!(
                    "offline_after {} is out of range; allowed 1–{OFFLINE_AFTER_MAX} failed requests in a row \
                     before a device counts as offline",
                    b.offline_after
                ),
            );
        }
        if b.wire_speed && b.port != SIM_PORT {
            ck.error(
                at("wire_speed"),
                "wire_speed = true is allowed only with port = \"sim\": it makes the simulator pace bytes at \
                 the baud rate, while a real port always runs at wire speed; remove it",
            );
        }
    }
    check_unique(
        ck,
        "bus",
        "name",
        c.buses.iter().map(|b| b.name.as_str()),
        "each bus needs its own name (devices name their bus)",
    );
    check_unique(
        ck,
        "bus",
        "port",
        c.buses.iter().map(|b| {
            if b.port == SIM_PORT {
                ""
            } else {
                b.port.as_str()
            }
        }),
        "one serial port is one bus, mastered by one task: put all devices of that RS-485 line on one \
         [[bus]] (only \"sim\" may repeat)",
    );
}

fn check_devices(c: &HallConfig, profiles: &BTreeMap<String, Profile>, ck: &mut Checker<'_>) {
    if c.devices.len() > MAX_DEVICES {
        ck.error(
            format!("device[{MAX_DEVICES}]"),
            format!(
                "{} devices are defined; a hall may have at most {MAX_DEVICES} and a file with more is refused",
                c.devices.len()
            ),
        );
    }
    let buses: HashSet<&str> = c.buses.iter().map(|b| b.name.as_str()).collect();
    let protocols: Vec<Option<Protocol>> = c
        .devices
        .iter()
        .map(|d| find_profile(profiles, &d.profile).map(Profile::protocol))
        .collect();
    for (i, d) in c.devices.iter().enumerate() {
        if !buses.contains(d.bus.as_str()) {
            let known = known(&d.bus, c.buses.iter().map(|b| b.name.as_str()));
            ck.error(
                format!("device[{i}].bus"),
                format!(
                    "bus \"{}\" is not defined; use the name of a [[bus]] ({known})",
                    d.bus
                ),
            );
        }
        match protocols[i] {
            Some(protocol) => {
                check_device_target(ck, c, i, d, protocol);
                check_device_unit(ck, i, d, protocol);
            }
            None => {
                let wanted = d.profile.trim_end_matches(".toml");
                let known = known(wanted, profiles.keys().map(|k| k.trim_end_matches(".toml")));
                ck.error(
                    format!("device[{i}].profile"),
                    format!(
                        "profile \"{}\" is not a built-in profile; name a file of firmware-config/profiles/, \
                         with or without .toml ({known})",
                        d.profile
                    ),
                );
                if d.window.is_some() == d.zone.is_some() {
                    ck.error(
                        format!("device[{i}]"),
                        "a device serves exactly one window (window = N) or one zone (zone = \"…\")",
                    );
                }
            }
        }
    }
    check_device_sharing(c, &protocols, ck);
}

/// `profile "generic-keypad" (protocol modbus-keypad)`.
fn profile_is(d: &DeviceConfig, protocol: Protocol) -> String {
    format!("profile \"{}\" (protocol {protocol})", d.profile)
}

/// Exactly one of window / zone, the right one for the protocol, and defined.
fn check_device_target(
    ck: &mut Checker<'_>,
    c: &HallConfig,
    i: usize,
    d: &DeviceConfig,
    protocol: Protocol,
) {
    let at = |key: &str| format!("device[{i}].{key}");
    let what = profile_is(d, protocol);
    if serves_window(protocol) {
        if d.zone.is_some() {
            let fix = if d.window.is_some() {
                "remove zone"
            } else {
                "write window = N (the number of a [[window]]) instead of zone"
            };
            ck.error(
                at("zone"),
                format!("{what} serves one window, not a zone; {fix} — a device serves exactly one window or one zone"),
            );
        }
        match d.window {
            None if d.zone.is_none() => ck.error(
                at("window"),
                format!("{what} serves one window; add window = N (the number of a [[window]])"),
            ),
            Some(n) if !c.windows.iter().any(|w| w.number == n) => {
                let numbers: BTreeSet<u32> = c.windows.iter().map(|w| w.number).collect();
                ck.error(
                    at("window"),
                    format!(
                        "window {n} is not defined; use the number of a [[window]] (windows: {})",
                        number_runs(&numbers)
                    ),
                );
            }
            _ => {}
        }
    } else {
        if d.window.is_some() {
            let fix = if d.zone.is_some() {
                "remove window"
            } else {
                "write zone = \"…\" (the id of a [[zone]]) instead of window"
            };
            ck.error(
                at("window"),
                format!("{what} serves a zone, not a window; {fix} — a device serves exactly one window or one zone"),
            );
        }
        match &d.zone {
            None if d.window.is_none() => ck.error(
                at("zone"),
                format!("{what} serves a zone; add zone = \"…\" (the id of a [[zone]])"),
            ),
            Some(z) if !c.zones.iter().any(|x| x.id == *z) => {
                let known = known(z, c.zones.iter().map(|x| x.id.as_str()));
                ck.error(
                    at("zone"),
                    format!("zone \"{z}\" is not defined; use the id of a [[zone]] ({known})"),
                );
            }
            _ => {}
        }
    }
}

/// A Modbus device needs its address 1–247; the others have none.
fn check_device_unit(ck: &mut Checker<'_>, i: usize, d: &DeviceConfig, protocol: Protocol) {
    let field = format!("device[{i}].unit");
    let what = profile_is(d, protocol);
    match (protocol.is_modbus(), d.unit) {
        (true, None) => ck.error(
            field,
            format!(
                "{what} is a Modbus slave: add unit = 1–{UNIT_MAX}, the address set on the device (unique on its bus)"
            ),
        ),
        (true, Some(unit)) if unit == 0 || unit > UNIT_MAX => ck.error(
            field,
            format!(
                "unit {unit} is out of range; Modbus addresses are 1–{UNIT_MAX} (0 is broadcast, which no device answers)"
            ),
        ),
        (false, Some(_)) => ck.error(
            field,
            format!("{what} has no Modbus address; remove unit (the device must be alone on its bus)"),
        ),
        _ => {}
    }
}

/// Units unique per bus, address-less devices alone on their bus, at most one
/// keypad and one evaluator per window, at most one voice chip per zone.
fn check_device_sharing(c: &HallConfig, protocols: &[Option<Protocol>], ck: &mut Checker<'_>) {
    let mut on_bus: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, d) in c.devices.iter().enumerate() {
        on_bus.entry(d.bus.as_str()).or_default().push(i);
    }
    let mut units: HashMap<(&str, u8), usize> = HashMap::new();
    let mut per_window: HashMap<(u32, Protocol), usize> = HashMap::new();
    let mut voices: HashMap<&str, usize> = HashMap::new();
    for (i, d) in c.devices.iter().enumerate() {
        let Some(protocol) = protocols[i] else {
            continue;
        };
        if protocol.is_modbus()
            && let Some(unit) = d.unit
            && (1..=UNIT_MAX).contains(&unit)
        {
            if let Some(&j) = units.get(&(d.bus.as_str(), unit)) {
                let earlier = ck.at_line(&format!("device[{j}].unit"));
                ck.error(
                    format!("device[{i}].unit"),
                    format!(
                        "unit {unit} is already used on bus \"{}\" by device[{j}]{earlier}; each device on a bus \
                         needs its own address",
                        d.bus
                    ),
                );
            } else {
                units.insert((d.bus.as_str(), unit), i);
            }
        }
        if !protocol.is_modbus() {
            let others: Vec<usize> = on_bus[d.bus.as_str()]
                .iter()
                .copied()
                .filter(|&j| j != i)
                .collect();
            if let Some(&j) = others.first() {
                let earlier = ck.at_line(&format!("device[{j}]"));
                let more = match others.len() {
                    1 => String::new(),
                    n => format!(" and {} more", n - 1),
                };
                ck.error(
                    format!("device[{i}].bus"),
                    format!(
                        "{} has no address, so it must be the only device on its bus; bus \"{}\" also \
                         carries device[{j}]{earlier}{more} — give it a [[bus]] of its own",
                        profile_is(d, protocol),
                        d.bus
                    ),
                );
            }
        }
        if matches!(protocol, Protocol::ModbusKeypad | Protocol::ModbusEvaluator)
            && let Some(window) = d.window
        {
            if let Some(&j) = per_window.get(&(window, protocol)) {
                let earlier = ck.at_line(&format!("device[{j}]"));
                let (kind, why) = if protocol == Protocol::ModbusKeypad {
                    ("a keypad", "its keys act for the staff signed in there")
                } else {
                    (
                        "an evaluator",
                        "each rating belongs to the ticket just finished there",
                    )
                };
                ck.error(
                    format!("device[{i}].window"),
                    format!(
                        "window {window} already has {kind}: device[{j}]{earlier}; a window has at most one \
                         ({why})"
                    ),
                );
            } else {
                per_window.insert((window, protocol), i);
            }
        }
        if is_voice(protocol)
            && let Some(zone) = d.zone.as_deref()
        {
            if let Some(&j) = voices.get(zone) {
                let earlier = ck.at_line(&format!("device[{j}]"));
                ck.error(
                    format!("device[{i}].zone"),
                    format!(
                        "zone \"{zone}\" already has a voice chip: device[{j}]{earlier}; a zone has at most one, \
                         so its calls are spoken in order and never over each other"
                    ),
                );
            } else {
                voices.insert(zone, i);
            }
        }
    }
}

#[cfg(test)]
mod public_url_tests {
    use super::*;

    #[test]
    fn public_urls() {
        for ok in [
            "https://hall.example.gov.cn",
            "https://hall.example.gov.cn/",
            "http://192.168.1.10:8080",
            "http://[fe80::1]:8080",
            "http://localhost",
        ] {
            assert_eq!(check_public_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "hall.example.gov.cn",
            "ftp://hall.example.gov.cn",
            "https://",
            "https://hall.example.gov.cn/t/",
            "https://hall.example.gov.cn?x=1",
            "https://user@hall.example.gov.cn",
            "https://hall.example.gov.cn:0",
            "https://hall.example.gov.cn:99999",
            "https://hall example.gov.cn",
            "https://-bad.gov.cn",
            "https://[zz]",
        ] {
            assert!(check_public_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bad_public_url_is_reported_with_its_field() {
        use crate::config::{Config, DEMO_HALL_TOML};
        let with = |url: &str| format!("{DEMO_HALL_TOML}\n[server]\npublic_url = \"{url}\"\n");
        let good = Config::from_toml_str("hall.toml", &with("https://hall.example.gov.cn"))
            .expect("a good public_url");
        assert_eq!(
            good.file.server.public_url.as_deref(),
            Some("https://hall.example.gov.cn")
        );
        let errors = Config::from_toml_str("hall.toml", &with("https://hall.example.gov.cn/t/1"))
            .expect_err("a path is refused")
            .0;
        let e = errors
            .iter()
            .find(|e| e.field == "server.public_url")
            .unwrap_or_else(|| panic!("{errors:?}"));
        assert!(e.line.is_some(), "{e:?}");
        assert!(e.message.contains("no path"), "{e:?}");
    }
}
