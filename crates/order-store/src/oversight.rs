//! The supervision component's SQL: the board of open orders and the requests of a period. The
//! bench runs the same statements under pgbench.

/// The orders an agency holds, whose deadline runs (`o` the order).
pub const OPEN: &str = "o.status in ('dispatched', 'signed', 'in_progress', 'return_requested')";

/// A group's counts, at `$1` (the database's time of the request).
const COUNTS: &str = "count(*) as open, \
    count(*) filter (where o.deadline_at <= $1) as overdue, \
    count(*) filter (where o.deadline_at > $1 and o.deadline_at <= $1 + interval '24 hours') as due_soon, \
    count(*) filter (where o.urgent) as urgent, \
    count(*) filter (where o.supervised_at is not null) as supervised, \
    count(*) filter (where o.status = 'return_requested') as return_requested, \
    min(o.deadline_at) filter (where o.deadline_at <= $1) as overdue_since";

/// The board's statement by `group_by` (`agency` or `district`; `None` for anything else):
/// `code, name` and the counts of each group with open orders at `$1`, most overdue first.
pub fn board_sql(group_by: &str) -> Option<String> {
    let groups = match group_by {
        "agency" => format!(
            "select o.agency_id as code, a.name, {COUNTS} \
             from work_orders o join agencies a on a.agency_id = o.agency_id \
             where {OPEN} group by o.agency_id, a.name"
        ),
        "district" => format!(
            "select coalesce(o.district_id, 'unknown') as code, coalesce(d.name, '未填区域') as name, {COUNTS} \
             from work_orders o left join districts d on d.district_id = o.district_id \
             where {OPEN} group by 1, 2"
        ),
        _ => return None,
    };
    Some(format!("{groups} order by overdue desc, open desc, code"))
}

/// The orders waiting for the centre to dispatch them (`waiting`).
pub const WAITING_DISPATCH: &str =
    "select count(*) as waiting from work_orders where status = 'received'";

/// The names of the top-level categories and of the districts (`kind, code, name`).
pub const GROUP_NAMES: &str = "select 'category' as kind, category_id as code, name from categories \
     where parent_id is null union all select 'district', district_id, name from districts";

/// The requests filed in [$1, $3), counted by whether they are of the period [$2, $3)
/// (`current`), channel, top-level category, district (`unknown` for none) and status (`n`).
pub const RECEIVED: &str = "select o.created_at >= $2 as current, o.channel, \
        coalesce(c.parent_id, c.category_id) as category, \
        coalesce(o.district_id, 'unknown') as district, o.status, count(*) as n \
     from work_orders o join categories c on c.category_id = o.category_id \
     where o.created_at >= $1 and o.created_at < $3 \
     group by 1, 2, 3, 4, 5";
