//! Bytes a Modbus slave sends back, as the master reads them: the whole
//! frame decoder and the stream extractor, fed in pieces.
//!
//! Input: byte 0 unit, byte 1 function choice, bytes 2–3 register count or
//! echo field, byte 4 piece size; the rest is the wire.
#![no_main]

use hallq::devices::modbus::{self, Expectation, FunctionCode, ReplyShape, ResponseExtractor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [unit, f, a, b, piece, wire @ ..] = data else {
        return;
    };
    let n = u16::from_be_bytes([*a, *b]);
    let (function, shape) = match f % 4 {
        0 => (
            FunctionCode::ReadHoldingRegisters,
            ReplyShape::Registers { count: n % 126 },
        ),
        1 => (
            FunctionCode::ReadInputRegisters,
            ReplyShape::Registers { count: n % 126 },
        ),
        2 => (
            FunctionCode::WriteSingleRegister,
            ReplyShape::EchoSingle {
                address: n,
                value: n.rotate_left(3),
            },
        ),
        _ => (
            FunctionCode::WriteMultipleRegisters,
            ReplyShape::EchoMultiple {
                start: n,
                count: n % 124,
            },
        ),
    };
    let expect = Expectation {
        unit: *unit,
        function,
        shape,
    };
    let _ = modbus::decode_response(&expect, wire);
    let mut x = ResponseExtractor::new(expect);
    for chunk in wire.chunks(usize::from(*piece).max(1)) {
        let _ = x.push(chunk);
    }
    let _ = x.verdict();
    let _ = x.garbage_bytes();
});
