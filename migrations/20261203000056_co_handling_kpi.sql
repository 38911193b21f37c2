-- The requests for help (协办) due in a period, for the KPI of opinions given on time
-- (协办按时反馈率, `co_handling_on_time`).
create index work_order_co_handlers_by_due on work_order_co_handlers (due_at);
