//! `gateway`: the platform's only public route.
//!
//! It gives every request an id, refuses oversized bodies (413) and non-JSON bodies (415), verifies
//! the bearer token against the keys in its `jwt_keys` variable, checks the caller's role against
//! the route table, drops any identity headers the client sent, and forwards the request to the
//! private component for its path by Spin service chaining, with the verified principal.
//! Open311 (`/open311/v2`, for the city's partner systems) has a door of its own (`open311.rs`):
//! forms instead of JSON, an API key instead of a token, and Open311's error shape.
//!
//! Invariant: private components trust `x-hotline-subject` and `x-hotline-role` only because
//! nothing but this component can reach them, and it always sets both from a verified token.

mod account;
mod auth;
mod chain;
mod front_door;
mod identity;
mod open311;
mod partners;
mod passwords;
mod sms_sign_in;
mod wechat;

use api_plumbing::{FieldList, Headers, Incoming, MAX_BODY_BYTES, ReadError};
use mobile_api::{ComponentState, HealthStatus, codes, headers, routes};
use spin_sdk::http::{HeaderValue, Method, Response, StatusCode};
use spin_sdk::wasip3::exports::http::handler::Guest;
use spin_sdk::wasip3::http::types;

/// The committed OpenAPI document, served at `/openapi.json`.
const OPENAPI: &str = include_str!("../../../mobile-api/openapi.json");

type Reply = Response<String>;

fn json_response(status: StatusCode, body: String) -> Reply {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn error(status: StatusCode, code: &str, message: &str) -> Reply {
    let body = serde_json::json!({ "error": { "code": code, "message": message } }).to_string();
    json_response(status, body)
}

/// The paths the gateway answers itself, outside the route table: GET (and HEAD) only.
const OWN_PATHS: [&str; 3] = ["/openapi.json", "/health", "/health/components"];

/// A 405 `reply` with the `Allow` field HTTP asks of one: the methods the path has (HEAD with
/// GET, as each GET is answered to a HEAD too).
fn method_not_allowed(mut reply: Reply, methods: &[&str]) -> Reply {
    let mut allowed = Vec::with_capacity(methods.len() + 1);
    for method in methods {
        allowed.push(*method);
        if *method == "GET" {
            allowed.push("HEAD");
        }
    }
    if let Ok(value) = spin_sdk::http::HeaderValue::from_str(&allowed.join(", ")) {
        reply.headers_mut().insert("allow", value);
    }
    reply
}

/// 405 `method_not_allowed` for a path that takes `methods`.
fn wrong_method(methods: &[&str]) -> Reply {
    method_not_allowed(
        error(
            StatusCode::METHOD_NOT_ALLOWED,
            codes::METHOD_NOT_ALLOWED,
            "不支持该请求方法 (method not allowed)",
        ),
        methods,
    )
}

fn too_large() -> Reply {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        codes::PAYLOAD_TOO_LARGE,
        "请求内容过大 (body over 64 KiB)",
    )
}

/// A photo over the limit, or a form holding one (`POST /api/v1/photos`).
fn photo_too_large() -> Reply {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        codes::PAYLOAD_TOO_LARGE,
        "照片过大，请压缩到 2 MiB 以内 (photo over 2 MiB)",
    )
}

/// What the gateway answers: a reply of its own, or a private component's answer passed on.
enum Answer {
    Own(Reply),
    /// The private component's status and body as they came, with the headers of it the gateway
    /// passes on. The body is handed on as the stream it is, never read into the gateway and
    /// written out again (see ARCHITECTURE.md, `components/gateway`).
    Passed {
        status: u16,
        fields: FieldList,
        answer: types::Response,
    },
}

impl From<Reply> for Answer {
    fn from(reply: Reply) -> Answer {
        Answer::Own(reply)
    }
}

impl Answer {
    /// The answer for `wasi:http`, with the headers `more` adds after its own.
    fn into_wasi(
        self,
        more: impl FnOnce(&mut FieldList),
    ) -> Result<types::Response, types::ErrorCode> {
        let (status, mut fields, answer) = match self {
            Answer::Own(reply) => return api_plumbing::into_wasi_with(reply, more),
            Answer::Passed {
                status,
                fields,
                answer,
            } => (status, fields, answer),
        };
        more(&mut fields);
        // The body's fate, for the sending side to hear: the gateway does not watch it, and
        // reports success.
        let (fate_writer, fate) = spin_sdk::wasip3::wit_future::new(|| Ok(()));
        api_plumbing::settle(fate_writer, Ok(()));
        let (body, trailers) = types::Response::consume_body(answer, fate);
        api_plumbing::wasi_response(status, &fields, Some(body), trailers)
    }
}

