//! One bus: the task that owns one serial port (DESIGN.md §4 invariant 5).
//!
//! Each turn it picks the most pressing job, does it, and looks again, so
//! a new call never waits behind more than the one exchange in flight:
//!
//! 1. urgent writes (a new call's indicator and its zone's boards), and voice;
//! 2. polls overdue by [`POLL_OVERDUE`], then other display updates;
//! 3. one probe of an offline device, or one check of a device not heard
//!    from for [`CHECK_IDLE`] — at most one per [`PROBE_SPACING`] timeouts,
//!    so dead devices cannot crowd out the live ones;
//! 4. keypad and evaluator polls that are due: the most overdue first, busy
//!    windows counted as due up to [`BUSY_HEAD_START`] earlier (ageing, so
//!    a quiet window's keypad is still read).
//!
//! A write sends only the registers that differ from what the device is
//! known to hold; a device that failed, came back, or whose check read back
//! something else (it was power-cycled) is rewritten whole.
//!
//! A key press is acknowledged to the keypad only after its command was
//! committed or refused, so a press is not lost to a crash or a busy hall.
//! When the acknowledgement's reply is lost, the presses are remembered and
//! skipped if the next poll still shows them. (The keypad protocol has no
//! sequence numbers: if the acknowledgement did land and the same keys are
//! pressed again before the immediate re-poll, those presses are skipped.)

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

use crate::config::model::BusConfig;
use crate::devices::fifo;
use crate::devices::image::RegisterImage;
use crate::devices::modbus::{EncodedRequest, Request, Response, decode_request};
use crate::devices::profile::DeviceProfile;
use crate::devices::tts::{self, Reply as TtsReply};
use crate::devices::voice::Announcement;
use crate::queue::types::Millis;

use super::health::{Failure, Transition};
use super::link::{BoxWire, DeadWire, Line, ModbusOutcome};
use super::{BusShared, Content, Input, Press, Registry, Verdict};

/// A device not heard from for this long (a display nothing was written
/// to, an idle voice chip) is checked: a voice chip or BX-5K answers a
/// status query, a display's first registers are read back and compared
/// with what it should hold. At 9600 baud a check costs about 16 ms.
pub const CHECK_IDLE: Duration = Duration::from_secs(5);
/// Probes and checks are at least this many request timeouts apart.
pub const PROBE_SPACING: u32 = 4;
/// Checks of healthy devices are at least this far apart on one bus.
pub const CHECK_SPACING: Duration = Duration::from_millis(100);
/// Registers read back by a display check.
pub const CHECK_REGISTERS: u16 = 8;
/// How much earlier than its due time the keypad of a window with many
/// tickets waiting is polled (50 ms per waiting ticket, up to this).
pub const BUSY_HEAD_START: Duration = Duration::from_millis(500);
/// A poll this late goes ahead of display updates that are not calls.
pub const POLL_OVERDUE: Duration = Duration::from_millis(300);
/// How long a press waits for the hall's verdict before the bus moves on
/// (the press was handed over; the hub will still decide it).
pub const VERDICT_TIMEOUT: Duration = Duration::from_secs(5);
/// When the hall could not decide presses (journal failure), the keypad
/// keeps them and is polled again after this.
pub const RETRY_PRESSES: Duration = Duration::from_secs(1);
/// How often a failed port is opened again.
pub const PORT_RETRY: Duration = Duration::from_millis(500);

/// Where the bus gets the hall clock (milliseconds since the epoch).
pub type NowFn = Arc<dyn Fn() -> Millis + Send + Sync>;

/// One device on this bus.
pub struct Slot {
    pub device: usize,
    pub unit: Option<u8>,
    pub profile: DeviceProfile,
    /// What the device holds, as far as the bus knows (`None`: unknown).
    written: Option<Content>,
    written_seq: u64,
    written_flash: u64,
    next_poll: Instant,
    next_probe: Instant,
    /// When to check a device that is not polled (see [`CHECK_IDLE`]).
    next_check: Instant,
    /// Events whose acknowledgement may not have reached the device.
    unacked: Vec<fifo::Event<u16>>,
    /// After a failed exchange, no write before this (a failing device
    /// must not hold the bus with back-to-back retries).
    retry_at: Instant,
    /// Part of the target is written, the rest is still to go.
    partial: bool,
}

