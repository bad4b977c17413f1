//! Commissioning (`hallq devices`): talking to the devices directly, with
//! the daemon stopped (it owns the ports while it runs; its view of the
//! devices is in `GET /api/v1/hall`).
//!
//! - `list`: probe every device once and say whether it answers;
//! - `test WINDOW|ZONE`: a test pattern on every display of a window or
//!   zone, and a test sentence on its voice chip;
//! - `set-address`: give a window indicator a new Modbus address.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::config::model::DeviceConfig;
use crate::devices::board::{BoardCall, BoardContent};
use crate::devices::evaluator::EvaluatorScreen;
use crate::devices::indicator::{IndicatorContent, IndicatorMode};
use crate::devices::keypad::KeypadScreen;
use crate::devices::modbus::Response;
use crate::devices::profile::DeviceProfile;

use super::Content;
use super::health::Failure;
use super::link::{Line, ModbusOutcome};
use super::task::{self, Opener};

/// What a test pattern's lines say.
pub const TEST_TEXT: &str = "设备测试 TEST";
/// The test ticket number.
pub const TEST_TICKET: &str = "8888";
/// The sentence a voice chip says in a test.
pub const TEST_SENTENCE: &str = "语音测试。请A零零一号到一号窗口办理";

/// The lines of every configured bus, opened once.
pub struct Commission {
    config: Arc<Config>,
    lines: HashMap<String, Line>,
}

/// One device's answer to a commissioning step.
#[derive(Debug)]
pub struct Outcome {
    pub device: usize,
    pub result: Result<(), String>,
}

impl Commission {
    /// Opens every bus that has devices. A port that cannot be opened is
    /// reported per device later (as a port error), not here.
    pub fn open(
        config: Arc<Config>,
        mut open: impl FnMut(&crate::config::model::BusConfig) -> Opener,
    ) -> Commission {
        let mut lines = HashMap::new();
        for bus in config.buses() {
            if !config.devices().iter().any(|d| d.bus == bus.name) {
                continue;
            }
            let mut opener = open(bus);
            if let Ok(wire) = opener() {
                let line = Line::new(
                    wire,
                    Duration::from_millis(u64::from(bus.timeout_ms)),
                    bus.gap(),
                );
                lines.insert(bus.name.clone(), line);
            }
        }
        Commission { config, lines }
    }

    fn line(&mut self, bus: &str) -> Result<&mut Line, String> {
        self.lines
            .get_mut(bus)
            .ok_or_else(|| format!("bus {bus}: the port could not be opened"))
    }

    /// Probes every device once.
    pub async fn list(&mut self) -> Vec<Outcome> {
        let config = self.config.clone();
        let mut out = Vec::new();
        for (i, d) in config.devices().iter().enumerate() {
            let profile = &config.device_profile(d).device;
            let result = match self.line(&d.bus) {
                Ok(line) => task::probe(line, profile, d.unit.unwrap_or(0))
                    .await
                    .map_err(|f| f.name().to_string()),
                Err(e) => Err(e),
            };
            out.push(Outcome { device: i, result });
        }
        out
    }

    /// Shows a test pattern on every display of `target` (a window number
    /// or a zone id) and speaks the test sentence on its voice chips.
    pub async fn test(&mut self, target: &str) -> Result<Vec<Outcome>, String> {
        let config = self.config.clone();
        let window: Option<u32> = target.parse().ok();
        let devices: Vec<(usize, &DeviceConfig)> = config
            .devices()
            .iter()
            .enumerate()
            .filter(|(_, d)| match window {
                Some(w) => d.window == Some(w),
                None => d.zone.as_deref() == Some(target),
            })
            .collect();
        if devices.is_empty() {
            return Err(format!(
                "no device serves {target} (give a window number or a zone id)"
            ));
        }
        let mut out = Vec::new();
        for (i, d) in devices {
            let profile = &config.device_profile(d).device;
            let unit = d.unit.unwrap_or(0);
            let result = match self.line(&d.bus) {
                Ok(line) => show_test(line, profile, unit, d.window.unwrap_or(1)).await,
                Err(e) => Err(e),
            };
            out.push(Outcome { device: i, result });
        }
        Ok(out)
    }

