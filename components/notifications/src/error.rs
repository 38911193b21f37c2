//! The notifications component's API errors.

use api_plumbing::{Reply, error_reply};
use mobile_api::{FieldError, codes};
use spin_sdk::http::StatusCode;

#[derive(Debug)]
pub enum ApiError {
    Unauthenticated,
    NotFound,
    MalformedJson(Option<String>),
    Validation(Vec<FieldError>),
    InvalidCursor,
    /// Re-queueing a delivery that is not dead.
    NotDead,
    /// The database could not be reached (503, `Retry-After`).
    Unavailable(String),
    Internal(String),
}

api_plumbing::api_error_conversions!(ApiError);
api_plumbing::page_error_conversion!(ApiError);

impl ApiError {
    pub fn into_reply(self, request_id: &str) -> Reply {
        let (status, code, message, fields) = match self {
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHENTICATED,
                "请先登录 (sign in first)".to_owned(),
                vec![],
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                "没有找到 (not found)".to_owned(),
                vec![],
            ),
            ApiError::MalformedJson(position) => (
                StatusCode::BAD_REQUEST,
                codes::MALFORMED_JSON,
                api_plumbing::malformed_json_message(position.as_deref()),
                vec![],
            ),
            ApiError::Validation(fields) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::VALIDATION_FAILED,
                "请检查填写的内容 (some fields are invalid)".to_owned(),
                fields,
            ),
            ApiError::InvalidCursor => (
                StatusCode::BAD_REQUEST,
                codes::INVALID_CURSOR,
                "翻页参数无效 (invalid cursor)".to_owned(),
                vec![],
            ),
            ApiError::NotDead => (
                StatusCode::CONFLICT,
                codes::NOT_DEAD,
                "只能重新发送已失败的消息 (only dead deliveries are re-queued)".to_owned(),
                vec![],
            ),
            ApiError::Unavailable(cause) => {
                return api_plumbing::database_unavailable("notifications", request_id, &cause);
            }
            ApiError::Internal(cause) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::INTERNAL,
                api_plumbing::internal_error_message("notifications", request_id, &cause),
                vec![],
            ),
        };
        error_reply(status, code, message, fields)
    }
}
