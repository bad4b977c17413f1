//! One small scenario per rule of the queue's state machine; every refusal
//! is checked by its stable `code`.

use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use hallq::config::Config;
use hallq::queue::person::person_key;
use hallq::queue::state::PARKED_PER_WINDOW_MAX;
use hallq::queue::{
    Actor, Command, Event, Hall, IssueSource, MINUTE_MS, Millis, Outcome, PauseReason, TicketId,
    TicketStatus, TransferTarget, WindowNo, WindowService, calendar,
};

const HALL_TOML: &str = r#"
[hall]
name = "规则测试大厅"
timezone = "Asia/Shanghai"

[[zone]]
id = "main"
name = "大厅"
floor = 1

[[department]]
id = "office"
name = "管理办"

[[service]]
id = "capped"
name = "限量业务"
department = "office"
prefix = "A"
daily_cap = 3
max_cases = 3
matter_class = "immediate"
expected_minutes = 5

[[service]]
id = "slotted"
name = "分时段业务"
department = "office"
prefix = "B"
issue_windows = [
  { from = "08:30", to = "10:00", cap = 2 },
  { from = "10:30", to = "11:00", cap = 5 },
]
matter_class = "immediate"
expected_minutes = 5

[[service]]
id = "personal"
name = "限人业务"
department = "office"
prefix = "C"
per_person_daily_cap = 1
matter_class = "immediate"
expected_minutes = 5

[[service]]
id = "accept"
name = "受理"
department = "office"
prefix = "D"
matter_class = "commitment"
promised_days = 3
expected_minutes = 10
next_step = "pay"

[[service]]
id = "pay"
name = "缴费"
department = "office"
prefix = "E"
matter_class = "immediate"
expected_minutes = 3

[[service]]
id = "plain"
name = "普通业务"
department = "office"
prefix = "F"
series = { start = 1, end = 99 }
recall_limit = 1
matter_class = "immediate"
expected_minutes = 5

[[window]]
number = 1
name = "一号窗"
kind = "comprehensive"
department = "office"
zone = "main"
services = [{ service = "capped" }, { service = "slotted" }, { service = "personal" }, { service = "plain" }]

[[window]]
number = 2
name = "二号窗"
kind = "comprehensive"
department = "office"
zone = "main"
services = [{ service = "accept" }, { service = "pay" }, { service = "plain" }]

[[window]]
number = 3
name = "三号窗"
kind = "comprehensive"
department = "office"
zone = "main"
services = [{ service = "pay" }]

[[window]]
number = 4
name = "四号窗"
kind = "comprehensive"
department = "office"
zone = "main"
open = false
services = [{ service = "plain" }]

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
account = "boss"
job_number = "M001"
name = "主任"
roles = ["staff", "manager"]

[[staff]]
account = "eye"
job_number = "S001"
name = "督查"
roles = ["supervisor"]

[[priority]]
id = "care"
name = "老弱病残孕"
rank = 1

[routing]
priority_streak_max = 3
priority_extra_wait_minutes_max = 20
no_show_requeue_after = 2
no_show_requeue_max = 1

[calendar]
issue_cutoff_minutes = 30
extended_service = true

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "08:30"
to = "11:30"

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "13:00"
to = "17:00"
"#;

/// Monday 2026-11-23.
fn monday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
}

struct H {
    hall: Hall,
    now: Millis,
}

impl H {
    /// A hall before any event, its clock at Monday `hh:mm`.
    fn fresh(hh: u32, mm: u32) -> H {
        H::fresh_with(HALL_TOML, hh, mm)
    }

    /// Like `fresh`, with another configuration text.
    fn fresh_with(toml: &str, hh: u32, mm: u32) -> H {
        let config = Config::from_toml_str("state_machine", toml).unwrap_or_else(|e| panic!("{e}"));
        let mut h = H {
            hall: Hall::new(Arc::new(config)),
            now: 0,
        };
        h.now = h.time(0, hh, mm);
        h
    }

    /// Monday `hh:mm`, the calendar applied, s1–s3 signed in at windows 1–3.
    fn at(hh: u32, mm: u32) -> H {
        let mut h = H::fresh(hh, mm);
        h.lifecycle();
        for w in 1..=3 {
            h.ok(&staff(w), Command::SignIn { window: w });
        }
        h
    }

    fn time(&self, day: i64, hh: u32, mm: u32) -> Millis {
        let t = (monday() + Duration::days(day))
            .and_hms_opt(hh, mm, 0)
            .expect("time");
        calendar::instant(self.hall.config().tz, t)
    }

    /// Moves the clock and applies what the calendar makes due; those events.
    fn go(&mut self, day: i64, hh: u32, mm: u32) -> Vec<Event> {
        self.now = self.time(day, hh, mm);
        self.lifecycle()
    }

    fn lifecycle(&mut self) -> Vec<Event> {
        let mut all = Vec::new();
        while let Some(c) = self.hall.due_lifecycle(self.now) {
            all.extend(self.ok(&Actor::System, c));
            assert!(all.len() < 50, "lifecycle loops");
        }
        all
    }

    fn ok(&mut self, actor: &Actor, command: Command) -> Vec<Event> {
        let shown = format!("{command:?}");
        self.hall
            .apply(actor, &command, self.now)
            .unwrap_or_else(|r| panic!("{shown} refused: {r}"))
    }

    /// The refusal code of a command that must be refused (and change nothing).
    fn refused(&mut self, actor: &Actor, command: Command) -> &'static str {
        let before = self.hall.state().clone();
        let code = match self.hall.apply(actor, &command, self.now) {
            Ok(events) => panic!("{command:?} was not refused: {events:?}"),
            Err(r) => r.code,
        };
        assert!(
            &before == self.hall.state(),
            "a refused command changed the state"
        );
        code
    }

    fn issue_cmd(service: &str) -> Command {
        Command::Issue {
            service: service.into(),
            priority: None,
            person: None,
            source: IssueSource::Kiosk,
            cases: 1,
        }
    }

    fn issue(&mut self, service: &str) -> TicketId {
        self.issue_with(H::issue_cmd(service))
    }

    fn issue_with(&mut self, command: Command) -> TicketId {
        match self.ok(&kiosk(), command).as_slice() {
            [Event::TicketIssued { ticket, .. }] => *ticket,
            other => panic!("issue gave {other:?}"),
        }
    }

    fn call(&mut self, window: WindowNo) -> Option<TicketId> {
        match self
            .ok(&staff(window), Command::CallNext { window })
            .as_slice()
        {
            [] => None,
            [Event::TicketCalled { ticket, .. }] => Some(*ticket),
            other => panic!("call-next gave {other:?}"),
        }
    }

    fn number(&self, id: TicketId) -> String {
        self.hall.ticket(id).expect("ticket").number.to_string()
    }

    fn status(&self, id: TicketId) -> TicketStatus {
        self.hall.ticket(id).expect("ticket").status
    }
}

fn staff(window: WindowNo) -> Actor {
    Actor::Staff(format!("s{window}"))
}

fn kiosk() -> Actor {
    Actor::Kiosk("kiosk-1".into())
}

fn boss() -> Actor {
    Actor::Manager("boss".into())
}

// --- issuing ---------------------------------------------------------------

#[test]
fn issue_refused_before_the_day_opens() {
    let mut h = H::fresh(9, 0);
    assert_eq!(
        h.refused(&kiosk(), H::issue_cmd("plain")),
        "no_business_day"
    );
}

