-- The work-order lifecycle: who holds an order, until when, and what is pending. The rules live
-- in crates/workorder (lifecycle.rs); these columns are its `Order`.

alter table work_orders drop constraint work_orders_status_check;
alter table work_orders add constraint work_orders_status_check check (status in (
    'received', 'dispatched', 'signed', 'in_progress', 'return_requested', 'replied',
    'awaiting_rating', 'redo_requested', 'archived', 'closed_direct', 'handed_over', 'informed', 'merged'
));

alter table work_orders
    add column agency_id text references agencies (agency_id),
    -- The clock starts at dispatch, not at signing.
    add column dispatched_at timestamptz,
    add column deadline_at timestamptz,
    -- Where a return request came from, to go back there if the centre refuses it.
    add column status_before_return text,
    add column returns_count int not null default 0 check (returns_count >= 0),
    add column contacted_at timestamptz,
    add column redo_count int not null default 0 check (redo_count >= 0),
    add column extension_until timestamptz,
    add column extension_reason text,
    add constraint work_orders_held_by_an_agency check (
        status in ('received', 'closed_direct', 'handed_over', 'informed', 'merged')
        or (agency_id is not null and deadline_at is not null)
    );

-- An agency's inbox: its open orders, soonest deadline first.
create index work_orders_agency_inbox on work_orders (agency_id, deadline_at)
    where status in ('dispatched', 'signed', 'in_progress', 'return_requested');
-- The operators' queue: orders waiting to be dispatched, oldest first.
create index work_orders_waiting on work_orders (created_at) where status = 'received';

alter table work_order_events
    add column previous_deadline timestamptz;

-- How long agencies have, by category. A category without a row inherits its parent's.
create table category_time_limits (
    category_id   text primary key references categories (category_id),
    hours         int check (hours > 0),
    working_days  int check (working_days > 0),
    created_at    timestamptz not null default now(),
    constraint category_time_limits_one_unit check ((hours is null) <> (working_days is null))
);

-- Days that are not ordinary: public holidays (weekdays off) and weekend days made working
-- days (调休), as the State Council publishes them each year.
create table business_calendar (
    day         date primary key,
    kind        text not null check (kind in ('holiday', 'workday')),
    name        text not null,
    created_at  timestamptz not null default now()
);
