-- Follow-ups (回访), supervision marks, and the times the KPIs count.
alter table work_orders
    -- When the order came under supervision (督办): by a supervisor, or by a redo.
    add column supervised_at timestamptz,
    -- Follow-up calls of this round that did not reach the citizen, and the last one.
    add column follow_up_attempts int not null default 0 check (follow_up_attempts >= 0),
    add column last_follow_up_at timestamptz,
    -- The latest reply. The order was completed then, unless an audit failed or a redo began since.
    add column replied_at timestamptz;

update work_orders o set replied_at = (
    select max(e.created_at) from work_order_events e
    where e.work_order_id = o.work_order_id and e.event = 'replied');
update work_orders o set supervised_at = (
    select min(e.created_at) from work_order_events e
    where e.work_order_id = o.work_order_id and e.event in ('supervised', 'redo_started'));

-- The operators' follow-up queue: orders still waiting for a rating, longest first.
create index work_orders_awaiting_rating on work_orders (awaiting_rating_since)
    where status = 'awaiting_rating';

-- The KPIs select by deadline, by dispatch and by rating time.
create index work_orders_due on work_orders (deadline_at) where dispatched_at is not null;
create index work_orders_dispatched on work_orders (dispatched_at) where dispatched_at is not null;
create index ratings_by_time on ratings (created_at);

update notification_templates
set body = '工单 {tracking_number}：{title} 市民不满意，已转重办并列入督办，请在 {deadline} 前办结。'
where kind = 'task_redo';
