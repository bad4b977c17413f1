//! The plain-text summary `hallq check FILE` prints for a valid configuration:
//! what the hall looks like, so an admin can see at a glance that the file
//! says what they meant.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use chrono::{NaiveDate, Utc};

use super::Config;
use super::model::*;
use super::time::TimeOfDay;
use super::validate::{ALL_DAYS, day_name};
use crate::devices::profile::Protocol;

/// Holidays, make-up days and closures listed at most.
pub const MAX_UPCOMING: usize = 10;

/// The summary, with "upcoming" counted from today in the hall's time zone.
pub fn summary(config: &Config) -> String {
    let today = Utc::now().with_timezone(&config.tz).date_naive();
    summary_on(config, today)
}

/// The summary, with "upcoming" counted from `today` (deterministic).
pub fn summary_on(config: &Config, today: NaiveDate) -> String {
    let c = &config.file;
    let mut out = String::new();
    let _ = writeln!(out, "{}", both(&c.hall.name, &c.hall.name_en));
    let _ = writeln!(out, "time zone: {}", c.hall.timezone);
    let _ = writeln!(out);
    zones(&mut out, c);
    departments(&mut out, c);
    services(&mut out, c);
    windows(&mut out, c);
    staff(&mut out, c);
    priorities(&mut out, c);
    flows(&mut out, c);
    caps(&mut out, c);
    sessions(&mut out, &c.calendar);
    upcoming(&mut out, &c.calendar, today);
    buses(&mut out, config);
    out
}

/// `中文 (English)`, or just the Chinese name.
fn both(name: &str, name_en: &str) -> String {
    if name_en.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({name_en})")
    }
}

/// `a 3, b 1` in the order given, leaving out zeros.
fn counts(items: &[(&str, usize)]) -> String {
    items
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn zones(out: &mut String, c: &HallConfig) {
    let mut by_floor: BTreeMap<i32, Vec<&ZoneConfig>> = BTreeMap::new();
    for z in &c.zones {
        by_floor.entry(z.floor).or_default().push(z);
    }
    let floors = by_floor.len();
    let _ = writeln!(
        out,
        "zones: {} on {floors} floor{}",
        c.zones.len(),
        if floors == 1 { "" } else { "s" }
    );
    for (floor, zones) in &by_floor {
        let names: Vec<String> = zones.iter().map(|z| both(&z.name, &z.name_en)).collect();
        let _ = writeln!(out, "  floor {floor}: {}", names.join(", "));
    }
}

fn department_kind(kind: DepartmentKind) -> &'static str {
    match kind {
        DepartmentKind::Government => "government",
        DepartmentKind::Bank => "bank",
        DepartmentKind::Utility => "utility",
        DepartmentKind::Intermediary => "intermediary",
        DepartmentKind::Other => "other",
    }
}

fn departments(out: &mut String, c: &HallConfig) {
    let kinds = [
        DepartmentKind::Government,
        DepartmentKind::Bank,
        DepartmentKind::Utility,
        DepartmentKind::Intermediary,
        DepartmentKind::Other,
    ];
    let tally: Vec<(&str, usize)> = kinds
        .iter()
        .map(|&k| {
            (
                department_kind(k),
                c.departments.iter().filter(|d| d.kind == k).count(),
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "departments: {} ({})",
        c.departments.len(),
        counts(&tally)
    );
    for k in kinds.iter().filter(|&&k| k != DepartmentKind::Government) {
        let names: Vec<&str> = c
            .departments
            .iter()
            .filter(|d| d.kind == *k)
            .map(|d| d.name.as_str())
            .collect();
        if !names.is_empty() {
            let _ = writeln!(out, "  {}: {}", department_kind(*k), names.join(", "));
        }
    }
}

fn matter_class(class: MatterClass) -> &'static str {
    match class {
        MatterClass::Immediate => "immediate 即办",
        MatterClass::Commitment => "commitment 承诺",
        MatterClass::Joint => "joint 联办",
        MatterClass::Assisted => "assisted 帮办",
        MatterClass::Agency => "agency 代办",
        MatterClass::ReportUp => "report_up 上报",
    }
}

fn services(out: &mut String, c: &HallConfig) {
    let classes = [
        MatterClass::Immediate,
        MatterClass::Commitment,
        MatterClass::Joint,
        MatterClass::Assisted,
        MatterClass::Agency,
        MatterClass::ReportUp,
    ];
    let tally: Vec<(&str, usize)> = classes
        .iter()
        .map(|&k| {
            (
                matter_class(k),
                c.services.iter().filter(|s| s.matter_class == k).count(),
            )
        })
        .collect();
    let _ = writeln!(out, "services: {} ({})", c.services.len(), counts(&tally));
}

fn window_kind(kind: WindowKind) -> &'static str {
    match kind {
        WindowKind::Department => "department",
        WindowKind::Comprehensive => "comprehensive 无差别受理",
        WindowKind::Fee => "fee 缴费",
        WindowKind::Agency => "agency 代办",
        WindowKind::Pickup => "pickup 出件",
        WindowKind::Consultation => "consultation 咨询",
        WindowKind::Complaint => "complaint 投诉",
        WindowKind::Fallback => "fallback 兜底",
        WindowKind::Leader => "leader 领导值班",
    }
}

