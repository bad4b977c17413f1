use std::sync::Arc;

use chrono::NaiveDate;

use super::*;
use crate::config::Config;
use crate::devices::bus::{DeviceInfo, Health};
use crate::queue::routing::QueueKey;
use crate::queue::{CallRule, Event, IssueSource, TicketId, WindowService};

const HALL: &str = r#"
[hall]
name = "告警测试大厅"
name_en = "Alert Test Hall"
timezone = "Asia/Shanghai"

[[zone]]
id = "z1"
name = "一楼大厅"
name_en = "1F Hall"
floor = 1

[[department]]
id = "d1"
name = "测试局"
name_en = "Test Bureau"

[[service]]
id = "s1"
name = "业务一"
name_en = "Service one"
department = "d1"
prefix = "A"
matter_class = "immediate"
expected_minutes = 5
target_wait_minutes = 15

[[service]]
id = "s2"
name = "业务二"
department = "d1"
prefix = "B"
matter_class = "immediate"
expected_minutes = 5
target_wait_minutes = 10

[[window]]
number = 1
name = "1号窗"
kind = "comprehensive"
zone = "z1"
services = [{ service = "s1" }]

[[window]]
number = 2
name = "2号窗"
kind = "comprehensive"
zone = "z1"
services = [{ service = "s1" }, { service = "s2" }]

[[window]]
number = 3
name = "3号窗"
kind = "comprehensive"
zone = "z1"
services = [{ service = "s2" }]

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "08:30"
to = "11:30"

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "13:00"
to = "17:00"

[alerts]
idle_minutes = 3
early_lunch_minutes = 15
pause_minutes = { break = 10, lunch = 120 }
"#;

const MIN: Millis = 60_000;

/// 2026-11-23 (a Monday) at hh:mm in the hall's zone.
fn at(hh: u32, mm: u32) -> Millis {
    let t = NaiveDate::from_ymd_opt(2026, 11, 23)
        .and_then(|d| d.and_hms_opt(hh, mm, 0))
        .expect("a time");
    calendar::instant(chrono_tz::Asia::Shanghai, t)
}

struct T {
    hall: Hall,
    next: u64,
}

impl T {
    /// The morning session open since 08:30.
    fn new() -> T {
        let config = Config::from_toml_str("alerts", HALL).unwrap_or_else(|e| panic!("{e}"));
        let mut t = T {
            hall: Hall::new(Arc::new(config)),
            next: 1,
        };
        t.ev(
            at(8, 30),
            Event::DayOpened {
                date: NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"),
            },
        );
        t.ev(
            at(8, 30),
            Event::SessionOpened {
                slot: Some(0),
                ends_ms: Some(at(11, 30)),
            },
        );
        t
    }

    fn ev(&mut self, at_ms: Millis, e: Event) {
        self.hall.evolve(&e, at_ms);
    }

    fn sign_in(&mut self, at_ms: Millis, window: WindowNo) {
        self.ev(
            at_ms,
            Event::StaffSignedIn {
                window,
                staff: format!("w{window}"),
            },
        );
    }

    fn issue(&mut self, at_ms: Millis, service: &str) -> TicketId {
        let id = TicketId(self.next);
        self.next += 1;
        self.ev(
            at_ms,
            Event::TicketIssued {
                ticket: id,
                number: format!("A{:03}", id.0),
                service: service.into(),
                cycle: 0,
                serial: id.0 as u32,
                priority: None,
                rank: 0,
                person: None,
                source: IssueSource::Kiosk,
                cases: 1,
                slot: None,
                key: QueueKey::fresh(at_ms, id),
            },
        );
        id
    }

    fn call(&mut self, at_ms: Millis, ticket: TicketId, window: WindowNo) {
        self.ev(
            at_ms,
            Event::TicketCalled {
                ticket,
                window,
                staff: format!("w{window}"),
                rule: CallRule::Routed,
                reason: None,
            },
        );
    }

    fn pause(&mut self, at_ms: Millis, window: WindowNo, reason: PauseReason) {
        self.ev(at_ms, Event::WindowPaused { window, reason });
    }

    fn alerts(&self, now_ms: Millis) -> Vec<Alert> {
        evaluate(&self.hall, now_ms, &[])
    }

