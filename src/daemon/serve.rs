//! `hallq serve`: start the owner, the calendar ticker and the listener;
//! on SIGTERM or Ctrl-C stop taking requests, let the owner commit what is
//! queued, and exit.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::clock::{Clock, SystemClock};
use super::{ACCOUNTS_FILE, JOURNAL_FILE, secret};
use crate::config::Config;

pub struct ServeOptions {
    pub config: Config,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Print what the simulated devices show and say (the demo's default).
    pub print_sim: bool,
    /// The file to re-read on SIGHUP or `POST /api/v1/config/reload`;
    /// `None` for the embedded demo hall (a reload is refused).
    pub reload: Option<super::reload::ReloadSource>,
}

/// How often the owner re-checks the calendar (day roll-over, sessions).
const CALENDAR_TICK: Duration = Duration::from_secs(1);

/// A connection must send its first request's headers within this, and an
/// open connection the next request's headers too (hyper's own default is
/// 30 s, which axum-server turns off): a client that connects and says
/// nothing, stops half-way through its headers or sits idle is
/// disconnected, so such connections cannot pile up. Short, like Apache's
/// and lighttpd's keep-alive limit: an idle kept-alive connection holds
/// about 27 KiB (hyper's read and write buffers and its task; BENCHMARKS.md),
/// a hall's browsers and kiosks act seconds to minutes apart, and a client
/// reopens a connection the server closed when it next needs one (browsers
/// do so unseen; a POST that races the close is re-sent with its
/// Idempotency-Key). A body that stops coming is the API's request timeout
/// (`api::REQUEST_TIMEOUT`). Checked by `tests/security_daemon.rs`.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Applies [`HEADER_READ_TIMEOUT`] to a server, HTTP or HTTPS.
fn cut_off_slow_clients<A: axum_server::Address, Acc>(
    server: axum_server::Server<A, Acc>,
) -> axum_server::Server<A, Acc> {
    let mut server = server.first_request_timeout(HEADER_READ_TIMEOUT);
    server
        .http_builder()
        .http1()
        .header_read_timeout(HEADER_READ_TIMEOUT);
    server
}

pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    super::create_data_dir(&opts.data_dir)
        .with_context(|| format!("creating data directory {}", opts.data_dir.display()))?;
    // One writer per data directory, held until this function returns (`lock.rs`).
    let _data_lock = super::lock::acquire(&opts.data_dir, "serve")?;
    // Read the certificate before anything else, so a bad one stops the start.
    let tls = tls_config(&opts.config).await?;
    // `[evaluation_push]`'s token and CA files, read once: a bad one stops the start.
    let push = super::outbox::PushTarget::prepare(&opts.config)?;
    let person_key = secret::load_or_create(&opts.data_dir)?;
    let config = Arc::new(opts.config);
    let accounts = {
        let (path, config) = (opts.data_dir.join(ACCOUNTS_FILE), config.clone());
        // Opening may hash the demo password once: keep it off the async workers.
        tokio::task::spawn_blocking(move || {
            crate::accounts::Accounts::open(&path, config, SystemClock.now_ms())
        })
        .await?
        .context("opening the accounts store")?
    };
    let accounts = Arc::new(accounts);
    let journal_path = opts.data_dir.join(JOURNAL_FILE);
    let owner = super::start(config.clone(), &journal_path, SystemClock)?;
    let handle = owner.handle.clone();
    let (seq, day) = handle.query(|h, seq| (seq, h.day())).await?;
    tracing::info!(hall = %config.file.hall.name, config = %config.source_name, journal = %journal_path.display(), seq, ?day, "hall replayed");

