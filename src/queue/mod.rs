//! The hall as a value: model, state machine, routing, calendar.
//!
//! **Architecture invariant: this module is pure.** No I/O, no async, no
//! clock reads, no randomness: `now_ms` is an argument. Same configuration +
//! same commands + same times ⇒ the same events, byte for byte. That is what
//! makes replay, the seeded whole-day simulation and "explain this call" work.
//!
//! A command goes `decide` (checks, returns events or a [`Refusal`]) →
//! `evolve` (folds each event into the state). Replay is `evolve` alone.

pub mod calendar;
pub mod command;
pub mod decide;
pub mod event;
pub mod finished;
pub mod person;
pub mod refusal;
pub mod routing;
pub mod state;
pub mod tally;
pub mod types;

pub use command::{Command, TransferTarget, WindowService};
pub use decide::{Explanation, format_number};
pub use event::Event;
pub use refusal::Refusal;
pub use state::{Hall, Ticket, WindowState};
pub use types::*;
