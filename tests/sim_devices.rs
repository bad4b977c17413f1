//! The device simulator over real PTYs: each profile round-trips through the
//! kernel's tty layer with the protocol encoders acting as a minimal master;
//! every fault is observed from the master's side; wire-speed timing and
//! collisions are measured.

use std::time::{Duration, Instant};

use hallq::devices::board::BoardCall;
use hallq::devices::bx5k::{self, Status};
use hallq::devices::encoding::TextEncoding;
use hallq::devices::evaluator::EvaluatorScreen;
use hallq::devices::fifo::Event;
use hallq::devices::indicator::WindowShows;
use hallq::devices::keypad::{KeypadKey, KeypadScreen};
use hallq::devices::modbus::{
    self, EncodedRequest, ExceptionCode, Incomplete, Response, ResponseError, ResponseExtractor,
};
use hallq::devices::profile::{DeviceProfile, Profile, Protocol, builtin_profiles};
use hallq::devices::tts::{syn6288, xfs5152};
use hallq::sim::devices::{
    ChangeKind, Fault, SimBusSpec, SimContent, SimDeviceSpec, SimHall, SimSpec, SlaveContent,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_serial::SerialStream;

const SPEECH_MS_PER_CHAR: u64 = 5;
const REPLY_WAIT: Duration = Duration::from_millis(1_000);
const NO_REPLY_WAIT: Duration = Duration::from_millis(150);

fn profile(file: &str) -> Profile {
    builtin_profiles().unwrap().remove(file).unwrap()
}

fn device(unit: Option<u8>, file: &str, label: &str) -> SimDeviceSpec {
    SimDeviceSpec {
        unit,
        profile: profile(file),
        label: label.to_string(),
    }
}

fn bus(name: &str, wire_speed: bool, devices: Vec<SimDeviceSpec>) -> SimBusSpec {
    SimBusSpec {
        name: name.to_string(),
        baud: 9600,
        parity_or_two_stop: false,
        wire_speed,
        devices,
    }
}

fn start(buses: Vec<SimBusSpec>) -> SimHall {
    SimHall::start(SimSpec {
        buses,
        speech_ms_per_char: SPEECH_MS_PER_CHAR,
    })
    .unwrap()
}

/// A Modbus bus with one device of each kind: indicator 1 (window 12),
/// board 2, keypad 3 (window 12), evaluator 4 (window 12).
fn modbus_hall(wire_speed: bool) -> (SimHall, SerialStream) {
    let hall = start(vec![bus(
        "m",
        wire_speed,
        vec![
            device(Some(1), "generic-window-indicator.toml", "窗口12 indicator"),
            device(Some(2), "generic-text-board.toml", "f1-general board"),
            device(Some(3), "generic-keypad.toml", "窗口12 keypad"),
            device(Some(4), "generic-evaluator.toml", "窗口12 evaluator"),
        ],
    )]);
    let port = hall.take_port("m").unwrap();
    assert!(hall.take_port("m").is_none(), "a port is handed over once");
    (hall, port)
}

/// What came back for one request.
struct Answer {
    response: Option<Result<Response, ResponseError>>,
    verdict: Incomplete,
    /// Every byte read.
    bytes: Vec<u8>,
    /// From the write to the first byte read.
    first_byte_after: Option<Duration>,
}

/// Sends `req` and reads until its reply is complete or `wait` passes.
async fn ask(port: &mut SerialStream, req: &EncodedRequest, wait: Duration) -> Answer {
    port.write_all(&req.bytes).await.unwrap();
    let sent = Instant::now();
    let mut answer = Answer {
        response: None,
        verdict: Incomplete::Silent,
        bytes: Vec::new(),
        first_byte_after: None,
    };
    let Some(expect) = req.reply else {
        read_for(port, wait, &mut answer.bytes).await;
        return answer;
    };
    let mut x = ResponseExtractor::new(expect);
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; 512];
    while answer.response.is_none() {
        match tokio::time::timeout_at(deadline, port.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                answer
                    .first_byte_after
                    .get_or_insert_with(|| sent.elapsed());
                answer.bytes.extend_from_slice(&buf[..n]);
                answer.response = x.push(&buf[..n]);
            }
            _ => break,
        }
    }
    answer.verdict = x.verdict();
    answer
}

