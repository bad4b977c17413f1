//! The figures of one group (the hall, a zone, a department, a service, a
//! window, a staff member, or one business day of the hall) over a period,
//! and the report that holds them all.
//!
//! # Attribution (who a figure counts for)
//!
//! A ticket moves through *visits*: one visit per service step. A visit
//! starts when the ticket enters a service's line — at issue, at a transfer
//! (the new service's visit starts at the transfer), or at the finish of a
//! flow step with `next_step` — and ends when it is finished, transferred,
//! finally no-shown, cancelled or expired. A no-show that is re-queued keeps
//! the same visit (one wait, from the visit's start to its *first* call).
//!
//! - **Business day**: everything about a ticket counts for the ticket's
//!   business day (the `DayOpened` date it was issued under), even when it
//!   happens after the session closed (延时服务). Window time (idle, paused)
//!   counts for the hall's current business day.
//! - **issued**: the hall, the service whose series issued the number and
//!   that service's department. Zones, windows and staff do not count issued
//!   tickets (nobody at a window has seen them yet).
//! - **called, recalls, served, outcomes, no_show, transferred, parked**:
//!   the visit's service and its department, and the window (with its zone)
//!   and staff member that did it.
//! - **transferred**: counted once on the transferring visit (its service,
//!   window and staff); the receiving service gets a new visit whose wait
//!   starts at the transfer.
//! - **no_show**: every no-show event counts (also those re-queued);
//!   `no_show_final` counts only those that ended the ticket.
//! - **cancelled, expired**: the hall, the ticket's current service and its
//!   department only (no window is to blame for a citizen who left, or for
//!   the day-end sweep). A cancel of a ticket already ended counts nothing.
//! - **wait** (issue → first call): per visit that started at issue or at a
//!   transfer, attributed to the service of the visit and to the window,
//!   zone and staff of its first call. **walk** (finish of a flow step →
//!   first call of the next step) is the same measure for visits that
//!   started at a `next_step`; it is kept apart from waiting time so a
//!   four-step flow does not count as four waits.
//! - **service** (start → finish): per finished visit that was started,
//!   attributed like served; wall-clock time, so a visit parked and taken
//!   back counts its parked minutes (a transferred visit has no service time).
//! - **names and targets** (service names, departments, zones,
//!   `target_wait_minutes`) come from the configuration given to the
//!   collector — the current one — not from the one in force at the time.
//! - **idle_while_waiting_ms**: time a window was open, staffed, not paused,
//!   had no current ticket, while at least one ticket waited in the line of a
//!   service it serves (`Hall::waiting_for_window`); summed exactly between
//!   consecutive journal events; counted for the window, its zone, its
//!   department (of the window) and the staff member signed in.
//! - **paused_ms**: time a window was paused, by reason, counted like idle.
//! - **ratings**: the rated visit (the last visit finished at that window),
//!   its service, department, window, zone and staff, on the visit's
//!   business day; a rating given after the next business day opened is
//!   not counted (the evaluator times out long before).
//!
//! Durations are kept in milliseconds (exact); reports show minutes.

use std::collections::BTreeMap;

use serde::Serialize;

use super::evaluation::EvaluationRecord;
use super::period::Period;
use crate::queue::{Outcome, PauseReason, Rating};

/// Counts and durations of one group over the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Tickets issued (hall, service that issued, its department only).
    pub issued: u64,
    /// Call events (a re-call after a no-show re-queue counts again).
    pub called: u64,
    /// Visits finished at a window, any outcome (a four-step flow is served four times).
    pub served: u64,
    /// No-show events (including those re-queued).
    pub no_show: u64,
    /// No-shows that ended the ticket.
    pub no_show_final: u64,
    pub transferred: u64,
    pub parked: u64,
    pub cancelled: u64,
    pub expired: u64,
    pub recalls: u64,
    pub outcomes: Outcomes,
    /// Issue (or transfer) → first call.
    pub wait: Durations,
    /// Start → finish.
    pub service: Durations,
    /// Finish of a flow step → first call of the next step.
    pub walk: Durations,
    /// Open, staffed, unpaused, no current ticket, while people it could serve waited.
    pub idle_while_waiting_ms: i64,
    pub paused_ms: Paused,
    pub ratings: Ratings,
}

