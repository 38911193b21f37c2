//! What the runtime counts, for the engineer who runs it: requests to each component by how they
//! came (the public listener, service chaining, a schedule) and how they ended, with their time;
//! instances started; requests turned away at the front door, and photos waiting for their
//! lane's turn; database connections and statements; each schedule's runs and its last success;
//! outbound calls by destination; and the process's memory and CPU. Served in Prometheus's text format on a listener of its own
//! (`--metrics-listen`), never on the public one: an operator's scraper reaches it, citizens do
//! not.
//!
//! Counting happens on the request path, so it is cheap: each lane's app has counters of its own
//! (relaxed atomics that no other core writes), and a scrape adds the lanes up.

use crate::app::App;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Semaphore;

/// How a request reached a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// From the public listener, by a route of the manifest.
    Http = 0,
    /// From another component, by `http://<component>.spin.internal`.
    Chained = 1,
    /// From the runtime's schedule.
    Schedule = 2,
    /// From a scrape of the metrics, for the component's own (its `metrics_route`).
    Scrape = 3,
}

const VIAS: [&str; 4] = ["http", "chained", "schedule", "scrape"];

/// How a request to a component ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The component answered with this status.
    Status(u16),
    /// Cut off at the request time limit.
    TimedOut,
    /// The instance trapped or the component broke the HTTP contract.
    Failed,
}

impl Outcome {
    fn index(self) -> usize {
        match self {
            Outcome::Status(status) => status_class(status),
            Outcome::TimedOut => 5,
            Outcome::Failed => 6,
        }
    }
}

/// A status's class as the index of its label (`1xx` 0 … `5xx` 4; a status out of range counts
/// in the nearest class).
fn status_class(status: u16) -> usize {
    usize::from(status / 100).clamp(1, 5) - 1
}

const OUTCOMES: [&str; 7] = ["1xx", "2xx", "3xx", "4xx", "5xx", "timeout", "failed"];

/// The time buckets' upper bounds, in microseconds (the last, `+Inf`, is implied).
const BUCKETS_US: [u64; 14] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];

/// A latency histogram: per bucket (not cumulative; the scrape adds them up) and the sum.
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = BUCKETS_US.partition_point(|&bound| bound < us);
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
    }
}

/// One component's counters on one lane.
#[derive(Default)]
pub struct ComponentMetrics {
    outcomes: [[AtomicU64; OUTCOMES.len()]; VIAS.len()],
    durations: [Histogram; VIAS.len()],
    instances: AtomicU64,
}

impl ComponentMetrics {
    /// A request to the component ended (or began its response) after `elapsed`.
    pub fn record(&self, via: Via, outcome: Outcome, elapsed: Duration) {
        self.outcomes[via as usize][outcome.index()].fetch_add(1, Relaxed);
        self.durations[via as usize].observe(elapsed);
    }

    pub fn instance_started(&self) {
        self.instances.fetch_add(1, Relaxed);
    }
}

/// Why the public listener answered without reaching a component.
#[derive(Debug, Clone, Copy)]
pub enum Rejected {
    /// No route of the manifest matches the path (404).
    NoRoute = 0,
    /// Every request slot stayed taken for the queue's wait (503).
    Busy = 1,
}

const REJECTED: [&str; 2] = ["no_route", "busy"];

/// An outbound call's end: its status class, a failure to get an answer, or the allow-list's
/// refusal.
#[derive(Debug, Clone, Copy)]
pub enum Sent {
    Status(u16),
    Error,
    Denied,
}

impl Sent {
    fn index(self) -> usize {
        match self {
            Sent::Status(status) => status_class(status),
            Sent::Error => 5,
            Sent::Denied => 6,
        }
    }
}

const SENT: [&str; 7] = ["1xx", "2xx", "3xx", "4xx", "5xx", "error", "denied"];

/// Destinations beyond this many a component's are counted under `other`: the allow-list may hold wildcards,
/// and a label per host ever reached would grow without bound.
const MAX_DESTINATIONS: usize = 64;

/// A request counted as waiting for its lane's turn ([`LaneMetrics::waiting_for_turn`]).
pub struct WaitingForTurn<'a>(&'a AtomicU64);

impl Drop for WaitingForTurn<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// One lane's counters that are not a single component's.
#[derive(Default)]
pub struct LaneMetrics {
    rejected: [AtomicU64; REJECTED.len()],
    /// Requests with a body read whole waiting for one of the lane's turns now.
    large_waiting: AtomicU64,
    /// Outbound calls (not service chaining) by component and destination (`host:port`).
    outbound: Mutex<BTreeMap<String, BTreeMap<String, [u64; SENT.len()]>>>,
}

