//! What every private component needs around its handlers: the caller the gateway verified, JSON
//! replies and the error envelope, reading JSON bodies with field-level errors, and the database
//! connection. No business rules live here (they are in `workorder`).

mod incoming;
pub mod metrics;
pub mod open311;
pub mod outbound;
pub mod small_blocks;
pub mod word_compare;

/// Every component that uses this crate allocates through [`small_blocks::SmallBlocks`].
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: small_blocks::SmallBlocks = small_blocks::SmallBlocks::new();

pub use incoming::{Headers, Incoming, NotText, ReadError};

use mobile_api::{ErrorBody, ErrorEnvelope, FieldError, headers};
use order_store::StoreError;
use order_store::db::Connection;
use spin_sdk::http::{HeaderValue, Response, StatusCode};
use spin_sdk::wasip3::http::types;
use spin_sdk::wasip3::wit_bindgen::{FutureReader, FutureWriter, StreamReader};
use spin_sdk::wasip3::{wit_future, wit_stream};

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
    pub fn from_headers(headers: &Headers) -> Option<Principal> {
        let get = |name| headers.get(name).map(str::to_owned);
        Some(Principal {
            subject: get(headers::SUBJECT)?,
            role: get(headers::ROLE)?,
            agency: get(headers::AGENCY),
        })
    }
}

pub fn request_id(headers: &Headers) -> String {
    headers.get(headers::REQUEST_ID).unwrap_or("-").to_owned()
}

/// The longest request body a component reads; the gateway refuses longer ones (413).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

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

/// Header fields as `wasi:http` takes them: name (lower case) and value, in order.
///
/// An answer's headers are built as this list rather than as `http`'s `HeaderMap`, which parses
/// and hashes every name on insert and is then copied out into a list again, each name through
/// `Display` (spin-sdk's conversion). The gateway's answers carry nine headers; its `/health` took 8%
/// fewer instructions, runtime and guest together, without the map (callgrind; see ARCHITECTURE.md,
/// `crates/api-plumbing`).
pub type FieldList = Vec<(String, Vec<u8>)>;

/// Room for the fields a caller adds to an answer after its own (`into_wasi_with`'s `more`): the
/// gateway adds the most, its request id, six security headers and three CORS headers.
pub const ADDED_FIELDS: usize = 10;

/// Adds the field `name: value` to `fields`.
pub fn push_field(fields: &mut FieldList, name: &str, value: impl Into<Vec<u8>>) {
    fields.push((name.to_owned(), value.into()));
}

/// The `content-length` a reply with a body of `length` bytes states. A body of known length lets
/// the HTTP server end the answer with its last byte, in one write; a streamed body of unknown
/// length is sent chunked, and the chunk that ends it often goes out in a write, and a packet, of
/// its own. Answers that may carry no body (1xx, 204, 304) state no length.
fn push_length(fields: &mut FieldList, status: StatusCode, length: usize) {
    let bodiless = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    if !bodiless {
        push_field(fields, "content-length", length.to_string());
    }
}

/// `reply` as the `wasi:http` answer the component returns, with its length.
pub fn into_wasi<B: Into<Vec<u8>>>(
    reply: Response<B>,
) -> Result<types::Response, types::ErrorCode> {
    into_wasi_with(reply, |_| {})
}

/// A reply whose body is bytes rather than text: a photo, or JSON made bytes for a component
/// that answers with both ([`http_component!`] takes either).
pub type BytesReply = Response<Vec<u8>>;

