-- The every-minute deadline-warning sweep, indexed by each order's warning window.
--
-- The sweep looked for open orders in the last fifth of their time through an index on the
-- deadline: every order not yet due, warned or not, was read on every run, because whether one
-- has reached four-fifths of its time depends on its own dispatch time. Measured by the bench:
-- 38 ms a run at 100k open orders, 362 ms at 1M, every minute, to find a handful.
--
-- `warn_at` (four-fifths of the way from dispatch to deadline) is kept by a trigger, as a
-- generated column cannot be: adding an interval to a timestamptz depends on the time zone, so
-- PostgreSQL does not take it for immutable. The index holds each order still to be warned by its
-- window [warn_at, deadline), so a run finds the windows that contain now and reads nothing else:
-- not the orders whose window is still ahead, nor those whose deadline passed unwarned (an index
-- on warn_at alone kept reading those: 146 ms a run with the report's 200k overdue open orders).
alter table work_orders add column warn_at timestamptz;

create function work_orders_warn_at() returns trigger
language plpgsql as $$
begin
    new.warn_at := new.dispatched_at + (new.deadline_at - new.dispatched_at) * 0.8;
    return new;
end
$$;

create trigger work_orders_warn_at
    before insert or update of dispatched_at, deadline_at on work_orders
    for each row execute function work_orders_warn_at();

-- Open orders only: a closed order is never warned again.
update work_orders set warn_at = dispatched_at + (deadline_at - dispatched_at) * 0.8
where status in ('dispatched', 'signed', 'in_progress');

-- `least`: a deadline before the dispatch (never made by the platform) must not fail a write.
drop index work_orders_deadline_warnings;
create index work_orders_deadline_warnings on work_orders
    using gist (tstzrange(least(warn_at, deadline_at), deadline_at))
    where status in ('dispatched', 'signed', 'in_progress') and warn_at is not null
      and warned_deadline is distinct from deadline_at;
