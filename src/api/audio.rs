//! `GET /api/v1/announcements/audio?ticket=K001&window=12`: the call as a
//! WAV, for screens that have speakers but no voice chip. The text is what
//! the zone's voice chip says (`devices::speech`), spoken by espeak-ng's
//! `cmn-latn-pinyin` voice from tone-numbered pinyin
//! ([`crate::devices::speech::pinyin`]); where espeak-ng is missing or
//! fails, a two-tone chime. The answer's `X-Hallq-Audio` says which.
//!
//! espeak-ng runs at most [`SPEECH_CONCURRENCY`] at a time, each for at most
//! [`SPEECH_TIMEOUT`]; results are cached ([`CACHE_ENTRIES`] texts, least
//! recently used dropped). The program is `espeak-ng` on the `PATH`, or
//! the environment variable `HALLQ_ESPEAK` (a path; empty: never speak).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::Semaphore;
use utoipa::IntoParams;

use super::AppState;
use super::auth::{Caller, Need};
use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use crate::config::Config;
use crate::devices::profile::DeviceProfile;
use crate::devices::speech;
use crate::devices::template::Template;
use crate::devices::tts::DEFAULT_ANNOUNCEMENT;

/// espeak-ng processes at once.
pub const SPEECH_CONCURRENCY: usize = 2;
/// Longest one espeak-ng run may take.
pub const SPEECH_TIMEOUT: Duration = Duration::from_secs(5);
/// Rendered texts kept.
pub const CACHE_ENTRIES: usize = 256;
/// Largest WAV accepted from espeak-ng (an announcement is ~200 KB).
pub const SPEECH_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Longest ticket number.
pub const TICKET_CHARS_MAX: usize = 8;
/// The voice: Mandarin read from pinyin with tone numbers.
pub const VOICE: &str = "cmn-latn-pinyin";

/// Which kind of audio an answer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioKind {
    Speech,
    Chime,
}

impl AudioKind {
    pub fn header(self) -> &'static str {
        match self {
            AudioKind::Speech => "speech",
            AudioKind::Chime => "chime",
        }
    }
}

struct Cache {
    entries: HashMap<String, (Bytes, u64)>,
    clock: u64,
}

impl Cache {
    fn get(&mut self, text: &str) -> Option<Bytes> {
        self.clock += 1;
        let now = self.clock;
        self.entries.get_mut(text).map(|(wav, used)| {
            *used = now;
            wav.clone()
        })
    }

    fn put(&mut self, text: String, wav: Bytes) {
        self.clock += 1;
        if self.entries.len() >= CACHE_ENTRIES
            && !self.entries.contains_key(&text)
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
        {
            self.entries.remove(&oldest);
        }
        self.entries.insert(text, (wav, self.clock));
    }
}

/// Speaks texts with espeak-ng: bounded, timed, cached.
pub struct Speaker {
    /// `None`: never speak (always the chime).
    program: Option<String>,
    permits: Semaphore,
    cache: Mutex<Cache>,
}

impl Speaker {
    pub fn new(program: Option<String>) -> Speaker {
        Speaker {
            program,
            permits: Semaphore::new(SPEECH_CONCURRENCY),
            cache: Mutex::new(Cache {
                entries: HashMap::new(),
                clock: 0,
            }),
        }
    }

