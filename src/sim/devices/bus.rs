//! One simulated bus, without I/O: bytes from the master go in with the
//! instant they were read, bytes for the master come out with the instant
//! they are due. The runner (`hall.rs`) owns the PTY and the clock; this
//! code never reads either, so every timing rule here is testable with
//! made-up instants.
//!
//! Order of work ([`BusCore::advance`]): every event due by `now` is done in
//! time order — a TTS chip's speech ending, a scheduled reply starting, the
//! line falling silent, a received byte arriving — with ties in that order.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::bx5k::Bx5kController;
use super::chip::{ChipKind, TtsChip};
use super::fault::{self, Fault, ReplyFraming};
use super::slave::{ModbusSlave, SlaveKind};
use super::{
    BusStats, ChangeKind, DeviceCounters, FrameRecord, SimBusSpec, SimChange, SimContent,
    SimDeviceSpec, SimDeviceView, SimError,
};
use crate::devices::bx5k::frame::{
    self as bx5k_frame, FrameError as BxFrameError, FrameExtractor as BxExtractor, Packet,
};
use crate::devices::modbus::codec::{crc_ok, request_len};
use crate::devices::modbus::frame::ADU_BYTES_MAX;
use crate::devices::modbus::{
    BROADCAST, ExceptionCode, FunctionCode, Request, RequestError, RequestExtractor, UNIT_MAX,
    encode_exception, encode_response,
};
use crate::devices::profile::DeviceProfile;
use crate::devices::tts::frame::{FrameError as TtsFrameError, FrameExtractor as TtsExtractor};
use crate::devices::tts::{syn6288, xfs5152};
use crate::sim::traffic::SimRng;

/// Frame records kept per bus (oldest dropped first).
pub const FRAME_LOG_MAX: usize = 4096;
/// Received bytes waiting for their (modelled) arrival.
pub const INPUT_QUEUE_BYTES_MAX: usize = 64 * 1024;
/// Bytes waiting to be written to the master.
pub const OUTPUT_QUEUE_BYTES_MAX: usize = 64 * 1024;
/// Replies waiting for their time (slow devices, turnaround).
pub const SCHEDULED_MAX: usize = 256;
/// Recent received bytes kept to find where a frame began: more than the
/// longest frame of any protocol (XFS5152: 4 KB of data; BX-5K: 2 KB
/// escaped).
const FED_RING_MAX: usize = 4 * 1024 + 64;
/// Recent replies kept for collision checks.
const TRANSMISSIONS_MAX: usize = 32;
/// Silence that ends a frame outside wire-speed mode (the PTY delivers a
/// frame in one piece, so this only has to outlast scheduling hiccups).
pub const SILENCE_MS: u64 = 20;
/// Latest model time turned back into an instant (ten years; a chip's
/// speech ends long before).
const MODEL_MS_MAX: u64 = 10 * 365 * 24 * 3_600_000;
/// Shortest Modbus frame-end silence (the spec's floor above 19200 baud).
const SILENCE_US_MIN: u64 = 1_750;

/// How frames are found in the byte stream.
#[derive(Debug)]
enum Framer {
    Modbus(RequestExtractor),
    Tts(ChipKind, TtsExtractor),
    Bx5k(BxExtractor),
}

enum Framed {
    Modbus(Result<(u8, Request), RequestError>),
    Tts(Result<Vec<u8>, TtsFrameError>),
    Bx5k(Result<Packet, BxFrameError>),
}

impl Framer {
    fn push(&mut self, byte: u8) -> Vec<Framed> {
        match self {
            Framer::Modbus(x) => x.push(&[byte]).into_iter().map(Framed::Modbus).collect(),
            Framer::Tts(_, x) => x.push(&[byte]).into_iter().map(Framed::Tts).collect(),
            Framer::Bx5k(x) => x.push(&[byte]).into_iter().map(Framed::Bx5k).collect(),
        }
    }

    fn reset(&mut self) {
        match self {
            Framer::Modbus(x) => x.reset(),
            Framer::Tts(_, x) => x.reset(),
            Framer::Bx5k(x) => x.reset(),
        }
    }
}

/// A device's model.
#[derive(Debug)]
pub(crate) enum Model {
    Slave(ModbusSlave),
    Chip(TtsChip),
    Bx5k(Bx5kController),
}

/// A device on the bus: its model, fault and counters.
#[derive(Debug)]
pub(crate) struct SimDevice {
    pub unit: Option<u8>,
    pub label: String,
    pub profile_name: String,
    pub protocol: crate::devices::profile::Protocol,
    pub model: Model,
    pub fault: Fault,
    pub counters: DeviceCounters,
    last_shows: String,
}

