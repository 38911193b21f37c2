//! Places and duplicates: districts and grids resolved from coordinates (PostGIS), requests of
//! the same kind nearby, following them, merging duplicates, the catalogue by grid and keyword,
//! operators filing calls, and loading real boundaries from GeoJSON.

use mobile_api::{Channel, NewDispatchRule, OrderAction};
use tests::{ClientError, Platform, valid_request};

/// Downtown Zhumadian, inside the shipped approximate 驿城区.
const DOWNTOWN: (f64, f64) = (32.9802, 114.0227);
/// About 30 m north of it (0.00027° of latitude).
const THIRTY_M_NORTH: (f64, f64) = (32.98047, 114.0227);
/// 西平县's county seat.
const XIPING: (f64, f64) = (33.38, 114.02);

fn error_of<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, String, Vec<String>) {
    let error = result.expect_err("refused");
    let status = error.status().unwrap_or(0);
    match error {
        ClientError::Api { envelope, .. } => (
            status,
            envelope.error.code,
            envelope
                .error
                .fields
                .into_iter()
                .map(|f| format!("{}:{}", f.field, f.code))
                .collect(),
        ),
        other => panic!("not an API error: {other:?}"),
    }
}

fn at((lat, lng): (f64, f64)) -> mobile_api::CreateRequest {
    let mut request = valid_request();
    request.location.lat = Some(lat);
    request.location.lng = Some(lng);
    request.location.district = None;
    request.location.address = None;
    request
}

#[tokio::test]
async fn coordinates_decide_the_district_and_grid() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");

    let downtown = citizen
        .create_request(&at(DOWNTOWN), None)
        .await
        .expect("filed");
    assert_eq!(
        downtown.location.district.as_ref().map(|d| d.code.as_str()),
        Some("yicheng")
    );
    let grid = downtown.location.grid.clone().expect("a downtown grid");
    assert!(grid.code.starts_with("yicheng-"), "{grid:?}");
    assert!(grid.name.starts_with("驿城区示范网格"), "{grid:?}");

    // Coordinates win over the district the citizen chose.
    let mut chose_wrong = at(XIPING);
    chose_wrong.location.district = Some("yicheng".into());
    let xiping = citizen
        .create_request(&chose_wrong, None)
        .await
        .expect("filed");
    assert_eq!(xiping.location.district.expect("district").name, "西平县");
    assert_eq!(xiping.location.grid, None, "no grids are drawn there");

    // An address without coordinates keeps the chosen district.
    let mut address_only = valid_request();
    address_only.location.lat = None;
    address_only.location.lng = None;
    address_only.location.district = Some("runan".into());
    let runan = citizen
        .create_request(&address_only, None)
        .await
        .expect("filed");
    assert_eq!(runan.location.district.expect("district").code, "runan");

    // Coordinates outside the city fall in no district: the chosen one stands.
    let mut beijing = at((39.9042, 116.4074));
    beijing.location.district = Some("suiping".into());
    let outside = citizen.create_request(&beijing, None).await.expect("filed");
    assert_eq!(outside.location.district.expect("district").code, "suiping");

    // The citizen's detail view shows the same.
    let read = citizen
        .get_request(&downtown.tracking_number)
        .await
        .expect("read");
    assert_eq!(read.location.grid, Some(grid));
}

