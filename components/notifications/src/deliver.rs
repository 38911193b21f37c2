//! The deliverer: `POST /internal/deliver`, called by the schedule right after a transaction that
//! queued notifications commits, and every few seconds besides.
//!
//! It claims due deliveries with `FOR UPDATE SKIP LOCKED` — so several instances, on one runtime
//! or many, never take the same row — and leases them by moving `next_attempt_at` two minutes on
//! and counting the attempt. An instance that dies mid-send leaves its rows to be claimed again
//! when the lease runs out: a crash delays a message, never drops it (one the provider took before
//! the crash goes again: delivery is at least once). Then it sends them, a few at a time, a new
//! send starting as each ends, and records what the provider said:
//! - sent → `sent`;
//! - retry → back to `pending` after exponential backoff with jitter, or at least Retry-After;
//! - the address is gone (UNREGISTERED, 410, 80300007, a bad number) → `dropped`, and the device
//!   is removed; a WeChat citizen whose subscribe consent is used up (43101) is sent an SMS instead;
//! - refused for good, or attempts used up → `dead`, where supervisors see and re-queue it.
//!
//! It works through batches until nothing is due or its time budget is spent; then, if work is
//! left, it notifies the channel again, so the schedule calls it again at once.

use crate::devices::forget;
use crate::error::ApiError;
use crate::providers::{self, Claimed};
use api_plumbing::{Reply, connect, reply_with};
use chrono::Timelike;
use futures::StreamExt;
use order_store::db::{Connection, Row};
use order_store::{required, text};
use push::Outcome;
use spin_sdk::http::StatusCode;
use std::time::{Duration, Instant};

/// Rows claimed at once, and how many of them are being sent at any moment.
const BATCH: i64 = 64;
const IN_FLIGHT: usize = 16;

/// A run stops claiming after this long, well inside the runtime's request limit.
const BUDGET: Duration = Duration::from_secs(5);

/// Claims up to `$1` due deliveries for `$2` seconds. While `$3` is not null (the citizens' quiet
/// hours, until `$3`), the due SMS and WeChat messages — citizens', who have no app — are put off
/// until then instead, their attempt not counted: a text does not wake anyone at night.
const CLAIM: &str = "\
with due as ( \
    select delivery_id from notification_deliveries \
    where status = 'pending' and next_attempt_at <= now() \
    order by next_attempt_at limit $1 \
    for update skip locked), \
held as ( \
    update notification_deliveries d set next_attempt_at = $3 \
    from due where d.delivery_id = due.delivery_id and $3::timestamptz is not null \
      and d.channel in ('sms', 'wechat') \
    returning d.delivery_id) \
update notification_deliveries d \
set attempts = d.attempts + 1, \
    next_attempt_at = now() + make_interval(secs => $2), \
    claimed_until = now() + make_interval(secs => $2) \
from due, notifications n, notification_templates t \
where d.delivery_id = due.delivery_id and n.notification_id = d.notification_id and t.kind = n.kind \
  and not exists (select 1 from held h where h.delivery_id = d.delivery_id) \
returning d.delivery_id, d.channel, d.address, d.device_id, d.attempts, d.dedupe_key, \
    n.notification_id, n.kind, n.title, n.body, n.work_order_id, n.special_report_id, \
    n.early_warning_id, n.circular_id, \
    (select o.tracking_number from work_orders o where o.work_order_id = n.work_order_id) as tracking_number, \
    (select o.title from work_orders o where o.work_order_id = n.work_order_id) as order_title, \
    t.wechat_template_id, t.sms_template";

fn claimed(row: &Row) -> Result<Claimed, ApiError> {
    Ok(Claimed {
        delivery_id: required(row, "delivery_id")?,
        channel: required(row, "channel")?,
        address: required(row, "address")?,
        device_id: row.get("device_id"),
        attempts: required(row, "attempts")?,
        dedupe_key: required(row, "dedupe_key")?,
        notification_id: required(row, "notification_id")?,
        kind: required(row, "kind")?,
        title: required(row, "title")?,
        body: required(row, "body")?,
        work_order_id: row.get("work_order_id"),
        tracking_number: row.get("tracking_number"),
        special_report_id: row.get("special_report_id"),
        early_warning_id: row.get("early_warning_id"),
        circular_id: row.get("circular_id"),
        order_title: row.get("order_title"),
        wechat_template_id: row.get("wechat_template_id"),
        sms_template: row.get("sms_template"),
    })
}

/// What one run did, for the schedule's log.
#[derive(Debug, Default, serde::Serialize)]
struct Totals {
    sent: u32,
    retried: u32,
    dropped: u32,
    dead: u32,
}

