//! The owner task end to end: durable commands, publish after commit,
//! identical state after a restart, refusals change nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use hallq::config::Config;
use hallq::daemon::clock::Clock;
use hallq::daemon::{JOURNAL_FILE, SubmitError, start};
use hallq::journal::Journal;
use hallq::queue::{Actor, Command, Event, IssueSource, Outcome};

#[derive(Clone)]
struct TestClock(Arc<AtomicI64>);
impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

// 2026-11-24 10:00 in Shanghai.
const T0: i64 = 1_795_485_600_000;

fn issue(service: &str) -> Command {
    Command::Issue {
        service: service.into(),
        priority: None,
        person: None,
        source: IssueSource::Kiosk,
        cases: 1,
    }
}

#[test]
fn commands_survive_a_restart_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(JOURNAL_FILE);
    let config = Arc::new(Config::demo());
    let clock = TestClock(Arc::new(AtomicI64::new(T0)));
    let window = config.windows()[0].number;
    let service = config.windows()[0].services[0].service.clone();
    let staff = config.file.staff[0].account.clone();
    let me = Actor::Staff(staff.clone());

    let owner = start(config.clone(), &path, clock.clone()).unwrap();
    let h = owner.handle.clone();
    let mut published = h.subscribe();
    let first = h
        .submit_blocking(Actor::Kiosk("k".into()), "test", issue(&service))
        .unwrap();
    assert!(first.first_seq > 0);
    // Published only after commit, with the journal's sequence number.
    let mut seen = Vec::new();
    while let Ok(p) = published.try_recv() {
        seen.push(p);
    }
    let issued = seen
        .iter()
        .find(|p| matches!(p.event, Event::TicketIssued { .. }))
        .expect("issue published");
    assert_eq!(issued.seq, first.first_seq + first.events.len() as u64 - 1);
    {
        let j = Journal::open(&path).unwrap();
        assert!(
            j.last_seq() >= issued.seq,
            "published before it was in the journal"
        );
    }
    h.submit_blocking(me.clone(), "test", Command::SignIn { window })
        .unwrap();
    h.submit_blocking(Actor::Kiosk("k".into()), "test", issue(&service))
        .unwrap();
    clock.0.fetch_add(60_000, Ordering::SeqCst);
    let called = h
        .submit_blocking(me.clone(), "test", Command::CallNext { window })
        .unwrap();
    assert!(matches!(called.events[..], [Event::TicketCalled { .. }]));
    h.submit_blocking(me.clone(), "test", Command::Start { window })
        .unwrap();
    // A refusal changes nothing and commits nothing.
    let before = Journal::open(&path).unwrap().last_seq();
    let refused = h.submit_blocking(me.clone(), "test", Command::CallNext { window });
    assert!(
        matches!(refused, Err(SubmitError::Refused(ref r)) if r.code == "ticket_in_progress"),
        "{refused:?}"
    );
    assert_eq!(Journal::open(&path).unwrap().last_seq(), before);
    h.submit_blocking(
        me.clone(),
        "test",
        Command::Finish {
            window,
            outcome: Outcome::Done,
            reason: None,
        },
    )
    .unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let state_before = rt
        .block_on(h.query(|hall, _| hall.state().clone()))
        .unwrap();
    rt.block_on(h.shutdown());
    drop(h);
    owner.thread.join().unwrap().unwrap();

    // Restart on the same journal: the same hall.
    let owner = start(config.clone(), &path, clock.clone()).unwrap();
    let state_after = rt
        .block_on(owner.handle.query(|hall, _| hall.state().clone()))
        .unwrap();
    assert_eq!(state_before, state_after);
    assert_eq!(state_after.tickets.len(), 2);
    // The configuration is recorded once, not at every start.
    let j = Journal::open(&path).unwrap();
    let mut configs = 0;
    j.for_each_from(0, |r| {
        if r.kind == "config_applied" {
            configs += 1;
        }
        Ok::<(), hallq::journal::JournalError>(())
    })
    .unwrap();
    assert_eq!(configs, 1);
    rt.block_on(owner.handle.shutdown());
    owner.thread.join().unwrap().unwrap();
}

