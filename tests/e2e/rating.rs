//! Follow-ups and the KPIs: a scripted month of orders with known outcomes gives exactly the
//! expected counts, rates and ranks for every grouping, and every figure drills down to its cases.

use chrono::{Duration, Utc};
use mobile_api::{Kpi, KpiGroup, KpiReport, OrderAction};
use tests::{Client, ClientError, Options, Platform, valid_request};

const URBAN: &str = "city-urban-management";
const WATER: &str = "utility-water";

fn with(f: impl FnOnce(&mut OrderAction)) -> OrderAction {
    let mut action = OrderAction::default();
    f(&mut action);
    action
}

fn note(text: &str) -> OrderAction {
    with(|a| a.note = Some(text.into()))
}

struct Cast {
    citizen: Client,
    operator: Client,
    supervisor: Client,
    urban: Client,
    water: Client,
}

impl Cast {
    fn of(platform: &Platform) -> Cast {
        Cast {
            citizen: platform.client("citizen-1", "citizen"),
            operator: platform.client("operator-1", "operator"),
            supervisor: platform.client("supervisor-1", "supervisor"),
            urban: platform.agency_client("urban-staff-1", URBAN),
            water: platform.agency_client("water-staff-1", WATER),
        }
    }

    fn staff(&self, agency: &str) -> &Client {
        if agency == URBAN {
            &self.urban
        } else {
            &self.water
        }
    }

    async fn file(&self, category: &str) -> String {
        let mut request = valid_request();
        request.category = category.into();
        self.citizen
            .create_request(&request, None)
            .await
            .expect("filed")
            .tracking_number
    }

    /// Dispatched to `agency`, by the operator unless the catalogue did it at filing.
    async fn dispatch(&self, id: &str, agency: &str) {
        let order = self.supervisor.order(id).await.expect("order");
        if order.status == "received" {
            self.operator
                .act(id, "dispatch", &with(|a| a.agency = Some(agency.into())))
                .await
                .expect("dispatched");
        } else {
            assert_eq!(order.agency.map(|a| a.code).as_deref(), Some(agency));
        }
    }

    /// Dispatched, signed, the citizen called, replied, and the reply passed audit.
    async fn handled(&self, category: &str, agency: &str) -> String {
        let id = self.file(category).await;
        self.dispatch(&id, agency).await;
        self.reply(&id, agency).await;
        id
    }

    async fn reply(&self, id: &str, agency: &str) {
        let staff = self.staff(agency);
        let order = self.supervisor.order(id).await.expect("order");
        if order.status == "dispatched" {
            staff
                .act(id, "sign", &OrderAction::default())
                .await
                .expect("signed");
        }
        if order.contacted_at.is_none() {
            staff
                .act(id, "contact", &OrderAction::default())
                .await
                .expect("contacted");
        }
        staff
            .act(id, "reply", &with(|a| a.result = Some("已处理".into())))
            .await
            .expect("replied");
        self.supervisor
            .act(id, "pass_audit", &OrderAction::default())
            .await
            .expect("audited");
    }
}

/// Sets an order's times, relative to the database's clock, e.g. `dispatched_at = now() - interval '10 days'`.
async fn set(platform: &Platform, id: &str, assignments: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "update work_orders set {assignments} where tracking_number = $1"
    )))
    .bind(id)
    .execute(&platform.db)
    .await
    .expect("times set");
}

type Query = Vec<(&'static str, String)>;

async fn kpis(client: &Client, query: Query) -> Result<KpiReport, ClientError> {
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.kpis(&query).await
}

async fn cases(client: &Client, query: Query) -> Result<mobile_api::KpiCaseList, ClientError> {
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.kpi_cases(&query).await
}

fn counts(kpi: &Kpi) -> (u64, u64, u64) {
    (kpi.numerator, kpi.denominator, kpi.excluded)
}

fn group<'a>(report: &'a KpiReport, key: &str) -> &'a KpiGroup {
    report
        .groups
        .iter()
        .find(|g| g.key == key)
        .unwrap_or_else(|| panic!("no group {key} in {:?}", report.groups))
}

/// (on time, response, resolution, satisfaction) as (numerator, denominator, excluded).
type Expected = [(u64, u64, u64); 4];

fn figures(g: &KpiGroup) -> Expected {
    [
        counts(&g.on_time_completion),
        counts(&g.response),
        counts(&g.resolution),
        counts(&g.satisfaction),
    ]
}

