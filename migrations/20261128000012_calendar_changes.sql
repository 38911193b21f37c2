-- The business calendar is kept by the centre's administrators through the API (each year's
-- State Council notice is published in the autumn before); every change is logged, append-only.
create table business_calendar_changes (
    business_calendar_change_id  bigint generated always as identity primary key,
    day                          date not null,
    change                       text not null check (change in ('set', 'deleted')),
    -- The day's entry before and after the change (null where there was none).
    before                       jsonb,
    after                        jsonb,
    actor                        text not null,
    created_at                   timestamptz not null default now()
);

create trigger business_calendar_changes_no_change
    before update or delete on business_calendar_changes
    for each row execute function work_order_events_append_only();
