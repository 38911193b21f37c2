//! The application: engine, linker and pre-instantiated components (built once, for the process),
//! one copy of the app per lane (`lanes.rs`: its handlers and pools), and the dispatch of one
//! request to one component (a `Store` per instance).
//!
//! Instances are reused for up to `max_instance_reuse` requests (1024 by default; `wasmtime serve`
//! reuses WASI 0.3 instances for up to 128), or until idle for a second; components keep no
//! per-request state in globals. An instance serves one
//! request at a time (`max_instance_concurrency`): the components call `spin:postgres`'s plain
//! functions, and while a plain call waits for the database its instance runs nothing else, so a
//! second request in it would wait behind the first one's statements. A time limit per request is enforced by epoch interruption: the guest yields
//! every tick so that an expired instance can be dropped even while it spins.

use crate::host::{ComponentConfig, HostState, OutboundHooks, add_spin_interfaces};
use crate::key_value::KeyValue;
use crate::manifest::{Manifest, Route};
use crate::metrics::{ComponentMetrics, LaneMetrics, Outcome, Via};
use crate::outbound::OutboundPolicy;
use crate::postgres::PgPools;
use crate::variables::AppVariables;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::handler::{
    ExpirationError, HandlerState, Instance, ProxyHandler, ProxyPre, ShouldAccept,
    TrapOrPanicError, WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::p3::bindings::ServicePre;

/// Limits and tuning, from the command line.
#[derive(Debug, Clone)]
pub struct Limits {
    pub request_timeout: Duration,
    /// How long a body that is read whole before its component is called (`server::read_whole`:
    /// a photo from a phone on a weak signal) may take to arrive.
    pub body_timeout: Duration,
    /// Requests with a body read whole (a photo) that one lane serves at once; more wait,
    /// holding only their bodies (`server::handle`).
    pub large_per_lane: usize,
    pub memory_per_instance: usize,
    /// Bytes of a freed instance's linear memory kept resident for the next in its slot.
    pub keep_resident: usize,
    pub max_concurrent_requests: usize,
    pub max_instance_reuse: usize,
    pub max_instance_concurrency: usize,
    pub idle_instance_timeout: Duration,
    pub pg_max_connections: u32,
}

/// The serve flags' defaults, in the flags' own units (`main.rs` shows them in `--help`;
/// `Limits::default` is made of them, for the tests).
pub mod defaults {
    pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
    pub const BODY_TIMEOUT_MS: u64 = 120_000;
    pub const LARGE_PER_LANE: usize = 1;
    pub const MEMORY_MIB: usize = 64;
    pub const INSTANCE_KEEP_RESIDENT_KIB: usize = 0;
    pub const MAX_CONCURRENT_REQUESTS: usize = 256;
    pub const MAX_INSTANCE_REUSE: usize = 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_millis(defaults::REQUEST_TIMEOUT_MS),
            body_timeout: Duration::from_millis(defaults::BODY_TIMEOUT_MS),
            large_per_lane: defaults::LARGE_PER_LANE,
            memory_per_instance: defaults::MEMORY_MIB << 20,
            keep_resident: defaults::INSTANCE_KEEP_RESIDENT_KIB << 10,
            max_concurrent_requests: defaults::MAX_CONCURRENT_REQUESTS,
            max_instance_reuse: defaults::MAX_INSTANCE_REUSE,
            max_instance_concurrency: 1,
            idle_instance_timeout: Duration::from_secs(1),
            pg_max_connections: 32,
        }
    }
}

/// How often the epoch ticks; a spinning guest yields at this interval.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// One public `[[trigger.http]]` route, with what the `spin-*` request headers say of it, made
/// once at load rather than on every request.
#[derive(Clone)]
pub struct Trigger {
    pub route: Route,
    pub component: String,
    /// The route as written (`/api/...`), for logs and `spin-matched-route`.
    pub raw: String,
    /// `spin-matched-route` and `spin-raw-component-route`.
    pub raw_header: http::HeaderValue,
    /// The route without its wildcard (`/api`): `spin-component-route`, and the part of the path
    /// that is not `spin-path-info`.
    pub base: String,
    pub base_header: http::HeaderValue,
}

