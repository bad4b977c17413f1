//! 好差评 for the provincial platform: every evaluation of a date range
//! joined with its ticket, service, department, window and staff member
//! (JSON or CSV for upload), the unsatisfied ones to follow up (差评整改)
//! with their deadline, and the state of the push outbox.
//!
//! **Source.** The evaluations and follow-ups come from the statistics
//! engine (`stats::from_reader`, through `api::stats::report_of`: computed
//! on the blocking pool from a read-only journal, one computation at a
//! time, cached by period and journal seq). A range is covered month by
//! month and each evaluation is kept when its business day (`date`) is in
//! `from..=to`, so the export agrees with the monthly report row for row.
//! The outbox status reads the journal's outbox table and the pusher's
//! counters.
//!
//! **Who may read.** Ratings name staff members — personal performance
//! data — so every route here needs `Need::ReadRecord`: managers and admins,
//! and supervisors (电子监察), who read everything and change nothing.
//!
//! **Limits.** A range is at most [`RANGE_DAYS_MAX`] days (13 monthly
//! computations at most).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::AppState;
use super::auth::{Caller, Need};
use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use crate::daemon::outbox::OutboxSnapshot;
use crate::journal::outbox::OutboxReader;
use crate::report::{Cell, Column, Table, csv};
use crate::stats::{EvaluationRecord, FollowUp, Period};

/// Longest range one request may cover.
pub const RANGE_DAYS_MAX: i64 = 366;

/// `from`, `to` and `format` of the evaluation routes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EvaluationsQuery {
    /// First business day, `YYYY-MM-DD` (default: the first of this month, hall time).
    pub from: Option<String>,
    /// Last business day, `YYYY-MM-DD`, inclusive (default: today, hall time).
    pub to: Option<String>,
    /// `json` (default) or `csv` (UTF-8 with BOM, Chinese headers).
    pub format: Option<String>,
    /// Also list *not rated* (未评价) visits; default false (the platform takes ratings).
    pub include_unrated: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

fn parse_date(name: &str, value: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2199).contains(&d.year()))
        .ok_or_else(|| {
            ApiError::bad_request(
                &format!("bad_{name}"),
                format!("{name}：须为日期 YYYY-MM-DD（如 2026-11-24）"),
                format!("{name}: must be a date YYYY-MM-DD (e.g. 2026-11-24), not {value:?}"),
            )
        })
}

/// The range and format a query names, or a 400 naming the parameter.
fn range_of(
    q: &EvaluationsQuery,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate, Format), ApiError> {
    let from = match q.from.as_deref() {
        Some(v) => parse_date("from", v)?,
        None => today.with_day(1).unwrap_or(today),
    };
    let to = match q.to.as_deref() {
        Some(v) => parse_date("to", v)?,
        None => today,
    };
    if to < from {
        return Err(ApiError::bad_request(
            "bad_range",
            format!("to（{to}）不得早于 from（{from}）"),
            format!("to ({to}) is before from ({from})"),
        ));
    }
    if (to - from).num_days() >= RANGE_DAYS_MAX {
        return Err(ApiError::bad_request(
            "bad_range",
            format!("from 至 to 最多 {RANGE_DAYS_MAX} 天"),
            format!("from..to may span at most {RANGE_DAYS_MAX} days"),
        ));
    }
    let format = match q.format.as_deref().map(str::trim) {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(_) => {
            return Err(ApiError::bad_request(
                "bad_format",
                "format：须为 json 或 csv",
                "format: must be json or csv",
            ));
        }
    };
    Ok((from, to, format))
}

/// The months covering `from..=to`.
fn months(from: NaiveDate, to: NaiveDate) -> Vec<Period> {
    let mut out = Vec::new();
    let mut p = Period::month_of(from);
    loop {
        out.push(p);
        if p.last() >= to {
            return out;
        }
        match p.last().succ_opt() {
            Some(next) => p = Period::month_of(next),
            None => return out,
        }
    }
}

