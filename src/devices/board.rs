//! Zone board (条屏), protocol `modbus-text-board`: a multi-line LED board
//! showing the latest calls of its zone, newest first (`A012 → 12号窗口`).
//!
//! Register map of DESIGN.md §5 (changeable by the profile): HR 0 = lines
//! in use (1–16), HR 1 = brightness, line k (0–15) at HR 64 + 32k …
//! 64 + 32k + 31 (32 code units).
//!
//! Only the lines in use are part of the image: the device shows HR 0 lines
//! and ignores the rest, so shrinking the board never costs a write of the
//! lines dropped. With no call yet, one line shows the profile's `empty`
//! text, since HR 0 must be at least 1.

use serde::{Deserialize, Serialize};

use crate::devices::image::{self, RegisterImage};
use crate::devices::indicator::{check_max_write, default_max_write};
use crate::devices::modbus::text::{self, RegisterText};
use crate::devices::modbus::{EncodeError, EncodedRequest};
use crate::devices::profile::{Problem, check_block, check_disjoint, check_template};
use crate::devices::template::Template;
use crate::queue::types::WindowNo;

/// Placeholders a board line may use.
pub const PLACEHOLDERS: &[&str] = &["ticket", "window"];
/// The default line of a call.
pub const DEFAULT_LINE: &str = "{ticket} → {window}号窗口";
/// Lines a board profile may declare.
pub const LINES_MAX: u8 = 64;

/// One call as a board shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardCall {
    pub ticket: String,
    pub window: WindowNo,
}

impl BoardCall {
    pub fn new(ticket: impl Into<String>, window: WindowNo) -> BoardCall {
        BoardCall {
            ticket: ticket.into(),
            window,
        }
    }

    pub fn render(&self, line: &Template) -> String {
        line.render(|name| match name {
            "ticket" => Some(self.ticket.clone()),
            "window" => Some(self.window.to_string()),
            _ => None,
        })
    }
}

/// What a board shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardContent {
    /// Newest first; at least one line.
    pub lines: Vec<String>,
    pub brightness: u8,
}

fn one() -> u16 {
    1
}
fn default_first_line() -> u16 {
    64
}
fn thirty_two() -> u16 {
    32
}
fn default_lines() -> u8 {
    16
}
fn default_brightness() -> u8 {
    80
}
fn default_line() -> Template {
    Template::parse(DEFAULT_LINE).expect("the default line parses")
}
fn default_empty() -> Template {
    Template::parse("欢迎光临").expect("parses")
}

/// Profile parameters (`[modbus-text-board]`); defaults are DESIGN.md's map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBoardProfile {
    #[serde(default)]
    pub lines_register: u16,
    #[serde(default = "one")]
    pub brightness_register: u16,
    #[serde(default = "default_first_line")]
    pub first_line_register: u16,
    /// Registers from one line's start to the next.
    #[serde(default = "thirty_two")]
    pub line_stride: u16,
    /// Code units (or GB2312 byte pairs) per line.
    #[serde(default = "thirty_two")]
    pub line_width: u16,
    /// Lines the board has.
    #[serde(default = "default_lines")]
    pub lines: u8,
    #[serde(default = "default_brightness")]
    pub brightness: u8,
    #[serde(default)]
    pub text_encoding: RegisterText,
    #[serde(default = "default_max_write")]
    pub max_write_registers: u16,
    /// One call: `{ticket}`, `{window}`.
    #[serde(default = "default_line")]
    pub line: Template,
    /// Shown alone when there is no call.
    #[serde(default = "default_empty")]
    pub empty: Template,
}

impl Default for TextBoardProfile {
    fn default() -> Self {
        TextBoardProfile {
            lines_register: 0,
            brightness_register: 1,
            first_line_register: 64,
            line_stride: 32,
            line_width: 32,
            lines: default_lines(),
            brightness: default_brightness(),
            text_encoding: RegisterText::Utf16,
            max_write_registers: default_max_write(),
            line: default_line(),
            empty: default_empty(),
        }
    }
}

impl TextBoardProfile {
    /// The board showing `calls` (newest first; those beyond the board's
    /// lines are left out).
    pub fn content(&self, calls: &[BoardCall]) -> BoardContent {
        let mut lines: Vec<String> = calls
            .iter()
            .take(usize::from(self.lines.max(1)))
            .map(|c| c.render(&self.line))
            .collect();
        if lines.is_empty() {
            lines.push(self.empty.render(|_| None));
        }
        BoardContent {
            lines,
            brightness: self.brightness,
        }
    }

    /// First register of line `k`.
    pub fn line_register(&self, k: usize) -> u16 {
        // Validated profiles keep every line inside the address space.
        (usize::from(self.first_line_register) + k * usize::from(self.line_stride))
            .min(usize::from(u16::MAX)) as u16
    }

