//! `hallq report`'s files: a scripted day is driven through the core
//! (`Hall::apply`) and appended to a temporary journal, the report is
//! written (`report::cli::write_report`, what `hallq report` runs), and the
//! files are opened again: every CSV cell and every XLSX cell must match the
//! report's tables, and the figures of the day must be the hand-computed
//! ones. The XLSX is read by unzipping it and reading the sheet XML, the
//! shared strings and the styles (number formats), so a wrong format or a
//! missing frozen header fails too.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use hallq::config::Config;
use hallq::journal::{Journal, JournalReader, NewRecord};
use hallq::queue::{
    Actor, Command, Event, Hall, IssueSource, Millis, Outcome, Rating, TicketId, calendar,
};
use hallq::report::cli::{FileFormat, ReportArgs, write_report};
use hallq::report::{Cell, Table, csv};
use hallq::stats::{self, Period};

const HALL_TOML: &str = r#"
[hall]
name = "报表测试中心"
timezone = "Asia/Shanghai"

[[zone]]
id = "main"
name = "一楼大厅"
floor = 1

[[department]]
id = "tax"
name = "税务局"

[[department]]
id = "hr"
name = "人社局"

[[service]]
id = "tax"
name = "税务登记"
department = "tax"
prefix = "A"
matter_class = "immediate"
expected_minutes = 10
target_wait_minutes = 15

[[service]]
id = "social"
name = "社保缴费"
department = "hr"
prefix = "B"
matter_class = "immediate"
expected_minutes = 10
target_wait_minutes = 15

[[window]]
number = 1
name = "综合一号"
kind = "comprehensive"
department = "tax"
zone = "main"
services = [{ service = "tax" }]

[[window]]
number = 2
name = "社保窗口"
kind = "department"
department = "hr"
zone = "main"
services = [{ service = "social" }]

[[staff]]
account = "s1"
job_number = "P001"
name = "张三"

[[staff]]
account = "s2"
job_number = "P002"
name = "李四"

[calendar]
extended_service = true

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "08:30"
to = "11:30"

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "13:00"
to = "17:00"
"#;

/// A reason typed at a window that a spreadsheet would run as a formula.
const EVIL_REASON: &str = "=HYPERLINK(\"http://x\",\"材料不全\")";

/// Tuesday 2026-11-24.
fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).expect("date")
}

/// The core and a journal, stepped together like the owner does.
struct Script {
    hall: Hall,
    journal: Journal,
    now: Millis,
}

impl Script {
    fn new(config: Arc<Config>, path: &Path) -> Script {
        Script {
            hall: Hall::new(config),
            journal: Journal::open(path).expect("journal"),
            now: 0,
        }
    }

    fn at(&mut self, hh: u32, mm: u32) {
        let t = day().and_hms_opt(hh, mm, 0).expect("time");
        self.now = calendar::instant(self.hall.config().tz, t);
        while let Some(c) = self.hall.due_lifecycle(self.now) {
            self.apply(Actor::System, c);
        }
    }

    fn apply(&mut self, actor: Actor, command: Command) -> Vec<Event> {
        let shown = format!("{command:?}");
        let events = self
            .hall
            .apply(&actor, &command, self.now)
            .unwrap_or_else(|r| panic!("{shown} refused: {r}"));
        let label = actor.label();
        let payloads: Vec<String> = events
            .iter()
            .map(|e| serde_json::to_string(e).expect("json"))
            .collect();
        let records: Vec<NewRecord<'_>> = events
            .iter()
            .zip(&payloads)
            .map(|(e, p)| NewRecord {
                at_ms: self.now,
                actor: &label,
                client: "report-test",
                kind: e.kind(),
                payload: p,
            })
            .collect();
        self.journal.append(&records).expect("append");
        events
    }

    fn staff(&mut self, who: &str, command: Command) -> Vec<Event> {
        self.apply(Actor::Staff(who.into()), command)
    }

