//! The hotline's KPIs, computed exactly from the orders and explained beside each figure.
//!
//! Every figure is `numerator ÷ denominator` over *cases*: an order for the on-time completion
//! and response rates, a rating (one per round) for the satisfaction and resolution rates. One
//! statement lists the cases of a period with whether each counts in the numerator and in the
//! denominator; the report counts them per group and the drill-down lists them, so the figures
//! and the orders behind them cannot disagree. A rate over no cases is "no data" (null).

use crate::error::ApiError;
use api_plumbing::{Principal, Reply, field_error, query_param};
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use mobile_api::{FieldError, KpiCase, KpiCaseList, KpiDefinition, KpiReport, Rank};
use order_store::db::Connection;
use order_store::kpis::{Counts, Figures, KPIS, kpi_group};
use order_store::{named, required, text, utc};
use spin_sdk::http::StatusCode;
use spin_sdk::pg::ParameterValue;
use std::collections::BTreeMap;

/// The longest period one report covers.
const MAX_DAYS: i64 = 366;

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 500;

fn definitions() -> Vec<KpiDefinition> {
    let define = |kpi: &str,
                  name: &str,
                  formula: &str,
                  numerator: &str,
                  denominator: &str,
                  excluded: &str| {
        KpiDefinition {
            kpi: kpi.into(),
            name: name.into(),
            formula: formula.into(),
            numerator: numerator.into(),
            denominator: denominator.into(),
            excluded: excluded.into(),
        }
    };
    vec![
        define(
            "on_time_completion",
            "按期办结率",
            "按期办结率 = 按期办结工单数 ÷ 期内到期工单数 × 100%",
            "期限（含批准的延期和重办期限）在统计期内、且在期限前答复办结的工单数",
            "期限在统计期内、已答复办结或已过期限的工单数（仍在办理且已过期限的计为超期，不会被忽略）",
            "期限在统计期内、尚未到期也尚未办结的工单，到期或办结后计入；承办单位考核申诉经审核通过的工单，不计入",
        ),
        define(
            "response",
            "响应率",
            "响应率 = 及时响应工单数 ÷ 期内派单工单数 × 100%",
            "签收并在时限内联系市民的工单数（自派单起：加急件 30 分钟，其他 24 小时）",
            "统计期内派单、已联系市民或已过联系时限的工单数",
            "尚未联系市民、联系时限也未到的工单，联系或到时后计入；承办单位考核申诉经审核通过的工单，不计入",
        ),
        define(
            "resolution",
            "解决率",
            "解决率 = 问题已解决的评价数 ÷ 评价数 × 100%",
            "市民表示问题已解决的评价数（部分解决不计入）",
            "统计期内的评价数：市民在 App、小程序评价或电话回访接通，每轮办理（含重办）一次",
            "多次回访未能联系到市民、未评价即归档的工单，以及承办单位考核申诉经审核通过的评价，不计入",
        ),
        define(
            "satisfaction",
            "满意率",
            "满意率 = （满意 + 基本满意）评价数 ÷ 评价数 × 100%",
            "评价为满意或基本满意的评价数",
            "统计期内的评价数：市民在 App、小程序评价或电话回访接通，每轮办理（含重办）一次",
            "多次回访未能联系到市民、未评价即归档的工单，以及承办单位考核申诉经审核通过的评价，不计入",
        ),
        define(
            "co_handling_on_time",
            "协办按时反馈率",
            "协办按时反馈率 = 按时反馈的协办请求数 ÷ 期内到期的协办请求数 × 100%",
            "答复期限在统计期内、且在期限前提出协办意见的协办请求数（按被请求协办的单位统计）",
            "答复期限在统计期内、已提出意见或已过期限的协办请求数（已过期限仍未反馈的计为超期）",
            "答复期限在统计期内、尚未到期也未提出意见的协办请求，反馈或到期后计入；热线中心取消的协办请求不计入",
        ),
    ]
}

/// How the cases are grouped.
#[derive(Debug, Clone, Copy, PartialEq)]
enum GroupBy {
    City,
    Agency,
    District,
    Category,
    Channel,
}

impl GroupBy {
    fn parse(raw: Option<&str>) -> Result<GroupBy, FieldError> {
        Ok(match raw {
            None | Some("") => GroupBy::City,
            Some("agency") => GroupBy::Agency,
            Some("district") => GroupBy::District,
            Some("category") => GroupBy::Category,
            Some("channel") => GroupBy::Channel,
            Some(_) => {
                return Err(field_error(
                    "group_by",
                    "invalid_value",
                    "应为 agency、district、category 或 channel",
                ));
            }
        })
    }

