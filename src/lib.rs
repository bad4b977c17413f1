//! hallq — queue-calling and hall display controller of a government service hall.
//!
//! See ARCHITECTURE.md for the codemap and the invariants.

pub mod config;
pub mod journal;
pub mod queue;
