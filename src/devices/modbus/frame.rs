//! Modbus RTU vocabulary: function codes, requests, responses, exception
//! codes, what a request expects back, and the errors of both directions.
//! No encoding here (that is `codec.rs`).
//!
//! An RTU ADU is `unit · function · data · CRC(lo, hi)`, at most 256 bytes.
//! Register addresses are 0-based PDU addresses, as in DESIGN.md §5.

use std::fmt;

/// Modbus broadcast address: every slave acts, none answers.
pub const BROADCAST: u8 = 0;
/// Highest unicast slave address (248–255 are reserved).
pub const UNIT_MAX: u8 = 247;
/// Registers one FC03/FC04 request may read (the PDU limit).
pub const READ_REGISTERS_MAX: u16 = 125;
/// Registers one FC16 request may write (the PDU limit).
pub const WRITE_REGISTERS_MAX: u16 = 123;
/// Largest RTU frame on the wire.
pub const ADU_BYTES_MAX: usize = 256;
/// Bytes of an exception response: unit, function | 0x80, code, CRC.
pub const EXCEPTION_LEN: usize = 5;

/// The function codes hallq uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionCode {
    /// FC03.
    ReadHoldingRegisters,
    /// FC04.
    ReadInputRegisters,
    /// FC06.
    WriteSingleRegister,
    /// FC16 (0x10).
    WriteMultipleRegisters,
}

impl FunctionCode {
    pub fn code(self) -> u8 {
        match self {
            FunctionCode::ReadHoldingRegisters => 0x03,
            FunctionCode::ReadInputRegisters => 0x04,
            FunctionCode::WriteSingleRegister => 0x06,
            FunctionCode::WriteMultipleRegisters => 0x10,
        }
    }

    pub fn from_code(code: u8) -> Option<FunctionCode> {
        match code {
            0x03 => Some(FunctionCode::ReadHoldingRegisters),
            0x04 => Some(FunctionCode::ReadInputRegisters),
            0x06 => Some(FunctionCode::WriteSingleRegister),
            0x10 => Some(FunctionCode::WriteMultipleRegisters),
            _ => None,
        }
    }

    /// The function byte of this function's exception response.
    pub fn exception_code(self) -> u8 {
        self.code() | 0x80
    }
}

/// A request from the master (hallq) to a slave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// FC03: `count` holding registers from `start` (1–125).
    ReadHoldingRegisters { start: u16, count: u16 },
    /// FC04: `count` input registers from `start` (1–125).
    ReadInputRegisters { start: u16, count: u16 },
    /// FC06: one holding register.
    WriteSingleRegister { address: u16, value: u16 },
    /// FC16: 1–123 consecutive holding registers from `start`.
    WriteMultipleRegisters { start: u16, values: Vec<u16> },
}

impl Request {
    pub fn function(&self) -> FunctionCode {
        match self {
            Request::ReadHoldingRegisters { .. } => FunctionCode::ReadHoldingRegisters,
            Request::ReadInputRegisters { .. } => FunctionCode::ReadInputRegisters,
            Request::WriteSingleRegister { .. } => FunctionCode::WriteSingleRegister,
            Request::WriteMultipleRegisters { .. } => FunctionCode::WriteMultipleRegisters,
        }
    }

    /// What a slave answers to this request (when it does not refuse it).
    pub fn reply_shape(&self) -> ReplyShape {
        match self {
            Request::ReadHoldingRegisters { count, .. }
            | Request::ReadInputRegisters { count, .. } => ReplyShape::Registers { count: *count },
            Request::WriteSingleRegister { address, value } => ReplyShape::EchoSingle {
                address: *address,
                value: *value,
            },
            Request::WriteMultipleRegisters { start, values } => ReplyShape::EchoMultiple {
                start: *start,
                // Encoding refuses more than 123 values, so this fits.
                count: u16::try_from(values.len()).unwrap_or(u16::MAX),
            },
        }
    }
}

/// A normal (non-exception) response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// FC03/FC04: the registers read, in order.
    Registers(Vec<u16>),
    /// FC06 echo.
    WroteSingle { address: u16, value: u16 },
    /// FC16 echo: where and how many were written.
    WroteMultiple { start: u16, count: u16 },
}

/// The exception codes of the Modbus application protocol (§7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExceptionCode {
    IllegalFunction,
    IllegalDataAddress,
    IllegalDataValue,
    ServerDeviceFailure,
    Acknowledge,
    ServerDeviceBusy,
    MemoryParityError,
    GatewayPathUnavailable,
    GatewayTargetFailed,
    /// A code the standard does not define, kept as sent.
    Other(u8),
}

impl ExceptionCode {
    pub fn from_code(code: u8) -> ExceptionCode {
        match code {
            0x01 => ExceptionCode::IllegalFunction,
            0x02 => ExceptionCode::IllegalDataAddress,
            0x03 => ExceptionCode::IllegalDataValue,
            0x04 => ExceptionCode::ServerDeviceFailure,
            0x05 => ExceptionCode::Acknowledge,
            0x06 => ExceptionCode::ServerDeviceBusy,
            0x08 => ExceptionCode::MemoryParityError,
            0x0A => ExceptionCode::GatewayPathUnavailable,
            0x0B => ExceptionCode::GatewayTargetFailed,
            other => ExceptionCode::Other(other),
        }
    }