fn in_range(e: &EvaluationRecord, from: NaiveDate, to: NaiveDate) -> bool {
    e.date
        .parse::<NaiveDate>()
        .is_ok_and(|d| (from..=to).contains(&d))
}

/// Evaluations and follow-ups of the range, from the statistics.
async fn collect(
    state: &AppState,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Vec<EvaluationRecord>, Vec<FollowUp>, u64), ApiError> {
    let mut evaluations = Vec::new();
    let mut followups = Vec::new();
    let mut seq = 0;
    for month in months(from, to) {
        let c = super::stats::report_of(state, month).await?;
        seq = seq.max(c.report.journal_last_seq);
        evaluations.extend(
            c.report
                .evaluations
                .iter()
                .filter(|e| in_range(e, from, to))
                .cloned(),
        );
        followups.extend(
            c.report
                .followups
                .iter()
                .filter(|f| in_range(&f.evaluation, from, to))
                .cloned(),
        );
    }
    evaluations.sort_by_key(|e| e.id);
    followups.sort_by_key(|f| f.evaluation.id);
    Ok((evaluations, followups, seq))
}

fn columns() -> Vec<Column> {
    vec![
        Column::new("评价编号", "Evaluation id"),
        Column::new("业务日期", "Business day"),
        Column::new("评价时间", "Rated at"),
        Column::new("票号", "Ticket number"),
        Column::new("事项编码", "Service id"),
        Column::new("事项名称", "Service"),
        Column::new("部门编码", "Department id"),
        Column::new("部门名称", "Department"),
        Column::new("窗口号", "Window"),
        Column::new("窗口名称", "Window name"),
        Column::new("工作人员账号", "Staff account"),
        Column::new("工作人员姓名", "Staff name"),
        Column::new("工号", "Job number"),
        Column::new("评价等级", "Rating code"),
        Column::new("评价", "Rating"),
    ]
}

fn cells(e: &EvaluationRecord) -> Vec<Cell> {
    vec![
        Cell::Int(i64::try_from(e.id).unwrap_or(i64::MAX)),
        Cell::Text(e.date.clone()),
        Cell::Text(e.rated_at.clone()),
        Cell::Text(e.number.clone()),
        Cell::Text(e.service.clone()),
        Cell::Text(e.service_name.clone()),
        Cell::Text(e.department.clone()),
        Cell::Text(e.department_name.clone()),
        Cell::Int(i64::from(e.window)),
        Cell::Text(e.window_name.clone()),
        Cell::Text(e.staff.clone()),
        Cell::Text(e.staff_name.clone()),
        Cell::Text(e.job_number.clone()),
        e.rating_code
            .map_or(Cell::Empty, |c| Cell::Int(i64::from(c))),
        Cell::Text(e.rating_name.clone()),
    ]
}

