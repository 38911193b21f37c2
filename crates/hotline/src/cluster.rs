//! A private PostgreSQL cluster under a project-local folder, for when no `DATABASE_URL` is given.
//!
//! The cluster is created with the installed server binaries (`initdb`, `pg_ctl`), listens on
//! 127.0.0.1 (no other address), on a port chosen at creation and kept in the folder, and on a
//! Unix socket in the folder; it uses a generated password and is reused by later starts. Its
//! URL names the socket (`?host=<folder>`) where the server has one: a statement over the socket
//! skips the TCP stack both ways, which on one machine is much of what a round trip costs.
//! Server binaries refuse to run as root, so as root they run as the `postgres` system user that
//! Debian's package creates, and the data folder belongs to it.

use anyhow::{Context, bail};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone)]
pub struct Cluster {
    root: PathBuf,
    bin: PathBuf,
    port: u16,
    password: String,
    run_as: Option<String>,
    /// Whether this process started the server (and so stops it).
    started_here: bool,
    /// Whether this process made the cluster (it holds nothing yet).
    made_here: bool,
    /// The lock this command holds the cluster by (`Hold`), shared by the clones.
    _lock: std::sync::Arc<std::fs::File>,
}

const SUPERUSER: &str = "hotline";

/// What became of the private cluster's server (`Cluster::postmaster`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Postmaster {
    Running,
    /// Ended, and not yet reaped by whatever adopted it (a zombie; on the machine this was
    /// written on, for one to two seconds): a new server refuses to start while its lock file
    /// names a process that still exists.
    Ended,
    /// No server: none started, or ended and reaped.
    Gone,
}

impl Postmaster {
    /// The server as its process's `/proc/<pid>/stat` tells (`<pid> (<name>) <state> ...`; the
    /// name may hold spaces and parentheses).
    fn of(stat: &str) -> Postmaster {
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            return Postmaster::Gone;
        };
        if stat.get(open + 1..close) != Some("postgres") {
            return Postmaster::Gone;
        }
        match stat
            .get(close + 1..)
            .unwrap_or_default()
            .trim_start()
            .chars()
            .next()
        {
            Some('Z' | 'X') => Postmaster::Ended,
            _ => Postmaster::Running,
        }
    }
}

/// How often the serving runtime looks whether its private cluster's server runs (two small
/// reads of files).
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// How long it waits after a start that failed before it tries again.
const AFTER_A_FAILED_START: std::time::Duration = std::time::Duration::from_secs(5);

/// Keeps the private cluster's server running while the platform serves from it: a server that
/// ended (killed, by the kernel's out-of-memory killer say, or crashed) is started again once
/// its process is gone, and recovers from its log by itself as it starts, losing nothing
/// committed. Without it the runtime went on answering every request that needs the database
/// with a failure until someone restarted the platform. `restarts` counts the starts (for the
/// metrics); each tells the connections made before it to go (`postgres::server_restarted`).
///
/// Ends when `stop` turns true, before the runtime stops the server itself. A server stopped on
/// purpose while the platform serves (`hotline db stop`) is started again too: stop the
/// platform first.
pub fn keep_running(
    cluster: Cluster,
    restarts: std::sync::Arc<std::sync::atomic::AtomicU64>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Whether the server was seen stopped since it last ran (said once).
        let mut seen_ended = false;
        loop {
            tokio::select! {
                () = tokio::time::sleep(WATCH_EVERY) => {}
                _ = stop.wait_for(|stopping| *stopping) => return,
            }
            let postmaster = cluster.postmaster();
            if postmaster == Postmaster::Running || *stop.borrow() {
                seen_ended = false;
                continue;
            }
            if !seen_ended {
                tracing::error!(
                    "PostgreSQL, the private cluster's server, has stopped; starting it again"
                );
                seen_ended = true;
            }
            if postmaster == Postmaster::Ended {
                continue;
            }
            let starting = cluster.clone();
            match tokio::task::spawn_blocking(move || starting.start_again()).await {
                Ok(Ok(())) => {
                    crate::postgres::server_restarted();
                    restarts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!("PostgreSQL started again");
                }
                // Tried again a little later (a server whose processes are still ending refuses
                // to start while they hold its shared memory).
                Ok(Err(error)) => {
                    tracing::error!(
                        "starting PostgreSQL again: {error:#}; trying again in {AFTER_A_FAILED_START:?}"
                    );
                    tokio::select! {
                        () = tokio::time::sleep(AFTER_A_FAILED_START) => {}
                        _ = stop.wait_for(|stopping| *stopping) => return,
                    }
                }
                Err(error) => tracing::error!("starting PostgreSQL again: {error}"),
            }
        }
    })
}