/// The deliverer's settings (`notify_*` variables).
struct Settings {
    max_attempts: i32,
    /// The first retry's wait; each next one doubles it.
    backoff_seconds: u64,
    /// How long a claimed row is ours before another instance may take it.
    lease_seconds: i64,
    /// `citizen_quiet_hours`, e.g. `21-8`.
    quiet_hours: String,
}

impl Settings {
    async fn load() -> Settings {
        Settings {
            max_attempts: api_plumbing::number_variable("notify_max_attempts", 8, 1).await,
            backoff_seconds: api_plumbing::number_variable("notify_backoff_seconds", 10, 1).await,
            lease_seconds: api_plumbing::number_variable("notify_lease_seconds", 120, 1).await,
            quiet_hours: api_plumbing::variable("citizen_quiet_hours")
                .await
                .unwrap_or_default(),
        }
    }
}

pub async fn run() -> Result<Reply, ApiError> {
    let started = Instant::now();
    let db = connect().await?;
    let settings = Settings::load().await;
    let mut totals = Totals::default();
    let mut drained = false;
    while started.elapsed() < BUDGET {
        let quiet_until = quiet_until(&settings.quiet_hours, chrono::Utc::now());
        let rows = db
            .query(
                CLAIM,
                [
                    BATCH.into(),
                    (settings.lease_seconds as f64).into(),
                    order_store::time(quiet_until),
                ],
            )
            .await?
            .collect()
            .await?;
        if rows.is_empty() {
            drained = true;
            break;
        }
        let batch = rows.iter().map(claimed).collect::<Result<Vec<_>, _>>()?;
        // Up to IN_FLIGHT sends at once across the batch, a new one starting as each ends, so
        // that a slow answer holds up only its own slot; none starts once the budget is spent.
        let mut outcomes = futures::stream::iter(batch.iter().enumerate())
            .map(|(index, delivery)| async move {
                if started.elapsed() >= BUDGET {
                    return (index, None);
                }
                (index, Some(send(delivery).await))
            })
            .buffer_unordered(IN_FLIGHT);
        // What was sent is recorded in one statement at the batch's end; the rest one by one,
        // as each answer comes (the other requests stay in flight meanwhile).
        let mut sent = Vec::new();
        let mut untried = Vec::new();
        while let Some((index, outcome)) = outcomes.next().await {
            let delivery = &batch[index];
            match outcome {
                None => untried.push(delivery.delivery_id),
                Some(Outcome::Sent(reference)) => sent.push((delivery.delivery_id, reference)),
                Some(other) => record(&db, delivery, other, &settings, &mut totals).await?,
            }
        }
        totals.sent += u32::try_from(sent.len()).unwrap_or(u32::MAX);
        mark_sent(&db, sent).await?;
        if !untried.is_empty() {
            // Out of time with part of the batch unsent: those go back at once, their attempt
            // not counted, rather than waiting out the lease.
            release(&db, &untried).await?;
            break;
        }
    }
    if !drained {
        // The budget ran out with work left: wake the schedule again at once.
        db.execute(
            &format!(
                "select pg_notify('{}', '')",
                order_store::outbox::QUEUED_CHANNEL
            ),
            [],
        )
        .await?;
    }
    Ok(reply_with(StatusCode::OK, &totals))
}

/// `POST /internal/deadline-warnings` (every minute): the agencies whose orders have a fifth of
/// their time left are warned, once per deadline; the deliverer is woken for the pushes.
pub async fn warn_of_deadlines() -> Result<Reply, ApiError> {
    let db = connect().await?;
    order_store::outbox::warn_of_deadlines(&db, 500).await?;
    Ok(swept())
}

/// `POST /internal/overdue-notices` (every minute): the agencies whose orders passed their
/// deadline unfinished are told, once per deadline, and those asked to help with an order (协办)
/// whose opinion is late, once per request; the deliverer is woken for the pushes.
pub async fn notify_overdue() -> Result<Reply, ApiError> {
    let db = connect().await?;
    order_store::outbox::notify_overdue(&db, 500).await?;
    order_store::outbox::notify_co_handling_overdue(&db, 500).await?;
    Ok(swept())
}

