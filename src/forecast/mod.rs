//! Wait estimates by looking ahead, and staffing what-ifs.
//!
//! - [`model`]: service times, no-shows, transfers, pauses and arrivals,
//!   learned online from committed events (bounded memory).
//! - [`driver`]: one discrete-event simulation of the hall with virtual
//!   staff calling through the real core — shared by the look-ahead, the
//!   backtest's day simulator and `hallq simulate`.
//! - [`lookahead`]: the estimator (Monte Carlo over the rest of the day).
//! - [`backtest`]: simulated days with a known truth, to measure it
//!   (`examples/estimate_backtest.rs`, `tests/forecast_backtest.rs`).
//! - [`staffing`]: virtual staff accounts and desks for simulated days.
//! - [`whatif`]: `hallq simulate`, a day under another staffing plan.
//! - [`runner`]: the daemon's background task that keeps the latest
//!   [`Forecast`] for the views.
//!
//! **Architecture invariant:** everything here except `runner` is pure —
//! no I/O, no clock, randomness only from a seeded `SimRng` — like
//! `queue/`. The look-ahead runs on a clone of the hall, off the owner
//! thread.

pub mod backtest;
pub mod driver;
pub mod lookahead;
pub mod model;
pub mod random;
pub mod runner;
pub mod staffing;
pub mod whatif;

pub use lookahead::{Estimate, Forecast, Settings, look_ahead};
pub use model::Model;
pub use runner::ForecastHandle;
