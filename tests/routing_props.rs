//! Property tests of routing (DESIGN.md §7): FIFO among equals, the
//! starvation bound (count and time), transfers and next steps keep their
//! place, no-show requeue, window weights, and `explain_next` agreeing with
//! call-next.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use hallq::config::Config;
use hallq::queue::calendar;
use hallq::queue::routing::QueueKey;
use hallq::queue::{
    Actor, CallRule, Command, Event, Hall, IssueSource, MINUTE_MS, Millis, Outcome, TicketId,
    TicketStatus, TransferTarget, WindowNo,
};
use proptest::prelude::*;

/// Window 1: alpha (weight 3) and beta (weight 1). Window 2: beta only.
/// Window 3: the flow gamma → delta. Window 4: alpha and beta, used to
/// redirect tickets to a named window. Open around the clock.
fn hall_toml(
    streak_max: u32,
    extra_wait_minutes: u32,
    requeue_after: u32,
    requeue_max: u32,
) -> String {
    format!(
        r#"
[hall]
name = "属性测试大厅"
timezone = "Asia/Shanghai"

[[zone]]
id = "main"
name = "大厅"
floor = 1

[[department]]
id = "office"
name = "管理办"

[[service]]
id = "alpha"
name = "甲业务"
department = "office"
prefix = "A"
matter_class = "immediate"
expected_minutes = 5

[[service]]
id = "beta"
name = "乙业务"
department = "office"
prefix = "B"
matter_class = "immediate"
expected_minutes = 5

[[service]]
id = "gamma"
name = "丙业务受理"
department = "office"
prefix = "C"
matter_class = "commitment"
promised_days = 3
expected_minutes = 10
next_step = "delta"

[[service]]
id = "delta"
name = "丙业务缴费"
department = "office"
prefix = "D"
matter_class = "immediate"
expected_minutes = 3

[[window]]
number = 1
name = "一号窗"
kind = "comprehensive"
department = "office"
zone = "main"
services = [{{ service = "alpha", weight = 3 }}, {{ service = "beta", weight = 1 }}]

[[window]]
number = 2
name = "二号窗"
kind = "comprehensive"
department = "office"
zone = "main"
services = [{{ service = "beta" }}]

[[window]]
number = 3
name = "三号窗"
kind = "comprehensive"
department = "office"
zone = "main"
services = [{{ service = "gamma" }}, {{ service = "delta" }}]

[[window]]
number = 4
name = "四号窗"
kind = "comprehensive"
department = "office"
zone = "main"
services = [{{ service = "alpha" }}, {{ service = "beta" }}]

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

[[priority]]
id = "care"
name = "老弱病残孕"
rank = 1

[[priority]]
id = "green"
name = "绿色通道"
rank = 2

[routing]
priority_streak_max = {streak_max}
priority_extra_wait_minutes_max = {extra_wait_minutes}
no_show_requeue_after = {requeue_after}
no_show_requeue_max = {requeue_max}

[calendar]
[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
from = "00:00"
to = "24:00"
"#
    )
}

/// Cases per property: `PROPTEST_CASES` when set (for deeper runs), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const PRIORITIES: [Option<&str>; 3] = [None, Some("care"), Some("green")];

/// A hall open for business with s1–s4 signed in at windows 1–4.
struct H {
    hall: Hall,
    now: Millis,
}

impl H {
    fn new(streak_max: u32, extra_wait_minutes: u32, requeue_after: u32, requeue_max: u32) -> H {
        let toml = hall_toml(streak_max, extra_wait_minutes, requeue_after, requeue_max);
        let config =
            Config::from_toml_str("routing_props", &toml).unwrap_or_else(|e| panic!("{e}"));
        let start = NaiveDate::from_ymd_opt(2026, 11, 23)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("date");
        let now = calendar::instant(config.tz, start);
        let mut h = H {
            hall: Hall::new(Arc::new(config)),
            now,
        };
        while let Some(c) = h.hall.due_lifecycle(h.now) {
            h.hall.apply(&Actor::System, &c, h.now).expect("lifecycle");
        }
        for w in 1..=4 {
            h.ok(&staff(w), Command::SignIn { window: w });
        }
        h
    }

    fn ok(&mut self, actor: &Actor, command: Command) -> Vec<Event> {
        match self.hall.apply(actor, &command, self.now) {
            Ok(events) => events,
            Err(r) => panic!("{command:?} refused: {r}"),
        }
    }

    fn advance(&mut self, ms: Millis) {
        self.now += ms;
        assert!(
            self.hall.due_lifecycle(self.now).is_none(),
            "the test stays inside one business day"
        );
    }

    fn issue(&mut self, service: &str, priority: Option<&str>) -> TicketId {
        let events = self.ok(
            &Actor::Kiosk("k".into()),
            Command::Issue {
                service: service.into(),
                priority: priority.map(str::to_string),
                person: None,
                source: IssueSource::Kiosk,
                cases: 1,
            },
        );
        match events.as_slice() {
            [Event::TicketIssued { ticket, .. }] => *ticket,
            other => panic!("issue gave {other:?}"),
        }
    }

    /// Call-next at a window; the called ticket, if any.
    fn call(&mut self, window: WindowNo) -> Option<TicketId> {
        let events = self.ok(&staff(window), Command::CallNext { window });
        match events.as_slice() {
            [] => None,
            [
                Event::TicketCalled {
                    ticket,
                    rule: CallRule::Routed,
                    ..
                },
            ] => Some(*ticket),
            other => panic!("call-next gave {other:?}"),
        }
    }

    /// Starts and finishes (done) the window's current ticket.
    fn serve_out(&mut self, window: WindowNo) {
        self.ok(&staff(window), Command::Start { window });
        self.ok(
            &staff(window),
            Command::Finish {
                window,
                outcome: Outcome::Done,
                reason: None,
            },
        );
    }

    /// Calls and serves until the window has nothing to call; the call order.
    fn drain(&mut self, window: WindowNo) -> Vec<TicketId> {
        let mut order = Vec::new();
        while let Some(t) = self.call(window) {
            order.push(t);
            self.serve_out(window);
            assert!(order.len() < 10_000, "draining never ends");
        }
        order
    }

    fn number(&self, id: TicketId) -> String {
        self.hall.ticket(id).expect("ticket").number.to_string()
    }

    fn key(&self, id: TicketId) -> QueueKey {
        self.hall.ticket(id).expect("ticket").key
    }
}

fn staff(window: WindowNo) -> Actor {
    Actor::Staff(format!("s{window}"))
}

// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(64)))]

    /// Same service, same rank, no appointments: call order = issue order,
    /// however arrivals and calls interleave (ties in time included).
    #[test]
    fn fifo_among_equals(rank in 0usize..3, ops in prop::collection::vec((any::<bool>(), 0i64..90), 1..60)) {
        let mut h = H::new(3, 20, 3, 1);
        let mut line = std::collections::VecDeque::new();
        for (arrive, dt_s) in ops {
            h.advance(dt_s * 1000);
            if arrive {
                line.push_back(h.issue("beta", PRIORITIES[rank]));
            } else {
                let called = h.call(2);
                prop_assert_eq!(called, line.pop_front());
                if called.is_some() {
                    h.serve_out(2);
                }
            }
        }
        let rest = h.drain(2);
        prop_assert_eq!(rest, Vec::from(line));
    }
}

