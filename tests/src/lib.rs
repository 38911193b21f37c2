//! The test harness: each test gets its own database and its own runtime process serving the
//! real components on a free port, exactly as `hotline serve` runs in production.
//!
//! The platform's own `spin.toml` is used, with the test-only `probe` component added on
//! `/probe/...`. The database server comes from `HOTLINE_TEST_DATABASE_URL`, which
//! `cargo xtask test` sets after starting a private cluster.

use anyhow::{Context, bail};
use base64::Engine as _;
use rand::RngCore;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use mobile_api::client::{Client, ClientError};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_owned()
}

pub fn hotline_binary() -> PathBuf {
    std::env::var_os("HOTLINE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/hotline"))
}

/// A key of the test's own (an HS256 secret under `kid`), given to the gateway in its key set.
pub struct Keys {
    pub kid: String,
    secret: [u8; 32],
}

impl Keys {
    pub fn generate(kid: &str) -> Keys {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Keys {
            kid: kid.to_owned(),
            secret,
        }
    }

    /// The key as a JWK set with one key, as the gateway's `jwt_keys` variable takes it.
    pub fn jwks(&self) -> serde_json::Value {
        let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.secret);
        serde_json::json!({ "keys": [{ "kty": "oct", "alg": "HS256", "use": "sig", "kid": self.kid, "k": k }] })
    }

    /// A token with the given claims, signed with this key.
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        self.sign_as(jsonwebtoken::Algorithm::HS256, claims)
    }

    /// A token with the given claims, signed with this key by an HMAC algorithm `algorithm`.
    pub fn sign_as(
        &self,
        algorithm: jsonwebtoken::Algorithm,
        claims: &serde_json::Value,
    ) -> String {
        let key = jsonwebtoken::EncodingKey::from_secret(&self.secret).expect("an HMAC key");
        let mut header = jsonwebtoken::Header::new(algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &key).expect("signing")
    }

    /// A valid access token for `subject` with `role`.
    pub fn token(&self, subject: &str, role: &str) -> String {
        self.token_for(subject, role, None)
    }

    /// A valid access token; agency staff carry their agency.
    pub fn token_for(&self, subject: &str, role: &str, agency: Option<&str>) -> String {
        // Issued to the millisecond, as the gateway issues them.
        let issued = chrono::Utc::now();
        let now = issued.timestamp();
        let mut claims = serde_json::json!({
            "sub": subject, "role": role, "iss": "hotline", "aud": "hotline-api",
            "iat": issued.timestamp_millis() as f64 / 1000.0, "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string(),
        });
        if let Some(agency) = agency {
            claims["agency"] = serde_json::Value::from(agency);
        }
        self.sign(&claims)
    }
}

/// Options for one platform under test.
#[derive(Debug, Clone)]
pub struct Options {
    pub request_timeout_ms: u64,
    pub memory_mib: usize,
    /// Which SMS provider's fake the platform sends sign-in codes through.
    pub sms: fakes::sms::Provider,
    /// More Spin variables, as `SPIN_VARIABLE_<NAME>` pairs.
    pub variables: Vec<(&'static str, String)>,
    /// Publish a second, previous key beside the signing key (as during a rotation).
    pub previous_key: bool,
    /// Threads that serve requests (`--threads`); by default the runtime's own choice.
    pub threads: Option<usize>,
    /// A component served from another's `.wasm` (`("rating", "probe")`): one that answers
    /// none of its routes, for tests of what the platform does when a component fails.
    pub stand_in: Option<(&'static str, &'static str)>,
    /// More arguments of `hotline serve`.
    pub serve_args: Vec<std::ffi::OsString>,
    /// The server the platform's database is made on (a URL of one of its databases); by
    /// default the tests' own (`HOTLINE_TEST_DATABASE_URL`).
    pub admin_url: Option<String>,
    /// The most address space the runtime's process may reserve, in MiB (`ulimit -v`); by
    /// default no limit.
    pub address_space_mib: Option<u64>,
    /// Serve from the private cluster under this folder (`--data-dir`, and no `DATABASE_URL`),
    /// as `hotline serve` does by itself, whose server `admin_url` names; by default, from a
    /// database of its own on the tests' server.
    pub private_cluster: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            request_timeout_ms: 10_000,
            memory_mib: 64,
            sms: fakes::sms::Provider::Aliyun,
            variables: Vec::new(),
            previous_key: false,
            threads: None,
            stand_in: None,
            serve_args: Vec::new(),
            admin_url: None,
            address_space_mib: None,
            private_cluster: None,
        }
    }
}

