//! Filing, listing and reading work orders.

use crate::error::ApiError;
use api_plumbing::{Principal, Reply, field_error, json_reply, reply_with};
use mobile_api::{
    AnswerFrom, Channel, CreateRequest, Location, Named, OrderAnswer, TimelineEntry, WorkOrder,
    WorkOrderPage, WorkOrderSummary,
};
use order_store::db::{Connection, Row};
use order_store::idempotency::{self, Claim};
use order_store::{CitizenKey, OrderKey, required, required_named, text};
use spin_sdk::http::StatusCode;
use std::sync::LazyLock;
use workorder::lifecycle::{self, Actor, Command, Event, Order, Policy, Status};
use workorder::{CheckedRequest, RequestDraft, TrackingNumber};

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

async fn connect() -> Result<Connection, ApiError> {
    api_plumbing::connect().await.map_err(ApiError::from)
}

pub(crate) fn check_idempotency_key(key: &str) -> Result<(), ApiError> {
    if idempotency::valid_key(key) {
        Ok(())
    } else {
        Err(ApiError::InvalidIdempotencyKey)
    }
}

fn checked(principal: &Principal, request: &CreateRequest) -> Result<CheckedRequest, ApiError> {
    let draft = RequestDraft {
        category: &request.category,
        title: &request.title,
        description: &request.description,
        lat: request.location.lat,
        lng: request.location.lng,
        address: request.location.address.as_deref(),
        district: request.location.district.as_deref(),
        contact_phone: &request.contact_phone,
        photo_urls: &request.photo_urls,
    };
    let parsed = CheckedRequest::parse(&draft);
    let mut problems: Vec<_> = match &parsed {
        Ok(_) => Vec::new(),
        Err(problems) => problems
            .iter()
            .map(|p| field_error(p.field, p.code, p.message.clone()))
            .collect(),
    };
    let operator = principal.role == "operator";
    // A partner system's requests come in on its channel, and only theirs do (`open311.rs`).
    if (principal.role == PARTNER) != (request.channel == Channel::Partner) {
        problems.push(field_error(
            "channel",
            "channel_not_allowed",
            "对接系统渠道由对接系统经 Open311 提交 (the partner channel is for partner systems, through Open311)",
        ));
    }
    if !operator && request.channel == Channel::Phone {
        problems.push(field_error(
            "channel",
            "channel_not_allowed",
            "电话渠道的诉求由话务员登记 (phone requests are filed by operators)",
        ));
    }
    if operator && request.channel != Channel::Phone {
        problems.push(field_error(
            "channel",
            "channel_not_allowed",
            "话务员登记来电，渠道应为 phone (operators file calls: channel must be phone)",
        ));
    }
    if !operator && request.leader_day.is_some() {
        problems.push(field_error(
            "leader_day",
            "field_not_allowed",
            "领导接听由话务员登记 (only operators record a call a leader took)",
        ));
    }
    if !operator && request.hotline_number.is_some() {
        problems.push(field_error(
            "hotline_number",
            "field_not_allowed",
            "来电号码由话务员登记 (only operators record the number a call came in on)",
        ));
    }
    match parsed {
        Ok(checked) if problems.is_empty() => Ok(checked),
        _ => Err(ApiError::Validation(problems)),
    }
}

/// `POST /api/v1/requests`.
pub async fn file(
    principal: &Principal,
    idempotency_key: Option<String>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    if let Some(key) = &idempotency_key {
        check_idempotency_key(key)?;
    }
    let request: CreateRequest = api_plumbing::parse_json(body)?;
    file_request(principal, idempotency_key.as_deref(), &request, body).await
}