    fn issue(&mut self, service: &str) -> TicketId {
        let events = self.apply(
            Actor::Kiosk("k1".into()),
            Command::Issue {
                service: service.into(),
                priority: None,
                person: None,
                source: IssueSource::Kiosk,
                cases: 1,
            },
        );
        events
            .iter()
            .find_map(|e| match e {
                Event::TicketIssued { ticket, .. } => Some(*ticket),
                _ => None,
            })
            .expect("issued")
    }

    fn rate(&mut self, window: u32, ticket: TicketId, rating: Option<Rating>) {
        self.apply(
            Actor::System,
            Command::Rate {
                window,
                ticket,
                rating,
            },
        );
    }
}

/// The day, with its figures worked out by hand:
///
/// | ticket | issued | first call | wait | start–finish | outcome | rating |
/// |---|---|---|---|---|---|---|
/// | A001 | 08:40 | 08:55 w1 | 15 | 08:56–09:06 (10) | done | 非常满意 |
/// | B001 | 08:45 | 09:00 w2 | 15 | 09:01–09:21 (20) | rejected (EVIL_REASON) | 不满意 |
/// | A002 | 08:50 | 09:10 w1 | 20 | 09:11–09:41 (30) | done | not rated |
///
/// Hall: issued 3, served 3, waits 15/15/20 (mean 16.67, within 15 min: 2
/// of 3), service 10/20/30 (mean 20), satisfaction 1 of 2 rated = 50%.
fn scripted_day(dir: &Path) -> (Arc<Config>, std::path::PathBuf) {
    let config = Arc::new(
        Config::from_toml_str("report_files", HALL_TOML).unwrap_or_else(|e| panic!("{e}")),
    );
    let path = dir.join("journal.sqlite");
    let mut s = Script::new(config.clone(), &path);
    s.at(8, 30);
    s.staff("s1", Command::SignIn { window: 1 });
    s.staff("s2", Command::SignIn { window: 2 });
    s.at(8, 40);
    let a1 = s.issue("tax");
    s.at(8, 45);
    let b1 = s.issue("social");
    s.at(8, 50);
    let a2 = s.issue("tax");
    s.at(8, 55);
    s.staff("s1", Command::CallNext { window: 1 });
    s.at(8, 56);
    s.staff("s1", Command::Start { window: 1 });
    s.at(9, 0);
    s.staff("s2", Command::CallNext { window: 2 });
    s.at(9, 1);
    s.staff("s2", Command::Start { window: 2 });
    s.at(9, 6);
    s.staff(
        "s1",
        Command::Finish {
            window: 1,
            outcome: Outcome::Done,
            reason: None,
        },
    );
    s.rate(1, a1, Some(Rating::VerySatisfied));
    s.at(9, 10);
    s.staff("s1", Command::CallNext { window: 1 });
    s.at(9, 11);
    s.staff("s1", Command::Start { window: 1 });
    s.at(9, 21);
    s.staff(
        "s2",
        Command::Finish {
            window: 2,
            outcome: Outcome::Rejected,
            reason: Some(EVIL_REASON.into()),
        },
    );
    s.rate(2, b1, Some(Rating::Dissatisfied));
    s.at(9, 41);
    s.staff(
        "s1",
        Command::Finish {
            window: 1,
            outcome: Outcome::Done,
            reason: None,
        },
    );
    s.rate(1, a2, None);
    s.at(17, 30);
    (config, path)
}

fn args(out: &Path, formats: &[FileFormat]) -> ReportArgs {
    ReportArgs {
        day: Some("2026-11-24".into()),
        week: None,
        month: None,
        quarter: None,
        out: out.to_path_buf(),
        format: formats.to_vec(),
    }
}

/// The column index of a Chinese header.
fn col(table: &Table, zh: &str) -> usize {
    table
        .columns
        .iter()
        .position(|c| c.zh == zh)
        .unwrap_or_else(|| panic!("{} has no column {zh}", table.file_stem))
}