#[tokio::test]
async fn a_scripted_month_gives_exactly_the_expected_figures() {
    let platform = Platform::start().await;
    let cast = Cast::of(&platform);
    let streetlight = "urban.streetlight";
    let water = "utilities.water-supply";

    // A: on time, satisfied, solved.
    let a = cast.handled(streetlight, URBAN).await;
    // B: replied after the deadline, the citizen called late; basically satisfied, partly solved.
    let b = cast.handled(streetlight, URBAN).await;
    // C: an extension approved, then replied within it; satisfied.
    let c = cast.file(streetlight).await;
    cast.dispatch(&c, URBAN).await;
    cast.urban
        .act(&c, "sign", &OrderAction::default())
        .await
        .expect("signed");
    cast.urban
        .act(
            &c,
            "request_extension",
            &with(|x| {
                x.until = Some(Utc::now() + Duration::days(30));
                x.reason = Some("需更换变压器，等待供电部门配合".into());
            }),
        )
        .await
        .expect("extension asked");
    cast.operator
        .act(&c, "approve_extension", &OrderAction::default())
        .await
        .expect("extension approved");
    cast.reply(&c, URBAN).await;
    // D: unsatisfied, so redone by the same agency, and not done again by the redo's deadline.
    let d = cast.handled(water, WATER).await;
    // E: the citizen never rates and three follow-up calls do not reach them.
    let e = cast.handled(water, WATER).await;
    // F: signed, never called back, past its deadline: late, not forgotten.
    let f = cast.file(streetlight).await;
    cast.dispatch(&f, URBAN).await;
    cast.urban
        .act(&f, "sign", &OrderAction::default())
        .await
        .expect("signed");
    // G: by phone, in another district, just dispatched: its deadline has not come.
    let mut call = valid_request();
    call.category = "urban.road-damage".into();
    call.channel = mobile_api::Channel::Phone;
    call.location = mobile_api::LocationInput {
        lat: None,
        lng: None,
        address: Some("西平县人民路".into()),
        district: Some("xiping".into()),
    };
    let g = cast
        .operator
        .create_request(&call, None)
        .await
        .expect("filed by phone")
        .tracking_number;
    cast.dispatch(&g, URBAN).await;
    // H: a duplicate of F, merged into it: one case, counted once (as F).
    let h = cast.file(streetlight).await;
    cast.operator
        .act(&h, "merge", &with(|x| x.into = Some(f.clone())))
        .await
        .expect("merged");
    // J: not rated in the window; the follow-up call reaches the citizen, who is satisfied.
    let j = cast.handled(water, WATER).await;

    for (id, satisfaction, solved) in [
        (&a, "satisfied", "yes"),
        (&b, "basically_satisfied", "partly"),
        (&c, "satisfied", "yes"),
        (&d, "unsatisfied", "no"),
    ] {
        cast.citizen
            .rate(id, satisfaction, solved, None)
            .await
            .expect("rated");
    }
    cast.operator
        .act(&d, "start_redo", &OrderAction::default())
        .await
        .expect("redo");
    let redone = cast.supervisor.order(&d).await.expect("order");
    assert_eq!(redone.status, "in_progress");
    assert_eq!(redone.agency.as_ref().map(|a| a.code.as_str()), Some(WATER));
    assert_eq!(redone.redo_count, 1);
    assert!(
        redone.supervised_at.is_some(),
        "a redo is under supervision"
    );

    // The follow-up queue: E and J once their window has passed, longest-waiting first.
    assert!(
        cast.operator
            .follow_ups()
            .await
            .expect("queue")
            .items
            .is_empty()
    );
    set(
        &platform,
        &e,
        "awaiting_rating_since = now() - interval '9 days'",
    )
    .await;
    set(
        &platform,
        &j,
        "awaiting_rating_since = now() - interval '8 days'",
    )
    .await;
    let queue = cast.operator.follow_ups().await.expect("queue");
    let queued: Vec<&str> = queue
        .items
        .iter()
        .map(|i| i.tracking_number.as_str())
        .collect();
    assert_eq!(queued, [e.as_str(), j.as_str()]);
    assert_eq!(queue.items[0].contact_phone_masked, "138****8000");
    assert_eq!(
        queue.items[0].agency.as_ref().map(|a| a.code.as_str()),
        Some(WATER)
    );
    // A call that does not get through rests the order for a while.
    cast.operator
        .act(&e, "not_reached", &note("无人接听"))
        .await
        .expect("not reached");
    let queued: Vec<String> = cast
        .operator
        .follow_ups()
        .await
        .expect("queue")
        .items
        .into_iter()
        .map(|i| i.tracking_number)
        .collect();
    assert_eq!(queued, [j.as_str()]);
    set(
        &platform,
        &e,
        "last_follow_up_at = now() - interval '3 hours'",
    )
    .await;
    let again = cast.operator.follow_ups().await.expect("queue");
    assert_eq!(again.items[0].tracking_number, e);
    assert_eq!(again.items[0].attempts, 1);
    cast.operator
        .act(&e, "not_reached", &note("关机"))
        .await
        .expect("not reached");
    let archived = cast
        .operator
        .act(&e, "not_reached", &note("空号"))
        .await
        .expect("not reached, third time");
    assert_eq!(archived.status, "archived");
    let timeline = cast
        .citizen
        .get_request(&e)
        .await
        .expect("own order")
        .timeline;
    assert!(
        timeline
            .iter()
            .any(|t| t.description == "多次回访未能联系到您，诉求已办结归档"),
        "{timeline:?}"
    );
    // J: reached by phone; the operator records the rating after the citizen's window.
    let rate_by_phone = with(|x| {
        x.satisfaction = Some("satisfied".into());
        x.solved = Some("yes".into());
    });
    let rated = cast
        .operator
        .act(&j, "rate", &rate_by_phone)
        .await
        .expect("rated by phone");
    assert_eq!(rated.status, "archived");
    assert!(
        cast.operator
            .follow_ups()
            .await
            .expect("queue")
            .items
            .is_empty()
    );

    // The month's clock: when each was dispatched, due, answered and the citizen called.
    for (id, times) in [
        (
            &a,
            "dispatched_at = now() - interval '10 days', deadline_at = now() - interval '3 days', replied_at = now() - interval '4 days', contacted_at = now() - interval '10 days' + interval '1 hour'",
        ),
        (
            &b,
            "dispatched_at = now() - interval '10 days', deadline_at = now() - interval '5 days', replied_at = now() - interval '4 days', contacted_at = now() - interval '10 days' + interval '30 hours'",
        ),
        (
            &c,
            "dispatched_at = now() - interval '10 days', deadline_at = now() - interval '2 days', replied_at = now() - interval '3 days', contacted_at = now() - interval '10 days' + interval '2 hours'",
        ),
        (
            &d,
            "dispatched_at = now() - interval '9 days', deadline_at = now() - interval '1 day', replied_at = now() - interval '6 days', contacted_at = now() - interval '9 days' + interval '3 hours'",
        ),
        (
            &e,
            "dispatched_at = now() - interval '12 days', deadline_at = now() - interval '6 days', replied_at = now() - interval '7 days', contacted_at = now() - interval '12 days' + interval '1 hour'",
        ),
        (
            &j,
            "dispatched_at = now() - interval '8 days', deadline_at = now() - interval '2 days', replied_at = now() - interval '3 days', contacted_at = now() - interval '8 days' + interval '1 hour'",
        ),
        (
            &f,
            "dispatched_at = now() - interval '10 days', deadline_at = now() - interval '1 day', contacted_at = null",
        ),
        (
            &g,
            "dispatched_at = now() - interval '1 hour', deadline_at = now() + interval '2 days', contacted_at = null",
        ),
    ] {
        set(&platform, id, times).await;
    }

    let today = (Utc::now() + Duration::hours(8)).date_naive();
    let from = (today - Duration::days(20)).to_string();
    let to = (today + Duration::days(5)).to_string();
    let period = |group_by: &'static str| {
        let (from, to) = (from.clone(), to.clone());
        move |extra: &[(&'static str, &'static str)]| {
            let mut query = vec![("from", from.clone()), ("to", to.clone())];
            if !group_by.is_empty() {
                query.push(("group_by", group_by.to_owned()));
            }
            query.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
            query
        }
    };

    // By agency: the counts, the rates as people read them, and the ranks.
    let by_agency = kpis(&cast.supervisor, period("agency")(&[]))
        .await
        .expect("report");
    let urban = group(&by_agency, URBAN);
    let water_group = group(&by_agency, WATER);
    assert_eq!(
        figures(urban),
        [(2, 4, 1), (2, 4, 1), (2, 3, 0), (3, 3, 0)],
        "urban management: on time A, C of A, B, C, F (G not yet due); responded A, C of A, B, C, F; \
         solved A, C of three ratings; all three satisfied"
    );
    assert_eq!(
        figures(water_group),
        [(2, 3, 0), (3, 3, 0), (1, 2, 1), (1, 2, 1)],
        "water: on time E, J (the redone D is overdue); all responded; J solved and satisfied, D not; E never reached"
    );
    assert_eq!(
        figures(&by_agency.total),
        [(4, 7, 1), (5, 7, 1), (3, 5, 1), (4, 5, 1)]
    );
    assert_eq!(by_agency.groups.len(), 2, "{:?}", by_agency.groups);
    assert_eq!(urban.name, "市城市管理局");
    assert_eq!(urban.on_time_completion.rate, Some(0.5));
    assert_eq!(urban.on_time_completion.display, "50.00%");
    assert_eq!(water_group.on_time_completion.rate, Some(0.6667));
    assert_eq!(water_group.on_time_completion.display, "66.67%");
    assert_eq!(by_agency.total.on_time_completion.display, "57.14%");
    assert_eq!(by_agency.total.satisfaction.display, "80.00%");
    let rank = |g: &KpiGroup| {
        [
            &g.on_time_completion,
            &g.response,
            &g.resolution,
            &g.satisfaction,
        ]
        .map(|k| k.rank.as_ref().map(|r| (r.position, r.of)))
    };
    assert_eq!(
        rank(urban),
        [Some((2, 2)), Some((2, 2)), Some((1, 2)), Some((1, 2))]
    );
    assert_eq!(
        rank(water_group),
        [Some((1, 2)), Some((1, 2)), Some((2, 2)), Some((2, 2))]
    );
    assert_eq!(by_agency.definitions.len(), 5);
    // Nobody was asked to help: that figure has no data, and no rank.
    assert_eq!(counts(&urban.co_handling_on_time), (0, 0, 0));
    assert_eq!(
        (
            urban.co_handling_on_time.display.as_str(),
            &urban.co_handling_on_time.rank
        ),
        ("无数据", &None)
    );
    assert!(
        by_agency
            .definitions
            .iter()
            .all(|d| !d.formula.is_empty() && !d.numerator.is_empty() && !d.denominator.is_empty())
    );

    // By district, channel and category: the same cases, grouped otherwise. G (by phone, in
    // Xiping) is only due later, so its groups have cases but no data.
    let yicheng_or_app: Expected = [(4, 7, 0), (5, 7, 0), (3, 5, 1), (4, 5, 1)];
    let xiping_or_phone: Expected = [(0, 0, 1), (0, 0, 1), (0, 0, 0), (0, 0, 0)];
    for (grouping, first, second) in [
        ("district", "yicheng", "xiping"),
        ("channel", "app", "phone"),
    ] {
        let report = kpis(&cast.supervisor, period(grouping)(&[]))
            .await
            .expect("report");
        assert_eq!(figures(group(&report, first)), yicheng_or_app, "{grouping}");
        let other = group(&report, second);
        assert_eq!(figures(other), xiping_or_phone, "{grouping}");
        assert_eq!(
            other.on_time_completion.rate, None,
            "no data, never 0% or 100%"
        );
        assert_eq!(other.on_time_completion.display, "无数据");
        assert_eq!(other.satisfaction.display, "无数据");
        assert_eq!(report.groups.len(), 2);
    }
    let by_category = kpis(&cast.supervisor, period("category")(&[]))
        .await
        .expect("report");
    assert_eq!(figures(group(&by_category, "urban")), figures(urban));
    assert_eq!(
        figures(group(&by_category, "utilities")),
        figures(water_group)
    );
    assert_eq!(group(&by_category, "utilities").name, "水电气暖");
    // The whole city alone; leaders see it too.
    let city = kpis(&platform.client("leader-1", "leader"), period("")(&[]))
        .await
        .expect("report");
    assert_eq!(figures(&city.total), figures(&by_agency.total));
    assert!(city.groups.is_empty());

    // Every figure drills down to its cases.
    let numbers = |list: &mobile_api::KpiCaseList| -> Vec<String> {
        list.items
            .iter()
            .map(|c| c.tracking_number.clone())
            .collect()
    };
    let on_time_urban = cases(
        &cast.supervisor,
        period("agency")(&[
            ("kpi", "on_time_completion"),
            ("group", URBAN),
            ("part", "numerator"),
        ]),
    )
    .await
    .expect("cases");
    assert_eq!(numbers(&on_time_urban), [a.clone(), c.clone()]);
    let due_urban = cases(
        &cast.supervisor,
        period("agency")(&[
            ("kpi", "on_time_completion"),
            ("group", URBAN),
            ("part", "denominator"),
        ]),
    )
    .await
    .expect("cases");
    assert_eq!(
        numbers(&due_urban),
        [a.clone(), b.clone(), c.clone(), f.clone()]
    );
    let late = due_urban
        .items
        .iter()
        .find(|x| x.tracking_number == f)
        .expect("F");
    assert!(late.in_denominator && !late.in_numerator && late.replied_at.is_none());
    let not_yet = cases(
        &cast.supervisor,
        period("")(&[("kpi", "on_time_completion"), ("part", "excluded")]),
    )
    .await
    .expect("cases");
    assert_eq!(numbers(&not_yet), [g.as_str()]);
    let unreached = cases(
        &cast.supervisor,
        period("")(&[("kpi", "satisfaction"), ("part", "excluded")]),
    )
    .await
    .expect("cases");
    assert_eq!(numbers(&unreached), [e.as_str()]);
    assert_eq!(unreached.items[0].satisfaction, None);
    let rated_water = cases(
        &cast.supervisor,
        period("agency")(&[
            ("kpi", "satisfaction"),
            ("group", WATER),
            ("part", "denominator"),
        ]),
    )
    .await
    .expect("cases");
    let rated: Vec<(String, Option<u32>, Option<String>, bool)> = rated_water
        .items
        .iter()
        .map(|x| {
            (
                x.tracking_number.clone(),
                x.round,
                x.satisfaction.clone(),
                x.in_numerator,
            )
        })
        .collect();
    assert_eq!(
        rated,
        [
            (d.clone(), Some(1), Some("unsatisfied".into()), false),
            (j.clone(), Some(1), Some("satisfied".into()), true)
        ]
    );
    // Page by page, the same cases as at once.
    let all = cases(&cast.supervisor, period("")(&[("kpi", "response")]))
        .await
        .expect("cases");
    assert_eq!(
        all.items.len(),
        8,
        "seven counted and G, not yet due to be called"
    );
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = period("")(&[("kpi", "response"), ("limit", "3")]);
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let page = cases(&cast.supervisor, query).await.expect("page");
        paged.extend(numbers(&page));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, numbers(&all));

    // An agency sees its own figures, ranked among all agencies, and its own cases only.
    let own = kpis(&cast.urban, period("")(&[]))
        .await
        .expect("own report");
    assert_eq!(own.groups.len(), 1);
    assert_eq!(own.groups[0].key, URBAN);
    assert_eq!(rank(&own.groups[0]), rank(urban));
    let forbidden = kpis(&cast.urban, period("district")(&[]))
        .await
        .expect_err("not theirs to see");
    assert_eq!(
        (forbidden.status(), forbidden.code()),
        (Some(403), Some("forbidden"))
    );
    let theirs = cases(
        &cast.urban,
        period("agency")(&[("kpi", "on_time_completion"), ("group", WATER)]),
    )
    .await
    .expect_err("another agency's cases");
    assert_eq!(theirs.status(), Some(403));
    let mine = cases(&cast.urban, period("")(&[("kpi", "on_time_completion")]))
        .await
        .expect("own cases");
    assert_eq!(
        numbers(&mine),
        [a.clone(), b.clone(), c.clone(), f.clone(), g.clone()]
    );
    let citizen = kpis(&cast.citizen, period("")(&[]))
        .await
        .expect_err("citizens do not");
    assert_eq!(citizen.status(), Some(403));

    // A period without cases has no data, not 0% or 100%.
    let empty = cast
        .supervisor
        .kpis(&[
            ("from", "2020-01-01"),
            ("to", "2020-01-31"),
            ("group_by", "agency"),
        ])
        .await
        .expect("report");
    assert!(empty.groups.is_empty());
    assert_eq!(empty.total.satisfaction.rate, None);
    assert_eq!(empty.total.on_time_completion.display, "无数据");

    // Bad questions get clear answers.
    for query in [
        vec![("from", "2026-13-01")],
        vec![("from", "2026-11-20"), ("to", "2026-11-01")],
        vec![("from", "2024-01-01"), ("to", "2026-01-01")],
        vec![("group_by", "weather")],
    ] {
        let refused = cast.supervisor.kpis(&query).await.expect_err("refused");
        assert_eq!(
            (refused.status(), refused.code()),
            (Some(422), Some("validation_failed")),
            "{query:?}"
        );
    }
    for query in [
        vec![("kpi", "happiness")],
        vec![("kpi", "response"), ("part", "half")],
    ] {
        let refused = cast
            .supervisor
            .kpi_cases(&query)
            .await
            .expect_err("refused");
        assert_eq!(refused.status(), Some(422), "{query:?}");
    }
    let bad_cursor = cast
        .supervisor
        .kpi_cases(&[("kpi", "response"), ("cursor", "nonsense")])
        .await
        .expect_err("refused");
    assert_eq!(bad_cursor.code(), Some("invalid_cursor"));
    let _ = h;
}

