-- A notice about something other than a work order names it, so that the app opens it when the
-- person taps the push or the inbox item: the special report issued (舆情专报), the early warning
-- raised (预警). Null for the rest (a notice about an order names the order).
alter table notifications
    add column special_report_id bigint references special_reports (special_report_id),
    add column early_warning_id bigint references early_warnings (early_warning_id);
