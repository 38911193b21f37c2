-- The dispatch catalogue (派单目录): which agency handles which category, in which district.
-- A rule's category is a second-level category or a first-level one (covering its children); a
-- rule without a district covers the whole city. The most specific rule wins.
create table dispatch_rules (
    dispatch_rule_id  bigint generated always as identity primary key,
    category_id       text not null references categories (category_id),
    district_id       text references districts (district_id),
    agency_id         text not null references agencies (agency_id),
    created_by        text not null,
    created_at        timestamptz not null default now(),
    -- One rule per category and district; "whole city" is one district for this purpose.
    constraint dispatch_rules_one_per_place unique nulls not distinct (category_id, district_id)
);

-- Every change to the catalogue, append-only: who, when, and the rule before and after.
create table dispatch_rule_changes (
    dispatch_rule_change_id  bigint generated always as identity primary key,
    dispatch_rule_id         bigint not null,
    change                   text not null check (change in ('created', 'deleted')),
    actor                    text not null,
    rule                     jsonb not null,
    created_at               timestamptz not null default now()
);

create trigger dispatch_rule_changes_no_change
    before update or delete on dispatch_rule_changes
    for each row execute function work_order_events_append_only();

-- Zhumadian's catalogue, a starting set: utilities and city-wide services.
insert into dispatch_rules (category_id, district_id, agency_id, created_by) values
    ('utilities.water-supply',        null, 'utility-water',            'reference-data'),
    ('utilities.power-supply',        null, 'utility-power',            'reference-data'),
    ('utilities.gas-supply',          null, 'utility-gas',              'reference-data'),
    ('utilities.heating',             null, 'utility-heating',          'reference-data'),
    ('utilities.drainage',            null, 'utility-drainage',         'reference-data'),
    ('transport.bus',                 null, 'utility-bus',              'reference-data'),
    ('housing.housing-fund',          null, 'city-housing-fund',        'reference-data'),
    ('social.pension',                null, 'city-social-insurance',    'reference-data'),
    ('social.medical-insurance',      null, 'city-healthcare-security', 'reference-data'),
    ('market',                        null, 'city-market-regulation',   'reference-data'),
    ('public-safety.fire-hazard',     null, 'city-fire-rescue',         'reference-data'),
    ('psychological',                 null, 'city-psychological-support', 'reference-data');

insert into dispatch_rule_changes (dispatch_rule_id, change, actor, rule)
select dispatch_rule_id, 'created', created_by,
       jsonb_build_object('category', category_id, 'district', district_id, 'agency', agency_id)
from dispatch_rules;
