//! Seeded hall traffic: a stream of mixed valid and invalid commands, with
//! the actors that send them, shaped like a service hall's day (kiosk
//! tickets, staff at keypads, a manager now and then).
//!
//! The generator looks at the hall (read-only) to aim most commands where
//! they make sense (call at an idle staffed window, finish what is being
//! served), and deliberately sends a share of wrong ones (wrong account,
//! unknown window, caps, bad reasons) so refusals are exercised too. It
//! never decides anything itself: the hall does.
//!
//! Determinism: every choice comes from [`SimRng`]; the hall's tickets live
//! in a `HashMap`, so they are always sorted by id before one is picked.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::Duration;

use crate::config::{Config, Role};
use crate::queue::person::person_key;
use crate::queue::{
    Actor, Command, Hall, IssueSource, MINUTE_MS, Millis, Outcome, PauseReason, Ticket, TicketId,
    TicketStatus, TransferTarget, WindowNo, WindowService, WindowState,
};

/// SplitMix64 (Steele, Lea & Flood, 2014): tiny, fast, statistically fine for
/// test traffic, and immune to changes in the `rand` crate's streams.
#[derive(Debug, Clone)]
pub struct SimRng {
    state: u64,
}

impl SimRng {
    pub fn new(seed: u64) -> SimRng {
        SimRng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-enough in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// In `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + self.below((hi - lo) as u64) as i64
        }
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.below(items.len() as u64) as usize)
        }
    }

    /// An index drawn with the given weights (0 when all are zero).
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < u64::from(w) {
                return i;
            }
            x -= u64::from(w);
        }
        0
    }
}

/// Relative weights of the kinds of command the generator sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    pub issue: u32,
    pub call_next: u32,
    pub start: u32,
    pub finish: u32,
    pub recall: u32,
    pub no_show: u32,
    pub park: u32,
    pub unpark: u32,
    pub transfer: u32,
    pub call_ticket: u32,
    pub cancel: u32,
    pub sign_in: u32,
    pub sign_out: u32,
    pub pause: u32,
    pub resume: u32,
    pub open_window: u32,
    pub close_window: u32,
    pub set_services: u32,
    pub session: u32,
    pub open_day: u32,
    pub end_day: u32,
    /// Random commands from random actors at random windows.
    pub junk: u32,
    /// Percent of aimed commands sent by the wrong actor instead.
    pub wrong_actor_percent: u32,
}

impl Default for Mix {
    fn default() -> Mix {
        Mix {
            issue: 2400,
            call_next: 2000,
            start: 1100,
            finish: 1100,
            recall: 300,
            no_show: 300,
            park: 150,
            unpark: 200,
            transfer: 300,
            call_ticket: 150,
            cancel: 150,
            sign_in: 400,
            sign_out: 80,
            pause: 80,
            resume: 150,
            open_window: 50,
            close_window: 40,
            set_services: 30,
            session: 6,
            open_day: 6,
            end_day: 1,
            junk: 200,
            wrong_actor_percent: 6,
        }
    }
}

/// A seeded stream of commands against one hall.
#[derive(Debug, Clone)]
pub struct Traffic {
    rng: SimRng,
    config: Arc<Config>,
    pub mix: Mix,
    services: Vec<String>,
    /// Services that get half of all tickets (so caps and long lines happen).
    hot: Vec<String>,
    windows: Vec<WindowNo>,
    staff: Vec<String>,
    managers: Vec<String>,
    priorities: Vec<String>,
    /// Keyed hashes of a small pool of id numbers, so per-person caps bite.
    persons: Vec<String>,
    appointments: u64,
}

/// The secret the simulated kiosks hash id numbers with.
pub const SIM_PERSON_SECRET: &[u8] = b"hallq-sim-secret";

impl Traffic {
    pub fn new(seed: u64, config: Arc<Config>) -> Traffic {
        let mut rng = SimRng::new(seed ^ 0x5EED_0F4A_11AA);
        let services: Vec<String> = config.services().iter().map(|s| s.id.clone()).collect();
        let mut hot = Vec::new();
        for _ in 0..3 {
            if let Some(s) = rng.pick(&services) {
                hot.push(s.clone());
            }
        }
        let windows = config.windows().iter().map(|w| w.number).collect();
        let staff = config
            .file
            .staff
            .iter()
            .map(|s| s.account.clone())
            .collect();
        let mut managers: Vec<String> = config
            .file
            .staff
            .iter()
            .filter(|s| s.roles.contains(&Role::Manager))
            .map(|s| s.account.clone())
            .collect();
        if managers.is_empty() {
            managers.push("manager".to_string());
        }
        let priorities = config.file.priority.iter().map(|p| p.id.clone()).collect();
        let persons = (0..6)
            .map(|i| person_key(SIM_PERSON_SECRET, &format!("11010519900101{i:04}")))
            .collect();
        Traffic {
            rng,
            config,
            mix: Mix::default(),
            services,
            hot,
            windows,
            staff,
            managers,
            priorities,
            persons,
            appointments: 0,
        }
    }

