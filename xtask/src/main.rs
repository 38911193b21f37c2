//! `cargo xtask`: the project's automation, in Rust.
//!
//! - `cargo xtask up`: install what is missing, build everything, start PostgreSQL, and serve the
//!   platform with demo data on http://127.0.0.1:3000, printing demo tokens.
//! - `cargo xtask test`: the same set-up, then every test against the real stack.
//! - `cargo xtask build`: the components (wasm32-wasip2) and the runtime.
//!
//! Each step prints a `==>` line, so a long first build shows where it is.
//! - `cargo xtask openapi`: rewrite `mobile-api/openapi.json` from the API types.
//! - `cargo xtask release`: the runtime's profile-guided build, which the bench measures.
//! - `cargo xtask bench`: release build, fresh database, load, and `BENCHMARKS.md`.

mod bench;
mod load;
mod pgo;
mod uploads;

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The platform's components, `probe`, which only the tests load, and `hello` and `relay`, for
/// the benchmark.
const COMPONENTS: &[&str] = &[
    "gateway",
    "intake",
    "routing",
    "notifications",
    "rating",
    "supervision",
    "probe",
    "hello",
    "relay",
];

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("up") => up(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("build") => setup().and_then(|()| build(false)),
        Some("openapi") => write_openapi(),
        Some("bench") => bench::bench(&args[1..]),
        Some("release") => release(),
        _ => {
            eprintln!(
                "usage: cargo xtask <up | test [test args] | build | release | openapi | bench [--keep] [--runtime <binary>] [section ...]>"
            );
            return std::process::ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

/// `cargo`, without the variables `cargo run` set for this program (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_NAME`, ...). Some build scripts (ring's) ask to be rerun when one of them changes,
/// so a build started from here would rerun them and rebuild every crate above them, and the next
/// build started by hand would do it again — with the release build's LTO, eight minutes each way.
fn cargo() -> Command {
    let mut command = Command::new("cargo");
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let set_by_cargo_run = name.starts_with("CARGO_PKG_")
            || matches!(
                name,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            );
        if set_by_cargo_run {
            command.env_remove(name);
        }
    }
    command
}

fn step(message: &str) {
    eprintln!("\n==> {message}");
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{command:?}");
    let status = command
        .current_dir(root())
        .status()
        .with_context(|| format!("starting {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn postgres_installed() -> bool {
    std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| entry.path().join("bin/initdb").exists())
        || std::env::var_os("HOTLINE_PG_BIN").is_some()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Installs what the machine lacks: the wasm target and PostgreSQL's server.
fn setup() -> anyhow::Result<()> {
    step("checking the Rust target wasm32-wasip2");
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root())
        .output();
    let has_target = targets
        .as_ref()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("wasm32-wasip2"));
    if !has_target {
        step("installing the Rust target wasm32-wasip2");
        run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))?;
    }
    if std::env::var_os("DATABASE_URL").is_some() {
        return Ok(());
    }
    if !postgres_installed() {
        need_root_for("PostgreSQL's server", "postgresql postgresql-15-postgis-3")?;
        step("installing PostgreSQL and PostGIS (apt-get; about a minute)");
        apt_install(&["postgresql", "postgresql-15-postgis-3"])?;
    }
    if let Some(major) = postgis_missing() {
        let package = format!("postgresql-{major}-postgis-3");
        need_root_for("PostGIS", &package)?;
        step(&format!(
            "installing PostGIS for PostgreSQL {major} (apt-get)"
        ));
        apt_install(&[package.as_str()])?;
    }
    Ok(())
}

/// Refuses with what to install by hand when this process cannot install packages itself.
fn need_root_for(what: &str, packages: &str) -> anyhow::Result<()> {
    if is_root() && have("apt-get") {
        return Ok(());
    }
    bail!(
        "{what} is not installed. Install it (Debian/Ubuntu: `sudo apt-get install {packages}`) \
         or set DATABASE_URL to a server of your own that has PostGIS"
    )
}

fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    run(Command::new("apt-get").args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The major version of the newest installed PostgreSQL server when PostGIS is missing for it.
fn postgis_missing() -> Option<String> {
    if std::env::var_os("HOTLINE_PG_BIN").is_some() {
        return None;
    }
    let mut majors: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().join("bin/initdb").exists())
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect();
    majors.sort_unstable();
    let major = majors.last()?;
    let control = format!("/usr/share/postgresql/{major}/extension/postgis.control");
    (!std::path::Path::new(&control).exists()).then(|| major.to_string())
}

