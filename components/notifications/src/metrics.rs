//! `GET /internal/metrics` (the runtime's scrape, by `metrics_route`): the outbox as whoever runs
//! the platform watches it — what waits to be delivered by channel, what is due and waits for the
//! deliverer, what is being sent, how long the oldest due one has waited, and what failed for good
//! and waits for a supervisor's re-queue. A backlog that grows, or an oldest wait that climbs, means messages to
//! agencies and citizens are late: a provider is down or the deliverer has stopped.

use crate::error::ApiError;
use api_plumbing::metrics::Gauges;
use api_plumbing::{Reply, connect};
use order_store::required;

/// Every channel, so that each series exists (at 0) before its first message.
const CHANNELS: [&str; 5] = ["fcm", "apns", "hms", "wechat", "sms"];

/// One statement over two of the outbox's indexes (the pending by due time, and by status and
/// age for the dead: migration 73).
const OUTBOX: &str = "\
    select channel, \
           count(*) filter (where status = 'pending') as pending, \
           count(*) filter (where status = 'pending' and next_attempt_at <= now()) as due, \
           count(*) filter (where status = 'pending' and claimed_until > now()) as sending, \
           coalesce(extract(epoch from now() - min(next_attempt_at) \
               filter (where status = 'pending' and next_attempt_at <= now())), 0)::float8 \
               as oldest_due_seconds, \
           count(*) filter (where status = 'dead') as dead \
    from (select channel, status, next_attempt_at, claimed_until from notification_deliveries \
          where status = 'pending' \
          union all \
          select channel, status, next_attempt_at, claimed_until from notification_deliveries \
          where status = 'dead') d \
    group by channel";

pub async fn metrics() -> Result<Reply, ApiError> {
    let db = connect().await?;
    let rows = db.query(OUTBOX, []).await?.collect().await?;
    let mut figures = [[0f64; 5]; CHANNELS.len()];
    for row in &rows {
        let channel: String = required(row, "channel")?;
        if let Some(index) = CHANNELS.iter().position(|c| *c == channel) {
            figures[index] = [
                required::<i64>(row, "pending")? as f64,
                required::<i64>(row, "due")? as f64,
                required::<i64>(row, "sending")? as f64,
                required::<f64>(row, "oldest_due_seconds")?,
                required::<i64>(row, "dead")? as f64,
            ];
        }
    }
    let labels: Vec<[(&str, &str); 1]> = CHANNELS.iter().map(|c| [("channel", *c)]).collect();
    let mut gauges = Gauges::default();
    let families = [
        (
            "hotline_notifications_deliveries_pending",
            "Deliveries waiting in the outbox (due or retrying later, or held for quiet hours).",
        ),
        (
            "hotline_notifications_deliveries_due",
            "Pending deliveries whose time has come, waiting for the deliverer.",
        ),
        (
            "hotline_notifications_deliveries_sending",
            "Pending deliveries a deliverer holds now, sending them.",
        ),
        (
            "hotline_notifications_oldest_due_seconds",
            "How long the longest-waiting due delivery has waited past its time (0: none).",
        ),
        (
            "hotline_notifications_deliveries_dead",
            "Deliveries given up for good, waiting for a supervisor's re-queue.",
        ),
    ];
    for (column, (name, help)) in families.into_iter().enumerate() {
        gauges.family(
            name,
            help,
            labels
                .iter()
                .zip(&figures)
                .map(|(labels, figures)| (&labels[..], figures[column])),
        );
    }
    Ok(gauges.into_reply())
}
