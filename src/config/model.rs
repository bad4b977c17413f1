//! The hall configuration as written in TOML: plain serde types, no logic.
//!
//! Field names here are the TOML keys. Every table refuses unknown keys so a
//! typo is an error with a line number, not a silently ignored setting.
//! Semantic checks live in `validate.rs`; the checked, indexed form the rest
//! of hallq uses is [`super::Config`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::time::{LocalDateTime, TimeOfDay};

/// The whole configuration file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HallConfig {
    pub hall: HallSection,
    #[serde(default, rename = "zone")]
    pub zones: Vec<ZoneConfig>,
    #[serde(default, rename = "department")]
    pub departments: Vec<DepartmentConfig>,
    #[serde(default, rename = "service")]
    pub services: Vec<ServiceConfig>,
    #[serde(default, rename = "window")]
    pub windows: Vec<WindowConfig>,
    #[serde(default)]
    pub staff: Vec<StaffConfig>,
    #[serde(default)]
    pub priority: Vec<PriorityConfig>,
    #[serde(default)]
    pub routing: RoutingConfig,
    #[serde(default)]
    pub calendar: CalendarConfig,
    /// Keys for kiosks and display screens (stored here only as hashes).
    #[serde(default, rename = "api_key")]
    pub api_keys: Vec<ApiKeyConfig>,
    #[serde(default)]
    pub server: ServerConfig,
    /// RS-485 buses (serial ports) the hall's devices hang on.
    #[serde(default, rename = "bus")]
    pub buses: Vec<BusConfig>,
    /// Window indicators, boards, voice chips, keypads and evaluators.
    #[serde(default, rename = "device")]
    pub devices: Vec<DeviceConfig>,
    /// Notices and disclosure items for the screens (政务公开).
    #[serde(default, rename = "notice")]
    pub notices: Vec<NoticeConfig>,
    /// How the statistics are computed (`hallq report`, `/api/v1/stats`).
    #[serde(default)]
    pub stats: StatsConfig,
    /// Push each 好差评 rating to the provincial platform (absent: no push;
    /// the evaluations export still lists every rating).
    #[serde(default)]
    pub evaluation_push: Option<EvaluationPushConfig>,
    /// When the manager's alerts are raised (idle windows, long pauses,
    /// early lunch); the long-wait limit is each service's `target_wait_minutes`.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// Scheduled online backups by `hallq serve` (absent: none; see
    /// `src/daemon/backups.rs` and the README's "Backups and restore").
    #[serde(default)]
    pub backup: Option<BackupConfig>,
}

/// `[backup]`: where and when `hallq serve` takes backup sets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// Where the sets go: absolute, or relative to the data directory.
    pub dir: String,
    /// A second copy of each set (e.g. a mounted share); a failure there is
    /// logged, never fatal. Absolute, or relative to the data directory.
    #[serde(default)]
    pub offsite_dir: Option<String>,
    /// Local times of day (the hall's time zone), e.g. `["12:30", "21:00"]`.
    #[serde(default)]
    pub at: Vec<TimeOfDay>,
    /// Or every this many minutes (0.05–1440; fractions allowed: 0.5 = 30 s).
    #[serde(default)]
    pub every_minutes: Option<f64>,
    /// How many sets to keep in each directory (1–1000, default 14).
    #[serde(default = "default_backup_keep")]
    pub keep: u32,
}

fn default_backup_keep() -> u32 {
    14
}

/// `[alerts]`: limits of the manager's alerts, in minutes (fractions
/// allowed: 0.5 = 30 s). Going over a limit warns; over twice it, alarms.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// A staffed, open, unpaused window idle this long while people it could
    /// serve wait (0.05–480).
    #[serde(default = "default_alert_idle_minutes")]
    pub idle_minutes: f64,
    /// How long a pause may last, per reason (0.05–480 each).
    #[serde(default)]
    pub pause_minutes: PauseMinutesConfig,
    /// A lunch pause that begins more than this before the open session's
    /// end is an early lunch (0–240).
    #[serde(default = "default_early_lunch_minutes")]
    pub early_lunch_minutes: f64,
}

