//! Calling outside services from a component: one HTTP call with connect and first-byte
//! timeouts, variables as plain results, and access tokens cached in the Spin key-value store
//! (`default`), which every instance shares, since a fresh instance may serve each request, and
//! in the instance itself.

use serde::{Deserialize, Serialize};
use spin_sdk::http::body::IncomingBodyExt;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// How long a service may take to accept a connection, and then to start answering.
const CONNECT_TIMEOUT_MS: u64 = 3_000;
const FIRST_BYTE_TIMEOUT_MS: u64 = 5_000;
/// A cached token is replaced this long before it expires.
const TOKEN_MARGIN_SECONDS: u64 = 300;

/// A service's answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

use crate::variable;

pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// One HTTP call; a transport failure is the error, any status is an answer.
pub async fn call(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<Answer, String> {
    let mut builder = spin_sdk::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, value.as_str());
    }
    let options = spin_sdk::wasip3::http::types::RequestOptions::new();
    // A runtime that does not support a timeout refuses to set it; the request limit still holds.
    let _ = options.set_connect_timeout(Some(CONNECT_TIMEOUT_MS * 1_000_000));
    let _ = options.set_first_byte_timeout(Some(FIRST_BYTE_TIMEOUT_MS * 1_000_000));
    let request = builder
        .extension(spin_sdk::wasip3::http_compat::RequestOptionsExtension(
            options,
        ))
        .body(spin_sdk::http::FullBody::new(bytes::Bytes::from(body)))
        .map_err(|e| format!("building the request to {url}: {e}"))?;
    let response = spin_sdk::http::send(request)
        .await
        .map_err(|e| format!("{url} is unreachable: {e:?}"))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
        .collect();
    let body = response
        .into_body()
        .bytes()
        .await
        .map_err(|e| format!("reading the answer of {url}: {e:?}"))?
        .to_vec();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

pub async fn post(url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Result<Answer, String> {
    call("POST", url, headers, body).await
}

/// A cached access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    access_token: String,
    expires_at: u64,
}

impl Cached {
    fn fresh(&self) -> bool {
        self.expires_at > now_seconds() + TOKEN_MARGIN_SECONDS
    }
}

thread_local! {
    /// The tokens this instance holds, by key, beside the shared cache: read from the store once
    /// an instance, not once a call.
    static HELD: RefCell<HashMap<String, Cached>> = RefCell::new(HashMap::new());
    /// One fetch of a token at a time in this instance: calls made together wait for the first
    /// one's token rather than each fetching its own.
    static FETCHING: RefCell<HashMap<String, Rc<futures::lock::Mutex<()>>>> =
        RefCell::new(HashMap::new());
}

fn held(key: &str) -> Option<Cached> {
    HELD.with(|held| held.borrow().get(key).cloned())
}

/// The access token kept under `name`: the cached one while it has five minutes left (unless
/// `force`), else a new one from `fetch` (the token and its lifetime in seconds), cached.
///
/// The instance's own copy is looked at first, then the key-value store, which every instance
/// shares. Only one call at a time in an instance fetches: the deliverer sends a batch at once,
/// and when no token was cached each send of it fetched its own (ten at once made seven grants,
/// each an RS256 signature in the guest for FCM, and a request the provider may rate-limit).
pub async fn cached_token<Fut>(
    name: &str,
    force: bool,
    fetch: impl FnOnce() -> Fut,
) -> Result<String, String>
where
    Fut: Future<Output = Result<(String, u64), String>>,
{
    let key = format!("access_token:{name}");
    let before = held(&key);
    if !force && let Some(cached) = before.as_ref().filter(|c| c.fresh()) {
        return Ok(cached.access_token.clone());
    }
    let lock = FETCHING.with(|locks| locks.borrow_mut().entry(key.clone()).or_default().clone());
    let _fetching = lock.lock().await;
    // What may serve now: a fresh token, and when this call's token was refused, another one —
    // got by a call of this instance while this one waited, or by another instance. (WeChat's
    // forced refresh ends the token before it, so instances that each forced their own would
    // end one another's.)
    let refused = force.then(|| before.map(|b| b.access_token));
    let usable = |cached: &Cached| {
        cached.fresh()
            && match &refused {
                None => true,
                Some(Some(token)) => &cached.access_token != token,
                Some(None) => false,
            }
    };
    if let Some(cached) = held(&key).filter(usable) {
        return Ok(cached.access_token);
    }
    let store = spin_sdk::key_value::Store::open_default()
        .await
        .map_err(|e| format!("opening the key-value store: {e:?}"))?;
    if let Ok(Some(cached)) = store.get_json::<Cached>(&key).await
        && usable(&cached)
    {
        let token = cached.access_token.clone();
        HELD.with(|held| held.borrow_mut().insert(key, cached));
        return Ok(token);
    }
    let (access_token, lifetime) = fetch().await?;
    let cached = Cached {
        access_token: access_token.clone(),
        expires_at: now_seconds() + lifetime,
    };
    // A token that cannot be cached still works for this call.
    if let Err(e) = store.set_json(&key, &cached).await {
        eprintln!("caching the {name} token failed: {e:?}");
    }
    HELD.with(|held| held.borrow_mut().insert(key, cached));
    Ok(access_token)
}

/// The mini-program's WeChat access token (`stable_token`: getting one does not invalidate the
/// one other instances hold, unless `force`, after WeChat refused it).
pub async fn wechat_access_token(force: bool) -> Result<String, String> {
    cached_token("wechat", force, || async {
        let (app_id, secret) = (
            variable("wechat_app_id").await?,
            variable("wechat_app_secret").await?,
        );
        if app_id.is_empty() || secret.is_empty() {
            return Err("WeChat is not configured (wechat_app_id, wechat_app_secret)".into());
        }
        let url = format!(
            "{}{}",
            variable("wechat_base_url").await?,
            push::wechat::TOKEN_PATH
        );
        let answer = post(
            &url,
            &[("content-type", "application/json".into())],
            push::wechat::token_body(&app_id, &secret, force)
                .to_string()
                .into_bytes(),
        )
        .await?;
        if answer.status != 200 {
            return Err(format!(
                "the WeChat token endpoint answered {}",
                answer.status
            ));
        }
        let token = push::wechat::read_token(&answer.body)?;
        Ok((token.access_token, token.expires_in))
    })
    .await
}
