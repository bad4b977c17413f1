//! The citizen's phone: a ticket's status behind a capability link, no
//! sign-in. The printed ticket carries a QR code of `/t/{id}?k=MAC`, where
//! MAC is a keyed hash of the ticket (the hall's secret), so only the holder
//! of the slip can follow it, and ids cannot be walked.
//!
//! - `GET /api/v1/public/tickets/{id}?k=MAC` → [`PhoneView`];
//! - `GET /api/v1/public/tickets/{id}/events?k=MAC` → SSE `event: ticket`,
//!   the view at once and again whenever it changes (recomputed at most once
//!   a second per client), ending after a final state or [`STREAM_HOURS_MAX`];
//!   at most [`PUBLIC_STREAMS_MAX`] such streams at once (then 503);
//! - `GET /api/v1/public/tickets/{id}/qr.svg?k=MAC` → the QR code of the
//!   absolute link (base: `[server] public_url`, else the request's `Host`).
//!
//! A wrong or missing `k` and an unknown id get the same 404. The view has
//! no personal data: number, service, place in line, window, hall.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, ApiQuery};
use super::views::{self, WaitEstimate};
use crate::daemon::clock::{Clock, SystemClock};
use crate::queue::{Hall, Millis, Ticket, TicketId, WindowNo};

/// Hex characters of the MAC in a phone link (64 bits).
pub const MAC_HEX_CHARS: usize = 16;
/// Public event streams open at once, over all phones.
pub const PUBLIC_STREAMS_MAX: usize = 2_000;
/// A phone's stream ends after this long (a business day is shorter).
pub const STREAM_HOURS_MAX: u64 = 12;
/// A stream recomputes its view at most this often, however busy the hall.
pub const RECOMPUTE_EVERY: Duration = Duration::from_secs(1);
const KEEP_ALIVE: Duration = Duration::from_secs(15);

fn keyed(key: &[u8], ticket: &Ticket) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(format!("status:{}:{}", ticket.id.0, ticket.issued_ms).as_bytes());
    mac
}

/// The phone link's MAC: the first 16 hex characters of
/// HMAC-SHA256(key, `status:{id}:{issued_ms}`).
pub fn status_mac(key: &[u8], ticket: &Ticket) -> String {
    let full = keyed(key, ticket).finalize().into_bytes();
    hex::encode(&full[..MAC_HEX_CHARS / 2])
}

/// The phone page of a ticket: `/t/{id}?k={mac}` (the QR code's target).
pub fn status_path(key: &[u8], ticket: &Ticket) -> String {
    format!("/t/{}?k={}", ticket.id.0, status_mac(key, ticket))
}

/// Whether `given` is the ticket's MAC, compared in constant time.
pub fn mac_matches(key: &[u8], ticket: &Ticket, given: &str) -> bool {
    if given.len() != MAC_HEX_CHARS {
        return false;
    }
    let Ok(bytes) = hex::decode(given) else {
        return false;
    };
    keyed(key, ticket).verify_truncated_left(&bytes).is_ok()
}

/// What the phone shows. No personal data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PhoneView {
    pub number: String,
    pub service_name: String,
    pub service_name_en: String,
    /// waiting, called, serving, parked, finished, no_show, cancelled, expired
    pub status: String,
    /// Tickets ahead in its line (waiting tickets only).
    pub ahead: Option<usize>,
    pub wait_estimate: Option<WaitEstimate>,
    /// The window it is called to or served at.
    pub window: Option<WindowNo>,
    pub window_name: Option<String>,
    pub window_name_en: Option<String>,
    pub floor: Option<i32>,
    pub zone_name: Option<String>,
    pub zone_name_en: Option<String>,
    pub hall_name: String,
    pub hall_name_en: String,
    pub issued_at: String,
}

/// The phone view of a ticket (on the owner thread).
pub fn phone_view(
    hall: &Hall,
    t: &Ticket,
    now_ms: Millis,
    forecast: &crate::forecast::Forecast,
) -> PhoneView {
    let config = hall.config();
    let v = views::ticket_forecast(hall, t, now_ms, forecast);
    let window = v.window.and_then(|n| config.window(n));
    let zone = window.and_then(|w| config.zone(&w.zone));
    PhoneView {
        number: v.number,
        service_name: v.service_name,
        service_name_en: v.service_name_en,
        status: v.status,
        ahead: v.ahead,
        wait_estimate: v.wait_estimate,
        window: v.window,
        window_name: window.map(|w| w.name.clone()),
        window_name_en: window.map(|w| w.name_en.clone()),
        floor: window.and_then(|w| w.floor.or(zone.map(|z| z.floor))),
        zone_name: zone.map(|z| z.name.clone()),
        zone_name_en: zone.map(|z| z.name_en.clone()),
        hall_name: config.file.hall.name.clone(),
        hall_name_en: config.file.hall.name_en.clone(),
        issued_at: v.issued_at,
    }
}

/// Whether nothing more will happen to a ticket in this status.
pub fn is_final(status: &str) -> bool {
    ["finished", "cancelled", "expired", "no_show"].contains(&status)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// The MAC of the phone link.
    #[serde(default)]
    pub k: Option<String>,
}

