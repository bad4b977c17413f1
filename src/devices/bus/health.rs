//! Device health: online or offline, error counters, when last seen, and
//! when to probe an offline device again.
//!
//! Pure bookkeeping; the bus task feeds it the outcome of every exchange.
//! A device is *offline* after `offline_after` consecutive failures and
//! *online* again at its first answer. An exception reply is an answer (the
//! device is there, it refused the request), counted on its own.

use serde::Serialize;

use crate::queue::types::Millis;

/// The first re-probe of an offline device comes this long after it went
/// offline; each failed probe doubles the wait, up to [`PROBE_BACKOFF_MAX_MS`].
pub const PROBE_BACKOFF_MIN_MS: u64 = 100;
/// The longest wait between probes of an offline device. Kept under a
/// second so a device that answers again is resynced within about a
/// second; each probe costs the bus at most one timeout.
pub const PROBE_BACKOFF_MAX_MS: u64 = 800;

/// Where a device stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// Not talked to yet since start.
    Unknown,
    Online,
    Offline,
}

/// Why an exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Nothing came back in time.
    Timeout,
    /// A frame for us arrived with a wrong checksum.
    BadCrc,
    /// Bytes came, but not a frame that answers the request.
    Garbage,
    /// A frame with the right checksum that does not fit the request.
    BadReply,
    /// The port itself failed (unplugged USB adapter, I/O error).
    Port,
}

impl Failure {
    pub fn name(self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::BadCrc => "bad_crc",
            Failure::Garbage => "garbage",
            Failure::BadReply => "bad_reply",
            Failure::Port => "port_error",
        }
    }
}

/// A change of [`Link`] worth telling the hall about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    CameOnline,
    WentOffline,
}

/// Counters and state of one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub link: Link,
    pub consecutive_failures: u32,
    /// Requests sent (including probes and polls).
    pub requests: u64,
    pub timeouts: u64,
    pub crc_errors: u64,
    pub garbage: u64,
    pub bad_replies: u64,
    pub port_errors: u64,
    /// Modbus exception replies (the device answered, refusing).
    pub exceptions: u64,
    /// Times the device went offline since start.
    pub went_offline: u64,
    /// Journal-clock time (ms) of the last answer.
    pub last_seen_ms: Option<Millis>,
    /// The last failure, by name.
    pub last_error: Option<&'static str>,
    #[serde(skip)]
    probe_attempt: u32,
}

impl Default for Health {
    fn default() -> Self {
        Health::new()
    }
}

impl Health {
    pub fn new() -> Health {
        Health {
            link: Link::Unknown,
            consecutive_failures: 0,
            requests: 0,
            timeouts: 0,
            crc_errors: 0,
            garbage: 0,
            bad_replies: 0,
            port_errors: 0,
            exceptions: 0,
            went_offline: 0,
            last_seen_ms: None,
            last_error: None,
            probe_attempt: 0,
        }
    }

    pub fn is_offline(&self) -> bool {
        self.link == Link::Offline
    }

    /// The device answered (a normal reply or an exception).
    pub fn answered(&mut self, now_ms: Millis, exception: bool) -> Option<Transition> {
        self.requests += 1;
        if exception {
            self.exceptions += 1;
        }
        self.consecutive_failures = 0;
        self.probe_attempt = 0;
        self.last_seen_ms = Some(now_ms);
        let was = self.link;
        self.link = Link::Online;
        (was != Link::Online).then_some(Transition::CameOnline)
    }

    /// The exchange failed; `offline_after` consecutive failures take the
    /// device offline.
    pub fn failed(&mut self, failure: Failure, offline_after: u32) -> Option<Transition> {
        self.requests += 1;
        match failure {
            Failure::Timeout => self.timeouts += 1,
            Failure::BadCrc => self.crc_errors += 1,
            Failure::Garbage => self.garbage += 1,
            Failure::BadReply => self.bad_replies += 1,
            Failure::Port => self.port_errors += 1,
        }
        self.last_error = Some(failure.name());
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if self.link == Link::Offline {
            self.probe_attempt = self.probe_attempt.saturating_add(1);
            return None;
        }
        if self.consecutive_failures >= offline_after.max(1) {
            return self.go_offline();
        }
        None
    }

    fn go_offline(&mut self) -> Option<Transition> {
        if self.link == Link::Offline {
            return None;
        }
        self.link = Link::Offline;
        self.went_offline += 1;
        self.probe_attempt = 0;
        Some(Transition::WentOffline)
    }

    /// The bus's port failed: the device is unreachable, offline at once.
    pub fn port_down(&mut self) -> Option<Transition> {
        self.port_errors += 1;
        self.last_error = Some(Failure::Port.name());
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.go_offline()
    }

    /// How long to wait before probing an offline device again.
    pub fn probe_delay_ms(&self) -> u64 {
        let shift = self.probe_attempt.min(16);
        (PROBE_BACKOFF_MIN_MS << shift).min(PROBE_BACKOFF_MAX_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_after_n_failures_online_at_first_answer() {
        let mut h = Health::new();
        assert_eq!(h.answered(5, false), Some(Transition::CameOnline));
        assert_eq!(h.failed(Failure::Timeout, 3), None);
        assert_eq!(h.failed(Failure::BadCrc, 3), None);
        assert_eq!(h.failed(Failure::Garbage, 3), Some(Transition::WentOffline));
        assert_eq!(h.failed(Failure::Timeout, 3), None, "already offline");
        assert_eq!((h.timeouts, h.crc_errors, h.garbage), (2, 1, 1));
        assert_eq!(h.went_offline, 1);
        assert_eq!(h.answered(9, true), Some(Transition::CameOnline));
        assert_eq!((h.exceptions, h.last_seen_ms), (1, Some(9)));
        assert_eq!(h.consecutive_failures, 0);
    }

    #[test]
    fn a_device_never_seen_goes_offline_too() {
        let mut h = Health::new();
        assert_eq!(h.failed(Failure::Timeout, 1), Some(Transition::WentOffline));
        assert!(h.is_offline());
    }

    #[test]
    fn probe_backoff_doubles_and_is_capped_under_a_second() {
        let mut h = Health::new();
        h.failed(Failure::Timeout, 1);
        let mut delays = vec![h.probe_delay_ms()];
        for _ in 0..6 {
            h.failed(Failure::Timeout, 1);
            delays.push(h.probe_delay_ms());
        }
        assert_eq!(delays, [100, 200, 400, 800, 800, 800, 800]);
        h.answered(1, false);
        h.failed(Failure::Timeout, 1);
        assert_eq!(h.probe_delay_ms(), 100, "backoff restarts after an answer");
    }
}
