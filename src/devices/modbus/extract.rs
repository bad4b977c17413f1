//! Finding whole frames in the bytes a serial port hands over, which come in
//! arbitrary pieces, may start with line noise or the tail of an earlier
//! answer, and may never complete.
//!
//! RTU frames carry no length of their own; the reader knows what it asked
//! for. [`ResponseExtractor`] (the master's side) knows the expected unit,
//! function and length; it tries every position where `unit · function`
//! (or `unit · function|0x80`) appears and accepts the first candidate whose
//! CRC holds. Garbage before a frame, a frame split across reads, and false
//! starts inside garbage are all handled the same way. When the bus gives up
//! (its timeout, or the 3.5-character silence after the last byte), it asks
//! [`ResponseExtractor::verdict`] why nothing came, for its error counters.
//!
//! [`RequestExtractor`] is the slave's side (the simulator): it finds every
//! request with a correct CRC in a stream.
//!
//! Both hold at most [`BUFFER_BYTES_MAX`] bytes: older bytes are dropped
//! (and counted as garbage) when a device floods the line.

use super::codec::{crc_ok, decode_request, decode_response, request_len};
use super::frame::{
    ADU_BYTES_MAX, EXCEPTION_LEN, Expectation, ReplyShape, Request, RequestError, Response,
    ResponseError,
};

/// Bytes kept while looking for a frame: two of the largest frames.
pub const BUFFER_BYTES_MAX: usize = 2 * ADU_BYTES_MAX;

/// Why no response was extracted by the time the bus stopped waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incomplete {
    /// Not a single byte arrived: the device is silent (a timeout).
    Silent,
    /// A frame of the right unit and function arrived, but its CRC was wrong.
    BadCrc,
    /// The start of a plausible frame arrived, but not all of it.
    Truncated { have: usize, need: Option<usize> },
    /// Only bytes that cannot be the expected reply.
    Garbage { bytes: usize },
}

/// Where a candidate frame starting at some position stands.
enum Candidate {
    /// The bytes there cannot start the reply.
    No,
    /// Could start the reply; `need` is its length if already known.
    Open { need: Option<usize> },
}

/// Extracts the one response to one request. Make a new one per request.
#[derive(Debug, Clone)]
pub struct ResponseExtractor {
    expect: Expectation,
    buf: Vec<u8>,
    garbage: usize,
    saw_bad_crc: bool,
    /// The earliest open candidate of the last scan: (offset, need).
    pending: Option<(usize, Option<usize>)>,
    done: bool,
}

impl ResponseExtractor {
    pub fn new(expect: Expectation) -> ResponseExtractor {
        ResponseExtractor {
            expect,
            buf: Vec::with_capacity(expect.normal_len().min(ADU_BYTES_MAX)),
            garbage: 0,
            saw_bad_crc: false,
            pending: None,
            done: false,
        }
    }

    pub fn expectation(&self) -> &Expectation {
        &self.expect
    }

    /// Feeds bytes as read. Returns the response once a frame with a
    /// correct CRC is found: `Ok` for a normal response that matches the
    /// request, `Err` for an exception response or a frame that fails the
    /// checks (wrong byte count, wrong echo). After that, the extractor is
    /// done and counts further bytes as garbage.
    pub fn push(&mut self, bytes: &[u8]) -> Option<Result<Response, ResponseError>> {
        if self.done {
            self.garbage = self.garbage.saturating_add(bytes.len());
            return None;
        }
        self.buf.extend_from_slice(bytes);
        self.pending = None;
        for at in 0..self.buf.len() {
            let need = match self.candidate(at) {
                Candidate::No => continue,
                Candidate::Open { need: None } => {
                    self.pending.get_or_insert((at, None));
                    continue;
                }
                Candidate::Open { need: Some(n) } => n,
            };
            let Some(frame) = self.buf.get(at..at + need) else {
                self.pending.get_or_insert((at, Some(need)));
                continue;
            };
            if crc_ok(frame) {
                let result = decode_response(&self.expect, frame);
                self.garbage += self.buf.len() - need;
                self.buf.clear();
                self.pending = None;
                self.done = true;
                return Some(result);
            }
            self.saw_bad_crc = true;
        }
        // Nothing complete: keep what may still become the reply.
        let keep_from = self.pending.map_or(self.buf.len(), |(at, _)| at);
        self.discard(keep_from);
        if self.buf.len() > BUFFER_BYTES_MAX {
            self.discard(self.buf.len() - BUFFER_BYTES_MAX);
            self.pending = None;
        }
        None
    }

