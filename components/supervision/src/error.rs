//! The supervision component's API errors: those of a component that mostly reads, and the
//! refusals of an `Idempotency-Key` that issuing a special report takes, of scheduling a leader
//! answering day over another of the same leader's, and of cancelling one that is over or in use.

api_plumbing::read_only_api_error!(
    "supervision",
    /// Not 1–128 visible ASCII characters.
    InvalidIdempotencyKey => (
        StatusCode::BAD_REQUEST,
        codes::INVALID_IDEMPOTENCY_KEY,
        "Idempotency-Key 应为 1–128 个可见 ASCII 字符 (invalid Idempotency-Key)"
    ),
    /// A leader answering day that is over, or that calls name, cannot be cancelled.
    LeaderDayInUse => (
        StatusCode::CONFLICT,
        codes::LEADER_DAY_IN_USE,
        "接听日已结束或已有来电登记，不能取消 (the day is over or calls name it)"
    ),
    /// The same leader already has a day scheduled in that span.
    LeaderDayOverlaps => (
        StatusCode::CONFLICT,
        codes::LEADER_DAY_OVERLAPS,
        "该领导在此时段已安排接听日 (the leader already has a day in that span)"
    ),
    /// The key was used for a different request.
    IdempotencyKeyReused => (
        StatusCode::CONFLICT,
        codes::IDEMPOTENCY_KEY_REUSED,
        "该 Idempotency-Key 已用于另一个请求 (the key was used for a different request)"
    ),
);
