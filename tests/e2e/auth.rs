//! The gateway's front door: tokens, roles, identity headers, request ids.

use base64::Engine as _;
use serde_json::{Value, json};
use tests::{Keys, Options, Platform, valid_request};

/// A citizen's list with `authorization`: the status, the challenge (`WWW-Authenticate`) and the
/// body.
async fn list_with(
    platform: &Platform,
    authorization: Option<String>,
) -> (u16, Option<String>, Value) {
    let mut request = reqwest::Client::new().get(platform.url("/api/v1/requests"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("answer");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().expect("text").to_owned());
    (status, challenge, response.json().await.expect("json"))
}

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({ "sub": "citizen-1", "role": "citizen", "iss": "hotline", "aud": "hotline-api", "iat": now, "exp": now + 600 });
    for (key, value) in overrides.as_object().expect("object") {
        claims[key] = value.clone();
    }
    claims
}

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn requests_without_a_valid_token_are_401() {
    let platform = Platform::start().await;
    let now = chrono::Utc::now().timestamp();
    let stranger = Keys::generate(&platform.keys.kid);
    let other_kid = Keys::generate("another-kid");
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": platform.keys.kid})),
        b64(&claims(json!({})))
    );
    // The right key under another HMAC algorithm: only HS256 is accepted.
    let hs512 = platform
        .keys
        .sign_as(jsonwebtoken::Algorithm::HS512, &claims(json!({})));

    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no header", None, "unauthenticated"),
        ("not bearer", Some("Basic Zm9vOmJhcg==".into()), "unauthenticated"),
        ("garbage", Some("Bearer not.a.token".into()), "invalid_token"),
        ("expired", Some(format!("Bearer {}", platform.keys.sign(&claims(json!({"exp": now - 3600}))))), "token_expired"),
        ("forged with the same kid", Some(format!("Bearer {}", stranger.token("citizen-1", "citizen"))), "invalid_token"),
        ("unknown kid", Some(format!("Bearer {}", other_kid.token("citizen-1", "citizen"))), "invalid_token"),
        ("alg none", Some(format!("Bearer {alg_none}")), "invalid_token"),
        ("HS512 with the right key", Some(format!("Bearer {hs512}")), "invalid_token"),
        ("wrong audience", Some(format!("Bearer {}", platform.keys.sign(&claims(json!({"aud": "someone-else"}))))), "invalid_token"),
        ("wrong issuer", Some(format!("Bearer {}", platform.keys.sign(&claims(json!({"iss": "evil"}))))), "invalid_token"),
        ("unknown role", Some(format!("Bearer {}", platform.keys.sign(&claims(json!({"role": "root"}))))), "invalid_token"),
        ("agency staff without an agency", Some(format!("Bearer {}", platform.keys.sign(&claims(json!({"role": "agency_staff"}))))), "invalid_token"),
        ("a citizen claiming an agency", Some(format!("Bearer {}", platform.keys.sign(&claims(json!({"agency": "utility-water"}))))), "invalid_token"),
        ("no expiry", Some(format!("Bearer {}", platform.keys.sign(&json!({"sub": "citizen-1", "role": "citizen", "iss": "hotline", "aud": "hotline-api"})))), "invalid_token"),
    ];
    // Each with the challenge HTTP asks of a 401 (RFC 6750's for bearer tokens): a token sent
    // but refused is `invalid_token`, so that a client knows to refresh it or sign in again.
    for (name, authorization, code) in cases {
        let (status, challenge, body) = list_with(&platform, authorization).await;
        assert_eq!(status, 401, "{name}");
        assert_eq!(body["error"]["code"], code, "{name}");
        let expected = if code == "unauthenticated" {
            r#"Bearer realm="12345""#
        } else {
            r#"Bearer realm="12345", error="invalid_token""#
        };
        assert_eq!(challenge.as_deref(), Some(expected), "{name}");
    }
}

#[tokio::test]
async fn a_role_the_route_does_not_name_is_403() {
    let platform = Platform::start().await;
    let agency = platform.agency_client("staff-1", "city-urban-management");
    let error = agency
        .create_request(&valid_request(), None)
        .await
        .expect_err("forbidden");
    assert_eq!(
        (error.status(), error.code()),
        (Some(403), Some("forbidden"))
    );
    let orders: i64 = sqlx::query_scalar("select count(*) from work_orders")
        .fetch_one(&platform.db)
        .await
        .expect("count");
    assert_eq!(orders, 0);
}

