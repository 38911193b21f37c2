//! Backups while serving (`hotline serve --backup-dir`): one every `--backup-every-seconds` (a
//! day by default), the newest `--backup-keep` kept, so that a machine that runs the platform alone
//! loses at most that much work with its disk, without a cron job someone must remember.
//!
//! - Each is a `hotline db backup` (`backup::backup`: one snapshot, written under another name
//!   and given its own only once whole), named `hotline-<UTC time>.dump` so that names sort as
//!   times do, and restored with `hotline db restore` like any other.
//! - The next is due one interval after the newest in the folder, so a restart neither takes one
//!   at once nor puts the next off; a failed one is tried again after [`RETRY`] (or the interval,
//!   when shorter), and counted in the metrics.
//! - Only this schedule's files are pruned or cleaned up (a `.partial` left by a stop or crash in
//!   the middle of one); other files in the folder, backups named by hand included, are left alone.
//! - On stop, no new backup starts; one under way is waited for as the schedules' runs are (the
//!   request time limit and a second). One cut short (by then, or by a crash) leaves only its
//!   `.partial`, never a file with a backup's name, and the next start removes it.
//! - The same schedule takes the archive's base backups (`--archive-dir`, [`Kind::Base`]):
//!   folders named `hotline-<UTC time>`, the next due at once when the newest began before the
//!   stream the archive receives now (`archive`), and the log only removed ones needed removed
//!   with them.

use crate::backup;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// How long after a failed backup the next is tried, at the most.
pub const RETRY: Duration = Duration::from_secs(300);

const PREFIX: &str = "hotline-";
const TIME: &str = "%Y%m%dT%H%M%SZ";

/// What the schedule is asked to do.
pub struct Schedule {
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: usize,
    pub kind: Kind,
}

/// What the schedule takes.
#[derive(Clone)]
pub enum Kind {
    /// `hotline db backup`'s files (`hotline-<time>.dump`).
    Dump,
    /// The archive's base backups (folders `hotline-<time>` in its `base`).
    Base(Arc<crate::archive::Archive>),
}

impl Kind {
    fn suffix(&self) -> &'static str {
        match self {
            Kind::Dump => ".dump",
            Kind::Base(_) => "",
        }
    }

    fn take(&self, bin: &Path, url: &str, target: &Path) -> anyhow::Result<u64> {
        match self {
            Kind::Dump => backup::backup(bin, url, target, true),
            Kind::Base(_) => crate::archive::base_backup(bin, url, target),
        }
    }

    fn remove(&self, path: &Path) -> std::io::Result<()> {
        match self {
            Kind::Dump => std::fs::remove_file(path),
            Kind::Base(_) => std::fs::remove_dir_all(path),
        }
    }

    /// Whether the newest backup, begun at `newest`, puts off the next: a base backup does only
    /// if begun in the stream being received (a new stream needs one at once).
    fn counts(&self, newest: DateTime<Utc>) -> bool {
        match self {
            Kind::Dump => true,
            Kind::Base(archive) => newest >= archive.stream_began,
        }
    }
}

/// What the metrics say of it (`hotline_backup_*`, `hotline_archive_base_*`).
pub struct Metrics {
    pub every: Duration,
    /// When the newest backup in the folder was taken (0: none yet), in ms since the epoch.
    pub last_success_ms: AtomicU64,
    pub last_size_bytes: AtomicU64,
    pub last_duration_ms: AtomicU64,
    pub failures: AtomicU64,
}

/// A scheduled backup's file name: when it was begun.
fn name_at(at: DateTime<Utc>, suffix: &str) -> String {
    format!("{PREFIX}{}{suffix}", stamp(at))
}

/// When a scheduled backup's file name says it was begun; `None` for any other name.
fn time_of(name: &str, suffix: &str) -> Option<DateTime<Utc>> {
    time_between(name, PREFIX, suffix)
}

/// The UTC time (to the second) `name` holds between `prefix` and `suffix`, if it does.
fn time_between(name: &str, prefix: &str, suffix: &str) -> Option<DateTime<Utc>> {
    let stamp = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    NaiveDateTime::parse_from_str(stamp, TIME)
        .ok()
        .map(|t| t.and_utc())
}

/// The scheduled backups in `dir`, oldest first.
fn backups_in(dir: &Path, suffix: &str) -> std::io::Result<Vec<(DateTime<Utc>, PathBuf)>> {
    dated(dir, PREFIX, suffix)
}

/// What `dir` holds named `<prefix><UTC time><suffix>`, oldest first, with those times.
pub fn dated(
    dir: &Path,
    prefix: &str,
    suffix: &str,
) -> std::io::Result<Vec<(DateTime<Utc>, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str());
        if let Some(at) = name.and_then(|n| time_between(n, prefix, suffix)) {
            found.push((at, path));
        }
    }
    found.sort();
    Ok(found)
}

/// A UTC time as the schedule's names (and the archive's folders) write it, to the second.
pub fn stamp(at: DateTime<Utc>) -> String {
    at.format(TIME).to_string()
}

/// Removes the scheduled backups of `dir` but the newest `keep` (for base backups, with the log
/// only they needed); how many it removed.
fn prune(dir: &Path, keep: usize, kind: &Kind) -> anyhow::Result<usize> {
    let backups = backups_in(dir, kind.suffix())?;
    let old = backups.len().saturating_sub(keep);
    for (_, path) in &backups[..old] {
        kind.remove(path)?;
    }
    if let (Kind::Base(archive), Some((began, oldest))) = (kind, backups.get(old)) {
        crate::archive::prune_log(&archive.dir, oldest, *began)?;
    }
    Ok(old)
}

