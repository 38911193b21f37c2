//! The knowledge base (知识库): the answers the centre gives to what citizens often ask. Operators
//! search it while a caller is on the line and answer from it (the `close_direct` action names the
//! article); citizens search it in the app before they file. Internal articles (内部口径) are for
//! staff only: citizens are never given one. Supervisors and administrators keep
//! it; each change is logged in the transaction that makes it (the audit log shows them).
//!
//! Search runs in the database: `knowledge_terms` (migration 34) cuts the question and the
//! articles into the same terms (Han character pairs, words of letters and digits); an article
//! answers when it shares at least half of the question's terms, best first.

use crate::error::ApiError;
use api_plumbing::{Principal, Reply, field_error, query_param, reply_with};
use mobile_api::{
    FieldError, KnowledgeArticle, KnowledgeArticleChange, KnowledgeArticleHistory,
    KnowledgeArticleInput, KnowledgeArticleList,
};
use order_store::db::{Connection, Row};
use order_store::{named, required, text, utc};
use spin_sdk::http::StatusCode;

const DEFAULT_LIMIT: u32 = 10;
const MAX_LIMIT: u32 = 50;
const MAX_QUESTION_CHARS: usize = 200;
const MAX_TITLE_CHARS: usize = 100;
const MAX_ANSWER_CHARS: usize = 4000;
const MAX_KEYWORDS: usize = 20;
const MAX_KEYWORD_CHARS: usize = 20;

const ARTICLES: &str = "select k.knowledge_article_id, k.title, k.answer, k.category_id, \
        c.name as category_name, k.agency_id, a.name as agency_name, k.keywords, k.updated_by, \
        k.updated_at, k.retired_at, k.internal \
    from knowledge_articles k left join categories c on c.category_id = k.category_id \
    left join agencies a on a.agency_id = k.agency_id";

/// The live articles of category `$2` (or under it; any when null), for whoever asks: citizens
/// are never given an internal one.
fn live_in_category(principal: &Principal) -> String {
    let shown = if for_citizens(principal) {
        " and not k.internal"
    } else {
        ""
    };
    format!(
        "k.retired_at is null{shown} and ($2::text is null or k.category_id = $2 \
         or k.category_id in (select category_id from categories where parent_id = $2))"
    )
}

/// Whether `principal` reads only what citizens may (internal articles are for staff).
fn for_citizens(principal: &Principal) -> bool {
    principal.role == "citizen"
}

