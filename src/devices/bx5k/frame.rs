//! Onbon BX-5K framing (DESIGN.md §5), both directions.
//!
//! ```text
//! A5 ×8 | escaped( header(14) · data(N) · CRC(2) ) | 5A
//!
//! header: dst u16 LE (screen address, 0x0001)
//!         src u16 LE (0x8000 for a PC)
//!         6 reserved bytes, 0
//!         device type u8 (0xFE: any)
//!         protocol version u8 (0x02)
//!         data length u16 LE (N, before escaping)
//! data:   command group · command · reply flag · 2 bytes · payload
//! CRC:    CRC-16/ARC (poly 0xA001 reflected, init 0) over header · data, LE
//! escape: A5 → A6 02, A6 → A6 01, 5A → 5B 02, 5B → 5B 01
//! ```
//!
//! The CRC and the length are computed before escaping. A receiver takes
//! any run of A5 as the start (Onbon: "只要接收到一个0xA5就可认为接收到了
//! 帧头"), since escaping guarantees no A5 or 5A inside a frame.
//!
//! Pinned by vectors: the ping of DESIGN.md, and three frames of the
//! annotated public example (LuckyKoala/BX5KProtocol: status query, clear
//! screen, a real-time text area) whose CRCs this code reproduces. Not
//! pinned: the largest frame a BX-5K accepts. Onbon's SDK notes 1 KB per
//! packet for controllers other than 5E/6E/6Q, so hallq keeps the packet
//! (header, data and CRC, before escaping) within 1024 bytes.

use crate::devices::crc::crc16_arc;

/// Bytes of A5 sent before a frame.
pub const PREAMBLE_LEN: usize = 8;
pub const FRAME_START: u8 = 0xA5;
pub const FRAME_END: u8 = 0x5A;
pub const HEADER_LEN: usize = 14;
pub const CRC_LEN: usize = 2;
/// Header, data and CRC before escaping (see module docs).
pub const PACKET_BYTES_MAX: usize = 1024;
/// Data bytes one frame may carry.
pub const DATA_BYTES_MAX: usize = PACKET_BYTES_MAX - HEADER_LEN - CRC_LEN;
/// Escaped bytes an extractor holds for one frame before giving up.
pub const ESCAPED_BYTES_MAX: usize = 2 * PACKET_BYTES_MAX;

/// The header fields a sender chooses (the data length is computed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Screen address (屏号), 0x0001 unless configured.
    pub dst: u16,
    /// Source address: 0x8000 for a PC.
    pub src: u16,
    /// 0xFE matches any controller type.
    pub device_type: u8,
    pub protocol: u8,
}

impl Default for Header {
    fn default() -> Header {
        Header {
            dst: 0x0001,
            src: 0x8000,
            device_type: 0xFE,
            protocol: 0x02,
        }
    }
}

/// A decoded frame: header and data, CRC checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub header: Header,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("{len} data bytes; a BX-5K frame carries at most {DATA_BYTES_MAX}")]
    TooLong { len: usize },
    #[error("a frame must start with 0xA5 and end with 0x5A")]
    NotDelimited,
    #[error("0x{0:02X} in a frame's body is not a valid escape")]
    BadEscape(u8),
    #[error("packet of {len} bytes is too short (at least {need} needed)")]
    Truncated { len: usize, need: usize },
    #[error("packet of {len} bytes, its header says {expected}")]
    WrongLength { len: usize, expected: usize },
    #[error("bad CRC: computed 0x{computed:04X}, received 0x{received:04X}")]
    BadCrc { computed: u16, received: u16 },
    #[error("a new frame started before this one ended")]
    Interrupted,
    #[error("frame longer than {ESCAPED_BYTES_MAX} bytes")]
    Overlong,
}

/// Appends `bytes` escaped.
pub fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        match b {
            0xA5 => out.extend_from_slice(&[0xA6, 0x02]),
            0xA6 => out.extend_from_slice(&[0xA6, 0x01]),
            0x5A => out.extend_from_slice(&[0x5B, 0x02]),
            0x5B => out.extend_from_slice(&[0x5B, 0x01]),
            _ => out.push(b),
        }
    }
}

