//! The configuration a running daemon goes by now: one shared cell that a
//! reload (`daemon/reload.rs`) swaps, so every reader — the HTTP handlers,
//! the alert monitor, the forecaster — sees the applied configuration and
//! none keeps an old copy of its own.
//!
//! Readers take a cheap `Arc<Config>` ([`LiveConfig::get`]) and use it for
//! the rest of their request: a request sees one configuration throughout.
//! Only the owner thread sets it, right after the `config_applied` row is
//! committed and before the event is published.

use std::sync::{Arc, RwLock};

use super::Config;

/// The current configuration, shared (clone the handle, not the config).
#[derive(Clone, Debug)]
pub struct LiveConfig(Arc<RwLock<Arc<Config>>>);

impl LiveConfig {
    pub fn new(config: Arc<Config>) -> LiveConfig {
        LiveConfig(Arc::new(RwLock::new(config)))
    }

    /// The configuration as of now.
    pub fn get(&self) -> Arc<Config> {
        // A writer cannot panic half-way through replacing an `Arc`, so a
        // poisoned lock still holds a whole configuration.
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }

    /// Replaces it (the owner thread, after committing `config_applied`).
    pub fn set(&self, config: Arc<Config>) {
        match self.0.write() {
            Ok(mut g) => *g = config,
            Err(e) => *e.into_inner() = config,
        }
    }
}

impl From<Arc<Config>> for LiveConfig {
    fn from(config: Arc<Config>) -> LiveConfig {
        LiveConfig::new(config)
    }
}
