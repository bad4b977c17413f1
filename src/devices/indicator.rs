//! Window indicator (窗口屏), protocol `modbus-window-indicator`: one Modbus
//! slave above each counter, written with FC16.
//!
//! Register map of DESIGN.md §5 (every address and width can be changed
//! by the profile):
//!
//! | HR | meaning |
//! |---|---|
//! | 0 | mode: 0 off, 1 idle (欢迎光临), 2 calling (flashes), 3 serving, 4 paused, 5 closed |
//! | 1 | flash count when calling |
//! | 2 | brightness 0–100 |
//! | 16–23 | line 1, 8 code units: the ticket number (`A012`) |
//! | 24–39 | line 2, 16 code units: `请到12号窗口`, `暂停服务`, the staff name and job number |
//!
//! The reconciler builds an [`IndicatorContent`] from the window's state
//! with [`WindowIndicatorProfile::content`], turns it into a register image
//! and writes the difference to what the device last acknowledged
//! ([`WindowIndicatorProfile::writes`]). A recall shows the same content
//! again; the mode register is then rewritten anyway (`flash_again`) so
//! the number flashes once more.

use serde::{Deserialize, Serialize};

use crate::devices::image::{self, RegisterImage};
use crate::devices::modbus::text::{self, RegisterText};
use crate::devices::modbus::{EncodeError, EncodedRequest, WRITE_REGISTERS_MAX};
use crate::devices::profile::{Problem, check_block, check_disjoint, check_template};
use crate::devices::template::Template;
use crate::queue::types::WindowNo;

/// Placeholders the indicator's texts may use.
pub const PLACEHOLDERS: &[&str] = &["ticket", "window", "staff", "job_number"];
/// Flashes one call may ask for.
pub const FLASH_COUNT_MAX: u16 = 100;

/// What the indicator is showing, as its mode register says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorMode {
    Off,
    Idle,
    Calling,
    Serving,
    Paused,
    Closed,
}

/// The window's state as the indicator needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowShows {
    /// Outside opening hours: dark.
    Off,
    /// Open, nobody being called or served (also: nobody signed in).
    Idle,
    Calling {
        ticket: String,
    },
    Serving {
        ticket: String,
        staff: String,
        job_number: String,
    },
    Paused {
        staff: String,
        job_number: String,
    },
    Closed,
}

/// Everything an indicator shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorContent {
    pub mode: IndicatorMode,
    pub flash_count: u16,
    /// 0–100.
    pub brightness: u8,
    pub line1: String,
    pub line2: String,
}

/// A text field: `width` registers from `register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextField {
    pub register: u16,
    pub width: u16,
}

/// The values the mode register takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeValues {
    pub off: u16,
    pub idle: u16,
    pub calling: u16,
    pub serving: u16,
    pub paused: u16,
    pub closed: u16,
}

impl Default for ModeValues {
    fn default() -> Self {
        ModeValues {
            off: 0,
            idle: 1,
            calling: 2,
            serving: 3,
            paused: 4,
            closed: 5,
        }
    }
}

impl ModeValues {
    pub fn value(&self, mode: IndicatorMode) -> u16 {
        match mode {
            IndicatorMode::Off => self.off,
            IndicatorMode::Idle => self.idle,
            IndicatorMode::Calling => self.calling,
            IndicatorMode::Serving => self.serving,
            IndicatorMode::Paused => self.paused,
            IndicatorMode::Closed => self.closed,
        }
    }

    pub fn mode(&self, value: u16) -> Option<IndicatorMode> {
        [
            IndicatorMode::Off,
            IndicatorMode::Idle,
            IndicatorMode::Calling,
            IndicatorMode::Serving,
            IndicatorMode::Paused,
            IndicatorMode::Closed,
        ]
        .into_iter()
        .find(|&m| self.value(m) == value)
    }
}

/// The two lines shown in one mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lines {
    pub line1: Template,
    pub line2: Template,
}

impl Lines {
    fn new(line1: &str, line2: &str) -> Lines {
        Lines {
            line1: Template::parse(line1).expect("built-in template parses"),
            line2: Template::parse(line2).expect("built-in template parses"),
        }
    }
}

