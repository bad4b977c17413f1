//! [`SimHall`]: the simulated devices of a hall on PTY pairs, one tokio
//! task per bus.
//!
//! Each bus is a PTY pair. The simulator keeps the master side; the other
//! side is what hallq opens — handed over in-process ([`SimHall::take_port`])
//! or opened by path by another process ([`SimHall::port_path`]). Until it
//! is taken, the simulator holds that side open too, so the master side
//! never reads EIO before hallq has opened it. Once taken and closed,
//! reading the master side fails (EIO on Linux) until it is opened again:
//! the task then retries every [`READ_RETRY_MS`] ms and never stops.
//!
//! The task owns the PTY and reads the clock; the bus itself
//! ([`BusCore`]) is pure and shared with the handle under a mutex held
//! only for short, non-blocking work.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;
use tokio_serial::{SerialPort, SerialStream};

use super::bus::BusCore;
use super::{
    BusStats, Fault, FrameRecord, SimBusSpec, SimChange, SimDeviceSpec, SimDeviceView, SimError,
    SimSpec,
};
use crate::config::{Config, Parity, SIM_PORT};
use crate::devices::keypad::KeypadKey;
use crate::devices::profile::Protocol;

/// Changes buffered for each subscriber before it lags.
pub const CHANGES_CAPACITY: usize = 1024;
/// Bytes read from a PTY at once.
const READ_CHUNK_BYTES: usize = 4096;
/// Pause before reading a PTY again after an error (no slave side open).
pub const READ_RETRY_MS: u64 = 20;
/// How long a write may wait (nobody reading the other side) before its
/// bytes are dropped and counted.
const WRITE_TIMEOUT_MS: u64 = 200;
/// Wake-up when nothing is due (a safety net: every change notifies).
const IDLE_WAKE_MS: u64 = 1_000;

/// The label of a window's device: `窗口12 keypad`.
pub fn window_label(window: u32, kind: &str) -> String {
    format!("窗口{window} {kind}")
}

/// What a device of this protocol is called in labels.
pub fn kind_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::ModbusWindowIndicator => "indicator",
        Protocol::ModbusTextBoard | Protocol::OnbonBx5kText => "board",
        Protocol::Syn6288 | Protocol::Xfs5152 => "voice",
        Protocol::ModbusKeypad => "keypad",
        Protocol::ModbusEvaluator => "evaluator",
    }
}

impl SimSpec {
    /// The buses of `config` whose port is `"sim"`, with their devices.
    /// Labels: `窗口12 indicator` for a window's device, `f1-general board`
    /// for a zone's, `BUS#UNIT kind` otherwise; a label used twice gets the
    /// unit appended.
    pub fn from_config(config: &Config) -> SimSpec {
        let mut buses = Vec::new();
        for bus in config.buses().iter().filter(|b| b.port == SIM_PORT) {
            let mut devices: Vec<SimDeviceSpec> = Vec::new();
            for d in config.devices().iter().filter(|d| d.bus == bus.name) {
                let profile = config.device_profile(d).clone();
                let kind = kind_name(profile.protocol());
                let mut label = match (&d.window, &d.zone, d.unit) {
                    (Some(w), _, _) => window_label(*w, kind),
                    (None, Some(z), _) => format!("{z} {kind}"),
                    (None, None, Some(u)) => format!("{}#{u} {kind}", bus.name),
                    (None, None, None) => format!("{} {kind}", bus.name),
                };
                if devices.iter().any(|x| x.label == label) {
                    label = match d.unit {
                        Some(u) => format!("{label} #{u}"),
                        None => format!("{label} #{}", devices.len() + 1),
                    };
                }
                devices.push(SimDeviceSpec {
                    unit: d.unit,
                    profile,
                    label,
                });
            }
            buses.push(SimBusSpec {
                name: bus.name.clone(),
                baud: bus.baud,
                parity_or_two_stop: bus.parity != Parity::None || bus.stop_bits >= 2,
                wire_speed: bus.wire_speed,
                devices,
            });
        }
        SimSpec {
            buses,
            ..SimSpec::default()
        }
    }
}

struct BusSlot {
    name: String,
    core: Arc<Mutex<BusCore>>,
    notify: Arc<Notify>,
    port: Mutex<Option<SerialStream>>,
    path: Option<String>,
}