impl Slot {
    pub fn new(device: usize, unit: Option<u8>, profile: DeviceProfile) -> Slot {
        let now = Instant::now();
        // Spread the checks so one short outage does not miss every device.
        let jitter = Duration::from_millis((device as u64 * 97) % 2000);
        Slot {
            device,
            unit,
            profile,
            written: None,
            written_seq: 0,
            written_flash: 0,
            next_poll: now,
            next_probe: now,
            next_check: now + CHECK_IDLE + jitter,
            unacked: Vec::new(),
            retry_at: now,
            partial: false,
        }
    }

    fn polled(&self) -> bool {
        matches!(
            self.profile,
            DeviceProfile::Keypad(_) | DeviceProfile::Evaluator(_)
        )
    }

    fn is_tts(&self) -> bool {
        matches!(
            self.profile,
            DeviceProfile::Syn6288(_) | DeviceProfile::Xfs5152(_)
        )
    }
}

/// What to do next.
enum Job {
    Write(usize),
    Speak(usize, Announcement),
    Probe(usize),
    Check(usize),
    Poll(usize),
    Idle(Option<Instant>),
}

/// Opens (or re-opens) a bus's port.
pub type Opener = Box<dyn FnMut() -> std::io::Result<BoxWire> + Send>;

pub struct BusTask {
    pub config: BusConfig,
    pub line: Line,
    pub opener: Opener,
    pub shared: Arc<BusShared>,
    pub slots: Vec<Slot>,
    pub registry: Arc<Registry>,
    pub inputs: mpsc::Sender<Input>,
    pub now_ms: NowFn,
    /// When the last probe or check went out.
    pub last_probe: Option<Instant>,
    /// Whether the last of an overdue poll and a write was the poll.
    pub last_was_poll: bool,
    /// When the last check of a healthy device went out.
    pub last_check: Option<Instant>,
}

impl BusTask {
    /// Runs until the hub goes away.
    pub async fn run(mut self) {
        loop {
            if self.inputs.is_closed() {
                return;
            }
            self.line.wait_quiet().await;
            let shared = self.shared.clone();
            let wake = shared.wake.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            match self.next_job() {
                Job::Write(slot) => self.write(slot).await,
                Job::Speak(slot, a) => self.speak(slot, a).await,
                Job::Probe(slot) => self.probe(slot).await,
                Job::Check(slot) => self.check(slot).await,
                Job::Poll(slot) => self.poll(slot).await,
                Job::Idle(until) => match until {
                    Some(t) => {
                        tokio::select! {
                            _ = &mut wake => {}
                            _ = sleep_until(t) => {}
                        }
                    }
                    None => wake.await,
                },
            }
        }
    }

    fn offline(&self, slot: usize) -> bool {
        self.registry.is_offline(self.slots[slot].device)
    }

    fn probe_spacing(&self) -> Duration {
        self.line.timeout() * PROBE_SPACING
    }

