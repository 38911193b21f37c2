//! `POST /api/v1/requests/{id}/supplements`: more about a request after filing it (补充说明) —
//! what the citizen learnt since, a photo taken the next morning. The citizen who filed it adds
//! them in the app; an operator adds what a caller says on the phone. Until the order is finished,
//! at most [`MAX_SUPPLEMENTS`] each.
//!
//! In one transaction, with the order locked: the supplement (append-only), its `supplemented`
//! history event, and the notices that event calls for (the holding agency's staff,
//! `task_supplemented`); under an `Idempotency-Key`, a retry is answered what the first got.

use crate::error::ApiError;
use api_plumbing::{Principal, Reply, field_error, json_reply};
use mobile_api::{NewSupplement, Supplement};
use order_store::db::Connection;
use order_store::idempotency::{self, Claim};
use order_store::{required, text};
use spin_sdk::http::StatusCode;
use workorder::CheckedSupplement;
use workorder::lifecycle::{Event, Status};

/// The most supplements one request may have; beyond them, a call to the hotline.
pub const MAX_SUPPLEMENTS: i64 = 20;

pub async fn add(
    principal: &Principal,
    id: &str,
    idempotency_key: Option<&str>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    if let Some(key) = idempotency_key {
        crate::orders::check_idempotency_key(key)?;
    }
    let key = order_store::order_key(id)?;
    // What is wrong with the body is said once the order is known to be the caller's: someone
    // else's order is 404 whatever is sent.
    let checked = api_plumbing::parse_json::<NewSupplement>(body)
        .map_err(ApiError::from)
        .and_then(|new| {
            CheckedSupplement::parse(&new.text, &new.photo_urls).map_err(|problems| {
                ApiError::Validation(
                    problems
                        .into_iter()
                        .map(|p| field_error(p.field, p.code, p.message))
                        .collect(),
                )
            })
        });
    // The key covers the order too: the same words sent to another order are another request.
    let hash = idempotency::request_hash(&[id.as_bytes(), b"\n", body].concat());
    let db = api_plumbing::connect().await?;
    db.keyed_transaction(async {
        if let Some(key) = idempotency_key {
            match idempotency::claim(&db, &principal.subject, key, &hash).await? {
                Claim::Fresh => {}
                Claim::Reused => return Err(ApiError::IdempotencyKeyReused),
                Claim::Replay(status, body) => {
                    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
                    return Ok((json_reply(status, body), false));
                }
            }
        }
        let body = record(&db, principal, &key, checked).await?;
        if let Some(key) = idempotency_key {
            idempotency::answer(&db, &principal.subject, key, 201, &body).await?;
        }
        Ok((json_reply(StatusCode::CREATED, body), true))
    })
    .await
}

/// Records the supplement, in the caller's transaction: its JSON.
async fn record(
    db: &Connection,
    principal: &Principal,
    key: &order_store::OrderKey,
    checked: Result<CheckedSupplement, ApiError>,
) -> Result<String, ApiError> {
    let rows = db
        .query(
            format!(
                "select o.work_order_id, o.status, ci.subject = $2 as own, \
                        (select count(*) from work_order_supplements s \
                         where s.work_order_id = o.work_order_id) as supplements \
                 from work_orders o join citizens ci on ci.citizen_id = o.citizen_id \
                 where o.{} = $1 for update of o",
                key.column()
            ),
            [key.value(), text(&principal.subject)],
        )
        .await?
        .collect()
        .await?;
    let row = rows.first().ok_or(ApiError::NotFound)?;
    // A citizen adds to their own requests only; an operator to any, for the caller.
    if principal.role == "citizen" && !required::<bool>(row, "own")? {
        return Err(ApiError::NotFound);
    }
    let status: String = required(row, "status")?;
    if Status::parse(&status).is_none_or(Status::is_final) {
        return Err(ApiError::OrderClosed);
    }
    let checked = checked?;
    if required::<i64>(row, "supplements")? >= MAX_SUPPLEMENTS {
        return Err(ApiError::TooManySupplements);
    }
    let order: uuid::Uuid = required(row, "work_order_id")?;
    if let Some(problem) =
        order_store::photos::attach(db, &principal.subject, order, &checked.photo_urls).await?
    {
        return Err(ApiError::Validation(vec![problem]));
    }
    let now = order_store::now(db).await?;
    let photos: Vec<Option<String>> = checked.photo_urls.iter().cloned().map(Some).collect();
    let made = db
        .query(
            "insert into work_order_supplements (work_order_id, text, photo_urls, subject, role, created_at) \
             values ($1, $2, $3, $4, $5, $6) returning work_order_supplement_id",
            [
                order.into(),
                text(&checked.text),
                photos.into(),
                text(&principal.subject),
                text(&principal.role),
                now.naive_utc().into(),
            ],
        )
        .await?
        .collect()
        .await?;
    let id: i64 = made
        .first()
        .map(|row| required(row, "work_order_supplement_id"))
        .transpose()?
        .ok_or_else(|| ApiError::Internal("no supplement made".into()))?;
    let event = Event::new("supplemented", Some(checked.text.clone()));
    order_store::outbox::record_event(db, order, &event, &principal.subject, now).await?;
    let supplement = Supplement {
        id,
        text: checked.text.clone(),
        photo_urls: checked.photo_urls.clone(),
        by: principal.role.clone(),
        at: now,
    };
    serde_json::to_string(&supplement).map_err(|e| ApiError::Internal(e.to_string()))
}
