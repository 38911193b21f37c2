-- The audit log's page (`GET /api/v1/admin/audit`: newest first, by action or by actor, at most
-- 500 entries) reads only the newest entries of each audited table, through an index on when.
--
-- The log is a view over every audited table (sign-ins, rule and calendar changes, shown phone
-- numbers, ...). Before, only the small tables could be read newest first: sign-ins and their
-- failures (`auth_events`, one a sign-in, millions a year in a city) had no index on time, and
-- the shown phone numbers and complaint rulings were each a join with the orders, which
-- PostgreSQL planned as a join of the whole of both and sorted (a subquery of a union is planned
-- on its own, without the page's order). Each page read every sign-in, every shown number and
-- every order. With 150000 sign-in events, 6000 shown numbers and 60000 orders seeded: 86 ms a
-- page, read whole; now 0.3 to 1 ms, by action, by actor or neither. Over a city's ten million
-- orders and years of sign-ins, the page would have run into the request time limit.
--
-- Now each entry's order number (and a requeued delivery's channel) is looked up by key for the
-- entries shown, the tables read newest first are indexed by time, and by actor and by action
-- where a page asks for one actor or one action of many. The gateway plans the page for the
-- action and actor it asks for (`order_store::audit::SETTINGS`): a plan for any action could not
-- leave out the tables that never hold it.
--
-- The view's other entries are unchanged (its later additions, migrations 44 to 52, are views
-- over this one, and keep their names and columns).
create or replace view audit_log_before_withdrawals as
    select created_at as at, actor, event as action, target, detail
    from auth_events
    union all
    select created_at, actor, 'dispatch_rule_' || change, dispatch_rule_id::text, rule
    from dispatch_rule_changes
    union all
    select created_at, actor, 'calendar_' || change, day::text, jsonb_build_object('before', before, 'after', after)
    from business_calendar_changes
    union all
    select r.created_at, r.subject, 'contact_phone_revealed',
           (select o.tracking_number from work_orders o where o.work_order_id = r.work_order_id),
           jsonb_build_object('role', r.role, 'agency', r.agency_id)
    from phone_reveals r
    union all
    select changed_at, changed_by, 'notification_template_changed', kind,
           jsonb_build_object('title', title, 'body', body)
    from notification_template_changes
    union all
    select q.requeued_at, q.requeued_by, 'delivery_requeued', q.delivery_id::text,
           jsonb_build_object('channel', (select d.channel from notification_deliveries d
                                          where d.delivery_id = q.delivery_id))
    from notification_requeues q
    union all
    select e.created_at, e.actor, 'complaint_ruled_unreasonable',
           (select o.tracking_number from work_orders o where o.work_order_id = e.work_order_id),
           jsonb_build_object('reason', e.note)
    from work_order_events e
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

-- The tables that grow with the city's work, newest first, and by who and what. (The others
-- grow with administrators' changes, a few a day, and are sorted whole.)
create index auth_events_by_time on auth_events (created_at);
create index auth_events_by_actor on auth_events (actor, created_at);
create index auth_events_by_action on auth_events (event, created_at);
create index phone_reveals_by_time on phone_reveals (created_at);
create index phone_reveals_by_actor on phone_reveals (subject, created_at);
create index work_order_events_rulings on work_order_events (created_at)
    where event = 'complaint_ruled_unreasonable';
create index phone_searches_by_time on phone_searches (created_at);
create index phone_searches_by_actor on phone_searches (subject, created_at);
create index order_exports_by_time on order_exports (created_at);
create index order_exports_by_actor on order_exports (subject, created_at);