impl SimDevice {
    fn new(spec: &SimDeviceSpec, ms_per_char: u64) -> SimDevice {
        let slave = |kind| Model::Slave(ModbusSlave::new(kind));
        let model = match &spec.profile.device {
            DeviceProfile::Syn6288(_) => Model::Chip(TtsChip::new(ChipKind::Syn6288, ms_per_char)),
            DeviceProfile::Xfs5152(_) => Model::Chip(TtsChip::new(ChipKind::Xfs5152, ms_per_char)),
            DeviceProfile::Bx5k(p) => Model::Bx5k(Bx5kController::new(p.clone())),
            DeviceProfile::WindowIndicator(p) => slave(SlaveKind::Indicator(p.clone())),
            DeviceProfile::TextBoard(p) => slave(SlaveKind::Board(p.clone())),
            DeviceProfile::Keypad(p) => slave(SlaveKind::Keypad(p.clone())),
            DeviceProfile::Evaluator(p) => slave(SlaveKind::Evaluator(p.clone())),
        };
        let mut device = SimDevice {
            unit: spec.unit,
            label: spec.label.clone(),
            profile_name: spec.profile.name.clone(),
            protocol: spec.profile.protocol(),
            model,
            fault: Fault::None,
            counters: DeviceCounters::default(),
            last_shows: String::new(),
        };
        device.last_shows = device.shows();
        device
    }

    fn framing(&self) -> ReplyFraming {
        match self.model {
            Model::Slave(_) => ReplyFraming::Modbus,
            Model::Chip(_) => ReplyFraming::Bytes,
            Model::Bx5k(_) => ReplyFraming::Bx5k,
        }
    }

    /// The human line, label first.
    pub fn shows(&self) -> String {
        let what = if self.fault == Fault::Unplugged {
            "(unplugged)".to_string()
        } else {
            match &self.model {
                Model::Slave(s) => s.shows(),
                Model::Chip(c) => c.shows(),
                Model::Bx5k(b) => b.shows(),
            }
        };
        format!("{}: {what}", self.label)
    }

    fn content(&self) -> SimContent {
        if self.fault == Fault::Unplugged {
            return SimContent::Unplugged;
        }
        match &self.model {
            Model::Slave(s) => SimContent::Modbus(s.content()),
            Model::Chip(c) => SimContent::Voice {
                speaking: c.speaking().map(str::to_string),
            },
            Model::Bx5k(b) => SimContent::TextController { lines: b.lines() },
        }
    }

    fn power_off(&mut self) {
        match &mut self.model {
            Model::Slave(s) => s.power_cycle(),
            Model::Chip(c) => c.power_off(),
            Model::Bx5k(b) => b.power_cycle(),
        }
    }

    /// Power back on: blank state; what the device says at start-up.
    fn power_on(&mut self) -> Vec<u8> {
        match &mut self.model {
            Model::Slave(s) => {
                s.power_cycle();
                Vec::new()
            }
            Model::Chip(c) => c.power_on(),
            Model::Bx5k(b) => {
                b.power_cycle();
                Vec::new()
            }
        }
    }

    fn view(&self, bus: &str) -> SimDeviceView {
        let (spoken, cut_offs) = match &self.model {
            Model::Chip(c) => (c.log().map(|s| s.text.clone()).collect(), c.cut_offs()),
            _ => (Vec::new(), 0),
        };
        SimDeviceView {
            bus: bus.to_string(),
            unit: self.unit,
            label: self.label.clone(),
            profile: self.profile_name.clone(),
            protocol: self.protocol,
            fault: self.fault,
            shows: self.shows(),
            content: self.content(),
            spoken,
            counters: DeviceCounters {
                cut_offs,
                ..self.counters
            },
        }
    }
}

