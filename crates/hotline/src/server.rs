//! The HTTP trigger: HTTP/1.1 with hyper, Spin's route matching, back-pressure, and one log line
//! per request.
//!
//! Invariant: a private component is never reached from outside; only `http://<id>.spin.internal`
//! from another component reaches it.

use crate::app::{App, DispatchError, Trigger};
use crate::lanes::Lanes;
use crate::metrics::{Rejected, Via};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

type Body = UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

/// How long a request waits for a free slot before it is turned away with 503.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// Bodies from this size up (a photo; never a JSON request, at most 64 KiB) are read whole before
/// their component is called, and before they take one of the slots: a photo from a phone on a
/// weak signal (2 MiB at 1 Mbit/s is 16 s) then spends `Limits::body_timeout`, not the request's
/// time limit, and holds no instance while it arrives.
const READ_WHOLE_FROM: u64 = 64 * 1024 + 1;

/// Larger bodies are left to stream: the gateway refuses them by their length at once. A body
/// that declares no length (sent in chunks) is read whole too, up to this; past it, 413.
const READ_WHOLE_UP_TO: u64 = 4 << 20;

/// What the bodies being read whole may hold at once, in KiB: as much as 128 photos of 2 MiB.
/// When it is spent, the next waits (`QUEUE_WAIT`) for room, then is answered 503.
const READ_WHOLE_BUDGET_KIB: usize = 256 * 1024;
static READ_WHOLE_BUDGET: Semaphore = Semaphore::const_new(READ_WHOLE_BUDGET_KIB);

/// Accepts connections until `shutdown` and hands them to the lanes in turn; then drains (see
/// `Drain`).
pub async fn serve(
    mut lanes: Lanes,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    drain: Drain,
) -> anyhow::Result<()> {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, client)) => lanes.hand_over(stream, client),
                Err(error) => tracing::warn!(%error, "accept failed"),
            },
            () = &mut shutdown => break,
        }
    }
    // New connections are refused from here on.
    drop(listener);
    drain.run(&lanes).await;
    lanes.stop();
    Ok(())
}

/// A stop that loses no request in hand: the listener closes, every kept-alive connection
/// finishes the request it is serving and closes (idle ones at once), the schedules start no new
/// run and finish the one under way; the runtime waits for all that, up to `deadline` (a request's
/// time limit and a second: nothing in hand can take longer), and only then ends. A load balancer
/// sends the requests that follow to another runtime.
pub struct Drain {
    pub stopping: tokio::sync::watch::Sender<bool>,
    pub schedules: Vec<tokio::task::JoinHandle<()>>,
    pub deadline: Duration,
}

