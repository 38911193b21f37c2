//! The life of a work order through the gateway: dispatch, the agency's work, returns,
//! extensions, audits, ratings, and the deadlines they run against.

use chrono::{Datelike, Duration, TimeZone, Utc};
use mobile_api::OrderAction;
use tests::{Client, ClientError, Platform, told, valid_request};

fn with(f: impl FnOnce(&mut OrderAction)) -> OrderAction {
    let mut action = OrderAction::default();
    f(&mut action);
    action
}

fn none() -> OrderAction {
    OrderAction::default()
}

fn dispatch_to(agency: &str) -> OrderAction {
    with(|a| a.agency = Some(agency.to_owned()))
}

fn reason(text: &str) -> OrderAction {
    with(|a| a.reason = Some(text.to_owned()))
}

fn refused(result: Result<mobile_api::StaffOrder, ClientError>) -> (u16, String) {
    let error = result.expect_err("refused");
    (
        error.status().unwrap_or(0),
        error.code().unwrap_or("").to_owned(),
    )
}

struct Cast {
    citizen: Client,
    operator: Client,
    supervisor: Client,
    urban: Client,
    water: Client,
}

fn cast(platform: &Platform) -> Cast {
    Cast {
        citizen: platform.client("citizen-1", "citizen"),
        operator: platform.client("operator-1", "operator"),
        supervisor: platform.client("supervisor-1", "supervisor"),
        urban: platform.agency_client("urban-staff-1", "city-urban-management"),
        water: platform.agency_client("water-staff-1", "utility-water"),
    }
}

/// The order `number` (held by urban management) as the supervisors' overdue list gives it.
async fn overdue_listing(cast: &Cast, number: &str) -> mobile_api::OverdueOrder {
    cast.supervisor
        .overdue_orders(&[("agency", "city-urban-management")])
        .await
        .expect("overdue list")
        .items
        .into_iter()
        .find(|o| o.tracking_number == number)
        .expect("listed")
}

/// A request the cast's citizen filed, dispatched by the operator to `agency`: its number.
async fn dispatched(cast: &Cast, agency: &str) -> String {
    let number = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed")
        .tracking_number;
    cast.operator
        .act(&number, "dispatch", &dispatch_to(agency))
        .await
        .expect("dispatched");
    number
}

#[tokio::test]
async fn a_normal_order_from_filing_to_archive() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let filed = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let id = filed.tracking_number.as_str();

    let queue = cast.operator.queue().await.expect("queue");
    assert_eq!(
        queue
            .items
            .iter()
            .map(|o| o.tracking_number.as_str())
            .collect::<Vec<_>>(),
        vec![id]
    );

    let dispatched = cast
        .operator
        .act(id, "dispatch", &dispatch_to("city-urban-management"))
        .await
        .expect("dispatched");
    assert_eq!(dispatched.status, "dispatched");
    assert_eq!(
        dispatched.agency.as_ref().map(|a| a.name.as_str()),
        Some("市城市管理局")
    );
    assert!(dispatched.seconds_left.is_some_and(|s| s > 0));
    assert!(cast.operator.queue().await.expect("queue").items.is_empty());

    let tasks = cast.urban.tasks(None).await.expect("tasks");
    assert_eq!(tasks.items.len(), 1);
    for (action, body) in [
        ("sign", none()),
        ("contact", none()),
        (
            "visit",
            with(|a| a.note = Some("现场查看：灯杆线路老化".into())),
        ),
        (
            "reply",
            with(|a| a.result = Some("已更换线路，路灯恢复照明".into())),
        ),
    ] {
        cast.urban
            .act(id, action, &body)
            .await
            .unwrap_or_else(|e| panic!("{action}: {e}"));
    }
    // The reply reaches the citizen once the centre has checked it, and only them.
    let before_audit = cast.citizen.get_request(id).await.expect("citizen view");
    assert_eq!(before_audit.answer, None);
    let neighbour = platform.client("citizen-2", "citizen");
    neighbour.follow(id).await.expect("followed");
    let audited = cast
        .supervisor
        .act(id, "pass_audit", &none())
        .await
        .expect("audited");
    assert_eq!(audited.status, "awaiting_rating");
    let to_rate = cast.citizen.get_request(id).await.expect("citizen view");
    let answer = to_rate.answer.expect("the reply to rate");
    assert_eq!(
        (answer.text.as_str(), answer.from),
        ("已更换线路，路灯恢复照明", mobile_api::AnswerFrom::Agency)
    );
    assert_eq!(
        Some(answer.at),
        to_rate
            .timeline
            .iter()
            .find(|t| t.event == "audit_passed")
            .map(|t| t.at)
    );
    let followed = neighbour.get_request(id).await.expect("followed view");
    assert_eq!(followed.answer, None);
    cast.citizen
        .rate(id, "satisfied", "yes", None)
        .await
        .expect("rated");

    let staff_view = cast.supervisor.order(id).await.expect("order");
    assert_eq!(staff_view.status, "archived");
    let events: Vec<&str> = staff_view
        .history
        .iter()
        .map(|h| h.event.as_str())
        .collect();
    assert_eq!(
        events,
        [
            "received",
            "dispatched",
            "signed",
            "citizen_contacted",
            "visited",
            "replied",
            "audit_passed",
            "rated_satisfied"
        ]
    );
    assert_eq!(
        staff_view.history[4].note.as_deref(),
        Some("现场查看：灯杆线路老化")
    );

    // The citizen reads plain words, without the staff's notes or internal steps.
    let mine = cast.citizen.get_request(id).await.expect("citizen view");
    assert_eq!(mine.status_label, "已办结");
    let steps: Vec<&str> = mine.timeline.iter().map(|t| t.event.as_str()).collect();
    assert_eq!(
        steps,
        [
            "received",
            "dispatched",
            "signed",
            "citizen_contacted",
            "visited",
            "audit_passed",
            "rated_satisfied"
        ]
    );
    assert!(
        mine.timeline
            .iter()
            .all(|t| !t.description.contains("灯杆线路老化"))
    );
}

#[tokio::test]
async fn the_catalogue_dispatches_at_filing_and_urgent_orders_never_wait() {
    let platform = Platform::start().await;
    let cast = cast(&platform);

    // A rule names the water company for water supply, city-wide.
    let mut water = valid_request();
    water.category = "utilities.water-supply".into();
    let filed = cast
        .citizen
        .create_request(&water, None)
        .await
        .expect("filed");
    assert_eq!(filed.status, "dispatched");
    assert_eq!(
        filed
            .timeline
            .iter()
            .map(|t| t.event.as_str())
            .collect::<Vec<_>>(),
        ["received", "dispatched"]
    );
    let tasks = cast.water.tasks(None).await.expect("tasks");
    assert_eq!(
        tasks
            .items
            .iter()
            .map(|t| t.tracking_number.as_str())
            .collect::<Vec<_>>(),
        [filed.tracking_number.as_str()]
    );
    let order = cast
        .water
        .order(&filed.tracking_number)
        .await
        .expect("order");
    assert_eq!(order.history[1].actor, "dispatch-catalogue");
    assert_eq!(
        order.deadline_at.expect("deadline") - order.dispatched_at.expect("dispatched"),
        Duration::hours(24)
    );

    // No rule for streetlights: the order waits for an operator.
    let waiting = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    assert_eq!(waiting.status, "received");
    assert_eq!(cast.operator.queue().await.expect("queue").items.len(), 1);

    // Urgent and no rule: the district's government takes it at once, with six hours to report back.
    let mut urgent = valid_request();
    urgent.urgent = true;
    let filed = cast
        .citizen
        .create_request(&urgent, None)
        .await
        .expect("filed");
    assert_eq!(filed.status, "dispatched");
    let order = cast
        .supervisor
        .order(&filed.tracking_number)
        .await
        .expect("order");
    assert_eq!(
        order.agency.as_ref().map(|a| a.code.as_str()),
        Some("gov-yicheng")
    );
    assert_eq!(
        order.deadline_at.expect("deadline") - order.dispatched_at.expect("dispatched"),
        Duration::hours(6)
    );
}

#[tokio::test]
async fn agencies_see_and_touch_only_their_own_orders() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let filed = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let id = filed.tracking_number.as_str();
    cast.operator
        .act(id, "dispatch", &dispatch_to("city-urban-management"))
        .await
        .expect("dispatched");

    assert_eq!(
        refused(cast.water.order(id).await),
        (404, "not_found".into())
    );
    assert_eq!(
        refused(cast.water.act(id, "sign", &none()).await),
        (404, "not_found".into())
    );
    assert!(
        cast.water
            .tasks(None)
            .await
            .expect("tasks")
            .items
            .is_empty()
    );
    // A citizen cannot work the order, nor read the staff view.
    assert_eq!(refused(cast.citizen.act(id, "sign", &none()).await).0, 403);
    assert_eq!(refused(cast.citizen.order(id).await).0, 403);
    // Order of steps: no reply before signing and contacting.
    assert_eq!(
        refused(
            cast.urban
                .act(id, "reply", &with(|a| a.result = Some("r".into())))
                .await
        ),
        (409, "order_not_signed".into())
    );
    cast.urban.act(id, "sign", &none()).await.expect("signed");
    assert_eq!(
        refused(
            cast.urban
                .act(id, "reply", &with(|a| a.result = Some("r".into())))
                .await
        ),
        (409, "citizen_not_contacted".into())
    );
}