impl Trigger {
    pub(crate) fn new(route: Route, component: String) -> anyhow::Result<Trigger> {
        let raw = route.raw();
        let base = raw.strip_suffix("/...").unwrap_or(&raw).to_owned();
        Ok(Trigger {
            raw_header: http::HeaderValue::from_str(&raw)
                .with_context(|| format!("route `{raw}` is not a valid header value"))?,
            base_header: http::HeaderValue::from_str(&base)
                .with_context(|| format!("route `{raw}` is not a valid header value"))?,
            route,
            component,
            raw,
            base,
        })
    }
}

/// One component, compiled and linked once and shared by every lane: what instantiating it needs.
struct Prepared {
    pre: ServicePre<HostState>,
    config: Arc<ComponentConfig>,
}

/// The application as loaded, before any lane: the engine, the compiled and linked components,
/// the routes and the limits. Each lane makes its own `App` from it.
pub struct Blueprint {
    pub name: String,
    pub limits: Limits,
    engine: Engine,
    triggers: Vec<Trigger>,
    prepared: Vec<Prepared>,
    /// The folder of the runtime's own database's Unix socket, when its URL names one: the only
    /// socket a component may reach (see `PgPools::pool_for`).
    pub pg_socket: Option<std::path::PathBuf>,
}

/// The application on one lane: its own instances, database connections and outbound
/// connections, all used only by the tasks of that lane's runtime (see `crate::lanes`).
pub struct App {
    /// Which lane this is.
    pub lane: usize,
    /// The public routes (private components have none).
    pub triggers: Vec<Trigger>,
    pub pg_pools: PgPools,
    pub limits: Limits,
    /// The backing of `spin:key-value`; `None` when the runtime has no database of its own.
    pub key_value: Option<KeyValue>,
    /// Outbound HTTP/2 connections, for the origins components list in `http2_origins`.
    pub http2: crate::http2::Http2Client,
    /// Kept-alive outbound HTTP/1.1 connections, for every other origin.
    pub http1: crate::http1::Http1Client,
    /// What this lane counts beside its components' own counters (see `crate::metrics`).
    pub metrics: LaneMetrics,
    /// This lane's slots for requests with a body read whole (`Limits::large_per_lane`).
    pub large: tokio::sync::Semaphore,
    handlers: BTreeMap<String, Handler>,
    /// Set when the server stops: instances still running are then dropped with the process,
    /// which is no failure of theirs.
    stopping: std::sync::atomic::AtomicBool,
}

/// How a request to a component ended, when it did not end with a response.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("no component `{0}`")]
    UnknownComponent(String),
    #[error("the request exceeded its time limit")]
    TimedOut,
    #[error("the component failed: {0:#}")]
    Failed(wasmtime::Error),
}

pub fn engine(cache_dir: Option<PathBuf>, limits: &Limits) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    config.epoch_interruption(true);
    if std::env::var_os("HOTLINE_PERFMAP").is_some() {
        // For `perf`: name the JIT-compiled guest functions in /tmp/perf-<pid>.map.
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if let Some(dir) = cache_dir {
        let mut cache = wasmtime::CacheConfig::new();
        cache.with_directory(dir);
        config.cache(Some(wasmtime::Cache::new(cache)?));
    }
    let mut pooling = wasmtime::PoolingAllocationConfig::default();
    pooling
        .total_component_instances(1000)
        .total_memories(1000)
        .total_tables(2000)
        .total_core_instances(4000)
        .total_stacks(1000)
        .max_memory_size(limits.memory_per_instance)
        .linear_memory_keep_resident(limits.keep_resident)
        .table_keep_resident(64 << 10)
        // Where a slot keeps memory (`--instance-keep-resident-kib` above 0, not the default:
        // ARCHITECTURE.md, "Limits"), reset only the pages its instance wrote (Linux 6.7 and
        // later). Without the scan, every slot freed has its first `keep_resident` bytes written
        // whether the instance used them or not, so each slot a burst ever used stays that much
        // resident (five seconds after 128 clients of tracking, keeping 1 MiB: 327 MiB without
        // the scan, 117 MiB with it).
        .pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pooling));
    match Engine::new(&config) {
        Ok(engine) => Ok(engine),
        Err(error) => {
            // The pooling allocator reserves address space up front; where that is refused
            // (a small `ulimit -v`), fall back to allocating on demand.
            tracing::warn!(
                "pooling allocator unavailable ({error}); allocating instances on demand"
            );
            config.allocation_strategy(wasmtime::InstanceAllocationStrategy::OnDemand);
            // Each memory would then reserve wasmtime's default, 4 GiB and a guard region of
            // 32 MiB either side (so that compiled code needs no bounds checks), and under a
            // limit on the process's address space not even one instance was made ("mmap
            // failed to reserve 0x104000000 bytes"). Under one, it reserves what an instance
            // may use instead (`--memory-mib`), with a guard of 64 KiB: the compiled code checks
            // its bounds. Without one (the pool refused for another reason: under valgrind, whose
            // own address space is smaller), the code stays what it is in service.
            if address_space_limited() {
                config
                    .memory_reservation(
                        u64::try_from(limits.memory_per_instance).unwrap_or(u64::MAX),
                    )
                    .memory_guard_size(64 << 10);
            }
            Ok(Engine::new(&config)?)
        }
    }
}

