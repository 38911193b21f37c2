-- Duplicates and followers, operators filing for callers, and a finer dispatch catalogue.

-- 并单: a request merged into an open duplicate points at it; its citizen then follows the parent.
alter table work_orders
    add column merged_into uuid references work_orders (work_order_id),
    add constraint work_orders_merged_has_parent check (status <> 'merged' or merged_into is not null),
    add constraint work_orders_not_merged_into_itself check (merged_into <> work_order_id);

-- Citizens who follow someone else's order: they chose to ("this is already reported nearby"),
-- or their own request was merged into it.
create table order_followers (
    work_order_id  uuid not null references work_orders (work_order_id),
    citizen_id     uuid not null references citizens (citizen_id),
    reason         text not null check (reason in ('followed', 'merged')),
    created_at     timestamptz not null default now(),
    primary key (work_order_id, citizen_id)
);

create index order_followers_by_citizen on order_followers (citizen_id);

-- Callers are citizens too: an operator's filing finds or adds the citizen by phone number.
alter table citizens add column phone text unique;

-- The numbers a call can come in on: 12345, and the older service hotlines that now ring it
-- (Zhumadian merged 32). A starting list of the national numbers; the city keeps its own.
create table hotline_numbers (
    number      text primary key check (number ~ '^[0-9]{3,12}$'),
    name        text not null,
    created_at  timestamptz not null default now()
);

insert into hotline_numbers (number, name) values
    ('12345', '政务服务便民热线'),
    ('12315', '市场监管投诉举报热线'),
    ('12316', '农业农村服务热线'),
    ('12317', '扶贫监督举报热线'),
    ('12318', '文化市场举报热线'),
    ('12319', '城建服务热线'),
    ('12320', '卫生健康热线'),
    ('12328', '交通运输服务监督热线'),
    ('12333', '人力资源和社会保障热线'),
    ('12336', '自然资源违法举报热线'),
    ('12338', '妇女维权公益服务热线'),
    ('12348', '公共法律服务热线'),
    ('12350', '安全生产举报投诉热线'),
    ('12351', '职工维权热线'),
    ('12355', '青少年服务台'),
    ('12358', '价格举报热线'),
    ('12365', '质量技术监督热线'),
    ('12369', '生态环境举报热线');

alter table work_orders
    add column hotline_number text references hotline_numbers (number),
    add constraint work_orders_hotline_number_by_phone check (hotline_number is null or channel = 'phone');

-- The catalogue by grid and by keyword. A rule names a district or a grid (never both: a grid
-- lies in one district), and may require one of its keywords in the title or description.
alter table dispatch_rules
    add column grid_id text references grids (grid_id),
    add column keywords text[] check (keywords is null or cardinality(keywords) between 1 and 20),
    drop constraint dispatch_rules_one_per_place,
    add constraint dispatch_rules_district_or_grid check (district_id is null or grid_id is null),
    add constraint dispatch_rules_one_per_place unique nulls not distinct (category_id, district_id, grid_id, keywords);
