//! Point-in-time recovery: `hotline serve --archive-dir` keeps a continuous archive of the
//! database, and `hotline db restore --archive` rebuilds the private cluster from it as it was at
//! any moment the archive covers, so that a lost disk costs the changes not yet streamed (none,
//! once committed and received), not those since the last nightly dump.
//!
//! The archive is PostgreSQL's own, made with its own tools:
//! - `wal/<UTC time>/`: every change, as the server writes it, received by `pg_receivewal` over a
//!   replication slot (`hotline_archive_<database>`) and flushed as it arrives. The runtime runs
//!   the receiver as its child and starts it again when it ends. The slot keeps the server's
//!   write-ahead log until it has been received, so a receiver that was down (or a runtime that
//!   was stopped) resumes where it left off. A folder is one *stream*: continuous from its start.
//!   A new one begins whenever the slot had to be made anew: the first start, a start after one
//!   without `--archive-dir` (which drops the slot, so that no one holds the server's log for a
//!   receiver that is gone), and the first start after a restore (a slot is not part of a
//!   backup). The receiver in a new folder starts at the new slot's position.
//! - `base/hotline-<UTC time>/`: base backups (`pg_basebackup`, plain format, with the log to
//!   make them whole), taken on the backups' schedule (`--backup-every-seconds`, the newest
//!   `--backup-keep` kept), and at once when the newest began before the newest stream. Each
//!   is written under `.partial` and renamed once whole. When an old one is removed, so is the
//!   log that only it needed (older streams whole; older segments of its stream).
//! - Each base backup is checked by `pg_verifybackup` before it gets its name, and again before
//!   a restore uses it; a damaged one is passed over for the one before.
//! - A restore starts a copy of the newest base backup that was whole by `--until` (by default
//!   the newest of all) and replays the archive's log in it up to that moment (by default to its
//!   end: everything received). The segment being received when the archive stopped
//!   (`<segment>.partial`) is replayed as well. With no commit after `--until` in the log, the
//!   log is replayed to its end, which is the cluster as it was then. Only once the replay has
//!   reached its target does the restored folder take the cluster's data folder's place; the
//!   one it replaces is kept under another name, printed, for its operator to remove when sure.

use crate::backup::split_password;
use crate::backup_schedule::{dated, stamp};
use crate::cluster::Cluster;
use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// How long the runtime waits before starting a receiver that ended again.
const RESTART: Duration = Duration::from_secs(5);

/// The folder, inside a data folder being restored, that the archive's log is copied into.
const RESTORE_WAL: &str = "hotline_wal_archive";

/// An archive being kept while serving.
pub struct Archive {
    pub dir: PathBuf,
    /// The stream being received (`wal/<time>`) and when it began.
    pub stream: PathBuf,
    pub stream_began: DateTime<Utc>,
    pub slot: String,
}

/// What the metrics say of the receiver (`hotline_archive_receiver_*`).
#[derive(Default)]
pub struct ReceiverMetrics {
    pub up: AtomicU64,
    pub exits: AtomicU64,
}

impl Archive {
    pub fn base_dir(&self) -> PathBuf {
        self.dir.join("base")
    }
}

/// The replication slot of the platform's database: one per database, so that platforms sharing
/// a server keep archives of their own.
fn slot_name(database: &str) -> String {
    let clean: String = database
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut name = format!("hotline_archive_{clean}");
    name.truncate(63);
    name
}

async fn current_slot(db: &mut sqlx::PgConnection) -> anyhow::Result<String> {
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&mut *db)
        .await?;
    Ok(slot_name(&database))
}

