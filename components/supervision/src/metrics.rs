//! `GET /internal/metrics` (the runtime's scrape, by `metrics_route`): the work as whoever runs
//! the hotline watches it at a glance — requests waiting at the centre for dispatch and how long
//! the oldest has waited (a queue that grows at night wants more operators), orders with the
//! agencies, and how many of those are past their deadline; and agencies' KPI appeals waiting for
//! a supervisor (the month's assessment waits on them).

use crate::error::ApiError;
use api_plumbing::metrics::Gauges;
use api_plumbing::{Reply, connect};
use order_store::required;

/// Each count through its partial index: the centre's queue (`work_orders_waiting`), the open
/// orders by deadline (`work_orders_open_by_deadline`; the status list is the index's own) and
/// the appeals waiting (`kpi_appeals_pending`).
const WORK: &str = "\
    select (select count(*) from work_orders where status = 'received') as awaiting, \
           (select coalesce(extract(epoch from now() - min(created_at)), 0)::float8 \
              from work_orders where status = 'received') as oldest_awaiting_seconds, \
           (select count(*) from work_orders \
              where status in ('dispatched', 'signed', 'in_progress', 'return_requested')) \
              as with_agencies, \
           (select count(*) from work_orders \
              where status in ('dispatched', 'signed', 'in_progress', 'return_requested') \
                and deadline_at < now()) as overdue, \
           (select count(*) from kpi_appeals where decision is null) as appeals_pending, \
           (select coalesce(extract(epoch from now() - min(filed_at)), 0)::float8 \
              from kpi_appeals where decision is null) as oldest_appeal_seconds";

pub async fn metrics() -> Result<Reply, ApiError> {
    let db = connect().await?;
    let rows = db.query(WORK, []).await?.collect().await?;
    let row = rows
        .first()
        .ok_or_else(|| ApiError::Internal("the counts came back empty".into()))?;
    let mut gauges = Gauges::default();
    gauges.one(
        "hotline_supervision_orders_awaiting_dispatch",
        "Requests received and waiting at the centre to be dispatched or answered.",
        required::<i64>(row, "awaiting")? as f64,
    );
    gauges.one(
        "hotline_supervision_oldest_awaiting_dispatch_seconds",
        "How long the oldest request waiting at the centre has waited (0: none waits).",
        required::<f64>(row, "oldest_awaiting_seconds")?,
    );
    gauges.one(
        "hotline_supervision_orders_with_agencies",
        "Orders an agency holds: dispatched, signed for, in hand, or asked to be returned.",
        required::<i64>(row, "with_agencies")? as f64,
    );
    gauges.one(
        "hotline_supervision_orders_overdue",
        "Orders an agency holds past their deadline.",
        required::<i64>(row, "overdue")? as f64,
    );
    gauges.one(
        "hotline_supervision_appeals_pending",
        "Agencies' KPI appeals (考核申诉) waiting for a supervisor's decision.",
        required::<i64>(row, "appeals_pending")? as f64,
    );
    gauges.one(
        "hotline_supervision_oldest_appeal_seconds",
        "How long the oldest KPI appeal waiting for a decision has waited (0: none waits).",
        required::<f64>(row, "oldest_appeal_seconds")?,
    );
    Ok(gauges.into_reply())
}