fn default_alert_idle_minutes() -> f64 {
    3.0
}

fn default_early_lunch_minutes() -> f64 {
    15.0
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            idle_minutes: default_alert_idle_minutes(),
            pause_minutes: PauseMinutesConfig::default(),
            early_lunch_minutes: default_early_lunch_minutes(),
        }
    }
}

/// `[alerts] pause_minutes`: the longest pause each reason allows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PauseMinutesConfig {
    /// 120 by default: a hall's 90-minute lunch plus the quarter hour before
    /// it that does not count as an early lunch, and some margin.
    #[serde(default = "default_pause_lunch")]
    pub lunch: f64,
    #[serde(rename = "break", default = "default_pause_break")]
    pub break_: f64,
    #[serde(default = "default_pause_out_of_supplies")]
    pub out_of_supplies: f64,
    #[serde(default = "default_pause_meeting")]
    pub meeting: f64,
}

fn default_pause_lunch() -> f64 {
    120.0
}

fn default_pause_break() -> f64 {
    15.0
}

fn default_pause_out_of_supplies() -> f64 {
    30.0
}

fn default_pause_meeting() -> f64 {
    60.0
}

impl Default for PauseMinutesConfig {
    fn default() -> Self {
        PauseMinutesConfig {
            lunch: default_pause_lunch(),
            break_: default_pause_break(),
            out_of_supplies: default_pause_out_of_supplies(),
            meeting: default_pause_meeting(),
        }
    }
}

/// `[evaluation_push]`: where the outbox sends ratings (`src/daemon/outbox.rs`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvaluationPushConfig {
    /// The receiver: `https://…` (or `http://…` on the hall's own network),
    /// each rating is a JSON POST to exactly this address.
    pub url: String,
    /// A file holding the bearer token (read once at start, never logged);
    /// relative to the configuration file's directory.
    #[serde(default)]
    pub token_file: Option<String>,
    /// How long one attempt may take, 1–300 seconds.
    #[serde(default = "default_push_timeout")]
    pub timeout_seconds: u32,
    /// PEM file of the CA(s) that signed the receiver's certificate (a
    /// government CA not in the public roots); relative like `token_file`.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// The hall's code in the `Idempotency-Key` (`hallq-<hall_code>-<id>`):
    /// 1–64 of `A–Z a–z 0–9 . _ -`. Default: derived from the hall's name.
    #[serde(default)]
    pub hall_code: Option<String>,
}

fn default_push_timeout() -> u32 {
    10
}

/// `[stats]`: thresholds of the statistics.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StatsConfig {
    /// Waits are also reported as the share served within each of these
    /// minutes (1–480, strictly ascending), beside each service's own target.
    #[serde(default = "default_wait_thresholds")]
    pub wait_thresholds_minutes: Vec<u32>,
    /// A negative rating (差评) must be followed up within this many working
    /// days of the hall calendar (1–60).
    #[serde(default = "default_followup_days")]
    pub followup_days: u32,
    /// 红旗窗口 / 服务明星 rank only windows and staff with at least this
    /// many rated visits in the period (1–10000).
    #[serde(default = "default_ranking_min_rated")]
    pub ranking_min_rated: u32,
}

fn default_ranking_min_rated() -> u32 {
    20
}

fn default_wait_thresholds() -> Vec<u32> {
    vec![15, 30]
}

fn default_followup_days() -> u32 {
    5
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig {
            wait_thresholds_minutes: default_wait_thresholds(),
            followup_days: default_followup_days(),
            ranking_min_rated: default_ranking_min_rated(),
        }
    }
}

