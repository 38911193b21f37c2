//! Citizens in the WeChat mini-program: the login code is exchanged server-side, WeChat's error
//! codes become clear API errors, and binding a phone number joins the two histories.

use fakes::Fault;
use tests::{ClientError, Platform, valid_request};

fn code(result: Result<impl std::fmt::Debug, ClientError>) -> (u16, String) {
    let error = result.expect_err("refused");
    (
        error.status().unwrap_or(0),
        error.code().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn mini_program_citizens_sign_in_and_wechat_errors_are_clear() {
    let platform = Platform::start().await;
    let door = platform.anonymous();
    let login = platform.wechat.login("o-openid-a");
    let response = reqwest::Client::new()
        .post(platform.url("/api/v1/auth/wechat/sign-in"))
        .json(&serde_json::json!({ "code": login }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    let raw = response.text().await.expect("body");
    assert!(
        !raw.contains("session_key") && !raw.contains("sk-"),
        "{raw}"
    );
    let pair: mobile_api::TokenPair = serde_json::from_str(&raw).expect("a token pair");
    assert_eq!(
        (pair.subject.as_str(), pair.role.as_str()),
        ("wechat:o-openid-a", "citizen")
    );
    let again = door
        .wechat_sign_in(&platform.wechat.login("o-openid-a"))
        .await
        .expect("again");
    assert_eq!(again.subject, pair.subject, "the same person");

    assert_eq!(
        code(door.wechat_sign_in(&login).await),
        (401, "invalid_wechat_code".into()),
        "a code is used only once (40163)"
    );
    assert_eq!(
        code(door.wechat_sign_in("made-up").await),
        (401, "invalid_wechat_code".into())
    );
    for (errcode, expected) in [
        (40226, (403, "wechat_user_blocked")),
        (45011, (429, "wechat_busy")),
        (40013, (503, "wechat_unavailable")),
    ] {
        platform.wechat.fail_next(errcode, 1);
        assert_eq!(
            code(
                door.wechat_sign_in(&platform.wechat.login("o-openid-a"))
                    .await
            ),
            (expected.0, expected.1.to_owned()),
            "{errcode}"
        );
    }
    // Busy (-1) once: tried again, and it works; busy twice: a clear 429.
    let calls = platform.wechat.calls();
    platform.wechat.fail_next(-1, 1);
    door.wechat_sign_in(&platform.wechat.login("o-openid-a"))
        .await
        .expect("the retry works");
    assert_eq!(platform.wechat.calls(), calls + 2);
    platform.wechat.fail_next(-1, 2);
    assert_eq!(
        code(
            door.wechat_sign_in(&platform.wechat.login("o-openid-a"))
                .await
        ),
        (429, "wechat_busy".into())
    );
}

#[tokio::test]
async fn binding_a_phone_number_makes_one_history() {
    let platform = Platform::start().await;
    let door = platform.anonymous();
    // A call an operator filed for the number, and a request filed in the mini-program.
    let mut call = valid_request();
    call.channel = mobile_api::Channel::Phone;
    call.contact_phone = "13800138000".into();
    let by_phone = platform
        .client("operator-1", "operator")
        .create_request(&call, None)
        .await
        .expect("filed");
    let wechat = door
        .wechat_sign_in(&platform.wechat.login("o-openid-b"))
        .await
        .expect("signed in");
    let as_wechat = platform.anonymous().with_token(wechat.access_token.clone());
    let mut app = valid_request();
    app.channel = mobile_api::Channel::Wechat;
    let by_wechat = as_wechat.create_request(&app, None).await.expect("filed");

    door.sms_code("13800138000").await.expect("sent");
    let sms = platform.sms.delivered()[0].params[0].clone();
    let bound = as_wechat
        .bind_phone("13800138000", &sms)
        .await
        .expect("bound");
    assert_eq!(bound.subject, "phone:13800138000");
    let mut history: Vec<String> = platform
        .anonymous()
        .with_token(bound.access_token)
        .list_requests(None, None)
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|o| o.tracking_number)
        .collect();
    history.sort();
    let mut expected = vec![by_phone.tracking_number, by_wechat.tracking_number];
    expected.sort();
    assert_eq!(history, expected, "one history");
    assert_eq!(
        code(door.refresh(&wechat.refresh_token).await),
        (401, "invalid_refresh_token".into()),
        "the WeChat-only identity is gone"
    );
    let later = door
        .wechat_sign_in(&platform.wechat.login("o-openid-b"))
        .await
        .expect("signed in");
    assert_eq!(later.subject, "phone:13800138000");

    // Another WeChat account cannot take the number; an SMS citizen has no WeChat to bind.
    let other = door
        .wechat_sign_in(&platform.wechat.login("o-openid-c"))
        .await
        .expect("signed in");
    // (The provider allows one message a minute per number: this code is put in place directly,
    // stored as the gateway stores codes.)
    sqlx::query(
        "insert into sms_codes (phone, code_hash, expires_at) \
         values ('13800138000', encode(sha256(convert_to('13800138000:246810', 'UTF8')), 'hex'), now() + interval '5 minutes')",
    )
    .execute(&platform.db)
    .await
    .expect("a code");
    let second = "246810".to_owned();
    assert_eq!(
        code(
            platform
                .anonymous()
                .with_token(other.access_token)
                .bind_phone("13800138000", &second)
                .await
        ),
        (409, "phone_bound_elsewhere".into())
    );
    let sms_citizen = platform.client("phone:13900139000", "citizen");
    assert_eq!(
        code(sms_citizen.bind_phone("13900139000", "123456").await),
        (409, "not_a_wechat_citizen".into())
    );
    let bound_events: i64 =
        sqlx::query_scalar("select count(*) from auth_events where event = 'phone_bound'")
            .fetch_one(&platform.db)
            .await
            .expect("count");
    assert_eq!(bound_events, 1);
}

/// Signs in to the mini-program as `openid` and files the usual request with `description`; its
/// tracking number. Never refused for its words: a complaint reaches the hotline whatever it says.
async fn file_in_mini_program(platform: &Platform, openid: &str, description: &str) -> String {
    let door = platform.anonymous();
    let tokens = door
        .wechat_sign_in(&platform.wechat.login(openid))
        .await
        .expect("signed in");
    let mut request = valid_request();
    request.channel = mobile_api::Channel::Wechat;
    request.description = description.into();
    door.with_token(tokens.access_token)
        .create_request(&request, None)
        .await
        .expect("filed")
        .tracking_number
}

#[tokio::test]
async fn what_mini_program_citizens_write_is_checked_before_others_see_it() {
    let platform = Platform::start().await;
    platform.wechat.flag_words(&["代开发票"], &["聚集"]);
    let mut numbers = Vec::new();
    for (openid, description) in [
        ("o-plain", "解放大道路灯连续三晚不亮，夜间行人很多。"),
        ("o-risky", "路灯不亮。另：代开发票，联系微信。"),
        ("o-review", "路灯不亮，居民准备聚集反映。"),
    ] {
        numbers.push(file_in_mini_program(&platform, openid, description).await);
    }
    assert_eq!(platform.wechat.sec_checks(), 3);
    // WeChat's token expires: the next check gets a new one and is still made.
    platform.wechat.expire_tokens();
    let description = valid_request().description;
    file_in_mini_program(&platform, "o-late", &description).await;
    assert_eq!(platform.wechat.sec_checks(), 4);
    assert_eq!(platform.wechat.token_grants(), 2);

    // Another citizen looking nearby sees only the text WeChat passed (and filings from the app).
    let seen = platform
        .client("citizen-neighbour", "citizen")
        .nearby(32.9802, 114.0227, "urban.streetlight", None)
        .await
        .expect("nearby");
    let mut shown: Vec<&str> = seen
        .items
        .iter()
        .map(|o| o.tracking_number.as_str())
        .collect();
    shown.sort();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown.contains(&numbers[0].as_str()));
    assert!(!shown.contains(&numbers[1].as_str()) && !shown.contains(&numbers[2].as_str()));
    // The centre sees every one of them among the duplicates.
    let duplicates = platform
        .client("operator-1", "operator")
        .duplicates(&numbers[0])
        .await
        .expect("duplicates");
    assert_eq!(duplicates.items.len(), 3);
    let checks: Vec<(String, Option<String>)> = sqlx::query_as(
        "select tracking_number, content_check from work_orders order by tracking_number",
    )
    .fetch_all(&platform.db)
    .await
    .expect("checks");
    let verdicts: Vec<Option<&str>> = checks.iter().map(|(_, c)| c.as_deref()).collect();
    assert_eq!(
        verdicts,
        [Some("pass"), Some("risky"), Some("review"), Some("pass")]
    );
}

/// The content check each request's text got, by tracking number.
async fn verdict(platform: &Platform, number: &str) -> Option<String> {
    sqlx::query_scalar("select content_check from work_orders where tracking_number = $1")
        .bind(number)
        .fetch_one(&platform.db)
        .await
        .expect("the order")
}

#[tokio::test]
async fn text_wechat_could_not_check_at_filing_is_checked_once_it_is_back() {
    let platform = Platform::start().await;
    let description = valid_request().description;
    let file = async |openid: &str| file_in_mini_program(&platform, openid, &description).await;
    let shown = async || -> Vec<String> {
        platform
            .client("citizen-neighbour", "citizen")
            .nearby(32.9802, 114.0227, "urban.streetlight", None)
            .await
            .expect("nearby")
            .items
            .into_iter()
            .map(|o| o.tracking_number)
            .collect()
    };

    // WeChat refuses to check one text (an openid it does not know): never asked again.
    platform.wechat.fail_next_check(
        Fault::Code {
            status: 200,
            code: "40003".into(),
        },
        1,
    );
    let refused = file("o-refused").await;
    assert_eq!(
        verdict(&platform, &refused).await.as_deref(),
        Some("refused")
    );

    // WeChat's check is out (its gateway answers 503) for the filing and the next runs of the
    // schedule (every second here; each run stops at the first failure): not shown meanwhile.
    platform.wechat.fail_next_check(
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        4,
    );
    let delayed = file("o-delayed").await;
    assert_eq!(
        verdict(&platform, &delayed).await.as_deref(),
        Some("unchecked")
    );
    assert!(!shown().await.contains(&delayed));

    // Back: the schedule asks again, WeChat passes the text, and neighbours see the request.
    for _ in 0..100 {
        if verdict(&platform, &delayed).await.as_deref() == Some("pass") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(verdict(&platform, &delayed).await.as_deref(), Some("pass"));
    assert_eq!(shown().await, [delayed]);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(platform.wechat.sec_checks(), 1, "each text checked once");
    assert_eq!(
        verdict(&platform, &refused).await.as_deref(),
        Some("refused")
    );
}