impl LaneMetrics {
    pub fn rejected(&self, why: Rejected) {
        self.rejected[why as usize].fetch_add(1, Relaxed);
    }

    /// Counts a request with a body read whole as waiting for its turn until the guard drops.
    pub fn waiting_for_turn(&self) -> WaitingForTurn<'_> {
        self.large_waiting.fetch_add(1, Relaxed);
        WaitingForTurn(&self.large_waiting)
    }

    pub fn sent(&self, component: &str, destination: &str, sent: Sent) {
        let mut outbound = self.outbound.lock().expect("outbound counters lock");
        if !outbound.contains_key(component) {
            outbound.insert(component.to_owned(), BTreeMap::new());
        }
        let destinations = outbound
            .get_mut(component)
            .expect("the component's counters were just made");
        let counts = match destinations.get_mut(destination) {
            Some(counts) => counts,
            None => {
                let key = if destinations.len() < MAX_DESTINATIONS {
                    destination
                } else {
                    "other"
                };
                destinations.entry(key.to_owned()).or_default()
            }
        };
        counts[sent.index()] += 1;
    }
}

/// One schedule's runs, shared by its task and the scrape.
pub struct ScheduleMetrics {
    pub component: String,
    pub route: String,
    /// How often it runs at the latest (`every_seconds`).
    every: Duration,
    ok: AtomicU64,
    failed: AtomicU64,
    /// Milliseconds since the Unix epoch; 0 until the first success.
    last_success_ms: AtomicU64,
    last_duration_us: AtomicU64,
}

impl ScheduleMetrics {
    pub fn new(component: &str, route: &str, every: Duration) -> ScheduleMetrics {
        ScheduleMetrics {
            component: component.to_owned(),
            route: route.to_owned(),
            every,
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_success_ms: AtomicU64::new(0),
            last_duration_us: AtomicU64::new(0),
        }
    }

    pub fn ran(&self, succeeded: bool, elapsed: Duration) {
        self.last_duration_us.store(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Relaxed,
        );
        if succeeded {
            self.ok.fetch_add(1, Relaxed);
            self.last_success_ms
                .store(unix_ms(SystemTime::now()), Relaxed);
        } else {
            self.failed.fetch_add(1, Relaxed);
        }
    }
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A database pool's state and counters, as the scrape reads them.
#[derive(Debug, Default, Clone, Copy)]
pub struct PoolFigures {
    pub max: u64,
    pub in_use: u64,
    pub idle: u64,
    pub opened: u64,
    pub acquire_timeouts: u64,
    pub statements: u64,
    pub statement_errors: u64,
    pub dropped: u64,
}

impl std::ops::AddAssign for PoolFigures {
    fn add_assign(&mut self, other: PoolFigures) {
        self.max += other.max;
        self.in_use += other.in_use;
        self.idle += other.idle;
        self.opened += other.opened;
        self.acquire_timeouts += other.acquire_timeouts;
        self.statements += other.statements;
        self.statement_errors += other.statement_errors;
        self.dropped += other.dropped;
    }
}

/// Everything a scrape reads: every lane's app and the background app, the request slots, the
/// schedules, the components' own metrics routes.
pub struct Registry {
    pub apps: Vec<Arc<App>>,
    /// The app the components' metrics routes are called on (the schedules' own).
    pub background: Arc<App>,
    /// Each component with a `metrics_route`, and the route.
    pub component_routes: Vec<(String, String)>,
    pub slots: Arc<Semaphore>,
    pub max_slots: usize,
    pub schedules: Vec<Arc<ScheduleMetrics>>,
    /// The backups taken while serving, when asked for (`--backup-dir`).
    pub backups: Option<Arc<crate::backup_schedule::Metrics>>,
    /// The archive kept while serving, when asked for (`--archive-dir`).
    pub archive: Option<ArchiveMetrics>,
    /// Times the private cluster's server was started again while serving
    /// (`cluster::keep_running`); `None` for a database of one's own (`DATABASE_URL`).
    pub database_restarts: Option<Arc<AtomicU64>>,
    pub started: SystemTime,
    pub version: String,
    /// The engine, for what its pool of instance slots keeps (`render_instance_slots`).
    pub engine: wasmtime::Engine,
}

impl Registry {
    /// The exposition, in Prometheus's text format (version 0.0.4).
    pub async fn render(&self) -> String {
        let mut out = Text::default();
        self.render_components(&mut out);
        self.render_front_door(&mut out);
        self.render_postgres(&mut out);
        self.render_schedules(&mut out);
        self.render_backups(&mut out);
        self.render_outbound(&mut out);
        render_process(&mut out, self.started, &self.version);
        self.render_instance_slots(&mut out);
        self.render_components_own(&mut out).await;
        out.0
    }

