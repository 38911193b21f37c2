//! `POST /api/v1/orders/{id}/actions/{action}`: one lifecycle command, in one transaction.

use crate::error::{ApiError, missing};
use crate::views;
use api_plumbing::{Principal, Reply, field_error};
use mobile_api::OrderAction;
use order_store::db::Connection;
use order_store::{self as store, Loaded};
use spin_sdk::http::StatusCode;
use workorder::CheckedVisit;
use workorder::lifecycle::{self, Actor, Command, Emergency, Policy, Satisfaction};

fn actor(principal: &Principal, loaded: &Loaded) -> Result<Actor, ApiError> {
    Ok(match principal.role.as_str() {
        "citizen" => Actor::Citizen {
            owner: principal.subject == loaded.owner,
        },
        "operator" => Actor::Operator,
        "supervisor" => Actor::Supervisor,
        "admin" => Actor::Admin,
        "agency_staff" => Actor::AgencyStaff {
            agency: principal.agency.clone().ok_or(ApiError::Unauthenticated)?,
        },
        _ => return Err(ApiError::Refused(lifecycle::Refusal::Forbidden)),
    })
}

fn text(value: &Option<String>, field: &str) -> Result<String, ApiError> {
    value
        .clone()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| missing(field))
}

/// The most characters a free text of an action or an appeal (a reason, a note, an answer) has.
pub(crate) const MAX_TEXT: usize = 2000;

/// `field`'s text is over [`MAX_TEXT`] characters.
pub(crate) fn too_long(field: &str) -> ApiError {
    ApiError::Validation(vec![field_error(
        field,
        "too_long",
        format!("不能超过 {MAX_TEXT} 个字"),
    )])
}

