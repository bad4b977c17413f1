//! Scheduled online backups (`[backup]`) and `hallq restore`.
//!
//! # A backup set
//!
//! `hallq serve` takes a *set* at each `at` time (local to the hall) or
//! every `every_minutes`: a directory `hallq-YYYYMMDD-HHMMSS-seqN` (local
//! time, N = the journal's head in the copy) holding
//!
//! - `journal.sqlite`: the journal, copied with SQLite's online backup API
//!   (one consistent snapshot; the daemon keeps appending meanwhile), and
//!   checked with [`journal::verify`] before the set is kept;
//! - `accounts.sqlite`: accounts and password hashes, copied the same way,
//!   *without sessions* (a restore signs everyone out, and no bearer-token
//!   hash leaves the data directory);
//! - `person.key`: the hall's secret for person hashes. It is part of the
//!   set because without it a restored hall would hash the same ID number
//!   differently from the journal it replays (per-person caps, follow-ups,
//!   "has this person been here today" would silently stop matching).
//!
//! The set is written under a hidden partial name, every file fsynced, then
//! renamed into place (and the directory fsynced): a set under its final
//! name is always complete. Set directories are mode 0700 and every file in
//! them 0600, because the person key and the journal together allow
//! testing guesses of ID numbers: **a backup set is as secret as the data
//! directory**, and so is its off-site copy (a share readable only by the
//! hall's IT section).
//!
//! Then the set is copied to `offsite_dir` (if set; partial name and rename
//! there too, and its journal verified again); a failure there is logged and
//! the local set is kept. Finally each directory is pruned to the newest
//! `keep` sets; only entries named like a set are ever removed.
//!
//! # Restore
//!
//! [`restore`] (`hallq restore BACKUP --data DIR [--force]`) takes the data
//! directory's lock (so it refuses while a daemon runs there), verifies the
//! backup's chain (and names the first broken row), refuses to replace an
//! existing journal without `--force` — and with it moves the old files
//! aside as `<name>.before-restore-<UTC time>` instead of deleting them —
//! stages the copies in the data directory, renames them into place, and
//! returns the restored head (seq and hash) for comparing with `hallq
//! verify`. BACKUP is a set directory, or a bare journal file (as written by
//! `hallq backup FILE`), in which case accounts and key are left as they are.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{NaiveDateTime, TimeDelta};
use chrono_tz::Tz;

use super::clock::{Clock, SystemClock};
use super::secret::SECRET_FILE;
use super::{ACCOUNTS_FILE, JOURNAL_FILE, lock};
use crate::config::TimeOfDay;
use crate::config::model::BackupConfig;
use crate::journal::{self, VerifyReport};
use crate::queue::{Millis, calendar};

/// Every set's name starts with this.
pub const SET_PREFIX: &str = "hallq-";
/// Hidden names of sets being written.
const PARTIAL_PREFIX: &str = ".hallq-partial-";

/// When to take a set.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// At these local times of day.
    At(Vec<TimeOfDay>),
    /// Every this long, from the daemon's start.
    Every(Duration),
}

/// `[backup]` resolved against the data directory.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupPlan {
    pub dir: PathBuf,
    pub offsite_dir: Option<PathBuf>,
    pub schedule: Schedule,
    pub keep: usize,
}

impl BackupPlan {
    /// Relative directories are taken from the data directory.
    pub fn new(cfg: &BackupConfig, data_dir: &Path) -> BackupPlan {
        let schedule = match cfg.every_minutes {
            Some(m) if cfg.at.is_empty() => {
                Schedule::Every(Duration::from_secs_f64((m * 60.0).clamp(1.0, 86_400.0)))
            }
            _ => Schedule::At(cfg.at.clone()),
        };
        BackupPlan {
            dir: data_dir.join(&cfg.dir),
            offsite_dir: cfg.offsite_dir.as_ref().map(|d| data_dir.join(d)),
            schedule,
            keep: cfg.keep.max(1) as usize,
        }
    }
}

