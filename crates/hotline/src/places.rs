//! `hotline places import`: loads a city's real district or grid boundaries from GeoJSON,
//! replacing the approximate demo shapes the migrations ship.
//!
//! The file is a FeatureCollection of Polygon or MultiPolygon features in WGS-84 (GeoJSON's own
//! coordinate system). Each feature names its district or grid by a property. The whole file is
//! loaded in one transaction: a file with any bad feature changes nothing.

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Districts and counties: each feature names an existing district by code or name.
    District,
    /// Grid-management cells (网格): added or replaced by code; each lies in a district.
    Grid,
}

/// Which feature properties carry what.
pub struct Properties {
    pub code: String,
    pub name: String,
    /// For grids: the district code. Without it, the district is the one the grid's interior
    /// point falls in.
    pub district: String,
}

#[derive(Deserialize)]
struct FeatureCollection {
    #[serde(rename = "type")]
    kind: String,
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    #[serde(default)]
    properties: Option<serde_json::Map<String, Value>>,
    geometry: Option<Value>,
}

/// A property as text (codes are sometimes numbers, e.g. administrative division codes).
fn property(feature: &Feature, name: &str) -> Option<String> {
    match feature.properties.as_ref()?.get(name)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Imports the file; returns how many boundaries were written.
pub async fn import(
    url: &str,
    file: &Path,
    kind: Kind,
    properties: &Properties,
) -> anyhow::Result<usize> {
    use sqlx::Connection;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let collection: FeatureCollection = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a GeoJSON FeatureCollection", file.display()))?;
    if collection.kind != "FeatureCollection" {
        bail!(
            "{}: expected a FeatureCollection, found {}",
            file.display(),
            collection.kind
        );
    }
    if collection.features.is_empty() {
        bail!("{}: the collection has no features", file.display());
    }
    let source = file
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .context("connecting to the database")?;
    let mut tx = conn.begin().await?;
    let total = collection.features.len();
    for (index, feature) in collection.features.iter().enumerate() {
        let at = format!("feature {} of {total}", index + 1);
        let geometry = feature
            .geometry
            .as_ref()
            .with_context(|| format!("{at}: no geometry"))?;
        let geometry_type = geometry.get("type").and_then(Value::as_str).unwrap_or("");
        if !matches!(geometry_type, "Polygon" | "MultiPolygon") {
            bail!("{at}: a {geometry_type:?} geometry; boundaries are Polygon or MultiPolygon");
        }
        let code = property(feature, &properties.code);
        let name = property(feature, &properties.name);
        // The shape as stored: valid (self-intersections repaired), polygons only, multi.
        const SHAPE: &str = "st_multi(st_collectionextract(st_makevalid(st_setsrid(st_geomfromgeojson($1), 4326)), 3))";
        let written = match kind {
            Kind::District => {
                if code.is_none() && name.is_none() {
                    bail!(
                        "{at}: neither a {:?} nor a {:?} property names the district",
                        properties.code,
                        properties.name
                    );
                }
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "update districts set boundary = {SHAPE}, boundary_source = $4 \
                     where district_id = $2 or ($2 is null and name = $3)"
                )))
                .bind(geometry.to_string())
                .bind(&code)
                .bind(&name)
                .bind(&source)
                .execute(&mut *tx)
                .await
                .with_context(|| format!("{at}: storing the boundary"))?
                .rows_affected()
            }
            Kind::Grid => {
                let code = code.clone().with_context(|| {
                    format!(
                        "{at}: no {:?} property with the grid's code",
                        properties.code
                    )
                })?;
                let name = name.clone().unwrap_or_else(|| code.clone());
                let district = property(feature, &properties.district);
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "insert into grids (grid_id, name, district_id, boundary, boundary_source) \
                     select $2, $3, coalesce($4, (select district_id from districts \
                            where st_covers(boundary, st_pointonsurface({SHAPE})) \
                            order by kind = 'zone' desc limit 1)), {SHAPE}, $5 \
                     on conflict (grid_id) do update set name = excluded.name, district_id = excluded.district_id, \
                         boundary = excluded.boundary, boundary_source = excluded.boundary_source"
                )))
                .bind(geometry.to_string())
                .bind(&code)
                .bind(&name)
                .bind(&district)
                .bind(&source)
                .execute(&mut *tx)
                .await
                .with_context(|| {
                    format!("{at} (grid {code}): storing it (is its district known, or inside one?)")
                })?
                .rows_affected()
            }
        };
        if written == 0 {
            bail!(
                "{at}: no district with code {} or name {}; districts come from the reference data",
                code.as_deref().unwrap_or("(none)"),
                name.as_deref().unwrap_or("(none)")
            );
        }
        if (index + 1) % 100 == 0 {
            eprintln!("hotline: {} of {total} boundaries checked", index + 1);
        }
    }
    tx.commit().await?;
    Ok(total)
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::District => "district",
            Kind::Grid => "grid",
        })
    }
}
