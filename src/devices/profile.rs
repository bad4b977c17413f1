//! Device profiles: one TOML file per device model under
//! `firmware-config/profiles/`, naming its protocol and the parameters of
//! that protocol (register map, encodings, texts, timing…), so that a new
//! model of a known protocol needs no code.
//!
//! ```toml
//! name = "Generic window indicator"
//! description = "…"                       # optional
//! protocol = "modbus-window-indicator"
//!
//! [modbus-window-indicator]               # the table named like the protocol
//! line2 = { register = 24, width = 16 }   # every key optional: the
//! flash_count = 3                         # defaults are DESIGN.md §5
//! ```
//!
//! Protocols: `modbus-window-indicator`, `modbus-text-board`,
//! `onbon-bx5k-text`, `syn6288`, `xfs5152`, `modbus-keypad`,
//! `modbus-evaluator`. Every table refuses unknown keys; each error names
//! the file, the line and the field, and all errors of a file are reported
//! together.
//!
//! The shipped profiles are compiled in ([`builtin_profiles`]) so the demo
//! hall runs from the binary alone.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::ConfigErrors;
use crate::config::locate::Locator;
use crate::devices::board::TextBoardProfile;
use crate::devices::bx5k::Bx5kProfile;
use crate::devices::evaluator::EvaluatorProfile;
use crate::devices::indicator::WindowIndicatorProfile;
use crate::devices::keypad::KeypadProfile;
use crate::devices::template::Template;
use crate::devices::tts::syn6288::Syn6288Profile;
use crate::devices::tts::xfs5152::Xfs5152Profile;

/// Bytes a profile file may have.
pub const PROFILE_BYTES_MAX: usize = 64 * 1024;
/// Profile files a directory may hold.
pub const PROFILES_MAX: usize = 256;
/// Characters of a profile's name.
pub const NAME_CHARS_MAX: usize = 64;
/// Characters of a profile's description.
pub const DESCRIPTION_CHARS_MAX: usize = 500;
/// Registers one text field may span.
pub const TEXT_WIDTH_MAX: u16 = 120;

/// The protocols hallq speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    ModbusWindowIndicator,
    ModbusTextBoard,
    OnbonBx5kText,
    Syn6288,
    Xfs5152,
    ModbusKeypad,
    ModbusEvaluator,
}

impl Protocol {
    pub const ALL: [Protocol; 7] = [
        Protocol::ModbusWindowIndicator,
        Protocol::ModbusTextBoard,
        Protocol::OnbonBx5kText,
        Protocol::Syn6288,
        Protocol::Xfs5152,
        Protocol::ModbusKeypad,
        Protocol::ModbusEvaluator,
    ];

    /// The name used in profiles (and the name of its table).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::ModbusWindowIndicator => "modbus-window-indicator",
            Protocol::ModbusTextBoard => "modbus-text-board",
            Protocol::OnbonBx5kText => "onbon-bx5k-text",
            Protocol::Syn6288 => "syn6288",
            Protocol::Xfs5152 => "xfs5152",
            Protocol::ModbusKeypad => "modbus-keypad",
            Protocol::ModbusEvaluator => "modbus-evaluator",
        }
    }

    /// Whether devices of this protocol are Modbus slaves with a unit address.
    pub fn is_modbus(self) -> bool {
        matches!(
            self,
            Protocol::ModbusWindowIndicator
                | Protocol::ModbusTextBoard
                | Protocol::ModbusKeypad
                | Protocol::ModbusEvaluator
        )
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A protocol's parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceProfile {
    /// Boxed: its mode texts make it several times larger than the others.
    WindowIndicator(Box<WindowIndicatorProfile>),
    TextBoard(TextBoardProfile),
    Bx5k(Bx5kProfile),
    Syn6288(Syn6288Profile),
    Xfs5152(Xfs5152Profile),
    Keypad(KeypadProfile),
    Evaluator(EvaluatorProfile),
}

impl DeviceProfile {
    pub fn protocol(&self) -> Protocol {
        match self {
            DeviceProfile::WindowIndicator(_) => Protocol::ModbusWindowIndicator,
            DeviceProfile::TextBoard(_) => Protocol::ModbusTextBoard,
            DeviceProfile::Bx5k(_) => Protocol::OnbonBx5kText,
            DeviceProfile::Syn6288(_) => Protocol::Syn6288,
            DeviceProfile::Xfs5152(_) => Protocol::Xfs5152,
            DeviceProfile::Keypad(_) => Protocol::ModbusKeypad,
            DeviceProfile::Evaluator(_) => Protocol::ModbusEvaluator,
        }
    }

