-- The audit log also shows what this session's features let people change: notification texts,
-- re-queued deliveries, and complaints a supervisor ruled unreasonable (instead of a redo).
create or replace view audit_log as
    select created_at as at, actor, event as action, target, detail
    from auth_events
    union all
    select created_at, actor, 'dispatch_rule_' || change, dispatch_rule_id::text, rule
    from dispatch_rule_changes
    union all
    select created_at, actor, 'calendar_' || change, day::text, jsonb_build_object('before', before, 'after', after)
    from business_calendar_changes
    union all
    select r.created_at, r.subject, 'contact_phone_revealed', o.tracking_number,
           jsonb_build_object('role', r.role, 'agency', r.agency_id)
    from phone_reveals r join work_orders o on o.work_order_id = r.work_order_id
    union all
    select changed_at, changed_by, 'notification_template_changed', kind,
           jsonb_build_object('title', title, 'body', body)
    from notification_template_changes
    union all
    select q.requeued_at, q.requeued_by, 'delivery_requeued', q.delivery_id::text,
           jsonb_build_object('channel', d.channel)
    from notification_requeues q join notification_deliveries d on d.delivery_id = q.delivery_id
    union all
    select e.created_at, e.actor, 'complaint_ruled_unreasonable', o.tracking_number,
           jsonb_build_object('reason', e.note)
    from work_order_events e join work_orders o on o.work_order_id = e.work_order_id
    where e.event = 'complaint_ruled_unreasonable';