fn csv_download(table: &Table, file_name: &str) -> Response {
    let mut r = (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv::to_bytes(table),
    )
        .into_response();
    // ASCII only: a stem and two dates.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

fn json_response<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

#[derive(Serialize)]
struct EvaluationsView {
    from: NaiveDate,
    to: NaiveDate,
    hall_name: String,
    /// The last journal row the figures include.
    journal_last_seq: u64,
    count: usize,
    evaluations: Vec<EvaluationRecord>,
}

/// Every evaluation (好差评) of a range of business days, joined with its ticket, service, department, window and staff member, for upload to the provincial platform.
#[utoipa::path(get, path = "/api/v1/evaluations", tag = "stats", params(EvaluationsQuery),
    responses((status = 200, content_type = "application/json",
               description = "{from, to, hall_name, journal_last_seq, count, evaluations: [EvaluationRecord]}; EvaluationRecord = {id (journal seq of the rating), date, rated_at, ticket, number, service, service_name, department, department_name, window, window_name, staff, staff_name, job_number, rating, rating_code (1 非常满意 … 5 非常不满意), rating_name}. With format=csv: text/csv, UTF-8 with BOM, Chinese headers, one row per evaluation, formula-like text defused with a leading apostrophe"),
              (status = 400, body = ErrorBody, description = "bad from, to (YYYY-MM-DD, from ≤ to, at most 366 days) or format (json|csv)"),
              (status = 403, body = ErrorBody, description = "only managers, supervisors and admins")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EvaluationsQuery>,
) -> Result<Response, ApiError> {
    caller.require(Need::ReadRecord)?;
    let (from, to, format) = range_of(&q, super::stats::hall_today(&state))?;
    let (mut evaluations, _, seq) = collect(&state, from, to).await?;
    if !q.include_unrated.unwrap_or(false) {
        evaluations.retain(|e| e.rating.is_some());
    }
    let hall_name = state.config.get().file.hall.name.clone();
    match format {
        Format::Json => json_response(&EvaluationsView {
            from,
            to,
            hall_name,
            journal_last_seq: seq,
            count: evaluations.len(),
            evaluations,
        }),
        Format::Csv => {
            let table = Table {
                sheet: "评价明细".into(),
                file_stem: "evaluations".into(),
                title: format!("{hall_name} {from}至{to} 评价明细"),
                columns: columns(),
                rows: evaluations.iter().map(cells).collect(),
            };
            Ok(csv_download(
                &table,
                &format!("evaluations-{from}-{to}.csv"),
            ))
        }
    }
}

#[derive(Serialize)]
struct FollowUpItem {
    #[serde(flatten)]
    followup: FollowUp,
    /// The deadline has passed (hall time).
    overdue: bool,
}

#[derive(Serialize)]
struct FollowUpsView {
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    journal_last_seq: u64,
    count: usize,
    overdue: usize,
    followups: Vec<FollowUpItem>,
}

/// The unsatisfied ratings (不满意 / 非常不满意) of a range of business days to follow up (差评整改), each with its deadline in working days of the hall calendar.
#[utoipa::path(get, path = "/api/v1/evaluations/followups", tag = "stats", params(EvaluationsQuery),
    responses((status = 200, content_type = "application/json",
               description = "{from, to, today, journal_last_seq, count, overdue, followups: [{evaluation: EvaluationRecord, rated_on, deadline, followup_days, overdue}]}. With format=csv: text/csv (UTF-8 with BOM, Chinese headers) with 评价日期, 整改期限 and 是否逾期 after the evaluation's columns"),
              (status = 400, body = ErrorBody, description = "bad from, to or format"),
              (status = 403, body = ErrorBody, description = "only managers, supervisors and admins")),
    security(("bearer" = [])))]
pub async fn followups(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EvaluationsQuery>,
) -> Result<Response, ApiError> {
    caller.require(Need::ReadRecord)?;
    let today = super::stats::hall_today(&state);
    let (from, to, format) = range_of(&q, today)?;
    let (_, followups, seq) = collect(&state, from, to).await?;
    let items: Vec<FollowUpItem> = followups
        .into_iter()
        .map(|f| FollowUpItem {
            overdue: f.deadline < today,
            followup: f,
        })
        .collect();
    match format {
        Format::Json => json_response(&FollowUpsView {
            from,
            to,
            today,
            journal_last_seq: seq,
            count: items.len(),
            overdue: items.iter().filter(|i| i.overdue).count(),
            followups: items,
        }),
        Format::Csv => {
            let mut cols = columns();
            cols.extend([
                Column::new("评价日期", "Rated on"),
                Column::new("整改期限", "Deadline"),
                Column::new("期限(工作日)", "Working days"),
                Column::new("是否逾期", "Overdue"),
            ]);
            let rows = items
                .iter()
                .map(|i| {
                    let mut row = cells(&i.followup.evaluation);
                    row.extend([
                        Cell::Text(i.followup.rated_on.to_string()),
                        Cell::Text(i.followup.deadline.to_string()),
                        Cell::Int(i64::from(i.followup.followup_days)),
                        Cell::Text(if i.overdue { "是" } else { "否" }.into()),
                    ]);
                    row
                })
                .collect();
            let table = Table {
                sheet: "差评整改".into(),
                file_stem: "followups".into(),
                title: format!(
                    "{} {from}至{to} 差评整改",
                    state.config.get().file.hall.name
                ),
                columns: cols,
                rows,
            };
            Ok(csv_download(&table, &format!("followups-{from}-{to}.csv")))
        }
    }
}

