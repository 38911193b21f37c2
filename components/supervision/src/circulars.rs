//! Circulars of criticism (督办通报): what happens to orders left open long past their deadline
//! after the overdue notices, the supervision and the key supervision — the centre names them,
//! agency by agency, in a numbered circular (督办通报 2026年第2期) that the named agencies' staff,
//! the city's leaders and the supervisors receive. What it named is kept as issued.
//!
//! `POST /api/v1/admin/circulars` (supervisors and administrators) names every open order at
//! least `overdue_days` (3 by default, as key supervision begins) past its deadline at the moment
//! of issue; a circular that would name nothing is refused. `GET /api/v1/supervision/circulars`
//! and `.../{id}` are for those who watch over orders and for every agency: a circular is
//! circulated. `POST /api/v1/admin/circulars/{id}/withdraw` withdraws one issued in error (撤回),
//! with the reason: it is still read, marked so, and everyone told of it is told of that.

use crate::error::ApiError;
use crate::special_reports::{as_named, year_asked};
use api_plumbing::{Principal, Reply, field_error, reply_with};
use chrono::{DateTime, Datelike, Timelike, Utc};
use mobile_api::{
    Circular, CircularAgency, CircularFigures, CircularList, CircularOrder, CircularSummary,
    FieldError, Named, NewCircular,
};
use order_store::db::{Connection, Row};
use order_store::oversight::OPEN;
use order_store::{required, required_named, text, utc};
use spin_sdk::http::StatusCode;
use spin_sdk::pg::ParameterValue;

/// Named when this many days past the deadline, unless the supervisor says otherwise.
const DEFAULT_OVERDUE_DAYS: i32 = 3;
const MAX_OVERDUE_DAYS: i32 = 90;
/// Most orders named for one agency (all are counted).
const NAMED_PER_AGENCY: i64 = 20;
/// Most circulars one list gives.
const LISTED: i64 = 200;

async fn db() -> Result<Connection, ApiError> {
    api_plumbing::connect().await.map_err(ApiError::from)
}

/// The open orders at least `$2` days past their deadline at `$1`, by agency, the longest overdue
/// first, at most `$3` of each agency's with how many it has in all.
const NAMED: &str = "select x.* from ( \
     select o.agency_id, a.name as agency_name, o.tracking_number, \
            case when o.confidential then null else o.title end as title, \
            o.deadline_at, o.key_supervised_at is not null as key_supervised, \
            count(*) over (partition by o.agency_id) as agency_orders, \
            row_number() over (partition by o.agency_id order by o.deadline_at, o.work_order_id) as rank \
     from work_orders o join agencies a on a.agency_id = o.agency_id \
     where {OPEN} and o.deadline_at <= $1::timestamp - make_interval(days => $2::int)) x \
     where x.rank <= $3 order by x.agency_id, x.rank";

/// What a circular issued at `now` names.
async fn compute(
    db: &Connection,
    overdue_days: i32,
    now: DateTime<Utc>,
) -> Result<CircularFigures, ApiError> {
    let rows = db
        .query(
            NAMED.replace("{OPEN}", OPEN),
            [
                now.naive_utc().into(),
                overdue_days.into(),
                NAMED_PER_AGENCY.into(),
            ],
        )
        .await?
        .collect()
        .await?;
    let mut agencies: Vec<CircularAgency> = Vec::new();
    for row in &rows {
        let agency = required_named(row, "agency_id", "agency_name")?;
        let order = named_order(row, now)?;
        match agencies.last_mut() {
            Some(last) if last.agency.code == agency.code => last.named.push(order),
            _ => agencies.push(CircularAgency {
                agency,
                orders: required(row, "agency_orders")?,
                longest_overdue_days: order.overdue_days,
                named: vec![order],
            }),
        }
    }
    agencies.sort_by(|a, b| {
        (b.orders, b.longest_overdue_days)
            .cmp(&(a.orders, a.longest_overdue_days))
            .then_with(|| a.agency.code.cmp(&b.agency.code))
    });
    let orders = agencies.iter().map(|a| a.orders).sum();
    let mut figures = CircularFigures {
        as_of: now,
        overdue_days,
        orders,
        agencies,
        summary: String::new(),
    };
    figures.summary = summary(&figures);
    Ok(figures)
}

