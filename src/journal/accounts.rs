//! [`AccountStore`]: the SQLite file behind sign-in (`accounts.sqlite` in the
//! data directory).
//!
//! Plain storage, no policy: which password is strong enough, when an
//! account locks and which sessions to revoke is decided by
//! [`crate::accounts`]; this module only reads and writes rows, every query
//! parameterised. It lives under `journal/` because the journal module is the
//! only code in hallq that knows SQL; it is a separate file from the event
//! journal because it holds mutable secrets (password hashes) that have no
//! place in an append-only, hash-chained record.
//!
//! # What is stored
//!
//! Never a password and never a session token: only an argon2id PHC string
//! per account and the SHA-256 of each session token. The file is created
//! with mode 0600 (a wider mode on an existing file is narrowed on open).
//!
//! # Schema (version 1)
//!
//! `meta(key, value)` holds `schema_version`; `PRAGMA application_id` is
//! [`ACCOUNTS_APPLICATION_ID`] ("HQA1").
//!
//! - `accounts(account, password_hash, demo_password, must_change_password,
//!   failed_count, locked_until_ms, password_changed_ms, created_ms)`:
//!   `password_hash` is NULL until a password is set; `demo_password` marks
//!   the public demo password so it can be wiped when the same data directory
//!   is later used with a real configuration.
//! - `sessions(token_hash, account, created_ms, expires_ms, revoked)`:
//!   `token_hash` (32-byte BLOB) is the primary key.
//!
//! Like the journal: WAL, `synchronous=FULL`, a foreign or newer file is
//! refused rather than written to.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior};

/// The schema this build writes and reads.
pub const ACCOUNTS_SCHEMA_VERSION: i64 = 1;

/// `PRAGMA application_id` of a hallq account store: ASCII "HQA1".
pub const ACCOUNTS_APPLICATION_ID: i32 = 0x4851_4131;

/// The store's file name in the data directory.
pub const ACCOUNTS_FILE: &str = "accounts.sqlite";

/// Longest account name the store accepts (bytes).
pub const MAX_ACCOUNT_BYTES: usize = 64;

/// Longest PHC string the store accepts (bytes). An argon2id PHC string with
/// a 16-byte salt and a 32-byte output is about 100 bytes.
pub const MAX_PASSWORD_HASH_BYTES: usize = 512;

/// How long a connection waits for a lock held by another connection (the
/// CLI resetting a password while the daemon runs).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA_V1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value ANY NOT NULL
) STRICT;

CREATE TABLE accounts (
    account              TEXT PRIMARY KEY NOT NULL
                         CHECK (length(CAST(account AS BLOB)) BETWEEN 1 AND 64),
    password_hash        TEXT
                         CHECK (password_hash IS NULL OR length(CAST(password_hash AS BLOB)) BETWEEN 1 AND 512),
    demo_password        INTEGER NOT NULL DEFAULT 0 CHECK (demo_password IN (0, 1)),
    must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    failed_count         INTEGER NOT NULL DEFAULT 0 CHECK (failed_count >= 0),
    locked_until_ms      INTEGER NOT NULL DEFAULT 0,
    password_changed_ms  INTEGER,
    created_ms           INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    account    TEXT NOT NULL REFERENCES accounts (account),
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_by_account ON sessions (account, created_ms);
CREATE INDEX sessions_by_expiry ON sessions (expires_ms);
";

/// Everything that can go wrong in the account store. Messages never
/// contain a password, a password hash or a token hash.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountStoreError {
    #[error("cannot open account store {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("account store: sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} is not a hallq account store: {reason}")]
    NotAnAccountStore { path: PathBuf, reason: String },

    #[error(
        "account store schema_version {found} is not supported by this build (supports {supported})"
    )]
    UnsupportedSchema { found: i64, supported: i64 },

    #[error("account store: PRAGMA {pragma} was refused: SQLite reports {got:?}")]
    PragmaRefused { pragma: &'static str, got: String },

    /// A value outside what the schema allows (checked before any write).
    #[error("account store: {0}")]
    Invalid(&'static str),
}

/// One account as stored. `Debug` does not print the password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub account: String,
    /// argon2id PHC string; `None` until a password is set.
    pub password_hash: Option<String>,
    /// The password is the public demo password (demo hall only).
    pub demo_password: bool,
    pub must_change_password: bool,
    /// Failed sign-ins in a row since the last success or lock.
    pub failed_count: u32,
    /// Sign-in is refused while `now_ms < locked_until_ms`; 0 when never locked.
    pub locked_until_ms: i64,
    pub password_changed_ms: Option<i64>,
    pub created_ms: i64,
}

