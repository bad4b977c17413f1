//! The reconciler: a replica of the hall, fed by committed events, from
//! which the desired content of every device is derived (DESIGN.md §4
//! invariant 4), and the way back: key presses and ratings as commands.
//!
//! The replica is the owner's hall as of the last event taken in: the
//! owner publishes only committed events (invariant 2), so no device shows
//! what the journal does not hold. After a lag (the broadcast dropped
//! events) the replica is fetched whole again.
//!
//! Evaluations: when a ticket is finished at a window with an evaluator,
//! its 请评价 lamp lights; a rating is recorded against that ticket; no
//! rating before the profile's timeout, or before the window calls its
//! next ticket, is recorded as *not rated*. All of this survives a restart
//! (the awaiting ticket is part of the hall).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};

use crate::config::Config;
use crate::daemon::owner::{HallHandle, Published, SubmitError};
use crate::devices::board::BoardCall;
use crate::devices::desired::{RecentCalls, board_for, indicator_for};
use crate::devices::evaluator::EvaluatorScreen;
use crate::devices::keypad::KeypadScreen;
use crate::devices::profile::DeviceProfile;
use crate::devices::voice::{Announcement, VoiceLimits, VoiceQueue};
use crate::queue::command::Command;
use crate::queue::event::Event;
use crate::queue::state::Hall;
use crate::queue::types::{Actor, Millis, TicketId, WindowNo};

use super::keys::{self, KeyAction};
use super::task::NowFn;
use super::{BusShared, Content, Input, Press, Serves, Target, Verdict};

/// How long a keypad shows why a key was refused.
pub const MESSAGE_SHOWN: Duration = Duration::from_secs(3);
/// How often timeouts (evaluations, keypad messages) are looked at.
pub const TICK: Duration = Duration::from_millis(250);
/// A rating polled this long after the timeout still counts: it was
/// pressed while the lamp was on (evaluators are polled every 0.5 s).
pub const RATING_GRACE_MS: Millis = 2_000;
/// What a keypad shows for 请评价 with nothing to rate.
pub const NOTHING_TO_RATE: &str = "无待评价业务";
/// Inputs waiting for the hub.
pub const INPUTS_CAPACITY: usize = 256;
/// Finished tickets the replica may hold beyond twice its live ones before
/// it forgets them (`Hall::forget_finished`).
const FINISHED_KEPT: usize = 256;

/// Where a device's desired content goes.
#[derive(Debug, Clone)]
pub struct Place {
    pub bus: usize,
    pub slot: usize,
}

/// A device as the hub needs it.
pub struct HubDevice {
    pub serves: Serves,
    pub profile: DeviceProfile,
    pub place: Place,
    pub client: String,
    /// The content last handed to the bus.
    last: Option<Content>,
    seq: u64,
    flash: u64,
}

impl HubDevice {
    pub fn new(serves: Serves, profile: DeviceProfile, place: Place, client: String) -> HubDevice {
        HubDevice {
            serves,
            profile,
            place,
            client,
            last: None,
            seq: 0,
            flash: 0,
        }
    }
}

pub struct Hub {
    pub config: Arc<Config>,
    pub handle: HallHandle,
    pub devices: Vec<HubDevice>,
    pub buses: Vec<Arc<BusShared>>,
    pub now_ms: NowFn,
    hall: Hall,
    seq: u64,
    recent: RecentCalls,
    /// Keypad messages (a refusal) until they expire.
    messages: HashMap<usize, (String, Instant)>,
    /// Evaluations prompted again by the staff (key 9): ticket → since.
    prompted: HashMap<TicketId, Millis>,
    /// Not-rated verdicts already sent, so a tick does not send them twice.
    closing: HashSet<TicketId>,
}

impl Hub {
    pub async fn new(
        config: Arc<Config>,
        handle: HallHandle,
        devices: Vec<HubDevice>,
        buses: Vec<Arc<BusShared>>,
        now_ms: NowFn,
    ) -> Result<Hub, SubmitError> {
        let (hall, recent, seq) = replica(&handle).await?;
        for d in &devices {
            if let DeviceProfile::Syn6288(p) = &d.profile {
                voice_for(&buses[d.place.bus], p.repeat);
            } else if let DeviceProfile::Xfs5152(p) = &d.profile {
                voice_for(&buses[d.place.bus], p.repeat);
            }
        }
        Ok(Hub {
            config,
            handle,
            devices,
            buses,
            now_ms,
            recent,
            hall,
            seq,
            messages: HashMap::new(),
            prompted: HashMap::new(),
            closing: HashSet::new(),
        })
    }

