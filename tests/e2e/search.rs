//! Staff search the orders (`GET /api/v1/orders`): a caller's orders by their number (recorded
//! in the audit log), words, status, category, place and agency, within each role's scope, a
//! page at a time; every bad filter a clear 4xx.

use mobile_api::{Channel, OrderAction};
use tests::{Client, ClientError, Platform, copy_order, valid_request};

const CALLER: &str = "13900001111";

/// The status, the error code and the fields named of a refused search.
fn refused(result: Result<mobile_api::StaffOrderPage, ClientError>) -> (u16, String, Vec<String>) {
    let error = result.expect_err("refused");
    let fields = match &error {
        ClientError::Api { envelope, .. } => envelope
            .error
            .fields
            .iter()
            .map(|f| format!("{}:{}", f.field, f.code))
            .collect(),
        _ => Vec::new(),
    };
    (
        error.status().unwrap_or(0),
        error.code().unwrap_or("").to_owned(),
        fields,
    )
}

/// The titles a search finds, in order (one page of up to 100).
async fn titles(client: &Client, query: &[(&str, &str)]) -> Vec<String> {
    let mut query = query.to_vec();
    query.push(("limit", "100"));
    client
        .search_orders(&query)
        .await
        .expect("a search")
        .items
        .into_iter()
        .map(|o| o.title)
        .collect()
}

async fn file(
    client: &Client,
    title: &str,
    change: impl FnOnce(&mut mobile_api::CreateRequest),
) -> String {
    let mut request = valid_request();
    request.title = title.into();
    change(&mut request);
    client
        .create_request(&request, None)
        .await
        .expect("filed")
        .tracking_number
}

/// The plan PostgreSQL ran `statement` by (`$1`: `words`), with the search's settings
/// (`order_store::search::SEARCH_SETTINGS`) or with the connection's own.
async fn plan(
    db: &mut sqlx::PgConnection,
    statement: &str,
    words: &str,
    settings: bool,
) -> Vec<String> {
    let settings = settings.then_some(order_store::search::SEARCH_SETTINGS);
    tests::plan(db, statement, settings, |query| {
        query.bind(words.to_owned())
    })
    .await
}

#[tokio::test]
async fn operators_find_a_callers_orders_by_number_and_each_lookup_is_recorded() {
    let platform = Platform::start().await;
    let operator = platform.client("operator-1", "operator");
    // The caller's first call: the operator files it, and the caller is a citizen by that number.
    file(&operator, "来电：路灯不亮", |r| {
        r.channel = Channel::Phone;
        r.contact_phone = CALLER.into();
    })
    .await;
    // In the app, someone gives the caller's number as the contact.
    file(
        &platform.client("citizen-1", "citizen"),
        "代家人反映：噪音扰民",
        |r| {
            r.contact_phone = CALLER.into();
        },
    )
    .await;
    // Another number's request.
    file(
        &platform.client("citizen-2", "citizen"),
        "别人的诉求",
        |r| {
            r.contact_phone = "13700002222".into();
        },
    )
    .await;
    // The caller on the psychological-support line: a number must not lead to it.
    file(&operator, "心理援助来电", |r| {
        r.channel = Channel::Phone;
        r.contact_phone = CALLER.into();
        r.confidential = true;
    })
    .await;

    assert_eq!(
        titles(&operator, &[("phone", "139-0000-1111")]).await,
        ["代家人反映：噪音扰民", "来电：路灯不亮"],
        "newest first, over all time, written any way the caller says it"
    );
    // A page at a time.
    let first = operator
        .search_orders(&[("phone", CALLER), ("limit", "1")])
        .await
        .expect("a page");
    assert_eq!(first.items.len(), 1);
    let cursor = first.next_cursor.expect("a next page");
    let second = operator
        .search_orders(&[("phone", CALLER), ("limit", "1"), ("cursor", &cursor)])
        .await
        .expect("a page");
    assert_eq!(second.items[0].title, "来电：路灯不亮");
    assert_eq!(second.next_cursor, None);
    // Supervisors search by number too; a number no one has finds nothing (and is recorded).
    let supervisor = platform.client("supervisor-1", "supervisor");
    assert!(
        titles(&supervisor, &[("phone", "13600003333")])
            .await
            .is_empty()
    );

    // Every lookup by number is in the audit log: who, which number.
    let audited = platform.audited("orders_searched_by_phone").await;
    assert_eq!(audited.len(), 4, "{audited:?}");
    assert_eq!(
        audited[0],
        ("supervisor-1".into(), Some("13600003333".into()))
    );
    assert!(
        audited[1..]
            .iter()
            .all(|entry| *entry == ("operator-1".into(), Some(CALLER.into())))
    );

    // Agency staff do not search by number.
    let agency = platform.agency_client("urban-1", "city-urban-management");
    assert_eq!(
        refused(agency.search_orders(&[("phone", CALLER)]).await),
        (403, "forbidden".into(), vec![])
    );
    assert_eq!(
        refused(operator.search_orders(&[("phone", "12345")]).await),
        (
            422,
            "validation_failed".into(),
            vec!["phone:invalid_phone".into()]
        )
    );
    assert_eq!(platform.audited("orders_searched_by_phone").await.len(), 4);

    // Among thousands of others' orders, a caller's are found through the indexes of citizens'
    // and of contact numbers, not by reading the orders newest first until the page is full.
    let mut db = platform.db.acquire().await.expect("a connection");
    tests::execute_all(
        &mut db,
        &[
            "insert into citizens (citizen_id, subject, phone) \
             select gen_random_uuid(), 'caller-' || g, '137' || lpad(g::text, 8, '0') \
             from generate_series(1, 5000) g",
            "insert into work_orders (work_order_id, tracking_number, citizen_id, filed_by, status, \
                 category_id, title, description, address, district_id, contact_phone, channel, \
                 created_at) \
             select gen_random_uuid(), o.tracking_number || '-' || c.subject, c.citizen_id, \
                 c.subject, o.status, o.category_id, o.title, o.description, o.address, \
                 o.district_id, c.phone, o.channel, o.created_at - interval '1 second' \
             from work_orders o, citizens c \
             where o.title = '别人的诉求' and c.subject like 'caller-%'",
            "analyze citizens, work_orders",
        ],
        "others' orders",
    )
    .await;
    assert_eq!(
        titles(&operator, &[("phone", CALLER)]).await,
        ["代家人反映：噪音扰民", "来电：路灯不亮"]
    );
    let callers = order_store::search::CALLERS_ORDERS.replace("{}", "$1");
    let statement = order_store::search::page(&format!("where {callers}"), "21");
    let plan = plan(&mut db, &statement, CALLER, true).await;
    for index in ["work_orders_citizen_newest", "work_orders_by_contact_phone"] {
        assert!(plan.iter().any(|line| line.contains(index)), "{plan:#?}");
    }
    assert!(
        !plan
            .iter()
            .any(|line| line.contains("Seq Scan on work_orders")
                || line.contains("work_orders_newest")),
        "{plan:#?}"
    );
}

