//! The estimate backtest: simulated hall days with a known truth.
//!
//! A *truth* hall (one per seed) has its own service times — lognormal per
//! (service, window), each window somewhat faster or slower than the
//! configuration says — no-show rates, transfers, pauses and outcomes, and
//! arrivals that peak at opening and after lunch, with day-to-day swings.
//! Its days are run with the real core by virtual staff
//! ([`super::driver`]). The estimator sees only what the daemon would
//! see: the hall at the moment a ticket is issued and a [`Model`] trained
//! on the events before it (warm-up days first, then online).
//!
//! At each issue we record our estimate (median and p10–p90 of the wait
//! until first call) and the classic one (place in line × mean service
//! time ÷ open staffed windows), and when the ticket is called, the real
//! wait.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

use super::driver::{Arrival, Behaviour, Driver, Flow, Handling, Release, sessions_of_day};
use super::lookahead::{Forecast, Settings, classic_minutes, look_ahead, staffed_windows};
use super::model::Model;
use super::random::{bernoulli, lognormal, normal, poisson, unit};
use super::staffing::{virtual_desks, with_virtual_staff};
use crate::config::Config;
use crate::queue::calendar::{DayKind, day_plan, instant};
use crate::queue::{
    Event, Hall, MINUTE_MS, Millis, Outcome, PauseReason, Ticket, TicketId, WindowNo,
};
use crate::sim::traffic::SimRng;

/// How a backtest runs.
#[derive(Debug, Clone)]
pub struct BacktestSettings {
    /// Business days simulated before any estimate is recorded (the model learns).
    pub warm_days: usize,
    /// Business days whose tickets are estimated.
    pub eval_days: usize,
    /// First date tried (non-working days are skipped).
    pub first_date: NaiveDate,
    /// Estimate every n-th ticket issued (1 = all).
    pub every: usize,
    /// Scales the arrival volume (1 = the hall at about 75% of capacity on an average day).
    pub load: f64,
    /// Only the first `sessions` sessions of each day (None = all).
    pub sessions: Option<usize>,
    pub lookahead: Settings,
}

impl Default for BacktestSettings {
    fn default() -> BacktestSettings {
        BacktestSettings {
            warm_days: 5,
            eval_days: 3,
            first_date: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default(),
            every: 1,
            load: 1.0,
            sessions: None,
            lookahead: Settings::default(),
        }
    }
}

/// One estimated ticket.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub seed: u64,
    pub date: NaiveDate,
    pub ticket: u64,
    pub service: String,
    pub priority: Option<String>,
    pub ahead: usize,
    /// Minutes from issue to first call.
    pub actual: f64,
    pub ours: f64,
    pub ours_low: f64,
    pub ours_high: f64,
    /// Place in line × learned mean minutes ÷ open staffed windows.
    pub classic: f64,
    /// The same with the configuration's `expected_minutes` (what the views showed before).
    pub classic_config: f64,
}

/// Figures over a set of samples.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub samples: usize,
    pub mae_ours: f64,
    pub mae_classic: f64,
    pub mae_classic_config: f64,
    /// mae_ours / mae_classic.
    pub ratio: f64,
    /// Share of real waits inside our p10–p90.
    pub coverage: f64,
    pub mean_actual: f64,
}

impl Summary {
    pub fn of(samples: &[Sample]) -> Summary {
        let n = samples.len();
        if n == 0 {
            return Summary::default();
        }
        let nf = n as f64;
        let mae = |f: &dyn Fn(&Sample) -> f64| {
            samples.iter().map(|s| (f(s) - s.actual).abs()).sum::<f64>() / nf
        };
        let mae_ours = mae(&|s| s.ours);
        let mae_classic = mae(&|s| s.classic);
        Summary {
            samples: n,
            mae_ours,
            mae_classic,
            mae_classic_config: mae(&|s| s.classic_config),
            ratio: if mae_classic > 0.0 {
                mae_ours / mae_classic
            } else {
                f64::NAN
            },
            coverage: samples
                .iter()
                .filter(|s| s.ours_low <= s.actual && s.actual <= s.ours_high)
                .count() as f64
                / nf,
            mean_actual: samples.iter().map(|s| s.actual).sum::<f64>() / nf,
        }
    }
}

/// What a seed's hall is really like.
#[derive(Debug, Clone)]
pub struct Truth {
    pub config: Arc<Config>,
    /// Log-mean and log-sd of minutes per case, per (service, window).
    pub window_time: HashMap<(String, WindowNo), (f64, f64)>,
    pub no_show: HashMap<String, f64>,
    /// Tickets per business day, per service taking arrivals.
    pub volume: BTreeMap<String, f64>,
    /// Services a transfer may go to.
    pub transfer_targets: Vec<String>,
    pub transfer_p: f64,
    pub pause_p: f64,
    /// (priority id, share) of arrivals.
    pub priorities: Vec<(String, f64)>,
}

