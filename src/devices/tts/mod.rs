//! TTS chips on a serial line: SYN6288 and XFS5152CE / SYN6658.
//!
//! Both speak the same framing, `FD LEN_hi LEN_lo CMD [PARAM text] [XOR]`,
//! where LEN counts every byte after itself; the SYN6288 ends each frame
//! with an XOR of every byte before it, the XFS5152 has no checksum. The
//! chips answer with single bytes (see [`Reply`]). They have no address:
//! one chip per port.
//!
//! - `syn6288.rs`, `xfs5152.rs` — each chip's commands, limits and profile;
//! - `frame.rs` — the shared framing and a frame extractor for the chip's
//!   side of the line (the simulator);
//! - `split.rs` — long texts cut into frames that fit, at sentence or
//!   character boundaries, never inside a character or a text tag.

pub mod frame;
pub mod split;
pub mod syn6288;
pub mod xfs5152;

use std::fmt;

use crate::devices::encoding::TextEncoding;
use crate::devices::profile::{Problem, check_template};
use crate::devices::speech;
use crate::devices::template::Template;
use crate::queue::types::WindowNo;

/// One byte a TTS chip sends back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reply {
    /// 0x4A: the chip has started (XFS5152 after power-up).
    Initialized,
    /// 0x41: the frame was received and understood.
    Accepted,
    /// 0x45: the frame was refused (bad frame or command).
    Rejected,
    /// 0x4E: the chip is speaking (answer to a status query).
    Busy,
    /// 0x4F: the chip is idle; also sent unprompted when speech ends.
    Idle,
    /// Anything else (line noise, an unknown firmware's byte).
    Unknown(u8),
}

impl Reply {
    pub fn from_byte(b: u8) -> Reply {
        match b {
            0x4A => Reply::Initialized,
            0x41 => Reply::Accepted,
            0x45 => Reply::Rejected,
            0x4E => Reply::Busy,
            0x4F => Reply::Idle,
            other => Reply::Unknown(other),
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            Reply::Initialized => 0x4A,
            Reply::Accepted => 0x41,
            Reply::Rejected => 0x45,
            Reply::Busy => 0x4E,
            Reply::Idle => 0x4F,
            Reply::Unknown(b) => b,
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Reply::Initialized => "initialized",
            Reply::Accepted => "accepted",
            Reply::Rejected => "rejected",
            Reply::Busy => "busy",
            Reply::Idle => "idle",
            Reply::Unknown(_) => "unknown",
        };
        write!(f, "{name} (0x{:02X})", self.byte())
    }
}

/// Every byte read from a chip, as replies, in order.
pub fn decode_replies(bytes: &[u8]) -> impl Iterator<Item = Reply> + '_ {
    bytes.iter().map(|&b| Reply::from_byte(b))
}

/// Why a TTS frame could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TtsError {
    #[error("{len} bytes of text in one frame; the chip takes at most {max}")]
    TextTooLong { len: usize, max: usize },
    #[error("background music {0}; the chip has 0 (none) to 15")]
    BackgroundMusic(u8),
    #[error("the chip cannot read {0} text")]
    Encoding(&'static str),
}

/// Characters a profile's `voice_tags` may have.
pub const VOICE_TAGS_CHARS_MAX: usize = 64;

/// Whether `tags` is a run of chip text tags such as `[v10][t5]` or
/// `[m3][d]`: each `[`, one or two ASCII letters, up to three digits, `]`.
pub fn is_tag_sequence(tags: &str) -> bool {
    if tags.chars().count() > VOICE_TAGS_CHARS_MAX {
        return false;
    }
    let mut rest = tags;
    while !rest.is_empty() {
        match split::tag_len(rest) {
            Some(n) => rest = &rest[n..],
            None => return false,
        }
    }
    true
}

/// The text a chip speaks for one call: the profile's voice tags (volume,
/// speed…), then the announcement with the chips' number tags.
pub fn announcement_text(
    voice_tags: &str,
    template: &Template,
    ticket: &str,
    window: WindowNo,
) -> String {
    format!(
        "{voice_tags}{}",
        speech::render_for_chip(template, ticket, window)
    )
}

/// Default announcement of the shipped profiles and of a profile that
/// names none.
pub const DEFAULT_ANNOUNCEMENT: &str = "请{ticket}号到{window}号窗口办理";

/// Times a call may be spoken.
pub const REPEAT_MAX: u8 = 5;
/// Bounds of the reply timeout.
pub const REPLY_TIMEOUT_MS_MIN: u32 = 50;
pub const REPLY_TIMEOUT_MS_MAX: u32 = 10_000;
/// Upper bounds of the idle timeout's parts.
pub const IDLE_TIMEOUT_BASE_MS_MAX: u32 = 60_000;
pub const IDLE_TIMEOUT_PER_CHAR_MS_MAX: u32 = 5_000;

