-- An agency's orders, newest first: its staff's search (`GET /api/v1/orders`, all its orders
-- of the span, of every status) and the centre's search of one agency's orders read a page of
-- them, not the orders of every agency until the page is full.
--
-- Through `work_orders_newest`, PostgreSQL read every order of the span newest first and kept
-- the agency's: about as many orders as a page over the agency's share of them (20000 for a
-- page of 20 of an agency holding one order in a thousand; 9 ms over a million orders), and
-- for an agency with fewer than a page in the span, every order of it (the last 30 days of a
-- city filing ten million a year, 830000). Only orders held by an agency are in the index.
create index work_orders_agency_newest on work_orders (agency_id, created_at desc, work_order_id desc)
    where agency_id is not null;

-- The orders each agency is asked to help with (协办) and not taken back, answered or not: the
-- other half of its staff's search. The index of those still to answer
-- (`work_order_co_handlers_waiting`) holds only the open part of them, and the one of live
-- requests (`work_order_co_handlers_live`) is by order first: an agency's were found by reading
-- all of it.
create index work_order_co_handlers_by_agency on work_order_co_handlers (agency_id, work_order_id)
    where cancelled_at is null;
