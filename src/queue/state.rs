//! The hall as a value, and `evolve`: how each event changes it.
//!
//! `evolve` trusts its events (they were decided against this very state,
//! or are being replayed from the journal), but it never panics: an event
//! that names something unknown is skipped, so a journal written under an
//! older configuration still replays.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;
use compact_str::CompactString;
use serde::Serialize;

use super::command::WindowService;
use super::event::Event;
pub use super::finished::Finished;
use super::routing::{Entry, LaneId, QueueKey, Queues, StarvationBound};
use super::types::{
    CallRule, IssueSource, MINUTE_MS, Millis, Outcome, PauseReason, TicketId, TicketStatus,
    WindowActivity, WindowNo,
};
use crate::config::Config;

/// Most live tickets the hall holds at once (a limit on memory; issuing is refused beyond it).
pub const LIVE_TICKETS_MAX: usize = 100_000;
/// Most tickets parked at one window.
pub const PARKED_PER_WINDOW_MAX: usize = 20;

/// A ticket of the day. The hall keeps every one until the next day opens,
/// so its short strings (number, service ids, staff account) are
/// `CompactString`s, stored inline up to 24 bytes: no heap block each
/// (glibc's smallest is 32 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    pub id: TicketId,
    pub number: CompactString,
    pub day: NaiveDate,
    /// The service whose series issued the number.
    pub issued_for: CompactString,
    /// The service of the current step.
    pub service: CompactString,
    pub priority: Option<CompactString>,
    pub rank: u32,
    pub source: IssueSource,
    pub cases: u32,
    pub issued_ms: Millis,
    /// Place in line, kept through transfers and next steps.
    pub key: QueueKey,
    pub status: TicketStatus,
    /// The window it is called to, served at, or parked at.
    pub window: Option<WindowNo>,
    /// Transferred to this window only.
    pub directed_to: Option<WindowNo>,
    pub recalls: u32,
    pub no_shows: u32,
    /// 首问负责: the staff member who first served this citizen.
    pub first_receiver: Option<CompactString>,
    pub outcome: Option<Outcome>,
    pub step: u32,
    pub called_ms: Option<Millis>,
    pub started_ms: Option<Millis>,
    /// The status to return to when unparked.
    #[serde(skip)]
    pub parked_from: Option<TicketStatus>,
}

impl Ticket {
    /// A ticket just issued: waiting in its service's line, a walk-in from a
    /// kiosk with one case and no priority until told otherwise.
    pub fn waiting(
        id: TicketId,
        number: &str,
        day: NaiveDate,
        service: &str,
        issued_ms: Millis,
        key: QueueKey,
    ) -> Ticket {
        Ticket {
            id,
            number: number.into(),
            day,
            issued_for: service.into(),
            service: service.into(),
            priority: None,
            rank: 0,
            source: IssueSource::Kiosk,
            cases: 1,
            issued_ms,
            key,
            status: TicketStatus::Waiting,
            window: None,
            directed_to: None,
            recalls: 0,
            no_shows: 0,
            first_receiver: None,
            outcome: None,
            step: 0,
            called_ms: None,
            started_ms: None,
            parked_from: None,
        }
    }

    /// The appointment slot it is called near; `None` for walk-ins and for a
    /// missed appointment, which goes back in line as a walk-in (after a no-show).
    pub fn due_ms(&self) -> Option<Millis> {
        match self.source {
            IssueSource::Appointment { due_ms, .. } if self.no_shows == 0 => Some(due_ms),
            _ => None,
        }
    }