#[tokio::test]
async fn staff_search_by_words_status_category_place_and_agency_within_their_scope() {
    let platform = Platform::start().await;
    let operator = platform.client("operator-1", "operator");
    let citizen = platform.client("citizen-1", "citizen");
    let streetlight = file(&citizen, "解放大道路灯不亮", |r| {
        r.description = "解放大道的LED路灯连续三晚不亮，夜间行人很多。".into();
    })
    .await;
    let water = file(&citizen, "小区停水三天", |r| {
        r.category = "utilities.water-supply".into();
        r.description = "金山路某小区停水三天，没有任何通知。".into();
        r.location.address = Some("驿城区金山路１２号院".into());
    })
    .await;
    file(&citizen, "人行道破损", |r| {
        r.category = "urban.road-damage".into();
        r.description = "人行道地砖破损，老人容易绊倒。100%需要修".into();
    })
    .await;
    // Urgent orders go to their district's government as they are filed.
    file(&citizen, "井盖缺失", |r| {
        r.category = "urban.manhole".into();
        r.description = "路口井盖丢失，夜里很危险。".into();
        r.urgent = true;
    })
    .await;
    // The dispatch catalogue sends water supply to the water company as it is filed; the centre
    // dispatches the streetlight.
    operator
        .act(
            &streetlight,
            "dispatch",
            &OrderAction {
                agency: Some("city-urban-management".into()),
                ..Default::default()
            },
        )
        .await
        .expect("dispatched");

    // Words in the title, the description or the address; a tracking number as itself.
    assert_eq!(
        titles(&operator, &[("q", "路灯")]).await,
        ["解放大道路灯不亮"]
    );
    assert_eq!(
        titles(&operator, &[("q", "没有任何通知")]).await,
        ["小区停水三天"]
    );
    assert_eq!(
        titles(&operator, &[("q", "金山路")]).await,
        ["小区停水三天"]
    );
    assert_eq!(titles(&operator, &[("q", &water)]).await, ["小区停水三天"]);
    assert_eq!(
        titles(&operator, &[("q", &water.to_lowercase())]).await,
        ["小区停水三天"]
    );
    // Latin letters in any case, and letters, digits and signs in either width (as typed in
    // full width, ＬＥＤ, or half, 12号); one character as well as several.
    assert_eq!(
        titles(&operator, &[("q", "led路灯")]).await,
        ["解放大道路灯不亮"]
    );
    assert_eq!(
        titles(&operator, &[("q", "ｌｅｄ路灯")]).await,
        ["解放大道路灯不亮"]
    );
    assert_eq!(
        titles(&operator, &[("q", "金山路12号")]).await,
        ["小区停水三天"]
    );
    assert_eq!(
        titles(&operator, &[("q", "１")]).await,
        ["人行道破损", "小区停水三天"]
    );
    assert_eq!(titles(&operator, &[("q", "水")]).await, ["小区停水三天"]);
    assert!(titles(&operator, &[("q", "路灯停水")]).await.is_empty());
    // `%` and `_` are themselves, not patterns.
    assert_eq!(titles(&operator, &[("q", "100%")]).await, ["人行道破损"]);
    assert!(titles(&operator, &[("q", "%")]).await.len() == 1);
    assert_eq!(
        titles(&operator, &[("q", "１００％")]).await,
        ["人行道破损"]
    );
    assert!(titles(&operator, &[("q", "_")]).await.is_empty());
    assert!(titles(&operator, &[("q", "＿")]).await.is_empty());
    assert!(titles(&operator, &[("q", "\\")]).await.is_empty());
    // Status (one or several), category (a first-level one covers its children), urgency,
    // channel, district, agency.
    assert_eq!(
        titles(&operator, &[("status", "received")]).await,
        ["人行道破损"]
    );
    assert_eq!(
        titles(&operator, &[("status", "dispatched,received")]).await,
        ["井盖缺失", "人行道破损", "小区停水三天", "解放大道路灯不亮"]
    );
    assert_eq!(
        titles(&operator, &[("category", "urban")]).await,
        ["井盖缺失", "人行道破损", "解放大道路灯不亮"]
    );
    assert_eq!(
        titles(&operator, &[("category", "urban.streetlight")]).await,
        ["解放大道路灯不亮"]
    );
    assert_eq!(titles(&operator, &[("urgent", "true")]).await, ["井盖缺失"]);
    assert_eq!(
        titles(&operator, &[("channel", "app"), ("district", "yicheng")])
            .await
            .len(),
        4
    );
    assert!(titles(&operator, &[("channel", "wechat")]).await.is_empty());
    assert_eq!(
        titles(&operator, &[("agency", "utility-water")]).await,
        ["小区停水三天"]
    );
    assert!(titles(&operator, &[("overdue", "true")]).await.is_empty());
    assert_eq!(titles(&operator, &[("overdue", "false")]).await.len(), 4);
    // The span: today is in the default one; a span that ends before today finds nothing.
    assert!(
        titles(&operator, &[("from", "2025-01-01"), ("to", "2025-12-31")])
            .await
            .is_empty()
    );

    // Agency staff find their own agency's orders only.
    let urban = platform.agency_client("urban-1", "city-urban-management");
    assert_eq!(titles(&urban, &[]).await, ["解放大道路灯不亮"]);
    assert_eq!(
        titles(
            &urban,
            &[("agency", "city-urban-management"), ("q", "路灯")]
        )
        .await,
        ["解放大道路灯不亮"]
    );
    assert!(titles(&urban, &[("q", "停水")]).await.is_empty());
    assert_eq!(
        refused(urban.search_orders(&[("agency", "utility-water")]).await),
        (403, "forbidden".into(), vec![])
    );
    // And those it is asked to help with (协办), until the request is taken back.
    let help = |field: &str| OrderAction {
        agency: Some("city-urban-management".into()),
        note: (field == "note").then(|| "请协助核实停水路段的管网施工情况".into()),
        reason: (field == "reason").then(|| "供水公司已查明原因".into()),
        ..Default::default()
    };
    operator
        .act(&water, "ask_co_handling", &help("note"))
        .await
        .expect("asked to help");
    assert_eq!(
        titles(&urban, &[]).await,
        ["小区停水三天", "解放大道路灯不亮"]
    );
    assert_eq!(titles(&urban, &[("q", "停水")]).await, ["小区停水三天"]);
    // The centre's `agency` is the one holding the order.
    assert_eq!(
        titles(&operator, &[("agency", "city-urban-management")]).await,
        ["解放大道路灯不亮"]
    );
    operator
        .act(&water, "cancel_co_handling", &help("reason"))
        .await
        .expect("taken back");
    assert!(titles(&urban, &[("q", "停水")]).await.is_empty());
    // Citizens and city leaders are turned away by the gateway.
    for client in [citizen, platform.client("leader-1", "leader")] {
        assert_eq!(refused(client.search_orders(&[]).await).0, 403);
    }

    // Every bad filter is named.
    let long = "字".repeat(51);
    for (query, expected) in [
        (vec![("status", "done")], "status:invalid_value"),
        (vec![("category", "nothing")], "category:unknown"),
        (vec![("district", "atlantis")], "district:unknown"),
        (vec![("agency", "no-such-agency")], "agency:unknown"),
        (vec![("channel", "fax")], "channel:invalid_value"),
        (vec![("urgent", "yes")], "urgent:invalid_value"),
        (vec![("overdue", "1")], "overdue:invalid_value"),
        (vec![("from", "2026-13-01")], "from:invalid_date"),
        (
            vec![("from", "2026-11-02"), ("to", "2026-11-01")],
            "to:before_from",
        ),
        (
            vec![("from", "2025-01-01"), ("to", "2026-11-01")],
            "from:range_too_long",
        ),
        (vec![("limit", "0")], "limit:out_of_range"),
        (vec![("q", long.as_str())], "q:too_long"),
    ] {
        assert_eq!(
            refused(operator.search_orders(&query).await),
            (422, "validation_failed".into(), vec![expected.to_owned()]),
            "{query:?}"
        );
    }
    assert_eq!(
        refused(operator.search_orders(&[("cursor", "not-a-cursor")]).await),
        (400, "invalid_cursor".into(), vec![])
    );

    // The same search whole, as a spreadsheet's CSV; each export in the audit log.
    let csv = operator
        .export_orders(&[("category", "urban")])
        .await
        .expect("an export");
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(
        lines[0],
        "\u{feff}工单编号,受理时间,状态,类别,标题,紧急,承办单位,办理时限"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[1].contains(",井盖缺失,是,"), "{}", lines[1]);
    assert!(lines[3].starts_with(&streetlight), "{}", lines[3]);
    operator
        .export_orders(&[("q", "路灯"), ("urgent", "false")])
        .await
        .expect("an export by words");
    let theirs = urban.export_orders(&[]).await.expect("an export");
    assert_eq!(theirs.trim_end().split("\r\n").count(), 2, "{theirs}");
    let error = operator
        .export_orders(&[("limit", "10")])
        .await
        .expect_err("refused");
    assert_eq!(error.status(), Some(422));
    let exported = platform.audited("orders_exported").await;
    assert_eq!(
        exported,
        [
            ("urban-1".to_owned(), Some(String::new())),
            (
                "operator-1".to_owned(),
                Some("q=路灯&urgent=false".to_owned())
            ),
            ("operator-1".to_owned(), Some("category=urban".to_owned()))
        ]
    );
    // Through the front door it comes as a download, named for when it was made (China time).
    let day = || {
        chrono::Utc::now()
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
            .format("%Y%m%d")
            .to_string()
    };
    let before = day();
    let answer = reqwest::Client::new()
        .get(platform.url("/api/v1/orders/export?category=urban"))
        .bearer_auth(platform.keys.token("operator-1", "operator"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status(), 200);
    let named = answer
        .headers()
        .get("content-disposition")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    assert!(
        [before, day()]
            .iter()
            .any(|day| named.starts_with(&format!("attachment; filename=\"orders-{day}-")))
            && named.ends_with(".csv\""),
        "{named:?}"
    );
}

/// An agency's staff search its orders among every agency's: a page of the orders it holds and
/// of those it helps with (协办), newest first across both, read through indexes of that agency's
/// alone, not by reading every agency's orders newest first until the page is full (for an
/// agency with fewer than a page in the span, every order of it).
#[tokio::test]
async fn an_agency_searches_its_own_orders_without_reading_every_agencys() {
    let platform = Platform::start().await;
    let operator = platform.client("operator-1", "operator");
    let citizen = platform.client("citizen-1", "citizen");
    let dispatch = OrderAction {
        agency: Some("city-urban-management".into()),
        ..Default::default()
    };
    let held = file(&citizen, "解放大道路灯不亮", |_| {}).await;
    operator
        .act(&held, "dispatch", &dispatch)
        .await
        .expect("dispatched");
    // The dispatch catalogue sends water supply to the water company; the urban management
    // bureau is asked to help with it.
    let helped = file(&citizen, "小区停水三天", |r| {
        r.category = "utilities.water-supply".into();
        r.description = "金山路某小区停水三天，没有任何通知。".into();
    })
    .await;
    operator
        .act(
            &helped,
            "ask_co_handling",
            &OrderAction {
                note: Some("请协助核实停水路段的管网施工情况".into()),
                ..dispatch.clone()
            },
        )
        .await
        .expect("asked to help");
    let later = file(&citizen, "人民路路灯闪烁", |_| {}).await;
    operator
        .act(&later, "dispatch", &dispatch)
        .await
        .expect("dispatched");

    // Twenty thousand of the water company's orders filed since, another agency helping with
    // each.
    let mut db = platform.db.acquire().await.expect("a connection");
    tests::execute_all(
        &mut db,
        &[
            "update work_orders set created_at = created_at - interval '1 hour'",
            "insert into work_orders (work_order_id, tracking_number, citizen_id, filed_by, status, \
                 category_id, title, description, address, district_id, contact_phone, channel, \
                 agency_id, dispatched_at, deadline_at, created_at) \
             select gen_random_uuid(), o.tracking_number || '-' || g, o.citizen_id, o.filed_by, \
                 o.status, o.category_id, '别的单位的工单', o.description, o.address, \
                 o.district_id, o.contact_phone, o.channel, o.agency_id, o.dispatched_at, \
                 o.deadline_at, now() - g * interval '100 milliseconds' \
             from work_orders o, generate_series(1, 20000) g where o.title = '小区停水三天'",
            "insert into work_order_co_handlers (work_order_id, agency_id, request, asked_by, \
                 asked_at, due_at) \
             select work_order_id, 'city-civil-affairs', '请协助核实', 'operator-1', created_at, \
                 created_at + interval '3 days' \
             from work_orders where title = '别的单位的工单'",
            "analyze work_orders, work_order_co_handlers",
        ],
        "the water company's orders, the civil affairs bureau helping with each",
    )
    .await;

    let staff = platform.agency_client("urban-1", "city-urban-management");
    let newest = ["人民路路灯闪烁", "小区停水三天", "解放大道路灯不亮"];
    assert_eq!(titles(&staff, &[]).await, newest);
    assert_eq!(
        titles(&staff, &[("q", "路灯")]).await,
        [newest[0], newest[2]]
    );
    assert_eq!(titles(&staff, &[("q", "停水")]).await, [newest[1]]);
    // A page at a time, across both.
    let mut cursor: Option<String> = None;
    for title in newest {
        let mut query = vec![("limit", "1")];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor));
        }
        let page = staff.search_orders(&query).await.expect("a page");
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].title, title);
        cursor = page.next_cursor;
    }
    assert_eq!(cursor, None);
    // The centre's search of the agency's orders: those it holds.
    assert_eq!(
        titles(&operator, &[("agency", "city-urban-management")]).await,
        [newest[0], newest[2]]
    );

    let span = "o.created_at >= now() - interval '30 days'";
    for (scope, index) in [
        (
            order_store::search::AGENCYS_OWN.replace("{}", "$1"),
            "work_orders_agency_newest",
        ),
        (
            order_store::search::agencys_co_handled("$1"),
            "work_order_co_handlers_by_agency",
        ),
    ] {
        let filter = format!("where {scope} and {span}");
        let statement = order_store::search::page(&filter, "21");
        let plan = plan(&mut db, &statement, "city-urban-management", true).await;
        assert!(plan.iter().any(|line| line.contains(index)), "{plan:#?}");
        assert!(tests::most_rows_read(&plan) < 100, "{plan:#?}");
    }
}

