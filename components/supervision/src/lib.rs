//! `supervision`: the city's open orders as they stand, for those who watch over them
//! (互联网+热线+督查). The board counts, by agency or district, what is open, overdue, due within
//! a day, urgent, under supervision and asked to be returned; the overdue list names the orders
//! past their deadline, longest first, with their supervision and urgings, for the centre to urge
//! (催办) and supervisors to supervise (督办: lifecycle actions of the `routing` component). The
//! period reports (日报、周报、月报) say what a day, a week or a month brought and what became of
//! it, for the city's decisions. The hot spots and the risk map (热点、一张城市风险地图) say where
//! in the city requests gather and orders go unresolved, grid by grid or district by district.
//! The leader answering days (领导接听日) are scheduled and listed here, with what became of the
//! requests their leaders took. The special public-opinion reports (舆情专报) gather what
//! citizens said about one matter, for supervisors to issue to the city's leaders. Early warnings
//! (预警) tell supervisors of a problem surging in a district. Circulars of criticism (督办通报)
//! name, agency by agency, the orders left open long past their deadline. Its writes are those
//! days, issues, circulars and warnings, and key supervision (重点督办) of the orders long past their deadline, by the
//! runtime's schedules.
//!
//! Private: the gateway forwards `/api/v1/supervision/...` with the verified principal, to the
//! centre, supervisors, city leaders and administrators only (and the circulars to agency staff).

mod board;
mod circulars;
mod error;
mod escalation;
mod hotspots;
mod issuing;
mod leader_days;
mod metrics;
mod report;
mod special_reports;
mod warnings;

use api_plumbing::{Incoming, Principal, Reply};
use error::ApiError;
use spin_sdk::http::Method;

api_plumbing::http_component!(route);

async fn route(request: Incoming) -> Result<Reply, ApiError> {
    let path = request.path().to_owned();
    if request.method() == Method::GET && path == "/health" {
        return Ok(api_plumbing::health());
    }
    // Only the runtime's schedule reaches this: the gateway forwards no `/internal` path.
    if request.method() == Method::POST && path == "/internal/key-supervision" {
        return escalation::escalate_overdue().await;
    }
    if request.method() == Method::POST && path == "/internal/early-warnings" {
        return warnings::raise().await;
    }
    if request.method() == Method::GET && path == "/internal/metrics" {
        return metrics::metrics().await;
    }
    let principal = Principal::from_headers(request.headers()).ok_or(ApiError::Unauthenticated)?;
    let query = request.query().unwrap_or("").to_owned();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match (request.method().clone(), segments.as_slice()) {
        (Method::GET, ["api", "v1", "supervision", "board"]) => board::board(&query).await,
        (Method::GET, ["api", "v1", "supervision", "overdue"]) => board::overdue(&query).await,
        (Method::GET, ["api", "v1", "supervision", "report"]) => report::report(&query).await,
        (Method::GET, ["api", "v1", "supervision", "hotspots"]) => hotspots::hotspots(&query).await,
        (Method::GET, ["api", "v1", "supervision", "risk-map"]) => hotspots::risk_map(&query).await,
        (Method::GET, ["api", "v1", "supervision", "leader-days"]) => leader_days::list().await,
        (Method::POST, ["api", "v1", "admin", "leader-days"]) => {
            let body = request.forwarded_body().await?;
            leader_days::schedule(&principal, &body).await
        }
        (_, ["api", "v1", "admin", "leader-days"]) => Err(ApiError::MethodNotAllowed),
        (Method::POST, ["api", "v1", "admin", "leader-days", id, "cancel"]) => {
            leader_days::cancel(&principal, id).await
        }
        (Method::GET, ["api", "v1", "supervision", "topic-report"]) => {
            special_reports::topic_report(&query).await
        }
        (Method::GET, ["api", "v1", "supervision", "early-warnings"]) => {
            warnings::list(&query).await
        }
        (Method::GET, ["api", "v1", "supervision", "special-reports"]) => {
            special_reports::list(&query).await
        }
        (Method::GET, ["api", "v1", "supervision", "special-reports", id]) => {
            special_reports::get(id).await
        }
        (Method::POST, ["api", "v1", "admin", "special-reports"]) => {
            let key = idempotency_key(&request)?;
            let body = request.forwarded_body().await?;
            special_reports::issue(&principal, key.as_deref(), &body).await
        }
        (_, ["api", "v1", "admin", "special-reports"]) => Err(ApiError::MethodNotAllowed),
        (Method::GET, ["api", "v1", "supervision", "circulars"]) => circulars::list(&query).await,
        (Method::GET, ["api", "v1", "supervision", "circulars", id]) => circulars::get(id).await,
        (Method::POST, ["api", "v1", "admin", "circulars"]) => {
            let key = idempotency_key(&request)?;
            let body = request.forwarded_body().await?;
            circulars::issue(&principal, key.as_deref(), &body).await
        }
        (_, ["api", "v1", "admin", "circulars"]) => Err(ApiError::MethodNotAllowed),
        (Method::POST, ["api", "v1", "admin", "circulars", id, "withdraw"]) => {
            let body = request.forwarded_body().await?;
            circulars::withdraw(&principal, id, &body).await
        }
        (Method::POST, ["api", "v1", "admin", "special-reports", id, "withdraw"]) => {
            let body = request.forwarded_body().await?;
            special_reports::withdraw(&principal, id, &body).await
        }
        (_, ["api", "v1", "supervision", ..]) => Err(ApiError::MethodNotAllowed),
        _ => Err(ApiError::NotFound),
    }
}

/// The request's `Idempotency-Key`, if it sent one.
fn idempotency_key(request: &Incoming) -> Result<Option<String>, ApiError> {
    Ok(request
        .headers()
        .text(mobile_api::headers::IDEMPOTENCY_KEY)
        .transpose()
        .map_err(|_| ApiError::InvalidIdempotencyKey)?
        .map(str::to_owned))
}