fn named_order(row: &Row, now: DateTime<Utc>) -> Result<CircularOrder, ApiError> {
    let deadline_at =
        utc(row, "deadline_at").ok_or_else(|| ApiError::Internal("no deadline_at".into()))?;
    Ok(CircularOrder {
        tracking_number: required(row, "tracking_number")?,
        title: row.get("title"),
        deadline_at,
        overdue_days: (now - deadline_at).num_days(),
        key_supervised: required(row, "key_supervised")?,
    })
}

/// The paragraph a circular opens with.
fn summary(figures: &CircularFigures) -> String {
    let china = figures.as_of.with_timezone(&workorder::china_time());
    let mut text = format!(
        "截至{}月{}日{}时，全市共有{}件工单超过办理期限{}天以上仍未办结，涉及{}个承办单位",
        china.month(),
        china.day(),
        china.hour(),
        figures.orders,
        figures.overdue_days,
        figures.agencies.len(),
    );
    let most: Vec<String> = figures
        .agencies
        .iter()
        .take(3)
        .map(|a| {
            format!(
                "{}{}件（最长超期{}天）",
                a.agency.name, a.orders, a.longest_overdue_days
            )
        })
        .collect();
    if !most.is_empty() {
        text.push_str("。其中");
        text.push_str(&most.join("、"));
    }
    text.push_str("。现予通报，请被通报单位立即组织办理，逐件说明超期原因并按期回复。");
    text
}