    /// The instance slots freed and kept for the next instance, and the memory they keep
    /// resident (`--instance-keep-resident-kib`): after a burst, what the burst leaves behind.
    /// Nothing when instances are allocated on demand (no pool).
    fn render_instance_slots(&self, out: &mut Text) {
        let Some(pool) = self.engine.pooling_allocator_metrics() else {
            return;
        };
        out.family(
            "hotline_instance_slots_warm",
            "gauge",
            "Slots of the instance pool freed by an instance and kept for the next (linear memories).",
        );
        out.sample(
            "hotline_instance_slots_warm",
            &[],
            u64::from(pool.unused_warm_memories()),
        );
        out.family(
            "hotline_instance_slots_resident_bytes",
            "gauge",
            "Memory the freed slots of the instance pool keep resident for the next instance.",
        );
        for (kind, bytes) in [
            ("memory", pool.unused_memory_bytes_resident()),
            ("table", pool.unused_table_bytes_resident()),
        ] {
            out.sample(
                "hotline_instance_slots_resident_bytes",
                &[("kind", kind)],
                bytes as u64,
            );
        }
    }

    /// What each component with a `metrics_route` says of itself (the size of its queues, say),
    /// asked at every scrape, checked, and added as it is; `hotline_component_metrics_up` says
    /// which answered.
    async fn render_components_own(&self, out: &mut Text) {
        let mut answers = Vec::new();
        for (component, route) in &self.component_routes {
            let answer = component_metrics(&self.background, component, route).await;
            if let Err(problem) = &answer {
                tracing::warn!(%component, %route, %problem, "a component's metrics were left out");
            }
            answers.push((component, answer));
        }
        if answers.is_empty() {
            return;
        }
        out.family(
            "hotline_component_metrics_up",
            "gauge",
            "Whether a component's metrics route answered valid metrics at this scrape (1) or not (0).",
        );
        for (component, answer) in &answers {
            out.sample(
                "hotline_component_metrics_up",
                &[("component", component)],
                u64::from(answer.is_ok()),
            );
        }
        for (_, answer) in answers {
            if let Ok(text) = answer {
                out.0.push_str(&text);
            }
        }
    }

    fn render_components(&self, out: &mut Text) {
        // Each component's sums over the lanes.
        struct Sums {
            outcomes: [[u64; OUTCOMES.len()]; VIAS.len()],
            buckets: [[u64; BUCKETS_US.len() + 1]; VIAS.len()],
            sum_us: [u64; VIAS.len()],
            instances: u64,
        }
        let mut components: BTreeMap<&str, Sums> = BTreeMap::new();
        for app in &self.apps {
            for (name, metrics) in app.component_metrics() {
                let sums = components.entry(name).or_insert(Sums {
                    outcomes: [[0; OUTCOMES.len()]; VIAS.len()],
                    buckets: [[0; BUCKETS_US.len() + 1]; VIAS.len()],
                    sum_us: [0; VIAS.len()],
                    instances: 0,
                });
                for via in 0..VIAS.len() {
                    for (sum, count) in sums.outcomes[via].iter_mut().zip(&metrics.outcomes[via]) {
                        *sum += count.load(Relaxed);
                    }
                    let histogram = &metrics.durations[via];
                    for (sum, count) in sums.buckets[via].iter_mut().zip(&histogram.buckets) {
                        *sum += count.load(Relaxed);
                    }
                    sums.sum_us[via] += histogram.sum_us.load(Relaxed);
                }
                sums.instances += metrics.instances.load(Relaxed);
            }
        }
        out.family(
            "hotline_component_requests_total",
            "counter",
            "Requests to a component, by how they came and how they ended (status class, timeout, failed).",
        );
        for (component, sums) in &components {
            for (via, outcomes) in VIAS.iter().zip(&sums.outcomes) {
                for (outcome, count) in OUTCOMES.iter().zip(outcomes) {
                    if *count > 0 {
                        out.sample(
                            "hotline_component_requests_total",
                            &[("component", component), ("via", via), ("outcome", outcome)],
                            *count,
                        );
                    }
                }
            }
        }
        out.family(
            "hotline_component_request_duration_seconds",
            "histogram",
            "Time from a request's dispatch to its component until the response began.",
        );
        for (component, sums) in &components {
            for (via_index, via) in VIAS.iter().enumerate() {
                let buckets = &sums.buckets[via_index];
                let count: u64 = buckets.iter().sum();
                if count == 0 {
                    continue;
                }
                let mut cumulative = 0;
                for (index, in_bucket) in buckets.iter().enumerate() {
                    cumulative += in_bucket;
                    let le = BUCKETS_US
                        .get(index)
                        .map_or_else(|| "+Inf".to_owned(), |us| seconds(*us));
                    out.sample(
                        "hotline_component_request_duration_seconds_bucket",
                        &[("component", component), ("via", via), ("le", &le)],
                        cumulative,
                    );
                }
                let labels = [("component", *component), ("via", *via)];
                out.sample_text(
                    "hotline_component_request_duration_seconds_sum",
                    &labels,
                    &seconds(sums.sum_us[via_index]),
                );
                out.sample(
                    "hotline_component_request_duration_seconds_count",
                    &labels,
                    count,
                );
            }
        }
        out.family(
            "hotline_component_instances_started_total",
            "counter",
            "Component instances started (each serves up to --max-instance-reuse requests).",
        );
        for (component, sums) in &components {
            out.sample(
                "hotline_component_instances_started_total",
                &[("component", component)],
                sums.instances,
            );
        }
    }

