//! Session tokens, API keys, and the few byte-level helpers around them.
//!
//! A session token is 32 bytes from the operating system's random number
//! generator, written as base64url without padding (43 characters). Only
//! its SHA-256 (of the 43 ASCII characters) is ever stored or kept in
//! memory; that hash is wrapped in [`SessionId`], which cannot be printed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng as _;
use sha2::{Digest, Sha256};

/// Random bytes in a session token or an API key (256 bits).
pub const TOKEN_BYTES: usize = 32;

/// Length of a session token as text: base64url of 32 bytes, no padding.
pub const TOKEN_CHARS: usize = 43;

/// Longest API key accepted for checking (bytes); longer input is refused
/// before hashing.
pub const MAX_API_KEY_BYTES: usize = 256;

/// Identifies one session: the SHA-256 of its token. Opaque on purpose: it
/// has no accessor, no `Display`, and its `Debug` prints no bytes, so it
/// cannot end up in a log or an answer.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(pub(crate) [u8; 32]);

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// `N` bytes from the operating system's random number generator.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut bytes = [0u8; N];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// A new session token and its hash.
pub(crate) fn new_token() -> Result<(String, [u8; 32]), String> {
    let bytes: [u8; TOKEN_BYTES] = random_bytes()?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = sha256(token.as_bytes());
    Ok((token, hash))
}

/// The hash of `token` if it has the shape of a session token (43
/// base64url characters); `None` otherwise, without hashing.
pub(crate) fn token_hash(token: &str) -> Option<[u8; 32]> {
    let well_formed = token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| sha256(token.as_bytes()))
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Equality whose time does not depend on where the inputs differ.
pub(crate) fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// For `hallq keygen`: a new API key (256 random bits, base64url without
/// padding — show it once, put it in the kiosk) and its SHA-256 as
/// lowercase hex (put that in the config's `[[api_key]] sha256`).
///
/// # Panics
///
/// Only if the operating system has no working random number generator
/// (as `rand::fill` does): no key could be made safely then.
pub fn new_api_key() -> (String, String) {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::fill(&mut bytes[..]);
    let key = URL_SAFE_NO_PAD.encode(bytes);
    let sha256_hex = hex::encode(sha256(key.as_bytes()));
    (key, sha256_hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_256_bits_and_the_right_shape() {
        let (token, hash) = new_token().expect("token");
        assert_eq!(token.len(), TOKEN_CHARS);
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).expect("b64").len(), 32);
        assert_eq!(token_hash(&token), Some(hash));
        assert_eq!(token_hash(&token[1..]), None);
        assert_eq!(token_hash(&format!("{}=", &token[1..])), None);
        assert_eq!(token_hash(&"é".repeat(21)), None);
    }

    #[test]
    fn constant_time_eq_is_eq() {
        let a = [7u8; 32];
        let mut b = a;
        assert!(ct_eq(&a, &b));
        b[31] ^= 1;
        assert!(!ct_eq(&a, &b));
    }

    #[test]
    fn session_id_does_not_print() {
        let id = SessionId([0xab; 32]);
        assert_eq!(format!("{id:?}"), "SessionId(<redacted>)");
    }

    #[test]
    fn api_key_hash_matches_the_key() {
        let (key, hex_hash) = new_api_key();
        assert_eq!(key.len(), TOKEN_CHARS);
        assert_eq!(hex_hash, hex::encode(Sha256::digest(key.as_bytes())));
        assert_eq!(hex_hash.len(), 64);
    }
}
