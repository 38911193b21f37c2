-- Notices to the agency holding an order about an event addressed to another (audience
-- `holder`): when the centre asks an agency to help it (协办), the holder's staff are told that
-- the opinion is coming and by when, so that they wait for it before replying.
alter table notification_templates drop constraint notification_templates_audience_check;
alter table notification_templates add constraint notification_templates_audience_check
    check (audience in ('staff', 'citizen', 'follower', 'holder'));

insert into notification_templates (kind, audience, title, body, fallback) values
    ('co_handling_arranged', 'holder', '已安排协办单位',
     '工单 {tracking_number}：{title} 热线中心已请其他单位协办，其意见将于 {deadline} 前反馈，收齐协办意见后再答复。',
     false);
