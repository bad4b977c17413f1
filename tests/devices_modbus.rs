//! Modbus RTU: byte-exact frames, responses decoded as a device sends them,
//! and the stream extractor against garbage, split reads, bad CRCs and
//! truncated frames.
//!
//! Vectors: DESIGN.md's `01 03 00 00 00 0A → C5 CD`; the request/response
//! examples published by Simply Modbus (unit 0x11); and frames of hallq's
//! own register maps, laid out by hand below with the CRC computed by an
//! independent bit-by-bit CRC-16/MODBUS (init 0xFFFF, poly 0xA001
//! reflected, low byte first).

use hallq::devices::modbus::{
    self, BROADCAST, EncodeError, ExceptionCode, FunctionCode, Incomplete, Request,
    RequestExtractor, Response, ResponseError, ResponseExtractor,
};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------
// Requests, byte for byte.

#[test]
fn design_vector_fc03() {
    let r = modbus::read_holding_registers(1, 0, 10).unwrap();
    assert_eq!(r.bytes, hex("01 03 00 00 00 0A C5 CD"));
}

#[test]
fn published_examples() {
    // Simply Modbus: read 3 holding registers from 0x006B of unit 17.
    assert_eq!(
        modbus::read_holding_registers(0x11, 0x6B, 3).unwrap().bytes,
        hex("11 03 00 6B 00 03 76 87")
    );
    // Read 1 input register at 0x0008.
    assert_eq!(
        modbus::read_input_registers(0x11, 8, 1).unwrap().bytes,
        hex("11 04 00 08 00 01 B2 98")
    );
    // Write 3 to register 1.
    assert_eq!(
        modbus::write_single_register(0x11, 1, 3).unwrap().bytes,
        hex("11 06 00 01 00 03 9A 9B")
    );
    // Write 0x000A, 0x0102 to registers 1–2, and its response.
    assert_eq!(
        modbus::write_multiple_registers(0x11, 1, &[0x000A, 0x0102])
            .unwrap()
            .bytes,
        hex("11 10 00 01 00 02 04 00 0A 01 02 C6 F0")
    );
    let req = modbus::write_multiple_registers(0x11, 1, &[0x000A, 0x0102]).unwrap();
    assert_eq!(
        modbus::decode_response(&req.reply.unwrap(), &hex("11 10 00 01 00 02 12 98")),
        Ok(Response::WroteMultiple { start: 1, count: 2 })
    );
}

#[test]
fn hallq_frames_pinned_by_hand() {
    // Keypad poll, unit 5: FC04, IR 0, 9 registers (pending + 8 codes).
    //   05 | 04 | 00 00 | 00 09 | CRC 0x8831 → 31 88
    assert_eq!(
        modbus::read_input_registers(5, 0, 9).unwrap().bytes,
        hex("05 04 00 00 00 09 31 88")
    );
    // Keypad acknowledge of 3 events: FC06, HR 0 = 3.
    //   05 | 06 | 00 00 | 00 03 | CRC 0x4FC8 → C8 4F
    assert_eq!(
        modbus::write_single_register(5, 0, 3).unwrap().bytes,
        hex("05 06 00 00 00 03 C8 4F")
    );
    // Indicator line 1 = "A012": FC16, HR 16, 4 registers, 8 bytes,
    // U+0041 U+0030 U+0031 U+0032.
    //   01 | 10 | 00 10 | 00 04 | 08 | 00 41 00 30 00 31 00 32 | CRC 0x9FB6 → B6 9F
    assert_eq!(
        modbus::write_multiple_registers(1, 16, &[0x41, 0x30, 0x31, 0x32])
            .unwrap()
            .bytes,
        hex("01 10 00 10 00 04 08 00 41 00 30 00 31 00 32 B6 9F")
    );
    // Indicator mode = 2 (calling), as a recall writes it: FC16, HR 0, 1 register.
    //   07 | 10 | 00 00 | 00 01 | 02 | 00 02 | CRC 0x310C → 0C 31
    assert_eq!(
        modbus::write_multiple_registers(7, 0, &[2]).unwrap().bytes,
        hex("07 10 00 00 00 01 02 00 02 0C 31")
    );
    // Broadcast: unit 0, nobody answers.
    let b = modbus::write_multiple_registers(BROADCAST, 0, &[1]).unwrap();
    assert_eq!(b.bytes, hex("00 10 00 00 00 01 02 00 01 6A 00"));
    assert!(!b.expects_reply());
}

#[test]
fn refused_requests() {
    assert_eq!(
        modbus::read_input_registers(0, 0, 9),
        Err(EncodeError::BroadcastRead)
    );
    assert_eq!(
        modbus::read_input_registers(248, 0, 9),
        Err(EncodeError::InvalidUnit(248))
    );
    assert!(matches!(
        modbus::write_multiple_registers(1, 0, &[]),
        Err(EncodeError::CountOutOfRange { count: 0, .. })
    ));
    assert!(matches!(
        modbus::write_multiple_registers(1, 0, &[0; 124]),
        Err(EncodeError::CountOutOfRange { count: 124, .. })
    ));
}

