//! Citizens in the WeChat mini-program sign in with the code from `wx.login()`, exchanged here,
//! server-side, for the user's openid (`jscode2session`, with the app id and secret from Spin
//! variables). The `session_key` WeChat returns is neither stored nor passed on.
//!
//! A WeChat citizen can bind a phone number (proved with an SMS code): if the number already has
//! a citizen (an operator filed a call for it, or its owner signed in by SMS), the two become one —
//! the WeChat citizen's requests and follows move to the number's citizen, which takes the openid —
//! and the tokens issued afterwards are that citizen's.

use crate::auth::Principal;
use crate::identity::{Failure, citizen, db, in_transaction, issue, record, text, variable};
use crate::sms_sign_in::{consume_code, phone_of};
use api_plumbing::{Reply, reply_with};
use mobile_api::{BindPhone, WechatSignIn, codes};
use order_store::db::Connection;
use spin_sdk::http::StatusCode;

fn unavailable() -> Failure {
    Failure::Status(
        StatusCode::SERVICE_UNAVAILABLE,
        codes::WECHAT_UNAVAILABLE,
        "暂时无法使用微信登录，请稍后再试 (WeChat sign-in is unavailable now)".into(),
    )
}

/// Percent-encodes a query value (the code comes from the client).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Calls `jscode2session` once; `Err(Some(errcode))` for WeChat's refusals.
async fn jscode2session(code: &str) -> Result<Result<String, i64>, Failure> {
    let app_id = variable("wechat_app_id").await?;
    let secret = variable("wechat_app_secret").await?;
    if app_id.is_empty() || secret.is_empty() {
        eprintln!("gateway: WeChat is not configured (wechat_app_id, wechat_app_secret)");
        return Err(unavailable());
    }
    let url = format!(
        "{}/sns/jscode2session?appid={}&secret={}&js_code={}&grant_type=authorization_code",
        variable("wechat_base_url").await?.trim_end_matches('/'),
        encode(&app_id),
        encode(&secret),
        encode(code)
    );
    let response = match spin_sdk::http::get(url).await {
        Ok(response) => response,
        Err(e) => {
            eprintln!("gateway: WeChat is unreachable: {e:?}");
            return Err(unavailable());
        }
    };
    use spin_sdk::http::body::IncomingBodyExt;
    let status = response.status().as_u16();
    let body = response.into_body().bytes().await.unwrap_or_default();
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        eprintln!("gateway: WeChat answered {status} without JSON");
        return Err(unavailable());
    };
    match (value["openid"].as_str(), value["errcode"].as_i64()) {
        (Some(openid), None | Some(0)) if !openid.is_empty() => Ok(Ok(openid.to_owned())),
        (_, Some(errcode)) => Ok(Err(errcode)),
        _ => {
            eprintln!("gateway: WeChat answered {status} with neither openid nor errcode");
            Err(unavailable())
        }
    }
}

/// The openid for a login code, or the clear refusal for WeChat's error code.
async fn openid_for(code: &str) -> Result<String, Failure> {
    let mut answer = jscode2session(code).await?;
    // -1: WeChat is busy; once more is what WeChat asks.
    if answer == Err(-1) {
        answer = jscode2session(code).await?;
    }
    answer.map_err(|errcode| match errcode {
        40029 | 40163 => Failure::Status(
            StatusCode::UNAUTHORIZED,
            codes::INVALID_WECHAT_CODE,
            "微信登录凭证无效或已使用，请重新登录 (the WeChat login code is invalid or used)"
                .into(),
        ),
        40226 => Failure::Status(
            StatusCode::FORBIDDEN,
            codes::WECHAT_USER_BLOCKED,
            "微信判定该账号存在风险，暂不能登录 (WeChat flags this account as high-risk)".into(),
        ),
        45011 | -1 => Failure::Limited(codes::WECHAT_BUSY, 60),
        other => {
            eprintln!("gateway: WeChat refused jscode2session with errcode {other}");
            unavailable()
        }
    })
}

/// `POST /api/v1/auth/wechat/sign-in`.
pub async fn sign_in(body: &[u8], client: Option<&str>) -> Result<Reply, Failure> {
    let request: WechatSignIn = api_plumbing::parse_json(body)?;
    let code = request.code.trim();
    if code.is_empty() || code.len() > 128 {
        return Err(Failure::Fields(vec![api_plumbing::field_error(
            "code",
            "invalid_value",
            "缺少微信登录凭证 (the code from wx.login() is required)",
        )]));
    }
    let openid = openid_for(code).await?;
    let db = db().await?;
    let pair = in_transaction(&db, async {
        let subject = citizen(&db, order_store::CitizenKey::Openid(&openid)).await?;
        let pair = issue(&db, uuid::Uuid::new_v4(), &subject, "citizen", None).await?;
        record(
            &db,
            "signed_in",
            &subject,
            Some(&subject),
            client,
            Some(serde_json::json!({ "method": "wechat" })),
        )
        .await?;
        Ok(pair)
    })
    .await?;
    Ok(reply_with(StatusCode::OK, &pair))
}

