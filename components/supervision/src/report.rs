//! Period reports (日报、周报、月报): the requests of a day, a week or a month and what became of
//! them, by channel, the hot issues and districts against the period before, the city's KPIs of the
//! period, and a paragraph that says it all for leaders to read.

use crate::error::ApiError;
use api_plumbing::{Reply, field_error, query_param, reply_with};
use chrono::{Datelike, NaiveDate, TimeDelta};
use mobile_api::{
    AppealCounts, KpiGroup, Named, PeriodReport, RaisedWarning, ReceivedOutcomes, ReportCount,
};
use order_store::db::Row;
use order_store::required;
use spin_sdk::http::StatusCode;
use spin_sdk::pg::ParameterValue;
use std::collections::BTreeMap;

/// Counts `n` requests now in `status` under what became of them.
pub fn count_outcome(outcomes: &mut ReceivedOutcomes, status: &str, n: i64) {
    let outcome = match status {
        "closed_direct" | "handed_over" | "informed" => &mut outcomes.closed_by_centre,
        "merged" => &mut outcomes.merged,
        "withdrawn" => &mut outcomes.withdrawn,
        "received" => &mut outcomes.waiting_dispatch,
        "dispatched" | "signed" | "in_progress" | "return_requested" => &mut outcomes.with_agency,
        _ => &mut outcomes.answered,
    };
    *outcome += n;
}

/// `，群众撤回 N 件` for the reports' words, when any request was withdrawn.
pub fn withdrawn_words(outcomes: &ReceivedOutcomes) -> String {
    if outcomes.withdrawn > 0 {
        format!("，群众撤回 {} 件", outcomes.withdrawn)
    } else {
        String::new()
    }
}

/// How many categories and districts the report names.
const TOP: usize = 5;

/// A period: its kind, first and last day, and the first day of the period before.
struct Period {
    kind: &'static str,
    from: NaiveDate,
    to: NaiveDate,
    before: NaiveDate,
}

impl Period {
    fn containing(kind: &str, date: NaiveDate) -> Option<Period> {
        let (kind, from, to, before) = match kind {
            "day" => ("day", date, date, date - TimeDelta::days(1)),
            "week" => {
                let monday =
                    date - TimeDelta::days(i64::from(date.weekday().num_days_from_monday()));
                (
                    "week",
                    monday,
                    monday + TimeDelta::days(6),
                    monday - TimeDelta::days(7),
                )
            }
            "month" => {
                let first = date.with_day(1)?;
                let next = first.checked_add_months(chrono::Months::new(1))?;
                let before = first.checked_sub_months(chrono::Months::new(1))?;
                ("month", first, next - TimeDelta::days(1), before)
            }
            _ => return None,
        };
        Some(Period {
            kind,
            from,
            to,
            before,
        })
    }

    fn end(&self) -> chrono::NaiveDateTime {
        midnight(self.to + TimeDelta::days(1))
    }

    /// The period as people write it.
    fn title(&self) -> String {
        let day = |d: NaiveDate| format!("{}月{}日", d.month(), d.day());
        match self.kind {
            "day" => format!("{}年{}", self.from.year(), day(self.from)),
            "week" => format!("{}年{}至{}", self.from.year(), day(self.from), day(self.to)),
            _ => format!("{}年{}月", self.from.year(), self.from.month()),
        }
    }

    /// `本日`/`本周`/`本月`, and what the period before is called.
    fn words(&self) -> (&'static str, &'static str) {
        match self.kind {
            "day" => ("本日", "前一日"),
            "week" => ("本周", "上周"),
            _ => ("本月", "上月"),
        }
    }
}

pub use api_plumbing::parse_date;
pub use workorder::{china_midnight as midnight, china_today as today};

/// A list's rows, fetched with one more than `limit`: the first `limit`, and whether more matched.
pub fn capped<T>(rows: &[T], limit: i64) -> (&[T], bool) {
    let limit = usize::try_from(limit).unwrap_or(0);
    (&rows[..rows.len().min(limit)], rows.len() > limit)
}

