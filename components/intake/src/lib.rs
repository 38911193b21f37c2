//! `intake`: citizens file requests and follow them (the mobile API's `/api/v1/requests`), and
//! the knowledge base that operators answer calls from and citizens read before they file
//! (`/api/v1/knowledge`, kept at `/api/v1/admin/knowledge`).
//!
//! Private: reached only from the gateway, which sets the verified principal in
//! `x-hotline-subject` / `x-hotline-role`. Filing writes the work order, its first history event
//! and the idempotency record in one transaction. The runtime's schedule calls
//! `POST /internal/content-checks` every minute (see `content.rs`) and
//! `POST /internal/idempotency-keys` every hour (keys older than `idempotency_key_hours` go).
//! Partner systems file and follow requests through Open311 (`/open311/v2`, `open311.rs`).

mod content;
mod error;
mod follow;
mod knowledge;
mod open311;
mod orders;
mod photos;
mod supplements;

use api_plumbing::{BytesReply, Incoming, Principal, Reply};
use error::ApiError;
use mobile_api::headers;
use spin_sdk::http::Method;

api_plumbing::http_component!(serve);

/// A photo is answered with its bytes; everything else with the JSON `route` makes.
async fn serve(request: Incoming) -> Result<BytesReply, ApiError> {
    if request.method() == Method::GET
        && let Some(id) = request.path().strip_prefix(workorder::photo::LINK_PREFIX)
    {
        let principal =
            Principal::from_headers(request.headers()).ok_or(ApiError::Unauthenticated)?;
        let size = photos::Size::from_query(request.query().unwrap_or(""))?;
        return photos::read(&principal, id, size, request.headers().get("if-none-match")).await;
    }
    route(request)
        .await
        .map(|reply| reply.map(String::into_bytes))
}

async fn route(request: Incoming) -> Result<Reply, ApiError> {
    if request.method() == Method::GET && request.path() == "/health" {
        return Ok(api_plumbing::health());
    }
    // Only the runtime's schedule reaches this: the gateway forwards no `/internal` path.
    if request.method() == Method::POST && request.path() == "/internal/content-checks" {
        return content::recheck().await;
    }
    if request.method() == Method::POST && request.path() == "/internal/idempotency-keys" {
        return orders::forget_idempotency_keys().await;
    }
    if request.method() == Method::POST && request.path() == "/internal/photos" {
        return photos::remove_unattached().await;
    }
    if request.method() == Method::POST && request.path() == "/internal/thumbnails" {
        return photos::make_missing_thumbnails().await;
    }
    // Open311 for partner systems: the services are open to anyone, the requests the partner's.
    if request.path().starts_with("/open311/") {
        let principal = Principal::from_headers(request.headers());
        let method = request.method().clone();
        let path = request.path().to_owned();
        let query = request.query().unwrap_or("").to_owned();
        let request_id = api_plumbing::request_id(request.headers());
        let idempotency_key = idempotency_key(&request);
        let body = if method == Method::POST {
            request.forwarded_body().await?
        } else {
            Vec::new()
        };
        return Ok(open311::serve(
            principal.as_ref(),
            &method,
            &path,
            &query,
            idempotency_key
                .as_ref()
                .map(Option::as_deref)
                .map_err(|_| ApiError::InvalidIdempotencyKey),
            &body,
            &request_id,
        )
        .await);
    }
    let principal = Principal::from_headers(request.headers()).ok_or(ApiError::Unauthenticated)?;
    let path = request.path().to_owned();
    let query = request.query().unwrap_or("").to_owned();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match (request.method().clone(), segments.as_slice()) {
        (Method::POST, ["api", "v1", "requests"]) => {
            let idempotency_key = idempotency_key(&request)?;
            let body = request.forwarded_body().await?;
            orders::file(&principal, idempotency_key, &body).await
        }
        (Method::POST, ["api", "v1", "requests", id, "supplements"]) => {
            let id = (*id).to_owned();
            let idempotency_key = idempotency_key(&request)?;
            let body = request.forwarded_body().await?;
            supplements::add(&principal, &id, idempotency_key.as_deref(), &body).await
        }
        (Method::POST, ["api", "v1", "photos"]) => {
            let content_type = request
                .headers()
                .get("content-type")
                .unwrap_or("")
                .to_owned();
            let body = request.body(mobile_api::MAX_PHOTO_UPLOAD_BYTES).await?;
            photos::upload(&principal, &content_type, &body).await
        }
        (Method::GET, ["api", "v1", "requests"]) => orders::list(&principal, &query).await,
        (Method::GET, ["api", "v1", "requests", "nearby"]) => follow::nearby(&query).await,
        (Method::POST, ["api", "v1", "requests", id, "follow"]) => {
            follow::follow(&principal, id).await
        }
        (Method::DELETE, ["api", "v1", "requests", id, "follow"]) => {
            follow::unfollow(&principal, id).await
        }
        (Method::GET, ["api", "v1", "requests", id]) => orders::detail(&principal, id).await,
        (Method::GET, ["api", "v1", "knowledge"]) => knowledge::search(&principal, &query).await,
        (Method::GET, ["api", "v1", "knowledge", id]) => knowledge::get(&principal, id).await,
        (Method::POST, ["api", "v1", "admin", "knowledge"]) => {
            let body = request.forwarded_body().await?;
            knowledge::create(&principal, &body).await
        }
        (Method::PUT, ["api", "v1", "admin", "knowledge", id]) => {
            let id = (*id).to_owned();
            let body = request.forwarded_body().await?;
            knowledge::update(&principal, &id, &body).await
        }
        (Method::POST, ["api", "v1", "admin", "knowledge", id, "retire"]) => {
            knowledge::retire(&principal, id).await
        }
        (Method::POST, ["api", "v1", "admin", "knowledge", id, "restore"]) => {
            knowledge::restore(&principal, id).await
        }
        (Method::GET, ["api", "v1", "admin", "knowledge", "retired"]) => {
            knowledge::retired(&query).await
        }
        (Method::GET, ["api", "v1", "admin", "knowledge", id, "history"]) => {
            knowledge::history(id).await
        }
        (
            _,
            ["api", "v1", "requests"]
            | ["api", "v1", "requests", _]
            | ["api", "v1", "requests", _, "follow"]
            | ["api", "v1", "requests", _, "supplements"]
            | ["api", "v1", "photos", ..]
            | ["api", "v1", "knowledge", ..]
            | ["api", "v1", "admin", "knowledge", ..],
        ) => Err(ApiError::MethodNotAllowed),
        _ => Err(ApiError::NotFound),
    }
}

/// The request's `Idempotency-Key`, if it sent one; refused when it is not text.
fn idempotency_key(request: &Incoming) -> Result<Option<String>, ApiError> {
    request
        .headers()
        .text(headers::IDEMPOTENCY_KEY)
        .map(|v| v.map(str::to_owned))
        .transpose()
        .map_err(|_| ApiError::InvalidIdempotencyKey)
}