#[test]
fn long_writes_are_split_at_123() {
    let values: Vec<u16> = (0..512).collect();
    let frames = modbus::write_registers_split(2, 64, &values, 123).unwrap();
    assert_eq!(frames.len(), 5);
    let mut rebuilt = Vec::new();
    let mut next = 64u16;
    for f in &frames {
        assert!(f.bytes.len() <= 9 + 2 * 123);
        let (unit, req) = modbus::decode_request(&f.bytes).unwrap();
        assert_eq!(unit, 2);
        let Request::WriteMultipleRegisters { start, values } = req else {
            panic!("not FC16");
        };
        assert_eq!(start, next);
        next += values.len() as u16;
        rebuilt.extend(values);
    }
    assert_eq!(rebuilt, values);
}

// ---------------------------------------------------------------------------
// Responses, as a device would send them.

#[test]
fn responses_round_trip() {
    let read = modbus::read_input_registers(5, 0, 9).unwrap();
    let expect = read.reply.unwrap();
    let regs = vec![2, 1, 5, 0, 0, 0, 0, 0, 0];
    let adu = modbus::encode_response(
        5,
        FunctionCode::ReadInputRegisters,
        &Response::Registers(regs.clone()),
    )
    .unwrap();
    // 05 | 04 | 12 | 00 02 00 01 00 05 00 00 … | CRC 0xD46E → 6E D4
    assert_eq!(
        adu,
        hex("05 04 12 00 02 00 01 00 05 00 00 00 00 00 00 00 00 00 00 00 00 6E D4")
    );
    assert_eq!(
        modbus::decode_response(&expect, &adu),
        Ok(Response::Registers(regs))
    );

    let write = modbus::write_single_register(5, 0, 3).unwrap();
    let echo = write.bytes.clone(); // FC06 answers with the request itself
    assert_eq!(
        modbus::decode_response(&write.reply.unwrap(), &echo),
        Ok(Response::WroteSingle {
            address: 0,
            value: 3
        })
    );

    // Exception: 05 | 84 | 02 | CRC 0x0083 → 83 00
    let exc = modbus::encode_exception(5, 0x04, ExceptionCode::IllegalDataAddress);
    assert_eq!(exc, hex("05 84 02 83 00"));
    assert_eq!(
        modbus::decode_response(&expect, &exc),
        Err(ResponseError::Exception(ExceptionCode::IllegalDataAddress))
    );
}

#[test]
fn response_checks() {
    let expect = modbus::read_input_registers(5, 0, 2)
        .unwrap()
        .reply
        .unwrap();
    let good = modbus::encode_response(
        5,
        FunctionCode::ReadInputRegisters,
        &Response::Registers(vec![7, 8]),
    )
    .unwrap();
    let mut bad_crc = good.clone();
    *bad_crc.last_mut().unwrap() ^= 1;
    assert!(matches!(
        modbus::decode_response(&expect, &bad_crc),
        Err(ResponseError::BadCrc { .. })
    ));
    let other_unit = modbus::encode_response(
        6,
        FunctionCode::ReadInputRegisters,
        &Response::Registers(vec![7, 8]),
    )
    .unwrap();
    assert_eq!(
        modbus::decode_response(&expect, &other_unit),
        Err(ResponseError::WrongUnit {
            expected: 5,
            found: 6
        })
    );
    let three = modbus::encode_response(
        5,
        FunctionCode::ReadInputRegisters,
        &Response::Registers(vec![7, 8, 9]),
    )
    .unwrap();
    assert_eq!(
        modbus::decode_response(&expect, &three),
        Err(ResponseError::ByteCount {
            expected: 4,
            found: 6
        })
    );
    let holding = modbus::encode_response(
        5,
        FunctionCode::ReadHoldingRegisters,
        &Response::Registers(vec![7, 8]),
    )
    .unwrap();
    assert_eq!(
        modbus::decode_response(&expect, &holding),
        Err(ResponseError::WrongFunction {
            expected: 4,
            found: 3
        })
    );
    assert!(matches!(
        modbus::decode_response(&expect, &good[..4]),
        Err(ResponseError::Truncated { .. })
    ));
    // A write echo that does not match what was written.
    let write = modbus::write_single_register(5, 0, 3).unwrap();
    let wrong_echo = modbus::write_single_register(5, 0, 4).unwrap().bytes;
    assert_eq!(
        modbus::decode_response(&write.reply.unwrap(), &wrong_echo),
        Err(ResponseError::EchoMismatch)
    );
}

