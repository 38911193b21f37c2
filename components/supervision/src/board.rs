//! The board of open orders and the list of overdue ones.

use crate::error::ApiError;
use api_plumbing::{Reply, field_error, query_param, reply_with};
use mobile_api::{
    BoardCounts, BoardGroup, Named, OverdueOrder, OverdueOrderList, SupervisionBoard,
};
use order_store::db::Row;
use order_store::oversight::{self, OPEN};
use order_store::{named, required, required_named, utc};
use spin_sdk::http::StatusCode;

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 500;

/// `GET /api/v1/supervision/board?group_by=agency|district`.
pub async fn board(query: &str) -> Result<Reply, ApiError> {
    let group_by = query_param(query, "group_by").unwrap_or("agency");
    let statement = oversight::board_sql(group_by).ok_or_else(|| {
        ApiError::Validation(vec![field_error(
            "group_by",
            "invalid_value",
            "应为 agency 或 district",
        )])
    })?;
    let db = api_plumbing::connect().await?;
    let now = order_store::now(&db).await?;
    let rows = db
        .query(statement, [now.naive_utc().into()])
        .await?
        .collect()
        .await?;
    let groups = rows
        .iter()
        .map(|row| {
            Ok(BoardGroup {
                group: required_named(row, "code", "name")?,
                counts: counts(row)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let waiting = db
        .query(oversight::WAITING_DISPATCH, [])
        .await?
        .collect()
        .await?;
    let waiting_dispatch = waiting
        .first()
        .map(|row| required(row, "waiting"))
        .transpose()?
        .unwrap_or(0);
    Ok(reply_with(
        StatusCode::OK,
        &SupervisionBoard {
            group_by: group_by.to_owned(),
            as_of: now,
            total: total(&groups),
            waiting_dispatch,
            groups,
        },
    ))
}

fn counts(row: &Row) -> Result<BoardCounts, ApiError> {
    Ok(BoardCounts {
        open: required(row, "open")?,
        overdue: required(row, "overdue")?,
        due_soon: required(row, "due_soon")?,
        urgent: required(row, "urgent")?,
        supervised: required(row, "supervised")?,
        key_supervised: required(row, "key_supervised")?,
        return_requested: required(row, "return_requested")?,
        overdue_since: utc(row, "overdue_since"),
        co_handling_awaited: required(row, "co_handling_awaited")?,
        co_handling_overdue: required(row, "co_handling_overdue")?,
    })
}

/// The whole city: every open order, and every request for help awaited, is in exactly one group.
fn total(groups: &[BoardGroup]) -> BoardCounts {
    groups
        .iter()
        .fold(BoardCounts::default(), |sum, BoardGroup { counts, .. }| {
            BoardCounts {
                open: sum.open + counts.open,
                overdue: sum.overdue + counts.overdue,
                due_soon: sum.due_soon + counts.due_soon,
                urgent: sum.urgent + counts.urgent,
                supervised: sum.supervised + counts.supervised,
                key_supervised: sum.key_supervised + counts.key_supervised,
                return_requested: sum.return_requested + counts.return_requested,
                overdue_since: match (sum.overdue_since, counts.overdue_since) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
                co_handling_awaited: sum.co_handling_awaited + counts.co_handling_awaited,
                co_handling_overdue: sum.co_handling_overdue + counts.co_handling_overdue,
            }
        })
}

/// `GET /api/v1/supervision/overdue?agency=&district=&cursor=&limit=`: open orders past their
/// deadline, longest overdue first.
pub async fn overdue(query: &str) -> Result<Reply, ApiError> {
    let api_plumbing::PageQuery {
        limit,
        after: cursor,
    } = api_plumbing::page_query(query, DEFAULT_PAGE, MAX_PAGE)?;
    let agency = query_param(query, "agency").filter(|a| !a.is_empty());
    let district = query_param(query, "district").filter(|d| !d.is_empty());
    let db = api_plumbing::connect().await?;
    let mut unknown = Vec::new();
    if let Some(agency) = agency
        && !order_store::agency_exists(&db, agency).await?
    {
        unknown.push(field_error("agency", "unknown", "没有这个承办单位"));
    }
    if let Some(district) = district
        && !order_store::district_exists(&db, district).await?
    {
        unknown.push(field_error("district", "unknown", "没有这个区县"));
    }
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    let now = order_store::now(&db).await?;
    let (after_deadline, after_id) = match cursor {
        Some((deadline, id)) => (Some(deadline), Some(id)),
        None => (None, None),
    };
    let rows = db
        .query(
            format!(
                "select o.work_order_id, o.tracking_number, o.status, o.category_id, c.name as category_name, \
                        o.title, o.urgent, o.agency_id, a.name as agency_name, o.district_id, d.name as district_name, \
                        o.deadline_at, o.dispatched_at, o.supervised_at, o.key_supervised_at, \
                        (select count(*) from work_order_events e \
                         where e.work_order_id = o.work_order_id and e.event = 'reminded') as reminders, \
                        o.citizen_urgings, \
                        awaited.codes as co_awaited_codes, awaited.names as co_awaited_names \
                 from work_orders o join categories c on c.category_id = o.category_id \
                 join agencies a on a.agency_id = o.agency_id \
                 left join districts d on d.district_id = o.district_id \
                 cross join lateral ( \
                     select array_agg(h.agency_id order by h.work_order_co_handler_id) as codes, \
                            array_agg(ha.name order by h.work_order_co_handler_id) as names \
                     from work_order_co_handlers h join agencies ha on ha.agency_id = h.agency_id \
                     where h.work_order_id = o.work_order_id and h.answered_at is null \
                       and h.cancelled_at is null) awaited \
                 where {OPEN} and o.deadline_at <= $1 \
                   and ($2::text is null or o.agency_id = $2) and ($3::text is null or o.district_id = $3) \
                   and ($4::timestamp is null or (o.deadline_at, o.work_order_id) > ($4, $5::uuid)) \
                 order by o.deadline_at, o.work_order_id limit $6"
            ),
            [
                now.naive_utc().into(),
                agency.map(str::to_owned).into(),
                district.map(str::to_owned).into(),
                after_deadline.into(),
                after_id.into(),
                (i64::from(limit) + 1).into(),
            ],
        )
        .await?
        .collect()
        .await?;
    let mut items = rows
        .iter()
        .map(|row| overdue_order(row, now))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let next_cursor = api_plumbing::next_page(&mut items, limit, |last| {
        api_plumbing::cursor(last.deadline_at, last.id)
    });
    Ok(reply_with(
        StatusCode::OK,
        &OverdueOrderList { items, next_cursor },
    ))
}

fn overdue_order(row: &Row, now: chrono::DateTime<chrono::Utc>) -> Result<OverdueOrder, ApiError> {
    let status: String = required(row, "status")?;
    let deadline_at =
        utc(row, "deadline_at").ok_or_else(|| ApiError::Internal("no deadline_at".into()))?;
    Ok(OverdueOrder {
        id: required(row, "work_order_id")?,
        tracking_number: required(row, "tracking_number")?,
        status_label: workorder::status_label(&status).to_owned(),
        status,
        category: required_named(row, "category_id", "category_name")?,
        title: required(row, "title")?,
        urgent: required(row, "urgent")?,
        agency: required_named(row, "agency_id", "agency_name")?,
        district: named(row, "district_id", "district_name"),
        deadline_at,
        overdue_seconds: (now - deadline_at).num_seconds(),
        supervised_at: utc(row, "supervised_at"),
        key_supervised_at: utc(row, "key_supervised_at"),
        reminders: required(row, "reminders")?,
        citizen_urgings: required(row, "citizen_urgings")?,
        dispatched_at: utc(row, "dispatched_at"),
        co_handling_awaited: row
            .get::<Vec<Option<String>>>("co_awaited_codes")
            .unwrap_or_default()
            .into_iter()
            .zip(
                row.get::<Vec<Option<String>>>("co_awaited_names")
                    .unwrap_or_default(),
            )
            .filter_map(|(code, name)| {
                Some(Named {
                    code: code?,
                    name: name?,
                })
            })
            .collect(),
    })
}