    fn discard(&mut self, n: usize) {
        self.garbage = self.garbage.saturating_add(n);
        self.buf.drain(..n);
        if let Some((at, _)) = &mut self.pending {
            *at = at.saturating_sub(n);
        }
    }

    /// Whether the frame could start at `at`, and how long it would be.
    fn candidate(&self, at: usize) -> Candidate {
        let buf = &self.buf[at..];
        match buf.first() {
            Some(&u) if u == self.expect.unit => {}
            _ => return Candidate::No,
        }
        let Some(&function) = buf.get(1) else {
            return Candidate::Open { need: None };
        };
        if function == self.expect.function.exception_code() {
            return Candidate::Open {
                need: Some(EXCEPTION_LEN),
            };
        }
        if function != self.expect.function.code() {
            return Candidate::No;
        }
        match self.expect.shape {
            // The device says how many bytes follow; a wrong count with a
            // good CRC is reported as such by the decoder.
            ReplyShape::Registers { .. } => match buf.get(2) {
                None => Candidate::Open { need: None },
                Some(&n) if 5 + usize::from(n) <= ADU_BYTES_MAX => Candidate::Open {
                    need: Some(5 + usize::from(n)),
                },
                Some(_) => Candidate::No,
            },
            ReplyShape::EchoSingle { .. } | ReplyShape::EchoMultiple { .. } => {
                Candidate::Open { need: Some(8) }
            }
        }
    }

    /// Bytes dropped so far as not being the reply.
    pub fn garbage_bytes(&self) -> usize {
        self.garbage
    }

    /// Why no response came, for when the bus stops waiting.
    pub fn verdict(&self) -> Incomplete {
        if self.saw_bad_crc {
            Incomplete::BadCrc
        } else if let Some((at, need)) = self.pending {
            Incomplete::Truncated {
                have: self.buf.len() - at,
                need,
            }
        } else if self.garbage > 0 || !self.buf.is_empty() {
            Incomplete::Garbage {
                bytes: self.garbage + self.buf.len(),
            }
        } else {
            Incomplete::Silent
        }
    }
}

/// Finds requests in the byte stream a slave receives (the simulator's
/// side). Any unit is accepted; the caller dispatches on it.
#[derive(Debug, Clone, Default)]
pub struct RequestExtractor {
    buf: Vec<u8>,
    garbage: usize,
}

impl RequestExtractor {
    pub fn new() -> RequestExtractor {
        RequestExtractor::default()
    }