    /// Runs until the owner shuts down.
    pub async fn run(
        mut self,
        mut events: broadcast::Receiver<Arc<Published>>,
        mut inputs: mpsc::Receiver<Input>,
    ) {
        self.reconcile(&HashSet::new());
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                received = events.recv() => match received {
                    Ok(p) => {
                        let mut batch = vec![p];
                        while let Ok(p) = events.try_recv() {
                            batch.push(p);
                        }
                        self.take_in(&batch);
                        // A reload swapped the owner's hall (`daemon/reload.rs`):
                        // take the new one, with its configuration (zones, names).
                        if batch.iter().any(|p| matches!(p.event, Event::ConfigApplied { .. }))
                            && self.refetch().await.is_err()
                        {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if self.refetch().await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                Some(input) = inputs.recv() => self.on_input(input).await,
                _ = tick.tick() => self.on_tick().await,
            }
        }
    }

    async fn refetch(&mut self) -> Result<(), SubmitError> {
        let (hall, recent, seq) = replica(&self.handle).await?;
        self.config = hall.config().clone();
        // Events were missed: the calls too.
        self.recent = recent;
        self.hall = hall;
        self.seq = seq;
        self.reconcile(&HashSet::new());
        Ok(())
    }

    /// Applies committed events to the replica and updates the devices;
    /// calls go first: their windows' devices and voice.
    pub fn take_in(&mut self, batch: &[Arc<Published>]) {
        let mut calls: HashSet<WindowNo> = HashSet::new();
        let mut recalls: HashSet<WindowNo> = HashSet::new();
        let now = (self.now_ms)();
        for p in batch {
            if p.seq <= self.seq {
                continue;
            }
            self.seq = p.seq;
            self.hall.evolve(&p.event, p.at_ms);
            self.recent.observe(&self.hall, &p.event);
            match &p.event {
                Event::TicketCalled { ticket, window, .. } => {
                    calls.insert(*window);
                    self.announce(*ticket, *window, p.at_ms, false, now);
                }
                Event::TicketRecalled { ticket, window, .. } => {
                    recalls.insert(*window);
                    self.announce(*ticket, *window, p.at_ms, true, now);
                }
                Event::ServiceRated { ticket, .. } => {
                    self.closing.remove(ticket);
                    self.prompted.remove(ticket);
                }
                _ => {}
            }
        }
        // Every call and recall rewrites the indicator's mode, so the
        // number flashes even when nothing else on it changed (a recall, or
        // a call written before the idle state in between was).
        for d in &mut self.devices {
            if matches!(d.serves, Serves::Window(w) if recalls.contains(&w) || calls.contains(&w))
                && matches!(d.profile, DeviceProfile::WindowIndicator(_))
            {
                d.flash += 1;
            }
        }
        // The replica keeps the live tickets only (see `replica`): the
        // finished ones go once they outnumber the live ones, so the
        // forgetting costs a constant share per event.
        if self.hall.ticket_count() > 2 * self.hall.state().live + FINISHED_KEPT {
            self.hall.forget_finished();
        }
        let urgent: HashSet<WindowNo> = calls.union(&recalls).copied().collect();
        self.reconcile(&urgent);
    }

    fn announce(
        &mut self,
        ticket: TicketId,
        window: WindowNo,
        at_ms: Millis,
        recall: bool,
        now: Millis,
    ) {
        let Some(number) = self.hall.ticket(ticket).map(|t| t.number.to_string()) else {
            return;
        };
        let Some(zone) = self.config.window(window).map(|w| w.zone.clone()) else {
            return;
        };
        for d in &self.devices {
            let speaks = matches!(
                d.profile,
                DeviceProfile::Syn6288(_) | DeviceProfile::Xfs5152(_)
            );
            if speaks && d.serves == Serves::Zone(zone.clone()) {
                let bus = &self.buses[d.place.bus];
                if let Some(voice) = bus.lock().voice.as_mut() {
                    voice.push(
                        Announcement {
                            ticket: number.clone(),
                            window,
                            at_ms,
                            recall,
                        },
                        now,
                    );
                }
                bus.wake.notify_one();
            }
        }
    }

    /// Recomputes every device's desired content; hands changes to the
    /// buses. Devices of `urgent` windows (and their zones' boards) are
    /// handed over first and marked urgent.
    fn reconcile(&mut self, urgent: &HashSet<WindowNo>) {
        let urgent_zones: HashSet<String> = urgent
            .iter()
            .filter_map(|w| self.config.window(*w).map(|w| w.zone.clone()))
            .collect();
        // A call's indicator and its zone's boards go first; the window's
        // keypad and evaluator screens can wait their turn.
        let is_urgent = |d: &HubDevice| match (&d.serves, &d.profile) {
            (Serves::Window(w), DeviceProfile::WindowIndicator(_)) => urgent.contains(w),
            (Serves::Zone(z), DeviceProfile::TextBoard(_) | DeviceProfile::Bx5k(_)) => {
                urgent_zones.contains(z)
            }
            _ => false,
        };
        let order: Vec<usize> = {
            let (mut first, rest): (Vec<usize>, Vec<usize>) =
                (0..self.devices.len()).partition(|&i| is_urgent(&self.devices[i]));
            first.extend(rest);
            first
        };
        let mut woken: HashSet<usize> = HashSet::new();
        for i in order {
            let urgent_now = is_urgent(&self.devices[i]);
            let content = self.content(i);
            let rank = match self.devices[i].serves {
                Serves::Window(w) => self.hall.waiting_for_window(w) as u32,
                Serves::Zone(_) => 0,
            };
            let d = &mut self.devices[i];
            let bus = &self.buses[d.place.bus];
            let mut desired = bus.lock();
            if let Some(r) = desired.poll_rank.get_mut(d.place.slot) {
                *r = rank;
            }
            let Some(content) = content else { continue };
            let flash_changed = desired
                .targets
                .get(d.place.slot)
                .and_then(|t| t.as_ref())
                .is_some_and(|t| t.flash != d.flash);
            if d.last.as_ref() == Some(&content) && !flash_changed {
                continue;
            }
            d.seq += 1;
            d.last = Some(content.clone());
            if let Some(t) = desired.targets.get_mut(d.place.slot) {
                *t = Some(Target {
                    content,
                    seq: d.seq,
                    urgent: urgent_now,
                    flash: d.flash,
                });
            }
            drop(desired);
            if urgent_now {
                bus.wake.notify_one();
            } else {
                woken.insert(d.place.bus);
            }
        }
        for b in woken {
            self.buses[b].wake.notify_one();
        }
    }

    /// What device `i` should show now (`None` for voice chips).
    fn content(&self, i: usize) -> Option<Content> {
        let d = &self.devices[i];
        let hall = &self.hall;
        match (&d.profile, &d.serves) {
            (DeviceProfile::WindowIndicator(p), Serves::Window(w)) => {
                let shows = indicator_for(hall, *w);
                Some(Content::Registers(p.image(&p.content(*w, &shows))))
            }
            (DeviceProfile::TextBoard(p), Serves::Zone(z)) => {
                let calls = board_for(&self.recent, z, usize::from(p.lines));
                Some(Content::Registers(p.image(&p.content(&calls))))
            }
            (DeviceProfile::Bx5k(p), Serves::Zone(z)) => {
                let calls: Vec<BoardCall> = board_for(&self.recent, z, usize::from(p.lines));
                p.frame(&calls).ok().map(Content::Frame)
            }
            (DeviceProfile::Keypad(p), Serves::Window(w)) => {
                let w = *w;
                let window = hall.window(w)?;
                // At rest an unstaffed window's keypad shows only the
                // waiting count; a key pressed there shows `no_staff`.
                let ticket = match self.messages.get(&i) {
                    Some((text, until)) if *until > Instant::now() => text.clone(),
                    _ => window
                        .current
                        .and_then(|t| hall.ticket(t))
                        .map(|t| t.number.to_string())
                        .unwrap_or_default(),
                };
                let screen = KeypadScreen {
                    ticket,
                    waiting: hall.waiting_for_window(w) as u32,
                };
                Some(Content::Registers(p.screen_image(&screen)))
            }
            (DeviceProfile::Evaluator(p), Serves::Window(w)) => {
                let window = hall.window(*w)?;
                let staff_line = match &window.staff {
                    Some(account) => {
                        let (name, job) = self
                            .config
                            .staff(account)
                            .map(|s| (s.name.clone(), s.job_number.clone()))
                            .unwrap_or_else(|| (account.clone(), String::new()));
                        p.staff_line(&name, &job, *w)
                    }
                    None => String::new(),
                };
                let prompt = self
                    .awaiting(*w)
                    .is_some_and(|(_, elapsed)| elapsed < timeout_ms(p.rating_timeout_s));
                Some(Content::Registers(
                    p.screen_image(&EvaluatorScreen { prompt, staff_line }),
                ))
            }
            _ => None,
        }
    }

    /// How long the ticket awaiting a rating at `w` has been prompted for.
    /// The rating stays open for the profile's whole timeout whatever the
    /// window does meanwhile (calling the next citizen must not cut a rating
    /// off); the next finished ticket at the window closes it, in the core.
    fn awaiting(&self, w: WindowNo) -> Option<(TicketId, Millis)> {
        let a = self.hall.window(w)?.awaiting_rating.as_ref()?;
        let since = self
            .prompted
            .get(&a.ticket)
            .copied()
            .unwrap_or(a.finished_ms);
        Some((a.ticket, (self.now_ms)().saturating_sub(since)))
    }

    async fn on_tick(&mut self) {
        // Evaluations whose time is up (and the grace for a last poll) are
        // recorded as not rated.
        let mut due: Vec<(usize, WindowNo, TicketId)> = Vec::new();
        for (i, d) in self.devices.iter().enumerate() {
            if let (DeviceProfile::Evaluator(p), Serves::Window(w)) = (&d.profile, &d.serves)
                && let Some((ticket, elapsed)) = self.awaiting(*w)
                && elapsed >= timeout_ms(p.rating_timeout_s) + RATING_GRACE_MS
                && !self.closing.contains(&ticket)
            {
                due.push((i, *w, ticket));
            }
        }
        for (i, window, ticket) in due {
            self.closing.insert(ticket);
            let client = self.devices[i].client.clone();
            let command = Command::Rate {
                window,
                ticket,
                rating: None,
            };
            if let Err(SubmitError::Journal(_) | SubmitError::Busy | SubmitError::ShuttingDown) =
                self.handle.submit(Actor::System, &client, command).await
            {
                // Try again at the next tick.
                self.closing.remove(&ticket);
            }
        }
        let now = Instant::now();
        self.messages.retain(|_, (_, until)| *until > now);
        // Forget evaluations no window awaits any more.
        let awaited: HashSet<TicketId> = self
            .hall
            .windows()
            .filter_map(|w| w.awaiting_rating.as_ref().map(|a| a.ticket))
            .collect();
        self.closing.retain(|t| awaited.contains(t));
        self.prompted.retain(|t, _| awaited.contains(t));
        self.reconcile(&HashSet::new());
    }

    async fn on_input(&mut self, input: Input) {
        let verdict = self.press(input.device, input.press).await;
        let _ = input.reply.send(verdict);
    }

    async fn press(&mut self, device: usize, press: Press) -> Verdict {
        let Some(d) = self.devices.get(device) else {
            return Verdict::Refused("unknown device".to_string());
        };
        let Serves::Window(window) = d.serves else {
            return Verdict::Refused("not a window device".to_string());
        };
        let client = d.client.clone();
        match press {
            Press::Key(key) => match keys::action(&self.hall, window, key) {
                KeyAction::Submit { actor, command } => {
                    match self.handle.submit(actor, &client, command).await {
                        Ok(_) => Verdict::Applied,
                        Err(SubmitError::Refused(r)) => Verdict::Refused(self.show(device, &r.zh)),
                        // Not decided: the press stays in the keypad for later.
                        Err(_) => Verdict::Retry,
                    }
                }
                KeyAction::PromptEvaluation => {
                    let awaiting = self
                        .hall
                        .window(window)
                        .and_then(|w| w.awaiting_rating.as_ref())
                        .map(|a| a.ticket);
                    match awaiting {
                        Some(ticket) => {
                            self.prompted.insert(ticket, (self.now_ms)());
                            self.reconcile(&HashSet::new());
                            Verdict::Applied
                        }
                        None => Verdict::Refused(self.show(device, NOTHING_TO_RATE)),
                    }
                }
                KeyAction::NobodySignedIn => {
                    let text = match &d.profile {
                        DeviceProfile::Keypad(p) => p.no_staff.render(|_| None),
                        _ => "请先签到".to_string(),
                    };
                    Verdict::Refused(self.show(device, &text))
                }
                KeyAction::Refused(text) => Verdict::Refused(self.show(device, text)),
            },
            Press::Rating(rating) => {
                let DeviceProfile::Evaluator(p) = &d.profile else {
                    return Verdict::Refused("not an evaluator".to_string());
                };
                // A rating with nothing to rate (pressed twice, or long after
                // the lamp went off) belongs to no ticket and is dropped. One
                // pressed just before the timeout but polled after it counts.
                let ticket = match self.awaiting(window) {
                    Some((ticket, elapsed))
                        if elapsed < timeout_ms(p.rating_timeout_s) + RATING_GRACE_MS =>
                    {
                        ticket
                    }
                    _ => return Verdict::Applied,
                };
                let command = Command::Rate {
                    window,
                    ticket,
                    rating: Some(rating),
                };
                match self.handle.submit(Actor::System, &client, command).await {
                    Ok(_) | Err(SubmitError::Refused(_)) => Verdict::Applied,
                    Err(_) => Verdict::Retry,
                }
            }
        }
    }

    /// Shows `text` on the window's keypads for a while; returns it.
    fn show(&mut self, device: usize, text: &str) -> String {
        let until = Instant::now() + MESSAGE_SHOWN;
        let window = match self.devices.get(device).map(|d| &d.serves) {
            Some(Serves::Window(w)) => *w,
            _ => return text.to_string(),
        };
        for (i, d) in self.devices.iter().enumerate() {
            if d.serves == Serves::Window(window) && matches!(d.profile, DeviceProfile::Keypad(_)) {
                self.messages.insert(i, (text.to_string(), until));
            }
        }
        self.reconcile(&HashSet::new());
        text.to_string()
    }
}

/// The hall as of a commit that includes what the calendar made due by
/// now. The owner answers a batch's queries *before* it applies the
/// calendar (the day's end and sweep, the opening, sessions) and commits:
/// a replica fetched by the first message after a start is yesterday's
/// hall on a cold morning, and its calls went to the devices until the
/// sweep's events arrived. The first query makes the owner run a batch,
/// calendar included; the second is sent once the first is answered, so it
/// is taken in a later batch, after that commit (whose events, also on the
/// broadcast, are then skipped by their seq).
///
/// The replica holds the live tickets only (`Hall::live_copy`): the devices
/// show nothing of a finished ticket but the boards' recent calls, which
/// are taken here from the owner's whole hall.
async fn replica(handle: &HallHandle) -> Result<(Hall, RecentCalls, u64), SubmitError> {
    handle.query(|_, _| ()).await?;
    handle
        .query(|hall, seq| (hall.live_copy(), recent_calls(hall), seq))
        .await
}

/// The zones' recent calls as the hall remembers them: its tally of the
/// day's last calls (`queue::tally`, rebuilt by replay), oldest first into
/// [`RecentCalls`] so the newest ends on top. A restart during the day
/// keeps the boards' calls; before a day opens and once it has ended there
/// are none (the tally is cleared when the next day opens, the boards when
/// a day ends).
fn recent_calls(hall: &Hall) -> RecentCalls {
    let mut recent = RecentCalls::default();
    let state = hall.state();
    if state.day.is_none() || state.day_ended {
        return recent;
    }
    for call in state.tally.recent_calls.iter().rev() {
        let number = hall.ticket(call.ticket).map(|t| t.number.to_string());
        let zone = hall.config().window(call.window).map(|w| w.zone.clone());
        if let (Some(number), Some(zone)) = (number, zone) {
            recent.record(&zone, BoardCall::new(number, call.window));
        }
    }
    recent
}

fn timeout_ms(seconds: u32) -> Millis {
    Millis::from(seconds) * 1000
}

/// Gives a TTS bus its voice queue.
fn voice_for(bus: &BusShared, repeats: u8) {
    let mut desired = bus.lock();
    if desired.voice.is_none() {
        desired.voice = Some(VoiceQueue::new(
            VoiceLimits {
                repeats,
                ..VoiceLimits::default()
            }
            .clamped(),
        ));
    }
}
