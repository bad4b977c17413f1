//! The voice queue of a speaker zone: order, no cut-off, merged recalls,
//! stale and full drops — and that nothing vanishes without being counted.

use proptest::prelude::*;

use hallq::devices::voice::{Announcement, Pushed, VoiceLimits, VoiceQueue, VoiceStats};
use hallq::queue::{Millis, WindowNo};

fn call(ticket: &str, window: WindowNo, at_ms: Millis) -> Announcement {
    Announcement {
        ticket: ticket.into(),
        window,
        at_ms,
        recall: false,
    }
}

fn recall(ticket: &str, window: WindowNo, at_ms: Millis) -> Announcement {
    Announcement {
        recall: true,
        ..call(ticket, window, at_ms)
    }
}

fn balanced(s: VoiceStats) -> bool {
    s.pushed == s.spoken + s.merged + s.dropped_stale + s.dropped_full + s.waiting as u64
}

#[test]
fn defaults_match_the_issue() {
    let l = VoiceLimits::default();
    assert_eq!(
        (l.capacity, l.repeats, l.merge_ms, l.stale_ms),
        (64, 2, 5_000, 60_000)
    );
    assert_eq!(VoiceQueue::default().repeats(), 2);
}

#[test]
fn calls_are_spoken_in_order_and_in_full() {
    let mut q = VoiceQueue::default();
    q.push(call("A001", 1, 0), 0);
    // The chip is speaking A001 now: a new call waits, it does not cut in.
    assert_eq!(q.next(0).unwrap().ticket, "A001");
    q.push(call("B001", 2, 500), 500);
    q.push(call("A002", 3, 600), 600);
    assert_eq!(q.len(), 2);
    let order: Vec<_> = q.waiting().map(|a| a.ticket.clone()).collect();
    assert_eq!(order, ["B001", "A002"]);
    assert_eq!(q.next(4_000).unwrap().ticket, "B001");
    assert_eq!(q.next(8_000).unwrap().ticket, "A002");
    assert!(q.next(12_000).is_none());
    assert!(balanced(q.stats()));
}

#[test]
fn recall_while_still_queued_is_merged() {
    let mut q = VoiceQueue::default();
    q.push(call("X", 9, 0), 0);
    q.push(call("A001", 1, 0), 0);
    // Long after the call (still queued behind X): merged anyway, keeps its place.
    assert_eq!(q.push(recall("A001", 1, 30_000), 30_000), Pushed::Merged);
    assert_eq!(q.len(), 2);
    assert_eq!(q.merged(), 1);
    assert_eq!(q.next(30_000).unwrap().ticket, "X");
    // The merged recall refreshed the age: at 70 s it is 40 s old, not 70 s.
    let a = q.next(70_000).unwrap();
    assert_eq!(a, call("A001", 1, 0));
    assert_eq!(q.dropped_stale(), 0);
}

#[test]
fn recall_within_5s_of_the_start_is_merged_later_is_spoken() {
    let mut q = VoiceQueue::default();
    q.push(call("A001", 1, 0), 0);
    q.next(1_000).unwrap(); // starts speaking at 1 s
    assert_eq!(q.push(recall("A001", 1, 6_000), 6_000), Pushed::Merged); // exactly 5 s
    assert_eq!(q.push(recall("A001", 1, 6_001), 6_001), Pushed::Queued);
    assert_eq!(q.next(7_000), Some(recall("A001", 1, 6_001)));
    assert_eq!(q.merged(), 1);
    assert!(balanced(q.stats()));
}

#[test]
fn recall_of_another_window_or_ticket_is_not_merged() {
    let mut q = VoiceQueue::default();
    q.push(call("A001", 1, 0), 0);
    assert_eq!(q.push(recall("A001", 2, 100), 100), Pushed::Queued);
    assert_eq!(q.push(recall("A002", 1, 100), 100), Pushed::Queued);
    assert_eq!(q.len(), 3);
}

#[test]
fn a_plain_call_is_never_merged() {
    let mut q = VoiceQueue::default();
    q.push(call("A001", 1, 0), 0);
    assert_eq!(q.push(call("A001", 1, 100), 100), Pushed::Queued);
    assert_eq!(q.len(), 2);
}

#[test]
fn stale_announcements_are_dropped_and_counted() {
    let mut q = VoiceQueue::default();
    q.push(call("A001", 1, 0), 0);
    q.push(call("A002", 1, 1_000), 1_000);
    // Exactly 60 s old is still said; 60.001 s is not.
    assert_eq!(q.next(60_000).unwrap().ticket, "A001");
    assert_eq!(q.next(61_001), None);
    assert_eq!(q.dropped_stale(), 1);
    // Pushed already stale (a late event after a stall).
    assert_eq!(q.push(call("A003", 1, 0), 70_000), Pushed::Stale);
    assert_eq!(q.dropped_stale(), 2);
    assert!(q.is_empty());
    assert!(balanced(q.stats()));
}

#[test]
fn a_full_queue_drops_its_oldest() {
    let mut q = VoiceQueue::new(VoiceLimits {
        capacity: 3,
        ..VoiceLimits::default()
    });
    for (i, t) in ["A1", "A2", "A3"].iter().enumerate() {
        assert_eq!(q.push(call(t, 1, i as Millis), i as Millis), Pushed::Queued);
    }
    assert_eq!(q.push(call("A4", 1, 10), 10), Pushed::QueuedDroppedOldest);
    assert_eq!(q.dropped_full(), 1);
    let order: Vec<_> = q.waiting().map(|a| a.ticket.as_str()).collect();
    assert_eq!(order, ["A2", "A3", "A4"]);
    assert!(balanced(q.stats()));
}

