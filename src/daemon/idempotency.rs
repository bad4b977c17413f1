//! Idempotency keys: a retried request (flaky network, double tap) gets the
//! first answer and never issues two tickets or skips two citizens.
//!
//! The owner checks keys (scoped by actor) before deciding, so two copies of
//! the same request in one batch, or a retry after a crash, apply once. The
//! key is kept in the journal row's `client` column
//! (`"<client> fp:<fingerprint> idem:<key>"`), so the cache is rebuilt by
//! replay and survives a restart.
//!
//! A key names one request: the *fingerprint* (a hash of the command) is
//! remembered with it, and the same key sent with a different command is
//! refused (`idempotency_key_reused`) instead of being answered with the
//! first request's result as if it had been applied. Rows written before
//! fingerprints existed have none and match any command.

use std::collections::{HashMap, VecDeque};

use sha2::{Digest, Sha256};

use super::owner::Applied;
use crate::queue::{Command, Millis};

/// Longest key accepted (printable ASCII).
pub const KEY_CHARS_MAX: usize = 128;
/// Most remembered keys; the oldest are forgotten first. A real hall's whole
/// day of keyed requests (≈ 10,000) fits; at ten times its rate (the soak)
/// this is still ~12 minutes, far beyond any client's retry, and it bounds
/// the memory the cache takes (each entry holds its answer's events).
pub const ENTRIES_MAX: usize = 20_000;
/// How long a key is remembered: retries come within seconds, or after a
/// restart within minutes.
pub const KEEP_MS: Millis = 3_600_000;

const MARK: &str = " idem:";
const FP_MARK: &str = " fp:";
/// Hex digits of a fingerprint (64 bits of SHA-256).
const FP_CHARS: usize = 16;

/// The fingerprint of a command: the first 64 bits of the SHA-256 of its
/// JSON form, in hex. The same command gives the same fingerprint in every
/// build that serialises it the same way (the journal's own format).
pub fn fingerprint(command: &Command) -> String {
    let json = serde_json::to_vec(command).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..FP_CHARS / 2])
}

/// Whether a key is acceptable: 1–128 printable ASCII characters, no spaces.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= KEY_CHARS_MAX && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The journal `client` value for a request: the key with its command's
/// fingerprint.
pub fn journal_client(client: &str, key: Option<(&str, &str)>) -> String {
    match key {
        Some((k, fp)) => format!("{client}{FP_MARK}{fp}{MARK}{k}"),
        None => client.to_string(),
    }
}

/// Splits a journal `client` value into the client and the key.
pub fn split_client(value: &str) -> (&str, Option<&str>) {
    let (client, key, _) = split_client_fingerprint(value);
    (client, key)
}

/// Splits a journal `client` value into the client, the key and the
/// fingerprint (`None` in rows written before fingerprints).
pub fn split_client_fingerprint(value: &str) -> (&str, Option<&str>, Option<&str>) {
    let Some((rest, key)) = value.rsplit_once(MARK).filter(|(_, k)| valid_key(k)) else {
        return (value, None, None);
    };
    match rest.rsplit_once(FP_MARK) {
        Some((client, fp)) if fp.len() == FP_CHARS && fp.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (client, Some(key), Some(fp))
        }
        _ => (rest, Some(key), None),
    }
}

/// What the cache knows of a key.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// Not seen (or forgotten): apply the request.
    Fresh,
    /// The same request again: its first answer.
    Same(&'a Applied),
    /// The key was used for a different command.
    Reused,
}

/// Remembered answers by (actor label, key), with the fingerprint of the
/// command that key was first used for.
#[derive(Default)]
pub struct IdempotencyCache {
    map: HashMap<(String, String), (Applied, Option<String>)>,
    order: VecDeque<(String, String)>,
}

impl IdempotencyCache {
    pub fn get(&self, actor: &str, key: &str) -> Option<&Applied> {
        self.map
            .get(&(actor.to_string(), key.to_string()))
            .map(|(a, _)| a)
    }

