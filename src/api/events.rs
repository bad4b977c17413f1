//! `GET /api/v1/events`: committed events as Server-Sent Events. `id:` is the
//! journal sequence; a client that reconnects with `Last-Event-ID` (or
//! `?after=`) gets every later event once, in order: first from the journal,
//! then live. A subscriber too slow for the live buffer catches up from the
//! journal the same way. Screens get events without personal data.
//!
//! Device health changes (a device went offline, came back) come as
//! `event: device` messages without an `id:`: they are not journal events,
//! so they neither advance nor break resumption; the current state of
//! every device is in `GET /api/v1/hall`. Alerts come as `event: alert`,
//! also without an `id:`, to people who read the hall (see `api/alerts.rs`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use utoipa::IntoParams;

use super::AppState;
use super::auth::{Caller, Need};
use super::error::ApiError;
use super::extract::ApiQuery;
use super::views;
use crate::daemon::Published;
use crate::devices::bus::DeviceChange;
use crate::journal::JournalReader;
use crate::queue::{Event, Millis};

/// Journal rows read per step while catching up.
const CATCH_UP_CHUNK: usize = 1000;
/// Events buffered per client before the stream task waits for it.
const CLIENT_BUFFER: usize = 256;
const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Resume after this sequence number (same as the Last-Event-ID header).
    #[serde(default)]
    pub after: Option<u64>,
}

/// The `data:` of each SSE message.
#[derive(Debug, Serialize)]
struct Message<'a> {
    seq: u64,
    at: String,
    kind: &'a str,
    event: &'a Event,
    /// The ticket the event is about, by number (events name tickets by id),
    /// so a screen can show a call straight from the message.
    ticket: Option<TicketRef<'a>>,
}

#[derive(Debug, Serialize)]
struct TicketRef<'a> {
    id: u64,
    number: &'a str,
}

/// The numbers of the tickets a run of journal rows is about, for catching
/// up: from the rows themselves (an issue names its number) and, for the
/// rest, from the hall. Live events carry theirs ([`Published::number`]), so
/// a stream keeps no map of the day's numbers.
async fn numbers_of(state: &AppState, events: &[Event]) -> HashMap<u64, String> {
    let mut numbers = HashMap::new();
    let mut unknown = Vec::new();
    for event in events {
        match event {
            Event::TicketIssued { ticket, number, .. } => {
                numbers.insert(ticket.0, number.clone());
            }
            _ => unknown.extend(event.ticket()),
        }
    }
    unknown.retain(|id| !numbers.contains_key(&id.0));
    unknown.sort_unstable();
    unknown.dedup();
    if !unknown.is_empty() {
        let known: Vec<(u64, String)> = state
            .hall
            .query(move |hall, _| {
                (unknown.iter())
                    .filter_map(|&id| hall.ticket(id).map(|t| (id.0, t.number.to_string())))
                    .collect()
            })
            .await
            .unwrap_or_default();
        numbers.extend(known);
    }
    numbers
}

fn ticket_ref<'a>(event: &Event, number: Option<&'a str>) -> Option<TicketRef<'a>> {
    Some(TicketRef {
        id: event.ticket()?.0,
        number: number?,
    })
}