/// What a notice is, for the screens' notice panel.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// 通知: relocation, new rules, a service moved…
    #[default]
    Notice,
    /// 公开: standing disclosure items (complaint phone, supervision…).
    Disclosure,
}

/// A notice shown on the big screens between its dates (both inclusive,
/// the hall's local calendar; open-ended when absent).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NoticeConfig {
    #[serde(default)]
    pub kind: NoticeKind,
    pub text: String,
    #[serde(default)]
    pub text_en: String,
    #[serde(default)]
    pub from: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub to: Option<chrono::NaiveDate>,
    /// Zones whose screens show it; empty = every zone.
    #[serde(default)]
    pub zones: Vec<String>,
}

/// The port name that makes a bus use the built-in simulator.
pub const SIM_PORT: &str = "sim";

/// Serial parity.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum Parity {
    #[default]
    None,
    Even,
    Odd,
}

/// One RS-485 bus: a serial port that hallq masters alone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BusConfig {
    pub name: String,
    /// A device path (`/dev/ttyUSB0`, `/dev/serial/by-id/...`), or `"sim"`.
    pub port: String,
    #[serde(default = "default_baud")]
    pub baud: u32,
    #[serde(default)]
    pub parity: Parity,
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    /// How long one request waits for its reply.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
    /// Silence kept between frames; absent = 3.5 character times at `baud`
    /// (at least 1.75 ms), as Modbus RTU requires.
    #[serde(default)]
    pub gap_ms: Option<u32>,
    /// Consecutive failures after which a device counts as offline.
    #[serde(default = "default_offline_after")]
    pub offline_after: u32,
    /// Simulator only: pace bytes at `baud` and enforce half duplex.
    #[serde(default)]
    pub wire_speed: bool,
}

fn default_baud() -> u32 {
    9600
}
fn default_stop_bits() -> u8 {
    1
}
fn default_timeout_ms() -> u32 {
    150
}
fn default_offline_after() -> u32 {
    3
}

/// One device on a bus, and what it serves: a window or a zone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    pub bus: String,
    /// Modbus address 1–247; absent for address-less devices (TTS chips, BX-5K).
    #[serde(default)]
    pub unit: Option<u8>,
    /// A profile file name under `firmware-config/profiles/` (`.toml` optional).
    pub profile: String,
    #[serde(default)]
    pub window: Option<u32>,
    #[serde(default)]
    pub zone: Option<String>,
}

/// What a machine key may do.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyRole {
    /// Issues tickets, reads public ticket status.
    Kiosk,
    /// Reads the hall and its event stream; changes nothing.
    Display,
    /// Scrapes `GET /metrics` (a Prometheus server); nothing else.
    Metrics,
}

/// A kiosk's or screen's key. Only its SHA-256 is stored; generate one
/// with `hallq keygen`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    pub id: String,
    pub role: ApiKeyRole,
    /// Lowercase hex SHA-256 of the key (64 characters).
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// How long a sign-in lasts.
    #[serde(default = "default_session_hours")]
    pub session_hours: u32,
    /// PEM certificate chain and key for HTTPS; both or neither.
    #[serde(default)]
    pub tls_cert: Option<String>,
    #[serde(default)]
    pub tls_key: Option<String>,
    /// Tickets one client address may issue per minute (burst 20).
    #[serde(default = "default_issue_rate")]
    pub issues_per_minute: u32,
    /// Sign-in attempts one client address may make per minute (burst 10).
    #[serde(default = "default_sign_in_rate")]
    pub sign_ins_per_minute: u32,
    /// The address citizens' phones reach the hall at, for the QR code on
    /// the ticket (`https://hall.example.gov.cn`, scheme and host only);
    /// absent = the `Host` the kiosk used, over http.
    #[serde(default)]
    pub public_url: Option<String>,
}

fn default_issue_rate() -> u32 {
    120
}

fn default_sign_in_rate() -> u32 {
    20
}

