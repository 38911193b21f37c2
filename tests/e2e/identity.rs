//! Staff sign-in: passwords, access and refresh tokens, their rotation and revocation, the limit
//! on wrong passwords, staff accounts kept by administrators, and the audit log.

use mobile_api::NewStaffAccount;
use tests::{Client, ClientError, Platform};

const PASSWORD: &str = "a long enough password";

fn code(result: Result<impl std::fmt::Debug, ClientError>) -> (u16, String) {
    let error = result.expect_err("refused");
    (
        error.status().unwrap_or(0),
        error.code().unwrap_or("").to_owned(),
    )
}

fn account(username: &str, role: &str, agency: Option<&str>) -> NewStaffAccount {
    NewStaffAccount {
        username: username.into(),
        display_name: "王力".into(),
        role: role.into(),
        agency: agency.map(str::to_owned),
        password: PASSWORD.into(),
    }
}

fn with_token(platform: &Platform, token: &str) -> Client {
    platform.anonymous().with_token(token)
}

/// Marks `username`'s password as one its holder chose, as if they had changed the one the
/// administrator set (which opens nothing else until they do: the password test's own part).
async fn chosen_by_holder(platform: &Platform, username: &str) {
    sqlx::query("update staff_accounts set password_changed_at = now() where username = $1")
        .bind(username)
        .execute(&platform.db)
        .await
        .expect("the password marked as the holder's");
}

/// The challenge (`WWW-Authenticate`) of `answer`.
fn challenge(answer: &reqwest::Response) -> Option<&str> {
    answer
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().expect("text"))
}