#[tokio::test]
async fn identity_headers_from_clients_are_ignored() {
    let platform = Platform::start().await;
    let victim = platform.client("citizen-victim", "citizen");
    victim
        .create_request(&valid_request(), None)
        .await
        .expect("filed");

    let response = reqwest::Client::new()
        .get(platform.url("/api/v1/requests"))
        .bearer_auth(platform.keys.token("citizen-attacker", "citizen"))
        .header("x-hotline-subject", "citizen-victim")
        .header("x-hotline-role", "admin")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["items"].as_array().map(Vec::len),
        Some(0),
        "the attacker sees only their own (none): {body}"
    );
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let platform = Platform::start().await;
    let client = reqwest::Client::new();
    let ok = client
        .get(platform.url("/api/v1/requests"))
        .bearer_auth(platform.keys.token("c", "citizen"))
        .send()
        .await
        .expect("ok");
    let refused = client
        .get(platform.url("/api/v1/requests"))
        .send()
        .await
        .expect("refused");
    let mut ids = Vec::new();
    for response in [ok, refused] {
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        ids.push(id.expect("an x-request-id"));
    }
    assert_ne!(ids[0], ids[1]);
    assert!(
        platform.log().contains(&ids[0]),
        "the request log names the id"
    );
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let platform = Platform::start().await;
    let response = reqwest::get(platform.url("/openapi.json"))
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 200);
    let doc: Value = response.json().await.expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/requests"]["post"].is_object());
}

#[tokio::test]
async fn health_needs_no_token_and_reaches_every_component() {
    let platform = Platform::start().await;
    let live: Value = reqwest::get(platform.url("/health"))
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(live["status"], "ok");
    let response = reqwest::get(platform.url("/health/components"))
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 200);
    let all: mobile_api::ComponentHealth = response.json().await.expect("the contract's shape");
    assert_eq!(all.status, mobile_api::HealthStatus::Ok);
    let asked: Vec<&str> = all.components.keys().map(String::as_str).collect();
    assert_eq!(
        asked,
        [
            "intake",
            "notifications",
            "rating",
            "routing",
            "supervision"
        ]
    );
    assert!(
        all.components
            .values()
            .all(|state| *state == mobile_api::ComponentState::Ok),
        "{all:?}"
    );
    assert_eq!(all.database, Some(mobile_api::ComponentState::Ok));
    // One component alone (what the bench's gateway hop measures), through the typed client:
    // the database is not asked.
    let one = platform
        .anonymous()
        .component_health(Some("routing"))
        .await
        .expect("healthy");
    assert_eq!(one.status, mobile_api::HealthStatus::Ok);
    assert_eq!(one.database, None);
    assert_eq!(
        one.components.into_iter().collect::<Vec<_>>(),
        [("routing".to_owned(), mobile_api::ComponentState::Ok)]
    );
    let unknown = platform
        .anonymous()
        .component_health(Some("nosuch"))
        .await
        .expect_err("no such component");
    assert_eq!(unknown.code(), Some("not_found"), "{unknown}");
}

