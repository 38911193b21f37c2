//! The work-order tables as the components read and write them: the lifecycle's state, the
//! business calendar, time limits and the dispatch catalogue (and the gateway's rate counter).
//! SQL only; the rules are in `workorder`.

use chrono::{DateTime, NaiveDateTime, Utc};
use db::{Connection, Row};
use mobile_api::{CoHandling, Named, NearbyOrder};
use spin_sdk::pg::ParameterValue;
use workorder::TrackingNumber;
use workorder::calendar::{Calendar, DayKind, TimeLimit};
use workorder::lifecycle::{CoHandler, Event, ExtensionRequest, Order, Status};

pub mod audit;
pub mod db;
pub mod filing;
pub mod idempotency;
pub mod inbox;
pub mod kpis;
pub mod outbox;
pub mod oversight;
pub mod photos;
pub mod rate_counters;
pub mod search;
pub use outbox::record_event;

/// What went wrong reading or writing.
#[derive(Debug)]
pub enum StoreError {
    NotFound,
    /// The database cannot serve now ([`unavailable`]): its server is down or starting again,
    /// short of a resource, or no connection came free in time; or the transaction was ended to
    /// break a deadlock with another. Nothing was written; the same request may succeed in a few
    /// seconds. The text is for the log.
    Unavailable(String),
    /// A database failure or data that breaks the schema's promises; the text is for the log.
    Internal(String),
}

impl StoreError {
    /// `error`, with what was being done when it came (for the log).
    pub fn while_doing(what: &str, error: impl Into<StoreError>) -> StoreError {
        match error.into() {
            StoreError::Unavailable(cause) => StoreError::Unavailable(format!("{what}: {cause}")),
            StoreError::Internal(cause) => StoreError::Internal(format!("{what}: {cause}")),
            StoreError::NotFound => StoreError::NotFound,
        }
    }
}

impl From<spin_sdk::pg::Error> for StoreError {
    fn from(error: spin_sdk::pg::Error) -> Self {
        match error {
            spin_sdk::pg::Error::PgError(error) => StoreError::from(error),
            decode => StoreError::Internal(format!("postgres: {decode:?}")),
        }
    }
}

impl From<spin_sdk::pg::PgError> for StoreError {
    fn from(error: spin_sdk::pg::PgError) -> Self {
        if unavailable(&error) {
            StoreError::Unavailable(format!("postgres: {error:?}"))
        } else {
            StoreError::Internal(format!("postgres: {error:?}"))
        }
    }
}

/// Whether `error` says the database cannot serve now, rather than that it refused a statement:
/// no connection (refused, cut off, none free in time; the host says `connection-failed`), or
/// the server turning connections away while it starts up or shuts down (SQLSTATE `57P01` to
/// `57P03`: `admin_shutdown`, `crash_shutdown`, `cannot_connect_now`), one lost (class `08`,
/// connection exception), or the server short of a resource (class `53`: disk full, out of
/// memory, too many connections), or the transaction was ended to let another go on (class
/// `40`: chosen to break a deadlock, `40P01`, or a serialization failure, `40001`: the same
/// request sent again after the other has committed goes through). The statement did nothing: its transaction is rolled back.
pub fn unavailable(error: &spin_sdk::pg::PgError) -> bool {
    use spin_sdk::pg::{PgError, QueryError};
    match error {
        PgError::ConnectionFailed(_) => true,
        PgError::QueryFailed(QueryError::DbError(db)) => {
            ["57P01", "57P02", "57P03", "40P01", "40001"].contains(&db.code.as_str())
                || db.code.starts_with("08")
                || db.code.starts_with("53")
        }
        _ => false,
    }
}

pub fn text(value: impl Into<String>) -> ParameterValue {
    ParameterValue::Str(value.into())
}

pub fn time(value: Option<DateTime<Utc>>) -> ParameterValue {
    value.map(|t| t.naive_utc()).into()
}

pub fn required<T: spin_sdk::pg::Decode>(row: &Row, column: &str) -> Result<T, StoreError> {
    row.get::<T>(column)
        .ok_or_else(|| StoreError::Internal(format!("column {column} missing or of another type")))
}

/// The constraint a failed statement broke, if it broke one: constraint violations are mapped to
/// API errors by name, not by their messages.
pub fn constraint(error: &spin_sdk::pg::Error) -> Option<&str> {
    use spin_sdk::pg::{Error, PgError, QueryError};
    match error {
        Error::PgError(PgError::QueryFailed(QueryError::DbError(db))) => db
            .extras
            .iter()
            .find(|(key, _)| key == "constraint")
            .map(|(_, value)| value.as_str()),
        _ => None,
    }
}