#[tokio::test]
async fn citizens_find_the_same_problem_nearby_and_follow_it() {
    let platform = Platform::start().await;
    let first = platform.client("citizen-1", "citizen");
    let second = platform.client("citizen-2", "citizen");
    let filed = first
        .create_request(&at(DOWNTOWN), None)
        .await
        .expect("filed");
    let mut secret = at(DOWNTOWN);
    secret.confidential = true;
    let confidential = first.create_request(&secret, None).await.expect("filed");

    let (lat, lng) = THIRTY_M_NORTH;
    let near = second
        .nearby(lat, lng, "urban.streetlight", None)
        .await
        .expect("nearby");
    assert_eq!(
        near.items.len(),
        1,
        "the confidential order is never listed"
    );
    let found = &near.items[0];
    assert_eq!(found.tracking_number, filed.tracking_number);
    assert!(
        (25.0..35.0).contains(&found.distance_m),
        "about 30 m: {}",
        found.distance_m
    );
    assert_eq!(found.followers, 0);
    assert!(
        second
            .nearby(lat, lng, "urban.manhole", None)
            .await
            .expect("nearby")
            .items
            .is_empty(),
        "another category"
    );
    let (far_lat, far_lng) = (DOWNTOWN.0 + 0.0045, DOWNTOWN.1); // about 500 m
    assert!(
        second
            .nearby(far_lat, far_lng, "urban.streetlight", None)
            .await
            .expect("nearby")
            .items
            .is_empty()
    );
    assert_eq!(
        second
            .nearby(far_lat, far_lng, "urban.streetlight", Some(1000.0))
            .await
            .expect("nearby")
            .items
            .len(),
        1
    );

    // Following: listed as followed, without the reporter's contact.
    let followed = second
        .follow(&filed.tracking_number)
        .await
        .expect("followed");
    assert!(followed.following);
    assert_eq!(followed.contact_phone_masked, None);
    second
        .follow(&filed.tracking_number)
        .await
        .expect("again: no change");
    let list = second.list_requests(None, None).await.expect("list");
    assert_eq!(list.items.len(), 1);
    assert!(list.items[0].following);
    let read = second
        .get_request(&filed.id.to_string())
        .await
        .expect("read");
    assert!(read.following);
    assert!(!read.timeline.is_empty());
    assert_eq!(
        second
            .nearby(lat, lng, "urban.streetlight", None)
            .await
            .expect("nearby")
            .items[0]
            .followers,
        1
    );
    // The reporter still sees their own, with their contact.
    let own = first
        .get_request(&filed.tracking_number)
        .await
        .expect("own");
    assert!(!own.following);
    assert!(own.contact_phone_masked.is_some());

    assert_eq!(
        error_of(first.follow(&filed.tracking_number).await).1,
        "cannot_follow"
    );
    assert_eq!(
        error_of(second.follow(&confidential.tracking_number).await).0,
        404
    );
    assert_eq!(error_of(second.follow("ZMD-20261128-999999").await).0, 404);
    assert_eq!(
        error_of(
            platform
                .client("operator-1", "operator")
                .follow(&filed.tracking_number)
                .await
        )
        .0,
        403,
        "following is for citizens"
    );

    second
        .unfollow(&filed.tracking_number)
        .await
        .expect("unfollowed");
    second
        .unfollow(&filed.tracking_number)
        .await
        .expect("again: no error");
    assert!(
        second
            .list_requests(None, None)
            .await
            .expect("list")
            .items
            .is_empty()
    );
    assert_eq!(
        error_of(second.get_request(&filed.tracking_number).await).0,
        404
    );
}

#[tokio::test]
async fn bad_nearby_questions_are_clear() {
    let platform = Platform::start().await;
    for query in [
        "lng=114.02&category=urban.streetlight",
        "lat=abc&lng=114.02&category=urban.streetlight",
        "lat=91&lng=114.02&category=urban.streetlight",
        "lat=32.98&lng=114.02",
        "lat=32.98&lng=114.02&category=no.such",
        "lat=32.98&lng=114.02&category=urban.streetlight&radius=5000",
        "lat=NaN&lng=114.02&category=urban.streetlight",
    ] {
        let response = reqwest::Client::new()
            .get(platform.url(&format!("/api/v1/requests/nearby?{query}")))
            .bearer_auth(platform.keys.token("citizen-1", "citizen"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 422, "{query}");
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "validation_failed", "{query}");
    }
}

