//! `GET /api/v1/me`: the caller's account as the platform holds it (for a citizen, what the
//! Personal Information Protection Law lets them look up); `DELETE /api/v1/me`: a citizen cancels
//! their account (注销账号), as apps in China must let them and that law gives them the right to.
//!
//! In one transaction: what the platform knew of them to sign them in and reach them goes — the
//! phone number and WeChat openid on their row, their phones (push tokens), their refresh tokens,
//! the requests they followed, the answers kept for their retries, the photos they uploaded and
//! named in nothing — and their row's subject becomes `cancelled:<citizen_id>`, with the inbox
//! they had moved under it and the photos their requests show. Their requests stay on
//! record and are still handled (the centre and the agencies hold them; news of them goes by SMS
//! to the contact number each was filed with, as for a caller without the app). Signing in again
//! with the number, theirs or one the carrier has given someone new, is a new account that sees
//! none of it. The cancellation is in the audit log (`account_cancelled`), under the new subject.
//! Access tokens already issued are refused from then on (`token_revoked`, [`end_sessions`]).
//!
//! `POST /api/v1/me/sign-out-everywhere` ends every session of anyone signed in, this one too.

use api_plumbing::{Reply, json_reply, reply_with};
use mobile_api::{AccountCancelled, MyAccount, Named};
use spin_sdk::http::StatusCode;

use crate::auth::Principal;
use crate::identity::{Failure, db, end_sessions, in_transaction, record, text};

/// `GET /api/v1/me`: the account of `principal` as the platform holds it. A citizen the platform
/// has not met yet (no sign-in, no request) holds nothing; a staff token minted by hand (`hotline
/// token`, for the demo and tests) holds no account, only the agency it acts for.
pub async fn me(principal: Option<&Principal>) -> Result<Reply, Failure> {
    let principal = principal.ok_or_else(|| Failure::Internal("no principal".into()))?;
    let db = db().await?;
    let statement = if principal.role == "citizen" {
        "select null::text as display_name, null::text as agency_id, null::text as agency_name, \
                c.phone, c.wechat_openid is not null as wechat_bound, false as change_required, \
                c.created_at as since, \
                (select count(*) from work_orders o where o.citizen_id = c.citizen_id) as requests, \
                (select count(*) from order_followers f where f.citizen_id = c.citizen_id) as following \
         from citizens c where c.subject = $1"
    } else {
        "select s.display_name, coalesce(a.agency_id, $2) as agency_id, a.name as agency_name, \
                null::text as phone, false as wechat_bound, \
                s.username is not null and s.password_changed_at is null as change_required, \
                s.created_at as since, 0::int8 as requests, 0::int8 as following \
         from (select) one left join staff_accounts s on s.username = $1 \
         left join agencies a on a.agency_id = coalesce(s.agency_id, $2)"
    };
    let mut parameters = vec![text(&principal.subject)];
    if principal.role != "citizen" {
        parameters.push(principal.agency.clone().into());
    }
    let rows = db.query(statement, parameters).await?.collect().await?;
    let devices = db
        .query(
            "select count(*) as n from devices where subject = $1",
            [text(&principal.subject)],
        )
        .await?
        .collect()
        .await?;
    let row = rows.first();
    let get = |column: &str| row.and_then(|row| row.get::<String>(column));
    let count = |column: &str| row.and_then(|row| row.get::<i64>(column)).unwrap_or(0);
    let account = MyAccount {
        subject: principal.subject.clone(),
        role: principal.role.clone(),
        display_name: get("display_name"),
        agency: get("agency_id").map(|code| Named {
            name: get("agency_name").unwrap_or_else(|| code.clone()),
            code,
        }),
        phone: get("phone"),
        wechat_bound: row.is_some_and(|row| row.get::<bool>("wechat_bound").unwrap_or(false)),
        devices: devices
            .first()
            .and_then(|row| row.get::<i64>("n"))
            .unwrap_or(0),
        requests: count("requests"),
        following: count("following"),
        password_change_required: row
            .is_some_and(|row| row.get::<bool>("change_required").unwrap_or(false)),
        since: row.and_then(|row| {
            row.get::<chrono::NaiveDateTime>("since")
                .map(|t| t.and_utc())
        }),
    };
    Ok(reply_with(StatusCode::OK, &account))
}

