//! Notifications end to end: the outbox written with the event, delivered by the schedule to the
//! fakes of FCM, APNs (HTTP/2), Huawei Push Kit, WeChat and SMS, through outages, expired tokens, uninstalled
//! apps and a crash; and the inbox, devices, dead letters and templates through the gateway.

use fakes::Fault;
use mobile_api::{NewDevice, NewStaffAccount, OrderAction, SetNotificationTemplate};
use std::collections::HashMap;
use std::time::Duration;
use tests::{Client, Options, Platform, valid_request};

const URBAN: &str = "city-urban-management";
/// iPhone device tokens are 32 bytes in hex.
const IPHONE_A: &str = "4f1c0ad7e21b9a3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4";
const IPHONE_GONE: &str = "0000000000000000000000000000000000000000000000000000000000000bad";

/// Adds an agency staff account (as an administrator would) and a client signed in as it.
async fn staff(platform: &Platform, username: &str) -> Client {
    platform
        .client("admin-1", "admin")
        .create_staff(&NewStaffAccount {
            username: username.into(),
            display_name: "城管队员".into(),
            role: "agency_staff".into(),
            agency: Some(URBAN.into()),
            password: "a-long-password-123".into(),
        })
        .await
        .expect("staff account");
    platform.agency_client(username, URBAN)
}

/// An agency staff account whose phone is registered for pushes.
async fn staff_with_phone(platform: &Platform, username: &str, kind: &str, token: &str) -> Client {
    let client = staff(platform, username).await;
    client
        .register_device(&device(kind, token))
        .await
        .expect("device");
    client
}

/// A template for staff: push only.
fn staff_template(title: &str, body: &str) -> SetNotificationTemplate {
    SetNotificationTemplate {
        title: title.into(),
        body: body.into(),
        wechat_template_id: None,
        sms_template: None,
        fallback: false,
    }
}

fn device(platform: &str, token: &str) -> NewDevice {
    NewDevice {
        platform: platform.into(),
        token: token.into(),
        app_version: Some("2.3.0".into()),
    }
}

/// Files an order as `citizen` and dispatches it to the urban management bureau.
async fn dispatched(platform: &Platform, citizen: &str) -> String {
    let filed = platform
        .client(citizen, "citizen")
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    dispatch_to_urban(platform, &filed.tracking_number).await;
    filed.tracking_number
}

/// The centre dispatches order `number` to the urban management bureau.
async fn dispatch_to_urban(platform: &Platform, number: &str) {
    platform
        .client("operator-1", "operator")
        .act(
            number,
            "dispatch",
            &OrderAction {
                agency: Some(URBAN.into()),
                ..Default::default()
            },
        )
        .await
        .expect("dispatched");
}

/// Waits (up to 30 s) until `done` holds; on a timeout, shows the outbox.
async fn eventually(platform: &Platform, what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outbox: Vec<(String, String, String, i32, Option<String>)> = sqlx::query_as(
        "select d.channel, d.address, d.status, d.attempts, d.last_error \
         from notification_deliveries d order by d.created_at",
    )
    .fetch_all(&platform.db)
    .await
    .unwrap_or_default();
    panic!("timed out waiting until {what}; the outbox: {outbox:#?}");
}

async fn statuses(platform: &Platform) -> HashMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>(
        "select status, count(*) from notification_deliveries group by status",
    )
    .fetch_all(&platform.db)
    .await
    .expect("statuses")
    .into_iter()
    .collect()
}

#[tokio::test]
async fn a_dispatched_task_reaches_every_staff_phone_on_every_provider() {
    let platform = Platform::start().await;
    let (a, b) = (
        staff(&platform, "urban-a").await,
        staff(&platform, "urban-b").await,
    );
    a.register_device(&device("fcm", "fcm-token-a-0001"))
        .await
        .expect("fcm");
    a.register_device(&device("hms", "hms-token-a-0001"))
        .await
        .expect("hms");
    a.register_device(&device("apns", IPHONE_A))
        .await
        .expect("apns");
    b.register_device(&device("fcm", "fcm-token-b-0001"))
        .await
        .expect("fcm");
    // Staff of another agency hear nothing of it.
    platform
        .client("admin-1", "admin")
        .create_staff(&NewStaffAccount {
            username: "water-a".into(),
            display_name: "水务".into(),
            role: "agency_staff".into(),
            agency: Some("utility-water".into()),
            password: "a-long-password-123".into(),
        })
        .await
        .expect("water staff");
    platform
        .agency_client("water-a", "utility-water")
        .register_device(&device("fcm", "fcm-token-water-01"))
        .await
        .expect("water device");

    let number = dispatched(&platform, "citizen-1").await;
    eventually(&platform, "four pushes arrive", async || {
        platform.fcm.delivered().len()
            + platform.hms.delivered().len()
            + platform.apns.delivered().len()
            >= 4
    })
    .await;

    let fcm = platform.fcm.delivered();
    let mut tokens: Vec<&str> = fcm.iter().map(|p| p.token.as_str()).collect();
    tokens.sort();
    assert_eq!(tokens, ["fcm-token-a-0001", "fcm-token-b-0001"]);
    for push in &fcm {
        assert_eq!(push.title, "新工单");
        assert!(push.body.contains(&number), "{}", push.body);
        assert_eq!(push.data["kind"], "task_new");
        assert_eq!(push.data["tracking_number"], number);
        assert!(push.data["dedupe_key"].starts_with("event:"));
    }
    let hms = platform.hms.delivered();
    assert_eq!(hms.len(), 1);
    assert_eq!(hms[0].token, "hms-token-a-0001");
    assert!(hms[0].data.contains(&number));
    let apns = platform.apns.delivered();
    assert_eq!(apns.len(), 1);
    assert_eq!(apns[0].token, IPHONE_A);
    assert_eq!(apns[0].title, "新工单");
    assert_eq!(apns[0].data["tracking_number"], number);
    assert_eq!(apns[0].collapse_id.len(), 64);

    // Each person's inbox has it, whatever their phones did; the citizen's has their news.
    let inbox = a.notifications(None, false).await.expect("inbox");
    assert_eq!(inbox.items.len(), 1);
    assert_eq!(inbox.items[0].kind, "task_new");
    assert_eq!(
        inbox.items[0].tracking_number.as_deref(),
        Some(number.as_str())
    );
    assert_eq!(inbox.unread, 1);
    let citizen = platform
        .client("citizen-1", "citizen")
        .notifications(None, false)
        .await
        .expect("citizen inbox");
    let kinds: Vec<&str> = citizen.items.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(kinds, ["citizen_dispatched", "citizen_accepted"]);
    assert!(
        platform
            .agency_client("water-a", "utility-water")
            .notifications(None, false)
            .await
            .expect("water inbox")
            .items
            .is_empty()
    );
    eventually(
        &platform,
        "every delivery is recorded as sent",
        async || statuses(&platform).await == HashMap::from([("sent".to_owned(), 4)]),
    )
    .await;
}

