//! Apple Push Notification service, token-based: HTTP/2 only (the runtime speaks HTTP/2 to the
//! origins a component lists in `http2_origins`).
//!
//! `POST {base}/3/device/{token}` with `authorization: bearer <provider token>`, `apns-topic`
//! (the app's bundle id), `apns-push-type: alert`, `apns-priority: 10` and `apns-collapse-id`.
//! The provider token is an ES256 JWT (`kid` the key id, `iss` the team id, `iat`), which Apple
//! wants refreshed between 20 and 60 minutes after it was made.

use crate::{Message, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Apple refuses payloads larger than this.
pub const MAX_PAYLOAD_BYTES: usize = 4096;
/// How long a provider token is used before a new one is made (Apple: 20–60 minutes).
pub const TOKEN_LIFETIME_SECONDS: u64 = 50 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub iat: u64,
}

/// The provider token: an ES256 JWT signed with the `.p8` key.
pub fn provider_token(
    key_pem: &str,
    key_id: &str,
    team_id: &str,
    now: u64,
) -> Result<String, String> {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(key_id.to_owned());
    header.typ = None;
    let key = jsonwebtoken::EncodingKey::from_ec_pem(key_pem.as_bytes())
        .map_err(|e| format!("apns_private_key is not an EC (P-256) PEM key: {e}"))?;
    let claims = Claims {
        iss: team_id.to_owned(),
        iat: now,
    };
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| format!("signing the APNs token: {e}"))
}

pub fn send_path(device_token: &str) -> String {
    format!("/3/device/{device_token}")
}

/// The headers of one alert push (besides the authorization).
pub fn headers(topic: &str, message: &Message<'_>) -> Vec<(&'static str, String)> {
    vec![
        ("apns-topic", topic.to_owned()),
        ("apns-push-type", "alert".to_owned()),
        ("apns-priority", "10".to_owned()),
        ("apns-expiration", "0".to_owned()),
        ("apns-collapse-id", crate::collapse_id(message.dedupe_key)),
    ]
}

/// The payload: the alert, and the data beside `aps` as custom keys.
pub fn payload(message: &Message<'_>) -> serde_json::Value {
    let mut payload = message.data_object();
    payload.insert(
        "aps".to_owned(),
        json!({ "alert": { "title": message.title, "body": message.body }, "sound": "default" }),
    );
    serde_json::Value::Object(payload)
}

/// What APNs's answer means.
pub fn classify(
    status: u16,
    retry_after: Option<u64>,
    apns_id: Option<&str>,
    body: &[u8],
) -> Outcome {
    if status == 200 {
        return Outcome::Sent(apns_id.map(str::to_owned));
    }
    let reason = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["reason"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let describe = || format!("APNs {status} {reason}");
    match (status, reason.as_str()) {
        (410, _) | (400, "BadDeviceToken") | (400, "DeviceTokenNotForTopic") => {
            Outcome::InvalidAddress(describe())
        }
        (403, "ExpiredProviderToken") | (403, "InvalidProviderToken") => {
            Outcome::Reauthenticate(describe())
        }
        (429, _) | (500..=599, _) => Outcome::Retry {
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
    fn answers_mean_what_apples_documentation_says() {
        assert_eq!(
            classify(200, None, Some("id-1"), b""),
            Outcome::Sent(Some("id-1".into()))
        );
        assert!(matches!(
            classify(
                410,
                None,
                None,
                br#"{"reason":"Unregistered","timestamp":1764400000000}"#
            ),
            Outcome::InvalidAddress(_)
        ));
        assert!(matches!(
            classify(400, None, None, br#"{"reason":"BadDeviceToken"}"#),
            Outcome::InvalidAddress(_)
        ));
        assert!(matches!(
            classify(403, None, None, br#"{"reason":"ExpiredProviderToken"}"#),
            Outcome::Reauthenticate(_)
        ));
        assert!(matches!(
            classify(429, Some(7), None, br#"{"reason":"TooManyRequests"}"#),
            Outcome::Retry {
                after_seconds: Some(7),
                ..
            }
        ));
        assert!(matches!(
            classify(413, None, None, br#"{"reason":"PayloadTooLarge"}"#),
            Outcome::Rejected(_)
        ));
    }

    #[test]
    fn the_payload_carries_the_alert_and_the_data() {
        let data = [("kind", "task_new".to_owned())];
        let message = Message {
            title: "新工单",
            body: "请办理",
            data: &data,
            dedupe_key: "event:1:task_new:u",
        };
        let payload = payload(&message);
        assert_eq!(payload["aps"]["alert"]["title"], "新工单");
        assert_eq!(payload["kind"], "task_new");
        let collapse = headers("gov.zmd.hotline", &message)
            .into_iter()
            .find(|(name, _)| *name == "apns-collapse-id")
            .map(|(_, value)| value)
            .unwrap_or_default();
        assert_eq!(collapse.len(), 64, "APNs allows at most 64 bytes");
    }
}