/// What a sweep answers its schedule when it has run.
fn swept() -> Reply {
    reply_with(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
}

/// `POST /internal/rating-reminders` (every minute): citizens who have not rated a reply
/// `rating_reminder_after_hours` after it passed audit are reminded, once per round, while their
/// `rating_window_days` are not over, and not in `citizen_quiet_hours` (China time: a reminder
/// due at night goes in the morning); the deliverer is woken for the pushes.
pub async fn remind_to_rate() -> Result<Reply, ApiError> {
    let quiet = api_plumbing::variable("citizen_quiet_hours")
        .await
        .unwrap_or_default();
    if quiet_until(&quiet, chrono::Utc::now()).is_some() {
        return Ok(reply_with(
            StatusCode::OK,
            &serde_json::json!({ "status": "quiet hours" }),
        ));
    }
    let after_hours = api_plumbing::number_variable("rating_reminder_after_hours", 72, 1).await;
    let window_days = api_plumbing::number_variable("rating_window_days", 7, 1).await;
    let db = connect().await?;
    order_store::outbox::remind_to_rate(&db, 500, after_hours, window_days).await?;
    Ok(swept())
}

/// The quiet hours `quiet` as (from, to) hours, written `21-8` (from 21:00 up to 08:00, across
/// midnight) or `12-14`; none for empty, `none` or anything else.
fn quiet_hours(quiet: &str) -> Option<(u32, u32)> {
    let (from, to) = quiet.trim().split_once('-')?;
    let (from, to) = (
        from.trim().parse::<u32>().ok()?,
        to.trim().parse::<u32>().ok()?,
    );
    (from <= 24 && to <= 24 && from != to).then_some((from, to))
}

/// Whether `hour` (0–23, China time) falls in the quiet hours `quiet`.
fn quiet_at(quiet: &str, hour: u32) -> bool {
    match quiet_hours(quiet) {
        Some((from, to)) if from < to => (from..to).contains(&hour),
        Some((from, to)) => hour >= from || hour < to,
        None => false,
    }
}

/// If `now` falls in the quiet hours `quiet` (China time), when they end: the next `to` o'clock
/// (for `0-24`, quiet all day, the next midnight).
fn quiet_until(
    quiet: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let china = now + chrono::TimeDelta::hours(8);
    if !quiet_at(quiet, china.hour()) {
        return None;
    }
    let (_, to) = quiet_hours(quiet)?;
    let mut end =
        china.date_naive().and_hms_opt(0, 0, 0)? + chrono::TimeDelta::hours(i64::from(to));
    if end <= china.naive_utc() {
        end += chrono::TimeDelta::days(1);
    }
    Some((end - chrono::TimeDelta::hours(8)).and_utc())
}

async fn send(delivery: &Claimed) -> Outcome {
    let is_push = matches!(delivery.channel.as_str(), "fcm" | "hms" | "apns");
    if is_push && delivery.device_id.is_none() {
        return Outcome::InvalidAddress("the device was removed".into());
    }
    providers::send(delivery).await
}

/// A number in [0, 1) from the platform's random source, for jitter.
fn jitter() -> f64 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    f64::from(u16::from_le_bytes([bytes[0], bytes[1]])) / 65536.0
}

