//! What the hall has taught us: service-time distributions, no-shows,
//! transfers, pauses and arrivals, learned online from committed events.
//!
//! Everything is a sufficient statistic with exponential forgetting, keyed
//! only by services and windows of the configuration, so memory is bounded
//! by the configuration and not by the length of the journal:
//!
//! - **Window time per ticket** (call → finish or transfer, per case), a
//!   lognormal per (service, window), shrunk toward the service's, which is
//!   shrunk toward the configuration's `expected_minutes`.
//! - **No-shows**: the share of calls of a service that end in a no-show,
//!   and how long the window spends on one (call → no-show).
//! - **Transfers** per service and where they go.
//! - **Pauses** (other than lunch): how often a window pauses after a ticket,
//!   and for how long, per reason.
//! - **Arrivals** per service and half hour of the day, averaged over the
//!   business days seen (a day counts once it is over), with the share of
//!   each priority class; and today's arrivals so far, so a rush day is
//!   recognised while it happens.
//!
//! `observe` takes events in journal order. Pure: no I/O, no clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{NaiveDate, Timelike};

use super::random::{bernoulli, lognormal, unit};
use crate::config::Config;
use crate::queue::calendar::local;
use crate::queue::{Event, MINUTE_MS, Millis, PauseReason, TicketId, WindowNo};
use crate::sim::traffic::SimRng;

/// Forgetting per observation of a key: about the last 500 observations count.
pub const DECAY: f64 = 0.998;
/// Weight (in observations) of the configuration's default for a service.
pub const SERVICE_PRIOR_WEIGHT: f64 = 5.0;
/// Weight (in observations) of the service's figure for one of its windows.
pub const WINDOW_PRIOR_WEIGHT: f64 = 15.0;
/// Log-sd assumed before anything is seen (a lognormal with σ 0.5: the
/// middle 80% of services last between 0.53× and 1.9× the median).
pub const PRIOR_SIGMA: f64 = 0.5;
/// Half-hour bins of the day for arrivals.
pub const BINS: usize = 48;
/// Weight of a new business day in the arrival averages.
pub const DAY_WEIGHT: f64 = 0.3;
/// Tickets followed at once (call → release); beyond it new ones are not followed.
pub const FOLLOWED_MAX: usize = 20_000;
/// Shortest and longest window time per case taken as real (minutes); a
/// ticket finished hours after its call was forgotten on the counter.
const MINUTES_MIN: f64 = 0.2;
const MINUTES_MAX: f64 = 240.0;

/// Decayed count, sum and sum of squares of log-minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LogStat {
    pub n: f64,
    pub sum: f64,
    pub sum2: f64,
}

impl LogStat {
    pub fn add(&mut self, x: f64) {
        self.n = self.n * DECAY + 1.0;
        self.sum = self.sum * DECAY + x;
        self.sum2 = self.sum2 * DECAY + x * x;
    }

    /// (log-mean, log-variance) shrunk toward `prior` with `weight` observations.
    pub fn shrunk(&self, prior: (f64, f64), weight: f64) -> (f64, f64) {
        if self.n <= 0.0 {
            return prior;
        }
        let m = self.sum / self.n;
        let v = (self.sum2 / self.n - m * m).max(0.0);
        let total = weight + self.n;
        let mu = (weight * prior.0 + self.n * m) / total;
        let var = (weight * prior.1 + self.n * v) / total;
        (mu, var)
    }
}

/// A decayed share: hits over trials.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Share {
    pub hits: f64,
    pub trials: f64,
}

impl Share {
    pub fn add(&mut self, hit: bool) {
        self.hits = self.hits * DECAY + f64::from(u8::from(hit));
        self.trials = self.trials * DECAY + 1.0;
    }

    /// The share, shrunk toward `prior` with `weight` trials.
    pub fn p(&self, prior: f64, weight: f64) -> f64 {
        (self.hits + prior * weight) / (self.trials + weight)
    }
}

