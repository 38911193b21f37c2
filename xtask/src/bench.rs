//! `cargo xtask bench`: build in release, start the real stack on a fresh database, load it, and
//! print each figure beside the baseline it is compared with, measured in the same run.
//!
//! Baselines: `pgbench -M prepared` running the same SQL as the API on the same database, and a
//! plain hyper server answering the same bytes as the hello component (for context).

use crate::load::{self, Outcome, RequestFactory};
use crate::uploads;
use crate::{root, run, step};
use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::Full;
use std::fmt::Write as _;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WARMUP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(3);
/// Each comparison alternates ours and its baseline this many times and reports medians (the
/// ratio's over the rounds' own), so that a noisy moment on the shared machine moves one or two
/// rounds, not the figure.
const ROUNDS: usize = 5;
/// The time limit of one request, for our runtime and for `wasmtime serve` alike.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

struct Row {
    what: String,
    ours: String,
    baseline: String,
    ratio: String,
    target: &'static str,
}

impl Row {
    /// A report's row: the medians of `REPORT_RUNS` in ms, ours against pgbench running the
    /// same `statements` (`statement` or `statements`), with no target yet.
    fn report(what: String, ours: Timed, theirs: f64, statements: &str) -> Row {
        Row::timed(what, ours, theirs, statements, 0)
    }

    /// As [`Row::report`], the times with `decimals` decimals.
    fn timed(what: String, ours: Timed, theirs: f64, statements: &str, decimals: usize) -> Row {
        Row {
            what,
            ours: ours.cell(decimals),
            baseline: format!("pgbench, same {statements}: {theirs:.decimals$} ms"),
            ratio: ours.ratio(theirs),
            target: "context (no target yet)",
        }
    }

    /// The row as a line of the report's table.
    fn line(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} |",
            self.what, self.ours, self.baseline, self.ratio, self.target
        )
    }
}

/// The report's rows, each printed as soon as it is measured: a run stopped late keeps what it
/// measured on the terminal.
#[derive(Default)]
struct Rows(Vec<Row>);

impl Rows {
    fn push(&mut self, row: Row) {
        eprintln!("{}", row.line());
        self.0.push(row);
    }

    fn extend(&mut self, rows: Vec<Row>) {
        for row in rows {
            self.push(row);
        }
    }
}

/// The rounds of one comparison: each of ours with its load outcome, each baseline's rate (and its
/// outcome where the baseline is an HTTP server too).
struct Rounds {
    ours: Vec<Outcome>,
    baseline: Vec<(f64, Option<Outcome>)>,
}

impl Rounds {
    /// Runs `ours` then `baseline`, `ROUNDS` times, and logs each round's two rates as it ends
    /// (the report gives only the medians and the rounds' ratios: when the ratios split in two,
    /// the log says which side moved).
    fn run(
        mut ours: impl FnMut() -> anyhow::Result<Outcome>,
        mut baseline: impl FnMut() -> anyhow::Result<(f64, Option<Outcome>)>,
    ) -> anyhow::Result<Rounds> {
        let mut rounds = Rounds {
            ours: Vec::new(),
            baseline: Vec::new(),
        };
        for round in 1..=ROUNDS {
            let (ours, (base, outcome)) = (ours()?, baseline()?);
            eprintln!(
                "    round {round}: ours {:.0}/s, baseline {base:.0}/s, ratio {:.2}",
                ours.rate(),
                ours.rate() / base
            );
            rounds.ours.push(ours);
            rounds.baseline.push((base, outcome));
        }
        Ok(rounds)
    }

    /// Our median round (by rate).
    fn our_median(&self) -> &Outcome {
        let mut sorted: Vec<&Outcome> = self.ours.iter().collect();
        sorted.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
        sorted[sorted.len() / 2]
    }

    /// The baseline's median round.
    fn baseline_median(&self) -> &(f64, Option<Outcome>) {
        let mut sorted: Vec<&(f64, Option<Outcome>)> = self.baseline.iter().collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        sorted[sorted.len() / 2]
    }

    /// The median of the rounds' own ratios, and each of them, e.g. `0.45 (rounds 0.41, 0.45,
    /// 0.47)`. A round's ratio is ours over the baseline run right after it, so that the machine's
    /// drift between rounds (other tenants, a checkpoint) cancels; the ratio of the two sides'
    /// medians can come from rounds far apart (the hop once read 0.67 that way, 0.56 this way).
    fn ratio(&self) -> String {
        let mut each: Vec<f64> = self
            .ours
            .iter()
            .zip(&self.baseline)
            .map(|(ours, (base, _))| ours.rate() / base)
            .collect();
        each.sort_by(f64::total_cmp);
        let median = each[each.len() / 2];
        let each: Vec<String> = each.iter().map(|r| format!("{r:.2}")).collect();
        format!("{median:.2} (rounds {})", each.join(", "))
    }

    /// The baseline's median cell: its outcome, or `label: N tps`.
    fn baseline_cell(&self, label: &str) -> String {
        match self.baseline_median() {
            (_, Some(outcome)) => format!("{label}: {}", outcome_cell(outcome)),
            (rate, None) => format!("{label}: {rate:.0} tps"),
        }
    }
}

fn outcome_cell(outcome: &Outcome) -> String {
    format!(
        "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms{}",
        outcome.rate(),
        outcome.percentile_ms(0.50),
        outcome.percentile_ms(0.99),
        if outcome.errors > 0 {
            format!(" ({} errors)", outcome.errors)
        } else {
            String::new()
        }
    )
}

struct Server {
    child: Child,
    address: SocketAddr,
    /// None from a runtime built before it said (one measured by `--runtime`).
    instances: Option<Instances>,
}

/// What the runtime does with its instances, as it says on starting (its defaults, or what the
/// environment set for a paired run), so that the report names what was measured.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Instances {
    lanes: usize,
    /// Requests an instance serves before it is replaced.
    reuse: usize,
    /// KiB of a freed instance's memory kept resident for the next in its slot.
    keep_kib: usize,
}

impl Instances {
    /// From the runtime's line `hotline: 2 lanes; an instance serves up to 1024 requests; a
    /// freed instance keeps 0 KiB resident`.
    fn from_line(line: &str) -> Option<Instances> {
        let rest = line.strip_prefix("hotline: ")?;
        let mut numbers = rest
            .split(|c: char| !c.is_ascii_digit())
            .filter(|part| !part.is_empty())
            .map(str::parse::<usize>);
        let mut next = || numbers.next()?.ok();
        let instances = Instances {
            lanes: next()?,
            reuse: next()?,
            keep_kib: next()?,
        };
        (rest.contains(" lanes; ") && next().is_none()).then_some(instances)
    }

