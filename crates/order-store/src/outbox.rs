//! History events and the notifications they call for, written together.
//!
//! Every history event goes through [`record_event`]: one statement inserts the event, the
//! notifications its kinds call for (one per person: the agency's staff, the citizen and those
//! who follow the order, or only those who follow it), and their deliveries (one per push token,
//! or for a citizen with no app a WeChat subscribe message or an SMS), and, when anything is to be
//! delivered, `NOTIFY`s the deliverer. It runs in the caller's transaction, so the state change,
//! its history and its notifications commit together or not at all, and PostgreSQL sends the
//! `NOTIFY` only on commit.

use crate::db::Connection;
use crate::{StoreError, text, time};
use chrono::{DateTime, Utc};
use workorder::lifecycle::Event;

/// The channel the deliverer listens on (`on_notify` of its schedule in `spin.toml`).
pub const QUEUED_CHANNEL: &str = "notifications_queued";

/// The notifications an event calls for, by template kind.
pub fn notification_kinds(event: &str) -> &'static [&'static str] {
    match event {
        "received" => &["citizen_accepted"],
        "dispatched" => &["task_new", "citizen_dispatched"],
        "reassigned" => &["task_new"],
        // The task is back with the agency: a refused return request, or a reply the centre sent back.
        "return_refused" | "audit_failed" => &["task_returned"],
        "audit_passed" => &["citizen_replied"],
        "redo_started" => &["task_redo", "citizen_redo_started"],
        "reminded" => &["reminder"],
        "supervised" => &["supervision"],
        "key_supervised" => &["key_supervision"],
        "supplemented" => &["task_supplemented"],
        "co_handling_requested" => &["task_co_handling", "co_handling_arranged"],
        "co_replied" => &["co_opinion"],
        "co_handling_cancelled" => &["co_handling_cancelled"],
        "co_handling_reminded" => &["co_handling_reminder"],
        "citizen_urged" => &["task_citizen_urged"],
        "citizen_urged_supervised" => &["task_citizen_urged_supervised"],
        "co_handling_proposal_refused" => &["co_handling_proposal_refused"],
        // A supervisor's decision on an agency's appeal (考核申诉), to the agency that made it.
        "appeal_approved" => &["appeal_approved"],
        "appeal_refused" => &["appeal_refused"],
        // Those who followed it rather than file their own are told; its filer withdrew it.
        "withdrawn" => &["follower_withdrawn"],
        _ => &[],
    }
}

/// The template kinds whose every notice comes of an event with a note (a reason, what is asked,
/// an opinion, the citizen's added words), which their text may quote as `{note}`. All are for
/// staff: a note is never shown to citizens as it is.
pub const NOTED_KINDS: &[&str] = &[
    "task_returned",
    "reminder",
    "supervision",
    "key_supervision",
    "key_supervision_escalated",
    "key_supervision_hot_issue",
    "task_supplemented",
    "task_co_handling",
    "co_handling_arranged",
    "co_opinion",
    "co_handling_cancelled",
    "co_handling_reminder",
    "co_handling_proposal_refused",
    "appeal_filed",
    "appeal_approved",
    "appeal_refused",
];

/// The placeholders the text of template `kind` may use.
pub fn placeholders(kind: &str) -> &'static [&'static str] {
    const ALL: &[&str] = &["{tracking_number}", "{title}", "{deadline}", "{note}"];
    if NOTED_KINDS.contains(&kind) {
        ALL
    } else {
        &ALL[..3]
    }
}

/// How much of a note a notice quotes: a push is read at a glance, and the whole note is in the
/// order's history.
const QUOTED_NOTE_CHARS: usize = 100;

/// An order's deadline as people read it: China time, e.g. `12月3日 17:30`.
const DEADLINE_TEXT: &str = "coalesce(to_char(o.deadline_at at time zone 'Asia/Shanghai', \
     'FMMM\"月\"FMDD\"日\" HH24:MI'), '尽快')";