#[test]
fn stale_ones_make_room_before_a_full_drop() {
    let mut q = VoiceQueue::new(VoiceLimits {
        capacity: 2,
        ..VoiceLimits::default()
    });
    q.push(call("A1", 1, 0), 0);
    q.push(call("A2", 1, 30_000), 30_000);
    assert_eq!(q.push(call("A3", 1, 61_000), 61_000), Pushed::Queued);
    assert_eq!((q.dropped_stale(), q.dropped_full()), (1, 0));
}

#[test]
fn the_clock_going_back_drops_nothing() {
    let mut q = VoiceQueue::default();
    q.push(call("A1", 1, 100_000), 100_000);
    assert_eq!(q.next(50_000).unwrap().ticket, "A1");
    assert_eq!(q.dropped_stale(), 0);
}

#[derive(Debug, Clone)]
enum Op {
    Push {
        ticket: u8,
        window: u8,
        recall: bool,
        lag_ms: Millis,
        dt_ms: Millis,
    },
    Next {
        dt_ms: Millis,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..4, 1u8..4, any::<bool>(), prop_oneof![0..2_000i64, 0..90_000i64], 0..8_000i64)
            .prop_map(|(ticket, window, recall, lag_ms, dt_ms)| Op::Push { ticket, window, recall, lag_ms, dt_ms }),
        2 => (0..10_000i64).prop_map(|dt_ms| Op::Next { dt_ms }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn order_bound_and_accounting(
        capacity in 1usize..8,
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        let mut q = VoiceQueue::new(VoiceLimits { capacity, ..VoiceLimits::default() });
        let mut now: Millis = 0;
        let mut pushed: Vec<Announcement> = Vec::new();
        // Index in `pushed` just after the last announcement spoken.
        let mut cursor = 0usize;
        let mut spoken = 0u64;
        let mut counted = 0u64;
        for op in ops {
            match op {
                Op::Push { ticket, window, recall, lag_ms, dt_ms } => {
                    now += dt_ms;
                    let a = Announcement {
                        ticket: format!("A{ticket:03}"),
                        window: window as WindowNo,
                        at_ms: now - lag_ms,
                        recall,
                    };
                    let before = q.stats();
                    let outcome = q.push(a.clone(), now);
                    let after = q.stats();
                    // Each push is accounted for exactly once, as the outcome says.
                    let went_stale = (after.dropped_stale - before.dropped_stale) as usize;
                    match outcome {
                        Pushed::Queued => {
                            prop_assert_eq!(after.waiting + went_stale, before.waiting + 1);
                            prop_assert_eq!(after.dropped_full, before.dropped_full);
                        }
                        Pushed::QueuedDroppedOldest => {
                            prop_assert_eq!(after.waiting + went_stale, before.waiting);
                            prop_assert_eq!(after.waiting, capacity);
                            prop_assert_eq!(after.dropped_full, before.dropped_full + 1);
                        }
                        Pushed::Merged => {
                            prop_assert!(recall);
                            prop_assert_eq!(after.merged, before.merged + 1);
                            counted += 1;
                        }
                        Pushed::Stale => prop_assert!(now - a.at_ms > 60_000),
                    }
                    pushed.push(a);
                }
                Op::Next { dt_ms } => {
                    now += dt_ms;
                    if let Some(a) = q.next(now) {
                        spoken += 1;
                        // Spoken in push order: the earliest match after the previous one.
                        let pos = pushed[cursor..].iter().position(|p| *p == a);
                        prop_assert!(pos.is_some(), "spoken {:?} out of order", a);
                        cursor += pos.unwrap() + 1;
                    }
                }
            }
            let s = q.stats();
            prop_assert!(q.len() <= capacity);
            prop_assert_eq!(s.waiting, q.len());
            prop_assert_eq!(s.pushed, pushed.len() as u64);
            prop_assert_eq!(s.spoken, spoken);
            prop_assert_eq!(s.merged, counted);
            prop_assert!(balanced(s), "{:?}", s);
        }
        // Draining later says or drops everything; the books still balance.
        while q.next(now).is_some() {
            spoken += 1;
        }
        let s = q.stats();
        prop_assert_eq!(s.waiting, 0);
        prop_assert_eq!(s.pushed, s.spoken + s.merged + s.dropped_stale + s.dropped_full);
        prop_assert_eq!(s.spoken, spoken);
    }
}

#[test]
fn an_announcement_the_chip_could_not_say_goes_back_first_in_line() {
    let mut q = VoiceQueue::new(VoiceLimits::default());
    q.push(call("A001", 1, 0), 0);
    q.push(call("A002", 2, 0), 0);
    let a = q.next(10).unwrap();
    assert_eq!(a.ticket, "A001");
    q.retry(a);
    assert!(balanced(q.stats()), "{:?}", q.stats());
    assert_eq!(q.stats().retried, 1);
    assert_eq!(q.next(20).unwrap().ticket, "A001");
    assert_eq!(q.next(30).unwrap().ticket, "A002");
    assert_eq!(q.stats().spoken, 2);
    // A retried announcement still goes stale.
    q.push(call("A003", 3, 100), 100);
    let a = q.next(100).unwrap();
    q.retry(a);
    assert!(q.next(100 + 60_001).is_none());
    assert_eq!(q.stats().dropped_stale, 1);
    assert!(balanced(q.stats()), "{:?}", q.stats());
}