/// The answer of a live knowledge-base article (none if there is no such article, or it is
/// retired).
pub async fn knowledge_answer(
    db: &Connection,
    article: i64,
) -> Result<Option<KnowledgeAnswer>, StoreError> {
    let rows = db
        .query(
            "select answer, internal from knowledge_articles \
             where knowledge_article_id = $1 and retired_at is null",
            [article.into()],
        )
        .await?
        .collect()
        .await?;
    rows.first()
        .map(|row| {
            Ok(KnowledgeAnswer {
                answer: required(row, "answer")?,
                internal: required(row, "internal")?,
            })
        })
        .transpose()
}

/// A live knowledge-base article's answer, and whether it is for staff only.
#[derive(Debug)]
pub struct KnowledgeAnswer {
    pub answer: String,
    pub internal: bool,
}

/// A code and its name from two columns of `row` (e.g. `agency_id` and `agency_name`), when both
/// are there.
pub fn named(row: &Row, code: &str, name: &str) -> Option<Named> {
    row.get::<String>(code)
        .zip(row.get::<String>(name))
        .map(|(code, name)| Named { code, name })
}

/// [`named`] for two columns that are always there.
pub fn required_named(row: &Row, code: &str, name: &str) -> Result<Named, StoreError> {
    Ok(Named {
        code: required(row, code)?,
        name: required(row, name)?,
    })
}

pub fn utc(row: &Row, column: &str) -> Option<DateTime<Utc>> {
    row.get::<NaiveDateTime>(column).map(|t| t.and_utc())
}

/// The columns [`co_handling`] reads: of a request for help `h` (`work_order_co_handlers`) and
/// its agency `ca`.
pub const CO_HANDLING_COLUMNS: &str = "h.agency_id as co_agency_id, ca.name as co_agency_name, \
     h.request, h.asked_by, \
     h.asked_at, h.due_at, h.opinion, h.answered_by, h.answered_at, h.cancel_reason, h.cancelled_at, \
     h.reminders";

/// An order's requests for help (`$1`, its id), every one, taken back or not, in the order
/// asked: what its view lists. Read through the order's own (`work_order_co_handlers_by_order`).
pub static ORDER_CO_HANDLING: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "select {CO_HANDLING_COLUMNS} from work_order_co_handlers h \
         join agencies ca on ca.agency_id = h.agency_id \
         where h.work_order_id = $1 order by h.work_order_co_handler_id"
    )
});

/// A request for help (协办) as the API gives it, from a row with [`CO_HANDLING_COLUMNS`].
pub fn co_handling(row: &Row) -> Result<CoHandling, StoreError> {
    let time = |column: &str| {
        utc(row, column)
            .ok_or_else(|| StoreError::Internal(format!("a request for help without {column}")))
    };
    Ok(CoHandling {
        agency: required_named(row, "co_agency_id", "co_agency_name")?,
        request: required(row, "request")?,
        asked_by: required(row, "asked_by")?,
        asked_at: time("asked_at")?,
        due_at: time("due_at")?,
        opinion: row.get("opinion"),
        answered_by: row.get("answered_by"),
        answered_at: utc(row, "answered_at"),
        cancel_reason: row.get("cancel_reason"),
        cancelled_at: utc(row, "cancelled_at"),
        reminders: required(row, "reminders")?,
    })
}

/// How a path segment names an order: by its id or by its tracking number.
///
/// A query looks it up with `where <column> = $n` on the one column the key names. (One
/// statement for both, `work_order_id = $1 or tracking_number = $2` with one of them null, made
/// PostgreSQL plan every execution afresh: each custom plan, with the null branch folded away,
/// looked cheaper than the generic plan, so the cached plan was never used. Planning was a
/// fifth of the database's time under the tracking benchmark.)
#[derive(Debug, Clone, PartialEq)]
pub enum OrderKey {
    Id(uuid::Uuid),
    Number(String),
}

impl OrderKey {
    /// The `work_orders` column an id matches.
    pub const ID_COLUMN: &'static str = "work_order_id";
    /// The `work_orders` column a tracking number matches.
    pub const NUMBER_COLUMN: &'static str = "tracking_number";

    /// The `work_orders` column the key matches.
    pub fn column(&self) -> &'static str {
        match self {
            OrderKey::Id(_) => OrderKey::ID_COLUMN,
            OrderKey::Number(_) => OrderKey::NUMBER_COLUMN,
        }
    }

    /// The key as the query's parameter.
    pub fn value(&self) -> ParameterValue {
        match self {
            OrderKey::Id(id) => (*id).into(),
            OrderKey::Number(number) => text(number),
        }
    }
}

