//! Displays, keypads and evaluators end to end through Modbus frames: the
//! master's writes are decoded as a device would decode them and applied to
//! the device's registers, the device's answers are encoded as it would
//! send them, and what the device then shows is read back.

use hallq::devices::board::{BoardCall, TextBoardProfile};
use hallq::devices::evaluator::{EvaluatorProfile, EvaluatorScreen, Rating};
use hallq::devices::fifo::Event;
use hallq::devices::image::RegisterImage;
use hallq::devices::indicator::{IndicatorMode, WindowIndicatorProfile, WindowShows};
use hallq::devices::keypad::{KeypadKey, KeypadProfile, KeypadScreen};
use hallq::devices::modbus::{
    self, EncodedRequest, FunctionCode, Request, Response, ResponseExtractor,
};

/// A Modbus slave with holding and input registers.
struct Device {
    unit: u8,
    holding: RegisterImage,
    input: Vec<u16>,
    frames: usize,
    bytes: usize,
}

impl Device {
    fn new(unit: u8) -> Device {
        Device {
            unit,
            holding: RegisterImage::new(),
            input: vec![0; 32],
            frames: 0,
            bytes: 0,
        }
    }

    /// Handles one request; returns the reply bytes (none for a broadcast).
    fn handle(&mut self, req: &EncodedRequest) -> Option<Vec<u8>> {
        self.frames += 1;
        self.bytes += req.bytes.len();
        let (unit, request) = modbus::decode_request(&req.bytes).expect("a valid request");
        assert!(unit == self.unit || unit == 0);
        let (function, response) = match request {
            Request::WriteMultipleRegisters { start, values } => {
                self.holding.set_block(start, &values);
                (
                    FunctionCode::WriteMultipleRegisters,
                    Response::WroteMultiple {
                        start,
                        count: values.len() as u16,
                    },
                )
            }
            Request::WriteSingleRegister { address, value } => {
                self.holding.set(address, value);
                // HR 0 on keypads and evaluators: drop the first n events.
                if address == 0 {
                    let n = usize::from(value).min(usize::from(self.input[0]));
                    self.input.drain(1..1 + n);
                    self.input.resize(32, 0);
                    self.input[0] -= n as u16;
                }
                (
                    FunctionCode::WriteSingleRegister,
                    Response::WroteSingle { address, value },
                )
            }
            Request::ReadInputRegisters { start, count } => (
                FunctionCode::ReadInputRegisters,
                Response::Registers(
                    self.input[usize::from(start)..usize::from(start + count)].to_vec(),
                ),
            ),
            Request::ReadHoldingRegisters { start, count } => (
                FunctionCode::ReadHoldingRegisters,
                Response::Registers(self.holding.block(start, usize::from(count))),
            ),
        };
        (unit != 0).then(|| modbus::encode_response(self.unit, function, &response).unwrap())
    }

    fn press(&mut self, code: u16) {
        let n = usize::from(self.input[0]);
        self.input[1 + n] = code;
        self.input[0] += 1;
    }
}

/// Sends requests as a bus would and checks every reply.
fn send(device: &mut Device, requests: &[EncodedRequest]) -> Vec<Response> {
    let mut out = Vec::new();
    for req in requests {
        let reply = device.handle(req);
        match (&req.reply, reply) {
            (Some(expect), Some(bytes)) => {
                let mut x = ResponseExtractor::new(*expect);
                // Replies arrive in pieces.
                let mut got = None;
                for piece in bytes.chunks(4) {
                    got = got.or(x.push(piece));
                }
                out.push(got.expect("a whole reply").expect("a good reply"));
            }
            (None, None) => {}
            (e, r) => panic!("expectation {e:?} but reply {r:?}"),
        }
    }
    out
}

#[test]
fn indicator_follows_a_window_through_a_ticket() {
    let p = WindowIndicatorProfile::default();
    let mut dev = Device::new(12);
    let states = [
        WindowShows::Idle,
        WindowShows::Calling {
            ticket: "A012".into(),
        },
        WindowShows::Serving {
            ticket: "A012".into(),
            staff: "王芳".into(),
            job_number: "1024".into(),
        },
        WindowShows::Paused {
            staff: "王芳".into(),
            job_number: "1024".into(),
        },
        WindowShows::Closed,
        WindowShows::Off,
    ];
    let mut last: Option<RegisterImage> = None;
    for shows in &states {
        let content = p.content(12, shows);
        let desired = p.image(&content);
        let writes = p.writes(12, last.as_ref(), &desired, false).unwrap();
        send(&mut dev, &writes);
        assert_eq!(p.decode(&dev.holding), Some(content), "{shows:?}");
        last = Some(desired);
    }
    let off = p.decode(&dev.holding).unwrap();
    assert_eq!(off.mode, IndicatorMode::Off);
    assert_eq!((off.line1.as_str(), off.line2.as_str()), ("", ""));
}