// The entry point: what spin-sdk's `#[http_service]` expands to, less its conversion of the
// request into `http` types (see `api_plumbing::Incoming`).
struct Gateway;
spin_sdk::wasip3::http::service::export!(Gateway);

impl Guest for Gateway {
    async fn handle(request: types::Request) -> Result<types::Response, types::ErrorCode> {
        handle(Incoming::new(request)?).await
    }
}

async fn handle(request: Incoming) -> Result<types::Response, types::ErrorCode> {
    // Written out directly: `to_string` goes through `Display` and the formatting machinery.
    let request_id = uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut uuid::Uuid::encode_buffer())
        .to_owned();
    let origin = front_door::allowed_origin(request.headers()).await;
    let mut answer = if request.method() == Method::OPTIONS {
        front_door::preflight(request.path(), origin.as_deref()).into()
    } else {
        serve(request.head_as_get(), &request_id).await
    };
    // Every 401 carries a challenge: signing in failed, or a refresh token was refused (those
    // refusing a bearer token say how, above). Components answer no 401: the gateway
    // authenticates.
    if let Answer::Own(reply) = &mut answer
        && reply.status() == StatusCode::UNAUTHORIZED
        && !reply.headers().contains_key("www-authenticate")
    {
        auth::challenge(reply, false);
    }
    // Every answer names its request (`x-request-id`), as the logs name it.
    answer.into_wasi(|fields| {
        api_plumbing::push_field(fields, headers::REQUEST_ID, request_id);
        front_door::secure(fields);
        if let Some(origin) = &origin {
            front_door::cors(fields, origin);
        }
    })
}