#[tokio::test]
async fn an_outage_delays_delivery_but_loses_nothing_and_sends_nothing_twice() {
    let platform = Platform::start().await;
    let urban = staff_with_phone(&platform, "urban-a", "fcm", "fcm-token-a-0001").await;
    urban
        .register_device(&device("hms", "hms-token-a-0001"))
        .await
        .expect("hms");
    // FCM is down (503 with Retry-After, then a hang past the send's timeout), HMS throttles.
    platform.fcm.fail_next(
        Fault::Status {
            status: 503,
            retry_after: Some(1),
        },
        2,
    );
    platform
        .fcm
        .fail_next(Fault::Hang(Duration::from_secs(7)), 1);
    platform.hms.fail_next(
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        3,
    );
    let mut numbers = Vec::new();
    for citizen in ["citizen-1", "citizen-2", "citizen-3"] {
        numbers.push(dispatched(&platform, citizen).await);
    }
    eventually(&platform, "all six pushes arrive", async || {
        platform.fcm.delivered().len() >= 3 && platform.hms.delivered().len() >= 3
    })
    .await;
    eventually(
        &platform,
        "every delivery is recorded as sent",
        async || statuses(&platform).await == HashMap::from([("sent".to_owned(), 6)]),
    )
    .await;
    // A little longer: nothing more may arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let fcm = platform.fcm.delivered();
    let mut keys: Vec<&str> = fcm.iter().map(|p| p.data["dedupe_key"].as_str()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!((fcm.len(), keys.len()), (3, 3), "each FCM message once");
    assert_eq!(platform.hms.delivered().len(), 3, "each HMS message once");
    let retried: i64 =
        sqlx::query_scalar("select count(*) from notification_deliveries where attempts > 1")
            .fetch_one(&platform.db)
            .await
            .expect("count");
    assert!(retried >= 2, "the outage cost retries: {retried}");
}

#[tokio::test]
async fn uninstalled_apps_lose_their_tokens_and_expired_access_tokens_are_refreshed_once() {
    let platform = Platform::start().await;
    let urban = staff(&platform, "urban-a").await;
    for (kind, token) in [
        ("fcm", "fcm-token-gone-01"),
        ("hms", "hms-token-gone-01"),
        ("fcm", "fcm-token-kept-01"),
        ("apns", IPHONE_GONE),
        ("apns", IPHONE_A),
    ] {
        urban
            .register_device(&device(kind, token))
            .await
            .expect("device");
    }
    platform.fcm.unregister("fcm-token-gone-01");
    platform.hms.unregister("hms-token-gone-01");
    platform.apns.unregister(IPHONE_GONE);
    dispatched(&platform, "citizen-1").await;
    eventually(&platform, "the kept phone gets its push", async || {
        !platform.fcm.delivered().is_empty()
    })
    .await;
    eventually(&platform, "the three gone tokens are dropped", async || {
        statuses(&platform).await.get("dropped") == Some(&3)
    })
    .await;
    let left = urban.devices().await.expect("devices");
    let mut suffixes: Vec<&str> = left.items.iter().map(|d| d.token_suffix.as_str()).collect();
    suffixes.sort();
    assert_eq!(suffixes, ["a2b3c4", "ept-01"]);
    let grants = platform.fcm.grants();
    assert_eq!(grants, 1, "one access token serves every send");

    // The access tokens expire: the next send is refused, a new token is fetched (APNs: made),
    // and it goes.
    platform.fcm.expire_tokens();
    platform.apns.expire_tokens();
    dispatched(&platform, "citizen-2").await;
    eventually(&platform, "the second pushes arrive", async || {
        platform.fcm.delivered().len() == 2 && platform.apns.delivered().len() == 2
    })
    .await;
    assert_eq!(platform.fcm.grants(), 2, "refreshed exactly once");
    assert_eq!(platform.apns.grants(), 2, "one new provider token");
    assert!(!statuses(&platform).await.contains_key("dead"));
}

#[tokio::test]
async fn pushes_sent_at_once_share_one_new_access_token() {
    let platform = Platform::start().await;
    let urban = staff(&platform, "urban-a").await;
    // As many phones as one account may have.
    for phone in 0..10 {
        urban
            .register_device(&device("fcm", &format!("fcm-token-many-{phone:02}")))
            .await
            .expect("device");
    }
    dispatched(&platform, "citizen-1").await;
    eventually(&platform, "every phone gets its push", async || {
        platform.fcm.delivered().len() == 10
    })
    .await;
    // The ten go out together, and the first of them finds no token yet: one fetches it
    // while the others wait for it, rather than each signing an assertion and asking Google.
    assert_eq!(platform.fcm.grants(), 1);
}

#[tokio::test]
async fn a_crash_in_the_middle_of_delivery_delays_it_but_does_not_drop_it() {
    let mut platform = Platform::start_with(Options {
        variables: vec![("SPIN_VARIABLE_NOTIFY_LEASE_SECONDS", "3".into())],
        ..Options::default()
    })
    .await
    .expect("platform");
    let _urban = staff_with_phone(&platform, "urban-a", "fcm", "fcm-token-a-0001").await;
    // FCM hangs on the first send; the runtime is killed while it waits.
    platform
        .fcm
        .fail_next(Fault::Hang(Duration::from_secs(60)), 1);
    let number = dispatched(&platform, "citizen-1").await;
    // (The first request is the access-token grant: delivery is in the middle either way.)
    eventually(&platform, "delivery is in flight", async || {
        platform.fcm.requests() > 0
    })
    .await;
    platform.crash_and_restart().await.expect("restarted");
    eventually(
        &platform,
        "the push arrives after the restart",
        async || !platform.fcm.delivered().is_empty(),
    )
    .await;
    eventually(&platform, "it is recorded as sent", async || {
        statuses(&platform).await == HashMap::from([("sent".to_owned(), 1)])
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let delivered = platform.fcm.delivered();
    assert_eq!(delivered.len(), 1, "once");
    assert_eq!(delivered[0].data["tracking_number"], number);
}

#[tokio::test]
async fn citizens_without_the_app_hear_by_wechat_and_by_sms_when_consent_is_used_up() {
    let platform = Platform::start().await;
    let admin = platform.client("admin-1", "admin");
    admin
        .set_notification_template(
            "citizen_accepted",
            &SetNotificationTemplate {
                title: "诉求已受理".into(),
                body: "您的诉求（{tracking_number}）已受理。".into(),
                wechat_template_id: Some(fakes::wechat::PROGRESS_TEMPLATE.into()),
                sms_template: Some(fakes::sms::notice_template(fakes::sms::Provider::Aliyun)),
                fallback: true,
            },
        )
        .await
        .expect("template");
    // Two mini-program users; only the first allowed a progress message.
    let anonymous = platform.anonymous();
    let mut citizens = Vec::new();
    for openid in ["openid-consented", "openid-refused"] {
        let code = platform.wechat.login(openid);
        let tokens = anonymous.wechat_sign_in(&code).await.expect("signed in");
        citizens.push(anonymous.with_token(tokens.access_token));
    }
    platform
        .wechat
        .consent("openid-consented", fakes::wechat::PROGRESS_TEMPLATE, 1);
    // WeChat's access token expires between the two: refreshed once by stable_token.
    let first = citizens[0]
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    eventually(&platform, "the subscribe message arrives", async || {
        !platform.wechat.subscribed().is_empty()
    })
    .await;
    let message = &platform.wechat.subscribed()[0];
    assert_eq!(message.openid, "openid-consented");
    assert_eq!(message.data["character_string1"], first.tracking_number);
    assert_eq!(message.data["phrase3"], "诉求已受理");
    assert!(message.page.contains(&first.tracking_number));

    platform.wechat.expire_tokens();
    let mut request = valid_request();
    request.contact_phone = "13912345678".into();
    let second = citizens[1]
        .create_request(&request, None)
        .await
        .expect("filed");
    eventually(&platform, "the SMS goes out instead", async || {
        platform
            .sms
            .delivered()
            .iter()
            .any(|m| m.params == [second.tracking_number.clone()])
    })
    .await;
    let sms = platform.sms.delivered();
    let notice = sms
        .iter()
        .find(|m| m.params == [second.tracking_number.clone()])
        .expect("the notice");
    assert_eq!(notice.phone, "13912345678");
    assert_eq!(
        notice.template,
        fakes::sms::notice_template(fakes::sms::Provider::Aliyun)
    );
    assert_eq!(platform.wechat.token_grants(), 2, "one refresh");
    eventually(
        &platform,
        "the refused message is dropped and the SMS sent",
        async || {
            statuses(&platform).await
                == HashMap::from([("sent".to_owned(), 2), ("dropped".to_owned(), 1)])
        },
    )
    .await;
}

#[tokio::test]
async fn citizens_texts_wait_for_the_end_of_their_quiet_hours_while_staff_pushes_go_at_once() {
    let platform = with_quiet_hours("0-24").await;
    platform
        .client("admin-1", "admin")
        .set_notification_template(
            "citizen_accepted",
            &SetNotificationTemplate {
                title: "诉求已受理".into(),
                body: "您的诉求（{tracking_number}）已受理。".into(),
                wechat_template_id: None,
                sms_template: Some(fakes::sms::notice_template(fakes::sms::Provider::Aliyun)),
                fallback: true,
            },
        )
        .await
        .expect("template");
    staff_with_phone(&platform, "urban-quiet", "fcm", "fcm-token-urban-quiet").await;
    // An operator files a caller's request: the caller, who has no app, would get a text.
    let mut call = valid_request();
    call.channel = mobile_api::Channel::Phone;
    let filed = platform
        .client("operator-1", "operator")
        .create_request(&call, None)
        .await
        .expect("filed");
    dispatch_to_urban(&platform, &filed.tracking_number).await;
    eventually(
        &platform,
        "the agency's push goes out at once",
        async || {
            platform
                .fcm
                .delivered()
                .iter()
                .any(|p| p.token == "fcm-token-urban-quiet")
        },
    )
    .await;
    // The text waits, its attempt not counted, until the quiet hours end: midnight, China time.
    let next_midnight = {
        let china = chrono::Utc::now() + chrono::Duration::hours(8);
        let midnight = (china.date_naive() + chrono::Days::new(1))
            .and_hms_opt(0, 0, 0)
            .expect("midnight");
        (midnight - chrono::Duration::hours(8)).and_utc()
    };
    eventually(&platform, "the text is put off", async || {
        let held: Vec<(String, i32, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
            "select status, attempts, next_attempt_at from notification_deliveries where channel = 'sms'",
        )
        .fetch_all(&platform.db)
        .await
        .expect("the text");
        held == [("pending".to_owned(), 0, next_midnight)]
    })
    .await;
    assert!(platform.sms.delivered().is_empty(), "no text at night");
}

#[tokio::test]
async fn dead_letters_are_seen_and_requeued_by_supervisors() {
    let platform = Platform::start_with(Options {
        variables: vec![("SPIN_VARIABLE_NOTIFY_MAX_ATTEMPTS", "2".into())],
        ..Options::default()
    })
    .await
    .expect("platform");
    let urban = staff_with_phone(&platform, "urban-a", "fcm", "fcm-token-a-0001").await;
    platform.fcm.fail_next(
        Fault::Code {
            status: 500,
            code: "INTERNAL".into(),
        },
        2,
    );
    let number = dispatched(&platform, "citizen-1").await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    eventually(
        &platform,
        "the delivery is dead after two attempts",
        async || {
            !supervisor
                .deliveries("dead")
                .await
                .expect("dead letters")
                .items
                .is_empty()
        },
    )
    .await;
    let dead = supervisor.deliveries("dead").await.expect("dead").items;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 2);
    assert_eq!(dead[0].channel, "fcm");
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("INTERNAL")),
        "{:?}",
        dead[0].last_error
    );
    assert!(platform.fcm.delivered().is_empty());
    // Agency staff do not see the dead letters; re-queueing a live one is refused.
    let refused = urban.deliveries("dead").await.expect_err("forbidden");
    assert_eq!(refused.status(), Some(403));

    let requeued = supervisor
        .requeue_delivery(&dead[0].id.to_string())
        .await
        .expect("requeued");
    assert_eq!(
        (requeued.status.as_str(), requeued.attempts),
        ("pending", 0)
    );
    eventually(&platform, "the re-queued message arrives", async || {
        !platform.fcm.delivered().is_empty()
    })
    .await;
    assert_eq!(platform.fcm.delivered()[0].data["tracking_number"], number);
    eventually(&platform, "it is sent", async || {
        statuses(&platform).await == HashMap::from([("sent".to_owned(), 1)])
    })
    .await;
    let again = supervisor
        .requeue_delivery(&dead[0].id.to_string())
        .await
        .expect_err("not dead");
    assert_eq!(
        (again.status(), again.code()),
        (Some(409), Some("not_dead"))
    );
    let unknown = supervisor
        .requeue_delivery(&uuid::Uuid::new_v4().to_string())
        .await
        .expect_err("unknown");
    assert_eq!(unknown.status(), Some(404));
    let logged: i64 = sqlx::query_scalar(
        "select count(*) from notification_requeues where requeued_by = 'supervisor-1'",
    )
    .fetch_one(&platform.db)
    .await
    .expect("count");
    assert_eq!(logged, 1);
}