/// What both chips' profiles have in common, for their checks.
struct VoiceSettings<'a> {
    chip: &'a str,
    encoding: TextEncoding,
    encoding_supported: bool,
    voice_tags: &'a str,
    announcement: &'a Template,
    repeat: u8,
    reply_timeout_ms: u32,
    idle_timeout_base_ms: u32,
    idle_timeout_per_char_ms: u32,
}

impl VoiceSettings<'_> {
    fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        if !self.encoding_supported {
            p.push(Problem::new(
                "encoding",
                format!("the {} cannot read {}", self.chip, self.encoding.name()),
            ));
        }
        if !is_tag_sequence(self.voice_tags) {
            p.push(Problem::new(
                "voice_tags",
                format!(
                    "chip text tags such as \"[v10][t5]\" (each [, 1–2 letters, up to 3 digits, ]), at most {VOICE_TAGS_CHARS_MAX} characters"
                ),
            ));
        }
        check_template(
            &mut p,
            "announcement",
            self.announcement,
            speech::ANNOUNCEMENT_PLACEHOLDERS,
        );
        if self.repeat == 0 || self.repeat > REPEAT_MAX {
            p.push(Problem::new("repeat", format!("allowed 1–{REPEAT_MAX}")));
        }
        if !(REPLY_TIMEOUT_MS_MIN..=REPLY_TIMEOUT_MS_MAX).contains(&self.reply_timeout_ms) {
            p.push(Problem::new(
                "reply_timeout_ms",
                format!("allowed {REPLY_TIMEOUT_MS_MIN}–{REPLY_TIMEOUT_MS_MAX}"),
            ));
        }
        if self.idle_timeout_base_ms > IDLE_TIMEOUT_BASE_MS_MAX {
            p.push(Problem::new(
                "idle_timeout_base_ms",
                format!("at most {IDLE_TIMEOUT_BASE_MS_MAX}"),
            ));
        }
        if self.idle_timeout_per_char_ms > IDLE_TIMEOUT_PER_CHAR_MS_MAX {
            p.push(Problem::new(
                "idle_timeout_per_char_ms",
                format!("at most {IDLE_TIMEOUT_PER_CHAR_MS_MAX}"),
            ));
        }
        p
    }
}

impl syn6288::Syn6288Profile {
    pub(crate) fn problems(&self) -> Vec<Problem> {
        let mut p = VoiceSettings {
            chip: "SYN6288",
            encoding: self.encoding,
            encoding_supported: syn6288::encoding_code(self.encoding).is_some(),
            voice_tags: &self.voice_tags,
            announcement: &self.announcement,
            repeat: self.repeat,
            reply_timeout_ms: self.reply_timeout_ms,
            idle_timeout_base_ms: self.idle_timeout_base_ms,
            idle_timeout_per_char_ms: self.idle_timeout_per_char_ms,
        }
        .problems();
        if self.background_music > syn6288::BACKGROUND_MUSIC_MAX {
            p.push(Problem::new(
                "background_music",
                format!("0 (none) to {}", syn6288::BACKGROUND_MUSIC_MAX),
            ));
        }
        p
    }
}

impl xfs5152::Xfs5152Profile {
    pub(crate) fn problems(&self) -> Vec<Problem> {
        VoiceSettings {
            chip: "XFS5152",
            encoding: self.encoding,
            encoding_supported: xfs5152::encoding_code(self.encoding).is_some(),
            voice_tags: &self.voice_tags,
            announcement: &self.announcement,
            repeat: self.repeat,
            reply_timeout_ms: self.reply_timeout_ms,
            idle_timeout_base_ms: self.idle_timeout_base_ms,
            idle_timeout_per_char_ms: self.idle_timeout_per_char_ms,
        }
        .problems()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        let got: Vec<Reply> = decode_replies(&[0x41, 0x4F, 0x4E, 0x45, 0x4A, 0x00]).collect();
        assert_eq!(
            got,
            [
                Reply::Accepted,
                Reply::Idle,
                Reply::Busy,
                Reply::Rejected,
                Reply::Initialized,
                Reply::Unknown(0)
            ]
        );
        for b in 0..=255u8 {
            assert_eq!(Reply::from_byte(b).byte(), b);
        }
    }

    #[test]
    fn tag_sequences() {
        assert!(is_tag_sequence(""));
        assert!(is_tag_sequence("[v10][t5]"));
        assert!(is_tag_sequence("[m3][d]"));
        assert!(!is_tag_sequence("[v10"));
        assert!(!is_tag_sequence("v10"));
        assert!(!is_tag_sequence("[v1000]"));
        assert!(!is_tag_sequence("[请]"));
    }

    #[test]
    fn announcement() {
        let t = Template::parse(DEFAULT_ANNOUNCEMENT).unwrap();
        assert_eq!(
            announcement_text("[v10]", &t, "A012", 12),
            "[v10]请A[n1][y1]012[n0]号到[n2]12[n0]号窗口办理"
        );
    }
}