#[test]
fn issue_refused_with_no_session() {
    // 07:00: the day is open, the first session is not.
    let mut h = H::fresh(7, 0);
    let events = h.lifecycle();
    assert!(
        matches!(events.as_slice(), [Event::DayOpened { .. }]),
        "{events:?}"
    );
    assert_eq!(h.refused(&kiosk(), H::issue_cmd("plain")), "hall_closed");
    // 12:00: lunch break between the sessions.
    let events = h.go(0, 12, 0);
    assert!(
        events.is_empty(),
        "no session at 12:00 when none was open before: {events:?}"
    );
    assert_eq!(h.refused(&kiosk(), H::issue_cmd("plain")), "hall_closed");
    // 13:00: the afternoon session opens and issuing works.
    let events = h.go(0, 13, 0);
    assert!(
        matches!(
            events.as_slice(),
            [Event::SessionOpened { slot: Some(1), .. }]
        ),
        "{events:?}"
    );
    h.issue("plain");
}

#[test]
fn issue_refused_after_cutoff() {
    let mut h = H::at(10, 59);
    h.issue("plain");
    // The session ends at 11:30; issuing stops 30 minutes before.
    h.go(0, 11, 0);
    assert_eq!(h.refused(&kiosk(), H::issue_cmd("plain")), "issue_cutoff");
    // Calling goes on after the cutoff.
    assert!(h.call(1).is_some());
}

#[test]
fn issue_refused_outside_issue_windows() {
    let mut h = H::at(10, 15);
    assert_eq!(
        h.refused(&kiosk(), H::issue_cmd("slotted")),
        "outside_issue_hours"
    );
    // Other services issue at the same time.
    h.issue("plain");
    h.go(0, 10, 30);
    h.issue("slotted");
}

#[test]
fn issue_refused_over_the_daily_cap() {
    let mut h = H::at(9, 0);
    h.issue_with(Command::Issue {
        service: "capped".into(),
        priority: None,
        person: None,
        source: IssueSource::Kiosk,
        cases: 2,
    });
    // Two more cases would make 4 > 3.
    let two = Command::Issue {
        service: "capped".into(),
        priority: None,
        person: None,
        source: IssueSource::Kiosk,
        cases: 2,
    };
    assert_eq!(h.refused(&kiosk(), two), "daily_cap_reached");
    h.issue("capped");
    assert_eq!(
        h.refused(&kiosk(), H::issue_cmd("capped")),
        "daily_cap_reached"
    );
    // Appointments count against the daily cap too.
    let appt = Command::Issue {
        service: "capped".into(),
        priority: None,
        person: None,
        source: IssueSource::Appointment {
            code: "YY1".into(),
            due_ms: h.now,
        },
        cases: 1,
    };
    assert_eq!(h.refused(&kiosk(), appt), "daily_cap_reached");
    // A new day resets the cap.
    h.go(1, 9, 0);
    h.issue("capped");
}

#[test]
fn issue_refused_over_the_slot_cap() {
    let mut h = H::at(9, 0);
    h.issue("slotted");
    h.issue("slotted");
    assert_eq!(
        h.refused(&kiosk(), H::issue_cmd("slotted")),
        "slot_cap_reached"
    );
    // The next slot has its own cap.
    h.go(0, 10, 40);
    let id = h.issue("slotted");
    let events = h
        .hall
        .state()
        .slot_cases
        .get(&("slotted".to_string(), 1))
        .copied();
    assert_eq!(events, Some(1));
    assert_eq!(h.number(id), "B003");
}

#[test]
fn issue_refused_over_the_person_cap() {
    let mut h = H::at(9, 0);
    let p1 = person_key(b"hall-secret", "110105194912310021");
    let p2 = person_key(b"hall-secret", "110105195001010012");
    let by = |p: &str| Command::Issue {
        service: "personal".into(),
        priority: None,
        person: Some(p.to_string()),
        source: IssueSource::Kiosk,
        cases: 1,
    };
    h.issue_with(by(&p1));
    assert_eq!(h.refused(&kiosk(), by(&p1)), "person_cap_reached");
    // The same card typed differently is the same person.
    let p1_again = person_key(b"hall-secret", "110105 1949 1231 0021");
    assert_eq!(h.refused(&kiosk(), by(&p1_again)), "person_cap_reached");
    h.issue_with(by(&p2));
    h.issue("personal");
    // The cap is per service: the same person may take another service.
    h.issue_with(Command::Issue {
        service: "plain".into(),
        priority: None,
        person: Some(p1.clone()),
        source: IssueSource::Kiosk,
        cases: 1,
    });
}

#[test]
fn issue_refused_for_unknown_service_priority_and_bad_cases() {
    let mut h = H::at(9, 0);
    assert_eq!(
        h.refused(&kiosk(), H::issue_cmd("no-such")),
        "unknown_service"
    );
    let vip = Command::Issue {
        service: "plain".into(),
        priority: Some("vip".into()),
        person: None,
        source: IssueSource::Kiosk,
        cases: 1,
    };
    assert_eq!(h.refused(&kiosk(), vip), "unknown_priority");
    for cases in [0, 11] {
        let c = Command::Issue {
            service: "plain".into(),
            priority: None,
            person: None,
            source: IssueSource::Kiosk,
            cases,
        };
        assert_eq!(h.refused(&kiosk(), c), "bad_cases", "{cases} cases");
    }
    let ten = Command::Issue {
        service: "plain".into(),
        priority: None,
        person: None,
        source: IssueSource::Kiosk,
        cases: 10,
    };
    h.issue_with(ten);
}

#[test]
fn appointment_checked_in_once() {
    let mut h = H::at(9, 0);
    let appt = |code: &str, due_ms: Millis| Command::Issue {
        service: "plain".into(),
        priority: None,
        person: None,
        source: IssueSource::Appointment {
            code: code.into(),
            due_ms,
        },
        cases: 1,
    };
    h.issue_with(appt("YY0001", h.now + 30 * MINUTE_MS));
    assert_eq!(
        h.refused(&kiosk(), appt("YY0001", h.now + 30 * MINUTE_MS)),
        "appointment_already_checked_in"
    );
    assert_eq!(h.refused(&kiosk(), appt("  ", h.now)), "bad_appointment");
    assert_eq!(
        h.refused(&kiosk(), appt("YY0002", h.now + 2 * 24 * 60 * MINUTE_MS)),
        "bad_appointment"
    );
    // The next day the code is free again (it was today's check-in that counted).
    h.go(1, 9, 0);
    h.issue_with(appt("YY0001", h.now));
}

#[test]
fn a_due_appointment_is_called_before_earlier_walk_ins() {
    let mut h = H::at(9, 0);
    let walk_in = h.issue("plain");
    h.now += MINUTE_MS;
    let appt = h.issue_with(Command::Issue {
        service: "plain".into(),
        priority: None,
        person: None,
        source: IssueSource::Appointment {
            code: "YY7".into(),
            due_ms: h.now + 10 * MINUTE_MS,
        },
        cases: 1,
    });
    // Not due yet: it lines up by its due time, behind the walk-in.
    assert_eq!(h.hall.rank_candidates(1, h.now)[0].ticket, walk_in);
    h.now += 10 * MINUTE_MS;
    assert_eq!(h.call(1), Some(appt));
}

// --- calling ---------------------------------------------------------------