    fn render_front_door(&self, out: &mut Text) {
        out.family(
            "hotline_http_requests_in_flight",
            "gauge",
            "Requests from the public listener holding a slot now.",
        );
        let free = self.slots.available_permits();
        out.sample(
            "hotline_http_requests_in_flight",
            &[],
            self.max_slots.saturating_sub(free) as u64,
        );
        out.family(
            "hotline_http_request_slots",
            "gauge",
            "Requests served at once at most (--max-concurrent-requests).",
        );
        out.sample("hotline_http_request_slots", &[], self.max_slots as u64);
        out.family(
            "hotline_http_large_bodies",
            "gauge",
            "Requests with a body read whole (photos) served now, each holding one of its lane's turns (--large-per-lane), or waiting for one.",
        );
        let served: usize = self
            .apps
            .iter()
            .map(|app| {
                app.limits
                    .large_per_lane
                    .saturating_sub(app.large.available_permits())
            })
            .sum();
        let waiting: u64 = self
            .apps
            .iter()
            .map(|app| app.metrics.large_waiting.load(Relaxed))
            .sum();
        for (state, value) in [("served", served as u64), ("waiting", waiting)] {
            out.sample("hotline_http_large_bodies", &[("state", state)], value);
        }
        out.family(
            "hotline_http_rejected_total",
            "counter",
            "Public requests answered without reaching a component: no route (404), or no free slot in time (503).",
        );
        for (index, reason) in REJECTED.iter().enumerate() {
            let count: u64 = self
                .apps
                .iter()
                .map(|app| app.metrics.rejected[index].load(Relaxed))
                .sum();
            out.sample("hotline_http_rejected_total", &[("reason", reason)], count);
        }
    }

    fn render_postgres(&self, out: &mut Text) {
        let mut figures = PoolFigures::default();
        for app in &self.apps {
            figures += app.pg_pools.figures();
        }
        out.family(
            "hotline_postgres_connections",
            "gauge",
            "Database connections held for components, lent out or idle.",
        );
        for (state, value) in [("in_use", figures.in_use), ("idle", figures.idle)] {
            out.sample("hotline_postgres_connections", &[("state", state)], value);
        }
        let single = [
            (
                "hotline_postgres_connections_max",
                "gauge",
                "Database connections the components may hold at most, over every lane.",
                figures.max,
            ),
            (
                "hotline_postgres_connections_opened_total",
                "counter",
                "Database connections opened for components.",
                figures.opened,
            ),
            (
                "hotline_postgres_acquire_timeouts_total",
                "counter",
                "Times a component waited in vain for a free database connection.",
                figures.acquire_timeouts,
            ),
            (
                "hotline_postgres_statements_total",
                "counter",
                "Statements components ran.",
                figures.statements,
            ),
            (
                "hotline_postgres_statement_errors_total",
                "counter",
                "Statements that ended in an error (the database's refusal, or a lost connection).",
                figures.statement_errors,
            ),
            (
                "hotline_postgres_connections_dropped_total",
                "counter",
                "Connections dropped unusable: a statement failed on them, or their server was started again.",
                figures.dropped,
            ),
        ];
        for (name, kind, help, value) in single {
            out.family(name, kind, help);
            out.sample(name, &[], value);
        }
    }

