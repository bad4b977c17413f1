//! An Onbon BX-5K text controller as a pure model: decoded frames in, the
//! ACK frame out when the command asks for a reply.
//!
//! - Frames to another screen address are ignored (0xFFFF reaches every
//!   controller).
//! - A3/06 (real-time text) stores the area's text; a payload that is not
//!   one area is refused with a NACK (A0/01) when a reply is required.
//! - Every other command is acknowledged (A0/00) when a reply is required
//!   (reply flag 0x01) and silently accepted otherwise (0x02).
//! - Frames failing their CRC or escaping are ignored, as a controller does.
//! - The real-time text is not kept in flash: after a power cycle the board
//!   is blank.

use crate::devices::bx5k::frame::{self as bx5k_frame, FrameError, Header, Packet};
use crate::devices::bx5k::{self, Bx5kProfile, Command, ReplyMode, realtime};

/// Screen address every controller takes.
pub const BROADCAST_SCREEN: u16 = 0xFFFF;

/// What one frame did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bx5kReply {
    /// The reply frame, if the command asked for one.
    pub bytes: Option<Vec<u8>>,
    /// Whether the frame was for this controller and understood.
    pub accepted: bool,
}

#[derive(Debug, Clone)]
pub struct Bx5kController {
    profile: Bx5kProfile,
    /// The real-time area's text as sent (GB2312 / GBK).
    text: Vec<u8>,
}

impl Bx5kController {
    pub fn new(profile: Bx5kProfile) -> Bx5kController {
        Bx5kController {
            profile,
            text: Vec::new(),
        }
    }

    pub fn power_cycle(&mut self) {
        self.text.clear();
    }

    pub fn packet(&mut self, packet: Result<Packet, FrameError>) -> Bx5kReply {
        let Ok(packet) = packet else {
            return Bx5kReply::default();
        };
        let dst = packet.header.dst;
        if dst != self.profile.screen_address && dst != BROADCAST_SCREEN {
            return Bx5kReply::default();
        }
        let Some(command) = Command::from_data(&packet.data) else {
            return Bx5kReply::default();
        };
        let understood = if (command.group, command.code) == (realtime::GROUP, realtime::COMMAND) {
            match realtime::parse_payload(&command.payload) {
                Some(area) => {
                    self.text = area.text;
                    true
                }
                None => false,
            }
        } else {
            true
        };
        let bytes = (command.reply == ReplyMode::Required).then(|| {
            if understood {
                bx5k::ack_frame(self.profile.screen_address)
            } else {
                self.nack_frame()
            }
        });
        Bx5kReply {
            bytes,
            accepted: understood,
        }
    }

    /// A0/01, framed like the ACK.
    fn nack_frame(&self) -> Vec<u8> {
        let header = Header {
            dst: 0x8000,
            src: self.profile.screen_address,
            ..Header::default()
        };
        bx5k_frame::encode(&header, &[0xA0, 0x01, 0x01, 0x00, 0x00]).unwrap_or_default()
    }

    /// The text shown, decoded.
    pub fn text(&self) -> String {
        self.profile.encoding.decode_lossy(&self.text)
    }

    /// The text cut into the profile's lines (`columns` half-width columns
    /// each, a hanzi taking two), trailing spaces trimmed, empty lines
    /// dropped.
    pub fn lines(&self) -> Vec<String> {
        let columns = usize::from(self.profile.columns.max(1));
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut used = 0;
        for c in self.text().chars() {
            let width = if c.is_ascii() { 1 } else { 2 };
            if used + width > columns {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(c);
            used += width;
        }
        lines.push(line);
        lines
            .into_iter()
            .map(|l| l.trim_end().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// `A012 → 12号窗口 / B003 → 5号窗口`, or `(blank)`.
    pub fn shows(&self) -> String {
        let lines = self.lines();
        if lines.is_empty() {
            "(blank)".to_string()
        } else {
            lines.join(" / ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::board::BoardCall;
    use crate::devices::bx5k::Status;

    #[test]
    fn text_and_ack() {
        let p = Bx5kProfile::default();
        let mut c = Bx5kController::new(p.clone());
        assert_eq!(c.shows(), "(blank)");
        let frame = p
            .frame(&[BoardCall::new("A012", 12), BoardCall::new("B003", 5)])
            .unwrap();
        let r = c.packet(bx5k_frame::decode(&frame));
        assert!(r.accepted);
        let ack = bx5k_frame::decode(&r.bytes.unwrap()).unwrap();
        assert_eq!(bx5k::status(&ack), Status::Ack);
        assert_eq!(c.shows(), "A012 → 12号窗口 / B003 → 5号窗口");
        c.power_cycle();
        assert_eq!(c.shows(), "(blank)");
    }

    #[test]
    fn reply_mode_and_addresses() {
        let p = Bx5kProfile::default();
        let mut c = Bx5kController::new(p.clone());
        let quiet = realtime::command(&p.area, 0, ReplyMode::None, b"hello")
            .unwrap()
            .encode(&p.header())
            .unwrap();
        let r = c.packet(bx5k_frame::decode(&quiet));
        assert!(r.accepted && r.bytes.is_none());
        assert_eq!(c.text(), "hello");
        let other = Header {
            dst: 7,
            ..Header::default()
        };
        let ping = bx5k::ping(&other);
        assert_eq!(c.packet(bx5k_frame::decode(&ping)), Bx5kReply::default());
        let bad = Command {
            payload: vec![0, 1, 0xFF, 0xFF],
            ..Command::simple(realtime::GROUP, realtime::COMMAND)
        }
        .encode(&p.header())
        .unwrap();
        let nack = c.packet(bx5k_frame::decode(&bad)).bytes.unwrap();
        assert!(matches!(
            bx5k::status(&bx5k_frame::decode(&nack).unwrap()),
            Status::Nack { .. }
        ));
    }
}
