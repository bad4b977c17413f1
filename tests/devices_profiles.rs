//! Device profiles: every shipped profile loads (from disk and compiled
//! in), one per protocol, and broken profiles are refused with the file,
//! line and field.

use std::path::Path;

use hallq::devices::board::TextBoardProfile;
use hallq::devices::bx5k::Bx5kProfile;
use hallq::devices::evaluator::EvaluatorProfile;
use hallq::devices::indicator::WindowIndicatorProfile;
use hallq::devices::keypad::{KeypadKey, KeypadProfile};
use hallq::devices::profile::{self, DeviceProfile, Protocol};
use hallq::devices::tts::syn6288::Syn6288Profile;
use hallq::devices::tts::xfs5152::Xfs5152Profile;

fn profiles_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/firmware-config/profiles"
    ))
}

#[test]
fn every_shipped_profile_loads() {
    let on_disk = profile::load_dir(profiles_dir()).unwrap_or_else(|e| panic!("{e}"));
    let builtin = profile::builtin_profiles().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(on_disk, builtin, "the compiled-in profiles are the files");
    let mut protocols: Vec<Protocol> = on_disk.values().map(|p| p.protocol()).collect();
    protocols.sort();
    let mut all = Protocol::ALL.to_vec();
    all.sort();
    assert_eq!(protocols, all, "one shipped profile per protocol");
    for (file, p) in &on_disk {
        assert!(!p.name.is_empty(), "{file}");
        assert!(!p.description.is_empty(), "{file}");
    }
}

#[test]
fn shipped_generic_profiles_spell_out_the_defaults() {
    let p = profile::builtin_profiles().unwrap();
    let device = |f: &str| p[f].device.clone();
    assert_eq!(
        device("generic-window-indicator.toml"),
        DeviceProfile::WindowIndicator(Box::<WindowIndicatorProfile>::default())
    );
    assert_eq!(
        device("generic-text-board.toml"),
        DeviceProfile::TextBoard(TextBoardProfile::default())
    );
    assert_eq!(
        device("onbon-bx5k.toml"),
        DeviceProfile::Bx5k(Bx5kProfile::default())
    );
    assert_eq!(
        device("syn6288.toml"),
        DeviceProfile::Syn6288(Syn6288Profile::default())
    );
    assert_eq!(
        device("xfs5152ce.toml"),
        DeviceProfile::Xfs5152(Xfs5152Profile::default())
    );
    assert_eq!(
        device("generic-evaluator.toml"),
        DeviceProfile::Evaluator(EvaluatorProfile::default())
    );
    // The keypad spells its code table out; it maps exactly as the default.
    let DeviceProfile::Keypad(k) = device("generic-keypad.toml") else {
        panic!("not a keypad");
    };
    let d = KeypadProfile::default();
    for code in 0..=64 {
        assert_eq!(k.key(code), d.key(code), "code {code}");
    }
    for key in KeypadKey::ALL {
        assert_eq!(k.code(key), Some(key.code()));
    }
}

