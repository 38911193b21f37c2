//! Citizens sign in with their phone number and a six-digit code sent by SMS, through the
//! provider the `sms_provider` variable names (Aliyun or Tencent Cloud; `crates/sms` speaks their
//! protocols).
//!
//! Invariants:
//! - A number gets at most one code a minute and ten a day; an address asks for at most twenty an
//!   hour. Counted from `sms_codes` under advisory locks (address, then number), so two requests
//!   at once cannot both slip under a limit, and the limits hold across instances.
//! - A code is stored only as a hash, lives five minutes, is used once, and dies after five wrong
//!   tries (the next try then says `code_locked`, even with the right digits).
//! - A code that the provider did not accept is not stored, and does not count.
//! - A code, and with it the number it went to, is forgotten two days after it was sent.
//! - The citizen is the one with this phone number, whoever filed for them: calls an operator
//!   filed for the number are in the same history once its owner signs in.

use crate::identity::{
    Failure, citizen, db, in_transaction, issue, random_bytes, record, text, variable,
};
use api_plumbing::{Reply, reply_with};
use mobile_api::{SmsCodeRequest, SmsCodeSent, SmsSignIn, codes};
use order_store::db::Connection;
use sha2::{Digest, Sha256};
use spin_sdk::http::StatusCode;

const CODE_TTL_SECONDS: i64 = 300;
const RESEND_AFTER_SECONDS: i64 = 60;
const CODES_PER_NUMBER_PER_DAY: i64 = 10;
const CODES_PER_ADDRESS_PER_HOUR: i64 = 20;
const MAX_TRIES: i32 = 5;

fn mainland_mobile(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = digits.strip_prefix("+86").unwrap_or(&digits).to_owned();
    let valid = digits.len() == 11
        && digits.starts_with('1')
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(digits.as_bytes()[1], b'3'..=b'9');
    valid.then_some(digits)
}

fn invalid_phone() -> Failure {
    Failure::Fields(vec![api_plumbing::field_error(
        "phone",
        codes::INVALID_PHONE,
        "请填写 11 位手机号 (a mainland mobile number)",
    )])
}

fn unavailable() -> Failure {
    Failure::Status(
        StatusCode::SERVICE_UNAVAILABLE,
        codes::SMS_UNAVAILABLE,
        "短信暂时无法发送，请稍后再试 (SMS cannot be sent now; try again later)".into(),
    )
}

fn code_hash(phone: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{phone}:{code}").as_bytes()))
}

/// Six digits, uniformly.
fn new_code() -> Result<String, Failure> {
    loop {
        let value = u32::from_le_bytes(random_bytes::<4>()?);
        // Below the largest multiple of a million that fits: no digit is likelier than another.
        if value < 4_294_000_000 {
            return Ok(format!("{:06}", value % 1_000_000));
        }
    }
}

/// Refused with `too_many_codes` when the count of `sql` (one row, `n` and `wait` seconds) is at
/// the limit.
async fn within_limit(db: &Connection, sql: &str, key: &str, limit: i64) -> Result<(), Failure> {
    let rows = db.query(sql, [text(key)]).await?.collect().await?;
    if let Some(row) = rows.first()
        && row.get::<i64>("n").unwrap_or(0) >= limit
    {
        let wait = row.get::<f64>("wait").unwrap_or(1.0).ceil().max(1.0) as i64;
        return Err(Failure::Limited(codes::TOO_MANY_CODES, wait));
    }
    Ok(())
}