/// What a device did with one frame.
#[derive(Default)]
struct Effect {
    reply: Option<Vec<u8>>,
    spoke: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct InByte {
    byte: u8,
    seen: Instant,
    at: Instant,
}

#[derive(Debug, Clone, Copy)]
struct OutByte {
    byte: u8,
    at: Instant,
    tx: u64,
}

#[derive(Debug, Clone)]
struct Scheduled {
    due: Instant,
    bytes: Vec<u8>,
}

/// One reply on the wire (wire-speed mode).
#[derive(Debug, Clone, Copy)]
struct Transmission {
    id: u64,
    start: Instant,
    end: Instant,
    collided: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    ChipDue(usize),
    Scheduled,
    Silence,
    Input,
}

/// One bus, all its devices and its traffic.
#[derive(Debug)]
pub struct BusCore {
    name: String,
    /// Wire-speed mode: the time one byte takes.
    byte_time: Option<Duration>,
    /// Reply delay after a request's last byte.
    turnaround: Duration,
    silence: Duration,
    framer: Framer,
    pub(crate) devices: Vec<SimDevice>,
    epoch: Instant,
    input: VecDeque<InByte>,
    last_in_at: Option<Instant>,
    /// (byte, seen) of the latest bytes fed to the framer.
    fed: VecDeque<(u8, Instant)>,
    /// Bytes since the last frame (Modbus: an unknown function is framed by
    /// silence).
    since_frame: Vec<u8>,
    last_fed_at: Option<Instant>,
    scheduled: Vec<Scheduled>,
    output: VecDeque<OutByte>,
    last_out_end: Option<Instant>,
    transmissions: VecDeque<Transmission>,
    next_tx: u64,
    frames: VecDeque<FrameRecord>,
    stats: BusStats,
    rng: SimRng,
    changes: broadcast::Sender<SimChange>,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

impl BusCore {
    /// Checks the bus (units 1–247 and unique; an address-less device
    /// alone) and builds it. `epoch` is time zero of the device models.
    pub fn new(
        spec: &SimBusSpec,
        speech_ms_per_char: u64,
        epoch: Instant,
        changes: broadcast::Sender<SimChange>,
    ) -> io::Result<BusCore> {
        let name = &spec.name;
        let mut units = Vec::new();
        for d in &spec.devices {
            let modbus = d.profile.protocol().is_modbus();
            match (modbus, d.unit) {
                (true, Some(u)) if (1..=UNIT_MAX).contains(&u) => {
                    if units.contains(&u) {
                        return Err(invalid(format!("bus {name}: unit {u} is used twice")));
                    }
                    units.push(u);
                }
                (true, _) => {
                    return Err(invalid(format!(
                        "bus {name}: {} needs a unit address 1–{UNIT_MAX}",
                        d.label
                    )));
                }
                (false, _) if spec.devices.len() > 1 => {
                    return Err(invalid(format!(
                        "bus {name}: {} has no address and must be alone on its bus",
                        d.label
                    )));
                }
                (false, _) => {}
            }
        }
        let framer = match spec.devices.first().map(|d| &d.profile.device) {
            Some(DeviceProfile::Syn6288(_)) => {
                Framer::Tts(ChipKind::Syn6288, syn6288::frame_extractor())
            }
            Some(DeviceProfile::Xfs5152(_)) => {
                Framer::Tts(ChipKind::Xfs5152, xfs5152::frame_extractor())
            }
            Some(DeviceProfile::Bx5k(_)) => Framer::Bx5k(BxExtractor::new()),
            _ => Framer::Modbus(RequestExtractor::new()),
        };
        let byte_time = spec.wire_speed.then(|| {
            let bits: u64 = if spec.parity_or_two_stop { 11 } else { 10 };
            Duration::from_nanos(bits * 1_000_000_000 / u64::from(spec.baud.max(1)))
        });
        let (turnaround, silence) = match byte_time {
            // 3.5 character times, at least 1.75 ms.
            Some(bt) => {
                let t35 = (bt * 7 / 2).max(Duration::from_micros(SILENCE_US_MIN));
                (t35, t35)
            }
            None => (Duration::ZERO, Duration::from_millis(SILENCE_MS)),
        };
        let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Ok(BusCore {
            name: name.clone(),
            byte_time,
            turnaround,
            silence,
            framer,
            devices: spec
                .devices
                .iter()
                .map(|d| SimDevice::new(d, speech_ms_per_char))
                .collect(),
            epoch,
            input: VecDeque::new(),
            last_in_at: None,
            fed: VecDeque::new(),
            since_frame: Vec::new(),
            last_fed_at: None,
            scheduled: Vec::new(),
            output: VecDeque::new(),
            last_out_end: None,
            transmissions: VecDeque::new(),
            next_tx: 0,
            frames: VecDeque::new(),
            stats: BusStats::default(),
            rng: SimRng::new(seed),
            changes,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Wire-speed mode: the time one byte takes on the wire.
    pub fn byte_time(&self) -> Option<Duration> {
        self.byte_time
    }

    /// Model time of `t`, rounded up: a chip's speaking time never ends
    /// before it has fully passed.
    fn ms(&self, t: Instant) -> u64 {
        let ns = t.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(ns.div_ceil(1_000_000)).unwrap_or(u64::MAX)
    }

    fn instant(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms.min(MODEL_MS_MAX))
    }

    // -- input ---------------------------------------------------------

    /// Bytes read from the PTY at `seen`.
    pub fn receive(&mut self, bytes: &[u8], seen: Instant) {
        self.stats.bytes_in += bytes.len() as u64;
        for &byte in bytes {
            if self.input.len() >= INPUT_QUEUE_BYTES_MAX {
                self.stats.dropped_bytes_in += 1;
                continue;
            }
            let at = match self.byte_time {
                Some(bt) => seen.max(self.last_in_at.unwrap_or(seen)) + bt,
                None => seen,
            };
            self.last_in_at = Some(at);
            self.input.push_back(InByte { byte, seen, at });
        }
    }

    /// Does everything due by `now`, in time order.
    pub fn advance(&mut self, now: Instant) {
        while let Some((at, event)) = self.next_event() {
            if at > now {
                break;
            }
            match event {
                Event::ChipDue(idx) => self.chip_due(idx, at),
                Event::Scheduled => {
                    let s = self.scheduled.remove(0);
                    self.start_transmission(s.due, s.bytes);
                }
                Event::Silence => self.silence_at(at),
                Event::Input => {
                    if let Some(b) = self.input.pop_front() {
                        self.feed(b);
                    }
                }
            }
        }
    }

    fn next_event(&self) -> Option<(Instant, Event)> {
        let chips = self
            .devices
            .iter()
            .enumerate()
            .filter_map(|(i, d)| match &d.model {
                Model::Chip(c) if d.fault != Fault::Unplugged => {
                    c.due_ms().map(|ms| (self.instant(ms), Event::ChipDue(i)))
                }
                _ => None,
            });
        let scheduled = self.scheduled.first().map(|s| (s.due, Event::Scheduled));
        let silence = self.silence_due().map(|t| (t, Event::Silence));
        let input = self.input.front().map(|b| (b.at, Event::Input));
        chips.chain(scheduled).chain(silence).chain(input).min()
    }

    fn silence_due(&self) -> Option<Instant> {
        if self.since_frame.is_empty() {
            return None;
        }
        self.last_fed_at.map(|t| t + self.silence)
    }

    /// When [`advance`](Self::advance) next has work, or output is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        let event = self.next_event().map(|(t, _)| t);
        let output = self.output.front().map(|o| o.at);
        event.into_iter().chain(output).min()
    }

    fn feed(&mut self, b: InByte) {
        if let Some(bt) = self.byte_time {
            let start = b.at.checked_sub(bt).unwrap_or(b.at);
            let hit = self
                .transmissions
                .iter_mut()
                .find(|t| start < t.end && t.start < b.at);
            if let Some(t) = hit {
                if !t.collided {
                    t.collided = true;
                    self.stats.collisions += 1;
                }
                let id = t.id;
                for o in self
                    .output
                    .iter_mut()
                    .filter(|o| o.tx == id && o.at > start)
                {
                    o.byte ^= 0xFF;
                }
                self.stats.collided_bytes_in += 1;
                self.framer.reset();
                self.since_frame.clear();
                return;
            }
        }
        if self.fed.len() >= FED_RING_MAX {
            self.fed.pop_front();
        }
        self.fed.push_back((b.byte, b.seen));
        if self.since_frame.len() >= ADU_BYTES_MAX {
            self.since_frame.clear();
        }
        self.since_frame.push(b.byte);
        self.last_fed_at = Some(b.at);
        for framed in self.framer.push(b.byte) {
            self.on_frame(framed, b.at);
        }
    }

    /// The last `n` bytes fed (fewer if not kept).
    fn last_fed(&self, n: usize) -> Vec<u8> {
        let skip = self.fed.len().saturating_sub(n);
        self.fed.iter().skip(skip).map(|&(b, _)| b).collect()
    }

    fn on_frame(&mut self, framed: Framed, at: Instant) {
        self.stats.frames += 1;
        self.since_frame.clear();
        let (len, unit, function, valid, answered) = match framed {
            Framed::Modbus(Ok((unit, request))) => {
                let len = match &request {
                    Request::WriteMultipleRegisters { values, .. } => 9 + 2 * values.len(),
                    _ => 8,
                };
                let function = request.function().code();
                let answered = self.modbus_request(unit, &request, at);
                (len, Some(unit), Some(function), true, answered)
            }
            Framed::Modbus(Err(error)) => {
                self.stats.bad_frames += 1;
                match self.refused_modbus_frame() {
                    Some(frame) => {
                        let (unit, function) = (frame[0], frame[1]);
                        let code = match error {
                            RequestError::UnsupportedFunction(_) => ExceptionCode::IllegalFunction,
                            _ => ExceptionCode::IllegalDataValue,
                        };
                        let answered = self.modbus_exception(unit, function, code, at);
                        (frame.len(), Some(unit), Some(function), false, answered)
                    }
                    None => (1, None, None, false, false),
                }
            }
            Framed::Tts(result) => {
                let (len, function) = match &result {
                    Ok(data) => {
                        let checksum = match self.framer {
                            Framer::Tts(ChipKind::Syn6288, _) => 1,
                            _ => 0,
                        };
                        (3 + data.len() + checksum, data.first().copied())
                    }
                    Err(_) => (self.tts_frame_len(), None),
                };
                let valid = result.is_ok();
                if !valid {
                    self.stats.bad_frames += 1;
                }
                let answered = self.answer(0, at, |d, ms| match &mut d.model {
                    Model::Chip(chip) => {
                        let r = chip.frame(result, ms);
                        Effect {
                            reply: Some(r.bytes),
                            spoke: r.spoke,
                        }
                    }
                    _ => Effect::default(),
                });
                (len, None, function, valid, answered)
            }
            Framed::Bx5k(result) => {
                let len = self.bx5k_frame_len();
                let function = result.as_ref().ok().and_then(|p| p.data.first().copied());
                let mut valid = result.is_ok();
                let answered = self.answer(0, at, |d, _| match &mut d.model {
                    Model::Bx5k(b) => {
                        let r = b.packet(result);
                        valid = r.accepted;
                        Effect {
                            reply: r.bytes,
                            spoke: None,
                        }
                    }
                    _ => Effect::default(),
                });
                if !valid {
                    self.stats.bad_frames += 1;
                }
                (len, None, function, valid, answered)
            }
        };
        let first = self.fed.len().saturating_sub(len.max(1));
        let first_byte_at = self.fed.get(first).map_or(at, |&(_, seen)| seen);
        let last_byte_seen = self.fed.back().map_or(at, |&(_, seen)| seen);
        if self.frames.len() >= FRAME_LOG_MAX {
            self.frames.pop_front();
        }
        self.frames.push_back(FrameRecord {
            first_byte_at,
            last_byte_seen,
            last_byte_at: at,
            len,
            unit,
            function,
            valid,
            answered,
        });
    }

    /// The Modbus frame just completed whose content was refused: the
    /// latest bytes that make a whole frame with a good CRC.
    fn refused_modbus_frame(&self) -> Option<Vec<u8>> {
        let tail = self.last_fed(ADU_BYTES_MAX);
        (4..=tail.len()).find_map(|len| {
            let frame = &tail[tail.len() - len..];
            (crc_ok(frame) && request_len(frame) == Ok(Some(len))).then(|| frame.to_vec())
        })
    }

    /// Length of the TTS frame just refused: from the latest 0xFD whose
    /// length field ends the frame here.
    fn tts_frame_len(&self) -> usize {
        let tail = self.last_fed(FED_RING_MAX);
        (4..=tail.len())
            .find(|&len| {
                let f = &tail[tail.len() - len..];
                f[0] == 0xFD && 3 + usize::from(u16::from_be_bytes([f[1], f[2]])) == len
            })
            .unwrap_or(1)
    }

    /// Length of the BX-5K frame just ended: back to the start of its A5 run.
    fn bx5k_frame_len(&self) -> usize {
        let tail = self.last_fed(FED_RING_MAX);
        let Some(last_start) = tail.iter().rposition(|&b| b == bx5k_frame::FRAME_START) else {
            return tail.len().max(1);
        };
        let run = tail[..=last_start]
            .iter()
            .rev()
            .take_while(|&&b| b == bx5k_frame::FRAME_START)
            .count();
        tail.len() - (last_start + 1 - run)
    }

    fn find_unit(&self, unit: u8) -> Option<usize> {
        self.devices.iter().position(|d| d.unit == Some(unit))
    }

    fn modbus_request(&mut self, unit: u8, request: &Request, at: Instant) -> bool {
        if unit == BROADCAST {
            if matches!(
                request,
                Request::ReadHoldingRegisters { .. } | Request::ReadInputRegisters { .. }
            ) {
                return false;
            }
            for idx in 0..self.devices.len() {
                let d = &mut self.devices[idx];
                let Model::Slave(slave) = &mut d.model else {
                    continue;
                };
                if !d.fault.applies_requests() {
                    continue;
                }
                d.counters.requests += 1;
                let handled = slave.handle(request);
                if let Some(new_unit) = handled.new_unit {
                    d.unit = Some(new_unit);
                }
                self.refresh(idx);
            }
            return false;
        }
        let Some(idx) = self.find_unit(unit) else {
            return false;
        };
        let function = request.function();
        self.answer(idx, at, |d, _| {
            let Model::Slave(slave) = &mut d.model else {
                return Effect::default();
            };
            let handled = slave.handle(request);
            let reply = match handled.result {
                Ok(response) => encode_response(unit, function, &response).ok(),
                Err(code) => {
                    d.counters.exceptions += 1;
                    Some(encode_exception(unit, function.code(), code))
                }
            };
            if let Some(new_unit) = handled.new_unit {
                d.unit = Some(new_unit);
            }
            Effect { reply, spoke: None }
        })
    }

    fn modbus_exception(
        &mut self,
        unit: u8,
        function: u8,
        code: ExceptionCode,
        at: Instant,
    ) -> bool {
        if unit == BROADCAST {
            return false;
        }
        let Some(idx) = self.find_unit(unit) else {
            return false;
        };
        self.answer(idx, at, |d, _| {
            d.counters.exceptions += 1;
            Effect {
                reply: Some(encode_exception(unit, function, code)),
                spoke: None,
            }
        })
    }

    /// A frame for device `idx` completed at `at`: its fault decides what
    /// happens; `act` is the device's own behaviour. Returns whether
    /// anything is sent back.
    fn answer(
        &mut self,
        idx: usize,
        at: Instant,
        act: impl FnOnce(&mut SimDevice, u64) -> Effect,
    ) -> bool {
        let ms = self.ms(at);
        let Some(d) = self.devices.get_mut(idx) else {
            return false;
        };
        let fault = d.fault;
        let answered = match fault {
            Fault::Unplugged => false,
            Fault::Silent => {
                d.counters.requests += 1;
                false
            }
            Fault::Garbage => {
                d.counters.requests += 1;
                d.counters.garbage_floods += 1;
                let flood = fault::garbage(&mut self.rng);
                self.stats.garbage_bytes_sent += flood.len() as u64;
                self.schedule(at + self.turnaround, flood);
                true
            }
            Fault::None | Fault::BadCrc | Fault::Slow(_) => {
                d.counters.requests += 1;
                let effect = act(d, ms);
                let framing = d.framing();
                let (bus, unit, label) = (self.name.clone(), d.unit, d.label.clone());
                if let Some(text) = effect.spoke {
                    let _ = self.changes.send(SimChange {
                        bus,
                        unit,
                        label,
                        kind: ChangeKind::Spoke(text),
                    });
                }
                match effect.reply.filter(|r| !r.is_empty()) {
                    Some(reply) => {
                        self.devices[idx].counters.replies += 1;
                        let reply = if fault == Fault::BadCrc {
                            fault::corrupt(&reply, framing)
                        } else {
                            reply
                        };
                        let delay = Duration::from_millis(u64::from(fault.delay_ms()));
                        self.schedule(at + self.turnaround + delay, reply);
                        true
                    }
                    None => false,
                }
            }
        };
        self.refresh(idx);
        answered
    }

    fn chip_due(&mut self, idx: usize, at: Instant) {
        let ms = self.ms(at);
        let Some(d) = self.devices.get_mut(idx) else {
            return;
        };
        let Model::Chip(chip) = &mut d.model else {
            return;
        };
        let bytes = chip.tick(ms);
        let fault = d.fault;
        if fault.applies_requests() && !bytes.is_empty() {
            d.counters.replies += 1;
            let bytes = if fault == Fault::BadCrc {
                fault::corrupt(&bytes, ReplyFraming::Bytes)
            } else {
                bytes
            };
            let delay = Duration::from_millis(u64::from(fault.delay_ms()));
            self.schedule(at + delay, bytes);
        }
        self.refresh(idx);
    }

    /// The line fell silent after bytes that made no frame: a Modbus
    /// request of a function the devices do not know is framed this way
    /// and refused with exception 01.
    fn silence_at(&mut self, at: Instant) {
        let bytes = std::mem::take(&mut self.since_frame);
        let Framer::Modbus(_) = self.framer else {
            return;
        };
        if bytes.len() < 4 || !crc_ok(&bytes) || FunctionCode::from_code(bytes[1]).is_some() {
            return;
        }
        self.framer.reset();
        self.stats.frames += 1;
        self.stats.bad_frames += 1;
        let (unit, function) = (bytes[0], bytes[1]);
        let answered = self.modbus_exception(unit, function, ExceptionCode::IllegalFunction, at);
        let first = self.fed.len().saturating_sub(bytes.len());
        let first_byte_at = self.fed.get(first).map_or(at, |&(_, seen)| seen);
        let last_byte_seen = self.fed.back().map_or(at, |&(_, seen)| seen);
        if self.frames.len() >= FRAME_LOG_MAX {
            self.frames.pop_front();
        }
        let last_byte_at = self.last_fed_at.unwrap_or(at);
        self.frames.push_back(FrameRecord {
            first_byte_at,
            last_byte_seen,
            last_byte_at,
            len: bytes.len(),
            unit: Some(unit),
            function: Some(function),
            valid: false,
            answered,
        });
    }

    // -- output --------------------------------------------------------

    fn schedule(&mut self, due: Instant, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        if self.scheduled.len() >= SCHEDULED_MAX {
            self.stats.dropped_bytes_out += bytes.len() as u64;
            return;
        }
        let at = self.scheduled.partition_point(|s| s.due <= due);
        self.scheduled.insert(at, Scheduled { due, bytes });
    }

    fn start_transmission(&mut self, due: Instant, bytes: Vec<u8>) {
        if self.output.len() + bytes.len() > OUTPUT_QUEUE_BYTES_MAX {
            self.stats.dropped_bytes_out += bytes.len() as u64;
            return;
        }
        let tx = self.next_tx;
        self.next_tx += 1;
        match self.byte_time {
            Some(bt) => {
                let start = due.max(self.last_out_end.unwrap_or(due));
                let mut t = start;
                for byte in bytes {
                    t += bt;
                    self.output.push_back(OutByte { byte, at: t, tx });
                }
                self.last_out_end = Some(t);
                if self.transmissions.len() >= TRANSMISSIONS_MAX {
                    self.transmissions.pop_front();
                }
                self.transmissions.push_back(Transmission {
                    id: tx,
                    start,
                    end: t,
                    collided: false,
                });
            }
            None => {
                for byte in bytes {
                    self.output.push_back(OutByte { byte, at: due, tx });
                }
            }
        }
    }

    /// Bytes due to be written by `now`, in order.
    pub fn take_output(&mut self, now: Instant) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(o) = self.output.front()
            && o.at <= now
        {
            out.push(o.byte);
            self.output.pop_front();
        }
        self.stats.bytes_out += out.len() as u64;
        out
    }