/// The texts of each mode (`[modbus-window-indicator.show]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowTexts {
    pub idle: Lines,
    pub calling: Lines,
    pub serving: Lines,
    pub paused: Lines,
    pub closed: Lines,
}

impl Default for ShowTexts {
    fn default() -> Self {
        ShowTexts {
            idle: Lines::new("{window}号窗口", "欢迎光临"),
            calling: Lines::new("{ticket}", "请到{window}号窗口"),
            serving: Lines::new("{ticket}", "{staff} {job_number}"),
            paused: Lines::new("{window}号窗口", "暂停服务"),
            closed: Lines::new("{window}号窗口", "窗口已关闭"),
        }
    }
}

fn default_line1() -> TextField {
    TextField {
        register: 16,
        width: 8,
    }
}
fn default_line2() -> TextField {
    TextField {
        register: 24,
        width: 16,
    }
}
fn one() -> u16 {
    1
}
fn two() -> u16 {
    2
}
fn default_flash_count() -> u16 {
    3
}
fn default_brightness() -> u8 {
    80
}
pub(crate) fn default_max_write() -> u16 {
    WRITE_REGISTERS_MAX
}

/// Profile parameters (`[modbus-window-indicator]`); defaults are DESIGN.md's map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowIndicatorProfile {
    #[serde(default)]
    pub mode_register: u16,
    #[serde(default = "one")]
    pub flash_count_register: u16,
    #[serde(default = "two")]
    pub brightness_register: u16,
    #[serde(default = "default_line1")]
    pub line1: TextField,
    #[serde(default = "default_line2")]
    pub line2: TextField,
    #[serde(default)]
    pub text_encoding: RegisterText,
    /// Flashes when a ticket is called.
    #[serde(default = "default_flash_count")]
    pub flash_count: u16,
    /// 0–100.
    #[serde(default = "default_brightness")]
    pub brightness: u8,
    /// Registers per FC16 request the device accepts (1–123).
    #[serde(default = "default_max_write")]
    pub max_write_registers: u16,
    #[serde(default)]
    pub mode_values: ModeValues,
    #[serde(default)]
    pub show: ShowTexts,
    /// Holding register that takes a new unit address (FC06), on models
    /// that can be re-addressed over the bus (`hallq devices set-address`).
    #[serde(default)]
    pub address_register: Option<u16>,
}

impl Default for WindowIndicatorProfile {
    fn default() -> Self {
        WindowIndicatorProfile {
            mode_register: 0,
            flash_count_register: 1,
            brightness_register: 2,
            line1: default_line1(),
            line2: default_line2(),
            text_encoding: RegisterText::Utf16,
            flash_count: default_flash_count(),
            brightness: default_brightness(),
            max_write_registers: default_max_write(),
            mode_values: ModeValues::default(),
            show: ShowTexts::default(),
            address_register: None,
        }
    }
}

impl WindowIndicatorProfile {
    /// What the indicator of window `window` should show.
    pub fn content(&self, window: WindowNo, shows: &WindowShows) -> IndicatorContent {
        let (mode, lines, ticket, staff, job) = match shows {
            WindowShows::Off => (IndicatorMode::Off, None, "", "", ""),
            WindowShows::Idle => (IndicatorMode::Idle, Some(&self.show.idle), "", "", ""),
            WindowShows::Calling { ticket } => (
                IndicatorMode::Calling,
                Some(&self.show.calling),
                ticket.as_str(),
                "",
                "",
            ),
            WindowShows::Serving {
                ticket,
                staff,
                job_number,
            } => (
                IndicatorMode::Serving,
                Some(&self.show.serving),
                ticket.as_str(),
                staff.as_str(),
                job_number.as_str(),
            ),
            WindowShows::Paused { staff, job_number } => (
                IndicatorMode::Paused,
                Some(&self.show.paused),
                "",
                staff.as_str(),
                job_number.as_str(),
            ),
            WindowShows::Closed => (IndicatorMode::Closed, Some(&self.show.closed), "", "", ""),
        };
        let value = |name: &str| -> Option<String> {
            match name {
                "ticket" => Some(ticket.to_string()),
                "window" => Some(window.to_string()),
                "staff" => Some(staff.to_string()),
                "job_number" => Some(job.to_string()),
                _ => None,
            }
        };
        let (line1, line2) = match lines {
            Some(l) => (l.line1.render(value), l.line2.render(value)),
            None => (String::new(), String::new()),
        };
        IndicatorContent {
            mode,
            flash_count: self.flash_count,
            brightness: self.brightness,
            line1,
            line2,
        }
    }