/// The deadline as the agency an event names (`$8` of the record statement) reads it: when the
/// opinion it is asked for (协办) is due, else the order's deadline.
const NAMED_DEADLINE_TEXT: &str = "coalesce(to_char(coalesce((select h.due_at from work_order_co_handlers h \
     where h.work_order_id = o.work_order_id and h.agency_id = $8 and h.cancelled_at is null), o.deadline_at) \
     at time zone 'Asia/Shanghai', 'FMMM\"月\"FMDD\"日\" HH24:MI'), '尽快')";

/// A template's text with the order's values: `t` the template, `o` the order, `deadline` its
/// text, and `note` (an SQL expression, null for none) the event's note, its first
/// [`QUOTED_NOTE_CHARS`] characters.
fn rendered(note: &str) -> String {
    let most = QUOTED_NOTE_CHARS;
    let cut = most - 1;
    format!(
        "replace(replace(replace(replace(t.body, '{{tracking_number}}', o.tracking_number), \
         '{{title}}', o.title), '{{deadline}}', deadline), '{{note}}', coalesce(case \
         when char_length({note}) > {most} then left({note}, {cut}) || '…' else {note} end, ''))"
    )
}

/// The note of a notice that quotes none.
const NO_NOTE: &str = "null::text";

/// What follows the notifications a statement made (`made`: notification_id, recipient, kind,
/// dedupe_key, work_order_id; `t`: their templates): a delivery per push token of each recipient,
/// or, for a citizen without the app and a kind marked `fallback`, a WeChat subscribe message
/// (openid and WeChat template) else an SMS (phone and SMS template); then the `NOTIFY` that wakes
/// the deliverer, when anything is to be delivered.
const FAN_OUT: &str = "\
pushes as ( \
    insert into notification_deliveries (notification_id, channel, device_id, address, dedupe_key) \
    select m.notification_id, d.platform, d.device_id, d.token, m.dedupe_key || ':' || d.device_id \
    from made m join devices d on d.subject = m.recipient \
    returning 1), \
reach as ( \
    select m.notification_id, m.dedupe_key, \
           case when c.wechat_openid is not null and t.wechat_template_id is not null then 'wechat' \
                when t.sms_template is not null then 'sms' end as channel, \
           case when c.wechat_openid is not null and t.wechat_template_id is not null then c.wechat_openid \
                when t.sms_template is not null \
                then coalesce(c.phone, case when c.citizen_id = o.citizen_id then o.contact_phone end) end as address \
    from made m join t on t.kind = m.kind join citizens c on c.subject = m.recipient \
    join work_orders o on o.work_order_id = m.work_order_id \
    where t.audience in ('citizen', 'follower') and t.fallback \
      and not exists (select 1 from devices d where d.subject = m.recipient)), \
fallbacks as ( \
    insert into notification_deliveries (notification_id, channel, address, dedupe_key) \
    select notification_id, channel, address, dedupe_key || ':' || channel from reach where address is not null \
    returning 1) \
select pg_notify('notifications_queued', '') as notified \
from (select (select count(*) from pushes) + (select count(*) from fallbacks) as queued) q \
where q.queued > 0";

/// The agency's enabled staff accounts (`s`) for the order `o`.
const AGENCY_STAFF: &str = "staff_accounts s on s.agency_id = o.agency_id and s.role = 'agency_staff' \
     and s.disabled_at is null";