    /// The versions line's words for it, on a machine of `cores`.
    fn describe(&self, cores: usize) -> String {
        let kept = if self.keep_kib == 0 {
            "a freed instance's memory given back to the kernel".to_owned()
        } else {
            format!(
                "{} KiB of a freed instance's memory kept resident for the next",
                self.keep_kib
            )
        };
        format!(
            "{} lanes, {}: threads with a single-threaded runtime and a copy of the app each; \
             instances reused for up to {} requests, one at a time, and {kept} \
             (`--instance-keep-resident-kib {}`)",
            self.lanes,
            if self.lanes == cores {
                "one per core"
            } else {
                "as the environment set"
            },
            self.reuse,
            self.keep_kib
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM, so the runtime shuts down as in production.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// The `spin-*` headers Spin's HTTP trigger adds to a request, with the values our runtime gives
/// the bench's `GET /hello/` (`host: bench`; route `/hello/...`). Only the client's address
/// differs between requests, by its port. The runtime's test
/// `the_spin_headers_of_the_benchs_hello_request` holds it to the same values.
const HELLO_SPIN_HEADERS: [(&str, &str); 7] = [
    ("spin-full-url", "http://bench/hello/"),
    ("spin-path-info", "/"),
    ("spin-matched-route", "/hello/..."),
    ("spin-raw-component-route", "/hello/..."),
    ("spin-component-route", "/hello"),
    ("spin-base-path", "/"),
    ("spin-client-addr", "127.0.0.1:40000"),
];

/// `wasmtime serve` of the same wasmtime version, hosting the hello component (installed into
/// `target/bench-tools` on first use: wasmtime-cli built with its own `fastest-runtime` profile,
/// LTO and one codegen unit as our release build; some twenty-five minutes).
struct WasmtimeServe {
    child: Child,
    address: SocketAddr,
}

impl WasmtimeServe {
    /// `timeout`: the per-request time limit (`-Wtimeout`), which makes `wasmtime serve` interrupt
    /// guests by epoch as our runtime always does; `None` runs guests without any limit.
    /// `spin_headers`: whether it adds to every request the `spin-*` headers our runtime sends
    /// with the bench's `GET /hello/` (`-H`), so that the guest reads in the same request.
    fn start(timeout: Option<Duration>, spin_headers: bool) -> anyhow::Result<WasmtimeServe> {
        let tools = root().join("target/bench-tools/fastest-runtime");
        let bin = tools.join("bin/wasmtime");
        if !bin.exists() {
            step(
                "installing wasmtime-cli 48.0.8 for the comparison (first time only; a long build, \
                 optimised as one unit as our runtime is)",
            );
            run(crate::cargo()
                .args([
                    "install",
                    "wasmtime-cli",
                    "--version",
                    "=48.0.8",
                    "--locked",
                    "--profile",
                    "fastest-runtime",
                    "--root",
                ])
                .arg(&tools))?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let address: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        // WASI 0.3 and the async component model, which spin-sdk 7 components need.
        let child = Command::new(&bin)
            .args(["serve", "-Scli", "-Wcomponent-model-async=y", "-Sp3=y"])
            .args(timeout.map(|t| format!("-Wtimeout={}ms", t.as_millis())))
            .args(
                HELLO_SPIN_HEADERS
                    .iter()
                    .filter(|_| spin_headers)
                    .flat_map(|(name, value)| ["-H".to_owned(), format!("{name}: {value}")]),
            )
            .arg("--addr")
            .arg(address.to_string())
            .arg(root().join("target/wasm32-wasip2/wasm/hello.wasm"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting wasmtime serve")?;
        let started = Instant::now();
        while std::net::TcpStream::connect(address).is_err() {
            if started.elapsed() > Duration::from_secs(60) {
                bail!("wasmtime serve did not listen within a minute");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(WasmtimeServe { child, address })
    }
}

impl Drop for WasmtimeServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bench_manifest(dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let wasm = root().join("target/wasm32-wasip2/wasm");
    let mut manifest = std::fs::read_to_string(root().join("spin.toml"))?.replace(
        "source = \"target/wasm32-wasip2/wasm/",
        &format!("source = \"{}/", wasm.display()),
    );
    write!(
        manifest,
        "\n[[trigger.http]]\nroute = \"/probe/...\"\ncomponent = \"probe\"\n\n[component.probe]\nsource = \"{0}/probe.wasm\"\n\
         \n[[trigger.http]]\nroute = \"/hello/...\"\ncomponent = \"hello\"\n\n[component.hello]\nsource = \"{0}/hello.wasm\"\n\
         \n[[trigger.http]]\nroute = \"/relay/...\"\ncomponent = \"relay\"\n\n[component.relay]\nsource = \"{0}/relay.wasm\"\n\
         allowed_outbound_hosts = [\"http://hello.spin.internal\"]\n\
         \n# The bench calls the schedules' routes itself, to time them.\n[[trigger.http]]\nroute = \"/internal/...\"\ncomponent = \"notifications\"\n",
        wasm.display()
    )?;
    let path = dir.join("spin.toml");
    std::fs::write(&path, manifest)?;
    Ok(path)
}

fn start_server(
    binary: &Path,
    data: &std::path::Path,
    manifest: &std::path::Path,
    database_url: &str,
    signing: &[(&'static str, String)],
    fcm: &fakes::fcm::FakeFcm,
) -> anyhow::Result<(Server, Duration)> {
    let launched = Instant::now();
    let mut child = Command::new(binary)
        .arg("--data-dir")
        .arg(data)
        .arg("serve")
        .arg("--manifest")
        .arg(manifest)
        .args(["--listen", "127.0.0.1:0"])
        .arg("--request-timeout-ms")
        .arg(REQUEST_TIMEOUT.as_millis().to_string())
        .env("DATABASE_URL", database_url)
        .envs(signing.iter().map(|(name, value)| (*name, value)))
        // The limits are counted on every request, as in production, but set where the load
        // generator (one address, few principals) never reaches them.
        .env(
            "SPIN_VARIABLE_RATE_LIMIT_PRINCIPAL_PER_MINUTE",
            "1000000000",
        )
        .env("SPIN_VARIABLE_RATE_LIMIT_ADDRESS_PER_MINUTE", "1000000000")
        .env(
            "SPIN_VARIABLE_FCM_SERVICE_ACCOUNT",
            fakes::fcm::FakeFcm::service_account(),
        )
        .env("SPIN_VARIABLE_FCM_BASE_URL", fcm.base_url())
        .env("SPIN_VARIABLE_GOOGLE_OAUTH_BASE_URL", fcm.base_url())
        .env("HOTLINE_LOG", "warn")
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting hotline")?;
    let stdout = child.stdout.take().context("hotline's output")?;
    let mut instances = None;
    let line = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .inspect(|line| instances = instances.or_else(|| Instances::from_line(line)))
        .find(|line| line.contains(" on http://"))
        .context("hotline stopped before serving")?;
    let address: SocketAddr = line
        .rsplit("http://")
        .next()
        .unwrap_or_default()
        .trim()
        .parse()?;
    // Launch to the first answered request, not just to the listening line.
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(address) {
            use std::io::{Read, Write};
            stream.write_all(
                b"GET /probe/hello HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n",
            )?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            if answer.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        if launched.elapsed() > Duration::from_secs(120) {
            bail!("hotline did not answer within two minutes");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok((
        Server {
            child,
            address,
            instances,
        },
        launched.elapsed(),
    ))
}

/// How many clients track at once in the memory burst: a spike of app users, eight times the
/// clients of the tracking rounds.
const BURST_CLIENTS: usize = 128;

/// How long after a burst resident memory is read again: what the runtime keeps once load ends.
const SETTLE: Duration = Duration::from_secs(5);

/// What `pid` holds in memory, in KiB, two ways. `rss` is the resident set (`VmRSS`): every page
/// mapped, once for each mapping of it. The runtime maps a component's data image into every
/// live instance's slot, so under load the same pages count once for each instance; and a freed
/// slot that keeps memory resident (`--instance-keep-resident-kib` above 0) keeps the image's
/// pages it read mapped too (they need no reset): with 1024, 58 of 134 MiB five seconds after 128
/// tracking clients were such pages (`/proc/<pid>/smaps`; their PSS, 3 MiB). `pss`, the
/// proportional set size (`smaps_rollup`), counts a page shared by n mappings 1/n in each: the
/// memory the process costs the machine.
#[derive(Debug, Clone, Copy, Default)]
struct Resident {
    rss: u64,
    pss: u64,
}

impl Resident {
    fn of(pid: u32) -> Resident {
        let field = |file: &str, name: &str| -> u64 {
            std::fs::read_to_string(format!("/proc/{pid}/{file}"))
                .ok()
                .and_then(|text| {
                    text.lines()
                        .find(|line| line.starts_with(name))?
                        .split_whitespace()
                        .nth(1)?
                        .parse()
                        .ok()
                })
                .unwrap_or(0)
        };
        Resident {
            rss: field("status", "VmRSS:"),
            pss: field("smaps_rollup", "Pss:"),
        }
    }

    /// Each figure's own peak (the two may peak at different moments).
    fn max(self, other: Resident) -> Resident {
        Resident {
            rss: self.rss.max(other.rss),
            pss: self.pss.max(other.pss),
        }
    }

    /// `204 MiB (PSS 150)`.
    fn cell(&self) -> String {
        format!("{} MiB (PSS {})", self.rss / 1024, self.pss / 1024)
    }
}

/// The highest resident memory of `pid` over the next `span`, read every 50 ms on a thread of
/// its own (join it after the load).
fn peak_resident(pid: u32, span: Duration) -> std::thread::JoinHandle<Resident> {
    std::thread::spawn(move || {
        let mut peak = Resident::default();
        let until = Instant::now() + span;
        while Instant::now() < until {
            peak = peak.max(Resident::of(pid));
            std::thread::sleep(Duration::from_millis(50));
        }
        peak
    })
}

/// CPU time used, in seconds, by the processes of each kind: the runtime (`pid`), PostgreSQL's
/// server processes and pgbench (each process's `utime + stime`, all its threads); and of the
/// runtime's, the part spent in the kernel on its behalf (`stime`: system calls, wake-ups,
/// page faults).
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    runtime: f64,
    runtime_kernel: f64,
    postgres: f64,
    pgbench: f64,
}

impl Cpu {
    fn now(runtime_pid: u32) -> Cpu {
        // Linux reports in clock ticks of 1/100 s (USER_HZ) on every platform we run on.
        const TICKS: f64 = 100.0;
        let mut cpu = Cpu::default();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // `pid (comm) state ...`: the fields after the command's closing parenthesis.
            let Some((head, rest)) = stat.rsplit_once(") ") else {
                continue;
            };
            let comm = head.split_once(" (").map_or("", |(_, comm)| comm);
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let used = |i: usize| {
                fields
                    .get(i)
                    .and_then(|f| f.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            // utime and stime are the 14th and 15th fields; `rest` starts at the 3rd.
            let seconds = (used(11) + used(12)) / TICKS;
            if pid == runtime_pid {
                cpu.runtime += seconds;
                cpu.runtime_kernel += used(12) / TICKS;
            } else if comm == "postgres" {
                cpu.postgres += seconds;
            } else if comm == "pgbench" {
                cpu.pgbench += seconds;
            }
        }
        cpu
    }

    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            runtime: self.runtime - before.runtime,
            runtime_kernel: self.runtime_kernel - before.runtime_kernel,
            postgres: self.postgres - before.postgres,
            pgbench: self.pgbench - before.pgbench,
        }
    }

    /// Runs `load`, measuring from `after` for `span` on a thread of its own meanwhile.
    fn during<T>(
        runtime_pid: u32,
        after: Duration,
        span: Duration,
        load: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<(T, Cpu)> {
        let meter = std::thread::spawn(move || {
            std::thread::sleep(after);
            let before = Cpu::now(runtime_pid);
            std::thread::sleep(span);
            Cpu::now(runtime_pid).since(before)
        });
        let outcome = load()?;
        let used = meter
            .join()
            .map_err(|_| anyhow::anyhow!("the CPU meter failed"))?;
        Ok((outcome, used))
    }
}

/// [`Rounds::run`] of our load against pgbench's, with the CPU each request took: measured over
/// our rounds' timed part, and over pgbench's run less its first and last tenth of a second
/// (connecting, and finishing).
fn metered_rounds(
    runtime_pid: u32,
    mut ours: impl FnMut() -> anyhow::Result<Outcome>,
    mut pgbench: impl FnMut() -> anyhow::Result<Outcome>,
) -> anyhow::Result<(Rounds, CpuSplit)> {
    let (our_cpu, their_cpu) = (CpuPerRequest::default(), CpuPerRequest::default());
    let margin = Duration::from_millis(100);
    let span = MEASURE - 2 * margin;
    let rounds = Rounds::run(
        || {
            let (outcome, used) = Cpu::during(runtime_pid, WARMUP, MEASURE, &mut ours)?;
            our_cpu.record(used, outcome.requests as f64);
            Ok(outcome)
        },
        || {
            let (outcome, used) = Cpu::during(runtime_pid, margin, span, &mut pgbench)?;
            let tps = outcome.rate();
            their_cpu.record(used, tps * span.as_secs_f64());
            Ok((tps, Some(outcome)))
        },
    )?;
    let split = CpuSplit {
        ours: our_cpu.median(),
        theirs: their_cpu.median(),
    };
    Ok((rounds, split))
}

/// CPU per request, ours and pgbench's (the median rounds).
struct CpuSplit {
    ours: Cpu,
    theirs: Cpu,
}

impl CpuSplit {
    fn row(&self, what: &str) -> Row {
        let (ours, theirs) = (self.ours, self.theirs);
        Row {
            what: format!("{what}: CPU per request (median round)"),
            ours: format!(
                "{:.2} ms: runtime {:.2} ({:.2} of it in the kernel), PostgreSQL {:.2}",
                ours.runtime + ours.postgres,
                ours.runtime,
                ours.runtime_kernel,
                ours.postgres
            ),
            baseline: format!(
                "pgbench: {:.2} ms: pgbench {:.2}, PostgreSQL {:.2}",
                theirs.pgbench + theirs.postgres,
                theirs.pgbench,
                theirs.postgres
            ),
            ratio: format!(
                "{:.2}",
                (theirs.pgbench + theirs.postgres) / (ours.runtime + ours.postgres)
            ),
            target: "context",
        }
    }
}

/// CPU milliseconds per request, over the rounds: the median round's, split by kind.
#[derive(Default)]
struct CpuPerRequest {
    rounds: std::cell::RefCell<Vec<Cpu>>,
}

impl CpuPerRequest {
    /// Records a round's CPU, and logs it a request as each side's round ends (ours first, then
    /// the baseline's, then [`Rounds::run`]'s line with the two rates): the log tells a round
    /// slowed by the machine from one that cost more.
    fn record(&self, cpu: Cpu, requests: f64) {
        let per = |seconds: f64| seconds * 1000.0 / requests.max(1.0);
        let round = Cpu {
            runtime: per(cpu.runtime),
            runtime_kernel: per(cpu.runtime_kernel),
            postgres: per(cpu.postgres),
            pgbench: per(cpu.pgbench),
        };
        let micros = |ms: f64| format!("{:.0} µs", ms * 1000.0);
        let mut parts = Vec::new();
        // (A side that does not use one shows none, not a stray 0 µs.)
        if round.runtime >= 0.0005 {
            parts.push(format!(
                "runtime {} ({} in the kernel)",
                micros(round.runtime),
                micros(round.runtime_kernel)
            ));
        }
        if round.pgbench >= 0.0005 {
            parts.push(format!("pgbench {}", micros(round.pgbench)));
        }
        if round.postgres >= 0.0005 {
            parts.push(format!("PostgreSQL {}", micros(round.postgres)));
        }
        eprintln!("      CPU a request: {}", parts.join(", "));
        self.rounds.borrow_mut().push(round);
    }

    fn median(&self) -> Cpu {
        let mut rounds = self.rounds.borrow().clone();
        rounds.sort_by(|a, b| {
            (a.runtime + a.postgres + a.pgbench).total_cmp(&(b.runtime + b.postgres + b.pgbench))
        });
        rounds.get(rounds.len() / 2).copied().unwrap_or_default()
    }
}

/// `pgbench -M prepared` with `script` at `clients` clients; returns transactions per second.
/// Debian's pgbench (not on the PATH), or whatever `pgbench` is.
fn pgbench_binary() -> std::path::PathBuf {
    std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin/pgbench"))
        .find(|p| p.exists())
        .unwrap_or_else(|| "pgbench".into())
}

fn pgbench(database_url: &str, script: &str, clients: usize) -> anyhow::Result<Outcome> {
    pgbench_with(database_url, script, clients, &[])
}

/// [`pgbench`] with variables (`-D name=value`): with `-M prepared` each `:name` in the script is
/// sent as a parameter, as the platform sends its values.
///
/// The outcome's rate is pgbench's `tps`; its latencies are those pgbench logged (`-l`: each
/// transaction's time, as its client saw it) for the transactions that ended in the run less a
/// tenth of a second at each end, the same span as the CPU figures. Our load generator skips its
/// warm-up instead; pgbench has none, and its first transaction on each connection also prepares
/// the statements.
fn pgbench_with(
    database_url: &str,
    script: &str,
    clients: usize,
    variables: &[(&str, &str)],
) -> anyhow::Result<Outcome> {
    let seconds = MEASURE.as_secs().to_string();
    let clients = clients.to_string();
    let logs = root()
        .join("target/bench-data")
        .join(format!("pgbench-{}-log", std::process::id()));
    let log_prefix = format!("--log-prefix={}", logs.display());
    let mut args = vec![
        "-c",
        clients.as_str(),
        "-j",
        "2",
        "-T",
        seconds.as_str(),
        "-l",
        log_prefix.as_str(),
    ];
    let defines: Vec<String> = variables
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    for define in &defines {
        args.extend(["-D", define.as_str()]);
    }
    let output = run_pgbench(database_url, script, &args)?;
    let tps = figure(&output, "tps = ", 2)?;
    let (latencies, errors) = pgbench_latencies(&logs)?;
    if latencies.is_empty() {
        bail!("pgbench logged no transaction in {}", logs.display());
    }
    Ok(Outcome {
        requests: latencies.len(),
        errors,
        seconds: latencies.len() as f64 / tps,
        latencies,
    })
}

/// The latencies (µs, sorted) in the per-transaction logs pgbench wrote as `<prefix>.<pid>[.n]`
/// (one per thread), of the transactions that ended in the run less a tenth of a second at each
/// end, and how many of those failed; the logs are removed.
fn pgbench_latencies(prefix: &std::path::Path) -> anyhow::Result<(Vec<u32>, usize)> {
    let dir = prefix.parent().context("pgbench's log directory")?;
    let name = prefix
        .file_name()
        .and_then(|n| n.to_str())
        .context("pgbench's log name")?;
    // Each line: client, transaction, latency in µs (or `failed`/`skipped`), script, and the
    // end as seconds and microseconds.
    let mut logged: Vec<(Option<u32>, i64)> = Vec::new();
    let log_file = format!("{name}.");
    for entry in std::fs::read_dir(dir)?.flatten() {
        let file = entry.file_name();
        if !file.to_str().is_some_and(|f| f.starts_with(&log_file)) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path())?;
        let _ = std::fs::remove_file(entry.path());
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(latency), Some(secs), Some(micros)) =
                (fields.get(2), fields.get(4), fields.get(5))
            else {
                bail!("an unreadable line in pgbench's log: {line}");
            };
            let end = secs.parse::<i64>()? * 1_000_000 + micros.parse::<i64>()?;
            logged.push((latency.parse().ok(), end));
        }
    }
    let start = logged
        .iter()
        .map(|(latency, end)| end - i64::from(latency.unwrap_or(0)))
        .min()
        .unwrap_or(0);
    let finish = logged.iter().map(|(_, end)| *end).max().unwrap_or(0);
    let (from, to) = (start + 100_000, finish - 100_000);
    let kept = logged.iter().filter(|(_, end)| (from..=to).contains(end));
    let errors = kept
        .clone()
        .filter(|(latency, _)| latency.is_none())
        .count();
    let mut latencies: Vec<u32> = kept.filter_map(|(latency, _)| *latency).collect();
    latencies.sort_unstable();
    Ok((latencies, errors))
}

/// The server settings pgbench's connections get (`PGOPTIONS`): those the runtime gives every
/// connection it opens for a component (`SERVER_SETTINGS` in `crates/hotline/src/postgres.rs`:
/// no statement compiled to machine code), so that both sides run the same statements the
/// same way.
const PGBENCH_OPTIONS: &str = "-c jit=off";

/// `pgbench -n -M prepared <args> -f <script>`: what it printed.
fn run_pgbench(database_url: &str, script: &str, args: &[&str]) -> anyhow::Result<String> {
    let path = root()
        .join("target/bench-data")
        .join(format!("pgbench-{}.sql", std::process::id()));
    std::fs::write(&path, script)?;
    let out = Command::new(pgbench_binary())
        .env("PGOPTIONS", PGBENCH_OPTIONS)
        .args(["-n", "-M", "prepared"])
        .args(args)
        .arg("-f")
        .arg(&path)
        .arg(database_url)
        .output()
        .context("running pgbench")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "pgbench failed on {}: {}{}",
            path.display(),
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A script is kept only when pgbench failed on it (each run of the bench left some before).
    let _ = std::fs::remove_file(&path);
    Ok(text)
}

/// The number in pgbench's output line that starts with `prefix`, the `word`-th word of it.
fn figure(output: &str, prefix: &str, word: usize) -> anyhow::Result<f64> {
    output
        .lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.split_whitespace().nth(word))
        .and_then(|figure| figure.parse().ok())
        .with_context(|| format!("no `{prefix}` in pgbench's output"))
}

/// The SQL one filing runs, as a pgbench script (a colon before a letter is a pgbench variable even
/// inside a string literal, hence the `'p' || ':' || ...`): the gateway's rate counter, then intake's:
/// what the database says of the request (the place the coordinates fall in, the names, and the
/// dispatch catalogue's choice, which is none for street lights), then the transaction (citizen
/// with the serial, order, event). `@RATE_COUNT@`, `@FACTS@`, `@CITIZEN@` and `@RECORD_EVENT@`
/// stand for the platform's own statements (see [`filing_script`]); pgbench makes the order's id from its serial.
const FILING_TEMPLATE: &str = "\
\\set slot random(0, 7)
@RATE_COUNT@;
@FACTS@ \\gset
begin;
@CITIZEN@ \\gset
insert into work_orders (work_order_id, tracking_number, citizen_id, filed_by, status, category_id, title, description, lat, lng, address, district_id, grid_id, contact_phone, channel, hotline_number, urgent, confidential, photo_urls, created_at, updated_at) values (@ORDER_ID@, 'PGB-' || :serial, :citizen_id, 'pgbench-' || :client_id, 'received', 'urban.streetlight', '路灯不亮', '解放大道路灯连续三晚不亮', 32.98, 114.02, '驿城区解放大道', :district_id, :grid_id, '13800138000', 'app', null, false, false, '{}', :now, :now);
@RECORD_EVENT@;
commit;
";

/// The order's id in the pgbench script, made from its serial (the platform makes it in the guest).
const PGBENCH_ORDER_ID: &str =
    "cast('00000000-0000-4000-8000-' || lpad(cast(:serial as text), 12, '0') as uuid)";

/// Replaces `$1`, `$2`, ... in `statement` with `values`, from the highest number down (so that
/// `$1` does not take the front of `$10`).
fn with_values(statement: &str, values: &[&str]) -> String {
    values
        .iter()
        .enumerate()
        .rev()
        .fold(statement.to_owned(), |sql, (i, value)| {
            sql.replace(&format!("${}", i + 1), value)
        })
}

/// The filing's SQL as pgbench runs it, with the platform's own statements.
pub fn filing_script() -> String {
    let subject = "'pgbench-' || :client_id";
    let facts = with_values(
        order_store::filing::statement(),
        &[
            "32.98",
            "114.02",
            "'urban.streetlight'",
            "'yicheng'",
            "null",
            subject,
            "'路灯不亮' || chr(10) || '解放大道路灯连续三晚不亮'",
            "false",
        ],
    );
    let citizen = with_values(
        &order_store::numbered_citizen_sql(),
        &["gen_random_uuid()", subject, "null", "null"],
    );
    let record = with_values(
        order_store::outbox::record_statement(),
        &[
            PGBENCH_ORDER_ID,
            "'received'",
            subject,
            "null",
            "null",
            ":now",
            "array['citizen_accepted']",
            "null",
        ],
    )
    // pgbench takes a colon before letters for a variable, even inside a string.
    .replace("HH24:MI", "HH24' || ':' || 'MI");
    FILING_TEMPLATE
        .replace(
            "@RATE_COUNT@",
            &rate_count("'pgbench-' || cast(:client_id as text)"),
        )
        .replace("@FACTS@", &facts)
        .replace("@CITIZEN@", &citizen)
        .replace("@ORDER_ID@", PGBENCH_ORDER_ID)
        .replace("@RECORD_EVENT@", &record)
}

/// The gateway's rate counter for the principal `subject` (SQL), counted in one of the address's
/// eight rows (`:slot`, which the scripts draw at random as the gateway does), with the check of
/// the token's issue time (now, as the bench's tokens are minted) against its revocations, and
/// of its session (one with no refresh token, as the minted tokens name) against the ended ones.
fn rate_count(subject: &str) -> String {
    let issued_at = format!(
        "{:.3}",
        chrono::Utc::now().timestamp_millis() as f64 / 1000.0
    );
    with_values(
        order_store::rate_counters::COUNT,
        &[
            &format!("'p' || ':' || {subject}"),
            "'a' || ':' || '127.0.0.1#' || cast(:slot as text)",
            subject,
            &issued_at,
            "'6d1c3f0e-8a54-4c2b-9e57-3b0f2a41c7d8'",
        ],
    )
}

/// The SQL behind `GET /api/v1/requests/{id}` as pgbench runs it, with the values the platform
/// sends as parameters sent as parameters too (`:tracking_number`, given with `-D`, and the
/// client's citizen, `'bench-citizen-' || :client_id`): the gateway's rate counter, then
/// intake's order with its events.
pub fn tracking_script() -> String {
    TRACKING_TEMPLATE
        .replace("@RATE_COUNT@", &rate_count("@SUBJECT@"))
        .replace("@SUBJECT@", &format!("'{CITIZEN}' || :client_id"))
}

/// [`tracking_script`] with `@RATE_COUNT@` for the gateway's statement and `@SUBJECT@` for the
/// citizen who tracks.
const TRACKING_TEMPLATE: &str = "\
\\set slot random(0, 7)
@RATE_COUNT@;
select o.work_order_id, o.tracking_number, o.status, o.category_id, c.name as category_name, o.title, o.description, o.lat, o.lng, o.address, o.district_id, d.name as district_name, o.grid_id, g.name as grid_name, o.contact_phone, o.channel, o.urgent, o.confidential, o.photo_urls, o.created_at, o.updated_at, p.tracking_number as merged_into_number, (ci.subject = @SUBJECT@) as own, exists (select 1 from order_followers f join citizens fc on fc.citizen_id = f.citizen_id where f.work_order_id = o.work_order_id and fc.subject = @SUBJECT@) as following, (select coalesce(json_agg(json_build_array(e.event, e.note, (extract(epoch from e.created_at) * 1000000)::int8) order by e.work_order_event_id), '[]')::text from work_order_events e where e.work_order_id = o.work_order_id) as events from work_orders o join categories c on c.category_id = o.category_id left join districts d on d.district_id = o.district_id left join grids g on g.grid_id = o.grid_id left join work_orders p on p.work_order_id = o.merged_into join citizens ci on ci.citizen_id = o.citizen_id where o.tracking_number = :tracking_number;
";

/// A plain hyper server that answers every request with `hello`, for context.
async fn plain_hyper() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                        Bytes::from_static(b"hello"),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(address)
}

/// `GET path`, each client signed in as a citizen of its own when `tokens` are given (client
/// `c` with `tokens[c % tokens.len()]`), else with no token.
fn get(path: &'static str, tokens: Option<&Signed>) -> RequestFactory {
    let signed = tokens.map(|tokens| tokens.headers.clone());
    Arc::new(move |sequence| {
        let mut request = http::Request::get(path).header("host", "bench");
        if let Some(headers) = &signed {
            let header = &headers[load::client_of(sequence) % headers.len()];
            request = request.header(http::header::AUTHORIZATION, header.clone());
        }
        request
            .body(Full::new(Bytes::new()))
            .expect("a valid request")
    })
}

/// The request every filing posts.
fn filing_body() -> Bytes {
    Bytes::from(
        serde_json::json!({
            "category": "urban.streetlight", "title": "路灯不亮", "description": "解放大道路灯连续三晚不亮",
            "location": {"lat": 32.98, "lng": 114.02, "address": "驿城区解放大道", "district": "yicheng"},
            "contact_phone": "13800138000", "channel": "app"
        })
        .to_string(),
    )
}

/// The path that tracks the order `tracking_number`, kept for the rest of the bench (the load
/// generator's requests borrow it); made once for the order the bench tracks.
fn tracking_path(tracking_number: &str) -> &'static str {
    Box::leak(format!("/api/v1/requests/{tracking_number}").into_boxed_str())
}

/// How many clients file at once, in the filing rounds.
const FILING_CLIENTS: [usize; 3] = [1, 16, 64];

/// Clients uploading photos at once: a district's agency staff on site and citizens filing.
const UPLOAD_CLIENTS: usize = 16;

/// How long the bench's tokens last: longer than the whole bench. A full run took 66 minutes,
/// and its last rows (tracking over ten million orders) were refused as `token_expired` with
/// the runtime's default of an hour.
const TOKEN_SECONDS: &str = "43200";

/// A token for `subject` in `role`, minted by the runtime with the bench's keys.
fn mint_token(
    binary: &Path,
    data: &std::path::Path,
    subject: &str,
    role: &str,
) -> anyhow::Result<String> {
    let out = Command::new(binary)
        .arg("--data-dir")
        .arg(data)
        .args(["token", "--subject", subject, "--role", role])
        .args(["--ttl-seconds", TOKEN_SECONDS])
        .output()?;
    if !out.status.success() {
        bail!(
            "minting a token for {subject} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A citizen's token for `subject`.
fn citizen_token(binary: &Path, data: &std::path::Path, subject: &str) -> anyhow::Result<String> {
    mint_token(binary, data, subject, "citizen")
}

/// The subjects of the bench's citizens: `<CITIZEN><n>` for client `n`, ours and pgbench's
/// (`:client_id`) alike.
const CITIZEN: &str = "bench-citizen-";

/// The bench's citizens, with their tokens and the `authorization` headers that carry them.
struct Signed {
    tokens: Vec<String>,
    headers: Arc<Vec<http::HeaderValue>>,
}

impl Signed {
    /// `clients` citizens' tokens, minted by the runtime with the bench's keys.
    fn mint(binary: &Path, data: &std::path::Path, clients: usize) -> anyhow::Result<Signed> {
        let tokens = (0..clients)
            .map(|client| citizen_token(binary, data, &format!("{CITIZEN}{client}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let headers = tokens
            .iter()
            .map(|token| http::HeaderValue::from_str(&format!("Bearer {token}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Signed {
            tokens,
            headers: Arc::new(headers),
        })
    }
}

/// Filing, each client as a citizen of its own.
fn filing(tokens: &Signed) -> RequestFactory {
    let body = filing_body();
    let headers = tokens.headers.clone();
    Arc::new(move |sequence| {
        let header = &headers[load::client_of(sequence) % headers.len()];
        http::Request::post("/api/v1/requests")
            .header("host", "bench")
            .header(http::header::AUTHORIZATION, header.clone())
            .header("content-type", "application/json")
            .body(Full::new(body.clone()))
            .expect("a valid request")
    })
}

/// One step along the tracking path: a request that goes as far as `what` says, and the status
/// it answers with.
struct AnatomyStep {
    what: &'static str,
    path: &'static str,
    signed_in: bool,
    status: u16,
}

/// The steps: the gateway alone; a chained call, or the token's check, added to it; then the rate
/// count with intake's lookup; then the order.
fn anatomy_steps(tracked: &'static str, unknown: &'static str) -> [AnatomyStep; 5] {
    [
        AnatomyStep {
            what: "`GET /health`, the gateway alone (no token, no chaining)",
            path: "/health",
            signed_in: false,
            status: 200,
        },
        AnatomyStep {
            what: "`GET /health/components?component=intake`, + a chained call (the hop)",
            path: "/health/components?component=intake",
            signed_in: false,
            status: 200,
        },
        AnatomyStep {
            what: "`GET /api/v1/stats/kpis` as a citizen (403), the gateway + the token's check",
            path: "/api/v1/stats/kpis",
            signed_in: true,
            status: 403,
        },
        AnatomyStep {
            what: "tracking a number no order has (404): token, rate count, chained call, intake's \
                   query answering no row",
            path: unknown,
            signed_in: true,
            status: 404,
        },
        AnatomyStep {
            what: "tracking the order (200): + its row and history, read and written as JSON",
            path: tracked,
            signed_in: true,
            status: 200,
        },
    ]
}

/// The sections `cargo xtask bench` can be limited to (all of them by default).
const SECTIONS: [&str; 9] = [
    "hello",
    "hop",
    "filing",
    "tracking",
    "anatomy",
    "notifications",
    "uploads",
    "report",
    "sweep",
];

/// What `--keep` asks for: the run's database stays, for a look at what was measured (the plans
/// of its statements over ten million orders, say); the next run drops it.
const KEEP: &str = "--keep";

/// What `--runtime <binary>` asks for: that runtime is measured in place of the profile-guided
/// build the bench makes of the tree (none is built). For paired runs on one machine: a build kept
/// from before a change against the new one, in turns; or one build with a setting changed by its
/// environment variable (`HOTLINE_INSTANCE_KEEP_RESIDENT_KIB`, `HOTLINE_LARGE_PER_LANE`,
/// `HOTLINE_THREADS`), which the bench passes on to the runtime it starts. Its rows are printed;
/// `BENCHMARKS.md`, which is of the tree's own build, is not written.
const RUNTIME: &str = "--runtime";

/// Runs every section and writes `BENCHMARKS.md`; or, given section names (e.g. `tracking` while
/// profiling), runs only those and prints their rows without touching the file. With `--keep`,
/// the run's database is kept ([`KEEP`]); with `--runtime <binary>`, that runtime is measured
/// ([`RUNTIME`]).
pub fn bench(args: &[String]) -> anyhow::Result<()> {
    let mut keep = false;
    let mut given_runtime: Option<PathBuf> = None;
    let mut only: Vec<String> = Vec::new();
    // The arguments again for the release build of the bench, which runs from the project's
    // root: a runtime named by a relative path is named by its whole path.
    let mut forwarded: Vec<String> = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == KEEP {
            keep = true;
        } else if arg == RUNTIME {
            let binary = rest
                .next()
                .with_context(|| format!("{RUNTIME} names a runtime binary"))?;
            let binary = std::fs::canonicalize(binary)
                .with_context(|| format!("{RUNTIME} {binary}: no such runtime"))?;
            forwarded.extend([RUNTIME.to_owned(), binary.display().to_string()]);
            given_runtime = Some(binary);
            continue;
        } else if SECTIONS.contains(&arg.as_str()) {
            only.push(arg.clone());
        } else {
            bail!(
                "no bench section `{arg}`; the sections are {} (and the options {KEEP}, \
                 {RUNTIME} <binary>)",
                SECTIONS.join(", ")
            );
        }
        forwarded.push(arg.clone());
    }
    crate::setup()?;
    if cfg!(debug_assertions) {
        // The load generator shares the two cores with what it measures: unoptimised, it took
        // as much CPU as the runtime under test (a quarter of all, in a perf profile of the
        // gateway hop) where pgbench's client is optimised C. So the bench runs from a release
        // build of itself.
        step("building the bench itself in release (its load generator shares the cores)");
        run(crate::cargo().args(["build", "--release", "--quiet", "--package", "xtask"]))?;
        let status = Command::new(root().join("target/release/xtask"))
            .arg("bench")
            .args(&forwarded)
            .current_dir(root())
            .status()
            .context("running the release build of the bench")?;
        if !status.success() {
            bail!("the bench failed");
        }
        return Ok(());
    }
    // What is measured: the commit the build is of, taken before it (the tree may change during
    // a run half an hour long).
    let revision = source_revision();
    crate::build_components()?;
    let (binary, measured) = match &given_runtime {
        Some(binary) => (
            binary.clone(),
            format!(
                "the runtime `{}` (given with {RUNTIME}) and the components of {revision}",
                binary.display()
            ),
        ),
        None => (crate::pgo::optimised_runtime()?, revision),
    };
    let report = run_on(&binary, &only, &measured, keep)?;
    print!("{report}");
    if only.is_empty() && given_runtime.is_none() {
        std::fs::write(root().join("BENCHMARKS.md"), &report)?;
        eprintln!("\nwrote BENCHMARKS.md");
    }
    Ok(())
}

/// Runs the sections `only` (all when empty) with the runtime `binary` (the profile-guided build
/// the bench measures or, while the counts for it are taken, the instrumented one) on a fresh
/// database of the bench's cluster, and gives the report. The database is dropped at the end
/// unless `keep`.
pub fn run_on(
    binary: &Path,
    only: &[String],
    revision: &str,
    keep: bool,
) -> anyhow::Result<String> {
    let data = root().join("target/bench-data");
    std::fs::create_dir_all(&data)?;

    step("starting a fresh database");
    let database = format!("bench_{}", std::process::id());
    let out = Command::new(binary)
        .arg("--data-dir")
        .arg(&data)
        .args(["db", "start", "--database", &database])
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("the bench cluster did not start");
    }
    let database_url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    stop_on_interrupt(Some((binary.to_owned(), data.clone())));
    let result = measure(binary, &data, &database_url, only, revision);
    stop_on_interrupt(None);
    if keep {
        step(&format!(
            "keeping the database {database}; `{} --data-dir {} db start --database {database}` \
             starts its cluster again and prints its URL (the next run drops it)",
            binary.display(),
            data.display()
        ));
    } else {
        step("dropping the bench database and stopping its cluster");
        if let Err(error) = drop_database(&database_url, &database) {
            eprintln!("xtask: could not drop {database}: {error:#}");
        }
    }
    let _ = Command::new(binary)
        .arg("--data-dir")
        .arg(&data)
        .args(["db", "stop"])
        .status();
    result
}

/// The runtime and data folder of the cluster a run has started, while it runs.
type Running = Option<(std::path::PathBuf, std::path::PathBuf)>;

/// Makes an interrupted run (Ctrl-C) stop the cluster `running` names, as a finished run does,
/// and then end; `None` once the run has stopped it itself. The runtime, pgbench and the seeding
/// it started end with the same signal (the terminal sends it to the whole process group); the
/// cluster runs in a session of its own, and would otherwise hold its memory until the next run.
/// The run's database is left for the next run to drop with any others left behind.
fn stop_on_interrupt(running: Running) {
    static RUNNING: std::sync::Mutex<Running> = std::sync::Mutex::new(None);
    static WATCHING: std::sync::Once = std::sync::Once::new();
    *RUNNING.lock().expect("never poisoned") = running;
    WATCHING.call_once(|| {
        let watcher = std::thread::Builder::new()
            .name("interrupt".into())
            .spawn(|| {
                let interrupted = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|runtime| runtime.block_on(tokio::signal::ctrl_c()));
                if !matches!(interrupted, Ok(Ok(()))) {
                    return; // no handler: Ctrl-C ends the run as it always did
                }
                if let Some((binary, data)) = RUNNING.lock().expect("never poisoned").take() {
                    eprintln!("\nxtask: interrupted; stopping the bench's cluster");
                    let _ = Command::new(binary)
                        .arg("--data-dir")
                        .arg(data)
                        .args(["db", "stop"])
                        .status();
                }
                std::process::exit(130);
            });
        if let Err(error) = watcher {
            eprintln!("xtask: Ctrl-C will leave the bench's cluster running: {error}");
        }
    });
}

/// Drops the run's database (the report's orders alone take gigabytes), and any that earlier
/// runs left behind.
fn drop_database(database_url: &str, database: &str) -> anyhow::Result<()> {
    // The parameters (the socket's folder) stay.
    let (address, parameters) = database_url
        .split_once('?')
        .map_or((database_url, String::new()), |(a, p)| (a, format!("?{p}")));
    let maintenance = address
        .rsplit_once('/')
        .map(|(server, _)| format!("{server}/postgres{parameters}"))
        .context("a database URL")?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let db = sqlx::PgPool::connect(&maintenance).await?;
            let mut stale: Vec<String> = sqlx::query_scalar(
                "select datname from pg_database where datname like 'bench\\_%'",
            )
            .fetch_all(&db)
            .await?;
            stale.retain(|name| name != database);
            stale.push(database.to_owned());
            for name in stale {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "drop database if exists \"{name}\" with (force)"
                )))
                .execute(&db)
                .await?;
            }
            anyhow::Ok(())
        })
}

fn measure(
    binary: &Path,
    data: &std::path::Path,
    database_url: &str,
    only: &[String],
    revision: &str,
) -> anyhow::Result<String> {
    let wanted = |section: &str| only.is_empty() || only.iter().any(|s| s == section);
    run(Command::new(binary).arg("--data-dir").arg(data).arg("keys"))?;
    let signing = crate::signing_variables(&data.join("keys"))?;
    let token = citizen_token(binary, data, "bench-citizen")?;
    // Each client that files or tracks is a citizen of its own, as pgbench's clients are: one
    // principal for all would make its rate-counter row a hot spot that production, where each
    // citizen files or looks now and then, never has (pgbench's tracking ran 14% faster for
    // it, measured on its own).
    let citizens = if wanted("filing") || wanted("tracking") || wanted("anatomy") {
        Signed::mint(binary, data, FILING_CLIENTS.into_iter().max().unwrap_or(1))?
    } else {
        Signed::mint(binary, data, 0)?
    };
    let manifest = bench_manifest(data)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // The fake FCM the notifications go to, in this process.
    let fcm = runtime.block_on(fakes::fcm::FakeFcm::start("127.0.0.1:0".parse()?))?;

    step("start-up: launch to first answer (the second start has a warm compile cache)");
    let (first, cold) = start_server(binary, data, &manifest, database_url, &signing, &fcm)?;
    drop(first);
    let (server, warm) = start_server(binary, data, &manifest, database_url, &signing, &fcm)?;
    let (pid, instances) = (server.child.id(), server.instances);
    std::thread::sleep(Duration::from_millis(500));
    let idle = Resident::of(pid);
    let mut rows = Rows::default();
    let address = server.address;
    // 16 clients getting `path`, for a round.
    let get16_answering =
        |address: SocketAddr, path: &'static str, tokens: Option<&Signed>, status: u16| {
            runtime.block_on(load::run(
                address,
                16,
                WARMUP,
                MEASURE,
                status,
                get(path, tokens),
            ))
        };
    let get16 = |address: SocketAddr, path: &'static str, tokens: Option<&Signed>| {
        get16_answering(address, path, tokens, 200)
    };
    // A round of `get16` with the CPU each request took in the serving process `server`,
    // measured over the timed part.
    let metered = |server: u32, at: SocketAddr, path: &'static str, cpu: &CpuPerRequest| {
        let (outcome, used) = Cpu::during(server, WARMUP, MEASURE, || get16(at, path, None))?;
        cpu.record(used, outcome.requests as f64);
        anyhow::Ok(outcome)
    };

    if wanted("hello") {
        step(
            "hello: our runtime against `wasmtime serve` 48.0.8 and a plain hyper server (16 clients)",
        );
        // Like for like: our runtime cuts every request off at its time limit (interrupting the
        // guest by epoch), and so does `wasmtime serve` given the same limit. Without a limit
        // it compiles guests without the epoch checks and runs no timers; that is measured too.
        let (our_cpu, their_cpu) = (CpuPerRequest::default(), CpuPerRequest::default());
        let limited = WasmtimeServe::start(Some(REQUEST_TIMEOUT), true)?;
        let hello = Rounds::run(
            || metered(pid, address, "/hello/", &our_cpu),
            || {
                let theirs = metered(limited.child.id(), limited.address, "/", &their_cpu)?;
                Ok((theirs.rate(), Some(theirs)))
            },
        )?;
        drop(limited);
        // Rounds of ours against `wasmtime serve` started with `timeout` and `spin_headers`, for
        // the context rows (no CPU figures).
        let against = |timeout: Option<Duration>, spin_headers: bool| {
            let theirs = WasmtimeServe::start(timeout, spin_headers)?;
            Rounds::run(
                || get16(address, "/hello/", None),
                || {
                    let outcome = get16(theirs.address, "/", None)?;
                    Ok((outcome.rate(), Some(outcome)))
                },
            )
        };
        let headerless_hello = against(Some(REQUEST_TIMEOUT), false)?;
        let unlimited_hello = against(None, true)?;
        let plain = runtime.block_on(async {
            let plain_address = plain_hyper().await?;
            load::run(plain_address, 16, WARMUP, MEASURE, 200, get("/", None)).await
        })?;
        rows.push(Row {
            what: "hello component (16 clients)".into(),
            ours: outcome_cell(hello.our_median()),
            baseline: hello.baseline_cell(&format!(
                "wasmtime serve -Wtimeout={}s, same spin-* headers",
                REQUEST_TIMEOUT.as_secs()
            )),
            ratio: hello.ratio(),
            target: "≥ 1.0",
        });
        let (ours, theirs) = (our_cpu.median().runtime, their_cpu.median().runtime);
        rows.push(Row {
            what: "hello component: CPU per request in the serving process (median round)".into(),
            ours: format!("{:.0} µs", ours * 1000.0),
            baseline: format!(
                "wasmtime serve -Wtimeout={}s: {:.0} µs",
                REQUEST_TIMEOUT.as_secs(),
                theirs * 1000.0
            ),
            ratio: format!("{:.2}", theirs / ours),
            target: "context",
        });
        rows.push(Row {
            what: "hello component, baseline without the spin-* headers (16 clients)".into(),
            ours: outcome_cell(headerless_hello.our_median()),
            baseline: headerless_hello.baseline_cell(&format!(
                "wasmtime serve -Wtimeout={}s, request as sent",
                REQUEST_TIMEOUT.as_secs()
            )),
            ratio: headerless_hello.ratio(),
            target: "context only",
        });
        rows.push(Row {
            what: "hello component, baseline without a time limit (16 clients)".into(),
            ours: outcome_cell(unlimited_hello.our_median()),
            baseline: unlimited_hello
                .baseline_cell("wasmtime serve, no limit, same spin-* headers"),
            ratio: unlimited_hello.ratio(),
            target: "context only",
        });
        rows.push(Row {
            what: "plain hyper, same bytes (16 clients)".into(),
            ours: outcome_cell(&plain),
            baseline: "—".into(),
            ratio: format!(
                "{:.2} (hello ÷ plain)",
                hello.our_median().rate() / plain.rate()
            ),
            target: "context only",
        });
    }
    if wanted("hop") {
        step("the gateway hop: gateway → chained component against one component (16 clients)");
        // `path` against hello served alone, in alternating rounds; with each side's median CPU
        // per request in the runtime, in µs.
        let against_hello = |path: &'static str| -> anyhow::Result<(Rounds, f64, f64)> {
            let (ours_cpu, hello_cpu) = (CpuPerRequest::default(), CpuPerRequest::default());
            let rounds = Rounds::run(
                || metered(pid, address, path, &ours_cpu),
                || {
                    let direct = metered(pid, address, "/hello/", &hello_cpu)?;
                    Ok((direct.rate(), Some(direct)))
                },
            )?;
            let (ours, hello) = (ours_cpu.median().runtime, hello_cpu.median().runtime);
            Ok((rounds, ours * 1000.0, hello * 1000.0))
        };
        let (hop, chained, direct) = against_hello("/health/components?component=intake")?;
        rows.push(Row {
            what: "gateway hop (16 clients)".into(),
            ours: format!("gateway → intake: {}", outcome_cell(hop.our_median())),
            baseline: hop.baseline_cell("one component"),
            ratio: hop.ratio(),
            target: "≥ 0.6",
        });
        rows.push(Row {
            what: "gateway hop: CPU per request in the runtime (median round)".into(),
            ours: format!("gateway → intake: {chained:.0} µs"),
            baseline: format!("one component: {direct:.0} µs"),
            ratio: format!("{:.2}", direct / chained),
            target: "context",
        });
        // The relay does nothing but pass a request on and its answer back: no front door can
        // cost less, so its ratio is the most the hop's can reach on this runtime.
        let (least, relayed, alone) = against_hello("/relay/")?;
        rows.push(Row {
            what: "the least a hop can cost: a relay (16 clients)".into(),
            ours: format!(
                "relay → hello: {}; CPU {relayed:.0} µs",
                outcome_cell(least.our_median())
            ),
            baseline: format!("{}; CPU {alone:.0} µs", least.baseline_cell("hello alone")),
            ratio: least.ratio(),
            target: "context (the hop's ceiling)",
        });
    }
    let mut peak_sampler = None;
    // Filing at `clients` against pgbench; `scale` names the data when it is not the bench's own.
    let filing_rows = |clients: usize, scale: &str| -> anyhow::Result<Vec<Row>> {
        let script = filing_script();
        let (rounds, cpu) = metered_rounds(
            pid,
            || {
                runtime.block_on(load::run(
                    address,
                    clients,
                    WARMUP,
                    MEASURE,
                    201,
                    filing(&citizens),
                ))
            },
            || pgbench(database_url, &script, clients),
        )?;
        let what = format!("filing ({clients} clients{scale})");
        let mut rows = vec![Row {
            what: what.clone(),
            ours: outcome_cell(rounds.our_median()),
            baseline: rounds.baseline_cell("pgbench"),
            ratio: rounds.ratio(),
            target: if clients == 16 {
                "≥ 0.5, p99 < 25 ms"
            } else {
                "≥ 0.5"
            },
        }];
        if clients == 16 {
            rows.push(cpu.row(&what));
        }
        Ok(rows)
    };
    if wanted("filing") {
        for clients in FILING_CLIENTS {
            step(&format!(
                "filing: POST /api/v1/requests against pgbench, {clients} clients"
            ));
            if clients == 64 {
                peak_sampler = Some(peak_resident(pid, WARMUP + MEASURE));
            }
            rows.extend(filing_rows(clients, "")?);
        }
    }
    let load_peak = peak_sampler.and_then(|s| s.join().ok());