impl Drain {
    async fn run(self, lanes: &Lanes) {
        let started = Instant::now();
        let in_hand = || lanes.slots_taken();
        tracing::info!(
            requests = in_hand(),
            connections = lanes.open_connections(),
            "stopping: finishing the requests in hand"
        );
        let _ = self.stopping.send(true);
        let waited = tokio::time::timeout(self.deadline, async {
            for schedule in self.schedules {
                let _ = schedule.await;
            }
            // Every connection closes once it has answered the request in hand.
            while lanes.open_connections() > 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        match waited {
            Ok(()) => tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "stopped: every request in hand was answered"
            ),
            Err(_) => tracing::warn!(
                requests = in_hand(),
                connections = lanes.open_connections(),
                "stopped with requests still in hand after {} s",
                self.deadline.as_secs()
            ),
        }
    }
}

/// One open connection, counted while it lives (a stop waits for the count to fall to zero:
/// a response's slot is given back when its head is ready, its body may still be on its way).
pub struct Open(Arc<std::sync::atomic::AtomicUsize>);

impl Open {
    pub fn new(connections: &Arc<std::sync::atomic::AtomicUsize>) -> Open {
        connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Open(connections.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Returns once `stopping` is set (at once if it is already).
pub async fn stopped(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    // A sender gone means the runtime is ending anyway.
    let _ = stopping.wait_for(|stopping| *stopping).await;
}

/// Serves one HTTP/1.1 connection on a task of the current (the lane's) runtime; once `stopping`,
/// it finishes the request in hand (if any) and closes.
pub fn spawn_connection(
    app: Arc<App>,
    slots: Arc<Semaphore>,
    stream: TcpStream,
    client: SocketAddr,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    open: Open,
) {
    let _ = stream.set_nodelay(true);
    // `spin-client-addr` is the same for every request on a connection.
    let client_addr = HeaderValue::from_str(&client.to_string()).ok();
    tokio::spawn(async move {
        let service = hyper::service::service_fn(move |request| {
            let app = app.clone();
            let slots = slots.clone();
            let client_addr = client_addr.clone();
            async move {
                Ok::<_, std::convert::Infallible>(handle(&app, &slots, client_addr, request).await)
            }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service);
        let mut connection = std::pin::pin!(connection);
        let ended = tokio::select! {
            ended = connection.as_mut() => ended,
            () = stopped(&mut stopping) => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(error) = ended {
            tracing::debug!(%error, "connection ended with an error");
        }
        drop(open);
    });
}

async fn handle(
    app: &App,
    slots: &Semaphore,
    client_addr: Option<HeaderValue>,
    request: Request<Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let Some(trigger) = app.route(&path) else {
        app.metrics.rejected(Rejected::NoRoute);
        let response = error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "没有这个地址 (no such route)",
        );
        log_request(app, &method, &path, "-", "-", &response, started);
        return response;
    };
    let (route_text, component) = (trigger.raw.as_str(), trigger.component.as_str());

    // An answer before the component is called.
    let refused = |response: Response<Body>| {
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            app.metrics.rejected(Rejected::Busy);
        }
        log_request(
            app, &method, &path, route_text, component, &response, started,
        );
        response
    };

    let (request, room) = match whole_body(&request) {
        None => (with_spin_headers(request, trigger, client_addr), None),
        Some(length) => match read_whole(request, length, app.limits.body_timeout).await {
            Ok((request, room)) => (with_spin_headers(request, trigger, client_addr), Some(room)),
            Err(response) => return refused(response),
        },
    };
    // A large body (a photo) then waits for one of its lane's turns (`Limits::large_per_lane`),
    // holding nothing but itself: one served holds a gateway and an intake instance, grown to
    // hold the picture and its decoding, and a core for some 55 ms. Sixteen clients' photos
    // served as they came held 270 MiB at the peak, one a lane at a time 120, for the same
    // throughput and a lower p99 (ARCHITECTURE.md).
    let large = room
        .as_ref()
        .is_some_and(|room| room.num_permits() as u64 * 1024 >= READ_WHOLE_FROM);
    let turn = match large {
        false => None,
        true => {
            let waiting = app.metrics.waiting_for_turn();
            let turn = take(&app.large, 1).await;
            drop(waiting);
            match turn {
                Some(turn) => Some(turn),
                None => return refused(busy()),
            }
        }
    };
    let Some(permit) = take(slots, 1).await else {
        return refused(busy());
    };

    let response = match app.dispatch(component, Via::Http, request).await {
        Ok(response) => response,
        Err(DispatchError::TimedOut) => {
            tracing::warn!(%component, "request cut off at its time limit");
            error_response(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "处理超时 (the request took too long)",
            )
        }
        Err(error) => {
            tracing::error!(%component, error = %format!("{error:#}"), "component failed");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "服务内部错误 (internal error)",
            )
        }
    };
    drop((permit, turn, room));
    log_request(
        app, &method, &path, route_text, component, &response, started,
    );
    response
}

/// `n` permits of `semaphore`: at once when they are free (only a full server arms the timer),
/// or when they come free within [`QUEUE_WAIT`]; `None` when they do not.
async fn take(semaphore: &Semaphore, n: u32) -> Option<tokio::sync::SemaphorePermit<'_>> {
    match semaphore.try_acquire_many(n) {
        Ok(permit) => Some(permit),
        Err(_) => tokio::time::timeout(QUEUE_WAIT, semaphore.acquire_many(n))
            .await
            .ok()?
            .ok(),
    }
}

/// 503: the server is too busy to take the request now; `Retry-After` tells the app when to try
/// again, so that a burst's retries do not all come back at once.
fn busy() -> Response<Body> {
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "server_busy",
        "服务繁忙，请稍后再试 (server busy)",
    );
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_BUSY_AFTER),
    );
    response
}

