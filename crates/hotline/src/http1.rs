//! Outbound HTTP/1.1 on kept-alive connections: every origin a component reaches over HTTP/1.1
//! (the push services, WeChat, SMS gateways and their local fakes) gets its connections reused,
//! as Spin's outbound HTTP pools them, rather than a new TCP connection, and for `https` a new
//! TLS handshake, for every request.
//!
//! A connection goes back to its origin's idle list once its answer's body has been read to the
//! end (at once when the answer has none); a request takes the most recently used one. One that
//! the guest drops before the end of the body is closed, as HTTP/1.1 cannot resume it; one idle
//! for longer than [`IDLE_TIMEOUT`] is closed when next found, before the server is likely to
//! have closed it. When a server closed a kept connection before the request could go out on it
//! (hyper hands such a request back unsent), the request goes out on another; a request that
//! was sent is never sent twice. The guest's connect, first-byte and between-bytes timeouts
//! apply as in wasmtime-wasi-http's own client.
//!
//! One client per lane (`App::http1`): its connections are driven by that lane's runtime.

use http::uri::Scheme;
use http::{Request, Response, Uri};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

type Sender = hyper::client::conn::http1::SendRequest<WasiBody>;

/// Idle connections by origin (`scheme://host:port`).
type IdleLists = Mutex<HashMap<String, Vec<Idle>>>;

/// A kept connection is not reused after this long idle: servers close idle connections after
/// a while of their own (nginx after 75 s), and one closed as a request goes out fails it.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The idle connections kept per origin; more are closed as they come back.
const IDLE_PER_ORIGIN: usize = 32;

/// The waits when the guest sets none, as wasmtime-wasi-http's client has them.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

struct Idle {
    sender: Sender,
    since: Instant,
}

/// The kept-alive HTTP/1.1 connections of one lane.
#[derive(Default)]
pub struct Http1Client {
    idle: Arc<IdleLists>,
    /// The TLS settings, made once (the root store is ~150 certificates).
    tls: OnceLock<Arc<rustls::ClientConfig>>,
}

impl Http1Client {
    pub async fn send(
        &self,
        mut request: Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<Response<WasiBody>, Error> {
        let uri = request.uri();
        let tls = uri.scheme() == Some(&Scheme::HTTPS);
        let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let origin = format!(
            "{}://{}:{port}",
            if tls { "https" } else { "http" },
            authority.host()
        );
        let host = connect_host(authority.host()).to_owned();
        let timeout = |pick: fn(&RequestOptions) -> Option<Duration>| {
            options.as_ref().and_then(pick).unwrap_or(DEFAULT_TIMEOUT)
        };
        let connect_timeout = timeout(|o| o.connect_timeout);
        let first_byte_timeout = timeout(|o| o.first_byte_timeout);
        let between_bytes_timeout = timeout(|o| o.between_bytes_timeout).max(Duration::new(0, 1));
        // The request line carries the path only (the authority goes in `Host`, which the guest's
        // request already has), as to any server that is not a proxy.
        *request.uri_mut() = path_only(request.uri())?;

        loop {
            let (mut sender, kept) = match self.take(&origin) {
                Some(sender) => (sender, true),
                None => {
                    let connected =
                        tokio::time::timeout(connect_timeout, self.connect(tls, &host, port));
                    let sender = connected.await.map_err(|_| Error::ConnectionTimeout)??;
                    (sender, false)
                }
            };
            let sent = tokio::time::timeout(first_byte_timeout, sender.try_send_request(request));
            match sent.await {
                Err(_) => return Err(Error::ConnectionReadTimeout),
                Ok(Ok(response)) => {
                    let pool = Arc::downgrade(&self.idle);
                    let (parts, incoming) = response.into_parts();
                    let mut body = PooledBody {
                        incoming,
                        wait: Box::pin(tokio::time::sleep(between_bytes_timeout)),
                        between_bytes_timeout,
                        giving_back: Some((sender, pool, origin)),
                    };
                    if body.incoming.is_end_stream() {
                        body.give_back();
                    }
                    return Ok(Response::from_parts(parts, body.boxed_unsync()));
                }
                Ok(Err(mut refused)) => match refused.take_message() {
                    // The kept connection had closed before the request could go out on it.
                    Some(unsent) if kept => request = unsent,
                    _ => return Err(Error::from(refused.into_error())),
                },
            }
        }
    }

    /// The most recently used idle connection to `origin` still open, closing the stale ones.
    fn take(&self, origin: &str) -> Option<Sender> {
        let mut lists = lock(&self.idle);
        let list = lists.get_mut(origin)?;
        while let Some(idle) = list.pop() {
            if idle.since.elapsed() > IDLE_TIMEOUT {
                // The rest are older still.
                list.clear();
                break;
            }
            if !idle.sender.is_closed() {
                return Some(idle.sender);
            }
        }
        None
    }

    async fn connect(&self, tls: bool, host: &str, port: u16) -> Result<Sender, Error> {
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(Error::Connect)?;
        let _ = tcp.set_nodelay(true);
        let builder = hyper::client::conn::http1::Builder::new();
        let (sender, connection) = if tls {
            let name = rustls::pki_types::ServerName::try_from(host.to_owned())
                .map_err(|_| Error::HttpRequestUriInvalid)?;
            let stream = tokio_rustls::TlsConnector::from(self.tls_config())
                .connect(name, tcp)
                .await
                .map_err(Error::Tls)?;
            let (sender, connection) = builder
                .handshake(hyper_util::rt::TokioIo::new(stream))
                .await?;
            (sender, Box::pin(connection) as ConnectionTask)
        } else {
            let (sender, connection) = builder.handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
            (sender, Box::pin(connection) as ConnectionTask)
        };
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "an outbound HTTP/1.1 connection ended");
            }
        });
        Ok(sender)
    }

    fn tls_config(&self) -> Arc<rustls::ClientConfig> {
        self.tls
            .get_or_init(|| Arc::new(tls_client_config(b"http/1.1")))
            .clone()
    }

    /// How many idle connections are kept to `origin` (for tests).
    #[cfg(test)]
    fn idle_count(&self, origin: &str) -> usize {
        lock(&self.idle).get(origin).map_or(0, Vec::len)
    }
}