impl std::fmt::Debug for AccountRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRow")
            .field("account", &self.account)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("demo_password", &self.demo_password)
            .field("must_change_password", &self.must_change_password)
            .field("failed_count", &self.failed_count)
            .field("locked_until_ms", &self.locked_until_ms)
            .field("password_changed_ms", &self.password_changed_ms)
            .field("created_ms", &self.created_ms)
            .finish()
    }
}

/// One session as stored. `Debug` does not print the token hash.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 of the bearer token.
    pub token_hash: [u8; 32],
    pub account: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub revoked: bool,
}

impl std::fmt::Debug for SessionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRow")
            .field("token_hash", &"<redacted>")
            .field("account", &self.account)
            .field("created_ms", &self.created_ms)
            .field("expires_ms", &self.expires_ms)
            .field("revoked", &self.revoked)
            .finish()
    }
}

/// A live (not revoked, not expired) session with its account's
/// `must_change_password` flag, as loaded into the in-memory cache.
#[derive(Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub session: SessionRow,
    pub must_change_password: bool,
}

impl std::fmt::Debug for LiveSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSession")
            .field("session", &self.session)
            .field("must_change_password", &self.must_change_password)
            .finish()
    }
}

/// The writer's handle on `accounts.sqlite`. `Send`, not `Sync`: keep it
/// behind a mutex.
#[derive(Debug)]
pub struct AccountStore {
    conn: Connection,
    path: PathBuf,
}

const ACCOUNT_COLUMNS: &str = "account, password_hash, demo_password, must_change_password, \
                               failed_count, locked_until_ms, password_changed_ms, created_ms";

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<AccountRow> {
    let failed: i64 = row.get(4)?;
    Ok(AccountRow {
        account: row.get(0)?,
        password_hash: row.get(1)?,
        demo_password: row.get(2)?,
        must_change_password: row.get(3)?,
        failed_count: u32::try_from(failed).unwrap_or(u32::MAX),
        locked_until_ms: row.get(5)?,
        password_changed_ms: row.get(6)?,
        created_ms: row.get(7)?,
    })
}

fn check_account(account: &str) -> Result<(), AccountStoreError> {
    if account.is_empty() || account.len() > MAX_ACCOUNT_BYTES {
        return Err(AccountStoreError::Invalid(
            "account name must be 1–64 bytes",
        ));
    }
    Ok(())
}

fn check_hash(password_hash: &str) -> Result<(), AccountStoreError> {
    if password_hash.is_empty() || password_hash.len() > MAX_PASSWORD_HASH_BYTES {
        return Err(AccountStoreError::Invalid(
            "password hash must be 1–512 bytes",
        ));
    }
    Ok(())
}

