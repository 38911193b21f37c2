//! Photos: uploaded on their own (`POST /api/v1/photos`), as a picture or in the form the
//! mini-program sends, named by their link in a filing, a supplement or a visit, read back by
//! its uploader and those shown an order that names it, and removed when nobody named them
//! within a day.

use mobile_api::{MAX_PHOTO_BYTES, MAX_PHOTOS_PER_DAY, OrderAction};
use std::time::Duration;
use tests::{Client, ClientError, Options, Pace, Platform, valid_request};

/// What [`jpeg`] adds to its `fill`: the start, a JFIF header, the scan's header and the end.
const JPEG_FRAME: usize = 32;

/// A JPEG as the platform reads one (its segments, then coded data, then its end), with `fill`
/// bytes of coded data that hold no 0xFF.
fn jpeg(fill: usize, seed: u8) -> Vec<u8> {
    jpeg_with(&[], fill, seed)
}

/// [`jpeg`] with `segments` (each its marker, length and body) after the JFIF header.
fn jpeg_with(segments: &[u8], fill: usize, seed: u8) -> Vec<u8> {
    let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16];
    bytes.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    bytes.extend_from_slice(segments);
    bytes.extend_from_slice(&[0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0]);
    bytes.extend((0..fill).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed).min(0xfe)));
    bytes.extend([0xff, 0xd9]);
    bytes
}

/// A PNG as the platform reads one: its header chunk and its end (checksums not checked).
fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend([
        0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde,
    ]);
    bytes.extend(b"\0\0\0\0IEND\xaeB`\x82");
    bytes
}

