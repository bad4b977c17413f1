//! Register images and the writes that turn one into another.
//!
//! A Modbus display is *reconciled* (DESIGN.md §4, invariant 4): hallq
//! derives the registers the device should hold (its image), compares them
//! with what it last wrote, and writes only the difference — or everything,
//! when the device comes back and its memory cannot be trusted.
//!
//! The difference is written as FC16 runs of consecutive registers. Two
//! changed runs separated by a short gap of registers that are also part of
//! the image are merged: rewriting up to [`MERGE_GAP_MAX`] unchanged
//! registers (2 bytes each on the wire) is cheaper than a second request
//! (≈ 17 bytes of framing and reply plus the device's turnaround). Registers
//! outside the image are never written. No run exceeds the device's
//! registers-per-write limit.

use std::collections::BTreeMap;

use crate::devices::modbus::{self, EncodeError, EncodedRequest};

/// Unchanged image registers a run may bridge.
pub const MERGE_GAP_MAX: usize = 8;

/// The registers a device should hold: address → value. Addresses outside
/// the image are the device's own business.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterImage {
    registers: BTreeMap<u16, u16>,
}

impl RegisterImage {
    pub fn new() -> RegisterImage {
        RegisterImage::default()
    }

    pub fn set(&mut self, address: u16, value: u16) {
        self.registers.insert(address, value);
    }

    /// Sets `values` at `start`, `start + 1`, … Values that would land past
    /// address 65535 are dropped (validated profiles never place any there).
    pub fn set_block(&mut self, start: u16, values: &[u16]) {
        for (address, &value) in (start..=u16::MAX).zip(values) {
            self.registers.insert(address, value);
        }
    }

    pub fn get(&self, address: u16) -> Option<u16> {
        self.registers.get(&address).copied()
    }

    /// `width` registers from `start`; registers outside the image read 0.
    pub fn block(&self, start: u16, width: usize) -> Vec<u16> {
        (start..=u16::MAX)
            .take(width)
            .map(|a| self.get(a).unwrap_or(0))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.registers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.registers.is_empty()
    }

    /// (address, value) in address order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        self.registers.iter().map(|(&a, &v)| (a, v))
    }

    /// Applies writes to this image (what a device does with them).
    pub fn apply(&mut self, runs: &[WriteRun]) {
        for run in runs {
            self.set_block(run.start, &run.values);
        }
    }
}

/// Consecutive registers to write in one FC16 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRun {
    pub start: u16,
    pub values: Vec<u16>,
}

/// The writes that bring a device holding `last` to `desired`.
///
/// - `last = None` (the device is new or came back): every register of
///   `desired` is written.
/// - `always`: registers written even when unchanged (e.g. the indicator's
///   mode register, whose write makes a recalled number flash again).
/// - `max_run`: registers per FC16 request, 1–123.
pub fn diff(
    last: Option<&RegisterImage>,
    desired: &RegisterImage,
    always: &[u16],
    max_run: u16,
) -> Vec<WriteRun> {
    let max_run = usize::from(max_run.clamp(1, modbus::WRITE_REGISTERS_MAX));
    let changed = desired.iter().filter(|&(address, value)| match last {
        None => true,
        Some(last) => last.get(address) != Some(value) || always.contains(&address),
    });
    let mut runs: Vec<WriteRun> = Vec::new();
    for (address, value) in changed {
        if let Some(run) = runs.last_mut() {
            let end = usize::from(run.start) + run.values.len(); // one past
            let gap = usize::from(address) - end;
            let bridge_ok = gap <= MERGE_GAP_MAX
                && run.values.len() + gap < max_run
                && (end..usize::from(address)).all(|a| desired.get(a as u16).is_some());
            if bridge_ok {
                for a in end..usize::from(address) {
                    run.values.push(desired.get(a as u16).unwrap_or(0));
                }
                run.values.push(value);
                continue;
            }
        }
        runs.push(WriteRun {
            start: address,
            values: vec![value],
        });
    }
    runs
}

/// The FC16 requests for `runs`, addressed to `unit`. Unit 0 broadcasts
/// them (no replies).
pub fn write_requests(unit: u8, runs: &[WriteRun]) -> Result<Vec<EncodedRequest>, EncodeError> {
    runs.iter()
        .map(|run| modbus::write_multiple_registers(unit, run.start, &run.values))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(blocks: &[(u16, &[u16])]) -> RegisterImage {
        let mut img = RegisterImage::new();
        for (start, values) in blocks {
            img.set_block(*start, values);
        }
        img
    }

    #[test]
    fn full_rewrite_is_contiguous_runs() {
        let img = image(&[(0, &[2, 3, 80]), (16, &[0x41; 8]), (24, &[0x20; 16])]);
        let runs = diff(None, &img, &[], 123);
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[0].start, runs[0].values.len()), (0, 3));
        assert_eq!((runs[1].start, runs[1].values.len()), (16, 24));
    }

    #[test]
    fn only_changes_and_bridged_gaps() {
        let last = image(&[(0, &[1, 3, 80]), (16, &[1, 2, 3, 4, 5, 6, 7, 8])]);
        let mut next = last.clone();
        assert!(diff(Some(&last), &next, &[], 123).is_empty());
        next.set(17, 9);
        next.set(20, 9);
        next.set(0, 2);
        let runs = diff(Some(&last), &next, &[], 123);
        assert_eq!(
            runs,
            vec![
                WriteRun {
                    start: 0,
                    values: vec![2]
                },
                WriteRun {
                    start: 17,
                    values: vec![9, 3, 4, 9]
                },
            ]
        );
        let mut device = last.clone();
        device.apply(&runs);
        assert_eq!(device, next);
    }

    #[test]
    fn never_writes_outside_the_image() {
        // HR 1–2 are not ours: the runs around them stay apart.
        let img = image(&[(0, &[5]), (3, &[6, 7])]);
        let runs = diff(None, &img, &[], 123);
        assert_eq!(
            runs,
            vec![
                WriteRun {
                    start: 0,
                    values: vec![5]
                },
                WriteRun {
                    start: 3,
                    values: vec![6, 7]
                },
            ]
        );
    }

    #[test]
    fn always_registers_are_written() {
        let last = image(&[(0, &[2, 3])]);
        let runs = diff(Some(&last), &last, &[0], 123);
        assert_eq!(
            runs,
            vec![WriteRun {
                start: 0,
                values: vec![2]
            }]
        );
    }

    #[test]
    fn runs_respect_the_limit() {
        let img = image(&[(64, &[7; 300])]);
        let runs = diff(None, &img, &[], 123);
        let lens: Vec<usize> = runs.iter().map(|r| r.values.len()).collect();
        assert_eq!(lens, [123, 123, 54]);
        assert_eq!(runs[1].start, 64 + 123);
        let small = diff(None, &img, &[], 32);
        assert!(small.iter().all(|r| r.values.len() <= 32));
        assert_eq!(small.iter().map(|r| r.values.len()).sum::<usize>(), 300);
    }
}
