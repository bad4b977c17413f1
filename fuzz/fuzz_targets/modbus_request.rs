//! Bytes a Modbus slave (the simulator) receives: the request decoder and
//! the request extractor, fed in pieces (byte 0 is the piece size).
#![no_main]

use hallq::devices::modbus::{self, RequestExtractor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [piece, wire @ ..] = data else {
        return;
    };
    let _ = modbus::decode_request(wire);
    let mut x = RequestExtractor::new();
    for chunk in wire.chunks(usize::from(*piece).max(1)) {
        for request in x.push(chunk).into_iter().flatten() {
            // What a slave does next with a request: answer it.
            let _ = modbus::encode_request(request.0.min(247), &request.1);
        }
    }
});