    // Resident memory follows the live data (`memory.rs`).
    let trimming = super::memory::start_trimming();
    let ticker = {
        let handle = handle.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(CALENDAR_TICK);
            loop {
                every.tick().await;
                handle.tick();
            }
        })
    };

    if config.source_name == crate::config::DEMO_HALL_NAME {
        print_demo_credentials(&config, opts.listen);
    }
    let devices = super::devices::start(config.clone(), handle.clone(), opts.print_sim)
        .await
        .context("starting the device layer")?;
    let mut state = crate::api::AppState::new(
        handle.clone(),
        accounts,
        config.clone(),
        journal_path.clone(),
        person_key,
    );
    if let Some(d) = &devices {
        state = state.with_devices(d.devices.clone());
        if let Some(sim) = &d.sim {
            state = state.with_sim(sim.clone());
        }
    }
    // Alerts that hold at start are raised before the listener opens.
    let monitor = super::alerts::start(
        handle.clone(),
        devices.as_ref().map(|d| d.devices.registry.clone()),
        Arc::new(|| SystemClock.now_ms()),
    )
    .await
    .context("starting the alert monitor")?;
    state = state.with_alerts(monitor);
    // Reload (SIGHUP or the API): one shared path, `reload.rs`.
    let reloader = Arc::new(super::reload::Reloader::new(
        opts.reload.clone(),
        handle.clone(),
        state.config.clone(),
        journal_path.clone(),
    ));
    state = state.with_reload(reloader.clone());
    let hangups = on_sighup(reloader);
    // Wait estimates by look-ahead, off the owner thread (`forecast::runner`).
    state = state.with_forecast(crate::forecast::runner::spawn(
        handle.clone(),
        config.clone(),
        journal_path.clone(),
    ));
    let pusher = push.map(|t| super::outbox::start(t, handle.clone(), journal_path.clone()));
    if let Some(p) = &pusher {
        state = state.with_outbox(p.counters.clone());
    }
    // `[backup]`: scheduled backup sets (`backups.rs`).
    let backups = config.file.backup.as_ref().map(|b| {
        let plan = super::backups::BackupPlan::new(b, &opts.data_dir);
        super::backups::start(plan, opts.data_dir.clone(), config.tz)
    });
    if let Some(b) = &backups {
        state = state.with_backups(b.status.clone());
    }
    let app = crate::api::router(state).into_make_service_with_connect_info::<SocketAddr>();
    // SIGTERM is handled from here on: before anyone can learn that we
    // listen (the line below, READY=1), so a stop right after start still
    // drains and commits instead of killing the process.
    let stop = shutdown_signal();
    let listener = std::net::TcpListener::bind(opts.listen)
        .with_context(|| format!("binding {}", opts.listen))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr().context("reading the bound address")?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(listen = %bound, scheme, "listening");
    // One machine-readable line for scripts and tests (`--listen 127.0.0.1:0`).
    println!("hallq listening on {scheme}://{bound}");
    // systemd (`Type=notify`): READY=1 now (replayed, bound), the watchdog
    // fed by the owner's loop turns, STOPPING=1 below. Nothing without $NOTIFY_SOCKET.
    let systemd =
        super::notify::Systemd::ready(&handle, &format!("listening on {scheme}://{bound}"));
    let server_handle = axum_server::Handle::new();
    tokio::spawn({
        let h = server_handle.clone();
        async move {
            stop.await;
            if let Some(s) = &systemd {
                s.stopping();
            }
            h.graceful_shutdown(Some(Duration::from_secs(5)));
        }
    });
    match tls {
        Some(tls) => {
            cut_off_slow_clients(axum_server::from_tcp_rustls(listener, tls)?)
                .handle(server_handle)
                .serve(app)
                .await
        }
        None => {
            cut_off_slow_clients(axum_server::from_tcp(listener)?)
                .handle(server_handle)
                .serve(app)
                .await
        }
    }
    .context("serving HTTP")?;

    tracing::info!("stopping: committing what is queued");
    ticker.abort();
    trimming.abort();
    hangups.abort();
    if let Some(p) = &pusher {
        p.task.abort();
    }
    if let Some(b) = &backups {
        b.task.abort();
    }
    handle.shutdown().await;
    drop(handle);
    let joined = tokio::task::spawn_blocking(move || owner.thread.join()).await?;
    match joined {
        Ok(result) => result,
        Err(_) => anyhow::bail!("the owner thread panicked"),
    }
}

/// The HTTPS configuration, when the config names a certificate and key.
/// Relative paths are taken from the configuration file's directory.
async fn tls_config(
    config: &Config,
) -> anyhow::Result<Option<axum_server::tls_rustls::RustlsConfig>> {
    let server = &config.file.server;
    let (Some(cert), Some(key)) = (&server.tls_cert, &server.tls_key) else {
        return Ok(None);
    };
    let base = std::path::Path::new(&config.source_name)
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let (cert, key) = (base.join(cert), base.join(key));
    // One process-wide crypto provider (ring); a second install is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
        .await
        .with_context(|| {
            format!(
                "loading TLS certificate {} and key {}",
                cert.display(),
                key.display()
            )
        })?;
    Ok(Some(tls))
}

/// Resolves on Ctrl-C or SIGTERM. SIGTERM is registered when this is
/// called, not when first polled, so a SIGTERM right after READY=1 (a
/// `systemctl stop` during start-up) is a graceful stop, not the default
/// action's instant death.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match term {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = term => {},
        }
    }
}

/// Reloads the configuration on each SIGHUP (`systemctl reload hallq`).
fn on_sighup(reloader: Arc<super::reload::Reloader>) -> tokio::task::JoinHandle<()> {
    #[cfg(unix)]
    let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
    tokio::spawn(async move {
        #[cfg(unix)]
        match hup {
            Ok(mut hup) => {
                while hup.recv().await.is_some() {
                    reloader.reload("sighup", "system", "sighup").await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "SIGHUP cannot be handled; reload only through the API")
            }
        }
        #[cfg(not(unix))]
        let _ = reloader;
    })
}

/// The demo hall's documented credentials, so a new user can try every role.
fn print_demo_credentials(config: &Config, listen: SocketAddr) {
    let windows = config.windows().len();
    eprintln!(
        "\nDemo hall {} — demo credentials (demo hall only; a real configuration has none):\n  \
         kiosk key:   demo-kiosk      display key: demo-display\n  \
         manager / demo    supervisor / demo    admin / demo\n  \
         staff w01 … w{windows:02} / demo  (w05 staffs window 5)\n  \
         try: curl -s -X POST http://{listen}/api/v1/tickets -H 'Authorization: Bearer demo-kiosk' \\\n         \
         -H 'Content-Type: application/json' -d '{{\"service\":\"{}\"}}'\n",
        config.file.hall.name,
        config.services().first().map_or("", |s| s.id.as_str()),
    );
}
