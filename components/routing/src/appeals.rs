//! 考核申诉: an agency appeals one KPI case that counts against it, and a supervisor decides.
//!
//! The cases are the KPIs' own (`order_store::kpis::cases_sql`): an order past its deadline
//! (on-time completion), a citizen contacted late or not at all in time (response), the latest
//! rating unsatisfied (satisfaction) or not solved (resolution), and an opinion given late or
//! not at all in time by an agency asked to help (co-handling, 协办: that agency's case, its latest
//! request on the order). The agency whose case it is appeals one that counts against it, within
//! `appeal_window_days` (7 by default) of it being settled, saying why it should not (the citizen
//! wanted what the law does not allow, could not be reached, asked to wait); one appeal per case,
//! which covers that case only (a new deadline after an extension, a redo or a reassignment, or
//! a new dispatch, or a request's new due time, is a new case). A supervisor approves or refuses
//! it with the reason; approved, the case leaves that one figure (counted as excluded, the
//! drill-down naming the appeal).
//!
//! Each step writes the appeal and its history event (`appeal_filed`, `appeal_approved`,
//! `appeal_refused`; staff read them, the citizen's timeline does not) in one transaction, with
//! its notices: a new appeal's to every supervisor (`appeal_filed`), a decision's to the agency's
//! staff (`appeal_approved`, `appeal_refused`).

use crate::actions::{MAX_TEXT, too_long};
use crate::error::{ApiError, missing};
use api_plumbing::{Principal, Reply, field_error, query_param, reply_with};
use mobile_api::{AppealDecision, KpiAppeal, KpiAppealList, NewAppeal};
use order_store::db::{Connection, Row};
use order_store::kpis::{CO_HANDLING_ROUND_SQL, DONE_SQL, response_due_sql};
use order_store::{named, required, text, utc};
use spin_sdk::http::StatusCode;
use workorder::lifecycle::Event;

/// Days after a case is settled (the rating given, the reply sent, the citizen contacted) in
/// which its agency may appeal it, by default (the `appeal_window_days` variable, as the city's
/// assessment rules set it). An order still open past its deadline, or a citizen still not
/// contacted, may be appealed while it lasts.
pub const APPEAL_DAYS: i32 = 7;

/// The figures an appeal may name.
const APPEALABLE: [&str; 5] = [
    "on_time_completion",
    "response",
    "satisfaction",
    "resolution",
    "co_handling_on_time",
];

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// An appeal `a` with its order `o` and agency `ag`, as [`appeal`] reads it.
const SELECT: &str = "select a.kpi_appeal_id, o.tracking_number, o.title, a.kpi, a.round, \
            a.agency_id, ag.name as agency_name, a.reason, a.filed_by, a.filed_at, a.decision, \
            a.decided_by, a.decision_note, a.decided_at \
     from kpi_appeals a join work_orders o on o.work_order_id = a.work_order_id \
     join agencies ag on ag.agency_id = a.agency_id";

fn appeal(row: &Row) -> Result<KpiAppeal, ApiError> {
    let round: i32 = required(row, "round")?;
    Ok(KpiAppeal {
        id: required(row, "kpi_appeal_id")?,
        tracking_number: required(row, "tracking_number")?,
        title: required(row, "title")?,
        kpi: required(row, "kpi")?,
        round: u32::try_from(round).ok().filter(|r| *r > 0),
        agency: named(row, "agency_id", "agency_name")
            .ok_or_else(|| ApiError::Internal("an appeal without its agency".into()))?,
        reason: required(row, "reason")?,
        filed_by: required(row, "filed_by")?,
        filed_at: utc(row, "filed_at")
            .ok_or_else(|| ApiError::Internal("an appeal without its time".into()))?,
        status: row
            .get::<String>("decision")
            .unwrap_or_else(|| "pending".into()),
        decided_by: row.get("decided_by"),
        decision_note: row.get("decision_note"),
        decided_at: utc(row, "decided_at"),
    })
}