/// The order's key from a path segment: an id or a tracking number.
pub fn order_key(id: &str) -> Result<OrderKey, StoreError> {
    if let Ok(id) = uuid::Uuid::parse_str(id) {
        return Ok(OrderKey::Id(id));
    }
    TrackingNumber::parse(id)
        .map(|n| OrderKey::Number(n.as_str().to_owned()))
        .ok_or(StoreError::NotFound)
}

/// An order as the lifecycle sees it, with what the component needs around it.
pub struct Loaded {
    pub id: uuid::Uuid,
    pub order: Order,
    pub owner: String,
    pub category: String,
    pub urgent: bool,
    pub contacted_at: Option<DateTime<Utc>>,
}

/// Loads and locks the order until the transaction ends.
pub async fn load_for_update(db: &Connection, id: &str) -> Result<Loaded, StoreError> {
    let key = order_key(id)?;
    let rows = db
        .query(
            format!("select o.work_order_id, o.status, o.agency_id, o.deadline_at, o.status_before_return, o.returns_count, \
                    o.contacted_at, o.redo_count, o.extension_until, o.extension_reason, o.category_id, o.urgent, \
                    o.supervised_at is not null as supervised, \
                    o.key_supervised_at is not null as key_supervised, \
                    o.leader_day_id is not null as leader_day, o.follow_up_attempts, o.citizen_urged_at, o.citizen_urgings, \
                    o.co_handling_proposed_agency, \
                    ci.subject as owner, \
                    array(select h.agency_id from work_order_co_handlers h \
                          where h.work_order_id = o.work_order_id and h.cancelled_at is null \
                          order by h.work_order_co_handler_id) as co_agencies, \
                    array(select h.agency_id from work_order_co_handlers h \
                          where h.work_order_id = o.work_order_id and h.cancelled_at is null \
                            and h.answered_at is not null) as co_answered \
             from work_orders o join citizens ci on ci.citizen_id = o.citizen_id \
             where o.{} = $1 \
             for update of o", key.column()),
            [key.value()],
        )
        .await?
        .collect()
        .await?;
    let row = rows.first().ok_or(StoreError::NotFound)?;
    let status: String = required(row, "status")?;
    let status = Status::parse(&status)
        .ok_or_else(|| StoreError::Internal(format!("unknown status {status}")))?;
    let before: Option<String> = row.get("status_before_return");
    let contacted_at = utc(row, "contacted_at");
    let extension = match (
        utc(row, "extension_until"),
        row.get::<String>("extension_reason"),
    ) {
        (Some(until), Some(reason)) => Some(ExtensionRequest { until, reason }),
        _ => None,
    };
    let agencies = |column: &str| -> Result<Vec<String>, StoreError> {
        Ok(required::<Vec<Option<String>>>(row, column)?
            .into_iter()
            .flatten()
            .collect())
    };
    let answered = agencies("co_answered")?;
    let co_handlers = agencies("co_agencies")?
        .into_iter()
        .map(|agency| CoHandler {
            answered: answered.contains(&agency),
            agency,
        })
        .collect();
    Ok(Loaded {
        id: required(row, "work_order_id")?,
        order: Order {
            status,
            agency: row.get("agency_id"),
            deadline: utc(row, "deadline_at"),
            status_before_return: before.as_deref().and_then(Status::parse),
            returns: u32::try_from(required::<i32>(row, "returns_count")?).unwrap_or(0),
            extension,
            contacted: contacted_at.is_some(),
            redos: u32::try_from(required::<i32>(row, "redo_count")?).unwrap_or(0),
            supervised: required(row, "supervised")?,
            key_supervised: required(row, "key_supervised")?,
            leader_day: required(row, "leader_day")?,
            follow_up_attempts: u32::try_from(required::<i32>(row, "follow_up_attempts")?)
                .unwrap_or(0),
            co_handlers,
            urged_at: utc(row, "citizen_urged_at"),
            urgings: u32::try_from(required::<i32>(row, "citizen_urgings")?).unwrap_or(0),
            co_handling_proposal: row.get("co_handling_proposed_agency"),
        },
        owner: required(row, "owner")?,
        category: required(row, "category_id")?,
        urgent: required(row, "urgent")?,
        contacted_at,
    })
}