fn build_components() -> anyhow::Result<()> {
    step("building the components (wasm32-wasip2)");
    let mut components = cargo();
    components.args(["build", "--target", "wasm32-wasip2", "--profile", "wasm"]);
    for component in COMPONENTS {
        components.args(["-p", component]);
    }
    run(&mut components)
}

fn build(release: bool) -> anyhow::Result<()> {
    build_components()?;
    step(if release {
        "building the runtime in release (optimised as one unit: its last step, silent, takes \
         several minutes)"
    } else {
        "building the runtime"
    });
    let mut runtime = cargo();
    runtime.args(["build", "-p", "hotline"]);
    if release {
        runtime.arg("--release");
    }
    run(&mut runtime)
}

/// The runtime built for deployment: profile-guided, as the bench measures it (`pgo.rs`).
fn release() -> anyhow::Result<()> {
    setup()?;
    build_components()?;
    let runtime = pgo::optimised_runtime()?;
    eprintln!(
        "\nthe runtime: {}\nthe components: {}",
        runtime.display(),
        root().join("target/wasm32-wasip2/wasm").display()
    );
    Ok(())
}

fn hotline(release: bool) -> PathBuf {
    root()
        .join("target")
        .join(if release { "release" } else { "debug" })
        .join("hotline")
}

/// The Spin variables that carry the token keys: the key set `hotline keys` wrote into `keys`,
/// and the `kid` of its key, which signs.
pub fn signing_variables(keys: &Path) -> anyhow::Result<Vec<(&'static str, String)>> {
    let path = keys.join("keys.json");
    let set =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let kid = serde_json::from_str::<serde_json::Value>(&set)?["keys"][0]["kid"]
        .as_str()
        .context("the key set names no kid")?
        .to_owned();
    Ok(vec![
        ("SPIN_VARIABLE_JWT_KEYS", set),
        ("SPIN_VARIABLE_JWT_SIGNING_KID", kid),
    ])
}

/// The demo's staff, who sign in with [`DEMO_PASSWORD`].
const DEMO_STAFF: &[(&str, &str, &str, Option<&str>)] = &[
    ("admin-demo-1", "演示管理员", "admin", None),
    ("operator-demo-1", "演示话务员", "operator", None),
    ("supervisor-demo-1", "演示督办员", "supervisor", None),
    ("leader-demo-1", "演示市领导", "leader", None),
    (
        "urban-staff-demo-1",
        "城管局演示人员",
        "agency_staff",
        Some("city-urban-management"),
    ),
    (
        "water-staff-demo-1",
        "自来水公司演示人员",
        "agency_staff",
        Some("utility-water"),
    ),
];
const DEMO_PASSWORD: &str = "demo-password-12345";