    fn next_job(&mut self) -> Job {
        let now = Instant::now();
        let n = self.slots.len();
        let troubles = self.registry.troubles(self.slots.iter().map(|s| s.device));
        let offline: Vec<bool> = troubles.iter().map(|&(off, _)| off).collect();
        // Failed lately but not offline yet: handled like probes (spaced).
        let failing: Vec<bool> = troubles.iter().map(|&(off, f)| !off && f > 0).collect();
        let mut desired = self.shared.lock();
        let ranks = desired.poll_rank.clone();
        // Per slot: (a new urgent target, anything to write).
        let pending: Vec<(bool, bool)> = (0..n)
            .map(|i| {
                let s = &self.slots[i];
                let Some(Some(t)) = desired.targets.get(i) else {
                    return (false, false);
                };
                let changed = s.written_seq != t.seq || s.written_flash != t.flash;
                // Urgency belongs to a new target, not to a resync of an old one.
                (
                    t.urgent && changed,
                    changed || s.partial || s.written.is_none(),
                )
            })
            .collect();
        let healthy = |i: usize| !offline[i] && !failing[i];
        // 1. urgent writes, then voice; 2. other writes.
        if let Some(i) = (0..n).find(|&i| healthy(i) && pending[i].0) {
            return Job::Write(i);
        }
        if let Some(i) = (0..n).find(|&i| self.slots[i].is_tts() && healthy(i))
            && let Some(voice) = desired.voice.as_mut()
            && let Some(a) = voice.next((self.now_ms)())
        {
            return Job::Speak(i, a);
        }
        // Checks of devices not heard from for a while: each device at most
        // every CHECK_IDLE, and the bus at most one per CHECK_SPACING, so
        // they neither starve on a saturated line nor crowd it.
        let check_spaced = self
            .last_check
            .is_none_or(|t| now.duration_since(t) >= CHECK_SPACING);
        if check_spaced
            && let Some(i) = (0..n)
                .find(|&i| healthy(i) && !self.slots[i].polled() && self.slots[i].next_check <= now)
        {
            self.slots[i].next_check = now + CHECK_IDLE;
            self.last_check = Some(now);
            return Job::Check(i);
        }
        // Polls that have waited too long take turns with other writes, so
        // neither a burst of display updates (or the first write to a
        // device that turns out to be dead) holds up key presses, nor a
        // saturated bus's polls hold up the displays.
        let head_start = |i: usize| {
            let rank = ranks.get(i).copied().unwrap_or(0);
            (Duration::from_millis(50) * rank).min(BUSY_HEAD_START)
        };
        let effective_due = |i: usize| {
            let due = self.slots[i].next_poll;
            due.checked_sub(head_start(i)).unwrap_or(due)
        };
        let overdue_poll = (0..n)
            .filter(|&i| {
                healthy(i)
                    && self.slots[i].polled()
                    && now.saturating_duration_since(self.slots[i].next_poll) >= POLL_OVERDUE
            })
            .min_by_key(|&i| effective_due(i));
        let write = (0..n).find(|&i| healthy(i) && pending[i].1);
        match (overdue_poll, write) {
            (Some(p), Some(_)) if !self.last_was_poll => {
                self.last_was_poll = true;
                return Job::Poll(p);
            }
            (Some(p), None) => {
                self.last_was_poll = true;
                return Job::Poll(p);
            }
            (_, Some(w)) => {
                self.last_was_poll = false;
                return Job::Write(w);
            }
            (None, None) => {}
        }
        // 3. one job for a device that does not answer: a probe if it is
        // offline, else a retry of what failed. Spaced, most overdue first.
        let spaced = self
            .last_probe
            .is_none_or(|t| now.duration_since(t) >= self.probe_spacing());
        let troubled = |i: usize| {
            if offline[i] {
                Some(self.slots[i].next_probe)
            } else if failing[i] {
                Some(self.slots[i].retry_at)
            } else {
                None
            }
        };
        let most_overdue = (0..n)
            .filter_map(|i| troubled(i).map(|t| (i, t)))
            .filter(|&(_, t)| t <= now)
            .min_by_key(|&(_, t)| t);
        if spaced && let Some((i, _)) = most_overdue {
            self.last_probe = Some(now);
            let s = &self.slots[i];
            return if offline[i] {
                Job::Probe(i)
            } else if pending[i].1 {
                Job::Write(i)
            } else if s.polled() {
                Job::Poll(i)
            } else {
                Job::Check(i)
            };
        }
        drop(desired);
        // 4. polls due: most overdue first, busy windows a little earlier.
        let poll = (0..n)
            .filter(|&i| healthy(i) && self.slots[i].polled() && self.slots[i].next_poll <= now)
            .min_by_key(|&i| effective_due(i));
        if let Some(i) = poll {
            return Job::Poll(i);
        }
        // Idle until the next due time.
        let mut until: Option<Instant> = None;
        let mut consider = |t: Instant| until = Some(until.map_or(t, |u: Instant| u.min(t)));
        let spacing_ends = self.last_probe.map(|p| p + self.probe_spacing());
        for (i, s) in self.slots.iter().enumerate() {
            if let Some(t) = troubled(i) {
                consider(spacing_ends.map_or(t, |e| t.max(e)));
            } else if s.polled() {
                consider(s.next_poll);
            } else {
                consider(s.next_check);
            }
        }
        Job::Idle(until)
    }