fn windows(out: &mut String, c: &HallConfig) {
    let kinds = [
        WindowKind::Comprehensive,
        WindowKind::Department,
        WindowKind::Fee,
        WindowKind::Agency,
        WindowKind::Pickup,
        WindowKind::Consultation,
        WindowKind::Complaint,
        WindowKind::Fallback,
        WindowKind::Leader,
    ];
    let tally: Vec<(&str, usize)> = kinds
        .iter()
        .map(|&k| {
            (
                window_kind(k),
                c.windows.iter().filter(|w| w.kind == k).count(),
            )
        })
        .collect();
    let open = c.windows.iter().filter(|w| w.open).count();
    let _ = writeln!(
        out,
        "windows: {}, {open} open at start ({})",
        c.windows.len(),
        counts(&tally)
    );
}

fn staff(out: &mut String, c: &HallConfig) {
    let with = |role: Role| c.staff.iter().filter(|s| s.roles.contains(&role)).count();
    let tally = [
        ("window staff", with(Role::Staff)),
        ("window heads", with(Role::WindowHead)),
        ("managers", with(Role::Manager)),
        ("supervisors", with(Role::Supervisor)),
        ("admins", with(Role::Admin)),
    ];
    let _ = writeln!(out, "staff: {} ({})", c.staff.len(), counts(&tally));
}

fn priorities(out: &mut String, c: &HallConfig) {
    let mut classes: Vec<&PriorityConfig> = c.priority.iter().collect();
    classes.sort_by_key(|p| std::cmp::Reverse(p.rank));
    let list: Vec<String> = classes
        .iter()
        .map(|p| format!("{} rank {}", both(&p.name, &p.name_en), p.rank))
        .collect();
    if list.is_empty() {
        let _ = writeln!(out, "priority classes: none");
    } else {
        let _ = writeln!(
            out,
            "priority classes: {} (called first to last: {})",
            list.len(),
            list.join("; ")
        );
    }
}

/// The floors of the windows that serve `service`, e.g. `1F` or `1F/2F`.
fn floors_of(c: &HallConfig, service: &str) -> String {
    let zone_floor: HashMap<&str, i32> = c.zones.iter().map(|z| (z.id.as_str(), z.floor)).collect();
    let floors: BTreeSet<i32> = c
        .windows
        .iter()
        .filter(|w| w.services.iter().any(|s| s.service == service))
        .filter_map(|w| zone_floor.get(w.zone.as_str()).copied())
        .collect();
    floors
        .iter()
        .map(|f| format!("{f}F"))
        .collect::<Vec<_>>()
        .join("/")
}

