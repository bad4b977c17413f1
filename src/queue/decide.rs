//! `decide`: a command checked against the state becomes events or a refusal.
//! Reads only `&self`; nothing changes until the events are evolved.

use super::calendar;
use super::command::{Command, REASON_CHARS_MAX, TransferTarget, WindowService};
use super::event::Event;
use super::refusal::{Refusal, refuse};
use super::routing::{Candidate, QueueKey};
use super::state::{Hall, LIVE_TICKETS_MAX, PARKED_PER_WINDOW_MAX, Ticket, WindowState};
use super::types::{
    Actor, CallRule, IssueSource, MINUTE_MS, Millis, Outcome, TicketId, TicketStatus, WindowNo,
};
use crate::config::{Role, ServiceConfig, TimeOfDay};

/// Why a window would call what it calls: every candidate, best first.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Explanation {
    pub window: WindowNo,
    pub at_ms: Millis,
    pub candidates: Vec<ExplainedCandidate>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ExplainedCandidate {
    pub number: String,
    #[serde(flatten)]
    pub candidate: Candidate,
    /// For the winner: why it beat the runner-up; for the others: why the one before it won.
    pub why: String,
}

impl Hall {
    /// Decides and applies a command: the events it produced, already folded into the state.
    pub fn apply(
        &mut self,
        actor: &Actor,
        command: &Command,
        now_ms: Millis,
    ) -> Result<Vec<Event>, Refusal> {
        let events = self.decide(actor, command, now_ms)?;
        for e in &events {
            self.evolve(e, now_ms);
        }
        Ok(events)
    }