    /// Books an answer; a device that comes back is rewritten whole.
    fn answered(&mut self, slot: usize, exception: bool) {
        let device = self.slots[slot].device;
        let now_ms = (self.now_ms)();
        let t = self
            .registry
            .update(device, now_ms, |h| h.answered(now_ms, exception));
        self.slots[slot].next_check = Instant::now() + CHECK_IDLE;
        self.slots[slot].retry_at = Instant::now();
        if t == Some(Transition::CameOnline) {
            self.slots[slot].written = None;
        }
    }

    /// Books a failure: the device's content is unknown from now on. A
    /// failed port takes every device of the bus offline at once and is
    /// closed, then opened again.
    async fn failed(&mut self, slot: usize, failure: Failure) {
        let device = self.slots[slot].device;
        let offline_after = self.config.offline_after;
        let now_ms = (self.now_ms)();
        self.slots[slot].written = None;
        if failure == Failure::Port {
            for s in &mut self.slots {
                s.written = None;
                s.next_probe = Instant::now() + PORT_RETRY;
                self.registry.update(s.device, now_ms, |h| h.port_down());
            }
            // Close the port before opening it again (ports are opened
            // exclusively), and do not spin on a port that keeps failing.
            let (timeout, gap) = (self.line.timeout(), self.config.gap());
            self.line = Line::new(Box::new(DeadWire), timeout, gap);
            tokio::time::sleep(PORT_RETRY).await;
            if let Ok(wire) = (self.opener)() {
                self.line = Line::new(wire, timeout, gap);
            }
            return;
        }
        let (_, delay, failures) = self.registry.update(device, now_ms, |h| {
            let t = h.failed(failure, offline_after);
            (t, h.probe_delay_ms(), h.consecutive_failures)
        });
        if self.offline(slot) {
            self.slots[slot].next_probe = Instant::now() + Duration::from_millis(delay);
        } else {
            // Back off before writing to it again: 100, 200, 400… ms.
            let backoff = 100u64 << failures.saturating_sub(1).min(3);
            self.slots[slot].retry_at = Instant::now() + Duration::from_millis(backoff);
        }
        // A late answer must not be taken for the next request's.
        let _ = self.line.drain_late().await;
    }

    /// One Modbus exchange, booked.
    async fn exchange(&mut self, slot: usize, request: &EncodedRequest) -> Option<ModbusOutcome> {
        match self.line.modbus(request).await {
            Ok(outcome) => {
                self.answered(slot, matches!(outcome, ModbusOutcome::Exception(_)));
                Some(outcome)
            }
            Err(f) => {
                self.failed(slot, f).await;
                None
            }
        }
    }

    /// Sends one request towards a display's target and books it: a
    /// target that takes several requests (a 16-line board) is written one
    /// request per turn, so a new call can go between two of them. What
    /// the device holds meanwhile is tracked register by register.
    async fn write(&mut self, slot: usize) {
        let Some(target) = self.shared.lock().targets.get(slot).cloned().flatten() else {
            return;
        };
        let s = &self.slots[slot];
        let flash_again = s.written.is_some() && s.written_flash != target.flash;
        let complete = match &target.content {
            Content::Registers(image) => {
                let last = match &s.written {
                    Some(Content::Registers(img)) => Some(img),
                    _ => None,
                };
                let unit = s.unit.unwrap_or(0);
                // An encoding error is a profile/target mismatch: nothing
                // sensible can be sent, so the target counts as written.
                let requests =
                    register_writes(&s.profile, unit, last, image, flash_again).unwrap_or_default();
                let mut held = last.cloned().unwrap_or_default();
                if let Some(request) = requests.first() {
                    if self.exchange(slot, request).await.is_none() {
                        return;
                    }
                    if let Ok((_, Request::WriteMultipleRegisters { start, values })) =
                        decode_request(&request.bytes)
                    {
                        held.set_block(start, &values);
                        // The mode went out again: this call has flashed.
                        if let DeviceProfile::WindowIndicator(p) = &self.slots[slot].profile
                            && (start..start.saturating_add(values.len() as u16))
                                .contains(&p.mode_register)
                        {
                            self.slots[slot].written_flash = target.flash;
                        }
                    }
                }
                if requests.len() > 1 {
                    // More to write: keep what the device now holds and
                    // come back (the target stays pending).
                    self.slots[slot].written = Some(Content::Registers(held));
                    self.slots[slot].partial = true;
                    false
                } else {
                    true
                }
            }
            Content::Frame(frame) => {
                if s.written.as_ref() != Some(&target.content) {
                    match self.line.bx5k_acked(frame).await {
                        Ok(()) => self.answered(slot, false),
                        Err(f) => return self.failed(slot, f).await,
                    }
                }
                true
            }
        };
        if complete {
            let s = &mut self.slots[slot];
            s.partial = false;
            s.written = Some(target.content);
            s.written_seq = target.seq;
            s.written_flash = target.flash;
        }
    }