#[tokio::test]
async fn returns_are_reassigned_or_refused_and_capped() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let filed = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let id = filed.tracking_number.as_str();
    cast.operator
        .act(id, "dispatch", &dispatch_to("city-urban-management"))
        .await
        .expect("dispatched");

    assert_eq!(
        refused(cast.urban.act(id, "request_return", &none()).await),
        (422, "validation_failed".into())
    );
    let returned = cast
        .urban
        .act(id, "request_return", &reason("属于供水公司管辖"))
        .await
        .expect("return requested");
    assert_eq!(returned.status, "return_requested");
    let reassigned = cast
        .supervisor
        .act(id, "reassign", &dispatch_to("utility-water"))
        .await
        .expect("reassigned");
    assert_eq!(
        (reassigned.status.as_str(), reassigned.returns_count),
        ("dispatched", 1)
    );
    assert_eq!(
        refused(cast.urban.order(id).await).0,
        404,
        "the old agency lets go of it"
    );
    assert_eq!(cast.water.tasks(None).await.expect("tasks").items.len(), 1);

    cast.water.act(id, "sign", &none()).await.expect("signed");
    cast.water
        .act(id, "request_return", &reason("不属于本单位"))
        .await
        .expect("return requested");
    let refused_return = cast
        .supervisor
        .act(id, "refuse_return", &reason("供水管网属贵单位职责"))
        .await
        .expect("refused");
    assert_eq!(
        (refused_return.status.as_str(), refused_return.returns_count),
        ("signed", 2)
    );

    assert_eq!(
        refused(
            cast.water
                .act(id, "request_return", &reason("再次申请退单"))
                .await
        ),
        (409, "return_limit_reached".into())
    );
}

#[tokio::test]
async fn extensions_and_audits() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let filed = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let id = filed.tracking_number.as_str();
    let order = cast
        .operator
        .act(id, "dispatch", &dispatch_to("city-urban-management"))
        .await
        .expect("dispatched");
    let deadline = order.deadline_at.expect("deadline");

    let ask = |days: i64| {
        with(|a| {
            a.until = Some(deadline + Duration::days(days));
            a.reason = Some("需协调电力部门停电施工".into());
        })
    };
    let asked = cast
        .urban
        .act(id, "request_extension", &ask(3))
        .await
        .expect("asked");
    assert_eq!(
        asked.extension.as_ref().map(|e| e.until),
        Some(deadline + Duration::days(3))
    );
    assert_eq!(
        refused(cast.urban.act(id, "request_extension", &ask(5)).await),
        (409, "extension_pending".into())
    );
    let approved = cast
        .supervisor
        .act(id, "approve_extension", &none())
        .await
        .expect("approved");
    assert_eq!(approved.deadline_at, Some(deadline + Duration::days(3)));
    assert_eq!(
        approved.history.last().and_then(|h| h.previous_deadline),
        Some(deadline),
        "the old deadline is kept"
    );

    cast.urban
        .act(id, "request_extension", &ask(10))
        .await
        .expect("asked again");
    let refused_extension = cast
        .supervisor
        .act(id, "refuse_extension", &reason("无正当理由"))
        .await
        .expect("refused");
    assert!(refused_extension.extension.is_none());
    assert_eq!(
        refused_extension.deadline_at,
        Some(deadline + Duration::days(3))
    );

    for (action, body) in [
        ("sign", none()),
        ("contact", none()),
        ("reply", with(|a| a.result = Some("已处理".into()))),
    ] {
        cast.urban
            .act(id, action, &body)
            .await
            .unwrap_or_else(|e| panic!("{action}: {e}"));
    }
    let failed = cast
        .supervisor
        .act(id, "fail_audit", &reason("答复未说明处理结果"))
        .await
        .expect("audit failed");
    assert_eq!(failed.status, "in_progress");
    assert_eq!(
        refused(cast.supervisor.act(id, "pass_audit", &none()).await),
        (409, "order_not_replied".into())
    );
}

#[tokio::test]
async fn the_centre_closes_hands_over_and_informs_without_dispatch() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let mut outcomes = Vec::new();
    let mut answers = Vec::new();
    for (action, body) in [
        (
            "close_direct",
            with(|a| a.answer = Some("公积金提取可在政务服务网办理".into())),
        ),
        ("hand_over", with(|a| a.to = Some("119".into()))),
        ("inform", reason("属于法院审理事项，已告知诉讼途径")),
    ] {
        let filed = cast
            .citizen
            .create_request(&valid_request(), None)
            .await
            .expect("filed");
        let order = cast
            .operator
            .act(&filed.tracking_number, action, &body)
            .await
            .expect("done");
        outcomes.push(order.status);
        assert_eq!(
            refused(
                cast.operator
                    .act(
                        &filed.tracking_number,
                        "dispatch",
                        &dispatch_to("utility-water")
                    )
                    .await
            ),
            (409, "order_closed".into())
        );
        // The citizen reads the hotline's own answer (a hand-over says where it went instead).
        let mine = cast
            .citizen
            .get_request(&filed.tracking_number)
            .await
            .expect("citizen view");
        answers.push(mine.answer.map(|a| (a.text, a.from)));
    }
    assert_eq!(outcomes, ["closed_direct", "handed_over", "informed"]);
    let hotline = mobile_api::AnswerFrom::Hotline;
    assert_eq!(
        answers,
        [
            Some(("公积金提取可在政务服务网办理".to_owned(), hotline)),
            None,
            Some(("属于法院审理事项，已告知诉讼途径".to_owned(), hotline)),
        ]
    );
    let unknown = cast
        .operator
        .act("ZMD-20261128-000001", "dispatch", &dispatch_to("nowhere"))
        .await;
    assert_eq!(refused(unknown).0, 404);
}

#[tokio::test]
async fn citizens_withdraw_their_requests_before_dispatch_and_the_centre_at_a_callers_word() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let file = |client: &Client| {
        let client = client.clone();
        async move {
            client
                .create_request(&valid_request(), None)
                .await
                .expect("filed")
                .tracking_number
        }
    };
    let code = |result: Result<(), ClientError>| {
        let error = result.expect_err("refused");
        (
            error.status().unwrap_or(0),
            error.code().unwrap_or("").to_owned(),
        )
    };

    // The citizen who filed it withdraws it; nobody else's citizen can, not even one who follows
    // it, who is told, so that they can file their own.
    let mine = file(&cast.citizen).await;
    let stranger = platform.client("citizen-2", "citizen");
    stranger.follow(&mine).await.expect("following");
    assert_eq!(
        code(stranger.withdraw(&mine, None).await),
        (404, "not_found".into())
    );
    cast.citizen
        .withdraw(&mine, Some("问题已经自行解决"))
        .await
        .expect("withdrawn");
    assert_eq!(told(&stranger, "follower_withdrawn").await, 1);
    assert_eq!(told(&cast.citizen, "follower_withdrawn").await, 0);
    let view = cast.citizen.get_request(&mine).await.expect("own view");
    assert_eq!(
        (view.status.as_str(), view.status_label.as_str()),
        ("withdrawn", "已撤回")
    );
    assert_eq!(
        view.timeline.last().map(|entry| entry.description.as_str()),
        Some("诉求已按您的要求撤回")
    );
    let staff_view = cast.operator.order(&mine).await.expect("staff view");
    let last = staff_view.history.last().expect("history");
    assert_eq!(
        (
            last.event.as_str(),
            last.actor.as_str(),
            last.note.as_deref()
        ),
        ("withdrawn", "citizen-1", Some("问题已经自行解决"))
    );
    // It no longer waits for the centre, and nothing more happens to it.
    assert!(
        cast.operator
            .queue()
            .await
            .expect("queue")
            .items
            .iter()
            .all(|o| o.tracking_number != mine)
    );
    assert_eq!(
        code(cast.citizen.withdraw(&mine, None).await),
        (409, "order_closed".into())
    );
    assert_eq!(
        refused(
            cast.operator
                .act(&mine, "dispatch", &dispatch_to("utility-water"))
                .await
        ),
        (409, "order_closed".into())
    );

    // The centre withdraws one for a caller, saying why.
    let called = file(&cast.citizen).await;
    assert_eq!(
        refused(cast.operator.act(&called, "withdraw", &none()).await),
        (422, "text_required".into())
    );
    let withdrawn = cast
        .operator
        .act(
            &called,
            "withdraw",
            &reason("市民来电称已与物业协商解决，要求撤回"),
        )
        .await
        .expect("withdrawn");
    assert_eq!(withdrawn.status, "withdrawn");

    // Once an agency has it, it is the agency's to answer.
    let dispatched = file(&cast.citizen).await;
    cast.operator
        .act(
            &dispatched,
            "dispatch",
            &dispatch_to("city-urban-management"),
        )
        .await
        .expect("dispatched");
    assert_eq!(
        code(cast.citizen.withdraw(&dispatched, None).await),
        (409, "order_not_received".into())
    );
    assert_eq!(
        refused(
            cast.urban
                .act(&dispatched, "withdraw", &reason("不想办"))
                .await
        ),
        (403, "forbidden".into())
    );

    // Another citizen's request merged into it: no longer one citizen's to withdraw.
    let parent = file(&cast.citizen).await;
    let child = file(&stranger).await;
    cast.operator
        .act(&child, "merge", &with(|a| a.into = Some(parent.clone())))
        .await
        .expect("merged");
    assert_eq!(
        code(cast.citizen.withdraw(&parent, None).await),
        (409, "merged_orders_depend".into())
    );
    assert_eq!(
        cast.citizen
            .get_request(&parent)
            .await
            .expect("view")
            .status,
        "received"
    );

    // The day's report counts what was withdrawn.
    let today = (Utc::now() + Duration::hours(8)).date_naive().to_string();
    let report = cast
        .supervisor
        .period_report(&[("period", "day"), ("date", &today)])
        .await
        .expect("the day's report");
    assert_eq!(report.outcomes.withdrawn, 2);
    assert!(
        report.summary.contains("群众撤回 2 件"),
        "{}",
        report.summary
    );
}