impl Truth {
    /// A truth hall for `config` (virtual staff are added).
    pub fn new(config: &Config, seed: u64, load: f64) -> Result<Truth, String> {
        let config = Arc::new(with_virtual_staff(config)?);
        let mut rng = SimRng::new(seed ^ 0x5EED_7207);
        let mut window_time = HashMap::new();
        let mut sigma: HashMap<String, f64> = HashMap::new();
        let mut no_show = HashMap::new();
        for s in config.services() {
            let sd = 0.35 + 0.3 * unit(&mut rng);
            sigma.insert(s.id.clone(), sd);
            no_show.insert(s.id.clone(), 0.03 + 0.07 * unit(&mut rng));
        }
        for w in config.windows() {
            for ws in &w.services {
                let Some(s) = config.service(&ws.service) else {
                    continue;
                };
                let sd = sigma.get(&s.id).copied().unwrap_or(0.5);
                let factor = (0.2 * normal(&mut rng)).exp();
                let median = f64::from(s.expected_minutes.max(1)) * factor * (-sd * sd / 2.0).exp();
                window_time.insert((s.id.clone(), w.number), (median.ln(), sd));
            }
        }
        let volume = volumes(&config, load);
        let transfer_targets: Vec<String> = volume.keys().cloned().collect();
        let priorities = config
            .file
            .priority
            .iter()
            .take(2)
            .zip([0.04, 0.01])
            .map(|(p, share)| (p.id.clone(), share))
            .collect();
        Ok(Truth {
            config,
            window_time,
            no_show,
            volume,
            transfer_targets,
            transfer_p: 0.03,
            pause_p: 0.015,
            priorities,
        })
    }

    /// A day's arrivals: each service's volume × a day level, spread over
    /// the issuing hours with peaks at the start of each session.
    pub fn arrivals(
        &self,
        rng: &mut SimRng,
        date: NaiveDate,
        sessions: Option<usize>,
    ) -> Vec<(Millis, Arrival)> {
        let tz = self.config.tz;
        let cal = &self.config.file.calendar;
        let cutoff = Millis::from(cal.issue_cutoff_minutes) * MINUTE_MS;
        let plan = day_plan(cal, date);
        let total_slots = plan.slots.len();
        let slots: Vec<(Millis, Millis)> = plan
            .slots
            .iter()
            .take(sessions.unwrap_or(usize::MAX))
            .map(|s| (instant(tz, s.start), instant(tz, s.end) - cutoff))
            .filter(|(a, b)| b > a)
            .collect();
        // Half-hour blocks with a peak at each opening, tapering off.
        let mut blocks: Vec<(Millis, Millis, f64)> = Vec::new();
        for (i, &(from, to)) in slots.iter().enumerate() {
            let peak = if i == 0 { 2.2 } else { 2.0 };
            let mut t = from;
            let mut k = 0;
            while t < to {
                let end = (t + 30 * MINUTE_MS).min(to);
                let w = (peak * 0.75_f64.powi(k)).max(0.7);
                blocks.push((t, end, w * (end - t) as f64 / (30 * MINUTE_MS) as f64));
                t = end;
                k += 1;
            }
        }
        let weight: f64 = blocks.iter().map(|b| b.2).sum();
        if weight <= 0.0 {
            return Vec::new();
        }
        // A day busier or quieter than usual, and each service a little on its own.
        let day = 0.8 + 0.4 * unit(rng);
        let share = slots.len() as f64 / total_slots.max(1) as f64;
        let mut out = Vec::new();
        for (service, volume) in &self.volume {
            let level = volume * day * (0.9 + 0.2 * unit(rng)) * share;
            for &(from, to, w) in &blocks {
                for _ in 0..poisson(rng, level * w / weight) {
                    let at = from + (unit(rng) * (to - from) as f64) as Millis;
                    let mut priority = None;
                    let mut x = unit(rng);
                    for (id, p) in &self.priorities {
                        if x < *p {
                            priority = Some(id.clone());
                            break;
                        }
                        x -= p;
                    }
                    let cases = if bernoulli(rng, 0.05) { 2 } else { 1 };
                    out.push((
                        at,
                        Arrival {
                            service: service.clone(),
                            priority,
                            cases,
                        },
                    ));
                }
            }
        }
        out.sort_by_key(|(t, _)| *t);
        out
    }
}

