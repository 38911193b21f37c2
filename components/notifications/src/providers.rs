//! Sending one delivery through its channel: FCM, Huawei Push Kit, WeChat subscribe messages, SMS.
//!
//! Access tokens are cached in the Spin key-value store (`default`), shared by every instance, and
//! refreshed five minutes before they expire or when the provider says the token is no longer
//! good — then the send is tried once more with the new token. Every outbound call has connect
//! and first-byte timeouts, so a provider that hangs costs one delivery a retry, not the batch.

use push::Outcome;

/// A delivery the deliverer claimed, with what it needs to send.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub delivery_id: uuid::Uuid,
    pub channel: String,
    pub address: String,
    pub device_id: Option<uuid::Uuid>,
    pub attempts: i32,
    pub dedupe_key: String,
    pub notification_id: uuid::Uuid,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub work_order_id: Option<uuid::Uuid>,
    pub tracking_number: Option<String>,
    /// What a notice not about an order is about, for the app to open.
    pub special_report_id: Option<i64>,
    pub early_warning_id: Option<i64>,
    pub circular_id: Option<i64>,
    pub order_title: Option<String>,
    pub wechat_template_id: Option<String>,
    pub sms_template: Option<String>,
}

use api_plumbing::outbound::{Answer, cached_token, call, now_seconds, post};
use api_plumbing::variable;

fn retry_after(answer: &Answer) -> Option<u64> {
    push::retry_after(answer.header("retry-after"))
}

fn transient(error: String) -> Outcome {
    Outcome::Retry {
        after_seconds: None,
        error,
    }
}

/// The access token of `provider`: the cached one while it has time left, else a fresh one.
async fn access_token(provider: &str, force: bool) -> Result<String, String> {
    if provider == "wechat" {
        return api_plumbing::outbound::wechat_access_token(force).await;
    }
    cached_token(provider, force, || async {
        let token = match provider {
            "fcm" => fcm_token().await?,
            "hms" => hms_token().await?,
            "apns" => apns_token().await?,
            other => return Err(format!("no token grant for {other}")),
        };
        Ok((token.access_token, token.expires_in))
    })
    .await
}

