//! A TTS chip (SYN6288 or XFS5152CE) as a pure model: frames in, reply bytes
//! out, time passed in as `now_ms`.
//!
//! - speak: 0x41 at once; 0x4F, unprompted, when the speaking time has
//!   passed (characters heard × `ms_per_char`, at least one character).
//!   A speak frame while the chip is still speaking interrupts it — that is
//!   what the chip does — and is counted as a *cut-off*.
//! - stop: 0x41, and 0x4F at once if it was speaking.
//! - pause / resume: 0x41; the speaking time stands still while paused.
//! - status query: 0x4E while speaking (or paused), 0x4F when idle.
//! - any other command the chip knows: 0x41; a frame that fails its
//!   checksum or carries an unknown text encoding: 0x45.
//!
//! The log holds each text as it is *heard*: the chip's text tags applied
//! (`[n1]` digits one by one, `[n2]` digits as a value, `[n0]` automatic,
//! `[y0]`/`[y1]` 1 read as 幺/一, `[d]` defaults; other tags such as volume
//! are silent), so `[v10]请A[n1][y1]012[n0]号到[n2]12[n0]号窗口办理` is
//! logged as `请A零一二号到十二号窗口办理`. Tags stay in force across
//! frames until changed or the chip is power cycled.

use std::collections::VecDeque;

use crate::devices::speech::chinese_number;
use crate::devices::tts::frame::FrameError;
use crate::devices::tts::split::tag_len;
use crate::devices::tts::{Reply, syn6288, xfs5152};

/// Texts the log keeps (oldest dropped first).
pub const SPOKEN_LOG_MAX: usize = 256;
/// Longest speaking time per character a chip accepts (longer is clamped).
pub const SPEECH_MS_PER_CHAR_MAX: u64 = 60_000;
/// Characters of the text shown while speaking (`shows()`).
pub const SHOWS_CHARS_MAX: usize = 24;
/// Digits read as one value in `[n2]` or automatic mode; longer runs are
/// read digit by digit.
const VALUE_DIGITS_MAX: usize = 9;

/// Which chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChipKind {
    /// XOR-checked frames, 200 bytes of text.
    Syn6288,
    /// No checksum, 4 KB of text.
    Xfs5152,
}

/// One text the chip spoke (or began to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpokenText {
    /// As heard (tags applied).
    pub text: String,
    /// As decoded from the frame, tags included.
    pub raw: String,
    pub started_ms: u64,
    /// Interrupted by the next speak frame (stop and pause are not cut-offs).
    pub cut_off: bool,
}

#[derive(Debug, Clone)]
struct Speech {
    heard: String,
    end_ms: u64,
    /// While paused: the speaking time left.
    paused_left_ms: Option<u64>,
}

/// Number-reading tags in force (defaults: automatic numbers, 1 read as 幺).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tags {
    /// `[n0]` automatic, `[n1]` digit by digit, `[n2]` as a value.
    numbers: u8,
    /// `[y0]` 1 read as 幺, `[y1]` as 一.
    one_as_yi: bool,
}

/// The chip's answer to one frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChipReply {
    pub bytes: Vec<u8>,
    /// The text it began to speak, as heard.
    pub spoke: Option<String>,
}

/// Commands both chips share.
enum ChipCommand {
    /// `None`: an encoding the chip does not know.
    Speak(Option<String>),
    Stop,
    Pause,
    Resume,
    Status,
    Other,
}

#[derive(Debug, Clone)]
pub struct TtsChip {
    kind: ChipKind,
    ms_per_char: u64,
    speaking: Option<Speech>,
    tags: Tags,
    log: VecDeque<SpokenText>,
    cut_offs: u64,
}

impl TtsChip {
    pub fn new(kind: ChipKind, ms_per_char: u64) -> TtsChip {
        TtsChip {
            kind,
            ms_per_char: ms_per_char.min(SPEECH_MS_PER_CHAR_MAX),
            speaking: None,
            tags: Tags::default(),
            log: VecDeque::new(),
            cut_offs: 0,
        }
    }

    pub fn kind(&self) -> ChipKind {
        self.kind
    }

