-- An agency asked to help with an order (协办) appeals its own case too: an opinion given late, or
-- not at all by its due time, that should not count against it (the holder sent the wrong
-- agency, the materials it needed came late). Its case is the request for help, by its due time
-- (a new due time, when the order's deadline moves, is a new case), as the co-handling figure
-- counts it (`order_store::kpis::cases_sql`); `round` is the request's number on the order, and
-- `deadline_at` the due time.
alter table kpi_appeals drop constraint kpi_appeals_kpi_check;
alter table kpi_appeals add constraint kpi_appeals_kpi_check check (kpi in (
    'on_time_completion', 'response', 'satisfaction', 'resolution', 'co_handling_on_time'));
-- The deadline's check (named by PostgreSQL when migration 77 made it): the on-time rate's and a
-- request for help's cases have one, no other.
alter table kpi_appeals drop constraint kpi_appeals_check;
alter table kpi_appeals add constraint kpi_appeals_deadline_check
    check ((kpi in ('on_time_completion', 'co_handling_on_time')) = (deadline_at is not null));
alter table kpi_appeals add column co_handler_id bigint
    references work_order_co_handlers (work_order_co_handler_id);
alter table kpi_appeals add constraint kpi_appeals_co_handling_names_its_request
    check ((kpi = 'co_handling_on_time') = (co_handler_id is not null));
-- The KPIs join the approved ones to their requests.
create index kpi_appeals_by_request on kpi_appeals (co_handler_id) where co_handler_id is not null;
