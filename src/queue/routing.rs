//! Routing: which waiting ticket a window calls next, and why.
//!
//! Waiting tickets live in *lanes*: one per (service, priority rank), plus
//! one per (window, rank) for tickets transferred to a named window. Each
//! lane keeps walk-ins ordered by [`QueueKey`] and appointments ordered by
//! their due time, so the head of a lane is found in O(log n). Call-next
//! looks only at lane heads of the services the window serves: a few dozen
//! candidates whatever the queue length.
//!
//! Candidates are ranked lexicographically (lower [`RankKey`] wins):
//! 1. an ordinary ticket promoted by the starvation bound,
//! 2. priority rank, higher first,
//! 3. an appointment whose due time has come,
//! 4. the window's weight for the service, higher first (tickets transferred
//!    to this very window count as weight 101, above any configured weight),
//! 5. queue key: arrival time, then issue order,
//! 6. ticket id (a total order, so routing is deterministic).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::command::WindowService;
use super::types::{Millis, TicketId, WindowNo};

/// A ticket's place in line. Arrival time first, then `order` (issue order,
/// spaced so a no-show can be slotted in between two tickets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QueueKey {
    pub at_ms: Millis,
    pub order: u64,
}

/// Spacing between the `order` of consecutively issued tickets.
pub const ORDER_SPACING: u64 = 1 << 20;

impl QueueKey {
    pub fn fresh(at_ms: Millis, ticket: TicketId) -> QueueKey {
        QueueKey {
            at_ms,
            order: ticket.0.saturating_mul(ORDER_SPACING),
        }
    }
}

/// Weight given to tickets transferred to a named window, above any configured weight (1–100).
pub const DIRECTED_WEIGHT: u32 = 101;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lane {
    walk_in: BTreeSet<(QueueKey, TicketId)>,
    /// (due_ms, key, id)
    appointment: BTreeSet<(Millis, QueueKey, TicketId)>,
}

/// Where a waiting ticket sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LaneId<'a> {
    Service(&'a str, u32),
    Window(WindowNo, u32),
}

/// The entry a ticket has in a lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub id: TicketId,
    pub key: QueueKey,
    pub due_ms: Option<Millis>,
}

impl Lane {
    fn insert(&mut self, e: Entry) {
        match e.due_ms {
            Some(due) => self.appointment.insert((due, e.key, e.id)),
            None => self.walk_in.insert((e.key, e.id)),
        };
    }