/// Every chain of next_step from a service that is nobody's next step.
fn flows(out: &mut String, c: &HallConfig) {
    let by_id: HashMap<&str, &ServiceConfig> =
        c.services.iter().map(|s| (s.id.as_str(), s)).collect();
    let targets: HashSet<&str> = c
        .services
        .iter()
        .filter_map(|s| s.next_step.as_deref())
        .collect();
    let mut lines = Vec::new();
    for head in c
        .services
        .iter()
        .filter(|s| s.next_step.is_some() && !targets.contains(s.id.as_str()))
    {
        let mut steps = Vec::new();
        let mut seen = HashSet::new();
        let mut cur = Some(head);
        while let Some(s) = cur {
            if !seen.insert(s.id.as_str()) {
                break;
            }
            steps.push(format!(
                "{} [{}, {}]",
                s.name,
                s.prefix,
                floors_of(c, &s.id)
            ));
            cur = s.next_step.as_deref().and_then(|n| by_id.get(n).copied());
        }
        lines.push(steps.join(" → "));
    }
    if lines.is_empty() {
        let _ = writeln!(out, "multi-step flows: none");
        return;
    }
    let _ = writeln!(
        out,
        "multi-step flows: {} (the ticket keeps its number)",
        lines.len()
    );
    for line in lines {
        let _ = writeln!(out, "  {line}");
    }
}

fn caps(out: &mut String, c: &HallConfig) {
    let capped: Vec<&ServiceConfig> = c
        .services
        .iter()
        .filter(|s| {
            s.daily_cap.is_some() || s.per_person_daily_cap.is_some() || !s.issue_windows.is_empty()
        })
        .collect();
    if capped.is_empty() {
        return;
    }
    let _ = writeln!(out, "caps:");
    for s in capped {
        let mut parts = Vec::new();
        if let Some(cap) = s.daily_cap {
            parts.push(format!("{cap} cases a day"));
        }
        if let Some(cap) = s.per_person_daily_cap {
            parts.push(format!("{cap} per person a day"));
        }
        if !s.issue_windows.is_empty() {
            let slots: Vec<String> = s
                .issue_windows
                .iter()
                .map(|w| match w.cap {
                    Some(cap) => format!("{}–{} ≤ {cap}", w.from, w.to),
                    None => format!("{}–{}", w.from, w.to),
                })
                .collect();
            parts.push(format!("issued only {}", slots.join(", ")));
        }
        let _ = writeln!(out, "  {} [{}]: {}", s.name, s.prefix, parts.join("; "));
    }
}

fn day_range(days: &[Weekday]) -> String {
    match days {
        [] => String::new(),
        [one] => day_name(*one).to_string(),
        [first, .., last] => format!("{}–{}", day_name(*first), day_name(*last)),
    }
}

/// The opening hours of one day, sorted.
type Hours = Vec<(TimeOfDay, TimeOfDay)>;

