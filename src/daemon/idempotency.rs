//! Idempotency keys: a retried request (flaky network, double tap) gets the
//! first answer and never issues two tickets or skips two citizens.
//!
//! The owner checks keys (scoped by actor) before deciding, so two copies of
//! the same request in one batch, or a retry after a crash, apply once. The
//! key is kept in the journal row's `client` column (`"<client> idem:<key>"`),
//! so the cache is rebuilt by replay and survives a restart.

use std::collections::{HashMap, VecDeque};

use super::owner::Applied;
use crate::queue::Millis;

/// Longest key accepted (printable ASCII).
pub const KEY_CHARS_MAX: usize = 128;
/// Most remembered keys; the oldest are forgotten first.
pub const ENTRIES_MAX: usize = 100_000;
/// How long a key is remembered.
pub const KEEP_MS: Millis = 24 * 3_600_000;

const MARK: &str = " idem:";

/// Whether a key is acceptable: 1–128 printable ASCII characters, no spaces.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= KEY_CHARS_MAX && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The journal `client` value for a request.
pub fn journal_client(client: &str, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("{client}{MARK}{k}"),
        None => client.to_string(),
    }
}

/// Splits a journal `client` value into the client and the key.
pub fn split_client(value: &str) -> (&str, Option<&str>) {
    match value.rsplit_once(MARK) {
        Some((client, key)) if valid_key(key) => (client, Some(key)),
        _ => (value, None),
    }
}

/// Remembered answers by (actor label, key).
#[derive(Default)]
pub struct IdempotencyCache {
    map: HashMap<(String, String), Applied>,
    order: VecDeque<(String, String)>,
}

impl IdempotencyCache {
    pub fn get(&self, actor: &str, key: &str) -> Option<&Applied> {
        self.map.get(&(actor.to_string(), key.to_string()))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Remembers an answer (or extends a replayed one with more events of the same command).
    pub fn insert(&mut self, actor: &str, key: &str, applied: Applied) {
        let id = (actor.to_string(), key.to_string());
        if self.map.insert(id.clone(), applied).is_none() {
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
        seq: u64,
        at_ms: Millis,
        event: crate::queue::Event,
    ) {
        let id = (actor.to_string(), key.to_string());
        match self.map.get_mut(&id) {
            Some(a) => a.events.push(event),
            None => self.insert(
                actor,
                key,
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
                .is_none_or(|a| now_ms - a.at_ms > KEEP_MS);
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
            split_client(&journal_client("10.0.0.5", Some("abc-1"))),
            ("10.0.0.5", Some("abc-1"))
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
        c.insert("kiosk:k", "1", a(0));
        c.insert("kiosk:k", "2", a(KEEP_MS));
        c.prune(KEEP_MS + 1);
        assert!(c.get("kiosk:k", "1").is_none());
        assert!(c.get("kiosk:k", "2").is_some());
        assert!(c.get("staff:x", "2").is_none(), "keys are scoped by actor");
    }
}