/// A running platform: its runtime process and its database.
pub struct Platform {
    pub base: String,
    /// The runtime's metrics (`--metrics-listen`): `http://127.0.0.1:<port>/metrics`.
    pub metrics_url: String,
    pub keys: Keys,
    pub db: sqlx::PgPool,
    /// The SMS provider's fake the platform sends through.
    pub sms: fakes::sms::FakeSms,
    /// WeChat's fake, for the mini-program's sign-in and subscribe messages.
    pub wechat: fakes::wechat::FakeWechat,
    /// Google OAuth and FCM's fake.
    pub fcm: fakes::fcm::FakeFcm,
    /// Huawei Push Kit's fake.
    pub hms: fakes::hms::FakeHms,
    /// APNs's fake (HTTP/2).
    pub apns: fakes::apns::FakeApns,
    /// The previous key, when the options asked for one.
    pub previous_keys: Option<Keys>,
    database: String,
    admin_url: String,
    child: Child,
    log: PathBuf,
    launch: Launch,
}

/// How the runtime was started, to start it again the same way.
struct Launch {
    args: Vec<std::ffi::OsString>,
    env: Vec<(String, String)>,
    log: PathBuf,
    address_space_mib: Option<u64>,
}

impl Launch {
    /// Starts the runtime; its base URL and its metrics' URL once it serves.
    async fn spawn(&self) -> anyhow::Result<(Child, String, String)> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        // Under a limit, a shell sets it and then becomes the runtime (`exec`: the same process).
        let mut command = match self.address_space_mib {
            None => Command::new(hotline_binary()),
            Some(mib) => {
                let mut shell = Command::new("sh");
                shell
                    .arg("-c")
                    .arg(format!("ulimit -v {} && exec \"$0\" \"$@\"", mib << 10))
                    .arg(hotline_binary());
                shell
            }
        };
        let mut child = command
            .env_remove("DATABASE_URL")
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("starting hotline (build it with `cargo xtask build`)")?;
        let stdout = child.stdout.take().context("the runtime's stdout")?;
        let base = tokio::task::spawn_blocking(move || -> anyhow::Result<(String, String)> {
            let mut metrics = None;
            for line in BufReader::new(stdout).lines() {
                let line = line?;
                if let Some((_, address)) = line.split_once(" metrics at http://") {
                    metrics = Some(format!("http://{address}"));
                } else if let Some((_, address)) = line.split_once(" on http://") {
                    let metrics = metrics.context("the runtime printed no metrics address")?;
                    return Ok((format!("http://{address}"), metrics));
                }
            }
            bail!("the runtime exited before serving")
        })
        .await?;
        match base {
            Ok((base, metrics)) => Ok((child, base, metrics)),
            Err(error) => {
                let _ = child.kill();
                let log_text = std::fs::read_to_string(&self.log).unwrap_or_default();
                bail!("{error}; its log:\n{log_text}");
            }
        }
    }
}

fn admin_url() -> anyhow::Result<String> {
    std::env::var("HOTLINE_TEST_DATABASE_URL")
        .context("HOTLINE_TEST_DATABASE_URL is not set: run the tests with `cargo xtask test`")
}