#[tokio::test]
async fn staff_sign_in_and_refresh_tokens_rotate_once() {
    let platform = Platform::start().await;
    let admin = platform.client("admin-1", "admin");
    admin
        .create_staff(&account("wang.li", "operator", None))
        .await
        .expect("created");
    chosen_by_holder(&platform, "wang.li").await;
    let door = platform.anonymous();

    let first = door
        .staff_sign_in("wang.li", PASSWORD)
        .await
        .expect("signed in");
    assert_eq!(
        (
            first.role.as_str(),
            first.subject.as_str(),
            first.token_type.as_str()
        ),
        ("operator", "wang.li", "Bearer")
    );
    assert_eq!(first.expires_in, 900);
    // The access token is a real one: the operator's queue opens with it.
    with_token(&platform, &first.access_token)
        .queue()
        .await
        .expect("the queue");

    let second = door.refresh(&first.refresh_token).await.expect("refreshed");
    assert_ne!(second.refresh_token, first.refresh_token);
    with_token(&platform, &second.access_token)
        .queue()
        .await
        .expect("the queue");

    // The first refresh token again: stolen or replayed. The whole family is revoked, and the
    // access tokens issued in it with it, where they lived out their minutes: whoever refreshed
    // with the stolen token holds nothing that works.
    assert_eq!(
        code(door.refresh(&first.refresh_token).await),
        (401, "refresh_token_reused".into())
    );
    assert_eq!(
        code(door.refresh(&second.refresh_token).await),
        (401, "invalid_refresh_token".into()),
        "the live token of the family is revoked too"
    );
    for access in [&first.access_token, &second.access_token] {
        assert_eq!(
            code(with_token(&platform, access).queue().await),
            (401, "token_revoked".into()),
            "an access token of the revoked family"
        );
    }

    // Signing out ends that session at once and no other; signing out again is no error.
    let third = door
        .staff_sign_in("wang.li", PASSWORD)
        .await
        .expect("signed in");
    let elsewhere = door
        .staff_sign_in("wang.li", PASSWORD)
        .await
        .expect("signed in on another device");
    with_token(&platform, &third.access_token)
        .queue()
        .await
        .expect("a new session works");
    door.sign_out(&third.refresh_token)
        .await
        .expect("signed out");
    door.sign_out(&third.refresh_token).await.expect("again");
    assert_eq!(
        code(door.refresh(&third.refresh_token).await),
        (401, "invalid_refresh_token".into())
    );
    assert_eq!(
        code(with_token(&platform, &third.access_token).queue().await),
        (401, "token_revoked".into()),
        "the signed-out session's access token"
    );
    // Its challenge says the token was refused (RFC 6750's `invalid_token`): refresh or sign in.
    let answer = reqwest::Client::new()
        .get(platform.url("/api/v1/centre/queue"))
        .bearer_auth(&third.access_token)
        .send()
        .await
        .expect("an answer");
    assert_eq!(
        (answer.status().as_u16(), challenge(&answer)),
        (401, Some(r#"Bearer realm="12345", error="invalid_token""#))
    );
    with_token(&platform, &elsewhere.access_token)
        .queue()
        .await
        .expect("the other device's session goes on");
    door.refresh(&elsewhere.refresh_token)
        .await
        .expect("and refreshes");
    for bad in ["", "rt_not-a-token", "eyJhbGciOi.not.a.refresh.token"] {
        assert_eq!(
            code(door.refresh(bad).await),
            (401, "invalid_refresh_token".into()),
            "{bad}"
        );
    }

    let stored: Vec<String> = sqlx::query_scalar("select token_hash from refresh_tokens")
        .fetch_all(&platform.db)
        .await
        .expect("hashes");
    assert_eq!(stored.len(), 5);
    assert!(
        stored.iter().all(|hash| hash.len() == 64
            && *hash != first.refresh_token
            && *hash != second.refresh_token),
        "only hashes are stored"
    );
    let password: String =
        sqlx::query_scalar("select password_hash from staff_accounts where username = 'wang.li'")
            .fetch_one(&platform.db)
            .await
            .expect("hash");
    assert!(password.starts_with("$argon2id$") && !password.contains(PASSWORD));

    let reused = admin
        .audit_log(Some("refresh_reused"))
        .await
        .expect("audit");
    assert_eq!(reused.items.len(), 1);
    assert_eq!(reused.items[0].target.as_deref(), Some("wang.li"));
}

#[tokio::test]
async fn wrong_passwords_are_limited_and_every_try_is_audited() {
    let platform = Platform::start().await;
    let admin = platform.client("admin-1", "admin");
    admin
        .create_staff(&account("li.na", "supervisor", None))
        .await
        .expect("created");
    let door = platform.anonymous();
    // An unknown user reads like a wrong password; the 401 has the challenge every 401 has,
    // naming only the kind of token the API takes.
    let answer = reqwest::Client::new()
        .post(platform.url("/api/v1/auth/staff/sign-in"))
        .json(&serde_json::json!({ "username": "nobody.here", "password": PASSWORD }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(
        (answer.status().as_u16(), challenge(&answer)),
        (401, Some(r#"Bearer realm="12345""#))
    );
    let body: serde_json::Value = answer.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "invalid_credentials");
    for _ in 0..5 {
        assert_eq!(
            code(door.staff_sign_in("li.na", "not the password").await),
            (401, "invalid_credentials".into())
        );
    }
    // Locked for now, even with the right password.
    let response = reqwest::Client::new()
        .post(platform.url("/api/v1/auth/staff/sign-in"))
        .json(&serde_json::json!({"username": "li.na", "password": PASSWORD}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: i64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_many_attempts");

    // Another user is not affected.
    admin
        .create_staff(&account("zhao.lei", "supervisor", None))
        .await
        .expect("created");
    door.staff_sign_in("zhao.lei", PASSWORD)
        .await
        .expect("signed in");

    let failed = admin
        .audit_log(Some("sign_in_failed"))
        .await
        .expect("audit");
    assert_eq!(failed.items.len(), 6);
    let signed_in = admin.audit_log(Some("signed_in")).await.expect("audit");
    assert_eq!(signed_in.items.len(), 1);
    assert_eq!(signed_in.items[0].actor, "zhao.lei");
}

#[tokio::test]
async fn administrators_keep_staff_accounts() {
    let platform = Platform::start().await;
    let admin = platform.client("admin-1", "admin");
    let door = platform.anonymous();

    let created = admin
        .create_staff(&account("chen.gang", "agency_staff", Some("utility-water")))
        .await
        .expect("created");
    assert_eq!(created.agency.expect("agency").name, "驻马店市供水有限公司");
    assert!(!created.disabled);
    chosen_by_holder(&platform, "chen.gang").await;
    let pair = door
        .staff_sign_in("CHEN.GANG ", PASSWORD)
        .await
        .expect("signed in");
    assert_eq!(pair.agency.as_deref(), Some("utility-water"));
    with_token(&platform, &pair.access_token)
        .tasks(None)
        .await
        .expect("the agency's tasks");

    for (new, field) in [
        (
            account("No Spaces", "operator", None),
            "username:invalid_value",
        ),
        (account("zhou.min", "citizen", None), "role:invalid_value"),
        (account("zhou.min", "agency_staff", None), "agency:required"),
        (
            account("zhou.min", "operator", Some("utility-water")),
            "agency:field_not_allowed",
        ),
        (
            account("zhou.min", "agency_staff", Some("no-such-agency")),
            "agency:unknown_agency",
        ),
        (
            NewStaffAccount {
                password: "short".into(),
                ..account("zhou.min", "operator", None)
            },
            "password:weak_password",
        ),
    ] {
        let error = admin.create_staff(&new).await.expect_err("refused");
        assert_eq!(error.status(), Some(422), "{field}");
        let ClientError::Api { envelope, .. } = error else {
            panic!("an API error")
        };
        let fields: Vec<String> = envelope
            .error
            .fields
            .iter()
            .map(|f| format!("{}:{}", f.field, f.code))
            .collect();
        assert_eq!(fields, [field]);
    }
    assert_eq!(
        code(
            admin
                .create_staff(&account("chen.gang", "operator", None))
                .await
        ),
        (409, "username_taken".into())
    );

    let disabled = admin
        .set_staff_disabled("chen.gang", true)
        .await
        .expect("disabled");
    assert!(disabled.disabled);
    assert_eq!(
        code(door.staff_sign_in("chen.gang", PASSWORD).await),
        (403, "account_disabled".into())
    );
    assert_eq!(
        code(door.refresh(&pair.refresh_token).await),
        (401, "invalid_refresh_token".into()),
        "disabling revoked the account's refresh tokens"
    );
    // And its access token, at once: someone dismissed keeps no minutes of access.
    let dismissed = with_token(&platform, &pair.access_token);
    assert_eq!(code(dismissed.me().await), (401, "token_revoked".into()));
    admin
        .set_staff_disabled("chen.gang", false)
        .await
        .expect("enabled");
    let back = door
        .staff_sign_in("chen.gang", PASSWORD)
        .await
        .expect("signed in again");
    // Enabled again, the old token stays ended; a new sign-in's works.
    assert_eq!(code(dismissed.me().await), (401, "token_revoked".into()));
    with_token(&platform, &back.access_token)
        .me()
        .await
        .expect("the new sign-in's token works");

    assert_eq!(
        code(admin.set_staff_disabled("admin-1", true).await),
        (422, "validation_failed".into()),
        "no administrator locks themselves out"
    );
    assert_eq!(code(admin.set_staff_disabled("nobody", true).await).0, 404);

    let accounts = admin.staff_accounts().await.expect("accounts");
    assert_eq!(accounts.items.len(), 1);
    let actions: Vec<String> = admin
        .audit_log(None)
        .await
        .expect("audit")
        .items
        .into_iter()
        .map(|entry| entry.action)
        .collect();
    for expected in [
        "staff_created",
        "staff_disabled",
        "staff_enabled",
        "signed_in",
        "sign_in_failed",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn the_audit_log_reads_the_newest_entries_not_every_one() {
    let platform = Platform::start().await;
    let citizen = platform.client("citizen-1", "citizen");
    let filed = citizen
        .create_request(&tests::valid_request(), None)
        .await
        .expect("filed")
        .tracking_number;
    // A city's months: many sign-ins, many orders, their numbers shown to staff, a day apart.
    let mut db = platform.db.acquire().await.expect("a connection");
    tests::copy_order(&mut db, &filed, 3000, "description", "address").await;
    tests::execute_all(
        &mut db,
        &[
            "insert into auth_events (event, actor, target, created_at) \
             select 'signed_in', 'resident-' || g % 500, 'resident-' || g % 500, \
                    now() - g * interval '1 minute' \
             from generate_series(1, 20000) g",
            "insert into phone_reveals (work_order_id, subject, role, created_at) \
             select work_order_id, 'operator-' || (row_number() over (order by created_at)) % 20, \
                    'operator', created_at + interval '1 hour' \
             from work_orders",
            "analyze auth_events, phone_reveals, work_orders",
        ],
        "the city's months",
    )
    .await;

    // The newest first, each with its order's number.
    let shown = platform.audited("contact_phone_revealed").await;
    assert_eq!(shown.len(), 100);
    let newest: (String, String) = sqlx::query_as(
        "select r.subject, o.tracking_number from phone_reveals r \
         join work_orders o using (work_order_id) order by r.created_at desc limit 1",
    )
    .fetch_one(&mut *db)
    .await
    .expect("the newest showing");
    assert_eq!(shown[0], (newest.0, Some(newest.1)));

    // A page of everything, of one action, of one actor: the newest entries of each table are
    // read through its index on when (and on who, or what), never a table whole.
    let pages: [(Option<&str>, Option<&str>); 5] = [
        (None, None),
        (Some("contact_phone_revealed"), None),
        (Some("staff_created"), None),
        (None, Some("resident-7")),
        (Some("signed_in"), Some("operator-3")),
    ];
    for (action, actor) in pages {
        let plan = tests::plan(
            &mut db,
            order_store::audit::PAGE,
            Some(order_store::audit::SETTINGS),
            |query| query.bind(action).bind(actor).bind(100_i64),
        )
        .await;
        for table in ["auth_events", "phone_reveals", "work_orders"] {
            assert!(
                !plan
                    .iter()
                    .any(|line| line.contains(&format!("Seq Scan on {table}"))),
                "{action:?} {actor:?}: {plan:#?}"
            );
        }
        assert!(
            tests::most_rows_read(&plan) <= 1000,
            "{action:?} {actor:?}: {plan:#?}"
        );
    }
}

/// The fields a refused request named, as `field:code`.
fn fields(result: Result<impl std::fmt::Debug, ClientError>) -> Vec<String> {
    (result.expect_err("refused").fields().iter())
        .map(|f| format!("{}:{}", f.field, f.code))
        .collect()
}

#[tokio::test]
async fn staff_change_their_own_password_and_administrators_reset_a_lost_one() {
    let platform = Platform::start().await;
    let admin = platform.client("admin-1", "admin");
    admin
        .create_staff(&account(
            "chen.yu",
            "agency_staff",
            Some("city-urban-management"),
        ))
        .await
        .expect("created");
    let door = platform.anonymous();
    // The administrator chose the password: signing in says to change it.
    let first = door
        .staff_sign_in("chen.yu", PASSWORD)
        .await
        .expect("signed in");
    assert!(first.password_change_required);
    let elsewhere = door
        .staff_sign_in("chen.yu", PASSWORD)
        .await
        .expect("on another phone");
    let me = with_token(&platform, &first.access_token);
    const MINE: &str = "陈宇自己的新密码 2026";
    // Until it is changed, that is all the token opens: their own account and the change; a
    // refresh keeps the session so.
    let restricted = (403, "password_change_required".to_owned());
    assert_eq!(code(me.tasks(None).await), restricted);
    let elsewhere = door
        .refresh(&elsewhere.refresh_token)
        .await
        .expect("refreshed");
    assert!(elsewhere.password_change_required);
    assert_eq!(
        code(
            with_token(&platform, &elsewhere.access_token)
                .tasks(None)
                .await
        ),
        restricted
    );
    let held = me.me().await.expect("their account");
    assert_eq!(
        (
            held.display_name.as_deref(),
            held.agency.map(|a| a.code),
            held.password_change_required,
            held.phone,
            held.requests
        ),
        (
            Some("王力"),
            Some("city-urban-management".to_owned()),
            true,
            None,
            0
        )
    );

    assert_eq!(
        fields(me.change_password("not the password", MINE).await),
        ["current_password:wrong_password"]
    );
    assert_eq!(
        fields(me.change_password(PASSWORD, "short").await),
        ["new_password:weak_password"]
    );
    assert_eq!(
        fields(me.change_password(PASSWORD, PASSWORD).await),
        ["new_password:same_password"]
    );
    let changed = me.change_password(PASSWORD, MINE).await.expect("changed");
    assert_eq!(
        (
            changed.subject.as_str(),
            changed.role.as_str(),
            changed.agency.as_deref()
        ),
        ("chen.yu", "agency_staff", Some("city-urban-management"))
    );
    // Every earlier sign-in is out; the pair the change gave works.
    for old in [&first.refresh_token, &elsewhere.refresh_token] {
        assert_eq!(
            code(door.refresh(old).await),
            (401, "invalid_refresh_token".into())
        );
    }
    door.refresh(&changed.refresh_token)
        .await
        .expect("refreshed");
    // The access tokens of those sign-ins too, at once, not when their minutes run out; the one
    // the change gave is good.
    for old in [&me, &with_token(&platform, &elsewhere.access_token)] {
        assert_eq!(code(old.me().await), (401, "token_revoked".into()));
    }
    with_token(&platform, &changed.access_token)
        .tasks(None)
        .await
        .expect("the new pair's token opens everything the role may");
    assert_eq!(
        code(door.staff_sign_in("chen.yu", PASSWORD).await),
        (401, "invalid_credentials".into())
    );
    let again = door
        .staff_sign_in("chen.yu", MINE)
        .await
        .expect("signed in");
    assert!(!again.password_change_required);
    assert!(
        !with_token(&platform, &again.access_token)
            .me()
            .await
            .expect("their account")
            .password_change_required
    );
    assert_eq!(
        platform.audited("password_changed").await,
        [("chen.yu".to_owned(), Some("chen.yu".to_owned()))]
    );

    // Forgotten: an administrator sets one to tell them, and every sign-in of theirs ends.
    let account_after = admin
        .reset_password("chen.yu", "管理员设置的临时密码 01")
        .await
        .expect("reset");
    assert_eq!(account_after.username, "chen.yu");
    assert_eq!(
        code(door.refresh(&again.refresh_token).await),
        (401, "invalid_refresh_token".into())
    );
    assert_eq!(
        code(with_token(&platform, &again.access_token).me().await),
        (401, "token_revoked".into())
    );
    assert_eq!(
        code(door.staff_sign_in("chen.yu", MINE).await),
        (401, "invalid_credentials".into())
    );
    let told = door
        .staff_sign_in("chen.yu", "管理员设置的临时密码 01")
        .await
        .expect("signed in");
    assert!(told.password_change_required);
    assert_eq!(
        code(with_token(&platform, &told.access_token).tasks(None).await),
        restricted
    );
    assert_eq!(
        platform.audited("password_reset").await,
        [("admin-1".to_owned(), Some("chen.yu".to_owned()))]
    );
    assert_eq!(
        fields(
            admin
                .reset_password("admin-1", "管理员设置的临时密码 02")
                .await
        ),
        ["username:cannot_reset_self"]
    );
    assert_eq!(
        fields(admin.reset_password("chen.yu", "short").await),
        ["password:weak_password"]
    );
    assert_eq!(
        code(
            admin
                .reset_password("no.such.user", "管理员设置的临时密码 03")
                .await
        ),
        (404, "not_found".into())
    );
    for (who, client) in [
        (
            "a supervisor",
            platform.client("supervisor-1", "supervisor"),
        ),
        ("the holder", with_token(&platform, &told.access_token)),
    ] {
        assert_eq!(
            code(
                client
                    .reset_password("chen.yu", "管理员设置的临时密码 04")
                    .await
            ),
            (403, "forbidden".into()),
            "{who}"
        );
    }
    assert_eq!(
        code(
            platform
                .client("citizen-1", "citizen")
                .change_password(PASSWORD, MINE)
                .await
        ),
        (403, "forbidden".into())
    );

    // Wrong current passwords count as failed sign-ins, under the same limit: with the one and
    // the two wrong sign-ins above, two more make five.
    let holder = with_token(&platform, &told.access_token);
    for _ in 0..2 {
        assert_eq!(
            fields(holder.change_password("not the password", MINE).await),
            ["current_password:wrong_password"]
        );
    }
    assert_eq!(
        code(
            holder
                .change_password("管理员设置的临时密码 01", MINE)
                .await
        ),
        (429, "too_many_attempts".into())
    );
    assert_eq!(
        code(
            door.staff_sign_in("chen.yu", "管理员设置的临时密码 01")
                .await
        ),
        (429, "too_many_attempts".into())
    );
}

/// `hotline staff add`: the first administrator, before anyone can sign in. A password given on
/// the command line is one chosen for its holder unless `--own-password` says it is theirs; for
/// an account that exists, `--own-password` with its password marks it so, with another changes
/// nothing.
#[tokio::test]
async fn the_first_administrator_is_added_on_the_command_line() {
    let platform = Platform::start().await;
    let url = platform.database_url();
    let add = async |username: &str, password: &str, own: bool| -> String {
        let mut command = tokio::process::Command::new(tests::hotline_binary());
        command
            .args(["staff", "add", "--username", username, "--role", "admin"])
            .args(["--database-url", &url])
            .env("HOTLINE_STAFF_PASSWORD", password)
            .current_dir(tests::workspace_root());
        if own {
            command.arg("--own-password");
        }
        let out = command.output().await.expect("hotline runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let door = platform.anonymous();
    let restricted = (403, "password_change_required".to_owned());

    assert_eq!(
        add("first.admin", PASSWORD, false).await,
        "added first.admin"
    );
    let told = door
        .staff_sign_in("first.admin", PASSWORD)
        .await
        .expect("signed in");
    assert!(told.password_change_required);
    assert_eq!(
        code(
            with_token(&platform, &told.access_token)
                .audit_log(None)
                .await
        ),
        restricted
    );
    assert_eq!(
        add("first.admin", "not the password at all", true).await,
        "first.admin exists; unchanged"
    );
    assert_eq!(
        add("first.admin", PASSWORD, true).await,
        "first.admin exists; its password is marked as its holder's own"
    );
    let own = door
        .staff_sign_in("first.admin", PASSWORD)
        .await
        .expect("signed in");
    assert!(!own.password_change_required);
    with_token(&platform, &own.access_token)
        .audit_log(None)
        .await
        .expect("the audit log opens");

    assert_eq!(
        add("second.admin", PASSWORD, true).await,
        "added second.admin"
    );
    let second = door
        .staff_sign_in("second.admin", PASSWORD)
        .await
        .expect("signed in");
    assert!(!second.password_change_required);
}

/// 退出所有设备: one call ends every session of its caller, on every phone, the calling one too,
/// and no one else's; each is in the audit log. A citizen can, as staff can.
#[tokio::test]
async fn signing_out_everywhere_ends_every_session_of_the_caller() {
    let platform = Platform::start().await;
    let admin = platform.client("admin-1", "admin");
    for username in ["zhou.min", "zhou.qiang"] {
        admin
            .create_staff(&account(username, "operator", None))
            .await
            .expect("created");
        chosen_by_holder(&platform, username).await;
    }
    let door = platform.anonymous();
    let phone = door
        .staff_sign_in("zhou.min", PASSWORD)
        .await
        .expect("on the phone");
    let computer = door
        .staff_sign_in("zhou.min", PASSWORD)
        .await
        .expect("on the computer");
    let colleague = door
        .staff_sign_in("zhou.qiang", PASSWORD)
        .await
        .expect("a colleague");
    with_token(&platform, &phone.access_token)
        .sign_out_everywhere()
        .await
        .expect("signed out everywhere");
    for pair in [&phone, &computer] {
        assert_eq!(
            code(with_token(&platform, &pair.access_token).queue().await),
            (401, "token_revoked".into())
        );
        assert_eq!(
            code(door.refresh(&pair.refresh_token).await),
            (401, "invalid_refresh_token".into())
        );
    }
    with_token(&platform, &colleague.access_token)
        .queue()
        .await
        .expect("a colleague's session goes on");
    let again = door
        .staff_sign_in("zhou.min", PASSWORD)
        .await
        .expect("signs in again");
    with_token(&platform, &again.access_token)
        .queue()
        .await
        .expect("the new session works");

    // Before an administrator's password is changed, signing out everywhere is open too.
    admin
        .create_staff(&account("zhou.xin", "operator", None))
        .await
        .expect("created");
    let told = door
        .staff_sign_in("zhou.xin", PASSWORD)
        .await
        .expect("signed in");
    assert!(told.password_change_required);
    let held = with_token(&platform, &told.access_token);
    held.sign_out_everywhere().await.expect("signed out");
    assert_eq!(code(held.me().await), (401, "token_revoked".into()));

    let citizen = platform.client("citizen-everywhere-1", "citizen");
    citizen.me().await.expect("signed in");
    citizen.sign_out_everywhere().await.expect("signed out");
    assert_eq!(code(citizen.me().await), (401, "token_revoked".into()));
    assert_eq!(
        code(platform.anonymous().sign_out_everywhere().await),
        (401, "unauthenticated".into())
    );
    // An administrator does the same for someone with no other device (强制下线): the account
    // stays enabled, and signs in again.
    let colleague_elsewhere = door
        .staff_sign_in("zhou.qiang", PASSWORD)
        .await
        .expect("a second phone");
    admin
        .sign_out_staff("zhou.qiang")
        .await
        .expect("signed out by the administrator");
    for pair in [&colleague, &colleague_elsewhere] {
        assert_eq!(
            code(with_token(&platform, &pair.access_token).queue().await),
            (401, "token_revoked".into())
        );
    }
    door.staff_sign_in("zhou.qiang", PASSWORD)
        .await
        .expect("still enabled");
    assert_eq!(
        code(admin.sign_out_staff("no.one").await),
        (404, "not_found".into())
    );
    assert_eq!(
        code(
            platform
                .client("supervisor-1", "supervisor")
                .sign_out_staff("zhou.qiang")
                .await
        ),
        (403, "forbidden".into())
    );

    let signed_out = platform.audited("signed_out").await;
    for (actor, subject) in [
        ("zhou.min", "zhou.min"),
        ("citizen-everywhere-1", "citizen-everywhere-1"),
        ("admin-1", "zhou.qiang"),
    ] {
        assert!(
            signed_out.contains(&(actor.to_owned(), Some(subject.to_owned()))),
            "{signed_out:?}"
        );
    }
}

/// An administrator changes an account's name, role or agency: someone moves to another agency.
/// A new role or agency ends the account's sessions (its tokens carry both), and it signs in
/// anew as what it is now; a new name alone does not. Each change is in the audit log.
#[tokio::test]
async fn administrators_move_staff_to_another_agency_or_role() {
    let platform = Platform::start().await;
    let admin = platform.client("admin-1", "admin");
    admin
        .create_staff(&account("sun.li", "agency_staff", Some("utility-water")))
        .await
        .expect("created");
    chosen_by_holder(&platform, "sun.li").await;
    let door = platform.anonymous();
    let before = door
        .staff_sign_in("sun.li", PASSWORD)
        .await
        .expect("signed in");
    let change = |name: &str, role: &str, agency: Option<&str>| mobile_api::StaffAccountChange {
        display_name: name.into(),
        role: role.into(),
        agency: agency.map(str::to_owned),
    };

    // A new name alone: the sessions go on.
    let renamed = admin
        .change_staff(
            "sun.li",
            &change("孙丽", "agency_staff", Some("utility-water")),
        )
        .await
        .expect("renamed");
    assert_eq!(renamed.display_name, "孙丽");
    with_token(&platform, &before.access_token)
        .tasks(None)
        .await
        .expect("still the water company's");

    // Moved to urban management: the old token and refresh token end; signing in again gives
    // the new agency.
    let moved = admin
        .change_staff(
            "sun.li",
            &change("孙丽", "agency_staff", Some("city-urban-management")),
        )
        .await
        .expect("moved");
    assert_eq!(
        moved.agency.map(|a| a.code).as_deref(),
        Some("city-urban-management")
    );
    assert_eq!(
        code(
            with_token(&platform, &before.access_token)
                .tasks(None)
                .await
        ),
        (401, "token_revoked".into())
    );
    assert_eq!(
        code(door.refresh(&before.refresh_token).await),
        (401, "invalid_refresh_token".into())
    );
    let after = door
        .staff_sign_in("sun.li", PASSWORD)
        .await
        .expect("signed in again");
    assert_eq!(after.agency.as_deref(), Some("city-urban-management"));

    // Promoted to supervisor: no agency any more.
    let promoted = admin
        .change_staff("sun.li", &change("孙丽", "supervisor", None))
        .await
        .expect("promoted");
    assert_eq!(
        (promoted.role.as_str(), promoted.agency),
        ("supervisor", None)
    );

    for (bad, field) in [
        (
            change("孙丽", "supervisor", Some("utility-water")),
            "agency:field_not_allowed",
        ),
        (change("孙丽", "agency_staff", None), "agency:required"),
        (
            change("孙丽", "agency_staff", Some("no-such-agency")),
            "agency:unknown_agency",
        ),
        (change(" ", "operator", None), "display_name:invalid_value"),
        (change("孙丽", "mayor", None), "role:invalid_value"),
    ] {
        assert_eq!(fields(admin.change_staff("sun.li", &bad).await), [field]);
    }
    assert_eq!(
        code(
            admin
                .change_staff("no.one", &change("某人", "operator", None))
                .await
        ),
        (404, "not_found".into())
    );
    // Not one's own role; one's own name is fine.
    admin
        .create_staff(&account("admin.two", "admin", None))
        .await
        .expect("created");
    let second = platform.client("admin.two", "admin");
    assert_eq!(
        fields(
            second
                .change_staff("admin.two", &change("管理员二", "operator", None))
                .await
        ),
        ["role:cannot_change_self"]
    );
    second
        .change_staff("admin.two", &change("管理员二", "admin", None))
        .await
        .expect("one's own name");
    assert_eq!(
        code(
            platform
                .client("supervisor-1", "supervisor")
                .change_staff("sun.li", &change("孙丽", "operator", None))
                .await
        ),
        (403, "forbidden".into())
    );

    let changed = platform.audited("staff_changed").await;
    assert_eq!(changed.len(), 4, "{changed:?}");
    assert!(changed.iter().all(|(_, target)| target.is_some()));
}

#[tokio::test]
async fn a_token_minted_by_hand_shows_the_agency_it_acts_for() {
    let platform = Platform::start().await;
    // `hotline token` (the demo's staff, the tests'): no account behind it, only its agency.
    let held = platform
        .agency_client("urban-staff-1", "city-urban-management")
        .me()
        .await
        .expect("its account");
    assert_eq!(
        (
            held.role.as_str(),
            held.display_name,
            held.agency.map(|a| (a.code, a.name)),
            held.password_change_required,
            held.since
        ),
        (
            "agency_staff",
            None,
            Some((
                "city-urban-management".to_owned(),
                "市城市管理局".to_owned()
            )),
            false,
            None
        )
    );
    // The centre's holds no agency.
    let operator = platform.client("operator-1", "operator").me().await;
    assert_eq!(operator.expect("its account").agency, None);
}
