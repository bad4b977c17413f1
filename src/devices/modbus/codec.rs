//! Modbus RTU encoding and decoding of whole frames (ADUs), both ways:
//! the master's side (encode requests, decode responses) and the slave's
//! side (decode requests, encode responses), which the simulator uses.
//!
//! Layouts (all 16-bit fields big-endian, the CRC little-endian):
//!
//! | function | request | normal response |
//! |---|---|---|
//! | FC03/FC04 | `unit fc start count crc` (8) | `unit fc n data[n] crc`, n = 2·count (5 + n) |
//! | FC06 | `unit 06 address value crc` (8) | the request echoed (8) |
//! | FC16 | `unit 10 start count n data[n] crc`, n = 2·count (9 + n) | `unit 10 start count crc` (8) |
//! | any | | exception: `unit fc|0x80 code crc` (5) |
//!
//! Decoders never panic and never index out of bounds: every length is
//! checked before use.

use super::frame::{
    ADU_BYTES_MAX, BROADCAST, EXCEPTION_LEN, EncodeError, EncodedRequest, ExceptionCode,
    Expectation, FunctionCode, READ_REGISTERS_MAX, ReplyShape, Request, RequestError, Response,
    ResponseError, UNIT_MAX, WRITE_REGISTERS_MAX,
};
use crate::devices::crc::crc16_modbus;

/// Appends the Modbus CRC, low byte first.
pub fn push_crc(adu: &mut Vec<u8>) {
    let crc = crc16_modbus(adu);
    adu.extend_from_slice(&crc.to_le_bytes());
}

/// Checks the CRC in the last two bytes; `Err((computed, received))`.
/// `adu` must be at least 2 bytes long (callers check lengths first).
fn check_crc(adu: &[u8]) -> Result<(), (u16, u16)> {
    let Some((body, crc)) = adu.split_last_chunk::<2>() else {
        return Err((0, 0));
    };
    let computed = crc16_modbus(body);
    let received = u16::from_le_bytes(*crc);
    if computed == received {
        Ok(())
    } else {
        Err((computed, received))
    }
}