/// `url` naming `database` instead, its parameters (such as `?host=<socket folder>`) kept.
pub fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let (address, parameters) = url.split_once('?').unwrap_or((url, ""));
    let (server, _) = address
        .rsplit_once('/')
        .context("a database URL ends with /<database>")?;
    let parameters = if parameters.is_empty() {
        String::new()
    } else {
        format!("?{parameters}")
    };
    Ok(format!("{server}/{database}{parameters}"))
}

/// The platform's manifest with absolute component paths and the probe component added, and
/// with `stand_in`'s component served from the other `.wasm` it names.
fn test_manifest(
    dir: &Path,
    stand_in: Option<(&'static str, &'static str)>,
) -> anyhow::Result<PathBuf> {
    let root = workspace_root();
    let manifest = std::fs::read_to_string(root.join("spin.toml"))?;
    let wasm = root.join("target/wasm32-wasip2/wasm");
    let mut manifest = manifest
        .replace(
            "source = \"target/wasm32-wasip2/wasm/",
            &format!("source = \"{}/", wasm.display()),
        )
        // Schedules tick every second under test, so that retries come round quickly.
        .replace("every_seconds = 5", "every_seconds = 1")
        .replace("every_seconds = 60", "every_seconds = 1")
        // The hourly removal of unattached photos too (tests/e2e/photos.rs ages them).
        .replace(
            "route = \"/internal/photos\"\nevery_seconds = 3600",
            "route = \"/internal/photos\"\nevery_seconds = 1",
        );
    if let Some((component, wasm_of)) = stand_in {
        let source = |name: &str| format!("source = \"{}/{name}.wasm\"", wasm.display());
        anyhow::ensure!(
            manifest.contains(&source(component)),
            "the manifest has no component {component}"
        );
        manifest = manifest.replace(&source(component), &source(wasm_of));
    }
    manifest.push_str(&format!(
        r#"
[[trigger.http]]
route = "/probe/..."
component = "probe"

[component.probe]
source = "{}/probe.wasm"
allowed_outbound_hosts = ["http://localhost:*", "postgres://{{{{ db_host }}}}:{{{{ db_port }}}}"]
[component.probe.variables]
db_url = "{{{{ db_url }}}}"
"#,
        wasm.display()
    ));
    let path = dir.join("spin.toml");
    std::fs::write(&path, manifest)?;
    Ok(path)
}

impl Platform {
    pub async fn start() -> Platform {
        Platform::start_with(Options::default())
            .await
            .expect("the platform starts")
    }