/// What was added to a request after filing it (补充说明) is searched as its own text is: the
/// order is found once, in its place newest first, whether the words are in it, in a
/// supplement or in both, a page at a time, and in the export.
#[tokio::test]
async fn words_are_found_in_supplements_too() {
    let platform = Platform::start().await;
    let operator = platform.client("operator-1", "operator");
    let citizen = platform.client("citizen-1", "citizen");
    let puddle = file(&citizen, "路面积水", |r| {
        r.description = "下雨后路面积水很深，车辆经过溅人一身。".into();
    })
    .await;
    let noise = file(&citizen, "幸福超市门口噪音扰民", |_| {}).await;
    file(&citizen, "人行道破损", |_| {}).await;
    let supplement = |words: &str| mobile_api::NewSupplement {
        text: words.into(),
        photo_urls: Vec::new(),
    };
    assert!(titles(&operator, &[("q", "幸福超市东侧")]).await.is_empty());
    citizen
        .supplement(
            &puddle,
            &supplement("积水在幸福超市东侧的路口，约２０米长。"),
            None,
        )
        .await
        .expect("supplemented");
    citizen
        .supplement(&noise, &supplement("幸福超市晚上十点以后还在卸货。"), None)
        .await
        .expect("supplemented");

    assert_eq!(
        titles(&operator, &[("q", "幸福超市东侧")]).await,
        ["路面积水"]
    );
    // In any width, as an order's own text.
    assert_eq!(titles(&operator, &[("q", "约20米")]).await, ["路面积水"]);
    // Each order once, newest first, whether the words are in it, in a supplement, or both.
    assert_eq!(
        titles(&operator, &[("q", "幸福超市")]).await,
        ["幸福超市门口噪音扰民", "路面积水"]
    );
    assert_eq!(
        titles(&operator, &[("q", "福")]).await,
        ["幸福超市门口噪音扰民", "路面积水"]
    );
    assert_eq!(
        titles(&operator, &[("q", "卸货")]).await,
        ["幸福超市门口噪音扰民"]
    );
    // A page at a time.
    let first = operator
        .search_orders(&[("q", "幸福超市"), ("limit", "1")])
        .await
        .expect("a page");
    assert_eq!(first.items.len(), 1);
    assert_eq!(first.items[0].tracking_number, noise);
    let cursor = first.next_cursor.expect("another page");
    let second = operator
        .search_orders(&[("q", "幸福超市"), ("limit", "1"), ("cursor", &cursor)])
        .await
        .expect("a page");
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].tracking_number, puddle);
    assert_eq!(second.next_cursor, None);
    // Within the searcher's scope and the other filters.
    let urban = platform.agency_client("urban-1", "city-urban-management");
    assert!(titles(&urban, &[("q", "幸福超市")]).await.is_empty());
    assert!(
        titles(&operator, &[("q", "幸福超市"), ("urgent", "true")])
            .await
            .is_empty()
    );
    let csv = operator
        .export_orders(&[("q", "东侧")])
        .await
        .expect("an export");
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].starts_with(&puddle), "{}", lines[1]);
}

