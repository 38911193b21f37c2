//! The phones that receive a person's pushes: `GET/POST /api/v1/devices`, `DELETE .../{id}`.
//!
//! A push token belongs to one person: when another person signs in on the same phone and
//! registers it, the token moves to them, and what was still on its way to the previous person
//! is dropped rather than shown to the new one.

use crate::error::ApiError;
use api_plumbing::{Principal, Reply, connect, field_error, parse_json, reply_with};
use mobile_api::{Device, DeviceList, NewDevice};
use order_store::db::Row;
use order_store::{required, text, utc};
use spin_sdk::http::StatusCode;

/// The platforms a device can register with.
pub const PLATFORMS: &[&str] = &["fcm", "apns", "hms"];
/// A person's devices beyond this many push out the one seen longest ago.
pub const MAX_DEVICES: i64 = 10;

fn device(row: &Row) -> Result<Device, ApiError> {
    let token: String = required(row, "token")?;
    let suffix: String = {
        let chars: Vec<char> = token.chars().collect();
        chars[chars.len().saturating_sub(6)..].iter().collect()
    };
    Ok(Device {
        id: required(row, "device_id")?,
        platform: required(row, "platform")?,
        token_suffix: suffix,
        app_version: row.get("app_version"),
        created_at: utc(row, "created_at")
            .ok_or_else(|| ApiError::Internal("a device without created_at".into()))?,
        last_seen_at: utc(row, "last_seen_at")
            .ok_or_else(|| ApiError::Internal("a device without last_seen_at".into()))?,
    })
}

const COLUMNS: &str = "device_id, platform, token, app_version, created_at, last_seen_at";

pub async fn list(principal: &Principal) -> Result<Reply, ApiError> {
    let db = connect().await?;
    let rows = db
        .query(
            format!("select {COLUMNS} from devices where subject = $1 order by last_seen_at desc"),
            [text(&principal.subject)],
        )
        .await?
        .collect()
        .await?;
    let items = rows.iter().map(device).collect::<Result<Vec<_>, _>>()?;
    Ok(reply_with(StatusCode::OK, &DeviceList { items }))
}

fn check(new: &NewDevice) -> Vec<mobile_api::FieldError> {
    let mut problems = Vec::new();
    if !PLATFORMS.contains(&new.platform.as_str()) {
        problems.push(field_error(
            "platform",
            "invalid_value",
            format!(
                "platform 应为 {} 之一 (platform must be one of {})",
                PLATFORMS.join(", "),
                PLATFORMS.join(", ")
            ),
        ));
    }
    let length = new.token.chars().count();
    if !(8..=4096).contains(&length)
        || new
            .token
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        problems.push(field_error(
            "token",
            "invalid_value",
            "token 应为 8 到 4096 个不含空白的字符 (token must be 8–4096 characters without spaces)",
        ));
    }
    if new.platform == "apns" && !new.token.bytes().all(|b| b.is_ascii_hexdigit()) {
        problems.push(field_error(
            "token",
            "invalid_value",
            "APNs 的 token 应为十六进制字符 (an APNs device token is hexadecimal)",
        ));
    }
    if new
        .app_version
        .as_ref()
        .is_some_and(|v| v.chars().count() > 40)
    {
        problems.push(field_error(
            "app_version",
            "too_long",
            "app_version 最多 40 个字符 (app_version is at most 40 characters)",
        ));
    }
    problems
}

/// `POST /api/v1/devices`: 201 for a new token, 200 when it was known (and is now the caller's).
pub async fn register(principal: &Principal, body: &[u8]) -> Result<Reply, ApiError> {
    let new: NewDevice = parse_json(body)?;
    let problems = check(&new);
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let db = connect().await?;
    let (registered, created) = db.transaction(async {
        // What was on its way to someone else through this token stays with them: dropped here.
        db.execute(
            "update notification_deliveries d set status = 'dropped', claimed_until = null, \
                    last_error = 'the device was registered by another person' \
             from devices v, notifications n \
             where v.platform = $1 and v.token = $2 and v.subject <> $3 \
               and d.device_id = v.device_id and d.status = 'pending' and n.notification_id = d.notification_id",
            [text(&new.platform), text(&new.token), text(&principal.subject)],
        )
        .await?;
        let rows = db
            .query(
                format!(
                    "insert into devices (subject, platform, token, app_version) values ($1, $2, $3, $4) \
                     on conflict (platform, token) do update \
                     set subject = excluded.subject, app_version = excluded.app_version, last_seen_at = now() \
                     returning {COLUMNS}, (xmax = 0) as created"
                ),
                [
                    text(&principal.subject),
                    text(&new.platform),
                    text(&new.token),
                    new.app_version.clone().into(),
                ],
            )
            .await?
            .collect()
            .await?;
        let row = rows
            .first()
            .ok_or_else(|| ApiError::Internal("no device returned".into()))?;
        let registered = device(row)?;
        let created: bool = required(row, "created")?;
        // Beyond the limit, the device seen longest ago goes (and what waits for it).
        let surplus = db
            .query(
                "select device_id from devices where subject = $1 \
                 order by last_seen_at desc, created_at desc offset $2",
                [text(&principal.subject), MAX_DEVICES.into()],
            )
            .await?
            .collect()
            .await?;
        for row in &surplus {
            let id: uuid::Uuid = required(row, "device_id")?;
            forget(&db, id, "the device was replaced by a newer one").await?;
        }
        Ok::<_, ApiError>((registered, created))
    })
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(reply_with(status, &registered))
}

/// Removes a device and drops what was still on its way to it.
pub async fn forget(
    db: &order_store::db::Connection,
    device: uuid::Uuid,
    why: &str,
) -> Result<(), ApiError> {
    db.execute(
        "update notification_deliveries set status = 'dropped', claimed_until = null, last_error = $2 \
         where device_id = $1 and status = 'pending'",
        [device.into(), text(why)],
    )
    .await?;
    db.execute("delete from devices where device_id = $1", [device.into()])
        .await?;
    Ok(())
}

/// `DELETE /api/v1/devices/{id}` (signing out on that phone); someone else's is a 404.
pub async fn remove(principal: &Principal, id: &str) -> Result<Reply, ApiError> {
    let id = uuid::Uuid::parse_str(id).map_err(|_| ApiError::NotFound)?;
    let db = connect().await?;
    db.transaction(async {
        let owned = db
            .query(
                "select device_id from devices where device_id = $1 and subject = $2 for update",
                [id.into(), text(&principal.subject)],
            )
            .await?
            .collect()
            .await?;
        if owned.is_empty() {
            return Err(ApiError::NotFound);
        }
        forget(&db, id, "the device was signed out").await?;
        Ok::<_, ApiError>(())
    })
    .await?;
    let mut reply = Reply::new(String::new());
    *reply.status_mut() = StatusCode::NO_CONTENT;
    Ok(reply)
}
