//! One exchange on a serial line: keep the inter-frame gap, drop stale
//! bytes, write a request, and read its reply within a deadline.
//!
//! Every wait here is bounded (DESIGN.md §4 invariant 5): the request's
//! timeout, the gap, and [`SETTLE_MAX`] for a line that keeps chattering.
//! Nothing here knows which device it talks to beyond the frame shapes.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

use crate::devices::bx5k::{self, FrameExtractor as Bx5kExtractor, Packet};
use crate::devices::modbus::extract::{Incomplete, ResponseExtractor};
use crate::devices::modbus::{EncodedRequest, Response, ResponseError};
use crate::devices::tts::Reply as TtsReply;

use super::health::Failure;

/// The longest time spent waiting for a chattering line to fall silent
/// after a failed exchange; after that the next request goes out anyway.
pub const SETTLE_MAX: Duration = Duration::from_millis(300);
/// Added to the request timeout to bound a write (a frame at 1200 baud
/// takes up to ~2 s on the wire, but the kernel buffers it at once).
pub const WRITE_SLACK: Duration = Duration::from_millis(500);
/// Bytes read at once.
const READ_CHUNK: usize = 512;

/// A byte stream a bus can run on: a serial port, a PTY, or an in-memory pipe.
pub trait Wire: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Wire for T {}

/// A boxed [`Wire`].
pub type BoxWire = Box<dyn Wire>;

/// The result of one Modbus exchange.
#[derive(Debug)]
pub enum ModbusOutcome {
    /// A broadcast: written, nobody answers.
    Sent,
    Reply(Response),
    /// The device answered with an exception code.
    Exception(u8),
}

/// A serial line and its timing.
pub struct Line {
    wire: BoxWire,
    timeout: Duration,
    gap: Duration,
    /// When the line was last busy (a byte written or read).
    quiet_since: Instant,
    /// Bytes that arrived when nobody asked (stale replies, noise).
    pub stray_bytes: u64,
    /// Bytes written and read, for the bus's counters.
    pub bytes_out: u64,
    pub bytes_in: u64,
    buf: Box<[u8; READ_CHUNK]>,
}

impl Line {
    pub fn new(wire: BoxWire, timeout: Duration, gap: Duration) -> Line {
        Line {
            wire,
            timeout,
            gap,
            quiet_since: Instant::now(),
            stray_bytes: 0,
            bytes_out: 0,
            bytes_in: 0,
            buf: Box::new([0; READ_CHUNK]),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Reads what is there until `deadline`; `Ok(0)` at the deadline.
    async fn read_until(&mut self, deadline: Instant) -> io::Result<usize> {
        match timeout_at(deadline, self.wire.read(&mut self.buf[..])).await {
            Err(_) => Ok(0),
            Ok(Ok(0)) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "port closed")),
            Ok(Ok(n)) => {
                self.bytes_in += n as u64;
                self.quiet_since = Instant::now();
                Ok(n)
            }
            Ok(Err(e)) => Err(e),
        }
    }

