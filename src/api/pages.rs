//! The hall's web pages (`displays/`), compiled into the binary so a hall
//! needs no web server and no Internet: `/screen`, `/window/{n}`,
//! `/counter`, `/kiosk`, `/t/{id}`, `/manager`, `/sim`, and their assets
//! under `/static/`. Pages are public; the data they show needs a key or a
//! sign-in (the API's own rules).

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

use super::error::ApiError;

/// Every file under `displays/` (read from disk in debug builds, so pages
/// can be edited without rebuilding).
#[derive(Embed)]
#[folder = "displays/"]
struct Displays;

/// The pages and the file each one is.
pub const PAGES: &[(&str, &str)] = &[
    ("/", "index.html"),
    ("/screen", "screen/index.html"),
    ("/window/{n}", "window/index.html"),
    ("/counter", "counter/index.html"),
    ("/kiosk", "kiosk/index.html"),
    ("/t/{id}", "phone/index.html"),
    ("/manager", "manager/index.html"),
    ("/sim", "sim/index.html"),
];

/// Scripts and styles only from the hall itself; nothing from elsewhere.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// One page's HTML.
pub fn page(file: &'static str) -> Response {
    match Displays::get(file) {
        Some(f) => {
            let mut r = (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                f.data.into_owned(),
            )
                .into_response();
            secure(&mut r, "no-cache");
            r
        }
        None => ApiError::not_found("该页面", "page").into_response(),
    }
}

/// `GET /static/{*path}`: a script, style, image or sound of the pages.
pub async fn asset(Path(path): Path<String>) -> Response {
    if path.split('/').any(|p| p == ".." || p.is_empty()) || path.ends_with(".html") {
        return ApiError::not_found("该文件", "file").into_response();
    }
    match Displays::get(&path) {
        Some(f) => {
            let mime = f.metadata.mimetype();
            let mime = if mime.starts_with("text/") || mime.ends_with("javascript") {
                format!("{mime}; charset=utf-8")
            } else {
                mime.to_string()
            };
            let mut r = ([(header::CONTENT_TYPE, mime)], f.data.into_owned()).into_response();
            // Assets change with the binary; revalidate cheaply by ETag-less no-cache.
            secure(&mut r, "no-cache");
            r
        }
        None => ApiError::not_found("该文件", "file").into_response(),
    }
}

fn secure(r: &mut Response, cache: &'static str) {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // `frame-ancestors 'none'` for browsers too old to know CSP level 2.
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_file_is_embedded() {
        for (route, file) in PAGES {
            assert!(Displays::get(file).is_some(), "{route} → {file} missing");
        }
    }
}
