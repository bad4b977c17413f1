//! The period a report covers: one business day, an ISO week, a month or a
//! quarter, as hall-local dates (both ends inclusive).

use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Serialize;

/// What kind of period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Day,
    /// ISO 8601 week, Monday to Sunday (`2026-W48`).
    Week,
    Month,
    Quarter,
}

impl PeriodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Day => "day",
            PeriodKind::Week => "week",
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
        }
    }
}

/// A reporting period. Serialized as `{kind, label, first, last}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    kind: PeriodKind,
    first: NaiveDate,
    last: NaiveDate,
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Period", 4)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("label", &self.label())?;
        st.serialize_field("first", &self.first)?;
        st.serialize_field("last", &self.last)?;
        st.end()
    }
}

/// Years a period may name (a typo like `20026-11` is refused, not searched).
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2199;

impl Period {
    /// Parses `kind` (`day`, `week`, `month`, `quarter`) and its value
    /// (`2026-11-24`, `2026-W48`, `2026-11`, `2026-Q4`). The error says
    /// which form is allowed.
    pub fn parse(kind: &str, value: &str) -> Result<Period, String> {
        let value = value.trim();
        match kind.trim() {
            "day" => Period::parse_day(value),
            "week" => Period::parse_week(value),
            "month" => Period::parse_month(value),
            "quarter" => Period::parse_quarter(value),
            other => Err(format!(
                "unknown period kind {other:?}; use day (2026-11-24), week (2026-W48), month (2026-11) or quarter (2026-Q4)"
            )),
        }
    }

    /// One business day.
    pub fn day(date: NaiveDate) -> Period {
        Period {
            kind: PeriodKind::Day,
            first: date,
            last: date,
        }
    }

    /// The ISO week containing `date`.
    pub fn week_of(date: NaiveDate) -> Period {
        let first = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
        Period {
            kind: PeriodKind::Week,
            first,
            last: first + Duration::days(6),
        }
    }

    /// The month containing `date`.
    pub fn month_of(date: NaiveDate) -> Period {
        let first = date.with_day(1).unwrap_or(date);
        Period {
            kind: PeriodKind::Month,
            first,
            last: last_of_month(first.year(), first.month()).unwrap_or(first),
        }
    }

    /// The quarter containing `date`.
    pub fn quarter_of(date: NaiveDate) -> Period {
        let m0 = (date.month0() / 3) * 3 + 1;
        let first = NaiveDate::from_ymd_opt(date.year(), m0, 1).unwrap_or(date);
        Period {
            kind: PeriodKind::Quarter,
            first,
            last: last_of_month(date.year(), m0 + 2).unwrap_or(first),
        }
    }

