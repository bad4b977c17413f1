//! The discrete-event driver shared by the look-ahead estimator, the
//! backtest's day simulator and the staffing what-ifs.
//!
//! It owns a [`Hall`] value and moves it forward in time with *virtual
//! staff*: each staffed window ("desk") calls with the real core
//! (`hall.apply(Actor::Staff(account), Command::CallNext {..}, t)`) when it
//! is free, keeps the ticket for a time a [`Behaviour`] decides, then
//! finishes, transfers or marks a no-show — again through the core, so
//! routing, priorities, the starvation bound, flows (next steps) and no-show
//! requeues are the hall's own. The calendar is applied as the daemon
//! applies it (`Hall::due_lifecycle` at every session boundary).
//!
//! Desks keep office hours (`duty`, by default the day's sessions). Outside
//! them a desk finishes the line if the hall offers extended service and no
//! session is open (延时服务), then pauses for lunch until its next duty
//! starts, or signs out at the end of the day.
//!
//! Pure: time is simulated, randomness comes from the seeded [`SimRng`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use crate::queue::calendar::{day_plan, instant, local};
use crate::queue::{
    Actor, Command, Event, Hall, IssueSource, Millis, Outcome, PauseReason, Ticket, TicketId,
    TicketStatus, TransferTarget, WindowActivity, WindowNo,
};
use crate::sim::traffic::SimRng;

/// Most simulated steps of one run (a limit against a behaviour that never
/// lets the day end).
pub const STEPS_MAX: u64 = 2_000_000;

/// A citizen arriving for a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    pub service: String,
    pub priority: Option<String>,
    pub cases: u32,
}

/// What a desk does with a ticket it called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handling {
    /// Nobody comes: after `after_ms` of calling and recalling, a no-show.
    NoShow { after_ms: Millis },
    /// The citizen comes; service starts after `start_after_ms`, and the
    /// window is released after `window_ms` in all (from the call).
    Serve {
        start_after_ms: Millis,
        window_ms: Millis,
        release: Release,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    Finish(Outcome),
    Transfer(String),
}

/// The parts of a simulated day that are not the hall's rules: how long
/// things take, who comes, when staff pause.
pub trait Behaviour {
    /// What the desk at `window` does with the ticket it just called.
    fn handle(
        &mut self,
        rng: &mut SimRng,
        hall: &Hall,
        window: WindowNo,
        ticket: &Ticket,
    ) -> Handling;

    /// The ticket at `window` has been called (or served) for `elapsed_ms`
    /// already when the simulation starts: what is left of it.
    fn handle_in_progress(
        &mut self,
        rng: &mut SimRng,
        hall: &Hall,
        window: WindowNo,
        ticket: &Ticket,
        elapsed_ms: Millis,
    ) -> Handling {
        // Draw until the draw is longer than what has passed (a window
        // that has served 20 minutes is more likely in a long service).
        let mut last = None;
        for _ in 0..16 {
            let h = self.handle(rng, hall, window, ticket);
            let total = match &h {
                Handling::NoShow { after_ms } => *after_ms,
                Handling::Serve { window_ms, .. } => *window_ms,
            };
            if total > elapsed_ms {
                return shift(h, elapsed_ms);
            }
            last = Some(h);
        }
        let h = last.unwrap_or(Handling::NoShow { after_ms: 0 });
        shift(h, elapsed_ms)
    }

    /// A desk is free and about to call: does it pause first, and how long?
    fn pause(
        &mut self,
        _rng: &mut SimRng,
        _hall: &Hall,
        _window: WindowNo,
    ) -> Option<(PauseReason, Millis)> {
        None
    }

    /// How much longer a pause that has lasted `elapsed_ms` goes on.
    fn pause_left(
        &mut self,
        _rng: &mut SimRng,
        _reason: PauseReason,
        elapsed_ms: Millis,
    ) -> Millis {
        (10 * 60_000 - elapsed_ms).max(60_000)
    }

    /// Arrivals in `[from_ms, to_ms)` (called for each half hour of the run).
    fn arrivals(
        &mut self,
        _rng: &mut SimRng,
        _hall: &Hall,
        _from_ms: Millis,
        _to_ms: Millis,
    ) -> Vec<(Millis, Arrival)> {
        Vec::new()
    }
}

