-- Citizens, work orders (工单), their append-only history, and idempotency keys.

create table citizens (
    citizen_id    uuid primary key,
    -- The principal's subject from the access token; real sign-in (SMS, WeChat) maps to it.
    subject       text not null unique,
    created_at    timestamptz not null default now()
);

-- Tracking-number serials. A sequence, not a per-day counter row: a counter row would serialise
-- every filing transaction on its lock.
create sequence work_order_serial;

create table work_orders (
    work_order_id    uuid primary key,
    tracking_number  text not null unique,
    citizen_id       uuid not null references citizens (citizen_id),
    -- Who filed it: the citizen, or an operator for a caller.
    filed_by         text not null,
    status           text not null check (status in ('received', 'dispatched', 'signed', 'in_progress', 'replied', 'closed', 'archived')),
    category_id      text not null references categories (category_id),
    title            text not null check (char_length(title) between 1 and 100),
    description      text not null check (char_length(description) between 1 and 2000),
    lat              double precision check (lat between -90 and 90),
    lng              double precision check (lng between -180 and 180),
    address          text check (char_length(address) <= 200),
    district_id      text references districts (district_id),
    contact_phone    text not null,
    channel          text not null check (channel in ('app', 'wechat', 'phone', 'web')),
    urgent           boolean not null default false,
    confidential     boolean not null default false,
    photo_urls       text[] not null default '{}',
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    constraint work_orders_location_given check ((lat is not null and lng is not null) or address is not null)
);

-- A citizen's list, newest first, paged by (created_at, work_order_id).
create index work_orders_citizen_newest on work_orders (citizen_id, created_at desc, work_order_id desc);

-- Append-only: rows are inserted with the state change they record, never updated or deleted.
create table work_order_events (
    work_order_event_id  bigint generated always as identity primary key,
    work_order_id        uuid not null references work_orders (work_order_id),
    event                text not null,
    actor                text not null,
    -- Internal notes for staff; the citizen's timeline never shows them.
    note                 text,
    created_at           timestamptz not null default now()
);

create index work_order_events_by_order on work_order_events (work_order_id, work_order_event_id);

create function work_order_events_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'work_order_events is append-only';
end;
$$;

create trigger work_order_events_no_change
    before update or delete on work_order_events
    for each row execute function work_order_events_append_only();

-- A retried request with the same key replays the first answer. Keys are per principal.
create table idempotency_keys (
    subject         text not null,
    idempotency_key text not null,
    -- sha-256 of the request body: the same key with another body is refused.
    request_hash    text not null,
    response_status int,
    response_body   jsonb,
    created_at      timestamptz not null default now(),
    primary key (subject, idempotency_key)
);