    /// (key, level) of each alert.
    fn brief(&self, now_ms: Millis) -> Vec<(String, Level)> {
        self.alerts(now_ms)
            .into_iter()
            .map(|a| (a.key, a.level))
            .collect()
    }
}

fn k(key: &str, level: Level) -> (String, Level) {
    (key.to_string(), level)
}

#[test]
fn a_quiet_hall_has_no_alerts() {
    let mut t = T::new();
    for w in 1..=3 {
        t.sign_in(at(8, 30), w);
    }
    assert!(t.alerts(at(10, 0)).is_empty());
}

#[test]
fn a_long_wait_warns_over_the_target_alarms_over_twice_and_clears_when_called() {
    let mut t = T::new();
    let a = t.issue(at(9, 0), "s1");
    t.issue(at(9, 5), "s1");
    // At the target: nothing yet.
    assert_eq!(t.brief(at(9, 15)), vec![]);
    // One minute over.
    let warn = t.alerts(at(9, 16));
    assert_eq!(warn.len(), 1, "{warn:?}");
    let w = &warn[0];
    assert_eq!(w.key, "long_wait:s1");
    assert_eq!(w.kind, Kind::LongWait);
    assert_eq!(w.level, Level::Warn);
    assert_eq!(w.service.as_deref(), Some("s1"));
    assert_eq!(w.since_ms, at(9, 15), "the wait start plus the target");
    assert_eq!(w.message, "业务一：最长等候已超过承诺的15分钟");
    assert_eq!(
        w.message_en,
        "Service one: the longest wait is over the 15 min target"
    );
    // Exactly twice is still a warning; beyond is an alarm, same key.
    assert_eq!(t.brief(at(9, 30)), vec![k("long_wait:s1", Level::Warn)]);
    let alarm = t.alerts(at(9, 31));
    assert_eq!(alarm[0].key, "long_wait:s1");
    assert_eq!(alarm[0].level, Level::Alarm);
    assert_eq!(alarm[0].since_ms, at(9, 15));
    assert!(alarm[0].message.contains("两倍"), "{}", alarm[0].message);
    // The oldest is called: the next waited from 09:05, 26 min at 09:31 (warn).
    t.sign_in(at(9, 31), 1);
    t.call(at(9, 31), a, 1);
    let after = t.alerts(at(9, 31));
    assert_eq!(after[0].level, Level::Warn);
    assert_eq!(after[0].since_ms, at(9, 20));
    // Nobody waits: cleared.
    let b = TicketId(2);
    t.call(at(9, 32), b, 2);
    assert_eq!(t.brief(at(9, 40)), vec![]);
}

#[test]
fn without_an_english_name_the_message_uses_the_chinese_one() {
    let mut t = T::new();
    t.issue(at(9, 0), "s2");
    let a = t.alerts(at(9, 11));
    assert_eq!(a[0].key, "long_wait:s2");
    assert!(
        a[0].message_en.starts_with("业务二: "),
        "{}",
        a[0].message_en
    );
    assert!(
        a[0].message_en.contains("10 min target"),
        "{}",
        a[0].message_en
    );
}

#[test]
fn an_idle_window_counts_from_when_people_began_to_wait_for_it() {
    let mut t = T::new();
    t.sign_in(at(9, 0), 1);
    // Idle since 09:00, but nobody waits: no alert however long.
    assert_eq!(t.brief(at(9, 30)), vec![]);
    // Someone waits from 09:30: idle while people wait from then on.
    t.issue(at(9, 30), "s1");
    assert_eq!(t.brief(at(9, 32)), vec![], "2 min < 3 min");
    let a = t.alerts(at(9, 33));
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].key, "idle_window:1");
    assert_eq!(a[0].kind, Kind::IdleWindow);
    assert_eq!(a[0].level, Level::Warn);
    assert_eq!(a[0].window, Some(1));
    assert_eq!(a[0].since_ms, at(9, 33));
    assert_eq!(a[0].message, "1号窗口空闲已达3分钟，仍有群众等候");
    assert_eq!(
        a[0].message_en,
        "Window 1 has been idle for 3 min or more while people wait"
    );
    // Over twice the limit: alarm.
    assert_eq!(t.brief(at(9, 37)), vec![k("idle_window:1", Level::Alarm)]);
    // Window 3 serves only s2: nobody waits for it even when staffed.
    t.sign_in(at(9, 0), 3);
    assert_eq!(t.brief(at(9, 37)), vec![k("idle_window:1", Level::Alarm)]);
    // It calls: cleared.
    t.call(at(9, 38), TicketId(1), 1);
    assert_eq!(t.brief(at(9, 40)), vec![]);
}