#[tokio::test]
async fn merged_duplicates_follow_the_open_order() {
    let platform = Platform::start().await;
    let first = platform.client("citizen-1", "citizen");
    let second = platform.client("citizen-2", "citizen");
    let operator = platform.client("operator-1", "operator");
    let parent = first
        .create_request(&at(DOWNTOWN), None)
        .await
        .expect("filed");
    let child = second
        .create_request(&at(THIRTY_M_NORTH), None)
        .await
        .expect("filed");

    let suggestions = operator
        .duplicates(&child.tracking_number)
        .await
        .expect("duplicates");
    assert_eq!(
        suggestions
            .items
            .iter()
            .map(|o| o.tracking_number.as_str())
            .collect::<Vec<_>>(),
        [parent.tracking_number.as_str()],
        "the order itself is not its own duplicate"
    );
    assert_eq!(
        error_of(second.duplicates(&child.tracking_number).await).0,
        403,
        "the centre's tool"
    );

    let into = |target: &str| OrderAction {
        into: Some(target.to_owned()),
        ..OrderAction::default()
    };
    assert_eq!(
        error_of(
            operator
                .act(
                    &child.tracking_number,
                    "merge",
                    &into(&child.tracking_number)
                )
                .await
        )
        .1,
        "merge_target_invalid"
    );
    assert_eq!(
        error_of(
            operator
                .act(
                    &child.tracking_number,
                    "merge",
                    &into("ZMD-20261128-999999")
                )
                .await
        )
        .2,
        ["into:unknown_order"]
    );
    let closed = first
        .create_request(&at(DOWNTOWN), None)
        .await
        .expect("filed");
    operator
        .act(
            &closed.tracking_number,
            "close_direct",
            &OrderAction {
                answer: Some("已答复".into()),
                ..OrderAction::default()
            },
        )
        .await
        .expect("closed");
    assert_eq!(
        error_of(
            operator
                .act(
                    &child.tracking_number,
                    "merge",
                    &into(&closed.tracking_number)
                )
                .await
        )
        .1,
        "merge_target_invalid"
    );
    // Refusals changed nothing.
    assert_eq!(
        operator
            .order(&child.tracking_number)
            .await
            .expect("order")
            .status,
        "received"
    );

    let merged = operator
        .act(
            &child.tracking_number,
            "merge",
            &into(&parent.tracking_number),
        )
        .await
        .expect("merged");
    assert_eq!(merged.status, "merged");
    assert_eq!(
        merged.merged_into.as_deref(),
        Some(parent.tracking_number.as_str())
    );

    let seen = second
        .get_request(&child.tracking_number)
        .await
        .expect("child");
    assert_eq!(
        seen.merged_into.as_deref(),
        Some(parent.tracking_number.as_str())
    );
    assert!(seen.timeline.iter().any(|e| e.event == "merged"));
    let list = second.list_requests(None, None).await.expect("list");
    let followed: Vec<_> = list.items.iter().filter(|o| o.following).collect();
    assert_eq!(followed.len(), 1);
    assert_eq!(followed[0].tracking_number, parent.tracking_number);
    let parent_seen = second
        .get_request(&parent.tracking_number)
        .await
        .expect("parent");
    assert!(parent_seen.following);
    assert_eq!(parent_seen.contact_phone_masked, None);
    // A merged order is no longer a duplicate to suggest.
    assert!(
        operator
            .duplicates(&parent.tracking_number)
            .await
            .expect("duplicates")
            .items
            .is_empty()
    );
}

/// Returns once a statement of the platform's waits for a lock on an order (up to 10 s).
async fn until_a_lock_is_waited_for(platform: &Platform) {
    tests::until_counted(
        &platform.db,
        "select count(*) from pg_stat_activity where wait_event_type = 'Lock' \
         and datname = current_database() and query like '%from work_orders %'",
        "a statement of the platform's to wait for a lock on an order",
    )
    .await;
}

