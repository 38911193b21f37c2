//! Firebase Cloud Messaging, HTTP v1 (the legacy `/fcm/send` API is gone since July 2024).
//!
//! `POST {base}/v1/projects/{project_id}/messages:send` with a bearer access token got by a
//! service-account JWT (RS256) from Google's OAuth token endpoint.

use crate::{Message, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// The `aud` of the assertion: Google's token endpoint, whatever address the grant is posted to.
pub const TOKEN_AUDIENCE: &str = "https://oauth2.googleapis.com/token";
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// FCM refuses messages larger than this.
pub const MAX_PAYLOAD_BYTES: usize = 4096;

/// The fields of a service-account key file (JSON) that the grant needs.
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceAccount {
    pub project_id: String,
    pub private_key_id: String,
    pub private_key: String,
    pub client_email: String,
}

/// The assertion's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub scope: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

/// The signed assertion (valid for an hour) for the token grant.
pub fn assertion(account: &ServiceAccount, now: u64) -> Result<String, String> {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(account.private_key_id.clone());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(account.private_key.as_bytes())
        .map_err(|e| format!("the service account's private_key is not an RSA PEM key: {e}"))?;
    let claims = Claims {
        iss: account.client_email.clone(),
        scope: SCOPE.to_owned(),
        aud: TOKEN_AUDIENCE.to_owned(),
        iat: now,
        exp: now + 3600,
    };
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| format!("signing the assertion: {e}"))
}

/// The form body of the token grant.
pub fn token_form(assertion: &str) -> String {
    crate::form(&[("grant_type", GRANT_TYPE), ("assertion", assertion)])
}

pub fn send_path(project_id: &str) -> String {
    format!("/v1/projects/{project_id}/messages:send")
}

/// The body of one send to one registration token.
pub fn send_body(token: &str, message: &Message<'_>) -> serde_json::Value {
    let data = message.data_object();
    json!({
        "validate_only": false,
        "message": {
            "token": token,
            "notification": { "title": message.title, "body": message.body },
            "data": data,
            "android": {
                "priority": "HIGH",
                "ttl": "86400s",
                "notification": { "channel_id": "work_orders" }
            },
            "apns": {
                "headers": { "apns-collapse-id": crate::collapse_id(message.dedupe_key) },
                "payload": { "aps": { "sound": "default" } }
            }
        }
    })
}

/// What FCM's answer means. `retry_after` is the Retry-After header, when there was one.
pub fn classify(status: u16, retry_after: Option<u64>, body: &[u8]) -> Outcome {
    if (200..300).contains(&status) {
        let name = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["name"].as_str().map(str::to_owned));
        return Outcome::Sent(name);
    }
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let error = &value["error"];
    let message = error["message"].as_str().unwrap_or("").to_owned();
    // The FCM error code is in details[] (type ...fcm.v1.FcmError); the status is the fallback.
    let code = error["details"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["@type"].as_str().is_some_and(|t| t.ends_with("FcmError")))
        .and_then(|d| d["errorCode"].as_str())
        .or_else(|| error["status"].as_str())
        .unwrap_or("")
        .to_owned();
    let describe = || format!("FCM {status} {code}: {message}");
    match (code.as_str(), status) {
        ("UNREGISTERED", _) | ("SENDER_ID_MISMATCH", _) => Outcome::InvalidAddress(describe()),
        ("INVALID_ARGUMENT", _) if message.to_ascii_lowercase().contains("token") => {
            Outcome::InvalidAddress(describe())
        }
        ("INVALID_ARGUMENT", _) => Outcome::Rejected(describe()),
        // A plain 401: the access token expired.
        ("UNAUTHENTICATED", _) => Outcome::Reauthenticate(describe()),
        // Our credentials for APNs/web push are wrong: an operator must fix them; keep the message.
        ("THIRD_PARTY_AUTH_ERROR", _) => Outcome::Retry {
            after_seconds: None,
            error: describe(),
        },
        (_, 401) => Outcome::Reauthenticate(describe()),
        ("QUOTA_EXCEEDED", _) | (_, 429) | ("UNAVAILABLE", _) | ("INTERNAL", _) => Outcome::Retry {
            after_seconds: retry_after,
            error: describe(),
        },
        (_, 500..) => Outcome::Retry {
            after_seconds: retry_after,
            error: describe(),
        },
        _ => Outcome::Rejected(describe()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fcm_error(status: u16, code: &str, message: &str) -> Vec<u8> {
        json!({"error": {"code": status, "message": message, "status": "NOT_FOUND",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}]}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn answers_mean_what_the_fcm_documentation_says() {
        assert_eq!(
            classify(200, None, br#"{"name":"projects/p/messages/1"}"#),
            Outcome::Sent(Some("projects/p/messages/1".into()))
        );
        assert!(matches!(
            classify(
                404,
                None,
                &fcm_error(404, "UNREGISTERED", "Requested entity was not found.")
            ),
            Outcome::InvalidAddress(_)
        ));
        assert!(matches!(
            classify(
                400,
                None,
                &fcm_error(
                    400,
                    "INVALID_ARGUMENT",
                    "The registration token is not a valid FCM registration token"
                )
            ),
            Outcome::InvalidAddress(_)
        ));
        assert!(matches!(
            classify(
                400,
                None,
                &fcm_error(400, "INVALID_ARGUMENT", "Invalid JSON payload")
            ),
            Outcome::Rejected(_)
        ));
        assert_eq!(
            classify(429, Some(30), &fcm_error(429, "QUOTA_EXCEEDED", "quota")),
            Outcome::Retry {
                after_seconds: Some(30),
                error: "FCM 429 QUOTA_EXCEEDED: quota".into()
            }
        );
        assert!(matches!(
            classify(503, None, b"<html>busy</html>"),
            Outcome::Retry {
                after_seconds: None,
                ..
            }
        ));
        let expired = json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}});
        assert!(matches!(
            classify(401, None, expired.to_string().as_bytes()),
            Outcome::Reauthenticate(_)
        ));
    }

    #[test]
    fn a_message_carries_its_dedupe_key_and_string_data() {
        let data = [("notification_id", "n-1".to_owned())];
        let body = send_body(
            "token-1",
            &Message {
                title: "新工单",
                body: "请办理",
                data: &data,
                dedupe_key: "event:1:task_new:u",
            },
        );
        assert_eq!(body["message"]["token"], "token-1");
        assert_eq!(body["message"]["data"]["notification_id"], "n-1");
        // No Android collapse key: FCM keeps only four distinct ones for an offline phone.
        assert!(body["message"]["android"]["collapse_key"].is_null());
        assert_eq!(
            body["message"]["apns"]["headers"]["apns-collapse-id"]
                .as_str()
                .map(str::len),
            Some(64)
        );
    }
}