    /// The registers that show `content`.
    pub fn image(&self, content: &IndicatorContent) -> RegisterImage {
        let mut img = RegisterImage::new();
        img.set(self.mode_register, self.mode_values.value(content.mode));
        img.set(self.flash_count_register, content.flash_count);
        img.set(
            self.brightness_register,
            u16::from(content.brightness.min(100)),
        );
        let enc = self.text_encoding;
        img.set_block(
            self.line1.register,
            &text::encode(&content.line1, usize::from(self.line1.width), enc),
        );
        img.set_block(
            self.line2.register,
            &text::encode(&content.line2, usize::from(self.line2.width), enc),
        );
        img
    }

    /// The FC16 requests that bring a device holding `last` (`None`: not
    /// known, e.g. it just came back) to `desired`. `flash_again` rewrites
    /// the mode register even if unchanged (a recall).
    pub fn writes(
        &self,
        unit: u8,
        last: Option<&RegisterImage>,
        desired: &RegisterImage,
        flash_again: bool,
    ) -> Result<Vec<EncodedRequest>, EncodeError> {
        let always: &[u16] = if flash_again {
            std::slice::from_ref(&self.mode_register)
        } else {
            &[]
        };
        let mut runs = image::diff(last, desired, always, self.max_write_registers);
        // Into calling: the mode last, so the new number is in place when
        // it starts flashing. Out of calling: the mode first, so the flashing
        // stops before the text changes (no staff name flashing "calling").
        let mode = self.mode_register;
        let calling = desired.get(mode) == Some(self.mode_values.value(IndicatorMode::Calling));
        runs.sort_by_key(|r| {
            let end = usize::from(r.start) + r.values.len();
            let has_mode = (usize::from(r.start)..end).contains(&usize::from(mode));
            has_mode == calling
        });
        image::write_requests(unit, &runs)
    }

    /// The FC06 that gives the device at `unit` the address `new_unit`;
    /// `None` when this model cannot be re-addressed over the bus.
    pub fn set_address_request(
        &self,
        unit: u8,
        new_unit: u8,
    ) -> Option<Result<EncodedRequest, EncodeError>> {
        let register = self.address_register?;
        if !(1..=crate::devices::modbus::UNIT_MAX).contains(&new_unit) {
            return Some(Err(EncodeError::InvalidUnit(new_unit)));
        }
        Some(crate::devices::modbus::write_single_register(
            unit,
            register,
            u16::from(new_unit),
        ))
    }

    /// Reads content back from registers (the simulator's side). `None`
    /// when the mode register holds no known mode.
    pub fn decode(&self, img: &RegisterImage) -> Option<IndicatorContent> {
        let mode = self.mode_values.mode(img.get(self.mode_register)?)?;
        let line = |f: &TextField| {
            text::decode(
                &img.block(f.register, usize::from(f.width)),
                self.text_encoding,
            )
        };
        Some(IndicatorContent {
            mode,
            flash_count: img.get(self.flash_count_register).unwrap_or(0),
            brightness: img.get(self.brightness_register).unwrap_or(0).min(100) as u8,
            line1: line(&self.line1),
            line2: line(&self.line2),
        })
    }

