//! `hallq sim`: the devices of a configuration's `"sim"` buses on PTYs that
//! another process opens (`hallq serve --bus NAME=PATH`), with a console:
//! every device change is printed with a timestamp, and commands read from
//! stdin press keys, rate, and inject faults.

use anyhow::Context;
use tokio::io::AsyncReadExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::broadcast::error::RecvError;

use crate::config::Config;
use crate::devices::keypad::KeypadKey;
use crate::sim::devices::fault::FAULT_WORDS;
use crate::sim::devices::{Fault, SimHall, SimSpec};

/// Longest command line read; longer lines are refused whole.
pub const LINE_BYTES_MAX: usize = 1024;

/// The key names of `key WINDOW KEYNAME`.
const KEY_NAMES: [(&str, KeypadKey); 10] = [
    ("call", KeypadKey::CallNext),
    ("recall", KeypadKey::Recall),
    ("noshow", KeypadKey::NoShow),
    ("start", KeypadKey::Start),
    ("finish", KeypadKey::Finish),
    ("pause", KeypadKey::Pause),
    ("resume", KeypadKey::Resume),
    ("next", KeypadKey::Transfer),
    ("evaluate", KeypadKey::RequestEvaluation),
    ("park", KeypadKey::Park),
];

/// The five ratings, code 1 first.
const RATINGS: [&str; 5] = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"];

const HELP: &str = "\
commands:
  show                          every device: what it shows, its fault and counters
  press BUS UNIT CODE           a raw key code (keypad) or rating code (evaluator)
  key WINDOW KEYNAME            call | recall | noshow | start | finish | pause |
                                resume | next | evaluate | park
  rate WINDOW 1-5               1 非常满意 2 满意 3 基本满意 4 不满意 5 非常不满意
  fault BUS UNIT FAULT          UNIT a number, or all; FAULT none | unplug |
                                silent | garbage | badcrc | slow MS
  help                          this list
  quit                          stop the simulator";

/// One console command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Nothing,
    Show,
    Press {
        bus: String,
        unit: u8,
        code: u16,
    },
    Key {
        window: u32,
        key: KeypadKey,
    },
    Rate {
        window: u32,
        rating: u16,
    },
    Fault {
        bus: String,
        unit: Option<u8>,
        fault: Fault,
    },
    Help,
    Quit,
}

fn number<T: std::str::FromStr>(word: &str, what: &str) -> Result<T, String> {
    word.parse()
        .map_err(|_| format!("{what} must be a number, not {word:?}"))
}

/// Parses one console line; the error says what is allowed.
fn parse(line: &str) -> Result<Command, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let usage = |u: &str| Err(format!("usage: {u}"));
    match words.as_slice() {
        [] => Ok(Command::Nothing),
        ["show"] => Ok(Command::Show),
        ["help" | "?"] => Ok(Command::Help),
        ["quit" | "exit"] => Ok(Command::Quit),
        ["press", bus, unit, code] => Ok(Command::Press {
            bus: (*bus).to_string(),
            unit: number(unit, "UNIT (1–247)")?,
            code: number(code, "CODE (0–65535)")?,
        }),
        ["press", ..] => usage("press BUS UNIT CODE"),
        ["key", window, name] => {
            let key = KEY_NAMES
                .iter()
                .find(|(n, _)| n == name)
                .map(|&(_, k)| k)
                .ok_or_else(|| {
                    let names: Vec<&str> = KEY_NAMES.iter().map(|(n, _)| *n).collect();
                    format!("unknown key {name:?}; keys: {}", names.join(", "))
                })?;
            Ok(Command::Key {
                window: number(window, "WINDOW")?,
                key,
            })
        }
        ["key", ..] => usage("key WINDOW KEYNAME"),
        ["rate", window, rating] => {
            let rating: u16 = number(rating, "the rating (1–5)")?;
            if !(1..=5).contains(&rating) {
                return Err("a rating is 1 (非常满意) to 5 (非常不满意)".to_string());
            }
            Ok(Command::Rate {
                window: number(window, "WINDOW")?,
                rating,
            })
        }
        ["rate", ..] => usage("rate WINDOW 1-5"),
        ["fault", bus, unit, fault @ ..] if !fault.is_empty() => {
            let unit = match *unit {
                "all" | "-" => None,
                u => Some(number(u, "UNIT (1–247, or all)")?),
            };
            Ok(Command::Fault {
                bus: (*bus).to_string(),
                unit,
                fault: fault.join(" ").parse()?,
            })
        }
        ["fault", ..] => usage(&format!("fault BUS UNIT|all {FAULT_WORDS}")),
        [other, ..] => Err(format!(
            "unknown command {other:?}; commands: show, press, key, rate, fault, help, quit"
        )),
    }
}