/// Tickets per day per service that starts a matter (not a later step of a
/// flow), sized so the busiest line of its flow runs at about 75% × `load`
/// of the window time that serves it. A window's time is shared among its
/// services by weight.
pub fn volumes(config: &Config, load: f64) -> BTreeMap<String, f64> {
    let minutes: f64 = day_plan(&config.file.calendar, first_workday(config))
        .slots
        .iter()
        .map(|s| (s.end - s.start).num_minutes() as f64)
        .sum();
    let mut capacity: HashMap<&str, f64> = HashMap::new();
    for w in config.windows().iter().filter(|w| w.open) {
        let total: u32 = w.services.iter().map(|s| s.weight.max(1)).sum();
        for s in &w.services {
            *capacity.entry(s.service.as_str()).or_default() +=
                minutes * f64::from(s.weight.max(1)) / f64::from(total.max(1));
        }
    }
    let steps: HashSet<&str> = config
        .services()
        .iter()
        .filter_map(|s| s.next_step.as_deref())
        .collect();
    let chain = |root: &str| -> Vec<String> {
        let mut out = vec![root.to_string()];
        let mut at = root.to_string();
        while let Some(next) = config.service(&at).and_then(|s| s.next_step.clone()) {
            if out.contains(&next) || out.len() > 16 {
                break;
            }
            out.push(next.clone());
            at = next;
        }
        out
    };
    let roots: Vec<&str> = config
        .services()
        .iter()
        .map(|s| s.id.as_str())
        .filter(|s| !steps.contains(s) && capacity.get(s).is_some_and(|c| *c > 0.0))
        .collect();
    let mut users: HashMap<String, usize> = HashMap::new();
    for r in &roots {
        for s in chain(r) {
            *users.entry(s).or_default() += 1;
        }
    }
    let mut out = BTreeMap::new();
    for r in roots {
        let per_day = chain(r)
            .iter()
            .map(|s| {
                let cap = capacity.get(s.as_str()).copied().unwrap_or(0.0);
                let expected = config
                    .service(s)
                    .map_or(10.0, |c| f64::from(c.expected_minutes.max(1)));
                cap / expected / users.get(s).copied().unwrap_or(1).max(1) as f64
            })
            .fold(f64::INFINITY, f64::min);
        if per_day.is_finite() && per_day > 0.0 {
            out.insert(r.to_string(), 0.75 * load * per_day);
        }
    }
    out
}

fn first_workday(config: &Config) -> NaiveDate {
    let mut d = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default();
    for _ in 0..60 {
        if is_business_day(config, d) {
            return d;
        }
        d += Duration::days(1);
    }
    d
}

/// A weekday with sessions (Saturday half-days and holidays are skipped).
pub fn is_business_day(config: &Config, date: NaiveDate) -> bool {
    let plan = day_plan(&config.file.calendar, date);
    matches!(plan.kind, DayKind::Workday)
        && date.weekday().num_days_from_monday() < 5
        && !plan.slots.is_empty()
}

/// Virtual staff of the truth hall.
pub struct TruthStaff<'a> {
    pub truth: &'a Truth,
}

impl Behaviour for TruthStaff<'_> {
    fn handle(&mut self, rng: &mut SimRng, _hall: &Hall, window: WindowNo, t: &Ticket) -> Handling {
        let p = self
            .truth
            .no_show
            .get(t.service.as_str())
            .copied()
            .unwrap_or(0.05);
        // A citizen called back after a no-show comes more often than not.
        let p = if t.no_shows > 0 { p * 0.5 } else { p };
        if bernoulli(rng, p) {
            return Handling::NoShow {
                after_ms: (lognormal(rng, 2.0_f64.ln(), 0.4) * MINUTE_MS as f64) as Millis,
            };
        }
        let (mu, sd) = self
            .truth
            .window_time
            .get(&(t.service.to_string(), window))
            .copied()
            .unwrap_or((8.0_f64.ln(), 0.5));
        let minutes = lognormal(rng, mu, sd).clamp(0.3, 180.0) * f64::from(t.cases.max(1));
        let window_ms = (minutes * MINUTE_MS as f64) as Millis;
        let release =
            if bernoulli(rng, self.truth.transfer_p) && !self.truth.transfer_targets.is_empty() {
                let i = rng.below(self.truth.transfer_targets.len() as u64) as usize;
                let to = &self.truth.transfer_targets[i];
                if *to == t.service {
                    Release::Finish(Outcome::Done)
                } else {
                    Release::Transfer(to.clone())
                }
            } else if bernoulli(rng, 0.05) {
                Release::Finish(Outcome::Incomplete)
            } else {
                Release::Finish(Outcome::Done)
            };
        Handling::Serve {
            start_after_ms: rng.range(20_000, 90_000),
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
        if bernoulli(rng, self.truth.pause_p) {
            let minutes = lognormal(rng, 10.0_f64.ln(), 0.4);
            Some((PauseReason::Break, (minutes * MINUTE_MS as f64) as Millis))
        } else if bernoulli(rng, self.truth.pause_p / 4.0) {
            let minutes = lognormal(rng, 8.0_f64.ln(), 0.3);
            Some((
                PauseReason::OutOfSupplies,
                (minutes * MINUTE_MS as f64) as Millis,
            ))
        } else {
            None
        }
    }
}

