//! Desired display content derived from the hall: window indicators from a
//! window's activity, zone boards from the recent calls of the zone.

use std::sync::Arc;

use chrono::NaiveDate;
use hallq::config::Config;
use hallq::devices::board::{BoardCall, TextBoardProfile};
use hallq::devices::desired::{RECENT_PER_ZONE_DEFAULT, RecentCalls, board_for, indicator_for};
use hallq::devices::indicator::{IndicatorMode, WindowIndicatorProfile, WindowShows};
use hallq::queue::{
    Actor, Command, Event, Hall, IssueSource, Millis, Outcome, PauseReason, TicketId, WindowNo,
    calendar,
};

const HALL_TOML: &str = r#"
[hall]
name = "设备测试大厅"
timezone = "Asia/Shanghai"

[[zone]]
id = "east"
name = "东区"
floor = 1

[[zone]]
id = "west"
name = "西区"
floor = 1

[[department]]
id = "office"
name = "管理办"

[[service]]
id = "plain"
name = "普通业务"
department = "office"
prefix = "A"
matter_class = "immediate"
expected_minutes = 5

[[window]]
number = 1
name = "一号窗"
kind = "comprehensive"
department = "office"
zone = "east"
services = [{ service = "plain" }]

[[window]]
number = 2
name = "二号窗"
kind = "comprehensive"
department = "office"
zone = "east"
services = [{ service = "plain" }]

[[window]]
number = 12
name = "十二号窗"
kind = "comprehensive"
department = "office"
zone = "west"
services = [{ service = "plain" }]

[[window]]
number = 4
name = "四号窗"
kind = "comprehensive"
department = "office"
zone = "west"
open = false
services = [{ service = "plain" }]

[[staff]]
account = "s1"
job_number = "P001"
name = "张三"

[[staff]]
account = "s2"
job_number = "P002"
name = "李四"

[[staff]]
account = "s12"
job_number = "P012"
name = "王五"

[calendar]
issue_cutoff_minutes = 30

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "08:30"
to = "17:00"
"#;

struct H {
    hall: Hall,
    now: Millis,
    recent: RecentCalls,
}

fn staff(window: WindowNo) -> Actor {
    Actor::Staff(format!("s{window}"))
}

impl H {
    /// Monday 2026-11-23 at `hh:mm`, nothing applied yet.
    fn fresh(hh: u32, mm: u32) -> H {
        let config =
            Config::from_toml_str("devices_desired", HALL_TOML).unwrap_or_else(|e| panic!("{e}"));
        let tz = config.tz;
        let t = NaiveDate::from_ymd_opt(2026, 11, 23)
            .expect("date")
            .and_hms_opt(hh, mm, 0)
            .expect("time");
        H {
            hall: Hall::new(Arc::new(config)),
            now: calendar::instant(tz, t),
            recent: RecentCalls::default(),
        }
    }

    /// Monday 09:00, the day and session open.
    fn open() -> H {
        let mut h = H::fresh(9, 0);
        while let Some(c) = h.hall.due_lifecycle(h.now) {
            h.ok(&Actor::System, c);
        }
        h
    }

    /// Applies a command (it must pass) and feeds its events to the board buffer.
    fn ok(&mut self, actor: &Actor, command: Command) -> Vec<Event> {
        let shown = format!("{command:?}");
        let events = self
            .hall
            .apply(actor, &command, self.now)
            .unwrap_or_else(|r| panic!("{shown} refused: {r}"));
        for e in &events {
            self.recent.observe(&self.hall, e);
        }
        events
    }

