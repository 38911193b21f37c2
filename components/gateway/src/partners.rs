//! Partner systems (对接系统): the city's other systems that file requests into the hotline and
//! follow them through Open311 (`open311.rs`), each with an API key an administrator issued here.
//!
//! Invariants:
//! - A key is 32 random bytes (base64url, prefixed `p311_` so that it is recognised when it
//!   leaks); it is shown once, when issued, and stored only as its SHA-256.
//! - A partner has one key at a time: a new one (a leak, a yearly change) replaces the old at
//!   once. A revoked partner's key opens nothing from the next request on; what it filed stays,
//!   filed by `partner:<id>`, and is its own again if it is given a new key. Ids are never
//!   reused, so that name always means the same system.
//! - Issuing and revoking are in the audit log (`partner_created`, `partner_key_issued`,
//!   `partner_revoked`), written in the same transaction as the change.

use api_plumbing::{Reply, field_error, reply_with};
use base64::Engine as _;
use mobile_api::{IssuedPartner, NewPartner, Partner, PartnerList, codes};
use order_store::db::{Connection, Row};
use sha2::{Digest, Sha256};
use spin_sdk::http::StatusCode;

use crate::identity::{Failure, db, in_transaction, random_bytes, record, text};

/// What a key starts with.
const KEY_PREFIX: &str = "p311_";

fn new_api_key() -> Result<String, Failure> {
    Ok(format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)
    ))
}

fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The partner whose live key `key` is, if any.
pub(crate) async fn partner_for_key(key: &str) -> Result<Option<String>, Failure> {
    // Anything not shaped like a key is refused without asking the database.
    if !key.starts_with(KEY_PREFIX) || key.len() > 100 {
        return Ok(None);
    }
    let rows = db()
        .await?
        .query(
            "select partner_id from partners where key_hash = $1 and revoked_at is null",
            [text(key_hash(key))],
        )
        .await?
        .collect()
        .await?;
    Ok(rows.first().and_then(|row| row.get::<String>("partner_id")))
}

fn not_found() -> Failure {
    Failure::Status(
        StatusCode::NOT_FOUND,
        codes::NOT_FOUND,
        "没有这个对接系统 (no such partner)".into(),
    )
}

const PARTNERS: &str = "select partner_id, name, created_by, created_at, revoked_at from partners";

fn partner(row: &Row) -> Result<Partner, Failure> {
    let get = |column: &str| {
        row.get::<String>(column)
            .ok_or_else(|| Failure::Internal(format!("column {column} missing")))
    };
    Ok(Partner {
        id: get("partner_id")?,
        name: get("name")?,
        created_by: get("created_by")?,
        created_at: row
            .get::<chrono::NaiveDateTime>("created_at")
            .map(|t| t.and_utc())
            .ok_or_else(|| Failure::Internal("column created_at missing".into()))?,
        revoked_at: row
            .get::<chrono::NaiveDateTime>("revoked_at")
            .map(|t| t.and_utc()),
    })
}

async fn one(db: &Connection, id: &str) -> Result<Partner, Failure> {
    let rows = db
        .query(format!("{PARTNERS} where partner_id = $1"), [text(id)])
        .await?
        .collect()
        .await?;
    rows.first().map(partner).transpose()?.ok_or_else(not_found)
}

/// Whether partner `id` is revoked, its row locked for the caller's transaction; 404 for none.
async fn revoked(db: &Connection, id: &str) -> Result<bool, Failure> {
    let rows = db
        .query(
            "select revoked_at is not null as revoked from partners where partner_id = $1 for update",
            [text(id)],
        )
        .await?
        .collect()
        .await?;
    let row = rows.first().ok_or_else(not_found)?;
    Ok(row.get::<bool>("revoked").unwrap_or(false))
}

/// `GET /api/v1/admin/partners`: every partner, revoked ones too, by id.
pub(crate) async fn list() -> Result<Reply, Failure> {
    let rows = db()
        .await?
        .query(format!("{PARTNERS} order by partner_id"), [])
        .await?
        .collect()
        .await?;
    let items = rows.iter().map(partner).collect::<Result<Vec<_>, _>>()?;
    Ok(reply_with(StatusCode::OK, &PartnerList { items }))
}