/// Two operators merging the same pair of duplicates in opposite directions at once: a merge locks
/// both orders before reading either, always the one with the lower tracking number first, so
/// neither holds what the other waits for. And where a request's transaction is ended all the
/// same to break a deadlock (here with one the test holds), it is answered 503
/// `database_unavailable` with `Retry-After`, not 500, and goes through when sent again.
#[tokio::test]
async fn merges_of_one_pair_wait_for_each_other_and_a_deadlocks_loser_is_told_to_retry() {
    let platform = Platform::start().await;
    let first = platform.client("citizen-1", "citizen");
    let second = platform.client("citizen-2", "citizen");
    let operator = platform.client("operator-1", "operator");
    let mut numbers = Vec::new();
    for _ in 0..2 {
        for (citizen, place) in [(&first, DOWNTOWN), (&second, THIRTY_M_NORTH)] {
            let filed = citizen
                .create_request(&at(place), None)
                .await
                .expect("filed");
            numbers.push(filed.tracking_number);
        }
    }
    assert!(numbers.is_sorted(), "{numbers:?}");
    let into = |target: &str| OrderAction {
        into: Some(target.to_owned()),
        ..OrderAction::default()
    };
    const FOR_UPDATE: &str = "select 1 from work_orders where tracking_number = $1 for update";
    const FOR_SHARE: &str = "select 1 from work_orders where tracking_number = $1 for share";
    const NOWAIT: &str = "select 1 from work_orders where tracking_number = $1 for update nowait";

    // Another merge of the pair, the other way round, holds the earlier order (as it would
    // first): the later one is not taken while this one waits.
    let (earlier, later) = (&numbers[0], &numbers[1]);
    let mut other_merge = platform.db.begin().await.expect("a transaction");
    sqlx::query(FOR_UPDATE)
        .bind(earlier)
        .execute(&mut *other_merge)
        .await
        .expect("locked");
    let action = into(earlier);
    let (merged, ()) = tokio::join!(operator.act(later, "merge", &action), async {
        until_a_lock_is_waited_for(&platform).await;
        sqlx::query(NOWAIT)
            .bind(later)
            .execute(&platform.db)
            .await
            .expect("the later order is free while the merge waits for the earlier");
        other_merge.rollback().await.expect("released");
    });
    let merged = merged.expect("merged once the other let go");
    assert_eq!(merged.merged_into.as_deref(), Some(earlier.as_str()));

    // A deadlock all the same: the test holds the later order and, once the merge holds the
    // earlier and waits for the later, asks for the earlier. PostgreSQL ends the transaction that
    // waited first, the merge's.
    let (earlier, later) = (&numbers[2], &numbers[3]);
    let mut holder = platform.db.begin().await.expect("a transaction");
    sqlx::query(FOR_UPDATE)
        .bind(later)
        .execute(&mut *holder)
        .await
        .expect("locked");
    let action = into(later);
    let (refused, ()) = tokio::join!(operator.act(earlier, "merge", &action), async {
        until_a_lock_is_waited_for(&platform).await;
        sqlx::query(FOR_SHARE)
            .bind(earlier)
            .execute(&mut *holder)
            .await
            .expect("the earlier order, once the merge gave it up");
    });
    holder.rollback().await.expect("released");
    let error = refused.expect_err("the deadlock's loser");
    assert_eq!(error.status(), Some(503), "{error:?}");
    match error {
        tests::ClientError::Api {
            envelope,
            retry_after,
            ..
        } => {
            assert_eq!(envelope.error.code, "database_unavailable");
            assert_eq!(retry_after, Some(5));
        }
        other => panic!("not an API error: {other:?}"),
    }
    let order = operator.order(earlier).await.expect("order");
    assert_eq!(order.status, "received", "nothing of the merge stayed");
    let merged = operator
        .act(earlier, "merge", &into(later))
        .await
        .expect("merged when sent again");
    assert_eq!(merged.merged_into.as_deref(), Some(later.as_str()));
}

#[tokio::test]
async fn operators_file_calls_with_the_number_they_came_in_on() {
    let platform = Platform::start().await;
    let operator = platform.client("operator-1", "operator");
    let mut call = valid_request();
    call.channel = Channel::Phone;
    call.contact_phone = "13912345678".into();
    call.hotline_number = Some("12315".into());
    let filed = operator.create_request(&call, None).await.expect("filed");
    let staff_view = operator.order(&filed.tracking_number).await.expect("order");
    assert_eq!(staff_view.hotline_number.as_deref(), Some("12315"));
    assert_eq!(staff_view.channel, Channel::Phone);

    call.hotline_number = None;
    let second_call = operator.create_request(&call, None).await.expect("filed");
    assert_eq!(
        operator
            .order(&second_call.tracking_number)
            .await
            .expect("order")
            .hotline_number
            .as_deref(),
        Some("12345")
    );
    // Both calls belong to the caller, known by phone number, not to the operator.
    let owners: Vec<(String, Option<String>)> = sqlx::query_as(
        "select distinct ci.subject, ci.phone from work_orders o join citizens ci using (citizen_id)",
    )
    .fetch_all(&platform.db)
    .await
    .expect("owners");
    assert_eq!(
        owners,
        [(
            "phone:13912345678".to_owned(),
            Some("13912345678".to_owned())
        )]
    );

    call.hotline_number = Some("99999".into());
    assert_eq!(
        error_of(operator.create_request(&call, None).await).2,
        ["hotline_number:unknown_hotline_number"]
    );
    let mut app_call = valid_request();
    app_call.hotline_number = Some("12345".into());
    assert_eq!(
        error_of(
            platform
                .client("citizen-1", "citizen")
                .create_request(&app_call, None)
                .await
        )
        .2,
        ["hotline_number:field_not_allowed"]
    );
    app_call.hotline_number = None;
    assert_eq!(
        error_of(operator.create_request(&app_call, None).await).2,
        ["channel:channel_not_allowed"]
    );
}

