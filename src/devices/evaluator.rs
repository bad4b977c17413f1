//! Evaluator (评价器, 好差评), protocol `modbus-evaluator`: polled like the
//! keypad (IR 0 pending, IR 1–8 ratings, HR 0 acknowledge n); HR 1 is the
//! prompt lamp (0 off, 1 请评价) and HR 16–31 the staff line.
//!
//! Ratings 1–5: 非常满意, 满意, 基本满意, 不满意, 非常不满意. A rating
//! belongs to the ticket just finished at that window; no rating within the
//! profile's `rating_timeout_s` is recorded as *not rated*, never as good
//! (that bookkeeping is the bus's; this module only decodes).

use serde::{Deserialize, Serialize};

use crate::devices::fifo::{self, FifoError, FifoLayout, Poll};
use crate::devices::image::{self, RegisterImage};
use crate::devices::indicator::{check_max_write, default_max_write};
use crate::devices::modbus::text::{self, RegisterText};
use crate::devices::modbus::{EncodeError, EncodedRequest};
use crate::devices::profile::{Problem, check_block, check_disjoint, check_template};
use crate::devices::template::Template;

/// Placeholders the staff line may use.
pub const PLACEHOLDERS: &[&str] = &["staff", "job_number", "window"];
/// Longest rating timeout a profile may set.
pub const RATING_TIMEOUT_S_MAX: u32 = 600;

pub use crate::queue::types::Rating;

/// One polled evaluator event.
pub type EvaluatorEvent = fifo::Event<Rating>;
/// The result of one evaluator poll.
pub type EvaluatorPoll = Poll<Rating>;

/// What the evaluator shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EvaluatorScreen {
    /// The 请评价 lamp.
    pub prompt: bool,
    /// The staff member's name and job number.
    pub staff_line: String,
}

fn one() -> u16 {
    1
}
fn sixteen() -> u16 {
    16
}
fn default_rating_timeout_s() -> u32 {
    30
}
fn default_staff_line() -> Template {
    Template::parse("{staff} {job_number}").expect("parses")
}
fn default_poll_interval_ms() -> u32 {
    500
}

/// Profile parameters (`[modbus-evaluator]`); defaults are DESIGN.md's map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluatorProfile {
    #[serde(default)]
    pub fifo: FifoLayout,
    #[serde(default = "one")]
    pub prompt_register: u16,
    #[serde(default = "sixteen")]
    pub staff_register: u16,
    #[serde(default = "sixteen")]
    pub staff_width: u16,
    #[serde(default)]
    pub text_encoding: RegisterText,
    #[serde(default = "default_max_write")]
    pub max_write_registers: u16,
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u32,
    /// Seconds after 请评价 lights up before the ticket is *not rated*.
    #[serde(default = "default_rating_timeout_s")]
    pub rating_timeout_s: u32,
    /// `{staff}`, `{job_number}`, `{window}`.
    #[serde(default = "default_staff_line")]
    pub staff_line: Template,
}

impl Default for EvaluatorProfile {
    fn default() -> Self {
        EvaluatorProfile {
            fifo: FifoLayout::default(),
            prompt_register: 1,
            staff_register: 16,
            staff_width: 16,
            text_encoding: RegisterText::Utf16,
            max_write_registers: default_max_write(),
            poll_interval_ms: default_poll_interval_ms(),
            rating_timeout_s: default_rating_timeout_s(),
            staff_line: default_staff_line(),
        }
    }
}

impl EvaluatorProfile {
    pub fn poll_request(&self, unit: u8) -> Result<EncodedRequest, EncodeError> {
        self.fifo.poll_request(unit)
    }

    /// Decodes the registers of a poll into ratings, oldest first.
    pub fn decode_poll(&self, registers: &[u16]) -> Result<EvaluatorPoll, FifoError> {
        fifo::decode_poll(&self.fifo, registers, Rating::from_code)
    }

    pub fn ack_request(&self, unit: u8, n: u8) -> Result<EncodedRequest, EncodeError> {
        self.fifo.ack_request(unit, n)
    }

