//! `GET /api/v1/orders`: staff search the orders (工单查询) — the operator with a caller on the
//! line looking up what that number filed before, a supervisor finding last week's orders about
//! a street, an agency worker finding a closed case of their own.
//!
//! - The centre (operators, supervisors, administrators) searches every order; agency staff only
//!   their agency's: those it holds, and those it is asked to help with (协办) unless the request
//!   was taken back, as the order's own view lets them read. The two are searched apart, each
//!   through an index of that agency's (`order_store::search::AGENCYS_OWN`,
//!   `agencys_co_handled`), and the newest of both kept: a page costs the agency's orders, not
//!   every agency's read until the page is full.
//! - `phone` (the centre only) finds the orders of the citizen with that number and those naming
//!   it as the contact, over all time. Confidential orders (the psychological-support line) are
//!   left out: a number must not lead to them (the caller has the tracking number). Every
//!   search by number is recorded (`phone_searches`, in the audit log) in the same transaction
//!   that reads the orders.
//! - Without `phone`, a search covers the China days `from`–`to` (at most 366 days; by default
//!   the last 30).
//! - Words (`q`) are the tracking number, or words anywhere in the title, the description, the
//!   address or what was added to the request after filing it (补充说明: a caller phoning back
//!   with the shop's name is found by it), in any case and typed in full or half width (ＬＥＤ or
//!   LED, ３号 or 3号). Words of two characters or more are looked up through the index of each
//!   order's pairs of adjacent characters, one character through the index of each order's
//!   characters (`order_store::search::words_clause`): a word no order holds is answered at
//!   once over a year of ten million orders, where matching it against every order of the span
//!   took seconds. The newest orders are read first
//!   (`order_store::search::find`): words many orders hold fill a page there, where
//!   PostgreSQL, misjudging how many hold them, would read every one through the index; words
//!   found rarely there are read through the index, where PostgreSQL, misjudging them the
//!   other way, would read the span.
//! - Newest first, a page at a time (`cursor`, `next_cursor`).
//! - `GET /api/v1/orders/export` gives the same search whole, up to [`MAX_EXPORTED`] orders, as a
//!   CSV file for a spreadsheet (导出); each export is in the audit log (`orders_exported`, the
//!   filters and how many), and one by number is a lookup by number too.
//!
//! Only the clauses of the filters given are written, so each combination is a statement of its
//! own and PostgreSQL plans it with the indexes it can use.

use crate::error::ApiError;
use crate::views::summary;
use api_plumbing::{Principal, Reply, field_error, query_param, query_text, reply_with};
use chrono::{NaiveDate, TimeDelta};
use mobile_api::{FieldError, StaffOrderPage};
use order_store::db::Connection;
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
    /// time); the placeholder.
    fn add(&mut self, clause: &str, value: ParameterValue) -> String {
        let placeholder = self.bind(value);
        self.parts.push(clause.replace("{}", &placeholder));
        placeholder
    }
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

/// A search's filters as a `where` clause, and the number looked up, if one was.
struct Search {
    /// The filters but the words.
    clauses: Clauses,
    /// The placeholder of the words (`q`), if any were given.
    words: Option<String>,
    /// The latest filing times the filters let through (SQL: now, the end of the span, the
    /// cursor's time): the search covers up to the earliest of them.
    ends: Vec<String>,
    /// The parts of what the searcher may see that are read apart, each with the filters, and
    /// merged (an agency's staff: the orders it holds, and those it helps with), or none.
    scopes: Vec<String>,
    phone: Option<workorder::PhoneNumber>,
}

impl Search {
    /// The orders found, newest first, at most `fetch` of them, in the caller's transaction
    /// (`order_store::search::find`, for each scope, merged).
    async fn run(
        &mut self,
        db: &Connection,
        fetch: i64,
    ) -> Result<Vec<order_store::db::Row>, ApiError> {
        let placeholder = self.clauses.bind(fetch.into());
        let params = std::mem::take(&mut self.clauses.params);
        let latest = format!("least({})", self.ends.join(", "));
        let fetch = usize::try_from(fetch).unwrap_or(usize::MAX);
        let scopes: Vec<Option<&String>> = if self.scopes.is_empty() {
            vec![None]
        } else {
            self.scopes.iter().map(Some).collect()
        };
        db.execute(order_store::search::SEARCH_SETTINGS, []).await?;
        let mut found = Vec::new();
        for scope in scopes {
            let parts: Vec<&str> = (scope.into_iter().chain(&self.clauses.parts))
                .map(String::as_str)
                .collect();
            let filter = if parts.is_empty() {
                String::new()
            } else {
                format!("where {}", parts.join(" and "))
            };
            found.push(
                order_store::search::find(
                    &filter,
                    self.words.as_deref(),
                    &latest,
                    &placeholder,
                    fetch,
                    async |statement| {
                        let rows = db.query(statement, params.clone()).await?;
                        Ok::<_, ApiError>(rows.collect().await?)
                    },
                )
                .await?,
            );
        }
        Ok(order_store::search::merge_newest(found, fetch, |row| {
            (
                order_store::utc(row, "created_at"),
                row.get::<uuid::Uuid>("work_order_id"),
            )
        }))
    }

