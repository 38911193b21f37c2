//! `hotline db backup` and `hotline db restore`: a database to a file and back, whole or not at
//! all, never over a backup or a database that holds something.

use std::path::{Path, PathBuf};
use tests::{Platform, valid_request};

/// `hotline` run with `args` (in the workspace, for its `migrations`): whether it succeeded, and
/// what it wrote to its standard output and error.
async fn hotline(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = tokio::process::Command::new(tests::hotline_binary())
        .args(args)
        .current_dir(tests::workspace_root())
        .env_remove("DATABASE_URL")
        .output()
        .await
        .expect("hotline runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A folder of the test's own, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new(name: &str) -> Folder {
        let path = tests::workspace_root()
            .join("target/test-data")
            .join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("a folder");
        Folder(path)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a database holds, in a few figures: the orders (by number, with their places), their
/// events, notifications, citizens and districts' boundaries, and the last migration applied.
async fn contents(url: &str) -> Vec<String> {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(url)
        .await
        .expect("the database");
    sqlx::query_scalar(
        "select x::text from unnest(array[ \
           (select string_agg(tracking_number || ' ' || coalesce(st_astext(location), ''), ',' \
                              order by tracking_number) from work_orders), \
           (select count(*)::text from work_order_events), \
           (select count(*)::text from notifications), \
           (select count(*)::text from citizens), \
           (select md5(string_agg(st_astext(boundary), ',' order by district_id)) from districts), \
           (select max(version)::text from _sqlx_migrations)]) x",
    )
    .fetch_all(&mut db)
    .await
    .expect("the contents")
}

/// The text column `query` reads from the database at `url`.
async fn texts(url: &str, query: &'static str) -> Vec<String> {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(url)
        .await
        .expect("the database");
    sqlx::query_scalar(query)
        .fetch_all(&mut db)
        .await
        .expect("the rows")
}

/// How many tables a database holds, but PostGIS's own.
async fn tables(url: &str) -> i64 {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(url)
        .await
        .expect("the database");
    sqlx::query_scalar(
        "select count(*) from pg_tables where schemaname = 'public' and tablename <> 'spatial_ref_sys'",
    )
    .fetch_one(&mut db)
    .await
    .expect("the tables")
}

fn os(text: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(text)
}

/// Waits for `count` whole base backups in `folder` (at most a minute), and checks there are no
/// more.
async fn whole_bases(folder: &Path, count: usize) {
    for _ in 0..600 {
        let whole = files(folder)
            .iter()
            .filter(|n| !n.ends_with(".partial"))
            .count();
        if whole >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(files(folder).len(), count, "{:?}", files(folder));
}

/// Waits for the archive's receiver to have flushed the server's log as far as it is written now
/// (at most thirty seconds).
async fn received(db: &sqlx::PgPool) {
    let written: String = sqlx::query_scalar("select pg_current_wal_lsn()::text")
        .fetch_one(db)
        .await
        .expect("the log's position");
    for _ in 0..300 {
        let received: bool = sqlx::query_scalar(
            "select coalesce(bool_or(flush_lsn >= $1::pg_lsn), false) from pg_stat_replication",
        )
        .bind(&written)
        .fetch_one(db)
        .await
        .expect("the receiver's position");
        if received {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the log was not received as far as {written}");
}

fn owned(args: &[&std::ffi::OsStr]) -> Vec<std::ffi::OsString> {
    args.iter().map(|&arg| arg.to_owned()).collect()
}

#[tokio::test]
async fn a_backup_restores_whole_into_an_empty_database_and_nowhere_else() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    for title in ["路灯不亮", "噪音扰民"] {
        let mut request = valid_request();
        request.title = title.into();
        citizen.create_request(&request, None).await.expect("filed");
    }
    let url = platform.database_url();
    let folder = Folder::new("backup");
    let file = folder.0.join("city.dump");

    let backup = [
        os("db"),
        os("backup"),
        file.as_os_str(),
        os("--database-url"),
        os(&url),
    ];
    let (ok, _, said) = hotline(&backup).await;
    assert!(ok, "{said}");
    assert!(said.contains("backing up public.work_orders"), "{said}");
    // The file alone, under its name (not the one it was written under).
    assert_eq!(files(&folder.0), ["city.dump"]);
    let written = std::fs::read(&file).expect("the backup");
    // A backup is never written over.
    let (ok, _, said) = hotline(&backup).await;
    assert!(!ok && said.contains("exists"), "{said}");
    assert_eq!(std::fs::read(&file).expect("the backup"), written);

    // Restored into an empty database, it holds what the platform's did.
    let restored = platform.empty_database("restored").await;
    let restore = |file: &Path, into: &str| {
        let (file, into) = (file.as_os_str().to_owned(), into.to_owned());
        async move {
            hotline(&[
                os("db"),
                os("restore"),
                &file,
                os("--database-url"),
                os(&into),
            ])
            .await
        }
    };
    let (ok, _, said) = restore(&file, &restored).await;
    assert!(ok, "{said}");
    let before = contents(&url).await;
    assert!(before[0].contains("POINT("), "{before:?}");
    assert_eq!(contents(&restored).await, before);
    // Not into a database that holds something: the platform's, or the one just restored.
    for into in [&url, &restored] {
        let (ok, _, said) = restore(&file, into).await;
        assert!(!ok && said.contains("holds"), "{said}");
        assert_eq!(contents(into).await, before);
    }

    // A backup damaged in its data restores nothing at all: the tables restored before the
    // damage was read are gone with the rest.
    let damaged = folder.0.join("damaged.dump");
    let mut copy = written.clone();
    let at = copy.len() - copy.len() / 20;
    for byte in &mut copy[at..at + 64] {
        *byte ^= 0x5a;
    }
    std::fs::write(&damaged, &copy).expect("a damaged copy");
    let empty = platform.empty_database("damaged").await;
    let (ok, _, said) = restore(&damaged, &empty).await;
    assert!(!ok && said.contains("pg_restore failed"), "{said}");
    assert_eq!(tables(&empty).await, 0);
    // One cut short, or a file that is no backup, is named as such.
    let cut = folder.0.join("cut.dump");
    std::fs::write(&cut, &written[..written.len() / 2]).expect("a cut copy");
    let (ok, _, said) = restore(&cut, &empty).await;
    assert!(!ok && said.contains("is not a backup"), "{said}");
    let text = folder.0.join("notes.txt");
    std::fs::write(&text, "不是备份").expect("a text file");
    let (ok, _, said) = restore(&text, &empty).await;
    assert!(!ok && said.contains("is not a backup"), "{said}");
    assert_eq!(tables(&empty).await, 0);
}

/// The names of the files in `folder`, in order.
fn files(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .expect("the folder")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// The private cluster (`--data-dir`), stopped when dropped.
struct Cluster {
    folder: Folder,
}

impl Cluster {
    fn data_dir(&self) -> &std::ffi::OsStr {
        self.folder.0.as_os_str()
    }

    /// Starts the server (making the cluster the first time); the URL of its `postgres`
    /// database.
    async fn start(&self) -> String {
        let start = [
            os("--data-dir"),
            self.data_dir(),
            os("db"),
            os("start"),
            os("--database"),
            os("postgres"),
        ];
        let (ok, admin, said) = hotline(&start).await;
        assert!(ok, "{said}");
        admin.trim().to_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new(tests::hotline_binary())
            .arg("--data-dir")
            .arg(&self.folder.0)
            .args(["db", "stop"])
            .output();
    }
}

#[tokio::test]
async fn restoring_the_private_cluster_keeps_the_database_it_replaces() {
    use sqlx::Connection;
    let cluster = Cluster {
        folder: Folder::new("private-cluster"),
    };
    let data_dir = cluster.data_dir();
    let (ok, url, said) = hotline(&[os("--data-dir"), data_dir, os("db"), os("start")]).await;
    assert!(ok, "{said}");
    let url = url.trim().to_owned();
    let (ok, _, said) = hotline(&[os("--data-dir"), data_dir, os("migrate")]).await;
    assert!(ok, "{said}");
    let citizen = |name: &str| {
        format!("insert into citizens (citizen_id, subject) values (gen_random_uuid(), '{name}')")
    };
    let subjects =
        async |url: &str| texts(url, "select subject from citizens order by subject").await;
    let mut db = sqlx::PgConnection::connect(&url)
        .await
        .expect("the database");
    tests::execute_all(&mut db, &[&citizen("before-backup")], "a citizen").await;
    let file = cluster.folder.0.join("city.dump");
    let (ok, _, said) = hotline(&[
        os("--data-dir"),
        data_dir,
        os("db"),
        os("backup"),
        file.as_os_str(),
    ])
    .await;
    assert!(ok, "{said}");
    tests::execute_all(&mut db, &[&citizen("after-backup")], "a citizen").await;

    // Not while the platform (here, a connection) uses the database.
    let restore = [
        os("--data-dir"),
        data_dir,
        os("db"),
        os("restore"),
        file.as_os_str(),
    ];
    let (ok, _, said) = hotline(&restore).await;
    assert!(!ok && said.contains("in use"), "{said}");
    db.close().await.expect("closed");
    assert_eq!(subjects(&url).await, ["after-backup", "before-backup"]);

    let (ok, _, said) = hotline(&restore).await;
    assert!(ok, "{said}");
    assert_eq!(subjects(&url).await, ["before-backup"]);
    let kept = said
        .split('`')
        .find(|word| word.starts_with("hotline_before_restore_"))
        .unwrap_or_else(|| panic!("the kept database is named: {said}"));
    let kept_url = tests::with_database(&url, kept).expect("the kept database's URL");
    assert_eq!(subjects(&kept_url).await, ["after-backup", "before-backup"]);
}

/// `hotline serve --backup-dir`: backups taken on schedule while the platform serves, the newest
/// kept, each restorable; what a backup cut short left is cleaned up, and files of other names are
/// left alone.
#[tokio::test]
async fn the_platform_backs_itself_up_while_serving() {
    let folder = Folder::new("scheduled");
    let left = "hotline-20261201T000000Z.dump.partial";
    for name in [left, "by-hand.dump"] {
        std::fs::write(folder.0.join(name), b"x").expect("written");
    }
    let platform = Platform::start_with(tests::Options {
        serve_args: owned(&[
            os("--backup-dir"),
            folder.0.as_os_str(),
            os("--backup-every-seconds"),
            os("1"),
            os("--backup-keep"),
            os("2"),
        ]),
        ..tests::Options::default()
    })
    .await
    .expect("platform");
    platform
        .client("citizen-1", "citizen")
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    let filed = chrono::Utc::now();
    let begun = |name: &str| {
        let stamp = name
            .trim_start_matches("hotline-")
            .trim_end_matches(".dump");
        chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
            .expect("a scheduled backup's name")
            .and_utc()
    };

    // Three backups at least (a second apart), of which the newest two are kept; and one begun
    // after the filing (its name is to the second).
    let scheduled = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .filter(|n| n.starts_with("hotline-") && n.ends_with(".dump"))
            .cloned()
            .collect()
    };
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..300 {
        seen.extend(scheduled(&files(&folder.0)));
        if seen.len() >= 3 && seen.last().is_some_and(|n| begun(n) > filed) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen.len() >= 3, "{seen:?}");
    // A new backup is in place a moment before the oldest is removed: the folder is read again
    // (for up to a second) until it is not caught in that moment.
    let mut now = files(&folder.0);
    for _ in 0..50 {
        if scheduled(&now).len() <= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        now = files(&folder.0);
    }
    let kept = scheduled(&now);
    assert_eq!(kept.len(), 2, "{now:?}");
    assert!(now.contains(&"by-hand.dump".to_owned()), "{now:?}");
    assert!(!now.iter().any(|n| n == left), "{now:?}");
    let newest = folder.0.join(&kept[1]);
    let samples = platform.metrics().await;
    assert_eq!(samples.get("hotline_backup_failures_total"), Some(&0.0));
    assert_eq!(samples.get("hotline_backup_interval_seconds"), Some(&1.0));
    assert!(
        samples["hotline_backup_last_size_bytes"] > 10_000.0,
        "{samples:?}"
    );
    assert!(
        samples["hotline_backup_last_success_timestamp_seconds"]
            > (chrono::Utc::now() - chrono::Duration::seconds(60)).timestamp() as f64,
        "{samples:?}"
    );
    let restored = platform.empty_database("scheduled").await;
    let (ok, _, said) = hotline(&[
        os("db"),
        os("restore"),
        newest.as_os_str(),
        os("--database-url"),
        os(&restored),
    ])
    .await;
    assert!(ok, "{said}");
    let held = contents(&restored).await;
    assert!(held[0].starts_with("ZMD-"), "{held:?}");
}

/// `hotline serve --archive-dir` and `hotline db restore --archive`: the private cluster rebuilt
/// as it was at a moment between two filings, and as far as the archive reaches, though neither
/// filing was in a base backup; never from before the archive's oldest base backup.
#[tokio::test]
async fn the_archive_restores_the_cluster_as_it_was_at_any_moment() {
    use sqlx::Connection;
    let cluster = Cluster {
        folder: Folder::new("archived-cluster"),
    };
    let data_dir = cluster.data_dir();
    let admin = cluster.start().await;
    let archive = cluster.folder.0.join("archive");
    let mut platform = Platform::start_with(tests::Options {
        admin_url: Some(admin.clone()),
        serve_args: owned(&[os("--archive-dir"), archive.as_os_str()]),
        ..tests::Options::default()
    })
    .await
    .expect("platform");
    // The first base backup is taken at once, before any request is filed.
    let base = archive.join("base");
    whole_bases(&base, 1).await;

    let citizen = platform.client("citizen-1", "citizen");
    let mut request = valid_request();
    request.title = "路灯不亮".into();
    let first = citizen.create_request(&request, None).await.expect("filed");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let until = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    // The runtime crashes (its receiver is left running, orphaned) and starts again: the new
    // runtime ends the old receiver and goes on with the same stream, which the slot kept whole,
    // and no new base backup.
    platform.crash_and_restart().await.expect("restarted");
    let streams = files(&archive.join("wal"));
    assert_eq!(streams.len(), 1, "{streams:?}");
    let mut up = false;
    for _ in 0..300 {
        up = platform.metrics().await.get("hotline_archive_receiver_up") == Some(&1.0);
        if up {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the receiver is not up again");
    request.title = "噪音扰民".into();
    let second = citizen.create_request(&request, None).await.expect("filed");
    // Received: the receiver has flushed the server's log past the second filing.
    received(&platform.db).await;
    assert_eq!(files(&archive.join("wal")), streams);
    assert_eq!(files(&base).len(), 1, "{:?}", files(&base));
    let samples = platform.metrics().await;
    assert_eq!(samples.get("hotline_archive_receiver_up"), Some(&1.0));
    assert_eq!(
        samples.get("hotline_archive_base_failures_total"),
        Some(&0.0)
    );
    // The base backup taken before the crash is the newest (none since the restart).
    let newest = samples["hotline_archive_base_last_success_timestamp_seconds"];
    assert!(
        newest > 0.0 && newest < until.timestamp() as f64,
        "{newest}"
    );

    // The platform stops (its receiver with it) and the cluster with it; the disk is lost, say.
    let status = platform
        .terminate(std::time::Duration::from_secs(30))
        .await
        .expect("stopped");
    assert!(status.success(), "{status:?}");
    // Its slot stays, unused (once the server has seen the receiver go), so that the server
    // keeps its log for the next start's receiver.
    let mut slots: Vec<(String, bool)> = Vec::new();
    for _ in 0..100 {
        slots = sqlx::query_as("select slot_name::text, active from pg_replication_slots")
            .fetch_all(&platform.db)
            .await
            .expect("the slots");
        if slots.iter().all(|(_, active)| !active) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(slots.len(), 1, "{slots:?}");
    assert!(
        slots[0].0.starts_with("hotline_archive_t_") && !slots[0].1,
        "{slots:?}"
    );
    platform.db.close().await;
    // The archive holds nothing after this.
    let end = chrono::Utc::now();
    let url = platform.database_url();
    let orders = async |url: &str| {
        texts(
            url,
            "select tracking_number from work_orders order by tracking_number",
        )
        .await
    };
    let restore_in = |data_dir: &std::ffi::OsStr, until: Option<String>| {
        let mut args: Vec<std::ffi::OsString> = vec![
            "--data-dir".into(),
            data_dir.to_owned(),
            "db".into(),
            "restore".into(),
            "--archive".into(),
            archive.clone().into(),
        ];
        if let Some(until) = until {
            args.extend(["--until".into(), until.into()]);
        }
        async move {
            let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
            hotline(&args).await
        }
    };
    let restore = |until: Option<String>| restore_in(data_dir, until);

    // As at the moment between the filings: the first alone. The restore stops the cluster,
    // which no one uses now, itself.
    let (ok, _, said) = restore(Some(until.to_rfc3339())).await;
    assert!(ok, "{said}");
    assert!(said.contains("kept as"), "{said}");
    cluster.start().await;
    assert_eq!(
        orders(&url).await,
        std::slice::from_ref(&first.tracking_number)
    );

    // The disk is lost: on a new machine (a new cluster, whose port and password are its own),
    // the archive restores as far as it reaches: both, the second from the segment that was
    // being received.
    let on_a_new_machine = async |database_url: &str, until: Option<String>| {
        let elsewhere = Cluster {
            folder: Folder::new("new-machine"),
        };
        let (ok, _, told) = restore_in(elsewhere.data_dir(), until).await;
        assert!(ok, "{told}");
        // The cluster made for the restore held nothing: none is kept.
        assert!(!told.contains("kept as"), "{told}");
        let (ok, admin, said) = hotline(&[
            os("--data-dir"),
            elsewhere.data_dir(),
            os("db"),
            os("start"),
            os("--database"),
            os("postgres"),
        ])
        .await;
        assert!(ok, "{said}");
        let database = database_url
            .split('?')
            .next()
            .and_then(|u| u.rsplit('/').next())
            .expect("the database's name");
        let orders = orders(&tests::with_database(admin.trim(), database).expect("a URL")).await;
        (orders, told)
    };
    let mut both = vec![first.tracking_number.clone(), second.tracking_number];
    both.sort();
    let (restored, said) = on_a_new_machine(&url, None).await;
    assert_eq!(restored, both);
    assert!(
        said.contains("the last change replayed was committed at"),
        "{said}"
    );
    // To a moment after the last change, with no commit after it to stop at: the whole log.
    let (restored, said) = on_a_new_machine(&url, Some(end.to_rfc3339())).await;
    assert_eq!(restored, both);
    assert!(said.contains("holds no change after"), "{said}");

    // Not while the cluster is in use, and never from before the archive's oldest base backup.
    let db = sqlx::PgConnection::connect(&url)
        .await
        .expect("the database");
    let (ok, _, said) = restore(None).await;
    assert!(!ok && said.contains("in use"), "{said}");
    db.close().await.expect("closed");
    let long_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let (ok, _, said) = restore(Some(long_ago)).await;
    assert!(!ok && said.contains("reaches back"), "{said}");
    // Nor from a folder that is no archive, nor into a server of one's own.
    let (ok, _, said) = hotline(&[
        os("--data-dir"),
        data_dir,
        os("db"),
        os("restore"),
        os("--archive"),
        base.as_os_str(),
    ])
    .await;
    assert!(!ok && said.contains("is not an archive"), "{said}");
    let (ok, _, said) = hotline(&[
        os("--data-dir"),
        data_dir,
        os("db"),
        os("restore"),
        os("--archive"),
        archive.as_os_str(),
        os("--database-url"),
        os(&url),
    ])
    .await;
    assert!(!ok && said.contains("names a server of your own"), "{said}");
    // Nor to a moment still to come.
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let (ok, _, said) = restore(Some(later)).await;
    assert!(!ok && said.contains("has not come yet"), "{said}");
    assert_eq!(
        orders(&url).await,
        std::slice::from_ref(&first.tracking_number)
    );

    // Archiving goes on after a restore: a new stream (a slot is not part of a backup), a base
    // backup at once, and the restored cluster's new history received, so that the next
    // restore reaches what was filed since.
    let mut again = Platform::start_with(tests::Options {
        admin_url: Some(admin),
        serve_args: owned(&[os("--archive-dir"), archive.as_os_str()]),
        ..tests::Options::default()
    })
    .await
    .expect("platform");
    whole_bases(&base, 2).await;
    assert_eq!(files(&archive.join("wal")).len(), 2);
    let third = again
        .client("citizen-2", "citizen")
        .create_request(&valid_request(), None)
        .await
        .expect("filed");
    received(&again.db).await;
    let status = again
        .terminate(std::time::Duration::from_secs(30))
        .await
        .expect("stopped");
    assert!(status.success(), "{status:?}");
    again.db.close().await;
    assert_eq!(
        on_a_new_machine(&again.database_url(), None).await.0,
        [third.tracking_number]
    );

    // A damaged base backup is named and passed over; with none intact, nothing is restored.
    let oldest = base.join(&files(&base)[0]);
    std::fs::write(oldest.join("PG_VERSION"), "damaged\n").expect("damaged");
    let (ok, _, said) = restore(Some(until.to_rfc3339())).await;
    assert!(
        !ok && said.contains("no intact base backup")
            && said.contains(&format!("{} is damaged", oldest.display())),
        "{said}"
    );
    assert_eq!(orders(&url).await, [first.tracking_number]);
}

/// The private cluster's server, ended while the platform serves from it (killed outright, as
/// the kernel's out-of-memory killer does), is started again by the runtime: requests are told
/// to come back meanwhile and answered again within seconds, without a restart of the platform,
/// and what was committed before is there.
#[tokio::test]
async fn the_private_clusters_server_is_started_again_when_it_ends() {
    let cluster = Cluster {
        folder: Folder::new("kept-cluster"),
    };
    let platform = Platform::start_with(tests::Options {
        admin_url: Some(cluster.start().await),
        private_cluster: Some(cluster.folder.0.clone()),
        ..tests::Options::default()
    })
    .await
    .expect("platform");
    let citizen = platform.client("citizen-1", "citizen");
    let filed = citizen
        .create_request(&valid_request(), None)
        .await
        .expect("filed");

    let data: String = sqlx::query_scalar("select current_setting('data_directory')")
        .fetch_one(&platform.db)
        .await
        .expect("the data folder");
    let lock = std::fs::read_to_string(Path::new(&data).join("postmaster.pid")).expect("the lock");
    let postmaster = lock.lines().next().expect("its process id");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", postmaster])
        .status()
        .expect("kill runs");
    assert!(killed.success());

    // Meanwhile every request is told to come back (503 `database_unavailable`, `Retry-After`),
    // never answered 500.
    let token = platform.keys.token("citizen-1", "citizen");
    let url = platform.url(&format!("/api/v1/requests/{}", filed.tracking_number));
    let http = reqwest::Client::new();
    let (started, mut refused) = (std::time::Instant::now(), 0);
    // A filing sent meanwhile, under an `Idempotency-Key`, and sent again after.
    let mut outage = valid_request();
    outage.title = "小区停电".into();
    let mut filing_meanwhile = None;
    let tracked: serde_json::Value = loop {
        let answer = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("an answer");
        let status = answer.status().as_u16();
        let retry_after = answer.headers().get("retry-after").cloned();
        let body: serde_json::Value = answer.json().await.expect("JSON");
        if status == 200 && refused > 0 {
            break body;
        }
        if status != 200 {
            assert_eq!(
                (status, &body["error"]["code"], retry_after),
                (
                    503,
                    &serde_json::json!("database_unavailable"),
                    Some("5".parse().expect("a value"))
                ),
                "{body}"
            );
            refused += 1;
            if filing_meanwhile.is_none() {
                filing_meanwhile = Some(citizen.create_request(&outage, Some("outage-1")).await);
            }
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no answer a minute after the server ended: {status} {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(tracked["id"], serde_json::json!(filed.id));
    let again = citizen
        .create_request(&outage, Some("outage-1"))
        .await
        .expect("filed after the restart");
    // Refused meanwhile, it files now; filed meanwhile (the server back already), it is that
    // order: never two, never none.
    match filing_meanwhile.expect("a filing was sent meanwhile") {
        Ok(first) => assert_eq!(first.id, again.id),
        Err(error) => assert_eq!(error.code(), Some("database_unavailable"), "{error}"),
    }
    assert_ne!(again.id, filed.id);
    let filed_in_outage: i64 =
        sqlx::query_scalar("select count(*) from work_orders where title = '小区停电'")
            .fetch_one(&platform.db)
            .await
            .expect("a count");
    assert_eq!(filed_in_outage, 1);
    let samples = platform.metrics().await;
    assert_eq!(samples.get("hotline_database_restarts_total"), Some(&1.0));
    assert!(
        platform.log().contains("starting it again"),
        "{}",
        platform.log()
    );

    // Stopping the server while the platform serves from it would be undone at once: the command
    // says so and leaves it running.
    let stop = [os("--data-dir"), cluster.data_dir(), os("db"), os("stop")];
    let (stopped, _, said) = hotline(&stop).await;
    assert!(
        !stopped && said.contains("the platform serves from this cluster"),
        "{said}"
    );
    citizen
        .get_request(&filed.tracking_number)
        .await
        .expect("still served");
    // Nor is its database replaced under it: a backup is taken beside the platform, but
    // restoring it is refused, and nothing changes.
    let dump = cluster.folder.0.join("while-serving.dump");
    let command = |action: &'static str| {
        [
            os("--data-dir"),
            cluster.data_dir(),
            os("db"),
            os(action),
            dump.as_os_str(),
        ]
    };
    let (backed_up, _, said) = hotline(&command("backup")).await;
    assert!(backed_up, "{said}");
    let (restored, _, said) = hotline(&command("restore")).await;
    assert!(
        !restored
            && said.contains("the platform serves from this cluster")
            && said.contains("nothing was changed"),
        "{said}"
    );
    citizen
        .get_request(&filed.tracking_number)
        .await
        .expect("still served");
    // While a command holds the cluster alone (a restore; here the test), one that would use it
    // refuses.
    let hold = std::fs::File::create(
        Path::new(&data)
            .parent()
            .expect("the cluster's folder")
            .join("in-use.lock"),
    )
    .expect("the lock's file");
    drop(platform);
    hold.try_lock()
        .expect("held alone once the platform stopped");
    let (migrated, _, said) = hotline(&[os("--data-dir"), cluster.data_dir(), os("migrate")]).await;
    assert!(
        !migrated && said.contains("being stopped or restored"),
        "{said}"
    );
    drop(hold);
    // Once the platform has stopped, `db stop` stops the server.
    let (stopped, _, said) = hotline(&stop).await;
    assert!(stopped, "{said}");
    assert!(
        !Path::new(&data).join("postmaster.pid").exists(),
        "the server stopped: {said}"
    );
}