    // The tracking rounds, over the bench's own orders and again over the report's history.
    let tracking_rows =
        |tracking_number: &str, path: &'static str, scale: &str| -> anyhow::Result<Vec<Row>> {
            let variables = [("tracking_number", tracking_number)];
            let (tracking, cpu) = metered_rounds(
                pid,
                || get16(address, path, Some(&citizens)),
                || pgbench_with(database_url, &tracking_script(), 16, &variables),
            )?;
            let what = format!("tracking (16 clients{scale})");
            Ok(vec![
                Row {
                    what: what.clone(),
                    ours: outcome_cell(tracking.our_median()),
                    baseline: tracking.baseline_cell("pgbench"),
                    ratio: tracking.ratio(),
                    target: "≥ 0.5",
                },
                cpu.row(&what),
            ])
        };
    let mut tracked = None;
    // Resident memory at the peak of the tracking burst and once it has settled, in KiB.
    let mut burst = None;
    // The order the tracking rounds look up: `bench-citizen` files it and each of the bench's
    // citizens follows it, so that every client tracks it as a citizen of its own who may see it
    // (pgbench's script names the same citizens).
    let order_to_track = if wanted("tracking") || wanted("anatomy") {
        let tracking_number = runtime.block_on(async {
            let client = |token: &str| {
                mobile_api::client::Client::new(format!("http://{address}"))
                    .with_token(token.to_owned())
            };
            let request: mobile_api::CreateRequest = serde_json::from_slice(&filing_body())?;
            let filed = client(&token).create_request(&request, None).await?;
            for follower in &citizens.tokens {
                client(follower).follow(&filed.tracking_number).await?;
            }
            anyhow::Ok(filed.tracking_number)
        })?;
        Some(tracking_number)
    } else {
        None
    };
    if let Some(tracking_number) = order_to_track.as_ref().filter(|_| wanted("tracking")) {
        step("tracking: GET /api/v1/requests/{tracking number} against pgbench (16 clients)");
        let tracking_number = tracking_number.clone();
        let path = tracking_path(&tracking_number);
        rows.extend(tracking_rows(&tracking_number, path, "")?);
        step(&format!(
            "memory: tracking at {BURST_CLIENTS} clients, resident memory during the burst and {} s after",
            SETTLE.as_secs()
        ));
        let sampler = peak_resident(pid, WARMUP + MEASURE);
        let outcome = runtime.block_on(load::run(
            address,
            BURST_CLIENTS,
            WARMUP,
            MEASURE,
            200,
            get(path, Some(&citizens)),
        ))?;
        let peak = sampler.join().unwrap_or_default();
        std::thread::sleep(SETTLE);
        burst = Some((peak, Resident::of(pid)));
        rows.push(Row {
            what: format!("tracking ({BURST_CLIENTS} clients): the memory burst"),
            ours: outcome_cell(&outcome),
            baseline: "—".into(),
            ratio: "—".into(),
            target: "context (the memory row gives its peak)",
        });
        tracked = Some((tracking_number, path));
    }
    if let Some(tracking_number) = order_to_track.as_ref().filter(|_| wanted("anatomy")) {
        step("anatomy: CPU per request at each step of a tracking request's path (16 clients)");
        let unknown = format!("{tracking_number}9");
        let steps = anatomy_steps(tracking_path(tracking_number), tracking_path(&unknown));
        // Round by round through the steps, so that a slow spell of the shared machine falls on
        // every step alike rather than on the one measured then.
        let cpu: Vec<CpuPerRequest> = steps.iter().map(|_| CpuPerRequest::default()).collect();
        let mut rates: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); steps.len()];
        for _ in 0..ROUNDS {
            for (i, part) in steps.iter().enumerate() {
                let tokens = part.signed_in.then_some(&citizens);
                let (outcome, used) = Cpu::during(pid, WARMUP, MEASURE, || {
                    get16_answering(address, part.path, tokens, part.status)
                })?;
                cpu[i].record(used, outcome.requests as f64);
                rates[i].push(outcome.rate());
            }
        }
        for ((part, cpu), mut rates) in steps.iter().zip(&cpu).zip(rates) {
            rates.sort_by(f64::total_cmp);
            let used = cpu.median();
            rows.push(Row {
                what: format!("anatomy (16 clients): {}", part.what),
                ours: format!(
                    "{:.0} µs runtime ({:.0} of them in the kernel), {:.0} µs PostgreSQL a request ({:.0} req/s)",
                    used.runtime * 1000.0,
                    used.runtime_kernel * 1000.0,
                    used.postgres * 1000.0,
                    rates[rates.len() / 2]
                ),
                baseline: "—".into(),
                ratio: "—".into(),
                target: "context",
            });
        }
    }
    if wanted("notifications") {
        step(&format!(
            "notifications: {NOTIFICATIONS} queued pushes delivered to the fake FCM, against a native client (8 in flight)"
        ));
        let (ours, direct) = runtime.block_on(async {
            let ours = deliver_backlog(database_url, &fcm, pid).await?;
            let direct = load::run(
                fcm.address,
                8,
                WARMUP,
                MEASURE,
                200,
                fcm_send(fcm_access_token(&fcm).await?),
            )
            .await?;
            anyhow::Ok((ours, direct))
        })?;
        rows.push(Row {
            what: format!("notifications delivered ({NOTIFICATIONS} queued)"),
            ours: format!(
                "{:.0} pushes/s; CPU a push: runtime {:.0} µs, PostgreSQL {:.0} µs",
                ours.rate,
                ours.cpu.runtime * 1e6,
                ours.cpu.postgres * 1e6
            ),
            baseline: format!("native client → fake FCM: {}", outcome_cell(&direct)),
            ratio: format!("{:.2}", ours.rate / direct.rate()),
            target: "context (no target yet)",
        });
    }
    // Resident memory at the peak of the uploads, in KiB.
    let mut upload_peak = None;
    if wanted("uploads") {
        step(&format!(
            "uploads: POST /api/v1/photos, a phone's {}-megapixel photos kept with their thumbnails ({UPLOAD_CLIENTS} clients; making the pictures first)",
            u32::from(uploads::WIDTH) * u32::from(uploads::HEIGHT) / 1_000_000
        ));
        let pictures = Arc::new(uploads::pictures(uploads::PICTURES)?);
        let native_ms = uploads::native_thumbnail_ms(&pictures)?;
        let headers = (0..UPLOAD_CLIENTS)
            .map(|client| {
                (0..uploads::CYCLES)
                    .map(|cycle| {
                        let token = citizen_token(binary, data, &uploads::uploader(client, cycle))?;
                        Ok(http::HeaderValue::from_str(&format!("Bearer {token}"))?)
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let make = uploads::factory(pictures.clone(), Arc::new(headers));
        let cpu = CpuPerRequest::default();
        let mut outcomes = Vec::with_capacity(ROUNDS);
        for round in 0..ROUNDS {
            let sampler = (round == 0).then(|| peak_resident(pid, WARMUP + MEASURE));
            let (outcome, used) = Cpu::during(pid, WARMUP, MEASURE, || {
                runtime.block_on(load::run(
                    address,
                    UPLOAD_CLIENTS,
                    WARMUP,
                    MEASURE,
                    201,
                    make.clone(),
                ))
            })?;
            anyhow::ensure!(
                outcome.errors == 0,
                "{} uploads were not kept (201) in a round",
                outcome.errors
            );
            cpu.record(used, outcome.requests as f64);
            if let Some(sampler) = sampler {
                upload_peak = sampler.join().ok();
            }
            outcomes.push(outcome);
        }
        outcomes.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
        let median = &outcomes[outcomes.len() / 2];
        let used = cpu.median();
        let average_kb =
            pictures.iter().map(Bytes::len).sum::<usize>() / pictures.len().max(1) / 1000;
        rows.push(Row {
            what: format!(
                "photo uploads ({UPLOAD_CLIENTS} clients): a phone's {}×{} JPEG ({average_kb} KB on average), kept with its thumbnail",
                uploads::WIDTH,
                uploads::HEIGHT
            ),
            ours: format!(
                "{}; CPU an upload: runtime {:.1} ms ({:.1} of it in the kernel), PostgreSQL {:.1} ms",
                outcome_cell(median),
                used.runtime,
                used.runtime_kernel,
                used.postgres
            ),
            baseline: format!("the thumbnail alone, made natively in this process: {native_ms:.1} ms"),
            ratio: format!("{:.2}", native_ms / used.runtime),
            target: "context (no target yet)",
        });
    }
    let supervisor = if wanted("report") || wanted("sweep") {
        mint_token(binary, data, "bench-supervisor", "supervisor")?
    } else {
        String::new()
    };
    if wanted("report") {
        let mut seeded = 0;
        for orders in REPORT_ORDERS {
            step(&format!(
                "the KPI report: one month by agency over {orders} orders, against pgbench (seeding {} more)",
                orders - seeded
            ));
            let (ours, theirs, (in_month, helps)) = runtime.block_on(report_at_scale(
                database_url,
                address,
                &supervisor,
                seeded,
                orders,
            ))?;
            seeded = orders;
            rows.push(Row::report(
                format!(
                    "KPI report, a month by agency ({orders} orders, {in_month} due in the month, and {helps} requests for help)"
                ),
                ours,
                theirs,
                "statement",
            ));
            step(&format!(
                "the period report: a month over {orders} orders, against pgbench"
            ));
            let month = runtime.block_on(month_report(database_url, address, &supervisor))?;
            rows.push(Row::report(
                format!(
                    "period report, a month ({orders} orders, {} filed in the month)",
                    counted(month.received)
                ),
                month.ours,
                month.theirs,
                "statements",
            ));
            step(&format!(
                "the hot spots by grid: the last 30 days over {orders} orders, against pgbench"
            ));
            let (ours, theirs) = runtime.block_on(hotspots(database_url, address, &supervisor))?;
            rows.push(Row::report(
                format!("hot spots by grid, the last 30 days ({orders} orders)"),
                ours,
                theirs,
                "statement",
            ));
            for (words, days, which) in TOPICS {
                let span = match days {
                    1 => "the last day".to_owned(),
                    days => format!("the last {days} days"),
                };
                step(&format!(
                    "the topic report ({words}): {span} over {orders} orders, against pgbench"
                ));
                let (topic, read) = runtime.block_on(topic_report(
                    database_url,
                    address,
                    &supervisor,
                    words,
                    days,
                ))?;
                rows.push(Row::report(
                    format!(
                        "topic report, {span}: {which} ({words}; {orders} orders, {} on it; {})",
                        counted(topic.received),
                        topic_read_words(read)
                    ),
                    topic.ours,
                    topic.theirs,
                    "statements",
                ));
            }
            for (words, which) in SEARCHED {
                step(&format!(
                    "staff search by words ({words}): the last 366 days over {orders} orders, against pgbench"
                ));
                let (ours, theirs, found) =
                    runtime.block_on(search(database_url, address, &supervisor, words))?;
                rows.push(Row::timed(
                    format!(
                        "staff search by words, a page of {SEARCH_PAGE}: {which} ({words}; the last 366 days, {orders} orders; {} found)",
                        counted(found)
                    ),
                    ours,
                    theirs,
                    "statements",
                    1,
                ));
            }
        }
        // How filing and tracking grow with the data: again, over the report's history.
        let scale = format!(", over {seeded} seeded orders");
        if wanted("filing") {
            step(&format!(
                "filing again, 16 clients, over the {seeded} orders"
            ));
            rows.extend(filing_rows(16, &scale)?);
        }
        if let Some((tracking_number, path)) = &tracked {
            step(&format!("tracking again over the {seeded} orders"));
            rows.extend(tracking_rows(tracking_number, path, &scale)?);
        }
    }
    if wanted("sweep") {
        let mut seeded = 0;
        for orders in SWEEP_ORDERS {
            step(&format!(
                "the deadline-warning sweep over {orders} open orders, against pgbench (seeding {} more)",
                orders - seeded
            ));
            let sweep = runtime.block_on(sweep_at_scale(database_url, address, seeded, orders))?;
            seeded = orders;
            eprintln!(
                "   {} open orders: ours {}, pgbench {:.1} ms",
                sweep.open,
                sweep.ours.cell(1),
                sweep.theirs
            );
            rows.push(Row::timed(
                format!(
                    "deadline-warning sweep, the every-minute run ({} open orders, {} of them in the last fifth of their time)",
                    sweep.open, sweep.in_window
                ),
                sweep.ours,
                sweep.theirs,
                "statement",
                1,
            ));
            let (ours, theirs) = runtime.block_on(board(database_url, address, &supervisor))?;
            rows.push(Row::timed(
                format!("supervision board by agency ({} open orders)", sweep.open),
                ours,
                theirs,
                "statements",
                1,
            ));
        }
    }
    drop(server);

    rows.push(Row {
        what: "start-up, launch to first answer".into(),
        ours: format!(
            "{:.0} ms warm ({:.0} ms first start)",
            warm.as_secs_f64() * 1000.0,
            cold.as_secs_f64() * 1000.0
        ),
        baseline: "—".into(),
        ratio: "—".into(),
        target: "< 2 s warm",
    });
    let mut memory = format!("{} idle", idle.cell());
    if let Some(peak) = load_peak {
        let _ = write!(memory, "; {} peak under filing at 64 clients", peak.cell());
    }
    if let Some(peak) = upload_peak {
        let _ = write!(
            memory,
            "; {} peak under photo uploads at {UPLOAD_CLIENTS} clients",
            peak.cell()
        );
    }
    if let Some((peak, settled)) = burst {
        let _ = write!(
            memory,
            "; {} peak under tracking at {BURST_CLIENTS} clients, {} {} s after",
            peak.cell(),
            settled.cell(),
            SETTLE.as_secs()
        );
    }
    rows.push(Row {
        what: "resident memory".into(),
        ours: memory,
        baseline: "—".into(),
        ratio: "—".into(),
        target: "< 150 MB under load",
    });

    Ok(report(&rows.0, instances, database_url, revision))
}

/// The data the KPI report is timed over: orders over the past 360 days (1×, then 10×).
const REPORT_ORDERS: [u64; 2] = [1_000_000, 10_000_000];

/// Timed reports at each size, after one untimed.
const REPORT_RUNS: usize = 5;

/// Orders `first..=last` of a year's history, filed in time order as a live system files them
/// (archived, one in fifty still open, and told when overdue, as the overdue sweep would have
/// done, and under key supervision three days after, as the escalation sweep would have; 60%
/// rated), spread over the agencies, districts, categories and channels; one in three in a grid
/// (downtown: in 驿城区); one in thirty at 幸福家园 (the search rows' words of middling frequency).
/// Each ten in turn are one citizen's (a million citizens over ten million orders), so that what
/// a statement reads of the citizens shows as a city's would. One in twenty asks another agency
/// for help (协办) an hour after dispatch, due three days after: answered in a day, or in four
/// (one in seven, late); awaited still if the order is open; and one in a hundred asked first of
/// an agency the centre took the request back from.
const REPORT_SEED: &str = "\
insert into citizens (citizen_id, subject, phone)
select ('00000000-0000-4000-b000-' || lpad(to_hex(n), 12, '0'))::uuid, 'bench-resident-' || n, null
from generate_series((@FIRST@ + 9) / 10, (@LAST@ + 9) / 10) n on conflict do nothing;
@CATALOGUE@
insert into work_orders (work_order_id, tracking_number, citizen_id, filed_by, status, category_id, title, description, address, district_id, grid_id, contact_phone, channel, created_at, updated_at, agency_id, dispatched_at, deadline_at, replied_at, contacted_at, overdue_notified_for, supervised_at, key_supervised_at)
select gen_random_uuid(), 'BENCH-' || g, ('00000000-0000-4000-b000-' || lpad(to_hex((g + 9) / 10), 12, '0'))::uuid, 'bench-report',
       case when g % 50 = 0 then 'in_progress' else 'archived' end,
       c.ids[1 + g % array_length(c.ids, 1)], '路灯不亮', '解放大道路灯连续三晚不亮',
       case when g % 30 = 0 then '驿城区幸福家园小区' else '驿城区解放大道' end,
       case when g % 3 = 0 then 'yicheng' else d.ids[1 + g % array_length(d.ids, 1)] end,
       case when g % 3 = 0 then gr.ids[1 + g / 3 % array_length(gr.ids, 1)] end, '13800138000', (array['app', 'wechat', 'phone', 'web'])[1 + g % 4],
       t.created, t.created, a.ids[1 + g % array_length(a.ids, 1)], t.created + interval '10 minutes',
       t.created + interval '7 days',
       case when g % 50 = 0 then null else t.created + (g % 9) * interval '1 day' end,
       t.created + (g % 30) * interval '1 hour',
       case when g % 50 = 0 and t.created + interval '7 days' <= now() then t.created + interval '7 days' end,
       case when g % 50 = 0 and t.created + interval '10 days' <= now() then t.created + interval '10 days' end,
       case when g % 50 = 0 and t.created + interval '10 days' <= now() then t.created + interval '10 days' end
from generate_series(@FIRST@, @LAST@) g, a, d, c, gr,
     lateral (select now() - interval '360 days' + (g - @FIRST@)::float8 / (@LAST@ - @FIRST@ + 1) * interval '360 days' as created) t;
analyze work_orders;
insert into ratings (work_order_id, round, satisfaction, solved, rated_by, channel, created_at)
select work_order_id, 1, (array['satisfied', 'basically_satisfied', 'unsatisfied'])[1 + abs(hashtext(work_order_id::text)) % 3],
       (array['yes', 'partly', 'no'])[1 + abs(hashtext(work_order_id::text) / 3) % 3], 'bench-report', 'app', replied_at + interval '1 day'
from work_orders
where filed_by = 'bench-report' and replied_at is not null and abs(hashtext(work_order_id::text)) % 5 < 3
  and substr(tracking_number, 7)::int8 between @FIRST@ and @LAST@;
analyze ratings;
@CATALOGUE@
insert into work_order_co_handlers (work_order_id, agency_id, request, asked_by, asked_at, due_at, opinion, answered_by, answered_at, cancel_reason, cancelled_by, cancelled_at)
select o.work_order_id, a.ids[1 + (s.n + k) % array_length(a.ids, 1)], '请协助核实路灯产权归属', 'bench-report', t.asked, t.asked + interval '3 days',
       case when t.answered then '已核实，属我单位管理' end, case when t.answered then 'bench-report' end,
       case when t.answered then t.asked + (case when s.n % 7 = 0 then 4 else 1 end) * interval '1 day' end,
       case when t.cancelled then '转错单位' end, case when t.cancelled then 'bench-report' end,
       case when t.cancelled then t.asked + interval '1 hour' end
from work_orders o, a, lateral (select substr(o.tracking_number, 7)::int8 as n) s,
     generate_series(1, case when s.n % 100 = 0 then 2 else 1 end) k,
     lateral (select o.dispatched_at + k * interval '1 hour' as asked, k = 1 and s.n % 100 = 0 as cancelled,
                     not (k = 1 and s.n % 100 = 0) and s.n % 50 <> 0 as answered) t
where o.filed_by = 'bench-report' and s.n % 20 = 0 and s.n between @FIRST@ and @LAST@;";

/// Seeds orders up to `orders` (from `seeded`), then times the month's report by agency through
/// the API and under pgbench; the medians in ms, and the orders and the requests for help due in
/// the month.
async fn report_at_scale(
    database_url: &str,
    address: SocketAddr,
    supervisor: &str,
    seeded: u64,
    orders: u64,
) -> anyhow::Result<(Timed, f64, (i64, i64))> {
    let db = seed_orders(database_url, REPORT_SEED, seeded, orders).await?;
    // The month that ended thirty days ago, as days in China Standard Time.
    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let to = today - chrono::TimeDelta::days(30);
    let from = to - chrono::TimeDelta::days(29);
    // (No single colons: pgbench would take `:00` for a variable.)
    let (start, end) = (
        format!("('{from}'::date::timestamp at time zone 'Asia/Shanghai')"),
        format!(
            "('{}'::date::timestamp at time zone 'Asia/Shanghai')",
            to + chrono::TimeDelta::days(1)
        ),
    );
    let in_month: (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select (select count(*) from work_orders where dispatched_at is not null \
                   and deadline_at >= {start} and deadline_at < {end}), \
                (select count(*) from work_order_co_handlers where cancelled_at is null \
                   and due_at >= {start} and due_at < {end})"
    )))
    .fetch_one(&db)
    .await?;
    let client = mobile_api::client::Client::new(format!("http://{address}"))
        .with_token(supervisor.to_owned());
    let (from, to) = (from.to_string(), to.to_string());
    let query = [
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("group_by", "agency"),
    ];
    let ours = median_ms(REPORT_RUNS, async || {
        client.kpis(&query).await?;
        Ok(())
    })
    .await?;
    let script = format!(
        "{};\n",
        order_store::kpis::report_sql("coalesce(o.agency_id, '')")
            .replace("$1", &start)
            .replace("$2", &end)
    );
    let theirs = pgbench_latency(database_url, &script, REPORT_RUNS)?;
    Ok((ours, theirs, in_month))
}

/// A timed report, and how many requests it covered.
struct MonthReport {
    ours: Timed,
    theirs: f64,
    /// None if every run was cut off.
    received: Option<i64>,
}

/// Times the period report of the calendar month 45 days ago (`GET /api/v1/supervision/report`)
/// and its statements under pgbench (the requests of the month and the month before, the orders
/// that came under key supervision in them, the early warnings of the month, the group names,
/// the city's KPIs of the month);
/// medians in ms.
async fn month_report(
    database_url: &str,
    address: SocketAddr,
    supervisor: &str,
) -> anyhow::Result<MonthReport> {
    use chrono::Datelike;
    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let date = today - chrono::TimeDelta::days(45);
    let first = date.with_day(1).context("a first of the month")?;
    let months = |n: u32| chrono::Months::new(n);
    let next = first + months(1);
    let before = first - months(1);
    // (No single colons: pgbench would take `:00` for a variable.)
    let midnight =
        |day: chrono::NaiveDate| format!("('{day}'::date::timestamp at time zone 'Asia/Shanghai')");
    let client = mobile_api::client::Client::new(format!("http://{address}"))
        .with_token(supervisor.to_owned());
    let date = date.to_string();
    let query = [("period", "month"), ("date", date.as_str())];
    let mut received = None;
    let ours = median_ms(REPORT_RUNS, async || {
        received = Some(client.period_report(&query).await?.received);
        Ok(())
    })
    .await?;
    let bounded = |statement: &str| {
        statement
            .replace("$1", &midnight(before))
            .replace("$2", &midnight(first))
            .replace("$3", &midnight(next))
    };
    let script = format!(
        "{};\n{};\n{};\n{};\n{};\n",
        bounded(order_store::oversight::RECEIVED),
        bounded(order_store::oversight::KEY_SUPERVISED),
        order_store::oversight::EARLY_WARNINGS_RAISED
            .replace("$1", &midnight(first))
            .replace("$2", &midnight(next)),
        order_store::oversight::GROUP_NAMES,
        order_store::kpis::report_sql("'city'")
            .replace("$1", &midnight(first))
            .replace("$2", &midnight(next)),
    );
    let theirs = pgbench_latency(database_url, &script, REPORT_RUNS)?;
    Ok(MonthReport {
        ours,
        theirs,
        received,
    })
}

/// Times the hot spots by grid over the last 30 days (`GET /api/v1/supervision/hotspots`) and
/// its statement under pgbench; medians in ms.
async fn hotspots(
    database_url: &str,
    address: SocketAddr,
    supervisor: &str,
) -> anyhow::Result<(Timed, f64)> {
    let client = mobile_api::client::Client::new(format!("http://{address}"))
        .with_token(supervisor.to_owned());
    let ours = median_ms(REPORT_RUNS, async || {
        client.hotspots(&[("days", "30")]).await?;
        Ok(())
    })
    .await?;
    let script = format!(
        "{};\n",
        order_store::oversight::places_sql("grid", false)
            .context("the hot spots by grid")?
            .replace("$1", "(now() - interval '60 days')")
            .replace("$2", "(now() - interval '30 days')")
            .replace("$3", "now()")
            .replace("$4", "null")
    );
    let theirs = pgbench_latency(database_url, &script, REPORT_RUNS)?;
    Ok((ours, theirs))
}

/// The topics the topic-report rows ask about, over how many days to today, and what they
/// are: a word every seeded order holds (`路灯`, the worst case: every request of the span is
/// on the topic, rated or not, and named or not as a case); over the longest span a report
/// covers, words no seeded order holds and the place one in thirty names; that place over a
/// week and over a day; and a month of one character one order in thirty holds (幸, through the
/// characters index). Each row's label says which way its statements read the requests, the
/// way PostgreSQL expects to cost least (`order_store::oversight::topic_read`): whole, through
/// the BRIN index on filing time; every order the search indexes say holds the words, of any
/// time; or those of them filed from the hour the span before begins.
const TOPICS: [(&str, i64, &str); 6] = [
    ("路灯", 30, "every request on it"),
    ("燃气泄漏", 366, "words no request holds"),
    ("幸福家园", 366, "the place one request in thirty names"),
    ("幸福家园", 7, "the place one request in thirty names"),
    ("幸福家园", 1, "the place one request in thirty names"),
    ("幸", 30, "one character one request in thirty holds"),
];

/// How a topic row's label says its requests were read.
fn topic_read_words(read: order_store::oversight::TopicRead) -> &'static str {
    use order_store::oversight::TopicRead;
    match read {
        TopicRead::Whole => "read whole",
        TopicRead::Indexes => "read through the index",
        TopicRead::IndexesFromHour => "read through the index from the hour",
    }
}

