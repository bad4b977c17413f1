//! Staffing what-ifs (`hallq simulate`): a day's arrivals — replayed from
//! the journal, or described per service and hour — run under the hall as
//! configured (the baseline) and under another staffing plan, with service
//! times learned from the journal (or the configuration's defaults), many
//! seeded runs each. The answer: predicted waits (issue → first call) per
//! service and hour, median and p90, baseline beside plan.
//!
//! The simulation is the shared driver (`forecast::driver`): virtual staff
//! calling with the real core, so the plan's routing rule, windows and
//! sessions are applied by the hall's own code.
//!
//! A plan file (TOML; every key optional):
//!
//! ```toml
//! name = "教师资格认定高峰日"
//! [routing]                      # replaces these routing settings
//! priority_streak_max = 2
//! [[session]]                    # replaces the day's sessions (a lunch rota, 午间不打烊)
//! from = "08:30"
//! to = "17:00"
//! [[window]]                     # an existing window: opened, staffed, maybe other services
//!                                # (a department window given another department's
//!                                # services counts as comprehensive, 无差别受理)
//! number = 23
//! services = [{ service = "social", weight = 50 }]
//! duty = ["08:30-12:00", "13:00-17:00"]   # when someone sits there (default: the sessions)
//! [[window]]                     # a new window (services and zone needed)
//! number = 30
//! zone = "hall-1f"
//! services = [{ service = "social" }]
//! [[window]]                     # nobody at this window that day
//! number = 5
//! staffed = false
//! ```
//!
//! An arrival pattern file (instead of `--day`):
//!
//! ```toml
//! date = "2026-11-24"
//! [[arrivals]]
//! service = "social"
//! from = "08:30"
//! to = "11:00"
//! per_hour = 40
//! priority = "care"      # optional: this share of them with a priority class
//! priority_share = 0.05
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Duration, NaiveDate, Timelike};
use serde::{Deserialize, Serialize};

use super::driver::{Arrival, Desk, Driver, Flow};
use super::lookahead::ModelBehaviour;
use super::model::Model;
use super::random::{poisson, quantile, unit};
use super::runner::{TRAIN_DAYS, train_from_journal};
use super::staffing::{add_virtual_staff, rebuild, virtual_account};
use crate::config::locate::line_of;
use crate::config::{
    Config, SessionConfig, TimeOfDay, WindowConfig, WindowKind, WindowServiceConfig,
};
use crate::journal::JournalReader;
use crate::queue::calendar::{day_plan, instant, local};
use crate::queue::{Event, Hall, MINUTE_MS, Millis, WindowNo};

/// Most simulated runs per scenario.
pub const RUNS_MAX: usize = 500;
/// Most arrivals of one simulated day.
pub const ARRIVALS_MAX: usize = 50_000;

