//! Statistics of a period, computed from the journal beside the running
//! daemon: `GET /api/v1/stats` (the whole report as JSON, for the
//! dashboard), the same as files (`report.xlsx`, `<view>.csv`) and the live
//! rankings (红旗窗口 / 服务明星).
//!
//! **Who may read.** The report names every staff member with their
//! ratings, attendance and follow-ups — personal performance data — so the
//! report and its files need `Need::ReadRecord` (manager, supervisor,
//! admin). Window staff and window heads do not read colleagues' figures
//! here (staff see their own day on the counter page). The rankings are the
//! hall's published honours (红旗窗口 / 服务明星, often shown on the hall's
//! screens), so they need only `Need::ReadHall` (also window heads and
//! display screens).
//!
//! **Query.** `period` = `day` | `week` | `month` | `quarter` (default
//! `day`); `value` = `2026-11-24` | `2026-W48` | `2026-11` | `2026-Q4`
//! (default: the period containing today, hall time). A bad value is a 400
//! naming the parameter and the form it takes.
//!
//! **Cost.** Reports are computed on the blocking pool with a read-only
//! [`JournalReader`], one computation at a time (a second request waits and
//! then finds the first one's result). The last [`CACHE_ENTRIES_MAX`]
//! results are kept by (period, journal last seq): a dashboard that re-reads
//! after an unrelated page load costs nothing, and any new journal row makes
//! the next read recompute.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::AppState;
use super::auth::{Caller, Need};
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, ApiQuery};
use crate::daemon::clock::{Clock, SystemClock};
use crate::journal::JournalReader;
use crate::queue::calendar;
use crate::report;
use crate::stats::{self, Period, StatsReport};

/// Reports kept (each a period at one journal seq).
pub const CACHE_ENTRIES_MAX: usize = 8;

/// The query of every statistics route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// `day`, `week`, `month` or `quarter` (default `day`).
    #[param(pattern = "^(day|week|month|quarter)$")]
    pub period: Option<String>,
    /// `2026-11-24` (day), `2026-W48` (ISO week), `2026-11` (month), `2026-Q4`
    /// (quarter); default: the period containing today (hall time).
    pub value: Option<String>,
}

/// A report and the files it can be downloaded as.
pub struct Computed {
    pub report: StatsReport,
    pub files: Vec<FileLink>,
}

/// One downloadable view: `GET /api/v1/stats/<stem>.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct FileLink {
    pub stem: String,
    /// Its sheet name in `report.xlsx` (Chinese).
    pub sheet: String,
    pub rows: usize,
}

/// What `GET /api/v1/stats` answers: the report, plus its files.
#[derive(Serialize)]
struct StatsView<'a> {
    #[serde(flatten)]
    report: &'a StatsReport,
    files: &'a [FileLink],
}

struct Entry {
    period: Period,
    seq: u64,
    report: Arc<Computed>,
    used: u64,
}

/// Computed reports, and the gate that lets one computation run at a time.
#[derive(Default)]
pub struct StatsCache {
    gate: Arc<tokio::sync::Mutex<()>>,
    entries: Mutex<(u64, Vec<Entry>)>,
}

impl StatsCache {
    fn get(&self, period: &Period, seq: u64) -> Option<Arc<Computed>> {
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (clock, entries) = &mut *guard;
        *clock += 1;
        let now = *clock;
        entries
            .iter_mut()
            .find(|e| e.period == *period && e.seq == seq)
            .map(|e| {
                e.used = now;
                e.report.clone()
            })
    }

    fn put(&self, period: Period, seq: u64, report: Arc<Computed>) {
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (clock, entries) = &mut *guard;
        *clock += 1;
        let used = *clock;
        // An older seq of the same period is superseded.
        entries.retain(|e| !(e.period == period && e.seq <= seq));
        entries.push(Entry {
            period,
            seq,
            report,
            used,
        });
        while entries.len() > CACHE_ENTRIES_MAX {
            if let Some(oldest) = entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.used)
                .map(|(i, _)| i)
            {
                entries.remove(oldest);
            }
        }
    }

    /// How many reports are kept (tests).
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |g| g.1.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The period a query names; a 400 naming the parameter otherwise.
pub fn period_of(q: &StatsQuery, today: chrono::NaiveDate) -> Result<Period, ApiError> {
    let kind = q.period.as_deref().map(str::trim).unwrap_or("day");
    let form = match kind {
        "day" => "2026-11-24",
        "week" => "2026-W48",
        "month" => "2026-11",
        "quarter" => "2026-Q4",
        _ => {
            return Err(ApiError::bad_request(
                "bad_period",
                "period：须为 day（日）、week（周）、month（月）或 quarter（季度）",
                "period: must be day, week, month or quarter",
            ));
        }
    };
    match q.value.as_deref().map(str::trim) {
        None | Some("") => Ok(match kind {
            "week" => Period::week_of(today),
            "month" => Period::month_of(today),
            "quarter" => Period::quarter_of(today),
            _ => Period::day(today),
        }),
        Some(v) => Period::parse(kind, v).map_err(|e| {
            ApiError::bad_request(
                "bad_value",
                format!("value：{kind} 的取值须形如 {form}"),
                format!("value: {e}"),
            )
        }),
    }
}

