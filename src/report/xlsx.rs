//! The tables of a report as one XLSX workbook (rust_xlsxwriter): one sheet
//! per [`Table`], in the table order.
//!
//! Each sheet: row 1 the title (bold, larger), row 2 the Chinese header
//! (bold, shaded, frozen with the title so it stays in view, with an
//! autofilter), data from row 3. Numbers are stored as numbers with a
//! format: integers `0`, [`Cell::Num`] `0.00`, minutes `0.0`, shares
//! `0.0%` (the cell holds 0.935 and shows 93.5% — as the CSV writes it).
//! Column widths are measured in display columns, a CJK character counting
//! as two, so Chinese headers and names fit.
//!
//! Text cells are written as strings, never as formulas, so a name that
//! begins with `=` cannot run in a workbook (unlike CSV, nothing needs
//! defusing here).

use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use super::table::{Cell, Table};

/// Excel's limit on a sheet name, in characters.
pub const SHEET_NAME_CHARS_MAX: usize = 31;
/// Widest a column is made, in Excel's character units.
const COLUMN_WIDTH_MAX: f64 = 60.0;
const COLUMN_WIDTH_MIN: f64 = 6.0;
/// Rows above the data: title, header.
pub const HEADER_ROWS: u32 = 2;

struct Formats {
    title: Format,
    header: Format,
    int: Format,
    num: Format,
    minutes: Format,
    percent: Format,
    text: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_background_color(Color::RGB(0xDDEBF7))
                .set_border(FormatBorder::Thin),
            int: Format::new().set_num_format("0"),
            num: Format::new().set_num_format("0.00"),
            minutes: Format::new().set_num_format("0.0"),
            percent: Format::new().set_num_format("0.0%"),
            text: Format::new(),
        }
    }
}

/// The workbook as bytes.
pub fn to_bytes(tables: &[Table]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let formats = Formats::new();
    let mut used: Vec<String> = Vec::new();
    for table in tables {
        let name = sheet_name(&table.sheet, &used);
        used.push(name.clone());
        let sheet = workbook.add_worksheet();
        sheet.set_name(&name)?;
        write_sheet(sheet, table, &formats)?;
    }
    if tables.is_empty() {
        workbook.add_worksheet();
    }
    workbook.save_to_buffer()
}

fn write_sheet(sheet: &mut Worksheet, table: &Table, f: &Formats) -> Result<(), XlsxError> {
    sheet.write_string_with_format(0, 0, &table.title, &f.title)?;
    sheet.set_row_height(0, 22)?;
    let mut widths: Vec<f64> = table
        .columns
        .iter()
        .map(|c| display_width(&c.zh) as f64)
        .collect();
    for (col, c) in table.columns.iter().enumerate() {
        sheet.write_string_with_format(1, col as u16, &c.zh, &f.header)?;
    }
    for (i, row) in table.rows.iter().enumerate() {
        let r = HEADER_ROWS + i as u32;
        for (col, cell) in row.iter().enumerate() {
            let c = col as u16;
            match cell {
                Cell::Text(s) => {
                    sheet.write_string_with_format(r, c, s, &f.text)?;
                }
                Cell::Int(n) => {
                    sheet.write_number_with_format(r, c, *n as f64, &f.int)?;
                }
                Cell::Num(x) => write_number(sheet, r, c, *x, &f.num)?,
                Cell::Minutes(x) => write_number(sheet, r, c, *x, &f.minutes)?,
                Cell::Percent(x) => write_number(sheet, r, c, *x, &f.percent)?,
                Cell::Empty => {}
            }
            let w = cell_width(cell) as f64;
            match widths.get_mut(col) {
                Some(have) => *have = have.max(w),
                None => widths.push(w),
            }
        }
    }
    for (col, w) in widths.iter().enumerate() {
        let width = (w + 2.0).clamp(COLUMN_WIDTH_MIN, COLUMN_WIDTH_MAX);
        sheet.set_column_width(col as u16, width)?;
    }
    sheet.set_freeze_panes(HEADER_ROWS, 0)?;
    if !table.columns.is_empty() {
        let last_row = (HEADER_ROWS + table.rows.len() as u32).saturating_sub(1);
        sheet.autofilter(1, 0, last_row.max(1), table.columns.len() as u16 - 1)?;
    }
    Ok(())
}

/// A finite number with its format; a NaN or infinity is left blank.
fn write_number(
    sheet: &mut Worksheet,
    r: u32,
    c: u16,
    x: f64,
    format: &Format,
) -> Result<(), XlsxError> {
    if x.is_finite() {
        sheet.write_number_with_format(r, c, x, format)?;
    }
    Ok(())
}

/// Width of a cell as the sheet shows it, in display columns.
fn cell_width(cell: &Cell) -> usize {
    match cell {
        Cell::Text(s) => s.lines().map(display_width).max().unwrap_or(0),
        Cell::Int(n) => n.to_string().len(),
        Cell::Num(x) => format!("{x:.2}").len(),
        Cell::Minutes(x) => format!("{x:.1}").len(),
        Cell::Percent(x) => format!("{:.1}%", x * 100.0).len(),
        Cell::Empty => 0,
    }
}

/// Display columns of a text: CJK and other wide characters count two.
pub fn display_width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F      // Hangul Jamo
        | 0x2E80..=0x303E    // CJK radicals, punctuation
        | 0x3041..=0x33FF    // kana, CJK compatibility
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xA000..=0xA4CF    // Yi
        | 0xAC00..=0xD7A3    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFE30..=0xFE4F    // CJK compatibility forms
        | 0xFF00..=0xFF60    // full-width forms
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD) // CJK extensions B…
}

/// A valid, unique sheet name: Excel forbids `[]:*?/\`, a leading or
/// trailing apostrophe, blank names and more than 31 characters; names are
/// unique without regard to case.
pub fn sheet_name(wanted: &str, used: &[String]) -> String {
    let cleaned: String = wanted
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim().trim_matches('\'').to_string();
    let base = if cleaned.is_empty() {
        "Sheet".to_string()
    } else {
        cleaned
    };
    let taken = |name: &str| used.iter().any(|u| u.to_lowercase() == name.to_lowercase());
    let truncate = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    let first = truncate(&base, SHEET_NAME_CHARS_MAX);
    if !taken(&first) {
        return first;
    }
    for k in 2.. {
        let suffix = format!("({k})");
        let name = truncate(&base, SHEET_NAME_CHARS_MAX - suffix.chars().count()) + &suffix;
        if !taken(&name) {
            return name;
        }
    }
    unreachable!("some suffix is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let used = vec!["业务统计".to_string()];
        assert_eq!(sheet_name("窗口统计", &used), "窗口统计");
        assert_eq!(sheet_name("业务统计", &used), "业务统计(2)");
        assert_eq!(sheet_name("a/b:c", &[]), "a_b_c");
        assert_eq!(sheet_name("''", &[]), "Sheet");
        let long = "很".repeat(40);
        assert_eq!(sheet_name(&long, &[]).chars().count(), 31);
        let used = vec![sheet_name(&long, &[])];
        let second = sheet_name(&long, &used);
        assert_eq!(second.chars().count(), 31);
        assert!(second.ends_with("(2)"));
    }

    #[test]
    fn cjk_counts_double() {
        assert_eq!(display_width("A012"), 4);
        assert_eq!(display_width("社保业务"), 8);
        assert_eq!(display_width("等候(分钟)"), 10);
    }
}
