//! XFS5152CE (iFlytek) and SYN6658 TTS chips: the SYN6288's framing
//! without the XOR byte, `FD LEN_hi LEN_lo CMD PARAM text`, LEN counting
//! CMD…end.
//!
//! | CMD | meaning | PARAM |
//! |---|---|---|
//! | 01 | speak | encoding: 0 GB2312, 1 GBK, 2 BIG5, 3 UTF-16LE |
//! | 02 | stop | — |
//! | 03 | pause | — |
//! | 04 | resume | — |
//! | 21 | status query | — |
//!
//! Vector from DESIGN.md: 科大讯飞 in UTF-16LE =
//! `FD 00 0A 01 03 D1 79 27 59 AF 8B DE 98`. Stop, pause, resume and status
//! (`FD 00 01 02` …) have no vector here; they follow the same framing.
//!
//! Text limit: DESIGN.md says "text up to 4 KB". It is not pinned whether
//! 4 KB bounds the text or the whole data area; hallq keeps the data area
//! (CMD, PARAM and text) within 4096 bytes, so text ≤ 4094 bytes either
//! way. Replies are those of the SYN6288 plus 0x4A (initialised).

use serde::{Deserialize, Serialize};

use super::frame::{self, Checksum, FrameError, FrameExtractor};
use super::split::split_encoded;
use super::syn6288::{
    default_idle_timeout_base_ms, default_idle_timeout_per_char_ms, default_repeat,
    default_reply_timeout_ms,
};
use super::{DEFAULT_ANNOUNCEMENT, TtsError};
use crate::devices::encoding::TextEncoding;
use crate::devices::template::Template;
use crate::queue::types::WindowNo;

/// Bytes of data (CMD, PARAM, text) one frame may carry.
pub const DATA_BYTES_MAX: usize = 4096;
/// Bytes of text one frame may carry.
pub const TEXT_BYTES_MAX: usize = DATA_BYTES_MAX - 2;

pub const CMD_SPEAK: u8 = 0x01;
pub const CMD_STOP: u8 = 0x02;
pub const CMD_PAUSE: u8 = 0x03;
pub const CMD_RESUME: u8 = 0x04;
pub const CMD_STATUS: u8 = 0x21;

/// The PARAM code of an encoding, if the chip reads it.
pub fn encoding_code(encoding: TextEncoding) -> Option<u8> {
    match encoding {
        TextEncoding::Gb2312 => Some(0),
        TextEncoding::Gbk => Some(1),
        TextEncoding::Big5 => Some(2),
        TextEncoding::Utf16le => Some(3),
        TextEncoding::Utf16be => None,
    }
}

/// One speak frame for already encoded text.
pub fn speak_frame(text: &[u8], encoding: TextEncoding) -> Result<Vec<u8>, TtsError> {
    if text.len() > TEXT_BYTES_MAX {
        return Err(TtsError::TextTooLong {
            len: text.len(),
            max: TEXT_BYTES_MAX,
        });
    }
    let code = encoding_code(encoding).ok_or(TtsError::Encoding(encoding.name()))?;
    let mut data = Vec::with_capacity(2 + text.len());
    data.push(CMD_SPEAK);
    data.push(code);
    data.extend_from_slice(text);
    Ok(frame::build(&data, Checksum::None))
}

/// Speak frames for `text` of any length, cut at sentence or character
/// boundaries.
pub fn speak_frames(text: &str, encoding: TextEncoding) -> Result<Vec<Vec<u8>>, TtsError> {
    split_encoded(text, encoding, TEXT_BYTES_MAX)
        .iter()
        .map(|piece| speak_frame(piece, encoding))
        .collect()
}

/// `FD 00 01 02`.
pub fn stop() -> Vec<u8> {
    frame::build(&[CMD_STOP], Checksum::None)
}

/// `FD 00 01 03`.
pub fn pause() -> Vec<u8> {
    frame::build(&[CMD_PAUSE], Checksum::None)
}

/// `FD 00 01 04`.
pub fn resume() -> Vec<u8> {
    frame::build(&[CMD_RESUME], Checksum::None)
}

/// `FD 00 01 21`.
pub fn status_query() -> Vec<u8> {
    frame::build(&[CMD_STATUS], Checksum::None)
}

/// A command as the chip understands it (the simulator's side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Speak { encoding: u8, text: Vec<u8> },
    Stop,
    Pause,
    Resume,
    Status,
    Other { command: u8, data: Vec<u8> },
}

impl Command {
    pub fn from_data(data: &[u8]) -> Option<Command> {
        let (&command, rest) = data.split_first()?;
        Some(match command {
            CMD_SPEAK => {
                let (&encoding, text) = rest.split_first()?;
                Command::Speak {
                    encoding,
                    text: text.to_vec(),
                }
            }
            CMD_STOP => Command::Stop,
            CMD_PAUSE => Command::Pause,
            CMD_RESUME => Command::Resume,
            CMD_STATUS => Command::Status,
            other => Command::Other {
                command: other,
                data: rest.to_vec(),
            },
        })
    }

