//! Hall configuration: TOML in, a checked and indexed [`Config`] out.
//!
//! `model` holds the serde types (the file format), `time` the wall-clock
//! value types, `validate` every semantic check (each error names the file,
//! the line and the field, and says what is allowed), `locate` maps a field
//! path back to its line in the source. Nothing here does I/O except
//! [`Config::load`].
//!
//! Devices (`[[device]]`) name a built-in profile (`crate::devices::profile`);
//! the profiles are parsed once per process and shared by every [`Config`].

pub mod diff;
pub mod live;
pub mod locate;
pub mod model;
pub mod summary;
pub mod time;
pub mod validate;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono_tz::Tz;
use sha2::{Digest, Sha256};

use crate::devices::profile::{self, Profile};

pub use model::*;
pub use time::{LocalDateTime, TimeOfDay};
pub use validate::{ConfigError, ConfigErrors};

/// The embedded demo hall (firmware-config/demo-hall.toml), used when no
/// configuration file is given.
pub const DEMO_HALL_TOML: &str = include_str!("../../firmware-config/demo-hall.toml");
pub const DEMO_HALL_NAME: &str = "firmware-config/demo-hall.toml (embedded)";

/// A validated hall configuration with lookup indexes.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: HallConfig,
    pub tz: Tz,
    /// Where it came from (a path, or the embedded demo hall).
    pub source_name: String,
    /// SHA-256 of the source text, recorded in the journal at start-up.
    pub source_sha256: String,
    services: HashMap<String, usize>,
    windows: BTreeMap<u32, usize>,
    staff: HashMap<String, usize>,
    priorities: HashMap<String, usize>,
    zones: HashMap<String, usize>,
    departments: HashMap<String, usize>,
    buses: HashMap<String, usize>,
    /// The built-in device profiles, keyed by file name (`syn6288.toml`).
    profiles: Arc<BTreeMap<String, Profile>>,
    /// Windows with an evaluator (their finished tickets await a rating).
    evaluator_windows: std::collections::BTreeSet<u32>,
}

/// A directory beside the configuration file whose `*.toml` device profiles
/// extend the built-in ones: a new model of a known protocol needs no code
/// and no rebuild.
pub const SITE_PROFILES_DIR: &str = "profiles";

/// The built-in device profiles, parsed on first use and then shared.
pub(crate) fn builtin_profiles() -> Result<Arc<BTreeMap<String, Profile>>, ConfigErrors> {
    static PARSED: OnceLock<Result<Arc<BTreeMap<String, Profile>>, ConfigErrors>> = OnceLock::new();
    PARSED
        .get_or_init(|| profile::builtin_profiles().map(Arc::new))
        .clone()
}

/// The shortest silence between frames Modbus RTU asks for at any rate
/// (above 19200 baud, 3.5 character times would be shorter).
pub const MIN_FRAME_GAP: Duration = Duration::from_micros(1750);

impl BusConfig {
    /// Bits of one character on the wire: start bit, 8 data bits, the parity
    /// bit if any, the stop bits (8N1 = 10, 8E1 = 8N2 = 11).
    pub fn bits_per_char(&self) -> u32 {
        1 + 8 + u32::from(self.parity != Parity::None) + u32::from(self.stop_bits)
    }

    /// How long one character takes on the wire at `baud`.
    pub fn byte_time(&self) -> Duration {
        Duration::from_nanos(nanos_for_bits(
            u64::from(self.bits_per_char()),
            self.baud,
            1,
        ))
    }

    /// The silence kept between frames: `gap_ms` when given, else 3.5
    /// character times (Modbus RTU t3.5), at least [`MIN_FRAME_GAP`].
    pub fn gap(&self) -> Duration {
        match self.gap_ms {
            Some(ms) => Duration::from_millis(u64::from(ms)),
            None => {
                let bits_x2 = 7 * u64::from(self.bits_per_char()); // 3.5 characters, doubled
                Duration::from_nanos(nanos_for_bits(bits_x2, self.baud, 2)).max(MIN_FRAME_GAP)
            }
        }
    }
}

