//! The KPIs' SQL: the cases of a period, and their counts per group. The `rating` component
//! serves them; the bench runs the same statement under pgbench.

/// Hours an ordinary order's agency has from dispatch to sign it and call the citizen (the fast
/// channel's own limit, 30 minutes, is the order's `contact_due_at`).
pub const RESPONSE_HOURS: i64 = 24;

/// The cases of the period [$1, $2): `kpi, work_order_id, round, group_key, counted, good,
/// rated_at`, grouped by the SQL expression `key` over the order `o` (its `agency_id`,
/// `district_id`, `category_id` and `channel`) and its category `cat`. `counted`: in the
/// denominator; `good`: in the numerator (only counted cases are). A rating's `o` is the copy of
/// its order's group columns it carries (kept equal by triggers), not a lookup of the order.
pub fn cases_sql(key: &str) -> String {
    format!(
        "with cases as ( \
           select 'on_time_completion'::text as kpi, o.work_order_id, 0 as round, {key} as group_key, \
                  done.is_done or o.deadline_at <= now() as counted, \
                  done.is_done and o.replied_at <= o.deadline_at as good, \
                  null::timestamptz as rated_at \
           from work_orders o join categories cat on cat.category_id = o.category_id, \
                lateral (select o.replied_at is not null \
                           and o.status in ('replied', 'awaiting_rating', 'redo_requested', 'archived') as is_done) done \
           where o.dispatched_at is not null and o.deadline_at >= $1 and o.deadline_at < $2 \
           union all \
           select 'response', o.work_order_id, 0, {key}, \
                  o.contacted_at is not null or due.at <= now(), \
                  o.contacted_at is not null and o.contacted_at <= due.at, \
                  null \
           from work_orders o join categories cat on cat.category_id = o.category_id, \
                lateral (select coalesce(o.contact_due_at, o.dispatched_at + interval '{RESPONSE_HOURS} hours') as at) due \
           where o.dispatched_at >= $1 and o.dispatched_at < $2 \
           union all \
           select k.kpi, r.work_order_id, r.round, {key}, true, \
                  case k.kpi when 'satisfaction' then r.satisfaction in ('satisfied', 'basically_satisfied') \
                             else r.solved = 'yes' end, \
                  r.created_at \
           from ratings r \
                cross join lateral (select r.order_agency_id as agency_id, r.order_district_id as district_id, \
                                           r.order_category_id as category_id, r.order_channel as channel) o \
                join categories cat on cat.category_id = o.category_id \
                cross join (values ('resolution'), ('satisfaction')) k(kpi) \
           where r.created_at >= $1 and r.created_at < $2 \
           union all \
           select k.kpi, e.work_order_id, o.redo_count + 1, {key}, false, false, e.created_at \
           from work_order_events e join work_orders o on o.work_order_id = e.work_order_id \
                join categories cat on cat.category_id = o.category_id \
                cross join (values ('resolution'), ('satisfaction')) k(kpi) \
           where e.event = 'not_reached_archived' and e.created_at >= $1 and e.created_at < $2 \
         )"
    )
}

/// The counts per figure and group of the period [$1, $2): `kpi, group_key, numerator,
/// denominator, excluded`.
pub fn report_sql(key: &str) -> String {
    format!(
        "{} select kpi, group_key, \
                count(*) filter (where counted and good) as numerator, \
                count(*) filter (where counted) as denominator, \
                count(*) filter (where not counted) as excluded \
         from cases group by kpi, group_key",
        cases_sql(key)
    )
}
