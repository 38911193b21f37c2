//! Bad input of every kind gets a clear 4xx with a stable code, and nothing is written.

use serde_json::{Value, json};
use tests::{Platform, valid_request};

struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<no code>")
    }

    fn fields(&self) -> Vec<(String, String)> {
        self.body["error"]["fields"]
            .as_array()
            .map(|fields| {
                fields
                    .iter()
                    .map(|f| {
                        (
                            f["field"].as_str().unwrap_or("").to_owned(),
                            f["code"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

async fn post_raw(
    platform: &Platform,
    body: impl Into<reqwest::Body>,
    content_type: &str,
) -> Answer {
    let response = reqwest::Client::new()
        .post(platform.url("/api/v1/requests"))
        .bearer_auth(platform.keys.token("citizen-1", "citizen"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON body, got {text:?}")),
    }
}

async fn post_json(platform: &Platform, body: &Value) -> Answer {
    post_raw(platform, body.to_string(), "application/json").await
}

async fn nothing_written(platform: &Platform) {
    let (orders, events, keys): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from work_orders), (select count(*) from work_order_events), (select count(*) from idempotency_keys)",
    )
    .fetch_one(&platform.db)
    .await
    .expect("counts");
    assert_eq!(
        (orders, events, keys),
        (0, 0, 0),
        "nothing is written for a refused request"
    );
}

fn valid_json() -> Value {
    serde_json::to_value(valid_request()).expect("json")
}

#[tokio::test]
async fn malformed_json_is_400() {
    let platform = Platform::start().await;
    let trailing = format!("{} trailing", valid_json());
    for body in ["{", "not json", "{\"category\": }", "", &trailing] {
        let answer = post_raw(&platform, body.to_owned(), "application/json").await;
        assert_eq!(answer.status, 400, "{body:?}");
        assert_eq!(answer.code(), "malformed_json", "{body:?}");
    }
    nothing_written(&platform).await;
}

#[tokio::test]
async fn wrong_types_and_missing_fields_name_the_field() {
    let platform = Platform::start().await;
    let mut wrong_type = valid_json();
    wrong_type["location"]["lat"] = json!("north");
    let answer = post_json(&platform, &wrong_type).await;
    assert_eq!((answer.status, answer.code()), (422, "validation_failed"));
    assert_eq!(
        answer.fields(),
        vec![("location.lat".to_owned(), "invalid_type".to_owned())]
    );

    let mut missing = valid_json();
    missing.as_object_mut().expect("object").remove("title");
    let answer = post_json(&platform, &missing).await;
    assert_eq!(
        answer.fields(),
        vec![("title".to_owned(), "required".to_owned())]
    );

    let mut bad_channel = valid_json();
    bad_channel["channel"] = json!("fax");
    let answer = post_json(&platform, &bad_channel).await;
    assert_eq!(
        answer.fields(),
        vec![("channel".to_owned(), "invalid_type".to_owned())]
    );

    let answer = post_json(&platform, &json!([1, 2, 3])).await;
    assert_eq!((answer.status, answer.code()), (422, "validation_failed"));
    nothing_written(&platform).await;
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let platform = Platform::start().await;
    let mut body = valid_json();
    body["title"] = json!("   ");
    body["description"] = json!("长".repeat(2001));
    body["contact_phone"] = json!("12345");
    body["category"] = json!("no.such-category");
    body["location"]["district"] = json!("atlantis");
    body["photo_urls"] = json!(["javascript:alert(1)"]);
    let answer = post_json(&platform, &body).await;
    assert_eq!((answer.status, answer.code()), (422, "validation_failed"));
    let fields = answer.fields();
    for (field, code) in [
        ("title", "required"),
        ("description", "too_long"),
        ("contact_phone", "invalid_phone"),
        ("photo_urls", "invalid_url"),
    ] {
        assert!(
            fields.contains(&(field.to_owned(), code.to_owned())),
            "{field}/{code} in {fields:?}"
        );
    }
    nothing_written(&platform).await;

    // Codes that only the database can check: they come once the fields themselves are valid.
    let mut unknown = valid_json();
    unknown["category"] = json!("no.such-category");
    unknown["location"]["district"] = json!("atlantis");
    let answer = post_json(&platform, &unknown).await;
    assert_eq!(
        answer.fields(),
        vec![
            ("category".to_owned(), "unknown_category".to_owned()),
            (
                "location.district".to_owned(),
                "unknown_district".to_owned()
            )
        ]
    );
    nothing_written(&platform).await;
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let platform = Platform::start().await;
    let mut body = valid_json();
    body["description"] = json!("x".repeat(70 * 1024));
    let answer = post_json(&platform, &body).await;
    assert_eq!((answer.status, answer.code()), (413, "payload_too_large"));

    // Sent in chunks with no length declared, a body is refused once it passes the limit.
    let token = platform.keys.token("citizen-1", "citizen");
    let (status, answer) = platform
        .post_chunked("/api/v1/requests", &token, &[b' '; 80 * 1024], 16 * 1024)
        .await
        .expect("an answer");
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains(r#""code":"payload_too_large""#), "{answer}");
    nothing_written(&platform).await;
}

#[tokio::test]
async fn bodies_that_are_not_json_are_415() {
    let platform = Platform::start().await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        let answer = post_raw(&platform, valid_json().to_string(), content_type).await;
        assert_eq!(
            (answer.status, answer.code()),
            (415, "unsupported_media_type"),
            "{content_type}"
        );
    }
    nothing_written(&platform).await;
}

#[tokio::test]
async fn bad_idempotency_keys_are_400() {
    let platform = Platform::start().await;
    for key in ["x".repeat(129), "has space".to_owned()] {
        let response = reqwest::Client::new()
            .post(platform.url("/api/v1/requests"))
            .bearer_auth(platform.keys.token("citizen-1", "citizen"))
            .header("idempotency-key", key.as_str())
            .json(&valid_request())
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status().as_u16(), 400, "{key:?}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "invalid_idempotency_key");
    }
    nothing_written(&platform).await;
}

#[tokio::test]
async fn unknown_ids_routes_and_methods_are_clear() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    for id in [
        "00000000-0000-0000-0000-000000000000",
        "ZMD-20261128-999999",
        "not-an-id",
        "%00",
    ] {
        let error = citizen.get_request(id).await.expect_err("unknown");
        assert_eq!(
            (error.status(), error.code()),
            (Some(404), Some("not_found")),
            "{id}"
        );
    }
    let client = reqwest::Client::new();
    let token = platform.keys.token("citizen-1", "citizen");
    let answer = client
        .get(platform.url("/api/v2/anything"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status().as_u16(), 404);
    let body: Value = answer.json().await.expect("json");
    assert_eq!(body["error"]["code"], "not_found");

    // A path with other methods: 405, and the methods it has (`Allow`, as HTTP asks).
    let answer = client
        .delete(platform.url("/api/v1/requests"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status().as_u16(), 405);
    assert_eq!(answer.headers()["allow"], "POST, GET, HEAD");
    let body: Value = answer.json().await.expect("json");
    assert_eq!(body["error"]["code"], "method_not_allowed");
    let answer = client
        .put(platform.url("/api/v1/requests/ZMD-20261208-000001/follow"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.headers()["allow"], "POST, DELETE");

    // HEAD is answered as GET is, less the body: the same status and length.
    let got = client
        .get(platform.url("/api/v1/requests"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    let length = got.headers()["content-length"].clone();
    assert_eq!(got.bytes().await.expect("a body").len().to_string(), length);
    let head = client
        .head(platform.url("/api/v1/requests"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.headers()["content-length"], length);
    assert!(head.bytes().await.expect("no body").is_empty());
    let head = client
        .head(platform.url("/health"))
        .send()
        .await
        .expect("answer");
    assert_eq!(head.status().as_u16(), 200);
    // The gateway's own paths take GET (and HEAD) alone, and say so.
    let answer = client
        .put(platform.url("/health"))
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status().as_u16(), 405);
    assert_eq!(answer.headers()["allow"], "GET, HEAD");

    for query in [
        "cursor=garbage",
        "cursor=123.not-a-uuid",
        "limit=0",
        "limit=1000",
        "limit=abc",
    ] {
        let answer = client
            .get(platform.url(&format!("/api/v1/requests?{query}")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("answer");
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.expect("json");
        assert!(status == 400 || status == 422, "{query}: {status}");
        assert!(
            ["invalid_cursor", "validation_failed"]
                .contains(&body["error"]["code"].as_str().unwrap_or("")),
            "{query}: {body}"
        );
    }
}

/// A NUL character (`\u0000` in JSON, `%00` in a query) is text no column can store: it is
/// refused as the field it is in, where each component reads its input, never left to fail the
/// statement (a staff sign-in and the centre's order search answered 500 with one before).
#[tokio::test]
async fn nul_characters_are_refused_with_their_field() {
    let platform = Platform::start().await;
    for (field, mut body) in [("title", valid_json()), ("location.address", valid_json())] {
        match field {
            "title" => body["title"] = json!("路灯\u{0}不亮"),
            _ => body["location"]["address"] = json!("驿城区\u{0}解放大道"),
        }
        let answer = post_json(&platform, &body).await;
        assert_eq!(
            (answer.status, answer.code()),
            (422, "validation_failed"),
            "{field}"
        );
        assert_eq!(
            answer.fields(),
            vec![(field.to_owned(), "invalid_characters".to_owned())]
        );
    }
    // The same letters after an escaped backslash are text like any other.
    let mut escaped = valid_json();
    escaped["description"] = json!(r"路灯不亮 \u0000");
    let answer = post_json(&platform, &escaped).await;
    assert_eq!(answer.status, 201, "{}", answer.body);

    // The gateway's own body (a staff sign-in) and a query the routing component decodes.
    let client = reqwest::Client::new();
    let sign_in = client
        .post(platform.url("/api/v1/auth/staff/sign-in"))
        .json(&json!({"username": "operator\u{0}", "password": "x"}));
    let search = client
        .get(platform.url("/api/v1/orders?category=%00"))
        .bearer_auth(platform.keys.token("operator-1", "operator"));
    for (request, field) in [(sign_in, "username"), (search, "category")] {
        let answer = request.send().await.expect("answer");
        assert_eq!(answer.status().as_u16(), 422, "{field}");
        let body: Value = answer.json().await.expect("json");
        let problem = &body["error"]["fields"][0];
        assert_eq!(
            (problem["field"].as_str(), problem["code"].as_str()),
            (Some(field), Some("invalid_characters")),
            "{body}"
        );
    }
}

/// Every route, called by each role it serves with bad input of several kinds (a NUL, a path
/// segment that is far too long, an id that names nothing; malformed and wrongly shaped bodies;
/// query values that are not numbers, dates or cursors), answers a 4xx with a stable code, or
/// its answer when the input is merely unknown: never a 5xx but an outside service's outage.
#[tokio::test]
async fn every_route_answers_bad_input_with_a_4xx() {
    let platform = Platform::start().await;
    let http = reqwest::Client::new();
    let long = "x".repeat(300);
    let segments = ["%00", "00000000-0000-4000-8000-000000000000", long.as_str()];
    let fields = [
        "title",
        "description",
        "category",
        "username",
        "password",
        "name",
        "role",
        "agency",
        "reason",
        "note",
        "phone",
        "code",
        "refresh_token",
        "date",
        "kind",
        "body",
        "keywords",
        "id",
        "until",
        "into",
        "answer",
        "result",
        "comment",
        "token",
        "platform",
    ];
    let nul_everywhere = Value::Object(
        fields
            .iter()
            .map(|field| ((*field).to_owned(), json!("值\u{0}")))
            .collect(),
    )
    .to_string();
    let numbers_everywhere = Value::Object(
        fields
            .iter()
            .map(|field| ((*field).to_owned(), json!(-99_999_999_999_i64)))
            .collect(),
    )
    .to_string();
    let bodies = [
        "{bad",
        "[]",
        nul_everywhere.as_str(),
        numbers_everywhere.as_str(),
    ];
    let queries = [
        "?limit=-1&cursor=%FF",
        "?category=%00&status=%00&q=%00&keywords=%00&agency=%00&district=%00&from=2026-13-45&to=%00&month=%00",
    ];
    let mut sent = 0;
    for route in mobile_api::routes::ROUTES {
        let roles: Vec<Option<&str>> = if route.is_public() {
            vec![None]
        } else {
            route.roles.iter().copied().map(Some).collect()
        };
        for segment in segments {
            let path = route.pattern.replace("{}", segment);
            for role in &roles {
                let method =
                    reqwest::Method::from_bytes(route.method.as_bytes()).expect("a method");
                let writes = matches!(route.method, "POST" | "PUT");
                let variants: Vec<(String, Option<&str>)> = if writes {
                    bodies.iter().map(|b| (path.clone(), Some(*b))).collect()
                } else {
                    queries
                        .iter()
                        .map(|q| (format!("{path}{q}"), None))
                        .collect()
                };
                for (target, body) in variants {
                    let mut request = http.request(method.clone(), platform.url(&target));
                    if let Some(role) = role {
                        let agency = (*role == "agency_staff").then_some("city-urban-management");
                        request = request.bearer_auth(platform.keys.token_for(
                            &format!("{role}-bad-input"),
                            role,
                            agency,
                        ));
                    }
                    if let Some(body) = body {
                        request = request
                            .header("content-type", "application/json")
                            .body(body.to_owned());
                    }
                    let response = request.send().await.expect("sent");
                    sent += 1;
                    let status = response.status().as_u16();
                    let text = response.text().await.unwrap_or_default();
                    let code = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
                    let case = format!(
                        "{} {target} as {role:?} with {body:?}: {status} {text}",
                        route.method
                    );
                    let outage = status == 503
                        && code.as_deref().is_some_and(|c| c.ends_with("_unavailable"));
                    assert!(status < 500 || outage, "{case}");
                    if status >= 400 {
                        assert!(code.is_some(), "a stable code: {case}");
                    }
                }
            }
        }
    }
    assert!(sent > 500, "{sent} requests");
}