    pub fn image(&self, content: &BoardContent) -> RegisterImage {
        let shown = content.lines.len().clamp(1, usize::from(self.lines.max(1)));
        let mut img = RegisterImage::new();
        img.set(self.lines_register, shown as u16);
        img.set(
            self.brightness_register,
            u16::from(content.brightness.min(100)),
        );
        let width = usize::from(self.line_width);
        for k in 0..shown {
            let line = content.lines.get(k).map_or("", String::as_str);
            img.set_block(
                self.line_register(k),
                &text::encode(line, width, self.text_encoding),
            );
        }
        img
    }

    /// The FC16 requests that bring a device holding `last` to `desired`.
    pub fn writes(
        &self,
        unit: u8,
        last: Option<&RegisterImage>,
        desired: &RegisterImage,
    ) -> Result<Vec<EncodedRequest>, EncodeError> {
        let runs = image::diff(last, desired, &[], self.max_write_registers);
        image::write_requests(unit, &runs)
    }

    /// Reads content back from registers (the simulator's side).
    pub fn decode(&self, img: &RegisterImage) -> BoardContent {
        let shown =
            usize::from(img.get(self.lines_register).unwrap_or(0)).min(usize::from(self.lines));
        let lines = (0..shown)
            .map(|k| {
                text::decode(
                    &img.block(self.line_register(k), usize::from(self.line_width)),
                    self.text_encoding,
                )
            })
            .collect();
        BoardContent {
            lines,
            brightness: img.get(self.brightness_register).unwrap_or(0).min(100) as u8,
        }
    }

    pub(crate) fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        if self.lines == 0 || self.lines > LINES_MAX {
            p.push(Problem::new(
                "lines",
                format!("{} lines; allowed 1–{LINES_MAX}", self.lines),
            ));
        }
        if self.line_width > self.line_stride {
            p.push(Problem::new(
                "line_width",
                "a line may not be wider than line_stride (lines would overlap)",
            ));
        }
        check_block(&mut p, "line_width", 0, self.line_width);
        let lines = u16::from(self.lines.clamp(1, LINES_MAX));
        let span_end = u32::from(self.first_line_register)
            + u32::from(self.line_stride) * u32::from(lines - 1)
            + u32::from(self.line_width);
        if span_end > 65536 {
            p.push(Problem::new(
                "first_line_register",
                "the last line runs past register 65535",
            ));
        }
        let span = span_end.min(65536) - u32::from(self.first_line_register);
        check_disjoint(
            &mut p,
            &[
                ("lines_register", self.lines_register, 1),
                ("brightness_register", self.brightness_register, 1),
                (
                    "first_line_register",
                    self.first_line_register,
                    span.min(u32::from(u16::MAX)) as u16,
                ),
            ],
        );
        if self.brightness > 100 {
            p.push(Problem::new(
                "brightness",
                "brightness is a percentage, 0–100",
            ));
        }
        check_max_write(&mut p, self.max_write_registers);
        check_template(&mut p, "line", &self.line, PLACEHOLDERS);
        check_template(&mut p, "empty", &self.empty, &[]);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_and_image() {
        let p = TextBoardProfile::default();
        let calls = [BoardCall::new("A013", 3), BoardCall::new("A012", 12)];
        let c = p.content(&calls);
        assert_eq!(c.lines, ["A013 → 3号窗口", "A012 → 12号窗口"]);
        let img = p.image(&c);
        assert_eq!(img.get(0), Some(2));
        assert_eq!(img.get(1), Some(80));
        assert_eq!(img.len(), 2 + 2 * 32);
        assert_eq!(img.get(64), Some(u16::from(b'A')));
        assert_eq!(img.get(96 + 3), Some(u16::from(b'2')));
        assert_eq!(p.decode(&img), c);
    }

    #[test]
    fn empty_board_shows_one_line() {
        let p = TextBoardProfile::default();
        let c = p.content(&[]);
        assert_eq!(c.lines, ["欢迎光临"]);
        assert_eq!(p.image(&c).get(0), Some(1));
    }

    #[test]
    fn a_new_call_shifts_every_line() {
        let p = TextBoardProfile::default();
        let before = p.image(&p.content(&[BoardCall::new("A012", 12)]));
        let after = p.image(&p.content(&[BoardCall::new("A013", 3), BoardCall::new("A012", 12)]));
        let w = p.writes(5, Some(&before), &after).unwrap();
        // HR 0 (the count), the changed part of line 0 (HR 67–75), and all
        // of the new line 1 (HR 96–127). HR 1 is unchanged; the gaps before
        // and after line 0's change are too long to bridge.
        assert_eq!(w.len(), 3);
        let mut device = before.clone();
        for r in &w {
            let (_, req) = crate::devices::modbus::decode_request(&r.bytes).unwrap();
            let crate::devices::modbus::Request::WriteMultipleRegisters { start, values } = req
            else {
                panic!("not FC16")
            };
            device.set_block(start, &values);
        }
        assert_eq!(p.decode(&device), p.decode(&after));
        let full = p.writes(5, None, &after).unwrap();
        assert_eq!(full.len(), 2); // HR 0–1, HR 64–127
    }
}
