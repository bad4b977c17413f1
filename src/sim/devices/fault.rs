//! Faults a simulated device can be given at any time, and what each does to
//! the bytes it would send.

use std::fmt;
use std::str::FromStr;

use crate::devices::bx5k::frame as bx5k_frame;
use crate::devices::modbus::codec::crc_ok;
use crate::sim::traffic::SimRng;

/// Longest delay a `Slow` fault may add.
pub const SLOW_MS_MAX: u32 = 60_000;
/// Bytes of one garbage flood, at least and at most.
pub const GARBAGE_BYTES_MIN: usize = 64;
pub const GARBAGE_BYTES_MAX: usize = 256;

/// What is wrong with a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fault {
    /// Works.
    #[default]
    None,
    /// Off the bus: no reply. On replug its state is blank, as after a
    /// power cycle, so the master must rewrite it.
    Unplugged,
    /// Hung: no reply, requests ignored, state kept.
    Silent,
    /// Answers each request addressed to it with 64–256 random bytes
    /// instead of a reply (requests are not applied).
    Garbage,
    /// Applies the request and answers correctly, with a corrupted CRC (a
    /// TTS chip's one-byte replies have no CRC: the byte itself is flipped).
    BadCrc,
    /// Applies the request and answers correctly after this many ms.
    Slow(u32),
}

impl Fault {
    /// Whether the device acts on requests and answers (perhaps badly).
    pub fn applies_requests(self) -> bool {
        matches!(self, Fault::None | Fault::BadCrc | Fault::Slow(_))
    }

    /// Extra delay before a reply.
    pub fn delay_ms(self) -> u32 {
        match self {
            Fault::Slow(ms) => ms,
            _ => 0,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::None => f.write_str("none"),
            Fault::Unplugged => f.write_str("unplug"),
            Fault::Silent => f.write_str("silent"),
            Fault::Garbage => f.write_str("garbage"),
            Fault::BadCrc => f.write_str("badcrc"),
            Fault::Slow(ms) => write!(f, "slow {ms}"),
        }
    }
}

/// The words `Fault::from_str` takes, for error messages.
pub const FAULT_WORDS: &str = "none | unplug | silent | garbage | badcrc | slow MS";

impl FromStr for Fault {
    type Err = String;

    /// `none`, `unplug`, `silent`, `garbage`, `badcrc`, `slow 300`.
    fn from_str(s: &str) -> Result<Fault, String> {
        let mut words = s.split_whitespace();
        let fault = match (words.next(), words.next()) {
            (Some("none" | "ok" | "replug"), None) => Fault::None,
            (Some("unplug" | "unplugged"), None) => Fault::Unplugged,
            (Some("silent"), None) => Fault::Silent,
            (Some("garbage"), None) => Fault::Garbage,
            (Some("badcrc" | "bad-crc"), None) => Fault::BadCrc,
            (Some("slow"), Some(ms)) => match ms.parse::<u32>() {
                Ok(ms) if ms <= SLOW_MS_MAX => Fault::Slow(ms),
                _ => return Err(format!("slow takes 0–{SLOW_MS_MAX} ms, not {ms:?}")),
            },
            _ => return Err(format!("a fault is one of: {FAULT_WORDS}")),
        };
        if words.next().is_some() {
            return Err(format!("a fault is one of: {FAULT_WORDS}"));
        }
        Ok(fault)
    }
}

/// How a device's replies are framed, for [`corrupt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplyFraming {
    /// Modbus RTU: CRC in the last two bytes.
    Modbus,
    /// TTS chips: single bytes, no CRC.
    Bytes,
    /// BX-5K: escaped packet with a CRC-16/ARC before the 5A.
    Bx5k,
}

/// The reply with its CRC broken (see [`Fault::BadCrc`]).
pub(crate) fn corrupt(reply: &[u8], framing: ReplyFraming) -> Vec<u8> {
    let mut out = reply.to_vec();
    match framing {
        ReplyFraming::Modbus => {
            if let Some(last) = out.last_mut() {
                *last ^= 0x5A;
            }
            debug_assert!(out.len() < 2 || !crc_ok(&out));
        }
        ReplyFraming::Bytes => {
            for b in &mut out {
                *b ^= 0x80;
            }
        }
        ReplyFraming::Bx5k => {
            let starts = out
                .iter()
                .take_while(|&&b| b == bx5k_frame::FRAME_START)
                .count();
            let body_end = out.len().saturating_sub(1);
            if starts < body_end
                && let Ok(mut packet) = bx5k_frame::unescape(&out[starts..body_end])
                && let Some(crc_hi) = packet.last_mut()
            {
                *crc_hi ^= 0x5A;
                let mut frame = vec![bx5k_frame::FRAME_START; starts];
                bx5k_frame::escape_into(&packet, &mut frame);
                frame.push(bx5k_frame::FRAME_END);
                out = frame;
            }
        }
    }
    out
}

/// A garbage flood of 64–256 random bytes.
pub(crate) fn garbage(rng: &mut SimRng) -> Vec<u8> {
    let len = rng.range(GARBAGE_BYTES_MIN as i64, GARBAGE_BYTES_MAX as i64 + 1) as usize;
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::bx5k;
    use crate::devices::modbus::{FunctionCode, Response, encode_response};

    #[test]
    fn parse_and_show() {
        for f in [
            Fault::None,
            Fault::Unplugged,
            Fault::Silent,
            Fault::Garbage,
            Fault::BadCrc,
            Fault::Slow(300),
        ] {
            assert_eq!(f.to_string().parse::<Fault>(), Ok(f));
        }
        assert!("slow".parse::<Fault>().is_err());
        assert!("slow x".parse::<Fault>().is_err());
        assert!("slow 999999".parse::<Fault>().is_err());
        assert!("none extra".parse::<Fault>().is_err());
        assert!("".parse::<Fault>().is_err());
    }

    #[test]
    fn corrupted_replies_fail_their_checks() {
        let reply = encode_response(
            3,
            FunctionCode::ReadHoldingRegisters,
            &Response::Registers(vec![1, 2]),
        )
        .unwrap();
        let bad = corrupt(&reply, ReplyFraming::Modbus);
        assert_eq!(bad.len(), reply.len());
        assert!(crc_ok(&reply) && !crc_ok(&bad));

        let ack = bx5k::ack_frame(1);
        let bad = corrupt(&ack, ReplyFraming::Bx5k);
        assert!(bx5k_frame::decode(&ack).is_ok());
        assert!(matches!(
            bx5k_frame::decode(&bad),
            Err(bx5k_frame::FrameError::BadCrc { .. })
        ));

        assert_eq!(corrupt(&[0x41], ReplyFraming::Bytes), [0xC1]);
    }

    #[test]
    fn garbage_is_bounded() {
        let mut rng = SimRng::new(7);
        for _ in 0..100 {
            let g = garbage(&mut rng);
            assert!((GARBAGE_BYTES_MIN..=GARBAGE_BYTES_MAX).contains(&g.len()));
        }
    }
}
