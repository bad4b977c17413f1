//! `[[bus]]` and `[[device]]`: every rule has a failing case that names the
//! field, the line and what is allowed; the shipped halls are wired; the
//! indexed access (`Config::bus`, `device_profile`, `set_bus_port`) and the
//! wire timing of a bus.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use hallq::config::summary::summary_on;
use hallq::config::{Config, ConfigError, Parity};
use hallq::devices::profile::Protocol;

const FILE: &str = "halls/devices.toml";

/// A small valid hall with two buses and one device of most kinds.
/// Devices: [0] indicator, [1] keypad, [2] evaluator, [3] board (window 1,
/// zone z1, bus line1), [4] voice chip (zone z1, bus voice1).
const BASE: &str = r#"[hall]
name = "测试大厅"

[[zone]]
id = "z1"
name = "一楼大厅"
floor = 1

[[zone]]
id = "z2"
name = "二楼大厅"
floor = 2

[[department]]
id = "d1"
name = "测试局"

[[service]]
id = "s1"
name = "业务一"
department = "d1"
prefix = "A"
matter_class = "immediate"
expected_minutes = 5

[[window]]
number = 1
name = "1号窗"
kind = "comprehensive"
zone = "z1"
services = [{ service = "s1" }]

[[window]]
number = 2
name = "2号窗"
kind = "comprehensive"
zone = "z2"
services = [{ service = "s1" }]

[[calendar.session]]
days = ["mon", "tue"]
from = "08:30"
to = "11:30"

[[bus]]
name = "line1"
port = "sim"

[[bus]]
name = "voice1"
port = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K4Q2L-if00-port0"

[[device]]
profile = "generic-window-indicator"
window = 1
bus = "line1"
unit = 1

[[device]]
profile = "generic-keypad.toml"
window = 1
bus = "line1"
unit = 101

[[device]]
profile = "generic-evaluator"
window = 1
bus = "line1"
unit = 201

[[device]]
profile = "generic-text-board"
zone = "z1"
bus = "line1"
unit = 60

[[device]]
profile = "syn6288"
zone = "z1"
bus = "voice1"
"#;

/// BASE with `old` (which must occur exactly once) replaced by `new`.
fn edit(old: &str, new: &str) -> String {
    assert_eq!(BASE.matches(old).count(), 1, "`{old}` must occur once");
    BASE.replacen(old, new, 1)
}

/// BASE followed by `more`.
fn plus(more: &str) -> String {
    format!("{BASE}\n{more}")
}

/// The 1-based line of the `nth` (0-based) line containing `needle`, found
/// independently of hallq's locator.
fn nth_line(text: &str, needle: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} not in:\n{text}"))
        .0
        + 1
}

fn line(text: &str, needle: &str) -> usize {
    assert_eq!(
        text.lines().filter(|l| l.contains(needle)).count(),
        1,
        "`{needle}` must be on exactly one line"
    );
    nth_line(text, needle, 0)
}

fn errors(text: &str) -> Vec<ConfigError> {
    match Config::from_toml_str(FILE, text) {
        Ok(_) => panic!("expected errors, the config is valid:\n{text}"),
        Err(e) => e.0,
    }
}

fn valid(text: &str) -> Config {
    Config::from_toml_str(FILE, text).unwrap_or_else(|e| panic!("{e}"))
}

/// Asserts there is an error at `field` on `line` whose message contains all of `parts`.
#[track_caller]
fn expect(text: &str, field: &str, line: usize, parts: &[&str]) -> ConfigError {
    let all = errors(text);
    let listing = all
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let Some(e) = all.iter().find(|e| e.field == field) else {
        panic!("no error at `{field}`; got:\n{listing}");
    };
    assert_eq!(e.file, FILE);
    assert_eq!(
        e.line,
        Some(line),
        "wrong line for `{field}`; got:\n{listing}"
    );
    for part in parts {
        assert!(
            e.message.contains(part),
            "message of `{field}` lacks `{part}`: {}",
            e.message
        );
    }
    e.clone()
}