impl AccountStore {
    /// Opens or creates the store at `path` (its directory must exist): file
    /// mode 0600, WAL, `synchronous=FULL`, foreign keys on, schema created or
    /// checked.
    pub fn open(path: &Path) -> Result<AccountStore, AccountStoreError> {
        restrict_file(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn =
            Connection::open_with_flags(path, flags).map_err(|source| AccountStoreError::Open {
                path: path.to_owned(),
                source,
            })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        check_identity(&conn, path)?;

        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(AccountStoreError::PragmaRefused {
                pragma: "journal_mode = WAL",
                got: mode,
            });
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        let synchronous: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0))?;
        if synchronous != 2 {
            return Err(AccountStoreError::PragmaRefused {
                pragma: "synchronous = FULL",
                got: synchronous.to_string(),
            });
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted password hashes and session rows are overwritten, not left
        // in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;

        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if check_identity(&tx, path)? == Identity::Empty {
            tx.execute_batch(SCHEMA_V1)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                [ACCOUNTS_SCHEMA_VERSION],
            )?;
            tx.pragma_update(None, "application_id", ACCOUNTS_APPLICATION_ID)?;
        }
        tx.commit()?;
        Ok(AccountStore {
            conn,
            path: path.to_owned(),
        })
    }

    /// The file this store was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `PRAGMA data_version`: changes whenever *another* connection (the
    /// CLI, another process) commits to the file; this handle's own commits
    /// do not change it. Cheap (no disk read).
    pub fn data_version(&self) -> Result<i64, AccountStoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "data_version", |r| r.get(0))?)
    }

    /// One account, if it has a row.
    pub fn account(&self, account: &str) -> Result<Option<AccountRow>, AccountStoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([account], account_from_row)
            .optional()?)
    }

    /// Every account row, ordered by name.
    pub fn accounts(&self) -> Result<Vec<AccountRow>, AccountStoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY account");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], account_from_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Adds a row (no password) for each account that has none, in one
    /// transaction. Returns how many rows were added.
    pub fn ensure_accounts(
        &mut self,
        accounts: &[&str],
        now_ms: i64,
    ) -> Result<usize, AccountStoreError> {
        for a in accounts {
            check_account(a)?;
        }
        let tx = self.write()?;
        let mut added = 0;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO accounts (account, created_ms) VALUES (?1, ?2) \
                 ON CONFLICT (account) DO NOTHING",
            )?;
            for a in accounts {
                added += stmt.execute(rusqlite::params![a, now_ms])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// Gives `password_hash` (the demo password, shared by all) to each of
    /// `accounts` that has a row but no password, marked `demo_password`,
    /// with no forced change. Returns how many rows changed.
    pub fn set_demo_password_where_missing(
        &mut self,
        accounts: &[&str],
        password_hash: &str,
        now_ms: i64,
    ) -> Result<usize, AccountStoreError> {
        check_hash(password_hash)?;
        let tx = self.write()?;
        let mut changed = 0;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE accounts SET password_hash = ?2, demo_password = 1, \
                 must_change_password = 0, password_changed_ms = ?3 \
                 WHERE account = ?1 AND password_hash IS NULL",
            )?;
            for a in accounts {
                changed += stmt.execute(rusqlite::params![a, password_hash, now_ms])?;
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Removes every demo password (the hall now runs a real configuration)
    /// and revokes the sessions of those accounts, in one transaction.
    /// Returns the accounts whose password was removed.
    pub fn clear_demo_passwords(&mut self) -> Result<Vec<String>, AccountStoreError> {
        let tx = self.write()?;
        let cleared = {
            let mut stmt = tx.prepare_cached(
                "UPDATE accounts SET password_hash = NULL, demo_password = 0, \
                 must_change_password = 0 WHERE demo_password = 1 RETURNING account",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE sessions SET revoked = 1 WHERE account = ?1 AND revoked = 0",
            )?;
            for a in &cleared {
                stmt.execute([a])?;
            }
        }
        tx.commit()?;
        Ok(cleared)
    }

    /// Sets an account's password hash (not a demo password), its
    /// `must_change_password` flag and `password_changed_ms`, clears failed
    /// attempts and any lock, and revokes every live session of the account
    /// except `keep`, all in one transaction. Returns the token hashes of the
    /// sessions revoked, or `None` when the account has no row.
    pub fn set_password(
        &mut self,
        account: &str,
        password_hash: &str,
        must_change_password: bool,
        now_ms: i64,
        keep: Option<&[u8; 32]>,
    ) -> Result<Option<Vec<[u8; 32]>>, AccountStoreError> {
        check_account(account)?;
        check_hash(password_hash)?;
        let tx = self.write()?;
        let updated = tx
            .prepare_cached(
                "UPDATE accounts SET password_hash = ?2, demo_password = 0, \
             must_change_password = ?3, failed_count = 0, locked_until_ms = 0, \
             password_changed_ms = ?4 WHERE account = ?1",
            )?
            .execute(rusqlite::params![
                account,
                password_hash,
                must_change_password,
                now_ms
            ])?;
        if updated == 0 {
            return Ok(None);
        }
        let revoked = revoke_account_sessions(&tx, account, keep)?;
        tx.commit()?;
        Ok(Some(revoked))
    }

    /// Records the failed-attempt counter and lock of an account.
    pub fn set_failures(
        &mut self,
        account: &str,
        failed_count: u32,
        locked_until_ms: i64,
    ) -> Result<(), AccountStoreError> {
        self.conn
            .prepare_cached(
                "UPDATE accounts SET failed_count = ?2, locked_until_ms = ?3 WHERE account = ?1",
            )?
            .execute(rusqlite::params![
                account,
                i64::from(failed_count),
                locked_until_ms
            ])?;
        Ok(())
    }

    /// A successful sign-in, in one transaction: clears the account's failed
    /// attempts and lock, inserts `session` and revokes the sessions in
    /// `revoke` (the oldest, when the account has too many).
    pub fn begin_session(
        &mut self,
        session: &SessionRow,
        revoke: &[[u8; 32]],
    ) -> Result<(), AccountStoreError> {
        check_account(&session.account)?;
        let tx = self.write()?;
        tx.prepare_cached(
            "UPDATE accounts SET failed_count = 0, locked_until_ms = 0 WHERE account = ?1",
        )?
        .execute([&session.account])?;
        tx.prepare_cached(
            "INSERT INTO sessions (token_hash, account, created_ms, expires_ms, revoked) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(rusqlite::params![
            session.token_hash,
            session.account,
            session.created_ms,
            session.expires_ms,
            session.revoked
        ])?;
        revoke_sessions(&tx, revoke)?;
        tx.commit()?;
        Ok(())
    }

    /// Counts a sign-in attempt for a name that is not an account (in
    /// `meta`, key `unknown_sign_ins`). It is one durable write, as costly
    /// as recording a known account's failed attempt, so a sign-in for an
    /// unknown account takes as long as one for a known account.
    pub fn count_unknown_sign_in(&mut self) -> Result<(), AccountStoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('unknown_sign_ins', 1) \
                 ON CONFLICT (key) DO UPDATE SET value = value + 1",
            )?
            .execute([])?;
        Ok(())
    }

    /// How many sign-in attempts named no account (see
    /// [`AccountStore::count_unknown_sign_in`]).
    pub fn unknown_sign_ins(&self) -> Result<i64, AccountStoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'unknown_sign_ins'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// One session by token hash, whatever its state.
    pub fn session(&self, token_hash: &[u8; 32]) -> Result<Option<SessionRow>, AccountStoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT token_hash, account, created_ms, expires_ms, revoked \
                 FROM sessions WHERE token_hash = ?1",
            )?
            .query_row([token_hash], session_from_row)
            .optional()?)
    }

    /// Every session that is neither revoked nor expired at `now_ms`, with
    /// its account's `must_change_password`, oldest first.
    pub fn live_sessions(&self, now_ms: i64) -> Result<Vec<LiveSession>, AccountStoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.token_hash, s.account, s.created_ms, s.expires_ms, s.revoked, \
                    a.must_change_password \
             FROM sessions s JOIN accounts a ON a.account = s.account \
             WHERE s.revoked = 0 AND s.expires_ms > ?1 \
             ORDER BY s.created_ms, s.token_hash",
        )?;
        let rows = stmt.query_map([now_ms], |r| {
            Ok(LiveSession {
                session: session_from_row(r)?,
                must_change_password: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Revokes the given sessions (those already revoked are left alone).
    /// Returns how many were live.
    pub fn revoke_sessions(
        &mut self,
        token_hashes: &[[u8; 32]],
    ) -> Result<usize, AccountStoreError> {
        if token_hashes.is_empty() {
            return Ok(0);
        }
        let tx = self.write()?;
        let n = revoke_sessions(&tx, token_hashes)?;
        tx.commit()?;
        Ok(n)
    }

    /// Revokes every session of `account` except `keep`. Returns the token
    /// hashes revoked.
    pub fn revoke_account_sessions(
        &mut self,
        account: &str,
        keep: Option<&[u8; 32]>,
    ) -> Result<Vec<[u8; 32]>, AccountStoreError> {
        let tx = self.write()?;
        let revoked = revoke_account_sessions(&tx, account, keep)?;
        tx.commit()?;
        Ok(revoked)
    }

    /// Deletes every session that expired at or before `now_ms` (revoked or
    /// not). Returns how many rows were deleted.
    pub fn delete_expired_sessions(&mut self, now_ms: i64) -> Result<usize, AccountStoreError> {
        Ok(self
            .conn
            .prepare_cached("DELETE FROM sessions WHERE expires_ms <= ?1")?
            .execute([now_ms])?)
    }

    fn write(&mut self) -> Result<Transaction<'_>, AccountStoreError> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        token_hash: row.get(0)?,
        account: row.get(1)?,
        created_ms: row.get(2)?,
        expires_ms: row.get(3)?,
        revoked: row.get(4)?,
    })
}

fn revoke_sessions(tx: &Transaction<'_>, token_hashes: &[[u8; 32]]) -> rusqlite::Result<usize> {
    let mut stmt =
        tx.prepare_cached("UPDATE sessions SET revoked = 1 WHERE token_hash = ?1 AND revoked = 0")?;
    let mut n = 0;
    for h in token_hashes {
        n += stmt.execute([h])?;
    }
    Ok(n)
}

fn revoke_account_sessions(
    tx: &Transaction<'_>,
    account: &str,
    keep: Option<&[u8; 32]>,
) -> rusqlite::Result<Vec<[u8; 32]>> {
    // A 32-byte BLOB never equals a zero-length one, so "keep nothing" is an
    // empty BLOB rather than a NULL (which would make the comparison NULL).
    let keep: &[u8] = keep.map_or(&[], |k| &k[..]);
    let mut stmt = tx.prepare_cached(
        "UPDATE sessions SET revoked = 1 \
         WHERE account = ?1 AND revoked = 0 AND token_hash <> ?2 RETURNING token_hash",
    )?;
    let rows = stmt.query_map(rusqlite::params![account, keep], |r| {
        r.get::<_, [u8; 32]>(0)
    })?;
    rows.collect()
}

#[derive(Debug, PartialEq, Eq)]
enum Identity {
    Empty,
    Store,
}

fn check_identity(conn: &Connection, path: &Path) -> Result<Identity, AccountStoreError> {
    let foreign = |reason: String| AccountStoreError::NotAnAccountStore {
        path: path.to_owned(),
        reason,
    };
    let app_id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|e| foreign(format!("unreadable header: {e}")))?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(|e| foreign(format!("unreadable schema: {e}")))?;
    if app_id == 0 && objects == 0 {
        return Ok(Identity::Empty);
    }
    if app_id != ACCOUNTS_APPLICATION_ID {
        return Err(foreign(format!(
            "application_id is {app_id:#x}, expected {ACCOUNTS_APPLICATION_ID:#x}"
        )));
    }
    let version: i64 = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| foreign(format!("no readable schema_version: {e}")))?;
    match version {
        ACCOUNTS_SCHEMA_VERSION => Ok(Identity::Store),
        v if v > ACCOUNTS_SCHEMA_VERSION => Err(AccountStoreError::UnsupportedSchema {
            found: v,
            supported: ACCOUNTS_SCHEMA_VERSION,
        }),
        v => Err(foreign(format!("unknown schema_version {v}"))),
    }
}

