//! `hotline`: the edge runtime of the 12345 hotline platform.
//!
//! It runs a Spin application (`spin.toml`, manifest v2) as is on wasmtime: the HTTP trigger with
//! private routes and service chaining, `spin:postgres` on a sqlx pool, `spin:variables`, and
//! outbound HTTP limited to each component's `allowed_outbound_hosts`. With no `DATABASE_URL` it
//! runs a private PostgreSQL cluster under its data folder. It also migrates the database, makes
//! the signing keys the gateway signs access tokens with, and mints tokens by hand.

mod allocator;
mod app;
mod archive;
mod backup;
mod backup_schedule;
mod bindings;
mod cluster;
mod host;
mod http1;
mod http2;
mod key_value;
mod lanes;
mod manifest;
mod metrics;
mod outbound;
mod places;
mod postgres;
mod schedule;
mod server;
mod staff;
mod tokens;
mod variables;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cluster::Hold;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "hotline",
    version,
    about = "The 12345 hotline platform's edge runtime for Spin applications"
)]
struct Cli {
    /// Folder for the private database cluster and the compiled-component cache.
    #[arg(
        long,
        global = true,
        env = "HOTLINE_DATA_DIR",
        default_value = ".hotline"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the application.
    Serve(ServeArgs),
    /// Apply the migrations to the database and exit.
    Migrate(DatabaseArgs),
    /// Staff accounts: add the first administrator (then use the API).
    Staff {
        #[command(subcommand)]
        action: StaffAction,
    },
    /// Districts and grids: load real boundaries.
    Places {
        #[command(subcommand)]
        action: PlacesAction,
    },
    /// Manage the private PostgreSQL cluster; back the database up and restore it.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// Create a new key set for access tokens (`keys.json`: one HS256 secret under `--kid`), in
    /// place of any set there; or, with `--rotate`, add a new signing key to the set and keep the
    /// others; or retire one with `--retire <kid>`.
    Keys {
        #[arg(long, default_value = "demo-1")]
        kid: String,
        /// Put a new key under `--kid` at the head of the set, where it signs, keeping the keys
        /// already there accepted until the tokens they signed have expired.
        #[arg(long, conflicts_with = "retire")]
        rotate: bool,
        /// Remove this key from the set (not the one that signs).
        #[arg(long, value_name = "KID")]
        retire: Option<String>,
    },
    /// Mint an access token by hand (for the demo, the tests and the bench; people sign in
    /// through the API).
    Token {
        #[arg(long)]
        subject: String,
        /// citizen, operator, agency_staff, supervisor, leader or admin.
        #[arg(long)]
        role: String,
        /// For agency staff: their agency's code, e.g. `city-urban-management`.
        #[arg(long)]
        agency: Option<String>,
        #[arg(long, default_value_t = 3600)]
        ttl_seconds: i64,
    },
}

