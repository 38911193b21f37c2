//! Aliyun SMS (`dysmsapi`, `Action=SendSms`, `Version=2017-05-25`), signed with the RPC signature
//! (HMAC-SHA1 over the sorted, percent-encoded query).

use crate::{Account, ErrorKind, HttpRequest, Message, SendError, percent_decode, percent_encode};
use base64::Engine as _;
use hmac::{Hmac, Mac};

/// The string the signature is computed over, from the parameters without `Signature`.
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical = sorted
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!("{method}&%2F&{}", percent_encode(&canonical))
}

pub fn sign(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC takes any key");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The signed request that sends `message`. `nonce` must be unique per request; `timestamp` is
/// UTC, as `2026-11-29T08:00:00Z`.
pub fn send_request(
    account: &Account,
    message: &Message<'_>,
    nonce: &str,
    timestamp: &str,
) -> HttpRequest {
    let template_param = serde_json::Value::Object(
        message
            .params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(v.clone())))
            .collect(),
    )
    .to_string();
    let mut params: Vec<(String, String)> = [
        ("AccessKeyId", account.key_id.as_str()),
        ("Action", "SendSms"),
        ("Format", "JSON"),
        ("PhoneNumbers", message.phone),
        ("RegionId", "cn-hangzhou"),
        ("SignName", account.sign_name.as_str()),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", nonce),
        ("SignatureVersion", "1.0"),
        ("TemplateCode", account.template.as_str()),
        ("TemplateParam", template_param.as_str()),
        ("Timestamp", timestamp),
        ("Version", "2017-05-25"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let signature = sign(&account.secret, &string_to_sign("GET", &params));
    params.push(("Signature".into(), signature));
    let query = params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    HttpRequest {
        method: "GET",
        url: format!("{}/?{query}", account.base_url.trim_end_matches('/')),
        headers: vec![("accept".into(), "application/json".into())],
        body: Vec::new(),
    }
}

/// The parameters of a query string, decoded.
pub fn parse_query(query: &str) -> Option<Vec<(String, String)>> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

/// Whether a received query carries a valid signature for `secret` (what Aliyun checks first).
pub fn signature_is_valid(method: &str, params: &[(String, String)], secret: &str) -> bool {
    let Some(given) = params
        .iter()
        .find(|(k, _)| k == "Signature")
        .map(|(_, v)| v)
    else {
        return false;
    };
    let unsigned: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .cloned()
        .collect();
    sign(secret, &string_to_sign(method, &unsigned)) == *given
}

/// Reads Aliyun's answer: `{"Code":"OK","BizId":..,"RequestId":..}` or an error code.
pub fn read_answer(status: u16, body: &[u8]) -> Result<String, SendError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| SendError {
        code: format!("http_{status}"),
        message: String::from_utf8_lossy(body).chars().take(200).collect(),
        kind: ErrorKind::Transient,
    })?;
    let code = value["Code"].as_str().unwrap_or("").to_owned();
    if code == "OK" {
        return Ok(value["BizId"].as_str().unwrap_or("").to_owned());
    }
    let kind = match code.as_str() {
        "isv.MOBILE_NUMBER_ILLEGAL" | "isv.MOBILE_COUNT_OVER_LIMIT" => ErrorKind::BadNumber,
        "isv.BUSINESS_LIMIT_CONTROL" | "isv.DAY_LIMIT_CONTROL" => ErrorKind::RateLimited,
        "isp.SYSTEM_ERROR"
        | "isp.RAM_PERMISSION_DENY"
        | "Throttling.User"
        | "ServiceUnavailable" => {
            if code == "isp.RAM_PERMISSION_DENY" {
                ErrorKind::Misconfigured
            } else {
                ErrorKind::Transient
            }
        }
        _ if status >= 500 || code.is_empty() => ErrorKind::Transient,
        _ => ErrorKind::Misconfigured,
    };
    Err(SendError {
        message: value["Message"].as_str().unwrap_or("").to_owned(),
        code: if code.is_empty() {
            format!("http_{status}")
        } else {
            code
        },
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Aliyun's published example (ECS DescribeRegions, AccessKeySecret `testsecret`).
    #[test]
    fn the_published_example_signs_the_same() {
        let params: Vec<(String, String)> = [
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let to_sign = string_to_sign("GET", &params);
        assert_eq!(
            to_sign,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        assert_eq!(sign("testsecret", &to_sign), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
    }

    #[test]
    fn a_sent_request_verifies_and_a_tampered_one_does_not() {
        let account = Account {
            base_url: "http://127.0.0.1:9".into(),
            key_id: "LTAI-test".into(),
            secret: "s3cret".into(),
            sign_name: "驻马店12345".into(),
            template: "SMS_000001".into(),
            app_id: String::new(),
        };
        let params = [("code", "123456".to_owned())];
        let request = send_request(
            &account,
            &Message {
                phone: "13800138000",
                params: &params,
            },
            "nonce-1",
            "2026-11-29T08:00:00Z",
        );
        let query = request.url.split_once('?').expect("a query").1;
        let mut received = parse_query(query).expect("decodes");
        assert!(signature_is_valid("GET", &received, "s3cret"));
        assert!(!signature_is_valid("GET", &received, "other"));
        for (k, v) in &mut received {
            if k == "PhoneNumbers" {
                *v = "13900139000".into();
            }
        }
        assert!(!signature_is_valid("GET", &received, "s3cret"));
        let template_param = parse_query(query)
            .expect("decodes")
            .into_iter()
            .find(|(k, _)| k == "TemplateParam")
            .expect("TemplateParam")
            .1;
        assert_eq!(template_param, r#"{"code":"123456"}"#);
    }

    #[test]
    fn answers() {
        assert_eq!(
            read_answer(200, br#"{"Code":"OK","BizId":"9006","RequestId":"r"}"#),
            Ok("9006".into())
        );
        let limited = read_answer(
            200,
            r#"{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控","RequestId":"r"}"#
                .as_bytes(),
        )
        .expect_err("limited");
        assert_eq!(limited.kind, ErrorKind::RateLimited);
        assert_eq!(
            read_answer(200, br#"{"Code":"isv.MOBILE_NUMBER_ILLEGAL"}"#)
                .expect_err("bad")
                .kind,
            ErrorKind::BadNumber
        );
        assert_eq!(
            read_answer(503, b"<html>busy</html>")
                .expect_err("busy")
                .kind,
            ErrorKind::Transient
        );
        assert_eq!(
            read_answer(400, br#"{"Code":"SignatureDoesNotMatch"}"#)
                .expect_err("bad key")
                .kind,
            ErrorKind::Misconfigured
        );
    }
}
