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
        super::reload::reload,
    ),
    modifiers(&Bearer, &SharedErrors),
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

/// The error answers that come from the shared extractors and layers rather
/// than from a handler (`auth.rs`, `extract.rs`, `error.rs`, the body limit
/// in `mod.rs`, the owner's queue), added to every operation that can give
/// them unless its own annotation already describes that status.
/// `tests/api_fuzz.sh` (schemathesis) holds the document to the daemon's answers.
struct SharedErrors;

impl Modify for SharedErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                add_shared_errors(path, operation);
            }
        }
    }
}

fn add_shared_errors(path: &str, operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};

    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let parameters = operation.parameters.iter().flatten().any(|p| {
        matches!(p, RefOr::T(p) if matches!(p.parameter_in,
            ParameterIn::Path | ParameterIn::Query | ParameterIn::Header))
    });
    let path_parameters = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Path)));
    let json_body = matches!(&operation.request_body,
        Some(RefOr::T(body)) if body.content.contains_key("application/json"));
    let idempotent = operation.parameters.iter().flatten().any(|p| {
        matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Header
            && p.name.eq_ignore_ascii_case("Idempotency-Key"))
    });
    let mut shared: Vec<(&str, &str)> = Vec::new();
    if parameters || json_body {
        shared.push((
            "400",
            "a malformed path or query parameter or header (`bad_path`, `bad_query`, \
             `bad_idempotency_key`) or malformed JSON (`bad_json`)",
        ));
    }
    if secured {
        shared.push((
            "401",
            "no bearer token, or an unknown or expired one (`unauthorized`)",
        ));
        shared.push((
            "403",
            "the caller's role may not do this (`forbidden`), or a person must change \
             the password first (`password_change_required`)",
        ));
    }
    if path_parameters {
        shared.push((
            "404",
            "no such window, ticket, account or file (`not_found`, `unknown_window`, `unknown_ticket`)",
        ));
    }
    if json_body {
        shared.push(("413", "a body over 16 KiB (`body_too_large`)"));
        shared.push((
            "415",
            "a body not sent as application/json (`json_required`)",
        ));
        shared.push((
            "422",
            "JSON of the wrong shape: a missing, mistyped or unknown field (`invalid_body`)",
        ));
    }
    if idempotent && !json_body {
        shared.push((
            "422",
            "the Idempotency-Key was already used for a different request \
             (`idempotency_key_reused`); nothing was applied",
        ));
    } else if idempotent {
        shared.retain(|(status, _)| *status != "422");
        shared.push((
            "422",
            "JSON of the wrong shape: a missing, mistyped or unknown field (`invalid_body`), \
             or the Idempotency-Key was already used for a different request \
             (`idempotency_key_reused`; nothing was applied)",
        ));
    }
    if path.starts_with("/api/") {
        shared.push((
            "503",
            "the hall is stopping or its command queue is full (`unavailable`); try again",
        ));
    }
    for (status, why) in shared {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(why)
                        .content(
                            "application/json",
                            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                        )
                        .build(),
                )
            });
    }
}

/// The OpenAPI document.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::path::ParameterIn;

    /// A query struct documented without `#[into_params(parameter_in = Query)]`
    /// lands in the path (utoipa's default): clients and schemathesis then
    /// build wrong URLs. And every route behind a token can answer 401.
    #[test]
    fn parameters_are_where_the_route_reads_them_and_secured_routes_document_401() {
        let doc = ApiDoc::openapi();
        for (path, item) in &doc.paths.paths {
            let operations = [&item.get, &item.put, &item.post, &item.delete, &item.patch];
            for operation in operations.into_iter().flatten() {
                for parameter in operation.parameters.iter().flatten() {
                    if let RefOr::T(p) = parameter
                        && matches!(p.parameter_in, ParameterIn::Path)
                    {
                        assert!(
                            path.contains(&format!("{{{}}}", p.name)),
                            "{path}: `{}` is documented as a path parameter but the path has no {{{}}}",
                            p.name,
                            p.name
                        );
                    }
                }
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    assert!(
                        operation.responses.responses.contains_key("401"),
                        "{path}: needs a token but documents no 401"
                    );
                }
            }
        }
    }
}
