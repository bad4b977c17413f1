//! [`Collector`]: folds journal records into a period's figures.
//!
//! It keeps its own [`Hall`] replica and evolves every event exactly like
//! replay does, so every join (ticket → service → department, window → zone,
//! staff names) and every state-dependent measure (idle while people wait,
//! paused time) is read from the hall as it stood at that instant. It must
//! be fed from the first record of the journal, whatever the period: the
//! state at the period's start depends on everything before it. Only facts
//! of the period's business days are counted (see [`super::figures`] for
//! the attribution rules).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::anyhow;
use chrono::NaiveDate;

use super::acc::{Acc, Target};
use super::attendance::AttendanceLog;
use super::evaluation::{self, EvaluationRecord};
use super::figures::{DayFigures, Figures, FollowUp, Group, Rankings, StatsReport};
use super::followup;
use super::period::Period;
use super::ranking;
use crate::config::Config;
use crate::journal::Record;
use crate::queue::routing::LaneId;
use crate::queue::{Event, Hall, MINUTE_MS, Millis, TicketId, WindowNo};

/// How a visit (one service step of a ticket) began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VisitKind {
    Issued,
    Transferred,
    NextStep,
}

/// The ticket's current visit.
#[derive(Debug, Clone)]
struct Visit {
    service: String,
    kind: VisitKind,
    start_ms: Millis,
    called: bool,
    started_ms: Option<Millis>,
}

/// What the statistics remember of a live ticket.
#[derive(Debug, Clone)]
struct Track {
    day: NaiveDate,
    visit: Visit,
}

/// The visit last finished at a window, which its evaluator rates.
#[derive(Debug, Clone)]
struct Finished {
    ticket: TicketId,
    day: NaiveDate,
    service: String,
}

/// Folds journal records (from the first) into a [`StatsReport`].
pub struct Collector {
    config: Arc<Config>,
    period: Period,
    hall: Hall,
    last_at_ms: Option<Millis>,
    last_seq: u64,
    tracks: HashMap<TicketId, Track>,
    finished_at: HashMap<WindowNo, Finished>,
    acc: Acc,
    attendance: AttendanceLog,
    evaluations: Vec<EvaluationRecord>,
    /// Priority ranks (0 and each configured one), to count window-directed lanes.
    ranks: Vec<u32>,
}

impl Collector {
    pub fn new(config: Arc<Config>, period: Period) -> Collector {
        let mut ranks: Vec<u32> = std::iter::once(0)
            .chain(config.file.priority.iter().map(|p| p.rank))
            .collect();
        ranks.sort_unstable();
        ranks.dedup();
        Collector {
            hall: Hall::new(config.clone()),
            config,
            period,
            last_at_ms: None,
            last_seq: 0,
            tracks: HashMap::new(),
            finished_at: HashMap::new(),
            acc: Acc::default(),
            attendance: AttendanceLog::default(),
            evaluations: Vec::new(),
            ranks,
        }
    }

    /// The period being collected.
    pub fn period(&self) -> &Period {
        &self.period
    }

    /// Folds one journal record. A row whose payload is not an event this
    /// build can read is an error naming its seq (the figures would be wrong).
    pub fn feed(&mut self, record: &Record) -> anyhow::Result<()> {
        let event: Event = serde_json::from_str(&record.payload).map_err(|e| {
            anyhow!(
                "journal row {} ({}) cannot be read as an event by this build: {e}",
                record.seq,
                record.kind
            )
        })?;
        self.feed_event(record.seq, &event, record.at_ms);
        Ok(())
    }

    /// Nothing later in the journal can change the period's figures: a
    /// business day after the period has opened, no ticket of the period
    /// is still live (being served across midnight) and nobody is still
    /// signed in since a date of the period. (Ratings of a day are counted
    /// only until the next business day opens, see `rated`.) Feeding more
    /// records is harmless; it is how a full fold and an early stop agree.
    pub fn is_complete(&self) -> bool {
        self.hall.day().is_some_and(|d| d > self.period.last())
            && !self.tracks.values().any(|t| self.period.contains(t.day))
            && !self.attendance.open_in(&self.period)
    }

    /// Folds one event at `at_ms` (journal row `seq`).
    pub fn feed_event(&mut self, seq: u64, event: &Event, at_ms: Millis) {
        // Time since the previous event belongs to the state it left.
        if let Some(prev) = self.last_at_ms
            && at_ms > prev
        {
            self.window_time(at_ms - prev);
        }
        self.before(seq, event, at_ms);
        self.hall.evolve(event, at_ms);
        self.after(event, at_ms);
        self.last_at_ms = Some(self.last_at_ms.map_or(at_ms, |p| p.max(at_ms)));
        self.last_seq = self.last_seq.max(seq);
    }

