//! Call keypad (呼叫器), protocol `modbus-keypad`: polled with FC04 (see
//! `fifo.rs`); each key is the counter API's command for the staff member
//! signed in at that window. Its screen shows the current ticket (HR 16–23)
//! and the tickets waiting for the window (HR 24).
//!
//! | code | key |
//! |---|---|
//! | 1 | call next |
//! | 2 | recall |
//! | 3 | no-show |
//! | 4 | start |
//! | 5 | finish (done) |
//! | 6 | pause |
//! | 7 | resume |
//! | 8 | next step / transfer |
//! | 9 | request evaluation |
//! | 10 | park |
//!
//! A profile may map other codes (`[modbus-keypad.codes]`, e.g. `"17" =
//! "call_next"`); then only its table counts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::devices::fifo::{self, FifoError, FifoLayout, Poll};
use crate::devices::image::{self, RegisterImage};
use crate::devices::indicator::{check_max_write, default_max_write};
use crate::devices::modbus::text::{self, RegisterText};
use crate::devices::modbus::{EncodeError, EncodedRequest};
use crate::devices::profile::{Problem, check_block, check_disjoint, check_template};
use crate::devices::template::Template;

/// A key of the keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeypadKey {
    CallNext,
    Recall,
    NoShow,
    Start,
    Finish,
    Pause,
    Resume,
    Transfer,
    RequestEvaluation,
    Park,
}

impl KeypadKey {
    pub const ALL: [KeypadKey; 10] = [
        KeypadKey::CallNext,
        KeypadKey::Recall,
        KeypadKey::NoShow,
        KeypadKey::Start,
        KeypadKey::Finish,
        KeypadKey::Pause,
        KeypadKey::Resume,
        KeypadKey::Transfer,
        KeypadKey::RequestEvaluation,
        KeypadKey::Park,
    ];

    /// The code of DESIGN.md's table.
    pub fn code(self) -> u16 {
        match self {
            KeypadKey::CallNext => 1,
            KeypadKey::Recall => 2,
            KeypadKey::NoShow => 3,
            KeypadKey::Start => 4,
            KeypadKey::Finish => 5,
            KeypadKey::Pause => 6,
            KeypadKey::Resume => 7,
            KeypadKey::Transfer => 8,
            KeypadKey::RequestEvaluation => 9,
            KeypadKey::Park => 10,
        }
    }

    /// The key of a code in DESIGN.md's table.
    pub fn from_code(code: u16) -> Option<KeypadKey> {
        KeypadKey::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The label on the key.
    pub fn zh(self) -> &'static str {
        match self {
            KeypadKey::CallNext => "呼叫",
            KeypadKey::Recall => "重呼",
            KeypadKey::NoShow => "过号",
            KeypadKey::Start => "开始办理",
            KeypadKey::Finish => "办结",
            KeypadKey::Pause => "暂停",
            KeypadKey::Resume => "恢复",
            KeypadKey::Transfer => "转移",
            KeypadKey::RequestEvaluation => "请评价",
            KeypadKey::Park => "挂起",
        }
    }
}

/// One polled keypad event.
pub type KeypadEvent = fifo::Event<KeypadKey>;
/// The result of one keypad poll.
pub type KeypadPoll = Poll<KeypadKey>;

/// What the keypad's screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeypadScreen {
    /// The window's current ticket, or a short message (`请先签到`).
    pub ticket: String,
    /// Tickets waiting for this window (shown up to 65535).
    pub waiting: u32,
}

fn default_ticket() -> u16 {
    16
}
fn default_ticket_width() -> u16 {
    8
}
fn default_waiting() -> u16 {
    24
}
fn default_poll_interval_ms() -> u32 {
    200
}
fn default_no_staff() -> Template {
    Template::parse("请先签到").expect("parses")
}

/// Profile parameters (`[modbus-keypad]`); defaults are DESIGN.md's map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeypadProfile {
    #[serde(default)]
    pub fifo: FifoLayout,
    #[serde(default = "default_ticket")]
    pub ticket_register: u16,
    #[serde(default = "default_ticket_width")]
    pub ticket_width: u16,
    #[serde(default = "default_waiting")]
    pub waiting_register: u16,
    #[serde(default)]
    pub text_encoding: RegisterText,
    #[serde(default = "default_max_write")]
    pub max_write_registers: u16,
    /// How often an idle keypad is polled.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u32,
    /// Shown on the screen when a key is pressed at a window with nobody
    /// signed in.
    #[serde(default = "default_no_staff")]
    pub no_staff: Template,
    /// Code → key, replacing DESIGN.md's table when present.
    #[serde(default)]
    pub codes: Option<BTreeMap<String, KeypadKey>>,
}

impl Default for KeypadProfile {
    fn default() -> Self {
        KeypadProfile {
            fifo: FifoLayout::default(),
            ticket_register: default_ticket(),
            ticket_width: default_ticket_width(),
            waiting_register: default_waiting(),
            text_encoding: RegisterText::Utf16,
            max_write_registers: default_max_write(),
            poll_interval_ms: default_poll_interval_ms(),
            no_staff: default_no_staff(),
            codes: None,
        }
    }
}

