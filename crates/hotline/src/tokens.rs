//! Keys for access tokens, and tokens minted by hand.
//!
//! The gateway signs the token of everyone who signs in (by SMS, WeChat or password) and checks
//! every token it is sent, both with HMAC-SHA256 (HS256) under a secret key of the JWK set in its
//! `jwt_keys` variable: the key `jwt_signing_kid` names signs, and every key in the set is
//! accepted (components/gateway/src/auth.rs says why a secret rather than a key pair).
//! `hotline keys` makes such a set with one key; `hotline token` mints a token directly, for the
//! demo, the tests and the bench. Tokens carry `sub`, `role`, `iss`, `aud`, `iat`, `exp` and `jti`.

use anyhow::Context;
use base64::Engine as _;
use rand::RngCore;
use serde::Serialize;
use std::path::Path;

pub const ISSUER: &str = "hotline";
pub const AUDIENCE: &str = "hotline-api";

/// The file in a keys folder that holds its JWK set.
pub const KEYS_FILE: &str = "keys.json";

/// The length of a secret `hotline keys` makes, and the least it reads (the gateway's least).
const SECRET_BYTES: usize = 32;

/// Writes a new key set (`keys.json`: one secret of [`SECRET_BYTES`] under `kid`) into `dir`,
/// readable by its owner only.
pub fn generate_keys(dir: &Path, kid: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let mut secret = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let path = dir.join(KEYS_FILE);
    let _ = std::fs::remove_file(&path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(key_set(kid, &secret).to_string().as_bytes())?;
    Ok(())
}

/// A JWK set with one HS256 secret under `kid`.
pub fn key_set(kid: &str, secret: &[u8]) -> serde_json::Value {
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    serde_json::json!({ "keys": [{ "kty": "oct", "alg": "HS256", "use": "sig", "kid": kid, "k": k }] })
}

/// The `kid` and secret of the first key in `keys_dir`'s key set (the one that signs).
pub fn read_keys(keys_dir: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let path = keys_dir.join(KEYS_FILE);
    let set = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (run `hotline keys`)", path.display()))?;
    let parsed: serde_json::Value =
        serde_json::from_str(&set).with_context(|| format!("{} is not JSON", path.display()))?;
    let first = &parsed["keys"][0];
    let kid = first["kid"]
        .as_str()
        .with_context(|| format!("the first key in {} has no kid", path.display()))?;
    let secret = first["k"]
        .as_str()
        .and_then(|k| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(k)
                .ok()
        })
        .filter(|secret| secret.len() >= SECRET_BYTES)
        .with_context(|| {
            format!(
                "the first key in {} is not a secret of {SECRET_BYTES} bytes or more",
                path.display()
            )
        })?;
    Ok((kid.to_owned(), secret))
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    role: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    agency: Option<&'a str>,
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

/// Mints an access token for `subject` with `role`, valid for `ttl_seconds`.
pub fn mint(
    keys_dir: &Path,
    subject: &str,
    role: &str,
    agency: Option<&str>,
    ttl_seconds: i64,
) -> anyhow::Result<String> {
    let (kid, secret) = read_keys(keys_dir)?;
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: subject,
        role,
        agency,
        iss: ISSUER,
        aud: AUDIENCE,
        iat: now,
        exp: now + ttl_seconds,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid);
    let key = jsonwebtoken::EncodingKey::from_secret(&secret).context("loading the key")?;
    Ok(jsonwebtoken::encode(&header, &claims, &key)?)
}