/// `POST /api/v1/admin/circulars`: computes what to name and issues it under the year's next
/// number, everyone it concerns told, in one transaction; a retry under the same
/// `Idempotency-Key` gets the same circular.
pub async fn issue(
    principal: &Principal,
    idempotency_key: Option<&str>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let idempotency = crate::issuing::keyed(idempotency_key, body)?;
    let new: NewCircular = api_plumbing::parse_json(body)?;
    let mut problems: Vec<FieldError> = Vec::new();
    let (title, commentary) =
        crate::issuing::worded(&new.title, new.commentary.as_deref(), &mut problems);
    let overdue_days = new.overdue_days.unwrap_or(DEFAULT_OVERDUE_DAYS);
    if !(1..=MAX_OVERDUE_DAYS).contains(&overdue_days) {
        problems.push(field_error(
            "overdue_days",
            "out_of_range",
            format!("应为 1 到 {MAX_OVERDUE_DAYS} 天 (1–{MAX_OVERDUE_DAYS})"),
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let db = db().await?;
    let now = order_store::now(&db).await?;
    let figures = compute(&db, overdue_days, now).await?;
    if figures.orders == 0 {
        return Err(ApiError::Validation(vec![field_error(
            "overdue_days",
            "none_overdue",
            format!(
                "没有超期 {overdue_days} 天以上仍未办结的工单，无需通报 (no open order is that overdue)"
            ),
        )]));
    }
    let subject = principal.subject.as_str();
    let issuing = issue_in_transaction(&db, subject, title, commentary, figures);
    crate::issuing::issue(&db, subject, idempotency, issuing).await
}

/// Issues it, in the caller's transaction: its JSON.
async fn issue_in_transaction(
    db: &Connection,
    subject: &str,
    title: &str,
    commentary: Option<&str>,
    figures: CircularFigures,
) -> Result<String, ApiError> {
    // The year's numbers are given out one issue at a time; reading them is not held up.
    db.execute("lock table circulars in exclusive mode", [])
        .await?;
    let figures_json =
        serde_json::to_vec(&figures).map_err(|e| ApiError::Internal(e.to_string()))?;
    let made = db
        .query(
            "insert into circulars (year, issue, title, commentary, overdue_days, figures, issued_by) \
             select y.year, coalesce(max(c.issue), 0) + 1, $1, $2, $3, $4, $5 \
             from (select extract(year from now() at time zone 'Asia/Shanghai')::int as year) y \
             left join circulars c on c.year = y.year group by y.year \
             returning circular_id, year, issue, issued_at",
            [
                text(title),
                commentary.map(str::to_owned).into(),
                figures.overdue_days.into(),
                ParameterValue::Jsonb(figures_json),
                text(subject),
            ],
        )
        .await?
        .collect()
        .await?;
    let row = made
        .first()
        .ok_or_else(|| ApiError::Internal("no circular made".into()))?;
    let (year, issue): (i32, i32) = (required(row, "year")?, required(row, "issue")?);
    let circular = Circular {
        id: required(row, "circular_id")?,
        year,
        issue,
        heading: heading(year, issue),
        title: title.to_owned(),
        commentary: commentary.map(str::to_owned),
        issued_by: subject.to_owned(),
        issued_at: utc(row, "issued_at")
            .ok_or_else(|| ApiError::Internal("a circular without issued_at".into()))?,
        withdrawn: None,
        figures,
    };
    let agencies: Vec<String> = circular
        .figures
        .agencies
        .iter()
        .map(|a| a.agency.code.clone())
        .collect();
    order_store::outbox::circular_notices(
        db,
        circular.id,
        "circular",
        &as_named(&circular.heading, &circular.title),
        subject,
        &agencies,
    )
    .await?;
    serde_json::to_string(&circular).map_err(|e| ApiError::Internal(e.to_string()))
}

/// A circular's heading: `督办通报 2026年第2期`.
fn heading(year: i32, issue: i32) -> String {
    format!("督办通报 {year}年第{issue}期")
}

/// A circular's withdrawal, if any (`crate::issuing::withdrawal` reads it).
const WITHDRAWAL: &str = "withdrawn_at, withdrawn_by, withdrawn_reason";

/// `POST /api/v1/admin/circulars/{id}/withdraw`: marks the circular withdrawn (撤回) with the
/// reason and tells everyone it told — the named agencies' staff, the leaders and supervisors, but
/// the one who withdraws it — in one transaction; a withdrawn circular is answered as it is.
pub async fn withdraw(principal: &Principal, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let reason = crate::issuing::withdrawal_reason(body)?;
    let db = db().await?;
    db.transaction(async {
        let rows = db
            .query(
                "update circulars set withdrawn_at = now(), withdrawn_by = $2, withdrawn_reason = $3 \
                 where circular_id = $1 and withdrawn_at is null \
                 returning year, issue, title, \
                           jsonb_path_query_array(figures, '$.agencies[*].agency.code') as agencies",
                [id.into(), text(&principal.subject), text(&reason)],
            )
            .await?
            .collect()
            .await?;
        if let Some(row) = rows.first() {
            let (year, issue): (i32, i32) = (required(row, "year")?, required(row, "issue")?);
            let title: String = required(row, "title")?;
            let agencies: serde_json::Value = required(row, "agencies")?;
            let agencies: Vec<String> = serde_json::from_value(agencies)
                .map_err(|e| ApiError::Internal(format!("a circular's agencies: {e}")))?;
            order_store::outbox::circular_notices(
                &db,
                id,
                "circular_withdrawn",
                &as_named(&heading(year, issue), &title),
                &principal.subject,
                &agencies,
            )
            .await?;
        }
        Ok::<_, ApiError>(())
    })
    .await?;
    get(&id.to_string()).await
}

/// `GET /api/v1/supervision/circulars?year=`: the latest first, of one year if asked.
pub async fn list(query: &str) -> Result<Reply, ApiError> {
    let year = year_asked(query)?;
    let rows = db()
        .await?
        .query(
            format!("select circular_id, year, issue, title, overdue_days, (figures->>'orders')::int8 as orders, \
                    jsonb_path_query_array(figures, '$.agencies[*].agency') as agencies, \
                    issued_by, issued_at, {WITHDRAWAL} \
             from circulars where ($1::int4 is null or year = $1) \
             order by issued_at desc, circular_id desc limit $2"),
            [year.into(), (LISTED + 1).into()],
        )
        .await?
        .collect()
        .await?;
    let (rows, more) = crate::report::capped(&rows, LISTED);
    let items = rows
        .iter()
        .map(|row| {
            let agencies: serde_json::Value = required(row, "agencies")?;
            Ok(CircularSummary {
                id: required(row, "circular_id")?,
                heading: heading(required(row, "year")?, required(row, "issue")?),
                title: required(row, "title")?,
                overdue_days: required(row, "overdue_days")?,
                orders: required(row, "orders")?,
                agencies: serde_json::from_value::<Vec<Named>>(agencies)
                    .map_err(|e| ApiError::Internal(format!("a circular's agencies: {e}")))?,
                issued_by: required(row, "issued_by")?,
                issued_at: utc(row, "issued_at")
                    .ok_or_else(|| ApiError::Internal("a circular without issued_at".into()))?,
                withdrawn: crate::issuing::withdrawal(row)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(reply_with(StatusCode::OK, &CircularList { items, more }))
}

/// `GET /api/v1/supervision/circulars/{id}`: as issued.
pub async fn get(id: &str) -> Result<Reply, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let rows = db()
        .await?
        .query(
            format!(
                "select circular_id, year, issue, title, commentary, figures, issued_by, issued_at, \
                        {WITHDRAWAL} from circulars where circular_id = $1"
            ),
            [id.into()],
        )
        .await?
        .collect()
        .await?;
    let row = rows.first().ok_or(ApiError::NotFound)?;
    let (year, issue): (i32, i32) = (required(row, "year")?, required(row, "issue")?);
    let figures: serde_json::Value = required(row, "figures")?;
    let circular = Circular {
        id,
        year,
        issue,
        heading: heading(year, issue),
        title: required(row, "title")?,
        commentary: row.get("commentary"),
        issued_by: required(row, "issued_by")?,
        issued_at: utc(row, "issued_at")
            .ok_or_else(|| ApiError::Internal("a circular without issued_at".into()))?,
        withdrawn: crate::issuing::withdrawal(row)?,
        figures: serde_json::from_value(figures)
            .map_err(|e| ApiError::Internal(format!("a circular's figures: {e}")))?,
    };
    Ok(reply_with(StatusCode::OK, &circular))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agency(code: &str, name: &str, orders: i64, longest: i64) -> CircularAgency {
        CircularAgency {
            agency: Named {
                code: code.into(),
                name: name.into(),
            },
            orders,
            longest_overdue_days: longest,
            named: Vec::new(),
        }
    }

    #[test]
    fn the_summary_names_the_three_with_the_most() {
        let figures = CircularFigures {
            as_of: DateTime::parse_from_rfc3339("2026-12-03T01:30:00Z")
                .expect("a time")
                .with_timezone(&Utc),
            overdue_days: 3,
            orders: 9,
            agencies: vec![
                agency("a", "市城管局", 4, 12),
                agency("b", "市水务公司", 3, 5),
                agency("c", "驿城区政府", 1, 4),
                agency("d", "市供暖公司", 1, 3),
            ],
            summary: String::new(),
        };
        assert_eq!(
            summary(&figures),
            "截至12月3日9时，全市共有9件工单超过办理期限3天以上仍未办结，涉及4个承办单位。\
             其中市城管局4件（最长超期12天）、市水务公司3件（最长超期5天）、驿城区政府1件（最长超期4天）。\
             现予通报，请被通报单位立即组织办理，逐件说明超期原因并按期回复。"
        );
    }
}