#[test]
fn the_base_config_is_valid_and_indexed() {
    let c = valid(BASE);
    assert_eq!(c.buses().len(), 2);
    assert_eq!(c.devices().len(), 5);
    assert_eq!(c.bus("voice1").unwrap().baud, 9600, "default baud");
    assert!(c.bus("nope").is_none());
    let protocols: Vec<Protocol> = c
        .devices()
        .iter()
        .map(|d| c.device_profile(d).protocol())
        .collect();
    assert_eq!(
        protocols,
        [
            Protocol::ModbusWindowIndicator,
            Protocol::ModbusKeypad,
            Protocol::ModbusEvaluator,
            Protocol::ModbusTextBoard,
            Protocol::Syn6288,
        ]
    );
    assert_eq!(c.profiles().len(), 7);
    assert!(c.profiles().contains_key("generic-keypad.toml"));
}

// ---------------------------------------------------------------------------
// [[bus]]

#[test]
fn bus_name_must_be_an_id() {
    let t = edit("name = \"line1\"", "name = \"Line 1\"");
    expect(
        &t,
        "bus[0].name",
        line(&t, "\"Line 1\""),
        &["\"Line 1\" is not a valid id", "lowercase"],
    );
}

#[test]
fn bus_names_are_unique() {
    let t = plus("[[bus]]\nname = \"line1\"\nport = \"sim\"\n");
    expect(
        &t,
        "bus[2].name",
        nth_line(&t, "name = \"line1\"", 1),
        &["already used by bus[0]", "own name"],
    );
}

#[test]
fn bus_port_must_not_be_empty() {
    let t = edit("port = \"sim\"", "port = \"\"");
    expect(
        &t,
        "bus[0].port",
        line(&t, "port = \"\""),
        &["must not be empty", "/dev/serial/by-id/", "\"sim\""],
    );
}

#[test]
fn bus_port_is_sim_or_an_absolute_path() {
    let t = edit("port = \"sim\"", "port = \"ttyUSB0\"");
    expect(
        &t,
        "bus[0].port",
        line(&t, "ttyUSB0"),
        &["neither \"sim\" nor an absolute path", "\"sim\""],
    );
    let t = edit("port = \"sim\"", "port = \"SIM\"");
    expect(&t, "bus[0].port", line(&t, "\"SIM\""), &["absolute path"]);
}

#[test]
fn a_real_port_belongs_to_one_bus() {
    let t = plus(
        "[[bus]]\nname = \"again\"\nport = \"/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K4Q2L-if00-port0\"\n",
    );
    expect(
        &t,
        "bus[2].port",
        nth_line(&t, "A10K4Q2L", 1),
        &["already used by bus[1]", "one serial port is one bus"],
    );
    // Simulated buses may all be "sim".
    valid(&plus("[[bus]]\nname = \"sim2\"\nport = \"sim\"\n"));
}

#[test]
fn baud_is_a_standard_rate() {
    let t = edit("port = \"sim\"", "port = \"sim\"\nbaud = 9601");
    expect(
        &t,
        "bus[0].baud",
        line(&t, "baud = 9601"),
        &["baud 9601 is not supported", "1200", "9600", "115200"],
    );
    for rate in [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] {
        valid(&edit(
            "port = \"sim\"",
            &format!("port = \"sim\"\nbaud = {rate}"),
        ));
    }
}

#[test]
fn stop_bits_are_one_or_two() {
    let t = edit("port = \"sim\"", "port = \"sim\"\nstop_bits = 3");
    expect(
        &t,
        "bus[0].stop_bits",
        line(&t, "stop_bits"),
        &["stop_bits 3", "1 or 2"],
    );
    valid(&edit("port = \"sim\"", "port = \"sim\"\nstop_bits = 2"));
}

#[test]
fn timeout_is_10_to_5000_ms() {
    for bad in [9, 5001] {
        let t = edit(
            "port = \"sim\"",
            &format!("port = \"sim\"\ntimeout_ms = {bad}"),
        );
        expect(
            &t,
            "bus[0].timeout_ms",
            line(&t, "timeout_ms"),
            &[&format!("timeout_ms {bad} is out of range"), "10–5000 ms"],
        );
    }
    valid(&edit("port = \"sim\"", "port = \"sim\"\ntimeout_ms = 10"));
    valid(&edit("port = \"sim\"", "port = \"sim\"\ntimeout_ms = 5000"));
}