/// The words clause a search runs is the one the words index (`work_orders_words`) serves: with
/// the scans that read every order, or read them in filing order, turned off, PostgreSQL can
/// answer it only through that index (and the tracking numbers'). Were the clause's expression
/// to drift from the index's, it could not, and every search by words would read the span.
/// Words with no pair of characters (one character, or two that are one in compatibility form)
/// are not looked up through it (it would give every order) but through the characters index
/// (`work_orders_characters`), and words with pairs not through that one.
/// And what an index answered is not checked again on every order it gives.
#[tokio::test]
async fn words_are_looked_up_through_their_index() {
    let platform = Platform::start().await;
    let mut db = platform.db.acquire().await.expect("a connection");
    for setting in ["set enable_seqscan = off", "set enable_indexscan = off"] {
        sqlx::query(setting).execute(&mut *db).await.expect(setting);
    }
    let words = order_store::search::words_clause("$1");
    let statement = order_store::search::page(&format!("where {words}"), "21");
    for (words, paired) in [
        ("停水", true),
        ("ＬＥ", true),
        ("水", false),
        ("e\u{301}", false),
    ] {
        let plan: Vec<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("explain {statement}")))
                .bind(words)
                .fetch_all(&mut *db)
                .await
                .expect("a plan");
        let plan = plan.join("\n");
        assert_eq!(
            plan.contains("Bitmap Index Scan on work_orders_words"),
            paired,
            "{words:?} through the words index:\n{plan}"
        );
        assert_eq!(
            plan.contains("Bitmap Index Scan on work_orders_characters"),
            !paired,
            "{words:?} through the characters index:\n{plan}"
        );
        // What an index answered is not asked again of each order it gives: an order's pairs
        // or characters cost ten times what matching its text does.
        assert!(
            !plan.lines().any(|line| line.contains("Filter:")
                && (line.contains("search_bigrams(") || line.contains("search_characters("))),
            "{words:?}: each order's pairs or characters computed again:\n{plan}"
        );
    }
}