/// Nanoseconds for `bits / divisor` bits at `baud`, rounded to nearest.
fn nanos_for_bits(bits: u64, baud: u32, divisor: u64) -> u64 {
    let per_second = u64::from(baud.max(1)) * divisor;
    (bits * 1_000_000_000 + per_second / 2) / per_second
}

impl Config {
    /// Parses and validates; every problem found is returned, not just the first.
    pub fn from_toml_str(source_name: &str, text: &str) -> Result<Config, ConfigErrors> {
        Config::from_toml_str_with(source_name, text, builtin_profiles()?)
    }

    /// Like [`Config::from_toml_str`], with these device profiles (keyed by
    /// file name) instead of only the built-in ones.
    pub fn from_toml_str_with(
        source_name: &str,
        text: &str,
        profiles: Arc<BTreeMap<String, Profile>>,
    ) -> Result<Config, ConfigErrors> {
        let file = validate::parse_and_validate_with(source_name, text, &profiles)?;
        let tz: Tz = file.hall.timezone.parse().map_err(|_| {
            ConfigErrors::single(ConfigError::new(
                source_name,
                locate::line_of(text, "hall.timezone"),
                "hall.timezone",
                "is not an IANA time zone (e.g. Asia/Shanghai)",
            ))
        })?;
        Ok(Config::indexed(file, tz, source_name, text, profiles))
    }