#[test]
fn csv_and_xlsx_hold_the_figures_of_the_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, journal) = scripted_day(dir.path());
    let out = dir.path().join("out");
    let written = write_report(
        config.clone(),
        &journal,
        &args(&out, &[FileFormat::Csv, FileFormat::Xlsx, FileFormat::Json]),
    )
    .expect("report");

    // The same report, computed again from the journal: what the files must hold.
    let period = Period::parse("day", "2026-11-24").unwrap();
    let reader = JournalReader::open(&journal).unwrap();
    let report = stats::from_reader(config.clone(), &reader, &period).unwrap();
    let tables = stats::tables(&report, "报表测试中心");
    assert!(tables.len() >= 5, "views: {}", tables.len());
    for stem in ["services", "windows", "staff", "departments", "evaluations"] {
        assert!(tables.iter().any(|t| t.file_stem == stem), "no {stem} view");
    }

    // Hand-computed figures of the hall.
    let h = &report.hall;
    assert_eq!((h.issued, h.served, h.called), (3, 3, 3));
    assert_eq!(h.wait.mean_ms, Some((15.0 + 15.0 + 20.0) * 60_000.0 / 3.0));
    assert_eq!(h.service.mean_ms, Some(20.0 * 60_000.0));
    assert_eq!(h.ratings.satisfaction_rate, Some(0.5));
    assert_eq!((h.ratings.rated, h.ratings.not_rated), (2, 1));

    // Files written: one CSV per view, the workbook, the JSON.
    let names: Vec<String> = written
        .iter()
        .map(|w| w.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for t in &tables {
        assert!(names.contains(&format!("{}.csv", t.file_stem)), "{names:?}");
    }
    assert!(
        names.contains(&"hallq-2026-11-24.xlsx".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"report.json".to_string()), "{names:?}");

    // ---- CSV: every file, cell by cell.
    for t in &tables {
        let bytes = std::fs::read(out.join(format!("{}.csv", t.file_stem))).unwrap();
        assert!(
            bytes.starts_with(&[0xEF, 0xBB, 0xBF]),
            "{}: no BOM",
            t.file_stem
        );
        let text = String::from_utf8(bytes).expect("UTF-8");
        let rows = csv::parse(&text).expect("CSV parses");
        assert_eq!(rows.len(), t.rows.len() + 1, "{}: rows", t.file_stem);
        let header: Vec<&str> = t.columns.iter().map(|c| c.zh.as_str()).collect();
        assert_eq!(rows[0], header, "{}: header first", t.file_stem);
        for (i, row) in t.rows.iter().enumerate() {
            assert_eq!(rows[i + 1].len(), row.len(), "{} row {i}", t.file_stem);
            for (j, cell) in row.iter().enumerate() {
                assert_eq!(
                    rows[i + 1][j],
                    csv_expect(cell),
                    "{} row {i} column {}",
                    t.file_stem,
                    t.columns[j].zh
                );
            }
        }
    }
    // The summary's total row, by hand, as a spreadsheet user reads it.
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let rows = csv::parse(&summary).unwrap();
    let t = tables.iter().find(|t| t.file_stem == "summary").unwrap();
    let total = rows.last().unwrap();
    assert_eq!(total[col(t, "取号数")], "3");
    assert_eq!(total[col(t, "办理数")], "3");
    assert_eq!(total[col(t, "平均等候(分钟)")], "16.7");
    assert_eq!(total[col(t, "平均办理(分钟)")], "20.0");
    assert_eq!(total[col(t, "满意率")], "50.0%");
    assert_eq!(total[col(t, "目标时限内占比")], "66.7%");
    // The rejection reason is defused, not dropped.
    assert!(
        std::fs::read_to_string(out.join("services.csv"))
            .unwrap()
            .contains("'=HYPERLINK"),
        "the reason must be written with a leading apostrophe"
    );

    // ---- XLSX: one sheet per view, every cell, formats, frozen header, filter.
    let book = Xlsx::open(&out.join("hallq-2026-11-24.xlsx"));
    let sheet_names: Vec<&str> = book.sheets.iter().map(|(n, _)| n.as_str()).collect();
    let want: Vec<&str> = tables.iter().map(|t| t.sheet.as_str()).collect();
    assert_eq!(sheet_names, want);
    for (t, (_, xml)) in tables.iter().zip(&book.sheets) {
        let cells = book.cells(xml);
        assert_eq!(
            cells.get(&(1, 0)).map(|c| c.text.as_str()),
            Some(t.title.as_str()),
            "{}: title in A1",
            t.sheet
        );
        for (j, c) in t.columns.iter().enumerate() {
            let got = cells
                .get(&(2, j as u32))
                .unwrap_or_else(|| panic!("{}: no header {j}", t.sheet));
            assert_eq!(got.text, c.zh, "{}: header", t.sheet);
            assert!(
                book.is_bold(got.style),
                "{}: header {} not bold",
                t.sheet,
                c.zh
            );
        }
        for (i, row) in t.rows.iter().enumerate() {
            let r = i as u32 + 3;
            for (j, cell) in row.iter().enumerate() {
                let got = cells.get(&(r, j as u32));
                let what = format!("{} {}{r}", t.sheet, column_letters(j as u32));
                match cell {
                    Cell::Empty => assert!(got.is_none(), "{what}: not empty"),
                    // An empty text is a blank cell.
                    Cell::Text(s) if s.is_empty() => {
                        assert!(got.is_none_or(|c| c.text.is_empty()), "{what}: not blank")
                    }
                    Cell::Text(s) => {
                        let got = got.unwrap_or_else(|| panic!("{what}: missing"));
                        assert!(got.is_string, "{what}: must be a string cell");
                        assert_eq!(&got.text, s, "{what}");
                    }
                    Cell::Int(n) => book.number(got, *n as f64, "0", &what),
                    Cell::Num(x) => book.number(got, *x, "0.00", &what),
                    Cell::Minutes(x) => book.number(got, *x, "0.0", &what),
                    Cell::Percent(x) => book.number(got, *x, "0.0%", &what),
                }
            }
        }
        assert!(
            xml.contains(r#"ySplit="2""#) && xml.contains(r#"state="frozen""#),
            "{}: header not frozen",
            t.sheet
        );
        assert!(
            xml.contains("<autoFilter ref=\"A2:"),
            "{}: no autofilter",
            t.sheet
        );
        assert!(!xml.contains("<f>"), "{}: a formula in the sheet", t.sheet);
    }
    // The reason is a plain string in the workbook.
    let services = tables
        .iter()
        .position(|t| t.file_stem == "services")
        .unwrap();
    let cells = book.cells(&book.sheets[services].1);
    assert!(
        cells
            .values()
            .any(|c| c.is_string && c.text.starts_with(EVIL_REASON)),
        "the rejection reason is a string cell"
    );
    // CJK columns are wide enough: the 业务名称 column fits 税务登记 (8 display columns).
    let name_col = col(&tables[services], "业务名称") as u32 + 1;
    let width = book.column_width(&book.sheets[services].1, name_col);
    assert!(width >= 10.0, "业务名称 column width {width}");

    // ---- JSON: the same figures.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["hall"]["issued"], 3);
    assert_eq!(json["period"]["label"], "2026-11-24");
    assert_eq!(json, serde_json::to_value(&report).unwrap());
}

#[test]
fn recomputing_writes_the_same_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, journal) = scripted_day(dir.path());
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    write_report(config.clone(), &journal, &args(&a, &[FileFormat::Csv])).unwrap();
    write_report(config, &journal, &args(&b, &[FileFormat::Csv])).unwrap();
    let mut n = 0;
    for entry in std::fs::read_dir(&a).unwrap() {
        let name = entry.unwrap().file_name();
        assert_eq!(
            std::fs::read(a.join(&name)).unwrap(),
            std::fs::read(b.join(&name)).unwrap(),
            "{name:?} differs"
        );
        n += 1;
    }
    assert!(n >= 5);
    // Only what was asked for, and no temporary files left behind.
    for entry in std::fs::read_dir(&a).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(name.ends_with(".csv") && !name.starts_with('.'), "{name}");
    }
}

