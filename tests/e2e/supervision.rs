//! Supervision: the live board of open orders and the overdue list, through the gateway.

use mobile_api::OrderAction;
use tests::{Platform, valid_request};

const URBAN: &str = "city-urban-management";
const EDUCATION: &str = "city-education";

/// Files an order as `citizen`, has the centre dispatch it to `agency`, and sets its deadline to
/// `deadline` (SQL, as time passing would).
async fn held_by(platform: &Platform, citizen: &str, agency: &str, deadline: &str) -> String {
    let filed = platform
        .client(citizen, "citizen")
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let number = filed.tracking_number;
    platform
        .client("operator-1", "operator")
        .act(
            &number,
            "dispatch",
            &OrderAction {
                agency: Some(agency.into()),
                ..Default::default()
            },
        )
        .await
        .expect("dispatched");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "update work_orders set deadline_at = {deadline} where tracking_number = $1"
    )))
    .bind(&number)
    .execute(&platform.db)
    .await
    .expect("a deadline");
    number
}

fn note(text: &str) -> OrderAction {
    OrderAction {
        note: Some(text.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn supervisors_see_what_is_open_and_overdue_by_agency_and_district_and_press_it() {
    let platform = Platform::start().await;
    let long_overdue = held_by(&platform, "citizen-1", URBAN, "now() - interval '2 days'").await;
    let just_overdue = held_by(&platform, "citizen-2", URBAN, "now() - interval '1 hour'").await;
    let due_soon = held_by(&platform, "citizen-3", URBAN, "now() + interval '5 hours'").await;
    let _in_time = held_by(
        &platform,
        "citizen-4",
        EDUCATION,
        "now() + interval '5 days'",
    )
    .await;
    // One waiting for the centre to dispatch it.
    platform
        .client("citizen-5", "citizen")
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let supervisor = platform.client("supervisor-1", "supervisor");
    let operator = platform.client("operator-1", "operator");
    supervisor
        .act(&long_overdue, "supervise", &note("请两日内办结并报告"))
        .await
        .expect("supervised");
    for _ in 0..2 {
        operator
            .act(&just_overdue, "remind", &note("市民再次来电"))
            .await
            .expect("urged");
    }

    // The board by agency: the most overdue first; the city's total is the sum.
    let board = supervisor.supervision_board(&[]).await.expect("board");
    assert_eq!(board.group_by, "agency");
    assert_eq!(board.waiting_dispatch, 1);
    let groups: Vec<(&str, i64, i64, i64, i64)> = board
        .groups
        .iter()
        .map(|g| {
            let c = &g.counts;
            (
                g.group.code.as_str(),
                c.open,
                c.overdue,
                c.due_soon,
                c.supervised,
            )
        })
        .collect();
    assert_eq!(groups, [(URBAN, 3, 2, 1, 1), (EDUCATION, 1, 0, 0, 0)]);
    assert_eq!(board.groups[0].group.name, "市城市管理局");
    assert_eq!(
        (board.total.open, board.total.overdue, board.total.due_soon),
        (4, 2, 1)
    );
    let oldest = board.total.overdue_since.expect("something is overdue");
    let since = board.as_of - oldest;
    assert!(
        since > chrono::Duration::hours(47) && since < chrono::Duration::hours(49),
        "the longest overdue for two days: {since}"
    );
    assert_eq!(board.groups[1].counts.overdue_since, None);

    // By district: every order was filed in 驿城区.
    let by_district = supervisor
        .supervision_board(&[("group_by", "district")])
        .await
        .expect("by district");
    assert_eq!(by_district.groups.len(), 1);
    assert_eq!(by_district.groups[0].group.code, "yicheng");
    assert_eq!(by_district.groups[0].counts, board.total);

    // The overdue list: longest first, with the supervision and the urgings.
    let overdue = operator.overdue_orders(&[]).await.expect("overdue");
    let listed: Vec<(&str, bool, i64)> = overdue
        .items
        .iter()
        .map(|o| {
            (
                o.tracking_number.as_str(),
                o.supervised_at.is_some(),
                o.reminders,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (long_overdue.as_str(), true, 0),
            (just_overdue.as_str(), false, 2)
        ]
    );
    assert!(overdue.items[0].overdue_seconds >= 2 * 86_400 - 60);
    assert_eq!(overdue.items[0].agency.code, URBAN);
    assert_eq!(
        overdue.items[0].district.as_ref().map(|d| d.code.as_str()),
        Some("yicheng")
    );
    assert_eq!(overdue.next_cursor, None);
    assert!(!listed.iter().any(|(n, ..)| *n == due_soon));

    // A page at a time, and by agency.
    let first = operator
        .overdue_orders(&[("limit", "1")])
        .await
        .expect("first page");
    assert_eq!(first.items[0].tracking_number, long_overdue);
    let cursor = first.next_cursor.expect("more");
    let second = operator
        .overdue_orders(&[("limit", "1"), ("cursor", cursor.as_str())])
        .await
        .expect("second page");
    assert_eq!(second.items[0].tracking_number, just_overdue);
    assert_eq!(second.next_cursor, None);
    let none = operator
        .overdue_orders(&[("agency", EDUCATION)])
        .await
        .expect("by agency");
    assert!(none.items.is_empty());

    // Once answered, an order is off the list and the board.
    let urban = platform.agency_client("urban-a", URBAN);
    for action in ["sign", "contact"] {
        urban
            .act(&just_overdue, action, &OrderAction::default())
            .await
            .expect(action);
    }
    urban
        .act(
            &just_overdue,
            "reply",
            &OrderAction {
                result: Some("已修复".into()),
                ..Default::default()
            },
        )
        .await
        .expect("replied");
    let after = supervisor.supervision_board(&[]).await.expect("board");
    assert_eq!((after.total.open, after.total.overdue), (3, 1));
    let overdue = operator.overdue_orders(&[]).await.expect("overdue");
    assert_eq!(overdue.items.len(), 1);
}

#[tokio::test]
async fn the_board_and_the_overdue_list_refuse_bad_questions_and_other_roles() {
    let platform = Platform::start().await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    let refused = |result: Result<_, mobile_api::client::ClientError>| {
        let error = result.expect_err("refused");
        (error.status(), error.code().map(str::to_owned))
    };
    assert_eq!(
        refused(
            supervisor
                .supervision_board(&[("group_by", "category")])
                .await
                .map(|_| ())
        ),
        (Some(422), Some("validation_failed".into()))
    );
    for query in [
        [("agency", "no-such-agency")],
        [("district", "atlantis")],
        [("limit", "0")],
    ] {
        assert_eq!(
            refused(supervisor.overdue_orders(&query).await.map(|_| ())),
            (Some(422), Some("validation_failed".into())),
            "{query:?}"
        );
    }
    assert_eq!(
        refused(
            supervisor
                .overdue_orders(&[("cursor", "not-a-cursor")])
                .await
                .map(|_| ())
        ),
        (Some(400), Some("invalid_cursor".into()))
    );
    // Agency staff have their task lists; citizens their own requests.
    let staff = platform.agency_client("urban-a", URBAN);
    assert_eq!(
        refused(staff.supervision_board(&[]).await.map(|_| ())),
        (Some(403), Some("forbidden".into()))
    );
    let citizen = platform.client("citizen-1", "citizen");
    assert_eq!(
        refused(citizen.overdue_orders(&[]).await.map(|_| ())),
        (Some(403), Some("forbidden".into()))
    );
    // A city leader reads the board.
    let leader = platform.client("leader-1", "leader");
    let board = leader
        .supervision_board(&[])
        .await
        .expect("leaders read it");
    assert!(board.groups.is_empty());
    assert_eq!(board.total, mobile_api::BoardCounts::default());
}