    fn indexed(
        file: HallConfig,
        tz: Tz,
        source_name: &str,
        text: &str,
        profiles: Arc<BTreeMap<String, Profile>>,
    ) -> Config {
        let services = file
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        let windows = file
            .windows
            .iter()
            .enumerate()
            .map(|(i, w)| (w.number, i))
            .collect();
        let staff = file
            .staff
            .iter()
            .enumerate()
            .map(|(i, s)| (s.account.clone(), i))
            .collect();
        let priorities = file
            .priority
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let zones = file
            .zones
            .iter()
            .enumerate()
            .map(|(i, z)| (z.id.clone(), i))
            .collect();
        let departments = file
            .departments
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.clone(), i))
            .collect();
        let buses = file
            .buses
            .iter()
            .enumerate()
            .map(|(i, b)| (b.name.clone(), i))
            .collect();
        let evaluator_windows = file
            .devices
            .iter()
            .filter(|d| {
                validate::find_profile(&profiles, &d.profile).is_some_and(|p| {
                    p.protocol() == crate::devices::profile::Protocol::ModbusEvaluator
                })
            })
            .filter_map(|d| d.window)
            .collect();
        Config {
            evaluator_windows,
            file,
            tz,
            source_name: source_name.to_string(),
            source_sha256: hex::encode(Sha256::digest(text.as_bytes())),
            services,
            windows,
            staff,
            priorities,
            zones,
            departments,
            buses,
            profiles,
        }
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors::single(ConfigError::new(
                &name,
                None,
                "",
                &format!("cannot be read: {e}"),
            ))
        })?;
        let site = path.parent().map(|d| d.join(SITE_PROFILES_DIR));
        match site.filter(|d| d.is_dir()) {
            None => Config::from_toml_str(&name, &text),
            Some(dir) => {
                // Site profiles add models, or replace a built-in one of the same file name.
                let mut profiles = (*builtin_profiles()?).clone();
                profiles.extend(profile::load_dir(&dir)?);
                Config::from_toml_str_with(&name, &text, Arc::new(profiles))
            }
        }
    }

    /// The embedded demo hall. It is checked by a test, so this cannot fail in a released build.
    pub fn demo() -> Config {
        match Config::from_toml_str(DEMO_HALL_NAME, DEMO_HALL_TOML) {
            Ok(config) => config,
            Err(errors) => panic!("the embedded demo hall is invalid:\n{errors}"),
        }
    }

    pub fn service(&self, id: &str) -> Option<&ServiceConfig> {
        self.services.get(id).map(|&i| &self.file.services[i])
    }
    pub fn window(&self, number: u32) -> Option<&WindowConfig> {
        self.windows.get(&number).map(|&i| &self.file.windows[i])
    }
    pub fn staff(&self, account: &str) -> Option<&StaffConfig> {
        self.staff.get(account).map(|&i| &self.file.staff[i])
    }
    pub fn priority(&self, id: &str) -> Option<&PriorityConfig> {
        self.priorities.get(id).map(|&i| &self.file.priority[i])
    }
    pub fn zone(&self, id: &str) -> Option<&ZoneConfig> {
        self.zones.get(id).map(|&i| &self.file.zones[i])
    }
    pub fn department(&self, id: &str) -> Option<&DepartmentConfig> {
        self.departments.get(id).map(|&i| &self.file.departments[i])
    }
    pub fn services(&self) -> &[ServiceConfig] {
        &self.file.services
    }
    pub fn windows(&self) -> &[WindowConfig] {
        &self.file.windows
    }
    pub fn buses(&self) -> &[BusConfig] {
        &self.file.buses
    }
    /// Whether window `n` has an evaluator (评价器) wired to it.
    pub fn has_evaluator(&self, n: u32) -> bool {
        self.evaluator_windows.contains(&n)
    }

    pub fn devices(&self) -> &[DeviceConfig] {
        &self.file.devices
    }
    pub fn bus(&self, name: &str) -> Option<&BusConfig> {
        self.buses.get(name).map(|&i| &self.file.buses[i])
    }
    /// The built-in device profiles, keyed by file name (`syn6288.toml`).
    pub fn profiles(&self) -> &BTreeMap<String, Profile> {
        &self.profiles
    }

    /// The profile of a device of this configuration. Validation guarantees
    /// it exists.
    ///
    /// # Panics
    /// If `device` names no built-in profile — only possible when `file`
    /// was edited after validation.
    pub fn device_profile(&self, device: &DeviceConfig) -> &Profile {
        match validate::find_profile(&self.profiles, &device.profile) {
            Some(p) => p,
            None => panic!(
                "device profile \"{}\" is not built in; the configuration was changed after validation",
                device.profile
            ),
        }
    }

    /// Points bus `name` at another port (`hallq serve --bus NAME=PATH`).
    /// The port obeys the rule of the file (`"sim"` or an absolute path, not
    /// the port of another bus); a real port turns `wire_speed` off.
    pub fn set_bus_port(&mut self, name: &str, port: &str) -> Result<(), ConfigError> {
        let error = |message: String| ConfigError {
            file: self.source_name.clone(),
            line: None,
            field: format!("--bus {name}"),
            message,
        };
        let Some(&i) = self.buses.get(name) else {
            let message = if self.file.buses.is_empty() {
                format!("there is no bus \"{name}\": this configuration has no [[bus]]")
            } else {
                let names: Vec<String> = self
                    .file
                    .buses
                    .iter()
                    .map(|b| format!("\"{}\"", b.name))
                    .collect();
                format!(
                    "there is no bus \"{name}\"; the configured buses are {}",
                    names.join(", ")
                )
            };
            return Err(error(message));
        };
        if let Some(problem) = validate::port_problem(port) {
            return Err(error(problem));
        }
        if port != SIM_PORT
            && let Some(other) = self
                .file
                .buses
                .iter()
                .enumerate()
                .find(|&(j, b)| j != i && b.port == port)
                .map(|(_, b)| &b.name)
        {
            return Err(error(format!(
                "port \"{port}\" is already the port of bus \"{other}\"; one serial port is one bus"
            )));
        }
        let bus = &mut self.file.buses[i];
        bus.port = port.to_string();
        if port != SIM_PORT {
            bus.wire_speed = false;
        }
        Ok(())
    }
}
