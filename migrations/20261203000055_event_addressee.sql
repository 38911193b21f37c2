-- The agency an event is addressed to when it is not the one holding the order: an agency asked
-- to help (协办) hears of its request, of the centre's urging (催办) of its opinion, and of its
-- request taken back; the history names it, and the event's note keeps what was said (the
-- request, the urging, the reason). Events recorded before this (append-only, so not rewritten)
-- named the agency in their note instead.
alter table work_order_events add column agency_id text references agencies (agency_id);

insert into notification_templates (kind, audience, title, body, fallback) values
    ('co_handling_reminder', 'staff', '协办催办',
     '工单 {tracking_number}：{title} 热线中心催促贵单位尽快提出协办意见（应于 {deadline} 前反馈）。',
     false);

-- How many times the centre urged an agency asked to help on, while its opinion was awaited.
alter table work_order_co_handlers add column reminders integer not null default 0;
