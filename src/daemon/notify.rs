//! systemd's service notifications (`sd_notify`), without libsystemd: one
//! datagram per message to the Unix socket named by `$NOTIFY_SOCKET` (a path,
//! or an abstract socket written with a leading `@`).
//!
//! `hallq serve` sends `READY=1` once the journal is replayed and the
//! listener is bound, `STOPPING=1` when a graceful stop begins, and
//! `WATCHDOG=1` every half `$WATCHDOG_USEC` — but only while the owner loop
//! makes progress ([`watchdog`]), so a stuck owner stops the pings and
//! systemd restarts the service. Without `$NOTIFY_SOCKET` nothing is sent.

use std::ffi::OsStr;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// The environment variable naming systemd's notification socket.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
/// The watchdog timeout in microseconds (`WatchdogSec=`), set by systemd.
pub const WATCHDOG_USEC: &str = "WATCHDOG_USEC";
/// The process the watchdog is meant for, when systemd sets it.
pub const WATCHDOG_PID: &str = "WATCHDOG_PID";

/// A connection to systemd's notification socket.
#[derive(Debug)]
pub struct Notifier {
    #[cfg(unix)]
    socket: std::os::unix::net::UnixDatagram,
    #[cfg(unix)]
    addr: std::os::unix::net::SocketAddr,
}

impl Notifier {
    /// The notifier of `$NOTIFY_SOCKET`; `None` when it is unset or empty
    /// (not started by systemd as `Type=notify`). A value that cannot be
    /// used is logged and ignored: notifications never stop the daemon.
    pub fn from_env() -> Option<Notifier> {
        let value = std::env::var_os(NOTIFY_SOCKET)?;
        if value.is_empty() {
            return None;
        }
        match Notifier::open(&value) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!(socket = ?value, error = %e, "cannot use $NOTIFY_SOCKET; not notifying systemd");
                None
            }
        }
    }

    /// A notifier for this socket: a file system path (`/run/systemd/notify`)
    /// or an abstract name with a leading `@` (`@/org/freedesktop/systemd1/notify/…`).
    #[cfg(unix)]
    pub fn open(socket: &OsStr) -> io::Result<Notifier> {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::net::{SocketAddr, UnixDatagram};
        let bytes = socket.as_bytes();
        let addr = match bytes.split_first() {
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "empty socket name",
                ));
            }
            Some((b'@', name)) => abstract_addr(name)?,
            Some((b'/', _)) => SocketAddr::from_pathname(std::path::Path::new(socket))?,
            Some(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the socket must be an absolute path or start with @ (abstract)",
                ));
            }
        };
        let socket = UnixDatagram::unbound()?;
        // A notification must never block a worker: when systemd's queue is
        // full the message is dropped (and logged) instead.
        socket.set_nonblocking(true)?;
        Ok(Notifier { socket, addr })
    }

    #[cfg(not(unix))]
    pub fn open(_socket: &OsStr) -> io::Result<Notifier> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "systemd notifications need Unix sockets",
        ))
    }

    /// Sends one message (`KEY=value` lines).
    #[cfg(unix)]
    pub fn send(&self, message: &str) -> io::Result<()> {
        let sent = self.socket.send_to_addr(message.as_bytes(), &self.addr)?;
        if sent != message.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "notification truncated",
            ));
        }
        Ok(())
    }

    #[cfg(not(unix))]
    pub fn send(&self, _message: &str) -> io::Result<()> {
        Ok(())
    }

    /// Sends a message, logging (not returning) a failure.
    pub fn notify(&self, message: &str) {
        if let Err(e) = self.send(message) {
            tracing::warn!(message, error = %e, "systemd notification not sent");
        }
    }
}

#[cfg(target_os = "linux")]
fn abstract_addr(name: &[u8]) -> io::Result<std::os::unix::net::SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    std::os::unix::net::SocketAddr::from_abstract_name(name)
}