/// Runs one command; the line to print.
fn execute(hall: &SimHall, command: Command) -> Result<String, String> {
    let e = |e: crate::sim::devices::SimError| e.to_string();
    match command {
        Command::Nothing | Command::Quit => Ok(String::new()),
        Command::Help => Ok(HELP.to_string()),
        Command::Show => Ok(show(hall)),
        Command::Press { bus, unit, code } => {
            hall.press(&bus, unit, code).map_err(e)?;
            Ok(format!("{bus}/{unit}: code {code} pressed"))
        }
        Command::Key { window, key } => {
            let code = hall.press_key(window, key).map_err(e)?;
            Ok(format!(
                "窗口{window} keypad: {} pressed (code {code})",
                key.zh()
            ))
        }
        Command::Rate { window, rating } => {
            hall.rate(window, rating).map_err(e)?;
            let name = RATINGS.get(usize::from(rating) - 1).copied().unwrap_or("?");
            Ok(format!("窗口{window} evaluator: rated {rating} {name}"))
        }
        Command::Fault { bus, unit, fault } => {
            hall.set_fault(&bus, unit, fault).map_err(e)?;
            let which = unit.map_or("every device".to_string(), |u| u.to_string());
            Ok(format!("{bus}/{which}: fault {fault}"))
        }
    }
}

fn show(hall: &SimHall) -> String {
    let mut out = Vec::new();
    for bus in hall.bus_names() {
        let stats = hall.bus_stats(&bus).unwrap_or_default();
        out.push(format!(
            "bus {bus} ({}): {} frames, {} bytes in, {} out, {} bad frames, {} collisions",
            hall.port_path(&bus).unwrap_or_default(),
            stats.frames,
            stats.bytes_in,
            stats.bytes_out,
            stats.bad_frames,
            stats.collisions
        ));
        for d in hall.devices().into_iter().filter(|d| d.bus == bus) {
            let unit = d.unit.map_or("-".to_string(), |u| u.to_string());
            let fault = if d.fault == Fault::None {
                String::new()
            } else {
                format!("  [fault {}]", d.fault)
            };
            let c = d.counters;
            let mut counters = format!("requests {}, replies {}", c.requests, c.replies);
            for (n, name) in [
                (c.exceptions, "exceptions"),
                (c.garbage_floods, "garbage floods"),
                (c.lost_presses, "lost presses"),
                (c.cut_offs, "cut-offs"),
            ] {
                if n > 0 {
                    counters.push_str(&format!(", {name} {n}"));
                }
            }
            out.push(format!("  {unit:>3}  {}{fault}  ({counters})", d.shows));
        }
    }
    out.join("\n")
}

fn timestamp() -> String {
    chrono::Local::now().format("%H:%M:%S%.3f").to_string()
}