/// A WebP in the extended format as the platform reads one: its header, flagging an Exif when
/// `exif` is given, the picture's chunk, then that Exif.
fn webp(exif: Option<&[u8]>) -> Vec<u8> {
    let flags = if exif.is_some() { 0x08 } else { 0 };
    let mut body = b"WEBPVP8X\x0a\0\0\0".to_vec();
    body.extend([flags, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    body.extend(b"VP8 \x04\0\0\0\x30\x01\0\x9d");
    if let Some(exif) = exif {
        body.extend(b"EXIF");
        body.extend(u32::try_from(exif.len()).expect("short").to_le_bytes());
        body.extend(exif);
        if exif.len() % 2 == 1 {
            body.push(0);
        }
    }
    let size = u32::try_from(body.len()).expect("short").to_le_bytes();
    [&b"RIFF"[..], &size, &body].concat()
}

/// A `multipart/form-data` body as `wx.uploadFile` sends it: its `formData` fields, then the
/// picture in the part named `name`.
fn form(boundary: &str, name: &str, picture: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\ncitizen\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"tmp_1.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(picture);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

fn refused<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, String) {
    let error = result.expect_err("refused");
    (
        error.status().unwrap_or(0),
        error.code().unwrap_or("").to_owned(),
    )
}

/// The field problems a 422 names, as (field, code).
fn problems<T: std::fmt::Debug>(result: Result<T, ClientError>) -> Vec<(String, String)> {
    let error = result.expect_err("refused");
    assert_eq!(error.status(), Some(422), "{error}");
    error
        .fields()
        .iter()
        .map(|f| (f.field.clone(), f.code.clone()))
        .collect()
}

#[tokio::test]
async fn photos_are_uploaded_named_in_requests_and_read_by_those_shown_them() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    let stranger = platform.client("citizen-2", "citizen");

    // A picture as it is: kept, its type told by its bytes; the same bytes again are that photo.
    let picture = jpeg(4000, 1);
    let kept = citizen
        .upload_photo("image/jpeg", picture.clone())
        .await
        .expect("uploaded");
    assert_eq!(kept.content_type, "image/jpeg");
    assert_eq!(kept.size, picture.len() as i64);
    assert_eq!(kept.url, format!("/api/v1/photos/{}", kept.id));
    let again = citizen
        .upload_photo("image/jpeg", picture.clone())
        .await
        .expect("the same again");
    assert_eq!(again, kept);
    let response = reqwest::Client::new()
        .post(platform.url("/api/v1/photos"))
        .bearer_auth(platform.keys.token("citizen-1", "citizen"))
        .header("content-type", "image/jpeg")
        .body(picture.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200, "a photo made before");
    // The mini-program's form, with a field beside the picture, and a type the bytes overrule.
    let boundary = "----WxFormBoundaryQz7MA4YWxkTrZu0g";
    let from_form = citizen
        .upload_photo(
            &format!("multipart/form-data; boundary={boundary}"),
            form(boundary, "file", &png()),
        )
        .await
        .expect("uploaded in a form");
    assert_eq!(
        (from_form.content_type.as_str(), from_form.size),
        ("image/png", png().len() as i64)
    );
    let mislabelled = citizen
        .upload_photo("image/webp", jpeg(10, 2))
        .await
        .expect("uploaded");
    assert_eq!(mislabelled.content_type, "image/jpeg");
    // What the phone wrote about the picture (where it was taken, whose phone) is not kept.
    let mut exif =
        b"Exif\0\0II*\0\x08\0\0\0\x01\0\x25\x88\x04\0\x01\0\0\0\x1a\0\0\0\0\0\0\0".to_vec();
    exif.extend_from_slice(b"GPSLatitude 32.9802 GPSLongitude 114.0227 Owner Wang");
    let mut app1 = vec![0xff, 0xe1];
    app1.extend_from_slice(&u16::try_from(exif.len() + 2).expect("short").to_be_bytes());
    app1.extend_from_slice(&exif);
    let with_gps = citizen
        .upload_photo("image/jpeg", jpeg_with(&app1, 100, 4))
        .await
        .expect("uploaded");
    let (_, kept_bytes) = citizen.photo(&with_gps.url).await.expect("read");
    assert_eq!(kept_bytes, jpeg(100, 4), "the picture without its Exif");
    assert_eq!(with_gps.size, jpeg(100, 4).len() as i64);
    let webp_with_gps = citizen
        .upload_photo("image/webp", webp(Some(&exif[6..])))
        .await
        .expect("uploaded");
    assert_eq!(webp_with_gps.content_type, "image/webp");
    let (_, kept_bytes) = citizen.photo(&webp_with_gps.url).await.expect("read");
    assert_eq!(kept_bytes, webp(None), "the WebP without its Exif");
    sqlx::query("delete from photos where photo_id = any($1)")
        .bind(vec![with_gps.id, webp_with_gps.id])
        .execute(&platform.db)
        .await
        .expect("set aside");

    // Named in a filing beside a link elsewhere; the request shows both, and the photo is
    // attached.
    let mut request = valid_request();
    request.photo_urls = vec![
        kept.url.clone(),
        "https://img.example.cn/streetlight-1.jpg".into(),
    ];
    let filed = citizen
        .create_request(&request, None)
        .await
        .expect("filed with the photo");
    assert_eq!(filed.photo_urls, request.photo_urls);
    // A list row shows the first photo small: the platform's own by its thumbnail, a link
    // elsewhere as it is, none without photos.
    let mut elsewhere = valid_request();
    elsewhere.photo_urls = vec!["https://img.example.cn/streetlight-1.jpg".into()];
    let elsewhere = citizen
        .create_request(&elsewhere, None)
        .await
        .expect("filed");
    let mut without = valid_request();
    without.photo_urls.clear();
    let without = citizen.create_request(&without, None).await.expect("filed");
    let small = Some(format!("{}?size=thumbnail", kept.url));
    let expected = [
        (filed.id, small.clone()),
        (
            elsewhere.id,
            Some("https://img.example.cn/streetlight-1.jpg".into()),
        ),
        (without.id, None),
    ];
    let mine = citizen.list_requests(None, None).await.expect("listed");
    let operator = platform.client("operator-1", "operator");
    let queue = operator.queue().await.expect("the queue");
    for (id, thumbnail) in &expected {
        let row = mine.items.iter().find(|row| row.id == *id).expect("listed");
        assert_eq!(&row.thumbnail_url, thumbnail);
        let row = queue
            .items
            .iter()
            .find(|row| row.id == *id)
            .expect("queued");
        assert_eq!(&row.thumbnail_url, thumbnail);
    }

    // Read back by its uploader and by the centre, which sees every request; the answer is the
    // bytes, with the type they have.
    let read_back = async |reader: &Client| {
        let (content_type, bytes) = reader.photo(&kept.url).await.expect("read");
        assert_eq!(
            (content_type.as_str(), bytes.len()),
            ("image/jpeg", picture.len())
        );
        assert_eq!(bytes, picture);
    };
    read_back(&citizen).await;
    read_back(&operator).await;
    // Anyone else signed in with the link is answered as if there were no photo: another
    // citizen, a city leader, an agency the request has not gone to; its thumbnail too.
    let urban = platform.agency_client("urban-staff-1", "city-urban-management");
    for reader in [&stranger, &platform.client("leader-1", "leader"), &urban] {
        for link in [&kept.url, &kept.thumbnail_url] {
            assert_eq!(refused(reader.photo(link).await), (404, "not_found".into()));
        }
    }
    // Dispatched to the agency, its staff read it, as they read the request; an agency asked to
    // help with it (协办) reads it too.
    operator
        .act(
            &filed.tracking_number,
            "dispatch",
            &OrderAction {
                agency: Some("city-urban-management".into()),
                ..OrderAction::default()
            },
        )
        .await
        .expect("dispatched");
    read_back(&urban).await;
    let water = platform.agency_client("water-staff-1", "utility-water");
    assert_eq!(
        refused(water.photo(&kept.url).await),
        (404, "not_found".into())
    );
    for step in ["sign", "contact"] {
        urban
            .act(&filed.tracking_number, step, &OrderAction::default())
            .await
            .expect(step);
    }
    operator
        .act(
            &filed.tracking_number,
            "ask_co_handling",
            &OrderAction {
                agency: Some("utility-water".into()),
                note: Some("路灯线路疑似被供水施工挖断，请协助核查".into()),
                ..OrderAction::default()
            },
        )
        .await
        .expect("asked");
    read_back(&water).await;
    let (content_type, bytes) = citizen.photo(&from_form.url).await.expect("read");
    assert_eq!((content_type.as_str(), bytes), ("image/png", png()));
    assert_eq!(
        refused(platform.anonymous().photo(&kept.url).await),
        (401, "unauthenticated".into())
    );
    for unknown in [
        "/api/v1/photos/00000000-0000-4000-8000-000000000000",
        "/api/v1/photos/not-a-photo",
    ] {
        assert_eq!(
            refused(citizen.photo(unknown).await),
            (404, "not_found".into())
        );
    }

    // A photo never changes: a device may keep it a week, and asks again with its tag for a
    // 304 without the picture. Every other answer is kept nowhere.
    let read = citizen
        .photo_unless(&kept.url, None)
        .await
        .expect("read")
        .expect("the picture");
    let etag = format!("\"{}\"", kept.id);
    assert_eq!(read.etag.as_deref(), Some(etag.as_str()));
    assert_eq!(
        read.cache_control.as_deref(),
        Some("private, max-age=604800, immutable")
    );
    assert_eq!(read.bytes, picture);
    for unchanged in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"x\", {etag}"),
        "*".into(),
    ] {
        assert_eq!(
            urban
                .photo_unless(&kept.url, Some(&unchanged))
                .await
                .expect("asked"),
            None,
            "{unchanged}"
        );
    }
    // Not even that to those it is not shown to.
    assert_eq!(
        refused(stranger.photo_unless(&kept.url, Some(&etag)).await),
        (404, "not_found".into())
    );
    let other = citizen
        .photo_unless(&kept.url, Some(&format!("\"{}\"", from_form.id)))
        .await
        .expect("read")
        .expect("another photo's tag: the picture");
    assert_eq!(other.bytes, picture);
    assert_eq!(
        refused(
            citizen
                .photo_unless(
                    "/api/v1/photos/00000000-0000-4000-8000-000000000000",
                    Some("*")
                )
                .await
        ),
        (404, "not_found".into())
    );
    assert_eq!(
        refused(
            platform
                .anonymous()
                .photo_unless(&kept.url, Some(&etag))
                .await
        ),
        (401, "unauthenticated".into())
    );
    let nothing_kept = reqwest::Client::new()
        .get(platform.url(&format!("/api/v1/requests/{}", filed.id)))
        .bearer_auth(platform.keys.token("citizen-1", "citizen"))
        .send()
        .await
        .expect("sent");
    assert_eq!(nothing_kept.status(), 200);
    assert_eq!(nothing_kept.headers()["cache-control"], "no-store");
    assert!(!nothing_kept.headers().contains_key("etag"));

    // Someone else's photo, or one that does not exist, cannot be named: refused whole, and
    // nothing is written.
    let orders_before: i64 = sqlx::query_scalar("select count(*) from work_orders")
        .fetch_one(&platform.db)
        .await
        .expect("count");
    let mut theirs = valid_request();
    theirs.photo_urls = vec![from_form.url.clone()];
    assert_eq!(
        problems(stranger.create_request(&theirs, None).await),
        [("photo_urls".to_owned(), "unknown_photo".to_owned())]
    );
    theirs.photo_urls = vec!["/api/v1/photos/00000000-0000-4000-8000-000000000000".into()];
    assert_eq!(
        problems(citizen.create_request(&theirs, None).await),
        [("photo_urls".to_owned(), "unknown_photo".to_owned())]
    );
    theirs.photo_urls = vec!["/api/v1/photos/../../requests".into()];
    assert_eq!(
        problems(citizen.create_request(&theirs, None).await),
        [("photo_urls".to_owned(), "invalid_url".to_owned())]
    );
    let orders_after: i64 = sqlx::query_scalar("select count(*) from work_orders")
        .fetch_one(&platform.db)
        .await
        .expect("count");
    assert_eq!(orders_after, orders_before);
    let attached: Vec<(uuid::Uuid, bool)> = sqlx::query_as(
        "select photo_id, attached_at is not null from photos order by attached_at is null, size desc",
    )
    .fetch_all(&platform.db)
    .await
    .expect("photos");
    assert_eq!(
        attached,
        [
            (kept.id, true),
            (from_form.id, false),
            (mislabelled.id, false)
        ]
    );

    // A supplement names the photo from the form.
    let supplement = citizen
        .supplement(
            &filed.tracking_number,
            &mobile_api::NewSupplement {
                text: "补拍了一张夜间的照片".into(),
                photo_urls: vec![from_form.url.clone()],
            },
            None,
        )
        .await
        .expect("supplemented");
    assert_eq!(supplement.photo_urls, std::slice::from_ref(&from_form.url));

    // Agency staff name on a visit the photo they took on site, and only their own.
    let mut urgent = valid_request();
    urgent.urgent = true;
    urgent.photo_urls = Vec::new();
    let urgent = citizen.create_request(&urgent, None).await.expect("filed");
    let staff = platform.agency_client("yicheng-staff-1", "gov-yicheng");
    staff
        .act(&urgent.tracking_number, "sign", &OrderAction::default())
        .await
        .expect("signed");
    let on_site = staff
        .upload_photo("image/jpeg", jpeg(2000, 3))
        .await
        .expect("uploaded on site");
    let visit = |photo: &str| OrderAction {
        note: Some("现场查看，灯杆线路老化".into()),
        photo_urls: Some(vec![photo.to_owned()]),
        ..OrderAction::default()
    };
    assert_eq!(
        problems(
            staff
                .act(&urgent.tracking_number, "visit", &visit(&mislabelled.url))
                .await
        ),
        [("photo_urls".to_owned(), "unknown_photo".to_owned())]
    );
    let visited = staff
        .act(&urgent.tracking_number, "visit", &visit(&on_site.url))
        .await
        .expect("visited");
    assert_eq!(visited.visits.len(), 1, "the refused visit wrote nothing");
    assert_eq!(
        visited.visits[0].photo_urls,
        std::slice::from_ref(&on_site.url)
    );

    // Those nobody named within a day are removed by the hourly schedule; the named stay.
    sqlx::query("update photos set created_at = created_at - interval '2 days'")
        .execute(&platform.db)
        .await
        .expect("aged");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let left: Vec<uuid::Uuid> =
            sqlx::query_scalar("select photo_id from photos order by size desc")
                .fetch_all(&platform.db)
                .await
                .expect("photos");
        if left == [kept.id, on_site.id, from_form.id] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the unattached photo was not removed: {left:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        refused(citizen.photo(&mislabelled.url).await),
        (404, "not_found".into())
    );
}