/// Writes the order's new state and its event, with the notifications the event calls for. Call
/// inside the transaction that loaded it.
pub async fn save(
    db: &Connection,
    loaded: &Loaded,
    next: &Order,
    event: &Event,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let contacted_at = match (next.contacted, loaded.contacted_at) {
        (false, _) => None,
        (true, Some(at)) => Some(at),
        (true, None) => Some(now),
    };
    // A new agency has no handler yet; whoever signs becomes the handler.
    let dispatched_now = matches!(event.code, "dispatched" | "reassigned");
    let signed_now = event.code == "signed";
    // Each new agency on the fast channel owes the citizen a call and a visit from its dispatch.
    let fast_channel_due = (dispatched_now && loaded.urgent).then(|| {
        (
            now + chrono::TimeDelta::minutes(URGENT_CONTACT_MINUTES),
            now + chrono::TimeDelta::minutes(URGENT_ON_SITE_MINUTES),
        )
    });
    let (contact_due, on_site_due) = fast_channel_due.unzip();
    let (extension_until, extension_reason) = match &next.extension {
        Some(request) => (Some(request.until), Some(request.reason.clone())),
        None => (None, None),
    };
    db.execute(
        "update work_orders set status = $2, agency_id = $3, deadline_at = $4, status_before_return = $5, \
                returns_count = $6, contacted_at = $7, redo_count = $8, extension_until = $9, extension_reason = $10, \
                dispatched_at = case when $11 then $12 else dispatched_at end, updated_at = $12, \
                handler_subject = case when $13 then $14 when $11 then null else handler_subject end, \
                contact_due_at = case when $15 then $16 else contact_due_at end, \
                on_site_due_at = case when $15 then $17 else on_site_due_at end, \
                visited_at = case when $18 then coalesce(visited_at, $12) else visited_at end, \
                awaiting_rating_since = case when $19 then $12 else awaiting_rating_since end, \
                supervised_at = case when $20 then coalesce(supervised_at, $12) end, \
                follow_up_attempts = $21, \
                last_follow_up_at = case when $22 then $12 when $19 then null else last_follow_up_at end, \
                replied_at = case when $23 then $12 else replied_at end, \
                key_supervised_at = case when $24 then coalesce(key_supervised_at, $12) end, \
                citizen_urged_at = $25, \
                citizen_urgings = $26, \
                co_handling_proposed_agency = $27, \
                co_handling_proposed_at = case when $28 then $12 when $27::text is null then null \
                                          else co_handling_proposed_at end, \
                co_handling_proposal_note = case when $28 then $29::text when $27::text is null then null \
                                            else co_handling_proposal_note end \
         where work_order_id = $1",
        [
            loaded.id.into(),
            text(next.status.code()),
            next.agency.clone().into(),
            time(next.deadline),
            next.status_before_return.map(|s| s.code().to_owned()).into(),
            i32::try_from(next.returns).unwrap_or(i32::MAX).into(),
            time(contacted_at),
            i32::try_from(next.redos).unwrap_or(i32::MAX).into(),
            time(extension_until),
            extension_reason.into(),
            dispatched_now.into(),
            now.naive_utc().into(),
            signed_now.into(),
            text(actor),
            fast_channel_due.is_some().into(),
            time(contact_due),
            time(on_site_due),
            (event.code == "visited").into(),
            (event.code == "audit_passed").into(),
            next.supervised.into(),
            i32::try_from(next.follow_up_attempts)
                .unwrap_or(i32::MAX)
                .into(),
            event.code.starts_with("not_reached").into(),
            (event.code == "replied").into(),
            next.key_supervised.into(),
            time(next.urged_at),
            i32::try_from(next.urgings).unwrap_or(i32::MAX).into(),
            next.co_handling_proposal.clone().into(),
            (event.code == "co_handling_proposed").into(),
            event.note.clone().into(),
        ],
    )
    .await?;
    outbox::record_event(db, loaded.id, event, actor, now).await
}

/// The database's clock, so that every component agrees on `now`.
pub async fn now(db: &Connection) -> Result<DateTime<Utc>, StoreError> {
    let rows = db.query("select now() as now", []).await?.collect().await?;
    rows.first()
        .and_then(|row| utc(row, "now"))
        .ok_or_else(|| StoreError::Internal("the database has no clock".into()))
}

/// The leader of answering day `day` as people say it (`市长王明`), if the day is under way
/// (operators name it when filing); `None` if it is not.
pub async fn active_leader_day(db: &Connection, day: i64) -> Result<Option<String>, StoreError> {
    let rows = db
        .query(
            "select leader_title || leader_name as leader from leader_days \
             where leader_day_id = $1 and starts_at <= now() and now() < ends_at \
               and cancelled_at is null",
            [day.into()],
        )
        .await?
        .collect()
        .await?;
    rows.first().map(|row| required(row, "leader")).transpose()
}

