-- The period reports count the KPI appeals (考核申诉) filed in the period, by what became of them:
-- read by the time they were filed.
create index kpi_appeals_filed on kpi_appeals (filed_at);
