//! Key supervision (重点督办) of the orders long overdue: every minute, the orders still with their
//! agency `key_supervision_after_days` days past their deadline are put under it, each once, with
//! its history event and the notices to the agency's staff and every supervisor, in one statement
//! (`order_store::outbox::escalate_overdue`).

use crate::error::ApiError;
use api_plumbing::{Reply, reply_with};
use spin_sdk::http::StatusCode;

/// How many orders one run escalates at most: a backlog (the first run after an outage, or after
/// the policy is shortened) goes over a few minutes rather than in one long transaction.
const A_RUN: i64 = 200;

/// `POST /internal/key-supervision` (the runtime's schedule).
pub async fn escalate_overdue() -> Result<Reply, ApiError> {
    let after_days = api_plumbing::number_variable("key_supervision_after_days", 3i64, 1).await;
    let db = api_plumbing::connect().await?;
    order_store::outbox::escalate_overdue(&db, A_RUN, after_days).await?;
    Ok(reply_with(
        StatusCode::OK,
        &serde_json::json!({ "status": "ok" }),
    ))
}
