//! The framing both TTS chips share: `FD LEN_hi LEN_lo data… [XOR]`.
//!
//! LEN (big-endian) counts every byte after itself: the data (command,
//! parameter, text) plus, on the SYN6288, the XOR byte, which is the XOR of
//! every byte before it, 0xFD and LEN included.
//!
//! [`FrameExtractor`] is the chip's side of the line (the simulator): it
//! finds frames in a byte stream that may hold noise and partial frames.

/// First byte of every frame.
pub const FRAME_HEAD: u8 = 0xFD;

/// Whether frames end with an XOR byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// SYN6288.
    Xor,
    /// XFS5152 / SYN6658.
    None,
}

impl Checksum {
    fn len(self) -> usize {
        match self {
            Checksum::Xor => 1,
            Checksum::None => 0,
        }
    }
}

/// XOR of all bytes.
pub fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// Builds a frame around `data` (command, parameter, text). Callers bound
/// `data` by the chip's limit, far below LEN's 65535.
pub fn build(data: &[u8], checksum: Checksum) -> Vec<u8> {
    let len = data.len() + checksum.len();
    debug_assert!(len <= usize::from(u16::MAX));
    let mut frame = Vec::with_capacity(3 + len);
    frame.push(FRAME_HEAD);
    frame.extend_from_slice(&(len as u16).to_be_bytes());
    frame.extend_from_slice(data);
    if checksum == Checksum::Xor {
        frame.push(xor(&frame));
    }
    frame
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("a frame must start with 0xFD")]
    NoHead,
    #[error("frame of {len} bytes is too short (at least {need} needed)")]
    Truncated { len: usize, need: usize },
    #[error("frame of {len} bytes, its length field says {expected}")]
    WrongLength { len: usize, expected: usize },
    #[error("length field {0} is out of range for this chip")]
    LengthOutOfRange(usize),
    #[error("bad XOR: computed 0x{computed:02X}, received 0x{received:02X}")]
    BadChecksum { computed: u8, received: u8 },
}

/// Checks one whole frame and returns its data (command, parameter, text),
/// without the checksum. `data_max` is the chip's limit on the data.
pub fn parse(frame: &[u8], checksum: Checksum, data_max: usize) -> Result<&[u8], FrameError> {
    if frame.first() != Some(&FRAME_HEAD) {
        return Err(FrameError::NoHead);
    }
    let need = 4 + checksum.len();
    let (Some(&hi), Some(&lo)) = (frame.get(1), frame.get(2)) else {
        return Err(FrameError::Truncated {
            len: frame.len(),
            need,
        });
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if len < 1 + checksum.len() || len > data_max + checksum.len() {
        return Err(FrameError::LengthOutOfRange(len));
    }
    if frame.len() != 3 + len {
        return Err(FrameError::WrongLength {
            len: frame.len(),
            expected: 3 + len,
        });
    }
    match checksum {
        Checksum::None => Ok(&frame[3..]),
        Checksum::Xor => {
            let (body, last) = frame.split_at(frame.len() - 1);
            let computed = xor(body);
            if computed != last[0] {
                return Err(FrameError::BadChecksum {
                    computed,
                    received: last[0],
                });
            }
            Ok(&body[3..])
        }
    }
}

/// Finds frames in the bytes a chip receives.
#[derive(Debug, Clone)]
pub struct FrameExtractor {
    checksum: Checksum,
    data_max: usize,
    known_command: fn(u8) -> bool,
    buf: Vec<u8>,
    garbage: usize,
}

impl FrameExtractor {
    /// `known_command` tells plausible frame starts from noise that happens
    /// to contain 0xFD.
    pub fn new(checksum: Checksum, data_max: usize, known_command: fn(u8) -> bool) -> Self {
        FrameExtractor {
            checksum,
            data_max,
            known_command,
            buf: Vec::new(),
            garbage: 0,
        }
    }

    /// Feeds bytes; returns the data of every frame they complete (`Err`
    /// for a plausible frame with a bad checksum, which a chip answers with
    /// 0x45).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<Vec<u8>, FrameError>> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut at = 0;
        let mut keep_from = None;
        let mut frame_bytes = 0;
        while at < self.buf.len() {
            let rest = &self.buf[at..];
            if rest[0] != FRAME_HEAD {
                at += 1;
                continue;
            }
            let (Some(&hi), Some(&lo), Some(&command)) = (rest.get(1), rest.get(2), rest.get(3))
            else {
                keep_from = Some(at);
                break;
            };
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            let plausible = len > self.checksum.len()
                && len <= self.data_max + self.checksum.len()
                && (self.known_command)(command);
            if !plausible {
                at += 1;
                continue;
            }
            let Some(frame) = rest.get(..3 + len) else {
                keep_from = Some(at);
                break;
            };
            match parse(frame, self.checksum, self.data_max) {
                Ok(data) => {
                    out.push(Ok(data.to_vec()));
                    at += 3 + len;
                    frame_bytes += 3 + len;
                }
                Err(e) => {
                    out.push(Err(e));
                    at += 1;
                }
            }
        }
        let keep_from = keep_from.unwrap_or(self.buf.len());
        self.garbage += keep_from - frame_bytes;
        self.buf.drain(..keep_from);
        out
    }

    /// Forgets a partial frame (after a silence on the line).
    pub fn reset(&mut self) {
        self.garbage += self.buf.len();
        self.buf.clear();
    }

    /// Bytes dropped so far as not being part of a frame.
    pub fn garbage_bytes(&self) -> usize {
        self.garbage
    }

    /// Bytes held for a frame not yet complete.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xor_framing() {
        let f = build(&[0x02], Checksum::Xor);
        assert_eq!(f, [0xFD, 0x00, 0x02, 0x02, 0xFD]);
        assert_eq!(parse(&f, Checksum::Xor, 202), Ok(&[0x02][..]));
        let mut bad = f.clone();
        bad[3] = 0x03;
        assert!(matches!(
            parse(&bad, Checksum::Xor, 202),
            Err(FrameError::BadChecksum { .. })
        ));
        assert_eq!(build(&[0x02], Checksum::None), [0xFD, 0x00, 0x01, 0x02]);
    }

    #[test]
    fn extractor_with_noise_and_split() {
        let a = build(&[0x01, 0x00, b'h', b'i'], Checksum::Xor);
        let b = build(&[0x21], Checksum::Xor);
        let mut stream = vec![0x00, 0xFD, 0xFF, 0xFF, 0x13];
        stream.extend_from_slice(&a);
        stream.extend_from_slice(&b);
        let mut x = FrameExtractor::new(Checksum::Xor, 202, |c| matches!(c, 0x01 | 0x02 | 0x21));
        let mut got = Vec::new();
        for piece in stream.chunks(2) {
            got.extend(x.push(piece));
        }
        assert_eq!(got, vec![Ok(vec![0x01, 0x00, b'h', b'i']), Ok(vec![0x21])]);
        assert_eq!(x.buffered(), 0);
    }
}