fn up(args: &[String]) -> anyhow::Result<()> {
    let release = args.iter().any(|a| a == "--release");
    setup()?;
    build(release)?;
    let data = root().join(".hotline");
    let keys = data.join("keys");
    if !keys.join("keys.json").exists() {
        step("creating the demo signing key");
        run(Command::new(hotline(release))
            .args(["--data-dir"])
            .arg(&data)
            .arg("keys"))?;
    }
    let signing = signing_variables(&keys)?;
    step("demo staff accounts (each signs in with the password below)");
    for (username, name, role, agency) in DEMO_STAFF {
        let mut add = Command::new(hotline(release));
        add.args(["--data-dir"])
            .arg(&data)
            .args([
                "staff",
                "add",
                "--username",
                username,
                "--role",
                role,
                "--display-name",
                name,
                // The README publishes it: the demo's staff sign in with it and work at once.
                "--own-password",
            ])
            .env("HOTLINE_STAFF_PASSWORD", DEMO_PASSWORD)
            .current_dir(root());
        if let Some(agency) = agency {
            add.args(["--agency", agency]);
        }
        let out = add.output().context("adding a demo staff account")?;
        if !out.status.success() {
            bail!(
                "adding {username} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    eprintln!("  password for every demo staff account: {DEMO_PASSWORD}");
    step(
        "starting the fake SMS (127.0.0.1:4010), FCM (:4011), Huawei Push Kit (:4012) and APNs (:4014); what they deliver appears in this log",
    );
    let (fake, fcm, hms, apns) = start_demo_fakes()?;
    let fake_account = fake.account();
    step(
        "starting the platform on http://127.0.0.1:3000, its metrics on http://127.0.0.1:9300/metrics (Ctrl-C stops it and its database)",
    );
    let mut serve = Command::new(hotline(release));
    serve
        .args(["--data-dir"])
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:3000"])
        .args(["--metrics-listen", "127.0.0.1:9300"])
        // As a city would run it: daily backups, and the archive for point-in-time recovery (the
        // private cluster's role may stream; a server of one's own may not allow it).
        .args(
            std::env::var_os("DATABASE_URL")
                .is_none()
                .then(|| {
                    [
                        "--backup-dir".into(),
                        data.join("backups").into_os_string(),
                        "--archive-dir".into(),
                        data.join("archive").into_os_string(),
                    ]
                })
                .into_iter()
                .flatten(),
        )
        .envs(signing.iter().map(|(name, value)| (*name, value)))
        // A working shift, so that the tour's tokens last the afternoon.
        .env("SPIN_VARIABLE_ACCESS_TOKEN_TTL_SECONDS", "28800")
        .env("SPIN_VARIABLE_SMS_PROVIDER", "aliyun")
        .env("SPIN_VARIABLE_SMS_BASE_URL", &fake_account.base_url)
        .env("SPIN_VARIABLE_SMS_KEY_ID", &fake_account.key_id)
        .env("SPIN_VARIABLE_SMS_SECRET", &fake_account.secret)
        .env("SPIN_VARIABLE_SMS_SIGN_NAME", &fake_account.sign_name)
        .env("SPIN_VARIABLE_SMS_TEMPLATE", &fake_account.template)
        .env(
            "SPIN_VARIABLE_FCM_SERVICE_ACCOUNT",
            fakes::fcm::FakeFcm::service_account(),
        )
        .env("SPIN_VARIABLE_FCM_BASE_URL", fcm.base_url())
        .env("SPIN_VARIABLE_GOOGLE_OAUTH_BASE_URL", fcm.base_url())
        .env("SPIN_VARIABLE_HMS_CLIENT_ID", fakes::hms::CLIENT_ID)
        .env("SPIN_VARIABLE_HMS_CLIENT_SECRET", fakes::hms::CLIENT_SECRET)
        .env("SPIN_VARIABLE_HMS_OAUTH_BASE_URL", hms.base_url())
        .env("SPIN_VARIABLE_HMS_PUSH_BASE_URL", hms.base_url())
        .env("SPIN_VARIABLE_APNS_PRIVATE_KEY", fakes::apns::PRIVATE_KEY)
        .env("SPIN_VARIABLE_APNS_KEY_ID", fakes::apns::KEY_ID)
        .env("SPIN_VARIABLE_APNS_TEAM_ID", fakes::apns::TEAM_ID)
        .env("SPIN_VARIABLE_APNS_TOPIC", fakes::apns::TOPIC)
        .env("SPIN_VARIABLE_APNS_BASE_URL", apns.base_url())
        .current_dir(root())
        .stdout(Stdio::piped());
    let mut child = serve.spawn().context("starting hotline")?;
    let stdout = child.stdout.take().context("hotline's output")?;
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let serving = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains(" on http://"));
    if serving.is_none() {
        let status = child.wait()?;
        bail!("hotline stopped before serving ({status})");
    }
    step("signing the demo citizens in by SMS, through the fake provider");
    let mut tokens = match sign_in_demo_citizens(&fake) {
        Ok(tokens) => tokens,
        Err(error) => {
            // Restarting the demo often meets the limits on codes per number (one a minute, ten
            // a day). The demo then mints the citizens' tokens instead, and says so.
            eprintln!(
                "  SMS sign-in refused ({error:#}); minting the demo citizens' tokens instead"
            );
            mint_demo_citizen_tokens(release, &data)?
        }
    };
    step("signing the demo staff in; their phones register for pushes");
    match sign_in_demo_staff() {
        Ok(staff) => tokens.extend(staff),
        Err(error) => eprintln!("  demo staff not signed in: {error:#}"),
    }
    if let Err(error) = set_up_demo_notifications(&tokens) {
        eprintln!("  demo phones and SMS notices not set up: {error:#}");
    }
    step("filing demo requests through the API (the first time)");
    if let Err(error) = seed_demo(&tokens) {
        eprintln!("  demo requests not filed: {error:#}");
    }
    step("writing the demo knowledge base (the first time)");
    if let Err(error) = seed_knowledge(&tokens) {
        eprintln!("  demo knowledge base not written: {error:#}");
    }
    step("the tokens (paste these lines into your shell for the README's tour)");
    for (subject, token) in &tokens {
        let variable = subject.to_ascii_uppercase().replace('-', "_");
        eprintln!("  export {variable}={token}");
    }
    eprintln!(
        "\nServing on http://127.0.0.1:3000. After the export lines above, try:\n  \
         curl -s http://127.0.0.1:3000/api/v1/requests -H \"authorization: Bearer $CITIZEN_DEMO_1\"\n\
         The README has a longer tour."
    );
    std::thread::spawn(move || lines.for_each(|line| drop(line.map(|l| println!("{l}")))));
    let status = child.wait()?;
    if !status.success() {
        bail!("hotline exited with {status}");
    }
    Ok(())
}

/// Runs `work` (API calls of the demo's set-up) to the end on a runtime of its own.
fn block_on<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(work)
}

/// A few knowledge-base articles, written by the demo supervisor through the public API, unless
/// the knowledge base has some already. Demo answers: a city writes its own.
fn seed_knowledge(tokens: &[(String, String)]) -> anyhow::Result<()> {
    use mobile_api::KnowledgeArticleInput;
    let token = tokens
        .iter()
        .find(|(subject, _)| subject == "supervisor-demo-1")
        .map(|(_, token)| token.clone())
        .context("the demo supervisor's token")?;
    let article = |title: &str, answer: &str, category: &str, agency: &str, keywords: &[&str]| {
        KnowledgeArticleInput {
            title: title.into(),
            answer: answer.into(),
            category: Some(category.into()),
            agency: Some(agency.into()),
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
            internal: false,
        }
    };
    let articles = [
        article(
            "社保卡丢失如何补办",
            "社会保障卡丢失后，请先拨打 12333 挂失，再携带本人身份证到任一社保卡服务网点申请补办，一般 7 个工作日内可领取新卡。",
            "social",
            "city-social-insurance",
            &["社保卡", "补卡"],
        ),
        article(
            "住房公积金提取需要哪些材料",
            "携带身份证、银行卡及提取用途证明（如购房合同、租房合同）到住房公积金管理中心服务大厅办理。",
            "housing.housing-fund",
            "city-housing-fund",
            &["公积金", "提取"],
        ),
        article(
            "夜间施工噪音扰民如何投诉",
            "夜间（22 时至次日 6 时）施工须取得夜间施工许可。遇到无证夜间施工，可拨打 12345 反映，热线将派有关部门查处。",
            "environment",
            "city-ecology-environment",
            &["噪音", "施工"],
        ),
    ];
    block_on(async {
        let client = mobile_api::client::Client::new("http://127.0.0.1:3000").with_token(token);
        if !client.search_knowledge(&[]).await?.items.is_empty() {
            eprintln!("  the knowledge base has articles already");
            return Ok(());
        }
        for input in &articles {
            let written = client.create_knowledge_article(input).await?;
            eprintln!("  {} {}", written.id, written.title);
        }
        anyhow::Ok(())
    })
}

/// Files a few requests for the demo citizens through the public API, with fixed idempotency
/// keys so that starting again does not file them twice.
fn seed_demo(tokens: &[(String, String)]) -> anyhow::Result<()> {
    use mobile_api::{Channel, CreateRequest, LocationInput};
    let demo = [
        (
            "citizen-demo-1",
            "urban.streetlight",
            "路灯不亮",
            "解放大道与交通路交叉口的路灯连续三晚不亮，夜间行人很多。",
            "驿城区解放大道与交通路交叉口",
            "yicheng",
            Some((32.9802, 114.0227)),
            false,
        ),
        (
            "citizen-demo-1",
            "environment.noise",
            "夜间施工噪音扰民",
            "小区东侧工地每晚十一点后仍在施工，噪音很大，影响休息。",
            "驿城区雪松路凤凰城小区东侧",
            "yicheng",
            None,
            false,
        ),
        (
            "citizen-demo-2",
            "utilities.water-supply",
            "小区停水未通知",
            "今天早上起整栋楼停水，没有任何通知，家中有老人和婴儿。",
            "西平县柏城大道幸福家园3号楼",
            "xiping",
            None,
            true,
        ),
    ];
    block_on(async {
        for (
            index,
            (subject, category, title, description, address, district, coordinates, urgent),
        ) in demo.into_iter().enumerate()
        {
            let token = tokens
                .iter()
                .find(|(s, _)| s == subject)
                .map(|(_, t)| t.clone())
                .context("a demo token")?;
            let client = mobile_api::client::Client::new("http://127.0.0.1:3000").with_token(token);
            // Filed once: the Idempotency-Key guards a retry for a week, not a demo run months on.
            let filed = client.list_requests(None, Some(100)).await?;
            if let Some(order) = filed.items.iter().find(|o| o.title == title) {
                eprintln!(
                    "  {subject}: {} {} (filed before)",
                    order.tracking_number, order.title
                );
                continue;
            }
            let request = CreateRequest {
                category: category.into(),
                title: title.into(),
                description: description.into(),
                location: LocationInput {
                    lat: coordinates.map(|c| c.0),
                    lng: coordinates.map(|c| c.1),
                    address: Some(address.into()),
                    district: Some(district.into()),
                },
                contact_phone: "13800138000".into(),
                channel: Channel::App,
                urgent,
                confidential: false,
                photo_urls: Vec::new(),
                hotline_number: None,
                leader_day: None,
            };
            let order = client
                .create_request(&request, Some(&format!("demo-seed-{index}")))
                .await?;
            eprintln!("  {subject}: {} {}", order.tracking_number, order.title);
        }
        anyhow::Ok(())
    })
}

/// The demo citizens and their phone numbers.
const DEMO_CITIZENS: &[(&str, &str)] = &[
    ("citizen-demo-1", "13800000001"),
    ("citizen-demo-2", "13800000002"),
];

/// The fakes of Aliyun SMS (127.0.0.1:4010), FCM (:4011), Push Kit (:4012) and APNs (:4014), on a thread
/// of their own for as long as the demo runs, printing each message they deliver.
fn start_demo_fakes() -> anyhow::Result<DemoFakes> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = sender.send(Err(anyhow::Error::from(error)));
                return;
            }
        };
        runtime.block_on(async move {
            let started = async {
                let sms = fakes::sms::FakeSms::start(
                    fakes::sms::Provider::Aliyun,
                    "127.0.0.1:4010".parse()?,
                )
                .await?;
                let fcm = fakes::fcm::FakeFcm::start("127.0.0.1:4011".parse()?).await?;
                let hms = fakes::hms::FakeHms::start("127.0.0.1:4012".parse()?).await?;
                let apns = fakes::apns::FakeApns::start("127.0.0.1:4014".parse()?).await?;
                anyhow::Ok((sms, fcm, hms, apns))
            };
            let (sms, fcm, hms, apns) = match started.await {
                Ok(fakes) => fakes,
                Err(error) => {
                    let _ = sender.send(Err(error));
                    return;
                }
            };
            let _ = sender.send(Ok((sms.clone(), fcm.clone(), hms.clone(), apns.clone())));
            fakes::print_deliveries(&sms, &fcm, &hms, &apns).await;
        });
    });
    receiver
        .recv()
        .context("the fakes' thread stopped")?
        .context("starting the fakes (are ports 4010–4012 free?)")
}

