//! Filing a request, following it, listing it.

use tests::{ClientError, Platform, valid_request};

#[tokio::test]
async fn a_citizen_files_tracks_and_lists_a_request() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");

    let filed = citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    assert_eq!(filed.status, "received");
    assert_eq!(filed.status_label, "已受理");
    assert_eq!(filed.category.name, "路灯");
    assert_eq!(
        filed.location.district.as_ref().map(|d| d.name.as_str()),
        Some("驿城区")
    );
    assert_eq!(filed.contact_phone_masked.as_deref(), Some("138****8000"));
    assert!(
        filed.tracking_number.starts_with("ZMD-"),
        "{}",
        filed.tracking_number
    );
    assert_eq!(filed.timeline.len(), 1);

    let by_id = citizen
        .get_request(&filed.id.to_string())
        .await
        .expect("by id");
    let by_number = citizen
        .get_request(&filed.tracking_number)
        .await
        .expect("by tracking number");
    assert_eq!(by_id, filed);
    assert_eq!(by_number, filed);
    assert_eq!(
        by_id.timeline[0].description,
        "您的诉求已受理，我们会尽快派给承办单位"
    );

    let page = citizen.list_requests(None, None).await.expect("list");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].tracking_number, filed.tracking_number);

    let (orders, events): (i64, i64) = sqlx::query_as(
        "select (select count(*) from work_orders), (select count(*) from work_order_events where event = 'received')",
    )
    .fetch_one(&platform.db)
    .await
    .expect("counts");
    assert_eq!(
        (orders, events),
        (1, 1),
        "the order and its first event are written together"
    );
}

/// A client that streams its body sends it in chunks, with no length declared; the gateway
/// sees no `transfer-encoding` (`wasi:http` hands components no hop-by-hop header) and must
/// still read the body rather than take the request for an empty one.
#[tokio::test]
async fn a_request_sent_in_chunks_is_filed_whole() {
    let platform = Platform::start().await;
    let body = serde_json::to_vec(&valid_request()).expect("json");
    let token = platform.keys.token("citizen-1", "citizen");
    let (status, answer) = platform
        .post_chunked("/api/v1/requests", &token, &body, 100)
        .await
        .expect("an answer");
    assert_eq!(status, 201, "{answer}");
    let filed: mobile_api::WorkOrder = serde_json::from_str(&answer).expect("a work order");
    assert_eq!(filed.title, valid_request().title);
    let mine = platform
        .client("citizen-1", "citizen")
        .list_requests(None, None)
        .await
        .expect("listed");
    assert_eq!(mine.items.len(), 1);
}

#[tokio::test]
async fn urgent_requests_say_they_are_on_the_fast_channel() {
    let platform = Platform::start().await;
    let mut request = valid_request();
    request.urgent = true;
    let filed = platform
        .client("citizen-1", "citizen")
        .create_request(&request, None)
        .await
        .expect("filed");
    assert!(filed.urgent);
    assert!(
        filed.timeline[0].description.contains("快速通道"),
        "{}",
        filed.timeline[0].description
    );
}

#[tokio::test]
async fn lists_are_newest_first_and_paged_by_cursor() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    let mut numbers = Vec::new();
    for i in 0..5 {
        let mut request = valid_request();
        request.title = format!("第{i}个诉求");
        numbers.push(
            citizen
                .create_request(&request, None)
                .await
                .expect("filed")
                .tracking_number,
        );
    }
    numbers.reverse();

    let first = citizen.list_requests(None, Some(2)).await.expect("page 1");
    let second = citizen
        .list_requests(first.next_cursor.as_deref(), Some(2))
        .await
        .expect("page 2");
    let third = citizen
        .list_requests(second.next_cursor.as_deref(), Some(2))
        .await
        .expect("page 3");
    let seen: Vec<String> = [&first, &second, &third]
        .iter()
        .flat_map(|p| p.items.iter().map(|o| o.tracking_number.clone()))
        .collect();
    assert_eq!(seen, numbers);
    assert!(third.next_cursor.is_none());
}