    /// What a command would do, without doing it.
    pub fn decide(
        &self,
        actor: &Actor,
        command: &Command,
        now_ms: Millis,
    ) -> Result<Vec<Event>, Refusal> {
        match command {
            Command::OpenDay { date } => {
                // Only today can be opened: a typo must not sweep the hall.
                let today = calendar::local(self.config.tz, now_ms).date();
                if *date != today {
                    return Err(refuse::day_not_today(&date.to_string(), &today.to_string()));
                }
                if let Some(day) = self.s.day {
                    if *date == day && !self.s.day_ended {
                        return Err(refuse::day_open_already(&date.to_string()));
                    }
                    if *date < day || (*date == day && self.s.day_ended) {
                        return Err(refuse::day_in_past(&date.to_string()));
                    }
                }
                let mut events = Vec::new();
                if self.s.day.is_some() && !self.s.day_ended {
                    events.extend(self.end_day_events()?);
                }
                events.push(Event::DayOpened { date: *date });
                Ok(events)
            }
            Command::EndDay => self.end_day_events(),
            Command::OpenSession { slot } => {
                self.require_day()?;
                if self.s.session.is_some() {
                    return Err(refuse::session_open_already());
                }
                let ends_ms = match slot {
                    Some(index) => {
                        let day = self.require_day()?;
                        let plan = calendar::day_plan(&self.config.file.calendar, day);
                        let slot = plan
                            .slots
                            .iter()
                            .find(|s| s.index == *index)
                            .ok_or_else(refuse::session_not_open)?;
                        Some(calendar::instant(self.config.tz, slot.end))
                    }
                    None => None,
                };
                Ok(vec![Event::SessionOpened {
                    slot: *slot,
                    ends_ms,
                }])
            }
            Command::CloseSession => {
                let session = self.s.session.ok_or_else(refuse::session_not_open)?;
                Ok(vec![Event::SessionClosed { slot: session.slot }])
            }
            Command::Issue {
                service,
                priority,
                person,
                source,
                cases,
            } => self.decide_issue(
                service,
                priority.as_deref(),
                person.as_deref(),
                source,
                *cases,
                now_ms,
            ),
            Command::CallNext { window } => {
                let (w, staff) = self.staffed_window(actor, *window)?;
                self.may_call(w)?;
                let best = self.rank_candidates(*window, now_ms).into_iter().next();
                Ok(best
                    .map(|c| {
                        vec![Event::TicketCalled {
                            ticket: c.ticket,
                            window: *window,
                            staff: staff.to_string(),
                            rule: CallRule::Routed,
                            reason: None,
                        }]
                    })
                    .unwrap_or_default())
            }
            Command::CallTicket {
                window,
                number,
                reason,
            } => {
                let (w, staff) = self.staffed_window(actor, *window)?;
                self.may_call(w)?;
                let reason = required_reason(reason)?;
                let t = self
                    .ticket_by_number(number)
                    .ok_or_else(|| refuse::unknown_ticket(number))?;
                if t.status != TicketStatus::Waiting {
                    return Err(refuse::not_waiting(number));
                }
                // A ticket transferred to a named window is for that window only.
                let serves = match t.directed_to {
                    Some(d) => d == *window,
                    None => w.services.iter().any(|s| s.service == t.service),
                };
                if !serves {
                    return Err(refuse::not_served_here(number, *window));
                }
                Ok(vec![Event::TicketCalled {
                    ticket: t.id,
                    window: *window,
                    staff: staff.to_string(),
                    rule: CallRule::OutOfOrder,
                    reason: Some(reason),
                }])
            }
            Command::Recall { window } => {
                let (w, staff) = self.staffed_window(actor, *window)?;
                let t = self.current(w)?;
                if t.status != TicketStatus::Called {
                    return Err(refuse::not_called(&t.number));
                }
                let limit = self
                    .config
                    .service(&t.service)
                    .map_or(0, |s| s.recall_limit);
                if t.recalls >= limit {
                    // Past the service's recall limit the call becomes a no-show.
                    return Ok(vec![self.no_show_event(t, *window, staff, now_ms)]);
                }
                Ok(vec![Event::TicketRecalled {
                    ticket: t.id,
                    window: *window,
                    recall: t.recalls + 1,
                }])
            }
            Command::Start { window } => {
                let (w, staff) = self.staffed_window(actor, *window)?;
                let t = self.current(w)?;
                if t.status != TicketStatus::Called {
                    return Err(refuse::not_called(&t.number));
                }
                Ok(vec![Event::ServiceStarted {
                    ticket: t.id,
                    window: *window,
                    staff: staff.to_string(),
                }])
            }
            Command::Rate {
                window,
                ticket,
                rating,
            } => {
                if *actor != Actor::System {
                    return Err(refuse::devices_only());
                }
                let w = self
                    .s
                    .windows
                    .get(window)
                    .ok_or_else(|| refuse::unknown_window(*window))?;
                match &w.awaiting_rating {
                    Some(a) if a.ticket == *ticket => Ok(vec![Event::ServiceRated {
                        ticket: *ticket,
                        window: *window,
                        staff: a.staff.clone(),
                        rating: *rating,
                    }]),
                    _ => Err(refuse::not_awaiting_rating(*window)),
                }
            }
            Command::Finish {
                window,
                outcome,
                reason,
            } => {
                let (w, staff) = self.staffed_window(actor, *window)?;
                let t = self.current(w)?;
                if t.status != TicketStatus::Serving {
                    return Err(refuse::not_serving(&t.number));
                }
                let reason = match (outcome, reason) {
                    (Outcome::Rejected, r) => Some(required_reason(r.as_deref().unwrap_or(""))?),
                    (_, Some(r)) if !r.trim().is_empty() => Some(bounded_reason(r)?),
                    _ => None,
                };
                let next_step = match outcome {
                    Outcome::Done => self
                        .config
                        .service(&t.service)
                        .and_then(|s| s.next_step.clone()),
                    _ => None,
                };
                // The previous citizen's evaluation closes now: never rated
                // is recorded as such, not lost when this ticket takes its place.
                let mut events = Vec::with_capacity(2);
                if let Some(a) = &w.awaiting_rating
                    && self.config.has_evaluator(*window)
                {
                    events.push(Event::ServiceRated {
                        ticket: a.ticket,
                        window: *window,
                        staff: a.staff.clone(),
                        rating: None,
                    });
                }
                events.push(Event::TicketFinished {
                    ticket: t.id,
                    window: *window,
                    staff: staff.to_string(),
                    outcome: *outcome,
                    reason,
                    next_step,
                });
                Ok(events)
            }
            Command::NoShow { window } => {
                let (w, staff) = self.staffed_window(actor, *window)?;
                let t = self.current(w)?;
                if t.status != TicketStatus::Called {
                    return Err(refuse::not_called(&t.number));
                }
                Ok(vec![self.no_show_event(t, *window, staff, now_ms)])
            }
            Command::Park { window } => {
                let (w, staff) = self.staffed_window(actor, *window)?;
                let t = self.current(w)?;
                if w.parked.len() >= PARKED_PER_WINDOW_MAX {
                    return Err(Refusal::new(
                        "too_many_parked",
                        format!("每个窗口最多挂起{PARKED_PER_WINDOW_MAX}个号"),
                        format!("a window may park at most {PARKED_PER_WINDOW_MAX} tickets"),
                    ));
                }
                Ok(vec![Event::TicketParked {
                    ticket: t.id,
                    window: *window,
                    staff: staff.to_string(),
                }])
            }
            Command::Unpark { window, number } => {
                let (w, staff) = self.staffed_window(actor, *window)?;
                self.idle_window(w)?;
                // Taking a ticket back is serving again: not while the window is paused.
                if w.paused.is_some() {
                    return Err(refuse::window_paused(*window));
                }
                let t = self
                    .ticket_by_number(number)
                    .ok_or_else(|| refuse::unknown_ticket(number))?;
                if t.status != TicketStatus::Parked || !w.parked.contains(&t.id) {
                    return Err(refuse::not_parked_here(number, *window));
                }
                Ok(vec![Event::TicketUnparked {
                    ticket: t.id,
                    window: *window,
                    staff: staff.to_string(),
                }])
            }
            Command::Transfer { window, to, reason } => {
                let (w, staff) = self.staffed_window(actor, *window)?;
                let t = self.current(w)?;
                let reason = match reason {
                    Some(r) if !r.trim().is_empty() => Some(bounded_reason(r)?),
                    _ => None,
                };
                let (to_service, to_window) = match to {
                    TransferTarget::Service(s) => {
                        self.config
                            .service(s)
                            .ok_or_else(|| refuse::unknown_service(s))?;
                        (s.clone(), None)
                    }
                    TransferTarget::Window(n) => {
                        if n == window {
                            return Err(refuse::transfer_to_same(*n));
                        }
                        let target = self
                            .s
                            .windows
                            .get(n)
                            .ok_or_else(|| refuse::unknown_window(*n))?;
                        if !target.open {
                            return Err(refuse::window_closed(*n));
                        }
                        // Keep the service when the target serves it; else take the target's main service.
                        let service = if target.services.iter().any(|s| s.service == t.service) {
                            t.service.to_string()
                        } else {
                            target
                                .services
                                .iter()
                                .max_by_key(|s| s.weight)
                                .map_or_else(|| t.service.to_string(), |s| s.service.to_string())
                        };
                        (service, Some(*n))
                    }
                };
                Ok(vec![Event::TicketTransferred {
                    ticket: t.id,
                    from_window: *window,
                    staff: staff.to_string(),
                    to_service,
                    to_window,
                    reason,
                }])
            }
            Command::Cancel { ticket } => {
                let t = self
                    .ticket(*ticket)
                    .ok_or_else(|| refuse::ticket_id_unknown(*ticket))?;
                if !matches!(t.status, TicketStatus::Waiting | TicketStatus::Parked) {
                    return Err(refuse::cannot_cancel(&t.number));
                }
                Ok(vec![Event::TicketCancelled { ticket: *ticket }])
            }
            Command::SignIn { window } => {
                let Actor::Staff(account) = actor else {
                    return Err(refuse::not_signed_in_here(*window));
                };
                let person = self
                    .config
                    .staff(account)
                    .ok_or_else(|| refuse::unknown_staff(account))?;
                if !person
                    .roles
                    .iter()
                    .any(|r| matches!(r, Role::Staff | Role::WindowHead | Role::Manager))
                {
                    return Err(refuse::no_window_role(account));
                }
                let w = self
                    .s
                    .windows
                    .get(window)
                    .ok_or_else(|| refuse::unknown_window(*window))?;
                if !w.open {
                    return Err(refuse::window_closed(*window));
                }
                if let Some(by) = &w.staff {
                    return Err(refuse::window_occupied(*window, by));
                }
                if let Some(&other) = self.s.staff_at.get(account.as_str()) {
                    return Err(refuse::staff_elsewhere(other));
                }
                Ok(vec![Event::StaffSignedIn {
                    window: *window,
                    staff: account.clone(),
                }])
            }
            Command::SignOut { window } => {
                let w = self
                    .s
                    .windows
                    .get(window)
                    .ok_or_else(|| refuse::unknown_window(*window))?;
                let staff = match (actor, &w.staff) {
                    (Actor::Staff(a), Some(s)) if a == s => s.clone(),
                    (Actor::Manager(_) | Actor::System, Some(s)) => s.clone(),
                    _ => return Err(refuse::not_signed_in_here(*window)),
                };
                self.idle_window(w)?;
                Ok(vec![Event::StaffSignedOut {
                    window: *window,
                    staff,
                }])
            }
            Command::Pause { window, reason } => {
                let (w, _) = self.staffed_window(actor, *window)?;
                self.idle_window(w)?;
                if w.paused.is_some() {
                    return Err(refuse::window_paused(*window));
                }
                Ok(vec![Event::WindowPaused {
                    window: *window,
                    reason: *reason,
                }])
            }
            Command::Resume { window } => {
                let (w, _) = self.staffed_window(actor, *window)?;
                if w.paused.is_none() {
                    return Err(refuse::window_not_paused(*window));
                }
                Ok(vec![Event::WindowResumed { window: *window }])
            }
            Command::OpenWindow { window } => {
                require_manager(actor)?;
                let w = self
                    .s
                    .windows
                    .get(window)
                    .ok_or_else(|| refuse::unknown_window(*window))?;
                if w.open {
                    return Err(refuse::window_open_already(*window));
                }
                Ok(vec![Event::WindowOpened { window: *window }])
            }
            Command::CloseWindow { window } => {
                let w = self
                    .s
                    .windows
                    .get(window)
                    .ok_or_else(|| refuse::unknown_window(*window))?;
                match actor {
                    Actor::Manager(_) | Actor::System => {}
                    Actor::Staff(a) if w.staff.as_deref() == Some(a.as_str()) => {}
                    _ => return Err(refuse::not_signed_in_here(*window)),
                }
                if !w.open {
                    return Err(refuse::window_closed(*window));
                }
                self.idle_window(w)?;
                let mut returned = w.parked.clone();
                let mut directed: Vec<TicketId> = self
                    .s
                    .tickets
                    .values()
                    .filter(|t| t.status == TicketStatus::Waiting && t.directed_to == Some(*window))
                    .map(|t| t.id)
                    .collect();
                directed.sort();
                returned.extend(directed);
                // The sign-out is its own event so attendance sees it.
                let mut events: Vec<Event> = w
                    .staff
                    .iter()
                    .map(|staff| Event::StaffSignedOut {
                        window: *window,
                        staff: staff.clone(),
                    })
                    .collect();
                events.push(Event::WindowClosed {
                    window: *window,
                    returned,
                });
                Ok(events)
            }
            Command::RecordAccountActivity { account, activity } => {
                if account.is_empty() || account.chars().count() > 64 {
                    return Err(refuse::unknown_staff(account));
                }
                Ok(vec![Event::AccountActivity {
                    account: account.clone(),
                    activity: *activity,
                }])
            }
            Command::SetWindowServices { window, services } => {
                require_manager(actor)?;
                self.s
                    .windows
                    .get(window)
                    .ok_or_else(|| refuse::unknown_window(*window))?;
                check_services(self, services)?;
                Ok(vec![Event::WindowServicesChanged {
                    window: *window,
                    services: services.clone(),
                }])
            }
        }
    }

