-- Places (PostGIS): where a problem is, and which district and grid (网格, the city's
-- grid-management cells) it falls in. Work orders keep the coordinates the citizen gave (WGS-84);
-- the geography point is derived from them, so the two can never disagree.

create extension if not exists postgis;

alter table districts
    add column boundary geometry(MultiPolygon, 4326),
    -- Where the shape came from: 'approximate' for the shipped demo shapes, else the imported file.
    add column boundary_source text;

create index districts_boundary on districts using gist (boundary);

create table grids (
    grid_id          text primary key,
    name             text not null,
    district_id      text not null references districts (district_id),
    boundary         geometry(MultiPolygon, 4326) not null,
    boundary_source  text not null,
    created_at       timestamptz not null default now()
);

create index grids_boundary on grids using gist (boundary);

alter table work_orders
    add column location geography(Point, 4326) generated always as (
        case when lat is not null and lng is not null
             then st_setsrid(st_makepoint(lng, lat), 4326)::geography end
    ) stored,
    add column grid_id text references grids (grid_id);

-- "Is this already reported nearby?": open orders only, by place.
create index work_orders_open_location on work_orders using gist (location)
    where status not in ('archived', 'closed_direct', 'handed_over', 'informed', 'merged');

-- APPROXIMATE demo boundaries for Zhumadian. They are NOT the legal boundaries: each county's
-- area is the Voronoi cell of its county seat (approximate coordinates) inside the city's
-- bounding box, and the three functional zones are 3 km discs carved out of 驿城区. They are good
-- enough to show the platform resolving places; load the city's real boundaries with
-- `hotline places import` (see the README).
with seats (district_id, lng, lat) as (values
        ('yicheng',   114.00, 32.97),
        ('xiping',    114.02, 33.38),
        ('shangcai',  114.26, 33.26),
        ('pingyu',    114.62, 32.96),
        ('zhengyang', 114.39, 32.61),
        ('queshan',   114.03, 32.80),
        ('biyang',    113.33, 32.72),
        ('runan',     114.36, 33.00),
        ('suiping',   114.01, 33.15),
        ('xincai',    114.98, 32.75)),
    city (box) as (select st_makeenvelope(113.17, 32.30, 115.20, 33.58, 4326)),
    cells as (
        select (st_dump(st_voronoipolygons(st_collect(st_setsrid(st_makepoint(lng, lat), 4326)), 0, (select box from city)))).geom as cell
        from seats)
update districts d
set boundary = st_multi(st_intersection(c.cell, (select box from city))),
    boundary_source = 'approximate'
from cells c, seats s
where s.district_id = d.district_id
  and st_contains(c.cell, st_setsrid(st_makepoint(s.lng, s.lat), 4326));

with zones (district_id, lng, lat) as (values
        ('kaifaqu',  113.99, 32.94),
        ('gaoxinqu', 114.07, 33.03),
        ('yitihua',  114.13, 32.98))
update districts d
set boundary = st_multi(st_intersection(
        st_buffer(st_setsrid(st_makepoint(z.lng, z.lat), 4326)::geography, 3000)::geometry,
        (select boundary from districts where district_id = 'yicheng'))),
    boundary_source = 'approximate'
from zones z
where z.district_id = d.district_id;

update districts
set boundary = st_multi(st_collectionextract(st_difference(boundary,
        (select st_union(boundary) from districts where kind = 'zone')), 3))
where district_id = 'yicheng';

-- Demo grids: 驿城区's downtown cut into squares of 0.02° (about 2 km), each clipped to the
-- district. Real grids come from the city's grid-management system through the import command.
insert into grids (grid_id, name, district_id, boundary, boundary_source)
select format('yicheng-%s-%s', g.i - min(g.i) over (), g.j - min(g.j) over ()),
       format('驿城区示范网格 %s-%s', g.i - min(g.i) over (), g.j - min(g.j) over ()),
       'yicheng',
       st_multi(st_collectionextract(st_intersection(g.geom, d.boundary), 3)),
       'approximate'
from st_squaregrid(0.02, st_makeenvelope(113.97, 32.93, 114.09, 33.03, 4326)) g
join districts d on d.district_id = 'yicheng' and st_intersects(g.geom, d.boundary)
where st_area(st_intersection(g.geom, d.boundary)) > 0;
