//! Bytes on a TTS chip's line: the replies hallq reads, and the frames a
//! chip (the simulator) reads, for both chips, fed in pieces (byte 0 is
//! the piece size).
#![no_main]

use hallq::devices::tts::{self, syn6288, xfs5152};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [piece, wire @ ..] = data else {
        return;
    };
    let _ = tts::decode_replies(wire).count();
    let _ = syn6288::decode_frame(wire).map(|c| c.text());
    let _ = xfs5152::decode_frame(wire).map(|c| c.text());
    let mut a = syn6288::frame_extractor();
    let mut b = xfs5152::frame_extractor();
    for chunk in wire.chunks(usize::from(*piece).max(1)) {
        for d in a.push(chunk).into_iter().flatten() {
            let _ = syn6288::Command::from_data(&d).map(|c| c.text());
        }
        for d in b.push(chunk).into_iter().flatten() {
            let _ = xfs5152::Command::from_data(&d).map(|c| c.text());
        }
    }
});