struct Inner {
    buses: Vec<BusSlot>,
    changes: broadcast::Sender<SimChange>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The running simulator. Clones share it; the bus tasks stop when the
/// last clone is dropped.
#[derive(Clone)]
pub struct SimHall {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SimHall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHall")
            .field("buses", &self.bus_names())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SimHall {
    /// Opens a PTY pair per bus and starts its task. Must be called inside
    /// a tokio runtime.
    pub fn start(spec: SimSpec) -> std::io::Result<SimHall> {
        let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        let (changes, _) = broadcast::channel(CHANGES_CAPACITY);
        let epoch = Instant::now();
        let mut buses = Vec::new();
        let mut masters = Vec::new();
        for bus in &spec.buses {
            if buses.iter().any(|b: &BusSlot| b.name == bus.name) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("two simulated buses are named {:?}", bus.name),
                ));
            }
            let core = BusCore::new(bus, spec.speech_ms_per_char, epoch, changes.clone())?;
            let (master, slave) = SerialStream::pair().map_err(std::io::Error::from)?;
            buses.push(BusSlot {
                name: bus.name.clone(),
                core: Arc::new(Mutex::new(core)),
                notify: Arc::new(Notify::new()),
                path: slave.name(),
                port: Mutex::new(Some(slave)),
            });
            masters.push(master);
        }
        let tasks = buses
            .iter()
            .zip(masters)
            .map(|(slot, master)| {
                runtime.spawn(run_bus(slot.core.clone(), slot.notify.clone(), master))
            })
            .collect();
        Ok(SimHall {
            inner: Arc::new(Inner {
                buses,
                changes,
                tasks,
            }),
        })
    }

    fn slot(&self, bus: &str) -> Result<&BusSlot, SimError> {
        self.inner
            .buses
            .iter()
            .find(|b| b.name == bus)
            .ok_or_else(|| SimError::UnknownBus(bus.to_string()))
    }

    pub fn bus_names(&self) -> Vec<String> {
        self.inner.buses.iter().map(|b| b.name.clone()).collect()
    }

    /// The end of bus `bus` that hallq uses, once.
    pub fn take_port(&self, bus: &str) -> Option<SerialStream> {
        lock(&self.slot(bus).ok()?.port).take()
    }

    /// Opens that end again by its path (raw mode), e.g. after the port
    /// handed over by [`take_port`](Self::take_port) was dropped. While
    /// another handle of that end is open, both read from the same line.
    pub fn open_port(&self, bus: &str) -> std::io::Result<SerialStream> {
        let path = self.port_path(bus).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no simulated bus named {bus:?}"),
            )
        })?;
        SerialStream::open(&tokio_serial::new(path, 9600)).map_err(std::io::Error::from)
    }

    /// Path of that end (`/dev/pts/N`), for another process.
    pub fn port_path(&self, bus: &str) -> Option<String> {
        self.slot(bus).ok()?.path.clone()
    }

    /// Every device of every bus, in the order of the spec.
    pub fn devices(&self) -> Vec<SimDeviceView> {
        self.inner
            .buses
            .iter()
            .flat_map(|b| lock(&b.core).views())
            .collect()
    }

    /// The device at `unit` on `bus` (`None`: the bus's address-less device).
    pub fn find(&self, bus: &str, unit: Option<u8>) -> Option<SimDeviceView> {
        let slot = self.slot(bus).ok()?;
        lock(&slot.core)
            .views()
            .into_iter()
            .find(|d| d.unit == unit)
    }

    /// The device labelled `label`.
    pub fn find_label(&self, label: &str) -> Option<SimDeviceView> {
        self.devices().into_iter().find(|d| d.label == label)
    }

    /// Window `window`'s first device of `protocol` (labels made by
    /// [`SimSpec::from_config`] or [`window_label`]).
    pub fn window_device(&self, window: u32, protocol: Protocol) -> Option<SimDeviceView> {
        let prefix = window_label(window, kind_name(protocol));
        self.devices()
            .into_iter()
            .find(|d| d.protocol == protocol && d.label.starts_with(&prefix))
    }

    /// A key press (keypad code) or a rating (evaluator code, 1–5) on the
    /// device at `unit`. A press when the FIFO is full is lost and counted.
    pub fn press(&self, bus: &str, unit: u8, code: u16) -> Result<(), SimError> {
        lock(&self.slot(bus)?.core).press(unit, code)
    }

    /// Presses `key` on window `window`'s keypad (the code its profile
    /// maps to the key). Returns the code.
    pub fn press_key(&self, window: u32, key: KeypadKey) -> Result<u16, SimError> {
        let keypad = self
            .window_device(window, Protocol::ModbusKeypad)
            .ok_or_else(|| SimError::UnknownWindowDevice {
                window,
                kind: "keypad".into(),
            })?;
        let unit = keypad.unit.ok_or_else(|| SimError::UnknownDevice {
            bus: keypad.bus.clone(),
            unit: None,
        })?;
        let slot = self.slot(&keypad.bus)?;
        let mut core = lock(&slot.core);
        let code = core
            .devices
            .iter()
            .find(|d| d.unit == Some(unit))
            .and_then(|d| match &d.model {
                super::bus::Model::Slave(s) => match s.kind() {
                    super::slave::SlaveKind::Keypad(p) => p.code(key),
                    _ => None,
                },
                _ => None,
            })
            .ok_or_else(|| SimError::NoCode {
                label: keypad.label.clone(),
                key: format!("{key:?}"),
            })?;
        core.press(unit, code)?;
        Ok(code)
    }

    /// A rating (1 非常满意 … 5 非常不满意) on window `window`'s evaluator.
    pub fn rate(&self, window: u32, code: u16) -> Result<(), SimError> {
        let evaluator = self
            .window_device(window, Protocol::ModbusEvaluator)
            .ok_or_else(|| SimError::UnknownWindowDevice {
                window,
                kind: "evaluator".into(),
            })?;
        let unit = evaluator.unit.ok_or_else(|| SimError::UnknownDevice {
            bus: evaluator.bus.clone(),
            unit: None,
        })?;
        self.press(&evaluator.bus, unit, code)
    }

    /// Sets a fault on the device at `unit`, or on every device of the bus
    /// (`None`).
    pub fn set_fault(&self, bus: &str, unit: Option<u8>, fault: Fault) -> Result<(), SimError> {
        let slot = self.slot(bus)?;
        lock(&slot.core).set_fault(unit, fault, Instant::now())?;
        slot.notify.notify_one();
        Ok(())
    }

    /// Device changes: a `shows` line changed, a sentence was spoken, a
    /// fault was set.
    pub fn changes(&self) -> broadcast::Receiver<SimChange> {
        self.inner.changes.subscribe()
    }

    /// The frames the devices' side of `bus` received, oldest first
    /// (at most [`super::bus::FRAME_LOG_MAX`]).
    pub fn frames(&self, bus: &str) -> Vec<FrameRecord> {
        self.slot(bus)
            .map(|s| lock(&s.core).frames())
            .unwrap_or_default()
    }

    pub fn bus_stats(&self, bus: &str) -> Option<BusStats> {
        self.slot(bus).ok().map(|s| lock(&s.core).stats())
    }

    /// Wire-speed mode: the time one byte takes on `bus`.
    pub fn byte_time(&self, bus: &str) -> Option<Duration> {
        self.slot(bus).ok().and_then(|s| lock(&s.core).byte_time())
    }
}

