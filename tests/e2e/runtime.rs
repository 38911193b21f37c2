//! The runtime's own guarantees, watched through the test-only `probe` component: private routes,
//! outbound rules, time and memory limits, and the Postgres interface.

use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tests::{Options, Platform};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(platform: &Platform, path: &str) -> (u16, String) {
    let response = reqwest::get(platform.url(path)).await.expect("answer");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// Returns once a probe's `pg_sleep` runs in the platform's database (up to 10 s).
async fn until_sleeping(platform: &Platform) {
    tests::until_counted(
        &platform.db,
        "select count(*) from pg_stat_activity where query like 'select pg_sleep(%' and state = 'active' and datname = current_database()",
        "the probe's slow statement to start",
    )
    .await;
}

/// A tiny HTTP server on loopback that answers `pong` and counts its connections.
async fn pong_server() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\npong",
                    )
                    .await;
            });
        }
    });
    (port, connections)
}

#[tokio::test]
async fn private_components_are_not_reachable_from_outside() {
    let platform = Platform::start().await;
    // Even addressed to the private component's host, with identity headers and no token, the
    // request goes by its path to the public gateway, which refuses it.
    let response = reqwest::Client::new()
        .get(platform.url("/api/v1/requests"))
        .header("host", "intake.spin.internal")
        .header("x-hotline-subject", "citizen-1")
        .header("x-hotline-role", "citizen")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 401);
    assert!(
        response.headers().contains_key("x-request-id"),
        "the gateway answered"
    );
}

#[tokio::test]
async fn outbound_requests_go_only_to_allowed_hosts() {
    let platform = Platform::start().await;
    let (port, connections) = pong_server().await;

    let (status, body) = get(
        &platform,
        &format!("/probe/outbound?url=http://localhost:{port}/"),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "200 pong"));

    // The same server under a name the probe is not allowed: refused before any connection.
    let (status, body) = get(
        &platform,
        &format!("/probe/outbound?url=http://127.0.0.1:{port}/"),
    )
    .await;
    assert_eq!(status, 502);
    assert!(body.contains("HttpRequestDenied"), "{body}");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "the refused request never connected"
    );

    // Service chaining is outbound too: the probe may not call the private intake component.
    let (status, body) = get(
        &platform,
        "/probe/outbound?url=http://intake.spin.internal/api/v1/requests",
    )
    .await;
    assert_eq!(status, 502);
    assert!(body.contains("HttpRequestDenied"), "{body}");
}

#[tokio::test]
async fn postgres_addresses_are_outbound_hosts_too() {
    let platform = Platform::start().await;
    let (status, body) = get(
        &platform,
        "/probe/pg/open?address=postgres://hotline:secret@127.0.0.2:5432/hotline",
    )
    .await;
    assert_eq!(status, 502);
    assert!(body.contains("allowed_outbound_hosts"), "{body}");

    // The database's own host and port, but another Unix socket: refused, since the policy
    // names hosts and ports and a socket reaches whichever server listens on it.
    let own = platform.database_url();
    let address = own.split('?').next().expect("an address");
    let (status, body) = get(
        &platform,
        &format!("/probe/pg/open?address={address}?host=/tmp"),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("Unix socket"), "{body}");
}

#[tokio::test]
async fn a_component_that_spins_forever_is_cut_off() {
    let platform = Platform::start_with(Options {
        request_timeout_ms: 1000,
        ..Options::default()
    })
    .await
    .expect("platform");
    let started = Instant::now();
    let (status, body) = get(&platform, "/probe/spin").await;
    let elapsed = started.elapsed();
    assert_eq!(status, 504, "{body}");
    assert!(body.contains("\"timeout\""), "{body}");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );

    // The runtime serves on, and nothing else is stuck behind the spinning instance.
    let (status, body) = get(&platform, "/probe/hello").await;
    assert_eq!((status, body.as_str()), (200, "hello"));
}