    /// Speaks a call in full, the profile's number of times. If the chip
    /// does not answer, the call goes back first in line (it is still
    /// dropped, and counted, once it is 60 s old).
    async fn speak(&mut self, slot: usize, a: Announcement) {
        let text = match &self.slots[slot].profile {
            DeviceProfile::Syn6288(p) => p.announcement_text(&a.ticket, a.window),
            DeviceProfile::Xfs5152(p) => p.announcement_text(&a.ticket, a.window),
            _ => return,
        };
        match speak(&mut self.line, &self.slots[slot].profile, &text, None).await {
            Ok(silent) => {
                self.answered(slot, false);
                if silent > 0 {
                    let device = self.slots[slot].device;
                    let now_ms = (self.now_ms)();
                    self.registry
                        .update(device, now_ms, |h| h.timeouts += u64::from(silent));
                }
            }
            Err(f) => {
                if let Some(voice) = self.shared.lock().voice.as_mut() {
                    voice.retry(a);
                }
                self.failed(slot, f).await;
            }
        }
    }

    /// Asks an offline device whether it is back.
    async fn probe(&mut self, slot: usize) {
        let s = &self.slots[slot];
        let outcome = probe(&mut self.line, &s.profile, s.unit.unwrap_or(0)).await;
        match outcome {
            Ok(()) => self.answered(slot, false),
            Err(f) => self.failed(slot, f).await,
        }
    }

    /// Checks a device not heard from for a while. A display's first
    /// registers are read back: if they are not what was written (the
    /// device lost power and came back blank), it is rewritten whole.
    async fn check(&mut self, slot: usize) {
        let s = &self.slots[slot];
        let unit = s.unit.unwrap_or(0);
        // The first run of consecutive registers the device should hold
        // (at most CHECK_REGISTERS): models refuse reads of registers they
        // do not have, so nothing outside the image is asked for.
        let expected = match &s.written {
            Some(Content::Registers(img)) if s.profile.protocol().is_modbus() => {
                img.iter().next().map(|(start, _)| {
                    let values: Vec<u16> = (start..start.saturating_add(CHECK_REGISTERS))
                        .map_while(|a| img.get(a))
                        .collect();
                    (start, values)
                })
            }
            _ => None,
        };
        let Some((start, values)) = expected else {
            return self.probe(slot).await;
        };
        let Ok(read) =
            crate::devices::modbus::read_holding_registers(unit, start, values.len() as u16)
        else {
            return self.probe(slot).await;
        };
        // (An exception means the model does not allow reading back: it
        // answered, which is all a check can learn.)
        let Some(ModbusOutcome::Reply(Response::Registers(got))) = self.exchange(slot, &read).await
        else {
            return;
        };
        if got != values {
            tracing::info!(bus = %self.config.name, unit, "device content lost; rewriting it");
            self.slots[slot].written = None;
        }
    }

