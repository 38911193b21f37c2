-- The agency's working staff, found by agency: every event that tells an agency something (a new
-- task, a return, a redo, an urging, supervision, a deadline warning) joins the order to its
-- agency's enabled `agency_staff` accounts, and without an index that read every staff account of
-- the city. Measured with 6000 accounts over 300 agencies (a city's size): 0.28–0.35 ms a lookup
-- without this index, 0.04–0.06 ms with it; a filing that the catalogue dispatches makes one. The
-- index holds just the accounts that join matches (its condition is the join's).
create index staff_accounts_by_agency on staff_accounts (agency_id)
    where role = 'agency_staff' and disabled_at is null;
