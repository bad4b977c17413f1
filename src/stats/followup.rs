//! 差评整改: the deadline by which a negative rating must be followed up.

use chrono::NaiveDate;

use crate::config::CalendarConfig;
use crate::queue::calendar::{DayKind, day_plan};

/// Longest search for working days (a calendar of holidays only must not loop).
const SEARCH_DAYS_MAX: u32 = 800;

/// Is `date` a working day of the hall calendar (a workday or a make-up
/// workday; rest days and holidays are not)?
pub fn is_working_day(cal: &CalendarConfig, date: NaiveDate) -> bool {
    matches!(
        day_plan(cal, date).kind,
        DayKind::Workday | DayKind::MakeupWorkday { .. }
    )
}

/// The `days`-th working day after `from` (working days of the hall
/// calendar, `from` itself not counted). A calendar without sessions has no
/// working days: then, and if none is found within 800 days, calendar days
/// are counted instead.
pub fn deadline(cal: &CalendarConfig, from: NaiveDate, days: u32) -> NaiveDate {
    let calendar_days = || from + chrono::Duration::days(i64::from(days));
    if cal.sessions.is_empty() {
        return calendar_days();
    }
    let mut left = days;
    let mut d = from;
    for _ in 0..SEARCH_DAYS_MAX {
        let Some(next) = d.succ_opt() else { break };
        d = next;
        if is_working_day(cal, d) {
            left -= 1;
            if left == 0 {
                return d;
            }
        }
    }
    calendar_days()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HolidayConfig, MakeupWorkdayConfig, SessionConfig, TimeOfDay, Weekday};

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn cal() -> CalendarConfig {
        CalendarConfig {
            sessions: vec![SessionConfig {
                days: vec![
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                ],
                from: TimeOfDay::parse("08:30").unwrap(),
                to: TimeOfDay::parse("17:00").unwrap(),
            }],
            holidays: vec![HolidayConfig {
                from: d(10, 1),
                to: Some(d(10, 7)),
                name: "国庆节".into(),
            }],
            makeup_workdays: vec![MakeupWorkdayConfig {
                date: d(10, 10),
                as_weekday: Weekday::Fri,
            }],
            ..CalendarConfig::default()
        }
    }

    #[test]
    fn counts_working_days_of_the_calendar() {
        // Tue 24 Nov + 5 working days: Wed 25, Thu 26, Fri 27, Mon 30, Tue 1 Dec.
        assert_eq!(deadline(&cal(), d(11, 24), 5), d(12, 1));
        // Fri 27 Nov + 1: Mon 30 (the weekend does not count).
        assert_eq!(deadline(&cal(), d(11, 27), 1), d(11, 30));
        // Wed 30 Sep + 2: 1–7 Oct is a holiday, Thu 8, Fri 9 → Fri 9 Oct.
        assert_eq!(deadline(&cal(), d(9, 30), 2), d(10, 9));
        // + 3: Sat 10 Oct is a make-up workday.
        assert_eq!(deadline(&cal(), d(9, 30), 3), d(10, 10));
        // No sessions at all: calendar days.
        assert_eq!(deadline(&CalendarConfig::default(), d(11, 27), 5), d(12, 2));
    }
}
