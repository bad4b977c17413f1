//! Properties of the protocol layer: every decoder and extractor takes
//! arbitrary bytes without panicking; encoders and decoders round-trip;
//! text never overflows its field and never splits a character.

use proptest::prelude::*;

use hallq::devices::bx5k::{self, frame as bxframe, realtime};
use hallq::devices::encoding::TextEncoding;
use hallq::devices::evaluator::EvaluatorProfile;
use hallq::devices::keypad::KeypadProfile;
use hallq::devices::modbus::text::{self, RegisterText};
use hallq::devices::modbus::{
    self, ExceptionCode, Expectation, FunctionCode, ReplyShape, Request, RequestExtractor,
    Response, ResponseExtractor,
};
use hallq::devices::speech;
use hallq::devices::template::Template;
use hallq::devices::tts::{self, split, syn6288, xfs5152};

/// U+FFFD, what a decoder puts where it cannot read.
const REPLACEMENT: char = '\u{FFFD}';

fn function() -> impl Strategy<Value = FunctionCode> {
    prop_oneof![
        Just(FunctionCode::ReadHoldingRegisters),
        Just(FunctionCode::ReadInputRegisters),
        Just(FunctionCode::WriteSingleRegister),
        Just(FunctionCode::WriteMultipleRegisters),
    ]
}

fn expectation() -> impl Strategy<Value = Expectation> {
    (any::<u8>(), function(), any::<u16>(), 0u16..130).prop_map(|(unit, function, a, n)| {
        let shape = match function {
            FunctionCode::ReadHoldingRegisters | FunctionCode::ReadInputRegisters => {
                ReplyShape::Registers { count: n }
            }
            FunctionCode::WriteSingleRegister => ReplyShape::EchoSingle {
                address: a,
                value: n,
            },
            FunctionCode::WriteMultipleRegisters => ReplyShape::EchoMultiple { start: a, count: n },
        };
        Expectation {
            unit,
            function,
            shape,
        }
    })
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<u16>(), 1u16..=125).prop_map(|(start, count)| Request::ReadHoldingRegisters {
            start: start.min(u16::MAX - count + 1),
            count
        }),
        (any::<u16>(), 1u16..=125).prop_map(|(start, count)| Request::ReadInputRegisters {
            start: start.min(u16::MAX - count + 1),
            count
        }),
        (any::<u16>(), any::<u16>())
            .prop_map(|(address, value)| Request::WriteSingleRegister { address, value }),
        (any::<u16>(), prop::collection::vec(any::<u16>(), 1..=123)).prop_map(|(start, values)| {
            Request::WriteMultipleRegisters {
                start: start.min(u16::MAX - values.len() as u16 + 1),
                values,
            }
        }),
    ]
}

/// Splits `bytes` into pieces at the given cut points.
fn pieces(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for c in cuts {
        out.push(bytes[from..c].to_vec());
        from = c;
    }
    out.push(bytes[from..].to_vec());
    out
}

