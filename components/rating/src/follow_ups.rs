//! `GET /api/v1/follow-ups`: the operators' follow-up (回访) queue.
//!
//! An order waits here once its rating window has passed with no rating, longest-waiting first.
//! After a call that did not reach the citizen (the `not_reached` action) it rests for
//! `follow_up_retry_minutes` before it comes up again, so that the next call is at another time
//! of day; the third such call archives it unrated.

use crate::error::ApiError;
use api_plumbing::Reply;
use mobile_api::{FollowUp, FollowUpList};
use order_store::db::Row;
use order_store::{named, required, required_named, utc};
use spin_sdk::http::StatusCode;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

pub async fn queue(query: &str) -> Result<Reply, ApiError> {
    let api_plumbing::PageQuery {
        limit,
        after: cursor,
    } = api_plumbing::page_query(query, DEFAULT_PAGE, MAX_PAGE)?;
    let window_days = api_plumbing::number_variable("rating_window_days", 7, 1).await;
    let retry_minutes = api_plumbing::number_variable("follow_up_retry_minutes", 120, 1).await;
    let db = api_plumbing::connect().await?;
    let now = order_store::now(&db).await?;
    let window_closed_before = (now - chrono::TimeDelta::days(window_days)).naive_utc();
    let rested_before = (now - chrono::TimeDelta::minutes(retry_minutes)).naive_utc();
    let fetch = i64::from(limit) + 1;
    let select = "select o.work_order_id, o.tracking_number, o.title, o.category_id, c.name as category_name, \
                o.agency_id, a.name as agency_name, o.redo_count + 1 as round, o.awaiting_rating_since, \
                o.follow_up_attempts, o.last_follow_up_at, o.contact_phone \
         from work_orders o join categories c on c.category_id = o.category_id \
         left join agencies a on a.agency_id = o.agency_id \
         where o.status = 'awaiting_rating' and o.awaiting_rating_since <= $1 \
           and (o.last_follow_up_at is null or o.last_follow_up_at <= $2)";
    let order = "order by o.awaiting_rating_since, o.work_order_id";
    let rows = match cursor {
        None => {
            db.query(
                format!("{select} {order} limit $3"),
                [window_closed_before.into(), rested_before.into(), fetch.into()],
            )
            .await?
        }
        Some((since, id)) => {
            db.query(
                format!(
                    "{select} and (o.awaiting_rating_since, o.work_order_id) > ($3, $4) {order} limit $5"
                ),
                [
                    window_closed_before.into(),
                    rested_before.into(),
                    since.into(),
                    id.into(),
                    fetch.into(),
                ],
            )
            .await?
        }
    }
    .collect()
    .await?;
    let mut items = rows
        .iter()
        .map(follow_up)
        .collect::<Result<Vec<_>, ApiError>>()?;
    let next_cursor = api_plumbing::next_page(&mut items, limit, |last| {
        api_plumbing::cursor(last.awaiting_rating_since, last.id)
    });
    Ok(api_plumbing::reply_with(
        StatusCode::OK,
        &FollowUpList { items, next_cursor },
    ))
}

fn follow_up(row: &Row) -> Result<FollowUp, ApiError> {
    Ok(FollowUp {
        id: required(row, "work_order_id")?,
        tracking_number: required(row, "tracking_number")?,
        title: required(row, "title")?,
        category: required_named(row, "category_id", "category_name")?,
        agency: named(row, "agency_id", "agency_name"),
        round: u32::try_from(required::<i32>(row, "round")?).unwrap_or(1),
        awaiting_rating_since: utc(row, "awaiting_rating_since")
            .ok_or_else(|| ApiError::Internal("awaiting_rating_since missing".into()))?,
        attempts: u32::try_from(required::<i32>(row, "follow_up_attempts")?).unwrap_or(0),
        last_attempt_at: utc(row, "last_follow_up_at"),
        contact_phone_masked: workorder::mask_phone(&required::<String>(row, "contact_phone")?),
    })
}
