//! Bearer-token verification: JWTs signed with HMAC-SHA256 (HS256) under a key of the JWK set in
//! the `jwt_keys` variable (secret `oct` keys of at least 32 bytes; shorter ones are ignored).
//!
//! The gateway is the only party that signs access tokens and the only one that checks them, so
//! the key is a shared secret rather than a key pair. Measured reason (callgrind, instructions a
//! request for a citizen's 403, which goes as far as the token's check): with Ed25519 signatures,
//! which tokens had before, 1867k for a token the instance had not seen against 174k for one it
//! had — 1.69M to check a signature in this wasm component, more than the rest of a tracking
//! request; with HS256, 228k against 149k, the HMAC's SHA-256 26k of the difference and the
//! claims' JSON and base64 most of the rest. An instance seldom sees a token twice when every
//! citizen has their own. A key pair would only pay if someone else had to check tokens without
//! being able to sign them, and nobody does.
//!
//! The key is chosen by the token's `kid`, so keys can rotate: add the new key beside the old
//! one, sign with it, then retire the old one. Only HS256 is accepted, so `alg: none` and tokens
//! of any other algorithm are refused before any signature check.
//!
//! An instance serves many requests, and apps send the same token with each of them: the parsed
//! keys and the tokens already verified (until they expire) are kept for the instance's life.
//! The cache is keyed by the whole token, signature included. The key set, issuer and audience
//! are read once per instance, like every variable, so a new key set reaches new instances (and
//! their empty caches) within seconds; an instance does not compare them again on every request,
//! which cost a tracking request about 1% of its instructions (the key set read in whole and
//! compared, byte by byte, in wasm).

use api_plumbing::Headers;
use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mobile_api::codes;
use serde::Deserialize;
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Mutex;

#[derive(Clone)]
pub struct Principal {
    pub subject: String,
    pub role: String,
    /// For agency staff, their agency.
    pub agency: Option<String>,
    /// When the token was issued (seconds since the epoch), to be checked against the subject's
    /// revocation at the front door (`front_door::count`).
    pub issued_at: f64,
    /// The session it was issued in (its refresh-token family), which a sign-out or a reused
    /// refresh token ends, checked at the front door too.
    pub session: Option<uuid::Uuid>,
    /// The password is one an administrator chose: only changing it is open
    /// (`Route::open_before_password_change`).
    pub password_change_required: bool,
}

/// The challenge a 401 carries (HTTP asks one of every 401): the API takes bearer tokens
/// (RFC 6750), and one that was presented but refused (malformed, forged, expired, revoked) is
/// `invalid_token`, which tells a client to refresh it or sign in again.
pub fn challenge(reply: &mut api_plumbing::Reply, token_refused: bool) {
    let challenge = if token_refused {
        r#"Bearer realm="12345", error="invalid_token""#
    } else {
        r#"Bearer realm="12345""#
    };
    reply.headers_mut().insert(
        "www-authenticate",
        spin_sdk::http::HeaderValue::from_static(challenge),
    );
}

#[derive(PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Invalid,
    Expired,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Missing => codes::UNAUTHENTICATED,
            Refusal::Invalid => codes::INVALID_TOKEN,
            Refusal::Expired => codes::TOKEN_EXPIRED,
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            Refusal::Missing => "请先登录 (sign in first: send a bearer token)",
            Refusal::Invalid => "登录凭证无效 (the token is invalid)",
            Refusal::Expired => "登录已过期，请重新登录 (the token has expired)",
        }
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    role: String,
    exp: i64,
    /// When it was issued (seconds, perhaps with a fraction); a token without is as old as can
    /// be (any revocation ends it).
    #[serde(default)]
    iat: f64,
    #[serde(default)]
    agency: Option<String>,
    /// The session (refresh-token family) it was issued in; minted tokens may have none.
    #[serde(default)]
    sid: Option<String>,
    /// A member of staff whose password is still one an administrator chose.
    #[serde(default)]
    pwc: bool,
}

/// The shortest secret a key may have, in bytes (HS256's own output length).
pub const MIN_SECRET_BYTES: usize = 32;

/// The secret keys in the JWK set `jwks` by `kid`: `oct` keys with a `kid` and at least
/// [`MIN_SECRET_BYTES`]; any other is left out, and said so in the log.
pub fn secrets(jwks: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let set: JwkSet = serde_json::from_str(jwks)
        .map_err(|e| format!("the jwt_keys variable is not a JWK set: {e}"))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        let secret = match &jwk.algorithm {
            AlgorithmParameters::OctetKey(octets) => {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(octets.value.trim_end_matches('='))
                    .ok()
            }
            _ => None,
        };
        match secret {
            Some(secret) if !kid.is_empty() && secret.len() >= MIN_SECRET_BYTES => {
                keys.push((kid, secret))
            }
            _ => eprintln!(
                "gateway: jwt_keys: the key {kid:?} is not used: keys are `oct` keys with a kid \
                 and at least {MIN_SECRET_BYTES} bytes"
            ),
        }
    }
    Ok(keys)
}

/// Verified tokens kept per instance, at most this many.
const MAX_VERIFIED: usize = 4096;

struct Verifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
    verified: HashMap<String, (Principal, i64), ByTail>,
}

/// Hashes a token by its last bytes and its length. A token ends in its signature, different for
/// every token, so this spreads tokens as well as hashing all of its 350 or so bytes would, for a
/// twentieth of the work; a token found is still compared whole with the one asked for. Only
/// verified tokens are stored, so nobody can fill the cache with tokens made to collide.
#[derive(Default)]
struct ByTail(RandomState);