/// Whether `adu` (CRC included) carries a correct CRC.
pub fn crc_ok(adu: &[u8]) -> bool {
    adu.len() >= 2 && check_crc(adu).is_ok()
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

fn check_span(start: u16, count: usize, max: u16) -> Result<(), EncodeError> {
    if count == 0 || count > usize::from(max) {
        return Err(EncodeError::CountOutOfRange { count, max });
    }
    if usize::from(start) + count - 1 > usize::from(u16::MAX) {
        return Err(EncodeError::AddressOverflow { start, count });
    }
    Ok(())
}

/// Encodes `request` for `unit`. Unit 0 broadcasts a write (no reply is
/// expected); reads cannot be broadcast.
pub fn encode_request(unit: u8, request: &Request) -> Result<EncodedRequest, EncodeError> {
    if unit > UNIT_MAX {
        return Err(EncodeError::InvalidUnit(unit));
    }
    let function = request.function();
    let mut adu = Vec::with_capacity(16);
    adu.push(unit);
    adu.push(function.code());
    match request {
        Request::ReadHoldingRegisters { start, count }
        | Request::ReadInputRegisters { start, count } => {
            if unit == BROADCAST {
                return Err(EncodeError::BroadcastRead);
            }
            check_span(*start, usize::from(*count), READ_REGISTERS_MAX)?;
            adu.extend_from_slice(&start.to_be_bytes());
            adu.extend_from_slice(&count.to_be_bytes());
        }
        Request::WriteSingleRegister { address, value } => {
            adu.extend_from_slice(&address.to_be_bytes());
            adu.extend_from_slice(&value.to_be_bytes());
        }
        Request::WriteMultipleRegisters { start, values } => {
            check_span(*start, values.len(), WRITE_REGISTERS_MAX)?;
            // ≤ 123 registers, so both fit (checked just above).
            let count = values.len() as u16;
            adu.extend_from_slice(&start.to_be_bytes());
            adu.extend_from_slice(&count.to_be_bytes());
            adu.push((values.len() * 2) as u8);
            for v in values {
                adu.extend_from_slice(&v.to_be_bytes());
            }
        }
    }
    push_crc(&mut adu);
    debug_assert!(adu.len() <= ADU_BYTES_MAX);
    let reply = (unit != BROADCAST).then(|| Expectation {
        unit,
        function,
        shape: request.reply_shape(),
    });
    Ok(EncodedRequest {
        unit,
        bytes: adu,
        reply,
    })
}

/// FC03.
pub fn read_holding_registers(
    unit: u8,
    start: u16,
    count: u16,
) -> Result<EncodedRequest, EncodeError> {
    encode_request(unit, &Request::ReadHoldingRegisters { start, count })
}

/// FC04.
pub fn read_input_registers(
    unit: u8,
    start: u16,
    count: u16,
) -> Result<EncodedRequest, EncodeError> {
    encode_request(unit, &Request::ReadInputRegisters { start, count })
}

/// FC06.
pub fn write_single_register(
    unit: u8,
    address: u16,
    value: u16,
) -> Result<EncodedRequest, EncodeError> {
    encode_request(unit, &Request::WriteSingleRegister { address, value })
}

/// FC16 of 1–123 registers.
pub fn write_multiple_registers(
    unit: u8,
    start: u16,
    values: &[u16],
) -> Result<EncodedRequest, EncodeError> {
    encode_request(
        unit,
        &Request::WriteMultipleRegisters {
            start,
            values: values.to_vec(),
        },
    )
}

/// FC16 writes of any number of registers, split into frames of at most
/// `per_frame` registers (1–123; a device may accept fewer than the
/// protocol's 123). An empty `values` gives no frames.
pub fn write_registers_split(
    unit: u8,
    start: u16,
    values: &[u16],
    per_frame: u16,
) -> Result<Vec<EncodedRequest>, EncodeError> {
    if per_frame == 0 || per_frame > WRITE_REGISTERS_MAX {
        return Err(EncodeError::CountOutOfRange {
            count: usize::from(per_frame),
            max: WRITE_REGISTERS_MAX,
        });
    }
    if values.is_empty() {
        return Ok(Vec::new());
    }
    if usize::from(start) + values.len() - 1 > usize::from(u16::MAX) {
        return Err(EncodeError::AddressOverflow {
            start,
            count: values.len(),
        });
    }
    values
        .chunks(usize::from(per_frame))
        .enumerate()
        .map(|(i, chunk)| {
            // In range: the whole span was checked above.
            let at = start + (i * usize::from(per_frame)) as u16;
            write_multiple_registers(unit, at, chunk)
        })
        .collect()
}

/// Decodes the whole response `adu` to the request described by `expect`:
/// length, CRC, unit, function, byte count and echo are all checked. An
/// exception response is `Err(ResponseError::Exception(code))`.
pub fn decode_response(expect: &Expectation, adu: &[u8]) -> Result<Response, ResponseError> {
    if adu.len() < EXCEPTION_LEN {
        return Err(ResponseError::Truncated {
            len: adu.len(),
            need: EXCEPTION_LEN,
        });
    }
    if adu.len() > ADU_BYTES_MAX {
        return Err(ResponseError::WrongLength {
            len: adu.len(),
            expected: expect.normal_len(),
        });
    }
    check_crc(adu).map_err(|(computed, received)| ResponseError::BadCrc { computed, received })?;
    let (unit, function) = (adu[0], adu[1]);
    if unit != expect.unit {
        return Err(ResponseError::WrongUnit {
            expected: expect.unit,
            found: unit,
        });
    }
    let fc = expect.function.code();
    if function == expect.function.exception_code() {
        if adu.len() != EXCEPTION_LEN {
            return Err(ResponseError::WrongLength {
                len: adu.len(),
                expected: EXCEPTION_LEN,
            });
        }
        return Err(ResponseError::Exception(ExceptionCode::from_code(adu[2])));
    }
    if function != fc {
        return Err(ResponseError::WrongFunction {
            expected: fc,
            found: function,
        });
    }
    match expect.shape {
        ReplyShape::Registers { count } => {
            let byte_count = usize::from(adu[2]);
            if adu.len() != 5 + byte_count {
                return Err(ResponseError::WrongLength {
                    len: adu.len(),
                    expected: 5 + byte_count,
                });
            }
            let expected = 2 * usize::from(count);
            if byte_count != expected {
                return Err(ResponseError::ByteCount {
                    expected,
                    found: byte_count,
                });
            }
            let data = &adu[3..3 + byte_count];
            Ok(Response::Registers(
                data.chunks_exact(2)
                    .map(|p| u16::from_be_bytes([p[0], p[1]]))
                    .collect(),
            ))
        }
        ReplyShape::EchoSingle { address, value } => {
            let (a, v) = echo(adu)?;
            if (a, v) != (address, value) {
                return Err(ResponseError::EchoMismatch);
            }
            Ok(Response::WroteSingle { address, value })
        }
        ReplyShape::EchoMultiple { start, count } => {
            let (s, c) = echo(adu)?;
            if (s, c) != (start, count) {
                return Err(ResponseError::EchoMismatch);
            }
            Ok(Response::WroteMultiple { start, count })
        }
    }
}

/// The two 16-bit fields of an 8-byte echo response.
fn echo(adu: &[u8]) -> Result<(u16, u16), ResponseError> {
    if adu.len() != 8 {
        return Err(ResponseError::WrongLength {
            len: adu.len(),
            expected: 8,
        });
    }
    match (be16(adu, 2), be16(adu, 4)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(ResponseError::Truncated {
            len: adu.len(),
            need: 8,
        }),
    }
}

/// The length a request frame starting with `head` must have, once enough
/// of it is known: `Ok(None)` when more bytes are needed to tell.
pub(crate) fn request_len(head: &[u8]) -> Result<Option<usize>, RequestError> {
    let Some(&function) = head.get(1) else {
        return Ok(None);
    };
    match FunctionCode::from_code(function) {
        Some(FunctionCode::WriteMultipleRegisters) => Ok(head.get(6).map(|&n| 9 + usize::from(n))),
        Some(_) => Ok(Some(8)),
        None => Err(RequestError::UnsupportedFunction(function)),
    }
}

/// Decodes one whole request frame (the slave's side). Returns the unit it
/// was addressed to (0 = broadcast) and the request.
pub fn decode_request(adu: &[u8]) -> Result<(u8, Request), RequestError> {
    const MIN: usize = 8;
    if adu.len() < 4 {
        return Err(RequestError::Truncated {
            len: adu.len(),
            need: MIN,
        });
    }
    let expected = match request_len(adu)? {
        Some(n) => n,
        None => {
            return Err(RequestError::Truncated {
                len: adu.len(),
                need: MIN,
            });
        }
    };
    if adu.len() != expected {
        return Err(RequestError::WrongLength {
            len: adu.len(),
            expected,
        });
    }
    check_crc(adu).map_err(|(computed, received)| RequestError::BadCrc { computed, received })?;
    let unit = adu[0];
    // Length is at least 8 here, so these fields exist.
    let (a, b) = match (be16(adu, 2), be16(adu, 4)) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            return Err(RequestError::Truncated {
                len: adu.len(),
                need: MIN,
            });
        }
    };
    let span_ok = |start: u16, count: u16, max: u16| {
        if count == 0 || count > max {
            Err(RequestError::CountOutOfRange {
                count: usize::from(count),
                max,
            })
        } else if u32::from(start) + u32::from(count) - 1 > u32::from(u16::MAX) {
            Err(RequestError::AddressOverflow {
                start,
                count: usize::from(count),
            })
        } else {
            Ok(())
        }
    };
    let request = match FunctionCode::from_code(adu[1]) {
        Some(FunctionCode::ReadHoldingRegisters) => {
            span_ok(a, b, READ_REGISTERS_MAX)?;
            Request::ReadHoldingRegisters { start: a, count: b }
        }
        Some(FunctionCode::ReadInputRegisters) => {
            span_ok(a, b, READ_REGISTERS_MAX)?;
            Request::ReadInputRegisters { start: a, count: b }
        }
        Some(FunctionCode::WriteSingleRegister) => Request::WriteSingleRegister {
            address: a,
            value: b,
        },
        Some(FunctionCode::WriteMultipleRegisters) => {
            span_ok(a, b, WRITE_REGISTERS_MAX)?;
            let byte_count = usize::from(adu[6]);
            if byte_count != 2 * usize::from(b) {
                return Err(RequestError::ByteCount {
                    expected: 2 * usize::from(b),
                    found: byte_count,
                });
            }
            let values = adu[7..7 + byte_count]
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            Request::WriteMultipleRegisters { start: a, values }
        }
        None => return Err(RequestError::UnsupportedFunction(adu[1])),
    };
    Ok((unit, request))
}

