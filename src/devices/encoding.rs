//! Text encodings the hall's devices speak: GB2312, GBK, BIG5 and UTF-16
//! in either byte order. The legacy Chinese encodings come from
//! `encoding_rs` (the WHATWG tables); nothing here is a hand-written table.
//!
//! **GB2312** is GBK restricted to GB2312's code area: ASCII, or a lead
//! byte in rows 01–09 (0xA1–0xA9) or 16–87 (0xB0–0xF7) with a trail byte
//! 0xA1–0xFE. GBK's additions outside that area (rarer hanzi, the € sign
//! at 0x80, user-defined areas) are refused, because a GB2312-only font
//! (the SYN6288 in mode 0, BX-5K 字库卡) has no glyph for them. A handful
//! of GBK symbol additions *inside* rows 06, 08 and 09 (vertical forms,
//! extra pinyin, box drawing) pass the range check; they do not occur in
//! what hallq displays.
//!
//! Every encoder works character by character, so a text can be cut only
//! between characters (never inside a double-byte sequence or a surrogate
//! pair).

use encoding_rs::{BIG5, EncoderResult, Encoding, GBK};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextEncoding {
    Gb2312,
    Gbk,
    Big5,
    /// UTF-16, big-endian, no byte-order mark.
    Utf16be,
    /// UTF-16, little-endian, no byte-order mark.
    Utf16le,
}

impl TextEncoding {
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Gb2312 => "gb2312",
            TextEncoding::Gbk => "gbk",
            TextEncoding::Big5 => "big5",
            TextEncoding::Utf16be => "utf16be",
            TextEncoding::Utf16le => "utf16le",
        }
    }

    /// Appends the bytes of `c` to `out`. Returns false, appending nothing,
    /// when the encoding has no code for `c`.
    pub fn encode_char(self, c: char, out: &mut Vec<u8>) -> bool {
        match self {
            TextEncoding::Utf16be | TextEncoding::Utf16le => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let bytes = if self == TextEncoding::Utf16be {
                        u.to_be_bytes()
                    } else {
                        u.to_le_bytes()
                    };
                    out.extend_from_slice(&bytes);
                }
                true
            }
            TextEncoding::Gbk => legacy_char(GBK, c, out, |_| true),
            TextEncoding::Big5 => legacy_char(BIG5, c, out, |_| true),
            TextEncoding::Gb2312 => legacy_char(GBK, c, out, in_gb2312_area),
        }
    }

    /// Encodes `text`, replacing each character the encoding lacks with
    /// `replacement` (itself dropped if it cannot be encoded either).
    /// Returns the bytes and how many characters were replaced.
    pub fn encode_lossy(self, text: &str, replacement: char) -> (Vec<u8>, usize) {
        let mut out = Vec::with_capacity(text.len() * 2);
        let mut replaced = 0;
        for c in text.chars() {
            if !self.encode_char(c, &mut out) {
                replaced += 1;
                self.encode_char(replacement, &mut out);
            }
        }
        (out, replaced)
    }

    /// Decodes `bytes`; malformed sequences become U+FFFD.
    pub fn decode_lossy(self, bytes: &[u8]) -> String {
        match self {
            TextEncoding::Gb2312 | TextEncoding::Gbk => {
                GBK.decode_without_bom_handling(bytes).0.into_owned()
            }
            TextEncoding::Big5 => BIG5.decode_without_bom_handling(bytes).0.into_owned(),
            TextEncoding::Utf16be | TextEncoding::Utf16le => {
                let units: Vec<u16> = bytes
                    .chunks(2)
                    .map(|p| match (p, self) {
                        ([a, b], TextEncoding::Utf16be) => u16::from_be_bytes([*a, *b]),
                        ([a, b], _) => u16::from_le_bytes([*a, *b]),
                        // A lone trailing byte: not a code unit.
                        _ => 0xFFFD,
                    })
                    .collect();
                String::from_utf16_lossy(&units)
            }
        }
    }
}