    /// The staff line for a staff member at a window.
    pub fn staff_line(&self, staff: &str, job_number: &str, window: u32) -> String {
        self.staff_line.render(|name| match name {
            "staff" => Some(staff.to_string()),
            "job_number" => Some(job_number.to_string()),
            "window" => Some(window.to_string()),
            _ => None,
        })
    }

    pub fn screen_image(&self, screen: &EvaluatorScreen) -> RegisterImage {
        let mut img = RegisterImage::new();
        img.set(self.prompt_register, u16::from(screen.prompt));
        img.set_block(
            self.staff_register,
            &text::encode(
                &screen.staff_line,
                usize::from(self.staff_width),
                self.text_encoding,
            ),
        );
        img
    }

    pub fn screen_writes(
        &self,
        unit: u8,
        last: Option<&RegisterImage>,
        desired: &RegisterImage,
    ) -> Result<Vec<EncodedRequest>, EncodeError> {
        let runs = image::diff(last, desired, &[], self.max_write_registers);
        image::write_requests(unit, &runs)
    }

    /// Reads the screen back from registers (the simulator's side).
    pub fn decode_screen(&self, img: &RegisterImage) -> EvaluatorScreen {
        EvaluatorScreen {
            prompt: img.get(self.prompt_register).unwrap_or(0) != 0,
            staff_line: text::decode(
                &img.block(self.staff_register, usize::from(self.staff_width)),
                self.text_encoding,
            ),
        }
    }

    pub(crate) fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        self.fifo.problems(&mut p);
        check_block(&mut p, "staff_width", self.staff_register, self.staff_width);
        check_disjoint(
            &mut p,
            &[
                ("fifo.ack_register", self.fifo.ack_register, 1),
                ("prompt_register", self.prompt_register, 1),
                ("staff_register", self.staff_register, self.staff_width),
            ],
        );
        check_max_write(&mut p, self.max_write_registers);
        check_template(&mut p, "staff_line", &self.staff_line, PLACEHOLDERS);
        if self.rating_timeout_s == 0 || self.rating_timeout_s > RATING_TIMEOUT_S_MAX {
            p.push(Problem::new(
                "rating_timeout_s",
                format!("allowed 1–{RATING_TIMEOUT_S_MAX} seconds"),
            ));
        }
        if self.poll_interval_ms < 20 {
            p.push(Problem::new("poll_interval_ms", "at least 20 ms"));
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::fifo::Event;

    #[test]
    fn ratings() {
        let names: Vec<&str> = Rating::ALL.iter().map(|r| r.zh()).collect();
        assert_eq!(
            names,
            ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
        );
        for r in Rating::ALL {
            assert_eq!(Rating::from_code(r.code()), Some(r));
        }
        let p = EvaluatorProfile::default();
        let poll = p.decode_poll(&[2, 5, 6, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(
            poll.events,
            [Event::Known(Rating::VeryDissatisfied), Event::Unknown(6)]
        );
    }

    #[test]
    fn screen_writes_lamp_and_staff_line_separately() {
        let p = EvaluatorProfile::default();
        let line = p.staff_line("李明", "0231", 4);
        assert_eq!(line, "李明 0231");
        let off = p.screen_image(&EvaluatorScreen {
            prompt: false,
            staff_line: line.clone(),
        });
        let on = p.screen_image(&EvaluatorScreen {
            prompt: true,
            staff_line: line,
        });
        // Full: HR 1, and HR 16–31 (gap 2–15 is not part of the image).
        assert_eq!(p.screen_writes(2, None, &on).unwrap().len(), 2);
        let lamp = p.screen_writes(2, Some(&off), &on).unwrap();
        assert_eq!(lamp.len(), 1);
        assert_eq!(&lamp[0].bytes[..9], &[2, 0x10, 0, 1, 0, 1, 2, 0, 1]);
        assert!(p.decode_screen(&on).prompt);
    }
}
