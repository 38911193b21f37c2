-- Staff sign-in: accounts with argon2id password hashes, rotating refresh tokens, and the
-- authentication events that the audit log shows beside the other changes it records.

create table staff_accounts (
    username       text primary key check (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    display_name   text not null check (char_length(display_name) between 1 and 50),
    role           text not null check (role in ('operator', 'agency_staff', 'supervisor', 'leader', 'admin')),
    agency_id      text references agencies (agency_id),
    -- A PHC string: $argon2id$v=19$m=...,t=...,p=...$salt$hash.
    password_hash  text not null check (password_hash like '$argon2id$%'),
    disabled_at    timestamptz,
    created_by     text not null,
    created_at     timestamptz not null default now(),
    constraint staff_accounts_agency_for_agency_staff check ((role = 'agency_staff') = (agency_id is not null))
);

-- Refresh tokens, stored only as their SHA-256. Each sign-in starts a family; each refresh spends
-- one token and issues the next in the family. A spent token presented again means it was stolen
-- (or replayed): the whole family is revoked.
create table refresh_tokens (
    token_hash   text primary key,
    family_id    uuid not null,
    subject      text not null,
    role         text not null,
    agency_id    text,
    issued_at    timestamptz not null default now(),
    expires_at   timestamptz not null,
    spent_at     timestamptz,
    revoked_at   timestamptz
);

create index refresh_tokens_by_family on refresh_tokens (family_id);
create index refresh_tokens_by_subject on refresh_tokens (subject) where revoked_at is null;

-- Sign-ins, failed sign-ins, refresh-token reuse, sign-outs, and staff account changes.
create table auth_events (
    auth_event_id  bigint generated always as identity primary key,
    event          text not null check (event in (
        'signed_in', 'sign_in_failed', 'refresh_reused', 'signed_out',
        'staff_created', 'staff_disabled', 'staff_enabled')),
    -- Who acted: the user signing in, or the administrator changing an account.
    actor          text not null,
    -- Whom it concerns: the account.
    target         text,
    client_addr    text,
    detail         jsonb,
    created_at     timestamptz not null default now()
);

-- Failed sign-ins of one user, recent first: the brute-force limit counts these.
create index auth_events_failures on auth_events (target, created_at) where event = 'sign_in_failed';

create trigger auth_events_no_change
    before update or delete on auth_events
    for each row execute function work_order_events_append_only();

-- One audit log for administrators, over the append-only records each part keeps.
create view audit_log as
    select created_at as at, actor, event as action, target, detail
    from auth_events
    union all
    select created_at, actor, 'dispatch_rule_' || change, dispatch_rule_id::text, rule
    from dispatch_rule_changes
    union all
    select created_at, actor, 'calendar_' || change, day::text, jsonb_build_object('before', before, 'after', after)
    from business_calendar_changes
    union all
    select r.created_at, r.subject, 'contact_phone_revealed', o.tracking_number,
           jsonb_build_object('role', r.role, 'agency', r.agency_id)
    from phone_reveals r join work_orders o on o.work_order_id = r.work_order_id;
