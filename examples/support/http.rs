//! The load tools' HTTP/1.1 client (`loadgen`, `soak`), included by each
//! with `#[path = "support/http.rs"] mod http;`.

use std::io::{self, Write as _};
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A minimal HTTP/1.1 keep-alive client, as lean as wrk's: each request is
/// written with one `write` from a reused buffer and its answer read into a
/// reused buffer and parsed in place (httparse); nothing is allocated per
/// request once the buffers have grown. No pipelining: one request in flight
/// per connection (a closed loop).
pub struct Conn {
    addr: SocketAddr,
    stream: TcpStream,
    /// `Host: …\r\nAuthorization: Bearer …\r\n`, sent with every request.
    fixed: Vec<u8>,
    host: String,
    out: Vec<u8>,
    buf: Vec<u8>,
    /// A chunked body, decoded.
    dechunked: Vec<u8>,
    /// The server said `Connection: close`: reconnect before the next request.
    closing: bool,
    /// Connections reopened because the server had closed them while idle
    /// (its keep-alive limit), as a browser does before reusing one.
    pub reopened: u64,
}

#[derive(Debug, Clone, Copy)]
pub enum Verb {
    Get,
    Post,
}

fn bad_data(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// How the body of an answer is delimited.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

impl Conn {
    pub async fn open(addr: SocketAddr, token: &str) -> io::Result<Conn> {
        let stream = connect(addr).await?;
        let mut conn = Conn {
            addr,
            stream,
            fixed: Vec::new(),
            host: addr.to_string(),
            out: Vec::with_capacity(1024),
            buf: Vec::with_capacity(16 * 1024),
            dechunked: Vec::new(),
            closing: false,
            reopened: 0,
        };
        conn.set_token(token);
        Ok(conn)
    }

    pub fn set_token(&mut self, token: &str) {
        self.fixed.clear();
        let _ = write!(
            self.fixed,
            "Host: {}\r\nAuthorization: Bearer {token}\r\n",
            self.host
        );
    }

    pub async fn reconnect(&mut self) -> io::Result<()> {
        self.stream = connect(self.addr).await?;
        self.buf.clear();
        self.closing = false;
        Ok(())
    }

    /// Sends one request and reads its answer: (status, body). `key`
    /// (client id, sequence) becomes the Idempotency-Key.
    pub async fn send(
        &mut self,
        verb: Verb,
        path: &str,
        key: Option<(u32, u64)>,
        body: &[u8],
    ) -> io::Result<(u16, &[u8])> {
        if self.closing {
            self.reconnect().await?;
        } else if self.closed_while_idle() {
            self.reopened += 1;
            self.reconnect().await?;
        }
        let out = &mut self.out;
        out.clear();
        out.extend_from_slice(match verb {
            Verb::Get => b"GET ",
            Verb::Post => b"POST ",
        });
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        out.extend_from_slice(&self.fixed);
        if !body.is_empty() {
            out.extend_from_slice(b"Content-Type: application/json\r\n");
        }
        let _ = write!(out, "Content-Length: {}\r\n", body.len());
        if let Some((client, seq)) = key {
            let _ = write!(
                out,
                "Idempotency-Key: lg{}-{client}-{seq}\r\n",
                std::process::id()
            );
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        self.stream.write_all(out).await?;
        self.read_answer().await
    }

    /// True when the server has closed this idle connection (end of
    /// stream, a reset, or bytes nobody asked for). Looks without waiting;
    /// a close still on its way is met by the caller's retry.
    fn closed_while_idle(&mut self) -> bool {
        let mut byte = [0u8; 1];
        !matches!(self.stream.try_read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(16 * 1024);
        }
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    async fn read_answer(&mut self) -> io::Result<(u16, &[u8])> {
        // One request in flight: nothing of an earlier answer is left over.
        self.buf.clear();
        let (head, status, framing) = loop {
            if !self.buf.is_empty() {
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let mut answer = httparse::Response::new(&mut headers);
                if let httparse::Status::Complete(head) =
                    answer.parse(&self.buf).map_err(bad_data)?
                {
                    let status = answer.code.unwrap_or(0);
                    let mut framing =
                        if status == 204 || status == 304 || (100..200).contains(&status) {
                            Framing::Length(0)
                        } else {
                            Framing::UntilClose
                        };
                    for h in answer.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            let n = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse().ok())
                                .ok_or_else(|| bad_data("bad Content-Length"))?;
                            framing = Framing::Length(n);
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
                            && h.value.eq_ignore_ascii_case(b"chunked")
                        {
                            framing = Framing::Chunked;
                        } else if h.name.eq_ignore_ascii_case("connection")
                            && h.value.eq_ignore_ascii_case(b"close")
                        {
                            self.closing = true;
                        }
                    }
                    break (head, status, framing);
                }
            }
            self.fill().await?;
        };
        match framing {
            Framing::Length(n) => {
                while self.buf.len() < head + n {
                    self.fill().await?;
                }
                Ok((status, &self.buf[head..head + n]))
            }
            Framing::Chunked => {
                while !dechunk(&self.buf[head..], &mut self.dechunked)? {
                    self.fill().await?;
                }
                Ok((status, &self.dechunked))
            }
            Framing::UntilClose => {
                self.closing = true;
                loop {
                    match self.fill().await {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                        Err(e) => return Err(e),
                    }
                }
                Ok((status, &self.buf[head..]))
            }
        }
    }
}

pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Decodes a complete chunked body into `out`; false while incomplete.
/// (Trailers are not expected from hallq or axum.)
fn dechunk(data: &[u8], out: &mut Vec<u8>) -> io::Result<bool> {
    out.clear();
    let mut pos = 0;
    loop {
        match httparse::parse_chunk_size(&data[pos..]).map_err(|_| bad_data("bad chunk size"))? {
            httparse::Status::Partial => return Ok(false),
            httparse::Status::Complete((used, 0)) => return Ok(data.len() >= pos + used + 2),
            httparse::Status::Complete((used, size)) => {
                let size = usize::try_from(size).map_err(bad_data)?;
                let chunk = pos + used;
                if data.len() < chunk + size + 2 {
                    return Ok(false);
                }
                out.extend_from_slice(&data[chunk..chunk + size]);
                pos = chunk + size + 2;
            }
        }
    }
}

pub fn ok(status: u16) -> bool {
    (200..300).contains(&status)
}