/// Reads a Chinese numeral back (for the round trip of `chinese_number`).
fn parse_chinese(s: &str) -> u64 {
    let digit = |c| "零一二三四五六七八九".chars().position(|d| d == c);
    let (mut total, mut section, mut number) = (0u64, 0u64, 0u64);
    for c in s.chars() {
        if let Some(d) = digit(c) {
            number = d as u64;
            continue;
        }
        match c {
            '十' | '百' | '千' => {
                let unit = match c {
                    '十' => 10,
                    '百' => 100,
                    _ => 1000,
                };
                section += number.max(1) * unit;
                number = 0;
            }
            '万' => {
                total += (section + number) * 10_000;
                section = 0;
                number = 0;
            }
            '亿' => {
                total = (total + section + number) * 100_000_000;
                section = 0;
                number = 0;
            }
            other => panic!("unexpected {other}"),
        }
    }
    total + section + number
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    // ----- no panics on arbitrary bytes -----

    #[test]
    fn modbus_decoders_take_any_bytes(
        expect in expectation(),
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let _ = modbus::decode_response(&expect, &bytes);
        let _ = modbus::decode_request(&bytes);
        let mut x = ResponseExtractor::new(expect);
        let mut y = RequestExtractor::new();
        for piece in pieces(&bytes, &cuts) {
            let _ = x.push(&piece);
            let _ = y.push(&piece);
        }
        let _ = x.verdict();
    }

    #[test]
    fn modbus_extractor_takes_bytes_that_look_like_frames(
        expect in expectation(),
        body in prop::collection::vec(any::<u8>(), 0..260),
    ) {
        // Start with the expected unit and function so the candidate paths run.
        let mut bytes = vec![expect.unit, expect.function.code()];
        bytes.extend(body);
        let mut x = ResponseExtractor::new(expect);
        let _ = x.push(&bytes);
        let mut bytes2 = vec![expect.unit, expect.function.exception_code()];
        bytes2.extend_from_slice(&bytes[2..]);
        let _ = x.push(&bytes2);
        let _ = x.verdict();
    }

    #[test]
    fn bx5k_decoders_take_any_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let _ = bxframe::decode(&bytes);
        let _ = bxframe::decode_body(&bytes);
        let _ = bxframe::unescape(&bytes);
        let _ = realtime::parse_payload(&bytes);
        if let Some(cmd) = bx5k::Command::from_data(&bytes) {
            let _ = realtime::parse_payload(&cmd.payload);
        }
        let mut x = bx5k::FrameExtractor::new();
        for piece in pieces(&bytes, &cuts) {
            for packet in x.push(&piece).into_iter().flatten() {
                let _ = bx5k::status(&packet);
            }
        }
    }

    #[test]
    fn tts_decoders_take_any_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let _ = syn6288::decode_frame(&bytes).map(|c| c.text());
        let _ = xfs5152::decode_frame(&bytes).map(|c| c.text());
        let _: Vec<_> = tts::decode_replies(&bytes).collect();
        let mut a = syn6288::frame_extractor();
        let mut b = xfs5152::frame_extractor();
        for piece in pieces(&bytes, &cuts) {
            for data in a.push(&piece).into_iter().flatten() {
                let _ = syn6288::Command::from_data(&data).map(|c| c.text());
            }
            for data in b.push(&piece).into_iter().flatten() {
                let _ = xfs5152::Command::from_data(&data).map(|c| c.text());
            }
        }
    }

    #[test]
    fn polls_and_register_text_take_any_registers(
        regs in prop::collection::vec(any::<u16>(), 0..40),
    ) {
        let _ = KeypadProfile::default().decode_poll(&regs);
        let _ = EvaluatorProfile::default().decode_poll(&regs);
        let _ = text::decode(&regs, RegisterText::Utf16);
        let _ = text::decode(&regs, RegisterText::Gb2312);
    }

    #[test]
    fn text_decoders_take_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        for enc in [TextEncoding::Gb2312, TextEncoding::Gbk, TextEncoding::Big5,
                    TextEncoding::Utf16be, TextEncoding::Utf16le] {
            let _ = enc.decode_lossy(&bytes);
        }
    }

    #[test]
    fn templates_and_announcements_take_any_text(t in ".{0,80}", ticket in ".{0,12}", window: u32) {
        if let Ok(template) = Template::parse(&t) {
            let _ = speech::render_for_chip(&template, &ticket, window);
            let _ = speech::render_plain(&template, &ticket, window);
        }
        let chip = speech::render_for_chip(
            &Template::parse("请{ticket}号到{window}号窗口办理").unwrap(), &ticket, window);
        // A ticket can never bring its own tags: once the tags hallq puts
        // in are removed, no bracket is left.
        let mut bare = chip.clone();
        for tag in ["[n0]", "[n1]", "[n2]", "[y1]"] {
            bare = bare.replace(tag, "");
        }
        prop_assert!(!bare.contains('[') && !bare.contains(']'), "{}", chip);
    }

    // ----- round trips -----

    #[test]
    fn modbus_requests_round_trip(unit in 1u8..=247, req in request()) {
        let encoded = modbus::encode_request(unit, &req).unwrap();
        prop_assert_eq!(modbus::decode_request(&encoded.bytes), Ok((unit, req)));
    }

    #[test]
    fn modbus_responses_round_trip_through_noise(
        unit in 1u8..=247,
        req in request(),
        registers in prop::collection::vec(any::<u16>(), 125),
        noise in prop::collection::vec(any::<u8>(), 0..40),
        cuts in prop::collection::vec(any::<usize>(), 0..5),
        exception in any::<bool>(),
    ) {
        let encoded = modbus::encode_request(unit, &req).unwrap();
        let expect = encoded.reply.unwrap();
        let (response, reply) = if exception {
            let code = ExceptionCode::ServerDeviceBusy;
            (Err(modbus::ResponseError::Exception(code)),
             modbus::encode_exception(unit, req.function().code(), code))
        } else {
            let response = match &req {
                Request::ReadHoldingRegisters { count, .. }
                | Request::ReadInputRegisters { count, .. } =>
                    Response::Registers(registers[..usize::from(*count)].to_vec()),
                Request::WriteSingleRegister { address, value } =>
                    Response::WroteSingle { address: *address, value: *value },
                Request::WriteMultipleRegisters { start, values } =>
                    Response::WroteMultiple { start: *start, count: values.len() as u16 },
            };
            let bytes = modbus::encode_response(unit, req.function(), &response).unwrap();
            (Ok(response), bytes)
        };
        prop_assert_eq!(&modbus::decode_response(&expect, &reply), &response);
        // Noise that cannot start the reply, then the reply in pieces.
        let noise: Vec<u8> = noise.into_iter().map(|b| if b == unit { b ^ 0x80 } else { b }).collect();
        let mut stream = noise.clone();
        stream.extend_from_slice(&reply);
        let mut x = ResponseExtractor::new(expect);
        let mut got = None;
        for piece in pieces(&stream, &cuts) {
            if let Some(r) = x.push(&piece) {
                prop_assert!(got.is_none());
                got = Some(r);
            }
        }
        prop_assert_eq!(got, Some(response));
        prop_assert_eq!(x.garbage_bytes(), noise.len());
    }

    #[test]
    fn modbus_extractor_never_accepts_a_damaged_reply(
        unit in 1u8..=247,
        count in 1u16..=20,
        flip_at in any::<usize>(),
        flip in 1u8..=255,
    ) {
        let req = modbus::read_input_registers(unit, 0, count).unwrap();
        let values: Vec<u16> = (0..count).collect();
        let mut reply = modbus::encode_response(
            unit, FunctionCode::ReadInputRegisters, &Response::Registers(values.clone())).unwrap();
        let at = flip_at % reply.len();
        reply[at] ^= flip;
        let mut x = ResponseExtractor::new(req.reply.unwrap());
        // CRC-16 catches every error burst of 16 bits or less.
        prop_assert_eq!(x.push(&reply).and_then(Result::ok), None);
    }

    #[test]
    fn bx5k_escape_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let escaped = bxframe::escape(&bytes);
        prop_assert!(!escaped.contains(&0xA5) && !escaped.contains(&0x5A));
        prop_assert_eq!(bxframe::unescape(&escaped), Ok(bytes));
    }

    #[test]
    fn bx5k_frames_round_trip(
        dst: u16, src: u16, device_type: u8, protocol: u8,
        data in prop::collection::vec(any::<u8>(), 0..1100),
        noise in prop::collection::vec(any::<u8>(), 0..30),
    ) {
        let header = bxframe::Header { dst, src, device_type, protocol };
        match bxframe::encode(&header, &data) {
            Ok(f) => {
                prop_assert!(data.len() <= bxframe::DATA_BYTES_MAX);
                let packet = bxframe::decode(&f).unwrap();
                prop_assert_eq!(packet.header, header);
                prop_assert_eq!(&packet.data, &data);
                // Through the extractor after noise without A5.
                let mut stream: Vec<u8> = noise.into_iter().filter(|&b| b != 0xA5).collect();
                stream.extend_from_slice(&f);
                let got = bx5k::FrameExtractor::new().push(&stream);
                prop_assert_eq!(got.len(), 1);
                prop_assert_eq!(&got[0].as_ref().unwrap().data, &data);
            }
            Err(_) => prop_assert!(data.len() > bxframe::DATA_BYTES_MAX),
        }
    }

    #[test]
    fn register_text_fits_and_round_trips(s in "\\PC{0,40}", width in 0usize..40) {
        let s = s.replace('\0', " ");
        let regs = text::encode(&s, width, RegisterText::Utf16);
        prop_assert_eq!(regs.len(), width);
        let back = text::decode(&regs, RegisterText::Utf16);
        prop_assert_eq!(&back, text::fitting_prefix(&s, width, RegisterText::Utf16));
        prop_assert!(s.starts_with(&back));
        prop_assert!(!back.contains(REPLACEMENT) || s.contains(REPLACEMENT));

        let regs = text::encode(&s, width, RegisterText::Gb2312);
        prop_assert_eq!(regs.len(), width);
        let back = text::decode(&regs, RegisterText::Gb2312);
        let prefix = text::fitting_prefix(&s, width, RegisterText::Gb2312);
        let expected = TextEncoding::Gb2312.decode_lossy(&TextEncoding::Gb2312.encode_lossy(prefix, '?').0);
        prop_assert_eq!(back, expected);
    }

    #[test]
    fn register_text_with_chinese_and_emoji(
        parts in prop::collection::vec(prop_oneof![
            Just("请"), Just("到"), Just("A"), Just("0"), Just("😀"), Just("𠮷"), Just("号"), Just(" ")
        ], 0..30),
        width in 0usize..20,
    ) {
        let s: String = parts.concat();
        let regs = text::encode(&s, width, RegisterText::Utf16);
        let back = text::decode(&regs, RegisterText::Utf16);
        prop_assert!(s.starts_with(&back));
        // Nothing that fits was left out.
        let next = s[back.len()..].chars().next();
        if let Some(c) = next {
            prop_assert!(back.encode_utf16().count() + c.len_utf16() > width);
        }
    }

    #[test]
    fn tts_split_covers_the_text_in_pieces_that_fit(
        parts in prop::collection::vec(prop_oneof![
            Just("请"), Just("A"), Just("。"), Just("，"), Just("[n1]"), Just("😀"), Just("0"), Just(" ")
        ], 0..200),
        max in 0usize..120,
    ) {
        let s: String = parts.concat();
        for enc in [TextEncoding::Gbk, TextEncoding::Utf16le, TextEncoding::Utf16be] {
            let pieces = split::split_encoded(&s, enc, max);
            let limit = max.max(split::PIECE_BYTES_MIN);
            let mut joined = Vec::new();
            for p in &pieces {
                prop_assert!(!p.is_empty() && p.len() <= limit);
                let text = enc.decode_lossy(p);
                prop_assert!(!text.contains(REPLACEMENT));
                joined.extend_from_slice(p);
            }
            let whole = enc.encode_lossy(&s, ' ').0;
            prop_assert_eq!(joined, whole);
        }
    }

    #[test]
    fn chinese_numbers_read_back(n: u32) {
        let s = speech::chinese_number(n);
        prop_assert_eq!(parse_chinese(&s), u64::from(n), "{}", s);
        prop_assert!(!s.contains("零零"));
        prop_assert!(n == 0 || !s.ends_with('零'));
    }
}

#[test]
fn chinese_numbers_read_back_for_every_window() {
    for n in 0..=20_000u32 {
        assert_eq!(parse_chinese(&speech::chinese_number(n)), u64::from(n));
    }
}
