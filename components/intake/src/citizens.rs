//! Citizens as intake knows them: by the subject of their access token (filing from the app or
//! the mini-program), or by phone number (a caller an operator files for). Found, or added the
//! first time: never rewritten on every filing, which would serialise one citizen's filings.

use crate::error::ApiError;
use order_store::text;
use spin_sdk::pg::{Connection, ParameterValue};

/// The citizen signed in as `subject`.
pub async fn by_subject(db: &Connection, subject: &str) -> Result<uuid::Uuid, ApiError> {
    find_or_add(db, "subject = $2", subject, None).await
}

/// The caller with this phone number (digits only). A caller new to the hotline is added with
/// the subject `phone:<digits>` until they sign in.
pub async fn by_phone(db: &Connection, phone: &str) -> Result<uuid::Uuid, ApiError> {
    find_or_add(db, "phone = $3", &format!("phone:{phone}"), Some(phone)).await
}

async fn find_or_add(
    db: &Connection,
    found_by: &str,
    subject: &str,
    phone: Option<&str>,
) -> Result<uuid::Uuid, ApiError> {
    // Two first filings at once: the loser inserts nothing and finds the winner's row on the
    // second try.
    for _ in 0..2 {
        let rows = db
            .query(
                format!(
                    "with found as (select citizen_id from citizens where {found_by}), \
                          added as (insert into citizens (citizen_id, subject, phone) select $1, $2, $3 \
                                    where not exists (select 1 from found) \
                                    on conflict do nothing returning citizen_id) \
                     select citizen_id from found union all select citizen_id from added"
                ),
                [
                    ParameterValue::Uuid(uuid::Uuid::new_v4().to_string()),
                    text(subject),
                    phone.map(str::to_owned).into(),
                ],
            )
            .await?
            .collect()
            .await?;
        if let Some(id) = rows.first().and_then(|row| row.get("citizen_id")) {
            return Ok(id);
        }
    }
    Err(ApiError::Internal(format!(
        "no citizen found or added for {subject}"
    )))
}