#[test]
fn recall_past_the_limit_becomes_a_no_show() {
    let mut h = H::at(9, 0);
    let id = h.issue("plain");
    assert_eq!(h.call(1), Some(id));
    // `plain` allows one recall.
    let events = h.ok(&staff(1), Command::Recall { window: 1 });
    assert!(
        matches!(events.as_slice(), [Event::TicketRecalled { recall: 1, .. }]),
        "{events:?}"
    );
    let events = h.ok(&staff(1), Command::Recall { window: 1 });
    assert!(
        matches!(
            events.as_slice(),
            [Event::TicketNoShow {
                requeue: Some(_),
                ..
            }]
        ),
        "{events:?}"
    );
    assert_eq!(h.status(id), TicketStatus::Waiting);
    assert_eq!(h.hall.window(1).and_then(|w| w.current), None);
    assert_eq!(
        h.refused(&staff(1), Command::Recall { window: 1 }),
        "no_current_ticket"
    );
}

#[test]
fn no_show_requeue_max() {
    let mut h = H::at(9, 0);
    let id = h.issue("plain");
    let others: Vec<TicketId> = (0..3).map(|_| h.issue("plain")).collect();
    assert_eq!(h.call(1), Some(id));
    let events = h.ok(&staff(1), Command::NoShow { window: 1 });
    assert!(
        matches!(
            events.as_slice(),
            [Event::TicketNoShow {
                requeue: Some(_),
                ..
            }]
        ),
        "{events:?}"
    );
    // Behind two (no_show_requeue_after) of the three waiting.
    assert_eq!(h.hall.ahead(id, h.now), Some(2));
    assert_eq!(h.call(1), Some(others[0]));
    h.ok(&staff(1), Command::Start { window: 1 });
    h.ok(
        &staff(1),
        Command::Finish {
            window: 1,
            outcome: Outcome::Done,
            reason: None,
        },
    );
    assert_eq!(h.call(1), Some(others[1]));
    h.ok(&staff(1), Command::NoShow { window: 1 });
    assert_eq!(h.call(1), Some(id));
    // Second no-show: requeue_max is 1, so it is final.
    let live = h.hall.state().live;
    let events = h.ok(&staff(1), Command::NoShow { window: 1 });
    assert!(
        matches!(
            events.as_slice(),
            [Event::TicketNoShow { requeue: None, .. }]
        ),
        "{events:?}"
    );
    assert_eq!(h.status(id), TicketStatus::NoShow);
    assert_eq!(h.hall.state().live, live - 1);
    assert_eq!(
        h.refused(&kiosk(), Command::Cancel { ticket: id }),
        "cannot_cancel"
    );
}

#[test]
fn two_no_shows_requeued_into_the_same_gap_each_go_behind_exactly_k() {
    let mut h = H::at(9, 0);
    let issue_at = |h: &mut H, minute: i64| {
        h.now = h.time(0, 9, 0) + minute * MINUTE_MS;
        h.issue("plain")
    };
    let x = issue_at(&mut h, 0);
    let y = issue_at(&mut h, 1);
    let [r, p, a, _b] = [2, 3, 4, 5].map(|m| issue_at(&mut h, m));
    h.now = h.time(0, 9, 10);
    // Window 2 takes y out of order; window 1 calls x, who does not come:
    // x goes back behind two (r, p), just before a.
    h.ok(
        &staff(2),
        Command::CallTicket {
            window: 2,
            number: h.number(y),
            reason: "先查档".into(),
        },
    );
    assert_eq!(h.call(1), Some(x));
    h.ok(&staff(1), Command::NoShow { window: 1 });
    assert_eq!(h.hall.ahead(x, h.now), Some(2));
    // y goes back to the line with its early arrival, is called and does not come either:
    // behind two (r, p) again — the same gap as x, and x arrived first.
    h.ok(
        &staff(2),
        Command::Transfer {
            window: 2,
            to: TransferTarget::Service("plain".into()),
            reason: None,
        },
    );
    assert_eq!(h.call(1), Some(y));
    h.ok(&staff(1), Command::NoShow { window: 1 });
    assert_eq!(
        h.hall.ahead(y, h.now),
        Some(2),
        "y must be behind r and p only"
    );
    let order: Vec<TicketId> = (0..4)
        .map(|_| {
            let t = h.call(1).expect("a call");
            h.ok(&staff(1), Command::Start { window: 1 });
            h.ok(
                &staff(1),
                Command::Finish {
                    window: 1,
                    outcome: Outcome::Done,
                    reason: None,
                },
            );
            t
        })
        .collect();
    assert_eq!(order, vec![r, p, y, x]);
    assert_eq!(h.call(1), Some(a));
}

#[test]
fn a_no_show_appointment_goes_behind_walk_ins_like_anyone() {
    let mut h = H::at(9, 0);
    let appt = h.issue_with(Command::Issue {
        service: "plain".into(),
        priority: None,
        person: None,
        source: IssueSource::Appointment {
            code: "YY9".into(),
            due_ms: h.now,
        },
        cases: 1,
    });
    let walk_ins: Vec<TicketId> = (0..3).map(|_| h.issue("plain")).collect();
    assert_eq!(h.call(1), Some(appt), "a due appointment goes first");
    h.ok(&staff(1), Command::NoShow { window: 1 });
    // Missed: back in line behind two walk-ins, not straight back to the head.
    assert_eq!(h.hall.ahead(appt, h.now), Some(2));
    assert_eq!(h.call(1), Some(walk_ins[0]));
}

#[test]
fn call_out_of_order_needs_a_reason() {
    let mut h = H::at(9, 0);
    h.issue("plain");
    let second = h.issue("plain");
    let number = h.number(second);
    let c = |reason: &str| Command::CallTicket {
        window: 1,
        number: number.clone(),
        reason: reason.into(),
    };
    assert_eq!(h.refused(&staff(1), c("")), "reason_required");
    assert_eq!(h.refused(&staff(1), c("   ")), "reason_required");
    assert_eq!(
        h.refused(&staff(1), c(&"长".repeat(201))),
        "reason_too_long"
    );
    assert_eq!(
        h.refused(
            &staff(3),
            Command::CallTicket {
                window: 3,
                number: number.clone(),
                reason: "x".into()
            }
        ),
        "service_not_served_here"
    );
    assert_eq!(
        h.refused(
            &staff(1),
            Command::CallTicket {
                window: 1,
                number: "F098".into(),
                reason: "x".into()
            }
        ),
        "unknown_ticket"
    );
    let events = h.ok(&staff(1), c(" 老人 "));
    assert!(
        matches!(events.as_slice(), [Event::TicketCalled { ticket, rule: hallq::queue::CallRule::OutOfOrder, reason: Some(r), .. }] if *ticket == second && r == "老人"),
        "{events:?}"
    );
}

#[test]
fn calling_needs_an_idle_staffed_window() {
    let mut h = H::at(9, 0);
    h.issue("plain");
    h.issue("plain");
    assert_eq!(
        h.refused(&staff(2), Command::CallNext { window: 1 }),
        "not_signed_in"
    );
    assert_eq!(
        h.refused(&staff(1), Command::CallNext { window: 99 }),
        "unknown_window"
    );
    assert!(h.call(1).is_some());
    assert_eq!(
        h.refused(&staff(1), Command::CallNext { window: 1 }),
        "ticket_in_progress"
    );
    assert_eq!(
        h.refused(
            &staff(1),
            Command::Finish {
                window: 1,
                outcome: Outcome::Done,
                reason: None
            }
        ),
        "ticket_not_serving"
    );
    h.ok(&staff(1), Command::Start { window: 1 });
    assert_eq!(
        h.refused(&staff(1), Command::Start { window: 1 }),
        "ticket_not_called"
    );
    assert_eq!(
        h.refused(&staff(1), Command::NoShow { window: 1 }),
        "ticket_not_called"
    );
    assert_eq!(
        h.refused(&staff(1), Command::Recall { window: 1 }),
        "ticket_not_called"
    );
}

