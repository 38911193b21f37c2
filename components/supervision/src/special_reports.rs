//! Special public-opinion reports (舆情专报): what citizens said about one matter — the requests
//! whose title, description, address or supplements hold one of its keywords, or of its category
//! — in a span of days: how many against the span before and against all the hotline received,
//! day by day, by district, category and channel, what became of them, how their citizens rated
//! them, the cases most citizens raised, and a paragraph that says it all. Anyone who watches
//! over orders may look at a topic (`topic-report`); supervisors and administrators issue a
//! report under a number of the year, with their analysis, and the city's leaders and
//! supervisors are told. An issued report keeps the figures its readers read.

use crate::error::ApiError;
use crate::report::{Counted, Names, change, count_outcome, midnight, parse_date, ranked, today};
use api_plumbing::{Principal, Reply, field_error, query_text, reply_with};
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use mobile_api::{
    DayCount, FieldError, Named, NewSpecialReport, ReceivedOutcomes, ReportCount, SpecialReport,
    SpecialReportList, SpecialReportSummary, TopicCase, TopicReport, Withdrawal,
};
use order_store::db::{Connection, Row};
use order_store::oversight::{self, TopicRead};
use order_store::{named, required, required_named, text, utc};
use spin_sdk::http::StatusCode;
use spin_sdk::pg::ParameterValue;
use std::collections::BTreeMap;

const MAX_KEYWORDS: usize = 10;
const MAX_KEYWORD_CHARS: usize = 20;
/// A span of at most a year (a leap year's).
const MAX_SPAN_DAYS: i64 = 366;
/// Without `from`, the 30 days to `to`.
const DEFAULT_SPAN_DAYS: i64 = 30;
const TOP_CATEGORIES: usize = 10;
/// How many issues the list shows: years of them.
const LISTED: i64 = 200;

/// A topic, checked.
struct Topic {
    /// As given, trimmed, each once.
    keywords: Vec<String>,
    category: Option<Named>,
    from: NaiveDate,
    to: NaiveDate,
}

impl Topic {
    /// How the summary names it: `涉及“供暖、暖气”的`, `“城市管理”类的`, or both.
    fn words(&self) -> String {
        let keywords = (!self.keywords.is_empty()).then(|| self.keywords.join("、"));
        match (&self.category, keywords) {
            (Some(category), Some(keywords)) => {
                format!("“{}”类中涉及“{keywords}”的", category.name)
            }
            (Some(category), None) => format!("“{}”类的", category.name),
            (None, Some(keywords)) => format!("涉及“{keywords}”的"),
            (None, None) => String::new(),
        }
    }
}

/// What a topic's asker wrote, before it is checked.
struct Asked {
    keywords: Vec<String>,
    category: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

/// `asked` trimmed, without the empty ones, each once, as first typed. Two are one keyword when
/// they are the same words as the search compares them (`search_text`, migration 64: lower case,
/// in Unicode's compatibility form): ＬＥＤ and led, ＰＭ２.５ and pm2.5 find the same requests,
/// and counted apart they were two lines of the same figures.
fn distinct_keywords(asked: &[String]) -> Vec<String> {
    use unicode_normalization::UnicodeNormalization;
    let compared = |word: &str| word.nfkc().collect::<String>().to_lowercase();
    let mut keywords: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    for word in asked.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
        let key = compared(word);
        if !seen.contains(&key) {
            seen.push(key);
            keywords.push(word.to_owned());
        }
    }
    keywords
}