    /// Idle-while-waiting and paused time of every window over `dt_ms`.
    fn window_time(&mut self, dt_ms: i64) {
        let Some(day) = self.hall.day() else { return };
        if !self.period.contains(day) {
            return;
        }
        let config = self.config.clone();
        for w in self.hall.windows() {
            if !w.open {
                continue;
            }
            let Some(staff) = w.staff.as_deref() else {
                continue;
            };
            let t = Target::of(&config, day, None, Some(w.number), Some(staff));
            if let Some(reason) = w.paused {
                self.acc.bump(&t, |f| f.paused_ms.add_reason(reason, dt_ms));
            } else if w.current.is_none() && waiting_at(&self.hall, &self.ranks, w.number) > 0 {
                self.acc.bump(&t, |f| f.idle_while_waiting_ms += dt_ms);
            }
        }
    }

    /// Facts read from the state before the event is folded.
    fn before(&mut self, seq: u64, event: &Event, at_ms: Millis) {
        let config = self.config.clone();
        match event {
            Event::TicketCalled {
                ticket,
                window,
                staff,
                ..
            } => {
                let Some(track) = self.tracks.get_mut(ticket) else {
                    return;
                };
                let first = !track.visit.called;
                track.visit.called = true;
                let (kind, start) = (track.visit.kind, track.visit.start_ms);
                let Some((day, service)) = counts(&self.tracks, &self.period, *ticket) else {
                    return;
                };
                let t = Target::of(&config, day, Some(service), Some(*window), Some(staff));
                let target_ms = config
                    .service(service)
                    .map(|s| i64::from(s.target_wait_minutes) * MINUTE_MS);
                let wait = at_ms - start;
                self.acc.bump(&t, |f| {
                    f.called += 1;
                    if first {
                        match kind {
                            VisitKind::NextStep => f.walk.push(wait, None),
                            _ => f.wait.push(wait, target_ms),
                        }
                    }
                });
            }
            Event::TicketRecalled { ticket, window, .. } => {
                let staff = self.hall.window(*window).and_then(|w| w.staff.clone());
                if let Some((day, service)) = counts(&self.tracks, &self.period, *ticket) {
                    let t =
                        Target::of(&config, day, Some(service), Some(*window), staff.as_deref());
                    self.acc.bump(&t, |f| f.recalls += 1);
                }
            }
            Event::ServiceStarted { ticket, .. } => {
                if let Some(track) = self.tracks.get_mut(ticket) {
                    track.visit.started_ms = Some(at_ms);
                }
            }
            Event::TicketFinished {
                ticket,
                window,
                staff,
                outcome,
                reason,
                next_step,
            } => {
                let Some(track) = self.tracks.get(ticket).cloned() else {
                    return;
                };
                self.finished_at.insert(
                    *window,
                    Finished {
                        ticket: *ticket,
                        day: track.day,
                        service: track.visit.service.clone(),
                    },
                );
                if let Some((day, service)) = counts(&self.tracks, &self.period, *ticket) {
                    let t = Target::of(&config, day, Some(service), Some(*window), Some(staff));
                    let service_ms = track.visit.started_ms.map(|s| at_ms - s);
                    self.acc.bump(&t, |f| {
                        f.served += 1;
                        f.outcomes.count(*outcome, reason.as_deref());
                        if let Some(ms) = service_ms {
                            f.service.push(ms, None);
                        }
                    });
                }
                match next_step {
                    Some(next) => self.new_visit(*ticket, next, VisitKind::NextStep, at_ms),
                    None => {
                        self.tracks.remove(ticket);
                    }
                }
            }
            Event::TicketNoShow {
                ticket,
                window,
                staff,
                requeue,
            } => {
                if let Some((day, service)) = counts(&self.tracks, &self.period, *ticket) {
                    let t = Target::of(&config, day, Some(service), Some(*window), Some(staff));
                    let last = requeue.is_none();
                    self.acc.bump(&t, |f| {
                        f.no_show += 1;
                        f.no_show_final += u64::from(last);
                    });
                }
                if requeue.is_none() {
                    self.tracks.remove(ticket);
                }
            }
            Event::TicketParked {
                ticket,
                window,
                staff,
            } => {
                if let Some((day, service)) = counts(&self.tracks, &self.period, *ticket) {
                    let t = Target::of(&config, day, Some(service), Some(*window), Some(staff));
                    self.acc.bump(&t, |f| f.parked += 1);
                }
            }
            Event::TicketTransferred {
                ticket,
                from_window,
                staff,
                to_service,
                ..
            } => {
                if let Some((day, service)) = counts(&self.tracks, &self.period, *ticket) {
                    let t =
                        Target::of(&config, day, Some(service), Some(*from_window), Some(staff));
                    self.acc.bump(&t, |f| f.transferred += 1);
                }
                self.new_visit(*ticket, to_service, VisitKind::Transferred, at_ms);
            }
            Event::TicketCancelled { ticket } => {
                let live = self
                    .hall
                    .ticket(*ticket)
                    .is_some_and(|t| t.status.is_live());
                if live && let Some((day, service)) = counts(&self.tracks, &self.period, *ticket) {
                    let t = Target::of(&config, day, Some(service), None, None);
                    self.acc.bump(&t, |f| f.cancelled += 1);
                }
                self.tracks.remove(ticket);
            }
            Event::DayEnded { expired, .. } => {
                for id in expired {
                    if let Some((day, service)) = counts(&self.tracks, &self.period, *id) {
                        let t = Target::of(&config, day, Some(service), None, None);
                        self.acc.bump(&t, |f| f.expired += 1);
                    }
                    self.tracks.remove(id);
                }
            }
            Event::ServiceRated {
                ticket,
                window,
                staff,
                rating,
            } => self.rated(seq, at_ms, *ticket, *window, staff, *rating),
            _ => {}
        }
    }