/// Holds answering day `day` for a filing's transaction (`for share`), if it is still going and
/// not cancelled: a cancellation (`for update`) waits for the filing to commit. `false` if the day
/// is over or cancelled.
pub async fn hold_leader_day(db: &Connection, day: i64) -> Result<bool, StoreError> {
    let rows = db
        .query(
            "select 1 as held from leader_days \
             where leader_day_id = $1 and now() < ends_at and cancelled_at is null for share",
            [day.into()],
        )
        .await?
        .collect()
        .await?;
    Ok(!rows.is_empty())
}

/// Whether an agency exists.
pub async fn agency_exists(db: &Connection, agency: &str) -> Result<bool, StoreError> {
    found(
        db,
        "select 1 as found from agencies where agency_id = $1",
        agency,
    )
    .await
}

/// Whether a category exists (of either level).
pub async fn category_exists(db: &Connection, category: &str) -> Result<bool, StoreError> {
    found(
        db,
        "select 1 as found from categories where category_id = $1",
        category,
    )
    .await
}

/// Whether a district exists.
pub async fn district_exists(db: &Connection, district: &str) -> Result<bool, StoreError> {
    found(
        db,
        "select 1 as found from districts where district_id = $1",
        district,
    )
    .await
}

/// Whether `statement` finds a row for `code`.
/// The category of code `code` with its name, if there is one.
pub async fn category_named(db: &Connection, code: &str) -> Result<Option<Named>, StoreError> {
    let rows = db
        .query(
            "select category_id, name from categories where category_id = $1",
            [text(code)],
        )
        .await?
        .collect()
        .await?;
    Ok(rows
        .first()
        .and_then(|row| named(row, "category_id", "name")))
}

async fn found(db: &Connection, statement: &str, code: &str) -> Result<bool, StoreError> {
    let rows = db.query(statement, [text(code)]).await?.collect().await?;
    Ok(!rows.is_empty())
}

/// The fast channel's service levels (the seed): contact the citizen within 30 minutes of
/// dispatch, be on site within two hours, report back within six (the deadline).
const URGENT_CONTACT_MINUTES: i64 = 30;
const URGENT_ON_SITE_MINUTES: i64 = 120;
const URGENT_LIMIT: TimeLimit = TimeLimit::Hours(6);
/// For a category with no time limit of its own or its parent's.
const DEFAULT_LIMIT: TimeLimit = TimeLimit::WorkingDays(7);

/// The deadline for an order of `category` whose clock starts at `start`: its time limit and the
/// business calendar's exceptions for the months after `start` (enough for any limit), read in
/// one statement.
pub async fn deadline_for(
    db: &Connection,
    category: &str,
    urgent: bool,
    start: DateTime<Utc>,
) -> Result<DateTime<Utc>, StoreError> {
    let from = start.with_timezone(&workorder::china_time()).date_naive();
    let rows = db
        .query(
            TIME_LIMIT.as_str(),
            [text(category), from.into(), urgent.into()],
        )
        .await?
        .collect()
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Internal("the time limit lookup returned no row".into()))?;
    let limit = match (
        urgent,
        row.get::<i32>("hours"),
        row.get::<i32>("working_days"),
    ) {
        (true, _, _) => URGENT_LIMIT,
        (false, Some(hours), _) => TimeLimit::Hours(u32::try_from(hours).unwrap_or(24)),
        (false, None, Some(days)) => TimeLimit::WorkingDays(u32::try_from(days).unwrap_or(7)),
        (false, None, None) => DEFAULT_LIMIT,
    };
    Ok(calendar(row)?.deadline_for(start, limit))
}

/// The time limit of category `$1` (its own, else its parent's; none for the fast channel, `$3`)
/// with the calendar from `$2`.
static TIME_LIMIT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "select l.hours, l.working_days, cal.days, cal.kinds \
         from ({}) cal \
         left join lateral ( \
             select t.hours, t.working_days from categories c \
             join category_time_limits t on t.category_id in (c.category_id, c.parent_id) \
             where c.category_id = $1 and not $3 \
             order by (t.category_id = c.category_id) desc limit 1) l on true",
        CALENDAR.replace("$1", "$2")
    )
});

/// `days` working days after `start`, by the business calendar.
pub async fn working_days_after(
    db: &Connection,
    days: u32,
    start: DateTime<Utc>,
) -> Result<DateTime<Utc>, StoreError> {
    let from = start.with_timezone(&workorder::china_time()).date_naive();
    let rows = db.query(CALENDAR, [from.into()]).await?.collect().await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Internal("the calendar lookup returned no row".into()))?;
    Ok(calendar(row)?.deadline_for(start, TimeLimit::WorkingDays(days)))
}

