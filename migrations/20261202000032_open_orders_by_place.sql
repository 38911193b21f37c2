-- The open orders by place, for the hot spots and the risk map (`GET /api/v1/supervision/hotspots`
-- and `/risk-map`): each district's and grid's open and overdue orders, read from this index alone
-- (with the category, for a map of one kind of problem). Open orders are a thin slice of the table
-- (one in fifty, in the bench's history), spread over its blocks; the agencies' inbox index
-- carries the district but not the grid. Orders waiting for dispatch are not in it, so filing
-- does not write to it.
create index work_orders_open_by_place on work_orders (district_id, grid_id)
    include (deadline_at, category_id)
    where status in ('dispatched', 'signed', 'in_progress', 'return_requested');