    fn remove(&mut self, e: Entry) -> bool {
        match e.due_ms {
            Some(due) => self.appointment.remove(&(due, e.key, e.id)),
            None => self.walk_in.remove(&(e.key, e.id)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.walk_in.is_empty() && self.appointment.is_empty()
    }

    pub fn len(&self) -> usize {
        self.walk_in.len() + self.appointment.len()
    }

    /// The lane's head at `now_ms` and whether it is a due appointment.
    fn head(&self, now_ms: Millis) -> Option<(Entry, bool)> {
        let appt = self.appointment.first().copied();
        let walk = self.walk_in.first().copied();
        match (appt, walk) {
            (Some((due, key, id)), _) if due <= now_ms => Some((
                Entry {
                    id,
                    key,
                    due_ms: Some(due),
                },
                true,
            )),
            // An appointment not yet due lines up by its due time among walk-ins.
            (Some((due, key, id)), Some((wkey, wid))) => {
                if (due, id) < (wkey.at_ms, wid) {
                    Some((
                        Entry {
                            id,
                            key,
                            due_ms: Some(due),
                        },
                        false,
                    ))
                } else {
                    Some((
                        Entry {
                            id: wid,
                            key: wkey,
                            due_ms: None,
                        },
                        false,
                    ))
                }
            }
            (Some((due, key, id)), None) => Some((
                Entry {
                    id,
                    key,
                    due_ms: Some(due),
                },
                false,
            )),
            (None, Some((key, id))) => Some((
                Entry {
                    id,
                    key,
                    due_ms: None,
                },
                false,
            )),
            (None, None) => None,
        }
    }

    /// The key that puts a ticket behind `places` walk-ins (last, if fewer
    /// wait; `fallback` when none wait). Equal keys are ordered by ticket id.
    pub fn key_after(&self, places: usize, fallback: QueueKey) -> QueueKey {
        let keys: Vec<QueueKey> = self
            .walk_in
            .iter()
            .map(|(k, _)| *k)
            .take(places + 1)
            .collect();
        match (keys.first(), places) {
            (None, _) => fallback,
            (Some(first), 0) => QueueKey {
                at_ms: first.at_ms,
                order: first.order.saturating_sub(1),
            },
            _ if keys.len() <= places => {
                let last = keys[keys.len() - 1];
                QueueKey {
                    at_ms: last.at_ms,
                    order: last.order.saturating_add(ORDER_SPACING / 2),
                }
            }
            _ => between(keys[places - 1], keys[places]),
        }
    }

    fn walk_ins(&self) -> impl Iterator<Item = &(QueueKey, TicketId)> {
        self.walk_in.iter()
    }

    /// When the longest-waiting ticket of this lane began to wait (see
    /// [`Entry::wait_start_ms`]); `None` for an empty lane. O(1) for
    /// walk-ins; appointments are scanned only while their slot is earlier
    /// than the best start found.
    pub fn wait_start_ms(&self) -> Option<Millis> {
        let mut best = self.walk_in.first().map(|(k, _)| k.at_ms);
        for (due, key, _) in &self.appointment {
            if best.is_some_and(|b| *due >= b) {
                break;
            }
            let start = (*due).max(key.at_ms);
            best = Some(best.map_or(start, |b| b.min(start)));
        }
        best
    }

    /// Every ticket of the lane: walk-ins in line order, then appointments by slot.
    pub fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        let walk = self.walk_in.iter().map(|(key, id)| Entry {
            id: *id,
            key: *key,
            due_ms: None,
        });
        let appt = self.appointment.iter().map(|(due, key, id)| Entry {
            id: *id,
            key: *key,
            due_ms: Some(*due),
        });
        walk.chain(appt)
    }
}

impl Entry {
    /// When this ticket began to wait: a walk-in from its place in line
    /// (its original arrival, kept through transfers), an appointment from
    /// its slot, or from its arrival when it came after the slot.
    pub fn wait_start_ms(&self) -> Millis {
        self.due_ms
            .map_or(self.key.at_ms, |due| due.max(self.key.at_ms))
    }
}

/// A key after `a` and not after `b` (`a < b`, neighbours in a lane). It
/// leaves room on both sides, so a later no-show slotted into the same gap
/// gets a key of its own (with `a.order + 1`, the next one would tie with this one).
fn between(a: QueueKey, b: QueueKey) -> QueueKey {
    if a.at_ms == b.at_ms {
        QueueKey {
            at_ms: a.at_ms,
            order: a.order + (b.order - a.order).div_ceil(2),
        }
    } else {
        QueueKey {
            at_ms: a.at_ms,
            order: a.order.saturating_add(ORDER_SPACING / 2),
        }
    }
}

/// Starvation bookkeeping for the ordinary (rank 0) lane of one service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Starvation {
    /// Routed priority calls in a row that passed over this service's ordinary tickets.
    pub streak: u32,
    /// When the current run of passing-over began.
    pub since_ms: Option<Millis>,
}

/// All waiting tickets, indexed for routing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Queues {
    by_service: HashMap<String, BTreeMap<u32, Lane>>,
    by_window: HashMap<WindowNo, BTreeMap<u32, Lane>>,
    starvation: HashMap<String, Starvation>,
    /// The same, for the ordinary tickets transferred to a named window.
    window_starvation: HashMap<WindowNo, Starvation>,
    waiting: usize,
}

/// How the starvation bound is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StarvationBound {
    pub streak_max: u32,
    pub extra_wait_ms_max: Millis,
}

impl StarvationBound {
    /// Whether a run has reached the bound (in calls or in time).
    pub fn reached(&self, run: Starvation, now_ms: Millis) -> bool {
        run.streak >= self.streak_max
            || run
                .since_ms
                .is_some_and(|t| now_ms - t >= self.extra_wait_ms_max)
    }
}