#[tokio::test]
async fn citizens_add_to_their_requests_and_the_agency_holding_it_is_told() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let urban = platform
        .agency_account("urban-staff-s", "city-urban-management")
        .await;
    let number = dispatched(&cast, "city-urban-management").await;
    let more = |text: &str| mobile_api::NewSupplement {
        text: text.into(),
        photo_urls: vec!["https://img.example.cn/streetlight-2.jpg".into()],
    };
    let code = |result: Result<mobile_api::Supplement, ClientError>| {
        let error = result.expect_err("refused");
        (
            error.status().unwrap_or(0),
            error.code().unwrap_or("").to_owned(),
        )
    };

    // The citizen adds what they learnt since; a retry under the same key is the same one.
    let added = cast
        .citizen
        .supplement(
            &number,
            &more("今晚发现旁边两盏也不亮了"),
            Some("supplement-1"),
        )
        .await
        .expect("added");
    assert_eq!((added.by.as_str(), added.photo_urls.len()), ("citizen", 1));
    let again = cast
        .citizen
        .supplement(
            &number,
            &more("今晚发现旁边两盏也不亮了"),
            Some("supplement-1"),
        )
        .await
        .expect("replayed");
    assert_eq!(again, added);
    assert_eq!(
        code(
            cast.citizen
                .supplement(&number, &more("别的内容"), Some("supplement-1"))
                .await
        ),
        (409, "idempotency_key_reused".into())
    );
    // An operator adds what the caller says on the phone.
    cast.operator
        .supplement(&number, &more("市民来电补充：电线杆有漏电声"), None)
        .await
        .expect("added for the caller");

    // The agency holding it reads both, and was told of each.
    let order = urban.order(&number).await.expect("staff view");
    let supplements: Vec<(&str, &str)> = order
        .supplements
        .iter()
        .map(|s| (s.by.as_str(), s.text.as_str()))
        .collect();
    assert_eq!(
        supplements,
        [
            ("citizen", "今晚发现旁边两盏也不亮了"),
            ("operator", "市民来电补充：电线杆有漏电声")
        ]
    );
    assert_eq!(
        order
            .history
            .iter()
            .filter(|e| e.event == "supplemented")
            .count(),
        2
    );
    assert_eq!(told(&urban, "task_supplemented").await, 2);
    let mine = cast.citizen.get_request(&number).await.expect("own view");
    assert!(
        mine.timeline
            .iter()
            .any(|t| t.description == "已收到您补充的情况，热线和承办单位办理时都能看到")
    );

    // Nobody else's citizen, no agency; nothing empty; nothing once it is finished.
    let stranger = platform.client("citizen-2", "citizen");
    assert_eq!(
        code(stranger.supplement(&number, &more(""), None).await),
        (404, "not_found".into())
    );
    assert_eq!(
        code(cast.urban.supplement(&number, &more("x"), None).await).0,
        403
    );
    assert_eq!(
        code(cast.citizen.supplement(&number, &more("  "), None).await),
        (422, "validation_failed".into())
    );
    let withdrawn = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed")
        .tracking_number;
    cast.citizen
        .withdraw(&withdrawn, None)
        .await
        .expect("withdrawn");
    assert_eq!(
        code(
            cast.citizen
                .supplement(&withdrawn, &more("补充"), None)
                .await
        ),
        (409, "order_closed".into())
    );
    // Twenty at most; after them, a call to the hotline.
    for n in 3..=20 {
        cast.citizen
            .supplement(&number, &more(&format!("第 {n} 次补充")), None)
            .await
            .expect("added");
    }
    assert_eq!(
        code(
            cast.citizen
                .supplement(&number, &more("再补充"), None)
                .await
        ),
        (409, "too_many_supplements".into())
    );
}

#[tokio::test]
async fn citizens_urge_their_request_on_once_a_day_and_the_agency_is_told() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let failed = |result: Result<(), ClientError>| {
        let error = result.expect_err("refused");
        (
            error.status().unwrap_or(0),
            error.code().unwrap_or("").to_owned(),
        )
    };
    // Not while it waits for the centre: no agency has it to hurry.
    let waiting = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed")
        .tracking_number;
    assert_eq!(
        failed(cast.citizen.urge(&waiting, None).await),
        (409, "order_not_with_agency".into())
    );
    let urge_from = |order: &mobile_api::WorkOrder| order.urge_from;
    let seen = cast.citizen.get_request(&waiting).await.expect("own view");
    assert_eq!(urge_from(&seen), None);

    // The holder's staff, with an account that notices reach.
    let urban = platform
        .agency_account("urban-staff-u", "city-urban-management")
        .await;
    let number = dispatched(&cast, "city-urban-management").await;
    // The app offers it at once: an agency holds the request and it was never urged.
    let before = cast.citizen.get_request(&number).await.expect("own view");
    assert!(urge_from(&before).is_some_and(|from| from <= Utc::now()));
    cast.citizen
        .urge(&number, Some("路灯坏了一周了，晚上出行很不方便"))
        .await
        .expect("urged");
    assert_eq!(told(&urban, "task_citizen_urged").await, 1);
    // Once a day; only the citizen who filed it (others learn nothing of it); the centre urges
    // with `remind`, agencies not at all.
    assert_eq!(
        failed(cast.citizen.urge(&number, None).await),
        (409, "urged_recently".into())
    );
    let stranger = platform.client("citizen-urge-stranger", "citizen");
    assert_eq!(
        failed(stranger.urge(&number, None).await),
        (404, "not_found".into())
    );
    assert_eq!(
        refused(cast.operator.act(&number, "urge", &none()).await),
        (403, "forbidden".into())
    );
    assert_eq!(
        refused(cast.urban.act(&number, "urge", &none()).await),
        (403, "forbidden".into())
    );
    // The citizen reads that it was passed on, never their words back as a note.
    let mine = cast.citizen.get_request(&number).await.expect("own view");
    let said: Vec<&str> = mine
        .timeline
        .iter()
        .map(|t| t.description.as_str())
        .collect();
    assert!(said.contains(&"已收到您的催办，已转告承办单位加快办理"));
    // And the app says when it may be urged again: a day after.
    let urged_at = mine.timeline.last().map(|t| t.at).expect("the urging");
    assert_eq!(urge_from(&mine), Some(urged_at + Duration::hours(24)));

    // A day later, again; staff and supervisors see how often the citizen had to chase it.
    sqlx::query(
        "update work_orders set citizen_urged_at = now() - interval '25 hours', \
                deadline_at = now() - interval '1 minute' where tracking_number = $1",
    )
    .bind(&number)
    .execute(&platform.db)
    .await
    .expect("a day later, and overdue");
    cast.citizen.urge(&number, None).await.expect("urged again");
    assert_eq!(told(&urban, "task_citizen_urged").await, 2);
    let seen = cast.urban.order(&number).await.expect("staff view");
    assert_eq!(seen.citizen_urgings, 2);
    assert!(seen.citizen_urged_at.is_some());
    let urged: Vec<(&str, Option<&str>)> = seen
        .history
        .iter()
        .filter(|e| e.event == "citizen_urged")
        .map(|e| (e.actor.as_str(), e.note.as_deref()))
        .collect();
    assert_eq!(
        urged,
        [
            ("citizen-1", Some("路灯坏了一周了，晚上出行很不方便")),
            ("citizen-1", None)
        ]
    );
    let listed = overdue_listing(&cast, &number).await;
    assert_eq!((listed.citizen_urgings, listed.reminders), (2, 0));
    assert_eq!(listed.supervised_at, None);

    // The third time, it comes under supervision (督办) by itself, and the agency is told so.
    sqlx::query(
        "update work_orders set citizen_urged_at = now() - interval '25 hours' where tracking_number = $1",
    )
    .bind(&number)
    .execute(&platform.db)
    .await
    .expect("a day later");
    cast.citizen
        .urge(&number, None)
        .await
        .expect("urged a third time");
    let listed = overdue_listing(&cast, &number).await;
    assert_eq!(listed.citizen_urgings, 3);
    assert!(listed.supervised_at.is_some());
    assert_eq!(told(&urban, "task_citizen_urged_supervised").await, 1);
    let mine = cast.citizen.get_request(&number).await.expect("own view");
    assert_eq!(
        mine.timeline.last().map(|t| t.description.as_str()),
        Some("您已多次催办，诉求已列入督办，将跟进办理")
    );
}

