//! What the database says of a new request before it is filed, in one statement: where its
//! coordinates fall, the names of its category, district, grid and hotline number, whether the
//! district the citizen chose exists, the citizen's WeChat openid, and the agency the dispatch
//! catalogue names for it. Read before the filing's transaction (so that a bad request takes no
//! locks); one round trip where there were three.

use crate::db::Connection;
use crate::{Place, StoreError, dispatch_target_sql, required, text};

/// A request as the lookup sees it.
pub struct Request<'a> {
    /// Latitude and longitude, when the request has them.
    pub coordinates: Option<(f64, f64)>,
    pub category: &'a str,
    /// The district the citizen chose: it stands only without coordinates, or where they fall in
    /// no district.
    pub chosen_district: Option<&'a str>,
    pub hotline_number: Option<&'a str>,
    /// The filer's subject (for the openid).
    pub subject: &'a str,
    /// The title and description, for the catalogue's keyword rules.
    pub text: &'a str,
    pub urgent: bool,
}

/// What the database said.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The district (from the coordinates, else the citizen's choice) and the grid.
    pub place: Place,
    /// `None` when there is no such category (or it is a top-level one).
    pub category_name: Option<String>,
    pub district_name: Option<String>,
    pub grid_name: Option<String>,
    /// `None` when there is no such hotline number, or none was given.
    pub hotline_name: Option<String>,
    pub chosen_district_known: bool,
    pub openid: Option<String>,
    /// The agency the catalogue dispatches the order to at once, if any.
    pub agency: Option<String>,
}

/// The statement: `$1` latitude, `$2` longitude, `$3` category, `$4` chosen district, `$5` hotline
/// number, `$6` subject, `$7` text, `$8` urgent. The place is `materialized`: inlined, every use
/// of its district and grid ran the spatial lookups again (five index scans of the boundaries
/// where two are needed).
pub fn statement() -> &'static str {
    STATEMENT.as_str()
}

static STATEMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "with p as (select st_setsrid(st_makepoint($2, $1), 4326) as point), \
              found as (select (select district_id from districts, p where st_covers(boundary, p.point) \
                                order by kind = 'zone' desc, district_id limit 1) as district_id, \
                               (select grid_id from grids, p where st_covers(boundary, p.point) \
                                order by boundary_source = 'approximate', grid_id limit 1) as grid_id), \
              place as materialized (select coalesce(found.district_id, $4) as district_id, found.grid_id from found) \
         select place.district_id, place.grid_id, \
                (select name from categories where category_id = $3 and parent_id is not null) as category_name, \
                (select name from districts d where d.district_id = place.district_id) as district_name, \
                (select name from grids g where g.grid_id = place.grid_id) as grid_name, \
                (select name from hotline_numbers where number = $5) as hotline_name, \
                exists (select 1 from districts where district_id = $4) as chosen_district_known, \
                (select wechat_openid from citizens where subject = $6) as openid, \
                {} as agency_id \
         from place",
        dispatch_target_sql("$3", "place.district_id", "place.grid_id", "$7", "$8")
    )
});

/// Runs [`statement`] for `request`.
pub async fn facts(db: &Connection, request: &Request<'_>) -> Result<Facts, StoreError> {
    let (lat, lng) = request.coordinates.unzip();
    let rows = db
        .query(
            statement(),
            [
                lat.into(),
                lng.into(),
                text(request.category),
                request.chosen_district.map(str::to_owned).into(),
                request.hotline_number.map(str::to_owned).into(),
                text(request.subject),
                text(request.text),
                request.urgent.into(),
            ],
        )
        .await?
        .collect()
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Internal("the request lookup returned no row".into()))?;
    Ok(Facts {
        place: Place {
            district: row.get("district_id"),
            grid: row.get("grid_id"),
        },
        category_name: row.get("category_name"),
        district_name: row.get("district_name"),
        grid_name: row.get("grid_name"),
        hotline_name: row.get("hotline_name"),
        chosen_district_known: required(row, "chosen_district_known")?,
        openid: row.get("openid"),
        agency: row.get("agency_id"),
    })
}