/// The folder of the installed server binaries and client tools: `$HOTLINE_PG_BIN`, else the
/// newest version's under `/usr/lib/postgresql`.
pub fn server_binaries() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("HOTLINE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    bail!(
        "no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and $HOTLINE_PG_BIN). \
         Install them (Debian: `apt-get install postgresql postgresql-15-postgis-3`, which `cargo xtask up` does), \
         or set DATABASE_URL to a server of your own"
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The file every command using the cluster holds a lock on while it does (`Hold`).
const IN_USE_LOCK: &str = "in-use.lock";

/// How a command holds the private cluster while it uses it: a lock on a file in the cluster's
/// folder, let go of as the `Cluster` is dropped or the process ends (the kernel lets go of a
/// dead process's locks), taken before anything else is done to the cluster (even its creation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Using its server (`hotline serve` for as long as it serves, a migration, a backup):
    /// any number at once.
    Shared,
    /// Stopping its server or replacing its data (`hotline db stop`, `hotline db restore`):
    /// refused while any command uses the cluster, and every other refused meanwhile. A serving
    /// platform's keeper would start a stopped server again at once, and a server started in the
    /// middle of a restore would serve (or create) a database the restore then replaces.
    Alone,
}

impl Hold {
    /// Takes the lock on `root`'s file, or says what holds it.
    fn take(self, root: &Path) -> anyhow::Result<std::fs::File> {
        let path = root.join(IN_USE_LOCK);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let taken = match self {
            Hold::Shared => file.try_lock_shared(),
            Hold::Alone => file.try_lock(),
        };
        match (taken, self) {
            (Ok(()), _) => Ok(file),
            (Err(std::fs::TryLockError::WouldBlock), Hold::Shared) => bail!(
                "the private cluster is being stopped or restored (`hotline db stop`, `hotline \
                 db restore`): try again once that has finished"
            ),
            (Err(std::fs::TryLockError::WouldBlock), Hold::Alone) => bail!(
                "the platform serves from this cluster, or another `hotline` command uses it (a \
                 backup, a migration), and a serving platform would start its server again at \
                 once: stop the platform first (Ctrl-C; it stops the server as it ends, if it \
                 started it); nothing was changed"
            ),
            (Err(std::fs::TryLockError::Error(error)), _) => {
                Err(error).with_context(|| format!("locking {}", path.display()))
            }
        }
    }
}

impl Cluster {
    /// Opens (creating on first use) the cluster under `root` and starts it if it is not running.
    pub fn start(root: &Path, hold: Hold) -> anyhow::Result<Cluster> {
        let mut cluster = Cluster::open(root, hold)?;
        if !cluster.is_running() {
            cluster.start_server()?;
            cluster.started_here = true;
        }
        Ok(cluster)
    }

    /// Opens the cluster under `root`, creating it on first use, without starting it; held as
    /// `hold` says until the `Cluster` is dropped.
    pub fn open(root: &Path, hold: Hold) -> anyhow::Result<Cluster> {
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let mut root = root.canonicalize()?;
        let bin = server_binaries()?;
        let run_as = is_root().then(|| "postgres".to_owned());
        if let Some(user) = &run_as
            && !reachable_by(user, &root)
        {
            // The server runs as `postgres`, which must be able to enter every folder above its
            // data; a checkout under a private home folder is not. Keep the cluster in the
            // system's temporary folder instead, one per checkout.
            let key = root
                .display()
                .to_string()
                .bytes()
                .fold(0xcbf29ce484222325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
                });
            let fallback = std::env::temp_dir().join(format!("hotline-pg-{key:016x}"));
            eprintln!(
                "hotline: the `{user}` user cannot reach {}; keeping the database cluster in {}",
                root.display(),
                fallback.display()
            );
            std::fs::create_dir_all(&fallback)?;
            root = fallback;
        }
        let lock = std::sync::Arc::new(hold.take(&root)?);
        let data = root.join("data");
        let port_file = root.join("port");
        let password_file = root.join("password");