    fn render_schedules(&self, out: &mut Text) {
        out.family(
            "hotline_schedule_runs_total",
            "counter",
            "Runs of a schedule's route, by whether it answered 2xx.",
        );
        for schedule in &self.schedules {
            for (outcome, count) in [("ok", &schedule.ok), ("failed", &schedule.failed)] {
                out.sample(
                    "hotline_schedule_runs_total",
                    &[
                        ("component", &schedule.component),
                        ("route", &schedule.route),
                        ("outcome", outcome),
                    ],
                    count.load(Relaxed),
                );
            }
        }
        type Gauge = fn(&ScheduleMetrics) -> String;
        let gauges: [(&str, &str, Gauge); 3] = [
            (
                "hotline_schedule_last_success_timestamp_seconds",
                "When a schedule's route last answered 2xx (0: not yet). Alert when it falls behind.",
                |s| seconds_ms(s.last_success_ms.load(Relaxed)),
            ),
            (
                "hotline_schedule_interval_seconds",
                "How often a schedule runs at the latest (every_seconds), for alerts on its last success.",
                |s| s.every.as_secs().to_string(),
            ),
            (
                "hotline_schedule_last_duration_seconds",
                "How long a schedule's last run took.",
                |s| seconds(s.last_duration_us.load(Relaxed)),
            ),
        ];
        for (name, help, value) in gauges {
            out.family(name, "gauge", help);
            for schedule in &self.schedules {
                out.sample_text(
                    name,
                    &[
                        ("component", &schedule.component),
                        ("route", &schedule.route),
                    ],
                    &value(schedule),
                );
            }
        }
    }

    fn render_backups(&self, out: &mut Text) {
        if let Some(restarts) = &self.database_restarts {
            let name = "hotline_database_restarts_total";
            out.family(
                name,
                "counter",
                "Times the private cluster's server was found stopped and started again since start. Alert on any: its log (server.log in the data folder) says why it ended.",
            );
            out.sample(name, &[], restarts.load(Relaxed));
        }
        if let Some(backups) = &self.backups {
            render_schedule(out, "hotline_backup", "backup in --backup-dir", backups);
        }
        let Some(archive) = &self.archive else {
            return;
        };
        render_schedule(
            out,
            "hotline_archive_base",
            "base backup in --archive-dir",
            &archive.bases,
        );
        let receiver = [
            (
                "hotline_archive_receiver_up",
                "gauge",
                "Whether the archive's receiver (pg_receivewal) runs. Alert when it is 0 for long: the server keeps its log for it meanwhile.",
                &archive.receiver.up,
            ),
            (
                "hotline_archive_receiver_exits_total",
                "counter",
                "Times the archive's receiver ended or failed to start since start (each is started again).",
                &archive.receiver.exits,
            ),
        ];
        for (name, kind, help, value) in receiver {
            out.family(name, kind, help);
            out.sample(name, &[], value.load(Relaxed));
        }
    }

    fn render_outbound(&self, out: &mut Text) {
        let mut sums: BTreeMap<(String, String), [u64; SENT.len()]> = BTreeMap::new();
        for app in &self.apps {
            let outbound = app.metrics.outbound.lock().expect("outbound counters lock");
            for (component, destinations) in outbound.iter() {
                for (destination, counts) in destinations {
                    let sum = sums
                        .entry((component.clone(), destination.clone()))
                        .or_default();
                    for (sum, count) in sum.iter_mut().zip(counts) {
                        *sum += count;
                    }
                }
            }
        }
        out.family(
            "hotline_outbound_requests_total",
            "counter",
            "Outbound HTTP requests (not service chaining) by component, destination and outcome.",
        );
        for ((component, destination), counts) in &sums {
            for (outcome, count) in SENT.iter().zip(counts) {
                if *count > 0 {
                    out.sample(
                        "hotline_outbound_requests_total",
                        &[
                            ("component", component),
                            ("destination", destination),
                            ("outcome", outcome),
                        ],
                        *count,
                    );
                }
            }
        }
    }
}

/// The process's own figures, under the names Prometheus's client libraries use.
fn render_process(out: &mut Text, started: SystemTime, version: &str) {
    out.family(
        "hotline_build_info",
        "gauge",
        "The runtime's version (always 1).",
    );
    out.sample("hotline_build_info", &[("version", version)], 1);
    out.family(
        "process_start_time_seconds",
        "gauge",
        "When the process started, in seconds since the Unix epoch.",
    );
    out.sample_text(
        "process_start_time_seconds",
        &[],
        &seconds_ms(unix_ms(started)),
    );
    if let Some(cpu) = cpu_seconds() {
        out.family(
            "process_cpu_seconds_total",
            "counter",
            "CPU time the process spent, user and system.",
        );
        out.sample_text("process_cpu_seconds_total", &[], &format!("{cpu:.6}"));
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |field: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|n| n.trim().parse::<u64>().ok())
    };
    if let Some(resident) = kib("VmRSS:") {
        out.family("process_resident_memory_bytes", "gauge", "Resident memory.");
        out.sample("process_resident_memory_bytes", &[], resident * 1024);
    }
    if let Some(virtual_kib) = kib("VmSize:") {
        out.family(
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory (the instance pool reserves address space up front).",
        );
        out.sample("process_virtual_memory_bytes", &[], virtual_kib * 1024);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        out.family(
            "process_open_fds",
            "gauge",
            "Open file descriptors (sockets included).",
        );
        out.sample("process_open_fds", &[], fds.count() as u64);
    }
}

