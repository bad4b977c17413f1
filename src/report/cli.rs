//! `hallq report`: a period's statistics as files, computed from the journal
//! (read-only, so it works beside a running daemon).
//!
//! ```text
//! hallq report --data DIR [--config FILE] --month 2026-11 --out DIR [--format csv,xlsx,json]
//! ```
//!
//! Exactly one of `--day 2026-11-24`, `--week 2026-W48`, `--month 2026-11`,
//! `--quarter 2026-Q4`. Writes, into `--out` (created if missing):
//! - `<view>.csv` for each view (`services.csv`, `windows.csv`, `staff.csv` …),
//! - `hallq-<period>.xlsx` (one sheet per view),
//! - `report.json` (the whole `StatsReport`) with `--format …,json`.
//!
//! Each file is written to a temporary name and renamed, so a reader never
//! sees half a file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::config::Config;
use crate::journal::JournalReader;
use crate::stats::{self, Period};

use super::{csv, xlsx};

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    /// One CSV file per view (UTF-8 with BOM, header first).
    Csv,
    /// One workbook, one sheet per view.
    Xlsx,
    /// The whole report as JSON (`report.json`).
    Json,
}

/// The period and output flags of `hallq report` (`--data` and `--config`
/// are the common ones of `main.rs`).
#[derive(Debug, Clone, clap::Args)]
#[command(group(
    clap::ArgGroup::new("period")
        .required(true)
        .multiple(false)
        .args(["day", "week", "month", "quarter"])
))]
pub struct ReportArgs {
    /// One business day, e.g. 2026-11-24.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub day: Option<String>,
    /// An ISO week (Monday to Sunday), e.g. 2026-W48.
    #[arg(long, value_name = "YYYY-Www")]
    pub week: Option<String>,
    /// A month, e.g. 2026-11.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
    /// A quarter, e.g. 2026-Q4.
    #[arg(long, value_name = "YYYY-Qn")]
    pub quarter: Option<String>,
    /// Directory to write into (created if missing; files of the same name are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Which files, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "csv,xlsx",
        value_name = "LIST"
    )]
    pub format: Vec<FileFormat>,
}

impl ReportArgs {
    /// The period the flags name; the error names the flag and the form it takes.
    pub fn period(&self) -> anyhow::Result<Period> {
        let given: Vec<(&str, &String)> = [
            ("day", &self.day),
            ("week", &self.week),
            ("month", &self.month),
            ("quarter", &self.quarter),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
        match given.as_slice() {
            [(kind, value)] => {
                Period::parse(kind, value).map_err(|e| anyhow::anyhow!("--{kind}: {e}"))
            }
            [] => bail!(
                "give exactly one period: --day 2026-11-24, --week 2026-W48, --month 2026-11 or --quarter 2026-Q4"
            ),
            many => bail!(
                "give exactly one period, not {}",
                many.iter()
                    .map(|(k, _)| format!("--{k}"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        }
    }
}

/// One file written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    /// What it holds, for the summary line.
    pub what: String,
}

/// The XLSX file name of a period: `hallq-2026-11.xlsx`.
pub fn xlsx_name(period: &Period) -> String {
    format!("hallq-{}.xlsx", period.label())
}

/// Computes the period's report from `journal` and writes the files.
pub fn write_report(
    config: Arc<Config>,
    journal: &Path,
    args: &ReportArgs,
) -> anyhow::Result<Vec<Written>> {
    let period = args.period()?;
    if args.format.is_empty() {
        bail!("--format: name at least one of csv, xlsx, json");
    }
    if !journal.exists() {
        bail!("no journal at {} (give --data DIR)", journal.display());
    }
    let reader = JournalReader::open(journal)
        .with_context(|| format!("opening the journal {} read-only", journal.display()))?;
    let report = stats::from_reader(config.clone(), &reader, &period)
        .with_context(|| format!("computing the statistics of {period}"))?;
    let tables = stats::tables(&report, &config.file.hall.name);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating the output directory {}", args.out.display()))?;

    let mut written = Vec::new();
    let wants = |f: FileFormat| args.format.contains(&f);
    if wants(FileFormat::Csv) {
        for t in &tables {
            let path = args.out.join(format!("{}.csv", t.file_stem));
            write_atomic(&path, &csv::to_bytes(t))?;
            written.push(Written {
                path,
                what: format!("{} ({} rows)", t.sheet, t.rows.len()),
            });
        }
    }
    if wants(FileFormat::Xlsx) {
        let path = args.out.join(xlsx_name(&period));
        let bytes = xlsx::to_bytes(&tables).context("building the workbook")?;
        write_atomic(&path, &bytes)?;
        written.push(Written {
            path,
            what: format!(
                "{} sheets: {}",
                tables.len(),
                tables
                    .iter()
                    .map(|t| t.sheet.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    if wants(FileFormat::Json) {
        let path = args.out.join("report.json");
        let mut bytes = serde_json::to_vec_pretty(&report)?;
        bytes.push(b'\n');
        write_atomic(&path, &bytes)?;
        written.push(Written {
            path,
            what: "the whole report as JSON".to_string(),
        });
    }
    Ok(written)
}

/// `hallq report`: writes the files and prints what it wrote.
pub fn run(
    config: Config,
    journal: &Path,
    args: &ReportArgs,
) -> anyhow::Result<std::process::ExitCode> {
    let period = args.period()?;
    let written = write_report(Arc::new(config), journal, args)?;
    print!("{}", summary(&period, journal, &written));
    Ok(std::process::ExitCode::SUCCESS)
}

/// What `hallq report` prints.
pub fn summary(period: &Period, journal: &Path, written: &[Written]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "report {} ({} – {}) from {}:",
        period.label(),
        period.first(),
        period.last(),
        journal.display()
    );
    for w in written {
        let _ = writeln!(out, "  wrote {}  {}", w.path.display(), w.what);
    }
    out
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .context("an output file needs a name")?;
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
