//! The daemon: the owner task that applies commands, commits, then
//! publishes; start-up replay; the calendar ticker; clean shutdown.

pub mod alerts;
pub mod backups;
pub mod clock;
pub mod devices;
pub mod idempotency;
pub mod lock;
pub mod memory;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod owner;
pub mod reload;
pub mod replay;
pub mod secret;
pub mod serve;

pub use owner::{Applied, HallHandle, Owner, Published, Submission, SubmitError, start};

/// The journal's file name inside the data directory.
pub const JOURNAL_FILE: &str = "journal.sqlite";
/// Accounts and sessions, beside the journal.
pub const ACCOUNTS_FILE: &str = "accounts.sqlite";

/// Creates the data directory (and missing parents) private to its owner,
/// mode 0700: the journal inside is the hall's record, readable by whoever
/// may enter the directory. An existing directory keeps its mode; when
/// others may enter it, a warning says so (systemd's `StateDirectoryMode=`
/// makes it 0700 under the unit).
pub fn create_data_dir(path: &std::path::Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                dir = %path.display(),
                mode = %format!("{mode:o}"),
                "the data directory may be entered by other users; `chmod 700` it"
            );
        }
    }
    Ok(())
}
