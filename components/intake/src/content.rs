//! WeChat's content check of what a mini-program citizen wrote (msgSecCheck, version 2), which
//! WeChat asks of mini-programs that show users' text to others.
//!
//! A filing is never refused for it: a complaint reaches the hotline whatever its words. The
//! verdict only decides whether other citizens see the request among those nearby: only text
//! WeChat passed is shown (`review` and `risky` are not, nor text that could not be checked).
//! The check runs before the filing's transaction, so no lock waits on WeChat.
//!
//! When WeChat cannot be asked at filing (an outage, its rate limit), the request is stored
//! `unchecked` and checked again by `POST /internal/content-checks`, every minute, so that an
//! outage delays the check rather than hiding the request for good: within two hours of filing,
//! as WeChat checks a user's text only within two hours of their last visit to the mini-program.
//! What WeChat refuses to check for the request itself (an openid it does not know, say) is
//! stored `refused` and not asked again. Either way, it is not shown to others until it passes.

use crate::error::ApiError;
use api_plumbing::outbound::{post, wechat_access_token};
use api_plumbing::{Reply, variable};
use order_store::db::Row;
use order_store::{CLOSED_STATUSES, required, text};
use spin_sdk::http::StatusCode;

/// How long after filing an unchecked request is checked again (WeChat's own limit: a user's
/// text is checked only within two hours of their last visit, and filing was one).
const RECHECK_HOURS: i64 = 2;
/// Requests checked again in one run, oldest first.
const RECHECK_BATCH: i64 = 50;

/// The verdict to store: `pass`, `review`, `risky`; `unchecked` when WeChat could not be asked
/// (no openid, an outage), to be asked again; `refused` when it would not check this text.
pub async fn check(openid: Option<&str>, title: &str, description: &str) -> &'static str {
    let Some(openid) = openid else {
        return "unchecked";
    };
    match verdict(openid, title, description).await {
        Ok(verdict) => verdict.code(),
        Err(error) => {
            eprintln!(
                "intake: WeChat's content check failed ({error:?}); the text is not shown to others"
            );
            if transient(error) {
                "unchecked"
            } else {
                "refused"
            }
        }
    }
}

/// WeChat's verdict, asking again with a new access token if it refused the one it had; or the
/// errcode it answered with, `None` when it could not be asked.
async fn verdict(
    openid: &str,
    title: &str,
    description: &str,
) -> Result<push::wechat::Verdict, Option<i64>> {
    let content = format!("{title}\n{description}");
    match ask(openid, title, &content, false).await {
        Err(Some(code)) if push::wechat::token_refused(code) => {
            ask(openid, title, &content, true).await
        }
        outcome => outcome,
    }
}

/// Whether a failed check may pass later: WeChat unreachable, busy (-1), its answer unreadable
/// (-2, e.g. a proxy's error page), an access token it keeps refusing, or its rate limits
/// (45009 a day, 45011 a minute). Anything else is about this check itself.
fn transient(error: Option<i64>) -> bool {
    match error {
        None => true,
        Some(code) => matches!(code, -1 | -2 | 45009 | 45011) || push::wechat::token_refused(code),
    }
}

/// `POST /internal/content-checks` (the runtime's schedule, every minute): the open requests
/// filed in the last two hours whose text WeChat could not be asked about are asked about now,
/// oldest first; a run stops at the first check that fails for WeChat's own reasons (it is still
/// out), and the next run goes on. Two runs at once may ask about the same request twice, which
/// stores the same verdict.
pub async fn recheck() -> Result<Reply, ApiError> {
    let db = api_plumbing::connect().await?;
    let waiting = db
        .query(
            format!(
                "select o.work_order_id, o.title, o.description, c.wechat_openid \
                 from work_orders o join citizens c on c.citizen_id = o.citizen_id \
                 where o.content_check = 'unchecked' \
                   and o.created_at > now() - make_interval(hours => $1::int) \
                   and o.status not in {CLOSED_STATUSES} and c.wechat_openid is not null \
                 order by o.created_at limit $2"
            ),
            [RECHECK_HOURS.into(), RECHECK_BATCH.into()],
        )
        .await?
        .collect()
        .await?;
    // Not held while WeChat is asked (up to its time limit each): a connection from the pool for
    // each verdict instead.
    drop(db);
    let (mut checked, mut left) = (0, 0);
    for row in &waiting {
        let (order, openid, title, description) = waiting_order(row)?;
        let stored = match verdict(&openid, &title, &description).await {
            Ok(verdict) => verdict.code(),
            Err(error) if transient(error) => {
                eprintln!("intake: WeChat's content check still fails ({error:?}); trying later");
                left = waiting.len() - checked;
                break;
            }
            Err(error) => {
                eprintln!("intake: WeChat refused to check a request's text ({error:?})");
                "refused"
            }
        };
        let db = api_plumbing::connect().await?;
        db.execute(
            "update work_orders set content_check = $2 \
             where work_order_id = $1 and content_check = 'unchecked'",
            [order.into(), text(stored)],
        )
        .await?;
        checked += 1;
    }
    Ok(api_plumbing::reply_with(
        StatusCode::OK,
        &serde_json::json!({ "checked": checked, "left": left }),
    ))
}

fn waiting_order(row: &Row) -> Result<(uuid::Uuid, String, String, String), ApiError> {
    Ok((
        required(row, "work_order_id")?,
        required(row, "wechat_openid")?,
        required(row, "title")?,
        required(row, "description")?,
    ))
}

/// One check; the errcode WeChat answered with, or `None` when it could not be asked.
async fn ask(
    openid: &str,
    title: &str,
    content: &str,
    force: bool,
) -> Result<push::wechat::Verdict, Option<i64>> {
    let token = wechat_access_token(force).await.map_err(|e| {
        eprintln!("intake: {e}");
        None
    })?;
    let base = variable("wechat_base_url").await.map_err(|_| None)?;
    let url = format!(
        "{base}{}?access_token={token}",
        push::wechat::SEC_CHECK_PATH
    );
    let body = push::wechat::sec_check_body(openid, title, content).to_string();
    let answer = post(
        &url,
        &[("content-type", "application/json".to_owned())],
        body.into_bytes(),
    )
    .await
    .map_err(|e| {
        eprintln!("intake: {e}");
        None
    })?;
    push::wechat::read_sec_check(&answer.body).map_err(Some)
}