    pub fn text(&self) -> Option<String> {
        match self {
            Command::Speak { encoding, text } => {
                let enc = match encoding {
                    0 => TextEncoding::Gb2312,
                    1 => TextEncoding::Gbk,
                    2 => TextEncoding::Big5,
                    3 => TextEncoding::Utf16le,
                    _ => return None,
                };
                Some(enc.decode_lossy(text))
            }
            _ => None,
        }
    }
}

fn known_command(c: u8) -> bool {
    matches!(
        c,
        CMD_SPEAK | CMD_STOP | CMD_PAUSE | CMD_RESUME | CMD_STATUS | 0x88 | 0xFF
    )
}

/// Decodes one whole frame as the chip would.
pub fn decode_frame(bytes: &[u8]) -> Result<Command, FrameError> {
    let data = frame::parse(bytes, Checksum::None, DATA_BYTES_MAX)?;
    Command::from_data(data).ok_or(FrameError::Truncated {
        len: bytes.len(),
        need: 5,
    })
}

/// A frame extractor for the chip's side of the line. Without a checksum,
/// noise that looks like a frame start can hold it until [`FrameExtractor::reset`].
pub fn frame_extractor() -> FrameExtractor {
    FrameExtractor::new(Checksum::None, DATA_BYTES_MAX, known_command)
}

fn default_encoding() -> TextEncoding {
    TextEncoding::Utf16le
}
fn default_voice_tags() -> String {
    "[v8][s5]".to_string()
}
fn default_announcement() -> Template {
    Template::parse(DEFAULT_ANNOUNCEMENT).expect("the default announcement parses")
}

/// Profile parameters of an XFS5152CE / SYN6658 (`[xfs5152]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Xfs5152Profile {
    /// gb2312, gbk, big5 or utf16le.
    #[serde(default = "default_encoding")]
    pub encoding: TextEncoding,
    /// Tags put before every announcement: XFS5152 `[v0]`–`[v10]` volume,
    /// `[s0]`–`[s10]` speed, `[t0]`–`[t10]` pitch, `[m3]`… voice.
    #[serde(default = "default_voice_tags")]
    pub voice_tags: String,
    #[serde(default = "default_announcement")]
    pub announcement: Template,
    #[serde(default = "default_repeat")]
    pub repeat: u8,
    #[serde(default = "default_reply_timeout_ms")]
    pub reply_timeout_ms: u32,
    #[serde(default = "default_idle_timeout_base_ms")]
    pub idle_timeout_base_ms: u32,
    #[serde(default = "default_idle_timeout_per_char_ms")]
    pub idle_timeout_per_char_ms: u32,
}

impl Default for Xfs5152Profile {
    fn default() -> Self {
        Xfs5152Profile {
            encoding: default_encoding(),
            voice_tags: default_voice_tags(),
            announcement: default_announcement(),
            repeat: default_repeat(),
            reply_timeout_ms: default_reply_timeout_ms(),
            idle_timeout_base_ms: default_idle_timeout_base_ms(),
            idle_timeout_per_char_ms: default_idle_timeout_per_char_ms(),
        }
    }
}

impl Xfs5152Profile {
    pub fn announcement_text(&self, ticket: &str, window: WindowNo) -> String {
        super::announcement_text(&self.voice_tags, &self.announcement, ticket, window)
    }

    pub fn announcement_frames(
        &self,
        ticket: &str,
        window: WindowNo,
    ) -> Result<Vec<Vec<u8>>, TtsError> {
        speak_frames(&self.announcement_text(ticket, window), self.encoding)
    }

    pub fn idle_timeout_ms(&self, chars: usize) -> u64 {
        u64::from(self.idle_timeout_base_ms)
            + u64::from(self.idle_timeout_per_char_ms) * chars as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_vector() {
        let (text, _) = TextEncoding::Utf16le.encode_lossy("科大讯飞", '?');
        assert_eq!(
            speak_frame(&text, TextEncoding::Utf16le).unwrap(),
            [
                0xFD, 0x00, 0x0A, 0x01, 0x03, 0xD1, 0x79, 0x27, 0x59, 0xAF, 0x8B, 0xDE, 0x98
            ]
        );
        assert_eq!(stop(), [0xFD, 0x00, 0x01, 0x02]);
        assert_eq!(status_query(), [0xFD, 0x00, 0x01, 0x21]);
    }

    #[test]
    fn limits_and_round_trip() {
        assert!(speak_frame(&[0x20; TEXT_BYTES_MAX], TextEncoding::Gbk).is_ok());
        assert!(speak_frame(&[0x20; TEXT_BYTES_MAX + 1], TextEncoding::Gbk).is_err());
        assert!(speak_frame(b"a", TextEncoding::Utf16be).is_err());
        let frames = speak_frames("科大讯飞😀", TextEncoding::Utf16le).unwrap();
        assert_eq!(
            decode_frame(&frames[0]).unwrap().text().unwrap(),
            "科大讯飞😀"
        );
        let long = "一二三四五六七八九十，".repeat(500);
        let frames = speak_frames(&long, TextEncoding::Utf16le).unwrap();
        assert!(frames.len() >= 3);
        let spoken: String = frames
            .iter()
            .map(|f| decode_frame(f).unwrap().text().unwrap())
            .collect();
        assert_eq!(spoken, long);
    }
}