    /// Waits out the inter-frame gap, dropping bytes nobody asked for, so a
    /// late answer to an earlier request is not taken for the next one.
    async fn settle(&mut self, max: Duration) -> io::Result<()> {
        let give_up = Instant::now() + max;
        loop {
            let quiet_until = self.quiet_since + self.gap;
            let now = Instant::now();
            if now >= give_up {
                return Ok(());
            }
            let deadline = quiet_until.max(now).min(give_up);
            // Poll at least once, even when the gap has already passed.
            let n = if deadline <= now {
                match timeout_at(now, self.wire.read(&mut self.buf[..])).await {
                    Ok(Ok(0)) => {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "port closed"));
                    }
                    Ok(Ok(n)) => {
                        self.bytes_in += n as u64;
                        self.quiet_since = Instant::now();
                        n
                    }
                    Ok(Err(e)) => return Err(e),
                    Err(_) => 0,
                }
            } else {
                self.read_until(deadline).await?
            };
            if n == 0 && Instant::now() >= quiet_until {
                return Ok(());
            }
            self.stray_bytes += n as u64;
        }
    }

    /// Waits until the line has been quiet for the inter-frame gap, so the
    /// next job is chosen when it can go out at once (a call that arrives
    /// during the gap is not stuck behind a job chosen before it).
    pub async fn wait_quiet(&mut self) {
        let until = self.quiet_since + self.gap;
        if until > Instant::now() {
            tokio::time::sleep_until(until).await;
        }
    }

    /// After a failed exchange: a slow device may still answer. Reads for
    /// half a request timeout more (counting what comes as stray), then
    /// until the line has been quiet for the gap, at most [`SETTLE_MAX`].
    pub async fn drain_late(&mut self) -> io::Result<()> {
        let late_window = Instant::now() + self.timeout / 2;
        loop {
            let n = self.read_until(late_window).await?;
            if n == 0 {
                break;
            }
            self.stray_bytes += n as u64;
        }
        self.settle(SETTLE_MAX).await
    }

    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.settle(self.gap + self.gap).await?;
        // A port whose driver stalls must not hang the bus: bounded too.
        let limit = self.timeout + WRITE_SLACK;
        let write = async {
            self.wire.write_all(bytes).await?;
            self.wire.flush().await
        };
        match tokio::time::timeout(limit, write).await {
            Ok(result) => result?,
            Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "write stalled")),
        }
        self.bytes_out += bytes.len() as u64;
        self.quiet_since = Instant::now();
        Ok(())
    }

    /// One Modbus request and its reply (none for a broadcast).
    pub async fn modbus(&mut self, request: &EncodedRequest) -> Result<ModbusOutcome, Failure> {
        self.send(&request.bytes).await.map_err(|_| Failure::Port)?;
        let Some(expect) = request.reply else {
            return Ok(ModbusOutcome::Sent);
        };
        let mut extractor = ResponseExtractor::new(expect);
        let deadline = Instant::now() + self.timeout;
        loop {
            let n = self.read_until(deadline).await.map_err(|_| Failure::Port)?;
            if n == 0 {
                return Err(match extractor.verdict() {
                    Incomplete::Silent => Failure::Timeout,
                    Incomplete::BadCrc => Failure::BadCrc,
                    Incomplete::Truncated { .. } => Failure::Timeout,
                    Incomplete::Garbage { .. } => Failure::Garbage,
                });
            }
            match extractor.push(&self.buf[..n]) {
                None => continue,
                Some(Ok(response)) => return Ok(ModbusOutcome::Reply(response)),
                Some(Err(ResponseError::Exception(code))) => {
                    return Ok(ModbusOutcome::Exception(code.code()));
                }
                Some(Err(_)) => return Err(Failure::BadReply),
            }
        }
    }

    /// One BX-5K frame and the controller's reply frame.
    pub async fn bx5k(&mut self, frame: &[u8]) -> Result<Packet, Failure> {
        self.send(frame).await.map_err(|_| Failure::Port)?;
        let mut extractor = Bx5kExtractor::new();
        let mut bad = false;
        let deadline = Instant::now() + self.timeout;
        loop {
            let n = self.read_until(deadline).await.map_err(|_| Failure::Port)?;
            if n == 0 {
                return Err(if bad {
                    Failure::BadCrc
                } else if extractor.garbage_bytes() > 0 || extractor.in_frame() {
                    Failure::Garbage
                } else {
                    Failure::Timeout
                });
            }
            for result in extractor.push(&self.buf[..n]) {
                match result {
                    Ok(packet) => return Ok(packet),
                    Err(_) => bad = true,
                }
            }
        }
    }

    /// A BX-5K exchange that must be acknowledged.
    pub async fn bx5k_acked(&mut self, frame: &[u8]) -> Result<(), Failure> {
        let packet = self.bx5k(frame).await?;
        match bx5k::status(&packet) {
            bx5k::Status::Ack => Ok(()),
            _ => Err(Failure::BadReply),
        }
    }

    /// Writes a TTS frame and waits up to `wait` for the chip's first
    /// status byte (bytes that are not status bytes are noise).
    pub async fn tts(&mut self, frame: &[u8], wait: Duration) -> Result<TtsReply, Failure> {
        self.send(frame).await.map_err(|_| Failure::Port)?;
        self.tts_reply(wait).await
    }

    /// Waits up to `wait` for the next TTS status byte.
    pub async fn tts_reply(&mut self, wait: Duration) -> Result<TtsReply, Failure> {
        let deadline = Instant::now() + wait;
        let mut noise = false;
        loop {
            let n = self.read_until(deadline).await.map_err(|_| Failure::Port)?;
            if n == 0 {
                return Err(if noise {
                    Failure::Garbage
                } else {
                    Failure::Timeout
                });
            }
            for &b in &self.buf[..n] {
                match TtsReply::from_byte(b) {
                    TtsReply::Unknown(_) => noise = true,
                    reply => return Ok(reply),
                }
            }
        }
    }

    /// Waits for a TTS status byte until `deadline`, keeping the line's
    /// counters; `None` at the deadline.
    pub async fn tts_reply_until(
        &mut self,
        deadline: Instant,
    ) -> Result<Option<TtsReply>, Failure> {
        loop {
            let n = self.read_until(deadline).await.map_err(|_| Failure::Port)?;
            if n == 0 {
                return Ok(None);
            }
            if let Some(reply) = self.buf[..n]
                .iter()
                .map(|&b| TtsReply::from_byte(b))
                .find(|r| !matches!(r, TtsReply::Unknown(_)))
            {
                return Ok(Some(reply));
            }
        }
    }
}

