//! A closed-loop HTTP load generator that records every latency.
//!
//! Each client holds one keep-alive HTTP/1.1 connection and sends its next request as soon as the
//! previous answer is read in full, for a fixed time. Only answers with the expected status count.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One request to send, built afresh for each send (so bodies can differ).
pub type RequestFactory = Arc<dyn Fn(u64) -> http::Request<Full<Bytes>> + Send + Sync>;

#[derive(Debug, Clone)]
pub struct Outcome {
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    /// Sorted, in microseconds.
    pub latencies: Vec<u32>,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies[index]) / 1000.0
    }
}

/// Sends one request on a fresh connection and reads the answer in full; its status.
pub async fn run_once(
    address: std::net::SocketAddr,
    request: http::Request<Full<Bytes>>,
) -> anyhow::Result<u16> {
    let mut sender = connect(address).await?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}

/// A keep-alive HTTP/1.1 connection to `address`, without Nagle's delay.
async fn connect(
    address: std::net::SocketAddr,
) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .context("connecting")?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Each client numbers its requests from `client × CLIENT_SEQUENCES`, so that a factory can tell
/// the clients apart ([`client_of`]).
const CLIENT_SEQUENCES: u64 = 1_000_000_000;

/// The client that sent the request numbered `sequence`.
pub fn client_of(sequence: u64) -> usize {
    (sequence / CLIENT_SEQUENCES) as usize
}

/// Runs `clients` concurrent clients against `address` for `duration`, after `warmup`.
pub async fn run(
    address: std::net::SocketAddr,
    clients: usize,
    warmup: Duration,
    duration: Duration,
    expected_status: u16,
    make: RequestFactory,
) -> anyhow::Result<Outcome> {
    let start = Instant::now() + warmup;
    let end = start + duration;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(address).await?;
            let mut latencies = Vec::new();
            let (mut errors, mut sequence) = (0usize, client as u64 * CLIENT_SEQUENCES);
            // The first unexpected answer, to say what went wrong.
            let mut first_error = None;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                sequence += 1;
                let response = sender.send_request(make(sequence)).await?;
                let status = response.status().as_u16();
                let body = response.into_body().collect().await?.to_bytes();
                let done = Instant::now();
                if status != expected_status && first_error.is_none() {
                    let body = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                    first_error = Some(format!("{status}: {body}"));
                }
                if sent >= start {
                    if status == expected_status {
                        latencies.push(
                            u32::try_from(done.duration_since(sent).as_micros())
                                .unwrap_or(u32::MAX),
                        );
                    } else {
                        errors += 1;
                    }
                }
            }
            anyhow::Ok((latencies, errors, first_error))
        }));
    }
    let mut latencies = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for task in tasks {
        let (mut l, e, first) = task.await??;
        latencies.append(&mut l);
        errors += e;
        first_error = first_error.or(first);
    }
    if latencies.is_empty() {
        bail!(
            "no request succeeded ({errors} answered with another status than {expected_status}; the first: {})",
            first_error.as_deref().unwrap_or("none")
        );
    }
    latencies.sort_unstable();
    Ok(Outcome {
        requests: latencies.len(),
        errors,
        seconds: duration.as_secs_f64(),
        latencies,
    })
}