/// `reply` as a `wasi:http` answer: its own headers, its length, then whatever `more` adds.
///
/// spin-sdk's conversion clones the headers and hands the body to a writer that polls it frame by
/// frame; a reply is whole before it is sent, so here its bytes go to the stream in one write, and
/// an empty body has no stream (`body_parts`).
pub fn into_wasi_with<B: Into<Vec<u8>>>(
    reply: Response<B>,
    more: impl FnOnce(&mut FieldList),
) -> Result<types::Response, types::ErrorCode> {
    let (parts, body) = reply.into_parts();
    let body: Vec<u8> = body.into();
    // Its own headers, its length, and what `more` adds.
    let mut fields = FieldList::with_capacity(parts.headers.len() + 1 + ADDED_FIELDS);
    for (name, value) in &parts.headers {
        // The length is the body's (`push_length`); a second one would be refused.
        if name.as_str() != "content-length" {
            push_field(&mut fields, name.as_str(), value.as_bytes());
        }
    }
    push_length(&mut fields, parts.status, body.len());
    more(&mut fields);
    let (contents, trailers) = body_parts((!body.is_empty()).then_some(body));
    wasi_response(parts.status.as_u16(), &fields, contents, trailers)
}

/// A `wasi:http` answer with `status` and `fields` over a body's `contents` and `trailers`.
pub fn wasi_response(
    status: u16,
    fields: &[(String, Vec<u8>)],
    contents: Option<StreamReader<u8>>,
    trailers: FutureReader<Trailers>,
) -> Result<types::Response, types::ErrorCode> {
    let internal = |what: &str| types::ErrorCode::InternalError(Some(what.to_owned()));
    let fields = types::Fields::from_list(fields).map_err(|_| internal("the answer's headers"))?;
    let (response, _) = types::Response::new(fields, contents, trailers);
    response
        .set_status_code(status)
        .map_err(|()| internal("the answer's status"))?;
    Ok(response)
}

/// A body's contents and trailers for `wasi:http`: `body` written whole to a stream by a task of
/// its own, then the trailers resolved as none; with no body, no stream.
///
/// The trailers are written from the task, not left to the writer's drop: a future writer dropped
/// unwritten resolves through a deferred write of its own, which cost the hop 3% more instructions
/// (callgrind, see ARCHITECTURE.md, `components/gateway`).
pub fn body_parts(body: Option<Vec<u8>>) -> (Option<StreamReader<u8>>, FutureReader<Trailers>) {
    let (trailers_writer, trailers) = wit_future::new(|| Ok(None));
    let Some(body) = body else {
        settle(trailers_writer, Ok(None));
        return (None, trailers);
    };
    let (mut writer, reader) = wit_stream::new();
    spin_sdk::wasip3::spawn(async move {
        // What is left unwritten means the reader went away; nothing is waiting for it here.
        let _ = writer.write_all(body).await;
        drop(writer);
        let _ = trailers_writer.write(Ok(None)).await;
    });
    (Some(reader), trailers)
}

/// Resolves a future with `value` from a task of its own, for a reader that may come later (a
/// writer left to its drop costs more; see `body_parts`).
pub fn settle<T: 'static>(writer: FutureWriter<T>, value: T) {
    spin_sdk::wasip3::spawn(async move {
        // An error means the reader went away, and nobody is left to tell.
        let _ = writer.write(value).await;
    });
}

/// What a body's trailers future resolves to.
pub type Trailers = Result<Option<types::Trailers>, types::ErrorCode>;

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

/// The message of a 400 `malformed_json`, with where the parser stopped when known.
pub fn malformed_json_message(position: Option<&str>) -> String {
    match position {
        Some(position) => format!("请求内容不是有效的 JSON (malformed JSON: {position})"),
        None => "请求内容不是有效的 JSON (malformed JSON)".to_owned(),
    }
}

/// The seconds a client is told to wait (`Retry-After`) when the database cannot be reached:
/// a little more than the runtime takes to see its private cluster's server gone and start it
/// again (ARCHITECTURE.md, the runtime).
pub const DATABASE_RETRY_AFTER_SECONDS: u16 = 5;

/// The words of a 503 `database_unavailable`.
pub const DATABASE_UNAVAILABLE_MESSAGE: &str =
    "服务暂时不可用，请稍后再试 (the service is briefly unavailable: try again in a few seconds)";

