//! The device layer end to end: the owner on a temporary journal, the
//! embedded demo hall's devices simulated over real PTYs, and hallq's bus
//! tasks and reconciler in between. What a device shows is read back from
//! the simulator; what a key or rating did is read from the committed events.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hallq::config::Config;
use hallq::daemon::clock::{Clock, SystemClock};
use hallq::daemon::devices::opener;
use hallq::daemon::{HallHandle, Owner, Published};
use hallq::devices::bus::{Devices, Link};
use hallq::devices::evaluator::Rating;
use hallq::devices::indicator::IndicatorMode;
use hallq::devices::keypad::KeypadKey;
use hallq::devices::profile::Protocol;
use hallq::queue::command::Command;
use hallq::queue::event::Event;
use hallq::queue::types::{Actor, IssueSource, Outcome, PauseReason, TicketId};
use hallq::sim::devices::{Fault, SimContent, SimDeviceView, SimHall, SimSpec, SlaveContent};

/// Generous: the machine running the tests may be busy.
const WAIT: Duration = Duration::from_secs(10);

struct Rig {
    _dir: tempfile::TempDir,
    owner: Owner,
    sim: SimHall,
    devices: Devices,
    events: Arc<Mutex<Vec<Arc<Published>>>>,
}

impl Rig {
    async fn start() -> Rig {
        let config = Arc::new(Config::demo());
        let dir = tempfile::tempdir().unwrap();
        let owner = hallq::daemon::start(config.clone(), &dir.path().join("j.sqlite"), SystemClock)
            .unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let mut rx = owner.handle.subscribe();
        let sink = events.clone();
        tokio::spawn(async move {
            while let Ok(p) = rx.recv().await {
                sink.lock().unwrap().push(p);
            }
        });
        let mut spec = SimSpec::from_config(&config);
        spec.speech_ms_per_char = 2;
        let sim = SimHall::start(spec).unwrap();
        let devices = Devices::start(
            config,
            owner.handle.clone(),
            opener(Some(sim.clone())),
            Arc::new(|| SystemClock.now_ms()),
        )
        .await
        .unwrap();
        // The demo hall is open around the clock: the first tick opens the day.
        owner.handle.tick();
        let rig = Rig {
            _dir: dir,
            owner,
            sim,
            devices,
            events,
        };
        rig.until("the day is open", || {
            rig.events_where(|e| matches!(e, Event::SessionOpened { .. }))
                .len()
                == 1
        })
        .await;
        rig
    }

    fn handle(&self) -> &HallHandle {
        &self.owner.handle
    }

