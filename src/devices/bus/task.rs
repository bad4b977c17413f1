//! One bus: the task that owns one serial port (DESIGN.md §4 invariant 5).
//!
//! Each turn it picks the most pressing job, does it, and looks again, so
//! a new call never waits behind more than the one exchange in flight:
//!
//! 1. urgent writes (a new call's indicator and board), and voice;
//! 2. other display updates;
//! 3. probes of offline devices that are due (backoff, [`health`]);
//! 4. keypad and evaluator polls that are due, busiest window first;
//! 5. a full rewrite of a display not rewritten for [`REFRESH`] (a device
//!    that was power-cycled between two polls shows the right thing again).
//!
//! A write sends only the registers that differ from what the device is
//! known to hold; a device that failed or came back is rewritten whole.
//! A key press is acknowledged to the keypad only after its command was
//! committed (or refused): a press is never lost, and a press whose
//! acknowledgement was lost is recognised at the next poll and not applied
//! twice.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

use crate::config::model::BusConfig;
use crate::devices::fifo;
use crate::devices::image::RegisterImage;
use crate::devices::modbus::{EncodedRequest, Response};
use crate::devices::profile::DeviceProfile;
use crate::devices::tts::{self, Reply as TtsReply};
use crate::queue::types::Millis;

use super::health::{Failure, Transition};
use super::link::{BoxWire, Line, ModbusOutcome};
use super::{BusShared, Content, Input, Press, Registry, Request};

/// A display not rewritten for this long is rewritten whole, at the lowest priority.
pub const REFRESH: Duration = Duration::from_secs(60);
/// How long a press waits for the hall's verdict before the bus moves on
/// (the press stays in the keypad and is read again).
pub const VERDICT_TIMEOUT: Duration = Duration::from_secs(5);

/// A device not heard from for this long (a display nothing was written
/// to, an idle voice chip) is asked whether it is there, so a dead device
/// shows on the dashboard before a call needs it. Polled devices are heard
/// from at every poll. At 9600 baud a check costs about 16 ms of bus time.
pub const CHECK_IDLE: Duration = Duration::from_secs(5);

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
    refreshed: Instant,
    /// Events whose acknowledgement may not have reached the device.
    unacked: Vec<fifo::Event<u16>>,
}

impl Slot {
    pub fn new(device: usize, unit: Option<u8>, profile: DeviceProfile) -> Slot {
        let now = Instant::now();
        Slot {
            device,
            unit,
            profile,
            written: None,
            written_seq: 0,
            written_flash: 0,
            next_poll: now,
            next_probe: now,
            next_check: now + CHECK_IDLE,
            refreshed: now,
            unacked: Vec::new(),
        }
    }