/// User and system CPU time of the whole process, in seconds: `/proc/self/stat`'s `utime` and
/// `stime`, in clock ticks of 1/100 s (`USER_HZ`, the same on every Linux architecture).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    cpu_seconds_of(&stat)
}

fn cpu_seconds_of(stat: &str) -> Option<f64> {
    // The command name, in parentheses, may hold spaces: count the fields after it. `state` is
    // field 3, `utime` 14 and `stime` 15.
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_ascii_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / 100.0)
}

/// How long a component has to answer its metrics route, and how much it may say.
const COMPONENT_METRICS_TIME: Duration = Duration::from_secs(5);
const COMPONENT_METRICS_BYTES: usize = 1 << 20;

/// `GET <route>` on `component`, and its answer once checked (`checked_metrics`).
async fn component_metrics(app: &App, component: &str, route: &str) -> Result<String, String> {
    use http_body_util::{BodyExt, Empty};
    let request = http::Request::get(format!("http://{component}.spin.internal{route}"))
        .body(
            Empty::<bytes::Bytes>::new()
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .map_err(|e| format!("the route is not a valid URL: {e}"))?;
    let answered = tokio::time::timeout(COMPONENT_METRICS_TIME, async {
        let response = app
            .dispatch(component, Via::Scrape, request)
            .await
            .map_err(|e| e.to_string())?;
        if response.status() != http::StatusCode::OK {
            return Err(format!("it answered {}", response.status()));
        }
        let body = http_body_util::Limited::new(response.into_body(), COMPONENT_METRICS_BYTES)
            .collect()
            .await
            .map_err(|e| format!("its answer could not be read: {e}"))?;
        Ok(body.to_bytes())
    })
    .await
    .map_err(|_| format!("no answer within {} s", COMPONENT_METRICS_TIME.as_secs()))??;
    let text = String::from_utf8(answered.to_vec()).map_err(|_| "not UTF-8".to_owned())?;
    checked_metrics(component, &text)
}

/// A component's metrics, if every line is Prometheus's text format and every name starts with
/// `hotline_<component>_` (hyphens as underscores), so that no component can pass its figures
/// off as the runtime's or another's. Blank lines are dropped; the text ends with a newline.
fn checked_metrics(component: &str, text: &str) -> Result<String, String> {
    let prefix = format!("hotline_{}_", component.replace('-', "_"));
    let named = |name: &str, line: &str| -> Result<(), String> {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(format!("`{line}`: not a metric name"));
        }
        if !name.starts_with(&prefix) {
            return Err(format!("`{line}`: a name must start with `{prefix}`"));
        }
        Ok(())
    };
    let mut checked = String::with_capacity(text.len() + 1);
    for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            named(rest.split(' ').next().unwrap_or_default(), line)?;
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            named(name, line)?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(format!("`{line}`: not a metric type"));
            }
        } else if !line.starts_with('#') {
            let name_end = line.find(['{', ' ']).unwrap_or(line.len());
            named(&line[..name_end], line)?;
            let after_labels = if line[name_end..].starts_with('{') {
                let close = line
                    .rfind('}')
                    .filter(|&close| close > name_end)
                    .ok_or_else(|| format!("`{line}`: labels not closed"))?;
                &line[close + 1..]
            } else {
                &line[name_end..]
            };
            let mut fields = after_labels.split_ascii_whitespace();
            let value_ok = fields.next().is_some_and(|v| v.parse::<f64>().is_ok());
            let timestamp_ok = fields.next().is_none_or(|t| t.parse::<i64>().is_ok());
            if !value_ok || !timestamp_ok || fields.next().is_some() {
                return Err(format!("`{line}`: not `name{{labels}} value [timestamp]`"));
            }
        }
        checked.push_str(line);
        checked.push('\n');
    }
    Ok(checked)
}