/// Times the topic report of `words` over the last `days` days through
/// `GET /api/v1/supervision/topic-report`, and its statements under pgbench (in a transaction
/// `oversight::TOPIC_SETTINGS` and `topic`; then `RECEIVED_ALL` and
/// `ALL_NAMES`); medians in ms, and the way the statements read the requests.
async fn topic_report(
    database_url: &str,
    address: SocketAddr,
    supervisor: &str,
    words: &str,
    days: i64,
) -> anyhow::Result<(MonthReport, order_store::oversight::TopicRead)> {
    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let from = today - chrono::TimeDelta::days(days - 1);
    // (No single colons: pgbench would take `:00` for a variable.)
    let midnight =
        |day: chrono::NaiveDate| format!("('{day}'::date::timestamp at time zone 'Asia/Shanghai')");
    let client = mobile_api::client::Client::new(format!("http://{address}"))
        .with_token(supervisor.to_owned());
    let mut received = None;
    let ours = median_ms(REPORT_RUNS, async || {
        received = Some(
            client
                .topic_report(&[("keywords", words), ("from", &from.to_string())])
                .await?
                .received,
        );
        Ok(())
    })
    .await?;
    let (before, start, end) = (
        midnight(from - chrono::TimeDelta::days(days)),
        midnight(from),
        midnight(today + chrono::TimeDelta::days(1)),
    );
    let on_topic = |statement: &str, words: &str| {
        statement
            .replace("$1", &before)
            .replace("$2", &start)
            .replace("$3", &end)
            .replace("$4", &format!("array['{words}']"))
            .replace("$5", "null")
    };
    let asked = words;
    let words = [words.to_owned()];
    // The statements the report ran: written the way PostgreSQL expects to cost least, of
    // those reading the span whole and (for the words as it judges them) those reading one of
    // the search indexes.
    let read = if order_store::oversight::words_indexable(&words) {
        use sqlx::{Connection, Executor};
        let mut db = sqlx::PgConnection::connect(database_url).await?;
        db.execute("begin").await?;
        db.execute(order_store::oversight::TOPIC_SETTINGS).await?;
        let judged: String = sqlx::query_scalar(order_store::oversight::JUDGED_WORDS)
            .bind(&words)
            .fetch_one(&mut db)
            .await?;
        let mut plans = Vec::new();
        for (read, judged_words) in order_store::oversight::TOPIC_PLANS {
            let given = if judged_words { judged.as_str() } else { asked };
            let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "explain {}",
                on_topic(&order_store::oversight::topic(&words, read), given)
            )))
            .fetch_all(&mut db)
            .await?;
            plans.push(plan);
        }
        db.execute("rollback").await?;
        order_store::oversight::topic_read(&plans[0], &plans[1], &plans[2])
    } else {
        order_store::oversight::TopicRead::Whole
    };
    let script = format!(
        "begin;\n{};\n{};\ncommit;\n{};\n{};\n",
        order_store::oversight::TOPIC_SETTINGS,
        on_topic(&order_store::oversight::topic(&words, read), asked),
        order_store::oversight::RECEIVED_ALL
            .replace("$1", &start)
            .replace("$2", &end),
        order_store::oversight::ALL_NAMES,
    );
    let theirs = pgbench_latency(database_url, &script, REPORT_RUNS)?;
    Ok((
        MonthReport {
            ours,
            theirs,
            received,
        },
        read,
    ))
}

