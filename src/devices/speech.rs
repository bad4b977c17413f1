//! What a call says: "请A012号到12号窗口办理", read with the ticket's
//! digits one by one and the window number as a number —
//! "请A零一二号到十二号窗口办理".
//!
//! Two renderings of the same template:
//!
//! - [`render_for_chip`]: for TTS chips (SYN6288, XFS5152), which read
//!   digits themselves when told how with text tags: `[n1]` digits one by
//!   one, `[n2]` digits as a value, `[n0]` back to automatic, `[y1]` reads
//!   1 as 一 (not 幺). The tags are put around the parts that need them, and
//!   the mode is set back to `[n0]` after each so the template's own text is
//!   read normally: `请A[n1][y1]012[n0]号到[n2]12[n0]号窗口办理`.
//! - [`render_plain`]: plain Chinese text with the numbers already spelled,
//!   for speech engines without those tags (espeak-ng, PC speakers):
//!   `请A零一二号到十二号窗口办理`.
//!
//! [`pinyin`] turns that plain text into tone-numbered pinyin for
//! espeak-ng's `cmn-latn-pinyin` voice (`qing3 A ling2 yi1 er4 hao4 …`),
//! which reads Mandarin far better from pinyin than from characters.

use crate::devices::template::{Piece, Template};
use crate::queue::types::WindowNo;

/// Placeholders an announcement template may use.
pub const ANNOUNCEMENT_PLACEHOLDERS: &[&str] = &["ticket", "window"];

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// Each ASCII digit spelled as its own character (0 → 零, 1 → 一);
/// everything else is kept: `A012` → `A零一二`.
pub fn spell_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) if c.is_ascii_digit() => DIGITS[d as usize],
            _ => c,
        })
        .collect()
}

/// `n` as a Chinese numeral, the way it is read aloud: 10 十, 12 十二,
/// 20 二十, 101 一百零一, 110 一百一十, 1010 一千零一十, 10100 一万零一百,
/// 100010 十万零一十.
pub fn chinese_number(n: u32) -> String {
    if n == 0 {
        return "零".to_string();
    }
    // Sections of four digits: 亿, 万, units.
    let sections = [
        (n / 100_000_000, "亿"),
        ((n / 10_000) % 10_000, "万"),
        (n % 10_000, ""),
    ];
    let mut out = String::new();
    let mut zero_pending = false;
    for (section, unit) in sections {
        if section == 0 {
            zero_pending = !out.is_empty();
            continue;
        }
        if !out.is_empty() && (zero_pending || section < 1000) {
            out.push('零');
        }
        let first = out.is_empty();
        push_section(section, first, &mut out);
        out.push_str(unit);
        zero_pending = false;
    }
    out
}

/// 1–9999 inside a larger number. `first`: this is the number's leading
/// section, where 10–19 are read 十, 十一 … rather than 一十, 一十一.
fn push_section(section: u32, first: bool, out: &mut String) {
    debug_assert!((1..=9999).contains(&section));
    let places = [(1000, "千"), (100, "百"), (10, "十"), (1, "")];
    let mut started = false;
    let mut zero_pending = false;
    for (place, name) in places {
        let digit = (section / place) % 10;
        if digit == 0 {
            zero_pending = started;
            continue;
        }
        if zero_pending {
            out.push('零');
            zero_pending = false;
        }
        let leading_ten = first && !started && place == 10 && digit == 1;
        if !leading_ten {
            out.push(DIGITS[digit as usize]);
        }
        out.push_str(name);
        started = true;
    }
}

/// The announcement for a TTS chip, using its number tags (module docs).
pub fn render_for_chip(template: &Template, ticket: &str, window: WindowNo) -> String {
    render(template, |name| match name {
        "ticket" => Some(tag_digit_runs(ticket)),
        "window" => Some(format!("[n2]{window}[n0]")),
        _ => None,
    })
}

/// The announcement as plain Chinese text, numbers spelled (module docs).
pub fn render_plain(template: &Template, ticket: &str, window: WindowNo) -> String {
    render(template, |name| match name {
        "ticket" => Some(spell_digits(ticket)),
        "window" => Some(chinese_number(window)),
        _ => None,
    })
}

/// Like [`Template::render`] but without trimming (tags are not space).
fn render(template: &Template, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    for piece in template.pieces() {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder(name) => out.push_str(&value(name).unwrap_or_default()),
        }
    }
    out
}

