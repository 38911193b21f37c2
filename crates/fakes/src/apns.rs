//! Apple Push Notification service, token-based, as it behaves for an app: HTTP/2 only
//! (cleartext with prior knowledge here, TLS at Apple); the provider token an ES256 JWT signed
//! with the team's key (`kid` the key id, `iss` the team id, `iat` within the hour); the topic the
//! app's bundle id; a push type, a priority, a collapse id of at most 64 bytes, a hex device token
//! and a payload of at most 4096 bytes with `aps`. An uninstalled app's token is 410
//! `Unregistered`. Faults: a status with Retry-After, an APNs reason, a delay; provider tokens can
//! be made to expire (403 `ExpiredProviderToken`).

use crate::{Answer, Protocol, PushFake, PushState, Received};
use std::collections::HashMap;
use std::net::SocketAddr;

pub const TEAM_ID: &str = "HTL12345AB";
pub const KEY_ID: &str = "KEY1234567";
pub const TOPIC: &str = "gov.zmd.hotline";
/// The `.p8` key made for the fake alone (it signs nothing anywhere else).
pub const PRIVATE_KEY: &str = include_str!("../keys/apns-test-auth-key.p8");
const PUBLIC_KEY: &str = include_str!("../keys/apns-test-auth-key.pub.pem");

/// A notification the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub token: String,
    pub title: String,
    pub body: String,
    pub collapse_id: String,
    /// The payload's custom keys (beside `aps`), as strings.
    pub data: HashMap<String, String>,
}

/// The fake: a push fake whose deliveries are APNs notifications.
pub type FakeApns = PushFake<Pushed>;

type State = PushState<Pushed>;

fn reason(status: u16, reason: &str) -> Answer {
    Answer::json(status, serde_json::json!({ "reason": reason }))
}

impl FakeApns {
    pub async fn start(address: SocketAddr) -> anyhow::Result<FakeApns> {
        PushFake::serve_with(
            address,
            Protocol::Http2,
            reason,
            |state, received| match received.path.strip_prefix("/3/device/") {
                Some(token) if received.method == "POST" => send(state, received, token),
                _ => reason(404, "BadPath"),
            },
        )
        .await
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    iat: i64,
}

/// Checks the provider token; the refusal when it is not good.
fn check_provider_token(state: &mut State, received: &Received) -> Option<Answer> {
    let Some(token) = received.header("authorization").and_then(|h| {
        h.strip_prefix("bearer ")
            .or_else(|| h.strip_prefix("Bearer "))
    }) else {
        return Some(reason(403, "MissingProviderToken"));
    };
    if state.expired.contains(token) {
        return Some(reason(403, "ExpiredProviderToken"));
    }
    if state.tokens.contains(token) {
        return None;
    }
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return Some(reason(403, "InvalidProviderToken"));
    };
    if header.alg != jsonwebtoken::Algorithm::ES256 || header.kid.as_deref() != Some(KEY_ID) {
        return Some(reason(403, "InvalidProviderToken"));
    }
    let Ok(key) = jsonwebtoken::DecodingKey::from_ec_pem(PUBLIC_KEY.as_bytes()) else {
        return Some(reason(500, "InternalServerError"));
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let Ok(data) = jsonwebtoken::decode::<Claims>(token, &key, &validation) else {
        return Some(reason(403, "InvalidProviderToken"));
    };
    let now = chrono::Utc::now().timestamp();
    if data.claims.iss != TEAM_ID || data.claims.iat > now + 60 {
        return Some(reason(403, "InvalidProviderToken"));
    }
    if data.claims.iat < now - 3600 {
        return Some(reason(403, "ExpiredProviderToken"));
    }
    state.grants += 1;
    state.tokens.insert(token.to_owned());
    None
}

fn send(state: &mut State, received: &Received, token: &str) -> Answer {
    if let Some(refused) = check_provider_token(state, received) {
        return refused;
    }
    if received.header("apns-topic") != Some(TOPIC) {
        return reason(400, "BadTopic");
    }
    if !matches!(
        received.header("apns-push-type"),
        Some("alert" | "background")
    ) {
        return reason(400, "InvalidPushType");
    }
    if !matches!(
        received.header("apns-priority"),
        None | Some("5" | "10" | "1")
    ) {
        return reason(400, "BadPriority");
    }
    let collapse_id = received.header("apns-collapse-id").unwrap_or("").to_owned();
    if collapse_id.len() > 64 {
        return reason(400, "BadCollapseId");
    }
    if token.len() < 64 || token.len() > 200 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return reason(400, "BadDeviceToken");
    }
    if received.body.is_empty() {
        return reason(400, "PayloadEmpty");
    }
    if received.body.len() > 4096 {
        return reason(413, "PayloadTooLarge");
    }
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(&received.body) else {
        return reason(400, "BadPayload");
    };
    let Some(alert) = payload["aps"]["alert"].as_object() else {
        return reason(400, "BadPayload");
    };
    if state.unregistered.contains(token) {
        return Answer::json(
            410,
            serde_json::json!({ "reason": "Unregistered", "timestamp": chrono::Utc::now().timestamp_millis() }),
        );
    }
    let data = payload
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| *key != "aps")
        .map(|(key, value)| (key.clone(), value.as_str().unwrap_or("").to_owned()))
        .collect();
    state.delivered.push(Pushed {
        token: token.to_owned(),
        title: alert
            .get("title")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned(),
        body: alert
            .get("body")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned(),
        collapse_id,
        data,
    });
    Answer {
        status: 200,
        body: String::new(),
        headers: Vec::new(),
    }
    .with_header("apns-id", uuid::Uuid::new_v4().to_string().to_uppercase())
}