pub fn escape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    escape_into(bytes, &mut out);
    out
}

/// Reverses [`escape`]. Strict: a lone A6/5B, A6/5B followed by anything
/// but 01/02, or a raw A5/5A is an error (an escaper never produces them).
pub fn unescape(bytes: &[u8]) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut iter = bytes.iter();
    while let Some(&b) = iter.next() {
        match b {
            0xA6 | 0x5B => {
                let original = match (b, iter.next()) {
                    (0xA6, Some(0x02)) => 0xA5,
                    (0xA6, Some(0x01)) => 0xA6,
                    (0x5B, Some(0x02)) => 0x5A,
                    (0x5B, Some(0x01)) => 0x5B,
                    _ => return Err(FrameError::BadEscape(b)),
                };
                out.push(original);
            }
            0xA5 | 0x5A => return Err(FrameError::BadEscape(b)),
            _ => out.push(b),
        }
    }
    Ok(out)
}

/// Builds a whole frame around `data`.
pub fn encode(header: &Header, data: &[u8]) -> Result<Vec<u8>, FrameError> {
    if data.len() > DATA_BYTES_MAX {
        return Err(FrameError::TooLong { len: data.len() });
    }
    let mut packet = Vec::with_capacity(HEADER_LEN + data.len() + CRC_LEN);
    packet.extend_from_slice(&header.dst.to_le_bytes());
    packet.extend_from_slice(&header.src.to_le_bytes());
    packet.extend_from_slice(&[0; 6]);
    packet.push(header.device_type);
    packet.push(header.protocol);
    // ≤ DATA_BYTES_MAX, checked above.
    packet.extend_from_slice(&(data.len() as u16).to_le_bytes());
    packet.extend_from_slice(data);
    let crc = crc16_arc(&packet);
    packet.extend_from_slice(&crc.to_le_bytes());

    let mut frame = Vec::with_capacity(PREAMBLE_LEN + packet.len() * 2 + 1);
    frame.extend_from_slice(&[FRAME_START; PREAMBLE_LEN]);
    escape_into(&packet, &mut frame);
    frame.push(FRAME_END);
    Ok(frame)
}

/// Decodes a whole frame: one or more A5, the escaped body, 5A.
pub fn decode(frame: &[u8]) -> Result<Packet, FrameError> {
    let starts = frame.iter().take_while(|&&b| b == FRAME_START).count();
    if starts == 0 || frame.last() != Some(&FRAME_END) || frame.len() < starts + 1 {
        return Err(FrameError::NotDelimited);
    }
    decode_body(&frame[starts..frame.len() - 1])
}