/// Recording an event: `$1` order, `$2` event code, `$3` actor, `$4` note, `$5` previous
/// deadline, `$6` time, `$7` the template kinds to notify, `$8` the agency it is addressed to,
/// whose staff hear of it (templates of audience `staff`), when not the holder (null: the
/// holder); the holder's staff hear of it too by templates of audience `holder`. Templates of
/// audience `citizen` reach the order's citizen and those following it; of audience `follower`,
/// the followers alone. Each is found by its own key: with the two joined to the citizens by an
/// `or`, PostgreSQL read every citizen for each event (over a million citizens, 1.5 s a filing).
static RECORD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let quoted = rendered("e.note");
    format!(
        "with event as ( \
             insert into work_order_events (work_order_id, event, actor, note, previous_deadline, created_at, agency_id) \
             values ($1, $2, $3, $4, $5, $6, $8) returning work_order_event_id, work_order_id, note), \
         t as (select * from notification_templates where kind = any($7::text[])), \
         recipients as ( \
             select t.kind, s.username as recipient \
             from event e join work_orders o on o.work_order_id = e.work_order_id cross join t \
             join staff_accounts s on s.agency_id = coalesce($8, o.agency_id) and s.role = 'agency_staff' \
              and s.disabled_at is null \
             where t.audience = 'staff' \
             union \
             select t.kind, s.username \
             from event e join work_orders o on o.work_order_id = e.work_order_id cross join t \
             join {AGENCY_STAFF} \
             where t.audience = 'holder' \
             union \
             select t.kind, c.subject \
             from event e join work_orders o on o.work_order_id = e.work_order_id cross join t \
             join citizens c on c.citizen_id = o.citizen_id \
             where t.audience = 'citizen' \
             union \
             select t.kind, c.subject \
             from event e join order_followers f on f.work_order_id = e.work_order_id cross join t \
             join citizens c on c.citizen_id = f.citizen_id \
             where t.audience in ('citizen', 'follower')), \
         made as ( \
             insert into notifications (recipient, work_order_id, kind, title, body, dedupe_key) \
             select r.recipient, o.work_order_id, t.kind, t.title, {quoted}, \
                    'event:' || e.work_order_event_id || ':' || t.kind || ':' || r.recipient \
             from recipients r join t on t.kind = r.kind cross join event e \
             join work_orders o on o.work_order_id = e.work_order_id, {NAMED_DEADLINE_TEXT} as deadline \
             on conflict (dedupe_key) do nothing \
             returning notification_id, recipient, kind, dedupe_key, work_order_id), \
         {FAN_OUT}"
    )
});

/// A sweep's statement: `t` the templates of `kinds` (SQL string literals); `due` the orders
/// `candidates` picks from `work_orders w` (at most `$1`, first by `order`), locked, and marked by
/// `mark` so that no later run picks them again for the same reason (the marked rows, as `o` to
/// `notify`); `history`, if not empty, more statements on them (`name as (...), `); `made` the
/// notifications `notify` selects for them (recipient, order, kind, title, body and dedupe key),
/// each dedupe key once; and their fan-out.
fn sweep(
    kinds: &str,
    mark: &str,
    candidates: &str,
    order: &str,
    history: &str,
    notify: &str,
) -> String {
    format!(
        "with t as (select * from notification_templates where kind in ({kinds})), \
         due as ( \
             update work_orders o set {mark} \
             where o.work_order_id in ( \
                 select w.work_order_id from work_orders w where {candidates} \
                 order by {order} limit $1 \
                 for update skip locked) \
             returning o.*), \
         {history} \
         made as ( \
             insert into notifications (recipient, work_order_id, kind, title, body, dedupe_key) \
             {notify} \
             on conflict (dedupe_key) do nothing \
             returning notification_id, recipient, kind, dedupe_key, work_order_id), \
         {FAN_OUT}"
    )
}

/// A sweep's notifications to the agency's staff about the swept orders' deadlines: one per
/// person, order and deadline (dedupe key `<prefix>:<order>:<deadline>:<person>`).
fn to_agency_staff(prefix: &str) -> String {
    let plain = rendered(NO_NOTE);
    format!(
        "select s.username, o.work_order_id, t.kind, t.title, {plain}, \
                '{prefix}:' || o.work_order_id || ':' || extract(epoch from o.deadline_at)::bigint || ':' || s.username \
         from due o join {AGENCY_STAFF} cross join t, {DEADLINE_TEXT} as deadline"
    )
}

/// Warning the agency of orders whose time is four-fifths gone (`warn_at`, kept by a trigger):
/// once per order and deadline (a new deadline, after an extension, warns again). `$1` how many
/// orders at most. The window test is written as the partial GiST index on the orders still to be
/// warned has it (`tstzrange(least(warn_at, deadline_at), deadline_at)`), so the index serves it.
static DEADLINE_WARNINGS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    sweep(
        "'deadline_warning'",
        "warned_deadline = o.deadline_at",
        "w.status in ('dispatched', 'signed', 'in_progress') and w.warn_at is not null \
         and w.warned_deadline is distinct from w.deadline_at \
         and tstzrange(least(w.warn_at, w.deadline_at), w.deadline_at) @> now()",
        "w.deadline_at",
        "",
        &to_agency_staff("deadline"),
    )
});