/// An instance serves up to `--max-instance-reuse` requests, then a new one takes its place.
#[tokio::test]
async fn an_instance_is_replaced_after_its_share_of_requests() {
    let platform = Platform::start_with(Options {
        threads: Some(1),
        serve_args: vec!["--max-instance-reuse".into(), "2".into()],
        ..Options::default()
    })
    .await
    .expect("platform");
    let started = || async {
        platform
            .metrics()
            .await
            .get("hotline_component_instances_started_total{component=\"probe\"}")
            .copied()
            .unwrap_or(0.0)
    };
    let before = started().await;
    for _ in 0..6 {
        let (status, body) = get(&platform, "/probe/hello").await;
        assert_eq!((status, body.as_str()), (200, "hello"));
    }
    let fresh = started().await - before;
    // One after another, each instance serves two at most (more may start if one is still
    // finishing when the next request comes; never fewer).
    assert!(
        fresh >= 3.0,
        "six requests, two to an instance: {fresh} instances"
    );
}

#[tokio::test]
async fn a_component_that_exhausts_its_memory_fails_alone() {
    let platform = Platform::start_with(Options {
        memory_mib: 32,
        ..Options::default()
    })
    .await
    .expect("platform");
    let (status, body) = get(&platform, "/probe/allocate").await;
    assert_eq!(status, 500);
    assert!(body.contains("\"internal\""), "an opaque body: {body}");
    let (status, _) = get(&platform, "/probe/hello").await;
    assert_eq!(status, 200);
}

/// Where the process may not reserve the address space the instance pool takes (a small
/// `ulimit -v`), the runtime allocates instances on demand, each reserving the memory it may use:
/// it still serves many requests at once, and chained ones.
#[tokio::test]
async fn without_address_space_for_the_pool_instances_are_allocated_on_demand() {
    let platform = Platform::start_with(Options {
        address_space_mib: Some(8 << 10),
        ..Options::default()
    })
    .await
    .expect("platform");
    assert!(
        platform.log().contains("allocating instances on demand"),
        "the pool was made under the limit: {}",
        platform.log()
    );
    // Requests that each hold an instance (and a connection) for a while, all at once, and
    // the gateway's calls to intake meanwhile (two instances a request).
    let holding: Vec<_> = (0..16)
        .map(|_| {
            let url = platform.url("/probe/pg/plain/sleep?ms=1000");
            tokio::spawn(async move {
                let response = reqwest::get(url).await.expect("answer");
                let status = response.status().as_u16();
                (status, response.text().await.expect("body"))
            })
        })
        .collect();
    until_sleeping(&platform).await;
    for _ in 0..4 {
        let (status, body) = get(&platform, "/health/components?component=intake").await;
        assert_eq!(status, 200, "{body}");
    }
    for request in holding {
        let (status, body) = request.await.expect("the request");
        assert_eq!(status, 200, "{body}");
    }
}