/// The command an action names, with what it needs from the body and the database.
async fn command(
    db: &Connection,
    action: &str,
    body: &OrderAction,
    loaded: &Loaded,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Command, ApiError> {
    for (field, value) in [
        ("comment", &body.comment),
        ("answer", &body.answer),
        ("reason", &body.reason),
        ("note", &body.note),
        ("result", &body.result),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > MAX_TEXT) {
            return Err(too_long(field));
        }
    }
    Ok(match action {
        "dispatch" | "reassign" => {
            let agency = known_agency(db, body).await?;
            let deadline = store::deadline_for(db, &loaded.category, loaded.urgent, now).await?;
            if action == "dispatch" {
                Command::Dispatch { agency, deadline }
            } else {
                Command::Reassign { agency, deadline }
            }
        }
        "close_direct" => Command::CloseDirect {
            answer: match body.article {
                None => text(&body.answer, "answer")?,
                // Answered from the knowledge base: the article's answer, unless the operator
                // put it in their own words.
                Some(article) => {
                    let Some(answer) = store::knowledge_answer(db, article).await? else {
                        return Err(ApiError::Validation(vec![field_error(
                            "article",
                            "unknown",
                            "没有这个知识条目，或已停用 (no such live article)",
                        )]));
                    };
                    match body.answer.as_deref().map(str::trim) {
                        Some(own) if !own.is_empty() => own.to_owned(),
                        // What the centre tells only its staff is not read out to the citizen.
                        _ if answer.internal => {
                            return Err(ApiError::Validation(vec![field_error(
                                "answer",
                                "required",
                                "内部口径不直接答复市民，请用自己的话答复 (an internal article is answered in your own words)",
                            )]));
                        }
                        _ => answer.answer,
                    }
                }
            },
        },
        "hand_over" => Command::HandOver {
            to: match text(&body.to, "to")?.as_str() {
                "110" => Emergency::Police110,
                "119" => Emergency::Fire119,
                "120" => Emergency::Ambulance120,
                "122" => Emergency::Traffic122,
                _ => {
                    return Err(ApiError::Validation(vec![field_error(
                        "to",
                        "invalid_value",
                        "应为 110、119、120 或 122",
                    )]));
                }
            },
        },
        "inform" => Command::Inform {
            reason: text(&body.reason, "reason")?,
        },
        "merge" => {
            let into = text(&body.into, "into")?;
            let parent = workorder::TrackingNumber::parse(&into).ok_or_else(|| {
                ApiError::Validation(vec![field_error(
                    "into",
                    "invalid_value",
                    "应为工单编号 (a tracking number)",
                )])
            })?;
            Command::Merge {
                into_tracking_number: parent.as_str().to_owned(),
            }
        }
        "sign" => Command::Sign,
        "contact" => Command::RecordContact,
        "visit" => Command::RecordVisit {
            note: visit_of(body)?.note,
        },
        "reply" => {
            workorder::check_photo_links(body.photo_urls.as_deref().unwrap_or_default())
                .map_err(invalid)?;
            Command::Reply {
                result: text(&body.result, "result")?,
            }
        }
        "request_return" => Command::RequestReturn {
            reason: text(&body.reason, "reason")?,
        },
        "refuse_return" => Command::RefuseReturn {
            reason: text(&body.reason, "reason")?,
        },
        "request_extension" => Command::RequestExtension {
            until: body.until.ok_or_else(|| missing("until"))?,
            reason: text(&body.reason, "reason")?,
        },
        "approve_extension" => Command::ApproveExtension,
        "refuse_extension" => Command::RefuseExtension {
            reason: text(&body.reason, "reason")?,
        },
        "pass_audit" => Command::PassAudit,
        "fail_audit" => Command::FailAudit {
            reason: text(&body.reason, "reason")?,
        },
        "rate" => {
            rating_of(body)?;
            Command::Rate {
                satisfaction: match text(&body.satisfaction, "satisfaction")?.as_str() {
                    "satisfied" => Satisfaction::Satisfied,
                    "basically_satisfied" => Satisfaction::BasicallySatisfied,
                    "unsatisfied" => Satisfaction::Unsatisfied,
                    _ => {
                        return Err(ApiError::Validation(vec![field_error(
                            "satisfaction",
                            "invalid_value",
                            "应为 satisfied、basically_satisfied 或 unsatisfied",
                        )]));
                    }
                },
            }
        }
        "start_redo" => Command::StartRedo {
            deadline: store::deadline_for(db, &loaded.category, loaded.urgent, now).await?,
        },
        "archive" => Command::Archive,
        "remind" => Command::Remind {
            note: text(&body.note, "note")?,
            agency: body.agency.clone(),
        },
        "supervise" => Command::Supervise {
            note: text(&body.note, "note")?,
        },
        "key_supervise" => Command::KeySupervise {
            note: text(&body.note, "note")?,
        },
        "rule_unreasonable" => Command::RuleUnreasonable {
            reason: text(&body.reason, "reason")?,
        },
        "not_reached" => Command::NotReached {
            note: text(&body.note, "note")?,
        },
        "withdraw" => Command::Withdraw {
            reason: body.reason.clone(),
        },
        "ask_co_handling" => Command::AskCoHandling {
            agency: known_agency(db, body).await?,
            note: text(&body.note, "note")?,
        },
        "co_reply" => Command::CoReply {
            opinion: text(&body.result, "result")?,
        },
        "cancel_co_handling" => Command::CancelCoHandling {
            agency: text(&body.agency, "agency")?,
            reason: text(&body.reason, "reason")?,
        },
        "urge" => Command::Urge {
            note: body.note.clone(),
        },
        "propose_co_handling" => Command::ProposeCoHandling {
            agency: known_agency(db, body).await?,
            note: text(&body.note, "note")?,
        },
        "refuse_co_handling" => Command::RefuseCoHandling {
            reason: text(&body.reason, "reason")?,
        },
        other => return Err(ApiError::UnknownAction(other.to_owned())),
    })
}

/// The body's `agency`, which must be one the platform knows.
async fn known_agency(db: &Connection, body: &OrderAction) -> Result<String, ApiError> {
    let agency = text(&body.agency, "agency")?;
    if !store::agency_exists(db, &agency).await? {
        return Err(ApiError::Validation(vec![field_error(
            "agency",
            "unknown_agency",
            "没有这个承办单位 (no such agency)",
        )]));
    }
    Ok(agency)
}

const ACTIONS: &[&str] = &[
    "dispatch",
    "reassign",
    "close_direct",
    "hand_over",
    "inform",
    "merge",
    "sign",
    "contact",
    "visit",
    "reply",
    "request_return",
    "refuse_return",
    "request_extension",
    "approve_extension",
    "refuse_extension",
    "pass_audit",
    "fail_audit",
    "rate",
    "start_redo",
    "archive",
    "remind",
    "supervise",
    "key_supervise",
    "rule_unreasonable",
    "not_reached",
    "withdraw",
    "ask_co_handling",
    "co_reply",
    "cancel_co_handling",
    "urge",
    "propose_co_handling",
    "refuse_co_handling",
];