    /// Records a lookup by number (in the caller's transaction): who, and how many were shown.
    async fn record_lookup(
        &self,
        db: &Connection,
        principal: &Principal,
        found: usize,
    ) -> Result<(), ApiError> {
        if let Some(number) = &self.phone {
            db.execute(
                "insert into phone_searches (phone, subject, role, found) values ($1, $2, $3, $4)",
                [
                    text(number.as_str()),
                    text(&principal.subject),
                    text(&principal.role),
                    i32::try_from(found).unwrap_or(i32::MAX).into(),
                ],
            )
            .await?;
        }
        Ok(())
    }
}

pub async fn search(principal: &Principal, query: &str) -> Result<Reply, ApiError> {
    let api_plumbing::PageQuery {
        limit,
        after: cursor,
    } = api_plumbing::page_query(query, DEFAULT_PAGE, MAX_PAGE)?;
    let db = api_plumbing::connect().await?;
    let mut search = build(&db, principal, query).await?;
    if let Some((at, id)) = cursor {
        let at = search.clauses.bind(at.into());
        search.clauses.add(
            &format!("(o.created_at, o.work_order_id) < ({at}::timestamp, {{}}::uuid)"),
            id.into(),
        );
        search.ends.push(format!("{at}::timestamp"));
    }
    let page = db
        .transaction(async {
            let rows = search.run(&db, i64::from(limit + 1)).await?;
            let mut items = rows.iter().map(summary).collect::<Result<Vec<_>, _>>()?;
            let next_cursor = api_plumbing::next_page(&mut items, limit, |last| {
                api_plumbing::cursor(last.created_at, last.id)
            });
            search.record_lookup(&db, principal, items.len()).await?;
            Ok::<_, ApiError>(StaffOrderPage { items, next_cursor })
        })
        .await?;
    Ok(reply_with(StatusCode::OK, &page))
}

/// The filters of `query`, checked, as a search `principal` may make.
async fn build(db: &Connection, principal: &Principal, query: &str) -> Result<Search, ApiError> {
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

    let now = order_store::now(db).await?;
    let today = workorder::china_today(now);
    let (from, to) = span(query, today, phone.is_none(), &mut problems);
    if let Some(code) = &category
        && !order_store::category_exists(db, code).await?
    {
        problems.push(field_error("category", "unknown", "没有这个诉求类别"));
    }
    if let Some(code) = &district
        && !order_store::district_exists(db, code).await?
    {
        problems.push(field_error("district", "unknown", "没有这个区县"));
    }
    if centre
        && let Some(code) = &agency
        && !order_store::agency_exists(db, code).await?
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
    let mut scopes = Vec::new();
    if let Some(own) = own_agency {
        let own = clauses.bind(text(own));
        scopes = vec![
            order_store::search::AGENCYS_OWN.replace("{}", &own),
            order_store::search::agencys_co_handled(&own),
        ];
    } else if let Some(agency) = agency {
        clauses.add(order_store::search::AGENCYS_OWN, text(agency));
    }
    if let Some(number) = &phone {
        clauses.add(order_store::search::CALLERS_ORDERS, text(number.as_str()));
    }
    let words = words.map(|words| clauses.bind(text(words)));
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
    let mut ends = vec!["now()".to_owned()];
    if let Some(to) = to {
        let to = clauses.add("o.created_at < {}::timestamp", to.into());
        ends.push(format!("{to}::timestamp"));
    }
    Ok(Search {
        clauses,
        words,
        ends,
        scopes,
        phone,
    })
}

/// The most orders one export gives; beyond them, the search must be narrowed.
pub const MAX_EXPORTED: i64 = 10_000;

