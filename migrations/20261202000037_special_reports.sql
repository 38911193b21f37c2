-- Special public-opinion reports (舆情专报): the centre gathers what citizens said about one
-- matter in a span of days (the requests whose title or description holds one of its keywords, or
-- of its category), with the figures by day, district, category and channel, what became of the
-- requests and the cases most citizens raised, adds its analysis, and issues it to the city's
-- leaders under a number of the year (舆情专报 2026年第3期). The figures are kept as issued: a
-- report read a year later says what its readers read then.
create table special_reports (
    special_report_id  bigint generated always as identity primary key,
    -- The year of issue (China Standard Time) and the issue's number in it, from 1.
    year         int not null,
    issue        int not null check (issue >= 1),
    title        text not null check (char_length(title) between 1 and 100),
    commentary   text check (char_length(commentary) <= 2000),
    -- The topic report (`mobile_api::TopicReport`) as computed when it was issued.
    report       jsonb not null,
    issued_by    text not null,
    issued_at    timestamptz not null default now(),
    unique (year, issue)
);

-- The latest first, for the list.
create index special_reports_by_issue_time on special_reports (issued_at);

-- Every leader and supervisor hears of a new issue (not the one who issued it); in their inbox
-- and on their phones. `{title}` is the issue's heading and title.
insert into notification_templates (kind, audience, title, body, fallback) values
    ('special_report', 'staff', '舆情专报',
     '{title}已印发，请查阅。',
     false);

-- The audit log names who scheduled each leader answering day and who issued each special report.
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
    from special_reports;
