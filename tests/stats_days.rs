//! Statistics checked against hand-computed expectations on scripted days.
//!
//! The days are played through the real core (`Hall::apply` with commands at
//! explicit hall-local times); every event is written to a real journal
//! (`Journal::append`), and the statistics are folded back from that journal
//! (`stats::from_reader`), as `hallq report` does. Every expected number is
//! derived by hand in the comment beside it.
//!
//! The hall: zones z1 (windows 1, 2, 5) and z2 (windows 3, 4); departments
//! civil (民政) and estate (不动产); service `marry` (A, civil, target 15 min,
//! windows 1 and 5) and the four-step flow e1 → e2 → e3 → e4 (B…, estate,
//! target 10 min; window 2: e1, window 3: e2 and e3, window 4: e4). Sessions
//! Mon–Fri 08:30–11:30 and 13:00–17:00 (Asia/Shanghai).

use std::path::Path;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime};
use hallq::config::Config;
use hallq::journal::{Journal, JournalReader, NewRecord};
use hallq::queue::{
    Actor, Command, Event, Hall, IssueSource, Millis, Outcome, PauseReason, Rating, TicketId,
    TransferTarget, calendar,
};
use hallq::report::Cell;
use hallq::stats::{self, Figures, Group, Period, StatsReport};

const HALL_TOML: &str = r#"
[hall]
name = "统计测试中心"
timezone = "Asia/Shanghai"

[[zone]]
id = "z1"
name = "一楼大厅"
floor = 1

[[zone]]
id = "z2"
name = "二楼不动产区"
floor = 2

[[department]]
id = "civil"
name = "民政局"

[[department]]
id = "estate"
name = "不动产登记中心"

[[service]]
id = "marry"
name = "婚姻登记"
department = "civil"
prefix = "A"
matter_class = "immediate"
expected_minutes = 10
target_wait_minutes = 15

[[service]]
id = "e1"
name = "查档"
department = "estate"
prefix = "B"
matter_class = "commitment"
promised_days = 5
expected_minutes = 10
target_wait_minutes = 10
next_step = "e2"

[[service]]
id = "e2"
name = "审核"
department = "estate"
prefix = "C"
matter_class = "commitment"
promised_days = 5
expected_minutes = 10
target_wait_minutes = 10
next_step = "e3"

[[service]]
id = "e3"
name = "缴费"
department = "estate"
prefix = "D"
matter_class = "immediate"
expected_minutes = 5
target_wait_minutes = 10
next_step = "e4"

[[service]]
id = "e4"
name = "领证"
department = "estate"
prefix = "E"
matter_class = "immediate"
expected_minutes = 5
target_wait_minutes = 10

[[window]]
number = 1
name = "民政一号"
kind = "department"
department = "civil"
zone = "z1"
services = [{ service = "marry" }]

[[window]]
number = 2
name = "不动产受理"
kind = "department"
department = "estate"
zone = "z1"
services = [{ service = "e1" }]

[[window]]
number = 3
name = "不动产审核缴费"
kind = "department"
department = "estate"
zone = "z2"
services = [{ service = "e2" }, { service = "e3" }]

[[window]]
number = 4
name = "不动产出证"
kind = "pickup"
department = "estate"
zone = "z2"
services = [{ service = "e4" }]

[[window]]
number = 5
name = "民政二号"
kind = "department"
department = "civil"
zone = "z1"
services = [{ service = "marry" }]

[[staff]]
account = "s1"
job_number = "M001"
name = "张三"
department = "civil"

[[staff]]
account = "s2"
job_number = "E001"
name = "李四"
department = "estate"

[[staff]]
account = "s3"
job_number = "E002"
name = "王五"
department = "estate"

[[staff]]
account = "s4"
job_number = "E003"
name = "赵六"
department = "estate"

[[staff]]
account = "s5"
job_number = "M002"
name = "钱七"
department = "civil"

