//! Fakes of the outside services the platform calls, for the tests and the demo. Each speaks the
//! real wire protocol, checks what the real service checks (credentials, signatures, required
//! fields, limits) and answers with the real service's error codes; each can be told to fail.

pub mod apns;
pub mod fcm;
pub mod hms;
pub mod sms;
pub mod wechat;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::future::Future;
use std::net::SocketAddr;

/// A request as a fake sees it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, body (JSON unless the fake pretends to be a broken proxy) and headers.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn json(status: u16, value: serde_json::Value) -> Answer {
        Answer {
            status,
            body: value.to_string(),
            headers: Vec::new(),
        }
    }

    /// A bare status with an HTML body, as a load balancer in front of a service answers.
    pub fn bare(status: u16) -> Answer {
        Answer {
            status,
            body: "<html>unavailable</html>".into(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Answer {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// What a push fake's next requests meet instead of its normal behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A bare HTTP status (503 from a load balancer, say), with `Retry-After` if given.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// The service's own error: HTTP status and code in its envelope (e.g. 429 `QUOTA_EXCEEDED`
    /// for FCM, `80300007` for HMS, errcode `43101` for WeChat, where the status is 200).
    Code { status: u16, code: String },
    /// Wait this long, then behave normally.
    Delay(std::time::Duration),
    /// Wait this long, then answer a bare 503 having done nothing: to a caller with a shorter
    /// timeout, a service that hangs.
    Hang(std::time::Duration),
}

/// What a fake answers for `fault`: `Some` answer to return at once, or `None` to go on as normal
/// (after a `Delay`). `own_error` builds the service's own error envelope for a `Code`.
pub async fn meet(fault: Option<Fault>, own_error: impl Fn(u16, &str) -> Answer) -> Option<Answer> {
    match fault? {
        Fault::Delay(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Fault::Hang(delay) => {
            tokio::time::sleep(delay).await;
            Some(Answer::bare(503))
        }
        Fault::Status {
            status,
            retry_after,
        } => {
            let answer = Answer::bare(status);
            Some(match retry_after {
                Some(seconds) => answer.with_header("retry-after", seconds.to_string()),
                None => answer,
            })
        }
        Fault::Code { status, code } => Some(own_error(status, &code)),
    }
}

/// What a push fake (FCM, Push Kit) keeps: the access tokens it granted, the device tokens whose
/// apps are gone, what it delivered, and the faults its next requests meet.
pub struct PushState<P> {
    pub tokens: std::collections::HashSet<String>,
    /// Tokens that worked once and have expired since.
    pub expired: std::collections::HashSet<String>,
    pub unregistered: std::collections::HashSet<String>,
    pub delivered: Vec<P>,
    pub faults: Faults,
    pub grants: usize,
    pub requests: usize,
}

impl<P> Default for PushState<P> {
    fn default() -> Self {
        PushState {
            tokens: Default::default(),
            expired: Default::default(),
            unregistered: Default::default(),
            delivered: Vec::new(),
            faults: Faults::default(),
            grants: 0,
            requests: 0,
        }
    }
}

impl<P> PushState<P> {
    /// A new access token, as the provider's OAuth endpoint grants it.
    pub fn grant(&mut self, prefix: &str) -> String {
        self.grants += 1;
        let token = format!("{prefix}{}", uuid::Uuid::new_v4().simple());
        self.tokens.insert(token.clone());
        token
    }

    /// Whether the request carries a live bearer token.
    pub fn authorized(&self, received: &Received) -> bool {
        received
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|token| self.tokens.contains(token))
    }
}

/// A running push fake; it serves until the test's runtime ends.
pub struct PushFake<P> {
    pub address: SocketAddr,
    state: std::sync::Arc<std::sync::Mutex<PushState<P>>>,
}

impl<P> Clone for PushFake<P> {
    fn clone(&self) -> Self {
        PushFake {
            address: self.address,
            state: self.state.clone(),
        }
    }
}

impl<P: Clone + Send + 'static> PushFake<P> {
    /// Serves on `address`: each request is counted, meets the next fault if there is one
    /// (`own_error` makes the service's error envelope), and is otherwise answered by `handle`.
    pub(crate) async fn serve_with(
        address: SocketAddr,
        protocol: Protocol,
        own_error: fn(u16, &str) -> Answer,
        handle: fn(&mut PushState<P>, &Received) -> Answer,
    ) -> anyhow::Result<PushFake<P>> {
        let state = std::sync::Arc::new(std::sync::Mutex::new(PushState::default()));
        let handler_state = state.clone();
        let address = serve_with_protocol(address, protocol, move |received: Received| {
            let state = handler_state.clone();
            async move {
                let fault = {
                    let mut state = lock(&state);
                    state.requests += 1;
                    state.faults.take()
                };
                if let Some(answer) = meet(fault, own_error).await {
                    return answer;
                }
                handle(&mut lock(&state), &received)
            }
        })
        .await?;
        Ok(PushFake { address, state })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Messages accepted so far, oldest first.
    pub fn delivered(&self) -> Vec<P> {
        lock(&self.state).delivered.clone()
    }

    /// How many messages were accepted so far (without copying them, as `delivered` does).
    pub fn delivered_count(&self) -> usize {
        lock(&self.state).delivered.len()
    }

    /// How many access tokens were granted.
    pub fn grants(&self) -> usize {
        lock(&self.state).grants
    }

    /// Every request that reached the fake, faults included.
    pub fn requests(&self) -> usize {
        lock(&self.state).requests
    }

    /// The app was uninstalled: the provider now refuses this device token.
    pub fn unregister(&self, token: &str) {
        lock(&self.state).unregistered.insert(token.to_owned());
    }

    /// Every access token granted so far stops working (as after its hour).
    pub fn expire_tokens(&self) {
        let mut state = lock(&self.state);
        let tokens = std::mem::take(&mut state.tokens);
        state.expired.extend(tokens);
    }

    /// The next `times` requests (token grants and sends alike) meet `fault`.
    pub fn fail_next(&self, fault: Fault, times: usize) {
        lock(&self.state).faults.push(fault, times);
    }
}

fn lock<T>(state: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// A queue of faults: `fail_next(fault, n)` gives n failures, then success.
#[derive(Debug, Default)]
pub struct Faults(std::collections::VecDeque<Fault>);

impl Faults {
    pub fn push(&mut self, fault: Fault, times: usize) {
        for _ in 0..times {
            self.0.push_back(fault.clone());
        }
    }

    pub fn take(&mut self) -> Option<Fault> {
        self.0.pop_front()
    }
}

/// Serves `handle` on `address` (port 0 picks one) until the runtime ends; returns the address.
pub async fn serve<F, Fut>(address: SocketAddr, handle: F) -> anyhow::Result<SocketAddr>
where
    F: Fn(Received) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send + 'static,
{
    serve_with_protocol(address, Protocol::Http1, handle).await
}

/// The HTTP version a fake speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    /// HTTP/2 only, cleartext with prior knowledge (as APNs speaks only HTTP/2).
    Http2,
}

/// [`serve`], speaking `protocol`.
pub async fn serve_with_protocol<F, Fut>(
    address: SocketAddr,
    protocol: Protocol,
    handle: F,
) -> anyhow::Result<SocketAddr>
where
    F: Fn(Received) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind(address).await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let handle = handle.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let received = Received {
                            method: parts.method.to_string(),
                            path: parts.uri.path().to_owned(),
                            query: parts.uri.query().unwrap_or("").to_owned(),
                            headers: parts
                                .headers
                                .iter()
                                .map(|(k, v)| {
                                    (
                                        k.to_string(),
                                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                    )
                                })
                                .collect(),
                            body: body.to_vec(),
                        };
                        let answer = handle(received).await;
                        let mut response = Response::builder()
                            .status(answer.status)
                            .header("content-type", "application/json;charset=utf-8");
                        for (name, value) in &answer.headers {
                            response = response.header(name.as_str(), value.as_str());
                        }
                        Ok::<_, std::convert::Infallible>(
                            response
                                .body(Full::new(Bytes::from(answer.body)))
                                .expect("a response"),
                        )
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = match protocol {
                    Protocol::Http1 => {
                        hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await
                    }
                    Protocol::Http2 => {
                        hyper::server::conn::http2::Builder::new(
                            hyper_util::rt::TokioExecutor::new(),
                        )
                        .serve_connection(io, service)
                        .await
                    }
                };
            });
        }
    });
    Ok(address)
}