    async fn staff(&self, window: u32, command: Command) -> Result<(), String> {
        let actor = Actor::Staff(format!("w{window:02}"));
        self.handle()
            .submit(actor, "test", command)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn sign_in(&self, window: u32) {
        self.staff(window, Command::SignIn { window })
            .await
            .unwrap();
    }

    /// Issues a ticket for the first service window `window` serves.
    async fn issue_for(&self, window: u32) -> (TicketId, String) {
        let service = Config::demo().window(window).unwrap().services[0]
            .service
            .clone();
        let applied = self
            .handle()
            .submit(
                Actor::Kiosk("k".into()),
                "test",
                Command::Issue {
                    service,
                    priority: None,
                    person: None,
                    source: IssueSource::Kiosk,
                    cases: 1,
                },
            )
            .await
            .unwrap();
        match &applied.events[0] {
            Event::TicketIssued { ticket, number, .. } => (*ticket, number.clone()),
            e => panic!("{e:?}"),
        }
    }

    fn events_where(&self, f: impl Fn(&Event) -> bool) -> Vec<Arc<Published>> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|p| f(&p.event))
            .cloned()
            .collect()
    }

    fn device(&self, window: u32, protocol: Protocol) -> SimDeviceView {
        self.sim.window_device(window, protocol).unwrap()
    }

    fn zone_device(&self, label_prefix: &str) -> SimDeviceView {
        self.sim
            .devices()
            .into_iter()
            .find(|d| d.label.starts_with(label_prefix))
            .unwrap()
    }

    fn indicator(&self, window: u32) -> Option<(IndicatorMode, String, String)> {
        match self.device(window, Protocol::ModbusWindowIndicator).content {
            SimContent::Modbus(SlaveContent::Indicator(Some(c))) => {
                Some((c.mode, c.line1, c.line2))
            }
            _ => None,
        }
    }

    fn keypad(&self, window: u32) -> (String, u32, usize) {
        match self.device(window, Protocol::ModbusKeypad).content {
            SimContent::Modbus(SlaveContent::Keypad { screen, pending }) => {
                (screen.ticket, screen.waiting, pending.len())
            }
            other => panic!("{other:?}"),
        }
    }

    fn evaluator_prompt(&self, window: u32) -> bool {
        match self.device(window, Protocol::ModbusEvaluator).content {
            SimContent::Modbus(SlaveContent::Evaluator { screen, .. }) => screen.prompt,
            other => panic!("{other:?}"),
        }
    }

    fn link(&self, bus: &str, unit: u8) -> Link {
        self.devices
            .statuses()
            .into_iter()
            .find(|d| d.info.bus == bus && d.info.unit == Some(unit))
            .unwrap()
            .health
            .link
    }

    async fn until(&self, what: &str, f: impl Fn() -> bool) {
        let start = Instant::now();
        while !f() {
            if start.elapsed() > WAIT {
                for d in self
                    .devices
                    .statuses()
                    .iter()
                    .filter(|d| d.health.link != Link::Online)
                {
                    eprintln!(
                        "{} {:?} {:?}: {:?}",
                        d.info.bus, d.info.unit, d.info.serves, d.health
                    );
                }
                for bus in ["floor1", "floor2"] {
                    eprintln!("{bus}: {:?}", self.sim.bus_stats(bus));
                    let frames = self.sim.frames(bus);
                    for f in frames.iter().rev().take(5) {
                        eprintln!("  {f:?}");
                    }
                }
                panic!("timed out waiting until {what}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn shows_calling(rig: &Rig, window: u32, number: &str) -> bool {
    matches!(rig.indicator(window), Some((IndicatorMode::Calling, l1, _)) if l1 == number)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_shows_on_the_indicator_and_the_board_and_is_spoken_twice() {
    let rig = Rig::start().await;
    rig.until("window 1 shows 欢迎光临", || {
        matches!(rig.indicator(1), Some((IndicatorMode::Idle, _, l2)) if l2.contains("欢迎光临"))
    })
    .await;
    rig.sign_in(1).await;
    let (_, number) = rig.issue_for(1).await;
    rig.staff(1, Command::CallNext { window: 1 }).await.unwrap();
    rig.until("window 1 shows the call", || {
        shows_calling(&rig, 1, &number)
    })
    .await;
    let (_, _, line2) = rig.indicator(1).unwrap();
    assert!(line2.contains("1号窗口"), "{line2}");
    rig.until("the zone board shows the call first", || {
        match rig.zone_device("f1-general board").content {
            SimContent::Modbus(SlaveContent::Board(b)) => {
                b.lines.first().is_some_and(|l| l.contains(&number))
            }
            _ => false,
        }
    })
    .await;
    let digits: String = number
        .chars()
        .map(|c| match c {
            '0' => '零',
            '1' => '一',
            '2' => '二',
            '3' => '三',
            c => c,
        })
        .collect();
    let sentence = format!("请{digits}号到一号窗口办理");
    rig.until("the call is spoken twice, in full", || {
        let voice = rig.zone_device("f1-general voice");
        voice
            .spoken
            .iter()
            .filter(|s| s.contains(&sentence))
            .count()
            == 2
    })
    .await;
    assert_eq!(rig.zone_device("f1-general voice").counters.cut_offs, 0);
    // A recall right after the call is merged into it (spoken once more at
    // most 5 s after the call started is what the citizen already heard).
    rig.staff(1, Command::Recall { window: 1 }).await.unwrap();
    rig.until("the recall is merged", || {
        rig.devices
            .voice_stats()
            .iter()
            .any(|(bus, stats)| bus == "voice-f1-general" && stats.merged == 1)
    })
    .await;
    // Serving: the staff name and job number.
    rig.staff(1, Command::Start { window: 1 }).await.unwrap();
    rig.until(
        "window 1 shows serving",
        || matches!(rig.indicator(1), Some((IndicatorMode::Serving, l1, _)) if l1 == number),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keypad_keys_are_the_counter_commands_and_refused_without_staff() {
    let rig = Rig::start().await;
    let (_, number) = rig.issue_for(2).await;
    // Nobody signed in at window 2: at rest the keypad shows the waiting
    // count; a key is refused, acknowledged, and 请先签到 shown for a while.
    rig.until("the keypad shows the waiting count", || {
        let (ticket, waiting, _) = rig.keypad(2);
        ticket.is_empty() && waiting >= 1
    })
    .await;
    rig.sim.press_key(2, KeypadKey::CallNext).unwrap();
    rig.until("the refusal is shown", || rig.keypad(2).0 == "请先签到")
        .await;
    rig.until("the press is acknowledged", || rig.keypad(2).2 == 0)
        .await;
    rig.until("the screen returns to rest", || rig.keypad(2).0.is_empty())
        .await;
    assert!(
        rig.events_where(|e| matches!(e, Event::TicketCalled { .. }))
            .is_empty()
    );

    rig.sign_in(2).await;
    rig.until("the keypad shows the waiting count", || {
        let (ticket, waiting, _) = rig.keypad(2);
        ticket.is_empty() && waiting >= 1
    })
    .await;
    rig.sim.press_key(2, KeypadKey::CallNext).unwrap();
    rig.until("the key called the ticket", || {
        !rig.events_where(|e| matches!(e, Event::TicketCalled { window: 2, .. }))
            .is_empty()
    })
    .await;
    let called = &rig.events_where(|e| matches!(e, Event::TicketCalled { window: 2, .. }))[0];
    assert_eq!(called.actor, "staff:w02");
    assert!(
        called.client.starts_with("device:floor1/"),
        "{}",
        called.client
    );
    rig.until("the keypad shows the ticket", || rig.keypad(2).0 == number)
        .await;
    rig.until("the indicator shows the call", || {
        shows_calling(&rig, 2, &number)
    })
    .await;

    for (key, what) in [
        (KeypadKey::Recall, "recalled"),
        (KeypadKey::Start, "started"),
        (KeypadKey::Finish, "finished"),
    ] {
        rig.sim.press_key(2, key).unwrap();
        rig.until(what, || {
            !rig.events_where(|e| match key {
                KeypadKey::Recall => matches!(e, Event::TicketRecalled { window: 2, .. }),
                KeypadKey::Start => matches!(e, Event::ServiceStarted { window: 2, .. }),
                _ => matches!(
                    e,
                    Event::TicketFinished {
                        window: 2,
                        outcome: Outcome::Done,
                        ..
                    }
                ),
            })
            .is_empty()
        })
        .await;
    }
    // A refused key is shown on the keypad, then the screen returns.
    rig.sim.press_key(2, KeypadKey::Start).unwrap();
    rig.until("the refusal is shown", || {
        let (text, _, pending) = rig.keypad(2);
        pending == 0 && !text.is_empty()
    })
    .await;
    rig.until("the screen returns", || rig.keypad(2).0.is_empty())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratings_are_journaled_and_no_rating_is_not_rated() {
    let rig = Rig::start().await;
    rig.sign_in(3).await;
    let (first, _) = rig.issue_for(3).await;
    let (second, _) = rig.issue_for(3).await;
    let serve_one = |rig: &'static Rig| async move {
        rig.staff(3, Command::CallNext { window: 3 }).await.unwrap();
        rig.staff(3, Command::Start { window: 3 }).await.unwrap();
        rig.staff(
            3,
            Command::Finish {
                window: 3,
                outcome: Outcome::Done,
                reason: None,
            },
        )
        .await
        .unwrap();
    };
    let rig: &'static Rig = Box::leak(Box::new(rig));
    serve_one(rig).await;
    rig.until("the evaluator asks 请评价", || rig.evaluator_prompt(3))
        .await;
    rig.sim.rate(3, Rating::Satisfied.code()).unwrap();
    rig.until("the rating is journaled", || {
        !rig.events_where(|e| {
            matches!(e, Event::ServiceRated { ticket, rating: Some(Rating::Satisfied), .. } if *ticket == first)
        })
        .is_empty()
    })
    .await;
    rig.until("the lamp goes off", || !rig.evaluator_prompt(3))
        .await;

    // The second citizen leaves without rating. Calling the next citizen
    // does not cut the rating off (the lamp stays on)...
    serve_one(rig).await;
    rig.until("the evaluator asks again", || rig.evaluator_prompt(3))
        .await;
    let (third, _) = rig.issue_for(3).await;
    rig.staff(3, Command::CallNext { window: 3 }).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        rig.evaluator_prompt(3),
        "calling must not close the evaluation"
    );
    assert!(
        rig.events_where(|e| matches!(e, Event::ServiceRated { rating: None, .. }))
            .is_empty()
    );
    // ...finishing the next one closes it, as not rated.
    rig.staff(3, Command::Start { window: 3 }).await.unwrap();
    let finish = Command::Finish {
        window: 3,
        outcome: Outcome::Done,
        reason: None,
    };
    rig.staff(3, finish).await.unwrap();
    rig.until("not rated is journaled", || {
        !rig.events_where(
            |e| matches!(e, Event::ServiceRated { ticket, rating: None, .. } if *ticket == second),
        )
        .is_empty()
    })
    .await;
    // The third is rated; a second press of the same citizen records nothing.
    rig.sim.rate(3, Rating::VeryDissatisfied.code()).unwrap();
    rig.until("the third's rating is journaled", || {
        !rig.events_where(|e| {
            matches!(e, Event::ServiceRated { ticket, rating: Some(Rating::VeryDissatisfied), .. } if *ticket == third)
        })
        .is_empty()
    })
    .await;
    rig.until("the lamp goes off", || !rig.evaluator_prompt(3))
        .await;
    let rated = rig
        .events_where(|e| matches!(e, Event::ServiceRated { .. }))
        .len();
    rig.sim.rate(3, Rating::Satisfied.code()).unwrap();
    rig.until("the rating is acknowledged", || {
        matches!(rig.device(3, Protocol::ModbusEvaluator).content,
            SimContent::Modbus(SlaveContent::Evaluator { ref pending, .. }) if pending.is_empty())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        rig.events_where(|e| matches!(e, Event::ServiceRated { .. }))
            .len(),
        rated
    );
}

/// Every fault kind on window 5's indicator: it goes offline, window 6 on
/// the same bus keeps being served, and once the fault clears window 5 is
/// online again and shows the right thing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_is_survived_and_the_device_resynced() {
    let rig = Rig::start().await;
    rig.sign_in(6).await;
    rig.sign_in(5).await;
    let unit5 = rig.device(5, Protocol::ModbusWindowIndicator).unit.unwrap();
    let bus = rig.device(5, Protocol::ModbusWindowIndicator).bus;
    rig.until("window 5 is online", || {
        rig.link(&bus, unit5) == Link::Online
    })
    .await;
    let mut paused = false;
    for fault in [
        Fault::Silent,
        Fault::Unplugged,
        Fault::Garbage,
        Fault::BadCrc,
        Fault::Slow(300),
    ] {
        rig.sim.set_fault(&bus, Some(unit5), fault).unwrap();
        // A change for window 5 makes the bus talk to it.
        let command = if paused {
            Command::Resume { window: 5 }
        } else {
            Command::Pause {
                window: 5,
                reason: PauseReason::Break,
            }
        };
        rig.staff(5, command).await.unwrap();
        paused = !paused;
        rig.until(&format!("window 5 is offline under {fault}"), || {
            rig.link(&bus, unit5) == Link::Offline
        })
        .await;
        // Window 6, on the same bus, is still served.
        let (_, number) = rig.issue_for(6).await;
        rig.staff(6, Command::CallNext { window: 6 }).await.unwrap();
        rig.until(&format!("window 6 shows its call under {fault}"), || {
            shows_calling(&rig, 6, &number)
        })
        .await;
        rig.staff(6, Command::Start { window: 6 }).await.unwrap();
        let done = Command::Finish {
            window: 6,
            outcome: Outcome::Incomplete,
            reason: None,
        };
        rig.staff(6, done).await.unwrap();
        rig.sim.set_fault(&bus, Some(unit5), Fault::None).unwrap();
        rig.until(&format!("window 5 is back after {fault}"), || {
            rig.link(&bus, unit5) == Link::Online
        })
        .await;
        let mode = if paused {
            IndicatorMode::Paused
        } else {
            IndicatorMode::Idle
        };
        rig.until(
            &format!("window 5 is resynced after {fault}"),
            || matches!(rig.indicator(5), Some((m, _, _)) if m == mode),
        )
        .await;
    }
    let status = rig
        .devices
        .statuses()
        .into_iter()
        .find(|d| d.info.bus == bus && d.info.unit == Some(unit5))
        .unwrap();
    assert!(status.health.went_offline >= 5, "{status:?}");
    assert!(
        status.health.timeouts > 0 && status.health.crc_errors > 0,
        "{status:?}"
    );
}

/// Calls in one zone in quick succession are spoken in call order, each
/// in full and twice; none cuts another off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_one_zone_are_spoken_in_order_without_cutting_off() {
    let rig = Rig::start().await;
    for w in 1..=3 {
        rig.sign_in(w).await;
        rig.issue_for(w).await;
    }
    for w in 1..=3 {
        rig.staff(w, Command::CallNext { window: w }).await.unwrap();
    }
    let windows = ["一", "二", "三"];
    rig.until("all three calls are spoken twice", || {
        rig.zone_device("f1-general voice").spoken.len() >= 6
    })
    .await;
    let spoken = rig.zone_device("f1-general voice").spoken;
    let order: Vec<&str> = spoken
        .iter()
        .map(|s| {
            windows
                .iter()
                .find(|w| s.contains(&format!("到{w}号窗口")))
                .copied()
                .unwrap_or("?")
        })
        .collect();
    assert_eq!(order, ["一", "一", "二", "二", "三", "三"], "{spoken:?}");
    assert_eq!(rig.zone_device("f1-general voice").counters.cut_offs, 0);
}

/// Dead devices are probed, but not at the expense of the live ones: with
/// 18 devices of floor1 unplugged, a key press at window 1 still calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_dead_devices_do_not_crowd_out_key_presses() {
    let rig = Rig::start().await;
    rig.until("floor1 is up", || {
        rig.devices
            .statuses()
            .iter()
            .filter(|d| d.info.bus == "floor1")
            .all(|d| d.health.link == Link::Online)
    })
    .await;
    for w in 4..=12 {
        for p in [Protocol::ModbusWindowIndicator, Protocol::ModbusEvaluator] {
            let d = rig.device(w, p);
            rig.sim.set_fault(&d.bus, d.unit, Fault::Unplugged).unwrap();
        }
    }
    // The bus finds out they are gone as it polls and checks them; each
    // costs one timeout once, then they are retried and probed spaced out.
    tokio::time::sleep(Duration::from_secs(1)).await;
    rig.sign_in(1).await;
    rig.issue_for(1).await;
    let pressed = Instant::now();
    rig.sim.press_key(1, KeypadKey::CallNext).unwrap();
    rig.until("the key at window 1 called", || {
        !rig.events_where(|e| matches!(e, Event::TicketCalled { window: 1, .. }))
            .is_empty()
    })
    .await;
    assert!(
        pressed.elapsed() < Duration::from_secs(3),
        "a press took {:?} with 18 dead devices on the bus",
        pressed.elapsed()
    );
}

/// A short power cut blanks a few indicators between two polls of nothing:
/// the bus's check reads back what they hold and rewrites them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indicators_blanked_by_a_short_power_cut_are_rewritten() {
    let rig = Rig::start().await;
    for w in 5..=7 {
        rig.until("the indicator shows 欢迎光临", || {
            matches!(rig.indicator(w), Some((IndicatorMode::Idle, _, l2)) if l2.contains("欢迎光临"))
        })
        .await;
    }
    for w in 5..=7 {
        let d = rig.device(w, Protocol::ModbusWindowIndicator);
        rig.sim.set_fault(&d.bus, d.unit, Fault::Unplugged).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for w in 5..=7 {
        let d = rig.device(w, Protocol::ModbusWindowIndicator);
        rig.sim.set_fault(&d.bus, d.unit, Fault::None).unwrap();
        assert!(
            !matches!(rig.indicator(w), Some((IndicatorMode::Idle, _, _))),
            "blank after the power cut"
        );
    }
    for w in 5..=7 {
        rig.until("the indicator is rewritten", || {
            matches!(rig.indicator(w), Some((IndicatorMode::Idle, _, l2)) if l2.contains("欢迎光临"))
        })
        .await;
    }
}

/// A keypad that answers too late for the bus's timeout is taken offline
/// (its late answers are not taken for other devices'); its presses wait
/// in it and are applied once it answers in time again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keypad_too_slow_for_the_timeout_goes_offline_and_keeps_its_presses() {
    let rig = Rig::start().await;
    rig.sign_in(1).await;
    rig.sign_in(2).await;
    rig.issue_for(1).await;
    rig.issue_for(2).await;
    let slow = rig.device(1, Protocol::ModbusKeypad);
    rig.sim
        .set_fault(&slow.bus, slow.unit, Fault::Slow(200))
        .unwrap();
    rig.sim.press_key(1, KeypadKey::CallNext).unwrap();
    rig.until("the slow keypad is offline", || {
        rig.link(&slow.bus, slow.unit.unwrap()) == Link::Offline
    })
    .await;
    // Its neighbour on the bus works.
    rig.sim.press_key(2, KeypadKey::CallNext).unwrap();
    rig.until("window 2's key called", || {
        !rig.events_where(|e| matches!(e, Event::TicketCalled { window: 2, .. }))
            .is_empty()
    })
    .await;
    assert!(
        rig.events_where(|e| matches!(e, Event::TicketCalled { window: 1, .. }))
            .is_empty()
    );
    rig.sim
        .set_fault(&slow.bus, slow.unit, Fault::None)
        .unwrap();
    rig.until("window 1's waiting press is applied", || {
        rig.events_where(|e| matches!(e, Event::TicketCalled { window: 1, .. }))
            .len()
            == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        rig.events_where(|e| matches!(e, Event::TicketCalled { .. }))
            .len(),
        2,
        "each press applied once"
    );
}

/// A call made while the zone's voice chip does not answer is spoken once
/// the chip is back, not lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_spoken_after_the_voice_chip_comes_back() {
    let rig = Rig::start().await;
    rig.sign_in(1).await;
    rig.issue_for(1).await;
    let chip = rig.zone_device("f1-general voice");
    rig.sim.set_fault(&chip.bus, None, Fault::Silent).unwrap();
    rig.staff(1, Command::CallNext { window: 1 }).await.unwrap();
    rig.until("the chip is offline", || {
        rig.devices
            .statuses()
            .iter()
            .any(|d| d.info.bus == chip.bus && d.health.link == Link::Offline)
    })
    .await;
    assert!(rig.zone_device("f1-general voice").spoken.is_empty());
    rig.sim.set_fault(&chip.bus, None, Fault::None).unwrap();
    rig.until("the call is spoken twice", || {
        rig.zone_device("f1-general voice").spoken.len() == 2
    })
    .await;
}

/// A bus whose port cannot be opened (a USB adapter pulled out): all its
/// devices show offline within seconds, the other buses carry on, and the
/// bus keeps trying to open its port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_port_takes_its_devices_offline_and_spares_the_other_buses() {
    let config = Arc::new(Config::demo());
    let dir = tempfile::tempdir().unwrap();
    let owner =
        hallq::daemon::start(config.clone(), &dir.path().join("j.sqlite"), SystemClock).unwrap();
    let sim = SimHall::start(SimSpec::from_config(&config)).unwrap();
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut sim_open = opener(Some(sim.clone()));
    let counted = attempts.clone();
    let open = move |bus: &hallq::config::BusConfig| -> hallq::devices::bus::task::Opener {
        if bus.name == "floor1" {
            let counted = counted.clone();
            Box::new(move || {
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Err(std::io::Error::other("no such device"))
            })
        } else {
            sim_open(bus)
        }
    };
    let devices = Devices::start(
        config.clone(),
        owner.handle.clone(),
        open,
        Arc::new(|| SystemClock.now_ms()),
    )
    .await
    .unwrap();
    let start = Instant::now();
    loop {
        let statuses = devices.statuses();
        let floor1_offline = statuses
            .iter()
            .filter(|d| d.info.bus == "floor1")
            .all(|d| d.health.link == Link::Offline && d.health.last_error == Some("port_error"));
        let floor2_online = statuses
            .iter()
            .filter(|d| d.info.bus == "floor2")
            .any(|d| d.health.link == Link::Online);
        if floor1_offline && floor2_online {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "floor1 all offline: {floor1_offline}, floor2 online: {floor2_online}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let tries = attempts.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        (2..=20).contains(&tries),
        "the port is retried, without spinning: {tries} attempts"
    );
}

/// At real bus speed (9600 baud, wire-speed simulation) floor1 cannot poll
/// its 36 keypads and evaluators every 200 ms; busy windows are polled a
/// little earlier, but a quiet window's key is still read within seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_wire_speed_a_quiet_window_s_key_is_still_read() {
    let text = hallq::config::DEMO_HALL_TOML.replacen(
        "name = \"floor1\"\nport = \"sim\"\n",
        "name = \"floor1\"\nport = \"sim\"\nwire_speed = true\n",
        1,
    );
    assert_ne!(text, hallq::config::DEMO_HALL_TOML);
    let config = Arc::new(Config::from_toml_str("wire", &text).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let owner =
        hallq::daemon::start(config.clone(), &dir.path().join("j.sqlite"), SystemClock).unwrap();
    let sim = SimHall::start(SimSpec::from_config(&config)).unwrap();
    let _devices = Devices::start(
        config.clone(),
        owner.handle.clone(),
        opener(Some(sim.clone())),
        Arc::new(|| SystemClock.now_ms()),
    )
    .await
    .unwrap();
    owner.handle.tick();
    let mut rx = owner.handle.subscribe();
    let handle = owner.handle.clone();
    let staff = |w: u32| Actor::Staff(format!("w{w:02}"));
    for w in 1..=10 {
        handle
            .submit(staff(w), "t", Command::SignIn { window: w })
            .await
            .unwrap();
    }
    // Windows 1–3 are busy: many tickets wait for them.
    for _ in 0..20 {
        for w in 1..=3 {
            let service = config.window(w).unwrap().services[0].service.clone();
            handle
                .submit(
                    Actor::Kiosk("k".into()),
                    "t",
                    Command::Issue {
                        service,
                        priority: None,
                        person: None,
                        source: IssueSource::Kiosk,
                        cases: 1,
                    },
                )
                .await
                .unwrap();
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pressed = Instant::now();
    sim.press_key(10, KeypadKey::Pause).unwrap();
    let deadline = Duration::from_secs(8);
    loop {
        match tokio::time::timeout(deadline.saturating_sub(pressed.elapsed()), rx.recv()).await {
            Ok(Ok(p)) if matches!(p.event, Event::WindowPaused { window: 10, .. }) => break,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!(
                "window 10's pause key not read within {deadline:?}: {:?}",
                other.map(|r| r.map(|p| p.seq))
            ),
        }
    }
    eprintln!("quiet window's key read after {:?}", pressed.elapsed());
}