fn valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    (2..=40).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// `POST /api/v1/admin/partners`: the partner, and its key, shown this once.
pub(crate) async fn create(
    admin: &str,
    body: &[u8],
    client: Option<&str>,
) -> Result<Reply, Failure> {
    let new: NewPartner = api_plumbing::parse_json(body)?;
    let name = new.name.trim().to_owned();
    let mut problems = Vec::new();
    if !valid_id(&new.id) {
        problems.push(field_error(
            "id",
            "invalid_value",
            "2–40 个字符：小写字母、数字、- (lower-case letters, digits and -)",
        ));
    }
    if name.is_empty() || name.chars().count() > 100 {
        problems.push(field_error("name", "invalid_value", "名称 1 到 100 个字"));
    }
    if !problems.is_empty() {
        return Err(Failure::Fields(problems));
    }
    let key = new_api_key()?;
    let db = db().await?;
    let created = in_transaction(&db, async {
        let inserted = db
            .execute(
                "insert into partners (partner_id, name, key_hash, created_by) values ($1, $2, $3, $4) \
                 on conflict (partner_id) do nothing",
                [text(&new.id), text(&name), text(key_hash(&key)), text(admin)],
            )
            .await?;
        if inserted == 0 {
            return Ok(false);
        }
        record(
            &db,
            "partner_created",
            admin,
            Some(&new.id),
            client,
            Some(serde_json::json!({ "name": name })),
        )
        .await?;
        Ok(true)
    })
    .await?;
    if !created {
        return Err(Failure::Status(
            StatusCode::CONFLICT,
            codes::PARTNER_EXISTS,
            "该标识已被使用 (the partner id is taken)".into(),
        ));
    }
    let partner = one(&db, &new.id).await?;
    Ok(reply_with(
        StatusCode::CREATED,
        &IssuedPartner {
            partner,
            api_key: key,
        },
    ))
}

/// `POST /api/v1/admin/partners/{id}/key`: a new key for the partner, shown this once; the old one
/// opens nothing from now on (a key that leaked, or a yearly change). A revoked partner is
/// restored with it: what it filed before is its own again under the same id.
pub(crate) async fn new_key(admin: &str, id: &str, client: Option<&str>) -> Result<Reply, Failure> {
    let key = new_api_key()?;
    let db = db().await?;
    in_transaction(&db, async {
        let restored = revoked(&db, id).await?;
        db.execute(
            "update partners set key_hash = $2, revoked_at = null, revoked_by = null where partner_id = $1",
            [text(id), text(key_hash(&key))],
        )
        .await?;
        record(
            &db,
            "partner_key_issued",
            admin,
            Some(id),
            client,
            Some(serde_json::json!({ "restored": restored })),
        )
        .await
    })
    .await?;
    let partner = one(&db, id).await?;
    Ok(reply_with(
        StatusCode::OK,
        &IssuedPartner {
            partner,
            api_key: key,
        },
    ))
}

/// `POST /api/v1/admin/partners/{id}/revoke`: its key opens nothing from now on. Revoking again
/// changes nothing.
pub(crate) async fn revoke(admin: &str, id: &str, client: Option<&str>) -> Result<Reply, Failure> {
    let db = db().await?;
    in_transaction(&db, async {
        if revoked(&db, id).await? {
            return Ok(());
        }
        db.execute(
            "update partners set revoked_at = now(), revoked_by = $2 where partner_id = $1",
            [text(id), text(admin)],
        )
        .await?;
        record(&db, "partner_revoked", admin, Some(id), client, None).await
    })
    .await?;
    let partner = one(&db, id).await?;
    Ok(reply_with(StatusCode::OK, &partner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for good in ["szcg", "yicheng-grid-2", "12"] {
            assert!(valid_id(good), "{good}");
        }
        for bad in ["", "a", "-szcg", "SZCG", "数字城管", "a_b", &"a".repeat(41)] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
