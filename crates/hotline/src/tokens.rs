//! Keys for access tokens, and tokens minted by hand.
//!
//! The gateway signs the token of everyone who signs in (by SMS, WeChat or password) and checks
//! every token it is sent, both with HMAC-SHA256 (HS256) under a secret key of the JWK set in its
//! `jwt_keys` variable: the key `jwt_signing_kid` names signs, and every key in the set is
//! accepted (components/gateway/src/auth.rs says why a secret rather than a key pair).
//! `hotline keys` makes such a set with one key, and rotates it (`--rotate`: a new key signs, the
//! old ones are still accepted; `--retire`: an old one goes); `hotline token` mints a token
//! directly, for the demo, the tests and the bench. Tokens carry `sub`, `role`, `iss`, `aud`, `iat`, `exp`, `jti` and `sid`.

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
/// in place of any set there: tokens signed with the keys it held are no longer accepted.
pub fn generate_keys(dir: &Path, kid: &str) -> anyhow::Result<()> {
    write_set(dir, &key_set(kid, &new_secret()))
}

/// Puts a new secret under `kid` at the head of `dir`'s key set, where it signs, and keeps the
/// keys already there: the gateway still accepts the tokens they signed until those expire (the
/// access tokens within `ACCESS_TOKEN_TTL_SECONDS`), and then the old key can be retired.
/// `JWT_KEYS` and `JWT_SIGNING_KID` must then be set from the new set, on every runtime.
pub fn rotate_keys(dir: &Path, kid: &str) -> anyhow::Result<()> {
    let mut set = read_set(dir)?;
    let keys = keys_of(&mut set, dir)?;
    if keys.iter().any(|key| key["kid"] == kid) {
        anyhow::bail!("the key set already has a key `{kid}`; name the new one differently");
    }
    keys.insert(0, jwk(kid, &new_secret()));
    write_set(dir, &set)
}

/// Removes the key `kid` from `dir`'s key set, once no token it signed is still valid. The key
/// that signs (the first) is not removed: rotate first.
pub fn retire_key(dir: &Path, kid: &str) -> anyhow::Result<()> {
    let mut set = read_set(dir)?;
    let keys = keys_of(&mut set, dir)?;
    let Some(position) = keys.iter().position(|key| key["kid"] == kid) else {
        anyhow::bail!("the key set has no key `{kid}`");
    };
    if position == 0 {
        anyhow::bail!(
            "`{kid}` is the key that signs; rotate to a new key first (`hotline keys --rotate --kid <new>`)"
        );
    }
    keys.remove(position);
    write_set(dir, &set)
}

/// The `kid` of every key in `dir`'s key set, the signing one first.
pub fn key_ids(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut set = read_set(dir)?;
    Ok(keys_of(&mut set, dir)?
        .iter()
        .map(|key| key["kid"].as_str().unwrap_or("(no kid)").to_owned())
        .collect())
}

fn new_secret() -> [u8; SECRET_BYTES] {
    let mut secret = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

fn read_set(dir: &Path) -> anyhow::Result<serde_json::Value> {
    let path = dir.join(KEYS_FILE);
    let set = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (run `hotline keys`)", path.display()))?;
    serde_json::from_str(&set).with_context(|| format!("{} is not JSON", path.display()))
}

fn keys_of<'a>(
    set: &'a mut serde_json::Value,
    dir: &Path,
) -> anyhow::Result<&'a mut Vec<serde_json::Value>> {
    set.get_mut("keys")
        .and_then(serde_json::Value::as_array_mut)
        .with_context(|| {
            format!(
                "{} is not a JWK set (no `keys` list)",
                dir.join(KEYS_FILE).display()
            )
        })
}