/// Telling the agency of orders that passed their deadline unfinished (`task_overdue`): once per
/// order and deadline (`overdue_notified_for`), not while an extension request waits for the
/// centre; `$1` how many orders at most. The tests are written as the partial index on the orders
/// still to be told has them, so the index serves the sweep.
static OVERDUE_NOTICES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    sweep(
        "'task_overdue'",
        "overdue_notified_for = o.deadline_at",
        "w.status in ('dispatched', 'signed', 'in_progress') \
         and w.overdue_notified_for is distinct from w.deadline_at \
         and w.deadline_at <= now() and w.extension_until is null",
        "w.deadline_at",
        "",
        &to_agency_staff("overdue"),
    )
});

/// Telling agencies asked to help with an order (协办) that their opinion is late
/// (`co_handling_overdue`): the requests still awaited past their `due_at`, earliest first, at
/// most `$1`, each once (`overdue_notified_at`); `{deadline}` is when the opinion was due. The
/// tests are written as the partial index on the requests still to be told has them.
static CO_HANDLING_OVERDUE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let plain = rendered(NO_NOTE);
    format!(
        "with t as (select * from notification_templates where kind = 'co_handling_overdue'), \
         due as ( \
             update work_order_co_handlers h set overdue_notified_at = now() \
             where h.work_order_co_handler_id in ( \
                 select x.work_order_co_handler_id from work_order_co_handlers x \
                 where x.answered_at is null and x.cancelled_at is null \
                   and x.overdue_notified_at is null and x.due_at <= now() \
                 order by x.due_at limit $1 \
                 for update skip locked) \
             returning h.*), \
         made as ( \
             insert into notifications (recipient, work_order_id, kind, title, body, dedupe_key) \
             select s.username, o.work_order_id, t.kind, t.title, {plain}, \
                    'co_overdue:' || h.work_order_co_handler_id || ':' || s.username \
             from due h join work_orders o on o.work_order_id = h.work_order_id \
             join staff_accounts s on s.agency_id = h.agency_id and s.role = 'agency_staff' \
              and s.disabled_at is null \
             cross join t, \
             to_char(h.due_at at time zone 'Asia/Shanghai', 'FMMM\"月\"FMDD\"日\" HH24:MI') as deadline \
             on conflict (dedupe_key) do nothing \
             returning notification_id, recipient, kind, dedupe_key, work_order_id), \
         {FAN_OUT}"
    )
});

/// Reminding citizens to rate (`citizen_rating_reminder`): the orders waiting for a rating since
/// `$2` hours or more and less than `$3` days (the rating window, still open), once per round
/// (`work_orders.rating_reminded_for`), the citizen who filed each; `$1` how many orders at most.
/// `{deadline}` is when the window closes. The tests are written as the partial index on the
/// orders still to be reminded has them, so the index serves the sweep.
static RATING_REMINDERS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let plain = rendered(NO_NOTE);
    sweep(
        "'citizen_rating_reminder'",
        "rating_reminded_for = o.awaiting_rating_since",
        "w.status = 'awaiting_rating' \
         and w.rating_reminded_for is distinct from w.awaiting_rating_since \
         and w.awaiting_rating_since <= now() - make_interval(hours => $2::int) \
         and w.awaiting_rating_since > now() - make_interval(days => $3::int)",
        "w.awaiting_rating_since",
        "",
        &format!(
            "select c.subject, o.work_order_id, t.kind, t.title, {plain}, \
                    'rating:' || o.work_order_id || ':' || extract(epoch from o.awaiting_rating_since)::bigint \
             from due o join citizens c on c.citizen_id = o.citizen_id cross join t, \
             to_char((o.awaiting_rating_since + make_interval(days => $3::int)) at time zone 'Asia/Shanghai', \
                     'FMMM\"月\"FMDD\"日\" HH24:MI') as deadline"
        ),
    )
});

