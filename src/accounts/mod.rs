//! Accounts and security: who may do what, proven how.
//!
//! The policy of signing in, no HTTP and no SQL: [`Accounts`] checks
//! passwords (argon2id), counts failures and locks accounts, issues and
//! revokes sessions, and recognises the machine keys of kiosks and screens.
//! Rows live in [`AccountStore`] (`journal/accounts.rs`, the only code that
//! knows the SQL); roles come from the configuration, never from the store.
//!
//! # Rules
//!
//! - **One account per person**, listed in the configuration (`[[staff]]`).
//!   An account that leaves the configuration keeps its row but can no
//!   longer sign in, and its sessions stop working.
//! - **No default credentials** outside the demo hall: an account has no
//!   password until an administrator sets one ([`Accounts::set_password`]),
//!   and then must change it at first sign-in. In the demo hall every
//!   account's password is [`DEMO_PASSWORD`], with no forced change; those
//!   demo passwords are wiped when the same data directory is later opened
//!   with a real configuration.
//! - **Passwords** are stored as argon2id PHC strings ([`HashCost::OWASP`]:
//!   m = 19 MiB, t = 2, p = 1). At most [`MAX_PASSWORD_CHARS`] characters,
//!   refused before hashing. At most a few hashes run at once (one per CPU,
//!   at most 4); a caller that waits more than 10 s gets `Busy`.
//! - **Lockout**: [`MAX_FAILED_ATTEMPTS`] wrong passwords in a row (sign-in
//!   or the current password of a change) lock the account for
//!   [`LOCK_MINUTES`] minutes. While locked even the right password is
//!   refused, without hashing and without extending the lock. A success
//!   resets the count; so does an administrator's reset.
//! - **No probing**: an unknown account costs the same argon2 verification
//!   (against a dummy hash) and the same durable write as a known one, gets
//!   the same `BadCredentials`, and after [`MAX_FAILED_ATTEMPTS`] attempts the
//!   same `Locked`, so neither the answer nor its timing tells whether an
//!   account exists. (`NoPassword` does tell: the brief wants a person without
//!   a password told to ask the administrator.)
//! - **Sessions** are 256-bit random tokens (base64url, 43 characters), shown
//!   once; only their SHA-256 is stored and kept in memory. They expire after
//!   `server.session_hours`, can be revoked, survive restarts, and are capped
//!   at [`MAX_SESSIONS_PER_ACCOUNT`] per account (the oldest is revoked).
//!   [`Accounts::authenticate`] is a hash and a map lookup, no I/O; once a
//!   second at most it also notices changes made by another process (a CLI
//!   password reset) through SQLite's `data_version` and reloads.
//! - **Machine keys** (`[[api_key]]`) are compared by SHA-256 in constant time.
//!
//! Nothing here logs or returns a password, a token hash or a password hash;
//! the types that hold them print `<redacted>` in `Debug`.
//!
//! # Blocking
//!
//! [`Accounts::sign_in`], [`Accounts::change_password`] and
//! [`Accounts::set_password`] run argon2 (tens of milliseconds) and write the
//! store durably; [`Accounts::sign_out`], [`Accounts::end_session`] and
//! [`Accounts::revoke_all`] write the store durably. Call them from `spawn_blocking`. [`Accounts::authenticate`]
//! and [`Accounts::authenticate_key`] are fast and may run on the async
//! executor.

mod error;
mod hashing;
pub mod policy;
mod token;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockWriteGuard, TryLockError};

use anyhow::Context as _;

use crate::config::{ApiKeyRole, Config, DEMO_HALL_NAME, Role};
use crate::journal::accounts::{AccountRow, AccountStore, AccountStoreError, SessionRow};

pub use error::{PasswordError, SignInError, Weakness};
pub use hashing::HashCost;
pub use policy::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
pub use token::{MAX_API_KEY_BYTES, SessionId, TOKEN_BYTES, TOKEN_CHARS, new_api_key};

use hashing::Hasher;