/// Today's date in the hall.
pub(super) fn hall_today(state: &AppState) -> chrono::NaiveDate {
    calendar::local(state.config.get().tz, SystemClock.now_ms()).date()
}

/// The report of `period` as of the journal's current last row.
pub async fn report_of(state: &AppState, period: Period) -> Result<Arc<Computed>, ApiError> {
    let cache = state.stats.clone();
    // One computation at a time; the guard moves into the blocking task so
    // an abandoned request does not let a second scan start beside it.
    let gate = cache.gate.clone().lock_owned().await;
    let path = state.journal_path.clone();
    let config = state.config.get();
    let hall_name = config.file.hall.name.clone();
    let run = tokio::task::spawn_blocking(move || -> anyhow::Result<Arc<Computed>> {
        let _gate = gate;
        let reader = JournalReader::open(&path)?;
        let seq = reader.last_seq()?;
        if let Some(hit) = cache.get(&period, seq) {
            return Ok(hit);
        }
        let report = stats::from_reader(config, &reader, &period)?;
        let files = stats::tables(&report, &hall_name)
            .into_iter()
            .map(|t| FileLink {
                stem: t.file_stem,
                sheet: t.sheet,
                rows: t.rows.len(),
            })
            .collect();
        let seq = report.journal_last_seq;
        let computed = Arc::new(Computed { report, files });
        cache.put(period, seq, computed.clone());
        Ok(computed)
    });
    match run.await {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(e)) => Err(ApiError::internal(format!("statistics of {period}: {e:#}"))),
        Err(e) => Err(ApiError::internal(format!("statistics of {period}: {e}"))),
    }
}

fn json_response<T: Serialize + ?Sized>(value: &T) -> Result<Response, ApiError> {
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

fn download(content_type: &'static str, file_name: &str, body: Vec<u8>) -> Response {
    let mut r = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response();
    // File names are ASCII (view stems and period labels).
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// The statistics of a period: counts, waits, service times, idle and paused time, attendance, evaluations, follow-ups and rankings, per hall, day, zone, department, service, window and staff member.
#[utoipa::path(get, path = "/api/v1/stats", tag = "stats", params(StatsQuery),
    responses((status = 200, content_type = "application/json",
               description = "the StatsReport: period {kind,label,first,last}, hall_name, journal_last_seq, hall, days, zones, departments, services, windows, staff (figures per group), attendance, evaluations, followups, rankings"),
              (status = 400, body = ErrorBody, description = "bad `period` or `value` (the message names the allowed forms)"),
              (status = 403, body = ErrorBody, description = "only managers, supervisors and admins read the statistics")),
    security(("bearer" = [])))]
pub async fn get_stats(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Response, ApiError> {
    caller.require(Need::ReadRecord)?;
    let period = period_of(&q, hall_today(&state))?;
    let c = report_of(&state, period).await?;
    json_response(&StatsView {
        report: &c.report,
        files: &c.files,
    })
}

/// The rankings of a period with its period and journal position.
#[derive(Serialize)]
struct RankingsView<'a> {
    period: &'a Period,
    journal_last_seq: u64,
    rankings: &'a stats::Rankings,
}