// --- finishing ---------------------------------------------------------------

#[test]
fn rejected_needs_a_reason() {
    let mut h = H::at(9, 0);
    let id = h.issue("plain");
    h.call(1);
    h.ok(&staff(1), Command::Start { window: 1 });
    let fin = |reason: Option<&str>| Command::Finish {
        window: 1,
        outcome: Outcome::Rejected,
        reason: reason.map(str::to_string),
    };
    assert_eq!(h.refused(&staff(1), fin(None)), "reason_required");
    assert_eq!(h.refused(&staff(1), fin(Some(" "))), "reason_required");
    let events = h.ok(&staff(1), fin(Some("不属于受理范围")));
    assert!(
        matches!(
            events.as_slice(),
            [Event::TicketFinished {
                outcome: Outcome::Rejected,
                reason: Some(_),
                next_step: None,
                ..
            }]
        ),
        "{events:?}"
    );
    assert_eq!(h.status(id), TicketStatus::Finished);
    assert_eq!(
        h.hall.ticket(id).and_then(|t| t.outcome),
        Some(Outcome::Rejected)
    );
}

#[test]
fn finish_done_moves_to_the_next_step_keeping_the_number() {
    let mut h = H::at(9, 0);
    let id = h.issue("accept");
    let (number, key) = (h.number(id), h.hall.ticket(id).expect("t").key);
    assert_eq!(number, "D001");
    assert_eq!(h.call(2), Some(id));
    h.ok(&staff(2), Command::Start { window: 2 });
    let events = h.ok(
        &staff(2),
        Command::Finish {
            window: 2,
            outcome: Outcome::Done,
            reason: None,
        },
    );
    assert!(
        matches!(events.as_slice(), [Event::TicketFinished { next_step: Some(s), .. }] if s == "pay"),
        "{events:?}"
    );
    let t = h.hall.ticket(id).expect("t");
    assert_eq!(
        (
            t.number.as_str(),
            t.service.as_str(),
            t.issued_for.as_str(),
            t.step,
            t.key
        ),
        ("D001", "pay", "accept", 1, key)
    );
    assert_eq!(t.status, TicketStatus::Waiting);
    assert_eq!(t.first_receiver.as_deref(), Some("s2"));
    // Window 3 serves only `pay`: it calls the same number for the second step.
    assert_eq!(h.call(3), Some(id));
    h.ok(&staff(3), Command::Start { window: 3 });
    let events = h.ok(
        &staff(3),
        Command::Finish {
            window: 3,
            outcome: Outcome::Done,
            reason: None,
        },
    );
    assert!(
        matches!(
            events.as_slice(),
            [Event::TicketFinished {
                next_step: None,
                ..
            }]
        ),
        "{events:?}"
    );
    assert_eq!(h.status(id), TicketStatus::Finished);
    assert_eq!(
        h.hall
            .ticket(id)
            .and_then(|t| t.first_receiver.clone())
            .as_deref(),
        Some("s2"),
        "首问负责 stays the first"
    );
}

#[test]
fn finish_other_than_done_ends_the_flow() {
    let mut h = H::at(9, 0);
    let id = h.issue("accept");
    h.call(2);
    h.ok(&staff(2), Command::Start { window: 2 });
    let events = h.ok(
        &staff(2),
        Command::Finish {
            window: 2,
            outcome: Outcome::Incomplete,
            reason: None,
        },
    );
    assert!(
        matches!(
            events.as_slice(),
            [Event::TicketFinished {
                outcome: Outcome::Incomplete,
                next_step: None,
                ..
            }]
        ),
        "{events:?}"
    );
    assert_eq!(h.status(id), TicketStatus::Finished);
    assert_eq!(h.hall.waiting_for("pay"), 0);
}

// --- transfer, park, close -------------------------------------------------

#[test]
fn transfer_to_a_window_only_that_window_calls_it() {
    let mut h = H::at(9, 0);
    let id = h.issue("plain");
    assert_eq!(h.call(1), Some(id));
    assert_eq!(
        h.refused(
            &staff(1),
            Command::Transfer {
                window: 1,
                to: TransferTarget::Window(1),
                reason: None
            }
        ),
        "bad_transfer"
    );
    assert_eq!(
        h.refused(
            &staff(1),
            Command::Transfer {
                window: 1,
                to: TransferTarget::Window(4),
                reason: None
            }
        ),
        "window_closed"
    );
    assert_eq!(
        h.refused(
            &staff(1),
            Command::Transfer {
                window: 1,
                to: TransferTarget::Service("nope".into()),
                reason: None
            }
        ),
        "unknown_service"
    );
    h.ok(
        &staff(1),
        Command::Transfer {
            window: 1,
            to: TransferTarget::Window(2),
            reason: Some("需要二号窗办理".into()),
        },
    );
    let t = h.hall.ticket(id).expect("t");
    assert_eq!(
        (t.status, t.directed_to, t.service.as_str()),
        (TicketStatus::Waiting, Some(2), "plain")
    );
    // Window 1 serves `plain` but the ticket is for window 2 only: not by call-next …
    assert_eq!(h.call(1), None);
    // … and not out of order either.
    let number = h.number(id);
    assert_eq!(
        h.refused(
            &staff(1),
            Command::CallTicket {
                window: 1,
                number: number.clone(),
                reason: "x".into()
            }
        ),
        "service_not_served_here"
    );
    // A later plain ticket does not overtake it at window 2 (directed tickets weigh most).
    h.now += MINUTE_MS;
    let later = h.issue("plain");
    assert_eq!(h.call(2), Some(id));
    assert_eq!(h.call(1), Some(later));
}

#[test]
fn transfer_to_a_window_takes_its_main_service_when_it_lacks_the_ticket_s() {
    let mut h = H::at(9, 0);
    let id = h.issue("plain");
    h.call(1);
    // Window 3 serves only `pay`.
    h.ok(
        &staff(1),
        Command::Transfer {
            window: 1,
            to: TransferTarget::Window(3),
            reason: None,
        },
    );
    let t = h.hall.ticket(id).expect("t");
    assert_eq!((t.service.as_str(), t.directed_to), ("pay", Some(3)));
    assert_eq!(h.call(3), Some(id));
}

#[test]
fn park_and_unpark() {
    let mut h = H::at(9, 0);
    let id = h.issue("plain");
    let other = h.issue("plain");
    h.call(1);
    h.ok(&staff(1), Command::Start { window: 1 });
    h.ok(&staff(1), Command::Park { window: 1 });
    assert_eq!(h.status(id), TicketStatus::Parked);
    assert_eq!(h.hall.window(1).map(|w| w.parked.clone()), Some(vec![id]));
    let number = h.number(id);
    assert_eq!(
        h.refused(
            &staff(2),
            Command::Unpark {
                window: 2,
                number: number.clone()
            }
        ),
        "ticket_not_parked_here"
    );
    assert_eq!(h.call(1), Some(other));
    assert_eq!(
        h.refused(
            &staff(1),
            Command::Unpark {
                window: 1,
                number: number.clone()
            }
        ),
        "ticket_in_progress"
    );
    h.ok(&staff(1), Command::Park { window: 1 });
    // Back to the state it was parked in: serving.
    h.ok(&staff(1), Command::Unpark { window: 1, number });
    assert_eq!(h.status(id), TicketStatus::Serving);
    assert_eq!(
        h.hall.window(1).map(|w| (w.current, w.parked.clone())),
        Some((Some(id), vec![other]))
    );
}