    /// Feeds bytes; returns every frame completed by them, in order: `Ok`
    /// for a valid request, `Err` for a frame whose CRC holds but whose
    /// content is refused (a slave answers those with an exception).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<(u8, Request), RequestError>> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut consumed = 0;
        let mut pending: Option<usize> = None;
        let mut at = 0;
        while at < self.buf.len() {
            let rest = &self.buf[at..];
            let need = match request_len(rest) {
                Ok(Some(n)) => n,
                Ok(None) => {
                    pending.get_or_insert(at);
                    at += 1;
                    continue;
                }
                Err(_) => {
                    at += 1;
                    continue;
                }
            };
            match rest.get(..need) {
                Some(frame) if crc_ok(frame) => {
                    out.push(decode_request(frame));
                    self.garbage += at - consumed;
                    at += need;
                    consumed = at;
                    pending = None;
                }
                Some(_) => at += 1,
                None => {
                    pending.get_or_insert(at);
                    at += 1;
                }
            }
        }
        let keep_from = pending.unwrap_or(self.buf.len()).max(consumed);
        self.garbage += keep_from - consumed;
        self.buf.drain(..keep_from);
        if self.buf.len() > BUFFER_BYTES_MAX {
            let excess = self.buf.len() - BUFFER_BYTES_MAX;
            self.garbage += excess;
            self.buf.drain(..excess);
        }
        out
    }

    /// Forgets a partial frame, as a slave does after 3.5 characters of
    /// silence.
    pub fn reset(&mut self) {
        self.garbage += self.buf.len();
        self.buf.clear();
    }

    /// Bytes dropped so far as not being part of a request.
    pub fn garbage_bytes(&self) -> usize {
        self.garbage
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::modbus::codec::{
        encode_exception, encode_response, read_input_registers, write_multiple_registers,
    };
    use crate::devices::modbus::frame::{ExceptionCode, FunctionCode};

    fn fc04_reply(unit: u8, values: &[u16]) -> Vec<u8> {
        encode_response(
            unit,
            FunctionCode::ReadInputRegisters,
            &Response::Registers(values.to_vec()),
        )
        .unwrap()
    }

    #[test]
    fn garbage_then_split_frame() {
        let req = read_input_registers(7, 0, 3).unwrap();
        let mut x = ResponseExtractor::new(req.reply.unwrap());
        let reply = fc04_reply(7, &[2, 1, 5]);
        // Garbage that even starts like the reply (unit 7, FC04).
        assert_eq!(x.push(&[0x00, 0xFF, 0x07, 0x04, 0x06, 0x11]), None);
        assert_eq!(x.push(&reply[..4]), None);
        assert_eq!(
            x.push(&reply[4..]),
            Some(Ok(Response::Registers(vec![2, 1, 5])))
        );
        assert_eq!(x.garbage_bytes(), 6);
    }

    #[test]
    fn exception_is_a_typed_error() {
        let req = read_input_registers(2, 0, 9).unwrap();
        let mut x = ResponseExtractor::new(req.reply.unwrap());
        let exc = encode_exception(2, 0x04, ExceptionCode::IllegalDataAddress);
        assert_eq!(
            x.push(&exc),
            Some(Err(ResponseError::Exception(
                ExceptionCode::IllegalDataAddress
            )))
        );
    }

    #[test]
    fn verdicts() {
        let req = write_multiple_registers(1, 0, &[1, 2]).unwrap();
        let expect = req.reply.unwrap();
        let x = ResponseExtractor::new(expect);
        assert_eq!(x.verdict(), Incomplete::Silent);

        let mut x = ResponseExtractor::new(expect);
        let mut good = encode_response(
            1,
            FunctionCode::WriteMultipleRegisters,
            &Response::WroteMultiple { start: 0, count: 2 },
        )
        .unwrap();
        assert_eq!(x.push(&good[..5]), None);
        assert_eq!(
            x.verdict(),
            Incomplete::Truncated {
                have: 5,
                need: Some(8)
            }
        );
        good[7] ^= 0x55;
        let mut x = ResponseExtractor::new(expect);
        assert_eq!(x.push(&good), None);
        assert_eq!(x.verdict(), Incomplete::BadCrc);

        let mut x = ResponseExtractor::new(expect);
        assert_eq!(x.push(&[9, 9, 9]), None);
        assert_eq!(x.verdict(), Incomplete::Garbage { bytes: 3 });
    }

    #[test]
    fn flood_is_bounded() {
        let req = read_input_registers(1, 0, 9).unwrap();
        let mut x = ResponseExtractor::new(req.reply.unwrap());
        for _ in 0..100 {
            // A run of false starts: "01 04 FA" claims a 255-byte frame.
            assert_eq!(x.push(&[0x01, 0x04, 0xFA, 0x00].repeat(50)), None);
            assert!(x.buf.len() <= BUFFER_BYTES_MAX);
        }
        let reply = fc04_reply(1, &[0; 9]);
        assert_eq!(x.push(&reply), Some(Ok(Response::Registers(vec![0; 9]))));
    }

    #[test]
    fn requests_in_a_stream() {
        let a = write_multiple_registers(3, 16, &[0x41, 0x30])
            .unwrap()
            .bytes;
        let b = read_input_registers(4, 0, 9).unwrap().bytes;
        let mut stream = vec![0xEE, 0x03];
        stream.extend_from_slice(&a);
        stream.extend_from_slice(&[0x55]);
        stream.extend_from_slice(&b);
        let mut x = RequestExtractor::new();
        let mut got = Vec::new();
        for piece in stream.chunks(3) {
            got.extend(x.push(piece));
        }
        assert_eq!(
            got,
            vec![
                Ok((
                    3,
                    Request::WriteMultipleRegisters {
                        start: 16,
                        values: vec![0x41, 0x30]
                    }
                )),
                Ok((4, Request::ReadInputRegisters { start: 0, count: 9 })),
            ]
        );
        assert_eq!(x.garbage_bytes(), 3);
    }
}