/// Removes what a scheduled backup cut short left (`hotline-<time>.dump.partial`).
fn clean_up(dir: &Path, kind: &Kind) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let left = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".partial"))
            .and_then(|n| time_of(n, kind.suffix()));
        if left.is_some() {
            kind.remove(&path)?;
        }
    }
    Ok(())
}

/// Makes `dir` if it is missing, and checks that this process can write in it.
pub fn writable(dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("making {}", dir.display()))?;
    let probe = dir.join(".hotline-write-test");
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .with_context(|| format!("{} is not writable", dir.display()))
}

/// Checks the folder (made if missing, writable), cleans it up, and sets up the metrics from the
/// backups already in it.
pub fn prepare(schedule: &Schedule) -> anyhow::Result<Arc<Metrics>> {
    use anyhow::Context;
    let dir = &schedule.dir;
    writable(dir)?;
    clean_up(dir, &schedule.kind).with_context(|| format!("cleaning up {}", dir.display()))?;
    let newest = backups_in(dir, schedule.kind.suffix())?
        .last()
        .map(|(at, _)| *at);
    Ok(Arc::new(Metrics {
        every: schedule.every,
        last_success_ms: AtomicU64::new(newest.map_or(0, |at| at.timestamp_millis() as u64)),
        last_size_bytes: AtomicU64::new(0),
        last_duration_ms: AtomicU64::new(0),
        failures: AtomicU64::new(0),
    }))
}

/// Runs the schedule until `stop` says so: the database at `url`, with the tools of `bin`.
pub fn start(
    bin: PathBuf,
    url: String,
    schedule: Schedule,
    metrics: Arc<Metrics>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut failed_at: Option<DateTime<Utc>> = None;
        loop {
            let now = Utc::now();
            let newest = backups_in(&schedule.dir, schedule.kind.suffix())
                .ok()
                .and_then(|b| b.last().map(|(at, _)| *at))
                .filter(|at| schedule.kind.counts(*at));
            let mut due = newest.map_or(now, |at| at + schedule.every);
            if let Some(failed) = failed_at {
                due = due.max(failed + schedule.every.min(RETRY));
            }
            let wait = (due - now).to_std().unwrap_or_default();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|stopping| *stopping) => return,
            }
            let began = Utc::now();
            let file = schedule.dir.join(name_at(began, schedule.kind.suffix()));
            let (bin, url, written) = (bin.clone(), url.clone(), file.clone());
            let kind = schedule.kind.clone();
            let result = tokio::task::spawn_blocking(move || kind.take(&bin, &url, &written))
                .await
                .unwrap_or_else(|e| Err(anyhow::anyhow!("the backup's thread: {e}")));
            let took = (Utc::now() - began).to_std().unwrap_or_default();
            match result {
                Ok(size) => {
                    failed_at = None;
                    metrics
                        .last_success_ms
                        .store(began.timestamp_millis() as u64, Relaxed);
                    metrics.last_size_bytes.store(size, Relaxed);
                    metrics
                        .last_duration_ms
                        .store(took.as_millis() as u64, Relaxed);
                    let pruned = prune(&schedule.dir, schedule.keep, &schedule.kind);
                    tracing::info!(
                        file = %file.display(),
                        bytes = size,
                        elapsed_ms = took.as_millis() as u64,
                        removed = pruned.as_ref().map_or(0, |n| *n),
                        "backed up"
                    );
                    if let Err(e) = pruned {
                        tracing::error!(dir = %schedule.dir.display(), "removing old backups: {e:#}");
                    }
                }
                Err(e) => {
                    failed_at = Some(began);
                    metrics.failures.fetch_add(1, Relaxed);
                    tracing::error!(file = %file.display(), "backup failed: {e:#}");
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_when_and_sort_as_times_do() {
        let at = DateTime::parse_from_rfc3339("2026-12-06T03:04:05Z")
            .expect("a time")
            .to_utc();
        assert_eq!(name_at(at, ".dump"), "hotline-20261206T030405Z.dump");
        assert_eq!(time_of(&name_at(at, ".dump"), ".dump"), Some(at));
        assert_eq!(time_of("hotline-20261206T030405Z", ""), Some(at));
        for other in [
            "city.dump",
            "hotline-20261206T030405Z.dump.partial",
            "hotline-yesterday.dump",
            "hotline-20261206T030405Z.sql",
        ] {
            assert_eq!(time_of(other, ".dump"), None, "{other}");
        }
    }

    #[test]
    fn only_the_schedules_own_old_files_are_removed() {
        let dir = std::env::temp_dir().join(format!("hotline-prune-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder");
        let names = [
            "hotline-20261201T000000Z.dump",
            "hotline-20261202T000000Z.dump",
            "hotline-20261203T000000Z.dump",
            "hotline-20261204T000000Z.dump.partial",
            "by-hand.dump",
        ];
        for name in names {
            std::fs::write(dir.join(name), b"x").expect("written");
        }
        assert_eq!(prune(&dir, 2, &Kind::Dump).expect("pruned"), 1);
        clean_up(&dir, &Kind::Dump).expect("cleaned up");
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .expect("listed")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "by-hand.dump",
                "hotline-20261202T000000Z.dump",
                "hotline-20261203T000000Z.dump"
            ]
        );
        std::fs::remove_dir_all(&dir).expect("removed");
    }
}
