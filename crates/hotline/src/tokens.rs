//! Signing keys for access tokens, and tokens minted by hand.
//!
//! The gateway signs the token of everyone who signs in (by SMS, WeChat or password) with the
//! private half of such a key (`hotline keys` makes one; any Ed25519 key in PKCS#8 PEM will do);
//! `hotline token` mints a token directly, for the demo, the tests and the bench.
//!
//! Keys are Ed25519; the public half is published as a JWK set, which the gateway reads from its
//! `jwt_jwks` variable. Tokens carry `sub`, `role`, `iss`, `aud`, `iat`, `exp` and `jti`.

use anyhow::Context;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use serde::Serialize;
use std::path::Path;

pub const ISSUER: &str = "hotline";
pub const AUDIENCE: &str = "hotline-api";

/// Writes a new signing key (`signing.pem`) and its public JWK set (`jwks.json`) into `dir`.
pub fn generate_keys(dir: &Path, kid: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .context("encoding the signing key")?;
    std::fs::write(dir.join("signing.pem"), pem.as_bytes())?;
    std::fs::write(dir.join("kid"), kid)?;
    std::fs::write(dir.join("jwks.json"), jwks(&key, kid).to_string())?;
    Ok(())
}

pub fn jwks(key: &SigningKey, kid: &str) -> serde_json::Value {
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
    serde_json::json!({
        "keys": [{ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": x }]
    })
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
    let pem = std::fs::read_to_string(keys_dir.join("signing.pem")).with_context(|| {
        format!(
            "reading {}/signing.pem (run `hotline keys`)",
            keys_dir.display()
        )
    })?;
    let kid = std::fs::read_to_string(keys_dir.join("kid"))?
        .trim()
        .to_owned();
    SigningKey::from_pkcs8_pem(&pem).context("the signing key is not an Ed25519 PKCS#8 key")?;
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
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(kid);
    let key = jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes())
        .context("loading the signing key")?;
    Ok(jsonwebtoken::encode(&header, &claims, &key)?)
}