#[tokio::test]
async fn what_is_no_photo_or_too_much_is_refused_with_its_code() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");

    // Not a picture the platform keeps, by its bytes or by what it was sent as.
    for (content_type, bytes) in [
        ("image/gif", b"GIF89a\x01\0\x01\0".to_vec()),
        (
            "image/svg+xml",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
        ),
        ("image/jpeg", b"not a picture at all".to_vec()),
    ] {
        assert_eq!(
            refused(citizen.upload_photo(content_type, bytes).await),
            (415, "unsupported_media_type".into()),
            "{content_type}"
        );
    }
    // A picture cut off on its way.
    let whole = jpeg(100, 1);
    assert_eq!(
        refused(
            citizen
                .upload_photo("image/jpeg", whole[..20].to_vec())
                .await
        ),
        (422, "damaged_photo".into())
    );
    for content_type in ["application/json", "text/plain", "application/octet-stream"] {
        assert_eq!(
            refused(citizen.upload_photo(content_type, jpeg(10, 1)).await),
            (415, "unsupported_media_type".into()),
            "{content_type}"
        );
    }
    // Forms: one with no `file` part, one cut off, one without its boundary.
    let boundary = "b0undary";
    let multipart = format!("multipart/form-data; boundary={boundary}");
    assert_eq!(
        problems(
            citizen
                .upload_photo(&multipart, form(boundary, "picture", &png()))
                .await
        ),
        [("file".to_owned(), "required".to_owned())]
    );
    let whole = form(boundary, "file", &png());
    assert_eq!(
        refused(
            citizen
                .upload_photo(&multipart, whole[..whole.len() - 16].to_vec())
                .await
        ),
        (400, "malformed_form".into())
    );
    assert_eq!(
        refused(citizen.upload_photo("multipart/form-data", whole).await),
        (400, "malformed_form".into())
    );

    // Too large: a picture over the limit, and a body over what the front door takes.
    assert_eq!(
        refused(
            citizen
                .upload_photo("image/jpeg", jpeg(MAX_PHOTO_BYTES, 1))
                .await
        ),
        (413, "payload_too_large".into())
    );
    assert_eq!(
        refused(
            citizen
                .upload_photo("image/jpeg", jpeg(MAX_PHOTO_BYTES + 64 * 1024, 1))
                .await
        ),
        (413, "payload_too_large".into())
    );
    // The largest one kept.
    let largest = citizen
        .upload_photo("image/jpeg", jpeg(MAX_PHOTO_BYTES - JPEG_FRAME, 5))
        .await
        .expect("at the limit");
    assert_eq!(largest.size, MAX_PHOTO_BYTES as i64);
    // Every other route's body stays JSON of at most 64 KiB.
    let response = reqwest::Client::new()
        .post(platform.url("/api/v1/requests"))
        .bearer_auth(platform.keys.token("citizen-1", "citizen"))
        .header("content-type", "image/jpeg")
        .body(jpeg(10, 1))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 415);

    // A day's uploads are limited; the same bytes again still give the photo.
    sqlx::query(
        "insert into photos (photo_id, uploader, content_type, sha256, size, bytes, created_at) \
         select gen_random_uuid(), 'citizen-1', 'image/jpeg', sha256(b), octet_length(b), b, now() \
         from (select ('\\xffd8ff'::bytea || int4send(g)) as b from generate_series(1, $1) g) s",
    )
    .bind(MAX_PHOTOS_PER_DAY as i32 - 1)
    .execute(&platform.db)
    .await
    .expect("a day's uploads");
    assert_eq!(
        refused(citizen.upload_photo("image/jpeg", jpeg(10, 9)).await),
        (429, "photo_quota_exceeded".into())
    );
    let again = citizen
        .upload_photo("image/jpeg", jpeg(MAX_PHOTO_BYTES - JPEG_FRAME, 5))
        .await
        .expect("the same bytes again");
    assert_eq!(again.id, largest.id);
    // Someone else uploads as before.
    platform
        .client("citizen-2", "citizen")
        .upload_photo("image/jpeg", jpeg(10, 9))
        .await
        .expect("another's quota");
    let count: i64 = sqlx::query_scalar("select count(*) from photos where uploader = 'citizen-1'")
        .fetch_one(&platform.db)
        .await
        .expect("count");
    assert_eq!(count, MAX_PHOTOS_PER_DAY);
}