    fn code(self) -> Option<&'static str> {
        match self {
            GroupBy::City => None,
            GroupBy::Agency => Some("agency"),
            GroupBy::District => Some("district"),
            GroupBy::Category => Some("category"),
            GroupBy::Channel => Some("channel"),
        }
    }

    /// The group of the order `o` (with its category `cat`), as SQL. Categories group under
    /// their top level; an order with no district (no place given) is in the group ''.
    fn key_sql(self) -> &'static str {
        match self {
            GroupBy::City => "'city'",
            GroupBy::Agency => "coalesce(o.agency_id, '')",
            GroupBy::District => "coalesce(o.district_id, '')",
            GroupBy::Category => "coalesce(cat.parent_id, cat.category_id)",
            GroupBy::Channel => "o.channel",
        }
    }
}

/// The period asked for: `from` and `to` are days in China Standard Time, both included. By
/// default, this month so far.
struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

impl Period {
    fn parse(query: &str, now: DateTime<Utc>) -> Result<Period, Vec<FieldError>> {
        let today = workorder::china_today(now);
        let day = |name: &str| -> Result<Option<NaiveDate>, FieldError> {
            query_param(query, name)
                .filter(|v| !v.is_empty())
                .map(|v| api_plumbing::parse_date(name, v))
                .transpose()
        };
        let (from, to) = (day("from"), day("to"));
        let problems: Vec<FieldError> = [&from, &to]
            .into_iter()
            .filter_map(|r| r.as_ref().err().cloned())
            .collect();
        if !problems.is_empty() {
            return Err(problems);
        }
        let to = to.ok().flatten().unwrap_or(today);
        let from = from
            .ok()
            .flatten()
            .unwrap_or_else(|| to.with_day(1).unwrap_or(to));
        if from > to {
            return Err(vec![field_error(
                "to",
                "before_from",
                "结束日期不能早于开始日期 (to is before from)",
            )]);
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(vec![field_error(
                "to",
                "period_too_long",
                format!("统计期最长 {MAX_DAYS} 天 (at most {MAX_DAYS} days)"),
            )]);
        }
        Ok(Period { from, to })
    }

    /// [start, end) as UTC times, the parameters $1 and $2.
    fn bounds(&self) -> [ParameterValue; 2] {
        let midnight = |day: NaiveDate| workorder::china_midnight(day).into();
        [midnight(self.from), midnight(self.to + TimeDelta::days(1))]
    }
}

/// Who asks decides what they may see: agency staff their own agency, by agency.
fn scope(principal: &Principal, group_by: GroupBy) -> Result<Option<String>, ApiError> {
    if principal.role != "agency_staff" {
        return Ok(None);
    }
    if !matches!(group_by, GroupBy::Agency | GroupBy::City) {
        return Err(ApiError::Forbidden);
    }
    principal
        .agency
        .clone()
        .map(Some)
        .ok_or(ApiError::Forbidden)
}

/// `GET /api/v1/stats/kpis?from=&to=&group_by=`.
pub async fn report(principal: &Principal, query: &str) -> Result<Reply, ApiError> {
    let group_by = GroupBy::parse(query_param(query, "group_by"))
        .map_err(|problem| ApiError::Validation(vec![problem]))?;
    let own_agency = scope(principal, group_by)?;
    // An agency's staff see their agency among all agencies: ranked.
    let group_by = if own_agency.is_some() {
        GroupBy::Agency
    } else {
        group_by
    };
    let db = api_plumbing::connect().await?;
    let now = order_store::now(&db).await?;
    let period = Period::parse(query, now).map_err(ApiError::Validation)?;
    let rows = db
        .query(
            order_store::kpis::report_sql(group_by.key_sql()),
            period.bounds(),
        )
        .await?
        .collect()
        .await?;
    let mut groups = order_store::kpis::figures_by_group(&rows)?;
    let total = order_store::kpis::total(&groups);
    if let Some(own) = &own_agency {
        groups.entry(own.clone()).or_default();
    }
    let names = group_names(&db, group_by).await?;
    let ranked = group_by == GroupBy::Agency;
    let mut out = Vec::new();
    for (key, figures) in &groups {
        if own_agency.as_ref().is_some_and(|own| own != key) {
            continue;
        }
        let ranks: [Option<Rank>; KPIS.len()] = std::array::from_fn(|i| {
            (ranked && !key.is_empty())
                .then(|| rank(&groups, key, i))
                .flatten()
        });
        out.push(kpi_group(
            key,
            name_of(group_by, &names, key),
            figures,
            ranks,
        ));
    }
    let report = KpiReport {
        from: period.from,
        to: period.to,
        group_by: group_by.code().map(str::to_owned),
        computed_at: now,
        definitions: definitions(),
        total: kpi_group("city", "全市".into(), &total, Default::default()),
        groups: if group_by == GroupBy::City {
            Vec::new()
        } else {
            out
        },
    };
    Ok(api_plumbing::reply_with(StatusCode::OK, &report))
}

