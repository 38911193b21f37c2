//! Schedules: periodic work without a cron trigger.
//!
//! A component lists its schedules under `[component.<id>.tool.hotline]` (Spin ignores tool
//! sections). For each, the runtime POSTs to the component's route, as service chaining would,
//! every `every_seconds`, at start, and also at once when a transaction that ran
//! `NOTIFY <on_notify>` commits: PostgreSQL delivers a notification only on commit, so the work a
//! transaction queued is picked up right after it is durable, and the timer picks up whatever a
//! lost notification or a crash left behind. Each schedule runs one call at a time; several
//! runtimes may run the same schedule, so the work itself must be safe to run concurrently.

use crate::app::App;
use crate::manifest::{Component, Schedule};
use crate::metrics::{ScheduleMetrics, Via};
use crate::server::stopped;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use sqlx::postgres::PgListener;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The header that tells a component a call came from its schedule.
pub const SCHEDULE_HEADER: &str = "x-hotline-schedule";

/// The schedules as started: each one's counters (for the metrics) and its task, which ends once
/// `stopping` is set and its run under way, if any, is done.
pub struct Started {
    pub metrics: Vec<Arc<ScheduleMetrics>>,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Starts every component's schedules; they run until `stopping`.
pub fn start(
    app: &Arc<App>,
    components: &BTreeMap<String, Component>,
    database_url: &str,
    stopping: &tokio::sync::watch::Receiver<bool>,
) -> Started {
    let mut started = Started {
        metrics: Vec::new(),
        tasks: Vec::new(),
    };
    for component in components.values() {
        for schedule in &component.schedules {
            let app = Arc::downgrade(app);
            let metrics = Arc::new(ScheduleMetrics::new(
                &component.id,
                &schedule.route,
                schedule.every,
            ));
            started.metrics.push(metrics.clone());
            let schedule = schedule.clone();
            let url = database_url.to_owned();
            let stopping = stopping.clone();
            started.tasks.push(tokio::spawn(run_schedule(
                app, metrics, schedule, url, stopping,
            )));
        }
    }
    started
}

async fn run_schedule(
    app: std::sync::Weak<App>,
    metrics: Arc<ScheduleMetrics>,
    schedule: Schedule,
    url: String,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let component = metrics.component.as_str();
    let mut listener = match &schedule.on_notify {
        Some(channel) => listen(&url, channel).await,
        None => None,
    };
    let mut timer = tokio::time::interval(schedule.every);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Between runs only: a run under way is never cut off by a stop.
        let wake = async {
            match listener.as_mut() {
                Some(listener) => tokio::select! {
                    _ = timer.tick() => Some("timer"),
                    received = listener.recv() => match received {
                        Ok(_) => {
                            // A burst of commits is one run: take what is already queued.
                            while let Ok(Ok(_)) =
                                tokio::time::timeout(Duration::ZERO, listener.recv()).await
                            {}
                            Some("notify")
                        }
                        Err(error) => {
                            // sqlx reconnects on the next `recv`; the timer covers the gap.
                            tracing::warn!(%component, %error, "schedule listener lost its connection");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            None
                        }
                    },
                },
                None => {
                    timer.tick().await;
                    Some("timer")
                }
            }
        };
        let woken_by = tokio::select! {
            woken_by = wake => match woken_by {
                Some(woken_by) => woken_by,
                None => continue,
            },
            () = stopped(&mut stopping) => return,
        };
        let Some(app) = app.upgrade() else { return };
        let started = Instant::now();
        let succeeded = run_once(&app, component, &schedule.route, woken_by).await;
        metrics.ran(succeeded, started.elapsed());
    }
}

async fn listen(url: &str, channel: &str) -> Option<PgListener> {
    let connected = async {
        let mut listener = PgListener::connect(url).await?;
        listener.listen(channel).await?;
        Ok::<_, sqlx::Error>(listener)
    };
    match connected.await {
        Ok(listener) => Some(listener),
        Err(error) => {
            tracing::warn!(%channel, %error, "cannot listen for notifications; the timer alone runs the schedule");
            None
        }
    }
}

/// One call of a schedule's route, and whether it answered 2xx; failures are logged and the next
/// tick tries again.
pub async fn run_once(app: &App, component: &str, route: &str, woken_by: &str) -> bool {
    let started = Instant::now();
    let request = http::Request::post(format!("http://{component}.spin.internal{route}"))
        .header(SCHEDULE_HEADER, woken_by)
        .body(
            Empty::<Bytes>::new()
                .map_err(|never| match never {})
                .boxed_unsync(),
        );
    let request = match request {
        Ok(request) => request,
        Err(error) => {
            tracing::error!(%component, %route, %error, "schedule route is not a valid URL");
            return false;
        }
    };
    match app.dispatch(component, Via::Schedule, request).await {
        Ok(response) => {
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let elapsed_ms = started.elapsed().as_millis() as u64;
            if status.is_success() {
                tracing::debug!(target: "hotline::schedule", %component, %route, woken_by, elapsed_ms, body = %String::from_utf8_lossy(&body), "schedule ran");
            } else {
                tracing::warn!(target: "hotline::schedule", %component, %route, woken_by, elapsed_ms, status = status.as_u16(), body = %String::from_utf8_lossy(&body), "schedule failed");
            }
            status.is_success()
        }
        Err(error) => {
            tracing::warn!(target: "hotline::schedule", %component, %route, woken_by, error = %error, "schedule failed");
            false
        }
    }
}
