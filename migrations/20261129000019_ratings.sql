-- Citizens' ratings: one per round (the first handling, then each redo), within a window after
-- the reply passed audit. The rating event's history row says the same in words; this table is
-- what the KPIs count.
create table ratings (
    work_order_id  uuid not null references work_orders (work_order_id),
    -- 1 for the first handling, 2 after the first redo, ...
    round          int not null check (round >= 1),
    satisfaction   text not null check (satisfaction in ('satisfied', 'basically_satisfied', 'unsatisfied')),
    solved         text not null check (solved in ('yes', 'partly', 'no')),
    comment        text check (char_length(comment) <= 500),
    -- Who recorded it: the citizen in the app, or an operator who called them (a follow-up).
    rated_by       text not null,
    channel        text not null check (channel in ('app', 'phone')),
    created_at     timestamptz not null default now(),
    primary key (work_order_id, round)
);

-- When the order began waiting for its rating (its reply passed audit); the window runs from here.
alter table work_orders add column awaiting_rating_since timestamptz;