/// Live rankings: 红旗窗口 (windows) and 服务明星 (staff), best first (default: today).
#[utoipa::path(get, path = "/api/v1/stats/rankings", tag = "stats", params(StatsQuery),
    responses((status = 200, content_type = "application/json",
               description = "{period, journal_last_seq, rankings: {min_rated, windows: [Ranked], staff: [Ranked]}}; Ranked = {rank, id, name, served, rated, positive, negative, satisfaction_rate, score}"),
              (status = 400, body = ErrorBody, description = "bad `period` or `value`"),
              (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rankings(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Response, ApiError> {
    caller.require(Need::ReadHall)?;
    let period = period_of(&q, hall_today(&state))?;
    let c = report_of(&state, period).await?;
    json_response(&RankingsView {
        period: &c.report.period,
        journal_last_seq: c.report.journal_last_seq,
        rankings: &c.report.rankings,
    })
}

/// The XLSX file name of a period: `hallq-2026-11.xlsx`.
pub fn xlsx_file_name(period: &Period) -> String {
    format!("hallq-{}.xlsx", period.label())
}

/// A CSV file name of a view and period: `services-2026-11.csv`.
pub fn csv_file_name(stem: &str, period: &Period) -> String {
    format!("{stem}-{}.csv", period.label())
}

/// The report of a period as a file to download: `report.xlsx` (every view, one sheet each) or `<view>.csv` (one view: the `file_stem` of a table, e.g. `services.csv`, `windows.csv`, `staff.csv`, `departments.csv`, `evaluations.csv`).
#[utoipa::path(get, path = "/api/v1/stats/{file}", tag = "stats",
    params(("file" = String, Path, description = "`report.xlsx` or `<view>.csv`"), StatsQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               description = "report.xlsx: one sheet per view; or text/csv (UTF-8 with BOM, header first) for a view; Content-Disposition: attachment"),
              (status = 400, body = ErrorBody, description = "bad `period` or `value`"),
              (status = 403, body = ErrorBody, description = "only managers, supervisors and admins"),
              (status = 404, body = ErrorBody, description = "no such file; the message lists the views")),
    security(("bearer" = [])))]
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(file): ApiPath<String>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Response, ApiError> {
    caller.require(Need::ReadRecord)?;
    let period = period_of(&q, hall_today(&state))?;
    let is_xlsx = file == "report.xlsx";
    let stem = file.strip_suffix(".csv");
    if !is_xlsx && stem.is_none() {
        return Err(unknown_file(&file, &[]));
    }
    let computed = report_of(&state, period).await?;
    let hall_name = state.config.get().file.hall.name.clone();
    let tables = {
        let computed = computed.clone();
        tokio::task::spawn_blocking(move || stats::tables(&computed.report, &hall_name))
            .await
            .map_err(ApiError::internal)?
    };
    if is_xlsx {
        let bytes = tokio::task::spawn_blocking(move || report::xlsx::to_bytes(&tables))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        return Ok(download(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &xlsx_file_name(&period),
            bytes,
        ));
    }
    let stem = stem.unwrap_or_default();
    match tables.iter().find(|t| t.file_stem == stem) {
        Some(t) => Ok(download(
            "text/csv; charset=utf-8",
            &csv_file_name(stem, &period),
            report::csv::to_bytes(t),
        )),
        None => {
            let stems: Vec<&str> = tables.iter().map(|t| t.file_stem.as_str()).collect();
            Err(unknown_file(&file, &stems))
        }
    }
}

fn unknown_file(file: &str, stems: &[&str]) -> ApiError {
    // The name is echoed only when it is short and printable.
    let shown: String = file.chars().filter(|c| !c.is_control()).take(64).collect();
    let list = if stems.is_empty() {
        "report.xlsx, <view>.csv".to_string()
    } else {
        std::iter::once("report.xlsx".to_string())
            .chain(stems.iter().map(|s| format!("{s}.csv")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("没有统计文件“{shown}”；可下载：{list}"),
        format!("no statistics file \"{shown}\"; available: {list}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(period: Option<&str>, value: Option<&str>) -> StatsQuery {
        StatsQuery {
            period: period.map(String::from),
            value: value.map(String::from),
        }
    }

    #[test]
    fn periods_default_to_the_one_containing_today() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(
            period_of(&q(None, None), today).unwrap().label(),
            "2026-11-24"
        );
        assert_eq!(
            period_of(&q(Some("week"), None), today).unwrap().label(),
            "2026-W48"
        );
        assert_eq!(
            period_of(&q(Some("month"), Some("")), today)
                .unwrap()
                .label(),
            "2026-11"
        );
        assert_eq!(
            period_of(&q(Some("quarter"), None), today).unwrap().label(),
            "2026-Q4"
        );
        assert_eq!(
            period_of(&q(Some("month"), Some("2026-10")), today)
                .unwrap()
                .label(),
            "2026-10"
        );
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let e = period_of(&q(Some("year"), None), today).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code.as_str()), (400, "bad_period"));
        assert!(
            e.en.starts_with("period:") && e.en.contains("quarter"),
            "{}",
            e.en
        );
        let e = period_of(&q(Some("month"), Some("2026-13")), today).unwrap_err();
        assert_eq!(e.code, "bad_value");
        assert!(
            e.en.starts_with("value:") && e.en.contains("YYYY-MM"),
            "{}",
            e.en
        );
        assert!(e.zh.contains("2026-11"), "{}", e.zh);
    }
}
