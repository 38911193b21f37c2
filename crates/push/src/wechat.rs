//! WeChat mini-program subscribe messages (订阅消息), how a citizen who uses only the
//! mini-program hears of their request.
//!
//! Token: `POST {base}/cgi-bin/stable_token` (7200 s). Send:
//! `POST {base}/cgi-bin/message/subscribe/send?access_token=...`. WeChat answers HTTP 200 with
//! `errcode`; 0 is success.

use crate::Outcome;
use serde_json::json;

pub const TOKEN_PATH: &str = "/cgi-bin/stable_token";
pub const SEND_PATH: &str = "/cgi-bin/message/subscribe/send";

pub fn token_body(app_id: &str, secret: &str, force_refresh: bool) -> serde_json::Value {
    json!({
        "grant_type": "client_credential",
        "appid": app_id,
        "secret": secret,
        "force_refresh": force_refresh
    })
}

/// The fields of the subscribe template the platform uses for progress (工单进度提醒):
/// `character_string1` the tracking number, `thing2` the request's title, `phrase3` the news
/// (e.g. 诉求已受理), `thing4` a line of explanation. WeChat limits `thing` to 20 characters and
/// `phrase` to 5; longer values are cut here, as WeChat would refuse them (47003).
pub fn send_body(
    openid: &str,
    template_id: &str,
    tracking_number: &str,
    order_title: &str,
    news: &str,
    text: &str,
) -> serde_json::Value {
    json!({
        "touser": openid,
        "template_id": template_id,
        "page": format!("pages/request/detail?no={tracking_number}"),
        "miniprogram_state": "formal",
        "lang": "zh_CN",
        "data": {
            "character_string1": { "value": cut(tracking_number, 32) },
            "thing2": { "value": cut(order_title, 20) },
            "phrase3": { "value": cut(news, 5) },
            "thing4": { "value": cut(text, 20) }
        }
    })
}

/// At most `max` characters (not bytes).
pub fn cut(value: &str, max: usize) -> String {
    value.chars().take(max).collect()
}

/// The access token in a token answer, or what went wrong.
pub fn read_token(body: &[u8]) -> Result<crate::AccessToken, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "WeChat's token answer is not JSON".to_owned())?;
    if let Some(code) = value["errcode"].as_i64().filter(|code| *code != 0) {
        return Err(format!(
            "WeChat token {code}: {}",
            value["errmsg"].as_str().unwrap_or("")
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("WeChat's token answer: {e}"))
}

/// What WeChat's answer to a send means. 43101: the citizen refused, or their one-time consent
/// is used up; the caller falls back to SMS.
pub fn classify(status: u16, body: &[u8]) -> Outcome {
    if status >= 500 {
        return Outcome::Retry {
            after_seconds: None,
            error: format!("WeChat HTTP {status}"),
        };
    }
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let code = value["errcode"].as_i64().unwrap_or(-2);
    let describe = || format!("WeChat {code}: {}", value["errmsg"].as_str().unwrap_or(""));
    match code {
        0 => Outcome::Sent(value["msgid"].as_i64().map(|id| id.to_string())),
        40001 | 40014 | 42001 => Outcome::Reauthenticate(describe()),
        40003 | 43101 => Outcome::InvalidAddress(describe()),
        -1 | 45009 | 45011 => Outcome::Retry {
            after_seconds: None,
            error: describe(),
        },
        _ => Outcome::Rejected(describe()),
    }
}

pub const SEC_CHECK_PATH: &str = "/wxa/msg_sec_check";

/// The body of a content check (msgSecCheck, version 2) of what a mini-program user wrote:
/// scene 2 (comment-like text shown to others), the text cut to WeChat's 2500 characters.
pub fn sec_check_body(openid: &str, title: &str, content: &str) -> serde_json::Value {
    json!({
        "openid": openid,
        "scene": 2,
        "version": 2,
        "title": cut(title, 100),
        "content": cut(content, 2500)
    })
}

/// WeChat's verdict on a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Doubtful: a person should look before others see it.
    Review,
    Risky,
}

impl Verdict {
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Review => "review",
            Verdict::Risky => "risky",
        }
    }
}

/// The verdict in a content check's answer, or WeChat's errcode (40001/42001: the access token).
pub fn read_sec_check(body: &[u8]) -> Result<Verdict, i64> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| -2)?;
    match value["errcode"].as_i64().unwrap_or(-2) {
        0 => match value["result"]["suggest"].as_str() {
            Some("pass") => Ok(Verdict::Pass),
            Some("review") => Ok(Verdict::Review),
            Some("risky") => Ok(Verdict::Risky),
            _ => Err(-2),
        },
        // Version 1's answer for risky content.
        87014 => Ok(Verdict::Risky),
        code => Err(code),
    }
}

/// Whether an errcode says the access token is no longer good.
pub fn token_refused(errcode: i64) -> bool {
    matches!(errcode, 40001 | 40014 | 42001)
}

/// Whether a refusal is 43101, after which the citizen is reached by SMS instead.
pub fn consent_used_up(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["errcode"].as_i64())
        == Some(43101)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_cut_to_what_wechat_accepts() {
        let body = send_body(
            "o1",
            "tpl",
            "ZMD-1",
            "小区门口路灯坏了三天了一直没有人来修理请尽快处理谢谢",
            "诉求已受理了",
            "x",
        );
        assert_eq!(
            body["data"]["thing2"]["value"]
                .as_str()
                .map(|s| s.chars().count()),
            Some(20)
        );
        assert_eq!(body["data"]["phrase3"]["value"], "诉求已受理");
    }

    #[test]
    fn answers_mean_what_the_documentation_says() {
        assert_eq!(
            classify(200, br#"{"errcode":0,"errmsg":"ok","msgid":7}"#),
            Outcome::Sent(Some("7".into()))
        );
        assert!(matches!(
            classify(200, br#"{"errcode":42001,"errmsg":"expired"}"#),
            Outcome::Reauthenticate(_)
        ));
        assert!(matches!(
            classify(
                200,
                br#"{"errcode":43101,"errmsg":"user refuse to accept the msg"}"#
            ),
            Outcome::InvalidAddress(_)
        ));
        assert!(consent_used_up(br#"{"errcode":43101}"#));
        assert!(matches!(
            classify(200, br#"{"errcode":47003,"errmsg":"argument invalid"}"#),
            Outcome::Rejected(_)
        ));
        assert!(matches!(
            classify(200, br#"{"errcode":-1,"errmsg":"busy"}"#),
            Outcome::Retry { .. }
        ));
        assert_eq!(
            read_token(br#"{"access_token":"t","expires_in":7200}"#).map(|t| t.expires_in),
            Ok(7200)
        );
        assert!(read_token(br#"{"errcode":40013,"errmsg":"invalid appid"}"#).is_err());
        assert_eq!(
            read_sec_check(br#"{"errcode":0,"result":{"suggest":"risky","label":20001}}"#),
            Ok(Verdict::Risky)
        );
        assert_eq!(
            read_sec_check(br#"{"errcode":0,"result":{"suggest":"pass","label":100}}"#),
            Ok(Verdict::Pass)
        );
        assert_eq!(read_sec_check(br#"{"errcode":42001}"#), Err(42001));
        assert!(token_refused(42001));
    }
}
