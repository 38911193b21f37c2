//! Issuing a numbered document — a special report (舆情专报), a circular (督办通报) — in one
//! transaction with the notices it sends, under the client's `Idempotency-Key`: a retry under the
//! same key is answered what the first got, and nothing is issued twice.

use crate::error::ApiError;
use api_plumbing::{Reply, field_error, json_reply};
use mobile_api::{FieldError, WithdrawIssue, Withdrawal};
use order_store::db::{Connection, Row};
use order_store::idempotency::{self, Claim};
use spin_sdk::http::StatusCode;

/// The key and the hash of the request it came with, once the key is checked.
pub(crate) fn keyed<'a>(
    idempotency_key: Option<&'a str>,
    body: &[u8],
) -> Result<Option<(&'a str, String)>, ApiError> {
    match idempotency_key {
        Some(key) if !idempotency::valid_key(key) => Err(ApiError::InvalidIdempotencyKey),
        Some(key) => Ok(Some((key, idempotency::request_hash(body)))),
        None => Ok(None),
    }
}

/// Runs `issue` (which writes the document and its notices and answers its JSON) in a
/// transaction of its own, unless `idempotency` names a key already used: then the first answer
/// is given again (201), or 409 for a key used with another request.
pub(crate) async fn issue(
    db: &Connection,
    subject: &str,
    idempotency: Option<(&str, String)>,
    issue: impl Future<Output = Result<String, ApiError>>,
) -> Result<Reply, ApiError> {
    db.keyed_transaction(in_transaction(db, subject, idempotency, issue))
        .await
}

/// The answer, and whether it is a new issue (else a retry's replay).
async fn in_transaction(
    db: &Connection,
    subject: &str,
    idempotency: Option<(&str, String)>,
    issue: impl Future<Output = Result<String, ApiError>>,
) -> Result<(Reply, bool), ApiError> {
    if let Some((key, hash)) = &idempotency {
        match idempotency::claim(db, subject, key, hash).await? {
            Claim::Fresh => {}
            Claim::Reused => return Err(ApiError::IdempotencyKeyReused),
            Claim::Replay(status, body) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
                return Ok((json_reply(status, body), false));
            }
        }
    }
    let body = issue.await?;
    if let Some((key, _)) = &idempotency {
        idempotency::answer(db, subject, key, 201, &body).await?;
    }
    Ok((json_reply(StatusCode::CREATED, body), true))
}

/// The longest title and commentary of an issue, in characters.
const MAX_TITLE_CHARS: usize = 100;
const MAX_COMMENTARY_CHARS: usize = 2000;

/// An issue's title and commentary, trimmed (a blank commentary is none), with what is wrong
/// with them added to `problems`.
pub(crate) fn worded<'a>(
    title: &'a str,
    commentary: Option<&'a str>,
    problems: &mut Vec<FieldError>,
) -> (&'a str, Option<&'a str>) {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        problems.push(field_error(
            "title",
            "invalid_length",
            format!("应为 1 到 {MAX_TITLE_CHARS} 个字 (1–{MAX_TITLE_CHARS} characters)"),
        ));
    }
    let commentary = commentary.map(str::trim).filter(|c| !c.is_empty());
    if commentary.is_some_and(|c| c.chars().count() > MAX_COMMENTARY_CHARS) {
        problems.push(field_error(
            "commentary",
            "too_long",
            format!("至多 {MAX_COMMENTARY_CHARS} 个字 (at most {MAX_COMMENTARY_CHARS} characters)"),
        ));
    }
    (title, commentary)
}

/// The longest reason for a withdrawal, in characters.
const MAX_REASON_CHARS: usize = 500;

/// The reason a withdrawal's body gives, trimmed and checked.
pub(crate) fn withdrawal_reason(body: &[u8]) -> Result<String, ApiError> {
    let asked: WithdrawIssue = api_plumbing::parse_json(body)?;
    let reason = asked.reason.trim();
    let chars = reason.chars().count();
    if chars == 0 || chars > MAX_REASON_CHARS {
        return Err(ApiError::Validation(vec![field_error(
            "reason",
            "invalid_length",
            format!("撤回原因应为 1 到 {MAX_REASON_CHARS} 个字 (1–{MAX_REASON_CHARS} characters)"),
        )]));
    }
    Ok(reason.to_owned())
}

/// The withdrawal an issue's row records (`withdrawn_at`, `withdrawn_by`, `withdrawn_reason`), if
/// any.
pub(crate) fn withdrawal(row: &Row) -> Result<Option<Withdrawal>, ApiError> {
    Ok(match order_store::utc(row, "withdrawn_at") {
        None => None,
        Some(at) => Some(Withdrawal {
            at,
            by: order_store::required(row, "withdrawn_by")?,
            reason: order_store::required(row, "withdrawn_reason")?,
        }),
    })
}
