-- The open orders by deadline, for the supervisors' overdue list (`GET /api/v1/supervision/overdue`,
-- longest overdue first): read from the oldest missed deadline up to now, and nothing else. The
-- agencies' inbox index serves the list of one agency; without this one, the whole city's list
-- would go through the index of every order ever dispatched (`work_orders_due`), past every closed
-- order with an earlier deadline.
create index work_orders_open_by_deadline on work_orders (deadline_at, work_order_id)
    where status in ('dispatched', 'signed', 'in_progress', 'return_requested');