/// Arrivals of one service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Arrivals {
    /// Average tickets per half hour of a business day.
    pub per_bin: Vec<f64>,
    /// Business days folded into `per_bin`.
    pub days: u32,
    /// Today's tickets per half hour.
    pub today: Vec<u32>,
    /// Share of tickets of each priority class.
    pub priority: BTreeMap<String, Share>,
    pub ordinary: Share,
}

/// A ticket followed from its call to its release.
#[derive(Debug, Clone, PartialEq)]
struct Followed {
    service: String,
    cases: u32,
    called: Option<(Millis, WindowNo)>,
}

#[derive(Debug, Clone)]
pub struct Model {
    config: Arc<Config>,
    per_service: HashMap<String, LogStat>,
    per_window: HashMap<(String, WindowNo), LogStat>,
    no_show: HashMap<String, Share>,
    no_show_time: HashMap<String, LogStat>,
    transfer: HashMap<String, Share>,
    transfer_to: HashMap<String, BTreeMap<String, f64>>,
    pause_after: Share,
    pause_time: BTreeMap<u8, LogStat>,
    arrivals: BTreeMap<String, Arrivals>,
    today: Option<NaiveDate>,
    followed: HashMap<TicketId, Followed>,
    paused: HashMap<WindowNo, (PauseReason, Millis)>,
    /// Events observed (for the runner's log and tests).
    pub observed: u64,
}

fn reason_key(r: PauseReason) -> u8 {
    match r {
        PauseReason::Lunch => 0,
        PauseReason::Break => 1,
        PauseReason::OutOfSupplies => 2,
        PauseReason::Meeting => 3,
    }
}

fn reason_of(k: u8) -> PauseReason {
    match k {
        0 => PauseReason::Lunch,
        1 => PauseReason::Break,
        2 => PauseReason::OutOfSupplies,
        _ => PauseReason::Meeting,
    }
}

/// Typical minutes of a pause before any is seen.
fn prior_pause_minutes(r: PauseReason) -> f64 {
    match r {
        PauseReason::Lunch => 60.0,
        PauseReason::Break => 10.0,
        PauseReason::OutOfSupplies => 10.0,
        PauseReason::Meeting => 30.0,
    }
}

/// Half-hour bin of the local time of an instant.
pub fn bin_of(config: &Config, at_ms: Millis) -> usize {
    let t = local(config.tz, at_ms);
    ((t.hour() * 2 + t.minute() / 30) as usize).min(BINS - 1)
}

