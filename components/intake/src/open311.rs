//! Open311 GeoReport v2 (`/open311/v2`): how the city's other systems — digital city management
//! (数字城管), the governance and environmental grids — file requests into the hotline and follow
//! them, in the standard civic-tech tools speak (<http://wiki.open311.org/GeoReport_v2>).
//!
//! - Services are the second-level categories (`service_code` = the category code, `group` its
//!   first level); none has extra attributes (`metadata` false).
//! - A partner's request is filed as the app's are, through the same checks and transaction
//!   (`orders::file_request`), on the `partner` channel, filed by `partner:<id>`, for the citizen
//!   its `phone` names (a citizen the hotline calls back, texts, and who can sign in by SMS to
//!   follow and rate it). `description` is required (the title is its first line) and so is
//!   `phone`: an agency must be able to reach whoever reported it. Names, e-mail, device and
//!   account ids and attributes are not kept. `Idempotency-Key` is honoured as on the app's API.
//! - A partner reads back what it filed, and nothing else: `service_request_id` is the tracking
//!   number; times are China time with the offset; `status_notes` the status as citizens read it,
//!   and the answer they were given once there is one (the agency's reply the centre checked).
//!   Publishing every request as open data is the city's decision to take, not this interface's.
//!
//! The gateway checks the key and passes the partner as the principal; every answer, errors too,
//! is in the resource's format (`api_plumbing::open311`).

use crate::error::ApiError;
use crate::orders::{self, PARTNER};
use api_plumbing::open311::{self, Format};
use api_plumbing::{Principal, Reply, field_error, query_text};
use chrono::{DateTime, SecondsFormat, Utc};
use mobile_api::{Channel, CreateRequest, FieldError, LocationInput, codes};
use order_store::db::Row;
use order_store::{CLOSED_STATUSES, required, text, utc};
use serde_json::{Value, json};
use spin_sdk::http::StatusCode;
use spin_sdk::pg::ParameterValue;

/// Most requests one list gives (the specification's default cap).
const MAX_LIST: usize = 1000;
/// The widest span one list covers, and the span it covers when not told (the specification's).
const SPAN_DAYS: i64 = 90;
/// Most ids one `service_request_id` list names.
const MAX_IDS: usize = 100;
/// A title is the description's first line, cut to this many characters.
const TITLE_CHARS: usize = 30;

/// Serves `/open311/v2/...` (the gateway sends only the resources intake answers).
pub async fn serve(
    principal: Option<&Principal>,
    method: &spin_sdk::http::Method,
    path: &str,
    query: &str,
    idempotency_key: Result<Option<&str>, ApiError>,
    body: &[u8],
    request_id: &str,
) -> Reply {
    let format = open311::format_of(path);
    let idempotency_key = match idempotency_key {
        Ok(key) => key,
        Err(error) => return refusal(error, format, request_id),
    };
    let resource = open311::split_format(path).map_or(path, |(resource, _)| resource);
    let segments: Vec<&str> = resource
        .strip_prefix("/open311/v2/")
        .unwrap_or("")
        .split('/')
        .collect();
    let partner = principal.filter(|p| p.role == PARTNER);
    use spin_sdk::http::Method;
    let outcome = match (method, segments.as_slice(), partner) {
        (&Method::GET, ["services"], _) => services(format).await,
        (&Method::GET, ["services", code], _) => definition(code, format).await,
        (&Method::POST, ["requests"], Some(partner)) => {
            file(partner, idempotency_key, body, format).await
        }
        (&Method::GET, ["requests"], Some(partner)) => list(partner, query, format).await,
        (&Method::GET, ["requests", id], Some(partner)) => one(partner, id, format).await,
        (_, ["requests"] | ["requests", _], None) => Err(ApiError::Unauthenticated),
        _ => Err(ApiError::NotFound),
    };
    outcome.unwrap_or_else(|error| refusal(error, format, request_id))
}

