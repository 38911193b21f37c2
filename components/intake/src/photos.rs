//! Photos (`/api/v1/photos`): the picture of the broken streetlight a citizen files with, the one a
//! caller's supplement brings, the one agency staff take on site. The app or the mini-program
//! uploads each on its own, and names it in `photo_urls` by the link it gets back.
//!
//! Kept in PostgreSQL, the platform's one store (`photos`, migration 83), so that the backups and
//! the archive hold them with the orders that name them. What a photo is, is told by its bytes
//! (`workorder::photo::kind`): JPEG, PNG or WebP, at most 2 MiB. It is kept without what the
//! camera wrote about it (`workorder::photo::without_metadata`: GPS, the phone, the owner); the
//! same bytes sent again by the same person are the photo they already have. A link in
//! `photo_urls` to one of the platform's own photos must name one its sender uploaded; the
//! filing, supplement, visit or reply that names it marks it attached in its own transaction
//! (`order_store::photos::attach`), and the hourly schedule (`POST /internal/photos`) removes
//! those nobody attached within a day.
//!
//! Each photo that decodes gets a thumbnail at upload (`thumbnail::thumbnail`: a 400-pixel JPEG,
//! upright), kept beside it and read with `?size=thumbnail`; where there is none, that link
//! answers the picture. Photos kept before thumbnails were made get theirs from a schedule
//! (`POST /internal/thumbnails`), newest first.
//!
//! Who reads a photo: who uploaded it, and those shown an order that names it (`photo_uses`,
//! recorded when it is named): the centre (operators, supervisors, administrators), who see every
//! order; the agency holding the order, or asked to help with it (协办), as the order's own view
//! lets it read; and the citizen who filed it. Anyone else signed in with its link is answered
//! 404, as for no photo: a link passed on (a screenshot of a timeline, a forwarded message) does
//! not open a citizen's photo of their home to whoever holds it.

use crate::error::ApiError;
use api_plumbing::{BytesReply, Principal, Reply, json_reply, reply_with};
use mobile_api::{MAX_PHOTO_BYTES, MAX_PHOTOS_PER_DAY, Photo};
use order_store::{required, text};
use sha2::{Digest, Sha256};
use spin_sdk::http::{HeaderValue, Response, StatusCode};
use spin_sdk::pg::ParameterValue;
use std::sync::LazyLock;
use workorder::photo::{self, FormProblem};

/// A photo kept, or the one the same bytes made before, with the day's count beside it: in one
/// statement, so that two uploads of one picture at once make one row.
const KEEP: &str = "\
with day as ( \
    select count(*) as uploads from photos \
    where uploader = $1::text and created_at > $5::timestamptz - interval '1 day'), \
  before as ( \
    select photo_id, content_type, size, created_at from photos \
    where uploader = $1::text and sha256 = $8::bytea), \
  made as ( \
    insert into photos (photo_id, uploader, content_type, sha256, size, bytes, created_at, \
                        thumbnail) \
    select $2::uuid, $1::text, $4::text, $8::bytea, octet_length($3::bytea), $3::bytea, \
           $5::timestamptz, $7::bytea \
    where not exists (select 1 from before) and (select uploads from day) < $6::int8 \
    on conflict (uploader, sha256) do nothing \
    returning photo_id, content_type, size, created_at) \
select photo_id, content_type, size, created_at, true as made from made \
union all \
select photo_id, content_type, size, created_at, false from before \
union all \
select null, null, null, null, false from day \
where uploads >= $6::int8 and not exists (select 1 from before)";

/// The photo these bytes (`$2`, their SHA-256) made for uploader `$1`, as [`KEEP`] answers it.
const KEPT: &str = "\
select photo_id, content_type, size, created_at, false as made from photos \
where uploader = $1::text and sha256 = $2::bytea";