/// The words the search rows look for: one no seeded order holds (every order of the span is a
/// candidate, unless an index rules them out), one every seeded order holds (a page is full
/// at once, if the orders are read newest first), and one of three pairs of characters that one
/// order in thirty holds: PostgreSQL multiplies the pairs' frequencies as if they were
/// independent, expects few orders to hold the words and reads every one that does through the
/// words index, where reading the newest until a page is full would be quicker (in a full run,
/// the filing rows' orders, none of which holds them, are the newest: then the search reads
/// those of the last days that hold them, `order_store::search::SLICES`). And one character no seeded
/// order holds: it has no pair, so only the characters index rules orders out.
const SEARCHED: [(&str, &str); 4] = [
    ("燃气泄漏", "words no order holds"),
    ("路灯", "words every order holds"),
    ("幸福家园", "words one order in 30 holds"),
    ("燃", "one character no order holds"),
];

/// The page the search rows ask for (the search's own default).
const SEARCH_PAGE: usize = 20;

/// Times a supervisor's search for `words` over the longest span a search covers (366 days,
/// today included) through `GET /api/v1/orders`, and under pgbench its statements (in one
/// transaction: `order_store::search::SEARCH_SETTINGS`, then the statements
/// `order_store::search::find` runs for the words and the span); medians in ms, and how many
/// the page holds.
async fn search(
    database_url: &str,
    address: SocketAddr,
    supervisor: &str,
    words: &str,
) -> anyhow::Result<(Timed, f64, Option<usize>)> {
    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let from = today - chrono::TimeDelta::days(365);
    let client = mobile_api::client::Client::new(format!("http://{address}"))
        .with_token(supervisor.to_owned());
    let (from_text, page) = (from.to_string(), SEARCH_PAGE.to_string());
    let mut found = None;
    let ours = median_ms(REPORT_RUNS, async || {
        found = Some(
            client
                .search_orders(&[("q", words), ("from", &from_text), ("limit", &page)])
                .await?
                .items
                .len(),
        );
        Ok(())
    })
    .await?;
    // China midnights in UTC, as the search binds them (no single colons: pgbench would take
    // `:00` for a variable).
    let midnight =
        |day: chrono::NaiveDate| format!("('{day}'::date::timestamp - interval '8 hours')");
    let end = midnight(today + chrono::TimeDelta::days(1));
    let filter = format!(
        "where o.created_at >= {} and o.created_at < {end}",
        midnight(from),
    );
    // The statements the search runs for these words over these orders (each read of the
    // newest, and the search's own statement unless a read filled the page), found by running
    // them as it does.
    let fetch = SEARCH_PAGE + 1;
    let db = sqlx::PgPool::connect(database_url).await?;
    let mut statements = vec![order_store::search::SEARCH_SETTINGS.to_owned()];
    order_store::search::find(
        &filter,
        Some(&format!("'{words}'")),
        &format!("least(now(), {end})"),
        &fetch.to_string(),
        fetch,
        async |statement| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                .fetch_all(&db)
                .await?;
            statements.push(statement);
            anyhow::Ok(rows)
        },
    )
    .await?;
    db.close().await;
    let script = format!("begin;\n{};\ncommit;\n", statements.join(";\n"));
    let theirs = pgbench_latency(database_url, &script, REPORT_RUNS)?;
    Ok((ours, theirs, found))
}

