//! A person is known to the hall only by a keyed hash of their id number
//! (HMAC-SHA-256 with the hall's secret), so per-person caps work without the
//! number ever being stored, journaled or logged.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The keyed hash of an id number, hex. The number is normalised first
/// (spaces removed, a final check letter `x` upper-cased) so the same card
/// typed two ways counts as one person.
pub fn person_key(secret: &[u8], id_number: &str) -> String {
    let normalised: String = id_number
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(normalised.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_and_normalised() {
        let a = person_key(b"secret-1", "11010519491231002x");
        assert_eq!(a, person_key(b"secret-1", "110105 19491231 002X"));
        assert_ne!(a, person_key(b"secret-2", "11010519491231002X"));
        assert_eq!(a.len(), 64);
        assert!(!a.contains("1101051949"));
    }
}
