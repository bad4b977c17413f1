//! The device simulator: every device profile of the hall, emulated over
//! real PTY pairs, so hallq's bus tasks talk to it exactly as to hardware
//! (real bytes through the kernel's tty layer).
//!
//! | module | job |
//! |---|---|
//! | `slave` | Modbus slaves: indicator, text board, keypad, evaluator (pure) |
//! | `chip` | SYN6288 / XFS5152 TTS chips (pure) |
//! | `bx5k` | Onbon BX-5K text controller (pure) |
//! | `fault` | faults and what they do to replies |
//! | `bus` | one bus: framing, dispatch, faults, wire timing, logs (pure: instants passed in) |
//! | `hall` | [`SimHall`]: PTYs and one tokio task per bus |
//!
//! Every model uses the device's side of the protocol code in
//! `crate::devices` (request decoders, response encoders, frame
//! extractors, the profiles' `decode` functions); nothing is re-encoded
//! here.
//!
//! **Wire-speed mode** (`wire_speed` on a bus): a byte takes 10 bit times
//! at 8N1 (11 with parity or two stop bits). A byte from the master counts
//! as arrived at `max(seen, previous arrival) + byte time` — it cannot be
//! on the wire before hallq wrote it, nor overlap the byte before it, and
//! it has arrived once its stop bit has — so a 35-byte request is complete
//! 35 byte times after its first byte was seen. Replies start 3.5
//! character times after the request's last byte (a slave's frame-end
//! detection) and are written byte by byte as each byte's stop bit would
//! leave the wire. The line is half duplex: a byte from the master that
//! overlaps a reply on the wire is a collision (counted once per reply);
//! the byte is dropped, the partial request with it, and the rest of the
//! reply is corrupted.
//!
//! **Limits:** each bus keeps at most [`bus::FRAME_LOG_MAX`] frame records,
//! [`bus::INPUT_QUEUE_BYTES_MAX`] bytes waiting to be processed and
//! [`bus::OUTPUT_QUEUE_BYTES_MAX`] bytes waiting to be written (beyond
//! those, bytes are dropped and counted in [`BusStats`]); each chip logs
//! [`chip::SPOKEN_LOG_MAX`] texts; [`hall::CHANGES_CAPACITY`] changes wait
//! for a slow subscriber before it lags.

pub mod bus;
pub mod bx5k;
pub mod chip;
pub mod fault;
pub mod hall;
pub mod slave;

use std::time::Instant;

use crate::devices::profile::{Profile, Protocol};

pub use fault::Fault;
pub use hall::{CHANGES_CAPACITY, SimHall, window_label};
pub use slave::SlaveContent;

/// Speaking time per character heard, when not set otherwise.
pub const SPEECH_MS_PER_CHAR_DEFAULT: u64 = 250;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimSpec {
    pub buses: Vec<SimBusSpec>,
    /// How long a TTS chip speaks per character heard (default 250; small
    /// values make tests fast; at most [`chip::SPEECH_MS_PER_CHAR_MAX`]).
    pub speech_ms_per_char: u64,
}

impl Default for SimSpec {
    fn default() -> SimSpec {
        SimSpec {
            buses: Vec::new(),
            speech_ms_per_char: SPEECH_MS_PER_CHAR_DEFAULT,
        }
    }
}

/// One simulated bus: a PTY pair.
#[derive(Debug, Clone)]
pub struct SimBusSpec {
    pub name: String,
    pub baud: u32,
    /// 11 bits per byte instead of 10 (wire-speed mode only).
    pub parity_or_two_stop: bool,
    /// Pace bytes at `baud` and enforce half duplex.
    pub wire_speed: bool,
    pub devices: Vec<SimDeviceSpec>,
}

/// One simulated device.
#[derive(Debug, Clone)]
pub struct SimDeviceSpec {
    /// Modbus address; `None` for TTS chips and BX-5K controllers, which
    /// must be alone on their bus.
    pub unit: Option<u8>,
    pub profile: Profile,
    /// `窗口12 indicator`, `f1-general board`… (see [`window_label`]).
    pub label: String,
}