[calendar]
[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "08:30"
to = "11:30"

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "13:00"
to = "17:00"

[stats]
wait_thresholds_minutes = [15, 30]
followup_days = 5
ranking_min_rated = 1
"#;

const MIN: i64 = 60_000;

fn config() -> Arc<Config> {
    Arc::new(Config::from_toml_str("stats-test.toml", HALL_TOML).expect("test hall config"))
}

/// Drives the core and writes each event to the journal.
struct Script {
    hall: Hall,
    journal: Journal,
    date: NaiveDate,
}

impl Script {
    fn new(config: Arc<Config>, path: &Path) -> Script {
        Script {
            hall: Hall::new(config),
            journal: Journal::open(path).expect("open journal"),
            date: NaiveDate::default(),
        }
    }

    fn at(&self, hhmm: &str) -> Millis {
        let t = NaiveTime::parse_from_str(hhmm, "%H:%M").expect("HH:MM");
        calendar::instant(self.hall.config().tz, self.date.and_time(t))
    }

    /// Applies `command` at `hhmm` on the current date; it must succeed.
    fn run(&mut self, actor: Actor, command: Command, hhmm: &str) -> Vec<Event> {
        let at = self.at(hhmm);
        let events = self
            .hall
            .apply(&actor, &command, at)
            .unwrap_or_else(|r| panic!("{hhmm} {command:?} refused: {r:?}"));
        let payloads: Vec<(String, &'static str)> = events
            .iter()
            .map(|e| (serde_json::to_string(e).expect("event json"), e.kind()))
            .collect();
        let actor_label = actor.label();
        let records: Vec<NewRecord<'_>> = payloads
            .iter()
            .map(|(p, kind)| NewRecord {
                at_ms: at,
                actor: &actor_label,
                client: "test",
                kind,
                payload: p,
            })
            .collect();
        if !records.is_empty() {
            self.journal.append(&records).expect("append");
        }
        events
    }

    fn sys(&mut self, command: Command, hhmm: &str) -> Vec<Event> {
        self.run(Actor::System, command, hhmm)
    }

    fn staff(&mut self, who: &str, command: Command, hhmm: &str) -> Vec<Event> {
        self.run(Actor::Staff(who.into()), command, hhmm)
    }

    fn issue(&mut self, service: &str, hhmm: &str) -> TicketId {
        let events = self.run(
            Actor::Kiosk("k1".into()),
            Command::Issue {
                service: service.into(),
                priority: None,
                person: None,
                source: IssueSource::Kiosk,
                cases: 1,
            },
            hhmm,
        );
        match events.first() {
            Some(Event::TicketIssued { ticket, .. }) => *ticket,
            other => panic!("not issued: {other:?}"),
        }
    }

    /// Calls the next ticket at `window` and returns it.
    fn call(&mut self, who: &str, window: u32, hhmm: &str) -> TicketId {
        match self.staff(who, Command::CallNext { window }, hhmm).first() {
            Some(Event::TicketCalled { ticket, .. }) => *ticket,
            other => panic!("{hhmm}: nothing called at window {window}: {other:?}"),
        }
    }

    fn finish(
        &mut self,
        who: &str,
        window: u32,
        outcome: Outcome,
        reason: Option<&str>,
        hhmm: &str,
    ) {
        self.staff(
            who,
            Command::Finish {
                window,
                outcome,
                reason: reason.map(str::to_string),
            },
            hhmm,
        );
    }

    fn rate(&mut self, window: u32, ticket: TicketId, rating: Option<Rating>, hhmm: &str) {
        self.sys(
            Command::Rate {
                window,
                ticket,
                rating,
            },
            hhmm,
        );
    }

    fn open_day(&mut self, date: NaiveDate) {
        self.date = date;
        self.sys(Command::OpenDay { date }, "08:00");
    }
}

fn d(m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, day).unwrap()
}

/// Tuesday 24 November 2026 (the scripted day; times are hall-local).
fn day_one(s: &mut Script) {
    use Outcome::*;
    s.open_day(d(11, 24));
    s.staff("s1", Command::SignIn { window: 1 }, "08:25");
    s.sys(Command::OpenSession { slot: Some(0) }, "08:30");
    s.staff("s3", Command::SignIn { window: 3 }, "08:30");
    s.staff("s4", Command::SignIn { window: 4 }, "08:30");
    s.staff("s2", Command::SignIn { window: 2 }, "08:35"); // 5 min late
    let a001 = s.issue("marry", "08:40");
    s.staff("s5", Command::SignIn { window: 5 }, "08:45"); // 15 min late
    assert_eq!(s.call("s1", 1, "08:50"), a001); // wait 10
    s.staff("s1", Command::Start { window: 1 }, "08:52");
    let a002 = s.issue("marry", "09:00");
    s.finish("s1", 1, Done, None, "09:02"); // service 10
    s.rate(1, a001, Some(Rating::VerySatisfied), "09:03");
    // A002: called, recalled, no-show re-queued, called again, served, rejected.
    assert_eq!(s.call("s5", 5, "09:05"), a002); // wait 5 (the only wait of A002)
    s.staff("s5", Command::Recall { window: 5 }, "09:06");
    let ev = s.staff("s5", Command::NoShow { window: 5 }, "09:08");
    assert!(
        matches!(
            ev[0],
            Event::TicketNoShow {
                requeue: Some(_),
                ..
            }
        ),
        "{ev:?}"
    );
    assert_eq!(s.call("s5", 5, "09:10"), a002);
    s.staff("s5", Command::Start { window: 5 }, "09:11");
    s.finish("s5", 5, Rejected, Some("材料过期"), "09:21"); // service 10
    s.rate(5, a002, Some(Rating::Dissatisfied), "09:22");
    // B001: the 不动产 flow, with a transfer that skips 缴费.
    let b001 = s.issue("e1", "09:30");
    assert_eq!(s.call("s2", 2, "09:32"), b001); // wait 2
    s.staff("s2", Command::Start { window: 2 }, "09:33");
    s.finish("s2", 2, Done, None, "09:43"); // service 10; next step e2
    s.rate(2, b001, Some(Rating::Satisfied), "09:44"); // rates e1, not e2
    assert_eq!(s.call("s3", 3, "09:47"), b001); // walk 4
    s.staff("s3", Command::Start { window: 3 }, "09:48");
    s.staff(
        "s3",
        Command::Transfer {
            window: 3,
            to: TransferTarget::Service("e4".into()),
            reason: Some("免缴费".into()),
        },
        "09:50",
    );
    assert_eq!(s.call("s4", 4, "09:55"), b001); // wait 5 from the transfer
    s.staff("s4", Command::Start { window: 4 }, "09:56");
    let a003 = s.issue("marry", "10:00"); // cancelled at 10:03
    s.finish("s4", 4, Done, None, "10:01"); // service 5; the flow ends
    s.rate(4, b001, Some(Rating::VerySatisfied), "10:02");
    s.run(
        Actor::Manager("boss".into()),
        Command::Cancel { ticket: a003 },
        "10:03",
    );
    // Lunch: window 5 pauses 11:15–13:05, window 1 pauses 11:25–13:10.
    s.staff(
        "s5",
        Command::Pause {
            window: 5,
            reason: PauseReason::Lunch,
        },
        "11:15",
    );
    let a004 = s.issue("marry", "11:20");
    s.staff(
        "s1",
        Command::Pause {
            window: 1,
            reason: PauseReason::Lunch,
        },
        "11:25",
    );
    s.sys(Command::CloseSession, "11:30");
    s.sys(Command::OpenSession { slot: Some(1) }, "13:00");
    s.staff("s5", Command::Resume { window: 5 }, "13:05");
    assert_eq!(s.call("s5", 5, "13:05"), a004); // wait 105, across lunch
    s.staff("s5", Command::Start { window: 5 }, "13:06");
    s.staff("s1", Command::Resume { window: 1 }, "13:10");
    s.finish("s5", 5, Done, None, "13:16"); // service 10
    s.rate(5, a004, None, "13:17"); // not rated
    s.staff("s1", Command::SignOut { window: 1 }, "16:30"); // 30 min early
    s.staff(
        "s5",
        Command::Pause {
            window: 5,
            reason: PauseReason::Meeting,
        },
        "16:40",
    );
    // B002 served after the session closed (延时服务).
    let b002 = s.issue("e1", "16:50");
    let a005 = s.issue("marry", "16:55");
    s.sys(Command::CloseSession, "17:00");
    assert_eq!(s.call("s2", 2, "17:05"), b002); // wait 15
    s.staff("s2", Command::Start { window: 2 }, "17:06");
    s.finish("s2", 2, Incomplete, None, "17:20"); // service 14
    s.staff("s2", Command::SignOut { window: 2 }, "17:25");
    let ev = s.sys(Command::EndDay, "18:00"); // A005 expires; s3, s4, s5 signed out
    assert!(
        matches!(&ev[0], Event::DayEnded { expired, .. } if expired == &vec![a005]),
        "{ev:?}"
    );
}

/// Wednesday 25 November 2026: one ticket, parked and taken back.
fn day_two(s: &mut Script) {
    s.open_day(d(11, 25));
    s.sys(Command::OpenSession { slot: Some(0) }, "08:30");
    s.staff("s1", Command::SignIn { window: 1 }, "08:30");
    let a001 = s.issue("marry", "09:00");
    assert_eq!(s.call("s1", 1, "09:10"), a001); // wait 10, idle 10
    s.staff("s1", Command::Start { window: 1 }, "09:11");
    s.staff("s1", Command::Park { window: 1 }, "09:12");
    s.staff(
        "s1",
        Command::Unpark {
            window: 1,
            number: "A001".into(),
        },
        "09:20",
    );
    s.finish("s1", 1, Outcome::Done, None, "09:25"); // service 14 (start → finish)
    s.rate(1, a001, Some(Rating::Satisfied), "09:26");
    s.staff("s1", Command::SignOut { window: 1 }, "11:00");
    s.sys(Command::EndDay, "18:00");
}

struct Days {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    config: Arc<Config>,
}

fn play(days: &[fn(&mut Script)]) -> Days {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("journal.sqlite3");
    let config = config();
    let mut s = Script::new(config.clone(), &path);
    for day in days {
        day(&mut s);
    }
    Days {
        _dir: dir,
        path,
        config,
    }
}

fn report(days: &Days, kind: &str, value: &str) -> StatsReport {
    let reader = JournalReader::open(&days.path).expect("reader");
    let period = Period::parse(kind, value).expect("period");
    stats::from_reader(days.config.clone(), &reader, &period).expect("stats")
}

fn group<'a>(groups: &'a [Group], id: &str) -> &'a Figures {
    &groups
        .iter()
        .find(|g| g.id == id)
        .unwrap_or_else(|| panic!("no group {id}"))
        .figures
}