/// TLS to outside services: the web's roots (webpki-roots), no client certificate, and the one
/// protocol offered by ALPN (`http/1.1` here, `h2` for `crate::http2`).
pub fn tls_client_config(protocol: &[u8]) -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.into(),
    };
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![protocol.to_vec()];
    config
}

fn lock(idle: &IdleLists) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Idle>>> {
    idle.lock().unwrap_or_else(|p| p.into_inner())
}

/// The host to connect to and name to TLS: an IPv6 address without the brackets a URI writes it
/// in (`[::1]`), which neither the resolver nor rustls takes.
pub fn connect_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

fn path_only(uri: &Uri) -> Result<Uri, Error> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    Uri::builder()
        .path_and_query(path)
        .build()
        .map_err(|_| Error::HttpRequestUriInvalid)
}

type ConnectionTask = Pin<Box<dyn Future<Output = Result<(), hyper::Error>> + Send>>;

/// An answer's body, with the between-bytes timeout; at its end, its connection goes back to the
/// idle list.
struct PooledBody {
    incoming: hyper::body::Incoming,
    wait: Pin<Box<tokio::time::Sleep>>,
    between_bytes_timeout: Duration,
    giving_back: Option<(Sender, Weak<IdleLists>, String)>,
}

impl PooledBody {
    fn give_back(&mut self) {
        let Some((sender, pool, origin)) = self.giving_back.take() else {
            return;
        };
        let Some(pool) = pool.upgrade() else { return };
        if sender.is_closed() {
            return;
        }
        let mut lists = lock(&pool);
        let list = lists.entry(origin).or_default();
        if list.len() < IDLE_PER_ORIGIN {
            list.push(Idle {
                sender,
                since: Instant::now(),
            });
        }
    }
}

impl Body for PooledBody {
    type Data = bytes::Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(None) => {
                this.give_back();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(error))) => {
                // The connection is no good: dropped with this body.
                this.giving_back = None;
                Poll::Ready(Some(Err(if error.is_timeout() {
                    Error::HttpResponseTimeout
                } else {
                    Error::from(error)
                })))
            }
            Poll::Ready(Some(Ok(frame))) => {
                if this.incoming.is_end_stream() {
                    this.give_back();
                } else {
                    let deadline = tokio::time::Instant::now() + this.between_bytes_timeout;
                    this.wait.as_mut().reset(deadline);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                std::task::ready!(this.wait.as_mut().poll(cx));
                this.giving_back = None;
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Empty, Full};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::net::TcpListener;

    /// A server answering `ok` to every request, counting the connections it accepted; with
    /// `close`, it ends each connection after one answer.
    async fn server(close: bool) -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_request| async {
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                            bytes::Bytes::from_static(b"ok"),
                        )))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(!close)
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (port, accepted)
    }

    fn get(port: u16) -> Request<WasiBody> {
        Request::get(format!("http://127.0.0.1:{port}/ping"))
            .header("host", format!("127.0.0.1:{port}"))
            .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
            .expect("a request")
    }

    async fn read(client: &Http1Client, port: u16) -> String {
        let response = client.send(get(port), None).await.expect("an answer");
        let body = response.into_body().collect().await.expect("a body");
        String::from_utf8(body.to_bytes().to_vec()).expect("text")
    }

    #[test]
    fn an_ipv6_host_is_connected_to_without_its_brackets() {
        assert_eq!(connect_host("[::1]"), "::1");
        assert_eq!(connect_host("fcm.googleapis.com"), "fcm.googleapis.com");
        assert_eq!(connect_host("127.0.0.1"), "127.0.0.1");
    }

    #[tokio::test]
    async fn a_connection_is_reused_once_its_answer_is_read() {
        let (port, accepted) = server(false).await;
        let client = Http1Client::default();
        for _ in 0..3 {
            assert_eq!(read(&client, port).await, "ok");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(client.idle_count(&format!("http://127.0.0.1:{port}")), 1);
    }

    #[tokio::test]
    async fn requests_at_once_each_get_a_connection() {
        let (port, accepted) = server(false).await;
        let client = Http1Client::default();
        let (a, b) = tokio::join!(read(&client, port), read(&client, port));
        assert_eq!((a.as_str(), b.as_str()), ("ok", "ok"));
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        assert_eq!(read(&client, port).await, "ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_not_used_again() {
        let (port, accepted) = server(true).await;
        let client = Http1Client::default();
        for _ in 0..3 {
            // At once: whether or not the connection's task has seen the server's close yet,
            // the request goes out on a new connection.
            assert_eq!(read(&client, port).await, "ok");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_body_dropped_unread_closes_its_connection() {
        let (port, accepted) = server(false).await;
        let client = Http1Client::default();
        let response = client.send(get(port), None).await.expect("an answer");
        drop(response);
        assert_eq!(client.idle_count(&format!("http://127.0.0.1:{port}")), 0);
        assert_eq!(read(&client, port).await, "ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }
}
