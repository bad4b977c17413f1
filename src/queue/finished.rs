//! The day's ended tickets, held compactly.
//!
//! A ticket that stops being live (finished, no-show, cancelled, expired)
//! never changes again (no event applies to a ticket that is not live), and
//! a busy hall ends thousands of them a day; they are kept only to answer
//! for them (a citizen's phone, the day's figures, reports). So they are
//! held densely, in id order, in a form half a [`Ticket`]'s size: the names
//! they repeat (the services, the priority, the staff account) as indices
//! into one table of the day's names, the optional fields with a flag
//! instead of an `Option`'s padding. A ticket is rebuilt, exactly as it
//! ended, when it is asked for.

use std::collections::HashMap;

use chrono::NaiveDate;
use compact_str::CompactString;

use super::routing::QueueKey;
use super::state::Ticket;
use super::types::{IssueSource, Millis, Outcome, TicketId, TicketStatus, WindowNo};

/// Bits of [`Ended::flags`]: which optional fields are present, and the source.
const CALLED: u8 = 1;
const STARTED: u8 = 1 << 1;
const WINDOW: u8 = 1 << 2;
const DIRECTED: u8 = 1 << 3;
const SOURCE_STAFF: u8 = 1 << 4;
const SOURCE_APPOINTMENT: u8 = 1 << 5;

/// An index into [`Names`]; `NO_NAME` for an absent optional name.
type Name = u32;
const NO_NAME: Name = Name::MAX;

/// An ended ticket: 128 bytes, where a [`Ticket`] is 264.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ended {
    id: TicketId,
    issued_ms: Millis,
    key: QueueKey,
    /// Valid when `flags` has [`CALLED`].
    called_ms: Millis,
    /// Valid when `flags` has [`STARTED`].
    started_ms: Millis,
    number: CompactString,
    day: NaiveDate,
    rank: u32,
    cases: u32,
    /// Valid when `flags` has [`WINDOW`].
    window: WindowNo,
    /// Valid when `flags` has [`DIRECTED`].
    directed_to: WindowNo,
    recalls: u32,
    no_shows: u32,
    step: u32,
    /// With [`SOURCE_APPOINTMENT`]: its index in [`Finished::appointments`].
    appointment: u32,
    issued_for: Name,
    service: Name,
    priority: Name,
    first_receiver: Name,
    status: TicketStatus,
    outcome: Option<Outcome>,
    parked_from: Option<TicketStatus>,
    flags: u8,
}

/// The day's distinct names (service ids, priorities, staff accounts): a
/// few hundred, each held once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Names {
    names: Vec<CompactString>,
    index: HashMap<CompactString, Name>,
}

impl Names {
    fn intern(&mut self, name: &CompactString) -> Name {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        // A name costs at least its 24 bytes twice, so memory runs out long
        // before 2³² - 1 names; the last index is kept for "none".
        let i = Name::try_from(self.names.len())
            .ok()
            .filter(|&i| i != NO_NAME)
            .expect("fewer than 2^32 - 1 distinct names in a day");
        self.names.push(name.clone());
        self.index.insert(name.clone(), i);
        i
    }

    fn intern_opt(&mut self, name: Option<&CompactString>) -> Name {
        name.map_or(NO_NAME, |n| self.intern(n))
    }

    fn get(&self, i: Name) -> CompactString {
        self.names.get(i as usize).cloned().unwrap_or_default()
    }

    fn get_opt(&self, i: Name) -> Option<CompactString> {
        (i != NO_NAME).then(|| self.get(i))
    }
}

/// The day's tickets that are no longer live, in id order. A ticket moves
/// here from the live table when the event that ends it is applied, and
/// never changes again. A lookup is a binary search and rebuilds the
/// ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finished {
    tickets: Vec<Ended>,
    names: Names,
    /// The (code, slot start) of ended tickets checked in for an appointment.
    appointments: Vec<(String, Millis)>,
}

