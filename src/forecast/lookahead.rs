//! The look-ahead estimator: from the hall as it is now, simulate the rest
//! of the day many times with the hall's own routing (the real core, driven
//! by [`super::driver`]) and service times drawn from the learned
//! [`Model`], and read each waiting ticket's first call off the runs.
//!
//! What a run knows: the waiting tickets and their lines, the windows open
//! and staffed now (and what they are doing: a ticket in progress, a pause
//! and how long such pauses last, lunch until the next session), the
//! calendar (sessions end, lunch, extended service), expected arrivals for
//! the rest of the day (which matter: a priority citizen, or a service a
//! shared window prefers, goes ahead of tickets already waiting), no-shows
//! and their requeue, transfers and the next steps of flows.
//!
//! What it cannot know: staff who are not signed in now. A window nobody
//! staffs is assumed to stay so.
//!
//! Every service also gets the estimate of a citizen who would take a
//! ticket now (a *phantom* ticket issued at the start of every run).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::driver::{Arrival, Behaviour, Desk, Driver, Flow, Handling, Release, sessions_of_day};
use super::model::{BINS, Model, bin_of};
use super::random::{bernoulli, poisson, quantile, unit};
use crate::queue::calendar::{instant, local};
use crate::queue::{
    Actor, Command, Event, Hall, IssueSource, MINUTE_MS, Millis, Outcome, PauseReason, Ticket,
    TicketId, TicketStatus, WindowNo,
};
use crate::sim::traffic::SimRng;

/// How the look-ahead runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Monte Carlo runs (each a whole simulated rest of the day).
    pub runs: usize,
    pub seed: u64,
    /// Simulate the expected arrivals of the rest of the day.
    pub arrivals: bool,
    /// Estimate a citizen who would take a ticket now, for every service.
    pub phantoms: bool,
    /// Widening of the interval around the median (1 = the runs' own p10–p90).
    pub spread: f64,
    /// Longest simulated time.
    pub horizon_ms: Millis,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            runs: 32,
            seed: 1,
            arrivals: true,
            phantoms: true,
            spread: 1.0,
            horizon_ms: 16 * 60 * MINUTE_MS,
        }
    }
}

/// When a ticket will be called first: instants (ms since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub p10_ms: Millis,
    pub p50_ms: Millis,
    pub p90_ms: Millis,
    /// Share of runs in which the ticket was called before the run ended.
    pub called_share: f64,
}

impl Estimate {
    /// (low, median, high) minutes still to wait at `now_ms`, never negative.
    pub fn minutes_from(&self, now_ms: Millis) -> (f64, f64, f64) {
        let m = |t: Millis| ((t - now_ms) as f64 / MINUTE_MS as f64).max(0.0);
        (m(self.p10_ms), m(self.p50_ms), m(self.p90_ms))
    }

    /// Whether most runs called the ticket (else the estimate says little).
    pub fn is_reliable(&self) -> bool {
        self.called_share >= 0.5
    }
}

/// The latest look-ahead of the hall.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Forecast {
    /// The moment it looked ahead from.
    pub at_ms: Millis,
    /// The journal sequence of the hall it started from.
    pub seq: u64,
    pub runs: usize,
    /// Simulated runs in all (the waiting tickets' and the phantoms').
    pub simulated_runs: usize,
    /// Every ticket waiting at `at_ms`.
    pub tickets: HashMap<TicketId, Estimate>,
    /// A citizen taking an ordinary ticket of the service at `at_ms`.
    pub arrivals: BTreeMap<String, Estimate>,
    /// Simulated steps, all runs together.
    pub steps: u64,
}

impl Forecast {
    pub fn ticket(&self, id: TicketId) -> Option<&Estimate> {
        self.tickets.get(&id)
    }

    pub fn arrival(&self, service: &str) -> Option<&Estimate> {
        self.arrivals.get(service)
    }
}

/// Virtual staff whose times come from the learned model.
pub struct ModelBehaviour<'a> {
    pub model: &'a Model,
    /// Half-hour bin of the look-ahead's start (for today's arrival level).
    pub now_bin: usize,
    pub arrivals: bool,
}