impl Figures {
    /// Adds the counts of `other` (durations: their samples are merged).
    pub fn add(&mut self, o: &Figures) {
        self.issued += o.issued;
        self.called += o.called;
        self.served += o.served;
        self.no_show += o.no_show;
        self.no_show_final += o.no_show_final;
        self.transferred += o.transferred;
        self.parked += o.parked;
        self.cancelled += o.cancelled;
        self.expired += o.expired;
        self.recalls += o.recalls;
        self.outcomes.add(&o.outcomes);
        self.wait.merge(&o.wait);
        self.service.merge(&o.service);
        self.walk.merge(&o.walk);
        self.idle_while_waiting_ms += o.idle_while_waiting_ms;
        self.paused_ms.add(&o.paused_ms);
        self.ratings.add(&o.ratings);
    }
}

/// 办结结果 counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    pub done: u64,
    pub accepted: u64,
    pub reported_up: u64,
    pub rejected: u64,
    /// Rejections by their reason as typed at the window (empty reason: `""`).
    pub rejected_by_reason: BTreeMap<String, u64>,
    pub incomplete: u64,
    pub wrong_jurisdiction: u64,
}

impl Outcomes {
    pub fn count(&mut self, outcome: Outcome, reason: Option<&str>) {
        match outcome {
            Outcome::Done => self.done += 1,
            Outcome::Accepted => self.accepted += 1,
            Outcome::ReportedUp => self.reported_up += 1,
            Outcome::Rejected => {
                self.rejected += 1;
                let r = reason.unwrap_or("").trim().to_string();
                *self.rejected_by_reason.entry(r).or_default() += 1;
            }
            Outcome::Incomplete => self.incomplete += 1,
            Outcome::WrongJurisdiction => self.wrong_jurisdiction += 1,
        }
    }

    fn add(&mut self, o: &Outcomes) {
        self.done += o.done;
        self.accepted += o.accepted;
        self.reported_up += o.reported_up;
        self.rejected += o.rejected;
        for (r, n) in &o.rejected_by_reason {
            *self.rejected_by_reason.entry(r.clone()).or_default() += n;
        }
        self.incomplete += o.incomplete;
        self.wrong_jurisdiction += o.wrong_jurisdiction;
    }
}

/// Paused time by reason, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Paused {
    pub lunch: i64,
    #[serde(rename = "break")]
    pub break_: i64,
    pub out_of_supplies: i64,
    pub meeting: i64,
}

impl Paused {
    pub fn total(&self) -> i64 {
        self.lunch + self.break_ + self.out_of_supplies + self.meeting
    }

    pub fn add_reason(&mut self, reason: PauseReason, ms: i64) {
        match reason {
            PauseReason::Lunch => self.lunch += ms,
            PauseReason::Break => self.break_ += ms,
            PauseReason::OutOfSupplies => self.out_of_supplies += ms,
            PauseReason::Meeting => self.meeting += ms,
        }
    }

    fn add(&mut self, o: &Paused) {
        self.lunch += o.lunch;
        self.break_ += o.break_;
        self.out_of_supplies += o.out_of_supplies;
        self.meeting += o.meeting;
    }
}

/// 好差评 counts. `satisfaction_rate` = (非常满意 + 满意 + 基本满意) / rated;
/// `rated_share` = rated / (rated + not rated). *Not rated* never counts as good.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ratings {
    pub very_satisfied: u64,
    pub satisfied: u64,
    pub basically_satisfied: u64,
    pub dissatisfied: u64,
    pub very_dissatisfied: u64,
    /// The evaluator timed out (or the citizen walked away).
    pub not_rated: u64,
    pub rated: u64,
    /// 好评: 非常满意 + 满意 + 基本满意.
    pub positive: u64,
    /// 差评: 不满意 + 非常不满意.
    pub negative: u64,
    /// rated / (rated + not_rated); `None` when there was nothing to rate.
    pub rated_share: Option<f64>,
    /// positive / rated; `None` when nothing was rated.
    pub satisfaction_rate: Option<f64>,
}