/// An error as Open311 gives it: the status (400 for what the fields say), the stable code and
/// the words, with each field named as Open311 names it.
fn refusal(error: ApiError, format: Format, request_id: &str) -> Reply {
    match error {
        ApiError::Validation(fields) => {
            let said: Vec<String> = fields
                .iter()
                .map(|f| format!("{} ({}): {}", open311_field(&f.field), f.code, f.message))
                .collect();
            open311::error(
                StatusCode::BAD_REQUEST,
                format,
                codes::VALIDATION_FAILED,
                &said.join("; "),
            )
        }
        ApiError::Unavailable(cause) => {
            eprintln!("intake: {request_id}: {cause}");
            open311::database_unavailable(format)
        }
        error => {
            error.log(request_id);
            let (status, code, message) = error.parts();
            open311::error(status, format, code, &message)
        }
    }
}

/// Our field's name as Open311 calls it.
fn open311_field(field: &str) -> &str {
    match field {
        "category" => "service_code",
        "title" | "description" => "description",
        "location.lat" => "lat",
        "location.lng" => "long",
        "location" | "location.address" => "address_string",
        "contact_phone" => "phone",
        field if field.starts_with("photo_urls") => "media_url",
        field => field,
    }
}

/// `GET /open311/v2/services.{format}`.
async fn services(format: Format) -> Result<Reply, ApiError> {
    let db = api_plumbing::connect().await?;
    let rows = db
        .query(
            "select c.category_id, c.name, p.name as group_name from categories c \
             join categories p on p.category_id = c.parent_id \
             order by p.sort_order, p.category_id, c.sort_order, c.category_id",
            [],
        )
        .await?
        .collect()
        .await?;
    let services = rows
        .iter()
        .map(|row| {
            let name: String = required(row, "name")?;
            let group: String = required(row, "group_name")?;
            Ok(json!({
                "service_code": required::<String>(row, "category_id")?,
                "service_name": name,
                "description": format!("{group} · {name}"),
                "metadata": false,
                "type": "realtime",
                "keywords": "",
                "group": group,
            }))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(open311::reply(
        StatusCode::OK,
        format,
        "services",
        "service",
        &Value::Array(services),
    ))
}

/// `GET /open311/v2/services/{code}.{format}`: no service has attributes of its own.
async fn definition(code: &str, format: Format) -> Result<Reply, ApiError> {
    let db = api_plumbing::connect().await?;
    let rows = db
        .query(
            "select 1 as found from categories where category_id = $1 and parent_id is not null",
            [text(code)],
        )
        .await?
        .collect()
        .await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound);
    }
    let value = json!({ "service_code": code, "attributes": [] });
    Ok(open311::reply(
        StatusCode::OK,
        format,
        "service_definition",
        "",
        &value,
    ))
}

/// The first line of `description`, cut to `TITLE_CHARS` characters.
fn title_of(description: &str) -> String {
    let line = description
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("");
    if line.chars().count() <= TITLE_CHARS {
        line.to_owned()
    } else {
        let mut title: String = line.chars().take(TITLE_CHARS - 1).collect();
        title.push('…');
        title
    }
}

/// A number field of the form, if given.
fn number(form: &str, name: &str, problems: &mut Vec<FieldError>) -> Option<f64> {
    let value = field(form, name, problems)?;
    match value.trim().parse::<f64>() {
        Ok(number) if number.is_finite() => Some(number),
        _ => {
            problems.push(field_error(name, "invalid_value", "应为数字 (a number)"));
            None
        }
    }
}

/// A text field of the form, if given and not blank.
fn field(form: &str, name: &str, problems: &mut Vec<FieldError>) -> Option<String> {
    match query_text(form, name) {
        Ok(value) => value.filter(|v| !v.trim().is_empty()),
        Err(problem) => {
            problems.push(problem);
            None
        }
    }
}

