//! Statistics computed from the journal, so any past period can be
//! recomputed exactly: per business day, week, month and quarter; per hall,
//! zone, department, service, window and staff member.
//!
//! - [`period`]: the period (day, ISO week, month, quarter).
//! - [`figures`]: what is counted and **the attribution rules** (which group
//!   a fact counts for), quantile definition, report types.
//! - `collect`: [`Collector`], the fold of journal records (a [`crate::queue::Hall`]
//!   replica evolved event by event, so joins and idle time are exact).
//! - `acc`: the accumulators; [`attendance`], [`followup`], [`ranking`]:
//!   考勤, 差评整改 deadlines, 红旗窗口/服务明星.
//! - [`tables`]: the report's views as [`crate::report::Table`]s.
//! - [`evaluation`]: one 好差评 record (shared with the outbox).
//!
//! Everything here is pure: records in, a report out. The caller reads the
//! journal ([`from_reader`]) — from its first row, whatever the period.

mod acc;
pub mod attendance;
mod collect;
pub mod evaluation;
pub mod figures;
pub mod followup;
pub mod period;
pub mod ranking;
pub mod tables;

use std::sync::Arc;

pub use collect::Collector;
pub use evaluation::EvaluationRecord;
pub use figures::{
    Attendance, DayFigures, Durations, Figures, FollowUp, Group, Outcomes, Paused, Ranked,
    Rankings, Ratings, StatsReport, Within,
};
pub use period::{Period, PeriodKind};
pub use tables::tables;

use crate::config::Config;
use crate::journal::JournalReader;

/// The statistics of `period`, folded from the journal behind `reader`
/// from its first row (read-only; safe beside a running daemon — call it
/// on a blocking thread). Reading stops once [`Collector::is_complete`]
/// (checked at each `day_opened`), so a past period does not read the rest
/// of the journal. Fails on a journal row this build cannot read.
pub fn from_reader(
    config: Arc<Config>,
    reader: &JournalReader,
    period: &Period,
) -> anyhow::Result<StatsReport> {
    let mut c = Collector::new(config, *period);
    let read = reader.for_each_from(0, |rec| {
        c.feed(&rec)?;
        if rec.kind == "day_opened" && c.is_complete() {
            return Err(anyhow::Error::new(Complete));
        }
        Ok(())
    });
    match read {
        Err(e) if !e.is::<Complete>() => Err(e),
        _ => Ok(c.finish()),
    }
}

/// Stops the journal read early (not an error for the caller).
#[derive(Debug)]
struct Complete;

impl std::fmt::Display for Complete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the period is complete")
    }
}

impl std::error::Error for Complete {}
