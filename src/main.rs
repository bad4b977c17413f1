//! `hallq`: the daemon and its operator commands.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use hallq::config::{Config, LocalDateTime};
use hallq::daemon::JOURNAL_FILE;
use hallq::daemon::serve::{ServeOptions, serve};
use hallq::journal::{self, JournalReader};
use hallq::queue::{Hall, Millis, TicketStatus, WindowActivity, calendar};

#[derive(Parser)]
#[command(
    name = "hallq",
    version,
    about = "Queue-calling and hall display controller for a government service hall"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Log lines on standard error: text (human-readable) or json (one object per line).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// The tracing subscriber for `--log-format`; `RUST_LOG` filters (default info).
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => logs.json().flatten_event(true).with_ansi(false).init(),
        // Colours only on a terminal; journald stamps each line itself.
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let logs = logs.with_ansi(colour);
            if hallq::daemon::notify::stderr_is_journal() {
                logs.without_time().init();
            } else {
                logs.init();
            }
        }
    }
}

#[derive(clap::Args, Clone)]
struct DataArg {
    /// Data directory (journal, keys). Default: $STATE_DIRECTORY under systemd, else ./hallq-data.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the hall (the embedded demo hall when no --config is given).
    Serve {
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        data: DataArg,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Point bus NAME at another port, keeping the rest of the
        /// configuration (e.g. one real device on a USB adapter). Repeatable.
        #[arg(long = "bus", value_name = "NAME=PATH")]
        buses: Vec<String>,
        /// Do not print what simulated devices show and say.
        #[arg(long)]
        quiet_sim: bool,
    },
    /// Simulate the configuration's `port = "sim"` buses on PTYs for another
    /// hallq process (`hallq serve --bus NAME=/dev/pts/N`); commands on stdin.
    Sim {
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Speaking time of the simulated TTS chips per character.
        #[arg(long, default_value_t = 250, value_name = "MS")]
        speech_ms_per_char: u64,
    },
    /// Commissioning, with the daemon stopped: list the devices and whether
    /// they answer, show a test pattern, re-address a window indicator.
    Devices {
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Point bus NAME at another port (as for `serve`). Repeatable.
        #[arg(long = "bus", value_name = "NAME=PATH")]
        buses: Vec<String>,
        #[command(subcommand)]
        action: Option<DevicesCmd>,
    },
    /// Validate a hall configuration and print a summary.
    Check { file: PathBuf },
    /// Check the journal's hash chain; names the first broken row and exits non-zero.
    Verify {
        #[command(flatten)]
        data: DataArg,
    },
    /// Take a consistent online backup of the journal (safe while the daemon runs).
    /// With --set, PATH is a directory and a whole backup set is taken into it
    /// (journal, accounts without sessions, person key), as `[backup]` does.
    Backup {
        path: PathBuf,
        /// Take a whole backup set into the directory PATH (for `hallq restore`).
        #[arg(long)]
        set: bool,
        #[command(flatten)]
        data: DataArg,
    },
    /// Make a new API key for a kiosk or display screen; prints the key (give it to
    /// the device) and the `[[api_key]]` block (put it in the config).
    Keygen {
        #[arg(long)]
        id: String,
        #[arg(long, value_parser = ["kiosk", "display", "metrics"])]
        role: String,
    },
    /// Set an account's password (read from standard input); its owner must
    /// change it at the next sign-in. For a running daemon prefer
    /// POST /api/v1/accounts/{account}/password.
    Passwd {
        account: String,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        data: DataArg,
    },
    /// Show the hall as it was at a moment (local time YYYY-MM-DDTHH:MM[:SS], or RFC 3339).
    Replay {
        #[arg(long, value_name = "TIME")]
        at: String,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        data: DataArg,
        /// Also explain what this window would have called next at that moment.
        #[arg(long, value_name = "N")]
        window: Option<u32>,
    },
    /// Statistics of a day, week, month or quarter as files (one CSV per view,
    /// one XLSX workbook, optionally JSON), read from the journal (safe while
    /// the daemon runs).
    Report {
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        args: hallq::report::cli::ReportArgs,
    },
    /// Staffing what-if: a recorded day (--day, with --data) or a described
    /// arrival pattern (--arrivals FILE) under the hall as configured and
    /// under another plan (--plan FILE); predicted waits per service and hour.
    Simulate {
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        args: hallq::forecast::whatif::SimulateArgs,
    },
    /// Restore a backup set (or a bare journal file) into a data directory, with
    /// the daemon stopped; refuses a backup whose hash chain does not verify.
    Restore {
        /// A set directory `hallq-YYYYMMDD-HHMMSS-seqN`, or a journal file.
        backup: PathBuf,
        #[command(flatten)]
        data: DataArg,
        /// Replace existing files, moving them aside as `<name>.before-restore-<time>`.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum DevicesCmd {
    /// Every bus and device, and whether it answers (the default).
    List,
    /// A test pattern on every display of a window (number) or zone (id),
    /// and a test sentence on its voice chip.
    Test { target: String },
    /// Give the window indicator at --bus/--unit a new Modbus address.
    SetAddress {
        #[arg(long)]
        bus: String,
        #[arg(long)]
        unit: u8,
        new_unit: u8,
    },
}

fn main() -> ExitCode {
    // Before any thread starts: few allocator arenas, large blocks mapped
    // on their own (`daemon::memory`).
    hallq::daemon::memory::tune_allocator();
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let command = cli.command.unwrap_or(Cmd::Serve {
        config: None,
        data: DataArg { data: None },
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        buses: Vec::new(),
        quiet_sim: false,
    });
    match run(command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hallq: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn data_dir(arg: &DataArg) -> PathBuf {
    arg.data
        .clone()
        .unwrap_or_else(|| match std::env::var_os("STATE_DIRECTORY") {
            Some(dir) => PathBuf::from(dir),
            None => PathBuf::from("hallq-data"),
        })
}

fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    match path {
        Some(p) => Config::load(p)
            .map_err(|errors| anyhow::anyhow!("the configuration has errors:\n{errors}")),
        None => Ok(Config::demo()),
    }
}

fn existing_journal(data: &DataArg) -> anyhow::Result<PathBuf> {
    let path = data_dir(data).join(JOURNAL_FILE);
    if !path.exists() {
        bail!("no journal at {} (give --data DIR)", path.display());
    }
    Ok(path)
}

fn run(command: Cmd) -> anyhow::Result<ExitCode> {
    match command {
        Cmd::Serve {
            config,
            data,
            listen,
            buses,
            quiet_sim,
        } => {
            let reload = config
                .clone()
                .map(|path| hallq::daemon::reload::ReloadSource {
                    path,
                    bus_overrides: buses.clone(),
                });
            let mut config = load_config(config.as_deref())?;
            override_buses(&mut config, &buses)?;
            let runtime = runtime()?;
            runtime.block_on(serve(ServeOptions {
                config,
                data_dir: data_dir(&data),
                listen,
                print_sim: !quiet_sim,
                reload,
            }))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Devices {
            config,
            buses,
            action,
        } => {
            let mut config = load_config(config.as_deref())?;
            override_buses(&mut config, &buses)?;
            let runtime = runtime()?;
            runtime.block_on(devices_command(config, action.unwrap_or(DevicesCmd::List)))
        }
        Cmd::Sim {
            config,
            speech_ms_per_char,
        } => {
            let config = load_config(config.as_deref())?;
            let runtime = runtime()?;
            runtime.block_on(hallq::sim::cli::run(config, speech_ms_per_char))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Check { file } => match Config::load(&file) {
            Ok(config) => {
                println!("{} is valid.\n", file.display());
                print!("{}", hallq::config::summary::summary(&config));
                Ok(ExitCode::SUCCESS)
            }
            Err(errors) => {
                eprintln!("{errors}");
                eprintln!(
                    "\n{} error(s); the hall will not start with this file.",
                    errors.0.len()
                );
                Ok(ExitCode::from(2))
            }
        },
        Cmd::Verify { data } => {
            let path = existing_journal(&data)?;
            let report = journal::verify(&path)?;
            match &report.first_broken {
                None => {
                    println!(
                        "{}: {} rows, chain intact up to seq {}",
                        path.display(),
                        report.rows,
                        report.last_seq
                    );
                    // Record this head elsewhere (daily report, supervisor): a cut
                    // tail still chains, but it no longer ends at the recorded head.
                    println!(
                        "head: seq {} hash {}",
                        report.last_seq,
                        hex::encode(report.last_hash)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(broken) => {
                    println!(
                        "{}: BROKEN at seq {}: {}",
                        path.display(),
                        broken.seq,
                        broken.reason
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
        Cmd::Backup {
            path,
            set: true,
            data,
        } => {
            existing_journal(&data)?;
            // Named in the machine's local time (the scheduled sets use the hall's).
            let at = chrono::Local::now().naive_local();
            let (set, report) = hallq::daemon::backups::take_set(&data_dir(&data), &path, at)?;
            println!(
                "backup set {} taken and verified: {} rows\nhead: seq {} hash {}",
                set.display(),
                report.rows,
                report.last_seq,
                hex::encode(report.last_hash)
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Backup {
            path,
            set: false,
            data,
        } => {
            let source = existing_journal(&data)?;
            journal::backup(&source, &path)?;
            let report = journal::verify(&path)?;
            if let Some(b) = report.first_broken {
                bail!(
                    "the backup at {} does not verify (seq {}: {})",
                    path.display(),
                    b.seq,
                    b.reason
                );
            }
            println!(
                "backed up {} rows (to seq {}) into {}",
                report.rows,
                report.last_seq,
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Keygen { id, role } => {
            let (key, sha256) = hallq::accounts::new_api_key();
            println!("key (give it to the device; it is not stored anywhere): {key}\n");
            println!("[[api_key]]\nid = \"{id}\"\nrole = \"{role}\"\nsha256 = \"{sha256}\"");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Passwd {
            account,
            config,
            data,
        } => {
            let config = Arc::new(load_config(config.as_deref())?);
            if config.staff(&account).is_none() {
                bail!(
                    "there is no account \"{account}\" in {}",
                    config.source_name
                );
            }
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the new password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let dir = data_dir(&data);
            hallq::daemon::create_data_dir(&dir)
                .with_context(|| format!("creating data directory {}", dir.display()))?;
            let now = hallq::daemon::clock::Clock::now_ms(&hallq::daemon::clock::SystemClock);
            let accounts = hallq::accounts::Accounts::open(
                &dir.join(hallq::daemon::ACCOUNTS_FILE),
                config,
                now,
            )?;
            accounts
                .set_password(&account, password, now)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("password of {account} set; it must be changed at the next sign-in");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Replay {
            at,
            config,
            data,
            window,
        } => {
            let config = Arc::new(load_config(config.as_deref())?);
            let at_ms = parse_time(&at, &config)?;
            let reader = JournalReader::open(&existing_journal(&data)?)?;
            let (hall, _) = hallq::daemon::replay::replay_read_only(config, &reader, Some(at_ms))?;
            print!("{}", describe(&hall, at_ms));
            if let Some(n) = window {
                let explanation = hall.explain_next(n, at_ms);
                println!("\nWindow {n} would call next:");
                if explanation.candidates.is_empty() {
                    println!("  nobody (no waiting ticket it serves)");
                }
                for c in explanation.candidates {
                    println!(
                        "  {:<6} {:<16} rank {} weight {:<3} {}",
                        c.number, c.candidate.service, c.candidate.rank, c.candidate.weight, c.why
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Report { config, data, args } => hallq::report::cli::run(
            load_config(config.as_deref())?,
            &existing_journal(&data)?,
            &args,
        ),
        Cmd::Simulate { config, data, args } => hallq::forecast::whatif::run(
            load_config(config.as_deref())?,
            existing_journal(&data).ok().as_deref(),
            &args,
        ),
        Cmd::Restore {
            backup,
            data,
            force,
        } => hallq::daemon::backups::restore_cli(&backup, &data_dir(&data), force)
            .map(|()| ExitCode::SUCCESS),
    }
}

fn parse_time(text: &str, config: &Config) -> anyhow::Result<Millis> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    let (main, seconds) = match text.len() {
        19 => (&text[..16], text[17..].parse::<i64>().ok()),
        _ => (text, Some(0)),
    };
    let local = LocalDateTime::parse(main)
        .ok()
        .zip(seconds)
        .with_context(|| {
            format!("\"{text}\" is not a time; write YYYY-MM-DDTHH:MM[:SS] (hall time) or RFC 3339")
        })?;
    Ok(calendar::instant(config.tz, local.0.0) + local.1 * 1000)
}

/// A plain-text picture of the hall at a moment.
fn describe(hall: &Hall, at_ms: Millis) -> String {
    use std::fmt::Write;
    let config = hall.config();
    let mut out = String::new();
    let local = calendar::local(config.tz, at_ms);
    let _ = writeln!(
        out,
        "{} at {}",
        config.file.hall.name,
        local.format("%Y-%m-%d %H:%M:%S")
    );
    let session = match hall.state().session {
        Some(_) => "open",
        None => "closed",
    };
    let _ = writeln!(
        out,
        "business day: {}  session: {session}  waiting: {}",
        hall.day().map_or("-".into(), |d| d.to_string()),
        hall.waiting()
    );
    let _ = writeln!(out, "\nWindows:");
    for w in hall.windows() {
        let activity = match hall.activity(w.number) {
            Some(WindowActivity::Calling { ticket }) => {
                format!("calling {}", number_of(hall, ticket))
            }
            Some(WindowActivity::Serving { ticket }) => {
                format!("serving {}", number_of(hall, ticket))
            }
            Some(WindowActivity::Paused { reason }) => format!("paused ({reason:?})"),
            Some(WindowActivity::Idle) => "idle".into(),
            Some(WindowActivity::Unstaffed) => "open, nobody signed in".into(),
            Some(WindowActivity::Closed) | None => "closed".into(),
        };
        let name = config.window(w.number).map_or("", |c| c.name.as_str());
        let staff = w.staff.as_deref().unwrap_or("-");
        let parked: Vec<String> = w.parked.iter().map(|t| number_of(hall, *t)).collect();
        let _ = writeln!(
            out,
            "  {:>4} {:<16} staff {:<10} {activity}{}",
            w.number,
            name,
            staff,
            if parked.is_empty() {
                String::new()
            } else {
                format!("  parked: {}", parked.join(" "))
            }
        );
    }
    let _ = writeln!(out, "\nWaiting by service:");
    for s in config.services() {
        let mut waiting: Vec<_> = hall
            .live_tickets()
            .filter(|t| t.status == TicketStatus::Waiting && t.service == s.id)
            .collect();
        if waiting.is_empty() {
            continue;
        }
        waiting.sort_by_key(|t| (std::cmp::Reverse(t.rank), t.key));
        let numbers: Vec<&str> = waiting.iter().take(12).map(|t| t.number.as_str()).collect();
        let more = if waiting.len() > 12 {
            format!(" … (+{})", waiting.len() - 12)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:<12} {:>4}  {}{more}",
            s.name,
            waiting.len(),
            numbers.join(" ")
        );
    }
    out
}

fn number_of(hall: &Hall, id: hallq::queue::TicketId) -> String {
    hall.ticket(id)
        .map_or_else(|| format!("#{id}"), |t| t.number.to_string())
}

/// Applies `--bus NAME=PATH` options.
fn override_buses(config: &mut Config, buses: &[String]) -> anyhow::Result<()> {
    for b in buses {
        let Some((name, path)) = b.split_once('=') else {
            bail!("--bus {b}: expected NAME=PATH, e.g. --bus floor1=/dev/ttyUSB0");
        };
        config
            .set_bus_port(name, path)
            .map_err(|e| anyhow::anyhow!("--bus {b}: {e}"))?;
    }
    Ok(())
}

async fn devices_command(config: Config, action: DevicesCmd) -> anyhow::Result<ExitCode> {
    use hallq::devices::bus::commission::Commission;
    let config = Arc::new(config);
    if config.devices().is_empty() {
        println!("{}: no devices configured", config.source_name);
        return Ok(ExitCode::SUCCESS);
    }
    let sim = hallq::daemon::devices::start_sim(&config)?;
    let mut c = Commission::open(config.clone(), hallq::daemon::devices::opener(sim.clone()));
    let bus_width = config
        .buses()
        .iter()
        .map(|b| b.name.len())
        .max()
        .unwrap_or(0);
    let describe = |i: usize| {
        let d = &config.devices()[i];
        let serves = match (&d.window, &d.zone) {
            (Some(w), _) => format!("window {w}"),
            (None, Some(z)) => format!("zone {z}"),
            _ => String::new(),
        };
        let unit = d.unit.map_or("-".to_string(), |u| u.to_string());
        format!(
            "{:<bus_width$} {:>4}  {:<26} {:<20}",
            d.bus, unit, d.profile, serves
        )
    };
    let print = |outcomes: &[hallq::devices::bus::commission::Outcome]| {
        let mut failed = 0;
        for o in outcomes {
            let verdict = match &o.result {
                Ok(()) => "ok".to_string(),
                Err(e) => {
                    failed += 1;
                    format!("FAILED: {e}")
                }
            };
            println!("{}  {verdict}", describe(o.device));
        }
        failed
    };
    let failed = match action {
        DevicesCmd::List => {
            for bus in config.buses() {
                let n = config
                    .devices()
                    .iter()
                    .filter(|d| d.bus == bus.name)
                    .count();
                println!(
                    "bus {:<bus_width$}  {} @ {} baud, timeout {} ms, {n} devices",
                    bus.name, bus.port, bus.baud, bus.timeout_ms
                );
            }
            println!();
            print(&c.list().await)
        }
        DevicesCmd::Test { target } => {
            let outcomes = c.test(&target).await.map_err(|e| anyhow::anyhow!(e))?;
            let failed = print(&outcomes);
            if let Some(sim) = &sim {
                // Simulated devices: show what the test pattern looks like.
                for o in &outcomes {
                    let d = &config.devices()[o.device];
                    if let Some(v) = sim.find(&d.bus, d.unit) {
                        println!("  simulated {}", v.shows);
                        if let Some(said) = v.spoken.last() {
                            println!("  simulated voice said: {said}");
                        }
                    }
                }
            }
            failed
        }
        DevicesCmd::SetAddress {
            bus,
            unit,
            new_unit,
        } => match c.set_address(&bus, unit, new_unit).await {
            Ok(()) => {
                println!(
                    "unit {unit} on bus {bus} now answers at {new_unit}: update its [[device]] unit"
                );
                0
            }
            Err(e) => {
                println!("set-address failed: {e}");
                1
            }
        },
    };
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The multi-threaded runtime the async commands run on.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
