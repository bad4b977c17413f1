//! Hall configuration: TOML in, a checked and indexed [`Config`] out.
//!
//! `model` holds the serde types (the file format), `time` the wall-clock
//! value types, `validate` every semantic check (each error names the file,
//! the line and the field, and says what is allowed), `locate` maps a field
//! path back to its line in the source. Nothing here does I/O except
//! [`Config::load`].

pub mod locate;
pub mod model;
pub mod summary;
pub mod time;
pub mod validate;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono_tz::Tz;
use sha2::{Digest, Sha256};

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
}

impl Config {
    /// Parses and validates; every problem found is returned, not just the first.
    pub fn from_toml_str(source_name: &str, text: &str) -> Result<Config, ConfigErrors> {
        let file = validate::parse_and_validate(source_name, text)?;
        let tz: Tz = file.hall.timezone.parse().map_err(|_| {
            ConfigErrors::single(ConfigError::new(
                source_name,
                locate::line_of(text, "hall.timezone"),
                "hall.timezone",
                "is not an IANA time zone (e.g. Asia/Shanghai)",
            ))
        })?;
        Ok(Config::indexed(file, tz, source_name, text))
    }

    fn indexed(file: HallConfig, tz: Tz, source_name: &str, text: &str) -> Config {
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
        Config {
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
        Config::from_toml_str(&name, &text)
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
}
