//! Sign-in at the front door: staff sign in with a password; every sign-in gets a short-lived
//! access token (an HS256 JWT, signed with the key of `jwt_keys` that `jwt_signing_kid` names)
//! and a refresh token that works once. Administrators manage staff accounts and read the audit
//! log here too.
//!
//! Invariants:
//! - Passwords are stored only as argon2id hashes; refresh tokens only as their SHA-256.
//! - A refresh token is spent when used, and its successor issued, in one transaction. A spent
//!   token presented again revokes its whole family: whoever holds the live one must sign in again.
//! - Access tokens name their family (`sid`). The front door refuses one whose family has been
//!   revoked (a sign-out, a reused refresh token), so that ending a session ends it at once.
//! - Five failed sign-ins for one username within 15 minutes refuse further tries (429) until the
//!   oldest of them is 15 minutes old (wrong current passwords at a change count too,
//!   `passwords.rs`). The count is kept in PostgreSQL, so it holds across instances.
//! - A disabled account cannot sign in or refresh; its sessions end when it is disabled
//!   ([`end_sessions`]): its refresh tokens are revoked, and the front door refuses the access
//!   tokens issued before (`token_revoked`). So does a new or reset password, a cancelled account.

use api_plumbing::{BodyError, Reply, error_reply, field_error, json_reply, reply_with};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use mobile_api::{
    AuditEntry, AuditLog, FieldError, Named, NewStaffAccount, RefreshTokenBody, StaffAccount,
    StaffAccountChange, StaffAccountList, StaffSignIn, TokenPair, codes, routes::Route,
};
use order_store::db::{Connection, Row};
use serde::Serialize;
use sha2::{Digest, Sha256};
use spin_sdk::http::StatusCode;
use spin_sdk::pg::ParameterValue;

use crate::auth::Principal;

/// Failed sign-ins allowed per username within the window.
const MAX_FAILURES: i64 = 5;
const FAILURE_WINDOW_SECONDS: i64 = 15 * 60;
const MIN_PASSWORD: usize = 12;
pub(crate) const MAX_PASSWORD: usize = 128;
const STAFF_ROLES: &[&str] = &["operator", "agency_staff", "supervisor", "leader", "admin"];

/// What went wrong, as the client hears it.
#[derive(Debug)]
pub(crate) enum Failure {
    Status(StatusCode, &'static str, String),
    Fields(Vec<FieldError>),
    /// Refused for now: the code, and seconds until a try can succeed.
    Limited(&'static str, i64),
    /// The database could not be reached: logged, answered 503 with `Retry-After`.
    Unavailable(String),
    /// Logged, answered with an opaque 500.
    Internal(String),
}

impl From<spin_sdk::pg::Error> for Failure {
    fn from(error: spin_sdk::pg::Error) -> Self {
        order_store::StoreError::from(error).into()
    }
}

impl From<spin_sdk::pg::PgError> for Failure {
    fn from(error: spin_sdk::pg::PgError) -> Self {
        order_store::StoreError::from(error).into()
    }
}

/// The store's answers are the gateway's own failures: what it looks up there (a citizen it adds
/// the first time) is always found.
impl From<order_store::StoreError> for Failure {
    fn from(error: order_store::StoreError) -> Self {
        match error {
            order_store::StoreError::NotFound => Failure::Internal("not found in the store".into()),
            order_store::StoreError::Unavailable(cause) => Failure::Unavailable(cause),
            order_store::StoreError::Internal(cause) => Failure::Internal(cause),
        }
    }
}

impl From<BodyError> for Failure {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::Malformed(position) => Failure::Status(
                StatusCode::BAD_REQUEST,
                codes::MALFORMED_JSON,
                format!("请求内容不是有效的 JSON (malformed JSON: {position})"),
            ),
            BodyError::Field(field) => Failure::Fields(vec![field]),
        }
    }
}

pub(crate) fn invalid_credentials() -> Failure {
    Failure::Status(
        StatusCode::UNAUTHORIZED,
        codes::INVALID_CREDENTIALS,
        "用户名或密码错误 (wrong username or password)".into(),
    )
}

fn invalid_refresh_token() -> Failure {
    Failure::Status(
        StatusCode::UNAUTHORIZED,
        codes::INVALID_REFRESH_TOKEN,
        "登录已失效，请重新登录 (the refresh token is invalid or expired)".into(),
    )
}

fn not_found() -> Failure {
    Failure::Status(
        StatusCode::NOT_FOUND,
        codes::NOT_FOUND,
        "没有这个账号 (no such account)".into(),
    )
}

