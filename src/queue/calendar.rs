//! The working calendar (工作日历): which sessions run on a date, holidays,
//! make-up workdays (调休) and closures. Pure: dates and times in, plans out.

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

use super::types::Millis;
use crate::config::{CalendarConfig, ClosureConfig, Weekday};

/// What kind of day a date is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DayKind {
    Workday,
    /// A weekday with no session configured (e.g. Saturday, Sunday).
    RestDay,
    Holiday {
        name: String,
    },
    /// 调休: worked with the sessions of another weekday.
    MakeupWorkday {
        as_weekday: Weekday,
    },
}

/// One session of a day, after closures are cut out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Slot {
    /// Index among the day's slots, stable for a given calendar and date.
    pub index: u32,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayPlan {
    pub date: NaiveDate,
    pub kind: DayKind,
    pub slots: Vec<Slot>,
}

pub fn weekday_of(date: NaiveDate) -> Weekday {
    match date.weekday() {
        chrono::Weekday::Mon => Weekday::Mon,
        chrono::Weekday::Tue => Weekday::Tue,
        chrono::Weekday::Wed => Weekday::Wed,
        chrono::Weekday::Thu => Weekday::Thu,
        chrono::Weekday::Fri => Weekday::Fri,
        chrono::Weekday::Sat => Weekday::Sat,
        chrono::Weekday::Sun => Weekday::Sun,
    }
}

/// The plan of one date: its kind and its sessions with closures removed.
pub fn day_plan(cal: &CalendarConfig, date: NaiveDate) -> DayPlan {
    let holiday = cal
        .holidays
        .iter()
        .find(|h| date >= h.from && date <= h.to.unwrap_or(h.from));
    let makeup = cal.makeup_workdays.iter().find(|m| m.date == date);
    let (kind, weekday) = match (makeup, holiday) {
        (Some(m), _) => (
            DayKind::MakeupWorkday {
                as_weekday: m.as_weekday,
            },
            Some(m.as_weekday),
        ),
        (None, Some(h)) => (
            DayKind::Holiday {
                name: h.name.clone(),
            },
            None,
        ),
        (None, None) => {
            let wd = weekday_of(date);
            if cal.sessions.iter().any(|s| s.days.contains(&wd)) {
                (DayKind::Workday, Some(wd))
            } else {
                (DayKind::RestDay, None)
            }
        }
    };
    let mut spans: Vec<(NaiveDateTime, NaiveDateTime)> = Vec::new();
    if let Some(wd) = weekday {
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        for s in cal.sessions.iter().filter(|s| s.days.contains(&wd)) {
            spans.push((
                midnight + Duration::minutes(i64::from(s.from.minutes())),
                midnight + Duration::minutes(i64::from(s.to.minutes())),
            ));
        }
        spans.sort();
        for c in &cal.closures {
            spans = cut(spans, c.from.0, c.to.0);
        }
    }
    let slots = spans
        .into_iter()
        .enumerate()
        .map(|(i, (start, end))| Slot {
            index: i as u32,
            start,
            end,
        })
        .collect();
    DayPlan { date, kind, slots }
}

/// Removes [from, to) from every span.
fn cut(
    spans: Vec<(NaiveDateTime, NaiveDateTime)>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let mut out = Vec::with_capacity(spans.len() + 1);
    for (s, e) in spans {
        if to <= s || from >= e {
            out.push((s, e));
            continue;
        }
        if s < from {
            out.push((s, from));
        }
        if to < e {
            out.push((to, e));
        }
    }
    out
}

/// Local wall-clock time of an instant in the hall's zone.
pub fn local(tz: Tz, at_ms: Millis) -> NaiveDateTime {
    match chrono::DateTime::from_timestamp_millis(at_ms) {
        Some(t) => t.with_timezone(&tz).naive_local(),
        None => NaiveDateTime::default(),
    }
}