/// Prints what the fakes deliver, as it arrives, for as long as the demo runs (`cargo xtask up`
/// and `fake-services`).
pub async fn print_deliveries(
    sms: &sms::FakeSms,
    fcm: &fcm::FakeFcm,
    hms: &hms::FakeHms,
    apns: &apns::FakeApns,
) {
    let (mut shown_sms, mut shown_fcm, mut shown_hms, mut shown_apns) = (0, 0, 0, 0);
    let notice = sms::notice_template(sms::Provider::Aliyun);
    let sign = sms.account().sign_name;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let delivered = sms.delivered();
        for message in &delivered[shown_sms..] {
            let first = message.params.first().map(String::as_str).unwrap_or("");
            if message.template == notice {
                println!(
                    "fake SMS → {}：【{sign}】您的诉求 {first} 有新进展，请在 App 或小程序中查看。",
                    message.phone
                );
            } else {
                println!(
                    "fake SMS → {}：【{sign}】您的验证码是 {first}，{} 分钟内有效。",
                    message.phone,
                    message.params.get(1).map(String::as_str).unwrap_or("5"),
                );
            }
        }
        shown_sms = delivered.len();
        let pushed = fcm.delivered();
        for push in &pushed[shown_fcm..] {
            println!("fake FCM → {}：【{}】{}", push.token, push.title, push.body);
        }
        shown_fcm = pushed.len();
        let pushed = hms.delivered();
        for push in &pushed[shown_hms..] {
            println!(
                "fake Push Kit → {}：【{}】{}",
                push.token, push.title, push.body
            );
        }
        shown_hms = pushed.len();
        let pushed = apns.delivered();
        for push in &pushed[shown_apns..] {
            let token: String = push.token.chars().take(12).collect();
            println!("fake APNs → {token}…：【{}】{}", push.title, push.body);
        }
        shown_apns = pushed.len();
    }
}