#[test]
fn gap_is_0_to_1000_ms() {
    let t = edit("port = \"sim\"", "port = \"sim\"\ngap_ms = 1001");
    expect(
        &t,
        "bus[0].gap_ms",
        line(&t, "gap_ms"),
        &[
            "gap_ms 1001 is out of range",
            "0–1000",
            "3.5 character times",
        ],
    );
    valid(&edit("port = \"sim\"", "port = \"sim\"\ngap_ms = 0"));
    valid(&edit("port = \"sim\"", "port = \"sim\"\ngap_ms = 1000"));
}

#[test]
fn offline_after_is_1_to_20() {
    for bad in [0, 21] {
        let t = edit(
            "port = \"sim\"",
            &format!("port = \"sim\"\noffline_after = {bad}"),
        );
        expect(
            &t,
            "bus[0].offline_after",
            line(&t, "offline_after"),
            &[&format!("offline_after {bad} is out of range"), "1–20"],
        );
    }
}

#[test]
fn wire_speed_only_on_the_simulator() {
    let t = edit(
        "A10K4Q2L-if00-port0\"",
        "A10K4Q2L-if00-port0\"\nwire_speed = true",
    );
    expect(
        &t,
        "bus[1].wire_speed",
        line(&t, "wire_speed"),
        &["only with port = \"sim\"", "remove it"],
    );
    valid(&edit("port = \"sim\"", "port = \"sim\"\nwire_speed = true"));
}

#[test]
fn a_bus_without_devices_is_allowed() {
    let c = valid(&plus(
        "[[bus]]\nname = \"spare\"\nport = \"/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0\"\n",
    ));
    assert_eq!(c.buses().len(), 3);
}

#[test]
fn at_most_64_buses() {
    let more: String = (0..63)
        .map(|i| format!("[[bus]]\nname = \"b{i}\"\nport = \"sim\"\n\n"))
        .collect();
    let t = plus(&more);
    expect(
        &t,
        "bus[64]",
        nth_line(&t, "[[bus]]", 64),
        &["65 buses are defined", "at most 64", "refused"],
    );
    // 64 are fine.
    let more: String = (0..62)
        .map(|i| format!("[[bus]]\nname = \"b{i}\"\nport = \"sim\"\n\n"))
        .collect();
    valid(&plus(&more));
}

#[test]
fn type_errors_in_bus_and_device_tables_are_placed() {
    let t = edit("port = \"sim\"", "port = \"sim\"\nbaudrate = 9600");
    let e = expect(
        &t,
        "bus[0].baudrate",
        line(&t, "baudrate"),
        &["unknown key `baudrate`", "`baud`"],
    );
    assert!(!e.message.contains("unknown key `bus`"), "{e}");
    let all = errors(&t);
    assert_eq!(all.len(), 1, "one error, not one per table: {all:?}");

    let t = edit("unit = 201", "unit = 300");
    expect(
        &t,
        "device[2].unit",
        line(&t, "unit = 300"),
        &["300", "0 to 255"],
    );
    assert_eq!(errors(&t).len(), 1);
}

// ---------------------------------------------------------------------------
// [[device]]: bus and profile

#[test]
fn device_bus_must_be_configured() {
    let t = edit("bus = \"voice1\"", "bus = \"voice2\"");
    expect(
        &t,
        "device[4].bus",
        line(&t, "\"voice2\""),
        &["bus \"voice2\" is not defined", "did you mean \"voice1\"?"],
    );
    let t = edit("bus = \"voice1\"", "bus = \"speaker\"");
    expect(
        &t,
        "device[4].bus",
        line(&t, "\"speaker\""),
        &["known: \"line1\", \"voice1\""],
    );
}

#[test]
fn device_profile_must_be_built_in() {
    let t = edit(
        "profile = \"generic-evaluator\"",
        "profile = \"generic-evaluater\"",
    );
    expect(
        &t,
        "device[2].profile",
        line(&t, "evaluater"),
        &[
            "profile \"generic-evaluater\" is not a built-in profile",
            "with or without .toml",
            "did you mean \"generic-evaluator\"?",
        ],
    );
    let t = edit("profile = \"generic-evaluator\"", "profile = \"acme\"");
    expect(
        &t,
        "device[2].profile",
        line(&t, "\"acme\""),
        &["known: ", "\"syn6288\"", "\"xfs5152ce\""],
    );
    // With or without `.toml` (BASE has one of each); a path is not a name.
    valid(&edit("profile = \"syn6288\"", "profile = \"syn6288.toml\""));
    let t = edit(
        "profile = \"syn6288\"",
        "profile = \"profiles/syn6288.toml\"",
    );
    expect(
        &t,
        "device[4].profile",
        line(&t, "profiles/syn6288"),
        &["not a built-in profile"],
    );
}