/// Committed events as they happen (Server-Sent Events), resumable with Last-Event-ID.
#[utoipa::path(get, path = "/api/v1/events", tag = "hall", params(EventsQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "resume after this sequence number")),
    responses((status = 200, content_type = "text/event-stream", description = "id: journal seq; event: kind; data: {seq, at, kind, event}. \
        Without an id: event: device (a device's link changed) and, for people who read the hall, \
        event: alert with data {state: raised|cleared, alert} (every current alert is sent as raised first)")),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    // Kiosks too: their service list follows the hall live.
    caller
        .require(Need::ReadWindow)
        .or_else(|_| caller.require(Need::ReadHall))
        .or_else(|_| caller.require(Need::Issue))?;
    let header_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // Subscribe before reading the head, so nothing falls between the two.
    let live = state.hall.subscribe();
    let head = state.hall.query(|_, seq| seq).await?;
    // A resume point past the head (the journal was restored from an older
    // backup) would wait for numbers that may never come: start at the head.
    let after = q.after.or(header_id).unwrap_or(head).min(head);
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    let auditor = caller.is_auditor();
    let devices = state.devices.as_ref().map(|d| d.registry.subscribe());
    // Alerts go to people who read the hall, not to kiosks and screens (`api/alerts.rs`).
    let alerts = (state.alerts.as_ref())
        .filter(|_| super::alerts::follows_alerts(&caller))
        .map(|m| m.subscribe());
    let open = (state.metrics).stream_opened(super::metrics::StreamKind::Events);
    tokio::spawn(pump(state, live, devices, alerts, after, auditor, tx));
    let rx = super::metrics::guarded(ReceiverStream::new(rx), open);
    Ok(Sse::new(rx).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Whether a caller sees this event at all: account activity (names, failed
/// sign-ins) is for auditors only. Ids may skip; resuming still works.
fn visible(event: &Event, auditor: bool) -> bool {
    auditor || !matches!(event, Event::AccountActivity { .. })
}

fn message(
    tz: chrono_tz::Tz,
    seq: u64,
    at_ms: Millis,
    event: &Event,
    auditor: bool,
    number: Option<&str>,
) -> Result<SseEvent, Infallible> {
    let ticket = ticket_ref(event, number);
    let redacted;
    let event = if auditor {
        event
    } else {
        redacted = event.redacted();
        &redacted
    };
    let data = Message {
        seq,
        at: views::time(tz, at_ms),
        kind: event.kind(),
        event,
        ticket,
    };
    let json = serde_json::to_string(&data).unwrap_or_default();
    Ok(SseEvent::default()
        .id(seq.to_string())
        .event(event.kind())
        .data(json))
}

/// Feeds one client: catch up from the journal, then follow the live stream,
/// going back to the journal whenever the live buffer overflowed.
async fn pump(
    state: AppState,
    mut live: broadcast::Receiver<Arc<Published>>,
    mut devices: Option<broadcast::Receiver<DeviceChange>>,
    mut alerts: Option<broadcast::Receiver<Arc<crate::daemon::alerts::AlertChange>>>,
    mut sent: u64,
    auditor: bool,
    tx: mpsc::Sender<Result<SseEvent, Infallible>>,
) {
    let tz = state.config.get().tz;
    if alerts.is_some() {
        // The alerts in force first (subscribed before: a change in between is sent twice, harmlessly).
        for m in super::alerts::snapshot(&state) {
            if tx.send(m).await.is_err() {
                return;
            }
        }
    }
    loop {
        // Catch up from the journal until it has nothing after `sent`.
        loop {
            let path = state.journal_path.clone();
            let from = sent;
            let rows = tokio::task::spawn_blocking(move || {
                JournalReader::open(&path).and_then(|r| r.read_range(from, CATCH_UP_CHUNK))
            })
            .await;
            let rows = match rows {
                Ok(Ok(rows)) => rows,
                _ => return, // the client reconnects and resumes
            };
            if rows.is_empty() {
                break;
            }
            let mut events = Vec::with_capacity(rows.len());
            for r in &rows {
                let Ok(event) = crate::daemon::replay::event_of(r) else {
                    return;
                };
                events.push(event);
            }
            let numbers = numbers_of(&state, &events).await;
            for (r, event) in rows.iter().zip(&events) {
                let number = event.ticket().and_then(|id| numbers.get(&id.0));
                if visible(event, auditor)
                    && tx
                        .send(message(
                            tz,
                            r.seq,
                            r.at_ms,
                            event,
                            auditor,
                            number.map(String::as_str),
                        ))
                        .await
                        .is_err()
                {
                    return;
                }
                sent = r.seq;
            }
        }
        // Live, skipping what the journal already gave.
        loop {
            let received = tokio::select! {
                r = live.recv() => r,
                change = device_change(&mut devices) => {
                    if let Some(change) = change
                        && tx.send(device_message(tz, &change)).await.is_err()
                    {
                        return;
                    }
                    continue;
                }
                messages = super::alerts::next_messages(&state, &mut alerts) => {
                    for m in messages {
                        if tx.send(m).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
            };
            match received {
                Ok(p) if p.seq <= sent => continue,
                Ok(p) if p.seq == sent + 1 => {
                    if visible(&p.event, auditor)
                        && tx
                            .send(message(
                                tz,
                                p.seq,
                                p.at_ms,
                                &p.event,
                                auditor,
                                p.number.as_deref(),
                            ))
                            .await
                            .is_err()
                    {
                        return;
                    }
                    sent = p.seq;
                }
                // A gap (the buffer overflowed, or events committed before we
                // subscribed): fill it from the journal.
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => break,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

/// The next device change; pending forever without devices, and `None`
/// after a lag (the client reads `GET /api/v1/hall` for the state).
async fn device_change(
    devices: &mut Option<broadcast::Receiver<DeviceChange>>,
) -> Option<DeviceChange> {
    let Some(rx) = devices.as_mut() else {
        return std::future::pending().await;
    };
    match rx.recv().await {
        Ok(change) => Some(change),
        Err(broadcast::error::RecvError::Lagged(_)) => None,
        Err(broadcast::error::RecvError::Closed) => {
            *devices = None;
            None
        }
    }
}

#[derive(Debug, Serialize)]
struct DeviceMessage<'a> {
    at: String,
    kind: &'static str,
    device: &'a DeviceChange,
}

fn device_message(tz: chrono_tz::Tz, change: &DeviceChange) -> Result<SseEvent, Infallible> {
    let data = DeviceMessage {
        at: views::time(tz, change.at_ms),
        kind: "device",
        device: change,
    };
    let json = serde_json::to_string(&data).unwrap_or_default();
    Ok(SseEvent::default().event("device").data(json))
}