/// `A012` → `A[n1][y1]012[n0]`: each run of digits read one by one.
/// Brackets in the ticket are dropped so a ticket can never inject a tag.
fn tag_digit_runs(ticket: &str) -> String {
    let mut out = String::new();
    let mut in_digits = false;
    for c in ticket.chars().filter(|c| !matches!(c, '[' | ']')) {
        let digit = c.is_ascii_digit();
        if digit && !in_digits {
            out.push_str("[n1][y1]");
        } else if !digit && in_digits {
            out.push_str("[n0]");
        }
        in_digits = digit;
        out.push(c);
    }
    if in_digits {
        out.push_str("[n0]");
    }
    out
}

/// Tone-numbered pinyin of the characters announcements use: numerals,
/// the default template's words and common variants of it.
const PINYIN: &[(char, &str)] = &[
    ('零', "ling2"),
    ('〇', "ling2"),
    ('一', "yi1"),
    ('二', "er4"),
    ('两', "liang3"),
    ('三', "san1"),
    ('四', "si4"),
    ('五', "wu3"),
    ('六', "liu4"),
    ('七', "qi1"),
    ('八', "ba1"),
    ('九', "jiu3"),
    ('十', "shi2"),
    ('百', "bai3"),
    ('千', "qian1"),
    ('万', "wan4"),
    ('亿', "yi4"),
    ('请', "qing3"),
    ('号', "hao4"),
    ('到', "dao4"),
    ('窗', "chuang1"),
    ('口', "kou3"),
    ('办', "ban4"),
    ('理', "li3"),
    ('前', "qian2"),
    ('往', "wang3"),
    ('去', "qu4"),
    ('至', "zhi4"),
    ('在', "zai4"),
    ('位', "wei4"),
    ('顾', "gu4"),
    ('客', "ke4"),
    ('市', "shi4"),
    ('民', "min2"),
    ('您', "nin2"),
    ('好', "hao3"),
    ('的', "de5"),
    ('业', "ye4"),
    ('务', "wu4"),
    ('柜', "gui4"),
    ('台', "tai2"),
    ('服', "fu2"),
    ('就', "jiu4"),
    ('诊', "zhen3"),
    ('室', "shi4"),
    ('再', "zai4"),
    ('次', "ci4"),
    ('呼', "hu1"),
    ('叫', "jiao4"),
    ('准', "zhun3"),
    ('备', "bei4"),
    ('取', "qu3"),
    ('票', "piao4"),
];

/// `text` as tone-numbered pinyin for espeak-ng's `cmn-latn-pinyin`
/// voice: `请K零零一号到十二号窗口办理` →
/// `qing3 K ling2 ling2 yi1 hao4 dao4 shi2 er4 hao4 chuang1 kou3 ban4 li3`.
///
/// Latin capitals are kept, each on its own: that voice reads a lone
/// capital by its Chinese letter name (K 开, A 诶, W 达不溜…), which is how
/// ticket prefixes are said in a hall; a run such as `VIP` would be read as
/// an English word instead. ASCII digits are read one by one. Punctuation
/// becomes a pause (`,`), spaces are dropped. `None` when the text has a
/// character outside this vocabulary (the caller falls back).
pub fn pinyin(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut pause = false;
    for c in text.chars() {
        if c.is_whitespace() {
            continue;
        }
        if matches!(
            c,
            '，' | '。' | '、' | '；' | '！' | '：' | ',' | '.' | ';' | '!' | ':'
        ) {
            pause = !out.is_empty();
            continue;
        }
        let mut letter = [0u8; 4];
        let word: &str = if c.is_ascii_uppercase() {
            c.encode_utf8(&mut letter)
        } else if c.is_ascii_digit() {
            syllable(DIGITS[c.to_digit(10)? as usize])?
        } else {
            syllable(c)?
        };
        if !out.is_empty() {
            if pause {
                out.push(',');
            }
            out.push(' ');
        }
        pause = false;
        out.push_str(word);
    }
    (!out.is_empty()).then_some(out)
}

