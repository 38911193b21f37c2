-- Co-handling (协办): the centre asks other agencies to help the one holding an order with their
-- part of the matter, and the holder replies only when each has given its opinion, so that a
-- matter needing several agencies is carried out instead of bounced between them (推诿扯皮).
-- One row per request for help; one taken back (or whose agency came to hold the order) stays,
-- marked cancelled, so that the record is whole; at most one live request per order and agency.
create table work_order_co_handlers (
    work_order_co_handler_id bigint generated always as identity primary key,
    work_order_id  uuid not null references work_orders (work_order_id),
    agency_id      text not null references agencies (agency_id),
    request        text not null check (char_length(request) between 1 and 2000),
    asked_by       text not null,
    asked_at       timestamptz not null,
    -- When its opinion is due: `co_handling_working_days` working days after it was asked, or at
    -- the order's deadline if that comes first and is still ahead. Past it unanswered, its staff
    -- are told once (`overdue_notified_at`, by the every-minute overdue run).
    due_at         timestamptz not null,
    overdue_notified_at timestamptz,
    opinion        text check (char_length(opinion) between 1 and 2000),
    answered_by    text,
    answered_at    timestamptz,
    cancel_reason  text check (char_length(cancel_reason) between 1 and 2000),
    cancelled_by   text,
    cancelled_at   timestamptz,
    check ((opinion is null) = (answered_at is null) and (answered_at is null) = (answered_by is null)),
    check ((cancelled_at is null) = (cancel_reason is null) and (cancelled_at is null) = (cancelled_by is null))
);

create unique index work_order_co_handlers_live on work_order_co_handlers (work_order_id, agency_id)
    where cancelled_at is null;

-- An agency's requests for help still to answer: its co-handling tasks.
create index work_order_co_handlers_waiting on work_order_co_handlers (agency_id, work_order_id)
    where answered_at is null and cancelled_at is null;

-- The requests still to be told they are late, as the overdue run asks for them.
create index work_order_co_handlers_to_tell on work_order_co_handlers (due_at)
    where answered_at is null and cancelled_at is null and overdue_notified_at is null;

insert into notification_templates (kind, audience, title, body, fallback) values
    ('task_co_handling', 'staff', '协办任务',
     '工单 {tracking_number}：{title} 请贵单位协助办理，并在 {deadline} 前提出协办意见。',
     false),
    ('co_opinion', 'staff', '协办意见',
     '工单 {tracking_number}：{title} 协办单位已提出协办意见，请查看。',
     false),
    ('co_handling_cancelled', 'staff', '协办已取消',
     '工单 {tracking_number}：{title} 热线中心已取消对贵单位的协办请求，无需再提出意见。',
     false),
    ('co_handling_overdue', 'staff', '协办意见超期',
     '工单 {tracking_number}：{title} 贵单位的协办意见应于 {deadline} 前反馈，现已超期，请尽快反馈。',
     false);