impl Ratings {
    pub fn count(&mut self, rating: Option<Rating>) {
        match rating {
            Some(Rating::VerySatisfied) => self.very_satisfied += 1,
            Some(Rating::Satisfied) => self.satisfied += 1,
            Some(Rating::BasicallySatisfied) => self.basically_satisfied += 1,
            Some(Rating::Dissatisfied) => self.dissatisfied += 1,
            Some(Rating::VeryDissatisfied) => self.very_dissatisfied += 1,
            None => self.not_rated += 1,
        }
        self.derive();
    }

    /// Recomputes the totals and shares from the five counts and not_rated.
    fn derive(&mut self) {
        self.positive = self.very_satisfied + self.satisfied + self.basically_satisfied;
        self.negative = self.dissatisfied + self.very_dissatisfied;
        self.rated = self.positive + self.negative;
        let asked = self.rated + self.not_rated;
        self.rated_share = (asked > 0).then(|| self.rated as f64 / asked as f64);
        self.satisfaction_rate = (self.rated > 0).then(|| self.positive as f64 / self.rated as f64);
    }

    fn add(&mut self, o: &Ratings) {
        self.very_satisfied += o.very_satisfied;
        self.satisfied += o.satisfied;
        self.basically_satisfied += o.basically_satisfied;
        self.dissatisfied += o.dissatisfied;
        self.very_dissatisfied += o.very_dissatisfied;
        self.not_rated += o.not_rated;
        self.derive();
    }
}

/// A set of durations (milliseconds) and its summary.
///
/// Quantiles use the **nearest-rank** definition: with the `n` samples
/// sorted ascending, the q-quantile is the sample at 1-based rank
/// `ceil(q × n)` (at least 1). So the median of 4 samples is the 2nd, the
/// p90 of 10 samples is the 9th, of 11 samples the 10th. Every reported
/// quantile is a duration that really happened.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Durations {
    pub count: u64,
    pub total_ms: i64,
    pub mean_ms: Option<f64>,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
    pub max_ms: Option<i64>,
    /// Waits only: how many were within the service's `target_wait_minutes`.
    pub within_target: u64,
    /// within_target / count.
    pub within_target_share: Option<f64>,
    /// Waits only: how many were within each `[stats] wait_thresholds_minutes`.
    pub within: Vec<Within>,
    /// The samples, ascending (kept to merge groups exactly; not serialized).
    #[serde(skip)]
    pub samples_ms: Vec<i64>,
}

/// How many waits were within `minutes`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Within {
    pub minutes: u32,
    pub count: u64,
    pub share: Option<f64>,
}

/// The nearest-rank q-quantile of ascending `sorted` samples (see [`Durations`]).
pub fn nearest_rank(sorted: &[i64], q: f64) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    // ceil(q·n) computed in integers for q given in hundredths, so 0.9 × 10 is 9, not 9.000000000000002.
    let hundredths = (q * 100.0).round() as usize;
    let rank = (hundredths * n).div_ceil(100).clamp(1, n);
    Some(sorted[rank - 1])
}

impl Durations {
    /// Adds one sample; `target_ms` (waits only) counts it within the target.
    pub fn push(&mut self, ms: i64, target_ms: Option<i64>) {
        let ms = ms.max(0);
        self.samples_ms.push(ms);
        if target_ms.is_some_and(|t| ms <= t) {
            self.within_target += 1;
        }
    }

    pub(crate) fn merge(&mut self, o: &Durations) {
        self.samples_ms.extend_from_slice(&o.samples_ms);
        self.within_target += o.within_target;
    }

