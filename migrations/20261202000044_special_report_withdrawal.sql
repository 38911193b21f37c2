-- A special report issued with a mistake in it is withdrawn (撤回), with the reason: it stays on
-- the list and can still be read, marked as withdrawn, so that no one goes on citing it; everyone
-- who was told of it is told of the withdrawal, and the audit log names who withdrew it.
alter table special_reports
    add column withdrawn_at timestamptz,
    add column withdrawn_by text,
    add column withdrawn_reason text check (char_length(withdrawn_reason) between 1 and 500),
    add constraint special_reports_withdrawn check (
        (withdrawn_at is null) = (withdrawn_by is null)
        and (withdrawn_at is null) = (withdrawn_reason is null));

insert into notification_templates (kind, audience, title, body, fallback) values
    ('special_report_withdrawn', 'staff', '舆情专报撤回',
     '{title}已撤回，请勿再引用。',
     false);

-- The audit log names the withdrawals. A view is replaced whole, and four migrations restated it
-- whole to add to it; here the view as it stood keeps a name of its own and the new one adds to it.
alter view audit_log rename to audit_log_before_withdrawals;
create view audit_log as
    select * from audit_log_before_withdrawals
    union all
    select withdrawn_at, withdrawn_by, 'special_report_withdrawn', special_report_id::text,
           jsonb_build_object('year', year, 'issue', issue, 'title', title, 'reason', withdrawn_reason)
    from special_reports where withdrawn_at is not null;
