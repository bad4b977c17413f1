//! `hallq serve`: start the owner, the calendar ticker and the listener;
//! on SIGTERM or Ctrl-C stop taking requests, let the owner commit what is
//! queued, and exit.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::clock::SystemClock;
use super::{JOURNAL_FILE, secret};
use crate::config::Config;

pub struct ServeOptions {
    pub config: Config,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
}

/// How often the owner re-checks the calendar (day roll-over, sessions).
const CALENDAR_TICK: Duration = Duration::from_secs(1);

pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    std::fs::create_dir_all(&opts.data_dir)
        .with_context(|| format!("creating data directory {}", opts.data_dir.display()))?;
    let _person_key = secret::load_or_create(&opts.data_dir)?;
    let config = Arc::new(opts.config);
    let journal_path = opts.data_dir.join(JOURNAL_FILE);
    let owner = super::start(config.clone(), &journal_path, SystemClock)?;
    let handle = owner.handle.clone();
    let (seq, day) = handle.query(|h, seq| (seq, h.day())).await?;
    tracing::info!(hall = %config.file.hall.name, config = %config.source_name, journal = %journal_path.display(), seq, ?day, "hall replayed");

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

    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("binding {}", opts.listen))?;
    tracing::info!(listen = %opts.listen, "listening");
    axum::serve(listener, crate::api::router(handle.clone()))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;

    tracing::info!("stopping: committing what is queued");
    ticker.abort();
    handle.shutdown().await;
    drop(handle);
    let joined = tokio::task::spawn_blocking(move || owner.thread.join()).await?;
    match joined {
        Ok(result) => result,
        Err(_) => anyhow::bail!("the owner thread panicked"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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
