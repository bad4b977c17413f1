//! Onbon BX-5K text controllers (字库卡), for zone boards of that brand:
//! RS-232/485 at 9600 or 57600 baud.
//!
//! - `frame.rs` — framing, escaping, CRC-16/ARC, decoder and extractor;
//! - `realtime.rs` — the real-time text area command (A3/06);
//! - here — the command envelope, ping and status, reply status, the
//!   profile and the board text layout.
//!
//! A command's data field is `group · command · reply flag · 2 bytes ·
//! payload`. The reply flag is 0x01 (the controller must answer) or 0x02
//! (it must not).
//!
//! Replies: a controller answers in the same framing. Onbon's documents for
//! the sibling 5E/5Q protocol define ACK as command group 0xA0, command
//! 0x00 and NACK as 0xA0, 0x01; [`status`] reads BX-5K replies that way.
//! No BX-5K reply was available as a vector, so the layout of the bytes
//! after group and command is not interpreted (kept as `detail`).

pub mod frame;
pub mod realtime;

use serde::{Deserialize, Serialize};

use crate::devices::board::{self, BoardCall};
use crate::devices::encoding::TextEncoding;
use crate::devices::profile::{Problem, check_template};
use crate::devices::template::Template;
pub use frame::{FrameError, FrameExtractor, Header, Packet};
pub use realtime::AreaConfig;

/// Whether the controller must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    /// 0x01.
    Required,
    /// 0x02.
    None,
}

impl ReplyMode {
    pub fn byte(self) -> u8 {
        match self {
            ReplyMode::Required => 0x01,
            ReplyMode::None => 0x02,
        }
    }
}

/// A command: the data field of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub group: u8,
    pub code: u8,
    pub reply: ReplyMode,
    /// The two bytes after the reply flag (reserved for most commands).
    pub extra: [u8; 2],
    pub payload: Vec<u8>,
}

impl Command {
    /// A command without payload.
    pub fn simple(group: u8, code: u8) -> Command {
        Command {
            group,
            code,
            reply: ReplyMode::Required,
            extra: [0, 0],
            payload: Vec::new(),
        }
    }

    pub fn data(&self) -> Vec<u8> {
        let mut data = Vec::with_capacity(5 + self.payload.len());
        data.extend_from_slice(&[self.group, self.code, self.reply.byte()]);
        data.extend_from_slice(&self.extra);
        data.extend_from_slice(&self.payload);
        data
    }

    pub fn encode(&self, header: &Header) -> Result<Vec<u8>, FrameError> {
        frame::encode(header, &self.data())
    }

    /// Reads a command from a frame's data (the controller's side).
    pub fn from_data(data: &[u8]) -> Option<Command> {
        let (head, payload) = data.split_at_checked(5)?;
        let reply = match head[2] {
            0x01 => ReplyMode::Required,
            0x02 => ReplyMode::None,
            _ => return None,
        };
        Some(Command {
            group: head[0],
            code: head[1],
            reply,
            extra: [head[3], head[4]],
            payload: payload.to_vec(),
        })
    }
}

/// Ping (A2/00): `A5×8 01 00 00 80 00 00 00 00 00 00 FE 02 05 00 A2 00 01
/// 00 00 68 F8 5A` with the default header.
pub fn ping(header: &Header) -> Vec<u8> {
    Command::simple(0xA2, 0x00)
        .encode(header)
        .expect("a command without payload fits a frame")
}

/// Status query (A1/02).
pub fn query_status(header: &Header) -> Vec<u8> {
    Command::simple(0xA1, 0x02)
        .encode(header)
        .expect("a command without payload fits a frame")
}

/// What a reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// A0/00.
    Ack,
    /// A0/01; the bytes after group and command, uninterpreted.
    Nack { detail: Vec<u8> },
    /// Any other reply (e.g. data answering a query).
    Other { group: u8, code: u8 },
    /// Fewer than two data bytes.
    Empty,
}

