-- Staff change their own password (`POST /api/v1/me/password`), and administrators set a new one
-- for someone who lost theirs (`POST /api/v1/admin/staff/{username}/password`). Before, a
-- password was the one the administrator chose when creating the account, for good: known to two
-- people, and a forgotten one could not be replaced.
--
-- `password_changed_at` is when its holder last chose it; null while it is one an administrator
-- chose (at creation or a reset), and then signing in says it should be changed
-- (`password_change_required`).
alter table staff_accounts add column password_changed_at timestamptz;

alter table auth_events drop constraint auth_events_event_check;
alter table auth_events add constraint auth_events_event_check check (event in (
    'signed_in', 'sign_in_failed', 'refresh_reused', 'signed_out',
    'staff_created', 'staff_disabled', 'staff_enabled', 'phone_bound',
    'partner_created', 'partner_key_issued', 'partner_revoked', 'account_cancelled',
    'password_changed', 'password_reset'));
