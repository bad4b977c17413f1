//! Deterministic simulation of whole hall days from a seed (DESIGN.md §7).
//!
//! A seeded generator (`hallq::sim::Traffic`) sends thousands of mixed valid
//! and invalid commands to a hall while the clock moves by seconds to
//! minutes; calendar commands (`due_lifecycle`) are applied as `System`
//! before every command, so days roll over, sessions open and close and the
//! end-of-day sweep runs. After every step the hall's invariants are checked;
//! at each day's end the event log is replayed into a fresh hall, whose state
//! must equal the live one; and a second run of the same seed must produce
//! the same events byte for byte.
//!
//! A failure names the seed and the step. Re-run one seed with
//! `HALLQ_SIM_SEED=<seed> cargo test --test sim_day -- --nocapture`; run N
//! random seeds with `HALLQ_SIM_SEEDS=N`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, NaiveDateTime};
use hallq::config::{Config, TimeOfDay};
use hallq::queue::calendar;
use hallq::queue::state::PARKED_PER_WINDOW_MAX;
use hallq::queue::{
    Actor, CallRule, Command, Event, Hall, IssueSource, MINUTE_MS, Millis, TicketId, TicketStatus,
    WindowNo, format_number,
};
use hallq::sim::Traffic;

const DAY_MS: Millis = 24 * 60 * MINUTE_MS;

/// A county hall with a real calendar: lunch break, a closure, a holiday, a
/// make-up Saturday, a 30-minute issue cutoff, capped and slotted services,
/// a tiny wrapping series, a tiny non-wrapping one, a two-step flow.
const COUNTY_TOML: &str = r#"
[hall]
name = "平川县政务服务中心"
name_en = "Pingchuan County Government Service Center"
timezone = "Asia/Shanghai"

[[zone]]
id = "main"
name = "一楼大厅"
floor = 1

[[department]]
id = "office"
name = "管理办"

[[department]]
id = "police"
name = "公安局"

[[department]]
id = "tax"
name = "税务局"

[[department]]
id = "estate"
name = "不动产登记中心"

[[service]]
id = "household"
name = "户籍业务"
department = "police"
prefix = "A"
daily_cap = 40
per_person_daily_cap = 2
max_cases = 3
issue_windows = [
  { from = "08:30", to = "10:00", cap = 12 },
  { from = "10:30", to = "11:00", cap = 10 },
  { from = "13:00", to = "16:30", cap = 20 },
]
matter_class = "immediate"
expected_minutes = 10

[[service]]
id = "tax"
name = "税费缴纳"
department = "tax"
prefix = "B"
series = { start = 1, end = 15, wrap = true }
matter_class = "immediate"
expected_minutes = 6

[[service]]
id = "medical"
name = "医保业务"
department = "office"
prefix = "C"
series = { start = 1, end = 25, wrap = false }
recall_limit = 1
matter_class = "immediate"
expected_minutes = 7

[[service]]
id = "estate-accept"
name = "不动产受理"
department = "estate"
prefix = "D"
matter_class = "commitment"
promised_days = 5
expected_minutes = 20
next_step = "estate-pay"

[[service]]
id = "estate-pay"
name = "不动产缴费"
department = "estate"
prefix = "E"
matter_class = "immediate"
expected_minutes = 5

[[service]]
id = "consult"
name = "咨询"
department = "office"
prefix = "F"
series = { start = 1, end = 99, wrap = true }
matter_class = "immediate"
expected_minutes = 3

[[window]]
number = 1
name = "户籍窗口"
kind = "comprehensive"
department = "office"
zone = "main"
services = [{ service = "household", weight = 3 }, { service = "medical", weight = 1 }]

[[window]]
number = 2
name = "税务窗口"
kind = "comprehensive"
department = "office"
zone = "main"
services = [{ service = "tax", weight = 3 }, { service = "medical", weight = 1 }]

[[window]]
number = 3
name = "不动产受理窗口"
kind = "comprehensive"
department = "office"
zone = "main"
services = [{ service = "estate-accept", weight = 2 }, { service = "household", weight = 1 }]

[[window]]
number = 4
name = "缴费窗口"
kind = "fee"
department = "estate"
zone = "main"
services = [{ service = "estate-pay" }, { service = "consult" }]

[[window]]
number = 5
name = "综合窗口"
kind = "comprehensive"
zone = "main"
open = false
services = [
  { service = "household" }, { service = "tax" }, { service = "medical" },
  { service = "estate-accept" }, { service = "estate-pay" }, { service = "consult" },
]