/// The place of `key` among the agencies with data for figure `index`: 1 plus those strictly
/// better (equal rates share a place).
fn rank(groups: &BTreeMap<String, Figures>, key: &str, index: usize) -> Option<Rank> {
    let mine = groups.get(key)?[index];
    if mine.denominator == 0 {
        return None;
    }
    let with_data: Vec<Counts> = groups
        .iter()
        .filter(|(k, f)| !k.is_empty() && f[index].denominator > 0)
        .map(|(_, f)| f[index])
        .collect();
    let better = with_data.iter().filter(|c| c.better_than(mine)).count();
    Some(Rank {
        position: u32::try_from(better + 1).unwrap_or(u32::MAX),
        of: u32::try_from(with_data.len()).unwrap_or(u32::MAX),
    })
}

/// The names of the groups, by key.
async fn group_names(
    db: &Connection,
    group_by: GroupBy,
) -> Result<BTreeMap<String, String>, ApiError> {
    let sql = match group_by {
        GroupBy::Agency => "select agency_id as key, name from agencies",
        GroupBy::District => "select district_id as key, name from districts",
        GroupBy::Category => {
            "select category_id as key, name from categories where parent_id is null"
        }
        GroupBy::City | GroupBy::Channel => return Ok(BTreeMap::new()),
    };
    let rows = db.query(sql, []).await?.collect().await?;
    rows.iter()
        .map(|row| Ok((required(row, "key")?, required(row, "name")?)))
        .collect()
}

fn name_of(group_by: GroupBy, names: &BTreeMap<String, String>, key: &str) -> String {
    match (group_by, key) {
        (GroupBy::Channel, channel) => workorder::channel_label(channel).to_owned(),
        (GroupBy::Agency, "") => "未派单".into(),
        (GroupBy::District, "") => "未定位".into(),
        _ => names.get(key).cloned().unwrap_or_else(|| key.to_owned()),
    }
}