fn default_session_hours() -> u32 {
    12
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            session_hours: default_session_hours(),
            tls_cert: None,
            tls_key: None,
            issues_per_minute: default_issue_rate(),
            sign_ins_per_minute: default_sign_in_rate(),
            public_url: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HallSection {
    /// Chinese name, e.g. 某某县政务服务中心.
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// IANA time zone; all times in the calendar are local to it.
    #[serde(default = "default_timezone")]
    pub timezone: String,
}

fn default_timezone() -> String {
    "Asia/Shanghai".to_string()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// Floor number as the building labels it (1 = ground floor in China).
    pub floor: i32,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum DepartmentKind {
    Government,
    Bank,
    Utility,
    Intermediary,
    Other,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DepartmentConfig {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default = "default_department_kind")]
    pub kind: DepartmentKind,
}

fn default_department_kind() -> DepartmentKind {
    DepartmentKind::Government
}

/// 事项类型.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum MatterClass {
    Immediate,
    Commitment,
    Joint,
    Assisted,
    Agency,
    ReportUp,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SeriesConfig {
    /// First number issued each business day.
    #[serde(default = "one")]
    pub start: u32,
    /// Last number of the series; its digit count sets the printed width (999 → `A012`).
    #[serde(default = "default_series_end")]
    pub end: u32,
    /// At `end`: false refuses further tickets (`series_exhausted`); true goes
    /// on at `start` in the next cycle, skipping any number still held by a
    /// live ticket (see ARCHITECTURE.md, invariant "numbers are never reused").
    #[serde(default)]
    pub wrap: bool,
}

impl Default for SeriesConfig {
    fn default() -> Self {
        SeriesConfig {
            start: 1,
            end: default_series_end(),
            wrap: false,
        }
    }
}

fn one() -> u32 {
    1
}

fn default_series_end() -> u32 {
    999
}

/// A time window of the day during which tickets may be issued, with its own cap.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IssueWindowConfig {
    pub from: TimeOfDay,
    pub to: TimeOfDay,
    /// Cases that may be issued in this slot each day; absent = no slot cap.
    #[serde(default)]
    pub cap: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    pub department: String,
    /// 1–2 uppercase letters, unique in the hall.
    pub prefix: String,
    #[serde(default)]
    pub series: SeriesConfig,
    /// Cases per business day (a batch ticket of N cases counts N).
    #[serde(default)]
    pub daily_cap: Option<u32>,
    /// Tickets per person (by keyed hash of the id number) per business day.
    #[serde(default)]
    pub per_person_daily_cap: Option<u32>,
    /// When non-empty, tickets are issued only inside these windows.
    #[serde(default)]
    pub issue_windows: Vec<IssueWindowConfig>,
    pub matter_class: MatterClass,
    /// 承诺时限 in working days (commitment matters).
    #[serde(default)]
    pub promised_days: u32,
    /// Expected minutes of service per case, the default for wait estimates.
    pub expected_minutes: u32,
    /// The service a ticket moves to when this step finishes with outcome `done`.
    #[serde(default)]
    pub next_step: Option<String>,
    /// Recalls allowed before a further recall turns the call into a no-show.
    #[serde(default = "default_recall_limit")]
    pub recall_limit: u32,
    /// Most cases one batch ticket may carry.
    #[serde(default = "default_max_cases")]
    pub max_cases: u32,
    /// The wait the hall promises for this service; a longer wait raises an
    /// alert on the dashboard.
    #[serde(default = "default_target_wait")]
    pub target_wait_minutes: u32,
}

fn default_target_wait() -> u32 {
    30
}

fn default_recall_limit() -> u32 {
    2
}

fn default_max_cases() -> u32 {
    10
}

