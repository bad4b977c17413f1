//! The announcement queue of one speaker zone (DESIGN.md §4 invariant 4:
//! "only voice is a queue — ordered, bounded, each call spoken in full,
//! stale ones dropped and counted").
//!
//! Pure: no I/O, no clock; every time is an argument. The speaker task of
//! the zone [`push`](VoiceQueue::push)es an [`Announcement`] for every
//! `TicketCalled` / `TicketRecalled` event of the zone's windows, and calls
//! [`next`](VoiceQueue::next) only when its chip is idle (SYN6288 replied
//! `0x4F`, or its timeout passed), then speaks the announcement
//! [`repeats`](VoiceQueue::repeats) times in one go. Since the queue never
//! hands out anything while the chip speaks, a new call never cuts one off.
//!
//! Rules, each with its limit:
//!
//! - **Order**: announcements are spoken in the order they were pushed
//!   (first come, first spoken; a merged recall keeps the place of the
//!   announcement it merged into).
//! - **Merge**: a *recall* of the same ticket at the same window is merged
//!   (not queued again) when that ticket+window is still waiting in the
//!   queue (it will be spoken after the recall anyway, so the recall is
//!   fulfilled; the queued entry takes the recall's time for staleness), or
//!   when it started being spoken at most `merge_ms` (5 s) before the
//!   recall's time. A plain call is never merged.
//! - **Stale**: an announcement whose time is more than `stale_ms` (60 s)
//!   before `now_ms` is dropped and counted, at `push` or `next`; exactly
//!   60 s old is still spoken.
//! - **Full**: at most `capacity` (64) announcements wait. Pushing one more
//!   (after the stale ones are dropped) drops the *oldest* waiting one and
//!   counts it: the newest call is the one whose citizen is still listening.
//!
//! Nothing vanishes silently: `pushed == spoken + merged + dropped_stale +
//! dropped_full + len` at every moment ([`VoiceStats`]).

use std::collections::VecDeque;

use crate::queue::types::{Millis, WindowNo};

/// The largest queue a zone may be configured with.
pub const CAPACITY_MAX: usize = 1024;
/// The most times one announcement may be repeated.
pub const REPEATS_MAX: u8 = 5;
/// Recently started announcements remembered for merging recalls (a call
/// takes 3–4 s to say, so at most two fit in 5 s).
pub const RECENT_MAX: usize = 16;

/// The limits of one zone's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceLimits {
    /// Announcements waiting at most (1 ..= [`CAPACITY_MAX`]).
    pub capacity: usize,
    /// Times each announcement is said (1 ..= [`REPEATS_MAX`]).
    pub repeats: u8,
    /// A recall this close after the same call started is merged.
    pub merge_ms: Millis,
    /// An announcement older than this is dropped.
    pub stale_ms: Millis,
}

impl Default for VoiceLimits {
    fn default() -> Self {
        VoiceLimits {
            capacity: 64,
            repeats: 2,
            merge_ms: 5_000,
            stale_ms: 60_000,
        }
    }
}

impl VoiceLimits {
    /// The limits brought into their ranges (capacity and repeats at least
    /// 1 and at most their maximum, times not negative).
    pub fn clamped(self) -> VoiceLimits {
        VoiceLimits {
            capacity: self.capacity.clamp(1, CAPACITY_MAX),
            repeats: self.repeats.clamp(1, REPEATS_MAX),
            merge_ms: self.merge_ms.max(0),
            stale_ms: self.stale_ms.max(0),
        }
    }
}

/// One call to be read aloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The ticket number as shown (`A012`).
    pub ticket: String,
    pub window: WindowNo,
    /// When the call (or recall) happened: the event's time.
    pub at_ms: Millis,
    pub recall: bool,
}

/// What [`VoiceQueue::push`] did with an announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// Queued, and the oldest waiting announcement was dropped for room.
    QueuedDroppedOldest,
    /// A recall merged into the same call, queued or just started.
    Merged,
    /// Already older than the stale limit: dropped and counted.
    Stale,
}

/// The counters of a queue. `pushed == spoken + merged + dropped_stale +
/// dropped_full + waiting`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct VoiceStats {
    pub pushed: u64,
    pub spoken: u64,
    pub merged: u64,
    pub dropped_stale: u64,
    pub dropped_full: u64,
    /// Announcements put back because the chip did not answer.
    pub retried: u64,
    pub waiting: usize,
}

#[derive(Debug, Clone)]
struct Waiting {
    announcement: Announcement,
    /// The latest time merged into it (staleness counts from here).
    latest_ms: Millis,
}

#[derive(Debug, Clone)]
struct Started {
    ticket: String,
    window: WindowNo,
    started_ms: Millis,
}

/// The announcement queue of one speaker zone.
#[derive(Debug, Clone)]
pub struct VoiceQueue {
    limits: VoiceLimits,
    waiting: VecDeque<Waiting>,
    recent: VecDeque<Started>,
    stats: VoiceStats,
}

impl Default for VoiceQueue {
    fn default() -> Self {
        VoiceQueue::new(VoiceLimits::default())
    }
}

impl VoiceQueue {
    /// An empty queue; `limits` are clamped to their ranges.
    pub fn new(limits: VoiceLimits) -> VoiceQueue {
        let limits = limits.clamped();
        VoiceQueue {
            limits,
            waiting: VecDeque::with_capacity(limits.capacity.min(64)),
            recent: VecDeque::with_capacity(RECENT_MAX),
            stats: VoiceStats::default(),
        }
    }

    pub fn limits(&self) -> VoiceLimits {
        self.limits
    }

    /// Times the speaker says each announcement it gets from [`next`](Self::next).
    pub fn repeats(&self) -> u8 {
        self.limits.repeats
    }