// ---------------------------------------------------------------------------
// The extractor.

fn poll_and_reply() -> (modbus::Expectation, Vec<u8>) {
    let req = modbus::read_input_registers(5, 0, 9).unwrap();
    let reply = modbus::encode_response(
        5,
        FunctionCode::ReadInputRegisters,
        &Response::Registers(vec![1, 4, 0, 0, 0, 0, 0, 0, 0]),
    )
    .unwrap();
    (req.reply.unwrap(), reply)
}

#[test]
fn extractor_every_split_point() {
    let (expect, reply) = poll_and_reply();
    for cut in 0..=reply.len() {
        let mut x = ResponseExtractor::new(expect);
        let first = x.push(&reply[..cut]);
        let second = x.push(&reply[cut..]);
        let got = first.or(second).expect("a response at some point");
        assert_eq!(
            got,
            Ok(Response::Registers(vec![1, 4, 0, 0, 0, 0, 0, 0, 0])),
            "cut at {cut}"
        );
    }
}

#[test]
fn extractor_byte_by_byte_after_garbage_that_mimics_the_reply() {
    let (expect, reply) = poll_and_reply();
    // Noise, then a false start (unit 5, FC04, plausible length) cut off,
    // then a reply of another unit, then ours.
    let mut stream = hex("FF 00 05 04 12 00 01");
    stream.extend(
        modbus::encode_response(
            6,
            FunctionCode::ReadInputRegisters,
            &Response::Registers(vec![9; 9]),
        )
        .unwrap(),
    );
    stream.extend_from_slice(&reply);
    let mut x = ResponseExtractor::new(expect);
    let mut got = None;
    for b in &stream {
        if let Some(r) = x.push(std::slice::from_ref(b)) {
            got = Some(r);
        }
    }
    assert_eq!(
        got,
        Some(Ok(Response::Registers(vec![1, 4, 0, 0, 0, 0, 0, 0, 0])))
    );
    assert_eq!(x.garbage_bytes(), stream.len() - reply.len());
}

#[test]
fn extractor_bad_crc_truncated_silent() {
    let (expect, reply) = poll_and_reply();

    let x = ResponseExtractor::new(expect);
    assert_eq!(x.verdict(), Incomplete::Silent);

    let mut bad = reply.clone();
    bad[5] ^= 0x40;
    let mut x = ResponseExtractor::new(expect);
    assert_eq!(x.push(&bad), None);
    assert_eq!(x.verdict(), Incomplete::BadCrc);

    let mut x = ResponseExtractor::new(expect);
    assert_eq!(x.push(&reply[..reply.len() - 1]), None);
    assert_eq!(
        x.verdict(),
        Incomplete::Truncated {
            have: reply.len() - 1,
            need: Some(reply.len())
        }
    );

    let mut x = ResponseExtractor::new(expect);
    assert_eq!(x.push(&hex("01 02 03")), None);
    assert_eq!(x.verdict(), Incomplete::Garbage { bytes: 3 });

    // A bad frame followed by a good one (a retransmitting device): the
    // good one wins.
    let mut x = ResponseExtractor::new(expect);
    assert_eq!(x.push(&bad), None);
    assert!(matches!(x.push(&reply), Some(Ok(_))));
}

#[test]
fn extractor_exception_and_done() {
    let (expect, _) = poll_and_reply();
    let mut x = ResponseExtractor::new(expect);
    let exc = modbus::encode_exception(5, 0x04, ExceptionCode::ServerDeviceBusy);
    assert_eq!(
        x.push(&exc),
        Some(Err(ResponseError::Exception(
            ExceptionCode::ServerDeviceBusy
        )))
    );
    // Done: later bytes are garbage, not a second answer.
    assert_eq!(x.push(&exc), None);
}

#[test]
fn request_extractor_as_a_slave_sees_the_bus() {
    let frames = [
        modbus::write_multiple_registers(1, 16, &[0x41, 0x30, 0x31, 0x32])
            .unwrap()
            .bytes,
        modbus::read_input_registers(5, 0, 9).unwrap().bytes,
        modbus::write_single_register(5, 0, 3).unwrap().bytes,
        modbus::write_multiple_registers(BROADCAST, 2, &[50])
            .unwrap()
            .bytes,
    ];
    let mut stream = hex("00 FF 10");
    for f in &frames {
        stream.extend_from_slice(f);
        stream.push(0xEE); // a stray byte between frames
    }
    for chunk in [1, 2, 3, 7, 64] {
        let mut x = RequestExtractor::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            got.extend(x.push(piece));
        }
        let units: Vec<u8> = got.iter().map(|r| r.as_ref().unwrap().0).collect();
        assert_eq!(units, [1, 5, 5, 0], "chunks of {chunk}");
    }
}