#[tokio::test]
async fn the_postgres_interface_round_trips_every_type() {
    let platform = Platform::start().await;
    // Through the `-async` functions (rows in a stream) and through the plain ones.
    for path in ["/probe/pg/roundtrip", "/probe/pg/plain/roundtrip"] {
        let (status, body) = get(&platform, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let report: Value = serde_json::from_str(&body).expect("json");
        let failures: Vec<String> = report
            .as_object()
            .expect("object")
            .iter()
            .filter(|(_, outcome)| *outcome != "ok")
            .map(|(name, outcome)| format!("{name}: {outcome}"))
            .collect();
        assert!(report.as_object().expect("object").len() >= 28, "{report}");
        assert!(failures.is_empty(), "{path}: {failures:#?}");
    }
}

/// With every slot taken (`--max-concurrent-requests`), a request waits 5 s for one, then is
/// turned away: 503 `server_busy`, told when to try again (`Retry-After`), and counted.
#[tokio::test]
async fn a_request_finding_no_slot_in_time_is_told_to_come_back() {
    let platform = Platform::start_with(Options {
        serve_args: vec!["--max-concurrent-requests".into(), "1".into()],
        ..Options::default()
    })
    .await
    .expect("platform");
    // The one slot, held by a statement of 8 s.
    let slow_url = platform.url("/probe/pg/plain/sleep?ms=8000");
    let slow = tokio::spawn(async move {
        let response = reqwest::get(slow_url).await.expect("answer");
        response.status().as_u16()
    });
    until_sleeping(&platform).await;

    let asked = Instant::now();
    let response = reqwest::get(platform.url("/probe/hello"))
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 503);
    assert!(
        asked.elapsed() >= Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(response.headers()["retry-after"], "2");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "server_busy");
    assert_eq!(
        platform.metrics().await["hotline_http_rejected_total{reason=\"busy\"}"],
        1.0
    );
    // The request that held the slot was answered, and the slot is free again.
    assert_eq!(slow.await.expect("the slow request"), 200);
    let (status, body) = get(&platform, "/probe/hello").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_slow_statement_holds_up_no_other_request() {
    // A plain `query` keeps its instance busy until the database answers. A request already in
    // that instance, waiting on something else, and requests that arrive meanwhile must not wait
    // behind it. One lane, so that all of them meet the same instances.
    let platform = Platform::start_with(Options {
        threads: Some(1),
        ..Options::default()
    })
    .await
    .expect("platform");
    let (status, body) = get(&platform, "/probe/pg/plain/select").await;
    assert_eq!(status, 200, "{body}");

    // A request that waits on an outside server, which answers only when told.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (connected, mut reached) = tokio::sync::mpsc::channel::<()>(1);
    let release = Arc::new(tokio::sync::Notify::new());
    let released = release.clone();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut buffer = [0u8; 4096];
        let _ = stream.read(&mut buffer).await;
        connected.send(()).await.expect("the test waits");
        released.notified().await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\npong")
            .await;
    });
    let waiting_url = platform.url(&format!("/probe/outbound?url=http://localhost:{port}/"));
    let waiting = tokio::spawn(async move {
        let response = reqwest::get(waiting_url).await.expect("answer");
        response.text().await.expect("body")
    });
    reached
        .recv()
        .await
        .expect("the waiting request reached the server");

    // Then a slow statement, until it is running in the database.
    let slow_url = platform.url("/probe/pg/plain/sleep?ms=4000");
    let slow = tokio::spawn(async move {
        let response = reqwest::get(slow_url).await.expect("answer");
        response.status().as_u16()
    });
    until_sleeping(&platform).await;

    // Requests that arrive while it runs, and the one that was waiting, are answered.
    for _ in 0..3 {
        let (status, body) = get(&platform, "/probe/pg/plain/select").await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = get(&platform, "/probe/hello").await;
        assert_eq!(status, 200, "{body}");
    }
    release.notify_one();
    assert_eq!(waiting.await.expect("the waiting request"), "200 pong");
    assert!(
        !slow.is_finished(),
        "the other requests were answered while the slow statement still ran"
    );
    assert_eq!(slow.await.expect("the slow request"), 200);
}

#[tokio::test]
async fn a_transaction_left_open_by_a_failing_component_is_rolled_back() {
    let platform = Platform::start().await;
    let (status, _) = get(&platform, "/probe/pg/leak?how=trap&mark=trapped").await;
    assert_eq!(status, 500);
    let (status, _) = get(&platform, "/probe/pg/leak?how=return&mark=returned").await;
    assert_eq!(status, 200);

    // Later requests reuse the same pooled connections: none may commit what was left open.
    for _ in 0..5 {
        let (status, body) = get(&platform, "/probe/pg/roundtrip").await;
        assert_eq!(status, 200, "{body}");
    }
    let marks: i64 = sqlx::query_scalar("select count(*) from probe_marks")
        .fetch_one(&platform.db)
        .await
        .expect("count");
    assert_eq!(
        marks, 0,
        "nothing from an unfinished transaction was committed"
    );
    let idle_in_transaction: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'",
    )
    .fetch_one(&platform.db)
    .await
    .expect("count");
    assert_eq!(idle_in_transaction, 0);
}