fn read_token(provider: &str, answer: &Answer) -> Result<push::AccessToken, String> {
    if !(200..300).contains(&answer.status) {
        return Err(format!(
            "the {provider} token endpoint answered {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        ));
    }
    serde_json::from_slice(&answer.body).map_err(|e| format!("the {provider} token answer: {e}"))
}

/// A provider's account, made from the component's variables once per instance, as they are read
/// once per instance (`api_plumbing::variable`): every push needs it, and its key is some 2 KB
/// (FCM's a JSON document to parse). One that is missing or malformed is not kept, and is made
/// again on the next push.
async fn kept<T>(
    cell: &'static std::thread::LocalKey<Kept<T>>,
    make: impl AsyncFnOnce() -> Result<T, String>,
) -> Result<std::sync::Arc<T>, String> {
    if let Some(account) = cell.with_borrow(Clone::clone) {
        return Ok(account);
    }
    let account = std::sync::Arc::new(make().await?);
    cell.set(Some(account.clone()));
    Ok(account)
}

/// Where [`kept`] keeps an account.
type Kept<T> = std::cell::RefCell<Option<std::sync::Arc<T>>>;

/// The FCM service account (see [`kept`]).
async fn fcm_account() -> Result<std::sync::Arc<push::fcm::ServiceAccount>, String> {
    thread_local! {
        static ACCOUNT: Kept<push::fcm::ServiceAccount> = const { Kept::new(None) };
    }
    kept(&ACCOUNT, async || {
        let json = variable("fcm_service_account").await?;
        if json.trim().is_empty() {
            return Err("FCM is not configured (fcm_service_account)".into());
        }
        serde_json::from_str::<push::fcm::ServiceAccount>(&json)
            .map_err(|e| format!("fcm_service_account is not a service-account key: {e}"))
    })
    .await
}

async fn fcm_token() -> Result<push::AccessToken, String> {
    let account = fcm_account().await?;
    let assertion = push::fcm::assertion(&account, now_seconds())?;
    let url = format!("{}/token", variable("google_oauth_base_url").await?);
    let answer = post(
        &url,
        &[("content-type", "application/x-www-form-urlencoded".into())],
        push::fcm::token_form(&assertion).into_bytes(),
    )
    .await?;
    read_token("FCM", &answer)
}

/// APNs's settings: the `.p8` key, its id, the team and the app's bundle id (the topic).
struct ApnsAccount {
    key: String,
    key_id: String,
    team_id: String,
    topic: String,
    base_url: String,
}

/// APNs's settings (see [`kept`]).
async fn apns_account() -> Result<std::sync::Arc<ApnsAccount>, String> {
    thread_local! {
        static ACCOUNT: Kept<ApnsAccount> = const { Kept::new(None) };
    }
    kept(&ACCOUNT, async || {
        let account = ApnsAccount {
            key: variable("apns_private_key").await?,
            key_id: variable("apns_key_id").await?,
            team_id: variable("apns_team_id").await?,
            topic: variable("apns_topic").await?,
            base_url: variable("apns_base_url").await?,
        };
        if account.key.trim().is_empty() || account.key_id.is_empty() || account.team_id.is_empty()
        {
            return Err(
                "APNs is not configured (apns_private_key, apns_key_id, apns_team_id)".into(),
            );
        }
        Ok(account)
    })
    .await
}

/// APNs's provider token is made here, not granted: a JWT used for 50 minutes.
async fn apns_token() -> Result<push::AccessToken, String> {
    let account = apns_account().await?;
    Ok(push::AccessToken {
        access_token: push::apns::provider_token(
            &account.key,
            &account.key_id,
            &account.team_id,
            now_seconds(),
        )?,
        expires_in: push::apns::TOKEN_LIFETIME_SECONDS,
    })
}

async fn hms_token() -> Result<push::AccessToken, String> {
    let (client_id, secret) = (
        variable("hms_client_id").await?,
        variable("hms_client_secret").await?,
    );
    if client_id.is_empty() || secret.is_empty() {
        return Err("HMS is not configured (hms_client_id, hms_client_secret)".into());
    }
    let url = format!(
        "{}{}",
        variable("hms_oauth_base_url").await?,
        push::hms::TOKEN_PATH
    );
    let answer = post(
        &url,
        &[("content-type", "application/x-www-form-urlencoded".into())],
        push::hms::token_form(&client_id, &secret).into_bytes(),
    )
    .await?;
    read_token("HMS", &answer)
}

/// Sends with the provider's access token; when the provider refuses the token, gets a new one
/// and tries once more.
async fn with_token<F, Fut>(provider: &str, send: F) -> Outcome
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let token = match access_token(provider, false).await {
        Ok(token) => token,
        Err(error) => return transient(error),
    };
    match send(token).await {
        Outcome::Reauthenticate(first) => match access_token(provider, true).await {
            Ok(token) => match send(token).await {
                // Refused twice: our credentials are wrong, which an operator must fix.
                Outcome::Reauthenticate(error) => transient(error),
                other => other,
            },
            Err(error) => transient(format!("{first}; then {error}")),
        },
        other => other,
    }
}

/// What the app receives beside the text.
fn data(claimed: &Claimed) -> Vec<(&'static str, String)> {
    let mut data = vec![
        ("notification_id", claimed.notification_id.to_string()),
        ("kind", claimed.kind.clone()),
        ("dedupe_key", claimed.dedupe_key.clone()),
    ];
    if let Some(order) = claimed.work_order_id {
        data.push(("work_order_id", order.to_string()));
    }
    if let Some(number) = &claimed.tracking_number {
        data.push(("tracking_number", number.clone()));
    }
    if let Some(report) = claimed.special_report_id {
        data.push(("special_report_id", report.to_string()));
    }
    if let Some(warning) = claimed.early_warning_id {
        data.push(("early_warning_id", warning.to_string()));
    }
    if let Some(circular) = claimed.circular_id {
        data.push(("circular_id", circular.to_string()));
    }
    data
}

/// Sends one delivery; the caller records the outcome.
pub async fn send(claimed: &Claimed) -> Outcome {
    match claimed.channel.as_str() {
        "fcm" => fcm(claimed).await,
        "hms" => hms(claimed).await,
        "apns" => apns(claimed).await,
        "wechat" => wechat(claimed).await,
        "sms" => sms(claimed).await,
        other => Outcome::Rejected(format!("no provider for the channel {other}")),
    }
}

async fn fcm(claimed: &Claimed) -> Outcome {
    let (account, base) = match (fcm_account().await, variable("fcm_base_url").await) {
        (Ok(account), Ok(base)) => (account, base),
        (Err(error), _) | (_, Err(error)) => return transient(error),
    };
    let data = data(claimed);
    let body = push::fcm::send_body(&claimed.address, &message(claimed, &data)).to_string();
    if body.len() > push::fcm::MAX_PAYLOAD_BYTES {
        return Outcome::Rejected(format!(
            "the message is {} bytes, over FCM's {}",
            body.len(),
            push::fcm::MAX_PAYLOAD_BYTES
        ));
    }
    let url = format!("{base}{}", push::fcm::send_path(&account.project_id));
    bearer_push("fcm", &url, &body, push::fcm::classify).await
}

async fn hms(claimed: &Claimed) -> Outcome {
    let (client_id, base) = match (
        variable("hms_client_id").await,
        variable("hms_push_base_url").await,
    ) {
        (Ok(id), Ok(base)) => (id, base),
        (Err(error), _) | (_, Err(error)) => return transient(error),
    };
    let data = data(claimed);
    let body = push::hms::send_body(&claimed.address, &message(claimed, &data)).to_string();
    let url = format!("{base}{}", push::hms::send_path(&client_id));
    bearer_push("hms", &url, &body, push::hms::classify).await
}

async fn apns(claimed: &Claimed) -> Outcome {
    let account = match apns_account().await {
        Ok(account) => account,
        Err(error) => return transient(error),
    };
    let data = data(claimed);
    let message = message(claimed, &data);
    let payload = push::apns::payload(&message).to_string();
    if payload.len() > push::apns::MAX_PAYLOAD_BYTES {
        return Outcome::Rejected(format!(
            "the message is {} bytes, over APNs's {}",
            payload.len(),
            push::apns::MAX_PAYLOAD_BYTES
        ));
    }
    let url = format!(
        "{}{}",
        account.base_url,
        push::apns::send_path(&claimed.address)
    );
    let mut headers = push::apns::headers(&account.topic, &message);
    headers.push(("content-type", "application/json".to_owned()));
    with_token("apns", |token| {
        let mut headers = headers.clone();
        headers.push(("authorization", format!("bearer {token}")));
        let (url, payload) = (&url, &payload);
        async move {
            match post(url, &headers, payload.as_bytes().to_vec()).await {
                Ok(answer) => push::apns::classify(
                    answer.status,
                    retry_after(&answer),
                    answer.header("apns-id"),
                    &answer.body,
                ),
                Err(error) => transient(error),
            }
        }
    })
    .await
}

fn message<'a>(claimed: &'a Claimed, data: &'a [(&'a str, String)]) -> push::Message<'a> {
    push::Message {
        title: &claimed.title,
        body: &claimed.body,
        data,
        dedupe_key: &claimed.dedupe_key,
    }
}