/// Counters of one device, kept across power cycles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceCounters {
    /// Requests addressed to it while plugged in (broadcasts included).
    pub requests: u64,
    /// Replies it sent (exceptions and unprompted TTS bytes included,
    /// garbage floods not).
    pub replies: u64,
    /// Modbus exception replies.
    pub exceptions: u64,
    /// Garbage floods sent instead of replies.
    pub garbage_floods: u64,
    /// Key presses or ratings dropped because the FIFO was full.
    pub lost_presses: u64,
    /// Speech interrupted by the next speak frame.
    pub cut_offs: u64,
}

/// What a device shows, structured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimContent {
    Modbus(SlaveContent),
    Voice {
        /// The text being spoken, as heard.
        speaking: Option<String>,
    },
    TextController {
        lines: Vec<String>,
    },
    /// Off the bus: shows nothing.
    Unplugged,
}

/// A device as the simulator sees it.
#[derive(Debug, Clone)]
pub struct SimDeviceView {
    pub bus: String,
    pub unit: Option<u8>,
    pub label: String,
    /// The profile's name.
    pub profile: String,
    pub protocol: Protocol,
    pub fault: Fault,
    /// One human line, label first: `窗口12 indicator: [calling ×3] A012 | 请到12号窗口`.
    pub shows: String,
    pub content: SimContent,
    /// Texts spoken (TTS chips), as heard, oldest first.
    pub spoken: Vec<String>,
    pub counters: DeviceCounters,
}

/// Something a device did that a watcher may want to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimChange {
    pub bus: String,
    pub unit: Option<u8>,
    pub label: String,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// Its `shows` line changed (the whole new line, label first).
    Shows(String),
    /// A TTS chip began to speak this text (as heard).
    Spoke(String),
    /// Its fault was set.
    Fault(Fault),
}

impl std::fmt::Display for SimChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ChangeKind::Shows(line) => f.write_str(line),
            ChangeKind::Spoke(text) => write!(f, "{}: 🔊 {text}", self.label),
            ChangeKind::Fault(fault) => write!(f, "{}: fault {fault}", self.label),
        }
    }
}

/// One frame the devices' side of a bus received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRecord {
    /// When its first byte was read from the PTY.
    pub first_byte_at: Instant,
    /// When its last byte was read from the PTY.
    pub last_byte_seen: Instant,
    /// When its last byte arrived: as read, or as modelled in wire-speed
    /// mode (then `last_byte_at - first_byte_at` ≥ length × byte time).
    pub last_byte_at: Instant,
    /// Bytes, as framed (preamble included for a BX-5K).
    pub len: usize,
    /// Modbus unit addressed (0 = broadcast); `None` for address-less chips.
    pub unit: Option<u8>,
    /// Modbus function code, TTS command byte, or BX-5K command group.
    pub function: Option<u8>,
    /// Whether it decoded into a valid request (else the device refused or
    /// ignored it).
    pub valid: bool,
    /// Whether a device answered (or will, after a delay).
    pub answered: bool,
}

/// Traffic on one bus, as the devices' side sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusStats {
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Frames found in the input (valid or not).
    pub frames: u64,
    /// Frames refused: checksum or escaping errors, malformed requests.
    pub bad_frames: u64,
    /// Replies the master talked over (wire-speed mode).
    pub collisions: u64,
    /// Bytes from the master dropped because they collided.
    pub collided_bytes_in: u64,
    /// Bytes of garbage floods sent.
    pub garbage_bytes_sent: u64,
    /// Bytes dropped at the input or output queue's limit, or unwritable.
    pub dropped_bytes_in: u64,
    pub dropped_bytes_out: u64,
}

/// Why a simulator command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("no simulated bus named {0:?}")]
    UnknownBus(String),
    #[error("no device at unit {unit:?} on bus {bus:?}")]
    UnknownDevice { bus: String, unit: Option<u8> },
    #[error("no {kind} at window {window}")]
    UnknownWindowDevice { window: u32, kind: String },
    #[error("{label} has no keys (only keypads and evaluators do)")]
    NoKeys { label: String },
    #[error("{label} is unplugged: the press went nowhere")]
    Unplugged { label: String },
    #[error("{label} has no code for key {key}")]
    NoCode { label: String, key: String },
}