/// Checks a topic against the catalogue and `today`, adding what is wrong to `problems`.
async fn checked(
    db: &Connection,
    asked: Asked,
    today: NaiveDate,
    problems: &mut Vec<FieldError>,
) -> Result<Option<Topic>, ApiError> {
    let keywords = distinct_keywords(&asked.keywords);
    if keywords.len() > MAX_KEYWORDS
        || keywords
            .iter()
            .any(|k| k.chars().count() > MAX_KEYWORD_CHARS)
    {
        problems.push(field_error(
            "keywords",
            "invalid_length",
            format!(
                "关键词至多 {MAX_KEYWORDS} 个，每个至多 {MAX_KEYWORD_CHARS} 个字 \
                 (at most {MAX_KEYWORDS} keywords of {MAX_KEYWORD_CHARS} characters)"
            ),
        ));
    }
    let category = match asked.category.filter(|c| !c.is_empty()) {
        None => None,
        Some(code) => {
            let found = order_store::category_named(db, &code).await?;
            if found.is_none() {
                problems.push(field_error("category", "unknown", "没有这个诉求类别"));
            }
            found
        }
    };
    if keywords.is_empty() && category.is_none() && problems.iter().all(|p| p.field != "category") {
        problems.push(field_error(
            "keywords",
            "topic_required",
            "请填写关键词或选择诉求类别 (name keywords or a category)",
        ));
    }
    let to = asked.to.unwrap_or(today);
    let from = asked
        .from
        .unwrap_or(to - TimeDelta::days(DEFAULT_SPAN_DAYS - 1));
    if to > today {
        problems.push(field_error(
            "to",
            "in_future",
            "不能晚于今天 (the date is after today)",
        ));
    }
    if from > to {
        problems.push(field_error(
            "from",
            "after_to",
            "开始日期不能晚于结束日期 (from is after to)",
        ));
    } else if (to - from).num_days() + 1 > MAX_SPAN_DAYS {
        problems.push(field_error(
            "from",
            "span_too_long",
            format!("统计时段至多 {MAX_SPAN_DAYS} 天 (at most {MAX_SPAN_DAYS} days)"),
        ));
    }
    Ok(problems.is_empty().then_some(Topic {
        keywords,
        category,
        from,
        to,
    }))
}

/// `GET /api/v1/supervision/topic-report?keywords=&category=&from=&to=`: `keywords` separated by
/// commas (`,`, `，` or `、`).
pub async fn topic_report(query: &str) -> Result<Reply, ApiError> {
    let mut problems: Vec<FieldError> = Vec::new();
    let mut text_of = |name: &str| {
        query_text(query, name).unwrap_or_else(|problem| {
            problems.push(problem);
            None
        })
    };
    let keywords = text_of("keywords").unwrap_or_default();
    let category = text_of("category");
    let (from, to) = (text_of("from"), text_of("to"));
    let mut date = |field: &str, raw: Option<String>| {
        raw.filter(|d| !d.is_empty())
            .and_then(|d| parse_date(field, &d).map_err(|p| problems.push(p)).ok())
    };
    let (from, to) = (date("from", from), date("to", to));
    let asked = Asked {
        keywords: keywords
            .split([',', '，', '、'])
            .map(str::to_owned)
            .collect(),
        category,
        from,
        to,
    };
    let db = db().await?;
    let now = order_store::now(&db).await?;
    let topic = checked(&db, asked, today(now), &mut problems).await?;
    let Some(topic) = topic.filter(|_| problems.is_empty()) else {
        return Err(ApiError::Validation(problems));
    };
    Ok(reply_with(
        StatusCode::OK,
        &compute(&db, &topic, now).await?,
    ))
}

