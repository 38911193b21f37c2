//! The intake component's API errors: each maps to a status and a stable code. Database failures
//! become an opaque 500 whose cause goes to the log, never to the client.

use api_plumbing::{Reply, error_reply};
use mobile_api::{FieldError, codes};
use spin_sdk::http::StatusCode;

#[derive(Debug)]
pub enum ApiError {
    Unauthenticated,
    NotFound,
    /// No such knowledge-base article, or a retired one.
    ArticleNotFound,
    MethodNotAllowed,
    /// The body is not JSON; the parser's position, when known.
    MalformedJson(Option<String>),
    Validation(Vec<FieldError>),
    InvalidIdempotencyKey,
    IdempotencyKeyReused,
    InvalidCursor,
    /// Following one's own order, a confidential one, or one that is closed.
    CannotFollow(&'static str),
    /// Adding to an order that is finished.
    OrderClosed,
    /// An order with as many supplements as one may have.
    TooManySupplements,
    /// A form (`multipart/form-data`) that is not parts between its boundary.
    MalformedForm,
    /// A photo over [`mobile_api::MAX_PHOTO_BYTES`].
    PhotoTooLarge,
    /// Bytes that are no JPEG, PNG or WebP picture.
    NotAPhoto,
    /// A picture whose structure does not read (cut off, or damaged).
    DamagedPhoto,
    /// As many photos in the last 24 hours as one may upload.
    PhotoQuotaExceeded,
    /// No photo has that id.
    PhotoNotFound,
    /// The database could not be reached: logged, answered 503 with `Retry-After`.
    Unavailable(String),
    /// A database or host failure: logged, answered with an opaque 500.
    Internal(String),
}

api_plumbing::api_error_conversions!(ApiError);
api_plumbing::page_error_conversion!(ApiError);

impl ApiError {
    /// The status, the stable code and the words for the client.
    pub(crate) fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHENTICATED,
                "请先登录 (sign in first)".into(),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                "没有找到该诉求 (not found)".into(),
            ),
            ApiError::ArticleNotFound => (
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                "没有找到该知识条目 (no such article)".into(),
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                codes::METHOD_NOT_ALLOWED,
                "不支持该请求方法 (method not allowed)".into(),
            ),
            ApiError::MalformedJson(position) => (
                StatusCode::BAD_REQUEST,
                codes::MALFORMED_JSON,
                api_plumbing::malformed_json_message(position.as_deref()),
            ),
            ApiError::Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::VALIDATION_FAILED,
                "请检查填写的内容 (some fields are invalid)".into(),
            ),
            ApiError::InvalidIdempotencyKey => (
                StatusCode::BAD_REQUEST,
                codes::INVALID_IDEMPOTENCY_KEY,
                "Idempotency-Key 应为 1–128 个可见 ASCII 字符 (invalid Idempotency-Key)".into(),
            ),
            ApiError::IdempotencyKeyReused => (
                StatusCode::CONFLICT,
                codes::IDEMPOTENCY_KEY_REUSED,
                "该 Idempotency-Key 已用于另一个请求 (the key was used for a different request)"
                    .into(),
            ),
            ApiError::InvalidCursor => (
                StatusCode::BAD_REQUEST,
                codes::INVALID_CURSOR,
                "分页游标无效 (invalid cursor)".into(),
            ),
            ApiError::CannotFollow(why) => (
                StatusCode::CONFLICT,
                codes::CANNOT_FOLLOW,
                (*why).to_owned(),
            ),
            ApiError::OrderClosed => (
                StatusCode::CONFLICT,
                codes::ORDER_CLOSED,
                "该诉求已办结，如有新情况请重新提交 (the order is finished)".into(),
            ),
            ApiError::TooManySupplements => (
                StatusCode::CONFLICT,
                codes::TOO_MANY_SUPPLEMENTS,
                format!(
                    "每件诉求最多补充 {} 次，请致电 12345 (at most {} supplements)",
                    crate::supplements::MAX_SUPPLEMENTS,
                    crate::supplements::MAX_SUPPLEMENTS
                ),
            ),
            ApiError::MalformedForm => (
                StatusCode::BAD_REQUEST,
                codes::MALFORMED_FORM,
                "表单格式有误 (the multipart/form-data body could not be read)".into(),
            ),
            ApiError::PhotoTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                codes::PAYLOAD_TOO_LARGE,
                "照片过大，请压缩到 2 MiB 以内 (photo over 2 MiB)".into(),
            ),
            ApiError::NotAPhoto => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                codes::UNSUPPORTED_MEDIA_TYPE,
                "照片须为 JPEG、PNG 或 WebP 格式 (a photo must be JPEG, PNG or WebP)".into(),
            ),
            ApiError::DamagedPhoto => (
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::DAMAGED_PHOTO,
                "照片文件已损坏，请重新拍摄或选择 (the picture is damaged or cut off)".into(),
            ),
            ApiError::PhotoQuotaExceeded => (
                StatusCode::TOO_MANY_REQUESTS,
                codes::PHOTO_QUOTA_EXCEEDED,
                format!(
                    "24 小时内最多上传 {} 张照片 (at most {} photos in 24 hours)",
                    mobile_api::MAX_PHOTOS_PER_DAY,
                    mobile_api::MAX_PHOTOS_PER_DAY
                ),
            ),
            ApiError::PhotoNotFound => (
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                "没有找到该照片 (no such photo)".into(),
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                codes::DATABASE_UNAVAILABLE,
                api_plumbing::DATABASE_UNAVAILABLE_MESSAGE.into(),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::INTERNAL,
                "服务内部错误 (internal error)".into(),
            ),
        }
    }

    /// Writes an internal failure's cause to the log (the client is told nothing of it).
    pub(crate) fn log(&self, request_id: &str) {
        if let ApiError::Internal(cause) = self {
            eprintln!("intake: {request_id}: {cause}");
        }
    }

    pub fn into_reply(self, request_id: &str) -> Reply {
        if let ApiError::Unavailable(cause) = &self {
            return api_plumbing::database_unavailable("intake", request_id, cause);
        }
        self.log(request_id);
        let (status, code, message) = self.parts();
        let fields = match self {
            ApiError::Validation(fields) => fields,
            _ => Vec::new(),
        };
        error_reply(status, code, message, fields)
    }
}