    /// Facts read from the state after the event is folded.
    fn after(&mut self, event: &Event, at_ms: Millis) {
        match event {
            Event::TicketIssued {
                ticket, service, ..
            } => {
                // `evolve` ignores a ticket issued outside a business day.
                let Some(day) = self.hall.ticket(*ticket).map(|t| t.day) else {
                    return;
                };
                self.tracks.insert(
                    *ticket,
                    Track {
                        day,
                        visit: Visit {
                            service: service.clone(),
                            kind: VisitKind::Issued,
                            start_ms: at_ms,
                            called: false,
                            started_ms: None,
                        },
                    },
                );
                if self.period.contains(day) {
                    let config = self.config.clone();
                    let t = Target::of(&config, day, Some(service), None, None);
                    self.acc.bump(&t, |f| f.issued += 1);
                }
            }
            Event::StaffSignedIn { .. }
            | Event::StaffSignedOut { .. }
            | Event::WindowPaused { .. }
            | Event::WindowResumed { .. }
            | Event::WindowClosed { .. }
            | Event::WindowOpened { .. }
            | Event::DayEnded { .. } => {
                self.attendance.observe(&self.hall, at_ms, &self.period);
            }
            _ => {}
        }
    }

    fn new_visit(&mut self, ticket: TicketId, service: &str, kind: VisitKind, at_ms: Millis) {
        if let Some(track) = self.tracks.get_mut(&ticket) {
            track.visit = Visit {
                service: service.to_string(),
                kind,
                start_ms: at_ms,
                called: false,
                started_ms: None,
            };
        }
    }

    /// A rating (or not-rated): the evaluation record, its figures and, if
    /// negative, its follow-up.
    fn rated(
        &mut self,
        seq: u64,
        at_ms: Millis,
        ticket: TicketId,
        window: WindowNo,
        staff: &str,
        rating: Option<crate::queue::Rating>,
    ) {
        let mut rec = evaluation::record(&self.hall, seq, at_ms, ticket, window, staff, rating);
        // The rated visit is the one last finished at that window: after a
        // flow step the ticket's current service is already the next step's.
        let finished = self
            .finished_at
            .get(&window)
            .filter(|f| f.ticket == ticket)
            .cloned();
        let day = match &finished {
            Some(f) => {
                evaluation::set_visit_service(&self.config, &mut rec, &f.service);
                rec.date = f.day.to_string();
                f.day
            }
            None => match rec.date.parse::<NaiveDate>() {
                Ok(d) => d,
                Err(_) => return,
            },
        };
        // A rating belongs to its business day only while that day is the
        // hall's: the evaluator times out in minutes, so a rating after the
        // next day opened is a stray (and counting it would make a past
        // period's figures change as the journal grows).
        if !self.period.contains(day) || self.hall.day().is_some_and(|d| d > day) {
            return;
        }
        let config = self.config.clone();
        let service = (!rec.service.is_empty()).then_some(rec.service.as_str());
        let t = Target::of(&config, day, service, Some(window), Some(staff));
        self.acc.bump(&t, |f| f.ratings.count(rating));
        self.evaluations.push(rec);
    }