impl Finished {
    /// Adds a ticket that has just stopped being live. Tickets end roughly
    /// in the order they were issued, so it goes at or near the end.
    pub(super) fn insert(&mut self, t: Ticket) {
        let e = self.compact(t);
        match self.tickets.binary_search_by_key(&e.id, |x| x.id) {
            Ok(i) => self.tickets[i] = e,
            Err(i) => self.tickets.insert(i, e),
        }
    }

    fn find(&self, id: TicketId) -> Option<&Ended> {
        let i = self.tickets.binary_search_by_key(&id, |x| x.id).ok()?;
        Some(&self.tickets[i])
    }

    /// A finished ticket, as it ended.
    pub fn get(&self, id: TicketId) -> Option<Ticket> {
        self.find(id).map(|e| self.rebuild(e))
    }

    /// A finished ticket's number (without rebuilding the ticket).
    pub fn number(&self, id: TicketId) -> Option<&str> {
        self.find(id).map(|e| e.number.as_str())
    }

    /// The last issued ticket with this number (a series may issue it again
    /// after it wraps round).
    pub(super) fn last_numbered(&self, number: &str) -> Option<Ticket> {
        self.tickets
            .iter()
            .rev()
            .find(|t| t.number == number)
            .map(|e| self.rebuild(e))
    }