    /// Handles one frame from the extractor (its data, or why it failed).
    pub fn frame(&mut self, frame: Result<Vec<u8>, FrameError>, now_ms: u64) -> ChipReply {
        let mut reply = ChipReply {
            bytes: self.tick(now_ms),
            spoke: None,
        };
        let command = match frame {
            Ok(data) => self.command(&data),
            Err(_) => None,
        };
        let Some(command) = command else {
            reply.bytes.push(Reply::Rejected.byte());
            return reply;
        };
        match command {
            ChipCommand::Speak(None) => reply.bytes.push(Reply::Rejected.byte()),
            ChipCommand::Speak(Some(raw)) => {
                reply.bytes.push(Reply::Accepted.byte());
                if self.speaking.take().is_some() {
                    self.cut_offs += 1;
                    if let Some(last) = self.log.back_mut() {
                        last.cut_off = true;
                    }
                }
                let heard = hear(&raw, &mut self.tags);
                let chars = heard.chars().filter(|c| !c.is_whitespace()).count().max(1);
                let duration = self.ms_per_char.saturating_mul(chars as u64);
                self.speaking = Some(Speech {
                    heard: heard.clone(),
                    end_ms: now_ms.saturating_add(duration),
                    paused_left_ms: None,
                });
                if self.log.len() >= SPOKEN_LOG_MAX {
                    self.log.pop_front();
                }
                self.log.push_back(SpokenText {
                    text: heard.clone(),
                    raw,
                    started_ms: now_ms,
                    cut_off: false,
                });
                reply.spoke = Some(heard);
            }
            ChipCommand::Stop => {
                reply.bytes.push(Reply::Accepted.byte());
                if self.speaking.take().is_some() {
                    reply.bytes.push(Reply::Idle.byte());
                }
            }
            ChipCommand::Pause => {
                reply.bytes.push(Reply::Accepted.byte());
                if let Some(s) = &mut self.speaking
                    && s.paused_left_ms.is_none()
                {
                    s.paused_left_ms = Some(s.end_ms.saturating_sub(now_ms));
                }
            }
            ChipCommand::Resume => {
                reply.bytes.push(Reply::Accepted.byte());
                if let Some(s) = &mut self.speaking
                    && let Some(left) = s.paused_left_ms.take()
                {
                    s.end_ms = now_ms.saturating_add(left);
                }
            }
            ChipCommand::Status => reply.bytes.push(if self.speaking.is_some() {
                Reply::Busy.byte()
            } else {
                Reply::Idle.byte()
            }),
            ChipCommand::Other => reply.bytes.push(Reply::Accepted.byte()),
        }
        reply
    }

    fn command(&self, data: &[u8]) -> Option<ChipCommand> {
        Some(match self.kind {
            ChipKind::Syn6288 => {
                let c = syn6288::Command::from_data(data)?;
                match c {
                    syn6288::Command::Speak { .. } => ChipCommand::Speak(c.text()),
                    syn6288::Command::Stop => ChipCommand::Stop,
                    syn6288::Command::Pause => ChipCommand::Pause,
                    syn6288::Command::Resume => ChipCommand::Resume,
                    syn6288::Command::Status => ChipCommand::Status,
                    syn6288::Command::Other { .. } => ChipCommand::Other,
                }
            }
            ChipKind::Xfs5152 => {
                let c = xfs5152::Command::from_data(data)?;
                match c {
                    xfs5152::Command::Speak { .. } => ChipCommand::Speak(c.text()),
                    xfs5152::Command::Stop => ChipCommand::Stop,
                    xfs5152::Command::Pause => ChipCommand::Pause,
                    xfs5152::Command::Resume => ChipCommand::Resume,
                    xfs5152::Command::Status => ChipCommand::Status,
                    xfs5152::Command::Other { .. } => ChipCommand::Other,
                }
            }
        })
    }

    /// When the current speech ends, if it is running.
    pub fn due_ms(&self) -> Option<u64> {
        self.speaking
            .as_ref()
            .filter(|s| s.paused_left_ms.is_none())
            .map(|s| s.end_ms)
    }

