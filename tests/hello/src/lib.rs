//! `hello`: the smallest spin-sdk 7 component, answering every request with `hello`. The benchmark
//! serves it with our runtime and with `wasmtime serve`, which cannot host Spin's other interfaces.
//! Like the platform's components, it states its body's length (see `api_plumbing::into_wasi`).

use spin_sdk::http::{Request, Response};
use spin_sdk::http_service;

#[http_service]
async fn handle(_request: Request) -> Response<String> {
    let body = "hello".to_owned();
    let mut response = Response::new(body);
    let length = response.body().len().into();
    response.headers_mut().insert("content-length", length);
    response
}