#[test]
fn an_unknown_profile_still_needs_one_target() {
    let t = edit(
        "profile = \"generic-evaluator\"\nwindow = 1\n",
        "profile = \"acme\"\n",
    );
    expect(
        &t,
        "device[2]",
        nth_line(&t, "[[device]]", 2),
        &["exactly one window", "or one zone"],
    );
}

// ---------------------------------------------------------------------------
// [[device]]: window or zone

#[test]
fn a_window_device_with_a_zone_too_is_refused() {
    let t = edit(
        "window = 1\nbus = \"line1\"\nunit = 1\n",
        "window = 1\nzone = \"z1\"\nbus = \"line1\"\nunit = 1\n",
    );
    expect(
        &t,
        "device[0].zone",
        nth_line(&t, "zone = \"z1\"", 1),
        &[
            "profile \"generic-window-indicator\" (protocol modbus-window-indicator)",
            "serves one window, not a zone",
            "remove zone",
            "exactly one window or one zone",
        ],
    );
}

#[test]
fn a_window_device_needs_a_window_not_a_zone() {
    let t = edit(
        "window = 1\nbus = \"line1\"\nunit = 101",
        "zone = \"z2\"\nbus = \"line1\"\nunit = 101",
    );
    expect(
        &t,
        "device[1].zone",
        nth_line(&t, "zone = \"z2\"", 1),
        &[
            "(protocol modbus-keypad)",
            "write window = N",
            "instead of zone",
        ],
    );
    let t = edit(
        "window = 1\nbus = \"line1\"\nunit = 201",
        "bus = \"line1\"\nunit = 201",
    );
    expect(
        &t,
        "device[2].window",
        nth_line(&t, "[[device]]", 2),
        &[
            "(protocol modbus-evaluator)",
            "serves one window",
            "add window = N",
        ],
    );
}

#[test]
fn a_zone_device_needs_a_zone_not_a_window() {
    let t = edit(
        "zone = \"z1\"\nbus = \"line1\"",
        "window = 2\nbus = \"line1\"",
    );
    expect(
        &t,
        "device[3].window",
        line(&t, "window = 2"),
        &[
            "(protocol modbus-text-board)",
            "serves a zone, not a window",
            "write zone = \"…\"",
        ],
    );
    let t = edit("zone = \"z1\"\nbus = \"voice1\"", "bus = \"voice1\"");
    expect(
        &t,
        "device[4].zone",
        nth_line(&t, "[[device]]", 4),
        &["(protocol syn6288) serves a zone", "add zone = \"…\""],
    );
    let t = edit(
        "zone = \"z1\"\nbus = \"voice1\"",
        "zone = \"z1\"\nwindow = 1\nbus = \"voice1\"",
    );
    expect(
        &t,
        "device[4].window",
        nth_line(&t, "window = 1", 3),
        &["serves a zone, not a window", "remove window"],
    );
}

#[test]
fn the_window_must_be_configured() {
    let t = edit(
        "window = 1\nbus = \"line1\"\nunit = 1\n",
        "window = 9\nbus = \"line1\"\nunit = 1\n",
    );
    expect(
        &t,
        "device[0].window",
        line(&t, "window = 9"),
        &["window 9 is not defined", "windows: 1–2"],
    );
}

#[test]
fn the_zone_must_be_configured() {
    let t = edit(
        "zone = \"z1\"\nbus = \"line1\"",
        "zone = \"z3\"\nbus = \"line1\"",
    );
    expect(
        &t,
        "device[3].zone",
        line(&t, "\"z3\""),
        &["zone \"z3\" is not defined", "did you mean \"z1\"?"],
    );
}

// ---------------------------------------------------------------------------
// [[device]]: unit

#[test]
fn a_modbus_device_needs_a_unit() {
    let t = edit("unit = 60\n", "");
    expect(
        &t,
        "device[3].unit",
        nth_line(&t, "[[device]]", 3),
        &["a Modbus slave", "add unit = 1–247"],
    );
}