    /// Bytes taken for writing that could not be written.
    pub fn output_lost(&mut self, n: usize) {
        self.stats.bytes_out = self.stats.bytes_out.saturating_sub(n as u64);
        self.stats.dropped_bytes_out += n as u64;
    }

    // -- changes from outside --------------------------------------------

    fn refresh(&mut self, idx: usize) {
        let Some(d) = self.devices.get_mut(idx) else {
            return;
        };
        let line = d.shows();
        if line != d.last_shows {
            d.last_shows = line.clone();
            let _ = self.changes.send(SimChange {
                bus: self.name.clone(),
                unit: d.unit,
                label: d.label.clone(),
                kind: ChangeKind::Shows(line),
            });
        }
    }

    fn target(&self, unit: Option<u8>) -> Result<Vec<usize>, SimError> {
        match unit {
            None => Ok((0..self.devices.len()).collect()),
            Some(u) => self
                .find_unit(u)
                .map(|i| vec![i])
                .ok_or(SimError::UnknownDevice {
                    bus: self.name.clone(),
                    unit: Some(u),
                }),
        }
    }

    /// A key press or a rating on the keypad or evaluator at `unit`.
    pub fn press(&mut self, unit: u8, code: u16) -> Result<(), SimError> {
        let idx = self.target(Some(unit))?[0];
        let d = &mut self.devices[idx];
        let Model::Slave(slave) = &mut d.model else {
            return Err(SimError::NoKeys {
                label: d.label.clone(),
            });
        };
        if !slave.has_fifo() {
            return Err(SimError::NoKeys {
                label: d.label.clone(),
            });
        }
        if d.fault == Fault::Unplugged {
            return Err(SimError::Unplugged {
                label: d.label.clone(),
            });
        }
        if !slave.press(code) {
            d.counters.lost_presses += 1;
        }
        self.refresh(idx);
        Ok(())
    }

