//! The hall's RS-485 devices: the only code that knows bytes on wires.
//!
//! This part is the pure protocol layer: every encoder and decoder, byte
//! exact, with no I/O, no async, no clock. The bus tasks (one per serial
//! port) and the reconciler call it; the simulator uses the device's side
//! of each protocol.
//!
//! | module | job |
//! |---|---|
//! | `crc` | CRC-16 (poly 0xA001 reflected) for Modbus (init 0xFFFF) and BX-5K (init 0) |
//! | `modbus/` | Modbus RTU frames, both sides; stream extraction; text in registers |
//! | `image` | register images and the minimal FC16 writes between two of them |
//! | `indicator` | window indicator (`modbus-window-indicator`) |
//! | `board` | zone board (`modbus-text-board`) |
//! | `bx5k/` | Onbon BX-5K text controller (`onbon-bx5k-text`) |
//! | `tts/` | SYN6288 and XFS5152 TTS chips |
//! | `speech` | what a call says: templates, numbers read aloud |
//! | `fifo`, `keypad`, `evaluator` | polled keypads and evaluators |
//! | `encoding` | GB2312 / GBK / BIG5 / UTF-16 |
//! | `template` | `{placeholder}` texts of profiles |
//! | `profile` | device profiles (`firmware-config/profiles/*.toml`) |
//!
//! **Architecture invariant:** nothing here blocks, sleeps, spawns or reads
//! a clock; every decoder takes arbitrary bytes without panicking (fuzzed),
//! and every buffer and count has a limit named next to it.

pub mod board;
pub mod bus;
pub mod bx5k;
pub mod crc;
pub mod desired;
pub mod encoding;
pub mod evaluator;
pub mod fifo;
pub mod image;
pub mod indicator;
pub mod keypad;
pub mod modbus;
pub mod profile;
pub mod speech;
pub mod template;
pub mod tts;
pub mod voice;
