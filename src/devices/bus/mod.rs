//! The running device layer: one task per serial port, and the reconciler
//! that turns hall state into what each device should show and say.
//!
//! ```text
//!  owner ──Published──> hub (hall replica) ──targets, voice──> bus task ──bytes──> port
//!        <──Command──── hub <──────key presses, ratings──────── bus task <──replies──
//! ```
//!
//! | module | job |
//! |---|---|
//! | `hub` | the reconciler: a replica of the hall fed by committed events; desired content per device; key presses and ratings into commands |
//! | `task` | one bus: scheduling (calls first; polls and other updates in turns; spaced retries of failing devices; checks), writes of what differs, polls, probes, voice |
//! | `link` | one exchange on a line: gap, stale bytes, request, reply, timeout |
//! | `health` | online/offline, counters, probe backoff |
//! | `port` | opening a configured serial port (the simulator's PTYs come from `daemon::devices`) |
//! | `commission` | `hallq devices`: list, test pattern, set-address, with the daemon stopped |
//! | `keys` | what a keypad key does, as a command |
//!
//! The hub and a bus task share only [`BusShared`]: the latest desired
//! content of each of the bus's devices (the bus writes the difference
//! to what it last wrote, so a burst of changes costs one write) and, for
//! a TTS bus, the zone's voice queue.

pub mod commission;
pub mod health;
pub mod hub;
pub mod keys;
pub mod link;
pub mod port;
pub mod task;

use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::{Notify, broadcast, oneshot};

use crate::config::Config;
use crate::config::model::BusConfig;
use crate::daemon::owner::HallHandle;
use crate::devices::evaluator::Rating;
use crate::devices::image::RegisterImage;
use crate::devices::keypad::KeypadKey;
use crate::devices::profile::Protocol;
use crate::devices::voice::VoiceQueue;
use crate::queue::types::{Millis, WindowNo};

pub use health::{Health, Link};

/// Device-state changes kept for slow subscribers.
pub const CHANGES_CAPACITY: usize = 1024;

/// What a device serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Serves {
    Window(WindowNo),
    Zone(String),
}

/// A configured device, as the rest of hallq refers to it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    /// Index in the configuration's `[[device]]` list.
    pub index: usize,
    pub bus: String,
    pub unit: Option<u8>,
    pub profile: String,
    pub protocol: &'static str,
    pub serves: Serves,
}

/// A device's state for the API and the CLI.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceStatus {
    #[serde(flatten)]
    pub info: DeviceInfo,
    #[serde(flatten)]
    pub health: Health,
}

/// A device came online or went offline.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceChange {
    pub device: usize,
    pub bus: String,
    pub unit: Option<u8>,
    pub serves: Serves,
    pub link: Link,
    pub at_ms: Millis,
}

/// Every device's health, shared by the bus tasks (writers) and the API.
pub struct Registry {
    infos: Vec<DeviceInfo>,
    health: Mutex<Vec<Health>>,
    changes: broadcast::Sender<DeviceChange>,
}

impl Registry {
    pub fn new(infos: Vec<DeviceInfo>) -> Registry {
        let health = Mutex::new(vec![Health::new(); infos.len()]);
        let (changes, _) = broadcast::channel(CHANGES_CAPACITY);
        Registry {
            infos,
            health,
            changes,
        }
    }

    /// Every device with its current health.
    pub fn statuses(&self) -> Vec<DeviceStatus> {
        let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        self.infos
            .iter()
            .zip(health.iter())
            .map(|(info, health)| DeviceStatus {
                info: info.clone(),
                health: health.clone(),
            })
            .collect()
    }