/// Encodes a normal response as a slave sends it. `function` must match the
/// response (registers for FC03/FC04, the echoes for FC06/FC16).
pub fn encode_response(
    unit: u8,
    function: FunctionCode,
    response: &Response,
) -> Result<Vec<u8>, EncodeError> {
    let mut adu = vec![unit, function.code()];
    match (function, response) {
        (
            FunctionCode::ReadHoldingRegisters | FunctionCode::ReadInputRegisters,
            Response::Registers(values),
        ) => {
            if values.is_empty() || values.len() > usize::from(READ_REGISTERS_MAX) {
                return Err(EncodeError::CountOutOfRange {
                    count: values.len(),
                    max: READ_REGISTERS_MAX,
                });
            }
            adu.push((values.len() * 2) as u8);
            for v in values {
                adu.extend_from_slice(&v.to_be_bytes());
            }
        }
        (FunctionCode::WriteSingleRegister, Response::WroteSingle { address, value }) => {
            adu.extend_from_slice(&address.to_be_bytes());
            adu.extend_from_slice(&value.to_be_bytes());
        }
        (FunctionCode::WriteMultipleRegisters, Response::WroteMultiple { start, count }) => {
            adu.extend_from_slice(&start.to_be_bytes());
            adu.extend_from_slice(&count.to_be_bytes());
        }
        _ => return Err(EncodeError::ResponseMismatch),
    }
    push_crc(&mut adu);
    Ok(adu)
}