/// Times the supervision board by agency (`GET /api/v1/supervision/board`) and its statements
/// under pgbench; medians in ms.
async fn board(
    database_url: &str,
    address: SocketAddr,
    supervisor: &str,
) -> anyhow::Result<(Timed, f64)> {
    let client = mobile_api::client::Client::new(format!("http://{address}"))
        .with_token(supervisor.to_owned());
    let ours = median_ms(SWEEP_RUNS, async || {
        client.supervision_board(&[]).await?;
        Ok(())
    })
    .await?;
    let script = format!(
        "{};\n{};\n",
        order_store::oversight::board_sql("agency")
            .context("the board by agency")?
            .replace("$1", "now()"),
        order_store::oversight::WAITING_DISPATCH,
    );
    let theirs = pgbench_latency(database_url, &script, SWEEP_RUNS)?;
    Ok((ours, theirs))
}

/// Runs a seed template (`@CATALOGUE@`: the agencies, districts, categories and grids as arrays
/// `a`, `d`, `c` and `gr`; `@FIRST@..@LAST@`: the orders' numbers) for orders `seeded + 1..=orders`.
async fn seed_orders(
    database_url: &str,
    template: &str,
    seeded: u64,
    orders: u64,
) -> anyhow::Result<sqlx::PgPool> {
    use sqlx::Executor;
    let db = sqlx::PgPool::connect(database_url).await?;
    db.execute(sqlx::AssertSqlSafe(
        template
            .replace(
                "@CATALOGUE@",
                "with a as (select array_agg(agency_id order by agency_id) ids from agencies), \
                      d as (select array_agg(district_id order by district_id) ids from districts), \
                      c as (select array_agg(category_id order by category_id) ids from categories where parent_id is not null), \
                      gr as (select array_agg(grid_id order by grid_id) ids from grids)",
            )
            .replace("@FIRST@", &format!("{}::int8", seeded + 1))
            .replace("@LAST@", &format!("{orders}::int8")),
    ))
    .await?;
    // The database at rest, as after a night's maintenance: without this, autovacuum's first pass
    // over millions of new rows (minutes of a PostgreSQL process's CPU) overlaps the rounds that
    // follow and is counted in whichever side's CPU it falls on. (Not in the template: `vacuum`
    // runs outside any transaction, and a string of statements is one.)
    let started = Instant::now();
    db.execute("vacuum (analyze) work_orders, ratings, citizens, work_order_co_handlers")
        .await?;
    eprintln!(
        "   vacuumed the seeded orders in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(db)
}

/// A count a timed request answered, or `—` if the time limit cut off every run.
fn counted(count: Option<impl std::fmt::Display>) -> String {
    count.map_or_else(|| "—".to_owned(), |count| count.to_string())
}

/// A request's time over its timed runs: the median in ms, or, when the median run was cut off
/// at the runtime's time limit (`REQUEST_TIMEOUT`: the runtime answers 504), how many were.
/// One slow statement makes its row say so, not end the run.
#[derive(Clone, Copy)]
enum Timed {
    Median { ms: f64, runs: usize },
    OverLimit { cut: usize, runs: usize },
}

impl Timed {
    /// The cell of our side, the median with `decimals` decimals.
    fn cell(self, decimals: usize) -> String {
        match self {
            Timed::Median { ms, runs } => format!("{ms:.decimals$} ms (median of {runs})"),
            Timed::OverLimit { cut, runs } => format!(
                "over the {} s limit ({cut} of {runs} runs cut off)",
                REQUEST_TIMEOUT.as_secs()
            ),
        }
    }

    /// Their time over ours; over the limit, at most their time over the limit.
    fn ratio(self, theirs: f64) -> String {
        match self {
            Timed::Median { ms, .. } => format!("{:.2}", theirs / ms),
            Timed::OverLimit { .. } => {
                format!("< {:.2}", theirs / REQUEST_TIMEOUT.as_secs_f64() / 1000.0)
            }
        }
    }
}

/// The error of a request the runtime cut off at its time limit.
#[derive(Debug)]
struct CutOff;

impl std::fmt::Display for CutOff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cut off at the time limit (504)")
    }
}

impl std::error::Error for CutOff {}

/// Whether `error` is a 504 of the runtime's time limit.
fn cut_off(error: &anyhow::Error) -> bool {
    error.is::<CutOff>()
        || error
            .downcast_ref::<mobile_api::client::ClientError>()
            .is_some_and(|error| error.status() == Some(504))
}

