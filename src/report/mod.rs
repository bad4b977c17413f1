//! Reports as files: the tables of a period's statistics written as CSV and
//! XLSX (`hallq report`), Chinese headers first.

pub mod table;

pub use table::{Cell, Column, Table};