    pub async fn start_with(options: Options) -> anyhow::Result<Platform> {
        let admin_url = match &options.admin_url {
            Some(url) => url.clone(),
            None => admin_url()?,
        };
        // The runtime makes the private cluster's database (`hotline`) itself.
        let database = match options.private_cluster {
            Some(_) => "hotline".to_owned(),
            None => format!("t_{}", uuid::Uuid::new_v4().simple()),
        };
        if options.private_cluster.is_none() {
            use sqlx::Connection;
            let mut admin = sqlx::PgConnection::connect(&admin_url)
                .await
                .context("connecting to the test server")?;
            sqlx::query(sqlx::AssertSqlSafe(format!("create database {database}")))
                .execute(&mut admin)
                .await?;
        }
        let url = with_database(&admin_url, &database)?;
        let work = workspace_root()
            .join("target/test-data/runs")
            .join(&database);
        std::fs::create_dir_all(&work)?;
        let manifest = test_manifest(&work, options.stand_in)?;
        let keys = Keys::generate("test-key-1");
        let sms = fakes::sms::FakeSms::start(options.sms, "127.0.0.1:0".parse()?).await?;
        let account = sms.account();
        let wechat = fakes::wechat::FakeWechat::start("127.0.0.1:0".parse()?).await?;
        let previous_keys = options.previous_key.then(|| Keys::generate("test-key-0"));
        let mut jwks = keys.jwks();
        if let Some(previous) = &previous_keys
            && let Some(list) = jwks["keys"].as_array_mut()
        {
            list.push(previous.jwks()["keys"][0].clone());
        }
        let fcm = fakes::fcm::FakeFcm::start("127.0.0.1:0".parse()?).await?;
        let hms = fakes::hms::FakeHms::start("127.0.0.1:0".parse()?).await?;
        let apns = fakes::apns::FakeApns::start("127.0.0.1:0".parse()?).await?;
        let log = work.join("hotline.log");
        let mut args: Vec<std::ffi::OsString> = vec![
            "--data-dir".into(),
            options
                .private_cluster
                .clone()
                .unwrap_or_else(|| workspace_root().join("target/test-data"))
                .into(),
            "serve".into(),
            "--manifest".into(),
            manifest.into(),
            "--migrations".into(),
            workspace_root().join("migrations").into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--request-timeout-ms".into(),
            options.request_timeout_ms.to_string().into(),
            "--memory-mib".into(),
            options.memory_mib.to_string().into(),
            "--metrics-listen".into(),
            "127.0.0.1:0".into(),
        ];
        if let Some(threads) = options.threads {
            args.extend(["--threads".into(), threads.to_string().into()]);
        }
        args.extend(options.serve_args.iter().cloned());
        let mut env: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), url.clone()),
            ("SPIN_VARIABLE_JWT_KEYS".into(), jwks.to_string()),
            ("SPIN_VARIABLE_JWT_SIGNING_KID".into(), keys.kid.clone()),
            (
                "SPIN_VARIABLE_SMS_PROVIDER".into(),
                options.sms.name().into(),
            ),
            (
                "SPIN_VARIABLE_SMS_BASE_URL".into(),
                account.base_url.clone(),
            ),
            ("SPIN_VARIABLE_SMS_KEY_ID".into(), account.key_id.clone()),
            ("SPIN_VARIABLE_SMS_SECRET".into(), account.secret.clone()),
            (
                "SPIN_VARIABLE_SMS_SIGN_NAME".into(),
                account.sign_name.clone(),
            ),
            (
                "SPIN_VARIABLE_SMS_TEMPLATE".into(),
                account.template.clone(),
            ),
            ("SPIN_VARIABLE_SMS_APP_ID".into(), account.app_id.clone()),
            (
                "SPIN_VARIABLE_WECHAT_APP_ID".into(),
                fakes::wechat::APP_ID.into(),
            ),
            (
                "SPIN_VARIABLE_WECHAT_APP_SECRET".into(),
                fakes::wechat::APP_SECRET.into(),
            ),
            ("SPIN_VARIABLE_WECHAT_BASE_URL".into(), wechat.base_url()),
            (
                "SPIN_VARIABLE_FCM_SERVICE_ACCOUNT".into(),
                fakes::fcm::FakeFcm::service_account(),
            ),
            ("SPIN_VARIABLE_FCM_BASE_URL".into(), fcm.base_url()),
            ("SPIN_VARIABLE_GOOGLE_OAUTH_BASE_URL".into(), fcm.base_url()),
            (
                "SPIN_VARIABLE_HMS_CLIENT_ID".into(),
                fakes::hms::CLIENT_ID.into(),
            ),
            (
                "SPIN_VARIABLE_HMS_CLIENT_SECRET".into(),
                fakes::hms::CLIENT_SECRET.into(),
            ),
            ("SPIN_VARIABLE_HMS_OAUTH_BASE_URL".into(), hms.base_url()),
            ("SPIN_VARIABLE_HMS_PUSH_BASE_URL".into(), hms.base_url()),
            (
                "SPIN_VARIABLE_APNS_PRIVATE_KEY".into(),
                fakes::apns::PRIVATE_KEY.into(),
            ),
            (
                "SPIN_VARIABLE_APNS_KEY_ID".into(),
                fakes::apns::KEY_ID.into(),
            ),
            (
                "SPIN_VARIABLE_APNS_TEAM_ID".into(),
                fakes::apns::TEAM_ID.into(),
            ),
            ("SPIN_VARIABLE_APNS_TOPIC".into(), fakes::apns::TOPIC.into()),
            ("SPIN_VARIABLE_APNS_BASE_URL".into(), apns.base_url()),
            // Retries under test wait a second, not ten.
            ("SPIN_VARIABLE_NOTIFY_BACKOFF_SECONDS".into(), "1".into()),
            // The citizens' quiet hours (21-8 by default) would hold their texts and reminders
            // whenever the tests run at night, China time: the tests of quiet hours set their own.
            ("SPIN_VARIABLE_CITIZEN_QUIET_HOURS".into(), "none".into()),
        ];
        if options.private_cluster.is_some() {
            env.retain(|(key, _)| key != "DATABASE_URL");
        }
        // The test's own variables win over the defaults above.
        for (name, value) in &options.variables {
            env.retain(|(key, _)| key != name);
            env.push(((*name).to_owned(), value.clone()));
        }
        let mut launch = Launch {
            args,
            env,
            log: log.clone(),
            address_space_mib: options.address_space_mib,
        };
        let (child, base, metrics) = launch.spawn().await?;
        // A restart listens where the first run did, so clients made before it still reach it.
        // Its metrics listen wherever the system gives a port again: the first run's may have
        // gone meanwhile to one of the tests' own connections (it did once, failing a restart).
        if let Some(address) = base.strip_prefix("http://") {
            launch.args[8] = address.into();
        }
        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await?;
        Ok(Platform {
            base,
            metrics_url: metrics,
            keys,
            db,
            sms,
            wechat,
            fcm,
            hms,
            apns,
            previous_keys,
            database,
            admin_url,
            child,
            log,
            launch,
        })
    }

    /// One scrape of the runtime's metrics: every sample by its name and labels as written
    /// (`name{a="x",b="y"}`), after checking that every line is Prometheus's text format.
    pub async fn metrics(&self) -> std::collections::BTreeMap<String, f64> {
        let response = reqwest::get(&self.metrics_url)
            .await
            .expect("metrics answer");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let text = response.text().await.expect("metrics body");
        let mut samples = std::collections::BTreeMap::new();
        let mut typed = std::collections::BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                assert!(typed.insert(name.to_owned()), "{name} typed twice");
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("a sample is `series value`");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
            let name = series.split('{').next().expect("a name");
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{line}"
            );
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix).filter(|f| typed.contains(*f)))
                .unwrap_or(name);
            assert!(typed.contains(family), "{name} comes before its # TYPE");
            assert!(
                samples.insert(series.to_owned(), value).is_none(),
                "{series} twice"
            );
        }
        samples
    }

    /// The URL of this platform's own database.
    pub fn database_url(&self) -> String {
        with_database(&self.admin_url, &self.database).expect("a database URL")
    }

    /// This platform's database's name.
    pub fn database_name(&self) -> &str {
        &self.database
    }

    /// A connection to the platform's server, not to its database (to alter or drop that).
    pub async fn server(&self) -> sqlx::PgConnection {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("the test server")
    }

    /// The URL of a new, empty database on the platform's server, named after its own with
    /// `suffix` and dropped with it.
    pub async fn empty_database(&self, suffix: &str) -> String {
        use sqlx::Connection;
        let name = format!("{}_{suffix}", self.database);
        let mut admin = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("the test server");
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&mut admin)
            .await
            .expect("an empty database");
        with_database(&self.admin_url, &name).expect("a database URL")
    }

    /// A client with no token.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.base)
    }

    /// A client signed in as `subject` with `role`.
    pub fn client(&self, subject: &str, role: &str) -> Client {
        Client::new(&self.base).with_token(self.keys.token(subject, role))
    }

    /// A client signed in as a member of `agency`'s staff.
    pub fn agency_client(&self, subject: &str, agency: &str) -> Client {
        Client::new(&self.base).with_token(self.keys.token_for(
            subject,
            "agency_staff",
            Some(agency),
        ))
    }

    /// A supervisor's staff account (added by an administrator through the API), so that the
    /// notifications for supervisors have someone to go to; a client signed in as them.
    pub async fn supervisor_account(&self, username: &str) -> Client {
        self.staff_account(username, "supervisor").await
    }

    /// A staff account of `role` with no agency (a supervisor, a city leader, ...), added by an
    /// administrator through the API; a client signed in as them.
    pub async fn staff_account(&self, username: &str, role: &str) -> Client {
        self.client("admin-1", "admin")
            .create_staff(&mobile_api::NewStaffAccount {
                username: username.into(),
                display_name: "工作人员".into(),
                role: role.into(),
                agency: None,
                password: "a-long-password-123".into(),
            })
            .await
            .expect("a staff account");
        self.client(username, role)
    }

    /// A staff account of `agency` (added by an administrator through the API), so that the
    /// notices for the agency's staff have someone to go to; a client signed in as them.
    pub async fn agency_account(&self, username: &str, agency: &str) -> Client {
        self.client("admin-1", "admin")
            .create_staff(&mobile_api::NewStaffAccount {
                username: username.into(),
                display_name: "承办人".into(),
                role: "agency_staff".into(),
                agency: Some(agency.into()),
                password: "a-long-password-123".into(),
            })
            .await
            .expect("an agency account");
        self.agency_client(username, agency)
    }

    /// The audit log's entries of `action`, newest first, as (actor, target), read by an
    /// administrator through the API.
    pub async fn audited(&self, action: &str) -> Vec<(String, Option<String>)> {
        self.client("admin-1", "admin")
            .audit_log(Some(action))
            .await
            .expect("the audit log")
            .items
            .into_iter()
            .map(|entry| (entry.actor, entry.target))
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `body` to `POST path` as `token`'s holder in chunks of `chunk` bytes, with no
    /// length declared (`transfer-encoding: chunked`, which reqwest does not send for a body it
    /// holds whole); the answer's status and body.
    pub async fn post_chunked(
        &self,
        path: &str,
        token: &str,
        body: &[u8],
        chunk: usize,
    ) -> anyhow::Result<(u16, String)> {
        let pace = Pace {
            pieces: body.len().div_ceil(chunk.max(1)),
            pause: Duration::ZERO,
            stop_after: None,
            chunked: true,
        };
        self.post_slowly(path, token, "application/json", body, pace)
            .await
    }

    /// Sends `body` to `POST path` as `token`'s holder at `pace`, as a phone on a weak signal
    /// does; the answer's status and body.
    pub async fn post_slowly(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: &[u8],
        pace: Pace,
    ) -> anyhow::Result<(u16, String)> {
        use tokio::io::AsyncWriteExt;
        let framing = if pace.chunked {
            "transfer-encoding: chunked".to_owned()
        } else {
            format!("content-length: {}", body.len())
        };
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {token}\r\n\
             content-type: {content_type}\r\n{framing}\r\nconnection: close\r\n\r\n"
        );
        let mut stream = self.connect().await?;
        stream.write_all(head.as_bytes()).await?;
        let sent = &body[..pace.stop_after.unwrap_or(body.len())];
        for piece in sent.chunks(body.len().div_ceil(pace.pieces.max(1)).max(1)) {
            if pace.chunked {
                let mut framed = format!("{:x}\r\n", piece.len()).into_bytes();
                framed.extend_from_slice(piece);
                framed.extend_from_slice(b"\r\n");
                stream.write_all(&framed).await?;
            } else {
                stream.write_all(piece).await?;
            }
            stream.flush().await?;
            tokio::time::sleep(pace.pause).await;
        }
        if pace.chunked && pace.stop_after.is_none() {
            stream.write_all(b"0\r\n\r\n").await?;
        }
        answer(stream).await
    }

    async fn connect(&self) -> anyhow::Result<tokio::net::TcpStream> {
        let address = self
            .base
            .trim_start_matches("http://")
            .trim_end_matches('/');
        Ok(tokio::net::TcpStream::connect(address).await?)
    }

    /// Kills the runtime at once (SIGKILL: no clean shutdown, as in a crash) and starts it again
    /// on the same database and address.
    pub async fn crash_and_restart(&mut self) -> anyhow::Result<()> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, _, metrics) = self.launch.spawn().await?;
        self.child = child;
        self.metrics_url = metrics;
        Ok(())
    }

    /// Asks the runtime to stop, as a service manager does (SIGTERM), and waits up to `within` for
    /// it to end; its exit status.
    pub async fn terminate(
        &mut self,
        within: Duration,
    ) -> anyhow::Result<std::process::ExitStatus> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        anyhow::ensure!(sent.success(), "kill -TERM failed");
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            anyhow::ensure!(started.elapsed() < within, "still running after {within:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the runtime has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (admin_url, database) = (self.admin_url.clone(), self.database.clone());
        // Dropping needs async I/O, and Drop is synchronous: use a short-lived runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                use sqlx::Connection;
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                // Its own, and those made for it (`empty_database`).
                let databases: Vec<String> = sqlx::query_scalar(
                    "select datname from pg_database where datname = $1 or datname like $1 || '\\_%'",
                )
                .bind(&database)
                .fetch_all(&mut admin)
                .await
                .ok()?;
                for database in databases {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "drop database if exists {database} with (force)"
                    )))
                    .execute(&mut admin)
                    .await
                    .ok()?;
                }
                Some(())
            })
        })
        .join();
        if std::thread::panicking() {
            eprintln!(
                "--- runtime log ({}) ---\n{}",
                self.log.display(),
                self.log()
            );
        } else {
            let _ = std::fs::remove_dir_all(self.log.parent().unwrap_or(Path::new("/nonexistent")));
        }
    }
}