        let made_here = !data.join("PG_VERSION").exists();
        if made_here {
            eprintln!(
                "hotline: creating a private PostgreSQL cluster in {} ...",
                data.display()
            );
            let port = free_port()?;
            let password = uuid::Uuid::new_v4().simple().to_string();
            std::fs::write(&port_file, port.to_string())?;
            std::fs::write(&password_file, &password)?;
            if data.exists() {
                std::fs::remove_dir_all(&data)?;
            }
            std::fs::create_dir_all(&data)?;
            let pwfile = root.join("initdb-password");
            std::fs::write(&pwfile, &password)?;
            if let Some(user) = &run_as {
                chown(user, &root)?;
            }
            let status = command(&bin, "initdb", run_as.as_deref())
                .args(["-D"])
                .arg(&data)
                .args([
                    "-U",
                    SUPERUSER,
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-instructions",
                ])
                .arg(format!("--pwfile={}", pwfile.display()))
                .stdout(std::process::Stdio::null())
                .status()
                .context("running initdb")?;
            std::fs::remove_file(&pwfile).ok();
            if !status.success() {
                bail!("initdb failed for {}", data.display());
            }
        }
        let port: u16 = std::fs::read_to_string(&port_file)
            .context("reading the cluster's port")?
            .trim()
            .parse()
            .context("the cluster's port file is corrupt")?;
        let password =
            std::fs::read_to_string(&password_file).context("reading the cluster's password")?;
        Ok(Cluster {
            root,
            bin,
            port,
            password: password.trim().to_owned(),
            run_as,
            started_here: false,
            made_here,
            _lock: lock,
        })
    }

    /// The folder of the server binaries and client tools the cluster runs with.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// Whether this process made the cluster, so that it holds nothing yet.
    pub fn made_here(&self) -> bool {
        self.made_here
    }

    /// The cluster's own folder (its data folder, port, password and socket are in it).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The server's data folder.
    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    pub fn is_running(&self) -> bool {
        self.folder_running(&self.data())
    }

    /// Whether a server runs on the data folder `data`.
    pub fn folder_running(&self, data: &Path) -> bool {
        command(&self.bin, "pg_ctl", self.run_as.as_deref())
            .arg("status")
            .arg("-D")
            .arg(data)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// The server's main process (the postmaster), by the process id its data folder's
    /// `postmaster.pid` names: cheap enough to ask several times a second, where `pg_ctl status`
    /// starts a program (two, as root). A process of another name under that id (the id taken again after
    /// the server died) is not the server.
    pub fn postmaster(&self) -> Postmaster {
        let Ok(lock) = std::fs::read_to_string(self.data().join("postmaster.pid")) else {
            return Postmaster::Gone;
        };
        let Some(pid) = lock
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<u32>().ok())
        else {
            return Postmaster::Gone;
        };
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_or(Postmaster::Gone, |stat| Postmaster::of(&stat))
    }

    /// Gives `path` to the user the server runs as (where that is another user).
    pub fn give_to_server(&self, path: &Path) -> anyhow::Result<()> {
        match &self.run_as {
            Some(user) => chown(user, path),
            None => Ok(()),
        }
    }

    /// Starts the server again (one this process stopped).
    pub fn start_again(&self) -> anyhow::Result<()> {
        self.start_server()
    }

    fn start_server(&self) -> anyhow::Result<()> {
        eprintln!(
            "hotline: starting PostgreSQL on 127.0.0.1:{} ...",
            self.port
        );
        self.start_folder(&self.data(), &self.root.join("server.log"), true)
    }

    /// Starts a server on the data folder `data` as the cluster's (its port, its socket),
    /// logging to `log`, and waits until it accepts connections; without `tcp`, on the socket
    /// alone.
    pub fn start_folder(&self, data: &Path, log: &Path, tcp: bool) -> anyhow::Result<()> {
        let sockets = match self.socket_dir() {
            Some(dir) => {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                // Only the server's user (and root) may enter: the socket is the runtime's.
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
                if let Some(user) = &self.run_as {
                    chown(user, &dir)?;
                }
                dir.display().to_string()
            }
            None => String::new(),
        };
        let options = format!(
            "-p {} -c listen_addresses={} -c unix_socket_directories='{sockets}' -c max_connections=200",
            self.port,
            if tcp { "127.0.0.1" } else { "''" }
        );
        if let Some(user) = &self.run_as
            && !log.exists()
        {
            std::fs::write(log, b"")?;
            chown(user, log)?;
        }
        let status = command(&self.bin, "pg_ctl", self.run_as.as_deref())
            .arg("start")
            .arg("-D")
            .arg(data)
            .arg("-l")
            .arg(log)
            .args(["-w", "-t", "60", "-o", &options])
            .stdout(std::process::Stdio::null())
            // Its "examine the log" adds nothing: a failure shows the log's end.
            .stderr(std::process::Stdio::null())
            .status()
            .context("running pg_ctl start")?;
        if !status.success() {
            let tail = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(10).collect();
            bail!(
                "PostgreSQL did not start; the end of {}:\n{}",
                log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        Ok(())
    }

    /// Stops the server, if this process started it.
    pub fn stop_if_started_here(&self) {
        if self.started_here {
            self.stop();
        }
    }

    pub fn stop(&self) {
        self.stop_folder(&self.data());
    }

    /// Stops the server on the data folder `data`, if one runs.
    pub fn stop_folder(&self, data: &Path) {
        if !self.folder_running(data) {
            return;
        }
        eprintln!("hotline: stopping PostgreSQL ...");
        let _ = command(&self.bin, "pg_ctl", self.run_as.as_deref())
            .arg("stop")
            .arg("-D")
            .arg(data)
            .args(["-m", "fast", "-w"])
            .stdout(std::process::Stdio::null())
            .status();
    }

    /// Whether the server listens on a Unix socket (see `socket_dir`).
    pub fn has_socket(&self) -> bool {
        self.socket_dir().is_some()
    }

    /// The superuser's password, which the cluster's URLs carry.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The folder of the server's Unix socket, inside the cluster's own folder; `None` where the
    /// socket's path would not fit a socket address (107 bytes) or holds characters the server's
    /// options cannot carry, and the server listens on 127.0.0.1 alone.
    fn socket_dir(&self) -> Option<PathBuf> {
        let socket = self.socket();
        let path = socket.to_str()?;
        let plain = path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
        (plain && path.len() <= 107).then(|| self.root.join("socket"))
    }

    /// The server's Unix socket (the file the server makes in `socket_dir`).
    fn socket(&self) -> PathBuf {
        self.root
            .join("socket")
            .join(format!(".s.PGSQL.{}", self.port))
    }

    /// The URL of `database` in this cluster: by its Unix socket when the running server has one
    /// (a server started by an earlier version listens on 127.0.0.1 alone), else by 127.0.0.1.
    /// Host and port stay in the URL either way: they are what `allowed_outbound_hosts` names.
    pub fn url(&self, database: &str) -> String {
        let tcp = format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        );
        match self.socket_dir() {
            Some(dir) if self.socket().exists() => {
                format!("{tcp}?host={}", dir.display())
            }
            _ => tcp,
        }
    }
}