fn mins(ms: i64) -> f64 {
    ms as f64 / MIN as f64
}

#[test]
fn scripted_day_hall_figures() {
    let days = play(&[day_one]);
    let r = report(&days, "day", "2026-11-24");
    let h = &r.hall;
    // Issued: A001–A005 and B001, B002.
    assert_eq!(h.issued, 7);
    // Calls: A001, A002 twice, A004, B001 at e1, e2 and e4, B002 = 8.
    assert_eq!(h.called, 8);
    // Finishes: A001, A002, A004, B001@e1, B001@e4, B002 (B001@e2 was transferred).
    assert_eq!(h.served, 6);
    assert_eq!((h.no_show, h.no_show_final), (1, 0), "A002 came back");
    assert_eq!(h.recalls, 1);
    assert_eq!(h.transferred, 1);
    assert_eq!(h.parked, 0);
    assert_eq!(h.cancelled, 1, "A003");
    assert_eq!(h.expired, 1, "A005");
    // Outcomes: done A001, A004, B001@e1, B001@e4; rejected A002; incomplete B002.
    assert_eq!(h.outcomes.done, 4);
    assert_eq!(h.outcomes.rejected, 1);
    assert_eq!(h.outcomes.rejected_by_reason.get("材料过期"), Some(&1));
    assert_eq!(h.outcomes.incomplete, 1);
    assert_eq!(
        h.outcomes.accepted + h.outcomes.reported_up + h.outcomes.wrong_jurisdiction,
        0
    );

    // Waits (issue or transfer → first call), minutes: A001 10, A002 5 (one
    // wait despite the re-queue), A004 105 (across lunch), B001@e1 2,
    // B001@e4 5 (from the transfer at 09:50), B002 15.
    // Sorted: 2, 5, 5, 10, 15, 105; total 142.
    let w = &h.wait;
    assert_eq!(w.count, 6);
    assert_eq!(w.total_ms, 142 * MIN);
    assert!((w.mean_ms.unwrap() - 142.0 * MIN as f64 / 6.0).abs() < 1e-6);
    // Nearest rank: median = rank ceil(0.5·6) = 3 → 5; p90 = rank ceil(5.4) = 6 → 105.
    assert_eq!(w.median_ms, Some(5 * MIN));
    assert_eq!(w.p90_ms, Some(105 * MIN));
    assert_eq!(w.max_ms, Some(105 * MIN));
    // Within target: marry 15 → A001 10 ✓, A002 5 ✓, A004 105 ✗; e1/e4 10 →
    // B001 2 ✓, B001@e4 5 ✓, B002 15 ✗ → 4 of 6.
    assert_eq!(w.within_target, 4);
    // Within 15 min: all but 105 → 5; within 30: also 5.
    assert_eq!(
        w.within
            .iter()
            .map(|x| (x.minutes, x.count))
            .collect::<Vec<_>>(),
        vec![(15, 5), (30, 5)]
    );
    // Walk: B001 finished e1 at 09:43, called for e2 at 09:47 → 4.
    assert_eq!(h.walk.count, 1);
    assert_eq!(h.walk.max_ms, Some(4 * MIN));
    // Service (start → finish): 10, 10, 10 (A004), 10 (B001@e1), 5 (B001@e4), 14 (B002) = 59.
    assert_eq!(h.service.count, 6);
    assert_eq!(h.service.total_ms, 59 * MIN);
    assert_eq!(h.service.max_ms, Some(14 * MIN));
    // Sorted 5, 10, 10, 10, 10, 14: median rank 3 → 10.
    assert_eq!(h.service.median_ms, Some(10 * MIN));

    // Idle while people waited, window by window (see idle_while_waiting_per_window): 23+17+4+5+15.
    assert_eq!(h.idle_while_waiting_ms, 64 * MIN);
    // Paused: lunch window 5 11:15–13:05 (110) + window 1 11:25–13:10 (105);
    // meeting window 5 16:40 until the day-end sweep at 18:00 (80).
    assert_eq!(h.paused_ms.lunch, 215 * MIN);
    assert_eq!(h.paused_ms.meeting, 80 * MIN);
    assert_eq!(h.paused_ms.break_ + h.paused_ms.out_of_supplies, 0);

    // Ratings: 非常满意 A001 and B001@e4, 满意 B001@e1, 不满意 A002, not rated A004.
    let rt = &h.ratings;
    assert_eq!(
        (rt.very_satisfied, rt.satisfied, rt.dissatisfied),
        (2, 1, 1)
    );
    assert_eq!(
        (rt.rated, rt.not_rated, rt.positive, rt.negative),
        (4, 1, 3, 1)
    );
    assert_eq!(rt.rated_share, Some(0.8)); // 4 / 5
    assert_eq!(rt.satisfaction_rate, Some(0.75)); // 3 / 4

    // The day's figures are the hall's (one business day).
    assert_eq!(r.days.len(), 1);
    assert_eq!(r.days[0].date, d(11, 24));
    assert_eq!(&r.days[0].figures, h);
}