/// What one scheduled backup did.
#[derive(Debug)]
pub struct BackupOutcome {
    /// The set in `dir`.
    pub set: PathBuf,
    /// Head of the copied journal.
    pub seq: u64,
    pub hash: [u8; 32],
    /// The off-site copy, or why it failed (`None`: no `offsite_dir`).
    pub offsite: Option<Result<PathBuf, String>>,
    /// Sets removed by retention (both directories).
    pub pruned: Vec<PathBuf>,
}

/// One whole scheduled backup: a set in `plan.dir`, its off-site copy, and
/// retention. Blocking (file I/O); run it on the blocking pool.
pub fn run_once(plan: &BackupPlan, data_dir: &Path, tz: Tz) -> anyhow::Result<BackupOutcome> {
    let local = calendar::local(tz, SystemClock.now_ms());
    let (set, report) = take_set(data_dir, &plan.dir, local)?;
    let mut pruned = Vec::new();
    let offsite = plan.offsite_dir.as_ref().map(|other| {
        copy_set(&set, other)
            .and_then(|copy| {
                pruned.extend(prune(other, plan.keep)?);
                Ok(copy)
            })
            .map_err(|e| format!("{e:#}"))
    });
    pruned.extend(prune(&plan.dir, plan.keep)?);
    Ok(BackupOutcome {
        set,
        seq: report.last_seq,
        hash: report.last_hash,
        offsite,
        pruned,
    })
}

/// What the scheduled backups have done since start, for `GET /metrics`
/// (a failed backup is logged, and an IT section watching the hall's
/// metrics sees it too, without reading logs).
#[derive(Debug, Default)]
pub struct BackupStatus {
    taken: AtomicU64,
    failed: AtomicU64,
    offsite_failed: AtomicU64,
    /// Wall-clock ms of the last set taken and verified (0: none yet).
    last_ok_ms: AtomicI64,
    /// Journal head in that set.
    last_seq: AtomicU64,
}

/// A copy of [`BackupStatus`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSnapshot {
    pub taken: u64,
    pub failed: u64,
    pub offsite_failed: u64,
    /// `None` until a set has been taken since start.
    pub last_ok_ms: Option<Millis>,
    pub last_seq: u64,
}

