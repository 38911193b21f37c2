//! The push providers' wire protocols, without I/O: the body of a send, the grant that gets an
//! access token, and what the provider's answer means for the delivery. The caller (the
//! `notifications` component) does the HTTP and keeps the tokens; the fakes check the same
//! protocols from the other side.

pub mod apns;
pub mod fcm;
pub mod hms;
pub mod wechat;

/// One notification as a provider carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    pub title: &'a str,
    pub body: &'a str,
    /// Sent along as data (string values); includes the dedupe key, so an app that receives a
    /// message twice shows it once.
    pub data: &'a [(&'a str, String)],
    /// The delivery's dedupe key: collapse key / collapse id where the provider has one.
    pub dedupe_key: &'a str,
}

impl Message<'_> {
    /// The data as a JSON object of strings.
    pub fn data_object(&self) -> serde_json::Map<String, serde_json::Value> {
        self.data
            .iter()
            .map(|(key, value)| ((*key).to_owned(), serde_json::Value::from(value.as_str())))
            .collect()
    }
}

/// A delivery's dedupe key as a collapse identifier: its SHA-256 in hex (64 characters, the most
/// APNs accepts), so that a message sent twice shows once.
pub fn collapse_id(dedupe_key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(dedupe_key.as_bytes()))
}

/// What a provider's answer means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted; the provider's message id when it gives one.
    Sent(Option<String>),
    /// Try again later, after at least `after_seconds` when the provider said so (Retry-After).
    Retry {
        after_seconds: Option<u64>,
        error: String,
    },
    /// The access token was refused (expired or revoked): get a new one and try once more.
    Reauthenticate(String),
    /// The address is gone for good (unregistered token, unknown openid): remove it.
    InvalidAddress(String),
    /// The message or our configuration is wrong in a way retrying cannot fix.
    Rejected(String),
}

/// The wait before attempt `attempt + 1` (attempt counts from 1): exponential from `first`
/// seconds, capped at an hour, with jitter — a uniform draw in [wait/2, wait] from `jitter` in
/// [0, 1) — so that deliveries that failed together do not retry together.
pub fn backoff_seconds(first: u64, attempt: u32, jitter: f64) -> u64 {
    let base = first
        .max(1)
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(12))
        .min(3600);
    let jitter = jitter.clamp(0.0, 1.0);
    ((base as f64) * (0.5 + 0.5 * jitter))
        .ceil()
        .clamp(1.0, base as f64) as u64
}

/// `Retry-After` in seconds (the HTTP-date form is not used by these providers).
pub fn retry_after(header: Option<&str>) -> Option<u64> {
    header.and_then(|value| value.trim().parse().ok())
}

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| {
            format!(
                "{}={}",
                sms::percent_encode(key),
                sms::percent_encode(value)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of `key` in a form body or query string, decoded.
pub fn form_value(body: &str, key: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (sms::percent_decode(k)? == key)
            .then(|| sms::percent_decode(v))
            .flatten()
    })
}

/// An access token as the providers' token endpoints return it (`expires_in` in seconds).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct AccessToken {
    pub access_token: String,
    pub expires_in: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        assert_eq!(backoff_seconds(10, 1, 1.0), 10);
        assert_eq!(backoff_seconds(10, 1, 0.0), 5);
        assert_eq!(backoff_seconds(10, 3, 1.0), 40);
        assert_eq!(backoff_seconds(10, 30, 1.0), 3600);
        assert!(backoff_seconds(10, 4, 0.5) > backoff_seconds(10, 4, 0.0));
        assert_eq!(backoff_seconds(1, 1, 1.0), 1);
    }

    #[test]
    fn forms_round_trip() {
        let body = form(&[("grant_type", "urn:ietf:params"), ("x", "a b&c=驻")]);
        assert_eq!(
            form_value(&body, "grant_type").as_deref(),
            Some("urn:ietf:params")
        );
        assert_eq!(form_value(&body, "x").as_deref(), Some("a b&c=驻"));
        assert_eq!(form_value(&body, "y"), None);
    }
}
