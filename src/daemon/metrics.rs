//! Counters the daemon keeps for `GET /metrics` (`api/metrics.rs`): cheap
//! fixed-bucket histograms on atomics, and the journal's commit figures,
//! which the owner thread updates after every commit.
//!
//! Nothing here is part of the record: these are operating figures since
//! the process started, never counted into statistics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the latency buckets: 0.5 ms to 10 s.
pub const LATENCY_BUCKETS_S: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A histogram with fixed bucket bounds, updated with relaxed atomics (no
/// lock on the observing path: the owner thread must never wait for a scrape).
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Per bucket, NOT cumulative; the last slot is above every bound.
    counts: Box<[AtomicU64]>,
    /// Sum of observations, in nanoseconds.
    sum_ns: AtomicU64,
}

/// A histogram read at one moment, cumulative as the exposition format wants it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// (upper bound in seconds, observations ≤ it), in increasing order.
    pub buckets: Vec<(f64, u64)>,
    /// Every observation (the `+Inf` bucket).
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
        }
    }

    /// Latency buckets from 0.5 ms to 10 s.
    pub fn latency() -> Histogram {
        Histogram::new(&LATENCY_BUCKETS_S)
    }

    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let slot = self
            .bounds
            .iter()
            .position(|&b| s <= b)
            .unwrap_or(self.bounds.len());
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// The buckets made cumulative; `count` is their total, so the `+Inf`
    /// bucket always equals `_count` even while observations come in.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut total = 0u64;
        let mut buckets = Vec::with_capacity(self.bounds.len());
        for (i, &b) in self.bounds.iter().enumerate() {
            total += self.counts[i].load(Ordering::Relaxed);
            buckets.push((b, total));
        }
        total += self.counts[self.bounds.len()].load(Ordering::Relaxed);
        HistogramSnapshot {
            buckets,
            count: total,
            sum_seconds: self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

/// The journal's commit figures since the daemon started (the owner writes them).
#[derive(Debug)]
pub struct JournalMetrics {
    /// How long each batch's transaction took (append + fsync), successful or not.
    pub commit: Histogram,
    /// Commits the journal refused.
    pub commit_failures: AtomicU64,
    /// Events committed.
    pub events: AtomicU64,
}

impl Default for JournalMetrics {
    fn default() -> Self {
        JournalMetrics {
            commit: Histogram::latency(),
            commit_failures: AtomicU64::new(0),
            events: AtomicU64::new(0),
        }
    }
}

impl JournalMetrics {
    /// Records one commit of `events` events that took `took`.
    pub fn committed(&self, took: Duration, events: usize, ok: bool) {
        self.commit.observe(took);
        if ok {
            self.events.fetch_add(events as u64, Ordering::Relaxed);
        } else {
            self.commit_failures.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_end_with_the_count() {
        let h = Histogram::latency();
        h.observe(Duration::from_micros(100)); // ≤ 0.5 ms
        h.observe(Duration::from_millis(3)); // ≤ 5 ms
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60)); // above every bound
        let s = h.snapshot();
        assert_eq!(s.count, 4);
        assert_eq!(s.buckets[0], (0.0005, 1));
        let at = |b: f64| s.buckets.iter().find(|x| x.0 == b).unwrap().1;
        assert_eq!(at(0.0025), 1);
        assert_eq!(at(0.005), 3);
        assert_eq!(at(10.0), 3);
        assert!(s.buckets.windows(2).all(|w| w[0].1 <= w[1].1));
        assert!((s.sum_seconds - 60.0061).abs() < 1e-6, "{}", s.sum_seconds);
    }

    #[test]
    fn a_bound_itself_falls_in_its_bucket() {
        let h = Histogram::new(&[1.0, 2.0]);
        h.observe(Duration::from_secs(1));
        let s = h.snapshot();
        assert_eq!(s.buckets, vec![(1.0, 1), (2.0, 1)]);
        assert_eq!(s.count, 1);
    }

    #[test]
    fn journal_metrics_count_failures_apart() {
        let j = JournalMetrics::default();
        j.committed(Duration::from_millis(2), 3, true);
        j.committed(Duration::from_millis(2), 5, false);
        assert_eq!(j.events.load(Ordering::Relaxed), 3);
        assert_eq!(j.commit_failures.load(Ordering::Relaxed), 1);
        assert_eq!(j.commit.snapshot().count, 2);
    }
}
