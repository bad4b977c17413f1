//! SYN6288 TTS chip (datasheet rev. 2016-03-09), 9600 8N1.
//!
//! Frame `FD LEN_hi LEN_lo CMD PARAM text XOR` (see `frame.rs`), text at
//! most 200 bytes. Commands:
//!
//! | CMD | meaning | PARAM |
//! |---|---|---|
//! | 01 | speak | low 3 bits: encoding (0 GB2312, 1 GBK, 2 BIG5, 3 UTF-16BE); high 5 bits: background music (0 none) |
//! | 02 | stop | — |
//! | 03 | pause | — |
//! | 04 | resume | — |
//! | 21 | status query | — |
//!
//! Vectors from DESIGN.md: speak 宇音天下 in GB2312 =
//! `FD 00 0B 01 00 D3 EE D2 F4 CC EC CF C2 C1`; stop `FD 00 02 02 FD`;
//! status `FD 00 02 21 DE`. Pause and resume (03, 04) have no vector
//! from the datasheet here; they follow the same framing.
//!
//! The chip answers 0x41 on a good frame, 0x45 on a bad one, 0x4E/0x4F to a
//! status query, and sends 0x4F unprompted when it finishes speaking: the
//! bus sends the next text only after that idle byte (or a timeout).

use serde::{Deserialize, Serialize};

use super::frame::{self, Checksum, FrameError, FrameExtractor};
use super::split::split_encoded;
use super::{DEFAULT_ANNOUNCEMENT, TtsError};
use crate::devices::encoding::TextEncoding;
use crate::devices::template::Template;
use crate::queue::types::WindowNo;

/// Bytes of text one frame may carry.
pub const TEXT_BYTES_MAX: usize = 200;
/// Bytes of data (CMD, PARAM, text) one frame may carry.
pub const DATA_BYTES_MAX: usize = 2 + TEXT_BYTES_MAX;
/// Highest background music number (the chip has 15 tunes; 0 = none).
pub const BACKGROUND_MUSIC_MAX: u8 = 15;

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
        TextEncoding::Utf16be => Some(3),
        TextEncoding::Utf16le => None,
    }
}

/// One speak frame for already encoded text (at most 200 bytes).
pub fn speak_frame(
    text: &[u8],
    encoding: TextEncoding,
    background_music: u8,
) -> Result<Vec<u8>, TtsError> {
    if text.len() > TEXT_BYTES_MAX {
        return Err(TtsError::TextTooLong {
            len: text.len(),
            max: TEXT_BYTES_MAX,
        });
    }
    if background_music > BACKGROUND_MUSIC_MAX {
        return Err(TtsError::BackgroundMusic(background_music));
    }
    let code = encoding_code(encoding).ok_or(TtsError::Encoding(encoding.name()))?;
    let mut data = Vec::with_capacity(2 + text.len());
    data.push(CMD_SPEAK);
    data.push((background_music << 3) | code);
    data.extend_from_slice(text);
    Ok(frame::build(&data, Checksum::Xor))
}

/// Speak frames for `text` of any length: encoded, then cut at sentence or
/// character boundaries into frames of at most 200 bytes of text each.
pub fn speak_frames(
    text: &str,
    encoding: TextEncoding,
    background_music: u8,
) -> Result<Vec<Vec<u8>>, TtsError> {
    split_encoded(text, encoding, TEXT_BYTES_MAX)
        .iter()
        .map(|piece| speak_frame(piece, encoding, background_music))
        .collect()
}

/// `FD 00 02 02 FD`.
pub fn stop() -> Vec<u8> {
    frame::build(&[CMD_STOP], Checksum::Xor)
}

/// `FD 00 02 03 FC`.
pub fn pause() -> Vec<u8> {
    frame::build(&[CMD_PAUSE], Checksum::Xor)
}

/// `FD 00 02 04 FB`.
pub fn resume() -> Vec<u8> {
    frame::build(&[CMD_RESUME], Checksum::Xor)
}