/// Wrong passwords in a row that lock an account.
pub const MAX_FAILED_ATTEMPTS: u32 = 5;
/// How long a lock lasts, in minutes.
pub const LOCK_MINUTES: i64 = 15;
/// How long a lock lasts, in milliseconds.
pub const LOCK_MS: i64 = LOCK_MINUTES * 60 * 1000;
/// Live sessions per account; a new one beyond this revokes the oldest.
pub const MAX_SESSIONS_PER_ACCOUNT: usize = 20;
/// Longest account name looked up (bytes); longer input is refused at once.
pub const MAX_ACCOUNT_BYTES: usize = crate::journal::accounts::MAX_ACCOUNT_BYTES;
/// The password of every account in the embedded demo hall.
pub const DEMO_PASSWORD: &str = "demo";

/// How often, at most, [`Accounts::authenticate`] checks the store for
/// changes made by another process.
const SYNC_INTERVAL_MS: i64 = 1_000;
/// Names of unknown accounts whose failed attempts are tracked (to answer
/// `Locked` like a known account would); beyond this the stalest is dropped.
const MAX_TRACKED_UNKNOWN: usize = 4_096;

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person signed in with a session token.
    Person {
        account: String,
        /// From the configuration, as of now.
        roles: Vec<Role>,
        /// Until the password is changed, only changing it (and signing out)
        /// should be allowed.
        must_change_password: bool,
        /// The session this request came with (opaque; for sign-out and to
        /// keep this session when the password changes).
        session: SessionId,
    },
    /// A kiosk or display screen with a configured API key.
    Machine { key_id: String, role: ApiKeyRole },
}

impl Principal {
    /// The person's account; `None` for a machine.
    pub fn account(&self) -> Option<&str> {
        match self {
            Principal::Person { account, .. } => Some(account),
            Principal::Machine { .. } => None,
        }
    }

    /// Whether this is a person holding `role`.
    pub fn has_role(&self, role: Role) -> bool {
        match self {
            Principal::Person { roles, .. } => roles.contains(&role),
            Principal::Machine { .. } => false,
        }
    }
}

/// A session just created by [`Accounts::sign_in`]. The token is shown to
/// the client once and never stored; `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSession {
    pub token: String,
    pub account: String,
    pub roles: Vec<Role>,
    pub must_change_password: bool,
    pub expires_ms: i64,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("token", &"<redacted>")
            .field("account", &self.account)
            .field("roles", &self.roles)
            .field("must_change_password", &self.must_change_password)
            .field("expires_ms", &self.expires_ms)
            .finish()
    }
}

/// A live session in the in-memory cache, keyed by token hash.
#[derive(Debug, Clone)]
struct CachedSession {
    account: String,
    created_ms: i64,
    expires_ms: i64,
    must_change_password: bool,
}

/// The store and the `data_version` the cache reflects.
struct StoreState {
    store: AccountStore,
    data_version: i64,
}

/// Failed attempts for a name that is not an account.
#[derive(Debug, Clone, Copy)]
struct UnknownFailures {
    failed_count: u32,
    locked_until_ms: i64,
    last_ms: i64,
}

/// A machine key from the configuration.
struct ApiKey {
    id: String,
    role: ApiKeyRole,
    sha256: [u8; 32],
}

/// Accounts, passwords and sessions of one hall. `Send + Sync`: share it in
/// an `Arc`. See the module documentation for the rules.
pub struct Accounts {
    /// Lock order: `store`, then `sessions`, then `unknown`.
    store: Mutex<StoreState>,
    sessions: RwLock<HashMap<[u8; 32], CachedSession>>,
    unknown: Mutex<HashMap<String, UnknownFailures>>,
    config: Arc<Config>,
    demo: bool,
    hasher: Hasher,
    /// Verified against when the account is unknown, so that costs the
    /// same as a known account.
    dummy_hash: String,
    api_keys: Vec<ApiKey>,
    session_ms: i64,
    next_sync_ms: AtomicI64,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("config", &self.config.source_name)
            .field("demo", &self.demo)
            .field("hasher", &self.hasher)
            .finish_non_exhaustive()
    }
}

fn store_failed(e: impl std::fmt::Display) -> SignInError {
    SignInError::Store(e.to_string())
}

fn password_store_failed(e: impl std::fmt::Display) -> PasswordError {
    PasswordError::Store(e.to_string())
}

