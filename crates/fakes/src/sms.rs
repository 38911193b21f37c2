//! Aliyun and Tencent Cloud SMS, as their `SendSms` APIs behave: the signature is checked with the
//! account's secret, the key id, signature name and template must be the account's, the number
//! must be a mainland mobile, a timestamp too old is refused, a nonce used twice is refused, and a
//! number gets at most one message a minute (Aliyun) or every 30 seconds (Tencent). Each message
//! delivered is kept for the test (or printed, in the demo).

use crate::{Answer, Received, serve};
use sms::Account;
use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Aliyun,
    Tencent,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Aliyun => "aliyun",
            Provider::Tencent => "tencent",
        }
    }
}

/// A message the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub phone: String,
    /// The template it was sent with: the sign-in code's, or a notice's.
    pub template: String,
    /// The template parameters in order (Aliyun's JSON object values, Tencent's list).
    pub params: Vec<String>,
}

/// What the next requests should meet instead of the normal behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The provider's error code in its normal envelope, e.g. `isp.SYSTEM_ERROR`.
    Code(String),
    /// A bare HTTP status with a non-JSON body, as a load balancer in front would answer.
    Status(u16),
}

#[derive(Default)]
struct State {
    delivered: Vec<Delivered>,
    failures: VecDeque<Failure>,
    nonces: HashSet<String>,
    last_sent: Vec<(String, Instant)>,
    refused: Vec<String>,
}

/// The account a fake accepts (its base URL left empty: it depends on where the fake listens).
pub fn test_account(provider: Provider) -> Account {
    Account {
        base_url: String::new(),
        key_id: format!("{}-test-key", provider.name()),
        secret: format!("{}-test-secret", provider.name()),
        sign_name: "驻马店12345".into(),
        template: match provider {
            Provider::Aliyun => "SMS_470000001".into(),
            Provider::Tencent => "2000001".into(),
        },
        app_id: "1400000001".into(),
    }
}

/// The notice template (通知短信) the fake's account also has approved; it takes one parameter,
/// `number`, the tracking number. Notices have no per-minute limit, only sign-in codes do.
pub fn notice_template(provider: Provider) -> String {
    match provider {
        Provider::Aliyun => "SMS_470000101".into(),
        Provider::Tencent => "2000101".into(),
    }
}

/// Whether the account has `template` approved.
fn approved(account: &Account, provider: Provider, template: Option<&str>) -> bool {
    template.is_some_and(|t| t == account.template || t == notice_template(provider))
}

/// A running fake; it serves until the test's runtime ends.
#[derive(Clone)]
pub struct FakeSms {
    pub provider: Provider,
    pub address: SocketAddr,
    account: Account,
    state: Arc<Mutex<State>>,
}

impl FakeSms {
    /// Starts the fake on `address` (port 0 picks one) for an account with these credentials.
    pub async fn start(provider: Provider, address: SocketAddr) -> anyhow::Result<FakeSms> {
        let state = Arc::new(Mutex::new(State::default()));
        let account = test_account(provider);
        let handler_state = state.clone();
        let handler_account = account.clone();
        let address = serve(address, move |received| {
            let state = handler_state.clone();
            let account = handler_account.clone();
            async move {
                let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
                match provider {
                    Provider::Aliyun => aliyun(&mut state, &account, &received),
                    Provider::Tencent => tencent(&mut state, &account, &received),
                }
            }
        })
        .await?;
        Ok(FakeSms {
            provider,
            address,
            account: Account {
                base_url: format!("http://{address}"),
                ..account
            },
            state,
        })
    }

    /// The account the platform must use to send through this fake.
    pub fn account(&self) -> Account {
        self.account.clone()
    }