    /// Sorts the samples and fills the summary; `thresholds` in minutes
    /// (waits only; empty for other durations).
    pub fn summarize(&mut self, thresholds: &[u32]) {
        self.samples_ms.sort_unstable();
        let s = &self.samples_ms;
        self.count = s.len() as u64;
        self.total_ms = s.iter().sum();
        self.mean_ms = (!s.is_empty()).then(|| self.total_ms as f64 / s.len() as f64);
        self.median_ms = nearest_rank(s, 0.5);
        self.p90_ms = nearest_rank(s, 0.9);
        self.max_ms = s.last().copied();
        let share = |k: u64| (!s.is_empty()).then(|| k as f64 / s.len() as f64);
        self.within_target_share = share(self.within_target);
        self.within = thresholds
            .iter()
            .map(|m| {
                let limit = i64::from(*m) * 60_000;
                let count = s.partition_point(|x| *x <= limit) as u64;
                Within {
                    minutes: *m,
                    count,
                    share: share(count),
                }
            })
            .collect();
    }
}

/// The figures of one member of a dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Zone/department/service id, window number, staff account.
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_en: String,
    /// Windows: their zone; staff: their 工号 (job number). Else empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub extra: String,
    /// Windows and staff: the department (id), when known.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub department: String,
    pub figures: Figures,
}

/// The hall's figures on one business day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayFigures {
    pub date: chrono::NaiveDate,
    pub figures: Figures,
}

/// One staff member's attendance on one date, against the calendar's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attendance {
    pub date: chrono::NaiveDate,
    pub staff: String,
    pub staff_name: String,
    pub job_number: String,
    /// Windows signed in at that day, ascending.
    pub windows: Vec<u32>,
    /// The calendar's sessions that day (`08:30–11:30`), empty on a rest day.
    pub sessions: Vec<String>,
    /// First sign-in, hall-local `HH:MM:SS`.
    pub first_sign_in: String,
    /// Last sign-out (or the day-end sweep), hall-local `HH:MM:SS`; empty if still signed in.
    pub last_sign_out: String,
    /// Signed in and not paused for lunch, inside the day's sessions.
    pub present_in_sessions_ms: i64,
    /// Length of the day's sessions.
    pub scheduled_ms: i64,
    /// First sign-in after the first session started (0 if on time).
    pub late_start_ms: i64,
    /// Last sign-out before the last session ended (0 if stayed).
    pub early_leave_ms: i64,
    /// Absence around each break between sessions longer than the break
    /// itself, summed (absence = not signed in, or paused for lunch).
    pub long_lunch_ms: i64,
}

/// A negative rating (差评) to follow up (差评整改) by a deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowUp {
    pub evaluation: EvaluationRecord,
    /// The hall-local date of the rating.
    pub rated_on: chrono::NaiveDate,
    /// `followup_days` working days of the hall calendar after `rated_on`
    /// (workdays and make-up workdays count; rest days and holidays do
    /// not). A calendar with no sessions counts calendar days.
    pub deadline: chrono::NaiveDate,
    pub followup_days: u32,
}

/// One place in a ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub rank: u32,
    /// Window number or staff account.
    pub id: String,
    pub name: String,
    pub served: u64,
    pub rated: u64,
    pub positive: u64,
    pub negative: u64,
    pub satisfaction_rate: Option<f64>,
    /// See [`Rankings`].
    pub score: f64,
}

/// 红旗窗口 (windows) and 服务明星 (staff), best first.
///
/// **Score** = the 95% Wilson lower bound of `positive / asked`, where
/// `positive` = 非常满意 + 满意 + 基本满意 and `asked` = max(served, rated)
/// — every finished visit counts in the denominator, so a visit left
/// unrated (or never offered to the evaluator) counts as *not positive*:
/// choosing whom to ask cannot raise a score. With p = positive/asked,
/// n = asked, z = 1.96:
/// `score = (p + z²/2n − z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)`.
/// The lower bound also penalises small volumes (10 of 10 scores 0.72,
/// 100 of 100 scores 0.96). Only members with at least
/// `[stats] ranking_min_rated` rated visits are ranked. Ties: more
/// positive first, then fewer negative, then id.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rankings {
    pub min_rated: u32,
    pub windows: Vec<Ranked>,
    pub staff: Vec<Ranked>,
}