/// `FD 00 02 21 DE`.
pub fn status_query() -> Vec<u8> {
    frame::build(&[CMD_STATUS], Checksum::Xor)
}

/// A command as the chip understands it (the simulator's side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Speak {
        /// PARAM's low 3 bits (0–3 defined).
        encoding: u8,
        /// PARAM's high 5 bits.
        background_music: u8,
        text: Vec<u8>,
    },
    Stop,
    Pause,
    Resume,
    Status,
    /// A command this module does not model (the chip answers 0x45).
    Other {
        command: u8,
        data: Vec<u8>,
    },
}

impl Command {
    /// `data` is a frame's data as [`frame::parse`] returns it.
    pub fn from_data(data: &[u8]) -> Option<Command> {
        let (&command, rest) = data.split_first()?;
        Some(match command {
            CMD_SPEAK => {
                let (&param, text) = rest.split_first()?;
                Command::Speak {
                    encoding: param & 0x07,
                    background_music: param >> 3,
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

    /// The text of a speak command, decoded as its PARAM says.
    pub fn text(&self) -> Option<String> {
        match self {
            Command::Speak { encoding, text, .. } => {
                let enc = match encoding {
                    0 => TextEncoding::Gb2312,
                    1 => TextEncoding::Gbk,
                    2 => TextEncoding::Big5,
                    3 => TextEncoding::Utf16be,
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
        CMD_SPEAK | CMD_STOP | CMD_PAUSE | CMD_RESUME | CMD_STATUS | 0x31 | 0x88 | 0xFF
    )
}

/// Decodes one whole frame as the chip would.
pub fn decode_frame(bytes: &[u8]) -> Result<Command, FrameError> {
    let data = frame::parse(bytes, Checksum::Xor, DATA_BYTES_MAX)?;
    Command::from_data(data).ok_or(FrameError::Truncated {
        len: bytes.len(),
        need: 6,
    })
}

/// A frame extractor for the chip's side of the line.
pub fn frame_extractor() -> FrameExtractor {
    FrameExtractor::new(Checksum::Xor, DATA_BYTES_MAX, known_command)
}

fn default_encoding() -> TextEncoding {
    TextEncoding::Gbk
}
fn default_voice_tags() -> String {
    "[v10][t5]".to_string()
}
fn default_announcement() -> Template {
    Template::parse(DEFAULT_ANNOUNCEMENT).expect("the default announcement parses")
}
pub(crate) fn default_repeat() -> u8 {
    2
}
pub(crate) fn default_reply_timeout_ms() -> u32 {
    500
}
pub(crate) fn default_idle_timeout_base_ms() -> u32 {
    2_000
}
pub(crate) fn default_idle_timeout_per_char_ms() -> u32 {
    400
}

/// Profile parameters of a SYN6288 (`[syn6288]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Syn6288Profile {
    /// gb2312, gbk, big5 or utf16be.
    #[serde(default = "default_encoding")]
    pub encoding: TextEncoding,
    /// 0 none, 1–15 one of the chip's tunes under the voice.
    #[serde(default)]
    pub background_music: u8,
    /// Tags put before every announcement: SYN6288 `[v0]`–`[v16]` volume,
    /// `[t0]`–`[t5]` speed, `[m0]`–`[m16]` music volume.
    #[serde(default = "default_voice_tags")]
    pub voice_tags: String,
    /// What a call says; `{ticket}` and `{window}`.
    #[serde(default = "default_announcement")]
    pub announcement: Template,
    /// How many times each call is spoken.
    #[serde(default = "default_repeat")]
    pub repeat: u8,
    /// How long to wait for the 0x41 that acknowledges a frame.
    #[serde(default = "default_reply_timeout_ms")]
    pub reply_timeout_ms: u32,
    /// How long to wait for the 0x4F that ends speech: base plus per
    /// character spoken, after which the chip is taken as idle (and the
    /// silence counted).
    #[serde(default = "default_idle_timeout_base_ms")]
    pub idle_timeout_base_ms: u32,
    #[serde(default = "default_idle_timeout_per_char_ms")]
    pub idle_timeout_per_char_ms: u32,
}

impl Default for Syn6288Profile {
    fn default() -> Self {
        Syn6288Profile {
            encoding: default_encoding(),
            background_music: 0,
            voice_tags: default_voice_tags(),
            announcement: default_announcement(),
            repeat: default_repeat(),
            reply_timeout_ms: default_reply_timeout_ms(),
            idle_timeout_base_ms: default_idle_timeout_base_ms(),
            idle_timeout_per_char_ms: default_idle_timeout_per_char_ms(),
        }
    }
}

impl Syn6288Profile {
    /// The text spoken for a call (voice tags and number tags included).
    pub fn announcement_text(&self, ticket: &str, window: WindowNo) -> String {
        super::announcement_text(&self.voice_tags, &self.announcement, ticket, window)
    }

    /// The frames that speak one call once.
    pub fn announcement_frames(
        &self,
        ticket: &str,
        window: WindowNo,
    ) -> Result<Vec<Vec<u8>>, TtsError> {
        speak_frames(
            &self.announcement_text(ticket, window),
            self.encoding,
            self.background_music,
        )
    }

    /// How long to wait for the idle byte after a text of `chars` characters.
    pub fn idle_timeout_ms(&self, chars: usize) -> u64 {
        u64::from(self.idle_timeout_base_ms)
            + u64::from(self.idle_timeout_per_char_ms) * chars as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_vectors() {
        let (text, _) = TextEncoding::Gb2312.encode_lossy("宇音天下", '?');
        assert_eq!(
            speak_frame(&text, TextEncoding::Gb2312, 0).unwrap(),
            [
                0xFD, 0x00, 0x0B, 0x01, 0x00, 0xD3, 0xEE, 0xD2, 0xF4, 0xCC, 0xEC, 0xCF, 0xC2, 0xC1
            ]
        );
        assert_eq!(stop(), [0xFD, 0x00, 0x02, 0x02, 0xFD]);
        assert_eq!(status_query(), [0xFD, 0x00, 0x02, 0x21, 0xDE]);
        assert_eq!(pause(), [0xFD, 0x00, 0x02, 0x03, 0xFC]);
        assert_eq!(resume(), [0xFD, 0x00, 0x02, 0x04, 0xFB]);
    }

    #[test]
    fn param_bits() {
        let f = speak_frame(b"a", TextEncoding::Utf16be, 15).unwrap();
        assert_eq!(f[4], (15 << 3) | 3);
        assert_eq!(
            speak_frame(b"a", TextEncoding::Gbk, 16),
            Err(TtsError::BackgroundMusic(16))
        );
        assert_eq!(
            speak_frame(b"a", TextEncoding::Utf16le, 0),
            Err(TtsError::Encoding("utf16le"))
        );
        assert!(speak_frame(&[b'a'; 200], TextEncoding::Gbk, 0).is_ok());
        assert!(speak_frame(&[b'a'; 201], TextEncoding::Gbk, 0).is_err());
    }

    #[test]
    fn decode_round_trip() {
        let frames = speak_frames("请A012号", TextEncoding::Gb2312, 2).unwrap();
        assert_eq!(frames.len(), 1);
        let cmd = decode_frame(&frames[0]).unwrap();
        assert_eq!(cmd.text().as_deref(), Some("请A012号"));
        assert_eq!(decode_frame(&stop()), Ok(Command::Stop));
        assert_eq!(decode_frame(&status_query()), Ok(Command::Status));
    }

    #[test]
    fn long_text_is_split_into_frames_that_fit() {
        let text = "请A012号到12号窗口办理。".repeat(20);
        let frames = speak_frames(&text, TextEncoding::Gbk, 0).unwrap();
        assert!(frames.len() > 1);
        let mut spoken = String::new();
        for f in &frames {
            assert!(f.len() <= 3 + DATA_BYTES_MAX + 1);
            spoken.push_str(&decode_frame(f).unwrap().text().unwrap());
        }
        assert_eq!(spoken, text);
    }
}