/// The client's address, as the runtime reports it (`spin-client-addr`, without the port).
fn client_address(headers: &Headers) -> String {
    headers
        .get("spin-client-addr")
        .map(|addr| addr.rsplit_once(':').map_or(addr, |(ip, _)| ip).to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

async fn serve(request: Incoming, request_id: &str) -> Answer {
    let path = request.path().to_owned();
    if path.starts_with("/open311/") {
        let address = client_address(request.headers());
        return open311::serve(request, request_id, &address).await;
    }
    if OWN_PATHS.contains(&path.as_str()) && request.method() != Method::GET {
        return wrong_method(&["GET"]).into();
    }
    if request.method() == Method::GET {
        match path.as_str() {
            "/openapi.json" => {
                return json_response(StatusCode::OK, OPENAPI.to_owned()).into();
            }
            // Liveness of the front door itself, for load balancers.
            "/health" => {
                return json_response(StatusCode::OK, r#"{"status":"ok"}"#.to_owned()).into();
            }
            // Whether every private component (or `?component=<id>`, one) answers through
            // service chaining.
            "/health/components" => {
                let only = request
                    .query()
                    .and_then(|q| api_plumbing::query_param(q, "component"));
                if only.is_some_and(|only| !PRIVATE_COMPONENTS.contains(&only)) {
                    return error(
                        StatusCode::NOT_FOUND,
                        codes::NOT_FOUND,
                        "没有这个组件 (no such component)",
                    )
                    .into();
                }
                return component_health(only).await.into();
            }
            _ => {}
        }
    }

    // Who may call what, and which component serves it: the API contract's route table.
    let rule = match routes::lookup(request.method().as_str(), &path) {
        routes::Lookup::Found(rule) => rule,
        routes::Lookup::NoSuchPath => {
            return error(
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                "没有这个地址 (no such route)",
            )
            .into();
        }
        routes::Lookup::WrongMethod => {
            return wrong_method(&routes::methods(&path)).into();
        }
    };

    // Public routes (signing in) need no token; every other route needs one, of a role it names.
    let principal = if rule.is_public() {
        None
    } else {
        let principal = match auth::authenticate(request.headers()).await {
            Ok(principal) => principal,
            Err(refusal) => {
                let mut reply = error(StatusCode::UNAUTHORIZED, refusal.code(), refusal.message());
                auth::challenge(&mut reply, refusal != auth::Refusal::Missing);
                return reply.into();
            }
        };
        if !rule.roles.contains(&principal.role.as_str()) {
            return error(
                StatusCode::FORBIDDEN,
                codes::FORBIDDEN,
                "您的角色无权使用此功能 (your role may not use this route)",
            )
            .into();
        }
        Some(principal)
    };
    let address = client_address(request.headers());
    if let Err(refused) = front_door::count(
        principal.as_ref().map(|p| p.subject.as_str()),
        principal.as_ref(),
        &address,
    )
    .await
    {
        let mut reply = refused.into_reply(request_id);
        // The one 401 of the count: the token's session was ended.
        if reply.status() == StatusCode::UNAUTHORIZED {
            auth::challenge(&mut reply, true);
        }
        return reply.into();
    }
    // A password an administrator chose opens only the way to change it (after the revocation
    // check, so that a token of an ended session says so first).
    if principal
        .as_ref()
        .is_some_and(|p| p.password_change_required && !rule.open_before_password_change())
    {
        return error(
            StatusCode::FORBIDDEN,
            codes::PASSWORD_CHANGE_REQUIRED,
            "请先修改管理员设置的初始密码 (change the password an administrator chose first)",
        )
        .into();
    }

    let method = request.method().clone();
    let target = request.path_and_query().to_owned();
    let query = request.query().unwrap_or("").to_owned();
    let declared_length = request
        .headers()
        .get("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    // A write may carry a body unless it declares none. Whether it does shows only when it is
    // read: a body sent in chunks comes without `transfer-encoding`, a hop-by-hop header that
    // `wasi:http` does not hand to components.
    let may_have_body =
        matches!(method, Method::POST | Method::PUT | Method::PATCH) && declared_length != Some(0);
    // A photo's route takes a picture, or a form holding one; every other body is JSON.
    let (limit, refuse_size): (usize, fn() -> Reply) = if rule.takes_photo() {
        (mobile_api::MAX_PHOTO_UPLOAD_BYTES, photo_too_large)
    } else {
        (MAX_BODY_BYTES, too_large)
    };
    if may_have_body && declared_length.is_some_and(|len| len > limit) {
        return refuse_size().into();
    }
    let media = request
        .headers()
        .get("content-type")
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    let media_accepted = media.is_some_and(|media| {
        if rule.takes_photo() {
            media.len() > "image/".len() && media[..6].eq_ignore_ascii_case("image/")
                || media.eq_ignore_ascii_case("multipart/form-data")
        } else {
            media.eq_ignore_ascii_case("application/json")
        }
    });
    // Only these client headers pass; identity headers are set here and nowhere else.
    let mut passed: Vec<(String, Vec<u8>)> = [
        "content-type",
        "accept-language",
        "if-none-match",
        headers::IDEMPOTENCY_KEY,
    ]
    .into_iter()
    .filter_map(|name| {
        let value = request.headers().get_bytes(name)?;
        Some((name.to_owned(), value.to_vec()))
    })
    .collect();
    let body = if may_have_body {
        match request.body(limit).await {
            Ok(bytes) => bytes,
            Err(ReadError::TooLarge) => return refuse_size().into(),
            Err(ReadError::Unreadable) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    codes::MALFORMED_JSON,
                    "请求内容不完整 (the body could not be read)",
                )
                .into();
            }
        }
    } else {
        Vec::new()
    };
    // An action with nothing to send (revealing a number) needs no content type either.
    let has_body = !body.is_empty();
    if has_body && !media_accepted {
        let message = if rule.takes_photo() {
            "请上传照片 (Content-Type must be image/* or multipart/form-data)"
        } else {
            "请求内容须为 JSON (Content-Type must be application/json)"
        };
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::UNSUPPORTED_MEDIA_TYPE,
            message,
        )
        .into();
    }

    if rule.component == "gateway" {
        let reply = identity::serve(
            rule,
            &path,
            &query,
            &address,
            principal.as_ref(),
            &body,
            request_id,
        )
        .await;
        return reply.into();
    }
    // Only the gateway's own routes are public (the route table's test holds it).
    let Some(principal) = principal else {
        return error(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            "没有这个地址 (no such route)",
        )
        .into();
    };

    passed.push((
        headers::REQUEST_ID.to_owned(),
        request_id.as_bytes().to_vec(),
    ));
    passed.push((
        headers::SUBJECT.to_owned(),
        principal.subject.clone().into_bytes(),
    ));
    passed.push((
        headers::ROLE.to_owned(),
        principal.role.clone().into_bytes(),
    ));
    if let Some(agency) = &principal.agency {
        passed.push((headers::AGENCY.to_owned(), agency.clone().into_bytes()));
    }
    let call = chain::Call {
        component: rule.component,
        method: &method,
        path_and_query: &target,
        headers: passed,
        body: has_body.then_some(body),
    };

    forward(call, request_id)
        .await
        .unwrap_or_else(|Unanswered(status, code, message)| error(status, code, message).into())
}

/// The fields of a component's answer the gateway passes on.
const PASSED_ON: [&str; 6] = [
    "content-type",
    "content-length",
    "cache-control",
    "etag",
    "retry-after",
    "content-disposition",
];

/// Why a forwarded request has no answer from its component: the status, code and words to
/// answer with.
struct Unanswered(StatusCode, &'static str, &'static str);

/// Sends `call` on by service chaining; the answer is passed on as it comes.
async fn forward(call: chain::Call<'_>, request_id: &str) -> Result<Answer, Unanswered> {
    let component = call.component;
    match chain::send(call).await {
        Ok(answer) => {
            let status = answer.get_status_code();
            // Its type and length, how long it may be kept (a photo's), when to send it again (a
            // 503 `database_unavailable`), that it is a file to save and under what name (an
            // export's), then what every answer gets (`handle`).
            let mut fields = FieldList::with_capacity(PASSED_ON.len() + api_plumbing::ADDED_FIELDS);
            // Read in one call across the boundary, rather than one for each name.
            for (name, value) in answer.get_headers().copy_all() {
                if PASSED_ON.contains(&name.as_str()) {
                    fields.push((name, value));
                }
            }
            Ok(Answer::Passed {
                status,
                fields,
                answer,
            })
        }
        Err(chain::Refusal::Invalid) => Err(Unanswered(
            StatusCode::BAD_REQUEST,
            codes::NOT_FOUND,
            "请求地址无效 (invalid request target)",
        )),
        Err(chain::Refusal::Failed(e)) => {
            eprintln!("gateway: {request_id}: forwarding to {component} failed: {e:?}");
            if matches!(e, types::ErrorCode::HttpResponseTimeout) {
                Err(Unanswered(
                    StatusCode::GATEWAY_TIMEOUT,
                    codes::TIMEOUT,
                    "处理超时 (the request took too long)",
                ))
            } else {
                Err(Unanswered(
                    StatusCode::BAD_GATEWAY,
                    codes::INTERNAL,
                    "服务内部错误 (internal error)",
                ))
            }
        }
    }
}

/// The private components, asked for their `/health` by service chaining.
const PRIVATE_COMPONENTS: &[&str] = &[
    "intake",
    "routing",
    "notifications",
    "rating",
    "supervision",
];

async fn component_health(only: Option<&str>) -> Reply {
    let mut components = std::collections::BTreeMap::new();
    let asked = PRIVATE_COMPONENTS
        .iter()
        .filter(|component| only.is_none_or(|only| only == **component));
    for component in asked {
        let call = chain::Call {
            component,
            method: &Method::GET,
            path_and_query: "/health",
            headers: Vec::new(),
            body: None,
        };
        let ok = chain::send(call)
            .await
            .is_ok_and(|answer| answer.get_status_code() == 200);
        let state = if ok {
            ComponentState::Ok
        } else {
            ComponentState::Failing
        };
        components.insert((*component).to_owned(), state);
    }
    // The whole check (no `?component=`) asks the database too: every component answering
    // is of no use while it cannot serve.
    let database = match only {
        Some(_) => None,
        None => Some(database_health().await),
    };
    let (status, code) = if components
        .values()
        .chain(&database)
        .all(|s| *s == ComponentState::Ok)
    {
        (HealthStatus::Ok, StatusCode::OK)
    } else {
        (HealthStatus::Degraded, StatusCode::SERVICE_UNAVAILABLE)
    };
    api_plumbing::reply_with(
        code,
        &mobile_api::ComponentHealth {
            status,
            components,
            database,
        },
    )
}

/// Whether the database answers a statement, on a connection as any request would have one.
async fn database_health() -> ComponentState {
    let answered = match api_plumbing::connect().await {
        Ok(db) => db.query("select 1", []).await.is_ok(),
        Err(_) => false,
    };
    if answered {
        ComponentState::Ok
    } else {
        ComponentState::Failing
    }
}