    /// The process's speaker: `HALLQ_ESPEAK` or `espeak-ng`.
    pub fn from_env() -> Speaker {
        let program = match std::env::var("HALLQ_ESPEAK") {
            Ok(p) if p.trim().is_empty() => None,
            Ok(p) => Some(p),
            Err(_) => Some("espeak-ng".to_string()),
        };
        Speaker::new(program)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn cached(&self) -> usize {
        self.cache().entries.len()
    }

    /// `pinyin` spoken, or the chime when it cannot be.
    pub async fn say(&self, pinyin: &str) -> (Bytes, AudioKind) {
        if let Some(wav) = self.cache().get(pinyin) {
            return (wav, AudioKind::Speech);
        }
        match self.render(pinyin).await {
            Some(wav) => {
                let wav = Bytes::from(wav);
                self.cache().put(pinyin.to_string(), wav.clone());
                (wav, AudioKind::Speech)
            }
            None => (CHIME.clone(), AudioKind::Chime),
        }
    }

    async fn render(&self, pinyin: &str) -> Option<Vec<u8>> {
        let program = self.program.as_deref()?;
        let _permit = self.permits.acquire().await.ok()?;
        let child = tokio::process::Command::new(program)
            .args(["-v", VOICE, "--stdout", pinyin])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(program, error = %e, "espeak-ng not started");
                return None;
            }
        };
        let out = match tokio::time::timeout(SPEECH_TIMEOUT, child.wait_with_output()).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => {
                tracing::warn!(program, error = %e, "espeak-ng failed");
                return None;
            }
            Err(_) => {
                tracing::warn!(program, "espeak-ng took too long");
                return None;
            }
        };
        if !out.status.success() || out.stdout.len() > SPEECH_BYTES_MAX {
            tracing::warn!(program, status = %out.status, bytes = out.stdout.len(), "espeak-ng gave no usable audio");
            return None;
        }
        fix_wav_sizes(out.stdout)
    }
}

static SPEAKER: LazyLock<Speaker> = LazyLock::new(Speaker::from_env);

/// espeak-ng writing to a pipe cannot seek back, so its header's RIFF and
/// data sizes are placeholders; set them from the bytes. `None` unless it
/// is a RIFF/WAVE with a `data` chunk.
pub fn fix_wav_sizes(mut wav: Vec<u8>) -> Option<Vec<u8>> {
    if wav.len() < 44 || &wav[..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        return None;
    }
    let riff = u32::try_from(wav.len() - 8).ok()?;
    wav[4..8].copy_from_slice(&riff.to_le_bytes());
    // Walk the chunks to `data`.
    let mut at = 12;
    while at + 8 <= wav.len() {
        let id = [wav[at], wav[at + 1], wav[at + 2], wav[at + 3]];
        let size = u32::from_le_bytes([wav[at + 4], wav[at + 5], wav[at + 6], wav[at + 7]]);
        if &id == b"data" {
            let data = u32::try_from(wav.len() - at - 8).ok()?;
            wav[at + 4..at + 8].copy_from_slice(&data.to_le_bytes());
            return Some(wav);
        }
        at = at.checked_add(8 + size as usize + (size as usize & 1))?;
    }
    None
}

/// A 16-bit mono PCM WAV of `samples`.
pub fn wav(sample_rate: u32, samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * 2).to_le_bytes()); // bytes per second
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Sample rate of the chime.
pub const CHIME_RATE: u32 = 16_000;

/// A two-tone "ding-dong" (E6 then C6), each note with a quick attack and an
/// exponential decay.
pub fn chime() -> Vec<u8> {
    let notes = [(1318.5_f64, 0.35_f64), (1046.5, 0.65)];
    let mut samples = Vec::new();
    for (freq, seconds) in notes {
        let n = (f64::from(CHIME_RATE) * seconds) as usize;
        for i in 0..n {
            let t = i as f64 / f64::from(CHIME_RATE);
            let attack = (t / 0.01).min(1.0);
            let decay = (-t * 4.0).exp();
            let v = (2.0 * std::f64::consts::PI * freq * t).sin() * attack * decay * 0.6;
            samples.push((v * f64::from(i16::MAX)) as i16);
        }
    }
    wav(CHIME_RATE, &samples)
}

static CHIME: LazyLock<Bytes> = LazyLock::new(|| Bytes::from(chime()));

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AudioQuery {
    /// The ticket number as announced, e.g. `K001` (1–8 of A–Z, 0–9).
    #[param(required = true)]
    #[serde(default)]
    pub ticket: Option<String>,
    /// The window it is called to.
    #[param(required = true, value_type = u32)]
    #[serde(default)]
    pub window: Option<String>,
}