fn errors(text: &str) -> String {
    match profile::parse("p.toml", text) {
        Ok(p) => panic!("accepted: {p:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn refusals_name_file_line_and_field() {
    let e = errors("name = \"x\"\nprotocol = \"modbus-led\"\n");
    assert!(
        e.starts_with("p.toml:2: protocol: unknown variant `modbus-led`"),
        "{e}"
    );

    let e = errors(
        "name = \"x\"\nprotocol = \"modbus-keypad\"\n[modbus-keypad.fifo]\ndepth = 8\nstart = 1\n",
    );
    assert!(e.contains("p.toml:5"), "{e}");
    assert!(e.contains("unknown field `start`"), "{e}");

    let e = errors(
        "name = \"x\"\nprotocol = \"modbus-text-board\"\n[modbus-text-board]\nline = \"{ticket} → {window\"\n",
    );
    assert!(e.contains("p.toml:4"), "{e}");
    assert!(e.contains("not closed"), "{e}");

    let e = errors(
        "name = \"x\"\nprotocol = \"modbus-text-board\"\n[modbus-text-board]\nlines = \"16\"\n",
    );
    assert!(e.contains("p.toml:4: modbus-text-board.lines"), "{e}");

    let e = errors(
        "name = \"\"\nprotocol = \"syn6288\"\n[syn6288]\nencoding = \"utf16le\"\nvoice_tags = \"loud\"\nrepeat = 0\nbackground_music = 16\nannouncement = \"请{ticket}到{counter}\"\n",
    );
    for needle in [
        "p.toml:1: name",
        "p.toml:4: syn6288.encoding: the SYN6288 cannot read utf16le",
        "p.toml:5: syn6288.voice_tags",
        "p.toml:6: syn6288.repeat",
        "p.toml:7: syn6288.background_music",
        "p.toml:8: syn6288.announcement: unknown placeholder {counter}",
    ] {
        assert!(e.contains(needle), "missing {needle:?} in:\n{e}");
    }

    let e = errors("name = \"x\"\nprotocol = \"xfs5152\"\n[xfs5152]\nencoding = \"utf16be\"\n");
    assert!(
        e.contains("p.toml:4: xfs5152.encoding: the XFS5152 cannot read utf16be"),
        "{e}"
    );

    let e = errors(
        "name = \"x\"\nprotocol = \"modbus-keypad\"\n[modbus-keypad]\nwaiting_register = 20\n[modbus-keypad.codes]\none = \"call_next\"\n",
    );
    assert!(
        e.contains(
            "p.toml:4: modbus-keypad.waiting_register: registers 20–20 overlap ticket_register"
        ),
        "{e}"
    );
    assert!(
        e.contains("modbus-keypad.codes.one: a code is a number"),
        "{e}"
    );

    let e = errors(
        "name = \"x\"\nprotocol = \"modbus-evaluator\"\n[modbus-evaluator]\nrating_timeout_s = 0\nmax_write_registers = 124\n",
    );
    assert!(
        e.contains("p.toml:4: modbus-evaluator.rating_timeout_s"),
        "{e}"
    );
    assert!(
        e.contains("p.toml:5: modbus-evaluator.max_write_registers"),
        "{e}"
    );

    let e = errors(
        "name = \"x\"\nprotocol = \"onbon-bx5k-text\"\n[onbon-bx5k-text]\nencoding = \"utf16le\"\nlines = 0\n[onbon-bx5k-text.area]\nwidth = 0\n",
    );
    assert!(e.contains("p.toml:4: onbon-bx5k-text.encoding"), "{e}");
    assert!(e.contains("p.toml:5: onbon-bx5k-text.lines"), "{e}");
    assert!(e.contains("p.toml:7: onbon-bx5k-text.area.width"), "{e}");

    let e = errors(
        "name = \"x\"\nprotocol = \"modbus-window-indicator\"\n[modbus-window-indicator]\nline2 = { register = 65530, width = 16 }\n[modbus-window-indicator.mode_values]\noff = 0\nidle = 0\ncalling = 2\nserving = 3\npaused = 4\nclosed = 5\n",
    );
    assert!(
        e.contains("p.toml:4: modbus-window-indicator.line2: runs past register 65535"),
        "{e}"
    );
    assert!(
        e.contains("p.toml:5: modbus-window-indicator.mode_values: each mode needs its own value"),
        "{e}"
    );
}

#[test]
fn a_new_model_needs_no_code() {
    // An indicator that packs GB2312 and keeps its lines elsewhere.
    let text = "\
name = \"某品牌窗口屏 X2\"
protocol = \"modbus-window-indicator\"

[modbus-window-indicator]
line1 = { register = 100, width = 4 }
line2 = { register = 110, width = 10 }
text_encoding = \"gb2312\"
max_write_registers = 16
";
    let p = profile::parse("x2.toml", text).unwrap();
    let DeviceProfile::WindowIndicator(ind) = p.device else {
        panic!("not an indicator");
    };
    use hallq::devices::indicator::WindowShows;
    let c = ind.content(
        12,
        &WindowShows::Calling {
            ticket: "A012".into(),
        },
    );
    let img = ind.image(&c);
    assert_eq!(img.block(100, 4), [0x4130, 0x3132, 0, 0]);
    // 请到12号窗口: 请 C7EB 到 B5BD "12" 号 BAC5 窗 B4B0 口 BFDA
    assert_eq!(
        img.block(110, 7),
        [0xC7EB, 0xB5BD, 0x3132, 0xBAC5, 0xB4B0, 0xBFDA, 0]
    );
    assert_eq!(ind.decode(&img), Some(c));
    let writes = ind.writes(3, None, &img, false).unwrap();
    // HR 100–103, HR 110–119, then HR 0–2 (the mode last, so the text is
    // in place when it starts flashing): the gap 104–109 is short, but not
    // part of the image, so never written.
    let spans: Vec<(u16, u16)> = writes
        .iter()
        .map(|w| {
            (
                u16::from_be_bytes([w.bytes[2], w.bytes[3]]),
                u16::from_be_bytes([w.bytes[4], w.bytes[5]]),
            )
        })
        .collect();
    assert_eq!(spans, [(100, 4), (110, 10), (0, 3)]);
}