#[test]
fn units_are_1_to_247() {
    for bad in [0, 248, 255] {
        let t = edit("unit = 60", &format!("unit = {bad}"));
        expect(
            &t,
            "device[3].unit",
            line(&t, &format!("unit = {bad}")),
            &[&format!("unit {bad} is out of range"), "1–247", "broadcast"],
        );
    }
    valid(&edit("unit = 60", "unit = 247"));
}

#[test]
fn an_address_less_device_has_no_unit() {
    let t = edit("bus = \"voice1\"", "bus = \"voice1\"\nunit = 5");
    expect(
        &t,
        "device[4].unit",
        line(&t, "unit = 5"),
        &["(protocol syn6288) has no Modbus address", "remove unit"],
    );
}

#[test]
fn units_are_unique_per_bus() {
    let t = edit("unit = 60", "unit = 101");
    expect(
        &t,
        "device[3].unit",
        nth_line(&t, "unit = 101", 1),
        &[
            "unit 101 is already used on bus \"line1\" by device[1]",
            &format!("(line {})", nth_line(&t, "unit = 101", 0)),
            "its own address",
        ],
    );
    // The same unit on another bus is another device.
    valid(&plus(
        "[[bus]]\nname = \"line2\"\nport = \"sim\"\n\n\
         [[device]]\nprofile = \"generic-window-indicator\"\nwindow = 2\nbus = \"line2\"\nunit = 1\n",
    ));
}

#[test]
fn an_address_less_device_is_alone_on_its_bus() {
    // A voice chip on the Modbus line.
    let t = edit("bus = \"voice1\"", "bus = \"line1\"");
    expect(
        &t,
        "device[4].bus",
        nth_line(&t, "bus = \"line1\"", 4),
        &[
            "profile \"syn6288\" (protocol syn6288) has no address",
            "the only device on its bus",
            "also carries device[0]",
            "and 3 more",
            "a [[bus]] of its own",
        ],
    );
    // A BX-5K board with a Modbus device behind it.
    let t = plus(
        "[[bus]]\nname = \"board\"\nport = \"sim\"\n\n\
         [[device]]\nprofile = \"onbon-bx5k\"\nzone = \"z2\"\nbus = \"board\"\n\n\
         [[device]]\nprofile = \"generic-text-board\"\nzone = \"z2\"\nbus = \"board\"\nunit = 1\n",
    );
    let e = expect(
        &t,
        "device[5].bus",
        nth_line(&t, "bus = \"board\"", 0),
        &["(protocol onbon-bx5k-text)", "also carries device[6]"],
    );
    assert!(!e.message.contains("more"), "{e}");
}

// ---------------------------------------------------------------------------
// [[device]]: how many per window and zone

#[test]
fn one_keypad_per_window() {
    let t =
        plus("[[device]]\nprofile = \"generic-keypad\"\nwindow = 1\nbus = \"line1\"\nunit = 102\n");
    expect(
        &t,
        "device[5].window",
        nth_line(&t, "window = 1", 3),
        &[
            "window 1 already has a keypad: device[1]",
            &format!("(line {})", nth_line(&t, "[[device]]", 1)),
            "at most one",
        ],
    );
}

#[test]
fn one_evaluator_per_window() {
    let t = plus(
        "[[device]]\nprofile = \"generic-evaluator\"\nwindow = 1\nbus = \"line1\"\nunit = 202\n",
    );
    expect(
        &t,
        "device[5].window",
        nth_line(&t, "window = 1", 3),
        &[
            "window 1 already has an evaluator: device[2]",
            "at most one",
        ],
    );
}

#[test]
fn one_voice_chip_per_zone() {
    let t = plus(
        "[[bus]]\nname = \"voice2\"\nport = \"sim\"\n\n\
         [[device]]\nprofile = \"xfs5152ce\"\nzone = \"z1\"\nbus = \"voice2\"\n",
    );
    expect(
        &t,
        "device[5].zone",
        nth_line(&t, "zone = \"z1\"", 3),
        &[
            "zone \"z1\" already has a voice chip: device[4]",
            "at most one",
            "never over each other",
        ],
    );
    // Another zone may have its own.
    valid(&plus(
        "[[bus]]\nname = \"voice2\"\nport = \"sim\"\n\n\
         [[device]]\nprofile = \"xfs5152ce\"\nzone = \"z2\"\nbus = \"voice2\"\n",
    ));
}