    /// Messages accepted so far, oldest first.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.lock().delivered.clone()
    }

    /// Codes of the requests refused so far (wrong signature, limits, injected failures...).
    pub fn refused(&self) -> Vec<String> {
        self.lock().refused.clone()
    }

    /// The next `times` requests meet `failure`.
    pub fn fail_next(&self, failure: Failure, times: usize) {
        let mut state = self.lock();
        for _ in 0..times {
            state.failures.push_back(failure.clone());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn mainland_mobile(digits: &str) -> bool {
    digits.len() == 11
        && digits.starts_with('1')
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(digits.as_bytes()[1], b'3'..=b'9')
}

/// A number's minimum gap between messages, as the provider enforces it.
fn too_soon(state: &mut State, phone: &str, gap: Duration) -> bool {
    let now = Instant::now();
    if let Some((_, at)) = state.last_sent.iter().find(|(p, _)| p == phone)
        && now.duration_since(*at) < gap
    {
        return true;
    }
    state.last_sent.retain(|(p, _)| p != phone);
    state.last_sent.push((phone.to_owned(), now));
    false
}

fn aliyun(state: &mut State, account: &Account, received: &Received) -> Answer {
    let request_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    if let Some(failure) = state_failure(state) {
        return match failure {
            Failure::Code(code) => {
                state.refused.push(code.clone());
                Answer::json(
                    200,
                    serde_json::json!({ "Code": code, "Message": "injected", "RequestId": request_id }),
                )
            }
            Failure::Status(status) => {
                state.refused.push(format!("http_{status}"));
                Answer::bare(status)
            }
        };
    }
    let Some(params) = sms::aliyun::parse_query(&received.query) else {
        return refuse(
            state,
            &request_id,
            400,
            "InvalidParameter",
            "the query does not decode",
        );
    };
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("Action") != Some("SendSms") || get("Version") != Some("2017-05-25") {
        return refuse(
            state,
            &request_id,
            400,
            "InvalidAction.NotFound",
            "Specified api is not found",
        );
    }
    if get("AccessKeyId") != Some(account.key_id.as_str()) {
        return refuse(
            state,
            &request_id,
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        );
    }
    if !sms::aliyun::signature_is_valid(&received.method, &params, &account.secret) {
        return refuse(
            state,
            &request_id,
            400,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation.",
        );
    }
    let fresh = get("Timestamp")
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| {
            (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
                .num_minutes()
                .abs()
                <= 15
        });
    if !fresh {
        return refuse(
            state,
            &request_id,
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        );
    }
    let nonce = get("SignatureNonce").unwrap_or("").to_owned();
    if nonce.is_empty() || !state_nonce(state, &nonce) {
        return refuse(
            state,
            &request_id,
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        );
    }
    if get("SignName") != Some(account.sign_name.as_str()) {
        return refuse(
            state,
            &request_id,
            200,
            "isv.SMS_SIGNATURE_ILLEGAL",
            "该账号下找不到对应签名",
        );
    }
    if !approved(account, Provider::Aliyun, get("TemplateCode")) {
        return refuse(
            state,
            &request_id,
            200,
            "isv.SMS_TEMPLATE_ILLEGAL",
            "该账号下找不到对应模板",
        );
    }
    let phone = get("PhoneNumbers").unwrap_or("").to_owned();
    if !mainland_mobile(&phone) {
        return refuse(
            state,
            &request_id,
            200,
            "isv.MOBILE_NUMBER_ILLEGAL",
            "非法手机号",
        );
    }
    let Some(template) = get("TemplateParam")
        .and_then(|p| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(p).ok())
    else {
        return refuse(
            state,
            &request_id,
            200,
            "isv.INVALID_JSON_PARAM",
            "JSON参数不合法，只接受字符串值",
        );
    };
    let template_code = get("TemplateCode").unwrap_or("").to_owned();
    let is_code = template_code == account.template;
    if is_code && too_soon(state, &phone, Duration::from_secs(60)) {
        state.refused.push("isv.BUSINESS_LIMIT_CONTROL".into());
        return Answer::json(
            200,
            serde_json::json!({ "Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1", "RequestId": request_id }),
        );
    }
    let params = template
        .values()
        .map(|v| v.as_str().unwrap_or("").to_owned())
        .collect();
    state.delivered.push(Delivered {
        phone,
        template: template_code,
        params,
    });
    Answer::json(
        200,
        serde_json::json!({ "Code": "OK", "Message": "OK", "BizId": format!("{}^0", chrono::Utc::now().timestamp_millis()), "RequestId": request_id }),
    )
}

/// Aliyun's error envelope, the refusal kept for the test.
fn refuse(state: &mut State, request_id: &str, status: u16, code: &str, message: &str) -> Answer {
    state.refused.push(code.to_owned());
    Answer::json(
        status,
        serde_json::json!({ "Code": code, "Message": message, "RequestId": request_id }),
    )
}

fn state_failure(state: &mut State) -> Option<Failure> {
    state.failures.pop_front()
}

fn state_nonce(state: &mut State, nonce: &str) -> bool {
    state.nonces.insert(nonce.to_owned())
}

fn tencent(state: &mut State, account: &Account, received: &Received) -> Answer {
    let request_id = uuid::Uuid::new_v4().to_string();
    let error = |state: &mut State, code: &str, message: &str| {
        state.refused.push(code.to_owned());
        Answer::json(
            200,
            serde_json::json!({ "Response": { "Error": { "Code": code, "Message": message }, "RequestId": request_id } }),
        )
    };
    if let Some(failure) = state_failure(state) {
        return match failure {
            Failure::Code(code) => error(state, &code, "injected"),
            Failure::Status(status) => {
                state.refused.push(format!("http_{status}"));
                Answer::bare(status)
            }
        };
    }
    if received.method != "POST"
        || received.header("x-tc-action") != Some("SendSms")
        || received.header("x-tc-version") != Some("2021-01-11")
    {
        return error(state, "InvalidAction", "The action does not exist.");
    }
    let Some(auth) = received
        .header("authorization")
        .and_then(sms::tencent::parse_authorization)
    else {
        return error(
            state,
            "AuthFailure.InvalidAuthorization",
            "The Authorization header is malformed.",
        );
    };
    if auth.key_id != account.key_id {
        return error(
            state,
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found.",
        );
    }
    let timestamp: i64 = received
        .header("x-tc-timestamp")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    if (chrono::Utc::now().timestamp() - timestamp).abs() > sms::tencent::MAX_SKEW_SECONDS {
        return error(state, "AuthFailure.SignatureExpire", "Signature expired.");
    }
    let host = received.header("host").unwrap_or("");
    let expected = sms::tencent::signature(
        &account.secret,
        &auth.service,
        timestamp,
        &sms::tencent::canonical_request(host, &received.body),
    );
    let content_type_ok =
        received.header("content-type") == Some("application/json; charset=utf-8");
    if auth.signed_headers != "content-type;host"
        || !content_type_ok
        || expected != auth.signature
        || auth.service != "sms"
    {
        return error(
            state,
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated.",
        );
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&received.body) else {
        return error(state, "InvalidParameter", "The request body is not JSON.");
    };
    if body["SmsSdkAppId"] != account.app_id.as_str() {
        return error(
            state,
            "InvalidParameterValue.SdkAppIdNotExist",
            "SdkAppId does not exist.",
        );
    }
    if body["SignName"] != account.sign_name.as_str() {
        return error(
            state,
            "FailedOperation.SignatureIncorrectOrUnapproved",
            "签名未审批或格式错误",
        );
    }
    let template_code = body["TemplateId"].as_str().unwrap_or("").to_owned();
    if !approved(account, Provider::Tencent, Some(&template_code)) {
        return error(
            state,
            "FailedOperation.TemplateIncorrectOrUnapproved",
            "模板未审批或内容不匹配",
        );
    }
    let numbers: Vec<String> = body["PhoneNumberSet"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let params: Vec<String> = body["TemplateParamSet"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut statuses = Vec::new();
    for number in numbers {
        let digits = number.strip_prefix("+86").unwrap_or("").to_owned();
        let code = if !mainland_mobile(&digits) {
            "InvalidParameterValue.IncorrectPhoneNumber"
        } else if template_code == account.template
            && too_soon(state, &digits, Duration::from_secs(30))
        {
            "LimitExceeded.PhoneNumberThirtySecondLimit"
        } else {
            state.delivered.push(Delivered {
                phone: digits.clone(),
                template: template_code.clone(),
                params: params.clone(),
            });
            "Ok"
        };
        if code != "Ok" {
            state.refused.push(code.to_owned());
        }
        statuses.push(serde_json::json!({
            "SerialNo": uuid::Uuid::new_v4().to_string(), "PhoneNumber": number, "Fee": 1,
            "SessionContext": "", "Code": code, "Message": if code == "Ok" { "send success" } else { "failed" },
            "IsoCode": "CN",
        }));
    }
    if statuses.is_empty() {
        return error(state, "MissingParameter", "PhoneNumberSet is required.");
    }
    Answer::json(
        200,
        serde_json::json!({ "Response": { "SendStatusSet": statuses, "RequestId": request_id } }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(phone: &str) -> (String, [(&'static str, String); 1]) {
        (phone.to_owned(), [("code", "123456".to_owned())])
    }

    async fn send(request: sms::HttpRequest) -> (u16, Vec<u8>) {
        // A minimal HTTP/1.1 client: these tests must not depend on the code under test.
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let url = request.url.strip_prefix("http://").expect("http");
        let (authority, path) = url.split_once('/').expect("a path");
        let mut stream = tokio::net::TcpStream::connect(authority)
            .await
            .expect("connects");
        let mut head = format!(
            "{} /{path} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n",
            request.method,
            request.body.len()
        );
        if !request.headers.iter().any(|(k, _)| k == "host") {
            head.push_str(&format!("host: {authority}\r\n"));
        }
        for (k, v) in &request.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.expect("writes");
        stream.write_all(&request.body).await.expect("writes");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("reads");
        let text = String::from_utf8_lossy(&raw);
        let status = text[9..12].parse().expect("a status");
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("")
            .as_bytes()
            .to_vec();
        (status, body)
    }

    #[tokio::test]
    async fn aliyun_checks_signatures_numbers_and_limits() {
        let fake = FakeSms::start(Provider::Aliyun, "127.0.0.1:0".parse().expect("address"))
            .await
            .expect("starts");
        let account = fake.account();
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let (phone, params) = message("13800138000");
        let ok = sms::aliyun::send_request(
            &account,
            &sms::Message {
                phone: &phone,
                params: &params,
            },
            "n1",
            &now,
        );
        let (status, body) = send(ok.clone()).await;
        assert_eq!(sms::aliyun::read_answer(status, &body).map(|_| ()), Ok(()));
        assert_eq!(
            fake.delivered(),
            [Delivered {
                phone: phone.clone(),
                template: account.template.clone(),
                params: vec!["123456".into()]
            }]
        );

        // The same nonce again, a second message within the minute, a forged secret, a bad number.
        let (status, body) = send(ok).await;
        assert_eq!(
            sms::aliyun::read_answer(status, &body)
                .expect_err("nonce")
                .code,
            "SignatureNonceUsed"
        );
        let again = sms::aliyun::send_request(
            &account,
            &sms::Message {
                phone: &phone,
                params: &params,
            },
            "n2",
            &now,
        );
        let (status, body) = send(again).await;
        assert_eq!(
            sms::aliyun::read_answer(status, &body)
                .expect_err("limit")
                .code,
            "isv.BUSINESS_LIMIT_CONTROL"
        );
        let forged = Account {
            secret: "guess".into(),
            ..account.clone()
        };
        let (status, body) = send(sms::aliyun::send_request(
            &forged,
            &sms::Message {
                phone: "13900139000",
                params: &params,
            },
            "n3",
            &now,
        ))
        .await;
        assert_eq!(
            sms::aliyun::read_answer(status, &body)
                .expect_err("forged")
                .code,
            "SignatureDoesNotMatch"
        );
        let (status, body) = send(sms::aliyun::send_request(
            &account,
            &sms::Message {
                phone: "12345",
                params: &params,
            },
            "n4",
            &now,
        ))
        .await;
        assert_eq!(
            sms::aliyun::read_answer(status, &body)
                .expect_err("bad")
                .kind,
            sms::ErrorKind::BadNumber
        );

        fake.fail_next(Failure::Status(503), 1);
        let (status, body) = send(sms::aliyun::send_request(
            &account,
            &sms::Message {
                phone: "13700137000",
                params: &params,
            },
            "n5",
            &now,
        ))
        .await;
        assert_eq!(
            sms::aliyun::read_answer(status, &body)
                .expect_err("down")
                .kind,
            sms::ErrorKind::Transient
        );
        assert_eq!(fake.delivered().len(), 1);
    }

    #[tokio::test]
    async fn tencent_checks_signatures_numbers_and_limits() {
        let fake = FakeSms::start(Provider::Tencent, "127.0.0.1:0".parse().expect("address"))
            .await
            .expect("starts");
        let account = fake.account();
        let now = chrono::Utc::now().timestamp();
        let (phone, params) = message("13800138000");
        let (status, body) = send(sms::tencent::send_request(
            &account,
            &sms::Message {
                phone: &phone,
                params: &params,
            },
            now,
        ))
        .await;
        assert!(
            sms::tencent::read_answer(status, &body).is_ok(),
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(fake.delivered()[0].params, ["123456"]);

        let (status, body) = send(sms::tencent::send_request(
            &account,
            &sms::Message {
                phone: &phone,
                params: &params,
            },
            now,
        ))
        .await;
        assert_eq!(
            sms::tencent::read_answer(status, &body)
                .expect_err("limit")
                .kind,
            sms::ErrorKind::RateLimited
        );
        let stale = sms::tencent::send_request(
            &account,
            &sms::Message {
                phone: "13900139000",
                params: &params,
            },
            now - 600,
        );
        let (status, body) = send(stale).await;
        assert_eq!(
            sms::tencent::read_answer(status, &body)
                .expect_err("stale")
                .code,
            "AuthFailure.SignatureExpire"
        );
        let mut tampered = sms::tencent::send_request(
            &account,
            &sms::Message {
                phone: "13900139000",
                params: &params,
            },
            now,
        );
        tampered.body = String::from_utf8(tampered.body)
            .expect("utf-8")
            .replace("13900139000", "13600136000")
            .into_bytes();
        let (status, body) = send(tampered).await;
        assert_eq!(
            sms::tencent::read_answer(status, &body)
                .expect_err("tampered")
                .code,
            "AuthFailure.SignatureFailure"
        );
        assert_eq!(fake.delivered().len(), 1);
    }
}