#[derive(Subcommand)]
enum StaffAction {
    /// Add a staff account unless the username exists. The password comes from the
    /// HOTLINE_STAFF_PASSWORD environment variable, else one is generated and printed.
    Add {
        #[arg(long)]
        username: String,
        /// operator, agency_staff, supervisor, leader or admin.
        #[arg(long)]
        role: String,
        /// For agency staff: their agency's code.
        #[arg(long)]
        agency: Option<String>,
        /// The name colleagues see; the username when not given.
        #[arg(long)]
        display_name: Option<String>,
        /// The password is its holder's own choice (they are the one adding the account). Without
        /// this, it is one chosen for them, as an administrator's is: their first sign-in opens
        /// nothing but changing it.
        #[arg(long)]
        own_password: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum PlacesAction {
    /// Load district or grid boundaries from a GeoJSON FeatureCollection (WGS-84), in one
    /// transaction; replaces the approximate shapes shipped for the demo.
    Import {
        /// The GeoJSON file.
        file: PathBuf,
        #[arg(long, value_enum)]
        kind: places::Kind,
        /// The feature property with the district or grid code.
        #[arg(long, default_value = "code")]
        code_property: String,
        /// The feature property with the name.
        #[arg(long, default_value = "name")]
        name_property: String,
        /// For grids: the property with the district code (else found from the shape).
        #[arg(long, default_value = "district")]
        district_property: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum DbAction {
    /// Start the cluster (creating it on first use) and print the URL of a database in it.
    Start {
        /// The database to create if missing and print the URL of.
        #[arg(long, default_value = "hotline")]
        database: String,
    },
    /// Stop the cluster.
    Stop,
    /// Write the database to FILE (pg_dump's custom format), as of the moment it starts, while
    /// the platform serves. FILE must not exist; it appears only once whole.
    Backup {
        file: PathBuf,
        /// The database; without it, the platform's in the private cluster.
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Restore a backup, all or nothing. Into the private cluster, with the platform stopped: the
    /// restored database takes the platform's database's place, which is kept under another name
    /// (printed). Into --database-url: a database with no tables yet. With --archive instead of
    /// FILE: the private cluster as it was at --until, from `serve --archive-dir`'s archive.
    Restore {
        #[arg(required_unless_present = "archive", conflicts_with = "archive")]
        file: Option<PathBuf>,
        /// An empty database; without it, the private cluster.
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
        /// The folder `hotline serve --archive-dir` kept: the whole private cluster is rebuilt
        /// from it (the data folder it replaces is kept under another name, printed).
        #[arg(long)]
        archive: Option<PathBuf>,
        /// With --archive: the moment to restore to (RFC 3339, such as
        /// 2026-12-06T09:30:00+08:00); every change committed by then and none after. Without
        /// it, everything the archive received.
        #[arg(long, requires = "archive")]
        until: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
}

#[derive(clap::Args)]
struct DatabaseArgs {
    /// The database; without it, the private cluster under the data folder.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// The folder of SQL migrations.
    #[arg(long, default_value = "migrations")]
    migrations: PathBuf,
}

#[derive(clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The Spin manifest.
    #[arg(long, default_value = "spin.toml")]
    manifest: PathBuf,
    /// Address to listen on; port 0 picks a free port (printed on start).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: String,
    /// Time limit for one request, in milliseconds.
    #[arg(long, default_value_t = app::defaults::REQUEST_TIMEOUT_MS)]
    request_timeout_ms: u64,
    /// Time limit for a large body (over 64 KiB: a photo) to arrive, in milliseconds. It is read
    /// whole before its component is called, so a slow phone does not spend the request's limit.
    #[arg(long, default_value_t = app::defaults::BODY_TIMEOUT_MS)]
    body_timeout_ms: u64,
    /// Requests with a body read whole (over 64 KiB: a photo) that one lane serves at once; more
    /// wait for their turn (up to 5 s, then 503 server_busy), holding only their bodies. A photo
    /// takes a core's time to decode and two instances' memory while it is kept: more at once
    /// than the cores add memory and tail latency, not throughput (`cargo xtask bench uploads`).
    #[arg(long, env = "HOTLINE_LARGE_PER_LANE", default_value_t = app::defaults::LARGE_PER_LANE,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024))]
    large_per_lane: usize,
    /// Linear memory limit of one component instance, in MiB.
    #[arg(long, default_value_t = app::defaults::MEMORY_MIB)]
    memory_mib: usize,
    /// How much of a freed instance's linear memory stays resident for the next instance in its
    /// slot, in KiB: written pages up to this are reset in place, the rest given back to the
    /// kernel (and faulted in again when used). None by default: an instance serves many
    /// requests, so keeping saves little, and what a slot keeps stays until the process ends.
    #[arg(long, env = "HOTLINE_INSTANCE_KEEP_RESIDENT_KIB",
          default_value_t = app::defaults::INSTANCE_KEEP_RESIDENT_KIB,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=65536))]
    instance_keep_resident_kib: usize,
    /// Requests served at once; more wait for a slot.
    #[arg(long, default_value_t = app::defaults::MAX_CONCURRENT_REQUESTS)]
    max_concurrent_requests: usize,
    /// Requests one component instance serves before it is replaced (an instance idle for a
    /// second is dropped sooner). A new instance is instantiated and faults in every page it
    /// touches, its slot's memory having been given back (`--instance-keep-resident-kib`): the
    /// fewer replacements, the less that costs a request (`wasmtime serve` replaces an instance
    /// after 128; ARCHITECTURE.md, "Limits", has the measurements).
    #[arg(long, env = "HOTLINE_MAX_INSTANCE_REUSE",
          default_value_t = app::defaults::MAX_INSTANCE_REUSE,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65536))]
    max_instance_reuse: usize,
    /// Do not apply migrations at start.
    #[arg(long)]
    no_migrate: bool,
    /// Address for the metrics (Prometheus's text format at `/metrics`), on a listener of its
    /// own; none by default. Port 0 picks a free port (printed on start).
    #[arg(long, env = "HOTLINE_METRICS_LISTEN")]
    metrics_listen: Option<String>,
    /// Threads that serve requests (lanes), each with its own instances and database
    /// connections; by default one per core.
    #[arg(long, env = "HOTLINE_THREADS",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024))]
    threads: Option<usize>,
    /// Back the database up into this folder while serving, as `hotline db backup` does
    /// (`hotline-<UTC time>.dump`); none by default.
    #[arg(long, env = "HOTLINE_BACKUP_DIR")]
    backup_dir: Option<PathBuf>,
    /// Seconds between those backups: the next is due this long after the newest in the folder.
    #[arg(long, env = "HOTLINE_BACKUP_EVERY_SECONDS", default_value_t = 86_400,
          value_parser = clap::value_parser!(u64).range(1..))]
    backup_every_seconds: u64,
    /// How many of those backups to keep, the newest; older ones are removed.
    #[arg(long, env = "HOTLINE_BACKUP_KEEP", default_value_t = 7,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    backup_keep: usize,
    /// Keep a continuous archive in this folder for point-in-time recovery (`hotline db restore
    /// --archive`): every change streamed as the server writes it (`pg_receivewal`, over a
    /// replication slot), and base backups on the schedule of --backup-every-seconds and
    /// --backup-keep. Serving without it drops the archive's slot.
    #[arg(long, env = "HOTLINE_ARCHIVE_DIR")]
    archive_dir: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    allocator::configure();
    let filter = tracing_subscriber::EnvFilter::try_from_env("HOTLINE_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "info,sqlx=warn,sqlx::postgres::notice=error,wasmtime_cache=warn",
        )
    });
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hotline: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let data_dir = cli.data_dir;
    match cli.command {
        Command::Serve(args) => serve(&data_dir, args).await,
        Command::Migrate(args) => {
            let (url, cluster) = database(&data_dir, &args).await?;
            let result = migrate(&url, &args.migrations).await;
            if let Some(cluster) = cluster {
                cluster.stop_if_started_here();
            }
            result
        }
        Command::Staff {
            action:
                StaffAction::Add {
                    username,
                    role,
                    agency,
                    display_name,
                    own_password,
                    database: args,
                },
        } => {
            let (url, cluster) = database(&data_dir, &args).await?;
            let account = staff::NewAccount {
                display_name: display_name.unwrap_or_else(|| username.clone()),
                username,
                role,
                agency,
                password: std::env::var("HOTLINE_STAFF_PASSWORD").ok(),
                own_password,
            };
            let result = match migrate(&url, &args.migrations).await {
                Ok(()) => staff::add(&url, account).await,
                Err(error) => Err(error),
            };
            if let Some(cluster) = cluster {
                cluster.stop_if_started_here();
            }
            println!("{}", result?);
            Ok(())
        }
        Command::Places {
            action:
                PlacesAction::Import {
                    file,
                    kind,
                    code_property,
                    name_property,
                    district_property,
                    database: args,
                },
        } => {
            let (url, cluster) = database(&data_dir, &args).await?;
            let properties = places::Properties {
                code: code_property,
                name: name_property,
                district: district_property,
            };
            // The tables must exist before boundaries can be loaded into them.
            let result = match migrate(&url, &args.migrations).await {
                Ok(()) => places::import(&url, &file, kind, &properties).await,
                Err(error) => Err(error),
            };
            if let Some(cluster) = cluster {
                cluster.stop_if_started_here();
            }
            let count = result?;
            println!("imported {count} {kind} boundaries from {}", file.display());
            Ok(())
        }
        Command::Db {
            action: DbAction::Start { database },
        } => {
            let cluster = cluster::Cluster::start(&data_dir.join("pg"), Hold::Shared)?;
            let url = cluster.url(&database);
            cluster::ensure_database(&cluster.url("postgres"), &database).await?;
            println!("{url}");
            Ok(())
        }
        Command::Db {
            action: DbAction::Stop,
        } => {
            let cluster = cluster::Cluster::open(&data_dir.join("pg"), Hold::Alone)?;
            cluster.stop();
            Ok(())
        }
        Command::Db {
            action: DbAction::Backup { file, database_url },
        } => {
            let started = std::time::Instant::now();
            let (bin, url, cluster) = match database_url {
                Some(url) => (cluster::server_binaries()?, url, None),
                None => {
                    let cluster = cluster::Cluster::start(&data_dir.join("pg"), Hold::Shared)?;
                    let url = cluster.url(backup::PLATFORM_DATABASE);
                    (cluster.bin().to_owned(), url, Some(cluster))
                }
            };
            let result = backup::backup(&bin, &url, &file, false);
            if let Some(cluster) = cluster {
                cluster.stop_if_started_here();
            }
            let size = result?;
            eprintln!(
                "hotline: backed up to {} ({:.1} MB) in {:.1} s",
                file.display(),
                size as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Db {
            action:
                DbAction::Restore {
                    archive: Some(archive),
                    until,
                    database_url,
                    ..
                },
        } => {
            if database_url.is_some() {
                anyhow::bail!(
                    "--archive rebuilds the private cluster, and DATABASE_URL (or \
                     --database-url) names a server of your own: unset it. A server of your own \
                     is restored from the archive by PostgreSQL's own procedure (a base \
                     backup's folder, and its log's segments through restore_command)"
                );
            }
            if !archive.join("base").is_dir() || !archive.join("wal").is_dir() {
                anyhow::bail!(
                    "{} is not an archive `hotline serve --archive-dir` kept (it has no `base` \
                     and `wal` folders)",
                    archive.display()
                );
            }
            let started = std::time::Instant::now();
            let cluster = cluster::Cluster::open(&data_dir.join("pg"), Hold::Alone)?;
            let kept = archive::restore(&cluster, &archive, until.map(|t| t.to_utc())).await?;
            eprintln!(
                "hotline: restored the private cluster from {} in {:.1} s",
                archive.display(),
                started.elapsed().as_secs_f64()
            );
            if let Some(kept) = kept {
                eprintln!(
                    "hotline: the data folder it replaced is kept as {}: remove it once the \
                     restored one is as it should be",
                    kept.display()
                );
            }
            Ok(())
        }
        Command::Db {
            action:
                DbAction::Restore {
                    file: Some(file),
                    database_url,
                    ..
                },
        } => {
            let started = std::time::Instant::now();
            let kept = match database_url {
                Some(url) => {
                    backup::restore_into_empty(&cluster::server_binaries()?, &url, &file).await?;
                    None
                }
                None => {
                    let cluster = cluster::Cluster::start(&data_dir.join("pg"), Hold::Alone)?;
                    let result = backup::restore_private(&cluster, &file).await;
                    cluster.stop_if_started_here();
                    result?
                }
            };
            eprintln!(
                "hotline: restored {} in {:.1} s",
                file.display(),
                started.elapsed().as_secs_f64()
            );
            if let Some(kept) = kept {
                eprintln!(
                    "hotline: the database it replaced is kept as `{kept}`: drop it \
                     (`drop database {kept}`) once the restored one is as it should be"
                );
            }
            Ok(())
        }
        Command::Db {
            action: DbAction::Restore { .. },
        } => anyhow::bail!("name a backup file, or an archive (--archive)"),
        Command::Keys {
            kid,
            rotate,
            retire,
        } => {
            let dir = data_dir.join("keys");
            match (rotate, retire) {
                (true, _) => tokens::rotate_keys(&dir, &kid)?,
                (false, Some(old)) => tokens::retire_key(&dir, &old)?,
                (false, None) => tokens::generate_keys(&dir, &kid)?,
            }
            let kids = tokens::key_ids(&dir)?;
            if let Some((signing, others)) = kids.split_first() {
                eprintln!(
                    "hotline: the key set signs with `{signing}`{}; set JWT_KEYS and \
                     JWT_SIGNING_KID from it on every runtime",
                    if others.is_empty() {
                        String::new()
                    } else {
                        format!(" and also accepts `{}`", others.join("`, `"))
                    }
                );
            }
            println!("{}", dir.display());
            Ok(())
        }
        Command::Token {
            subject,
            role,
            agency,
            ttl_seconds,
        } => {
            let keys = data_dir.join("keys");
            println!(
                "{}",
                tokens::mint(&keys, &subject, &role, agency.as_deref(), ttl_seconds)?
            );
            Ok(())
        }
    }
}

/// The database URL, starting the private cluster when none is given.
async fn database(
    data_dir: &Path,
    args: &DatabaseArgs,
) -> anyhow::Result<(String, Option<cluster::Cluster>)> {
    if let Some(url) = &args.database_url {
        return Ok((url.clone(), None));
    }
    let cluster = cluster::Cluster::start(&data_dir.join("pg"), Hold::Shared)?;
    cluster::ensure_database(&cluster.url("postgres"), "hotline").await?;
    Ok((cluster.url("hotline"), Some(cluster)))
}

async fn migrate(url: &str, migrations: &Path) -> anyhow::Result<()> {
    use sqlx::Connection;
    let migrator = sqlx::migrate::Migrator::new(migrations)
        .await
        .with_context(|| format!("reading migrations from {}", migrations.display()))?;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .context("connecting to the database")?;
    migrator
        .run(&mut conn)
        .await
        .context("applying migrations")?;
    tracing::info!(applied = migrator.iter().count(), "database migrated");
    Ok(())
}

async fn serve(data_dir: &Path, args: ServeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let manifest = manifest::Manifest::load(&args.manifest)?;
    let (url, cluster) = database(data_dir, &args.database).await?;
    // Backups while serving need the server's tools: the private cluster's, else the machine's.
    let wanted = args.backup_dir.is_some() || args.archive_dir.is_some();
    let tools = match (wanted, &cluster) {
        (false, _) => None,
        (true, Some(cluster)) => Some(Ok(cluster.bin().to_owned())),
        (true, None) => Some(cluster::server_binaries()),
    };
    // The cluster is held (`cluster::Hold::Shared`) until the platform has stopped serving:
    // `hotline db stop` and `db restore` refuse meanwhile.
    let result = match tools.transpose() {
        Ok(tools) => {
            serve_with_database(
                data_dir,
                &args,
                &manifest,
                (&url, cluster.as_ref()),
                tools,
                started,
            )
            .await
        }
        Err(error) => Err(error),
    };
    if let Some(cluster) = cluster {
        cluster.stop_if_started_here();
    }
    result
}

async fn serve_with_database(
    data_dir: &Path,
    args: &ServeArgs,
    manifest: &manifest::Manifest,
    (url, cluster): (&str, Option<&cluster::Cluster>),
    backup_tools: Option<PathBuf>,
    started: std::time::Instant,
) -> anyhow::Result<()> {
    if !args.no_migrate {
        migrate(url, &args.database.migrations).await?;
    }
    let schedule = |dir: PathBuf, kind| backup_schedule::Schedule {
        dir,
        every: Duration::from_secs(args.backup_every_seconds),
        keep: args.backup_keep,
        kind,
    };
    let backups = match (&args.backup_dir, &backup_tools) {
        (Some(dir), Some(tools)) => {
            let schedule = schedule(dir.clone(), backup_schedule::Kind::Dump);
            let metrics = backup_schedule::prepare(&schedule)?;
            Some((tools.clone(), schedule, metrics))
        }
        _ => None,
    };
    let archive = match (&args.archive_dir, &backup_tools) {
        (Some(dir), Some(tools)) => {
            let archive = std::sync::Arc::new(archive::prepare(tools, url, dir).await?);
            let bases = schedule(
                archive.base_dir(),
                backup_schedule::Kind::Base(archive.clone()),
            );
            let metrics = backup_schedule::prepare(&bases)?;
            Some((tools.clone(), archive, bases, metrics))
        }
        _ => {
            if let Err(e) = archive::release_slot(url).await {
                tracing::warn!("{e:#}");
            }
            None
        }
    };
    // The runtime provides the database: `db_url`, `db_host` and `db_port` default to it unless
    // they are set as SPIN_VARIABLE_* like any other variable.
    let options: sqlx::postgres::PgConnectOptions = url
        .parse()
        .context("DATABASE_URL is not a valid Postgres URL")?;
    let provided = [
        ("SPIN_VARIABLE_DB_URL", url.to_owned()),
        ("SPIN_VARIABLE_DB_HOST", options.get_host().to_owned()),
        ("SPIN_VARIABLE_DB_PORT", options.get_port().to_string()),
    ];
    let vars = variables::AppVariables::resolve(manifest, |name| {
        std::env::var(name).ok().or_else(|| {
            provided
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        })
    })?;

    let limits = app::Limits {
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        body_timeout: Duration::from_millis(args.body_timeout_ms),
        large_per_lane: args.large_per_lane,
        memory_per_instance: args.memory_mib << 20,
        keep_resident: args.instance_keep_resident_kib << 10,
        max_concurrent_requests: args.max_concurrent_requests,
        max_instance_reuse: args.max_instance_reuse,
        ..app::Limits::default()
    };
    let cache =
        std::path::absolute(data_dir.join("cache")).context("locating the compile cache")?;
    let engine = app::engine(Some(cache), &limits)?;
    app::start_epoch_ticker(&engine);
    let mut blueprint = app::Blueprint::load(&engine, manifest, &vars, limits)?;
    blueprint.pg_socket = options.get_socket().cloned();
    let blueprint = std::sync::Arc::new(blueprint);
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let (stopping, stop_seen) = tokio::sync::watch::channel(false);
    let lanes = lanes::Lanes::start(&blueprint, threads, url, &stop_seen).await?;
    let schedules = schedule::start(lanes.background(), &manifest.components, url, &stop_seen);
    // The private cluster's server, kept running while the platform serves from it.
    let database_restarts =
        cluster.map(|_| std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0)));
    let keeper = cluster
        .zip(database_restarts.clone())
        .map(|(cluster, restarts)| {
            cluster::keep_running(cluster.clone(), restarts, stop_seen.clone())
        });
    let backup_metrics = backups.as_ref().map(|(_, _, metrics)| metrics.clone());
    let backup_task = backups.map(|(tools, schedule, metrics)| {
        backup_schedule::start(tools, url.to_owned(), schedule, metrics, stop_seen.clone())
    });
    let receiver = std::sync::Arc::new(archive::ReceiverMetrics::default());
    let archive_metrics = archive
        .as_ref()
        .map(|(_, _, _, bases)| metrics::ArchiveMetrics {
            bases: bases.clone(),
            receiver: receiver.clone(),
        });
    let archive_tasks = archive.map(|(tools, archive, bases, metrics)| {
        [
            archive::receive(
                tools.clone(),
                url.to_owned(),
                &archive,
                receiver,
                stop_seen.clone(),
            ),
            backup_schedule::start(tools, url.to_owned(), bases, metrics, stop_seen.clone()),
        ]
    });
    if let Some(address) = &args.metrics_listen {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("listening for metrics on {address}"))?;
        let registry = std::sync::Arc::new(metrics::Registry {
            apps: lanes.apps().cloned().collect(),
            background: lanes.background().clone(),
            component_routes: manifest
                .components
                .values()
                .filter_map(|c| Some((c.id.clone(), c.metrics_route.clone()?)))
                .collect(),
            slots: lanes.slots().clone(),
            max_slots: args.max_concurrent_requests,
            schedules: schedules.metrics.clone(),
            backups: backup_metrics,
            archive: archive_metrics,
            database_restarts,
            started: std::time::SystemTime::now() - started.elapsed(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            engine: engine.clone(),
        });
        let address = listener.local_addr()?;
        println!("hotline: metrics at http://{address}/metrics");
        tokio::spawn(metrics::serve(registry, listener));
    }

    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(app = %blueprint.name, threads, version = manifest.version.as_deref().unwrap_or("-"), elapsed_ms = started.elapsed().as_millis() as u64, "serving on http://{address}");
    // What the serving machine does with its instances, for whoever reads the start (and the
    // bench, whose report names it).
    println!(
        "hotline: {threads} lanes; an instance serves up to {} requests; a freed instance keeps {} KiB resident",
        args.max_instance_reuse, args.instance_keep_resident_kib
    );
    println!("hotline: serving {} on http://{address}", blueprint.name);
    let mut background = schedules.tasks;
    background.extend(backup_task);
    background.extend(keeper);
    background.extend(archive_tasks.into_iter().flatten());
    let drain = server::Drain {
        stopping,
        schedules: background,
        deadline: Duration::from_millis(args.request_timeout_ms) + Duration::from_secs(1),
    };
    server::serve(lanes, listener, shutdown_signal(), drain).await
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = terminate.recv() => {},
    }
    tracing::info!("shutting down");
}