async fn record(
    db: &Connection,
    delivery: &Claimed,
    outcome: Outcome,
    settings: &Settings,
    totals: &mut Totals,
) -> Result<(), ApiError> {
    let id = delivery.delivery_id;
    let (after_seconds, error) = match outcome {
        Outcome::Sent(reference) => {
            totals.sent += 1;
            return mark_sent(db, vec![(id, reference)]).await;
        }
        Outcome::InvalidAddress(error) => {
            totals.dropped += 1;
            return drop_address(db, delivery, &error).await;
        }
        Outcome::Rejected(error) => {
            totals.dead += 1;
            return dead(db, delivery, &error).await;
        }
        Outcome::Retry {
            after_seconds,
            error,
        } => (after_seconds, error),
        // `with_token` already tried a fresh token; what is left is a retry.
        Outcome::Reauthenticate(error) => (None, error),
    };
    if delivery.attempts >= settings.max_attempts {
        totals.dead += 1;
        return dead(
            db,
            delivery,
            &format!("{error} (gave up after {} attempts)", delivery.attempts),
        )
        .await;
    }
    totals.retried += 1;
    let attempt = u32::try_from(delivery.attempts).unwrap_or(1);
    let wait = push::backoff_seconds(settings.backoff_seconds, attempt, jitter())
        .max(after_seconds.unwrap_or(0));
    db.execute(
        "update notification_deliveries set next_attempt_at = now() + make_interval(secs => $2), \
                claimed_until = null, last_error = $3 where delivery_id = $1 and status = 'pending' and attempts = $4",
        [
            id.into(),
            (wait as f64).into(),
            text(&error),
            delivery.attempts.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Gives claimed deliveries back untried.
async fn release(db: &Connection, untried: &[uuid::Uuid]) -> Result<(), ApiError> {
    let ids: Vec<Option<String>> = untried.iter().map(|id| Some(id.to_string())).collect();
    db.execute(
        "update notification_deliveries set attempts = attempts - 1, next_attempt_at = now(), claimed_until = null \
         where delivery_id = any($1::text[]::uuid[]) and status = 'pending'",
        [ids.into()],
    )
    .await?;
    Ok(())
}

/// Records deliveries as sent, with the provider's message ids, in one statement.
async fn mark_sent(
    db: &Connection,
    sent: Vec<(uuid::Uuid, Option<String>)>,
) -> Result<(), ApiError> {
    if sent.is_empty() {
        return Ok(());
    }
    let (ids, references): (Vec<_>, Vec<_>) = sent
        .into_iter()
        .map(|(id, reference)| (Some(id.to_string()), reference))
        .unzip();
    db.execute(
        "update notification_deliveries d set status = 'sent', sent_at = now(), claimed_until = null, \
                provider_message_id = u.reference, last_error = null \
         from unnest($1::text[], $2::text[]) as u(id, reference) \
         where d.delivery_id = u.id::uuid and d.status = 'pending'",
        [ids.into(), references.into()],
    )
    .await?;
    Ok(())
}

/// Gives up on a delivery, unless another instance has claimed it since (after our lease ran out).
async fn dead(db: &Connection, delivery: &Claimed, error: &str) -> Result<(), ApiError> {
    eprintln!(
        "notifications: delivery {} is dead: {error}",
        delivery.delivery_id
    );
    db.execute(
        "update notification_deliveries set status = 'dead', claimed_until = null, last_error = $2 \
         where delivery_id = $1 and status = 'pending' and attempts = $3",
        [
            delivery.delivery_id.into(),
            text(error),
            delivery.attempts.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The address cannot receive: the delivery is dropped and the device forgotten. A citizen whose
/// WeChat subscribe consent is used up gets the SMS instead, where the kind has one.
async fn drop_address(db: &Connection, delivery: &Claimed, error: &str) -> Result<(), ApiError> {
    db.transaction(async {
        db.execute(
            "update notification_deliveries set status = 'dropped', claimed_until = null, last_error = $2 \
             where delivery_id = $1 and status = 'pending'",
            [delivery.delivery_id.into(), text(error)],
        )
        .await?;
        if let Some(device) = delivery.device_id {
            forget(
                db,
                device,
                &format!("the provider refused the token: {error}"),
            )
            .await?;
        }
        if delivery.channel == "wechat" && delivery.sms_template.is_some() {
            db.execute(
                "insert into notification_deliveries (notification_id, channel, address, dedupe_key) \
                 select n.notification_id, 'sms', coalesce(c.phone, o.contact_phone), $2 \
                 from notifications n join citizens c on c.subject = n.recipient \
                 left join work_orders o on o.work_order_id = n.work_order_id and o.citizen_id = c.citizen_id \
                 where n.notification_id = $1 and coalesce(c.phone, o.contact_phone) is not null \
                 on conflict (dedupe_key) do nothing",
                [
                    delivery.notification_id.into(),
                    text(format!("{}:sms", delivery.dedupe_key)),
                ],
            )
            .await?;
        }
        Ok::<_, ApiError>(())
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{quiet_at, quiet_until};

    fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
        s.parse().expect("a time")
    }

    #[test]
    fn quiet_hours_end_at_the_next_end_hour_china_time() {
        // 23:30 and 03:00 China time: quiet until 08:00 China time, 00:00 UTC.
        assert_eq!(
            quiet_until("21-8", utc("2026-12-02T15:30:00Z")),
            Some(utc("2026-12-03T00:00:00Z"))
        );
        assert_eq!(
            quiet_until("21-8", utc("2026-12-02T19:00:00Z")),
            Some(utc("2026-12-03T00:00:00Z"))
        );
        // 09:00 China time: not quiet.
        assert_eq!(quiet_until("21-8", utc("2026-12-03T01:00:00Z")), None);
        // Quiet all day: until the next midnight, China time.
        assert_eq!(
            quiet_until("0-24", utc("2026-12-03T01:00:00Z")),
            Some(utc("2026-12-03T16:00:00Z"))
        );
        assert_eq!(quiet_until("none", utc("2026-12-02T15:30:00Z")), None);
    }

    #[test]
    fn quiet_hours_run_across_midnight_or_within_a_day() {
        let night = |hour| quiet_at("21-8", hour);
        assert!(night(21) && night(23) && night(0) && night(7));
        assert!(!night(8) && !night(12) && !night(20));
        assert!(quiet_at("12-14", 12) && quiet_at("12-14", 13) && !quiet_at("12-14", 14));
        assert!(quiet_at("0-24", 0) && quiet_at("0-24", 23));
        for never in ["", "none", "21", "21-x", "25-3", "8-8"] {
            assert!((0..24).all(|hour| !quiet_at(never, hour)), "{never}");
        }
    }
}
