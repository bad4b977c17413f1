//! The Modbus slaves of the hall — window indicator, text board, keypad,
//! evaluator — as pure models: a holding-register image laid out by the
//! device's profile and, for keypads and evaluators, the event FIFO.
//!
//! - Only the registers of the profile's map exist. Reading or writing any
//!   other register is refused with exception 02 (illegal data address);
//!   a multi-register request is all or nothing.
//! - The FIFO (DESIGN.md §5): IR `pending` = events pending, the next
//!   `depth` input registers = codes, oldest first (0 past the last);
//!   writing n to the acknowledge register drops the first n. A press when
//!   the FIFO is full is lost (the caller counts it).
//! - A model that can be re-addressed (`address_register`) reports the new
//!   address; the bus applies it after the echo (sent from the old one).
//! - After a power cycle every register reads 0 and the FIFO is empty.

use std::collections::VecDeque;

use crate::devices::board::{BoardContent, TextBoardProfile};
use crate::devices::evaluator::{EvaluatorProfile, EvaluatorScreen};
use crate::devices::fifo::FifoLayout;
use crate::devices::image::RegisterImage;
use crate::devices::indicator::{IndicatorContent, IndicatorMode, WindowIndicatorProfile};
use crate::devices::keypad::{KeypadProfile, KeypadScreen};
use crate::devices::modbus::{ExceptionCode, Request, Response, UNIT_MAX};
use crate::devices::profile::DeviceProfile;

/// Which device, with its profile.
#[derive(Debug, Clone)]
pub enum SlaveKind {
    Indicator(Box<WindowIndicatorProfile>),
    Board(TextBoardProfile),
    Keypad(KeypadProfile),
    Evaluator(EvaluatorProfile),
}

/// What a slave shows (its registers decoded with its profile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlaveContent {
    /// `None` when the mode register holds no mode of the profile.
    Indicator(Option<IndicatorContent>),
    Board(BoardContent),
    Keypad {
        screen: KeypadScreen,
        /// Event codes not yet acknowledged, oldest first.
        pending: Vec<u16>,
    },
    Evaluator {
        screen: EvaluatorScreen,
        pending: Vec<u16>,
    },
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub result: Result<Response, ExceptionCode>,
    /// The device takes this unit address after answering.
    pub new_unit: Option<u8>,
}

/// One Modbus slave.
#[derive(Debug, Clone)]
pub struct ModbusSlave {
    kind: SlaveKind,
    holding: RegisterImage,
    fifo: VecDeque<u16>,
}

impl ModbusSlave {
    pub fn new(kind: SlaveKind) -> ModbusSlave {
        let holding = blank_image(&kind);
        ModbusSlave {
            kind,
            holding,
            fifo: VecDeque::new(),
        }
    }

    /// `None` for a profile that is not a Modbus slave.
    pub fn for_profile(profile: &DeviceProfile) -> Option<ModbusSlave> {
        let kind = match profile {
            DeviceProfile::WindowIndicator(p) => SlaveKind::Indicator(p.clone()),
            DeviceProfile::TextBoard(p) => SlaveKind::Board(p.clone()),
            DeviceProfile::Keypad(p) => SlaveKind::Keypad(p.clone()),
            DeviceProfile::Evaluator(p) => SlaveKind::Evaluator(p.clone()),
            DeviceProfile::Bx5k(_) | DeviceProfile::Syn6288(_) | DeviceProfile::Xfs5152(_) => {
                return None;
            }
        };
        Some(ModbusSlave::new(kind))
    }

    pub fn kind(&self) -> &SlaveKind {
        &self.kind
    }

    /// Every register back to 0, the FIFO empty.
    pub fn power_cycle(&mut self) {
        self.holding = blank_image(&self.kind);
        self.fifo.clear();
    }

    fn fifo_layout(&self) -> Option<&FifoLayout> {
        match &self.kind {
            SlaveKind::Keypad(p) => Some(&p.fifo),
            SlaveKind::Evaluator(p) => Some(&p.fifo),
            SlaveKind::Indicator(_) | SlaveKind::Board(_) => None,
        }
    }

    /// Whether this device has an event FIFO (keypad, evaluator).
    pub fn has_fifo(&self) -> bool {
        self.fifo_layout().is_some()
    }

    /// A key press or a rating. `false` when it was lost: no FIFO, or the
    /// FIFO is full.
    pub fn press(&mut self, code: u16) -> bool {
        let Some(depth) = self.fifo_layout().map(|l| usize::from(l.depth)) else {
            return false;
        };
        if self.fifo.len() >= depth {
            return false;
        }
        self.fifo.push_back(code);
        true
    }

