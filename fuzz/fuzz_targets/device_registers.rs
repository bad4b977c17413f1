//! Registers read from devices (the payload of FC03/FC04 replies): keypad
//! and evaluator polls, text read back from registers, and register images
//! decoded as the simulator shows them.
#![no_main]

use hallq::devices::board::TextBoardProfile;
use hallq::devices::evaluator::EvaluatorProfile;
use hallq::devices::image::RegisterImage;
use hallq::devices::indicator::WindowIndicatorProfile;
use hallq::devices::keypad::KeypadProfile;
use hallq::devices::modbus::text::{self, RegisterText};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let registers: Vec<u16> = data
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    let _ = KeypadProfile::default().decode_poll(&registers);
    let _ = EvaluatorProfile::default().decode_poll(&registers);
    let _ = text::decode(&registers, RegisterText::Utf16);
    let _ = text::decode(&registers, RegisterText::Gb2312);
    // Pairs (address, value) as a device's memory.
    let mut img = RegisterImage::new();
    for pair in registers.chunks_exact(2) {
        img.set(pair[0] % 256, pair[1]);
    }
    let _ = WindowIndicatorProfile::default().decode(&img);
    let _ = TextBoardProfile::default().decode(&img);
    let _ = KeypadProfile::default().decode_screen(&img);
    let _ = EvaluatorProfile::default().decode_screen(&img);
});