/// Key supervision (重点督办) of the orders still with their agency `$2` days or more past their
/// deadline, with no extension request waiting for the centre: longest overdue first, at most
/// `$1`; each once (`key_supervised_at`, and `supervised_at` if it was not yet under
/// supervision), with its `key_supervised` event by `system` and, for it, the agency's staff told
/// as for the supervisors' action (`key_supervision`) and every supervisor
/// (`key_supervision_escalated`). The tests are written as the partial index on the orders not
/// yet escalated has them, so the index serves the sweep.
static KEY_SUPERVISION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    key_supervision(
        "key_supervision_escalated",
        "w.status in ('dispatched', 'signed', 'in_progress') and w.key_supervised_at is null \
         and w.deadline_at <= now() - make_interval(days => $2::int) and w.extension_until is null",
        "w.deadline_at",
        "'超过办结时限 ' || $2::int || ' 日仍未办结，自动列入重点督办'",
    )
});

/// Key supervision of order `$2` if it is a hot issue: with an agency, not yet under key
/// supervision, and raised by `$3` citizens or more (the one who filed it and those who follow
/// it, which the citizens of duplicates merged into it do); `$1` is 1. As for the orders long
/// overdue, but the supervisors are told why (`key_supervision_hot_issue`).
static HOT_ISSUE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    key_supervision(
        "key_supervision_hot_issue",
        "w.work_order_id = $2 and w.status in ('dispatched', 'signed', 'in_progress', 'return_requested') \
         and w.key_supervised_at is null \
         and 1 + (select count(*) from order_followers f where f.work_order_id = w.work_order_id) >= $3::int",
        "w.work_order_id",
        "'已有 ' || (1 + (select count(*) from order_followers f where f.work_order_id = o.work_order_id)) \
         || ' 位群众反映同一问题，自动列入重点督办'",
    )
});

/// A statement putting the orders `candidates` picks (first by `order`) under key supervision:
/// the mark (and `supervised_at` if not yet set), the `key_supervised` event by `system` with the
/// note `note` (an SQL expression over the order `o`), and the notices — the agency's staff as for
/// the supervisors' action (`key_supervision`), every supervisor with `to_supervisors`.
fn key_supervision(to_supervisors: &str, candidates: &str, order: &str, note: &str) -> String {
    let quoted = rendered("e.note");
    sweep(
        &format!("'key_supervision', '{to_supervisors}'"),
        "key_supervised_at = now(), supervised_at = coalesce(o.supervised_at, now()), updated_at = now()",
        candidates,
        order,
        &format!(
            "event as ( \
                 insert into work_order_events (work_order_id, event, actor, note, created_at) \
                 select o.work_order_id, 'key_supervised', 'system', {note}, now() from due o \
                 returning work_order_event_id, work_order_id, note),"
        ),
        &format!(
            "select s.username, o.work_order_id, t.kind, t.title, {quoted}, \
                    'event:' || e.work_order_event_id || ':' || t.kind || ':' || s.username \
             from due o join event e on e.work_order_id = o.work_order_id cross join t \
             join staff_accounts s on s.disabled_at is null \
              and (t.kind = 'key_supervision' and s.role = 'agency_staff' and s.agency_id = o.agency_id \
                   or t.kind = '{to_supervisors}' and s.role = 'supervisor'), \
             {DEADLINE_TEXT} as deadline"
        ),
    )
}

/// Puts order `order` under key supervision if it has become a hot issue (see `HOT_ISSUE`):
/// called in the transaction that adds a citizen to it (a follower, a merged duplicate) or
/// hands it to an agency.
pub async fn key_supervise_hot_issue(db: &Connection, order: uuid::Uuid) -> Result<(), StoreError> {
    run_sweep(
        db,
        &HOT_ISSUE,
        [
            1i64.into(),
            order.into(),
            workorder::lifecycle::HOT_ISSUE_CITIZENS.into(),
        ],
    )
    .await
}