#[tokio::test]
async fn inboxes_devices_and_templates_belong_to_their_people() {
    let platform = Platform::start().await;
    let urban = staff(&platform, "urban-a").await;
    let other = staff(&platform, "urban-b").await;

    // Devices: new is 201, known is 200; a token registered by another person moves to them.
    let first = urban
        .register_device(&device("fcm", "shared-phone-token"))
        .await
        .expect("registered");
    let again = urban
        .register_device(&device("fcm", "shared-phone-token"))
        .await
        .expect("again");
    assert_eq!(first.id, again.id);
    let moved = other
        .register_device(&device("fcm", "shared-phone-token"))
        .await
        .expect("moved");
    assert_eq!(moved.id, first.id);
    assert!(urban.devices().await.expect("devices").items.is_empty());
    let refused = urban
        .remove_device(&moved.id.to_string())
        .await
        .expect_err("not theirs");
    assert_eq!(refused.status(), Some(404));
    for (platform_name, token) in [
        ("apns", "some-apns-token"),
        ("fcm", "short"),
        ("fcm", "has space in it"),
    ] {
        let bad = urban
            .register_device(&device(platform_name, token))
            .await
            .expect_err("refused");
        assert_eq!(
            (bad.status(), bad.code()),
            (Some(422), Some("validation_failed")),
            "{platform_name} {token}"
        );
    }
    other
        .remove_device(&moved.id.to_string())
        .await
        .expect("removed");
    assert!(other.devices().await.expect("devices").items.is_empty());

    // Templates: an unknown placeholder is refused; a change applies to what is made next.
    let admin = platform.client("admin-1", "admin");
    let typo = admin
        .set_notification_template("task_new", &staff_template("新工单", "请办理 {number}"))
        .await
        .expect_err("unknown placeholder");
    assert_eq!(typo.status(), Some(422));
    // A note is quoted only by the staff kinds whose every notice has one.
    let no_note = admin
        .set_notification_template("task_new", &staff_template("新工单", "请办理：{note}"))
        .await
        .expect_err("task_new has no note");
    assert_eq!(no_note.status(), Some(422));
    let before = admin.notification_templates().await.expect("templates");
    let quoting: Vec<(&str, &str)> = before
        .items
        .iter()
        .filter(|t| t.placeholders.iter().any(|p| p == "{note}"))
        .map(|t| (t.kind.as_str(), t.audience.as_str()))
        .collect();
    assert!(quoting.contains(&("task_returned", "staff")), "{quoting:?}");
    assert!(
        quoting
            .iter()
            .all(|(_, audience)| ["staff", "holder"].contains(audience)),
        "never to citizens: {quoting:?}"
    );
    admin
        .set_notification_template(
            "task_new",
            &staff_template("请接单", "{title}（{tracking_number}），{deadline} 前办结"),
        )
        .await
        .expect("changed");
    let templates = admin.notification_templates().await.expect("templates");
    assert!(
        templates
            .items
            .iter()
            .any(|t| t.kind == "task_new" && t.updated_by == "admin-1")
    );

    // Inbox: paging, unread, read; someone else's notification is a 404.
    let mut numbers = Vec::new();
    for citizen in ["citizen-1", "citizen-2", "citizen-3"] {
        numbers.push(dispatched(&platform, citizen).await);
    }
    let page = urban.notifications(None, false).await.expect("page");
    assert_eq!(page.items.len(), 3);
    assert_eq!(page.unread, 3);
    assert_eq!(page.items[0].title, "请接单");
    assert!(page.items[0].body.contains(&numbers[2]), "newest first");
    assert!(page.items[0].body.contains("前办结") && !page.items[0].body.contains('{'));
    let read = urban
        .mark_read(&page.items[0].id.to_string())
        .await
        .expect("read");
    assert!(read.read_at.is_some());
    let unread = urban.notifications(None, true).await.expect("unread");
    assert_eq!((unread.items.len(), unread.unread), (2, 2));
    let stranger = platform
        .client("citizen-1", "citizen")
        .mark_read(&page.items[1].id.to_string())
        .await
        .expect_err("not theirs");
    assert_eq!(stranger.status(), Some(404));
    let bad_cursor = urban
        .notifications(Some("not-a-cursor"), false)
        .await
        .expect_err("bad cursor");
    assert_eq!(bad_cursor.code(), Some("invalid_cursor"));
}

