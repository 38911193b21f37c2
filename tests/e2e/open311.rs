//! Open311 GeoReport v2 (`/open311/v2`): the city's other systems file requests into the hotline
//! and follow them, with the key an administrator issued them, in JSON and in XML.

use mobile_api::NewPartner;
use serde_json::Value;
use tests::{Platform, valid_request};

/// A partner added by an administrator; its key.
async fn partner(platform: &Platform, id: &str, name: &str) -> String {
    let issued = platform
        .client("admin-1", "admin")
        .create_partner(&NewPartner {
            id: id.into(),
            name: name.into(),
        })
        .await
        .expect("a partner");
    assert_eq!(issued.partner.id, id);
    assert!(issued.api_key.starts_with("p311_"), "{}", issued.api_key);
    issued.api_key
}

/// `GET path` (with `query`): the status, the content type and the body.
async fn get(platform: &Platform, path: &str, query: &[(&str, &str)]) -> (u16, String, String) {
    let response = reqwest::Client::new()
        .get(platform.url(path))
        .query(query)
        .send()
        .await
        .expect("an answer");
    answer(response).await
}

async fn answer(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, content_type, response.text().await.expect("a body"))
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// `POST /open311/v2/requests.{format}` with `form`, and an `Idempotency-Key` if given.
async fn file(
    platform: &Platform,
    format: &str,
    form: &[(&str, &str)],
    key: Option<&str>,
) -> (u16, String, String) {
    let mut request = reqwest::Client::new()
        .post(platform.url(&format!("/open311/v2/requests.{format}")))
        .form(form);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    answer(request.send().await.expect("an answer")).await
}

/// The form a grid officer's system sends for a broken streetlight.
fn streetlight(api_key: &str) -> Vec<(&str, &str)> {
    vec![
        ("api_key", api_key),
        ("service_code", "urban.streetlight"),
        ("lat", "32.9802"),
        ("long", "114.0227"),
        ("address_string", "驿城区解放大道与交通路交叉口"),
        (
            "description",
            "路灯不亮\n网格员巡查发现解放大道与交通路交叉口三盏路灯不亮。",
        ),
        ("phone", "13900139000"),
        ("media_url", "https://img.example.cn/grid-1.jpg"),
        ("first_name", "网格员"),
        ("email", "grid@example.cn"),
    ]
}

/// The first error of an Open311 error list: its code and description.
fn open311_error(body: &str) -> (u64, String) {
    let errors = json(body);
    (
        errors[0]["code"].as_u64().expect("a code"),
        errors[0]["description"]
            .as_str()
            .expect("a description")
            .to_owned(),
    )
}

async fn partner_orders(platform: &Platform) -> i64 {
    sqlx::query_scalar("select count(*) from work_orders where channel = 'partner'")
        .fetch_one(&platform.db)
        .await
        .expect("a count")
}