#[tokio::test]
async fn an_opinion_cut_short_by_the_holders_deadline_gets_its_days_when_the_deadline_moves() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let number = dispatched(&cast, "city-urban-management").await;
    cast.urban
        .act(&number, "sign", &none())
        .await
        .expect("signed");
    sqlx::query(
        "update work_orders set deadline_at = now() + interval '2 hours' where tracking_number = $1",
    )
    .bind(&number)
    .execute(&platform.db)
    .await
    .expect("a deadline close by");
    // Asked two hours before the holder's deadline, the water company's opinion is due then.
    let asked = ask_water_to_help(&cast, &number, "请核查供水管").await;
    let cut_short = asked.co_handling[0].due_at;
    assert_eq!(Some(cut_short), asked.deadline_at);
    // The holder is given twenty days more: the opinion is due after its working days again,
    // never after the new deadline.
    cast.urban
        .act(
            &number,
            "request_extension",
            &with(|a| {
                a.until = Some(Utc::now() + Duration::days(20));
                a.reason = Some("需等待供水公司核查结果".into());
            }),
        )
        .await
        .expect("extension asked");
    // Say it had been told it was late: due again later, it is to be told again when it is.
    let told_late = "update work_order_co_handlers set overdue_notified_at = now() \
                     where work_order_id = (select work_order_id from work_orders where tracking_number = $1)";
    sqlx::query(told_late)
        .bind(&number)
        .execute(&platform.db)
        .await
        .expect("told it was late");
    let extended = cast
        .operator
        .act(&number, "approve_extension", &none())
        .await
        .expect("extension approved");
    let (still_told,): (bool,) = sqlx::query_as(
        "select bool_or(h.overdue_notified_at is not null) from work_order_co_handlers h \
         join work_orders o on o.work_order_id = h.work_order_id where o.tracking_number = $1",
    )
    .bind(&number)
    .fetch_one(&platform.db)
    .await
    .expect("read");
    assert!(!still_told);
    let due = extended.co_handling[0].due_at;
    assert!(
        due > extended.co_handling[0].asked_at + Duration::days(1),
        "{due} against {cut_short}"
    );
    assert!(due <= extended.deadline_at.expect("a deadline"));
}

#[tokio::test]
async fn agencies_asked_to_help_give_their_opinion_before_the_holder_replies() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let water = platform
        .agency_account("water-staff-c", "utility-water")
        .await;
    let urban = platform
        .agency_account("urban-staff-c", "city-urban-management")
        .await;
    let number = dispatched(&cast, "city-urban-management").await;
    for action in ["sign", "contact"] {
        cast.urban
            .act(&number, action, &none())
            .await
            .expect(action);
    }
    let ask = |agency: &str| {
        with(|a| {
            a.agency = Some(agency.to_owned());
            a.note = Some("路面积水疑似供水管破裂，请协助核查".into());
        })
    };
    let opinion = |text: &str| with(|a| a.result = Some(text.to_owned()));

    // Before it is asked, the water company learns nothing of the order.
    assert_eq!(
        refused(water.act(&number, "co_reply", &opinion("已核查")).await),
        (404, "not_found".into())
    );
    assert_eq!(refused(water.order(&number).await).0, 404);
    // The centre asks it to help; its staff are told, and find it among their co-handling tasks.
    let asked = cast
        .operator
        .act(&number, "ask_co_handling", &ask("utility-water"))
        .await
        .expect("asked");
    assert_eq!(asked.co_handling.len(), 1);
    assert_eq!(asked.co_handling[0].agency.code, "utility-water");
    assert_eq!(asked.co_handling[0].opinion, None);
    assert_eq!(told(&water, "task_co_handling").await, 1);
    let waiting = water.co_handling_tasks().await.expect("co-handling tasks");
    // Its list says when its opinion is due, which is never after the order's.
    assert_eq!(
        waiting.items[0].deadline_at,
        Some(asked.co_handling[0].due_at)
    );
    assert!(asked.co_handling[0].due_at <= asked.deadline_at.expect("a deadline"));
    assert_eq!(
        waiting
            .items
            .iter()
            .map(|t| t.tracking_number.as_str())
            .collect::<Vec<_>>(),
        [number.as_str()]
    );
    assert!(
        water
            .tasks(None)
            .await
            .expect("own tasks")
            .items
            .iter()
            .all(|t| t.tracking_number != number)
    );
    assert_eq!(
        water.order(&number).await.expect("seen").tracking_number,
        number
    );
    // Until it gives its opinion it may call the citizen, as the holder may; the call is on record.
    assert_eq!(
        water
            .contact_phone(&number)
            .await
            .expect("the citizen's number")
            .contact_phone,
        valid_request().contact_phone
    );
    let (revealed,): (i64,) = sqlx::query_as(
        "select count(*) from phone_reveals r join work_orders o on o.work_order_id = r.work_order_id \
         where o.tracking_number = $1 and r.agency_id = 'utility-water'",
    )
    .bind(&number)
    .fetch_one(&platform.db)
    .await
    .expect("read");
    assert_eq!(revealed, 1);
    // Not twice, not the holder, not an agency nobody knows, nothing empty.
    assert_eq!(
        refused(
            cast.operator
                .act(&number, "ask_co_handling", &ask("utility-water"))
                .await
        ),
        (409, "already_co_handling".into())
    );
    assert_eq!(
        refused(
            cast.operator
                .act(&number, "ask_co_handling", &ask("city-urban-management"))
                .await
        ),
        (422, "same_agency".into())
    );
    assert_eq!(
        refused(
            cast.operator
                .act(&number, "ask_co_handling", &ask("no-such-agency"))
                .await
        ),
        (422, "validation_failed".into())
    );
    assert_eq!(
        refused(
            cast.operator
                .act(
                    &number,
                    "ask_co_handling",
                    &dispatch_to("city-housing-construction")
                )
                .await
        ),
        (422, "validation_failed".into())
    );
    // The holder cannot reply while the water company's opinion is awaited; the helper cannot
    // handle the order in the holder's place.
    let reply = with(|a| a.result = Some("已疏通排水，路面恢复".into()));
    assert_eq!(
        refused(urban.act(&number, "reply", &reply).await),
        (409, "co_handling_pending".into())
    );
    assert_eq!(
        refused(water.act(&number, "sign", &none()).await),
        (403, "forbidden".into())
    );
    assert_eq!(
        refused(urban.act(&number, "co_reply", &opinion("x")).await),
        (409, "no_co_handling".into())
    );
    // A second agency asked by mistake is taken back; it is told, and the order leaves its list.
    cast.supervisor
        .act(
            &number,
            "ask_co_handling",
            &ask("city-housing-construction"),
        )
        .await
        .expect("asked");
    let housing = platform
        .agency_account("housing-staff-c", "city-housing-construction")
        .await;
    let cancel = with(|a| {
        a.agency = Some("city-housing-construction".into());
        a.reason = Some("不涉及住建部门".into());
    });
    cast.operator
        .act(&number, "cancel_co_handling", &cancel)
        .await
        .expect("taken back");
    assert_eq!(told(&housing, "co_handling_cancelled").await, 1);
    assert!(
        housing
            .co_handling_tasks()
            .await
            .expect("list")
            .items
            .is_empty()
    );
    assert_eq!(refused(housing.order(&number).await).0, 404);
    assert_eq!(
        refused(
            cast.operator
                .act(&number, "cancel_co_handling", &cancel)
                .await
        ),
        (409, "no_co_handling".into())
    );

    // Past the order's deadline, supervisors see whose opinion the holder still waits for.
    sqlx::query(
        "update work_orders set deadline_at = now() - interval '1 minute' where tracking_number = $1",
    )
    .bind(&number)
    .execute(&platform.db)
    .await
    .expect("overdue");
    let listed = overdue_listing(&cast, &number).await;
    assert_eq!(
        listed
            .co_handling_awaited
            .iter()
            .map(|a| a.code.as_str())
            .collect::<Vec<_>>(),
        ["utility-water"]
    );

    // On the board, the request awaited from the water company is counted against it, though it
    // holds no order; its time has not run out yet.
    let board = cast.supervisor.supervision_board(&[]).await.expect("board");
    let water_line = board
        .groups
        .iter()
        .find(|g| g.group.code == "utility-water")
        .expect("a line for the water company");
    assert_eq!(
        (
            water_line.counts.open,
            water_line.counts.co_handling_awaited,
            water_line.counts.co_handling_overdue
        ),
        (0, 1, 0)
    );
    assert_eq!(board.total.co_handling_awaited, 1);

    // The centre urges the water company on (催办): its staff are told, not the holder's; the
    // request counts it and the history names whom. An agency not (or no longer) asked is not.
    let urge = |agency: &str| {
        with(|a| {
            a.agency = Some(agency.into());
            a.note = Some("市民反映积水严重，请尽快反馈".into());
        })
    };
    let urged = cast
        .operator
        .act(&number, "remind", &urge("utility-water"))
        .await
        .expect("urged");
    assert_eq!(urged.co_handling[0].reminders, 1);
    let last = urged.history.last().expect("history");
    assert_eq!(
        (
            last.event.as_str(),
            last.agency.as_ref().map(|a| a.code.as_str()),
            last.note.as_deref()
        ),
        (
            "co_handling_reminded",
            Some("utility-water"),
            Some("市民反映积水严重，请尽快反馈")
        )
    );
    assert_eq!(told(&water, "co_handling_reminder").await, 1);
    assert_eq!(told(&urban, "reminder").await, 0);
    assert_eq!(
        refused(
            cast.operator
                .act(&number, "remind", &urge("city-housing-construction"))
                .await
        ),
        (409, "no_co_handling".into())
    );

    // The water company answers, once; the holder is told, then replies.
    let answered = water
        .act(
            &number,
            "co_reply",
            &opinion("已核查，供水管无渗漏，积水系排水口堵塞"),
        )
        .await
        .expect("answered");
    let water_row = &answered.co_handling[0];
    assert_eq!(
        water_row.opinion.as_deref(),
        Some("已核查，供水管无渗漏，积水系排水口堵塞")
    );
    assert_eq!(water_row.answered_by.as_deref(), Some("water-staff-c"));
    assert_eq!(
        answered.co_handling[1].cancel_reason.as_deref(),
        Some("不涉及住建部门")
    );
    assert_eq!(
        refused(water.act(&number, "co_reply", &opinion("再说一次")).await),
        (409, "no_co_handling".into())
    );
    assert_eq!(told(&urban, "co_opinion").await, 1);
    assert_eq!(
        water
            .contact_phone(&number)
            .await
            .expect_err("its part is done")
            .status(),
        Some(404)
    );
    assert!(
        water
            .co_handling_tasks()
            .await
            .expect("list")
            .items
            .is_empty()
    );
    let replied = urban.act(&number, "reply", &reply).await.expect("replied");
    assert_eq!(replied.status, "replied");
    let events: Vec<&str> = replied.history.iter().map(|e| e.event.as_str()).collect();
    assert!(events.ends_with(&[
        "co_handling_requested",
        "co_handling_requested",
        "co_handling_cancelled",
        "co_handling_reminded",
        "co_replied",
        "replied"
    ]));
    // Each request names the agency asked, and keeps what it was asked to do.
    let asked = replied
        .history
        .iter()
        .find(|e| e.event == "co_handling_requested")
        .expect("asked");
    assert_eq!(
        asked.agency.as_ref().map(|a| a.code.as_str()),
        Some("utility-water")
    );
    assert_eq!(asked.note, Some(replied.co_handling[0].request.clone()));
    // The citizen reads that several agencies work on it, never their notes.
    let mine = cast.citizen.get_request(&number).await.expect("own view");
    let said: Vec<&str> = mine
        .timeline
        .iter()
        .map(|t| t.description.as_str())
        .collect();
    assert!(said.contains(&"您的诉求涉及多个部门，已安排相关单位协同办理"));
    assert!(!said.iter().any(|d| d.contains("供水管")));
    // Nobody asks for help on an order no agency holds.
    assert_eq!(
        refused(
            cast.operator
                .act(
                    &number,
                    "ask_co_handling",
                    &ask("city-housing-construction")
                )
                .await
        ),
        (409, "order_not_with_agency".into())
    );
    assert_eq!(
        refused(
            cast.citizen
                .act(
                    &number,
                    "ask_co_handling",
                    &ask("city-housing-construction")
                )
                .await
        )
        .0,
        403
    );
}