#[test]
fn a_window_with_no_services_is_never_idle_while_people_wait() {
    let mut t = T::new();
    t.sign_in(at(9, 0), 3);
    t.ev(
        at(9, 0),
        Event::WindowServicesChanged {
            window: 3,
            services: Vec::new(),
        },
    );
    t.issue(at(9, 0), "s2");
    // Long wait for s2 (nobody can serve it), but no idle window.
    assert_eq!(t.brief(at(9, 12)), vec![k("long_wait:s2", Level::Warn)]);
    // Given s2 again, it is idle while people wait (since it changed, 09:20).
    t.ev(
        at(9, 20),
        Event::WindowServicesChanged {
            window: 3,
            services: vec![WindowService {
                service: "s2".into(),
                weight: 1,
            }],
        },
    );
    let keys: Vec<String> = t.alerts(at(9, 23)).into_iter().map(|a| a.key).collect();
    assert!(keys.contains(&"idle_window:3".to_string()), "{keys:?}");
}

#[test]
fn an_idle_window_counts_tickets_transferred_to_it() {
    let mut t = T::new();
    t.sign_in(at(9, 0), 1);
    t.sign_in(at(9, 0), 3);
    let a = t.issue(at(9, 0), "s1");
    t.call(at(9, 0), a, 1);
    t.ev(
        at(9, 1),
        Event::TicketTransferred {
            ticket: a,
            from_window: 1,
            staff: "w1".into(),
            to_service: "s1".into(),
            to_window: Some(3),
            reason: None,
        },
    );
    // Window 3 does not serve s1, but the ticket waits for it by name.
    let keys: Vec<String> = t.alerts(at(9, 5)).into_iter().map(|a| a.key).collect();
    assert_eq!(
        keys,
        vec!["idle_window:3".to_string()],
        "window 1 is not waited for"
    );
    // And the directed ticket counts for its service's long wait.
    let keys: Vec<String> = t.alerts(at(9, 16)).into_iter().map(|a| a.key).collect();
    assert!(keys.contains(&"long_wait:s1".to_string()), "{keys:?}");
}

#[test]
fn a_long_pause_warns_then_alarms_and_clears_on_resume() {
    let mut t = T::new();
    t.sign_in(at(9, 0), 2);
    t.pause(at(9, 0), 2, PauseReason::Break);
    assert_eq!(t.brief(at(9, 10)), vec![], "10 min is allowed");
    let a = t.alerts(at(9, 11));
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].key, "long_pause:2");
    assert_eq!(a[0].kind, Kind::LongPause);
    assert_eq!(a[0].level, Level::Warn);
    assert_eq!(a[0].since_ms, at(9, 10));
    assert_eq!(a[0].message, "2号窗口因休息暂停已超过10分钟");
    assert_eq!(
        a[0].message_en,
        "Window 2 has been paused for a break over 10 min"
    );
    assert_eq!(t.brief(at(9, 21)), vec![k("long_pause:2", Level::Alarm)]);
    t.ev(at(9, 22), Event::WindowResumed { window: 2 });
    assert_eq!(t.brief(at(9, 23)), vec![]);
}

#[test]
fn each_reason_has_its_own_limit_defaults_where_not_configured() {
    let mut t = T::new();
    t.sign_in(at(9, 0), 1);
    t.sign_in(at(9, 0), 2);
    t.sign_in(at(9, 0), 3);
    t.pause(at(9, 0), 1, PauseReason::Meeting); // default 60
    t.pause(at(9, 0), 2, PauseReason::OutOfSupplies); // default 30
    t.pause(at(9, 0), 3, PauseReason::Break); // configured 10
    assert_eq!(t.brief(at(9, 11)), vec![k("long_pause:3", Level::Warn)]);
    assert_eq!(
        t.brief(at(9, 31)),
        vec![
            k("long_pause:2", Level::Warn),
            k("long_pause:3", Level::Alarm)
        ]
    );
    assert_eq!(
        t.brief(at(10, 1)),
        vec![
            k("long_pause:1", Level::Warn),
            k("long_pause:2", Level::Alarm),
            k("long_pause:3", Level::Alarm)
        ]
    );
}