impl Failure {
    pub(crate) fn into_reply(self, request_id: &str) -> Reply {
        match self {
            Failure::Status(status, code, message) => error_reply(status, code, message, vec![]),
            Failure::Fields(fields) => error_reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::VALIDATION_FAILED,
                "请检查填写的内容 (some fields are invalid)".into(),
                fields,
            ),
            Failure::Limited(code, seconds) => {
                let mut reply = error_reply(
                    StatusCode::TOO_MANY_REQUESTS,
                    code,
                    format!(
                        "操作过于频繁，请 {seconds} 秒后再试 (too many tries: wait {seconds} s)"
                    ),
                    vec![],
                );
                if let Ok(value) = seconds.to_string().parse() {
                    reply.headers_mut().insert("retry-after", value);
                }
                reply
            }
            Failure::Unavailable(cause) => {
                api_plumbing::database_unavailable("gateway", request_id, &cause)
            }
            Failure::Internal(cause) => {
                eprintln!("gateway: {request_id}: {cause}");
                error_reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    codes::INTERNAL,
                    "服务内部错误 (internal error)".into(),
                    vec![],
                )
            }
        }
    }
}

/// Serves a route the gateway answers itself.
pub async fn serve(
    route: &Route,
    path: &str,
    query: &str,
    client: &str,
    principal: Option<&Principal>,
    body: &[u8],
    request_id: &str,
) -> Reply {
    let client = Some(client.to_owned());
    let segments: Vec<&str> = path.split('/').collect();
    let admin = principal.map(|p| p.subject.as_str()).unwrap_or("");
    let outcome = match (route.method, route.pattern) {
        ("POST", "/api/v1/auth/staff/sign-in") => sign_in(body, client.as_deref()).await,
        ("POST", "/api/v1/auth/sms/code") => {
            crate::sms_sign_in::send_code(body, client.as_deref()).await
        }
        ("POST", "/api/v1/auth/sms/sign-in") => {
            crate::sms_sign_in::sign_in(body, client.as_deref()).await
        }
        ("POST", "/api/v1/auth/wechat/sign-in") => {
            crate::wechat::sign_in(body, client.as_deref()).await
        }
        ("POST", "/api/v1/auth/wechat/bind-phone") => {
            crate::wechat::bind_phone(principal, body, client.as_deref()).await
        }
        ("POST", "/api/v1/auth/refresh") => refresh(body).await,
        ("POST", "/api/v1/auth/sign-out") => sign_out(body).await,
        ("GET", "/api/v1/me") => crate::account::me(principal).await,
        ("DELETE", "/api/v1/me") => crate::account::cancel(principal, client.as_deref()).await,
        ("POST", "/api/v1/me/sign-out-everywhere") => {
            crate::account::sign_out_everywhere(principal, client.as_deref()).await
        }
        ("POST", "/api/v1/me/password") => {
            crate::passwords::change(principal, body, client.as_deref()).await
        }
        ("POST", "/api/v1/admin/staff/{}/password") => {
            let username = segments.get(5).copied().unwrap_or("");
            crate::passwords::reset(admin, username, body, client.as_deref()).await
        }
        ("GET", "/api/v1/admin/staff") => list_staff().await,
        ("POST", "/api/v1/admin/staff") => create_staff(admin, body).await,
        ("PUT", "/api/v1/admin/staff/{}") => {
            change_staff(admin, segments.get(5).copied().unwrap_or(""), body).await
        }
        ("POST", "/api/v1/admin/staff/{}/sign-out") => {
            sign_out_staff(
                admin,
                segments.get(5).copied().unwrap_or(""),
                client.as_deref(),
            )
            .await
        }
        ("POST", "/api/v1/admin/staff/{}/disable") => {
            set_disabled(admin, segments.get(5).copied().unwrap_or(""), true).await
        }
        ("POST", "/api/v1/admin/staff/{}/enable") => {
            set_disabled(admin, segments.get(5).copied().unwrap_or(""), false).await
        }
        ("GET", "/api/v1/admin/audit") => audit(query).await,
        ("GET", "/api/v1/admin/partners") => crate::partners::list().await,
        ("POST", "/api/v1/admin/partners") => {
            crate::partners::create(admin, body, client.as_deref()).await
        }
        ("POST", "/api/v1/admin/partners/{}/key") => {
            let id = segments.get(5).copied().unwrap_or("");
            crate::partners::new_key(admin, id, client.as_deref()).await
        }
        ("POST", "/api/v1/admin/partners/{}/revoke") => {
            let id = segments.get(5).copied().unwrap_or("");
            crate::partners::revoke(admin, id, client.as_deref()).await
        }
        _ => Err(not_found()),
    };
    outcome.unwrap_or_else(|failure| failure.into_reply(request_id))
}

pub(crate) async fn db() -> Result<Connection, Failure> {
    api_plumbing::connect().await.map_err(Failure::from)
}