/// How many bytes at a token's end are hashed.
const HASHED_TAIL: usize = 16;

struct TailHasher(DefaultHasher);

impl BuildHasher for ByTail {
    type Hasher = TailHasher;

    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.0.build_hasher())
    }
}

impl Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0
            .write(&bytes[bytes.len().saturating_sub(HASHED_TAIL)..]);
        self.0.write_usize(bytes.len());
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

static VERIFIER: Mutex<Option<Verifier>> = Mutex::new(None);

impl Verifier {
    fn new(jwks: &str, issuer: &str, audience: &str) -> Result<Verifier, Refusal> {
        let keys = secrets(jwks)
            .map_err(|e| {
                eprintln!("gateway: {e}");
                Refusal::Invalid
            })?
            .into_iter()
            .filter_map(|(kid, secret)| Some((kid, DecodingKey::from_secret(&secret).ok()?)))
            .collect();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.leeway = 30;
        Ok(Verifier {
            keys,
            validation,
            verified: HashMap::default(),
        })
    }

    fn verify(&mut self, token: &str, now: i64) -> Result<Principal, Refusal> {
        if let Some((principal, exp)) = self.verified.get(token) {
            if *exp + (self.validation.leeway as i64) > now {
                return Ok(principal.clone());
            }
            self.verified.remove(token);
            return Err(Refusal::Expired);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Invalid)?;
        if header.alg != Algorithm::HS256 {
            return Err(Refusal::Invalid);
        }
        let key = header
            .kid
            .as_ref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(Refusal::Invalid)?;
        let data =
            jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => Refusal::Expired,
                    _ => Refusal::Invalid,
                }
            })?;
        let Claims {
            sub,
            role,
            exp,
            iat,
            agency,
            sid,
            pwc,
        } = data.claims;
        if sub.is_empty() || sub.len() > 128 || !mobile_api::routes::ROLES.contains(&role.as_str())
        {
            return Err(Refusal::Invalid);
        }
        // Agency staff act for exactly one agency; nobody else acts for one.
        let agency = agency.filter(|a| !a.is_empty() && a.len() <= 64);
        if (role == "agency_staff") != agency.is_some() {
            return Err(Refusal::Invalid);
        }
        let session = match sid {
            Some(sid) => Some(sid.parse::<uuid::Uuid>().map_err(|_| Refusal::Invalid)?),
            None => None,
        };
        let principal = Principal {
            subject: sub,
            role,
            agency,
            issued_at: iat,
            session,
            password_change_required: pwc,
        };
        if self.verified.len() >= MAX_VERIFIED {
            self.verified.clear();
        }
        self.verified
            .insert(token.to_owned(), (principal.clone(), exp));
        Ok(principal)
    }
}

pub async fn authenticate(headers: &Headers) -> Result<Principal, Refusal> {
    let header = headers.text("authorization").ok_or(Refusal::Missing)?;
    let header = header.map_err(|_| Refusal::Invalid)?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or(Refusal::Missing)?
        .trim();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let lock = || {
        VERIFIER
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    // Built on an instance's first request, from variables that are read once per instance
    // (`api_plumbing::variable`) and so cannot change under it.
    if lock().is_none() {
        let variable = |name: &'static str| async move {
            api_plumbing::variable(name).await.map_err(|e| {
                eprintln!("gateway: {e}");
                Refusal::Invalid
            })
        };
        let jwks = variable("jwt_keys").await?;
        let issuer = variable("jwt_issuer").await?;
        let audience = variable("jwt_audience").await?;
        let built = Verifier::new(&jwks, &issuer, &audience)?;
        lock().get_or_insert(built);
    }
    let mut verifier = lock();
    verifier
        .as_mut()
        .expect("a verifier was just built")
        .verify(token, now)
}

#[cfg(test)]
mod tests {
    use super::{ByTail, MIN_SECRET_BYTES, secrets};
    use base64::Engine as _;
    use std::collections::HashMap;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn only_secrets_of_32_bytes_or_more_with_a_kid_are_keys() {
        let long = [7u8; MIN_SECRET_BYTES];
        let set = serde_json::json!({ "keys": [
            { "kty": "oct", "kid": "current", "k": b64(&long) },
            { "kty": "oct", "kid": "short", "k": b64(&long[..31]) },
            { "kty": "oct", "k": b64(&long) },
            { "kty": "oct", "kid": "not-base64", "k": "***" },
            { "kty": "OKP", "crv": "Ed25519", "kid": "a-public-key", "x": b64(&long) },
        ]});
        let keys = secrets(&set.to_string()).expect("a JWK set");
        assert_eq!(keys, vec![("current".to_owned(), long.to_vec())]);
        assert!(secrets("not json").is_err());
        assert_eq!(secrets(r#"{"keys":[]}"#).expect("a JWK set"), vec![]);
    }

    #[test]
    fn tokens_that_end_alike_are_still_told_apart() {
        let mut verified: HashMap<String, u32, ByTail> = HashMap::default();
        let tail = "x".repeat(40);
        verified.insert(format!("a{tail}"), 1);
        verified.insert(format!("b{tail}"), 2);
        assert_eq!(verified.get(format!("a{tail}").as_str()), Some(&1));
        assert_eq!(verified.get(format!("b{tail}").as_str()), Some(&2));
        assert_eq!(verified.get(format!("c{tail}").as_str()), None);
        assert_eq!(verified.get(tail.as_str()), None);
        assert_eq!(verified.get("a"), None);
    }
}