#[test]
fn several_indicators_per_window_and_boards_per_zone_are_fine() {
    let c = valid(&plus(
        "[[device]]\nprofile = \"generic-window-indicator\"\nwindow = 1\nbus = \"line1\"\nunit = 2\n\n\
         [[device]]\nprofile = \"generic-text-board\"\nzone = \"z1\"\nbus = \"line1\"\nunit = 61\n\n\
         [[bus]]\nname = \"board\"\nport = \"sim\"\n\n\
         [[device]]\nprofile = \"onbon-bx5k.toml\"\nzone = \"z1\"\nbus = \"board\"\n",
    ));
    assert_eq!(c.devices().len(), 8);
}

#[test]
fn at_most_2048_devices() {
    // BASE's 5 devices and 2044 indicators of window 1 on 9 more buses.
    let mut more = String::new();
    let mut n = 5;
    'outer: for b in 0..9 {
        more.push_str(&format!("[[bus]]\nname = \"many{b}\"\nport = \"sim\"\n\n"));
        for unit in 1..=247 {
            if n == 2049 {
                break 'outer;
            }
            more.push_str(&format!(
                "[[device]]\nprofile = \"generic-window-indicator\"\nwindow = 1\nbus = \"many{b}\"\nunit = {unit}\n\n"
            ));
            n += 1;
        }
    }
    let t = plus(&more);
    let e = expect(
        &t,
        "device[2048]",
        nth_line(&t, "[[device]]", 2048),
        &["2049 devices are defined", "at most 2048", "refused"],
    );
    assert_eq!(errors(&t).len(), 1, "only the limit: {e}");
}

#[test]
fn every_device_error_is_reported() {
    let t = edit("unit = 60", "unit = 0");
    let t = t.replacen("bus = \"voice1\"", "bus = \"nowhere\"", 1);
    let t = t.replacen("profile = \"generic-evaluator\"", "profile = \"acme\"", 1);
    let t = t.replacen("port = \"sim\"", "port = \"sim\"\nbaud = 7", 1);
    let fields: BTreeSet<String> = errors(&t).into_iter().map(|e| e.field).collect();
    for f in [
        "bus[0].baud",
        "device[2].profile",
        "device[3].unit",
        "device[4].bus",
    ] {
        assert!(fields.contains(f), "{f} missing from {fields:?}");
    }
}

// ---------------------------------------------------------------------------
// The shipped halls.

#[test]
fn the_demo_hall_uses_every_built_in_profile_on_simulated_buses() {
    let c = Config::demo();
    assert!(c.buses().len() >= 2);
    assert!(
        c.buses().iter().all(|b| b.port == "sim"),
        "demo buses are simulated"
    );
    let mut buses_of: HashMap<&str, HashSet<&str>> = HashMap::new();
    for d in c.devices() {
        let key = c
            .profiles()
            .iter()
            .find(|(_, p)| *p == c.device_profile(d))
            .map(|(k, _)| k.as_str())
            .unwrap();
        buses_of.entry(key).or_default().insert(d.bus.as_str());
    }
    let used: BTreeSet<&str> = buses_of.keys().copied().collect();
    let all: BTreeSet<&str> = c.profiles().keys().map(String::as_str).collect();
    assert_eq!(used, all, "every built-in profile is used");
    let devices_on: HashSet<&str> = buses_of.values().flatten().copied().collect();
    assert!(devices_on.len() >= 2, "devices on at least 2 buses");
    for (profile, buses) in &buses_of {
        let modbus = c.profiles()[*profile].protocol().is_modbus();
        if modbus {
            assert!(buses.len() >= 2, "{profile} on one bus only: {buses:?}");
        }
    }
    let protocols: BTreeSet<Protocol> = c
        .devices()
        .iter()
        .map(|d| c.device_profile(d).protocol())
        .collect();
    assert_eq!(protocols.len(), Protocol::ALL.len(), "every protocol");
}