/// Sends the message through the configured provider; the provider's reference on success.
async fn send(phone: &str, code: &str) -> Result<String, Failure> {
    let provider = variable("sms_provider").await?;
    let account = sms::Account {
        base_url: variable("sms_base_url").await?,
        key_id: variable("sms_key_id").await?,
        secret: variable("sms_secret").await?,
        sign_name: variable("sms_sign_name").await?,
        template: variable("sms_template").await?,
        app_id: variable("sms_app_id").await?,
    };
    if account.key_id.is_empty() || account.secret.is_empty() || account.template.is_empty() {
        eprintln!("gateway: SMS is not configured (sms_key_id, sms_secret, sms_template)");
        return Err(unavailable());
    }
    let minutes = (CODE_TTL_SECONDS / 60).to_string();
    let params = [("code", code.to_owned()), ("minutes", minutes)];
    let message = sms::Message {
        phone,
        params: &params,
    };
    let now = chrono::Utc::now();
    let request = match provider.as_str() {
        "aliyun" => {
            let nonce = uuid::Uuid::new_v4().to_string();
            let timestamp = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            sms::aliyun::send_request(&account, &message, &nonce, &timestamp)
        }
        "tencent" => sms::tencent::send_request(&account, &message, now.timestamp()),
        other => {
            eprintln!("gateway: unknown sms_provider {other:?} (aliyun or tencent)");
            return Err(unavailable());
        }
    };
    let mut builder = spin_sdk::http::Request::builder()
        .method(request.method)
        .uri(&request.url);
    for (name, value) in &request.headers {
        // The host comes from the URL; wasi:http does not let a guest set it.
        if name != "host" {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    let outgoing = builder
        .body(spin_sdk::http::FullBody::new(bytes::Bytes::from(
            request.body,
        )))
        .map_err(|e| Failure::Internal(format!("building the SMS request: {e}")))?;
    let response = match spin_sdk::http::send(outgoing).await {
        Ok(response) => response,
        Err(e) => {
            eprintln!("gateway: the SMS provider is unreachable: {e:?}");
            return Err(unavailable());
        }
    };
    let status = response.status().as_u16();
    use spin_sdk::http::body::IncomingBodyExt;
    let body = response.into_body().bytes().await.unwrap_or_default();
    let answer = match provider.as_str() {
        "aliyun" => sms::aliyun::read_answer(status, &body),
        _ => sms::tencent::read_answer(status, &body),
    };
    answer.map_err(|error| match error.kind {
        sms::ErrorKind::BadNumber => invalid_phone(),
        sms::ErrorKind::RateLimited => {
            Failure::Limited(codes::TOO_MANY_CODES, RESEND_AFTER_SECONDS)
        }
        sms::ErrorKind::Transient | sms::ErrorKind::Misconfigured => {
            eprintln!(
                "gateway: the SMS provider refused ({:?}): {} {}",
                error.kind, error.code, error.message
            );
            unavailable()
        }
    })
}

/// `POST /api/v1/auth/sms/code`.
pub async fn send_code(body: &[u8], client: Option<&str>) -> Result<Reply, Failure> {
    let request: SmsCodeRequest = api_plumbing::parse_json(body)?;
    let phone = mainland_mobile(&request.phone).ok_or_else(invalid_phone)?;
    let client = client.unwrap_or("unknown").to_owned();
    let db = db().await?;
    in_transaction(&db, async {
        // Address first, then number: every request takes the two locks in the same order.
        db.execute(
            "select pg_advisory_xact_lock(hashtext('sms-address:' || $1))",
            [text(&client)],
        )
        .await?;
        db.execute(
            "select pg_advisory_xact_lock(hashtext('sms-number:' || $1))",
            [text(&phone)],
        )
        .await?;
        within_limit(
            &db,
            &format!(
                "select count(*) as n, extract(epoch from (max(created_at) + interval '{RESEND_AFTER_SECONDS} seconds' - now()))::float8 as wait \
                 from sms_codes where phone = $1 and created_at > now() - interval '{RESEND_AFTER_SECONDS} seconds'"
            ),
            &phone,
            1,
        )
        .await?;
        within_limit(
            &db,
            "select count(*) as n, extract(epoch from (min(created_at) + interval '1 day' - now()))::float8 as wait \
             from sms_codes where phone = $1 and created_at > now() - interval '1 day'",
            &phone,
            CODES_PER_NUMBER_PER_DAY,
        )
        .await?;
        within_limit(
            &db,
            "select count(*) as n, extract(epoch from (min(created_at) + interval '1 hour' - now()))::float8 as wait \
             from sms_codes where client_addr = $1 and created_at > now() - interval '1 hour'",
            &client,
            CODES_PER_ADDRESS_PER_HOUR,
        )
        .await?;
        let code = new_code()?;
        let reference = send(&phone, &code).await?;
        db.execute(
            "insert into sms_codes (phone, code_hash, client_addr, provider_ref, expires_at) \
             values ($1, $2, $3, $4, now() + make_interval(secs => $5))",
            [
                text(&phone),
                text(code_hash(&phone, &code)),
                text(&client),
                text(reference),
                (CODE_TTL_SECONDS as f64).into(),
            ],
        )
        .await?;
        Ok(())
    })
    .await?;
    forget_old_codes(&db).await;
    Ok(reply_with(
        StatusCode::ACCEPTED,
        &SmsCodeSent {
            expires_in: CODE_TTL_SECONDS,
            resend_after: RESEND_AFTER_SECONDS,
        },
    ))
}

/// How long a code is kept after it was sent: past its five minutes it opens nothing, and the
/// limits look back a day at most, so the number it was sent to is kept no longer than that and
/// a day's grace.
const KEEP_CODES_DAYS: i64 = 2;

/// Forgets the codes older than `KEEP_CODES_DAYS`, up to a hundred of the oldest, each time a code
/// is sent (so the forgetting keeps pace with the sending, a batch at a time, on whichever
/// instance sends). A failure is logged and costs the citizen nothing: the next send tries again.
async fn forget_old_codes(db: &Connection) {
    let forgotten = db
        .execute(
            format!(
                "delete from sms_codes where sms_code_id in (\
                   select sms_code_id from (select sms_code_id, created_at from sms_codes \
                                            order by sms_code_id limit 100) oldest \
                   where created_at < now() - interval '{KEEP_CODES_DAYS} days')"
            ),
            [],
        )
        .await;
    if let Err(error) = forgotten {
        eprintln!("gateway: forgetting old sign-in codes failed: {error:?}");
    }
}

fn invalid_code() -> Failure {
    Failure::Status(
        StatusCode::UNAUTHORIZED,
        codes::INVALID_CODE,
        "验证码错误或已失效 (wrong or expired code)".into(),
    )
}

/// Checks `code` against the number's live code and spends it, inside the caller's transaction:
/// `None` when it was right; the refusal when not (the wrong try is counted and recorded, so the
/// caller commits either way).
pub(crate) async fn consume_code(
    db: &Connection,
    phone: &str,
    code: &str,
    client: Option<&str>,
) -> Result<Option<Failure>, Failure> {
    let rows = db
        .query(
            "select sms_code_id, code_hash, attempts from sms_codes \
             where phone = $1 and used_at is null and expires_at > now() \
             order by created_at desc limit 1 for update",
            [text(phone)],
        )
        .await?
        .collect()
        .await?;
    let Some(row) = rows.first() else {
        return Ok(Some(invalid_code()));
    };
    let id: i64 = row.get("sms_code_id").unwrap_or_default();
    let attempts: i32 = row.get("attempts").unwrap_or_default();
    if attempts >= MAX_TRIES {
        return Ok(Some(Failure::Status(
            StatusCode::UNAUTHORIZED,
            codes::CODE_LOCKED,
            "验证码错误次数过多，请重新获取 (too many wrong tries: ask for a new code)".into(),
        )));
    }
    let stored: String = row.get("code_hash").unwrap_or_default();
    let code = code.trim();
    let valid_shape = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    if !valid_shape || stored != code_hash(phone, code) {
        db.execute(
            "update sms_codes set attempts = attempts + 1 where sms_code_id = $1",
            [id.into()],
        )
        .await?;
        let subject = format!("phone:{phone}");
        record(
            db,
            "sign_in_failed",
            &subject,
            Some(&subject),
            client,
            Some(serde_json::json!({ "method": "sms" })),
        )
        .await?;
        return Ok(Some(invalid_code()));
    }
    db.execute(
        "update sms_codes set used_at = now() where sms_code_id = $1",
        [id.into()],
    )
    .await?;
    Ok(None)
}

/// The number in a request, or a 422.
pub(crate) fn phone_of(raw: &str) -> Result<String, Failure> {
    mainland_mobile(raw).ok_or_else(invalid_phone)
}

/// `POST /api/v1/auth/sms/sign-in`.
pub async fn sign_in(body: &[u8], client: Option<&str>) -> Result<Reply, Failure> {
    let request: SmsSignIn = api_plumbing::parse_json(body)?;
    let phone = phone_of(&request.phone)?;
    let db = db().await?;
    let outcome = in_transaction(&db, async {
        if let Some(refusal) = consume_code(&db, &phone, &request.code, client).await? {
            return Ok(Err(refusal));
        }
        let subject = citizen(&db, order_store::CitizenKey::Phone(&phone)).await?;
        let pair = issue(&db, uuid::Uuid::new_v4(), &subject, "citizen", None).await?;
        record(
            &db,
            "signed_in",
            &subject,
            Some(&subject),
            client,
            Some(serde_json::json!({ "method": "sms" })),
        )
        .await?;
        Ok(Ok(pair))
    })
    .await?;
    outcome.map(|pair| reply_with(StatusCode::OK, &pair))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(
            mainland_mobile("138 0013 8000").as_deref(),
            Some("13800138000")
        );
        assert_eq!(
            mainland_mobile("+86 13800138000").as_deref(),
            Some("13800138000")
        );
        assert_eq!(mainland_mobile("12800138000"), None);
        assert_eq!(mainland_mobile("0396-1234567"), None);
        assert_eq!(mainland_mobile("1380013800a"), None);
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let code = new_code().expect("a code");
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