#[test]
fn concurrent_submitters_never_share_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(JOURNAL_FILE);
    let config = Arc::new(Config::demo());
    let clock = TestClock(Arc::new(AtomicI64::new(T0)));
    let owner = start(config.clone(), &path, clock).unwrap();
    // A service without caps.
    let service = config
        .services()
        .iter()
        .find(|s| {
            s.daily_cap.is_none() && s.issue_windows.is_empty() && s.per_person_daily_cap.is_none()
        })
        .expect("an uncapped service")
        .id
        .clone();
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let h = owner.handle.clone();
            let service = service.clone();
            std::thread::spawn(move || {
                (0..20)
                    .filter_map(|_| {
                        h.submit_blocking(Actor::Kiosk(format!("k{i}")), "t", issue(&service))
                            .ok()
                    })
                    .filter_map(|a| match &a.events[..] {
                        [.., Event::TicketIssued { number, .. }] => Some(number.clone()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut numbers: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(numbers.len(), 320);
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 320, "a number was issued twice");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(owner.handle.shutdown());
    owner.thread.join().unwrap().unwrap();
}

#[test]
fn an_idempotency_key_applies_once_even_across_a_restart() {
    use hallq::daemon::Submission;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(JOURNAL_FILE);
    let config = Arc::new(Config::demo());
    let clock = TestClock(Arc::new(AtomicI64::new(T0)));
    let service = config.windows()[0].services[0].service.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let kiosk = Actor::Kiosk("demo-kiosk".into());
    let with_key = |key: &str| Submission {
        actor: kiosk.clone(),
        client: "10.1.2.3".into(),
        idempotency_key: Some(key.into()),
        command: issue(&service),
    };
    let number_of = |a: &hallq::daemon::Applied| match &a.events[..] {
        [.., Event::TicketIssued { number, .. }] => number.clone(),
        other => panic!("{other:?}"),
    };

    let owner = start(config.clone(), &path, clock.clone()).unwrap();
    let h = owner.handle.clone();
    // A double tap: both copies race into the owner, one ticket comes out.
    let (a, b) = rt.block_on(async {
        tokio::join!(
            h.submit_with(with_key("tap-1")),
            h.submit_with(with_key("tap-1"))
        )
    });
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(number_of(&a), number_of(&b));
    assert!(
        a.replayed != b.replayed,
        "exactly one of the two was applied"
    );
    // A later retry gets the remembered answer.
    let retry = rt.block_on(h.submit_with(with_key("tap-1"))).unwrap();
    assert!(retry.replayed);
    assert_eq!(number_of(&retry), number_of(&a));
    // Another key is another ticket; the same key from another actor too.
    let other = rt.block_on(h.submit_with(with_key("tap-2"))).unwrap();
    assert_ne!(number_of(&other), number_of(&a));
    let tickets = rt
        .block_on(h.query(|hall, _| hall.tickets().count()))
        .unwrap();
    assert_eq!(tickets, 2);
    rt.block_on(h.shutdown());
    drop(h);
    owner.thread.join().unwrap().unwrap();

    // After a restart (say the answer was lost in a crash) the retry still gets the first answer.
    let owner = start(config, &path, clock).unwrap();
    let h = owner.handle.clone();
    let after = rt.block_on(h.submit_with(with_key("tap-1"))).unwrap();
    assert!(after.replayed);
    assert_eq!(number_of(&after), number_of(&a));
    let tickets = rt
        .block_on(h.query(|hall, _| hall.tickets().count()))
        .unwrap();
    assert_eq!(tickets, 2, "the retry after restart issued again");
    // The key names its request: a different command with it is refused,
    // not answered with the first ticket as if it had been issued.
    let other_service = config_services_other_than(&service);
    let reused = Submission {
        command: issue(&other_service),
        ..with_key("tap-1")
    };
    let refused = rt.block_on(h.submit_with(reused)).unwrap_err();
    assert!(
        matches!(&refused, hallq::daemon::SubmitError::Refused(r) if r.code == "idempotency_key_reused"),
        "{refused:?}"
    );
    // …also when both come in one batch (the first one is applied).
    let (first, second) = rt.block_on(async {
        tokio::join!(
            h.submit_with(with_key("tap-3")),
            h.submit_with(Submission {
                command: issue(&other_service),
                ..with_key("tap-3")
            })
        )
    });
    let outcomes = [first.is_ok(), second.is_ok()];
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{outcomes:?}");
    let tickets = rt
        .block_on(h.query(|hall, _| hall.tickets().count()))
        .unwrap();
    assert_eq!(tickets, 3, "only tap-3's first request issued");
    rt.block_on(h.shutdown());
    drop(h);
    owner.thread.join().unwrap().unwrap();
}

/// A demo service that is not `service`.
fn config_services_other_than(service: &str) -> String {
    Config::demo()
        .services()
        .iter()
        .map(|s| s.id.clone())
        .find(|id| id != service)
        .expect("a second service")
}

#[test]
fn a_panicking_read_does_not_take_the_hall_down() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(JOURNAL_FILE);
    let config = Arc::new(Config::demo());
    let clock = TestClock(Arc::new(AtomicI64::new(T0)));
    let owner = start(config.clone(), &path, clock).unwrap();
    let h = owner.handle.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let broken = rt.block_on(h.query(|_, _| -> u64 { panic!("a bug in a view") }));
    assert!(broken.is_err(), "the reader gets an error, not an answer");
    // The owner goes on: commands and reads still work.
    let service = config.windows()[0].services[0].service.clone();
    h.submit_blocking(Actor::Kiosk("k".into()), "test", issue(&service))
        .unwrap();
    let tickets = rt
        .block_on(h.query(|hall, _| hall.tickets().count()))
        .unwrap();
    assert_eq!(tickets, 1);
    rt.block_on(h.shutdown());
    drop(h);
    owner.thread.join().unwrap().unwrap();
}