impl Model {
    pub fn new(config: Arc<Config>) -> Model {
        Model {
            config,
            per_service: HashMap::new(),
            per_window: HashMap::new(),
            no_show: HashMap::new(),
            no_show_time: HashMap::new(),
            transfer: HashMap::new(),
            transfer_to: HashMap::new(),
            pause_after: Share::default(),
            pause_time: BTreeMap::new(),
            arrivals: BTreeMap::new(),
            today: None,
            followed: HashMap::new(),
            paused: HashMap::new(),
            observed: 0,
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Learns from one committed event (in journal order).
    pub fn observe(&mut self, event: &Event, at_ms: Millis) {
        self.observed += 1;
        match event {
            Event::DayOpened { date } => {
                self.roll_day(*date);
                // Tickets of earlier days are gone, except one still at a window.
                self.followed.retain(|_, f| f.called.is_some());
            }
            Event::TicketIssued {
                ticket,
                service,
                priority,
                cases,
                ..
            } => {
                if self.config.service(service).is_none() {
                    return;
                }
                self.roll_day(local(self.config.tz, at_ms).date());
                let bin = bin_of(&self.config, at_ms);
                let a = self.arrivals.entry(service.clone()).or_default();
                if a.today.len() != BINS {
                    a.today = vec![0; BINS];
                }
                a.today[bin] += 1;
                a.ordinary.add(priority.is_none());
                for (id, share) in a.priority.iter_mut() {
                    share.add(priority.as_deref() == Some(id.as_str()));
                }
                if let Some(p) = priority
                    && !a.priority.contains_key(p)
                    && self.config.priority(p).is_some()
                {
                    let mut share = Share::default();
                    share.add(true);
                    a.priority.insert(p.clone(), share);
                }
                if self.followed.len() < FOLLOWED_MAX {
                    self.followed.insert(
                        *ticket,
                        Followed {
                            service: service.clone(),
                            cases: (*cases).max(1),
                            called: None,
                        },
                    );
                }
            }
            Event::TicketCalled { ticket, window, .. }
            | Event::TicketUnparked { ticket, window, .. } => {
                if let Some(f) = self.followed.get_mut(ticket) {
                    f.called = Some((at_ms, *window));
                }
            }
            Event::TicketFinished {
                ticket, next_step, ..
            } => {
                let Some(f) = self.followed.get(ticket).cloned() else {
                    return;
                };
                self.window_time(&f, at_ms);
                self.no_show_share(&f.service, false);
                self.transfer
                    .entry(f.service.clone())
                    .or_default()
                    .add(false);
                self.after_release();
                match next_step {
                    Some(next) if self.config.service(next).is_some() => {
                        if let Some(f) = self.followed.get_mut(ticket) {
                            f.service = next.clone();
                            f.called = None;
                        }
                    }
                    _ => {
                        self.followed.remove(ticket);
                    }
                }
            }
            Event::TicketTransferred {
                ticket, to_service, ..
            } => {
                let Some(f) = self.followed.get(ticket).cloned() else {
                    return;
                };
                self.window_time(&f, at_ms);
                self.no_show_share(&f.service, false);
                if self.config.service(to_service).is_some()
                    && self.config.service(&f.service).is_some()
                {
                    self.transfer
                        .entry(f.service.clone())
                        .or_default()
                        .add(true);
                    let to = self.transfer_to.entry(f.service.clone()).or_default();
                    for w in to.values_mut() {
                        *w *= DECAY;
                    }
                    *to.entry(to_service.clone()).or_default() += 1.0;
                }
                self.after_release();
                if let Some(f) = self.followed.get_mut(ticket) {
                    f.service = to_service.clone();
                    f.called = None;
                }
            }
            Event::TicketNoShow {
                ticket, requeue, ..
            } => {
                let Some(f) = self.followed.get(ticket).cloned() else {
                    return;
                };
                if let Some((called, _)) = f.called
                    && self.config.service(&f.service).is_some()
                {
                    let minutes =
                        ((at_ms - called) as f64 / MINUTE_MS as f64).clamp(MINUTES_MIN / 2.0, 30.0);
                    self.no_show_time
                        .entry(f.service.clone())
                        .or_default()
                        .add(minutes.ln());
                }
                self.no_show_share(&f.service, true);
                self.after_release();
                match requeue {
                    Some(_) => {
                        if let Some(f) = self.followed.get_mut(ticket) {
                            f.called = None;
                        }
                    }
                    None => {
                        self.followed.remove(ticket);
                    }
                }
            }
            Event::TicketParked { ticket, .. } => {
                if let Some(f) = self.followed.get_mut(ticket) {
                    f.called = None;
                }
            }
            Event::TicketCancelled { ticket } => {
                self.followed.remove(ticket);
            }
            Event::DayEnded { expired, .. } => {
                for t in expired {
                    self.followed.remove(t);
                }
            }
            Event::WindowPaused { window, reason } if self.config.window(*window).is_some() => {
                self.paused.insert(*window, (*reason, at_ms));
                if *reason != PauseReason::Lunch {
                    self.pause_after.hits += 1.0;
                }
            }
            Event::WindowResumed { window } => {
                if let Some((reason, since)) = self.paused.remove(window)
                    && reason != PauseReason::Lunch
                {
                    let minutes = ((at_ms - since) as f64 / MINUTE_MS as f64).clamp(0.5, 240.0);
                    self.pause_time
                        .entry(reason_key(reason))
                        .or_default()
                        .add(minutes.ln());
                }
            }
            Event::StaffSignedOut { window, .. } | Event::WindowClosed { window, .. } => {
                self.paused.remove(window);
            }
            _ => {}
        }
    }

    /// A release (finish, transfer, no-show) is a chance to pause; the pause
    /// itself is counted when it happens.
    fn after_release(&mut self) {
        self.pause_after.hits *= DECAY;
        self.pause_after.trials = self.pause_after.trials * DECAY + 1.0;
    }

    fn no_show_share(&mut self, service: &str, hit: bool) {
        if self.config.service(service).is_some() {
            self.no_show
                .entry(service.to_string())
                .or_default()
                .add(hit);
        }
    }

    fn window_time(&mut self, f: &Followed, at_ms: Millis) {
        let Some((called, window)) = f.called else {
            return;
        };
        if self.config.service(&f.service).is_none() || self.config.window(window).is_none() {
            return;
        }
        let minutes = (at_ms - called) as f64 / MINUTE_MS as f64 / f64::from(f.cases.max(1));
        let x = minutes.clamp(MINUTES_MIN, MINUTES_MAX).ln();
        self.per_service
            .entry(f.service.clone())
            .or_default()
            .add(x);
        self.per_window
            .entry((f.service.clone(), window))
            .or_default()
            .add(x);
    }

    /// Folds the arrivals of the day before `date` into the averages.
    fn roll_day(&mut self, date: NaiveDate) {
        if self.today == Some(date) {
            return;
        }
        if self.today.is_some_and(|d| d > date) {
            return; // events out of order: keep today
        }
        self.today = Some(date);
        for a in self.arrivals.values_mut() {
            let had: u32 = a.today.iter().sum();
            if a.today.len() == BINS && had > 0 {
                if a.per_bin.len() != BINS || a.days == 0 {
                    a.per_bin = a.today.iter().map(|&c| f64::from(c)).collect();
                } else {
                    for (avg, &c) in a.per_bin.iter_mut().zip(&a.today) {
                        *avg = *avg * (1.0 - DAY_WEIGHT) + f64::from(c) * DAY_WEIGHT;
                    }
                }
                a.days += 1;
            }
            a.today = vec![0; BINS];
        }
    }

    // ---- what the look-ahead asks ----

    /// (log-mean, log-sd) of window minutes per case of a service.
    pub fn service_params(&self, service: &str) -> (f64, f64) {
        let expected = self
            .config
            .service(service)
            .map_or(10.0, |s| f64::from(s.expected_minutes.max(1)));
        let prior_var = PRIOR_SIGMA * PRIOR_SIGMA;
        let prior = (expected.ln() - prior_var / 2.0, prior_var);
        let (mu, var) = self
            .per_service
            .get(service)
            .map_or(prior, |s| s.shrunk(prior, SERVICE_PRIOR_WEIGHT));
        (mu, var.sqrt().clamp(0.05, 1.5))
    }

    /// (log-mean, log-sd) of window minutes per case of a service at a window.
    pub fn window_params(&self, service: &str, window: WindowNo) -> (f64, f64) {
        let (mu, sd) = self.service_params(service);
        let prior = (mu, sd * sd);
        let (mu, var) = self
            .per_window
            .get(&(service.to_string(), window))
            .map_or(prior, |s| s.shrunk(prior, WINDOW_PRIOR_WEIGHT));
        (mu, var.sqrt().clamp(0.05, 1.5))
    }

    /// Mean window minutes per case of a service (for the classic estimate).
    pub fn mean_minutes(&self, service: &str) -> f64 {
        let (mu, sd) = self.service_params(service);
        (mu + sd * sd / 2.0).exp()
    }

    /// Observations of a service's window time (decayed).
    pub fn seen(&self, service: &str) -> f64 {
        self.per_service.get(service).map_or(0.0, |s| s.n)
    }

    /// A draw of the window time of a ticket of `cases` cases.
    pub fn sample_window_ms(
        &self,
        rng: &mut SimRng,
        service: &str,
        window: WindowNo,
        cases: u32,
    ) -> Millis {
        let (mu, sd) = self.window_params(service, window);
        let minutes =
            lognormal(rng, mu, sd).clamp(MINUTES_MIN, MINUTES_MAX) * f64::from(cases.max(1));
        (minutes * MINUTE_MS as f64) as Millis
    }

    pub fn no_show_p(&self, service: &str) -> f64 {
        self.no_show.get(service).map_or(0.05, |s| s.p(0.05, 20.0))
    }

    pub fn sample_no_show_ms(&self, rng: &mut SimRng, service: &str) -> Millis {
        let prior = (1.5_f64.ln(), 0.25);
        let (mu, var) = self
            .no_show_time
            .get(service)
            .map_or(prior, |s| s.shrunk(prior, 5.0));
        (lognormal(rng, mu, var.sqrt().min(1.5)).clamp(0.1, 30.0) * MINUTE_MS as f64) as Millis
    }

    /// Where a ticket of `service` is transferred to after its window time, if it is.
    pub fn sample_transfer(&self, rng: &mut SimRng, service: &str) -> Option<String> {
        let p = self.transfer.get(service).map_or(0.0, |s| s.p(0.0, 20.0));
        if !bernoulli(rng, p) {
            return None;
        }
        let to = self.transfer_to.get(service)?;
        let total: f64 = to.values().sum();
        let mut x = unit(rng) * total;
        for (s, w) in to {
            if x < *w {
                return Some(s.clone());
            }
            x -= w;
        }
        to.keys().next_back().cloned()
    }

    /// Whether a window pauses now, after a release, and for how long.
    pub fn sample_pause(&self, rng: &mut SimRng) -> Option<(PauseReason, Millis)> {
        let p = self.pause_after.p(0.0, 50.0).min(0.5);
        if !bernoulli(rng, p) {
            return None;
        }
        // The reason in proportion to the pauses seen (a break when none was).
        let seen: Vec<(u8, f64)> = self
            .pause_time
            .iter()
            .filter(|(k, _)| **k != 0)
            .map(|(k, s)| (*k, s.n))
            .collect();
        let total: f64 = seen.iter().map(|(_, n)| n).sum();
        let mut reason = PauseReason::Break;
        if total > 0.0 {
            let mut x = unit(rng) * total;
            for (k, n) in &seen {
                if x < *n {
                    reason = reason_of(*k);
                    break;
                }
                x -= n;
            }
        }
        Some((reason, self.sample_pause_ms(rng, reason)))
    }

    /// A draw of a pause's length.
    pub fn sample_pause_ms(&self, rng: &mut SimRng, reason: PauseReason) -> Millis {
        let prior = (prior_pause_minutes(reason).ln(), 0.25);
        let (mu, var) = self
            .pause_time
            .get(&reason_key(reason))
            .map_or(prior, |s| s.shrunk(prior, 3.0));
        (lognormal(rng, mu, var.sqrt().min(1.5)).clamp(0.5, 240.0) * MINUTE_MS as f64) as Millis
    }

    /// Expected tickets of `service` in half-hour `bin` of a business day,
    /// scaled by how busy today has been so far (up to `now_bin`).
    pub fn arrivals_in_bin(&self, service: &str, bin: usize, now_bin: usize) -> f64 {
        let Some(a) = self.arrivals.get(service) else {
            return 0.0;
        };
        if a.days == 0 || a.per_bin.len() != BINS || bin >= BINS {
            return 0.0;
        }
        a.per_bin[bin] * self.today_factor(service, now_bin)
    }

    /// Today's arrivals so far against the usual, shrunk toward 1 (a rush
    /// day raises the expected arrivals of the rest of the day).
    pub fn today_factor(&self, service: &str, now_bin: usize) -> f64 {
        let Some(a) = self.arrivals.get(service) else {
            return 1.0;
        };
        if a.days == 0 || a.per_bin.len() != BINS || a.today.len() != BINS {
            return 1.0;
        }
        let upto = now_bin.min(BINS);
        let expected: f64 = a.per_bin[..upto].iter().sum();
        let seen: f64 = a.today[..upto].iter().map(|&c| f64::from(c)).sum();
        const K: f64 = 10.0;
        ((seen + K) / (expected + K)).clamp(0.25, 4.0)
    }

    /// The priority class of an arrival of `service`, drawn by the shares seen.
    pub fn sample_priority(&self, rng: &mut SimRng, service: &str) -> Option<String> {
        let a = self.arrivals.get(service)?;
        let mut x = unit(rng);
        for (id, share) in &a.priority {
            let p = share.p(0.0, 5.0);
            if x < p {
                return Some(id.clone());
            }
            x -= p;
        }
        None
    }

    /// Business days of arrivals learned for a service.
    pub fn arrival_days(&self, service: &str) -> u32 {
        self.arrivals.get(service).map_or(0, |a| a.days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::routing::QueueKey;
    use crate::queue::{IssueSource, Outcome};

    fn issued(id: u64, service: &str, cases: u32) -> Event {
        Event::TicketIssued {
            ticket: TicketId(id),
            number: format!("A{id:03}"),
            service: service.into(),
            cycle: 0,
            serial: id as u32,
            priority: None,
            rank: 0,
            person: None,
            source: IssueSource::Kiosk,
            cases,
            slot: None,
            key: QueueKey::fresh(0, TicketId(id)),
        }
    }

    fn called(id: u64, window: WindowNo) -> Event {
        Event::TicketCalled {
            ticket: TicketId(id),
            window,
            staff: "w".into(),
            rule: crate::queue::CallRule::Routed,
            reason: None,
        }
    }

    fn finished(id: u64, window: WindowNo) -> Event {
        Event::TicketFinished {
            ticket: TicketId(id),
            window,
            staff: "w".into(),
            outcome: Outcome::Done,
            reason: None,
            next_step: None,
        }
    }

    #[test]
    fn learns_window_time_and_shrinks_toward_the_config_default() {
        let config = Arc::new(Config::demo());
        let service = config.services()[0].id.clone();
        let window = config
            .windows()
            .iter()
            .find(|w| w.services.iter().any(|s| s.service == service))
            .unwrap()
            .number;
        let mut m = Model::new(config.clone());
        let prior = m.mean_minutes(&service);
        let expected = f64::from(config.service(&service).unwrap().expected_minutes);
        assert!(
            (prior - expected).abs() < 1e-9,
            "prior mean {prior} vs {expected}"
        );
        // 200 tickets of 2 cases, each taking 30 minutes at the window: 15 per case.
        let mut t = 1_000_000;
        for id in 1..=200 {
            m.observe(&issued(id, &service, 2), t);
            m.observe(&called(id, window), t + 1_000);
            m.observe(&finished(id, window), t + 1_000 + 30 * MINUTE_MS);
            t += 31 * MINUTE_MS;
        }
        let (mu, _) = m.window_params(&service, window);
        assert!(
            (mu.exp() - 15.0).abs() < 0.5,
            "median per case {}",
            mu.exp()
        );
        // Another window has seen nothing: it takes the service's figure.
        let (mu_s, _) = m.service_params(&service);
        assert!((mu_s.exp() - 15.0).abs() < 0.6);
        assert!(m.no_show_p(&service) < 0.01);
        assert!(m.followed.is_empty(), "finished tickets are forgotten");
    }

    #[test]
    fn unknown_services_and_windows_are_skipped() {
        let config = Arc::new(Config::demo());
        let mut m = Model::new(config);
        m.observe(&issued(1, "no-such-service", 1), 0);
        m.observe(&called(1, 9999), 10);
        m.observe(&finished(1, 9999), 20);
        assert!(m.per_service.is_empty() && m.per_window.is_empty());
    }
}