/// Shortens a handling drawn from the start by the time already passed.
fn shift(h: Handling, elapsed_ms: Millis) -> Handling {
    const LEFT_MIN_MS: Millis = 15_000;
    match h {
        Handling::NoShow { after_ms } => Handling::NoShow {
            after_ms: (after_ms - elapsed_ms).max(LEFT_MIN_MS),
        },
        Handling::Serve {
            start_after_ms,
            window_ms,
            release,
        } => Handling::Serve {
            start_after_ms: (start_after_ms - elapsed_ms).max(0),
            window_ms: (window_ms - elapsed_ms).max(LEFT_MIN_MS),
            release,
        },
    }
}

/// A staffed window of the simulation: who sits there and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desk {
    pub window: WindowNo,
    pub account: String,
    /// On-duty intervals, sorted and disjoint.
    pub duty: Vec<(Millis, Millis)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Not signed in.
    Off,
    /// Free, waiting for a ticket.
    Idle,
    Busy,
    Paused,
}

#[derive(Debug, Clone)]
struct DeskState {
    desk: Desk,
    mode: Mode,
    /// Bumped whenever a scheduled step of this desk becomes stale.
    epoch: u64,
}

#[derive(Debug, Clone)]
enum Act {
    Calendar,
    Issue(Arrival),
    Arrivals(Millis),
    Free(WindowNo, u64),
    Start(WindowNo, u64),
    Release(WindowNo, u64, Release),
    NoShow(WindowNo, u64),
    Resume(WindowNo, u64),
    DutyStart(WindowNo),
    DutyEnd(WindowNo),
}

struct Item {
    at_ms: Millis,
    seq: u64,
    act: Act,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at_ms, self.seq).cmp(&(other.at_ms, other.seq))
    }
}

/// What the hook says after seeing events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Length of an arrival block.
pub const ARRIVAL_BLOCK_MS: Millis = 30 * 60_000;

/// The simulation.
pub struct Driver<B: Behaviour> {
    pub hall: Hall,
    pub now_ms: Millis,
    pub rng: SimRng,
    pub behaviour: B,
    heap: BinaryHeap<Reverse<Item>>,
    seq: u64,
    desks: BTreeMap<WindowNo, DeskState>,
    /// Service → desks that serve it (as configured at the start; kept up
    /// to date only through `SetWindowServices` the driver does not send).
    serves: HashMap<String, Vec<WindowNo>>,
    /// Commands the hall refused (a behaviour asking for something the
    /// rules forbid, e.g. an issue after the cutoff).
    pub refused: u64,
    pub steps: u64,
}

impl<B: Behaviour> Driver<B> {
    /// A driver from `hall` as it is at `now_ms`. Add desks, arrivals and
    /// the calendar, then [`Driver::run`].
    pub fn new(hall: Hall, now_ms: Millis, seed: u64, behaviour: B) -> Driver<B> {
        Driver {
            hall,
            now_ms,
            rng: SimRng::new(seed),
            behaviour,
            heap: BinaryHeap::new(),
            seq: 0,
            desks: BTreeMap::new(),
            serves: HashMap::new(),
            refused: 0,
            steps: 0,
        }
    }

    fn push(&mut self, at_ms: Millis, act: Act) {
        self.seq += 1;
        self.heap.push(Reverse(Item {
            at_ms: at_ms.max(self.now_ms),
            seq: self.seq,
            act,
        }));
    }