async fn one(db: &Connection, id: i64) -> Result<KpiAppeal, ApiError> {
    let rows = db
        .query(format!("{SELECT} where a.kpi_appeal_id = $1"), [id.into()])
        .await?
        .collect()
        .await?;
    appeal(rows.first().ok_or(ApiError::UnknownAppeal)?)
}

/// The appeals on an order, oldest first: all of them for the centre, an agency's own for its
/// staff.
pub async fn of_order(
    db: &Connection,
    principal: &Principal,
    order: uuid::Uuid,
) -> Result<Vec<KpiAppeal>, ApiError> {
    let agency = (principal.role == "agency_staff").then(|| principal.agency.clone());
    db.query(
        format!(
            "{SELECT} where a.work_order_id = $1 and ($2::text is null or a.agency_id = $2) \
             order by a.kpi_appeal_id"
        ),
        [order.into(), agency.flatten().into()],
    )
    .await?
    .collect()
    .await?
    .iter()
    .map(appeal)
    .collect()
}

/// Text of 1 to [`MAX_TEXT`] characters, or why not.
fn checked_text(value: &str, field: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(missing(field));
    }
    if value.chars().count() > MAX_TEXT {
        return Err(too_long(field));
    }
    Ok(value.to_owned())
}

/// `POST /api/v1/orders/{id}/appeals` (agency staff): 201 with the appeal.
pub async fn file(principal: &Principal, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let agency = principal.agency.clone().ok_or(ApiError::Unauthenticated)?;
    let key = order_store::order_key(id)?;
    // What is wrong with the body is said once the order is known to be the agency's: another
    // agency's order is 404 whatever is sent.
    let asked = api_plumbing::parse_json::<NewAppeal>(body)
        .map_err(ApiError::from)
        .and_then(|new| {
            if !APPEALABLE.contains(&new.kpi.as_str()) {
                return Err(ApiError::Validation(vec![field_error(
                    "kpi",
                    "invalid_value",
                    "应为 on_time_completion、response、satisfaction、resolution 或 co_handling_on_time",
                )]));
            }
            Ok((new.kpi, checked_text(&new.reason, "reason")?))
        });
    let window_days: i32 =
        api_plumbing::number_variable("appeal_window_days", APPEAL_DAYS, 1).await;
    let db = api_plumbing::connect().await?;
    let made = db
        .transaction(async {
            // The order locked, with its cases as the KPIs see them: each `*_bad` is whether the
            // case counts against the agency now, each `*_at` when it was settled (null while
            // not). The agency's latest request for help on the order (协办) is its own case.
            let rows = db
                .query(
                    format!(
                        "select o.work_order_id, o.agency_id, \
                                o.deadline_at is not null and case when done.is_done \
                                    then o.replied_at > o.deadline_at else o.deadline_at <= now() end \
                                    as on_time_completion_bad, \
                                case when done.is_done then o.replied_at end as on_time_completion_at, \
                                case when o.contacted_at is not null then o.contacted_at > due.at \
                                     else due.at <= now() end as response_bad, \
                                o.contacted_at as response_at, \
                                r.round as rating_round, \
                                r.satisfaction not in ('satisfied', 'basically_satisfied') as satisfaction_bad, \
                                r.solved <> 'yes' as resolution_bad, \
                                r.created_at as satisfaction_at, r.created_at as resolution_at, \
                                c.work_order_co_handler_id as co_handler_id, c.round as co_handling_round, \
                                c.bad as co_handling_on_time_bad, c.answered_at as co_handling_on_time_at, \
                                now() - make_interval(days => $2) as window_start \
                         from work_orders o \
                         cross join lateral (select {DONE_SQL} as is_done) done \
                         cross join lateral (select {response_due} as at) due \
                         left join lateral (select round, satisfaction, solved, created_at from ratings \
                                            where work_order_id = o.work_order_id \
                                            order by round desc limit 1) r on true \
                         left join lateral (select h.work_order_co_handler_id, {CO_HANDLING_ROUND_SQL} as round, \
                                                   case when h.answered_at is not null then h.answered_at > h.due_at \
                                                        else h.due_at <= now() end as bad, h.answered_at \
                                            from work_order_co_handlers h \
                                            where h.work_order_id = o.work_order_id and h.agency_id = $3 \
                                              and h.cancelled_at is null \
                                            order by h.work_order_co_handler_id desc limit 1) c on true \
                         where o.{column} = $1 and o.dispatched_at is not null \
                         for update of o",
                        response_due = response_due_sql(),
                        column = key.column(),
                    ),
                    [key.value(), window_days.into(), text(&agency)],
                )
                .await?
                .collect()
                .await?;
            let row = rows.first().ok_or(ApiError::NotFound)?;
            let holds = row.get::<String>("agency_id").as_deref() == Some(agency.as_str());
            let co_handler: Option<i64> = row.get("co_handler_id");
            if !holds && co_handler.is_none() {
                return Err(ApiError::NotFound);
            }
            let (kpi, reason) = asked?;
            // An agency appeals its own cases: the holder the order's, one asked to help its
            // request's.
            let co_handling = kpi == "co_handling_on_time";
            let its_own = if co_handling {
                co_handler.is_some()
            } else {
                holds
            };
            if !its_own || row.get::<bool>(&format!("{kpi}_bad")) != Some(true) {
                return Err(ApiError::NothingToAppeal);
            }
            if let (Some(settled), Some(start)) =
                (utc(row, &format!("{kpi}_at")), utc(row, "window_start"))
                && settled < start
            {
                return Err(ApiError::AppealWindowClosed(window_days));
            }
            let round: i32 = if kpi == "satisfaction" || kpi == "resolution" {
                required(row, "rating_round")?
            } else if co_handling {
                required(row, "co_handling_round")?
            } else {
                0
            };
            let order: uuid::Uuid = required(row, "work_order_id")?;
            let now = order_store::now(&db).await?;
            let made = db
                .query(
                    // The case as the KPIs key it: for the on-time rate the deadline in force,
                    // for the response rate the dispatch, for a request for help the request and
                    // its due time (copied here, to the microsecond).
                    "insert into kpi_appeals (work_order_id, kpi, round, agency_id, reason, filed_by, \
                                              filed_at, deadline_at, dispatched_at, co_handler_id) \
                     select o.work_order_id, $2, $3, $4, $5, $6, $7, \
                            case $2 when 'on_time_completion' then o.deadline_at \
                                    when 'co_handling_on_time' then h.due_at end, \
                            case when $2 = 'response' then o.dispatched_at end, \
                            h.work_order_co_handler_id \
                     from work_orders o \
                     left join work_order_co_handlers h on h.work_order_co_handler_id = $8 \
                     where o.work_order_id = $1 \
                     on conflict do nothing returning kpi_appeal_id",
                    [
                        order.into(),
                        text(&kpi),
                        round.into(),
                        text(&agency),
                        text(&reason),
                        text(&principal.subject),
                        now.naive_utc().into(),
                        co_handler.filter(|_| co_handling).into(),
                    ],
                )
                .await?
                .collect()
                .await?;
            let id: i64 = required(made.first().ok_or(ApiError::AlreadyAppealed)?, "kpi_appeal_id")?;
            let note = format!("{}：{reason}", kpi_name(&kpi));
            let mut event = Event::new("appeal_filed", Some(note.clone()));
            event.agency = Some(agency.clone());
            order_store::outbox::record_event(&db, order, &event, &principal.subject, now).await?;
            order_store::outbox::appeal_notices(&db, order, id, &note).await?;
            Ok(id)
        })
        .await?;
    Ok(reply_with(StatusCode::CREATED, &one(&db, made).await?))
}

