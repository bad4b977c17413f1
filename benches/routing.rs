//! Call-next routing with 10,000 waiting tickets and 128 windows.
//! `cargo bench --bench routing`

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use hallq::config::Config;
use hallq::queue::{Actor, Command, Hall, IssueSource};

mod common;

const NOW: i64 = 1_795_485_600_000; // 2026-11-24 10:00 Shanghai

fn hall_with_waiting(windows: usize, services: usize, waiting: usize) -> Hall {
    let text = common::synthetic_hall(windows, services, 6);
    let config = Arc::new(Config::from_toml_str("bench", &text).unwrap_or_else(|e| panic!("{e}")));
    let mut hall = Hall::new(config);
    let mut now = NOW;
    while let Some(c) = hall.due_lifecycle(now) {
        hall.apply(&Actor::System, &c, now).expect("lifecycle");
    }
    for w in 0..windows {
        let me = Actor::Staff(format!("staff{w}"));
        hall.apply(
            &me,
            &Command::SignIn {
                window: w as u32 + 1,
            },
            now,
        )
        .expect("sign in");
    }
    for i in 0..waiting {
        now += 50;
        // One in ten is a priority ticket.
        let priority = match i % 20 {
            0 => Some("green".to_string()),
            10 => Some("elder".to_string()),
            _ => None,
        };
        let issue = Command::Issue {
            service: format!("s{}", (i * 7) % services),
            priority,
            person: None,
            source: IssueSource::Kiosk,
            cases: 1,
        };
        hall.apply(&Actor::Kiosk("k".into()), &issue, now)
            .expect("issue");
    }
    hall
}

fn routing(c: &mut Criterion) {
    let hall = hall_with_waiting(128, 40, 10_000);
    assert_eq!(hall.waiting(), 10_000);
    let now = NOW + 3_600_000;
    let mut group = c.benchmark_group("call_next_10k_waiting_128_windows");
    let mut w = 0u32;
    group.bench_function("decide", |b| {
        b.iter(|| {
            w = w % 128 + 1;
            let me = Actor::Staff(format!("staff{}", w - 1));
            let events = hall
                .decide(&me, &Command::CallNext { window: w }, now)
                .expect("call");
            assert_eq!(events.len(), 1);
            events
        })
    });
    // Decide and apply, then put a fresh ticket back so the queue stays at 10,000.
    let mut live = hall.clone();
    let mut t = now;
    let staff: Vec<Actor> = (0..128)
        .map(|i| Actor::Staff(format!("staff{i}")))
        .collect();
    group.bench_function("apply_call_and_finish_cycle", |b| {
        b.iter(|| {
            w = w % 128 + 1;
            t += 10;
            let me = &staff[w as usize - 1];
            live.apply(me, &Command::CallNext { window: w }, t)
                .expect("call");
            live.apply(me, &Command::Start { window: w }, t)
                .expect("start");
            live.apply(
                me,
                &Command::Finish {
                    window: w,
                    outcome: hallq::queue::Outcome::Done,
                    reason: None,
                },
                t,
            )
            .expect("finish");
            let issue = Command::Issue {
                service: format!("s{}", w % 40),
                priority: None,
                person: None,
                source: IssueSource::Kiosk,
                cases: 1,
            };
            live.apply(&Actor::Kiosk("k".into()), &issue, t)
                .expect("issue")
        })
    });
    group.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
