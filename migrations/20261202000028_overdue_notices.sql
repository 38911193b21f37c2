-- Overdue (超期): an agency whose order passes its deadline unfinished hears of it at once.
--
-- The deadline warning (即将超期) comes when four-fifths of an order's time are gone; after the
-- deadline nothing told the agency, and an overdue order only showed as a negative `seconds_left`
-- in its task list. Now the every-minute sweep of the notifications component pushes
-- `task_overdue` to the agency's staff (and puts it in their inboxes) once per order and deadline:
-- `overdue_notified_for` is the deadline they were told of, so an order whose deadline an
-- extension moved is told again if it misses the new one too. An order with an extension request
-- still before the centre is not told until the centre decides (approved, it has a new deadline;
-- refused, it is told then).
alter table work_orders add column overdue_notified_for timestamptz;

-- Orders already overdue when this runs are known to be overdue to those who hold them (their
-- task lists say so): they are not told again, so that the first run is not a flood of old cases.
update work_orders set overdue_notified_for = deadline_at
where status in ('dispatched', 'signed', 'in_progress') and deadline_at <= now();

-- The orders still to be told, by deadline: a run reads those whose deadline has passed and
-- nothing else (not the orders still in time, nor those told already, most of the overdue ones).
create index work_orders_overdue_notices on work_orders (deadline_at)
    where status in ('dispatched', 'signed', 'in_progress')
      and overdue_notified_for is distinct from deadline_at;

insert into notification_templates (kind, audience, title, body, fallback) values
    ('task_overdue', 'staff', '已超期',
     '工单 {tracking_number}：{title} 已超过办结时限（{deadline}），请尽快办结并报告超期原因。',
     false);