    /// Applies the calendar at every session boundary of the local days from
    /// now to `until_ms`, and at each local midnight (day roll-over).
    /// Schedule this first: at equal times the calendar goes before desks.
    pub fn schedule_calendar(&mut self, until_ms: Millis) {
        let config = self.hall.config().clone();
        let tz = config.tz;
        let mut date = local(tz, self.now_ms).date();
        let last = local(tz, until_ms).date();
        self.push(self.now_ms, Act::Calendar);
        while date <= last {
            if let Some(midnight) = date.and_hms_opt(0, 0, 0) {
                let t = instant(tz, midnight);
                if t > self.now_ms && t <= until_ms {
                    self.push(t, Act::Calendar);
                }
            }
            for slot in day_plan(&config.file.calendar, date).slots {
                for edge in [slot.start, slot.end] {
                    let t = instant(tz, edge);
                    if t > self.now_ms && t <= until_ms {
                        self.push(t, Act::Calendar);
                    }
                }
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
    }

    /// Asks the behaviour for arrivals, half hour by half hour, from now to `until_ms`.
    pub fn schedule_arrival_blocks(&mut self, until_ms: Millis) {
        if self.now_ms < until_ms {
            self.push(self.now_ms, Act::Arrivals(until_ms));
        }
    }

    /// A citizen takes a ticket at `at_ms` (through the kiosk, as in the hall).
    pub fn schedule_arrival(&mut self, at_ms: Millis, arrival: Arrival) {
        self.push(at_ms, Act::Issue(arrival));
    }

    /// Adds a desk. Its state is read from the hall: a window already
    /// staffed by `desk.account` goes on from where it is (a ticket in
    /// progress, a pause); otherwise the desk signs in when its duty starts.
    pub fn add_desk(&mut self, desk: Desk) {
        let w = desk.window;
        let Some(ws) = self.hall.window(w) else {
            return;
        };
        let now = self.now_ms;
        let signed_in = ws.staff.as_deref() == Some(desk.account.as_str());
        let since = ws.since_ms;
        for s in &ws.services {
            let list = self.serves.entry(s.service.clone()).or_default();
            if !list.contains(&w) {
                list.push(w);
            }
        }
        for &(from, to) in &desk.duty {
            if from > now {
                self.push(from, Act::DutyStart(w));
            }
            if to > now {
                self.push(to, Act::DutyEnd(w));
            }
        }
        let activity = self.hall.activity(w);
        let mut state = DeskState {
            desk,
            mode: Mode::Off,
            epoch: 0,
        };
        if signed_in {
            match activity {
                Some(WindowActivity::Idle) => {
                    state.mode = Mode::Idle;
                    self.push(now, Act::Free(w, 0));
                }
                Some(WindowActivity::Paused { reason }) => {
                    state.mode = Mode::Paused;
                    let resume = if reason == PauseReason::Lunch {
                        next_start(&state.desk.duty, now)
                    } else {
                        let left =
                            self.behaviour
                                .pause_left(&mut self.rng, reason, (now - since).max(0));
                        Some(now + left)
                    };
                    if let Some(t) = resume {
                        self.push(t, Act::Resume(w, 0));
                    }
                }
                Some(WindowActivity::Calling { ticket } | WindowActivity::Serving { ticket }) => {
                    state.mode = Mode::Busy;
                    if let Some(t) = self.hall.live_ticket(ticket).cloned() {
                        let elapsed = (now - t.called_ms.unwrap_or(since)).max(0);
                        let h = self.behaviour.handle_in_progress(
                            &mut self.rng,
                            &self.hall,
                            w,
                            &t,
                            elapsed,
                        );
                        let started = t.status == TicketStatus::Serving;
                        self.desks.insert(w, state);
                        self.schedule_handling(w, 0, h, started);
                        return;
                    }
                    state.mode = Mode::Idle;
                    self.push(now, Act::Free(w, 0));
                }
                _ => {}
            }
        } else if on_duty(&state.desk.duty, now) {
            self.push(now, Act::DutyStart(w));
        }
        self.desks.insert(w, state);
    }

    fn schedule_handling(&mut self, w: WindowNo, epoch: u64, h: Handling, started: bool) {
        let now = self.now_ms;
        match h {
            Handling::NoShow { after_ms } if !started => {
                self.push(now + after_ms, Act::NoShow(w, epoch));
            }
            Handling::NoShow { after_ms } => {
                self.push(
                    now + after_ms,
                    Act::Release(w, epoch, Release::Finish(Outcome::Done)),
                );
            }
            Handling::Serve {
                start_after_ms,
                window_ms,
                release,
            } => {
                if !started {
                    self.push(now + start_after_ms.min(window_ms), Act::Start(w, epoch));
                }
                self.push(now + window_ms, Act::Release(w, epoch, release));
            }
        }
    }

    /// Runs until `until_ms`, nothing is left to do, or the hook says stop.
    /// The hook sees the hall after each command's events, with their time.
    pub fn run(&mut self, until_ms: Millis, hook: &mut dyn FnMut(&Hall, &[Event], Millis) -> Flow) {
        while let Some(Reverse(item)) = self.heap.pop() {
            if item.at_ms > until_ms || self.steps >= STEPS_MAX {
                break;
            }
            self.steps += 1;
            self.now_ms = item.at_ms;
            if self.step(item.act, hook) == Flow::Stop {
                return;
            }
        }
    }

    fn apply(
        &mut self,
        actor: &Actor,
        command: &Command,
        hook: &mut dyn FnMut(&Hall, &[Event], Millis) -> Flow,
    ) -> (Option<Vec<Event>>, Flow) {
        match self.hall.apply(actor, command, self.now_ms) {
            Ok(events) => {
                let flow = if events.is_empty() {
                    Flow::Continue
                } else {
                    hook(&self.hall, &events, self.now_ms)
                };
                (Some(events), flow)
            }
            Err(_) => {
                self.refused += 1;
                (None, Flow::Continue)
            }
        }
    }

    fn step(&mut self, act: Act, hook: &mut dyn FnMut(&Hall, &[Event], Millis) -> Flow) -> Flow {
        match act {
            Act::Calendar => {
                for _ in 0..8 {
                    let Some(cmd) = self.hall.due_lifecycle(self.now_ms) else {
                        break;
                    };
                    let (events, flow) = self.apply(&Actor::System, &cmd, hook);
                    if flow == Flow::Stop {
                        return Flow::Stop;
                    }
                    if let Some(events) = events {
                        for e in &events {
                            if let Event::DayEnded { signed_out, .. } = e {
                                for w in signed_out {
                                    if let Some(d) = self.desks.get_mut(w) {
                                        d.mode = Mode::Off;
                                        d.epoch += 1;
                                    }
                                }
                            }
                        }
                    } else {
                        break;
                    }
                }
                self.wake_all(hook)
            }
            Act::Arrivals(until_ms) => {
                let to = (self.now_ms + ARRIVAL_BLOCK_MS).min(until_ms);
                let mut list = self
                    .behaviour
                    .arrivals(&mut self.rng, &self.hall, self.now_ms, to);
                list.sort_by_key(|(t, _)| *t);
                for (t, a) in list {
                    self.push(t.clamp(self.now_ms, to), Act::Issue(a));
                }
                if to < until_ms {
                    self.push(to, Act::Arrivals(until_ms));
                }
                Flow::Continue
            }
            Act::Issue(a) => {
                let cmd = Command::Issue {
                    service: a.service,
                    priority: a.priority,
                    person: None,
                    source: IssueSource::Kiosk,
                    cases: a.cases.max(1),
                };
                let (events, flow) = self.apply(&Actor::Kiosk("sim".into()), &cmd, hook);
                if flow == Flow::Stop {
                    return Flow::Stop;
                }
                self.wake_for(events.as_deref().unwrap_or(&[]), hook)
            }
            Act::Free(w, epoch) => {
                if !self.current(w, epoch) {
                    return Flow::Continue;
                }
                if let Some(d) = self.desks.get_mut(&w)
                    && d.mode == Mode::Busy
                {
                    d.mode = Mode::Idle;
                }
                self.work(w, hook)
            }
            Act::Start(w, epoch) => {
                if !self.current(w, epoch) {
                    return Flow::Continue;
                }
                let account = self.account(w);
                self.apply(&Actor::Staff(account), &Command::Start { window: w }, hook)
                    .1
            }
            Act::Release(w, epoch, release) => {
                if !self.current(w, epoch) {
                    return Flow::Continue;
                }
                let account = self.account(w);
                let actor = Actor::Staff(account);
                // A ticket still only called (start was not reached) starts first.
                if self
                    .hall
                    .window(w)
                    .and_then(|ws| ws.current)
                    .and_then(|t| self.hall.ticket(t))
                    .is_some_and(|t| t.status == TicketStatus::Called)
                    && self.apply(&actor, &Command::Start { window: w }, hook).1 == Flow::Stop
                {
                    return Flow::Stop;
                }
                let cmd = match release {
                    Release::Finish(outcome) => Command::Finish {
                        window: w,
                        outcome,
                        reason: (outcome == Outcome::Rejected).then(|| "材料不符".to_string()),
                    },
                    Release::Transfer(to) => Command::Transfer {
                        window: w,
                        to: TransferTarget::Service(to),
                        reason: None,
                    },
                };
                let (events, flow) = self.apply(&actor, &cmd, hook);
                if flow == Flow::Stop {
                    return Flow::Stop;
                }
                if events.is_none() {
                    // Refused (e.g. a transfer to an unknown service): finish instead.
                    let finish = Command::Finish {
                        window: w,
                        outcome: Outcome::Done,
                        reason: None,
                    };
                    let (events, flow) = self.apply(&actor, &finish, hook);
                    if flow == Flow::Stop {
                        return Flow::Stop;
                    }
                    if self.wake_for(events.as_deref().unwrap_or(&[]), hook) == Flow::Stop {
                        return Flow::Stop;
                    }
                } else if self.wake_for(events.as_deref().unwrap_or(&[]), hook) == Flow::Stop {
                    return Flow::Stop;
                }
                self.freed(w, hook)
            }
            Act::NoShow(w, epoch) => {
                if !self.current(w, epoch) {
                    return Flow::Continue;
                }
                let actor = Actor::Staff(self.account(w));
                let (events, flow) = self.apply(&actor, &Command::NoShow { window: w }, hook);
                if flow == Flow::Stop {
                    return Flow::Stop;
                }
                if self.wake_for(events.as_deref().unwrap_or(&[]), hook) == Flow::Stop {
                    return Flow::Stop;
                }
                self.freed(w, hook)
            }
            Act::Resume(w, epoch) => {
                if !self.current(w, epoch) {
                    return Flow::Continue;
                }
                if self.desks.get(&w).is_some_and(|d| d.mode != Mode::Paused) {
                    return Flow::Continue;
                }
                let actor = Actor::Staff(self.account(w));
                let (_, flow) = self.apply(&actor, &Command::Resume { window: w }, hook);
                if flow == Flow::Stop {
                    return Flow::Stop;
                }
                if let Some(d) = self.desks.get_mut(&w) {
                    d.mode = Mode::Idle;
                }
                self.work(w, hook)
            }
            Act::DutyStart(w) => {
                let Some(mode) = self.desks.get(&w).map(|d| d.mode) else {
                    return Flow::Continue;
                };
                let actor = Actor::Staff(self.account(w));
                match mode {
                    Mode::Off => {
                        let (ok, flow) = self.apply(&actor, &Command::SignIn { window: w }, hook);
                        if flow == Flow::Stop {
                            return Flow::Stop;
                        }
                        if ok.is_none() {
                            return Flow::Continue;
                        }
                    }
                    Mode::Paused => {
                        if self.hall.window(w).is_some_and(|ws| ws.paused.is_some()) {
                            let (_, flow) =
                                self.apply(&actor, &Command::Resume { window: w }, hook);
                            if flow == Flow::Stop {
                                return Flow::Stop;
                            }
                        }
                    }
                    Mode::Idle | Mode::Busy => return Flow::Continue,
                }
                if let Some(d) = self.desks.get_mut(&w) {
                    d.mode = Mode::Idle;
                    d.epoch += 1;
                }
                self.work(w, hook)
            }
            Act::DutyEnd(w) => {
                if self.desks.get(&w).is_some_and(|d| d.mode == Mode::Idle) {
                    self.work(w, hook)
                } else {
                    Flow::Continue
                }
            }
        }
    }

    fn current(&self, w: WindowNo, epoch: u64) -> bool {
        self.desks.get(&w).is_some_and(|d| d.epoch == epoch)
    }

    fn account(&self, w: WindowNo) -> String {
        self.desks
            .get(&w)
            .map(|d| d.desk.account.clone())
            .unwrap_or_default()
    }

    /// The desk's ticket is gone: it is free now.
    fn freed(
        &mut self,
        w: WindowNo,
        hook: &mut dyn FnMut(&Hall, &[Event], Millis) -> Flow,
    ) -> Flow {
        if let Some(d) = self.desks.get_mut(&w) {
            d.mode = Mode::Idle;
            d.epoch += 1;
        }
        self.work(w, hook)
    }

    /// A free desk decides: go off duty, pause, or call.
    fn work(&mut self, w: WindowNo, hook: &mut dyn FnMut(&Hall, &[Event], Millis) -> Flow) -> Flow {
        let Some(d) = self.desks.get(&w) else {
            return Flow::Continue;
        };
        if d.mode != Mode::Idle {
            return Flow::Continue;
        }
        let now = self.now_ms;
        let actor = Actor::Staff(d.desk.account.clone());
        let duty = on_duty(&d.desk.duty, now);
        let next = next_start(&d.desk.duty, now);
        if !duty {
            // Extended service: with no session open, finish the line first.
            let draining = self.hall.state().session.is_none()
                && self.hall.config().file.calendar.extended_service
                && self.hall.day().is_some()
                && !self.hall.state().day_ended;
            if draining {
                let flow = self.call(w, hook);
                if flow == Flow::Stop || self.desks.get(&w).is_some_and(|d| d.mode == Mode::Busy) {
                    return flow;
                }
            }
            let (cmd, mode) = match next {
                Some(_) => (
                    Command::Pause {
                        window: w,
                        reason: PauseReason::Lunch,
                    },
                    Mode::Paused,
                ),
                None => (Command::SignOut { window: w }, Mode::Off),
            };
            let (ok, flow) = self.apply(&actor, &cmd, hook);
            if let Some(d) = self.desks.get_mut(&w) {
                d.epoch += 1;
                d.mode = if ok.is_some() { mode } else { Mode::Idle };
            }
            return flow;
        }
        if let Some((reason, pause_ms)) = self.behaviour.pause(&mut self.rng, &self.hall, w) {
            let (ok, flow) = self.apply(&actor, &Command::Pause { window: w, reason }, hook);
            if flow == Flow::Stop {
                return Flow::Stop;
            }
            if ok.is_some() {
                let epoch = {
                    let d = self.desks.get_mut(&w).expect("desk exists");
                    d.mode = Mode::Paused;
                    d.epoch += 1;
                    d.epoch
                };
                self.push(now + pause_ms.max(1_000), Act::Resume(w, epoch));
                return Flow::Continue;
            }
        }
        self.call(w, hook)
    }

    /// Call-next at the desk; schedules what happens to the ticket.
    fn call(&mut self, w: WindowNo, hook: &mut dyn FnMut(&Hall, &[Event], Millis) -> Flow) -> Flow {
        let actor = Actor::Staff(self.account(w));
        let (events, flow) = self.apply(&actor, &Command::CallNext { window: w }, hook);
        let called = events
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .find_map(|e| match e {
                Event::TicketCalled { ticket, .. } => Some(*ticket),
                _ => None,
            });
        if let Some(id) = called
            && let Some(t) = self.hall.live_ticket(id).cloned()
        {
            let h = self.behaviour.handle(&mut self.rng, &self.hall, w, &t);
            let epoch = {
                let d = self.desks.get_mut(&w).expect("desk exists");
                d.mode = Mode::Busy;
                d.epoch += 1;
                d.epoch
            };
            self.schedule_handling(w, epoch, h, false);
        }
        flow
    }

    /// Tickets that (re)entered a line: wake the idle desks that may call them.
    fn wake_for(
        &mut self,
        events: &[Event],
        hook: &mut dyn FnMut(&Hall, &[Event], Millis) -> Flow,
    ) -> Flow {
        let mut ids: Vec<TicketId> = Vec::new();
        for e in events {
            match e {
                Event::TicketIssued { ticket, .. }
                | Event::TicketTransferred { ticket, .. }
                | Event::TicketNoShow {
                    ticket,
                    requeue: Some(_),
                    ..
                }
                | Event::TicketFinished {
                    ticket,
                    next_step: Some(_),
                    ..
                } => ids.push(*ticket),
                _ => {}
            }
        }
        for id in ids {
            let Some(t) = self.hall.ticket(id) else {
                continue;
            };
            if t.status != TicketStatus::Waiting {
                continue;
            }
            let windows: Vec<WindowNo> = match t.directed_to {
                Some(w) => vec![w],
                None => self
                    .serves
                    .get(t.service.as_str())
                    .cloned()
                    .unwrap_or_default(),
            };
            for w in windows {
                if self.desks.get(&w).is_some_and(|d| d.mode == Mode::Idle)
                    && self.work(w, hook) == Flow::Stop
                {
                    return Flow::Stop;
                }
            }
        }
        Flow::Continue
    }

    fn wake_all(&mut self, hook: &mut dyn FnMut(&Hall, &[Event], Millis) -> Flow) -> Flow {
        let idle: Vec<WindowNo> = self
            .desks
            .iter()
            .filter(|(_, d)| d.mode == Mode::Idle)
            .map(|(w, _)| *w)
            .collect();
        for w in idle {
            if self.work(w, hook) == Flow::Stop {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }
}

pub fn on_duty(duty: &[(Millis, Millis)], at_ms: Millis) -> bool {
    duty.iter().any(|&(a, b)| a <= at_ms && at_ms < b)
}

/// The start of the next duty interval after `at_ms`.
pub fn next_start(duty: &[(Millis, Millis)], at_ms: Millis) -> Option<Millis> {
    duty.iter().map(|&(a, _)| a).filter(|&a| a > at_ms).min()
}

/// The sessions of the local date of `at_ms` as instants (the default duty of a desk).
pub fn sessions_of_day(hall: &Hall, at_ms: Millis) -> Vec<(Millis, Millis)> {
    let config = hall.config();
    let date = local(config.tz, at_ms).date();
    day_plan(&config.file.calendar, date)
        .slots
        .iter()
        .map(|s| (instant(config.tz, s.start), instant(config.tz, s.end)))
        .collect()
}