pub(crate) async fn variable(name: &str) -> Result<String, Failure> {
    api_plumbing::variable(name)
        .await
        .map_err(Failure::Internal)
}

pub(crate) fn text(value: impl Into<String>) -> ParameterValue {
    ParameterValue::Str(value.into())
}

fn utc(row: &Row, column: &str) -> Result<chrono::DateTime<chrono::Utc>, Failure> {
    row.get::<chrono::NaiveDateTime>(column)
        .map(|t| t.and_utc())
        .ok_or_else(|| Failure::Internal(format!("column {column} missing")))
}

/// The argon2id settings for new hashes (OWASP's first choice: 19 MiB, 2 passes). Verifying reads
/// the settings from the stored hash, so these can be raised later.
fn hasher() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters"),
    )
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], Failure> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| Failure::Internal(format!("randomness: {e}")))?;
    Ok(bytes)
}

/// What is wrong with `password` as `username`'s new password (the field `field`), if anything:
/// 12 to 128 characters, and not the username.
pub(crate) fn weak_password(field: &str, password: &str, username: &str) -> Option<FieldError> {
    let length = password.chars().count();
    (!(MIN_PASSWORD..=MAX_PASSWORD).contains(&length) || password == username).then(|| {
        field_error(
            field,
            "weak_password",
            format!("密码 {MIN_PASSWORD} 到 {MAX_PASSWORD} 个字符，且不能与用户名相同"),
        )
    })
}

pub(crate) fn hash_password(password: &str) -> Result<String, Failure> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| Failure::Internal(format!("salt: {e}")))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Failure::Internal(format!("hashing: {e}")))
}

pub(crate) fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .is_ok_and(|hash| hasher().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A hash of a password nobody has, verified when the username is unknown so that a wrong
/// username takes as long as a wrong password.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2rZ1Vz4oyZ4bcVn7CJ5yCUBd3Lx7Z2yl3lX8Yb8a9pE";

fn refresh_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    role: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    agency: Option<&'a str>,
    iss: &'a str,
    aud: &'a str,
    /// To the millisecond (a JWT's times may have a fraction), so that a session ended in the
    /// same second as a token was issued tells the two apart (`end_sessions`).
    iat: f64,
    exp: i64,
    jti: String,
    /// The session: the refresh-token family, whose end (a sign-out, a reused refresh token)
    /// the front door checks.
    sid: String,
    /// The password is one an administrator chose: only changing it is open.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pwc: bool,
}

async fn ttl(name: &str, default: i64) -> Result<i64, Failure> {
    let raw = variable(name).await?;
    match raw.trim().parse::<i64>() {
        Ok(value) if value > 0 => Ok(value),
        _ if raw.trim().is_empty() => Ok(default),
        _ => Err(Failure::Internal(format!(
            "the {name} variable is not a positive number: {raw}"
        ))),
    }
}

/// Issues a new refresh token in `family` and an access token, inside the caller's transaction.
pub(crate) async fn issue(
    db: &Connection,
    family: uuid::Uuid,
    subject: &str,
    role: &str,
    agency: Option<&str>,
) -> Result<TokenPair, Failure> {
    issue_pair(db, family, subject, role, agency, false).await
}

/// [`issue`], for a member of staff whose password is one an administrator chose when
/// `change_required`: the access token then says so (`pwc`), and the front door opens to it only
/// what it takes to change the password (`routes::open_before_password_change`).
async fn issue_pair(
    db: &Connection,
    family: uuid::Uuid,
    subject: &str,
    role: &str,
    agency: Option<&str>,
    change_required: bool,
) -> Result<TokenPair, Failure> {
    let access_ttl = ttl("access_token_ttl_seconds", 900).await?;
    let refresh_ttl = ttl("refresh_token_ttl_days", 30).await? * 24 * 3600;
    let refresh_token = format!(
        "rt_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)
    );
    db.execute(
        "insert into refresh_tokens (token_hash, family_id, subject, role, agency_id, expires_at) \
         values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
        [
            text(refresh_hash(&refresh_token)),
            family.into(),
            text(subject),
            text(role),
            agency.map(str::to_owned).into(),
            (refresh_ttl as f64).into(),
        ],
    )
    .await?;
    let issued = chrono::Utc::now();
    let now = issued.timestamp();
    let issuer = variable("jwt_issuer").await?;
    let audience = variable("jwt_audience").await?;
    let claims = Claims {
        sub: subject,
        role,
        agency,
        iss: &issuer,
        aud: &audience,
        iat: issued.timestamp_millis() as f64 / 1000.0,
        exp: now + access_ttl,
        jti: uuid::Uuid::new_v4().to_string(),
        sid: family.to_string(),
        pwc: change_required,
    };
    let kid = variable("jwt_signing_kid").await?;
    let secret = crate::auth::secrets(&variable("jwt_keys").await?)
        .map_err(Failure::Internal)?
        .into_iter()
        .find_map(|(id, secret)| (id == kid).then_some(secret))
        .ok_or_else(|| {
            Failure::Internal(format!(
                "jwt_keys has no usable key {kid:?} (jwt_signing_kid)"
            ))
        })?;
    let key = jsonwebtoken::EncodingKey::from_secret(&secret)
        .map_err(|e| Failure::Internal(format!("the signing key: {e}")))?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid);
    let access_token = jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| Failure::Internal(format!("signing: {e}")))?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer".into(),
        expires_in: access_ttl,
        refresh_token,
        refresh_token_expires_in: refresh_ttl,
        subject: subject.to_owned(),
        role: role.to_owned(),
        agency: agency.map(str::to_owned),
        password_change_required: change_required,
    })
}