    /// Reads a keypad's or evaluator's pending presses, hands each to the
    /// hub, waits for the verdicts, then acknowledges the ones decided.
    async fn poll(&mut self, slot: usize) {
        let (request, interval) = {
            let s = &self.slots[slot];
            let unit = s.unit.unwrap_or(0);
            match &s.profile {
                DeviceProfile::Keypad(p) => (p.poll_request(unit), p.poll_interval_ms),
                DeviceProfile::Evaluator(p) => (p.poll_request(unit), p.poll_interval_ms),
                _ => return,
            }
        };
        self.slots[slot].next_poll = Instant::now() + Duration::from_millis(u64::from(interval));
        let Ok(request) = request else {
            return;
        };
        let Some(ModbusOutcome::Reply(Response::Registers(registers))) =
            self.exchange(slot, &request).await
        else {
            return;
        };
        let events = match decode_presses(&self.slots[slot].profile, &registers) {
            Some(events) => events,
            None => return self.failed(slot, Failure::BadReply).await,
        };
        if events.is_empty() {
            self.slots[slot].unacked.clear();
            return;
        }
        let codes: Vec<fifo::Event<u16>> = events.iter().map(|(c, _)| *c).collect();
        // Presses already applied whose acknowledgement did not land.
        let skip = if codes.starts_with(&self.slots[slot].unacked) {
            self.slots[slot].unacked.len()
        } else {
            0
        };
        let device = self.slots[slot].device;
        let mut decided = skip;
        let mut retry = false;
        for (_, press) in events.iter().skip(skip) {
            if let Some(press) = press {
                let (reply, verdict) = oneshot::channel();
                let input = Input {
                    device,
                    press: *press,
                    reply,
                };
                if self.inputs.send(input).await.is_err() {
                    return;
                }
                match tokio::time::timeout(VERDICT_TIMEOUT, verdict).await {
                    Ok(Ok(Verdict::Retry)) | Ok(Err(_)) => {
                        retry = true;
                        break;
                    }
                    Ok(Ok(_)) => {}
                    // Handed over: the hub decides it; do not wait for more.
                    Err(_) => {
                        decided += 1;
                        retry = true;
                        break;
                    }
                }
            }
            decided += 1;
        }
        self.slots[slot].unacked = codes[..decided].to_vec();
        if decided > 0 {
            let unit = self.slots[slot].unit.unwrap_or(0);
            let ack = match &self.slots[slot].profile {
                DeviceProfile::Keypad(p) => p.ack_request(unit, decided as u8),
                DeviceProfile::Evaluator(p) => p.ack_request(unit, decided as u8),
                _ => return,
            };
            if let Ok(ack) = ack
                && self.exchange(slot, &ack).await.is_some()
            {
                self.slots[slot].unacked.clear();
            }
        }
        // More may have been pressed meanwhile: poll again at once (or a
        // little later when the hall could not decide).
        self.slots[slot].next_poll = if retry {
            Instant::now() + RETRY_PRESSES
        } else {
            Instant::now()
        };
    }
}

/// A poll's presses, oldest first: each code (for matching a repeated
/// poll) and what it means (`None` for a code the profile does not know,
/// which is acknowledged and dropped). `None` when the registers are not a
/// valid FIFO.
fn decode_presses(
    profile: &DeviceProfile,
    registers: &[u16],
) -> Option<Vec<(fifo::Event<u16>, Option<Press>)>> {
    fn code_of<T>(e: &fifo::Event<T>, code: impl Fn(&T) -> u16) -> fifo::Event<u16> {
        match e {
            fifo::Event::Known(k) => fifo::Event::Known(code(k)),
            fifo::Event::Unknown(c) => fifo::Event::Unknown(*c),
        }
    }
    match profile {
        DeviceProfile::Keypad(p) => p.decode_poll(registers).ok().map(|poll| {
            poll.events
                .iter()
                .map(|e| {
                    let press = match e {
                        fifo::Event::Known(k) => Some(Press::Key(*k)),
                        fifo::Event::Unknown(_) => None,
                    };
                    (code_of(e, |k| k.code()), press)
                })
                .collect()
        }),
        DeviceProfile::Evaluator(p) => p.decode_poll(registers).ok().map(|poll| {
            poll.events
                .iter()
                .map(|e| {
                    let press = match e {
                        fifo::Event::Known(r) => Some(Press::Rating(*r)),
                        fifo::Event::Unknown(_) => None,
                    };
                    (code_of(e, |r| r.code()), press)
                })
                .collect()
        }),
        _ => None,
    }
}

