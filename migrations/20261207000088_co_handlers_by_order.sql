-- An order's requests for help (协办), every one of them, taken back or not, in the order asked.
--
-- Two statements read them so: the order's view lists them all (routing's `co_handling`), and
-- the co-handling KPI numbers each request on its order, counting those asked before it
-- (`order_store::kpis::CO_HANDLING_ROUND_SQL`, in the KPI report, its cases and the appeals).
-- The only index by order was of the live ones (`work_order_co_handlers_live`, for the rule of
-- one live request an agency), which neither can use: both read the whole table. Over 500000
-- requests for help (a city asking for help with one order in twenty, over a few years), an
-- order's view spent 51 ms on it, and the KPI report 29 ms on each request due in its month,
-- some twenty minutes for a month of 40000: past any statement's time limit.
create index work_order_co_handlers_by_order
    on work_order_co_handlers (work_order_id, work_order_co_handler_id);
