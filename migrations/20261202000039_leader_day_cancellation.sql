-- A leader answering day can be cancelled (the leader is called away) before it ends, while no
-- call names it; the day stays on the list, marked, and operators can no longer name it. Who
-- cancelled it and when are in the audit log.
alter table leader_days
    add column cancelled_at timestamptz,
    add column cancelled_by text,
    add constraint leader_days_cancelled_by check ((cancelled_at is null) = (cancelled_by is null));

-- The audit log names who scheduled each leader answering day, who cancelled one, and who issued
-- each special report (migration 37). A view is replaced whole: the entries before are restated.
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
    where e.event = 'complaint_ruled_unreasonable'
    union all
    select created_at, actor, 'knowledge_article_' || change, knowledge_article_id::text, article
    from knowledge_article_changes
    union all
    select created_at, created_by, 'leader_day_scheduled', leader_day_id::text,
           jsonb_build_object('leader_name', leader_name, 'leader_title', leader_title,
                              'starts_at', starts_at, 'ends_at', ends_at)
    from leader_days
    union all
    select issued_at, issued_by, 'special_report_issued', special_report_id::text,
           jsonb_build_object('year', year, 'issue', issue, 'title', title)
    from special_reports
    union all
    select cancelled_at, cancelled_by, 'leader_day_cancelled', leader_day_id::text,
           jsonb_build_object('leader_name', leader_name, 'leader_title', leader_title,
                              'starts_at', starts_at, 'ends_at', ends_at)
    from leader_days where cancelled_at is not null;