    fn decide_issue(
        &self,
        service_id: &str,
        priority: Option<&str>,
        person: Option<&str>,
        source: &IssueSource,
        cases: u32,
        now_ms: Millis,
    ) -> Result<Vec<Event>, Refusal> {
        self.require_day()?;
        let session = self.s.session.ok_or_else(refuse::hall_closed)?;
        let cutoff = self.config.file.calendar.issue_cutoff_minutes;
        if let Some(ends) = session.ends_ms
            && now_ms >= ends - Millis::from(cutoff) * MINUTE_MS
        {
            return Err(refuse::issue_cutoff(cutoff));
        }
        let service = self
            .config
            .service(service_id)
            .ok_or_else(|| refuse::unknown_service(service_id))?;
        let rank = match priority {
            Some(p) => {
                self.config
                    .priority(p)
                    .ok_or_else(|| refuse::unknown_priority(p))?
                    .rank
            }
            None => 0,
        };
        if cases == 0 || cases > service.max_cases {
            return Err(refuse::bad_cases(service.max_cases));
        }
        if self.s.live >= LIVE_TICKETS_MAX {
            return Err(refuse::too_many_live_tickets(LIVE_TICKETS_MAX));
        }
        let issued = self.s.cases_issued.get(service_id).copied().unwrap_or(0);
        let slot = if matches!(source, IssueSource::Appointment { .. }) {
            None // a booked appointment has its slot already
        } else {
            self.issue_slot(service, now_ms)?
        };
        if let Some(cap) = service.daily_cap
            && issued + cases > cap
        {
            return Err(refuse::daily_cap_reached(&service.name, cap));
        }
        if let (Some(slot), Some(cap)) = (
            slot,
            slot.and_then(|i| service.issue_windows.get(i as usize))
                .and_then(|w| w.cap),
        ) {
            let used = self
                .s
                .slot_cases
                .get(&(service_id.to_string(), slot))
                .copied()
                .unwrap_or(0);
            if used + cases > cap {
                return Err(refuse::slot_cap_reached(&service.name, cap));
            }
        }
        if let (Some(p), Some(cap)) = (person, service.per_person_daily_cap) {
            let had = self
                .s
                .person_tickets
                .get(&(p.to_string(), service_id.to_string()))
                .copied()
                .unwrap_or(0);
            if had >= cap {
                return Err(refuse::person_cap_reached(&service.name, cap));
            }
        }
        if let IssueSource::Appointment { code, due_ms } = source {
            if code.trim().is_empty() || code.chars().count() > 64 {
                return Err(refuse::bad_appointment("code must be 1–64 characters"));
            }
            if self.s.appointments.contains(code) {
                return Err(refuse::appointment_used(code));
            }
            if (due_ms - now_ms).abs() > 24 * 60 * MINUTE_MS {
                return Err(refuse::bad_appointment(
                    "the slot is not within a day of now",
                ));
            }
        }
        let (serial, cycle) = self.next_serial(service)?;
        let id = TicketId(self.s.next_ticket);
        Ok(vec![Event::TicketIssued {
            ticket: id,
            number: format_number(service, serial),
            service: service_id.to_string(),
            cycle,
            serial,
            priority: priority.map(str::to_string),
            rank,
            person: person.map(str::to_string),
            source: source.clone(),
            cases,
            slot,
            key: QueueKey::fresh(now_ms, id),
        }])
    }