/// Runs `once` untimed, then `runs` times timed: the median, or how many runs were cut off at
/// the time limit if the median run was (the untimed run, cold, may be: it is said so and not
/// counted).
async fn median_ms(
    runs: usize,
    mut once: impl AsyncFnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Timed> {
    match once().await {
        Err(error) if cut_off(&error) => eprintln!(
            "   the untimed first run was cut off at the {} s limit",
            REQUEST_TIMEOUT.as_secs()
        ),
        result => result?,
    }
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        match once().await {
            Ok(()) => times.push(started.elapsed().as_secs_f64() * 1000.0),
            Err(error) if cut_off(&error) => times.push(f64::INFINITY),
            Err(error) => return Err(error),
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    Ok(if median.is_finite() {
        Timed::Median { ms: median, runs }
    } else {
        Timed::OverLimit {
            cut: times.iter().filter(|time| time.is_infinite()).count(),
            runs,
        }
    })
}

/// The open orders the sweep section seeds (then 10× as many).
const SWEEP_ORDERS: [u64; 2] = [100_000, 1_000_000];

/// Timed sweeps, after one untimed.
const SWEEP_RUNS: usize = 5;

/// Open orders dispatched over the last twenty days, with time limits of 3, 5, 10 and 15 days (so
/// a good part is overdue, as in a real backlog); those already in the last fifth of their time
/// were warned, as the every-minute sweep would have done, but for one in ten of the overdue ones
/// (passed their deadline unwarned: from before warnings existed, or while the sweep was down);
/// the overdue ones were told they are, as the overdue sweep would have done, and those three days
/// overdue are under key supervision, as the escalation sweep would have put them.
const SWEEP_SEED: &str = "\
insert into citizens (citizen_id, subject, phone) values ('00000000-0000-0000-0000-0000000000b2', 'bench-sweep-citizen', null) on conflict do nothing;
@CATALOGUE@
insert into work_orders (work_order_id, tracking_number, citizen_id, filed_by, status, category_id, title, description, address, district_id, contact_phone, channel, created_at, updated_at, agency_id, dispatched_at, deadline_at, warned_deadline, overdue_notified_for, supervised_at, key_supervised_at)
select gen_random_uuid(), 'SWEEP-' || g, '00000000-0000-0000-0000-0000000000b2', 'bench-sweep',
       (array['dispatched', 'signed', 'in_progress'])[1 + g % 3],
       c.ids[1 + g % array_length(c.ids, 1)], '路灯不亮', '解放大道路灯连续三晚不亮', '驿城区解放大道',
       d.ids[1 + g % array_length(d.ids, 1)], '13800138000', 'app',
       t.dispatched - interval '10 minutes', t.dispatched, a.ids[1 + g % array_length(a.ids, 1)], t.dispatched, t.deadline,
       case when now() >= t.dispatched + (t.deadline - t.dispatched) * 0.8 and (t.deadline > now() or g % 10 > 0) then t.deadline end,
       case when t.deadline <= now() then t.deadline end,
       case when t.deadline + interval '3 days' <= now() then t.deadline + interval '3 days' end,
       case when t.deadline + interval '3 days' <= now() then t.deadline + interval '3 days' end
from generate_series(@FIRST@, @LAST@) g, a, d, c,
     lateral (select now() - interval '20 days' + (g - @FIRST@)::float8 / (@LAST@ - @FIRST@ + 1) * interval '20 days' as dispatched) s,
     lateral (select s.dispatched, s.dispatched + (array[3, 5, 10, 15])[1 + g % 4] * interval '1 day' as deadline) t;
analyze work_orders;";

struct Sweep {
    ours: Timed,
    theirs: f64,
    /// Open orders in the database (the report section's, when it ran, among them).
    open: i64,
    /// Open orders in the last fifth of their time, not yet overdue.
    in_window: i64,
}

/// Seeds open orders up to `orders` (from `seeded`), then times the deadline-warning sweep as the
/// schedule calls it (`POST /internal/deadline-warnings` on the notifications component) and the
/// same statement under pgbench; medians in ms.
async fn sweep_at_scale(
    database_url: &str,
    address: SocketAddr,
    seeded: u64,
    orders: u64,
) -> anyhow::Result<Sweep> {
    let db = seed_orders(database_url, SWEEP_SEED, seeded, orders).await?;
    let (open, in_window): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where deadline_at > now() \
                and now() >= dispatched_at + (deadline_at - dispatched_at) * 0.8) \
         from work_orders where status in ('dispatched', 'signed', 'in_progress')",
    )
    .fetch_one(&db)
    .await?;
    let ours = median_ms(SWEEP_RUNS, async || {
        let request = http::Request::post("/internal/deadline-warnings")
            .header("host", "bench")
            .body(Full::new(Bytes::new()))?;
        let status = load::run_once(address, request).await?;
        if status == 504 {
            return Err(CutOff.into());
        }
        if status != 200 {
            bail!("the sweep answered {status}");
        }
        Ok(())
    })
    .await?;
    let script = format!(
        "{};\n",
        order_store::outbox::deadline_warnings_statement()
            .replace("$1", "500")
            // pgbench takes a colon before letters for a variable, even inside a string.
            .replace("HH24:MI", "HH24' || ':' || 'MI")
    );
    let theirs = pgbench_latency(database_url, &script, SWEEP_RUNS)?;
    Ok(Sweep {
        ours,
        theirs,
        open,
        in_window,
    })
}

/// `pgbench -M prepared` running `script` `transactions` times on one connection: the average
/// latency in ms.
fn pgbench_latency(database_url: &str, script: &str, transactions: usize) -> anyhow::Result<f64> {
    let transactions = transactions.to_string();
    let args = ["-c", "1", "-t", transactions.as_str()];
    figure(
        &run_pgbench(database_url, script, &args)?,
        "latency average = ",
        3,
    )
}

/// How many pushes the delivery benchmark queues.
const NOTIFICATIONS: usize = 10_000;

/// Queues `NOTIFICATIONS` pushes to fifty phones, not yet due; makes them due at once and wakes
/// the deliverer; returns pushes per second until the fake FCM has them all.
/// How fast the backlog went, and the CPU a push took.
struct Delivered {
    rate: f64,
    cpu: Cpu,
}

async fn deliver_backlog(
    database_url: &str,
    fcm: &fakes::fcm::FakeFcm,
    runtime_pid: u32,
) -> anyhow::Result<Delivered> {
    use sqlx::Executor;
    let db = sqlx::PgPool::connect(database_url).await?;
    db.execute(sqlx::AssertSqlSafe(format!(
        "insert into devices (subject, platform, token) \
             select 'bench-staff', 'fcm', 'bench-phone-' || g from generate_series(1, 50) g; \
         insert into notifications (recipient, kind, title, body, dedupe_key) \
             select 'bench-staff', 'task_new', '新工单', '新派工单 ZMD-20261129-' || lpad(g::text, 6, '0') || '：路灯不亮，请在 12月9日 17:30 前办结。', \
                    'bench:' || g from generate_series(1, {NOTIFICATIONS}) g; \
         insert into notification_deliveries (notification_id, channel, device_id, address, dedupe_key, next_attempt_at) \
             select n.notification_id, 'fcm', d.device_id, d.token, n.dedupe_key || ':' || d.device_id, now() + interval '1 hour' \
             from notifications n join devices d \
               on d.token = 'bench-phone-' || (1 + split_part(n.dedupe_key, ':', 2)::int % 50) \
             where n.dedupe_key like 'bench:%';"
    )))
    .await?;
    let before = fcm.delivered_count();
    let cpu = Cpu::now(runtime_pid);
    let started = Instant::now();
    db.execute(
        "update notification_deliveries set next_attempt_at = now() where status = 'pending'; \
         select pg_notify('notifications_queued', '');",
    )
    .await?;
    while fcm.delivered_count() - before < NOTIFICATIONS {
        if started.elapsed() > Duration::from_secs(300) {
            bail!(
                "only {} of {NOTIFICATIONS} pushes arrived in five minutes",
                fcm.delivered_count() - before
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let used = Cpu::now(runtime_pid).since(cpu);
    let pushes = NOTIFICATIONS as f64;
    Ok(Delivered {
        rate: pushes / elapsed.as_secs_f64(),
        cpu: Cpu {
            runtime: used.runtime / pushes,
            runtime_kernel: used.runtime_kernel / pushes,
            postgres: used.postgres / pushes,
            pgbench: 0.0,
        },
    })
}

/// An access token from the fake's OAuth endpoint, granted as the platform gets one.
async fn fcm_access_token(fcm: &fakes::fcm::FakeFcm) -> anyhow::Result<String> {
    let account: push::fcm::ServiceAccount =
        serde_json::from_str(&fakes::fcm::FakeFcm::service_account())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let assertion = push::fcm::assertion(&account, now).map_err(anyhow::Error::msg)?;
    let answer = reqwest_free_post(
        fcm.address,
        "/token",
        "application/x-www-form-urlencoded",
        push::fcm::token_form(&assertion),
    )
    .await?;
    let token: push::AccessToken = serde_json::from_str(&answer)?;
    Ok(token.access_token)
}

/// One POST over a fresh HTTP/1.1 connection; the answer's body.
async fn reqwest_free_post(
    address: SocketAddr,
    path: &str,
    content_type: &str,
    body: String,
) -> anyhow::Result<String> {
    use http_body_util::BodyExt;
    let stream = tokio::net::TcpStream::connect(address).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = http::Request::post(path)
        .header("host", "bench")
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))?;
    let response = sender.send_request(request).await?;
    Ok(String::from_utf8_lossy(&response.into_body().collect().await?.to_bytes()).into_owned())
}

/// The same message the platform sends, posted straight to the fake FCM.
fn fcm_send(access_token: String) -> RequestFactory {
    let path = push::fcm::send_path(fakes::fcm::PROJECT_ID);
    Arc::new(move |i| {
        let data = [("dedupe_key", format!("direct:{i}"))];
        let body = push::fcm::send_body(
            &format!("bench-phone-{}", 1 + i % 50),
            &push::Message {
                title: "新工单",
                body: "新派工单 ZMD-20261129-000001：路灯不亮，请在 12月9日 17:30 前办结。",
                data: &data,
                dedupe_key: "direct",
            },
        );
        http::Request::post(path.as_str())
            .header("host", "bench")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {access_token}"))
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("a valid request")
    })
}

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}

/// The commit the working tree is at, and whether it has changes beyond it, for the report:
/// ``commit `180ebb7` `` or ``commit `180ebb7` with uncommitted changes``.
fn source_revision() -> String {
    let commit = command_line("git", &["rev-parse", "--short", "HEAD"]);
    if commit.is_empty() {
        return "a tree outside git".into();
    }
    let changed = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(root())
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    if changed {
        format!("commit `{commit}` with uncommitted changes")
    } else {
        format!("commit `{commit}`")
    }
}

