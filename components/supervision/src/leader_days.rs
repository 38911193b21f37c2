//! Leader answering days (领导接听日): a city leader, or the head of a department or county,
//! answers 12345 calls for half a day, and the requests they take are followed up with priority
//! (under supervision from their dispatch: the lifecycle's rule). Supervisors and administrators
//! schedule the days; everyone who watches over orders sees them, with what became of their
//! requests, and operators find the day under way to name when they file a call.

use crate::error::ApiError;
use crate::report::count_outcome;
use api_plumbing::{Principal, Reply, field_error, reply_with};
use mobile_api::{FieldError, LeaderDay, LeaderDayList, NewLeaderDay, ReceivedOutcomes};
use order_store::db::{Connection, Row};
use order_store::{named, oversight::OPEN, required, text, utc};
use spin_sdk::http::StatusCode;
use std::collections::HashMap;

/// How many days the list shows: a year and more of monthly and weekly days.
const LISTED: i64 = 200;
const MAX_NAME_CHARS: usize = 50;
const MAX_TITLE_CHARS: usize = 100;

const DAYS: &str = "select l.leader_day_id, l.leader_name, l.leader_title, l.agency_id, \
        a.name as agency_name, l.starts_at, l.ends_at, l.created_by, l.cancelled_at, l.cancelled_by, \
        l.starts_at <= now() and now() < l.ends_at and l.cancelled_at is null as active \
    from leader_days l left join agencies a on a.agency_id = l.agency_id";

/// `GET /api/v1/supervision/leader-days`: the latest first, each with its requests' outcomes.
pub async fn list() -> Result<Reply, ApiError> {
    let db = db().await?;
    let rows = db
        .query(
            format!("{DAYS} order by l.starts_at desc, l.leader_day_id desc limit $1"),
            [LISTED.into()],
        )
        .await?
        .collect()
        .await?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|row| required(row, "leader_day_id"))
        .collect::<Result<_, _>>()?;
    let mut tallies = tallies(&db, &ids).await?;
    let items = rows
        .iter()
        .map(|row| {
            let id: i64 = required(row, "leader_day_id")?;
            day(row, tallies.remove(&id).unwrap_or_default())
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(reply_with(StatusCode::OK, &LeaderDayList { items }))
}

/// `POST /api/v1/admin/leader-days` (supervisors and administrators); 409 `leader_day_overlaps`
/// over another of the same leader's days.
pub async fn schedule(principal: &Principal, body: &[u8]) -> Result<Reply, ApiError> {
    let new: NewLeaderDay = api_plumbing::parse_json(body)?;
    let mut problems: Vec<FieldError> = Vec::new();
    for (field, value, max) in [
        ("leader_name", &new.leader_name, MAX_NAME_CHARS),
        ("leader_title", &new.leader_title, MAX_TITLE_CHARS),
    ] {
        let chars = value.trim().chars().count();
        if chars == 0 || chars > max {
            problems.push(field_error(
                field,
                "invalid_length",
                format!("应为 1 到 {max} 个字 (1–{max} characters)"),
            ));
        }
    }
    let span = new.ends_at - new.starts_at;
    if span <= chrono::TimeDelta::zero() || span > chrono::TimeDelta::days(1) {
        problems.push(field_error(
            "ends_at",
            "invalid_span",
            "结束时间应晚于开始时间，且不超过一天 (ends after it starts, within a day)",
        ));
    }
    let db = db().await?;
    if problems.iter().all(|p| p.field != "ends_at") && new.ends_at <= order_store::now(&db).await?
    {
        problems.push(field_error(
            "ends_at",
            "in_the_past",
            "不能安排已经结束的接听日 (the day is over already)",
        ));
    }
    let agency = new.agency.as_deref().filter(|a| !a.is_empty());
    if let Some(agency) = agency
        && !order_store::agency_exists(&db, agency).await?
    {
        problems.push(field_error("agency", "unknown", "没有这个承办单位"));
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    // One leader answers one line at a time: a day over another of theirs (a second click, a
    // typing slip) is refused. Scheduling for one leader goes one at a time, so two at once cannot
    // both find the span free.
    let made = db.transaction(async {
        db.execute(
            "select pg_advisory_xact_lock(hashtext('leader-day:' || $1))",
            [text(new.leader_name.trim())],
        )
        .await?;
        let made = db
            .query(
                "insert into leader_days (leader_name, leader_title, agency_id, starts_at, ends_at, created_by) \
                 select $1, $2, $3, $4, $5, $6 where not exists ( \
                     select 1 from leader_days l where l.leader_name = $1 and l.cancelled_at is null \
                       and l.starts_at < $5 and $4 < l.ends_at) \
                 returning leader_day_id",
                [
                    text(new.leader_name.trim()),
                    text(new.leader_title.trim()),
                    agency.map(str::to_owned).into(),
                    new.starts_at.naive_utc().into(),
                    new.ends_at.naive_utc().into(),
                    text(&principal.subject),
                ],
            )
            .await?
            .collect()
            .await?;
        if made.is_empty() {
            return Err(ApiError::LeaderDayOverlaps);
        }
        Ok(made)
    })
    .await?;
    let id: i64 = made
        .first()
        .map(|row| required(row, "leader_day_id"))
        .transpose()?
        .ok_or_else(|| ApiError::Internal("no leader day made".into()))?;
    let rows = db
        .query(format!("{DAYS} where l.leader_day_id = $1"), [id.into()])
        .await?
        .collect()
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| ApiError::Internal("the leader day made is gone".into()))?;
    Ok(reply_with(
        StatusCode::CREATED,
        &day(row, Tally::default())?,
    ))
}

/// `POST /api/v1/admin/leader-days/{id}/cancel` (supervisors and administrators): the leader is
/// called away. Only before the day ends and while no call names it (409 `leader_day_in_use`);
/// cancelling a cancelled day again answers it as it is.
pub async fn cancel(principal: &Principal, id: &str) -> Result<Reply, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let db = db().await?;
    // The day is locked first, so that a filing naming it (which holds it `for share` until it
    // commits) has committed before the check for calls, a statement of its own, looks.
    let cancelled = db.transaction(async {
        db.execute(
            "select 1 from leader_days where leader_day_id = $1 for update",
            [id.into()],
        )
        .await?;
        db.execute(
            "update leader_days l set cancelled_at = now(), cancelled_by = $2 \
             where l.leader_day_id = $1 and l.cancelled_at is null and now() < l.ends_at \
               and not exists (select 1 from work_orders o where o.leader_day_id = l.leader_day_id)",
            [id.into(), text(&principal.subject)],
        )
        .await
        .map_err(ApiError::from)
    })
    .await?;
    let rows = db
        .query(format!("{DAYS} where l.leader_day_id = $1"), [id.into()])
        .await?
        .collect()
        .await?;
    let row = rows.first().ok_or(ApiError::NotFound)?;
    if cancelled == 0 && utc(row, "cancelled_at").is_none() {
        return Err(ApiError::LeaderDayInUse);
    }
    let mut tallies = tallies(&db, &[id]).await?;
    Ok(reply_with(
        StatusCode::OK,
        &day(row, tallies.remove(&id).unwrap_or_default())?,
    ))
}

