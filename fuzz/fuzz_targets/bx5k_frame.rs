//! Bytes on a BX-5K line, either direction: frame decoder, unescaping, the
//! stream extractor (fed in pieces; byte 0 is the piece size), replies'
//! status and the A3/06 payload parser.
#![no_main]

use hallq::devices::bx5k::{self, frame, realtime};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [piece, wire @ ..] = data else {
        return;
    };
    let _ = frame::decode(wire);
    let _ = frame::unescape(wire);
    let _ = realtime::parse_payload(wire);
    let mut x = bx5k::FrameExtractor::new();
    for chunk in wire.chunks(usize::from(*piece).max(1)) {
        for packet in x.push(chunk).into_iter().flatten() {
            let _ = bx5k::status(&packet);
            if let Some(cmd) = bx5k::Command::from_data(&packet.data) {
                let _ = realtime::parse_payload(&cmd.payload);
            }
        }
    }
});
