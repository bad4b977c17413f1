//! Commissioning and deployment paths of the device layer: site profiles
//! beside the configuration (a new model without code), `hallq devices`
//! (list, test pattern, set-address) against the simulator, and
//! `hallq serve --bus NAME=PATH` driving a bus on another process's PTY.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hallq::config::{Config, DEMO_HALL_TOML};
use hallq::daemon::devices::opener;
use hallq::devices::bus::commission::{Commission, TEST_TICKET};
use hallq::devices::indicator::IndicatorMode;
use hallq::devices::profile::Protocol;
use hallq::sim::devices::{SimContent, SimHall, SimSpec, SlaveContent};
use serde_json::Value;

/// The demo hall with window 12's indicator replaced by a site model that
/// takes a new address in HR 100.
fn site_hall(with_profile: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let marker = "bus = \"floor1\"\nunit = 12\n";
    let text = DEMO_HALL_TOML.to_string();
    let at = text.find(marker).expect("the demo wires unit 12 on floor1");
    let block_start = text[..at].rfind("[[device]]").unwrap();
    let block = &text[block_start..at + marker.len()];
    assert!(block.contains("generic-window-indicator"), "{block}");
    let new_block = block.replace("generic-window-indicator", "acme-indicator");
    std::fs::write(
        dir.path().join("hall.toml"),
        text.replacen(block, &new_block, 1),
    )
    .unwrap();
    if with_profile {
        std::fs::create_dir(dir.path().join("profiles")).unwrap();
        let generic = include_str!("../firmware-config/profiles/generic-window-indicator.toml");
        let acme = generic
            .replace(
                "name = \"Generic window indicator\"",
                "name = \"ACME AD-200\"",
            )
            .replace("# address_register = 100", "address_register = 100");
        assert!(acme.contains("\naddress_register = 100"));
        std::fs::write(dir.path().join("profiles/acme-indicator.toml"), acme).unwrap();
    }
    dir
}