#[tokio::test]
async fn partner_systems_file_and_follow_requests_through_open311() {
    let platform = Platform::start().await;
    let key = partner(&platform, "yicheng-szcg", "驿城区数字城管系统").await;
    let listed = platform
        .client("admin-1", "admin")
        .partners()
        .await
        .expect("the partners");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].name, "驿城区数字城管系统");
    assert_eq!(listed.items[0].created_by, "admin-1");
    assert!(listed.items[0].revoked_at.is_none());
    assert_eq!(
        platform.audited("partner_created").await,
        [("admin-1".to_owned(), Some("yicheng-szcg".to_owned()))]
    );

    // Discovery and the services need no key.
    let (status, _, body) = get(&platform, "/open311/v2/discovery.json", &[]).await;
    assert_eq!(status, 200, "{body}");
    let discovery = json(&body);
    assert_eq!(
        discovery["endpoints"][0]["url"],
        platform.url("/open311/v2").as_str()
    );
    assert_eq!(
        discovery["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    let (status, content_type, body) = get(&platform, "/open311/v2/services.json", &[]).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/json; charset=utf-8")
    );
    let services = json(&body);
    let streetlight_service = services
        .as_array()
        .expect("a list")
        .iter()
        .find(|s| s["service_code"] == "urban.streetlight")
        .expect("the streetlight service")
        .clone();
    assert_eq!(streetlight_service["metadata"], false);
    assert_eq!(streetlight_service["type"], "realtime");
    assert!(
        streetlight_service["group"]
            .as_str()
            .is_some_and(|g| !g.is_empty())
    );
    assert!(
        services
            .as_array()
            .expect("a list")
            .iter()
            .all(|s| s["service_code"]
                .as_str()
                .is_some_and(|code| code.contains('.'))),
        "only second-level categories are services"
    );
    let (status, content_type, body) = get(&platform, "/open311/v2/services.xml", &[]).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/xml; charset=utf-8")
    );
    assert!(body.starts_with(r#"<?xml version="1.0" encoding="utf-8"?><services><service>"#));
    assert!(
        body.contains("<service_code>urban.streetlight</service_code>"),
        "{body}"
    );
    let (status, _, body) = get(
        &platform,
        "/open311/v2/services/urban.streetlight.json",
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        json(&body),
        serde_json::json!({ "service_code": "urban.streetlight", "attributes": [] })
    );

    // Filed at once, and a retry under the same key files nothing more.
    let form = streetlight(&key);
    let (status, _, body) = file(&platform, "json", &form, Some("grid-report-1")).await;
    assert_eq!(status, 201, "{body}");
    let created = json(&body);
    let number = created[0]["service_request_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    assert!(
        created[0]["service_notice"]
            .as_str()
            .is_some_and(|notice| notice.contains(&number))
    );
    let (status, _, again) = file(&platform, "json", &form, Some("grid-report-1")).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(json(&again)[0]["service_request_id"], number.as_str());
    assert_eq!(partner_orders(&platform).await, 1);

    // What was filed: the partner's channel, the partner as filer, the caller by phone; the key
    // and the names are kept nowhere.
    let (channel, filed_by, title, photos, phone): (String, String, String, Vec<String>, String) =
        sqlx::query_as(
            "select o.channel, o.filed_by, o.title, o.photo_urls, c.phone from work_orders o \
             join citizens c on c.citizen_id = o.citizen_id where o.tracking_number = $1",
        )
        .bind(&number)
        .fetch_one(&platform.db)
        .await
        .expect("the order");
    assert_eq!(channel, "partner");
    assert_eq!(filed_by, "partner:yicheng-szcg");
    assert_eq!(title, "路灯不亮");
    assert_eq!(photos, ["https://img.example.cn/grid-1.jpg"]);
    assert_eq!(phone, "13900139000");
    let (stored,): (String,) =
        sqlx::query_as("select row_to_json(o)::text from work_orders o where tracking_number = $1")
            .bind(&number)
            .fetch_one(&platform.db)
            .await
            .expect("the row");
    assert!(!stored.contains(&key) && !stored.contains("grid@example.cn"));
    assert!(!platform.log().contains(&key), "the key reached a log");

    // The centre and the agency see it as any other, on the partner's channel.
    let order = platform
        .client("operator-1", "operator")
        .order(&number)
        .await
        .expect("the centre sees it");
    assert_eq!(order.channel, mobile_api::Channel::Partner);

    // Read back, in both formats.
    let path = format!("/open311/v2/requests/{number}.json");
    let (status, _, body) = get(&platform, &path, &[("api_key", &key)]).await;
    assert_eq!(status, 200, "{body}");
    let request = &json(&body)[0];
    assert_eq!(request["service_request_id"], number.as_str());
    assert_eq!(request["status"], "open");
    assert_eq!(request["service_code"], "urban.streetlight");
    assert_eq!(request["lat"], 32.9802);
    assert_eq!(request["long"], 114.0227);
    assert_eq!(request["media_url"], "https://img.example.cn/grid-1.jpg");
    assert!(
        request["requested_datetime"]
            .as_str()
            .is_some_and(|t| t.ends_with("+08:00")),
        "{request}"
    );
    assert!(
        request["status_notes"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    let (status, _, xml) = get(
        &platform,
        &format!("/open311/v2/requests/{number}.xml"),
        &[("api_key", &key)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        xml.contains("<service_requests><request><address>驿城区解放大道与交通路交叉口</address>"),
        "{xml}"
    );
    assert!(xml.contains(&format!(
        "<service_request_id>{number}</service_request_id>"
    )));

    // The list, with its filters.
    let listed = |query: Vec<(&'static str, String)>| {
        let platform = &platform;
        let key = key.clone();
        async move {
            let mut query: Vec<(&str, String)> = query;
            query.push(("api_key", key));
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, _, body) = get(platform, "/open311/v2/requests.json", &query).await;
            assert_eq!(status, 200, "{body}");
            json(&body)
                .as_array()
                .expect("a list")
                .iter()
                .map(|r| r["service_request_id"].as_str().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(vec![]).await, [number.as_str()]);
    assert_eq!(
        listed(vec![("status", "open".into())]).await,
        [number.as_str()]
    );
    assert!(listed(vec![("status", "closed".into())]).await.is_empty());
    assert!(
        listed(vec![("service_code", "water.outage,urban.road".into())])
            .await
            .is_empty()
    );
    assert_eq!(
        listed(vec![(
            "service_code",
            "water.outage,urban.streetlight".into()
        )])
        .await,
        [number.as_str()]
    );
    assert_eq!(
        listed(vec![("service_request_id", format!("{number},NOPE-1"))]).await,
        [number.as_str()]
    );
    assert!(
        listed(vec![
            ("start_date", "2026-01-01T00:00:00+08:00".into()),
            ("end_date", "2026-02-01T00:00:00+08:00".into()),
        ])
        .await
        .is_empty()
    );

    // Another partner, and a citizen's own request, are out of sight.
    let other = partner(&platform, "env-grid", "环保网格系统").await;
    let (status, _, body) = get(&platform, &path, &[("api_key", &other)]).await;
    assert_eq!((status, open311_error(&body).0), (404, 404));
    let (status, _, body) = get(
        &platform,
        "/open311/v2/requests.json",
        &[("api_key", &other)],
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "[]"));
    let citizens = platform
        .client("citizen-1", "citizen")
        .create_request(&valid_request(), None)
        .await
        .expect("filed")
        .tracking_number;
    let (status, _, _) = get(
        &platform,
        &format!("/open311/v2/requests/{citizens}.json"),
        &[("api_key", &key)],
    )
    .await;
    assert_eq!(status, 404);

    // A new key (the old one leaked): the old opens nothing, the new one what was filed before.
    let renewed = platform
        .client("admin-1", "admin")
        .new_partner_key("yicheng-szcg")
        .await
        .expect("a new key");
    assert_ne!(renewed.api_key, key);
    let (status, _, _) = get(&platform, &path, &[("api_key", &key)]).await;
    assert_eq!(status, 403);
    let (status, _, body) = get(&platform, &path, &[("api_key", &renewed.api_key)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)[0]["service_request_id"], number.as_str());
    assert_eq!(
        platform.audited("partner_key_issued").await,
        [("admin-1".to_owned(), Some("yicheng-szcg".to_owned()))]
    );

    // Once answered, the partner reads it closed, with the answer the citizen was given.
    platform
        .client("operator-1", "operator")
        .act(
            &number,
            "close_direct",
            &mobile_api::OrderAction {
                answer: Some("路灯维修已列入本周计划，城管部门将于三日内修复。".into()),
                ..Default::default()
            },
        )
        .await
        .expect("answered");
    let (status, _, body) = get(&platform, &path, &[("api_key", &renewed.api_key)]).await;
    assert_eq!(status, 200, "{body}");
    let request = &json(&body)[0];
    assert_eq!(request["status"], "closed");
    assert!(
        request["status_notes"].as_str().is_some_and(
            |notes| notes.ends_with("：路灯维修已列入本周计划，城管部门将于三日内修复。")
        ),
        "{request}"
    );
}

#[tokio::test]
async fn open311_refuses_what_it_must_in_its_own_shape() {
    let platform = Platform::start().await;
    let admin = platform.client("admin-1", "admin");
    let key = partner(&platform, "szcg", "数字城管").await;

    // Keys: none, a wrong one, in either format.
    for query in [
        vec![],
        vec![("api_key", "p311_nothing")],
        vec![("api_key", "x")],
    ] {
        let (status, _, body) = get(&platform, "/open311/v2/requests.json", &query).await;
        assert_eq!(status, 403, "{body}");
        let (code, description) = open311_error(&body);
        assert_eq!(code, 403);
        assert!(
            description.starts_with("invalid_api_key: "),
            "{description}"
        );
    }
    let (status, content_type, body) = get(&platform, "/open311/v2/requests.xml", &[]).await;
    assert_eq!(
        (status, content_type.as_str()),
        (403, "text/xml; charset=utf-8")
    );
    assert!(
        body.contains("<errors><error><code>403</code><description>invalid_api_key: "),
        "{body}"
    );

    // Paths and methods.
    for path in [
        "/open311/v2/services.csv",
        "/open311/v2/nothing.json",
        "/open311/v3/services.json",
        "/open311/v2/services",
    ] {
        let (status, _, body) = get(&platform, path, &[]).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(open311_error(&body).0, 404);
    }
    let (status, _, body) = get(&platform, "/open311/v2/services/urban.nothing.json", &[]).await;
    assert_eq!((status, open311_error(&body).0), (404, 404));
    let response = reqwest::Client::new()
        .delete(platform.url("/open311/v2/requests.json"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD, POST");

    // Filing: not a form; fields missing or wrong; nothing written.
    let response = reqwest::Client::new()
        .post(platform.url("/open311/v2/requests.json"))
        .query(&[("api_key", key.as_str())])
        .json(&serde_json::json!({ "service_code": "urban.streetlight" }))
        .send()
        .await
        .expect("an answer");
    let (status, _, body) = answer(response).await;
    assert_eq!((status, open311_error(&body).0), (415, 415));
    let (status, _, body) = file(&platform, "json", &[("api_key", &key)], None).await;
    assert_eq!(status, 400);
    let (code, description) = open311_error(&body);
    assert_eq!(code, 400);
    for field in [
        "service_code (required)",
        "description (required)",
        "phone (required)",
        "address_string (required)",
    ] {
        assert!(description.contains(field), "{field}: {description}");
    }
    let mut unknown = streetlight(&key);
    unknown[1] = ("service_code", "urban.nothing");
    unknown[2] = ("lat", "north");
    unknown[6] = ("phone", "12");
    let (status, _, body) = file(&platform, "xml", &unknown, None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("lat (invalid_value)"), "{body}");
    let mut bad = streetlight(&key);
    bad[2] = ("lat", "91");
    bad[6] = ("phone", "12");
    bad[1] = ("service_code", "urban.nothing");
    let (status, _, body) = file(&platform, "json", &bad, None).await;
    assert_eq!(status, 400, "{body}");
    let (_, description) = open311_error(&body);
    assert!(
        description.contains("phone (invalid_phone)"),
        "{description}"
    );
    assert!(description.contains("lat ("), "{description}");
    let mut unknown_service = streetlight(&key);
    unknown_service[1] = ("service_code", "urban.nothing");
    let (status, _, body) = file(&platform, "json", &unknown_service, None).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        open311_error(&body)
            .1
            .contains("service_code (unknown_category)"),
        "{body}"
    );
    assert_eq!(partner_orders(&platform).await, 0);
    let too_long = "k".repeat(200);
    let (status, _, body) = file(&platform, "json", &streetlight(&key), Some(&too_long)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        open311_error(&body)
            .1
            .starts_with("invalid_idempotency_key: "),
        "{body}"
    );
    assert_eq!(partner_orders(&platform).await, 0);

    // The list's filters.
    for (name, value, said) in [
        ("status", "pending", "status (invalid_value)"),
        ("start_date", "2026-12-01", "start_date (invalid_date)"),
        ("end_date", "yesterday", "end_date (invalid_date)"),
    ] {
        let (status, _, body) = get(
            &platform,
            "/open311/v2/requests.json",
            &[("api_key", key.as_str()), (name, value)],
        )
        .await;
        assert_eq!(status, 400, "{name}: {body}");
        assert!(open311_error(&body).1.contains(said), "{body}");
    }
    let (status, _, body) = get(
        &platform,
        "/open311/v2/requests.json",
        &[
            ("api_key", key.as_str()),
            ("start_date", "2026-01-01T00:00:00+08:00"),
            ("end_date", "2026-06-01T00:00:00+08:00"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        open311_error(&body).1.contains("end_date (span_too_long)"),
        "{body}"
    );

    // Only partners file on the partner channel.
    let mut request = valid_request();
    request.channel = mobile_api::Channel::Partner;
    let refused = platform
        .client("citizen-1", "citizen")
        .create_request(&request, None)
        .await
        .expect_err("a citizen on the partner channel");
    assert_eq!(refused.status(), Some(422), "{refused:?}");
    assert!(
        refused
            .fields()
            .iter()
            .any(|f| f.field == "channel" && f.code == "channel_not_allowed"),
        "{refused:?}"
    );

    // Administering partners: bad ids and names, a taken id, revoking.
    let refused = admin
        .create_partner(&NewPartner {
            id: "Bad_Id".into(),
            name: " ".into(),
        })
        .await
        .expect_err("bad fields");
    let fields: Vec<(&str, &str)> = refused
        .fields()
        .iter()
        .map(|f| (f.field.as_str(), f.code.as_str()))
        .collect();
    assert_eq!(fields, [("id", "invalid_value"), ("name", "invalid_value")]);
    let taken = admin
        .create_partner(&NewPartner {
            id: "szcg".into(),
            name: "又一个".into(),
        })
        .await
        .expect_err("a taken id");
    assert_eq!(
        (taken.status(), taken.code()),
        (Some(409), Some("partner_exists")),
        "{taken:?}"
    );
    let revoked = admin.revoke_partner("szcg").await.expect("revoked");
    assert!(revoked.revoked_at.is_some());
    let again = admin.revoke_partner("szcg").await.expect("revoked again");
    assert_eq!(again.revoked_at, revoked.revoked_at);
    assert_eq!(platform.audited("partner_revoked").await.len(), 1);
    let (status, _, _) = file(&platform, "json", &streetlight(&key), None).await;
    assert_eq!(status, 403);
    let missing = admin
        .revoke_partner("nobody")
        .await
        .expect_err("no such partner");
    assert_eq!(missing.status(), Some(404), "{missing:?}");
    let missing = admin
        .new_partner_key("nobody")
        .await
        .expect_err("no such partner");
    assert_eq!(missing.status(), Some(404), "{missing:?}");
    // A revoked partner is restored with a new key; its old one stays dead.
    let restored = admin.new_partner_key("szcg").await.expect("restored");
    assert!(restored.partner.revoked_at.is_none());
    let (status, _, _) = get(&platform, "/open311/v2/requests.json", &[("api_key", &key)]).await;
    assert_eq!(status, 403);
    let (status, _, body) = get(
        &platform,
        "/open311/v2/requests.json",
        &[("api_key", &restored.api_key)],
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "[]"));
    // The services stay open to anyone.
    let (status, _, _) = get(&platform, "/open311/v2/services.json", &[]).await;
    assert_eq!(status, 200);
}