/// The seconds a request turned away busy is told to wait before it tries again.
const RETRY_BUSY_AFTER: &str = "2";

/// The length of a body to read whole before the component is called: one of a photo's size,
/// as it declares it; or, for a body that declares none (sent in chunks, or over HTTP/2 without
/// `content-length`), `Undeclared`, however small it turns out to be: until it has all arrived
/// nothing tells a photo from a JSON body, and either may come slowly.
fn whole_body(request: &Request<Incoming>) -> Option<Length> {
    use hyper::body::Body as _;
    match request.headers().get(http::header::CONTENT_LENGTH) {
        Some(declared) => declared
            .to_str()
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|length| (READ_WHOLE_FROM..=READ_WHOLE_UP_TO).contains(length))
            .map(Length::Declared),
        None if !request.body().is_end_stream() => Some(Length::Undeclared),
        None => None,
    }
}

/// How long a body read whole is: as it says, or unknown until it ends.
#[derive(Clone, Copy, Debug)]
enum Length {
    Declared(u64),
    Undeclared,
}

/// `request` with its body read whole within `wait`, and the room it holds in
/// [`READ_WHOLE_BUDGET`] until the request is done; or the answer when it cannot be: 503 when
/// the budget stays spent, 408 when the body is slower than `wait`, 400 when it breaks off, 413
/// when a body of undeclared length runs past [`READ_WHOLE_UP_TO`]. A body of undeclared length
/// takes room for that much while it arrives, and gives back what it did not use.
async fn read_whole(
    request: Request<Incoming>,
    length: Length,
    wait: Duration,
) -> Result<
    (
        Request<impl hyper::body::Body<Data = Bytes, Error = hyper::Error> + Send + 'static>,
        tokio::sync::SemaphorePermit<'static>,
    ),
    Response<Body>,
> {
    let most = match length {
        Length::Declared(length) => length,
        Length::Undeclared => READ_WHOLE_UP_TO,
    };
    let kib = u32::try_from(most.div_ceil(1024)).unwrap_or(u32::MAX);
    let Some(mut room) = take(&READ_WHOLE_BUDGET, kib).await else {
        return Err(busy());
    };
    let (parts, body) = request.into_parts();
    // The declared length is hyper's to hold the body to; an undeclared one is held here.
    let body = http_body_util::Limited::new(body, most as usize);
    match tokio::time::timeout(wait, body.collect()).await {
        Ok(Ok(collected)) => {
            let bytes = collected.to_bytes();
            let unused = (kib as usize).saturating_sub(bytes.len().div_ceil(1024));
            drop(room.split(unused));
            let body = Full::new(bytes).map_err(|never| match never {});
            Ok((Request::from_parts(parts, body), room))
        }
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "请求内容过大 (the body is too large)",
        )),
        Ok(Err(_)) => Err(error_response(
            StatusCode::BAD_REQUEST,
            "incomplete_body",
            "请求内容不完整 (the body broke off)",
        )),
        Err(_) => Err(error_response(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "上传超时，请在信号较好时重试 (the body took too long to arrive)",
        )),
    }
}

