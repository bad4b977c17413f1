//! Shared helpers of the `accounts_*` tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hallq::accounts::{Accounts, HashCost};
use hallq::config::{Config, DEMO_HALL_TOML};

/// A fixed "now" (2025-06-15T15:06:40Z); tests move time by adding to it.
pub const T0: i64 = 1_750_000_000_000;
pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;

/// The embedded demo hall: every password is "demo".
pub fn demo() -> Arc<Config> {
    Arc::new(Config::demo())
}

/// The demo hall's text under another name: a real configuration (no
/// default credentials), with the same accounts and keys.
pub fn real() -> Arc<Config> {
    Arc::new(Config::from_toml_str("hall.toml", DEMO_HALL_TOML).expect("valid config"))
}

/// [`real`] without the `supervisor` account.
pub fn real_without_supervisor() -> Arc<Config> {
    let block = "[[staff]]\naccount = \"supervisor\"\njob_number = \"JC0001\"\nname = \"董文\"\nroles = [\"supervisor\"]\n";
    assert!(
        DEMO_HALL_TOML.contains(block),
        "the demo hall changed: update real_without_supervisor()"
    );
    let text = DEMO_HALL_TOML.replacen(block, "", 1);
    let config = Config::from_toml_str("hall.toml", &text).expect("valid config");
    assert!(config.staff("supervisor").is_none());
    Arc::new(config)
}

pub fn store_path(dir: &Path) -> PathBuf {
    dir.join("accounts.sqlite")
}

/// Opens with the cheap argon2 setting (tests sign in hundreds of times).
pub fn open(dir: &Path, config: Arc<Config>, now_ms: i64) -> Accounts {
    Accounts::open_with_cost(
        &store_path(dir),
        config,
        now_ms,
        HashCost::INSECURE_FAST_FOR_TESTS,
    )
    .expect("open accounts")
}
