-- Time limits by category (example practice: water, power, gas, heating within 24 hours;
-- consultations 3 working days; complaints and general matters 7 to 13 working days).
insert into category_time_limits (category_id, hours, working_days) values
    ('utilities',            24,   null),
    ('public-safety',        24,   null),
    ('psychological',        24,   null),
    ('consultation',         null, 3),
    ('urban',                null, 7),
    ('environment',          null, 7),
    ('transport',            null, 7),
    ('health',               null, 7),
    ('market',               null, 7),
    ('housing',              null, 13),
    ('social',               null, 13),
    ('education',            null, 13),
    ('agriculture',          null, 13),
    ('other',                null, 7);

-- The 2026 calendar, from the State Council General Office's notice on 2026 holidays
-- (国办发明电〔2025〕7号). Verify against the published notice before relying on it, and add
-- each year's rows when the notice appears (usually in November or December).
insert into business_calendar (day, kind, name) values
    ('2026-01-01', 'holiday', '元旦'), ('2026-01-02', 'holiday', '元旦'),
    ('2026-01-04', 'workday', '元旦调休'),
    ('2026-02-14', 'workday', '春节调休'),
    ('2026-02-16', 'holiday', '春节'), ('2026-02-17', 'holiday', '春节'), ('2026-02-18', 'holiday', '春节'),
    ('2026-02-19', 'holiday', '春节'), ('2026-02-20', 'holiday', '春节'), ('2026-02-23', 'holiday', '春节'),
    ('2026-02-28', 'workday', '春节调休'),
    ('2026-04-06', 'holiday', '清明节'),
    ('2026-05-01', 'holiday', '劳动节'), ('2026-05-04', 'holiday', '劳动节'), ('2026-05-05', 'holiday', '劳动节'),
    ('2026-05-09', 'workday', '劳动节调休'),
    ('2026-06-19', 'holiday', '端午节'),
    ('2026-09-25', 'holiday', '中秋节'),
    ('2026-09-20', 'workday', '国庆节调休'),
    ('2026-10-01', 'holiday', '国庆节'), ('2026-10-02', 'holiday', '国庆节'), ('2026-10-05', 'holiday', '国庆节'),
    ('2026-10-06', 'holiday', '国庆节'), ('2026-10-07', 'holiday', '国庆节'),
    ('2026-10-10', 'workday', '国庆节调休');
