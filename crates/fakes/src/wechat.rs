//! The WeChat API as it behaves for a mini-program: `jscode2session` (the app id and secret must be
//! the app's, a login code is valid for five minutes and only once), `stable_token`, and
//! subscribe messages (a live access token, an approved template, a known openid with the
//! citizen's one-time consent left — else 43101 — and WeChat's length limits on `thing` and
//! `phrase` values — else 47003), and the content check (msgSecCheck version 2: a live token, a
//! known openid, a scene, at most 2500 characters; `risky` or `review` for the words a test flags). Errors are WeChat's: HTTP 200 with `errcode`. A test hands out
//! login codes as the mini-program's `wx.login()` would, and consents as `wx.requestSubscribeMessage`.

use crate::{Answer, Fault, Faults, Received, meet, serve};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const APP_ID: &str = "wx0123456789abcdef";
pub const APP_SECRET: &str = "wechat-test-secret";
/// The subscribe template (工单进度提醒) the fake's app has picked from WeChat's library.
pub const PROGRESS_TEMPLATE: &str = "tpl-progress-0123456789";

/// A subscribe message the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribed {
    pub openid: String,
    pub template_id: String,
    pub page: String,
    /// `key → value` of `data`.
    pub data: HashMap<String, String>,
}
const CODE_LIFETIME: Duration = Duration::from_secs(300);

struct Code {
    openid: String,
    issued: Instant,
    used: bool,
}

#[derive(Default)]
struct State {
    codes: HashMap<String, Code>,
    /// Error codes the next requests meet (`-1` busy, `45011` rate limit, `40226` risky user...).
    failures: VecDeque<i64>,
    calls: usize,
    access_tokens: std::collections::HashSet<String>,
    token_grants: usize,
    /// One-time consents left, by (openid, template).
    consents: HashMap<(String, String), u32>,
    known_openids: std::collections::HashSet<String>,
    subscribed: Vec<Subscribed>,
    send_faults: Faults,
    check_faults: Faults,
    /// Words that make the content check answer `risky`, and `review`.
    risky_words: Vec<String>,
    review_words: Vec<String>,
    sec_checks: usize,
}

#[derive(Clone)]
pub struct FakeWechat {
    pub address: SocketAddr,
    state: Arc<Mutex<State>>,
}

fn error(errcode: i64, errmsg: &str) -> Answer {
    Answer::json(
        200,
        serde_json::json!({ "errcode": errcode, "errmsg": errmsg }),
    )
}