    pub fn code(self) -> u8 {
        match self {
            ExceptionCode::IllegalFunction => 0x01,
            ExceptionCode::IllegalDataAddress => 0x02,
            ExceptionCode::IllegalDataValue => 0x03,
            ExceptionCode::ServerDeviceFailure => 0x04,
            ExceptionCode::Acknowledge => 0x05,
            ExceptionCode::ServerDeviceBusy => 0x06,
            ExceptionCode::MemoryParityError => 0x08,
            ExceptionCode::GatewayPathUnavailable => 0x0A,
            ExceptionCode::GatewayTargetFailed => 0x0B,
            ExceptionCode::Other(c) => c,
        }
    }
}

impl fmt::Display for ExceptionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ExceptionCode::IllegalFunction => "illegal function",
            ExceptionCode::IllegalDataAddress => "illegal data address",
            ExceptionCode::IllegalDataValue => "illegal data value",
            ExceptionCode::ServerDeviceFailure => "server device failure",
            ExceptionCode::Acknowledge => "acknowledge",
            ExceptionCode::ServerDeviceBusy => "server device busy",
            ExceptionCode::MemoryParityError => "memory parity error",
            ExceptionCode::GatewayPathUnavailable => "gateway path unavailable",
            ExceptionCode::GatewayTargetFailed => "gateway target failed to respond",
            ExceptionCode::Other(_) => "non-standard exception",
        };
        write!(f, "{name} (0x{:02X})", self.code())
    }
}

/// The shape of the normal response a request calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyShape {
    /// FC03/FC04: exactly `count` registers.
    Registers { count: u16 },
    /// FC06: the request echoed.
    EchoSingle { address: u16, value: u16 },
    /// FC16: start and count echoed.
    EchoMultiple { start: u16, count: u16 },
}

/// Everything needed to recognise and check the reply to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expectation {
    pub unit: u8,
    pub function: FunctionCode,
    pub shape: ReplyShape,
}

impl Expectation {
    /// Length in bytes of the normal response, CRC included.
    pub fn normal_len(&self) -> usize {
        match self.shape {
            // unit, fc, byte count, 2 × count, CRC
            ReplyShape::Registers { count } => 5 + 2 * usize::from(count),
            // unit, fc, 2 + 2 bytes, CRC
            ReplyShape::EchoSingle { .. } | ReplyShape::EchoMultiple { .. } => 8,
        }
    }
}

/// An encoded request, ready for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRequest {
    pub unit: u8,
    /// The whole ADU, CRC included.
    pub bytes: Vec<u8>,
    /// What to wait for; `None` for a broadcast (unit 0): nobody answers,
    /// so the bus must not wait for a reply (only for the turnaround delay).
    pub reply: Option<Expectation>,
}

impl EncodedRequest {
    pub fn expects_reply(&self) -> bool {
        self.reply.is_some()
    }
}

/// Why a request could not be encoded. These are programming or
/// configuration errors (profiles are validated against the same limits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("unit address {0} is reserved (use 1–247, or 0 to broadcast a write)")]
    InvalidUnit(u8),
    #[error("a read cannot be broadcast: nobody would answer it")]
    BroadcastRead,
    #[error("{count} registers in one request; allowed 1–{max}")]
    CountOutOfRange { count: usize, max: u16 },
    #[error("registers {start}..{start}+{count} run past address 65535")]
    AddressOverflow { start: u16, count: usize },
    #[error("the response does not belong to that function")]
    ResponseMismatch,
}

/// Why a response (as read by the master) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("response of {len} bytes is too short (at least {need} needed)")]
    Truncated { len: usize, need: usize },
    #[error("response of {len} bytes, expected {expected}")]
    WrongLength { len: usize, expected: usize },
    #[error("bad CRC: computed 0x{computed:04X}, received 0x{received:04X}")]
    BadCrc { computed: u16, received: u16 },
    #[error("answer from unit {found}, asked unit {expected}")]
    WrongUnit { expected: u8, found: u8 },
    #[error("function 0x{found:02X} in the answer, asked 0x{expected:02X}")]
    WrongFunction { expected: u8, found: u8 },
    #[error("byte count {found}, expected {expected}")]
    ByteCount { expected: usize, found: usize },
    #[error("the echo of the write does not match the request")]
    EchoMismatch,
    #[error("the device refused the request: {0}")]
    Exception(ExceptionCode),
}

/// Why a request (as read by a slave, e.g. the simulator) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request of {len} bytes is too short (at least {need} needed)")]
    Truncated { len: usize, need: usize },
    #[error("request of {len} bytes, its header says {expected}")]
    WrongLength { len: usize, expected: usize },
    #[error("bad CRC: computed 0x{computed:04X}, received 0x{received:04X}")]
    BadCrc { computed: u16, received: u16 },
    #[error("unsupported function 0x{0:02X}")]
    UnsupportedFunction(u8),
    #[error("{count} registers in one request; allowed 1–{max}")]
    CountOutOfRange { count: usize, max: u16 },
    #[error("byte count {found}, expected {expected}")]
    ByteCount { expected: usize, found: usize },
    #[error("registers {start}..{start}+{count} run past address 65535")]
    AddressOverflow { start: u16, count: usize },
}
