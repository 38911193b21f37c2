-- Staff search the orders (工单查询): by the caller's number, by words, by status, place and
-- agency. A caller's orders are theirs as a citizen (`work_orders_citizen_newest`) or name their
-- number as the contact; the second needs its own index.
create index work_orders_by_contact_phone on work_orders (contact_phone);

-- Append-only: who looked up which number's orders, and when. A number ties a person to their
-- requests, so each lookup is recorded as a showing of the number is (`phone_reveals`).
create table phone_searches (
    phone_search_id  bigint generated always as identity primary key,
    phone            text not null,
    subject          text not null,
    role             text not null,
    found            integer not null,
    created_at       timestamptz not null default now()
);

create trigger phone_searches_no_change
    before update or delete on phone_searches
    for each row execute function work_order_events_append_only();

alter view audit_log rename to audit_log_before_phone_searches;
create view audit_log as
    select * from audit_log_before_phone_searches
    union all
    select created_at, subject, 'orders_searched_by_phone', phone,
           jsonb_build_object('role', role, 'found', found)
    from phone_searches;