/// Drops the platform's slot, if it has one and no receiver uses it: serving without an archive,
/// nothing should hold the server's log for one.
pub async fn release_slot(url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(url).await?;
    let slot = current_slot(&mut db).await?;
    let held: bool = sqlx::query_scalar(
        "select exists (select 1 from pg_replication_slots where slot_name = $1)",
    )
    .bind(&slot)
    .fetch_one(&mut db)
    .await?;
    if held {
        let dropped = sqlx::query(
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots \
             where slot_name = $1 and not active",
        )
        .bind(&slot)
        .execute(&mut db)
        .await
        .with_context(|| format!("dropping the replication slot {slot} (no --archive-dir)"))?;
        if dropped.rows_affected() > 0 {
            tracing::info!(
                slot,
                "no --archive-dir: the archive's replication slot is dropped"
            );
        } else {
            tracing::warn!(
                slot,
                "no --archive-dir, but a receiver uses the archive's slot"
            );
        }
    }
    Ok(())
}

/// Readies the archive in `dir` for the database at `url`: the folders, the slot (made if
/// missing; a receiver a crashed runtime left is ended) and the stream to receive into.
pub async fn prepare(bin: &Path, url: &str, dir: &Path) -> anyhow::Result<Archive> {
    use sqlx::Connection;
    // Before the slot: a folder that cannot be written must not leave one holding the log.
    for folder in ["base", "wal"] {
        crate::backup_schedule::writable(&dir.join(folder))?;
    }
    {
        // The archive holds everything the database does: its owner's alone.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private", dir.display()))?;
    }
    let dir = std::path::absolute(dir)?;
    let mut db = sqlx::PgConnection::connect(url)
        .await
        .context("connecting to the database")?;
    let slot = current_slot(&mut db).await?;
    // A receiver left by a runtime that was killed still holds the slot: end its connection
    // (it then exits, as it is run with --no-loop), so that this runtime's own can take over.
    sqlx::query(
        "select pg_terminate_backend(active_pid) from pg_replication_slots \
         where slot_name = $1 and active",
    )
    .bind(&slot)
    .execute(&mut db)
    .await
    .context("ending the archive's previous receiver")?;
    for _ in 0..50 {
        let active: bool = sqlx::query_scalar(
            "select exists (select 1 from pg_replication_slots where slot_name = $1 and active)",
        )
        .bind(&slot)
        .fetch_one(&mut db)
        .await?;
        if !active {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let held: bool = sqlx::query_scalar(
        "select exists (select 1 from pg_replication_slots where slot_name = $1)",
    )
    .bind(&slot)
    .fetch_one(&mut db)
    .await?;
    if !held {
        // Made reserving the log from now on (`pg_receivewal --create-slot` would not)...
        sqlx::query("select pg_create_physical_replication_slot($1, true)")
            .bind(&slot)
            .execute(&mut db)
            .await
            .with_context(|| {
                format!(
                    "making the replication slot {slot}: the archive needs a role with the \
                     REPLICATION attribute (the private cluster's has it)"
                )
            })?;
        // ...then looked for over a replication connection, as the receiver's: a server that
        // refuses those refuses here, at start, rather than holding its log for a receiver that
        // can never connect.
        let out = receivewal(bin, url)
            .args(["--create-slot", "--if-not-exists", "--slot", &slot])
            .output()
            .context("running pg_receivewal");
        let refused = match out {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
            Err(e) => Some(format!("{e:#}")),
        };
        if let Some(refused) = refused {
            sqlx::query("select pg_drop_replication_slot($1)")
                .bind(&slot)
                .execute(&mut db)
                .await?;
            bail!(
                "the archive cannot stream from the database: {refused} (it needs a \
                 `replication` line in pg_hba.conf that admits its role; the private cluster \
                 has one)"
            );
        }
    }
    let made = !held;
    db.close().await.ok();
    let newest = streams(&dir)?.pop();
    let (stream_began, stream) = match newest {
        Some(stream) if !made => stream,
        _ => {
            // The log since the last stream's end may be gone: a new stream, and a base backup.
            // To the second, as its folder's name and the base backups' names are.
            let began = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default();
            let stream = dir.join("wal").join(stamp(began));
            std::fs::create_dir_all(&stream)?;
            tracing::info!(stream = %stream.display(), "the archive begins a new stream");
            (began, stream)
        }
    };
    Ok(Archive {
        dir,
        stream,
        stream_began,
        slot,
    })
}

/// The archive's streams (`wal/<time>`), oldest first.
fn streams(dir: &Path) -> anyhow::Result<Vec<(DateTime<Utc>, PathBuf)>> {
    let folder = dir.join("wal");
    dated(&folder, "", "").with_context(|| format!("reading {}", folder.display()))
}

/// `pg_receivewal` of `bin` for the server at `url`, the password in its environment.
fn receivewal(bin: &Path, url: &str) -> std::process::Command {
    let (address, password) = split_password(url);
    let mut command = std::process::Command::new(bin.join("pg_receivewal"));
    command.arg("--no-password").arg("--dbname").arg(address);
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command
}

/// Runs `pg_receivewal` into the archive's stream until `stop` says so, starting it again
/// [`RESTART`] after it ends.
pub fn receive(
    bin: PathBuf,
    url: String,
    archive: &Archive,
    metrics: Arc<ReceiverMetrics>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let (stream, slot) = (archive.stream.clone(), archive.slot.clone());
    tokio::spawn(async move {
        loop {
            let mut command = tokio::process::Command::from(receivewal(&bin, &url));
            command
                .arg("--directory")
                .arg(&stream)
                .args(["--slot", &slot, "--synchronous", "--no-loop"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            match command.spawn() {
                Ok(mut child) => {
                    metrics.up.store(1, Relaxed);
                    if let Some(report) = child.stderr.take() {
                        tokio::spawn(async move {
                            use tokio::io::AsyncBufReadExt;
                            let mut lines = tokio::io::BufReader::new(report).lines();
                            while let Ok(Some(line)) = lines.next_line().await {
                                tracing::warn!("archive receiver: {line}");
                            }
                        });
                    }
                    let stopping = tokio::select! {
                        ended = child.wait() => {
                            metrics.up.store(0, Relaxed);
                            metrics.exits.fetch_add(1, Relaxed);
                            tracing::error!(status = ?ended.ok(), "the archive's receiver ended; starting it again in {RESTART:?}");
                            false
                        }
                        _ = stop.wait_for(|stopping| *stopping) => true,
                    };
                    if stopping {
                        // As asked to: it flushes what it has and exits.
                        if let Some(pid) = child.id() {
                            let _ = tokio::process::Command::new("kill")
                                .args(["-TERM", &pid.to_string()])
                                .status()
                                .await;
                        }
                        if tokio::time::timeout(Duration::from_secs(5), child.wait())
                            .await
                            .is_err()
                        {
                            let _ = child.kill().await;
                        }
                        metrics.up.store(0, Relaxed);
                        return;
                    }
                }
                Err(e) => {
                    metrics.exits.fetch_add(1, Relaxed);
                    tracing::error!("starting the archive's receiver (pg_receivewal): {e}");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(RESTART) => {}
                _ = stop.wait_for(|stopping| *stopping) => return,
            }
        }
    })
}

/// Takes a base backup of the server at `url` into `target` (not there yet), with the tools of
/// `bin`; its size.
pub fn base_backup(bin: &Path, url: &str, target: &Path) -> anyhow::Result<u64> {
    if target.exists() {
        bail!("{} exists", target.display());
    }
    let partial = crate::backup::partial_of(target);
    let (address, password) = split_password(url);
    let mut command = std::process::Command::new(bin.join("pg_basebackup"));
    command
        .arg("--pgdata")
        .arg(&partial)
        .args([
            "--format=plain",
            "--wal-method=stream",
            "--checkpoint=fast",
            "--no-password",
            "--dbname",
        ])
        .arg(address)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let taken = command
        .output()
        .context("running pg_basebackup")
        .and_then(|out| {
            if !out.status.success() {
                bail!(
                    "pg_basebackup failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            // A base backup gets its name only once checked against its manifest.
            verify(bin, &partial)?;
            std::fs::rename(&partial, target)?;
            if let Some(folder) = target.parent() {
                std::fs::File::open(folder)?.sync_all()?;
            }
            size_of(target)
        });
    if taken.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    taken
}

/// Checks the base backup in `base` with `pg_verifybackup`: every file against the size and
/// checksum its manifest lists, and the log it holds to replay it.
fn verify(bin: &Path, base: &Path) -> anyhow::Result<()> {
    let out = std::process::Command::new(bin.join("pg_verifybackup"))
        .arg("--quiet")
        .arg(base)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("running pg_verifybackup")?;
    if !out.status.success() {
        bail!(
            "the base backup {} is damaged: {}",
            base.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn size_of(path: &Path) -> anyhow::Result<u64> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        total += size_of(&entry?.path())?;
    }
    Ok(total)
}

/// What a base backup's `backup_label` says: the segment its replay starts from.
fn start_segment(base: &Path) -> anyhow::Result<String> {
    let label = std::fs::read_to_string(base.join("backup_label"))
        .with_context(|| format!("{} has no backup_label", base.display()))?;
    label
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("START WAL LOCATION: ")?;
            let (_, file) = rest.split_once("(file ")?;
            Some(file.trim_end_matches(')').to_owned())
        })
        .filter(|segment| is_segment(segment))
        .with_context(|| format!("{}/backup_label names no start segment", base.display()))
}

/// Whether `name` is a log segment's file name (timeline, log, segment: 24 hex digits).
fn is_segment(name: &str) -> bool {
    name.len() == 24 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// When a base backup was whole: when its manifest, written last, was.
fn whole_at(base: &Path) -> anyhow::Result<DateTime<Utc>> {
    let modified = std::fs::metadata(base.join("backup_manifest"))
        .and_then(|m| m.modified())
        .with_context(|| format!("{} has no backup_manifest", base.display()))?;
    Ok(modified.into())
}

/// Removes the log no base backup kept needs: streams older than the one `oldest` (the oldest
/// base backup kept) was taken in, and that stream's segments older than its start.
pub fn prune_log(dir: &Path, oldest: &Path, oldest_began: DateTime<Utc>) -> anyhow::Result<()> {
    let start = start_segment(oldest)?;
    let streams = streams(dir)?;
    let Some(own) = streams
        .iter()
        .rposition(|(began, _)| *began <= oldest_began)
    else {
        return Ok(());
    };
    for (_, older) in &streams[..own] {
        std::fs::remove_dir_all(older)?;
    }
    for entry in std::fs::read_dir(&streams[own].1)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let segment = name.strip_suffix(".partial").unwrap_or(name);
        // By log and segment number: timelines count as one history.
        if is_segment(segment) && segment[8..] < start[8..] {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// The archive's base backups (`base/hotline-<time>`, whole ones), oldest first.
fn bases(dir: &Path) -> anyhow::Result<Vec<(DateTime<Utc>, PathBuf)>> {
    let folder = dir.join("base");
    dated(&folder, "hotline-", "").with_context(|| format!("reading {}", folder.display()))
}

/// Copies the archive's log into `into`: each segment once, a whole one before one cut short
/// (`.partial`, given the whole one's name), a newer stream's before an older's.
fn gather_log(dir: &Path, from: &str, into: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(into)?;
    let mut chosen: std::collections::BTreeMap<String, (bool, PathBuf)> = Default::default();
    for (_, stream) in streams(dir)?.into_iter().rev() {
        for entry in std::fs::read_dir(&stream)? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            let (segment, whole) = match name.strip_suffix(".partial") {
                Some(segment) => (segment.to_owned(), false),
                None => (name.clone(), true),
            };
            let wanted =
                name.ends_with(".history") || (is_segment(&segment) && segment[8..] >= from[8..]);
            if !wanted {
                continue;
            }
            let better = chosen.get(&segment).is_none_or(|(had, _)| whole && !had);
            if better {
                chosen.insert(segment, (whole, path));
            }
        }
    }
    for (name, (_, path)) in &chosen {
        std::fs::copy(path, into.join(name))
            .with_context(|| format!("copying {}", path.display()))?;
    }
    Ok(chosen.len())
}

/// Rebuilds the private cluster's data folder from the archive in `dir`, as it was at `until`
/// (by default, as far as the archive reaches). The cluster must not be in use; it is left
/// stopped. Returns where the folder it replaced is kept.
pub async fn restore(
    cluster: &Cluster,
    dir: &Path,
    until: Option<DateTime<Utc>>,
) -> anyhow::Result<Option<PathBuf>> {
    if let Some(until) = until
        && until > Utc::now()
    {
        bail!(
            "--until {} has not come yet; nothing was changed",
            until.to_rfc3339()
        );
    }
    let mut whole = Vec::new();
    for (_, base) in bases(dir)? {
        match whole_at(&base) {
            Ok(at) => whole.push((at, base)),
            Err(e) => eprintln!("hotline: leaving out {}: {e:#}", base.display()),
        }
    }
    // The newest whole by then that is intact; a damaged one is passed over for the one before,
    // whose log the archive keeps as well.
    let mut damaged = Vec::new();
    let mut chosen = None;
    for (at, base) in whole
        .iter()
        .rev()
        .filter(|(at, _)| until.is_none_or(|until| *at <= until))
    {
        match verify(cluster.bin(), base) {
            Ok(()) => {
                chosen = Some((at, base));
                break;
            }
            Err(e) => {
                eprintln!("hotline: {e:#}; trying the one before");
                damaged.push(format!("{e:#}"));
            }
        }
    }
    let Some((whole_at, base)) = chosen else {
        if !damaged.is_empty() {
            bail!(
                "no intact base backup to restore from: {}",
                damaged.join("; ")
            );
        }
        match whole.first() {
            None => bail!("{} holds no base backup", dir.join("base").display()),
            Some((at, _)) => bail!(
                "the archive reaches back to {} (its oldest base backup); nothing earlier can \
                 be restored from it",
                at.to_rfc3339()
            ),
        }
    };
    eprintln!(
        "hotline: restoring from the base backup {} (whole at {})",
        base.display(),
        whole_at.to_rfc3339()
    );
    let was_running = cluster.is_running();
    if was_running {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&cluster.url("postgres"))
            .await
            .context("connecting to the private cluster")?;
        let in_use: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity \
             where backend_type in ('client backend', 'walsender') and pid <> pg_backend_pid()",
        )
        .fetch_one(&mut admin)
        .await?;
        admin.close().await.ok();
        if in_use > 0 {
            bail!(
                "the cluster is in use ({in_use} connections): stop the platform (`hotline \
                 serve`) and restore again; nothing was changed"
            );
        }
        cluster.stop();
    }
    // With no commit after `until` in the log, PostgreSQL finds no point to stop at and refuses
    // the target, though the whole log is then the cluster as it was at `until` (a quiet hour
    // commits nothing). So it is replayed to its end, and the last change's time said, which
    // also shows a log that ends early.
    let mut replayed = attempt(cluster, dir, base, until).await;
    if let (Err(error), Some(until)) = (&replayed, until)
        && error.downcast_ref::<EndedBeforeTarget>().is_some()
    {
        eprintln!(
            "hotline: the archive's log holds no change after {}: it is replayed to its end",
            until.to_rfc3339()
        );
        replayed = attempt(cluster, dir, base, None).await;
    }
    let restoring = match replayed {
        Ok((restoring, last)) => {
            if let Some(last) = last {
                eprintln!(
                    "hotline: the last change replayed was committed at {}",
                    last.to_rfc3339()
                );
            }
            restoring
        }
        Err(error) => {
            if was_running {
                cluster.start_again()?;
            }
            return Err(error.context(format!(
                "nothing was changed (the attempt is left in {} for a look)",
                cluster.root().join("data.restoring").display()
            )));
        }
    };
    std::fs::remove_dir_all(restoring.join(RESTORE_WAL))?;
    let data = cluster.data();
    if cluster.made_here() {
        // Made just now for the restore (a new machine's): it holds nothing to keep.
        std::fs::remove_dir_all(&data)?;
    }
    let kept = if data.exists() {
        let kept = cluster.root().join(format!(
            "data.before-restore-{}",
            Utc::now().format("%Y%m%d%H%M%S")
        ));
        std::fs::rename(&data, &kept)?;
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&restoring, &data)?;
    Ok(kept)
}

/// Builds `data.restoring` from `base` and the archive's log, and replays it up to `until`;
/// the folder, and when the last change replayed was committed.
async fn attempt(
    cluster: &Cluster,
    dir: &Path,
    base: &Path,
    until: Option<DateTime<Utc>>,
) -> anyhow::Result<(PathBuf, Option<DateTime<Utc>>)> {
    let restoring = cluster.root().join("data.restoring");
    if restoring.exists() {
        std::fs::remove_dir_all(&restoring)?;
    }
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(base)
        .arg(&restoring)
        .status()
        .context("running cp")?;
    if !copied.success() {
        bail!("copying {} failed", base.display());
    }
    let segments = gather_log(dir, &start_segment(base)?, &restoring.join(RESTORE_WAL))?;
    eprintln!("hotline: {segments} files of the archive's log to replay");
    std::fs::write(restoring.join("recovery.signal"), b"")?;
    let mut settings = format!(
        "\n# hotline db restore --archive\nrestore_command = 'cp {RESTORE_WAL}/%f %p'\n\
         recovery_target_action = 'promote'\n"
    );
    if let Some(until) = until {
        settings.push_str(&format!(
            "recovery_target_time = '{}'\n",
            until.format("%Y-%m-%d %H:%M:%S%.6f+00")
        ));
    }
    let auto = restoring.join("postgresql.auto.conf");
    let mut conf = std::fs::read_to_string(&auto).unwrap_or_default();
    conf.push_str(&settings);
    std::fs::write(&auto, conf)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&restoring, std::fs::Permissions::from_mode(0o700))?;
    }
    // The archive may come from another machine, whose cluster had a password of its own: the
    // replay lets the superuser in without one, by the socket alone where there is one (the
    // socket's folder is the server's user's only), and then gives it this cluster's.
    let hba = restoring.join("pg_hba.conf");
    let rules = std::fs::read(&hba).context("reading the base backup's pg_hba.conf")?;
    let during = if cluster.has_socket() {
        "local all all trust\n"
    } else {
        "host all all 127.0.0.1/32 trust\n"
    };
    std::fs::write(&hba, during)?;
    cluster.give_to_server(&restoring)?;
    let replayed = replay(cluster, &restoring).await;
    cluster.stop_folder(&restoring);
    std::fs::write(&hba, rules)?;
    cluster.give_to_server(&hba)?;
    let last = replayed?;
    Ok((restoring, last))
}

/// The replay reached the log's end before a commit after its target.
#[derive(Debug)]
struct EndedBeforeTarget;

impl std::fmt::Display for EndedBeforeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the archive's log ends before --until")
    }
}

impl std::error::Error for EndedBeforeTarget {}

/// Starts the server on `restoring` and waits for it to replay the log to its target and leave
/// recovery; then removes the recovery settings and gives the superuser this cluster's password.
async fn replay(cluster: &Cluster, restoring: &Path) -> anyhow::Result<Option<DateTime<Utc>>> {
    use sqlx::Connection;
    let log = cluster.root().join("restore.log");
    let _ = std::fs::remove_file(&log);
    let started = std::time::Instant::now();
    // Until it accepts connections (once what the base backup holds is consistent), or ends.
    if cluster
        .start_folder(restoring, &log, !cluster.has_socket())
        .is_err()
        && !cluster.folder_running(restoring)
    {
        return Err(replay_stopped(&log));
    }
    let mut told = std::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if !cluster.folder_running(restoring) {
            return Err(replay_stopped(&log));
        }
        let Ok(mut db) = sqlx::PgConnection::connect(&cluster.url("postgres")).await else {
            continue;
        };
        let (recovering, reached): (bool, Option<DateTime<Utc>>) =
            sqlx::query_as("select pg_is_in_recovery(), pg_last_xact_replay_timestamp()")
                .fetch_one(&mut db)
                .await?;
        if !recovering {
            for setting in [
                "restore_command",
                "recovery_target_action",
                "recovery_target_time",
            ] {
                sqlx::query(sqlx::AssertSqlSafe(format!("alter system reset {setting}")))
                    .execute(&mut db)
                    .await?;
            }
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "alter role current_user password '{}'",
                cluster.password().replace('\'', "''")
            )))
            .execute(&mut db)
            .await?;
            db.close().await.ok();
            eprintln!(
                "hotline: the log is replayed ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
            return Ok(reached);
        }
        db.close().await.ok();
        if told.elapsed() > Duration::from_secs(5) {
            told = std::time::Instant::now();
            if let Some(reached) = reached {
                eprintln!("hotline: replaying: at {}", reached.to_rfc3339());
            }
        }
    }
}