/// What the form asks to file, as the app's API takes it.
fn request_of(form: &str) -> Result<CreateRequest, ApiError> {
    let mut problems = Vec::new();
    let service_code = field(form, "service_code", &mut problems);
    let lat = number(form, "lat", &mut problems);
    let lng = number(form, "long", &mut problems);
    let address = field(form, "address_string", &mut problems);
    let description = field(form, "description", &mut problems);
    let phone = field(form, "phone", &mut problems);
    let media_url = field(form, "media_url", &mut problems);
    if service_code.is_none() {
        problems.push(field_error(
            "service_code",
            "required",
            "请选择诉求类别 (required)",
        ));
    }
    if description.is_none() {
        problems.push(field_error(
            "description",
            "required",
            "请描述诉求 (required here: the title is its first line)",
        ));
    }
    if phone.is_none() {
        problems.push(field_error(
            "phone",
            "required",
            "请留下联系电话 (required here: the agency calls back)",
        ));
    }
    if lat.is_some() != lng.is_some() {
        problems.push(field_error(
            "lat",
            "invalid_value",
            "lat 与 long 须同时提供 (lat and long come together)",
        ));
    }
    if lat.is_none() && address.is_none() {
        problems.push(field_error(
            "address_string",
            "required",
            "请提供坐标或地址 (lat and long, or address_string)",
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let description = description.unwrap_or_default();
    Ok(CreateRequest {
        category: service_code.unwrap_or_default(),
        title: title_of(&description),
        description,
        location: LocationInput {
            lat,
            lng,
            address,
            district: None,
        },
        contact_phone: phone.unwrap_or_default(),
        channel: Channel::Partner,
        urgent: false,
        confidential: false,
        photo_urls: media_url.into_iter().collect(),
        hotline_number: None,
        leader_day: None,
    })
}

/// `POST /open311/v2/requests.{format}` (form-encoded): the request filed at once, so the answer
/// names its `service_request_id` (no token is needed).
async fn file(
    partner: &Principal,
    idempotency_key: Option<&str>,
    body: &[u8],
    format: Format,
) -> Result<Reply, ApiError> {
    if let Some(key) = idempotency_key {
        orders::check_idempotency_key(key)?;
    }
    let form = std::str::from_utf8(body).map_err(|_| {
        ApiError::Validation(vec![field_error(
            "description",
            "invalid_encoding",
            "表单须为 UTF-8 (the form must be UTF-8)",
        )])
    })?;
    let request = request_of(form)?;
    let filed = orders::file_request(partner, idempotency_key, &request, body).await?;
    let order: Value = serde_json::from_str(filed.body())
        .map_err(|e| ApiError::Internal(format!("the filed order reads back wrong: {e}")))?;
    let number = order["tracking_number"].as_str().unwrap_or_default();
    let created = json!([{
        "service_request_id": number,
        "service_notice": format!("已受理，工单号 {number}，可凭此号查询办理进度。"),
        "account_id": null,
    }]);
    Ok(open311::reply(
        filed.status(),
        format,
        "service_requests",
        "request",
        &created,
    ))
}

const REQUESTS: &str = "select o.tracking_number, o.status, o.category_id, c.name as category_name, \
     o.description, a.name as agency_name, o.created_at, o.updated_at, o.deadline_at, o.address, \
     o.lat, o.lng, o.photo_urls[1] as media_url, \
     (select coalesce(json_agg(json_build_array(e.event, e.note) order by e.work_order_event_id), '[]')::text \
      from work_order_events e where e.work_order_id = o.work_order_id \
        and e.event in ('replied', 'audit_failed', 'audit_passed', 'closed_direct', 'informed')) as answers \
     from work_orders o join categories c on c.category_id = o.category_id \
     left join agencies a on a.agency_id = o.agency_id \
     where o.channel = 'partner' and o.filed_by = $1";

fn china_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&workorder::china_time())
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn request_value(row: &Row) -> Result<Value, ApiError> {
    let status: String = required(row, "status")?;
    let closed = CLOSED_STATUSES.contains(&format!("'{status}'"));
    let time = |column: &str| utc(row, column).map(china_time);
    // The status as citizens read it, and the answer they were given once there is one.
    let history: Vec<(String, Option<String>)> =
        serde_json::from_str(&required::<String>(row, "answers")?)
            .map_err(|e| ApiError::Internal(format!("the order's answers: {e}")))?;
    let answer = workorder::citizen_answer(
        history
            .iter()
            .map(|(event, note)| (event.as_str(), note.as_deref(), ())),
    );
    let label = workorder::status_label(&status);
    let notes = match answer {
        Some((text, _, ())) => format!("{label}：{text}"),
        None => label.to_owned(),
    };
    Ok(json!({
        "service_request_id": required::<String>(row, "tracking_number")?,
        "status": if closed { "closed" } else { "open" },
        "status_notes": notes,
        "service_name": required::<String>(row, "category_name")?,
        "service_code": required::<String>(row, "category_id")?,
        "description": required::<String>(row, "description")?,
        "agency_responsible": row.get::<String>("agency_name"),
        "service_notice": null,
        "requested_datetime": time("created_at"),
        "updated_datetime": time("updated_at"),
        "expected_datetime": time("deadline_at"),
        "address": row.get::<String>("address"),
        "address_id": null,
        "zipcode": null,
        "lat": row.get::<f64>("lat"),
        "long": row.get::<f64>("lng"),
        "media_url": row.get::<String>("media_url"),
    }))
}

fn requests_reply(rows: &[Row], format: Format) -> Result<Reply, ApiError> {
    let requests = rows
        .iter()
        .map(request_value)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(open311::reply(
        StatusCode::OK,
        format,
        "service_requests",
        "request",
        &Value::Array(requests),
    ))
}

/// `GET /open311/v2/requests/{id}.{format}`: one the partner filed; any other is 404.
async fn one(partner: &Principal, id: &str, format: Format) -> Result<Reply, ApiError> {
    let db = api_plumbing::connect().await?;
    let rows = db
        .query(
            format!("{REQUESTS} and o.tracking_number = $2"),
            [text(&partner.subject), text(id)],
        )
        .await?
        .collect()
        .await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound);
    }
    requests_reply(&rows, format)
}