    /// The report. Durations are summarized, groups named and sorted,
    /// follow-ups dated and rankings computed.
    pub fn finish(self) -> StatsReport {
        let config = self.config;
        let end_ms = self.last_at_ms.unwrap_or(0);
        let attendance = self.attendance.finish(&config, end_ms, &self.period);
        let stats = &config.file.stats;
        let thresholds = stats.wait_thresholds_minutes.clone();
        let mut acc = self.acc;
        let sum = |f: &mut Figures| {
            f.wait.summarize(&thresholds);
            f.service.summarize(&[]);
            f.walk.summarize(&[]);
        };
        sum(&mut acc.hall);
        let group =
            |id: String, name: &str, name_en: &str, extra: &str, dep: &str, mut f: Figures| {
                sum(&mut f);
                Group {
                    id,
                    name: name.to_string(),
                    name_en: name_en.to_string(),
                    extra: extra.to_string(),
                    department: dep.to_string(),
                    figures: f,
                }
            };
        let days = acc
            .days
            .into_iter()
            .map(|(date, mut figures)| {
                sum(&mut figures);
                DayFigures { date, figures }
            })
            .collect();
        let zones = acc
            .zones
            .into_iter()
            .map(|(id, f)| {
                let z = config.zone(&id);
                let (n, e) = z.map_or(("", ""), |z| (z.name.as_str(), z.name_en.as_str()));
                group(id, n, e, "", "", f)
            })
            .collect();
        let departments = acc
            .departments
            .into_iter()
            .map(|(id, f)| {
                let d = config.department(&id);
                let (n, e) = d.map_or(("", ""), |d| (d.name.as_str(), d.name_en.as_str()));
                group(id, n, e, "", "", f)
            })
            .collect();
        let services = acc
            .services
            .into_iter()
            .map(|(id, f)| {
                let s = config.service(&id);
                let (n, e, dep) = s.map_or(("", "", ""), |s| {
                    (s.name.as_str(), s.name_en.as_str(), s.department.as_str())
                });
                group(id, n, e, "", dep, f)
            })
            .collect();
        let windows: Vec<Group> = acc
            .windows
            .into_iter()
            .map(|(n, f)| {
                let w = config.window(n);
                let (name, e, zone, dep) = w.map_or(("", "", "", ""), |w| {
                    (
                        w.name.as_str(),
                        w.name_en.as_str(),
                        w.zone.as_str(),
                        w.department.as_deref().unwrap_or(""),
                    )
                });
                group(n.to_string(), name, e, zone, dep, f)
            })
            .collect();
        let staff: Vec<Group> = acc
            .staff
            .into_iter()
            .map(|(id, f)| {
                let p = config.staff(&id);
                let (name, job, dep) = p.map_or(("", "", ""), |p| {
                    (
                        p.name.as_str(),
                        p.job_number.as_str(),
                        p.department.as_deref().unwrap_or(""),
                    )
                });
                group(id, name, "", job, dep, f)
            })
            .collect();
        let followups = self
            .evaluations
            .iter()
            .filter(|e| evaluation::is_negative(e.rating))
            .map(|e| {
                let rated_on = rated_on(&config, e);
                FollowUp {
                    evaluation: e.clone(),
                    rated_on,
                    deadline: followup::deadline(
                        &config.file.calendar,
                        rated_on,
                        stats.followup_days,
                    ),
                    followup_days: stats.followup_days,
                }
            })
            .collect();
        let rankings = Rankings {
            min_rated: stats.ranking_min_rated,
            windows: ranking::rank(&windows, stats.ranking_min_rated),
            staff: ranking::rank(&staff, stats.ranking_min_rated),
        };
        StatsReport {
            period: self.period,
            hall_name: config.file.hall.name.clone(),
            wait_thresholds_minutes: thresholds.clone(),
            journal_last_seq: self.last_seq,
            hall: acc.hall,
            days,
            zones,
            departments,
            services,
            windows,
            staff,
            attendance,
            evaluations: self.evaluations,
            followups,
            rankings,
        }
    }
}

/// The hall-local date a rating was given (its business day if the time is unreadable).
fn rated_on(config: &Config, e: &EvaluationRecord) -> NaiveDate {
    chrono::DateTime::parse_from_rfc3339(&e.rated_at)
        .map(|t| t.with_timezone(&config.tz).date_naive())
        .or_else(|_| e.date.parse())
        .unwrap_or_default()
}

/// The business day and service of ticket `id`'s current visit, if its day is in the period.
fn counts<'a>(
    tracks: &'a HashMap<TicketId, Track>,
    period: &Period,
    id: TicketId,
) -> Option<(NaiveDate, &'a str)> {
    let t = tracks.get(&id)?;
    period
        .contains(t.day)
        .then_some((t.day, t.visit.service.as_str()))
}

/// Tickets window `n` could serve now: the lines of its services and the
/// tickets transferred to it in particular.
fn waiting_at(hall: &Hall, ranks: &[u32], n: WindowNo) -> usize {
    let directed: usize = ranks
        .iter()
        .filter_map(|r| hall.queues().lane(LaneId::Window(n, *r)))
        .map(|l| l.len())
        .sum();
    hall.waiting_for_window(n) + directed
}