/// Whether the process may reserve only so much address space (`ulimit -v`, `RLIMIT_AS`), as
/// `/proc/self/limits` says.
fn address_space_limited() -> bool {
    std::fs::read_to_string("/proc/self/limits").is_ok_and(|limits| limits_address_space(&limits))
}

/// Whether a process's limits (as `/proc/<pid>/limits` lists them) bound its address space: the
/// soft limit, the one that applies.
fn limits_address_space(limits: &str) -> bool {
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max address space"))
        .and_then(|values| values.split_whitespace().next())
        .is_some_and(|soft| soft != "unlimited")
}

/// Advances the engine's epoch every tick, for as long as the engine lives.
pub fn start_epoch_ticker(engine: &Engine) {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}

impl Blueprint {
    /// Compiles (or takes from the cache) and links every component of `manifest`.
    pub fn load(
        engine: &Engine,
        manifest: &Manifest,
        variables: &AppVariables,
        limits: Limits,
    ) -> anyhow::Result<Blueprint> {
        let mut linker = Linker::<HostState>::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
        add_spin_interfaces(&mut linker)?;

        let mut prepared = Vec::new();
        for component in manifest.components.values() {
            let started = Instant::now();
            let compiled = Component::from_file(engine, &component.source).map_err(|e| {
                anyhow::Error::from(e).context(format!(
                    "loading component `{}` from {}",
                    component.id,
                    component.source.display()
                ))
            })?;
            let pre = linker.instantiate_pre(&compiled).map_err(|e| {
                anyhow::Error::from(e).context(format!(
                    "component `{}` imports what this runtime does not provide",
                    component.id
                ))
            })?;
            let pre = ServicePre::new(pre).map_err(|e| {
                anyhow::Error::from(e).context(format!(
                    "component `{}` does not export wasi:http/handler@0.3",
                    component.id
                ))
            })?;
            tracing::debug!(component = %component.id, elapsed_ms = started.elapsed().as_millis() as u64, "component ready");
            let hosts = component
                .allowed_outbound_hosts
                .iter()
                .map(|h| variables.render(h))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let config = ComponentConfig {
                id: component.id.clone(),
                variables: variables
                    .for_component(&component.variables)
                    .with_context(|| format!("component.{}.variables", component.id))?,
                environment: component.environment.clone(),
                outbound: OutboundPolicy::new(&hosts).with_context(|| {
                    format!("component.{}.allowed_outbound_hosts", component.id)
                })?,
                key_value_stores: component.key_value_stores.clone(),
                http2: OutboundPolicy::new(
                    &component
                        .http2_origins
                        .iter()
                        .map(|h| variables.render(h))
                        .collect::<anyhow::Result<Vec<_>>>()?,
                )
                .with_context(|| {
                    format!("component.{}.tool.hotline.http2_origins", component.id)
                })?,
            };
            prepared.push(Prepared {
                pre,
                config: Arc::new(config),
            });
        }

        let triggers = manifest
            .triggers
            .iter()
            .filter(|t| t.route != Route::Private)
            .map(|t| Trigger::new(t.route.clone(), t.component.clone()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Blueprint {
            name: manifest.name.clone(),
            limits,
            engine: engine.clone(),
            triggers,
            prepared,
            pg_socket: None,
        })
    }

    /// The application for one lane: the compiled components are shared; instances, connection
    /// pools (of at most `limits.pg_max_connections` each) and outbound connections are its own.
    pub fn lane(&self, lane: usize, limits: Limits, key_value: KeyValue) -> Arc<App> {
        Arc::new_cyclic(|weak: &Weak<App>| {
            let handlers = self
                .prepared
                .iter()
                .map(|component| {
                    let metrics = Arc::new(ComponentMetrics::default());
                    let handler = ComponentHandler {
                        engine: self.engine.clone(),
                        pre: ProxyPre::P3(component.pre.clone()),
                        config: component.config.clone(),
                        app: weak.clone(),
                        limits: limits.clone(),
                        metrics: metrics.clone(),
                    };
                    let handler = Handler {
                        proxy: ProxyHandler::new(handler),
                        metrics,
                    };
                    (component.config.id.clone(), handler)
                })
                .collect();
            App {
                lane,
                // Before `limits` moves into the app.
                large: tokio::sync::Semaphore::new(limits.large_per_lane),
                triggers: self.triggers.clone(),
                pg_pools: PgPools::new(
                    limits.pg_max_connections,
                    limits.request_timeout,
                    self.pg_socket.clone(),
                ),
                limits,
                key_value: Some(key_value),
                http2: crate::http2::Http2Client::default(),
                http1: crate::http1::Http1Client::default(),
                metrics: LaneMetrics::default(),
                handlers,
                stopping: std::sync::atomic::AtomicBool::new(false),
            }
        })
    }
}

impl App {
    /// Marks the app as stopping (see `stopping`).
    pub fn stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The public trigger for `path`: the most specific matching route, never a private one.
    pub fn route(&self, path: &str) -> Option<&Trigger> {
        self.triggers
            .iter()
            .filter_map(|trigger| {
                trigger
                    .route
                    .match_score(path)
                    .map(|score| (score, trigger))
            })
            .max_by_key(|(score, _)| *score)
            .map(|(_, trigger)| trigger)
    }

