//! Text in holding registers.
//!
//! DESIGN.md §5: one UTF-16 code unit per register, zero padded to the
//! field's width. Some indicator models instead pack GB2312 bytes two per
//! register (high byte first); a profile chooses with `text_encoding`.
//!
//! Text that does not fit is cut at the last whole character that fits: a
//! surrogate pair (an emoji, a rare hanzi outside the BMP) or a GB2312
//! double byte is never split. U+0000 would end the text early on the
//! device, so it is written as a space.

use serde::{Deserialize, Serialize};

use crate::devices::encoding::TextEncoding;

/// How text is laid out in registers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterText {
    /// One UTF-16 code unit per register (DESIGN.md §5).
    #[default]
    Utf16,
    /// GB2312 bytes, two per register, high byte first; a character the
    /// encoding lacks is shown as `?`.
    Gb2312,
}

/// `text` as exactly `width` registers.
pub fn encode(text: &str, width: usize, layout: RegisterText) -> Vec<u16> {
    match layout {
        RegisterText::Utf16 => encode_utf16(text, width),
        RegisterText::Gb2312 => encode_gb2312(text, width),
    }
}

/// The text in `registers`, up to the first zero (unit or byte).
pub fn decode(registers: &[u16], layout: RegisterText) -> String {
    match layout {
        RegisterText::Utf16 => {
            let end = registers
                .iter()
                .position(|&u| u == 0)
                .unwrap_or(registers.len());
            String::from_utf16_lossy(&registers[..end])
        }
        RegisterText::Gb2312 => {
            let bytes: Vec<u8> = registers
                .iter()
                .flat_map(|r| r.to_be_bytes())
                .take_while(|&b| b != 0)
                .collect();
            TextEncoding::Gb2312.decode_lossy(&bytes)
        }
    }
}

/// The longest prefix of `text` whose characters fit in `width` registers.
pub fn fitting_prefix(text: &str, width: usize, layout: RegisterText) -> &str {
    let mut used = 0;
    let mut scratch = Vec::with_capacity(4);
    for (at, c) in text.char_indices() {
        let cost = match layout {
            RegisterText::Utf16 => c.len_utf16(),
            RegisterText::Gb2312 => {
                scratch.clear();
                if !TextEncoding::Gb2312.encode_char(c, &mut scratch) {
                    scratch.push(b'?');
                }
                scratch.len()
            }
        };
        // Units for UTF-16, bytes (two per register) for GB2312.
        let capacity = match layout {
            RegisterText::Utf16 => width,
            RegisterText::Gb2312 => width.saturating_mul(2),
        };
        if used + cost > capacity {
            return &text[..at];
        }
        used += cost;
    }
    text
}

fn encode_utf16(text: &str, width: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(width);
    let mut units = [0u16; 2];
    for c in text.chars() {
        let c = if c == '\0' { ' ' } else { c };
        let encoded = c.encode_utf16(&mut units);
        if out.len() + encoded.len() > width {
            break;
        }
        out.extend_from_slice(encoded);
    }
    out.resize(width, 0);
    out
}

fn encode_gb2312(text: &str, width: usize) -> Vec<u16> {
    let capacity = width.saturating_mul(2);
    let mut bytes = Vec::with_capacity(capacity);
    let mut one = Vec::with_capacity(2);
    for c in text.chars() {
        let c = if c == '\0' { ' ' } else { c };
        one.clear();
        if !TextEncoding::Gb2312.encode_char(c, &mut one) {
            one.push(b'?');
        }
        if bytes.len() + one.len() > capacity {
            break;
        }
        bytes.extend_from_slice(&one);
    }
    bytes.resize(capacity, 0);
    bytes
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_pads_and_truncates_safely() {
        assert_eq!(
            encode("A012", 8, RegisterText::Utf16),
            [0x41, 0x30, 0x31, 0x32, 0, 0, 0, 0]
        );
        assert_eq!(
            encode("请到12号窗口", 4, RegisterText::Utf16),
            [0x8BF7, 0x5230, 0x31, 0x32]
        );
        // 😀 needs two units; with one left it is dropped, not split.
        assert_eq!(encode("ab😀", 3, RegisterText::Utf16), [0x61, 0x62, 0]);
        assert_eq!(
            encode("ab😀", 4, RegisterText::Utf16),
            [0x61, 0x62, 0xD83D, 0xDE00]
        );
        assert_eq!(encode("a\0b", 3, RegisterText::Utf16), [0x61, 0x20, 0x62]);
        assert_eq!(encode("x", 0, RegisterText::Utf16), Vec::<u16>::new());
    }

    #[test]
    fn gb2312_packs_two_bytes_per_register() {
        // 请 = C7 EB, A = 41, 1 = 31
        assert_eq!(
            encode("请A1", 3, RegisterText::Gb2312),
            [0xC7EB, 0x4131, 0x0000]
        );
        // 3 bytes of room after "A": 请 (2) fits, 到 does not.
        assert_eq!(encode("A请到", 2, RegisterText::Gb2312), [0x41C7, 0xEB00]);
        assert_eq!(decode(&[0x41C7, 0xEB00], RegisterText::Gb2312), "A请");
        assert_eq!(fitting_prefix("A请到", 2, RegisterText::Gb2312), "A请");
    }

    #[test]
    fn decode_stops_at_zero() {
        assert_eq!(decode(&[0x41, 0x42, 0, 0x43], RegisterText::Utf16), "AB");
        assert_eq!(fitting_prefix("ab😀", 3, RegisterText::Utf16), "ab");
    }
}