    /// Events pending, oldest first.
    pub fn pending(&self) -> Vec<u16> {
        self.fifo.iter().copied().collect()
    }

    /// Answers `request` (`broadcast`: addressed to unit 0; the caller sends
    /// no reply, reads are ignored).
    pub fn handle(&mut self, request: &Request) -> Handled {
        let mut new_unit = None;
        let result = match request {
            Request::ReadHoldingRegisters { start, count } => self
                .read(*start, *count, |s, a| s.holding.get(a))
                .map(Response::Registers),
            Request::ReadInputRegisters { start, count } => self
                .read(*start, *count, |s, a| s.input(a))
                .map(Response::Registers),
            Request::WriteSingleRegister { address, value } => self
                .write(*address, &[*value], &mut new_unit)
                .map(|()| Response::WroteSingle {
                    address: *address,
                    value: *value,
                }),
            Request::WriteMultipleRegisters { start, values } => self
                .write(*start, values, &mut new_unit)
                .map(|()| Response::WroteMultiple {
                    start: *start,
                    count: u16::try_from(values.len()).unwrap_or(u16::MAX),
                }),
        };
        Handled { result, new_unit }
    }

    fn read(
        &self,
        start: u16,
        count: u16,
        get: impl Fn(&Self, u16) -> Option<u16>,
    ) -> Result<Vec<u16>, ExceptionCode> {
        addresses(start, usize::from(count))
            .map(|a| a.and_then(|a| get(self, a)))
            .collect::<Option<Vec<u16>>>()
            .ok_or(ExceptionCode::IllegalDataAddress)
    }

    /// An input register: the FIFO's, or none.
    fn input(&self, address: u16) -> Option<u16> {
        let layout = self.fifo_layout()?;
        let offset = address.checked_sub(layout.pending_register)?;
        match offset {
            0 => Some(self.fifo.len() as u16),
            k if k <= u16::from(layout.depth) => {
                Some(self.fifo.get(usize::from(k - 1)).copied().unwrap_or(0))
            }
            _ => None,
        }
    }

    fn write(
        &mut self,
        start: u16,
        values: &[u16],
        new_unit: &mut Option<u8>,
    ) -> Result<(), ExceptionCode> {
        let targets: Vec<u16> = addresses(start, values.len())
            .collect::<Option<Vec<u16>>>()
            .ok_or(ExceptionCode::IllegalDataAddress)?;
        if targets.iter().any(|&a| self.holding.get(a).is_none()) {
            return Err(ExceptionCode::IllegalDataAddress);
        }
        let ack = self.fifo_layout().map(|l| l.ack_register);
        let address_register = match &self.kind {
            SlaveKind::Indicator(p) => p.address_register,
            _ => None,
        };
        for (&a, &v) in targets.iter().zip(values) {
            if Some(a) == address_register && !(1..=u16::from(UNIT_MAX)).contains(&v) {
                return Err(ExceptionCode::IllegalDataValue);
            }
        }
        for (&a, &v) in targets.iter().zip(values) {
            if Some(a) == ack {
                let n = usize::from(v).min(self.fifo.len());
                self.fifo.drain(..n);
                // The acknowledge register always reads 0.
                continue;
            }
            if Some(a) == address_register {
                *new_unit = u8::try_from(v).ok();
            }
            self.holding.set(a, v);
        }
        Ok(())
    }

    /// The registers decoded with the profile.
    pub fn content(&self) -> SlaveContent {
        match &self.kind {
            SlaveKind::Indicator(p) => SlaveContent::Indicator(p.decode(&self.holding)),
            SlaveKind::Board(p) => SlaveContent::Board(p.decode(&self.holding)),
            SlaveKind::Keypad(p) => SlaveContent::Keypad {
                screen: p.decode_screen(&self.holding),
                pending: self.pending(),
            },
            SlaveKind::Evaluator(p) => SlaveContent::Evaluator {
                screen: p.decode_screen(&self.holding),
                pending: self.pending(),
            },
        }
    }