impl KeypadProfile {
    /// The key a code stands for on this model.
    pub fn key(&self, code: u16) -> Option<KeypadKey> {
        match &self.codes {
            None => KeypadKey::from_code(code),
            Some(map) => map.get(&code.to_string()).copied(),
        }
    }

    /// The code this model sends for `key` (the simulator's side).
    pub fn code(&self, key: KeypadKey) -> Option<u16> {
        match &self.codes {
            None => Some(key.code()),
            Some(map) => map
                .iter()
                .find(|(_, k)| **k == key)
                .and_then(|(c, _)| c.parse().ok()),
        }
    }

    pub fn poll_request(&self, unit: u8) -> Result<EncodedRequest, EncodeError> {
        self.fifo.poll_request(unit)
    }

    /// Decodes the registers of a poll into key presses, oldest first.
    pub fn decode_poll(&self, registers: &[u16]) -> Result<KeypadPoll, FifoError> {
        fifo::decode_poll(&self.fifo, registers, |c| self.key(c))
    }

    pub fn ack_request(&self, unit: u8, n: u8) -> Result<EncodedRequest, EncodeError> {
        self.fifo.ack_request(unit, n)
    }

    pub fn screen_image(&self, screen: &KeypadScreen) -> RegisterImage {
        let mut img = RegisterImage::new();
        img.set_block(
            self.ticket_register,
            &text::encode(
                &screen.ticket,
                usize::from(self.ticket_width),
                self.text_encoding,
            ),
        );
        img.set(
            self.waiting_register,
            u16::try_from(screen.waiting).unwrap_or(u16::MAX),
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
    pub fn decode_screen(&self, img: &RegisterImage) -> KeypadScreen {
        KeypadScreen {
            ticket: text::decode(
                &img.block(self.ticket_register, usize::from(self.ticket_width)),
                self.text_encoding,
            ),
            waiting: u32::from(img.get(self.waiting_register).unwrap_or(0)),
        }
    }

    pub(crate) fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        self.fifo.problems(&mut p);
        check_block(
            &mut p,
            "ticket_width",
            self.ticket_register,
            self.ticket_width,
        );
        check_disjoint(
            &mut p,
            &[
                ("fifo.ack_register", self.fifo.ack_register, 1),
                ("ticket_register", self.ticket_register, self.ticket_width),
                ("waiting_register", self.waiting_register, 1),
            ],
        );
        check_max_write(&mut p, self.max_write_registers);
        check_template(&mut p, "no_staff", &self.no_staff, &[]);
        if self.poll_interval_ms < 20 {
            p.push(Problem::new(
                "poll_interval_ms",
                "at least 20 ms (a poll takes ~26 ms at 9600 baud)",
            ));
        }
        if let Some(codes) = &self.codes {
            if codes.is_empty() {
                p.push(Problem::new("codes", "an empty table maps no key"));
            }
            for code in codes.keys() {
                if !matches!(code.parse::<u16>(), Ok(1..)) {
                    p.push(Problem::new(
                        format!("codes.{code}"),
                        "a code is a number 1–65535 (a key such as \"1\")",
                    ));
                }
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::fifo::Event;

    #[test]
    fn decode_events_oldest_first_with_unknowns() {
        let p = KeypadProfile::default();
        let poll = p.decode_poll(&[4, 1, 42, 5, 10, 0, 0, 0, 0]).unwrap();
        assert_eq!(
            poll.events,
            [
                Event::Known(KeypadKey::CallNext),
                Event::Unknown(42),
                Event::Known(KeypadKey::Finish),
                Event::Known(KeypadKey::Park),
            ]
        );
        assert_eq!(poll.to_acknowledge(), 4);
        assert_eq!(poll.unknown_codes().collect::<Vec<_>>(), [42]);
        assert!(p.decode_poll(&[9, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn codes_round_trip_and_remapping() {
        for k in KeypadKey::ALL {
            assert_eq!(KeypadKey::from_code(k.code()), Some(k));
        }
        assert_eq!(KeypadKey::from_code(0), None);
        assert_eq!(KeypadKey::from_code(11), None);
        let p = KeypadProfile {
            codes: Some(BTreeMap::from([("17".to_string(), KeypadKey::CallNext)])),
            ..KeypadProfile::default()
        };
        assert_eq!(p.key(17), Some(KeypadKey::CallNext));
        assert_eq!(p.key(1), None);
        assert_eq!(p.code(KeypadKey::CallNext), Some(17));
    }

    #[test]
    fn screen() {
        let p = KeypadProfile::default();
        let s = KeypadScreen {
            ticket: "A012".into(),
            waiting: 70_000,
        };
        let img = p.screen_image(&s);
        assert_eq!(img.get(24), Some(u16::MAX));
        assert_eq!(img.block(16, 4), [0x41, 0x30, 0x31, 0x32]);
        // One run: HR 16–24.
        let w = p.screen_writes(9, None, &img).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(&w[0].bytes[..7], &[9, 0x10, 0, 16, 0, 9, 18]);
        assert_eq!(p.decode_screen(&img).ticket, "A012");
    }
}