/// The one answer for an unknown ticket and a wrong key alike.
fn not_found() -> ApiError {
    ApiError::not_found("号票", "ticket")
}

/// The view, if `k` is the ticket's key. The key is checked on the owner
/// thread before any view is built, so guessing costs the hall little.
async fn checked_view(state: &AppState, id: u64, k: Option<String>) -> Result<PhoneView, ApiError> {
    let k = k.ok_or_else(not_found)?;
    if k.len() != MAC_HEX_CHARS {
        return Err(not_found());
    }
    let key = state.person_key.clone();
    let now = SystemClock.now_ms();
    let forecast = state.forecast.latest();
    state
        .hall
        .query(move |hall, _| {
            let t = hall.ticket(TicketId(id))?;
            mac_matches(&key, &t, &k).then(|| phone_view(hall, &t, now, &forecast))
        })
        .await?
        .ok_or_else(not_found)
}

/// A ticket's status for the citizen's phone (capability link, no sign-in).
#[utoipa::path(get, path = "/api/v1/public/tickets/{id}", tag = "public",
    params(("id" = u64, Path, description = "ticket id"), KeyQuery),
    responses((status = 200, body = PhoneView),
              (status = 404, body = ErrorBody, description = "unknown ticket or wrong key (the same answer)")))]
pub async fn phone(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(q): ApiQuery<KeyQuery>,
) -> Result<Response, ApiError> {
    let view = checked_view(&state, id, q.k).await?;
    let mut r = axum::Json(view).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

/// Counts open public streams against a ceiling.
#[derive(Debug)]
pub struct StreamSlots {
    open: AtomicUsize,
    max: usize,
}

/// One open stream; its slot is given back when dropped.
#[derive(Debug)]
pub struct StreamSlot<'a>(&'a StreamSlots);

impl StreamSlots {
    pub const fn new(max: usize) -> StreamSlots {
        StreamSlots {
            open: AtomicUsize::new(0),
            max,
        }
    }

    /// A slot, or `None` when `max` streams are open.
    pub fn take(&self) -> Option<StreamSlot<'_>> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| StreamSlot(self))
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

impl Drop for StreamSlot<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Every public stream of the process.
static PUBLIC_STREAMS: StreamSlots = StreamSlots::new(PUBLIC_STREAMS_MAX);

fn ticket_event(json: &str) -> Result<SseEvent, Infallible> {
    Ok(SseEvent::default().event("ticket").data(json))
}

/// The ticket's status as it changes (Server-Sent Events, `event: ticket`).
#[utoipa::path(get, path = "/api/v1/public/tickets/{id}/events", tag = "public",
    params(("id" = u64, Path, description = "ticket id"), KeyQuery),
    responses((status = 200, content_type = "text/event-stream",
               description = "event: ticket; data: PhoneView — at once, then on every change; ends after a final state"),
              (status = 404, body = ErrorBody, description = "unknown ticket or wrong key"),
              (status = 503, body = ErrorBody, description = "too many phones are following tickets")))]
pub async fn phone_events(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(q): ApiQuery<KeyQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let slot = PUBLIC_STREAMS.take().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            "关注号票的手机过多，请稍后刷新",
            "too many phones are following tickets; reload shortly",
        )
    })?;
    // Subscribe before the first view, so no change falls between the two.
    let live = state.hall.subscribe();
    let first = checked_view(&state, id, q.k).await?;
    let (tx, rx) = mpsc::channel(4);
    let open = (state.metrics).stream_opened(super::metrics::StreamKind::Public);
    let rx = super::metrics::guarded(ReceiverStream::new(rx), open);
    tokio::spawn(async move {
        let _slot = slot;
        let bound = Duration::from_secs(STREAM_HOURS_MAX * 3600);
        let _ = tokio::time::timeout(bound, follow(state, TicketId(id), first, live, tx)).await;
    });
    Ok(Sse::new(rx).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Sends `first`, then every different view after committed events, at
/// most once per [`RECOMPUTE_EVERY`]; returns after a final state, when the
/// ticket is gone, the client left or the hall stops.
async fn follow(
    state: AppState,
    id: TicketId,
    first: PhoneView,
    mut live: broadcast::Receiver<Arc<crate::daemon::Published>>,
    tx: mpsc::Sender<Result<SseEvent, Infallible>>,
) {
    let mut last = serde_json::to_string(&first).unwrap_or_default();
    if tx.send(ticket_event(&last)).await.is_err() || is_final(&first.status) {
        return;
    }
    let mut computed_at = tokio::time::Instant::now();
    loop {
        // Wait for a committed event (a lag means we missed some: recompute).
        tokio::select! {
            r = live.recv() => match r {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            () = tx.closed() => return,
        }
        // Coalesce: one recomputation per interval, whatever arrived meanwhile.
        let due = computed_at + RECOMPUTE_EVERY;
        tokio::select! {
            () = tokio::time::sleep_until(due) => {}
            () = tx.closed() => return,
        }
        loop {
            match live.try_recv() {
                Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                Err(broadcast::error::TryRecvError::Empty) => break,
                Err(broadcast::error::TryRecvError::Closed) => return,
            }
        }
        computed_at = tokio::time::Instant::now();
        let now = SystemClock.now_ms();
        let forecast = state.forecast.latest();
        let view = state
            .hall
            .query(move |hall, _| {
                hall.ticket(id)
                    .map(|t| phone_view(hall, &t, now, &forecast))
            })
            .await;
        let view = match view {
            Ok(Some(v)) => v,
            // Gone (a new day dropped it) or the hall is stopping.
            Ok(None) | Err(_) => return,
        };
        let json = serde_json::to_string(&view).unwrap_or_default();
        if json != last {
            if tx.send(ticket_event(&json)).await.is_err() || is_final(&view.status) {
                return;
            }
            last = json;
        }
    }
}

/// The base of absolute links: `[server] public_url`, else `http://` and
/// the request's `Host` (checked: a host and an optional port only).
pub fn public_base(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(url) = &state.config.get().file.server.public_url {
        return Ok(url.trim_end_matches('/').to_string());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| crate::config::validate::is_host_port(h))
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_host",
                "Host 请求头须为主机名或地址（可带端口）；或在配置中设置 [server] public_url",
                "the Host header must be a host name or address with an optional port; \
                 or set [server] public_url in the configuration",
            )
        })?;
    Ok(format!("http://{host}"))
}

