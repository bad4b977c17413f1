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
use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroU64;

use sha2::{Digest, Sha256};

use super::owner::Applied;
use crate::journal::Journal;
use crate::queue::{Command, Millis};

/// Longest key accepted (printable ASCII).
pub const KEY_CHARS_MAX: usize = 128;
/// Most remembered keys; the oldest are forgotten first. A real hall's whole
/// day of keyed requests (≈ 10,000) fits; at ten times its rate (the soak)
/// this is still ~8 minutes, far beyond any client's retry. It bounds the
/// memory the cache takes: 33 bytes a bucket (the answer stays in the
/// journal), and at most 14,336 entries (half of a 32,768-bucket table's
/// 28,672) let the table clear its tombstones in place under churn, so it
/// stays at 1.1 MB; at 20,000 churn doubled it to 2.2 MB.
pub const ENTRIES_MAX: usize = 14_000;
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
pub enum Lookup {
    /// Not seen (or forgotten): apply the request.
    Fresh,
    /// The same request again: its first answer, read back from the journal.
    Same(Applied),
    /// The key was used for a different command.
    Reused,
}

/// Where a remembered answer is: its rows in the journal. 24 bytes (32
/// with its key in the table), whatever the answer held; the answer itself
/// is read back from the journal only when a retry comes (rare), so a whole
/// day's keys cost little memory (see [`ENTRIES_MAX`]).
#[derive(Debug, Clone, Copy)]
struct Entry {
    first_seq: u64,
    /// `None` for rows written before fingerprints.
    fingerprint: Option<NonZeroU64>,
    events: u32,
    /// Whole seconds since the epoch, for pruning (the answer's exact time
    /// is read back with its rows).
    at_s: u32,
}

fn seconds(at_ms: Millis) -> u32 {
    u32::try_from(at_ms.div_euclid(1000)).unwrap_or(if at_ms < 0 { 0 } else { u32::MAX })
}

/// Remembered answers by (actor label, key), with the fingerprint of the
/// command that key was first used for.
///
/// Keys are held as a keyed 64-bit hash of (actor, key) (SipHash with this
/// process's random key, so no client can aim at another's key). A hit is
/// checked against the journal rows it points to (their actor and key), so
/// a hash shared by two keys never answers one with the other's result.
/// The one thing such a collision (about 2⁻⁴⁴ for a day's 20,000 keys) can
/// do is make the cache forget the older key, as if it had been pruned.
#[derive(Default)]
pub struct IdempotencyCache {
    map: HashMap<u64, Entry>,
    order: VecDeque<u64>,
    hasher: RandomState,
}

/// A fingerprint (hex) as a non-zero number: the one fingerprint of 0 is
/// taken as 1, which only makes a 2⁻⁶⁴ match a little likelier.
fn parse_fingerprint(fp: &str) -> Option<NonZeroU64> {
    let fp = u64::from_str_radix(fp, 16).ok()?;
    Some(NonZeroU64::new(fp).unwrap_or(NonZeroU64::MIN))
}

impl IdempotencyCache {
    fn id(&self, actor: &str, key: &str) -> u64 {
        self.hasher.hash_one((actor, key))
    }

    /// Whether a key is remembered (without reading its answer).
    #[cfg(test)]
    fn contains(&self, actor: &str, key: &str) -> bool {
        self.map.contains_key(&self.id(actor, key))
    }

