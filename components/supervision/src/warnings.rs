//! Early warnings (预警): every request is analysed as it comes, and a problem that surges in a
//! district — a top-level category's requests of the last 24 hours at least
//! `SURGE_FLOOR` and at least `SURGE_FACTOR` times its daily average over the 7 days before —
//! becomes a warning to every supervisor, once a China day for each category and district
//! (`order_store::outbox::raise_early_warnings`, every five minutes by the runtime's schedule).
//! The list shows the warnings raised, latest first, with the rule beside them.

use crate::error::ApiError;
use api_plumbing::{Reply, reply_with};
use mobile_api::{EarlyWarning, EarlyWarningList};
use order_store::outbox::{SURGE_FACTOR, SURGE_FLOOR};
use order_store::{required, required_named, utc};
use spin_sdk::http::StatusCode;

/// How many warnings the list shows: months of them.
const LISTED: i64 = 200;

/// `POST /internal/early-warnings` (the runtime's schedule).
pub async fn raise() -> Result<Reply, ApiError> {
    let db = api_plumbing::connect().await.map_err(ApiError::Internal)?;
    order_store::outbox::raise_early_warnings(&db).await?;
    Ok(reply_with(
        StatusCode::OK,
        &serde_json::json!({ "status": "ok" }),
    ))
}

/// `GET /api/v1/supervision/early-warnings`: the latest first.
pub async fn list() -> Result<Reply, ApiError> {
    let db = api_plumbing::connect().await.map_err(ApiError::Internal)?;
    let rows = db
        .query(
            "select w.early_warning_id, w.category_id, c.name as category_name, w.district_id, \
                    d.name as district_name, w.warned_on, w.received, w.received_before, w.created_at \
             from early_warnings w join categories c on c.category_id = w.category_id \
             join districts d on d.district_id = w.district_id \
             order by w.created_at desc, w.early_warning_id desc limit $1",
            [LISTED.into()],
        )
        .await?
        .collect()
        .await?;
    let items = rows
        .iter()
        .map(|row| {
            let received: i32 = required(row, "received")?;
            let received_before: i32 = required(row, "received_before")?;
            Ok(EarlyWarning {
                id: required(row, "early_warning_id")?,
                category: required_named(row, "category_id", "category_name")?,
                district: required_named(row, "district_id", "district_name")?,
                warned_on: required(row, "warned_on")?,
                received: received.into(),
                received_before: received_before.into(),
                raised_at: utc(row, "created_at")
                    .ok_or_else(|| ApiError::Internal("a warning without created_at".into()))?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(reply_with(
        StatusCode::OK,
        &EarlyWarningList {
            rule: format!(
                "某区县某类诉求 24 小时内不少于 {SURGE_FLOOR} 件，且不少于前 7 日日均的 {SURGE_FACTOR} 倍时预警，\
                 每类每区县每日一次"
            ),
            items,
        },
    ))
}