#[test]
fn the_period_flags_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, journal) = scripted_day(dir.path());
    let out = dir.path().join("out");
    let mut two = args(&out, &[FileFormat::Csv]);
    two.month = Some("2026-11".into());
    let e = write_report(config.clone(), &journal, &two)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--day") && e.contains("--month"), "{e}");
    let mut bad = args(&out, &[FileFormat::Csv]);
    bad.day = Some("2026-11-31".into());
    let e = write_report(config.clone(), &journal, &bad)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("--day:") && e.contains("YYYY-MM-DD"), "{e}");
    let missing = dir.path().join("nowhere/journal.sqlite");
    let e = format!(
        "{:#}",
        write_report(config, &missing, &args(&out, &[FileFormat::Csv])).unwrap_err()
    );
    assert!(e.contains("no journal"), "{e}");
    assert!(!out.exists(), "nothing is written on an error");
}

/// What the CSV must hold for a cell (the documented format, written out
/// independently of `report::csv`).
fn csv_expect(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{s}"),
        Cell::Text(s) => s.clone(),
        Cell::Int(n) => n.to_string(),
        Cell::Num(x) => format!("{x:.2}"),
        Cell::Minutes(x) => format!("{x:.1}"),
        Cell::Percent(x) => format!("{:.1}%", x * 100.0),
        Cell::Empty => String::new(),
    }
}

