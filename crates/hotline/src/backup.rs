//! `hotline db backup` and `hotline db restore`: the platform's database to a file and back, with
//! PostgreSQL's own tools, so that a machine lost costs the work since the last backup, not the
//! city's history.
//!
//! - A backup is `pg_dump`'s custom format (compressed; every table, the migrations applied
//!   included), as of the moment it starts: `pg_dump` reads one snapshot, so the platform goes on
//!   serving meanwhile and the file holds no half-made change. It is written under a name of its
//!   own (`<file>.partial`), flushed to disk and only then given its name, so a file with the
//!   name is a whole backup; a name already taken is refused, never written over.
//! - A restore is `pg_restore` in one transaction: it restores all or nothing. Into the private
//!   cluster, it restores into a new database and, once that is whole, gives it the platform's
//!   database's name; the database it replaces is kept under another name (printed), for its
//!   operator to drop when sure. It refuses while the platform is connected to the database.
//!   Into a server of one's own (`--database-url`), the database must hold no tables yet. A backup
//!   of an earlier version is migrated forward when the platform next starts.
//! - The password is given to the tools in their environment (`PGPASSWORD`), not on their command
//!   line, which every user of the machine can read.

use crate::cluster::Cluster;
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The database the platform serves from in the private cluster.
pub const PLATFORM_DATABASE: &str = "hotline";

/// Where a restore into the private cluster is made before it takes the platform database's name.
const RESTORING: &str = "hotline_restoring";

/// `url` without its password, and the password (percent-decoded), if it has one.
pub fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    let Some((user, password)) = user_info.split_once(':') else {
        return (url.to_owned(), None);
    };
    (
        format!("{scheme}://{user}@{host}{tail}"),
        Some(percent_decoded(password)),
    )
}

/// `text` with each `%XX` replaced by the byte it stands for.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A PostgreSQL client tool (`pg_dump`, `pg_restore`) of `bin` for the database at `url`.
fn tool(bin: &Path, program: &str, url: &str) -> Command {
    let (url, password) = split_password(url);
    let mut command = Command::new(bin.join(program));
    command.arg("--no-password").arg("--dbname").arg(url);
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command
}