/// The topic report of `topic`, at `now`.
async fn compute(
    db: &Connection,
    topic: &Topic,
    now: DateTime<Utc>,
) -> Result<TopicReport, ApiError> {
    let days = (topic.to - topic.from).num_days() + 1;
    let (start, end) = (
        midnight(topic.from),
        midnight(topic.to + TimeDelta::days(1)),
    );
    // As asked: the statement puts them in the form the text is compared in (`search_text`).
    let asked = &topic.keywords;
    let words: Vec<Option<String>> = asked.iter().cloned().map(Some).collect();
    let category: Option<String> = topic.category.as_ref().map(|c| c.code.clone());
    let first = midnight(topic.from - TimeDelta::days(days));
    let on_topic = |words: &Vec<Option<String>>| -> [ParameterValue; 5] {
        [
            first.into(),
            start.into(),
            end.into(),
            words.clone().into(),
            category.clone().into(),
        ]
    };
    // In a transaction of its own, for the settings it is planned with.
    let rows: Vec<Row> = db
        .transaction(async {
            db.execute(oversight::TOPIC_SETTINGS, []).await?;
            // PostgreSQL's plans of the statement reading the span whole and of those written
            // for the search indexes (for the words as `JUDGED_WORDS` gives them, each as
            // common as it may be): the one it expects to cost least runs.
            let plan = async |read: TopicRead, words: &Vec<Option<String>>| {
                let lines = db
                    .query(
                        format!("explain {}", oversight::topic(asked, read)),
                        on_topic(words),
                    )
                    .await?
                    .collect()
                    .await?;
                let lines = lines
                    .iter()
                    .map(|row| required::<String>(row, "QUERY PLAN"))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, ApiError>(lines)
            };
            let read = if oversight::words_indexable(asked) {
                let judged = db
                    .query(oversight::JUDGED_WORDS, [words.clone().into()])
                    .await?
                    .collect()
                    .await?
                    .iter()
                    .map(|row| required::<String>(row, "word").map(Some))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut plans = Vec::new();
                for (read, judged_words) in oversight::TOPIC_PLANS {
                    plans.push(plan(read, if judged_words { &judged } else { &words }).await?);
                }
                oversight::topic_read(&plans[0], &plans[1], &plans[2])
            } else {
                TopicRead::Whole
            };
            let rows = db
                .query(oversight::topic(asked, read), on_topic(&words))
                .await?
                .collect()
                .await?;
            Ok::<_, ApiError>(rows)
        })
        .await?;
    let all = db
        .query(oversight::RECEIVED_ALL, [start.into(), end.into()])
        .await?
        .collect()
        .await?;
    let names = db.query(oversight::ALL_NAMES, []).await?.collect().await?;
    let names = Names::of(&names)?;
    let kind = |row: &Row| row.get::<String>("kind");
    let (counted, cases): (Vec<&Row>, Vec<&Row>) = rows
        .iter()
        .partition(|row| kind(row).as_deref() == Some("count"));
    let mut cases = cases
        .into_iter()
        .map(|row| Ok((required::<i64>(row, "rank")?, case(row)?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    cases.sort_by_key(|(rank, _)| *rank);
    let tally = Tally::of(&counted)?;
    let today = today(now);
    let daily = (0..days)
        .map(|n| topic.from + TimeDelta::days(n))
        .take_while(|day| *day <= today)
        .map(|date| DayCount {
            date,
            count: tally.daily.get(&date).copied().unwrap_or(0),
        })
        .collect();
    let mut report = TopicReport {
        keywords: topic.keywords.clone(),
        category: topic.category.clone(),
        from: topic.from,
        to: topic.to,
        complete: now.naive_utc() >= end,
        computed_at: now,
        received: tally.received.0,
        received_before: tally.received.1,
        received_all: all
            .first()
            .map(|row| required(row, "n"))
            .transpose()?
            .unwrap_or(0),
        daily,
        by_district: ranked(&tally.districts, usize::MAX, |code| names.district(code)),
        by_category: ranked(&tally.categories, TOP_CATEGORIES, |code| {
            names.category(code)
        }),
        by_channel: ranked(&tally.channels, usize::MAX, |code| {
            workorder::channel_label(code).to_owned()
        }),
        outcomes: tally.outcomes,
        overdue: tally.overdue,
        rated: tally.rated,
        satisfied: tally.satisfied,
        cases: cases.into_iter().map(|(_, case)| case).collect(),
        summary: String::new(),
    };
    report.summary = summary(&report, topic);
    Ok(report)
}

/// The topic's requests counted every way the report needs (see `oversight::topic`).
#[derive(Default)]
struct Tally {
    /// (the span, the span before)
    received: (i64, i64),
    daily: BTreeMap<NaiveDate, i64>,
    channels: BTreeMap<String, (i64, i64)>,
    categories: BTreeMap<String, (i64, i64)>,
    districts: BTreeMap<String, (i64, i64)>,
    outcomes: ReceivedOutcomes,
    overdue: i64,
    rated: i64,
    satisfied: i64,
}

impl Tally {
    fn of(rows: &[&Row]) -> Result<Tally, ApiError> {
        let mut tally = Tally::default();
        for row in rows {
            let counted = Counted::of(row)?;
            let (current, n) = (counted.current, counted.n);
            let add = |counts: &mut (i64, i64)| counted.add_to(counts);
            let key = |column: &str| row.get::<String>(column);
            if let Some(day) = row.get::<NaiveDate>("day") {
                if current {
                    *tally.daily.entry(day).or_default() += n;
                }
            } else if let Some(channel) = key("channel") {
                add(tally.channels.entry(channel).or_default());
            } else if let Some(category) = key("category") {
                add(tally.categories.entry(category).or_default());
            } else if let Some(district) = key("district") {
                add(tally.districts.entry(district).or_default());
            } else if let Some(status) = key("status") {
                if current {
                    count_outcome(&mut tally.outcomes, &status, n);
                    tally.overdue += required::<i64>(row, "overdue")?;
                    tally.rated += required::<i64>(row, "rated")?;
                    tally.satisfied += required::<i64>(row, "satisfied")?;
                }
            } else {
                add(&mut tally.received);
            }
        }
        Ok(tally)
    }
}

fn case(row: &Row) -> Result<TopicCase, ApiError> {
    let status: String = required(row, "status")?;
    Ok(TopicCase {
        tracking_number: required(row, "tracking_number")?,
        title: required(row, "title")?,
        category: required_named(row, "category_id", "category_name")?,
        district: named(row, "district_id", "district_name"),
        status_label: workorder::status_label(&status).to_owned(),
        status,
        citizens: required(row, "citizens")?,
        created_at: utc(row, "created_at")
            .ok_or_else(|| ApiError::Internal("a case without created_at".into()))?,
    })
}

/// A day as people write it: `11月3日`, with the year when `with_year`.
fn day_words(day: NaiveDate, with_year: bool) -> String {
    if with_year {
        format!("{}年{}月{}日", day.year(), day.month(), day.day())
    } else {
        format!("{}月{}日", day.month(), day.day())
    }
}

/// The span as people write it: `2026年11月1日至11月30日`, `2026年12月1日`.
fn span_words(from: NaiveDate, to: NaiveDate) -> String {
    if from == to {
        day_words(from, true)
    } else {
        format!(
            "{}至{}",
            day_words(from, true),
            day_words(to, from.year() != to.year())
        )
    }
}

/// `part` of `whole` as a percentage with one decimal.
fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        "0.0%".into()
    } else {
        format!("{:.1}%", part as f64 / whole as f64 * 100.0)
    }
}

/// The topic report in a paragraph.
fn summary(report: &TopicReport, topic: &Topic) -> String {
    let mut text = format!("{}，", span_words(report.from, report.to));
    if !report.complete {
        text.push_str("截至目前，");
    }
    let about = topic.words();
    if report.received == 0 {
        text.push_str(&format!(
            "全市 12345 热线未受理{about}群众诉求（前一时段 {} 件）。",
            report.received_before
        ));
        return text;
    }
    let compared = if report.received_before == 0 {
        "前一时段无此类诉求".to_owned()
    } else {
        format!(
            "比前一时段{}（前一时段 {} 件）",
            change(report.received, report.received_before),
            report.received_before
        )
    };
    text.push_str(&format!(
        "全市 12345 热线共受理{about}群众诉求 {} 件，占同期全部诉求（{} 件）的 {}，{compared}。",
        report.received,
        report.received_all,
        percent(report.received, report.received_all),
    ));
    if report.daily.len() > 1
        && let Some(peak) = report
            .daily
            .iter()
            .max_by(|a, b| a.count.cmp(&b.count).then_with(|| b.date.cmp(&a.date)))
    {
        text.push_str(&format!(
            "{}最多，为 {} 件。",
            day_words(peak.date, false),
            peak.count
        ));
    }
    let listed = |counts: &[ReportCount]| {
        counts
            .iter()
            .take(3)
            .map(|c| format!("{} {} 件", c.group.name, c.count))
            .collect::<Vec<_>>()
            .join("，")
    };
    text.push_str(&format!(
        "诉求较多的区县：{}；主要类别：{}；按渠道：{}。",
        listed(&report.by_district),
        listed(&report.by_category),
        listed(&report.by_channel),
    ));
    let o = &report.outcomes;
    text.push_str(&format!(
        "其中中心直接办结 {} 件，合并重复诉求 {} 件{}，待派单 {} 件，承办单位办理中 {} 件",
        o.closed_by_centre,
        o.merged,
        crate::report::withdrawn_words(o),
        o.waiting_dispatch,
        o.with_agency
    ));
    if report.overdue > 0 {
        text.push_str(&format!("（已超期 {} 件）", report.overdue));
    }
    text.push_str(&format!("，已答复 {} 件。", o.answered));
    if report.rated == 0 {
        text.push_str("尚无群众评价。");
    } else {
        text.push_str(&format!(
            "群众已评价 {} 件，满意（含基本满意）{} 件，满意率 {}。",
            report.rated,
            report.satisfied,
            percent(report.satisfied, report.rated)
        ));
    }
    if let Some(case) = report.cases.first().filter(|c| c.citizens > 1) {
        text.push_str(&format!(
            "反映人数最多的是 {}“{}”（{} 位群众）。",
            case.tracking_number, case.title, case.citizens
        ));
    }
    text
}

/// `POST /api/v1/admin/special-reports` (supervisors and administrators): computes the topic
/// report and issues it under the year's next number, the readers told, in one transaction;
/// a retry under the same `Idempotency-Key` gets the same issue.
pub async fn issue(
    principal: &Principal,
    idempotency_key: Option<&str>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let idempotency = crate::issuing::keyed(idempotency_key, body)?;
    let new: NewSpecialReport = api_plumbing::parse_json(body)?;
    let mut problems: Vec<FieldError> = Vec::new();
    let (title, commentary) =
        crate::issuing::worded(&new.title, new.commentary.as_deref(), &mut problems);
    let db = db().await?;
    let now = order_store::now(&db).await?;
    let asked = Asked {
        keywords: new.keywords.clone(),
        category: new.category.clone(),
        from: new.from,
        to: new.to,
    };
    let topic = checked(&db, asked, today(now), &mut problems).await?;
    let Some(topic) = topic.filter(|_| problems.is_empty()) else {
        return Err(ApiError::Validation(problems));
    };
    let report = compute(&db, &topic, now).await?;
    let issuing = Issuing {
        subject: &principal.subject,
        title,
        commentary,
        report,
    };
    let subject = &principal.subject;
    crate::issuing::issue(
        &db,
        subject,
        idempotency,
        issue_in_transaction(&db, &issuing),
    )
    .await
}

/// A special report to issue, checked and computed.
struct Issuing<'a> {
    subject: &'a str,
    title: &'a str,
    commentary: Option<&'a str>,
    report: TopicReport,
}

