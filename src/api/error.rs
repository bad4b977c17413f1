//! Every client mistake gets a JSON error with a stable code and a message
//! in Chinese (`message`) and English (`message_en`); a 500 only for a true
//! server fault.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::daemon::SubmitError;
use crate::queue::Refusal;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub zh: String,
    pub en: String,
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: programs branch on it.
    code: String,
    /// For people, in Chinese.
    message: String,
    message_en: String,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "请先登录或提供有效的密钥",
            "sign in or present a valid key first",
        )
    }

    pub fn forbidden() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "您的角色无权进行此操作",
            "your role may not do this",
        )
    }

    pub fn password_change_required() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "password_change_required",
            "首次登录请先修改密码",
            "change your password before doing anything else",
        )
    }

    /// `what` in Chinese and in English (`"号票", "ticket"`).
    pub fn not_found(what: &str, what_en: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("找不到{what}"),
            format!("no such {what_en}"),
        )
    }

    pub fn bad_request(code: &str, zh: impl Into<String>, en: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, zh, en)
    }

    pub fn unprocessable(code: &str, zh: impl Into<String>, en: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, zh, en)
    }

    pub fn rate_limited() -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "请求过于频繁，请稍后再试",
            "too many requests; try again shortly",
        )
    }

    pub fn internal(what: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %what, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误",
            "internal server error",
        )
    }

    pub fn unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "系统正在停止或繁忙，请稍后再试",
            "the hall is stopping or busy; try again",
        )
    }
}

/// The HTTP status for a refusal of the core.
pub fn status_of(refusal: &Refusal) -> StatusCode {
    match refusal.code {
        "unknown_window" | "unknown_ticket" => StatusCode::NOT_FOUND,
        "not_signed_in" | "not_permitted" | "no_window_role" => StatusCode::FORBIDDEN,
        "unknown_service"
        | "unknown_priority"
        | "unknown_staff"
        | "bad_cases"
        | "reason_required"
        | "reason_too_long"
        | "bad_transfer"
        | "bad_weight"
        | "duplicate_service"
        | "bad_appointment"
        | "day_not_today"
        | "idempotency_key_reused" => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::CONFLICT,
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        ApiError {
            status: status_of(&r),
            code: r.code.to_string(),
            zh: r.zh,
            en: r.en,
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> ApiError {
        match e {
            SubmitError::Refused(r) => r.into(),
            SubmitError::Journal(why) => ApiError::internal(format!("journal: {why}")),
            SubmitError::ShuttingDown | SubmitError::Busy => ApiError::unavailable(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        let detail = r.body_text();
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "json_required",
                "请求须为 JSON（Content-Type: application/json）",
                "the body must be JSON (Content-Type: application/json)",
            ),
            JsonRejection::JsonSyntaxError(_) => ApiError::bad_request(
                "bad_json",
                format!("JSON 格式错误：{detail}"),
                format!("malformed JSON: {detail}"),
            ),
            JsonRejection::JsonDataError(_) => ApiError::unprocessable(
                "invalid_body",
                format!("请求内容不符合要求：{detail}"),
                format!("invalid request body: {detail}"),
            ),
            JsonRejection::BytesRejection(_) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "请求内容过大",
                format!("the body could not be read: {detail}"),
            ),
            _ => ApiError::bad_request(
                "bad_body",
                format!("请求内容无效：{detail}"),
                format!("bad request body: {detail}"),
            ),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        let detail = r.body_text();
        ApiError::bad_request(
            "bad_path",
            format!("路径参数无效：{detail}"),
            format!("bad path parameter: {detail}"),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        let detail = r.body_text();
        ApiError::bad_request(
            "bad_query",
            format!("查询参数无效：{detail}"),
            format!("bad query parameter: {detail}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.zh,
                message_en: self.en,
            },
        };
        (self.status, Json(body)).into_response()
    }
}
