-- A citizen cancels their account (注销账号, `DELETE /api/v1/me`), as apps in China must let them
-- and as the Personal Information Protection Law gives them the right to: what the app knew of
-- them to sign them in and reach them goes (number, WeChat openid, phones, sign-ins, follows),
-- their requests stay on record and are still handled, and signing in again with that number,
-- theirs or one the carrier gave someone new, is a new account that sees none of them.
--
-- The row stays for the requests that name it, marked with when it was cancelled; its subject
-- becomes `cancelled:<citizen_id>`, so that nothing the old subject named leads to it.
alter table citizens add column cancelled_at timestamptz;

alter table auth_events drop constraint auth_events_event_check;
alter table auth_events add constraint auth_events_event_check check (event in (
    'signed_in', 'sign_in_failed', 'refresh_reused', 'signed_out',
    'staff_created', 'staff_disabled', 'staff_enabled', 'phone_bound',
    'partner_created', 'partner_key_issued', 'partner_revoked', 'account_cancelled'));
