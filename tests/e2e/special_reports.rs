//! Special public-opinion reports (舆情专报): a topic's requests, through the gateway, and the
//! issues supervisors send to the city's leaders.

use mobile_api::client::ClientError;
use mobile_api::{CreateRequest, NewDevice, NewSpecialReport, OrderAction, ReportCount};
use order_store::oversight::TopicRead;
use tests::{Platform, valid_request};

const URBAN: &str = "city-urban-management";
const HEATING: &str = "utility-heating";

/// A request about `title` and `description`, of `category`, in `district`.
fn about(title: &str, description: &str, category: &str, district: &str) -> CreateRequest {
    let mut request = valid_request();
    request.title = title.into();
    request.description = description.into();
    request.category = category.into();
    request.location.district = Some(district.into());
    request.location.lat = None;
    request.location.lng = None;
    request
}

/// Files `request` as `citizen` and moves its filing time to `at`, as if filed then.
async fn filed(platform: &Platform, citizen: &str, request: &CreateRequest, at: &str) -> String {
    let number = platform
        .client(citizen, "citizen")
        .create_request(request, None)
        .await
        .expect("filed")
        .tracking_number;
    sqlx::query("update work_orders set created_at = $2::timestamptz where tracking_number = $1")
        .bind(&number)
        .bind(at)
        .execute(&platform.db)
        .await
        .expect("filed then");
    number
}

/// The status and the (field, code) pairs of a refusal.
fn refusal(error: &ClientError) -> (Option<u16>, Vec<(String, String)>) {
    let fields = match error {
        ClientError::Api { envelope, .. } => envelope
            .error
            .fields
            .iter()
            .map(|f| (f.field.clone(), f.code.clone()))
            .collect(),
        _ => Vec::new(),
    };
    (error.status(), fields)
}

fn counted(counts: &[ReportCount]) -> Vec<(&str, i64, i64)> {
    counts
        .iter()
        .map(|c| (c.group.code.as_str(), c.count, c.count_before))
        .collect()
}

/// The year a report issued now is numbered in: China Standard Time's.
fn this_year() -> i32 {
    use chrono::Datelike;
    (chrono::Utc::now() + chrono::Duration::hours(8)).year()
}

