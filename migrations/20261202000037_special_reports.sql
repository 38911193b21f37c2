-- Special public-opinion reports (舆情专报): the centre gathers what citizens said about one
-- matter in a span of days (the requests whose title or description holds one of its keywords, or
-- of its category), with the figures by day, district, category and channel, what became of the
-- requests and the cases most citizens raised, adds its analysis, and issues it to the city's
-- leaders under a number of the year (舆情专报 2026年第3期). The figures are kept as issued: a
-- report read a year later says what its readers read then.
create table special_reports (
    special_report_id  bigint generated always as identity primary key,
    -- The year of issue (China Standard Time) and the issue's number in it, from 1.
    year         int not null,
    issue        int not null check (issue >= 1),
    title        text not null check (char_length(title) between 1 and 100),
    commentary   text check (char_length(commentary) <= 2000),
    -- The topic report (`mobile_api::TopicReport`) as computed when it was issued.
    report       jsonb not null,
    issued_by    text not null,
    issued_at    timestamptz not null default now(),
    unique (year, issue)
);

-- The latest first, for the list.
create index special_reports_by_issue_time on special_reports (issued_at);

-- Every leader and supervisor hears of a new issue (not the one who issued it); in their inbox
-- and on their phones. `{title}` is the issue's heading and title.
insert into notification_templates (kind, audience, title, body, fallback) values
    ('special_report', 'staff', '舆情专报',
     '{title}已印发，请查阅。',
     false);

-- The audit log names who issued each one from migration 39, which restates the view once for
-- the leader days and the special reports together.