#[test]
fn park_limit_per_window() {
    let mut h = H::at(9, 0);
    for _ in 0..=PARKED_PER_WINDOW_MAX {
        h.issue("plain");
    }
    for _ in 0..PARKED_PER_WINDOW_MAX {
        h.call(1);
        h.ok(&staff(1), Command::Park { window: 1 });
    }
    h.call(1);
    assert_eq!(
        h.refused(&staff(1), Command::Park { window: 1 }),
        "too_many_parked"
    );
}

#[test]
fn closing_a_window_returns_its_parked_and_directed_tickets() {
    let mut h = H::at(9, 0);
    let parked = h.issue("plain");
    let directed = h.issue("plain");
    h.now += MINUTE_MS;
    let later = h.issue("plain");
    // Window 2 parks one; window 1 sends one to window 2.
    assert_eq!(
        h.ok(
            &staff(2),
            Command::CallTicket {
                window: 2,
                number: h.number(parked),
                reason: "x".into()
            }
        )
        .len(),
        1
    );
    h.ok(&staff(2), Command::Park { window: 2 });
    h.ok(
        &staff(1),
        Command::CallTicket {
            window: 1,
            number: h.number(directed),
            reason: "x".into(),
        },
    );
    h.ok(
        &staff(1),
        Command::Transfer {
            window: 1,
            to: TransferTarget::Window(2),
            reason: None,
        },
    );
    // Staff at another window may not close window 2.
    assert_eq!(
        h.refused(&staff(1), Command::CloseWindow { window: 2 }),
        "not_signed_in"
    );
    let events = h.ok(&boss(), Command::CloseWindow { window: 2 });
    match events.as_slice() {
        [
            Event::StaffSignedOut { window: 2, staff },
            Event::WindowClosed {
                window: 2,
                returned,
            },
        ] => {
            assert_eq!(staff, "s2");
            assert_eq!(returned, &vec![parked, directed]);
        }
        other => panic!("{other:?}"),
    }
    let w = h.hall.window(2).expect("w");
    assert!(!w.open && w.staff.is_none() && w.parked.is_empty());
    assert_eq!(h.hall.window_of_staff("s2"), None);
    for id in [parked, directed] {
        let t = h.hall.ticket(id).expect("t");
        assert_eq!(
            (t.status, t.directed_to, t.window),
            (TicketStatus::Waiting, None, None)
        );
    }
    // Back in their service's line by original arrival, ahead of the later ticket.
    assert_eq!(h.call(1), Some(parked));
    h.ok(&staff(1), Command::NoShow { window: 1 });
    assert_eq!(h.hall.waiting_for("plain"), 3);
    assert_eq!(h.call(1), Some(directed));
    h.ok(&staff(1), Command::Start { window: 1 });
    h.ok(
        &staff(1),
        Command::Finish {
            window: 1,
            outcome: Outcome::Done,
            reason: None,
        },
    );
    assert_eq!(h.call(1), Some(later));
    assert_eq!(
        h.refused(&boss(), Command::CloseWindow { window: 2 }),
        "window_closed"
    );
}

#[test]
fn close_window_refused_with_a_ticket_in_progress() {
    let mut h = H::at(9, 0);
    h.issue("plain");
    h.call(1);
    assert_eq!(
        h.refused(&boss(), Command::CloseWindow { window: 1 }),
        "ticket_in_progress"
    );
}

#[test]
fn cancel_rules() {
    let mut h = H::at(9, 0);
    let waiting = h.issue("plain");
    let served = h.issue("plain");
    h.ok(
        &staff(1),
        Command::CallTicket {
            window: 1,
            number: h.number(served),
            reason: "x".into(),
        },
    );
    assert_eq!(
        h.refused(&kiosk(), Command::Cancel { ticket: served }),
        "cannot_cancel"
    );
    assert_eq!(
        h.refused(
            &kiosk(),
            Command::Cancel {
                ticket: TicketId(999)
            }
        ),
        "unknown_ticket"
    );
    let live = h.hall.state().live;
    h.ok(&kiosk(), Command::Cancel { ticket: waiting });
    assert_eq!(h.status(waiting), TicketStatus::Cancelled);
    assert_eq!((h.hall.waiting(), h.hall.state().live), (0, live - 1));
    // A parked ticket may be cancelled too, and leaves its window's list.
    h.ok(&staff(1), Command::Park { window: 1 });
    h.ok(&kiosk(), Command::Cancel { ticket: served });
    assert!(h.hall.window(1).is_some_and(|w| w.parked.is_empty()));
}

#[test]
fn a_ticket_that_ends_leaves_the_live_table_and_is_still_answered_for() {
    let mut h = H::at(9, 0);
    let done = h.issue("plain");
    let cancelled = h.issue("plain");
    assert_eq!(h.call(1), Some(done));
    serve_out(&mut h, 1);
    h.ok(&kiosk(), Command::Cancel { ticket: cancelled });
    let s = h.hall.state();
    assert!(s.tickets.is_empty(), "only live tickets stay in the table");
    assert_eq!(s.finished.len(), 2);
    assert!(s.by_number.is_empty(), "only live numbers are indexed");
    assert_eq!(h.status(done), TicketStatus::Finished);
    assert_eq!(h.status(cancelled), TicketStatus::Cancelled);
    assert_eq!(h.hall.ticket_count(), 2);
    assert_eq!(h.hall.tickets().count(), 2);
    let number = h.number(done);
    assert_eq!(h.hall.ticket_by_number(&number).map(|t| t.id), Some(done));
    // Refusals about an ended ticket name what it is, not "unknown".
    assert_eq!(
        h.refused(&kiosk(), Command::Cancel { ticket: done }),
        "cannot_cancel"
    );
    assert_eq!(
        h.refused(
            &staff(1),
            Command::CallTicket {
                window: 1,
                number,
                reason: "x".into(),
            },
        ),
        "ticket_not_waiting"
    );
    // An event about an ended ticket (only a foreign journal has one) changes nothing.
    let before = h.hall.state().clone();
    h.hall
        .evolve(&Event::TicketCancelled { ticket: done }, h.now);
    assert!(&before == h.hall.state());
}

#[test]
fn a_number_issued_again_after_its_series_wraps_names_the_newest_ticket() {
    let wrapping = HALL_TOML.replace(
        "series = { start = 1, end = 99 }",
        "series = { start = 1, end = 99, wrap = true }",
    );
    assert_ne!(wrapping, HALL_TOML);
    let mut h = H::fresh_with(&wrapping, 9, 0);
    h.lifecycle();
    // "plain" numbers F01–F99; each is cancelled, and the series wraps.
    let first = h.issue("plain");
    h.ok(&kiosk(), Command::Cancel { ticket: first });
    for _ in 2..=99 {
        let t = h.issue("plain");
        h.ok(&kiosk(), Command::Cancel { ticket: t });
    }
    let again = h.issue("plain");
    assert_eq!(h.number(again), h.number(first));
    assert_eq!(h.hall.ticket_by_number("F01").map(|t| t.id), Some(again));
    h.ok(&kiosk(), Command::Cancel { ticket: again });
    assert_eq!(h.hall.ticket_by_number("F01").map(|t| t.id), Some(again));
    assert_eq!(
        h.hall.ticket(first).map(|t| t.status),
        Some(TicketStatus::Cancelled)
    );
}