fn syllable(c: char) -> Option<&'static str> {
    PINYIN.iter().find(|(h, _)| *h == c).map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinyin_of_announcements() {
        let t = Template::parse("请{ticket}号到{window}号窗口办理").unwrap();
        assert_eq!(
            pinyin(&render_plain(&t, "K001", 12)).as_deref(),
            Some("qing3 K ling2 ling2 yi1 hao4 dao4 shi2 er4 hao4 chuang1 kou3 ban4 li3")
        );
        assert_eq!(
            pinyin(&render_plain(&t, "VIP7", 110)).as_deref(),
            Some("qing3 V I P qi1 hao4 dao4 yi1 bai3 yi1 shi2 hao4 chuang1 kou3 ban4 li3")
        );
        assert_eq!(
            pinyin("请A1号，到3号窗口。").as_deref(),
            Some("qing3 A yi1 hao4, dao4 san1 hao4 chuang1 kou3")
        );
        assert_eq!(pinyin("12"), Some("yi1 er4".to_string()));
        // Outside the vocabulary, lower-case Latin, nothing to say: no pinyin.
        assert_eq!(pinyin("请K1号到2号窗口缴费"), None);
        assert_eq!(pinyin("qing"), None);
        assert_eq!(pinyin(" ，"), None);
        // Every numeral and every window number is covered.
        for n in 1..=20_000u32 {
            assert!(pinyin(&chinese_number(n)).is_some(), "{n}");
        }
        // Only letters, digits, spaces and commas: safe as one argument.
        let p = pinyin(&render_plain(&t, "Z9", 9999)).unwrap();
        assert!(
            p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == ','),
            "{p}"
        );
    }

    #[test]
    fn numbers() {
        let cases: &[(u32, &str)] = &[
            (0, "零"),
            (1, "一"),
            (2, "二"),
            (9, "九"),
            (10, "十"),
            (11, "十一"),
            (12, "十二"),
            (19, "十九"),
            (20, "二十"),
            (21, "二十一"),
            (30, "三十"),
            (99, "九十九"),
            (100, "一百"),
            (101, "一百零一"),
            (105, "一百零五"),
            (110, "一百一十"),
            (111, "一百一十一"),
            (115, "一百一十五"),
            (120, "一百二十"),
            (200, "二百"),
            (999, "九百九十九"),
            (1000, "一千"),
            (1001, "一千零一"),
            (1010, "一千零一十"),
            (1011, "一千零一十一"),
            (1100, "一千一百"),
            (1101, "一千一百零一"),
            (1110, "一千一百一十"),
            (2024, "二千零二十四"),
            (3005, "三千零五"),
            (9999, "九千九百九十九"),
            (10_000, "一万"),
            (10_001, "一万零一"),
            (10_010, "一万零一十"),
            (10_100, "一万零一百"),
            (11_000, "一万一千"),
            (15_000, "一万五千"),
            (100_000, "十万"),
            (100_010, "十万零一十"),
            (120_000, "十二万"),
            (1_000_000, "一百万"),
            (10_000_000, "一千万"),
            (100_000_000, "一亿"),
            (100_000_001, "一亿零一"),
            (100_010_000, "一亿零一万"),
            (110_000_000, "一亿一千万"),
            (100_001_000, "一亿零一千"),
            (2_000_005_000, "二十亿零五千"),
            (1_010_000_000, "十亿一千万"),
            (1_000_100_000, "十亿零一十万"),
            (u32::MAX, "四十二亿九千四百九十六万七千二百九十五"),
        ];
        for &(n, zh) in cases {
            assert_eq!(chinese_number(n), zh, "{n}");
        }
    }

    #[test]
    fn every_window_number_is_well_formed() {
        for n in 1..=9999u32 {
            let s = chinese_number(n);
            assert!(!s.starts_with('零') && !s.ends_with('零'), "{n}: {s}");
            assert!(!s.contains("零零"), "{n}: {s}");
            assert!(!s.starts_with("一十"), "{n}: {s}");
        }
    }

    #[test]
    fn digits() {
        assert_eq!(spell_digits("A012"), "A零一二");
        assert_eq!(spell_digits("B100"), "B一零零");
        assert_eq!(spell_digits("VIP7"), "VIP七");
        assert_eq!(spell_digits("１"), "１"); // full-width digits are not ticket digits
    }

    #[test]
    fn renderings_of_the_design_example() {
        let t = Template::parse("请{ticket}号到{window}号窗口办理").unwrap();
        assert_eq!(render_plain(&t, "A012", 12), "请A零一二号到十二号窗口办理");
        assert_eq!(
            render_for_chip(&t, "A012", 12),
            "请A[n1][y1]012[n0]号到[n2]12[n0]号窗口办理"
        );
        assert_eq!(
            render_plain(&t, "B101", 110),
            "请B一零一号到一百一十号窗口办理"
        );
        assert_eq!(
            render_for_chip(&t, "A1B2", 3),
            "请A[n1][y1]1[n0]B[n1][y1]2[n0]号到[n2]3[n0]号窗口办理"
        );
        assert_eq!(
            render_for_chip(&t, "[v0]9", 1),
            "请v[n1][y1]09[n0]号到[n2]1[n0]号窗口办理"
        );
    }
}