#[test]
fn the_demo_hall_wires_every_window_and_zone() {
    let c = Config::demo();
    let of = |p: Protocol| -> Vec<_> {
        c.devices()
            .iter()
            .filter(|d| c.device_profile(d).protocol() == p)
            .collect()
    };
    for w in c.windows() {
        for p in [
            Protocol::ModbusWindowIndicator,
            Protocol::ModbusKeypad,
            Protocol::ModbusEvaluator,
        ] {
            assert!(
                of(p).iter().any(|d| d.window == Some(w.number)),
                "window {} has no {p}",
                w.number
            );
        }
        let indicator = of(Protocol::ModbusWindowIndicator)
            .into_iter()
            .find(|d| d.window == Some(w.number))
            .unwrap();
        assert_eq!(indicator.unit, Some(u8::try_from(w.number).unwrap()));
    }
    for z in &c.file.zones {
        let boards = [Protocol::ModbusTextBoard, Protocol::OnbonBx5kText];
        assert!(
            boards.iter().any(|&p| of(p)
                .iter()
                .any(|d| d.zone.as_deref() == Some(z.id.as_str()))),
            "zone {} has no board",
            z.id
        );
        let voices: Vec<_> = [Protocol::Syn6288, Protocol::Xfs5152]
            .iter()
            .flat_map(|&p| of(p))
            .filter(|d| d.zone.as_deref() == Some(z.id.as_str()))
            .collect();
        assert_eq!(voices.len(), 1, "zone {} needs one voice chip", z.id);
        assert_eq!(voices[0].bus, format!("voice-{}", z.id));
    }
}

#[test]
fn the_county_hall_example_uses_real_ports() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/firmware-config/examples/county-hall.toml"
    );
    let c = Config::load(std::path::Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.buses().len() >= 3);
    for b in c.buses() {
        assert!(
            b.port.starts_with("/dev/serial/by-id/") || b.port.starts_with("/dev/serial/by-path/"),
            "{}: {}",
            b.name,
            b.port
        );
    }
    let protocols: BTreeSet<Protocol> = c
        .devices()
        .iter()
        .map(|d| c.device_profile(d).protocol())
        .collect();
    assert_eq!(protocols.len(), Protocol::ALL.len(), "every protocol");
}