/// Whether `t` is a ticket number as announced: 1–8 capital letters and
/// digits.
pub fn valid_ticket(t: &str) -> bool {
    (1..=TICKET_CHARS_MAX).contains(&t.len())
        && t.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The announcement template of the voice chip of a zone, else the default.
fn template_of_zone(config: &Config, zone: &str) -> Option<Template> {
    config
        .devices()
        .iter()
        .filter(|d| d.zone.as_deref() == Some(zone))
        .find_map(|d| match &config.device_profile(d).device {
            DeviceProfile::Syn6288(p) => Some(p.announcement.clone()),
            DeviceProfile::Xfs5152(p) => Some(p.announcement.clone()),
            _ => None,
        })
}

/// The pinyin of the call of `ticket` to `window`: the zone chip's
/// template when it is in the pinyin vocabulary, else the default one.
pub fn announcement_pinyin(config: &Config, ticket: &str, window: u32) -> Option<String> {
    let zone = config
        .window(window)
        .map(|w| w.zone.clone())
        .unwrap_or_default();
    let own = template_of_zone(config, &zone)
        .and_then(|t| speech::pinyin(&speech::render_plain(&t, ticket, window)));
    own.or_else(|| {
        let t = Template::parse(DEFAULT_ANNOUNCEMENT).ok()?;
        speech::pinyin(&speech::render_plain(&t, ticket, window))
    })
}

/// The call of a ticket to a window as speech (WAV), or a chime without espeak-ng.
#[utoipa::path(get, path = "/api/v1/announcements/audio", tag = "hall", params(AudioQuery),
    responses((status = 200, content_type = "audio/wav",
               description = "the announcement; header X-Hallq-Audio: speech (espeak-ng) or chime"),
              (status = 400, body = ErrorBody, description = "bad ticket (field `ticket`) or query"),
              (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "no such window (field `window`)")),
    security(("bearer" = [])))]
