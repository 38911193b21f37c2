-- Staff export a search of the orders as a spreadsheet (导出). A file leaves the platform with
-- what citizens wrote in it, so each export is recorded, append-only: who, with which filters, how
-- many orders; the audit log shows them.
create table order_exports (
    order_export_id  bigint generated always as identity primary key,
    subject          text not null,
    role             text not null,
    filters          text not null,
    exported         integer not null,
    created_at       timestamptz not null default now()
);

create trigger order_exports_no_change
    before update or delete on order_exports
    for each row execute function work_order_events_append_only();

alter view audit_log rename to audit_log_before_order_exports;
create view audit_log as
    select * from audit_log_before_order_exports
    union all
    select created_at, subject, 'orders_exported', filters,
           jsonb_build_object('role', role, 'exported', exported)
    from order_exports;