/// Microseconds written as seconds, exactly.
fn seconds(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// Milliseconds written as seconds, exactly.
/// What the metrics say of the archive (`hotline_archive_*`).
pub struct ArchiveMetrics {
    pub bases: Arc<crate::backup_schedule::Metrics>,
    pub receiver: Arc<crate::archive::ReceiverMetrics>,
}

/// A backup schedule's figures, named `<prefix>_*`, of each `what`.
fn render_schedule(
    out: &mut Text,
    prefix: &str,
    what: &str,
    backups: &crate::backup_schedule::Metrics,
) {
    let gauges = [
        (
            "last_success_timestamp_seconds",
            format!("When the newest {what} was begun (0: none yet). Alert when it falls behind."),
            seconds_ms(backups.last_success_ms.load(Relaxed)),
        ),
        (
            "interval_seconds",
            "How often one is due (--backup-every-seconds), for alerts on the last success."
                .to_owned(),
            backups.every.as_secs().to_string(),
        ),
        (
            "last_size_bytes",
            "The size of the last one taken since start (0: none yet).".to_owned(),
            backups.last_size_bytes.load(Relaxed).to_string(),
        ),
        (
            "last_duration_seconds",
            "How long the last one taken since start took.".to_owned(),
            seconds_ms(backups.last_duration_ms.load(Relaxed)),
        ),
    ];
    for (suffix, help, value) in gauges {
        let name = format!("{prefix}_{suffix}");
        out.family(&name, "gauge", &help);
        out.sample_text(&name, &[], &value);
    }
    let name = format!("{prefix}_failures_total");
    out.family(
        &name,
        "counter",
        &format!("Failed attempts at a {what} since start (each is tried again)."),
    );
    out.sample(&name, &[], backups.failures.load(Relaxed));
}

fn seconds_ms(ms: u64) -> String {
    format!("{}.{:03}", ms / 1_000, ms % 1_000)
}

/// The exposition being written.
#[derive(Default)]
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.sample_text(name, labels, &value.to_string());
    }

    fn sample_text(&mut self, name: &str, labels: &[(&str, &str)], value: &str) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (index, (label, text)) in labels.iter().enumerate() {
                if index > 0 {
                    self.0.push(',');
                }
                self.0.push_str(label);
                self.0.push_str("=\"");
                for c in text.chars() {
                    match c {
                        '\\' => self.0.push_str("\\\\"),
                        '"' => self.0.push_str("\\\""),
                        '\n' => self.0.push_str("\\n"),
                        c => self.0.push(c),
                    }
                }
                self.0.push('"');
            }
            self.0.push('}');
        }
        self.0.push(' ');
        self.0.push_str(value);
        self.0.push('\n');
    }
}

