//! `GET /api/v1/tickets/{id}/escpos`: the ticket slip as ESC/POS bytes for
//! an 80 mm thermal printer (the kiosk sends them to the printer as they
//! are). Chinese text is GB18030 in the printer's Chinese mode (`FS &`);
//! the QR code of the phone link is printed by the printer itself
//! (`GS ( k`, model 2, error correction M).
//!
//! The builder [`slip_bytes`] is pure; the layout, top to bottom:
//!
//! ```text
//! ESC @                      init
//! FS &                       Chinese mode (GB18030 text)
//! ESC a 1                    centre
//! hall name                  (double height)
//! K001                       GS ! 0x22: triple width and height, bold
//! service name               (double height)
//! 前面还有N人 / 预计等候 a-b 分钟   (waiting tickets)
//! 取号时间 …
//! QR code                    GS ( k: model, size, level, store, print
//! hint line
//! ESC d 3, GS V 66 0         feed, partial cut
//! ```

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::auth::{Caller, Need};
use super::error::{ApiError, ErrorBody};
use super::extract::ApiPath;
use super::public::{public_base, status_path};
use super::views;
use crate::queue::TicketId;

/// Printer commands.
pub const INIT: [u8; 2] = [0x1B, b'@'];
pub const CHINESE_ON: [u8; 2] = [0x1C, b'&'];
pub const CENTER: [u8; 3] = [0x1B, b'a', 1];
pub const LEFT: [u8; 3] = [0x1B, b'a', 0];
pub const BOLD_ON: [u8; 3] = [0x1B, b'E', 1];
pub const BOLD_OFF: [u8; 3] = [0x1B, b'E', 0];
/// `GS ! n`: character size (high nibble width, low nibble height, ×(n+1)).
pub const SIZE: [u8; 2] = [0x1D, b'!'];
/// `FS ! n`: Chinese character mode (0x04 double width, 0x08 double height).
pub const CHINESE_SIZE: [u8; 2] = [0x1C, b'!'];
pub const FEED_LINES: [u8; 2] = [0x1B, b'd'];
/// `GS V 66 0`: feed to the cutter and cut, leaving a hinge (partial cut).
pub const PARTIAL_CUT: [u8; 4] = [0x1D, b'V', 66, 0];
/// `GS ( k`.
pub const QR: [u8; 3] = [0x1D, b'(', b'k'];
/// Size of one QR module in dots (1–16); 6 gives about 25 mm for a phone link.
pub const QR_MODULE_DOTS: u8 = 6;
/// Longest QR payload the store command takes (`pL pH` count 3 more).
pub const QR_DATA_MAX: usize = 7089;

/// What goes on the slip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slip {
    pub hall_name: String,
    pub number: String,
    pub service_name: String,
    /// Tickets ahead (waiting tickets).
    pub ahead: Option<usize>,
    /// Estimated wait, low–high minutes.
    pub wait: Option<(u32, u32)>,
    /// Local issue time, `2024-05-06 09:30`.
    pub issued_at: String,
    /// The absolute phone link (QR code).
    pub link: Option<String>,
    pub hint: String,
}