#[tokio::test]
async fn a_connection_whose_server_process_ended_is_not_handed_out_again() {
    let platform = Platform::start().await;
    let (status, body) = get(&platform, "/probe/pg/terminate").await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("57P01"), "{body}");
    // The pool hands out the most recently returned connection first: a dead one kept would fail
    // the very next request.
    for _ in 0..3 {
        let (status, body) = get(&platform, "/probe/pg/select").await;
        assert_eq!(status, 200, "{body}");
    }
}

/// Runs `hotline serve` with one change from a working set-up and returns its exit status and
/// what it printed.
async fn start_refused(
    manifest_edit: impl Fn(String) -> String,
    drop_keys: bool,
) -> (bool, String) {
    let dir = tests::workspace_root()
        .join("target/test-data/refused")
        .join(uuid::Uuid::new_v4().simple().to_string());
    std::fs::create_dir_all(&dir).expect("dir");
    let manifest = manifest_edit(
        std::fs::read_to_string(tests::workspace_root().join("spin.toml")).expect("manifest"),
    );
    std::fs::write(dir.join("spin.toml"), manifest).expect("write");
    let mut command =
        tokio::process::Command::new(tests::workspace_root().join("target/debug/hotline"));
    command
        .arg("--data-dir")
        .arg(&dir)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-migrate",
            "--manifest",
        ])
        .arg(dir.join("spin.toml"))
        .env("DATABASE_URL", "postgres://nobody:nothing@127.0.0.1:9/none")
        .env("SPIN_VARIABLE_JWT_KEYS", "{\"keys\":[]}");
    if drop_keys {
        command.env_remove("SPIN_VARIABLE_JWT_KEYS");
    }
    let out = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("exits")
        .expect("runs");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_missing_required_variable_stops_the_start() {
    let (ok, stderr) = start_refused(|m| m, true).await;
    assert!(!ok);
    assert!(stderr.contains("SPIN_VARIABLE_JWT_KEYS"), "{stderr}");
}

#[tokio::test]
async fn an_invalid_manifest_is_refused_naming_the_field() {
    let (ok, stderr) = start_refused(
        |m| m.replace("component = \"intake\"", "component = \"intkae\""),
        false,
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("trigger.http[1].component"), "{stderr}");

    let (ok, stderr) = start_refused(
        |m| {
            m.replace(
                "spin_manifest_version = 2",
                "spin_manifest_version = \"two\"",
            )
        },
        false,
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("line"), "{stderr}");
}

/// Each new connection goes to the next lane; every lane serves with its own instances and
/// database connections, and all of them work on the same data: a retried filing is one order
/// whichever lane each try reached, and every lane finds it.
#[tokio::test]
async fn connections_are_spread_over_the_lanes_and_all_see_the_same_orders() {
    let platform = Platform::start_with(Options {
        threads: Some(3),
        ..Options::default()
    })
    .await
    .expect("the platform starts with three lanes");
    // Each client has a connection of its own, so three clients reach three lanes.
    let mut filed = Vec::new();
    for _ in 0..3 {
        let citizen = platform.client("citizen-lanes", "citizen");
        let order = citizen
            .create_request(&tests::valid_request(), Some("lanes-retry-1"))
            .await
            .expect("filed");
        filed.push(order.id);
    }
    assert!(
        filed.iter().all(|id| *id == filed[0]),
        "one order for one idempotency key: {filed:?}"
    );
    for _ in 0..3 {
        let citizen = platform.client("citizen-lanes", "citizen");
        let order = citizen
            .get_request(&filed[0].to_string())
            .await
            .expect("found on every lane");
        assert_eq!(order.id, filed[0]);
    }
    let log = platform.log();
    for lane in 0..3 {
        assert!(
            log.lines()
                .any(|line| line.contains("hotline::request")
                    && line.contains(&format!("lane={lane} "))),
            "lane {lane} served no request:\n{log}"
        );
    }
}