/// A request body that passes every check.
/// How many notifications of `kind` are in `client`'s inbox.
pub async fn told(client: &Client, kind: &str) -> usize {
    client
        .notifications(None, false)
        .await
        .expect("inbox")
        .items
        .iter()
        .filter(|n| n.kind == kind)
        .count()
}

pub fn valid_request() -> mobile_api::CreateRequest {
    mobile_api::CreateRequest {
        category: "urban.streetlight".into(),
        title: "路灯不亮".into(),
        description: "解放大道与交通路交叉口的路灯连续三晚不亮，夜间行人很多，存在安全隐患。"
            .into(),
        location: mobile_api::LocationInput {
            lat: Some(32.9802),
            lng: Some(114.0227),
            address: Some("驿城区解放大道与交通路交叉口".into()),
            district: Some("yicheng".into()),
        },
        contact_phone: "13800138000".into(),
        channel: mobile_api::Channel::App,
        urgent: false,
        confidential: false,
        photo_urls: vec!["https://img.example.cn/streetlight-1.jpg".into()],
        hotline_number: None,
        leader_day: None,
    }
}

/// Adds `copies` orders like the one numbered `filed`, a minute apart before it, with the
/// description and address SQL gives (over the order's columns and `g`, the copy's number), and
/// has PostgreSQL count them in (`analyze`).
pub async fn copy_order(
    db: &mut sqlx::PgConnection,
    filed: &str,
    copies: i32,
    description: &str,
    address: &str,
) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "insert into work_orders (work_order_id, tracking_number, citizen_id, filed_by, status, \
             category_id, title, description, address, district_id, contact_phone, channel, \
             created_at) \
         select gen_random_uuid(), tracking_number || '-' || g, citizen_id, filed_by, status, \
             category_id, title, {description}, {address}, district_id, contact_phone, channel, \
             created_at - g * interval '1 minute' \
         from work_orders, generate_series(1, $2) g where tracking_number = $1"
    )))
    .bind(filed)
    .bind(copies)
    .execute(&mut *db)
    .await
    .expect("copies of the order");
    sqlx::query("analyze work_orders")
        .execute(&mut *db)
        .await
        .expect("analyzed");
}