type DemoFakes = (
    fakes::sms::FakeSms,
    fakes::fcm::FakeFcm,
    fakes::hms::FakeHms,
    fakes::apns::FakeApns,
);

/// The demo staff's phones register for pushes (FCM for urban management, Push Kit for water),
/// and citizens without the app hear of acceptance and replies by SMS.
fn set_up_demo_notifications(tokens: &[(String, String)]) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client_for = |subject: &str| -> anyhow::Result<mobile_api::client::Client> {
        let token = tokens
            .iter()
            .find(|(s, _)| s == subject)
            .map(|(_, t)| t.clone())
            .with_context(|| format!("no token for {subject}"))?;
        Ok(mobile_api::client::Client::new("http://127.0.0.1:3000").with_token(token))
    };
    runtime.block_on(async {
        for (subject, platform, token) in [
            ("urban-staff-demo-1", "fcm", "demo-fcm-urban-staff-phone"),
            (
                "urban-staff-demo-1",
                "apns",
                "de0000000000000000000000000000000000000000000000000000000000a11c",
            ),
            ("water-staff-demo-1", "hms", "demo-hms-water-staff-phone"),
        ] {
            client_for(subject)?
                .register_device(&mobile_api::NewDevice {
                    platform: platform.into(),
                    token: token.into(),
                    app_version: Some("demo".into()),
                })
                .await?;
            eprintln!("  {subject}: {platform} phone {token}");
        }
        let admin = client_for("admin-demo-1")?;
        let templates = admin.notification_templates().await?;
        for kind in ["citizen_accepted", "citizen_replied"] {
            let Some(current) = templates.items.iter().find(|t| t.kind == kind) else {
                continue;
            };
            admin
                .set_notification_template(
                    kind,
                    &mobile_api::SetNotificationTemplate {
                        title: current.title.clone(),
                        body: current.body.clone(),
                        wechat_template_id: current.wechat_template_id.clone(),
                        sms_template: Some(fakes::sms::notice_template(
                            fakes::sms::Provider::Aliyun,
                        )),
                        fallback: true,
                    },
                )
                .await?;
        }
        anyhow::Ok(())
    })
}

