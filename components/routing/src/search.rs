//! `GET /api/v1/orders`: staff search the orders (工单查询) — the operator with a caller on the
//! line looking up what that number filed before, a supervisor finding last week's orders about
//! a street, an agency worker finding a closed case of their own.
//!
//! - The centre (operators, supervisors, administrators) searches every order; agency staff only
//!   their agency's.
//! - `phone` (the centre only) finds the orders of the citizen with that number and those naming
//!   it as the contact, over all time. Confidential orders (the psychological-support line) are
//!   left out: a number must not lead to them (the caller has the tracking number). Every
//!   search by number is recorded (`phone_searches`, in the audit log) in the same transaction
//!   that reads the orders.
//! - Without `phone`, a search covers the China days `from`–`to` (at most 366 days; by default
//!   the last 30), so that words are matched over a bounded span of the filing-time index.
//! - Newest first, a page at a time (`cursor`, `next_cursor`).
//!
//! Only the clauses of the filters given are written, so each combination is a statement of its
//! own and PostgreSQL plans it with the indexes it can use.

use crate::error::ApiError;
use crate::views::{FROM_ORDERS, SUMMARY_COLUMNS, summary};
use api_plumbing::{Principal, Reply, field_error, query_param, query_text, reply_with};
use chrono::{NaiveDate, TimeDelta};
use mobile_api::{FieldError, StaffOrderPage};
use order_store::text;
use spin_sdk::http::StatusCode;
use spin_sdk::pg::ParameterValue;
use workorder::lifecycle::Status;

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;
/// The span searched when `from` is not given: the last 30 China days, today included.
const DEFAULT_DAYS: i64 = 30;
/// The longest span one search covers.
const MAX_DAYS: i64 = 366;
/// The longest `q`, in characters.
const MAX_WORDS: usize = 50;
const CHANNELS: [&str; 5] = ["app", "wechat", "phone", "web", "partner"];

/// A `where` clause built from the filters given, with its parameters numbered as they come.
struct Clauses {
    parts: Vec<String>,
    params: Vec<ParameterValue>,
}

impl Clauses {
    /// The next parameter's placeholder, `$n`, for `value`.
    fn bind(&mut self, value: ParameterValue) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    /// `clause`, with each `{}` replaced by the placeholder of one `value` (the same one each
    /// time).
    fn add(&mut self, clause: &str, value: ParameterValue) {
        let placeholder = self.bind(value);
        self.parts.push(clause.replace("{}", &placeholder));
    }
}

/// A `LIKE` pattern matching `words` anywhere: `%`, `_` and `\` in them match themselves.
fn containing(words: &str) -> String {
    let mut pattern = String::with_capacity(words.len() + 2);
    pattern.push('%');
    for c in words.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn one_of(field: &str, allowed: &str) -> FieldError {
    field_error(field, "invalid_value", format!("应为 {allowed}"))
}

/// `from`–`to` as filing-time bounds (UTC midnights of China days, `to` exclusive), checked.
fn span(
    query: &str,
    today: NaiveDate,
    bounded: bool,
    problems: &mut Vec<FieldError>,
) -> (Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>) {
    let mut date = |field: &str| {
        let raw = query_param(query, field).filter(|d| !d.is_empty())?;
        api_plumbing::parse_date(field, raw)
            .map_err(|problem| problems.push(problem))
            .ok()
    };
    let (from, to) = (date("from"), date("to"));
    let (from, to) = if bounded {
        let to = to.unwrap_or(today);
        (
            Some(from.unwrap_or(to - TimeDelta::days(DEFAULT_DAYS - 1))),
            Some(to),
        )
    } else {
        (from, to)
    };
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            problems.push(field_error(
                "to",
                "before_from",
                "结束日期不能早于开始日期 (to is before from)",
            ));
        } else if bounded && (to - from).num_days() >= MAX_DAYS {
            problems.push(field_error(
                "from",
                "range_too_long",
                format!("一次最多查询 {MAX_DAYS} 天 (at most {MAX_DAYS} days at a time)"),
            ));
        }
    }
    (
        from.map(workorder::china_midnight),
        to.map(|day| workorder::china_midnight(day + TimeDelta::days(1))),
    )
}

