-- Key supervision (重点督办): the level above supervision (督办), for the cases left unresolved and
-- the problems many citizens raise. A supervisor puts an order under it (the `key_supervise`
-- action); the supervision component's escalation sweep puts there every order still with its
-- agency `key_supervision_after_days` days past its deadline (3 by default), with its history
-- event and the notices: the agency's staff (`key_supervision`, as for the action) and every
-- supervisor (`key_supervision_escalated`), so that no one has to go looking for it.
alter table work_orders add column key_supervised_at timestamptz;

-- Orders already three days past their deadline when this runs come under key supervision here,
-- with their history event, but without notices: the first run of the sweep is not a flood of old
-- cases to every supervisor's phone (the board and the overdue list show them).
with escalated as (
    update work_orders
    set key_supervised_at = now(), supervised_at = coalesce(supervised_at, now())
    where status in ('dispatched', 'signed', 'in_progress') and extension_until is null
      and deadline_at <= now() - interval '3 days'
    returning work_order_id)
insert into work_order_events (work_order_id, event, actor, note, created_at)
select work_order_id, 'key_supervised', 'system',
       '超过办结时限 3 日仍未办结，列入重点督办（启用重点督办时已超期）', now()
from escalated;

-- The orders the sweep may escalate, by deadline: a run reads those long past it and nothing
-- else (not the orders in time, nor those escalated already).
create index work_orders_key_supervision_due on work_orders (deadline_at)
    where status in ('dispatched', 'signed', 'in_progress') and key_supervised_at is null;

-- The board counts the orders under key supervision; it reads the agencies' inbox index alone
-- (migration 31), so the index carries the column too. Same key: the task lists use it as before.
drop index work_orders_agency_inbox;
create index work_orders_agency_inbox on work_orders (agency_id, deadline_at)
    include (urgent, supervised_at, key_supervised_at, status, district_id)
    where status in ('dispatched', 'signed', 'in_progress', 'return_requested');

insert into notification_templates (kind, audience, title, body, fallback) values
    ('key_supervision', 'staff', '重点督办',
     '工单 {tracking_number}：{title} 已列入重点督办，请立即办结并向督查部门报告办理情况（办结时限 {deadline}）。',
     false),
    ('key_supervision_escalated', 'staff', '自动列入重点督办',
     '工单 {tracking_number}：{title} 超过办结时限（{deadline}）多日仍未办结，已自动列入重点督办，请跟踪督办。',
     false);