/// One candidate of a call-next decision, with every criterion spelled out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub ticket: TicketId,
    pub service: String,
    /// Set when the ticket was transferred to this window.
    pub directed: bool,
    pub rank: u32,
    pub promoted: bool,
    pub appointment_due: bool,
    pub weight: u32,
    pub key: QueueKey,
    /// The appointment's due time (to find the ticket in its lane).
    #[serde(skip)]
    pub due_ms: Option<Millis>,
}

/// The lexicographic rank; smaller wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RankKey {
    not_promoted: bool,
    neg_rank: std::cmp::Reverse<u32>,
    not_due: bool,
    neg_weight: std::cmp::Reverse<u32>,
    key: QueueKey,
    id: TicketId,
}

impl Candidate {
    pub fn rank_key(&self) -> RankKey {
        RankKey {
            not_promoted: !self.promoted,
            neg_rank: std::cmp::Reverse(self.rank),
            not_due: !self.appointment_due,
            neg_weight: std::cmp::Reverse(self.weight),
            key: self.key,
            id: self.ticket,
        }
    }

    /// Why this candidate beats `other` (the first criterion that differs), in English.
    pub fn beats_because(&self, other: &Candidate) -> &'static str {
        let (a, b) = (self.rank_key(), other.rank_key());
        if a.not_promoted != b.not_promoted {
            "starvation bound: an ordinary ticket passed over too long is served first"
        } else if a.neg_rank != b.neg_rank {
            "higher priority class"
        } else if a.not_due != b.not_due {
            "appointment due"
        } else if a.neg_weight != b.neg_weight {
            "higher weight of this window for the service"
        } else if a.key != b.key {
            "arrived earlier"
        } else {
            "issued earlier"
        }
    }
}

impl Queues {
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    fn lane_mut(&mut self, lane: LaneId<'_>) -> &mut Lane {
        match lane {
            LaneId::Service(s, r) => {
                if !self.by_service.contains_key(s) {
                    self.by_service.insert(s.to_string(), BTreeMap::new());
                }
                self.by_service
                    .get_mut(s)
                    .map(|m| m.entry(r).or_default())
                    .expect("inserted above")
            }
            LaneId::Window(w, r) => self.by_window.entry(w).or_default().entry(r).or_default(),
        }
    }

    pub fn lane(&self, lane: LaneId<'_>) -> Option<&Lane> {
        match lane {
            LaneId::Service(s, r) => self.by_service.get(s)?.get(&r),
            LaneId::Window(w, r) => self.by_window.get(&w)?.get(&r),
        }
    }

    pub fn insert(&mut self, lane: LaneId<'_>, e: Entry) {
        self.lane_mut(lane).insert(e);
        self.waiting += 1;
    }

    /// Removes a ticket; resets the starvation run of a service whose ordinary lane empties.
    pub fn remove(&mut self, lane: LaneId<'_>, e: Entry) -> bool {
        let l = self.lane_mut(lane);
        let removed = l.remove(e);
        let now_empty = l.is_empty();
        if removed {
            self.waiting = self.waiting.saturating_sub(1);
        }
        if now_empty {
            match lane {
                LaneId::Service(s, 0) => {
                    self.starvation.remove(s);
                }
                LaneId::Window(w, 0) => {
                    self.window_starvation.remove(&w);
                }
                _ => {}
            }
        }
        removed
    }

    pub fn starvation(&self, service: &str) -> Starvation {
        self.starvation.get(service).copied().unwrap_or_default()
    }

    /// The run of passing over ordinary tickets transferred to this window.
    pub fn window_starvation(&self, window: WindowNo) -> Starvation {
        self.window_starvation
            .get(&window)
            .copied()
            .unwrap_or_default()
    }

    fn has_ordinary(&self, service: &str) -> bool {
        self.lane(LaneId::Service(service, 0))
            .is_some_and(|l| !l.is_empty())
    }