// ---- a small XLSX reader (zip + the XML rust_xlsxwriter writes) ----------

struct XCell {
    text: String,
    is_string: bool,
    style: usize,
}

struct Xlsx {
    /// (sheet name, sheet XML), in workbook order.
    sheets: Vec<(String, String)>,
    shared: Vec<String>,
    /// Number format code of each cell style (cellXfs index).
    formats: Vec<String>,
    bold: Vec<bool>,
}

impl Xlsx {
    fn open(path: &Path) -> Xlsx {
        let file = std::fs::File::open(path).expect("xlsx");
        let mut zip = zip::ZipArchive::new(file).expect("a zip file");
        let mut read = |name: &str| {
            let mut s = String::new();
            zip.by_name(name)
                .unwrap_or_else(|_| panic!("{name} missing"))
                .read_to_string(&mut s)
                .unwrap();
            s
        };
        let workbook = read("xl/workbook.xml");
        let rels = read("xl/_rels/workbook.xml.rels");
        let shared_xml = read("xl/sharedStrings.xml");
        let styles = read("xl/styles.xml");
        let mut sheets = Vec::new();
        for tag in elements(&workbook, "sheet") {
            let name = unescape(&attr(tag, "name").expect("name"));
            let rid = attr(tag, "r:id").expect("r:id");
            let target = elements(&rels, "Relationship")
                .into_iter()
                .find(|r| attr(r, "Id").as_deref() == Some(rid.as_str()))
                .and_then(|r| attr(r, "Target"))
                .expect("target");
            let xml = read(&format!("xl/{}", target.trim_start_matches("/xl/")));
            sheets.push((name, xml));
        }
        let shared = shared_xml
            .split("<si>")
            .skip(1)
            .map(|si| {
                let si = si.split("</si>").next().unwrap_or("");
                texts(si)
            })
            .collect();
        // Number formats: built-ins used here, then the workbook's own.
        let mut codes: BTreeMap<u32, String> = BTreeMap::new();
        codes.insert(0, "General".into());
        codes.insert(1, "0".into());
        codes.insert(2, "0.00".into());
        codes.insert(9, "0%".into());
        codes.insert(10, "0.00%".into());
        for nf in elements(&styles, "numFmt") {
            let id: u32 = attr(nf, "numFmtId").unwrap().parse().unwrap();
            codes.insert(id, unescape(&attr(nf, "formatCode").unwrap()));
        }
        let fonts_xml = section(&styles, "fonts");
        let font_bold: Vec<bool> = fonts_xml
            .split("<font>")
            .skip(1)
            .map(|f| f.split("</font>").next().unwrap_or("").contains("<b/>"))
            .collect();
        let xfs = section(&styles, "cellXfs");
        let mut formats = Vec::new();
        let mut bold = Vec::new();
        for xf in elements(xfs, "xf") {
            let id: u32 = attr(xf, "numFmtId").map_or(0, |v| v.parse().unwrap());
            formats.push(codes.get(&id).cloned().unwrap_or_else(|| format!("#{id}")));
            let font: usize = attr(xf, "fontId").map_or(0, |v| v.parse().unwrap());
            bold.push(font_bold.get(font).copied().unwrap_or(false));
        }
        Xlsx {
            sheets,
            shared,
            formats,
            bold,
        }
    }