/// `text` in GB18030 (every Unicode character has a code there).
pub fn gb18030(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

fn line(out: &mut Vec<u8>, text: &str) {
    // A control byte in a name must not become a printer command.
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    out.extend_from_slice(&gb18030(&clean));
    out.push(b'\n');
}

fn size(out: &mut Vec<u8>, ascii: u8, chinese: u8) {
    out.extend_from_slice(&SIZE);
    out.push(ascii);
    out.extend_from_slice(&CHINESE_SIZE);
    out.push(chinese);
}

/// `GS ( k` function `fn` with parameters: `pL pH cn fn params…`.
fn qr_function(out: &mut Vec<u8>, function: u8, params: &[u8]) {
    let n = params.len() + 2;
    out.extend_from_slice(&QR);
    out.push((n & 0xFF) as u8);
    out.push((n >> 8) as u8);
    out.push(49); // cn: QR code
    out.push(function);
    out.extend_from_slice(params);
}

/// The QR commands for `data`: model 2, module size, error correction M,
/// store the data, print it. `None` when the data is too long.
pub fn qr_commands(data: &[u8]) -> Option<Vec<u8>> {
    if data.is_empty() || data.len() > QR_DATA_MAX {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() + 40);
    qr_function(&mut out, 65, &[50, 0]); // fn 165: model 2
    qr_function(&mut out, 67, &[QR_MODULE_DOTS]); // fn 167: module size
    qr_function(&mut out, 69, &[49]); // fn 169: error correction M
    let mut store = vec![48]; // fn 180: store, m = 48
    store.extend_from_slice(data);
    qr_function(&mut out, 80, &store);
    qr_function(&mut out, 81, &[48]); // fn 181: print
    Some(out)
}

/// The whole slip.
pub fn slip_bytes(slip: &Slip) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&INIT);
    out.extend_from_slice(&CHINESE_ON);
    out.extend_from_slice(&CENTER);
    size(&mut out, 0x01, 0x08);
    line(&mut out, &slip.hall_name);
    out.push(b'\n');
    out.extend_from_slice(&BOLD_ON);
    size(&mut out, 0x22, 0x0C);
    line(&mut out, &slip.number);
    out.extend_from_slice(&BOLD_OFF);
    size(&mut out, 0x01, 0x08);
    line(&mut out, &slip.service_name);
    size(&mut out, 0x00, 0x00);
    out.push(b'\n');
    if let Some(n) = slip.ahead {
        line(&mut out, &format!("前面还有{n}人"));
    }
    if let Some((low, high)) = slip.wait {
        line(&mut out, &format!("预计等候 {low}-{high} 分钟"));
    }
    line(&mut out, &format!("取号时间 {}", slip.issued_at));
    if let Some(qr) = slip.link.as_deref().and_then(|l| qr_commands(l.as_bytes())) {
        out.push(b'\n');
        out.extend_from_slice(&qr);
        out.push(b'\n');
    }
    line(&mut out, &slip.hint);
    out.extend_from_slice(&LEFT);
    out.extend_from_slice(&FEED_LINES);
    out.push(3);
    out.extend_from_slice(&PARTIAL_CUT);
    out
}

/// The hint under the QR code.
pub const HINT: &str = "扫码查看排队进度 Scan for your place in line";

