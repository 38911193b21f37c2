-- Citizens urge their own request on (市民催办): while an agency holds it, the citizen who filed
-- it may ask, once a day, that it be hurried, in their own words or none. The holding agency's
-- staff are told; the count is for the centre and supervisors, who see which agencies citizens
-- have to chase.
alter table work_orders add column citizen_urged_at timestamptz;
alter table work_orders add column citizen_urgings integer not null default 0;

insert into notification_templates (kind, audience, title, body, fallback) values
    ('task_citizen_urged', 'staff', '市民催办',
     '工单 {tracking_number}：{title} 市民来催办，希望尽快办理，请在 {deadline} 前办结并答复。',
     false);