/// A rating counts where its order is now, as the order's other cases do: reassigned after a
/// redo, the order takes its rating to the new agency; moved to another district, to that one.
/// (The report reads each rating's copy of its order's groups, which triggers keep equal to the
/// order's.)
#[tokio::test]
async fn agencies_asked_to_help_are_measured_by_opinions_given_on_time() {
    let platform = Platform::start().await;
    let cast = Cast::of(&platform);
    // A request for help on an order `holder` holds, addressed to `helper`, due at `due` (SQL,
    // relative to the database's clock); answered by the helper when `answer`.
    let ask = async |holder: &str, helper: &str, due: &str, answer: bool| -> String {
        let category = if holder == WATER {
            "utilities.water-supply"
        } else {
            "urban.streetlight"
        };
        let id = cast.file(category).await;
        cast.dispatch(&id, holder).await;
        cast.operator
            .act(
                &id,
                "ask_co_handling",
                &with(|a| {
                    a.agency = Some(helper.into());
                    a.note = Some("请协助核查".into());
                }),
            )
            .await
            .expect("asked");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "update work_order_co_handlers set due_at = {due} \
             where agency_id = $2 and work_order_id = \
                   (select work_order_id from work_orders where tracking_number = $1)"
        )))
        .bind(&id)
        .bind(helper)
        .execute(&platform.db)
        .await
        .expect("due time set");
        if answer {
            cast.staff(helper)
                .act(&id, "co_reply", &with(|a| a.result = Some("已核查".into())))
                .await
                .expect("answered");
        }
        id
    };
    // The water company: one opinion on time, one late, one still awaited past its time, one not
    // due yet; one request the centre took back counts for nothing.
    let on_time = ask(URBAN, WATER, "now() + interval '1 day'", true).await;
    let late = ask(URBAN, WATER, "now() - interval '1 hour'", true).await;
    let awaited = ask(URBAN, WATER, "now() - interval '2 hours'", false).await;
    let not_due = ask(URBAN, WATER, "now() + interval '2 days'", false).await;
    let taken_back = ask(URBAN, WATER, "now() - interval '3 hours'", false).await;
    cast.operator
        .act(
            &taken_back,
            "cancel_co_handling",
            &with(|a| {
                a.agency = Some(WATER.into());
                a.reason = Some("无需协办".into());
            }),
        )
        .await
        .expect("taken back");
    // Urban management, asked to help the water company, answers on time: the figure is the
    // agency asked, not the one holding the order.
    ask(WATER, URBAN, "now() + interval '1 day'", true).await;

    let today = (Utc::now() + Duration::hours(8)).date_naive();
    let period = |extra: &[(&'static str, &'static str)]| -> Query {
        let mut query = vec![
            ("from", (today - Duration::days(3)).to_string()),
            ("to", (today + Duration::days(3)).to_string()),
            ("group_by", "agency".to_owned()),
        ];
        query.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        query
    };
    let report = kpis(&cast.supervisor, period(&[])).await.expect("report");
    let water = &group(&report, WATER).co_handling_on_time;
    let urban = &group(&report, URBAN).co_handling_on_time;
    assert_eq!(
        counts(water),
        (1, 3, 1),
        "on time of on time, late, awaited"
    );
    assert_eq!(water.display, "33.33%");
    assert_eq!(counts(urban), (1, 1, 0));
    assert_eq!(counts(&report.total.co_handling_on_time), (2, 4, 1));
    assert_eq!(
        (
            urban.rank.as_ref().map(|r| (r.position, r.of)),
            water.rank.as_ref().map(|r| (r.position, r.of))
        ),
        (Some((1, 2)), Some((2, 2)))
    );
    // None of it moves the holders' own figures: the orders are not replied to nor due.
    assert_eq!(counts(&group(&report, URBAN).on_time_completion).1, 0);
    assert!(
        report
            .definitions
            .iter()
            .any(|d| d.kpi == "co_handling_on_time" && d.name == "协办按时反馈率")
    );

    // The figure drills down to the requests, each with its agency and times.
    let due = cases(
        &cast.supervisor,
        period(&[
            ("kpi", "co_handling_on_time"),
            ("group", WATER),
            ("part", "denominator"),
        ]),
    )
    .await
    .expect("cases");
    let mut listed: Vec<(String, bool, Option<u32>, Option<String>)> = due
        .items
        .iter()
        .map(|c| {
            let request = c.co_handling.as_ref().expect("the request");
            assert_eq!(request.agency.code, WATER);
            assert_eq!(c.agency.as_ref().map(|a| a.code.as_str()), Some(URBAN));
            (
                c.tracking_number.clone(),
                c.in_numerator,
                c.round,
                request.opinion.clone(),
            )
        })
        .collect();
    listed.sort();
    let mut expected = vec![
        (on_time.clone(), true, Some(1), Some("已核查".to_owned())),
        (late.clone(), false, Some(1), Some("已核查".to_owned())),
        (awaited.clone(), false, Some(1), None),
    ];
    expected.sort();
    assert_eq!(listed, expected);
    let excluded = cases(
        &cast.supervisor,
        period(&[("kpi", "co_handling_on_time"), ("part", "excluded")]),
    )
    .await
    .expect("cases");
    let excluded: Vec<&str> = excluded
        .items
        .iter()
        .map(|c| c.tracking_number.as_str())
        .collect();
    assert_eq!(excluded, [not_due.as_str()]);
    // The water company's staff see their own figure.
    let own = kpis(&cast.water, period(&[])).await.expect("own report");
    assert_eq!(own.groups.len(), 1);
    assert_eq!(counts(&own.groups[0].co_handling_on_time), (1, 3, 1));
}