/// The business calendar's exceptions for the months from `$1` (enough for any time limit).
const CALENDAR: &str = "select array_agg(to_char(day, 'YYYY-MM-DD') order by day) as days, \
     array_agg(kind order by day) as kinds \
     from business_calendar where day >= $1 and day < $1 + 120";

/// The calendar a row's `days` and `kinds` (see [`CALENDAR`]) describe.
fn calendar(row: &Row) -> Result<Calendar, StoreError> {
    let days: Vec<Option<String>> = row.get("days").unwrap_or_default();
    let kinds: Vec<Option<String>> = row.get("kinds").unwrap_or_default();
    let mut exceptions = Vec::with_capacity(days.len());
    for (day, kind) in days.iter().zip(&kinds) {
        let day = day
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .ok_or_else(|| StoreError::Internal(format!("a calendar day of {day:?}")))?;
        let kind = match kind.as_deref() {
            Some("holiday") => DayKind::Holiday,
            _ => DayKind::Workday,
        };
        exceptions.push((day, kind));
    }
    Ok(Calendar::new(exceptions))
}

/// Where an order is, for the dispatch catalogue.
#[derive(Debug, Clone, Default)]
pub struct Place {
    pub district: Option<String>,
    pub grid: Option<String>,
}

/// Statuses in which an order's work is over: every other order is open, and a duplicate can
/// join it. (The partial index `work_orders_open_location` has the same list.)
pub const CLOSED_STATUSES: &str =
    "('archived', 'closed_direct', 'handed_over', 'informed', 'merged', 'withdrawn')";

/// How far to look for duplicates when the caller does not say, in metres.
pub const DEFAULT_NEARBY_RADIUS_M: f64 = 100.0;
pub const MAX_NEARBY_RADIUS_M: f64 = 2000.0;

/// Open, non-confidential orders of `category` within `radius_m` metres of the point, nearest
/// first, leaving out `except`. For citizens, only text that needed no content check or passed it.
pub async fn nearby_open_orders(
    db: &Connection,
    (lat, lng): (f64, f64),
    category: &str,
    radius_m: f64,
    except: Option<uuid::Uuid>,
    for_citizens: bool,
) -> Result<Vec<NearbyOrder>, StoreError> {
    let rows = db
        .query(
            format!(
                "with p as (select st_setsrid(st_makepoint($2, $1), 4326)::geography as point) \
                 select o.work_order_id, o.tracking_number, o.status, o.category_id, c.name as category_name, \
                        o.title, o.created_at, st_distance(o.location, p.point) as distance_m, \
                        (select count(*) from order_followers f where f.work_order_id = o.work_order_id) as followers \
                 from work_orders o cross join p join categories c on c.category_id = o.category_id \
                 where o.status not in {CLOSED_STATUSES} and o.category_id = $3 and not o.confidential \
                   and (not $6 or o.content_check is null or o.content_check = 'pass') \
                   and st_dwithin(o.location, p.point, $4) \
                   and o.work_order_id is distinct from $5 \
                 order by distance_m, o.created_at limit 20"
            ),
            [
                lat.into(),
                lng.into(),
                text(category),
                radius_m.into(),
                except.into(),
                for_citizens.into(),
            ],
        )
        .await?
        .collect()
        .await?;
    rows.iter()
        .map(|row| {
            let status: String = required(row, "status")?;
            Ok(NearbyOrder {
                id: required(row, "work_order_id")?,
                tracking_number: required(row, "tracking_number")?,
                status_label: workorder::status_label(&status).to_owned(),
                status,
                category: Named {
                    code: required(row, "category_id")?,
                    name: required(row, "category_name")?,
                },
                title: required(row, "title")?,
                // To the decimetre: more would only suggest a precision phones do not have.
                distance_m: (required::<f64>(row, "distance_m")? * 10.0).round() / 10.0,
                followers: required(row, "followers")?,
                created_at: utc(row, "created_at")
                    .ok_or_else(|| StoreError::Internal("created_at missing".into()))?,
            })
        })
        .collect()
}