/// Serves `GET /metrics` on `listener` until the process ends.
pub async fn serve(registry: Arc<Registry>, listener: tokio::net::TcpListener) {
    use http_body_util::Full;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "metrics listener: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: http::Request<_>| {
                let registry = registry.clone();
                async move {
                    let found = request.uri().path() == "/metrics";
                    let response = match (found, request.method() == http::Method::GET) {
                        (true, true) => http::Response::builder()
                            .header(
                                http::header::CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8",
                            )
                            .body(Full::new(bytes::Bytes::from(registry.render().await))),
                        (true, false) => http::Response::builder()
                            .status(http::StatusCode::METHOD_NOT_ALLOWED)
                            .header(http::header::ALLOW, "GET")
                            .body(Full::new(bytes::Bytes::new())),
                        (false, _) => http::Response::builder()
                            .status(http::StatusCode::NOT_FOUND)
                            .body(Full::new(bytes::Bytes::from_static(
                                b"only /metrics here\n",
                            ))),
                    };
                    Ok::<_, std::convert::Infallible>(
                        response.expect("a metrics response is valid"),
                    )
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!(%error, "metrics connection ended with an error");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_fall_in_the_first_bucket_that_holds_them() {
        let histogram = Histogram::default();
        for us in [0, 500, 501, 10_000_000, 10_000_001] {
            histogram.observe(Duration::from_micros(us));
        }
        let counts: Vec<u64> = histogram.buckets.iter().map(|b| b.load(Relaxed)).collect();
        // ≤ 0.5 ms: 0 and 500; ≤ 1 ms: 501; ≤ 10 s: 10 s; +Inf: the rest.
        assert_eq!(counts[0], 2);
        assert_eq!(counts[1], 1);
        assert_eq!(counts[BUCKETS_US.len() - 1], 1);
        assert_eq!(counts[BUCKETS_US.len()], 1);
        assert_eq!(counts.iter().sum::<u64>(), 5);
        assert_eq!(histogram.sum_us.load(Relaxed), 20_001_002);
    }

    #[test]
    fn outcomes_by_status_class() {
        assert_eq!(OUTCOMES[Outcome::Status(200).index()], "2xx");
        assert_eq!(OUTCOMES[Outcome::Status(404).index()], "4xx");
        assert_eq!(OUTCOMES[Outcome::Status(503).index()], "5xx");
        assert_eq!(OUTCOMES[Outcome::Status(99).index()], "1xx");
        assert_eq!(OUTCOMES[Outcome::Status(999).index()], "5xx");
        assert_eq!(OUTCOMES[Outcome::TimedOut.index()], "timeout");
        assert_eq!(OUTCOMES[Outcome::Failed.index()], "failed");
        assert_eq!(SENT[Sent::Denied.index()], "denied");
    }

    #[test]
    fn label_values_are_escaped() {
        let mut text = Text::default();
        text.sample("m", &[("a", "x\"y\\z\nw"), ("b", "/internal/deliver")], 3);
        assert_eq!(
            text.0,
            "m{a=\"x\\\"y\\\\z\\nw\",b=\"/internal/deliver\"} 3\n"
        );
        text.0.clear();
        text.sample_text("n", &[], "1.500000");
        assert_eq!(text.0, "n 1.500000\n");
    }

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        let stat = "4242 (hotline (a) b) S 1 4242 4242 0 -1 4194304 9000 0 12 0 250 75 0 0 20 0 8";
        assert_eq!(cpu_seconds_of(stat), Some(3.25));
        assert_eq!(cpu_seconds_of("4242 (x) S 1"), None);
        assert!(cpu_seconds().is_some_and(|s| s >= 0.0));
    }

    #[test]
    fn a_components_metrics_are_checked_line_by_line() {
        let good = "# HELP hotline_notifications_pending Waiting.\n\
                    # TYPE hotline_notifications_pending gauge\n\
                    hotline_notifications_pending{channel=\"sms\",note=\"a } b\"} 3\n\n\
                    hotline_notifications_oldest_seconds 12.5 1764700000000\n\
                    # a comment\n";
        assert_eq!(
            checked_metrics("notifications", good).expect("valid"),
            good.replace("\n\n", "\n")
        );
        let hyphenated = checked_metrics("key-audit", "hotline_key_audit_runs 1").expect("valid");
        assert_eq!(hyphenated, "hotline_key_audit_runs 1\n");
        for (bad, problem) in [
            (
                "process_resident_memory_bytes 1",
                "must start with `hotline_notifications_`",
            ),
            ("hotline_gateway_requests 1", "must start with"),
            ("# TYPE hotline_notifications_x gauges", "not a metric type"),
            ("# HELP hotline_gateway_x Not mine.", "must start with"),
            ("hotline_notifications_x{a=\"1\" 1", "labels not closed"),
            ("hotline_notifications_x many", "not `name{labels} value"),
            ("hotline_notifications_x 1 2 3", "not `name{labels} value"),
            ("hotline_notifications_x", "not `name{labels} value"),
            ("hotline_notifications-x 1", "not a metric name"),
        ] {
            let error = checked_metrics("notifications", bad).expect_err(bad);
            assert!(error.contains(problem), "{bad}: {error}");
        }
    }

    #[test]
    fn seconds_are_written_exactly() {
        assert_eq!(seconds(1_500), "0.001500");
        assert_eq!(seconds(12_000_001), "12.000001");
        assert_eq!(seconds_ms(1_764_700_000_123), "1764700000.123");
    }

    #[test]
    fn destinations_beyond_the_limit_count_as_other() {
        let lane = LaneMetrics::default();
        for n in 0..MAX_DESTINATIONS {
            lane.sent("notifications", &format!("host-{n}:443"), Sent::Status(200));
        }
        lane.sent("notifications", "host-0:443", Sent::Error);
        lane.sent("notifications", "one-more:443", Sent::Status(500));
        lane.sent("notifications", "and-another:443", Sent::Denied);
        let outbound = lane.outbound.lock().expect("lock");
        let destinations = &outbound["notifications"];
        assert_eq!(destinations.len(), MAX_DESTINATIONS + 1);
        let known = &destinations["host-0:443"];
        assert_eq!((known[1], known[5]), (1, 1));
        let other = &destinations["other"];
        assert_eq!((other[4], other[6]), (1, 1));
    }
}