#[tokio::test]
async fn a_cancelled_account_leaves_the_photos_its_requests_show_and_no_others() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-7", "citizen");
    let named = citizen
        .upload_photo("image/jpeg", jpeg(300, 1))
        .await
        .expect("uploaded");
    let unnamed = citizen
        .upload_photo("image/jpeg", jpeg(200, 2))
        .await
        .expect("uploaded");
    let mut request = valid_request();
    request.photo_urls = vec![named.url.clone()];
    let filed = citizen.create_request(&request, None).await.expect("filed");
    citizen.cancel_account().await.expect("cancelled");

    // The request's photo stays, under the cancelled subject; the other is gone.
    let left: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("select photo_id, uploader from photos order by size desc")
            .fetch_all(&platform.db)
            .await
            .expect("photos");
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].0, named.id);
    assert!(left[0].1.starts_with("cancelled:"), "{left:?}");
    let staff = platform.client("operator-1", "operator");
    assert_eq!(
        staff
            .order(&filed.tracking_number)
            .await
            .expect("kept")
            .photo_urls,
        std::slice::from_ref(&named.url)
    );
    staff.photo(&named.url).await.expect("still read");
    assert_eq!(
        refused(staff.photo(&unnamed.url).await),
        (404, "not_found".into())
    );

    // Signing in again with the number is a new account, which names none of them, nor reads
    // the request's.
    let again = platform.client("citizen-7", "citizen");
    assert_eq!(
        refused(again.photo(&named.url).await),
        (404, "not_found".into())
    );
    assert_eq!(
        problems(again.create_request(&request, None).await),
        [("photo_urls".to_owned(), "unknown_photo".to_owned())]
    );
}