/// 协办 over the years: an order's requests for help, taken back or not, are read by their
/// order, for its view and for the KPI's numbering of them, and not among the city's every one.
#[tokio::test]
async fn an_orders_requests_for_help_are_read_by_its_order_among_a_citys() {
    let platform = Platform::start().await;
    let cast = Cast::of(&platform);
    let id = cast.file("urban.streetlight").await;
    cast.dispatch(&id, URBAN).await;
    let ask = with(|a| {
        a.agency = Some(WATER.into());
        a.note = Some("请协助核查".into());
    });
    cast.operator
        .act(&id, "ask_co_handling", &ask)
        .await
        .expect("asked");
    cast.operator
        .act(
            &id,
            "cancel_co_handling",
            &with(|a| {
                a.agency = Some(WATER.into());
                a.reason = Some("转错单位".into());
            }),
        )
        .await
        .expect("taken back");
    cast.operator
        .act(&id, "ask_co_handling", &ask)
        .await
        .expect("asked again");
    cast.water
        .act(&id, "co_reply", &with(|a| a.result = Some("已核查".into())))
        .await
        .expect("answered");

    // Five thousand orders of the months before, each asked for help twice, once taken back.
    let mut db = platform.db.acquire().await.expect("a connection");
    tests::execute_all(
        &mut db,
        &[
            "insert into work_orders (work_order_id, tracking_number, citizen_id, filed_by, status, \
                 category_id, title, description, address, district_id, contact_phone, channel, \
                 agency_id, dispatched_at, deadline_at, created_at) \
             select gen_random_uuid(), o.tracking_number || '-' || g, o.citizen_id, o.filed_by, \
                 'archived', o.category_id, '往年的工单', o.description, o.address, o.district_id, \
                 o.contact_phone, o.channel, o.agency_id, t.at, t.at + interval '7 days', t.at \
             from work_orders o, generate_series(1, 5000) g, \
                  lateral (select o.created_at - interval '30 days' - g * interval '2 hours' as at) t",
            "insert into work_order_co_handlers (work_order_id, agency_id, request, asked_by, \
                 asked_at, due_at, opinion, answered_by, answered_at, cancel_reason, cancelled_by, \
                 cancelled_at) \
             select o.work_order_id, 'utility-water', '请协助核实', 'operator-1', \
                 o.dispatched_at + k * interval '1 minute', o.dispatched_at + interval '3 days', \
                 case when k = 2 then '已核实' end, case when k = 2 then 'water-staff-1' end, \
                 case when k = 2 then o.dispatched_at + interval '1 day' end, \
                 case when k = 1 then '转错单位' end, case when k = 1 then 'operator-1' end, \
                 case when k = 1 then o.dispatched_at + interval '2 minutes' end \
             from work_orders o, generate_series(1, 2) k where o.title = '往年的工单'",
            "analyze work_orders, work_order_co_handlers",
        ],
        "the years' orders and their requests for help",
    )
    .await;

    // The view lists the order's own, in the order asked.
    let order = cast.operator.order(&id).await.expect("the order");
    let listed: Vec<(&str, bool, Option<&str>)> = order
        .co_handling
        .iter()
        .map(|h| {
            (
                h.agency.code.as_str(),
                h.cancelled_at.is_some(),
                h.opinion.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [(WATER, true, None), (WATER, false, Some("已核查"))]
    );
    // The KPI's case is the second asked: the first, taken back, still counts in its number.
    let today = (Utc::now() + Duration::hours(8)).date_naive();
    let period: Query = vec![
        ("from", (today - Duration::days(1)).to_string()),
        ("to", (today + Duration::days(14)).to_string()),
        ("group_by", "agency".to_owned()),
    ];
    let report = kpis(&cast.supervisor, period.clone())
        .await
        .expect("report");
    assert_eq!(
        counts(&group(&report, WATER).co_handling_on_time),
        (1, 1, 0)
    );
    let mut query = period;
    query.extend([
        ("kpi", "co_handling_on_time".to_owned()),
        ("group", WATER.to_owned()),
        ("part", "denominator".to_owned()),
    ]);
    let listed = cases(&cast.supervisor, query).await.expect("cases");
    let rounds: Vec<(&str, Option<u32>)> = listed
        .items
        .iter()
        .map(|c| (c.tracking_number.as_str(), c.round))
        .collect();
    assert_eq!(rounds, [(id.as_str(), Some(2))]);

    // Both read a few requests for help, not ten thousand.
    let work_order_id: uuid::Uuid =
        sqlx::query_scalar("select work_order_id from work_orders where tracking_number = $1")
            .bind(&id)
            .fetch_one(&mut *db)
            .await
            .expect("the order's id");
    let start = |day: chrono::NaiveDate| {
        (day.and_hms_opt(0, 0, 0).expect("midnight") - Duration::hours(8)).and_utc()
    };
    let (from, to) = (
        start(today - Duration::days(1)),
        start(today + Duration::days(15)),
    );
    for plan in [
        tests::plan(&mut db, &order_store::ORDER_CO_HANDLING, None, |query| {
            query.bind(work_order_id)
        })
        .await,
        tests::plan(
            &mut db,
            &order_store::kpis::report_sql("coalesce(o.agency_id, '')"),
            None,
            |query| query.bind(from).bind(to),
        )
        .await,
    ] {
        let read = tests::steps_on(&plan, "work_order_co_handlers");
        assert!(
            !read.is_empty() && tests::most_rows_read(&read) <= 10,
            "{plan:#?}"
        );
    }
}

#[tokio::test]
async fn a_rating_moves_with_its_order() {
    let platform = Platform::start().await;
    let cast = Cast::of(&platform);
    let d = cast.handled("utilities.water-supply", WATER).await;
    cast.citizen
        .rate(&d, "unsatisfied", "no", None)
        .await
        .expect("rated");
    cast.operator
        .act(&d, "start_redo", &OrderAction::default())
        .await
        .expect("redo");
    let today = (Utc::now() + Duration::hours(8)).date_naive();
    let report = async |group_by: &str| {
        kpis(
            &cast.supervisor,
            vec![
                ("from", (today - Duration::days(1)).to_string()),
                ("to", (today + Duration::days(1)).to_string()),
                ("group_by", group_by.to_owned()),
            ],
        )
        .await
        .expect("report")
    };
    let rated = |g: &KpiGroup| (counts(&g.resolution), counts(&g.satisfaction));
    let unsatisfied = ((0, 1, 0), (0, 1, 0));
    assert_eq!(rated(group(&report("agency").await, WATER)), unsatisfied);

    cast.water
        .act(
            &d,
            "request_return",
            &with(|x| x.reason = Some("供水管网归城市管理局维护".into())),
        )
        .await
        .expect("return requested");
    cast.operator
        .act(&d, "reassign", &with(|x| x.agency = Some(URBAN.into())))
        .await
        .expect("reassigned");
    let by_agency = report("agency").await;
    assert_eq!(rated(group(&by_agency, URBAN)), unsatisfied);
    assert!(
        by_agency.groups.iter().all(|g| g.key != WATER),
        "{:?}",
        by_agency.groups
    );

    assert_eq!(
        rated(group(&report("district").await, "yicheng")),
        unsatisfied
    );
    set(&platform, &d, "district_id = 'xiping'").await;
    let by_district = report("district").await;
    assert_eq!(rated(group(&by_district, "xiping")), unsatisfied);
    assert!(by_district.groups.iter().all(|g| g.key != "yicheng"));
}

/// 协办: the agency asked to help, not the one holding the order, appeals its own late opinion;
/// approved, it leaves the co-handling figure, and only that agency's.
#[tokio::test]
async fn an_agency_asked_to_help_appeals_its_late_opinion() {
    let platform = Platform::start().await;
    let cast = Cast::of(&platform);
    let refused = |e: ClientError| (e.status().unwrap_or(0), e.code().unwrap_or("").to_owned());
    let appeal = |kpi: &str| mobile_api::NewAppeal {
        kpi: kpi.into(),
        reason: "承办单位迟至期限后才移交管线资料".into(),
    };
    let id = cast.file("urban.streetlight").await;
    cast.dispatch(&id, URBAN).await;
    cast.operator
        .act(
            &id,
            "ask_co_handling",
            &with(|a| {
                a.agency = Some(WATER.into());
                a.note = Some("请协助核查地下管线".into());
            }),
        )
        .await
        .expect("asked");
    sqlx::query(
        "update work_order_co_handlers set due_at = now() - interval '1 hour' where agency_id = $1",
    )
    .bind(WATER)
    .execute(&platform.db)
    .await
    .expect("past its time");
    let today = (Utc::now() + Duration::hours(8)).date_naive();
    let water_figure = async || {
        let report = kpis(
            &cast.supervisor,
            vec![
                ("from", (today - Duration::days(1)).to_string()),
                ("to", (today + Duration::days(1)).to_string()),
                ("group_by", "agency".to_owned()),
            ],
        )
        .await
        .expect("report");
        let figure = group(&report, WATER).co_handling_on_time.clone();
        (counts(&figure), figure.appealed)
    };
    assert_eq!(water_figure().await, ((0, 1, 0), 0));

    // Each agency its own case: the holder has no opinion to give, the helper holds no order.
    assert_eq!(
        refused(
            cast.urban
                .file_appeal(&id, &appeal("co_handling_on_time"))
                .await
                .expect_err("the holder's")
        ),
        (409, "nothing_to_appeal".to_owned())
    );
    assert_eq!(
        refused(
            cast.water
                .file_appeal(&id, &appeal("on_time_completion"))
                .await
                .expect_err("the holder's figure")
        ),
        (409, "nothing_to_appeal".to_owned())
    );
    let filed = cast
        .water
        .file_appeal(&id, &appeal("co_handling_on_time"))
        .await
        .expect("appealed");
    assert_eq!(
        (
            filed.kpi.as_str(),
            filed.round,
            filed.agency.code.as_str(),
            filed.status.as_str()
        ),
        ("co_handling_on_time", Some(1), WATER, "pending")
    );
    assert_eq!(
        refused(
            cast.water
                .file_appeal(&id, &appeal("co_handling_on_time"))
                .await
                .expect_err("once")
        ),
        (409, "already_appealed".to_owned())
    );
    cast.supervisor
        .decide_appeal(
            filed.id,
            &mobile_api::AppealDecision {
                approve: true,
                note: "资料确由承办单位迟交".into(),
            },
        )
        .await
        .expect("approved");
    assert_eq!(water_figure().await, ((0, 0, 1), 1));
    // The helper's staff see it on the order; the holder's do not see another agency's appeal.
    let seen = |order: mobile_api::StaffOrder| -> Vec<i64> {
        order.appeals.iter().map(|a| a.id).collect()
    };
    assert_eq!(
        seen(cast.water.order(&id).await.expect("order")),
        [filed.id]
    );
    assert!(seen(cast.urban.order(&id).await.expect("order")).is_empty());
}

/// The days to appeal are the city's (`appeal_window_days`): with 10, a reply 8 days late is
/// appealed; 9 days is too late, and the refusal says how many days there are.
#[tokio::test]
async fn the_days_to_appeal_are_set_by_the_city() {
    let platform = Platform::start_with(Options {
        variables: vec![("SPIN_VARIABLE_APPEAL_WINDOW_DAYS", "10".into())],
        ..Options::default()
    })
    .await
    .expect("platform");
    let cast = Cast::of(&platform);
    let appeal = mobile_api::NewAppeal {
        kpi: "on_time_completion".into(),
        reason: "市民要求延后施工".into(),
    };
    let within = cast.handled("urban.streetlight", URBAN).await;
    set(
        &platform,
        &within,
        "deadline_at = now() - interval '9 days', replied_at = now() - interval '8 days'",
    )
    .await;
    cast.urban
        .file_appeal(&within, &appeal)
        .await
        .expect("within the city's ten days");
    let beyond = cast.handled("urban.streetlight", URBAN).await;
    set(
        &platform,
        &beyond,
        "deadline_at = now() - interval '12 days', replied_at = now() - interval '11 days'",
    )
    .await;
    let e = cast
        .urban
        .file_appeal(&beyond, &appeal)
        .await
        .expect_err("too late");
    assert_eq!(
        (e.status(), e.code()),
        (Some(409), Some("appeal_window_closed"))
    );
    assert!(e.to_string().contains("10 日内"), "{e}");
}

/// 考核申诉: an agency appeals cases that count against it; a supervisor's approval takes a case
/// out of its one figure (counted as excluded, the drill-down naming the appeal), a refusal leaves
/// it; each step is in the order's history (not the citizen's timeline) and the decisions reach
/// the agency's staff.
#[tokio::test]
async fn an_approved_appeal_takes_its_case_out_of_the_figure() {
    let platform = Platform::start().await;
    let cast = Cast::of(&platform);
    let water = platform.agency_account("water-appeals-1", WATER).await;
    let reviewer = platform.supervisor_account("appeals-reviewer-1").await;
    let refused = |e: ClientError| (e.status().unwrap_or(0), e.code().unwrap_or("").to_owned());
    let appeal = |kpi: &str, reason: &str| mobile_api::NewAppeal {
        kpi: kpi.into(),
        reason: reason.into(),
    };
    let decision = |approve: bool, note: &str| mobile_api::AppealDecision {
        approve,
        note: note.into(),
    };
    let today = (Utc::now() + Duration::hours(8)).date_naive();
    let report = async || {
        kpis(
            &cast.supervisor,
            vec![
                ("from", (today - Duration::days(3)).to_string()),
                ("to", (today + Duration::days(1)).to_string()),
                ("group_by", "agency".to_owned()),
            ],
        )
        .await
        .expect("report")
    };

    // Handled on time and the citizen called at once, but rated unsatisfied and not solved.
    let d = cast.handled("utilities.water-supply", WATER).await;
    cast.citizen
        .rate(&d, "unsatisfied", "no", Some("要求减免全年水费"))
        .await
        .expect("rated");
    let water_figures = |r: &KpiReport| figures(group(r, WATER));
    assert_eq!(water_figures(&report().await)[2..], [(0, 1, 0), (0, 1, 0)]);

    // Only a case that counts against the agency, of an order it holds, with a reason.
    for (kpi, reason, expected) in [
        ("nope", "理由", (422, "validation_failed")),
        ("satisfaction", "  ", (422, "validation_failed")),
        ("on_time_completion", "理由", (409, "nothing_to_appeal")),
        ("response", "理由", (409, "nothing_to_appeal")),
    ] {
        let e = water
            .file_appeal(&d, &appeal(kpi, reason))
            .await
            .expect_err(kpi);
        assert_eq!(refused(e), (expected.0, expected.1.to_owned()), "{kpi}");
    }
    let too_long = "长".repeat(2001);
    let e = water
        .file_appeal(&d, &appeal("satisfaction", &too_long))
        .await
        .expect_err("too long");
    assert_eq!(e.fields()[0].field, "reason");
    let e = cast
        .urban
        .file_appeal(&d, &appeal("satisfaction", "理由"))
        .await
        .expect_err("not urban's");
    assert_eq!(refused(e), (404, "not_found".to_owned()));
    let e = cast
        .supervisor
        .file_appeal(&d, &appeal("satisfaction", "理由"))
        .await
        .expect_err("not a supervisor's to make");
    assert_eq!(e.status(), Some(403));

    let reason = "市民要求减免全年水费，超出政策规定，已依规解释";
    let on_satisfaction = water
        .file_appeal(&d, &appeal("satisfaction", reason))
        .await
        .expect("appealed");
    assert_eq!(
        (
            on_satisfaction.status.as_str(),
            on_satisfaction.round,
            on_satisfaction.agency.code.as_str(),
            on_satisfaction.reason.as_str(),
        ),
        ("pending", Some(1), WATER, reason)
    );
    let e = water
        .file_appeal(&d, &appeal("satisfaction", "再申诉一次"))
        .await
        .expect_err("once");
    assert_eq!(refused(e), (409, "already_appealed".to_owned()));
    let on_resolution = water
        .file_appeal(&d, &appeal("resolution", reason))
        .await
        .expect("appealed");

    // Waiting, oldest first: the supervisors see every agency's, an agency its own.
    let pending =
        |list: mobile_api::KpiAppealList| -> Vec<i64> { list.items.iter().map(|a| a.id).collect() };
    let both = vec![on_satisfaction.id, on_resolution.id];
    assert_eq!(
        pending(cast.supervisor.appeals(&[]).await.expect("list")),
        both
    );
    assert_eq!(pending(water.appeals(&[]).await.expect("list")), both);
    assert!(pending(cast.urban.appeals(&[]).await.expect("list")).is_empty());
    assert!(
        pending(
            cast.supervisor
                .appeals(&[("agency", URBAN)])
                .await
                .expect("list")
        )
        .is_empty()
    );
    let first = cast
        .supervisor
        .appeals(&[("limit", "1")])
        .await
        .expect("a page");
    assert_eq!(pending(first.clone()), vec![on_satisfaction.id]);
    let cursor = first.next_cursor.expect("another page");
    let second = cast
        .supervisor
        .appeals(&[("limit", "1"), ("cursor", cursor.as_str())])
        .await
        .expect("the next page");
    assert_eq!(
        (pending(second.clone()), second.next_cursor),
        (vec![on_resolution.id], None)
    );
    for (query, status, code) in [
        (("status", "lost"), 422, "validation_failed"),
        (("cursor", "x"), 400, "invalid_cursor"),
        (("limit", "0"), 422, "validation_failed"),
    ] {
        let e = cast
            .supervisor
            .appeals(&[query])
            .await
            .expect_err("bad query");
        assert_eq!(refused(e), (status, code.to_owned()), "{query:?}");
    }

    // Every supervisor is told, with the figure and the reason.
    let to_review: Vec<String> = reviewer
        .notifications(None, false)
        .await
        .expect("inbox")
        .items
        .into_iter()
        .filter(|n| n.kind == "appeal_filed")
        .map(|n| n.body)
        .collect();
    assert_eq!(to_review.len(), 2, "{to_review:?}");
    assert!(
        to_review
            .iter()
            .any(|body| body.contains(&d) && body.contains("满意率申诉") && body.contains(reason)),
        "{to_review:?}"
    );

    // Whoever runs the hotline sees them wait.
    let waiting = platform.metrics().await;
    assert_eq!(
        waiting.get("hotline_supervision_appeals_pending"),
        Some(&2.0)
    );
    assert!(waiting["hotline_supervision_oldest_appeal_seconds"] >= 0.0);

    // Decided by a supervisor, once, with the reason.
    let e = water
        .decide_appeal(on_satisfaction.id, &decision(true, "自己批准"))
        .await
        .expect_err("not the agency's to decide");
    assert_eq!(e.status(), Some(403));
    let e = cast
        .supervisor
        .decide_appeal(on_satisfaction.id, &decision(true, " "))
        .await
        .expect_err("no reason");
    assert_eq!(refused(e), (422, "validation_failed".to_owned()));
    let e = cast
        .supervisor
        .decide_appeal(i64::MAX, &decision(true, "通过"))
        .await
        .expect_err("no such appeal");
    assert_eq!(refused(e), (404, "not_found".to_owned()));
    let approved = cast
        .supervisor
        .decide_appeal(
            on_satisfaction.id,
            &decision(true, "经核实，诉求超出政策规定"),
        )
        .await
        .expect("approved");
    assert_eq!(
        (approved.status.as_str(), approved.decided_by.as_deref()),
        ("approved", Some("supervisor-1"))
    );
    let refused_one = cast
        .supervisor
        .decide_appeal(on_resolution.id, &decision(false, "问题确未解决"))
        .await
        .expect("refused");
    assert_eq!(refused_one.status, "refused");
    let e = cast
        .supervisor
        .decide_appeal(on_resolution.id, &decision(true, "改为通过"))
        .await
        .expect_err("decided once");
    assert_eq!(refused(e), (409, "appeal_decided".to_owned()));
    assert!(pending(cast.supervisor.appeals(&[]).await.expect("list")).is_empty());
    let decided = platform.metrics().await;
    assert_eq!(
        (
            decided.get("hotline_supervision_appeals_pending"),
            decided.get("hotline_supervision_oldest_appeal_seconds")
        ),
        (Some(&0.0), Some(&0.0))
    );
    assert_eq!(
        platform.audited("kpi_appeal_approved").await,
        vec![("supervisor-1".to_owned(), Some(d.clone()))]
    );
    assert_eq!(
        platform.audited("kpi_appeal_refused").await,
        vec![("supervisor-1".to_owned(), Some(d.clone()))]
    );
    assert_eq!(
        pending(
            water
                .appeals(&[("status", "approved")])
                .await
                .expect("list")
        ),
        vec![on_satisfaction.id]
    );

    // The approved case leaves satisfaction only; the refused one stays in resolution.
    let after = report().await;
    assert_eq!(water_figures(&after)[2..], [(0, 1, 0), (0, 0, 1)]);
    assert_eq!(counts(&after.total.satisfaction), (0, 0, 1));
    let water_after = group(&after, WATER);
    assert_eq!(
        (
            water_after.satisfaction.appealed,
            water_after.resolution.appealed,
            after.total.satisfaction.appealed
        ),
        (1, 0, 1)
    );
    let excluded = cases(
        &cast.supervisor,
        vec![
            ("kpi", "satisfaction".into()),
            ("part", "excluded".into()),
            ("from", (today - Duration::days(3)).to_string()),
            ("to", (today + Duration::days(1)).to_string()),
        ],
    )
    .await
    .expect("cases");
    assert_eq!(
        excluded
            .items
            .iter()
            .map(|c| (c.tracking_number.as_str(), c.appeal))
            .collect::<Vec<_>>(),
        vec![(d.as_str(), Some(on_satisfaction.id))]
    );
    // The exempted alone: satisfaction's one; none of resolution's, whose appeal was refused.
    let part_of = async |kpi: &str, part: &str| -> Vec<String> {
        cases(
            &cast.supervisor,
            vec![
                ("kpi", kpi.into()),
                ("part", part.into()),
                ("from", (today - Duration::days(3)).to_string()),
                ("to", (today + Duration::days(1)).to_string()),
            ],
        )
        .await
        .expect("cases")
        .items
        .into_iter()
        .map(|c| c.tracking_number)
        .collect()
    };
    assert_eq!(
        part_of("satisfaction", "appealed").await,
        std::slice::from_ref(&d)
    );
    assert_eq!(part_of("resolution", "all").await, std::slice::from_ref(&d));
    assert!(part_of("resolution", "appealed").await.is_empty());
    // The week's report for leaders says so beside the rate.
    let week = cast
        .supervisor
        .period_report(&[("period", "week"), ("date", &today.to_string())])
        .await
        .expect("this week's report");
    assert_eq!(week.kpis.satisfaction.appealed, 1);
    assert!(
        week.summary
            .contains("满意率 无数据（0/0，经考核申诉核减 1 件）"),
        "{}",
        week.summary
    );
    // And counts the week's appeals by what became of them.
    assert_eq!(
        week.appeals,
        mobile_api::AppealCounts {
            filed: 2,
            approved: 1,
            refused: 1,
            pending: 0
        }
    );
    assert!(
        week.summary
            .contains("本周承办单位提出考核申诉 2 件，核准 1 件，驳回 1 件。"),
        "{}",
        week.summary
    );

    // The order's history has each step; its agency's staff see the appeals; the citizen's
    // timeline shows none of it.
    let order = water.order(&d).await.expect("order");
    assert_eq!(order.appeals, vec![approved.clone(), refused_one.clone()]);
    let events: Vec<&str> = order.history.iter().map(|h| h.event.as_str()).collect();
    for step in ["appeal_filed", "appeal_approved", "appeal_refused"] {
        assert!(events.contains(&step), "{events:?}");
    }
    let timeline = cast.citizen.get_request(&d).await.expect("the request");
    assert!(
        timeline
            .timeline
            .iter()
            .all(|t| !t.event.starts_with("appeal")),
        "{:?}",
        timeline.timeline
    );
    let told: Vec<(String, String)> = water
        .notifications(None, false)
        .await
        .expect("inbox")
        .items
        .into_iter()
        .filter(|n| n.kind.starts_with("appeal"))
        .map(|n| (n.kind, n.body))
        .collect();
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(
        told.iter()
            .any(|(kind, body)| kind == "appeal_approved"
                && body.contains("经核实，诉求超出政策规定")),
        "{told:?}"
    );

    // An order left open past its deadline is appealed while it lasts; a late reply only
    // within the days to appeal.
    let late = cast.file("urban.streetlight").await;
    cast.dispatch(&late, URBAN).await;
    set(&platform, &late, "deadline_at = now() - interval '1 day'").await;
    let before = report().await;
    assert_eq!(counts(&group(&before, URBAN).on_time_completion), (0, 1, 0));
    let on_time = cast
        .urban
        .file_appeal(
            &late,
            &appeal("on_time_completion", "市民要求雨季过后再施工"),
        )
        .await
        .expect("appealed while open");
    assert_eq!(on_time.round, None);
    cast.supervisor
        .decide_appeal(on_time.id, &decision(true, "市民书面同意延后"))
        .await
        .expect("approved");
    assert_eq!(
        counts(&group(&report().await, URBAN).on_time_completion),
        (0, 0, 1)
    );
    // The appeal covered the deadline then in force: a new one (an extension, a redo) is a new
    // case, counted, and appealed anew.
    set(&platform, &late, "deadline_at = now() - interval '2 hours'").await;
    assert_eq!(
        counts(&group(&report().await, URBAN).on_time_completion),
        (0, 1, 0)
    );
    cast.urban
        .file_appeal(
            &late,
            &appeal("on_time_completion", "新的期限内市民仍要求延后"),
        )
        .await
        .expect("the new deadline appealed");

    let long_ago = cast.handled("urban.streetlight", URBAN).await;
    set(
        &platform,
        &long_ago,
        "deadline_at = now() - interval '9 days', replied_at = now() - interval '8 days'",
    )
    .await;
    let e = cast
        .urban
        .file_appeal(&long_ago, &appeal("on_time_completion", "迟到的申诉"))
        .await
        .expect_err("too late");
    assert_eq!(refused(e), (409, "appeal_window_closed".to_owned()));

    // The day's report: four appeals filed, one still waiting, which it says.
    let day = cast
        .supervisor
        .period_report(&[("period", "day"), ("date", &today.to_string())])
        .await
        .expect("today's report");
    assert_eq!(
        (
            day.appeals.filed,
            day.appeals.approved,
            day.appeals.refused,
            day.appeals.pending
        ),
        (4, 2, 1, 1)
    );
    assert!(
        day.summary
            .contains("本日承办单位提出考核申诉 4 件，核准 2 件，驳回 1 件，待审核 1 件。"),
        "{}",
        day.summary
    );
}
