//! The rating component's API errors.

use api_plumbing::{Reply, error_reply};
use mobile_api::{FieldError, codes};
use spin_sdk::http::StatusCode;

#[derive(Debug)]
pub enum ApiError {
    Unauthenticated,
    /// Agency staff asking for figures other than their own agency's.
    Forbidden,
    NotFound,
    MethodNotAllowed,
    MalformedJson(Option<String>),
    Validation(Vec<FieldError>),
    InvalidCursor,
    Internal(String),
}

api_plumbing::api_error_conversions!(ApiError);

impl ApiError {
    pub fn into_reply(self, request_id: &str) -> Reply {
        let (status, code, message, fields) = match self {
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHENTICATED,
                "请先登录 (sign in first)".to_owned(),
                vec![],
            ),
            ApiError::Forbidden => (
                StatusCode::FORBIDDEN,
                codes::FORBIDDEN,
                "承办单位只能查看本单位的指标 (an agency sees its own figures only)".to_owned(),
                vec![],
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                "没有找到 (not found)".to_owned(),
                vec![],
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                codes::METHOD_NOT_ALLOWED,
                "不支持此方法 (method not allowed)".to_owned(),
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
                "请检查查询条件 (some parameters are invalid)".to_owned(),
                fields,
            ),
            ApiError::InvalidCursor => (
                StatusCode::BAD_REQUEST,
                codes::INVALID_CURSOR,
                "翻页参数无效 (invalid cursor)".to_owned(),
                vec![],
            ),
            ApiError::Internal(cause) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::INTERNAL,
                api_plumbing::internal_error_message("rating", request_id, &cause),
                vec![],
            ),
        };
        error_reply(status, code, message, fields)
    }
}
