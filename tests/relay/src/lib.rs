//! `relay`: the least a component in front of another can do. It reads nothing of the request,
//! sends `GET /hello/` to the `hello` component by Spin service chaining (on `wasi:http`
//! directly, as the gateway's calls are made), and returns the answer as it came.
//!
//! The benchmark serves it against `hello` alone: what one more component on the path costs with
//! no work of its own, and so the best ratio any front door's hop can reach on this runtime.

use spin_sdk::wasip3::exports::http::handler::Guest;
use spin_sdk::wasip3::http::{client, types};

// What `#[http_service]` expands to, less its conversion of the request into `http` types
// (every header name parsed and hashed): the relay reads nothing of the request.
struct Relay;
spin_sdk::wasip3::http::service::export!(Relay);

impl Guest for Relay {
    async fn handle(_request: types::Request) -> Result<types::Response, types::ErrorCode> {
        let invalid = || types::ErrorCode::InternalError(Some("the chained request".to_owned()));
        let (contents, trailers) = api_plumbing::body_parts(None);
        let (request, _) = types::Request::new(types::Fields::new(), contents, trailers, None);
        request
            .set_scheme(Some(&types::Scheme::Http))
            .map_err(|()| invalid())?;
        request
            .set_authority(Some("hello.spin.internal"))
            .map_err(|()| invalid())?;
        request
            .set_path_with_query(Some("/hello/"))
            .map_err(|()| invalid())?;
        client::send(request).await
    }
}