/// Creates the file with mode 0600 when missing, and narrows the mode of an
/// existing file to 0600: it holds password hashes. (SQLite gives the `-wal`
/// and `-shm` files the mode of the database file.)
fn restrict_file(path: &Path) -> Result<(), AccountStoreError> {
    let io = |source: std::io::Error| AccountStoreError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
        }
    }
    drop(file);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(account: &str, byte: u8, created_ms: i64) -> SessionRow {
        SessionRow {
            token_hash: [byte; 32],
            account: account.to_owned(),
            created_ms,
            expires_ms: created_ms + 1_000,
            revoked: false,
        }
    }

    #[test]
    fn creates_reopens_and_refuses_foreign_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(ACCOUNTS_FILE);
        drop(AccountStore::open(&path).expect("create"));
        let store = AccountStore::open(&path).expect("reopen");
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let foreign = dir.path().join("foreign.sqlite");
        let c = Connection::open(&foreign).expect("open");
        c.execute_batch("CREATE TABLE t (x)").expect("create");
        drop(c);
        assert!(matches!(
            AccountStore::open(&foreign),
            Err(AccountStoreError::NotAnAccountStore { .. })
        ));
        // A hallq journal is not an account store either.
        let journal = dir.path().join("journal.sqlite");
        drop(crate::journal::Journal::open(&journal).expect("journal"));
        assert!(matches!(
            AccountStore::open(&journal),
            Err(AccountStoreError::NotAnAccountStore { .. })
        ));

        let future = dir.path().join("future.sqlite");
        drop(AccountStore::open(&future).expect("create"));
        let c = Connection::open(&future).expect("open");
        c.execute("UPDATE meta SET value = 2 WHERE key = 'schema_version'", [])
            .expect("bump");
        drop(c);
        assert!(matches!(
            AccountStore::open(&future),
            Err(AccountStoreError::UnsupportedSchema {
                found: 2,
                supported: 1
            })
        ));
    }

    #[test]
    fn narrows_a_wide_file_mode() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join(ACCOUNTS_FILE);
            std::fs::write(&path, b"").expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            drop(AccountStore::open(&path).expect("open"));
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn account_and_session_crud() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = AccountStore::open(&dir.path().join(ACCOUNTS_FILE)).expect("open");
        assert_eq!(store.ensure_accounts(&["a1", "b2"], 10).expect("ensure"), 2);
        assert_eq!(store.ensure_accounts(&["a1", "c3"], 11).expect("ensure"), 1);
        assert!(store.ensure_accounts(&[""], 11).is_err());
        assert!(store.ensure_accounts(&[&"x".repeat(65)], 11).is_err());
        let a1 = store.account("a1").expect("read").expect("row");
        assert_eq!(a1.password_hash, None);
        assert_eq!(a1.created_ms, 10);
        assert!(store.account("zz").expect("read").is_none());
        assert_eq!(store.accounts().expect("all").len(), 3);

        assert_eq!(
            store
                .set_demo_password_where_missing(&["a1", "b2"], "$demo", 12)
                .expect("demo"),
            2
        );
        let a1 = store.account("a1").expect("read").expect("row");
        assert!(a1.demo_password && !a1.must_change_password);
        // Debug output never shows the hash.
        assert!(!format!("{a1:?}").contains("$demo"));

        store.set_failures("a1", 4, 99).expect("fail");
        let a1 = store.account("a1").expect("read").expect("row");
        assert_eq!((a1.failed_count, a1.locked_until_ms), (4, 99));

        store
            .begin_session(&session("a1", 1, 100), &[])
            .expect("s1");
        store
            .begin_session(&session("a1", 2, 101), &[])
            .expect("s2");
        store
            .begin_session(&session("b2", 3, 102), &[[1; 32]])
            .expect("s3");
        let a1 = store.account("a1").expect("read").expect("row");
        assert_eq!((a1.failed_count, a1.locked_until_ms), (0, 0));
        assert!(store.session(&[1; 32]).expect("read").expect("row").revoked);
        let live = store.live_sessions(100).expect("live");
        assert_eq!(live.len(), 2);
        assert!(!format!("{live:?}").contains("[2, 2"));
        // A session of an unknown account is refused by the foreign key.
        assert!(store.begin_session(&session("nobody", 9, 1), &[]).is_err());

        let revoked = store
            .set_password("a1", "$new", true, 200, Some(&[2; 32]))
            .expect("set");
        assert_eq!(revoked, Some(vec![]));
        assert_eq!(
            store
                .set_password("zz", "$new", true, 200, None)
                .expect("set"),
            None
        );
        let a1 = store.account("a1").expect("read").expect("row");
        assert!(!a1.demo_password && a1.must_change_password);
        assert_eq!(a1.password_changed_ms, Some(200));
        let revoked = store.revoke_account_sessions("a1", None).expect("revoke");
        assert_eq!(revoked, vec![[2; 32]]);
        assert_eq!(
            store.revoke_sessions(&[[3; 32], [3; 32]]).expect("revoke"),
            1
        );
        assert!(store.live_sessions(0).expect("live").is_empty());
        assert_eq!(store.delete_expired_sessions(1_101).expect("prune"), 2);
        assert_eq!(store.delete_expired_sessions(2_000).expect("prune"), 1);

        store
            .begin_session(&session("b2", 4, 300), &[])
            .expect("s4");
        assert_eq!(
            store.clear_demo_passwords().expect("clear"),
            vec!["b2".to_owned()]
        );
        let b2 = store.account("b2").expect("read").expect("row");
        assert_eq!(b2.password_hash, None);
        assert!(store.live_sessions(0).expect("live").is_empty());
    }

    #[test]
    fn data_version_sees_other_connections_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(ACCOUNTS_FILE);
        let mut store = AccountStore::open(&path).expect("open");
        let v0 = store.data_version().expect("v");
        store.ensure_accounts(&["a1"], 1).expect("ensure");
        assert_eq!(store.data_version().expect("v"), v0);
        let mut other = AccountStore::open(&path).expect("open other");
        other.ensure_accounts(&["b2"], 1).expect("ensure");
        let v1 = store.data_version().expect("v");
        assert_ne!(v1, v0);
        // Counting an unknown sign-in really commits a write (it is the cost
        // an unknown account's sign-in pays to look like a known one's).
        assert_eq!(store.unknown_sign_ins().expect("n"), 0);
        other.count_unknown_sign_in().expect("count");
        other.count_unknown_sign_in().expect("count");
        assert_ne!(store.data_version().expect("v"), v1);
        assert_eq!(store.unknown_sign_ins().expect("n"), 2);
    }
}