/// For an order waiting to be dispatched: the agency the catalogue names, else its district's
/// government (the backstop); with the agency's name.
pub async fn suggested_agency(
    db: &Connection,
    order_id: uuid::Uuid,
) -> Result<Option<Named>, StoreError> {
    let rows = db
        .query(
            "select category_id, district_id, grid_id, title || chr(10) || description as text \
             from work_orders where work_order_id = $1",
            [order_id.into()],
        )
        .await?
        .collect()
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let place = Place {
        district: row.get("district_id"),
        grid: row.get("grid_id"),
    };
    let category: String = required(row, "category_id")?;
    let text_of: String = required(row, "text")?;
    let subject = DispatchSubject {
        category: &category,
        place: &place,
        text: &text_of,
        // As for the fast channel: no rule means the backstop.
        urgent: true,
    };
    let Some(agency) = dispatch_target(db, &subject).await? else {
        return Ok(None);
    };
    let rows = db
        .query(
            "select name from agencies where agency_id = $1",
            [text(&agency)],
        )
        .await?
        .collect()
        .await?;
    Ok(rows
        .first()
        .and_then(|row| row.get::<String>("name"))
        .map(|name| Named { code: agency, name }))
}

/// What the dispatch catalogue matches an order by.
pub struct DispatchSubject<'a> {
    pub category: &'a str,
    pub place: &'a Place,
    /// The title and description, for keyword rules.
    pub text: &'a str,
    pub urgent: bool,
}

/// The agency the dispatch catalogue names for an order: the most specific rule that matches.
/// A rule with keywords (one of them in the text, in any case and width: both as `search_text`
/// writes them, migration 64) beats one without; then a rule for the order's
/// own category beats its parent's; then a grid rule beats a district rule, which beats a
/// city-wide one. Without a rule, urgent orders go to their district's government, the backstop
/// (兜底), so that the fast channel never waits in a queue.
pub async fn dispatch_target(
    db: &Connection,
    subject: &DispatchSubject<'_>,
) -> Result<Option<String>, StoreError> {
    static STATEMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "select {} as agency_id",
            dispatch_target_sql("$1", "$2", "$3", "$4", "$5")
        )
    });
    let rows = db
        .query(
            STATEMENT.as_str(),
            [
                text(subject.category),
                subject.place.district.clone().into(),
                subject.place.grid.clone().into(),
                text(subject.text),
                subject.urgent.into(),
            ],
        )
        .await?
        .collect()
        .await?;
    Ok(rows.first().and_then(|row| row.get("agency_id")))
}

/// [`dispatch_target`] as a SQL expression over five SQL expressions (category, district, grid,
/// text, urgent), so that a statement that reads more can take the catalogue's answer with it.
pub fn dispatch_target_sql(
    category: &str,
    district: &str,
    grid: &str,
    text: &str,
    urgent: &str,
) -> String {
    format!(
        "coalesce((select r.agency_id from dispatch_rules r join categories c on c.category_id = {category} \
                   where r.category_id in (c.category_id, c.parent_id) \
                     and (r.district_id is null or r.district_id = {district}) \
                     and (r.grid_id is null or r.grid_id = {grid}) \
                     and (r.keywords is null or exists (select 1 from unnest(r.keywords) k where strpos(search_text({text}), search_text(k)) > 0)) \
                   order by (r.keywords is not null) desc, (r.category_id = c.category_id) desc, \
                            (r.grid_id is not null) desc, (r.district_id is not null) desc, r.dispatch_rule_id \
                   limit 1), \
                  case when {urgent} then \
                    (select agency_id from agencies where district_id = {district} \
                     and kind in ('district_government', 'county_government', 'zone_committee') \
                     order by agency_id limit 1) end)"
    )
}

