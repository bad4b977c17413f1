//! Cold start every morning (issue 7). The hall's power is cut every
//! evening: the box running hallq and the devices on its buses go off
//! without warning; in the morning everything comes back, the box before,
//! with or after each device.
//!
//! How it is modelled, and why:
//!
//! - The *box* is a tokio runtime of its own holding what `hallq serve`
//!   starts: the owner (`hallq::daemon::start`, with a hall clock the test
//!   sets), the 1 s calendar ticker and the device layer (`Devices::start`)
//!   on the buses' ports opened *by path* with the production opener
//!   (`daemon::devices::opener` on a config whose ports were swapped with
//!   `set_bus_port`, i.e. `hallq serve --bus NAME=PATH`). The device layer
//!   is given the same hall clock (serve gives it the system clock, which is
//!   the owner's clock there). The power cut drops the whole runtime at once
//!   (`shutdown_background`): no graceful stop, no queued command drained;
//!   the hub's replica, voice queues and bus state are lost. The journal's
//!   durability under SIGKILL is `tests/daemon_kill.rs`' and the power-cut
//!   soak's business; here every command was acknowledged, so committed.
//! - The *devices* are a `SimHall` in another runtime that outlives the
//!   box: their PTYs survive the night, like wires. A real device keeps
//!   showing its last content while powered and comes up blank (registers
//!   0, empty key FIFO; a BX-5K's real-time text is not kept in flash) —
//!   DESIGN.md §5 and the simulator's model; `Fault::Unplugged` is a power
//!   cut of that device, clearing it is power-on. One device, the zone
//!   board, is on another circuit and keeps yesterday's calls all night.
//!
//! Day 1 runs at yesterday's times, day 2 at this morning's; dates are
//! computed from the real date so any day of the week works (the calendar
//! is open every day). At the end the box alone restarts in the morning
//! (a crash): the boards keep today's calls.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime};
use hallq::config::Config;
use hallq::daemon::clock::{Clock, SystemClock};
use hallq::daemon::devices::opener;
use hallq::daemon::{HallHandle, Owner, Published};
use hallq::devices::bus::{Devices, Link};
use hallq::devices::indicator::IndicatorMode;
use hallq::devices::keypad::KeypadKey;
use hallq::devices::profile::Protocol;
use hallq::queue::calendar;
use hallq::queue::command::Command;
use hallq::queue::event::Event;
use hallq::queue::types::{
    Actor, IssueSource, Millis, Outcome, PauseReason, TicketId, TicketStatus,
};
use hallq::sim::devices::{
    ChangeKind, Fault, SimChange, SimContent, SimDeviceView, SimHall, SimSpec, SlaveContent,
};
use tokio::runtime::Runtime;

/// Generous: the machine running the tests may be busy.
const WAIT: Duration = Duration::from_secs(20);

/// A hall with a working day's calendar (every day of the week, so the
/// test runs any day), four windows in one zone, and every kind of device:
/// indicators, keypads, two evaluators and a text board on one RS-485 bus,
/// a BX-5K board and a voice chip on their own ports.
const HALL: &str = r#"
[hall]
name = "冷启动测试大厅"
timezone = "Asia/Shanghai"

[[zone]]
id = "z1"
name = "一楼大厅"
floor = 1

[[department]]
id = "d1"
name = "测试局"

[[service]]
id = "s1"
name = "综合受理"
department = "d1"
prefix = "A"
matter_class = "immediate"
expected_minutes = 5

[[staff]]
account = "li.na"
job_number = "T001"
name = "李娜"

[[staff]]
account = "wang.wei"
job_number = "T002"
name = "王伟"

[[staff]]
account = "zhang.min"
job_number = "T003"
name = "张敏"

[[staff]]
account = "liu.yang"
job_number = "T004"
name = "刘洋"

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
services = [{ service = "s1" }]

[[window]]
number = 3
name = "3号窗"
kind = "comprehensive"
zone = "z1"
services = [{ service = "s1" }]

[[window]]
number = 4
name = "4号窗"
kind = "comprehensive"
zone = "z1"
services = [{ service = "s1" }]

[calendar]
issue_cutoff_minutes = 15
extended_service = true

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
from = "08:30"
to = "12:00"

