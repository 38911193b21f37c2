//! `hotline staff add`: the first administrator (and the demo's staff) before anyone can sign in.
//! After that, administrators add staff through the API.

use anyhow::{Context, bail};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

/// The same argon2id settings as the gateway's (19 MiB, 2 passes, 1 lane).
fn hash(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))
}

/// Whether `password` is the one `stored` (an argon2 PHC string) was made from.
fn verifies(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A password of 20 letters and digits, for when none is given.
fn generated_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub agency: Option<String>,
    /// None: generate one and print it.
    pub password: Option<String>,
    /// The holder chose it: signing in does not ask for a change (`password_changed_at` set).
    pub own_password: bool,
}

/// Adds the account unless one with the username exists; returns what to tell the operator.
pub async fn add(url: &str, account: NewAccount) -> anyhow::Result<String> {
    use sqlx::Connection;
    if let Some(password) = &account.password
        && !(12..=128).contains(&password.chars().count())
    {
        bail!("a password has 12 to 128 characters");
    }
    let (password, generated) = match account.password {
        Some(password) => (password, false),
        None => (generated_password(), true),
    };
    let hash = hash(&password)?;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .context("connecting to the database")?;
    let mut tx = conn.begin().await?;
    let added = sqlx::query(
        "insert into staff_accounts (username, display_name, role, agency_id, password_hash, created_by, \
                                     password_changed_at) \
         values ($1, $2, $3, $4, $5, 'hotline-cli', case when $6 then now() end) \
         on conflict (username) do nothing",
    )
    .bind(&account.username)
    .bind(&account.display_name)
    .bind(&account.role)
    .bind(&account.agency)
    .bind(&hash)
    .bind(account.own_password)
    .execute(&mut *tx)
    .await
    .context("adding the account (is the username, role or agency valid?)")?
    .rows_affected();
    if added == 0 {
        // Said to be the holder's own, and the password given is the account's: mark it so (a
        // demo made before the first change was required; only who knows it can say so).
        if account.own_password && !generated {
            let stored: Option<(String, bool)> = sqlx::query_as(
                "select password_hash, password_changed_at is null from staff_accounts where username = $1",
            )
            .bind(&account.username)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((stored, true)) = stored
                && verifies(&password, &stored)
            {
                sqlx::query(
                    "update staff_accounts set password_changed_at = now() where username = $1",
                )
                .bind(&account.username)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                return Ok(format!(
                    "{} exists; its password is marked as its holder's own",
                    account.username
                ));
            }
        }
        return Ok(format!("{} exists; unchanged", account.username));
    }
    sqlx::query(
        "insert into auth_events (event, actor, target, detail) \
         values ('staff_created', 'hotline-cli', $1, jsonb_build_object('role', $2::text, 'agency', $3::text))",
    )
    .bind(&account.username)
    .bind(&account.role)
    .bind(&account.agency)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(if generated {
        format!("added {} with the password {password}", account.username)
    } else {
        format!("added {}", account.username)
    })
}