#[tokio::test]
async fn bad_actions_are_clear() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let filed = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let id = filed.tracking_number.as_str();
    assert_eq!(
        refused(cast.operator.act(id, "teleport", &none()).await),
        (404, "unknown_action".into())
    );
    assert_eq!(
        refused(cast.operator.act(id, "dispatch", &none()).await),
        (422, "validation_failed".into())
    );
    assert_eq!(
        refused(
            cast.operator
                .act(id, "dispatch", &dispatch_to("no-such-agency"))
                .await
        ),
        (422, "validation_failed".into())
    );
    assert_eq!(
        refused(
            cast.operator
                .act(id, "hand_over", &with(|a| a.to = Some("999".into())))
                .await
        )
        .0,
        422
    );
    let malformed = reqwest::Client::new()
        .post(platform.url(&format!("/api/v1/orders/{id}/actions/dispatch")))
        .bearer_auth(platform.keys.token("operator-1", "operator"))
        .header("content-type", "application/json")
        .body("{\"agency\": ")
        .send()
        .await
        .expect("answer");
    assert_eq!(malformed.status().as_u16(), 400);
    let history: i64 = sqlx::query_scalar("select count(*) from work_order_events")
        .fetch_one(&platform.db)
        .await
        .expect("count");
    assert_eq!(history, 1, "only the filing wrote history");
}

#[tokio::test]
async fn deadlines_count_working_days_across_holidays_and_worked_weekends() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    // Mark each of the next fourteen days in this test's own calendar, so that weekends do not
    // matter: holiday, holiday, worked, holiday, worked, worked, then holidays.
    let today = Utc::now()
        .with_timezone(&workorder::china_time())
        .date_naive();
    let pattern = [
        "holiday", "holiday", "workday", "holiday", "workday", "workday",
    ];
    for offset in 1..=14u64 {
        let day = today + chrono::Days::new(offset);
        let kind = pattern
            .get(offset as usize - 1)
            .copied()
            .unwrap_or("holiday");
        sqlx::query("insert into business_calendar (day, kind, name) values ($1, $2, '测试') on conflict (day) do update set kind = excluded.kind")
            .bind(day)
            .bind(kind)
            .execute(&platform.db)
            .await
            .expect("calendar row");
    }
    // A consultation has three working days: days 3, 5 and 6; the deadline is midnight after day 6.
    let mut request = valid_request();
    request.category = "consultation.policy".into();
    let filed = cast
        .citizen
        .create_request(&request, None)
        .await
        .expect("filed");
    let order = cast
        .operator
        .act(
            &filed.tracking_number,
            "dispatch",
            &dispatch_to("city-human-resources"),
        )
        .await
        .expect("dispatched");
    let day7 = today + chrono::Days::new(7);
    let expected = workorder::china_time()
        .with_ymd_and_hms(day7.year(), day7.month(), day7.day(), 0, 0, 0)
        .single()
        .expect("midnight")
        .with_timezone(&Utc);
    assert_eq!(order.deadline_at, Some(expected));
}

#[tokio::test]
async fn administrators_edit_the_catalogue_and_every_change_is_logged() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let admin = platform.client("admin-1", "admin");
    let rule = mobile_api::NewDispatchRule {
        category: "urban.streetlight".into(),
        district: Some("yicheng".into()),
        grid: None,
        keywords: None,
        agency: "city-urban-management".into(),
    };
    let created = admin.create_dispatch_rule(&rule).await.expect("created");
    assert_eq!(created.agency.name, "市城市管理局");
    assert!(
        admin
            .dispatch_rules()
            .await
            .expect("rules")
            .items
            .iter()
            .any(|r| r.id == created.id)
    );

    // The new rule dispatches at filing.
    let filed = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    assert_eq!(filed.status, "dispatched");
    assert_eq!(cast.urban.tasks(None).await.expect("tasks").items.len(), 1);

    let duplicate = admin
        .create_dispatch_rule(&rule)
        .await
        .expect_err("duplicate");
    assert_eq!(
        (duplicate.status(), duplicate.code()),
        (Some(409), Some("rule_exists"))
    );
    let mut unknown = rule.clone();
    unknown.district = Some("xiping".into());
    unknown.agency = "no-such-agency".into();
    let error = admin
        .create_dispatch_rule(&unknown)
        .await
        .expect_err("unknown agency");
    assert_eq!(
        (error.status(), error.code()),
        (Some(422), Some("validation_failed"))
    );
    let not_admin = cast
        .operator
        .create_dispatch_rule(&rule)
        .await
        .expect_err("not an administrator");
    assert_eq!(not_admin.status(), Some(403));

    admin
        .delete_dispatch_rule(created.id)
        .await
        .expect("deleted");
    let again = admin
        .delete_dispatch_rule(created.id)
        .await
        .expect_err("gone");
    assert_eq!(again.status(), Some(404));
    let changes = admin.dispatch_rule_changes().await.expect("changes");
    let mine: Vec<(&str, &str)> = changes
        .items
        .iter()
        .filter(|c| c.rule_id == created.id)
        .map(|c| (c.change.as_str(), c.actor.as_str()))
        .collect();
    assert_eq!(mine, [("deleted", "admin-1"), ("created", "admin-1")]);
    assert_eq!(
        changes
            .items
            .iter()
            .find(|c| c.rule_id == created.id)
            .map(|c| c.rule["agency"].clone()),
        Some("city-urban-management".into())
    );
}

