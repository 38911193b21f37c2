-- Notices for those who follow an order (关注) and did not file it: a citizen who followed a
-- request instead of filing their own relies on it, so when its filer withdraws it they are told,
-- and can file their own.
alter table notification_templates drop constraint notification_templates_audience_check;
alter table notification_templates add constraint notification_templates_audience_check
    check (audience in ('staff', 'citizen', 'follower'));

insert into notification_templates (kind, audience, title, body, fallback) values
    ('follower_withdrawn', 'follower', '关注的诉求已撤回',
     '您关注的诉求（{tracking_number}）{title} 已由提交人撤回，不再办理。如问题仍然存在，请您重新提交诉求。',
     true);