    /// Each component's counters on this lane, by name.
    pub fn component_metrics(&self) -> impl Iterator<Item = (&str, &ComponentMetrics)> {
        self.handlers
            .iter()
            .map(|(name, handler)| (name.as_str(), &*handler.metrics))
    }

    /// Runs `request` on `component`, within the request time limit, and counts it.
    pub async fn dispatch(
        &self,
        component: &str,
        via: Via,
        request: wasmtime_wasi_http::handler::Request,
    ) -> Result<wasmtime_wasi_http::handler::Response, DispatchError> {
        let handler = self
            .handlers
            .get(component)
            .ok_or_else(|| DispatchError::UnknownComponent(component.to_owned()))?;
        let started = Instant::now();
        let timeout = self.limits.request_timeout;
        let result = match tokio::time::timeout(timeout, handler.proxy.handle((), request)).await {
            Err(_) => Err(DispatchError::TimedOut),
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => {
                let expired = error.is::<ExpirationError>()
                    || (error.is::<TrapOrPanicError>() && started.elapsed() >= timeout);
                if expired {
                    Err(DispatchError::TimedOut)
                } else {
                    Err(DispatchError::Failed(error))
                }
            }
        };
        let outcome = match &result {
            Ok(response) => Outcome::Status(response.status().as_u16()),
            Err(DispatchError::TimedOut) => Outcome::TimedOut,
            Err(_) => Outcome::Failed,
        };
        handler.metrics.record(via, outcome, started.elapsed());
        result
    }

    /// Service chaining: a request from one component to `http://<target>.spin.internal/...`.
    pub async fn handle_chained(
        &self,
        target: &str,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
    ) -> Result<http::Response<wasmtime_wasi_http::WasiBody>, wasmtime_wasi_http::Error> {
        match self.dispatch(target, Via::Chained, request).await {
            Ok(response) => Ok(response),
            Err(DispatchError::UnknownComponent(_)) => {
                Err(wasmtime_wasi_http::Error::DestinationNotFound)
            }
            Err(DispatchError::TimedOut) => Err(wasmtime_wasi_http::Error::HttpResponseTimeout),
            Err(DispatchError::Failed(error)) => {
                tracing::error!(component = %target, error = %format!("{error:#}"), "chained component failed");
                Err(wasmtime_wasi_http::Error::InternalError(Some(
                    "the chained component failed".into(),
                )))
            }
        }
    }
}

/// One component on one lane: its instances and its counters.
struct Handler {
    proxy: ProxyHandler<ComponentHandler>,
    metrics: Arc<ComponentMetrics>,
}

struct ComponentHandler {
    engine: Engine,
    pre: ProxyPre<HostState>,
    config: Arc<ComponentConfig>,
    app: Weak<App>,
    limits: Limits,
    metrics: Arc<ComponentMetrics>,
}

impl HandlerState for ComponentHandler {
    type StoreData = HostState;
    type WorkerExpiration = Expiry;
    type WorkerState = WorkerPolicy;

