//! The dispatch catalogue, edited by the centre's administrators; every change is logged in the
//! same transaction.

use crate::error::ApiError;
use api_plumbing::{Principal, Reply, field_error, reply_with};
use mobile_api::{
    DispatchRule, DispatchRuleChange, DispatchRuleChangeList, DispatchRuleList, NewDispatchRule,
};
use order_store::db::{Connection, Row};
use order_store::{named, required, required_named, text, utc};
use spin_sdk::http::StatusCode;

const RULES: &str = "select r.dispatch_rule_id, r.category_id, c.name as category_name, r.district_id, \
    d.name as district_name, r.grid_id, g.name as grid_name, r.keywords, r.agency_id, a.name as agency_name, \
    r.created_by, r.created_at \
    from dispatch_rules r join categories c on c.category_id = r.category_id \
    left join districts d on d.district_id = r.district_id left join grids g on g.grid_id = r.grid_id \
    join agencies a on a.agency_id = r.agency_id";

const MAX_KEYWORDS: usize = 20;
const MAX_KEYWORD_CHARS: usize = 20;

/// Keywords as stored: trimmed, without repeats, sorted (so that the same set is the same rule).
fn keywords(given: Option<&[String]>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(given) = given else {
        return Ok(None);
    };
    let mut words: Vec<String> = given.iter().map(|w| w.trim().to_owned()).collect();
    words.sort();
    words.dedup();
    let valid = (1..=MAX_KEYWORDS).contains(&words.len())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.chars().count() <= MAX_KEYWORD_CHARS);
    if !valid {
        return Err(ApiError::Validation(vec![field_error(
            "keywords",
            "invalid_value",
            format!(
                "关键词 1 到 {MAX_KEYWORDS} 个，每个 1 到 {MAX_KEYWORD_CHARS} 个字 (1–{MAX_KEYWORDS} keywords of 1–{MAX_KEYWORD_CHARS} characters)"
            ),
        )]));
    }
    Ok(Some(words))
}

fn rule(row: &Row) -> Result<DispatchRule, ApiError> {
    Ok(DispatchRule {
        id: required(row, "dispatch_rule_id")?,
        category: required_named(row, "category_id", "category_name")?,
        district: named(row, "district_id", "district_name"),
        grid: named(row, "grid_id", "grid_name"),
        keywords: row
            .get::<Vec<Option<String>>>("keywords")
            .map(|words| words.into_iter().flatten().collect()),
        agency: required_named(row, "agency_id", "agency_name")?,
        created_by: required(row, "created_by")?,
        created_at: utc(row, "created_at")
            .ok_or_else(|| ApiError::Internal("a rule without a time".into()))?,
    })
}

async fn db() -> Result<Connection, ApiError> {
    api_plumbing::connect().await.map_err(ApiError::from)
}

/// `GET /api/v1/admin/dispatch-rules`.
pub async fn list() -> Result<Reply, ApiError> {
    let rows = db()
        .await?
        .query(
            format!(
                "{RULES} order by r.category_id, r.district_id nulls first, r.grid_id nulls first, r.keywords nulls first"
            ),
            [],
        )
        .await?
        .collect()
        .await?;
    let items = rows.iter().map(rule).collect::<Result<Vec<_>, _>>()?;
    Ok(reply_with(StatusCode::OK, &DispatchRuleList { items }))
}