/// POSTs `body` to `url` with the provider's bearer token; `classify` reads the answer.
async fn bearer_push(
    provider: &str,
    url: &str,
    body: &str,
    classify: fn(u16, Option<u64>, &[u8]) -> Outcome,
) -> Outcome {
    with_token(provider, |token| async move {
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("authorization", format!("Bearer {token}")),
        ];
        match post(url, &headers, body.as_bytes().to_vec()).await {
            Ok(answer) => classify(answer.status, retry_after(&answer), &answer.body),
            Err(error) => transient(error),
        }
    })
    .await
}

async fn wechat(claimed: &Claimed) -> Outcome {
    let Some(template) = &claimed.wechat_template_id else {
        return Outcome::Rejected(format!(
            "the {} template has no WeChat subscribe template",
            claimed.kind
        ));
    };
    let base = match variable("wechat_base_url").await {
        Ok(base) => base,
        Err(error) => return transient(error),
    };
    let body = push::wechat::send_body(
        &claimed.address,
        template,
        claimed.tracking_number.as_deref().unwrap_or(""),
        claimed.order_title.as_deref().unwrap_or(""),
        &claimed.title,
        &claimed.body,
    )
    .to_string();
    with_token("wechat", |token| {
        let url = format!("{base}{}?access_token={token}", push::wechat::SEND_PATH);
        let body = body.clone();
        async move {
            match post(
                &url,
                &[("content-type", "application/json".to_owned())],
                body.into_bytes(),
            )
            .await
            {
                Ok(answer) => push::wechat::classify(answer.status, &answer.body),
                Err(error) => transient(error),
            }
        }
    })
    .await
}