fn command(bin: &Path, program: &str, run_as: Option<&str>) -> Command {
    match run_as {
        Some(user) => {
            let mut command = Command::new("runuser");
            command.args(["-u", user, "--"]).arg(bin.join(program));
            command
        }
        None => Command::new(bin.join(program)),
    }
}

/// Whether `user` can enter `path` (and so every folder above it).
fn reachable_by(user: &str, path: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", user, "--", "test", "-x"])
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

fn chown(user: &str, path: &Path) -> anyhow::Result<()> {
    let status = Command::new("chown")
        .args(["-R", &format!("{user}:{user}")])
        .arg(path)
        .status()
        .context("running chown")?;
    if !status.success() {
        bail!("could not give {} to the `{user}` user", path.display());
    }
    Ok(())
}

/// Creates `database` on the server at `admin_url` if it does not exist.
pub async fn ensure_database(admin_url: &str, database: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .context("connecting to PostgreSQL")?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(database)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        let quoted = format!("\"{}\"", database.replace('"', "\"\""));
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {quoted}")))
            .execute(&mut conn)
            .await
            .with_context(|| format!("creating database {database}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Hold, Postmaster};

    /// Commands that use the cluster hold it together; one that stops or replaces it holds it
    /// alone, refused while any other holds it, and refusing the others meanwhile.
    #[test]
    fn a_cluster_is_stopped_or_restored_only_while_nothing_else_uses_it() {
        let root = std::env::temp_dir().join(format!("hotline-hold-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&root).expect("a folder");
        let serving = Hold::Shared.take(&root).expect("a first user");
        let migrating = Hold::Shared.take(&root).expect("a second user beside it");
        let refused = Hold::Alone.take(&root).expect_err("in use");
        assert!(format!("{refused:#}").contains("the platform serves from this cluster"));
        drop(serving);
        assert!(Hold::Alone.take(&root).is_err(), "still in use by one");
        drop(migrating);
        let restoring = Hold::Alone.take(&root).expect("nothing uses it");
        let refused = Hold::Shared.take(&root).expect_err("being restored");
        assert!(format!("{refused:#}").contains("being stopped or restored"));
        assert!(Hold::Alone.take(&root).is_err(), "one restore at a time");
        drop(restoring);
        assert!(Hold::Shared.take(&root).is_ok());
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn the_server_is_told_from_its_process_state() {
        let running = "20884 (postgres) S 1 20884 20884 0 -1 4194560 1543";
        assert_eq!(Postmaster::of(running), Postmaster::Running);
        assert_eq!(
            Postmaster::of("20884 (postgres) R 1 2 3"),
            Postmaster::Running
        );
        // Ended, not yet reaped.
        assert_eq!(
            Postmaster::of("20884 (postgres) Z 1 20884"),
            Postmaster::Ended
        );
        // The id taken again by another program, whose name may hold parentheses and spaces.
        assert_eq!(Postmaster::of("20884 (sh) S 1 2 3"), Postmaster::Gone);
        assert_eq!(
            Postmaster::of("20884 (a (postgres) b) S 1"),
            Postmaster::Gone
        );
        assert_eq!(Postmaster::of("20884 (postgres) ) S 1"), Postmaster::Gone);
        assert_eq!(Postmaster::of(""), Postmaster::Gone);
    }
}