impl Accounts {
    /// Opens (or creates) the store at `path` with the production argon2
    /// cost ([`HashCost::OWASP`]). See [`Accounts::open_with_cost`].
    pub fn open(path: &Path, config: Arc<Config>, now_ms: i64) -> anyhow::Result<Accounts> {
        Accounts::open_with_cost(path, config, now_ms, HashCost::OWASP)
    }

    /// Opens (or creates) the store at `path`: adds a row (without a
    /// password) for each configured account that lacks one; in the demo
    /// hall gives every account without a password [`DEMO_PASSWORD`] (no
    /// forced change); with any other configuration removes demo passwords
    /// left from an earlier demo run. Deletes expired sessions, revokes the
    /// sessions of accounts no longer configured, and loads the live ones.
    ///
    /// `cost` sets the argon2id cost of new hashes; use
    /// [`HashCost::INSECURE_FAST_FOR_TESTS`] only in tests. BLOCKING (one
    /// argon2 hash).
    pub fn open_with_cost(
        path: &Path,
        config: Arc<Config>,
        now_ms: i64,
        cost: HashCost,
    ) -> anyhow::Result<Accounts> {
        let demo = config.source_name == DEMO_HALL_NAME;
        let hasher = Hasher::new(cost)?;
        if cost.memory_kib < HashCost::OWASP.memory_kib
            || cost.iterations < HashCost::OWASP.iterations
        {
            tracing::warn!(
                ?cost,
                "argon2 cost below the OWASP recommendation: new password hashes are weak (tests only)"
            );
        }
        let mut store = AccountStore::open(path)?;
        let names: Vec<&str> = config
            .file
            .staff
            .iter()
            .map(|s| s.account.as_str())
            .collect();
        store
            .ensure_accounts(&names, now_ms)
            .context("adding the configured accounts to the account store")?;

        let dummy_hash = if demo {
            // One hash for all: the demo password is public, so a shared
            // salt gives nothing away; each account gets its own salt once
            // its password is changed. It doubles as the dummy hash.
            let demo_hash = hasher.hash(DEMO_PASSWORD)?;
            store.set_demo_password_where_missing(&names, &demo_hash, now_ms)?;
            demo_hash
        } else {
            let cleared = store.clear_demo_passwords()?;
            if !cleared.is_empty() {
                tracing::warn!(
                    accounts = %cleared.join(", "),
                    "removed the demo password of accounts left from a demo run: this is not the demo \
                     hall; an administrator must set their passwords"
                );
            }
            let random: [u8; 32] = token::random_bytes().map_err(|e| {
                anyhow::anyhow!("the operating system's random number generator failed: {e}")
            })?;
            hasher.hash(&hex::encode(random))?
        };

        store.delete_expired_sessions(now_ms)?;
        let unconfigured: Vec<[u8; 32]> = store
            .live_sessions(now_ms)?
            .into_iter()
            .filter(|l| config.staff(&l.session.account).is_none())
            .map(|l| l.session.token_hash)
            .collect();
        store.revoke_sessions(&unconfigured)?;
        let data_version = store.data_version()?;

        let mut api_keys = Vec::with_capacity(config.file.api_keys.len());
        for k in &config.file.api_keys {
            let mut sha256 = [0u8; 32];
            hex::decode_to_slice(&k.sha256, &mut sha256)
                .with_context(|| format!("api_key {:?}: sha256 is not 64 hex characters", k.id))?;
            api_keys.push(ApiKey {
                id: k.id.clone(),
                role: k.role,
                sha256,
            });
        }

        let session_ms = i64::from(config.file.server.session_hours).saturating_mul(3_600_000);
        let accounts = Accounts {
            store: Mutex::new(StoreState {
                store,
                data_version,
            }),
            sessions: RwLock::new(HashMap::new()),
            unknown: Mutex::new(HashMap::new()),
            config,
            demo,
            hasher,
            dummy_hash,
            api_keys,
            session_ms,
            next_sync_ms: AtomicI64::new(now_ms.saturating_add(SYNC_INTERVAL_MS)),
        };
        {
            let st = accounts.lock_store();
            accounts.reload_cache(&st.store, now_ms)?;
        }
        Ok(accounts)
    }

    /// Whether this is the embedded demo hall (every password is
    /// [`DEMO_PASSWORD`] until changed).
    pub fn is_demo(&self) -> bool {
        self.demo
    }