/// Issues it, in the caller's transaction: its JSON.
async fn issue_in_transaction(db: &Connection, issuing: &Issuing<'_>) -> Result<String, ApiError> {
    let subject = issuing.subject;
    // The year's numbers are given out one issue at a time; reading them is not held up.
    db.execute("lock table special_reports in exclusive mode", [])
        .await?;
    let report_json =
        serde_json::to_vec(&issuing.report).map_err(|e| ApiError::Internal(e.to_string()))?;
    let made = db
        .query(
            format!(
                "insert into special_reports (year, issue, title, commentary, report, issued_by) \
                 select y.year, coalesce(max(s.issue), 0) + 1, $1, $2, $3, $4 \
                 from (select extract(year from now() at time zone 'Asia/Shanghai')::int as year) y \
                 left join special_reports s on s.year = y.year group by y.year \
                 returning {COLUMNS}"
            ),
            [
                text(issuing.title),
                issuing.commentary.map(str::to_owned).into(),
                ParameterValue::Jsonb(report_json),
                text(subject),
            ],
        )
        .await?
        .collect()
        .await?;
    let row = made
        .first()
        .ok_or_else(|| ApiError::Internal("no special report made".into()))?;
    let issued = Issue::of(row)?.with(issuing.report.clone());
    order_store::outbox::special_report_notices(
        db,
        issued.id,
        "special_report",
        &as_named(&issued.heading, &issued.title),
        subject,
    )
    .await?;
    serde_json::to_string(&issued).map_err(|e| ApiError::Internal(e.to_string()))
}

