//! Maps a field path such as `service[3].prefix` to its line in the TOML
//! source, and a byte offset (from a parser error) back to a field path.
//!
//! Paths use the TOML keys; an array (of tables or of values) is indexed
//! 0-based: `hall.timezone`, `window[0].services[2].weight`,
//! `calendar.session[1].to`. The source is parsed with the `toml` crate's
//! span-keeping document parser ([`toml::de::DeTable`]), which recovers from
//! syntax errors as well as it can, so lookups work on broken files too.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The 1-based line where `path` is written, if it can be found. When the
/// exact key is absent (a missing field), the line of the nearest parent that
/// exists is returned (for `service[3].prefix`, the `[[service]]` header).
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    Locator::new(text).line_of(path)
}

/// A parsed source kept for repeated lookups.
pub struct Locator<'a> {
    text: &'a str,
    root: Spanned<DeTable<'a>>,
    syntax_errors: Vec<toml::de::Error>,
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step<'p> {
    Key(&'p str),
    Index(usize),
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Locator<'a> {
        let (root, syntax_errors) = DeTable::parse_recoverable(text);
        Locator {
            text,
            root,
            syntax_errors,
        }
    }

    /// The parsed document (best effort when there are syntax errors).
    pub fn root(&self) -> &Spanned<DeTable<'a>> {
        &self.root
    }

    /// TOML syntax errors found while parsing.
    pub fn syntax_errors(&self) -> &[toml::de::Error] {
        &self.syntax_errors
    }

    /// The 1-based line of `path`, or of its nearest existing parent.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        self.span_of(path).map(|span| self.line_at(span.start))
    }

    /// The 1-based line holding byte `offset` (clamped to the text).
    pub fn line_at(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        1 + self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }

    /// The span of `path`, or of its nearest existing parent; `None` when
    /// not even the first key exists. For a key this is the span of the key
    /// itself (the line it is written on), for an array element the element.
    pub fn span_of(&self, path: &str) -> Option<Range<usize>> {
        let steps = parse_path(path)?;
        let mut best = None;
        let mut current: Option<&DeValue<'a>> = None;
        for step in steps {
            match step {
                Step::Key(key) => {
                    let table = match current {
                        None => self.root.get_ref(),
                        Some(DeValue::Table(t)) => t,
                        Some(_) => break,
                    };
                    let Some((k, v)) = table.get_key_value(key) else {
                        break;
                    };
                    best = Some(k.span());
                    current = Some(v.get_ref());
                }
                Step::Index(i) => {
                    let Some(DeValue::Array(array)) = current else {
                        break;
                    };
                    let Some(item) = array.get(i) else {
                        break;
                    };
                    best = Some(item.span());
                    current = Some(item.get_ref());
                }
            }
        }
        best
    }

    /// The most specific field path whose key or value covers byte `offset`.
    pub fn path_at(&self, offset: usize) -> Option<String> {
        let mut best: Option<Candidate> = None;
        visit_table(self.root.get_ref(), "", 0, offset, &mut best);
        best.map(|c| c.path)
    }
}

struct Candidate {
    path: String,
    len: usize,
    depth: usize,
}

fn covers(span: &Range<usize>, offset: usize) -> bool {
    if span.is_empty() {
        offset == span.start
    } else {
        span.start <= offset && offset < span.end
    }
}

/// Keeps the candidate with the shortest span, the deeper one on a tie.
fn offer(
    best: &mut Option<Candidate>,
    span: Range<usize>,
    offset: usize,
    path: &str,
    depth: usize,
) {
    if !covers(&span, offset) {
        return;
    }
    let len = span.len();
    let better = match best {
        None => true,
        Some(c) => len < c.len || (len == c.len && depth > c.depth),
    };
    if better {
        *best = Some(Candidate {
            path: path.to_string(),
            len,
            depth,
        });
    }
}

fn visit_table(
    table: &DeTable<'_>,
    prefix: &str,
    depth: usize,
    offset: usize,
    best: &mut Option<Candidate>,
) {
    for (key, value) in table.iter() {
        let path = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        offer(best, key.span(), offset, &path, depth + 1);
        visit_value(value, &path, depth + 1, offset, best);
    }
}

fn visit_value(
    value: &Spanned<DeValue<'_>>,
    path: &str,
    depth: usize,
    offset: usize,
    best: &mut Option<Candidate>,
) {
    offer(best, value.span(), offset, path, depth);
    match value.get_ref() {
        DeValue::Table(t) => visit_table(t, path, depth, offset, best),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                visit_value(item, &format!("{path}[{i}]"), depth + 1, offset, best);
            }
        }
        _ => {}
    }
}

