//! hallq — queue-calling and hall display controller of a government service hall.
//!
//! See ARCHITECTURE.md for the codemap and the invariants.

pub mod accounts;
pub mod alerts;
pub mod api;
pub mod config;
pub mod daemon;
pub mod devices;
pub mod forecast;
pub mod journal;
pub mod queue;
pub mod report;
pub mod sim;
pub mod stats;
