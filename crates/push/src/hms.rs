//! Huawei HMS Push Kit: most Android phones in mainland China have no Google services.
//!
//! Token: `POST {oauth}/oauth2/v3/token` (client credentials, valid an hour). Send:
//! `POST {push}/v1/{client_id}/messages:send`; the answer is `{code, msg, requestId}` with
//! string codes, HTTP 200 for most errors.

use crate::{Message, Outcome};
use serde_json::json;

pub const TOKEN_PATH: &str = "/oauth2/v3/token";

pub fn token_form(client_id: &str, client_secret: &str) -> String {
    crate::form(&[
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", client_secret),
    ])
}

pub fn send_path(client_id: &str) -> String {
    format!("/v1/{client_id}/messages:send")
}

/// The body of one send to one device token. HMS wants `data` as a JSON string.
pub fn send_body(token: &str, message: &Message<'_>) -> serde_json::Value {
    let data = message.data_object();
    json!({
        "validate_only": false,
        "message": {
            "data": serde_json::Value::Object(data).to_string(),
            "android": {
                "urgency": "HIGH",
                "ttl": "86400",
                "bi_tag": message.dedupe_key,
                "notification": {
                    "title": message.title,
                    "body": message.body,
                    "click_action": { "type": 3 }
                }
            },
            "token": [token]
        }
    })
}

/// What HMS's answer means.
pub fn classify(status: u16, retry_after: Option<u64>, body: &[u8]) -> Outcome {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let code = match &value["code"] {
        serde_json::Value::String(code) => code.clone(),
        serde_json::Value::Number(code) => code.to_string(),
        _ => String::new(),
    };
    let message = value["msg"].as_str().unwrap_or("").to_owned();
    let describe = || format!("HMS {status} {code}: {message}");
    match (code.as_str(), status) {
        ("80000000", 200) => Outcome::Sent(value["requestId"].as_str().map(str::to_owned)),
        // Partly sent; with one token, that token was refused as illegal.
        ("80100000", _) | ("80300007", _) => Outcome::InvalidAddress(describe()),
        // The access token expired or was refused.
        ("80200003", _) | ("80200001", _) | (_, 401) => Outcome::Reauthenticate(describe()),
        (_, 429) | (_, 500..) | ("81000001", _) => Outcome::Retry {
            after_seconds: retry_after,
            error: describe(),
        },
        _ => Outcome::Rejected(describe()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_mean_what_the_push_kit_documentation_says() {
        assert_eq!(
            classify(
                200,
                None,
                br#"{"code":"80000000","msg":"Success","requestId":"r1"}"#
            ),
            Outcome::Sent(Some("r1".into()))
        );
        assert!(matches!(
            classify(
                200,
                None,
                br#"{"code":"80300007","msg":"All the tokens are invalid"}"#
            ),
            Outcome::InvalidAddress(_)
        ));
        assert!(matches!(
            classify(
                401,
                None,
                br#"{"code":"80200003","msg":"OAuth token expired"}"#
            ),
            Outcome::Reauthenticate(_)
        ));
        assert!(matches!(
            classify(503, Some(5), b""),
            Outcome::Retry {
                after_seconds: Some(5),
                ..
            }
        ));
        assert!(matches!(
            classify(
                200,
                None,
                br#"{"code":"80300008","msg":"message body too big"}"#
            ),
            Outcome::Rejected(_)
        ));
    }

    #[test]
    fn data_travels_as_a_json_string() {
        let data = [("kind", "task_new".to_owned())];
        let body = send_body(
            "t",
            &Message {
                title: "a",
                body: "b",
                data: &data,
                dedupe_key: "k",
            },
        );
        let inner: serde_json::Value =
            serde_json::from_str(body["message"]["data"].as_str().expect("a string"))
                .expect("json");
        assert_eq!(inner["kind"], "task_new");
        assert_eq!(body["message"]["token"][0], "t");
    }
}