#[tokio::test]
async fn a_special_report_gathers_what_citizens_said_about_one_matter_and_goes_to_the_leaders() {
    let platform = Platform::start().await;
    let heating = |title: &str, description: &str, district: &str| {
        about(title, description, "utilities.heating", district)
    };
    // The week of 8 to 14 November 2026 (China time), and the week before it.
    let cold = filed(
        &platform,
        "citizen-1",
        &heating(
            "小区暖气不热",
            "供暖开始三天了，暖气片还是凉的，家里有老人。",
            "yicheng",
        ),
        "2026-11-10 09:00+08",
    )
    .await;
    let rated = filed(
        &platform,
        "citizen-2",
        &heating(
            "供暖管道漏水",
            "楼道里的供暖管道漏水，地面结冰。",
            "yicheng",
        ),
        "2026-11-10 20:00+08",
    )
    .await;
    let overdue = filed(
        &platform,
        "citizen-3",
        &heating("暖气不热", "暖气温度只有十几度。", "xiping"),
        "2026-11-12 08:00+08",
    )
    .await;
    // Filed under another category: the keywords find it anyway.
    filed(
        &platform,
        "citizen-4",
        &about(
            "路灯不亮",
            "小区 LED 路灯坏了，暖气管道施工后一直没修。",
            "urban.streetlight",
            "yicheng",
        ),
        "2026-11-13 21:00+08",
    )
    .await;
    // Confidential: counted, never named.
    let mut secret = heating("暖气费纠纷", "物业以欠缴暖气费为由威胁断水。", "yicheng");
    secret.confidential = true;
    filed(&platform, "citizen-5", &secret, "2026-11-11 10:00+08").await;
    // Not on the topic; on it the week before; on it the week after.
    filed(
        &platform,
        "citizen-6",
        &valid_request(),
        "2026-11-10 10:00+08",
    )
    .await;
    filed(
        &platform,
        "citizen-7",
        &heating("暖气不热", "暖气不热。", "yicheng"),
        "2026-11-05 10:00+08",
    )
    .await;
    filed(
        &platform,
        "citizen-8",
        &heating("暖气不热", "暖气不热。", "yicheng"),
        "2026-11-16 10:00+08",
    )
    .await;

    // Two more citizens raise the cold radiators; one is answered and rated; one is overdue.
    for citizen in ["citizen-9", "citizen-10"] {
        platform
            .client(citizen, "citizen")
            .follow(&cold)
            .await
            .expect("followed");
    }
    // Heating goes to the heating company at filing (the dispatch catalogue).
    let heat = platform.agency_client("heat-a", HEATING);
    for (action, body) in [
        ("sign", OrderAction::default()),
        ("contact", OrderAction::default()),
        (
            "reply",
            OrderAction {
                result: Some("已更换漏水管段".into()),
                ..Default::default()
            },
        ),
    ] {
        heat.act(&rated, action, &body).await.expect(action);
    }
    platform
        .client("supervisor-1", "supervisor")
        .act(&rated, "pass_audit", &OrderAction::default())
        .await
        .expect("passed");
    platform
        .client("citizen-2", "citizen")
        .rate(&rated, "satisfied", "yes", None)
        .await
        .expect("rated");
    sqlx::query(
        "update work_orders set deadline_at = now() - interval '1 day' where tracking_number = $1",
    )
    .bind(&overdue)
    .execute(&platform.db)
    .await
    .expect("overdue");

    let leader = platform.staff_account("leader-a", "leader").await;
    leader
        .register_device(&NewDevice {
            platform: "fcm".into(),
            token: "fcm-token-leader-a".into(),
            app_version: Some("2.3.0".into()),
        })
        .await
        .expect("the leader's phone");
    let week = [
        ("keywords", "暖气, 供暖，暖气"),
        ("from", "2026-11-08"),
        ("to", "2026-11-14"),
    ];
    let report = leader.topic_report(&week).await.expect("the topic");
    assert_eq!(report.keywords, ["暖气", "供暖"], "trimmed, each once");
    assert!(report.complete);
    assert_eq!(
        (report.received, report.received_before, report.received_all),
        (5, 1, 6)
    );
    let daily: Vec<(String, i64)> = report
        .daily
        .iter()
        .map(|d| (d.date.to_string(), d.count))
        .collect();
    assert_eq!(
        daily,
        [
            ("2026-11-08".into(), 0),
            ("2026-11-09".into(), 0),
            ("2026-11-10".into(), 2),
            ("2026-11-11".into(), 1),
            ("2026-11-12".into(), 1),
            ("2026-11-13".into(), 1),
            ("2026-11-14".into(), 0),
        ]
    );
    assert_eq!(
        counted(&report.by_district),
        [("yicheng", 4, 1), ("xiping", 1, 0)]
    );
    assert_eq!(
        counted(&report.by_category),
        [("utilities.heating", 4, 1), ("urban.streetlight", 1, 0)]
    );
    assert_eq!(report.by_category[0].group.name, "供暖");
    assert_eq!(counted(&report.by_channel), [("app", 5, 1)]);
    let o = &report.outcomes;
    assert_eq!((o.waiting_dispatch, o.with_agency, o.answered), (1, 3, 1));
    assert_eq!((report.overdue, report.rated, report.satisfied), (1, 1, 1));
    let cases: Vec<(&str, i64)> = report
        .cases
        .iter()
        .map(|c| (c.tracking_number.as_str(), c.citizens))
        .collect();
    assert_eq!(cases.len(), 4, "the confidential one is not named");
    assert_eq!(cases[0], (cold.as_str(), 3), "most citizens first");
    assert!(
        report.cases[1..]
            .windows(2)
            .all(|pair| pair[0].created_at > pair[1].created_at),
        "then the newest first: {:?}",
        report.cases
    );
    assert!(report.cases.iter().all(|c| c.title != "暖气费纠纷"));
    for said in [
        "2026年11月8日至11月14日，全市 12345 热线共受理涉及“暖气、供暖”的群众诉求 5 件，\
         占同期全部诉求（6 件）的 83.3%，比前一时段增加 400.0%（前一时段 1 件）。",
        "11月10日最多，为 2 件。",
        "诉求较多的区县：驿城区 4 件，西平县 1 件；主要类别：供暖 4 件，路灯 1 件",
        "待派单 1 件，承办单位办理中 3 件（已超期 1 件），已答复 1 件。",
        "群众已评价 1 件，满意（含基本满意）1 件，满意率 100.0%。",
        "（3 位群众）",
    ] {
        assert!(
            report.summary.contains(said),
            "{said} in {}",
            report.summary
        );
    }

    // Any case or width, each keyword once; the words mean themselves (`%` is no wildcard); a
    // category alone names a topic.
    let lamps = leader
        .topic_report(&[
            ("keywords", "led，ＬＥＤ，Led"),
            ("from", "2026-11-08"),
            ("to", "2026-11-14"),
        ])
        .await
        .expect("the lamps");
    assert_eq!(lamps.keywords, ["led"]);
    assert_eq!(lamps.received, 1);
    let none = leader
        .topic_report(&[
            ("keywords", "%"),
            ("from", "2026-11-08"),
            ("to", "2026-11-14"),
        ])
        .await
        .expect("nothing");
    assert_eq!(none.received, 0);
    assert!(
        none.summary.contains("未受理涉及“%”的群众诉求"),
        "{}",
        none.summary
    );
    let category = leader
        .topic_report(&[
            ("category", "utilities"),
            ("from", "2026-11-08"),
            ("to", "2026-11-14"),
        ])
        .await
        .expect("a category's");
    assert_eq!(category.received, 4);
    assert!(
        category.summary.contains("“水电气暖”类的群众诉求 4 件"),
        "{}",
        category.summary
    );

    // A supervisor issues it, with the centre's analysis; a retry is the same issue.
    let supervisor = platform.supervisor_account("supervisor-b").await;
    let new = NewSpecialReport {
        title: "关于今冬供暖问题的舆情专报".into(),
        keywords: vec!["暖气".into(), "供暖".into()],
        category: None,
        from: Some("2026-11-08".parse().expect("a day")),
        to: Some("2026-11-14".parse().expect("a day")),
        commentary: Some("建议热力公司对老旧管网开展排查。".into()),
    };
    let issued = supervisor
        .issue_special_report(&new, Some("heating-1"))
        .await
        .expect("issued");
    assert_eq!(
        (issued.year, issued.issue, issued.heading.clone()),
        (this_year(), 1, format!("舆情专报 {}年第1期", this_year()))
    );
    assert_eq!(issued.issued_by, "supervisor-b");
    assert_eq!(issued.report.received, 5);
    assert_eq!(issued.report.summary, report.summary.clone());
    let again = supervisor
        .issue_special_report(&new, Some("heating-1"))
        .await
        .expect("the same issue");
    assert_eq!(again, issued);
    let reused = supervisor
        .issue_special_report(
            &NewSpecialReport {
                title: "另一期".into(),
                ..new.clone()
            },
            Some("heating-1"),
        )
        .await
        .expect_err("another request under the key");
    assert_eq!(
        (reused.status(), reused.code()),
        (Some(409), Some("idempotency_key_reused"))
    );
    let second = supervisor
        .issue_special_report(
            &NewSpecialReport {
                title: "关于城市照明的舆情专报".into(),
                keywords: vec!["路灯".into()],
                commentary: None,
                ..new.clone()
            },
            None,
        )
        .await
        .expect("the next issue");
    assert_eq!(second.issue, 2);

    // Kept as issued: a request filed in the span afterwards does not change the issue.
    filed(
        &platform,
        "citizen-11",
        &heating("暖气漏水", "暖气漏水。", "yicheng"),
        "2026-11-09 10:00+08",
    )
    .await;
    let kept = leader.special_report(issued.id).await.expect("the issue");
    assert_eq!(kept, issued);
    assert_eq!(leader.topic_report(&week).await.expect("now").received, 6);
    let list = leader.special_reports(&[]).await.expect("the list");
    assert!(!list.more);
    let this = this_year().to_string();
    let of_year = leader
        .special_reports(&[("year", this.as_str())])
        .await
        .expect("this year's");
    assert_eq!(of_year, list);
    let none = leader
        .special_reports(&[("year", "2001")])
        .await
        .expect("none that year");
    assert!(none.items.is_empty());
    for year in ["abc", "1999", "20266"] {
        let error = leader
            .special_reports(&[("year", year)])
            .await
            .expect_err("not a year");
        assert_eq!(
            (error.status(), error.code()),
            (Some(422), Some("validation_failed")),
            "{year}"
        );
    }
    let listed: Vec<(i64, &str, i64)> = list
        .items
        .iter()
        .map(|s| (s.id, s.title.as_str(), s.received))
        .collect();
    assert_eq!(
        listed,
        [
            (second.id, "关于城市照明的舆情专报", 2),
            (issued.id, "关于今冬供暖问题的舆情专报", 5)
        ]
    );
    assert_eq!(list.items[1].keywords, ["暖气", "供暖"]);

    // The leader heard of both issues, once each; the supervisor who issued them did not.
    let heard = leader.notifications(None, false).await.expect("inbox");
    let special: Vec<&str> = heard
        .items
        .iter()
        .filter(|n| n.kind == "special_report")
        .map(|n| n.body.as_str())
        .collect();
    assert_eq!(special.len(), 2, "{special:?}");
    // Each names its issue, for the app to open it; and so does the push to the leader's phone.
    let named: Vec<Option<i64>> = heard
        .items
        .iter()
        .filter(|n| n.kind == "special_report")
        .map(|n| n.special_report_id)
        .collect();
    assert_eq!(named, [Some(second.id), Some(issued.id)]);
    let mut pushed = Vec::new();
    for _ in 0..100 {
        pushed = platform
            .fcm
            .delivered()
            .into_iter()
            .filter(|p| p.token == "fcm-token-leader-a")
            .filter_map(|p| p.data.get("special_report_id").cloned())
            .collect::<Vec<_>>();
        if pushed.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    pushed.sort();
    let mut expected = vec![issued.id.to_string(), second.id.to_string()];
    expected.sort();
    assert_eq!(pushed, expected);
    assert!(
        special[1]
            == format!(
                "舆情专报 {}年第1期《关于今冬供暖问题的舆情专报》已印发，请查阅。",
                this_year()
            ),
        "{}",
        special[1]
    );
    let own = supervisor.notifications(None, false).await.expect("inbox");
    assert!(own.items.iter().all(|n| n.kind != "special_report"));
    assert_eq!(
        platform.audited("special_report_issued").await,
        [
            ("supervisor-b".to_owned(), Some(second.id.to_string())),
            ("supervisor-b".to_owned(), Some(issued.id.to_string()))
        ]
    );
}

/// The start of `day` in China.
fn china_midnight(day: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(&format!("{day}T00:00:00+08:00")).expect("a day")
}

/// `words`, owned.
fn owned(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// `query` (a topic report's statement) with its values bound for `words`: the week of 8 to 14
/// November 2026 (`$2` to `$3`), the week before (from `$1`), and any category (`$5`).
macro_rules! topic_values {
    ($query:expr, $words:expr) => {
        $query
            .bind(china_midnight("2026-11-01"))
            .bind(china_midnight("2026-11-08"))
            .bind(china_midnight("2026-11-15"))
            .bind($words)
            .bind(None::<String>)
    };
}

/// The plan PostgreSQL ran a topic report's counts by for `words` over the week of 8 to 14
/// November 2026 and the week before, with the report's settings, written to read them `read`.
async fn topic_plan(platform: &Platform, words: &[&str], read: TopicRead) -> String {
    let words = owned(words);
    let mut db = platform.db.acquire().await.expect("a connection");
    let statement = order_store::oversight::topic(&words, read);
    let settings = Some(order_store::oversight::TOPIC_SETTINGS);
    tests::plan(&mut db, &statement, settings, |query| {
        topic_values!(query, words)
    })
    .await
    .join("\n")
}

/// A row of a topic's statement: `kind`, `current`, `n`, `rated`, `satisfied` and `title`.
type TopicRow = (
    String,
    Option<bool>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// What a topic report's statement for `words` finds over the week of 8 to 14 November 2026
/// and the week before, written to read them `read`: how many requests in each week, of the
/// week's how many are rated and how many satisfied, and the titles of its cases, sorted.
async fn topic_found(
    platform: &Platform,
    words: &[&str],
    read: TopicRead,
) -> ((i64, i64), (i64, i64), Vec<String>) {
    let mut db = platform.db.begin().await.expect("a transaction");
    sqlx::query(order_store::oversight::TOPIC_SETTINGS)
        .execute(&mut *db)
        .await
        .expect("the settings");
    let statement = format!(
        "select kind, current, n, rated, satisfied, title from ({}) t \
         where kind = 'case' or (day is null and channel is null and category is null \
                                 and district is null and status is null)",
        order_store::oversight::topic(&owned(words), read)
    );
    let rows: Vec<TopicRow> =
        topic_values!(sqlx::query_as(sqlx::AssertSqlSafe(statement)), owned(words))
            .fetch_all(&mut *db)
            .await
            .expect("the topic's requests");
    db.rollback().await.expect("ended");
    let total = |current: bool| {
        rows.iter()
            .filter(|(kind, now, ..)| kind == "count" && *now == Some(current))
            .fold((0, 0, 0), |(n, rated, satisfied), row| {
                (
                    n + row.2.unwrap_or(0),
                    rated + row.3.unwrap_or(0),
                    satisfied + row.4.unwrap_or(0),
                )
            })
    };
    let mut titles: Vec<String> = rows.iter().filter_map(|row| row.5.clone()).collect();
    titles.sort_unstable();
    let (week, before) = (total(true), total(false));
    ((week.0, before.0), (week.1, week.2), titles)
}

/// A topic counts the requests whose title, description, address or supplements hold its words,
/// as staff search finds them, in any case and width; words few requests hold are looked up
/// through the words index first (a single character through the characters index), which
/// leaves out the orders that hold the words' pairs of characters apart, and words most hold
/// are found by reading the span.
#[tokio::test]
async fn a_topic_counts_the_requests_about_a_place_and_what_citizens_added_later() {
    let platform = Platform::start().await;
    let water = |title: &str, description: &str| {
        about(title, description, "utilities.water-supply", "yicheng")
    };
    filed(
        &platform,
        "citizen-1",
        &water("幸福家园停水", "从早上到现在一直没有自来水。"),
        "2026-11-09 08:00+08",
    )
    .await;
    let mut there = water("小区停水两天", "家里老人孩子用水困难。");
    there.location.address = Some("驿城区幸福家园小区3号楼".into());
    filed(&platform, "citizen-2", &there, "2026-11-10 08:00+08").await;
    let added = filed(
        &platform,
        "citizen-3",
        &water("水管爆裂", "路口的水管爆了，水漫到路上。"),
        "2026-11-11 08:00+08",
    )
    .await;
    platform
        .client("citizen-3", "citizen")
        .supplement(
            &added,
            &mobile_api::NewSupplement {
                text: "就在幸福家园北门外。".into(),
                photo_urls: Vec::new(),
            },
            None,
        )
        .await
        .expect("supplemented");
    // Every pair of characters of 幸福家园, but not the words: not on the topic.
    let mut apart = water("幸福家电维修点门前积水", "家园路口积水。");
    apart.location.address = Some("驿城区交通路".into());
    filed(&platform, "citizen-4", &apart, "2026-11-12 08:00+08").await;
    // Letters and digits typed in full width, and in half.
    let air =
        |title: &str, description: &str| about(title, description, "environment.air", "yicheng");
    filed(
        &platform,
        "citizen-7",
        &air("工地扬尘ＰＭ２.５超标", "工地白天黑夜都在施工，尘土很大。"),
        "2026-11-12 09:00+08",
    )
    .await;
    filed(
        &platform,
        "citizen-8",
        &air("空气很差", "附近监测点的pm2.5读数一直很高。"),
        "2026-11-13 09:00+08",
    )
    .await;
    // The week before, and the last hour before it (in neither).
    filed(
        &platform,
        "citizen-5",
        &water("幸福家园水压低", "高层住户没有水。"),
        "2026-11-03 08:00+08",
    )
    .await;
    filed(
        &platform,
        "citizen-5",
        &water("幸福家园停电", "整栋楼没有电。"),
        "2026-10-31 23:59+08",
    )
    .await;
    // Two thousand requests of the week about something else, for the index to be worth reading.
    let other = filed(
        &platform,
        "citizen-6",
        &valid_request(),
        "2026-11-13 20:00+08",
    )
    .await;
    let mut db = platform.db.acquire().await.expect("a connection");
    tests::copy_order(&mut db, &other, 2000, "description", "address").await;
    // As the schedule would within ten seconds: the new orders' pairs into the index proper.
    sqlx::query("select merge_search_pending_lists()")
        .execute(&mut *db)
        .await
        .expect("merged");

    let leader = platform.staff_account("leader-a", "leader").await;
    let week = |keywords: &'static str| {
        [
            ("keywords", keywords),
            ("from", "2026-11-08"),
            ("to", "2026-11-14"),
        ]
    };
    let report = leader
        .topic_report(&week("幸福家园"))
        .await
        .expect("the topic");
    assert_eq!(
        (report.received, report.received_before, report.received_all),
        (3, 1, 2007)
    );
    let mut titles: Vec<&str> = report.cases.iter().map(|c| c.title.as_str()).collect();
    titles.sort_unstable();
    assert_eq!(titles, ["小区停水两天", "幸福家园停水", "水管爆裂"]);
    // Letters and digits in either width, words of two or more characters through the words
    // index, a single character through the characters index.
    for (words, expected) in [
        ("PM2.5", &["工地扬尘ＰＭ２.５超标", "空气很差"][..]),
        ("ｐｍ２．５", &["工地扬尘ＰＭ２.５超标", "空气很差"]),
        ("３", &["小区停水两天"]),
        ("爆", &["水管爆裂"]),
        ("爆, ３", &["小区停水两天", "水管爆裂"]),
    ] {
        let report = leader.topic_report(&week(words)).await.expect("the topic");
        let mut titles: Vec<&str> = report.cases.iter().map(|c| c.title.as_str()).collect();
        titles.sort_unstable();
        assert_eq!(titles, expected, "{words}");
    }
    for read in [TopicRead::Indexes, TopicRead::IndexesFromHour] {
        let indexed = topic_plan(&platform, &["幸福家园"], read).await;
        assert!(indexed.contains("work_orders_words"), "{indexed}");
        // The orders the index gives are taken apart, not on the pages the BRIN index gives
        // for the span, where PostgreSQL would check the index's condition on every order.
        assert!(!indexed.contains("work_orders_by_filing_time"), "{indexed}");
        let indexed = topic_plan(&platform, &["pm2.5"], read).await;
        assert!(indexed.contains("work_orders_words"), "{indexed}");
        let indexed = topic_plan(&platform, &["爆"], read).await;
        assert!(indexed.contains("work_orders_characters"), "{indexed}");
        assert!(!indexed.contains("work_orders_words"), "{indexed}");
        // The half-width kana and its voicing mark are one character in compatibility form.
        let indexed = topic_plan(&platform, &["幸福家园", "ｶﾞ"], read).await;
        assert!(
            indexed.contains("work_orders_words") && indexed.contains("work_orders_characters"),
            "{indexed}"
        );
    }
    // From the hour, the index gives only the orders of the two weeks: the hour is a
    // condition on each index, one of its words' too.
    let hourly = topic_plan(&platform, &["幸福家园", "爆"], TopicRead::IndexesFromHour).await;
    let conditions: Vec<&str> = hourly
        .lines()
        .filter(|line| {
            line.contains("Index Cond")
                && (line.contains("search_bigrams") || line.contains("search_characters"))
        })
        .collect();
    assert_eq!(conditions.len(), 2, "{hourly}");
    assert!(
        conditions
            .iter()
            .all(|c| c.contains("search_hour(created_at) >=")),
        "{hourly}"
    );
    // PostgreSQL judges the index by the rarest pair of characters of a word whose pairs are
    // all among the most common (among these few requests, every pair five or more hold), and
    // any other word as it is (路灯幸福: no request holds 灯幸).
    let judged: Vec<String> = sqlx::query_scalar(order_store::oversight::JUDGED_WORDS)
        .bind(owned(&["路灯不亮", "幸福家园", "路灯幸福", "３"]))
        .fetch_all(&mut *db)
        .await
        .expect("the words judged");
    assert_eq!(judged.len(), 4, "{judged:?}");
    assert!(
        ["路灯", "灯不", "不亮"].contains(&judged[0].as_str()),
        "{judged:?}"
    );
    // Held by five requests each, where the pairs of 路灯不亮 are held by two thousand.
    assert!(
        ["幸福", "福家", "家园"].contains(&judged[1].as_str()),
        "{judged:?}"
    );
    assert_eq!(judged[2..], ["路灯幸福", "３"]);
    // Two of the week's requests rated twice, unsatisfied and then satisfied: the latest
    // rating counts.
    sqlx::query(
        "insert into ratings (work_order_id, round, satisfaction, solved, rated_by, channel) \
         select o.work_order_id, r.round, r.satisfaction, 'yes', 'citizen-1', 'app' \
         from work_orders o cross join (values (1, 'unsatisfied'), (2, 'satisfied')) \
           r(round, satisfaction) \
         where o.title in ('幸福家园停水', '小区停水两天')",
    )
    .execute(&mut *db)
    .await
    .expect("rated");
    // The three ways to read them find the same.
    for words in [
        &["幸福家园"][..],
        &["pm2.5"],
        &["ＰＭ２.５"],
        &["３"],
        &["爆", "幸福家园"],
    ] {
        let read = topic_found(&platform, words, TopicRead::Whole).await;
        for way in [TopicRead::Indexes, TopicRead::IndexesFromHour] {
            let found = topic_found(&platform, words, way).await;
            assert_eq!(read, found, "{words:?} {way:?}");
        }
        assert!(read.0.0 > 0, "{words:?}");
    }
    let (received, rated, _) = topic_found(&platform, &["幸福家园"], TopicRead::Whole).await;
    assert_eq!((received, rated), ((3, 1), (2, 2)));
    let report = leader
        .topic_report(&week("幸福家园"))
        .await
        .expect("the topic");
    assert_eq!((report.rated, report.satisfied), (2, 2));
    // Words nearly every request of the week holds: PostgreSQL reads the week whole, and the
    // report counts them so.
    let common = topic_plan(&platform, &["路灯"], TopicRead::Indexes).await;
    assert!(!common.contains("work_orders_words"), "{common}");
    let lamps = leader.topic_report(&week("路灯")).await.expect("the lamps");
    assert_eq!((lamps.received, lamps.received_before), (2001, 0));
    // Thousands of citizens follow other requests: a topic's cases count their own followers
    // alone, looked up by their keys, not every follower of every order.
    tests::execute_all(
        &mut db,
        &[
            "insert into citizens (citizen_id, subject) \
             select gen_random_uuid(), 'fan-' || g from generate_series(1, 3) g",
            "insert into order_followers (work_order_id, citizen_id, reason) \
             select o.work_order_id, c.citizen_id, 'followed' from work_orders o \
             cross join citizens c where o.title like '%路灯%' and c.subject like 'fan-%'",
            "analyze citizens, order_followers",
        ],
        "followers",
    )
    .await;
    let place = topic_plan(&platform, &["幸福家园"], TopicRead::Indexes).await;
    assert!(place.contains("order_followers_pkey"), "{place}");
    assert!(!place.contains("Seq Scan on order_followers"), "{place}");
}

#[tokio::test]
async fn topic_reports_and_special_reports_refuse_bad_questions_and_other_roles() {
    let platform = Platform::start().await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    let long_ago = "2020-01-01";
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2))
        .date_naive()
        .to_string();
    let eleven = (1..=11)
        .map(|n| format!("词{n}"))
        .collect::<Vec<_>>()
        .join(",");
    let too_long = "长".repeat(21);
    for (query, field, code) in [
        (vec![("from", "2026-11-01")], "keywords", "topic_required"),
        (vec![("keywords", "，、")], "keywords", "topic_required"),
        (
            vec![("keywords", eleven.as_str())],
            "keywords",
            "invalid_length",
        ),
        (
            vec![("keywords", too_long.as_str())],
            "keywords",
            "invalid_length",
        ),
        (
            vec![("category", "no-such-category")],
            "category",
            "unknown",
        ),
        (
            vec![
                ("keywords", "暖气"),
                ("from", "2026-11-10"),
                ("to", "2026-11-01"),
            ],
            "from",
            "after_to",
        ),
        (
            vec![
                ("keywords", "暖气"),
                ("from", long_ago),
                ("to", "2026-11-01"),
            ],
            "from",
            "span_too_long",
        ),
        (
            vec![("keywords", "暖气"), ("to", tomorrow.as_str())],
            "to",
            "in_future",
        ),
        (
            vec![("keywords", "暖气"), ("from", "11/01/2026")],
            "from",
            "invalid_date",
        ),
    ] {
        let error = supervisor.topic_report(&query).await.expect_err("refused");
        assert_eq!(
            refusal(&error),
            (Some(422), vec![(field.to_owned(), code.to_owned())]),
            "{query:?}"
        );
    }
    let new = NewSpecialReport {
        title: "关于供暖问题的舆情专报".into(),
        keywords: vec!["暖气".into()],
        category: None,
        from: Some("2026-11-01".parse().expect("a day")),
        to: Some("2026-11-07".parse().expect("a day")),
        commentary: None,
    };
    for (bad, field, code) in [
        (
            NewSpecialReport {
                title: " ".into(),
                ..new.clone()
            },
            "title",
            "invalid_length",
        ),
        (
            NewSpecialReport {
                commentary: Some("析".repeat(2001)),
                ..new.clone()
            },
            "commentary",
            "too_long",
        ),
        (
            NewSpecialReport {
                keywords: Vec::new(),
                ..new.clone()
            },
            "keywords",
            "topic_required",
        ),
    ] {
        let error = supervisor
            .issue_special_report(&bad, None)
            .await
            .expect_err("refused");
        assert_eq!(
            refusal(&error),
            (Some(422), vec![(field.to_owned(), code.to_owned())])
        );
    }
    let error = supervisor
        .issue_special_report(&new, Some("a key with spaces"))
        .await
        .expect_err("a bad key");
    assert_eq!(
        (error.status(), error.code()),
        (Some(400), Some("invalid_idempotency_key"))
    );
    let http = reqwest::Client::new();
    for (body, status, code) in [
        (r#"{"title": "专报", "#, 400, "malformed_json"),
        (
            r#"{"title": "专报", "keywords": ["暖气"], "from": 20261101, "to": "2026-11-07"}"#,
            422,
            "validation_failed",
        ),
    ] {
        let answer = http
            .post(platform.url("/api/v1/admin/special-reports"))
            .bearer_auth(platform.keys.token("supervisor-1", "supervisor"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_eq!(answer.status(), status, "{body}");
        let envelope: mobile_api::ErrorEnvelope = answer.json().await.expect("an envelope");
        assert_eq!(envelope.error.code, code, "{body}");
    }
    assert!(
        supervisor
            .special_reports(&[])
            .await
            .expect("none")
            .items
            .is_empty(),
        "nothing half-written"
    );
    for id in ["abc", "999"] {
        let missing = http
            .get(platform.url(&format!("/api/v1/supervision/special-reports/{id}")))
            .bearer_auth(platform.keys.token("leader-1", "leader"))
            .send()
            .await
            .expect("sent");
        assert_eq!(missing.status(), 404, "{id}");
    }
    // Citizens and agencies do not read them; operators and leaders read but do not issue.
    for client in [
        platform.client("citizen-1", "citizen"),
        platform.agency_client("urban-a", URBAN),
    ] {
        let error = client
            .topic_report(&[("keywords", "暖气")])
            .await
            .expect_err("not theirs");
        assert_eq!(error.status(), Some(403));
    }
    for role in ["operator", "leader"] {
        let client = platform.client(&format!("{role}-1"), role);
        client
            .topic_report(&[("keywords", "暖气")])
            .await
            .expect("they read it");
        let error = client
            .issue_special_report(&new, None)
            .await
            .expect_err("not theirs to issue");
        assert_eq!(error.status(), Some(403), "{role}");
    }
}

#[tokio::test]
async fn a_withdrawn_special_report_stays_readable_marked_and_its_readers_are_told() {
    let platform = Platform::start().await;
    let issuer = platform.staff_account("supervisor-b", "supervisor").await;
    let withdrawer = platform.staff_account("supervisor-c", "supervisor").await;
    let leader = platform.staff_account("leader-a", "leader").await;
    platform
        .client("citizen-1", "citizen")
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let issued = issuer
        .issue_special_report(
            &NewSpecialReport {
                title: "关于城市照明的舆情专报".into(),
                keywords: vec!["路灯".into()],
                category: None,
                from: None,
                to: None,
                commentary: None,
            },
            None,
        )
        .await
        .expect("issued");
    assert_eq!(issued.withdrawn, None);

    let reason = "第二部分统计口径有误，更正后重新印发。";
    let withdrawn = withdrawer
        .withdraw_special_report(issued.id, reason)
        .await
        .expect("withdrawn");
    let withdrawal = withdrawn.withdrawn.clone().expect("marked");
    assert_eq!(
        (withdrawal.by.as_str(), withdrawal.reason.as_str()),
        ("supervisor-c", reason)
    );
    assert_eq!(withdrawn.report, issued.report, "its figures as issued");
    // A second withdrawal, by anyone, answers it as it is.
    let again = issuer
        .withdraw_special_report(issued.id, "重复撤回")
        .await
        .expect("as it is");
    assert_eq!(again, withdrawn);
    assert_eq!(
        leader.special_report(issued.id).await.expect("readable"),
        withdrawn
    );
    let listed = leader.special_reports(&[]).await.expect("the list");
    assert_eq!(listed.items[0].withdrawn, Some(withdrawal));

    // Everyone told of the issue but the one who withdrew it is told of the withdrawal, once.
    let heading = format!(
        "舆情专报 {}年第1期《关于城市照明的舆情专报》已撤回，请勿再引用。",
        this_year()
    );
    for (reader, told) in [(&leader, 1), (&issuer, 1), (&withdrawer, 0)] {
        let notices: Vec<(String, Option<i64>)> = reader
            .notifications(None, false)
            .await
            .expect("inbox")
            .items
            .into_iter()
            .filter(|n| n.kind == "special_report_withdrawn")
            .map(|n| (n.body, n.special_report_id))
            .collect();
        assert_eq!(notices, vec![(heading.clone(), Some(issued.id)); told]);
    }
    assert_eq!(
        platform.audited("special_report_withdrawn").await,
        [("supervisor-c".to_owned(), Some(issued.id.to_string()))]
    );

    // Refusals.
    for (bad, code) in [
        ("", "invalid_length"),
        (&"很".repeat(501)[..], "invalid_length"),
    ] {
        let error = withdrawer
            .withdraw_special_report(issued.id, bad)
            .await
            .expect_err("no reason");
        assert_eq!(error.status(), Some(422));
        assert_eq!(error.fields()[0].field, "reason");
        assert_eq!(error.fields()[0].code, code);
    }
    assert_eq!(
        withdrawer
            .withdraw_special_report(424242, reason)
            .await
            .expect_err("no such report")
            .status(),
        Some(404)
    );
    for (client, status) in [
        (leader.clone(), 403),
        (platform.client("citizen-1", "citizen"), 403),
    ] {
        let error = client
            .withdraw_special_report(issued.id, reason)
            .await
            .expect_err("not theirs");
        assert_eq!(error.status(), Some(status));
    }
    let malformed = reqwest::Client::new()
        .post(platform.url(&format!(
            "/api/v1/admin/special-reports/{}/withdraw",
            issued.id
        )))
        .bearer_auth(platform.keys.token("supervisor-c", "supervisor"))
        .header("content-type", "application/json")
        .body("{\"reason\":")
        .send()
        .await
        .expect("answer");
    assert_eq!(malformed.status().as_u16(), 400);
}
