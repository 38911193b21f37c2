//! Early warnings (预警): every request is analysed as it comes, and a problem that surges in a
//! district — a top-level category's requests of the last 24 hours at least
//! `early_warning_floor` (5) and at least `early_warning_factor` (3) times its daily average over
//! the 7 days before —
//! becomes a warning to every supervisor, once a China day for each category and district
//! (`order_store::outbox::raise_early_warnings`, every five minutes by the runtime's schedule).
//! The list shows the warnings raised, latest first, with the rule beside them.

use crate::error::ApiError;
use crate::report::parse_date;
use api_plumbing::{Reply, field_error, query_param, reply_with};
use mobile_api::{EarlyWarning, EarlyWarningList};
use order_store::outbox::{SURGE_FACTOR, SURGE_FLOOR};
use order_store::{required, required_named, utc};
use spin_sdk::http::StatusCode;

/// How many warnings the list shows: months of them.
const LISTED: i64 = 200;

/// The surge rule as the city set it: at least `floor` requests in 24 hours, and at least `factor`
/// times the week's daily average (`early_warning_floor`, `early_warning_factor`).
async fn rule() -> (i64, i64) {
    (
        api_plumbing::number_variable("early_warning_floor", SURGE_FLOOR, 1).await,
        api_plumbing::number_variable("early_warning_factor", SURGE_FACTOR, 1).await,
    )
}

/// `POST /internal/early-warnings` (the runtime's schedule).
pub async fn raise() -> Result<Reply, ApiError> {
    let (floor, factor) = rule().await;
    let db = api_plumbing::connect().await?;
    order_store::outbox::raise_early_warnings(&db, floor, factor).await?;
    Ok(reply_with(
        StatusCode::OK,
        &serde_json::json!({ "status": "ok" }),
    ))
}

/// `GET /api/v1/supervision/early-warnings?from=&to=&district=&category=`: the latest first,
/// of the China days from `from` to `to`, of one district, of one top-level category (each
/// optional).
pub async fn list(query: &str) -> Result<Reply, ApiError> {
    let mut problems = Vec::new();
    let mut date = |field: &str| {
        query_param(query, field)
            .filter(|d| !d.is_empty())
            .and_then(|d| {
                parse_date(field, d)
                    .map_err(|problem| problems.push(problem))
                    .ok()
            })
    };
    let (from, to) = (date("from"), date("to"));
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        problems.push(field_error(
            "to",
            "before_from",
            "结束日期不能早于开始日期 (to is before from)",
        ));
    }
    let db = api_plumbing::connect().await?;
    let district = query_param(query, "district").filter(|d| !d.is_empty());
    if let Some(code) = district
        && !order_store::district_exists(&db, code).await?
    {
        problems.push(field_error("district", "unknown", "没有这个区县"));
    }
    let category = query_param(query, "category").filter(|c| !c.is_empty());
    if let Some(code) = category {
        let rows = db
            .query(
                "select parent_id from categories where category_id = $1",
                [order_store::text(code)],
            )
            .await?
            .collect()
            .await?;
        match rows.first() {
            None => problems.push(field_error("category", "unknown", "没有这个诉求类别")),
            Some(row) if row.get::<String>("parent_id").is_some() => problems.push(field_error(
                "category",
                "not_top_level",
                "预警按一级类别统计，请选一级类别 (warnings are by top-level category)",
            )),
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let day = |date: Option<chrono::NaiveDate>| date.map(|d| d.format("%Y-%m-%d").to_string());
    let rows = db
        .query(
            "select w.early_warning_id, w.category_id, c.name as category_name, w.district_id, \
                    d.name as district_name, w.warned_on, w.received, w.received_before, w.created_at \
             from early_warnings w join categories c on c.category_id = w.category_id \
             join districts d on d.district_id = w.district_id \
             where ($1::text is null or w.warned_on >= cast($1 as date)) \
               and ($2::text is null or w.warned_on <= cast($2 as date)) \
               and ($3::text is null or w.district_id = $3) \
               and ($4::text is null or w.category_id = $4) \
             order by w.created_at desc, w.early_warning_id desc limit $5",
            [
                day(from).into(),
                day(to).into(),
                district.map(str::to_owned).into(),
                category.map(str::to_owned).into(),
                (LISTED + 1).into(),
            ],
        )
        .await?
        .collect()
        .await?;
    let (rows, more) = crate::report::capped(&rows, LISTED);
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
    let (floor, factor) = rule().await;
    Ok(reply_with(
        StatusCode::OK,
        &EarlyWarningList {
            rule: format!(
                "某区县某类诉求 24 小时内不少于 {floor} 件，且不少于前 7 日日均的 {factor} 倍时预警，\
                 每类每区县每日一次"
            ),
            items,
            more,
        },
    ))
}