/// The report: the table, then how each row was measured. `database_url` says how the runtime
/// and pgbench reach PostgreSQL (both by the same URL); `revision`, what was built.
fn report(
    rows: &[Row],
    instances: Option<Instances>,
    database_url: &str,
    revision: &str,
) -> String {
    let transport = if database_url.contains("?host=/") {
        "over its Unix socket (the private cluster's URL names it)"
    } else {
        "over TCP"
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let pictures = uploads::PICTURES;
    let mut text = String::new();
    let _ = writeln!(text, "# Benchmarks\n");
    let _ = writeln!(
        text,
        "Written by `cargo xtask bench` on {}, from {revision}. Client, runtime and PostgreSQL share the machine: {cores} cores ({cpu}). \
         Each figure is beside its baseline, measured in the same run: ours and the baseline alternate for {ROUNDS} \
         rounds of {} s (after {} s of warm-up each); each side's median round is shown, and the ratio is the median of \
         the rounds' own ratios (ours over the baseline run right after it), each round's listed; \
         closed-loop clients on keep-alive HTTP/1.1 connections (the bench's own load generator, a release \
         build, in this process); every latency recorded.\n",
        command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        MEASURE.as_secs(),
        WARMUP.as_secs()
    );
    let _ = writeln!(
        text,
        "| what | ours | baseline | ratio | target |\n|---|---|---|---|---|"
    );
    for row in rows {
        let _ = writeln!(text, "{}", row.line());
    }
    let _ = writeln!(
        text,
        "\nVersions: {}; {}; wasmtime 48.0.8; release build of `hotline`, profile-guided (built instrumented, run under the bench's own hop, tracking, filing and notification loads on a fresh database, and built again with the counts: `cargo xtask release`, `xtask/src/pgo.rs`), fat LTO, one codegen unit ({}; memory from mimalloc 3). The runtime and pgbench reach PostgreSQL by the same URL, {transport}, with the same server settings (`{PGBENCH_OPTIONS}`: the runtime's connections compile no statement to machine code, `crates/hotline/src/postgres.rs`: over ten million orders, the month's KPI report took 3.2 to 5.4 s in psql compiled, 2.7 to 2.8 s not).\n\n\
         The filing baseline is `pgbench -M prepared -c N -j 2` running the SQL one filing runs (the gateway's rate \
         counter; then intake's, the platform's own statements: what the database says of the request in one \
         statement (the place the coordinates fall in, the names, the dispatch catalogue's choice), and in one \
         transaction the citizen lookup-or-insert with the serial, the order, and its first event with the \
         notifications it calls for; pgbench makes the order's id from the serial; each client, ours and pgbench's, \
         files as a citizen of its own), and the tracking baseline the rate counter and the \
         query behind `GET /api/v1/requests/{{id}}` (the order with its history):\n\n```sql\n{}```\n\n\
         ```sql\n{}```\n\n\
         In the tracking script, the values the platform sends as parameters are pgbench variables (`tracking_number` \
         given with `-D`; the citizen, `'bench-citizen-' || :client_id`), so that pgbench too sends them as \
         parameters and PostgreSQL plans the same parameterised statements. Every tracking client, ours and \
         pgbench's, is a citizen of its own (`bench-citizen-<client>`) who follows the one order tracked (filed \
         by another), so that each counts in its own rate-counter row, as citizens do in production. pgbench logs every transaction's time as its client saw it \
         (`-l`); the baseline cells give its p50 and p99 over the same span as the CPU rows, so that a latency \
         target reads against the database's own tail. With N closed-loop clients each waiting for its answer, the \
         mean latency is N ÷ throughput (Little's law), and on this machine the runtime and PostgreSQL share the \
         cores: at 16 clients, a p99 under 25 ms asks for most of pgbench's own throughput, which is bounded by \
         PostgreSQL's CPU for the same statements.\n\n\
         The hello baseline is `wasmtime serve` from wasmtime-cli built with its own `fastest-runtime` profile \
         (LTO, one codegen unit: the settings our release build has, less the profile guidance, which wasmtime-cli's build does not offer; before ours had it, this ratio read 1.14 and 1.22 in the last two full runs), given the same per-request time limit as our runtime ({}s, \
         `-Wtimeout`), so that both interrupt guests by epoch and time each request, and the same request: our \
         runtime hands every request the seven `spin-*` headers Spin's HTTP trigger defines (`spin-full-url`, \
         `spin-path-info`, `spin-client-addr`, ...), and `wasmtime serve` is told to add the same seven with the \
         values ours sends for this route (`-H`), so that the guest reads in the same headers from both. The rows \
         below it are for context: `wasmtime serve` with the request as the client sent it (what the seven \
         headers cost: the guest copies each in and parses it), and without a time limit. One difference stays: \
         like Spin, our runtime makes the request's URI absolute (scheme, and authority from `Host`), where \
         `wasmtime serve` passes it on relative; measured in a paired run on one process, 1–2%.\n\n\
         The gateway hop is `GET /health/components?component=intake` (the gateway asks intake's `/health` by \
         service chaining and answers with what it heard: its own request id, security headers and JSON, and \
         no token, rate count or database) against `GET /hello/` served by the hello component alone. The relay \
         row puts beside it the least a component in front of another can do: `tests/relay` reads nothing of \
         the request, sends `GET /hello/` to hello by service chaining and returns hello's answer as it came; \
         no front door costs less, so its ratio is as far as the hop's can go on this runtime.\n\n\
         The anatomy rows take a tracking request apart: five requests, each going one part further along \
         its path (the gateway alone; a chained call; the token's check, refused by role before anything \
         else; the rate count and intake's lookup of a number no order has; the order itself), in \
         {ROUNDS} rounds that go through the five in turn, each step's median round's CPU per request. \
         The difference between two rows is what the part between them costs; on this machine, what \
         the runtime spends beside PostgreSQL's CPU for the same \
         statements is what sets the tracking ratio.\n\n\
         The CPU rows divide the CPU time (user and system, from `/proc/<pid>/stat`) the processes used over the \
         timed part of each round by the requests answered in it: `runtime` is our runtime's process (all its \
         threads; the part of it the kernel spent on the runtime's behalf, `stime`, is given beside it: system \
         calls, wake-ups and page faults), `PostgreSQL` every PostgreSQL server process, `pgbench` pgbench's \
         client (over its run less a tenth of a second at each end), and for hello the serving process alone. Our load generator's CPU is in \
         none of them. Throughput on this shared machine moves by a tenth or more between runs; CPU per request \
         moves less, and says where the time goes.\n\n\
         The sweep rows time `POST /internal/deadline-warnings` on the notifications component (the bench's manifest \
         gives the schedules' routes a public trigger so that it can call them) in the steady state the every-minute \
         schedule keeps: the orders already in the last fifth of their time were warned; {SWEEP_RUNS} runs after one \
         untimed, median; the baseline is `pgbench -M prepared -c 1 -t {SWEEP_RUNS}` running the same statement \
         (`order_store::outbox::deadline_warnings_statement`). The open orders were dispatched over the last twenty \
         days with time limits of 3 to 15 days; when the report section ran first, its history is in the database \
         too. The supervision board rows time `GET /api/v1/supervision/board` (by agency: every open order counted, \
         one statement, and the orders waiting for dispatch) over the same open orders; the baseline runs its two \
         statements (`order_store::oversight::board_sql(\"agency\")`, `WAITING_DISPATCH`) under pgbench.\n\n\
         The notifications row queues {NOTIFICATIONS} pushes to 50 phones in the database, makes them due at once and \
         times until the fake FCM (in the bench process, HTTP/1.1) has them all: the deliverer's claims, sends (16 at a \
         time per run) and updates; the CPU a push is the runtime's and PostgreSQL's over that time, divided by the \
         pushes. Its baseline is a native closed-loop client posting the same message to the same \
         fake with 8 in flight.\n\n\
         The photo uploads row has {UPLOAD_CLIENTS} clients post a phone's full-size photos (12 megapixels, baseline \
         JPEG, under the 2 MiB an upload may be; {pictures} distinct pictures each client sends in turn, each pass as a \
         citizen who has not sent them, so that every upload is kept, 201, and its thumbnail made: the runtime reads the \
         body whole, the gateway checks it, intake strips its metadata, hashes it, checks the day's limit, decodes it \
         at an eighth of its size and keeps both in one statement). Rounds as above, the median round's; the CPU an \
         upload is the runtime's and PostgreSQL's over the timed part. For context, the same thumbnails made natively \
         in the bench's process, one at a time (the median picture), and the ratio of that to the runtime's CPU an \
         upload: what the sandbox, the hops and the copies add to the decode. Its peak resident memory is in the memory \
         row.\n\n\
         The KPI report rows seed a year of orders filed in time order (1M, then 9M more; one in fifty still open, 60% \
         rated; each ten in turn one citizen's, a million citizens at 10M; one in twenty with a request for help of \
         another agency (协办), one in a hundred with a second, the first taken back; after each seeding, and the sweep's, the tables are vacuumed and analysed, as a night's maintenance \
         leaves them, so that autovacuum's pass over the new rows does not run in the timed rounds) and time \
         `GET /api/v1/stats/kpis` for one month grouped by agency, one request at a time; the baseline is \
         `pgbench -M prepared -c 1 -t 5` running the same statement (`order_store::kpis::report_sql`) with the month's \
         bounds written in. The period report rows time `GET /api/v1/supervision/report?period=month` for the \
         calendar month 45 days back (the requests filed in it and the month before, through the BRIN index on filing \
         time, the orders that came under key supervision in both months, the early warnings of the month, the top-level \
         categories' and districts' names, and the city's KPIs of the month); the baseline runs the same five statements \
         (`order_store::oversight::RECEIVED`, `KEY_SUPERVISED`, `EARLY_WARNINGS_RAISED`, `GROUP_NAMES`, \
         `order_store::kpis::report_sql`) \
         under pgbench. The hot-spot rows time `GET /api/v1/supervision/hotspots?days=30` (by grid; one seeded \
         order in three is in one of the demo grids downtown): the requests of the last 30 days and the 30 before \
         by place and category, and the open orders by place through their partial index; the baseline runs \
         `order_store::oversight::places_sql` under pgbench. The topic-report rows time \
         `GET /api/v1/supervision/topic-report?keywords=...&from=...`: 路灯 over the last 30 days (every seeded order holds the \
         word, so every request of the span is on the topic: the worst case), and over the longest span a report \
         covers (366 days) words no seeded order holds (燃气泄漏) and the place one in thirty names (幸福家园, in the address); \
         that place over the last 7 days and over the last day; and one character one in thirty holds (幸) over the last \
         30 days. Each row says how its requests were read, the way PostgreSQL expected to cost least \
         (`order_store::oversight::topic_read`): whole, through the BRIN index on filing time; through the index, every \
         order the words or characters index says holds the words, of any time; or through the index from the hour, only \
         those filed from the hour the span before begins (the indexes hold each order's hour). PostgreSQL judges the \
         place by its rarest pair of characters (`order_store::oversight::JUDGED_WORDS`), where it would multiply the \
         pairs' frequencies. The baseline is its statements \
         (`order_store::oversight::TOPIC_SETTINGS` and `topic` in a transaction, `RECEIVED_ALL`, `ALL_NAMES`) under pgbench. The search rows time \
         a supervisor's `GET /api/v1/orders?q=...&from=...` over the longest span a search covers (366 days), a page of \
         {SEARCH_PAGE}: for words no seeded order holds (燃气泄漏: unless an index rules them out, every order of the span is \
         read), for words every one holds (路灯: read newest first, a page is full at once) and for words one in thirty holds \
         (幸福家园, in the address: three pairs of characters, whose frequencies PostgreSQL multiplies as if independent), and for one \
         character no seeded order holds (燃: no pair, so only the characters index rules orders out); the baseline runs its \
         statements (`order_store::search::SEARCH_SETTINGS`, then those `search::find` runs for the words: reads of the newest \
         orders, `search::newest_page`, and unless one filled the page, for words found rarely among them the orders of the \
         last day holding them (`search::slice`, through the hour each order was filed in, which the indexes hold), then \
         `search::held_many`, if that found many those of the last 8 and 64 days, and unless one filled the page `search::held_page`, \
         else `search::page`, with `search::words_clause`) in \
         one transaction under pgbench. Each of these rows' requests runs under the runtime's time limit ({}s, as every \
         request does): a row whose median run was cut off at it says so, and how many of its runs were, rather than \
         ending the run; an untimed first run cut off (cold) is not counted. The runtime runs routing's schedule meanwhile, as it does in service: what was \
         written to the words and characters indexes (the filing rows' orders) is merged into them every ten seconds \
         (`merge_search_pending_lists`); what the seeding wrote is merged by the vacuum after it. After them, filing at 16 clients and tracking run again, the same way, with those 10M \
         orders in the database: how the two grow with the data.\n\n\
         The memory row reads the runtime's resident memory (`VmRSS`, the resident set) every 50 ms: idle after start-up; at its peak \
         under filing at 64 clients; at its peak under photo uploads at {UPLOAD_CLIENTS} clients (the bodies read \
         whole, and for the photo each lane serves at a time, `--large-per-lane`, two instances and intake's decode); and in a burst of {BURST_CLIENTS} clients tracking one order for {} s (as the bench's {} citizens, in turn), at its \
         peak and again {} s after the burst ends, when what stays resident is what the runtime keeps (freed \
         instance slots, pools, caches). Each live request holds two instances (the gateway's and the one it \
         chains to), so the burst is where memory per instance shows. Beside each figure, in brackets, the \
         proportional set size (`Pss` in `/proc/<pid>/smaps_rollup`, read at the same times): the resident set \
         counts a page once for each mapping of it, and each live instance maps its component's data image, so \
         the same pages count once for each instance; the proportional set size counts a page shared by n \
         mappings 1/n in each, which is what the runtime costs the machine.\n",
        command_line("rustc", &["--version"]),
        command_line("pgbench", &["--version"]),
        instances.map_or_else(
            || "instance settings not known: the runtime did not say them".to_owned(),
            |instances| instances.describe(cores)
        ),
        filing_script(),
        tracking_script(),
        REQUEST_TIMEOUT.as_secs(),
        REQUEST_TIMEOUT.as_secs(),
        (WARMUP + MEASURE).as_secs(),
        FILING_CLIENTS.into_iter().max().unwrap_or(1),
        SETTLE.as_secs(),
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runtime's line about its instances is read back as it prints it (`main.rs`, before
    /// the serving line), and no other line is taken for it.
    #[test]
    fn the_instance_settings_are_read_from_the_runtimes_line() {
        let line = "hotline: 2 lanes; an instance serves up to 1024 requests; \
                    a freed instance keeps 0 KiB resident";
        let instances = Instances::from_line(line);
        assert_eq!(
            instances,
            Some(Instances {
                lanes: 2,
                reuse: 1024,
                keep_kib: 0
            })
        );
        let described = instances.map(|i| i.describe(2)).unwrap_or_default();
        assert!(described.contains("up to 1024 requests"), "{described}");
        assert!(described.contains("one per core"), "{described}");
        assert!(
            described.contains("given back to the kernel"),
            "{described}"
        );
        let kept = Instances::from_line(
            "hotline: 1 lanes; an instance serves up to 128 requests; \
             a freed instance keeps 1024 KiB resident",
        );
        let described = kept.map(|i| i.describe(2)).unwrap_or_default();
        assert!(
            described.contains("1024 KiB of a freed instance's memory kept"),
            "{described}"
        );
        assert!(described.contains("as the environment set"), "{described}");
        for other in [
            "hotline: serving hotline on http://127.0.0.1:3000",
            "hotline: metrics at http://127.0.0.1:9300/metrics",
            "hotline: 2 lanes; up to 1024 requests",
            "hotline: 2 lanes; 1024 requests; 0 KiB; 5 more",
        ] {
            assert_eq!(Instances::from_line(other), None, "{other}");
        }
    }

    /// Each anatomy step goes as far as its row says: the refused one is refused by role (a
    /// citizen may not read the KPI report) and the tracking ones reach intake with a token.
    #[test]
    fn the_anatomy_steps_go_as_far_as_their_rows_say() {
        use mobile_api::routes::{Lookup, lookup};
        let steps = anatomy_steps(
            "/api/v1/requests/ZMD-20261201-000001",
            "/api/v1/requests/ZMD-20261201-0000019",
        );
        for part in &steps {
            let route = lookup("GET", part.path.split('?').next().unwrap_or(part.path));
            match (part.status, part.signed_in) {
                (403, true) => {
                    let Lookup::Found(route) = route else {
                        panic!("no route for {}", part.path)
                    };
                    assert!(!route.roles.contains(&"citizen"), "{}", part.path);
                }
                (_, true) => {
                    let Lookup::Found(route) = route else {
                        panic!("no route for {}", part.path)
                    };
                    assert_eq!(route.component, "intake", "{}", part.path);
                    assert!(route.roles.contains(&"citizen"), "{}", part.path);
                }
                // The gateway's own routes (`/health`, `/health/components`) are not in the table.
                (_, false) => assert_eq!(route, Lookup::NoSuchPath, "{}", part.path),
            }
        }
    }

    /// Every parameter of the platform's statements is given a value in the pgbench script.
    #[test]
    fn the_filing_script_leaves_no_parameter_unfilled() {
        let script = filing_script();
        if let Ok(path) = std::env::var("HOTLINE_PRINT_FILING_SCRIPT") {
            std::fs::write(path, &script).expect("writing the script");
        }
        let unfilled: Vec<&str> = script
            .match_indices('$')
            .filter(|(i, _)| script[i + 1..].starts_with(|c: char| c.is_ascii_digit()))
            .map(|(i, _)| &script[i..(i + 3).min(script.len())])
            .collect();
        assert!(unfilled.is_empty(), "unfilled parameters: {unfilled:?}");
        assert!(
            !script.contains('@'),
            "a placeholder of the template is left"
        );
    }

    #[test]
    fn the_tracking_script_leaves_no_parameter_unfilled() {
        let script = tracking_script();
        assert!(
            !script.contains('$') && !script.contains('@'),
            "a parameter or placeholder is left: {script}"
        );
    }

    /// The per-thread logs are read together, the first and last tenth of a second are left out,
    /// failed transactions are counted apart, and the logs are removed.
    #[test]
    fn pgbench_logs_give_the_latencies_of_the_timed_span() {
        let dir = std::env::temp_dir().join(format!("bench-log-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let prefix = dir.join("log");
        // Transactions end at 100.05 s (the first: it began 1 ms before, so it is left out),
        // 100.5, 101.0 (failed), 101.5 and 102.0 s (the last: left out).
        std::fs::write(
            dir.join("log.7"),
            "0 0 1000 0 100 50000\n0 1 3000 0 100 500000\n0 2 failed 0 101 0\n",
        )
        .expect("writing a log");
        std::fs::write(
            dir.join("log.7.1"),
            "1 0 2000 0 101 500000\n1 1 9000 0 102 0\n",
        )
        .expect("writing a log");
        std::fs::write(dir.join("other.7"), "not a log").expect("writing another file");
        let (latencies, errors) = pgbench_latencies(&prefix).expect("reading the logs");
        assert_eq!(latencies, vec![2000, 3000]);
        assert_eq!(errors, 1);
        assert!(!dir.join("log.7").exists() && !dir.join("log.7.1").exists());
        assert!(dir.join("other.7").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn values_replace_the_highest_numbers_first() {
        let ten: Vec<String> = (1..=10).map(|n| format!("v{n}")).collect();
        let ten: Vec<&str> = ten.iter().map(String::as_str).collect();
        assert_eq!(with_values("$1 $10", &ten), "v1 v10");
    }

    /// Runs `median_ms` over answers in turn (`None`: a run cut off at the time limit, by the
    /// runtime's 504 or the sweep's own error; `Some(ms)`: a run that took about that long).
    fn timed(answers: &[Option<u64>]) -> anyhow::Result<Timed> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        let mut answers = answers.iter().enumerate();
        runtime.block_on(median_ms(answers.len() - 1, async || {
            match answers.next().context("more runs than answers")? {
                (_, Some(ms)) => {
                    tokio::time::sleep(Duration::from_millis(*ms)).await;
                    Ok(())
                }
                (n, None) if n % 2 == 0 => Err(CutOff.into()),
                (_, None) => Err(mobile_api::client::ClientError::Unexpected {
                    status: 504,
                    body: String::new(),
                }
                .into()),
            }
        }))
    }

    /// A cold first run cut off is not counted; runs cut off count as the slowest, and the row
    /// says how many were when the median run is among them; any other error ends the row.
    #[test]
    fn runs_cut_off_at_the_time_limit_are_counted_not_fatal() {
        let Ok(Timed::Median { ms, runs: 3 }) = timed(&[None, Some(1), None, Some(30)]) else {
            panic!("a median of the runs that finished");
        };
        assert!(
            (30.0..1000.0).contains(&ms),
            "the slower finished run: {ms}"
        );
        let Ok(Timed::OverLimit { cut: 2, runs: 3 }) = timed(&[Some(1), None, Some(1), None])
        else {
            panic!("the median run was cut off");
        };
        assert_eq!(
            Timed::OverLimit { cut: 2, runs: 3 }.cell(0),
            "over the 10 s limit (2 of 3 runs cut off)"
        );
        assert_eq!(Timed::OverLimit { cut: 2, runs: 3 }.ratio(2500.0), "< 0.25");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let failed = runtime.block_on(median_ms(1, async || {
            Err(mobile_api::client::ClientError::Unexpected {
                status: 500,
                body: String::new(),
            }
            .into())
        }));
        assert!(failed.is_err(), "a 500 ends the row");
    }
}