pub(crate) async fn record(
    db: &Connection,
    event: &str,
    actor: &str,
    target: Option<&str>,
    client: Option<&str>,
    detail: Option<serde_json::Value>,
) -> Result<(), Failure> {
    let detail = match detail {
        Some(value) => {
            spin_sdk::pg::jsonb(&value).map_err(|e| Failure::Internal(format!("jsonb: {e}")))?
        }
        None => ParameterValue::DbNull,
    };
    db.execute(
        "insert into auth_events (event, actor, target, client_addr, detail) values ($1, $2, $3, $4, $5)",
        [
            text(event),
            text(actor),
            target.map(str::to_owned).into(),
            client.map(str::to_owned).into(),
            detail,
        ],
    )
    .await?;
    Ok(())
}

/// The subject of the citizen known by `key`, added the first time.
pub(crate) async fn citizen(
    db: &Connection,
    key: order_store::CitizenKey<'_>,
) -> Result<String, Failure> {
    Ok(order_store::find_or_add_citizen(db, key).await?.subject)
}

/// Runs `work` in a transaction (see `order_store::db::Connection::transaction`), with the
/// gateway's failures.
pub(crate) async fn in_transaction<T>(
    db: &Connection,
    work: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    db.transaction(work).await
}

/// `POST /api/v1/auth/staff/sign-in`.
async fn sign_in(body: &[u8], client: Option<&str>) -> Result<Reply, Failure> {
    let request: StaffSignIn = api_plumbing::parse_json(body)?;
    let username = request.username.trim().to_lowercase();
    if username.is_empty() || username.len() > 64 || request.password.len() > MAX_PASSWORD {
        return Err(invalid_credentials());
    }
    let db = db().await?;
    refuse_if_locked(&db, &username).await?;
    let rows = db
        .query(
            "select password_hash, role, agency_id, disabled_at is not null as disabled, \
                    password_changed_at is null as change_required \
             from staff_accounts where username = $1",
            [text(&username)],
        )
        .await?
        .collect()
        .await?;
    let account = rows.first();
    let stored = account
        .and_then(|row| row.get::<String>("password_hash"))
        .unwrap_or_else(|| DECOY_HASH.to_owned());
    let matches = password_matches(&request.password, &stored) && account.is_some();
    let disabled = account.is_some_and(|row| row.get::<bool>("disabled").unwrap_or(true));
    if !matches || disabled {
        let reason = if matches {
            "disabled"
        } else {
            "wrong_credentials"
        };
        record_failed_sign_in(&db, &username, client, reason).await?;
        return Err(if matches {
            Failure::Status(
                StatusCode::FORBIDDEN,
                codes::ACCOUNT_DISABLED,
                "该账号已停用，请联系管理员 (this account is disabled)".into(),
            )
        } else {
            invalid_credentials()
        });
    }
    let row = account.ok_or_else(invalid_credentials)?;
    let role: String = row
        .get("role")
        .ok_or_else(|| Failure::Internal("an account without a role".into()))?;
    let agency: Option<String> = row.get("agency_id");
    let change_required = row.get::<bool>("change_required").unwrap_or(false);
    let pair = in_transaction(&db, async {
        let pair = issue_pair(
            &db,
            uuid::Uuid::new_v4(),
            &username,
            &role,
            agency.as_deref(),
            change_required,
        )
        .await?;
        record(&db, "signed_in", &username, Some(&username), client, None).await?;
        Ok(pair)
    })
    .await?;
    Ok(reply_with(StatusCode::OK, &pair))
}