[[window]]
number = 6
name = "咨询台"
kind = "consultation"
zone = "main"
services = [{ service = "consult" }]

[[staff]]
account = "s1"
job_number = "P001"
name = "一号"

[[staff]]
account = "s2"
job_number = "P002"
name = "二号"

[[staff]]
account = "s3"
job_number = "P003"
name = "三号"

[[staff]]
account = "s4"
job_number = "P004"
name = "四号"

[[staff]]
account = "s5"
job_number = "P005"
name = "五号"

[[staff]]
account = "s6"
job_number = "P006"
name = "六号"

[[staff]]
account = "s7"
job_number = "P007"
name = "七号"

[[staff]]
account = "boss"
job_number = "M001"
name = "主任"
roles = ["staff", "manager"]

[[priority]]
id = "care"
name = "老弱病残孕"
rank = 1

[[priority]]
id = "green"
name = "绿色通道"
rank = 2

[routing]
priority_streak_max = 2
priority_extra_wait_minutes_max = 10
no_show_requeue_after = 2
no_show_requeue_max = 2

[calendar]
issue_cutoff_minutes = 30
extended_service = false

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "08:30"
to = "11:30"

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "13:00"
to = "17:00"

[[calendar.holiday]]
from = "2026-11-27"
name = "临时闭馆"

[[calendar.makeup_workday]]
date = "2026-11-28"
as = "fri"

[[calendar.closure]]
from = "2026-11-25T14:00"
to = "2026-11-25T15:00"
notice = "系统升级，暂停服务"
notice_en = "System upgrade"
"#;

// ---------------------------------------------------------------------------
// Invariants of a hall's state (no history needed).

