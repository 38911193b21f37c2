-- The KPI report without a lookup of every rated order.
--
-- The resolution and satisfaction rates count a period's ratings, grouped by their order's
-- agency, district, category or channel. Reading those from the order made the report join each
-- rating to `work_orders`: over the bench's 10M orders (490k ratings in the month) PostgreSQL
-- either read the whole table to hash-join it (3.2-4.0 s of the report's 4.6-5.6 s) or probed it
-- 490k times at random (2.7 s). Each rating now carries its order's four group columns, kept
-- equal to the order's by triggers, so the figures still follow the order exactly as before
-- (a rating moves with its order when the centre reassigns or reclassifies it) and the report
-- reads the ratings alone.
alter table ratings
    add column order_agency_id   text,
    add column order_district_id text,
    add column order_category_id text,
    add column order_channel     text;

update ratings r
set order_agency_id = o.agency_id, order_district_id = o.district_id,
    order_category_id = o.category_id, order_channel = o.channel
from work_orders o
where o.work_order_id = r.work_order_id;

alter table ratings
    alter column order_category_id set not null,
    alter column order_channel set not null;

-- A new rating takes its order's columns. A rating is written in the transaction that holds its
-- order `for update` (the lifecycle's `load_for_update`), so the order cannot change between this
-- read and the commit, and a change made before is seen. (Locking the order here as well, `for
-- share`, made each insert of a bulk load 2.3 times as slow: it writes every order it locks.)
create function ratings_take_order_groups() returns trigger
language plpgsql as $$
begin
    select o.agency_id, o.district_id, o.category_id, o.channel
    into new.order_agency_id, new.order_district_id, new.order_category_id, new.order_channel
    from work_orders o
    where o.work_order_id = new.work_order_id;
    return new;
end;
$$;

create trigger ratings_take_order_groups
before insert on ratings
for each row execute function ratings_take_order_groups();

-- A change of an order's group columns reaches its ratings in the same transaction.
create function work_orders_groups_to_ratings() returns trigger
language plpgsql as $$
begin
    update ratings
    set order_agency_id = new.agency_id, order_district_id = new.district_id,
        order_category_id = new.category_id, order_channel = new.channel
    where work_order_id = new.work_order_id;
    return null;
end;
$$;

create trigger work_orders_groups_to_ratings
after update of agency_id, district_id, category_id, channel on work_orders
for each row
when (old.agency_id is distinct from new.agency_id
      or old.district_id is distinct from new.district_id
      or old.category_id is distinct from new.category_id
      or old.channel is distinct from new.channel)
execute function work_orders_groups_to_ratings();

-- The report's orders archived without a rating (the follow-up never reached the citizen), by
-- time: without it every report read the whole history of every order (several events each).
create index work_order_events_not_reached on work_order_events (created_at)
    where event = 'not_reached_archived';
