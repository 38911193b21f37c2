//! The front door of Open311 GeoReport v2 (`/open311/v2/...`), for the city's partner systems.
//!
//! Discovery is answered here; the list of services and each service's definition are open to
//! anyone; filing and reading requests take a partner's `api_key` (in the query, or in a POST's
//! form-encoded body), checked here against `partners`, and go on to intake as the principal
//! `partner:<id>` with the role `partner`, the key itself left behind. Every refusal is in
//! Open311's error shape and the resource's format (`api_plumbing::open311`).

use api_plumbing::open311::{self, Format};
use api_plumbing::{Incoming, MAX_BODY_BYTES, ReadError, query_text};
use mobile_api::{codes, headers};
use spin_sdk::http::{Method, StatusCode};

use crate::identity::Failure;
use crate::{Answer, chain, forward, front_door};

/// When this interface last changed, for discovery's `changeset`.
const CHANGESET: &str = "2026-12-03T00:00:00+08:00";

const FORM: &str = "application/x-www-form-urlencoded";

/// What a path asks for.
enum Resource {
    Discovery,
    /// The services and their definitions: open to anyone.
    Services,
    /// Requests: a partner's key needed.
    Requests,
}

fn refuse(format: Format, status: StatusCode, code: &str, message: &str) -> Answer {
    Answer::Own(open311::error(status, format, code, message))
}

/// A check of the gateway's own that failed (`what`, for the log): 503 with `Retry-After` where
/// the database could not be reached, else an opaque 500.
fn failed(format: Format, request_id: &str, what: &str, failure: Failure) -> Answer {
    eprintln!("gateway: {request_id}: open311 {what} failed: {failure:?}");
    if let Failure::Unavailable(_) = failure {
        return Answer::Own(open311::database_unavailable(format));
    }
    refuse(
        format,
        StatusCode::INTERNAL_SERVER_ERROR,
        codes::INTERNAL,
        "服务内部错误 (internal error)",
    )
}