#[cfg(all(unix, not(target_os = "linux")))]
fn abstract_addr(_name: &[u8]) -> io::Result<std::os::unix::net::SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets exist only on Linux",
    ))
}

/// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, when it is set,
/// positive, and meant for this process (`WATCHDOG_PID` unset or ours).
pub fn watchdog_period(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok() != Some(own_pid)
    {
        return None;
    }
    let usec: u64 = usec?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    Some(Duration::from_micros(usec / 2))
}

/// [`watchdog_period`] from this process's environment.
pub fn watchdog_period_from_env() -> Option<Duration> {
    let usec = std::env::var(WATCHDOG_USEC).ok();
    let pid = std::env::var(WATCHDOG_PID).ok();
    watchdog_period(usec.as_deref(), pid.as_deref(), std::process::id())
}

/// Decides each watchdog ping from the owner's progress counter: a ping only
/// if the counter moved since the previous check.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    last: u64,
}

impl Progress {
    pub fn new(now: u64) -> Progress {
        Progress { last: now }
    }

    /// Whether the owner made progress since the last check; remembers `now`.
    pub fn moved(&mut self, now: u64) -> bool {
        let moved = now != self.last;
        self.last = now;
        moved
    }
}

/// One watchdog: each round it nudges the owner (a calendar tick), waits a
/// period, then pings only if the owner's progress counter moved. An idle
/// but healthy owner turns its loop once per nudge; a stuck one does not.
pub struct Watchdog<P, N> {
    seen: Progress,
    progress: P,
    nudge: N,
}

impl<P: Fn() -> u64, N: Fn()> Watchdog<P, N> {
    pub fn new(progress: P, nudge: N) -> Self {
        let seen = Progress::new(progress());
        Watchdog {
            seen,
            progress,
            nudge,
        }
    }

    /// Asks the owner for one loop turn (before waiting a period).
    pub fn nudge(&self) {
        (self.nudge)();
    }

    /// After the period: whether to send `WATCHDOG=1`.
    pub fn check(&mut self) -> bool {
        self.seen.moved((self.progress)())
    }
}

/// Pings the watchdog every `period` while `progress()` keeps moving
/// ([`Watchdog`]); when the owner is stuck the pings stop and systemd kills
/// and restarts the service.
pub fn watchdog(
    notifier: Arc<Notifier>,
    period: Duration,
    progress: impl Fn() -> u64 + Send + 'static,
    nudge: impl Fn() + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut dog = Watchdog::new(progress, nudge);
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await; // the first tick is immediate
        loop {
            dog.nudge();
            every.tick().await;
            if dog.check() {
                notifier.notify("WATCHDOG=1");
            } else {
                tracing::warn!(
                    period_ms = period.as_millis() as u64,
                    "the owner loop made no progress: watchdog ping withheld"
                );
            }
        }
    })
}

/// Whether standard error is connected to the journal (`$JOURNAL_STREAM`
/// names its device and inode, as systemd sets it for `StandardError=journal`):
/// then log lines need no timestamp and no colours, journald adds its own.
pub fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    stderr_matches(&value.to_string_lossy())
}

#[cfg(unix)]
fn stderr_matches(journal_stream: &str) -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some((dev, ino)) = journal_stream.split_once(':') else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    match std::fs::File::from(fd).metadata() {
        Ok(m) => m.dev() == dev && m.ino() == ino,
        Err(_) => false,
    }
}

#[cfg(not(unix))]
fn stderr_matches(_journal_stream: &str) -> bool {
    false
}

/// `hallq serve`'s side of systemd: readiness, the watchdog, stopping.
pub struct Systemd {
    notifier: Arc<Notifier>,
    watchdog: Option<tokio::task::JoinHandle<()>>,
}