    /// What the cache knows of `key` sent by `actor` with a command whose
    /// fingerprint is `fingerprint`; a remembered answer is read back from
    /// `journal`.
    pub fn lookup(
        &self,
        journal: &Journal,
        actor: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Lookup, String> {
        let Some(e) = self.map.get(&self.id(actor, key)) else {
            return Ok(Lookup::Fresh);
        };
        let rows = journal
            .read_range(e.first_seq.saturating_sub(1), e.events as usize)
            .map_err(|err| err.to_string())?;
        let ours = rows.len() == e.events as usize
            && rows.first().is_some_and(|r| r.seq == e.first_seq)
            && rows
                .iter()
                .all(|r| r.actor == actor && split_client(&r.client).1 == Some(key));
        if !ours {
            // Another key with the same hash took the slot: this one is not remembered.
            return Ok(Lookup::Fresh);
        }
        if e.fingerprint
            .is_some_and(|fp| Some(fp) != parse_fingerprint(fingerprint))
        {
            return Ok(Lookup::Reused);
        }
        let events = rows
            .iter()
            .map(super::replay::event_of)
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(|err| err.to_string())?;
        Ok(Lookup::Same(Applied {
            first_seq: e.first_seq,
            at_ms: rows[0].at_ms,
            events,
            replayed: true,
        }))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Remembers the answer of a committed command: `events` rows from
    /// `first_seq` (at least one; an answer without events is not remembered).
    pub fn insert(
        &mut self,
        actor: &str,
        key: &str,
        fingerprint: Option<&str>,
        first_seq: u64,
        events: usize,
        at_ms: Millis,
    ) {
        if events == 0 {
            return;
        }
        let id = self.id(actor, key);
        let entry = Entry {
            first_seq,
            events: u32::try_from(events).unwrap_or(u32::MAX),
            at_s: seconds(at_ms),
            fingerprint: fingerprint.and_then(parse_fingerprint),
        };
        if self.map.insert(id, entry).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > ENTRIES_MAX {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    /// Adds one replayed row to the command it belongs to (the rows of one
    /// command are consecutive; a key seen again later, after it was
    /// forgotten and used anew, starts again).
    pub fn extend(
        &mut self,
        actor: &str,
        key: &str,
        fingerprint: Option<&str>,
        seq: u64,
        at_ms: Millis,
    ) {
        let id = self.id(actor, key);
        match self.map.get_mut(&id) {
            Some(e) if e.first_seq + u64::from(e.events) == seq => e.events += 1,
            _ => self.insert(actor, key, fingerprint, seq, 1, at_ms),
        }
    }

    /// Forgets answers older than `KEEP_MS` before `now_ms`.
    pub fn prune(&mut self, now_ms: Millis) {
        while let Some(front) = self.order.front() {
            let old = self
                .map
                .get(front)
                .is_none_or(|e| now_ms - i64::from(e.at_s) * 1000 > KEEP_MS);
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

    /// A journal holding `rows` (actor, client) with a `day_opened` event each.
    fn journal_with(dir: &std::path::Path, rows: &[(&str, String)]) -> Journal {
        let mut j = Journal::open(&dir.join("journal.sqlite")).expect("journal opens");
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("a date");
        let payload = serde_json::to_string(&crate::queue::Event::DayOpened { date })
            .expect("an event serialises");
        let records: Vec<crate::journal::NewRecord<'_>> = rows
            .iter()
            .map(|(actor, client)| crate::journal::NewRecord {
                at_ms: 0,
                actor,
                client,
                kind: "day_opened",
                payload: &payload,
            })
            .collect();
        j.append(&records).expect("rows append");
        j
    }

    #[test]
    fn bounded_and_pruned() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let c1 = journal_client("10.0.0.5", Some(("1", "0000000000000000")));
        let c2 = journal_client("10.0.0.5", Some(("2", "00000000000000ff")));
        let j = journal_with(
            dir.path(),
            &[
                ("kiosk:k", c1),
                ("kiosk:k", c2.clone()),
                ("kiosk:k", c2),
                ("kiosk:k", "10.0.0.5 idem:old".into()),
            ],
        );
        let mut c = IdempotencyCache::default();
        c.insert("kiosk:k", "1", Some("0000000000000000"), 1, 1, 0);
        c.insert("kiosk:k", "2", Some("00000000000000ff"), 2, 2, KEEP_MS);
        c.insert("kiosk:k", "none", Some("00000000000000ff"), 9, 0, KEEP_MS);
        assert!(
            !c.contains("kiosk:k", "none"),
            "an answer without events is not kept"
        );
        c.prune(KEEP_MS + 1);
        assert!(!c.contains("kiosk:k", "1"));
        assert!(c.contains("kiosk:k", "2"));
        assert!(!c.contains("staff:x", "2"), "keys are scoped by actor");
        let look =
            |c: &IdempotencyCache, actor, key, fp| c.lookup(&j, actor, key, fp).expect("reads");
        match look(&c, "kiosk:k", "2", "00000000000000ff") {
            Lookup::Same(a) => {
                // The answer's time is its rows' (written at 0 here).
                assert_eq!((a.first_seq, a.events.len(), a.at_ms), (2, 2, 0));
                assert!(a.replayed);
            }
            other => panic!("the same request must get its answer back, not {other:?}"),
        }
        assert!(matches!(
            look(&c, "kiosk:k", "2", "00000000000000fe"),
            Lookup::Reused
        ));
        assert!(matches!(
            look(&c, "kiosk:k", "3", "00000000000000ff"),
            Lookup::Fresh
        ));
        c.insert("kiosk:k", "old", None, 4, 1, KEEP_MS);
        assert!(
            matches!(
                look(&c, "kiosk:k", "old", "00000000000000ab"),
                Lookup::Same(_)
            ),
            "a key from before fingerprints matches any command"
        );
        // An entry pointing at rows of another key (as a hash collision
        // would) never answers with them.
        c.insert("kiosk:k", "4", Some("00000000000000ff"), 2, 2, KEEP_MS);
        assert!(matches!(
            look(&c, "kiosk:k", "4", "00000000000000ff"),
            Lookup::Fresh
        ));
        for i in 0..ENTRIES_MAX + 10 {
            c.insert("kiosk:k", &format!("n{i}"), None, 1, 1, KEEP_MS);
        }
        assert_eq!(c.len(), ENTRIES_MAX, "bounded");
        assert!(!c.contains("kiosk:k", "2"), "the oldest is forgotten first");
    }

    #[test]
    fn the_table_stays_within_a_megabyte_under_a_day_of_churn() {
        let mut c = IdempotencyCache::default();
        // Four times the bound: each key past it forgets the oldest.
        for i in 0..4 * ENTRIES_MAX {
            c.insert("kiosk:k", &format!("n{i}"), None, 1, 1, KEEP_MS);
        }
        assert_eq!(c.len(), ENTRIES_MAX);
        // Every slot the table has room for, free or used (tombstones
        // included), is one (key, entry) pair.
        let table = c.map.capacity() * std::mem::size_of::<(u64, Entry)>();
        assert!(
            table <= 1 << 20,
            "churn at the bound grew the table to {table} bytes"
        );
    }

    #[test]
    fn replay_extends_consecutive_rows_and_restarts_a_reused_key() {
        let mut c = IdempotencyCache::default();
        c.extend("kiosk:k", "a", None, 5, 0);
        c.extend("kiosk:k", "a", None, 6, 0);
        assert_eq!(
            c.map.values().next().map(|e| (e.first_seq, e.events)),
            Some((5, 2))
        );
        c.extend("kiosk:k", "a", None, 40, 10_999);
        assert_eq!(
            c.map
                .values()
                .next()
                .map(|e| (e.first_seq, e.events, e.at_s)),
            Some((40, 1, 10))
        );
        assert_eq!(c.len(), 1);
    }
}
