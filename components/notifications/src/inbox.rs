//! A person's own notifications: `GET /api/v1/notifications`, `POST .../{id}/read`.

use crate::error::ApiError;
use api_plumbing::{Principal, Reply, connect, query_param, reply_with};
use mobile_api::{MarkAllRead, MarkedRead, Notification, NotificationPage};
use order_store::db::Row;
use order_store::inbox::COLUMNS;
use order_store::{required, text, utc};
use spin_sdk::http::StatusCode;

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

fn notification(row: &Row) -> Result<Notification, ApiError> {
    Ok(Notification {
        id: required(row, "notification_id")?,
        kind: required(row, "kind")?,
        title: required(row, "title")?,
        body: required(row, "body")?,
        work_order_id: row.get("work_order_id"),
        tracking_number: row.get("tracking_number"),
        special_report_id: row.get("special_report_id"),
        early_warning_id: row.get("early_warning_id"),
        circular_id: row.get("circular_id"),
        created_at: utc(row, "created_at")
            .ok_or_else(|| ApiError::Internal("a notification without created_at".into()))?,
        read_at: utc(row, "read_at"),
    })
}

/// `GET /api/v1/notifications?cursor=&limit=&unread=true`: newest first.
pub async fn list(principal: &Principal, query: &str) -> Result<Reply, ApiError> {
    let api_plumbing::PageQuery {
        limit,
        after: cursor,
    } = api_plumbing::page_query(query, DEFAULT_PAGE, MAX_PAGE)?;
    let unread_only = match query_param(query, "unread") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::Validation(vec![api_plumbing::field_error(
                "unread",
                "invalid_type",
                "unread 应为 true 或 false (unread must be true or false)",
            )]));
        }
    };
    let db = connect().await?;
    let (at, id) = cursor.unzip();
    let rows = db
        .query(
            order_store::inbox::page(unread_only),
            [
                text(&principal.subject),
                at.into(),
                id.into(),
                (i64::from(limit) + 1).into(),
            ],
        )
        .await?
        .collect()
        .await?;
    let mut items = rows
        .iter()
        .map(notification)
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = api_plumbing::next_page(&mut items, limit, |last| {
        api_plumbing::cursor(last.created_at, last.id)
    });
    let unread = db
        .query(order_store::inbox::UNREAD, [text(&principal.subject)])
        .await?
        .collect()
        .await?;
    let unread = unread
        .first()
        .and_then(|row| row.get::<i64>("unread"))
        .unwrap_or(0);
    Ok(reply_with(
        StatusCode::OK,
        &NotificationPage {
            items,
            next_cursor,
            unread,
        },
    ))
}

/// `POST /api/v1/notifications/{id}/read`: marks one of the caller's notifications read (again
/// is fine); someone else's is a 404.
pub async fn read(principal: &Principal, id: &str) -> Result<Reply, ApiError> {
    let id = uuid::Uuid::parse_str(id).map_err(|_| ApiError::NotFound)?;
    let db = connect().await?;
    let rows = db
        .query(
            format!(
                "with marked as ( \
                     update notifications set read_at = coalesce(read_at, now()) \
                     where notification_id = $1 and recipient = $2 returning *) \
                 select {COLUMNS} from marked n left join work_orders o on o.work_order_id = n.work_order_id"
            ),
            [id.into(), text(&principal.subject)],
        )
        .await?
        .collect()
        .await?;
    let row = rows.first().ok_or(ApiError::NotFound)?;
    Ok(reply_with(StatusCode::OK, &notification(row)?))
}

/// `POST /api/v1/notifications/read`: marks the caller's unread notifications read, all of them
/// or up to `through` (which must be one of theirs: else a 404, and nothing is marked).
pub async fn read_all(principal: &Principal, body: &[u8]) -> Result<Reply, ApiError> {
    let asked: MarkAllRead = api_plumbing::parse_json(body)?;
    let db = connect().await?;
    if let Some(through) = asked.through {
        let theirs = db
            .query(
                "select 1 from notifications where notification_id = $1 and recipient = $2",
                [through.into(), text(&principal.subject)],
            )
            .await?
            .collect()
            .await?;
        if theirs.is_empty() {
            return Err(ApiError::NotFound);
        }
    }
    let rows = db
        .query(
            order_store::inbox::READ_ALL,
            [text(&principal.subject), asked.through.into()],
        )
        .await?
        .collect()
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| ApiError::Internal("marking read answered nothing".into()))?;
    Ok(reply_with(
        StatusCode::OK,
        &MarkedRead {
            marked: required(row, "marked")?,
            unread: required(row, "unread")?,
        },
    ))
}