/// Why the server replaying the log stopped, from its log.
fn replay_stopped(log: &Path) -> anyhow::Error {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    if text.contains("recovery ended before configured recovery target") {
        return EndedBeforeTarget.into();
    }
    let reason: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("FATAL") || l.contains("ERROR"))
        .collect();
    anyhow::anyhow!(
        "the replay stopped: {} (the server's log: {})",
        reason.join("; "),
        log.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_named_for_their_database() {
        assert_eq!(slot_name("hotline"), "hotline_archive_hotline");
        assert_eq!(slot_name("City-DB"), "hotline_archive_city_db");
        assert_eq!(slot_name(&"x".repeat(80)).len(), 63);
    }

    #[test]
    fn a_base_backups_label_names_where_its_replay_starts() {
        let dir = std::env::temp_dir().join(format!("hotline-label-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder");
        std::fs::write(
            dir.join("backup_label"),
            "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n\
             CHECKPOINT LOCATION: 0/2000060\nSTART TIMELINE: 1\n",
        )
        .expect("written");
        assert_eq!(
            start_segment(&dir).expect("a segment"),
            "000000010000000000000002"
        );
        std::fs::write(dir.join("backup_label"), "START TIMELINE: 1\n").expect("written");
        assert!(start_segment(&dir).is_err());
        std::fs::remove_dir_all(&dir).expect("removed");
    }

    #[test]
    fn the_log_is_gathered_once_whole_where_it_can_be() {
        let dir = std::env::temp_dir().join(format!("hotline-gather-{}", std::process::id()));
        let (old, new) = (
            dir.join("wal/20261201T000000Z"),
            dir.join("wal/20261202T000000Z"),
        );
        for folder in [&old, &new] {
            std::fs::create_dir_all(folder).expect("a folder");
        }
        let files = [
            (&old, "000000010000000000000001", "too old"),
            (&old, "000000010000000000000002", "whole"),
            (&old, "000000010000000000000003.partial", "old partial"),
            (&new, "000000010000000000000002.partial", "new partial"),
            (&new, "000000010000000000000003.partial", "new partial"),
            (&new, "00000002.history", "history"),
        ];
        for (folder, name, text) in files {
            std::fs::write(folder.join(name), text).expect("written");
        }
        let into = dir.join("into");
        assert_eq!(
            gather_log(&dir, "000000010000000000000002", &into).expect("gathered"),
            3
        );
        let read = |name: &str| std::fs::read_to_string(into.join(name)).expect("copied");
        assert_eq!(read("000000010000000000000002"), "whole");
        assert_eq!(read("000000010000000000000003"), "new partial");
        assert_eq!(read("00000002.history"), "history");
        std::fs::remove_dir_all(&dir).expect("removed");
    }
}