[[calendar.session]]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
from = "13:30"
to = "17:00"

[[bus]]
name = "rs485"
port = "sim"

[[bus]]
name = "bx5k"
port = "sim"

[[bus]]
name = "voice"
port = "sim"

[[device]]
profile = "generic-window-indicator"
window = 1
bus = "rs485"
unit = 1

[[device]]
profile = "generic-window-indicator"
window = 2
bus = "rs485"
unit = 2

[[device]]
profile = "generic-window-indicator"
window = 3
bus = "rs485"
unit = 3

[[device]]
profile = "generic-window-indicator"
window = 4
bus = "rs485"
unit = 4

[[device]]
profile = "generic-keypad"
window = 1
bus = "rs485"
unit = 101

[[device]]
profile = "generic-keypad"
window = 2
bus = "rs485"
unit = 102

[[device]]
profile = "generic-keypad"
window = 3
bus = "rs485"
unit = 103

[[device]]
profile = "generic-keypad"
window = 4
bus = "rs485"
unit = 104

[[device]]
profile = "generic-evaluator"
window = 1
bus = "rs485"
unit = 201

[[device]]
profile = "generic-evaluator"
window = 2
bus = "rs485"
unit = 202

[[device]]
profile = "generic-text-board"
zone = "z1"
bus = "rs485"
unit = 60

[[device]]
profile = "onbon-bx5k"
zone = "z1"
bus = "bx5k"

[[device]]
profile = "syn6288"
zone = "z1"
bus = "voice"
"#;

const STAFF: [&str; 4] = ["li.na", "wang.wei", "zhang.min", "liu.yang"];
/// The zone board's unit: it is on another circuit and stays powered at night.
const BOARD_UNIT: u8 = 60;

/// The hall's clock: the system clock plus an offset the test sets, so
/// time flows (timeouts, the ticker) and can be moved to another day.
#[derive(Clone)]
struct HallClock(Arc<AtomicI64>);

impl HallClock {
    fn set(&self, at_ms: Millis) {
        self.0.store(at_ms - SystemClock.now_ms(), Ordering::SeqCst);
    }
}

impl Clock for HallClock {
    fn now_ms(&self) -> Millis {
        SystemClock.now_ms() + self.0.load(Ordering::SeqCst)
    }
}

fn at(config: &Config, date: NaiveDate, hh: u32, mm: u32) -> Millis {
    calendar::instant(
        config.tz,
        date.and_time(NaiveTime::from_hms_opt(hh, mm, 0).unwrap()),
    )
}

/// The box: what `hallq serve` runs, on its own runtime so a power cut can
/// drop all of it at once.
struct HallBox {
    rt: Runtime,
    owner: Owner,
    devices: Devices,
    events: Arc<Mutex<Vec<Arc<Published>>>>,
}

