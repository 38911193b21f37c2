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
    let route = schedule.route.as_str();
    let (mut runs, mut listening) = (Failing::default(), Failing::default());
    loop {
        // Between runs only: a run under way is never cut off by a stop.
        let wake = async {
            match listener.as_mut() {
                Some(listener) => tokio::select! {
                    _ = timer.tick() => Some("timer"),
                    received = listener.recv() => match received {
                        Ok(_) => {
                            if let Some(ended) = listening.succeeded(Instant::now()) {
                                tracing::info!(%component, %route, failures = ended.failures, seconds = ended.lasted.as_secs(), "schedule listener connected again");
                            }
                            // A burst of commits is one run: take what is already queued.
                            while let Ok(Ok(_)) =
                                tokio::time::timeout(Duration::ZERO, listener.recv()).await
                            {}
                            Some("notify")
                        }
                        Err(error) => {
                            // sqlx reconnects on the next `recv` (once a second while the
                            // database is down); the timer covers the gap.
                            if let Some(failures) = listening.failed(Instant::now()) {
                                tracing::warn!(%component, %route, %error, failures, "schedule listener lost its connection");
                            }
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
        let outcome = run_once(&app, component, route, woken_by).await;
        metrics.ran(outcome.is_ok(), started.elapsed());
        match outcome {
            Ok(()) => {
                if let Some(ended) = runs.succeeded(Instant::now()) {
                    tracing::info!(target: "hotline::schedule", %component, %route, failures = ended.failures, seconds = ended.lasted.as_secs(), "schedule ran again after failing");
                }
            }
            Err(failure) => {
                if let Some(failures) = runs.failed(Instant::now()) {
                    tracing::warn!(target: "hotline::schedule", %component, %route, woken_by, failures, %failure, "schedule failed");
                }
            }
        }
    }
}

/// How often a failure that goes on is logged again.
const FAILING_LOGGED_EVERY: Duration = Duration::from_secs(60);

/// A run of failures of one thing that is tried again and again (a schedule's calls, its
/// listener's connection): logged when it starts, then once a minute while it goes on, with how
/// many failures there were, and when it ends. While the database is down, a schedule that runs
/// every few seconds (and a listener that reconnects every second) would otherwise write a line
/// each time, and the log would be that alone.
#[derive(Debug, Default)]
struct Failing {
    /// Since when, and how many failures so far, and when one was last logged.
    run: Option<(Instant, u64, Instant)>,
}

/// A run of failures that has ended.
#[derive(Debug, PartialEq, Eq)]
struct Ended {
    failures: u64,
    lasted: Duration,
}

impl Failing {
    /// A failure at `now`: the failures so far in this run when this one is to be logged (the
    /// first, then one a minute), `None` when it is not.
    fn failed(&mut self, now: Instant) -> Option<u64> {
        match &mut self.run {
            None => {
                self.run = Some((now, 1, now));
                Some(1)
            }
            Some((_, failures, logged)) => {
                *failures += 1;
                if now.duration_since(*logged) < FAILING_LOGGED_EVERY {
                    return None;
                }
                *logged = now;
                Some(*failures)
            }
        }
    }

    /// A success at `now`: the run of failures it ends, if there was one.
    fn succeeded(&mut self, now: Instant) -> Option<Ended> {
        let (since, failures, _) = self.run.take()?;
        Some(Ended {
            failures,
            lasted: now.duration_since(since),
        })
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

/// One call of a schedule's route: whether it answered 2xx, else what it answered or why there
/// was no answer (for the log); the next tick tries again.
async fn run_once(app: &App, component: &str, route: &str, woken_by: &str) -> Result<(), String> {
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
        Err(error) => return Err(format!("the route is not a valid URL: {error}")),
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
            let body = String::from_utf8_lossy(&body);
            if status.is_success() {
                tracing::debug!(target: "hotline::schedule", %component, %route, woken_by, elapsed_ms, %body, "schedule ran");
                Ok(())
            } else {
                Err(format!("{} after {elapsed_ms} ms: {body}", status.as_u16()))
            }
        }
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::{Ended, FAILING_LOGGED_EVERY, Failing};
    use std::time::{Duration, Instant};

    #[test]
    fn a_failure_that_goes_on_is_logged_as_it_starts_once_a_minute_and_as_it_ends() {
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let mut failing = Failing::default();
        assert_eq!(failing.succeeded(at(0)), None, "nothing had failed");
        assert_eq!(failing.failed(at(1)), Some(1));
        // Every five seconds for two minutes: one line a minute, with the count so far.
        let logged: Vec<(u64, u64)> = (1..=24)
            .filter_map(|n| {
                failing
                    .failed(at(1 + 5 * n))
                    .map(|count| (1 + 5 * n, count))
            })
            .collect();
        assert_eq!(logged, [(61, 13), (121, 25)]);
        assert_eq!(
            failing.succeeded(at(123)),
            Some(Ended {
                failures: 25,
                lasted: Duration::from_secs(122)
            })
        );
        // A new run is logged at once, counted from one.
        assert_eq!(failing.failed(at(124)), Some(1));
        assert_eq!(failing.failed(at(124) + FAILING_LOGGED_EVERY / 2), None);
    }
}