    pub fn rng(&mut self) -> &mut SimRng {
        &mut self.rng
    }

    /// Sets the services that get half of all tickets (unknown ids are kept:
    /// they are refused, which is also traffic).
    pub fn set_hot(&mut self, services: &[&str]) {
        self.hot = services.iter().map(|s| s.to_string()).collect();
    }

    /// How far the clock moves before the next command: seconds to minutes
    /// while the hall works, longer jumps while it is closed and empty.
    pub fn step_ms(&mut self, hall: &Hall) -> Millis {
        let working = hall.state().session.is_some() || hall.waiting() > 0 || hall.state().live > 0;
        let r = &mut self.rng;
        if !working || (hall.state().session.is_none() && r.chance(70)) {
            return r.range(10, 50) * MINUTE_MS;
        }
        match r.below(100) {
            0..=79 => r.range(1, 40) * 1000,
            80..=97 => r.range(40, 180) * 1000,
            _ => r.range(3, 15) * MINUTE_MS,
        }
    }

    /// The next command and who sends it.
    pub fn next(&mut self, hall: &Hall, now_ms: Millis) -> (Actor, Command) {
        let m = &self.mix;
        let weights = [
            m.issue,
            m.call_next,
            m.start,
            m.finish,
            m.recall,
            m.no_show,
            m.park,
            m.unpark,
            m.transfer,
            m.call_ticket,
            m.cancel,
            m.sign_in,
            m.sign_out,
            m.pause,
            m.resume,
            m.open_window,
            m.close_window,
            m.set_services,
            m.session,
            m.open_day,
            m.end_day,
            m.junk,
        ];
        let wrong = u64::from(m.wrong_actor_percent);
        let (actor, command) = match self.rng.weighted(&weights) {
            0 => self.issue(hall, now_ms),
            1 => self.at_window(
                hall,
                now_ms,
                |w, _| w.staff.is_some() && w.current.is_none(),
                |_, w, _| Command::CallNext { window: w.number },
            ),
            2 => self.at_window(
                hall,
                now_ms,
                |w, h| current_is(h, w, TicketStatus::Called),
                |_, w, _| Command::Start { window: w.number },
            ),
            3 => self.at_window(
                hall,
                now_ms,
                |w, h| current_is(h, w, TicketStatus::Serving),
                |t, w, _| t.finish(w.number),
            ),
            4 => self.at_window(
                hall,
                now_ms,
                |w, h| current_is(h, w, TicketStatus::Called),
                |_, w, _| Command::Recall { window: w.number },
            ),
            5 => self.at_window(
                hall,
                now_ms,
                |w, h| current_is(h, w, TicketStatus::Called),
                |_, w, _| Command::NoShow { window: w.number },
            ),
            6 => self.at_window(
                hall,
                now_ms,
                |w, _| w.staff.is_some() && w.current.is_some(),
                |_, w, _| Command::Park { window: w.number },
            ),
            7 => self.at_window(
                hall,
                now_ms,
                |w, _| w.staff.is_some() && !w.parked.is_empty(),
                |t, w, h| t.unpark(w, h),
            ),
            8 => self.at_window(
                hall,
                now_ms,
                |w, _| w.staff.is_some() && w.current.is_some(),
                |t, w, _| t.transfer(w.number),
            ),
            9 => self.at_window(
                hall,
                now_ms,
                |w, _| w.staff.is_some() && w.current.is_none(),
                |t, w, h| t.call_ticket(w, h),
            ),
            10 => self.cancel(hall),
            11 => self.sign_in(hall),
            12 => self.at_window(
                hall,
                now_ms,
                |w, _| w.staff.is_some(),
                |_, w, _| Command::SignOut { window: w.number },
            ),
            13 => self.at_window(
                hall,
                now_ms,
                |w, _| w.staff.is_some() && w.paused.is_none(),
                |t, w, _| Command::Pause {
                    window: w.number,
                    reason: t.pause_reason(),
                },
            ),
            14 => self.at_window(
                hall,
                now_ms,
                |w, _| w.paused.is_some(),
                |_, w, _| Command::Resume { window: w.number },
            ),
            15 => self.manager_at(hall, |w| !w.open, |w| Command::OpenWindow { window: w }),
            16 => self.manager_at(hall, |w| w.open, |w| Command::CloseWindow { window: w }),
            17 => self.set_services(),
            18 => {
                let command = match self.rng.below(3) {
                    0 => Command::CloseSession,
                    1 => Command::OpenSession { slot: None },
                    _ => Command::OpenSession {
                        slot: Some(self.rng.below(4) as u32),
                    },
                };
                (self.manager(), command)
            }
            19 => {
                let today = hall.day().unwrap_or_else(|| {
                    crate::queue::calendar::local(self.config.tz, now_ms).date()
                });
                let date = today + Duration::days(self.rng.range(-1, 2));
                (self.manager(), Command::OpenDay { date })
            }
            20 => (self.manager(), Command::EndDay),
            _ => self.junk(hall),
        };
        if self.rng.chance(wrong) {
            (self.some_actor(), command)
        } else {
            (actor, command)
        }
    }