    /// Ends the speech if its time has come: the unprompted 0x4F.
    pub fn tick(&mut self, now_ms: u64) -> Vec<u8> {
        match self.due_ms() {
            Some(end) if end <= now_ms => {
                self.speaking = None;
                vec![Reply::Idle.byte()]
            }
            _ => Vec::new(),
        }
    }

    /// Power lost: speech stops, tags back to defaults. The log stays (it is
    /// the simulator's, not the chip's).
    pub fn power_off(&mut self) {
        self.speaking = None;
        self.tags = Tags::default();
    }

    /// Power back: what the chip sends on start-up (the XFS5152 says 0x4A).
    pub fn power_on(&mut self) -> Vec<u8> {
        self.power_off();
        match self.kind {
            ChipKind::Xfs5152 => vec![Reply::Initialized.byte()],
            ChipKind::Syn6288 => Vec::new(),
        }
    }

    pub fn is_speaking(&self) -> bool {
        self.speaking.is_some()
    }

    /// The text being spoken, as heard.
    pub fn speaking(&self) -> Option<&str> {
        self.speaking.as_ref().map(|s| s.heard.as_str())
    }

    pub fn log(&self) -> impl Iterator<Item = &SpokenText> {
        self.log.iter()
    }

    pub fn cut_offs(&self) -> u64 {
        self.cut_offs
    }

    /// `idle`, `speaking 请A零一二号到十二号窗口办理`, `paused …` (long texts
    /// cut with …).
    pub fn shows(&self) -> String {
        match &self.speaking {
            None => "idle".to_string(),
            Some(s) => {
                let state = if s.paused_left_ms.is_some() {
                    "paused"
                } else {
                    "speaking"
                };
                let mut text: String = s.heard.chars().take(SHOWS_CHARS_MAX).collect();
                if s.heard.chars().count() > SHOWS_CHARS_MAX {
                    text.push('…');
                }
                format!("{state} {text}")
            }
        }
    }
}

