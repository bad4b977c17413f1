//! One daemon per data directory (`src/daemon/lock.rs`): a second `hallq
//! serve` on the same `--data` is refused at once, naming the directory and
//! the holder's pid; read-only commands still work beside the daemon; and
//! after a SIGKILL (the kernel drops the flock) a new daemon starts.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::daemon::{self, DAEMON_WAIT, Daemon, Log};

/// `hallq serve --quiet-sim` on `data` at `RUST_LOG=warn`.
fn serve_cmd(data: &Path) -> Command {
    let mut c = daemon::serve_cmd(data);
    c.arg("--quiet-sim");
    c
}

/// Starts `hallq serve` on `data` and waits for its address.
fn serve(data: &Path) -> Daemon {
    Daemon::start(serve_cmd(data), Log::Null, DAEMON_WAIT)
}

fn healthz(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: hallq\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    text.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn a_second_daemon_on_the_same_data_directory_is_refused_until_the_first_dies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let first = serve(&data);
    let first_pid = first.child.id();
    assert_eq!(
        std::fs::read_to_string(data.join("lock")).expect("lock file"),
        format!("pid {first_pid}\ncommand serve\n")
    );

    // The second refuses; it must exit by itself (a deadline, not a timing).
    let mut second = serve_cmd(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the second hallq serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = second.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("the second hallq serve on the same data directory kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    second
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    assert!(!status.success(), "the second daemon must fail: {stderr}");
    assert!(
        stderr.contains("is in use by another hallq process"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&data.display().to_string()),
        "names the directory: {stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {first_pid}, hallq serve")),
        "names the holder: {stderr}"
    );

    // The first is untouched and still answers; its lock record too.
    assert!(healthz(first.addr).contains(" 200 "), "first still serves");
    assert_eq!(
        std::fs::read_to_string(data.join("lock")).expect("lock file"),
        format!("pid {first_pid}\ncommand serve\n")
    );

    // Read-only commands need no lock.
    let verify = daemon::verify(&data);
    assert!(
        verify.status.success(),
        "verify beside a running daemon: {}",
        String::from_utf8_lossy(&verify.stderr)
    );

    // SIGKILL: no clean-up runs, the lock file stays, but the kernel
    // released the flock with the process.
    drop(first);
    assert!(data.join("lock").exists());
    let third = serve(&data);
    assert!(healthz(third.addr).contains(" 200 "), "third serves");
    assert_eq!(
        std::fs::read_to_string(data.join("lock")).expect("lock file"),
        format!("pid {}\ncommand serve\n", third.child.id())
    );
}