    /// Adds a call or recall heard at `now_ms`.
    pub fn push(&mut self, announcement: Announcement, now_ms: Millis) -> Pushed {
        self.stats.pushed += 1;
        self.drop_stale(now_ms);
        if self.is_stale(announcement.at_ms, now_ms) {
            self.stats.dropped_stale += 1;
            return Pushed::Stale;
        }
        if announcement.recall && self.merge(&announcement) {
            self.stats.merged += 1;
            return Pushed::Merged;
        }
        let mut outcome = Pushed::Queued;
        if self.waiting.len() >= self.limits.capacity {
            self.waiting.pop_front();
            self.stats.dropped_full += 1;
            outcome = Pushed::QueuedDroppedOldest;
        }
        let latest_ms = announcement.at_ms;
        self.waiting.push_back(Waiting {
            announcement,
            latest_ms,
        });
        self.sync_waiting();
        outcome
    }

    /// The next announcement to say, when the chip is idle at `now_ms`.
    /// Stale ones are dropped (and counted) first. The announcement is the
    /// one pushed first (a merged recall does not change it); say it
    /// [`repeats`](Self::repeats) times.
    pub fn next(&mut self, now_ms: Millis) -> Option<Announcement> {
        self.drop_stale(now_ms);
        let w = self.waiting.pop_front()?;
        self.sync_waiting();
        self.stats.spoken += 1;
        if self.recent.len() >= RECENT_MAX {
            self.recent.pop_front();
        }
        self.recent.push_back(Started {
            ticket: w.announcement.ticket.clone(),
            window: w.announcement.window,
            started_ms: now_ms,
        });
        Some(w.announcement)
    }

    /// Puts back, first in line, an announcement handed out by
    /// [`next`](Self::next) that the chip could not say (it did not
    /// answer). It keeps its time, so the staleness limit still applies;
    /// it is counted as spoken again only when handed out again.
    pub fn retry(&mut self, announcement: Announcement) {
        self.stats.spoken = self.stats.spoken.saturating_sub(1);
        self.stats.retried += 1;
        self.recent
            .retain(|s| !(s.ticket == announcement.ticket && s.window == announcement.window));
        let latest_ms = announcement.at_ms;
        self.waiting.push_front(Waiting {
            announcement,
            latest_ms,
        });
        if self.waiting.len() > self.limits.capacity {
            self.waiting.pop_back();
            self.stats.dropped_full += 1;
        }
        self.sync_waiting();
    }

    /// The announcements waiting, in the order they will be said.
    pub fn waiting(&self) -> impl Iterator<Item = &Announcement> {
        self.waiting.iter().map(|w| &w.announcement)
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    pub fn dropped_stale(&self) -> u64 {
        self.stats.dropped_stale
    }

    pub fn dropped_full(&self) -> u64 {
        self.stats.dropped_full
    }

    pub fn merged(&self) -> u64 {
        self.stats.merged
    }

    pub fn stats(&self) -> VoiceStats {
        self.stats
    }

    fn is_stale(&self, at_ms: Millis, now_ms: Millis) -> bool {
        now_ms.saturating_sub(at_ms) > self.limits.stale_ms
    }

    fn drop_stale(&mut self, now_ms: Millis) {
        let before = self.waiting.len();
        let stale_ms = self.limits.stale_ms;
        self.waiting
            .retain(|w| now_ms.saturating_sub(w.latest_ms) <= stale_ms);
        self.stats.dropped_stale += (before - self.waiting.len()) as u64;
        self.sync_waiting();
    }

    /// Merges a recall into a waiting or just started announcement of the
    /// same ticket and window; false when there is none.
    fn merge(&mut self, a: &Announcement) -> bool {
        if let Some(w) = self
            .waiting
            .iter_mut()
            .find(|w| w.announcement.ticket == a.ticket && w.announcement.window == a.window)
        {
            w.latest_ms = w.latest_ms.max(a.at_ms);
            return true;
        }
        let merge_ms = self.limits.merge_ms;
        self.recent.iter().any(|s| {
            s.ticket == a.ticket
                && s.window == a.window
                && a.at_ms <= s.started_ms.saturating_add(merge_ms)
        })
    }

    fn sync_waiting(&mut self) {
        self.stats.waiting = self.waiting.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(ticket: &str, window: WindowNo, at_ms: Millis) -> Announcement {
        Announcement {
            ticket: ticket.into(),
            window,
            at_ms,
            recall: false,
        }
    }

    #[test]
    fn limits_are_clamped() {
        let q = VoiceQueue::new(VoiceLimits {
            capacity: 0,
            repeats: 0,
            merge_ms: -1,
            stale_ms: -1,
        });
        assert_eq!(q.limits().capacity, 1);
        assert_eq!(q.repeats(), 1);
        assert_eq!(q.limits().merge_ms, 0);
        assert_eq!(q.limits().stale_ms, 0);
        let q = VoiceQueue::new(VoiceLimits {
            capacity: usize::MAX,
            repeats: u8::MAX,
            ..VoiceLimits::default()
        });
        assert_eq!(q.limits().capacity, CAPACITY_MAX);
        assert_eq!(q.repeats(), REPEATS_MAX);
    }

    #[test]
    fn fifo() {
        let mut q = VoiceQueue::default();
        assert_eq!(q.push(call("A001", 1, 0), 0), Pushed::Queued);
        assert_eq!(q.push(call("A002", 2, 10), 10), Pushed::Queued);
        assert_eq!(q.next(20).unwrap().ticket, "A001");
        assert_eq!(q.next(20).unwrap().ticket, "A002");
        assert_eq!(q.next(20), None);
        assert_eq!(q.stats().spoken, 2);
    }
}