#[tokio::test]
async fn the_centre_sees_what_waits_for_it() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let mut numbers = Vec::new();
    for _ in 0..3 {
        let filed = cast
            .citizen
            .create_request(&valid_request(), None)
            .await
            .expect("filed");
        cast.operator
            .act(
                &filed.tracking_number,
                "dispatch",
                &dispatch_to("city-urban-management"),
            )
            .await
            .expect("dispatched");
        numbers.push(filed.tracking_number);
    }
    cast.urban
        .act(&numbers[0], "request_return", &reason("不属于本单位"))
        .await
        .expect("return");
    let deadline = cast
        .urban
        .order(&numbers[1])
        .await
        .expect("order")
        .deadline_at
        .expect("deadline");
    cast.urban
        .act(
            &numbers[1],
            "request_extension",
            &with(|a| {
                a.until = Some(deadline + Duration::days(2));
                a.reason = Some("等待配件".into());
            }),
        )
        .await
        .expect("extension");
    for (action, body) in [
        ("sign", none()),
        ("contact", none()),
        ("reply", with(|a| a.result = Some("已修复".into()))),
    ] {
        cast.urban
            .act(&numbers[2], action, &body)
            .await
            .unwrap_or_else(|e| panic!("{action}: {e}"));
    }
    let waiting = |list: mobile_api::StaffOrderList| {
        list.items
            .into_iter()
            .map(|o| o.tracking_number)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        waiting(
            cast.supervisor
                .centre_queue("returns")
                .await
                .expect("returns")
        ),
        [numbers[0].clone()]
    );
    assert_eq!(
        waiting(
            cast.supervisor
                .centre_queue("extensions")
                .await
                .expect("extensions")
        ),
        [numbers[1].clone()]
    );
    assert_eq!(
        waiting(
            cast.supervisor
                .centre_queue("audits")
                .await
                .expect("audits")
        ),
        [numbers[2].clone()]
    );
    assert!(
        waiting(
            cast.supervisor
                .centre_queue("dispatch")
                .await
                .expect("dispatch")
        )
        .is_empty()
    );
    let bad = cast
        .supervisor
        .centre_queue("everything")
        .await
        .expect_err("bad kind");
    assert_eq!(bad.status(), Some(422));
    // The console's badges count the same queues.
    let counts = cast.supervisor.centre_queue_counts().await.expect("counts");
    assert_eq!(
        counts,
        mobile_api::CentreQueueCounts {
            dispatch: 0,
            returns: 1,
            extensions: 1,
            audits: 1,
            redo: 0,
            co_handling: 0,
        }
    );
    // Agency staff have their own tasks, not the centre's queues.
    let refused = cast.urban.centre_queue_counts().await.expect_err("staff");
    assert_eq!(refused.status(), Some(403));
}

#[tokio::test]
async fn phone_numbers_are_shown_only_to_the_holders_and_every_showing_is_recorded() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let filed = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let id = filed.tracking_number.as_str();
    cast.operator
        .act(id, "dispatch", &dispatch_to("city-urban-management"))
        .await
        .expect("dispatched");

    assert_eq!(
        cast.urban
            .contact_phone(id)
            .await
            .expect("holder")
            .contact_phone,
        "13800138000"
    );
    assert_eq!(
        cast.operator
            .contact_phone(id)
            .await
            .expect("centre")
            .contact_phone,
        "13800138000"
    );
    assert_eq!(
        cast.water
            .contact_phone(id)
            .await
            .expect_err("not theirs")
            .status(),
        Some(404)
    );
    assert_eq!(
        cast.citizen
            .contact_phone(id)
            .await
            .expect_err("not staff")
            .status(),
        Some(403)
    );
    let seen: Vec<(String, String)> =
        sqlx::query_as("select subject, role from phone_reveals order by phone_reveal_id")
            .fetch_all(&platform.db)
            .await
            .expect("reveals");
    assert_eq!(
        seen,
        [
            ("urban-staff-1".to_owned(), "agency_staff".to_owned()),
            ("operator-1".to_owned(), "operator".to_owned())
        ]
    );

    // A confidential order (the psychological-support line): only the staff member who signed.
    let mut private = valid_request();
    private.confidential = true;
    let filed = cast
        .citizen
        .create_request(&private, None)
        .await
        .expect("filed");
    let id = filed.tracking_number.as_str();
    cast.operator
        .act(id, "dispatch", &dispatch_to("city-urban-management"))
        .await
        .expect("dispatched");
    let colleague = platform.agency_client("urban-staff-2", "city-urban-management");
    let before_signing = cast
        .urban
        .contact_phone(id)
        .await
        .expect_err("no handler yet");
    assert_eq!(
        (before_signing.status(), before_signing.code()),
        (Some(403), Some("confidential"))
    );
    cast.urban.act(id, "sign", &none()).await.expect("signed");
    assert_eq!(
        cast.urban
            .contact_phone(id)
            .await
            .expect("the handler")
            .contact_phone,
        "13800138000"
    );
    assert_eq!(
        colleague
            .contact_phone(id)
            .await
            .expect_err("a colleague")
            .code(),
        Some("confidential")
    );
    assert_eq!(
        cast.operator
            .contact_phone(id)
            .await
            .expect_err("the centre")
            .code(),
        Some("confidential")
    );
    let reveals: i64 = sqlx::query_scalar("select count(*) from phone_reveals")
        .fetch_one(&platform.db)
        .await
        .expect("count");
    assert_eq!(reveals, 3, "refused requests record nothing");
}

#[tokio::test]
async fn agency_staff_filter_their_tasks_by_deadline() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let mut urgent = valid_request();
    urgent.urgent = true;
    let urgent = cast
        .citizen
        .create_request(&urgent, None)
        .await
        .expect("filed");
    let normal = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    cast.operator
        .act(
            &normal.tracking_number,
            "dispatch",
            &dispatch_to("gov-yicheng"),
        )
        .await
        .expect("dispatched");
    let staff = platform.agency_client("yicheng-staff-1", "gov-yicheng");
    let numbers = |list: mobile_api::StaffOrderList| {
        list.items
            .into_iter()
            .map(|o| o.tracking_number)
            .collect::<Vec<_>>()
    };
    // The fast channel's six hours fall within a day; seven working days do not.
    assert_eq!(
        numbers(
            staff
                .tasks_filtered(None, None, Some(24.0))
                .await
                .expect("tasks")
        ),
        std::slice::from_ref(&urgent.tracking_number)
    );
    assert_eq!(
        numbers(staff.tasks_filtered(None, None, None).await.expect("tasks")),
        [
            urgent.tracking_number.clone(),
            normal.tracking_number.clone()
        ],
        "soonest deadline first"
    );
    assert_eq!(
        numbers(
            staff
                .tasks_filtered(None, Some(false), None)
                .await
                .expect("tasks")
        ),
        [normal.tracking_number]
    );
    let bad = staff.tasks_filtered(None, None, Some(-1.0)).await;
    assert_eq!(bad.expect_err("refused").status(), Some(422));
}