fn mint_demo_citizen_tokens(release: bool, data: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut tokens = Vec::new();
    for (name, phone) in DEMO_CITIZENS {
        let out = Command::new(hotline(release))
            .args(["--data-dir"])
            .arg(data)
            .args([
                "token",
                "--subject",
                &format!("phone:{phone}"),
                "--role",
                "citizen",
            ])
            .args(["--ttl-seconds", "28800"])
            .output()
            .context("minting a demo token")?;
        if !out.status.success() {
            bail!(
                "minting a demo token failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        tokens.push((
            (*name).to_owned(),
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        ));
    }
    Ok(tokens)
}

/// Signs each demo citizen in as a person would: a code by SMS, read from the fake, then sign-in.
fn sign_in_demo_citizens(fake: &fakes::sms::FakeSms) -> anyhow::Result<Vec<(String, String)>> {
    block_on(async {
        let client = mobile_api::client::Client::new("http://127.0.0.1:3000");
        let mut tokens = Vec::new();
        for (name, phone) in DEMO_CITIZENS {
            let before = fake.delivered().len();
            client.sms_code(phone).await?;
            let code = fake
                .delivered()
                .get(before..)
                .and_then(|new| new.iter().rev().find(|m| m.phone == *phone))
                .and_then(|m| m.params.first().cloned())
                .context("the code did not arrive")?;
            let pair = client.sms_sign_in(phone, &code).await?;
            tokens.push(((*name).to_owned(), pair.access_token));
        }
        anyhow::Ok(tokens)
    })
}