    /// What the device shows, as one line (without its label):
    /// `[calling ×3] A012 | 请到12号窗口`, `A013 → 3号窗口 / A012 → 12号窗口`,
    /// `A012 · 等待 5`, `请评价 · 张三 1001`.
    pub fn shows(&self) -> String {
        match self.content() {
            SlaveContent::Indicator(None) => {
                let mode = match &self.kind {
                    SlaveKind::Indicator(p) => self.holding.get(p.mode_register).unwrap_or(0),
                    _ => 0,
                };
                format!("[mode {mode}?]")
            }
            SlaveContent::Indicator(Some(c)) => {
                let mode = match c.mode {
                    IndicatorMode::Off => return "[off]".to_string(),
                    IndicatorMode::Idle => "idle".to_string(),
                    IndicatorMode::Calling => format!("calling ×{}", c.flash_count),
                    IndicatorMode::Serving => "serving".to_string(),
                    IndicatorMode::Paused => "paused".to_string(),
                    IndicatorMode::Closed => "closed".to_string(),
                };
                let dark = if c.brightness == 0 { " (dark)" } else { "" };
                let line = |l: &str| {
                    if l.is_empty() {
                        "—".to_string()
                    } else {
                        l.to_string()
                    }
                };
                format!("[{mode}]{dark} {} | {}", line(&c.line1), line(&c.line2))
            }
            SlaveContent::Board(b) => {
                if b.lines.is_empty() {
                    "(blank)".to_string()
                } else {
                    let lines: Vec<&str> = b
                        .lines
                        .iter()
                        .map(|l| if l.is_empty() { "—" } else { l.as_str() })
                        .collect();
                    lines.join(" / ")
                }
            }
            SlaveContent::Keypad { screen, .. } => {
                let ticket = if screen.ticket.is_empty() {
                    "—"
                } else {
                    &screen.ticket
                };
                format!("{ticket} · 等待 {}", screen.waiting)
            }
            SlaveContent::Evaluator { screen, .. } => {
                let staff = if screen.staff_line.is_empty() {
                    "—"
                } else {
                    &screen.staff_line
                };
                if screen.prompt {
                    format!("请评价 · {staff}")
                } else {
                    staff.to_string()
                }
            }
        }
    }
}

/// `count` addresses from `start`; `None` past 65535.
fn addresses(start: u16, count: usize) -> impl Iterator<Item = Option<u16>> {
    (0..count).map(move |k| u16::try_from(usize::from(start) + k).ok())
}