#[tokio::test]
async fn an_agencys_reply_carries_its_photos_to_the_audit_and_then_the_citizen() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    let supervisor = platform.client("supervisor-1", "supervisor");
    let urban = platform.agency_client("urban-staff-1", "city-urban-management");
    let id = citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed")
        .tracking_number;
    let action = |f: &dyn Fn(&mut OrderAction)| {
        let mut action = OrderAction::default();
        f(&mut action);
        action
    };
    platform
        .client("operator-1", "operator")
        .act(
            &id,
            "dispatch",
            &action(&|a| a.agency = Some("city-urban-management".into())),
        )
        .await
        .expect("dispatched");
    for step in ["sign", "contact"] {
        urban
            .act(&id, step, &OrderAction::default())
            .await
            .expect(step);
    }
    let history = urban.order(&id).await.expect("view").history.len();
    let before = urban
        .upload_photo("image/jpeg", jpeg(500, 1))
        .await
        .expect("uploaded");
    let after = urban
        .upload_photo("image/jpeg", jpeg(600, 2))
        .await
        .expect("uploaded");
    let reply = |result: &str, photos: Vec<String>| {
        let result = result.to_owned();
        action(&move |a| {
            a.result = Some(result.clone());
            a.photo_urls = Some(photos.clone());
        })
    };

    // A photo the staff did not upload, or too many, and the reply is refused whole.
    let citizens = citizen
        .upload_photo("image/jpeg", jpeg(700, 3))
        .await
        .expect("uploaded");
    assert_eq!(
        problems(
            urban
                .act(&id, "reply", &reply("已修复", vec![citizens.url.clone()]))
                .await
        ),
        [("photo_urls".to_owned(), "unknown_photo".to_owned())]
    );
    assert_eq!(
        problems(
            urban
                .act(&id, "reply", &reply("已修复", vec![before.url.clone(); 10]))
                .await
        ),
        [("photo_urls".to_owned(), "too_many".to_owned())]
    );
    assert_eq!(
        urban.order(&id).await.expect("view").history.len(),
        history,
        "nothing was recorded"
    );

    // A reply with photos: the audit sees them on the reply's entry.
    let replied = urban
        .act(
            &id,
            "reply",
            &reply(
                "已更换线路，路灯恢复照明",
                vec![before.url.clone(), after.url.clone()],
            ),
        )
        .await
        .expect("replied");
    let entry = replied
        .history
        .iter()
        .find(|h| h.event == "replied")
        .expect("the reply");
    assert_eq!(entry.photo_urls, [before.url.clone(), after.url.clone()]);
    assert!(
        replied
            .history
            .iter()
            .filter(|h| h.event != "replied")
            .all(|h| h.photo_urls.is_empty())
    );
    assert_eq!(citizen.get_request(&id).await.expect("view").answer, None);

    // Sent back; the second reply carries none, and that is the answer the citizen gets.
    supervisor
        .act(
            &id,
            "fail_audit",
            &action(&|a| a.reason = Some("请补充现场照片说明".into())),
        )
        .await
        .expect("sent back");
    let answer = answered(
        [&urban, &supervisor, &citizen],
        &id,
        &reply("已复查，线路正常", Vec::new()),
    )
    .await;
    assert_eq!(answer.text, "已复查，线路正常");
    assert!(answer.photo_urls.is_empty(), "{answer:?}");

    // Unsatisfied, done again: the redo's reply with a photo is the answer, with its photo,
    // which the citizen reads.
    citizen
        .rate(&id, "unsatisfied", "no", Some("灯还是不亮"))
        .await
        .expect("rated");
    platform
        .client("operator-1", "operator")
        .act(&id, "start_redo", &OrderAction::default())
        .await
        .expect("redo");
    let answer = answered(
        [&urban, &supervisor, &citizen],
        &id,
        &reply("已更换灯具", vec![after.url.clone()]),
    )
    .await;
    assert_eq!(
        (answer.text.as_str(), answer.photo_urls.as_slice()),
        ("已更换灯具", std::slice::from_ref(&after.url))
    );
    let (content_type, _) = citizen.photo(&after.url).await.expect("read");
    assert_eq!(content_type, "image/jpeg");
}