/// Everything the statistics say about one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsReport {
    pub period: Period,
    /// Hall name (Chinese).
    pub hall_name: String,
    /// `[stats] wait_thresholds_minutes` used.
    pub wait_thresholds_minutes: Vec<u32>,
    /// The last journal row read. Reading stops once no later row can
    /// change the period (see `Collector::is_complete`), so a past period's
    /// report stays the same, byte for byte, as the journal grows.
    pub journal_last_seq: u64,
    pub hall: Figures,
    /// Business days of the period with any activity, ascending.
    pub days: Vec<DayFigures>,
    pub zones: Vec<Group>,
    pub departments: Vec<Group>,
    pub services: Vec<Group>,
    pub windows: Vec<Group>,
    pub staff: Vec<Group>,
    pub attendance: Vec<Attendance>,
    /// Every rating (and not-rated) of the period's business days, by journal seq.
    pub evaluations: Vec<EvaluationRecord>,
    pub followups: Vec<FollowUp>,
    pub rankings: Rankings,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let ten: Vec<i64> = (1..=10).collect();
        // Median of 10: rank ceil(5) = 5; p90: rank ceil(9) = 9 (not 9.000…01 → 10).
        assert_eq!(nearest_rank(&ten, 0.5), Some(5));
        assert_eq!(nearest_rank(&ten, 0.9), Some(9));
        let eleven: Vec<i64> = (1..=11).collect();
        // Median of 11: rank ceil(5.5) = 6; p90: rank ceil(9.9) = 10.
        assert_eq!(nearest_rank(&eleven, 0.5), Some(6));
        assert_eq!(nearest_rank(&eleven, 0.9), Some(10));
        // One sample is every quantile; none is none.
        assert_eq!(nearest_rank(&[7], 0.9), Some(7));
        assert_eq!(nearest_rank(&[], 0.5), None);
        // Median of 4 is the 2nd (the lower middle).
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 0.5), Some(2));
    }

    #[test]
    fn summarize_counts_thresholds_and_target() {
        let mut d = Durations::default();
        // Waits of 5, 15, 20 and 40 minutes against a 15-minute target.
        for m in [20, 5, 40, 15] {
            d.push(m * 60_000, Some(15 * 60_000));
        }
        d.summarize(&[15, 30]);
        assert_eq!(d.count, 4);
        assert_eq!(d.within_target, 2, "5 and 15 (the target itself is within)");
        assert_eq!(d.within_target_share, Some(0.5));
        assert_eq!(
            d.within
                .iter()
                .map(|w| (w.minutes, w.count))
                .collect::<Vec<_>>(),
            vec![(15, 2), (30, 3)]
        );
        assert_eq!(d.mean_ms, Some(20.0 * 60_000.0));
        assert_eq!(d.median_ms, Some(15 * 60_000));
        assert_eq!(d.max_ms, Some(40 * 60_000));
        // Merging two halves gives the same summary as the whole.
        let (mut a, mut b) = (Durations::default(), Durations::default());
        a.push(20 * 60_000, Some(15 * 60_000));
        a.push(5 * 60_000, Some(15 * 60_000));
        b.push(40 * 60_000, Some(15 * 60_000));
        b.push(15 * 60_000, Some(15 * 60_000));
        a.merge(&b);
        a.summarize(&[15, 30]);
        assert_eq!(a, d);
    }

    #[test]
    fn ratings_shares_never_count_unrated_as_good() {
        let mut r = Ratings::default();
        for x in [
            Some(Rating::VerySatisfied),
            Some(Rating::BasicallySatisfied),
            Some(Rating::VeryDissatisfied),
            None,
            None,
        ] {
            r.count(x);
        }
        // Rated 3 of 5 asked; 好评 2 of 3 rated.
        assert_eq!((r.rated, r.not_rated, r.positive, r.negative), (3, 2, 2, 1));
        assert_eq!(r.rated_share, Some(0.6));
        assert_eq!(r.satisfaction_rate, Some(2.0 / 3.0));
    }
}