/// Files `request` (checked here), for whoever `principal` is; `sent` is what the client sent,
/// whose hash a retry under the same `Idempotency-Key` must match.
pub(crate) async fn file_request(
    principal: &Principal,
    idempotency_key: Option<&str>,
    request: &CreateRequest,
    sent: &[u8],
) -> Result<Reply, ApiError> {
    let checked = checked(principal, request)?;
    let hotline_number = (request.channel == Channel::Phone)
        .then(|| request.hotline_number.clone())
        .map(|number| number.unwrap_or_else(|| DEFAULT_HOTLINE.to_owned()));
    let db = connect().await?;

    // Coordinates decide the district and grid; the citizen's choice stands only without them
    // or where they fall in no district. The category, the district and the hotline number must
    // exist: checked before the transaction, so that a bad request takes no locks. The dispatch
    // catalogue is read in the same statement.
    let keywords_text = format!("{}\n{}", checked.title, checked.description);
    let facts = order_store::filing::facts(
        &db,
        &order_store::filing::Request {
            coordinates: checked.coordinates,
            category: &checked.category,
            chosen_district: checked.district.as_deref(),
            hotline_number: hotline_number.as_deref(),
            subject: &principal.subject,
            text: &keywords_text,
            urgent: request.urgent,
        },
    )
    .await?;
    let mut problems = Vec::new();
    let leader = match request.leader_day {
        Some(day) => order_store::active_leader_day(&db, day).await?,
        None => None,
    };
    if request.leader_day.is_some() && leader.is_none() {
        problems.push(leader_day_not_active());
    }
    if hotline_number.is_some() && facts.hotline_name.is_none() {
        problems.push(field_error(
            "hotline_number",
            "unknown_hotline_number",
            "不是本市并入 12345 的热线号码 (not a hotline number that rings 12345 here)",
        ));
    }
    if facts.category_name.is_none() {
        problems.push(field_error(
            "category",
            "unknown_category",
            "没有这个诉求类别 (no such category)",
        ));
    }
    // The district the citizen chose must exist even when the coordinates decide.
    if checked.district.is_some() && !facts.chosen_district_known {
        problems.push(field_error(
            "location.district",
            "unknown_district",
            "没有这个县区 (no such district)",
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }

    // What a mini-program citizen wrote is checked with WeChat before it is shown to others.
    let content_check = match request.channel {
        Channel::Wechat => Some(
            crate::content::check(
                facts.openid.as_deref(),
                &checked.title,
                &checked.description,
            )
            .await,
        ),
        _ => None,
    };

    // A retry under the same key must carry the same request: what it carried is kept as a hash.
    let idempotency = idempotency_key.map(|key| (key, idempotency::request_hash(sent)));
    let filing = Filing {
        request,
        checked: &checked,
        hotline_number: hotline_number.as_deref(),
        facts,
        content_check,
        leader,
    };
    db.keyed_transaction(async {
        let key = idempotency
            .as_ref()
            .map(|(key, hash)| (*key, hash.as_str()));
        Ok(
            match file_in_transaction(&db, principal, key, &filing).await? {
                Filed::New(reply) => (reply, true),
                Filed::Replayed(reply) => (reply, false),
            },
        )
    })
    .await
}

/// `POST /internal/idempotency-keys` (the runtime's schedule, every hour): forgets the
/// `Idempotency-Key`s claimed more than `idempotency_key_hours` ago (168: a week, for apps that
/// retry after days offline), a batch at a time within a few seconds; the schedule's next run
/// takes what is left.
pub async fn forget_idempotency_keys() -> Result<Reply, ApiError> {
    const BATCH: i64 = 10_000;
    let started = std::time::Instant::now();
    let hours = api_plumbing::number_variable("idempotency_key_hours", 168, 1).await;
    let db = connect().await?;
    let mut forgotten = 0;
    loop {
        let gone = idempotency::forget_older_than(&db, hours, BATCH).await?;
        forgotten += gone;
        if gone < BATCH as u64 || started.elapsed() > std::time::Duration::from_secs(5) {
            break;
        }
    }
    Ok(reply_with(
        StatusCode::OK,
        &serde_json::json!({ "forgotten": forgotten }),
    ))
}

fn leader_day_not_active() -> mobile_api::FieldError {
    field_error(
        "leader_day",
        "not_active",
        "没有这个领导接听日，或不在接听时段 (no such leader answering day under way)",
    )
}

/// The history event of a call a leader took on their answering day.
const TAKEN_BY_LEADER: &str = "taken_by_leader";

/// The role the gateway gives a partner system that showed its Open311 key.
pub(crate) const PARTNER: &str = "partner";

/// The number a call is recorded as coming in on when the operator names none.
const DEFAULT_HOTLINE: &str = "12345";

enum Filed {
    New(Reply),
    Replayed(Reply),
}

/// A checked request with what the database said of it.
struct Filing<'a> {
    request: &'a CreateRequest,
    checked: &'a CheckedRequest,
    hotline_number: Option<&'a str>,
    facts: order_store::filing::Facts,
    /// WeChat's verdict on the text, for mini-program filings.
    content_check: Option<&'static str>,
    /// The leader who took the call on their answering day, as people say it.
    leader: Option<String>,
}

async fn file_in_transaction(
    db: &Connection,
    principal: &Principal,
    idempotency: Option<(&str, &str)>,
    filing: &Filing<'_>,
) -> Result<Filed, ApiError> {
    let (request, checked) = (filing.request, filing.checked);
    if let Some((key, request_hash)) = idempotency {
        match idempotency::claim(db, &principal.subject, key, request_hash).await? {
            Claim::Fresh => {}
            Claim::Reused => return Err(ApiError::IdempotencyKeyReused),
            Claim::Replay(status, body) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
                return Ok(Filed::Replayed(json_reply(status, body)));
            }
        }
    }
    // The day checked before the transaction may have been cancelled since: held now, it cannot
    // be until this commits (a cancellation waits for it, then finds the call and refuses).
    if let Some(day) = request.leader_day
        && !order_store::hold_leader_day(db, day).await?
    {
        return Err(ApiError::Validation(vec![leader_day_not_active()]));
    }
    let work_order_id = uuid::Uuid::new_v4();
    if let Some(problem) =
        order_store::photos::attach(db, &principal.subject, work_order_id, &checked.photo_urls)
            .await?
    {
        return Err(ApiError::Validation(vec![problem]));
    }

    // An operator files for the caller and a partner system for whoever told it, each known by
    // phone number; a citizen for themselves.
    let key = if principal.role == "operator" || principal.role == PARTNER {
        CitizenKey::Phone(checked.contact_phone.as_str())
    } else {
        CitizenKey::Subject(&principal.subject)
    };
    let (citizen, numbered) = order_store::find_or_add_citizen_numbered(db, key).await?;
    let (citizen_id, serial, now) = (citizen.id, numbered.serial, numbered.now);
    let prefix = api_plumbing::variable("tracking_prefix")
        .await
        .map_err(ApiError::Internal)?;
    let tracking_number = TrackingNumber::new(&prefix, now, serial);
    let (lat, lng) = checked.coordinates.unzip();

    db.execute(
        "insert into work_orders (work_order_id, tracking_number, citizen_id, filed_by, status, category_id, title, \
         description, lat, lng, address, district_id, grid_id, contact_phone, channel, hotline_number, urgent, \
         confidential, photo_urls, created_at, updated_at, content_check, leader_day_id) \
         values ($1, $2, $3, $4, 'received', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19, $20, $21)",
        [
            work_order_id.into(),
            text(tracking_number.as_str()),
            citizen_id.into(),
            text(&principal.subject),
            text(&checked.category),
            text(&checked.title),
            text(&checked.description),
            lat.into(),
            lng.into(),
            checked.address.clone().into(),
            filing.facts.place.district.clone().into(),
            filing.facts.place.grid.clone().into(),
            text(checked.contact_phone.as_str()),
            text(request.channel.as_str()),
            filing.hotline_number.map(str::to_owned).into(),
            request.urgent.into(),
            request.confidential.into(),
            checked.photo_urls.iter().cloned().map(Some).collect::<Vec<_>>().into(),
            now.naive_utc().into(),
            filing.content_check.map(str::to_owned).into(),
            request.leader_day.into(),
        ],
    )
    .await?;
    let received = Event::new("received", None);
    order_store::record_event(db, work_order_id, &received, &principal.subject, now).await?;
    let mut timeline = vec![TimelineEntry {
        at: now,
        event: "received".into(),
        description: workorder::event_description("received", request.urgent)
            .unwrap_or_default()
            .to_owned(),
    }];
    // A call a leader took on their answering day says so in its history, the leader named there
    // for the staff (a note: the citizen's timeline shows no notes).
    if let Some(leader) = &filing.leader {
        let taken = Event::new(TAKEN_BY_LEADER, Some(leader.clone()));
        order_store::record_event(db, work_order_id, &taken, &principal.subject, now).await?;
        timeline.push(TimelineEntry {
            at: now,
            event: TAKEN_BY_LEADER.into(),
            description: workorder::event_description(TAKEN_BY_LEADER, request.urgent)
                .unwrap_or_default()
                .to_owned(),
        });
    }
    let status = auto_dispatch(db, work_order_id, principal, filing, now).await?;
    if status != Status::Received {
        timeline.push(TimelineEntry {
            at: now,
            event: "dispatched".into(),
            description: workorder::event_description("dispatched", request.urgent)
                .unwrap_or_default()
                .to_owned(),
        });
    }
    let order = WorkOrder {
        id: work_order_id,
        tracking_number: tracking_number.as_str().to_owned(),
        status: status.code().into(),
        status_label: workorder::status_label(status.code()).into(),
        category: Named {
            code: checked.category.clone(),
            name: filing.facts.category_name.clone().unwrap_or_default(),
        },
        title: checked.title.clone(),
        description: checked.description.clone(),
        location: Location {
            lat,
            lng,
            address: checked.address.clone(),
            district: named(
                filing.facts.place.district.clone(),
                filing.facts.district_name.clone(),
            ),
            grid: named(
                filing.facts.place.grid.clone(),
                filing.facts.grid_name.clone(),
            ),
        },
        contact_phone_masked: Some(checked.contact_phone.masked()),
        channel: request.channel,
        urgent: request.urgent,
        confidential: request.confidential,
        photo_urls: checked.photo_urls.clone(),
        following: false,
        merged_into: None,
        created_at: now,
        updated_at: now,
        timeline,
        answer: None,
        urge_from: status.with_agency().then_some(now),
    };
    // Serialised once: the answer, and what a retry under the same key is given.
    let body = serde_json::to_string(&order).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some((key, _)) = idempotency {
        idempotency::answer(db, &principal.subject, key, 201, &body).await?;
    }
    Ok(Filed::New(json_reply(StatusCode::CREATED, body)))
}