/// Before a picture is decoded for its thumbnail (some 100 ms of CPU for a phone's photo, which
/// someone over their day's limit, or sending the same bytes again, would spend for nothing):
/// the time, whether these bytes (`$2`, their SHA-256) are already the sender's photo, and how
/// many the sender uploaded in the day. [`KEEP`] decides again, for uploads at the same moment.
const BEFORE: &str = "\
select now() as now, \
       exists (select 1 from photos where uploader = $1::text and sha256 = $2::bytea) as kept, \
       (select count(*) from photos \
        where uploader = $1::text and created_at > now() - interval '1 day') as uploads";

/// `POST /api/v1/photos`: the picture in the body (its own media type), or in the part named
/// `file` of a form. 201 with the photo; 200 with the one the same bytes made before.
pub async fn upload(
    principal: &Principal,
    content_type: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let picture = if content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("multipart/form-data"))
    {
        photo::form_file(content_type, body).map_err(|problem| match problem {
            FormProblem::Malformed => ApiError::MalformedForm,
            FormProblem::NoFile => ApiError::Validation(vec![api_plumbing::field_error(
                "file",
                "required",
                "请在表单的 file 字段中上传照片 (the form's `file` part holds the photo)",
            )]),
        })?
    } else {
        body
    };
    if picture.len() > MAX_PHOTO_BYTES {
        return Err(ApiError::PhotoTooLarge);
    }
    let kind = photo::kind(picture).ok_or(ApiError::NotAPhoto)?;
    // What the camera wrote about it (where, whose phone) is not for those shown the photo.
    let picture = photo::without_metadata(kind, picture).map_err(|_| ApiError::DamagedPhoto)?;
    // Computed here once: the statements compare and keep it, and do not hash 2 MiB again.
    let sha256 = Sha256::digest(&picture).to_vec();
    let db = api_plumbing::connect().await?;
    let rows = db
        .query(
            BEFORE,
            [
                text(&principal.subject),
                ParameterValue::Binary(sha256.clone()),
            ],
        )
        .await?
        .collect()
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| ApiError::Internal("no answer to the photo's check".into()))?;
    let now = order_store::utc(row, "now")
        .ok_or_else(|| ApiError::Internal("the database has no clock".into()))?;
    let kept_before: bool = required(row, "kept")?;
    if !kept_before && required::<i64>(row, "uploads")? >= MAX_PHOTOS_PER_DAY {
        return Err(ApiError::PhotoQuotaExceeded);
    }
    // What lists and timelines show; the picture itself where it cannot be made. Not made for
    // bytes already kept (an app's retry), whose photo has its own.
    let small = if kept_before {
        None
    } else {
        thumbnail::thumbnail(kind, &picture)
    };
    let id = uuid::Uuid::new_v4();
    let subject = text(&principal.subject);
    let digest = ParameterValue::Binary(sha256);
    // The picture is moved into the statement, not copied: an instance holds it once more for
    // each copy, while PostgreSQL keeps it.
    let params = [
        subject.clone(),
        id.into(),
        ParameterValue::Binary(picture),
        text(kind),
        now.naive_utc().into(),
        MAX_PHOTOS_PER_DAY.into(),
        small.map_or(ParameterValue::DbNull, ParameterValue::Binary),
        digest.clone(),
    ];
    let mut rows = db.query(KEEP, params).await?.collect().await?;
    if rows.is_empty() {
        // The same bytes kept by an upload at the same moment, after this statement's snapshot:
        // looked up again, they are seen.
        rows = db.query(KEPT, [subject, digest]).await?.collect().await?;
    }
    let row = rows
        .first()
        .ok_or_else(|| ApiError::Internal("a photo neither kept nor found".into()))?;
    let Some(photo_id) = required::<Option<uuid::Uuid>>(row, "photo_id")? else {
        return Err(ApiError::PhotoQuotaExceeded);
    };
    let url = photo::link(&photo_id.to_string());
    let kept = Photo {
        id: photo_id,
        thumbnail_url: photo::thumbnail_link(&url),
        url,
        content_type: required(row, "content_type")?,
        size: required::<i32>(row, "size")?.into(),
        uploaded_at: required::<chrono::NaiveDateTime>(row, "created_at")?.and_utc(),
    };
    let status = if required(row, "made")? {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(reply_with(status, &kept))
}

