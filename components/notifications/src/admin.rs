//! Oversight of delivery (supervisors and administrators) and the templates (administrators).
//!
//! Dead letters — deliveries whose attempts ran out or that a provider refused for good — are
//! listed with their last error; re-queueing one is logged in `notification_requeues` and wakes
//! the deliverer.

use crate::error::ApiError;
use api_plumbing::{Principal, Reply, connect, field_error, parse_json, query_param, reply_with};
use mobile_api::{
    Delivery, DeliveryList, NotificationTemplate, NotificationTemplateList, SetNotificationTemplate,
};
use order_store::db::Row;
use order_store::outbox::{DELIVERY_COLUMNS, placeholders};
use order_store::{required, text, utc};
use spin_sdk::http::StatusCode;

const STATUSES: &[&str] = &["pending", "sent", "dead", "dropped"];

fn delivery(row: &Row) -> Result<Delivery, ApiError> {
    let at = |column: &str| {
        utc(row, column).ok_or_else(|| ApiError::Internal(format!("a delivery without {column}")))
    };
    Ok(Delivery {
        id: required(row, "delivery_id")?,
        notification_id: required(row, "notification_id")?,
        recipient: required(row, "recipient")?,
        kind: required(row, "kind")?,
        title: required(row, "title")?,
        channel: required(row, "channel")?,
        status: required(row, "status")?,
        attempts: required(row, "attempts")?,
        last_error: row.get("last_error"),
        next_attempt_at: at("next_attempt_at")?,
        sent_at: utc(row, "sent_at"),
        created_at: at("created_at")?,
        dedupe_key: required(row, "dedupe_key")?,
    })
}

/// `GET /api/v1/admin/deliveries?status=dead&limit=`: newest first; dead ones by default.
pub async fn deliveries(query: &str) -> Result<Reply, ApiError> {
    let status = query_param(query, "status").unwrap_or("dead");
    if !STATUSES.contains(&status) {
        return Err(ApiError::Validation(vec![field_error(
            "status",
            "invalid_value",
            format!("status 应为 {} 之一", STATUSES.join(", ")),
        )]));
    }
    let limit = api_plumbing::page_limit(query, 100, 500)
        .map_err(|problem| ApiError::Validation(vec![problem]))?;
    let db = connect().await?;
    let rows = db
        .query(
            order_store::outbox::DELIVERIES,
            [text(status), i64::from(limit).into()],
        )
        .await?
        .collect()
        .await?;
    let items = rows.iter().map(delivery).collect::<Result<Vec<_>, _>>()?;
    Ok(reply_with(StatusCode::OK, &DeliveryList { items }))
}

/// `POST /api/v1/admin/deliveries/{id}/requeue`: a dead delivery gets a fresh set of attempts.
pub async fn requeue(principal: &Principal, id: &str) -> Result<Reply, ApiError> {
    let id = uuid::Uuid::parse_str(id).map_err(|_| ApiError::NotFound)?;
    let db = connect().await?;
    let rows = db.transaction(async {
        let found = db
            .query(
                "select status from notification_deliveries where delivery_id = $1 for update",
                [id.into()],
            )
            .await?
            .collect()
            .await?;
        let status: String = required(found.first().ok_or(ApiError::NotFound)?, "status")?;
        if status != "dead" {
            return Err(ApiError::NotDead);
        }
        db.execute(
            "update notification_deliveries set status = 'pending', attempts = 0, next_attempt_at = now(), \
                    claimed_until = null where delivery_id = $1",
            [id.into()],
        )
        .await?;
        db.execute(
            "insert into notification_requeues (delivery_id, requeued_by) values ($1, $2)",
            [id.into(), text(&principal.subject)],
        )
        .await?;
        db.execute(
            &format!(
                "select pg_notify('{}', '')",
                order_store::outbox::QUEUED_CHANNEL
            ),
            [],
        )
        .await?;
        let rows = db
            .query(
                format!(
                    "select {DELIVERY_COLUMNS} from notification_deliveries d \
                     join notifications n on n.notification_id = d.notification_id where d.delivery_id = $1"
                ),
                [id.into()],
            )
            .await?
            .collect()
            .await?;
        Ok::<_, ApiError>(rows)
    })
    .await?;
    let row = rows
        .first()
        .ok_or_else(|| ApiError::Internal("the re-queued delivery vanished".into()))?;
    Ok(reply_with(StatusCode::OK, &delivery(row)?))
}

fn template(row: &Row) -> Result<NotificationTemplate, ApiError> {
    let kind: String = required(row, "kind")?;
    Ok(NotificationTemplate {
        placeholders: placeholders(&kind)
            .iter()
            .map(|p| (*p).to_owned())
            .collect(),
        kind,
        audience: required(row, "audience")?,
        title: required(row, "title")?,
        body: required(row, "body")?,
        wechat_template_id: row.get("wechat_template_id"),
        sms_template: row.get("sms_template"),
        fallback: required(row, "fallback")?,
        updated_by: required(row, "updated_by")?,
        updated_at: utc(row, "updated_at")
            .ok_or_else(|| ApiError::Internal("a template without updated_at".into()))?,
    })
}