    /// Records a routed call at `window`, which serves `services`. A
    /// priority call lengthens the run of every service whose ordinary line
    /// it passed over, and the window's own run when ordinary tickets were
    /// transferred to it. An ordinary call ends the run of the line it came
    /// from (its service's, or the window's directed line).
    pub fn note_routed_call<'a>(
        &mut self,
        window: WindowNo,
        services: impl Iterator<Item = &'a str>,
        called_service: &str,
        called_directed: bool,
        called_rank: u32,
        at_ms: Millis,
    ) {
        if called_rank == 0 {
            if called_directed {
                self.window_starvation.remove(&window);
            } else {
                self.starvation.remove(called_service);
            }
            return;
        }
        for s in services {
            if self.has_ordinary(s) {
                let st = self.starvation.entry(s.to_string()).or_default();
                st.streak += 1;
                st.since_ms.get_or_insert(at_ms);
            }
        }
        if self
            .lane(LaneId::Window(window, 0))
            .is_some_and(|l| !l.is_empty())
        {
            let st = self.window_starvation.entry(window).or_default();
            st.streak += 1;
            st.since_ms.get_or_insert(at_ms);
        }
    }

    /// Every lane head this window may call, ranked best first.
    pub fn candidates(
        &self,
        window: WindowNo,
        services: &[WindowService],
        bound: StarvationBound,
        now_ms: Millis,
        service_of: impl Fn(TicketId) -> String,
    ) -> Vec<Candidate> {
        let mut out = Vec::new();
        for WindowService { service, weight } in services {
            let Some(lanes) = self.by_service.get(service) else {
                continue;
            };
            let starved = bound.reached(self.starvation(service), now_ms);
            for (&rank, lane) in lanes.iter() {
                if let Some((e, due)) = lane.head(now_ms) {
                    out.push(Candidate {
                        ticket: e.id,
                        service: service.clone(),
                        directed: false,
                        rank,
                        promoted: rank == 0 && starved,
                        appointment_due: due,
                        weight: *weight,
                        key: e.key,
                        due_ms: e.due_ms,
                    });
                }
            }
        }
        if let Some(lanes) = self.by_window.get(&window) {
            let starved = bound.reached(self.window_starvation(window), now_ms);
            for (&rank, lane) in lanes.iter() {
                if let Some((e, due)) = lane.head(now_ms) {
                    out.push(Candidate {
                        ticket: e.id,
                        service: service_of(e.id),
                        directed: true,
                        rank,
                        promoted: rank == 0 && starved,
                        appointment_due: due,
                        weight: DIRECTED_WEIGHT,
                        key: e.key,
                        due_ms: e.due_ms,
                    });
                }
            }
        }
        out.sort_by_key(Candidate::rank_key);
        out
    }

    /// The next `n` tickets this window would call, in order, if it called
    /// `n` times now and nothing else happened: successive call-nexts played
    /// on a copy of just this window's lanes, starvation runs included.
    pub fn preview(
        &self,
        window: WindowNo,
        services: &[WindowService],
        bound: StarvationBound,
        now_ms: Millis,
        n: usize,
        service_of: impl Fn(TicketId) -> String,
    ) -> Vec<Candidate> {
        let mut q = Queues::default();
        for s in services {
            if let Some(lanes) = self.by_service.get(&s.service) {
                q.by_service.insert(s.service.clone(), lanes.clone());
            }
            if let Some(st) = self.starvation.get(&s.service) {
                q.starvation.insert(s.service.clone(), *st);
            }
        }
        if let Some(lanes) = self.by_window.get(&window) {
            q.by_window.insert(window, lanes.clone());
        }
        if let Some(st) = self.window_starvation.get(&window) {
            q.window_starvation.insert(window, *st);
        }
        q.waiting = q
            .by_service
            .values()
            .chain(q.by_window.values())
            .flat_map(|l| l.values())
            .map(Lane::len)
            .sum();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let Some(c) = q
                .candidates(window, services, bound, now_ms, &service_of)
                .into_iter()
                .next()
            else {
                break;
            };
            let names = services.iter().map(|s| s.service.as_str());
            q.note_routed_call(window, names, &c.service, c.directed, c.rank, now_ms);
            let lane = if c.directed {
                LaneId::Window(window, c.rank)
            } else {
                LaneId::Service(&c.service, c.rank)
            };
            q.remove(
                lane,
                Entry {
                    id: c.ticket,
                    key: c.key,
                    due_ms: c.due_ms,
                },
            );
            out.push(c);
        }
        out
    }

    /// Tickets ahead of `e` in its own lane (walk-ins with a smaller key, due
    /// appointments, appointments due before its arrival).
    pub fn ahead_in_lane(&self, lane: LaneId<'_>, e: Entry, now_ms: Millis) -> usize {
        let Some(l) = self.lane(lane) else { return 0 };
        let my_time = e.due_ms.unwrap_or(e.key.at_ms);
        let walk = l
            .walk_ins()
            .take_while(|(k, id)| (k.at_ms, k.order, *id) < (my_time, e.key.order, e.id))
            .count();
        let appt = l
            .appointment
            .iter()
            .take_while(|(due, _, id)| *due <= now_ms.max(my_time) && (*due, *id) < (my_time, e.id))
            .count();
        walk + appt
    }

    /// Waiting tickets per service (all ranks, not counting directed lanes).
    pub fn waiting_for(&self, service: &str) -> usize {
        self.by_service
            .get(service)
            .map_or(0, |m| m.values().map(Lane::len).sum())
    }

    /// The lanes of a service, one per priority rank (not the directed lanes).
    pub fn service_lanes(&self, service: &str) -> impl Iterator<Item = &Lane> {
        self.by_service
            .get(service)
            .into_iter()
            .flat_map(|m| m.values())
    }

    /// The lanes of tickets transferred to a named window, with that window
    /// (in no particular order).
    pub fn directed_lanes(&self) -> impl Iterator<Item = (WindowNo, &Lane)> {
        self.by_window
            .iter()
            .flat_map(|(w, m)| m.values().map(move |l| (*w, l)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: u64, at: Millis) -> Entry {
        Entry {
            id: TicketId(id),
            key: QueueKey::fresh(at, TicketId(id)),
            due_ms: None,
        }
    }

    #[test]
    fn head_is_fifo_and_appointment_due_wins() {
        let mut q = Queues::default();
        q.insert(LaneId::Service("a", 0), e(2, 200));
        q.insert(LaneId::Service("a", 0), e(1, 100));
        let bound = StarvationBound {
            streak_max: 3,
            extra_wait_ms_max: 60_000,
        };
        let svc = vec![WindowService {
            service: "a".to_string(),
            weight: 1,
        }];
        let c = q.candidates(1, &svc, bound, 300, |_| "a".into());
        assert_eq!(c[0].ticket, TicketId(1));
        let appt = Entry {
            id: TicketId(3),
            key: QueueKey::fresh(250, TicketId(3)),
            due_ms: Some(1000),
        };
        q.insert(LaneId::Service("a", 0), appt);
        // Not yet due: it lines up by due time, behind both walk-ins.
        assert_eq!(
            q.candidates(1, &svc, bound, 300, |_| "a".into())[0].ticket,
            TicketId(1)
        );
        // Due: it goes first.
        let c = q.candidates(1, &svc, bound, 1000, |_| "a".into());
        assert_eq!(c[0].ticket, TicketId(3));
        assert!(c[0].appointment_due);
    }

    #[test]
    fn key_after_slots_between() {
        let mut lane = Lane::default();
        for (id, at) in [(1, 10), (2, 20), (3, 30)] {
            lane.insert(e(id, at));
        }
        let fallback = QueueKey {
            at_ms: 999,
            order: 0,
        };
        let k = lane.key_after(2, fallback);
        assert!(k > QueueKey::fresh(20, TicketId(2)) && k < QueueKey::fresh(30, TicketId(3)));
        assert_eq!(
            lane.key_after(5, fallback),
            QueueKey {
                at_ms: 30,
                order: 3 * ORDER_SPACING + ORDER_SPACING / 2
            }
        );
        assert!(lane.key_after(0, fallback) < QueueKey::fresh(10, TicketId(1)));
        assert_eq!(Lane::default().key_after(3, fallback), fallback);
    }
}