    /// Signs in with a password and returns a new session.
    ///
    /// BLOCKING (argon2, then a durable write). The store lock is never held
    /// while hashing. Refusals: `BadCredentials` (unknown account, account no
    /// longer configured, wrong password, or input too long to be a valid
    /// one), `Locked`, `NoPassword`, `Busy`, `Store`.
    pub fn sign_in(
        &self,
        account: &str,
        password: &str,
        now_ms: i64,
    ) -> Result<NewSession, SignInError> {
        if account.is_empty()
            || account.len() > MAX_ACCOUNT_BYTES
            || password.is_empty()
            || policy::too_long(password)
        {
            // No valid account or password looks like this; nothing about
            // any account is revealed by refusing at once.
            return Err(SignInError::BadCredentials);
        }
        let pass = self.hasher.enter().ok_or(SignInError::Busy)?;
        let row = {
            let mut st = self.lock_store();
            self.sync(&mut st, now_ms).map_err(store_failed)?;
            st.store.account(account).map_err(store_failed)?
        };
        let Some((roles, row)) = self.configured(account).zip(row) else {
            return self.unknown_sign_in(account, password, now_ms, pass);
        };
        if row.locked_until_ms > now_ms {
            return Err(SignInError::Locked {
                until_ms: row.locked_until_ms,
            });
        }
        let Some(hash) = row.password_hash else {
            return Err(SignInError::NoPassword);
        };
        let verified = self.hasher.verify(password, &hash).map_err(store_failed)?;
        drop(pass);

        let mut st = self.lock_store();
        self.sync(&mut st, now_ms).map_err(store_failed)?;
        let Some(row) = st.store.account(account).map_err(store_failed)? else {
            return Err(SignInError::BadCredentials);
        };
        if row.locked_until_ms > now_ms {
            // Locked by attempts that finished while this one was hashing.
            return Err(SignInError::Locked {
                until_ms: row.locked_until_ms,
            });
        }
        if row.password_hash.as_deref() != Some(hash.as_str()) {
            // The password changed while this attempt was hashing: what was
            // checked is no longer the password.
            return Err(SignInError::BadCredentials);
        }
        if !verified {
            return match self.record_failure(&mut st, &row, now_ms)? {
                Some(until_ms) => Err(SignInError::Locked { until_ms }),
                None => Err(SignInError::BadCredentials),
            };
        }
        self.begin_session(&mut st, account, roles, row.must_change_password, now_ms)
    }

    /// The principal of a bearer token, if it names a live session of a
    /// configured account; `None` otherwise (malformed, unknown, revoked,
    /// expired, or the account left the configuration). Fast: SHA-256 and a
    /// map lookup.
    pub fn authenticate(&self, token: &str, now_ms: i64) -> Option<Principal> {
        let hash = token::token_hash(token)?;
        self.maybe_sync(now_ms);
        // A poisoned cache may be half-updated: refuse until it is reloaded.
        let cache = self.sessions.read().ok()?;
        let session = cache.get(&hash)?;
        if session.expires_ms <= now_ms {
            return None;
        }
        let roles = self.configured(&session.account)?;
        Some(Principal::Person {
            account: session.account.clone(),
            roles,
            must_change_password: session.must_change_password,
            session: SessionId(hash),
        })
    }

    /// The principal of a machine key from the configuration (`[[api_key]]`),
    /// compared by SHA-256 in constant time; `None` for any other key.
    pub fn authenticate_key(&self, key: &str) -> Option<Principal> {
        if key.is_empty() || key.len() > MAX_API_KEY_BYTES {
            return None;
        }
        let hash = token::sha256(key.as_bytes());
        let mut found = None;
        // Every key is compared, match or not.
        for k in &self.api_keys {
            if token::ct_eq(&k.sha256, &hash) && found.is_none() {
                found = Some(k);
            }
        }
        found.map(|k| Principal::Machine {
            key_id: k.id.clone(),
            role: k.role,
        })
    }

    /// Changes a person's own password and ends **every** session of the
    /// account, including the caller's: they sign in again with the new
    /// password. The HTTP layer, which knows the caller's session, should
    /// prefer [`Accounts::change_password_keeping`]. BLOCKING.
    pub fn change_password(
        &self,
        account: &str,
        old: &str,
        new: &str,
        now_ms: i64,
    ) -> Result<(), PasswordError> {
        self.change_password_keeping(account, old, new, None, now_ms)
    }