#[derive(Debug, Clone)]
enum Op {
    Arrive {
        service: usize,
        rank: usize,
    },
    /// A ticket called at window 4 and transferred to window 1 or 2.
    Redirect {
        service: usize,
        rank: usize,
        to: WindowNo,
    },
    Call {
        window: WindowNo,
    },
    Advance {
        minutes: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..2, prop_oneof![2 => Just(0usize), 3 => 1usize..3]).prop_map(|(service, rank)| Op::Arrive { service, rank }),
        1 => (0usize..2, 0usize..3, 1u32..3).prop_map(|(service, rank, to)| Op::Redirect { service, rank, to }),
        4 => (1u32..3).prop_map(|window| Op::Call { window }),
        1 => (0i64..8).prop_map(|minutes| Op::Advance { minutes }),
    ]
}

const SERVICES: [&str; 2] = ["alpha", "beta"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(96)))]

    /// Arbitrary interleavings of ordinary and priority arrivals (and tickets
    /// transferred to a named window) at two windows: an ordinary line is
    /// passed over by at most `priority_streak_max` routed priority calls in
    /// a row, and once it has been passed over for
    /// `priority_extra_wait_minutes_max` minutes its head is called before
    /// any priority ticket.
    #[test]
    fn starvation_bound(streak_max in 1u32..4, extra in 3u32..15, ops in prop::collection::vec(op(), 1..120)) {
        let mut h = H::new(streak_max, extra, 3, 1);
        let extra_ms = Millis::from(extra) * MINUTE_MS;
        // Per service: routed priority calls in a row that passed over its ordinary line, since when.
        let mut run: HashMap<&str, (u32, Millis)> = HashMap::new();
        let mut promoted_calls = 0;
        for op in ops {
            match op {
                Op::Arrive { service, rank } => {
                    h.issue(SERVICES[service], PRIORITIES[rank]);
                }
                Op::Redirect { service, rank, to } => {
                    let id = h.issue(SERVICES[service], PRIORITIES[rank]);
                    let number = h.number(id);
                    h.ok(&staff(4), Command::CallTicket { window: 4, number, reason: "转窗口".into() });
                    h.ok(&staff(4), Command::Transfer { window: 4, to: TransferTarget::Window(to), reason: None });
                    prop_assert_eq!(h.hall.ticket(id).map(|t| t.directed_to), Some(Some(to)));
                }
                Op::Advance { minutes } => h.advance(minutes * MINUTE_MS),
                Op::Call { window } => {
                    let served: Vec<&str> = SERVICES.iter().copied().filter(|s| window == 1 || *s == "beta").collect();
                    let ordinary: Vec<&str> = served
                        .iter()
                        .copied()
                        .filter(|s| h.hall.tickets().any(|t| t.status == TicketStatus::Waiting && t.rank == 0 && t.directed_to.is_none() && t.service == *s))
                        .collect();
                    let pre: HashMap<TicketId, (u32, bool)> = h.hall.tickets().map(|t| (t.id, (t.rank, t.directed_to.is_some()))).collect();
                    let Some(called) = h.call(window) else { continue };
                    let (rank, directed) = pre[&called];
                    let service = h.hall.ticket(called).expect("called").service.clone();
                    if rank > 0 {
                        for s in &ordinary {
                            let r = run.entry(s).or_insert((0, h.now));
                            prop_assert!(r.0 < streak_max, "{} passed over {} times in a row, then again at window {}", s, r.0, window);
                            prop_assert!(r.0 == 0 || h.now - r.1 < extra_ms, "{} passed over for {} min, then again", s, (h.now - r.1) / MINUTE_MS);
                            r.0 += 1;
                        }
                    } else if !directed {
                        if run.get(service.as_str()).is_some_and(|r| r.0 >= streak_max || h.now - r.1 >= extra_ms) {
                            promoted_calls += 1;
                        }
                        run.remove(service.as_str());
                    }
                    h.serve_out(window);
                }
            }
            // A run ends when its line empties.
            for s in SERVICES {
                let any = h.hall.tickets().any(|t| t.status == TicketStatus::Waiting && t.rank == 0 && t.directed_to.is_none() && t.service == s);
                if !any {
                    run.remove(s);
                }
                prop_assert!(h.hall.queues().starvation(s).streak <= streak_max);
            }
        }
        // Everything is eventually called.
        h.drain(1);
        h.drain(2);
        prop_assert_eq!(h.hall.waiting(), 0);
        let _ = promoted_calls;
    }
}