pub async fn act(
    principal: &Principal,
    id: &str,
    action: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    if !ACTIONS.contains(&action) {
        return Err(ApiError::UnknownAction(action.to_owned()));
    }
    let body: OrderAction = if body.iter().all(u8::is_ascii_whitespace) {
        OrderAction::default()
    } else {
        api_plumbing::parse_json(body)?
    };
    store::order_key(id)?;
    let db = api_plumbing::connect().await?;
    let order_id = db
        .transaction(act_in_transaction(&db, principal, id, action, &body))
        .await?;
    views::order_reply(&db, principal, order_id, StatusCode::OK).await
}

async fn act_in_transaction(
    db: &Connection,
    principal: &Principal,
    id: &str,
    action: &str,
    body: &OrderAction,
) -> Result<uuid::Uuid, ApiError> {
    if action == "merge"
        && let Some(into) = &body.into
    {
        lock_merged_pair(db, id, into).await?;
    }
    let loaded = store::load_for_update(db, id).await?;
    let actor = actor(principal, &loaded)?;
    // Staff of an agency neither holding the order nor asked to help with it, and citizens who
    // do not own it, learn nothing of it.
    match &actor {
        Actor::AgencyStaff { agency }
            if loaded.order.agency.as_deref() != Some(agency.as_str())
                && !loaded.order.co_handlers.iter().any(|h| h.agency == *agency) =>
        {
            return Err(ApiError::NotFound);
        }
        Actor::Citizen { owner: false } => return Err(ApiError::NotFound),
        _ => {}
    }
    let now = store::now(db).await?;
    let command = command(db, action, body, &loaded, now).await?;
    let (next, event) = lifecycle::apply(&loaded.order, &actor, &command, now, Policy::default())
        .map_err(ApiError::Refused)?;
    // Other citizens' requests merged into this one wait on it: it is no longer one citizen's
    // to withdraw.
    if matches!(command, Command::Withdraw { .. }) && has_merged_orders(db, loaded.id).await? {
        return Err(ApiError::MergedOrdersDepend);
    }
    if let Command::Merge {
        into_tracking_number,
    } = &command
    {
        let parent = merge_into(db, &loaded, into_tracking_number).await?;
        // Its citizen now follows the order merged into, which may make it a hot issue.
        store::outbox::key_supervise_hot_issue(db, parent).await?;
    }
    let mut event = event;
    if let Command::Rate { .. } = &command {
        let rating = rating_of(body)?;
        // The citizen rates in the app within the window; after it, an operator's follow-up
        // call records the rating by phone.
        if principal.role == "citizen" {
            check_rating_window(db, &loaded, now).await?;
        }
        // The citizen's own choices, which their timeline shows.
        event.note = Some(rating.summary());
        record_rating(db, &loaded, principal, &rating, now).await?;
    }
    // Before the event, whose notice to an agency asked to help says when its opinion is due.
    record_co_handling(db, &loaded, principal, &command, now).await?;
    redate_co_handling(db, &loaded, &next, now).await?;
    store::save(db, &loaded, &next, &event, &principal.subject, now).await?;
    // An order many citizens raised while it waited for the centre is a hot issue once an
    // agency holds it.
    if matches!(command, Command::Dispatch { .. } | Command::Reassign { .. }) {
        store::outbox::key_supervise_hot_issue(db, loaded.id).await?;
    }
    if let (Command::CloseDirect { .. }, Some(article)) = (&command, body.article) {
        db.execute(
            "update work_orders set answered_from_article = $2 where work_order_id = $1",
            [loaded.id.into(), article.into()],
        )
        .await?;
    }
    if matches!(command, Command::RecordVisit { .. }) {
        record_visit(db, &loaded, principal, &visit_of(body)?, now).await?;
    }
    if matches!(command, Command::Reply { .. }) {
        record_reply_photos(
            db,
            &loaded,
            principal,
            body.photo_urls.as_deref().unwrap_or_default(),
        )
        .await?;
    }
    Ok(loaded.id)
}