/// Encodes an exception response to `function` (the request's function byte).
pub fn encode_exception(unit: u8, function: u8, code: ExceptionCode) -> Vec<u8> {
    let mut adu = vec![unit, function | 0x80, code.code()];
    push_crc(&mut adu);
    adu
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_vector_read_holding() {
        let r = read_holding_registers(1, 0, 10).unwrap();
        assert_eq!(r.bytes, [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD]);
        assert_eq!(r.reply.unwrap().normal_len(), 25);
    }

    #[test]
    fn broadcast_write_expects_nothing_and_reads_are_refused() {
        let w = write_single_register(0, 0, 1).unwrap();
        assert!(!w.expects_reply());
        assert_eq!(
            read_input_registers(0, 0, 9),
            Err(EncodeError::BroadcastRead)
        );
        assert_eq!(
            write_single_register(248, 0, 1),
            Err(EncodeError::InvalidUnit(248))
        );
    }

    #[test]
    fn limits() {
        assert!(read_holding_registers(1, 0, 125).is_ok());
        assert!(matches!(
            read_holding_registers(1, 0, 126),
            Err(EncodeError::CountOutOfRange { .. })
        ));
        assert!(matches!(
            read_holding_registers(1, 0, 0),
            Err(EncodeError::CountOutOfRange { .. })
        ));
        assert!(write_multiple_registers(1, 0, &[0; 123]).is_ok());
        assert!(write_multiple_registers(1, 0, &[0; 124]).is_err());
        assert!(write_multiple_registers(1, 0xFFFF, &[0; 1]).is_ok());
        assert_eq!(
            write_multiple_registers(1, 0xFFFF, &[0; 2]),
            Err(EncodeError::AddressOverflow {
                start: 0xFFFF,
                count: 2
            })
        );
    }

    #[test]
    fn split_writes() {
        let values: Vec<u16> = (0..300).collect();
        let frames = write_registers_split(3, 64, &values, 123).unwrap();
        assert_eq!(frames.len(), 3);
        let decoded: Vec<(u8, Request)> = frames
            .iter()
            .map(|f| decode_request(&f.bytes).unwrap())
            .collect();
        assert_eq!(
            decoded[1].1,
            Request::WriteMultipleRegisters {
                start: 64 + 123,
                values: (123..246).collect()
            }
        );
        let Request::WriteMultipleRegisters { start, values } = &decoded[2].1 else {
            panic!()
        };
        assert_eq!((*start, values.len()), (64 + 246, 54));
        assert!(write_registers_split(3, 0, &[1, 2], 0).is_err());
        assert!(write_registers_split(3, 0, &[], 10).unwrap().is_empty());
    }
}