/// `GET /api/v1/admin/dispatch-rules/changes`: newest first.
pub async fn changes() -> Result<Reply, ApiError> {
    let rows = db()
        .await?
        .query(
            "select dispatch_rule_id, change, actor, rule, created_at from dispatch_rule_changes \
             order by dispatch_rule_change_id desc limit 500",
            [],
        )
        .await?
        .collect()
        .await?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(DispatchRuleChange {
                rule_id: required(row, "dispatch_rule_id")?,
                change: required(row, "change")?,
                actor: required(row, "actor")?,
                rule: required(row, "rule")?,
                at: utc(row, "created_at")
                    .ok_or_else(|| ApiError::Internal("a change without a time".into()))?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(reply_with(
        StatusCode::OK,
        &DispatchRuleChangeList { items },
    ))
}

/// `POST /api/v1/admin/dispatch-rules`.
pub async fn create(principal: &Principal, body: &[u8]) -> Result<Reply, ApiError> {
    let new: NewDispatchRule = api_plumbing::parse_json(body)?;
    let keywords = keywords(new.keywords.as_deref())?;
    if new.district.is_some() && new.grid.is_some() {
        return Err(ApiError::Validation(vec![field_error(
            "grid",
            "district_or_grid",
            "县区和网格只能选一个 (a rule names a district or a grid, not both)",
        )]));
    }
    let db = db().await?;
    let id = db.transaction(async {
    let inserted = db
        .query(
            "insert into dispatch_rules (category_id, district_id, grid_id, keywords, agency_id, created_by) \
             values ($1, $2, $3, $4, $5, $6) returning dispatch_rule_id",
            [
                text(&new.category),
                new.district.clone().into(),
                new.grid.clone().into(),
                keywords
                    .map(|words| words.into_iter().map(Some).collect::<Vec<_>>())
                    .into(),
                text(&new.agency),
                text(&principal.subject),
            ],
        )
        .await;
    let rows = match inserted {
        Ok(result) => result.collect().await,
        Err(error) => Err(error),
    };
    // Constraint violations by name, not by message.
    let rows = rows.map_err(|error| match order_store::constraint(&error) {
                Some("dispatch_rules_one_per_place") => ApiError::RuleExists,
                Some("dispatch_rules_category_id_fkey") => ApiError::Validation(vec![field_error(
                    "category",
                    "unknown_category",
                    "没有这个诉求类别",
                )]),
                Some("dispatch_rules_district_id_fkey") => ApiError::Validation(vec![field_error(
                    "district",
                    "unknown_district",
                    "没有这个县区",
                )]),
                Some("dispatch_rules_grid_id_fkey") => {
                    ApiError::Validation(vec![field_error("grid", "unknown_grid", "没有这个网格")])
                }
                Some("dispatch_rules_agency_id_fkey") => ApiError::Validation(vec![field_error(
                    "agency",
                    "unknown_agency",
                    "没有这个承办单位",
                )]),
                _ => ApiError::from(error),
            })?;
    let id: i64 = rows
        .first()
        .map(|row| required(row, "dispatch_rule_id"))
        .transpose()?
        .ok_or_else(|| ApiError::Internal("no id".into()))?;
    log_change(&db, id, "created", &principal.subject).await?;
    Ok::<_, ApiError>(id)
    })
    .await?;
    let rows = db
        .query(
            format!("{RULES} where r.dispatch_rule_id = $1"),
            [id.into()],
        )
        .await?
        .collect()
        .await?;
    let created = rows
        .first()
        .map(rule)
        .transpose()?
        .ok_or(ApiError::NotFound)?;
    Ok(reply_with(StatusCode::CREATED, &created))
}

/// `DELETE /api/v1/admin/dispatch-rules/{id}`.
pub async fn delete(principal: &Principal, id: &str) -> Result<Reply, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let db = db().await?;
    db.transaction(async {
        // Log first, while the rule still exists to be described.
        let logged = log_change(&db, id, "deleted", &principal.subject).await?;
        if !logged {
            return Err(ApiError::NotFound);
        }
        db.execute(
            "delete from dispatch_rules where dispatch_rule_id = $1",
            [id.into()],
        )
        .await?;
        Ok(())
    })
    .await?;
    Ok(api_plumbing::json_reply(
        StatusCode::NO_CONTENT,
        String::new(),
    ))
}

/// Appends the rule's change to the log; false when there is no such rule.
async fn log_change(db: &Connection, id: i64, change: &str, actor: &str) -> Result<bool, ApiError> {
    let logged = db
        .execute(
            "insert into dispatch_rule_changes (dispatch_rule_id, change, actor, rule) \
             select dispatch_rule_id, $2, $3, jsonb_build_object('category', category_id, 'district', district_id, \
                    'grid', grid_id, 'keywords', keywords, 'agency', agency_id) \
             from dispatch_rules where dispatch_rule_id = $1",
            [id.into(), text(change), text(actor)],
        )
        .await?;
    Ok(logged == 1)
}