pub async fn announcement(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AudioQuery>,
) -> Result<Response, ApiError> {
    caller.require(Need::ReadHall)?;
    let ticket = q.ticket.filter(|t| valid_ticket(t)).ok_or_else(|| {
        ApiError::bad_request(
            "bad_ticket",
            "ticket：号码须为1到8位大写字母或数字，如 K001",
            "ticket: must be 1–8 capital letters or digits, e.g. K001",
        )
    })?;
    let window = q
        .window
        .and_then(|w| w.parse::<u32>().ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_window",
                "window：须为窗口号",
                "window: must be a window number",
            )
        })?;
    if state.config.get().window(window).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_window",
            format!("window：没有{window}号窗口"),
            format!("window: there is no window {window}"),
        ));
    }
    let (wav, kind) = match announcement_pinyin(&state.config.get(), &ticket, window) {
        Some(p) => SPEAKER.say(&p).await,
        None => (CHIME.clone(), AudioKind::Chime),
    };
    let mut r = (
        [
            (header::CONTENT_TYPE, "audio/wav"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        wav,
    )
        .into_response();
    r.headers_mut()
        .insert("x-hallq-audio", HeaderValue::from_static(kind.header()));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks a RIFF/WAVE's header against its length; returns the data size.
    fn check_wav(b: &[u8]) -> usize {
        assert_eq!(&b[..4], b"RIFF");
        assert_eq!(&b[8..12], b"WAVE");
        assert_eq!(
            u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize,
            b.len() - 8
        );
        let at = b.windows(4).position(|w| w == b"data").expect("data chunk");
        let data = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as usize;
        assert_eq!(data, b.len() - at - 8);
        data
    }

    #[test]
    fn the_chime_is_a_valid_wav() {
        let b = chime();
        assert_eq!(&b[12..16], b"fmt ");
        assert_eq!(u16::from_le_bytes([b[20], b[21]]), 1, "PCM");
        assert_eq!(u16::from_le_bytes([b[22], b[23]]), 1, "mono");
        assert_eq!(
            u32::from_le_bytes(b[24..28].try_into().unwrap()),
            CHIME_RATE
        );
        assert_eq!(u16::from_le_bytes([b[34], b[35]]), 16);
        assert_eq!(&b[36..40], b"data");
        let data = check_wav(&b);
        assert_eq!(
            data,
            (CHIME_RATE as usize) * 2,
            "one second of 16-bit samples"
        );
        // Not silence, not clipped.
        let samples: Vec<i16> = b[44..]
            .chunks(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!(peak > 10_000 && peak < i16::MAX as u16, "{peak}");
    }

    #[test]
    fn streamed_headers_are_fixed() {
        let mut streamed = wav(22_050, &[1, 2, 3, 4]);
        streamed[4..8].copy_from_slice(&0x7fff_f024u32.to_le_bytes());
        streamed[40..44].copy_from_slice(&0x7fff_f000u32.to_le_bytes());
        let fixed = fix_wav_sizes(streamed).expect("a wav");
        assert_eq!(check_wav(&fixed), 8);
        assert!(fix_wav_sizes(b"not a wav at all, not at all, not at all....".to_vec()).is_none());
        assert!(fix_wav_sizes(Vec::new()).is_none());
    }

    #[test]
    fn tickets() {
        for ok in ["K001", "A1", "9", "AB123456"] {
            assert!(valid_ticket(ok), "{ok}");
        }
        for bad in ["", "k001", "K-01", "K0012345X", "Ｋ001", "K 01", "-v"] {
            assert!(!valid_ticket(bad), "{bad}");
        }
    }

    #[test]
    fn the_demo_halls_announcement() {
        let c = Config::demo();
        let w = c.windows()[0].number;
        let p = announcement_pinyin(&c, "K001", 12).unwrap();
        assert!(p.starts_with("qing3 K ling2 ling2 yi1 hao4"), "{p}");
        assert!(announcement_pinyin(&c, "A1", w).is_some());
    }

    #[tokio::test]
    async fn without_espeak_ng_it_is_the_chime() {
        let s = Speaker::new(Some("/nonexistent/espeak-ng".into()));
        let (wav, kind) = s.say("qing3 K ling2 hao4").await;
        assert_eq!(kind, AudioKind::Chime);
        check_wav(&wav);
        assert_eq!(s.cached(), 0, "a failure is not cached");
        let (_, kind) = Speaker::new(None).say("qing3").await;
        assert_eq!(kind, AudioKind::Chime);
        // A program that exits with an error, or prints no WAV.
        let (_, kind) = Speaker::new(Some("false".into())).say("qing3").await;
        assert_eq!(kind, AudioKind::Chime);
        let (_, kind) = Speaker::new(Some("echo".into())).say("qing3").await;
        assert_eq!(kind, AudioKind::Chime);
    }

    fn espeak_ng_installed() -> bool {
        std::process::Command::new("espeak-ng")
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    #[tokio::test]
    async fn with_espeak_ng_it_speaks_and_caches() {
        if !espeak_ng_installed() {
            eprintln!("espeak-ng is not installed: skipped");
            return;
        }
        let s = Speaker::new(Some("espeak-ng".into()));
        let text = "qing3 K ling2 ling2 yi1 hao4 dao4 shi2 er4 hao4 chuang1 kou3 ban4 li3";
        let (wav, kind) = s.say(text).await;
        assert_eq!(kind, AudioKind::Speech);
        assert!(check_wav(&wav) > 16_000, "more than a moment of speech");
        assert_eq!(s.cached(), 1);
        let (again, _) = s.say(text).await;
        assert_eq!(wav.as_ptr(), again.as_ptr(), "from the cache");
    }

    #[test]
    fn the_cache_is_bounded_and_drops_the_least_recently_used() {
        let mut c = Cache {
            entries: HashMap::new(),
            clock: 0,
        };
        for i in 0..CACHE_ENTRIES {
            c.put(format!("t{i}"), Bytes::new());
        }
        assert!(c.get("t0").is_some()); // t0 is now recent; t1 the oldest
        c.put("new".into(), Bytes::new());
        assert_eq!(c.entries.len(), CACHE_ENTRIES);
        assert!(c.get("t1").is_none());
        assert!(c.get("t0").is_some());
        assert!(c.get("new").is_some());
    }
}
