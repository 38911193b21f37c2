//! Staff passwords after the account is made: each person changes their own
//! (`POST /api/v1/me/password`), and an administrator sets a new one for someone who lost theirs
//! (`POST /api/v1/admin/staff/{username}/password`).
//!
//! - A change needs the current password. A wrong one counts as a failed sign-in of the account
//!   (`sign_in_failed`, `wrong_current_password`), under the same limit, so a stolen access token
//!   cannot try passwords faster than the sign-in form can.
//! - Either way, every refresh token of the account is revoked in the transaction that stores the
//!   new hash: whoever signed in with the old password is out once their access token runs out. A
//!   change answers with a new pair, so the phone it was made on stays signed in.
//! - A password an administrator chose (at creation, or a reset) is known to two people: until its
//!   holder changes it, signing in says so (`password_change_required`).
//! - Each is in the audit log (`password_changed`, `password_reset`), never with the password.

use api_plumbing::{Reply, field_error, reply_with};
use mobile_api::{PasswordChange, PasswordReset};
use spin_sdk::http::StatusCode;

use crate::auth::Principal;
use crate::identity::{
    Failure, MAX_PASSWORD, db, end_sessions, hash_password, in_transaction, issue, one_account,
    password_matches, record, record_failed_sign_in, refuse_if_locked, text, weak_password,
};

/// `POST /api/v1/me/password`: a new token pair once changed.
pub async fn change(
    principal: Option<&Principal>,
    body: &[u8],
    client: Option<&str>,
) -> Result<Reply, Failure> {
    let request: PasswordChange = api_plumbing::parse_json(body)?;
    let principal = principal.ok_or_else(|| Failure::Internal("no principal".into()))?;
    let username = principal.subject.clone();
    let db = db().await?;
    refuse_if_locked(&db, &username).await?;
    let rows = db
        .query(
            "select password_hash from staff_accounts where username = $1 and disabled_at is null",
            [text(&username)],
        )
        .await?
        .collect()
        .await?;
    let Some(stored) = rows
        .first()
        .and_then(|row| row.get::<String>("password_hash"))
    else {
        return Err(Failure::Status(
            StatusCode::NOT_FOUND,
            mobile_api::codes::NOT_FOUND,
            "没有这个账号 (no such account)".into(),
        ));
    };
    if request.current_password.len() > MAX_PASSWORD
        || !password_matches(&request.current_password, &stored)
    {
        record_failed_sign_in(&db, &username, client, "wrong_current_password").await?;
        return Err(Failure::Fields(vec![field_error(
            "current_password",
            "wrong_password",
            "当前密码不正确 (the current password is wrong)",
        )]));
    }
    let mut problems: Vec<_> = weak_password("new_password", &request.new_password, &username)
        .into_iter()
        .collect();
    if request.new_password == request.current_password {
        problems.push(field_error(
            "new_password",
            "same_password",
            "新密码不能与当前密码相同 (the new password is the current one)",
        ));
    }
    if !problems.is_empty() {
        return Err(Failure::Fields(problems));
    }
    let hash = hash_password(&request.new_password)?;
    let pair = in_transaction(&db, async {
        db.execute(
            "update staff_accounts set password_hash = $2, password_changed_at = now() where username = $1",
            [text(&username), text(&hash)],
        )
        .await?;
        end_sessions(&db, &username).await?;
        record(
            &db,
            "password_changed",
            &username,
            Some(&username),
            client,
            None,
        )
        .await?;
        issue(
            &db,
            uuid::Uuid::new_v4(),
            &username,
            &principal.role,
            principal.agency.as_deref(),
        )
        .await
    })
    .await?;
    Ok(reply_with(StatusCode::OK, &pair))
}

/// `POST /api/v1/admin/staff/{username}/password`: the account as it stands.
pub async fn reset(
    admin: &str,
    username: &str,
    body: &[u8],
    client: Option<&str>,
) -> Result<Reply, Failure> {
    let request: PasswordReset = api_plumbing::parse_json(body)?;
    if username == admin {
        return Err(Failure::Fields(vec![field_error(
            "username",
            "cannot_reset_self",
            "请用 /api/v1/me/password 修改自己的密码 (change your own password with the current one)",
        )]));
    }
    if let Some(problem) = weak_password("password", &request.password, username) {
        return Err(Failure::Fields(vec![problem]));
    }
    let hash = hash_password(&request.password)?;
    let db = db().await?;
    let found = in_transaction(&db, async {
        let changed = db
            .execute(
                "update staff_accounts set password_hash = $2, password_changed_at = null where username = $1",
                [text(username), text(&hash)],
            )
            .await?;
        if changed == 0 {
            return Ok(false);
        }
        end_sessions(&db, username).await?;
        record(&db, "password_reset", admin, Some(username), client, None).await?;
        Ok(true)
    })
    .await?;
    if !found {
        return Err(Failure::Status(
            StatusCode::NOT_FOUND,
            mobile_api::codes::NOT_FOUND,
            "没有这个账号 (no such account)".into(),
        ));
    }
    let account = one_account(&db, username).await?;
    Ok(reply_with(StatusCode::OK, &account))
}