#[test]
fn the_summary_has_one_line_per_bus() {
    let c = Config::demo();
    let s = summary_on(&c, chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
    assert!(
        s.contains(&format!(
            "buses: {}, {} devices",
            c.buses().len(),
            c.devices().len()
        )),
        "{s}"
    );
    assert!(
        s.contains(
            "  floor1: port sim, 9600 baud 8N1, 57 devices (modbus-window-indicator 18, \
             modbus-text-board 3, modbus-keypad 18, modbus-evaluator 18)"
        ),
        "{s}"
    );
    assert!(
        s.contains("  voice-f1-police: port sim, 9600 baud 8N1, 1 device (xfs5152 1)"),
        "{s}"
    );
    let bus_lines = s
        .lines()
        .skip_while(|l| !l.starts_with("buses:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .count();
    assert_eq!(bus_lines, c.buses().len(), "{s}");

    let mut c = valid(&plus(
        "[[bus]]\nname = \"spare\"\nport = \"sim\"\nwire_speed = true\nparity = \"even\"\n",
    ));
    c.set_bus_port("voice1", "/dev/ttyS1").unwrap();
    let s = summary_on(&c, chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
    assert!(
        s.contains("  spare: port sim (paced at wire speed), 9600 baud 8E1, no devices"),
        "{s}"
    );
    assert!(
        s.contains("  voice1: port /dev/ttyS1, 9600 baud 8N1, 1 device (syn6288 1)"),
        "{s}"
    );
    let none = valid(&BASE[..BASE.find("[[bus]]").unwrap()]);
    let s = summary_on(&none, chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
    assert!(s.contains("buses: none"), "{s}");
}

// ---------------------------------------------------------------------------
// set_bus_port (hallq serve --bus NAME=PATH)

#[test]
fn set_bus_port_points_a_bus_at_a_real_port() {
    let mut c = valid(&edit("port = \"sim\"", "port = \"sim\"\nwire_speed = true"));
    c.set_bus_port("line1", "sim").unwrap();
    assert!(c.bus("line1").unwrap().wire_speed, "sim keeps wire_speed");
    c.set_bus_port("line1", "/dev/ttyUSB3").unwrap();
    let bus = c.bus("line1").unwrap();
    assert_eq!(bus.port, "/dev/ttyUSB3");
    assert!(!bus.wire_speed, "a real port turns wire_speed off");
    c.set_bus_port("voice1", "sim").unwrap();
    assert_eq!(c.bus("voice1").unwrap().port, "sim");
}

#[test]
fn set_bus_port_refuses_unknown_buses_and_bad_ports() {
    let mut c = valid(BASE);
    let e = c.set_bus_port("line2", "/dev/ttyUSB0").unwrap_err();
    assert_eq!(e.file, FILE);
    assert!(e.field.contains("--bus"), "{e}");
    assert!(
        e.message.contains("no bus \"line2\"") && e.message.contains("\"line1\", \"voice1\""),
        "{e}"
    );
    let e = c.set_bus_port("line1", "ttyUSB0").unwrap_err();
    assert!(e.message.contains("absolute path"), "{e}");
    let e = c.set_bus_port("line1", "").unwrap_err();
    assert!(e.message.contains("must not be empty"), "{e}");
    let e = c
        .set_bus_port(
            "line1",
            "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K4Q2L-if00-port0",
        )
        .unwrap_err();
    assert!(
        e.message.contains("already the port of bus \"voice1\""),
        "{e}"
    );
    assert_eq!(
        c.bus("line1").unwrap().port,
        "sim",
        "unchanged after errors"
    );

    let mut none = valid(&BASE[..BASE.find("[[bus]]").unwrap()]);
    let e = none.set_bus_port("line1", "/dev/ttyUSB0").unwrap_err();
    assert!(e.message.contains("has no [[bus]]"), "{e}");
}

// ---------------------------------------------------------------------------
// Wire timing

fn bus_with(
    baud: u32,
    parity: Parity,
    stop_bits: u8,
    gap_ms: Option<u32>,
) -> hallq::config::BusConfig {
    let mut b = valid(BASE).bus("line1").unwrap().clone();
    b.baud = baud;
    b.parity = parity;
    b.stop_bits = stop_bits;
    b.gap_ms = gap_ms;
    b
}

#[test]
fn byte_time_counts_every_bit_of_a_character() {
    // 8N1 = 10 bits: 1.0417 ms at 9600, 86.8 µs at 115200 (DESIGN.md §6).
    assert_eq!(
        bus_with(9600, Parity::None, 1, None).byte_time(),
        Duration::from_nanos(1_041_667)
    );
    assert_eq!(
        bus_with(115_200, Parity::None, 1, None).byte_time(),
        Duration::from_nanos(86_806)
    );
    // 8E1 and 8N2 = 11 bits.
    assert_eq!(
        bus_with(9600, Parity::Even, 1, None).byte_time(),
        Duration::from_nanos(1_145_833)
    );
    assert_eq!(
        bus_with(9600, Parity::None, 2, None).byte_time(),
        Duration::from_nanos(1_145_833)
    );
    assert_eq!(bus_with(9600, Parity::Odd, 1, None).bits_per_char(), 11);
}

#[test]
fn gap_is_three_and_a_half_characters_but_at_least_1_75_ms() {
    // 35 bits at 9600 = 3.6458 ms; 38.5 bits with parity = 4.0104 ms.
    assert_eq!(
        bus_with(9600, Parity::None, 1, None).gap(),
        Duration::from_nanos(3_645_833)
    );
    assert_eq!(
        bus_with(9600, Parity::Even, 1, None).gap(),
        Duration::from_nanos(4_010_417)
    );
    // At 115200, 3.5 characters (0.30 ms) is below the Modbus floor.
    assert_eq!(
        bus_with(115_200, Parity::None, 1, None).gap(),
        Duration::from_micros(1750)
    );
    // 19200 is just above it: 35 bits = 1.8229 ms.
    assert_eq!(
        bus_with(19_200, Parity::None, 1, None).gap(),
        Duration::from_nanos(1_822_917)
    );
    // An explicit gap_ms wins, zero included.
    assert_eq!(
        bus_with(9600, Parity::None, 1, Some(10)).gap(),
        Duration::from_millis(10)
    );
    assert_eq!(
        bus_with(115_200, Parity::None, 1, Some(0)).gap(),
        Duration::ZERO
    );
}
