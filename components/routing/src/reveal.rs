//! `POST /api/v1/orders/{id}/contact-phone`: a citizen's phone number, shown on request and
//! recorded each time.
//!
//! Agency staff see it only on an order their agency holds or is asked to help with (协办) until
//! it has given its opinion, and the centre on any order; a confidential order's number is shown
//! only to its assigned handler (who signed for it).
//! The record is written in the same transaction that reads the number.

use crate::error::ApiError;
use api_plumbing::{Principal, Reply, reply_with};
use mobile_api::ContactPhone;
use order_store::{required, text};
use spin_sdk::http::StatusCode;

pub async fn reveal(principal: &Principal, id: &str) -> Result<Reply, ApiError> {
    let key = order_store::order_key(id)?;
    let db = api_plumbing::connect().await?;
    let phone = db.transaction(async {
        let rows = db
            .query(
                format!(
                    "select o.work_order_id, o.agency_id, o.status, o.confidential, o.handler_subject, o.contact_phone, \
                            exists (select 1 from work_order_co_handlers h where h.work_order_id = o.work_order_id \
                                    and h.agency_id = $2 and h.cancelled_at is null and h.answered_at is null) as helping \
                     from work_orders o where o.{} = $1",
                    key.column()
                ),
                [key.value(), principal.agency.clone().into()],
            )
            .await?
            .collect()
            .await?;
        let row = rows.first().ok_or(ApiError::NotFound)?;
        let with_agency = workorder::lifecycle::Status::parse(&required::<String>(row, "status")?)
            .is_some_and(|s| s.with_agency());
        let holds = row.get::<String>("agency_id") == principal.agency;
        let helping: bool = required(row, "helping")?;
        let allowed = match principal.role.as_str() {
            "agency_staff" if !(with_agency && (holds || helping)) => return Err(ApiError::NotFound),
            "agency_staff" | "operator" | "supervisor" | "admin" => true,
            _ => false,
        };
        let confidential: bool = required(row, "confidential")?;
        let handler: Option<String> = row.get("handler_subject");
        if !allowed || (confidential && handler.as_deref() != Some(principal.subject.as_str())) {
            return Err(ApiError::ConfidentialContact);
        }
        let order_id: uuid::Uuid = required(row, "work_order_id")?;
        db.execute(
            "insert into phone_reveals (work_order_id, subject, role, agency_id) values ($1, $2, $3, $4)",
            [order_id.into(), text(&principal.subject), text(&principal.role), principal.agency.clone().into()],
        )
        .await?;
        Ok(ContactPhone { contact_phone: required(row, "contact_phone")? })
    })
    .await?;
    Ok(reply_with(StatusCode::OK, &phone))
}