impl Systemd {
    /// Sends `READY=1` (with `STATUS=status`) and starts the watchdog when
    /// `$WATCHDOG_USEC` asks for one; `None` without `$NOTIFY_SOCKET`. Call
    /// it once the journal is replayed and the listener is bound.
    pub fn ready(hall: &super::HallHandle, status: &str) -> Option<Systemd> {
        let notifier = Arc::new(Notifier::from_env()?);
        notifier.notify(&format!("READY=1\nSTATUS={status}"));
        let watchdog = watchdog_period_from_env().map(|period| {
            tracing::info!(
                period_ms = period.as_millis() as u64,
                "systemd watchdog: pinging while the owner loop turns"
            );
            let (turns, nudge) = (hall.clone(), hall.clone());
            watchdog(
                notifier.clone(),
                period,
                move || turns.turns(),
                move || {
                    nudge.tick();
                },
            )
        });
        Some(Systemd { notifier, watchdog })
    }

    /// A graceful stop began: `STOPPING=1`, and no more watchdog pings.
    pub fn stopping(&self) {
        if let Some(w) = &self.watchdog {
            w.abort();
        }
        self.notifier.notify("STOPPING=1");
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    fn recv(socket: &UnixDatagram) -> String {
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn sends_to_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::open(path.as_os_str()).unwrap();
        n.send("READY=1\nSTATUS=up").unwrap();
        assert_eq!(recv(&server), "READY=1\nSTATUS=up");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sends_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("hallq-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let server = UnixDatagram::bind_addr(&addr).unwrap();
        let n = Notifier::open(OsStr::new(&format!("@{name}"))).unwrap();
        n.send("WATCHDOG=1").unwrap();
        assert_eq!(recv(&server), "WATCHDOG=1");
    }

    #[test]
    fn refuses_relative_and_empty_names() {
        assert!(Notifier::open(OsStr::new("run/notify")).is_err());
        assert!(Notifier::open(OsStr::new("")).is_err());
    }

    #[test]
    fn a_missing_socket_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let n = Notifier::open(dir.path().join("absent").as_os_str()).unwrap();
        assert!(n.send("READY=1").is_err());
        n.notify("READY=1"); // logged, not returned
    }

    #[test]
    fn watchdog_period_is_half_the_timeout_for_this_process() {
        let half = Some(Duration::from_millis(500));
        assert_eq!(watchdog_period(Some("1000000"), None, 42), half);
        assert_eq!(watchdog_period(Some("1000000"), Some("42"), 42), half);
        assert_eq!(watchdog_period(Some("1000000"), Some("43"), 42), None);
        assert_eq!(watchdog_period(Some("0"), None, 42), None);
        assert_eq!(watchdog_period(Some("soon"), None, 42), None);
        assert_eq!(watchdog_period(None, None, 42), None);
    }

    #[test]
    fn progress_pings_only_when_the_counter_moved() {
        let mut p = Progress::new(7);
        assert!(!p.moved(7));
        assert!(p.moved(8));
        assert!(!p.moved(8));
        assert!(p.moved(12));
    }

    #[test]
    fn the_watchdog_stops_pinging_when_the_owner_stops() {
        use std::cell::Cell;
        // A fake owner: each nudge is one loop turn while it is alive.
        let turns = Cell::new(0u64);
        let alive = Cell::new(true);
        let mut dog = Watchdog::new(
            || turns.get(),
            || {
                if alive.get() {
                    turns.set(turns.get() + 1);
                }
            },
        );
        let mut round = || {
            dog.nudge();
            dog.check()
        };
        assert!(
            round() && round() && round(),
            "a ping per period while alive"
        );
        alive.set(false);
        assert!(
            !round() && !round() && !round(),
            "no ping from a stuck owner"
        );
        alive.set(true);
        assert!(round(), "pings resume when the owner turns again");
        // A turn that happened without a nudge (a request) counts too.
        let mut dog = Watchdog::new(|| turns.get(), || {});
        assert!(!dog.check());
        turns.set(turns.get() + 1);
        assert!(dog.check());
    }
}