/// The request for help (协办) a command makes, urges on, answers or takes back, beside its
/// history event:
/// an agency that comes to hold the order is no longer asked to help. A request is due
/// `co_handling_working_days` working days after it is made, or at the order's deadline if that
/// comes first and is still ahead (`lifecycle::co_handling_due`).
async fn record_co_handling(
    db: &Connection,
    loaded: &Loaded,
    principal: &Principal,
    command: &Command,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    const CANCEL: &str = "update work_order_co_handlers \
         set cancel_reason = $3, cancelled_by = $4, cancelled_at = $5 \
         where work_order_id = $1 and agency_id = $2 and cancelled_at is null";
    let (sql, agency, words) = match command {
        Command::AskCoHandling { agency, note } => {
            let days = api_plumbing::number_variable("co_handling_working_days", 3u32, 1).await;
            let by_working_days = store::working_days_after(db, days, now).await?;
            let due = lifecycle::co_handling_due(now, by_working_days, loaded.order.deadline);
            db.execute(
                "insert into work_order_co_handlers \
                 (work_order_id, agency_id, request, asked_by, asked_at, due_at) \
                 values ($1, $2, $3, $4, $5, $6)",
                [
                    loaded.id.into(),
                    store::text(agency),
                    store::text(note),
                    store::text(&principal.subject),
                    now.naive_utc().into(),
                    due.naive_utc().into(),
                ],
            )
            .await?;
            return Ok(());
        }
        Command::CoReply { opinion } => (
            "update work_order_co_handlers set opinion = $3, answered_by = $4, answered_at = $5 \
             where work_order_id = $1 and agency_id = $2 and cancelled_at is null",
            principal.agency.as_deref().unwrap_or_default(),
            opinion.as_str(),
        ),
        Command::CancelCoHandling { agency, reason } => (CANCEL, agency.as_str(), reason.as_str()),
        Command::Remind {
            agency: Some(agency),
            ..
        } => {
            db.execute(
                "update work_order_co_handlers set reminders = reminders + 1 \
                 where work_order_id = $1 and agency_id = $2 and cancelled_at is null",
                [loaded.id.into(), store::text(agency)],
            )
            .await?;
            return Ok(());
        }
        Command::Reassign { agency, .. }
            if loaded.order.co_handlers.iter().any(|h| h.agency == *agency) =>
        {
            (CANCEL, agency.as_str(), "改由该单位主办")
        }
        _ => return Ok(()),
    };
    db.execute(
        sql,
        [
            loaded.id.into(),
            store::text(agency),
            store::text(words),
            store::text(&principal.subject),
            now.naive_utc().into(),
        ],
    )
    .await?;
    Ok(())
}

/// When the order's deadline moves (an extension, a reassignment, a redo), the opinions still
/// awaited are due by the same rule against the new one (`lifecycle::co_handling_due`): an agency
/// asked to help whose time the old deadline cut short gets its working days back, and none is
/// given beyond the holder's new deadline. One due again later may be told again when late.
async fn redate_co_handling(
    db: &Connection,
    loaded: &Loaded,
    next: &lifecycle::Order,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    if next.deadline == loaded.order.deadline || next.co_handlers.iter().all(|h| h.answered) {
        return Ok(());
    }
    let awaited = db
        .query(
            "select work_order_co_handler_id, asked_at from work_order_co_handlers \
             where work_order_id = $1 and answered_at is null and cancelled_at is null",
            [loaded.id.into()],
        )
        .await?
        .collect()
        .await?;
    let days = api_plumbing::number_variable("co_handling_working_days", 3u32, 1).await;
    for request in &awaited {
        let id: i64 = store::required(request, "work_order_co_handler_id")?;
        let asked = store::utc(request, "asked_at")
            .ok_or_else(|| ApiError::Internal("a request for help without time".into()))?;
        let by_working_days = store::working_days_after(db, days, asked).await?;
        let due = lifecycle::co_handling_due(now, by_working_days, next.deadline);
        db.execute(
            "update work_order_co_handlers set due_at = $2, \
                    overdue_notified_at = case when $3 then null else overdue_notified_at end \
             where work_order_co_handler_id = $1",
            [id.into(), due.naive_utc().into(), (due > now).into()],
        )
        .await?;
    }
    Ok(())
}