    fn manager(&mut self) -> Actor {
        Actor::Manager(self.rng.pick(&self.managers).cloned().unwrap_or_default())
    }

    fn some_actor(&mut self) -> Actor {
        match self.rng.below(10) {
            0..=5 => Actor::Staff(self.rng.pick(&self.staff).cloned().unwrap_or_default()),
            6 => Actor::Staff("nobody".to_string()),
            7 => Actor::Kiosk("kiosk-1".to_string()),
            8 => self.manager(),
            _ => Actor::System,
        }
    }

    fn some_window(&mut self) -> WindowNo {
        if self.rng.chance(5) {
            return [0, 999, 4242][self.rng.below(3) as usize];
        }
        self.rng.pick(&self.windows).copied().unwrap_or(1)
    }

    /// A command at a window chosen by `fits` (or any window when none fits),
    /// sent by the staff member signed in there (or someone else when nobody is).
    fn at_window(
        &mut self,
        hall: &Hall,
        now_ms: Millis,
        fits: impl Fn(&WindowState, &Hall) -> bool,
        make: impl FnOnce(&mut Traffic, &WindowState, &Hall) -> Command,
    ) -> (Actor, Command) {
        let fitting: Vec<&WindowState> = hall.windows().filter(|w| fits(w, hall)).collect();
        let chosen = match self.rng.pick(&fitting) {
            Some(w) => *w,
            // Nothing fits: mostly do something useful instead, sometimes try anyway.
            None if self.rng.chance(70) => {
                return match self.rng.below(3) {
                    0 => self.sign_in(hall),
                    _ => self.issue(hall, now_ms),
                };
            }
            None => {
                let n = self.some_window();
                match hall.window(n) {
                    Some(w) => w,
                    None => return (self.some_actor(), Command::CallNext { window: n }),
                }
            }
        };
        let actor = match &chosen.staff {
            Some(s) => Actor::Staff(s.clone()),
            None => self.some_actor(),
        };
        (actor, make(self, chosen, hall))
    }

    fn manager_at(
        &mut self,
        hall: &Hall,
        fits: impl Fn(&WindowState) -> bool,
        make: impl FnOnce(WindowNo) -> Command,
    ) -> (Actor, Command) {
        let fitting: Vec<WindowNo> = hall
            .windows()
            .filter(|w| fits(w))
            .map(|w| w.number)
            .collect();
        let n = match self.rng.pick(&fitting) {
            Some(n) if !self.rng.chance(10) => *n,
            _ => self.some_window(),
        };
        let actor = if self.rng.chance(85) {
            self.manager()
        } else {
            self.some_actor()
        };
        (actor, make(n))
    }