/// How long a device may keep a photo it read without asking again: a photo never changes, and
/// when the time is up, asking costs a 304 without the picture. A week, not forever: a shared
/// office computer's browser should not hold the photos its users were shown for a year.
const CACHE_CONTROL: &str = "private, max-age=604800, immutable";

/// Which of a photo's forms a read asks for (`?size=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// The picture as kept (no `size`, or `size=original`).
    Original,
    /// Its thumbnail (`size=thumbnail`), or the picture where there is none.
    Thumbnail,
}

impl Size {
    /// The `size` a read's `query` asks for; 422 on `size` for another value.
    pub fn from_query(query: &str) -> Result<Size, ApiError> {
        match api_plumbing::query_param(query, "size") {
            None | Some("original") => Ok(Size::Original),
            Some("thumbnail") => Ok(Size::Thumbnail),
            Some(_) => Err(ApiError::Validation(vec![api_plumbing::field_error(
                "size",
                "invalid_value",
                "size 须为 thumbnail 或 original (size is thumbnail or original)",
            )])),
        }
    }
}

/// `GET /api/v1/photos/{id}`: the picture (or its thumbnail), as its bytes and media type, with
/// the entity tag of what is answered: the picture's is its id, its thumbnail's the id with
/// `-thumbnail`. A thumbnail link answers the picture, and its tag, until the photo has one (a
/// photo kept before thumbnails were made gets its own later). 304 without the bytes when
/// `if_none_match` names that tag.
pub async fn read(
    principal: &Principal,
    id: &str,
    size: Size,
    if_none_match: Option<&str>,
) -> Result<BytesReply, ApiError> {
    let id = uuid::Uuid::parse_str(id).map_err(|_| ApiError::PhotoNotFound)?;
    let picture_tag = format!("\"{}\"", id.hyphenated());
    let thumbnail_tag = format!("\"{}-thumbnail\"", id.hyphenated());
    let names = |etag: &str| if_none_match.is_some_and(|tags| names_tag(tags, etag));
    let db = api_plumbing::connect().await?;
    // Whether the thumbnail is there shows without reading it (its column is out of line), and
    // neither is read for someone the photo is not shown to.
    let rows = db
        .query(SHOWN.as_str(), {
            let agency = (principal.role == "agency_staff")
                .then(|| principal.agency.clone())
                .flatten();
            [
                id.into(),
                names(&picture_tag).into(),
                (size == Size::Thumbnail).into(),
                names(&thumbnail_tag).into(),
                text(&principal.subject),
                mobile_api::routes::CENTRE
                    .contains(&principal.role.as_str())
                    .into(),
                agency.into(),
                (principal.role == "citizen").into(),
            ]
        })
        .await?
        .collect()
        .await?;
    let row = rows
        .first()
        .filter(|row| row.get::<bool>("shown") == Some(true))
        .ok_or(ApiError::PhotoNotFound)?;
    let etag = if required(row, "small")? {
        thumbnail_tag
    } else {
        picture_tag
    };
    let unchanged = names(&etag);
    let content_type: String = required(row, "content_type")?;
    let mut response = if unchanged {
        let mut response = Response::new(Vec::new());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response = Response::new(required::<Vec<u8>>(row, "bytes")?);
        response.headers_mut().insert(
            "content-type",
            HeaderValue::from_str(&content_type)
                .map_err(|_| ApiError::Internal(format!("photo {id}: content type")))?,
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert("cache-control", HeaderValue::from_static(CACHE_CONTROL));
    headers.insert(
        "etag",
        HeaderValue::from_str(&etag)
            .map_err(|_| ApiError::Internal(format!("photo {id}: etag")))?,
    );
    Ok(response)
}

/// Photo `$1` as `read` answers it: `small` when its thumbnail is asked for (`$3`) and there is
/// one; its media type; its bytes or thumbnail, unless the tag the device holds is the one
/// answered (`$2` the picture's, `$4` the thumbnail's) or it is not `shown` to the reader: its
/// uploader (`$5`); and, once an order names it, the centre (`$6`), the agency `$7` that sees
/// that order (`order_store::search::agency_sees`: it holds it or helps with it), or the citizen
/// (`$8`, as `$5`) who filed it.
static SHOWN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "with asked as ( \
             select p.photo_id, $3 and p.thumbnail is not null as small, \
                    p.uploader = $5::text or exists ( \
                        select 1 from photo_uses u join work_orders o using (work_order_id) \
                        where u.photo_id = p.photo_id \
                          and ($6 or {agency_sees} \
                               or $8 and o.citizen_id = (select citizen_id from citizens \
                                                         where subject = $5::text))) as shown \
             from photos p where p.photo_id = $1) \
         select a.small, a.shown, \
                case when a.small then 'image/jpeg' else p.content_type end as content_type, \
                case when not a.shown or a.small and $4 or not a.small and $2 then null \
                     when a.small then p.thumbnail \
                     else p.bytes end as bytes \
         from asked a join photos p using (photo_id)",
        agency_sees = order_store::search::agency_sees("o", "$7::text"),
    )
});