    /// Sets the fault of the device at `unit`, or of every device on the
    /// bus (`None`). Unplugging powers a device off; plugging it back in
    /// powers it on blank.
    pub fn set_fault(
        &mut self,
        unit: Option<u8>,
        fault: Fault,
        now: Instant,
    ) -> Result<(), SimError> {
        for idx in self.target(unit)? {
            let d = &mut self.devices[idx];
            let old = d.fault;
            d.fault = fault;
            let mut hello = Vec::new();
            if fault == Fault::Unplugged && old != Fault::Unplugged {
                d.power_off();
            } else if old == Fault::Unplugged && fault != Fault::Unplugged {
                hello = d.power_on();
            }
            let framing = d.framing();
            let _ = self.changes.send(SimChange {
                bus: self.name.clone(),
                unit: d.unit,
                label: d.label.clone(),
                kind: ChangeKind::Fault(fault),
            });
            if fault.applies_requests() && !hello.is_empty() {
                let hello = if fault == Fault::BadCrc {
                    fault::corrupt(&hello, framing)
                } else {
                    hello
                };
                let delay = Duration::from_millis(u64::from(fault.delay_ms()));
                self.schedule(now + delay, hello);
            }
            self.refresh(idx);
        }
        Ok(())
    }

    pub fn views(&self) -> Vec<SimDeviceView> {
        self.devices.iter().map(|d| d.view(&self.name)).collect()
    }