async fn sms(claimed: &Claimed) -> Outcome {
    let Some(template) = &claimed.sms_template else {
        return Outcome::Rejected(format!("the {} template has no SMS template", claimed.kind));
    };
    let settings = async {
        Ok::<_, String>((
            variable("sms_provider").await?,
            sms::Account {
                base_url: variable("sms_base_url").await?,
                key_id: variable("sms_key_id").await?,
                secret: variable("sms_secret").await?,
                sign_name: variable("sms_sign_name").await?,
                template: template.clone(),
                app_id: variable("sms_app_id").await?,
            },
        ))
    };
    let (provider, account) = match settings.await {
        Ok(settings) => settings,
        Err(error) => return transient(error),
    };
    if account.key_id.is_empty() || account.secret.is_empty() {
        return transient("SMS is not configured (sms_key_id, sms_secret)".into());
    }
    let params = [(
        "number",
        claimed.tracking_number.clone().unwrap_or_default(),
    )];
    let message = sms::Message {
        phone: &claimed.address,
        params: &params,
    };
    let now = chrono::Utc::now();
    let request = match provider.as_str() {
        "aliyun" => sms::aliyun::send_request(
            &account,
            &message,
            &uuid::Uuid::new_v4().to_string(),
            &now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        "tencent" => sms::tencent::send_request(&account, &message, now.timestamp()),
        other => return transient(format!("unknown sms_provider {other:?}")),
    };
    let headers: Vec<(&str, String)> = request
        .headers
        .iter()
        .filter(|(name, _)| name != "host")
        .map(|(name, value)| (name.as_str(), value.clone()))
        .collect();
    let answer = match call(request.method, &request.url, &headers, request.body).await {
        Ok(answer) => answer,
        Err(error) => return transient(error),
    };
    let result = match provider.as_str() {
        "aliyun" => sms::aliyun::read_answer(answer.status, &answer.body),
        _ => sms::tencent::read_answer(answer.status, &answer.body),
    };
    match result {
        Ok(reference) => Outcome::Sent(Some(reference)),
        Err(error) => {
            let describe = format!("SMS {}: {}", error.code, error.message);
            match error.kind {
                sms::ErrorKind::BadNumber => Outcome::InvalidAddress(describe),
                sms::ErrorKind::RateLimited => Outcome::Retry {
                    after_seconds: Some(60),
                    error: describe,
                },
                sms::ErrorKind::Transient | sms::ErrorKind::Misconfigured => transient(describe),
            }
        }
    }
}