// --- staff and windows -------------------------------------------------------

#[test]
fn sign_in_rules() {
    let mut h = H::at(9, 0);
    assert_eq!(
        h.refused(&Actor::Staff("ghost".into()), Command::SignIn { window: 1 }),
        "unknown_staff"
    );
    assert_eq!(
        h.refused(&Actor::Staff("s4".into()), Command::SignIn { window: 1 }),
        "window_occupied"
    );
    assert_eq!(
        h.refused(&Actor::Staff("s4".into()), Command::SignIn { window: 4 }),
        "window_closed"
    );
    assert_eq!(
        h.refused(&Actor::Staff("s4".into()), Command::SignIn { window: 77 }),
        "unknown_window"
    );
    assert_eq!(
        h.refused(&boss(), Command::SignIn { window: 1 }),
        "not_signed_in"
    );
    assert_eq!(
        h.refused(&kiosk(), Command::SignIn { window: 1 }),
        "not_signed_in"
    );
    // One window per person: s1 may not sign in twice.
    h.ok(&boss(), Command::OpenWindow { window: 4 });
    assert_eq!(
        h.refused(&staff(1), Command::SignIn { window: 4 }),
        "already_signed_in_elsewhere"
    );
    assert_eq!(
        h.refused(&staff(1), Command::SignIn { window: 1 }),
        "window_occupied"
    );
    h.ok(&Actor::Staff("s4".into()), Command::SignIn { window: 4 });
    assert_eq!(h.hall.window_of_staff("s4"), Some(4));
    // Sign-out: the person themself, or a manager; not someone else; not mid-ticket.
    assert_eq!(
        h.refused(&staff(2), Command::SignOut { window: 1 }),
        "not_signed_in"
    );
    h.issue("plain");
    h.call(1);
    assert_eq!(
        h.refused(&staff(1), Command::SignOut { window: 1 }),
        "ticket_in_progress"
    );
    h.ok(&staff(1), Command::Park { window: 1 });
    h.ok(&staff(1), Command::SignOut { window: 1 });
    assert_eq!(h.hall.window_of_staff("s1"), None);
    assert_eq!(
        h.refused(&staff(1), Command::SignOut { window: 1 }),
        "not_signed_in"
    );
    h.ok(&boss(), Command::SignOut { window: 4 });
    assert_eq!(h.hall.window(4).and_then(|w| w.staff.clone()), None);
}

#[test]
fn pause_refused_with_a_ticket_in_progress() {
    let mut h = H::at(9, 0);
    let id = h.issue("plain");
    h.issue("plain");
    h.call(1);
    let pause = Command::Pause {
        window: 1,
        reason: PauseReason::Lunch,
    };
    assert_eq!(h.refused(&staff(1), pause.clone()), "ticket_in_progress");
    h.ok(&staff(1), Command::Park { window: 1 });
    h.ok(&staff(1), pause.clone());
    assert_eq!(h.refused(&staff(1), pause), "window_paused");
    assert_eq!(
        h.refused(&staff(1), Command::CallNext { window: 1 }),
        "window_paused"
    );
    // Taking a parked ticket back is serving again: not while paused.
    assert_eq!(
        h.refused(
            &staff(1),
            Command::Unpark {
                window: 1,
                number: h.number(id)
            }
        ),
        "window_paused"
    );
    h.ok(&staff(1), Command::Resume { window: 1 });
    assert_eq!(
        h.refused(&staff(1), Command::Resume { window: 1 }),
        "window_not_paused"
    );
    h.ok(
        &staff(1),
        Command::Unpark {
            window: 1,
            number: h.number(id),
        },
    );
    assert_eq!(h.status(id), TicketStatus::Called);
}

#[test]
fn manager_only_commands_refused_for_staff() {
    let mut h = H::at(9, 0);
    let services = vec![WindowService {
        service: "plain".into(),
        weight: 5,
    }];
    for actor in [staff(1), kiosk()] {
        assert_eq!(
            h.refused(&actor, Command::OpenWindow { window: 4 }),
            "not_permitted"
        );
        assert_eq!(
            h.refused(
                &actor,
                Command::SetWindowServices {
                    window: 1,
                    services: services.clone()
                }
            ),
            "not_permitted"
        );
    }
    assert_eq!(
        h.refused(&kiosk(), Command::CloseWindow { window: 1 }),
        "not_signed_in"
    );
    h.ok(&boss(), Command::OpenWindow { window: 4 });
    assert_eq!(
        h.refused(&boss(), Command::OpenWindow { window: 4 }),
        "window_already_open"
    );
    let bad = |service: &str, weight: u32| {
        vec![WindowService {
            service: service.into(),
            weight,
        }]
    };
    assert_eq!(
        h.refused(
            &boss(),
            Command::SetWindowServices {
                window: 1,
                services: bad("nope", 1)
            }
        ),
        "unknown_service"
    );
    assert_eq!(
        h.refused(
            &boss(),
            Command::SetWindowServices {
                window: 1,
                services: bad("plain", 0)
            }
        ),
        "bad_weight"
    );
    assert_eq!(
        h.refused(
            &boss(),
            Command::SetWindowServices {
                window: 1,
                services: bad("plain", 101)
            }
        ),
        "bad_weight"
    );
    let twice = vec![
        WindowService {
            service: "plain".into(),
            weight: 1,
        },
        WindowService {
            service: "plain".into(),
            weight: 2,
        },
    ];
    assert_eq!(
        h.refused(
            &boss(),
            Command::SetWindowServices {
                window: 1,
                services: twice
            }
        ),
        "duplicate_service"
    );
    h.ok(
        &boss(),
        Command::SetWindowServices {
            window: 3,
            services,
        },
    );
    let id = h.issue("plain");
    assert_eq!(h.call(3), Some(id));
}

// --- the business day --------------------------------------------------------