#[test]
fn a_paused_unstaffed_window_raises_nothing() {
    let mut t = T::new();
    // A pause recorded on a window nobody is signed in at (a sign-out clears it anyway).
    t.pause(at(9, 0), 2, PauseReason::Break);
    t.issue(at(9, 0), "s1");
    let keys: Vec<String> = t.alerts(at(9, 14)).into_iter().map(|a| a.key).collect();
    assert_eq!(keys, Vec::<String>::new());
    // Signing in clears the pause; signing out a paused window too.
    t.sign_in(at(9, 14), 2);
    t.pause(at(9, 14), 2, PauseReason::Break);
    t.ev(
        at(9, 15),
        Event::StaffSignedOut {
            window: 2,
            staff: "w2".into(),
        },
    );
    assert!(
        !t.alerts(at(9, 40))
            .iter()
            .any(|a| a.kind == Kind::LongPause)
    );
}

#[test]
fn a_pause_while_the_hall_is_closed_and_nobody_waits_is_not_long() {
    let mut t = T::new();
    t.sign_in(at(11, 0), 1);
    t.pause(at(11, 0), 1, PauseReason::Break);
    t.ev(at(11, 30), Event::SessionClosed { slot: Some(0) });
    assert_eq!(t.brief(at(12, 0)), vec![], "closed, nobody waits");
    // Someone still waits for it (extended service): it matters again.
    t.issue(at(11, 20), "s1");
    let keys: Vec<String> = t.alerts(at(12, 0)).into_iter().map(|a| a.key).collect();
    assert!(keys.contains(&"long_pause:1".to_string()), "{keys:?}");
}

#[test]
fn an_early_lunch_is_raised_within_the_session_and_cleared_when_it_closes() {
    let mut t = T::new();
    t.sign_in(at(8, 30), 1);
    t.sign_in(at(8, 30), 2);
    // 11:20 is 10 min before the end: allowed. 11:00 is 30 min before: early.
    t.pause(at(11, 20), 1, PauseReason::Lunch);
    t.pause(at(11, 0), 2, PauseReason::Lunch);
    let a = t.alerts(at(11, 21));
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].key, "early_lunch:2");
    assert_eq!(a[0].kind, Kind::EarlyLunch);
    assert_eq!(a[0].level, Level::Warn);
    assert_eq!(a[0].since_ms, at(11, 0));
    assert_eq!(
        a[0].message,
        "2号窗口11:00开始午休，早于本时段结束（11:30）"
    );
    assert_eq!(
        a[0].message_en,
        "Window 2 went to lunch at 11:00, before the session ends at 11:30"
    );
    // Exactly the limit before the end is not early.
    t.pause(at(11, 15), 1, PauseReason::Lunch);
    assert_eq!(t.brief(at(11, 21)), vec![k("early_lunch:2", Level::Warn)]);
    // The session closes for lunch: it is lunch time now, nothing to raise.
    t.ev(at(11, 30), Event::SessionClosed { slot: Some(0) });
    assert_eq!(t.brief(at(11, 45)), vec![]);
}

#[test]
fn a_lunch_begun_before_the_afternoon_session_is_not_an_early_lunch() {
    let mut t = T::new();
    t.sign_in(at(8, 30), 1);
    t.pause(at(11, 29), 1, PauseReason::Lunch);
    t.ev(at(11, 30), Event::SessionClosed { slot: Some(0) });
    t.ev(
        at(13, 0),
        Event::SessionOpened {
            slot: Some(1),
            ends_ms: Some(at(17, 0)),
        },
    );
    // Still at lunch at 13:05: not early (it began in the morning), and the
    // 120 min lunch limit is not reached yet.
    assert_eq!(t.brief(at(13, 5)), vec![]);
    // Two hours after it began, a long pause.
    assert_eq!(t.brief(at(13, 30)), vec![k("long_pause:1", Level::Warn)]);
}