    /// Changes a person's own password: checks the current one (a wrong one
    /// counts toward the lock), applies the policy, stores the new hash,
    /// clears `must_change_password`, and revokes every other session of the
    /// account. `keep` is the session the change was made with (from
    /// [`Principal::Person`]); it stays valid (if it is this account's).
    /// BLOCKING (two argon2 runs and a durable write).
    pub fn change_password_keeping(
        &self,
        account: &str,
        old: &str,
        new: &str,
        keep: Option<&SessionId>,
        now_ms: i64,
    ) -> Result<(), PasswordError> {
        if account.len() > MAX_ACCOUNT_BYTES || self.configured(account).is_none() {
            return Err(PasswordError::UnknownAccount);
        }
        policy::check(account, new)?;
        if old.is_empty() || policy::too_long(old) {
            return Err(PasswordError::WrongPassword);
        }
        if new == old {
            return Err(PasswordError::TooWeak(Weakness::SameAsOld));
        }
        let pass = self.hasher.enter().ok_or(PasswordError::Busy)?;
        let row = {
            let mut st = self.lock_store();
            self.sync(&mut st, now_ms).map_err(password_store_failed)?;
            st.store
                .account(account)
                .map_err(password_store_failed)?
                .ok_or(PasswordError::UnknownAccount)?
        };
        if row.locked_until_ms > now_ms {
            return Err(PasswordError::Locked {
                until_ms: row.locked_until_ms,
            });
        }
        let Some(old_hash) = row.password_hash else {
            return Err(PasswordError::NoPassword);
        };
        let verified = self
            .hasher
            .verify(old, &old_hash)
            .map_err(password_store_failed)?;
        let new_hash = if verified {
            Some(self.hasher.hash(new).map_err(password_store_failed)?)
        } else {
            None
        };
        drop(pass);

        let mut st = self.lock_store();
        self.sync(&mut st, now_ms).map_err(password_store_failed)?;
        let row = st
            .store
            .account(account)
            .map_err(password_store_failed)?
            .ok_or(PasswordError::UnknownAccount)?;
        if row.locked_until_ms > now_ms {
            return Err(PasswordError::Locked {
                until_ms: row.locked_until_ms,
            });
        }
        if row.password_hash.as_deref() != Some(old_hash.as_str()) {
            return Err(PasswordError::WrongPassword);
        }
        let Some(new_hash) = new_hash else {
            return match self.record_failure(&mut st, &row, now_ms) {
                Ok(Some(until_ms)) => Err(PasswordError::Locked { until_ms }),
                Ok(None) => Err(PasswordError::WrongPassword),
                Err(e) => Err(PasswordError::Store(e.to_string())),
            };
        };
        // Keep the caller's session only if it really is this account's.
        let keep = keep
            .filter(|k| {
                self.sessions
                    .read()
                    .map(|c| c.get(&k.0).is_some_and(|s| s.account == account))
                    .unwrap_or(false)
            })
            .map(|k| k.0);
        let revoked = st
            .store
            .set_password(account, &new_hash, false, now_ms, keep.as_ref())
            .map_err(password_store_failed)?
            .ok_or(PasswordError::UnknownAccount)?;
        let mut cache = self.cache_write();
        for h in &revoked {
            cache.remove(h);
        }
        cache.retain(|h, s| s.account != account || Some(*h) == keep);
        if let Some(s) = keep.and_then(|k| cache.get_mut(&k)) {
            s.must_change_password = false;
        }
        Ok(())
    }