    /// The service's issue-window slot at `now_ms`; refuses outside all of them.
    fn issue_slot(&self, service: &ServiceConfig, now_ms: Millis) -> Result<Option<u32>, Refusal> {
        if service.issue_windows.is_empty() {
            return Ok(None);
        }
        let local = calendar::local(self.config.tz, now_ms);
        let tod = TimeOfDay::of(local.time());
        service
            .issue_windows
            .iter()
            .position(|w| w.from <= tod && tod < w.to)
            .map(|i| Some(i as u32))
            .ok_or_else(|| refuse::outside_issue_hours(&service.name))
    }

    /// The next number of a service's series today, never one issued today
    /// in the same cycle, and never one a live ticket holds.
    fn next_serial(&self, service: &ServiceConfig) -> Result<(u32, u32), Refusal> {
        let series = &service.series;
        let (mut next, mut cycle) = match self.s.series.get(&service.id) {
            Some(st) => (st.next, st.cycle),
            None => (series.start, 0),
        };
        let span = series.end.saturating_sub(series.start) + 1;
        for _ in 0..=span {
            if next > series.end {
                if !series.wrap {
                    return Err(refuse::series_exhausted(&service.prefix));
                }
                next = series.start;
                cycle += 1;
            }
            let number = format_number(service, next);
            // `by_number` holds the live tickets' numbers only.
            if !self.s.by_number.contains_key(number.as_str()) {
                return Ok((next, cycle));
            }
            next += 1;
        }
        Err(refuse::series_exhausted(&service.prefix))
    }