#[tokio::test]
async fn urgent_orders_carry_the_fast_channel_promises_and_visits_are_recorded() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let mut urgent = valid_request();
    urgent.urgent = true;
    let filed = cast
        .citizen
        .create_request(&urgent, None)
        .await
        .expect("filed");
    let staff = platform.agency_client("yicheng-staff-1", "gov-yicheng");
    let order = staff
        .order(&filed.tracking_number)
        .await
        .expect("the backstop holds it");
    let dispatched = order.dispatched_at.expect("dispatched at filing");
    let levels = order.service_levels.expect("the fast channel's promises");
    assert_eq!(levels.contact_due_at - dispatched, Duration::minutes(30));
    assert_eq!(levels.on_site_due_at - dispatched, Duration::hours(2));
    assert_eq!(levels.report_due_at, order.deadline_at);
    assert_eq!(order.deadline_at, Some(dispatched + Duration::hours(6)));
    assert_eq!((levels.contacted_at, levels.visited_at), (None, None));

    staff
        .act(&filed.tracking_number, "sign", &none())
        .await
        .expect("signed");
    staff
        .act(&filed.tracking_number, "contact", &none())
        .await
        .expect("contacted");
    let visit = with(|a| {
        a.note = Some("现场查看，灯杆线路老化，已安排抢修".into());
        a.photo_urls = Some(vec!["https://img.example.cn/visit-1.jpg".into()]);
        a.lat = Some(32.9803);
        a.lng = Some(114.0228);
    });
    let after = staff
        .act(&filed.tracking_number, "visit", &visit)
        .await
        .expect("visited");
    assert_eq!(after.visits.len(), 1);
    assert_eq!(
        after.visits[0].photo_urls,
        ["https://img.example.cn/visit-1.jpg"]
    );
    assert_eq!(
        (after.visits[0].lat, after.visits[0].lng),
        (Some(32.9803), Some(114.0228))
    );
    assert_eq!(after.visits[0].actor, "yicheng-staff-1");
    let levels = after.service_levels.expect("levels");
    assert!(levels.contacted_at.is_some());
    let first_visit = levels.visited_at.expect("visited");

    let again = staff
        .act(
            &filed.tracking_number,
            "visit",
            &with(|a| a.note = Some("复查，已修复".into())),
        )
        .await
        .expect("visited again");
    assert_eq!(again.visits.len(), 2);
    assert_eq!(
        again.service_levels.expect("levels").visited_at,
        Some(first_visit),
        "the first visit counts"
    );

    // A bad visit is refused whole, with every problem, and writes nothing.
    let bad = with(|a| {
        a.note = Some("   ".into());
        a.photo_urls = Some(vec!["ftp://img.example.cn/x.jpg".into()]);
        a.lat = Some(32.98);
    });
    let error = staff
        .act(&filed.tracking_number, "visit", &bad)
        .await
        .expect_err("refused");
    assert_eq!(error.status(), Some(422));
    let ClientError::Api { envelope, .. } = error else {
        panic!("an API error")
    };
    let fields: Vec<_> = envelope
        .error
        .fields
        .iter()
        .map(|f| format!("{}:{}", f.field, f.code))
        .collect();
    assert_eq!(
        fields,
        ["note:required", "photo_urls:invalid_url", "lng:required"]
    );
    let unchanged = staff.order(&filed.tracking_number).await.expect("order");
    assert_eq!(unchanged.visits.len(), 2);
    assert_eq!(unchanged.history.len(), again.history.len());

    // And on to the archive, as any order.
    staff
        .act(
            &filed.tracking_number,
            "reply",
            &with(|a| a.result = Some("已抢修完毕，恢复照明".into())),
        )
        .await
        .expect("replied");
    cast.supervisor
        .act(&filed.tracking_number, "pass_audit", &none())
        .await
        .expect("audited");
    cast.citizen
        .rate(&filed.tracking_number, "satisfied", "yes", None)
        .await
        .expect("rated");
    let archived = cast
        .citizen
        .get_request(&filed.tracking_number)
        .await
        .expect("read");
    assert_eq!(archived.status, "archived");
    assert_eq!(
        archived.timeline[0].description,
        "您的紧急诉求已受理，已进入快速通道"
    );

    let normal = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    cast.operator
        .act(
            &normal.tracking_number,
            "dispatch",
            &dispatch_to("gov-yicheng"),
        )
        .await
        .expect("dispatched");
    assert_eq!(
        staff
            .order(&normal.tracking_number)
            .await
            .expect("order")
            .service_levels,
        None,
        "only the fast channel has these promises"
    );
}

#[tokio::test]
async fn the_centre_is_offered_the_catalogue_agency_or_the_backstop() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let waiting = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let suggested = |order: mobile_api::StaffOrder| order.suggested_agency.map(|a| a.code);
    assert_eq!(
        suggested(
            cast.operator
                .order(&waiting.tracking_number)
                .await
                .expect("order")
        )
        .as_deref(),
        Some("gov-yicheng"),
        "no rule: the district's government"
    );
    let admin = platform.client("admin-1", "admin");
    admin
        .create_dispatch_rule(&mobile_api::NewDispatchRule {
            category: "urban".into(),
            district: None,
            grid: None,
            keywords: None,
            agency: "city-urban-management".into(),
        })
        .await
        .expect("rule");
    assert_eq!(
        suggested(
            cast.operator
                .order(&waiting.tracking_number)
                .await
                .expect("order")
        )
        .as_deref(),
        Some("city-urban-management")
    );
    let mut nowhere = valid_request();
    nowhere.category = "housing.property-management".into();
    nowhere.location.lat = None;
    nowhere.location.lng = None;
    nowhere.location.district = None;
    let unplaced = cast
        .citizen
        .create_request(&nowhere, None)
        .await
        .expect("filed");
    assert_eq!(
        suggested(
            cast.operator
                .order(&unplaced.tracking_number)
                .await
                .expect("order")
        ),
        None,
        "no district, no backstop"
    );
    // Once dispatched there is nothing to suggest.
    cast.operator
        .act(
            &waiting.tracking_number,
            "dispatch",
            &dispatch_to("gov-yicheng"),
        )
        .await
        .expect("dispatched");
    assert_eq!(
        suggested(
            cast.operator
                .order(&waiting.tracking_number)
                .await
                .expect("order")
        ),
        None
    );
}

#[tokio::test]
async fn administrators_keep_the_business_calendar() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let admin = platform.client("admin-1", "admin");
    let dispatch_new = || async {
        let filed = cast
            .citizen
            .create_request(&valid_request(), None)
            .await
            .expect("filed");
        cast.operator
            .act(
                &filed.tracking_number,
                "dispatch",
                &dispatch_to("gov-yicheng"),
            )
            .await
            .expect("dispatched")
            .deadline_at
            .expect("a deadline")
    };
    let before = dispatch_new().await;

    // The next weekday becomes a holiday: the seven working days end later.
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let mut day = Utc::now().with_timezone(&china).date_naive();
    loop {
        day = day.succ_opt().expect("a next day");
        if day.weekday().num_days_from_monday() < 5 {
            break;
        }
    }
    let set = admin
        .set_calendar_day(
            day,
            &mobile_api::SetCalendarDay {
                kind: "holiday".into(),
                name: " 临时假日 ".into(),
            },
        )
        .await
        .expect("set");
    assert_eq!(set.name, "临时假日");
    assert!(
        admin
            .calendar(Some(day.year()))
            .await
            .expect("calendar")
            .items
            .contains(&set)
    );
    let during = dispatch_new().await;
    assert!(during > before, "{during} after {before}");
    assert!(during - before >= Duration::days(1));

    admin.delete_calendar_day(day).await.expect("deleted");
    assert_eq!(dispatch_new().await, before, "ordinary again");
    let logged: i64 = sqlx::query_scalar("select count(*) from business_calendar_changes")
        .fetch_one(&platform.db)
        .await
        .expect("count");
    assert_eq!(logged, 2);

    // 2027: the statutory weekday holidays are loaded.
    let loaded = admin.calendar(Some(2027)).await.expect("2027");
    assert!(
        loaded
            .items
            .iter()
            .any(|d| d.name == "春节" && d.kind == "holiday")
    );

    for (status, result) in [
        (
            422,
            admin
                .set_calendar_day(
                    day,
                    &mobile_api::SetCalendarDay {
                        kind: "party".into(),
                        name: "".into(),
                    },
                )
                .await
                .map(|_| ()),
        ),
        (404, admin.delete_calendar_day(day).await),
        (403, cast.operator.calendar(None).await.map(|_| ())),
    ] {
        assert_eq!(result.expect_err("refused").status(), Some(status));
    }
    let bad_date = reqwest::Client::new()
        .delete(platform.url("/api/v1/admin/calendar/2027-02-30"))
        .bearer_auth(platform.keys.token("admin-1", "admin"))
        .send()
        .await
        .expect("sent");
    assert_eq!(bad_date.status().as_u16(), 422);
}

/// Files an order and takes it through to waiting for the citizen's rating.
async fn awaiting_rating(cast: &Cast) -> String {
    let filed = cast
        .citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let id = filed.tracking_number;
    cast.operator
        .act(&id, "dispatch", &dispatch_to("city-urban-management"))
        .await
        .expect("dispatched");
    for (action, body) in [
        ("sign", none()),
        ("contact", none()),
        ("reply", with(|a| a.result = Some("已修复".into()))),
    ] {
        cast.urban.act(&id, action, &body).await.expect(action);
    }
    cast.supervisor
        .act(&id, "pass_audit", &none())
        .await
        .expect("audited");
    id
}

