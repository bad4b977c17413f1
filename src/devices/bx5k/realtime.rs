//! BX-5K real-time text area: command group 0xA3, command 0x06
//! (发送实时显示区域数据). The text shows at once, is not stored in flash
//! (it is gone after a power cut, so hallq resends it when the controller
//! comes back) and may be updated without limit.
//!
//! Layout of the data field, after the A3 06, reply flag and the two bytes
//! every command carries (multi-byte fields little-endian):
//!
//! | bytes | field | hallq writes |
//! |---|---|---|
//! | 1 | (2-byte field, first) process mode | profile `process_mode`, default 0 |
//! | 1 | (2-byte field, second) reserved | 0 |
//! | 1 | areas to delete | 0 |
//! | 1 | areas to update | 1 |
//! | 2 | length of this area's data (from area type to the end of the text) | 27 + text |
//! | 1 | area type | profile `area.area_type`, 0 |
//! | 2 | X, in units of 8 pixels | `area.x` |
//! | 2 | Y, in pixels | `area.y` |
//! | 2 | width, in units of 8 pixels | `area.width` |
//! | 2 | height, in pixels | `area.height` |
//! | 1 | dynamic area number (0…) | `area.id` |
//! | 1 | line spacing | `area.line_spacing` |
//! | 1 | run mode (0 cycle, 1 stay on the last page, 2 cycle and stop after the timeout…) | `area.run_mode` |
//! | 2 | timeout, seconds | `area.timeout_s` |
//! | 1 | voice (5K1Q-YY/6K-YY only) | 0 |
//! | 1 | extension bytes that follow | 0 |
//! | 1 | alignment (bits 0–1 horizontal: 0 left, 1 right, 2 centre; bits 2–3 vertical: 0 top, 1 bottom, 2 centre) | `area.align` |
//! | 1 | 1 single line, 2 multi-line | `area.multi_line` |
//! | 1 | 1 manual line breaks, 2 automatic | `area.auto_newline` |
//! | 1 | display mode (1 static, 2 quick type, 3 move left, 4 move right, 5 up, 6 down) | `area.display_mode` |
//! | 1 | exit mode | `area.exit_mode` |
//! | 1 | speed (0 fastest … 0x18 slowest) | `area.speed` |
//! | 1 | stay time, 0.5 s units | `area.stay` |
//! | 4 | text length | |
//! | N | text, GB2312 | |
//!
//! Source and status: the layout is the one of the annotated example in the
//! public repository LuckyKoala/BX5KProtocol (`BX5KProtocol/BX4K.c`);
//! `tests/devices_bx5k.rs` rebuilds that example byte for byte, CRC
//! included. The first of the two command bytes carries 0x2D in that
//! example (labelled "ProcessMode", with a commented-out alternative 0x01
//! "overwrite"); Onbon's documents say reserved bytes are sent as 0. Its
//! meaning is not pinned: hallq sends 0 and lets a profile set it.

use serde::{Deserialize, Serialize};

use super::frame::{self, FrameError, Header};
use super::{Command, ReplyMode};

pub const GROUP: u8 = 0xA3;
pub const COMMAND: u8 = 0x06;
/// Bytes of an area's data before the text.
pub const AREA_FIXED_LEN: usize = 27;
/// Bytes before the area data: delete count, update count, area length.
const PREFIX_LEN: usize = 4;
/// Text bytes one real-time frame can carry (the frame's data limit less
/// the five command bytes and the fixed fields).
pub const TEXT_BYTES_MAX: usize = frame::DATA_BYTES_MAX - 5 - PREFIX_LEN - AREA_FIXED_LEN;

fn default_width() -> u16 {
    24
}
fn default_height() -> u16 {
    32
}
fn default_timeout_s() -> u16 {
    2
}
fn yes() -> bool {
    true
}
fn default_display_mode() -> u8 {
    1
}
fn default_speed() -> u8 {
    4
}
fn default_stay() -> u8 {
    5
}

/// Where and how the text area shows (`[onbon-bx5k-text.area]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaConfig {
    #[serde(default)]
    pub area_type: u8,
    /// Left edge, in units of 8 pixels.
    #[serde(default)]
    pub x: u16,
    /// Top edge, in pixels.
    #[serde(default)]
    pub y: u16,
    /// Width, in units of 8 pixels (24 = 192 px).
    #[serde(default = "default_width")]
    pub width: u16,
    /// Height, in pixels.
    #[serde(default = "default_height")]
    pub height: u16,
    /// Dynamic area number, from 0.
    #[serde(default)]
    pub id: u8,
    #[serde(default)]
    pub line_spacing: u8,
    #[serde(default)]
    pub run_mode: u8,
    #[serde(default = "default_timeout_s")]
    pub timeout_s: u16,
    #[serde(default)]
    pub align: u8,
    #[serde(default = "yes")]
    pub multi_line: bool,
    #[serde(default = "yes")]
    pub auto_newline: bool,
    #[serde(default = "default_display_mode")]
    pub display_mode: u8,
    #[serde(default)]
    pub exit_mode: u8,
    #[serde(default = "default_speed")]
    pub speed: u8,
    /// Stay time in 0.5 s units.
    #[serde(default = "default_stay")]
    pub stay: u8,
}