    fn issue(&mut self, hall: &Hall, now_ms: Millis) -> (Actor, Command) {
        let r = &mut self.rng;
        let service = if r.chance(2) {
            "no-such-service".to_string()
        } else if r.chance(50) && !self.hot.is_empty() {
            r.pick(&self.hot).cloned().unwrap_or_default()
        } else {
            r.pick(&self.services).cloned().unwrap_or_default()
        };
        let priority = match r.below(100) {
            0..=84 => None,
            85..=97 => r.pick(&self.priorities).cloned(),
            _ => Some("vip".to_string()),
        };
        let person = if r.chance(50) {
            r.pick(&self.persons).cloned()
        } else {
            None
        };
        let max_cases = self.config.service(&service).map_or(10, |s| s.max_cases);
        let cases = match r.below(100) {
            0..=89 => 1,
            90..=97 => r.range(2, i64::from(max_cases) + 1) as u32,
            98 => 0,
            _ => max_cases + 1,
        };
        let (actor, source) = match r.below(100) {
            0..=79 => (
                Actor::Kiosk(format!("kiosk-{}", r.below(3) + 1)),
                IssueSource::Kiosk,
            ),
            80..=87 => {
                let staffed: Vec<String> = hall.windows().filter_map(|w| w.staff.clone()).collect();
                let who = r
                    .pick(&staffed)
                    .or(r.pick(&self.staff))
                    .cloned()
                    .unwrap_or_default();
                (Actor::Staff(who), IssueSource::Staff)
            }
            _ => {
                let code = if self.appointments > 0 && r.chance(25) {
                    format!("YY{:05}", r.below(self.appointments))
                } else if r.chance(2) {
                    "   ".to_string()
                } else {
                    self.appointments += 1;
                    format!("YY{:05}", self.appointments - 1)
                };
                let due_ms = if r.chance(3) {
                    now_ms + 2 * 24 * 60 * MINUTE_MS
                } else {
                    now_ms + r.range(-60, 120) * MINUTE_MS
                };
                (
                    Actor::Kiosk("kiosk-1".to_string()),
                    IssueSource::Appointment { code, due_ms },
                )
            }
        };
        (
            actor,
            Command::Issue {
                service,
                priority,
                person,
                source,
                cases,
            },
        )
    }

    fn finish(&mut self, window: WindowNo) -> Command {
        let r = &mut self.rng;
        let outcome = [
            Outcome::Done,
            Outcome::Done,
            Outcome::Done,
            Outcome::Done,
            Outcome::Done,
            Outcome::Accepted,
            Outcome::ReportedUp,
            Outcome::Rejected,
            Outcome::Incomplete,
            Outcome::WrongJurisdiction,
        ][r.below(10) as usize];
        let reason = match (outcome, r.below(10)) {
            (Outcome::Rejected, 0..=5) | (_, 0) => Some("材料不符合要求".to_string()),
            (Outcome::Rejected, 6) => Some("   ".to_string()),
            (_, 1) => Some("x".repeat(201)),
            _ => None,
        };
        Command::Finish {
            window,
            outcome,
            reason,
        }
    }

    fn transfer(&mut self, window: WindowNo) -> Command {
        let reason = if self.rng.chance(50) {
            Some("需要其他部门办理".to_string())
        } else {
            None
        };
        let to = if self.rng.chance(50) {
            let s = if self.rng.chance(5) {
                "no-such-service".to_string()
            } else {
                self.rng.pick(&self.services).cloned().unwrap_or_default()
            };
            TransferTarget::Service(s)
        } else {
            TransferTarget::Window(self.some_window())
        };
        Command::Transfer { window, to, reason }
    }

    fn unpark(&mut self, w: &WindowState, hall: &Hall) -> Command {
        let mut number = self
            .rng
            .pick(&w.parked)
            .and_then(|id| hall.ticket(*id))
            .map(|t| t.number.to_string())
            .unwrap_or_default();
        if self.rng.chance(10) {
            number = self
                .any_ticket(hall)
                .map(|t| t.number.to_string())
                .unwrap_or_else(|| "Z999".to_string());
        }
        Command::Unpark {
            window: w.number,
            number,
        }
    }

    fn call_ticket(&mut self, w: &WindowState, hall: &Hall) -> Command {
        let mut waiting: Vec<&Ticket> = hall
            .live_tickets()
            .filter(|t| t.status == TicketStatus::Waiting)
            .collect();
        waiting.sort_by_key(|t| t.id);
        let served: Vec<&Ticket> = waiting
            .iter()
            .copied()
            .filter(|t| w.services.iter().any(|s| s.service == t.service))
            .collect();
        let pool = if self.rng.chance(75) && !served.is_empty() {
            &served
        } else {
            &waiting
        };
        let number = self
            .rng
            .pick(pool)
            .map(|t| t.number.to_string())
            .unwrap_or_else(|| "Q000".to_string());
        let reason = match self.rng.below(10) {
            0 => String::new(),
            1 => " ".to_string(),
            _ => "老年人优先".to_string(),
        };
        Command::CallTicket {
            window: w.number,
            number,
            reason,
        }
    }

    fn any_ticket(&mut self, hall: &Hall) -> Option<Ticket> {
        let mut all: Vec<TicketId> = hall.ticket_ids().collect();
        all.sort();
        let id = *self.rng.pick(&all)?;
        hall.ticket(id).map(Cow::into_owned)
    }