/// Runs `command` (a tool run with `--verbose`), printing as progress the lines `progress` makes
/// of its report; its error lines if it fails.
fn run(
    mut command: Command,
    what: &str,
    progress: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<()> {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {what}"))?;
    let mut errors = Vec::new();
    if let Some(report) = child.stderr.take() {
        for line in BufReader::new(report).lines() {
            let line = line.unwrap_or_default();
            if let Some(step) = progress(&line) {
                eprintln!("hotline: {step}");
            } else if line.contains("error") || line.contains("FATAL") || line.contains("fatal") {
                errors.push(line);
            }
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for {what}"))?;
    if !status.success() {
        bail!("{what} failed: {}", errors.join("; "));
    }
    Ok(())
}

/// The table a verbose `pg_dump` or `pg_restore` line says it reads or writes (`public.x`), and
/// the index it builds.
fn step(line: &str, verb: &str) -> Option<String> {
    let quoted = |after: &str| {
        line.split_once(after)
            .map(|(_, rest)| rest.trim().trim_matches('"').to_owned())
    };
    quoted("dumping contents of table ")
        .or_else(|| quoted("processing data for table "))
        .map(|table| format!("{verb} {table}"))
        .or_else(|| quoted("creating INDEX ").map(|index| format!("building index {index}")))
}

/// Writes the database at `url` to `file` (not there yet), with the tools of `bin`; its size.
/// Each table is told as progress unless `quiet` (a backup taken while serving).
pub fn backup(bin: &Path, url: &str, file: &Path, quiet: bool) -> anyhow::Result<u64> {
    if file.exists() {
        bail!(
            "{} exists: name a new file (a backup is never written over)",
            file.display()
        );
    }
    if file.file_name().is_none() {
        bail!("{} is not a file's name", file.display());
    }
    let partial = partial_of(file);
    let mut command = tool(bin, "pg_dump", url);
    command
        .args(["--format=custom", "--verbose", "--file"])
        .arg(&partial);
    let progress = |line: &str| step(line, "backing up").filter(|_| !quiet);
    let written = run(command, "pg_dump", progress).and_then(|()| {
        // On disk before it has its name, and the name on disk before this says it is done.
        std::fs::File::open(&partial)?.sync_all()?;
        std::fs::rename(&partial, file)?;
        if let Some(folder) = file.parent().filter(|f| !f.as_os_str().is_empty()) {
            std::fs::File::open(folder)?.sync_all()?;
        }
        Ok(std::fs::metadata(file)?.len())
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// Checks that `file` is a backup `pg_restore` can read.
fn check_archive(bin: &Path, file: &Path) -> anyhow::Result<()> {
    let listed = Command::new(bin.join("pg_restore"))
        .arg("--list")
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("running pg_restore")?;
    if !listed.status.success() {
        bail!(
            "{} is not a backup made by `hotline db backup` (pg_dump's custom format): {}",
            file.display(),
            String::from_utf8_lossy(&listed.stderr).trim()
        );
    }
    Ok(())
}

/// Restores `file` into the database at `url`, all or nothing.
fn pg_restore(bin: &Path, url: &str, file: &Path) -> anyhow::Result<()> {
    let mut command = tool(bin, "pg_restore", url);
    command
        .args([
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-acl",
            "--verbose",
        ])
        .arg(file);
    run(command, "pg_restore", |line| step(line, "restoring"))
}

/// Restores `file` into the database at `url` (one of a server of one's own), which must hold no
/// tables but those of extensions.
pub async fn restore_into_empty(bin: &Path, url: &str, file: &Path) -> anyhow::Result<()> {
    use sqlx::Connection;
    check_archive(bin, file)?;
    let mut db = sqlx::PgConnection::connect(url)
        .await
        .context("connecting to the database")?;
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where c.relkind in ('r', 'p') \
           and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' \
           and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass \
                           and d.objid = c.oid and d.deptype = 'e')",
    )
    .fetch_one(&mut db)
    .await?;
    db.close().await.ok();
    if tables > 0 {
        bail!(
            "the database holds {tables} tables already: a backup is restored into an empty \
             database (create one, restore into it, then point DATABASE_URL at it)"
        );
    }
    pg_restore(bin, url, file)
}

/// Restores `file` into the private cluster in place of the platform's database, which is kept
/// under another name (returned; `None` if there was none).
pub async fn restore_private(cluster: &Cluster, file: &Path) -> anyhow::Result<Option<String>> {
    use sqlx::Connection;
    check_archive(cluster.bin(), file)?;
    let mut admin = sqlx::PgConnection::connect(&cluster.url("postgres"))
        .await
        .context("connecting to the private cluster")?;
    let in_use: i64 =
        // Clients only: PostgreSQL ends an autovacuum worker itself when the database is renamed.
        sqlx::query_scalar(
            "select count(*) from pg_stat_activity where datname = $1 and backend_type = 'client backend'",
        )
            .bind(PLATFORM_DATABASE)
            .fetch_one(&mut admin)
            .await?;
    if in_use > 0 {
        bail!(
            "the database is in use ({in_use} connections): stop the platform (`hotline serve`) \
             and restore again; nothing was changed"
        );
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {RESTORING}"
    )))
    .execute(&mut admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {RESTORING}")))
        .execute(&mut admin)
        .await?;
    if let Err(error) = pg_restore(cluster.bin(), &cluster.url(RESTORING), file) {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("drop database {RESTORING}")))
            .execute(&mut admin)
            .await;
        return Err(error.context("nothing was changed"));
    }
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(PLATFORM_DATABASE)
            .fetch_one(&mut admin)
            .await?;
    let kept = if exists {
        let kept = format!(
            "{PLATFORM_DATABASE}_before_restore_{}",
            chrono::Utc::now().format("%Y%m%d%H%M%S")
        );
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "alter database {PLATFORM_DATABASE} rename to {kept}"
        )))
        .execute(&mut admin)
        .await
        .with_context(|| {
            format!(
                "setting the database aside (the restored one is ready as {RESTORING}; stop \
                 the platform and restore again)"
            )
        })?;
        Some(kept)
    } else {
        None
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "alter database {RESTORING} rename to {PLATFORM_DATABASE}"
    )))
    .execute(&mut admin)
    .await?;
    Ok(kept)
}

/// Where the backup of `file` is written first.
pub fn partial_of(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    file.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        assert_eq!(
            split_password("postgres://hotline:s3cret@127.0.0.1:5432/hotline?host=/run/pg"),
            (
                "postgres://hotline@127.0.0.1:5432/hotline?host=/run/pg".to_owned(),
                Some("s3cret".to_owned())
            )
        );
        // Encoded as a URL must; an `@` in it does not end it.
        assert_eq!(
            split_password("postgresql://me:p%40ss%3Aw@db.example:5432/city"),
            (
                "postgresql://me@db.example:5432/city".to_owned(),
                Some("p@ss:w".to_owned())
            )
        );
        for url in [
            "postgres://me@db/city",
            "postgres://db/city",
            "host=/run/pg dbname=city",
        ] {
            assert_eq!(split_password(url), (url.to_owned(), None));
        }
        assert_eq!(percent_decoded("100%"), "100%");
    }

    #[test]
    fn verbose_lines_are_told_as_progress() {
        assert_eq!(
            step(
                "pg_dump: dumping contents of table \"public.work_orders\"",
                "backing up"
            )
            .as_deref(),
            Some("backing up public.work_orders")
        );
        assert_eq!(
            step(
                "pg_restore: processing data for table \"public.citizens\"",
                "restoring"
            )
            .as_deref(),
            Some("restoring public.citizens")
        );
        assert_eq!(
            step(
                "pg_restore: creating INDEX \"public.work_orders_words\"",
                "restoring"
            )
            .as_deref(),
            Some("building index public.work_orders_words")
        );
        assert_eq!(step("pg_dump: reading extensions", "backing up"), None);
        assert_eq!(
            partial_of(Path::new("/b/city.dump")),
            Path::new("/b/city.dump.partial")
        );
    }
}
