//! The KPIs' SQL: the cases of a period, and their counts per group. The `rating` component
//! serves them, the `supervision` component's period reports give the city's; the bench runs the
//! same statement under pgbench.

use crate::StoreError;
use crate::db::Row;
use mobile_api::{Kpi, KpiGroup, Rank};
use std::collections::BTreeMap;

/// The figures, in the order every report gives them.
pub const KPIS: [&str; 5] = [
    "on_time_completion",
    "response",
    "resolution",
    "satisfaction",
    "co_handling_on_time",
];

/// The counts of one figure for one group.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Counts {
    pub numerator: u64,
    pub denominator: u64,
    pub excluded: u64,
    /// Of the excluded, those an approved appeal took out (考核申诉).
    pub appealed: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.numerator += other.numerator;
        self.denominator += other.denominator;
        self.excluded += other.excluded;
        self.appealed += other.appealed;
    }

    /// Whether this rate is strictly better than `other`'s (exact, in integers).
    pub fn better_than(self, other: Counts) -> bool {
        u128::from(self.numerator) * u128::from(other.denominator)
            > u128::from(other.numerator) * u128::from(self.denominator)
    }

    /// The figure as the API gives it: the rate (null over no cases) with its counts.
    pub fn kpi(self, rank: Option<Rank>) -> Kpi {
        let rate = (self.denominator > 0).then(|| self.numerator as f64 / self.denominator as f64);
        Kpi {
            numerator: self.numerator,
            denominator: self.denominator,
            rate: rate.map(|r| (r * 10_000.0).round() / 10_000.0),
            display: match rate {
                Some(r) => format!("{:.2}%", r * 100.0),
                None => "无数据".into(),
            },
            excluded: self.excluded,
            appealed: self.appealed,
            rank,
        }
    }
}

/// A group's figures, in the order of [`KPIS`].
pub type Figures = [Counts; KPIS.len()];

/// One group's figures as the API gives them, with each figure's rank (when ranked).
pub fn kpi_group(
    key: &str,
    name: String,
    figures: &Figures,
    ranks: [Option<Rank>; KPIS.len()],
) -> KpiGroup {
    let [on_time, response, resolution, satisfaction, co_handling] = *figures;
    let [r0, r1, r2, r3, r4] = ranks;
    KpiGroup {
        key: key.to_owned(),
        name,
        on_time_completion: on_time.kpi(r0),
        response: response.kpi(r1),
        resolution: resolution.kpi(r2),
        satisfaction: satisfaction.kpi(r3),
        co_handling_on_time: co_handling.kpi(r4),
    }
}

/// The rows of [`report_sql`], by group key.
pub fn figures_by_group(rows: &[Row]) -> Result<BTreeMap<String, Figures>, StoreError> {
    let mut groups: BTreeMap<String, Figures> = BTreeMap::new();
    for row in rows {
        let kpi: String = crate::required(row, "kpi")?;
        let Some(index) = KPIS.iter().position(|k| *k == kpi) else {
            return Err(StoreError::Internal(format!("unknown kpi {kpi}")));
        };
        let count = |column: &str| -> Result<u64, StoreError> {
            Ok(u64::try_from(crate::required::<i64>(row, column)?).unwrap_or(0))
        };
        groups
            .entry(crate::required(row, "group_key")?)
            .or_default()[index] = Counts {
            numerator: count("numerator")?,
            denominator: count("denominator")?,
            excluded: count("excluded")?,
            appealed: count("appealed")?,
        };
    }
    Ok(groups)
}

/// The figures of all the groups together (every case is in exactly one group).
pub fn total(groups: &BTreeMap<String, Figures>) -> Figures {
    let mut total = Figures::default();
    for figures in groups.values() {
        for (sum, counts) in total.iter_mut().zip(figures) {
            sum.add(*counts);
        }
    }
    total
}

/// Hours an ordinary order's agency has from dispatch to sign it and call the citizen (the fast
/// channel's own limit, 30 minutes, is the order's `contact_due_at`).
pub const RESPONSE_HOURS: i64 = 24;

/// Whether the order `o` is done for the on-time completion rate: replied, and the reply not sent
/// back by the audit.
pub const DONE_SQL: &str = "o.replied_at is not null \
     and o.status in ('replied', 'awaiting_rating', 'redo_requested', 'archived')";

/// When the order `o`'s agency was to contact the citizen by, for the response rate.
pub fn response_due_sql() -> String {
    format!("coalesce(o.contact_due_at, o.dispatched_at + interval '{RESPONSE_HOURS} hours')")
}

/// A request for help `h`'s number on its order (1 for the first asked, those taken back
/// included): its round, in the co-handling cases and in their appeals.
pub const CO_HANDLING_ROUND_SQL: &str = "(select count(*) from work_order_co_handlers n \
     where n.work_order_id = h.work_order_id \
       and n.work_order_co_handler_id <= h.work_order_co_handler_id)::int";