    /// Online/offline changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DeviceChange> {
        self.changes.subscribe()
    }

    /// For each of `devices`, in one look: (offline, consecutive failures).
    pub fn troubles(&self, devices: impl Iterator<Item = usize>) -> Vec<(bool, u32)> {
        let all = self.health.lock().unwrap_or_else(|e| e.into_inner());
        devices
            .map(|d| {
                all.get(d)
                    .map_or((false, 0), |h| (h.is_offline(), h.consecutive_failures))
            })
            .collect()
    }

    pub fn is_offline(&self, device: usize) -> bool {
        let all = self.health.lock().unwrap_or_else(|e| e.into_inner());
        all.get(device).is_some_and(Health::is_offline)
    }

    /// Updates one device's health; announces a link change.
    pub(crate) fn update<R>(
        &self,
        device: usize,
        now_ms: Millis,
        f: impl FnOnce(&mut Health) -> R,
    ) -> R {
        let (result, link_before, link_after) = {
            let mut all = self.health.lock().unwrap_or_else(|e| e.into_inner());
            let Some(h) = all.get_mut(device) else {
                drop(all);
                return f(&mut Health::new());
            };
            let before = h.link;
            let r = f(h);
            (r, before, h.link)
        };
        if link_before != link_after
            && let Some(info) = self.infos.get(device)
        {
            let _ = self.changes.send(DeviceChange {
                device,
                bus: info.bus.clone(),
                unit: info.unit,
                serves: info.serves.clone(),
                link: link_after,
                at_ms: now_ms,
            });
        }
        result
    }
}

/// What a display device should show: its registers, or (BX-5K) its frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Registers(RegisterImage),
    Frame(Vec<u8>),
}

/// The desired content of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub content: Content,
    /// Bumped by every change; the bus compares it with what it wrote.
    pub seq: u64,
    /// A new call: written before other updates.
    pub urgent: bool,
    /// Bumped by a recall: the indicator's mode is written again so the
    /// number flashes again even though nothing else changed.
    pub flash: u64,
}

/// What the hub hands a bus: the latest desired state of its devices.
#[derive(Default)]
pub struct Desired {
    /// By slot (the device's position on its bus).
    pub targets: Vec<Option<Target>>,
    /// Polling preference by slot: the busiest window's keypad first.
    pub poll_rank: Vec<u32>,
    /// The zone's announcements, on a TTS bus.
    pub voice: Option<VoiceQueue>,
}

/// Shared between the hub and one bus task.
pub struct BusShared {
    pub name: String,
    pub desired: Mutex<Desired>,
    pub wake: Notify,
}