    pub fn frames(&self) -> Vec<FrameRecord> {
        self.frames.iter().copied().collect()
    }

    pub fn stats(&self) -> BusStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::modbus::{read_holding_registers, write_multiple_registers};
    use crate::devices::profile::{Profile, builtin_profiles};

    fn profile(file: &str) -> Profile {
        builtin_profiles().unwrap().remove(file).unwrap()
    }

    fn bus(wire_speed: bool, devices: Vec<SimDeviceSpec>) -> BusCore {
        let spec = SimBusSpec {
            name: "t".into(),
            baud: 9600,
            parity_or_two_stop: false,
            wire_speed,
            devices,
        };
        let (tx, _) = broadcast::channel(16);
        BusCore::new(&spec, 10, Instant::now(), tx).unwrap()
    }

    fn indicator(unit: u8) -> SimDeviceSpec {
        SimDeviceSpec {
            unit: Some(unit),
            profile: profile("generic-window-indicator.toml"),
            label: format!("窗口{unit} indicator"),
        }
    }

    #[test]
    fn wire_speed_paces_arrival_and_replies() {
        let mut b = bus(true, vec![indicator(1)]);
        let bt = b.byte_time().unwrap();
        assert_eq!(bt, Duration::from_nanos(1_041_666));
        let t0 = Instant::now();
        let req = write_multiple_registers(1, 16, &[0x41; 13]).unwrap();
        assert_eq!(req.bytes.len(), 35);
        b.receive(&req.bytes, t0);
        // Nothing has arrived yet at t0.
        b.advance(t0);
        assert!(b.frames().is_empty());
        let done = t0 + bt * 35;
        b.advance(done);
        let f = b.frames()[0];
        assert_eq!(f.last_byte_at - f.first_byte_at, bt * 35);
        // The reply's first byte leaves the wire 3.5 + 1 byte times later.
        let first_out = done + b.turnaround + bt;
        assert_eq!(b.next_deadline(), Some(done + b.turnaround));
        b.advance(first_out);
        assert_eq!(b.take_output(first_out).len(), 1);
        b.advance(first_out + bt * 7);
        assert_eq!(b.take_output(first_out + bt * 7).len(), 7);
    }