/// Reads whatever arrives within `wait`.
async fn read_for(port: &mut SerialStream, wait: Duration, into: &mut Vec<u8>) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; 512];
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, port.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        into.extend_from_slice(&buf[..n]);
    }
}

/// Reads exactly `n` bytes, or fails after `wait`.
async fn read_n(port: &mut SerialStream, n: usize, wait: Duration) -> Vec<u8> {
    let mut out = vec![0u8; n];
    tokio::time::timeout(wait, port.read_exact(&mut out))
        .await
        .expect("bytes in time")
        .unwrap();
    out
}

async fn write_ok(port: &mut SerialStream, requests: &[EncodedRequest]) {
    for r in requests {
        let a = ask(port, r, REPLY_WAIT).await;
        assert!(matches!(a.response, Some(Ok(_))), "{:?}", a.response);
    }
}

fn shows(hall: &SimHall, label: &str) -> String {
    hall.find_label(label).unwrap().shows
}

fn indicator_profile() -> hallq::devices::indicator::WindowIndicatorProfile {
    match profile("generic-window-indicator.toml").device {
        DeviceProfile::WindowIndicator(p) => *p,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn indicator_and_board_round_trip() {
    let (hall, mut port) = modbus_hall(false);
    let mut changes = hall.changes();
    assert_eq!(shows(&hall, "窗口12 indicator"), "窗口12 indicator: [off]");

    let p = indicator_profile();
    let content = p.content(
        12,
        &WindowShows::Calling {
            ticket: "A012".into(),
        },
    );
    let image = p.image(&content);
    write_ok(&mut port, &p.writes(1, None, &image, false).unwrap()).await;
    assert_eq!(
        shows(&hall, "窗口12 indicator"),
        "窗口12 indicator: [calling ×3] A012 | 请到12号窗口"
    );
    let view = hall.find("m", Some(1)).unwrap();
    assert_eq!(
        view.content,
        SimContent::Modbus(SlaveContent::Indicator(Some(content)))
    );
    assert_eq!(view.protocol, Protocol::ModbusWindowIndicator);
    // Read back what was written.
    let read = modbus::read_holding_registers(1, 16, 8).unwrap();
    let a = ask(&mut port, &read, REPLY_WAIT).await;
    assert_eq!(
        a.response,
        Some(Ok(Response::Registers(image.block(16, 8))))
    );
    // The changes were announced: the text goes first and shows nothing
    // on a blank indicator (no mode yet); the mode write shows it all.
    let mut lines = Vec::new();
    while let Ok(c) = changes.try_recv() {
        if let ChangeKind::Shows(line) = c.kind {
            lines.push(line);
        }
    }
    assert_eq!(
        lines,
        ["窗口12 indicator: [calling ×3] A012 | 请到12号窗口"]
    );

    let DeviceProfile::TextBoard(b) = profile("generic-text-board.toml").device else {
        unreachable!()
    };
    let board = b.image(&b.content(&[BoardCall::new("A013", 3), BoardCall::new("A012", 12)]));
    write_ok(&mut port, &b.writes(2, None, &board).unwrap()).await;
    assert_eq!(
        shows(&hall, "f1-general board"),
        "f1-general board: A013 → 3号窗口 / A012 → 12号窗口"
    );
    let counters = hall.find("m", Some(2)).unwrap().counters;
    assert_eq!(counters.requests, counters.replies);
    assert!(counters.requests >= 1);
}

#[tokio::test]
async fn exceptions_and_broadcast() {
    let (hall, mut port) = modbus_hall(false);
    // HR 3 is not on the indicator's map.
    let a = ask(
        &mut port,
        &modbus::read_holding_registers(1, 0, 4).unwrap(),
        REPLY_WAIT,
    )
    .await;
    assert_eq!(
        a.response,
        Some(Err(ResponseError::Exception(
            ExceptionCode::IllegalDataAddress
        )))
    );
    // An indicator has no input registers.
    let a = ask(
        &mut port,
        &modbus::read_input_registers(1, 0, 1).unwrap(),
        REPLY_WAIT,
    )
    .await;
    assert_eq!(
        a.response,
        Some(Err(ResponseError::Exception(
            ExceptionCode::IllegalDataAddress
        )))
    );
    // A function the devices do not know (0x2B), framed by silence.
    let mut adu = vec![1, 0x2B, 0x0E, 0x01, 0x00];
    modbus::codec::push_crc(&mut adu);
    port.write_all(&adu).await.unwrap();
    let reply = read_n(&mut port, 5, REPLY_WAIT).await;
    assert_eq!(
        reply,
        modbus::encode_exception(1, 0x2B, ExceptionCode::IllegalFunction)
    );
    // A broadcast brightness write: applied by every device that has HR 1…
    // and never answered.
    let a = ask(
        &mut port,
        &modbus::write_single_register(0, 2, 55).unwrap(),
        NO_REPLY_WAIT,
    )
    .await;
    assert!(a.bytes.is_empty(), "nobody answers a broadcast");
    let a = ask(
        &mut port,
        &modbus::read_holding_registers(1, 2, 1).unwrap(),
        REPLY_WAIT,
    )
    .await;
    assert_eq!(a.response, Some(Ok(Response::Registers(vec![55]))));
    // Nothing answers for an absent unit.
    let a = ask(
        &mut port,
        &modbus::read_holding_registers(99, 0, 1).unwrap(),
        NO_REPLY_WAIT,
    )
    .await;
    assert_eq!(a.verdict, Incomplete::Silent);
    assert_eq!(hall.find("m", Some(1)).unwrap().counters.exceptions, 3);
}

#[tokio::test]
async fn keypad_press_poll_ack_and_evaluator() {
    let (hall, mut port) = modbus_hall(false);
    let DeviceProfile::Keypad(k) = profile("generic-keypad.toml").device else {
        unreachable!()
    };
    assert_eq!(hall.press_key(12, KeypadKey::CallNext).unwrap(), 1);
    hall.press("m", 3, KeypadKey::Finish.code()).unwrap();
    let a = ask(&mut port, &k.poll_request(3).unwrap(), REPLY_WAIT).await;
    let Some(Ok(Response::Registers(regs))) = a.response else {
        panic!("poll: {:?}", a.response)
    };
    let poll = k.decode_poll(&regs).unwrap();
    assert_eq!(
        poll.events,
        [
            Event::Known(KeypadKey::CallNext),
            Event::Known(KeypadKey::Finish)
        ]
    );
    write_ok(
        &mut port,
        &[k.ack_request(3, poll.to_acknowledge()).unwrap()],
    )
    .await;
    let a = ask(&mut port, &k.poll_request(3).unwrap(), REPLY_WAIT).await;
    let Some(Ok(Response::Registers(regs))) = a.response else {
        panic!("poll")
    };
    assert!(k.decode_poll(&regs).unwrap().events.is_empty());

    // Nine presses: the ninth is lost and counted.
    for _ in 0..9 {
        hall.press_key(12, KeypadKey::Recall).unwrap();
    }
    assert_eq!(hall.find("m", Some(3)).unwrap().counters.lost_presses, 1);

    let screen = k.screen_image(&KeypadScreen {
        ticket: "A012".into(),
        waiting: 5,
    });
    write_ok(&mut port, &k.screen_writes(3, None, &screen).unwrap()).await;
    assert_eq!(
        shows(&hall, "窗口12 keypad"),
        "窗口12 keypad: A012 · 等待 5"
    );

    let DeviceProfile::Evaluator(e) = profile("generic-evaluator.toml").device else {
        unreachable!()
    };
    let img = e.screen_image(&EvaluatorScreen {
        prompt: true,
        staff_line: e.staff_line("张三", "1001", 12),
    });
    write_ok(&mut port, &e.screen_writes(4, None, &img).unwrap()).await;
    assert_eq!(
        shows(&hall, "窗口12 evaluator"),
        "窗口12 evaluator: 请评价 · 张三 1001"
    );
    hall.rate(12, 2).unwrap();
    let a = ask(&mut port, &e.poll_request(4).unwrap(), REPLY_WAIT).await;
    let Some(Ok(Response::Registers(regs))) = a.response else {
        panic!("poll")
    };
    assert_eq!(e.decode_poll(&regs).unwrap().events.len(), 1);
    assert!(hall.press("m", 1, 1).is_err(), "an indicator has no keys");
    assert!(hall.rate(7, 1).is_err(), "window 7 has no evaluator");
}

#[tokio::test]
async fn syn6288_speaks_then_reports_idle() {
    let hall = start(vec![bus(
        "v",
        false,
        vec![device(None, "syn6288.toml", "f1-general voice")],
    )]);
    let mut port = hall.take_port("v").unwrap();
    let DeviceProfile::Syn6288(p) = profile("syn6288.toml").device else {
        unreachable!()
    };
    let frames = p.announcement_frames("A012", 12).unwrap();
    assert_eq!(frames.len(), 1);
    port.write_all(&frames[0]).await.unwrap();
    let sent = Instant::now();
    assert_eq!(read_n(&mut port, 1, REPLY_WAIT).await, [0x41]);
    port.write_all(&syn6288::status_query()).await.unwrap();
    assert_eq!(read_n(&mut port, 1, REPLY_WAIT).await, [0x4E], "busy");
    assert_eq!(
        read_n(&mut port, 1, REPLY_WAIT).await,
        [0x4F],
        "idle at the end"
    );
    let heard = "请A零一二号到十二号窗口办理";
    let speaking_ms = SPEECH_MS_PER_CHAR * heard.chars().count() as u64;
    assert!(sent.elapsed() >= Duration::from_millis(speaking_ms));
    port.write_all(&syn6288::status_query()).await.unwrap();
    assert_eq!(read_n(&mut port, 1, REPLY_WAIT).await, [0x4F]);
    let view = hall.find("v", None).unwrap();
    assert_eq!(view.spoken, [heard]);
    assert_eq!(view.counters.cut_offs, 0);
    assert_eq!(view.shows, "f1-general voice: idle");
    // A frame with a wrong XOR is rejected.
    let mut bad = syn6288::stop();
    bad[4] ^= 1;
    port.write_all(&bad).await.unwrap();
    assert_eq!(read_n(&mut port, 1, REPLY_WAIT).await, [0x45]);
}

#[tokio::test]
async fn xfs5152_speaks_and_counts_cut_offs() {
    let hall = start(vec![bus(
        "x",
        false,
        vec![device(None, "xfs5152ce.toml", "f2 voice")],
    )]);
    let mut port = hall.take_port("x").unwrap();
    let mut changes = hall.changes();
    let a = xfs5152::speak_frames("[n1][y1]请A012号", TextEncoding::Utf16le).unwrap();
    let b = xfs5152::speak_frames("[n1][y1]请B003号", TextEncoding::Utf16le).unwrap();
    port.write_all(&a[0]).await.unwrap();
    assert_eq!(read_n(&mut port, 1, REPLY_WAIT).await, [0x41]);
    // Speaking over the first call cuts it off.
    port.write_all(&b[0]).await.unwrap();
    assert_eq!(read_n(&mut port, 1, REPLY_WAIT).await, [0x41]);
    assert_eq!(read_n(&mut port, 1, REPLY_WAIT).await, [0x4F]);
    let view = hall.find("x", None).unwrap();
    assert_eq!(view.spoken, ["请A零一二号", "请B零零三号"]);
    assert_eq!(view.counters.cut_offs, 1);
    let mut spoke = Vec::new();
    while let Ok(c) = changes.try_recv() {
        if let ChangeKind::Spoke(text) = c.kind {
            spoke.push(text);
        }
    }
    assert_eq!(spoke, ["请A零一二号", "请B零零三号"]);
    // Unplug and replug: the chip says 0x4A when it powers up.
    hall.set_fault("x", None, Fault::Unplugged).unwrap();
    hall.set_fault("x", None, Fault::None).unwrap();
    assert_eq!(read_n(&mut port, 1, REPLY_WAIT).await, [0x4A]);
}

#[tokio::test]
async fn bx5k_shows_text_and_acks() {
    let hall = start(vec![bus(
        "b",
        false,
        vec![device(None, "onbon-bx5k.toml", "便民 board")],
    )]);
    let mut port = hall.take_port("b").unwrap();
    let DeviceProfile::Bx5k(p) = profile("onbon-bx5k.toml").device else {
        unreachable!()
    };
    let frame = p
        .frame(&[BoardCall::new("A012", 12), BoardCall::new("B003", 5)])
        .unwrap();
    port.write_all(&frame).await.unwrap();
    let mut x = bx5k::FrameExtractor::new();
    let deadline = Instant::now() + REPLY_WAIT;
    let mut packets = Vec::new();
    let mut buf = [0u8; 256];
    while packets.is_empty() && Instant::now() < deadline {
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(50), port.read(&mut buf)).await
        {
            packets.extend(x.push(&buf[..n]));
        }
    }
    let ack = packets.pop().unwrap().unwrap();
    assert_eq!(bx5k::status(&ack), Status::Ack);
    assert_eq!(
        shows(&hall, "便民 board"),
        "便民 board: A012 → 12号窗口 / B003 → 5号窗口"
    );
    let f = hall.frames("b")[0];
    assert_eq!(
        (f.len, f.function, f.valid),
        (frame.len(), Some(0xA3), true)
    );
}

#[tokio::test]
async fn faults_seen_from_the_master() {
    let (hall, mut port) = modbus_hall(false);
    let read = modbus::read_holding_registers(1, 0, 3).unwrap();

    hall.set_fault("m", Some(1), Fault::Silent).unwrap();
    let a = ask(&mut port, &read, NO_REPLY_WAIT).await;
    assert_eq!((a.response, a.verdict), (None, Incomplete::Silent));

    hall.set_fault("m", Some(1), Fault::Garbage).unwrap();
    let a = ask(&mut port, &read, NO_REPLY_WAIT).await;
    assert!(a.response.is_none());
    assert!(
        a.bytes.len() >= 64 && a.bytes.len() <= 256,
        "{}",
        a.bytes.len()
    );
    assert!(matches!(
        a.verdict,
        Incomplete::Garbage { .. } | Incomplete::Truncated { .. }
    ));
    assert_eq!(
        hall.bus_stats("m").unwrap().garbage_bytes_sent,
        a.bytes.len() as u64
    );

    hall.set_fault("m", Some(1), Fault::BadCrc).unwrap();
    let a = ask(&mut port, &read, NO_REPLY_WAIT).await;
    assert_eq!((a.response, a.verdict), (None, Incomplete::BadCrc));

    hall.set_fault("m", Some(1), Fault::Slow(200)).unwrap();
    let a = ask(&mut port, &read, REPLY_WAIT).await;
    assert!(matches!(a.response, Some(Ok(_))));
    assert!(a.first_byte_after.unwrap() >= Duration::from_millis(200));

    // Unplugged: no reply; replugged: blank, so the master must rewrite.
    hall.set_fault("m", Some(1), Fault::None).unwrap();
    write_ok(
        &mut port,
        &[modbus::write_multiple_registers(1, 0, &[3, 3, 80]).unwrap()],
    )
    .await;
    hall.set_fault("m", Some(1), Fault::Unplugged).unwrap();
    assert_eq!(
        shows(&hall, "窗口12 indicator"),
        "窗口12 indicator: (unplugged)"
    );
    let a = ask(&mut port, &read, NO_REPLY_WAIT).await;
    assert_eq!(a.verdict, Incomplete::Silent);
    assert_eq!(
        hall.press_key(12, KeypadKey::CallNext).map(|_| ()),
        Ok(()),
        "the keypad is still plugged in"
    );
    hall.set_fault("m", Some(1), Fault::None).unwrap();
    let a = ask(&mut port, &read, REPLY_WAIT).await;
    assert_eq!(a.response, Some(Ok(Response::Registers(vec![0, 0, 0]))));
    // The other devices never noticed.
    assert_eq!(hall.find("m", Some(2)).unwrap().fault, Fault::None);
}

#[tokio::test]
async fn wire_speed_models_byte_times() {
    let (hall, mut port) = modbus_hall(true);
    let bt = hall.byte_time("m").unwrap();
    let write = modbus::write_multiple_registers(2, 64, &[0x41; 13]).unwrap();
    assert_eq!(write.bytes.len(), 35);
    let a = ask(&mut port, &write, REPLY_WAIT).await;
    assert!(matches!(a.response, Some(Ok(_))));
    // The reply left after the request (35 bytes), the turnaround and
    // its own 8 bytes.
    assert!(a.first_byte_after.unwrap() >= bt * 36);
    let f = *hall.frames("m").last().unwrap();
    assert_eq!(f.len, 35);
    assert!(f.last_byte_at - f.first_byte_at >= bt * 35);
    assert!(f.answered && f.valid);
    assert_eq!(hall.bus_stats("m").unwrap().collisions, 0);
}

#[tokio::test]
async fn wire_speed_counts_a_collision() {
    let (hall, mut port) = modbus_hall(true);
    // 24 registers: a 53-byte reply, ~55 ms on the wire at 9600 baud.
    let read = modbus::read_holding_registers(2, 64, 24).unwrap();
    port.write_all(&read.bytes).await.unwrap();
    // Talk over the reply as soon as it starts.
    let first = read_n(&mut port, 1, REPLY_WAIT).await;
    assert_eq!(first, [2]);
    port.write_all(&read.bytes).await.unwrap();
    let mut rest = Vec::new();
    read_for(&mut port, Duration::from_millis(300), &mut rest).await;
    let stats = hall.bus_stats("m").unwrap();
    assert_eq!(stats.collisions, 1);
    assert!(stats.collided_bytes_in >= 1);
    let mut reply = first;
    reply.extend(rest);
    assert!(!modbus::codec::crc_ok(&reply[..53.min(reply.len())]));
}

#[tokio::test]
async fn a_dropped_port_can_be_reopened_by_path() {
    let (hall, port) = modbus_hall(false);
    let path = hall.port_path("m").unwrap();
    assert!(path.starts_with("/dev/"), "{path}");
    drop(port);
    // The simulator's side now reads EIO; it must keep going.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut port = hall.open_port("m").unwrap();
    let a = ask(
        &mut port,
        &modbus::read_holding_registers(1, 0, 3).unwrap(),
        REPLY_WAIT,
    )
    .await;
    assert!(matches!(a.response, Some(Ok(_))), "{:?}", a.response);
}

#[tokio::test]
async fn spec_from_the_demo_config() {
    let config = hallq::config::Config::demo();
    let spec = SimSpec::from_config(&config);
    let sim_buses = config.buses().iter().filter(|b| b.port == "sim").count();
    assert_eq!(spec.buses.len(), sim_buses);
    let labels: Vec<&str> = spec
        .buses
        .iter()
        .flat_map(|b| b.devices.iter().map(|d| d.label.as_str()))
        .collect();
    if sim_buses > 0 {
        assert!(labels.contains(&"窗口1 indicator"), "{labels:?}");
        let hall = SimHall::start(spec).unwrap();
        assert!(hall.window_device(1, Protocol::ModbusKeypad).is_some());
    }
}