/// Encodes one character with an `encoding_rs` encoder, without its
/// default replacement (HTML numeric references, useless on a device).
fn legacy_char(
    encoding: &'static Encoding,
    c: char,
    out: &mut Vec<u8>,
    accept: fn(&[u8]) -> bool,
) -> bool {
    let mut utf8 = [0u8; 4];
    let src: &str = c.encode_utf8(&mut utf8);
    let mut dst = [0u8; 8];
    let mut encoder = encoding.new_encoder();
    let (result, _read, written) =
        encoder.encode_from_utf8_without_replacement(src, &mut dst, true);
    match result {
        EncoderResult::InputEmpty if written > 0 && accept(&dst[..written]) => {
            out.extend_from_slice(&dst[..written]);
            true
        }
        _ => false,
    }
}

/// Whether a GBK code lies in GB2312's code area (see the module docs).
fn in_gb2312_area(bytes: &[u8]) -> bool {
    match bytes {
        [b] => *b < 0x80,
        [lead, trail] => {
            (matches!(lead, 0xA1..=0xA9) || matches!(lead, 0xB0..=0xF7))
                && matches!(trail, 0xA1..=0xFE)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb2312_vector_from_the_syn6288_datasheet() {
        let (bytes, replaced) = TextEncoding::Gb2312.encode_lossy("宇音天下", '?');
        assert_eq!(bytes, [0xD3, 0xEE, 0xD2, 0xF4, 0xCC, 0xEC, 0xCF, 0xC2]);
        assert_eq!(replaced, 0);
    }

    #[test]
    fn utf16le_vector_from_the_xfs5152_datasheet() {
        let (bytes, _) = TextEncoding::Utf16le.encode_lossy("科大讯飞", '?');
        assert_eq!(bytes, [0xD1, 0x79, 0x27, 0x59, 0xAF, 0x8B, 0xDE, 0x98]);
        assert_eq!(TextEncoding::Utf16le.decode_lossy(&bytes), "科大讯飞");
    }

    #[test]
    fn gb2312_refuses_what_gbk_has() {
        // 镕 (U+9555) is GBK 0xE946: lead in range, trail 0x46 outside GB2312.
        let mut out = Vec::new();
        assert!(TextEncoding::Gbk.encode_char('镕', &mut out));
        assert_eq!(out, [0xE9, 0x46]);
        out.clear();
        assert!(!TextEncoding::Gb2312.encode_char('镕', &mut out));
        assert!(!TextEncoding::Gb2312.encode_char('€', &mut out));
        assert!(!TextEncoding::Gb2312.encode_char('😀', &mut out));
        // GBK's user-defined area (lead 0xAA–0xAF) is not GB2312.
        let mut pua = Vec::new();
        assert!(TextEncoding::Gbk.encode_char('\u{E000}', &mut pua));
        assert_eq!(pua, [0xAA, 0xA1]);
        assert!(!TextEncoding::Gb2312.encode_char('\u{E000}', &mut out));
        assert!(out.is_empty());
        // The arrow the boards use is in GB2312 row 1.
        assert!(TextEncoding::Gb2312.encode_char('→', &mut out));
        assert_eq!(out, [0xA1, 0xFA]);
    }

    #[test]
    fn lossy_replacement_and_round_trip() {
        let (bytes, replaced) = TextEncoding::Gb2312.encode_lossy("请A012号😀", '?');
        assert_eq!(replaced, 1);
        assert_eq!(TextEncoding::Gb2312.decode_lossy(&bytes), "请A012号?");
        let (b5, r) = TextEncoding::Big5.encode_lossy("請到窗口", '?');
        assert_eq!(r, 0);
        assert_eq!(TextEncoding::Big5.decode_lossy(&b5), "請到窗口");
        let (be, _) = TextEncoding::Utf16be.encode_lossy("A😀", '?');
        assert_eq!(be, [0x00, 0x41, 0xD8, 0x3D, 0xDE, 0x00]);
        assert_eq!(
            TextEncoding::Utf16be.decode_lossy(&be[..5]),
            "A😀".replace('😀', "\u{FFFD}\u{FFFD}")
        );
    }
}