/// The QR code of `link` as SVG (error correction M, quiet zone kept).
pub fn qr_svg_of(link: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::M)
        .map_err(ApiError::internal)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

/// The QR code of the ticket's absolute phone link (SVG).
#[utoipa::path(get, path = "/api/v1/public/tickets/{id}/qr.svg", tag = "public",
    params(("id" = u64, Path, description = "ticket id"), KeyQuery),
    responses((status = 200, content_type = "image/svg+xml", description = "the QR code of the phone link"),
              (status = 400, body = ErrorBody, description = "no public_url configured and a bad Host header"),
              (status = 404, body = ErrorBody, description = "unknown ticket or wrong key")))]
pub async fn qr_svg(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(q): ApiQuery<KeyQuery>,
) -> Result<Response, ApiError> {
    let key = state.person_key.clone();
    let k = q.k.ok_or_else(not_found)?;
    let path = state
        .hall
        .query(move |hall, _| {
            let t = hall.ticket(TicketId(id))?;
            mac_matches(&key, &t, &k).then(|| status_path(&key, &t))
        })
        .await?
        .ok_or_else(not_found)?;
    let link = format!("{}{path}", public_base(&state, &headers)?);
    let svg = qr_svg_of(&link)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        svg,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::routing::QueueKey;

    fn ticket(id: u64, issued_ms: Millis) -> Ticket {
        Ticket::waiting(
            TicketId(id),
            "K001",
            chrono::NaiveDate::from_ymd_opt(2024, 5, 6).expect("date"),
            "tax",
            issued_ms,
            QueueKey {
                at_ms: issued_ms,
                order: 1,
            },
        )
    }

    #[test]
    fn macs_are_keyed_short_and_checked() {
        let t = ticket(42, 1_700_000_000_000);
        let mac = status_mac(b"key-1", &t);
        assert_eq!(mac.len(), MAC_HEX_CHARS);
        assert!(mac.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(status_path(b"key-1", &t), format!("/t/42?k={mac}"));
        assert!(mac_matches(b"key-1", &t, &mac));
        assert!(mac_matches(b"key-1", &t, &mac.to_uppercase()));
        assert!(!mac_matches(b"key-2", &t, &mac));
        assert_ne!(status_mac(b"key-1", &ticket(43, 1_700_000_000_000)), mac);
        // Same id on another day (numbers restart, ids do not, but a restored
        // journal could): the issue time is in the MAC too.
        assert_ne!(status_mac(b"key-1", &ticket(42, 1_700_000_000_001)), mac);
        assert!(!mac_matches(b"key-1", &t, &mac[..15]));
        assert!(!mac_matches(b"key-1", &t, &format!("{mac}0")));
        assert!(!mac_matches(b"key-1", &t, "zzzzzzzzzzzzzzzz"));
        assert!(!mac_matches(b"key-1", &t, ""));
    }

    #[test]
    fn slots_have_a_ceiling_and_come_back() {
        let slots = StreamSlots::new(2);
        let a = slots.take().expect("first");
        let b = slots.take().expect("second");
        assert!(slots.take().is_none());
        assert_eq!(slots.open(), 2);
        drop(a);
        let c = slots.take().expect("a freed slot");
        drop((b, c));
        assert_eq!(slots.open(), 0);
    }

    #[test]
    fn final_states() {
        for s in ["finished", "cancelled", "expired", "no_show"] {
            assert!(is_final(s));
        }
        for s in ["waiting", "called", "serving", "parked"] {
            assert!(!is_final(s));
        }
    }

    #[test]
    fn the_qr_code_is_svg() {
        let svg = qr_svg_of("https://hall.example.gov.cn/t/42?k=0123456789abcdef").unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"));
    }
}
