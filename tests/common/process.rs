//! The real `hallq` binary as a child process: `hallq serve` started and
//! its `hallq listening on http://ADDR` line read, SIGKILL (a power cut),
//! and requests that may fail because the daemon is gone.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Req, Resp};

/// The binary under test: this build's `hallq`, or `HALLQ_TEST_BIN` (to run
/// a test against another build, e.g. a deliberately broken one).
pub fn bin() -> std::path::PathBuf {
    std::env::var_os("HALLQ_TEST_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_hallq").into(), Into::into)
}

/// A running `hallq serve`; killed (SIGKILL) when dropped.
pub struct Serve {
    pub child: Child,
    pub addr: SocketAddr,
}

/// `hallq serve --listen 127.0.0.1:0 --data DATA` plus `extra` arguments
/// (`--config FILE`, `--quiet-sim` …); waits up to `wait` for the listening
/// line. Stdout is drained for the process's life (a full pipe would stall
/// it); stderr goes to `log` when given, else nowhere.
pub fn serve(data: &Path, extra: &[&str], log: Option<&Path>, wait: Duration) -> Serve {
    let stderr = match log {
        Some(p) => Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .expect("log file"),
        ),
        None => Stdio::null(),
    };
    let mut child = Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn hallq serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(a) = line.trim().strip_prefix("hallq listening on http://")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(a.parse::<SocketAddr>().expect("listen address"));
            }
        }
    });
    match rx.recv_timeout(wait) {
        Ok(addr) => Serve { child, addr },
        Err(_) => {
            let _ = child.kill();
            let status = child.wait();
            panic!("hallq serve did not print its address within {wait:?} ({status:?})");
        }
    }
}

impl Serve {
    /// SIGKILL and reap: the power cut.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `hallq verify --data DATA` (the binary), with its output.
pub fn verify(data: &Path) -> Output {
    Command::new(bin())
        .arg("verify")
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run hallq verify")
}

/// Sends `req` (from a given loopback address when `from` is set) and reads
/// the whole answer; `Err` when the daemon cannot be reached, closes before
/// a complete head, or takes longer than `wait` — what a client sees when
/// the power is cut under its request.
pub async fn try_send(
    addr: SocketAddr,
    from: Option<Ipv4Addr>,
    req: &Req,
    wait: Duration,
) -> Result<Resp, String> {
    let fut = async {
        let mut s = match from {
            None => tokio::net::TcpStream::connect(addr).await,
            Some(ip) => {
                let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
                socket
                    .bind(SocketAddr::from((ip, 0)))
                    .map_err(|e| e.to_string())?;
                socket.connect(addr).await
            }
        }
        .map_err(|e| format!("connect: {e}"))?;
        s.write_all(&req.to_bytes(addr))
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if super::find(&buf, b"\r\n\r\n").is_none() {
            return Err(format!(
                "closed after {} bytes, before a whole head",
                buf.len()
            ));
        }
        Ok(super::parse_response(&buf))
    };
    tokio::time::timeout(wait, fut)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {wait:?}")))
}