/// Whether another order was merged into this one.
async fn has_merged_orders(db: &Connection, order: uuid::Uuid) -> Result<bool, ApiError> {
    let rows = db
        .query(
            "select exists (select 1 from work_orders where merged_into = $1) as merged",
            [order.into()],
        )
        .await?
        .collect()
        .await?;
    Ok(rows.first().and_then(|row| row.get::<bool>("merged")) == Some(true))
}

/// A rating's parts beyond the satisfaction the lifecycle reads.
struct Rating {
    satisfaction: String,
    solved: String,
    comment: Option<String>,
}

impl Rating {
    /// In the citizen's words, e.g. `满意，问题已解决`.
    fn summary(&self) -> String {
        let satisfaction = match self.satisfaction.as_str() {
            "satisfied" => "满意",
            "basically_satisfied" => "基本满意",
            _ => "不满意",
        };
        let solved = match self.solved.as_str() {
            "yes" => "问题已解决",
            "partly" => "问题部分解决",
            _ => "问题未解决",
        };
        format!("{satisfaction}，{solved}")
    }
}

fn rating_of(body: &OrderAction) -> Result<Rating, ApiError> {
    let satisfaction = text(&body.satisfaction, "satisfaction")?;
    let solved = text(&body.solved, "solved")?;
    if !["yes", "partly", "no"].contains(&solved.as_str()) {
        return Err(ApiError::Validation(vec![field_error(
            "solved",
            "invalid_value",
            "应为 yes、partly 或 no (solved is yes, partly or no)",
        )]));
    }
    if body
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT)
    {
        return Err(ApiError::Validation(vec![field_error(
            "comment",
            "too_long",
            format!("评价内容不能超过 {MAX_COMMENT} 个字"),
        )]));
    }
    Ok(Rating {
        satisfaction,
        solved,
        comment: body.comment.clone().filter(|c| !c.trim().is_empty()),
    })
}

const MAX_COMMENT: usize = 500;

/// A rating is taken within `rating_window_days` of the reply passing audit.
async fn check_rating_window(
    db: &Connection,
    loaded: &Loaded,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    let days: i64 = api_plumbing::number_variable("rating_window_days", 7, 1).await;
    let rows = db
        .query(
            "select awaiting_rating_since from work_orders where work_order_id = $1",
            [loaded.id.into()],
        )
        .await?
        .collect()
        .await?;
    let since = rows
        .first()
        .and_then(|row| store::utc(row, "awaiting_rating_since"));
    match since {
        Some(since) if now > since + chrono::TimeDelta::days(days) => {
            Err(ApiError::RatingWindowClosed)
        }
        _ => Ok(()),
    }
}

/// The rating of this round, beside its history event.
async fn record_rating(
    db: &Connection,
    loaded: &Loaded,
    principal: &Principal,
    rating: &Rating,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    let channel = if principal.role == "citizen" {
        "app"
    } else {
        "phone"
    };
    db.execute(
        "insert into ratings (work_order_id, round, satisfaction, solved, comment, rated_by, channel, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            loaded.id.into(),
            (i32::try_from(loaded.order.redos).unwrap_or(i32::MAX) + 1).into(),
            store::text(&rating.satisfaction),
            store::text(&rating.solved),
            rating.comment.clone().into(),
            store::text(&principal.subject),
            store::text(channel),
            now.naive_utc().into(),
        ],
    )
    .await?;
    Ok(())
}

/// A visit's note, photos and place, checked.
fn visit_of(body: &OrderAction) -> Result<CheckedVisit, ApiError> {
    CheckedVisit::parse(
        body.note.as_deref(),
        body.photo_urls.as_deref().unwrap_or_default(),
        body.lat,
        body.lng,
    )
    .map_err(invalid)
}

/// The problems the lifecycle's checks found in a body, as the 422 that names each field.
fn invalid(problems: Vec<workorder::FieldProblem>) -> ApiError {
    ApiError::Validation(
        problems
            .into_iter()
            .map(|p| field_error(p.field, p.code, p.message))
            .collect(),
    )
}

