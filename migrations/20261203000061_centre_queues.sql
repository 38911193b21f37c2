-- The centre's queues (`GET /api/v1/centre/queue?kind=`) read the few orders in one state out of
-- millions: each through a partial index of its own, as the dispatch queue already does
-- (`work_orders_waiting`), not a scan of every order. Keyed by filing time, which never changes,
-- so that updates that leave the state alone stay heap-only.
create index work_orders_returns_waiting on work_orders (created_at) where status = 'return_requested';
create index work_orders_extensions_waiting on work_orders (created_at) where extension_until is not null;
create index work_orders_replies_waiting on work_orders (created_at) where status = 'replied';
create index work_orders_redos_waiting on work_orders (created_at) where status = 'redo_requested';
