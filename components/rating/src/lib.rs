//! `rating`: what became of each case, in figures. The operators' follow-up (回访) queue of
//! orders the citizen did not rate in time, and the hotline's KPIs with the cases behind them.
//!
//! Private: the gateway forwards `/api/v1/follow-ups` and `/api/v1/stats/...` with the verified
//! principal. Ratings themselves, and a follow-up's outcome, are lifecycle actions of the
//! `routing` component (`rate`, `not_reached`), so that every change of an order goes through
//! one set of rules.

mod error;
mod follow_ups;
mod kpis;

use api_plumbing::{Incoming, Principal, Reply};
use error::ApiError;
use spin_sdk::http::Method;

api_plumbing::http_component!(route);

async fn route(request: Incoming) -> Result<Reply, ApiError> {
    let path = request.path().to_owned();
    if request.method() == Method::GET && path == "/health" {
        return Ok(api_plumbing::health());
    }
    let principal = Principal::from_headers(request.headers()).ok_or(ApiError::Unauthenticated)?;
    let query = request.query().unwrap_or("").to_owned();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match (request.method().clone(), segments.as_slice()) {
        (Method::GET, ["api", "v1", "follow-ups"]) => follow_ups::queue(&query).await,
        (Method::GET, ["api", "v1", "stats", "kpis"]) => kpis::report(&principal, &query).await,
        (Method::GET, ["api", "v1", "stats", "kpis", "orders"]) => {
            kpis::cases(&principal, &query).await
        }
        (_, ["api", "v1", "follow-ups"] | ["api", "v1", "stats", "kpis", ..]) => {
            Err(ApiError::MethodNotAllowed)
        }
        _ => Err(ApiError::NotFound),
    }
}
