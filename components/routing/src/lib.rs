//! `routing`: the life of a work order after filing. The operators' queue, dispatch, the agency's
//! task inbox and its work (sign, contact, visit, reply, return, extension), and the centre's
//! reviews (returns, extensions, audits), ratings and redo; agencies' appeals of KPI cases and
//! supervisors' decisions on them (考核申诉); and staff's search of the orders.
//! `POST /internal/search-indexes` every ten seconds merges what was written into the search
//! indexes (`search.rs`).
//!
//! Private: reached only from the gateway. Every action loads the order `for update`, asks
//! `workorder::lifecycle::apply` whether it is allowed, and writes the new state with its one
//! history event in the same transaction.

mod actions;
mod appeals;
mod calendar;
mod catalogue;
mod error;
mod reveal;
mod search;
mod views;

use api_plumbing::{Incoming, Principal, Reply, query_param};
use error::ApiError;
use spin_sdk::http::Method;

api_plumbing::http_component!(route);

async fn route(request: Incoming) -> Result<Reply, ApiError> {
    if request.method() == Method::GET && request.path() == "/health" {
        return Ok(api_plumbing::health());
    }
    // Only the runtime's schedule reaches this: the gateway forwards no `/internal` path.
    if request.method() == Method::POST && request.path() == "/internal/search-indexes" {
        return search::merge_pending_lists().await;
    }
    let principal = Principal::from_headers(request.headers()).ok_or(ApiError::Unauthenticated)?;
    let path = request.path().to_owned();
    let query = request.query().unwrap_or("").to_owned();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match (request.method().clone(), segments.as_slice()) {
        (Method::GET, ["api", "v1", "centre", "queue"]) => {
            views::queue(query_param(&query, "kind")).await
        }
        (Method::GET, ["api", "v1", "centre", "queue", "counts"]) => views::queue_counts().await,
        (Method::GET, ["api", "v1", "tasks"]) => views::tasks(&principal, &query).await,
        (Method::GET, ["api", "v1", "orders"]) => search::search(&principal, &query).await,
        (Method::GET, ["api", "v1", "orders", "export"]) => {
            search::export(&principal, &query).await
        }
        (Method::GET, ["api", "v1", "orders", id]) => views::order(&principal, id).await,
        (Method::GET, ["api", "v1", "orders", id, "duplicates"]) => {
            views::duplicates(id, &query).await
        }
        (Method::GET, ["api", "v1", "admin", "dispatch-rules"]) => catalogue::list().await,
        (Method::GET, ["api", "v1", "admin", "dispatch-rules", "changes"]) => {
            catalogue::changes().await
        }
        (Method::POST, ["api", "v1", "admin", "dispatch-rules"]) => {
            let body = request.forwarded_body().await?;
            catalogue::create(&principal, &body).await
        }
        (Method::GET, ["api", "v1", "admin", "calendar"]) => calendar::list(&query).await,
        (Method::PUT, ["api", "v1", "admin", "calendar", day]) => {
            let body = request.forwarded_body().await?;
            calendar::set(&principal, day, &body).await
        }
        (Method::DELETE, ["api", "v1", "admin", "calendar", day]) => {
            calendar::delete(&principal, day).await
        }
        (Method::DELETE, ["api", "v1", "admin", "dispatch-rules", id]) => {
            catalogue::delete(&principal, id).await
        }
        (Method::POST, ["api", "v1", "orders", id, "contact-phone"]) => {
            reveal::reveal(&principal, id).await
        }
        (Method::POST, ["api", "v1", "orders", id, "appeals"]) => {
            let body = request.forwarded_body().await?;
            appeals::file(&principal, id, &body).await
        }
        (Method::GET, ["api", "v1", "appeals"]) => appeals::list(&principal, &query).await,
        (Method::POST, ["api", "v1", "appeals", id, "decision"]) => {
            let body = request.forwarded_body().await?;
            appeals::decide(&principal, id, &body).await
        }
        (Method::POST, ["api", "v1", "orders", id, "actions", action]) => {
            let body = request.forwarded_body().await?;
            actions::act(&principal, id, action, &body).await
        }
        _ => Err(ApiError::NotFound),
    }
}