/// Reads a reply's status (see the module docs for what is pinned).
pub fn status(packet: &Packet) -> Status {
    match packet.data.as_slice() {
        [0xA0, 0x00, ..] => Status::Ack,
        [0xA0, 0x01, rest @ ..] => Status::Nack {
            detail: rest.to_vec(),
        },
        [group, code, ..] => Status::Other {
            group: *group,
            code: *code,
        },
        _ => Status::Empty,
    }
}

/// An ACK as a controller would send it (for the simulator): from the
/// screen to the PC, A0/00 followed by the reply flag and two zero bytes.
pub fn ack_frame(screen: u16) -> Vec<u8> {
    let header = Header {
        dst: 0x8000,
        src: screen,
        ..Header::default()
    };
    frame::encode(&header, &[0xA0, 0x00, 0x01, 0x00, 0x00]).expect("an ACK fits a frame")
}

/// Lines a BX-5K profile may show.
pub const LINES_MAX: u8 = 16;
/// Columns per line a BX-5K profile may declare.
pub const COLUMNS_MAX: u16 = 256;

fn default_screen_address() -> u16 {
    0x0001
}
fn default_encoding() -> TextEncoding {
    TextEncoding::Gb2312
}
fn default_lines() -> u8 {
    2
}
fn default_columns() -> u16 {
    24
}
fn default_line() -> Template {
    Template::parse(crate::devices::board::DEFAULT_LINE).expect("the default line parses")
}
fn default_empty() -> Template {
    Template::parse("欢迎光临").expect("parses")
}

/// Profile parameters of a BX-5K board (`[onbon-bx5k-text]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bx5kProfile {
    /// The screen address (屏号) set in the controller.
    #[serde(default = "default_screen_address")]
    pub screen_address: u16,
    /// gb2312 (字库卡 fonts) or gbk.
    #[serde(default = "default_encoding")]
    pub encoding: TextEncoding,
    /// First of the two bytes after the reply flag (see `realtime.rs`).
    #[serde(default)]
    pub process_mode: u8,
    /// Calls shown at once, newest first.
    #[serde(default = "default_lines")]
    pub lines: u8,
    /// Half-width columns per line (an ASCII character takes 1, a hanzi 2):
    /// the area's width in pixels / 8 for a 16-pixel font. Each line is
    /// padded to it so that automatic line breaks fall between calls.
    #[serde(default = "default_columns")]
    pub columns: u16,
    /// One call: `{ticket}`, `{window}`.
    #[serde(default = "default_line")]
    pub line: Template,
    /// Shown when there is no call.
    #[serde(default = "default_empty")]
    pub empty: Template,
    #[serde(default)]
    pub area: AreaConfig,
}

impl Default for Bx5kProfile {
    fn default() -> Self {
        Bx5kProfile {
            screen_address: default_screen_address(),
            encoding: default_encoding(),
            process_mode: 0,
            lines: default_lines(),
            columns: default_columns(),
            line: default_line(),
            empty: default_empty(),
            area: AreaConfig::default(),
        }
    }
}

impl Bx5kProfile {
    pub fn header(&self) -> Header {
        Header {
            dst: self.screen_address,
            ..Header::default()
        }
    }

    /// The encoded text for the latest calls (newest first): one call per
    /// line, each line cut to `columns` and padded with spaces to it.
    pub fn text(&self, calls: &[BoardCall]) -> Vec<u8> {
        let lines: Vec<String> = if calls.is_empty() {
            vec![self.empty.render(|_| None)]
        } else {
            calls
                .iter()
                .take(usize::from(self.lines))
                .map(|c| c.render(&self.line))
                .collect()
        };
        let columns = usize::from(self.columns);
        let mut out = Vec::new();
        let last = lines.len().saturating_sub(1);
        for (i, line) in lines.iter().enumerate() {
            let mut bytes = Vec::new();
            for ch in line.chars() {
                let mut one = Vec::with_capacity(2);
                if !self.encoding.encode_char(ch, &mut one) {
                    one = vec![b'?'];
                }
                // Double-byte characters are two columns wide.
                if bytes.len() + one.len() > columns {
                    break;
                }
                bytes.extend_from_slice(&one);
            }
            if i < last {
                bytes.resize(columns.max(bytes.len()), b' ');
            }
            out.extend_from_slice(&bytes);
        }
        out.truncate(realtime::TEXT_BYTES_MAX);
        out
    }