/// The request as Spin presents it to a component, with the `spin-*` headers components may read.
fn with_spin_headers<B>(
    request: Request<B>,
    trigger: &Trigger,
    client_addr: Option<HeaderValue>,
) -> Request<wasmtime_wasi_http::WasiBody>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    wasmtime_wasi_http::Error: From<B::Error>,
{
    let (mut parts, body) = request.into_parts();
    // Room for the seven headers at once, not regrown as they go in.
    parts.headers.reserve(SPIN_HEADERS);
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let full_url = format!("http://{host}{path_and_query}");
    if let Ok(uri) = full_url.parse() {
        parts.uri = uri;
    }
    let path_info = parts
        .uri
        .path()
        .strip_prefix(trigger.base.as_str())
        .unwrap_or("");
    let per_request = [
        (SPIN_FULL_URL, HeaderValue::from_str(&full_url).ok()),
        (SPIN_PATH_INFO, HeaderValue::from_str(path_info).ok()),
        (SPIN_CLIENT_ADDR, client_addr),
    ];
    for (name, value) in per_request {
        if let Some(value) = value {
            parts.headers.insert(name, value);
        }
    }
    let headers = &mut parts.headers;
    headers.insert(SPIN_MATCHED_ROUTE, trigger.raw_header.clone());
    headers.insert(SPIN_RAW_COMPONENT_ROUTE, trigger.raw_header.clone());
    headers.insert(SPIN_COMPONENT_ROUTE, trigger.base_header.clone());
    headers.insert(SPIN_BASE_PATH, HeaderValue::from_static("/"));
    Request::from_parts(
        parts,
        body.map_err(wasmtime_wasi_http::Error::from).boxed_unsync(),
    )
}

const SPIN_HEADERS: usize = 7;
const SPIN_FULL_URL: HeaderName = HeaderName::from_static("spin-full-url");
const SPIN_PATH_INFO: HeaderName = HeaderName::from_static("spin-path-info");
const SPIN_MATCHED_ROUTE: HeaderName = HeaderName::from_static("spin-matched-route");
const SPIN_RAW_COMPONENT_ROUTE: HeaderName = HeaderName::from_static("spin-raw-component-route");
const SPIN_COMPONENT_ROUTE: HeaderName = HeaderName::from_static("spin-component-route");
const SPIN_BASE_PATH: HeaderName = HeaderName::from_static("spin-base-path");
const SPIN_CLIENT_ADDR: HeaderName = HeaderName::from_static("spin-client-addr");

pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": { "code": code, "message": message } }).to_string();
    Response::builder()
        .status(status)
        .header(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(
            Full::new(Bytes::from(body))
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .expect("a static response is valid")
}

fn log_request(
    app: &App,
    method: &http::Method,
    path: &str,
    route: &str,
    component: &str,
    response: &Response<Body>,
    started: Instant,
) {
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info!(
        target: "hotline::request",
        %method,
        path,
        route,
        component,
        status = response.status().as_u16(),
        lane = app.lane,
        duration_ms = format!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
        request_id,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bench gives `wasmtime serve` these same values (`HELLO_SPIN_HEADERS` in xtask's
    /// bench), so that both runtimes hand the hello component the same request: change both.
    #[test]
    fn the_spin_headers_of_the_benchs_hello_request() {
        let trigger = Trigger::new(
            crate::manifest::Route::Wildcard("/hello".into()),
            "hello".into(),
        )
        .expect("a valid route");
        let request = Request::get("/hello/")
            .header("host", "bench")
            .body(
                http_body_util::Empty::<Bytes>::new()
                    .map_err(|never| -> hyper::Error { match never {} }),
            )
            .expect("a valid request");
        let client = HeaderValue::from_static("127.0.0.1:40000");
        let request = with_spin_headers(request, &trigger, Some(client));
        let mut spin: Vec<(&str, &str)> = request
            .headers()
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("spin-"))
            .map(|(name, value)| (name.as_str(), value.to_str().expect("ASCII")))
            .collect();
        let mut expected = vec![
            ("spin-full-url", "http://bench/hello/"),
            ("spin-path-info", "/"),
            ("spin-matched-route", "/hello/..."),
            ("spin-raw-component-route", "/hello/..."),
            ("spin-component-route", "/hello"),
            ("spin-base-path", "/"),
            ("spin-client-addr", "127.0.0.1:40000"),
        ];
        spin.sort();
        expected.sort();
        assert_eq!(spin, expected);
        assert_eq!(request.uri().to_string(), "http://bench/hello/");
    }
}