pub(crate) async fn serve(request: Incoming, request_id: &str, address: &str) -> Answer {
    let path = request.path().to_owned();
    let Some((resource, format)) = open311::split_format(&path) else {
        return refuse(
            Format::Json,
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            "没有这个地址：Open311 的地址以 .json 或 .xml 结尾 (no such route: Open311 paths end in .json or .xml)",
        );
    };
    let segments: Vec<&str> = match resource.strip_prefix("/open311/v2/") {
        Some(rest) => rest.split('/').collect(),
        None => Vec::new(),
    };
    let (kind, methods): (Resource, &[Method]) = match segments.as_slice() {
        ["discovery"] => (Resource::Discovery, &[Method::GET]),
        ["services"] | ["services", _] => (Resource::Services, &[Method::GET]),
        ["requests"] => (Resource::Requests, &[Method::GET, Method::POST]),
        ["requests", _] => (Resource::Requests, &[Method::GET]),
        _ => {
            return refuse(
                format,
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                "没有这个地址 (no such route)",
            );
        }
    };
    if !methods.contains(request.method()) {
        let allowed: Vec<&str> = methods.iter().map(Method::as_str).collect();
        return Answer::Own(crate::method_not_allowed(
            open311::error(
                StatusCode::METHOD_NOT_ALLOWED,
                format,
                codes::METHOD_NOT_ALLOWED,
                "不支持该请求方法 (method not allowed)",
            ),
            &allowed,
        ));
    }
    if let Resource::Discovery = kind {
        return Answer::Own(discovery(&request, format));
    }

    let method = request.method().clone();
    let query = request.query().unwrap_or("").to_owned();
    let mut passed: Vec<(String, Vec<u8>)> = [headers::IDEMPOTENCY_KEY, "accept-language"]
        .into_iter()
        .filter_map(|name| Some((name.to_owned(), request.headers().get_bytes(name)?.to_vec())))
        .collect();
    let is_form = request
        .headers()
        .get("content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(FORM));
    let body = if method == Method::POST {
        if !is_form {
            return refuse(
                format,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                codes::UNSUPPORTED_MEDIA_TYPE,
                "请求内容须为表单 (Content-Type must be application/x-www-form-urlencoded)",
            );
        }
        match request.body(MAX_BODY_BYTES).await {
            Ok(body) => Some(body),
            Err(ReadError::TooLarge) => {
                return refuse(
                    format,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    codes::PAYLOAD_TOO_LARGE,
                    "请求内容过大 (body over 64 KiB)",
                );
            }
            Err(ReadError::Unreadable) => {
                return refuse(
                    format,
                    StatusCode::BAD_REQUEST,
                    codes::VALIDATION_FAILED,
                    "请求内容不完整 (the body could not be read)",
                );
            }
        }
    } else {
        None
    };

    let partner = match kind {
        Resource::Requests => {
            let from_body = body
                .as_deref()
                .and_then(|body| std::str::from_utf8(body).ok())
                .and_then(|form| query_text(form, "api_key").ok().flatten());
            let key = query_text(&query, "api_key").ok().flatten().or(from_body);
            let partner = match key {
                Some(key) => crate::partners::partner_for_key(&key).await,
                None => Ok(None),
            };
            match partner {
                Ok(Some(partner)) => Some(format!("partner:{partner}")),
                Ok(None) => {
                    return refuse(
                        format,
                        StatusCode::FORBIDDEN,
                        codes::INVALID_API_KEY,
                        "缺少 api_key，或 api_key 无效、已停用 (api_key missing, unknown or revoked)",
                    );
                }
                Err(failure) => return failed(format, request_id, "key check", failure),
            }
        }
        _ => None,
    };
    match front_door::count(partner.as_deref(), None, address).await {
        Ok(()) => {}
        Err(Failure::Limited(code, seconds)) => {
            let mut reply = open311::error(
                StatusCode::TOO_MANY_REQUESTS,
                format,
                code,
                &format!(
                    "操作过于频繁，请 {seconds} 秒后再试 (too many requests: wait {seconds} s)"
                ),
            );
            if let Ok(value) = seconds.to_string().parse() {
                reply.headers_mut().insert("retry-after", value);
            }
            return Answer::Own(reply);
        }
        Err(failure) => return failed(format, request_id, "rate count", failure),
    }

    passed.push((
        headers::REQUEST_ID.to_owned(),
        request_id.as_bytes().to_vec(),
    ));
    if let Some(subject) = &partner {
        passed.push((headers::SUBJECT.to_owned(), subject.clone().into_bytes()));
        passed.push((headers::ROLE.to_owned(), b"partner".to_vec()));
    }
    if body.is_some() {
        passed.push(("content-type".to_owned(), FORM.as_bytes().to_vec()));
    }
    // The key goes no further than this component.
    let kept = without_key(&query);
    let target = if kept.is_empty() {
        path.clone()
    } else {
        format!("{path}?{kept}")
    };
    let body = body.map(|body| match std::str::from_utf8(&body) {
        Ok(form) => without_key(form).into_bytes(),
        Err(_) => body,
    });
    let call = chain::Call {
        component: "intake",
        method: &method,
        path_and_query: &target,
        headers: passed,
        body: body.filter(|body| !body.is_empty()),
    };
    forward(call, request_id)
        .await
        .unwrap_or_else(|crate::Unanswered(status, code, message)| {
            refuse(format, status, code, message)
        })
}

/// A query or form without its `api_key`.
fn without_key(pairs: &str) -> String {
    pairs
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some("api_key"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `GET /open311/v2/discovery.{format}`: where the interface is and what it speaks.
fn discovery(request: &Incoming, format: Format) -> api_plumbing::Reply {
    // The address the client used, as the runtime reports it.
    let base = request
        .headers()
        .get("spin-full-url")
        .and_then(|url| url.split_once("/open311/"))
        .map_or_else(String::new, |(origin, _)| origin.to_owned());
    let value = serde_json::json!({
        "changeset": CHANGESET,
        "contact": "12345 政务服务便民热线",
        "key_service": "对接系统的 api_key 由热线管理员签发 (the hotline's administrators issue partner systems their api_key)",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": format!("{base}/open311/v2"),
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    });
    open311::reply(StatusCode::OK, format, "discovery", "", &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_left_behind() {
        assert_eq!(
            without_key("api_key=p311_x&service_code=a&description=b%26c&api_key=y"),
            "service_code=a&description=b%26c"
        );
        assert_eq!(without_key("api_key=p311_x"), "");
        assert_eq!(without_key("api_keys=1&x=2"), "api_keys=1&x=2");
    }
}