/// The time bound alone: one ordinary ticket, priority tickets keep coming;
/// after the extra wait the ordinary one is called although the streak is short.
#[test]
fn time_bound_promotes_a_passed_over_ticket() {
    let mut h = H::new(5, 10, 3, 1);
    let ordinary = h.issue("beta", None);
    h.issue("beta", Some("care"));
    h.issue("beta", Some("care"));
    let first = h.call(2).expect("a call");
    assert_ne!(first, ordinary, "priority goes first");
    h.serve_out(2);
    assert_eq!(h.hall.queues().starvation("beta").streak, 1);
    h.advance(10 * MINUTE_MS);
    let explained = h.hall.explain_next(2, h.now);
    assert!(explained.candidates[0].candidate.promoted, "{explained:?}");
    assert!(
        explained.candidates[0].why.contains("starvation bound"),
        "{}",
        explained.candidates[0].why
    );
    assert_eq!(h.call(2), Some(ordinary));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(64)))]

    /// A transfer to another service keeps the arrival (QueueKey) and the
    /// priority; the ticket lines up among the new service's tickets by its
    /// original arrival.
    #[test]
    fn transfer_keeps_arrival_and_priority(
        before in 0usize..5, after in 0usize..5, rank in 0usize..3, to_window in any::<bool>(), gaps in prop::collection::vec(0i64..60, 10)
    ) {
        let mut h = H::new(3, 20, 3, 1);
        let mut betas = Vec::new();
        for gap in &gaps[..before] {
            h.advance(gap * 1000);
            betas.push(h.issue("beta", None));
        }
        h.advance(1000);
        let x = h.issue("alpha", PRIORITIES[rank]);
        for gap in &gaps[5..5 + after] {
            h.advance(gap * 1000);
            betas.push(h.issue("beta", None));
        }
        h.advance(5 * MINUTE_MS);
        let (key, number) = (h.key(x), h.number(x));
        h.ok(&staff(4), Command::CallTicket { window: 4, number: number.clone(), reason: "先办".into() });
        let to = if to_window { TransferTarget::Window(2) } else { TransferTarget::Service("beta".into()) };
        h.ok(&staff(4), Command::Transfer { window: 4, to, reason: Some("转乙业务".into()) });
        let t = h.hall.ticket(x).expect("x").into_owned();
        prop_assert_eq!(t.status, TicketStatus::Waiting);
        prop_assert_eq!(t.service.as_str(), "beta");
        prop_assert_eq!(t.key, key);
        prop_assert_eq!(t.rank as usize, rank);
        prop_assert_eq!(t.number, number);
        prop_assert_eq!(t.directed_to, if to_window { Some(2) } else { None });
        // A priority or a ticket sent to this very window goes first; an
        // ordinary one lines up by its original arrival among the beta tickets.
        let order = h.drain(2);
        let mut expected = betas;
        expected.insert(if rank > 0 || to_window { 0 } else { before }, x);
        prop_assert_eq!(order, expected);
    }

    /// Finishing a step `done` moves the ticket to the next step's line with
    /// its number and arrival; it lines up by that arrival.
    #[test]
    fn next_step_keeps_number_and_arrival(earlier in 0usize..4, later in 0usize..4) {
        let mut h = H::new(3, 20, 3, 1);
        let mut deltas = Vec::new();
        for _ in 0..earlier {
            deltas.push(h.issue("delta", None));
            h.advance(1000);
        }
        let x = h.issue("gamma", None);
        let (key, number) = (h.key(x), h.number(x));
        for _ in 0..later {
            h.advance(1000);
            deltas.push(h.issue("delta", None));
        }
        h.advance(MINUTE_MS);
        // Window 3 serves gamma and delta with equal weight: the earliest arrival first.
        let mut order = Vec::new();
        while let Some(id) = h.call(3) {
            order.push(id);
            if id == x && h.hall.ticket(x).is_some_and(|t| t.step == 0) {
                h.ok(&staff(3), Command::Start { window: 3 });
                let events = h.ok(&staff(3), Command::Finish { window: 3, outcome: Outcome::Done, reason: None });
                let is_next = matches!(events.as_slice(), [Event::TicketFinished { next_step: Some(s), .. }] if s == "delta");
                prop_assert!(is_next, "{:?}", events);
                let t = h.hall.ticket(x).expect("x");
                prop_assert_eq!(t.status, TicketStatus::Waiting);
                prop_assert_eq!((t.service.as_str(), t.step, t.key, t.number.as_str()), ("delta", 1, key, number.as_str()));
                prop_assert_eq!(h.hall.ahead(x, h.now), Some(0), "x arrived before the later delta tickets");
            } else {
                h.serve_out(3);
            }
        }
        // x is called twice: as gamma after the earlier deltas, then as delta right away.
        let mut expected: Vec<TicketId> = deltas[..earlier].to_vec();
        expected.push(x);
        expected.push(x);
        expected.extend_from_slice(&deltas[earlier..]);
        prop_assert_eq!(order, expected);
        prop_assert_eq!(h.hall.ticket(x).map(|t| t.status), Some(TicketStatus::Finished));
    }

    /// A no-show goes back in line behind exactly K waiting walk-ins (or last
    /// when fewer wait), K = `no_show_requeue_after`.
    #[test]
    fn no_show_requeue_goes_behind_k(k in 0u32..5, n in 1usize..9, gaps in prop::collection::vec(0i64..30, 9)) {
        let mut h = H::new(3, 20, k, 1);
        let mut ids = Vec::new();
        for gap in gaps.iter().take(n) {
            h.advance(gap * 1000);
            ids.push(h.issue("beta", None));
        }
        h.advance(MINUTE_MS);
        let x = h.call(2).expect("a call");
        prop_assert_eq!(x, ids[0]);
        let events = h.ok(&staff(2), Command::NoShow { window: 2 });
        let requeued = matches!(events.as_slice(), [Event::TicketNoShow { requeue: Some(_), .. }]);
        prop_assert!(requeued, "{:?}", events);
        let behind = (k as usize).min(n - 1);
        prop_assert_eq!(h.hall.ahead(x, h.now), Some(behind));
        let order = h.drain(2);
        let mut expected: Vec<TicketId> = ids[1..].to_vec();
        expected.insert(behind, x);
        prop_assert_eq!(order, expected);
        prop_assert_eq!(h.hall.ticket(x).map(|t| t.no_shows), Some(1));
    }

    /// Repeated no-shows, interleaved with arrivals and service: every requeue
    /// puts the ticket behind exactly K of the walk-ins then waiting (or last),
    /// also when earlier requeued tickets sit in the same gap.
    #[test]
    fn no_show_requeue_repeatedly(k in 0u32..4, ops in prop::collection::vec((0u8..3, 0i64..20), 1..80)) {
        let mut h = H::new(3, 20, k, 5);
        for (op, gap) in ops {
            h.advance(gap * 1000);
            match op {
                0 => {
                    h.issue("beta", None);
                }
                1 => {
                    if h.call(2).is_some() {
                        h.serve_out(2);
                    }
                }
                _ => {
                    let Some(x) = h.call(2) else { continue };
                    let others = h.hall.waiting_for("beta");
                    let missed = h.hall.ticket(x).map_or(0, |t| t.no_shows);
                    let events = h.ok(&staff(2), Command::NoShow { window: 2 });
                    let requeued = matches!(events.as_slice(), [Event::TicketNoShow { requeue: Some(_), .. }]);
                    prop_assert_eq!(requeued, missed < 5, "{:?}", events);
                    if requeued {
                        prop_assert_eq!(h.hall.ahead(x, h.now), Some((k as usize).min(others)), "ticket {} requeued", x);
                    }
                }
            }
        }
    }

    /// Window 1 weighs alpha 3, beta 1: it calls every alpha ticket before any
    /// beta ticket, whatever the arrival order.
    #[test]
    fn weight_orders_services(arrivals in prop::collection::vec((any::<bool>(), 0i64..60), 1..30)) {
        let mut h = H::new(3, 20, 3, 1);
        let mut alphas = Vec::new();
        let mut betas = Vec::new();
        for (alpha, gap) in arrivals {
            h.advance(gap * 1000);
            if alpha { alphas.push(h.issue("alpha", None)) } else { betas.push(h.issue("beta", None)) }
        }
        let order = h.drain(1);
        let mut expected = alphas;
        expected.extend(betas);
        prop_assert_eq!(order, expected);
    }

    /// `explain_next` lists every candidate — the head of each line the
    /// window may call — and its first entry is what call-next then calls.
    #[test]
    fn explain_lists_every_head_and_call_next_takes_the_first(ops in prop::collection::vec(op(), 1..80)) {
        let mut h = H::new(2, 10, 3, 1);
        for op in ops {
            match op {
                Op::Arrive { service, rank } => {
                    h.issue(SERVICES[service], PRIORITIES[rank]);
                }
                Op::Redirect { service, rank, to } => {
                    let id = h.issue(SERVICES[service], PRIORITIES[rank]);
                    let number = h.number(id);
                    h.ok(&staff(4), Command::CallTicket { window: 4, number, reason: "转窗口".into() });
                    h.ok(&staff(4), Command::Transfer { window: 4, to: TransferTarget::Window(to), reason: None });
                }
                Op::Advance { minutes } => h.advance(minutes * MINUTE_MS),
                Op::Call { window } => {
                    let explained = h.hall.explain_next(window, h.now);
                    let listed: BTreeSet<TicketId> = explained.candidates.iter().map(|c| c.candidate.ticket).collect();
                    prop_assert_eq!(listed.len(), explained.candidates.len(), "a candidate listed twice");
                    // The model: the earliest (key, id) of each (service, rank) line the window serves,
                    // and of each rank of tickets directed to this window.
                    let mut heads: HashMap<(String, u32, bool), (QueueKey, TicketId)> = HashMap::new();
                    let w = h.hall.window(window).expect("window");
                    for t in h.hall.tickets().filter(|t| t.status == TicketStatus::Waiting) {
                        let lane = match t.directed_to {
                            Some(d) if d == window => (String::new(), t.rank, true),
                            Some(_) => continue,
                            None if w.services.iter().any(|s| s.service == t.service) => (t.service.to_string(), t.rank, false),
                            None => continue,
                        };
                        let e = heads.entry(lane).or_insert((t.key, t.id));
                        if (t.key, t.id) < *e {
                            *e = (t.key, t.id);
                        }
                    }
                    let model: BTreeSet<TicketId> = heads.values().map(|(_, id)| *id).collect();
                    prop_assert_eq!(&listed, &model);
                    for c in &explained.candidates {
                        prop_assert_eq!(&c.number, &h.number(c.candidate.ticket));
                        prop_assert!(!c.why.is_empty());
                    }
                    let called = h.call(window);
                    prop_assert_eq!(called, explained.candidates.first().map(|c| c.candidate.ticket));
                    if called.is_some() {
                        h.serve_out(window);
                    }
                }
            }
        }
    }
}