impl FakeWechat {
    pub async fn start(address: SocketAddr) -> anyhow::Result<FakeWechat> {
        let state = Arc::new(Mutex::new(State::default()));
        let handler_state = state.clone();
        let address = serve(address, move |received: Received| {
            let state_handle = handler_state.clone();
            async move {
                let fault = match received.path.as_str() {
                    "/cgi-bin/message/subscribe/send" => lock(&state_handle).send_faults.take(),
                    "/wxa/msg_sec_check" => lock(&state_handle).check_faults.take(),
                    _ => None,
                };
                // WeChat's errors come with HTTP 200 and an errcode.
                let answer = meet(fault, |_, code| {
                    error(code.parse().unwrap_or(-1), "injected")
                })
                .await;
                let mut state = lock(&state_handle);
                state.calls += 1;
                if let Some(answer) = answer {
                    return answer;
                }
                match (received.method.as_str(), received.path.as_str()) {
                    ("POST", "/cgi-bin/message/subscribe/send") => {
                        return subscribe_send(&mut state, &received);
                    }
                    ("POST", "/cgi-bin/stable_token") => {
                        return stable_token(&mut state, &received);
                    }
                    ("POST", "/wxa/msg_sec_check") => return sec_check(&mut state, &received),
                    _ => {}
                }
                if received.path != "/sns/jscode2session" || received.method != "GET" {
                    return Answer::json(
                        404,
                        serde_json::json!({ "errcode": 404, "errmsg": "not found" }),
                    );
                }
                if let Some(code) = state.failures.pop_front() {
                    return error(code, "injected");
                }
                let params = sms::aliyun::parse_query(&received.query).unwrap_or_default();
                let get = |name: &str| {
                    params
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.as_str())
                        .unwrap_or("")
                };
                if get("appid") != APP_ID {
                    return error(40013, "invalid appid");
                }
                if get("secret") != APP_SECRET {
                    return error(40125, "invalid appsecret");
                }
                if get("grant_type") != "authorization_code" {
                    return error(40002, "invalid grant_type");
                }
                let Some(code) = state.codes.get_mut(get("js_code")) else {
                    return error(40029, "invalid code");
                };
                if code.used {
                    return error(40163, "code been used");
                }
                if code.issued.elapsed() > CODE_LIFETIME {
                    return error(40029, "invalid code");
                }
                code.used = true;
                Answer::json(
                    200,
                    serde_json::json!({
                        "openid": code.openid,
                        "session_key": format!("sk-{}", uuid::Uuid::new_v4().simple()),
                    }),
                )
            }
        })
        .await?;
        Ok(FakeWechat { address, state })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A login code for the user `openid`, as `wx.login()` gives the mini-program.
    pub fn login(&self, openid: &str) -> String {
        let code = format!("wxcode-{}", uuid::Uuid::new_v4().simple());
        self.lock().known_openids.insert(openid.to_owned());
        self.lock().codes.insert(
            code.clone(),
            Code {
                openid: openid.to_owned(),
                issued: Instant::now(),
                used: false,
            },
        );
        code
    }

    /// The citizen `openid` accepts `times` more messages of `template` (`wx.requestSubscribeMessage`).
    pub fn consent(&self, openid: &str, template: &str, times: u32) {
        *self
            .lock()
            .consents
            .entry((openid.to_owned(), template.to_owned()))
            .or_default() += times;
    }

    /// Subscribe messages accepted so far, oldest first.
    pub fn subscribed(&self) -> Vec<Subscribed> {
        self.lock().subscribed.clone()
    }

    /// The content check answers `risky` for text with any of `risky`, `review` for `review`.
    pub fn flag_words(&self, risky: &[&str], review: &[&str]) {
        let mut state = self.lock();
        state.risky_words = risky.iter().map(|w| (*w).to_owned()).collect();
        state.review_words = review.iter().map(|w| (*w).to_owned()).collect();
    }

    /// How many content checks were answered.
    pub fn sec_checks(&self) -> usize {
        self.lock().sec_checks
    }

    /// How many access tokens were granted.
    pub fn token_grants(&self) -> usize {
        self.lock().token_grants
    }

    /// Every access token granted so far stops working (42001 on the next use).
    pub fn expire_tokens(&self) {
        self.lock().access_tokens.clear();
    }

    /// The next `times` subscribe sends meet `fault` (`Fault::Code { code: "43101", .. }`...).
    pub fn fail_next_send(&self, fault: Fault, times: usize) {
        self.lock().send_faults.push(fault, times);
    }

    /// The next `times` content checks meet `fault` (`Fault::Status` for an outage, `Fault::Code`
    /// for WeChat's refusal of that one check).
    pub fn fail_next_check(&self, fault: Fault, times: usize) {
        self.lock().check_faults.push(fault, times);
    }

    /// The next `times` requests meet WeChat's `errcode`.
    pub fn fail_next(&self, errcode: i64, times: usize) {
        let mut state = self.lock();
        for _ in 0..times {
            state.failures.push_back(errcode);
        }
    }

