//! Uploaded photos named in the `photo_urls` of a filing, supplement, visit or reply: marked attached
//! in the transaction that names them, so that the hourly removal of unattached ones (intake's
//! `POST /internal/photos`) never takes one an order shows, and recorded as the order's
//! (`photo_uses`), so that those the order is shown to may read them (intake's `photos::read`).

use crate::StoreError;
use crate::db::Connection;
use mobile_api::FieldError;
use workorder::photo;

/// Marks the platform's own photos among `links` attached, and shown by `order`, in the caller's
/// transaction (the order's row may come after, in the same transaction). Each must be one
/// `subject` uploaded: `Ok(Some(problem))` names the field when one is not (someone else's, or
/// none), and nothing is marked that the caller's rollback would not undo.
pub async fn attach(
    db: &Connection,
    subject: &str,
    order: uuid::Uuid,
    links: &[String],
) -> Result<Option<FieldError>, StoreError> {
    let ids = photo::own_photos(links);
    if ids.is_empty() {
        return Ok(None);
    }
    let wanted = ids.len() as u64;
    let ids: Vec<Option<String>> = ids.into_iter().map(Some).collect();
    let rows = db
        .query(
            "with marked as ( \
                 update photos set attached_at = coalesce(attached_at, now()) \
                 where uploader = $1 and photo_id = any($2::uuid[]) returning photo_id), \
               used as ( \
                 insert into photo_uses (photo_id, work_order_id) \
                 select photo_id, $3 from marked \
                 on conflict do nothing) \
             select count(*) as marked from marked",
            [crate::text(subject), ids.into(), order.into()],
        )
        .await?
        .collect()
        .await?;
    let marked = rows
        .first()
        .map(|row| crate::required::<i64>(row, "marked"))
        .transpose()?
        .unwrap_or(0) as u64;
    Ok((marked != wanted).then(|| FieldError {
        field: "photo_urls".to_owned(),
        code: "unknown_photo".to_owned(),
        message: "照片链接须为您自己上传的照片 (a photo link names no photo you uploaded)"
            .to_owned(),
    }))
}
