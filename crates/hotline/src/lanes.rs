//! Lanes: the threads that serve requests, one per core by default, each running a
//! single-threaded tokio runtime with its own copy of the application — its own component
//! instances, database connection pools, key-value pool and outbound connections. The compiled
//! components, the engine and the variables are shared.
//!
//! Why: a request wakes several tasks in turn (the connection, the instance's worker, a chained
//! component's worker, a database connection). On a work-stealing runtime each of those wake-ups
//! could move the work to the other thread, which costs a futex wake-up and a cold cache every
//! time. On a lane a request and everything it wakes stay on one thread. Measured in paired runs
//! on this project's 2-core machine, two lanes against one work-stealing runtime of two workers,
//! CPU per request: hello 44–51 against 60 µs, the gateway hop 100–116 against 156 µs, tracking
//! 423–426 against 445–453 µs (see ARCHITECTURE.md; BENCHMARKS.md has the current figures).
//!
//! What it costs: an accepted connection stays on the lane it was handed to (in turn, so the
//! lanes get the same number of connections), so a lane whose connections are busier is not
//! helped by an idle one; a guest that computes for long holds up the other requests of its lane
//! for up to one epoch tick (10 ms) at a time, where a work-stealing runtime would have moved
//! them. Filing at 16 clients, bound by PostgreSQL on the same cores, kept its throughput and its
//! p99 rose from 26–34 to 32–43 ms in the same paired runs.
//!
//! Background work (the schedules) runs on an app of its own on the process's main runtime, so
//! that a burst of it (delivery runs after a wave of notifications) does not hold up one lane's requests;
//! its instances and connections are used only there. The request log names the lane that
//! served each request (`lane=`).
//!
//! Invariant: a lane's instances and connections are used only by tasks of its own runtime (a
//! sqlx connection or an instance's worker polled from another runtime would depend on that
//! runtime's I/O driver); only accepted sockets cross between threads.

use crate::app::{App, Blueprint, Limits};
use crate::key_value::KeyValue;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Semaphore, mpsc, watch};

/// An accepted connection on its way to a lane.
type Accepted = (std::net::TcpStream, SocketAddr);

pub struct Lanes {
    senders: Vec<mpsc::UnboundedSender<Accepted>>,
    apps: Vec<Arc<App>>,
    /// The app the schedules call, on the runtime that started the lanes.
    background: Arc<App>,
    /// The request slots, shared by every lane, and how many there are.
    slots: Arc<Semaphore>,
    max_slots: usize,
    /// The connections open now, over every lane (see `server::Open`).
    connections: Arc<AtomicUsize>,
    next: usize,
}

impl Lanes {
    /// Starts `count` lanes serving `blueprint`'s components, and the background app on the
    /// current runtime; each opens its own key-value pool on `database_url`. Returns when every
    /// lane is ready, or with the first failure.
    pub async fn start(
        blueprint: &Arc<Blueprint>,
        count: usize,
        database_url: &str,
        stopping: &watch::Receiver<bool>,
    ) -> anyhow::Result<Lanes> {
        let count = count.max(1);
        // The limits are for the whole runtime: each lane gets its share of the connections; the
        // requests-at-once limit is one semaphore for all.
        let limits = Limits {
            pg_max_connections: blueprint.limits.pg_max_connections.div_ceil(count as u32),
            ..blueprint.limits.clone()
        };
        let slots = Arc::new(Semaphore::new(blueprint.limits.max_concurrent_requests));
        let connections = Arc::new(AtomicUsize::new(0));
        let mut senders = Vec::with_capacity(count);
        let mut ready = Vec::with_capacity(count);
        for lane in 0..count {
            let (sender, receiver) = mpsc::unbounded_channel();
            let (started, ready_lane) = tokio::sync::oneshot::channel();
            let (blueprint, limits, slots) = (blueprint.clone(), limits.clone(), slots.clone());
            let stopping = stopping.clone();
            let connections = connections.clone();
            let url = database_url.to_owned();
            std::thread::Builder::new()
                .name(format!("lane-{lane}"))
                .spawn(move || {
                    let runtime = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => runtime,
                        Err(error) => {
                            let _ = started.send(Err(anyhow::Error::from(error)));
                            return;
                        }
                    };
                    runtime.block_on(async move {
                        let key_value = match KeyValue::connect(&url).await {
                            Ok(key_value) => key_value,
                            Err(error) => {
                                let _ = started.send(Err(error));
                                return;
                            }
                        };
                        let app = blueprint.lane(lane, limits, key_value);
                        if started.send(Ok(app.clone())).is_err() {
                            return;
                        }
                        serve_lane(app, slots, receiver, stopping, connections).await;
                    });
                })?;
            senders.push(sender);
            ready.push(ready_lane);
        }
        let mut apps = Vec::with_capacity(count);
        for (lane, ready) in ready.into_iter().enumerate() {
            apps.push(
                ready
                    .await
                    .map_err(|_| anyhow::anyhow!("lane {lane} ended while starting"))??,
            );
        }
        let key_value = KeyValue::connect(database_url).await?;
        Ok(Lanes {
            senders,
            apps,
            background: blueprint.lane(count, limits, key_value),
            slots,
            max_slots: blueprint.limits.max_concurrent_requests,
            connections,
            next: 0,
        })
    }

    /// The app for background work, to be used on the runtime that started the lanes; its lane
    /// number is one past the last request lane's.
    pub fn background(&self) -> &Arc<App> {
        &self.background
    }

    /// Every lane's app and the background app.
    pub fn apps(&self) -> impl Iterator<Item = &Arc<App>> {
        self.apps.iter().chain([&self.background])
    }

    /// The request slots (`--max-concurrent-requests`), shared by every lane.
    pub fn slots(&self) -> &Arc<Semaphore> {
        &self.slots
    }

    /// How many requests hold a slot now: those in hand.
    pub fn slots_taken(&self) -> usize {
        self.max_slots
            .saturating_sub(self.slots.available_permits())
    }

    /// How many connections are open now.
    pub fn open_connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Hands an accepted connection to the next lane in turn.
    pub fn hand_over(&mut self, stream: tokio::net::TcpStream, client: SocketAddr) {
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(%error, "could not hand over an accepted connection");
                return;
            }
        };
        let lane = self.next % self.senders.len();
        self.next = self.next.wrapping_add(1);
        if self.senders[lane].send((stream, client)).is_err() {
            tracing::error!(lane, "a lane has stopped; the connection is closed");
        }
    }

    /// Marks every lane's application as stopping (see `App::stop`).
    pub fn stop(&self) {
        for app in self.apps() {
            app.stop();
        }
    }
}

/// Serves the connections handed to this lane, each on a task of the lane's runtime, until
/// `stopping` (then each finishes the request in hand and closes).
async fn serve_lane(
    app: Arc<App>,
    slots: Arc<Semaphore>,
    mut receiver: mpsc::UnboundedReceiver<Accepted>,
    stopping: watch::Receiver<bool>,
    connections: Arc<AtomicUsize>,
) {
    while let Some((stream, client)) = receiver.recv().await {
        match tokio::net::TcpStream::from_std(stream) {
            Ok(stream) => crate::server::spawn_connection(
                app.clone(),
                slots.clone(),
                stream,
                client,
                stopping.clone(),
                crate::server::Open::new(&connections),
            ),
            Err(error) => tracing::warn!(%error, "could not take over an accepted connection"),
        }
    }
}