/// A comma list of the form, if given.
fn list_of(query: &str, name: &str, problems: &mut Vec<FieldError>) -> Option<Vec<String>> {
    let value = field(query, name, problems)?;
    Some(
        value
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

fn instant(query: &str, name: &str, problems: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    let value = field(query, name, problems)?;
    match DateTime::parse_from_rfc3339(value.trim()) {
        Ok(at) => Some(at.with_timezone(&Utc)),
        Err(_) => {
            problems.push(field_error(
                name,
                "invalid_date",
                "应为带时区的 ISO 8601 时间，如 2026-12-01T08:00:00+08:00 (ISO 8601 with a zone)",
            ));
            None
        }
    }
}

/// `GET /open311/v2/requests.{format}?service_request_id=&service_code=&start_date=&end_date=&status=`:
/// what the partner filed, newest first, at most 1000; by ids (the other filters then do not
/// apply, as the specification has it), or in a span of at most 90 days (the last 90 by
/// default), of some services, open or closed.
async fn list(partner: &Principal, query: &str, format: Format) -> Result<Reply, ApiError> {
    let mut problems = Vec::new();
    let ids = list_of(query, "service_request_id", &mut problems);
    let services = list_of(query, "service_code", &mut problems);
    let statuses = list_of(query, "status", &mut problems);
    let end = instant(query, "end_date", &mut problems);
    let start = instant(query, "start_date", &mut problems);
    if ids.as_ref().is_some_and(|ids| ids.len() > MAX_IDS) {
        problems.push(field_error(
            "service_request_id",
            "too_many",
            format!("一次最多查询 {MAX_IDS} 个工单 (at most {MAX_IDS} ids)"),
        ));
    }
    let open = match statuses.as_deref() {
        None => None,
        Some(statuses) => {
            if statuses.iter().any(|s| s != "open" && s != "closed") {
                problems.push(field_error(
                    "status",
                    "invalid_value",
                    "应为 open、closed 或二者 (open, closed or both)",
                ));
            }
            let has = |s: &str| statuses.iter().any(|given| given == s);
            match (has("open"), has("closed")) {
                (true, false) => Some(true),
                (false, true) => Some(false),
                _ => None,
            }
        }
    };
    let now = Utc::now();
    let end = end.unwrap_or(now);
    let start = start.unwrap_or(end - chrono::Duration::days(SPAN_DAYS));
    if start > end {
        problems.push(field_error(
            "start_date",
            "after_end",
            "开始时间晚于结束时间 (start_date is after end_date)",
        ));
    } else if end - start > chrono::Duration::days(SPAN_DAYS) {
        problems.push(field_error(
            "end_date",
            "span_too_long",
            format!("查询跨度最多 {SPAN_DAYS} 天 (at most {SPAN_DAYS} days)"),
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }

    let mut sql = String::from(REQUESTS);
    let mut params: Vec<ParameterValue> = vec![text(&partner.subject)];
    match ids {
        Some(ids) => {
            params.push(ids.into_iter().map(Some).collect::<Vec<_>>().into());
            sql.push_str(" and o.tracking_number = any($2)");
        }
        None => {
            params.push(start.naive_utc().into());
            params.push(end.naive_utc().into());
            sql.push_str(" and o.created_at >= $2 and o.created_at <= $3");
            if let Some(services) = services {
                params.push(services.into_iter().map(Some).collect::<Vec<_>>().into());
                sql.push_str(&format!(" and o.category_id = any(${})", params.len()));
            }
            match open {
                Some(true) => sql.push_str(&format!(" and o.status not in {CLOSED_STATUSES}")),
                Some(false) => sql.push_str(&format!(" and o.status in {CLOSED_STATUSES}")),
                None => {}
            }
        }
    }
    sql.push_str(&format!(" order by o.created_at desc limit {MAX_LIST}"));
    let db = api_plumbing::connect().await?;
    let rows = db.query(sql, params).await?.collect().await?;
    requests_reply(&rows, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_the_first_line_cut_short() {
        assert_eq!(title_of("\n  路灯不亮  \n三晚了"), "路灯不亮");
        let long = "解".repeat(40);
        let title = title_of(&long);
        assert_eq!(title.chars().count(), TITLE_CHARS);
        assert!(title.ends_with('…'));
        assert_eq!(
            title_of(&"解".repeat(TITLE_CHARS)),
            "解".repeat(TITLE_CHARS)
        );
    }

    #[test]
    fn forms_become_requests_or_say_every_problem() {
        let request = request_of(
            "service_code=urban.streetlight&lat=32.98&long=114.02&description=%E8%B7%AF%E7%81%AF+%E4%B8%8D%E4%BA%AE&phone=13800138000&media_url=https%3A%2F%2Fexample.org%2Fa.jpg&first_name=x",
        )
        .expect("a good form");
        assert_eq!(request.category, "urban.streetlight");
        assert_eq!(request.title, "路灯 不亮");
        assert_eq!(request.location.lat, Some(32.98));
        assert_eq!(request.location.lng, Some(114.02));
        assert_eq!(request.channel, Channel::Partner);
        assert_eq!(request.photo_urls, vec!["https://example.org/a.jpg"]);

        let Err(ApiError::Validation(problems)) = request_of("lat=abc&long=1") else {
            panic!("a bad form passed");
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "lat",
                "service_code",
                "description",
                "phone",
                "lat",
                "address_string"
            ]
        );
    }

    #[test]
    fn times_are_china_time_with_the_offset() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T16:30:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        assert_eq!(china_time(at), "2026-12-02T00:30:00+08:00");
    }
}