/// Ends every session of `subject` (in the caller's transaction): a disabled account, a new or
/// reset password, a cancelled or merged citizen. Its live refresh tokens are revoked, and the
/// access tokens issued before now are refused from now on (`access_revocations`, which the
/// front door reads with its rate count), where they lived out their minutes before. A pair
/// issued after, in the same transaction (for the device that changed a password), stays good:
/// the time is the gateway's clock, to the millisecond, as the tokens' `iat` is.
pub(crate) async fn end_sessions(db: &Connection, subject: &str) -> Result<(), Failure> {
    db.execute(
        "update refresh_tokens set revoked_at = now() where subject = $1 and revoked_at is null",
        [text(subject)],
    )
    .await?;
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    db.execute(
        "insert into access_revocations (subject, revoked_at) values ($1, to_timestamp($2::float8)) \
         on conflict (subject) do update \
         set revoked_at = greatest(access_revocations.revoked_at, excluded.revoked_at)",
        [text(subject), now.into()],
    )
    .await?;
    Ok(())
}

/// Ends every session of `subject` at `actor`'s asking (themselves, or an administrator), with
/// the audit log's `signed_out` (`everywhere`), in the caller's transaction.
pub(crate) async fn sign_out_everywhere(
    db: &Connection,
    subject: &str,
    actor: &str,
    client: Option<&str>,
) -> Result<(), Failure> {
    end_sessions(db, subject).await?;
    record(
        db,
        "signed_out",
        actor,
        Some(subject),
        client,
        Some(serde_json::json!({ "everywhere": true })),
    )
    .await
}

/// Records a failed sign-in of `username` (`reason`: `wrong_credentials`, `disabled`,
/// `wrong_current_password`), which [`refuse_if_locked`] counts.
pub(crate) async fn record_failed_sign_in(
    db: &Connection,
    username: &str,
    client: Option<&str>,
    reason: &str,
) -> Result<(), Failure> {
    record(
        db,
        "sign_in_failed",
        username,
        Some(username),
        client,
        Some(serde_json::json!({ "reason": reason })),
    )
    .await
}

/// Refuses (429) while `username` has had [`MAX_FAILURES`] failed sign-ins (or wrong current
/// passwords) within the window, until the oldest of them leaves it.
pub(crate) async fn refuse_if_locked(db: &Connection, username: &str) -> Result<(), Failure> {
    let failures = db
        .query(
            "select count(*) as failures, \
                    extract(epoch from (min(created_at) + make_interval(secs => $2) - now()))::float8 as wait \
             from auth_events where event = 'sign_in_failed' and target = $1 \
               and created_at > now() - make_interval(secs => $2)",
            [text(username), (FAILURE_WINDOW_SECONDS as f64).into()],
        )
        .await?
        .collect()
        .await?;
    if let Some(row) = failures.first()
        && row.get::<i64>("failures").unwrap_or(0) >= MAX_FAILURES
    {
        let wait = row.get::<f64>("wait").unwrap_or(1.0).ceil().max(1.0) as i64;
        return Err(Failure::Limited(codes::TOO_MANY_ATTEMPTS, wait));
    }
    Ok(())
}

/// `POST /api/v1/auth/refresh`.
async fn refresh(body: &[u8]) -> Result<Reply, Failure> {
    let request: RefreshTokenBody = api_plumbing::parse_json(body)?;
    if !request.refresh_token.starts_with("rt_") || request.refresh_token.len() > 100 {
        return Err(invalid_refresh_token());
    }
    let hash = refresh_hash(&request.refresh_token);
    let db = db().await?;
    // A reuse is answered with 401 but its revocation must stick: it commits on its own.
    let outcome = in_transaction(&db, async {
        let rows = db
            .query(
                "select t.family_id, t.subject, t.role, t.agency_id, t.spent_at is not null as spent, \
                        t.revoked_at is not null as revoked, t.expires_at <= now() as expired, \
                        (t.role <> 'citizen' and not exists (select 1 from staff_accounts s \
                            where s.username = t.subject and s.disabled_at is null)) as account_closed, \
                        (t.role <> 'citizen' and exists (select 1 from staff_accounts s \
                            where s.username = t.subject and s.password_changed_at is null)) as change_required \
                 from refresh_tokens t where t.token_hash = $1 for update",
                [text(&hash)],
            )
            .await?
            .collect()
            .await?;
        let Some(row) = rows.first() else {
            return Ok(Err(invalid_refresh_token()));
        };
        let flag = |name: &str| row.get::<bool>(name).unwrap_or(true);
        let family: uuid::Uuid = row
            .get("family_id")
            .ok_or_else(|| Failure::Internal("a token without a family".into()))?;
        let subject: String = row.get("subject").unwrap_or_default();
        if flag("spent") && !flag("revoked") {
            db.execute(
                "update refresh_tokens set revoked_at = now() where family_id = $1 and revoked_at is null",
                [family.into()],
            )
            .await?;
            record(&db, "refresh_reused", &subject, Some(&subject), None, None).await?;
            return Ok(Err(Failure::Status(
                StatusCode::UNAUTHORIZED,
                codes::REFRESH_TOKEN_REUSED,
                "登录凭证已被使用过，为安全起见请重新登录 (refresh token reused: sign in again)".into(),
            )));
        }
        if flag("spent") || flag("revoked") || flag("expired") || flag("account_closed") {
            return Ok(Err(invalid_refresh_token()));
        }
        db.execute(
            "update refresh_tokens set spent_at = now() where token_hash = $1",
            [text(&hash)],
        )
        .await?;
        let role: String = row.get("role").unwrap_or_default();
        let agency: Option<String> = row.get("agency_id");
        // Still restricted while the password is still the administrator's.
        let change_required = row.get::<bool>("change_required").unwrap_or(true);
        issue_pair(
            &db,
            family,
            &subject,
            &role,
            agency.as_deref(),
            change_required,
        )
        .await
        .map(Ok)
    })
    .await?;
    outcome.map(|pair| reply_with(StatusCode::OK, &pair))
}