impl HallBox {
    /// Powers the box on: the owner replays the journal, the device layer
    /// opens the buses' ports by path, the 1 s calendar ticker starts. `before_devices` runs once the owner is up (a
    /// device powered on "with" the box).
    fn power_on(
        config: Arc<Config>,
        journal: &Path,
        clock: &HallClock,
        before_devices: impl FnOnce(),
    ) -> HallBox {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let owner = hallq::daemon::start(config.clone(), journal, clock.clone()).unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let devices = rt.block_on(async {
            let mut rx = owner.handle.subscribe();
            let sink = events.clone();
            tokio::spawn(async move {
                while let Ok(p) = rx.recv().await {
                    sink.lock().unwrap().push(p);
                }
            });
            before_devices();
            let now = clock.clone();
            // The device layer is the first to talk to the owner: its
            // replica must still include what the calendar made due (serve
            // happens to query the owner before, for its log line).
            let devices = Devices::start(
                config,
                owner.handle.clone(),
                opener(None),
                Arc::new(move || now.now_ms()),
            )
            .await
            .unwrap();
            let handle = owner.handle.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(1));
                loop {
                    every.tick().await;
                    handle.tick();
                }
            });
            devices
        });
        HallBox {
            rt,
            owner,
            devices,
            events,
        }
    }

    fn handle(&self) -> &HallHandle {
        &self.owner.handle
    }

    fn submit(&self, actor: Actor, command: Command) -> Result<Vec<Event>, String> {
        self.rt
            .block_on(self.handle().submit(actor, "test", command))
            .map(|a| a.events)
            .map_err(|e| e.to_string())
    }

    fn staff(&self, window: u32, command: Command) -> Vec<Event> {
        let actor = Actor::Staff(STAFF[window as usize - 1].to_string());
        self.submit(actor, command.clone())
            .unwrap_or_else(|e| panic!("window {window}: {command:?}: {e}"))
    }

    fn issue(&self) -> (TicketId, String) {
        let events = self
            .submit(
                Actor::Kiosk("kiosk-1".into()),
                Command::Issue {
                    service: "s1".into(),
                    priority: None,
                    person: None,
                    source: IssueSource::Kiosk,
                    cases: 1,
                },
            )
            .unwrap();
        match &events[0] {
            Event::TicketIssued { ticket, number, .. } => (*ticket, number.clone()),
            e => panic!("{e:?}"),
        }
    }

    fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&hallq::queue::Hall) -> R + Send + 'static,
    ) -> R {
        self.rt
            .block_on(self.handle().query(move |h, _| f(h)))
            .unwrap()
    }

    fn events(&self) -> Vec<Event> {
        let events = self.events.lock().unwrap();
        events.iter().map(|p| p.event.clone()).collect()
    }

    fn link(&self, device: &Dev) -> Link {
        self.devices
            .statuses()
            .into_iter()
            .find(|d| d.info.bus == device.0 && d.info.unit == device.1)
            .unwrap()
            .health
            .link
    }

    /// The power cut: everything the box runs stops where it is. The owner
    /// thread is not asked to stop: it ends once nothing can reach it (all
    /// its handles died with the runtime), like a process that is gone; we
    /// wait for that so the next morning's owner is alone on the journal.
    fn power_cut(self) {
        let HallBox {
            rt, owner, devices, ..
        } = self;
        rt.shutdown_background();
        drop(devices);
        let Owner { handle, thread } = owner;
        drop(handle);
        wait_until("the old owner thread is gone", || thread.is_finished());
    }
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < WAIT, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `wait_until`, listing what every device shows if it times out.
fn wait_shown(sim: &SimHall, what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > WAIT {
            for d in sim.devices() {
                eprintln!("{} [{:?} {:?}]", d.shows, d.bus, d.unit);
            }
            panic!("timed out waiting until {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn indicator(sim: &SimHall, window: u32) -> Option<(IndicatorMode, String, String)> {
    match sim
        .window_device(window, Protocol::ModbusWindowIndicator)?
        .content
    {
        SimContent::Modbus(SlaveContent::Indicator(Some(c))) => Some((c.mode, c.line1, c.line2)),
        _ => None,
    }
}

fn shows(sim: &SimHall, window: u32, mode: IndicatorMode, line1: &str) -> bool {
    matches!(indicator(sim, window), Some((m, l1, _)) if m == mode && l1 == line1)
}

/// 欢迎光临, the window's number on line 1.
fn idle(sim: &SimHall, window: u32) -> bool {
    matches!(indicator(sim, window),
        Some((IndicatorMode::Idle, l1, l2)) if l1 == format!("{window}号窗口") && l2.contains("欢迎光临"))
}

fn keypad_ticket(sim: &SimHall, window: u32) -> Option<String> {
    match sim.window_device(window, Protocol::ModbusKeypad)?.content {
        SimContent::Modbus(SlaveContent::Keypad { screen, .. }) => Some(screen.ticket),
        _ => None,
    }
}

fn evaluator_prompt(sim: &SimHall, window: u32) -> Option<bool> {
    match sim
        .window_device(window, Protocol::ModbusEvaluator)?
        .content
    {
        SimContent::Modbus(SlaveContent::Evaluator { screen, .. }) => Some(screen.prompt),
        _ => None,
    }
}

fn board_lines(sim: &SimHall) -> Vec<String> {
    match sim.find("rs485", Some(BOARD_UNIT)).unwrap().content {
        SimContent::Modbus(SlaveContent::Board(b)) => b.lines,
        other => panic!("{other:?}"),
    }
}

fn bx5k_lines(sim: &SimHall) -> Option<Vec<String>> {
    let board = sim
        .devices()
        .into_iter()
        .find(|d| d.protocol == Protocol::OnbonBx5kText)?;
    match board.content {
        SimContent::TextController { lines } => Some(lines),
        _ => None,
    }
}

/// A device by bus and unit (labels are not unique across buses).
type Dev = (String, Option<u8>);

fn dev(view: &SimDeviceView) -> Dev {
    (view.bus.clone(), view.unit)
}

fn set_power(sim: &SimHall, device: &Dev, on: bool) {
    let fault = if on { Fault::None } else { Fault::Unplugged };
    sim.set_fault(&device.0, device.1, fault).unwrap();
}

/// Every device change the simulator announces, collected in the sim's runtime.
fn record_changes(world: &Runtime, sim: &SimHall) -> Arc<Mutex<Vec<SimChange>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut rx = sim.changes();
    let sink = log.clone();
    world.spawn(async move {
        loop {
            match rx.recv().await {
                Ok(c) => sink.lock().unwrap().push(c),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    sink.lock().unwrap().push(SimChange {
                        bus: String::new(),
                        unit: None,
                        label: "(lagged)".into(),
                        kind: ChangeKind::Shows("(changes lost)".into()),
                    });
                }
                Err(_) => return,
            }
        }
    });
    log
}