    fn cancel(&mut self, hall: &Hall) -> (Actor, Command) {
        let mut open: Vec<TicketId> = hall
            .live_tickets()
            .filter(|t| matches!(t.status, TicketStatus::Waiting | TicketStatus::Parked))
            .map(|t| t.id)
            .collect();
        open.sort();
        let ticket = match self.rng.below(10) {
            0 => self.any_ticket(hall).map_or(TicketId(0), |t| t.id),
            1 => TicketId(u64::MAX),
            _ => self.rng.pick(&open).copied().unwrap_or(TicketId(1)),
        };
        (
            Actor::Kiosk("kiosk-1".to_string()),
            Command::Cancel { ticket },
        )
    }

    fn sign_in(&mut self, hall: &Hall) -> (Actor, Command) {
        let free_windows: Vec<WindowNo> = hall
            .windows()
            .filter(|w| w.open && w.staff.is_none())
            .map(|w| w.number)
            .collect();
        let free_staff: Vec<String> = self
            .staff
            .iter()
            .filter(|a| hall.window_of_staff(a).is_none())
            .cloned()
            .collect();
        let window = match self.rng.pick(&free_windows) {
            Some(n) if self.rng.chance(85) => *n,
            _ => self.some_window(),
        };
        let account = match self.rng.pick(&free_staff) {
            Some(a) if self.rng.chance(85) => a.clone(),
            _ if self.rng.chance(10) => "nobody".to_string(),
            _ => self.rng.pick(&self.staff).cloned().unwrap_or_default(),
        };
        (Actor::Staff(account), Command::SignIn { window })
    }

    fn pause_reason(&mut self) -> PauseReason {
        [
            PauseReason::Lunch,
            PauseReason::Break,
            PauseReason::OutOfSupplies,
            PauseReason::Meeting,
        ][self.rng.below(4) as usize]
    }

    fn set_services(&mut self) -> (Actor, Command) {
        let window = self.some_window();
        let count = self.rng.range(0, 5);
        let mut services: Vec<WindowService> = Vec::new();
        for _ in 0..count {
            let service = self.rng.pick(&self.services).cloned().unwrap_or_default();
            if services.iter().any(|s| s.service == service) && !self.rng.chance(10) {
                continue;
            }
            let weight = if self.rng.chance(3) {
                [0, 101][self.rng.below(2) as usize]
            } else {
                self.rng.range(1, 101) as u32
            };
            services.push(WindowService { service, weight });
        }
        let actor = if self.rng.chance(85) {
            self.manager()
        } else {
            self.some_actor()
        };
        (actor, Command::SetWindowServices { window, services })
    }

    fn junk(&mut self, hall: &Hall) -> (Actor, Command) {
        let window = self.some_window();
        let actor = self.some_actor();
        let number = self
            .any_ticket(hall)
            .map(|t| t.number.to_string())
            .unwrap_or_else(|| "A001".to_string());
        let command = match self.rng.below(12) {
            0 => Command::CallNext { window },
            1 => Command::Recall { window },
            2 => Command::Start { window },
            3 => Command::Finish {
                window,
                outcome: Outcome::Rejected,
                reason: None,
            },
            4 => Command::NoShow { window },
            5 => Command::Park { window },
            6 => Command::Unpark { window, number },
            7 => Command::CallTicket {
                window,
                number,
                reason: "x".repeat(self.rng.range(0, 300) as usize),
            },
            8 => Command::SignIn { window },
            9 => Command::Pause {
                window,
                reason: PauseReason::Meeting,
            },
            10 => Command::Transfer {
                window,
                to: TransferTarget::Window(window),
                reason: None,
            },
            _ => Command::Issue {
                service: self.rng.pick(&self.services).cloned().unwrap_or_default(),
                priority: None,
                person: None,
                source: IssueSource::Appointment {
                    code: String::new(),
                    due_ms: 0,
                },
                cases: 1,
            },
        };
        (actor, command)
    }
}

fn current_is(hall: &Hall, w: &WindowState, status: TicketStatus) -> bool {
    w.staff.is_some()
        && w.current
            .and_then(|t| hall.ticket(t))
            .is_some_and(|t| t.status == status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_stable_and_bounded() {
        // Reference values of SplitMix64 seeded with 0.
        let mut r = SimRng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        let mut r = SimRng::new(7);
        for _ in 0..1000 {
            assert!(r.range(-3, 4) >= -3);
            assert!(r.below(5) < 5);
        }
        assert_eq!(r.weighted(&[0, 0, 5]), 2);
    }

    #[test]
    fn same_seed_same_commands() {
        let config = Arc::new(Config::demo());
        let hall = Hall::new(config.clone());
        let mut a = Traffic::new(42, config.clone());
        let mut b = Traffic::new(42, config);
        for i in 0..200 {
            assert_eq!(a.next(&hall, i * 1000), b.next(&hall, i * 1000));
        }
    }
}