/// `POST /api/v1/auth/wechat/bind-phone`: new tokens, for the one citizen the two now are.
pub async fn bind_phone(
    principal: Option<&Principal>,
    body: &[u8],
    client: Option<&str>,
) -> Result<Reply, Failure> {
    let request: BindPhone = api_plumbing::parse_json(body)?;
    let phone = phone_of(&request.phone)?;
    let subject = principal.map(|p| p.subject.clone()).unwrap_or_default();
    let db = db().await?;
    let outcome = in_transaction(&db, async {
        let me = db
            .query(
                "select citizen_id, wechat_openid from citizens where subject = $1 for update",
                [text(&subject)],
            )
            .await?
            .collect()
            .await?;
        let Some((me_id, openid)) = me.first().and_then(|row| {
            Some((
                row.get::<uuid::Uuid>("citizen_id")?,
                row.get::<String>("wechat_openid")?,
            ))
        }) else {
            return Ok(Err(Failure::Status(
                StatusCode::CONFLICT,
                codes::NOT_A_WECHAT_CITIZEN,
                "请先用微信登录 (sign in through WeChat first)".into(),
            )));
        };
        if let Some(refusal) = consume_code(&db, &phone, &request.code, client).await? {
            return Ok(Err(refusal));
        }
        let owner = db
            .query(
                "select citizen_id, subject, wechat_openid from citizens where phone = $1 for update",
                [text(&phone)],
            )
            .await?
            .collect()
            .await?;
        let subject_after = match owner.first() {
            None => {
                db.execute(
                    "update citizens set phone = $2 where citizen_id = $1",
                    [me_id.into(), text(&phone)],
                )
                .await?;
                subject.clone()
            }
            Some(row) => {
                let owner_id: uuid::Uuid = row
                    .get("citizen_id")
                    .ok_or_else(|| Failure::Internal("a citizen without an id".into()))?;
                let owner_subject: String = row.get("subject").unwrap_or_default();
                match row.get::<String>("wechat_openid") {
                    Some(bound) if bound == openid => owner_subject,
                    Some(_) => {
                        return Ok(Err(Failure::Status(
                            StatusCode::CONFLICT,
                            codes::PHONE_BOUND_ELSEWHERE,
                            "该手机号已绑定其他微信账号 (the number is bound to another WeChat account)"
                                .into(),
                        )));
                    }
                    None => {
                        merge_into(&db, me_id, owner_id, &openid).await?;
                        crate::identity::end_sessions(&db, &subject).await?;
                        owner_subject
                    }
                }
            }
        };
        record(
            &db,
            "phone_bound",
            &subject,
            Some(&subject_after),
            client,
            Some(serde_json::json!({ "phone": phone })),
        )
        .await?;
        issue(&db, uuid::Uuid::new_v4(), &subject_after, "citizen", None)
            .await
            .map(Ok)
    })
    .await?;
    outcome.map(|pair| reply_with(StatusCode::OK, &pair))
}

/// Moves the WeChat citizen's requests and follows to the phone number's citizen, gives it the
/// openid, and removes the WeChat-only row.
async fn merge_into(
    db: &Connection,
    from: uuid::Uuid,
    into: uuid::Uuid,
    openid: &str,
) -> Result<(), Failure> {
    db.execute(
        "update work_orders set citizen_id = $2 where citizen_id = $1",
        [from.into(), into.into()],
    )
    .await?;
    // A follow of the other's own order, or of an order both follow, is dropped.
    db.execute(
        "delete from order_followers f where f.citizen_id = $1 and (\
             exists (select 1 from order_followers g where g.citizen_id = $2 and g.work_order_id = f.work_order_id) \
             or exists (select 1 from work_orders o where o.work_order_id = f.work_order_id and o.citizen_id = $2))",
        [from.into(), into.into()],
    )
    .await?;
    db.execute(
        "update order_followers set citizen_id = $2 where citizen_id = $1",
        [from.into(), into.into()],
    )
    .await?;
    db.execute("delete from citizens where citizen_id = $1", [from.into()])
        .await?;
    db.execute(
        "update citizens set wechat_openid = $2 where citizen_id = $1",
        [into.into(), text(openid)],
    )
    .await?;
    Ok(())
}