/// `GET /api/v1/stats/kpis/orders?kpi=&part=&from=&to=&group_by=&group=&cursor=&limit=`: the
/// cases behind one figure, by tracking number.
pub async fn cases(principal: &Principal, query: &str) -> Result<Reply, ApiError> {
    let mut problems = Vec::new();
    let kpi = query_param(query, "kpi").unwrap_or_default();
    if !KPIS.contains(&kpi) {
        problems.push(field_error(
            "kpi",
            "invalid_value",
            "应为 on_time_completion、response、resolution、satisfaction 或 co_handling_on_time",
        ));
    }
    let part = query_param(query, "part").unwrap_or("all");
    if !["all", "numerator", "denominator", "excluded", "appealed"].contains(&part) {
        problems.push(field_error(
            "part",
            "invalid_value",
            "应为 numerator、denominator、excluded、appealed 或 all",
        ));
    }
    let group_by = GroupBy::parse(query_param(query, "group_by")).map_err(|p| vec![p]);
    let limit = api_plumbing::page_limit(query, DEFAULT_PAGE, MAX_PAGE);
    if let Err(problem) = &limit {
        problems.push(problem.clone());
    }
    let group_by = match group_by {
        Ok(group_by) => group_by,
        Err(mut p) => {
            problems.append(&mut p);
            GroupBy::City
        }
    };
    let group = query_param(query, "group").filter(|g| !g.is_empty());
    if group.is_some() && group_by == GroupBy::City {
        problems.push(field_error(
            "group",
            "needs_group_by",
            "按 group 查询时须给出 group_by (group needs group_by)",
        ));
    }
    let db = api_plumbing::connect().await?;
    let now = order_store::now(&db).await?;
    let (period, limit) = match (Period::parse(query, now), limit) {
        (Ok(period), Ok(limit)) if problems.is_empty() => (period, limit),
        (period, _) => {
            problems.extend(period.err().unwrap_or_default());
            return Err(ApiError::Validation(problems));
        }
    };
    // Agency staff see the cases of their own agency only.
    let (group_by, group) = match scope(principal, group_by)? {
        Some(own) => {
            if group.is_some_and(|g| g != own) {
                return Err(ApiError::Forbidden);
            }
            (GroupBy::Agency, Some(own))
        }
        None => (group_by, group.map(str::to_owned)),
    };
    let cursor = query_param(query, "cursor")
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.rsplit_once('.')
                .and_then(|(number, round)| Some((number.to_owned(), round.parse::<i32>().ok()?)))
                .ok_or(ApiError::InvalidCursor)
        })
        .transpose()?;
    let (after_number, after_round) = cursor.unwrap_or_default();
    let [from, to] = period.bounds();
    let group_filter = if group.is_some() {
        "c.group_key = $4"
    } else {
        "$4::text is null"
    };
    let rows = db
        .query(
            format!(
                "{} select c.work_order_id, c.round, c.counted and c.good as in_numerator, c.counted as in_denominator, \
                        c.rated_at, o.tracking_number, o.title, o.status, o.agency_id, a.name as agency_name, \
                        o.dispatched_at, o.deadline_at, o.replied_at, o.contacted_at, \
                        case when c.kpi = 'response' then {response_due} end as response_due_at, \
                        r.satisfaction, r.solved, c.co_handler_id, c.appeal_id, {co_handling} \
                 from cases c join work_orders o on o.work_order_id = c.work_order_id \
                 left join agencies a on a.agency_id = o.agency_id \
                 left join ratings r on r.work_order_id = c.work_order_id and r.round = c.round \
                  and c.kpi in ('resolution', 'satisfaction') \
                 left join work_order_co_handlers h on h.work_order_co_handler_id = c.co_handler_id \
                 left join agencies ca on ca.agency_id = h.agency_id \
                 where c.kpi = $3 and {group_filter} \
                   and case $5 when 'numerator' then c.counted and c.good \
                               when 'denominator' then c.counted \
                               when 'excluded' then not c.counted \
                               when 'appealed' then c.appeal_id is not null else true end \
                   and (o.tracking_number, c.round) > ($6, $7) \
                 order by o.tracking_number, c.round limit $8",
                order_store::kpis::cases_sql(group_by.key_sql()),
                response_due = order_store::kpis::response_due_sql(),
                co_handling = order_store::CO_HANDLING_COLUMNS,
            ),
            [
                from,
                to,
                text(kpi),
                group.clone().into(),
                text(part),
                text(after_number),
                after_round.into(),
                (i64::from(limit) + 1).into(),
            ],
        )
        .await?
        .collect()
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let round: i32 = required(row, "round")?;
        let agency = named(row, "agency_id", "agency_name");
        items.push(KpiCase {
            id: required(row, "work_order_id")?,
            tracking_number: required(row, "tracking_number")?,
            title: required(row, "title")?,
            status: required(row, "status")?,
            agency,
            in_numerator: required(row, "in_numerator")?,
            in_denominator: required(row, "in_denominator")?,
            dispatched_at: utc(row, "dispatched_at"),
            deadline_at: utc(row, "deadline_at"),
            replied_at: utc(row, "replied_at"),
            response_due_at: utc(row, "response_due_at"),
            contacted_at: utc(row, "contacted_at"),
            round: u32::try_from(round).ok().filter(|r| *r > 0),
            satisfaction: row.get("satisfaction"),
            solved: row.get("solved"),
            rated_at: utc(row, "rated_at"),
            co_handling: row
                .get::<i64>("co_handler_id")
                .map(|_| order_store::co_handling(row))
                .transpose()?,
            appeal: row.get("appeal_id"),
        });
    }
    let next_cursor = api_plumbing::next_page(&mut items, limit, |last| {
        format!("{}.{}", last.tracking_number, last.round.unwrap_or(0))
    });
    Ok(api_plumbing::reply_with(
        StatusCode::OK,
        &KpiCaseList { items, next_cursor },
    ))
}