impl BackupStatus {
    /// Counts one scheduled backup's result.
    pub fn record(&self, result: &anyhow::Result<BackupOutcome>, at_ms: Millis) {
        match result {
            Ok(o) => {
                self.taken.fetch_add(1, Ordering::Relaxed);
                self.last_seq.store(o.seq, Ordering::Relaxed);
                self.last_ok_ms.store(at_ms, Ordering::Relaxed);
                if matches!(o.offsite, Some(Err(_))) {
                    self.offsite_failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(_) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn snapshot(&self) -> BackupSnapshot {
        let last_ok_ms = self.last_ok_ms.load(Ordering::Relaxed);
        BackupSnapshot {
            taken: self.taken.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            offsite_failed: self.offsite_failed.load(Ordering::Relaxed),
            last_ok_ms: (last_ok_ms > 0).then_some(last_ok_ms),
            last_seq: self.last_seq.load(Ordering::Relaxed),
        }
    }
}

/// The running backup task and what it has done.
pub struct Backups {
    pub task: tokio::task::JoinHandle<()>,
    pub status: Arc<BackupStatus>,
}

/// Starts the backup task of `hallq serve`. Each backup runs on the
/// blocking pool; a failure is logged, counted in [`BackupStatus`], and the
/// next one is still taken.
pub fn start(plan: BackupPlan, data_dir: PathBuf, tz: Tz) -> Backups {
    tracing::info!(dir = %plan.dir.display(), offsite = ?plan.offsite_dir.as_ref().map(|p| p.display().to_string()), schedule = ?plan.schedule, keep = plan.keep, "scheduled backups");
    let status = Arc::new(BackupStatus::default());
    let counts = status.clone();
    let task = tokio::spawn(async move {
        loop {
            let wait = next_wait(&plan.schedule, tz, SystemClock.now_ms());
            tokio::time::sleep(wait).await;
            let (p, d) = (plan.clone(), data_dir.clone());
            let result = match tokio::task::spawn_blocking(move || run_once(&p, &d, tz)).await {
                Ok(result) => result,
                Err(e) => Err(anyhow::anyhow!("the backup task failed: {e}")),
            };
            counts.record(&result, SystemClock.now_ms());
            match result {
                Ok(o) => {
                    tracing::info!(set = %o.set.display(), seq = o.seq, hash = %hex::encode(o.hash), pruned = o.pruned.len(), "backup taken and verified");
                    match &o.offsite {
                        Some(Ok(copy)) => {
                            tracing::info!(copy = %copy.display(), "backup copied off-site")
                        }
                        Some(Err(why)) => {
                            tracing::error!(error = %why, "off-site backup copy failed; the local set is kept")
                        }
                        None => {}
                    }
                }
                Err(e) => tracing::error!(error = %format!("{e:#}"), "backup failed"),
            }
        }
    });
    Backups { task, status }
}

/// How long from `now_ms` until the next backup is due.
pub fn next_wait(schedule: &Schedule, tz: Tz, now_ms: Millis) -> Duration {
    match schedule {
        Schedule::Every(d) => *d,
        Schedule::At(times) => {
            let now = calendar::local(tz, now_ms);
            let next = times
                .iter()
                .filter_map(|t| {
                    let today = now.date().and_hms_opt(0, 0, 0)?
                        + TimeDelta::minutes(i64::from(t.minutes()));
                    let at = if today > now {
                        today
                    } else {
                        today + TimeDelta::days(1)
                    };
                    Some(calendar::instant(tz, at))
                })
                .filter(|&ms| ms > now_ms)
                .min();
            match next {
                Some(ms) => Duration::from_millis((ms - now_ms) as u64),
                // No times (refused by validation): look again in an hour.
                None => Duration::from_secs(3600),
            }
        }
    }
}

/// The set name for a copy taken at local time `at` with head `seq`.
pub fn set_name(at: NaiveDateTime, seq: u64) -> String {
    format!("{SET_PREFIX}{}-seq{seq}", at.format("%Y%m%d-%H%M%S"))
}

/// `(YYYYMMDDHHMMSS, seq)` when `name` is a set's name, for ordering.
pub fn parse_set_name(name: &str) -> Option<(u64, u64)> {
    let rest = name.strip_prefix(SET_PREFIX)?;
    let (date, rest) = rest.split_at_checked(8)?;
    let rest = rest.strip_prefix('-')?;
    let (time, rest) = rest.split_at_checked(6)?;
    let seq = rest.strip_prefix("-seq")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(date) && digits(time) && digits(seq)) || seq.len() > 20 {
        return None;
    }
    Some((format!("{date}{time}").parse().ok()?, seq.parse().ok()?))
}

fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut b = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(path)
}

fn make_private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", path.display()))?;
    }
    let _ = path;
    Ok(())
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))
}

/// Copies a small file (the person key) to `dest` (new, mode 0600), fsynced.
fn copy_secret(src: &Path, dest: &Path) -> anyhow::Result<()> {
    let bytes = fs::read(src).with_context(|| format!("reading {}", src.display()))?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(dest)
        .with_context(|| format!("creating {}", dest.display()))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", dest.display()))
}

fn broken(what: &Path, report: &VerifyReport) -> Option<String> {
    report.first_broken.as_ref().map(|b| {
        format!(
            "the journal in {} does not verify: the chain breaks at seq {} ({})",
            what.display(),
            b.seq,
            b.reason
        )
    })
}

