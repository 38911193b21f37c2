//! Citizens sign in with an SMS code, through each provider's fake: the code arrives, works
//! once, resists guessing and flooding, and a provider's failure stores nothing.

use fakes::sms::{Failure, Provider};
use tests::{ClientError, Options, Platform, valid_request};

fn code(result: Result<impl std::fmt::Debug, ClientError>) -> (u16, String) {
    let error = result.expect_err("refused");
    (
        error.status().unwrap_or(0),
        error.code().unwrap_or("").to_owned(),
    )
}

async fn stored_codes(platform: &Platform) -> i64 {
    sqlx::query_scalar("select count(*) from sms_codes")
        .fetch_one(&platform.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn citizens_sign_in_with_a_code_sent_by_either_provider() {
    for provider in [Provider::Aliyun, Provider::Tencent] {
        let platform = Platform::start_with(Options {
            sms: provider,
            ..Options::default()
        })
        .await
        .expect("platform");
        // A call filed for this number before its owner ever signed in.
        let mut call = valid_request();
        call.channel = mobile_api::Channel::Phone;
        call.contact_phone = "13800138000".into();
        let filed = platform
            .client("operator-1", "operator")
            .create_request(&call, None)
            .await
            .expect("filed");

        let door = platform.anonymous();
        let sent = door.sms_code("138 0013 8000").await.expect("sent");
        assert_eq!((sent.expires_in, sent.resend_after), (300, 60));
        let delivered = platform.sms.delivered();
        assert_eq!(delivered.len(), 1, "{provider:?}");
        assert_eq!(delivered[0].phone, "13800138000");
        let the_code = delivered[0].params[0].clone();
        assert_eq!(delivered[0].params[1], "5", "minutes");

        let pair = door
            .sms_sign_in("13800138000", &the_code)
            .await
            .expect("signed in");
        assert_eq!(
            (pair.role.as_str(), pair.subject.as_str()),
            ("citizen", "phone:13800138000")
        );
        let mine = platform
            .anonymous()
            .with_token(pair.access_token)
            .list_requests(None, None)
            .await
            .expect("my requests");
        assert_eq!(
            mine.items
                .iter()
                .map(|o| o.tracking_number.as_str())
                .collect::<Vec<_>>(),
            [filed.tracking_number.as_str()],
            "{provider:?}: the call filed for this number is the citizen's"
        );
        assert_eq!(
            code(door.sms_sign_in("13800138000", &the_code).await),
            (401, "invalid_code".into()),
            "a code works once"
        );
        // The refresh token works for citizens as for staff.
        door.refresh(&pair.refresh_token).await.expect("refreshed");
    }
}

#[tokio::test]
async fn codes_resist_guessing_and_flooding() {
    let platform = Platform::start().await;
    let door = platform.anonymous();
    door.sms_code("13900139000").await.expect("sent");
    let right = platform.sms.delivered()[0].params[0].clone();
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..5 {
        assert_eq!(
            code(door.sms_sign_in("13900139000", wrong).await),
            (401, "invalid_code".into())
        );
    }
    assert_eq!(
        code(door.sms_sign_in("13900139000", &right).await),
        (401, "code_locked".into()),
        "five wrong tries kill the code"
    );

    // One code a minute per number.
    let response = reqwest::Client::new()
        .post(platform.url("/api/v1/auth/sms/code"))
        .json(&serde_json::json!({"phone": "13900139000"}))
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
    assert_eq!(platform.sms.delivered().len(), 1, "nothing more was sent");

    // Ten a day per number: nine earlier today, then one more, then no more.
    sqlx::query(
        "insert into sms_codes (phone, code_hash, client_addr, expires_at, created_at) \
         select '13700137000', 'x', '10.0.0.1', now() - interval '2 hours', now() - interval '3 hours' \
         from generate_series(1, 9)",
    )
    .execute(&platform.db)
    .await
    .expect("history");
    door.sms_code("13700137000").await.expect("the tenth");
    sqlx::query("update sms_codes set created_at = created_at - interval '2 minutes' where phone = '13700137000'")
        .execute(&platform.db)
        .await
        .expect("a while later");
    assert_eq!(
        code(door.sms_code("13700137000").await),
        (429, "too_many_codes".into())
    );

    // Twenty an hour per address.
    sqlx::query(
        "insert into sms_codes (phone, code_hash, client_addr, expires_at, created_at) \
         select '136' || lpad(n::text, 8, '0'), 'x', '127.0.0.1', now(), now() - interval '10 minutes' \
         from generate_series(1, 20) n",
    )
    .execute(&platform.db)
    .await
    .expect("history");
    assert_eq!(
        code(door.sms_code("13500135000").await),
        (429, "too_many_codes".into())
    );

    assert_eq!(
        code(door.sms_code("0396-1234567").await),
        (422, "validation_failed".into()),
        "a landline cannot receive a code"
    );
    assert_eq!(code(door.sms_sign_in("13900139000", "12ab56").await).0, 401);
}

#[tokio::test]
async fn a_provider_failure_is_clear_and_stores_nothing() {
    let platform = Platform::start().await;
    let door = platform.anonymous();
    for (failure, expected) in [
        (Failure::Status(503), (503, "sms_unavailable")),
        (
            Failure::Code("isp.SYSTEM_ERROR".into()),
            (503, "sms_unavailable"),
        ),
        (
            Failure::Code("isv.SMS_TEMPLATE_ILLEGAL".into()),
            (503, "sms_unavailable"),
        ),
        (
            Failure::Code("isv.MOBILE_NUMBER_ILLEGAL".into()),
            (422, "validation_failed"),
        ),
        (
            Failure::Code("isv.BUSINESS_LIMIT_CONTROL".into()),
            (429, "too_many_codes"),
        ),
    ] {
        platform.sms.fail_next(failure.clone(), 1);
        assert_eq!(
            code(door.sms_code("13800138000").await),
            (expected.0, expected.1.to_owned()),
            "{failure:?}"
        );
        assert_eq!(stored_codes(&platform).await, 0, "{failure:?}");
    }
    // Nothing counted against the number: the next try goes through.
    door.sms_code("13800138000").await.expect("sent");
    assert_eq!(stored_codes(&platform).await, 1);
    assert_eq!(platform.sms.delivered().len(), 1);
}

#[tokio::test]
async fn codes_are_forgotten_two_days_after_they_were_sent() {
    let platform = Platform::start().await;
    // Codes sent three days, and one day, ago (as a week of sign-ins leaves them).
    for (phone, age) in [
        ("13800000001", "3 days"),
        ("13800000002", "3 days"),
        ("13800000003", "1 day"),
    ] {
        sqlx::query(
            "insert into sms_codes (phone, code_hash, client_addr, created_at, expires_at) \
             values ($1, 'x', '203.0.113.9', now() - $2::interval, now() - $2::interval + interval '5 minutes')",
        )
        .bind(phone)
        .bind(age)
        .execute(&platform.db)
        .await
        .expect("an old code");
    }
    platform
        .anonymous()
        .sms_code("13900139000")
        .await
        .expect("sent");
    let kept: Vec<String> = sqlx::query_scalar("select phone from sms_codes order by phone")
        .fetch_all(&platform.db)
        .await
        .expect("the codes");
    assert_eq!(kept, ["13800000003", "13900139000"]);
}

/// A citizen cancels their account (注销账号): what signed them in and reached them goes, their
/// request stays on record and in hand, and their number signs in afresh to an account that sees
/// none of it.
#[tokio::test]
async fn a_citizen_cancels_their_account_and_the_number_starts_afresh() {
    let platform = Platform::start().await;
    let door = platform.anonymous();
    door.sms_code("13800138000").await.expect("sent");
    let the_code = platform.sms.delivered()[0].params[0].clone();
    let pair = door
        .sms_sign_in("13800138000", &the_code)
        .await
        .expect("signed in");
    let citizen = platform.anonymous().with_token(pair.access_token.clone());
    let mut request = valid_request();
    request.contact_phone = "13800138000".into();
    let mine = citizen.create_request(&request, None).await.expect("filed");
    citizen
        .register_device(&mobile_api::NewDevice {
            platform: "fcm".into(),
            token: "fcm-token-citizen-phone".into(),
            app_version: Some("2.3.0".into()),
        })
        .await
        .expect("the phone");
    let mut theirs = valid_request();
    theirs.contact_phone = "13700002222".into();
    let neighbours = platform
        .client("citizen-2", "citizen")
        .create_request(&theirs, None)
        .await
        .expect("filed");
    citizen
        .follow(&neighbours.tracking_number)
        .await
        .expect("followed");
    let operator = platform.client("operator-1", "operator");
    operator
        .act(
            &mine.tracking_number,
            "dispatch",
            &mobile_api::OrderAction {
                agency: Some("city-urban-management".into()),
                ..Default::default()
            },
        )
        .await
        .expect("dispatched");
    let inbox = citizen.notifications(None, false).await.expect("the inbox");
    assert!(!inbox.items.is_empty());

    // What the platform holds of them, as they may look it up.
    let held = citizen.me().await.expect("their account");
    assert_eq!(
        (
            held.phone.as_deref(),
            held.wechat_bound,
            held.devices,
            held.requests,
            held.following
        ),
        (Some("13800138000"), false, 1, 1, 1)
    );
    assert!(held.since.is_some() && held.display_name.is_none());

    let cancelled = citizen.cancel_account().await.expect("cancelled");
    assert_eq!(cancelled.requests_kept, 1);
    assert!(
        cancelled.notice.contains("1 件诉求仍将依法办理"),
        "{}",
        cancelled.notice
    );
    // Nothing of the account answers to its tokens: the refresh token is revoked, and the access
    // token, minutes from its end, is refused at once.
    assert_eq!(
        code(door.refresh(&pair.refresh_token).await),
        (401, "invalid_refresh_token".into())
    );
    assert_eq!(
        code(citizen.list_requests(None, None).await),
        (401, "token_revoked".into())
    );
    assert_eq!(
        code(citizen.notifications(None, false).await),
        (401, "token_revoked".into())
    );
    assert_eq!(
        code(citizen.cancel_account().await),
        (401, "token_revoked".into())
    );
    // A token of the subject issued since (minted by hand here) finds no account: the subject is
    // no one's now.
    let stale = platform.client("phone:13800138000", "citizen");
    assert!(
        stale
            .list_requests(None, None)
            .await
            .expect("none")
            .items
            .is_empty()
    );
    assert_eq!(
        code(stale.cancel_account().await),
        (404, "not_found".into())
    );
    let held = stale.me().await.expect("nothing held");
    assert_eq!(
        (
            held.phone,
            held.devices,
            held.requests,
            held.following,
            held.since
        ),
        (None, 0, 0, 0, None)
    );
    let left: (i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from citizens where phone = '13800138000' or subject = 'phone:13800138000'), \
                (select count(*) from devices where token = 'fcm-token-citizen-phone'), \
                (select count(*) from order_followers), \
                (select count(*) from citizens where subject like 'cancelled:%' and cancelled_at is not null \
                   and phone is null and wechat_openid is null)",
    )
    .fetch_one(&platform.db)
    .await
    .expect("what is left");
    assert_eq!(left, (0, 0, 0, 1));
    let audited = platform.audited("account_cancelled").await;
    assert_eq!(audited.len(), 1);
    assert!(audited[0].0.starts_with("cancelled:"), "{audited:?}");

    // The request is on record and in hand; the centre finds it by the number it was filed with.
    let order = operator
        .order(&mine.tracking_number)
        .await
        .expect("the order");
    assert_eq!(order.status, "dispatched");
    let found = operator
        .search_orders(&[("phone", "13800138000")])
        .await
        .expect("found");
    assert_eq!(found.items.len(), 1);

    // The number comes back, a call for it or a sign-in with it (both find the citizen by the
    // number), to a new account that sees none of the old one.
    let mut call = valid_request();
    call.channel = mobile_api::Channel::Phone;
    call.contact_phone = "13800138000".into();
    call.title = "同一号码的新来电".into();
    operator.create_request(&call, None).await.expect("a call");
    let fresh = platform.client("phone:13800138000", "citizen");
    let theirs: Vec<String> = (fresh.list_requests(None, None).await.expect("theirs").items)
        .into_iter()
        .map(|o| o.title)
        .collect();
    assert_eq!(theirs, ["同一号码的新来电"]);
    let told = fresh.notifications(None, false).await.expect("their inbox");
    assert!(
        told.items
            .iter()
            .all(|n| n.tracking_number.as_deref() != Some(mine.tracking_number.as_str())),
        "{told:?}"
    );

    // Staff have no citizen account to cancel.
    assert_eq!(
        code(operator.cancel_account().await),
        (403, "forbidden".into())
    );
}