/// Who the history names for dispatches the catalogue made.
const DISPATCH_CATALOGUE: &str = "dispatch-catalogue";

/// Dispatches a new order at once when the dispatch catalogue names its agency (and urgent orders
/// to their district's government when it does not), in the filing's transaction. Otherwise the
/// order waits in the operators' queue.
async fn auto_dispatch(
    db: &Connection,
    work_order_id: uuid::Uuid,
    principal: &Principal,
    filing: &Filing<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Status, ApiError> {
    let (checked, urgent) = (filing.checked, filing.request.urgent);
    let Some(agency) = filing.facts.agency.clone() else {
        return Ok(Status::Received);
    };
    let deadline = order_store::deadline_for(db, &checked.category, urgent, now).await?;
    let loaded = order_store::Loaded {
        id: work_order_id,
        order: Order {
            leader_day: filing.request.leader_day.is_some(),
            ..Order::received()
        },
        owner: principal.subject.clone(),
        category: checked.category.clone(),
        urgent,
        contacted_at: None,
    };
    let dispatch = Command::Dispatch { agency, deadline };
    let (next, event) = lifecycle::apply(
        &loaded.order,
        &Actor::Operator,
        &dispatch,
        now,
        Policy::default(),
    )
    .map_err(|refusal| {
        ApiError::Internal(format!("the catalogue's dispatch was refused: {refusal}"))
    })?;
    order_store::save(db, &loaded, &next, &event, DISPATCH_CATALOGUE, now).await?;
    Ok(next.status)
}

/// An order's columns as citizens see them, with its names and the order it was merged into.
const COLUMNS: &str = "o.work_order_id, o.tracking_number, o.status, o.category_id, \
     c.name as category_name, o.title, o.description, o.lat, o.lng, o.address, o.district_id, \
     d.name as district_name, o.grid_id, g.name as grid_name, o.contact_phone, o.channel, o.urgent, \
     o.confidential, o.photo_urls, o.created_at, o.updated_at, p.tracking_number as merged_into_number";

const FROM: &str = "from work_orders o \
     join categories c on c.category_id = o.category_id \
     left join districts d on d.district_id = o.district_id \
     left join grids g on g.grid_id = o.grid_id \
     left join work_orders p on p.work_order_id = o.merged_into";

/// The order's history, oldest first, as a JSON array of `[event, note, microseconds since the
/// epoch]`: read with the order in one statement, not a second round trip.
const EVENTS: &str = "(select coalesce(json_agg(json_build_array(e.event, e.note, \
         (extract(epoch from e.created_at) * 1000000)::int8) order by e.work_order_event_id), '[]')::text \
     from work_order_events e where e.work_order_id = o.work_order_id) as events";

/// The orders of the citizen whose subject is `$1`.
fn own_orders() -> String {
    format!(
        "select {COLUMNS} {FROM} join citizens ci on ci.citizen_id = o.citizen_id where ci.subject = $1"
    )
}

/// The orders that the citizen whose subject is `$1` follows.
fn followed_orders() -> String {
    format!(
        "select {COLUMNS} {FROM} join order_followers f on f.work_order_id = o.work_order_id \
         join citizens fc on fc.citizen_id = f.citizen_id where fc.subject = $1"
    )
}

pub(crate) fn named(code: Option<String>, name: Option<String>) -> Option<Named> {
    code.zip(name).map(|(code, name)| Named { code, name })
}

fn channel(code: &str) -> Result<Channel, ApiError> {
    serde_json::from_value(serde_json::Value::String(code.to_owned()))
        .map_err(|_| ApiError::Internal(format!("unknown channel {code} in the database")))
}

fn summary(row: &Row, following: bool) -> Result<WorkOrderSummary, ApiError> {
    let status: String = required(row, "status")?;
    Ok(WorkOrderSummary {
        id: required(row, "work_order_id")?,
        tracking_number: required(row, "tracking_number")?,
        status_label: workorder::status_label(&status).to_owned(),
        status,
        category: required_named(row, "category_id", "category_name")?,
        title: required(row, "title")?,
        urgent: required(row, "urgent")?,
        following,
        thumbnail_url: required::<Vec<Option<String>>>(row, "photo_urls")?
            .into_iter()
            .flatten()
            .next()
            .map(|link| workorder::photo::thumbnail_link(&link)),
        created_at: required::<chrono::NaiveDateTime>(row, "created_at")?.and_utc(),
    })
}

/// The statement of [`visible_order`] for an order named by the `work_orders` column `key`: the
/// order with whether the caller (`$1`) filed or follows it, and its history.
fn visible_statement(key: &str) -> String {
    format!(
        "select {COLUMNS}, (ci.subject = $1) as own, \
                exists (select 1 from order_followers f join citizens fc on fc.citizen_id = f.citizen_id \
                        where f.work_order_id = o.work_order_id and fc.subject = $1) as following, \
                {EVENTS} \
         {FROM} join citizens ci on ci.citizen_id = o.citizen_id \
         where o.{key} = $2"
    )
}

// Written once per instance rather than once per request (every tracking request reads one).
static VISIBLE_BY_ID: LazyLock<String> = LazyLock::new(|| visible_statement(OrderKey::ID_COLUMN));
static VISIBLE_BY_NUMBER: LazyLock<String> =
    LazyLock::new(|| visible_statement(OrderKey::NUMBER_COLUMN));

/// The order as its citizen or a follower sees it, or `None` when the caller may not see it.
pub(crate) async fn visible_order(
    db: &Connection,
    principal: &Principal,
    id: &str,
) -> Result<Option<WorkOrder>, ApiError> {
    let key = order_store::order_key(id)?;
    let statement = match key {
        OrderKey::Id(_) => &VISIBLE_BY_ID,
        OrderKey::Number(_) => &VISIBLE_BY_NUMBER,
    };
    let rows = db
        .query(statement.as_str(), [text(&principal.subject), key.value()])
        .await?
        .collect()
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let own: bool = required(row, "own")?;
    let following = !own && required::<bool>(row, "following")?;
    if !own && !following {
        return Ok(None);
    }
    let head = summary(row, following)?;
    let events: Vec<(String, Option<String>, i64)> =
        serde_json::from_str(&required::<String>(row, "events")?)
            .map_err(|e| ApiError::Internal(format!("the order's events: {e}")))?;
    let urgent = head.urgent;
    // A reply is written to the one who asked: followers see the progress, not the answer.
    let answer = match own
        .then(|| {
            workorder::citizen_answer(
                events
                    .iter()
                    .map(|(code, note, micros)| (code.as_str(), note.as_deref(), *micros)),
            )
        })
        .flatten()
    {
        Some((text, from, micros)) => {
            let at = at_micros(micros)?;
            let (from, photo_urls) = match from {
                workorder::Answerer::Agency => {
                    (AnswerFrom::Agency, reply_photos(db, head.id, at).await?)
                }
                workorder::Answerer::Hotline => (AnswerFrom::Hotline, Vec::new()),
            };
            Some(OrderAnswer {
                text: text.to_owned(),
                from,
                at,
                photo_urls,
            })
        }
        None => None,
    };
    let urge_from = own
        .then(|| urge_from(&head, &events))
        .transpose()?
        .flatten();
    let mut timeline = Vec::new();
    for (code, note, micros) in events {
        // The centre's internal steps are not the citizen's to see.
        if let Some(description) = workorder::event_description(&code, urgent) {
            // A rating's note is the citizen's own choices: shown to them, not to followers.
            let rating = (own && code.starts_with("rated_"))
                .then_some(note)
                .flatten();
            timeline.push(TimelineEntry {
                at: at_micros(micros)?,
                description: match rating {
                    Some(rating) => format!("{description}（您的评价：{rating}）"),
                    None => description.to_owned(),
                },
                event: code,
            });
        }
    }
    let photos: Vec<Option<String>> = required(row, "photo_urls")?;
    let contact_phone: String = required(row, "contact_phone")?;
    Ok(Some(WorkOrder {
        id: head.id,
        tracking_number: head.tracking_number,
        status: head.status,
        status_label: head.status_label,
        category: head.category,
        title: head.title,
        description: required(row, "description")?,
        location: Location {
            lat: row.get("lat"),
            lng: row.get("lng"),
            address: row.get("address"),
            district: named(row.get("district_id"), row.get("district_name")),
            grid: named(row.get("grid_id"), row.get("grid_name")),
        },
        // A follower sees the problem, never who reported it.
        contact_phone_masked: own.then(|| workorder::mask_phone(&contact_phone)),
        channel: channel(&required::<String>(row, "channel")?)?,
        urgent,
        confidential: required(row, "confidential")?,
        photo_urls: photos.into_iter().flatten().collect(),
        following,
        merged_into: row.get("merged_into_number"),
        created_at: head.created_at,
        updated_at: required::<chrono::NaiveDateTime>(row, "updated_at")?.and_utc(),
        timeline,
        answer,
        urge_from,
    }))
}

/// The photos of the agency's reply the audit passed at `passed`: the order's last reply before
/// it (as `workorder::citizen_answer` reads the history), with those it carried, if any.
async fn reply_photos(
    db: &Connection,
    order: uuid::Uuid,
    passed: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>, ApiError> {
    let rows = db
        .query(
            "select coalesce(p.photo_urls, '{}') as photo_urls \
             from (select work_order_event_id from work_order_events \
                   where work_order_id = $1 and event = 'replied' and created_at <= $2 \
                   order by work_order_event_id desc limit 1) r \
             left join work_order_event_photos p using (work_order_event_id)",
            [order.into(), passed.naive_utc().into()],
        )
        .await?
        .collect()
        .await?;
    Ok(match rows.first() {
        Some(row) => required::<Vec<Option<String>>>(row, "photo_urls")?
            .into_iter()
            .flatten()
            .collect(),
        None => Vec::new(),
    })
}

/// From when the citizen who filed `order` may urge it on, by the lifecycle's rule over the
/// last urging in its history; `None` while no agency holds it.
fn urge_from(
    order: &WorkOrderSummary,
    events: &[(String, Option<String>, i64)],
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    let status = Status::parse(&order.status)
        .ok_or_else(|| ApiError::Internal(format!("unknown status {}", order.status)))?;
    if !status.with_agency() {
        return Ok(None);
    }
    let urged = events
        .iter()
        .rev()
        .find(|(code, _, _)| lifecycle::URGING_EVENTS.contains(&code.as_str()))
        .map(|(_, _, micros)| at_micros(*micros))
        .transpose()?;
    Ok(Some(
        lifecycle::next_urging(urged, Policy::default()).unwrap_or(order.created_at),
    ))
}

/// An event's time, as the history's JSON gives it (microseconds since the epoch).
fn at_micros(micros: i64) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    chrono::DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| ApiError::Internal(format!("an event time out of range: {micros}")))
}