/// The whole check asks the database too: while it turns the platform away, every component
/// still answers, and the answer is 503 `degraded` with `database: failing`; once it serves again,
/// 200.
#[tokio::test]
async fn health_says_when_the_database_cannot_serve() {
    use mobile_api::ComponentState;
    let platform = Platform::start().await;
    let health = async || {
        let response = reqwest::get(platform.url("/health/components"))
            .await
            .expect("answer");
        let status = response.status().as_u16();
        let health: mobile_api::ComponentHealth =
            response.json().await.expect("the contract's shape");
        (status, health)
    };
    let (status, well) = health().await;
    assert_eq!((status, well.database), (200, Some(ComponentState::Ok)));

    // No new connection to the platform's database, and those it has ended.
    let mut server = platform.server().await;
    let allow = |yes: bool| {
        sqlx::AssertSqlSafe(format!(
            "alter database {} allow_connections {yes}",
            platform.database_name()
        ))
    };
    sqlx::query(allow(false))
        .execute(&mut server)
        .await
        .expect("connections refused");
    sqlx::query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1")
        .bind(platform.database_name())
        .execute(&mut server)
        .await
        .expect("connections ended");
    let (status, down) = health().await;
    sqlx::query(allow(true))
        .execute(&mut server)
        .await
        .expect("connections allowed");
    assert_eq!(status, 503, "{down:?}");
    assert_eq!(down.status, mobile_api::HealthStatus::Degraded);
    assert_eq!(down.database, Some(ComponentState::Failing));
    assert!(
        down.components.values().all(|s| *s == ComponentState::Ok),
        "{down:?}"
    );

    // The connections the runtime pooled were ended: each is found so and dropped, and new ones
    // made.
    let started = std::time::Instant::now();
    loop {
        let (status, again) = health().await;
        if status == 200 {
            assert_eq!(again.database, Some(ComponentState::Ok));
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "still {status}: {again:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn health_names_a_component_that_does_not_answer() {
    // `rating` served by the probe, which answers 404 to its `/health`.
    let platform = Platform::start_with(Options {
        stand_in: Some(("rating", "probe")),
        ..Options::default()
    })
    .await
    .expect("the platform starts");
    let response = reqwest::get(platform.url("/health/components"))
        .await
        .expect("answer");
    // 503, so that a load balancer's check fails, with the same body as when all is well.
    assert_eq!(response.status().as_u16(), 503);
    let all: mobile_api::ComponentHealth = response.json().await.expect("the contract's shape");
    assert_eq!(all.status, mobile_api::HealthStatus::Degraded);
    let states: Vec<(&str, mobile_api::ComponentState)> = all
        .components
        .iter()
        .map(|(id, state)| (id.as_str(), *state))
        .collect();
    use mobile_api::ComponentState as State;
    assert_eq!(
        states,
        [
            ("intake", State::Ok),
            ("notifications", State::Ok),
            ("rating", State::Failing),
            ("routing", State::Ok),
            ("supervision", State::Ok)
        ]
    );
    // Asked alone, the failing one is degraded and a healthy one is not.
    let client = platform.anonymous();
    let rating = client
        .component_health(Some("rating"))
        .await
        .expect("503 parses");
    assert_eq!(rating.status, mobile_api::HealthStatus::Degraded);
    let intake = client.component_health(Some("intake")).await.expect("200");
    assert_eq!(intake.status, mobile_api::HealthStatus::Ok);
    // The front door itself is alive.
    let live = reqwest::get(platform.url("/health")).await.expect("answer");
    assert_eq!(live.status().as_u16(), 200);
}

/// A concrete path for a pattern: every `{}` filled with a value that parses but names nothing.
fn sample_path(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|segment| match segment {
            "{}" if pattern.contains("/calendar/") => "2027-02-05",
            "{}" if pattern.contains("/dispatch-rules/") => "999999",
            "{}" => "ZMD-20261128-999999",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_refuses_every_role_it_does_not_name() {
    let platform = Platform::start().await;
    let http = reqwest::Client::new();
    for route in mobile_api::routes::ROUTES {
        let path = sample_path(route.pattern);
        for role in mobile_api::routes::ROLES {
            let agency = (*role == "agency_staff").then_some("city-urban-management");
            let token = platform
                .keys
                .token_for(&format!("{role}-matrix"), role, agency);
            let method = reqwest::Method::from_bytes(route.method.as_bytes()).expect("a method");
            let mut request = http.request(method, platform.url(&path)).bearer_auth(token);
            if matches!(route.method, "POST" | "PUT") {
                request = request
                    .header("content-type", "application/json")
                    .body("{}");
            }
            let response = request.send().await.expect("sent");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let case = format!("{} {path} as {role}: {status} {body}", route.method);
            if route.is_public() || route.roles.contains(role) {
                assert!(
                    ![401, 403].contains(&status) && status < 500,
                    "allowed, so the component answers: {case}"
                );
            } else {
                assert_eq!(
                    (status, body["error"]["code"].as_str()),
                    (403, Some("forbidden")),
                    "{case}"
                );
            }
        }
    }
    // Without a token, only the public routes answer.
    for route in mobile_api::routes::ROUTES {
        let method = reqwest::Method::from_bytes(route.method.as_bytes()).expect("a method");
        let mut request = http.request(method, platform.url(&sample_path(route.pattern)));
        if matches!(route.method, "POST" | "PUT") {
            request = request
                .header("content-type", "application/json")
                .body("{}");
        }
        let status = request.send().await.expect("sent").status().as_u16();
        if route.is_public() {
            assert_eq!(
                status, 422,
                "{} {}: a public route checks its body",
                route.method, route.pattern
            );
        } else {
            assert_eq!(status, 401, "{} {}", route.method, route.pattern);
        }
    }
    // Nothing was written by any of it.
    let orders: i64 = sqlx::query_scalar("select count(*) from work_orders")
        .fetch_one(&platform.db)
        .await
        .expect("count");
    assert_eq!(orders, 0);
}

#[tokio::test]
async fn every_answer_carries_security_headers_and_cors_only_for_listed_origins() {
    let platform = Platform::start().await;
    let http = reqwest::Client::new();
    for path in ["/health", "/api/v1/requests", "/api/v2/nothing"] {
        let response = http.get(platform.url(path)).send().await.expect("sent");
        let headers = response.headers();
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("cache-control", "no-store"),
            ("referrer-policy", "no-referrer"),
        ] {
            assert_eq!(headers[name], value, "{path} {name}");
        }
        assert!(headers.contains_key("content-security-policy"), "{path}");
        assert!(
            !headers.contains_key("access-control-allow-origin"),
            "{path}"
        );
    }

    // No origin is listed by default: a preflight gets no CORS headers, so browsers refuse.
    let preflight = http
        .request(reqwest::Method::OPTIONS, platform.url("/api/v1/requests"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("sent");
    assert_eq!(preflight.status().as_u16(), 204);
    assert!(
        !preflight
            .headers()
            .contains_key("access-control-allow-origin")
    );
    // A 204 carries no body, and so no length either (`api_plumbing::into_wasi`).
    assert!(!preflight.headers().contains_key("content-length"));
    // It is named like every other answer, and as guarded.
    assert!(preflight.headers().contains_key("x-request-id"));
    assert_eq!(preflight.headers()["x-content-type-options"], "nosniff");
}

/// Every answer states its length, so that it goes out in one write and is not chunked: the
/// gateway's own, its refusals, and the answers it forwards from the private components. (A 204
/// has none: see the preflight above.)
#[tokio::test]
async fn answers_state_their_length() {
    let platform = Platform::start().await;
    let http = reqwest::Client::new();
    let token = platform.keys.token("citizen-length", "citizen");
    for (path, authorised, status) in [
        ("/health", false, 200),
        ("/health/components", false, 200),
        ("/api/v2/nothing", false, 404),
        ("/api/v1/requests", false, 401),
        ("/api/v1/requests", true, 200),
        ("/api/v1/requests/ZMD-20260101-999999", true, 404),
    ] {
        let mut request = http.get(platform.url(path));
        if authorised {
            request = request.bearer_auth(&token);
        }
        let response = request.send().await.expect("sent");
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert!(
            !response.headers().contains_key("transfer-encoding"),
            "{path}: not chunked"
        );
        let length: usize = response.headers()["content-length"]
            .to_str()
            .expect("ASCII")
            .parse()
            .expect("a number");
        let body = response.bytes().await.expect("body");
        assert!(length > 0, "{path}");
        assert_eq!(length, body.len(), "{path}");
    }
}

#[tokio::test]
async fn requests_over_the_minute_limit_are_429_with_retry_after() {
    let platform = Platform::start().await;
    // The window is a minute; fill the principal's current minute as if it had been busy, and
    // the next one too, in case the requests below land after the minute turns.
    sqlx::query(
        "insert into rate_counters (key, window_start, hits) \
         select 'p:citizen-flood', date_trunc('minute', now()) + make_interval(mins => m), 600 \
         from generate_series(0, 1) m",
    )
    .execute(&platform.db)
    .await
    .expect("counter");
    let flooder = platform.client("citizen-flood", "citizen");
    let response = reqwest::Client::new()
        .get(platform.url("/api/v1/requests"))
        .bearer_auth(platform.keys.token("citizen-flood", "citizen"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: i64 = response.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(
        flooder
            .list_requests(None, None)
            .await
            .expect_err("limited")
            .status(),
        Some(429)
    );
    // Others are not affected.
    platform
        .client("citizen-calm", "citizen")
        .list_requests(None, None)
        .await
        .expect("served");
    // The address's limit covers requests without a token too.
    // (An address's count is spread over eight rows, and estimated from the one a request hits.
    // The next minute's rows too, in case the request lands after the minute turns.)
    sqlx::query(
        "insert into rate_counters (key, window_start, hits) \
         select 'a:127.0.0.1#' || slot, date_trunc('minute', now()) + make_interval(mins => m), 150 \
         from generate_series(0, 7) slot, generate_series(0, 1) m \
         on conflict (key, window_start) do update set hits = 150",
    )
    .execute(&platform.db)
    .await
    .expect("counter");
    let sign_in = http_post_sign_in(&platform).await;
    assert_eq!(sign_in, 429);
}

async fn http_post_sign_in(platform: &Platform) -> u16 {
    reqwest::Client::new()
        .post(platform.url("/api/v1/auth/staff/sign-in"))
        .json(&json!({"username": "someone", "password": "something long"}))
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

#[tokio::test]
async fn listed_origins_get_cors_and_rotated_keys_both_verify() {
    let platform = Platform::start_with(Options {
        variables: vec![(
            "SPIN_VARIABLE_CORS_ALLOWED_ORIGINS",
            "https://console.zmd12345.example, https://h5.zmd12345.example/".into(),
        )],
        previous_key: true,
        ..Options::default()
    })
    .await
    .expect("platform");
    let http = reqwest::Client::new();
    let preflight = http
        .request(reqwest::Method::OPTIONS, platform.url("/api/v1/requests"))
        .header("origin", "https://h5.zmd12345.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("sent");
    assert_eq!(preflight.status().as_u16(), 204);
    let headers = preflight.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://h5.zmd12345.example"
    );
    assert_eq!(headers["access-control-allow-methods"], "POST, GET");
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .expect("text")
            .contains("idempotency-key")
    );
    let actual = http
        .get(platform.url("/api/v1/requests"))
        .header("origin", "https://console.zmd12345.example")
        .bearer_auth(platform.keys.token("citizen-1", "citizen"))
        .send()
        .await
        .expect("sent");
    assert_eq!(actual.status().as_u16(), 200);
    assert_eq!(
        actual.headers()["access-control-allow-origin"],
        "https://console.zmd12345.example"
    );
    assert_eq!(
        actual.headers()["access-control-expose-headers"],
        "x-request-id, retry-after, etag, content-disposition"
    );
    let elsewhere = http
        .get(platform.url("/api/v1/requests"))
        .header("origin", "https://evil.example")
        .bearer_auth(platform.keys.token("citizen-1", "citizen"))
        .send()
        .await
        .expect("sent");
    assert!(
        !elsewhere
            .headers()
            .contains_key("access-control-allow-origin")
    );

    // During a rotation both keys are published: tokens signed with either are accepted.
    let previous = platform.previous_keys.as_ref().expect("a previous key");
    let (status, _, _) = list_with(
        &platform,
        Some(format!("Bearer {}", previous.token("citizen-1", "citizen"))),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = list_with(
        &platform,
        Some(format!(
            "Bearer {}",
            platform.keys.token("citizen-1", "citizen")
        )),
    )
    .await;
    assert_eq!(status, 200);
}

/// What a route's `{}` stands for, for the ownership half of the matrix. A new route with a path
/// parameter must be classified here, or the matrix fails.
#[derive(Debug, PartialEq)]
enum Scope {
    /// A work order that citizens and agency staff reach only when it is theirs.
    OwnOrder,
    /// A work order that anyone the route admits may name (the centre's tools; following
    /// someone else's request is the point of following).
    AnyOrder,
    /// Not a work order.
    Other,
}

fn scope(route: &mobile_api::routes::Route) -> Scope {
    match route.pattern {
        "/api/v1/requests/{}"
        | "/api/v1/requests/{}/supplements"
        | "/api/v1/orders/{}"
        | "/api/v1/orders/{}/actions/{}"
        | "/api/v1/orders/{}/contact-phone"
        | "/api/v1/orders/{}/appeals" => Scope::OwnOrder,
        "/api/v1/requests/{}/follow" | "/api/v1/orders/{}/duplicates" => Scope::AnyOrder,
        "/api/v1/admin/dispatch-rules/{}"
        | "/api/v1/admin/calendar/{}"
        | "/api/v1/admin/staff/{}"
        | "/api/v1/admin/staff/{}/disable"
        | "/api/v1/admin/staff/{}/enable"
        | "/api/v1/admin/staff/{}/password"
        | "/api/v1/admin/staff/{}/sign-out"
        | "/api/v1/admin/deliveries/{}/requeue"
        | "/api/v1/admin/notification-templates/{}"
        | "/api/v1/admin/knowledge/{}"
        | "/api/v1/admin/knowledge/{}/retire"
        | "/api/v1/admin/knowledge/{}/restore"
        | "/api/v1/admin/knowledge/{}/history"
        | "/api/v1/admin/partners/{}/key"
        | "/api/v1/admin/partners/{}/revoke" => Scope::Other,
        // Knowledge-base articles are the same for everyone signed in.
        "/api/v1/knowledge/{}" => Scope::Other,
        "/api/v1/admin/leader-days/{}/cancel" => Scope::Other,
        // An appeal is decided by supervisors, who see every agency's.
        "/api/v1/appeals/{}/decision" => Scope::Other,
        // Special reports are the same for everyone who watches over orders.
        "/api/v1/supervision/special-reports/{}" | "/api/v1/admin/special-reports/{}/withdraw" => {
            Scope::Other
        }
        // Circulars are circulated: every agency reads every one.
        "/api/v1/supervision/circulars/{}" | "/api/v1/admin/circulars/{}/withdraw" => Scope::Other,
        // A person's own notifications and devices: someone else's are 404 (tests/e2e/notifications.rs).
        "/api/v1/notifications/{}/read" | "/api/v1/devices/{}" => Scope::Other,
        // A photo is read by whoever signs in with its link (a random id); only its uploader
        // names it in an order (tests/e2e/photos.rs).
        "/api/v1/photos/{}" => Scope::Other,
        pattern if !pattern.contains("{}") => Scope::Other,
        pattern => panic!("classify the new route {pattern} in this test's `scope`"),
    }
}

#[tokio::test]
async fn citizens_and_agencies_reach_only_their_own_orders_on_every_route() {
    let platform = Platform::start().await;
    let operator = platform.client("operator-1", "operator");
    let mut orders = Vec::new();
    for (citizen, agency) in [
        ("citizen-1", "city-urban-management"),
        ("citizen-2", "utility-water"),
    ] {
        let filed = platform
            .client(citizen, "citizen")
            .create_request(&valid_request(), None)
            .await
            .expect("filed");
        operator
            .act(
                &filed.tracking_number,
                "dispatch",
                &mobile_api::OrderAction {
                    agency: Some(agency.into()),
                    ..Default::default()
                },
            )
            .await
            .expect("dispatched");
        orders.push(filed.tracking_number);
    }
    let (own, others) = (&orders[0], &orders[1]);
    let http = reqwest::Client::new();
    let mut checked = 0;
    for route in mobile_api::routes::ROUTES {
        if scope(route) != Scope::OwnOrder {
            continue;
        }
        for (role, token) in [
            ("citizen", platform.keys.token("citizen-1", "citizen")),
            (
                "agency_staff",
                platform
                    .keys
                    .token_for("urban-1", "agency_staff", Some("city-urban-management")),
            ),
        ] {
            if !route.roles.contains(&role) {
                continue;
            }
            for (order, mine) in [(own, true), (others, false)] {
                let path = route
                    .pattern
                    .replacen("{}", order, 1)
                    .replacen("{}", "contact", 1);
                let method = reqwest::Method::from_bytes(route.method.as_bytes()).expect("method");
                let mut request = http
                    .request(method, platform.url(&path))
                    .bearer_auth(&token);
                if route.method == "POST" {
                    request = request
                        .header("content-type", "application/json")
                        .body("{}");
                }
                let status = request.send().await.expect("sent").status().as_u16();
                let case = format!("{} {path} as {role}", route.method);
                if mine {
                    assert!(status != 404 && status < 500, "{case}: own order, {status}");
                } else {
                    assert_eq!(status, 404, "{case}: someone else's order");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "{checked}");
}