    async fn instantiate(&self) -> wasmtime::Result<Instance<HostState, Expiry, WorkerPolicy>> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.inherit_stderr().inherit_stdout();
        for (key, value) in &self.config.environment {
            wasi.env(key, value);
        }
        let state = HostState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: OutboundHooks {
                component: self.config.clone(),
                app: self.app.clone(),
            },
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.memory_per_instance)
                .build(),
            component: self.config.clone(),
            app: self.app.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        let proxy = self.pre.instantiate_async(&mut store).await?;
        self.metrics.instance_started();
        Ok(Instance {
            store,
            proxy,
            view: <HostState as wasmtime_wasi_http::WasiHttpView>::http,
            expiration: Expiry {
                request_timeout: self.limits.request_timeout,
                idle_timeout: self.limits.idle_instance_timeout,
                sleep: Box::pin(tokio::time::sleep(self.limits.request_timeout)),
            },
            state: WorkerPolicy {
                app: self.app.clone(),
                component: self.config.id.clone(),
                request_timeout: self.limits.request_timeout,
                max_reuse: self.limits.max_instance_reuse,
                max_concurrency: self.limits.max_instance_concurrency,
            },
        })
    }
}

/// When an instance is dropped: a request past its time limit, or idle for too long.
struct Expiry {
    request_timeout: Duration,
    idle_timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl WorkerExpiration for Expiry {
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        status: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        let this = self.get_mut();
        let limit = match status {
            WorkerStatus::Idle => this.idle_timeout,
            WorkerStatus::Requests | WorkerStatus::PostReturn => this.request_timeout,
        };
        // Polled on every wake-up of the instance: the timer is moved only when the deadline
        // moves (resetting it takes the timer wheel's lock).
        let deadline = tokio::time::Instant::from_std(start + limit);
        if this.sleep.deadline() != deadline {
            this.sleep.as_mut().reset(deadline);
        }
        this.sleep.as_mut().poll(cx)
    }
}

struct WorkerPolicy {
    app: Weak<App>,
    component: String,
    request_timeout: Duration,
    max_reuse: usize,
    max_concurrency: usize,
}

impl WorkerState for WorkerPolicy {
    type StoreData = HostState;
    type RequestData = ();

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.max_reuse {
            ShouldAccept::Never
        } else if concurrent >= self.max_concurrency {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _store: wasmtime::StoreContextMut<'_, HostState>,
        _data: (),
        _task: wasmtime::component::GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        Box::pin(tokio::time::sleep(self.request_timeout))
    }

    fn drop(&self, store: Store<HostState>, result: wasmtime::Result<()>) {
        drop(store);
        if let Err(error) = result {
            // At shutdown the runtime drops every running instance, and wasmtime reports each
            // as "worker panicked".
            let stopping = self
                .app
                .upgrade()
                .is_none_or(|app| app.stopping.load(std::sync::atomic::Ordering::Relaxed));
            if stopping {
                tracing::debug!(component = %self.component, "instance dropped at shutdown");
            } else {
                tracing::error!(component = %self.component, error = %format!("{error:?}"), "component instance ended with an error");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::limits_address_space;

    #[test]
    fn an_address_space_limit_is_read_from_the_process_limits() {
        let listed = |soft: &str| {
            format!(
                "Limit                     Soft Limit           Hard Limit           Units     \n\
                 Max stack size            8388608              unlimited            bytes     \n\
                 Max address space         {soft:<20} unlimited            bytes     \n\
                 Max file locks            unlimited            unlimited            locks     \n"
            )
        };
        assert!(limits_address_space(&listed("8589934592")));
        assert!(!limits_address_space(&listed("unlimited")));
        assert!(!limits_address_space(""));
    }
}