impl BusShared {
    pub fn new(name: &str, slots: usize) -> BusShared {
        BusShared {
            name: name.to_string(),
            desired: Mutex::new(Desired {
                targets: vec![None; slots],
                poll_rank: vec![0; slots],
                voice: None,
            }),
            wake: Notify::new(),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Desired> {
        self.desired.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Something a person did on a device, for the hub to turn into a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    Key(KeypadKey),
    Rating(Rating),
}

/// What the hall made of a press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Applied, or nothing to do: acknowledge it.
    Applied,
    /// Refused (the text is shown on the keypad): acknowledge it.
    Refused(String),
    /// Not decided (the journal failed, the hall is busy): leave it in the
    /// device, to be read again.
    Retry,
}

/// A press and where to send the verdict.
pub struct Input {
    pub device: usize,
    pub press: Press,
    pub reply: oneshot::Sender<Verdict>,
}

/// The running device layer.
pub struct Devices {
    pub registry: Arc<Registry>,
    buses: Vec<Arc<BusShared>>,
    inputs: tokio::sync::mpsc::Sender<Input>,
    /// Per window with an evaluator: the device a 请评价 press stands for
    /// (the window's keypad, else the evaluator itself).
    evaluation_device: std::collections::HashMap<crate::queue::WindowNo, usize>,
}

impl Devices {
    /// Starts the hub and one task per configured bus. `open` gives each
    /// bus its port opener (the simulator's PTY, or `port::open`). A port
    /// that cannot be opened does not stop the daemon: its devices show
    /// offline and the bus keeps trying.
    pub async fn start(
        config: Arc<Config>,
        handle: HallHandle,
        mut open: impl FnMut(&BusConfig) -> task::Opener,
        now_ms: task::NowFn,
    ) -> Result<Devices, crate::daemon::owner::SubmitError> {
        let mut infos = Vec::new();
        let mut hub_devices = Vec::new();
        let bus_index: std::collections::HashMap<&str, usize> = config
            .buses()
            .iter()
            .enumerate()
            .map(|(i, b)| (b.name.as_str(), i))
            .collect();
        let mut slots: Vec<Vec<task::Slot>> = config.buses().iter().map(|_| Vec::new()).collect();
        let mut evaluation_device = std::collections::HashMap::new();
        for (index, d) in config.devices().iter().enumerate() {
            let Some(&bus) = bus_index.get(d.bus.as_str()) else {
                continue;
            };
            let profile = config.device_profile(d);
            let serves = match (d.window, &d.zone) {
                (Some(w), _) => Serves::Window(w),
                (None, Some(z)) => Serves::Zone(z.clone()),
                (None, None) => continue,
            };
            let slot = slots[bus].len();
            slots[bus].push(task::Slot::new(infos.len(), d.unit, profile.device.clone()));
            let client = match d.unit {
                Some(u) => format!("device:{}/{u}", d.bus),
                None => format!("device:{}", d.bus),
            };
            hub_devices.push(hub::HubDevice::new(
                serves.clone(),
                profile.device.clone(),
                hub::Place { bus, slot },
                client,
            ));
            if let Serves::Window(w) = serves
                && config.has_evaluator(w)
            {
                // A 请评价 press stands for the keypad's key, else the evaluator's.
                match profile.protocol() {
                    Protocol::ModbusKeypad => {
                        evaluation_device.insert(w, infos.len());
                    }
                    Protocol::ModbusEvaluator => {
                        evaluation_device.entry(w).or_insert(infos.len());
                    }
                    _ => {}
                }
            }
            infos.push(DeviceInfo {
                index,
                bus: d.bus.clone(),
                unit: d.unit,
                profile: profile.name.clone(),
                protocol: profile.protocol().name(),
                serves,
            });
        }
        let registry = Arc::new(Registry::new(infos));
        let buses: Vec<Arc<BusShared>> = config
            .buses()
            .iter()
            .zip(&slots)
            .map(|(b, s)| Arc::new(BusShared::new(&b.name, s.len())))
            .collect();
        let (input_tx, input_rx) = tokio::sync::mpsc::channel(hub::INPUTS_CAPACITY);
        let events = handle.subscribe();
        let hub = hub::Hub::new(
            config.clone(),
            handle,
            hub_devices,
            buses.clone(),
            now_ms.clone(),
        )
        .await?;
        tokio::spawn(hub.run(events, input_rx));
        for ((bus_config, slots), shared) in config.buses().iter().zip(slots).zip(&buses) {
            if slots.is_empty() {
                continue;
            }
            let mut opener = open(bus_config);
            let wire = opener().unwrap_or_else(|_| Box::new(link::DeadWire));
            let line = link::Line::new(
                wire,
                std::time::Duration::from_millis(u64::from(bus_config.timeout_ms)),
                bus_config.gap(),
            );
            let task = task::BusTask {
                config: bus_config.clone(),
                line,
                opener,
                shared: shared.clone(),
                slots,
                registry: registry.clone(),
                inputs: input_tx.clone(),
                now_ms: now_ms.clone(),
                last_probe: None,
                last_was_poll: false,
                last_check: None,
            };
            tokio::spawn(task.run());
        }
        Ok(Devices {
            registry,
            buses,
            inputs: input_tx,
            evaluation_device,
        })
    }

    /// 请评价 from the counter page: the same as the keypad's key. `None`
    /// when the window has no evaluator (or the device layer stopped).
    pub async fn request_evaluation(&self, window: crate::queue::WindowNo) -> Option<Verdict> {
        let device = *self.evaluation_device.get(&window)?;
        let (reply, answer) = oneshot::channel();
        self.inputs
            .send(Input {
                device,
                press: Press::Key(KeypadKey::RequestEvaluation),
                reply,
            })
            .await
            .ok()?;
        Some(answer.await.unwrap_or(Verdict::Retry))
    }

    /// Every device with its health.
    pub fn statuses(&self) -> Vec<DeviceStatus> {
        self.registry.statuses()
    }

    /// Voice statistics per TTS bus: (bus, stats).
    pub fn voice_stats(&self) -> Vec<(String, crate::devices::voice::VoiceStats)> {
        self.buses
            .iter()
            .filter_map(|b| b.lock().voice.as_ref().map(|v| (b.name.clone(), v.stats())))
            .collect()
    }
}