/// An order's pairs and characters (`search_bigrams`, `search_characters`: the keys of the
/// words and characters indexes, migration 70) are those of its text as words are found in it
/// (`search_text`), element for element as the queries of migrations 64 and 66 gave them, for
/// text of every kind; and they are found with only the built-ins on the `search_path`, as an
/// index may be built again or analysed.
#[tokio::test]
async fn an_orders_pairs_and_characters_are_those_of_its_text_as_searched() {
    let platform = Platform::start().await;
    let mut db = platform.db.acquire().await.expect("a connection");
    let long = "解放大道路灯连续三晚不亮，".repeat(150);
    let texts: Vec<Option<Vec<Option<&str>>>> = vec![
        Some(vec![
            Some("路灯不亮"),
            Some(&long),
            Some("驿城区解放大道幸福家园"),
            None,
        ]),
        Some(vec![
            Some("ＬＥＤ灯"),
            Some("３号楼 PM2.5"),
            Some("ｶﾞｽ"),
            Some(""),
        ]),
        Some(vec![
            Some("e\u{301}f"),
            Some("ﬁⅫ"),
            Some("\u{F900}暖"),
            Some("İSTANBUL"),
        ]),
        Some(vec![
            Some("a\nb\r\nc"),
            Some("\n\n"),
            Some("😀😁x"),
            Some("ab"),
        ]),
        Some(vec![Some("a"), Some("abc"), Some("abcd"), Some("㐀㐁㐂")]),
        Some(vec![None, None, None, None]),
        Some(vec![Some(""), Some("")]),
        Some(vec![None]),
        Some(vec![]),
        None,
    ];
    let queried = "select array(select m[1] \
                                 from unnest($1::text[]) part, \
                                      lateral (select search_text(part)) l(w), \
                                      lateral (select regexp_matches(w, '(..)', 'g') \
                                               union all \
                                               select regexp_matches(substr(w, 2), '(..)', 'g')) p(m)), \
                          array(select c from unnest($1::text[]) part, \
                                              lateral string_to_table(search_text(part), null) c), \
                          search_bigrams(variadic $1::text[]), \
                          search_characters(variadic $1::text[])";
    for parts in &texts {
        let (pairs_queried, characters_queried, pairs, characters): (
            Vec<String>,
            Vec<String>,
            Vec<String>,
            Vec<String>,
        ) = sqlx::query_as(queried)
            .bind(parts)
            .fetch_one(&mut *db)
            .await
            .expect("the pairs and characters");
        assert_eq!(pairs, pairs_queried, "{parts:?}");
        assert_eq!(characters, characters_queried, "{parts:?}");
        if parts
            .as_ref()
            .is_some_and(|p| p.iter().flatten().any(|t| t.chars().count() > 1))
        {
            assert!(!pairs.is_empty() && !characters.is_empty(), "{parts:?}");
        }
    }
    // With only the built-ins on the path, as maintenance may run.
    let schema: String = sqlx::query_scalar("select current_schema()")
        .fetch_one(&mut *db)
        .await
        .expect("the schema");
    let mut maintenance = platform.db.begin().await.expect("a transaction");
    sqlx::query("set local search_path = pg_catalog, pg_temp")
        .execute(&mut *maintenance)
        .await
        .expect("the path");
    let (pairs, characters): (Vec<String>, Vec<String>) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select \"{schema}\".search_bigrams('幸福', 'ＬＥＤ'), \
                \"{schema}\".search_characters('幸福', 'ＬＥＤ')"
        )))
        .fetch_one(&mut *maintenance)
        .await
        .expect("found with only the built-ins");
    assert_eq!(pairs, ["幸福", "le", "ed"]);
    assert_eq!(characters, ["幸", "福", "l", "e", "d"]);
}