/// `GET /api/v1/knowledge?q=&category=&limit=`: the articles that answer the question `q`, best
/// first; without `q`, the latest changed.
pub async fn search(principal: &Principal, query: &str) -> Result<Reply, ApiError> {
    let mut problems: Vec<FieldError> = Vec::new();
    let (limit, after) = match api_plumbing::page_query_of::<i64>(query, DEFAULT_LIMIT, MAX_LIMIT) {
        Ok(page) => (page.limit, page.after),
        Err(api_plumbing::PageError::Limit(problem)) => {
            problems.push(problem);
            (DEFAULT_LIMIT, None)
        }
        Err(api_plumbing::PageError::Cursor) => return Err(ApiError::InvalidCursor),
    };
    let question = api_plumbing::query_text(query, "q")
        .map_err(|problem| problems.push(problem))
        .ok()
        .flatten()
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    if question
        .as_ref()
        .is_some_and(|q| q.chars().count() > MAX_QUESTION_CHARS)
    {
        problems.push(field_error(
            "q",
            "too_long",
            format!("问题不能超过 {MAX_QUESTION_CHARS} 个字 (q is at most {MAX_QUESTION_CHARS} characters)"),
        ));
    }
    if question.is_some() && after.is_some() {
        problems.push(field_error(
            "cursor",
            "not_with_q",
            "按问题检索只给出最相关的几条，不分页 (a question's answers come in one page)",
        ));
    }
    let category = query_param(query, "category").filter(|c| !c.is_empty());
    let db = db().await?;
    if let Some(code) = category
        && !order_store::category_exists(&db, code).await?
    {
        problems.push(field_error("category", "unknown", "没有这个诉求类别"));
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let category = category.map(str::to_owned);
    let live = live_in_category(principal);
    let rows = match question {
        None => {
            let (at, id) = after.unzip();
            let rows = db
                .query(
                    format!(
                        "{ARTICLES} where {live} \
                         and ($3::timestamp is null or (k.updated_at, k.knowledge_article_id) < ($3, $4::int8)) \
                         order by k.updated_at desc, k.knowledge_article_id desc limit $1"
                    ),
                    [
                        (i64::from(limit) + 1).into(),
                        category.into(),
                        at.into(),
                        id.into(),
                    ],
                )
                .await?
                .collect()
                .await?;
            return paged(&rows, limit, "updated_at");
        }
        Some(question) => {
            let rows = db
                .query(
                    format!(
                        "with q as (select knowledge_terms($3, null, null) as terms), \
                         scored as ( \
                             select k.knowledge_article_id, \
                                    (select count(*) from unnest(q.terms) t where t = any(k.terms)) as matched, \
                                    (select count(*) from unnest(q.terms) t where t = any(k.title_terms)) as in_title, \
                                    cardinality(q.terms) as asked \
                             from knowledge_articles k, q \
                             where k.terms && q.terms and {live}) \
                         select k.*, s.matched, s.asked from scored s \
                         join ({ARTICLES}) k on k.knowledge_article_id = s.knowledge_article_id \
                         where s.matched * 2 >= s.asked \
                         order by s.matched + s.in_title desc, k.updated_at desc, k.knowledge_article_id desc \
                         limit $1"
                    ),
                    [i64::from(limit).into(), category.into(), text(&question)],
                )
                .await?
                .collect()
                .await?;
            if rows.is_empty() && !has_terms(&db, &question).await? {
                return Err(ApiError::Validation(vec![field_error(
                    "q",
                    "no_terms",
                    "请输入中文、字母或数字 (q has no characters to search by)",
                )]));
            }
            rows
        }
    };
    let items = rows.iter().map(article).collect::<Result<Vec<_>, _>>()?;
    Ok(reply_with(
        StatusCode::OK,
        &KnowledgeArticleList {
            items,
            next_cursor: None,
        },
    ))
}

/// A page of articles fetched with one more than `limit`, and the cursor after it (by `column`,
/// the time the page is ordered by, and the id).
fn paged(rows: &[Row], limit: u32, column: &str) -> Result<Reply, ApiError> {
    let mut items = rows
        .iter()
        .map(|row| Ok((article(row)?, utc(row, column))))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let next_cursor = api_plumbing::next_page(&mut items, limit, |(article, at)| {
        api_plumbing::cursor(at.unwrap_or(article.updated_at), article.id)
    });
    let items = items.into_iter().map(|(article, _)| article).collect();
    Ok(reply_with(
        StatusCode::OK,
        &KnowledgeArticleList { items, next_cursor },
    ))
}

/// `GET /api/v1/knowledge/{id}`: a live article (to a citizen, not an internal one).
pub async fn get(principal: &Principal, id: &str) -> Result<Reply, ApiError> {
    let id = article_id(id)?;
    let db = db().await?;
    let found = fetch(&db, id)
        .await?
        .filter(|a| a.retired_at.is_none() && !(a.internal && for_citizens(principal)));
    Ok(reply_with(
        StatusCode::OK,
        &found.ok_or(ApiError::ArticleNotFound)?,
    ))
}

/// `POST /api/v1/admin/knowledge`.
pub async fn create(principal: &Principal, body: &[u8]) -> Result<Reply, ApiError> {
    let input = checked(body)?;
    let db = db().await?;
    let id = in_transaction(&db, async || {
        let rows = db
            .query(
                "insert into knowledge_articles (title, answer, category_id, agency_id, keywords, created_by, updated_by, internal) \
                 values ($1, $2, $3, $4, $5, $6, $6, $7) returning knowledge_article_id",
                fields(&input, principal),
            )
            .await
            .map_err(|e| constraint_error(&e).unwrap_or_else(|| e.into()))?
            .collect()
            .await?;
        let id: i64 = rows
            .first()
            .map(|row| required(row, "knowledge_article_id"))
            .transpose()?
            .ok_or_else(|| ApiError::Internal("no article id".into()))?;
        log_change(&db, id, "created", principal).await?;
        Ok(id)
    })
    .await?;
    answer(&db, id, StatusCode::CREATED).await
}

/// `PUT /api/v1/admin/knowledge/{id}`: the whole article, as it is to read from now on.
pub async fn update(principal: &Principal, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let id = article_id(id)?;
    let input = checked(body)?;
    let db = db().await?;
    in_transaction(&db, async || {
        let mut params = fields(&input, principal);
        params.push(id.into());
        let changed = db
            .execute(
                "update knowledge_articles set title = $1, answer = $2, category_id = $3, agency_id = $4, \
                        keywords = $5, updated_by = $6, internal = $7, updated_at = now() \
                 where knowledge_article_id = $8 and retired_at is null",
                params,
            )
            .await
            .map_err(|e| constraint_error(&e).unwrap_or_else(|| e.into()))?;
        if changed == 0 {
            return Err(ApiError::ArticleNotFound);
        }
        log_change(&db, id, "updated", principal).await
    })
    .await?;
    answer(&db, id, StatusCode::OK).await
}

/// `POST /api/v1/admin/knowledge/{id}/retire`: no longer given; kept for the orders answered
/// from it.
pub async fn retire(principal: &Principal, id: &str) -> Result<Reply, ApiError> {
    let id = article_id(id)?;
    let db = db().await?;
    in_transaction(&db, async || {
        let changed = db
            .execute(
                "update knowledge_articles set retired_at = now(), updated_by = $2, updated_at = now() \
                 where knowledge_article_id = $1 and retired_at is null",
                [id.into(), text(&principal.subject)],
            )
            .await?;
        if changed == 0 {
            return Err(ApiError::ArticleNotFound);
        }
        log_change(&db, id, "retired", principal).await
    })
    .await?;
    answer(&db, id, StatusCode::OK).await
}

/// `POST /api/v1/admin/knowledge/{id}/restore`: a retired article is given again.
pub async fn restore(principal: &Principal, id: &str) -> Result<Reply, ApiError> {
    let id = article_id(id)?;
    let db = db().await?;
    in_transaction(&db, async || {
        let changed = db
            .execute(
                "update knowledge_articles set retired_at = null, updated_by = $2, updated_at = now() \
                 where knowledge_article_id = $1 and retired_at is not null",
                [id.into(), text(&principal.subject)],
            )
            .await?;
        if changed == 0 {
            return Err(ApiError::ArticleNotFound);
        }
        log_change(&db, id, "restored", principal).await
    })
    .await?;
    answer(&db, id, StatusCode::OK).await
}

/// `GET /api/v1/admin/knowledge/{id}/history`: every change to the article (retired or not),
/// oldest first, with the article as it stood after each.
pub async fn history(id: &str) -> Result<Reply, ApiError> {
    let id = article_id(id)?;
    let db = db().await?;
    let rows = db
        .query(
            "select change, actor, created_at, article->>'title' as title, \
                    article->>'answer' as answer, article->>'category' as category, \
                    article->>'agency' as agency, article->'keywords' as keywords, \
                    coalesce((article->>'internal')::bool, false) as internal \
             from knowledge_article_changes where knowledge_article_id = $1 \
             order by knowledge_article_change_id",
            [id.into()],
        )
        .await?
        .collect()
        .await?;
    if rows.is_empty() {
        return Err(ApiError::ArticleNotFound);
    }
    let items = rows
        .iter()
        .map(|row| {
            Ok(KnowledgeArticleChange {
                change: required(row, "change")?,
                actor: required(row, "actor")?,
                at: utc(row, "created_at")
                    .ok_or_else(|| ApiError::Internal("a change without its time".into()))?,
                title: required(row, "title")?,
                answer: required(row, "answer")?,
                category: row.get("category"),
                agency: row.get("agency"),
                keywords: row
                    .get::<serde_json::Value>("keywords")
                    .and_then(|k| serde_json::from_value(k).ok())
                    .unwrap_or_default(),
                internal: required(row, "internal")?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(reply_with(
        StatusCode::OK,
        &KnowledgeArticleHistory { items },
    ))
}

/// `GET /api/v1/admin/knowledge/retired?cursor=&limit=`: the retired articles, latest retired
/// first, a page at a time (50 by default and at most).
pub async fn retired(query: &str) -> Result<Reply, ApiError> {
    let page = api_plumbing::page_query_of::<i64>(query, MAX_LIMIT, MAX_LIMIT)?;
    let (at, id) = page.after.unzip();
    let db = db().await?;
    let rows = db
        .query(
            format!(
                "{ARTICLES} where k.retired_at is not null \
                 and ($2::timestamp is null or (k.retired_at, k.knowledge_article_id) < ($2, $3::int8)) \
                 order by k.retired_at desc, k.knowledge_article_id desc limit $1"
            ),
            [(i64::from(page.limit) + 1).into(), at.into(), id.into()],
        )
        .await?
        .collect()
        .await?;
    paged(&rows, page.limit, "retired_at")
}

async fn db() -> Result<Connection, ApiError> {
    api_plumbing::connect().await.map_err(ApiError::from)
}

/// Runs `work` in a transaction (see `Connection::transaction`), with this module's errors.
async fn in_transaction<T>(
    db: &Connection,
    work: impl AsyncFnOnce() -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    db.transaction(work()).await
}

/// The article as it now stands, answered with `status`.
async fn answer(db: &Connection, id: i64, status: StatusCode) -> Result<Reply, ApiError> {
    let article = fetch(db, id).await?.ok_or(ApiError::ArticleNotFound)?;
    Ok(reply_with(status, &article))
}

async fn fetch(db: &Connection, id: i64) -> Result<Option<KnowledgeArticle>, ApiError> {
    let rows = db
        .query(
            format!("{ARTICLES} where k.knowledge_article_id = $1"),
            [id.into()],
        )
        .await?
        .collect()
        .await?;
    rows.first().map(article).transpose()
}

/// An id in a path: anything but a whole number is no article.
fn article_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::ArticleNotFound)
}

/// Whether the question has anything to search by (not only punctuation or symbols).
async fn has_terms(db: &Connection, question: &str) -> Result<bool, ApiError> {
    let rows = db
        .query(
            "select cardinality(knowledge_terms($1, null, null)) > 0 as some",
            [text(question)],
        )
        .await?
        .collect()
        .await?;
    Ok(rows
        .first()
        .and_then(|row| row.get::<bool>("some"))
        .unwrap_or(false))
}

/// The body of a create or update, checked field by field (every problem at once).
fn checked(body: &[u8]) -> Result<KnowledgeArticleInput, ApiError> {
    let mut input: KnowledgeArticleInput = api_plumbing::parse_json(body)?;
    input.title = input.title.trim().to_owned();
    input.answer = input.answer.trim().to_owned();
    let mut problems = Vec::new();
    for (field, value, max) in [
        ("title", &input.title, MAX_TITLE_CHARS),
        ("answer", &input.answer, MAX_ANSWER_CHARS),
    ] {
        let chars = value.chars().count();
        if chars == 0 {
            problems.push(field_error(field, "required", "不能为空 (required)"));
        } else if chars > max {
            problems.push(field_error(
                field,
                "too_long",
                format!("不能超过 {max} 个字 (at most {max} characters)"),
            ));
        }
    }
    let mut keywords: Vec<String> = input
        .keywords
        .iter()
        .map(|word| word.trim().to_owned())
        .collect();
    keywords.sort();
    keywords.dedup();
    if keywords.len() > MAX_KEYWORDS
        || keywords
            .iter()
            .any(|w| w.is_empty() || w.chars().count() > MAX_KEYWORD_CHARS)
    {
        problems.push(field_error(
            "keywords",
            "invalid_value",
            format!(
                "关键词至多 {MAX_KEYWORDS} 个，每个 1 到 {MAX_KEYWORD_CHARS} 个字 (up to {MAX_KEYWORDS} keywords of 1–{MAX_KEYWORD_CHARS} characters)"
            ),
        ));
    }
    input.keywords = keywords;
    input.category = input.category.filter(|c| !c.is_empty());
    input.agency = input.agency.filter(|a| !a.is_empty());
    if problems.is_empty() {
        Ok(input)
    } else {
        Err(ApiError::Validation(problems))
    }
}

/// `$1`–`$7` of a create or update: title, answer, category, agency, keywords, the actor, whether
/// it is internal.
fn fields(
    input: &KnowledgeArticleInput,
    principal: &Principal,
) -> Vec<spin_sdk::pg::ParameterValue> {
    vec![
        text(&input.title),
        text(&input.answer),
        input.category.clone().into(),
        input.agency.clone().into(),
        input
            .keywords
            .iter()
            .cloned()
            .map(Some)
            .collect::<Vec<_>>()
            .into(),
        text(&principal.subject),
        input.internal.into(),
    ]
}

/// An unknown category or agency, by the constraint it broke.
fn constraint_error(error: &spin_sdk::pg::Error) -> Option<ApiError> {
    let (field, message) = match order_store::constraint(error)? {
        "knowledge_articles_category_id_fkey" => ("category", "没有这个诉求类别"),
        "knowledge_articles_agency_id_fkey" => ("agency", "没有这个承办单位"),
        _ => return None,
    };
    Some(ApiError::Validation(vec![field_error(
        field, "unknown", message,
    )]))
}

/// Appends the article as it now stands to its change log.
async fn log_change(
    db: &Connection,
    id: i64,
    change: &str,
    principal: &Principal,
) -> Result<(), ApiError> {
    db.execute(
        "insert into knowledge_article_changes (knowledge_article_id, change, actor, article) \
         select knowledge_article_id, $2, $3, jsonb_build_object('title', title, 'answer', answer, \
                'category', category_id, 'agency', agency_id, 'keywords', keywords, \
                'internal', internal) \
         from knowledge_articles where knowledge_article_id = $1",
        [id.into(), text(change), text(&principal.subject)],
    )
    .await?;
    Ok(())
}

fn article(row: &Row) -> Result<KnowledgeArticle, ApiError> {
    Ok(KnowledgeArticle {
        id: required(row, "knowledge_article_id")?,
        title: required(row, "title")?,
        answer: required(row, "answer")?,
        category: named(row, "category_id", "category_name"),
        agency: named(row, "agency_id", "agency_name"),
        keywords: row
            .get::<Vec<Option<String>>>("keywords")
            .map(|words| words.into_iter().flatten().collect())
            .unwrap_or_default(),
        updated_by: required(row, "updated_by")?,
        updated_at: utc(row, "updated_at")
            .ok_or_else(|| ApiError::Internal("an article without a time".into()))?,
        retired_at: utc(row, "retired_at"),
        internal: required(row, "internal")?,
    })
}
