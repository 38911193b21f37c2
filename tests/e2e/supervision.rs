//! Supervision: the live board of open orders and the overdue list, through the gateway.

use mobile_api::OrderAction;
use tests::{Options, Platform, valid_request};

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
    dispatched(platform, &number, agency).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "update work_orders set deadline_at = {deadline} where tracking_number = $1"
    )))
    .bind(&number)
    .execute(&platform.db)
    .await
    .expect("a deadline");
    number
}

/// The centre dispatches the order to `agency`.
async fn dispatched(platform: &Platform, number: &str, agency: &str) {
    platform
        .client("operator-1", "operator")
        .act(
            number,
            "dispatch",
            &OrderAction {
                agency: Some(agency.into()),
                ..Default::default()
            },
        )
        .await
        .expect("dispatched");
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

/// Files a request as `citizen` (the app) and moves its filing time to `at` (SQL).
async fn filed_at(platform: &Platform, citizen: &str, at: &str) -> String {
    let number = platform
        .client(citizen, "citizen")
        .create_request(&valid_request(), None)
        .await
        .expect("filed")
        .tracking_number;
    refiled(platform, &number, at).await;
    number
}

async fn refiled(platform: &Platform, number: &str, at: &str) {
    sqlx::query("update work_orders set created_at = $2::timestamptz where tracking_number = $1")
        .bind(number)
        .bind(at)
        .execute(&platform.db)
        .await
        .expect("filed then");
}

#[tokio::test]
async fn period_reports_count_what_came_in_what_became_of_it_and_the_figures() {
    let platform = Platform::start().await;
    let operator = platform.client("operator-1", "operator");
    // 10 November 2026, China time: four by the app and one call, one of them just before midnight.
    let with_agency = held_by(&platform, "citizen-1", URBAN, "now() + interval '3 days'").await;
    refiled(&platform, &with_agency, "2026-11-10 09:00+08").await;
    sqlx::query(
        "update work_orders set dispatched_at = '2026-11-10 10:00+08' where tracking_number = $1",
    )
    .bind(&with_agency)
    .execute(&platform.db)
    .await
    .expect("dispatched then");
    let answered = held_by(&platform, "citizen-2", URBAN, "now() + interval '3 days'").await;
    refiled(&platform, &answered, "2026-11-10 11:00+08").await;
    let urban = platform.agency_client("urban-a", URBAN);
    for (action, body) in [
        ("sign", OrderAction::default()),
        ("contact", OrderAction::default()),
        (
            "reply",
            OrderAction {
                result: Some("已修复".into()),
                ..Default::default()
            },
        ),
    ] {
        urban.act(&answered, action, &body).await.expect(action);
    }
    filed_at(&platform, "citizen-3", "2026-11-10 12:00+08").await;
    filed_at(&platform, "citizen-4", "2026-11-10 23:30+08").await;
    let mut call = valid_request();
    call.category = "consultation.policy".into();
    call.channel = mobile_api::Channel::Phone;
    let call = operator
        .create_request(&call, None)
        .await
        .expect("filed for a caller")
        .tracking_number;
    operator
        .act(
            &call,
            "close_direct",
            &OrderAction {
                answer: Some("已告知政策依据和办理渠道".into()),
                ..Default::default()
            },
        )
        .await
        .expect("answered by the centre");
    refiled(&platform, &call, "2026-11-10 15:00+08").await;
    // The next China day (still 10 November in UTC), and the day before.
    filed_at(&platform, "citizen-5", "2026-11-11 00:10+08").await;
    filed_at(&platform, "citizen-6", "2026-11-09 08:00+08").await;
    filed_at(&platform, "citizen-7", "2026-11-09 20:00+08").await;

    let supervisor = platform.client("supervisor-1", "supervisor");
    let day = supervisor
        .period_report(&[("period", "day"), ("date", "2026-11-10")])
        .await
        .expect("the day's report");
    assert_eq!(
        (
            day.title.as_str(),
            day.complete,
            day.received,
            day.received_before
        ),
        ("2026年11月10日", true, 5, 2)
    );
    let o = &day.outcomes;
    assert_eq!(
        (
            o.closed_by_centre,
            o.merged,
            o.waiting_dispatch,
            o.with_agency,
            o.answered
        ),
        (1, 0, 2, 1, 1)
    );
    let counted = |counts: &[mobile_api::ReportCount]| -> Vec<(String, String, i64, i64)> {
        counts
            .iter()
            .map(|c| {
                (
                    c.group.code.clone(),
                    c.group.name.clone(),
                    c.count,
                    c.count_before,
                )
            })
            .collect()
    };
    assert_eq!(
        counted(&day.by_channel),
        [
            ("app".into(), "App".into(), 4, 2),
            ("phone".into(), "电话".into(), 1, 0)
        ]
    );
    assert_eq!(
        counted(&day.top_categories),
        [
            ("urban".into(), "城市管理".into(), 4, 2),
            ("consultation".into(), "政策咨询".into(), 1, 0)
        ]
    );
    assert_eq!(day.top_districts[0].group.code, "yicheng");
    // The city's figures, as the KPI report gives them: one order dispatched that day, never
    // called back within 24 hours.
    let kpis = platform
        .client("supervisor-1", "supervisor")
        .kpis(&[("from", "2026-11-10"), ("to", "2026-11-10")])
        .await
        .expect("kpis");
    assert_eq!(day.kpis, kpis.total);
    assert_eq!(
        (day.kpis.response.numerator, day.kpis.response.denominator),
        (0, 1)
    );
    for said in [
        "2026年11月10日，全市 12345 热线共受理群众诉求 5 件，比前一日增加 150.0%（前一日 2 件）",
        "按渠道：App 4 件，电话 1 件",
        "其中中心直接办结 1 件，合并重复诉求 0 件，待派单 2 件，承办单位办理中 1 件，已答复 1 件",
        "诉求较多的类别：城市管理 4 件（增加 100.0%），政策咨询 1 件（上期无）",
        "本日按期办结率 无数据，响应率 0.00%（0/1）",
    ] {
        assert!(day.summary.contains(said), "{said} in {}", day.summary);
    }

    // The week (Monday 9 to Sunday 15 November) and the month.
    let week = supervisor
        .period_report(&[("period", "week"), ("date", "2026-11-10")])
        .await
        .expect("the week's report");
    assert_eq!(
        (week.from.to_string(), week.to.to_string()),
        ("2026-11-09".into(), "2026-11-15".into())
    );
    assert_eq!((week.received, week.received_before), (8, 0));
    assert!(
        week.summary.contains("共受理群众诉求 8 件，上周为 0 件。"),
        "{}",
        week.summary
    );
    let month = supervisor
        .period_report(&[("period", "month"), ("date", "2026-11-30")])
        .await
        .expect("the month's report");
    assert_eq!((month.title.as_str(), month.received), ("2026年11月", 8));

    // By default: yesterday's, with nothing in it here.
    let yesterday = supervisor.period_report(&[]).await.expect("yesterday");
    assert_eq!((yesterday.period.as_str(), yesterday.received), ("day", 0));
    assert!(
        yesterday.summary.contains("未受理群众诉求"),
        "{}",
        yesterday.summary
    );
}

#[tokio::test]
async fn the_days_report_counts_knowledge_answers_leader_day_calls_and_key_supervision() {
    let platform = Platform::start().await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    let operator = platform.client("operator-1", "operator");
    let article = supervisor
        .create_knowledge_article(&mobile_api::KnowledgeArticleInput {
            title: "社保卡丢失如何补办".into(),
            answer: "请先拨打 12333 挂失，再携带身份证到社保卡服务网点补办。".into(),
            category: Some("social".into()),
            agency: None,
            keywords: vec!["社保卡".into()],
            internal: false,
        })
        .await
        .expect("an article");
    let day = supervisor
        .schedule_leader_day(&leader_day(
            chrono::Duration::hours(-1),
            chrono::Duration::hours(4),
            "市长",
        ))
        .await
        .expect("today's");
    let mut call = valid_request();
    call.channel = mobile_api::Channel::Phone;
    // Answered from the knowledge base; taken by the mayor; one an agency holds, pressed hard.
    let answered = operator
        .create_request(&call, None)
        .await
        .expect("filed")
        .tracking_number;
    operator
        .act(
            &answered,
            "close_direct",
            &OrderAction {
                article: Some(article.id),
                ..Default::default()
            },
        )
        .await
        .expect("answered from the article");
    operator
        .create_request(
            &mobile_api::CreateRequest {
                leader_day: Some(day.id),
                ..call.clone()
            },
            None,
        )
        .await
        .expect("the mayor's call");
    let pressed = held_by(&platform, "citizen-1", URBAN, "now() + interval '1 day'").await;
    supervisor
        .act(&pressed, "key_supervise", &note("群众反映强烈"))
        .await
        .expect("key supervision");

    let report = todays_report(&supervisor).await;
    assert_eq!(
        (
            report.received,
            report.outcomes.closed_by_centre,
            report.answered_from_knowledge,
            report.on_leader_days,
            report.key_supervised,
            report.key_supervised_before
        ),
        (3, 1, 1, 1, 1, 0)
    );
    for said in [
        "其中中心直接办结 1 件（知识库解答 1 件），",
        "领导接听日受理 1 件。",
        "本日新列入重点督办 1 件（前一日 0 件）。",
    ] {
        assert!(
            report.summary.contains(said),
            "{said} in {}",
            report.summary
        );
    }
}

/// Today's report (China time), as `client` reads it.
async fn todays_report(client: &tests::Client) -> mobile_api::PeriodReport {
    let today = (chrono::Utc::now() + chrono::Duration::hours(8))
        .date_naive()
        .to_string();
    client
        .period_report(&[("period", "day"), ("date", today.as_str())])
        .await
        .expect("today's report")
}

#[tokio::test]
async fn period_reports_refuse_bad_periods_and_dates() {
    let platform = Platform::start().await;
    let leader = platform.client("leader-1", "leader");
    let after_tomorrow = (chrono::Utc::now() + chrono::Duration::hours(8 + 48))
        .date_naive()
        .to_string();
    for query in [
        [("period", "year")],
        [("date", "2026-13-01")],
        [("date", after_tomorrow.as_str())],
    ] {
        let refused = leader.period_report(&query).await.expect_err("refused");
        assert_eq!(
            (refused.status(), refused.code()),
            (Some(422), Some("validation_failed")),
            "{query:?}"
        );
    }
    let staff = platform.agency_client("urban-a", URBAN);
    let refused = staff
        .period_report(&[])
        .await
        .expect_err("not for agencies");
    assert_eq!(refused.status(), Some(403));
}

/// Files a request as `citizen` of `category` at (`lat`, `lng`) (none: an address only), and
/// gives the grid it fell in.
async fn filed_in(
    platform: &Platform,
    citizen: &str,
    category: &str,
    place: Option<(f64, f64)>,
) -> (String, Option<String>) {
    let mut request = valid_request();
    request.category = category.into();
    request.location.lat = place.map(|(lat, _)| lat);
    request.location.lng = place.map(|(_, lng)| lng);
    let number = platform
        .client(citizen, "citizen")
        .create_request(&request, None)
        .await
        .expect("filed")
        .tracking_number;
    let grid = grid_of(platform, &number).await;
    (number, grid)
}

/// The grid an order fell in.
async fn grid_of(platform: &Platform, number: &str) -> Option<String> {
    sqlx::query_scalar("select grid_id from work_orders where tracking_number = $1")
        .bind(number)
        .fetch_one(&platform.db)
        .await
        .expect("its grid")
}

#[tokio::test]
async fn hot_spots_and_the_risk_map_show_where_requests_gather_and_orders_go_unresolved() {
    let platform = Platform::start().await;
    // Grid A: three streetlights out (one of them dispatched and two days overdue), a damaged
    // road, and one streetlight ten days ago; grids B and C one request each (C's water supply
    // dispatched at once by the catalogue); one by address only.
    let a = (32.9802, 114.0227);
    let overdue = held_by(&platform, "citizen-1", URBAN, "now() - interval '2 days'").await;
    for citizen in ["citizen-2", "citizen-3"] {
        filed_in(&platform, citizen, "urban.streetlight", Some(a)).await;
    }
    let (_, grid_a) = filed_in(&platform, "citizen-4", "urban.road-damage", Some(a)).await;
    let (old, _) = filed_in(&platform, "citizen-5", "urban.streetlight", Some(a)).await;
    sqlx::query(
        "update work_orders set created_at = now() - interval '10 days' where tracking_number = $1",
    )
    .bind(&old)
    .execute(&platform.db)
    .await
    .expect("filed ten days ago");
    let (_, grid_b) = filed_in(
        &platform,
        "citizen-6",
        "urban.road-damage",
        Some((32.9902, 114.0427)),
    )
    .await;
    let (_, grid_c) = filed_in(
        &platform,
        "citizen-7",
        "utilities.water-supply",
        Some((32.9752, 114.0027)),
    )
    .await;
    filed_in(&platform, "citizen-8", "urban.streetlight", None).await;
    let grid_a = grid_a.expect("A is in a grid");
    let (grid_b, grid_c) = (grid_b.expect("B too"), grid_c.expect("C too"));
    assert!(grid_a != grid_b && grid_b != grid_c && grid_a != grid_c);
    assert_eq!(
        grid_of(&platform, &overdue).await.as_deref(),
        Some(grid_a.as_str())
    );

    // By grid, the last 7 days: A scores 4 requests + 3 × 1 overdue = 7 against a mean of 3
    // (7, 1 and 1): high; B and C low. The one by address only is in no grid.
    let leader = platform.client("leader-1", "leader");
    let spots = leader.hotspots(&[]).await.expect("hot spots");
    assert_eq!((spots.scope.by.as_str(), spots.scope.days), ("grid", 7));
    assert_eq!(spots.scope.to - spots.scope.from, chrono::Duration::days(7));
    assert!(spots.scope.formula.contains("风险分"));
    let rows: Vec<(&str, i64, i64, i64, i64, i64, &str)> = spots
        .places
        .iter()
        .map(|p| {
            let c = &p.counts;
            (
                p.place.code.as_str(),
                c.received,
                c.received_before,
                c.open,
                c.overdue,
                p.score,
                p.level.as_str(),
            )
        })
        .collect();
    let mut quiet = [
        (grid_b.as_str(), 1, 0, 0, 0, 1, "low"),
        // Water supply goes straight to the water company (the dispatch catalogue): open.
        (grid_c.as_str(), 1, 0, 1, 0, 1, "low"),
    ];
    quiet.sort();
    assert_eq!(
        rows,
        [(grid_a.as_str(), 4, 1, 1, 1, 7, "high"), quiet[0], quiet[1]]
    );
    let hot = &spots.places[0];
    assert_eq!(hot.level_label, "高风险");
    assert_eq!(
        hot.district.as_ref().map(|d| d.name.as_str()),
        Some("驿城区")
    );
    let top: Vec<(&str, i64)> = hot
        .top_categories
        .iter()
        .map(|c| (c.category.code.as_str(), c.count))
        .collect();
    assert_eq!(top, [("urban.streetlight", 3), ("urban.road-damage", 1)]);
    assert_eq!(hot.top_categories[0].category.name, "路灯");
    let (lat, lng) = (hot.lat.expect("a marker"), hot.lng.expect("a marker"));
    assert!(
        (lat - a.0).abs() < 0.02 && (lng - a.1).abs() < 0.02,
        "{lat}, {lng}"
    );
    assert_eq!(
        spots.unplaced,
        mobile_api::PlaceCounts {
            received: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        (
            spots.city.received,
            spots.city.received_before,
            spots.city.open,
            spots.city.overdue
        ),
        (7, 1, 2, 1)
    );

    // By district: every one is in 驿城区, alone, so the mean is its own score (10): medium.
    let districts = leader
        .hotspots(&[("by", "district"), ("days", "30")])
        .await
        .expect("by district");
    assert_eq!(districts.places.len(), 1);
    let yicheng = &districts.places[0];
    assert_eq!(yicheng.place.code, "yicheng");
    assert_eq!((yicheng.counts.received, yicheng.score), (8, 11));
    assert_eq!(yicheng.level, "medium");
    assert_eq!(districts.unplaced, mobile_api::PlaceCounts::default());

    // One kind of problem: a top-level category counts the ones under it.
    let urban = leader
        .hotspots(&[("category", "urban")])
        .await
        .expect("urban");
    assert_eq!(
        urban.scope.category.as_ref().map(|c| c.code.as_str()),
        Some("urban")
    );
    assert_eq!(urban.city.received, 6);
    let roads = leader
        .hotspots(&[("category", "urban.road-damage")])
        .await
        .expect("roads");
    let roads: Vec<(&str, i64, i64)> = roads
        .places
        .iter()
        .map(|p| (p.place.code.as_str(), p.counts.received, p.counts.open))
        .collect();
    let mut expected = [(grid_a.as_str(), 1, 0), (grid_b.as_str(), 1, 0)];
    expected.sort();
    assert_eq!(roads, expected);

    // The risk map: every grid, as GeoJSON, in the list's order.
    let response = reqwest::Client::new()
        .get(platform.url("/api/v1/supervision/risk-map"))
        .bearer_auth(platform.keys.token("leader-1", "leader"))
        .send()
        .await
        .expect("the map");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/geo+json",
        "a map library reads it as GeoJSON"
    );
    let map: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(map["type"], "FeatureCollection");
    let grids: i64 = sqlx::query_scalar("select count(*) from grids")
        .fetch_one(&platform.db)
        .await
        .expect("grids");
    let features = map["features"].as_array().expect("features");
    assert_eq!(features.len() as i64, grids);
    assert_eq!(features[0]["type"], "Feature");
    assert_eq!(features[0]["id"], grid_a.as_str());
    assert_eq!(features[0]["properties"]["level"], "high");
    let shape = features[0]["geometry"]["type"].as_str().expect("a shape");
    assert!(shape == "Polygon" || shape == "MultiPolygon", "{shape}");
    let quiet_levels: Vec<&str> = features[3..]
        .iter()
        .map(|f| f["properties"]["level"].as_str().expect("a level"))
        .collect();
    assert!(quiet_levels.iter().all(|level| *level == "low"));
    let typed = leader.risk_map(&[("by", "district")]).await.expect("typed");
    assert_eq!(typed.features[0].id, "yicheng");
    let districts: i64 = sqlx::query_scalar("select count(*) from districts")
        .fetch_one(&platform.db)
        .await
        .expect("districts");
    assert_eq!(typed.features.len() as i64, districts);
}

#[tokio::test]
async fn hot_spots_refuse_bad_questions_and_other_roles() {
    let platform = Platform::start().await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    for (query, field) in [
        (("by", "province"), "by"),
        (("days", "0"), "days"),
        (("days", "91"), "days"),
        (("days", "a week"), "days"),
        (("category", "no-such-category"), "category"),
    ] {
        let error = supervisor.hotspots(&[query]).await.expect_err("refused");
        assert_eq!(
            (error.status(), error.code()),
            (Some(422), Some("validation_failed")),
            "{query:?}"
        );
        let mobile_api::client::ClientError::Api { envelope, .. } = &error else {
            panic!("an envelope");
        };
        let fields: Vec<&str> = envelope
            .error
            .fields
            .iter()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(fields, [field], "{query:?}");
        let map = supervisor.risk_map(&[query]).await.expect_err("refused");
        assert_eq!(map.status(), Some(422), "{query:?}");
    }
    let staff = platform.agency_client("urban-a", URBAN);
    assert_eq!(
        staff.hotspots(&[]).await.expect_err("refused").status(),
        Some(403)
    );
    let citizen = platform.client("citizen-1", "citizen");
    assert_eq!(
        citizen.risk_map(&[]).await.expect_err("refused").status(),
        Some(403)
    );
}

fn leader_day(
    starts_in: chrono::Duration,
    lasts: chrono::Duration,
    title: &str,
) -> mobile_api::NewLeaderDay {
    let starts_at = chrono::Utc::now() + starts_in;
    // A leader has one day at a time: each title is a person of their own.
    let name = match title {
        "市长" => "王明",
        "副市长" => "李华",
        "市住房和城乡建设局局长" => "张伟",
        "西平县县长" => "赵刚",
        _ => "陈静",
    };
    mobile_api::NewLeaderDay {
        leader_name: name.into(),
        leader_title: title.into(),
        agency: None,
        starts_at,
        ends_at: starts_at + lasts,
    }
}

#[tokio::test]
async fn calls_a_leader_took_on_their_answering_day_are_followed_up_with_priority() {
    let platform = Platform::start().await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    let today = supervisor
        .schedule_leader_day(&leader_day(
            chrono::Duration::hours(-1),
            chrono::Duration::hours(4),
            "市长",
        ))
        .await
        .expect("today's");
    let next_week = supervisor
        .schedule_leader_day(&leader_day(
            chrono::Duration::days(7),
            chrono::Duration::hours(4),
            "市住房和城乡建设局局长",
        ))
        .await
        .expect("next week's");
    assert!(today.active && !next_week.active);
    assert_eq!(
        platform.audited("leader_day_scheduled").await,
        [
            ("supervisor-1".to_owned(), Some(next_week.id.to_string())),
            ("supervisor-1".to_owned(), Some(today.id.to_string()))
        ]
    );

    // The operators see which day is under way, and name it for the calls its leader takes.
    let operator = platform.client("operator-1", "operator");
    let days = operator.leader_days().await.expect("the days");
    let listed: Vec<(i64, bool)> = days.items.iter().map(|d| (d.id, d.active)).collect();
    assert_eq!(listed, [(next_week.id, false), (today.id, true)]);
    let mut call = valid_request();
    call.channel = mobile_api::Channel::Phone;
    let taken = operator
        .create_request(
            &mobile_api::CreateRequest {
                leader_day: Some(today.id),
                ..call.clone()
            },
            None,
        )
        .await
        .expect("a call the mayor took");
    let ordinary = operator
        .create_request(&call, None)
        .await
        .expect("an ordinary call");
    // The caller reads that a leader took the call; the staff read which leader.
    let said: Vec<(&str, &str)> = taken
        .timeline
        .iter()
        .map(|t| (t.event.as_str(), t.description.as_str()))
        .collect();
    assert_eq!(
        said[..2],
        [
            ("received", "您的诉求已受理，我们会尽快派给承办单位"),
            (
                "taken_by_leader",
                "您的来电在领导接听日由领导亲自受理，将优先跟进办理"
            )
        ]
    );
    let history = operator
        .order(&taken.tracking_number)
        .await
        .expect("the staff view")
        .history;
    assert!(
        history
            .iter()
            .any(|h| h.event == "taken_by_leader" && h.note.as_deref() == Some("市长王明")),
        "{history:?}"
    );
    assert!(
        ordinary
            .timeline
            .iter()
            .all(|t| t.event != "taken_by_leader"),
        "an ordinary call says nothing of leaders"
    );
    for (who, request, field_code) in [
        (
            &operator,
            mobile_api::CreateRequest {
                leader_day: Some(next_week.id),
                ..call.clone()
            },
            "not_active",
        ),
        (
            &platform.client("citizen-1", "citizen"),
            mobile_api::CreateRequest {
                leader_day: Some(today.id),
                ..valid_request()
            },
            "field_not_allowed",
        ),
    ] {
        let error = who
            .create_request(&request, None)
            .await
            .expect_err("refused");
        let mobile_api::client::ClientError::Api { envelope, .. } = &error else {
            panic!("an envelope: {error:?}");
        };
        let fields: Vec<(&str, &str)> = envelope
            .error
            .fields
            .iter()
            .map(|f| (f.field.as_str(), f.code.as_str()))
            .collect();
        assert_eq!(fields, [("leader_day", field_code)]);
    }

    // Dispatched, the mayor's call is under supervision at once; the ordinary one is not.
    for number in [&taken.tracking_number, &ordinary.tracking_number] {
        dispatched(&platform, number, URBAN).await;
    }
    let staff = platform.agency_client("urban-a", URBAN);
    let order = staff
        .order(&taken.tracking_number)
        .await
        .expect("the order");
    assert!(order.supervised_at.is_some());
    let leader = order.leader_day.expect("the mayor's");
    assert_eq!(
        (leader.id, leader.leader_title.as_str()),
        (today.id, "市长")
    );
    let plain = staff
        .order(&ordinary.tracking_number)
        .await
        .expect("the other");
    assert!(plain.supervised_at.is_none() && plain.leader_day.is_none());

    // The day's line: what became of its requests, and the overdue among them.
    sqlx::query(
        "update work_orders set deadline_at = now() - interval '1 hour' where tracking_number = $1",
    )
    .bind(&taken.tracking_number)
    .execute(&platform.db)
    .await
    .expect("overdue");
    let days = platform
        .client("leader-1", "leader")
        .leader_days()
        .await
        .expect("the days");
    let line = days
        .items
        .iter()
        .find(|d| d.id == today.id)
        .expect("today's line");
    assert_eq!(
        (line.received, line.outcomes.with_agency, line.overdue),
        (1, 1, 1)
    );
    let empty = days
        .items
        .iter()
        .find(|d| d.id == next_week.id)
        .expect("next week's");
    assert_eq!((empty.received, empty.overdue), (0, 0));
}

#[tokio::test]
async fn a_leader_day_is_cancelled_before_it_ends_while_no_call_names_it() {
    let platform = Platform::start().await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    let operator = platform.client("operator-1", "operator");
    let hour = chrono::Duration::hours(1);
    let mut days = Vec::new();
    for (starts_in, title) in [
        (chrono::Duration::days(7), "市长"),
        (-hour, "副市长"),
        (-hour, "市住房和城乡建设局局长"),
        (hour, "西平县县长"),
    ] {
        days.push(
            supervisor
                .schedule_leader_day(&leader_day(starts_in, hour * 4, title))
                .await
                .expect("scheduled"),
        );
    }
    let (next_week, named, unnamed, over) = (&days[0], &days[1], &days[2], &days[3]);
    let mut call = valid_request();
    call.channel = mobile_api::Channel::Phone;
    let on_day = |day: i64| mobile_api::CreateRequest {
        leader_day: Some(day),
        ..call.clone()
    };
    operator
        .create_request(&on_day(named.id), None)
        .await
        .expect("a call the deputy mayor took");
    // The county head's day has passed, as time would have it.
    sqlx::query(
        "update leader_days set starts_at = now() - interval '1 day', ends_at = now() - interval '20 hours' \
         where leader_day_id = $1",
    )
    .bind(over.id)
    .execute(&platform.db)
    .await
    .expect("over");

    let cancelled = supervisor
        .cancel_leader_day(next_week.id)
        .await
        .expect("cancelled");
    assert_eq!(cancelled.cancelled_by.as_deref(), Some("supervisor-1"));
    assert!(cancelled.cancelled_at.is_some() && !cancelled.active);
    let again = supervisor
        .cancel_leader_day(next_week.id)
        .await
        .expect("cancelled already");
    assert_eq!(again, cancelled, "a retry answers it as it is");
    let now_cancelled = supervisor
        .cancel_leader_day(unnamed.id)
        .await
        .expect("cancelled while under way");
    assert!(!now_cancelled.active);
    let error = operator
        .create_request(&on_day(unnamed.id), None)
        .await
        .expect_err("no longer named");
    assert_eq!(error.status(), Some(422));
    for day in [named, over] {
        let error = supervisor
            .cancel_leader_day(day.id)
            .await
            .expect_err("in use or over");
        assert_eq!(
            (error.status(), error.code()),
            (Some(409), Some("leader_day_in_use")),
            "{}",
            day.leader_title
        );
    }
    assert_eq!(
        supervisor
            .cancel_leader_day(424242)
            .await
            .expect_err("no such day")
            .status(),
        Some(404)
    );
    assert_eq!(
        operator
            .cancel_leader_day(named.id)
            .await
            .expect_err("not the operators' call")
            .status(),
        Some(403)
    );
    let listed: Vec<(i64, bool)> = supervisor
        .leader_days()
        .await
        .expect("the days")
        .items
        .iter()
        .map(|d| (d.id, d.cancelled_at.is_some()))
        .collect();
    assert_eq!(
        listed,
        [
            (next_week.id, true),
            (unnamed.id, true),
            (named.id, false),
            (over.id, false)
        ]
    );
    assert_eq!(
        platform.audited("leader_day_cancelled").await,
        [
            ("supervisor-1".to_owned(), Some(unnamed.id.to_string())),
            ("supervisor-1".to_owned(), Some(next_week.id.to_string()))
        ]
    );
}

/// A cancellation under way when a call is filed: the filing, having found the day under way
/// before its transaction, waits for the cancellation inside it and is then refused, and no order
/// names the cancelled day.
#[tokio::test]
async fn a_call_filed_while_its_leader_day_is_cancelled_is_refused_not_recorded() {
    let platform = Platform::start().await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    let hour = chrono::Duration::hours(1);
    let day = supervisor
        .schedule_leader_day(&leader_day(-hour, hour * 4, "副市长"))
        .await
        .expect("scheduled");
    // The cancellation takes the day's row first, as the endpoint does.
    let mut cancelling = platform.db.begin().await.expect("a transaction");
    sqlx::query("select 1 from leader_days where leader_day_id = $1 for update")
        .bind(day.id)
        .execute(&mut *cancelling)
        .await
        .expect("locked");
    let mut call = valid_request();
    call.channel = mobile_api::Channel::Phone;
    call.leader_day = Some(day.id);
    let operator = platform.client("operator-1", "operator");
    let filing = tokio::spawn(async move { operator.create_request(&call, None).await });
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(!filing.is_finished(), "the filing waits for the day");
    sqlx::query(
        "update leader_days set cancelled_at = now(), cancelled_by = 'supervisor-1' \
         where leader_day_id = $1",
    )
    .bind(day.id)
    .execute(&mut *cancelling)
    .await
    .expect("cancelled");
    cancelling.commit().await.expect("committed");
    let error = filing
        .await
        .expect("the filing ended")
        .expect_err("the day is cancelled");
    assert_eq!(error.status(), Some(422));
    assert!(format!("{error:?}").contains("leader_day"), "{error:?}");
    let named: i64 =
        sqlx::query_scalar("select count(*) from work_orders where leader_day_id = $1")
            .bind(day.id)
            .fetch_one(&platform.db)
            .await
            .expect("counted");
    assert_eq!(named, 0);
    let orders: i64 = sqlx::query_scalar("select count(*) from work_orders")
        .fetch_one(&platform.db)
        .await
        .expect("counted");
    assert_eq!(orders, 0, "nothing half-written");
}

/// Files `downtown` streetlight requests in 驿城区 today, and in 西平县 `county.0` today and
/// `county.1` three days ago.
async fn file_for_surges(platform: &Platform, downtown: usize, county: (usize, usize)) {
    // The schedule runs once as the runtime starts, and then every five minutes. Filed after
    // that first run, the county's earlier requests are dated back before any run can count
    // them as today's (a loaded machine once ran it in the middle of the filing).
    let ran = |metrics: &std::collections::BTreeMap<String, f64>| {
        ["ok", "failed"]
            .iter()
            .filter_map(|outcome| {
                metrics.get(&format!(
                    "hotline_schedule_runs_total{{component=\"supervision\",route=\"/internal/early-warnings\",outcome=\"{outcome}\"}}"
                ))
            })
            .sum::<f64>()
            >= 1.0
    };
    for _ in 0..100 {
        if ran(&platform.metrics().await) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ran(&platform.metrics().await), "the schedule's first run");
    for n in 0..downtown {
        platform
            .client(&format!("citizen-{n}"), "citizen")
            .create_request(&valid_request(), None)
            .await
            .expect("filed downtown");
    }
    let mut request = valid_request();
    (request.location.lat, request.location.lng) = (None, None);
    request.location.district = Some("xiping".into());
    let mut earlier = Vec::new();
    for n in 0..county.0 + county.1 {
        let number = platform
            .client(&format!("villager-{n}"), "citizen")
            .create_request(&request, None)
            .await
            .expect("filed in the county")
            .tracking_number;
        if n < county.1 {
            earlier.push(number);
        }
    }
    sqlx::query(
        "update work_orders set created_at = now() - interval '3 days' where tracking_number = any($1)",
    )
    .bind(&earlier)
    .execute(&platform.db)
    .await
    .expect("filed days ago");
}

/// The early warnings, once the schedule's run at start has raised some (up to 10 s).
async fn warnings_raised(platform: &Platform) -> mobile_api::EarlyWarningList {
    let watcher = platform.client("operator-1", "operator");
    let mut list = watcher.early_warnings(&[]).await.expect("the warnings");
    for _ in 0..100 {
        if !list.items.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        list = watcher.early_warnings(&[]).await.expect("the warnings");
    }
    list
}

/// A city sets its own surge rule (`early_warning_floor`, `early_warning_factor`).
#[tokio::test]
async fn a_city_sets_its_own_surge_rule() {
    let mut platform = Platform::start_with(Options {
        variables: vec![
            ("SPIN_VARIABLE_EARLY_WARNING_FLOOR", "2".into()),
            ("SPIN_VARIABLE_EARLY_WARNING_FACTOR", "2".into()),
        ],
        ..Options::default()
    })
    .await
    .expect("platform");
    // 驿城区: two today, none before: a surge under this rule (not under the default five).
    // 西平县: two today against eight in the week before: not twice the daily average.
    file_for_surges(&platform, 2, (2, 8)).await;
    platform.crash_and_restart().await.expect("restarted");
    let list = warnings_raised(&platform).await;
    let raised: Vec<(&str, i64)> = list
        .items
        .iter()
        .map(|w| (w.district.code.as_str(), w.received))
        .collect();
    assert_eq!(raised, [("yicheng", 2)]);
    assert!(list.rule.contains("不少于 2 件"), "{}", list.rule);
    assert!(list.rule.contains("日均的 2 倍"), "{}", list.rule);
}

#[tokio::test]
async fn a_problem_surging_in_a_district_warns_every_supervisor_once_a_day() {
    let mut platform = Platform::start().await;
    let supervisor = platform.supervisor_account("supervisor-w").await;
    // 驿城区: five dark streetlights today and none before: a surge. 西平县: five today against
    // fourteen in the week before, two a day: not three times as many.
    file_for_surges(&platform, 5, (5, 14)).await;
    platform.crash_and_restart().await.expect("restarted");
    let list = warnings_raised(&platform).await;
    let items: Vec<(&str, &str, i64, i64)> = list
        .items
        .iter()
        .map(|w| {
            (
                w.category.code.as_str(),
                w.district.code.as_str(),
                w.received,
                w.received_before,
            )
        })
        .collect();
    assert_eq!(items, [("urban", "yicheng", 5, 0)]);
    assert!(list.rule.contains("不少于 5 件"), "{}", list.rule);
    // Each notice names its warning, for the app to open it.
    let told = || async {
        supervisor
            .notifications(None, false)
            .await
            .expect("inbox")
            .items
            .into_iter()
            .filter(|n| n.kind == "early_warning")
            .map(|n| (n.body, n.early_warning_id))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        told().await,
        [(
            "驿城区城市管理类诉求 24 小时内 5 件，前 7 日共 0 件，请关注研判。".to_owned(),
            Some(list.items[0].id)
        )]
    );

    // The day's report says so.
    let report = todays_report(&supervisor).await;
    assert_eq!(
        report.early_warnings,
        [mobile_api::RaisedWarning {
            what: "驿城区城市管理".into(),
            received: 5
        }]
    );
    assert!(
        report
            .summary
            .contains("本日发出诉求激增预警 1 次：驿城区城市管理（24 小时内 5 件）。"),
        "{}",
        report.summary
    );

    // Once a day: the next run finds the surge again and says nothing more.
    platform.crash_and_restart().await.expect("restarted again");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(warnings_raised(&platform).await.items.len(), 1);
    assert_eq!(told().await.len(), 1);

    // Narrowed to a span of days, a district, a top-level category.
    let today = list.items[0].warned_on.to_string();
    let tomorrow = (list.items[0].warned_on + chrono::Duration::days(1)).to_string();
    for (query, found) in [
        (vec![("from", today.as_str()), ("to", today.as_str())], 1),
        (vec![("from", tomorrow.as_str())], 0),
        (vec![("to", "2026-01-01")], 0),
        (vec![("district", "yicheng"), ("category", "urban")], 1),
        (vec![("district", "xiping")], 0),
    ] {
        let listed = supervisor
            .early_warnings(&query)
            .await
            .expect("the warnings");
        assert_eq!(
            (listed.items.len(), listed.more),
            (found, false),
            "{query:?}"
        );
    }
    for (query, field, code) in [
        (vec![("from", "2026-13-01")], "from", "invalid_date"),
        (
            vec![("from", today.as_str()), ("to", "2026-01-01")],
            "to",
            "before_from",
        ),
        (vec![("district", "atlantis")], "district", "unknown"),
        (vec![("category", "nonsense")], "category", "unknown"),
        (
            vec![("category", "urban.streetlight")],
            "category",
            "not_top_level",
        ),
    ] {
        let error = supervisor
            .early_warnings(&query)
            .await
            .expect_err("refused");
        assert_eq!(error.status(), Some(422), "{query:?}");
        let fields = error.fields();
        assert!(
            fields.iter().any(|f| f.field == field && f.code == code),
            "{query:?}: {fields:?}"
        );
    }
    let citizen = platform.client("citizen-1", "citizen");
    assert_eq!(
        citizen
            .early_warnings(&[])
            .await
            .expect_err("not theirs")
            .status(),
        Some(403)
    );
}

#[tokio::test]
async fn leader_days_refuse_bad_schedules_and_other_roles() {
    let platform = Platform::start().await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    let hour = chrono::Duration::hours(1);
    for (day, field) in [
        (leader_day(hour, -hour, "市长"), "ends_at"),
        (
            leader_day(hour, chrono::Duration::days(2), "市长"),
            "ends_at",
        ),
        (
            leader_day(chrono::Duration::days(-2), hour * 4, "市长"),
            "ends_at",
        ),
        (leader_day(hour, hour * 4, " "), "leader_title"),
        (
            mobile_api::NewLeaderDay {
                agency: Some("no-such-agency".into()),
                ..leader_day(hour, hour * 4, "局长")
            },
            "agency",
        ),
    ] {
        let error = supervisor
            .schedule_leader_day(&day)
            .await
            .expect_err("refused");
        let mobile_api::client::ClientError::Api {
            status, envelope, ..
        } = &error
        else {
            panic!("an envelope: {error:?}");
        };
        let fields: Vec<&str> = envelope
            .error
            .fields
            .iter()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!((*status, fields), (422, vec![field]), "{day:?}");
    }
    assert!(
        supervisor
            .leader_days()
            .await
            .expect("none")
            .items
            .is_empty(),
        "nothing half-written"
    );
    let operator = platform.client("operator-1", "operator");
    let error = operator
        .schedule_leader_day(&leader_day(hour, hour * 4, "市长"))
        .await
        .expect_err("not the operators' call");
    assert_eq!(error.status(), Some(403));
}

#[tokio::test]
async fn a_leader_has_one_answering_day_at_a_time() {
    let platform = Platform::start().await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    let hour = chrono::Duration::hours(1);
    let first = supervisor
        .schedule_leader_day(&leader_day(hour * 2, hour * 4, "市长"))
        .await
        .expect("scheduled");
    // The same leader over it, from either side or within: refused, and nothing written.
    for (starts_in, lasts) in [(hour, hour * 2), (hour * 5, hour * 3), (hour * 3, hour)] {
        let error = supervisor
            .schedule_leader_day(&leader_day(starts_in, lasts, "市长"))
            .await
            .expect_err("over the first");
        assert_eq!(
            (error.status(), error.code()),
            (Some(409), Some("leader_day_overlaps")),
            "{starts_in:?}"
        );
    }
    // Right after it, or another leader at the same time, is another day.
    supervisor
        .schedule_leader_day(&leader_day(hour * 6, hour * 2, "市长"))
        .await
        .expect("right after");
    supervisor
        .schedule_leader_day(&mobile_api::NewLeaderDay {
            leader_name: "李华".into(),
            ..leader_day(hour * 2, hour * 4, "副市长")
        })
        .await
        .expect("another leader");
    // Once the first is cancelled, its span is free again.
    supervisor
        .cancel_leader_day(first.id)
        .await
        .expect("cancelled");
    supervisor
        .schedule_leader_day(&leader_day(hour * 3, hour, "市长"))
        .await
        .expect("in the freed span");
    assert_eq!(
        supervisor
            .leader_days()
            .await
            .expect("the days")
            .items
            .len(),
        4
    );
}

#[tokio::test]
async fn a_problem_five_citizens_raise_comes_under_key_supervision() {
    let platform = Platform::start().await;
    platform.supervisor_account("supervisor-a").await;
    let file = async |citizen: &str| {
        platform
            .client(citizen, "citizen")
            .create_request(&valid_request(), None)
            .await
            .expect("filed")
            .tracking_number
    };
    let follow = async |citizen: &str, number: &str| {
        platform
            .client(citizen, "citizen")
            .follow(number)
            .await
            .expect("followed");
    };
    let staff = platform.agency_client("urban-a", URBAN);
    let key_supervised = async |number: &str| {
        let order = staff.order(number).await.expect("the order");
        order.key_supervised_at.is_some()
    };

    // With an agency: the fifth citizen to raise it (the filer and four followers) brings key
    // supervision, not the fourth.
    let held = file("citizen-1").await;
    dispatched(&platform, &held, URBAN).await;
    for citizen in ["citizen-2", "citizen-3", "citizen-4"] {
        follow(citizen, &held).await;
    }
    assert!(!key_supervised(&held).await, "four citizens");
    follow("citizen-5", &held).await;
    assert!(key_supervised(&held).await, "five citizens");
    let order = staff.order(&held).await.expect("the order");
    let last = order.history.last().expect("history");
    assert_eq!(
        (
            last.event.as_str(),
            last.actor.as_str(),
            last.note.as_deref()
        ),
        (
            "key_supervised",
            "system",
            Some("已有 5 位群众反映同一问题，自动列入重点督办")
        )
    );
    follow("citizen-6", &held).await;
    let events: i64 = sqlx::query_scalar(
        "select count(*) from work_order_events e join work_orders o using (work_order_id) \
         where o.tracking_number = $1 and e.event = 'key_supervised'",
    )
    .bind(&held)
    .fetch_one(&platform.db)
    .await
    .expect("events");
    assert_eq!(events, 1, "once");

    // Waiting for the centre: followers and a merged duplicate count, and the order comes under
    // key supervision when it is dispatched.
    let waiting = file("citizen-11").await;
    for citizen in ["citizen-12", "citizen-13", "citizen-14"] {
        follow(citizen, &waiting).await;
    }
    let duplicate = file("citizen-15").await;
    platform
        .client("operator-1", "operator")
        .act(
            &duplicate,
            "merge",
            &OrderAction {
                into: Some(waiting.clone()),
                ..Default::default()
            },
        )
        .await
        .expect("merged");
    dispatched(&platform, &waiting, URBAN).await;
    assert!(key_supervised(&waiting).await, "at dispatch");

    // The supervisors are told why; the agency's staff as for the supervisors' action.
    let told: Vec<(String, String)> = sqlx::query_as(
        "select n.kind, n.recipient from notifications n \
         where n.kind in ('key_supervision_hot_issue', 'key_supervision') order by n.notification_id",
    )
    .fetch_all(&platform.db)
    .await
    .expect("notifications");
    let to_supervisor = told
        .iter()
        .filter(|(kind, to)| kind == "key_supervision_hot_issue" && to == "supervisor-a")
        .count();
    assert_eq!(to_supervisor, 2);
}

/// A staff account of `agency`, added by an administrator; a client signed in as them.
async fn agency_account(platform: &Platform, username: &str, agency: &str) -> tests::Client {
    platform.agency_account(username, agency).await
}

/// The `circular` notices in `client`'s inbox: the circular each names.
async fn circulars_heard(client: &tests::Client) -> Vec<Option<i64>> {
    notices_of(client, "circular").await
}

/// The notices of `kind` in `client`'s inbox: the circular each names.
async fn notices_of(client: &tests::Client, kind: &str) -> Vec<Option<i64>> {
    client
        .notifications(None, false)
        .await
        .expect("inbox")
        .items
        .into_iter()
        .filter(|n| n.kind == kind)
        .map(|n| n.circular_id)
        .collect()
}

#[tokio::test]
async fn a_circular_names_the_orders_long_overdue_agency_by_agency_and_tells_those_it_names() {
    let platform = Platform::start().await;
    let issuer = platform.supervisor_account("supervisor-c").await;
    let other_supervisor = platform.supervisor_account("supervisor-d").await;
    let leader = platform.staff_account("leader-c", "leader").await;
    let urban_staff = agency_account(&platform, "urban-staff-c", URBAN).await;
    let education_staff = agency_account(&platform, "edu-staff-c", EDUCATION).await;

    let oldest = held_by(
        &platform,
        "citizen-1",
        URBAN,
        "now() - interval '9 days 1 hour'",
    )
    .await;
    let confidential = held_by(
        &platform,
        "citizen-2",
        URBAN,
        "now() - interval '5 days 1 hour'",
    )
    .await;
    sqlx::query("update work_orders set confidential = true where tracking_number = $1")
        .bind(&confidential)
        .execute(&platform.db)
        .await
        .expect("confidential");
    // Overdue, but not for long enough; and not overdue at all.
    held_by(&platform, "citizen-3", URBAN, "now() - interval '1 day'").await;
    held_by(
        &platform,
        "citizen-4",
        EDUCATION,
        "now() + interval '2 days'",
    )
    .await;

    let new = mobile_api::NewCircular {
        title: "关于超期未办结工单的督办通报".into(),
        overdue_days: None,
        commentary: Some("请于三个工作日内办结并书面说明原因。".into()),
    };
    let issued = issuer
        .issue_circular(&new, Some("circular-1"))
        .await
        .expect("issued");
    let year = chrono::Utc::now()
        .with_timezone(&workorder::china_time())
        .format("%Y")
        .to_string();
    assert_eq!(issued.heading, format!("督办通报 {year}年第1期"));
    assert_eq!(issued.figures.overdue_days, 3);
    assert_eq!(issued.figures.orders, 2);
    assert_eq!(issued.figures.agencies.len(), 1);
    let urban = &issued.figures.agencies[0];
    assert_eq!(urban.agency.code, URBAN);
    assert_eq!((urban.orders, urban.longest_overdue_days), (2, 9));
    let named: Vec<(&str, Option<&str>, i64)> = urban
        .named
        .iter()
        .map(|o| {
            (
                o.tracking_number.as_str(),
                o.title.as_deref(),
                o.overdue_days,
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (oldest.as_str(), Some("路灯不亮"), 9),
            (confidential.as_str(), None, 5)
        ],
        "the longest overdue first; a confidential request's words are not repeated"
    );
    assert!(
        issued
            .figures
            .summary
            .contains("全市共有2件工单超过办理期限3天以上仍未办结，涉及1个承办单位"),
        "{}",
        issued.figures.summary
    );

    // A retry is the same circular; another is the next number.
    let again = issuer
        .issue_circular(&new, Some("circular-1"))
        .await
        .expect("replayed");
    assert_eq!(again, issued);
    let stricter = mobile_api::NewCircular {
        overdue_days: Some(7),
        ..new.clone()
    };
    let second = issuer
        .issue_circular(&stricter, None)
        .await
        .expect("the second");
    assert_eq!(second.issue, 2);
    assert_eq!(second.figures.orders, 1);

    // Kept as issued, whatever happens to the orders after.
    sqlx::query(
        "update work_orders set deadline_at = now() + interval '1 day' where tracking_number = $1",
    )
    .bind(&oldest)
    .execute(&platform.db)
    .await
    .expect("extended");
    assert_eq!(urban_staff.circular(issued.id).await.expect("read"), issued);

    // Those it concerns heard of it: the named agency's staff, the leaders, the other
    // supervisors; not the issuer, nor an agency it does not name.
    assert_eq!(
        circulars_heard(&urban_staff).await,
        [Some(second.id), Some(issued.id)]
    );
    assert_eq!(circulars_heard(&leader).await.len(), 2);
    assert_eq!(circulars_heard(&other_supervisor).await.len(), 2);
    assert!(circulars_heard(&issuer).await.is_empty());
    assert!(circulars_heard(&education_staff).await.is_empty());

    // Circulated: every agency reads the list.
    let listed = education_staff
        .circulars(&[("year", year.as_str())])
        .await
        .expect("the list");
    assert!(!listed.more);
    let ids: Vec<i64> = listed.items.iter().map(|c| c.id).collect();
    assert_eq!(ids, [second.id, issued.id]);
    assert_eq!(listed.items[1].orders, 2);
    assert_eq!(
        listed.items[1]
            .agencies
            .iter()
            .map(|a| a.code.as_str())
            .collect::<Vec<_>>(),
        [URBAN]
    );
    assert_eq!(
        platform.audited("circular_issued").await,
        [
            ("supervisor-c".to_owned(), Some(second.id.to_string())),
            ("supervisor-c".to_owned(), Some(issued.id.to_string()))
        ]
    );

    // One issued in error is withdrawn, with the reason, by a supervisor; agencies cannot.
    let reason = "第1期误将已批准延期的工单列入，撤回后更正重发。";
    let status = |result: Result<mobile_api::Circular, tests::ClientError>| {
        result.expect_err("refused").status().unwrap_or(0)
    };
    assert_eq!(
        status(urban_staff.withdraw_circular(issued.id, reason).await),
        403
    );
    assert_eq!(
        status(other_supervisor.withdraw_circular(issued.id, " ").await),
        422
    );
    assert_eq!(
        status(other_supervisor.withdraw_circular(999_999, reason).await),
        404
    );
    let withdrawn = other_supervisor
        .withdraw_circular(issued.id, reason)
        .await
        .expect("withdrawn");
    let withdrawal = withdrawn.withdrawn.clone().expect("marked withdrawn");
    assert_eq!(
        (withdrawal.by.as_str(), withdrawal.reason.as_str()),
        ("supervisor-d", reason)
    );
    assert_eq!(withdrawn.figures, issued.figures, "still read as issued");
    // Withdrawing it again changes nothing.
    assert_eq!(
        issuer
            .withdraw_circular(issued.id, "再次撤回")
            .await
            .expect("as it is"),
        withdrawn
    );
    let listed = leader.circulars(&[]).await.expect("the list");
    assert_eq!(listed.items[1].withdrawn, Some(withdrawal));
    assert_eq!(listed.items[0].withdrawn, None);
    // Everyone told of it is told of the withdrawal, once: not the one who withdrew it.
    assert_eq!(
        notices_of(&urban_staff, "circular_withdrawn").await,
        [Some(issued.id)]
    );
    assert_eq!(
        notices_of(&issuer, "circular_withdrawn").await,
        [Some(issued.id)]
    );
    assert_eq!(notices_of(&leader, "circular_withdrawn").await.len(), 1);
    assert!(
        notices_of(&other_supervisor, "circular_withdrawn")
            .await
            .is_empty()
    );
    assert!(
        notices_of(&education_staff, "circular_withdrawn")
            .await
            .is_empty()
    );
    assert_eq!(
        platform.audited("circular_withdrawn").await,
        [("supervisor-d".to_owned(), Some(issued.id.to_string()))]
    );
}

#[tokio::test]
async fn circulars_refuse_bad_asks_and_one_that_would_name_nobody() {
    let platform = Platform::start().await;
    let supervisor = platform.supervisor_account("supervisor-c").await;
    held_by(&platform, "citizen-1", URBAN, "now() - interval '4 days'").await;
    let fields = |error: tests::ClientError| {
        assert_eq!(error.status(), Some(422), "{error:?}");
        error
            .fields()
            .iter()
            .map(|f| (f.field.clone(), f.code.clone()))
            .collect::<Vec<_>>()
    };
    let asked = |title: &str, overdue_days: Option<i32>, commentary: Option<String>| {
        mobile_api::NewCircular {
            title: title.into(),
            overdue_days,
            commentary,
        }
    };
    let refused = supervisor
        .issue_circular(&asked(" ", Some(0), Some("长".repeat(2001))), None)
        .await
        .expect_err("bad fields");
    assert_eq!(
        fields(refused),
        [
            ("title".to_owned(), "invalid_length".to_owned()),
            ("commentary".to_owned(), "too_long".to_owned()),
            ("overdue_days".to_owned(), "out_of_range".to_owned())
        ]
    );
    let refused = supervisor
        .issue_circular(&asked("通报", Some(91), None), None)
        .await
        .expect_err("too many days");
    assert_eq!(
        fields(refused),
        [("overdue_days".to_owned(), "out_of_range".to_owned())]
    );
    let refused = supervisor
        .issue_circular(&asked("通报", Some(5), None), None)
        .await
        .expect_err("nobody to name");
    assert_eq!(
        fields(refused),
        [("overdue_days".to_owned(), "none_overdue".to_owned())]
    );
    let count: i64 = sqlx::query_scalar("select count(*) from circulars")
        .fetch_one(&platform.db)
        .await
        .expect("a count");
    assert_eq!(count, 0);
    for id in [999, -1] {
        let path_error = supervisor.circular(id).await.expect_err("no such circular");
        assert_eq!(path_error.status(), Some(404));
    }
    let refused = supervisor
        .circulars(&[("year", "20x6")])
        .await
        .expect_err("not a year");
    assert_eq!(
        fields(refused),
        [("year".to_owned(), "invalid_value".to_owned())]
    );
    // The key is honoured as elsewhere: one reused for another circular is a conflict.
    supervisor
        .issue_circular(&asked("通报", None, None), Some("c-1"))
        .await
        .expect("issued");
    let reused = supervisor
        .issue_circular(&asked("另一份通报", None, None), Some("c-1"))
        .await
        .expect_err("reused key");
    assert_eq!(reused.status(), Some(409));
}