/// The profile's holding registers, all 0.
fn blank_image(kind: &SlaveKind) -> RegisterImage {
    let mut img = RegisterImage::new();
    let mut block = |start: u16, width: u16| {
        img.set_block(start, &vec![0; usize::from(width)]);
    };
    match kind {
        SlaveKind::Indicator(p) => {
            block(p.mode_register, 1);
            block(p.flash_count_register, 1);
            block(p.brightness_register, 1);
            block(p.line1.register, p.line1.width);
            block(p.line2.register, p.line2.width);
            if let Some(a) = p.address_register {
                block(a, 1);
            }
        }
        SlaveKind::Board(p) => {
            block(p.lines_register, 1);
            block(p.brightness_register, 1);
            for k in 0..usize::from(p.lines) {
                block(p.line_register(k), p.line_width);
            }
        }
        SlaveKind::Keypad(p) => {
            block(p.fifo.ack_register, 1);
            block(p.ticket_register, p.ticket_width);
            block(p.waiting_register, 1);
        }
        SlaveKind::Evaluator(p) => {
            block(p.fifo.ack_register, 1);
            block(p.prompt_register, 1);
            block(p.staff_register, p.staff_width);
        }
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::board::BoardCall;
    use crate::devices::indicator::WindowShows;
    use crate::devices::modbus::{Request, decode_request};

    fn apply(slave: &mut ModbusSlave, requests: &[crate::devices::modbus::EncodedRequest]) {
        for r in requests {
            let (_, req) = decode_request(&r.bytes).unwrap();
            assert!(slave.handle(&req).result.is_ok(), "{req:?}");
        }
    }

    #[test]
    fn indicator_shows_what_the_master_wrote() {
        let p = WindowIndicatorProfile::default();
        let mut s =
            ModbusSlave::for_profile(&DeviceProfile::WindowIndicator(Box::new(p.clone()))).unwrap();
        assert_eq!(s.shows(), "[off]");
        let content = p.content(
            12,
            &WindowShows::Calling {
                ticket: "A012".into(),
            },
        );
        apply(
            &mut s,
            &p.writes(5, None, &p.image(&content), false).unwrap(),
        );
        assert_eq!(s.shows(), "[calling ×3] A012 | 请到12号窗口");
        assert_eq!(s.content(), SlaveContent::Indicator(Some(content)));
        s.power_cycle();
        assert_eq!(s.shows(), "[off]");
    }

    #[test]
    fn unmapped_registers_are_refused_whole() {
        let mut s =
            ModbusSlave::for_profile(&DeviceProfile::WindowIndicator(Box::default())).unwrap();
        let read = |start, count| Request::ReadHoldingRegisters { start, count };
        assert!(s.handle(&read(0, 3)).result.is_ok());
        assert_eq!(
            s.handle(&read(0, 4)).result,
            Err(ExceptionCode::IllegalDataAddress)
        );
        assert_eq!(
            s.handle(&Request::ReadInputRegisters { start: 0, count: 1 })
                .result,
            Err(ExceptionCode::IllegalDataAddress)
        );
        // HR 2 exists, HR 3 does not: nothing is written.
        let w = Request::WriteMultipleRegisters {
            start: 2,
            values: vec![50, 1],
        };
        assert_eq!(s.handle(&w).result, Err(ExceptionCode::IllegalDataAddress));
        assert_eq!(
            s.handle(&read(2, 1)).result,
            Ok(Response::Registers(vec![0]))
        );
        assert_eq!(
            s.handle(&read(0xFFFF, 1)).result,
            Err(ExceptionCode::IllegalDataAddress)
        );
    }

    #[test]
    fn board_lines() {
        let p = TextBoardProfile::default();
        let mut s = ModbusSlave::for_profile(&DeviceProfile::TextBoard(p.clone())).unwrap();
        assert_eq!(s.shows(), "(blank)");
        let img = p.image(&p.content(&[BoardCall::new("A013", 3), BoardCall::new("A012", 12)]));
        apply(&mut s, &p.writes(2, None, &img).unwrap());
        assert_eq!(s.shows(), "A013 → 3号窗口 / A012 → 12号窗口");
    }

    #[test]
    fn keypad_fifo_press_poll_ack_and_loss() {
        let p = KeypadProfile::default();
        let mut s = ModbusSlave::for_profile(&DeviceProfile::Keypad(p.clone())).unwrap();
        for code in 1..=8 {
            assert!(s.press(code));
        }
        assert!(!s.press(9), "the ninth press is lost");
        let (_, poll) = decode_request(&p.poll_request(4).unwrap().bytes).unwrap();
        let Ok(Response::Registers(regs)) = s.handle(&poll).result else {
            panic!("poll refused")
        };
        assert_eq!(regs, [8, 1, 2, 3, 4, 5, 6, 7, 8]);
        let (_, ack) = decode_request(&p.ack_request(4, 3).unwrap().bytes).unwrap();
        assert!(s.handle(&ack).result.is_ok());
        let Ok(Response::Registers(regs)) = s.handle(&poll).result else {
            panic!("poll refused")
        };
        assert_eq!(regs, [5, 4, 5, 6, 7, 8, 0, 0, 0]);
        assert_eq!(
            p.decode_poll(&regs).unwrap().events.len(),
            5,
            "the master's decoder reads the model"
        );
        let screen = p.screen_image(&KeypadScreen {
            ticket: "A012".into(),
            waiting: 5,
        });
        apply(&mut s, &p.screen_writes(4, None, &screen).unwrap());
        assert_eq!(s.shows(), "A012 · 等待 5");
        // Acknowledging more than pending empties the FIFO.
        let (_, ack) = decode_request(&p.ack_request(4, 200).unwrap().bytes).unwrap();
        assert!(s.handle(&ack).result.is_ok());
        assert!(s.pending().is_empty());
    }

    #[test]
    fn evaluator_screen() {
        let p = EvaluatorProfile::default();
        let mut s = ModbusSlave::for_profile(&DeviceProfile::Evaluator(p.clone())).unwrap();
        let img = p.screen_image(&EvaluatorScreen {
            prompt: true,
            staff_line: p.staff_line("张三", "1001", 3),
        });
        apply(&mut s, &p.screen_writes(9, None, &img).unwrap());
        assert_eq!(s.shows(), "请评价 · 张三 1001");
        assert!(s.press(1));
        assert_eq!(s.pending(), [1]);
    }

    #[test]
    fn readdressing() {
        let p = WindowIndicatorProfile {
            address_register: Some(100),
            ..WindowIndicatorProfile::default()
        };
        let mut s =
            ModbusSlave::for_profile(&DeviceProfile::WindowIndicator(Box::new(p.clone()))).unwrap();
        let (_, req) =
            decode_request(&p.set_address_request(1, 9).unwrap().unwrap().bytes).unwrap();
        assert_eq!(s.handle(&req).new_unit, Some(9));
        let bad = Request::WriteSingleRegister {
            address: 100,
            value: 300,
        };
        assert_eq!(s.handle(&bad).result, Err(ExceptionCode::IllegalDataValue));
    }
}