/// The answer when the database could not be reached (`StoreError::Unavailable`): 503
/// `database_unavailable` with `Retry-After`. Nothing was written, and the same request (with its
/// `Idempotency-Key`) may succeed shortly. The cause goes to `component`'s log.
pub fn database_unavailable(component: &str, request_id: &str, cause: &str) -> Reply {
    eprintln!("{component}: {request_id}: {cause}");
    let mut reply = error_reply(
        StatusCode::SERVICE_UNAVAILABLE,
        mobile_api::codes::DATABASE_UNAVAILABLE,
        DATABASE_UNAVAILABLE_MESSAGE.to_owned(),
        vec![],
    );
    reply.headers_mut().insert(
        "retry-after",
        HeaderValue::from(DATABASE_RETRY_AFTER_SECONDS),
    );
    reply
}

/// The opaque message of a 500; the cause goes to the component's log, never to the client.
pub fn internal_error_message(component: &str, request_id: &str, cause: &str) -> String {
    eprintln!("{component}: {request_id}: {cause}");
    "服务内部错误 (internal error)".to_owned()
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
    // Read again only when a NUL is written somewhere, to name the field that holds it.
    if escapes_nul(body) {
        let whole: serde_json::Value = serde_json::from_slice(body).map_err(|e| malformed(&e))?;
        let field = nul_path(&whole, "").unwrap_or_else(|| ".".to_owned());
        return Err(BodyError::Field(holds_nul(&field)));
    }
    Ok(value)
}

/// A connection to the platform's database (the `db_url` variable).
pub async fn connect() -> Result<Connection, StoreError> {
    let url = variable("db_url").await.map_err(StoreError::Internal)?;
    Connection::open(url)
        .await
        .map_err(|e| StoreError::while_doing("opening the database", e))
}

/// A component variable, or what is wrong with it. Read from the host once per instance and then
/// kept: requests read several variables each (the gateway six), and each read is a host call.
/// An instance is short-lived (the runtime replaces it after a bounded number of requests, and
/// drops it when idle), so a value changed in a dynamic variables provider reaches new instances
/// within seconds. A failed read is not kept.
pub async fn variable(name: &str) -> Result<String, String> {
    match known_variable(name, str::to_owned) {
        Some(value) => Ok(value),
        None => read_variable(name).await,
    }
}

thread_local! {
    /// The variables this instance has read, by name: a handful, so a list (a lookup compares a
    /// few names, where a map hashed the name on every read).
    static VARIABLES: std::cell::RefCell<Vec<(String, String)>> = std::cell::RefCell::default();
}

/// `read` of the value of `name`, if this instance has read it from the host.
fn known_variable<R>(name: &str, read: impl FnOnce(&str) -> R) -> Option<R> {
    VARIABLES.with_borrow(|known| {
        known
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| read(value))
    })
}

/// Reads `name` from the host and keeps it.
async fn read_variable(name: &str) -> Result<String, String> {
    let value = spin_sdk::variables::get(name)
        .await
        .map_err(|e| format!("the {name} variable: {e:?}"))?;
    VARIABLES.with_borrow_mut(|known| known.push((name.to_owned(), value.clone())));
    Ok(value)
}

/// A numeric variable, or `default` when it is unset, not a number or under `least`.
pub async fn number_variable<T: std::str::FromStr + PartialOrd>(
    name: &str,
    default: T,
    least: T,
) -> T {
    let parsed = |value: &str| value.trim().parse().ok();
    let number = match known_variable(name, parsed) {
        Some(number) => number,
        None => read_variable(name).await.ok().and_then(|v| parsed(&v)),
    };
    number.filter(|n: &T| *n >= least).unwrap_or(default)
}