#[tokio::test]
async fn reminders_supervision_and_deadline_warnings_reach_the_agency() {
    let platform = Platform::start().await;
    let _urban = staff_with_phone(&platform, "urban-a", "fcm", "fcm-token-a-0001").await;
    let number = dispatched(&platform, "citizen-1").await;
    let operator = platform.client("operator-1", "operator");
    let supervisor = platform.client("supervisor-1", "supervisor");
    let note = |text: &str| OrderAction {
        note: Some(text.into()),
        ..Default::default()
    };

    // 催办 by the centre; 督办 only by supervisors; both need a note and an agency holding the order.
    operator
        .act(&number, "remind", &note("市民第三次来电催促"))
        .await
        .expect("reminded");
    let refused = operator
        .act(&number, "supervise", &note("列入督办"))
        .await
        .expect_err("operators do not supervise");
    assert_eq!(refused.status(), Some(403));
    // The supervisor's words reach the agency's phones; a long note, its first 100 characters.
    let requirement = "请三日内办结，并将排查、维修、回访市民的情况书面报告督查室。".repeat(4);
    supervisor
        .act(&number, "supervise", &note(requirement.as_str()))
        .await
        .expect("supervised");
    let empty = operator
        .act(&number, "remind", &OrderAction::default())
        .await
        .expect_err("a note is needed");
    assert_eq!(empty.status(), Some(422));
    let waiting = platform
        .client("citizen-2", "citizen")
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let not_held = operator
        .act(&waiting.tracking_number, "remind", &note("催办"))
        .await
        .expect_err("no agency holds it");
    assert_eq!(
        (not_held.status(), not_held.code()),
        (Some(409), Some("order_not_with_agency"))
    );

    // Four-fifths of the order's time gone: the agency is warned, once for this deadline.
    sqlx::query(
        "update work_orders set dispatched_at = now() - interval '8 days', \
         deadline_at = now() + interval '1 day' where tracking_number = $1",
    )
    .bind(&number)
    .execute(&platform.db)
    .await
    .expect("time passes");
    eventually(&platform, "four pushes arrive", async || {
        platform.fcm.delivered().len() >= 4
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pushed = platform.fcm.delivered();
    let mut kinds: Vec<&str> = pushed.iter().map(|p| p.data["kind"].as_str()).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["deadline_warning", "reminder", "supervision", "task_new"],
        "each once"
    );
    let warning = pushed
        .iter()
        .find(|p| p.data["kind"] == "deadline_warning")
        .expect("the warning");
    assert_eq!(warning.title, "即将超期");
    assert!(warning.body.contains(&number));
    let body_of = |kind: &str| {
        pushed
            .iter()
            .find(|p| p.data["kind"] == kind)
            .map(|p| p.body.clone())
            .expect("pushed")
    };
    assert!(
        body_of("reminder").ends_with("催办意见：市民第三次来电催促"),
        "{}",
        body_of("reminder")
    );
    let quoted: String = requirement.chars().take(99).collect();
    assert!(
        body_of("supervision").ends_with(&format!("督办意见：{quoted}…")),
        "{}",
        body_of("supervision")
    );
    assert!(pushed.iter().all(|p| !p.body.contains('{')));
    // The citizen's timeline tells of the urging, in plain words.
    let order = platform
        .client("citizen-1", "citizen")
        .get_request(&number)
        .await
        .expect("order");
    let said: Vec<&str> = order
        .timeline
        .iter()
        .map(|entry| entry.description.as_str())
        .collect();
    assert!(said.contains(&"已督促承办单位加快办理"), "{said:?}");
    assert!(said.contains(&"您的诉求已列入督办"), "{said:?}");

    // A new deadline (as an extension sets) is warned of again, when its own last fifth comes.
    sqlx::query(
        "update work_orders set deadline_at = now() + interval '1 day 1 hour' where tracking_number = $1",
    )
    .bind(&number)
    .execute(&platform.db)
    .await
    .expect("a new deadline");
    eventually(&platform, "the second warning", async || {
        pushes_of(&platform, "deadline_warning") == 2
    })
    .await;
}

/// Moves an order's deadline to `deadline` (SQL), as time passing or an extension would.
async fn set_deadline(platform: &Platform, number: &str, deadline: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "update work_orders set deadline_at = {deadline} where tracking_number = $1"
    )))
    .bind(number)
    .execute(&platform.db)
    .await
    .expect("a new deadline");
}

/// The agency asks the centre for two more months.
async fn asks_for_more_time(agency: &Client, number: &str) {
    agency
        .act(
            number,
            "request_extension",
            &OrderAction {
                until: Some(chrono::Utc::now() + chrono::Duration::days(60)),
                reason: Some("等待配件到货".into()),
                ..Default::default()
            },
        )
        .await
        .expect("asked for more time");
}

