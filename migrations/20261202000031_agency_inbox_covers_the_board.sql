-- The agencies' inbox index carries what the supervision board counts, so that the board reads
-- the index alone.
--
-- The board (`GET /api/v1/supervision/board`) counts every open order by agency or district: its
-- deadline, whether it is urgent, under supervision or asked to be returned. Through the inbox
-- index it still fetched each order's row from the table, and open orders are spread thinly among
-- the closed ones (one in fifty, in the bench's history), so each row was a block of its own:
-- measured with 40k open among 2M orders, 40k blocks read and 190-225 ms a board; with the columns
-- in the index, an index-only scan, 13-16 ms by agency and 15 ms by district (EXPLAIN ANALYZE in
-- psql, after vacuum). The key is the same, so the agencies' task lists (one agency, soonest
-- deadline first) use it as before; the index grows from 3.0 to 3.2 MB there.
drop index work_orders_agency_inbox;
create index work_orders_agency_inbox on work_orders (agency_id, deadline_at)
    include (urgent, supervised_at, status, district_id)
    where status in ('dispatched', 'signed', 'in_progress', 'return_requested');
