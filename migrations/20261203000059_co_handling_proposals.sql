-- The holding agency asks the centre for another agency's help (申请协办): it knows best whose
-- part of the matter it cannot do. One request at a time waits on the order, for the centre to
-- agree (by asking that agency, `ask_co_handling`) or refuse with a reason, which the holder's
-- staff are told.
alter table work_orders
    add column co_handling_proposed_agency text references agencies (agency_id),
    add column co_handling_proposed_at timestamptz,
    add column co_handling_proposal_note text,
    add constraint co_handling_proposal_whole check (
        (co_handling_proposed_agency is null) = (co_handling_proposed_at is null)
        and (co_handling_proposed_agency is null) = (co_handling_proposal_note is null));

-- The centre's queue of them (`GET /api/v1/centre/queue?kind=co_handling`).
create index work_orders_co_handling_proposed on work_orders (co_handling_proposed_at)
    where co_handling_proposed_agency is not null;

insert into notification_templates (kind, audience, title, body, fallback) values
    ('co_handling_proposal_refused', 'staff', '协办申请未获同意',
     '工单 {tracking_number}：{title} 热线中心未同意协办申请（原因见工单记录），请在 {deadline} 前办结。',
     false);