impl Behaviour for ModelBehaviour<'_> {
    fn handle(
        &mut self,
        rng: &mut SimRng,
        _hall: &Hall,
        window: WindowNo,
        ticket: &Ticket,
    ) -> Handling {
        let service = ticket.service.as_str();
        if bernoulli(rng, self.model.no_show_p(service)) {
            return Handling::NoShow {
                after_ms: self.model.sample_no_show_ms(rng, service),
            };
        }
        let window_ms = self
            .model
            .sample_window_ms(rng, service, window, ticket.cases);
        let release = match self.model.sample_transfer(rng, service) {
            Some(to) => Release::Transfer(to),
            None => Release::Finish(Outcome::Done),
        };
        Handling::Serve {
            start_after_ms: (window_ms / 5).min(MINUTE_MS),
            window_ms,
            release,
        }
    }

    fn pause(
        &mut self,
        rng: &mut SimRng,
        _hall: &Hall,
        _window: WindowNo,
    ) -> Option<(PauseReason, Millis)> {
        self.model.sample_pause(rng)
    }

    fn pause_left(&mut self, rng: &mut SimRng, reason: PauseReason, elapsed_ms: Millis) -> Millis {
        for _ in 0..16 {
            let total = self.model.sample_pause_ms(rng, reason);
            if total > elapsed_ms {
                return total - elapsed_ms;
            }
        }
        MINUTE_MS
    }

    fn arrivals(
        &mut self,
        rng: &mut SimRng,
        hall: &Hall,
        from_ms: Millis,
        to_ms: Millis,
    ) -> Vec<(Millis, Arrival)> {
        if !self.arrivals || to_ms <= from_ms {
            return Vec::new();
        }
        let config = hall.config().clone();
        let mut out = Vec::new();
        // Walk the half-hour bins the block overlaps.
        let mut t = from_ms;
        while t < to_ms {
            let bin = bin_of(&config, t);
            let lt = local(config.tz, t);
            let bin_end_local = lt
                .date()
                .and_hms_opt(0, 0, 0)
                .map(|m| m + chrono::Duration::minutes(30 * (bin as i64 + 1)))
                .map(|e| instant(config.tz, e))
                .unwrap_or(to_ms);
            let end = bin_end_local.clamp(t + 1, to_ms);
            let fraction = (end - t) as f64 / (30 * MINUTE_MS) as f64;
            if bin < BINS {
                for s in config.services() {
                    let mean = self.model.arrivals_in_bin(&s.id, bin, self.now_bin) * fraction;
                    for _ in 0..poisson(rng, mean) {
                        let at = t + (unit(rng) * (end - t) as f64) as Millis;
                        out.push((
                            at,
                            Arrival {
                                service: s.id.clone(),
                                priority: self.model.sample_priority(rng, &s.id),
                                cases: 1,
                            },
                        ));
                    }
                }
            }
            t = end;
        }
        out
    }
}

/// The desks of the look-ahead: every window staffed now, on duty for the
/// rest of today's sessions (or the rest of the day when the calendar has
/// no session now but a manager opened one).
pub fn desks_now(hall: &Hall, now_ms: Millis, horizon_ms: Millis) -> Vec<Desk> {
    let mut duty: Vec<(Millis, Millis)> = sessions_of_day(hall, now_ms)
        .into_iter()
        .filter(|&(_, to)| to > now_ms)
        .collect();
    let manual = hall.state().session.is_some_and(|s| s.slot.is_none());
    if manual || (duty.is_empty() && hall.state().session.is_some()) {
        let end = hall
            .state()
            .session
            .and_then(|s| s.ends_ms)
            .unwrap_or(horizon_ms);
        duty.retain(|&(from, _)| from >= end);
        duty.insert(0, (now_ms, end.max(now_ms + 1)));
    }
    hall.windows()
        .filter(|w| w.open)
        .filter_map(|w| {
            w.staff.as_ref().map(|account| Desk {
                window: w.number,
                account: account.clone(),
                duty: duty.clone(),
            })
        })
        .collect()
}

/// Looks ahead from `hall` at `now_ms`.
///
/// The waiting tickets are estimated from `settings.runs` runs of the hall
/// as it is. The phantom tickets (a citizen taking a ticket now) get their
/// own runs (half as many), so they never delay a real ticket's estimate.
pub fn look_ahead(hall: &Hall, model: &Model, now_ms: Millis, settings: &Settings) -> Forecast {
    // Tickets waiting now, in id order (determinism).
    let mut waiting: Vec<TicketId> = hall
        .live_tickets()
        .filter(|t| t.status == TicketStatus::Waiting)
        .map(|t| t.id)
        .collect();
    waiting.sort();
    let runs = settings.runs.max(1);
    let (calls, mut steps) = simulate(hall, &waiting, model, now_ms, settings, runs, 0);
    let mut tickets = HashMap::with_capacity(waiting.len());
    for (id, mut samples) in waiting.iter().zip(calls) {
        tickets.insert(*id, estimate(&mut samples, now_ms, settings));
    }
    let mut arrivals = BTreeMap::new();
    let mut simulated_runs = runs;
    if settings.phantoms {
        let mut base = hall.clone();
        let mut phantoms: Vec<(String, TicketId)> = Vec::new();
        let kiosk = Actor::Kiosk("forecast".into());
        for s in hall.config().services() {
            let cmd = Command::Issue {
                service: s.id.clone(),
                priority: None,
                person: None,
                source: IssueSource::Kiosk,
                cases: 1,
            };
            // Refused (closed, cut off, cap reached): no estimate for a new ticket.
            if let Ok(events) = base.apply(&kiosk, &cmd, now_ms) {
                for e in events {
                    if let Event::TicketIssued { ticket, .. } = e {
                        phantoms.push((s.id.clone(), ticket));
                    }
                }
            }
        }
        if !phantoms.is_empty() {
            let ids: Vec<TicketId> = phantoms.iter().map(|(_, t)| *t).collect();
            let (calls, more) =
                simulate(&base, &ids, model, now_ms, settings, (runs / 2).max(8), 1);
            steps += more;
            simulated_runs += (runs / 2).max(8);
            for ((service, _), mut samples) in phantoms.into_iter().zip(calls) {
                arrivals.insert(service, estimate(&mut samples, now_ms, settings));
            }
        }
    }
    Forecast {
        at_ms: now_ms,
        seq: 0,
        runs,
        simulated_runs,
        tickets,
        arrivals,
        steps,
    }
}

