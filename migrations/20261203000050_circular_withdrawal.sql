-- A circular issued with a mistake in it (an order named that was not overdue, a wrong agency) is
-- withdrawn (撤回), with the reason, as a special report is: it stays on the list and can still be
-- read, marked as withdrawn; everyone who was told of it is told of the withdrawal; the audit log
-- names who withdrew it.
alter table circulars
    add column withdrawn_at timestamptz,
    add column withdrawn_by text,
    add column withdrawn_reason text check (char_length(withdrawn_reason) between 1 and 500),
    add constraint circulars_withdrawn check (
        (withdrawn_at is null) = (withdrawn_by is null)
        and (withdrawn_at is null) = (withdrawn_reason is null));

insert into notification_templates (kind, audience, title, body, fallback) values
    ('circular_withdrawn', 'staff', '督办通报撤回',
     '{title}已撤回，请勿再引用。',
     false);

alter view audit_log rename to audit_log_before_circular_withdrawals;
create view audit_log as
    select * from audit_log_before_circular_withdrawals
    union all
    select withdrawn_at, withdrawn_by, 'circular_withdrawn', circular_id::text,
           jsonb_build_object('year', year, 'issue', issue, 'title', title, 'reason', withdrawn_reason)
    from circulars where withdrawn_at is not null;