/// The instant of a local wall-clock time (the earlier one when a DST shift makes it ambiguous,
/// the shift's end when it does not exist).
pub fn instant(tz: Tz, t: NaiveDateTime) -> Millis {
    match tz.from_local_datetime(&t) {
        LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => x.timestamp_millis(),
        LocalResult::None => instant(tz, t + Duration::hours(1)),
    }
}

/// The calendar slot running at an instant, if any: (date, slot).
pub fn slot_at(cal: &CalendarConfig, tz: Tz, at_ms: Millis) -> Option<(NaiveDate, Slot)> {
    let now = local(tz, at_ms);
    let date = now.date();
    day_plan(cal, date)
        .slots
        .into_iter()
        .find(|s| s.start <= now && now < s.end)
        .map(|s| (date, s))
}

/// Closures whose notice should be shown at an instant (running now or later today and after).
pub fn notices_at(cal: &CalendarConfig, tz: Tz, at_ms: Millis) -> Vec<&ClosureConfig> {
    let now = local(tz, at_ms);
    cal.closures.iter().filter(|c| c.to.0 > now).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        HolidayConfig, LocalDateTime, MakeupWorkdayConfig, SessionConfig, TimeOfDay,
    };

    fn cal() -> CalendarConfig {
        let t = |s: &str| TimeOfDay::parse(s).unwrap();
        let weekdays = vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ];
        CalendarConfig {
            sessions: vec![
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
            ],
            holidays: vec![HolidayConfig {
                from: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
                to: Some(NaiveDate::from_ymd_opt(2026, 10, 7).unwrap()),
                name: "国庆节".into(),
            }],
            makeup_workdays: vec![MakeupWorkdayConfig {
                date: NaiveDate::from_ymd_opt(2026, 10, 10).unwrap(),
                as_weekday: Weekday::Fri,
            }],
            closures: vec![ClosureConfig {
                from: LocalDateTime::parse("2026-11-25T14:00").unwrap(),
                to: LocalDateTime::parse("2026-11-25T15:00").unwrap(),
                notice: "系统升级".into(),
                notice_en: "System upgrade".into(),
            }],
            ..CalendarConfig::default()
        }
    }

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn workday_holiday_makeup_rest() {
        let c = cal();
        assert_eq!(day_plan(&c, d(11, 24)).kind, DayKind::Workday);
        assert_eq!(day_plan(&c, d(11, 24)).slots.len(), 2);
        assert!(matches!(
            day_plan(&c, d(10, 2)).kind,
            DayKind::Holiday { .. }
        ));
        assert!(day_plan(&c, d(10, 2)).slots.is_empty());
        // 2026-10-10 is a Saturday worked as a Friday.
        assert_eq!(day_plan(&c, d(10, 10)).slots.len(), 2);
        assert_eq!(day_plan(&c, d(10, 11)).kind, DayKind::RestDay);
    }

    #[test]
    fn closure_cuts_a_session() {
        let p = day_plan(&cal(), d(11, 25));
        let hm = |s: &Slot| {
            (
                s.start.format("%H:%M").to_string(),
                s.end.format("%H:%M").to_string(),
            )
        };
        let got: Vec<_> = p.slots.iter().map(hm).collect();
        assert_eq!(
            got,
            vec![
                ("08:30".into(), "11:30".into()),
                ("13:00".into(), "14:00".into()),
                ("15:00".into(), "17:00".into())
            ]
        );
    }

    #[test]
    fn slot_at_respects_time_zone() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        // 2026-11-24 01:00 UTC = 09:00 in Shanghai: the morning session.
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 24, 1, 0, 0)
            .unwrap()
            .timestamp_millis();
        let (date, slot) = slot_at(&cal(), tz, at).unwrap();
        assert_eq!(date, d(11, 24));
        assert_eq!(slot.index, 0);
        // 12:00 local: lunch.
        assert!(slot_at(&cal(), tz, at + 3 * 3_600_000).is_none());
        assert_eq!(instant(tz, slot.start), at - 30 * 60_000);
    }
}