/// The cases of the period [$1, $2): `kpi, work_order_id, round, group_key, counted, good,
/// rated_at, co_handler_id, appeal_id`, grouped by the SQL expression `key` over the order `o`
/// (its `agency_id`, `district_id`, `category_id` and `channel`) and its category `cat`.
/// `counted`: in the denominator; `good`: in the numerator (only counted cases are). A rating's
/// `o` is the copy of its order's group columns it carries (kept equal by triggers), not a lookup
/// of the order. A request for help (协办) is a case of the agency asked (its `o.agency_id`),
/// numbered on its order as `round` (1 for the first asked) and named by `co_handler_id`; one the
/// centre took back is none. A case an approved appeal (考核申诉, `kpi_appeals`) names is not
/// counted, and `appeal_id` names the appeal: by its order, figure and round, the agency that
/// holds it, and for the on-time rate its deadline, for the response rate its dispatch (a new
/// deadline or dispatch is a new case, which the appeal does not cover); a request for help's,
/// by the request and its due time.
pub fn cases_sql(key: &str) -> String {
    // Joined, not looked up a case: a hash of the few approved appeals against a period's cases.
    // (A subquery in `counted` was planned as a scan of the appeals a case.) Their key is unique
    // (`kpi_appeals_one_a_case`), so a case finds at most one.
    let appealed = |order: &str, round: &str, kpi: &str, moment: &str| {
        format!(
            "left join kpi_appeals ap on ap.work_order_id = {order} and ap.round = {round} \
             and ap.kpi = {kpi} and ap.agency_id = o.agency_id {moment} and ap.decision = 'approved'"
        )
    };
    let on_time = appealed(
        "o.work_order_id",
        "0",
        "'on_time_completion'",
        "and ap.deadline_at = o.deadline_at",
    );
    let response = appealed(
        "o.work_order_id",
        "0",
        "'response'",
        "and ap.dispatched_at = o.dispatched_at",
    );
    let rating = appealed("r.work_order_id", "r.round", "k.kpi", "");
    let response_due = response_due_sql();
    format!(
        "with cases as ( \
           select 'on_time_completion'::text as kpi, o.work_order_id, 0 as round, {key} as group_key, \
                  (done.is_done or o.deadline_at <= now()) and ap.kpi_appeal_id is null as counted, \
                  done.is_done and o.replied_at <= o.deadline_at as good, \
                  null::timestamptz as rated_at, null::bigint as co_handler_id, ap.kpi_appeal_id as appeal_id \
           from work_orders o join categories cat on cat.category_id = o.category_id {on_time}, \
                lateral (select {DONE_SQL} as is_done) done \
           where o.dispatched_at is not null and o.deadline_at >= $1 and o.deadline_at < $2 \
           union all \
           select 'response', o.work_order_id, 0, {key}, \
                  (o.contacted_at is not null or due.at <= now()) and ap.kpi_appeal_id is null, \
                  o.contacted_at is not null and o.contacted_at <= due.at, \
                  null, null, ap.kpi_appeal_id \
           from work_orders o join categories cat on cat.category_id = o.category_id {response}, \
                lateral (select {response_due} as at) due \
           where o.dispatched_at >= $1 and o.dispatched_at < $2 \
           union all \
           select k.kpi, r.work_order_id, r.round, {key}, ap.kpi_appeal_id is null, \
                  case k.kpi when 'satisfaction' then r.satisfaction in ('satisfied', 'basically_satisfied') \
                             else r.solved = 'yes' end, \
                  r.created_at, null, ap.kpi_appeal_id \
           from ratings r \
                cross join lateral (select r.order_agency_id as agency_id, r.order_district_id as district_id, \
                                           r.order_category_id as category_id, r.order_channel as channel) o \
                join categories cat on cat.category_id = o.category_id \
                cross join (values ('resolution'), ('satisfaction')) k(kpi) {rating} \
           where r.created_at >= $1 and r.created_at < $2 \
           union all \
           select k.kpi, e.work_order_id, o.redo_count + 1, {key}, false, false, e.created_at, null, null \
           from work_order_events e join work_orders o on o.work_order_id = e.work_order_id \
                join categories cat on cat.category_id = o.category_id \
                cross join (values ('resolution'), ('satisfaction')) k(kpi) \
           where e.event = 'not_reached_archived' and e.created_at >= $1 and e.created_at < $2 \
           union all \
           select 'co_handling_on_time', h.work_order_id, {CO_HANDLING_ROUND_SQL}, {key}, \
                  (h.answered_at is not null or h.due_at <= now()) and ap.kpi_appeal_id is null, \
                  h.answered_at is not null and h.answered_at <= h.due_at, \
                  null, h.work_order_co_handler_id, ap.kpi_appeal_id \
           from work_order_co_handlers h join work_orders w on w.work_order_id = h.work_order_id \
                cross join lateral (select h.agency_id, w.district_id, w.category_id, w.channel) o \
                join categories cat on cat.category_id = o.category_id \
                left join kpi_appeals ap on ap.co_handler_id = h.work_order_co_handler_id \
                     and ap.deadline_at = h.due_at and ap.decision = 'approved' \
           where h.cancelled_at is null and h.due_at >= $1 and h.due_at < $2 \
         )"
    )
}

/// The counts per figure and group of the period [$1, $2): `kpi, group_key, numerator,
/// denominator, excluded`, and of the excluded those an approved appeal took out (`appealed`).
pub fn report_sql(key: &str) -> String {
    format!(
        "{} select kpi, group_key, \
                count(*) filter (where counted and good) as numerator, \
                count(*) filter (where counted) as denominator, \
                count(*) filter (where not counted) as excluded, \
                count(*) filter (where appeal_id is not null) as appealed \
         from cases group by kpi, group_key",
        cases_sql(key)
    )
}