#[test]
fn end_of_day_sweep_expires_waiting_called_parked_and_keeps_serving() {
    let mut h = H::at(16, 0);
    let waiting = h.issue("plain");
    let called = h.issue("plain");
    let parked = h.issue("plain");
    let serving = h.issue("plain");
    let finished = h.issue("plain");
    for (w, id) in [(1, finished), (2, serving)] {
        h.ok(
            &staff(w),
            Command::CallTicket {
                window: w,
                number: h.number(id),
                reason: "x".into(),
            },
        );
        h.ok(&staff(w), Command::Start { window: w });
    }
    h.ok(
        &staff(1),
        Command::Finish {
            window: 1,
            outcome: Outcome::Done,
            reason: None,
        },
    );
    h.ok(
        &staff(1),
        Command::CallTicket {
            window: 1,
            number: h.number(parked),
            reason: "x".into(),
        },
    );
    h.ok(&staff(1), Command::Park { window: 1 });
    h.ok(
        &staff(1),
        Command::CallTicket {
            window: 1,
            number: h.number(called),
            reason: "x".into(),
        },
    );
    assert_eq!(h.status(waiting), TicketStatus::Waiting);
    // 17:00 closes the session; nothing expires until the day ends.
    let events = h.go(0, 17, 0);
    assert!(
        matches!(events.as_slice(), [Event::SessionClosed { slot: Some(1) }]),
        "{events:?}"
    );
    assert_eq!(h.hall.state().live, 4);
    // Past midnight the calendar ends Monday first (the sweep) …
    h.now = h.time(1, 0, 5);
    assert_eq!(h.hall.due_lifecycle(h.now), Some(Command::EndDay));
    let events = h.ok(&Actor::System, Command::EndDay);
    let (expired, signed_out) = match events.as_slice() {
        [
            Event::DayEnded {
                expired,
                signed_out,
                ..
            },
        ] => (expired.clone(), signed_out.clone()),
        other => panic!("{other:?}"),
    };
    assert_eq!(expired, vec![waiting, called, parked]);
    // Staff at window 2 stays to finish the ticket being served.
    assert_eq!(signed_out, vec![1, 3]);
    for id in [waiting, called, parked] {
        assert_eq!(h.status(id), TicketStatus::Expired);
    }
    assert_eq!(h.status(serving), TicketStatus::Serving);
    assert_eq!(h.hall.state().live, 1);
    assert_eq!(h.hall.waiting(), 0);
    assert!(
        h.hall
            .window(1)
            .is_some_and(|w| w.current.is_none() && w.parked.is_empty() && w.staff.is_none())
    );
    assert_eq!(h.hall.window_of_staff("s2"), Some(2));
    // … then opens Tuesday, which forgets Monday's ended tickets and keeps the one being served.
    let events = h.lifecycle();
    assert!(
        matches!(events.as_slice(), [Event::DayOpened { .. }]),
        "{events:?}"
    );
    assert!(h.hall.ticket(waiting).is_none());
    assert_eq!(h.status(serving), TicketStatus::Serving);
    h.ok(
        &staff(2),
        Command::Finish {
            window: 2,
            outcome: Outcome::Done,
            reason: None,
        },
    );
    assert_eq!(h.hall.state().live, 0);
}

#[test]
fn manager_end_day_closes_the_day_until_tomorrow() {
    let mut h = H::at(10, 0);
    h.issue("plain");
    let events = h.ok(&boss(), Command::EndDay);
    assert!(
        matches!(events.as_slice(), [Event::DayEnded { expired, .. }] if expired.len() == 1),
        "{events:?}"
    );
    assert_eq!(
        h.refused(&kiosk(), H::issue_cmd("plain")),
        "no_business_day"
    );
    assert!(
        h.go(0, 13, 0).is_empty(),
        "the calendar does not reopen an ended day"
    );
    assert_eq!(
        h.refused(&boss(), Command::OpenDay { date: monday() }),
        "day_not_after_current"
    );
    h.go(1, 9, 0);
    h.issue("plain");
}

#[test]
fn day_roll_over_renumbers_from_the_series_start() {
    let mut h = H::at(9, 0);
    let a = h.issue("plain");
    let b = h.issue("plain");
    assert_eq!(
        (h.number(a), h.number(b)),
        ("F01".to_string(), "F02".to_string())
    );
    h.go(1, 9, 0);
    let c = h.issue("plain");
    assert_eq!(h.number(c), "F01");
    assert_eq!(h.hall.ticket_by_number("F01").map(|t| t.id), Some(c));
    assert_eq!(
        h.hall.ticket(c).map(|t| t.day),
        Some(monday() + Duration::days(1))
    );
}

#[test]
fn a_ticket_carried_over_keeps_its_number_from_the_new_day() {
    let mut h = H::at(16, 0);
    let carried = h.issue("plain");
    h.call(1);
    h.ok(&staff(1), Command::Start { window: 1 });
    h.go(1, 9, 0);
    assert_eq!(h.status(carried), TicketStatus::Serving);
    // Tuesday's series starts again but skips F01 while Monday's F01 lives.
    let first = h.issue("plain");
    assert_eq!(h.number(first), "F02");
    h.ok(
        &staff(1),
        Command::Transfer {
            window: 1,
            to: TransferTarget::Service("plain".into()),
            reason: None,
        },
    );
    assert_eq!(h.status(carried), TicketStatus::Waiting);
    let live: Vec<String> = h
        .hall
        .tickets()
        .filter(|t| t.status.is_live())
        .map(|t| t.number.to_string())
        .collect();
    assert_eq!(live.len(), 2);
    assert_ne!(live[0], live[1]);
    assert_eq!(h.hall.ticket_by_number("F01").map(|t| t.id), Some(carried));
}

#[test]
fn open_day_refusals() {
    let mut h = H::at(9, 0);
    assert_eq!(
        h.refused(&boss(), Command::OpenDay { date: monday() }),
        "day_already_open"
    );
    assert_eq!(
        h.refused(
            &boss(),
            Command::OpenDay {
                date: monday() - Duration::days(1)
            }
        ),
        "day_not_today"
    );
    // A typo'd future date must not sweep today's hall.
    assert_eq!(
        h.refused(
            &boss(),
            Command::OpenDay {
                date: monday() + Duration::days(3)
            }
        ),
        "day_not_today"
    );
    assert!(
        h.hall
            .tickets()
            .all(|t| t.status != hallq::queue::TicketStatus::Expired)
    );
    assert_eq!(
        h.refused(&boss(), Command::OpenSession { slot: None }),
        "session_already_open"
    );
    h.ok(&boss(), Command::CloseSession);
    assert_eq!(
        h.refused(&boss(), Command::CloseSession),
        "session_not_open"
    );
    // A slot a manager closed early stays closed today.
    assert!(h.go(0, 9, 30).is_empty());
    assert_eq!(h.refused(&kiosk(), H::issue_cmd("plain")), "hall_closed");
    // A manager may open an unscheduled session; the afternoon slot opens as usual.
    h.ok(&boss(), Command::OpenSession { slot: None });
    h.issue("plain");
}

// --- privacy -------------------------------------------------------------------

#[test]
fn the_id_number_never_appears_in_the_issued_event() {
    let mut h = H::at(9, 0);
    let id_number = "110105194912310021";
    let key = person_key(b"hall-secret", id_number);
    let events = h.ok(
        &kiosk(),
        Command::Issue {
            service: "plain".into(),
            priority: None,
            person: Some(key.clone()),
            source: IssueSource::Kiosk,
            cases: 1,
        },
    );
    let json = serde_json::to_string(&events).expect("json");
    assert!(
        json.contains(&key),
        "the keyed hash is what the event carries"
    );
    for window in id_number.as_bytes().windows(6) {
        let part = std::str::from_utf8(window).expect("ascii");
        assert!(
            !json.contains(part),
            "a piece of the id number ({part}) leaked: {json}"
        );
    }
    let id = match events.as_slice() {
        [Event::TicketIssued { ticket, .. }] => *ticket,
        other => panic!("{other:?}"),
    };
    // The ticket as shown to screens and the API carries no person at all.
    let shown = serde_json::to_string(&h.hall.ticket(id).expect("t")).expect("json");
    assert!(
        !shown.contains(&key) && !shown.contains("person"),
        "{shown}"
    );
}

// --- rules added after review --------------------------------------------

#[test]
fn an_account_without_a_window_role_cannot_sign_in() {
    let mut h = H::at(9, 0);
    assert_eq!(
        h.refused(&Actor::Staff("eye".into()), Command::SignIn { window: 3 }),
        "no_window_role"
    );
}

/// Serves a window's current ticket to the end, freeing the window.
fn serve_out(h: &mut H, window: WindowNo) {
    h.ok(&staff(window), Command::Start { window });
    h.ok(
        &staff(window),
        Command::Finish {
            window,
            outcome: Outcome::Done,
            reason: None,
        },
    );
}