/// The visit's record beside its history event, in the same transaction.
async fn record_visit(
    db: &Connection,
    order: &Loaded,
    principal: &Principal,
    visit: &CheckedVisit,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    // Photos uploaded on site are the visitor's own; the transaction's rollback undoes all of
    // it when one is not.
    if let Some(problem) =
        store::photos::attach(db, &principal.subject, order.id, &visit.photo_urls).await?
    {
        return Err(ApiError::Validation(vec![problem]));
    }
    let (lat, lng) = visit.coordinates.unzip();
    db.execute(
        "insert into work_order_visits (work_order_id, actor, note, photo_urls, lat, lng, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7)",
        [
            order.id.into(),
            store::text(&principal.subject),
            store::text(&visit.note),
            visit
                .photo_urls
                .iter()
                .cloned()
                .map(Some)
                .collect::<Vec<_>>()
                .into(),
            lat.into(),
            lng.into(),
            now.naive_utc().into(),
        ],
    )
    .await?;
    Ok(())
}

/// The photos a reply carries (办理结果: the streetlight working again), beside its `replied`
/// event, in the same transaction: ones the replying staff uploaded. The order is locked, so the
/// order's newest `replied` event is the one just recorded.
async fn record_reply_photos(
    db: &Connection,
    order: &Loaded,
    principal: &Principal,
    photo_urls: &[String],
) -> Result<(), ApiError> {
    if photo_urls.is_empty() {
        return Ok(());
    }
    if let Some(problem) =
        store::photos::attach(db, &principal.subject, order.id, photo_urls).await?
    {
        return Err(ApiError::Validation(vec![problem]));
    }
    let photos: Vec<Option<String>> = photo_urls.iter().cloned().map(Some).collect();
    db.execute(
        "insert into work_order_event_photos (work_order_event_id, photo_urls) \
         select max(work_order_event_id), $2 from work_order_events \
         where work_order_id = $1 and event = 'replied'",
        [order.id.into(), photos.into()],
    )
    .await?;
    Ok(())
}

/// Locks both orders a merge touches (the order `id` and the one it joins, `into`), in the order
/// of their tracking numbers, before either is read. Merging locks the one order, then the other;
/// two merges of the same pair in opposite directions (two operators at once) each held the order
/// the other went on to ask for, and PostgreSQL ended one of them to break the deadlock. Taken in
/// one order, the second waits for the first, and then finds its target merged.
async fn lock_merged_pair(db: &Connection, id: &str, into: &str) -> Result<(), ApiError> {
    let key = store::order_key(id)?;
    db.query(
        format!(
            "select 1 from work_orders where {} = $1 or tracking_number = $2 \
             order by tracking_number for update",
            key.column()
        ),
        [key.value(), store::text(into)],
    )
    .await?;
    Ok(())
}

/// 并单: links the order to the open duplicate it joins (`parent`, a tracking number), and makes
/// its citizen a follower of that order, in the merge's transaction; the id of the order it
/// joins. The lifecycle has already allowed the merge.
async fn merge_into(db: &Connection, child: &Loaded, parent: &str) -> Result<uuid::Uuid, ApiError> {
    // Held until the merge commits, so that the parent cannot close in between.
    let rows = db
        .query(
            format!(
                "select work_order_id, status not in {} as open, confidential from work_orders \
                 where tracking_number = $1 for share",
                store::CLOSED_STATUSES
            ),
            [store::text(parent)],
        )
        .await?
        .collect()
        .await?;
    let Some(row) = rows.first() else {
        return Err(ApiError::Validation(vec![field_error(
            "into",
            "unknown_order",
            "没有这张工单 (no such order)",
        )]));
    };
    let parent_id: uuid::Uuid = store::required(row, "work_order_id")?;
    // A confidential order gains no followers.
    if parent_id == child.id
        || !store::required::<bool>(row, "open")?
        || store::required::<bool>(row, "confidential")?
    {
        return Err(ApiError::MergeTargetInvalid);
    }
    db.execute(
        "update work_orders set merged_into = $2 where work_order_id = $1",
        [child.id.into(), parent_id.into()],
    )
    .await?;
    // The citizen follows the parent, unless it is their own already.
    db.execute(
        "insert into order_followers (work_order_id, citizen_id, reason) \
         select p.work_order_id, c.citizen_id, 'merged' from work_orders c, work_orders p \
         where c.work_order_id = $1 and p.work_order_id = $2 and c.citizen_id <> p.citizen_id \
         on conflict do nothing",
        [child.id.into(), parent_id.into()],
    )
    .await?;
    Ok(parent_id)
}