/// Puts the orders long overdue under key supervision (see `KEY_SUPERVISION`): `after_days` past
/// their deadline; at most `limit` orders a call, longest overdue first.
pub async fn escalate_overdue(
    db: &Connection,
    limit: i64,
    after_days: i64,
) -> Result<(), StoreError> {
    run_sweep(db, &KEY_SUPERVISION, [limit.into(), after_days.into()]).await
}

/// Telling every leader and supervisor but `$3` of special report `$1` (template `$4`:
/// `special_report` when issued, `special_report_withdrawn`), `{title}` in the template being
/// `$2`: the issue's heading and title.
static SPECIAL_REPORT_NOTICES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "with t as (select * from notification_templates where kind = $4), \
         made as ( \
             insert into notifications (recipient, kind, title, body, dedupe_key, special_report_id) \
             select s.username, t.kind, t.title, \
                    replace(replace(replace(t.body, '{{title}}', $2), '{{tracking_number}}', ''), '{{deadline}}', ''), \
                    t.kind || ':' || $1 || ':' || s.username, cast($1 as bigint) \
             from t join staff_accounts s on s.role in ('leader', 'supervisor') and s.disabled_at is null \
              and s.username <> $3 \
             on conflict (dedupe_key) do nothing \
             returning notification_id, recipient, kind, dedupe_key, work_order_id), \
         {FAN_OUT}"
    )
});

/// An agency's appeal (考核申诉, `$2`) of a KPI case of order `$1` reaches every supervisor, who
/// decides it, with `$3` (the figure and the agency's reason) as the template's `{note}`.
static APPEAL_NOTICES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let quoted = rendered("$3::text");
    format!(
        "with t as (select * from notification_templates where kind = 'appeal_filed'), \
         made as ( \
             insert into notifications (recipient, work_order_id, kind, title, body, dedupe_key) \
             select s.username, o.work_order_id, t.kind, t.title, {quoted}, \
                    'appeal:' || $2 || ':' || s.username \
             from t cross join work_orders o \
             join staff_accounts s on s.role = 'supervisor' and s.disabled_at is null, \
             {DEADLINE_TEXT} as deadline \
             where o.work_order_id = $1 \
             on conflict (dedupe_key) do nothing \
             returning notification_id, recipient, kind, dedupe_key, work_order_id), \
         {FAN_OUT}"
    )
});

/// Tells the supervisors of appeal `appeal` (考核申诉) of `order`, quoting `note`, in the caller's
/// transaction.
pub async fn appeal_notices(
    db: &Connection,
    order: uuid::Uuid,
    appeal: i64,
    note: &str,
) -> Result<(), StoreError> {
    run_sweep(
        db,
        &APPEAL_NOTICES,
        [order.into(), appeal.into(), text(note)],
    )
    .await
}

/// A circular of criticism (督办通报, `$1`, named `$2`) — its issue, or its withdrawal (the
/// notice's kind, `$5`) — reaches every leader and supervisor but the one who issued or withdrew
/// it (`$3`), and the staff of every agency it names (`$4`).
static CIRCULAR_NOTICES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "with t as (select * from notification_templates where kind = $5), \
         made as ( \
             insert into notifications (recipient, kind, title, body, dedupe_key, circular_id) \
             select s.username, t.kind, t.title, \
                    replace(replace(replace(t.body, '{{title}}', $2), '{{tracking_number}}', ''), '{{deadline}}', ''), \
                    t.kind || ':' || $1 || ':' || s.username, cast($1 as bigint) \
             from t join staff_accounts s on s.disabled_at is null and s.username <> $3 \
              and (s.role in ('leader', 'supervisor') \
                   or (s.role = 'agency_staff' and s.agency_id = any($4::text[]))) \
             on conflict (dedupe_key) do nothing \
             returning notification_id, recipient, kind, dedupe_key, work_order_id), \
         {FAN_OUT}"
    )
});

/// A delivery as supervisors see it (`d`, with its notification `n`).
macro_rules! delivery_columns {
    () => {
        "d.delivery_id, d.notification_id, n.recipient, n.kind, n.title, d.channel, d.status, \
         d.attempts, d.last_error, d.next_attempt_at, d.sent_at, d.created_at, d.dedupe_key"
    };
}

