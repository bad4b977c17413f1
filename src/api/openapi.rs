//! The OpenAPI document, generated from the handlers' annotations and served
//! at `/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{audio, events, hall, print, public, sessions, sim, tickets, windows};

#[derive(OpenApi)]
#[openapi(
    info(title = "hallq", description = "Queue-calling and hall display controller of a government service hall (政务服务中心). \
        Bearer tokens come from POST /api/v1/sessions; kiosks and screens present their API key as the bearer token. \
        Errors are {\"error\": {\"code\", \"message\" (zh), \"message_en\"}}."),
    paths(
        sessions::sign_in, sessions::sign_out, sessions::change_password, sessions::reset_password,
        tickets::issue, tickets::get_ticket, tickets::list_day,
        windows::get_window, windows::sign_in, windows::sign_out, windows::call_next, windows::call,
        windows::recall, windows::start, windows::finish, windows::no_show, windows::park, windows::unpark,
        windows::transfer, windows::pause, windows::resume, windows::open_window, windows::close_window,
        windows::set_services, windows::list_windows, windows::request_evaluation,
        hall::get_hall, hall::today, hall::services, hall::open_session, hall::close_session, hall::journal,
        events::events, super::alerts::list,
        public::phone, public::phone_events, public::qr_svg, print::escpos, audio::announcement,
        sim::devices, sim::events, sim::press_key, sim::rate,
        super::stats::get_stats, super::stats::rankings, super::stats::file,
        super::evaluations::list, super::evaluations::followups, super::evaluations::outbox,
        super::healthz,
        super::metrics::scrape,
    ),
    modifiers(&Bearer),
    tags(
        (name = "sessions", description = "Sign in, sign out, passwords"),
        (name = "tickets", description = "Issue tickets and read their status"),
        (name = "counter", description = "What window staff do, and a window's view"),
        (name = "manager", description = "Hall manager's changes"),
        (name = "hall", description = "The live hall, its event stream and its journal"),
        (name = "public", description = "The citizen's phone: a ticket's status behind its capability link (no sign-in)"),
        (name = "simulator", description = "The device simulator of a demo hall (the /sim page)"),
        (name = "stats", description = "Statistics of a period computed from the journal, report files, rankings"),
    )
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The OpenAPI document.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