/// The ticket slip as ESC/POS bytes for a raw 80 mm thermal printer.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/escpos", tag = "tickets",
    params(("id" = u64, Path, description = "ticket id", example = 1)),
    responses((status = 200, content_type = "application/octet-stream",
               description = "ESC/POS: init, Chinese mode (GB18030), hall, number, service, place in line, estimate, time, QR code of the phone link, partial cut"),
              (status = 400, body = ErrorBody, description = "no public_url configured and a bad Host header"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn escpos(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<u64>,
) -> Result<Response, ApiError> {
    caller.require(Need::Issue)?;
    let base = public_base(&state, &headers)?;
    let key = state.person_key.clone();
    let now = crate::daemon::clock::Clock::now_ms(&crate::daemon::clock::SystemClock);
    let forecast = state.forecast.latest();
    let slip = state
        .hall
        .query(move |hall, _| {
            let t = hall.ticket(TicketId(id))?;
            let config = hall.config();
            let v = views::ticket_forecast(hall, &t, now, &forecast);
            let issued_at = chrono::DateTime::from_timestamp_millis(t.issued_ms)
                .map(|at| {
                    at.with_timezone(&config.tz)
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .unwrap_or_default();
            Some(Slip {
                hall_name: config.file.hall.name.clone(),
                number: v.number,
                service_name: v.service_name,
                ahead: v.ahead,
                wait: v.wait_estimate.map(|w| (w.low, w.high)),
                issued_at,
                link: Some(format!("{base}{}", status_path(&key, &t))),
                hint: HINT.to_string(),
            })
        })
        .await?
        .ok_or_else(|| ApiError::not_found("号票", "ticket"))?;
    let disposition = format!("attachment; filename=\"ticket-{id}.bin\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        slip_bytes(&slip),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slip() -> Slip {
        Slip {
            hall_name: "某某县政务服务中心".into(),
            number: "K001".into(),
            service_name: "税务综合".into(),
            ahead: Some(3),
            wait: Some((5, 12)),
            issued_at: "2024-05-06 09:30".into(),
            link: Some("https://hall.example.gov.cn/t/42?k=0123456789abcdef".into()),
            hint: HINT.into(),
        }
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    /// The `GS ( k` commands of `bytes`, as (function, parameters).
    fn qr_parts(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut parts = Vec::new();
        let mut rest = bytes;
        while let Some(at) = find(rest, &QR) {
            let p = &rest[at + 3..];
            let n = usize::from(p[0]) | usize::from(p[1]) << 8;
            assert_eq!(p[2], 49, "cn is 49 (QR)");
            parts.push((p[3], p[4..2 + n].to_vec()));
            rest = &p[2 + n..];
        }
        parts
    }

    #[test]
    fn init_first_cut_last() {
        let b = slip_bytes(&slip());
        assert_eq!(&b[..2], &INIT);
        assert_eq!(&b[2..4], &CHINESE_ON);
        assert_eq!(&b[b.len() - 4..], &PARTIAL_CUT);
        assert_eq!(find(&b, &PARTIAL_CUT), Some(b.len() - 4), "one cut");
        // A feed before the cut.
        assert_eq!(&b[b.len() - 7..b.len() - 4], &[0x1B, b'd', 3]);
    }

    #[test]
    fn text_is_gb18030_and_round_trips() {
        let b = slip_bytes(&slip());
        for text in [
            "某某县政务服务中心",
            "税务综合",
            "前面还有3人",
            "预计等候 5-12 分钟",
            "取号时间 2024-05-06 09:30",
            HINT,
        ] {
            let encoded = gb18030(text);
            let at = find(&b, &encoded).unwrap_or_else(|| panic!("{text} is on the slip"));
            let (decoded, _, errors) = encoding_rs::GB18030.decode(&b[at..at + encoded.len()]);
            assert!(!errors);
            assert_eq!(decoded, text);
            assert_eq!(b[at + encoded.len()], b'\n', "{text} ends its line");
        }
        // Not UTF-8: 中 is D6 D0 in GB18030.
        assert_eq!(gb18030("中"), [0xD6, 0xD0]);
        assert_eq!(gb18030("€"), [0xA2, 0xE3]);
        assert_eq!(
            gb18030("𠀀").len(),
            4,
            "four-byte sequences for the rest of Unicode"
        );
    }

    #[test]
    fn the_number_is_large_and_bold() {
        let b = slip_bytes(&slip());
        let at = find(&b, b"K001\n").expect("number");
        let before = &b[..at];
        let size_at = before
            .windows(2)
            .rposition(|w| w == SIZE)
            .expect("a size before the number");
        assert!(
            before[size_at + 2] >= 0x11,
            "at least double width and height"
        );
        assert!(find(before, &BOLD_ON).is_some());
        // Size back to normal before the small lines.
        let ahead = find(&b, &gb18030("前面还有")).unwrap();
        let reset = b[..ahead].windows(2).rposition(|w| w == SIZE).unwrap();
        assert_eq!(b[reset + 2], 0);
    }

    #[test]
    fn the_qr_code_is_model_2_level_m_with_the_right_length() {
        let s = slip();
        let link = s.link.clone().unwrap();
        let b = slip_bytes(&s);
        let parts = qr_parts(&b);
        let functions: Vec<u8> = parts.iter().map(|p| p.0).collect();
        assert_eq!(
            functions,
            [65, 67, 69, 80, 81],
            "model, size, level, store, print"
        );
        assert_eq!(parts[0].1, [50, 0], "model 2");
        assert_eq!(parts[1].1, [QR_MODULE_DOTS]);
        assert_eq!(parts[2].1, [49], "error correction M");
        assert_eq!(parts[3].1[0], 48);
        assert_eq!(&parts[3].1[1..], link.as_bytes());
        assert_eq!(parts[4].1, [48]);
        // pL pH of the store command: data length + 3.
        let at = find(&b, &[0x1D, b'(', b'k']).unwrap();
        let store = &b[at..];
        let store = &store[find(store, &[49, 80, 48]).unwrap() - 2..];
        let n = usize::from(store[0]) | usize::from(store[1]) << 8;
        assert_eq!(n, link.len() + 3);
    }

    #[test]
    fn long_qr_data_uses_the_high_length_byte() {
        let data = vec![b'x'; 300];
        let cmds = qr_commands(&data).unwrap();
        let at = find(&cmds, &[49, 80, 48]).unwrap();
        assert_eq!(cmds[at - 2], ((300 + 3) & 0xFF) as u8);
        assert_eq!(cmds[at - 1], ((300 + 3) >> 8) as u8);
        assert_eq!(cmds[at - 1], 1);
        assert!(qr_commands(&vec![b'x'; QR_DATA_MAX + 1]).is_none());
        assert!(qr_commands(b"").is_none());
    }

    #[test]
    fn optional_lines_and_control_bytes() {
        let mut s = slip();
        s.ahead = None;
        s.wait = None;
        s.link = None;
        s.service_name = "税务\x1B@综合".into();
        let b = slip_bytes(&s);
        assert!(find(&b, &gb18030("前面还有")).is_none());
        assert!(find(&b, &gb18030("预计等候")).is_none());
        assert!(find(&b, &QR).is_none());
        assert!(find(&b, &gb18030("税务@综合")).is_some(), "ESC dropped");
        assert_eq!(find(&b, &INIT), Some(0), "no second init");
    }
}