    fn problems(&self) -> Vec<Problem> {
        match self {
            DeviceProfile::WindowIndicator(p) => p.problems(),
            DeviceProfile::TextBoard(p) => p.problems(),
            DeviceProfile::Bx5k(p) => p.problems(),
            DeviceProfile::Syn6288(p) => p.problems(),
            DeviceProfile::Xfs5152(p) => p.problems(),
            DeviceProfile::Keypad(p) => p.problems(),
            DeviceProfile::Evaluator(p) => p.problems(),
        }
    }
}

/// A checked profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub device: DeviceProfile,
}

impl Profile {
    pub fn protocol(&self) -> Protocol {
        self.device.protocol()
    }
}

/// A profile file as written (see the module docs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    name: String,
    #[serde(default)]
    description: String,
    protocol: Protocol,
    #[serde(rename = "modbus-window-indicator")]
    window_indicator: Option<WindowIndicatorProfile>,
    #[serde(rename = "modbus-text-board")]
    text_board: Option<TextBoardProfile>,
    #[serde(rename = "onbon-bx5k-text")]
    bx5k: Option<Bx5kProfile>,
    syn6288: Option<Syn6288Profile>,
    xfs5152: Option<Xfs5152Profile>,
    #[serde(rename = "modbus-keypad")]
    keypad: Option<KeypadProfile>,
    #[serde(rename = "modbus-evaluator")]
    evaluator: Option<EvaluatorProfile>,
}

impl ProfileFile {
    /// Protocols whose table is present.
    fn tables(&self) -> Vec<Protocol> {
        let present = [
            (
                Protocol::ModbusWindowIndicator,
                self.window_indicator.is_some(),
            ),
            (Protocol::ModbusTextBoard, self.text_board.is_some()),
            (Protocol::OnbonBx5kText, self.bx5k.is_some()),
            (Protocol::Syn6288, self.syn6288.is_some()),
            (Protocol::Xfs5152, self.xfs5152.is_some()),
            (Protocol::ModbusKeypad, self.keypad.is_some()),
            (Protocol::ModbusEvaluator, self.evaluator.is_some()),
        ];
        present
            .into_iter()
            .filter_map(|(p, here)| here.then_some(p))
            .collect()
    }

    /// The protocol's parameters; an absent table means all defaults.
    fn into_device(self) -> DeviceProfile {
        match self.protocol {
            Protocol::ModbusWindowIndicator => {
                DeviceProfile::WindowIndicator(Box::new(self.window_indicator.unwrap_or_default()))
            }
            Protocol::ModbusTextBoard => {
                DeviceProfile::TextBoard(self.text_board.unwrap_or_default())
            }
            Protocol::OnbonBx5kText => DeviceProfile::Bx5k(self.bx5k.unwrap_or_default()),
            Protocol::Syn6288 => DeviceProfile::Syn6288(self.syn6288.unwrap_or_default()),
            Protocol::Xfs5152 => DeviceProfile::Xfs5152(self.xfs5152.unwrap_or_default()),
            Protocol::ModbusKeypad => DeviceProfile::Keypad(self.keypad.unwrap_or_default()),
            Protocol::ModbusEvaluator => {
                DeviceProfile::Evaluator(self.evaluator.unwrap_or_default())
            }
        }
    }
}

/// A problem found in a protocol's table: the field (relative to the
/// table) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An error in a profile file: the same shape as a hall configuration error
/// (file, line, field path such as `modbus-window-indicator.line1.width`, and
/// what is allowed), so both read alike to whoever commissions the hall.
pub type ProfileError = crate::config::ConfigError;

/// Every error of one profile file, shown one per line.
pub type ProfileErrors = crate::config::ConfigErrors;