/// The value of `name` in a URL query string (no percent-decoding: values here are codes).
pub fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The text `name` in a URL query string, percent-decoded (`+` a space), if given; a problem for
/// `name` when it is not UTF-8 once decoded.
pub fn query_text(query: &str, name: &str) -> Result<Option<String>, FieldError> {
    let Some(raw) = query_param(query, name) else {
        return Ok(None);
    };
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (byte, after) {
            (b'%', [high, low, tail @ ..]) if hex(*high).is_some() && hex(*low).is_some() => {
                let value = hex(*high).unwrap_or(0) * 16 + hex(*low).unwrap_or(0);
                bytes.push(u8::try_from(value).unwrap_or(b'?'));
                rest = tail;
            }
            (b'+', _) => {
                bytes.push(b' ');
                rest = after;
            }
            _ => {
                bytes.push(byte);
                rest = after;
            }
        }
    }
    if bytes.contains(&0) {
        return Err(holds_nul(name));
    }
    String::from_utf8(bytes).map(Some).map_err(|_| {
        field_error(
            name,
            "invalid_value",
            format!("{name} 不是有效的 UTF-8 文本 ({name} is not UTF-8 text)"),
        )
    })
}

/// The problem with `field` when its text holds a NUL character (`%00`, `\u0000`): no text
/// column can store one (PostgreSQL refuses the statement), and no form a person fills in makes
/// one, so it is refused where it arrives rather than failing the statement later.
fn holds_nul(field: &str) -> FieldError {
    // The code and words of the filing form's own check for control characters
    // (`workorder::text`).
    field_error(
        field,
        "invalid_characters",
        format!("{field} 含有不可见的控制字符 (contains a NUL character)"),
    )
}