    pub(crate) fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        if !matches!(self.encoding, TextEncoding::Gb2312 | TextEncoding::Gbk) {
            p.push(Problem::new(
                "encoding",
                "a BX-5K reads gb2312 (or gbk with a GBK font)",
            ));
        }
        if self.lines == 0 || self.lines > LINES_MAX {
            p.push(Problem::new("lines", format!("allowed 1–{LINES_MAX}")));
        }
        if self.columns < 4 || self.columns > COLUMNS_MAX {
            p.push(Problem::new("columns", format!("allowed 4–{COLUMNS_MAX}")));
        }
        if usize::from(self.lines) * usize::from(self.columns) > realtime::TEXT_BYTES_MAX {
            p.push(Problem::new(
                "lines",
                format!(
                    "lines × columns exceeds the {} bytes of text a frame carries",
                    realtime::TEXT_BYTES_MAX
                ),
            ));
        }
        if self.area.width == 0 {
            p.push(Problem::new("area.width", "at least 1 (8 pixels)"));
        }
        if self.area.height == 0 {
            p.push(Problem::new("area.height", "at least 1 pixel"));
        }
        check_template(&mut p, "line", &self.line, board::PLACEHOLDERS);
        check_template(&mut p, "empty", &self.empty, &[]);
        p
    }

    /// The frame that shows the latest calls.
    pub fn frame(&self, calls: &[BoardCall]) -> Result<Vec<u8>, FrameError> {
        realtime::frame(
            &self.header(),
            &self.area,
            self.process_mode,
            &self.text(calls),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_vector_from_design() {
        let expected: Vec<u8> = [0xA5; 8]
            .into_iter()
            .chain([
                0x01, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFE, 0x02, 0x05, 0x00,
                0xA2, 0x00, 0x01, 0x00, 0x00, 0x68, 0xF8, 0x5A,
            ])
            .collect();
        assert_eq!(ping(&Header::default()), expected);
    }

    #[test]
    fn board_text_is_padded_per_line() {
        let p = Bx5kProfile::default();
        let calls = [
            BoardCall::new("A012", 12),
            BoardCall::new("B003", 5),
            BoardCall::new("C001", 1),
        ];
        let text = p.text(&calls);
        let s = TextEncoding::Gb2312.decode_lossy(&text);
        // "A012 → 12号窗口" is 4+1+2+1+2+6 = 16 columns, padded to 24;
        // only two lines fit the profile.
        assert_eq!(s, format!("A012 → 12号窗口{}B003 → 5号窗口", " ".repeat(8)));
        assert_eq!(text.len(), 24 + 15);
        let empty = TextEncoding::Gb2312.decode_lossy(&p.text(&[]));
        assert_eq!(empty, "欢迎光临");
    }

    #[test]
    fn status_of_replies() {
        let ack = frame::decode(&ack_frame(1)).unwrap();
        assert_eq!(status(&ack), Status::Ack);
        let nack = Packet {
            header: Header::default(),
            data: vec![0xA0, 0x01, 0x01, 0, 0, 5],
        };
        assert_eq!(
            status(&nack),
            Status::Nack {
                detail: vec![0x01, 0, 0, 5]
            }
        );
        let empty = Packet {
            header: Header::default(),
            data: vec![],
        };
        assert_eq!(status(&empty), Status::Empty);
    }
}