/// `POST /api/v1/auth/sign-out`: revokes the refresh token's family, which ends its access tokens
/// too (the front door checks their `sid`). Unknown tokens are no error.
async fn sign_out(body: &[u8]) -> Result<Reply, Failure> {
    let request: RefreshTokenBody = api_plumbing::parse_json(body)?;
    let db = db().await?;
    in_transaction(&db, async {
        let rows = db
            .query(
                "update refresh_tokens set revoked_at = now() \
                 where family_id = (select family_id from refresh_tokens where token_hash = $1) \
                   and revoked_at is null returning subject",
                [text(refresh_hash(&request.refresh_token))],
            )
            .await?
            .collect()
            .await?;
        if let Some(subject) = rows.first().and_then(|row| row.get::<String>("subject")) {
            record(&db, "signed_out", &subject, Some(&subject), None, None).await?;
        }
        Ok(())
    })
    .await?;
    Ok(json_reply(StatusCode::NO_CONTENT, String::new()))
}

const ACCOUNTS: &str = "select s.username, s.display_name, s.role, s.agency_id, a.name as agency_name, \
     s.disabled_at is not null as disabled, s.created_by, s.created_at \
     from staff_accounts s left join agencies a on a.agency_id = s.agency_id";

fn account(row: &Row) -> Result<StaffAccount, Failure> {
    let get = |column: &str| {
        row.get::<String>(column)
            .ok_or_else(|| Failure::Internal(format!("column {column} missing")))
    };
    Ok(StaffAccount {
        username: get("username")?,
        display_name: get("display_name")?,
        role: get("role")?,
        agency: row
            .get::<String>("agency_id")
            .zip(row.get::<String>("agency_name"))
            .map(|(code, name)| Named { code, name }),
        disabled: row.get("disabled").unwrap_or(false),
        created_by: get("created_by")?,
        created_at: utc(row, "created_at")?,
    })
}

pub(crate) async fn one_account(db: &Connection, username: &str) -> Result<StaffAccount, Failure> {
    let rows = db
        .query(
            format!("{ACCOUNTS} where s.username = $1"),
            [text(username)],
        )
        .await?
        .collect()
        .await?;
    rows.first().map(account).transpose()?.ok_or_else(not_found)
}

/// `GET /api/v1/admin/staff`.
async fn list_staff() -> Result<Reply, Failure> {
    let rows = db()
        .await?
        .query(format!("{ACCOUNTS} order by s.username"), [])
        .await?
        .collect()
        .await?;
    let items = rows.iter().map(account).collect::<Result<Vec<_>, _>>()?;
    Ok(reply_with(StatusCode::OK, &StaffAccountList { items }))
}