/// Signs each demo staff member in through the API: real sign-ins, real tokens.
fn sign_in_demo_staff() -> anyhow::Result<Vec<(String, String)>> {
    block_on(async {
        let client = mobile_api::client::Client::new("http://127.0.0.1:3000");
        let mut tokens = Vec::new();
        for (username, ..) in DEMO_STAFF {
            let pair = client.staff_sign_in(username, DEMO_PASSWORD).await?;
            tokens.push(((*username).to_owned(), pair.access_token));
        }
        anyhow::Ok(tokens)
    })
}

fn test(args: &[String]) -> anyhow::Result<()> {
    setup()?;
    build(false)?;
    step("checking formatting");
    run(cargo().args(["fmt", "--all", "--check"]))?;
    step("linting (clippy, warnings are errors)");
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("starting the test database cluster");
    let data = root().join("target").join("test-data");
    let mut test_env: Vec<(String, String)> = Vec::new();
    let cluster_started = if let Ok(url) = std::env::var("DATABASE_URL") {
        test_env.push(("HOTLINE_TEST_DATABASE_URL".into(), url));
        false
    } else {
        let out = Command::new(hotline(false))
            .args(["--data-dir"])
            .arg(&data)
            .args(["db", "start"])
            .current_dir(root())
            .stderr(Stdio::inherit())
            .output()
            .context("starting the test cluster")?;
        if !out.status.success() {
            bail!("the test cluster did not start");
        }
        test_env.push((
            "HOTLINE_TEST_DATABASE_URL".into(),
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        ));
        true
    };
    step("running every test");
    // nextest (on every machine of this kind) runs each test in its own process and ends with one
    // summary line; plain `cargo test` is the fallback.
    let mut tests = cargo();
    if have("cargo-nextest") {
        tests.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        tests.args(["test", "--workspace", "--no-fail-fast"]);
    }
    tests.args(args).envs(test_env);
    let result = run(&mut tests);
    if cluster_started {
        step("stopping the test database cluster");
        let _ = Command::new(hotline(false))
            .args(["--data-dir"])
            .arg(&data)
            .args(["db", "stop"])
            .current_dir(root())
            .status();
    }
    result
}

fn write_openapi() -> anyhow::Result<()> {
    let path = root().join("mobile-api").join("openapi.json");
    std::fs::write(&path, mobile_api::ApiDoc::to_pretty_json())
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