    /// Cells by (1-based row, 0-based column).
    fn cells(&self, xml: &str) -> BTreeMap<(u32, u32), XCell> {
        let mut out = BTreeMap::new();
        for part in xml.split("<c ").skip(1) {
            let (head, rest) = part.split_once('>').unwrap();
            if head.ends_with('/') {
                continue; // an empty styled cell
            }
            let body = rest.split("</c>").next().unwrap_or("");
            let tag = format!("<c {head}>");
            let r = attr(&tag, "r").unwrap();
            let kind = attr(&tag, "t");
            let style = attr(&tag, "s").map_or(0, |s| s.parse().unwrap());
            let value = between(body, "<v>", "</v>").map(unescape);
            let (text, is_string) = match kind.as_deref() {
                Some("s") => (
                    self.shared[value.unwrap().parse::<usize>().unwrap()].clone(),
                    true,
                ),
                Some("inlineStr") => (texts(body), true),
                Some("str") => (value.unwrap_or_default(), true),
                _ => (value.unwrap_or_default(), false),
            };
            out.insert(
                cell_ref(&r),
                XCell {
                    text,
                    is_string,
                    style,
                },
            );
        }
        out
    }

    fn is_bold(&self, style: usize) -> bool {
        self.bold.get(style).copied().unwrap_or(false)
    }

    /// A number cell holding `want` with number format `format`.
    fn number(&self, got: Option<&XCell>, want: f64, format: &str, what: &str) {
        let got = got.unwrap_or_else(|| panic!("{what}: missing"));
        assert!(!got.is_string, "{what}: a number must not be a string");
        let x: f64 = got
            .text
            .parse()
            .unwrap_or_else(|_| panic!("{what}: {:?}", got.text));
        assert!(
            (x - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{what}: {x} != {want}"
        );
        assert_eq!(
            self.formats.get(got.style).map(String::as_str),
            Some(format),
            "{what}: number format"
        );
    }

    /// Width of a 1-based column from `<cols>`.
    fn column_width(&self, xml: &str, col: u32) -> f64 {
        for c in elements(xml, "col") {
            let min: u32 = attr(c, "min").unwrap().parse().unwrap();
            let max: u32 = attr(c, "max").unwrap().parse().unwrap();
            if (min..=max).contains(&col) {
                return attr(c, "width").unwrap().parse().unwrap();
            }
        }
        0.0
    }
}

/// Opening tags `<name …>` (attributes only).
fn elements<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let from = &rest[i..];
        let end = from.find('>').unwrap();
        out.push(&from[..=end]);
        rest = &from[end..];
    }
    out
}

fn section<'a>(xml: &'a str, name: &str) -> &'a str {
    let start = xml.find(&format!("<{name}")).unwrap_or(0);
    let end = xml.find(&format!("</{name}>")).unwrap_or(xml.len());
    &xml[start..end]
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let j = tag[i..].find('"')?;
    Some(tag[i..i + j].to_string())
}

fn between<'a>(s: &'a str, a: &str, b: &str) -> Option<&'a str> {
    let i = s.find(a)? + a.len();
    let j = s[i..].find(b)?;
    Some(&s[i..i + j])
}

/// The text of every `<t>` in a shared string (plain or rich).
fn texts(si: &str) -> String {
    let mut out = String::new();
    for part in si.split("<t").skip(1) {
        let (head, rest) = part.split_once('>').unwrap();
        if head.ends_with('/') {
            continue;
        }
        out.push_str(&unescape(rest.split("</t>").next().unwrap_or("")));
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// `B12` → (12, 1).
fn cell_ref(r: &str) -> (u32, u32) {
    let letters: String = r.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let row: u32 = r[letters.len()..].parse().unwrap();
    let col = letters
        .bytes()
        .fold(0u32, |acc, b| acc * 26 + u32::from(b - b'A' + 1))
        - 1;
    (row, col)
}

fn column_letters(mut col: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap()
}
