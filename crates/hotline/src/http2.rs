//! Outbound HTTP/2, for the origins a component lists in `http2_origins` (a runtime setting under
//! `[component.<id>.tool.hotline]`). APNs speaks only HTTP/2; everything else goes out over
//! HTTP/1.1 as before.
//!
//! An `https` origin is reached over TLS offering only `h2` by ALPN; an `http` origin (a local
//! fake) with HTTP/2 prior knowledge. One connection per origin is kept and shared by every
//! request, multiplexed, as APNs asks of its clients; a connection that fails is replaced on the
//! next request. The guest's connect and first-byte timeouts apply.

use http::{Request, Response};
use http_body_util::BodyExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

type Sender = hyper::client::conn::http2::SendRequest<WasiBody>;

/// The open HTTP/2 connections, by origin (one set per lane).
#[derive(Default)]
pub struct Http2Client {
    connections: Mutex<HashMap<String, Sender>>,
    /// The TLS settings, made on the first `https` connection (the root store is built once).
    tls: std::sync::OnceLock<Arc<rustls::ClientConfig>>,
}

/// How long a connection attempt may take when the guest sets no timeout.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(60);

impl Http2Client {
    pub async fn send(
        &self,
        request: Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<Response<WasiBody>, Error> {
        let uri = request.uri().clone();
        let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
        let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
        let origin = format!("{scheme}://{authority}");
        let connect_timeout = options
            .and_then(|o| o.connect_timeout)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let first_byte_timeout = options
            .and_then(|o| o.first_byte_timeout)
            .unwrap_or(DEFAULT_FIRST_BYTE_TIMEOUT);

        let cached = self.lock().get(&origin).cloned();
        let mut sender = match cached {
            Some(sender) if !sender.is_closed() => sender,
            _ => {
                let sender = tokio::time::timeout(
                    connect_timeout,
                    self.connect(
                        &scheme,
                        crate::http1::connect_host(authority.host()),
                        authority.port_u16(),
                    ),
                )
                .await
                .map_err(|_| Error::ConnectionTimeout)??;
                self.lock().insert(origin.clone(), sender.clone());
                sender
            }
        };
        let sent = async {
            sender.ready().await?;
            sender.send_request(request).await
        };
        let response = match tokio::time::timeout(first_byte_timeout, sent).await {
            Err(_) => return Err(Error::ConnectionReadTimeout),
            Ok(Err(error)) => {
                // The connection is no good: the next request opens another.
                self.lock().remove(&origin);
                return Err(Error::from(error));
            }
            Ok(Ok(response)) => response,
        };
        Ok(response.map(|body| body.map_err(Error::from).boxed_unsync()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Sender>> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn connect(&self, scheme: &str, host: &str, port: Option<u16>) -> Result<Sender, Error> {
        let tls = scheme == "https";
        let port = port.unwrap_or(if tls { 443 } else { 80 });
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(Error::Connect)?;
        let _ = tcp.set_nodelay(true);
        let executor = hyper_util::rt::TokioExecutor::new();
        let (sender, connection) = if tls {
            let config = self
                .tls
                .get_or_init(|| Arc::new(crate::http1::tls_client_config(b"h2")))
                .clone();
            let name = rustls::pki_types::ServerName::try_from(host.to_owned())
                .map_err(|_| Error::HttpRequestUriInvalid)?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(Error::Tls)?;
            if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
                return Err(Error::HttpProtocolError);
            }
            let (sender, connection) = hyper::client::conn::http2::Builder::new(executor)
                .handshake(hyper_util::rt::TokioIo::new(stream))
                .await?;
            (sender, Box::pin(connection) as ConnectionTask)
        } else {
            let (sender, connection) = hyper::client::conn::http2::Builder::new(executor)
                .handshake(hyper_util::rt::TokioIo::new(tcp))
                .await?;
            (sender, Box::pin(connection) as ConnectionTask)
        };
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "an outbound HTTP/2 connection ended");
            }
        });
        Ok(sender)
    }
}

type ConnectionTask = std::pin::Pin<Box<dyn Future<Output = Result<(), hyper::Error>> + Send>>;
