-- Citizens in the WeChat mini-program: the app's openid identifies them. A WeChat citizen who
-- binds a phone number becomes one person with the citizen of that number (their requests move
-- to that one row), so requests filed by phone and by WeChat are one history.
alter table citizens add column wechat_openid text unique;

alter table auth_events drop constraint auth_events_event_check;
alter table auth_events add constraint auth_events_event_check check (event in (
    'signed_in', 'sign_in_failed', 'refresh_reused', 'signed_out',
    'staff_created', 'staff_disabled', 'staff_enabled', 'phone_bound'));