/// Whether an `If-None-Match` list names `etag`: `*`, or the tag itself, weak (`W/`) or not
/// (RFC 9110 compares them weakly here).
fn names_tag(tags: &str, etag: &str) -> bool {
    tags.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// `POST /internal/photos` (the runtime's schedule, every hour): removes the photos nobody
/// attached to a filing, a supplement, a visit or a reply within a day of their upload.
pub async fn remove_unattached() -> Result<Reply, ApiError> {
    let db = api_plumbing::connect().await?;
    let removed = db
        .execute(
            "delete from photos where attached_at is null \
             and created_at < now() - interval '1 day'",
            [],
        )
        .await?;
    Ok(json_reply(
        StatusCode::OK,
        serde_json::json!({ "removed": removed }).to_string(),
    ))
}

/// How long one run of [`make_missing_thumbnails`] goes on making them: a fraction of the
/// minute between runs, so that serving keeps the cores.
const THUMBNAIL_RUN: std::time::Duration = std::time::Duration::from_secs(3);

/// `POST /internal/thumbnails` (the runtime's schedule, every minute): makes the thumbnails of
/// photos kept before thumbnails were made (migration 85), the newest first (what lists show), for
/// up to [`THUMBNAIL_RUN`]; one that cannot be made (the picture does not decode, or would take
/// too much memory to) is marked tried, and its thumbnail link goes on answering the picture.
/// Nothing to do is one query on an empty index. Two runtimes running it at once may each make
/// a photo's thumbnail; the same one is kept.
pub async fn make_missing_thumbnails() -> Result<Reply, ApiError> {
    let started = std::time::Instant::now();
    let db = api_plumbing::connect().await?;
    let (mut made, mut refused) = (0_u32, 0_u32);
    while started.elapsed() < THUMBNAIL_RUN {
        let rows = db
            .query(
                "select photo_id, content_type, bytes from photos \
                 where thumbnail is null and not thumbnail_tried \
                 order by created_at desc limit 1",
                [],
            )
            .await?
            .collect()
            .await?;
        let Some(row) = rows.first() else { break };
        let id: uuid::Uuid = required(row, "photo_id")?;
        let kind: String = required(row, "content_type")?;
        let small = thumbnail::thumbnail(&kind, &required::<Vec<u8>>(row, "bytes")?);
        if small.is_some() {
            made += 1;
        } else {
            refused += 1;
        }
        db.execute(
            "update photos set thumbnail = $2, thumbnail_tried = true \
             where photo_id = $1 and not thumbnail_tried",
            [
                id.into(),
                small.map_or(ParameterValue::DbNull, ParameterValue::Binary),
            ],
        )
        .await?;
    }
    Ok(json_reply(
        StatusCode::OK,
        serde_json::json!({ "made": made, "without": refused }).to_string(),
    ))
}