/// The figure's name as staff read it in the order's history.
fn kpi_name(kpi: &str) -> &'static str {
    match kpi {
        "on_time_completion" => "按期办结率申诉",
        "response" => "响应率申诉",
        "satisfaction" => "满意率申诉",
        "resolution" => "解决率申诉",
        "co_handling_on_time" => "协办按时反馈率申诉",
        _ => "考核申诉",
    }
}

/// `POST /api/v1/appeals/{id}/decision` (supervisors): the appeal decided.
pub async fn decide(principal: &Principal, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::UnknownAppeal)?;
    let decision: AppealDecision = api_plumbing::parse_json(body)?;
    let note = checked_text(&decision.note, "note")?;
    let db = api_plumbing::connect().await?;
    db.transaction(async {
        let rows = db
            .query(
                "select work_order_id, agency_id, decision from kpi_appeals \
                 where kpi_appeal_id = $1 for update",
                [id.into()],
            )
            .await?
            .collect()
            .await?;
        let row = rows.first().ok_or(ApiError::UnknownAppeal)?;
        if row.get::<String>("decision").is_some() {
            return Err(ApiError::AppealDecided);
        }
        let (outcome, code) = if decision.approve {
            ("approved", "appeal_approved")
        } else {
            ("refused", "appeal_refused")
        };
        let now = order_store::now(&db).await?;
        db.execute(
            "update kpi_appeals set decision = $2, decision_note = $3, decided_by = $4, decided_at = $5 \
             where kpi_appeal_id = $1",
            [
                id.into(),
                text(outcome),
                text(&note),
                text(&principal.subject),
                now.naive_utc().into(),
            ],
        )
        .await?;
        let mut event = Event::new(code, Some(note.clone()));
        event.agency = Some(required(row, "agency_id")?);
        let order: uuid::Uuid = required(row, "work_order_id")?;
        order_store::outbox::record_event(&db, order, &event, &principal.subject, now).await?;
        Ok(())
    })
    .await?;
    Ok(reply_with(StatusCode::OK, &one(&db, id).await?))
}