/// Takes a set of `data_dir` into `dest_dir` (created if missing), named
/// for local time `at`; verified before it gets its name. Returns the set
/// and its journal's verify report.
pub fn take_set(
    data_dir: &Path,
    dest_dir: &Path,
    at: NaiveDateTime,
) -> anyhow::Result<(PathBuf, VerifyReport)> {
    let journal_path = data_dir.join(JOURNAL_FILE);
    if !journal_path.exists() {
        bail!("no journal at {} to back up", journal_path.display());
    }
    fs::create_dir_all(dest_dir)
        .with_context(|| format!("creating backup directory {}", dest_dir.display()))?;
    sweep_partials(dest_dir);
    let partial = dest_dir.join(format!("{PARTIAL_PREFIX}{}", std::process::id()));
    if partial.exists() {
        fs::remove_dir_all(&partial)
            .with_context(|| format!("removing a leftover {}", partial.display()))?;
    }
    create_private_dir(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let result = fill_set(data_dir, &partial).and_then(|report| {
        let set = dest_dir.join(set_name(at, report.last_seq));
        if set.symlink_metadata().is_ok() {
            bail!("{} exists already", set.display());
        }
        sync_dir(&partial)?;
        fs::rename(&partial, &set)
            .with_context(|| format!("renaming {} to {}", partial.display(), set.display()))?;
        sync_dir(dest_dir)?;
        Ok((set, report))
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&partial);
    }
    result
}

/// Removes sets a power cut left half-written: a partial directory whose
/// writer (the pid in its name) no longer runs on this machine. It holds a
/// copy of the journal and the person key, so it must not stay behind. A
/// partial being written right now (a scheduled set and a `hallq backup
/// --set` at once) is left alone. Failures are logged, never fatal.
fn sweep_partials(dir: &Path) {
    // Without /proc a live writer cannot be told from a dead one: keep all.
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PARTIAL_PREFIX))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        match fs::remove_dir_all(entry.path()) {
            Ok(()) => {
                tracing::warn!(partial = %entry.path().display(), "removed a backup set left half-written by an interrupted backup")
            }
            Err(e) => {
                tracing::warn!(partial = %entry.path().display(), error = %e, "could not remove a half-written backup set")
            }
        }
    }
}

fn fill_set(data_dir: &Path, partial: &Path) -> anyhow::Result<VerifyReport> {
    let copy = partial.join(JOURNAL_FILE);
    journal::backup(&data_dir.join(JOURNAL_FILE), &copy).context("copying the journal")?;
    make_private(&copy)?;
    let report = journal::verify(&copy).context("verifying the journal copy")?;
    if let Some(why) = broken(&copy, &report) {
        bail!("{why}; the set was not kept");
    }
    let accounts = data_dir.join(ACCOUNTS_FILE);
    if accounts.exists() {
        let copy = partial.join(ACCOUNTS_FILE);
        journal::restore::copy_accounts(&accounts, &copy).context("copying the accounts")?;
        make_private(&copy)?;
        journal::restore::drop_sessions(&copy).context("removing sessions from the copy")?;
    }
    let key = data_dir.join(SECRET_FILE);
    if key.exists() {
        copy_secret(&key, &partial.join(SECRET_FILE))?;
    }
    Ok(report)
}

