//! Reports as files: the tables of a period's statistics written as CSV and
//! XLSX (`hallq report`), Chinese headers first.
//!
//! - [`table`]: one view as a [`Table`] (built by `stats::tables`).
//! - [`csv`]: a table as a CSV file (UTF-8 with BOM, header first).
//! - [`xlsx`]: all tables as one workbook, one sheet each.

pub mod cli;
pub mod csv;
pub mod table;
pub mod xlsx;

pub use table::{Cell, Column, Table};
