//! Huawei's OAuth token endpoint and HMS Push Kit, as they behave for an app: the client id and
//! secret must be the app's; a send needs a live token, the app's id in the path, 1–1000 tokens,
//! a notification with title and body, and `data` as a string; a token the app no longer has is
//! `80300007`. Faults: a status with Retry-After, a Push Kit code, a delay; tokens can expire.

use crate::{Answer, Protocol, PushFake, PushState, Received};
use std::net::SocketAddr;

pub const CLIENT_ID: &str = "108000001";
pub const CLIENT_SECRET: &str = "hms-test-secret";

/// A message the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub token: String,
    pub title: String,
    pub body: String,
    /// The `data` string as sent.
    pub data: String,
}

/// The fake: a push fake whose deliveries are Push Kit messages.
pub type FakeHms = PushFake<Pushed>;

type State = PushState<Pushed>;

fn push_error(status: u16, code: &str, message: &str) -> Answer {
    Answer::json(
        status,
        serde_json::json!({ "code": code, "msg": message, "requestId": uuid::Uuid::new_v4().simple().to_string() }),
    )
}

impl FakeHms {
    pub async fn start(address: SocketAddr) -> anyhow::Result<FakeHms> {
        PushFake::serve_with(
            address,
            Protocol::Http1,
            |status, code| push_error(status, code, "injected"),
            |state, received| match (received.method.as_str(), received.path.as_str()) {
                ("POST", "/oauth2/v3/token") => grant(state, received),
                ("POST", path) if path.starts_with("/v1/") => send(state, received),
                _ => push_error(404, "80000404", "not found"),
            },
        )
        .await
    }
}

fn grant(state: &mut State, received: &Received) -> Answer {
    let body = String::from_utf8_lossy(&received.body);
    let get = |key: &str| push::form_value(&body, key).unwrap_or_default();
    if get("grant_type") != "client_credentials" {
        return Answer::json(
            400,
            serde_json::json!({ "error": 1101, "sub_error": 20001, "error_description": "invalid grant_type" }),
        );
    }
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return Answer::json(
            400,
            serde_json::json!({ "error": 1101, "sub_error": 20013, "error_description": "invalid client" }),
        );
    }
    let token = state.grant("hms-");
    Answer::json(
        200,
        serde_json::json!({ "access_token": token, "expires_in": 3600, "token_type": "Bearer" }),
    )
}

fn send(state: &mut State, received: &Received) -> Answer {
    if !state.authorized(received) {
        return push_error(401, "80200003", "OAuth token expired");
    }
    if received.path != format!("/v1/{CLIENT_ID}/messages:send") {
        return push_error(
            403,
            "80300002",
            "No permission to send message to these tokens",
        );
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&received.body) else {
        return push_error(
            400,
            "80100003",
            "Illegal payload, the message body is not JSON",
        );
    };
    let message = &body["message"];
    if received.body.len() > 4096 {
        return push_error(
            400,
            "80300008",
            "The message body size exceeds the default value",
        );
    }
    if !message["data"].is_null() && !message["data"].is_string() {
        return push_error(
            400,
            "80100003",
            "Illegal payload, data must be a JSON string",
        );
    }
    let notification = &message["android"]["notification"];
    let (Some(title), Some(text)) = (
        notification["title"].as_str(),
        notification["body"].as_str(),
    ) else {
        return push_error(
            400,
            "80100003",
            "Illegal payload, notification title and body are required",
        );
    };
    let tokens: Vec<&str> = message["token"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
        .unwrap_or_default();
    if tokens.is_empty() || tokens.len() > 1000 {
        return push_error(
            400,
            "80100001",
            "Some request parameters are invalid: token",
        );
    }
    let (gone, live): (Vec<&str>, Vec<&str>) = tokens
        .iter()
        .partition(|t| state.unregistered.contains(**t));
    if live.is_empty() {
        return push_error(400, "80300007", "All the tokens are invalid");
    }
    for token in &live {
        state.delivered.push(Pushed {
            token: (*token).to_owned(),
            title: title.to_owned(),
            body: text.to_owned(),
            data: message["data"].as_str().unwrap_or("").to_owned(),
        });
    }
    if !gone.is_empty() {
        let detail = serde_json::json!({ "success": live.len(), "failure": gone.len(), "illegal_tokens": gone });
        return push_error(200, "80100000", &detail.to_string());
    }
    push_error(200, "80000000", "Success")
}
