//! Retries under an `Idempotency-Key`: the first request with a key claims it in its transaction
//! and leaves its answer there; a retry with the same key and the same body is given that answer
//! again, with another body it is refused. A concurrent first attempt holds the claim until it
//! commits, so a retry waits for it and then finds its answer; if it rolls back, the retry claims
//! the key itself.

use crate::db::Connection;
use crate::{StoreError, text};
use sha2::{Digest, Sha256};
use spin_sdk::pg::ParameterValue;

/// Keys are 1–128 visible ASCII characters.
pub const MAX_KEY: usize = 128;

/// Whether `key` is one a client may send.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY && key.bytes().all(|b| b.is_ascii_graphic())
}

/// What a retry must carry to be the same request: the body's SHA-256, in hex.
pub fn request_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// What claiming a key found.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// The first request with this key: go on, and [`answer`] in the same transaction.
    Fresh,
    /// A retry of a request that was answered: its status and JSON body.
    Replay(u16, String),
    /// The key was used for a different request.
    Reused,
}

/// Claims `key` for `subject`'s request of hash `request_hash`, in the caller's transaction.
pub async fn claim(
    db: &Connection,
    subject: &str,
    key: &str,
    request_hash: &str,
) -> Result<Claim, StoreError> {
    let claimed = db
        .execute(
            "insert into idempotency_keys (subject, idempotency_key, request_hash) values ($1, $2, $3) \
             on conflict (subject, idempotency_key) do nothing",
            [text(subject), text(key), text(request_hash)],
        )
        .await?;
    if claimed == 1 {
        return Ok(Claim::Fresh);
    }
    let rows = db
        .query(
            "select request_hash, response_status, response_body from idempotency_keys \
             where subject = $1 and idempotency_key = $2",
            [text(subject), text(key)],
        )
        .await?
        .collect()
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Internal("the idempotency row vanished".into()))?;
    let stored_hash: String = crate::required(row, "request_hash")?;
    if stored_hash != request_hash {
        return Ok(Claim::Reused);
    }
    let status: Option<i32> = row.get("response_status");
    let body: Option<serde_json::Value> = row.get("response_body");
    match (status.and_then(|s| u16::try_from(s).ok()), body) {
        (Some(status), Some(body)) => Ok(Claim::Replay(status, body.to_string())),
        _ => Err(StoreError::Internal(
            "an idempotency row without its answer".into(),
        )),
    }
}

/// Leaves the answer to a [`Claim::Fresh`] request, for its retries.
pub async fn answer(
    db: &Connection,
    subject: &str,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), StoreError> {
    db.execute(
        "update idempotency_keys set response_status = $3, response_body = $4 \
         where subject = $1 and idempotency_key = $2",
        [
            text(subject),
            text(key),
            i32::from(status).into(),
            ParameterValue::Jsonb(body.as_bytes().to_vec()),
        ],
    )
    .await?;
    Ok(())
}

/// Forgets up to `limit` keys claimed more than `hours` ago (a retry that late files anew); how
/// many. Their answers are kept that long for clients that retry after being offline.
pub async fn forget_older_than(db: &Connection, hours: i64, limit: i64) -> Result<u64, StoreError> {
    db.execute(
        "delete from idempotency_keys where ctid = any(array( \
             select ctid from idempotency_keys \
             where created_at < now() - make_interval(hours => $1::int) limit $2))",
        [hours.into(), limit.into()],
    )
    .await
    .map_err(StoreError::from)
}