#[test]
fn only_differences_are_written_and_everything_after_a_comeback() {
    let p = WindowIndicatorProfile::default();
    let mut dev = Device::new(3);
    let a = p.image(&p.content(
        3,
        &WindowShows::Calling {
            ticket: "A012".into(),
        },
    ));
    send(&mut dev, &p.writes(3, None, &a, false).unwrap());
    let full_bytes = dev.bytes;
    // Next call: only the ticket's last digit changes (HR 19).
    let b = p.image(&p.content(
        3,
        &WindowShows::Calling {
            ticket: "A013".into(),
        },
    ));
    let writes = p.writes(3, Some(&a), &b, false).unwrap();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].bytes.len(), 9 + 2);
    send(&mut dev, &writes);
    assert_eq!(dev.bytes - full_bytes, 11);
    // The device loses power: its registers are gone. A comeback is a full rewrite.
    dev.holding = RegisterImage::new();
    send(&mut dev, &p.writes(3, None, &b, false).unwrap());
    assert_eq!(p.decode(&dev.holding).unwrap().line1, "A013");
}

#[test]
fn board_shows_the_latest_calls_newest_first() {
    let p = TextBoardProfile::default();
    let mut dev = Device::new(40);
    let mut calls: Vec<BoardCall> = Vec::new();
    let mut last: Option<RegisterImage> = None;
    for (i, window) in [12, 3, 7, 12, 101].iter().enumerate() {
        calls.insert(0, BoardCall::new(format!("A{:03}", 12 + i), *window));
        let content = p.content(&calls);
        let desired = p.image(&content);
        send(&mut dev, &p.writes(40, last.as_ref(), &desired).unwrap());
        assert_eq!(p.decode(&dev.holding), content);
        last = Some(desired);
    }
    let shown = p.decode(&dev.holding);
    assert_eq!(shown.lines[0], "A016 → 101号窗口");
    assert_eq!(shown.lines[4], "A012 → 12号窗口");
    // A full board: HR 0–1 and 16 lines of 32 registers, in FC16 frames of
    // at most 123 registers.
    let many: Vec<BoardCall> = (0..40)
        .map(|i| BoardCall::new(format!("B{i:03}"), i))
        .collect();
    let full = p.image(&p.content(&many));
    let writes = p.writes(40, None, &full).unwrap();
    assert!(writes.iter().all(|w| w.bytes.len() <= 9 + 2 * 123));
    send(&mut dev, &writes);
    assert_eq!(p.decode(&dev.holding).lines.len(), 16);
    assert_eq!(p.decode(&dev.holding).lines[15], "B015 → 15号窗口");
}

#[test]
fn keypad_presses_are_read_acknowledged_and_the_screen_updated() {
    let p = KeypadProfile::default();
    let mut dev = Device::new(21);
    dev.press(KeypadKey::CallNext.code());
    dev.press(77); // an unknown code
    dev.press(KeypadKey::Finish.code());

    let [Response::Registers(regs)] = &send(&mut dev, &[p.poll_request(21).unwrap()])[..] else {
        panic!("no registers");
    };
    let poll = p.decode_poll(regs).unwrap();
    assert_eq!(
        poll.events,
        [
            Event::Known(KeypadKey::CallNext),
            Event::Unknown(77),
            Event::Known(KeypadKey::Finish)
        ]
    );
    send(
        &mut dev,
        &[p.ack_request(21, poll.to_acknowledge()).unwrap()],
    );
    assert_eq!(dev.input[0], 0, "all three dropped, the unknown one too");

    // A press after the poll is not lost by the acknowledge.
    dev.press(KeypadKey::Recall.code());
    let [Response::Registers(regs)] = &send(&mut dev, &[p.poll_request(21).unwrap()])[..] else {
        panic!("no registers");
    };
    assert_eq!(
        p.decode_poll(regs).unwrap().events,
        [Event::Known(KeypadKey::Recall)]
    );

    let screen = KeypadScreen {
        ticket: "A012".into(),
        waiting: 17,
    };
    let img = p.screen_image(&screen);
    send(&mut dev, &p.screen_writes(21, None, &img).unwrap());
    assert_eq!(p.decode_screen(&dev.holding), screen);
}

#[test]
fn evaluator_prompt_and_rating() {
    let p = EvaluatorProfile::default();
    let mut dev = Device::new(31);
    let line = p.staff_line("李明", "0231", 4);
    let off = p.screen_image(&EvaluatorScreen {
        prompt: false,
        staff_line: line.clone(),
    });
    send(&mut dev, &p.screen_writes(31, None, &off).unwrap());
    let on = p.screen_image(&EvaluatorScreen {
        prompt: true,
        staff_line: line,
    });
    let lamp = p.screen_writes(31, Some(&off), &on).unwrap();
    assert_eq!(lamp.len(), 1, "only the lamp changes");
    send(&mut dev, &lamp);
    assert!(p.decode_screen(&dev.holding).prompt);

    dev.press(Rating::Satisfied.code());
    let [Response::Registers(regs)] = &send(&mut dev, &[p.poll_request(31).unwrap()])[..] else {
        panic!("no registers");
    };
    let poll = p.decode_poll(regs).unwrap();
    assert_eq!(poll.events, [Event::Known(Rating::Satisfied)]);
    assert_eq!(Rating::Satisfied.zh(), "满意");
}

#[test]
fn confused_device_pending_count() {
    let p = KeypadProfile::default();
    let regs = [9u16, 1, 1, 1, 1, 1, 1, 1, 1];
    assert!(p.decode_poll(&regs).is_err());
    assert!(p.decode_poll(&regs[..3]).is_err());
}
