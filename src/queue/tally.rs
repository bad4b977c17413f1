//! Today's running figures, folded from the same events as the state: the
//! recent calls a big screen shows on load, arrivals and waits by hour for
//! the dashboard, and each staff member's count and service time for the
//! counter page. Cleared when a business day opens; bounded by the day.
//!
//! Waits are counted once per ticket, at its first call (issue → first call),
//! in the hour of that call; service time is start → finish of each step.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::Timelike;
use chrono_tz::Tz;
use serde::Serialize;

use super::calendar::local;
use super::event::Event;
use super::state::Ticket;
use super::types::{Millis, TicketId, WindowNo};

/// Calls remembered for screens that (re)load.
pub const RECENT_CALLS_MAX: usize = 20;

/// One call (or recall) of a ticket to a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecentCall {
    pub ticket: TicketId,
    pub window: WindowNo,
    pub at_ms: Millis,
    pub recalls: u32,
}

/// One hour of the business day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HourTally {
    pub arrivals: u32,
    /// First calls in this hour.
    pub called: u32,
    pub wait_ms_total: i64,
    pub wait_ms_max: i64,
}

/// One staff member's day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StaffTally {
    /// Steps finished (any outcome).
    pub served: u32,
    /// Finished steps that had a start, and their total service time.
    pub timed: u32,
    pub service_ms_total: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayTally {
    pub recent_calls: VecDeque<RecentCall>,
    /// Local hours 0–23.
    pub hours: [HourTally; 24],
    pub issued: u32,
    pub served: u32,
    pub no_show: u32,
    pub staff: BTreeMap<String, StaffTally>,
}

impl DayTally {
    /// Folds one event in; `tickets` is the state *before* the event.
    pub fn observe(
        &mut self,
        event: &Event,
        tickets: &HashMap<TicketId, Box<Ticket>>,
        tz: Tz,
        at_ms: Millis,
    ) {
        let hour = || local(tz, at_ms).hour() as usize % 24;
        match event {
            Event::DayOpened { .. } => *self = DayTally::default(),
            Event::TicketIssued { .. } => {
                self.issued += 1;
                self.hours[hour()].arrivals += 1;
            }
            Event::TicketCalled { ticket, window, .. } => {
                let Some(t) = tickets.get(ticket) else { return };
                if t.called_ms.is_none() {
                    let wait = (at_ms - t.issued_ms).max(0);
                    let h = &mut self.hours[hour()];
                    h.called += 1;
                    h.wait_ms_total += wait;
                    h.wait_ms_max = h.wait_ms_max.max(wait);
                }
                self.remember_call(*ticket, *window, at_ms, 0);
            }
            Event::TicketRecalled {
                ticket,
                window,
                recall,
            } if tickets.contains_key(ticket) => {
                self.remember_call(*ticket, *window, at_ms, *recall);
            }
            Event::TicketFinished { ticket, staff, .. } => {
                let Some(t) = tickets.get(ticket) else { return };
                let s = self.staff.entry(staff.clone()).or_default();
                s.served += 1;
                if let Some(started) = t.started_ms {
                    s.timed += 1;
                    s.service_ms_total += (at_ms - started).max(0);
                }
                self.served += 1;
            }
            Event::TicketNoShow { ticket, .. } if tickets.contains_key(ticket) => {
                self.no_show += 1;
            }
            _ => {}
        }
    }

