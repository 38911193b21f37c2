//! What every private component needs around its handlers: the caller the gateway verified, JSON
//! replies and the error envelope, reading JSON bodies with field-level errors, and the database
//! connection. No business rules live here (they are in `workorder`).

use mobile_api::{ErrorBody, ErrorEnvelope, FieldError, headers};
use spin_sdk::http::{HeaderMap, HeaderValue, Response, StatusCode};
use spin_sdk::pg::Connection;

/// The caller, as the gateway verified and forwarded it.
#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: String,
    pub role: String,
    /// For agency staff, their agency.
    pub agency: Option<String>,
}

impl Principal {
    /// The principal in the gateway's headers. Only the gateway can reach a private component,
    /// and it always sets these from a verified token.
    pub fn from_headers(headers: &HeaderMap) -> Option<Principal> {
        let get = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Some(Principal {
            subject: get(headers::SUBJECT)?,
            role: get(headers::ROLE)?,
            agency: get(headers::AGENCY),
        })
    }
}

pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(headers::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

pub type Reply = Response<String>;

pub fn json_reply(status: StatusCode, body: String) -> Reply {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// The answer to a component's `/health`, which the gateway's `/health/components` asks for.
pub fn health() -> Reply {
    json_reply(StatusCode::OK, r#"{"status":"ok"}"#.to_owned())
}

/// `value` as a JSON reply.
pub fn reply_with<T: serde::Serialize>(status: StatusCode, value: &T) -> Reply {
    json_reply(
        status,
        serde_json::to_string(value).expect("API types serialise"),
    )
}

/// The error envelope, `{"error":{"code","message","fields"}}`.
pub fn error_reply(
    status: StatusCode,
    code: &str,
    message: String,
    fields: Vec<FieldError>,
) -> Reply {
    reply_with(
        status,
        &ErrorEnvelope {
            error: ErrorBody {
                code: code.to_owned(),
                message,
                fields,
            },
        },
    )
}

pub fn field_error(field: impl Into<String>, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        code: code.to_owned(),
        message: message.into(),
    }
}

/// Why a body could not be read as the expected type.
#[derive(Debug)]
pub enum BodyError {
    /// Not JSON: where the parser stopped (400).
    Malformed(String),
    /// JSON of the wrong shape: the field and what is wrong with it (422).
    Field(FieldError),
}

/// Reads a JSON body, telling syntax errors from wrong or missing fields (with the field's path).
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    let malformed = |e: &serde_json::Error| {
        BodyError::Malformed(format!("line {} column {}", e.line(), e.column()))
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => value,
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.classify() != serde_json::error::Category::Data {
                return Err(malformed(&inner));
            }
            let message = inner.to_string();
            let (field, code) = match message.strip_prefix("missing field `") {
                Some(rest) => {
                    let name = rest.split('`').next().unwrap_or_default();
                    let field = if path == "." {
                        name.to_owned()
                    } else {
                        format!("{path}.{name}")
                    };
                    (field, "required")
                }
                None => (path, "invalid_type"),
            };
            return Err(BodyError::Field(field_error(field, code, message)));
        }
    };
    deserializer.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

/// A connection to the platform's database (the `db_url` variable).
pub async fn connect() -> Result<Connection, String> {
    let url = spin_sdk::variables::get("db_url")
        .await
        .map_err(|e| format!("the db_url variable: {e:?}"))?;
    Connection::open(url)
        .await
        .map_err(|e| format!("opening the database: {e:?}"))
}

/// The value of `name` in a URL query string (no percent-decoding: values here are codes).
pub fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The number `name` in a URL query string, if given; a problem for `name` when it is not a
/// finite number within `range`.
pub fn query_number(
    query: &str,
    name: &str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<Option<f64>, FieldError> {
    let Some(raw) = query_param(query, name) else {
        return Ok(None);
    };
    match raw.parse::<f64>() {
        Ok(value) if value.is_finite() && range.contains(&value) => Ok(Some(value)),
        _ => Err(field_error(
            name,
            "out_of_range",
            format!(
                "{name} 应为 {} 到 {} 之间的数 ({name} must be a number from {} to {})",
                range.start(),
                range.end(),
                range.start(),
                range.end()
            ),
        )),
    }
}
