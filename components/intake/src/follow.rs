//! "Is this already reported?": open orders of the same category nearby, which a citizen can
//! follow instead of filing again (and is made to follow when the centre merges theirs into one).

use crate::error::ApiError;
use crate::orders::visible_order;
use api_plumbing::{
    Principal, Reply, field_error, json_reply, query_number, query_param, reply_with,
};
use mobile_api::NearbyOrderList;
use order_store::{CLOSED_STATUSES, DEFAULT_NEARBY_RADIUS_M, MAX_NEARBY_RADIUS_M, required, text};
use spin_sdk::http::StatusCode;

fn number(
    query: &str,
    name: &str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<Option<f64>, ApiError> {
    query_number(query, name, range).map_err(|problem| ApiError::Validation(vec![problem]))
}

/// `GET /api/v1/requests/nearby?lat=&lng=&category=&radius=`.
pub async fn nearby(query: &str) -> Result<Reply, ApiError> {
    let lat = number(query, "lat", -90.0..=90.0)?;
    let lng = number(query, "lng", -180.0..=180.0)?;
    let radius =
        number(query, "radius", 1.0..=MAX_NEARBY_RADIUS_M)?.unwrap_or(DEFAULT_NEARBY_RADIUS_M);
    let category = query_param(query, "category").filter(|c| !c.is_empty());
    let mut problems = Vec::new();
    for (name, missing) in [
        ("lat", lat.is_none()),
        ("lng", lng.is_none()),
        ("category", category.is_none()),
    ] {
        if missing {
            problems.push(field_error(
                name,
                "required",
                format!("缺少 {name} ({name} is required)"),
            ));
        }
    }
    let (Some(lat), Some(lng), Some(category), true) = (lat, lng, category, problems.is_empty())
    else {
        return Err(ApiError::Validation(problems));
    };
    let db = api_plumbing::connect().await?;
    if !order_store::category_exists(&db, category).await? {
        return Err(ApiError::Validation(vec![field_error(
            "category",
            "unknown_category",
            "没有这个诉求类别 (no such category)",
        )]));
    }
    let items =
        order_store::nearby_open_orders(&db, (lat, lng), category, radius, None, true).await?;
    Ok(reply_with(StatusCode::OK, &NearbyOrderList { items }))
}

/// `POST /api/v1/requests/{id}/follow`: follow an open order that is not one's own. Following
/// again changes nothing.
pub async fn follow(principal: &Principal, id: &str) -> Result<Reply, ApiError> {
    let key = order_store::order_key(id)?;
    let db = api_plumbing::connect().await?;
    let rows = db
        .query(
            format!(
                "select o.work_order_id, o.confidential, o.status not in {CLOSED_STATUSES} as open, \
                        ci.subject = $2 as own \
                 from work_orders o join citizens ci on ci.citizen_id = o.citizen_id \
                 where o.{} = $1",
                key.column()
            ),
            [key.value(), text(&principal.subject)],
        )
        .await?
        .collect()
        .await?;
    let row = rows.first().ok_or(ApiError::NotFound)?;
    // A confidential order is not there for anyone but its citizen.
    if required::<bool>(row, "confidential")? && !required::<bool>(row, "own")? {
        return Err(ApiError::NotFound);
    }
    if required::<bool>(row, "own")? {
        return Err(ApiError::CannotFollow(
            "这是您自己的诉求 (this is your own request)",
        ));
    }
    if !required::<bool>(row, "open")? {
        return Err(ApiError::CannotFollow(
            "该工单已办结 (this order is closed)",
        ));
    }
    let order_id: uuid::Uuid = required(row, "work_order_id")?;
    let citizen =
        order_store::find_or_add_citizen(&db, order_store::CitizenKey::Subject(&principal.subject))
            .await?
            .id;
    // One more citizen raising it may make it a hot issue: key supervision commits with the follow.
    db.transaction(async {
        db.execute(
            "insert into order_followers (work_order_id, citizen_id, reason) values ($1, $2, 'followed') \
             on conflict do nothing",
            [order_id.into(), citizen.into()],
        )
        .await?;
        order_store::outbox::key_supervise_hot_issue(&db, order_id).await?;
        Ok::<_, ApiError>(())
    })
    .await?;
    let order = visible_order(&db, principal, &order_id.to_string())
        .await?
        .ok_or_else(|| ApiError::Internal("a followed order is not visible".into()))?;
    Ok(reply_with(StatusCode::OK, &order))
}

/// `DELETE /api/v1/requests/{id}/follow`: stop following. Not following is no error.
pub async fn unfollow(principal: &Principal, id: &str) -> Result<Reply, ApiError> {
    let key = order_store::order_key(id)?;
    let db = api_plumbing::connect().await?;
    let rows = db
        .query(
            format!(
                "select work_order_id from work_orders where {} = $1 and not confidential",
                key.column()
            ),
            [key.value()],
        )
        .await?
        .collect()
        .await?;
    let order_id: uuid::Uuid = rows
        .first()
        .map(|row| required(row, "work_order_id"))
        .transpose()?
        .ok_or(ApiError::NotFound)?;
    db.execute(
        "delete from order_followers f using citizens c \
         where f.citizen_id = c.citizen_id and c.subject = $2 and f.work_order_id = $1",
        [order_id.into(), text(&principal.subject)],
    )
    .await?;
    Ok(json_reply(StatusCode::NO_CONTENT, String::new()))
}