/// What filings write to the words and characters indexes is merged into them by routing's
/// schedule, every ten seconds (`merge_search_pending_lists`, migration 67), not left in their
/// pending lists until 4 MB of it piles up: every lookup through the index reads the list whole.
#[tokio::test]
async fn the_search_indexes_are_merged_by_their_schedule() {
    let platform = Platform::start().await;
    let mut db = platform.db.acquire().await.expect("a connection");
    sqlx::query("create extension if not exists pgstattuple")
        .execute(&mut *db)
        .await
        .expect("pgstattuple");
    let runs = async || {
        platform
            .metrics()
            .await
            .get("hotline_schedule_runs_total{component=\"routing\",route=\"/internal/search-indexes\",outcome=\"ok\"}")
            .copied()
            .unwrap_or(0.0)
    };
    let mut pending = async || -> Vec<i64> {
        let mut tuples = Vec::new();
        for index in ["work_orders_words", "work_orders_characters"] {
            tuples.push(
                sqlx::query_scalar(
                    "select pending_tuples::bigint from pgstatginindex($1::regclass)",
                )
                .bind(index)
                .fetch_one(&mut *db)
                .await
                .expect("the index's pending list"),
            );
        }
        tuples
    };
    // Filed just after a run, the orders wait in the lists for the next one, ten seconds on.
    let before = runs().await;
    for _ in 0..150 {
        if runs().await > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(runs().await > before, "the schedule ran");
    let citizen = platform.client("citizen-1", "citizen");
    for title in ["燃气表漏气", "路灯不亮", "井盖缺失"] {
        file(&citizen, title, |_| {}).await;
    }
    let waiting = pending().await;
    assert!(
        waiting.iter().all(|&tuples| tuples > 0),
        "the filings wait in the pending lists: {waiting:?}"
    );
    let mut left = waiting;
    for _ in 0..300 {
        left = pending().await;
        if left.iter().all(|&tuples| tuples == 0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, [0, 0], "the pending lists merged by the schedule");
    let operator = platform.client("operator-1", "operator");
    assert_eq!(titles(&operator, &[("q", "燃")]).await, ["燃气表漏气"]);
    assert_eq!(titles(&operator, &[("q", "井盖")]).await, ["井盖缺失"]);
}

/// The orders an index gives a search stay exact in its bitmap, however many pages hold them
/// (`order_store::search::SEARCH_SETTINGS`: 64 MB of `work_mem`). Kept only page by page
/// (lossy), each order of those pages would be checked again and its pairs computed. Here the
/// connection's own `work_mem` is the least PostgreSQL allows (64 kB, about a thousand pages),
/// which 8000 orders holding the words overflow (their long descriptions put four on a page),
/// as a year of ten million orders overflows the default 4 MB.
#[tokio::test]
async fn a_search_keeps_the_orders_an_index_gives_exact() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    let filed = file(&citizen, "路灯不亮", |_| {}).await;
    let mut db = platform.db.acquire().await.expect("a connection");
    copy_order(
        &mut db,
        &filed,
        7999,
        "description || repeat('。', 500)",
        "'驿城区幸福家园小区'",
    )
    .await;
    for setting in [
        "set enable_seqscan = off",
        "set enable_indexscan = off",
        "set work_mem = '64kB'",
    ] {
        sqlx::query(setting).execute(&mut *db).await.expect(setting);
    }
    let statement = order_store::search::page(
        &format!("where {}", order_store::search::words_clause("$1")),
        "10001",
    );
    let mut heap_blocks = async |settings: bool| {
        plan(&mut db, &statement, "幸福家园", settings)
            .await
            .into_iter()
            .find(|line| line.contains("Heap Blocks:"))
            .unwrap_or_else(|| panic!("through an index, with {settings:?}"))
    };
    let small = heap_blocks(false).await;
    assert!(small.contains("lossy="), "64 kB holds them: {small}");
    let searched = heap_blocks(true).await;
    assert!(!searched.contains("lossy="), "the search's: {searched}");
}

/// A search's statements start no parallel workers and are not compiled to machine code
/// (`order_store::search::SEARCH_SETTINGS`): each reads few orders, and starting workers or
/// compiling cost more than the read (over ten million orders, 燃 took 28 to 48 ms a read of
/// the characters index compiled, 2 not). Here the connection's own settings make both as
/// cheap as PostgreSQL allows, so that it would plan both for any statement.
#[tokio::test]
async fn a_search_starts_no_workers_and_compiles_nothing() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    let filed = file(&citizen, "燃气表漏气", |_| {}).await;
    let mut db = platform.db.acquire().await.expect("a connection");
    copy_order(&mut db, &filed, 2000, "description", "address").await;
    for setting in [
        "set parallel_setup_cost = 0",
        "set parallel_tuple_cost = 0",
        "set min_parallel_table_scan_size = 0",
        "set min_parallel_index_scan_size = 0",
        "set jit_above_cost = 0",
    ] {
        sqlx::query(setting).execute(&mut *db).await.expect(setting);
    }
    let statement = order_store::search::held_page(
        &format!("where {}", order_store::search::words_clause("$1")),
        "21",
    );
    let own = plan(&mut db, &statement, "燃", false).await.join("\n");
    assert!(own.contains("Workers Launched"), "workers planned: {own}");
    assert!(own.contains("JIT:"), "compiled: {own}");
    let searched = plan(&mut db, &statement, "燃", true).await.join("\n");
    assert!(!searched.contains("Workers"), "the search's: {searched}");
    assert!(!searched.contains("JIT:"), "the search's: {searched}");
}

