//! Calls to the private components by Spin service chaining, built on `wasi:http` directly.
//!
//! spin-sdk's `send` and `get` give every outgoing request a body stream and a guest task that
//! writes it, even a GET with nothing to send, and copy every header of the answer into an
//! `http::Response`. A chained call is on the path of every request the gateway forwards, so
//! here a request without a body has no stream at all, a body is written by one task in one
//! write, and the answer is handed back as the `wasi:http` response it is: the caller reads the
//! two or three headers it needs (see ARCHITECTURE.md, `components/gateway`).

use spin_sdk::http::Method;
use spin_sdk::wasip3::http::{client, types};

/// A request for one private component.
pub(crate) struct Call<'a> {
    pub component: &'a str,
    pub method: &'a Method,
    /// The path and query, starting with `/`.
    pub path_and_query: &'a str,
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body to send, if there is one.
    pub body: Option<Vec<u8>>,
}

/// Why a call could not be made.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The request itself is not one `wasi:http` accepts (its target or a header).
    Invalid,
    /// The component was called and did not answer.
    Failed(types::ErrorCode),
}

/// Sends `call` to its component and waits for the answer's head; the body stays unread.
pub(crate) async fn send(call: Call<'_>) -> Result<types::Response, Refusal> {
    let fields = types::Fields::from_list(&call.headers).map_err(|_| Refusal::Invalid)?;
    let (contents, trailers) = api_plumbing::body_parts(call.body);
    let (request, _) = types::Request::new(fields, contents, trailers, None);
    // A new request's method is GET (`wasi:http`'s `request.new`): one host call fewer on the
    // reads, most of what the gateway forwards.
    if call.method != Method::GET {
        request
            .set_method(&call.method.into())
            .map_err(|()| Refusal::Invalid)?;
    }
    request
        .set_scheme(Some(&types::Scheme::Http))
        .map_err(|()| Refusal::Invalid)?;
    request
        .set_authority(Some(&format!("{}.spin.internal", call.component)))
        .map_err(|()| Refusal::Invalid)?;
    request
        .set_path_with_query(Some(call.path_and_query))
        .map_err(|()| Refusal::Invalid)?;
    client::send(request).await.map_err(Refusal::Failed)
}