#[test]
fn a_lunch_pause_is_also_a_long_pause_past_its_limit() {
    let mut t = T::new();
    t.sign_in(at(8, 30), 1);
    t.pause(at(8, 40), 1, PauseReason::Lunch);
    assert_eq!(t.brief(at(9, 0)), vec![k("early_lunch:1", Level::Warn)]);
    assert_eq!(
        t.brief(at(10, 41)),
        vec![
            k("long_pause:1", Level::Warn),
            k("early_lunch:1", Level::Warn)
        ]
    );
}

fn device(
    unit: Option<u8>,
    serves: Serves,
    link: Link,
    last_seen_ms: Option<Millis>,
) -> DeviceStatus {
    let mut health = Health::new();
    health.link = link;
    health.last_seen_ms = last_seen_ms;
    DeviceStatus {
        info: DeviceInfo {
            index: 0,
            bus: "floor1".into(),
            unit,
            profile: "generic-keypad".into(),
            protocol: "modbus",
            serves,
        },
        health,
    }
}

#[test]
fn an_offline_device_is_an_alarm_naming_what_it_serves() {
    let t = T::new();
    let list = [
        device(Some(101), Serves::Window(1), Link::Offline, Some(at(9, 0))),
        device(Some(102), Serves::Window(2), Link::Online, Some(at(9, 0))),
        device(Some(103), Serves::Window(3), Link::Unknown, None),
        device(None, Serves::Zone("z1".into()), Link::Offline, None),
    ];
    let offline = OfflineDevice::from_statuses(&list, at(9, 5));
    assert_eq!(offline.len(), 2, "{offline:?}");
    assert_eq!(offline[0].since_ms, at(9, 0), "its last answer");
    assert_eq!(offline[1].since_ms, at(9, 5), "never answered: now");
    let a = evaluate(&t.hall, at(9, 5), &offline);
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a[0].key, "device_offline:floor1/101");
    assert_eq!(a[0].kind, Kind::DeviceOffline);
    assert_eq!(a[0].level, Level::Alarm);
    assert_eq!(a[0].device.as_deref(), Some("floor1/101"));
    assert_eq!(a[0].window, Some(1));
    assert_eq!(a[0].since_ms, at(9, 0));
    assert_eq!(a[0].message, "1号窗口的generic-keypad（floor1/101）离线");
    assert_eq!(
        a[0].message_en,
        "generic-keypad of window 1 (floor1/101) is offline"
    );
    assert_eq!(a[1].key, "device_offline:floor1");
    assert_eq!(a[1].window, None);
    assert_eq!(a[1].message, "一楼大厅的generic-keypad（floor1）离线");
    assert_eq!(
        a[1].message_en,
        "generic-keypad of zone 1F Hall (floor1) is offline"
    );
    // Back online: cleared.
    assert!(evaluate(&t.hall, at(9, 6), &[]).is_empty());
}

#[test]
fn alerts_come_in_a_stable_order() {
    let mut t = T::new();
    t.sign_in(at(9, 0), 2);
    t.sign_in(at(9, 0), 3);
    t.issue(at(9, 0), "s2");
    t.issue(at(9, 0), "s1");
    t.pause(at(9, 0), 3, PauseReason::Break);
    let list = [device(Some(7), Serves::Window(2), Link::Offline, None)];
    let offline = OfflineDevice::from_statuses(&list, at(9, 20));
    let keys: Vec<String> = evaluate(&t.hall, at(9, 20), &offline)
        .into_iter()
        .map(|a| a.key)
        .collect();
    assert_eq!(
        keys,
        vec![
            "long_wait:s1",
            "long_wait:s2",
            "idle_window:2",
            "long_pause:3",
            "device_offline:floor1/7"
        ]
    );
}