#[tokio::test]
async fn an_agency_late_with_the_opinion_it_was_asked_for_is_told_once() {
    let platform = Platform::start().await;
    let water = platform.agency_account("water-late", "utility-water").await;
    water
        .register_device(&device("fcm", "fcm-token-water-0001"))
        .await
        .expect("device");
    let number = dispatched(&platform, "citizen-1").await;
    let asked = platform
        .client("operator-1", "operator")
        .act(
            &number,
            "ask_co_handling",
            &OrderAction {
                agency: Some("utility-water".into()),
                note: Some("请核查供水管".into()),
                ..Default::default()
            },
        )
        .await
        .expect("asked");
    // Three working days from now: before the order's own deadline, seven for a streetlight.
    let due = asked.co_handling[0].due_at;
    assert!(
        due > chrono::Utc::now() + chrono::Duration::hours(12),
        "{due}"
    );
    assert!(due < asked.deadline_at.expect("a deadline"));
    eventually(&platform, "the request for help", async || {
        pushes_of(&platform, "task_co_handling") == 1
    })
    .await;
    // The notice says when the opinion is due, not the order's deadline.
    let asked_notice = platform
        .fcm
        .delivered()
        .into_iter()
        .find(|p| p.data["kind"] == "task_co_handling")
        .expect("the notice");
    let china = due.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"));
    let due_text = china.format("%-m月%-d日 %H:%M").to_string();
    assert!(
        asked_notice
            .body
            .contains(&format!("在 {due_text} 前提出协办意见")),
        "{} (due {due_text})",
        asked_notice.body
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        pushes_of(&platform, "co_handling_overdue"),
        0,
        "not yet due"
    );

    // The time passes unanswered: the water company is told, once.
    sqlx::query("update work_order_co_handlers set due_at = now() - interval '1 minute'")
        .execute(&platform.db)
        .await
        .expect("due");
    eventually(&platform, "the late notice", async || {
        pushes_of(&platform, "co_handling_overdue") == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pushes_of(&platform, "co_handling_overdue"), 1, "once");
    let board = platform
        .client("supervisor-1", "supervisor")
        .supervision_board(&[("group_by", "district")])
        .await
        .expect("board");
    assert_eq!(
        (
            board.total.co_handling_awaited,
            board.total.co_handling_overdue
        ),
        (1, 1)
    );
    let notice = platform
        .fcm
        .delivered()
        .into_iter()
        .find(|p| p.data["kind"] == "co_handling_overdue")
        .expect("the notice");
    assert_eq!(notice.title, "协办意见超期");
    assert!(
        notice.body.contains(&number) && notice.body.contains("现已超期"),
        "{}",
        notice.body
    );
    // A late opinion is still taken.
    water
        .act(
            &number,
            "co_reply",
            &OrderAction {
                result: Some("供水管无渗漏".into()),
                ..Default::default()
            },
        )
        .await
        .expect("answered late");
}

#[tokio::test]
async fn an_order_past_its_deadline_is_told_to_its_agency_once_per_deadline() {
    let platform = Platform::start().await;
    let urban = staff_with_phone(&platform, "urban-a", "fcm", "fcm-token-a-0001").await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    let late = dispatched(&platform, "citizen-1").await;
    let done = dispatched(&platform, "citizen-2").await;
    awaiting_rating(&platform, &done).await;

    // The agency asks for more time; the deadline passes while the centre has not decided.
    asks_for_more_time(&urban, &late).await;
    set_deadline(&platform, &late, "now() - interval '1 minute'").await;
    // An order the agency has answered is not overdue, whatever its deadline.
    set_deadline(&platform, &done, "now() - interval '1 minute'").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        pushes_of(&platform, "task_overdue"),
        0,
        "nothing while the extension waits for the centre, nor for an answered order"
    );

    // The centre refuses: the order is overdue, and the agency is told, once.
    supervisor
        .act(
            &late,
            "refuse_extension",
            &OrderAction {
                reason: Some("无正当理由".into()),
                ..Default::default()
            },
        )
        .await
        .expect("refused");
    eventually(&platform, "the overdue notice", async || {
        pushes_of(&platform, "task_overdue") == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pushes_of(&platform, "task_overdue"), 1, "once");
    let pushed = platform.fcm.delivered();
    let notice = pushed
        .iter()
        .find(|p| p.data["kind"] == "task_overdue")
        .expect("the notice");
    assert_eq!(notice.title, "已超期");
    assert!(notice.body.contains(&late), "{}", notice.body);
    assert!(notice.body.contains("已超过办结时限"), "{}", notice.body);
    let inbox = urban.notifications(None, true).await.expect("inbox");
    assert!(
        inbox
            .items
            .iter()
            .any(|n| n.kind == "task_overdue" && n.tracking_number.as_deref() == Some(&late)),
        "in the staff's inbox too"
    );

    // A new deadline (an extension granted after all) missed again is told again.
    set_deadline(&platform, &late, "now() - interval '10 seconds'").await;
    eventually(&platform, "the second overdue notice", async || {
        pushes_of(&platform, "task_overdue") == 2
    })
    .await;
    assert_eq!(
        pushes_of(&platform, "task_overdue"),
        2,
        "none for the answered order"
    );
}

#[tokio::test]
async fn orders_long_overdue_come_under_key_supervision_once_and_supervisors_hear_of_it() {
    let platform = Platform::start().await;
    let urban = staff_with_phone(&platform, "urban-a", "fcm", "fcm-token-a-0001").await;
    let supervisor = platform.supervisor_account("supervisor-a").await;
    supervisor
        .register_device(&device("fcm", "fcm-token-supervisor-1"))
        .await
        .expect("the supervisor's phone");
    let long_overdue = dispatched(&platform, "citizen-1").await;
    let two_days = dispatched(&platform, "citizen-2").await;
    let waiting_for_more_time = dispatched(&platform, "citizen-3").await;
    asks_for_more_time(&urban, &waiting_for_more_time).await;
    set_deadline(&platform, &long_overdue, "now() - interval '4 days'").await;
    set_deadline(&platform, &two_days, "now() - interval '2 days'").await;
    set_deadline(
        &platform,
        &waiting_for_more_time,
        "now() - interval '5 days'",
    )
    .await;

    // Three days past the deadline (the default): the order comes under key supervision, with
    // its event, and both its agency and the supervisors hear of it, once.
    eventually(&platform, "the escalation", async || {
        pushes_of(&platform, "key_supervision_escalated") == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pushes_of(&platform, "key_supervision_escalated"), 1, "once");
    assert_eq!(
        pushes_of(&platform, "key_supervision"),
        1,
        "the agency once"
    );
    let pushed = platform.fcm.delivered();
    let to_supervisor = pushed
        .iter()
        .find(|p| p.data["kind"] == "key_supervision_escalated")
        .expect("the supervisor's notice");
    assert_eq!(to_supervisor.token, "fcm-token-supervisor-1");
    assert!(
        to_supervisor.body.contains(&long_overdue),
        "{}",
        to_supervisor.body
    );
    let to_agency = pushed
        .iter()
        .find(|p| p.data["kind"] == "key_supervision")
        .expect("the agency's notice");
    assert_eq!(to_agency.token, "fcm-token-a-0001");
    assert_eq!(to_agency.title, "重点督办");
    assert!(
        to_agency
            .body
            .ends_with("督办意见：超过办结时限 3 日仍未办结，自动列入重点督办"),
        "the sweep's reason: {}",
        to_agency.body
    );

    // The order shows it: to staff, on the overdue list and the board; to the citizen, in words.
    let order = urban.order(&long_overdue).await.expect("the order");
    assert!(order.key_supervised_at.is_some() && order.supervised_at.is_some());
    let overdue = supervisor.overdue_orders(&[]).await.expect("overdue list");
    let escalated: Vec<(&str, bool)> = overdue
        .items
        .iter()
        .map(|o| (o.tracking_number.as_str(), o.key_supervised_at.is_some()))
        .collect();
    assert_eq!(
        escalated,
        [
            (waiting_for_more_time.as_str(), false),
            (long_overdue.as_str(), true),
            (two_days.as_str(), false)
        ]
    );
    let board = supervisor.supervision_board(&[]).await.expect("board");
    assert_eq!((board.total.key_supervised, board.total.supervised), (1, 1));
    let history: Vec<(String, String)> = sqlx::query_as(
        "select e.event, e.actor from work_order_events e join work_orders o using (work_order_id) \
         where o.tracking_number = $1 order by e.work_order_event_id",
    )
    .bind(&long_overdue)
    .fetch_all(&platform.db)
    .await
    .expect("history");
    assert_eq!(
        history.last().map(|(e, a)| (e.as_str(), a.as_str())),
        Some(("key_supervised", "system"))
    );
    let timeline = platform
        .client("citizen-1", "citizen")
        .get_request(&long_overdue)
        .await
        .expect("the citizen's view");
    assert!(
        timeline
            .timeline
            .iter()
            .any(|entry| entry.description == "您的诉求已列入重点督办"),
        "{:?}",
        timeline.timeline
    );

    // A supervisor puts another under key supervision by hand: the agency is told, the
    // supervisors are not (it is their own call).
    supervisor
        .act(
            &two_days,
            "key_supervise",
            &OrderAction {
                note: Some("群众反映集中，列入重点督办".into()),
                ..Default::default()
            },
        )
        .await
        .expect("key supervision by hand");
    eventually(&platform, "the agency's second notice", async || {
        pushes_of(&platform, "key_supervision") == 2
    })
    .await;
    assert_eq!(pushes_of(&platform, "key_supervision_escalated"), 1);
    let operator = platform.client("operator-1", "operator");
    let refused = operator
        .act(
            &two_days,
            "key_supervise",
            &OrderAction {
                note: Some("x".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("not the operators' call");
    assert_eq!(refused.status(), Some(403));
}

/// Takes a dispatched order through the agency's reply and the centre's audit, to the citizen's
/// rating.
async fn awaiting_rating(platform: &Platform, number: &str) {
    let urban = platform.agency_client("urban-a", URBAN);
    for action in ["sign", "contact"] {
        urban
            .act(number, action, &OrderAction::default())
            .await
            .expect(action);
    }
    replied_and_audited(platform, number, "已更换路灯线路").await;
}

/// The agency replies with `result` to an order it holds and the centre's audit passes it.
async fn replied_and_audited(platform: &Platform, number: &str, result: &str) {
    let reply = OrderAction {
        result: Some(result.into()),
        ..Default::default()
    };
    platform
        .agency_client("urban-a", URBAN)
        .act(number, "reply", &reply)
        .await
        .expect("replied");
    platform
        .client("supervisor-1", "supervisor")
        .act(number, "pass_audit", &OrderAction::default())
        .await
        .expect("audited");
}

/// Moves the start of an order's wait for its rating `hours` into the past.
async fn waiting_for(platform: &Platform, number: &str, hours: i32) {
    sqlx::query(
        "update work_orders set awaiting_rating_since = awaiting_rating_since - make_interval(hours => $2) \
         where tracking_number = $1",
    )
    .bind(number)
    .bind(hours)
    .execute(&platform.db)
    .await
    .expect("time passes");
}

/// How many pushes of `kind` the fake FCM has delivered.
fn pushes_of(platform: &Platform, kind: &str) -> usize {
    platform
        .fcm
        .delivered()
        .iter()
        .filter(|p| p.data["kind"] == kind)
        .count()
}

fn reminders(platform: &Platform, number: &str) -> Vec<fakes::fcm::Pushed> {
    platform
        .fcm
        .delivered()
        .into_iter()
        .filter(|p| p.data["kind"] == "citizen_rating_reminder" && p.body.contains(number))
        .collect()
}

/// A platform whose citizens' quiet hours are `quiet` (China time, e.g. `21-8`; `none`).
async fn with_quiet_hours(quiet: &str) -> Platform {
    Platform::start_with(Options {
        variables: vec![("SPIN_VARIABLE_CITIZEN_QUIET_HOURS", quiet.into())],
        ..Default::default()
    })
    .await
    .expect("the platform starts")
}

#[tokio::test]
async fn citizens_who_have_not_rated_are_reminded_once_a_round_while_they_still_may() {
    // No quiet hours, so that the test does not depend on the time of day (see the next test).
    let platform = with_quiet_hours("none").await;
    let citizen = platform.client("citizen-1", "citizen");
    citizen
        .register_device(&device("fcm", "fcm-token-citizen-0001"))
        .await
        .expect("device");
    let number = dispatched(&platform, "citizen-1").await;
    let late = dispatched(&platform, "citizen-1").await;
    awaiting_rating(&platform, &number).await;
    awaiting_rating(&platform, &late).await;
    eventually(&platform, "both replies are pushed", async || {
        pushes_of(&platform, "citizen_replied") == 2
    })
    .await;

    // Not yet: the reply passed audit a moment ago (the sweep runs every second here).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(reminders(&platform, &number).is_empty());

    // Three days on, unrated: one reminder, saying when the seven days to rate end. The other
    // order's window closed before anyone swept (eight days): it waits for the follow-up call.
    waiting_for(&platform, &number, 72).await;
    waiting_for(&platform, &late, 8 * 24).await;
    eventually(&platform, "the reminder is pushed", async || {
        !reminders(&platform, &number).is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pushed = reminders(&platform, &number);
    assert_eq!(pushed.len(), 1, "once: {pushed:?}");
    assert_eq!(pushed[0].title, "请评价办理结果");
    assert_eq!(pushed[0].token, "fcm-token-citizen-0001");
    let (window_ends,): (String,) = sqlx::query_as(
        "select to_char((awaiting_rating_since + interval '7 days') at time zone 'Asia/Shanghai', \
         'FMMM\"月\"FMDD\"日\" HH24:MI') from work_orders where tracking_number = $1",
    )
    .bind(&number)
    .fetch_one(&platform.db)
    .await
    .expect("the window's end");
    assert!(
        pushed[0].body.contains(&format!("请在 {window_ends} 前")),
        "{}",
        pushed[0].body
    );
    assert!(reminders(&platform, &late).is_empty(), "the window is over");
    let inbox = citizen.notifications(None, true).await.expect("inbox");
    assert!(
        inbox
            .items
            .iter()
            .any(|n| n.kind == "citizen_rating_reminder" && n.body.contains(&number)),
        "the reminder is in the app's inbox too"
    );

    // Rated unsatisfied, redone, replied and audited again: the new round is reminded again, once.
    citizen
        .rate(&number, "unsatisfied", "no", Some("路灯修好一天又坏了"))
        .await
        .expect("rated");
    platform
        .client("operator-1", "operator")
        .act(&number, "start_redo", &OrderAction::default())
        .await
        .expect("redo");
    replied_and_audited(&platform, &number, "更换了整条线路").await;
    waiting_for(&platform, &number, 72).await;
    eventually(&platform, "the second round's reminder", async || {
        reminders(&platform, &number).len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(reminders(&platform, &number).len(), 2);

    // Rated: nothing more, however long ago the reply was.
    citizen
        .rate(&number, "satisfied", "yes", None)
        .await
        .expect("rated");
    waiting_for(&platform, &number, 24).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(reminders(&platform, &number).len(), 2);
}

#[tokio::test]
async fn citizens_are_not_reminded_in_their_quiet_hours() {
    let platform = with_quiet_hours("0-24").await;
    platform
        .client("citizen-1", "citizen")
        .register_device(&device("fcm", "fcm-token-citizen-0001"))
        .await
        .expect("device");
    let number = dispatched(&platform, "citizen-1").await;
    awaiting_rating(&platform, &number).await;
    waiting_for(&platform, &number, 72).await;
    eventually(&platform, "the reply is pushed", async || {
        pushes_of(&platform, "citizen_replied") >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(reminders(&platform, &number).is_empty(), "quiet all day");
}

/// The runtime's metrics carry what the notifications and supervision components say of their
/// work: the outbox's backlog by channel and what died, the centre's queue, the orders with the
/// agencies and those overdue.
#[tokio::test]
async fn the_metrics_show_the_outbox_and_the_work_waiting() {
    let platform = Platform::start_with(Options {
        variables: vec![("SPIN_VARIABLE_NOTIFY_MAX_ATTEMPTS", "2".into())],
        ..Options::default()
    })
    .await
    .expect("platform");
    let _urban = staff_with_phone(&platform, "urban-a", "fcm", "fcm-token-a-0001").await;
    let gauge = |samples: &std::collections::BTreeMap<String, f64>, series: &str| {
        *samples
            .get(series)
            .unwrap_or_else(|| panic!("no {series} in {samples:#?}"))
    };
    let fcm = |name: &str| format!("hotline_notifications_{name}{{channel=\"fcm\"}}");

    let quiet = platform.metrics().await;
    for component in ["notifications", "supervision"] {
        let up = format!("hotline_component_metrics_up{{component=\"{component}\"}}");
        assert_eq!(gauge(&quiet, &up), 1.0, "{component}");
    }
    for channel in ["fcm", "apns", "hms", "wechat", "sms"] {
        let series = format!("hotline_notifications_deliveries_pending{{channel=\"{channel}\"}}");
        assert_eq!(gauge(&quiet, &series), 0.0, "{channel}");
    }
    assert_eq!(
        gauge(&quiet, "hotline_supervision_orders_awaiting_dispatch"),
        0.0
    );
    assert_eq!(
        gauge(
            &quiet,
            "hotline_supervision_oldest_awaiting_dispatch_seconds"
        ),
        0.0
    );

    // A request waits at the centre.
    platform
        .client("citizen-1", "citizen")
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let waiting = platform.metrics().await;
    assert_eq!(
        gauge(&waiting, "hotline_supervision_orders_awaiting_dispatch"),
        1.0
    );
    let oldest = gauge(
        &waiting,
        "hotline_supervision_oldest_awaiting_dispatch_seconds",
    );
    assert!((0.0..60.0).contains(&oldest), "{oldest}");

    // FCM refuses the first push twice: with two attempts allowed, it dies.
    platform.fcm.fail_next(
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        2,
    );
    let first = dispatched(&platform, "citizen-2").await;
    eventually(&platform, "the first push is dead", async || {
        platform.metrics().await.get(&fcm("deliveries_dead")) == Some(&1.0)
    })
    .await;
    let after_death = platform.metrics().await;
    assert_eq!(gauge(&after_death, &fcm("deliveries_pending")), 0.0);
    let refused = after_death
        .iter()
        .filter(|(series, _)| {
            series.starts_with("hotline_outbound_requests_total{component=\"notifications\"")
                && series.ends_with("outcome=\"5xx\"}")
        })
        .map(|(_, count)| count)
        .sum::<f64>();
    assert_eq!(refused, 2.0, "{after_death:#?}");

    // The next push hangs a while at FCM: meanwhile it is pending, held by the deliverer. (As
    // long as it can within the deliverer's 5 s first-byte timeout, so that a scrape slowed by a
    // loaded machine still falls within it.)
    platform
        .fcm
        .fail_next(Fault::Delay(Duration::from_secs(4)), 1);
    dispatched(&platform, "citizen-3").await;
    // Watched until seen (a loaded machine may take a moment to claim it): pending, being sent,
    // none due and waiting.
    eventually(
        &platform,
        "the delayed push is held by the deliverer",
        async || {
            let backlog = platform.metrics().await;
            [
                ("deliveries_pending", 1.0),
                ("deliveries_sending", 1.0),
                ("deliveries_due", 0.0),
                ("oldest_due_seconds", 0.0),
            ]
            .iter()
            .all(|(name, value)| backlog.get(&fcm(name)) == Some(value))
        },
    )
    .await;
    eventually(&platform, "the delayed push arrives", async || {
        platform.metrics().await.get(&fcm("deliveries_pending")) == Some(&0.0)
    })
    .await;
    assert_eq!(platform.fcm.delivered().len(), 1);

    // The dead one back in the queue, due in a second, under a lock the deliverer skips (as it
    // would a row another deliverer holds): once its time has come it is due, and waits.
    sqlx::query(
        "update notification_deliveries set status = 'pending', attempts = 0, \
         next_attempt_at = now() + interval '1 second' where status = 'dead'",
    )
    .execute(&platform.db)
    .await
    .expect("re-queued");
    let mut holder = platform.db.begin().await.expect("a transaction");
    sqlx::query("select 1 from notification_deliveries where status = 'pending' for update")
        .execute(&mut *holder)
        .await
        .expect("locked");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stuck = platform.metrics().await;
    assert_eq!(gauge(&stuck, &fcm("deliveries_due")), 1.0);
    assert_eq!(gauge(&stuck, &fcm("deliveries_sending")), 0.0);
    assert_eq!(gauge(&stuck, &fcm("deliveries_dead")), 0.0);
    let waited = gauge(&stuck, &fcm("oldest_due_seconds"));
    assert!((0.2..30.0).contains(&waited), "{waited}");
    holder.rollback().await.expect("lock released");
    eventually(&platform, "the re-queued push arrives", async || {
        platform.fcm.delivered().len() == 2
    })
    .await;

    // Two orders with the agency; one of them past its deadline.
    sqlx::query(
        "update work_orders set deadline_at = now() - interval '1 hour' where tracking_number = $1",
    )
    .bind(&first)
    .execute(&platform.db)
    .await
    .expect("deadline moved");
    let work = platform.metrics().await;
    assert_eq!(
        gauge(&work, "hotline_supervision_orders_with_agencies"),
        2.0
    );
    assert_eq!(gauge(&work, "hotline_supervision_orders_overdue"), 1.0);
    assert_eq!(
        gauge(&work, "hotline_supervision_orders_awaiting_dispatch"),
        1.0
    );
}

/// A citizen's news of their request (templates of audience `citizen`) reaches those following
/// it too, and no one else; and finding them reads no other citizen: each by its own key
/// (`order_store::outbox::record_statement`). Joined to the citizens by an `or` of the two,
/// PostgreSQL read every citizen for each event, 1.5 s a filing over a million of them.
#[tokio::test]
async fn a_citizens_news_reaches_the_followers_and_reads_no_other_citizen() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    let follower = platform.client("citizen-2", "citizen");
    let bystander = platform.client("citizen-3", "citizen");
    bystander
        .create_request(&valid_request(), None)
        .await
        .expect("the bystander's own");
    let filed = citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    follower
        .follow(&filed.tracking_number)
        .await
        .expect("followed");
    dispatch_to_urban(&platform, &filed.tracking_number).await;
    let kinds = async |client: &Client| -> Vec<String> {
        client
            .notifications(None, false)
            .await
            .expect("an inbox")
            .items
            .into_iter()
            .filter(|n| n.tracking_number.as_deref() == Some(filed.tracking_number.as_str()))
            .map(|n| n.kind)
            .collect()
    };
    assert_eq!(
        kinds(&citizen).await,
        ["citizen_dispatched", "citizen_accepted"]
    );
    assert_eq!(kinds(&follower).await, ["citizen_dispatched"]);
    assert!(kinds(&bystander).await.is_empty());

    // Among thousands of citizens, the event's recipients are looked up by key.
    let mut db = platform.db.acquire().await.expect("a connection");
    sqlx::query(
        "insert into citizens (citizen_id, subject) \
         select gen_random_uuid(), 'resident-' || n from generate_series(1, 5000) n",
    )
    .execute(&mut *db)
    .await
    .expect("more citizens");
    sqlx::query("analyze citizens")
        .execute(&mut *db)
        .await
        .expect("analysed");
    let order: uuid::Uuid =
        sqlx::query_scalar("select work_order_id from work_orders where tracking_number = $1")
            .bind(&filed.tracking_number)
            .fetch_one(&mut *db)
            .await
            .expect("the order");
    let plan = tests::plan(
        &mut db,
        order_store::outbox::record_statement(),
        None,
        |query| {
            query
                .bind(order)
                .bind("replied")
                .bind("urban-a")
                .bind(None::<String>)
                .bind(None::<chrono::NaiveDateTime>)
                .bind(chrono::Utc::now().naive_utc())
                .bind(vec!["citizen_replied".to_owned()])
                .bind(None::<String>)
        },
    )
    .await;
    assert!(
        plan.iter().any(|line| line.contains("on citizens")),
        "{plan:#?}"
    );
    assert!(
        !plan
            .iter()
            .any(|line| line.contains("Seq Scan on citizens")),
        "{plan:#?}"
    );
}

#[tokio::test]
async fn an_inbox_counts_and_pages_the_unread_without_reading_what_was_read() {
    let platform = Platform::start().await;
    let urban = staff(&platform, "urban-a").await;
    let number = dispatched(&platform, "citizen-1").await;
    // A busy agency's months: thousands of tasks the staff member was told of and has read.
    let mut db = platform.db.acquire().await.expect("a connection");
    tests::execute_all(
        &mut db,
        &[
            "insert into notifications (recipient, kind, title, body, dedupe_key, created_at, read_at) \
             select 'urban-a', 'task_new', '新工单', '请办理', 'months:' || g, \
                    now() - g * interval '1 hour', now() - g * interval '1 hour' + interval '5 minutes' \
             from generate_series(1, 5000) g",
            "analyze notifications",
        ],
        "the months",
    )
    .await;

    let unread = urban.notifications(None, true).await.expect("unread");
    assert_eq!((unread.items.len(), unread.unread), (1, 1));
    assert_eq!(
        unread.items[0].tracking_number.as_deref(),
        Some(number.as_str())
    );
    assert_eq!(unread.next_cursor, None);
    let all = urban.notifications(None, false).await.expect("all");
    assert_eq!((all.items.len(), all.unread), (20, 1));
    assert!(all.next_cursor.is_some());

    // The count and the page of the unread read the unread alone.
    let page = order_store::inbox::page(true);
    for plan in [
        tests::plan(&mut db, order_store::inbox::UNREAD, None, |query| {
            query.bind("urban-a")
        })
        .await,
        tests::plan(&mut db, &page, None, |query| {
            query
                .bind("urban-a")
                .bind(None::<chrono::DateTime<chrono::Utc>>)
                .bind(None::<uuid::Uuid>)
                .bind(21_i64)
        })
        .await,
    ] {
        assert!(tests::most_rows_read(&plan) <= 10, "{plan:#?}");
    }
}

#[tokio::test]
async fn supervisors_list_deliveries_by_status_reading_only_the_page() {
    let platform = Platform::start().await;
    // The outbox's months: thousands of messages sent, a few dead, a few dropped.
    let mut db = platform.db.acquire().await.expect("a connection");
    tests::execute_all(
        &mut db,
        &[
            "insert into notifications (recipient, kind, title, body, dedupe_key, created_at) \
             select 'urban-a', 'task_new', '新工单', '请办理', 'months:' || g, \
                    now() - g * interval '1 hour' \
             from generate_series(1, 3000) g",
            "insert into notification_deliveries (notification_id, channel, address, status, \
                                                  attempts, created_at, sent_at, dedupe_key) \
             select notification_id, 'fcm', 'fcm-token-' || dedupe_key, \
                    case when created_at > now() - interval '100 hours' \
                              and extract(hour from created_at)::int % 10 = 0 then 'dead' \
                         when created_at > now() - interval '100 hours' \
                              and extract(hour from created_at)::int % 10 = 5 then 'dropped' \
                         else 'sent' end, \
                    1, created_at, created_at, 'delivery:' || dedupe_key \
             from notifications where dedupe_key like 'months:%'",
            "analyze notifications, notification_deliveries",
        ],
        "the months",
    )
    .await;
    let expected: Vec<(String, i64)> = sqlx::query_as(
        "select status, count(*) from notification_deliveries group by 1 order by 1",
    )
    .fetch_all(&mut *db)
    .await
    .expect("counted");

    let supervisor = platform.client("supervisor-1", "supervisor");
    for (status, count) in &expected {
        let items = supervisor.deliveries(status).await.expect("a page").items;
        assert_eq!(items.len() as i64, (*count).min(100), "{status}");
        assert!(items.iter().all(|item| item.status == *status), "{status}");
        assert!(
            items.windows(2).all(|w| w[0].created_at >= w[1].created_at),
            "{status}: newest first"
        );
        // The page's deliveries alone are read (each notification by its key, or the few
        // thousand by hash, as PostgreSQL expects to cost less).
        let plan = tests::plan(&mut db, order_store::outbox::DELIVERIES, None, |query| {
            query.bind(status.clone()).bind(100_i64)
        })
        .await;
        let deliveries: Vec<String> = plan
            .iter()
            .filter(|line| line.contains("on notification_deliveries"))
            .cloned()
            .collect();
        assert!(
            !deliveries.is_empty()
                && deliveries.iter().all(|line| !line.contains("Seq Scan"))
                && tests::most_rows_read(&deliveries) <= 101,
            "{status}: {plan:#?}"
        );
    }
    assert_eq!(
        expected
            .iter()
            .map(|(status, _)| status.as_str())
            .collect::<Vec<_>>(),
        ["dead", "dropped", "sent"]
    );
}

#[tokio::test]
async fn the_inbox_is_marked_read_at_once_up_to_the_newest_the_app_showed() {
    let platform = Platform::start().await;
    let urban = staff(&platform, "urban-a").await;
    for citizen in ["citizen-1", "citizen-2", "citizen-3"] {
        dispatched(&platform, citizen).await;
    }
    let page = urban.notifications(None, false).await.expect("a page");
    assert_eq!((page.items.len(), page.unread), (3, 3));

    // The app showed the two older ones; the newest came after: it stays unread.
    let marked = urban
        .mark_all_read(Some(page.items[1].id))
        .await
        .expect("marked");
    assert_eq!((marked.marked, marked.unread), (2, 1));
    let unread = urban.notifications(None, true).await.expect("unread");
    assert_eq!(
        unread.items.iter().map(|n| n.id).collect::<Vec<_>>(),
        [page.items[0].id]
    );
    let again = urban
        .mark_all_read(Some(page.items[1].id))
        .await
        .expect("again");
    assert_eq!((again.marked, again.unread), (0, 1));

    // Someone else's notification, or none such: 404, and nothing is marked.
    let citizen = platform.client("citizen-1", "citizen");
    let theirs = citizen.notifications(None, false).await.expect("theirs");
    let citizens_unread = theirs.unread;
    assert!(citizens_unread > 0);
    for through in [theirs.items[0].id, uuid::Uuid::new_v4()] {
        let refused = urban
            .mark_all_read(Some(through))
            .await
            .expect_err("not theirs");
        assert_eq!(
            (refused.status(), refused.code()),
            (Some(404), Some("not_found"))
        );
    }
    // Not JSON, or `through` not an id: 400 and 422, nothing marked.
    let token = platform
        .keys
        .token_for("urban-a", "agency_staff", Some(URBAN));
    for (body, status, code) in [
        ("not json", 400, "malformed_json"),
        (r#"{"through": "yesterday"}"#, 422, "validation_failed"),
    ] {
        let response = reqwest::Client::new()
            .post(platform.url("/api/v1/notifications/read"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), status, "{body}");
        let answer: serde_json::Value = response.json().await.expect("json");
        assert_eq!(answer["error"]["code"], code, "{body}");
    }
    assert_eq!(
        urban
            .notifications(None, true)
            .await
            .expect("unread")
            .unread,
        1
    );

    // Everything, and only the caller's.
    let all = urban.mark_all_read(None).await.expect("all");
    assert_eq!((all.marked, all.unread), (1, 0));
    assert_eq!(
        citizen
            .notifications(None, false)
            .await
            .expect("theirs")
            .unread,
        citizens_unread
    );
}