fn valid_username(username: &str) -> bool {
    let bytes = username.as_bytes();
    (3..=64).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes.iter().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// What is wrong with a staff account's name, role and agency: a name of 1 to 50 characters, one
/// of [`STAFF_ROLES`], and an agency for agency staff and for no one else.
fn placement_problems(display_name: &str, role: &str, agency: Option<&str>) -> Vec<FieldError> {
    let mut problems = Vec::new();
    if display_name.is_empty() || display_name.chars().count() > 50 {
        problems.push(field_error(
            "display_name",
            "invalid_value",
            "姓名 1 到 50 个字",
        ));
    }
    if !STAFF_ROLES.contains(&role) {
        problems.push(field_error(
            "role",
            "invalid_value",
            "应为 operator、agency_staff、supervisor、leader 或 admin",
        ));
    }
    match (role == "agency_staff", agency.is_some()) {
        (true, false) => problems.push(field_error(
            "agency",
            "required",
            "承办单位工作人员须属于一个承办单位 (agency staff belong to an agency)",
        )),
        (false, true) => problems.push(field_error(
            "agency",
            "field_not_allowed",
            "只有承办单位工作人员属于承办单位 (only agency staff belong to an agency)",
        )),
        _ => {}
    }
    problems
}

fn unknown_agency() -> Failure {
    Failure::Fields(vec![field_error(
        "agency",
        "unknown_agency",
        "没有这个承办单位 (no such agency)",
    )])
}

/// `PUT /api/v1/admin/staff/{username}`: the account's name, role and agency as they are to be.
/// A new role or agency ends its sessions (the tokens, and the refresh tokens' rows, carry both),
/// in the transaction that changes them, with the audit log's `staff_changed` (before and after).
/// Not one's own role or agency: an administrator could lock the last one out.
async fn change_staff(admin: &str, username: &str, body: &[u8]) -> Result<Reply, Failure> {
    let change: StaffAccountChange = api_plumbing::parse_json(body)?;
    let display_name = change.display_name.trim().to_owned();
    let problems = placement_problems(&display_name, &change.role, change.agency.as_deref());
    if !problems.is_empty() {
        return Err(Failure::Fields(problems));
    }
    let db = db().await?;
    in_transaction(&db, async {
        let rows = db
            .query(
                "select s.display_name, s.role, s.agency_id, \
                        $2::text is null or exists (select 1 from agencies where agency_id = $2) as agency_known \
                 from staff_accounts s where s.username = $1 for update",
                [text(username), change.agency.clone().into()],
            )
            .await?
            .collect()
            .await?;
        let row = rows.first().ok_or_else(not_found)?;
        if row.get::<bool>("agency_known") != Some(true) {
            return Err(unknown_agency());
        }
        let before = (
            row.get::<String>("display_name").unwrap_or_default(),
            row.get::<String>("role").unwrap_or_default(),
            row.get::<String>("agency_id"),
        );
        let placed_anew = before.1 != change.role || before.2 != change.agency;
        if placed_anew && username == admin {
            return Err(Failure::Fields(vec![field_error(
                "role",
                "cannot_change_self",
                "不能修改自己的角色或单位 (you cannot change your own role or agency)",
            )]));
        }
        db.execute(
            "update staff_accounts set display_name = $2, role = $3, agency_id = $4 where username = $1",
            [
                text(username),
                text(&display_name),
                text(&change.role),
                change.agency.clone().into(),
            ],
        )
        .await?;
        if placed_anew {
            end_sessions(&db, username).await?;
        }
        record(
            &db,
            "staff_changed",
            admin,
            Some(username),
            None,
            Some(serde_json::json!({
                "before": { "display_name": before.0, "role": before.1, "agency": before.2 },
                "after": { "display_name": display_name, "role": change.role, "agency": change.agency },
            })),
        )
        .await
    })
    .await?;
    let account = one_account(&db, username).await?;
    Ok(reply_with(StatusCode::OK, &account))
}

/// `POST /api/v1/admin/staff`.
async fn create_staff(admin: &str, body: &[u8]) -> Result<Reply, Failure> {
    let new: NewStaffAccount = api_plumbing::parse_json(body)?;
    let display_name = new.display_name.trim().to_owned();
    let mut problems = Vec::new();
    if !valid_username(&new.username) {
        problems.push(field_error(
            "username",
            "invalid_value",
            "3–64 个字符：小写字母、数字、. _ - (lower-case letters, digits, . _ -)",
        ));
    }
    problems.extend(placement_problems(
        &display_name,
        &new.role,
        new.agency.as_deref(),
    ));
    problems.extend(weak_password("password", &new.password, &new.username));
    if !problems.is_empty() {
        return Err(Failure::Fields(problems));
    }
    let hash = hash_password(&new.password)?;
    let db = db().await?;
    let inserted = in_transaction(&db, async {
        let inserted = db
            .query(
                "insert into staff_accounts (username, display_name, role, agency_id, password_hash, created_by) \
                 select $1, $2, $3, $4, $5, $6 \
                 where $4::text is null or exists (select 1 from agencies where agency_id = $4) \
                 on conflict (username) do nothing returning username",
                [
                    text(&new.username),
                    text(&display_name),
                    text(&new.role),
                    new.agency.clone().into(),
                    text(&hash),
                    text(admin),
                ],
            )
            .await?
            .collect()
            .await?;
        if inserted.is_empty() {
            return Ok(false);
        }
        record(
            &db,
            "staff_created",
            admin,
            Some(&new.username),
            None,
            Some(serde_json::json!({ "role": new.role, "agency": new.agency })),
        )
        .await?;
        Ok(true)
    })
    .await?;
    if !inserted {
        let taken = db
            .query(
                "select 1 as found from staff_accounts where username = $1",
                [text(&new.username)],
            )
            .await?
            .collect()
            .await?;
        return Err(if taken.is_empty() {
            unknown_agency()
        } else {
            Failure::Status(
                StatusCode::CONFLICT,
                codes::USERNAME_TAKEN,
                "该用户名已被使用 (the username is taken)".into(),
            )
        });
    }
    let created = one_account(&db, &new.username).await?;
    Ok(reply_with(StatusCode::CREATED, &created))
}

/// `POST /api/v1/admin/staff/{username}/sign-out` (强制下线): ends every session of the account
/// ([`end_sessions`]) without disabling it, for a phone reported lost by someone with no other
/// device to sign out from; the audit log's `signed_out`, by the administrator, in the same
/// transaction. 204.
async fn sign_out_staff(
    admin: &str,
    username: &str,
    client: Option<&str>,
) -> Result<Reply, Failure> {
    let db = db().await?;
    in_transaction(&db, async {
        let found = db
            .query(
                "select 1 as found from staff_accounts where username = $1 for update",
                [text(username)],
            )
            .await?
            .collect()
            .await?;
        if found.is_empty() {
            return Err(not_found());
        }
        sign_out_everywhere(&db, username, admin, client).await
    })
    .await?;
    Ok(json_reply(StatusCode::NO_CONTENT, String::new()))
}

/// `POST /api/v1/admin/staff/{username}/disable` and `.../enable`.
async fn set_disabled(admin: &str, username: &str, disable: bool) -> Result<Reply, Failure> {
    if disable && username == admin {
        return Err(Failure::Fields(vec![field_error(
            "username",
            "cannot_disable_self",
            "不能停用自己的账号 (you cannot disable your own account)",
        )]));
    }
    let db = db().await?;
    in_transaction(&db, async {
        let changed = db
            .execute(
                "update staff_accounts set disabled_at = case when $2 then coalesce(disabled_at, now()) end \
                 where username = $1",
                [text(username), disable.into()],
            )
            .await?;
        if changed == 0 {
            return Err(not_found());
        }
        if disable {
            end_sessions(&db, username).await?;
        }
        let event = if disable {
            "staff_disabled"
        } else {
            "staff_enabled"
        };
        record(&db, event, admin, Some(username), None, None).await
    })
    .await?;
    let account = one_account(&db, username).await?;
    Ok(reply_with(StatusCode::OK, &account))
}

/// `GET /api/v1/admin/audit?action=&actor=&limit=`: newest first.
async fn audit(query: &str) -> Result<Reply, Failure> {
    let limit = match api_plumbing::query_param(query, "limit") {
        None => 100,
        Some(raw) => match raw.parse::<i64>() {
            Ok(limit) if (1..=500).contains(&limit) => limit,
            _ => {
                return Err(Failure::Fields(vec![field_error(
                    "limit",
                    "out_of_range",
                    "每页 1 到 500 条 (limit must be 1–500)",
                )]));
            }
        },
    };
    let action = api_plumbing::query_param(query, "action").filter(|a| !a.is_empty());
    let actor = api_plumbing::query_param(query, "actor").filter(|a| !a.is_empty());
    let db = db().await?;
    let rows = in_transaction(&db, async {
        db.execute(order_store::audit::SETTINGS, []).await?;
        Ok(db
            .query(
                order_store::audit::PAGE,
                [
                    action.map(str::to_owned).into(),
                    actor.map(str::to_owned).into(),
                    limit.into(),
                ],
            )
            .await?
            .collect()
            .await?)
    })
    .await?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(AuditEntry {
                at: utc(row, "at")?,
                actor: row.get("actor").unwrap_or_default(),
                action: row.get("action").unwrap_or_default(),
                target: row.get("target"),
                detail: row.get("detail"),
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    Ok(reply_with(StatusCode::OK, &AuditLog { items }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_hash_parses_and_matches_nothing_likely() {
        let hash = PasswordHash::new(DECOY_HASH).expect("a PHC string");
        assert_eq!(hash.algorithm.as_str(), "argon2id");
        assert!(!password_matches("", DECOY_HASH));
        assert!(!password_matches("password", DECOY_HASH));
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse battery staple").expect("hashed");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(password_matches("correct horse battery staple", &hash));
        assert!(!password_matches("correct horse battery stapl", &hash));
    }

    #[test]
    fn usernames() {
        assert!(valid_username("wang.li-2"));
        assert!(!valid_username("Wang"));
        assert!(!valid_username("ab"));
        assert!(!valid_username(".hidden"));
        assert!(!valid_username("王力"));
    }
}