/// Everything that must hold of a hall's state after every step.
fn check_invariants(hall: &Hall) -> Result<(), String> {
    let s = hall.state();
    let config = hall.config();
    let mut at_window: HashMap<TicketId, WindowNo> = HashMap::new();
    for w in hall.windows() {
        let mut mark = |id: TicketId, what: &str| -> Result<(), String> {
            match at_window.insert(id, w.number) {
                Some(other) => Err(format!(
                    "ticket {id} is at window {other} and ({what}) at window {}",
                    w.number
                )),
                None => Ok(()),
            }
        };
        if let Some(id) = w.current {
            mark(id, "current")?;
            let t = hall.ticket(id).ok_or(format!(
                "window {} current ticket {id} is unknown",
                w.number
            ))?;
            if !matches!(t.status, TicketStatus::Called | TicketStatus::Serving)
                || t.window != Some(w.number)
            {
                return Err(format!(
                    "window {} current {} has status {:?} at {:?}",
                    w.number, t.number, t.status, t.window
                ));
            }
            if w.staff.is_none() && t.status == TicketStatus::Called {
                return Err(format!(
                    "window {} calls {} with nobody signed in",
                    w.number, t.number
                ));
            }
        }
        if w.parked.len() > PARKED_PER_WINDOW_MAX {
            return Err(format!(
                "window {} parks {} tickets",
                w.number,
                w.parked.len()
            ));
        }
        for &id in &w.parked {
            mark(id, "parked")?;
            let t = hall
                .ticket(id)
                .ok_or(format!("window {} parks unknown ticket {id}", w.number))?;
            if t.status != TicketStatus::Parked || t.window != Some(w.number) {
                return Err(format!(
                    "window {} parks {} with status {:?} at {:?}",
                    w.number, t.number, t.status, t.window
                ));
            }
        }
        if !w.open && (w.staff.is_some() || w.current.is_some() || !w.parked.is_empty()) {
            return Err(format!(
                "closed window {} has staff {:?}, current {:?}, parked {:?}",
                w.number, w.staff, w.current, w.parked
            ));
        }
        if w.paused.is_some() && w.staff.is_none() {
            return Err(format!(
                "window {} is paused with nobody signed in",
                w.number
            ));
        }
        if w.paused.is_some() && w.current.is_some() {
            return Err(format!(
                "window {} is paused while handling ticket {:?}",
                w.number, w.current
            ));
        }
        if let Some(a) = &w.staff
            && s.staff_at.get(a) != Some(&w.number)
        {
            return Err(format!(
                "window {} has {a} but staff_at says {:?}",
                w.number,
                s.staff_at.get(a)
            ));
        }
        if w.services
            .iter()
            .map(|x| &x.service)
            .collect::<HashSet<_>>()
            .len()
            != w.services.len()
        {
            return Err(format!("window {} lists a service twice", w.number));
        }
    }
    for (a, n) in &s.staff_at {
        if hall.window(*n).and_then(|w| w.staff.as_deref()) != Some(a.as_str()) {
            return Err(format!(
                "staff_at says {a} is at window {n}, the window disagrees"
            ));
        }
    }

    let (mut waiting, mut live) = (0usize, 0usize);
    let mut waiting_by_service: HashMap<String, usize> = HashMap::new();
    let mut live_numbers: HashMap<String, TicketId> = HashMap::new();
    for t in hall.tickets() {
        let where_ = at_window.get(&t.id).copied();
        match t.status {
            TicketStatus::Waiting => {
                waiting += 1;
                if t.window.is_some() || where_.is_some() {
                    return Err(format!(
                        "waiting ticket {} is at window {:?}/{:?}",
                        t.number, t.window, where_
                    ));
                }
                match t.directed_to {
                    None => *waiting_by_service.entry(t.service.to_string()).or_default() += 1,
                    Some(d) => {
                        if !hall.window(d).is_some_and(|w| w.open) {
                            return Err(format!(
                                "ticket {} waits for window {d}, which is not open",
                                t.number
                            ));
                        }
                    }
                }
                if config.service(&t.service).is_none() {
                    return Err(format!(
                        "ticket {} waits for unknown service {}",
                        t.number, t.service
                    ));
                }
            }
            TicketStatus::Called | TicketStatus::Serving | TicketStatus::Parked => {
                if where_.is_none() || where_ != t.window {
                    return Err(format!(
                        "{:?} ticket {} claims window {:?}, is at {:?}",
                        t.status, t.number, t.window, where_
                    ));
                }
            }
            _ => {
                if where_.is_some() || t.window.is_some() {
                    return Err(format!(
                        "{:?} ticket {} is at window {:?}/{:?}",
                        t.status, t.number, t.window, where_
                    ));
                }
            }
        }
        if t.status.is_live() {
            live += 1;
            if t.directed_to.is_some() && t.status != TicketStatus::Waiting {
                return Err(format!(
                    "{:?} ticket {} is still directed to {:?}",
                    t.status, t.number, t.directed_to
                ));
            }
            if let Some(other) = live_numbers.insert(t.number.to_string(), t.id) {
                let o = hall.ticket(other).ok_or("unknown ticket")?;
                return Err(format!(
                    "live tickets {other} ({}, {:?}, step {}) and {} ({}, {:?}, step {}) both hold number {}",
                    o.day, o.status, o.step, t.id, t.day, t.status, t.step, t.number
                ));
            }
            if Some(t.day) == s.day
                && !s.day_ended
                && hall.ticket_by_number(&t.number).map(|x| x.id) != Some(t.id)
            {
                return Err(format!(
                    "today's live ticket {} ({}) is not found by its number",
                    t.number, t.id
                ));
            }
        }
        if t.status == TicketStatus::Serving
            && (t.first_receiver.is_none() || t.started_ms.is_none())
        {
            return Err(format!(
                "serving ticket {} has no first receiver or start time",
                t.number
            ));
        }
    }
    if hall.queues().waiting() != waiting {
        return Err(format!(
            "queues count {} waiting, tickets say {waiting}",
            hall.queues().waiting()
        ));
    }
    if s.live != live {
        return Err(format!("live count is {}, tickets say {live}", s.live));
    }
    let streak_max = config.file.routing.priority_streak_max;
    for svc in config.services() {
        let lanes = hall.waiting_for(&svc.id);
        let tickets = waiting_by_service
            .get(svc.id.as_str())
            .copied()
            .unwrap_or(0);
        if lanes != tickets {
            return Err(format!(
                "service {}: lanes hold {lanes} waiting, tickets say {tickets}",
                svc.id
            ));
        }
        let st = hall.queues().starvation(&svc.id);
        if st.streak > streak_max {
            return Err(format!(
                "service {}: starvation streak {} > {streak_max}",
                svc.id, st.streak
            ));
        }
        if let Some(series) = s.series.get(&svc.id)
            && (series.next < svc.series.start || series.next > svc.series.end + 1)
        {
            return Err(format!(
                "service {}: series next {} out of {}..={}",
                svc.id, series.next, svc.series.start, svc.series.end
            ));
        }
    }
    if s.session.is_some() && (s.day.is_none() || s.day_ended) {
        return Err("a session is open outside a business day".to_string());
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Invariants over history: numbers, caps, the starvation bound.

/// Ordinary (rank 0) tickets waiting in each service's own line (not directed to a window).
fn ordinary_waiting(hall: &Hall) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for t in hall.tickets() {
        if t.status == TicketStatus::Waiting && t.rank == 0 && t.directed_to.is_none() {
            *out.entry(t.service.to_string()).or_default() += 1;
        }
    }
    out
}

/// What a routed call is checked against, captured before the command.
struct CallNextBefore {
    window: WindowNo,
    services: Vec<String>,
    ordinary: HashMap<String, usize>,
    ranked: Vec<TicketId>,
    /// The core's own starvation record per served service, for failure messages.
    starvation: HashMap<String, hallq::queue::routing::Starvation>,
}

#[derive(Default)]
struct History {
    day: Option<NaiveDate>,
    numbers: HashSet<(NaiveDate, String, u32, String)>,
    day_cases: HashMap<(NaiveDate, String), u32>,
    slot_cases: HashMap<(NaiveDate, String, u32), u32>,
    person_tickets: HashMap<(NaiveDate, String, String), u32>,
    /// Routed priority calls in a row that passed over a service's ordinary line (a model
    /// independent of `Queues::starvation`), and when that run began.
    passed_over: HashMap<String, (u32, Millis)>,
}

impl History {
    fn on_event(
        &mut self,
        hall: &Hall,
        e: &Event,
        at_ms: Millis,
        before: Option<&BeforeStep>,
    ) -> Result<(), String> {
        let config = hall.config();
        match e {
            Event::DayOpened { date } => self.day = Some(*date),
            Event::TicketIssued {
                ticket,
                number,
                service,
                cycle,
                serial,
                person,
                source,
                cases,
                slot,
                ..
            } => {
                let day = self.day.ok_or("ticket issued before any day")?;
                let svc = config
                    .service(service)
                    .ok_or(format!("issued for unknown service {service}"))?;
                if *number != format_number(svc, *serial)
                    || *serial < svc.series.start
                    || *serial > svc.series.end
                {
                    return Err(format!(
                        "{number} (serial {serial}) does not fit the series of {service}"
                    ));
                }
                if !svc.series.wrap && *cycle != 0 {
                    return Err(format!("{number}: cycle {cycle} on a series without wrap"));
                }
                if !self
                    .numbers
                    .insert((day, service.clone(), *cycle, number.clone()))
                {
                    return Err(format!(
                        "{number} issued twice in cycle {cycle} of {day} (ticket {ticket})"
                    ));
                }
                let dc = self.day_cases.entry((day, service.clone())).or_default();
                *dc += cases;
                if let Some(cap) = svc.daily_cap
                    && *dc > cap
                {
                    return Err(format!(
                        "{service}: {dc} cases issued on {day}, daily cap {cap}"
                    ));
                }
                let is_appointment = matches!(source, IssueSource::Appointment { .. });
                if !is_appointment && svc.issue_windows.is_empty() != slot.is_none() {
                    return Err(format!(
                        "{number}: slot {slot:?}, but the service has {} issue windows",
                        svc.issue_windows.len()
                    ));
                }
                if let Some(slot) = slot {
                    let iw = svc
                        .issue_windows
                        .get(*slot as usize)
                        .ok_or(format!("{number}: unknown slot {slot}"))?;
                    let tod = TimeOfDay::of(calendar::local(config.tz, at_ms).time());
                    if tod < iw.from || tod >= iw.to {
                        return Err(format!(
                            "{number} issued at {tod}, outside its slot {}–{}",
                            iw.from, iw.to
                        ));
                    }
                    let sc = self
                        .slot_cases
                        .entry((day, service.clone(), *slot))
                        .or_default();
                    *sc += cases;
                    if let Some(cap) = iw.cap
                        && *sc > cap
                    {
                        return Err(format!(
                            "{service}: {sc} cases in slot {slot} on {day}, cap {cap}"
                        ));
                    }
                }
                if let Some(p) = person {
                    let n = self
                        .person_tickets
                        .entry((day, p.clone(), service.clone()))
                        .or_default();
                    *n += 1;
                    if let Some(cap) = svc.per_person_daily_cap
                        && *n > cap
                    {
                        return Err(format!(
                            "{service}: person took {n} tickets on {day}, cap {cap}"
                        ));
                    }
                }
                let b = before.ok_or("ticket issued by a lifecycle command")?;
                let session = b
                    .session
                    .ok_or(format!("{number} issued with no session open"))?;
                if let Some(ends) = session.ends_ms {
                    let cutoff =
                        Millis::from(config.file.calendar.issue_cutoff_minutes) * MINUTE_MS;
                    if at_ms >= ends - cutoff {
                        return Err(format!(
                            "{number} issued after the cutoff ({} min before {ends})",
                            cutoff / MINUTE_MS
                        ));
                    }
                }
                if b.day_ended || b.day.is_none() {
                    return Err(format!("{number} issued outside a business day"));
                }
            }
            Event::TicketCalled {
                ticket,
                window,
                rule: CallRule::Routed,
                ..
            } => {
                let b = before.ok_or("routed call by a lifecycle command")?;
                let call = b.call.as_ref().ok_or("routed call without call-next")?;
                if call.window != *window || call.ranked.first() != Some(ticket) {
                    return Err(format!(
                        "call-next at {} called {ticket}, ranking said {:?}",
                        call.window,
                        call.ranked.first()
                    ));
                }
                let pre = b
                    .tickets
                    .get(ticket)
                    .ok_or("routed call of a ticket that was not waiting")?;
                let (rank, directed, service) = (pre.0, pre.1, pre.2.clone());
                let routing = &config.file.routing;
                let extra_ms = Millis::from(routing.priority_extra_wait_minutes_max) * MINUTE_MS;
                if rank > 0 {
                    for s in &call.services {
                        if call.ordinary.get(s).copied().unwrap_or(0) == 0 {
                            continue;
                        }
                        // The core's own record: its ordinary head was already promoted.
                        let core = call.starvation.get(s).copied().unwrap_or_default();
                        if core.streak >= routing.priority_streak_max
                            || core.since_ms.is_some_and(|t| at_ms - t >= extra_ms)
                        {
                            return Err(format!(
                                "priority ticket {ticket} called at window {window} over {s}'s promoted ordinary head ({core:?})"
                            ));
                        }
                        let run = self.passed_over.entry(s.clone()).or_insert((0, at_ms));
                        if run.0 >= routing.priority_streak_max {
                            return Err(format!(
                                "priority ticket {ticket} called at window {window} although {s}'s ordinary line was passed over {} times in a row (core: {:?})",
                                run.0,
                                call.starvation.get(s)
                            ));
                        }
                        if at_ms - run.1 >= extra_ms && run.0 > 0 {
                            return Err(format!(
                                "priority ticket {ticket} called at window {window} although {s}'s ordinary line has been passed over for {} min (core: {:?}, run began {})",
                                (at_ms - run.1) / MINUTE_MS,
                                call.starvation.get(s),
                                run.1
                            ));
                        }
                        run.0 += 1;
                    }
                } else if !directed {
                    self.passed_over.remove(&service);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// After a step: a run ends when its service has no ordinary ticket waiting.
    fn settle(&mut self, hall: &Hall) {
        let ordinary = ordinary_waiting(hall);
        self.passed_over
            .retain(|s, _| ordinary.get(s).copied().unwrap_or(0) > 0);
    }
}

/// The state a command's events are checked against, captured before it.
struct BeforeStep {
    session: Option<hallq::queue::state::OpenSession>,
    day: Option<NaiveDate>,
    day_ended: bool,
    call: Option<CallNextBefore>,
    /// Waiting tickets: (rank, directed, service) — only captured for call-next.
    tickets: HashMap<TicketId, (u32, bool, String)>,
}

impl BeforeStep {
    fn capture(hall: &Hall, command: &Command, now_ms: Millis) -> Result<BeforeStep, String> {
        let s = hall.state();
        let mut b = BeforeStep {
            session: s.session,
            day: s.day,
            day_ended: s.day_ended,
            call: None,
            tickets: HashMap::new(),
        };
        if let Command::CallNext { window } = command {
            let ranked: Vec<TicketId> = hall
                .rank_candidates(*window, now_ms)
                .iter()
                .map(|c| c.ticket)
                .collect();
            let explained = hall.explain_next(*window, now_ms);
            let explained_ids: Vec<TicketId> = explained
                .candidates
                .iter()
                .map(|c| c.candidate.ticket)
                .collect();
            if explained_ids != ranked {
                return Err(format!(
                    "explain_next({window}) lists {explained_ids:?}, ranking is {ranked:?}"
                ));
            }
            for c in &explained.candidates {
                let t = hall
                    .ticket(c.candidate.ticket)
                    .ok_or("explained an unknown ticket")?;
                if t.number != c.number || t.status != TicketStatus::Waiting {
                    return Err(format!(
                        "explain_next({window}) shows {} for {} ({:?})",
                        c.number, t.number, t.status
                    ));
                }
            }
            let services = hall
                .window(*window)
                .map(|w| w.services.iter().map(|x| x.service.clone()).collect())
                .unwrap_or_default();
            let starvation = services_of(hall, *window)
                .into_iter()
                .map(|s| (s.clone(), hall.queues().starvation(&s)))
                .collect();
            b.call = Some(CallNextBefore {
                window: *window,
                services,
                ordinary: ordinary_waiting(hall),
                ranked,
                starvation,
            });
            b.tickets = hall
                .tickets()
                .filter(|t| t.status == TicketStatus::Waiting)
                .map(|t| {
                    (
                        t.id,
                        (t.rank, t.directed_to.is_some(), t.service.to_string()),
                    )
                })
                .collect();
        }
        Ok(b)
    }
}

fn services_of(hall: &Hall, window: WindowNo) -> Vec<String> {
    hall.window(window)
        .map(|w| w.services.iter().map(|x| x.service.clone()).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// The driver.

#[derive(Default)]
struct Outcome {
    events: Vec<(Millis, Event)>,
    steps: usize,
    refusals: BTreeMap<&'static str, usize>,
    kinds: BTreeMap<&'static str, usize>,
    replays: usize,
    expired: usize,
    requeued: usize,
    next_steps: usize,
    wrapped: usize,
}

/// A requeued no-show sits behind exactly `no_show_requeue_after` of the
/// walk-ins waiting in its line (or last, when fewer wait).
fn requeued_behind_k(hall: &Hall, id: TicketId) -> Result<(), String> {
    let x = hall.ticket(id).ok_or("requeued ticket is unknown")?;
    let k = hall.config().file.routing.no_show_requeue_after as usize;
    let (mut others, mut ahead) = (0usize, 0usize);
    for t in hall.tickets() {
        let same_line = t.status == TicketStatus::Waiting
            && t.id != id
            && t.service == x.service
            && t.rank == x.rank
            && t.directed_to == x.directed_to
            && t.due_ms().is_none();
        if same_line {
            others += 1;
            if (t.key, t.id) < (x.key, x.id) {
                ahead += 1;
            }
        }
    }
    if ahead != k.min(others) {
        return Err(format!(
            "no-show {} requeued behind {ahead} of {others} walk-ins, not {}",
            x.number,
            k.min(others)
        ));
    }
    Ok(())
}

fn replay_equals(
    config: &Arc<Config>,
    events: &[(Millis, Event)],
    live: &Hall,
) -> Result<(), String> {
    let mut fresh = Hall::new(config.clone());
    for (at, e) in events {
        fresh.evolve(e, *at);
    }
    if fresh.state() != live.state() {
        let (a, b) = (fresh.state(), live.state());
        let mut diff = Vec::new();
        if a.tickets != b.tickets {
            diff.push("tickets");
        }
        if a.windows != b.windows {
            diff.push("windows");
        }
        if a.queues != b.queues {
            diff.push("queues");
        }
        if a.series != b.series || a.by_number != b.by_number {
            diff.push("numbering");
        }
        return Err(format!(
            "replay of {} events differs from the live hall in {diff:?}",
            events.len()
        ));
    }
    Ok(())
}

fn simulate(
    seed: u64,
    config: Arc<Config>,
    start: NaiveDateTime,
    days: i64,
    hot: &[&str],
) -> Outcome {
    let fail = |step: usize, msg: String| -> ! {
        panic!(
            "seed {seed}: hall {}: step {step}: {msg}",
            config.file.hall.name
        )
    };
    let start_ms = calendar::instant(config.tz, start);
    let end_ms = start_ms + days * DAY_MS;
    let mut hall = Hall::new(config.clone());
    let mut traffic = Traffic::new(seed, config.clone());
    traffic.set_hot(hot);
    let mut history = History::default();
    let mut out = Outcome::default();
    let mut now = start_ms;
    let mut step = 0usize;
    while now < end_ms {
        step += 1;
        now += traffic.step_ms(&hall);

        // The calendar first, as the owner task does.
        let mut rounds = 0;
        while let Some(command) = hall.due_lifecycle(now) {
            rounds += 1;
            if rounds > 6 {
                fail(step, format!("due_lifecycle keeps asking ({command:?})"));
            }
            let events = hall
                .apply(&Actor::System, &command, now)
                .unwrap_or_else(|r| fail(step, format!("{command:?} refused: {r}")));
            if events.is_empty() {
                fail(step, format!("{command:?} produced no event"));
            }
            for e in &events {
                history
                    .on_event(&hall, e, now, None)
                    .unwrap_or_else(|m| fail(step, m));
                *out.kinds.entry(e.kind()).or_default() += 1;
                if let Event::DayEnded { expired, .. } = e {
                    out.expired += expired.len();
                }
                out.events.push((now, e.clone()));
            }
            history.settle(&hall);
            check_invariants(&hall)
                .unwrap_or_else(|m| fail(step, format!("after {command:?}: {m}")));
            if events.iter().any(|e| matches!(e, Event::DayEnded { .. })) {
                replay_equals(&config, &out.events, &hall).unwrap_or_else(|m| fail(step, m));
                out.replays += 1;
            }
        }

        let (actor, command) = traffic.next(&hall, now);
        let before = BeforeStep::capture(&hall, &command, now).unwrap_or_else(|m| fail(step, m));
        let snapshot = step.is_multiple_of(16).then(|| hall.state().clone());
        match hall.apply(&actor, &command, now) {
            Ok(events) => {
                if let (Command::CallNext { .. }, Some(call)) = (&command, &before.call)
                    && events.is_empty() != call.ranked.is_empty()
                {
                    fail(
                        step,
                        format!(
                            "call-next gave {events:?} with candidates {:?}",
                            call.ranked
                        ),
                    );
                }
                for e in &events {
                    history
                        .on_event(&hall, e, now, Some(&before))
                        .unwrap_or_else(|m| fail(step, format!("{actor:?} {command:?}: {m}")));
                    *out.kinds.entry(e.kind()).or_default() += 1;
                    match e {
                        Event::TicketNoShow {
                            ticket,
                            requeue: Some(_),
                            ..
                        } => {
                            out.requeued += 1;
                            requeued_behind_k(&hall, *ticket).unwrap_or_else(|m| fail(step, m));
                        }
                        Event::TicketFinished {
                            next_step: Some(_), ..
                        } => out.next_steps += 1,
                        Event::TicketIssued { cycle, .. } if *cycle > 0 => out.wrapped += 1,
                        Event::DayEnded { expired, .. } => out.expired += expired.len(),
                        _ => {}
                    }
                    out.events.push((now, e.clone()));
                }
                if events.iter().any(|e| matches!(e, Event::DayEnded { .. })) {
                    replay_equals(&config, &out.events, &hall).unwrap_or_else(|m| fail(step, m));
                    out.replays += 1;
                }
            }
            Err(refusal) => {
                *out.refusals.entry(refusal.code).or_default() += 1;
                if let Some(snapshot) = snapshot
                    && &snapshot != hall.state()
                {
                    fail(
                        step,
                        format!("refused {command:?} ({}) changed the state", refusal.code),
                    );
                }
            }
        }
        history.settle(&hall);
        check_invariants(&hall)
            .unwrap_or_else(|m| fail(step, format!("after {actor:?} {command:?}: {m}")));
        if step.is_multiple_of(2000) {
            replay_equals(&config, &out.events, &hall).unwrap_or_else(|m| fail(step, m));
            out.replays += 1;
        }
    }
    replay_equals(&config, &out.events, &hall).unwrap_or_else(|m| fail(step, m));
    out.replays += 1;
    out.steps = step;
    out
}

fn at(date: (i32, u32, u32), hh: u32, mm: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(date.0, date.1, date.2)
        .and_then(|d| d.and_hms_opt(hh, mm, 0))
        .expect("a valid date")
}

fn county() -> Arc<Config> {
    Arc::new(
        Config::from_toml_str("tests/sim_day.rs (county hall)", COUNTY_TOML)
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

/// Runs one seed against both halls, twice each, and compares the two runs.
fn run_seed(seed: u64) -> Vec<Outcome> {
    let halls: [(Arc<Config>, NaiveDateTime, i64, &[&str]); 2] = [
        // Open around the clock: days roll over at midnight with tickets still being served.
        (
            Arc::new(Config::demo()),
            at((2026, 11, 23), 5, 0),
            3,
            &["marriage", "estate-search", "hukou"],
        ),
        // Monday to Sunday: the closure on Wednesday, the holiday on Friday, the make-up Saturday.
        (
            county(),
            at((2026, 11, 23), 7, 0),
            7,
            &["household", "tax", "medical", "estate-accept"],
        ),
    ];
    let mut outcomes = Vec::new();
    for (config, start, days, hot) in halls {
        let first = simulate(seed, config.clone(), start, days, hot);
        let second = simulate(seed, config.clone(), start, days, hot);
        let a = serde_json::to_string(&first.events).expect("events serialize");
        let b = serde_json::to_string(&second.events).expect("events serialize");
        if a != b {
            let i = first
                .events
                .iter()
                .zip(&second.events)
                .position(|(x, y)| x != y)
                .unwrap_or(first.events.len().min(second.events.len()));
            panic!(
                "seed {seed}: hall {}: two runs differ first at event {i}: {:?} vs {:?}",
                config.file.hall.name,
                first.events.get(i),
                second.events.get(i)
            );
        }
        outcomes.push(first);
    }
    outcomes
}

fn report(seed: u64, outcomes: &[Outcome]) {
    for (name, o) in ["demo", "county"].iter().zip(outcomes) {
        let refused: usize = o.refusals.values().sum();
        println!(
            "seed {seed} {name}: {} steps, {} events, {refused} refusals, {} replays, {} expired, {} requeued, {} next steps, {} wrapped",
            o.steps,
            o.events.len(),
            o.replays,
            o.expired,
            o.requeued,
            o.next_steps,
            o.wrapped
        );
    }
}

/// The fixed seeds of the default run; together they must reach every kind of
/// event and every refusal the caps, calendar and rules can give.
#[test]
fn simulated_days_keep_every_invariant() {
    if let Ok(seed) = std::env::var("HALLQ_SIM_SEED") {
        let seed: u64 = seed.parse().expect("HALLQ_SIM_SEED is a u64");
        report(seed, &run_seed(seed));
        return;
    }
    let started = Instant::now();
    let mut kinds: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut refusals: BTreeMap<&'static str, usize> = BTreeMap::new();
    let (mut expired, mut requeued, mut next_steps, mut wrapped) = (0, 0, 0, 0);
    for seed in [1u64, 2, 3, 0x00C0_FFEE] {
        let outcomes = run_seed(seed);
        report(seed, &outcomes);
        for o in &outcomes {
            for (k, n) in &o.kinds {
                *kinds.entry(k).or_default() += n;
            }
            for (k, n) in &o.refusals {
                *refusals.entry(k).or_default() += n;
            }
            expired += o.expired;
            requeued += o.requeued;
            next_steps += o.next_steps;
            wrapped += o.wrapped;
        }
    }
    println!("events: {kinds:?}");
    println!("refusals: {refusals:?}");
    println!("took {:?}", started.elapsed());
    for kind in [
        "day_opened",
        "day_ended",
        "session_opened",
        "session_closed",
        "ticket_issued",
        "ticket_called",
        "ticket_recalled",
        "service_started",
        "ticket_finished",
        "ticket_no_show",
        "ticket_parked",
        "ticket_unparked",
        "ticket_transferred",
        "ticket_cancelled",
        "staff_signed_in",
        "staff_signed_out",
        "window_paused",
        "window_resumed",
        "window_opened",
        "window_closed",
        "window_services_changed",
    ] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} event in any simulated day"
        );
    }
    for code in [
        "daily_cap_reached",
        "slot_cap_reached",
        "person_cap_reached",
        "series_exhausted",
        "issue_cutoff",
        "outside_issue_hours",
        "hall_closed",
        "unknown_service",
        "unknown_priority",
        "bad_cases",
        "appointment_already_checked_in",
        "bad_appointment",
        "not_signed_in",
        "window_occupied",
        "already_signed_in_elsewhere",
        "reason_required",
        "reason_too_long",
        "ticket_in_progress",
        "not_permitted",
    ] {
        assert!(
            refusals.get(code).copied().unwrap_or(0) > 0,
            "no {code} refusal in any simulated day"
        );
    }
    assert!(
        expired > 0 && requeued > 0 && next_steps > 0 && wrapped > 0,
        "{expired} {requeued} {next_steps} {wrapped}"
    );
}

/// `HALLQ_SIM_SEEDS=N` runs N random seeds (printed, so a failure can be re-run).
#[test]
fn random_seeds_from_env() {
    let Some(n) = std::env::var("HALLQ_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut mix = hallq::sim::SimRng::new(base);
    for _ in 0..n {
        let seed = mix.next_u64();
        println!("seed {seed}");
        report(seed, &run_seed(seed));
    }
}