/// One bus: PTY bytes in and out, the clock, the core's deadlines.
async fn run_bus(core: Arc<Mutex<BusCore>>, notify: Arc<Notify>, port: SerialStream) {
    let (mut reader, mut writer) = tokio::io::split(port);
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    let mut read_again_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let (out, deadline) = {
            let mut c = lock(&core);
            c.advance(now);
            let out = c.take_output(now);
            (out, c.next_deadline())
        };
        if !out.is_empty() {
            let write = tokio::time::timeout(
                Duration::from_millis(WRITE_TIMEOUT_MS),
                writer.write_all(&out),
            );
            if !matches!(write.await, Ok(Ok(()))) {
                lock(&core).output_lost(out.len());
            }
            continue;
        }
        let reading = read_again_at.is_none_or(|t| t <= now);
        if reading {
            read_again_at = None;
        }
        let wake = [deadline, read_again_at]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + Duration::from_millis(IDLE_WAKE_MS));
        tokio::select! {
            read = reader.read(&mut buf), if reading => match read {
                Ok(n) if n > 0 => lock(&core).receive(&buf[..n], Instant::now()),
                // EIO (no slave side open) or end of file: try again later.
                _ => read_again_at = Some(Instant::now() + Duration::from_millis(READ_RETRY_MS)),
            },
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
            () = notify.notified() => {}
        }
    }
}
