//! Attendance (考勤) from sign-in and sign-out against the calendar.
//!
//! Per staff member and date (the hall-local date of the sign-in):
//! - *present* = signed in at a window and not paused for lunch;
//! - **late start** = first sign-in − start of the day's first session (if later);
//! - **early leave** = end of the day's last session − last sign-out (if
//!   earlier; the day-end sweep's sign-out counts as a sign-out; still
//!   signed in at the journal's end = no early leave);
//! - **long lunch**, per break between two sessions: the absences (not
//!   present) between the first sign-in and the last sign-out that overlap
//!   the break, summed, minus the break's length, if positive. Leaving at
//!   11:20 and coming back at 13:15 around a 11:30–13:00 break is 115 − 90 =
//!   25 minutes; working through lunch is 0; leaving for good at 11:20 is an
//!   early leave, not a long lunch.
//!
//! Session times come from the calendar's day plan (`queue::calendar::day_plan`),
//! so holidays, make-up workdays and closures are honoured. On a date with
//! no session (rest day, holiday) only presence is reported.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;

use super::figures::Attendance;
use super::period::Period;
use crate::config::Config;
use crate::queue::calendar::{self, day_plan};
use crate::queue::{Hall, Millis, PauseReason, WindowNo};

#[derive(Debug, Default)]
struct StaffDay {
    windows: BTreeSet<WindowNo>,
    sign_ins: Vec<Millis>,
    sign_outs: Vec<Millis>,
    /// Present intervals [from, to).
    present: Vec<(Millis, Millis)>,
    still_in: bool,
}

/// Follows who is signed in and present, event by event.
#[derive(Debug, Default)]
pub(crate) struct AttendanceLog {
    /// staff → (window, date of the sign-in), as of the last event.
    signed: HashMap<String, (WindowNo, NaiveDate)>,
    present_since: HashMap<String, Millis>,
    days: BTreeMap<(NaiveDate, String), StaffDay>,
}

impl AttendanceLog {
    /// Call after folding an event that may sign in, sign out, pause or
    /// resume (the caller filters: a full scan of the windows per call).
    pub fn observe(&mut self, hall: &Hall, at_ms: Millis, period: &Period) {
        let tz = hall.config().tz;
        let mut now_signed: HashMap<&str, WindowNo> = HashMap::new();
        let mut now_present: BTreeSet<&str> = BTreeSet::new();
        for w in hall.windows() {
            if let Some(s) = &w.staff {
                now_signed.insert(s.as_str(), w.number);
                if w.paused != Some(PauseReason::Lunch) {
                    now_present.insert(s.as_str());
                }
            }
        }
        // Ended presence first, then sign-outs, sign-ins, new presence.
        let ended: Vec<String> = self
            .present_since
            .keys()
            .filter(|s| !now_present.contains(s.as_str()))
            .cloned()
            .collect();
        for s in ended {
            if let (Some(from), Some((_, day))) =
                (self.present_since.remove(&s), self.signed.get(&s).copied())
                && let Some(d) = self.day_mut(day, &s, period)
            {
                d.present.push((from, at_ms));
            }
        }
        let gone: Vec<String> = self
            .signed
            .iter()
            .filter(|(s, (w, _))| now_signed.get(s.as_str()) != Some(w))
            .map(|(s, _)| s.clone())
            .collect();
        for s in gone {
            if let Some((_, day)) = self.signed.remove(&s)
                && let Some(d) = self.day_mut(day, &s, period)
            {
                d.sign_outs.push(at_ms);
                d.still_in = false;
            }
        }
        for (s, w) in &now_signed {
            if !self.signed.contains_key(*s) {
                let day = calendar::local(tz, at_ms).date();
                self.signed.insert(s.to_string(), (*w, day));
                if let Some(d) = self.day_mut(day, s, period) {
                    d.sign_ins.push(at_ms);
                    d.windows.insert(*w);
                    d.still_in = true;
                }
            }
        }
        for s in now_present {
            if !self.present_since.contains_key(s) {
                self.present_since.insert(s.to_string(), at_ms);
            }
        }
    }

    /// Is anyone still signed in since a date of the period?
    pub fn open_in(&self, period: &Period) -> bool {
        self.signed.values().any(|(_, day)| period.contains(*day))
    }

    fn day_mut(&mut self, day: NaiveDate, staff: &str, period: &Period) -> Option<&mut StaffDay> {
        period
            .contains(day)
            .then(|| self.days.entry((day, staff.to_string())).or_default())
    }