#[test]
fn an_appointment_waits_from_its_slot_not_from_an_early_check_in() {
    let mut t = T::new();
    let id = TicketId(1);
    t.ev(
        at(9, 0),
        Event::TicketIssued {
            ticket: id,
            number: "A001".into(),
            service: "s1".into(),
            cycle: 0,
            serial: 1,
            priority: None,
            rank: 0,
            person: None,
            source: IssueSource::Appointment {
                code: "X1".into(),
                due_ms: at(10, 0),
            },
            cases: 1,
            slot: None,
            key: QueueKey::fresh(at(9, 0), id),
        },
    );
    assert_eq!(wait_starts(&t.hall).get("s1"), Some(&at(10, 0)));
    assert_eq!(t.brief(at(10, 10)), vec![], "10 min after the slot");
    assert_eq!(t.brief(at(10, 16)), vec![k("long_wait:s1", Level::Warn)]);
}

#[test]
fn fractional_limits_are_written_as_configured() {
    assert_eq!(minutes_text(3 * MIN), "3");
    assert_eq!(minutes_text(MIN / 2), "0.5");
    assert_eq!(minutes_text(3_000), "0.05");
    assert_eq!(minutes_text(90 * MIN), "90");
    let mut c = AlertsConfig::default();
    c.pause_minutes.break_ = 0.05;
    assert_eq!(Limits::new(&c).pause_ms(PauseReason::Break), 3_000);
    assert_eq!(Limits::new(&c).pause_ms(PauseReason::Lunch), 120 * MIN);
    assert_eq!(Limits::new(&c).idle_ms, 3 * MIN);
    assert_eq!(Limits::new(&c).early_lunch_ms, 15 * MIN);
}

#[test]
fn the_demo_hall_has_the_default_limits() {
    let config = Config::demo();
    let a = &config.file.alerts;
    assert_eq!(a.idle_minutes, 3.0);
    assert_eq!(a.early_lunch_minutes, 15.0);
    assert_eq!(a.pause_minutes.lunch, 120.0);
    assert_eq!(a.pause_minutes.break_, 15.0);
    assert_eq!(a.pause_minutes.out_of_supplies, 30.0);
    assert_eq!(a.pause_minutes.meeting, 60.0);
}

#[test]
fn alerts_config_is_checked_with_line_numbers() {
    let bad = format!(
        "{}\n",
        HALL.replace(
            "pause_minutes = { break = 10, lunch = 120 }",
            "pause_minutes = { break = 0, lunch = 500, nap = 3 }"
        )
    );
    let e = Config::from_toml_str("bad.toml", &bad)
        .expect_err("unknown key refused")
        .to_string();
    assert!(e.contains("nap"), "{e}");
    let bad = HALL
        .replace(
            "pause_minutes = { break = 10, lunch = 120 }",
            "pause_minutes = { break = 0, lunch = 500 }\n",
        )
        .replace("early_lunch_minutes = 15", "early_lunch_minutes = -1");
    let e = Config::from_toml_str("bad.toml", &bad)
        .expect_err("out of range refused")
        .to_string();
    let line_of = |needle: &str| bad.lines().position(|l| l.contains(needle)).expect("line") + 1;
    for field in [
        "alerts.pause_minutes.break",
        "alerts.pause_minutes.lunch",
        "alerts.early_lunch_minutes",
    ] {
        assert!(e.contains(field), "{field} not named in {e}");
    }
    assert!(
        e.contains(&format!(":{}", line_of("pause_minutes"))),
        "no line number in {e}"
    );
    assert!(
        e.contains(&format!(":{}", line_of("early_lunch_minutes"))),
        "no line number in {e}"
    );
    assert!(e.contains("0.05–480"), "{e}");
}

#[test]
fn a_session_to_the_end_of_the_day_ends_at_24_00() {
    let mut t = T::new();
    t.ev(at(11, 30), Event::SessionClosed { slot: Some(0) });
    // A session a manager opened to midnight (no calendar slot).
    t.ev(
        at(13, 0),
        Event::SessionOpened {
            slot: None,
            ends_ms: Some(at(0, 0) + 24 * 60 * MIN),
        },
    );
    t.sign_in(at(13, 0), 1);
    t.pause(at(14, 0), 1, PauseReason::Lunch);
    let a = t.alerts(at(14, 1));
    assert_eq!(a[0].key, "early_lunch:1");
    assert_eq!(
        a[0].message,
        "1号窗口14:00开始午休，早于本时段结束（24:00）"
    );
}
