-- Early warnings (预警): every request is analysed as it comes, and a problem that surges in a
-- district — a top-level category's requests of the last 24 hours at least 5 and at least three
-- times its daily average over the 7 days before — is a warning to every supervisor, once a
-- (China) day for each category and district, kept here for the list.
create table early_warnings (
    early_warning_id  bigint generated always as identity primary key,
    category_id       text not null references categories (category_id),
    district_id       text not null references districts (district_id),
    -- The China day it was raised on: a surge that goes on warns again the next day.
    warned_on         date not null,
    -- Requests in the 24 hours before it was raised, and in the 7 days before those.
    received          int not null,
    received_before   int not null,
    created_at        timestamptz not null default now(),
    unique (category_id, district_id, warned_on)
);

create index early_warnings_by_time on early_warnings (created_at);

insert into notification_templates (kind, audience, title, body, fallback) values
    ('early_warning', 'staff', '诉求激增预警',
     '{title}，请关注研判。',
     false);
