//! The supervision component's API errors: those of a component that mostly reads, and the
//! refusals of an `Idempotency-Key` that issuing a special report takes.

api_plumbing::read_only_api_error!(
    "supervision",
    /// Not 1–128 visible ASCII characters.
    InvalidIdempotencyKey => (
        StatusCode::BAD_REQUEST,
        codes::INVALID_IDEMPOTENCY_KEY,
        "Idempotency-Key 应为 1–128 个可见 ASCII 字符 (invalid Idempotency-Key)"
    ),
    /// The key was used for a different request.
    IdempotencyKeyReused => (
        StatusCode::CONFLICT,
        codes::IDEMPOTENCY_KEY_REUSED,
        "该 Idempotency-Key 已用于另一个请求 (the key was used for a different request)"
    ),
);
