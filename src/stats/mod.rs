//! Statistics computed from the journal, so any past period can be
//! recomputed exactly: per business day, week, month and quarter; per hall,
//! zone, department, service, window and staff member.

pub mod evaluation;

pub use evaluation::EvaluationRecord;