    fn remember_call(&mut self, ticket: TicketId, window: WindowNo, at_ms: Millis, recalls: u32) {
        self.recent_calls.retain(|c| c.ticket != ticket);
        self.recent_calls.push_front(RecentCall {
            ticket,
            window,
            at_ms,
            recalls,
        });
        self.recent_calls.truncate(RECENT_CALLS_MAX);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{Duration, NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::config::Config;
    use crate::queue::calendar;
    use crate::queue::{Actor, Command, Hall, IssueSource, MINUTE_MS, Outcome, TicketStatus};

    const HALL: &str = r#"
[hall]
name = "统计测试大厅"
timezone = "Asia/Shanghai"

[[zone]]
id = "main"
name = "大厅"
floor = 1

[[department]]
id = "office"
name = "管理办"

[[service]]
id = "plain"
name = "普通业务"
department = "office"
prefix = "A"
recall_limit = 3
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

[[window]]
number = 1
name = "一号窗"
kind = "comprehensive"
zone = "main"
services = [{ service = "plain" }, { service = "accept" }, { service = "pay" }]

[[window]]
number = 2
name = "二号窗"
kind = "comprehensive"
zone = "main"
services = [{ service = "plain" }, { service = "accept" }, { service = "pay" }]

[[staff]]
account = "s1"
job_number = "P001"
name = "一号"

[[staff]]
account = "s2"
job_number = "P002"
name = "二号"

[routing]
no_show_requeue_after = 1
no_show_requeue_max = 1

[calendar]
issue_cutoff_minutes = 0
extended_service = true

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
from = "00:00"
to = "24:00"
"#;

    /// Monday 2026-11-23.
    fn monday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
    }

    /// A hall driven by commands, every committed event kept with its time.
    struct H {
        hall: Hall,
        now: Millis,
        log: Vec<(Event, Millis)>,
    }

    impl H {
        /// Monday `hh:mm` local, the day and session open, s1 and s2 signed
        /// in at windows 1 and 2.
        fn at(hh: u32, mm: u32) -> H {
            let config = Config::from_toml_str("tally", HALL).unwrap_or_else(|e| panic!("{e}"));
            let mut h = H {
                hall: Hall::new(Arc::new(config)),
                now: 0,
                log: Vec::new(),
            };
            h.go(0, hh, mm);
            for w in [1, 2] {
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

        /// Moves the clock to local `hh:mm` of Monday + `day` and runs the calendar.
        fn go(&mut self, day: i64, hh: u32, mm: u32) {
            self.now = self.time(day, hh, mm);
            self.lifecycle();
        }

        /// Moves the clock to an instant (no calendar step).
        fn set(&mut self, at_ms: Millis) {
            self.now = at_ms;
        }

        fn lifecycle(&mut self) {
            let mut n = 0;
            while let Some(c) = self.hall.due_lifecycle(self.now) {
                self.ok(&Actor::System, c);
                n += 1;
                assert!(n < 20, "lifecycle loops");
            }
        }

        fn ok(&mut self, actor: &Actor, command: Command) -> Vec<Event> {
            let shown = format!("{command:?}");
            let events = self
                .hall
                .apply(actor, &command, self.now)
                .unwrap_or_else(|r| panic!("{shown} refused: {r}"));
            self.log
                .extend(events.iter().cloned().map(|e| (e, self.now)));
            events
        }

        fn issue(&mut self, service: &str) -> TicketId {
            let command = Command::Issue {
                service: service.into(),
                priority: None,
                person: None,
                source: IssueSource::Kiosk,
                cases: 1,
            };
            match self.ok(&Actor::Kiosk("k1".into()), command).as_slice() {
                [Event::TicketIssued { ticket, .. }] => *ticket,
                other => panic!("issue gave {other:?}"),
            }
        }

        fn call(&mut self, window: WindowNo) -> TicketId {
            match self
                .ok(&staff(window), Command::CallNext { window })
                .as_slice()
            {
                [Event::TicketCalled { ticket, .. }] => *ticket,
                other => panic!("call-next at {window} gave {other:?}"),
            }
        }

        fn recall(&mut self, window: WindowNo) -> u32 {
            match self
                .ok(&staff(window), Command::Recall { window })
                .as_slice()
            {
                [Event::TicketRecalled { recall, .. }] => *recall,
                other => panic!("recall at {window} gave {other:?}"),
            }
        }

        fn start(&mut self, window: WindowNo) {
            self.ok(&staff(window), Command::Start { window });
        }

        fn finish(&mut self, window: WindowNo) {
            self.ok(
                &staff(window),
                Command::Finish {
                    window,
                    outcome: Outcome::Done,
                    reason: None,
                },
            );
        }

        fn tally(&self) -> &DayTally {
            &self.hall.state().tally
        }
    }

    fn staff(window: WindowNo) -> Actor {
        Actor::Staff(format!("s{window}"))
    }

    fn call(ticket: TicketId, window: WindowNo, at_ms: Millis, recalls: u32) -> RecentCall {
        RecentCall {
            ticket,
            window,
            at_ms,
            recalls,
        }
    }

    fn utc(hh: u32, mm: u32) -> Millis {
        Utc.with_ymd_and_hms(2026, 11, 23, hh, mm, 0)
            .single()
            .expect("utc time")
            .timestamp_millis()
    }

    #[test]
    fn recent_calls_are_newest_first_and_a_recall_moves_its_call_to_the_top() {
        let mut h = H::at(9, 0);
        let a1 = h.issue("plain");
        let a2 = h.issue("plain");
        let a3 = h.issue("plain");
        assert!(h.tally().recent_calls.is_empty());

        h.go(0, 9, 1);
        let t1 = h.now;
        assert_eq!(h.call(1), a1);
        h.go(0, 9, 2);
        let t2 = h.now;
        assert_eq!(h.call(2), a2);
        assert_eq!(
            Vec::from(h.tally().recent_calls.clone()),
            vec![call(a2, 2, t2, 0), call(a1, 1, t1, 0)]
        );

        // A recall of a1: one entry for it, on top, with the recall count and time.
        h.go(0, 9, 3);
        let t3 = h.now;
        assert_eq!(h.recall(1), 1);
        assert_eq!(
            Vec::from(h.tally().recent_calls.clone()),
            vec![call(a1, 1, t3, 1), call(a2, 2, t2, 0)]
        );
        h.go(0, 9, 4);
        let t4 = h.now;
        assert_eq!(h.recall(1), 2);
        assert_eq!(
            Vec::from(h.tally().recent_calls.clone()),
            vec![call(a1, 1, t4, 2), call(a2, 2, t2, 0)]
        );

        // A new call goes above both.
        h.start(1);
        h.finish(1);
        h.go(0, 9, 5);
        let t5 = h.now;
        assert_eq!(h.call(1), a3);
        assert_eq!(
            Vec::from(h.tally().recent_calls.clone()),
            vec![call(a3, 1, t5, 0), call(a1, 1, t4, 2), call(a2, 2, t2, 0)]
        );

        // A recall of an older call (a2 at window 2) also moves it to the top.
        h.go(0, 9, 6);
        let t6 = h.now;
        assert_eq!(h.recall(2), 1);
        assert_eq!(
            Vec::from(h.tally().recent_calls.clone()),
            vec![call(a2, 2, t6, 1), call(a3, 1, t5, 0), call(a1, 1, t4, 2)]
        );
    }

    #[test]
    fn a_call_after_a_no_show_replaces_the_entry_and_resets_the_recalls() {
        let mut h = H::at(9, 0);
        let a1 = h.issue("plain");
        let a2 = h.issue("plain");
        h.go(0, 9, 1);
        assert_eq!(h.call(1), a1);
        h.recall(1);
        h.ok(&staff(1), Command::NoShow { window: 1 });
        assert_eq!(h.hall.ticket(a1).expect("a1").status, TicketStatus::Waiting);
        // Requeued behind one ticket: a2 comes first, then a1 again.
        h.go(0, 9, 2);
        let t2 = h.now;
        assert_eq!(h.call(1), a2);
        h.start(1);
        h.finish(1);
        h.go(0, 9, 3);
        let t3 = h.now;
        assert_eq!(h.call(1), a1);
        assert_eq!(
            Vec::from(h.tally().recent_calls.clone()),
            vec![call(a1, 1, t3, 0), call(a2, 1, t2, 0)]
        );
    }

    #[test]
    fn recent_calls_keep_the_last_twenty() {
        let mut h = H::at(9, 0);
        let ids: Vec<TicketId> = (0..25).map(|_| h.issue("plain")).collect();
        let mut times = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            h.go(0, 9, 1 + i as u32);
            times.push(h.now);
            assert_eq!(h.call(1), *id);
            h.start(1);
            h.finish(1);
        }
        let recent = Vec::from(h.tally().recent_calls.clone());
        assert_eq!(recent.len(), RECENT_CALLS_MAX);
        assert_eq!(RECENT_CALLS_MAX, 20);
        let want: Vec<RecentCall> = (5..25)
            .rev()
            .map(|i| call(ids[i], 1, times[i], 0))
            .collect();
        assert_eq!(recent, want, "the 20 newest, newest first");
    }

    #[test]
    fn a_new_business_day_clears_the_tally() {
        let mut h = H::at(9, 0);
        h.issue("plain");
        h.issue("plain");
        h.go(0, 9, 10);
        h.call(1);
        h.start(1);
        h.go(0, 9, 20);
        h.finish(1);
        h.call(2);
        h.ok(&staff(2), Command::NoShow { window: 2 });
        let t = h.tally().clone();
        assert_eq!(t.issued, 2);
        assert_eq!(t.served, 1);
        assert_eq!(t.no_show, 1);
        assert_eq!(t.recent_calls.len(), 2);
        assert_eq!(t.hours[9].arrivals, 2);
        assert_eq!(t.staff.len(), 1);

        // Tuesday: the calendar ends Monday and opens Tuesday.
        h.go(1, 8, 0);
        assert!(
            h.log
                .iter()
                .any(|(e, _)| matches!(e, Event::DayOpened { date } if *date == monday() + Duration::days(1))),
            "the calendar opened Tuesday"
        );
        assert_eq!(h.tally(), &DayTally::default());
        // And counts afresh.
        h.issue("plain");
        assert_eq!(h.tally().issued, 1);
        assert_eq!(h.tally().hours[8].arrivals, 1);
        assert_eq!(h.tally().hours[9].arrivals, 0);
    }

    #[test]
    fn hours_are_the_halls_local_hours() {
        // 01:00 UTC is 09:00 in Shanghai.
        let mut h = H::at(9, 0);
        assert_eq!(h.now, utc(1, 0));

        h.set(utc(1, 30));
        let first = h.issue("plain");
        assert_eq!(h.tally().hours[9].arrivals, 1, "01:30 UTC is 09:30 local");
        assert_eq!(h.tally().hours[1].arrivals, 0);

        h.set(utc(2, 10));
        let second = h.issue("plain");
        assert_eq!(h.tally().hours[10].arrivals, 1);

        // Waits are counted in the hour of the call, not of the issue.
        h.set(utc(2, 15));
        assert_eq!(h.call(1), first);
        let hours = h.tally().hours;
        assert_eq!(
            hours[10],
            HourTally {
                arrivals: 1,
                called: 1,
                wait_ms_total: 45 * MINUTE_MS,
                wait_ms_max: 45 * MINUTE_MS,
            }
        );
        assert_eq!(
            hours[9],
            HourTally {
                arrivals: 1,
                called: 0,
                wait_ms_total: 0,
                wait_ms_max: 0,
            }
        );
        h.set(utc(2, 40));
        assert_eq!(h.call(2), second);
        assert_eq!(
            h.tally().hours[10],
            HourTally {
                arrivals: 1,
                called: 2,
                wait_ms_total: 75 * MINUTE_MS,
                wait_ms_max: 45 * MINUTE_MS,
            }
        );

        // 15:59 UTC is 23:59 local, still Monday.
        h.set(utc(15, 59));
        h.issue("plain");
        assert_eq!(h.tally().hours[23].arrivals, 1);
        assert_eq!(h.tally().hours[15].arrivals, 0);
        assert_eq!(h.tally().issued, 3);
        let arrivals: u32 = h.tally().hours.iter().map(|x| x.arrivals).sum();
        assert_eq!(arrivals, 3);
    }

    #[test]
    fn a_ticket_requeued_after_a_no_show_counts_its_wait_once() {
        let mut h = H::at(9, 0);
        let a = h.issue("plain");
        h.go(0, 9, 10);
        assert_eq!(h.call(1), a);
        h.go(0, 9, 12);
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
        assert_eq!(h.hall.ticket(a).expect("a").status, TicketStatus::Waiting);
        h.go(0, 10, 20);
        assert_eq!(h.call(2), a, "the same ticket, called again");

        let t = h.tally();
        assert_eq!(
            t.hours[9],
            HourTally {
                arrivals: 1,
                called: 1,
                wait_ms_total: 10 * MINUTE_MS,
                wait_ms_max: 10 * MINUTE_MS,
            }
        );
        assert_eq!(t.hours[10], HourTally::default(), "not counted again");
        let called: u32 = t.hours.iter().map(|x| x.called).sum();
        assert_eq!(called, 1);
        assert_eq!(t.no_show, 1);
        assert_eq!(t.issued, 1);
        assert_eq!(
            Vec::from(t.recent_calls.clone()),
            vec![call(a, 2, h.now, 0)]
        );
    }

    #[test]
    fn the_next_step_of_a_flow_is_served_again_but_waits_once() {
        let mut h = H::at(9, 0);
        let d = h.issue("accept");
        h.go(0, 9, 5);
        assert_eq!(h.call(1), d);
        h.start(1);
        h.go(0, 9, 15);
        h.finish(1);
        assert_eq!(h.hall.ticket(d).expect("d").service, "pay");
        h.go(0, 9, 30);
        assert_eq!(h.call(2), d);
        h.start(2);
        h.go(0, 9, 33);
        h.finish(2);

        let t = h.tally();
        assert_eq!(t.hours[9].called, 1, "one first call");
        assert_eq!(t.hours[9].wait_ms_total, 5 * MINUTE_MS);
        assert_eq!(t.served, 2, "each finished step");
        assert_eq!(
            t.staff.get("s1"),
            Some(&StaffTally {
                served: 1,
                timed: 1,
                service_ms_total: 10 * MINUTE_MS,
            })
        );
        assert_eq!(
            t.staff.get("s2"),
            Some(&StaffTally {
                served: 1,
                timed: 1,
                service_ms_total: 3 * MINUTE_MS,
            })
        );
    }

    #[test]
    fn staff_figures_count_every_finish_and_time_only_started_ones() {
        let mut h = H::at(9, 0);
        let a = h.issue("plain");
        let b = h.issue("plain");
        h.go(0, 9, 5);
        assert_eq!(h.call(1), a);
        h.go(0, 9, 6);
        h.start(1);
        h.go(0, 9, 16);
        h.finish(1);
        assert_eq!(
            h.tally().staff.get("s1"),
            Some(&StaffTally {
                served: 1,
                timed: 1,
                service_ms_total: 10 * MINUTE_MS,
            })
        );

        // b is called but never started; a finish without a start (an older
        // journal) counts as served, not timed.
        h.go(0, 9, 20);
        assert_eq!(h.call(1), b);
        h.go(0, 9, 40);
        let finished = Event::TicketFinished {
            ticket: b,
            window: 1,
            staff: "s1".into(),
            outcome: Outcome::Done,
            reason: None,
            next_step: None,
        };
        h.hall.evolve(&finished, h.now);
        let t = h.tally();
        assert_eq!(
            t.staff.get("s1"),
            Some(&StaffTally {
                served: 2,
                timed: 1,
                service_ms_total: 10 * MINUTE_MS,
            })
        );
        assert_eq!(t.staff.get("s2"), None, "s2 finished nothing");
        assert_eq!(t.served, 2);
        assert_eq!(t.staff.len(), 1);
    }

    #[test]
    fn events_about_unknown_tickets_change_nothing() {
        let mut h = H::at(9, 0);
        h.issue("plain");
        let before = h.tally().clone();
        let ghost = TicketId(999);
        let events = [
            Event::TicketCalled {
                ticket: ghost,
                window: 1,
                staff: "s1".into(),
                rule: crate::queue::CallRule::Routed,
                reason: None,
            },
            Event::TicketRecalled {
                ticket: ghost,
                window: 1,
                recall: 1,
            },
            Event::TicketFinished {
                ticket: ghost,
                window: 1,
                staff: "s1".into(),
                outcome: Outcome::Done,
                reason: None,
                next_step: None,
            },
            Event::TicketNoShow {
                ticket: ghost,
                window: 1,
                staff: "s1".into(),
                requeue: None,
            },
        ];
        for e in &events {
            h.hall.evolve(e, h.now);
        }
        assert_eq!(h.tally(), &before);
    }

    #[test]
    fn replaying_the_events_gives_the_same_tally() {
        let mut h = H::at(9, 0);
        let a = h.issue("plain");
        let d = h.issue("accept");
        h.issue("plain");
        h.go(0, 9, 7);
        assert_eq!(h.call(1), a);
        h.recall(1);
        h.start(1);
        h.go(0, 9, 19);
        h.finish(1);
        h.go(0, 10, 2);
        assert_eq!(h.call(2), d);
        h.start(2);
        h.go(0, 10, 30);
        h.finish(2);
        h.go(0, 10, 31);
        h.call(1);
        h.ok(&staff(1), Command::NoShow { window: 1 });
        h.go(0, 11, 0);
        h.call(2);
        assert!(h.tally().served >= 2 && h.tally().no_show == 1);

        let mut replayed = Hall::new(h.hall.config().clone());
        for (e, at) in &h.log {
            replayed.evolve(e, *at);
        }
        assert_eq!(replayed.state().tally, h.hall.state().tally);
        assert!(
            replayed.state() == h.hall.state(),
            "the whole state replays"
        );
    }
}
