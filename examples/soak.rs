//! `soak`: a busy day at ten times a real hall's rate against a real hallq,
//! with its devices simulated in a separate `hallq sim` and faults injected,
//! recording the daemon's memory over time, latency per request kind, errors
//! and the journal's size. The machinery is `examples/support/soak_day.rs`
//! (shared with `tests/soak_smoke.rs`); the HTTP client and the counter's
//! sign-in are `loadgen`'s (`examples/support/`).
//!
//! ```text
//! cargo build --release --bin hallq --example soak
//! target/release/examples/soak --hallq target/release/hallq \
//!     --config firmware-config/examples/soak-hall.toml \
//!     --tickets 20000 --minutes 60 --work /tmp/soak
//! ```
//!
//! Options: `--tickets 20000` over `--minutes 60` (`--curve day|uniform`:
//! a day's shape folded into the run — morning peak, lunch dip, afternoon
//! peak — or flat), `--kiosks 8`, `--screens 10` (event-stream readers),
//! `--busy 0.85` (the windows' share of time with a citizen, which sets the
//! mean service time), `--drain-minutes 10` (after the last arrival, how long
//! the hall may take to empty), `--sample-seconds 10`, `--no-faults`,
//! `--seed 7`, `--kiosk-key soak-kiosk`, `--display-key soak-display`,
//! `--work DIR` (fresh: the daemon's data and `sim.log`, `serve.log`).
//! The counters' passwords are set in `DIR/data` with the cheap test hash:
//! never point it at a real hall's data. Exits non-zero when the run fails
//! (a 5xx, a transport error, a ticket that did not end, verify failing).

#[path = "support/counter.rs"]
mod counter;
#[path = "support/http.rs"]
mod http;
#[path = "support/soak_day.rs"]
mod soak_day;
#[path = "support/spawn.rs"]
mod spawn;

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Soak test of hallq (see the file's documentation)")]
struct Args {
    /// The hallq binary to run (serve, sim, verify).
    #[arg(long, value_name = "PATH", default_value = "target/release/hallq")]
    hallq: PathBuf,
    #[arg(
        long,
        value_name = "FILE",
        default_value = "firmware-config/examples/soak-hall.toml"
    )]
    config: PathBuf,
    /// A fresh directory for the run (default: a new temporary directory, kept).
    #[arg(long, value_name = "DIR")]
    work: Option<PathBuf>,
    #[arg(long, default_value_t = 20_000)]
    tickets: u64,
    #[arg(long, default_value_t = 60.0)]
    minutes: f64,
    #[arg(long, value_parser = ["day", "uniform"], default_value = "day")]
    curve: String,
    #[arg(long, default_value_t = 8)]
    kiosks: usize,
    #[arg(long, default_value_t = 10)]
    screens: usize,
    #[arg(long, default_value_t = 0.85)]
    busy: f64,
    #[arg(long, default_value_t = 10.0)]
    drain_minutes: f64,
    #[arg(long, default_value_t = 10.0)]
    sample_seconds: f64,
    #[arg(long)]
    no_faults: bool,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    #[arg(long, default_value = "soak-kiosk")]
    kiosk_key: String,
    #[arg(long, default_value = "soak-display")]
    display_key: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(args.busy > 0.0 && args.busy <= 1.0) {
        anyhow::bail!("--busy must be above 0 and at most 1, not {}", args.busy);
    }
    if args.tickets == 0 || args.minutes <= 0.0 || args.sample_seconds <= 0.0 {
        anyhow::bail!("--tickets, --minutes and --sample-seconds must be positive");
    }
    let work = match args.work {
        Some(w) => w,
        None => tempfile::Builder::new()
            .prefix("hallq-soak-")
            .tempdir()?
            .keep(),
    };
    let opts = soak_day::Options {
        hallq: args.hallq,
        config: args.config,
        work,
        tickets: args.tickets,
        minutes: args.minutes,
        curve: if args.curve == "uniform" {
            soak_day::Curve::Uniform
        } else {
            soak_day::Curve::Day
        },
        kiosks: args.kiosks,
        screens: args.screens,
        busy: args.busy,
        drain_minutes: args.drain_minutes,
        sample_seconds: args.sample_seconds,
        faults: !args.no_faults,
        seed: args.seed,
        kiosk_key: args.kiosk_key,
        display_key: args.display_key,
        progress: true,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let report = runtime.block_on(soak_day::run(opts))?;
    report.print();
    if !report.problems().is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
