//! The SMS providers' wire protocols, without I/O: each provider builds the signed HTTP request
//! that sends one templated message, and reads the provider's answer into a result. The caller
//! (a Spin component, or a test) does the HTTP. The fakes use the same canonical forms to check
//! signatures as the providers do; both are pinned by the providers' published examples.

pub mod aliyun;
pub mod tencent;

/// An HTTP request to send as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    /// The full URL, query string included.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One verification-code message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// A mainland mobile number, 11 digits.
    pub phone: &'a str,
    /// The template's parameters in order, e.g. the code and its minutes.
    pub params: &'a [(&'a str, String)],
}

/// The account and template a provider sends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Where the API is, e.g. `https://dysmsapi.aliyuncs.com` (or a local fake).
    pub base_url: String,
    /// Aliyun AccessKeyId, Tencent SecretId.
    pub key_id: String,
    /// Aliyun AccessKeySecret, Tencent SecretKey.
    pub secret: String,
    /// The approved signature (签名), e.g. 驻马店12345.
    pub sign_name: String,
    /// Aliyun TemplateCode, Tencent TemplateId.
    pub template: String,
    /// Tencent only: the SmsSdkAppId.
    pub app_id: String,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// The provider's own code, e.g. `isv.BUSINESS_LIMIT_CONTROL`, `LimitExceeded.PhoneNumberOneHourLimit`.
    pub code: String,
    pub message: String,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The number cannot receive messages (malformed, not a mainland mobile).
    BadNumber,
    /// The provider's per-number or per-day limit.
    RateLimited,
    /// Worth trying again later: the provider is busy or failing.
    Transient,
    /// Our account, signature, template or credentials are wrong: an operator must fix them.
    Misconfigured,
}

/// RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - _ . ~`.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The inverse of [`percent_encode`] (and of `+` for space, as forms send it).
pub fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = value.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_round_trips() {
        let raw = "驻马店12345 {\"code\":\"123456\"} a+b~c*";
        let encoded = percent_encode(raw);
        assert!(encoded.contains("%2A") && encoded.contains('~') && !encoded.contains('+'));
        assert_eq!(percent_decode(&encoded).as_deref(), Some(raw));
    }
}