    /// How many requests reached the fake.
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn stable_token(state: &mut State, received: &Received) -> Answer {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&received.body) else {
        return error(47001, "data format error");
    };
    if body["grant_type"] != "client_credential" {
        return error(40002, "invalid grant_type");
    }
    if body["appid"] != APP_ID {
        return error(40013, "invalid appid");
    }
    if body["secret"] != APP_SECRET {
        return error(40125, "invalid appsecret");
    }
    state.token_grants += 1;
    let token = format!("wxtoken-{}", uuid::Uuid::new_v4().simple());
    state.access_tokens.insert(token.clone());
    Answer::json(
        200,
        serde_json::json!({ "access_token": token, "expires_in": 7200 }),
    )
}

fn subscribe_send(state: &mut State, received: &Received) -> Answer {
    if let Err(refused) = bearer(state, received) {
        return refused;
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&received.body) else {
        return error(47001, "data format error");
    };
    let openid = body["touser"].as_str().unwrap_or("");
    let template = body["template_id"].as_str().unwrap_or("");
    if template != PROGRESS_TEMPLATE {
        return error(40037, "invalid template_id");
    }
    if !state.known_openids.contains(openid) {
        return error(40003, "invalid openid");
    }
    let mut data = HashMap::new();
    for (key, value) in body["data"].as_object().into_iter().flatten() {
        let Some(value) = value["value"].as_str() else {
            return error(47003, "argument invalid! data.value is empty");
        };
        let limit = if key.starts_with("thing") {
            20
        } else if key.starts_with("phrase") {
            5
        } else if key.starts_with("character_string") {
            32
        } else {
            usize::MAX
        };
        if value.chars().count() > limit {
            return error(
                47003,
                &format!("argument invalid! data.{key}.value exceeds the limit"),
            );
        }
        data.insert(key.clone(), value.to_owned());
    }
    let consent = state
        .consents
        .entry((openid.to_owned(), template.to_owned()))
        .or_default();
    if *consent == 0 {
        return error(43101, "user refuse to accept the msg");
    }
    *consent -= 1;
    state.subscribed.push(Subscribed {
        openid: openid.to_owned(),
        template_id: template.to_owned(),
        page: body["page"].as_str().unwrap_or("").to_owned(),
        data,
    });
    Answer::json(
        200,
        serde_json::json!({ "errcode": 0, "errmsg": "ok", "msgid": chrono::Utc::now().timestamp_millis() }),
    )
}

/// The access token in `?access_token=`, when it is one the fake granted (else WeChat's error).
fn bearer(state: &State, received: &Received) -> Result<(), Answer> {
    let token = sms::aliyun::parse_query(&received.query)
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v)
        .unwrap_or_default();
    if token.is_empty() {
        return Err(error(41001, "access_token missing"));
    }
    if !state.access_tokens.contains(&token) {
        return Err(error(42001, "access_token expired"));
    }
    Ok(())
}

fn sec_check(state: &mut State, received: &Received) -> Answer {
    if let Err(refused) = bearer(state, received) {
        return refused;
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&received.body) else {
        return error(47001, "data format error");
    };
    if body["version"] != 2 || !(1..=4).contains(&body["scene"].as_i64().unwrap_or(0)) {
        return error(40097, "invalid args: version or scene");
    }
    let openid = body["openid"].as_str().unwrap_or("");
    if !state.known_openids.contains(openid) {
        return error(40003, "invalid openid");
    }
    let Some(content) = body["content"].as_str().filter(|c| !c.is_empty()) else {
        return error(47001, "data format error: content");
    };
    if content.chars().count() > 2500 {
        return error(47001, "data format error: content too long");
    }
    state.sec_checks += 1;
    let has = |words: &[String]| words.iter().any(|w| content.contains(w.as_str()));
    let (suggest, label) = if has(&state.risky_words) {
        ("risky", 20001)
    } else if has(&state.review_words) {
        ("review", 20006)
    } else {
        ("pass", 100)
    };
    Answer::json(
        200,
        serde_json::json!({
            "errcode": 0, "errmsg": "ok",
            "result": { "suggest": suggest, "label": label },
            "detail": [{ "strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label }],
            "trace_id": uuid::Uuid::new_v4().simple().to_string()
        }),
    )
}