#[test]
fn idle_while_waiting_per_window() {
    let days = play(&[day_one]);
    let r = report(&days, "day", "2026-11-24");
    let idle = |n: &str| mins(group(&r.windows, n).idle_while_waiting_ms);
    // Window 1 (s1 from 08:25): A001 waits 08:40–08:50 (10); A002 waits 09:02
    // (window 1 free) – 09:05 (3) and again after the no-show 09:08–09:10 (2);
    // A003 10:00–10:03 (3); A004 11:20 until window 1 pauses at 11:25 (5) = 23.
    assert_eq!(idle("1"), 23.0);
    // Window 5 (s5 from 08:45): A001 08:45–08:50 (5); A002 09:00–09:05 (5),
    // 09:08–09:10 (2); A003 10:00–10:03 (3); paused while A004 and A005 wait = 15.
    assert_eq!(idle("5"), 15.0);
    // Window 2: B001 09:30–09:32 (2); B002 16:50–17:05 (15) = 17.
    assert_eq!(idle("2"), 17.0);
    // Window 3: B001 waits for e2 09:43–09:47 = 4. Window 4: B001 waits for e4 09:50–09:55 = 5.
    assert_eq!(idle("3"), 4.0);
    assert_eq!(idle("4"), 5.0);
    // Staff carry their windows' idle; zones sum their windows: z1 = 23+17+15, z2 = 4+5.
    assert_eq!(mins(group(&r.staff, "s1").idle_while_waiting_ms), 23.0);
    assert_eq!(mins(group(&r.zones, "z1").idle_while_waiting_ms), 55.0);
    assert_eq!(mins(group(&r.zones, "z2").idle_while_waiting_ms), 9.0);
    // Departments by the window's department: civil 1+5 = 38, estate 2+3+4 = 26.
    assert_eq!(
        mins(group(&r.departments, "civil").idle_while_waiting_ms),
        38.0
    );
    assert_eq!(
        mins(group(&r.departments, "estate").idle_while_waiting_ms),
        26.0
    );
    // Paused by window: 1 lunch 105; 5 lunch 110 + meeting 80.
    assert_eq!(mins(group(&r.windows, "1").paused_ms.lunch), 105.0);
    assert_eq!(mins(group(&r.windows, "5").paused_ms.lunch), 110.0);
    assert_eq!(mins(group(&r.windows, "5").paused_ms.meeting), 80.0);
}