/// `hallq sim`: runs until `quit`, Ctrl-C or SIGTERM.
pub async fn run(config: Config, speech_ms_per_char: u64) -> anyhow::Result<()> {
    let mut spec = SimSpec::from_config(&config);
    if spec.buses.is_empty() {
        anyhow::bail!(
            "{} has no [[bus]] with port = \"sim\": nothing to simulate",
            config.source_name
        );
    }
    spec.speech_ms_per_char = speech_ms_per_char;
    let hall = SimHall::start(spec).context("starting the simulated buses")?;
    let mut flags = Vec::new();
    for bus in hall.bus_names() {
        let path = hall.port_path(&bus).unwrap_or_else(|| "(no path)".into());
        let devices = hall.devices().iter().filter(|d| d.bus == bus).count();
        println!("bus {bus}: {path} ({devices} devices)");
        flags.push(format!("--bus {bus}={path}"));
    }
    println!("point hallq at them:  hallq serve {}", flags.join(" "));
    println!("type help for commands");

    let mut changes = hall.changes();
    let printer = tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(change) => println!("{} {change}", timestamp()),
                Err(RecvError::Lagged(n)) => println!("{} … {n} changes not shown", timestamp()),
                Err(RecvError::Closed) => break,
            }
        }
    });

    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut stdin = tokio::io::stdin();
    let mut stdin_open = true;
    let mut chunk = [0u8; 512];
    let mut line: Vec<u8> = Vec::new();
    let mut too_long = false;
    let result = loop {
        tokio::select! {
            read = stdin.read(&mut chunk), if stdin_open => match read {
                Ok(n) if n > 0 => {
                    let mut quit = false;
                    for &b in &chunk[..n] {
                        if b != b'\n' {
                            if line.len() >= LINE_BYTES_MAX {
                                too_long = true;
                            } else {
                                line.push(b);
                            }
                            continue;
                        }
                        let text = String::from_utf8_lossy(&line).into_owned();
                        line.clear();
                        if std::mem::take(&mut too_long) {
                            println!("error: a command is at most {LINE_BYTES_MAX} bytes");
                            continue;
                        }
                        match parse(&text) {
                            Ok(Command::Quit) => quit = true,
                            Ok(command) => match execute(&hall, command) {
                                Ok(s) if s.is_empty() => {}
                                Ok(s) => println!("{s}"),
                                Err(e) => println!("error: {e}"),
                            },
                            Err(e) => println!("error: {e} (type help)"),
                        }
                        if quit {
                            break;
                        }
                    }
                    if quit {
                        break Ok(());
                    }
                }
                _ => {
                    stdin_open = false;
                    println!("stdin closed: simulating until Ctrl-C or SIGTERM");
                }
            },
            _ = tokio::signal::ctrl_c() => break Ok(()),
            _ = terminate.recv() => break Ok(()),
        }
    };
    printer.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(parse("  "), Ok(Command::Nothing));
        assert_eq!(parse("show"), Ok(Command::Show));
        assert_eq!(
            parse("press floor1 101 1"),
            Ok(Command::Press {
                bus: "floor1".into(),
                unit: 101,
                code: 1
            })
        );
        assert_eq!(
            parse("key 12 call"),
            Ok(Command::Key {
                window: 12,
                key: KeypadKey::CallNext
            })
        );
        assert_eq!(
            parse("key 12 next"),
            Ok(Command::Key {
                window: 12,
                key: KeypadKey::Transfer
            })
        );
        assert_eq!(
            parse("rate 3 5"),
            Ok(Command::Rate {
                window: 3,
                rating: 5
            })
        );
        assert_eq!(
            parse("fault floor1 all slow 300"),
            Ok(Command::Fault {
                bus: "floor1".into(),
                unit: None,
                fault: Fault::Slow(300)
            })
        );
        assert_eq!(
            parse("fault f 3 unplug"),
            Ok(Command::Fault {
                bus: "f".into(),
                unit: Some(3),
                fault: Fault::Unplugged
            })
        );
    }

    #[test]
    fn errors_say_what_is_allowed() {
        let e = parse("key 12 jump").unwrap_err();
        assert!(e.contains("call, recall"), "{e}");
        assert!(parse("rate 3 6").unwrap_err().contains("1 (非常满意)"));
        assert!(
            parse("press x")
                .unwrap_err()
                .contains("press BUS UNIT CODE")
        );
        assert!(parse("press x 300 1").unwrap_err().contains("UNIT"));
        assert!(
            parse("fault x 1 melt")
                .unwrap_err()
                .contains("none | unplug")
        );
        assert!(parse("fault x 1").unwrap_err().contains("usage"));
        assert!(parse("dance").unwrap_err().contains("commands: show"));
    }
}
