-- Leader answering days (领导接听日): every month a city leader, every week the head of a city
-- department or county, answers 12345 calls for half a day; the requests they take are followed up
-- with priority. Supervisors and administrators schedule the days; an operator filing a call the
-- leader took names the day (it must be under way), and the order is under supervision (督办) from
-- its dispatch; the supervision component lists the days with what became of their requests.
create table leader_days (
    leader_day_id  bigint generated always as identity primary key,
    leader_name    text not null check (length(leader_name) between 1 and 50),
    -- As citizens would hear it: 市长, 市住房和城乡建设局局长, 西平县县长.
    leader_title   text not null check (length(leader_title) between 1 and 100),
    -- A department head's or county head's own agency, whose orders they answer for.
    agency_id      text references agencies (agency_id),
    starts_at      timestamptz not null,
    ends_at        timestamptz not null,
    created_by     text not null,
    created_at     timestamptz not null default now(),
    -- Half a day as a rule; a day at most.
    constraint leader_days_span check (ends_at > starts_at and ends_at <= starts_at + interval '1 day')
);

-- The latest first, for the supervisors' list.
create index leader_days_by_start on leader_days (starts_at);

alter table work_orders add column leader_day_id bigint references leader_days (leader_day_id);

-- A day's requests, for its line in the list (few: one half-day's calls).
create index work_orders_by_leader_day on work_orders (leader_day_id) where leader_day_id is not null;