/// 窗口类型.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    Department,
    Comprehensive,
    Fee,
    Agency,
    Pickup,
    Consultation,
    Complaint,
    Fallback,
    Leader,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WindowServiceConfig {
    pub service: String,
    /// Higher weight = this window prefers this service (1–100).
    #[serde(default = "one")]
    pub weight: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// The number on the window and in the announcement (1–9999).
    pub number: u32,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    pub kind: WindowKind,
    #[serde(default)]
    pub department: Option<String>,
    pub zone: String,
    /// Must equal the zone's floor when given.
    #[serde(default)]
    pub floor: Option<i32>,
    #[serde(default)]
    pub services: Vec<WindowServiceConfig>,
    /// Open when the hall starts (a manager may open or close it later).
    #[serde(default = "yes")]
    pub open: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Staff,
    WindowHead,
    Manager,
    Supervisor,
    Admin,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StaffConfig {
    pub account: String,
    /// 工号.
    pub job_number: String,
    pub name: String,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default = "default_roles")]
    pub roles: Vec<Role>,
}

fn default_roles() -> Vec<Role> {
    vec![Role::Staff]
}

/// A priority class (绿色通道, 老弱病残孕, 预约 …).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriorityConfig {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// 1 = lowest priority above ordinary; higher ranks are called first.
    pub rank: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// Starvation bound: an ordinary ticket is passed over by at most this
    /// many priority calls in a row.
    #[serde(default = "default_streak")]
    pub priority_streak_max: u32,
    /// Starvation bound: once passed over, an ordinary ticket is promoted
    /// above priority tickets after this many minutes.
    #[serde(default = "default_extra_wait")]
    pub priority_extra_wait_minutes_max: u32,
    /// A no-show goes back in line behind this many tickets …
    #[serde(default = "default_requeue_after")]
    pub no_show_requeue_after: u32,
    /// … at most this many times (0 = a no-show is final).
    #[serde(default = "one")]
    pub no_show_requeue_max: u32,
}

fn default_streak() -> u32 {
    3
}

fn default_extra_wait() -> u32 {
    20
}

fn default_requeue_after() -> u32 {
    3
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            priority_streak_max: default_streak(),
            priority_extra_wait_minutes_max: default_extra_wait(),
            no_show_requeue_after: default_requeue_after(),
            no_show_requeue_max: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    pub days: Vec<Weekday>,
    pub from: TimeOfDay,
    /// `24:00` ends the session at midnight.
    pub to: TimeOfDay,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HolidayConfig {
    pub from: NaiveDate,
    /// Inclusive; absent = a single day.
    #[serde(default)]
    pub to: Option<NaiveDate>,
    pub name: String,
}

/// 调休: a weekend day worked with the sessions of another weekday.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MakeupWorkdayConfig {
    pub date: NaiveDate,
    #[serde(rename = "as", default = "default_makeup_as")]
    pub as_weekday: Weekday,
}

fn default_makeup_as() -> Weekday {
    Weekday::Mon
}

/// A closure announced on the screens; no sessions run inside it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClosureConfig {
    pub from: LocalDateTime,
    pub to: LocalDateTime,
    pub notice: String,
    #[serde(default)]
    pub notice_en: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    /// Issuing stops this many minutes before a session ends.
    #[serde(default)]
    pub issue_cutoff_minutes: u32,
    /// 延时服务: after a session closes, windows may keep calling tickets already issued.
    #[serde(default = "yes")]
    pub extended_service: bool,
    #[serde(default, rename = "session")]
    pub sessions: Vec<SessionConfig>,
    #[serde(default, rename = "holiday")]
    pub holidays: Vec<HolidayConfig>,
    #[serde(default, rename = "makeup_workday")]
    pub makeup_workdays: Vec<MakeupWorkdayConfig>,
    #[serde(default, rename = "closure")]
    pub closures: Vec<ClosureConfig>,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        CalendarConfig {
            issue_cutoff_minutes: 0,
            extended_service: true,
            sessions: Vec::new(),
            holidays: Vec::new(),
            makeup_workdays: Vec::new(),
            closures: Vec::new(),
        }
    }
}
