//! Simulators and traffic generators for tests, benches and demos.
//!
//! Everything here is pure and seeded like the queue core: no I/O, no clock
//! reads, no global randomness. The same seed against the same hall gives
//! the same commands, so a failing simulation replays from its seed.

pub mod cli;
pub mod devices;
pub mod traffic;

pub use traffic::{Mix, SimRng, Traffic};