/// Parses and checks one profile; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Profile, ProfileErrors> {
    let error = |line, field: &str, message: String| ProfileError {
        file: file.to_string(),
        line,
        field: field.to_string(),
        message,
    };
    if text.len() > PROFILE_BYTES_MAX {
        return Err(ConfigErrors(vec![error(
            None,
            "",
            format!(
                "{} bytes; a profile has at most {PROFILE_BYTES_MAX}",
                text.len()
            ),
        )]));
    }
    let loc = Locator::new(text);
    let raw: ProfileFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let line = e.span().map(|s| loc.line_at(s.start));
            let field = e
                .span()
                .and_then(|s| loc.path_at(s.start))
                .unwrap_or_default();
            return Err(ConfigErrors(vec![error(
                line,
                &field,
                e.message().trim().to_string(),
            )]));
        }
    };
    let mut errors = Vec::new();
    let name_chars = raw.name.trim().chars().count();
    if name_chars == 0 || name_chars > NAME_CHARS_MAX {
        errors.push(error(
            loc.line_of("name"),
            "name",
            format!("a name of 1–{NAME_CHARS_MAX} characters"),
        ));
    }
    if raw.description.chars().count() > DESCRIPTION_CHARS_MAX {
        errors.push(error(
            loc.line_of("description"),
            "description",
            format!("at most {DESCRIPTION_CHARS_MAX} characters"),
        ));
    }
    for other in raw.tables() {
        if other != raw.protocol {
            errors.push(error(
                loc.line_of(other.name()),
                other.name(),
                format!(
                    "this table configures protocol {other}, but the profile's protocol is {}",
                    raw.protocol
                ),
            ));
        }
    }
    let protocol = raw.protocol;
    let name = raw.name.trim().to_string();
    let description = raw.description.clone();
    let device = raw.into_device();
    for problem in device.problems() {
        let field = format!("{}.{}", protocol.name(), problem.field);
        errors.push(error(loc.line_of(&field), &field, problem.message));
    }
    if errors.is_empty() {
        Ok(Profile {
            name,
            description,
            device,
        })
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Reads and checks one profile file.
pub fn load(path: &Path) -> Result<Profile, ProfileErrors> {
    let file = path.display().to_string();
    let io_error = |message: String| {
        ConfigErrors(vec![ProfileError {
            file: file.clone(),
            line: None,
            field: String::new(),
            message,
        }])
    };
    let meta = std::fs::metadata(path).map_err(|e| io_error(e.to_string()))?;
    if meta.len() > PROFILE_BYTES_MAX as u64 {
        return Err(io_error(format!(
            "{} bytes; a profile has at most {PROFILE_BYTES_MAX}",
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| io_error(e.to_string()))?;
    parse(&file, &text)
}

/// Loads every `*.toml` in `dir`, keyed by file name (`syn6288.toml`).
/// Errors of all files are reported together.
pub fn load_dir(dir: &Path) -> Result<BTreeMap<String, Profile>, ProfileErrors> {
    let dir_error = |message: String| {
        ConfigErrors(vec![ProfileError {
            file: dir.display().to_string(),
            line: None,
            field: String::new(),
            message,
        }])
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| dir_error(e.to_string()))? {
        let path = entry.map_err(|e| dir_error(e.to_string()))?.path();
        if path.extension().is_some_and(|x| x == "toml") && path.is_file() {
            paths.push(path);
        }
        if paths.len() > PROFILES_MAX {
            return Err(dir_error(format!("more than {PROFILES_MAX} profiles")));
        }
    }
    paths.sort();
    let mut profiles = BTreeMap::new();
    let mut errors = Vec::new();
    for path in paths {
        let key = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match load(&path) {
            Ok(p) => {
                profiles.insert(key, p);
            }
            Err(e) => errors.extend(e.0),
        }
    }
    if errors.is_empty() {
        Ok(profiles)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// The shipped profiles, compiled in: (file name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "generic-window-indicator.toml",
        include_str!("../../firmware-config/profiles/generic-window-indicator.toml"),
    ),
    (
        "generic-text-board.toml",
        include_str!("../../firmware-config/profiles/generic-text-board.toml"),
    ),
    (
        "onbon-bx5k.toml",
        include_str!("../../firmware-config/profiles/onbon-bx5k.toml"),
    ),
    (
        "syn6288.toml",
        include_str!("../../firmware-config/profiles/syn6288.toml"),
    ),
    (
        "xfs5152ce.toml",
        include_str!("../../firmware-config/profiles/xfs5152ce.toml"),
    ),
    (
        "generic-keypad.toml",
        include_str!("../../firmware-config/profiles/generic-keypad.toml"),
    ),
    (
        "generic-evaluator.toml",
        include_str!("../../firmware-config/profiles/generic-evaluator.toml"),
    ),
];

/// The shipped profiles, parsed, keyed by file name.
pub fn builtin_profiles() -> Result<BTreeMap<String, Profile>, ProfileErrors> {
    let mut profiles = BTreeMap::new();
    let mut errors = Vec::new();
    for (file, text) in BUILTIN {
        match parse(&format!("firmware-config/profiles/{file}"), text) {
            Ok(p) => {
                profiles.insert((*file).to_string(), p);
            }
            Err(e) => errors.extend(e.0),
        }
    }
    if errors.is_empty() {
        Ok(profiles)
    } else {
        Err(ConfigErrors(errors))
    }
}

// ---------------------------------------------------------------------------
// Checks shared by the protocols' `problems()`.

/// A text field of `width` registers from `register`.
pub(crate) fn check_block(p: &mut Vec<Problem>, field: &str, register: u16, width: u16) {
    if width == 0 || width > TEXT_WIDTH_MAX {
        p.push(Problem::new(
            field,
            format!("{width} registers wide; allowed 1–{TEXT_WIDTH_MAX}"),
        ));
    } else if u32::from(register) + u32::from(width) > 65536 {
        p.push(Problem::new(field, "runs past register 65535"));
    }
}

/// Register ranges `(field, start, len)` that must not overlap.
pub(crate) fn check_disjoint(p: &mut Vec<Problem>, ranges: &[(&str, u16, u16)]) {
    for (i, &(field, start, len)) in ranges.iter().enumerate() {
        let end = u32::from(start) + u32::from(len);
        for &(other, o_start, o_len) in &ranges[..i] {
            let o_end = u32::from(o_start) + u32::from(o_len);
            if u32::from(start) < o_end && u32::from(o_start) < end {
                p.push(Problem::new(
                    field,
                    format!(
                        "registers {start}–{} overlap {other}",
                        end.saturating_sub(1)
                    ),
                ));
            }
        }
    }
}

/// A template may use only `allowed` placeholders.
pub(crate) fn check_template(
    p: &mut Vec<Problem>,
    field: &str,
    template: &Template,
    allowed: &[&str],
) {
    if let Err(e) = template.check_placeholders(allowed) {
        p.push(Problem::new(field, e.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_profile_takes_design_defaults() {
        let p = parse(
            "t.toml",
            "name = \"x\"\nprotocol = \"modbus-window-indicator\"\n",
        )
        .unwrap();
        assert_eq!(p.device, DeviceProfile::WindowIndicator(Box::default()));
    }

    #[test]
    fn unknown_key_has_a_line() {
        let text = "name = \"x\"\nprotocol = \"syn6288\"\n[syn6288]\nvolume = 3\n";
        let e = parse("t.toml", text).unwrap_err();
        assert_eq!(e.0.len(), 1);
        assert_eq!(e.0[0].line, Some(4));
        assert!(e.0[0].message.contains("unknown field"), "{}", e.0[0]);
    }

    #[test]
    fn semantic_errors_are_all_reported_with_lines() {
        let text = "\
name = \"bad\"
protocol = \"modbus-window-indicator\"

[modbus-window-indicator]
brightness = 120
line1 = { register = 2, width = 8 }

[modbus-window-indicator.show]
idle = { line1 = \"{window}\", line2 = \"{floor}\" }
calling = { line1 = \"{ticket}\", line2 = \"x\" }
serving = { line1 = \"{ticket}\", line2 = \"x\" }
paused = { line1 = \"x\", line2 = \"x\" }
closed = { line1 = \"x\", line2 = \"x\" }

[syn6288]
";
        let e = parse("bad.toml", text).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.contains("bad.toml:5: modbus-window-indicator.brightness"),
            "{shown}"
        );
        assert!(shown.contains("bad.toml:6: modbus-window-indicator.line1: registers 2–9 overlap brightness_register"), "{shown}");
        assert!(
            shown.contains("modbus-window-indicator.show.idle.line2: unknown placeholder {floor}"),
            "{shown}"
        );
        assert!(
            shown.contains("bad.toml:15: syn6288: this table configures protocol syn6288"),
            "{shown}"
        );
    }
}