/// The requests that bring a display holding `last` (`None`: unknown) to `image`.
pub fn register_writes(
    profile: &DeviceProfile,
    unit: u8,
    last: Option<&RegisterImage>,
    image: &RegisterImage,
    flash_again: bool,
) -> Result<Vec<EncodedRequest>, crate::devices::modbus::EncodeError> {
    match profile {
        DeviceProfile::WindowIndicator(p) => p.writes(unit, last, image, flash_again),
        DeviceProfile::TextBoard(p) => p.writes(unit, last, image),
        DeviceProfile::Keypad(p) => p.screen_writes(unit, last, image),
        DeviceProfile::Evaluator(p) => p.screen_writes(unit, last, image),
        _ => Ok(Vec::new()),
    }
}

/// One harmless exchange to see whether a device answers: a keypad's or
/// evaluator's poll (its events stay unacknowledged, so none is lost), a
/// TTS status query, a BX-5K ping, or a read of holding register 0.
pub async fn probe(line: &mut Line, profile: &DeviceProfile, unit: u8) -> Result<(), Failure> {
    let modbus = match profile {
        DeviceProfile::Keypad(p) => p.poll_request(unit),
        DeviceProfile::Evaluator(p) => p.poll_request(unit),
        DeviceProfile::Syn6288(_) => {
            let wait = line.timeout();
            return line
                .tts(&tts::syn6288::status_query(), wait)
                .await
                .map(|_| ());
        }
        DeviceProfile::Xfs5152(_) => {
            let wait = line.timeout();
            return line
                .tts(&tts::xfs5152::status_query(), wait)
                .await
                .map(|_| ());
        }
        DeviceProfile::Bx5k(p) => {
            return line
                .bx5k(&crate::devices::bx5k::ping(&p.header()))
                .await
                .map(|_| ());
        }
        _ => crate::devices::modbus::read_holding_registers(unit, 0, 1),
    };
    let request = modbus.map_err(|_| Failure::BadReply)?;
    line.modbus(&request).await.map(|_| ())
}

/// Speaks `text` on a TTS chip, `repeat` times (the profile's by
/// default), each time in full: every frame waits for the chip's 0x41,
/// then for its 0x4F, or the profile's idle timeout. Returns how many
/// times the chip stayed silent past that timeout (then taken as idle).
pub async fn speak(
    line: &mut Line,
    profile: &DeviceProfile,
    text: &str,
    repeat: Option<u8>,
) -> Result<u32, Failure> {
    let (frames, profile_repeat, reply_wait, idle_wait) = match profile {
        DeviceProfile::Syn6288(p) => (
            tts::syn6288::speak_frames(text, p.encoding, p.background_music),
            p.repeat,
            p.reply_timeout_ms,
            p.idle_timeout_ms(text.chars().count()),
        ),
        DeviceProfile::Xfs5152(p) => (
            tts::xfs5152::speak_frames(text, p.encoding),
            p.repeat,
            p.reply_timeout_ms,
            p.idle_timeout_ms(text.chars().count()),
        ),
        _ => return Ok(0),
    };
    let frames = frames.map_err(|_| Failure::BadReply)?;
    let mut silent = 0;
    for _ in 0..repeat.unwrap_or(profile_repeat).max(1) {
        for frame in &frames {
            let reply = line
                .tts(frame, Duration::from_millis(u64::from(reply_wait)))
                .await?;
            if reply == TtsReply::Rejected {
                continue;
            }
            let deadline = Instant::now() + Duration::from_millis(idle_wait);
            loop {
                match line.tts_reply_until(deadline).await? {
                    Some(TtsReply::Idle) => break,
                    Some(_) => continue,
                    None => {
                        silent += 1;
                        break;
                    }
                }
            }
        }
    }
    Ok(silent)
}