/// A wire for a port that could not be opened: every operation fails, so
/// the bus books port errors and keeps trying to open it.
pub struct DeadWire;

impl AsyncRead for DeadWire {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Err(io::ErrorKind::NotConnected.into()))
    }
}

impl AsyncWrite for DeadWire {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::task::Poll::Ready(Err(io::ErrorKind::NotConnected.into()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Err(io::ErrorKind::NotConnected.into()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::modbus;

    fn line(wire: BoxWire) -> Line {
        Line::new(wire, Duration::from_millis(50), Duration::from_millis(2))
    }

    #[tokio::test]
    async fn a_write_the_port_never_takes_is_a_port_failure_in_bounded_time() {
        // A 16-byte pipe whose far end never reads: writes stall.
        let (near, _far) = tokio::io::duplex(16);
        let mut line = line(Box::new(near));
        let request = modbus::write_multiple_registers(1, 0, &[0; 40]).unwrap();
        let start = std::time::Instant::now();
        let outcome = line.modbus(&request).await;
        assert!(matches!(outcome, Err(Failure::Port)), "{outcome:?}");
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_late_answer_is_drained_not_taken_for_the_next_request() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (near, mut far) = tokio::io::duplex(1024);
        let mut line = line(Box::new(near));
        let read = modbus::read_holding_registers(1, 0, 1).unwrap();
        let answer_to_read = {
            let mut adu = vec![1, 3, 2, 0x12, 0x34];
            modbus::codec::push_crc(&mut adu);
            adu
        };
        let device = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            // First request: answer 60 ms late (10 ms after the 50 ms timeout).
            let _ = far.read(&mut buf).await;
            tokio::time::sleep(Duration::from_millis(60)).await;
            far.write_all(&answer_to_read).await.unwrap();
            // Second request (the same read): answer at once with 0xABCD.
            let _ = far.read(&mut buf).await;
            let mut adu = vec![1, 3, 2, 0xAB, 0xCD];
            modbus::codec::push_crc(&mut adu);
            far.write_all(&adu).await.unwrap();
            far
        });
        assert!(matches!(line.modbus(&read).await, Err(Failure::Timeout)));
        line.drain_late().await.unwrap();
        assert!(line.stray_bytes >= 7, "the late answer was drained");
        match line.modbus(&read).await {
            Ok(ModbusOutcome::Reply(Response::Registers(r))) => assert_eq!(r, [0xABCD]),
            other => panic!("{other:?}"),
        }
        drop(device.await);
    }
}