    /// An administrator's (or the CLI's) reset: sets the password, with
    /// `must_change_password` so the person chooses their own at the next
    /// sign-in, clears failures and any lock, and revokes every session of
    /// the account. The policy applies. BLOCKING (argon2 and a durable
    /// write).
    pub fn set_password(&self, account: &str, new: &str, now_ms: i64) -> Result<(), PasswordError> {
        if account.len() > MAX_ACCOUNT_BYTES || self.configured(account).is_none() {
            return Err(PasswordError::UnknownAccount);
        }
        policy::check(account, new)?;
        let new_hash = {
            let _pass = self.hasher.enter().ok_or(PasswordError::Busy)?;
            self.hasher.hash(new).map_err(password_store_failed)?
        };
        let mut st = self.lock_store();
        self.sync(&mut st, now_ms).map_err(password_store_failed)?;
        // A configured account always has a row (`open` adds it); add it
        // anyway if the file was edited meanwhile.
        st.store
            .ensure_accounts(&[account], now_ms)
            .map_err(password_store_failed)?;
        let revoked = st
            .store
            .set_password(account, &new_hash, true, now_ms, None)
            .map_err(password_store_failed)?
            .ok_or(PasswordError::UnknownAccount)?;
        let mut cache = self.cache_write();
        for h in &revoked {
            cache.remove(h);
        }
        cache.retain(|_, s| s.account != account);
        Ok(())
    }

    /// Revokes the session of `token`; `true` if it was live. BLOCKING (a
    /// durable write). If the store cannot be written the session still stops
    /// working in this process (the failure is logged) but would come back
    /// after a restart.
    pub fn sign_out(&self, token: &str) -> bool {
        match token::token_hash(token) {
            Some(hash) => self.end_session(&SessionId(hash)),
            None => false,
        }
    }

    /// Revokes one session, named by the principal that holds it; `true` if
    /// it was live. BLOCKING (a durable write); store failures as
    /// [`Accounts::sign_out`].
    pub fn end_session(&self, session: &SessionId) -> bool {
        let mut st = self.lock_store();
        let was_cached = self.cache_write().remove(&session.0).is_some();
        match st.store.revoke_sessions(std::slice::from_ref(&session.0)) {
            Ok(revoked) => was_cached || revoked > 0,
            Err(e) => {
                tracing::error!(error = %e, "account store: revoking a session failed");
                was_cached
            }
        }
    }

    /// Revokes every session of `account`; returns how many were live.
    /// BLOCKING (a durable write); store failures as [`Accounts::sign_out`].
    pub fn revoke_all(&self, account: &str) -> usize {
        let mut st = self.lock_store();
        let cached = {
            let mut cache = self.cache_write();
            let before = cache.len();
            cache.retain(|_, s| s.account != account);
            before - cache.len()
        };
        match st.store.revoke_account_sessions(account, None) {
            Ok(revoked) => revoked.len().max(cached),
            Err(e) => {
                tracing::error!(error = %e, account, "account store: revoking sessions failed");
                cached
            }
        }
    }

    /// The roles of a configured account; `None` if the configuration does
    /// not list it.
    fn configured(&self, account: &str) -> Option<Vec<Role>> {
        self.config.staff(account).map(|s| s.roles.clone())
    }

    /// A sign-in for a name that is not a configured account: the same
    /// argon2 cost, the same durable write and the same answers (including
    /// `Locked` after [`MAX_FAILED_ATTEMPTS`]) as a known account.
    fn unknown_sign_in(
        &self,
        account: &str,
        password: &str,
        now_ms: i64,
        pass: hashing::GatePass<'_>,
    ) -> Result<NewSession, SignInError> {
        if let Some(until_ms) = self.unknown_locked_until(account, now_ms) {
            return Err(SignInError::Locked { until_ms });
        }
        // The result is meaningless; only its cost matters.
        let _ = std::hint::black_box(self.hasher.verify(password, &self.dummy_hash));
        drop(pass);
        {
            let mut st = self.lock_store();
            let _ = self.sync(&mut st, now_ms);
            // A durable write, as recording a known account's failure costs.
            st.store.count_unknown_sign_in().map_err(store_failed)?;
        }
        let mut unknown = self.unknown.lock().unwrap_or_else(|e| e.into_inner());
        if !unknown.contains_key(account) && unknown.len() >= MAX_TRACKED_UNKNOWN {
            unknown.retain(|_, f| {
                f.locked_until_ms > now_ms || now_ms.saturating_sub(f.last_ms) < LOCK_MS
            });
            if unknown.len() >= MAX_TRACKED_UNKNOWN {
                let stalest = unknown
                    .iter()
                    .min_by_key(|(_, f)| f.last_ms)
                    .map(|(name, _)| name.clone());
                if let Some(name) = stalest {
                    unknown.remove(&name);
                }
            }
        }
        let entry = unknown
            .entry(account.to_owned())
            .or_insert(UnknownFailures {
                failed_count: 0,
                locked_until_ms: 0,
                last_ms: now_ms,
            });
        entry.last_ms = now_ms;
        if entry.locked_until_ms > now_ms {
            // Locked by attempts that finished while this one was hashing,
            // as `sign_in` answers for a known account.
            return Err(SignInError::Locked {
                until_ms: entry.locked_until_ms,
            });
        }
        entry.failed_count = entry.failed_count.saturating_add(1);
        if entry.failed_count >= MAX_FAILED_ATTEMPTS {
            entry.failed_count = 0;
            entry.locked_until_ms = now_ms.saturating_add(LOCK_MS);
            return Err(SignInError::Locked {
                until_ms: entry.locked_until_ms,
            });
        }
        Err(SignInError::BadCredentials)
    }