impl Default for AreaConfig {
    fn default() -> Self {
        AreaConfig {
            area_type: 0,
            x: 0,
            y: 0,
            width: default_width(),
            height: default_height(),
            id: 0,
            line_spacing: 0,
            run_mode: 0,
            timeout_s: default_timeout_s(),
            align: 0,
            multi_line: true,
            auto_newline: true,
            display_mode: default_display_mode(),
            exit_mode: 0,
            speed: default_speed(),
            stay: default_stay(),
        }
    }
}

/// The A3/06 command showing `text` (already encoded) in `area`.
pub fn command(
    area: &AreaConfig,
    process_mode: u8,
    reply: ReplyMode,
    text: &[u8],
) -> Result<Command, FrameError> {
    if text.len() > TEXT_BYTES_MAX {
        return Err(FrameError::TooLong {
            len: text.len() + 5 + PREFIX_LEN + AREA_FIXED_LEN,
        });
    }
    let mut p = Vec::with_capacity(PREFIX_LEN + AREA_FIXED_LEN + text.len());
    p.push(0); // areas to delete
    p.push(1); // areas to update
    // ≤ TEXT_BYTES_MAX + 27 < 65536, checked above.
    p.extend_from_slice(&((AREA_FIXED_LEN + text.len()) as u16).to_le_bytes());
    p.push(area.area_type);
    p.extend_from_slice(&area.x.to_le_bytes());
    p.extend_from_slice(&area.y.to_le_bytes());
    p.extend_from_slice(&area.width.to_le_bytes());
    p.extend_from_slice(&area.height.to_le_bytes());
    p.push(area.id);
    p.push(area.line_spacing);
    p.push(area.run_mode);
    p.extend_from_slice(&area.timeout_s.to_le_bytes());
    p.push(0); // no voice
    p.push(0); // no extension bytes
    p.push(area.align);
    p.push(if area.multi_line { 2 } else { 1 });
    p.push(if area.auto_newline { 2 } else { 1 });
    p.push(area.display_mode);
    p.push(area.exit_mode);
    p.push(area.speed);
    p.push(area.stay);
    p.extend_from_slice(&(text.len() as u32).to_le_bytes());
    p.extend_from_slice(text);
    Ok(Command {
        group: GROUP,
        code: COMMAND,
        reply,
        extra: [process_mode, 0],
        payload: p,
    })
}

/// The whole frame showing `text` (already encoded) in `area`.
pub fn frame(
    header: &Header,
    area: &AreaConfig,
    process_mode: u8,
    text: &[u8],
) -> Result<Vec<u8>, FrameError> {
    command(area, process_mode, ReplyMode::Required, text)?.encode(header)
}

/// What a controller (or the simulator) reads from an A3/06 payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextArea {
    pub area_id: u8,
    pub x: u16,
    pub y: u16,
    pub width: u16,
    pub height: u16,
    pub display_mode: u8,
    /// The text bytes as sent (GB2312).
    pub text: Vec<u8>,
}

/// Parses the payload of an A3/06 command that updates one area.
/// `None` when it is not that shape.
pub fn parse_payload(payload: &[u8]) -> Option<TextArea> {
    let (&deletes, rest) = payload.split_first()?;
    let rest = rest.get(usize::from(deletes)..)?;
    let (&updates, rest) = rest.split_first()?;
    if updates != 1 {
        return None;
    }
    let area_len = usize::from(u16::from_le_bytes([*rest.first()?, *rest.get(1)?]));
    let area = rest.get(2..2 + area_len)?;
    if area.len() < AREA_FIXED_LEN {
        return None;
    }
    let le16 = |at: usize| u16::from_le_bytes([area[at], area[at + 1]]);
    let text_len = u32::from_le_bytes([area[23], area[24], area[25], area[26]]) as usize;
    let text = area.get(AREA_FIXED_LEN..AREA_FIXED_LEN.checked_add(text_len)?)?;
    Some(TextArea {
        area_id: area[9],
        x: le16(1),
        y: le16(3),
        width: le16(5),
        height: le16(7),
        display_mode: area[19],
        text: text.to_vec(),
    })
}