/// Writes `set` as `dir`'s key set, readable by its owner only. It is written beside the old one
/// and then renamed over it, so that a reader never sees half a set and a failed write leaves
/// the old set as it was.
fn write_set(dir: &Path, set: &serde_json::Value) -> anyhow::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let path = dir.join(KEYS_FILE);
    let partial = dir.join(format!("{KEYS_FILE}.new"));
    let _ = std::fs::remove_file(&partial);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    file.write_all(set.to_string().as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&partial, &path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// A JWK set with one HS256 secret under `kid`.
pub fn key_set(kid: &str, secret: &[u8]) -> serde_json::Value {
    serde_json::json!({ "keys": [jwk(kid, secret)] })
}

/// One HS256 secret under `kid`, as a JWK.
fn jwk(kid: &str, secret: &[u8]) -> serde_json::Value {
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    serde_json::json!({ "kty": "oct", "alg": "HS256", "use": "sig", "kid": kid, "k": k })
}

/// The `kid` and secret of the first key in `keys_dir`'s key set (the one that signs).
pub fn read_keys(keys_dir: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let path = keys_dir.join(KEYS_FILE);
    let parsed = read_set(keys_dir)?;
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
    /// To the millisecond, as the gateway issues them.
    iat: f64,
    exp: i64,
    jti: String,
    /// A session of its own, with no refresh token: the front door checks it as it checks a
    /// signed-in token's (so the bench measures that check), and only ending the subject's
    /// sessions ends it.
    sid: String,
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
    let issued = chrono::Utc::now();
    let now = issued.timestamp();
    let claims = Claims {
        sub: subject,
        role,
        agency,
        iss: ISSUER,
        aud: AUDIENCE,
        iat: issued.timestamp_millis() as f64 / 1000.0,
        exp: now + ttl_seconds,
        jti: uuid::Uuid::new_v4().to_string(),
        sid: uuid::Uuid::new_v4().to_string(),
    };
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid);
    let key = jsonwebtoken::EncodingKey::from_secret(&secret).context("loading the key")?;
    Ok(jsonwebtoken::encode(&header, &claims, &key)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key set in a scratch folder made under `k1`, a token `k1` signed, and the set rotated
    /// to `k2`.
    fn rotated(name: &str) -> (std::path::PathBuf, String) {
        let dir = std::env::temp_dir().join(format!("hotline-keys-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        generate_keys(&dir, "k1").expect("a key set");
        let before = mint(&dir, "citizen-1", "citizen", None, 600).expect("a token");
        rotate_keys(&dir, "k2").expect("a rotation");
        (dir, before)
    }

    /// What the gateway does with a token: the key its `kid` names, from the set.
    fn verifies(dir: &Path, token: &str) -> bool {
        let set: jsonwebtoken::jwk::JwkSet =
            serde_json::from_value(read_set(dir).expect("the set")).expect("a JWK set");
        let header = jsonwebtoken::decode_header(token).expect("a header");
        let Some(jwk) = set.find(header.kid.as_deref().unwrap_or_default()) else {
            return false;
        };
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("a key");
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).is_ok()
    }

    #[test]
    fn a_rotation_signs_with_the_new_key_and_keeps_accepting_the_old_one() {
        let (dir, before) = rotated("rotate");
        assert_eq!(key_ids(&dir).expect("the kids"), ["k2", "k1"]);
        assert_eq!(read_keys(&dir).expect("the signing key").0, "k2");
        let after = mint(&dir, "citizen-1", "citizen", None, 600).expect("a token");
        assert_eq!(
            jsonwebtoken::decode_header(&after)
                .expect("a header")
                .kid
                .as_deref(),
            Some("k2")
        );
        assert!(verifies(&dir, &before) && verifies(&dir, &after));
        assert!(rotate_keys(&dir, "k1").is_err(), "a kid already in the set");
        assert_eq!(key_ids(&dir).expect("the kids"), ["k2", "k1"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(KEYS_FILE))
                .expect("the file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn retiring_removes_an_old_key_but_never_the_signing_one() {
        let (dir, old) = rotated("retire");
        assert!(retire_key(&dir, "k2").is_err(), "the signing key");
        assert!(retire_key(&dir, "k9").is_err(), "no such key");
        assert_eq!(key_ids(&dir).expect("the kids"), ["k2", "k1"]);
        retire_key(&dir, "k1").expect("retiring the old key");
        assert_eq!(key_ids(&dir).expect("the kids"), ["k2"]);
        assert!(!verifies(&dir, &old), "a token of a retired key");
        assert!(!dir.join(format!("{KEYS_FILE}.new")).exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