    fn end_day_events(&self) -> Result<Vec<Event>, Refusal> {
        let day = self.require_day()?;
        let mut expired: Vec<TicketId> = self
            .s
            .tickets
            .values()
            .filter(|t| {
                matches!(
                    t.status,
                    TicketStatus::Waiting | TicketStatus::Called | TicketStatus::Parked
                )
            })
            .map(|t| t.id)
            .collect();
        expired.sort();
        // Staff at windows still serving someone stay signed in to finish.
        let signed_out = self
            .s
            .windows
            .values()
            .filter(|w| w.staff.is_some())
            .filter(|w| {
                w.current
                    .and_then(|t| self.s.tickets.get(&t))
                    .is_none_or(|t| t.status != TicketStatus::Serving)
            })
            .map(|w| w.number)
            .collect();
        Ok(vec![Event::DayEnded {
            date: day,
            expired,
            signed_out,
        }])
    }

    fn no_show_event(&self, t: &Ticket, window: WindowNo, staff: &str, now_ms: Millis) -> Event {
        let routing = &self.config.file.routing;
        let requeue = (t.no_shows < routing.no_show_requeue_max).then(|| {
            let lane = match t.directed_to {
                Some(w) => super::routing::LaneId::Window(w, t.rank),
                None => super::routing::LaneId::Service(&t.service, t.rank),
            };
            let fallback = QueueKey::fresh(now_ms, t.id);
            match self.s.queues.lane(lane) {
                Some(l) => l.key_after(routing.no_show_requeue_after as usize, fallback),
                None => fallback,
            }
        });
        Event::TicketNoShow {
            ticket: t.id,
            window,
            staff: staff.to_string(),
            requeue,
        }
    }

