-- Circulars of criticism (督办通报): a supervisor names, agency by agency, the orders left open
-- long past their deadline, under the year's next number (督办通报 2026年第2期); the named
-- agencies' staff, the city's leaders and the supervisors are told. What it named is kept as
-- issued, whatever happens to the orders after.
create table circulars (
    circular_id   bigint generated always as identity primary key,
    -- The year of issue (China Standard Time) and the issue's number in it, from 1.
    year          int not null,
    issue         int not null check (issue >= 1),
    title         text not null check (char_length(title) between 1 and 100),
    commentary    text check (char_length(commentary) between 1 and 2000),
    -- How many days past its deadline an open order had to be to be named.
    overdue_days  int not null check (overdue_days between 1 and 90),
    -- What it named (`mobile_api::CircularFigures`) as it stood when it was issued.
    figures       jsonb not null,
    issued_by     text not null,
    issued_at     timestamptz not null default now(),
    unique (year, issue)
);

-- The latest first, for the list.
create index circulars_by_issue_time on circulars (issued_at);

-- A notice of a circular names it, for the app to open.
alter table notifications add column circular_id bigint references circulars;

-- `{title}` is the circular's heading and title.
insert into notification_templates (kind, audience, title, body, fallback) values
    ('circular', 'staff', '督办通报',
     '{title}已印发，请查阅并督促整改。',
     false);

-- The audit log names who issued each circular.
alter view audit_log rename to audit_log_before_circulars;
create view audit_log as
    select * from audit_log_before_circulars
    union all
    select issued_at, issued_by, 'circular_issued', circular_id::text,
           jsonb_build_object('year', year, 'issue', issue, 'title', title,
                              'orders', figures->'orders')
    from circulars;
