-- Partner systems (对接系统): the city's other systems — digital city management (数字城管), the
-- comprehensive-governance and environmental grids — file requests into the hotline and follow
-- them through the Open311 GeoReport v2 interface (`/open311/v2`), each with an API key an
-- administrator issued. The key is stored only as its SHA-256; a revoked key opens nothing.
create table partners (
    partner_id  text primary key check (partner_id ~ '^[a-z0-9][a-z0-9-]{1,39}$'),
    name        text not null check (char_length(name) between 1 and 100),
    key_hash    text not null unique,
    created_by  text not null,
    created_at  timestamptz not null default now(),
    revoked_at  timestamptz,
    revoked_by  text,
    constraint partners_revoked check ((revoked_at is null) = (revoked_by is null))
);

-- What a partner filed comes in on a channel of its own, in the KPIs and reports beside the app,
-- the mini-program, the phone and the web.
alter table work_orders drop constraint work_orders_channel_check;
alter table work_orders add constraint work_orders_channel_check
    check (channel in ('app', 'wechat', 'phone', 'web', 'partner'));

-- A partner reads back only what it filed, newest first (`GET /open311/v2/requests`).
create index work_orders_by_partner on work_orders (filed_by, created_at desc)
    where channel = 'partner';

-- Issuing, replacing and revoking a key are in the audit log, beside the staff account changes.
alter table auth_events drop constraint auth_events_event_check;
alter table auth_events add constraint auth_events_event_check check (event in (
    'signed_in', 'sign_in_failed', 'refresh_reused', 'signed_out',
    'staff_created', 'staff_disabled', 'staff_enabled', 'phone_bound',
    'partner_created', 'partner_key_issued', 'partner_revoked'));