    #[test]
    fn talking_over_a_reply_is_a_collision() {
        let mut b = bus(true, vec![indicator(1)]);
        let bt = b.byte_time().unwrap();
        let t0 = Instant::now();
        let read = read_holding_registers(1, 16, 24).unwrap();
        b.receive(&read.bytes, t0);
        let reply_start = t0 + bt * 8 + b.turnaround;
        b.advance(reply_start + bt * 10);
        let sent = b.take_output(reply_start + bt * 10);
        assert_eq!(sent.len(), 10);
        b.receive(&read.bytes, reply_start + bt * 10);
        let end = reply_start + bt * 60;
        b.advance(end);
        let rest = b.take_output(end);
        assert_eq!(sent.len() + rest.len(), 5 + 48);
        let s = b.stats();
        assert_eq!(s.collisions, 1);
        assert_eq!(s.collided_bytes_in, 8);
        let mut whole = sent.clone();
        whole.extend(&rest);
        assert!(!crc_ok(&whole), "the reply was corrupted");
        assert_eq!(b.frames().len(), 1, "the colliding request was dropped");
    }

    #[test]
    fn unknown_function_is_framed_by_silence() {
        let mut b = bus(false, vec![indicator(7)]);
        let mut adu = vec![7, 0x2B, 0x0E, 0x01, 0x00];
        crate::devices::modbus::codec::push_crc(&mut adu);
        let t0 = Instant::now();
        b.receive(&adu, t0);
        b.advance(t0);
        assert!(b.take_output(t0).is_empty());
        let later = t0 + Duration::from_millis(SILENCE_MS);
        b.advance(later);
        let out = b.take_output(later);
        assert_eq!(
            out,
            encode_exception(7, 0x2B, ExceptionCode::IllegalFunction)
        );
        assert_eq!(b.views()[0].counters.exceptions, 1);
    }

