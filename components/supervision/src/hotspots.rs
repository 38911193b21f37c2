//! The hot spots (热点) and the city risk map (一张城市风险地图): for each grid or district, the
//! requests it received in the last days against the days before, its open and overdue orders,
//! the problems raised there most, and a risk level by a rule stated beside it
//! (`workorder::risk`). The list names the places with something going on; the map is every
//! place with its boundary, as GeoJSON a map colours as it is.

use crate::error::ApiError;
use api_plumbing::{Reply, field_error, query_param, reply_with};
use chrono::TimeDelta;
use mobile_api::{
    CategoryCount, FieldError, Hotspot, HotspotScope, Hotspots, Named, PlaceCounts, RiskMap,
    RiskMapFeature,
};
use order_store::db::Row;
use order_store::{named, oversight, required};
use spin_sdk::http::StatusCode;
use workorder::risk;

const DEFAULT_DAYS: u32 = 7;
const MAX_DAYS: u32 = 90;

/// `GET /api/v1/supervision/hotspots?by=grid|district&days=&category=`.
pub async fn hotspots(query: &str) -> Result<Reply, ApiError> {
    let Ranked {
        scope,
        unplaced,
        places,
    } = ranked(query, false).await?;
    let city = places
        .iter()
        .map(|(place, _)| &place.counts)
        .fold(unplaced.clone(), |sum, counts| add(&sum, counts));
    let places = places
        .into_iter()
        .map(|(place, _)| place)
        .filter(|place| place.counts.received > 0 || place.counts.open > 0)
        .collect();
    Ok(reply_with(
        StatusCode::OK,
        &Hotspots {
            scope,
            city,
            unplaced,
            places,
        },
    ))
}

/// `GET /api/v1/supervision/risk-map?by=grid|district&days=&category=` (GeoJSON).
pub async fn risk_map(query: &str) -> Result<Reply, ApiError> {
    let Ranked { scope, places, .. } = ranked(query, true).await?;
    let features = places
        .into_iter()
        .map(|(place, geometry)| RiskMapFeature {
            kind: "Feature".into(),
            id: place.place.code.clone(),
            geometry,
            properties: place,
        })
        .collect();
    let mut reply = reply_with(
        StatusCode::OK,
        &RiskMap {
            kind: "FeatureCollection".into(),
            scope,
            features,
        },
    );
    reply.headers_mut().insert(
        "content-type",
        spin_sdk::http::HeaderValue::from_static("application/geo+json"),
    );
    Ok(reply)
}

fn add(a: &PlaceCounts, b: &PlaceCounts) -> PlaceCounts {
    PlaceCounts {
        received: a.received + b.received,
        received_before: a.received_before + b.received_before,
        open: a.open + b.open,
        overdue: a.overdue + b.overdue,
    }
}

/// Every place of the asked level with its counts and level, highest level first, then highest
/// score, then by code; and what falls in no place.
struct Ranked {
    scope: HotspotScope,
    unplaced: PlaceCounts,
    places: Vec<(Hotspot, Option<serde_json::Value>)>,
}

async fn ranked(query: &str, boundaries: bool) -> Result<Ranked, ApiError> {
    let mut problems: Vec<FieldError> = Vec::new();
    let by = query_param(query, "by").unwrap_or("grid");
    let statement = oversight::places_sql(by, boundaries);
    if statement.is_none() {
        problems.push(field_error(
            "by",
            "invalid_value",
            "应为 grid 或 district (by must be grid or district)",
        ));
    }
    let days = match query_param(query, "days") {
        None => DEFAULT_DAYS,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|days| (1..=MAX_DAYS).contains(days))
            .unwrap_or_else(|| {
                problems.push(field_error(
                    "days",
                    "out_of_range",
                    format!("统计天数应为 1 到 {MAX_DAYS} (days must be 1–{MAX_DAYS})"),
                ));
                DEFAULT_DAYS
            }),
    };
    let db = api_plumbing::connect().await?;
    let category = match query_param(query, "category").filter(|c| !c.is_empty()) {
        None => None,
        Some(code) => {
            let found = order_store::category_named(&db, code).await?;
            if found.is_none() {
                problems.push(field_error("category", "unknown", "没有这个诉求类别"));
            }
            found
        }
    };
    let Some(statement) = statement.filter(|_| problems.is_empty()) else {
        return Err(ApiError::Validation(problems));
    };
    let to = order_store::now(&db).await?;
    let from = to - TimeDelta::days(i64::from(days));
    let before = from - TimeDelta::days(i64::from(days));
    let rows = db
        .query(
            statement,
            [
                before.naive_utc().into(),
                from.naive_utc().into(),
                to.naive_utc().into(),
                category.as_ref().map(|c| c.code.clone()).into(),
            ],
        )
        .await?
        .collect()
        .await?;
    let mut unplaced = PlaceCounts::default();
    let mut places = Vec::with_capacity(rows.len());
    for row in &rows {
        let code: String = required(row, "code")?;
        if code.is_empty() {
            unplaced = counts(row)?;
        } else {
            places.push(place(row, code, boundaries)?);
        }
    }
    let scores: Vec<i64> = places.iter().map(|(place, _)| place.score).collect();
    for ((place, _), level) in places.iter_mut().zip(risk::levels(&scores)) {
        place.level = level.code().to_owned();
        place.level_label = level.label().to_owned();
    }
    let rank = |level: &str| match level {
        "high" => 0,
        "medium" => 1,
        _ => 2,
    };
    places.sort_by(|(a, _), (b, _)| {
        (rank(&a.level), -a.score, &a.place.code).cmp(&(rank(&b.level), -b.score, &b.place.code))
    });
    Ok(Ranked {
        scope: HotspotScope {
            by: by.to_owned(),
            days,
            from,
            to,
            category,
            formula: risk::FORMULA.to_owned(),
        },
        unplaced,
        places,
    })
}

fn counts(row: &Row) -> Result<PlaceCounts, ApiError> {
    Ok(PlaceCounts {
        received: required(row, "received")?,
        received_before: required(row, "received_before")?,
        open: required(row, "open")?,
        overdue: required(row, "overdue")?,
    })
}

/// A place's row, its level still to be reckoned against the others'.
fn place(
    row: &Row,
    code: String,
    boundaries: bool,
) -> Result<(Hotspot, Option<serde_json::Value>), ApiError> {
    let counts = counts(row)?;
    let name: String = required(row, "name")?;
    let top: Option<String> = row.get("top_categories");
    let top_categories = match top {
        None => Vec::new(),
        Some(json) => serde_json::from_str::<Vec<(String, String, i64)>>(&json)
            .map_err(|e| ApiError::Internal(format!("top categories of {code}: {e}")))?
            .into_iter()
            .map(|(code, name, count)| CategoryCount {
                category: Named { code, name },
                count,
            })
            .collect(),
    };
    let geometry = match boundaries.then(|| row.get::<String>("geometry")).flatten() {
        None => None,
        Some(json) => Some(
            serde_json::from_str(&json)
                .map_err(|e| ApiError::Internal(format!("boundary of {code}: {e}")))?,
        ),
    };
    Ok((
        Hotspot {
            place: Named { code, name },
            district: named(row, "district_code", "district_name"),
            lat: row.get("lat"),
            lng: row.get("lng"),
            score: risk::score(counts.received, counts.overdue),
            counts,
            level: String::new(),
            level_label: String::new(),
            top_categories,
        },
        geometry,
    ))
}
