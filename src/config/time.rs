//! Wall-clock values as written in the hall's calendar: `"08:30"` and
//! `"2026-11-25T13:00"`, always local to the hall's time zone.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Minutes after local midnight, `00:00` to `24:00` inclusive (24:00 ends a
/// session at midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    pub const END_OF_DAY: TimeOfDay = TimeOfDay(24 * 60);

    pub fn minutes(self) -> u16 {
        self.0
    }

    pub fn of(time: NaiveTime) -> TimeOfDay {
        TimeOfDay((time.hour() * 60 + time.minute()) as u16)
    }

    /// Parses `HH:MM` (00:00–24:00).
    pub fn parse(text: &str) -> Result<TimeOfDay, String> {
        let bad = || format!("\"{text}\" is not a time of day; write HH:MM from 00:00 to 24:00");
        let (h, m) = text.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if m >= 60 || h > 24 || (h == 24 && m != 0) {
            return Err(bad());
        }
        Ok(TimeOfDay(h * 60 + m))
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        TimeOfDay::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A local date and time to the minute, written `2026-11-25T13:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDateTime(pub NaiveDateTime);

impl LocalDateTime {
    pub fn parse(text: &str) -> Result<LocalDateTime, String> {
        let bad = || format!("\"{text}\" is not a local date and time; write YYYY-MM-DDTHH:MM");
        let (date, time) = text
            .split_once('T')
            .or_else(|| text.split_once(' '))
            .ok_or_else(bad)?;
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?;
        let time = TimeOfDay::parse(time).map_err(|_| bad())?;
        let midnight = date.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
        Ok(LocalDateTime(
            midnight + chrono::Duration::minutes(i64::from(time.minutes())),
        ))
    }
}

impl fmt::Display for LocalDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M"))
    }
}

impl Serialize for LocalDateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalDateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        LocalDateTime::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_of_day_parses_and_refuses() {
        assert_eq!(TimeOfDay::parse("08:30").unwrap().minutes(), 510);
        assert_eq!(TimeOfDay::parse("24:00").unwrap(), TimeOfDay::END_OF_DAY);
        for bad in ["8:30", "24:01", "12:60", "ab:cd", "", "12-30"] {
            assert!(TimeOfDay::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(TimeOfDay::parse("13:05").unwrap().to_string(), "13:05");
    }

    #[test]
    fn local_date_time_parses() {
        let t = LocalDateTime::parse("2026-11-25T13:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-25T13:00");
        assert_eq!(LocalDateTime::parse("2026-11-25 13:00").unwrap(), t);
        assert!(LocalDateTime::parse("2026-11-25").is_err());
        assert!(LocalDateTime::parse("2026-13-25T13:00").is_err());
    }
}