#[test]
fn an_ordinary_ticket_transferred_to_a_window_is_covered_by_the_starvation_bound() {
    let mut h = H::at(9, 0);
    let moved = h.issue("plain");
    assert_eq!(h.call(1), Some(moved));
    h.ok(
        &staff(1),
        Command::Transfer {
            window: 1,
            to: TransferTarget::Window(2),
            reason: None,
        },
    );
    let care: Vec<TicketId> = (0..5)
        .map(|_| {
            h.issue_with(Command::Issue {
                service: "pay".into(),
                priority: Some("care".into()),
                person: None,
                source: IssueSource::Kiosk,
                cases: 1,
            })
        })
        .collect();
    // priority_streak_max = 3: three priority calls, then the transferred ticket.
    for expected in &care[..3] {
        assert_eq!(h.call(2), Some(*expected));
        serve_out(&mut h, 2);
    }
    let explanation = h.hall.explain_next(2, h.now);
    assert!(
        explanation.candidates[0].candidate.promoted,
        "{explanation:?}"
    );
    assert_eq!(h.call(2), Some(moved));
    serve_out(&mut h, 2);
    assert_eq!(h.hall.queues().window_starvation(2).streak, 0);
    assert_eq!(h.call(2), Some(care[3]));
}

#[test]
fn without_extended_service_the_day_ends_with_its_last_session() {
    let toml = HALL_TOML.replace("extended_service = true", "extended_service = false");
    let mut h = H::fresh_with(&toml, 10, 30);
    h.lifecycle();
    let before_lunch = h.issue("plain");
    // Lunch: the afternoon session is still to come, so nothing expires.
    let lunch = h.go(0, 11, 31);
    assert!(
        lunch.iter().all(|e| !matches!(e, Event::DayEnded { .. })),
        "{lunch:?}"
    );
    assert_eq!(h.status(before_lunch), TicketStatus::Waiting);
    h.go(0, 16, 0);
    let late = h.issue("plain");
    let evening = h.go(0, 17, 1);
    let expired = evening.iter().find_map(|e| match e {
        Event::DayEnded { expired, .. } => Some(expired.clone()),
        _ => None,
    });
    assert_eq!(expired, Some(vec![before_lunch, late]));
    assert_eq!(h.status(late), TicketStatus::Expired);
    // With extended service (the test hall's default) they could still be called.
    let mut e = H::at(16, 0);
    let kept = e.issue("plain");
    let evening = e.go(0, 17, 1);
    assert!(evening.iter().all(|x| !matches!(x, Event::DayEnded { .. })));
    assert_eq!(e.call(1), Some(kept));
}

#[test]
fn the_preview_of_a_window_is_what_it_then_calls() {
    let mut h = H::at(9, 0);
    // A mix: ordinary and priority tickets of two services window 2 serves.
    for i in 0..9 {
        let priority = (i % 3 == 0).then(|| "care".to_string());
        let service = if i % 2 == 0 { "plain" } else { "pay" };
        h.now += MINUTE_MS;
        h.issue_with(Command::Issue {
            service: service.into(),
            priority,
            person: None,
            source: IssueSource::Kiosk,
            cases: 1,
        });
    }
    let preview: Vec<TicketId> = h
        .hall
        .preview_next(2, h.now, 7)
        .iter()
        .map(|c| c.ticket)
        .collect();
    assert_eq!(preview.len(), 7);
    let explained = h.hall.explain_next(2, h.now);
    assert_eq!(explained.candidates[0].candidate.ticket, preview[0]);
    let mut called = Vec::new();
    for _ in 0..7 {
        called.push(h.call(2).expect("someone waits"));
        serve_out(&mut h, 2);
    }
    assert_eq!(called, preview, "the preview must be the calling order");
}

#[test]
fn a_finished_ticket_is_rated_once_by_the_window_s_devices_only() {
    use hallq::queue::types::Rating;
    let mut h = H::at(9, 0);
    let first = h.issue("accept");
    let second = h.issue("accept");
    h.call(2);
    h.ok(&staff(2), Command::Start { window: 2 });
    let rate = |ticket, rating| Command::Rate {
        window: 2,
        ticket,
        rating,
    };
    // Nothing finished yet.
    assert_eq!(
        h.refused(&Actor::System, rate(first, Some(Rating::Satisfied))),
        "not_awaiting_rating"
    );
    h.ok(
        &staff(2),
        Command::Finish {
            window: 2,
            outcome: Outcome::Incomplete,
            reason: None,
        },
    );
    // Staff cannot rate their own service.
    assert_eq!(
        h.refused(&staff(2), rate(first, Some(Rating::VerySatisfied))),
        "devices_only"
    );
    // Another ticket, or another window, is not the one awaiting.
    assert_eq!(
        h.refused(&Actor::System, rate(second, Some(Rating::Satisfied))),
        "not_awaiting_rating"
    );
    assert_eq!(
        h.refused(
            &Actor::System,
            Command::Rate {
                window: 3,
                ticket: first,
                rating: None
            }
        ),
        "not_awaiting_rating"
    );
    let events = h.ok(&Actor::System, rate(first, Some(Rating::Dissatisfied)));
    assert!(
        matches!(
            events.as_slice(),
            [Event::ServiceRated { ticket, window: 2, staff, rating: Some(Rating::Dissatisfied) }]
                if *ticket == first && staff == "s2"
        ),
        "{events:?}"
    );
    // Rated once: a second rating (or a late timeout) is refused.
    assert_eq!(
        h.refused(&Actor::System, rate(first, None)),
        "not_awaiting_rating"
    );
    // The next finished ticket may go unrated.
    h.call(2);
    h.ok(&staff(2), Command::Start { window: 2 });
    h.ok(
        &staff(2),
        Command::Finish {
            window: 2,
            outcome: Outcome::Incomplete,
            reason: None,
        },
    );
    let events = h.ok(&Actor::System, rate(second, None));
    assert!(
        matches!(
            events.as_slice(),
            [Event::ServiceRated { rating: None, .. }]
        ),
        "{events:?}"
    );
}

#[test]
fn finishing_the_next_ticket_records_the_previous_as_not_rated_where_an_evaluator_is() {
    let toml = format!(
        "{HALL_TOML}\n[[bus]]\nname = \"b\"\nport = \"sim\"\n\n[[device]]\nbus = \"b\"\nunit = 202\nprofile = \"generic-evaluator\"\nwindow = 2\n"
    );
    let mut h = H::fresh_with(&toml, 9, 0);
    h.lifecycle();
    h.ok(&staff(2), Command::SignIn { window: 2 });
    h.ok(&staff(1), Command::SignIn { window: 1 });
    let finish = |w| Command::Finish {
        window: w,
        outcome: Outcome::Incomplete,
        reason: None,
    };
    for (w, service) in [(2, "accept"), (1, "capped")] {
        let first = h.issue(service);
        h.issue(service);
        assert_eq!(h.call(w), Some(first));
        h.ok(&staff(w), Command::Start { window: w });
        h.ok(&staff(w), finish(w));
        h.call(w);
        h.ok(&staff(w), Command::Start { window: w });
        let events = h.ok(&staff(w), finish(w));
        if w == 2 {
            // Window 2 has an evaluator: the first ticket's evaluation closes, unrated.
            assert!(
                matches!(
                    events.as_slice(),
                    [Event::ServiceRated { ticket, rating: None, .. }, Event::TicketFinished { .. }]
                        if *ticket == first
                ),
                "{events:?}"
            );
        } else {
            assert!(
                matches!(events.as_slice(), [Event::TicketFinished { .. }]),
                "{events:?}"
            );
        }
    }
}