#[tokio::test]
async fn the_catalogue_dispatches_by_grid_and_keyword() {
    let platform = Platform::start().await;
    let admin = platform.client("admin-1", "admin");
    let citizen = platform.client("citizen-1", "citizen");
    let probe = citizen
        .create_request(&at(DOWNTOWN), None)
        .await
        .expect("filed");
    assert_eq!(probe.status, "received", "no rule yet");
    let grid = probe.location.grid.expect("a grid").code;

    let rule =
        |grid: Option<&str>, district: Option<&str>, keywords: Option<Vec<&str>>, agency: &str| {
            NewDispatchRule {
                category: "urban.streetlight".into(),
                district: district.map(str::to_owned),
                grid: grid.map(str::to_owned),
                keywords: keywords.map(|words| words.into_iter().map(str::to_owned).collect()),
                agency: agency.into(),
            }
        };
    admin
        .create_dispatch_rule(&rule(None, Some("yicheng"), None, "gov-yicheng"))
        .await
        .expect("district rule");
    let by_grid = admin
        .create_dispatch_rule(&rule(Some(&grid), None, None, "city-urban-management"))
        .await
        .expect("grid rule");
    assert_eq!(
        by_grid.grid.as_ref().map(|g| g.code.as_str()),
        Some(grid.as_str())
    );
    let by_keyword = admin
        .create_dispatch_rule(&rule(
            None,
            None,
            Some(vec![" 高压 ", "变压器", "高压", "10kV"]),
            "utility-power",
        ))
        .await
        .expect("keyword rule");
    assert_eq!(
        by_keyword.keywords,
        Some(vec![
            "10kV".to_owned(),
            "变压器".to_owned(),
            "高压".to_owned()
        ]),
        "trimmed, without repeats, sorted"
    );

    let agency_of = |order: &mobile_api::WorkOrder| order.tracking_number.clone();
    let in_grid = citizen
        .create_request(&at(DOWNTOWN), None)
        .await
        .expect("filed");
    let staff = platform.client("operator-1", "operator");
    let holder = |tracking: String| {
        let staff = staff.clone();
        async move {
            staff
                .order(&tracking)
                .await
                .expect("order")
                .agency
                .map(|a| a.code)
        }
    };
    assert_eq!(
        holder(agency_of(&in_grid)).await.as_deref(),
        Some("city-urban-management")
    );

    let mut outside_grid = at((32.90, 113.90));
    outside_grid.location.district = None;
    let district_only = citizen
        .create_request(&outside_grid, None)
        .await
        .expect("filed");
    assert_eq!(
        district_only
            .location
            .district
            .as_ref()
            .map(|d| d.code.as_str()),
        Some("yicheng")
    );
    assert_eq!(district_only.location.grid, None);
    assert_eq!(
        holder(agency_of(&district_only)).await.as_deref(),
        Some("gov-yicheng")
    );

    let mut with_keyword = at(DOWNTOWN);
    with_keyword.description = "路灯旁的高压线垂得很低，路灯也不亮。".into();
    let keyword = citizen
        .create_request(&with_keyword, None)
        .await
        .expect("filed");
    assert_eq!(
        holder(agency_of(&keyword)).await.as_deref(),
        Some("utility-power")
    );
    // A keyword is found in any case and width, as staff search finds words.
    with_keyword.description = "路灯杆旁的１０ＫＶ线路掉下来了，路灯也不亮。".into();
    let wide = citizen
        .create_request(&with_keyword, None)
        .await
        .expect("filed");
    assert_eq!(
        holder(agency_of(&wide)).await.as_deref(),
        Some("utility-power")
    );

    // Refused: both a district and a grid, an unknown grid, empty keywords; the same rule twice.
    assert_eq!(
        error_of(
            admin
                .create_dispatch_rule(&rule(Some(&grid), Some("yicheng"), None, "gov-yicheng"))
                .await
        )
        .2,
        ["grid:district_or_grid"]
    );
    assert_eq!(
        error_of(
            admin
                .create_dispatch_rule(&rule(Some("no-such-grid"), None, None, "gov-yicheng"))
                .await
        )
        .2,
        ["grid:unknown_grid"]
    );
    assert_eq!(
        error_of(
            admin
                .create_dispatch_rule(&rule(None, None, Some(vec![" "]), "gov-yicheng"))
                .await
        )
        .2,
        ["keywords:invalid_value"]
    );
    assert_eq!(
        error_of(
            admin
                .create_dispatch_rule(&rule(
                    None,
                    None,
                    Some(vec!["高压", "10kV", "变压器"]),
                    "gov-yicheng"
                ))
                .await
        )
        .1,
        "rule_exists"
    );
    let changes = admin.dispatch_rule_changes().await.expect("changes");
    assert_eq!(
        changes.items[0].rule["keywords"],
        serde_json::json!(["10kV", "变压器", "高压"])
    );
}