#[test]
fn flow_transfer_and_no_show_attribution() {
    let days = play(&[day_one]);
    let r = report(&days, "day", "2026-11-24");
    // e1: issued B001, B002; both called and finished at window 2; waits 2 and 15.
    let e1 = group(&r.services, "e1");
    assert_eq!((e1.issued, e1.called, e1.served), (2, 2, 2));
    assert_eq!(e1.wait.samples_ms, vec![2 * MIN, 15 * MIN]);
    // The 满意 of 09:44 rates the e1 visit (B001's current service was already e2).
    assert_eq!(e1.ratings.satisfied, 1);
    assert_eq!(e1.outcomes.done, 1);
    assert_eq!(e1.outcomes.incomplete, 1);
    // e2: called once (a walk of 4, not a wait), transferred once, nothing issued or served.
    let e2 = group(&r.services, "e2");
    assert_eq!(
        (e2.issued, e2.called, e2.served, e2.transferred),
        (0, 1, 0, 1)
    );
    assert_eq!((e2.wait.count, e2.walk.count), (0, 1));
    assert_eq!(e2.ratings.rated, 0);
    // e3 was skipped by the transfer: no group at all.
    assert!(r.services.iter().all(|g| g.id != "e3"));
    // e4: a new visit from the transfer (09:50 → 09:55 = a wait of 5, within its 10).
    let e4 = group(&r.services, "e4");
    assert_eq!((e4.called, e4.served, e4.wait.within_target), (1, 1, 1));
    assert_eq!(e4.wait.samples_ms, vec![5 * MIN]);
    assert_eq!(e4.ratings.very_satisfied, 1);
    // The transfer counts on the transferring window and staff member.
    assert_eq!(group(&r.windows, "3").transferred, 1);
    assert_eq!(group(&r.staff, "s3").transferred, 1);
    assert_eq!(group(&r.windows, "4").transferred, 0);
    // Department estate: issued 2 (e1 only), calls 4 (B001 ×3, B002), served 3.
    let estate = group(&r.departments, "estate");
    assert_eq!((estate.issued, estate.called, estate.served), (2, 4, 3));
    // A002 at window 5: two calls, one recall, one no-show (re-queued), served once,
    // and its wait is the first call's (5), counted once.
    let w5 = group(&r.windows, "5");
    assert_eq!(
        (w5.called, w5.recalls, w5.no_show, w5.no_show_final),
        (3, 1, 1, 0)
    );
    assert_eq!(w5.served, 2, "A002 and A004");
    assert_eq!(w5.wait.samples_ms, vec![5 * MIN, 105 * MIN]);
    // Zones do not count issued tickets (nobody there has seen them yet).
    assert_eq!(group(&r.zones, "z1").issued, 0);
    // marry: issued 5; cancelled A003 and expired A005 count on the service.
    let marry = group(&r.services, "marry");
    assert_eq!((marry.issued, marry.cancelled, marry.expired), (5, 1, 1));
    assert_eq!(group(&r.departments, "civil").issued, 5);
}