/// Decodes the escaped body between the A5 run and the 5A.
pub fn decode_body(escaped: &[u8]) -> Result<Packet, FrameError> {
    let packet = unescape(escaped)?;
    let need = HEADER_LEN + CRC_LEN;
    if packet.len() < need {
        return Err(FrameError::Truncated {
            len: packet.len(),
            need,
        });
    }
    let data_len = usize::from(u16::from_le_bytes([packet[12], packet[13]]));
    let expected = HEADER_LEN + data_len + CRC_LEN;
    if packet.len() != expected {
        return Err(FrameError::WrongLength {
            len: packet.len(),
            expected,
        });
    }
    let (body, crc) = packet.split_at(packet.len() - CRC_LEN);
    let computed = crc16_arc(body);
    let received = u16::from_le_bytes([crc[0], crc[1]]);
    if computed != received {
        return Err(FrameError::BadCrc { computed, received });
    }
    Ok(Packet {
        header: Header {
            dst: u16::from_le_bytes([body[0], body[1]]),
            src: u16::from_le_bytes([body[2], body[3]]),
            device_type: body[10],
            protocol: body[11],
        },
        data: body[HEADER_LEN..].to_vec(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between frames: bytes other than A5 are noise.
    Idle,
    /// In the A5 run.
    Preamble,
    /// Collecting the escaped body.
    Body,
}

/// Finds frames (A5 … 5A) in a byte stream; either side of the line.
#[derive(Debug, Clone)]
pub struct FrameExtractor {
    state: State,
    body: Vec<u8>,
    garbage: usize,
}

impl Default for FrameExtractor {
    fn default() -> Self {
        FrameExtractor::new()
    }
}

impl FrameExtractor {
    pub fn new() -> FrameExtractor {
        FrameExtractor {
            state: State::Idle,
            body: Vec::new(),
            garbage: 0,
        }
    }

    /// Feeds bytes; returns every frame they complete, decoded, in order.
    /// A frame cut short by a new A5, or overlong, is reported as an error.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<Packet, FrameError>> {
        let mut out = Vec::new();
        for &b in bytes {
            match (self.state, b) {
                (State::Idle, FRAME_START) => self.state = State::Preamble,
                (State::Idle, _) => self.garbage += 1,
                (State::Preamble, FRAME_START) => {}
                (State::Preamble, FRAME_END) => {
                    // An empty frame: noise.
                    self.garbage += 1;
                    self.state = State::Idle;
                }
                (State::Preamble, _) => {
                    self.body.clear();
                    self.body.push(b);
                    self.state = State::Body;
                }
                (State::Body, FRAME_END) => {
                    out.push(decode_body(&self.body));
                    self.body.clear();
                    self.state = State::Idle;
                }
                (State::Body, FRAME_START) => {
                    out.push(Err(FrameError::Interrupted));
                    self.garbage += self.body.len();
                    self.body.clear();
                    self.state = State::Preamble;
                }
                (State::Body, _) => {
                    if self.body.len() >= ESCAPED_BYTES_MAX {
                        out.push(Err(FrameError::Overlong));
                        self.garbage += self.body.len() + 1;
                        self.body.clear();
                        self.state = State::Idle;
                    } else {
                        self.body.push(b);
                    }
                }
            }
        }
        out
    }

    /// Forgets a partial frame.
    pub fn reset(&mut self) {
        self.garbage += self.body.len();
        self.body.clear();
        self.state = State::Idle;
    }

    /// Bytes dropped so far as noise.
    pub fn garbage_bytes(&self) -> usize {
        self.garbage
    }

    /// Whether a frame has started but not ended.
    pub fn in_frame(&self) -> bool {
        self.state != State::Idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_round_trip_and_strictness() {
        let raw = [0x00, 0xA5, 0xA6, 0x5A, 0x5B, 0xFF];
        let esc = escape(&raw);
        assert_eq!(
            esc,
            [0x00, 0xA6, 0x02, 0xA6, 0x01, 0x5B, 0x02, 0x5B, 0x01, 0xFF]
        );
        assert_eq!(unescape(&esc).unwrap(), raw);
        assert_eq!(unescape(&[0xA6]), Err(FrameError::BadEscape(0xA6)));
        assert_eq!(unescape(&[0x5B, 0x03]), Err(FrameError::BadEscape(0x5B)));
        assert_eq!(unescape(&[0x5A]), Err(FrameError::BadEscape(0x5A)));
    }

    #[test]
    fn data_limit() {
        let h = Header::default();
        assert!(encode(&h, &[0; DATA_BYTES_MAX]).is_ok());
        assert_eq!(
            encode(&h, &[0; DATA_BYTES_MAX + 1]),
            Err(FrameError::TooLong {
                len: DATA_BYTES_MAX + 1
            })
        );
    }

    #[test]
    fn extractor_reports_interrupted_and_recovers() {
        let f = encode(&Header::default(), &[0xA2, 0x00, 0x01, 0x00, 0x00]).unwrap();
        let mut stream = vec![0x11, 0x22];
        stream.extend_from_slice(&f[..15]); // cut short
        stream.extend_from_slice(&f);
        let mut x = FrameExtractor::new();
        let got = x.push(&stream);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], Err(FrameError::Interrupted));
        assert_eq!(
            got[1].as_ref().unwrap().data,
            [0xA2, 0x00, 0x01, 0x00, 0x00]
        );
        assert!(!x.in_frame());
    }
}