/// A special report's columns, without its figures.
const COLUMNS: &str = "special_report_id, year, issue, title, commentary, issued_by, issued_at, \
     withdrawn_at, withdrawn_by, withdrawn_reason";

/// `GET /api/v1/supervision/special-reports?year=`: the latest first, of one year if asked.
pub async fn list(query: &str) -> Result<Reply, ApiError> {
    let year = year_asked(query)?;
    let db = db().await?;
    let rows = db
        .query(
            format!(
                "select {COLUMNS}, report->'keywords' as keywords, report->'category' as category, \
                        report->>'from' as from_date, report->>'to' as to_date, \
                        (report->>'received')::int8 as received \
                 from special_reports where ($1::int4 is null or year = $1) \
                 order by issued_at desc, special_report_id desc limit $2"
            ),
            [year.into(), (LISTED + 1).into()],
        )
        .await?
        .collect()
        .await?;
    let (rows, more) = crate::report::capped(&rows, LISTED);
    let items = rows
        .iter()
        .map(|row| {
            let issued = Issue::of(row)?;
            let json = |column: &str| row.get::<serde_json::Value>(column).unwrap_or_default();
            let date = |column: &str| {
                row.get::<String>(column)
                    .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
                    .ok_or_else(|| ApiError::Internal(format!("a special report without {column}")))
            };
            Ok(SpecialReportSummary {
                id: issued.id,
                heading: issued.heading,
                title: issued.title,
                keywords: serde_json::from_value(json("keywords")).unwrap_or_default(),
                category: serde_json::from_value(json("category")).unwrap_or_default(),
                from: date("from_date")?,
                to: date("to_date")?,
                received: required(row, "received")?,
                issued_by: issued.issued_by,
                issued_at: issued.issued_at,
                withdrawn: issued.withdrawn,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(reply_with(
        StatusCode::OK,
        &SpecialReportList { items, more },
    ))
}

/// `GET /api/v1/supervision/special-reports/{id}`: as issued.
pub async fn get(id: &str) -> Result<Reply, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let db = db().await?;
    let rows = db
        .query(
            format!("select {COLUMNS}, report from special_reports where special_report_id = $1"),
            [id.into()],
        )
        .await?
        .collect()
        .await?;
    let row = rows.first().ok_or(ApiError::NotFound)?;
    let figures: serde_json::Value = required(row, "report")?;
    let report = serde_json::from_value(figures)
        .map_err(|e| ApiError::Internal(format!("a special report's figures: {e}")))?;
    Ok(reply_with(StatusCode::OK, &Issue::of(row)?.with(report)))
}

/// The `?year=` of a list of issues, if asked.
pub(crate) fn year_asked(query: &str) -> Result<Option<i32>, ApiError> {
    let Some(raw) = api_plumbing::query_param(query, "year").filter(|y| !y.is_empty()) else {
        return Ok(None);
    };
    raw.parse::<i32>()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .map(Some)
        .ok_or_else(|| {
            ApiError::Validation(vec![field_error(
                "year",
                "invalid_value",
                "应为年份，如 2026 (a year, e.g. 2026)",
            )])
        })
}

/// An issue's heading: `舆情专报 2026年第3期`.
fn heading(year: i32, issue: i32) -> String {
    format!("舆情专报 {year}年第{issue}期")
}

/// An issue as notices name it: `舆情专报 2026年第3期《关于供暖问题的舆情专报》`.
pub(crate) fn as_named(heading: &str, title: &str) -> String {
    format!("{heading}《{title}》")
}

/// `POST /api/v1/admin/special-reports/{id}/withdraw`: marks the issue withdrawn (撤回) with the
/// reason and tells every leader and supervisor but the one who withdraws it, in one transaction;
/// a withdrawn issue is answered as it is.
pub async fn withdraw(principal: &Principal, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let reason = crate::issuing::withdrawal_reason(body)?;
    let db = db().await?;
    db.transaction(async {
        let rows = db
            .query(
                "update special_reports set withdrawn_at = now(), withdrawn_by = $2, \
                 withdrawn_reason = $3 where special_report_id = $1 and withdrawn_at is null \
                 returning year, issue, title",
                [id.into(), text(&principal.subject), text(reason)],
            )
            .await?
            .collect()
            .await?;
        if let Some(row) = rows.first() {
            let (year, issue): (i32, i32) = (required(row, "year")?, required(row, "issue")?);
            let title: String = required(row, "title")?;
            order_store::outbox::special_report_notices(
                &db,
                id,
                "special_report_withdrawn",
                &as_named(&heading(year, issue), &title),
                &principal.subject,
            )
            .await?;
        }
        Ok::<_, ApiError>(())
    })
    .await?;
    get(&id.to_string()).await
}

/// What every view of an issued report has (its `COLUMNS`), without its figures.
struct Issue {
    id: i64,
    year: i32,
    issue: i32,
    heading: String,
    title: String,
    commentary: Option<String>,
    issued_by: String,
    issued_at: DateTime<Utc>,
    withdrawn: Option<Withdrawal>,
}

impl Issue {
    fn of(row: &Row) -> Result<Issue, ApiError> {
        let year: i32 = required(row, "year")?;
        let issue: i32 = required(row, "issue")?;
        Ok(Issue {
            id: required(row, "special_report_id")?,
            year,
            issue,
            heading: heading(year, issue),
            title: required(row, "title")?,
            commentary: row.get("commentary"),
            issued_by: required(row, "issued_by")?,
            issued_at: utc(row, "issued_at")
                .ok_or_else(|| ApiError::Internal("a special report without issued_at".into()))?,
            withdrawn: crate::issuing::withdrawal(row)?,
        })
    }

    /// The issue with its figures.
    fn with(self, report: TopicReport) -> SpecialReport {
        SpecialReport {
            id: self.id,
            year: self.year,
            issue: self.issue,
            heading: self.heading,
            title: self.title,
            commentary: self.commentary,
            issued_by: self.issued_by,
            issued_at: self.issued_at,
            withdrawn: self.withdrawn,
            report,
        }
    }
}

async fn db() -> Result<Connection, ApiError> {
    api_plumbing::connect().await.map_err(ApiError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
    }

    #[test]
    fn spans_are_written_as_people_write_them() {
        assert_eq!(
            span_words(day("2026-11-01"), day("2026-11-30")),
            "2026年11月1日至11月30日"
        );
        assert_eq!(
            span_words(day("2026-12-01"), day("2026-12-01")),
            "2026年12月1日"
        );
        assert_eq!(
            span_words(day("2025-12-20"), day("2026-01-05")),
            "2025年12月20日至2026年1月5日"
        );
    }

    #[test]
    fn keywords_are_each_counted_once_in_any_case_or_width() {
        let asked = |words: &[&str]| {
            distinct_keywords(&words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(
            asked(&[" 暖气", "供暖 ", "暖气", "", "  "]),
            ["暖气", "供暖"]
        );
        assert_eq!(
            asked(&["ＰＭ２.５", "pm2.5", "PM2.5", "ＬＥＤ路灯", "led路灯"]),
            ["ＰＭ２.５", "ＬＥＤ路灯"]
        );
        // Compatibility forms: a half-width katakana with its sound mark is the full-width one.
        assert_eq!(asked(&["ｶﾞｽ", "ガス"]), ["ｶﾞｽ"]);
        assert!(asked(&[]).is_empty());
    }

    #[test]
    fn a_topic_is_named_by_its_category_and_keywords() {
        let topic = |keywords: &[&str], category: Option<&str>| Topic {
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
            category: category.map(|name| Named {
                code: "urban".into(),
                name: name.into(),
            }),
            from: day("2026-11-01"),
            to: day("2026-11-30"),
        };
        assert_eq!(topic(&["供暖", "暖气"], None).words(), "涉及“供暖、暖气”的");
        assert_eq!(topic(&[], Some("城市管理")).words(), "“城市管理”类的");
        assert_eq!(
            topic(&["占道"], Some("城市管理")).words(),
            "“城市管理”类中涉及“占道”的"
        );
    }

    #[test]
    fn shares_have_one_decimal_and_survive_nothing() {
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(0, 0), "0.0%");
        assert_eq!(percent(2, 2), "100.0%");
    }
}