#[test]
fn extended_service_counts_for_its_business_day() {
    let days = play(&[day_one]);
    let r = report(&days, "day", "2026-11-24");
    // B002 was served 17:06–17:20, after the session closed at 17:00.
    let w2 = group(&r.windows, "2");
    assert_eq!(w2.served, 2);
    assert_eq!(w2.service.max_ms, Some(14 * MIN));
    // The next day's report does not see it.
    let days2 = play(&[day_one, day_two]);
    let r2 = report(&days2, "day", "2026-11-25");
    assert!(r2.windows.iter().all(|g| g.id != "2"));
    assert_eq!(r2.hall.issued, 1);
}

#[test]
fn evaluations_and_follow_up_deadline() {
    let days = play(&[day_one]);
    let r = report(&days, "day", "2026-11-24");
    let listed: Vec<(u32, &str, &str)> = r
        .evaluations
        .iter()
        .map(|e| (e.window, e.number.as_str(), e.rating_name.as_str()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (1, "A001", "非常满意"),
            (5, "A002", "不满意"),
            (2, "B001", "满意"),
            (4, "B001", "非常满意"),
            (5, "A004", "未评价"),
        ]
    );
    // Ids are journal seqs, ascending and unique.
    assert!(r.evaluations.windows(2).all(|p| p[0].id < p[1].id));
    // The e1 rating names the e1 service and its department, and the staff member.
    let b = &r.evaluations[2];
    assert_eq!(
        (b.service.as_str(), b.service_name.as_str()),
        ("e1", "查档")
    );
    assert_eq!(
        (b.staff_name.as_str(), b.job_number.as_str()),
        ("李四", "E001")
    );
    assert_eq!(b.date, "2026-11-24");
    // One follow-up: A002's 不满意 on Tue 24 Nov; 5 working days later:
    // Wed 25, Thu 26, Fri 27, (weekend), Mon 30, Tue 1 Dec.
    assert_eq!(r.followups.len(), 1);
    let f = &r.followups[0];
    assert_eq!(f.evaluation.number, "A002");
    assert_eq!(f.rated_on, d(11, 24));
    assert_eq!(f.deadline, d(12, 1));
    assert_eq!(f.followup_days, 5);
    // Rankings (ranking_min_rated = 1): windows 1 (1 served, 1 positive),
    // 2 (2 served, 1 positive), 4 (1, 1), 5 (2 served, 0 positive of 1 rated).
    // Wilson lower bounds: 1 of 1 = 0.2065 (windows 1 and 4), 1 of 2 = 0.0945, 0 of 2 = 0.
    let ids: Vec<&str> = r.rankings.windows.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, vec!["1", "4", "2", "5"]);
    assert!((r.rankings.windows[0].score - 0.2065).abs() < 1e-3);
    assert!((r.rankings.windows[2].score - 0.0945).abs() < 1e-3);
    assert_eq!(r.rankings.windows[3].score, 0.0);
}

