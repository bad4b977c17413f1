//! A report view as a table: what `hallq report` writes as one CSV file and
//! one XLSX sheet, and what the API can return as CSV. Headers are Chinese
//! first (the layout a hall sends upward) with the English beside them.

use serde::Serialize;

/// One column: its Chinese header (written to files) and English header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub zh: String,
    pub en: String,
}

impl Column {
    pub fn new(zh: &str, en: &str) -> Column {
        Column {
            zh: zh.to_string(),
            en: en.to_string(),
        }
    }
}

/// One cell. Numbers stay numbers so a spreadsheet can sum them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A plain decimal, written with two decimals.
    Num(f64),
    /// A share in 0..=1, written as a percentage.
    Percent(f64),
    /// A duration in minutes, written with one decimal.
    Minutes(f64),
    Empty,
}

/// One view of a report (services, windows, staff, departments, evaluations …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    /// Sheet name in the workbook (Chinese, ≤ 31 characters), e.g. `业务统计`.
    pub sheet: String,
    /// File stem for the CSV file (ASCII), e.g. `services`.
    pub file_stem: String,
    /// Title line above the header, e.g. `安和县政务服务中心 2026年11月 业务统计`.
    pub title: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}