/// The agency replies with `reply`, the centre passes it, and the citizen reads the answer.
async fn answered(
    [agency, centre, citizen]: [&Client; 3],
    id: &str,
    reply: &OrderAction,
) -> mobile_api::OrderAnswer {
    agency.act(id, "reply", reply).await.expect("replied");
    centre
        .act(id, "pass_audit", &OrderAction::default())
        .await
        .expect("passed");
    citizen
        .get_request(id)
        .await
        .expect("view")
        .answer
        .expect("answered")
}

/// A real JPEG of `width` × `height` whose left half is red and right half blue, with `exif`.
fn real_jpeg(width: u16, height: u16, exif: Option<&[u8]>) -> Vec<u8> {
    let mut rgb = Vec::new();
    for _ in 0..height {
        for x in 0..width {
            rgb.extend(if x < width / 2 {
                [255, 0, 0]
            } else {
                [0, 0, 255]
            });
        }
    }
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
    if let Some(exif) = exif {
        encoder.add_app_segment(1, exif).expect("an Exif");
    }
    encoder
        .encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("encoded");
    out
}

#[tokio::test]
async fn a_photo_has_a_thumbnail_for_lists_and_timelines() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");

    // Taken with the phone turned (Exif orientation 6): the thumbnail stands upright, 400 pixels
    // on its long side, a JPEG without the Exif.
    let turned = b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
    let picture = real_jpeg(1200, 900, Some(turned));
    let photo = citizen
        .upload_photo("image/jpeg", picture.clone())
        .await
        .expect("uploaded");
    assert_eq!(
        photo.thumbnail_url,
        format!("/api/v1/photos/{}?size=thumbnail", photo.id)
    );
    let small = citizen
        .photo_unless(&photo.thumbnail_url, None)
        .await
        .expect("read")
        .expect("the thumbnail");
    assert_eq!(small.content_type, "image/jpeg");
    assert_eq!(
        small.etag.as_deref(),
        Some(format!("\"{}-thumbnail\"", photo.id).as_str())
    );
    assert!(
        small.bytes.len() * 4 < picture.len(),
        "{}",
        small.bytes.len()
    );
    let mut decoder = jpeg_decoder::Decoder::new(&small.bytes[..]);
    let pixels = decoder.decode().expect("a JPEG");
    let info = decoder.info().expect("its size");
    assert_eq!((info.width, info.height), (300, 400));
    assert!(decoder.exif_data().is_none());
    // Upright: the stored left half (red) is the top, the right (blue) the bottom.
    let at = |x: usize, y: usize| &pixels[(y * 300 + x) * 3..(y * 300 + x) * 3 + 3];
    assert!(
        at(150, 50)[0] > 200 && at(150, 50)[2] < 60,
        "{:?}",
        at(150, 50)
    );
    assert!(
        at(150, 350)[2] > 200 && at(150, 350)[0] < 60,
        "{:?}",
        at(150, 350)
    );
    // Asked again with its tag: 304; with the picture's tag, the thumbnail.
    assert_eq!(
        citizen
            .photo_unless(&photo.thumbnail_url, small.etag.as_deref())
            .await
            .expect("asked"),
        None
    );
    let picture_tag = format!("\"{}\"", photo.id);
    let again = citizen
        .photo_unless(&photo.thumbnail_url, Some(&picture_tag))
        .await
        .expect("read")
        .expect("another tag: the thumbnail");
    assert_eq!(again.bytes, small.bytes);
    // The picture itself, as kept, by its link or with size=original.
    for link in [photo.url.clone(), format!("{}?size=original", photo.url)] {
        let (content_type, bytes) = citizen.photo(&link).await.expect("read");
        assert_eq!(
            (content_type.as_str(), bytes.len()),
            ("image/jpeg", picture.len())
        );
    }

    // A phone's full-size photo (12 megapixels) is read at an eighth of its size, within the
    // component's memory.
    let full_size = real_jpeg(4000, 3000, None);
    let kept = citizen
        .upload_photo("image/jpeg", full_size)
        .await
        .expect("uploaded");
    let (_, bytes) = citizen.photo(&kept.thumbnail_url).await.expect("read");
    let mut decoder = jpeg_decoder::Decoder::new(&bytes[..]);
    decoder.read_info().expect("a JPEG");
    let info = decoder.info().expect("its size");
    assert_eq!((info.width, info.height), (400, 300));

    // A picture that does not decode has no thumbnail: its thumbnail link answers the picture.
    for (kind, undecodable) in [("image/jpeg", jpeg(300, 9)), ("image/png", png())] {
        let kept = citizen
            .upload_photo(kind, undecodable.clone())
            .await
            .expect("uploaded");
        let (content_type, bytes) = citizen.photo(&kept.thumbnail_url).await.expect("read");
        assert_eq!((content_type.as_str(), bytes), (kind, undecodable));
    }
    let with_thumbnails: Vec<bool> = sqlx::query_scalar(
        "select thumbnail is not null from photos where uploader = 'citizen-1' order by created_at",
    )
    .fetch_all(&platform.db)
    .await
    .expect("read");
    assert_eq!(with_thumbnails, [true, true, false, false]);

    // Another size is refused on `size`.
    assert_eq!(
        problems(citizen.photo(&format!("{}?size=huge", photo.url)).await),
        [("size".to_owned(), "invalid_value".to_owned())]
    );
}