    /// Candidates of call-next at a window, best first.
    pub fn rank_candidates(&self, window: WindowNo, now_ms: Millis) -> Vec<Candidate> {
        let Some(w) = self.s.windows.get(&window) else {
            return Vec::new();
        };
        let tickets = &self.s.tickets;
        self.s
            .queues
            .candidates(window, &w.services, self.bound(), now_ms, |id| {
                tickets
                    .get(&id)
                    .map(|t| t.service.to_string())
                    .unwrap_or_default()
            })
    }

    /// The next `n` tickets call-next at this window would take, in order,
    /// if nothing else happened in the hall meanwhile.
    pub fn preview_next(&self, window: WindowNo, now_ms: Millis, n: usize) -> Vec<Candidate> {
        let Some(w) = self.s.windows.get(&window) else {
            return Vec::new();
        };
        let tickets = &self.s.tickets;
        self.s
            .queues
            .preview(window, &w.services, self.bound(), now_ms, n, |id| {
                tickets
                    .get(&id)
                    .map(|t| t.service.to_string())
                    .unwrap_or_default()
            })
    }

    /// Explains what call-next at this window would pick now, and why.
    pub fn explain_next(&self, window: WindowNo, now_ms: Millis) -> Explanation {
        let ranked = self.rank_candidates(window, now_ms);
        let candidates = ranked
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let why = match (i, ranked.get(1)) {
                    (0, Some(second)) => format!("chosen: {}", c.beats_because(second)),
                    (0, None) => "chosen: the only candidate".to_string(),
                    _ => format!("not chosen: {}", ranked[i - 1].beats_because(c)),
                };
                let number = self
                    .s
                    .tickets
                    .get(&c.ticket)
                    .map(|t| t.number.to_string())
                    .unwrap_or_default();
                ExplainedCandidate {
                    number,
                    candidate: c.clone(),
                    why,
                }
            })
            .collect();
        Explanation {
            window,
            at_ms: now_ms,
            candidates,
        }
    }

    fn require_day(&self) -> Result<chrono::NaiveDate, Refusal> {
        match self.s.day {
            Some(d) if !self.s.day_ended => Ok(d),
            _ => Err(refuse::no_business_day()),
        }
    }

    /// The window, if the actor is the staff member signed in at it.
    fn staffed_window(
        &self,
        actor: &Actor,
        window: WindowNo,
    ) -> Result<(&WindowState, &str), Refusal> {
        let w = self
            .s
            .windows
            .get(&window)
            .ok_or_else(|| refuse::unknown_window(window))?;
        match (actor, &w.staff) {
            (Actor::Staff(a), Some(s)) if a == s => Ok((w, s.as_str())),
            _ => Err(refuse::not_signed_in_here(window)),
        }
    }

    /// Calling needs an open window, not paused, with nothing in progress, in
    /// an open session or in extended service after it.
    fn may_call(&self, w: &WindowState) -> Result<(), Refusal> {
        if !w.open {
            return Err(refuse::window_closed(w.number));
        }
        if w.paused.is_some() {
            return Err(refuse::window_paused(w.number));
        }
        self.idle_window(w)?;
        self.require_day()?;
        if self.s.session.is_none() && !self.config.file.calendar.extended_service {
            return Err(refuse::hall_closed());
        }
        Ok(())
    }

    fn idle_window(&self, w: &WindowState) -> Result<(), Refusal> {
        match w.current.and_then(|t| self.s.tickets.get(&t)) {
            Some(t) => Err(refuse::ticket_in_progress(w.number, &t.number)),
            None => Ok(()),
        }
    }

    fn current<'a>(&'a self, w: &WindowState) -> Result<&'a Ticket, Refusal> {
        w.current
            .and_then(|t| self.s.tickets.get(&t))
            .map(|t| &**t)
            .ok_or_else(|| refuse::no_current_ticket(w.number))
    }

    /// Lifecycle commands the calendar makes due at `now_ms`, in order: day
    /// roll-over, session open/close. The owner task applies them as the
    /// System actor before other commands and on a timer.
    pub fn due_lifecycle(&self, now_ms: Millis) -> Option<Command> {
        let cal = &self.config.file.calendar;
        let local = calendar::local(self.config.tz, now_ms);
        let today = local.date();
        match self.s.day {
            None => return Some(Command::OpenDay { date: today }),
            Some(day) if day < today => {
                if self.s.session.is_some() {
                    return Some(Command::CloseSession);
                }
                return Some(if self.s.day_ended {
                    Command::OpenDay { date: today }
                } else {
                    Command::EndDay
                });
            }
            Some(day) if day > today || self.s.day_ended => return None,
            Some(_) => {}
        }
        let slot = calendar::slot_at(cal, self.config.tz, now_ms).map(|(_, s)| s.index);
        match (self.s.session, slot) {
            (Some(open), _) if open.slot.is_some() && open.slot != slot => {
                Some(Command::CloseSession)
            }
            (None, Some(index)) if self.s.closed_slot != Some((today, index)) => {
                Some(Command::OpenSession { slot: Some(index) })
            }
            // Without extended service the day ends with its last session:
            // nobody may call the tickets left, so they expire now, not at midnight.
            (None, _) if !cal.extended_service && self.last_session_over(today, local) => {
                Some(Command::EndDay)
            }
            _ => None,
        }
    }

    /// No calendar session of `date` starts or runs after `local`.
    fn last_session_over(&self, date: chrono::NaiveDate, local: chrono::NaiveDateTime) -> bool {
        calendar::day_plan(&self.config.file.calendar, date)
            .slots
            .iter()
            .all(|s| s.end <= local)
    }
}

