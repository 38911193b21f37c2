//! `notifications`: what people are told, and the delivery that loses nothing.
//!
//! Private: the gateway forwards the inbox, device and oversight routes with the verified
//! principal; the runtime's schedule (and any scheduler, on a Spin cluster) calls
//! `POST /internal/deliver`, right after a transaction that queued notifications commits and
//! every few seconds besides, and every minute the sweeps for deadline warnings, overdue orders
//! and reminders to rate. The notifications themselves are written by whoever records the event
//! (`order_store::outbox`), in the event's own transaction.

mod admin;
mod deliver;
mod devices;
mod error;
mod inbox;
mod metrics;
mod providers;

use api_plumbing::{Incoming, Principal, Reply};
use error::ApiError;
use spin_sdk::http::Method;

api_plumbing::http_component!(route);

async fn route(request: Incoming) -> Result<Reply, ApiError> {
    let path = request.path().to_owned();
    match (request.method(), path.as_str()) {
        (&Method::GET, "/health") => return Ok(api_plumbing::health()),
        // Only the runtime's schedule reaches this: the gateway forwards no `/internal` path.
        (&Method::POST, "/internal/deliver") => return deliver::run().await,
        (&Method::POST, "/internal/deadline-warnings") => {
            return deliver::warn_of_deadlines().await;
        }
        (&Method::POST, "/internal/overdue-notices") => return deliver::notify_overdue().await,
        (&Method::POST, "/internal/rating-reminders") => return deliver::remind_to_rate().await,
        (&Method::GET, "/internal/metrics") => return metrics::metrics().await,
        _ => {}
    }
    let principal = Principal::from_headers(request.headers()).ok_or(ApiError::Unauthenticated)?;
    let query = request.query().unwrap_or("").to_owned();
    let method = request.method().clone();
    let body = request.forwarded_body().await?;
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match (method, segments.as_slice()) {
        (Method::GET, ["api", "v1", "notifications"]) => inbox::list(&principal, &query).await,
        (Method::POST, ["api", "v1", "notifications", "read"]) => {
            inbox::read_all(&principal, &body).await
        }
        (Method::POST, ["api", "v1", "notifications", id, "read"]) => {
            inbox::read(&principal, id).await
        }
        (Method::GET, ["api", "v1", "devices"]) => devices::list(&principal).await,
        (Method::POST, ["api", "v1", "devices"]) => devices::register(&principal, &body).await,
        (Method::DELETE, ["api", "v1", "devices", id]) => devices::remove(&principal, id).await,
        (Method::GET, ["api", "v1", "admin", "deliveries"]) => admin::deliveries(&query).await,
        (Method::POST, ["api", "v1", "admin", "deliveries", id, "requeue"]) => {
            admin::requeue(&principal, id).await
        }
        (Method::GET, ["api", "v1", "admin", "notification-templates"]) => admin::templates().await,
        (Method::PUT, ["api", "v1", "admin", "notification-templates", kind]) => {
            admin::set_template(&principal, kind, &body).await
        }
        _ => Err(ApiError::NotFound),
    }
}