/// `raw` as the chip reads it aloud, updating the tags in force.
fn hear(raw: &str, tags: &mut Tags) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        if let Some(n) = tag_len(rest) {
            apply_tag(&rest[1..n - 1], tags);
            rest = &rest[n..];
        } else if c.is_ascii_digit() {
            let run = rest.bytes().take_while(u8::is_ascii_digit).count();
            read_digits(&rest[..run], *tags, &mut out);
            rest = &rest[run..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn apply_tag(tag: &str, tags: &mut Tags) {
    match tag {
        "n0" => tags.numbers = 0,
        "n1" => tags.numbers = 1,
        "n2" => tags.numbers = 2,
        "y0" => tags.one_as_yi = false,
        "y1" => tags.one_as_yi = true,
        "d" => *tags = Tags::default(),
        _ => {}
    }
}

fn read_digits(digits: &str, tags: Tags, out: &mut String) {
    const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    let as_value = match tags.numbers {
        1 => false,
        2 => digits.len() <= VALUE_DIGITS_MAX,
        // Automatic: a plain number is read as a value, a code with a
        // leading zero or a long run digit by digit.
        _ => digits.len() <= 4 && (digits == "0" || !digits.starts_with('0')),
    };
    if as_value && let Ok(n) = digits.parse::<u32>() {
        out.push_str(&chinese_number(n));
        return;
    }
    for d in digits.bytes() {
        let c = match d {
            b'1' if !tags.one_as_yi => '幺',
            _ => DIGITS[usize::from(d - b'0')],
        };
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::encoding::TextEncoding;
    use crate::devices::tts::frame::Checksum;
    use crate::devices::tts::{Reply, frame};

    fn data(frame_bytes: &[u8], kind: ChipKind) -> Result<Vec<u8>, FrameError> {
        let (checksum, max) = match kind {
            ChipKind::Syn6288 => (Checksum::Xor, syn6288::DATA_BYTES_MAX),
            ChipKind::Xfs5152 => (Checksum::None, xfs5152::DATA_BYTES_MAX),
        };
        frame::parse(frame_bytes, checksum, max).map(<[u8]>::to_vec)
    }

    #[test]
    fn hears_the_chip_tags() {
        let mut t = Tags::default();
        assert_eq!(
            hear(
                "[v10][t5]请A[n1][y1]012[n0]号到[n2]12[n0]号窗口办理",
                &mut t
            ),
            "请A零一二号到十二号窗口办理"
        );
        assert_eq!(t.numbers, 0);
        assert!(t.one_as_yi, "tags stay in force");
        let mut t = Tags::default();
        assert_eq!(hear("[n1]110", &mut t), "幺幺零");
        assert_eq!(hear("[d]12号 012 号", &mut t), "十二号 零幺二 号");
        assert_eq!(hear("[x", &mut Tags::default()), "[x");
    }

    #[test]
    fn speak_accept_then_idle_after_the_speaking_time() {
        let mut chip = TtsChip::new(ChipKind::Syn6288, 10);
        let f = syn6288::speak_frames("[n1][y1]A012", TextEncoding::Gbk, 0).unwrap();
        let r = chip.frame(data(&f[0], ChipKind::Syn6288), 1_000);
        assert_eq!(r.bytes, [Reply::Accepted.byte()]);
        assert_eq!(r.spoke.as_deref(), Some("A零一二"));
        assert_eq!(chip.due_ms(), Some(1_040));
        let status = data(&syn6288::status_query(), ChipKind::Syn6288);
        assert_eq!(chip.frame(status.clone(), 1_010).bytes, [0x4E]);
        assert_eq!(chip.shows(), "speaking A零一二");
        assert!(chip.tick(1_039).is_empty());
        assert_eq!(chip.tick(1_040), [0x4F]);
        assert_eq!(chip.frame(status, 1_050).bytes, [0x4F]);
        assert_eq!(chip.shows(), "idle");
        assert_eq!(chip.cut_offs(), 0);
    }

    #[test]
    fn speaking_over_speech_is_a_cut_off() {
        let mut chip = TtsChip::new(ChipKind::Xfs5152, 10);
        let a = xfs5152::speak_frames("请A012号", TextEncoding::Utf16le).unwrap();
        let b = xfs5152::speak_frames("请B003号", TextEncoding::Utf16le).unwrap();
        chip.frame(data(&a[0], ChipKind::Xfs5152), 0);
        chip.frame(data(&b[0], ChipKind::Xfs5152), 5);
        assert_eq!(chip.cut_offs(), 1);
        let log: Vec<(&str, bool)> = chip.log().map(|s| (s.text.as_str(), s.cut_off)).collect();
        assert_eq!(log, [("请A零幺二号", true), ("请B零零三号", false)]);
        // Stop: accepted, then idle at once.
        let stop = chip.frame(data(&xfs5152::stop(), ChipKind::Xfs5152), 6);
        assert_eq!(stop.bytes, [0x41, 0x4F]);
        assert_eq!(chip.due_ms(), None);
        assert_eq!(chip.power_on(), [0x4A]);
    }

    #[test]
    fn pause_freezes_the_clock_and_bad_frames_are_rejected() {
        let mut chip = TtsChip::new(ChipKind::Syn6288, 10);
        let f = syn6288::speak_frames("abcd", TextEncoding::Gbk, 0).unwrap();
        chip.frame(data(&f[0], ChipKind::Syn6288), 0);
        chip.frame(data(&syn6288::pause(), ChipKind::Syn6288), 10);
        assert_eq!(chip.due_ms(), None);
        assert!(chip.tick(1_000).is_empty());
        chip.frame(data(&syn6288::resume(), ChipKind::Syn6288), 1_000);
        assert_eq!(chip.due_ms(), Some(1_030));
        let mut bad = syn6288::status_query();
        bad[4] ^= 1;
        assert_eq!(
            chip.frame(data(&bad, ChipKind::Syn6288), 1_001).bytes,
            [0x45]
        );
        // Encoding 7 does not exist.
        let odd = frame::build(&[0x01, 0x07, b'a'], Checksum::Xor);
        assert_eq!(
            chip.frame(data(&odd, ChipKind::Syn6288), 1_002).bytes,
            [0x45]
        );
    }
}
