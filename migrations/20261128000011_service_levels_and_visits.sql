-- The fast channel's service levels (快速通道): an urgent order's citizen is contacted within 30
-- minutes of dispatch and someone is on site within 2 hours (the 6-hour report-back is its
-- deadline). And what agency staff record on site: a note, photos, and where they stood.

alter table work_orders
    add column contact_due_at timestamptz,
    add column on_site_due_at timestamptz,
    -- The first visit on site.
    add column visited_at timestamptz;

create table work_order_visits (
    work_order_visit_id  bigint generated always as identity primary key,
    work_order_id        uuid not null references work_orders (work_order_id),
    actor                text not null,
    note                 text not null check (char_length(note) between 1 and 2000),
    photo_urls           text[] not null default '{}' check (cardinality(photo_urls) <= 9),
    lat                  double precision check (lat between -90 and 90),
    lng                  double precision check (lng between -180 and 180),
    location             geography(Point, 4326) generated always as (
        case when lat is not null and lng is not null
             then st_setsrid(st_makepoint(lng, lat), 4326)::geography end
    ) stored,
    created_at           timestamptz not null default now(),
    constraint work_order_visits_both_coordinates check ((lat is null) = (lng is null))
);

create index work_order_visits_by_order on work_order_visits (work_order_id, work_order_visit_id);

create trigger work_order_visits_no_change
    before update or delete on work_order_visits
    for each row execute function work_order_events_append_only();