/// A freed instance's slot gives its memory back (`--instance-keep-resident-kib`, 0 by default):
/// what a burst's instances used does not stay resident once they are gone. Asked to keep some,
/// a slot keeps the pages its instance wrote for the next one. The metrics say which.
#[tokio::test]
async fn freed_instance_slots_keep_no_memory_resident_unless_asked_to() {
    for keep in [None, Some("1024")] {
        let platform = Platform::start_with(Options {
            serve_args: keep
                .map(|kib| vec!["--instance-keep-resident-kib".into(), kib.into()])
                .unwrap_or_default(),
            ..Options::default()
        })
        .await
        .expect("platform");
        for _ in 0..4 {
            assert_eq!(get(&platform, "/probe/hello").await.0, 200);
        }
        // An instance idle for a second is dropped and its slot freed (and under test the
        // schedules' instances come and go every second).
        let started = Instant::now();
        let metrics = loop {
            let metrics = platform.metrics().await;
            if metrics["hotline_instance_slots_warm"] >= 1.0 {
                break metrics;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no instance slot was freed"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let resident = metrics["hotline_instance_slots_resident_bytes{kind=\"memory\"}"];
        match keep {
            None => assert_eq!(resident, 0.0, "the freed slots kept memory resident"),
            Some(_) => assert!(
                resident >= 4096.0,
                "asked to keep memory, the freed slots kept {resident} bytes"
            ),
        }
    }
}

#[tokio::test]
async fn the_metrics_count_requests_connections_schedules_and_outbound_calls() {
    let platform = Platform::start_with(Options {
        request_timeout_ms: 1000,
        ..Options::default()
    })
    .await
    .expect("platform");
    let before = platform.metrics().await;
    assert!(before["process_resident_memory_bytes"] > 1e6);
    assert!(before["hotline_postgres_connections_max"] >= 1.0);
    assert!(before["hotline_http_request_slots"] >= 1.0);

    let (port, _) = pong_server().await;
    assert_eq!(get(&platform, "/probe/hello").await.0, 200);
    assert_eq!(get(&platform, "/probe/spin").await.0, 504);
    let allowed = format!("/probe/outbound?url=http://localhost:{port}/");
    assert_eq!(get(&platform, &allowed).await.0, 200);
    let refused = format!("/probe/outbound?url=http://127.0.0.1:{port}/");
    assert_eq!(get(&platform, &refused).await.0, 502);
    assert_eq!(get(&platform, "/probe/pg/select").await.0, 200);
    // Through the gateway to intake: a number no order has.
    let missing = platform
        .client("citizen-1", "citizen")
        .get_request("ZMD-20260101-000000")
        .await;
    assert!(missing.is_err());
    // Nor is the public listener the place for metrics.
    let (status, body) = get(&platform, "/metrics").await;
    assert_ne!(status, 200, "{body}");

    // The deliverer's schedule runs every second under test.
    let deliver = "{component=\"notifications\",route=\"/internal/deliver\"}";
    let started = Instant::now();
    let after = loop {
        let after = platform.metrics().await;
        if after[&format!("hotline_schedule_last_success_timestamp_seconds{deliver}")] > 0.0 {
            break after;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no delivery run"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let count = |series: &str| after.get(series).copied().unwrap_or(0.0);
    let probe = |outcome: &str| {
        count(&format!(
            "hotline_component_requests_total{{component=\"probe\",via=\"http\",outcome=\"{outcome}\"}}"
        ))
    };
    assert_eq!(
        probe("2xx"),
        3.0,
        "hello, the allowed call and the statement"
    );
    assert_eq!(probe("5xx"), 1.0, "the refused call's 502");
    assert_eq!(probe("timeout"), 1.0);
    assert!(
        count(
            "hotline_component_requests_total{component=\"intake\",via=\"chained\",outcome=\"4xx\"}"
        ) >= 1.0
    );
    assert!(
        count(
            "hotline_component_requests_total{component=\"gateway\",via=\"http\",outcome=\"4xx\"}"
        ) >= 1.0
    );
    assert!(count("hotline_component_instances_started_total{component=\"probe\"}") >= 1.0);
    // The histogram: cumulative buckets ending in +Inf, which is the count.
    let bucket = |le: &str| {
        count(&format!(
            "hotline_component_request_duration_seconds_bucket{{component=\"probe\",via=\"http\",le=\"{le}\"}}"
        ))
    };
    let total =
        count("hotline_component_request_duration_seconds_count{component=\"probe\",via=\"http\"}");
    assert_eq!(total, 5.0);
    assert_eq!(bucket("+Inf"), total);
    assert!(bucket("0.000500") <= bucket("0.500000") && bucket("0.500000") <= bucket("+Inf"));
    assert!(
        bucket("0.500000") <= 4.0,
        "the timed-out request took a second"
    );
    assert!(
        count("hotline_component_request_duration_seconds_sum{component=\"probe\",via=\"http\"}")
            >= 1.0
    );
    assert_eq!(
        count(&format!(
            "hotline_outbound_requests_total{{component=\"probe\",destination=\"localhost:{port}\",outcome=\"2xx\"}}"
        )),
        1.0
    );
    assert_eq!(
        count(&format!(
            "hotline_outbound_requests_total{{component=\"probe\",destination=\"127.0.0.1:{port}\",outcome=\"denied\"}}"
        )),
        1.0
    );
    assert!(
        count(
            "hotline_schedule_runs_total{component=\"notifications\",route=\"/internal/deliver\",outcome=\"ok\"}"
        ) >= 1.0
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    let last = count(&format!(
        "hotline_schedule_last_success_timestamp_seconds{deliver}"
    ));
    assert!(
        (now - 60.0..=now + 1.0).contains(&last),
        "{last} against {now}"
    );
    // Every second under test (the test manifest's), five minutes for early warnings.
    assert_eq!(
        count(&format!("hotline_schedule_interval_seconds{deliver}")),
        1.0
    );
    assert_eq!(
        count(
            "hotline_schedule_interval_seconds{component=\"supervision\",route=\"/internal/early-warnings\"}"
        ),
        300.0
    );
    assert!(
        count("hotline_postgres_statements_total") > before["hotline_postgres_statements_total"]
    );
    assert!(count("hotline_postgres_connections_opened_total") >= 1.0);
    assert!(count("process_cpu_seconds_total") > 0.0);
    assert_eq!(count("hotline_http_rejected_total{reason=\"busy\"}"), 0.0);

    // Only GET /metrics.
    let client = reqwest::Client::new();
    let posted = client
        .post(&platform.metrics_url)
        .send()
        .await
        .expect("answer");
    assert_eq!(posted.status().as_u16(), 405);
    let elsewhere = platform.metrics_url.replace("/metrics", "/status");
    assert_eq!(
        reqwest::get(&elsewhere)
            .await
            .expect("answer")
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn a_component_whose_metrics_route_fails_is_left_out_and_marked_down() {
    // The probe, standing in for supervision, answers no `/internal/metrics`.
    let platform = Platform::start_with(Options {
        stand_in: Some(("supervision", "probe")),
        ..Options::default()
    })
    .await
    .expect("platform");
    let samples = platform.metrics().await;
    assert_eq!(
        samples["hotline_component_metrics_up{component=\"supervision\"}"],
        0.0
    );
    assert_eq!(
        samples["hotline_component_metrics_up{component=\"notifications\"}"],
        1.0
    );
    assert!(
        !samples
            .keys()
            .any(|series| series.starts_with("hotline_supervision_")),
        "{samples:#?}"
    );
    assert!(
        samples.contains_key("hotline_notifications_deliveries_pending{channel=\"fcm\"}"),
        "{samples:#?}"
    );
    assert!(
        platform
            .log()
            .contains("a component's metrics were left out"),
        "{}",
        platform.log()
    );
}

#[tokio::test]
async fn a_stopping_runtime_answers_the_requests_in_hand_and_takes_no_new_ones() {
    let mut platform = Platform::start().await;
    // A client with a connection kept alive from an earlier request.
    let kept = reqwest::Client::new();
    let answer = kept
        .get(platform.url("/probe/hello"))
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status().as_u16(), 200);
    let slow_url = platform.url("/probe/pg/plain/sleep?ms=2000");
    let slow = tokio::spawn(async move {
        let response = reqwest::get(slow_url).await?;
        let status = response.status().as_u16();
        Ok::<_, reqwest::Error>((status, response.text().await?))
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    let stopping = Instant::now();
    let base = platform.url("/probe/hello");
    let stopped = platform.terminate(Duration::from_secs(15));
    let (stopped, refused) = tokio::join!(stopped, async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        // A new connection is refused while the slow request is still being answered.
        reqwest::Client::new().get(&base).send().await
    });
    assert!(refused.is_err(), "a new connection was served: {refused:?}");
    let (status, body) = slow
        .await
        .expect("the slow request's task")
        .expect("the request in hand was answered");
    assert_eq!(status, 200, "{body}");
    let status = stopped.expect("the runtime ended");
    assert!(status.success(), "{status:?}");
    assert!(
        stopping.elapsed() >= Duration::from_millis(1000),
        "it waited for the request in hand"
    );
    assert!(
        platform
            .log()
            .contains("stopped: every request in hand was answered"),
        "{}",
        platform.log()
    );
    // The kept connection was closed, not left to a dead process.
    assert!(kept.get(&base).send().await.is_err());
}

/// Connections the server ended while they sat idle in the pool (a restart of one's own server,
/// a failover, an administrator) fail one request a lane at most: once a connection is found
/// gone in use, the pool checks each of those idle at the time before handing it out. Before,
/// each of them failed a request of its own. Every failure is a 503 `database_unavailable`.
#[tokio::test]
async fn connections_ended_while_idle_fail_one_request_a_lane_at_most() {
    const LANES: usize = 2;
    let platform = Platform::start_with(Options {
        threads: Some(LANES),
        ..Options::default()
    })
    .await
    .expect("the platform starts");
    let citizen = platform.client("citizen-1", "citizen");
    let filed = citizen
        .create_request(&tests::valid_request(), None)
        .await
        .expect("filed");
    // Many connections in each lane's pool: trackings at once, idle when they are done.
    let mut tracking = tokio::task::JoinSet::new();
    for _ in 0..24 {
        let (citizen, number) = (citizen.clone(), filed.tracking_number.clone());
        tracking.spawn(async move { citizen.get_request(&number).await });
    }
    for tracked in tracking.join_all().await {
        tracked.expect("tracked");
    }

    let mut server = platform.server().await;
    let ended: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_stat_activity \
         where datname = $1 and backend_type = 'client backend'",
    )
    .bind(platform.database_name())
    .fetch_all(&mut server)
    .await
    .expect("connections ended");
    assert!(
        ended.len() > 2 * LANES + 4,
        "only {} connections",
        ended.len()
    );

    let mut refused = 0;
    for _ in 0..24 {
        if let Err(error) = citizen.get_request(&filed.tracking_number).await {
            assert_eq!(error.code(), Some("database_unavailable"), "{error}");
            refused += 1;
        }
    }
    assert!(refused <= LANES, "{refused} requests refused");
}