/// Whether a JSON text writes a NUL character in a string (the escape `\u0000`; JSON allows no
/// raw control character there). A backslash run of odd length escapes what follows it.
fn escapes_nul(json: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (at, &byte) in json.iter().enumerate() {
        if byte == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && byte == b'u' && json.get(at + 1..at + 5) == Some(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// The path (as `serde_path_to_error` writes it: `location.address`, `photos[0]`) of the first
/// string in `value`, or key, that holds a NUL character.
fn nul_path(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    let root = |path: &str| {
        if path.is_empty() {
            ".".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        Value::String(text) => text.contains('\0').then(|| root(path)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, &format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(root(path))
            } else {
                nul_path(item, &inner)
            }
        }),
        _ => None,
    }
}

/// A day as a query writes it, `YYYY-MM-DD`; else the problem with `field`.
pub fn parse_date(field: &str, raw: &str) -> Result<chrono::NaiveDate, FieldError> {
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        field_error(
            field,
            "invalid_date",
            "应为日期，如 2026-11-30 (YYYY-MM-DD)",
        )
    })
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

/// The `limit` of a page in a query string: `default` when absent, a problem for `limit` when it
/// is not a whole number from 1 to `max`.
pub fn page_limit(query: &str, default: u32, max: u32) -> Result<u32, FieldError> {
    match query_param(query, "limit") {
        None => Ok(default),
        Some(raw) => match raw.parse::<u32>() {
            Ok(limit) if (1..=max).contains(&limit) => Ok(limit),
            _ => Err(field_error(
                "limit",
                "out_of_range",
                format!("每页 1 到 {max} 条 (limit must be 1–{max})"),
            )),
        },
    }
}

/// What a list's query string asks for: how many items (`limit`), and the cursor to go on after
/// (a time and the id of the item at it: a UUID, or another kind of id).
pub struct PageQuery<Id = uuid::Uuid> {
    pub limit: u32,
    pub after: Option<(chrono::NaiveDateTime, Id)>,
}

/// Why a list's `limit` or `cursor` is refused.
#[derive(Debug)]
pub enum PageError {
    Limit(FieldError),
    Cursor,
}

/// A list's `limit` (`default` when absent, at most `max`) and `cursor` (made by [`cursor`]).
pub fn page_query(query: &str, default: u32, max: u32) -> Result<PageQuery, PageError> {
    page_query_of(query, default, max)
}

/// [`page_query`] for a list whose items have ids of another kind (`i64`).
pub fn page_query_of<Id: std::str::FromStr>(
    query: &str,
    default: u32,
    max: u32,
) -> Result<PageQuery<Id>, PageError> {
    let limit = page_limit(query, default, max).map_err(PageError::Limit)?;
    let after = query_param(query, "cursor")
        .filter(|c| !c.is_empty())
        .map(|c| parse_cursor_of(c).ok_or(PageError::Cursor))
        .transpose()?;
    Ok(PageQuery { limit, after })
}

/// `From<PageError>` for a component's `ApiError` with `Validation(Vec<FieldError>)` and
/// `InvalidCursor`: a bad limit is 422 naming `limit`, a bad cursor 400.
#[macro_export]
macro_rules! page_error_conversion {
    ($error:ident) => {
        impl From<$crate::PageError> for $error {
            fn from(error: $crate::PageError) -> Self {
                match error {
                    $crate::PageError::Limit(problem) => $error::Validation(vec![problem]),
                    $crate::PageError::Cursor => $error::InvalidCursor,
                }
            }
        }
    };
}

/// Trims a page fetched with one item more than `limit` to `limit` items; the cursor of the next
/// page (made from the last item kept) when there was more.
pub fn next_page<T>(
    items: &mut Vec<T>,
    limit: u32,
    cursor: impl Fn(&T) -> String,
) -> Option<String> {
    let limit = limit as usize;
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().map(cursor)
}

/// A page position, `<created_at in µs>.<id>`, as the list routes hand it out.
pub fn cursor(created_at: chrono::DateTime<chrono::Utc>, id: impl std::fmt::Display) -> String {
    format!("{}.{}", created_at.timestamp_micros(), id)
}

/// A cursor made by [`cursor`]; `None` when it is not one.
pub fn parse_cursor(cursor: &str) -> Option<(chrono::NaiveDateTime, uuid::Uuid)> {
    parse_cursor_of(cursor)
}

/// [`parse_cursor`] for ids of another kind.
pub fn parse_cursor_of<Id: std::str::FromStr>(cursor: &str) -> Option<(chrono::NaiveDateTime, Id)> {
    let (micros, id) = cursor.split_once('.')?;
    let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    Some((at.naive_utc(), id.parse().ok()?))
}

/// The conversions every component's `ApiError` has: a body that is not the expected JSON (400,
/// or 422 naming the field), the store's not-found (404), a database that cannot be reached
/// (503, [`database_unavailable`]), and other database failures (an opaque 500 whose cause goes
/// to the log). The type needs the variants `MalformedJson(Option<String>)`,
/// `Validation(Vec<FieldError>)`, `NotFound`, `Unavailable(String)` and `Internal(String)`; the
/// crate that uses it depends on `order-store` and `spin-sdk`.
#[macro_export]
macro_rules! api_error_conversions {
    ($error:ident) => {
        impl From<$crate::BodyError> for $error {
            fn from(error: $crate::BodyError) -> Self {
                match error {
                    $crate::BodyError::Malformed(position) => $error::MalformedJson(Some(position)),
                    $crate::BodyError::Field(field) => $error::Validation(vec![field]),
                }
            }
        }

        /// A body that could not be read whole (cut off, or over the size limit).
        impl From<$crate::ReadError> for $error {
            fn from(_: $crate::ReadError) -> Self {
                $error::MalformedJson(None)
            }
        }

        impl From<order_store::StoreError> for $error {
            fn from(error: order_store::StoreError) -> Self {
                match error {
                    order_store::StoreError::NotFound => $error::NotFound,
                    order_store::StoreError::Unavailable(cause) => $error::Unavailable(cause),
                    order_store::StoreError::Internal(cause) => $error::Internal(cause),
                }
            }
        }

        impl From<spin_sdk::pg::Error> for $error {
            fn from(error: spin_sdk::pg::Error) -> Self {
                order_store::StoreError::from(error).into()
            }
        }

        impl From<spin_sdk::pg::PgError> for $error {
            fn from(error: spin_sdk::pg::PgError) -> Self {
                order_store::StoreError::from(error).into()
            }
        }
    };
}

/// The error type of a component that only reads and has no refusals of its own: a request fails
/// for want of a principal, for a path or method it does not serve, for bad query parameters or a
/// bad cursor, and inside (an opaque 500 whose cause goes to the log under `$component`'s name).
/// Defines `ApiError` in the calling crate, with [`api_error_conversions`] and `into_reply`; the
/// crate depends on `mobile-api`, `order-store` and `spin-sdk`. More refusals without a payload
/// follow the name: `Forbidden => (StatusCode::FORBIDDEN, codes::FORBIDDEN, "...")`.
#[macro_export]
macro_rules! read_only_api_error {
    ($component:literal $(, $(#[$doc:meta])* $variant:ident => ($status:expr, $code:expr, $message:expr))* $(,)?) => {
        #[derive(Debug)]
        pub enum ApiError {
            $($(#[$doc])* $variant,)*
            Unauthenticated,
            NotFound,
            MethodNotAllowed,
            MalformedJson(Option<String>),
            Validation(Vec<mobile_api::FieldError>),
            InvalidCursor,
            Unavailable(String),
            Internal(String),
        }

        $crate::api_error_conversions!(ApiError);
        $crate::page_error_conversion!(ApiError);

        impl ApiError {
            pub fn into_reply(self, request_id: &str) -> $crate::Reply {
                use mobile_api::codes;
                use spin_sdk::http::StatusCode;
                let (status, code, message, fields) = match self {
                    $(ApiError::$variant => ($status, $code, $message.to_owned(), vec![]),)*
                    ApiError::Unauthenticated => (
                        StatusCode::UNAUTHORIZED,
                        codes::UNAUTHENTICATED,
                        "请先登录 (sign in first)".to_owned(),
                        vec![],
                    ),
                    ApiError::NotFound => (
                        StatusCode::NOT_FOUND,
                        codes::NOT_FOUND,
                        "没有找到 (not found)".to_owned(),
                        vec![],
                    ),
                    ApiError::MethodNotAllowed => (
                        StatusCode::METHOD_NOT_ALLOWED,
                        codes::METHOD_NOT_ALLOWED,
                        "不支持此方法 (method not allowed)".to_owned(),
                        vec![],
                    ),
                    ApiError::MalformedJson(position) => (
                        StatusCode::BAD_REQUEST,
                        codes::MALFORMED_JSON,
                        $crate::malformed_json_message(position.as_deref()),
                        vec![],
                    ),
                    ApiError::Validation(fields) => (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        codes::VALIDATION_FAILED,
                        "请检查填写的内容或查询条件 (some fields or parameters are invalid)".to_owned(),
                        fields,
                    ),
                    ApiError::InvalidCursor => (
                        StatusCode::BAD_REQUEST,
                        codes::INVALID_CURSOR,
                        "翻页参数无效 (invalid cursor)".to_owned(),
                        vec![],
                    ),
                    ApiError::Unavailable(cause) => {
                        return $crate::database_unavailable($component, request_id, &cause);
                    }
                    ApiError::Internal(cause) => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        codes::INTERNAL,
                        $crate::internal_error_message($component, request_id, &cause),
                        vec![],
                    ),
                };
                $crate::error_reply(status, code, message, fields)
            }
        }
    };
}

/// A private component's entry point: the request read as an [`Incoming`], the request id, the
/// component's `route`, and its error type's `into_reply` for whatever `route` refuses.
///
/// It is what spin-sdk's `#[http_service]` expands to, less that macro's conversion of the
/// request into `http` types (see [`Incoming`]).
#[macro_export]
macro_rules! http_component {
    ($route:path) => {
        struct Component;
        spin_sdk::wasip3::http::service::export!(Component);

        impl spin_sdk::wasip3::exports::http::handler::Guest for Component {
            async fn handle(
                request: spin_sdk::wasip3::http::types::Request,
            ) -> Result<
                spin_sdk::wasip3::http::types::Response,
                spin_sdk::wasip3::http::types::ErrorCode,
            > {
                let request = $crate::Incoming::new(request)?;
                let request_id = $crate::request_id(request.headers());
                match $route(request).await {
                    Ok(reply) => $crate::into_wasi(reply),
                    Err(error) => $crate::into_wasi(error.into_reply(&request_id)),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NUL character, which no text column can store, is refused where it arrives: in a query
    /// or form field by the field's name, in a JSON body by the path of the string holding it;
    /// an escaped backslash before `u0000` is text like any other.
    #[test]
    fn a_nul_character_is_refused_with_its_field() {
        let problem = query_text("category=%00&q=ok", "category").expect_err("a NUL");
        assert_eq!(
            (problem.field.as_str(), problem.code.as_str()),
            ("category", "invalid_characters")
        );
        assert_eq!(query_text("category=%00&q=ok", "q"), Ok(Some("ok".into())));

        #[derive(serde::Deserialize, Debug)]
        struct Place {
            #[allow(dead_code)]
            address: String,
        }
        #[derive(serde::Deserialize, Debug)]
        struct Filed {
            #[allow(dead_code)]
            title: String,
            #[allow(dead_code)]
            location: Place,
            #[allow(dead_code)]
            photos: Vec<String>,
        }
        let refused = |body: &str| match parse_json::<Filed>(body.as_bytes()) {
            Err(BodyError::Field(field)) => Some((field.field, field.code)),
            Err(BodyError::Malformed(at)) => panic!("{body} read as malformed at {at}"),
            Ok(_) => None,
        };
        let field = |name: &str| Some((name.to_owned(), "invalid_characters".to_owned()));
        let body = |title: &str, address: &str, photo: &str| {
            format!(
                r#"{{"title":"{title}","location":{{"address":"{address}"}},"photos":["a","{photo}"]}}"#
            )
        };
        assert_eq!(refused(&body(r"x\u0000", "a", "b")), field("title"));
        assert_eq!(
            refused(&body("x", r"\u0000 street", "b")),
            field("location.address")
        );
        assert_eq!(refused(&body("x", "a", r"b\\\u0000")), field("photos[1]"));
        assert_eq!(
            refused(r#"{"title":"x","location":{"address":"a"},"photos":[],"\u0000":1}"#),
            field(".")
        );
        // An escaped backslash, then the letters: no NUL.
        assert_eq!(refused(&body(r"x\\u0000", "a", "b")), None);
        assert_eq!(refused(&body("u0000", "a", r"\\")), None);
        assert!(!escapes_nul(br#""\\u0000""#));
        assert!(escapes_nul(br#""\u0000""#));
        assert!(!escapes_nul(br#""\u00001""#.split_at(5).0));
    }

    #[test]
    fn query_text_is_percent_decoded() {
        let query = "q=%E7%A4%BE%E4%BF%9D%E5%8D%A1+%E8%A1%A5%E5%8A%9E&limit=5&odd=100%&bad=%FF";
        assert_eq!(query_text(query, "q"), Ok(Some("社保卡 补办".into())));
        assert_eq!(query_text(query, "limit"), Ok(Some("5".into())));
        assert_eq!(query_text(query, "odd"), Ok(Some("100%".into())));
        assert_eq!(query_text(query, "missing"), Ok(None));
        let bad = query_text(query, "bad").expect_err("not UTF-8");
        assert_eq!(
            (bad.field.as_str(), bad.code.as_str()),
            ("bad", "invalid_value")
        );
    }
}