/// `GET /api/v1/appeals?status=&agency=&cursor=&limit=`: waiting ones (`pending`, the default)
/// oldest first; `approved` or `refused` ones newest first. Agency staff see their own agency's.
pub async fn list(principal: &Principal, query: &str) -> Result<Reply, ApiError> {
    let mut problems = Vec::new();
    let status = query_param(query, "status").unwrap_or("pending");
    if !["pending", "approved", "refused"].contains(&status) {
        problems.push(field_error(
            "status",
            "invalid_value",
            "应为 pending、approved 或 refused",
        ));
    }
    let limit = api_plumbing::page_limit(query, DEFAULT_PAGE, MAX_PAGE)
        .map_err(|problem| problems.push(problem))
        .unwrap_or(DEFAULT_PAGE);
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let after: Option<i64> = query_param(query, "cursor")
        .filter(|c| !c.is_empty())
        .map(|c| c.parse().map_err(|_| ApiError::InvalidCursor))
        .transpose()?;
    let agency = if principal.role == "agency_staff" {
        Some(principal.agency.clone().ok_or(ApiError::Unauthenticated)?)
    } else {
        query_param(query, "agency")
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
    };
    // Waiting ones through their partial index (`$1`, the decision asked for, is null then).
    let (which, page) = if status == "pending" {
        (
            "a.decision is null and $1::text is null",
            "a.kpi_appeal_id > coalesce($3, 0) order by a.kpi_appeal_id",
        )
    } else {
        (
            "a.decision = $1",
            "a.kpi_appeal_id < coalesce($3, 9223372036854775807) order by a.kpi_appeal_id desc",
        )
    };
    let db = api_plumbing::connect().await?;
    let rows = db
        .query(
            format!(
                "{SELECT} where {which} and ($2::text is null or a.agency_id = $2) and {page} limit $4"
            ),
            [
                (status != "pending").then(|| status.to_owned()).into(),
                agency.into(),
                after.into(),
                (i64::from(limit) + 1).into(),
            ],
        )
        .await?
        .collect()
        .await?;
    let mut items = rows.iter().map(appeal).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = api_plumbing::next_page(&mut items, limit, |last| last.id.to_string());
    Ok(reply_with(
        StatusCode::OK,
        &KpiAppealList { items, next_cursor },
    ))
}
