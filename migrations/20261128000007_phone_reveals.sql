-- Citizens' phone numbers are shown only on request, and every showing is recorded.

-- The staff member who signed for the order: the assigned handler, the only one who may see a
-- confidential order's contact (for example on the psychological-support line).
alter table work_orders add column handler_subject text;

-- Append-only: who saw which order's contact number, and when.
create table phone_reveals (
    phone_reveal_id  bigint generated always as identity primary key,
    work_order_id    uuid not null references work_orders (work_order_id),
    subject          text not null,
    role             text not null,
    agency_id        text,
    created_at       timestamptz not null default now()
);

create index phone_reveals_by_order on phone_reveals (work_order_id, phone_reveal_id);

create trigger phone_reveals_no_change
    before update or delete on phone_reveals
    for each row execute function work_order_events_append_only();