/// `GET /api/v1/requests/{id or tracking number}`: the caller's own, or one they follow;
/// anyone else's is a 404.
pub async fn detail(principal: &Principal, id: &str) -> Result<Reply, ApiError> {
    let db = connect().await?;
    let order = visible_order(&db, principal, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(reply_with(StatusCode::OK, &order))
}

/// One page of `base` (own or followed orders), newest first, after the cursor.
async fn page_of(
    db: &Connection,
    base: &str,
    principal: &Principal,
    cursor: Option<(chrono::NaiveDateTime, uuid::Uuid)>,
    fetch: i64,
) -> Result<Vec<Row>, ApiError> {
    Ok(match cursor {
        None => {
            db.query(
                format!("{base} order by o.created_at desc, o.work_order_id desc limit $2"),
                [text(&principal.subject), fetch.into()],
            )
            .await?
        }
        Some((at, id)) => {
            db.query(
                format!(
                    "{base} and (o.created_at, o.work_order_id) < ($2, $3) \
                     order by o.created_at desc, o.work_order_id desc limit $4"
                ),
                [text(&principal.subject), at.into(), id.into(), fetch.into()],
            )
            .await?
        }
    }
    .collect()
    .await?)
}

/// `GET /api/v1/requests?cursor=&limit=`: the caller's orders and those they follow, newest first.
pub async fn list(principal: &Principal, query: &str) -> Result<Reply, ApiError> {
    let api_plumbing::PageQuery {
        limit,
        after: cursor,
    } = api_plumbing::page_query(query, DEFAULT_PAGE, MAX_PAGE)?;
    let db = connect().await?;
    let fetch = i64::from(limit) + 1;
    // Two index-backed pages merged here, rather than one query over a union that would sort
    // every order the citizen has.
    let own = page_of(&db, &own_orders(), principal, cursor, fetch).await?;
    let followed = page_of(&db, &followed_orders(), principal, cursor, fetch).await?;
    let mut items = own
        .iter()
        .map(|row| summary(row, false))
        .chain(followed.iter().map(|row| summary(row, true)))
        .collect::<Result<Vec<_>, _>>()?;
    items.sort_by_key(|item| std::cmp::Reverse((item.created_at, item.id)));
    let next_cursor = api_plumbing::next_page(&mut items, limit, |last| {
        api_plumbing::cursor(last.created_at, last.id)
    });
    Ok(reply_with(
        StatusCode::OK,
        &WorkOrderPage { items, next_cursor },
    ))
}
