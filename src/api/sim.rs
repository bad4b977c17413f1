//! The device simulator behind the `/sim` page (demo halls, buses with
//! `port = "sim"`): what every simulated device shows and says, its
//! changes as they happen, and a person's hand on a keypad or an
//! evaluator. A key press goes the way a real one does — over the
//! simulated RS-485 bus to the hub, which acts as the staff member signed
//! in at that window — so it tests the whole device path.
//!
//! Without a simulator every route answers 404 `no_simulator`.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use utoipa::ToSchema;

use super::AppState;
use super::auth::{Caller, Need};
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath};
use crate::devices::keypad::KeypadKey;
use crate::sim::devices::{
    ChangeKind, SimChange, SimContent, SimDeviceView, SimError, SimHall, SlaveContent,
};

/// Spoken texts listed per device (the latest).
pub const SPOKEN_SHOWN: usize = 5;
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Changes buffered per client before the stream task waits for it.
const CLIENT_BUFFER: usize = 256;

fn no_simulator() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_simulator",
        "本大厅没有运行设备模拟器",
        "this hall runs no device simulator",
    )
}

fn simulator(state: &AppState) -> Result<&SimHall, ApiError> {
    state.sim.as_ref().ok_or_else(no_simulator)
}

/// One simulated device.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SimDeviceJson {
    pub bus: String,
    /// Modbus address; `null` for address-less devices (voice chips, BX-5K).
    pub unit: Option<u8>,
    /// `窗口12 indicator`, `f1-general board` …
    pub label: String,
    pub profile: String,
    /// modbus-window-indicator, modbus-text-board, onbon-bx5k-text, syn6288, xfs5152, modbus-keypad, modbus-evaluator
    pub protocol: String,
    /// The window it serves (from the configuration).
    pub window: Option<u32>,
    /// The zone it serves.
    pub zone: Option<String>,
    /// none, unplug, silent, garbage, badcrc, `slow MS`
    pub fault: String,
    /// One human line, label first.
    pub shows: String,
    /// What it shows, structured; `kind` says which shape:
    /// indicator {mode|null, flash_count, brightness, line1, line2},
    /// board {lines, brightness}, keypad {ticket, waiting, pending},
    /// evaluator {prompt, staff_line, pending}, voice {speaking},
    /// text_controller {lines}, unplugged {}.
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    /// The latest texts spoken (voice chips), oldest first.
    pub spoken: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SimDevices {
    pub devices: Vec<SimDeviceJson>,
}

/// The structured content of a device, as JSON.
pub fn content_json(content: &SimContent) -> serde_json::Value {
    use serde_json::json;
    match content {
        SimContent::Modbus(SlaveContent::Indicator(Some(c))) => json!({
            "kind": "indicator",
            "mode": c.mode,
            "flash_count": c.flash_count,
            "brightness": c.brightness,
            "line1": c.line1,
            "line2": c.line2,
        }),
        SimContent::Modbus(SlaveContent::Indicator(None)) => {
            json!({"kind": "indicator", "mode": null})
        }
        SimContent::Modbus(SlaveContent::Board(b)) => json!({
            "kind": "board",
            "lines": b.lines,
            "brightness": b.brightness,
        }),
        SimContent::Modbus(SlaveContent::Keypad { screen, pending }) => json!({
            "kind": "keypad",
            "ticket": screen.ticket,
            "waiting": screen.waiting,
            "pending": pending,
        }),
        SimContent::Modbus(SlaveContent::Evaluator { screen, pending }) => json!({
            "kind": "evaluator",
            "prompt": screen.prompt,
            "staff_line": screen.staff_line,
            "pending": pending,
        }),
        SimContent::Voice { speaking } => json!({"kind": "voice", "speaking": speaking}),
        SimContent::TextController { lines } => json!({"kind": "text_controller", "lines": lines}),
        SimContent::Unplugged => json!({"kind": "unplugged"}),
    }
}

