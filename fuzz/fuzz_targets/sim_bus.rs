//! The device side of a bus, as the simulator runs it: any bytes (hallq's
//! requests, or line noise) are framed, answered and timed by `BusCore`,
//! with and without wire-speed mode, with faults switched on the way. It
//! must never panic, keep its limits, and finish all its work.
//!
//! Input: byte 0 picks the bus (bits 0–1: Modbus slaves of every kind,
//! SYN6288, XFS5152CE or BX-5K; bit 2 wire speed; bit 3 115200 baud instead
//! of 9600; bit 4 parity), then chunks of `[len, delay_ms, fault, bytes…]`.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hallq::devices::profile::{Profile, builtin_profiles};
use hallq::sim::devices::bus::{BusCore, FRAME_LOG_MAX};
use hallq::sim::devices::{Fault, SimBusSpec, SimDeviceSpec};
use libfuzzer_sys::fuzz_target;

fn profiles() -> &'static BTreeMap<String, Profile> {
    static P: OnceLock<BTreeMap<String, Profile>> = OnceLock::new();
    P.get_or_init(|| builtin_profiles().expect("the built-in profiles parse"))
}

fn device(file: &str, unit: Option<u8>) -> SimDeviceSpec {
    SimDeviceSpec {
        unit,
        profile: profiles()[file].clone(),
        label: file.to_string(),
    }
}

fn fault(code: u8) -> Option<Fault> {
    Some(match code {
        0 => Fault::None,
        1 => Fault::Unplugged,
        2 => Fault::Silent,
        3 => Fault::Garbage,
        4 => Fault::BadCrc,
        5..=15 => Fault::Slow(u32::from(code) * 25),
        _ => return None,
    })
}

fuzz_target!(|data: &[u8]| {
    let [pick, wire @ ..] = data else {
        return;
    };
    let devices = match pick % 4 {
        0 => vec![
            device("generic-window-indicator.toml", Some(1)),
            device("generic-text-board.toml", Some(2)),
            device("generic-keypad.toml", Some(3)),
            device("generic-evaluator.toml", Some(4)),
        ],
        1 => vec![device("syn6288.toml", None)],
        2 => vec![device("xfs5152ce.toml", None)],
        _ => vec![device("onbon-bx5k.toml", None)],
    };
    let spec = SimBusSpec {
        name: "fuzz".to_string(),
        baud: if pick & 8 != 0 { 115_200 } else { 9600 },
        parity_or_two_stop: pick & 16 != 0,
        wire_speed: pick & 4 != 0,
        devices,
    };
    let (changes, _) = tokio::sync::broadcast::channel(16);
    let start = Instant::now();
    let mut bus =
        BusCore::new(&spec, 1 + u64::from(pick >> 5), start, changes).expect("a valid bus");
    let mut t = start;
    let mut rest = wire;
    while let [len, delay, code, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (bytes, next) = tail.split_at(n);
        rest = next;
        if let Some(f) = fault(*code) {
            let unit = if pick % 4 == 0 {
                Some(1 + code % 4)
            } else {
                None
            };
            bus.set_fault(unit, f, t).expect("the unit exists");
        }
        if *code == 0xFF {
            // A key press or rating on the keypad / evaluator (or a refusal).
            let _ = bus.press(3, u16::from(*delay));
            let _ = bus.press(4, u16::from(*len));
        }
        bus.receive(bytes, t);
        t += Duration::from_millis(u64::from(*delay));
        bus.advance(t);
        let _ = bus.take_output(t);
        assert!(bus.frames().len() <= FRAME_LOG_MAX);
    }
    // Whatever was started ends: replies, floods, speech (at most 4 KB
    // of text at 8 ms a character), silences.
    t += Duration::from_secs(3600);
    bus.advance(t);
    let _ = bus.take_output(t);
    assert!(bus.next_deadline().is_none(), "work left after an hour");
    let _ = bus.views();
    let _ = bus.stats();
});