    fn polled(&self) -> Option<u32> {
        match &self.profile {
            DeviceProfile::Keypad(p) => Some(p.poll_interval_ms),
            DeviceProfile::Evaluator(p) => Some(p.poll_interval_ms),
            _ => None,
        }
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
    Speak(usize, String),
    Request(Request),
    Probe(usize),
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
}

impl BusTask {
    /// Runs until the hub goes away.
    pub async fn run(mut self) {
        loop {
            if self.inputs.is_closed() {
                return;
            }
            let shared = self.shared.clone();
            let wake = shared.wake.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            match self.next_job() {
                Job::Write(slot) => self.write(slot).await,
                Job::Speak(slot, text) => self.speak(slot, &text).await,
                Job::Request(request) => self.request(request).await,
                Job::Probe(slot) => self.probe(slot).await,
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

    fn next_job(&mut self) -> Job {
        let now = Instant::now();
        let offline: Vec<bool> = (0..self.slots.len()).map(|i| self.offline(i)).collect();
        let mut desired = self.shared.lock();
        if let Some(request) = desired.requests.pop() {
            return Job::Request(request);
        }
        // 1. urgent writes, then voice; 2. other writes.
        let dirty = |urgent_only: bool| {
            (0..self.slots.len()).find(|&i| {
                let s = &self.slots[i];
                let Some(Some(t)) = desired.targets.get(i) else {
                    return false;
                };
                !offline[i]
                    && (!urgent_only || t.urgent)
                    && (s.written.is_none() || s.written_seq != t.seq || s.written_flash != t.flash)
            })
        };
        let (urgent, other) = (dirty(true), dirty(false));
        if let Some(i) = urgent {
            return Job::Write(i);
        }
        if let Some(i) = (0..self.slots.len()).find(|&i| self.slots[i].is_tts() && !offline[i])
            && let Some(voice) = desired.voice.as_mut()
            && let Some(a) = voice.next((self.now_ms)())
        {
            let text = match &self.slots[i].profile {
                DeviceProfile::Syn6288(p) => p.announcement_text(&a.ticket, a.window),
                DeviceProfile::Xfs5152(p) => p.announcement_text(&a.ticket, a.window),
                _ => String::new(),
            };
            return Job::Speak(i, text);
        }
        if let Some(i) = other {
            return Job::Write(i);
        }
        // 3. probes due.
        if let Some(i) =
            (0..self.slots.len()).find(|&i| offline[i] && self.slots[i].next_probe <= now)
        {
            return Job::Probe(i);
        }
        // 3b. devices not heard from for a while.
        if let Some(i) = (0..self.slots.len()).find(|&i| {
            !offline[i] && self.slots[i].polled().is_none() && self.slots[i].next_check <= now
        }) {
            self.slots[i].next_check = now + CHECK_IDLE;
            return Job::Probe(i);
        }
        // 4. polls due, busiest first.
        let due = (0..self.slots.len())
            .filter(|&i| !offline[i] && self.slots[i].polled().is_some())
            .filter(|&i| self.slots[i].next_poll <= now)
            .max_by_key(|&i| {
                let rank = desired.poll_rank.get(i).copied().unwrap_or(0);
                (rank, std::cmp::Reverse(self.slots[i].next_poll))
            });
        if let Some(i) = due {
            return Job::Poll(i);
        }
        // 5. periodic full rewrite.
        if let Some(i) = (0..self.slots.len()).find(|&i| {
            !offline[i]
                && self.slots[i].written.is_some()
                && now.duration_since(self.slots[i].refreshed) >= REFRESH
        }) {
            self.slots[i].written = None;
            return Job::Write(i);
        }
        let mut until: Option<Instant> = None;
        for (i, s) in self.slots.iter().enumerate() {
            let t = if offline[i] {
                Some(s.next_probe)
            } else if s.polled().is_some() {
                Some(s.next_poll)
            } else if s.written.is_some() {
                Some(s.next_check.min(s.refreshed + REFRESH))
            } else {
                Some(s.next_check)
            };
            if let Some(t) = t {
                until = Some(until.map_or(t, |u| u.min(t)));
            }
        }
        Job::Idle(until)
    }

    /// Books an exchange's outcome; a device that comes back is rewritten whole.
    fn answered(&mut self, slot: usize, exception: bool) {
        let device = self.slots[slot].device;
        let now_ms = (self.now_ms)();
        let t = self
            .registry
            .update(device, now_ms, |h| h.answered(now_ms, exception));
        self.slots[slot].next_check = Instant::now() + CHECK_IDLE;
        if t == Some(Transition::CameOnline) {
            self.slots[slot].written = None;
        }
    }

    async fn failed(&mut self, slot: usize, failure: Failure) {
        let device = self.slots[slot].device;
        let offline_after = self.config.offline_after;
        let now_ms = (self.now_ms)();
        self.slots[slot].written = None;
        let went = self.registry.update(device, now_ms, |h| {
            (h.failed(failure, offline_after), h.probe_delay_ms())
        });
        if went.0.is_some() || self.offline(slot) {
            self.slots[slot].next_probe = Instant::now() + Duration::from_millis(went.1);
        }
        if failure == Failure::Port {
            // The port itself failed (a USB adapter pulled out): re-open
            // it, at most every PORT_RETRY, without spinning.
            tokio::time::sleep(PORT_RETRY).await;
            if let Ok(wire) = (self.opener)() {
                self.line = Line::new(wire, self.line.timeout(), self.config.gap());
            }
            return;
        }
        let _ = self.line.recover().await;
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

    async fn write(&mut self, slot: usize) {
        let Some(target) = self.shared.lock().targets.get(slot).cloned().flatten() else {
            return;
        };
        let s = &self.slots[slot];
        let flash_again = s.written.is_some() && s.written_flash != target.flash;
        match &target.content {
            Content::Registers(image) => {
                let last = match &s.written {
                    Some(Content::Registers(img)) => Some(img),
                    _ => None,
                };
                let unit = s.unit.unwrap_or(0);
                let requests = register_writes(&s.profile, unit, last, image, flash_again);
                // An encoding error is a profile/target mismatch: nothing
                // sensible can be sent, so the target counts as written.
                for request in requests.unwrap_or_default() {
                    if self.exchange(slot, &request).await.is_none() {
                        return;
                    }
                }
            }
            Content::Frame(frame) => {
                if s.written.as_ref() != Some(&target.content) {
                    match self.line.bx5k_acked(frame).await {
                        Ok(()) => self.answered(slot, false),
                        Err(f) => return self.failed(slot, f).await,
                    }
                }
            }
        }
        let s = &mut self.slots[slot];
        if s.written.is_none() {
            s.refreshed = Instant::now();
        }
        s.written = Some(target.content);
        s.written_seq = target.seq;
        s.written_flash = target.flash;
    }

    /// Speaks `text` in full, the profile's number of times.
    async fn speak(&mut self, slot: usize, text: &str) {
        let result = speak(&mut self.line, &self.slots[slot].profile, text, None).await;
        match result {
            Ok(silent) => {
                self.answered(slot, false);
                if silent > 0 {
                    let device = self.slots[slot].device;
                    let now_ms = (self.now_ms)();
                    self.registry
                        .update(device, now_ms, |h| h.timeouts += u64::from(silent));
                }
            }
            Err(f) => self.failed(slot, f).await,
        }
    }

    async fn request(&mut self, request: Request) {
        match request {
            Request::SetAddress {
                slot,
                new_unit,
                reply,
            } => {
                let result = self.set_address(slot, new_unit).await;
                let _ = reply.send(result);
            }
            Request::Say { slot, text, reply } => {
                if slot >= self.slots.len() || !self.slots[slot].is_tts() {
                    let _ = reply.send(Err("not a voice device".to_string()));
                    return;
                }
                self.speak(slot, &text).await;
                let ok = !self.offline(slot);
                let _ = reply.send(if ok {
                    Ok(())
                } else {
                    Err("the chip does not answer".to_string())
                });
            }
        }
    }

    async fn set_address(&mut self, slot: usize, new_unit: u8) -> Result<(), String> {
        let Some(s) = self.slots.get(slot) else {
            return Err("no such device".to_string());
        };
        let DeviceProfile::WindowIndicator(p) = &s.profile else {
            return Err("only window indicators can be re-addressed".to_string());
        };
        let unit = s.unit.unwrap_or(0);
        let request = match p.set_address_request(unit, new_unit) {
            None => return Err(format!("profile of unit {unit} has no address register")),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(r)) => r,
        };
        match self.exchange(slot, &request).await {
            Some(ModbusOutcome::Reply(_)) | Some(ModbusOutcome::Sent) => {
                self.slots[slot].unit = Some(new_unit);
                self.slots[slot].written = None;
                Ok(())
            }
            Some(ModbusOutcome::Exception(code)) => {
                Err(format!("the device refused (exception {code:#04x})"))
            }
            None => Err(format!("unit {unit} did not answer")),
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

    /// Reads a keypad's or evaluator's pending presses, hands each to the
    /// hub, waits for the verdicts, then acknowledges them.
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
        let s = &self.slots[slot];
        let unit = s.unit.unwrap_or(0);
        let (events, ack) = match &s.profile {
            DeviceProfile::Keypad(p) => match p.decode_poll(&registers) {
                Ok(poll) => (
                    poll.events
                        .iter()
                        .map(|e| match e {
                            fifo::Event::Known(k) => {
                                (fifo::Event::Known(k.code()), Some(Press::Key(*k)))
                            }
                            fifo::Event::Unknown(c) => (fifo::Event::Unknown(*c), None),
                        })
                        .collect::<Vec<_>>(),
                    p.ack_request(unit, poll.to_acknowledge()),
                ),
                Err(_) => return self.failed(slot, Failure::BadReply).await,
            },
            DeviceProfile::Evaluator(p) => match p.decode_poll(&registers) {
                Ok(poll) => (
                    poll.events
                        .iter()
                        .map(|e| match e {
                            fifo::Event::Known(r) => {
                                (fifo::Event::Known(r.code()), Some(Press::Rating(*r)))
                            }
                            fifo::Event::Unknown(c) => (fifo::Event::Unknown(*c), None),
                        })
                        .collect::<Vec<_>>(),
                    p.ack_request(unit, poll.to_acknowledge()),
                ),
                Err(_) => return self.failed(slot, Failure::BadReply).await,
            },
            _ => return,
        };
        if events.is_empty() {
            self.slots[slot].unacked.clear();
            return;
        }
        // Events already applied whose acknowledgement did not land.
        let codes: Vec<fifo::Event<u16>> = events.iter().map(|(c, _)| *c).collect();
        let skip = if codes.starts_with(&self.slots[slot].unacked) {
            self.slots[slot].unacked.len()
        } else {
            0
        };
        let device = self.slots[slot].device;
        for (n, (_, press)) in events.iter().enumerate().skip(skip) {
            let Some(press) = press else { continue };
            let (reply, verdict) = oneshot::channel();
            let input = Input {
                device,
                press: *press,
                reply,
            };
            if self.inputs.send(input).await.is_err() {
                return;
            }
            // Waiting for the commit is the point: only then is the press
            // acknowledged. A hall that does not answer in time leaves the
            // rest in the keypad for the next poll.
            // (A press handed over counts as applied: the hub submits it.)
            if tokio::time::timeout(VERDICT_TIMEOUT, verdict)
                .await
                .is_err()
            {
                self.slots[slot].unacked = codes[..=n].to_vec();
                return;
            }
        }
        self.slots[slot].unacked = codes.clone();
        let Ok(ack) = ack else { return };
        if self.exchange(slot, &ack).await.is_some() {
            self.slots[slot].unacked.clear();
        }
        // More may have been pressed meanwhile: poll again soon.
        self.slots[slot].next_poll = Instant::now();
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
