//! `hello`: the smallest spin-sdk 7 component, answering every request with `hello`. The benchmark
//! serves it with our runtime and with `wasmtime serve`, which cannot host Spin's other interfaces.

use spin_sdk::http::{Request, Response};
use spin_sdk::http_service;

#[http_service]
async fn handle(_request: Request) -> Response<String> {
    Response::new("hello".to_owned())
}