    fn unknown_locked_until(&self, account: &str, now_ms: i64) -> Option<i64> {
        let unknown = self.unknown.lock().unwrap_or_else(|e| e.into_inner());
        unknown
            .get(account)
            .map(|f| f.locked_until_ms)
            .filter(|&until| until > now_ms)
    }

    /// Counts a wrong password; locks the account at the limit. Returns the
    /// lock's end if this failure locked it.
    fn record_failure(
        &self,
        st: &mut StoreState,
        row: &AccountRow,
        now_ms: i64,
    ) -> Result<Option<i64>, SignInError> {
        let failed = row.failed_count.saturating_add(1);
        if failed >= MAX_FAILED_ATTEMPTS {
            let until_ms = now_ms.saturating_add(LOCK_MS);
            st.store
                .set_failures(&row.account, 0, until_ms)
                .map_err(store_failed)?;
            Ok(Some(until_ms))
        } else {
            st.store
                .set_failures(&row.account, failed, row.locked_until_ms)
                .map_err(store_failed)?;
            Ok(None)
        }
    }

    /// Creates a session for a successful sign-in (store lock held).
    fn begin_session(
        &self,
        st: &mut StoreState,
        account: &str,
        roles: Vec<Role>,
        must_change_password: bool,
        now_ms: i64,
    ) -> Result<NewSession, SignInError> {
        let (token, token_hash) = token::new_token().map_err(|e| {
            SignInError::Store(format!(
                "the operating system's random number generator failed: {e}"
            ))
        })?;
        let expires_ms = now_ms.saturating_add(self.session_ms);
        // Opportunistic pruning: expired sessions go from file and memory.
        st.store
            .delete_expired_sessions(now_ms)
            .map_err(store_failed)?;
        let revoke: Vec<[u8; 32]> = {
            let cache = self.sessions.read().unwrap_or_else(|e| e.into_inner());
            let mut mine: Vec<(i64, [u8; 32])> = cache
                .iter()
                .filter(|(_, s)| s.account == account && s.expires_ms > now_ms)
                .map(|(h, s)| (s.created_ms, *h))
                .collect();
            mine.sort_unstable();
            let excess = (mine.len() + 1).saturating_sub(MAX_SESSIONS_PER_ACCOUNT);
            mine.iter().take(excess).map(|(_, h)| *h).collect()
        };
        let row = SessionRow {
            token_hash,
            account: account.to_owned(),
            created_ms: now_ms,
            expires_ms,
            revoked: false,
        };
        st.store
            .begin_session(&row, &revoke)
            .map_err(store_failed)?;
        let mut cache = self.cache_write();
        cache.retain(|_, s| s.expires_ms > now_ms);
        for h in &revoke {
            cache.remove(h);
        }
        cache.insert(
            token_hash,
            CachedSession {
                account: account.to_owned(),
                created_ms: now_ms,
                expires_ms,
                must_change_password,
            },
        );
        Ok(NewSession {
            token,
            account: account.to_owned(),
            roles,
            must_change_password,
            expires_ms,
        })
    }

