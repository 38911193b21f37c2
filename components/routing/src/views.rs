//! What staff read: the operators' queue, an agency's tasks, and one order with its history.

use crate::error::ApiError;
use api_plumbing::{Principal, Reply, field_error, reply_with};
use mobile_api::{
    CentreQueueCounts, Channel, CoHandling, CoHandlingProposal, HistoryEntry, LeaderDayRef,
    Location, Named, NearbyOrderList, PendingExtension, ServiceLevels, StaffOrder, StaffOrderList,
    StaffOrderSummary, Supplement, Visit,
};
use order_store::db::{Connection, Row};
use order_store::{self as store, named, required, required_named, text, utc};
use spin_sdk::http::StatusCode;
use spin_sdk::pg::ParameterValue;

pub(crate) use order_store::search::{FROM_ORDERS, SUMMARY_COLUMNS};

fn seconds_left(row: &Row) -> Option<i64> {
    Some((utc(row, "deadline_at")? - utc(row, "now")?).num_seconds())
}

fn agency(row: &Row) -> Option<Named> {
    named(row, "agency_id", "agency_name")
}

pub(crate) fn summary(row: &Row) -> Result<StaffOrderSummary, ApiError> {
    let status: String = required(row, "status")?;
    Ok(StaffOrderSummary {
        id: required(row, "work_order_id")?,
        tracking_number: required(row, "tracking_number")?,
        status_label: workorder::status_label(&status).to_owned(),
        status,
        category: required_named(row, "category_id", "category_name")?,
        title: required(row, "title")?,
        urgent: required(row, "urgent")?,
        agency: agency(row),
        deadline_at: utc(row, "deadline_at"),
        seconds_left: seconds_left(row),
        thumbnail_url: row
            .get::<String>("first_photo")
            .map(|link| workorder::photo::thumbnail_link(&link)),
        created_at: utc(row, "created_at")
            .ok_or_else(|| ApiError::Internal("no created_at".into()))?,
    })
}

async fn list(
    db: &Connection,
    sql: String,
    params: Vec<ParameterValue>,
) -> Result<Reply, ApiError> {
    let rows = db.query(sql, params).await?.collect().await?;
    let items = rows.iter().map(summary).collect::<Result<Vec<_>, _>>()?;
    Ok(reply_with(StatusCode::OK, &StaffOrderList { items }))
}

/// The centre's queues, by `kind`: which orders wait in each (`o`), each read through a partial
/// index of its own.
const QUEUES: [(&str, &str); 6] = [
    ("dispatch", "o.status = 'received'"),
    ("returns", "o.status = 'return_requested'"),
    ("extensions", "o.extension_until is not null"),
    ("audits", "o.status = 'replied'"),
    ("redo", "o.status = 'redo_requested'"),
    ("co_handling", "o.co_handling_proposed_agency is not null"),
];

/// `GET /api/v1/centre/queue?kind=`: what waits for the centre, urgent and oldest first —
/// orders to dispatch (the default), returns to review, extensions to decide, replies to audit,
/// unsatisfied ratings to rule on, and agencies' requests for another's help (`co_handling`).
pub async fn queue(kind: Option<&str>) -> Result<Reply, ApiError> {
    let kind = kind.unwrap_or("dispatch");
    let Some((_, waiting)) = QUEUES.iter().find(|(name, _)| *name == kind) else {
        return Err(ApiError::Validation(vec![field_error(
            "kind",
            "invalid_value",
            "应为 dispatch、returns、extensions、audits、redo 或 co_handling",
        )]));
    };
    let db = api_plumbing::connect().await?;
    let sql = format!(
        "select {SUMMARY_COLUMNS} {FROM_ORDERS} where {waiting} \
         order by o.urgent desc, o.updated_at limit 200"
    );
    list(&db, sql, Vec::new()).await
}

/// `GET /api/v1/centre/queue/counts`: how many orders wait in each queue, in one statement.
pub async fn queue_counts() -> Result<Reply, ApiError> {
    let counts: Vec<String> = QUEUES
        .iter()
        .map(|(name, waiting)| {
            format!("(select count(*) from work_orders o where {waiting}) as {name}")
        })
        .collect();
    let db = api_plumbing::connect().await?;
    let rows = db
        .query(format!("select {}", counts.join(", ")), [])
        .await?
        .collect()
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| ApiError::Internal("no counts".into()))?;
    let count = |name: &str| required::<i64>(row, name);
    let counts = CentreQueueCounts {
        dispatch: count("dispatch")?,
        returns: count("returns")?,
        extensions: count("extensions")?,
        audits: count("audits")?,
        redo: count("redo")?,
        co_handling: count("co_handling")?,
    };
    Ok(reply_with(StatusCode::OK, &counts))
}