/// The push outbox as it stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutboxView {
    /// `[evaluation_push]` is set (entries are written and sent).
    pub configured: bool,
    /// The receiver, without its query string.
    pub url: Option<String>,
    /// Entries not yet acknowledged, from the journal.
    pub pending: u64,
    /// Entries acknowledged, from the journal.
    pub acknowledged: u64,
    /// When the oldest pending rating was given (hall time, RFC 3339).
    pub oldest_pending_at: Option<String>,
    pub last_acknowledged_id: Option<u64>,
    /// The pusher's counters since the daemon started (absent when it does not run).
    pub pusher: Option<OutboxSnapshot>,
}

/// The 好差评 push outbox: pending and acknowledged entries (from the journal), and the pusher's counters (sent, failures, last error, next attempt).
#[utoipa::path(get, path = "/api/v1/evaluations/outbox", tag = "stats",
    responses((status = 200, body = OutboxView),
              (status = 403, body = ErrorBody, description = "only managers, supervisors and admins")),
    security(("bearer" = [])))]
pub async fn outbox(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Need::ReadRecord)?;
    let path = state.journal_path.clone();
    let counts = tokio::task::spawn_blocking(move || OutboxReader::open(&path)?.counts())
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let config = state.config.get();
    let push = config.file.evaluation_push.as_ref();
    json_response(&OutboxView {
        configured: push.is_some(),
        url: push.map(|p| p.url.split('?').next().unwrap_or_default().to_string()),
        pending: counts.pending,
        acknowledged: counts.acked,
        oldest_pending_at: counts
            .oldest_pending_ms
            .map(|ms| super::views::time(state.config.get().tz, ms)),
        last_acknowledged_id: counts.last_acked_id,
        pusher: state.outbox.as_ref().map(|c| c.snapshot()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn months_cover_the_range() {
        let m = months(d("2026-11-20"), d("2027-01-05"));
        let labels: Vec<String> = m.iter().map(Period::label).collect();
        assert_eq!(labels, ["2026-11", "2026-12", "2027-01"]);
        assert_eq!(months(d("2026-11-20"), d("2026-11-20")).len(), 1);
    }

    #[test]
    fn ranges_are_checked() {
        let today = d("2026-11-24");
        let q = |from: Option<&str>, to: Option<&str>, format: Option<&str>| EvaluationsQuery {
            from: from.map(Into::into),
            to: to.map(Into::into),
            format: format.map(Into::into),
            include_unrated: None,
        };
        let (f, t, fmt) = range_of(&q(None, None, None), today).expect("defaults");
        assert_eq!((f, t, fmt), (d("2026-11-01"), today, Format::Json));
        let (_, _, fmt) = range_of(
            &q(Some("2026-01-01"), Some("2026-12-31"), Some("csv")),
            today,
        )
        .expect("a year");
        assert_eq!(fmt, Format::Csv);
        for (from, to, format) in [
            (Some("2026-13-01"), None, None),
            (Some("26-11-01"), None, None),
            (None, Some("2026-11-31"), None),
            (Some("2026-11-24"), Some("2026-11-23"), None),
            (Some("2025-01-01"), Some("2026-11-23"), None),
            (None, None, Some("xlsx")),
        ] {
            assert!(
                range_of(&q(from, to, format), today).is_err(),
                "{from:?} {to:?} {format:?}"
            );
        }
    }
}
