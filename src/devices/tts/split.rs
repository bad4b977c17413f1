//! Cutting a long text into pieces that each fit one TTS frame.
//!
//! The text is encoded token by token — a token is one character, or one
//! whole text tag such as `[n1]` (a tag cut in two would be read aloud as
//! letters). Pieces are filled greedily; when the next token does not fit,
//! the piece ends after the last sentence end in it (。！？；!?;. or a line
//! break), else after the last pause (，、：,: or a space), else between
//! characters. A character the encoding lacks is spoken as a pause (a space).

use crate::devices::encoding::TextEncoding;

/// Smallest piece size accepted (a tag in UTF-16 takes up to 14 bytes).
pub const PIECE_BYTES_MIN: usize = 32;

/// Bytes of a text tag at the start of `s` (`[`, 1–2 ASCII letters, 0–3
/// digits, `]`), if there is one.
pub fn tag_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.first() != Some(&b'[') {
        return None;
    }
    let letters = b[1..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    if !(1..=2).contains(&letters) {
        return None;
    }
    let digits = b[1 + letters..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits > 3 {
        return None;
    }
    let close = 1 + letters + digits;
    (b.get(close) == Some(&b']')).then_some(close + 1)
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Boundary {
    Pause,
    Sentence,
}

fn boundary_after(token: &str) -> Option<Boundary> {
    match token {
        "。" | "！" | "？" | "；" | "!" | "?" | ";" | "." | "\n" => Some(Boundary::Sentence),
        "，" | "、" | "：" | "," | ":" | " " | "\u{3000}" => Some(Boundary::Pause),
        _ => None,
    }
}

/// Splits `text` into encoded pieces of at most `max_bytes` each
/// (`max_bytes` below [`PIECE_BYTES_MIN`] is raised to it). Returns no
/// piece for an empty text. Concatenated, the pieces are the whole encoded
/// text.
pub fn split_encoded(text: &str, encoding: TextEncoding, max_bytes: usize) -> Vec<Vec<u8>> {
    let max_bytes = max_bytes.max(PIECE_BYTES_MIN);
    let mut pieces = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    // (byte offset in `current` just after a boundary, its kind)
    let mut boundaries: Vec<(usize, Boundary)> = Vec::new();
    let mut token_bytes = Vec::with_capacity(16);
    let mut rest = text;
    while !rest.is_empty() {
        let len = tag_len(rest).unwrap_or_else(|| rest.chars().next().map_or(1, char::len_utf8));
        let (token, tail) = rest.split_at(len);
        rest = tail;

        token_bytes.clear();
        for c in token.chars() {
            if !encoding.encode_char(c, &mut token_bytes) {
                encoding.encode_char(' ', &mut token_bytes);
            }
        }
        while !current.is_empty() && current.len() + token_bytes.len() > max_bytes {
            let cut = boundaries
                .iter()
                .filter(|(at, _)| *at > 0)
                .max_by_key(|&&(at, kind)| (kind, at))
                .map_or(current.len(), |&(at, _)| at);
            let tail = current.split_off(cut);
            pieces.push(std::mem::replace(&mut current, tail));
            boundaries.retain(|(at, _)| *at > cut);
            for (at, _) in &mut boundaries {
                *at -= cut;
            }
        }
        current.extend_from_slice(&token_bytes);
        if let Some(kind) = boundary_after(token) {
            boundaries.push((current.len(), kind));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_piece() {
        let p = split_encoded("请A012号", TextEncoding::Gb2312, 200);
        assert_eq!(p.len(), 1);
        assert_eq!(TextEncoding::Gb2312.decode_lossy(&p[0]), "请A012号");
        assert!(split_encoded("", TextEncoding::Gb2312, 200).is_empty());
    }

    #[test]
    fn cuts_after_sentences_then_pauses_then_characters() {
        // 40 bytes max in GB2312 = 20 hanzi.
        let text = "第一句话说完了。第二句，有停顿的长长长长长长长长长长长长长长句子";
        let p = split_encoded(text, TextEncoding::Gb2312, 40);
        let s: Vec<String> = p
            .iter()
            .map(|b| TextEncoding::Gb2312.decode_lossy(b))
            .collect();
        assert_eq!(s[0], "第一句话说完了。");
        assert_eq!(s[1], "第二句，");
        assert_eq!(s[2], "有停顿的长长长长长长长长长长长长长长句子");
        assert_eq!(s.concat(), text);
        assert!(p.iter().all(|b| b.len() <= 40));
    }

    #[test]
    fn never_cuts_a_tag_or_a_surrogate_pair() {
        let text = format!("{}[n1]0123😀😀", "x".repeat(30));
        for enc in [
            TextEncoding::Gbk,
            TextEncoding::Utf16le,
            TextEncoding::Utf16be,
        ] {
            let p = split_encoded(&text, enc, 32);
            let decoded: Vec<String> = p.iter().map(|b| enc.decode_lossy(b)).collect();
            assert!(
                decoded.iter().all(|s| !s.contains('\u{FFFD}')),
                "{decoded:?}"
            );
            assert!(decoded.iter().any(|s| s.contains("[n1]")), "{decoded:?}");
            assert!(p.iter().all(|b| b.len() <= 32));
        }
    }

    #[test]
    fn tags() {
        assert_eq!(tag_len("[n1]abc"), Some(4));
        assert_eq!(tag_len("[v10]"), Some(5));
        assert_eq!(tag_len("[d]"), Some(3));
        assert_eq!(tag_len("[n1"), None);
        assert_eq!(tag_len("[]"), None);
        assert_eq!(tag_len("[1]"), None);
        assert_eq!(tag_len("x[n1]"), None);
    }
}
