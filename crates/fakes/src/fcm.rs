//! Google's OAuth token endpoint and FCM HTTP v1, as they behave for a service account.
//!
//! The token endpoint checks the assertion as Google does: an RS256 JWT signed with the service
//! account's key (`kid` its key id), issued by its email, for the messaging scope, addressed to
//! `https://oauth2.googleapis.com/token`, at most an hour long and not expired. The send checks the
//! bearer token, the project, exactly one target, string-only data and the 4096-byte limit, and
//! answers an unregistered token with 404 `UNREGISTERED`. Faults: a status with Retry-After, an
//! FCM error code, a delay; and every access token can be made to expire at once.

use crate::{Answer, Protocol, PushFake, PushState, Received};
use std::collections::HashMap;
use std::net::SocketAddr;

pub const PROJECT_ID: &str = "hotline-test";
pub const CLIENT_EMAIL: &str = "push@hotline-test.iam.gserviceaccount.com";
pub const PRIVATE_KEY_ID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f001234567";
/// A key made for the fake alone (it signs nothing anywhere else).
pub const PRIVATE_KEY: &str = include_str!("../keys/fcm-test-service-account.pem");
const PUBLIC_KEY: &str = include_str!("../keys/fcm-test-service-account.pub.pem");
const AUDIENCE: &str = "https://oauth2.googleapis.com/token";
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// A message the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub token: String,
    pub title: String,
    pub body: String,
    pub data: HashMap<String, String>,
}

/// The fake: a push fake whose deliveries are FCM messages.
pub type FakeFcm = PushFake<Pushed>;

type State = PushState<Pushed>;

fn fcm_error(status: u16, code: &str, message: &str) -> Answer {
    let status_name = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    let details = if code.is_empty() {
        serde_json::json!([])
    } else {
        serde_json::json!([{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code }])
    };
    Answer::json(
        status,
        serde_json::json!({ "error": { "code": status, "message": message, "status": status_name, "details": details } }),
    )
}

fn grant_error(description: &str) -> Answer {
    Answer::json(
        400,
        serde_json::json!({ "error": "invalid_grant", "error_description": description }),
    )
}

impl FakeFcm {
    pub async fn start(address: SocketAddr) -> anyhow::Result<FakeFcm> {
        PushFake::serve_with(
            address,
            Protocol::Http1,
            |status, code| fcm_error(status, code, "injected"),
            |state, received| match (received.method.as_str(), received.path.as_str()) {
                ("POST", "/token") => grant(state, received),
                ("POST", path) if path.starts_with("/v1/projects/") => send(state, received),
                _ => Answer::json(404, serde_json::json!({ "error": "not found" })),
            },
        )
        .await
    }

    /// The service-account key file the platform is configured with.
    pub fn service_account() -> String {
        serde_json::json!({
            "type": "service_account",
            "project_id": PROJECT_ID,
            "private_key_id": PRIVATE_KEY_ID,
            "private_key": PRIVATE_KEY,
            "client_email": CLIENT_EMAIL,
            "token_uri": AUDIENCE,
        })
        .to_string()
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    scope: String,
    aud: String,
    iat: i64,
    exp: i64,
}

fn grant(state: &mut State, received: &Received) -> Answer {
    let body = String::from_utf8_lossy(&received.body);
    if push::form_value(&body, "grant_type").as_deref()
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return Answer::json(
            400,
            serde_json::json!({ "error": "unsupported_grant_type", "error_description": "Invalid grant_type" }),
        );
    }
    let Some(assertion) = push::form_value(&body, "assertion") else {
        return grant_error("Missing required parameter: assertion");
    };
    let Ok(header) = jsonwebtoken::decode_header(&assertion) else {
        return grant_error("Invalid JWT: the assertion is not a JWT");
    };
    if header.alg != jsonwebtoken::Algorithm::RS256 || header.kid.as_deref() != Some(PRIVATE_KEY_ID)
    {
        return grant_error("Invalid JWT Signature.");
    }
    let Ok(key) = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()) else {
        return grant_error("the fake's public key does not load");
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    let claims = match jsonwebtoken::decode::<Claims>(&assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(error) => return grant_error(&format!("Invalid JWT: {error}")),
    };
    let now = chrono::Utc::now().timestamp();
    if claims.iss != CLIENT_EMAIL {
        return Answer::json(
            401,
            serde_json::json!({ "error": "invalid_client", "error_description": "The OAuth client was not found." }),
        );
    }
    if claims.aud != AUDIENCE || !claims.scope.split(' ').any(|s| s == SCOPE) {
        return grant_error("Invalid JWT: audience or scope");
    }
    if claims.exp - claims.iat > 3600 || claims.iat > now + 60 {
        return grant_error(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
        );
    }
    let token = state.grant("ya29.fake-");
    Answer::json(
        200,
        serde_json::json!({ "access_token": token, "expires_in": 3599, "token_type": "Bearer" }),
    )
}

fn send(state: &mut State, received: &Received) -> Answer {
    if !state.authorized(received) {
        return fcm_error(
            401,
            "",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        );
    }
    if received.path != format!("/v1/projects/{PROJECT_ID}/messages:send") {
        return fcm_error(403, "SENDER_ID_MISMATCH", "SenderId mismatch");
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&received.body) else {
        return fcm_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    };
    let message = &body["message"];
    if serde_json::to_vec(message).map(|m| m.len()).unwrap_or(0) > 4096 {
        return fcm_error(400, "INVALID_ARGUMENT", "Message is too big");
    }
    let targets = ["token", "topic", "condition"]
        .iter()
        .filter(|t| !message[**t].is_null())
        .count();
    if targets != 1 {
        return fcm_error(
            400,
            "INVALID_ARGUMENT",
            "Exactly one of token, topic or condition must be set",
        );
    }
    let mut data = HashMap::new();
    if let Some(object) = message["data"].as_object() {
        for (key, value) in object {
            let Some(value) = value.as_str() else {
                return fcm_error(
                    400,
                    "INVALID_ARGUMENT",
                    &format!("Invalid value at 'message.data[{key}].value' (TYPE_STRING)"),
                );
            };
            data.insert(key.clone(), value.to_owned());
        }
    }
    let Some(token) = message["token"].as_str() else {
        return fcm_error(
            400,
            "INVALID_ARGUMENT",
            "Only token targets are served here",
        );
    };
    if token.len() < 8 {
        return fcm_error(
            400,
            "INVALID_ARGUMENT",
            "The registration token is not a valid FCM registration token",
        );
    }
    if state.unregistered.contains(token) {
        return fcm_error(404, "UNREGISTERED", "Requested entity was not found.");
    }
    state.delivered.push(Pushed {
        token: token.to_owned(),
        title: message["notification"]["title"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
        body: message["notification"]["body"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
        data,
    });
    Answer::json(
        200,
        serde_json::json!({ "name": format!("projects/{PROJECT_ID}/messages/{}", uuid::Uuid::new_v4().simple()) }),
    )
}
