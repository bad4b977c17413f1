//! The polled event FIFO that keypads and evaluators share (DESIGN.md §5):
//! FC04 reads IR 0 (pending events, 0–8) and IR 1–8 (event codes, oldest
//! first) in one request; FC06 writes n to HR 0 to make the device drop its
//! first n events.
//!
//! Every pending event is acknowledged — unknown codes included —
//! so one bad code cannot jam the FIFO; unknown codes are reported to the
//! caller (for the error counters), never turned into actions. A pending
//! count above the FIFO's depth means the device is confused: nothing is
//! acknowledged and an error is returned.

use serde::{Deserialize, Serialize};

use crate::devices::modbus::{self, EncodeError, EncodedRequest};
use crate::devices::profile::Problem;

/// Deepest FIFO a profile may declare (one FC04 reads it all).
pub const DEPTH_MAX: u8 = 32;

fn default_depth() -> u8 {
    8
}

/// Where the FIFO lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FifoLayout {
    /// Input register with the pending count; the codes follow it.
    #[serde(default)]
    pub pending_register: u16,
    /// Event codes the device holds at most.
    #[serde(default = "default_depth")]
    pub depth: u8,
    /// Holding register the acknowledge count is written to.
    #[serde(default)]
    pub ack_register: u16,
}

impl Default for FifoLayout {
    fn default() -> Self {
        FifoLayout {
            pending_register: 0,
            depth: default_depth(),
            ack_register: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FifoError {
    #[error("{got} registers read, the FIFO needs {need}")]
    TooFewRegisters { got: usize, need: usize },
    #[error("the device reports {pending} pending events; its FIFO holds {depth}")]
    PendingOutOfRange { pending: u16, depth: u8 },
}

impl FifoLayout {
    /// Registers one poll reads: the count and `depth` codes.
    pub fn poll_len(&self) -> u16 {
        u16::from(self.depth) + 1
    }

    /// The FC04 poll.
    pub fn poll_request(&self, unit: u8) -> Result<EncodedRequest, EncodeError> {
        modbus::read_input_registers(unit, self.pending_register, self.poll_len())
    }

    /// The pending codes, oldest first, from the registers a poll read.
    pub fn pending<'r>(&self, registers: &'r [u16]) -> Result<&'r [u16], FifoError> {
        let need = usize::from(self.poll_len());
        if registers.len() < need {
            return Err(FifoError::TooFewRegisters {
                got: registers.len(),
                need,
            });
        }
        let pending = registers[0];
        if pending > u16::from(self.depth) {
            return Err(FifoError::PendingOutOfRange {
                pending,
                depth: self.depth,
            });
        }
        Ok(&registers[1..1 + usize::from(pending)])
    }

    /// The FC06 that drops the first `n` events (n ≥ 1; nothing to send
    /// for 0).
    pub fn ack_request(&self, unit: u8, n: u8) -> Result<EncodedRequest, EncodeError> {
        modbus::write_single_register(unit, self.ack_register, u16::from(n))
    }

    pub(crate) fn problems(&self, p: &mut Vec<Problem>) {
        if self.depth == 0 || self.depth > DEPTH_MAX {
            p.push(Problem::new(
                "fifo.depth",
                format!("{} events; allowed 1–{DEPTH_MAX}", self.depth),
            ));
        }
        if u32::from(self.pending_register) + u32::from(self.depth) > u32::from(u16::MAX) {
            p.push(Problem::new(
                "fifo.pending_register",
                "the FIFO runs past register 65535",
            ));
        }
    }
}

/// One polled event: a known code, or a code this profile does not map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<T> {
    Known(T),
    Unknown(u16),
}

/// The result of one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll<T> {
    /// Oldest first.
    pub events: Vec<Event<T>>,
}

impl<T> Poll<T> {
    /// How many events to acknowledge (all of them, unknown ones too).
    pub fn to_acknowledge(&self) -> u8 {
        // At most DEPTH_MAX events.
        self.events.len().min(usize::from(u8::MAX)) as u8
    }

    pub fn unknown_codes(&self) -> impl Iterator<Item = u16> + '_ {
        self.events.iter().filter_map(|e| match e {
            Event::Unknown(c) => Some(*c),
            Event::Known(_) => None,
        })
    }
}

/// Decodes a poll with `decode` for each code.
pub fn decode_poll<T>(
    layout: &FifoLayout,
    registers: &[u16],
    decode: impl Fn(u16) -> Option<T>,
) -> Result<Poll<T>, FifoError> {
    let codes = layout.pending(registers)?;
    Ok(Poll {
        events: codes
            .iter()
            .map(|&c| decode(c).map_or(Event::Unknown(c), Event::Known))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_codes() {
        let l = FifoLayout::default();
        assert_eq!(l.pending(&[2, 1, 5, 9, 9, 9, 9, 9, 9]), Ok(&[1, 5][..]));
        assert_eq!(l.pending(&[0; 9]), Ok(&[][..]));
        assert_eq!(
            l.pending(&[9, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(FifoError::PendingOutOfRange {
                pending: 9,
                depth: 8
            })
        );
        assert_eq!(
            l.pending(&[1, 1]),
            Err(FifoError::TooFewRegisters { got: 2, need: 9 })
        );
    }

    #[test]
    fn requests() {
        let l = FifoLayout::default();
        // FC04, IR 0, 9 registers: 05 04 00 00 00 09 + CRC.
        let poll = l.poll_request(5).unwrap();
        assert_eq!(&poll.bytes[..6], &[0x05, 0x04, 0x00, 0x00, 0x00, 0x09]);
        let ack = l.ack_request(5, 3).unwrap();
        assert_eq!(&ack.bytes[..6], &[0x05, 0x06, 0x00, 0x00, 0x00, 0x03]);
    }
}
