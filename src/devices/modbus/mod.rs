//! Modbus RTU, as hallq uses it: FC03, FC04, FC06 and FC16 on holding and
//! input registers, text in registers, and frame extraction from a serial
//! byte stream.
//!
//! - `frame.rs` — the vocabulary (requests, responses, exceptions, errors);
//! - `codec.rs` — whole frames to bytes and back, both sides of the bus;
//! - `extract.rs` — frames out of a stream of arbitrary pieces;
//! - `text.rs` — text as register values.
//!
//! The CRC is in `devices/crc.rs` (shared with the BX-5K).

pub mod codec;
pub mod extract;
pub mod frame;
pub mod text;

pub use codec::{
    decode_request, decode_response, encode_exception, encode_request, encode_response,
    read_holding_registers, read_input_registers, write_multiple_registers, write_registers_split,
    write_single_register,
};
pub use extract::{Incomplete, RequestExtractor, ResponseExtractor};
pub use frame::{
    BROADCAST, EncodeError, EncodedRequest, ExceptionCode, Expectation, FunctionCode,
    READ_REGISTERS_MAX, ReplyShape, Request, RequestError, Response, ResponseError, UNIT_MAX,
    WRITE_REGISTERS_MAX,
};
pub use text::RegisterText;