const TEMPLATE_COLUMNS: &str = "kind, audience, title, body, wechat_template_id, sms_template, fallback, updated_by, updated_at";

pub async fn templates() -> Result<Reply, ApiError> {
    let db = connect().await?;
    let rows = db
        .query(
            format!(
                "select {TEMPLATE_COLUMNS} from notification_templates order by audience desc, kind"
            ),
            [],
        )
        .await?
        .collect()
        .await?;
    let items = rows.iter().map(template).collect::<Result<Vec<_>, _>>()?;
    Ok(reply_with(
        StatusCode::OK,
        &NotificationTemplateList { items },
    ))
}

/// Every problem with template `kind`'s new text, at once.
pub fn check_template(kind: &str, new: &SetNotificationTemplate) -> Vec<mobile_api::FieldError> {
    let mut problems = Vec::new();
    if !(1..=40).contains(&new.title.trim().chars().count()) {
        problems.push(field_error(
            "title",
            "invalid_length",
            "标题应为 1 到 40 个字符 (title is 1–40 characters)",
        ));
    }
    if !(1..=300).contains(&new.body.trim().chars().count()) {
        problems.push(field_error(
            "body",
            "invalid_length",
            "内容应为 1 到 300 个字符 (body is 1–300 characters)",
        ));
    }
    // Every `{...}` must be a placeholder of the kind, so a typo cannot reach a citizen's phone,
    // nor a staff note a text that has none (or a citizen).
    let known = placeholders(kind);
    let mut rest = new.body.as_str();
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c + 1);
        let placeholder = close
            .map(|close| &rest[open..close])
            .unwrap_or(&rest[open..]);
        if !known.contains(&placeholder) {
            problems.push(field_error(
                "body",
                "unknown_placeholder",
                format!(
                    "未知的占位符 {placeholder}，可用：{} (unknown placeholder)",
                    known.join(" ")
                ),
            ));
            break;
        }
        rest = &rest[close.unwrap_or(rest.len())..];
    }
    for (field, value) in [
        ("wechat_template_id", &new.wechat_template_id),
        ("sms_template", &new.sms_template),
    ] {
        if let Some(value) = value
            && (value.is_empty()
                || value.len() > 64
                || !value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        {
            problems.push(field_error(
                field,
                "invalid_value",
                format!("{field} 应为 1 到 64 个字母、数字、_ 或 - ({field} is 1–64 letters, digits, _ or -)"),
            ));
        }
    }
    problems
}

/// `PUT /api/v1/admin/notification-templates/{kind}`: notifications made afterwards use it; the
/// change is logged.
pub async fn set_template(
    principal: &Principal,
    kind: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let new: SetNotificationTemplate = parse_json(body)?;
    let problems = check_template(kind, &new);
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let db = connect().await?;
    let saved = db.transaction(async {
        let rows = db
            .query(
                format!(
                    "update notification_templates set title = $2, body = $3, wechat_template_id = $4, \
                            sms_template = $5, fallback = $6, updated_by = $7, updated_at = now() \
                     where kind = $1 returning {TEMPLATE_COLUMNS}"
                ),
                [
                    text(kind),
                    text(new.title.trim()),
                    text(new.body.trim()),
                    new.wechat_template_id.clone().into(),
                    new.sms_template.clone().into(),
                    new.fallback.into(),
                    text(&principal.subject),
                ],
            )
            .await?
            .collect()
            .await?;
        let row = rows.first().ok_or(ApiError::NotFound)?;
        db.execute(
            "insert into notification_template_changes (kind, title, body, changed_by) values ($1, $2, $3, $4)",
            [
                text(kind),
                text(new.title.trim()),
                text(new.body.trim()),
                text(&principal.subject),
            ],
        )
        .await?;
        let saved = template(row)?;
        Ok::<_, ApiError>(saved)
    })
    .await?;
    Ok(reply_with(StatusCode::OK, &saved))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(body: &str) -> SetNotificationTemplate {
        SetNotificationTemplate {
            title: "新工单".into(),
            body: body.into(),
            wechat_template_id: None,
            sms_template: Some("SMS_123".into()),
            fallback: false,
        }
    }

    #[test]
    fn only_known_placeholders_pass() {
        assert!(
            check_template(
                "task_new",
                &set("工单 {tracking_number}：{title}，{deadline} 前办结")
            )
            .is_empty()
        );
        assert_eq!(
            check_template("task_new", &set("工单 {number}"))[0].code,
            "unknown_placeholder"
        );
        assert_eq!(
            check_template("task_new", &set("工单 {title"))[0].code,
            "unknown_placeholder"
        );
    }

    #[test]
    fn only_kinds_with_a_note_quote_it_and_never_to_citizens() {
        let quoting = set("工单 {tracking_number} 已退回，说明：{note}");
        assert!(check_template("task_returned", &quoting).is_empty());
        for kind in [
            "task_new",
            "deadline_warning",
            "citizen_replied",
            "no_such_kind",
        ] {
            assert_eq!(
                check_template(kind, &quoting)[0].code,
                "unknown_placeholder",
                "{kind}"
            );
        }
    }
}
