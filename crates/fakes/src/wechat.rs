//! The WeChat API's `jscode2session`, as it behaves for a mini-program: the app id and secret must
//! be the app's, a login code is valid for five minutes and only once, and the errors are
//! WeChat's (HTTP 200 with `errcode`). A test hands out login codes as the mini-program's
//! `wx.login()` would.

use crate::{Answer, Received, serve};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const APP_ID: &str = "wx0123456789abcdef";
pub const APP_SECRET: &str = "wechat-test-secret";
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
            let state = handler_state.clone();
            async move {
                let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
                state.calls += 1;
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