/// Splits `a.b[2].c` into steps; `None` for a malformed path.
fn parse_path(path: &str) -> Option<Vec<Step<'_>>> {
    let mut steps = Vec::new();
    for segment in path.split('.') {
        let (key, mut rest) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        if key.is_empty() {
            return None;
        }
        steps.push(Step::Key(key));
        while !rest.is_empty() {
            let close = rest.find(']')?;
            let index = rest.get(1..close)?.parse().ok()?;
            steps.push(Step::Index(index));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return None;
            }
        }
    }
    Some(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"# a hall
[hall]
name = "某某县政务服务中心"
timezone = "Asia/Shanghai"

[[service]]
id = "a"
prefix = "A"

[[service]]
id = "b"
series = { start = 1, end = 0 }

[[window]]
number = 1
services = [
  { service = "a" },
  { service = "b", weight = 5 },
]

[[window]]
number = 2

[[window.services]]
service = "a"
weight = 7

[calendar]
issue_cutoff_minutes = 30

[[calendar.session]]
days = ["mon", "tue"]
from = "08:30"

[[calendar.session]]
days = ["wed"]
from = "13:00"
to = "17:00"

[[calendar.holiday]]
from = "2026-10-01"
"#;

    #[test]
    fn finds_keys_and_array_elements() {
        assert_eq!(line_of(DOC, "hall"), Some(2));
        assert_eq!(line_of(DOC, "hall.name"), Some(3));
        assert_eq!(line_of(DOC, "hall.timezone"), Some(4));
        assert_eq!(line_of(DOC, "service[0]"), Some(6));
        assert_eq!(line_of(DOC, "service[1].id"), Some(11));
        assert_eq!(line_of(DOC, "service[1].series.end"), Some(12));
        assert_eq!(line_of(DOC, "window[0].services[1].weight"), Some(18));
        assert_eq!(line_of(DOC, "window[0].services[0]"), Some(17));
        assert_eq!(line_of(DOC, "window[1].services[0].weight"), Some(26));
        assert_eq!(line_of(DOC, "calendar.issue_cutoff_minutes"), Some(29));
        assert_eq!(line_of(DOC, "calendar.session[0].days[1]"), Some(32));
        assert_eq!(line_of(DOC, "calendar.session[1].to"), Some(38));
        assert_eq!(line_of(DOC, "calendar.holiday[0].from"), Some(41));
    }

    #[test]
    fn missing_keys_fall_back_to_the_nearest_parent() {
        assert_eq!(line_of(DOC, "service[0].department"), Some(6));
        assert_eq!(line_of(DOC, "service[1].prefix"), Some(10));
        assert_eq!(line_of(DOC, "window[1].zone"), Some(21));
        assert_eq!(
            line_of(DOC, "window[0].services[5].weight"),
            line_of(DOC, "window[0].services")
        );
        assert_eq!(line_of(DOC, "calendar.session[0].to"), Some(31));
        assert_eq!(line_of(DOC, "calendar.holiday[0].name"), Some(40));
        assert_eq!(line_of(DOC, "hall.name_en"), Some(2));
        assert_eq!(line_of(DOC, "routing.priority_streak_max"), None);
        assert_eq!(line_of(DOC, "zone[0]"), None);
    }

    #[test]
    fn malformed_paths_and_texts_do_not_panic() {
        for path in [
            "",
            ".",
            "a..b",
            "service[",
            "service[x]",
            "service[1]x",
            "[0]",
            "service[99999999999999999999]",
        ] {
            let _ = line_of(DOC, path);
        }
        assert_eq!(line_of("", "hall"), None);
        assert_eq!(
            line_of("[hall\nname = ", "hall.name"),
            line_of("[hall\nname = ", "hall.name")
        );
    }

    #[test]
    fn offsets_map_back_to_paths() {
        let loc = Locator::new(DOC);
        let at = |needle: &str| DOC.find(needle).unwrap();
        assert_eq!(
            loc.path_at(at("\"Asia/Shanghai\"")).as_deref(),
            Some("hall.timezone")
        );
        assert_eq!(
            loc.path_at(at("end = 0") + 6).as_deref(),
            Some("service[1].series.end")
        );
        assert_eq!(
            loc.path_at(at("weight = 5") + 9).as_deref(),
            Some("window[0].services[1].weight")
        );
        assert_eq!(
            loc.path_at(at("[[window]]\nnumber = 2")).as_deref(),
            Some("window[1]")
        );
        assert_eq!(
            loc.path_at(at("\"13:00\"")).as_deref(),
            Some("calendar.session[1].from")
        );
        assert_eq!(loc.path_at(0), None);
        assert_eq!(loc.line_at(usize::MAX), DOC.lines().count() + 1);
    }
}