    /// The remembered answer when `fingerprint` is the key's command.
    pub fn lookup(&self, actor: &str, key: &str, fingerprint: &str) -> Lookup<'_> {
        match self.map.get(&(actor.to_string(), key.to_string())) {
            None => Lookup::Fresh,
            Some((_, Some(fp))) if fp != fingerprint => Lookup::Reused,
            Some((applied, _)) => Lookup::Same(applied),
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Remembers an answer (or extends a replayed one with more events of the same command).
    pub fn insert(&mut self, actor: &str, key: &str, fingerprint: Option<&str>, applied: Applied) {
        let id = (actor.to_string(), key.to_string());
        let entry = (applied, fingerprint.map(str::to_string));
        if self.map.insert(id.clone(), entry).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > ENTRIES_MAX {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    /// Adds one replayed event to the command it belongs to.
    pub fn extend(
        &mut self,
        actor: &str,
        key: &str,
        fingerprint: Option<&str>,
        seq: u64,
        at_ms: Millis,
        event: crate::queue::Event,
    ) {
        let id = (actor.to_string(), key.to_string());
        match self.map.get_mut(&id) {
            Some((a, _)) => a.events.push(event),
            None => self.insert(
                actor,
                key,
                fingerprint,
                Applied {
                    first_seq: seq,
                    at_ms,
                    events: vec![event],
                    replayed: true,
                },
            ),
        }
    }

    /// Forgets answers older than `KEEP_MS` before `now_ms`.
    pub fn prune(&mut self, now_ms: Millis) {
        while let Some(front) = self.order.front() {
            let old = self
                .map
                .get(front)
                .is_none_or(|(a, _)| now_ms - a.at_ms > KEEP_MS);
            if !old {
                break;
            }
            if let Some(id) = self.order.pop_front() {
                self.map.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_column_round_trips() {
        assert_eq!(
            split_client(&journal_client(
                "10.0.0.5",
                Some(("abc-1", "0123456789abcdef"))
            )),
            ("10.0.0.5", Some("abc-1"))
        );
        assert_eq!(
            split_client_fingerprint(&journal_client(
                "10.0.0.5",
                Some(("fp:1", "0123456789abcdef"))
            )),
            ("10.0.0.5", Some("fp:1"), Some("0123456789abcdef")),
            "a key that looks like a fingerprint is still the key"
        );
        // A row from before fingerprints.
        assert_eq!(
            split_client_fingerprint("10.0.0.5 idem:abc-1"),
            ("10.0.0.5", Some("abc-1"), None)
        );
        assert_eq!(
            split_client_fingerprint("10.0.0.5 fp:0123456789abcdef idem:abc-1"),
            ("10.0.0.5", Some("abc-1"), Some("0123456789abcdef"))
        );
        assert_eq!(split_client("10.0.0.5"), ("10.0.0.5", None));
        assert!(!valid_key("has space"));
        assert!(!valid_key(""));
        assert!(!valid_key(&"x".repeat(KEY_CHARS_MAX + 1)));
    }

    #[test]
    fn bounded_and_pruned() {
        let mut c = IdempotencyCache::default();
        let a = |at| Applied {
            first_seq: 1,
            at_ms: at,
            events: vec![],
            replayed: false,
        };
        c.insert("kiosk:k", "1", Some("00"), a(0));
        c.insert("kiosk:k", "2", Some("ff"), a(KEEP_MS));
        c.prune(KEEP_MS + 1);
        assert!(c.get("kiosk:k", "1").is_none());
        assert!(c.get("kiosk:k", "2").is_some());
        assert!(c.get("staff:x", "2").is_none(), "keys are scoped by actor");
        assert!(matches!(c.lookup("kiosk:k", "2", "ff"), Lookup::Same(_)));
        assert!(matches!(c.lookup("kiosk:k", "2", "fe"), Lookup::Reused));
        assert!(matches!(c.lookup("kiosk:k", "3", "ff"), Lookup::Fresh));
        c.insert("kiosk:k", "old", None, a(KEEP_MS));
        assert!(
            matches!(c.lookup("kiosk:k", "old", "ab"), Lookup::Same(_)),
            "a key from before fingerprints matches any command"
        );
    }
}