/// `hallq simulate`'s own flags (`--config` and `--data` are the common ones).
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Replay this recorded day's arrivals from the journal (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with = "arrivals")]
    pub day: Option<String>,
    /// A described arrival pattern (TOML: per service, tickets per hour).
    #[arg(long, value_name = "FILE")]
    pub arrivals: Option<PathBuf>,
    /// The staffing plan to compare with the hall as configured (TOML).
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Seeded runs per scenario.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub routing: Option<RoutingPlan>,
    #[serde(default, rename = "session")]
    pub sessions: Vec<SessionPlan>,
    #[serde(default, rename = "window")]
    pub windows: Vec<WindowPlan>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingPlan {
    pub priority_streak_max: Option<u32>,
    pub priority_extra_wait_minutes_max: Option<u32>,
    pub no_show_requeue_after: Option<u32>,
    pub no_show_requeue_max: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionPlan {
    pub from: TimeOfDay,
    pub to: TimeOfDay,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowPlan {
    pub number: u32,
    #[serde(default)]
    pub services: Option<Vec<WindowServiceConfig>>,
    #[serde(default)]
    pub zone: Option<String>,
    /// `"HH:MM-HH:MM"` intervals when someone sits at the window.
    #[serde(default)]
    pub duty: Option<Vec<String>>,
    #[serde(default)]
    pub staffed: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pattern {
    pub date: Option<NaiveDate>,
    #[serde(default)]
    pub arrivals: Vec<PatternRow>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternRow {
    pub service: String,
    pub from: TimeOfDay,
    pub to: TimeOfDay,
    pub per_hour: f64,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub priority_share: f64,
}

/// Where a day's arrivals come from.
#[derive(Debug, Clone)]
pub enum Arrivals {
    /// Recorded: (local time offset from midnight in ms, arrival).
    Recorded(Vec<(Millis, Arrival)>),
    Pattern(Vec<PatternRow>),
}

/// One staffing scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub config: Arc<Config>,
    pub desks: Vec<Desk>,
}

/// Waits of one (service, hour) cell.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Cell {
    /// Tickets issued in the hour, per run.
    pub tickets: f64,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub service: String,
    pub service_name: String,
    /// Local hour of issue (0–23); `None` for the whole day.
    pub hour: Option<u32>,
    pub baseline: Cell,
    pub plan: Option<Cell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WhatIf {
    pub hall: String,
    pub date: NaiveDate,
    pub runs: usize,
    pub plan: Option<String>,
    /// Tickets never called in a run (the day ended first), per run.
    pub uncalled_baseline: f64,
    pub uncalled_plan: Option<f64>,
    pub rows: Vec<Row>,
}

fn plan_error(file: &str, text: &str, field: &str, message: String) -> anyhow::Error {
    match line_of(text, field) {
        Some(line) => anyhow::anyhow!("{file}:{line}: {field}: {message}"),
        None => anyhow::anyhow!("{file}: {field}: {message}"),
    }
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses and checks a plan against the hall's configuration.
pub fn parse_plan(config: &Config, file: &str, text: &str) -> anyhow::Result<Plan> {
    let plan: Plan =
        toml::from_str(text).map_err(|e| anyhow::anyhow!("{file}: not a valid plan: {e}"))?;
    let services = || list(config.services().iter().map(|s| s.id.as_str()));
    let mut seen = BTreeSet::new();
    for (i, w) in plan.windows.iter().enumerate() {
        let at = |k: &str| format!("window[{i}].{k}");
        if !(1..=9999).contains(&w.number) {
            return Err(plan_error(
                file,
                text,
                &at("number"),
                format!("{} is not a window number; allowed 1–9999", w.number),
            ));
        }
        if !seen.insert(w.number) {
            return Err(plan_error(
                file,
                text,
                &at("number"),
                format!("window {} is planned twice", w.number),
            ));
        }
        let exists = config.window(w.number).is_some();
        if let Some(list) = &w.services {
            for (j, s) in list.iter().enumerate() {
                if config.service(&s.service).is_none() {
                    return Err(plan_error(
                        file,
                        text,
                        &at(&format!("services[{j}].service")),
                        format!(
                            "unknown service \"{}\"; the hall's services are {}",
                            s.service,
                            services()
                        ),
                    ));
                }
                if !(1..=100).contains(&s.weight) {
                    return Err(plan_error(
                        file,
                        text,
                        &at(&format!("services[{j}].weight")),
                        format!("{} is not allowed; a weight is 1–100", s.weight),
                    ));
                }
            }
        }
        if !exists && w.staffed != Some(false) {
            if w.services.as_ref().is_none_or(|s| s.is_empty()) {
                return Err(plan_error(
                    file,
                    text,
                    &at("services"),
                    format!(
                        "window {} is not in the configuration: a new window needs services",
                        w.number
                    ),
                ));
            }
            if let Some(z) = &w.zone
                && config.zone(z).is_none()
            {
                return Err(plan_error(
                    file,
                    text,
                    &at("zone"),
                    format!(
                        "unknown zone \"{z}\"; the hall's zones are {}",
                        list(config.file.zones.iter().map(|z| z.id.as_str()))
                    ),
                ));
            }
        }
        if let Some(duty) = &w.duty {
            for (j, d) in duty.iter().enumerate() {
                parse_interval(d)
                    .map_err(|m| plan_error(file, text, &at(&format!("duty[{j}]")), m))?;
            }
        }
    }
    for (i, s) in plan.sessions.iter().enumerate() {
        if s.from >= s.to {
            return Err(plan_error(
                file,
                text,
                &format!("session[{i}].to"),
                format!(
                    "{} is not after {}; a session ends after it starts",
                    s.to, s.from
                ),
            ));
        }
    }
    Ok(plan)
}

/// `"08:30-11:30"` → (from, to).
fn parse_interval(text: &str) -> Result<(TimeOfDay, TimeOfDay), String> {
    let bad =
        || format!("\"{text}\" is not an interval; write \"HH:MM-HH:MM\", e.g. \"08:30-11:30\"");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let from = TimeOfDay::parse(a.trim()).map_err(|_| bad())?;
    let to = TimeOfDay::parse(b.trim()).map_err(|_| bad())?;
    if from >= to {
        return Err(format!("\"{text}\": the end must be after the start"));
    }
    Ok((from, to))
}

/// Parses and checks an arrival pattern.
pub fn parse_pattern(config: &Config, file: &str, text: &str) -> anyhow::Result<Pattern> {
    let p: Pattern = toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("{file}: not a valid arrival pattern: {e}"))?;
    for (i, r) in p.arrivals.iter().enumerate() {
        let at = |k: &str| format!("arrivals[{i}].{k}");
        if config.service(&r.service).is_none() {
            return Err(plan_error(
                file,
                text,
                &at("service"),
                format!(
                    "unknown service \"{}\"; the hall's services are {}",
                    r.service,
                    list(config.services().iter().map(|s| s.id.as_str()))
                ),
            ));
        }
        if !(r.per_hour.is_finite() && (0.0..=2_000.0).contains(&r.per_hour)) {
            return Err(plan_error(
                file,
                text,
                &at("per_hour"),
                format!("{} is not allowed; 0–2000 tickets an hour", r.per_hour),
            ));
        }
        if r.from >= r.to {
            return Err(plan_error(
                file,
                text,
                &at("to"),
                format!("{} is not after {}", r.to, r.from),
            ));
        }
        if let Some(pr) = &r.priority
            && config.priority(pr).is_none()
        {
            return Err(plan_error(
                file,
                text,
                &at("priority"),
                format!(
                    "unknown priority class \"{pr}\"; the hall's are {}",
                    list(config.file.priority.iter().map(|p| p.id.as_str()))
                ),
            ));
        }
        if !(0.0..=1.0).contains(&r.priority_share) {
            return Err(plan_error(
                file,
                text,
                &at("priority_share"),
                format!("{} is not a share; allowed 0–1", r.priority_share),
            ));
        }
    }
    Ok(p)
}

/// The hall as configured, with virtual staff at `staffed` windows (all open
/// windows with services when `None`) for the day's sessions.
pub fn baseline(
    config: &Config,
    date: NaiveDate,
    staffed: Option<&BTreeSet<WindowNo>>,
) -> anyhow::Result<Scenario> {
    let mut file = config.file.clone();
    add_virtual_staff(&mut file);
    let cfg = rebuild(config, &file).map_err(|e| anyhow::anyhow!("{e}"))?;
    let duty = sessions(&cfg, date);
    let desks = cfg
        .windows()
        .iter()
        .filter(|w| w.open && !w.services.is_empty())
        .filter(|w| staffed.is_none_or(|s| s.contains(&w.number)))
        .map(|w| Desk {
            window: w.number,
            account: virtual_account(w.number),
            duty: duty.clone(),
        })
        .collect();
    Ok(Scenario {
        config: Arc::new(cfg),
        desks,
    })
}

/// The baseline changed by a plan.
pub fn planned(
    config: &Config,
    date: NaiveDate,
    staffed: Option<&BTreeSet<WindowNo>>,
    plan: &Plan,
) -> anyhow::Result<Scenario> {
    let mut file = config.file.clone();
    if let Some(r) = &plan.routing {
        let routing = &mut file.routing;
        if let Some(v) = r.priority_streak_max {
            routing.priority_streak_max = v;
        }
        if let Some(v) = r.priority_extra_wait_minutes_max {
            routing.priority_extra_wait_minutes_max = v;
        }
        if let Some(v) = r.no_show_requeue_after {
            routing.no_show_requeue_after = v;
        }
        if let Some(v) = r.no_show_requeue_max {
            routing.no_show_requeue_max = v;
        }
    }
    if !plan.sessions.is_empty() {
        let weekday = crate::queue::calendar::weekday_of(date);
        let cal = &mut file.calendar;
        cal.sessions = plan
            .sessions
            .iter()
            .map(|s| SessionConfig {
                days: vec![weekday],
                from: s.from,
                to: s.to,
            })
            .collect();
        // The planned day is worked whatever the calendar said of it.
        cal.holidays
            .retain(|h| !(date >= h.from && date <= h.to.unwrap_or(h.from)));
        cal.makeup_workdays.retain(|m| m.date != date);
    }
    for w in &plan.windows {
        match file.windows.iter_mut().find(|c| c.number == w.number) {
            Some(c) => {
                if w.staffed != Some(false) {
                    c.open = true;
                }
                if let Some(s) = &w.services {
                    c.services = s.clone();
                    // A window given another department's services becomes
                    // a comprehensive one (无差别受理) in the simulation.
                    let own = c.department.clone();
                    let foreign = s
                        .iter()
                        .any(|x| config.service(&x.service).map(|c| &c.department) != own.as_ref());
                    if foreign && c.kind == WindowKind::Department {
                        c.kind = WindowKind::Comprehensive;
                    }
                }
            }
            None if w.staffed == Some(false) => {}
            None => {
                let services = w.services.clone().unwrap_or_default();
                let zone = w.zone.clone().or_else(|| {
                    let first = services.first()?;
                    file.windows
                        .iter()
                        .find(|x| x.services.iter().any(|s| s.service == first.service))
                        .map(|x| x.zone.clone())
                });
                let Some(zone) = zone.or_else(|| file.zones.first().map(|z| z.id.clone())) else {
                    anyhow::bail!(
                        "window {}: the hall has no zone to put it in; give zone",
                        w.number
                    );
                };
                file.windows.push(WindowConfig {
                    number: w.number,
                    name: format!("{}号窗口(计划)", w.number),
                    name_en: format!("Window {} (planned)", w.number),
                    kind: WindowKind::Comprehensive,
                    department: None,
                    zone,
                    floor: None,
                    services,
                    open: true,
                });
            }
        }
    }
    add_virtual_staff(&mut file);
    let cfg = rebuild(config, &file)
        .map_err(|e| anyhow::anyhow!("the plan makes the hall configuration invalid:\n{e}"))?;
    let default_duty = sessions(&cfg, date);
    let mut desks: BTreeMap<WindowNo, Desk> = cfg
        .windows()
        .iter()
        .filter(|w| w.open && !w.services.is_empty())
        .filter(|w| staffed.is_none_or(|s| s.contains(&w.number)))
        .map(|w| {
            (
                w.number,
                Desk {
                    window: w.number,
                    account: virtual_account(w.number),
                    duty: default_duty.clone(),
                },
            )
        })
        .collect();
    let tz = cfg.tz;
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    for w in &plan.windows {
        if w.staffed == Some(false) {
            desks.remove(&w.number);
            continue;
        }
        let duty = match &w.duty {
            Some(list) => list
                .iter()
                .filter_map(|d| parse_interval(d).ok())
                .map(|(a, b)| {
                    (
                        instant(tz, midnight + Duration::minutes(i64::from(a.minutes()))),
                        instant(tz, midnight + Duration::minutes(i64::from(b.minutes()))),
                    )
                })
                .collect(),
            None => default_duty.clone(),
        };
        desks.insert(
            w.number,
            Desk {
                window: w.number,
                account: virtual_account(w.number),
                duty,
            },
        );
    }
    Ok(Scenario {
        config: Arc::new(cfg),
        desks: desks.into_values().collect(),
    })
}

fn sessions(config: &Config, date: NaiveDate) -> Vec<(Millis, Millis)> {
    day_plan(&config.file.calendar, date)
        .slots
        .iter()
        .map(|s| (instant(config.tz, s.start), instant(config.tz, s.end)))
        .collect()
}

/// The day to simulate: its date, its arrivals, and (for a recorded day)
/// the windows someone signed in at — the baseline's staffing.
#[derive(Debug, Clone)]
pub struct Day {
    pub date: NaiveDate,
    pub arrivals: Arrivals,
    /// `None`: every open window with services is staffed.
    pub staffed: Option<BTreeSet<WindowNo>>,
}

/// Waits of one scenario over all its runs.
#[derive(Debug, Clone, Default)]
pub struct ScenarioWaits {
    /// Minutes from issue to first call, by (service, local hour of issue).
    pub waits: BTreeMap<(String, u32), Vec<f64>>,
    /// Tickets issued, by (service, hour).
    pub issued: BTreeMap<(String, u32), usize>,
    /// Tickets never called (the day ended first).
    pub uncalled: usize,
}

/// The arrivals of a recorded day, and the windows someone signed in at.
pub fn recorded_day(
    config: &Config,
    reader: &JournalReader,
    date: NaiveDate,
) -> anyhow::Result<Day> {
    let mut arrivals = Vec::new();
    let mut staffed = BTreeSet::new();
    let midnight = instant(config.tz, date.and_hms_opt(0, 0, 0).unwrap_or_default());
    reader.for_each_from(0, |rec| -> anyhow::Result<()> {
        if local(config.tz, rec.at_ms).date() != date {
            return Ok(());
        }
        match serde_json::from_str::<Event>(&rec.payload) {
            Ok(Event::TicketIssued {
                service,
                priority,
                cases,
                ..
            }) if arrivals.len() < ARRIVALS_MAX => {
                arrivals.push((
                    rec.at_ms - midnight,
                    Arrival {
                        service,
                        priority,
                        cases,
                    },
                ));
            }
            Ok(Event::StaffSignedIn { window, .. }) => {
                staffed.insert(window);
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(Day {
        date,
        arrivals: Arrivals::Recorded(arrivals),
        staffed: Some(staffed),
    })
}

/// Runs one scenario `runs` times; waits in minutes by (service, local hour of issue),
/// tickets issued per (service, hour), and tickets never called, all runs together.
pub fn run_scenario(
    scenario: &Scenario,
    model: &Model,
    date: NaiveDate,
    arrivals: &Arrivals,
    runs: usize,
    seed: u64,
) -> ScenarioWaits {
    let config = &scenario.config;
    let tz = config.tz;
    let midnight_local = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let start = instant(tz, midnight_local);
    let end = instant(tz, midnight_local + Duration::days(1)) - 1;
    let mut waits: BTreeMap<(String, u32), Vec<f64>> = BTreeMap::new();
    let mut issued: BTreeMap<(String, u32), usize> = BTreeMap::new();
    let mut uncalled = 0;
    for run in 0..runs.clamp(1, RUNS_MAX) {
        let run_seed = seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(run as u64);
        let behaviour = ModelBehaviour {
            model,
            now_bin: 0,
            arrivals: false,
        };
        let hall = Hall::new(config.clone());
        let mut d = Driver::new(hall, start, run_seed, behaviour);
        d.schedule_calendar(end);
        match arrivals {
            Arrivals::Recorded(list) => {
                for (offset, a) in list {
                    d.schedule_arrival(start + offset, a.clone());
                }
            }
            Arrivals::Pattern(rows) => {
                let mut rng = crate::sim::traffic::SimRng::new(run_seed ^ 0xA5A5);
                let mut count = 0;
                for r in rows {
                    let from = instant(
                        tz,
                        midnight_local + Duration::minutes(i64::from(r.from.minutes())),
                    );
                    let to = instant(
                        tz,
                        midnight_local + Duration::minutes(i64::from(r.to.minutes())),
                    );
                    let mean = r.per_hour * (to - from) as f64 / (60 * MINUTE_MS) as f64;
                    for _ in 0..poisson(&mut rng, mean) {
                        if count >= ARRIVALS_MAX {
                            break;
                        }
                        count += 1;
                        let at = from + (unit(&mut rng) * (to - from) as f64) as Millis;
                        let priority = r
                            .priority
                            .clone()
                            .filter(|_| unit(&mut rng) < r.priority_share);
                        d.schedule_arrival(
                            at,
                            Arrival {
                                service: r.service.clone(),
                                priority,
                                cases: 1,
                            },
                        );
                    }
                }
            }
        }
        for desk in &scenario.desks {
            d.add_desk(desk.clone());
        }
        let mut open: HashMap<crate::queue::TicketId, (String, u32, Millis)> = HashMap::new();
        let mut hook = |_: &Hall, events: &[Event], at: Millis| {
            for e in events {
                match e {
                    Event::TicketIssued {
                        ticket, service, ..
                    } => {
                        let hour = local(tz, at).hour();
                        *issued.entry((service.clone(), hour)).or_default() += 1;
                        open.insert(*ticket, (service.clone(), hour, at));
                    }
                    Event::TicketCalled { ticket, .. } => {
                        if let Some((service, hour, t0)) = open.remove(ticket) {
                            waits
                                .entry((service, hour))
                                .or_default()
                                .push((at - t0) as f64 / MINUTE_MS as f64);
                        }
                    }
                    _ => {}
                }
            }
            Flow::Continue
        };
        d.run(end, &mut hook);
        uncalled += open.len();
    }
    ScenarioWaits {
        waits,
        issued,
        uncalled,
    }
}

fn cell(waits: Option<&Vec<f64>>, tickets: usize, runs: usize) -> Cell {
    let mut w = waits.cloned().unwrap_or_default();
    w.sort_by(f64::total_cmp);
    Cell {
        tickets: tickets as f64 / runs.max(1) as f64,
        median: (!w.is_empty()).then(|| quantile(&w, 0.5)),
        p90: (!w.is_empty()).then(|| quantile(&w, 0.9)),
    }
}

/// Runs the baseline (and the plan, if any) and tabulates.
pub fn what_if(
    config: &Config,
    model: &Model,
    day: &Day,
    plan: Option<(&str, &Plan)>,
    runs: usize,
    seed: u64,
) -> anyhow::Result<WhatIf> {
    let (date, arrivals, staffed) = (day.date, &day.arrivals, day.staffed.as_ref());
    let runs = runs.clamp(1, RUNS_MAX);
    let base = baseline(config, date, staffed)?;
    if sessions(&base.config, date).is_empty() && plan.is_none_or(|(_, p)| p.sessions.is_empty()) {
        anyhow::bail!(
            "{date} has no session in the hall's calendar (a holiday or rest day); pick a business day, or give [[session]] in a plan"
        );
    }
    let ScenarioWaits {
        waits: bw,
        issued: bi,
        uncalled: bu,
    } = run_scenario(&base, model, date, arrivals, runs, seed);
    let planned_run = match plan {
        Some((_, p)) => {
            let sc = planned(config, date, staffed, p)?;
            let r = run_scenario(&sc, model, date, arrivals, runs, seed);
            Some((r.waits, r.issued, r.uncalled))
        }
        None => None,
    };
    let mut keys: BTreeSet<(String, u32)> = bi.keys().cloned().collect();
    if let Some((_, pi, _)) = &planned_run {
        keys.extend(pi.keys().cloned());
    }
    let name = |s: &str| {
        config
            .service(s)
            .map_or_else(String::new, |c| c.name.clone())
    };
    let mut rows = Vec::new();
    let services: BTreeSet<String> = keys.iter().map(|(s, _)| s.clone()).collect();
    // Services in configuration order, hours in order, then the day.
    for s in config
        .services()
        .iter()
        .filter(|s| services.contains(&s.id))
    {
        let mut day_b: Vec<f64> = Vec::new();
        let mut day_p: Vec<f64> = Vec::new();
        let (mut nb, mut np) = (0, 0);
        for (_, hour) in keys.iter().filter(|(x, _)| *x == s.id) {
            let k = (s.id.clone(), *hour);
            let b = cell(bw.get(&k), bi.get(&k).copied().unwrap_or(0), runs);
            day_b.extend(bw.get(&k).cloned().unwrap_or_default());
            nb += bi.get(&k).copied().unwrap_or(0);
            let p = planned_run.as_ref().map(|(pw, pi, _)| {
                day_p.extend(pw.get(&k).cloned().unwrap_or_default());
                np += pi.get(&k).copied().unwrap_or(0);
                cell(pw.get(&k), pi.get(&k).copied().unwrap_or(0), runs)
            });
            rows.push(Row {
                service: s.id.clone(),
                service_name: name(&s.id),
                hour: Some(*hour),
                baseline: b,
                plan: p,
            });
        }
        rows.push(Row {
            service: s.id.clone(),
            service_name: name(&s.id),
            hour: None,
            baseline: cell(Some(&day_b), nb, runs),
            plan: planned_run.as_ref().map(|_| cell(Some(&day_p), np, runs)),
        });
    }
    Ok(WhatIf {
        hall: config.file.hall.name.clone(),
        date,
        runs,
        plan: plan.map(|(n, p)| p.name.clone().unwrap_or_else(|| n.to_string())),
        uncalled_baseline: bu as f64 / runs as f64,
        uncalled_plan: planned_run
            .as_ref()
            .map(|(_, _, u)| *u as f64 / runs as f64),
        rows,
    })
}

/// The table `hallq simulate` prints.
pub fn table(w: &WhatIf) -> String {
    let mut out = format!(
        "{} — {} — {} runs{}\npredicted wait until first call, minutes (median / p90); tickets = issued per run\n\n",
        w.hall,
        w.date,
        w.runs,
        w.plan
            .as_ref()
            .map_or(String::new(), |p| format!(" — plan: {p}"))
    );
    let m = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{v:.0}"));
    let has_plan = w.plan.is_some();
    out.push_str(&format!(
        "{:<18} {:>5} {:>8} {:>16}{}\n",
        "service",
        "hour",
        "tickets",
        "baseline med/p90",
        if has_plan { "      plan med/p90" } else { "" }
    ));
    for r in &w.rows {
        let hour = r.hour.map_or("day".to_string(), |h| format!("{h:02}"));
        let label = if r.hour.is_none() {
            format!("{} (all)", r.service)
        } else {
            r.service.clone()
        };
        out.push_str(&format!(
            "{:<18} {:>5} {:>8.1} {:>8} / {:<5}",
            label,
            hour,
            r.baseline.tickets,
            m(r.baseline.median),
            m(r.baseline.p90)
        ));
        if let Some(p) = &r.plan {
            out.push_str(&format!("  {:>8} / {:<5}", m(p.median), m(p.p90)));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "\nnot called by the end of the day, per run: baseline {:.1}",
        w.uncalled_baseline
    ));
    if let Some(u) = w.uncalled_plan {
        out.push_str(&format!(", plan {u:.1}"));
    }
    out.push('\n');
    out
}

/// `hallq simulate`.
pub fn run(
    config: Config,
    journal: Option<&Path>,
    args: &SimulateArgs,
) -> anyhow::Result<std::process::ExitCode> {
    if args.runs == 0 || args.runs > RUNS_MAX {
        anyhow::bail!("--runs {}: allowed 1–{RUNS_MAX}", args.runs);
    }
    let reader = match journal {
        Some(p) => Some(JournalReader::open(p)?),
        None => None,
    };
    let day = match (&args.day, &args.arrivals) {
        (Some(day), None) => {
            let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
                anyhow::anyhow!("--day {day}: expected a date YYYY-MM-DD, e.g. 2026-11-24")
            })?;
            let Some(reader) = &reader else {
                anyhow::bail!(
                    "--day replays a recorded day: give --data DIR with the hall's journal"
                );
            };
            let mut day = recorded_day(&config, reader, date)?;
            if matches!(&day.arrivals, Arrivals::Recorded(list) if list.is_empty()) {
                anyhow::bail!("--day {date}: the journal has no ticket issued that day");
            }
            // Nobody signed in that day (a journal without sign-ins): every window.
            day.staffed = day.staffed.filter(|s| !s.is_empty());
            day
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("--arrivals {}: cannot be read: {e}", path.display())
            })?;
            let p = parse_pattern(&config, &path.display().to_string(), &text)?;
            let Some(date) = p.date else {
                anyhow::bail!(
                    "{}: date: missing; give the day to simulate, e.g. date = \"2026-11-24\"",
                    path.display()
                );
            };
            Day {
                date,
                arrivals: Arrivals::Pattern(p.arrivals),
                staffed: None,
            }
        }
        _ => anyhow::bail!(
            "give --day YYYY-MM-DD (a recorded day, with --data) or --arrivals FILE (a described pattern)"
        ),
    };
    let plan = match &args.plan {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("--plan {}: cannot be read: {e}", path.display()))?;
            let name = path.display().to_string();
            Some((name.clone(), parse_plan(&config, &name, &text)?))
        }
        None => None,
    };
    let config = Arc::new(config);
    let model = match &reader {
        Some(r) => {
            let until = instant(
                config.tz,
                (day.date + Duration::days(1))
                    .and_hms_opt(0, 0, 0)
                    .unwrap_or_default(),
            );
            train_from_journal(config.clone(), r, until, TRAIN_DAYS)?.0
        }
        None => Model::new(config.clone()),
    };
    let w = what_if(
        &config,
        &model,
        &day,
        plan.as_ref().map(|(n, p)| (n.as_str(), p)),
        args.runs,
        args.seed,
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&w)?);
    } else {
        print!("{}", table(&w));
    }
    Ok(std::process::ExitCode::SUCCESS)
}