#[test]
fn attendance_against_the_calendar() {
    let days = play(&[day_one]);
    let r = report(&days, "day", "2026-11-24");
    let row = |s: &str| {
        r.attendance
            .iter()
            .find(|a| a.staff == s)
            .unwrap_or_else(|| panic!("no attendance for {s}"))
    };
    // Sessions 08:30–11:30 and 13:00–17:00: 180 + 240 = 420 scheduled minutes.
    let s1 = row("s1");
    assert_eq!(s1.sessions, vec!["08:30–11:30", "13:00–17:00"]);
    assert_eq!(mins(s1.scheduled_ms), 420.0);
    // s1: in at 08:25 (on time), lunch pause 11:25–13:10 (105 − 90 break = 15 long),
    // out at 16:30 (30 early). Present in sessions: 08:30–11:25 (175) + 13:10–16:30 (200) = 375.
    assert_eq!(
        (s1.first_sign_in.as_str(), s1.last_sign_out.as_str()),
        ("08:25:00", "16:30:00")
    );
    assert_eq!(mins(s1.late_start_ms), 0.0);
    assert_eq!(mins(s1.long_lunch_ms), 15.0);
    assert_eq!(mins(s1.early_leave_ms), 30.0);
    assert_eq!(mins(s1.present_in_sessions_ms), 375.0);
    // s2: in at 08:35 (5 late), worked through lunch (0), out 17:25 (not early).
    let s2 = row("s2");
    assert_eq!(
        (
            mins(s2.late_start_ms),
            mins(s2.long_lunch_ms),
            mins(s2.early_leave_ms)
        ),
        (5.0, 0.0, 0.0)
    );
    assert_eq!(mins(s2.present_in_sessions_ms), 175.0 + 240.0);
    // s5: in at 08:45 (15 late), lunch 11:15–13:05 (110 − 90 = 20 long); the meeting
    // pause is not an absence; signed out by the day-end sweep at 18:00 (not early).
    let s5 = row("s5");
    assert_eq!(
        (
            mins(s5.late_start_ms),
            mins(s5.long_lunch_ms),
            mins(s5.early_leave_ms)
        ),
        (15.0, 20.0, 0.0)
    );
    assert_eq!(s5.last_sign_out, "18:00:00");
    // Present: 08:45–11:15 (150) + 13:05–17:00 (235) = 385.
    assert_eq!(mins(s5.present_in_sessions_ms), 385.0);
    assert_eq!(s5.windows, vec![5]);
    assert_eq!(r.attendance.len(), 5);
}

#[test]
fn recomputing_gives_the_same_numbers() {
    let days = play(&[day_one, day_two]);
    // Twice from the same journal.
    let a = report(&days, "month", "2026-11");
    let b = report(&days, "month", "2026-11");
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    // From a backup copy of the journal.
    let backup = days._dir.path().join("backup.sqlite3");
    JournalReader::open(&days.path)
        .unwrap()
        .backup_to(&backup)
        .expect("backup");
    let reader = JournalReader::open(&backup).unwrap();
    let c = stats::from_reader(
        days.config.clone(),
        &reader,
        &Period::parse("month", "2026-11").unwrap(),
    )
    .unwrap();
    assert_eq!(a, c);
    // The month's counts are the sum of its days' counts.
    let d1 = report(&days, "day", "2026-11-24");
    let d2 = report(&days, "day", "2026-11-25");
    let mut sum = d1.hall.clone();
    sum.add(&d2.hall);
    let counts = |f: &Figures| {
        (
            (
                f.issued,
                f.called,
                f.served,
                f.no_show,
                f.transferred,
                f.parked,
                f.cancelled,
                f.expired,
                f.recalls,
            ),
            f.outcomes.clone(),
            (f.wait.count, f.wait.total_ms, f.wait.within_target),
            (f.service.count, f.service.total_ms, f.walk.total_ms),
            (f.idle_while_waiting_ms, f.paused_ms),
            (f.ratings.rated, f.ratings.not_rated, f.ratings.positive),
        )
    };
    sum.wait.summarize(&[15, 30]);
    sum.service.summarize(&[]);
    sum.walk.summarize(&[]);
    assert_eq!(counts(&a.hall), counts(&sum));
    // And each day of the month report is that day's report.
    assert_eq!(a.days.len(), 2);
    assert_eq!(a.days[0].figures, d1.hall);
    assert_eq!(a.days[1].figures, d2.hall);
    // Day two by hand: one ticket, parked once, waited 10, served 09:11–09:25 = 14.
    assert_eq!(d2.hall.parked, 1);
    assert_eq!(d2.hall.wait.samples_ms, vec![10 * MIN]);
    assert_eq!(d2.hall.service.samples_ms, vec![14 * MIN]);
    assert_eq!(mins(d2.hall.idle_while_waiting_ms), 10.0);
    // s1 left at 11:00: 17:00 − 11:00 = 360 minutes early.
    assert_eq!(mins(d2.attendance[0].early_leave_ms), 360.0);
    // The ISO week 2026-W48 (23–29 Nov) holds both days; the week before holds none.
    assert_eq!(report(&days, "week", "2026-W48").hall, a.hall);
    let w47 = report(&days, "week", "2026-W47");
    assert_eq!(
        (w47.hall.issued, w47.hall.served, w47.days.len()),
        (0, 0, 0)
    );
    // The quarter equals the month here.
    assert_eq!(report(&days, "quarter", "2026-Q4").hall, a.hall);
}