/// Copies the set `set` into `other_dir` (created if missing) under the
/// same name, verifying the copied journal. Returns the copy.
pub fn copy_set(set: &Path, other_dir: &Path) -> anyhow::Result<PathBuf> {
    let name = set
        .file_name()
        .context("a set has a name")?
        .to_string_lossy()
        .into_owned();
    fs::create_dir_all(other_dir)
        .with_context(|| format!("creating off-site directory {}", other_dir.display()))?;
    let dest = other_dir.join(&name);
    if dest.symlink_metadata().is_ok() {
        bail!("{} exists already", dest.display());
    }
    sweep_partials(other_dir);
    let partial = other_dir.join(format!("{PARTIAL_PREFIX}{}", std::process::id()));
    if partial.exists() {
        fs::remove_dir_all(&partial)
            .with_context(|| format!("removing a leftover {}", partial.display()))?;
    }
    create_private_dir(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let result = (|| {
        for file in [JOURNAL_FILE, ACCOUNTS_FILE, SECRET_FILE] {
            let src = set.join(file);
            if !src.exists() {
                continue;
            }
            if file == SECRET_FILE {
                copy_secret(&src, &partial.join(file))?;
                continue;
            }
            let to = partial.join(file);
            fs::copy(&src, &to)
                .with_context(|| format!("copying {} to {}", src.display(), to.display()))?;
            make_private(&to)?;
            File::open(&to)
                .and_then(|f| f.sync_all())
                .with_context(|| format!("syncing {}", to.display()))?;
        }
        let report = journal::verify(&partial.join(JOURNAL_FILE))?;
        if let Some(why) = broken(&dest, &report) {
            bail!("{why}");
        }
        sync_dir(&partial)?;
        fs::rename(&partial, &dest)
            .with_context(|| format!("renaming {} to {}", partial.display(), dest.display()))?;
        sync_dir(other_dir)
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&partial);
    }
    result.map(|()| dest)
}

/// The sets in `dir`, oldest first (by the time and seq in their names).
pub fn list_sets(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut sets = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        let Some(key) = name.to_str().and_then(parse_set_name) else {
            continue;
        };
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            sets.push((key, entry.path()));
        }
    }
    sets.sort();
    Ok(sets.into_iter().map(|(_, p)| p).collect())
}

/// Removes all but the newest `keep` sets in `dir`; nothing else is
/// touched. Returns what was removed.
pub fn prune(dir: &Path, keep: usize) -> anyhow::Result<Vec<PathBuf>> {
    let sets = list_sets(dir)?;
    let excess = sets.len().saturating_sub(keep.max(1));
    let mut removed = Vec::new();
    for old in sets.into_iter().take(excess) {
        fs::remove_dir_all(&old).with_context(|| format!("removing old set {}", old.display()))?;
        removed.push(old);
    }
    Ok(removed)
}

// ---------------------------------------------------------------------------
// Restore.

/// What [`restore`] did.
#[derive(Debug)]
pub struct RestoreReport {
    /// Rows and head of the restored journal (as `hallq verify` prints them).
    pub rows: u64,
    pub seq: u64,
    pub hash: [u8; 32],
    /// Files restored (names inside the data directory).
    pub restored: Vec<&'static str>,
    /// Old files moved aside (full paths).
    pub moved_aside: Vec<PathBuf>,
    /// The backup was a bare journal file: accounts and key left as they were.
    pub journal_only: bool,
}

