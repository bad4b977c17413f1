//! The password policy (pure): what a new password must not be.
//!
//! Deliberately short, following NIST SP 800-63B rather than composition
//! rules: a minimum length, a maximum length (so argon2 is never asked to
//! hash megabytes), not the account name, not a well-known password, not a
//! trivial pattern, no control characters. Each refusal says which rule, in
//! Chinese and English ([`Weakness`]).

use super::error::{PasswordError, Weakness};

/// Shortest acceptable password, in characters (Unicode scalar values).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Longest acceptable password, in characters. Sign-in refuses anything
/// longer before hashing.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Passwords refused as too common (compared ignoring ASCII case): the
/// usual leaders of leaked-password lists, Chinese favourites (woaini1314,
/// 5201314, 88888888 …), keyboard walks, and this product's own demo words.
const COMMON: &[&str] = &[
    "demo",
    "demo1234",
    "demodemo",
    "demo12345",
    "demo123456",
    "hallq123",
    "hallq1234",
    "password",
    "password1",
    "password12",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "12345678",
    "123456789",
    "1234567890",
    "0123456789",
    "87654321",
    "987654321",
    "11111111",
    "00000000",
    "88888888",
    "66666666",
    "99999999",
    "12341234",
    "11223344",
    "123123123",
    "12344321",
    "147258369",
    "123456abc",
    "12345678a",
    "123456789a",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1qaz2wsx",
    "1qaz2wsx3edc",
    "qwertyui",
    "qwertyuiop",
    "qwerty123",
    "qwer1234",
    "asdfghjk",
    "asdfghjkl",
    "asdf1234",
    "zxcvbnm1",
    "zxcvbnm123",
    "abc12345",
    "abc123456",
    "abcd1234",
    "a1234567",
    "a12345678",
    "a123456789",
    "aa123456",
    "aa12345678",
    "admin123",
    "admin1234",
    "admin12345",
    "administrator",
    "root1234",
    "iloveyou",
    "woaini1314",
    "woaini520",
    "5201314520",
    "52013145",
    "1314520520",
    "qq123456",
    "qq12345678",
    "changeme",
    "changeme1",
    "letmein1",
    "welcome1",
    "welcome123",
    "sunshine",
    "football",
    "baseball",
    "superman",
    "trustno1",
    "princess",
    "whatever",
    "computer",
    "internet",
];

/// Checks a new password for `account` against the policy (not the
/// "differs from the old one" rule: that needs the old password).
pub fn check(account: &str, password: &str) -> Result<(), PasswordError> {
    if too_long(password) {
        return Err(PasswordError::TooLong);
    }
    if password.chars().any(char::is_control) {
        return Err(PasswordError::TooWeak(Weakness::ControlCharacter));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooWeak(Weakness::TooShort));
    }
    if password.to_lowercase() == account.to_lowercase() {
        return Err(PasswordError::TooWeak(Weakness::SameAsAccount));
    }
    let lower = password.to_ascii_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err(PasswordError::TooWeak(Weakness::TooCommon));
    }
    if is_trivial_pattern(&lower) {
        return Err(PasswordError::TooWeak(Weakness::TooSimple));
    }
    Ok(())
}

/// Whether `password` is longer than [`MAX_PASSWORD_CHARS`], decided
/// without walking a huge string.
pub fn too_long(password: &str) -> bool {
    // A char is at most 4 bytes: beyond 4 × max bytes it is too long for
    // sure, and counting stops at max + 1 either way.
    password.len() > 4 * MAX_PASSWORD_CHARS || password.chars().nth(MAX_PASSWORD_CHARS).is_some()
}

/// One character repeated, or every step between neighbours the same +1 or
/// -1 (`12345678`, `abcdefgh`, `87654321`).
fn is_trivial_pattern(password: &str) -> bool {
    let chars: Vec<u32> = password.chars().map(u32::from).collect();
    let Some(first) = chars.first() else {
        return true;
    };
    if chars.iter().all(|c| c == first) {
        return true;
    }
    let steps: Vec<i64> = chars
        .iter()
        .zip(chars.iter().skip(1))
        .map(|(a, b)| i64::from(*b) - i64::from(*a))
        .collect();
    steps.iter().all(|&s| s == 1) || steps.iter().all(|&s| s == -1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weakness(account: &str, password: &str) -> Option<Weakness> {
        match check(account, password) {
            Err(PasswordError::TooWeak(w)) => Some(w),
            Ok(()) => None,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn accepts_ordinary_passwords() {
        for p in [
            "Lotus-Pond-42",
            "窗口办事很方便呀",
            "correct horse battery",
            "w01w01w01x",
        ] {
            assert_eq!(weakness("w01", p), None, "{p}");
        }
    }

    #[test]
    fn refuses_each_rule() {
        assert_eq!(weakness("w01", "short"), Some(Weakness::TooShort));
        assert_eq!(weakness("w01", "一二三四五六七"), Some(Weakness::TooShort));
        assert_eq!(
            weakness("wang.fang", "Wang.Fang"),
            Some(Weakness::SameAsAccount)
        );
        assert_eq!(weakness("w01", "PassWord"), Some(Weakness::TooCommon));
        assert_eq!(weakness("w01", "12345678"), Some(Weakness::TooCommon));
        assert_eq!(weakness("w01", "demo1234"), Some(Weakness::TooCommon));
        assert_eq!(weakness("w01", "demo"), Some(Weakness::TooShort));
        assert_eq!(weakness("w01", "zzzzzzzzzz"), Some(Weakness::TooSimple));
        assert_eq!(weakness("w01", "3456789:"), Some(Weakness::TooSimple));
        assert_eq!(weakness("w01", "hgfedcba"), Some(Weakness::TooSimple));
        assert_eq!(
            weakness("w01", "good pass\nword"),
            Some(Weakness::ControlCharacter)
        );
        assert_eq!(
            weakness("w01", "good\0password"),
            Some(Weakness::ControlCharacter)
        );
        assert_eq!(check("w01", &"x1".repeat(65)), Err(PasswordError::TooLong));
        assert_eq!(check("w01", &"密".repeat(129)), Err(PasswordError::TooLong));
        assert!(check("w01", &"密码".repeat(64)).is_ok());
    }

    #[test]
    fn too_long_counts_characters() {
        assert!(!too_long(&"密".repeat(128)));
        assert!(too_long(&"密".repeat(129)));
        assert!(too_long(&"a".repeat(10 << 20)));
    }
}
