//! Text templates from device profiles: `请到{window}号窗口`,
//! `请{ticket}号到{window}号窗口办理`, `{staff} {job_number}`.
//!
//! A template is literal text with `{name}` placeholders; braces cannot be
//! escaped (device texts have no use for them). Which names a template may
//! use depends on where it is used; profiles check that with
//! [`Template::check_placeholders`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// Characters a template may have (a whole announcement fits easily).
pub const TEMPLATE_CHARS_MAX: usize = 200;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Placeholder(String),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("a `{{` at character {0} is not closed by `}}`")]
    Unclosed(usize),
    #[error("a `}}` at character {0} closes nothing")]
    StrayClose(usize),
    #[error("an empty or malformed placeholder at character {0} (use e.g. {{window}})")]
    BadName(usize),
    #[error("the template has {0} characters; at most {TEMPLATE_CHARS_MAX}")]
    TooLong(usize),
    #[error("unknown placeholder {{{name}}}; this text may use {allowed}")]
    Unknown { name: String, allowed: String },
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let chars = source.chars().count();
        if chars > TEMPLATE_CHARS_MAX {
            return Err(TemplateError::TooLong(chars));
        }
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut iter = source.chars().enumerate();
        while let Some((i, c)) = iter.next() {
            match c {
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for (_, c) in iter.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err(TemplateError::Unclosed(i));
                    }
                    let well_formed = !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                    if !well_formed {
                        return Err(TemplateError::BadName(i));
                    }
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Placeholder(name));
                }
                '}' => return Err(TemplateError::StrayClose(i)),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template {
            source: source.to_string(),
            pieces,
        })
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Refuses placeholders outside `allowed`.
    pub fn check_placeholders(&self, allowed: &[&str]) -> Result<(), TemplateError> {
        for piece in &self.pieces {
            if let Piece::Placeholder(name) = piece
                && !allowed.contains(&name.as_str())
            {
                return Err(TemplateError::Unknown {
                    name: name.clone(),
                    allowed: allowed
                        .iter()
                        .map(|a| format!("{{{a}}}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        Ok(())
    }

    /// Renders with `value(name)` for each placeholder (an unknown name
    /// renders as nothing), then trims surrounding whitespace (a missing
    /// job number must not leave a trailing space on a display).
    pub fn render(&self, value: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Placeholder(name) => {
                    if let Some(v) = value(name) {
                        out.push_str(&v);
                    }
                }
            }
        }
        out.trim().to_string()
    }
}

impl TryFrom<String> for Template {
    type Error = TemplateError;
    fn try_from(s: String) -> Result<Template, TemplateError> {
        Template::parse(&s)
    }
}

impl From<Template> for String {
    fn from(t: Template) -> String {
        t.source
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_render() {
        let t = Template::parse("请{ticket}号到{window}号窗口办理").unwrap();
        assert_eq!(t.pieces().len(), 5);
        let s = t.render(|n| match n {
            "ticket" => Some("A012".into()),
            "window" => Some("12".into()),
            _ => None,
        });
        assert_eq!(s, "请A012号到12号窗口办理");
        assert!(t.check_placeholders(&["ticket", "window"]).is_ok());
        assert!(matches!(
            t.check_placeholders(&["window"]),
            Err(TemplateError::Unknown { .. })
        ));
    }

    #[test]
    fn errors() {
        assert_eq!(Template::parse("a{b"), Err(TemplateError::Unclosed(1)));
        assert_eq!(Template::parse("a}"), Err(TemplateError::StrayClose(1)));
        assert_eq!(Template::parse("{}"), Err(TemplateError::BadName(0)));
        assert_eq!(Template::parse("{Win dow}"), Err(TemplateError::BadName(0)));
        assert!(Template::parse(&"字".repeat(201)).is_err());
    }

    #[test]
    fn missing_values_are_trimmed() {
        let t = Template::parse("{staff} {job_number}").unwrap();
        assert_eq!(t.render(|n| (n == "staff").then(|| "张三".into())), "张三");
    }
}