fn sessions(out: &mut String, cal: &CalendarConfig) {
    let hours = |day: Weekday| -> Hours {
        let mut spans: Hours = cal
            .sessions
            .iter()
            .filter(|s| s.days.contains(&day))
            .map(|s| (s.from, s.to))
            .collect();
        spans.sort();
        spans
    };
    // Consecutive weekdays with the same hours form one line.
    let mut groups: Vec<(Vec<Weekday>, Hours)> = Vec::new();
    for day in ALL_DAYS {
        let h = hours(day);
        match groups.last_mut() {
            Some((days, last)) if *last == h => days.push(day),
            _ => groups.push((vec![day], h)),
        }
    }
    let _ = writeln!(out, "weekly sessions:");
    for (days, spans) in &groups {
        let label = if days.len() == 7 {
            "every day".to_string()
        } else {
            day_range(days)
        };
        let text = if spans.is_empty() {
            "closed".to_string()
        } else {
            spans
                .iter()
                .map(|(f, t)| format!("{f}–{t}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "  {label}: {text}");
    }
    let cutoff = match cal.issue_cutoff_minutes {
        0 => "tickets issued until each session ends".to_string(),
        n => format!("ticket issuing stops {n} minutes before each session ends"),
    };
    let extended = if cal.extended_service {
        "on: windows keep calling issued tickets after closing"
    } else {
        "off"
    };
    let _ = writeln!(out, "  {cutoff}; extended service (延时服务) {extended}");
}

fn upcoming(out: &mut String, cal: &CalendarConfig, today: NaiveDate) {
    let mut holidays: Vec<&HolidayConfig> = cal
        .holidays
        .iter()
        .filter(|h| h.to.unwrap_or(h.from) >= today)
        .collect();
    holidays.sort_by_key(|h| h.from);
    let mut makeups: Vec<&MakeupWorkdayConfig> = cal
        .makeup_workdays
        .iter()
        .filter(|m| m.date >= today)
        .collect();
    makeups.sort_by_key(|m| m.date);
    let mut closures: Vec<&ClosureConfig> = cal
        .closures
        .iter()
        .filter(|c| c.to.0.date() >= today)
        .collect();
    closures.sort_by_key(|c| c.from);

    let _ = writeln!(out, "upcoming from {today}:");
    if holidays.is_empty() && makeups.is_empty() && closures.is_empty() {
        let _ = writeln!(out, "  no holidays, make-up workdays or closures");
        return;
    }
    let more = |out: &mut String, n: usize| {
        if n > MAX_UPCOMING {
            let _ = writeln!(out, "    … and {} more", n - MAX_UPCOMING);
        }
    };
    if !holidays.is_empty() {
        let _ = writeln!(out, "  holidays:");
        for h in holidays.iter().take(MAX_UPCOMING) {
            match h.to {
                Some(to) if to != h.from => {
                    let _ = writeln!(out, "    {} – {} {}", h.from, to, h.name);
                }
                _ => {
                    let _ = writeln!(out, "    {} {}", h.from, h.name);
                }
            }
        }
        more(out, holidays.len());
    }
    if !makeups.is_empty() {
        let _ = writeln!(out, "  make-up workdays (调休):");
        for m in makeups.iter().take(MAX_UPCOMING) {
            let _ = writeln!(
                out,
                "    {} worked with the hours of {}",
                m.date,
                day_name(m.as_weekday)
            );
        }
        more(out, makeups.len());
    }
    if !closures.is_empty() {
        let _ = writeln!(out, "  closures:");
        for cl in closures.iter().take(MAX_UPCOMING) {
            let _ = writeln!(
                out,
                "    {} – {} {}",
                cl.from,
                cl.to,
                both(&cl.notice, &cl.notice_en)
            );
        }
        more(out, closures.len());
    }
}

fn parity_letter(parity: Parity) -> char {
    match parity {
        Parity::None => 'N',
        Parity::Even => 'E',
        Parity::Odd => 'O',
    }
}

/// One line per bus: name, port, line settings, its devices by protocol.
fn buses(out: &mut String, config: &Config) {
    let c = &config.file;
    if c.buses.is_empty() {
        let _ = writeln!(out, "buses: none (no devices are driven)");
        return;
    }
    let _ = writeln!(
        out,
        "buses: {}, {} device{}",
        c.buses.len(),
        c.devices.len(),
        if c.devices.len() == 1 { "" } else { "s" }
    );
    for b in &c.buses {
        let mut tally: BTreeMap<Protocol, usize> = BTreeMap::new();
        for d in c.devices.iter().filter(|d| d.bus == b.name) {
            *tally
                .entry(config.device_profile(d).protocol())
                .or_default() += 1;
        }
        let pacing = if b.wire_speed {
            " (paced at wire speed)"
        } else {
            ""
        };
        let n: usize = tally.values().sum();
        let devices = if n == 0 {
            "no devices".to_string()
        } else {
            let by_protocol: Vec<(&str, usize)> = Protocol::ALL
                .iter()
                .map(|p| (p.name(), tally.get(p).copied().unwrap_or(0)))
                .collect();
            format!(
                "{n} device{} ({})",
                if n == 1 { "" } else { "s" },
                counts(&by_protocol)
            )
        };
        let _ = writeln!(
            out,
            "  {}: port {}{pacing}, {} baud 8{}{}, {devices}",
            b.name,
            b.port,
            b.baud,
            parity_letter(b.parity),
            b.stop_bits
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_summary() -> String {
        summary_on(
            &Config::demo(),
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        )
    }

    #[test]
    fn names_the_hall_and_its_time_zone() {
        let s = demo_summary();
        let first = s.lines().next().unwrap();
        assert!(first.contains("安和县政务服务中心"), "{s}");
        assert!(
            first.contains("Anhe County Government Service Center"),
            "{s}"
        );
        assert!(s.contains("time zone: Asia/Shanghai"), "{s}");
    }

    #[test]
    fn counts_zones_departments_windows_and_staff() {
        let config = Config::demo();
        let s = demo_summary();
        assert!(s.contains("zones: 5 on 2 floors"), "{s}");
        assert!(s.contains("  floor 2: 二楼不动产登记区"), "{s}");
        assert!(
            s.contains(&format!("departments: {} (", config.file.departments.len())),
            "{s}"
        );
        assert!(s.contains("bank 1, utility 2, intermediary 2"), "{s}");
        assert!(s.contains("  bank: 安和农商银行"), "{s}");
        assert!(
            s.contains(&format!("services: {} (", config.services().len())),
            "{s}"
        );
        let windows = config.windows().len();
        assert!(
            s.contains(&format!(
                "windows: {windows}, {windows} open at start (comprehensive 无差别受理 4"
            )),
            "{s}"
        );
        assert!(
            s.contains("fee 缴费 1")
                && s.contains("pickup 出件 2")
                && s.contains("complaint 投诉 1"),
            "{s}"
        );
        assert!(
            s.contains(&format!("staff: {} (", config.file.staff.len())),
            "{s}"
        );
        assert!(s.contains("managers 2, supervisors 1"), "{s}");
        assert!(s.contains("priority classes: 2 (called first to last: 绿色通道 (Green channel) rank 2; 老弱病残孕"), "{s}");
    }

    #[test]
    fn shows_the_real_estate_flow_across_floors() {
        let s = demo_summary();
        assert!(s.contains("multi-step flows: 1"), "{s}");
        assert!(
            s.contains("  不动产查档 [F, 1F/2F] → 不动产登记审核 [G, 2F] → 不动产登记缴费 [H, 1F] → 不动产领证 [J, 1F]"),
            "{s}"
        );
        assert!(s.contains("  不动产查档 [F]: 300 cases a day; 2 per person a day; issued only 00:00–12:00 ≤ 160"), "{s}");
    }

    #[test]
    fn shows_sessions_and_an_empty_calendar() {
        let s = demo_summary();
        assert!(s.contains("  every day: 00:00–24:00"), "{s}");
        assert!(
            s.contains("tickets issued until each session ends; extended service (延时服务) on"),
            "{s}"
        );
        assert!(
            s.contains("upcoming from 2026-01-01:\n  no holidays"),
            "{s}"
        );
    }

    #[test]
    fn groups_weekdays_and_lists_upcoming_days() {
        let mut config = Config::demo();
        let cal = &mut config.file.calendar;
        let t = |s: &str| TimeOfDay::parse(s).unwrap();
        let weekdays = vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ];
        cal.sessions = vec![
            SessionConfig {
                days: weekdays.clone(),
                from: t("08:30"),
                to: t("11:30"),
            },
            SessionConfig {
                days: weekdays,
                from: t("13:00"),
                to: t("17:00"),
            },
            SessionConfig {
                days: vec![Weekday::Sat],
                from: t("08:30"),
                to: t("11:30"),
            },
        ];
        cal.issue_cutoff_minutes = 30;
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        cal.holidays = vec![
            HolidayConfig {
                from: d("2025-10-01"),
                to: Some(d("2025-10-08")),
                name: "国庆节".into(),
            },
            HolidayConfig {
                from: d("2026-10-01"),
                to: Some(d("2026-10-07")),
                name: "国庆节".into(),
            },
        ];
        cal.makeup_workdays = vec![MakeupWorkdayConfig {
            date: d("2026-10-10"),
            as_weekday: Weekday::Fri,
        }];
        let s = summary_on(&config, d("2026-06-01"));
        assert!(
            s.contains("  mon–fri: 08:30–11:30, 13:00–17:00\n  sat: 08:30–11:30\n  sun: closed"),
            "{s}"
        );
        assert!(s.contains("stops 30 minutes before"), "{s}");
        assert!(s.contains("    2026-10-01 – 2026-10-07 国庆节"), "{s}");
        assert!(!s.contains("2025-10-01"), "past holidays are left out: {s}");
        assert!(
            s.contains("    2026-10-10 worked with the hours of fri"),
            "{s}"
        );
    }
}