/// A statement's plan as `explain` writes it, one line a row, its values still to be bound.
pub type Explained<'q> =
    sqlx::query::QueryScalar<'q, sqlx::Postgres, String, sqlx::postgres::PgArguments>;

/// The plan PostgreSQL ran `statement` by, with the values `bind` binds, after `settings` (a
/// statement setting the transaction's own, if any), in a transaction rolled back. With costs:
/// PostgreSQL says what it compiled (`JIT:`) only beside them.
pub async fn plan(
    db: &mut sqlx::PgConnection,
    statement: &str,
    settings: Option<&str>,
    bind: impl for<'q> FnOnce(Explained<'q>) -> Explained<'q>,
) -> Vec<String> {
    sqlx::query("begin").execute(&mut *db).await.expect("begun");
    if let Some(settings) = settings {
        sqlx::query(sqlx::AssertSqlSafe(settings.to_owned()))
            .execute(&mut *db)
            .await
            .expect("the settings");
    }
    let plan = bind(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "explain (analyze, timing off) {statement}"
    ))))
    .fetch_all(&mut *db)
    .await
    .expect("a plan");
    sqlx::query("rollback")
        .execute(&mut *db)
        .await
        .expect("ended");
    plan
}

/// The most rows a step of `plan` (`explain analyze`) read: those it gave and those its filter
/// removed, times its loops (`explain` gives both a loop's average).
pub fn most_rows_read(plan: &[String]) -> u64 {
    let number = |line: &str, after: &str| -> u64 {
        line.split_once(after)
            .map(|(_, rest)| {
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|digits| digits.parse().ok())
            .unwrap_or(0)
    };
    let mut most = 0;
    let (mut rows, mut loops) = (0, 1);
    for line in plan {
        if let Some((_, actual)) = line.split_once("actual ") {
            (rows, loops) = (number(actual, "rows="), number(actual, "loops=").max(1));
            most = most.max(rows * loops);
        } else if line.contains("Rows Removed by Filter: ") {
            most = most.max((rows + number(line, "Rows Removed by Filter: ")) * loops);
        }
    }
    most
}

/// The steps of `plan` (`explain analyze`) that read `table`, each with the lines below it (what
/// its filter removed among them): for [`most_rows_read`] of one table.
pub fn steps_on(plan: &[String], table: &str) -> Vec<String> {
    let on = format!(" on {table} ");
    let mut reading = false;
    plan.iter()
        .filter(|line| {
            if line.contains("actual ") {
                reading = line.contains(&on);
            }
            reading
        })
        .cloned()
        .collect()
}

/// Returns once `count` (a statement that counts, such as statements of the platform's in
/// `pg_stat_activity`) counts one or more on `db`, asked every 20 ms; fails the test after 10 s,
/// saying it waited for `what`.
pub async fn until_counted(db: &sqlx::PgPool, count: &'static str, what: &str) {
    let started = std::time::Instant::now();
    loop {
        let counted: i64 = sqlx::query_scalar(count)
            .fetch_one(db)
            .await
            .expect("a count");
        if counted > 0 {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "waited 10 s for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Runs `statements` in turn on `db` (data a test plants, and `analyze`); `what` names them if
/// one fails.
pub async fn execute_all(db: &mut sqlx::PgConnection, statements: &[&str], what: &str) {
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(*statement))
            .execute(&mut *db)
            .await
            .expect(what);
    }
}

/// How [`Platform::post_slowly`] sends a body: in `pieces` pieces with `pause` after each,
/// stopping after `stop_after` of its bytes when given (the connection left open and the body
/// unfinished); its length declared, or `chunked` (`transfer-encoding: chunked`, no length).
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    pub pieces: usize,
    pub pause: Duration,
    pub stop_after: Option<usize>,
    pub chunked: bool,
}

/// The status and body of the answer `stream` brings before it closes.
async fn answer(mut stream: tokio::net::TcpStream) -> anyhow::Result<(u16, String)> {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let answer = String::from_utf8(answer)?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no end of head in {answer:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no status in {head:?}"))?;
    Ok((status, body.to_owned()))
}