    /// The finished tickets' ids, in order (without rebuilding them).
    pub fn ids(&self) -> impl Iterator<Item = TicketId> + '_ {
        self.tickets.iter().map(|e| e.id)
    }

    /// Every finished ticket, in id order.
    pub fn iter(&self) -> impl Iterator<Item = Ticket> + '_ {
        self.tickets.iter().map(|e| self.rebuild(e))
    }

    pub fn len(&self) -> usize {
        self.tickets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tickets.is_empty()
    }

    /// Forgets every ticket, giving the memory back (a new day, or a replica).
    pub(super) fn clear(&mut self) {
        *self = Finished::default();
    }

    fn compact(&mut self, t: Ticket) -> Ended {
        let mut flags = 0;
        let mut appointment = 0;
        match t.source {
            IssueSource::Kiosk => {}
            IssueSource::Staff => flags |= SOURCE_STAFF,
            IssueSource::Appointment { code, due_ms } => {
                flags |= SOURCE_APPOINTMENT;
                // As many as the day's ended tickets, which fit in memory.
                appointment = u32::try_from(self.appointments.len())
                    .expect("fewer than 2^32 ended tickets in a day");
                self.appointments.push((code, due_ms));
            }
        }
        for (present, bit) in [
            (t.called_ms.is_some(), CALLED),
            (t.started_ms.is_some(), STARTED),
            (t.window.is_some(), WINDOW),
            (t.directed_to.is_some(), DIRECTED),
        ] {
            if present {
                flags |= bit;
            }
        }
        Ended {
            id: t.id,
            issued_ms: t.issued_ms,
            key: t.key,
            called_ms: t.called_ms.unwrap_or_default(),
            started_ms: t.started_ms.unwrap_or_default(),
            day: t.day,
            rank: t.rank,
            cases: t.cases,
            window: t.window.unwrap_or_default(),
            directed_to: t.directed_to.unwrap_or_default(),
            recalls: t.recalls,
            no_shows: t.no_shows,
            step: t.step,
            appointment,
            issued_for: self.names.intern(&t.issued_for),
            service: self.names.intern(&t.service),
            priority: self.names.intern_opt(t.priority.as_ref()),
            first_receiver: self.names.intern_opt(t.first_receiver.as_ref()),
            status: t.status,
            outcome: t.outcome,
            parked_from: t.parked_from,
            flags,
            number: t.number,
        }
    }

    fn rebuild(&self, e: &Ended) -> Ticket {
        let has = |bit: u8| e.flags & bit != 0;
        let source = if has(SOURCE_APPOINTMENT) {
            let (code, due_ms) = self
                .appointments
                .get(e.appointment as usize)
                .cloned()
                .unwrap_or_default();
            IssueSource::Appointment { code, due_ms }
        } else if has(SOURCE_STAFF) {
            IssueSource::Staff
        } else {
            IssueSource::Kiosk
        };
        Ticket {
            id: e.id,
            number: e.number.clone(),
            day: e.day,
            issued_for: self.names.get(e.issued_for),
            service: self.names.get(e.service),
            priority: self.names.get_opt(e.priority),
            rank: e.rank,
            source,
            cases: e.cases,
            issued_ms: e.issued_ms,
            key: e.key,
            status: e.status,
            window: has(WINDOW).then_some(e.window),
            directed_to: has(DIRECTED).then_some(e.directed_to),
            recalls: e.recalls,
            no_shows: e.no_shows,
            first_receiver: self.names.get_opt(e.first_receiver),
            outcome: e.outcome,
            step: e.step,
            called_ms: has(CALLED).then_some(e.called_ms),
            started_ms: has(STARTED).then_some(e.started_ms),
            parked_from: e.parked_from,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(id: u64) -> Ticket {
        let at_ms = 1_000 * id as i64;
        Ticket {
            status: TicketStatus::Finished,
            ..Ticket::waiting(
                TicketId(id),
                &format!("A{id:03}"),
                NaiveDate::from_ymd_opt(2026, 11, 25).expect("a date"),
                "social-security",
                at_ms,
                QueueKey {
                    at_ms,
                    order: id << 20,
                },
            )
        }
    }

    #[test]
    fn an_ended_ticket_is_the_size_the_docs_say() {
        assert_eq!(std::mem::size_of::<Ended>(), 128);
        assert_eq!(std::mem::size_of::<Ticket>(), 264);
    }

    #[test]
    fn every_field_comes_back_as_it_ended() {
        let plain = ticket(1);
        let full = Ticket {
            number: CompactString::from("a number longer than twenty-four bytes"),
            issued_for: "tax".into(),
            service: "pay".into(),
            priority: Some("elderly".into()),
            rank: 2,
            source: IssueSource::Appointment {
                code: "YY-20261125-0042".into(),
                due_ms: 123_456,
            },
            cases: 3,
            status: TicketStatus::NoShow,
            window: Some(0),
            directed_to: Some(WindowNo::MAX),
            recalls: 4,
            no_shows: 5,
            first_receiver: Some("zhang.wei".into()),
            outcome: Some(Outcome::WrongJurisdiction),
            step: 6,
            called_ms: Some(-7),
            started_ms: Some(Millis::MAX),
            parked_from: Some(TicketStatus::Serving),
            ..ticket(2)
        };
        let staff = Ticket {
            source: IssueSource::Staff,
            window: Some(WindowNo::MAX),
            called_ms: Some(0),
            ..ticket(3)
        };
        let mut f = Finished::default();
        for t in [&staff, &plain, &full] {
            f.insert(t.clone());
        }
        assert_eq!(f.get(TicketId(1)).as_ref(), Some(&plain));
        assert_eq!(f.get(TicketId(2)).as_ref(), Some(&full));
        assert_eq!(f.get(TicketId(3)).as_ref(), Some(&staff));
        assert_eq!(f.get(TicketId(4)), None);
        assert_eq!(f.number(TicketId(2)), Some(full.number.as_str()));
        assert_eq!(f.number(TicketId(4)), None);
        let ids: Vec<u64> = f.iter().map(|t| t.id.0).collect();
        assert_eq!(ids, [1, 2, 3], "held in id order");
        assert!(f.ids().eq(f.iter().map(|t| t.id)));
        assert_eq!(f.names.names.len(), 5, "each name held once");
        assert_eq!(
            f.last_numbered("A003").map(|t| t.id),
            Some(TicketId(3)),
            "found by number"
        );
        f.clear();
        assert!(f.is_empty());
        assert_eq!(f, Finished::default());
    }
}