#[test]
fn an_unreadable_row_names_its_seq() {
    let days = play(&[day_two]);
    {
        let mut j = Journal::open(&days.path).unwrap();
        j.append(&[NewRecord {
            at_ms: 1,
            actor: "system",
            client: "test",
            kind: "from_the_future",
            payload: r#"{"event":"from_the_future"}"#,
        }])
        .unwrap();
    }
    let reader = JournalReader::open(&days.path).unwrap();
    let last = reader.last_seq().unwrap();
    let err = stats::from_reader(
        days.config.clone(),
        &reader,
        &Period::parse("day", "2026-11-25").unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains(&format!("journal row {last}")), "{err}");
}

#[test]
fn tables_have_chinese_headers_and_the_day_totals() {
    let days = play(&[day_one, day_two]);
    let r = report(&days, "month", "2026-11");
    let t = stats::tables(&r, "统计测试中心");
    let sheets: Vec<&str> = t.iter().map(|t| t.sheet.as_str()).collect();
    assert_eq!(
        sheets,
        vec![
            "汇总",
            "业务统计",
            "窗口统计",
            "人员统计",
            "部门统计",
            "区域统计",
            "评价明细",
            "差评整改",
            "考勤",
            "红旗窗口",
            "服务明星"
        ]
    );
    for table in &t {
        assert!(
            table.title.starts_with("统计测试中心 2026年11月"),
            "{}",
            table.title
        );
        for row in &table.rows {
            assert_eq!(row.len(), table.columns.len(), "{}", table.sheet);
        }
    }
    // 汇总: two days and a total; 取号数 is the first figure column.
    let summary = &t[0];
    assert_eq!(summary.columns[1].zh, "取号数");
    let issued: Vec<&Cell> = summary.rows.iter().map(|r| &r[1]).collect();
    assert_eq!(issued, vec![&Cell::Int(7), &Cell::Int(1), &Cell::Int(8)]);
    // 差评整改 carries the deadline.
    let fu = &t[7];
    let deadline_col = fu.columns.iter().position(|c| c.zh == "整改期限").unwrap();
    assert_eq!(fu.rows[0][deadline_col], Cell::Text("2026-12-01".into()));
}

#[test]
fn a_past_period_stays_the_same_as_the_journal_grows() {
    // Day one computed on a journal of day one only, and again after day two was added.
    let short = play(&[day_one]);
    let long = play(&[day_one, day_two]);
    let a = report(&short, "day", "2026-11-24");
    let b = report(&long, "day", "2026-11-24");
    // The long read stopped at the row that opened day two, right after day one's last row.
    assert_eq!(b.journal_last_seq, a.journal_last_seq + 1);
    // from_reader stopped at day two's day_opened; a collector fed every
    // record of the long journal gives the same figures.
    let reader = JournalReader::open(&long.path).unwrap();
    let mut c = stats::Collector::new(
        long.config.clone(),
        Period::parse("day", "2026-11-24").unwrap(),
    );
    let mut fed = 0;
    reader
        .for_each_from(0, |rec| -> anyhow::Result<()> {
            fed += 1;
            c.feed(&rec)
        })
        .unwrap();
    assert!(c.is_complete());
    let full = c.finish();
    assert_eq!(full.journal_last_seq, fed);
    assert!(b.journal_last_seq < fed, "the early stop read less");
    let strip = |mut r: StatsReport| {
        r.journal_last_seq = 0;
        r
    };
    let b = strip(b);
    assert!(strip(a) == b, "day one changed when day two was added");
    assert!(strip(full) == b, "the early stop and the full fold differ");
}
