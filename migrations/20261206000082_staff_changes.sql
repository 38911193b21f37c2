-- Administrators change a staff account's name, role or agency (`PUT /api/v1/admin/staff/{username}`):
-- someone moves to another agency, is promoted, or had their name mistyped. Before, the only way
-- was a new account under a new username, which broke the history's names. Each change is in the
-- audit log (`staff_changed`, with the account before and after).
alter table auth_events drop constraint auth_events_event_check;
alter table auth_events add constraint auth_events_event_check check (event in (
    'signed_in', 'sign_in_failed', 'refresh_reused', 'signed_out',
    'staff_created', 'staff_disabled', 'staff_enabled', 'phone_bound',
    'partner_created', 'partner_key_issued', 'partner_revoked', 'account_cancelled',
    'password_changed', 'password_reset', 'staff_changed'));