/// `POST /api/v1/me/sign-out-everywhere`: ends every session of `principal`, on every phone and
/// computer, this one too (a lost phone, a shared computer left signed in): its refresh tokens
/// revoked and the access tokens issued until now refused ([`end_sessions`]), with the audit
/// log's `signed_out` (`everywhere`), in one transaction.
pub async fn sign_out_everywhere(
    principal: Option<&Principal>,
    client: Option<&str>,
) -> Result<Reply, Failure> {
    let subject = principal
        .map(|p| p.subject.clone())
        .ok_or_else(|| Failure::Internal("no principal".into()))?;
    let db = db().await?;
    in_transaction(&db, async {
        crate::identity::sign_out_everywhere(&db, &subject, &subject, client).await
    })
    .await?;
    Ok(json_reply(StatusCode::NO_CONTENT, String::new()))
}

/// Cancels the account of the citizen `principal` is.
pub async fn cancel(principal: Option<&Principal>, client: Option<&str>) -> Result<Reply, Failure> {
    let subject = principal.map(|p| p.subject.clone()).unwrap_or_default();
    let db = db().await?;
    let cancelled = in_transaction(&db, async {
        let rows = db
            .query(
                "update citizens c set subject = 'cancelled:' || c.citizen_id, phone = null, \
                     wechat_openid = null, cancelled_at = now() \
                 where c.subject = $1 \
                 returning c.citizen_id, c.subject, \
                     (select count(*) from work_orders o where o.citizen_id = c.citizen_id) as requests",
                [text(&subject)],
            )
            .await?
            .collect()
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let (id, after, requests) = match (
            row.get::<uuid::Uuid>("citizen_id"),
            row.get::<String>("subject"),
            row.get::<i64>("requests"),
        ) {
            (Some(id), Some(after), Some(requests)) => (id, after, requests),
            _ => return Err(Failure::Internal("a cancelled citizen's row".into())),
        };
        for statement in [
            "delete from devices where subject = $1",
            "delete from idempotency_keys where subject = $1",
            "delete from photos where uploader = $1 and attached_at is null",
        ] {
            db.execute(statement, [text(&subject)]).await?;
        }
        // The photos their requests show stay with them, no longer the number's to name: a new
        // account signing in with it names none of them.
        db.execute(
            "update photos set uploader = $2 where uploader = $1",
            [text(&subject), text(&after)],
        )
        .await?;
        end_sessions(&db, &subject).await?;
        db.execute(
            "delete from order_followers where citizen_id = $1",
            [id.into()],
        )
        .await?;
        db.execute(
            "update notifications set recipient = $2 where recipient = $1",
            [text(&subject), text(&after)],
        )
        .await?;
        record(
            &db,
            "account_cancelled",
            &after,
            Some(&after),
            client,
            Some(serde_json::json!({ "requests": requests })),
        )
        .await?;
        Ok(Some(requests))
    })
    .await?;
    let Some(requests_kept) = cancelled else {
        return Err(Failure::Status(
            StatusCode::NOT_FOUND,
            mobile_api::codes::NOT_FOUND,
            "没有这个账号，或已注销 (no such account, or cancelled already)".into(),
        ));
    };
    let notice = if requests_kept == 0 {
        "账号已注销，您的手机号、微信和设备信息已删除。".to_owned()
    } else {
        format!(
            "账号已注销，您的手机号、微信和设备信息已删除。您提交的 {requests_kept} 件诉求仍将依法办理并存档，\
             重要进展将以短信告知诉求登记的联系电话。"
        )
    };
    Ok(reply_with(
        StatusCode::OK,
        &AccountCancelled {
            requests_kept,
            notice,
        },
    ))
}