#[test]
fn the_morning_after_a_power_cut_the_day_opens_swept_and_every_device_is_resynced() {
    let sim_config = Config::from_toml_str("halls/cold-start.toml", HALL).unwrap();
    // The devices and their wires: alive all night, in their own runtime.
    let world = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut spec = SimSpec::from_config(&sim_config);
    spec.speech_ms_per_char = 2;
    let sim = world.block_on(async { SimHall::start(spec) }).unwrap();
    // The box reaches them by path (`hallq serve --bus NAME=PATH`).
    let mut config = sim_config.clone();
    for bus in sim.bus_names() {
        config
            .set_bus_port(&bus, &sim.port_path(&bus).unwrap())
            .unwrap();
    }
    // Nobody holds the handed-over end: the box opens the path itself.
    for bus in sim.bus_names() {
        drop(sim.take_port(&bus));
    }
    let config = Arc::new(config);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.sqlite");

    let tz_now = calendar::local(config.tz, SystemClock.now_ms());
    let today = tz_now.date();
    let yesterday = today.pred_opt().unwrap();
    let clock = HallClock(Arc::default());

    // ---- Day 1, the afternoon session: a busy hall. ----
    clock.set(at(&config, yesterday, 16, 0));
    let day1 = HallBox::power_on(config.clone(), &journal, &clock, || {});
    wait_until("day 1 opens by the calendar", || {
        day1.events()
            .iter()
            .any(|e| matches!(e, Event::SessionOpened { slot: Some(1), .. }))
    });
    for w in 1..=4 {
        day1.staff(w, Command::SignIn { window: w });
    }
    let issued: Vec<(TicketId, String)> = (0..8).map(|_| day1.issue()).collect();
    let numbers: Vec<&str> = issued.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(numbers[..3], ["A001", "A002", "A003"]);
    // Window 1: one finished (its evaluator asks for a rating), the next called.
    day1.staff(1, Command::CallNext { window: 1 });
    day1.staff(1, Command::Start { window: 1 });
    day1.staff(
        1,
        Command::Finish {
            window: 1,
            outcome: Outcome::Done,
            reason: None,
        },
    );
    day1.staff(1, Command::CallNext { window: 1 });
    // Window 2: one being served.
    day1.staff(2, Command::CallNext { window: 2 });
    day1.staff(2, Command::Start { window: 2 });
    // Window 3: called from its keypad, parked, then the next called.
    sim.press_key(3, KeypadKey::CallNext).unwrap();
    wait_until("window 3's keypad calls A004", || {
        shows(&sim, 3, IndicatorMode::Calling, "A004")
    });
    day1.staff(3, Command::Park { window: 3 });
    day1.staff(3, Command::CallNext { window: 3 });
    // Window 4: paused for lunch.
    day1.staff(
        4,
        Command::Pause {
            window: 4,
            reason: PauseReason::Lunch,
        },
    );
    // What yesterday's hall shows just before the cut.
    wait_shown(&sim, "yesterday's devices show yesterday's hall", || {
        shows(&sim, 1, IndicatorMode::Calling, "A002")
            && shows(&sim, 2, IndicatorMode::Serving, "A003")
            && shows(&sim, 3, IndicatorMode::Calling, "A005")
            && matches!(indicator(&sim, 4), Some((IndicatorMode::Paused, _, _)))
            && evaluator_prompt(&sim, 1) == Some(true)
            && keypad_ticket(&sim, 1).as_deref() == Some("A002")
            && board_lines(&sim)
                .first()
                .is_some_and(|l| l.contains("A005"))
            && bx5k_lines(&sim).is_some_and(|l| l.iter().any(|l| l.contains("A005")))
    });
    // The session closes at 17:00; with extended service the windows may
    // still call, and the day is not over.
    clock.set(at(&config, yesterday, 17, 20));
    wait_until("the ticker closes the afternoon session", || {
        day1.events()
            .iter()
            .any(|e| matches!(e, Event::SessionClosed { slot: Some(1) }))
    });
    // 17:20, extended service: window 1 serves A002 and calls A006; the
    // evaluator asks for A002's rating when the power goes.
    day1.staff(1, Command::Start { window: 1 });
    day1.staff(
        1,
        Command::Finish {
            window: 1,
            outcome: Outcome::Done,
            reason: None,
        },
    );
    day1.staff(1, Command::CallNext { window: 1 });
    wait_shown(&sim, "window 1 calls A006 with its lamp on", || {
        shows(&sim, 1, IndicatorMode::Calling, "A006")
            && evaluator_prompt(&sim, 1) == Some(true)
            && board_lines(&sim).len() == 6
            && board_lines(&sim)[0].contains("A006")
    });
    let rated_yesterday = issued[1].0; // A002, finished at window 1
    let served_yesterday = issued[2].0; // A003, at window 2
    // A004 parked, A005 and A006 called, A007 and A008 waiting.
    let not_finished: BTreeSet<TicketId> = (3..8).map(|i| issued[i].0).collect();
    day1.power_cut();

    // ---- The night: every device loses power but the zone board. ----
    let all: Vec<Dev> = sim.devices().iter().map(dev).collect();
    let board: Dev = ("rs485".into(), Some(BOARD_UNIT));
    for d in all.iter().filter(|d| **d != board) {
        set_power(&sim, d, false);
    }
    let overnight = board_lines(&sim);
    assert!(
        overnight.len() == 6 && overnight[0].contains("A006"),
        "the board keeps yesterday's calls: {overnight:?}"
    );

    // ---- Day 2. 07:50: most devices are switched on before the box. ----
    clock.set(at(&config, today, 7, 50));
    let late_indicator = dev(&sim
        .window_device(3, Protocol::ModbusWindowIndicator)
        .unwrap());
    let late_keypad = dev(&sim.window_device(3, Protocol::ModbusKeypad).unwrap());
    let voice: Dev = ("voice".into(), None);
    let late = [late_indicator.clone(), late_keypad.clone()];
    for d in all.iter().filter(|d| **d != board) {
        if !late.contains(d) && *d != voice {
            set_power(&sim, d, true);
        }
    }
    for w in [1, 2, 4] {
        assert!(indicator(&sim, w).is_some_and(|(m, _, _)| m == IndicatorMode::Off));
    }
    let changes = record_changes(&world, &sim);
    // 08:00: the box boots; the voice chip comes up with it.
    clock.set(at(&config, today, 8, 0));
    let day2 = HallBox::power_on(config.clone(), &journal, &clock, || {
        set_power(&sim, &voice, true)
    });

    // Yesterday is swept and today opened by the calendar, without a request.
    wait_until("today opens by the calendar", || {
        day2.events()
            .iter()
            .any(|e| matches!(e, Event::DayOpened { date } if *date == today))
    });
    let events = day2.events();
    let swept = events.iter().find_map(|e| match e {
        Event::DayEnded {
            date,
            expired,
            signed_out,
        } => Some((*date, expired.clone(), signed_out.clone())),
        _ => None,
    });
    let (ended, expired, signed_out) = swept.expect("yesterday ended");
    assert_eq!(ended, yesterday);
    assert_eq!(
        expired.iter().copied().collect::<BTreeSet<_>>(),
        not_finished,
        "waiting, called and parked tickets expire"
    );
    assert_eq!(
        signed_out,
        vec![1, 3, 4],
        "staff not serving are signed out"
    );
    let (day, session, staffed, live, a003) = day2.query(move |h| {
        let staffed: Vec<(u32, String)> = h
            .windows()
            .filter_map(|w| w.staff.clone().map(|s| (w.number, s)))
            .collect();
        let live: Vec<String> = h
            .tickets()
            .filter(|t| t.status.is_live())
            .map(|t| t.number.to_string())
            .collect();
        let a003 = h.ticket(served_yesterday).map(|t| (t.status, t.window));
        (h.day(), h.state().session.is_some(), staffed, live, a003)
    });
    assert_eq!(day, Some(today));
    assert!(!session, "no session before 08:30");
    // The rules (ARCHITECTURE.md, "The business day"): a ticket being
    // served when the day ends may finish; its staff stays signed in.
    assert_eq!(staffed, vec![(2, "wang.wei".to_string())]);
    assert_eq!(live, vec!["A003".to_string()]);
    assert_eq!(a003, Some((TicketStatus::Serving, Some(2))));
    // The rating window 1's evaluator asked for at the cut timed out in the
    // night: it is recorded as not rated (never as good), and its lamp is off.
    wait_until(
        "yesterday's unanswered rating is recorded as not rated",
        || {
            day2.events().iter().any(|e| {
            matches!(e, Event::ServiceRated { ticket, rating: None, .. } if *ticket == rated_yesterday)
        })
        },
    );

    // Every powered device is found again and shows today's hall.
    for d in all.iter().filter(|d| !late.contains(d)) {
        wait_until(&format!("{d:?} is online"), || day2.link(d) == Link::Online);
    }
    wait_shown(&sim, "the devices show this morning's hall", || {
        idle(&sim, 1)
            && shows(&sim, 2, IndicatorMode::Serving, "A003")
            && idle(&sim, 4)
            && keypad_ticket(&sim, 1).as_deref() == Some("")
            && keypad_ticket(&sim, 4).as_deref() == Some("")
            && evaluator_prompt(&sim, 1) == Some(false)
            && evaluator_prompt(&sim, 2) == Some(false)
            && board_lines(&sim) == ["欢迎光临"]
            && bx5k_lines(&sim).is_some_and(|l| l.iter().all(|l| !l.contains('A')))
    });

    // 08:30: the ticker opens the morning session.
    clock.set(at(&config, today, 8, 30));
    wait_until("the morning session opens", || {
        day2.events()
            .iter()
            .any(|e| matches!(e, Event::SessionOpened { slot: Some(0), .. }))
    });
    // Window 3's indicator is switched on late: it gets its content.
    set_power(&sim, &late_indicator, true);
    wait_until(
        "the late indicator shows 欢迎光临",
        || matches!(indicator(&sim, 3), Some((IndicatorMode::Idle, _, l2)) if l2.contains("欢迎光临")),
    );
    assert_eq!(day2.link(&late_indicator), Link::Online);

    // Until today's first call, no device was given a ticket of yesterday
    // to show or say, except the one still being served at window 2. (The
    // board that stayed on shows what is left of its overnight lines while
    // it is rewritten, request by request; nothing else.)
    let before_first_call: Vec<SimChange> = changes.lock().unwrap().clone();
    let yesterday_numbers: Vec<&str> = numbers.iter().copied().filter(|n| *n != "A003").collect();
    for c in &before_first_call {
        let text = match &c.kind {
            ChangeKind::Shows(t) | ChangeKind::Spoke(t) => t,
            ChangeKind::Fault(_) => continue,
        };
        assert!(!text.contains("(changes lost)"));
        if (c.bus.as_str(), c.unit) == ("rs485", Some(BOARD_UNIT)) {
            let shown = text.split_once(": ").map_or("", |(_, s)| s);
            for line in shown.split(" / ") {
                assert!(
                    line == "欢迎光临" || overnight.iter().any(|l| l == line),
                    "the board that stayed on was given {line:?}: {text}"
                );
            }
            continue;
        }
        assert!(
            !yesterday_numbers.iter().any(|n| text.contains(n)),
            "a device showed yesterday's call this morning: {text} ({:?} {:?})",
            c.bus,
            c.unit
        );
        // Nor the staff signed out by the sweep, nor yesterday's pause.
        assert!(
            !["李娜", "张敏", "刘洋", "[paused"]
                .iter()
                .any(|s| text.contains(s)),
            "a device showed yesterday's staff this morning: {text}"
        );
        if text.contains("A003") {
            assert!(c.label.starts_with("窗口2 "), "{text}");
        }
    }

    // Numbers restart; A003 is skipped while yesterday's A003 lives.
    day2.staff(1, Command::SignIn { window: 1 });
    let today_tickets: Vec<(TicketId, String)> = (0..3).map(|_| day2.issue()).collect();
    let today_numbers: Vec<&str> = today_tickets.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(today_numbers, ["A001", "A002", "A004"]);
    // A key press calls today's first ticket; the indicator and boards show it.
    sim.press_key(1, KeypadKey::CallNext).unwrap();
    wait_shown(&sim, "window 1 shows today's A001", || {
        shows(&sim, 1, IndicatorMode::Calling, "A001")
            && keypad_ticket(&sim, 1).as_deref() == Some("A001")
            && board_lines(&sim)
                .first()
                .is_some_and(|l| l.contains("A001"))
            && board_lines(&sim).len() == 1
            && bx5k_lines(&sim).is_some_and(|l| l.first().is_some_and(|l| l.contains("A001")))
    });
    let called = day2.events().into_iter().find_map(|e| match e {
        Event::TicketCalled { ticket, window, .. } => Some((ticket, window)),
        _ => None,
    });
    assert_eq!(called, Some((today_tickets[0].0, 1)));
    wait_until("the call is spoken", || {
        sim.find("voice", None)
            .unwrap()
            .spoken
            .iter()
            .any(|s| s.contains("请A零零一号到一号窗口办理"))
    });

    // Window 3's keypad comes on last; its presses work at once.
    set_power(&sim, &late_keypad, true);
    wait_until("the late keypad is online", || {
        day2.link(&late_keypad) == Link::Online
    });
    day2.staff(3, Command::SignIn { window: 3 });
    sim.press_key(3, KeypadKey::CallNext).unwrap();
    wait_shown(&sim, "window 3 shows today's A002", || {
        shows(&sim, 3, IndicatorMode::Calling, "A002")
            && keypad_ticket(&sim, 3).as_deref() == Some("A002")
    });
    for d in &all {
        assert_eq!(day2.link(d), Link::Online, "{d:?}");
    }
    let boards = || (board_lines(&sim), bx5k_lines(&sim).unwrap_or_default());
    let today_calls = vec!["A002 → 3号窗口".to_string(), "A001 → 1号窗口".to_string()];
    wait_shown(&sim, "the boards show today's two calls", || {
        boards() == (today_calls.clone(), today_calls.clone())
    });

    // ---- 09:10: the box alone restarts (a crash, the watchdog); the
    // devices stay on. The boards keep today's calls (rebuilt from the
    // hall's tally), nothing is blanked or replaced on the way. ----
    day2.power_cut();
    let restart = changes.lock().unwrap().len();
    clock.set(at(&config, today, 9, 10));
    let again = HallBox::power_on(config.clone(), &journal, &clock, || {});
    for d in &all {
        wait_until(&format!("{d:?} is online again"), || {
            again.link(d) == Link::Online
        });
    }
    // A started bus knows nothing of what its displays hold: it writes
    // each one whole. The boards still show today's calls.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(boards(), (today_calls.clone(), today_calls.clone()));
    assert!(shows(&sim, 1, IndicatorMode::Calling, "A001"));
    assert!(shows(&sim, 3, IndicatorMode::Calling, "A002"));
    let after: Vec<SimChange> = changes.lock().unwrap()[restart..].to_vec();
    for c in &after {
        if let ChangeKind::Shows(text) = &c.kind {
            assert!(
                !text.contains("欢迎光临") || c.label.starts_with("窗口"),
                "a board lost today's calls at the restart: {text}"
            );
        }
    }
    again.power_cut();
    drop(world);
}
