//! Bearer-token verification: EdDSA JWTs checked against the JWK set in the `jwt_jwks` variable.
//!
//! The key is chosen by the token's `kid`, so keys can rotate: publish the new key beside the old
//! one, then retire the old one. Only EdDSA is accepted, so `alg: none` and HMAC tokens signed
//! with a public key are refused before any signature check.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mobile_api::codes;
use serde::Deserialize;
use spin_sdk::http::HeaderMap;

pub struct Principal {
    pub subject: String,
    pub role: String,
}

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
}

const ROLES: &[&str] = &[
    "citizen",
    "operator",
    "agency_staff",
    "supervisor",
    "leader",
    "admin",
];

pub async fn authenticate(headers: &HeaderMap) -> Result<Principal, Refusal> {
    let header = headers.get("authorization").ok_or(Refusal::Missing)?;
    let header = header.to_str().map_err(|_| Refusal::Invalid)?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or(Refusal::Missing)?
        .trim();
    let token_header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Invalid)?;
    if token_header.alg != Algorithm::EdDSA {
        return Err(Refusal::Invalid);
    }
    let kid = token_header.kid.ok_or(Refusal::Invalid)?;

    let jwks = spin_sdk::variables::get("jwt_jwks").await.map_err(|e| {
        eprintln!("gateway: the jwt_jwks variable is unavailable: {e:?}");
        Refusal::Invalid
    })?;
    let jwks: JwkSet = serde_json::from_str(&jwks).map_err(|e| {
        eprintln!("gateway: the jwt_jwks variable is not a JWK set: {e}");
        Refusal::Invalid
    })?;
    let jwk = jwks.find(&kid).ok_or(Refusal::Invalid)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| Refusal::Invalid)?;

    let issuer = spin_sdk::variables::get("jwt_issuer")
        .await
        .map_err(|_| Refusal::Invalid)?;
    let audience = spin_sdk::variables::get("jwt_audience")
        .await
        .map_err(|_| Refusal::Invalid)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
    validation.leeway = 30;

    let data =
        jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => Refusal::Expired,
            _ => Refusal::Invalid,
        })?;
    let Claims { sub, role } = data.claims;
    if sub.is_empty() || sub.len() > 128 || !ROLES.contains(&role.as_str()) {
        return Err(Refusal::Invalid);
    }
    Ok(Principal { subject: sub, role })
}
