//! The daemon: the owner task that applies commands, commits, then
//! publishes; start-up replay; the calendar ticker; clean shutdown.

pub mod alerts;
pub mod backups;
pub mod clock;
pub mod devices;
pub mod idempotency;
pub mod lock;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod owner;
pub mod replay;
pub mod secret;
pub mod serve;

pub use owner::{Applied, HallHandle, Owner, Published, Submission, SubmitError, start};

/// The journal's file name inside the data directory.
pub const JOURNAL_FILE: &str = "journal.sqlite";
/// Accounts and sessions, beside the journal.
pub const ACCOUNTS_FILE: &str = "accounts.sqlite";