#[tokio::test]
async fn photos_kept_before_thumbnails_were_made_get_theirs_from_the_schedule() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    let picture = real_jpeg(1200, 900, None);
    let old = citizen
        .upload_photo("image/jpeg", picture)
        .await
        .expect("uploaded");
    let undecodable = jpeg(300, 9);
    let old_undecodable = citizen
        .upload_photo("image/jpeg", undecodable.clone())
        .await
        .expect("uploaded");
    // As photos kept before migration 85 are: no thumbnail, and not tried.
    sqlx::query(
        "update photos set thumbnail = null, thumbnail_tried = false \
         where photo_id = any($1)",
    )
    .bind(vec![old.id, old_undecodable.id])
    .execute(&platform.db)
    .await
    .expect("made old");

    // The schedule (every second under test) makes the one's and tries the other once.
    let started = std::time::Instant::now();
    loop {
        let states: Vec<(bool, bool)> = sqlx::query_as(
            "select thumbnail is not null, thumbnail_tried from photos \
             where photo_id = any($1) order by photo_id = $2 desc",
        )
        .bind(vec![old.id, old_undecodable.id])
        .bind(old.id)
        .fetch_all(&platform.db)
        .await
        .expect("read");
        if states == [(true, true), (false, true)] {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{states:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Its thumbnail link answers the thumbnail now, by its own tag: a device holding the
    // picture under the picture's tag is given the thumbnail.
    let picture_tag = format!("\"{}\"", old.id);
    let small = citizen
        .photo_unless(&old.thumbnail_url, Some(&picture_tag))
        .await
        .expect("read")
        .expect("the thumbnail");
    assert_eq!(
        (small.content_type.as_str(), small.etag),
        ("image/jpeg", Some(format!("\"{}-thumbnail\"", old.id)))
    );
    let mut decoder = jpeg_decoder::Decoder::new(&small.bytes[..]);
    decoder.read_info().expect("a JPEG");
    let info = decoder.info().expect("its size");
    assert_eq!((info.width, info.height), (400, 300));

    // The one without answers the picture by the picture's tag, and 304 to it.
    let tag = format!("\"{}\"", old_undecodable.id);
    let same = citizen
        .photo_unless(&old_undecodable.thumbnail_url, None)
        .await
        .expect("read")
        .expect("the picture");
    assert_eq!((same.bytes, same.etag), (undecodable, Some(tag.clone())));
    assert_eq!(
        citizen
            .photo_unless(&old_undecodable.thumbnail_url, Some(&tag))
            .await
            .expect("asked"),
        None
    );
}

/// Photos sent at once are served in turn on each lane (`--large-per-lane`, one at a time by
/// default), each waiting with nothing but its body: all are kept, and no more instances are
/// started for them than the turns (served as they came, each held one of its own). The metrics
/// show those served and those waiting.
#[tokio::test]
async fn photos_sent_at_once_take_their_turns_and_are_all_kept() {
    let platform = Platform::start_with(Options {
        threads: Some(1),
        serve_args: vec!["--large-per-lane".into(), "1".into()],
        ..Options::default()
    })
    .await
    .expect("started");
    let citizen = platform.client("citizen-1", "citizen");
    let started = || async {
        platform.metrics().await["hotline_component_instances_started_total{component=\"gateway\"}"]
    };
    // The instances of the platform's start are gone once idle.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = started().await;

    let pictures: Vec<Vec<u8>> = (0..6).map(|seed| jpeg(200_000, seed)).collect();
    let sent: Vec<_> = pictures
        .iter()
        .map(|picture| {
            let (citizen, picture) = (citizen.clone(), picture.clone());
            tokio::spawn(async move { citizen.upload_photo("image/jpeg", picture).await })
        })
        .collect();
    // Meanwhile the metrics show one served at a time, and the others waiting their turn.
    let large = |metrics: &std::collections::BTreeMap<String, f64>, state: &str| {
        metrics[&format!("hotline_http_large_bodies{{state=\"{state}\"}}")]
    };
    let (mut most_served, mut most_waiting) = (0.0f64, 0.0f64);
    while !sent.iter().all(|sent| sent.is_finished()) {
        let metrics = platform.metrics().await;
        most_served = most_served.max(large(&metrics, "served"));
        most_waiting = most_waiting.max(large(&metrics, "waiting"));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(most_served, 1.0);
    assert!(most_waiting >= 1.0, "none seen waiting");
    let metrics = platform.metrics().await;
    assert_eq!(
        (large(&metrics, "served"), large(&metrics, "waiting")),
        (0.0, 0.0)
    );
    let mut ids = std::collections::BTreeSet::new();
    for (sent, picture) in sent.into_iter().zip(&pictures) {
        let photo = sent.await.expect("task").expect("kept");
        assert_eq!(photo.size, picture.len() as i64);
        ids.insert(photo.id);
    }
    assert_eq!(ids.len(), 6);
    // One turn: an instance at a time (a second where one still finishes what it answered).
    let more = started().await - before;
    assert!((1.0..=2.0).contains(&more), "{more} gateway instances");
}

/// The same picture sent many times at once (an app retrying over a weak signal) is one photo:
/// one upload keeps it (201), the others are answered with it (200), all served at once (some
/// then find it only after their own statement's snapshot, and look it up again).
#[tokio::test]
async fn the_same_photo_sent_at_once_is_kept_once() {
    let platform = Platform::start_with(Options {
        serve_args: vec!["--large-per-lane".into(), "32".into()],
        ..Options::default()
    })
    .await
    .expect("started");
    let token = platform.keys.token("citizen-1", "citizen");
    let picture = jpeg(200_000, 9);
    let sent: Vec<_> = (0..32)
        .map(|_| {
            let (http, base, token) =
                (reqwest::Client::new(), platform.base.clone(), token.clone());
            let picture = picture.clone();
            tokio::spawn(async move {
                let response = http
                    .post(format!("{base}/api/v1/photos"))
                    .bearer_auth(token)
                    .header("content-type", "image/jpeg")
                    .body(picture)
                    .send()
                    .await
                    .expect("sent");
                let status = response.status().as_u16();
                let photo: mobile_api::Photo = response.json().await.expect("a photo");
                (status, photo.id)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for sent in sent {
        answers.push(sent.await.expect("task"));
    }
    let kept = answers.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(kept, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(status, id)| [200, 201].contains(status) && *id == answers[0].1),
        "{answers:?}"
    );
    let rows: i64 = sqlx::query_scalar("select count(*) from photos where uploader = 'citizen-1'")
        .fetch_one(&platform.db)
        .await
        .expect("counted");
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn a_photo_from_a_phone_on_a_weak_signal_is_read_whole_before_the_time_limit_starts() {
    // A time limit of 1.5 s for each request, and 4 s for a photo's body to arrive.
    let platform = Platform::start_with(Options {
        request_timeout_ms: 1500,
        serve_args: vec!["--body-timeout-ms".into(), "4000".into()],
        ..Options::default()
    })
    .await
    .expect("started");
    let token = platform.keys.token("citizen-1", "citizen");
    let picture = jpeg(200_000, 5);

    // 200 KB over 2.4 s: longer than a request may take, and kept all the same.
    let weak_signal = Pace {
        pieces: 8,
        pause: Duration::from_millis(300),
        stop_after: None,
        chunked: false,
    };
    let (status, body) = platform
        .post_slowly(
            "/api/v1/photos",
            &token,
            "image/jpeg",
            &picture,
            weak_signal,
        )
        .await
        .expect("sent");
    assert_eq!(status, 201, "{body}");
    let kept: mobile_api::Photo = serde_json::from_str(&body).expect("a photo");
    assert_eq!(kept.size, picture.len() as i64);

    // The same, its length not declared (sent in chunks): read whole all the same.
    let picture = jpeg(200_000, 7);
    let chunked = Pace {
        chunked: true,
        ..weak_signal
    };
    let (status, body) = platform
        .post_slowly("/api/v1/photos", &token, "image/jpeg", &picture, chunked)
        .await
        .expect("sent");
    assert_eq!(status, 201, "{body}");
    let kept: mobile_api::Photo = serde_json::from_str(&body).expect("a photo");
    assert_eq!(kept.size, picture.len() as i64);

    // Half of it, then nothing: 408 once the body's time is up, and nothing kept.
    let half = Pace {
        pieces: 1,
        pause: Duration::from_millis(5000),
        stop_after: Some(100_000),
        chunked: false,
    };
    for pace in [
        half,
        Pace {
            chunked: true,
            ..half
        },
    ] {
        let (status, body) = platform
            .post_slowly(
                "/api/v1/photos",
                &token,
                "image/jpeg",
                &jpeg(200_000, 6),
                pace,
            )
            .await
            .expect("sent");
        assert_eq!(status, 408, "{pace:?}: {body}");
        assert!(body.contains("\"body_timeout\""), "{body}");
    }

    // A body of undeclared length that runs past what any request may carry is refused when it
    // does (413), not read on; the body stops there, its end never sent.
    let endless = vec![b'x'; (4 << 20) + 1];
    let (status, body) = platform
        .post_slowly(
            "/api/v1/photos",
            &token,
            "image/jpeg",
            &endless,
            Pace {
                pieces: 16,
                pause: Duration::ZERO,
                stop_after: Some(endless.len()),
                chunked: true,
            },
        )
        .await
        .expect("sent");
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("\"payload_too_large\""), "{body}");
    let photos: i64 = sqlx::query_scalar("select count(*) from photos")
        .fetch_one(&platform.db)
        .await
        .expect("count");
    assert_eq!(photos, 2);

    // A request whose component is slower than its limit is still cut off: the limit holds for
    // everything but the wait for the body.
    let slow_json = Pace {
        pieces: 4,
        pause: Duration::from_millis(600),
        stop_after: None,
        chunked: false,
    };
    let (status, _) = platform
        .post_slowly(
            "/api/v1/requests",
            &token,
            "application/json",
            &[b' '; 1000],
            slow_json,
        )
        .await
        .expect("sent");
    assert_eq!(status, 504);
}