    /// Gives the window indicator at `bus`/`unit` the address `new_unit`.
    pub async fn set_address(&mut self, bus: &str, unit: u8, new_unit: u8) -> Result<(), String> {
        let config = self.config.clone();
        let d = config
            .devices()
            .iter()
            .find(|d| d.bus == bus && d.unit == Some(unit))
            .ok_or_else(|| format!("no device at unit {unit} on bus {bus}"))?;
        let DeviceProfile::WindowIndicator(p) = &config.device_profile(d).device else {
            return Err(format!(
                "unit {unit} on bus {bus} is not a window indicator (only those can be re-addressed)"
            ));
        };
        let request = match p.set_address_request(unit, new_unit) {
            None => return Err(format!("profile {} has no address register", d.profile)),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(r)) => r,
        };
        match self.line(bus)?.modbus(&request).await {
            Ok(ModbusOutcome::Reply(Response::WroteSingle { .. })) | Ok(ModbusOutcome::Sent) => {
                Ok(())
            }
            Ok(ModbusOutcome::Reply(_)) => Err("the device answered something else".to_string()),
            Ok(ModbusOutcome::Exception(code)) => {
                Err(format!("the device refused (exception {code:#04x})"))
            }
            Err(f) => Err(format!("unit {unit} did not answer ({})", f.name())),
        }
    }
}

/// The test pattern of a display (`None` for a voice chip).
pub fn test_content(profile: &DeviceProfile, window: u32) -> Option<Content> {
    match profile {
        DeviceProfile::WindowIndicator(p) => Some(Content::Registers(p.image(&IndicatorContent {
            mode: IndicatorMode::Calling,
            flash_count: p.flash_count,
            brightness: 100,
            line1: TEST_TICKET.to_string(),
            line2: TEST_TEXT.to_string(),
        }))),
        DeviceProfile::TextBoard(p) => {
            let lines = (1..=p.lines.max(1))
                .map(|k| format!("{TEST_TEXT} {k}"))
                .collect();
            Some(Content::Registers(p.image(&BoardContent {
                lines,
                brightness: 100,
            })))
        }
        DeviceProfile::Bx5k(p) => p
            .frame(&[BoardCall::new(TEST_TICKET, window)])
            .ok()
            .map(Content::Frame),
        DeviceProfile::Keypad(p) => Some(Content::Registers(p.screen_image(&KeypadScreen {
            ticket: TEST_TICKET.to_string(),
            waiting: 88,
        }))),
        DeviceProfile::Evaluator(p) => Some(Content::Registers(p.screen_image(&EvaluatorScreen {
            prompt: true,
            staff_line: TEST_TEXT.to_string(),
        }))),
        DeviceProfile::Syn6288(_) | DeviceProfile::Xfs5152(_) => None,
    }
}

async fn show_test(
    line: &mut Line,
    profile: &DeviceProfile,
    unit: u8,
    window: u32,
) -> Result<(), String> {
    let fail = |f: Failure| f.name().to_string();
    match test_content(profile, window) {
        Some(Content::Registers(image)) => {
            let requests = task::register_writes(profile, unit, None, &image, false)
                .map_err(|e| e.to_string())?;
            for r in requests {
                if let ModbusOutcome::Exception(code) = line.modbus(&r).await.map_err(fail)? {
                    return Err(format!("the device refused (exception {code:#04x})"));
                }
            }
            Ok(())
        }
        Some(Content::Frame(frame)) => line.bx5k_acked(&frame).await.map_err(fail),
        None => match task::speak(line, profile, TEST_SENTENCE, Some(1)).await {
            Ok(0) => Ok(()),
            Ok(_) => Err("the chip took the text but never said it was done".to_string()),
            Err(f) => Err(fail(f)),
        },
    }
}