    /// The attendance rows, by date then staff account. Presence still open
    /// at the journal's end is closed at `end_ms` (the last event's time).
    pub fn finish(mut self, config: &Config, end_ms: Millis, period: &Period) -> Vec<Attendance> {
        let open: Vec<(String, Millis)> = self.present_since.drain().collect();
        for (s, from) in open {
            if let Some((_, day)) = self.signed.get(&s).copied()
                && let Some(d) = self.day_mut(day, &s, period)
            {
                d.present.push((from, end_ms));
            }
        }
        let tz = config.tz;
        let mut rows = Vec::with_capacity(self.days.len());
        for ((date, staff), d) in self.days {
            let plan = day_plan(&config.file.calendar, date);
            let slots: Vec<(Millis, Millis)> = plan
                .slots
                .iter()
                .map(|s| (calendar::instant(tz, s.start), calendar::instant(tz, s.end)))
                .collect();
            let first_in = d.sign_ins.iter().min().copied();
            let last_out = if d.still_in {
                None
            } else {
                d.sign_outs.iter().max().copied()
            };
            let late_start_ms = match (slots.first(), first_in) {
                (Some((start, _)), Some(t)) => (t - start).max(0),
                _ => 0,
            };
            let early_leave_ms = match (slots.last(), last_out) {
                (Some((_, end)), Some(t)) => (end - t).max(0),
                _ => 0,
            };
            let mut present = d.present.clone();
            present.sort_unstable();
            let present_in_sessions_ms = slots
                .iter()
                .map(|(a, b)| {
                    present
                        .iter()
                        .map(|(p, q)| overlap(*a, *b, *p, *q))
                        .sum::<i64>()
                })
                .sum();
            let scheduled_ms = slots.iter().map(|(a, b)| b - a).sum();
            let absences = match first_in {
                Some(f) => gaps(&present, f, last_out.unwrap_or(end_ms.max(f))),
                None => Vec::new(),
            };
            let long_lunch_ms = slots
                .windows(2)
                .map(|p| {
                    let (b0, b1) = (p[0].1, p[1].0);
                    let away: i64 = absences
                        .iter()
                        .filter(|(a, b)| *a < b1 && *b > b0)
                        .map(|(a, b)| b - a)
                        .sum();
                    (away - (b1 - b0)).max(0)
                })
                .sum();
            let person = config.staff(&staff);
            let hms = |t: Millis| calendar::local(tz, t).format("%H:%M:%S").to_string();
            rows.push(Attendance {
                date,
                staff_name: person.map(|p| p.name.clone()).unwrap_or_default(),
                job_number: person.map(|p| p.job_number.clone()).unwrap_or_default(),
                staff,
                windows: d.windows.into_iter().collect(),
                sessions: plan
                    .slots
                    .iter()
                    .map(|s| format!("{}–{}", s.start.format("%H:%M"), s.end.format("%H:%M")))
                    .collect(),
                first_sign_in: first_in.map(hms).unwrap_or_default(),
                last_sign_out: last_out.map(hms).unwrap_or_default(),
                present_in_sessions_ms,
                scheduled_ms,
                late_start_ms,
                early_leave_ms,
                long_lunch_ms,
            });
        }
        rows
    }
}

/// Length of [a, b) ∩ [p, q).
fn overlap(a: Millis, b: Millis, p: Millis, q: Millis) -> i64 {
    (b.min(q) - a.max(p)).max(0)
}

/// The parts of [from, to) not covered by the sorted intervals.
fn gaps(sorted: &[(Millis, Millis)], from: Millis, to: Millis) -> Vec<(Millis, Millis)> {
    let mut out = Vec::new();
    let mut at = from;
    for (p, q) in sorted {
        if *p > at && at < to {
            out.push((at, (*p).min(to)));
        }
        at = at.max(*q);
    }
    if at < to {
        out.push((at, to));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_the_uncovered_parts() {
        // Covered 10–20 and 30–40 inside 5–50: gaps 5–10, 20–30, 40–50.
        assert_eq!(
            gaps(&[(10, 20), (30, 40)], 5, 50),
            vec![(5, 10), (20, 30), (40, 50)]
        );
        // Overlapping cover leaves no gap between.
        assert_eq!(gaps(&[(0, 20), (10, 30)], 0, 30), vec![]);
        assert_eq!(overlap(0, 10, 5, 20), 5);
        assert_eq!(overlap(0, 10, 10, 20), 0);
    }
}