    pub fn lane(&self) -> LaneId<'_> {
        match self.directed_to {
            Some(w) => LaneId::Window(w, self.rank),
            None => LaneId::Service(&self.service, self.rank),
        }
    }

    pub fn entry(&self) -> Entry {
        Entry {
            id: self.id,
            key: self.key,
            due_ms: self.due_ms(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowState {
    pub number: WindowNo,
    pub open: bool,
    pub services: Vec<WindowService>,
    pub staff: Option<String>,
    pub current: Option<TicketId>,
    pub paused: Option<PauseReason>,
    pub parked: Vec<TicketId>,
    /// When the window last changed activity (for idle time).
    pub since_ms: Millis,
    /// The ticket last finished here, until it is rated or marked not rated.
    pub awaiting_rating: Option<AwaitingRating>,
}

/// A finished ticket whose rating the window's evaluator may still record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwaitingRating {
    pub ticket: TicketId,
    pub staff: String,
    pub finished_ms: Millis,
    /// The service of the visit that finished (after a flow step the
    /// ticket's own `service` is already the next step's): the service a
    /// rating is about.
    pub service: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeriesState {
    pub next: u32,
    pub cycle: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OpenSession {
    pub slot: Option<u32>,
    pub ends_ms: Option<Millis>,
}

/// Everything that changes. Compared as a whole by replay tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub day: Option<NaiveDate>,
    pub day_ended: bool,
    pub session: Option<OpenSession>,
    /// The calendar slot a manager closed early today (not reopened by the calendar).
    pub closed_slot: Option<(NaiveDate, u32)>,
    pub config_sha256: Option<String>,
    pub next_ticket: u64,
    /// The live tickets (waiting, called, serving, parked). Boxed: the
    /// table holds a pointer, not a ~260-byte ticket, so its spare buckets
    /// (and the old and new tables while it grows) cost little.
    pub tickets: HashMap<TicketId, Box<Ticket>>,
    /// The day's tickets that are no longer live, held densely (see [`Finished`]).
    pub finished: Finished,
    /// The live tickets' numbers → the ticket holding it (a carried-over
    /// ticket from an earlier day keeps its number while it lives). A
    /// finished ticket's number is looked up in [`State::finished`].
    pub by_number: HashMap<CompactString, TicketId>,
    pub series: HashMap<String, SeriesState>,
    pub cases_issued: HashMap<String, u32>,
    pub slot_cases: HashMap<(String, u32), u32>,
    pub person_tickets: HashMap<(String, String), u32>,
    pub appointments: HashSet<String>,
    pub windows: BTreeMap<WindowNo, WindowState>,
    pub staff_at: HashMap<String, WindowNo>,
    pub queues: Queues,
    pub live: usize,
    /// Today's recent calls, arrivals and waits by hour, staff counts.
    pub tally: super::tally::DayTally,
}

/// The hall: its configuration and its state.
#[derive(Debug, Clone)]
pub struct Hall {
    pub(crate) config: Arc<Config>,
    pub(crate) s: State,
}

impl Hall {
    /// A hall before any event: windows as configured, no business day.
    pub fn new(config: Arc<Config>) -> Hall {
        let windows = config
            .windows()
            .iter()
            .map(|w| {
                let services = w
                    .services
                    .iter()
                    .map(|s| WindowService {
                        service: s.service.clone(),
                        weight: s.weight,
                    })
                    .collect();
                let state = WindowState {
                    number: w.number,
                    open: w.open,
                    services,
                    staff: None,
                    current: None,
                    paused: None,
                    parked: Vec::new(),
                    since_ms: 0,
                    awaiting_rating: None,
                };
                (w.number, state)
            })
            .collect();
        Hall {
            config,
            s: State {
                windows,
                next_ticket: 1,
                ..State::default()
            },
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// A copy to look ahead from: the hall with its live tickets only, and
    /// without the day's tally. Deciding never reads a finished ticket (the
    /// series skip only numbers that are live, lines and windows hold only
    /// live tickets, caps count in their own maps) nor the tally, so the
    /// copy decides exactly as the hall does, and costs in proportion to the
    /// line instead of to the day's tickets. Answers about finished tickets
    /// (`ticket`, `ticket_by_number`) and the day's figures are not in it.
    pub fn live_copy(&self) -> Hall {
        let s = &self.s;
        Hall {
            config: self.config.clone(),
            s: State {
                day: s.day,
                day_ended: s.day_ended,
                session: s.session,
                closed_slot: s.closed_slot,
                config_sha256: s.config_sha256.clone(),
                next_ticket: s.next_ticket,
                tickets: s.tickets.clone(),
                finished: Finished::default(),
                by_number: s.by_number.clone(),
                series: s.series.clone(),
                cases_issued: s.cases_issued.clone(),
                slot_cases: s.slot_cases.clone(),
                person_tickets: s.person_tickets.clone(),
                appointments: s.appointments.clone(),
                windows: s.windows.clone(),
                staff_at: s.staff_at.clone(),
                queues: s.queues.clone(),
                live: s.live,
                tally: super::tally::DayTally::default(),
            },
        }
    }

    /// Drops the finished tickets of the day: for a
    /// replica that shows only what is live (the device hub), so that it
    /// does not hold the whole day a second time. Decides as before (see
    /// [`live_copy`](Self::live_copy)); the day's tally is kept.
    pub fn forget_finished(&mut self) {
        self.s.finished.clear();
    }

    /// Tickets the hall holds, finished ones of the day included.
    pub fn ticket_count(&self) -> usize {
        self.s.tickets.len() + self.s.finished.len()
    }

    pub fn state(&self) -> &State {
        &self.s
    }

    pub fn day(&self) -> Option<NaiveDate> {
        self.s.day
    }

    /// A ticket of the day, live or finished (a finished one is rebuilt
    /// from its compact form, see [`Finished`]).
    pub fn ticket(&self, id: TicketId) -> Option<Cow<'_, Ticket>> {
        match self.s.tickets.get(&id) {
            Some(t) => Some(Cow::Borrowed(&**t)),
            None => self.s.finished.get(id).map(Cow::Owned),
        }
    }

    /// A live ticket (waiting, called, serving, parked).
    pub fn live_ticket(&self, id: TicketId) -> Option<&Ticket> {
        self.s.tickets.get(&id).map(|t| &**t)
    }

    /// The number of the ticket an event is about, if the hall knows it.
    pub fn number_of(&self, event: &Event) -> Option<String> {
        let id = event.ticket()?;
        match self.live_ticket(id) {
            Some(t) => Some(t.number.to_string()),
            None => self.s.finished.number(id).map(str::to_string),
        }
    }

    /// Today's ticket with this number: the live one holding it, or else
    /// the last one issued with it (a search of the finished ones, for a
    /// refusal's sake: only live tickets are called or taken back).
    pub fn ticket_by_number(&self, number: &str) -> Option<Cow<'_, Ticket>> {
        match self.s.by_number.get(number) {
            Some(id) => self.ticket(*id),
            None => self.s.finished.last_numbered(number).map(Cow::Owned),
        }
    }

    /// Every ticket the hall holds: the live ones (in no particular
    /// order), then the day's finished ones (rebuilt, in id order).
    pub fn tickets(&self) -> impl Iterator<Item = Cow<'_, Ticket>> {
        self.live_tickets()
            .map(Cow::Borrowed)
            .chain(self.s.finished.iter().map(Cow::Owned))
    }

    /// The ids of every ticket the hall holds, in the order of [`tickets`](Self::tickets).
    pub fn ticket_ids(&self) -> impl Iterator<Item = TicketId> + '_ {
        self.s.tickets.keys().copied().chain(self.s.finished.ids())
    }

    /// The live tickets, in no particular order.
    pub fn live_tickets(&self) -> impl Iterator<Item = &Ticket> {
        self.s.tickets.values().map(|t| &**t)
    }

    pub fn window(&self, n: WindowNo) -> Option<&WindowState> {
        self.s.windows.get(&n)
    }

    pub fn windows(&self) -> impl Iterator<Item = &WindowState> {
        self.s.windows.values()
    }

    pub fn waiting(&self) -> usize {
        self.s.queues.waiting()
    }

    pub fn waiting_for(&self, service: &str) -> usize {
        self.s.queues.waiting_for(service)
    }

    /// Tickets waiting in the lines of the services window `n` serves.
    pub fn waiting_for_window(&self, n: WindowNo) -> usize {
        self.window(n).map_or(0, |w| {
            w.services
                .iter()
                .map(|s| self.waiting_for(&s.service))
                .sum()
        })
    }

    pub fn queues(&self) -> &Queues {
        &self.s.queues
    }

    pub fn window_of_staff(&self, account: &str) -> Option<WindowNo> {
        self.s.staff_at.get(account).copied()
    }

    pub fn activity(&self, n: WindowNo) -> Option<WindowActivity> {
        let w = self.s.windows.get(&n)?;
        Some(if !w.open {
            WindowActivity::Closed
        } else if let Some(t) = w.current {
            match self.s.tickets.get(&t).map(|t| t.status) {
                Some(TicketStatus::Serving) => WindowActivity::Serving { ticket: t },
                _ => WindowActivity::Calling { ticket: t },
            }
        } else if let Some(reason) = w.paused {
            WindowActivity::Paused { reason }
        } else if w.staff.is_some() {
            WindowActivity::Idle
        } else {
            WindowActivity::Unstaffed
        })
    }

    /// Tickets ahead of a waiting ticket in its own line.
    pub fn ahead(&self, id: TicketId, now_ms: Millis) -> Option<usize> {
        let t = self.s.tickets.get(&id)?;
        (t.status == TicketStatus::Waiting)
            .then(|| self.s.queues.ahead_in_lane(t.lane(), t.entry(), now_ms))
    }

    pub(crate) fn bound(&self) -> StarvationBound {
        let r = &self.config.file.routing;
        StarvationBound {
            streak_max: r.priority_streak_max,
            extra_wait_ms_max: Millis::from(r.priority_extra_wait_minutes_max) * MINUTE_MS,
        }
    }

    /// Applies one committed event. Never panics; unknown references are
    /// skipped, and so are events about a ticket that is no longer live.
    pub fn evolve(&mut self, event: &Event, at_ms: Millis) {
        self.fold(event, at_ms);
        // The tickets the event ended move to the day's finished ones.
        match event {
            Event::DayEnded { expired, .. } => {
                for id in expired {
                    self.retire(*id);
                }
            }
            _ => {
                if let Some(id) = event.ticket() {
                    self.retire(id);
                }
            }
        }
    }

    /// Moves a ticket that is no longer live out of the live table.
    fn retire(&mut self, id: TicketId) {
        if self.s.tickets.get(&id).is_some_and(|t| !t.status.is_live())
            && let Some(t) = self.s.tickets.remove(&id)
        {
            if self.s.by_number.get(&t.number) == Some(&id) {
                self.s.by_number.remove(&t.number);
            }
            self.s.finished.insert(*t);
        }
    }

    fn fold(&mut self, event: &Event, at_ms: Millis) {
        let tz = self.config.tz;
        self.s.tally.observe(event, &self.s.tickets, tz, at_ms);
        let s = &mut self.s;
        match event {
            Event::ConfigApplied { sha256, .. } => s.config_sha256 = Some(sha256.clone()),
            Event::DayOpened { date } => {
                s.day = Some(*date);
                s.day_ended = false;
                s.closed_slot = None;
                s.series.clear();
                s.cases_issued.clear();
                s.slot_cases.clear();
                s.person_tickets.clear();
                s.appointments.clear();
                // Forget finished tickets of earlier days; live ones (still being served) stay.
                s.finished.clear();
                // A ticket carried over keeps its number while it lives, so the new
                // day's series skips that number instead of issuing it twice.
                s.by_number = s
                    .tickets
                    .values()
                    .map(|t| (t.number.clone(), t.id))
                    .collect();
            }
            Event::DayEnded {
                expired,
                signed_out,
                ..
            } => {
                s.day_ended = true;
                s.session = None;
                for id in expired {
                    self.take_off_line(*id);
                    let s = &mut self.s;
                    if let Some(t) = s.tickets.get_mut(id) {
                        if let Some(w) = t.window.and_then(|w| s.windows.get_mut(&w)) {
                            w.parked.retain(|p| p != id);
                            if w.current == Some(*id) {
                                w.current = None;
                            }
                        }
                        t.status = TicketStatus::Expired;
                        t.window = None;
                        s.live = s.live.saturating_sub(1);
                    }
                }
                for n in signed_out {
                    self.sign_out(*n, at_ms);
                }
            }
            Event::SessionOpened { slot, ends_ms } => {
                s.session = Some(OpenSession {
                    slot: *slot,
                    ends_ms: *ends_ms,
                })
            }
            Event::SessionClosed { slot } => {
                if let (Some(day), Some(slot)) = (s.day, slot) {
                    // A slot closed before the calendar ends it stays closed today.
                    if s.session
                        .is_some_and(|o| o.ends_ms.is_some_and(|e| at_ms < e))
                    {
                        s.closed_slot = Some((day, *slot));
                    }
                }
                s.session = None;
            }
            Event::TicketIssued {
                ticket,
                number,
                service,
                cycle,
                serial,
                priority,
                rank,
                person,
                source,
                cases,
                slot,
                key,
            } => {
                let Some(day) = s.day else { return };
                let t = Ticket {
                    priority: priority.as_deref().map(CompactString::from),
                    rank: *rank,
                    source: source.clone(),
                    cases: *cases,
                    ..Ticket::waiting(*ticket, number, day, service, at_ms, *key)
                };
                s.next_ticket = s.next_ticket.max(ticket.0 + 1);
                s.series.insert(
                    service.clone(),
                    SeriesState {
                        next: serial + 1,
                        cycle: *cycle,
                    },
                );
                *s.cases_issued.entry(service.clone()).or_default() += cases;
                if let Some(slot) = slot {
                    *s.slot_cases.entry((service.clone(), *slot)).or_default() += cases;
                }
                if let Some(p) = person {
                    *s.person_tickets
                        .entry((p.clone(), service.clone()))
                        .or_default() += 1;
                }
                if let IssueSource::Appointment { code, .. } = source {
                    s.appointments.insert(code.clone());
                }
                s.by_number.insert(number.as_str().into(), *ticket);
                s.queues.insert(t.lane(), t.entry());
                s.tickets.insert(*ticket, Box::new(t));
                s.live += 1;
            }
            Event::TicketCalled {
                ticket,
                window,
                rule,
                ..
            } => {
                let id = *ticket;
                let (service, rank, directed) = match s.tickets.get(&id) {
                    Some(t) if t.status == TicketStatus::Waiting => {
                        (t.service.clone(), t.rank, t.directed_to.is_some())
                    }
                    _ => return,
                };
                if *rule == CallRule::Routed {
                    let served: Vec<String> = s
                        .windows
                        .get(window)
                        .map(|w| w.services.iter().map(|x| x.service.clone()).collect())
                        .unwrap_or_default();
                    // Count the pass-over before the ticket leaves its lane.
                    s.queues.note_routed_call(
                        *window,
                        served.iter().map(String::as_str),
                        &service,
                        directed,
                        rank,
                        at_ms,
                    );
                }
                self.take_off_line(id);
                let s = &mut self.s;
                if let Some(t) = s.tickets.get_mut(&id) {
                    t.status = TicketStatus::Called;
                    t.window = Some(*window);
                    t.directed_to = None;
                    t.recalls = 0;
                    t.called_ms = Some(at_ms);
                }
                if let Some(w) = s.windows.get_mut(window) {
                    w.current = Some(id);
                    w.since_ms = at_ms;
                }
            }
            Event::TicketRecalled { ticket, recall, .. } => {
                if let Some(t) = s.tickets.get_mut(ticket) {
                    t.recalls = *recall;
                }
            }
            Event::ServiceStarted {
                ticket,
                window,
                staff,
            } => {
                if let Some(t) = s.tickets.get_mut(ticket) {
                    t.status = TicketStatus::Serving;
                    t.started_ms = Some(at_ms);
                    t.first_receiver
                        .get_or_insert_with(|| staff.as_str().into());
                }
                if let Some(w) = s.windows.get_mut(window) {
                    w.since_ms = at_ms;
                }
            }
            Event::TicketFinished {
                ticket,
                window,
                staff,
                outcome,
                next_step,
                ..
            } => {
                self.release_window(*window, *ticket, at_ms);
                let service = self
                    .s
                    .tickets
                    .get(ticket)
                    .map(|t| t.service.to_string())
                    .unwrap_or_default();
                if let Some(w) = self.s.windows.get_mut(window) {
                    w.awaiting_rating = Some(AwaitingRating {
                        ticket: *ticket,
                        staff: staff.clone(),
                        finished_ms: at_ms,
                        service,
                    });
                }
                let s = &mut self.s;
                let Some(t) = s.tickets.get_mut(ticket) else {
                    return;
                };
                t.outcome = Some(*outcome);
                t.window = None;
                match next_step {
                    Some(next) => {
                        t.service = next.as_str().into();
                        t.step += 1;
                        t.status = TicketStatus::Waiting;
                        let (lane, entry) = (t.lane(), t.entry());
                        s.queues.insert(lane, entry);
                    }
                    None => {
                        t.status = TicketStatus::Finished;
                        s.live = s.live.saturating_sub(1);
                    }
                }
            }
            Event::TicketNoShow {
                ticket,
                window,
                requeue,
                ..
            } => {
                self.release_window(*window, *ticket, at_ms);
                let s = &mut self.s;
                let Some(t) = s.tickets.get_mut(ticket) else {
                    return;
                };
                t.no_shows += 1;
                t.window = None;
                match requeue {
                    Some(key) => {
                        t.key = *key;
                        t.status = TicketStatus::Waiting;
                        let (lane, entry) = (t.lane(), t.entry());
                        s.queues.insert(lane, entry);
                    }
                    None => {
                        t.status = TicketStatus::NoShow;
                        s.live = s.live.saturating_sub(1);
                    }
                }
            }
            Event::TicketParked { ticket, window, .. } => {
                self.release_window(*window, *ticket, at_ms);
                let s = &mut self.s;
                if let Some(t) = s.tickets.get_mut(ticket) {
                    t.parked_from = Some(t.status);
                    t.status = TicketStatus::Parked;
                    t.window = Some(*window);
                }
                if let Some(w) = s.windows.get_mut(window) {
                    w.parked.push(*ticket);
                }
            }
            Event::TicketUnparked { ticket, window, .. } => {
                if let Some(t) = s.tickets.get_mut(ticket) {
                    t.status = t.parked_from.take().unwrap_or(TicketStatus::Called);
                    t.window = Some(*window);
                }
                if let Some(w) = s.windows.get_mut(window) {
                    w.parked.retain(|p| p != ticket);
                    w.current = Some(*ticket);
                    w.since_ms = at_ms;
                }
            }
            Event::TicketTransferred {
                ticket,
                from_window,
                to_service,
                to_window,
                ..
            } => {
                self.release_window(*from_window, *ticket, at_ms);
                let s = &mut self.s;
                let Some(t) = s.tickets.get_mut(ticket) else {
                    return;
                };
                t.service = to_service.as_str().into();
                t.directed_to = *to_window;
                t.window = None;
                t.status = TicketStatus::Waiting;
                let (lane, entry) = (t.lane(), t.entry());
                s.queues.insert(lane, entry);
            }
            Event::TicketCancelled { ticket } => {
                let was_parked_at = s
                    .tickets
                    .get(ticket)
                    .filter(|t| t.status == TicketStatus::Parked)
                    .and_then(|t| t.window);
                self.take_off_line(*ticket);
                let s = &mut self.s;
                if let Some(w) = was_parked_at.and_then(|w| s.windows.get_mut(&w)) {
                    w.parked.retain(|p| p != ticket);
                }
                if let Some(t) = s.tickets.get_mut(ticket) {
                    if t.status.is_live() {
                        s.live = s.live.saturating_sub(1);
                    }
                    t.status = TicketStatus::Cancelled;
                    t.window = None;
                }
            }
            Event::StaffSignedIn { window, staff } => {
                if let Some(w) = s.windows.get_mut(window) {
                    w.staff = Some(staff.clone());
                    w.paused = None;
                    w.since_ms = at_ms;
                    s.staff_at.insert(staff.clone(), *window);
                }
            }
            Event::StaffSignedOut { window, .. } => self.sign_out(*window, at_ms),
            Event::WindowPaused { window, reason } => {
                if let Some(w) = s.windows.get_mut(window) {
                    w.paused = Some(*reason);
                    w.since_ms = at_ms;
                }
            }
            Event::WindowResumed { window } => {
                if let Some(w) = s.windows.get_mut(window) {
                    w.paused = None;
                    w.since_ms = at_ms;
                }
            }
            Event::WindowOpened { window } => {
                if let Some(w) = s.windows.get_mut(window) {
                    w.open = true;
                    w.since_ms = at_ms;
                }
            }
            Event::WindowClosed { window, returned } => {
                for id in returned {
                    let s = &mut self.s;
                    let Some(t) = s.tickets.get(id) else { continue };
                    if t.status == TicketStatus::Waiting {
                        // A ticket directed to this window goes back to its service's line.
                        let (lane, entry) = (t.lane(), t.entry());
                        s.queues.remove(lane, entry);
                    }
                    if let Some(t) = s.tickets.get_mut(id) {
                        t.directed_to = None;
                        t.window = None;
                        t.parked_from = None;
                        t.status = TicketStatus::Waiting;
                        let (lane, entry) = (t.lane(), t.entry());
                        s.queues.insert(lane, entry);
                    }
                }
                let s = &mut self.s;
                if let Some(w) = s.windows.get_mut(window) {
                    w.parked.clear();
                }
                self.sign_out(*window, at_ms);
                if let Some(w) = self.s.windows.get_mut(window) {
                    w.open = false;
                }
            }
            Event::AccountActivity { .. } => {}
            Event::ServiceRated { window, ticket, .. } => {
                if let Some(w) = s.windows.get_mut(window)
                    && w.awaiting_rating
                        .as_ref()
                        .is_some_and(|a| a.ticket == *ticket)
                {
                    w.awaiting_rating = None;
                }
            }
            Event::WindowServicesChanged { window, services } => {
                if let Some(w) = s.windows.get_mut(window) {
                    w.services = services.clone();
                }
            }
        }
    }

    /// Removes a waiting ticket from its lane (no-op for other states).
    fn take_off_line(&mut self, id: TicketId) {
        if let Some(t) = self.s.tickets.get(&id)
            && t.status == TicketStatus::Waiting
        {
            let (lane, entry) = (t.lane(), t.entry());
            self.s.queues.remove(lane, entry);
        }
    }

    fn release_window(&mut self, window: WindowNo, ticket: TicketId, at_ms: Millis) {
        if let Some(w) = self.s.windows.get_mut(&window)
            && w.current == Some(ticket)
        {
            w.current = None;
            w.since_ms = at_ms;
        }
    }

    fn sign_out(&mut self, window: WindowNo, at_ms: Millis) {
        if let Some(w) = self.s.windows.get_mut(&window) {
            if let Some(staff) = w.staff.take() {
                self.s.staff_at.remove(&staff);
            }
            w.paused = None;
            w.since_ms = at_ms;
        }
    }
}
