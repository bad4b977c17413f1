//! Virtual staff for simulated days: one account per window, added to a
//! copy of the configuration, and the desks that use them.

use std::sync::Arc;

use crate::config::{Config, HallConfig, Role, StaffConfig};
use crate::queue::{Millis, WindowNo};

use super::driver::Desk;

/// The account of the virtual staff member of window `n`.
pub fn virtual_account(n: WindowNo) -> String {
    format!("virtual-{n}")
}

/// Rebuilds a configuration from an edited file, checked like any other
/// (the device profiles of the original are kept).
pub fn rebuild(config: &Config, file: &HallConfig) -> Result<Config, String> {
    let text = toml::to_string(file).map_err(|e| format!("cannot write the configuration: {e}"))?;
    Config::from_toml_str_with(
        &config.source_name,
        &text,
        Arc::new(config.profiles().clone()),
    )
    .map_err(|mut errors| {
        // The lines would be those of the generated text, not of the file: name fields only.
        for e in &mut errors.0 {
            e.line = None;
            e.file = format!("{} (as simulated)", config.source_name);
        }
        errors.to_string()
    })
}

/// Adds one virtual staff account per window (`virtual-{n}`), so a
/// simulation can sign in anywhere.
pub fn with_virtual_staff(config: &Config) -> Result<Config, String> {
    let mut file = config.file.clone();
    add_virtual_staff(&mut file);
    rebuild(config, &file)
}

/// As [`with_virtual_staff`], on the file.
pub fn add_virtual_staff(file: &mut HallConfig) {
    let numbers: Vec<WindowNo> = file.windows.iter().map(|w| w.number).collect();
    for n in numbers {
        let account = virtual_account(n);
        if file.staff.iter().any(|s| s.account == account) {
            continue;
        }
        file.staff.push(StaffConfig {
            account,
            job_number: format!("V{n:04}"),
            name: format!("虚拟{n}号"),
            department: None,
            roles: vec![Role::Staff],
        });
    }
}

/// A desk at every open window that serves something, staffed by its
/// virtual account during `duty`.
pub fn virtual_desks(config: &Config, duty: &[(Millis, Millis)]) -> Vec<Desk> {
    config
        .windows()
        .iter()
        .filter(|w| w.open && !w.services.is_empty())
        .map(|w| Desk {
            window: w.number,
            account: virtual_account(w.number),
            duty: duty.to_vec(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_staff_survive_validation() {
        let config = Config::demo();
        let with = with_virtual_staff(&config).expect("valid");
        for w in config.windows() {
            assert!(with.staff(&virtual_account(w.number)).is_some());
        }
        assert_eq!(with.services().len(), config.services().len());
    }
}