/// SQLite's companions of a database file, which must move with it (a
/// stale `-wal` beside a restored journal would be applied to it).
const COMPANIONS: [&str; 4] = ["", "-wal", "-shm", "-journal"];

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Restores `backup` (a set directory or a bare journal file) into
/// `data_dir`. See the module docs.
pub fn restore(backup: &Path, data_dir: &Path, force: bool) -> anyhow::Result<RestoreReport> {
    // Sources: (file name in the data directory, source path).
    let (journal_src, others) = if backup.is_dir() {
        let j = backup.join(JOURNAL_FILE);
        if !j.is_file() {
            bail!(
                "{} is not a backup set: it holds no {JOURNAL_FILE}",
                backup.display()
            );
        }
        let others: Vec<(&'static str, PathBuf)> = [ACCOUNTS_FILE, SECRET_FILE]
            .into_iter()
            .map(|f| (f, backup.join(f)))
            .filter(|(_, p)| p.is_file())
            .collect();
        (j, others)
    } else if backup.is_file() {
        (backup.to_owned(), Vec::new())
    } else {
        bail!("no backup at {}", backup.display());
    };
    let journal_only = !backup.is_dir();

    let report = journal::verify(&journal_src)
        .with_context(|| format!("reading the backup {}", journal_src.display()))?;
    if let Some(b) = &report.first_broken {
        bail!(
            "refusing to restore {}: its hash chain does not verify; the first broken row is seq {} ({}). \
             Nothing was changed; restore an older backup.",
            backup.display(),
            b.seq,
            b.reason
        );
    }
    if let Some((_, key)) = others.iter().find(|(f, _)| *f == SECRET_FILE) {
        let len = fs::metadata(key)
            .with_context(|| format!("reading {}", key.display()))?
            .len();
        if len != 32 {
            bail!(
                "refusing to restore {}: its {SECRET_FILE} holds {len} bytes, a person key is 32",
                backup.display()
            );
        }
    }

    // Only now touch the data directory: a refused backup writes nothing.
    super::create_data_dir(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let _lock = lock::acquire(data_dir, "restore")?;

    let mut names: Vec<&'static str> = vec![JOURNAL_FILE];
    names.extend(others.iter().map(|(f, _)| *f));
    let existing: Vec<PathBuf> = names
        .iter()
        .flat_map(|n| COMPANIONS.map(|s| with_suffix(&data_dir.join(n), s)))
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    if !existing.is_empty() && !force {
        let list: Vec<String> = existing.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "refusing to overwrite {} in {} (found: {}); give --force to move them aside as \
             <name>.before-restore-<time> (nothing is deleted)",
            names.join(", "),
            data_dir.display(),
            list.join(", ")
        );
    }

    // Stage in the data directory (same file system, so the renames below
    // are atomic), verify, then swap.
    let stage = data_dir.join(format!(".restore-{}", std::process::id()));
    if stage.exists() {
        fs::remove_dir_all(&stage)
            .with_context(|| format!("removing a leftover {}", stage.display()))?;
    }
    create_private_dir(&stage).with_context(|| format!("creating {}", stage.display()))?;
    let staged = (|| -> anyhow::Result<VerifyReport> {
        let j = stage.join(JOURNAL_FILE);
        journal::backup(&journal_src, &j).context("copying the journal")?;
        make_private(&j)?;
        let copied = journal::verify(&j)?;
        if copied.last_seq != report.last_seq
            || copied.last_hash != report.last_hash
            || !copied.is_clean()
        {
            bail!("the copied journal differs from the backup; nothing was changed");
        }
        for (name, src) in &others {
            let to = stage.join(name);
            if *name == SECRET_FILE {
                copy_secret(src, &to)?;
            } else {
                journal::restore::copy_accounts(src, &to).context("copying the accounts")?;
                make_private(&to)?;
                journal::restore::drop_sessions(&to)?;
            }
        }
        Ok(copied)
    })();
    let copied = match staged {
        Ok(c) => c,
        Err(e) => {
            let _ = fs::remove_dir_all(&stage);
            return Err(e);
        }
    };

    let stamp = chrono::DateTime::from_timestamp_millis(SystemClock.now_ms())
        .unwrap_or_default()
        .format("%Y%m%d-%H%M%SZ")
        .to_string();
    let mut moved_aside = Vec::new();
    for name in &names {
        let base = data_dir.join(name);
        let aside = data_dir.join(format!("{name}.before-restore-{stamp}"));
        for s in COMPANIONS {
            let from = with_suffix(&base, s);
            if from.symlink_metadata().is_err() {
                continue;
            }
            let to = with_suffix(&aside, s);
            if to.symlink_metadata().is_ok() {
                bail!("{} exists already; try again in a second", to.display());
            }
            fs::rename(&from, &to)
                .with_context(|| format!("moving {} aside to {}", from.display(), to.display()))?;
            moved_aside.push(to);
        }
    }
    for name in &names {
        let (from, to) = (stage.join(name), data_dir.join(name));
        fs::rename(&from, &to)
            .with_context(|| format!("moving {} to {}", from.display(), to.display()))?;
    }
    sync_dir(data_dir)?;
    let _ = fs::remove_dir(&stage);
    Ok(RestoreReport {
        rows: copied.rows,
        seq: copied.last_seq,
        hash: copied.last_hash,
        restored: names,
        moved_aside,
        journal_only,
    })
}

/// `hallq restore`: [`restore`], then what the operator needs to see.
pub fn restore_cli(backup: &Path, data_dir: &Path, force: bool) -> anyhow::Result<()> {
    let r = restore(backup, data_dir, force)?;
    println!(
        "restored {} from {} into {}",
        r.restored.join(", "),
        backup.display(),
        data_dir.display()
    );
    for p in &r.moved_aside {
        println!("moved aside: {}", p.display());
    }
    if r.journal_only {
        println!(
            "note: {} is a bare journal; {ACCOUNTS_FILE} and {SECRET_FILE} in {} were left as they are",
            backup.display(),
            data_dir.display()
        );
    }
    println!("journal: {} rows, chain intact up to seq {}", r.rows, r.seq);
    // The same line as `hallq verify`: compare them.
    println!("head: seq {} hash {}", r.seq, hex::encode(r.hash));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_names_round_trip_and_others_are_not_sets() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 9)
            .unwrap()
            .and_hms_opt(21, 0, 5)
            .unwrap();
        let name = set_name(at, 4711);
        assert_eq!(name, "hallq-20260309-210005-seq4711");
        assert_eq!(parse_set_name(&name), Some((20260309210005, 4711)));
        for other in [
            "hallq-20260309-210005-seq",
            "hallq-2026030-210005-seq1",
            "hallq-20260309-210005-seq1x",
            "hallq-20260309-210005",
            ".hallq-partial-12",
            "journal.sqlite",
            "hallq-20260309-210005-seq1.tmp",
        ] {
            assert_eq!(parse_set_name(other), None, "{other}");
        }
    }

    #[test]
    fn the_next_backup_is_the_next_listed_local_time() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let t = |s: &str| TimeOfDay::parse(s).unwrap();
        let schedule = Schedule::At(vec![t("21:00"), t("12:30")]);
        let at = |h, m| {
            calendar::instant(
                tz,
                chrono::NaiveDate::from_ymd_opt(2026, 3, 9)
                    .unwrap()
                    .and_hms_opt(h, m, 0)
                    .unwrap(),
            )
        };
        assert_eq!(
            next_wait(&schedule, tz, at(12, 0)),
            Duration::from_secs(30 * 60)
        );
        // Exactly at a time: the next one, not now again.
        assert_eq!(
            next_wait(&schedule, tz, at(12, 30)),
            Duration::from_secs(8 * 3600 + 30 * 60)
        );
        // After the last: tomorrow's first.
        assert_eq!(
            next_wait(&schedule, tz, at(22, 0)),
            Duration::from_secs(14 * 3600 + 30 * 60)
        );
        assert_eq!(
            next_wait(&Schedule::Every(Duration::from_secs(90)), tz, at(1, 0)),
            Duration::from_secs(90)
        );
    }

    #[test]
    fn prune_keeps_the_newest_and_touches_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "hallq-20260101-120000-seq9",
            "hallq-20260101-120000-seq10",
            "hallq-20260102-090000-seq11",
            "hallq-20251231-235959-seq5",
        ];
        for n in names {
            fs::create_dir(dir.path().join(n)).unwrap();
        }
        fs::create_dir(dir.path().join("hallq-manual")).unwrap();
        fs::write(
            dir.path().join("hallq-20200101-000000-seq1"),
            "a file, not a set",
        )
        .unwrap();
        fs::create_dir(dir.path().join(".hallq-partial-1")).unwrap();
        let removed = prune(dir.path(), 2).unwrap();
        let removed: Vec<_> = removed
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            removed,
            ["hallq-20251231-235959-seq5", "hallq-20260101-120000-seq9"]
        );
        let mut left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".hallq-partial-1",
                "hallq-20200101-000000-seq1",
                "hallq-20260101-120000-seq10",
                "hallq-20260102-090000-seq11",
                "hallq-manual",
            ]
        );
    }
}