pub async fn search(principal: &Principal, query: &str) -> Result<Reply, ApiError> {
    let api_plumbing::PageQuery {
        limit,
        after: cursor,
    } = api_plumbing::page_query(query, DEFAULT_PAGE, MAX_PAGE)?;
    let centre = principal.role != "agency_staff";
    let mut problems = Vec::new();
    let mut given = |field: &str| match query_text(query, field) {
        Ok(value) => value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()),
        Err(problem) => {
            problems.push(problem);
            None
        }
    };
    let phone = given("phone");
    let words = given("q");
    let statuses = given("status");
    let category = given("category");
    let district = given("district");
    let agency = given("agency");
    let channel = given("channel");
    let urgent = given("urgent");
    let overdue = given("overdue");

    if !centre && phone.is_some() {
        return Err(ApiError::Forbidden(
            "按来电号码查询仅限热线中心 (only the centre searches by phone number)",
        ));
    }
    let own_agency = if centre {
        None
    } else {
        Some(principal.agency.clone().ok_or(ApiError::Unauthenticated)?)
    };
    if let (Some(own), Some(asked)) = (&own_agency, &agency)
        && own != asked
    {
        return Err(ApiError::Forbidden(
            "承办单位只能查询本单位的工单 (agency staff search their own agency's orders)",
        ));
    }
    let phone = match phone.as_deref().map(workorder::PhoneNumber::parse) {
        None => None,
        Some(Ok(number)) => Some(number),
        Some(Err(_)) => {
            problems.push(field_error(
                "phone",
                "invalid_phone",
                "应为手机号或带区号的固定电话 (a mobile number, or a landline with its area code)",
            ));
            None
        }
    };
    if let Some(words) = &words
        && words.chars().count() > MAX_WORDS
    {
        problems.push(field_error(
            "q",
            "too_long",
            format!("关键词最多 {MAX_WORDS} 个字 (at most {MAX_WORDS} characters)"),
        ));
    }
    let mut wanted = Vec::new();
    for code in statuses.iter().flat_map(|s| s.split(',')).map(str::trim) {
        match Status::parse(code) {
            Some(status) => wanted.push(Some(status.code().to_owned())),
            None => {
                problems.push(one_of(
                    "status",
                    "工单状态代码，可用逗号分隔多个，如 dispatched,signed",
                ));
                break;
            }
        }
    }
    if let Some(channel) = &channel
        && !CHANNELS.contains(&channel.as_str())
    {
        problems.push(one_of("channel", "app、wechat、phone、web 或 partner"));
    }
    let mut flag = |field: &str, value: &Option<String>| match value.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            problems.push(one_of(field, "true 或 false"));
            None
        }
    };
    let urgent = flag("urgent", &urgent);
    let overdue = flag("overdue", &overdue);

    let db = api_plumbing::connect().await.map_err(ApiError::Internal)?;
    let now = order_store::now(&db).await?;
    let today = workorder::china_today(now);
    let (from, to) = span(query, today, phone.is_none(), &mut problems);
    if let Some(code) = &category
        && !order_store::category_exists(&db, code).await?
    {
        problems.push(field_error("category", "unknown", "没有这个诉求类别"));
    }
    if let Some(code) = &district
        && !order_store::district_exists(&db, code).await?
    {
        problems.push(field_error("district", "unknown", "没有这个区县"));
    }
    if centre
        && let Some(code) = &agency
        && !order_store::agency_exists(&db, code).await?
    {
        problems.push(field_error("agency", "unknown", "没有这个承办单位"));
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }

    let mut clauses = Clauses {
        parts: Vec::new(),
        params: Vec::new(),
    };
    if let Some(agency) = own_agency.or(agency) {
        clauses.add("o.agency_id = {}", text(agency));
    }
    if let Some(number) = &phone {
        clauses.add(
            "(o.citizen_id in (select citizen_id from citizens where phone = {}) \
              or o.contact_phone = {})",
            text(number.as_str()),
        );
        clauses.parts.push("not o.confidential".into());
    }
    if let Some(words) = &words {
        let tracking = clauses.bind(text(words.as_str()));
        clauses.add(
            &format!(
                "(o.tracking_number = {tracking} or o.title ilike {{}} \
                  or o.description ilike {{}} or o.address ilike {{}})"
            ),
            text(containing(words)),
        );
    }
    if !wanted.is_empty() {
        clauses.add("o.status = any({})", wanted.into());
    }
    if let Some(code) = category {
        clauses.add(
            "(o.category_id = {} or o.category_id in \
              (select category_id from categories where parent_id = {}))",
            text(code),
        );
    }
    if let Some(code) = district {
        clauses.add("o.district_id = {}", text(code));
    }
    if let Some(channel) = channel {
        clauses.add("o.channel = {}", text(channel));
    }
    if let Some(urgent) = urgent {
        clauses.add("o.urgent = {}", urgent.into());
    }
    match overdue {
        Some(true) => clauses.parts.push(format!(
            "{} and o.deadline_at <= now()",
            order_store::oversight::OPEN
        )),
        Some(false) => clauses.parts.push(format!(
            "not ({} and o.deadline_at <= now())",
            order_store::oversight::OPEN
        )),
        None => {}
    }
    if let Some(from) = from {
        clauses.add("o.created_at >= {}::timestamp", from.into());
    }
    if let Some(to) = to {
        clauses.add("o.created_at < {}::timestamp", to.into());
    }
    if let Some((at, id)) = cursor {
        let at = clauses.bind(at.into());
        clauses.add(
            &format!("(o.created_at, o.work_order_id) < ({at}::timestamp, {{}}::uuid)"),
            id.into(),
        );
    }
    let fetch = clauses.bind(i64::from(limit + 1).into());
    let filter = if clauses.parts.is_empty() {
        String::new()
    } else {
        format!("where {}", clauses.parts.join(" and "))
    };
    let sql = format!(
        "select {SUMMARY_COLUMNS} {FROM_ORDERS} {filter} \
         order by o.created_at desc, o.work_order_id desc limit {fetch}"
    );

    db.execute("begin", []).await?;
    let outcome = async {
        let rows = db.query(sql, clauses.params).await?.collect().await?;
        let mut items = rows.iter().map(summary).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = api_plumbing::next_page(&mut items, limit, |last| {
            api_plumbing::cursor(last.created_at, last.id)
        });
        if let Some(number) = &phone {
            db.execute(
                "insert into phone_searches (phone, subject, role, found) values ($1, $2, $3, $4)",
                [
                    text(number.as_str()),
                    text(&principal.subject),
                    text(&principal.role),
                    i32::try_from(items.len()).unwrap_or(i32::MAX).into(),
                ],
            )
            .await?;
        }
        Ok::<_, ApiError>(StaffOrderPage { items, next_cursor })
    }
    .await;
    match outcome {
        Ok(page) => {
            db.execute("commit", []).await?;
            Ok(reply_with(StatusCode::OK, &page))
        }
        Err(error) => {
            let _ = db.execute("rollback", []).await;
            Err(error)
        }
    }
}