/// A delivery as supervisors see it (`d`, with its notification `n`).
pub const DELIVERY_COLUMNS: &str = delivery_columns!();

/// A page of the outbox's deliveries of one status (`$1`), newest first, at most `$2`
/// (supervisors' `GET /api/v1/admin/deliveries`): through `notification_deliveries_by_status`
/// (migration 73), the page's deliveries alone.
pub const DELIVERIES: &str = concat!(
    "select ",
    delivery_columns!(),
    " from notification_deliveries d join notifications n on n.notification_id = d.notification_id \
     where d.status = $1 order by d.created_at desc, d.delivery_id desc limit $2"
);

/// A district's top-level category surges (预警) when its requests of the last 24 hours are at
/// least this many (`early_warning_floor` by default)...
pub const SURGE_FLOOR: i64 = 5;
/// ...and at least this many times its daily average over the 7 days before
/// (`early_warning_factor` by default).
pub const SURGE_FACTOR: i64 = 3;

/// Early warnings: the (top-level category, district) pairs surging now (at least `$1` requests
/// in 24 hours, and at least `$2` times the week's daily average; the requests of the last 8 days read through the BRIN index on filing time)
/// are recorded in `early_warnings` once a China day each, and every supervisor is told
/// (`early_warning`, `{title}` saying what surged), in one statement.
static EARLY_WARNINGS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "with t as (select * from notification_templates where kind = 'early_warning'), \
         counts as ( \
             select coalesce(c.parent_id, c.category_id) as category_id, o.district_id, \
                    count(*) filter (where o.created_at >= now() - interval '24 hours') as recent, \
                    count(*) filter (where o.created_at < now() - interval '24 hours') as before \
             from work_orders o join categories c on c.category_id = o.category_id \
             where o.created_at >= now() - interval '8 days' and o.created_at < now() \
               and o.district_id is not null \
             group by 1, 2), \
         warned as ( \
             insert into early_warnings (category_id, district_id, warned_on, received, received_before) \
             select category_id, district_id, (now() at time zone 'Asia/Shanghai')::date, recent, before \
             from counts where recent >= $1 and recent * 7 >= $2 * before \
             on conflict (category_id, district_id, warned_on) do nothing \
             returning early_warning_id, category_id, district_id, received, received_before), \
         made as ( \
             insert into notifications (recipient, kind, title, body, dedupe_key, early_warning_id) \
             select s.username, t.kind, t.title, \
                    replace(replace(replace(t.body, '{{title}}', \
                        d.name || c.name || '类诉求 24 小时内 ' || w.received || ' 件，前 7 日共 ' \
                        || w.received_before || ' 件'), '{{tracking_number}}', ''), '{{deadline}}', ''), \
                    'early_warning:' || w.early_warning_id || ':' || s.username, w.early_warning_id \
             from warned w join categories c on c.category_id = w.category_id \
             join districts d on d.district_id = w.district_id cross join t \
             join staff_accounts s on s.role = 'supervisor' and s.disabled_at is null \
             on conflict (dedupe_key) do nothing \
             returning notification_id, recipient, kind, dedupe_key, work_order_id), \
         {FAN_OUT}"
    )
});

/// Raises the early warnings due now (see `EARLY_WARNINGS`): a pair surges when its requests of
/// the last 24 hours are at least `floor` and at least `factor` times its daily average over the
/// 7 days before.
pub async fn raise_early_warnings(
    db: &Connection,
    floor: i64,
    factor: i64,
) -> Result<(), StoreError> {
    run_sweep(db, &EARLY_WARNINGS, [floor.into(), factor.into()]).await
}

/// Tells the city's leaders and supervisors (all but `actor`) of special report `id` with
/// template `kind` (`special_report`, `special_report_withdrawn`), `title` its heading and title,
/// in the caller's transaction.
pub async fn special_report_notices(
    db: &Connection,
    id: i64,
    kind: &str,
    title: &str,
    actor: &str,
) -> Result<(), StoreError> {
    run_sweep(
        db,
        &SPECIAL_REPORT_NOTICES,
        [id.into(), text(title), text(actor), text(kind)],
    )
    .await
}