/// Words a good share of the orders hold are found by reading the newest orders, which
/// PostgreSQL, taking the words for rare ones, would read every order holding them to find
/// (`order_store::search::find`): one read when it fills the page, a second, further one when
/// the first found the words a few times (then, if that did not fill the page, those of the
/// last days, and the search's own statement), and a read of the orders holding them, through
/// the words or characters index, when it found them less often (`held_page`: PostgreSQL may
/// take rare words for common ones too), after those of the last day (`slice`, through the
/// same index by the hour each order was filed in: words of an event earlier in the day).
/// Where that many orders hold them, those of the last eight and sixty-four days are read
/// before them all. An export's page is read the same way. Whichever answers, the page is the
/// newest that hold the words, and paging through them finds each once.
#[tokio::test]
async fn words_many_orders_hold_are_found_among_the_newest() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    let operator = platform.client("operator-1", "operator");
    let filed = file(&citizen, "路灯不亮", |_| {}).await;
    let mut db = platform.db.acquire().await.expect("a connection");
    // 3000 orders a minute apart: one in 30 at 幸福家园, else one in 200 at 平安里, else one in
    // five of those filed 18 to 23 hours ago at 康乐苑 (an event earlier in the day).
    copy_order(
        &mut db,
        &filed,
        2999,
        "description",
        "case when g % 30 = 0 then '驿城区幸福家园小区' \
              when g % 200 = 0 then '驿城区平安里' \
              when g % 5 = 0 and g between 1100 and 1400 then '驿城区康乐苑' else address end",
    )
    .await;
    // Before them, as many orders as the search reads through the index at most, all at 和平里:
    // words many orders hold, none of the newest thousand.
    copy_order(
        &mut db,
        &format!("{filed}-2999"),
        i32::try_from(order_store::search::HELD_MOST).expect("a count"),
        "description",
        "'驿城区和平里'",
    )
    .await;

    const NEWEST: &str = "newest";
    const MANY: &str = "many";
    const HELD: &str = "held";
    const SLICE: &str = "slice";
    const PAGE: &str = "page";
    for (words, held, reads, exported, index) in [
        (
            "幸福家园",
            99,
            &[NEWEST][..],
            &[NEWEST, NEWEST, SLICE, SLICE, SLICE, PAGE][..],
            "words",
        ),
        (
            "平安里",
            10,
            &[NEWEST, NEWEST, SLICE, SLICE, SLICE, PAGE],
            &[NEWEST, NEWEST, SLICE, SLICE, SLICE, PAGE],
            "words",
        ),
        // None of the newest thousand, but a page of the last day's orders.
        (
            "康乐苑",
            50,
            &[NEWEST, SLICE],
            &[NEWEST, SLICE, MANY, HELD],
            "words",
        ),
        (
            "燃气泄漏",
            0,
            &[NEWEST, SLICE, MANY, HELD],
            &[NEWEST, SLICE, MANY, HELD],
            "words",
        ),
        (
            "幸",
            99,
            &[NEWEST],
            &[NEWEST, NEWEST, SLICE, SLICE, SLICE, PAGE],
            "characters",
        ),
        (
            "燃",
            0,
            &[NEWEST, SLICE, MANY, HELD],
            &[NEWEST, SLICE, MANY, HELD],
            "characters",
        ),
        // Filed 50 to 67 hours ago: the last day's slice holds none, eight days' a page;
        // an export's page only a read of them all.
        (
            "和平里",
            usize::try_from(order_store::search::HELD_MOST).expect("a count"),
            &[NEWEST, SLICE, MANY, SLICE],
            &[NEWEST, SLICE, MANY, SLICE, SLICE, HELD],
            "words",
        ),
    ] {
        let everything: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select o.tracking_number from work_orders o where {} \
             order by o.created_at desc, o.work_order_id desc",
            order_store::search::words_clause("$1")
        )))
        .bind(words)
        .fetch_all(&mut *db)
        .await
        .expect("the orders holding the words");
        assert_eq!(everything.len(), held, "{words}");
        for (fetch, expected) in [(21, reads), (10_001, exported)] {
            let mut statements = Vec::new();
            let page = order_store::search::find(
                "",
                Some("$1"),
                "now()",
                &fetch.to_string(),
                fetch,
                async |statement| {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                        .bind(words)
                        .fetch_all(&mut *db)
                        .await?;
                    // `held_many`'s row says only that many hold the words.
                    let counted = statement.contains("having count(*)");
                    statements.push(statement);
                    rows.iter()
                        .map(|row| {
                            if counted {
                                Ok(String::new())
                            } else {
                                sqlx::Row::try_get::<String, _>(row, "tracking_number")
                            }
                        })
                        .collect::<Result<Vec<_>, _>>()
                },
            )
            .await
            .expect("a page");
            assert_eq!(page, everything[..held.min(fetch)], "{words}, {fetch}");
            let kinds: Vec<&str> = statements
                .iter()
                .map(|statement| {
                    if statement.contains("having count(*)") {
                        MANY
                    } else if statement.contains("search_hour(o.created_at) >=") {
                        SLICE
                    } else if statement.starts_with("with held") {
                        HELD
                    } else if statement.contains("from (select o.* from work_orders o") {
                        NEWEST
                    } else {
                        PAGE
                    }
                })
                .collect();
            assert_eq!(kinds, expected, "{words}, {fetch}: statements run");
            // What the orders holding the words are read through, over more orders than these
            // few pages (where reading them all in turn costs no more).
            if let Some(last) = statements.last().filter(|s| s.starts_with("with held")) {
                sqlx::query("set enable_seqscan = off")
                    .execute(&mut *db)
                    .await
                    .expect("reading in turn off");
                let plan: Vec<String> =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("explain {last}")))
                        .bind(words)
                        .fetch_all(&mut *db)
                        .await
                        .expect("a plan");
                sqlx::query("reset enable_seqscan")
                    .execute(&mut *db)
                    .await
                    .expect("reading in turn on");
                let plan = plan.join("\n");
                assert!(
                    plan.contains(&format!("Bitmap Index Scan on work_orders_{index}")),
                    "{words}: {plan}"
                );
                let sliced = last.contains("search_hour(o.created_at) >=");
                assert_eq!(
                    plan.contains("Index Cond: ((search_hour(created_at) >="),
                    sliced,
                    "{words}: {plan}"
                );
            }
        }

        // Through the API, a page at a time (the first five pages of 和平里).
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        while found.len() < 100 {
            let mut query = vec![("q", words), ("limit", "20")];
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.as_str()));
            }
            let page = operator.search_orders(&query).await.expect("a page");
            found.extend(page.items.into_iter().map(|o| o.tracking_number));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(found, everything[..held.min(100)], "{words}");
    }
}

/// PostgreSQL knows how many orders hold the words, as the words clause compares them (the
/// statistics `work_orders_search_text`, migration 64): where every order holds them, it
/// expects about every order to match (and reads the newest until a page is full). Without
/// them it took every search for a rare one and, for words most orders hold, read them all
/// through the words index and sorted them.
#[tokio::test]
async fn words_most_orders_hold_are_known_to_be_common() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    let filed = file(&citizen, "路灯不亮", |_| {}).await;
    let mut db = platform.db.acquire().await.expect("a connection");
    copy_order(&mut db, &filed, 299, "description", "address").await;
    let words = order_store::search::words_clause("$1");
    let plan: serde_json::Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "explain (format json) select o.work_order_id from work_orders o where {words}"
    )))
    .bind("路灯")
    .fetch_one(&mut *db)
    .await
    .expect("a plan");
    let expected = plan[0]["Plan"]["Plan Rows"].as_f64().expect("an estimate");
    assert!(
        expected >= 150.0,
        "PostgreSQL expects {expected} of 300 orders to hold 路灯, each of which does"
    );
}