#[tokio::test]
async fn a_replayed_request_with_the_same_key_creates_one_order() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    let request = valid_request();

    let first = citizen
        .create_request(&request, Some("retry-0001"))
        .await
        .expect("first");
    let replay = citizen
        .create_request(&request, Some("retry-0001"))
        .await
        .expect("replay");
    assert_eq!(replay, first, "a replay returns the first answer");

    let mut other = valid_request();
    other.title = "另一件事".into();
    let conflict = citizen
        .create_request(&other, Some("retry-0001"))
        .await
        .expect_err("a different body");
    assert_eq!(conflict.status(), Some(409));
    assert_eq!(conflict.code(), Some("idempotency_key_reused"));

    // Keys belong to their principal: another citizen's identical key is a new request.
    let neighbour = platform
        .client("citizen-2", "citizen")
        .create_request(&request, Some("retry-0001"))
        .await;
    assert_ne!(neighbour.expect("filed").id, first.id);

    let orders: i64 = sqlx::query_scalar("select count(*) from work_orders")
        .fetch_one(&platform.db)
        .await
        .expect("count");
    assert_eq!(orders, 2);
}

#[tokio::test]
async fn keys_older_than_a_week_are_forgotten_and_a_retry_under_one_files_anew() {
    let mut platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    let request = valid_request();
    let old = citizen
        .create_request(&request, Some("offline-0001"))
        .await
        .expect("filed a week ago");
    let recent = citizen
        .create_request(&request, Some("offline-0002"))
        .await
        .expect("filed today");
    sqlx::query(
        "update idempotency_keys set created_at = now() - interval '169 hours' \
         where idempotency_key = 'offline-0001'",
    )
    .execute(&platform.db)
    .await
    .expect("a week passes");
    // The schedule runs at start (and every hour).
    platform.crash_and_restart().await.expect("restarted");
    let mut kept: Vec<String> = Vec::new();
    for _ in 0..100 {
        kept = sqlx::query_scalar("select idempotency_key from idempotency_keys order by 1")
            .fetch_all(&platform.db)
            .await
            .expect("the keys");
        if kept.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(kept, ["offline-0002"]);
    let citizen = platform.client("citizen-1", "citizen");
    let anew = citizen
        .create_request(&request, Some("offline-0001"))
        .await
        .expect("filed anew");
    assert_ne!(anew.id, old.id);
    let replay = citizen
        .create_request(&request, Some("offline-0002"))
        .await
        .expect("replayed");
    assert_eq!(replay, recent);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_order() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    let request = valid_request();
    // All sent before any is awaited (collected: a lazy iterator would send them one by one).
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let citizen = citizen.clone();
            let request = request.clone();
            tokio::spawn(async move { citizen.create_request(&request, Some("burst-1")).await })
        })
        .collect();
    let mut ids = Vec::new();
    for attempt in attempts {
        ids.push(
            attempt
                .await
                .expect("task")
                .expect("every attempt answers 201")
                .id,
        );
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every attempt saw the same order");
    let orders: i64 = sqlx::query_scalar("select count(*) from work_orders")
        .fetch_one(&platform.db)
        .await
        .expect("count");
    assert_eq!(orders, 1);
}

#[tokio::test]
async fn another_citizens_order_is_not_found() {
    let platform = Platform::start().await;
    let owner = platform.client("citizen-1", "citizen");
    let filed = owner
        .create_request(&valid_request(), None)
        .await
        .expect("filed");

    let stranger = platform.client("citizen-2", "citizen");
    for id in [filed.id.to_string(), filed.tracking_number.clone()] {
        let error = stranger.get_request(&id).await.expect_err("not theirs");
        assert_eq!(error.status(), Some(404), "{id}");
        assert_eq!(error.code(), Some("not_found"));
    }
    assert!(
        stranger
            .list_requests(None, None)
            .await
            .expect("list")
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn operators_file_phone_requests_and_citizens_cannot() {
    let platform = Platform::start().await;
    let mut request = valid_request();
    request.channel = mobile_api::Channel::Phone;

    let filed = platform
        .client("operator-1", "operator")
        .create_request(&request, None)
        .await
        .expect("filed");
    assert_eq!(filed.channel, mobile_api::Channel::Phone);

    let refused = platform
        .client("citizen-1", "citizen")
        .create_request(&request, None)
        .await
        .expect_err("refused");
    assert_eq!(refused.status(), Some(422));
    let ClientError::Api { envelope, .. } = refused else {
        panic!("an API error")
    };
    assert_eq!(envelope.error.fields[0].field, "channel");
}
