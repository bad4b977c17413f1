//! Opening a bus's serial port as configured.

use std::io;
use std::time::Duration;

use tokio_serial::SerialPortBuilderExt;

use crate::config::model::{BusConfig, Parity};

use super::link::BoxWire;

/// Opens `bus.port` (a device path) with the bus's line settings, 8 data bits.
pub fn open(bus: &BusConfig) -> io::Result<BoxWire> {
    let parity = match bus.parity {
        Parity::None => tokio_serial::Parity::None,
        Parity::Even => tokio_serial::Parity::Even,
        Parity::Odd => tokio_serial::Parity::Odd,
    };
    let stop_bits = if bus.stop_bits == 2 {
        tokio_serial::StopBits::Two
    } else {
        tokio_serial::StopBits::One
    };
    let stream = tokio_serial::new(&bus.port, bus.baud)
        .data_bits(tokio_serial::DataBits::Eight)
        .parity(parity)
        .stop_bits(stop_bits)
        .flow_control(tokio_serial::FlowControl::None)
        .timeout(Duration::from_millis(u64::from(bus.timeout_ms)))
        .open_native_async()
        .map_err(io::Error::other)?;
    Ok(Box::new(stream))
}
