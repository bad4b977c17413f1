//! Starting a hallq for the load tools (`loadgen`, `soak`): accounts with a
//! known password in the data directory it will use, and its address from
//! the first line it prints. Included with `#[path = "support/spawn.rs"]`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};

use hallq::accounts::{Accounts, HashCost};
use hallq::config::Config;
use hallq::daemon::ACCOUNTS_FILE;
use hallq::daemon::clock::{Clock, SystemClock};

/// Gives `accounts` the password `password` without the forced change (what
/// `hallq passwd` and a first sign-in would do, going through `first`), with
/// the cheap test hash cost so signing in costs nothing measurable. Never
/// point `data` at a real hall's data.
pub fn provision(
    config: Arc<Config>,
    data: &Path,
    accounts: &[String],
    first: &str,
    password: &str,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(data)?;
    let now = SystemClock.now_ms();
    let store = Accounts::open_with_cost(
        &data.join(ACCOUNTS_FILE),
        config,
        now,
        HashCost::INSECURE_FAST_FOR_TESTS,
    )?;
    for a in accounts {
        store
            .set_password(a, first, now)
            .map_err(|e| anyhow::anyhow!("{a}: {e}"))?;
        store
            .change_password(a, first, password, now)
            .map_err(|e| anyhow::anyhow!("{a}: {e}"))?;
    }
    Ok(())
}

/// Reads a starting `hallq serve`'s first line ("hallq listening on
/// http://ADDR") byte by byte (no buffering past it) and returns ADDR.
pub fn listening_addr(stdout: &mut impl std::io::Read) -> anyhow::Result<SocketAddr> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if stdout.read(&mut byte)? == 0 {
            bail!("hallq exited before listening");
        }
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    let line = String::from_utf8(line)?;
    Ok(line
        .trim()
        .strip_prefix("hallq listening on http://")
        .with_context(|| format!("unexpected first line: {line}"))?
        .parse()?)
}