    pub(crate) fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        check_block(&mut p, "line1", self.line1.register, self.line1.width);
        check_block(&mut p, "line2", self.line2.register, self.line2.width);
        check_disjoint(
            &mut p,
            &[
                ("mode_register", self.mode_register, 1),
                ("flash_count_register", self.flash_count_register, 1),
                ("brightness_register", self.brightness_register, 1),
                ("line1", self.line1.register, self.line1.width),
                ("line2", self.line2.register, self.line2.width),
                (
                    "address_register",
                    self.address_register.unwrap_or(u16::MAX),
                    u16::from(self.address_register.is_some()),
                ),
            ],
        );
        if self.flash_count > FLASH_COUNT_MAX {
            p.push(Problem::new(
                "flash_count",
                format!("{} flashes; allowed 0–{FLASH_COUNT_MAX}", self.flash_count),
            ));
        }
        if self.brightness > 100 {
            p.push(Problem::new(
                "brightness",
                "brightness is a percentage, 0–100",
            ));
        }
        check_max_write(&mut p, self.max_write_registers);
        let m = &self.mode_values;
        let values = [m.off, m.idle, m.calling, m.serving, m.paused, m.closed];
        if (1..values.len()).any(|i| values[..i].contains(&values[i])) {
            p.push(Problem::new("mode_values", "each mode needs its own value"));
        }
        let s = &self.show;
        for (mode, lines) in [
            ("idle", &s.idle),
            ("calling", &s.calling),
            ("serving", &s.serving),
            ("paused", &s.paused),
            ("closed", &s.closed),
        ] {
            check_template(
                &mut p,
                &format!("show.{mode}.line1"),
                &lines.line1,
                PLACEHOLDERS,
            );
            check_template(
                &mut p,
                &format!("show.{mode}.line2"),
                &lines.line2,
                PLACEHOLDERS,
            );
        }
        p
    }
}

pub(crate) fn check_max_write(p: &mut Vec<Problem>, max_write: u16) {
    if max_write == 0 || max_write > WRITE_REGISTERS_MAX {
        p.push(Problem::new(
            "max_write_registers",
            format!("{max_write} registers per write; Modbus allows 1–{WRITE_REGISTERS_MAX}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calling_content_and_image() {
        let p = WindowIndicatorProfile::default();
        let c = p.content(
            12,
            &WindowShows::Calling {
                ticket: "A012".into(),
            },
        );
        assert_eq!(c.mode, IndicatorMode::Calling);
        assert_eq!(c.line1, "A012");
        assert_eq!(c.line2, "请到12号窗口");
        let img = p.image(&c);
        assert_eq!(img.len(), 3 + 8 + 16);
        assert_eq!(img.get(0), Some(2));
        assert_eq!(img.get(1), Some(3));
        assert_eq!(img.get(2), Some(80));
        assert_eq!(img.block(16, 5), [0x41, 0x30, 0x31, 0x32, 0]);
        assert_eq!(img.get(24), Some(0x8BF7)); // 请
        assert_eq!(p.decode(&img), Some(c));
    }

    #[test]
    fn serving_shows_staff_and_recall_rewrites_mode() {
        let p = WindowIndicatorProfile::default();
        let calling = p.image(&p.content(
            3,
            &WindowShows::Calling {
                ticket: "B007".into(),
            },
        ));
        let serving_content = p.content(
            3,
            &WindowShows::Serving {
                ticket: "B007".into(),
                staff: "王芳".into(),
                job_number: "1024".into(),
            },
        );
        assert_eq!(serving_content.line2, "王芳 1024");
        let serving = p.image(&serving_content);
        let w = p.writes(7, Some(&calling), &serving, false).unwrap();
        // Mode (HR 0) and line 2 (HR 24…) changed; line 1 did not.
        assert_eq!(w.len(), 2);
        assert!(
            p.writes(7, Some(&calling), &calling, false)
                .unwrap()
                .is_empty()
        );
        let recall = p.writes(7, Some(&calling), &calling, true).unwrap();
        assert_eq!(recall.len(), 1);
        // FC16, start 0, one register, value 2 (calling).
        assert_eq!(&recall[0].bytes[..9], &[7, 0x10, 0, 0, 0, 1, 2, 0, 2]);
    }

    #[test]
    fn set_address_only_where_supported() {
        let p = WindowIndicatorProfile::default();
        assert!(p.set_address_request(1, 9).is_none());
        let p = WindowIndicatorProfile {
            address_register: Some(100),
            ..WindowIndicatorProfile::default()
        };
        let r = p.set_address_request(1, 9).unwrap().unwrap();
        assert_eq!(&r.bytes[..6], &[1, 0x06, 0, 100, 0, 9]);
        assert!(p.set_address_request(1, 0).unwrap().is_err());
        assert!(p.set_address_request(1, 248).unwrap().is_err());
    }

    #[test]
    fn off_is_blank() {
        let p = WindowIndicatorProfile::default();
        let c = p.content(1, &WindowShows::Off);
        assert_eq!((c.line1.as_str(), c.line2.as_str()), ("", ""));
        assert_eq!(p.image(&c).get(0), Some(0));
    }
}