/// Runs the rest of the day `runs` times from `base`; for each tracked
/// ticket, the instant of its first call in each run (the horizon when a
/// run did not call it).
fn simulate(
    base: &Hall,
    tracked: &[TicketId],
    model: &Model,
    now_ms: Millis,
    settings: &Settings,
    runs: usize,
    batch: u64,
) -> (Vec<Vec<f64>>, u64) {
    let horizon = now_ms + settings.horizon_ms;
    let mut calls: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); tracked.len()];
    if tracked.is_empty() {
        return (calls, 0);
    }
    let index: HashMap<TicketId, usize> =
        tracked.iter().enumerate().map(|(i, t)| (*t, i)).collect();
    let desks = desks_now(base, now_ms, horizon);
    let now_bin = bin_of(base.config(), now_ms);
    // Issuing ends with the day's last session.
    let issue_end = sessions_of_day(base, now_ms)
        .iter()
        .map(|&(_, to)| to)
        .max()
        .unwrap_or(now_ms)
        .min(horizon);
    let mut steps = 0;
    for run in 0..runs {
        let behaviour = ModelBehaviour {
            model,
            now_bin,
            arrivals: settings.arrivals,
        };
        let seed = settings
            .seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add((batch << 32) + run as u64);
        let mut d = Driver::new(base.clone(), now_ms, seed, behaviour);
        d.schedule_calendar(horizon);
        if settings.arrivals {
            d.schedule_arrival_blocks(issue_end);
        }
        for desk in &desks {
            d.add_desk(desk.clone());
        }
        let mut first: Vec<Option<Millis>> = vec![None; tracked.len()];
        let mut left = tracked.len();
        let mut hook = |_: &Hall, events: &[Event], at: Millis| {
            for e in events {
                if let Event::TicketCalled { ticket, .. } = e
                    && let Some(&i) = index.get(ticket)
                    && first[i].is_none()
                {
                    first[i] = Some(at);
                    left -= 1;
                }
            }
            if left == 0 {
                Flow::Stop
            } else {
                Flow::Continue
            }
        };
        d.run(horizon, &mut hook);
        steps += d.steps;
        for (i, f) in first.iter().enumerate() {
            calls[i].push(f.unwrap_or(horizon) as f64);
        }
    }
    (calls, steps)
}

/// Median and interval of a ticket's first-call instants.
fn estimate(samples: &mut [f64], now_ms: Millis, settings: &Settings) -> Estimate {
    let horizon = (now_ms + settings.horizon_ms) as f64;
    let called = samples.iter().filter(|&&t| t < horizon).count();
    samples.sort_by(f64::total_cmp);
    let (q10, q50, q90) = (
        quantile(samples, 0.1),
        quantile(samples, 0.5),
        quantile(samples, 0.9),
    );
    let k = settings.spread.max(0.0);
    let low = (q50 - k * (q50 - q10)).max(now_ms as f64);
    let high = q50 + k * (q90 - q50);
    Estimate {
        p10_ms: low.round() as Millis,
        p50_ms: q50.round() as Millis,
        p90_ms: high.round() as Millis,
        called_share: called as f64 / samples.len().max(1) as f64,
    }
}

/// The classic queue-length estimate (minutes): place in line × mean
/// minutes per case ÷ open staffed windows serving the service.
pub fn classic_minutes(ahead: usize, minutes_per_case: f64, windows: usize) -> f64 {
    (ahead as f64 + 1.0) * minutes_per_case / windows.max(1) as f64
}

/// Open, staffed windows that serve a service (or 1 for a ticket directed to a window).
pub fn staffed_windows(hall: &Hall, service: &str) -> usize {
    hall.windows()
        .filter(|w| w.open && w.staff.is_some() && w.services.iter().any(|s| s.service == service))
        .count()
}