/// The estimator under test: the hall right after a ticket is issued, the
/// model as trained so far, the moment.
pub type Estimator<'a> = dyn FnMut(&Hall, &Model, Millis) -> Forecast + 'a;

/// The look-ahead with `settings`, seeded per moment.
pub fn lookahead_estimator(settings: Settings) -> impl FnMut(&Hall, &Model, Millis) -> Forecast {
    move |hall: &Hall, model: &Model, now: Millis| {
        let s = Settings {
            seed: settings.seed ^ (now as u64),
            ..settings.clone()
        };
        look_ahead(hall, model, now, &s)
    }
}

/// One seed: warm-up days, then estimated days. Returns the samples.
pub fn run_seed(
    config: &Config,
    seed: u64,
    settings: &BacktestSettings,
    estimator: &mut Estimator<'_>,
) -> Result<Vec<Sample>, String> {
    let truth = Truth::new(config, seed, settings.load)?;
    let config = truth.config.clone();
    let tz = config.tz;
    let mut hall = Hall::new(config.clone());
    let mut model = Model::new(config.clone());
    let mut rng = SimRng::new(seed);
    let mut samples = Vec::new();
    let mut date = settings.first_date;
    let mut done = 0;
    let mut guard = 0;
    while done < settings.warm_days + settings.eval_days && guard < 400 {
        guard += 1;
        if !is_business_day(&config, date) {
            date += Duration::days(1);
            continue;
        }
        let evaluating = done >= settings.warm_days;
        let Some(midnight) = date.and_hms_opt(0, 0, 0) else {
            break;
        };
        let start = instant(tz, midnight);
        let end = instant(tz, midnight + Duration::days(1)) - 1;
        let arrivals = truth.arrivals(&mut rng, date, settings.sessions);
        let day_seed = rng.next_u64();
        let mut driver = Driver::new(hall, start, day_seed, TruthStaff { truth: &truth });
        driver.schedule_calendar(end);
        let mut duty = sessions_of_day(&driver.hall, start + 12 * 60 * MINUTE_MS);
        if let Some(n) = settings.sessions {
            duty.truncate(n);
        }
        for (t, a) in arrivals {
            driver.schedule_arrival(t, a);
        }
        for desk in virtual_desks(&config, &duty) {
            driver.add_desk(desk);
        }
        let mut pending: HashMap<TicketId, Sample> = HashMap::new();
        let mut issued = 0usize;
        let mut hook = |hall: &Hall, events: &[Event], at: Millis| {
            for e in events {
                model.observe(e, at);
            }
            for e in events {
                match e {
                    Event::TicketIssued {
                        ticket,
                        service,
                        priority,
                        ..
                    } if evaluating => {
                        issued += 1;
                        if !(issued - 1).is_multiple_of(settings.every.max(1)) {
                            continue;
                        }
                        let forecast = estimator(hall, &model, at);
                        let Some(est) = forecast.ticket(*ticket) else {
                            continue;
                        };
                        let ahead = hall.ahead(*ticket, at).unwrap_or(0);
                        let windows = staffed_windows(hall, service);
                        let expected = config
                            .service(service)
                            .map_or(10.0, |s| f64::from(s.expected_minutes.max(1)));
                        let (low, mid, high) = est.minutes_from(at);
                        pending.insert(
                            *ticket,
                            Sample {
                                seed,
                                date,
                                ticket: ticket.0,
                                service: service.clone(),
                                priority: priority.clone(),
                                ahead,
                                actual: f64::NAN,
                                ours: mid,
                                ours_low: low,
                                ours_high: high,
                                classic: classic_minutes(
                                    ahead,
                                    model.mean_minutes(service),
                                    windows,
                                ),
                                classic_config: classic_minutes(ahead, expected, windows),
                            },
                        );
                    }
                    Event::TicketCalled { ticket, .. } => {
                        if let Some(mut s) = pending.remove(ticket)
                            && let Some(t) = hall.ticket(*ticket)
                        {
                            s.actual = (at - t.issued_ms) as f64 / MINUTE_MS as f64;
                            samples.push(s);
                        }
                    }
                    _ => {}
                }
            }
            Flow::Continue
        };
        driver.run(end, &mut hook);
        hall = driver.hall;
        done += 1;
        date += Duration::days(1);
    }
    Ok(samples)
}
