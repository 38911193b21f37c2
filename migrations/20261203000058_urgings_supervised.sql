-- A request its citizen has had to urge on three times (市民多次催办) comes under supervision
-- (督办, `lifecycle::URGINGS_FOR_SUPERVISION`): the holding agency's staff are told so.
insert into notification_templates (kind, audience, title, body, fallback) values
    ('task_citizen_urged_supervised', 'staff', '市民多次催办，已列入督办',
     '工单 {tracking_number}：{title} 市民已多次催办，工单已列入督办，请于 {deadline} 前办结并报告办理情况。',
     false);
