//! Tencent Cloud SMS (`SendSms`, `2021-01-11`), signed with TC3-HMAC-SHA256.

use crate::{Account, ErrorKind, HttpRequest, Message, SendError};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const SERVICE: &str = "sms";
const CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// Tencent refuses a request signed more than five minutes before it arrives.
pub const MAX_SKEW_SECONDS: i64 = 300;

fn hmac(key: &[u8], message: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical request for a POST to `/` signed over `content-type` and `host`.
pub fn canonical_request(host: &str, body: &[u8]) -> String {
    format!(
        "POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\n\ncontent-type;host\n{}",
        sha256_hex(body)
    )
}

/// The UTC date of a Unix timestamp, as the credential scope writes it.
fn date_of(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// The signature of a canonical request.
pub fn signature(secret: &str, service: &str, timestamp: i64, canonical_request: &str) -> String {
    let date = date_of(timestamp);
    let string_to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key = hmac(format!("TC3{secret}").as_bytes(), &date);
    let key = hmac(&key, service);
    let key = hmac(&key, "tc3_request");
    hex::encode(hmac(&key, &string_to_sign))
}

/// `https://sms.tencentcloudapi.com` → `sms.tencentcloudapi.com`; keeps a port.
fn host_of(base_url: &str) -> &str {
    base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or("")
}

/// The signed request that sends `message` at `timestamp` (Unix seconds).
pub fn send_request(account: &Account, message: &Message<'_>, timestamp: i64) -> HttpRequest {
    let body = serde_json::json!({
        "PhoneNumberSet": [format!("+86{}", message.phone)],
        "SmsSdkAppId": account.app_id,
        "SignName": account.sign_name,
        "TemplateId": account.template,
        "TemplateParamSet": message.params.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
    })
    .to_string()
    .into_bytes();
    let host = host_of(&account.base_url).to_owned();
    let signature = signature(
        &account.secret,
        SERVICE,
        timestamp,
        &canonical_request(&host, &body),
    );
    let authorization = format!(
        "TC3-HMAC-SHA256 Credential={}/{}/{SERVICE}/tc3_request, SignedHeaders=content-type;host, Signature={signature}",
        account.key_id,
        date_of(timestamp)
    );
    HttpRequest {
        method: "POST",
        url: format!("{}/", account.base_url.trim_end_matches('/')),
        headers: vec![
            ("authorization".into(), authorization),
            ("content-type".into(), CONTENT_TYPE.into()),
            ("host".into(), host),
            ("x-tc-action".into(), "SendSms".into()),
            ("x-tc-timestamp".into(), timestamp.to_string()),
            ("x-tc-version".into(), "2021-01-11".into()),
            ("x-tc-region".into(), "ap-guangzhou".into()),
        ],
        body,
    }
}

/// What a received request's `Authorization` says.
#[derive(Debug, PartialEq, Eq)]
pub struct Authorization {
    pub key_id: String,
    pub date: String,
    pub service: String,
    pub signed_headers: String,
    pub signature: String,
}

pub fn parse_authorization(header: &str) -> Option<Authorization> {
    let rest = header.strip_prefix("TC3-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(", ") {
        let (key, value) = part.split_once('=')?;
        match key {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = Some(value),
            "Signature" => signature = Some(value),
            _ => return None,
        }
    }
    let mut scope = credential?.split('/');
    let key_id = scope.next()?.to_owned();
    let date = scope.next()?.to_owned();
    let service = scope.next()?.to_owned();
    (scope.next()? == "tc3_request").then_some(())?;
    Some(Authorization {
        key_id,
        date,
        service,
        signed_headers: signed_headers?.to_owned(),
        signature: signature?.to_owned(),
    })
}

/// Reads Tencent's answer: success when the one number's `Code` is `Ok`.
pub fn read_answer(status: u16, body: &[u8]) -> Result<String, SendError> {
    let transient = |message: String| SendError {
        code: format!("http_{status}"),
        message,
        kind: ErrorKind::Transient,
    };
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| transient(String::from_utf8_lossy(body).chars().take(200).collect()))?;
    let response = &value["Response"];
    if let Some(error) = response.get("Error") {
        let code = error["Code"].as_str().unwrap_or("").to_owned();
        let kind = if code.starts_with("InternalError")
            || code == "RequestLimitExceeded"
            || code.starts_with("FailedOperation.ServiceBusy")
        {
            ErrorKind::Transient
        } else if code.starts_with("LimitExceeded") {
            ErrorKind::RateLimited
        } else if code.starts_with("InvalidParameterValue.IncorrectPhoneNumber") {
            ErrorKind::BadNumber
        } else {
            ErrorKind::Misconfigured
        };
        return Err(SendError {
            message: error["Message"].as_str().unwrap_or("").to_owned(),
            code,
            kind,
        });
    }
    let Some(sent) = response["SendStatusSet"].get(0) else {
        return Err(transient("no SendStatusSet in the answer".into()));
    };
    let code = sent["Code"].as_str().unwrap_or("");
    if code == "Ok" {
        return Ok(sent["SerialNo"].as_str().unwrap_or("").to_owned());
    }
    let kind = if code.starts_with("LimitExceeded") {
        ErrorKind::RateLimited
    } else if code.starts_with("InvalidParameterValue.IncorrectPhoneNumber") {
        ErrorKind::BadNumber
    } else if code.starts_with("InternalError") {
        ErrorKind::Transient
    } else {
        ErrorKind::Misconfigured
    };
    Err(SendError {
        code: code.to_owned(),
        message: sent["Message"].as_str().unwrap_or("").to_owned(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tencent Cloud's published example (CVM DescribeInstances at 1551113065), whose signature
    /// the official SDK reproduces.
    #[test]
    fn the_published_example_signs_the_same() {
        let canonical = "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064";
        assert_eq!(
            signature(
                "Gu5t9xGARNpq86cd98joQYCN3*******",
                "cvm",
                1_551_113_065,
                canonical
            ),
            "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
        );
    }

    #[test]
    fn a_sent_request_carries_a_signature_over_its_own_body() {
        let account = Account {
            base_url: "http://127.0.0.1:4011".into(),
            key_id: "AKID-test".into(),
            secret: "s3cret".into(),
            sign_name: "驻马店12345".into(),
            template: "1234567".into(),
            app_id: "1400000000".into(),
        };
        let params = [("code", "654321".to_owned()), ("minutes", "5".to_owned())];
        let request = send_request(
            &account,
            &Message {
                phone: "13800138000",
                params: &params,
            },
            1_764_400_000,
        );
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .expect(name)
        };
        let auth = parse_authorization(header("authorization")).expect("parses");
        assert_eq!(auth.key_id, "AKID-test");
        assert_eq!(auth.date, "2025-11-29");
        assert_eq!(
            auth.signature,
            signature(
                "s3cret",
                "sms",
                1_764_400_000,
                &canonical_request(header("host"), &request.body)
            )
        );
        let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
        assert_eq!(body["PhoneNumberSet"][0], "+8613800138000");
        assert_eq!(body["TemplateParamSet"], serde_json::json!(["654321", "5"]));
    }

    #[test]
    fn answers() {
        assert_eq!(
            read_answer(
                200,
                br#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1","Code":"Ok","Message":"send success"}],"RequestId":"r"}}"#
            ),
            Ok("5000:1".into())
        );
        let limited = read_answer(
            200,
            br#"{"Response":{"SendStatusSet":[{"Code":"LimitExceeded.PhoneNumberThirtySecondLimit","Message":"x"}],"RequestId":"r"}}"#,
        )
        .expect_err("limited");
        assert_eq!(limited.kind, ErrorKind::RateLimited);
        let forged = read_answer(
            200,
            br#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"x"},"RequestId":"r"}}"#,
        )
        .expect_err("forged");
        assert_eq!(forged.kind, ErrorKind::Misconfigured);
        assert_eq!(
            read_answer(502, b"bad gateway").expect_err("down").kind,
            ErrorKind::Transient
        );
    }
}