    fn issue(&mut self) -> TicketId {
        let events = self.ok(
            &Actor::Kiosk("kiosk-1".into()),
            Command::Issue {
                service: "plain".into(),
                priority: None,
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

    fn number(&self, id: TicketId) -> String {
        self.hall.ticket(id).expect("ticket").number.to_string()
    }

    fn sign_in(&mut self, window: WindowNo) {
        self.ok(&staff(window), Command::SignIn { window });
    }

    /// Issues one ticket and calls it at `window`; its number.
    fn issue_and_call(&mut self, window: WindowNo) -> String {
        let id = self.issue();
        self.ok(&staff(window), Command::CallNext { window });
        self.number(id)
    }

    fn shows(&self, window: WindowNo) -> WindowShows {
        indicator_for(&self.hall, window)
    }
}

fn calls(v: &[(&str, WindowNo)]) -> Vec<BoardCall> {
    v.iter().map(|&(t, w)| BoardCall::new(t, w)).collect()
}

// --- indicators -------------------------------------------------------------

#[test]
fn dark_before_the_day_opens_and_after_it_ends() {
    let h = H::fresh(9, 0);
    assert_eq!(h.shows(1), WindowShows::Off);
    assert_eq!(h.shows(4), WindowShows::Off);
    let mut h = H::open();
    assert_eq!(h.shows(1), WindowShows::Idle);
    h.ok(&Actor::System, Command::EndDay);
    assert_eq!(h.shows(1), WindowShows::Off);
}

#[test]
fn unknown_window_is_dark() {
    let h = H::open();
    assert_eq!(h.shows(99), WindowShows::Off);
}

#[test]
fn closed_window() {
    let h = H::open();
    assert_eq!(h.shows(4), WindowShows::Closed);
}

#[test]
fn unstaffed_and_staffed_idle_say_welcome() {
    let mut h = H::open();
    assert_eq!(h.shows(1), WindowShows::Idle);
    h.sign_in(1);
    assert_eq!(h.shows(1), WindowShows::Idle);
    let c = WindowIndicatorProfile::default().content(1, &h.shows(1));
    assert_eq!(
        (c.mode, c.line2.as_str()),
        (IndicatorMode::Idle, "欢迎光临")
    );
}

#[test]
fn calling_then_serving_then_idle() {
    let mut h = H::open();
    h.sign_in(12);
    let number = h.issue_and_call(12);
    assert_eq!(
        h.shows(12),
        WindowShows::Calling {
            ticket: number.clone()
        }
    );
    let c = WindowIndicatorProfile::default().content(12, &h.shows(12));
    assert_eq!(c.mode, IndicatorMode::Calling);
    assert_eq!(c.line1, number);
    assert_eq!(c.line2, "请到12号窗口");

    h.ok(&staff(12), Command::Start { window: 12 });
    assert_eq!(
        h.shows(12),
        WindowShows::Serving {
            ticket: number,
            staff: "王五".into(),
            job_number: "P012".into(),
        }
    );
    let c = WindowIndicatorProfile::default().content(12, &h.shows(12));
    assert_eq!(
        (c.mode, c.line2.as_str()),
        (IndicatorMode::Serving, "王五 P012")
    );

    h.ok(
        &staff(12),
        Command::Finish {
            window: 12,
            outcome: Outcome::Done,
            reason: None,
        },
    );
    assert_eq!(h.shows(12), WindowShows::Idle);
}

#[test]
fn paused_shows_the_staff_and_pause_text() {
    let mut h = H::open();
    h.sign_in(2);
    h.ok(
        &staff(2),
        Command::Pause {
            window: 2,
            reason: PauseReason::Lunch,
        },
    );
    assert_eq!(
        h.shows(2),
        WindowShows::Paused {
            staff: "李四".into(),
            job_number: "P002".into(),
        }
    );
    let c = WindowIndicatorProfile::default().content(2, &h.shows(2));
    assert_eq!(
        (c.mode, c.line2.as_str()),
        (IndicatorMode::Paused, "暂停服务")
    );
    h.ok(&staff(2), Command::Resume { window: 2 });
    assert_eq!(h.shows(2), WindowShows::Idle);
}

#[test]
fn a_recall_shows_the_same_call() {
    let mut h = H::open();
    h.sign_in(1);
    let number = h.issue_and_call(1);
    h.ok(&staff(1), Command::Recall { window: 1 });
    assert_eq!(h.shows(1), WindowShows::Calling { ticket: number });
}

// --- boards -----------------------------------------------------------------

#[test]
fn board_shows_its_zone_newest_first() {
    let mut h = H::open();
    for w in [1, 2, 12] {
        h.sign_in(w);
    }
    let a = h.issue_and_call(1);
    let b = h.issue_and_call(12);
    let c = h.issue_and_call(2);
    assert_eq!(board_for(&h.recent, "east", 10), calls(&[(&c, 2), (&a, 1)]));
    assert_eq!(board_for(&h.recent, "west", 10), calls(&[(&b, 12)]));
    assert_eq!(board_for(&h.recent, "east", 1), calls(&[(&c, 2)]));
    assert_eq!(board_for(&h.recent, "east", 0), vec![]);
    assert_eq!(board_for(&h.recent, "nowhere", 10), vec![]);

    let content = TextBoardProfile::default().content(&board_for(&h.recent, "west", 10));
    assert_eq!(content.lines[0], format!("{b} → 12号窗口"));
}

#[test]
fn a_recall_moves_the_call_to_the_top_without_a_duplicate() {
    let mut h = H::open();
    h.sign_in(1);
    h.sign_in(2);
    let a = h.issue_and_call(1);
    let b = h.issue_and_call(2);
    assert_eq!(board_for(&h.recent, "east", 10), calls(&[(&b, 2), (&a, 1)]));
    h.ok(&staff(1), Command::Recall { window: 1 });
    assert_eq!(board_for(&h.recent, "east", 10), calls(&[(&a, 1), (&b, 2)]));
}

#[test]
fn finished_calls_stay_until_the_day_ends() {
    let mut h = H::open();
    h.sign_in(1);
    let a = h.issue_and_call(1);
    h.ok(&staff(1), Command::Start { window: 1 });
    h.ok(
        &staff(1),
        Command::Finish {
            window: 1,
            outcome: Outcome::Done,
            reason: None,
        },
    );
    assert_eq!(board_for(&h.recent, "east", 10), calls(&[(&a, 1)]));
    h.ok(&Actor::System, Command::EndDay);
    assert_eq!(board_for(&h.recent, "east", 10), vec![]);
}

#[test]
fn recent_calls_are_bounded_per_zone() {
    let mut r = RecentCalls::new(3);
    for i in 0..10u32 {
        r.record("east", BoardCall::new(format!("A{i:03}"), 1));
    }
    r.record("west", BoardCall::new("B001", 12));
    assert_eq!(
        board_for(&r, "east", 10),
        calls(&[("A009", 1), ("A008", 1), ("A007", 1)])
    );
    assert_eq!(board_for(&r, "west", 10), calls(&[("B001", 12)]));
    assert_eq!(RecentCalls::new(0).per_zone(), 1);
    assert_eq!(
        RecentCalls::new(usize::MAX).per_zone(),
        RECENT_PER_ZONE_DEFAULT
    );
}

#[test]
fn a_ticket_called_elsewhere_leaves_its_old_line() {
    let mut r = RecentCalls::default();
    r.record("east", BoardCall::new("A001", 1));
    r.record("east", BoardCall::new("A002", 2));
    r.record("west", BoardCall::new("A001", 12));
    assert_eq!(board_for(&r, "east", 10), calls(&[("A002", 2)]));
    assert_eq!(board_for(&r, "west", 10), calls(&[("A001", 12)]));
}

#[test]
fn other_events_change_nothing() {
    let mut h = H::open();
    let before = h.recent.clone();
    assert!(
        !h.recent
            .observe(&h.hall, &Event::WindowOpened { window: 1 })
    );
    // A call naming a ticket the hall does not know is skipped.
    let unknown = Event::TicketRecalled {
        ticket: TicketId(999_999),
        window: 1,
        recall: 1,
    };
    assert!(!h.recent.observe(&h.hall, &unknown));
    assert_eq!(h.recent, before);
    h.sign_in(1);
    h.issue_and_call(1);
    assert_ne!(h.recent, before);
}
