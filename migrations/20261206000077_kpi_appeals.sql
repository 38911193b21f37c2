-- 考核申诉: an agency appeals one case that counts against it in the KPIs (an order past its
-- deadline, a late first contact, a citizen's rating that says unsatisfied or not solved) when it
-- holds the cause lay outside its power (the citizen asked for what the law does not allow, could
-- not be reached, asked to wait). A supervisor approves or refuses it, with the reason; an
-- approved appeal takes that one case out of that one figure (the report counts it as excluded,
-- and the drill-down names the appeal). One appeal per case, and it covers that case only: the
-- case is the order's, the figure's and (as the KPI cases number them, `order_store::kpis::cases_sql`)
-- the round's — the rating's round for satisfaction and resolution, 0 for an order's deadline or
-- first contact — and the agency's that held it, and for the on-time rate the deadline then in
-- force (an extension, a redo or a reassignment sets another, a new case), for the response rate
-- the dispatch (a reassignment is another).
create table kpi_appeals (
    kpi_appeal_id  bigint generated always as identity primary key,
    work_order_id  uuid not null references work_orders (work_order_id),
    kpi            text not null check (kpi in ('on_time_completion', 'response', 'satisfaction', 'resolution')),
    round          int not null check (round >= 0),
    agency_id      text not null references agencies (agency_id),
    reason         text not null check (char_length(reason) between 1 and 2000),
    filed_by       text not null,
    filed_at       timestamptz not null,
    decision       text check (decision in ('approved', 'refused')),
    decision_note  text check (char_length(decision_note) between 1 and 2000),
    decided_by     text,
    decided_at     timestamptz,
    deadline_at    timestamptz check ((kpi = 'on_time_completion') = (deadline_at is not null)),
    dispatched_at  timestamptz check ((kpi = 'response') = (dispatched_at is not null)),
    check ((decision is null) = (decided_at is null)
           and (decision is null) = (decided_by is null)
           and (decision is null) = (decision_note is null))
);

-- One appeal a case; the KPIs join the approved ones by the case's key and find at most one.
create unique index kpi_appeals_one_a_case on kpi_appeals
    (work_order_id, kpi, round, agency_id, coalesce(deadline_at, dispatched_at, '-infinity'));

-- The supervisors' list of appeals waiting, oldest first; an agency's own, newest first.
create index kpi_appeals_pending on kpi_appeals (kpi_appeal_id) where decision is null;
create index kpi_appeals_by_agency on kpi_appeals (agency_id, kpi_appeal_id);

-- A decided appeal stays as decided: the figures it changed, and the agency told, rest on it.
create function kpi_appeals_decided_once() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' or old.decision is not null then
        raise exception 'a decided KPI appeal is not changed' using errcode = 'P0001';
    end if;
    if (new.work_order_id, new.kpi, new.round, new.agency_id, new.reason, new.filed_by, new.filed_at)
       is distinct from (old.work_order_id, old.kpi, old.round, old.agency_id, old.reason, old.filed_by, old.filed_at)
       or new.deadline_at is distinct from old.deadline_at
       or new.dispatched_at is distinct from old.dispatched_at then
        raise exception 'an appeal''s case and reason are not changed' using errcode = 'P0001';
    end if;
    return new;
end $$;

create trigger kpi_appeals_decided_once
    before update or delete on kpi_appeals
    for each row execute function kpi_appeals_decided_once();

insert into notification_templates (kind, audience, title, body, fallback) values
    ('appeal_filed', 'staff', '考核申诉待审核',
     '工单 {tracking_number}：{title} 的承办单位提出考核申诉，请审核。{note}',
     false),
    ('appeal_approved', 'staff', '考核申诉已通过',
     '工单 {tracking_number}：{title} 的考核申诉已审核通过，该项不计入本单位考核。审核意见：{note}',
     false),
    ('appeal_refused', 'staff', '考核申诉未通过',
     '工单 {tracking_number}：{title} 的考核申诉未通过，仍计入本单位考核。审核意见：{note}',
     false);

-- A decision changes the figures agencies are assessed by: the audit log shows who decided what.
alter view audit_log rename to audit_log_before_appeals;
create view audit_log as
    select * from audit_log_before_appeals
    union all
    select a.decided_at, a.decided_by, 'kpi_appeal_' || a.decision,
           (select o.tracking_number from work_orders o where o.work_order_id = a.work_order_id),
           jsonb_build_object('appeal', a.kpi_appeal_id, 'kpi', a.kpi, 'round', a.round,
                              'agency', a.agency_id, 'note', a.decision_note)
    from kpi_appeals a where a.decision is not null;

create index kpi_appeals_decided on kpi_appeals (decided_at) where decision is not null;
create index kpi_appeals_decided_by on kpi_appeals (decided_by, decided_at) where decision is not null;
