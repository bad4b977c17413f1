//! Simulators and traffic generators for tests, benches and demos.
//!
//! - `traffic`: pure and seeded like the queue core (no I/O, no clock reads,
//!   no global randomness): the same seed against the same hall gives the
//!   same commands, so a failing simulation replays from its seed.
//! - `devices`: the hall's RS-485 devices over real PTY pairs (pure device
//!   models, plus one tokio task per simulated bus); `cli` is `hallq sim`.

pub mod cli;
pub mod devices;
pub mod traffic;

pub use traffic::{Mix, SimRng, Traffic};