/// `A012`: the prefix and the serial padded to the width of the series end.
pub fn format_number(service: &ServiceConfig, serial: u32) -> String {
    let width = service.series.end.max(1).to_string().len();
    format!("{}{:0width$}", service.prefix, serial)
}

fn required_reason(reason: &str) -> Result<String, Refusal> {
    if reason.trim().is_empty() {
        return Err(refuse::reason_required());
    }
    bounded_reason(reason)
}

fn bounded_reason(reason: &str) -> Result<String, Refusal> {
    if reason.chars().count() > REASON_CHARS_MAX {
        return Err(refuse::reason_too_long(REASON_CHARS_MAX));
    }
    Ok(reason.trim().to_string())
}

fn require_manager(actor: &Actor) -> Result<(), Refusal> {
    match actor {
        Actor::Manager(_) | Actor::System => Ok(()),
        _ => Err(Refusal::new(
            "not_permitted",
            "只有大厅管理员可以这样做",
            "only a hall manager may do this",
        )),
    }
}

fn check_services(hall: &Hall, services: &[WindowService]) -> Result<(), Refusal> {
    let mut seen = std::collections::HashSet::new();
    for s in services {
        hall.config
            .service(&s.service)
            .ok_or_else(|| refuse::unknown_service(&s.service))?;
        if !(1..=100).contains(&s.weight) {
            return Err(refuse::bad_weight());
        }
        if !seen.insert(s.service.as_str()) {
            return Err(refuse::duplicate_service(&s.service));
        }
    }
    Ok(())
}