    fn parse_day(v: &str) -> Result<Period, String> {
        let bad = || format!("day {v:?} is not a date; write YYYY-MM-DD, e.g. 2026-11-24");
        let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| bad())?;
        if v.len() != 10 || !YEARS.contains(&d.year()) {
            return Err(bad());
        }
        Ok(Period::day(d))
    }

    fn parse_week(v: &str) -> Result<Period, String> {
        let bad = || {
            format!(
                "week {v:?} is not an ISO week; write YYYY-Www, e.g. 2026-W48 (weeks 01–52 or 53)"
            )
        };
        let (y, w) = v.split_once("-W").ok_or_else(bad)?;
        let year = parse_num(y, 4).ok_or_else(bad)?;
        let week = parse_num(w, 2).ok_or_else(bad)?;
        if !YEARS.contains(&year) {
            return Err(bad());
        }
        let first =
            NaiveDate::from_isoywd_opt(year, week as u32, Weekday::Mon).ok_or_else(|| {
                format!(
                    "{year} has no ISO week {week}; its weeks are 01–{:02}",
                    iso_weeks(year)
                )
            })?;
        Ok(Period::week_of(first))
    }

    fn parse_month(v: &str) -> Result<Period, String> {
        let bad = || format!("month {v:?} is not a month; write YYYY-MM, e.g. 2026-11");
        let (y, m) = v.split_once('-').ok_or_else(bad)?;
        let year = parse_num(y, 4).ok_or_else(bad)?;
        let month = parse_num(m, 2).ok_or_else(bad)?;
        if !YEARS.contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        let first = NaiveDate::from_ymd_opt(year, month as u32, 1).ok_or_else(bad)?;
        Ok(Period::month_of(first))
    }

    fn parse_quarter(v: &str) -> Result<Period, String> {
        let bad =
            || format!("quarter {v:?} is not a quarter; write YYYY-Qn with n 1–4, e.g. 2026-Q4");
        let (y, q) = v.split_once("-Q").ok_or_else(bad)?;
        let year = parse_num(y, 4).ok_or_else(bad)?;
        let quarter = parse_num(q, 1).ok_or_else(bad)?;
        if !YEARS.contains(&year) || !(1..=4).contains(&quarter) {
            return Err(bad());
        }
        let first =
            NaiveDate::from_ymd_opt(year, (quarter as u32 - 1) * 3 + 1, 1).ok_or_else(bad)?;
        Ok(Period::quarter_of(first))
    }

    pub fn kind(&self) -> PeriodKind {
        self.kind
    }

    /// `2026-11-24`, `2026-W48`, `2026-11`, `2026-Q4` (what `parse` reads back).
    pub fn label(&self) -> String {
        let d = self.first;
        match self.kind {
            PeriodKind::Day => d.format("%Y-%m-%d").to_string(),
            PeriodKind::Week => {
                let w = d.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            PeriodKind::Month => d.format("%Y-%m").to_string(),
            PeriodKind::Quarter => format!("{}-Q{}", d.year(), d.month0() / 3 + 1),
        }
    }

    /// Chinese label for report titles: `2026年11月24日`, `2026年第48周`, `2026年11月`, `2026年第4季度`.
    pub fn label_zh(&self) -> String {
        let d = self.first;
        match self.kind {
            PeriodKind::Day => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
            PeriodKind::Week => {
                let w = d.iso_week();
                format!("{}年第{}周", w.year(), w.week())
            }
            PeriodKind::Month => format!("{}年{}月", d.year(), d.month()),
            PeriodKind::Quarter => format!("{}年第{}季度", d.year(), d.month0() / 3 + 1),
        }
    }

    /// First date (inclusive).
    pub fn first(&self) -> NaiveDate {
        self.first
    }

    /// Last date (inclusive).
    pub fn last(&self) -> NaiveDate {
        self.last
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.first <= date && date <= self.last
    }

    /// Number of dates in the period.
    pub fn len_days(&self) -> u32 {
        (self.last - self.first).num_days() as u32 + 1
    }

    /// Every date of the period, in order.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let (first, last) = (self.first, self.last);
        first.iter_days().take_while(move |d| *d <= last)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Exactly `digits` ASCII digits.
fn parse_num(s: &str, digits: usize) -> Option<i32> {
    (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn last_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).and_then(|d| d.pred_opt())
}

fn iso_weeks(year: i32) -> u32 {
    // 28 December is always in the last ISO week of its year.
    NaiveDate::from_ymd_opt(year, 12, 28).map_or(52, |d| d.iso_week().week())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn parses_each_kind_and_labels_round_trip() {
        let p = Period::parse("day", "2026-11-24").unwrap();
        assert_eq!(
            (p.first(), p.last(), p.label()),
            (d(2026, 11, 24), d(2026, 11, 24), "2026-11-24".into())
        );
        // ISO week 48 of 2026: Monday 23 November to Sunday 29 November.
        let p = Period::parse("week", "2026-W48").unwrap();
        assert_eq!((p.first(), p.last()), (d(2026, 11, 23), d(2026, 11, 29)));
        assert_eq!(p.label(), "2026-W48");
        // Week 1 of 2026 starts on Monday 29 December 2025 (1 January 2026 is a Thursday).
        let p = Period::parse("week", "2026-W01").unwrap();
        assert_eq!(p.first(), d(2025, 12, 29));
        assert_eq!(p.label(), "2026-W01");
        let p = Period::parse("month", "2026-02").unwrap();
        assert_eq!((p.first(), p.last()), (d(2026, 2, 1), d(2026, 2, 28)));
        let p = Period::parse("month", "2028-02").unwrap();
        assert_eq!(p.last(), d(2028, 2, 29));
        let p = Period::parse("quarter", "2026-Q4").unwrap();
        assert_eq!((p.first(), p.last()), (d(2026, 10, 1), d(2026, 12, 31)));
        assert_eq!(p.label(), "2026-Q4");
        assert_eq!(p.label_zh(), "2026年第4季度");
        assert_eq!(p.len_days(), 92);
        assert_eq!(p.dates().count(), 92);
        assert!(p.contains(d(2026, 11, 24)) && !p.contains(d(2027, 1, 1)));
        for (k, v) in [
            ("day", "2026-11-24"),
            ("week", "2026-W53"),
            ("month", "2026-11"),
            ("quarter", "2026-Q1"),
        ] {
            let p = Period::parse(k, v).unwrap();
            assert_eq!(Period::parse(k, &p.label()).unwrap(), p);
        }
    }

    #[test]
    fn refuses_bad_values_saying_what_is_allowed() {
        let e = Period::parse("year", "2026").unwrap_err();
        assert!(e.contains("day") && e.contains("quarter"), "{e}");
        assert!(
            Period::parse("day", "2026-11-31")
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
        assert!(Period::parse("day", "2026-1-5").is_err());
        assert!(
            Period::parse("month", "2026-13")
                .unwrap_err()
                .contains("YYYY-MM")
        );
        assert!(Period::parse("month", "20026-11").is_err());
        assert!(
            Period::parse("quarter", "2026-Q5")
                .unwrap_err()
                .contains("1–4")
        );
        // 2025 has 52 ISO weeks, 2026 has 53.
        let e = Period::parse("week", "2025-W53").unwrap_err();
        assert!(e.contains("01–52"), "{e}");
        assert!(
            Period::parse("week", "2026-48")
                .unwrap_err()
                .contains("2026-W48")
        );
    }
}
