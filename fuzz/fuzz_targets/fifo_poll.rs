//! A keypad's or evaluator's poll as the bus reads it: the FC04 reply's
//! bytes through the response extractor (fed in pieces), then the event
//! FIFO decoding (pending count, codes, unknown codes) under any layout and
//! code map, and the acknowledgement that follows. The same registers are
//! also decoded straight from the input, to reach the decoder's edge cases
//! without a valid CRC.
//!
//! Input: byte 0 FIFO depth (any, not only the 1–32 a profile may
//! declare), bytes 1–2 pending register, byte 3 piece size, byte 4 flags
//! (bit 0: a custom key code map; also the unit and the ack register);
//! the rest is the wire.
#![no_main]

use std::collections::BTreeMap;

use hallq::devices::evaluator::EvaluatorProfile;
use hallq::devices::fifo::{self, FifoLayout};
use hallq::devices::keypad::{KeypadKey, KeypadProfile};
use hallq::devices::modbus::{Response, ResponseExtractor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [depth, r0, r1, piece, flags, wire @ ..] = data else {
        return;
    };
    let layout = FifoLayout {
        pending_register: u16::from_be_bytes([*r0, *r1]),
        depth: *depth,
        ack_register: u16::from(*flags),
    };
    let mut keypad = KeypadProfile {
        fifo: layout,
        ..KeypadProfile::default()
    };
    if flags & 1 == 1 {
        // A model with its own codes, one of them not a number.
        keypad.codes = Some(BTreeMap::from([
            ("17".to_string(), KeypadKey::CallNext),
            ("0".to_string(), KeypadKey::Recall),
            ("65535".to_string(), KeypadKey::Finish),
            ("x".to_string(), KeypadKey::Park),
        ]));
    }
    let evaluator = EvaluatorProfile {
        fifo: layout,
        ..EvaluatorProfile::default()
    };
    let unit = 1 + flags % 247;

    let raw: Vec<u16> = wire
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    decode(&keypad, &evaluator, unit, &raw);

    let Ok(request) = layout.poll_request(unit) else {
        return;
    };
    let Some(expect) = request.reply else {
        return;
    };
    let mut x = ResponseExtractor::new(expect);
    for chunk in wire.chunks(usize::from(*piece).max(1)) {
        match x.push(chunk) {
            None => continue,
            Some(Ok(Response::Registers(registers))) => {
                assert_eq!(registers.len(), usize::from(layout.poll_len()));
                decode(&keypad, &evaluator, unit, &registers);
                return;
            }
            Some(_) => return,
        }
    }
    let _ = x.verdict();
});

/// What the bus does with a poll's registers; every pending event is
/// acknowledged, unknown codes included, and never more than the FIFO holds.
fn decode(keypad: &KeypadProfile, evaluator: &EvaluatorProfile, unit: u8, registers: &[u16]) {
    if let Ok(poll) = keypad.decode_poll(registers) {
        assert!(poll.events.len() <= usize::from(keypad.fifo.depth));
        assert_eq!(usize::from(poll.to_acknowledge()), poll.events.len());
        let _ = poll.unknown_codes().count();
        let _ = keypad.ack_request(unit, poll.to_acknowledge());
    }
    if let Ok(poll) = evaluator.decode_poll(registers) {
        assert!(poll.events.len() <= usize::from(evaluator.fifo.depth));
        assert_eq!(usize::from(poll.to_acknowledge()), poll.events.len());
        let _ = evaluator.ack_request(unit, poll.to_acknowledge());
    }
    let _ = fifo::decode_poll(&keypad.fifo, registers, |c| (c % 3 == 0).then_some(c));
}