/// `GET /api/v1/supervision/report?period=day|week|month&date=`.
pub async fn report(query: &str) -> Result<Reply, ApiError> {
    let kind = query_param(query, "period")
        .filter(|p| !p.is_empty())
        .unwrap_or("day");
    let date = query_param(query, "date")
        .filter(|d| !d.is_empty())
        .map(|d| parse_date("date", d))
        .transpose()
        .map_err(|problem| ApiError::Validation(vec![problem]))?;
    let db = api_plumbing::connect().await?;
    let now = order_store::now(&db).await?;
    let today = today(now);
    let date = date.unwrap_or(today - TimeDelta::days(1));
    if date > today {
        return Err(ApiError::Validation(vec![field_error(
            "date",
            "in_future",
            "不能晚于今天 (the date is after today)",
        )]));
    }
    let period = Period::containing(kind, date).ok_or_else(|| {
        ApiError::Validation(vec![field_error(
            "period",
            "invalid_value",
            "应为 day、week 或 month",
        )])
    })?;
    let start = midnight(period.from);
    let bounds: [ParameterValue; 3] = [
        midnight(period.before).into(),
        start.into(),
        period.end().into(),
    ];
    let received = db
        .query(order_store::oversight::RECEIVED, bounds.clone())
        .await?
        .collect()
        .await?;
    let key_supervised = db
        .query(order_store::oversight::KEY_SUPERVISED, bounds)
        .await?
        .collect()
        .await?;
    let warnings = db
        .query(
            order_store::oversight::EARLY_WARNINGS_RAISED,
            [start.into(), period.end().into()],
        )
        .await?
        .collect()
        .await?;
    let early_warnings = warnings
        .iter()
        .map(|row| {
            Ok(RaisedWarning {
                what: format!(
                    "{}{}",
                    required::<String>(row, "district")?,
                    required::<String>(row, "category")?
                ),
                received: required::<i32>(row, "received")?.into(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let key_supervised = |column: &str| -> Result<i64, ApiError> {
        Ok(key_supervised
            .first()
            .map(|row| required::<i64>(row, column))
            .transpose()?
            .unwrap_or(0))
    };
    let appeals = db
        .query(
            order_store::oversight::APPEALS_FILED,
            [start.into(), period.end().into()],
        )
        .await?
        .collect()
        .await?;
    let appeals = match appeals.first() {
        Some(row) => AppealCounts {
            filed: required(row, "filed")?,
            approved: required(row, "approved")?,
            refused: required(row, "refused")?,
            pending: required(row, "pending")?,
        },
        None => AppealCounts::default(),
    };
    let names = db
        .query(order_store::oversight::GROUP_NAMES, [])
        .await?
        .collect()
        .await?;
    let kpi_rows = db
        .query(
            order_store::kpis::report_sql("'city'"),
            [start.into(), period.end().into()],
        )
        .await?
        .collect()
        .await?;
    let figures = order_store::kpis::total(&order_store::kpis::figures_by_group(&kpi_rows)?);
    let kpis = order_store::kpis::kpi_group("city", "全市".into(), &figures, Default::default());
    let tally = Tally::of(&received)?;
    let names = Names::of(&names)?;
    let by_channel = ranked(&tally.channels, usize::MAX, |code| {
        workorder::channel_label(code).to_owned()
    });
    let top_categories = ranked(&tally.categories, TOP, |code| names.category(code));
    let top_districts = ranked(&tally.districts, TOP, |code| names.district(code));
    let mut report = PeriodReport {
        period: period.kind.to_owned(),
        from: period.from,
        to: period.to,
        title: period.title(),
        complete: now.naive_utc() >= period.end(),
        computed_at: now,
        received: tally.received.0,
        received_before: tally.received.1,
        outcomes: tally.outcomes,
        answered_from_knowledge: tally.from_knowledge,
        on_leader_days: tally.on_leader_days,
        key_supervised: key_supervised("current")?,
        key_supervised_before: key_supervised("before")?,
        early_warnings,
        by_channel,
        top_categories,
        top_districts,
        kpis,
        appeals,
        summary: String::new(),
    };
    report.summary = summary(&report, &period);
    Ok(reply_with(StatusCode::OK, &report))
}

/// A row's count `n`, of this period (`current`) or of the period before.
pub struct Counted {
    pub current: bool,
    pub n: i64,
}

impl Counted {
    pub fn of(row: &Row) -> Result<Counted, ApiError> {
        Ok(Counted {
            current: required(row, "current")?,
            n: required(row, "n")?,
        })
    }

    /// Adds it to (this period, the period before).
    pub fn add_to(&self, counts: &mut (i64, i64)) {
        if self.current {
            counts.0 += self.n;
        } else {
            counts.1 += self.n;
        }
    }
}

/// The period's requests (and the period before's), counted every way the report needs.
#[derive(Default)]
struct Tally {
    /// (this period, the period before)
    received: (i64, i64),
    channels: BTreeMap<String, (i64, i64)>,
    categories: BTreeMap<String, (i64, i64)>,
    districts: BTreeMap<String, (i64, i64)>,
    outcomes: ReceivedOutcomes,
    /// Of this period's, answered from the knowledge base, and taken on leader answering days.
    from_knowledge: i64,
    on_leader_days: i64,
}

impl Tally {
    fn of(rows: &[Row]) -> Result<Tally, ApiError> {
        let mut tally = Tally::default();
        for row in rows {
            let counted = Counted::of(row)?;
            let (current, n) = (counted.current, counted.n);
            let add = |counts: &mut (i64, i64)| counted.add_to(counts);
            add(&mut tally.received);
            add(tally.channels.entry(required(row, "channel")?).or_default());
            add(tally
                .categories
                .entry(required(row, "category")?)
                .or_default());
            add(tally
                .districts
                .entry(required(row, "district")?)
                .or_default());
            if current {
                let status: String = required(row, "status")?;
                count_outcome(&mut tally.outcomes, &status, n);
                tally.from_knowledge += required::<i64>(row, "from_knowledge")?;
                tally.on_leader_days += required::<i64>(row, "on_leader_days")?;
            }
        }
        Ok(tally)
    }
}

/// The groups (code: (this period, the period before)) with requests in this period, most first
/// (then by code), at most `top`, named by `name`.
pub fn ranked(
    groups: &BTreeMap<String, (i64, i64)>,
    top: usize,
    name: impl Fn(&str) -> String,
) -> Vec<ReportCount> {
    let mut ranked: Vec<(&String, &(i64, i64))> =
        groups.iter().filter(|(_, (now, _))| *now > 0).collect();
    ranked.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(top)
        .map(|(code, (count, count_before))| ReportCount {
            group: Named {
                code: code.clone(),
                name: name(code),
            },
            count: *count,
            count_before: *count_before,
        })
        .collect()
}

/// The names of the categories and the districts.
pub struct Names {
    categories: BTreeMap<String, String>,
    districts: BTreeMap<String, String>,
}

impl Names {
    pub fn of(rows: &[Row]) -> Result<Names, ApiError> {
        let mut names = Names {
            categories: BTreeMap::new(),
            districts: BTreeMap::new(),
        };
        for row in rows {
            let kind: String = required(row, "kind")?;
            let map = if kind == "category" {
                &mut names.categories
            } else {
                &mut names.districts
            };
            map.insert(required(row, "code")?, required(row, "name")?);
        }
        Ok(names)
    }

    pub fn category(&self, code: &str) -> String {
        self.categories
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }

    pub fn district(&self, code: &str) -> String {
        match self.districts.get(code) {
            Some(name) => name.clone(),
            None if code == "unknown" => "未填区域".into(),
            None => code.to_owned(),
        }
    }
}

/// How `now` compares with `before`: `增加 3.2%`, `减少 10.0%`, `持平`; `上期无` when there
/// was nothing before to compare with.
pub fn change(now: i64, before: i64) -> String {
    if now == before {
        return "持平".into();
    }
    if before == 0 {
        return "上期无".into();
    }
    let percent = (now - before) as f64 / before as f64 * 100.0;
    if percent > 0.0 {
        format!("增加 {percent:.1}%")
    } else {
        format!("减少 {:.1}%", -percent)
    }
}

/// The report in a paragraph.
fn summary(report: &PeriodReport, period: &Period) -> String {
    let (this, before) = period.words();
    let mut text = format!("{}，", report.title);
    if !report.complete {
        text.push_str("截至目前，");
    }
    if report.received == 0 {
        text.push_str(&format!(
            "全市 12345 热线未受理群众诉求（{before} {} 件）。",
            report.received_before
        ));
    } else {
        let listed = |counts: &[ReportCount], with_change: bool| {
            counts
                .iter()
                .map(|c| {
                    if with_change {
                        format!(
                            "{} {} 件（{}）",
                            c.group.name,
                            c.count,
                            change(c.count, c.count_before)
                        )
                    } else {
                        format!("{} {} 件", c.group.name, c.count)
                    }
                })
                .collect::<Vec<_>>()
                .join("，")
        };
        let o = &report.outcomes;
        let compared = if report.received_before == 0 {
            format!("{before}为 0 件")
        } else {
            format!(
                "比{before}{}（{before} {} 件）",
                change(report.received, report.received_before),
                report.received_before
            )
        };
        let from_knowledge = if report.answered_from_knowledge > 0 {
            format!("（知识库解答 {} 件）", report.answered_from_knowledge)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "全市 12345 热线共受理群众诉求 {} 件，{compared}。\
             按渠道：{}。其中中心直接办结 {} 件{from_knowledge}，合并重复诉求 {} 件{}，待派单 {} 件，\
             承办单位办理中 {} 件，已答复 {} 件。诉求较多的类别：{}；诉求较多的区县：{}。",
            report.received,
            listed(&report.by_channel, false),
            o.closed_by_centre,
            o.merged,
            crate::report::withdrawn_words(o),
            o.waiting_dispatch,
            o.with_agency,
            o.answered,
            listed(&report.top_categories, true),
            listed(&report.top_districts, false),
        ));
        if report.on_leader_days > 0 {
            text.push_str(&format!("领导接听日受理 {} 件。", report.on_leader_days));
        }
    }
    if !report.early_warnings.is_empty() {
        let raised: Vec<String> = report
            .early_warnings
            .iter()
            .map(|w| format!("{}（24 小时内 {} 件）", w.what, w.received))
            .collect();
        text.push_str(&format!(
            "{this}发出诉求激增预警 {} 次：{}。",
            raised.len(),
            raised.join("，")
        ));
    }
    if report.key_supervised > 0 || report.key_supervised_before > 0 {
        text.push_str(&format!(
            "{this}新列入重点督办 {} 件（{before} {} 件）。",
            report.key_supervised, report.key_supervised_before
        ));
    }
    let k: &KpiGroup = &report.kpis;
    // A rate helped by approved appeals (考核申诉) says by how many cases.
    let rate = |kpi: &mobile_api::Kpi| {
        let exempted = if kpi.appealed > 0 {
            format!("，经考核申诉核减 {} 件", kpi.appealed)
        } else {
            String::new()
        };
        if kpi.denominator == 0 && kpi.appealed == 0 {
            kpi.display.clone()
        } else {
            format!(
                "{}（{}/{}{exempted}）",
                kpi.display, kpi.numerator, kpi.denominator
            )
        }
    };
    text.push_str(&format!(
        "{this}按期办结率 {}，响应率 {}，解决率 {}，满意率 {}，协办按时反馈率 {}。",
        rate(&k.on_time_completion),
        rate(&k.response),
        rate(&k.resolution),
        rate(&k.satisfaction),
        rate(&k.co_handling_on_time),
    ));
    let a = &report.appeals;
    if a.filed > 0 {
        let pending = if a.pending > 0 {
            format!("，待审核 {} 件", a.pending)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "{this}承办单位提出考核申诉 {} 件，核准 {} 件，驳回 {} 件{pending}。",
            a.filed, a.approved, a.refused
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capped_list_says_when_more_matched() {
        let rows = [1, 2, 3];
        assert_eq!(capped(&rows, 2), (&rows[..2], true));
        assert_eq!(capped(&rows, 3), (&rows[..], false));
        assert_eq!(capped(&rows[..0], 3), (&rows[..0], false));
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
    }

    #[test]
    fn periods_contain_their_date_and_follow_the_period_before() {
        let week = Period::containing("week", day("2026-12-02")).expect("a week");
        assert_eq!((week.from, week.to), (day("2026-11-30"), day("2026-12-06")));
        assert_eq!(week.before, day("2026-11-23"));
        assert_eq!(week.title(), "2026年11月30日至12月6日");
        let month = Period::containing("month", day("2026-03-31")).expect("a month");
        assert_eq!(
            (month.from, month.to),
            (day("2026-03-01"), day("2026-03-31"))
        );
        assert_eq!(month.before, day("2026-02-01"));
        assert_eq!(month.title(), "2026年3月");
        let new_year = Period::containing("day", day("2027-01-01")).expect("a day");
        assert_eq!(new_year.before, day("2026-12-31"));
        assert_eq!(new_year.title(), "2027年1月1日");
        // China midnight is 16:00 UTC the day before.
        assert_eq!(
            midnight(day("2026-12-02")).to_string(),
            "2026-12-01 16:00:00"
        );
        assert!(Period::containing("year", day("2026-12-02")).is_none());
    }

    #[test]
    fn changes_are_said_in_words() {
        assert_eq!(change(110, 100), "增加 10.0%");
        assert_eq!(change(90, 100), "减少 10.0%");
        assert_eq!(change(5, 5), "持平");
        assert_eq!(change(0, 0), "持平");
        assert_eq!(change(3, 0), "上期无");
        assert_eq!(change(0, 4), "减少 100.0%");
    }
}