/// A device as the API shows it; window and zone from the configuration's
/// `[[device]]` with the same bus and unit.
pub fn device_json(config: &crate::config::Config, d: SimDeviceView) -> SimDeviceJson {
    let configured = config
        .devices()
        .iter()
        .find(|c| c.bus == d.bus && c.unit == d.unit);
    let skip = d.spoken.len().saturating_sub(SPOKEN_SHOWN);
    SimDeviceJson {
        content: content_json(&d.content),
        window: configured.and_then(|c| c.window),
        zone: configured.and_then(|c| c.zone.clone()),
        bus: d.bus,
        unit: d.unit,
        label: d.label,
        profile: d.profile,
        protocol: d.protocol.name().to_string(),
        fault: d.fault.to_string(),
        shows: d.shows,
        spoken: d.spoken.into_iter().skip(skip).collect(),
    }
}

/// Every simulated device: what it shows and says.
#[utoipa::path(get, path = "/api/v1/sim/devices", tag = "simulator",
    responses((status = 200, body = SimDevices), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`no_simulator`: the hall runs none")),
    security(("bearer" = [])))]
pub async fn devices(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SimDevices>, ApiError> {
    caller.require(Need::ReadHall)?;
    let sim = simulator(&state)?.clone();
    let config = state.config.get();
    // The simulator's locks are short, but there are up to 2,048 devices.
    let devices = tokio::task::spawn_blocking(move || {
        sim.devices()
            .into_iter()
            .map(|d| device_json(&config, d))
            .collect()
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(Json(SimDevices { devices }))
}

/// The `data:` of an `event: sim` message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SimChangeJson {
    pub bus: String,
    pub unit: Option<u8>,
    pub label: String,
    /// shows, spoke, fault
    pub kind: String,
    /// The new `shows` line, the text spoken, or the fault.
    pub text: String,
}

pub fn change_json(c: &SimChange) -> SimChangeJson {
    let (kind, text) = match &c.kind {
        ChangeKind::Shows(line) => ("shows", line.clone()),
        ChangeKind::Spoke(text) => ("spoke", text.clone()),
        ChangeKind::Fault(f) => ("fault", f.to_string()),
    };
    SimChangeJson {
        bus: c.bus.clone(),
        unit: c.unit,
        label: c.label.clone(),
        kind: kind.to_string(),
        text,
    }
}

/// What the simulated devices show and say, as it changes (Server-Sent Events).
#[utoipa::path(get, path = "/api/v1/sim/events", tag = "simulator",
    responses((status = 200, content_type = "text/event-stream",
               description = "event: sim; data: {bus, unit, label, kind: shows|spoke|fault, text}. \
                              After a lag, event: lagged (read GET /api/v1/sim/devices again)"),
              (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`no_simulator`")),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    caller.require(Need::ReadHall)?;
    let mut changes = simulator(&state)?.changes();
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    tokio::spawn(async move {
        loop {
            let message = tokio::select! {
                r = changes.recv() => match r {
                    Ok(c) => SseEvent::default()
                        .event("sim")
                        .data(serde_json::to_string(&change_json(&c)).unwrap_or_default()),
                    Err(broadcast::error::RecvError::Lagged(n)) => SseEvent::default()
                        .event("lagged")
                        .data(format!("{{\"missed\":{n}}}")),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = tx.closed() => return,
            };
            if tx.send(Ok(message)).await.is_err() {
                return;
            }
        }
    });
    let open = (state.metrics).stream_opened(super::metrics::StreamKind::Sim);
    let rx = super::metrics::guarded(ReceiverStream::new(rx), open);
    Ok(Sse::new(rx).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPress {
    /// call_next, recall, no_show, start, finish, pause, resume, transfer, request_evaluation, park
    #[schema(value_type = String,
        pattern = "^(call_next|recall|no_show|start|finish|pause|resume|transfer|request_evaluation|park)$")]
    pub key: KeypadKey,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingPress {
    /// 1 非常满意, 2 满意, 3 基本满意, 4 不满意, 5 非常不满意
    #[schema(minimum = 1, maximum = 5)]
    pub rating: u8,
}

fn check_window(state: &AppState, window: u32) -> Result<(), ApiError> {
    if state.config.get().window(window).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_window",
            format!("window：没有{window}号窗口"),
            format!("window: there is no window {window}"),
        ));
    }
    Ok(())
}

/// A simulator refusal as an API error, naming the field it is about.
fn sim_error(e: SimError, field: &str) -> ApiError {
    let en = e.to_string();
    match e {
        SimError::UnknownWindowDevice { window, kind } => ApiError::new(
            StatusCode::NOT_FOUND,
            "no_device",
            format!("window：{window}号窗口没有模拟的{kind}"),
            format!("window: {en}"),
        ),
        SimError::NoCode { .. } => ApiError::bad_request(
            "unknown_key",
            format!("{field}：该设备没有这个键"),
            format!("{field}: {en}"),
        ),
        SimError::Unplugged { .. } => ApiError::new(
            StatusCode::CONFLICT,
            "device_unplugged",
            "该设备已断开（模拟故障）",
            en,
        ),
        SimError::NoKeys { .. } | SimError::UnknownBus(_) | SimError::UnknownDevice { .. } => {
            ApiError::new(StatusCode::NOT_FOUND, "no_device", "找不到该模拟设备", en)
        }
    }
}

/// Press a key of a window's simulated keypad (as a person at the counter would).
#[utoipa::path(post, path = "/api/v1/sim/keypads/{window}", tag = "simulator", request_body = KeyPress,
    params(("window" = u32, Path, description = "window number", example = 5)),
    responses((status = 204, description = "pressed; the hub reads it on its next poll"),
              (status = 400, body = ErrorBody, description = "the keypad has no such key (field `key`)"),
              (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`no_simulator`, `unknown_window`, `no_device` (no keypad there)"),
              (status = 409, body = ErrorBody, description = "`device_unplugged`"),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn press_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(window): ApiPath<u32>,
    ApiJson(req): ApiJson<KeyPress>,
) -> Result<StatusCode, ApiError> {
    caller.require(Need::ReadHall)?;
    let sim = simulator(&state)?;
    check_window(&state, window)?;
    sim.press_key(window, req.key)
        .map_err(|e| sim_error(e, "key"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give a rating on a window's simulated evaluator.
#[utoipa::path(post, path = "/api/v1/sim/evaluators/{window}", tag = "simulator", request_body = RatingPress,
    params(("window" = u32, Path, description = "window number", example = 5)),
    responses((status = 204, description = "rated; the hub reads it on its next poll"),
              (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`no_simulator`, `unknown_window`, `no_device` (no evaluator there)"),
              (status = 409, body = ErrorBody, description = "`device_unplugged`"),
              (status = 422, body = ErrorBody, description = "`bad_rating` (field `rating`: 1–5)")),
    security(("bearer" = [])))]
pub async fn rate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(window): ApiPath<u32>,
    ApiJson(req): ApiJson<RatingPress>,
) -> Result<StatusCode, ApiError> {
    caller.require(Need::ReadHall)?;
    let sim = simulator(&state)?;
    if !(1..=5).contains(&req.rating) {
        return Err(ApiError::unprocessable(
            "bad_rating",
            "rating：评价须为1（非常满意）到5（非常不满意）",
            "rating: must be 1 (very satisfied) to 5 (very dissatisfied)",
        ));
    }
    check_window(&state, window)?;
    sim.rate(window, u16::from(req.rating))
        .map_err(|e| sim_error(e, "rating"))?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::devices::Fault;

    #[test]
    fn changes_as_json() {
        let c = SimChange {
            bus: "f1".into(),
            unit: Some(3),
            label: "窗口3 indicator".into(),
            kind: ChangeKind::Fault(Fault::Slow(300)),
        };
        let j = serde_json::to_value(change_json(&c)).unwrap();
        assert_eq!(j["kind"], "fault");
        assert_eq!(j["text"], "slow 300");
        assert_eq!(j["unit"], 3);
        let c = SimChange {
            kind: ChangeKind::Spoke("请K001号".into()),
            unit: None,
            ..c
        };
        let j = serde_json::to_value(change_json(&c)).unwrap();
        assert_eq!(j["kind"], "spoke");
        assert!(j["unit"].is_null());
    }

    #[test]
    fn contents_as_json() {
        assert_eq!(content_json(&SimContent::Unplugged)["kind"], "unplugged");
        let v = content_json(&SimContent::Voice {
            speaking: Some("请".into()),
        });
        assert_eq!(v["speaking"], "请");
        let k = content_json(&SimContent::Modbus(SlaveContent::Keypad {
            screen: crate::devices::keypad::KeypadScreen {
                ticket: "K001".into(),
                waiting: 4,
            },
            pending: vec![1],
        }));
        assert_eq!(k["ticket"], "K001");
        assert_eq!(k["pending"][0], 1);
    }
}
