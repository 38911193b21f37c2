//! WeChat's content check of what a mini-program citizen wrote (msgSecCheck, version 2), which
//! WeChat asks of mini-programs that show users' text to others.
//!
//! A filing is never refused for it: a complaint reaches the hotline whatever its words. The
//! verdict only decides whether other citizens see the request among those nearby: only text
//! WeChat passed is shown (`review` and `risky` are not, nor text that could not be checked).
//! The check runs before the filing's transaction, so no lock waits on WeChat.

use api_plumbing::outbound::{post, wechat_access_token};
use api_plumbing::variable;

/// The verdict to store: `pass`, `review`, `risky`, or `unchecked` (no openid, or WeChat failed).
pub async fn check(openid: Option<&str>, title: &str, description: &str) -> &'static str {
    let Some(openid) = openid else {
        return "unchecked";
    };
    let content = format!("{title}\n{description}");
    for force in [false, true] {
        match ask(openid, title, &content, force).await {
            Ok(verdict) => return verdict.code(),
            Err(Some(code)) if push::wechat::token_refused(code) && !force => continue,
            Err(error) => {
                eprintln!(
                    "intake: WeChat's content check failed ({error:?}); the text is not shown to others"
                );
                return "unchecked";
            }
        }
    }
    "unchecked"
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
