-- Which orders show each photo: the filing, supplement, visit or reply that names it records it
-- here in its own transaction (`order_store::photos::attach`). A photo is read only by who
-- uploaded it and by those the orders naming it are shown to (the centre; the agency holding
-- one, or asked to help with it; the citizen who filed it), no longer by anyone signed in who
-- has its link (intake's `photos::read`). Deferred: a filing names its photos before its order's
-- row is written, in the same transaction.
create table photo_uses (
    photo_id uuid not null references photos on delete cascade,
    work_order_id uuid not null references work_orders deferrable initially deferred,
    primary key (photo_id, work_order_id)
);
-- The photos every order already names: its filing's, its supplements', its visits' and its
-- replies'. None was named before the first photo was kept (migration 83).
insert into photo_uses (photo_id, work_order_id)
select distinct p.photo_id, named.work_order_id
from (
    select work_order_id, unnest(photo_urls) as link from work_orders
    where created_at >= (select min(created_at) from photos)
    union all
    select work_order_id, unnest(photo_urls) from work_order_supplements
    where created_at >= (select min(created_at) from photos)
    union all
    select work_order_id, unnest(photo_urls) from work_order_visits
    where created_at >= (select min(created_at) from photos)
    union all
    select e.work_order_id, unnest(r.photo_urls)
    from work_order_event_photos r join work_order_events e using (work_order_event_id)
) named
join photos p
  on named.link ~ '^/api/v1/photos/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
 and p.photo_id = substr(named.link, 16)::uuid;