async fn db() -> Result<Connection, ApiError> {
    api_plumbing::connect().await.map_err(ApiError::from)
}

/// What became of one day's requests.
#[derive(Default)]
struct Tally {
    received: i64,
    outcomes: ReceivedOutcomes,
    overdue: i64,
}

/// The days' requests by status (and how many of the open ones are overdue), in one statement.
async fn tallies(db: &Connection, ids: &[i64]) -> Result<HashMap<i64, Tally>, ApiError> {
    let rows = db
        .query(
            format!(
                "select o.leader_day_id, o.status, count(*) as n, \
                        count(*) filter (where {OPEN} and o.deadline_at <= now()) as overdue \
                 from work_orders o where o.leader_day_id = any($1) group by 1, 2"
            ),
            [ids.iter().copied().map(Some).collect::<Vec<_>>().into()],
        )
        .await?
        .collect()
        .await?;
    let mut tallies: HashMap<i64, Tally> = HashMap::new();
    for row in &rows {
        let tally = tallies.entry(required(row, "leader_day_id")?).or_default();
        let status: String = required(row, "status")?;
        let n: i64 = required(row, "n")?;
        tally.received += n;
        tally.overdue += required::<i64>(row, "overdue")?;
        count_outcome(&mut tally.outcomes, &status, n);
    }
    Ok(tallies)
}

fn day(row: &Row, tally: Tally) -> Result<LeaderDay, ApiError> {
    let time = |column: &str| {
        utc(row, column).ok_or_else(|| ApiError::Internal(format!("a leader day without {column}")))
    };
    Ok(LeaderDay {
        id: required(row, "leader_day_id")?,
        leader_name: required(row, "leader_name")?,
        leader_title: required(row, "leader_title")?,
        agency: named(row, "agency_id", "agency_name"),
        starts_at: time("starts_at")?,
        ends_at: time("ends_at")?,
        active: required(row, "active")?,
        received: tally.received,
        outcomes: tally.outcomes,
        overdue: tally.overdue,
        created_by: required(row, "created_by")?,
        cancelled_at: utc(row, "cancelled_at"),
        cancelled_by: row.get("cancelled_by"),
    })
}
