//! A [`Table`] as a CSV file, for a spreadsheet or a script.
//!
//! The layout, fixed so programs can read it:
//! - UTF-8 with a byte-order mark (`EF BB BF`), so Excel opens Chinese
//!   correctly; lines end with CRLF (RFC 4180).
//! - The **first row is the header** (the Chinese column names). The table's
//!   title is *not* written: it is in the file name, the XLSX sheet and the
//!   JSON; a title line above the header would break every CSV reader.
//! - Numbers are plain numbers: integers as integers, [`Cell::Num`] with two
//!   decimals, [`Cell::Minutes`] with one decimal (minutes), and
//!   [`Cell::Percent`] (a share 0–1) as a percentage with one decimal and a
//!   `%` sign, e.g. `93.5%` — what the XLSX sheet shows for the same cell
//!   (`0.0%`), and what Excel reads back as the number 0.935. An empty cell,
//!   and a number that is not finite, is an empty field.
//! - Fields are quoted (RFC 4180: `"` doubled) when they hold a comma, a
//!   quote, CR or LF, or begin or end with a space.
//! - **Formula injection**: a text cell (a name, a reason …) that begins with
//!   `=`, `+`, `-`, `@`, a tab or a CR gets a leading apostrophe (`'`), so a
//!   spreadsheet shows it as text and never runs it. Number cells are never
//!   touched (a negative number stays a number).

use std::fmt::Write as _;

use super::table::{Cell, Table};

/// The UTF-8 byte-order mark every file starts with.
pub const BOM: &str = "\u{feff}";

/// The whole file: BOM, header row, one row per table row.
pub fn to_string(table: &Table) -> String {
    let mut out = String::with_capacity(64 * (table.rows.len() + 1));
    out.push_str(BOM);
    let header: Vec<String> = table.columns.iter().map(|c| text(&c.zh)).collect();
    push_row(&mut out, &header);
    for row in &table.rows {
        let fields: Vec<String> = row.iter().map(field).collect();
        push_row(&mut out, &fields);
    }
    out
}

/// The file as bytes (UTF-8 with BOM).
pub fn to_bytes(table: &Table) -> Vec<u8> {
    to_string(table).into_bytes()
}

fn push_row(out: &mut String, fields: &[String]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(f);
    }
    out.push_str("\r\n");
}

/// One cell as a CSV field (already quoted where needed).
pub fn field(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => text(s),
        Cell::Int(n) => n.to_string(),
        Cell::Num(x) => number(*x, 2),
        Cell::Minutes(x) => number(*x, 1),
        Cell::Percent(x) => percent(*x),
        Cell::Empty => String::new(),
    }
}

/// A share 0–1 as `93.5%` (one decimal), empty when not finite.
pub fn percent(share: f64) -> String {
    if !share.is_finite() {
        return String::new();
    }
    let mut s = number(share * 100.0, 1);
    s.push('%');
    s
}

/// A number with `decimals` decimals; `-0.0` is written `0.0`.
fn number(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let mut s = String::new();
    let _ = write!(s, "{x:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s.remove(0);
    }
    s
}

/// Whether a spreadsheet could take this text for a formula.
pub fn looks_like_formula(s: &str) -> bool {
    matches!(
        s.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠')
    )
}

/// A text field: defused if it could be a formula, quoted if it must be.
fn text(s: &str) -> String {
    let defused;
    let s = if looks_like_formula(s) {
        defused = format!("'{s}");
        defused.as_str()
    } else {
        s
    };
    let must_quote = s.contains([',', '"', '\r', '\n']) || s.starts_with(' ') || s.ends_with(' ');
    if must_quote {
        let mut q = String::with_capacity(s.len() + 2);
        q.push('"');
        for ch in s.chars() {
            if ch == '"' {
                q.push('"');
            }
            q.push(ch);
        }
        q.push('"');
        q
    } else {
        s.to_string()
    }
}

/// Splits CSV text (as written here, BOM optional) back into rows of fields:
/// the reader the tests and `hallq report`'s own check use. Quoted fields
/// may hold commas, quotes and line breaks.
pub fn parse(input: &str) -> Result<Vec<Vec<String>>, String> {
    let s = input.strip_prefix(BOM).unwrap_or(input);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = s.chars().peekable();
    let mut quoted = false;
    let mut line = 1usize;
    while let Some(ch) = chars.next() {
        if quoted {
            match ch {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(ch);
                }
                _ => field.push(ch),
            }
            continue;
        }
        match ch {
            '"' if field.is_empty() => quoted = true,
            '"' => return Err(format!("line {line}: a quote inside an unquoted field")),
            ',' => row.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                line += 1;
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(ch),
        }
    }
    if quoted {
        return Err(format!("line {line}: a quoted field is not closed"));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::table::Column;

    fn table(rows: Vec<Vec<Cell>>) -> Table {
        Table {
            sheet: "业务统计".into(),
            file_stem: "services".into(),
            title: "某中心 2026年11月 业务统计".into(),
            columns: vec![
                Column::new("业务", "Service"),
                Column::new("取号", "Issued"),
                Column::new("平均等候(分钟)", "Mean wait (min)"),
                Column::new("满意率", "Satisfaction"),
                Column::new("金额", "Amount"),
                Column::new("备注", "Note"),
            ],
            rows,
        }
    }

    #[test]
    fn header_first_after_a_bom_numbers_as_numbers() {
        let t = table(vec![vec![
            Cell::Text("社保业务".into()),
            Cell::Int(42),
            Cell::Minutes(12.345),
            Cell::Percent(0.935),
            Cell::Num(-0.001),
            Cell::Empty,
        ]]);
        let s = to_string(&t);
        assert!(s.as_bytes().starts_with(&[0xEF, 0xBB, 0xBF]));
        assert_eq!(
            s,
            "\u{feff}业务,取号,平均等候(分钟),满意率,金额,备注\r\n社保业务,42,12.3,93.5%,0.00,\r\n"
        );
    }

    #[test]
    fn quoting_and_formula_injection() {
        let t = table(vec![vec![
            Cell::Text("=HYPERLINK(\"http://x\",\"点我\")".into()),
            Cell::Int(-3),
            Cell::Minutes(f64::NAN),
            Cell::Percent(1.0),
            Cell::Num(2.5),
            Cell::Text("缺材料, 需补\n\"户口本\"".into()),
        ]]);
        let s = to_string(&t);
        let rows = parse(&s).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][0], "'=HYPERLINK(\"http://x\",\"点我\")");
        assert_eq!(rows[1][1], "-3", "numbers are never defused");
        assert_eq!(rows[1][2], "");
        assert_eq!(rows[1][3], "100.0%");
        assert_eq!(rows[1][4], "2.50");
        assert_eq!(rows[1][5], "缺材料, 需补\n\"户口本\"");
        for bad in ["+1", "-1", "@SUM(A1)", "\tx", "＝1"] {
            assert_eq!(field(&Cell::Text(bad.into())), format!("'{bad}"));
        }
        assert_eq!(field(&Cell::Text(" a".into())), "\" a\"");
        assert_eq!(field(&Cell::Text("张三".into())), "张三");
    }

    #[test]
    fn parse_rejects_broken_quoting() {
        assert!(parse("a,\"b\n").is_err());
        assert!(parse("a,b\"c\n").is_err());
        assert_eq!(parse("a,b").unwrap(), vec![vec!["a", "b"]]);
    }
}
