-- A request is withdrawn (撤回) before any agency has it: by the citizen who filed it, or by the
-- centre when the caller asks. Withdrawn is final, like the other ways an order ends unanswered
-- by an agency.
alter table work_orders drop constraint work_orders_status_check;
alter table work_orders add constraint work_orders_status_check check (status in (
    'received', 'dispatched', 'signed', 'in_progress', 'return_requested', 'replied',
    'awaiting_rating', 'redo_requested', 'archived', 'closed_direct', 'handed_over', 'informed', 'merged',
    'withdrawn'
));

alter table work_orders drop constraint work_orders_held_by_an_agency;
alter table work_orders add constraint work_orders_held_by_an_agency check (
    status in ('received', 'closed_direct', 'handed_over', 'informed', 'merged', 'withdrawn')
    or (agency_id is not null and deadline_at is not null)
);

-- Open orders by place, as `order_store::CLOSED_STATUSES` says which are closed.
drop index work_orders_open_location;
create index work_orders_open_location on work_orders using gist (location)
    where status not in ('archived', 'closed_direct', 'handed_over', 'informed', 'merged', 'withdrawn');

-- A request others' were merged into is not one citizen's to withdraw: the merged ones, found by
-- their parent (few orders are merged, so the index is small).
create index work_orders_by_merge_parent on work_orders (merged_into) where merged_into is not null;