#[tokio::test]
async fn citizens_rate_once_per_round_within_the_window_and_see_their_rating() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    let rate = |satisfaction: &str, solved: Option<&str>, comment: Option<&str>| {
        with(|a| {
            a.satisfaction = Some(satisfaction.into());
            a.solved = solved.map(str::to_owned);
            a.comment = comment.map(str::to_owned);
        })
    };

    // Whether the problem is solved is asked too; a comment is optional and at most 500 characters.
    let first = awaiting_rating(&cast).await;
    let (status, code) = refused(
        cast.citizen
            .act(&first, "rate", &rate("satisfied", None, None))
            .await,
    );
    assert_eq!((status, code.as_str()), (422, "validation_failed"));
    let (status, _) = refused(
        cast.citizen
            .act(
                &first,
                "rate",
                &rate("satisfied", Some("yes"), Some(&"长".repeat(501))),
            )
            .await,
    );
    assert_eq!(status, 422);
    cast.citizen
        .rate(&first, "unsatisfied", "no", Some("路灯修好一天又坏了"))
        .await
        .expect("rated");
    // One rating per round: the order has moved on.
    let (status, code) = refused(
        cast.citizen
            .act(&first, "rate", &rate("satisfied", Some("yes"), None))
            .await,
    );
    assert_eq!((status, code.as_str()), (409, "order_not_awaiting_rating"));
    let mine = cast.citizen.get_request(&first).await.expect("order");
    let rated = mine
        .timeline
        .iter()
        .find(|t| t.event == "rated_unsatisfied")
        .expect("the rating in the timeline");
    assert!(
        rated.description.contains("您的评价：不满意，问题未解决"),
        "{}",
        rated.description
    );

    // The redo is the second round, rated again (by an operator who called the citizen).
    cast.operator
        .act(&first, "start_redo", &none())
        .await
        .expect("redo");
    cast.urban
        .act(
            &first,
            "reply",
            &with(|a| a.result = Some("更换了整条线路".into())),
        )
        .await
        .expect("replied again");
    cast.supervisor
        .act(&first, "pass_audit", &none())
        .await
        .expect("audited again");
    cast.operator
        .act(
            &first,
            "rate",
            &rate("basically_satisfied", Some("partly"), None),
        )
        .await
        .expect("rated by phone");
    let ratings: Vec<(i32, String, String, Option<String>, String)> = sqlx::query_as(
        "select r.round, r.satisfaction, r.solved, r.comment, r.channel from ratings r \
         join work_orders o using (work_order_id) where o.tracking_number = $1 order by r.round",
    )
    .bind(&first)
    .fetch_all(&platform.db)
    .await
    .expect("ratings");
    assert_eq!(
        ratings,
        [
            (
                1,
                "unsatisfied".into(),
                "no".into(),
                Some("路灯修好一天又坏了".into()),
                "app".into()
            ),
            (
                2,
                "basically_satisfied".into(),
                "partly".into(),
                None,
                "phone".into()
            ),
        ]
    );

    // After the window (7 days by default) the reply can no longer be rated.
    let late = awaiting_rating(&cast).await;
    sqlx::query(
        "update work_orders set awaiting_rating_since = now() - interval '8 days' where tracking_number = $1",
    )
    .bind(&late)
    .execute(&platform.db)
    .await
    .expect("time passes");
    let (status, code) = refused(
        cast.citizen
            .act(&late, "rate", &rate("satisfied", Some("yes"), None))
            .await,
    );
    assert_eq!((status, code.as_str()), (409, "rating_window_closed"));

    // Unsatisfied, but the agency did what it should: a supervisor rules the complaint
    // unreasonable with a reason, instead of a redo; the order closes and the audit log says so.
    let disputed = awaiting_rating(&cast).await;
    cast.citizen
        .rate(&disputed, "unsatisfied", "no", Some("我要求的赔偿没有给"))
        .await
        .expect("rated");
    let reasoned = with(|a| a.reason = Some("诉求超出政策规定，已依规答复".into()));
    let (status, _) = refused(
        cast.operator
            .act(&disputed, "rule_unreasonable", &reasoned)
            .await,
    );
    assert_eq!(status, 403, "supervisors rule, not operators");
    let (status, _) = refused(
        cast.supervisor
            .act(&disputed, "rule_unreasonable", &none())
            .await,
    );
    assert_eq!(status, 422, "a reason is required");
    let ruled = cast
        .supervisor
        .act(&disputed, "rule_unreasonable", &reasoned)
        .await
        .expect("ruled");
    assert_eq!(ruled.status, "archived");
    let mine = cast.citizen.get_request(&disputed).await.expect("order");
    assert!(
        mine.timeline
            .iter()
            .any(|t| t.event == "complaint_ruled_unreasonable" && t.description.contains("复核")),
        "{:?}",
        mine.timeline
    );
    let audit = platform
        .client("admin-1", "admin")
        .audit_log(Some("complaint_ruled_unreasonable"))
        .await
        .expect("audit");
    assert_eq!(audit.items.len(), 1);
    assert_eq!(audit.items[0].actor, "supervisor-1");
    assert_eq!(audit.items[0].target.as_deref(), Some(disputed.as_str()));
}

#[tokio::test]
async fn the_holder_asks_the_centre_for_another_agencys_help_and_hears_if_it_is_refused() {
    let platform = Platform::start().await;
    let cast = cast(&platform);
    // The holder's staff, with an account that notices reach.
    let urban = platform
        .agency_account("urban-staff-p", "city-urban-management")
        .await;
    let number = dispatched(&cast, "city-urban-management").await;
    cast.urban
        .act(&number, "sign", &none())
        .await
        .expect("signed");
    let propose = with(|a| {
        a.agency = Some("utility-water".into());
        a.note = Some("路面渗水疑似供水管破裂，需供水公司协助核查".into());
    });
    let proposed = cast
        .urban
        .act(&number, "propose_co_handling", &propose)
        .await
        .expect("proposed");
    let proposal = proposed
        .co_handling_proposal
        .expect("waiting for the centre");
    assert_eq!(
        (proposal.agency.code.as_str(), proposal.note.as_str()),
        (
            "utility-water",
            "路面渗水疑似供水管破裂，需供水公司协助核查"
        )
    );
    assert!(proposed.co_handling.is_empty());
    // One at a time; only the holder; an agency the platform knows; with what it needs.
    let unknown = with(|a| {
        a.agency = Some("no-such-agency".into());
        a.note = Some("请协助".into());
    });
    let bare = with(|a| a.agency = Some("utility-gas".into()));
    for (who, body, expected) in [
        (&cast.urban, &propose, (409, "co_handling_proposal_pending")),
        (&cast.water, &propose, (404, "not_found")),
        (&cast.operator, &propose, (403, "forbidden")),
        (&cast.urban, &unknown, (422, "validation_failed")),
        (&cast.urban, &bare, (422, "validation_failed")),
    ] {
        let answer = who.act(&number, "propose_co_handling", body).await;
        assert_eq!(refused(answer), (expected.0, expected.1.to_owned()));
    }
    // It waits in the centre's queue, counted on the console's badge.
    let counts = cast.operator.centre_queue_counts().await.expect("counts");
    assert_eq!((counts.co_handling, counts.returns), (1, 0));
    assert_eq!(
        co_handling_queue(&cast.operator).await,
        std::slice::from_ref(&number)
    );

    // Refused, with the reason: the holder's staff are told, and may ask again.
    let refuse = with(|a| a.reason = Some("渗水点位于人行道，属城管维修范围".into()));
    let declined = cast
        .operator
        .act(&number, "refuse_co_handling", &refuse)
        .await
        .expect("refused");
    assert_eq!(declined.co_handling_proposal, None);
    assert_eq!(told(&urban, "co_handling_proposal_refused").await, 1);
    let notice = urban
        .notifications(None, false)
        .await
        .expect("inbox")
        .items
        .into_iter()
        .find(|n| n.kind == "co_handling_proposal_refused")
        .expect("the notice");
    assert!(
        notice
            .body
            .ends_with("原因：渗水点位于人行道，属城管维修范围"),
        "{}",
        notice.body
    );
    assert!(co_handling_queue(&cast.operator).await.is_empty());
    assert_eq!(
        refused(
            cast.operator
                .act(&number, "refuse_co_handling", &refuse)
                .await
        ),
        (409, "no_co_handling_proposal".into())
    );
    assert_eq!(
        declined
            .history
            .last()
            .map(|h| (h.event.as_str(), h.note.as_deref())),
        Some((
            "co_handling_proposal_refused",
            Some("渗水点位于人行道，属城管维修范围")
        ))
    );

    // Asked again, the centre agrees by asking that agency, which is then told.
    cast.urban
        .act(&number, "propose_co_handling", &propose)
        .await
        .expect("proposed again");
    let agreed = ask_water_to_help(&cast, &number, "请核查人行道下供水管是否破裂").await;
    assert_eq!(agreed.co_handling_proposal, None);
    assert_eq!(agreed.co_handling.len(), 1);
    let counts = cast.operator.centre_queue_counts().await.expect("counts");
    assert_eq!(counts.co_handling, 0);
    // The holder's staff are told help is arranged, and by when the opinion comes.
    assert_eq!(told(&urban, "co_handling_arranged").await, 1);
    assert!(co_handling_queue(&cast.operator).await.is_empty());
    let proposals: Vec<Option<&str>> = agreed
        .history
        .iter()
        .filter(|h| h.event == "co_handling_proposed")
        .map(|h| h.agency.as_ref().map(|a| a.code.as_str()))
        .collect();
    assert_eq!(proposals, [Some("utility-water"), Some("utility-water")]);
}

/// The orders in the centre's queue of agencies' requests for help.
async fn co_handling_queue(operator: &Client) -> Vec<String> {
    operator
        .centre_queue("co_handling")
        .await
        .expect("queue")
        .items
        .into_iter()
        .map(|o| o.tracking_number)
        .collect()
}

/// The operator asks the water company to help with `number` (协办), saying with what.
async fn ask_water_to_help(cast: &Cast, number: &str, note: &str) -> mobile_api::StaffOrder {
    let body = with(|a| {
        a.agency = Some("utility-water".into());
        a.note = Some(note.into());
    });
    cast.operator
        .act(number, "ask_co_handling", &body)
        .await
        .expect("asked to help")
}