    #[test]
    fn unplug_blanks_and_replug_stays_blank() {
        let mut b = bus(false, vec![indicator(1)]);
        let t0 = Instant::now();
        let w = write_multiple_registers(1, 0, &[3, 3, 80]).unwrap();
        b.receive(&w.bytes, t0);
        b.advance(t0);
        assert_eq!(b.take_output(t0).len(), 8);
        assert!(b.views()[0].shows.contains("[serving]"));
        b.set_fault(Some(1), Fault::Unplugged, t0).unwrap();
        assert_eq!(b.views()[0].shows, "窗口1 indicator: (unplugged)");
        b.receive(&w.bytes, t0);
        b.advance(t0);
        assert!(b.take_output(t0).is_empty());
        b.set_fault(None, Fault::None, t0).unwrap();
        assert_eq!(b.views()[0].shows, "窗口1 indicator: [off]");
        assert!(b.set_fault(Some(2), Fault::Silent, t0).is_err());
    }

    #[test]
    fn address_less_devices_must_be_alone() {
        let spec = SimBusSpec {
            name: "x".into(),
            baud: 9600,
            parity_or_two_stop: false,
            wire_speed: false,
            devices: vec![
                indicator(1),
                SimDeviceSpec {
                    unit: None,
                    profile: profile("syn6288.toml"),
                    label: "voice".into(),
                },
            ],
        };
        let (tx, _) = broadcast::channel(1);
        assert!(BusCore::new(&spec, 10, Instant::now(), tx.clone()).is_err());
        let spec = SimBusSpec {
            devices: vec![indicator(1), indicator(1)],
            ..spec
        };
        assert!(BusCore::new(&spec, 10, Instant::now(), tx).is_err());
    }

    #[test]
    fn any_bytes_on_any_bus_never_panic() {
        let files = [
            "generic-window-indicator.toml",
            "generic-keypad.toml",
            "syn6288.toml",
            "xfs5152ce.toml",
            "onbon-bx5k.toml",
        ];
        let mut rng = SimRng::new(42);
        for file in files {
            for wire_speed in [false, true] {
                let unit = profile(file).protocol().is_modbus().then_some(1);
                let mut b = bus(
                    wire_speed,
                    vec![SimDeviceSpec {
                        unit,
                        profile: profile(file),
                        label: file.into(),
                    }],
                );
                let mut t = Instant::now();
                for round in 0..200 {
                    let len = rng.range(1, 300) as usize;
                    // Mostly bytes that start frames of every protocol.
                    let bytes: Vec<u8> = (0..len)
                        .map(|_| match rng.below(6) {
                            0 => 0xFD,
                            1 => 0xA5,
                            2 => 1,
                            _ => rng.next_u64() as u8,
                        })
                        .collect();
                    b.receive(&bytes, t);
                    if round % 50 == 0 {
                        let fault = [Fault::Garbage, Fault::BadCrc, Fault::Slow(3), Fault::None];
                        b.set_fault(None, fault[round / 50], t).unwrap();
                    }
                    t += Duration::from_millis(rng.range(0, 40) as u64);
                    b.advance(t);
                    b.take_output(t);
                }
                t += Duration::from_secs(60);
                b.advance(t);
                b.take_output(t);
                assert!(b.next_deadline().is_none(), "{file}: all work done");
                assert!(b.frames().len() <= FRAME_LOG_MAX);
            }
        }
    }
}