/// Tells of circular `id` (named `title` as notices say it; issued, or withdrawn, by `actor`)
/// those it concerns (see `CIRCULAR_NOTICES`) with notices of `kind` (`circular`,
/// `circular_withdrawn`), in the caller's transaction.
pub async fn circular_notices(
    db: &Connection,
    id: i64,
    kind: &str,
    title: &str,
    actor: &str,
    agencies: &[String],
) -> Result<(), StoreError> {
    let agencies: Vec<Option<String>> = agencies.iter().cloned().map(Some).collect();
    run_sweep(
        db,
        &CIRCULAR_NOTICES,
        [
            id.into(),
            text(title),
            text(actor),
            agencies.into(),
            text(kind),
        ],
    )
    .await
}

/// The statement [`record_event`] runs (for the benchmark's pgbench script, which runs the
/// platform's own SQL).
pub fn record_statement() -> &'static str {
    RECORD.as_str()
}

/// Records one history event of an order by `actor` at `at`, with the notifications it calls for.
pub async fn record_event(
    db: &Connection,
    order: uuid::Uuid,
    event: &Event,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let kinds: Vec<Option<String>> = notification_kinds(event.code)
        .iter()
        .map(|kind| Some((*kind).to_owned()))
        .collect();
    db.query(
        RECORD.as_str(),
        [
            order.into(),
            text(event.code),
            text(actor),
            event.note.clone().into(),
            time(event.previous_deadline),
            at.naive_utc().into(),
            kinds.into(),
            event.agency.clone().into(),
        ],
    )
    .await?
    .collect()
    .await?;
    Ok(())
}

/// The statement [`warn_of_deadlines`] runs (for the benchmark's pgbench script).
pub fn deadline_warnings_statement() -> &'static str {
    DEADLINE_WARNINGS.as_str()
}

/// Warns agencies of orders near their deadline (see `DEADLINE_WARNINGS`); at most `limit`
/// orders a call, soonest deadline first.
pub async fn warn_of_deadlines(db: &Connection, limit: i64) -> Result<(), StoreError> {
    run_sweep(db, &DEADLINE_WARNINGS, [limit.into()]).await
}

/// Tells agencies of their orders that passed the deadline unfinished (see `OVERDUE_NOTICES`); at
/// most `limit` orders a call, longest overdue first.
pub async fn notify_overdue(db: &Connection, limit: i64) -> Result<(), StoreError> {
    run_sweep(db, &OVERDUE_NOTICES, [limit.into()]).await
}

/// Tells agencies asked to help with an order that their opinion is late (see
/// `CO_HANDLING_OVERDUE`); at most `limit` requests a call, the longest late first.
pub async fn notify_co_handling_overdue(db: &Connection, limit: i64) -> Result<(), StoreError> {
    run_sweep(db, &CO_HANDLING_OVERDUE, [limit.into()]).await
}

/// Reminds citizens who have not rated a reply (see `RATING_REMINDERS`): `after_hours` after it
/// passed audit, while the `window_days` to rate are not over; at most `limit` orders a call,
/// longest-waiting first.
pub async fn remind_to_rate(
    db: &Connection,
    limit: i64,
    after_hours: i64,
    window_days: i64,
) -> Result<(), StoreError> {
    run_sweep(
        db,
        &RATING_REMINDERS,
        [limit.into(), after_hours.into(), window_days.into()],
    )
    .await
}

/// Runs one of the sweeps' statements to the end.
async fn run_sweep(
    db: &Connection,
    statement: &str,
    params: impl Into<Vec<spin_sdk::pg::ParameterValue>>,
) -> Result<(), StoreError> {
    db.query(statement, params).await?.collect().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_notifies_the_channel_the_deliverer_listens_on() {
        assert!(FAN_OUT.contains(&format!("pg_notify('{QUEUED_CHANNEL}'")));
    }

    #[test]
    fn events_people_must_hear_of_have_kinds() {
        assert_eq!(
            notification_kinds("dispatched"),
            ["task_new", "citizen_dispatched"]
        );
        assert!(notification_kinds("signed").is_empty());
    }
}