/// `GET /api/v1/tasks?status=&urgent=&due_within_hours=&role=`: the caller's agency's open orders
/// soonest deadline first (or, `role=co_handling`, those it is asked to help with, soonest due
/// opinion first, `deadline_at` when the opinion is due).
pub async fn tasks(principal: &Principal, query: &str) -> Result<Reply, ApiError> {
    let status = api_plumbing::query_param(query, "status");
    let urgent = api_plumbing::query_param(query, "urgent");
    // Orders due within this many hours (overdue ones included): "what must I do today".
    let due_within_hours = api_plumbing::query_number(query, "due_within_hours", 0.0..=8760.0)
        .map_err(|problem| ApiError::Validation(vec![problem]))?;
    let agency = principal.agency.clone().ok_or(ApiError::Unauthenticated)?;
    // The orders the agency holds, by their deadline; or those it is asked to help with (协办) and
    // has not answered, by when its opinion is due.
    let (join, whose, deadline) = match api_plumbing::query_param(query, "role") {
        None | Some("" | "holder") => ("", "o.agency_id = $1", "o.deadline_at"),
        Some("co_handling") => (
            "join work_order_co_handlers h on h.work_order_id = o.work_order_id and h.agency_id = $1 \
             and h.answered_at is null and h.cancelled_at is null",
            "true",
            "h.due_at",
        ),
        Some(_) => {
            return Err(ApiError::Validation(vec![field_error(
                "role",
                "invalid_value",
                "应为 holder 或 co_handling",
            )]));
        }
    };
    const OPEN: [&str; 4] = ["dispatched", "signed", "in_progress", "return_requested"];
    let statuses: Vec<Option<String>> = match status {
        None | Some("") => OPEN.iter().map(|s| Some((*s).to_owned())).collect(),
        Some(status) if OPEN.contains(&status) => vec![Some(status.to_owned())],
        Some(_) => {
            return Err(ApiError::Validation(vec![field_error(
                "status",
                "invalid_value",
                "应为 dispatched、signed、in_progress 或 return_requested",
            )]));
        }
    };
    let urgent = match urgent {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            return Err(ApiError::Validation(vec![field_error(
                "urgent",
                "invalid_value",
                "应为 true 或 false",
            )]));
        }
    };
    let db = api_plumbing::connect().await?;
    let columns = SUMMARY_COLUMNS.replace("o.deadline_at", &format!("{deadline} as deadline_at"));
    let sql = format!(
        "select {columns} {FROM_ORDERS} {join} \
         where {whose} and o.status = any($2) and ($3::boolean is null or o.urgent = $3) \
           and ($4::float8 is null or {deadline} <= now() + make_interval(secs => $4 * 3600)) \
         order by {deadline} limit 500"
    );
    list(
        &db,
        sql,
        vec![
            text(agency),
            statuses.into(),
            urgent.into(),
            due_within_hours.into(),
        ],
    )
    .await
}

/// `GET /api/v1/orders/{id}`: the centre sees every order; agency staff only their agency's.
pub async fn order(principal: &Principal, id: &str) -> Result<Reply, ApiError> {
    let key = store::order_key(id)?;
    let db = api_plumbing::connect().await?;
    let rows = db
        .query(
            format!(
                "select work_order_id from work_orders where {} = $1",
                key.column()
            ),
            [key.value()],
        )
        .await?
        .collect()
        .await?;
    let order_id: uuid::Uuid = rows
        .first()
        .map(|row| required(row, "work_order_id"))
        .transpose()?
        .ok_or(ApiError::NotFound)?;
    order_reply(&db, principal, order_id, StatusCode::OK).await
}

