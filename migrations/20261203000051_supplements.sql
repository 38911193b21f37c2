-- What a citizen adds to a request after filing it (补充说明): words and photos, in the app or
-- through an operator on the phone. Append-only; each with its `supplemented` history event, and
-- the holding agency's staff told (`task_supplemented`) in the same transaction.
create table work_order_supplements (
    work_order_supplement_id bigint generated always as identity primary key,
    work_order_id  uuid not null references work_orders (work_order_id),
    text           text not null check (char_length(text) between 1 and 2000),
    photo_urls     text[] not null default '{}' check (cardinality(photo_urls) <= 9),
    subject        text not null,
    role           text not null,
    created_at     timestamptz not null default now()
);

create index work_order_supplements_by_order on work_order_supplements (work_order_id, work_order_supplement_id);

create trigger work_order_supplements_no_change
    before update or delete on work_order_supplements
    for each row execute function work_order_events_append_only();

insert into notification_templates (kind, audience, title, body, fallback) values
    ('task_supplemented', 'staff', '市民补充诉求',
     '工单 {tracking_number}：{title} 市民补充了新的情况，请查看后办理，办结时限 {deadline}。',
     false);
