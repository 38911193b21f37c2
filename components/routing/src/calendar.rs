//! The business calendar, kept by the centre's administrators: each year's public holidays and
//! 调休 working days, entered when the State Council publishes them. Deadlines computed after a
//! change use it; deadlines already set stay as they were. Every change is logged.

use crate::error::ApiError;
use api_plumbing::{Principal, Reply, field_error, json_reply, query_param, reply_with};
use mobile_api::{CalendarDay, CalendarDayList, SetCalendarDay};
use order_store::db::Connection;
use order_store::{required, text};
use spin_sdk::http::StatusCode;

const MAX_NAME: usize = 50;

fn day(raw: &str) -> Result<chrono::NaiveDate, ApiError> {
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        ApiError::Validation(vec![field_error(
            "day",
            "invalid_value",
            "日期格式应为 YYYY-MM-DD (a date like 2027-02-05)",
        )])
    })
}

async fn db() -> Result<Connection, ApiError> {
    api_plumbing::connect().await.map_err(ApiError::from)
}

/// `GET /api/v1/admin/calendar?year=`: the year's exceptions, in date order.
pub async fn list(query: &str) -> Result<Reply, ApiError> {
    let year = match query_param(query, "year") {
        None => None,
        Some(raw) => match raw.parse::<i32>() {
            Ok(year) if (2000..=2100).contains(&year) => Some(year),
            _ => {
                return Err(ApiError::Validation(vec![field_error(
                    "year",
                    "out_of_range",
                    "年份应在 2000 到 2100 之间",
                )]));
            }
        },
    };
    let rows = db()
        .await?
        .query(
            "select day, kind, name from business_calendar \
             where $1::int is null or extract(year from day) = $1 order by day",
            [year.into()],
        )
        .await?
        .collect()
        .await?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(CalendarDay {
                day: required(row, "day")?,
                kind: required(row, "kind")?,
                name: required(row, "name")?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(reply_with(StatusCode::OK, &CalendarDayList { items }))
}

/// `PUT /api/v1/admin/calendar/{day}`: sets the day's entry, replacing any.
pub async fn set(principal: &Principal, raw_day: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let day = day(raw_day)?;
    let entry: SetCalendarDay = api_plumbing::parse_json(body)?;
    let name = entry.name.trim().to_owned();
    let mut problems = Vec::new();
    if !matches!(entry.kind.as_str(), "holiday" | "workday") {
        problems.push(field_error(
            "kind",
            "invalid_value",
            "应为 holiday（放假）或 workday（调休上班）",
        ));
    }
    if name.is_empty() || name.chars().count() > MAX_NAME {
        problems.push(field_error(
            "name",
            "invalid_value",
            format!("名称 1 到 {MAX_NAME} 个字"),
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let db = db().await?;
    db.transaction(async {
        db.execute(
            "insert into business_calendar_changes (day, change, before, after, actor) \
             select $1, 'set', (select jsonb_build_object('kind', kind, 'name', name) from business_calendar where day = $1), \
                    jsonb_build_object('kind', $2::text, 'name', $3::text), $4",
            [day.into(), text(&entry.kind), text(&name), text(&principal.subject)],
        )
        .await?;
        db.execute(
            "insert into business_calendar (day, kind, name) values ($1, $2, $3) \
             on conflict (day) do update set kind = excluded.kind, name = excluded.name",
            [day.into(), text(&entry.kind), text(&name)],
        )
        .await?;
        Ok::<_, ApiError>(())
    })
    .await?;
    Ok(reply_with(
        StatusCode::OK,
        &CalendarDay {
            day,
            kind: entry.kind,
            name,
        },
    ))
}

/// `DELETE /api/v1/admin/calendar/{day}`: the day is ordinary again.
pub async fn delete(principal: &Principal, raw_day: &str) -> Result<Reply, ApiError> {
    let day = day(raw_day)?;
    let db = db().await?;
    db.transaction(async {
        let logged = db
            .execute(
                "insert into business_calendar_changes (day, change, before, after, actor) \
                 select day, 'deleted', jsonb_build_object('kind', kind, 'name', name), null, $2 \
                 from business_calendar where day = $1",
                [day.into(), text(&principal.subject)],
            )
            .await?;
        if logged == 0 {
            return Err(ApiError::NotFound);
        }
        db.execute("delete from business_calendar where day = $1", [day.into()])
            .await?;
        Ok(())
    })
    .await?;
    Ok(json_reply(StatusCode::NO_CONTENT, String::new()))
}