/// The order as `principal` may see it: staff get the full order with its history; a citizen
/// (after rating) gets no body, and reads their own view from `/api/v1/requests`.
pub async fn order_reply(
    db: &Connection,
    principal: &Principal,
    order_id: uuid::Uuid,
    status: StatusCode,
) -> Result<Reply, ApiError> {
    if principal.role == "citizen" {
        return Ok(api_plumbing::json_reply(
            StatusCode::NO_CONTENT,
            String::new(),
        ));
    }
    let rows = db
        .query(
            format!(
                "select {SUMMARY_COLUMNS}, o.description, o.photo_urls, o.lat, o.lng, o.address, o.district_id, d.name as district_name, \
                        o.grid_id, g.name as grid_name, o.channel, o.hotline_number, o.confidential, o.dispatched_at, \
                        o.returns_count, o.redo_count, o.supervised_at, o.key_supervised_at, o.answered_from_article, o.extension_until, o.extension_reason, o.contacted_at, \
                        o.citizen_urgings, o.citizen_urged_at, \
                        o.co_handling_proposed_agency, pa.name as proposed_agency_name, \
                        o.co_handling_proposed_at, o.co_handling_proposal_note, \
                        o.contact_due_at, o.on_site_due_at, o.visited_at, \
                        p.tracking_number as merged_into_number, \
                        o.leader_day_id, ld.leader_name, ld.leader_title, {seen} as seen \
                 {FROM_ORDERS} left join districts d on d.district_id = o.district_id \
                 left join leader_days ld on ld.leader_day_id = o.leader_day_id \
                 left join grids g on g.grid_id = o.grid_id \
                 left join work_orders p on p.work_order_id = o.merged_into \
                 left join agencies pa on pa.agency_id = o.co_handling_proposed_agency \
                 where o.work_order_id = $1",
                seen = order_store::search::agency_sees("o", "$2::text"),
            ),
            [order_id.into(), principal.agency.clone().into()],
        )
        .await?
        .collect()
        .await?;
    let row = rows.first().ok_or(ApiError::NotFound)?;
    // Agency staff see the orders their agency holds, and those it is asked to help with.
    if principal.role == "agency_staff" && row.get::<bool>("seen") != Some(true) {
        return Err(ApiError::NotFound);
    }
    let head = summary(row)?;
    let events = db
        .query(
            "select e.event, e.actor, e.note, e.previous_deadline, e.created_at, e.agency_id, \
                    a.name as agency_name, coalesce(p.photo_urls, '{}') as photo_urls \
             from work_order_events e left join agencies a on a.agency_id = e.agency_id \
             left join work_order_event_photos p on p.work_order_event_id = e.work_order_event_id \
             where e.work_order_id = $1 order by e.work_order_event_id",
            [order_id.into()],
        )
        .await?
        .collect()
        .await?;
    let history = events
        .iter()
        .map(|event| {
            Ok(HistoryEntry {
                at: utc(event, "created_at")
                    .ok_or_else(|| ApiError::Internal("event without time".into()))?,
                event: required(event, "event")?,
                actor: required(event, "actor")?,
                note: event.get("note"),
                previous_deadline: utc(event, "previous_deadline"),
                agency: named(event, "agency_id", "agency_name"),
                photo_urls: required::<Vec<Option<String>>>(event, "photo_urls")?
                    .into_iter()
                    .flatten()
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let visits = db
        .query(
            "select actor, note, photo_urls, lat, lng, created_at from work_order_visits \
             where work_order_id = $1 order by work_order_visit_id",
            [order_id.into()],
        )
        .await?
        .collect()
        .await?
        .iter()
        .map(|visit| {
            Ok(Visit {
                at: utc(visit, "created_at")
                    .ok_or_else(|| ApiError::Internal("visit without time".into()))?,
                actor: required(visit, "actor")?,
                note: required(visit, "note")?,
                photo_urls: required::<Vec<Option<String>>>(visit, "photo_urls")?
                    .into_iter()
                    .flatten()
                    .collect(),
                lat: visit.get("lat"),
                lng: visit.get("lng"),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let supplements = db
        .query(
            "select work_order_supplement_id, text, photo_urls, role, created_at \
             from work_order_supplements where work_order_id = $1 order by work_order_supplement_id",
            [order_id.into()],
        )
        .await?
        .collect()
        .await?
        .iter()
        .map(|added| {
            Ok(Supplement {
                id: required(added, "work_order_supplement_id")?,
                text: required(added, "text")?,
                photo_urls: required::<Vec<Option<String>>>(added, "photo_urls")?
                    .into_iter()
                    .flatten()
                    .collect(),
                by: required(added, "role")?,
                at: utc(added, "created_at")
                    .ok_or_else(|| ApiError::Internal("a supplement without time".into()))?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let co_handling = co_handling(db, order_id).await?;
    let appeals = crate::appeals::of_order(db, principal, order_id).await?;
    let service_levels = match (utc(row, "contact_due_at"), utc(row, "on_site_due_at")) {
        (Some(contact_due_at), Some(on_site_due_at)) => Some(ServiceLevels {
            contact_due_at,
            contacted_at: utc(row, "contacted_at"),
            on_site_due_at,
            visited_at: utc(row, "visited_at"),
            report_due_at: head.deadline_at,
        }),
        _ => None,
    };
    let suggested_agency = if head.status == "received" {
        store::suggested_agency(db, order_id).await?
    } else {
        None
    };
    let channel: String = required(row, "channel")?;
    let extension = match (
        utc(row, "extension_until"),
        row.get::<String>("extension_reason"),
    ) {
        (Some(until), Some(reason)) => Some(PendingExtension { until, reason }),
        _ => None,
    };
    let order = StaffOrder {
        id: head.id,
        tracking_number: head.tracking_number,
        status: head.status,
        status_label: head.status_label,
        category: head.category,
        title: head.title,
        description: required(row, "description")?,
        photo_urls: required::<Vec<Option<String>>>(row, "photo_urls")?
            .into_iter()
            .flatten()
            .collect(),
        location: Location {
            lat: row.get("lat"),
            lng: row.get("lng"),
            address: row.get("address"),
            district: named(row, "district_id", "district_name"),
            grid: named(row, "grid_id", "grid_name"),
        },
        channel: serde_json::from_value::<Channel>(serde_json::Value::String(channel))
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        hotline_number: row.get("hotline_number"),
        urgent: head.urgent,
        confidential: required(row, "confidential")?,
        merged_into: row.get("merged_into_number"),
        agency: head.agency,
        dispatched_at: utc(row, "dispatched_at"),
        deadline_at: head.deadline_at,
        seconds_left: head.seconds_left,
        returns_count: required(row, "returns_count")?,
        redo_count: required(row, "redo_count")?,
        supervised_at: store::utc(row, "supervised_at"),
        key_supervised_at: store::utc(row, "key_supervised_at"),
        answered_from_article: row.get("answered_from_article"),
        citizen_urgings: required(row, "citizen_urgings")?,
        citizen_urged_at: utc(row, "citizen_urged_at"),
        leader_day: match (
            row.get::<i64>("leader_day_id"),
            row.get::<String>("leader_name"),
            row.get::<String>("leader_title"),
        ) {
            (Some(id), Some(leader_name), Some(leader_title)) => Some(LeaderDayRef {
                id,
                leader_name,
                leader_title,
            }),
            _ => None,
        },
        extension,
        contacted_at: utc(row, "contacted_at"),
        service_levels,
        visits,
        supplements,
        co_handling,
        co_handling_proposal: match (
            named(row, "co_handling_proposed_agency", "proposed_agency_name"),
            row.get::<String>("co_handling_proposal_note"),
            utc(row, "co_handling_proposed_at"),
        ) {
            (Some(agency), Some(note), Some(at)) => Some(CoHandlingProposal { agency, note, at }),
            _ => None,
        },
        suggested_agency,
        created_at: head.created_at,
        appeals,
        history,
    };
    Ok(reply_with(status, &order))
}

/// The agencies asked to help with an order (协办), in the order asked.
async fn co_handling(db: &Connection, order_id: uuid::Uuid) -> Result<Vec<CoHandling>, ApiError> {
    db.query(store::ORDER_CO_HANDLING.as_str(), [order_id.into()])
        .await?
        .collect()
        .await?
        .iter()
        .map(|row| Ok(store::co_handling(row)?))
        .collect()
}

/// `GET /api/v1/orders/{id}/duplicates?radius=`: for the centre deciding a merge (并单), open
/// orders of the same category near this one, nearest first. An order without coordinates has
/// none to suggest.
pub async fn duplicates(id: &str, query: &str) -> Result<Reply, ApiError> {
    let key = store::order_key(id)?;
    let radius = api_plumbing::query_number(query, "radius", 1.0..=store::MAX_NEARBY_RADIUS_M)
        .map_err(|problem| ApiError::Validation(vec![problem]))?
        .unwrap_or(store::DEFAULT_NEARBY_RADIUS_M);
    let db = api_plumbing::connect().await?;
    let rows = db
        .query(
            format!(
                "select work_order_id, category_id, lat, lng from work_orders where {} = $1",
                key.column()
            ),
            [key.value()],
        )
        .await?
        .collect()
        .await?;
    let row = rows.first().ok_or(ApiError::NotFound)?;
    let items = match (row.get::<f64>("lat"), row.get::<f64>("lng")) {
        (Some(lat), Some(lng)) => {
            let category: String = required(row, "category_id")?;
            let this: uuid::Uuid = required(row, "work_order_id")?;
            store::nearby_open_orders(&db, (lat, lng), &category, radius, Some(this), false).await?
        }
        _ => Vec::new(),
    };
    Ok(reply_with(StatusCode::OK, &NearbyOrderList { items }))
}
