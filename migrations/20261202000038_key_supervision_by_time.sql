-- The period report counts the orders that came under key supervision (重点督办) in the period and
-- the period before: few among all orders, found by when through this index of them alone.
create index work_orders_key_supervised on work_orders (key_supervised_at) where key_supervised_at is not null;