/// `GET /api/v1/orders/export`: the search whole, as CSV (UTF-8 with a byte-order mark, so that
/// spreadsheets read the Chinese), recorded in the transaction that reads it.
pub async fn export(principal: &Principal, query: &str) -> Result<Reply, ApiError> {
    if query_param(query, "cursor").is_some() || query_param(query, "limit").is_some() {
        return Err(ApiError::Validation(vec![field_error(
            "limit",
            "not_allowed",
            "导出不分页 (an export is not paged)",
        )]));
    }
    let db = api_plumbing::connect().await?;
    let mut search = build(&db, principal, query).await?;
    let (items, now) = db.transaction(async {
        let rows = search.run(&db, MAX_EXPORTED + 1).await?;
        if i64::try_from(rows.len()).unwrap_or(i64::MAX) > MAX_EXPORTED {
            return Err(ApiError::Validation(vec![field_error(
                "from",
                "too_many_to_export",
                format!(
                    "超过 {MAX_EXPORTED} 件，请缩小查询范围后再导出 (more than {MAX_EXPORTED} orders: narrow the search)"
                ),
            )]));
        }
        let items = rows.iter().map(summary).collect::<Result<Vec<_>, _>>()?;
        search.record_lookup(&db, principal, items.len()).await?;
        db.execute(
            "insert into order_exports (subject, role, filters, exported) values ($1, $2, $3, $4)",
            [
                text(&principal.subject),
                text(&principal.role),
                text(readable(query)),
                i32::try_from(items.len()).unwrap_or(i32::MAX).into(),
            ],
        )
        .await?;
        Ok::<_, ApiError>((items, order_store::now(&db).await?))
    })
    .await?;
    let mut csv =
        String::from("\u{feff}工单编号,受理时间,状态,类别,标题,紧急,承办单位,办理时限\r\n");
    let china = |at: chrono::DateTime<chrono::Utc>| {
        at.with_timezone(&workorder::china_time())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    for order in &items {
        let cells = [
            order.tracking_number.clone(),
            china(order.created_at),
            order.status_label.clone(),
            order.category.name.clone(),
            order.title.clone(),
            if order.urgent { "是" } else { "否" }.to_owned(),
            order
                .agency
                .as_ref()
                .map(|a| a.name.clone())
                .unwrap_or_default(),
            order.deadline_at.map(china).unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|cell| csv_cell(cell)).collect();
        csv.push_str(&line.join(","));
        csv.push_str("\r\n");
    }
    let mut reply = spin_sdk::http::Response::new(csv);
    *reply.status_mut() = StatusCode::OK;
    let headers = reply.headers_mut();
    headers.insert(
        "content-type",
        spin_sdk::http::HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let name = format!(
        "attachment; filename=\"orders-{}.csv\"",
        now.with_timezone(&workorder::china_time())
            .format("%Y%m%d-%H%M")
    );
    if let Ok(value) = spin_sdk::http::HeaderValue::from_str(&name) {
        headers.insert("content-disposition", value);
    }
    Ok(reply)
}

/// The filters of `query` as the audit log shows them: each value percent-decoded (`q=路灯`, not
/// `q=%E8%B7%AF%E7%81%AF`), with only `%`, `&` and `=` in it written as escapes, so that the
/// pairs still read apart. A value that is not UTF-8 once decoded is kept as it came.
fn readable(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, _) = pair.split_once('=').unwrap_or((pair, ""));
            match query_text(pair, key) {
                Ok(Some(value)) => {
                    let value = value
                        .replace('%', "%25")
                        .replace('&', "%26")
                        .replace('=', "%3D");
                    format!("{key}={value}")
                }
                _ => pair.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// One CSV cell: quoted when it holds a comma, a quote or a line break (quotes doubled); a cell
/// a spreadsheet would take for a formula (`=`, `+`, `-`, `@` first) starts with `'` instead,
/// so that a citizen's words are never run as one.
fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// `POST /internal/search-indexes` (the runtime's schedule, every ten seconds): merges what was
/// written since into the words and characters indexes (`merge_search_pending_lists`, migration
/// 67). Every lookup through a GIN index reads its pending list whole, and PostgreSQL merges the
/// list only when it passes 4 MB, in the write that passes it: a search for words no order holds
/// then took several ms instead of 0.1, and that write hundreds of ms.
pub async fn merge_pending_lists() -> Result<Reply, ApiError> {
    let db = api_plumbing::connect().await?;
    let rows = db
        .query("select merge_search_pending_lists() as pages", [])
        .await?
        .collect()
        .await?;
    let pages: i64 = rows.first().and_then(|row| row.get("pages")).unwrap_or(0);
    Ok(reply_with(
        StatusCode::OK,
        &serde_json::json!({ "pages_merged": pages }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("路灯不亮"), "路灯不亮");
        assert_eq!(csv_cell("一,二"), "\"一,二\"");
        assert_eq!(csv_cell("他说\"快修\""), "\"他说\"\"快修\"\"\"");
        assert_eq!(csv_cell("第一行\n第二行"), "\"第一行\n第二行\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
    }

    #[test]
    fn exports_are_audited_with_their_filters_readable() {
        assert_eq!(
            readable("q=%E8%B7%AF%E7%81%AF&category=urban"),
            "q=路灯&category=urban"
        );
        assert_eq!(readable("q=a%26b%3Dc+d%25"), "q=a%26b%3Dc d%25");
        assert_eq!(readable("q=%FF&&urgent"), "q=%FF&urgent");
        assert_eq!(readable(""), "");
    }
}