#[test]
fn a_site_profile_beside_the_config_adds_a_model_without_code() {
    let dir = site_hall(true);
    let config = Config::load(&dir.path().join("hall.toml")).unwrap();
    let d = config
        .devices()
        .iter()
        .find(|d| d.bus == "floor1" && d.unit == Some(12))
        .unwrap();
    assert_eq!(config.device_profile(d).name, "ACME AD-200");

    let missing = site_hall(false);
    let errors = Config::load(&missing.path().join("hall.toml")).unwrap_err();
    let text = errors.to_string();
    assert!(text.contains("acme-indicator"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_list_test_and_set_address_through_the_simulator() {
    let dir = site_hall(true);
    let config = Arc::new(Config::load(&dir.path().join("hall.toml")).unwrap());
    let mut spec = SimSpec::from_config(&config);
    spec.speech_ms_per_char = 1;
    let sim = SimHall::start(spec).unwrap();
    let mut c = Commission::open(config.clone(), opener(Some(sim.clone())));

    let listed = c.list().await;
    assert_eq!(listed.len(), config.devices().len());
    assert!(listed.iter().all(|o| o.result.is_ok()), "{listed:?}");

    // A device that does not answer is reported, the others are not held up.
    sim.set_fault("floor1", Some(13), hallq::sim::devices::Fault::Silent)
        .unwrap();
    let listed = c.list().await;
    let failed: Vec<_> = listed.iter().filter(|o| o.result.is_err()).collect();
    assert_eq!(failed.len(), 1, "{listed:?}");
    assert_eq!(config.devices()[failed[0].device].unit, Some(13));

    let tested = c.test("12").await.unwrap();
    assert_eq!(tested.len(), 3, "indicator, keypad, evaluator");
    assert!(tested.iter().all(|o| o.result.is_ok()), "{tested:?}");
    match sim
        .window_device(12, Protocol::ModbusWindowIndicator)
        .unwrap()
        .content
    {
        SimContent::Modbus(SlaveContent::Indicator(Some(content))) => {
            assert_eq!(
                (content.mode, content.line1.as_str()),
                (IndicatorMode::Calling, TEST_TICKET)
            );
        }
        other => panic!("{other:?}"),
    }
    let spoken_before = sim
        .devices()
        .into_iter()
        .find(|d| d.label.starts_with("f1-general voice"))
        .unwrap()
        .spoken
        .len();
    let zone = c.test("f1-general").await.unwrap();
    assert!(zone.iter().all(|o| o.result.is_ok()), "{zone:?}");
    let voice = sim
        .devices()
        .into_iter()
        .find(|d| d.label.starts_with("f1-general voice"))
        .unwrap();
    assert_eq!(voice.spoken.len(), spoken_before + 1);
    assert!(c.test("no-such-zone").await.is_err());

    // Only a model with an address register can be re-addressed.
    let refused = c.set_address("floor1", 11, 77).await.unwrap_err();
    assert!(refused.contains("no address register"), "{refused}");
    c.set_address("floor1", 12, 77).await.unwrap();
    assert!(sim.find("floor1", Some(77)).is_some());
    assert!(sim.find("floor1", Some(12)).is_none());
}

/// `hallq serve`, killed when dropped (before its directory goes).
struct Daemon {
    _process: common::daemon::Daemon,
    addr: String,
    _dir: tempfile::TempDir,
}

fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (_, json) = out.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(json).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_bus_override_drives_a_bus_on_another_port() {
    // This process plays the hall's floor1 hardware.
    let config = Config::demo();
    let sim = SimHall::start(SimSpec::from_config(&config)).unwrap();
    let path = sim.port_path("floor1").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = common::daemon::serve_cmd(dir.path());
    cmd.arg("--quiet-sim")
        .arg("--bus")
        .arg(format!("floor1={path}"));
    let process =
        common::daemon::Daemon::start(cmd, common::daemon::Log::Null, common::daemon::DAEMON_WAIT);
    let d = Daemon {
        addr: process.addr.to_string(),
        _process: process,
        _dir: dir,
    };
    let a = d.addr.clone();
    let (ticket, hall) = tokio::task::spawn_blocking(move || {
        let sign_in = |account: &str| {
            let v = http(
                &a,
                "POST",
                "/api/v1/sessions",
                None,
                Some(serde_json::json!({"account": account, "password": "demo"})),
            );
            v["token"].as_str().unwrap().to_string()
        };
        let staff = sign_in("w01");
        http(&a, "POST", "/api/v1/windows/1/sign-in", Some(&staff), None);
        let service = Config::demo().window(1).unwrap().services[0]
            .service
            .clone();
        http(
            &a,
            "POST",
            "/api/v1/tickets",
            Some("demo-kiosk"),
            Some(serde_json::json!({"service": service})),
        );
        let called = http(
            &a,
            "POST",
            "/api/v1/windows/1/call-next",
            Some(&staff),
            None,
        );
        let ticket = called["ticket"]["number"].as_str().unwrap().to_string();
        let manager = sign_in("manager");
        (
            ticket,
            http(&a, "GET", "/api/v1/hall", Some(&manager), None),
        )
    })
    .await
    .unwrap();
    let start = Instant::now();
    loop {
        let shows = match sim
            .window_device(1, Protocol::ModbusWindowIndicator)
            .unwrap()
            .content
        {
            SimContent::Modbus(SlaveContent::Indicator(Some(c))) => {
                c.mode == IndicatorMode::Calling && c.line1 == ticket
            }
            _ => false,
        };
        if shows {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "window 1's indicator on the other process's PTY never showed {ticket}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A device that stops answering is announced on the event stream.
    let a = d.addr.clone();
    let stream = tokio::task::spawn_blocking(move || {
        let manager = {
            let v = http(
                &a,
                "POST",
                "/api/v1/sessions",
                None,
                Some(serde_json::json!({"account": "manager", "password": "demo"})),
            );
            v["token"].as_str().unwrap().to_string()
        };
        let mut s = TcpStream::connect(&a).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        write!(
            s,
            "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {manager}\r\n\r\n"
        )
        .unwrap();
        let mut reader = BufReader::new(s);
        let mut line = String::new();
        let mut device_event = false;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return None;
            }
            if line.starts_with("event: device") {
                device_event = true;
            } else if device_event && line.starts_with("data:") {
                device_event = false;
                // Others come online as they are first heard from; wait for ours.
                if line.contains("\"link\":\"offline\"") {
                    return Some(line.clone());
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    sim.set_fault("floor1", Some(5), hallq::sim::devices::Fault::Silent)
        .unwrap();
    // Nothing is written to an idle indicator: the bus's periodic check finds it.
    let data = tokio::time::timeout(Duration::from_secs(20), stream)
        .await
        .expect("no device event within 20 s")
        .unwrap()
        .expect("the stream ended");
    assert!(data.contains("\"link\":\"offline\""), "{data}");
    assert!(data.contains("\"unit\":5"), "{data}");

    let devices = &hall["devices"];
    assert_eq!(
        devices["list"].as_array().unwrap().len(),
        config.devices().len()
    );
    let voice = devices["voice"].as_array().unwrap();
    assert_eq!(voice.len(), 5, "one voice queue per zone: {voice:?}");
    for key in [
        "bus",
        "pushed",
        "spoken",
        "merged",
        "dropped_stale",
        "retried",
        "waiting",
    ] {
        assert!(voice[0].get(key).is_some(), "{key} missing in {}", voice[0]);
    }
    let first = &devices["list"][0];
    for key in [
        "bus",
        "unit",
        "profile",
        "protocol",
        "link",
        "timeouts",
        "last_seen_ms",
    ] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
}
