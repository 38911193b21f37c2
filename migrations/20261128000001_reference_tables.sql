-- Reference data the hotline routes by: the city's districts and counties, the agencies that
-- handle work orders, and the two-level category taxonomy. The rows themselves come from the
-- next migrations, which an operator of another city replaces with their own.

create table districts (
    district_id   text primary key,          -- a stable code, e.g. 'yicheng'
    name          text not null unique,      -- 驿城区
    kind          text not null check (kind in ('district', 'county', 'zone')),
    sort_order    int not null default 0,
    created_at    timestamptz not null default now()
);

create table agencies (
    agency_id     text primary key,          -- a stable code, e.g. 'city-urban-management'
    name          text not null unique,
    -- The county or district an agency belongs to; null for city-level agencies.
    district_id   text references districts (district_id),
    kind          text not null check (kind in ('city_department', 'utility', 'district_government', 'county_government', 'zone_committee', 'other')),
    created_at    timestamptz not null default now()
);

create table categories (
    category_id   text primary key,          -- 'urban' (first level) or 'urban.streetlight' (second level)
    parent_id     text references categories (category_id),
    name          text not null,
    sort_order    int not null default 0,
    created_at    timestamptz not null default now(),
    -- Two levels: a second-level code is its parent's code, a dot, and its own part.
    constraint categories_two_levels check (
        (parent_id is null and category_id !~ '\.')
        or (parent_id is not null and category_id like parent_id || '.%' and category_id !~ '\..*\.')
    ),
    constraint categories_name_unique_in_parent unique (parent_id, name)
);
