//! What every answer and every request passes through at the front door: security headers, CORS
//! for the web console and H5 pages, and rate limits per principal and per address.
//!
//! Rate limits are fixed one-minute windows counted in PostgreSQL (`rate_counters`, an unlogged
//! table: a crash forgets the current minute, nothing else), one statement per request for both
//! keys, so that the limits hold however many runtime instances serve. An address's count is
//! spread over eight rows so that one busy address does not queue on one row lock; its limit is
//! checked against eight times the row this request counted in (an estimate, exact on average).

use crate::auth::Principal;
use crate::identity::{Failure, text, variable};
use api_plumbing::{FieldList, Headers, push_field};
use mobile_api::{codes, routes};
use spin_sdk::http::{HeaderValue, Response};

/// Headers on every answer: the API serves JSON with personal data, never pages or frames. Nothing
/// is kept in a cache, but what its component says may be (a photo, which never changes).
pub fn secure(fields: &mut FieldList) {
    if !fields.iter().any(|(name, _)| name == "cache-control") {
        push_field(fields, "cache-control", "no-store");
    }
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
        ("strict-transport-security", "max-age=31536000"),
    ] {
        push_field(fields, name, value);
    }
}

/// The origins the `cors_allowed_origins` variable lists (comma-separated, exact origins).
async fn allowed_origins() -> Vec<String> {
    variable("cors_allowed_origins")
        .await
        .unwrap_or_default()
        .split(',')
        .map(|o| o.trim().trim_end_matches('/').to_owned())
        .filter(|o| !o.is_empty())
        .collect()
}

/// The request's `Origin` when it is an allowed one.
pub async fn allowed_origin(headers: &Headers) -> Option<String> {
    let origin = headers.get("origin")?.to_owned();
    allowed_origins()
        .await
        .into_iter()
        .any(|allowed| allowed == origin)
        .then_some(origin)
}

/// CORS headers for an allowed origin, on every answer to it (a preflight's too).
pub fn cors(fields: &mut FieldList, origin: &str) {
    push_field(fields, "access-control-allow-origin", origin);
    push_field(fields, "vary", "Origin");
    // What a web console's script reads beyond the fields every origin may: the request id to
    // quote, when to send again, a photo's tag, and an export's file name.
    push_field(
        fields,
        "access-control-expose-headers",
        "x-request-id, retry-after, etag, content-disposition",
    );
}

/// The answer to a preflight `OPTIONS`: 204, with the methods the path has when the origin is
/// allowed, and without any CORS header (so the browser refuses) when it is not. The origin's own
/// headers (`cors`) are added with every answer's.
pub fn preflight(path: &str, origin: Option<&str>) -> Response<String> {
    let mut response = Response::new(String::new());
    *response.status_mut() = spin_sdk::http::StatusCode::NO_CONTENT;
    let methods = routes::methods(path);
    if origin.is_some() && !methods.is_empty() {
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&methods.join(", ")) {
            headers.insert("access-control-allow-methods", value);
        }
        headers.insert(
            "access-control-allow-headers",
            HeaderValue::from_static(
                "authorization, content-type, idempotency-key, accept-language, if-none-match",
            ),
        );
        headers.insert("access-control-max-age", HeaderValue::from_static("600"));
    }
    response
}

/// How many rows one address's count is spread over.
const ADDRESS_SLOTS: usize = 8;

/// Counts this request against the principal's and the address's minute; refused with 429 and
/// the seconds left in the minute when either is over its limit. A principal that came with a
/// `token` is refused with 401 `token_revoked` when its subject's sessions were ended after the
/// token was issued (`identity::end_sessions`), or its own session was (a sign-out, a reused
/// refresh token). An Open311 partner's key counts as a principal with no token.
pub async fn count(
    principal: Option<&str>,
    token: Option<&Principal>,
    address: &str,
) -> Result<(), Failure> {
    let per_principal =
        api_plumbing::number_variable("rate_limit_principal_per_minute", 600, 1).await;
    let per_address = api_plumbing::number_variable("rate_limit_address_per_minute", 1200, 1).await;
    let db = crate::identity::db().await?;
    let principal_key = principal.map(|p| format!("p:{p}"));
    // An address's count is spread over a few rows, one picked at random per request: a busy
    // address (a carrier's NAT, a load test) would otherwise make every request wait for the
    // same row lock. Its total is estimated from the row this request counted in (each gets an
    // eighth of the traffic), which keeps this to one statement and no extra reads; the measured
    // price of summing the rows on every request is in the bench's notes.
    let slot = usize::from(uuid::Uuid::new_v4().as_bytes()[1]) % ADDRESS_SLOTS;
    let rows = db
        .query(
            order_store::rate_counters::COUNT,
            [
                principal_key.into(),
                text(format!("a:{address}#{slot}")),
                token.map(|t| t.subject.clone()).into(),
                token.map_or(0.0, |t| t.issued_at).into(),
                token.and_then(|t| t.session).into(),
            ],
        )
        .await?
        .collect()
        .await?;
    // Now and then, forget minutes long past (any instance may; the delete is idempotent).
    if uuid::Uuid::new_v4().as_bytes()[0] == 0 {
        let _ = db
            .execute(
                "delete from rate_counters where window_start < now() - interval '5 minutes'",
                [],
            )
            .await;
    }
    let Some(row) = rows.first() else {
        return Ok(());
    };
    if row.get::<bool>("revoked") == Some(true) {
        return Err(Failure::Status(
            spin_sdk::http::StatusCode::UNAUTHORIZED,
            codes::TOKEN_REVOKED,
            "登录已失效，请重新登录 (this token was revoked: sign in again)".into(),
        ));
    }
    let principal_hits = row.get::<i32>("principal_hits").map(i64::from).unwrap_or(0);
    let address_hits =
        row.get::<i32>("address_hits").map(i64::from).unwrap_or(0) * ADDRESS_SLOTS as i64;
    if principal_hits > per_principal || address_hits > per_address {
        let wait = row.get::<f64>("wait").unwrap_or(60.0).ceil().max(1.0) as i64;
        return Err(Failure::Limited(codes::RATE_LIMITED, wait));
    }
    Ok(())
}
