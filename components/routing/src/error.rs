//! The routing component's API errors. A refused lifecycle command is a 409 whose code says why
//! (`order_not_signed`, `return_limit_reached`, ...), except where the rule is about access
//! (403, or 404 for an order held by another agency) or input (422).

use api_plumbing::{Reply, error_reply, field_error};
use mobile_api::{FieldError, codes};
use spin_sdk::http::StatusCode;
use workorder::lifecycle::Refusal;

#[derive(Debug)]
pub enum ApiError {
    Unauthenticated,
    NotFound,
    UnknownAction(String),
    MalformedJson(Option<String>),
    Validation(Vec<FieldError>),
    Refused(Refusal),
    RuleExists,
    ConfidentialContact,
    /// A merge into the same order, or into one that is closed or merged itself.
    MergeTargetInvalid,
    /// The rating came after `rating_window_days`.
    RatingWindowClosed,
    /// A withdrawal of an order others' requests were merged into.
    MergedOrdersDepend,
    /// Not for the caller's role, with why.
    Forbidden(&'static str),
    /// A page cursor this API did not hand out.
    InvalidCursor,
    /// No such appeal (考核申诉).
    UnknownAppeal,
    /// An appeal of a case that does not count against the agency.
    NothingToAppeal,
    /// An appeal of a case appealed before.
    AlreadyAppealed,
    /// An appeal after the days to appeal (`appeal_window_days`, given).
    AppealWindowClosed(i32),
    /// A decision on an appeal decided before.
    AppealDecided,
    /// The database could not be reached (503, `Retry-After`).
    Unavailable(String),
    Internal(String),
}

api_plumbing::api_error_conversions!(ApiError);
api_plumbing::page_error_conversion!(ApiError);

/// A required field of an action's body is missing.
pub fn missing(field: &str) -> ApiError {
    ApiError::Validation(vec![field_error(
        field,
        "required",
        format!("请填写 {field} ({field} is required)"),
    )])
}

impl ApiError {
    pub fn into_reply(self, request_id: &str) -> Reply {
        let (status, code, message, fields) = match self {
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHENTICATED,
                "请先登录 (sign in first)".into(),
                vec![],
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                "没有找到该工单 (not found)".into(),
                vec![],
            ),
            ApiError::UnknownAction(action) => (
                StatusCode::NOT_FOUND,
                codes::UNKNOWN_ACTION,
                format!("没有这个操作 (no action `{action}`)"),
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
                "请检查填写的内容 (some fields are invalid)".into(),
                fields,
            ),
            ApiError::ConfidentialContact => (
                StatusCode::FORBIDDEN,
                codes::CONFIDENTIAL,
                "该工单为保密工单，仅承办人可查看联系方式 (only the assigned handler sees this contact)".into(),
                vec![],
            ),
            ApiError::MergeTargetInvalid => (
                StatusCode::CONFLICT,
                codes::MERGE_TARGET_INVALID,
                "只能并入另一张未办结的工单 (merge only into another open order)".into(),
                vec![],
            ),
            ApiError::RatingWindowClosed => (
                StatusCode::CONFLICT,
                codes::RATING_WINDOW_CLOSED,
                "评价期限已过 (the time to rate this reply has passed)".into(),
                vec![],
            ),
            ApiError::MergedOrdersDepend => (
                StatusCode::CONFLICT,
                codes::MERGED_ORDERS_DEPEND,
                "其他市民的同类诉求已并入该工单，不能撤回 (other requests were merged into this one)".into(),
                vec![],
            ),
            ApiError::Forbidden(why) => (StatusCode::FORBIDDEN, codes::FORBIDDEN, why.into(), vec![]),
            ApiError::InvalidCursor => (
                StatusCode::BAD_REQUEST,
                codes::INVALID_CURSOR,
                "翻页位置无效，请从第一页重新查询 (invalid cursor)".into(),
                vec![],
            ),
            ApiError::UnknownAppeal => (
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                "没有找到该申诉 (no such appeal)".into(),
                vec![],
            ),
            ApiError::NothingToAppeal => (
                StatusCode::CONFLICT,
                codes::NOTHING_TO_APPEAL,
                "该工单此项未计为本单位扣分，无需申诉 (this case does not count against the agency)"
                    .into(),
                vec![],
            ),
            ApiError::AlreadyAppealed => (
                StatusCode::CONFLICT,
                codes::ALREADY_APPEALED,
                "该工单此项已提出过申诉 (this case was appealed already)".into(),
                vec![],
            ),
            ApiError::AppealWindowClosed(days) => (
                StatusCode::CONFLICT,
                codes::APPEAL_WINDOW_CLOSED,
                format!(
                    "申诉须在评价、答复或联系市民后 {days} 日内提出 (the days to appeal are over)"
                ),
                vec![],
            ),
            ApiError::AppealDecided => (
                StatusCode::CONFLICT,
                codes::APPEAL_DECIDED,
                "该申诉已审核 (the appeal was decided already)".into(),
                vec![],
            ),
            ApiError::RuleExists => (
                StatusCode::CONFLICT,
                codes::RULE_EXISTS,
                "该类别和地区已有相同的派单规则 (the same rule exists)".into(),
                vec![],
            ),
            ApiError::Refused(refusal) => {
                let status = match refusal {
                    Refusal::Forbidden => StatusCode::FORBIDDEN,
                    Refusal::NotYourAgency => StatusCode::NOT_FOUND,
                    Refusal::TextRequired
                    | Refusal::DeadlineNotLater
                    | Refusal::DeadlineInPast
                    | Refusal::SameAgency => StatusCode::UNPROCESSABLE_ENTITY,
                    _ => StatusCode::CONFLICT,
                };
                let message = match refusal {
                    Refusal::NotYourAgency => "没有找到该工单 (not found)".to_owned(),
                    other => other.to_string(),
                };
                (status, refusal.code(), message, vec![])
            }
            ApiError::Unavailable(cause) => {
                return api_plumbing::database_unavailable("routing", request_id, &cause);
            }
            ApiError::Internal(cause) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::INTERNAL,
                api_plumbing::internal_error_message("routing", request_id, &cause),
                vec![],
            ),
        };
        error_reply(status, code, message, fields)
    }
}