/// How a citizen is known: the subject of their token (the app), their phone number (a caller, or
/// an SMS sign-in), or their WeChat openid (the mini-program).
#[derive(Debug, Clone, Copy)]
pub enum CitizenKey<'a> {
    Subject(&'a str),
    Phone(&'a str),
    Openid(&'a str),
}

/// A citizen's id and subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citizen {
    pub id: uuid::Uuid,
    pub subject: String,
}

/// The citizen known by `key`, added the first time (`phone:<digits>` and `wechat:<openid>` are
/// the subjects of citizens first met by phone or WeChat). Found, never rewritten: a write on every
/// filing would serialise one citizen's filings. Two first requests at once: the loser inserts
/// nothing and finds the winner's row on the second try.
pub async fn find_or_add_citizen(
    db: &Connection,
    key: CitizenKey<'_>,
) -> Result<Citizen, StoreError> {
    citizen_row(db, key, "").await.map(|(citizen, _)| citizen)
}

/// A new order's number and clock, read with its citizen.
#[derive(Debug, Clone, Copy)]
pub struct Numbered {
    /// The next value of `work_order_serial`, for the tracking number.
    pub serial: i64,
    /// The transaction's clock.
    pub now: DateTime<Utc>,
}

/// [`find_or_add_citizen`], drawing the new order's serial and reading the clock in the same
/// statement (one round trip less for every filing). Call inside the filing's transaction.
pub async fn find_or_add_citizen_numbered(
    db: &Connection,
    key: CitizenKey<'_>,
) -> Result<(Citizen, Numbered), StoreError> {
    let (citizen, row) = citizen_row(db, key, NUMBERED).await?;
    let numbered = Numbered {
        serial: required(&row, "serial")?,
        now: utc(&row, "now").ok_or_else(|| StoreError::Internal("no clock".into()))?,
    };
    Ok((citizen, numbered))
}

/// The columns [`find_or_add_citizen_numbered`] adds. A row is made only for the citizen found
/// or added, so a try that finds neither draws no serial.
const NUMBERED: &str = ", nextval('work_order_serial') as serial, now() as now";

/// The statement behind [`find_or_add_citizen`], with `also` (columns) added to its one row:
/// `$1` a new citizen id, `$2` the subject, `$3` the phone, `$4` the openid.
fn citizen_sql(found_by: &str, also: &str) -> String {
    format!(
        "with found as (select citizen_id, subject from citizens where {found_by}), \
              added as (insert into citizens (citizen_id, subject, phone, wechat_openid) \
                        select $1, $2, $3, $4 where not exists (select 1 from found) \
                        on conflict do nothing returning citizen_id, subject) \
         select citizen_id, subject{also} from found union all select citizen_id, subject{also} from added"
    )
}

/// The SQL of [`find_or_add_citizen_numbered`] for a citizen known by subject (the bench runs it).
pub fn numbered_citizen_sql() -> String {
    citizen_sql("subject = $2", NUMBERED)
}

async fn citizen_row(
    db: &Connection,
    key: CitizenKey<'_>,
    also: &str,
) -> Result<(Citizen, Row), StoreError> {
    let (found_by, subject, phone, openid) = match key {
        CitizenKey::Subject(subject) => ("subject = $2", subject.to_owned(), None, None),
        CitizenKey::Phone(phone) => ("phone = $3", format!("phone:{phone}"), Some(phone), None),
        CitizenKey::Openid(openid) => (
            "wechat_openid = $4",
            format!("wechat:{openid}"),
            None,
            Some(openid),
        ),
    };
    let statement = citizen_sql(found_by, also);
    for _ in 0..2 {
        let rows = db
            .query(
                statement.as_str(),
                [
                    uuid::Uuid::new_v4().into(),
                    text(&subject),
                    phone.map(str::to_owned).into(),
                    openid.map(str::to_owned).into(),
                ],
            )
            .await?
            .collect()
            .await?;
        if let Some(row) = rows.into_iter().next() {
            let citizen = Citizen {
                id: required(&row, "citizen_id")?,
                subject: required(&row, "subject")?,
            };
            return Ok((citizen, row));
        }
    }
    Err(StoreError::Internal(format!(
        "no citizen found or added for {subject}"
    )))
}

#[cfg(test)]
mod tests {
    use super::{StoreError, unavailable};
    use spin_sdk::pg::{DbError, PgError, QueryError};

    fn refused(code: &str) -> PgError {
        PgError::QueryFailed(QueryError::DbError(DbError {
            as_text: String::new(),
            severity: "FATAL".into(),
            code: code.into(),
            message: String::new(),
            detail: None,
            extras: Vec::new(),
        }))
    }

    /// A database that cannot be reached is told apart from a statement it refused: the one is
    /// worth sending again shortly, the other is not.
    #[test]
    fn a_database_that_cannot_serve_is_told_from_a_refused_statement() {
        let down = PgError::ConnectionFailed("Connection refused (os error 111)".into());
        assert!(unavailable(&down));
        // Starting up, shutting down, lost on the way, out of disk or connections, a deadlock's
        // victim, a serialization failure.
        for code in [
            "57P01", "57P02", "57P03", "08006", "08003", "53100", "53300", "40P01", "40001",
        ] {
            assert!(unavailable(&refused(code)), "{code}");
        }
        // A broken constraint, a statement cancelled by its timeout, a syntax error.
        for code in ["23505", "57014", "42601"] {
            assert!(!unavailable(&refused(code)), "{code}");
        }
        assert!(!unavailable(&PgError::QueryFailed(QueryError::Text(
            "x".into()
        ))));
        assert!(matches!(
            StoreError::from(spin_sdk::pg::Error::from(down)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::while_doing("reading", refused("23505")),
            StoreError::Internal(cause) if cause.starts_with("reading: ")
        ));
    }
}