    fn lock_store(&self) -> MutexGuard<'_, StoreState> {
        // SQLite transactions are atomic: whatever panicked while holding
        // the lock, the file and the connection are consistent.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cache for writing. A poisoned cache is still written to (every
    /// writer holds the store lock and calls `sync` first, which reloads a
    /// poisoned cache from the store).
    fn cache_write(&self) -> RwLockWriteGuard<'_, HashMap<[u8; 32], CachedSession>> {
        self.sessions.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Reloads the cache if another process changed the store, or if the
    /// cache is poisoned.
    fn sync(&self, st: &mut StoreState, now_ms: i64) -> Result<(), AccountStoreError> {
        let version = st.store.data_version()?;
        if version != st.data_version || self.sessions.is_poisoned() {
            self.reload_cache(&st.store, now_ms)?;
            st.data_version = version;
        }
        Ok(())
    }

    /// At most once per [`SYNC_INTERVAL_MS`], and never waiting for the store
    /// lock: notices changes made by another process.
    fn maybe_sync(&self, now_ms: i64) {
        if now_ms < self.next_sync_ms.load(Ordering::Relaxed) {
            return;
        }
        let mut st = match self.store.try_lock() {
            Ok(st) => st,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        self.next_sync_ms
            .store(now_ms.saturating_add(SYNC_INTERVAL_MS), Ordering::Relaxed);
        if let Err(e) = self.sync(&mut st, now_ms) {
            tracing::warn!(error = %e, "account store: checking for outside changes failed");
        }
    }

    /// Replaces the cache with the live sessions of configured accounts.
    fn reload_cache(&self, store: &AccountStore, now_ms: i64) -> Result<(), AccountStoreError> {
        let live = store.live_sessions(now_ms)?;
        let fresh: HashMap<[u8; 32], CachedSession> = live
            .into_iter()
            .filter(|l| self.config.staff(&l.session.account).is_some())
            .map(|l| {
                (
                    l.session.token_hash,
                    CachedSession {
                        account: l.session.account,
                        created_ms: l.session.created_ms,
                        expires_ms: l.session.expires_ms,
                        must_change_password: l.must_change_password,
                    },
                )
            })
            .collect();
        *self.cache_write() = fresh;
        self.sessions.clear_poison();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn accounts_is_send_and_sync() {
        assert_send_sync::<Accounts>();
        assert_send_sync::<Principal>();
    }

    #[test]
    fn every_error_has_a_code_and_both_messages() {
        let sign_in = [
            SignInError::BadCredentials,
            SignInError::Locked { until_ms: 1 },
            SignInError::NoPassword,
            SignInError::Busy,
            SignInError::Store("disk full".to_owned()),
        ];
        for e in &sign_in {
            assert!(!e.code().is_empty() && !e.zh().is_empty() && !e.en().is_empty());
            assert!(!e.zh().contains("disk full") && !e.en().contains("disk full"));
        }
        let weak = [
            Weakness::TooShort,
            Weakness::SameAsAccount,
            Weakness::TooCommon,
            Weakness::TooSimple,
            Weakness::ControlCharacter,
            Weakness::SameAsOld,
        ];
        let mut password: Vec<PasswordError> =
            weak.iter().map(|&w| PasswordError::TooWeak(w)).collect();
        password.extend([
            PasswordError::UnknownAccount,
            PasswordError::WrongPassword,
            PasswordError::Locked { until_ms: 1 },
            PasswordError::NoPassword,
            PasswordError::TooLong,
            PasswordError::Busy,
            PasswordError::Store("x".to_owned()),
        ]);
        for e in &password {
            assert!(!e.code().is_empty() && !e.zh().is_empty() && !e.en().is_empty());
        }
        let codes: std::collections::HashSet<&str> = weak.iter().map(|w| w.code()).collect();
        assert_eq!(codes.len(), weak.len());
        assert_eq!(SignInError::BadCredentials.code(), "bad_credentials");
        assert_eq!(SignInError::Locked { until_ms: 0 }.code(), "account_locked");
        assert_eq!(PasswordError::WrongPassword.code(), "wrong_password");
        assert_eq!(
            PasswordError::TooWeak(Weakness::TooShort).code(),
            "password_too_weak"
        );
    }

    #[test]
    fn new_session_debug_hides_the_token() {
        let s = NewSession {
            token: "secret-token".to_owned(),
            account: "w01".to_owned(),
            roles: vec![Role::Staff],
            must_change_password: false,
            expires_ms: 1,
        };
        assert!(!format!("{s:?}").contains("secret-token"));
    }
}