#[tokio::test]
async fn real_boundaries_load_from_geojson_in_one_transaction() {
    let platform = Platform::start().await;
    let dir = tempdir();
    let square = |lng: f64, lat: f64| {
        serde_json::json!({"type": "Polygon", "coordinates": [[
            [lng, lat], [lng + 0.01, lat], [lng + 0.01, lat + 0.01], [lng, lat + 0.01], [lng, lat]
        ]]})
    };
    let good = dir.join("grids.geojson");
    std::fs::write(
        &good,
        serde_json::json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "jiefang-01", "name": "解放路社区网格"},
             "geometry": square(114.02, 32.975)}
        ]})
        .to_string(),
    )
    .expect("written");
    let bad = dir.join("bad.geojson");
    std::fs::write(
        &bad,
        serde_json::json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "fine-01"}, "geometry": square(114.0, 32.9)},
            {"type": "Feature", "properties": {"code": "x"}, "geometry": {"type": "Point", "coordinates": [114.0, 32.9]}}
        ]})
        .to_string(),
    )
    .expect("written");
    let import = |file: &std::path::Path, kind: &str| {
        std::process::Command::new(tests::hotline_binary())
            .args(["places", "import"])
            .arg(file)
            .args(["--kind", kind, "--migrations"])
            .arg(tests::workspace_root().join("migrations"))
            .env("DATABASE_URL", platform.database_url())
            .output()
            .expect("ran")
    };
    let out = import(&good, "grid");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = import(&bad, "grid");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("feature 2 of 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = import(&good, "district");
    assert!(!out.status.success(), "no district is called jiefang-01");

    let grids: Vec<(String, String, String)> = sqlx::query_as(
        "select grid_id, district_id, boundary_source from grids where boundary_source <> 'approximate'",
    )
    .fetch_all(&platform.db)
    .await
    .expect("grids");
    assert_eq!(
        grids,
        [(
            "jiefang-01".into(),
            "yicheng".into(),
            "grids.geojson".into()
        )],
        "the bad file changed nothing"
    );
    // The real grid wins over the demo one it overlaps.
    let filed = platform
        .client("citizen-1", "citizen")
        .create_request(&at((32.98, 114.025)), None)
        .await
        .expect("filed");
    assert_eq!(filed.location.grid.expect("grid").name, "解放路社区网格");
}

fn tempdir() -> std::path::PathBuf {
    let dir = tests::workspace_root()
        .join("target/test-data/runs")
        .join(format!("geojson-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("a folder");
    dir
}
