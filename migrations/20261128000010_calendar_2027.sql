-- 2027: the statutory holidays that fall on weekdays, from the national holidays regulation
-- (全国年节及纪念日放假办法, as revised in 2024) and the 2027 lunar calendar: 元旦 1 January,
-- 春节 除夕 to 初三 (5–8 February), 清明 5 April, 劳动节 1–2 May, 端午 9 June, 中秋 15 September,
-- 国庆 1–3 October. Days of these that fall on a weekend (6–7 February, 1–2 May, 2–3 October)
-- are made up on working days, and weekends are swapped (调休), as the State Council's notice on
-- 2027 holidays decides; that notice was not available when this was written. Add its days in a
-- later migration when it is published.
insert into business_calendar (day, kind, name) values
    ('2027-01-01', 'holiday', '元旦'),
    ('2027-02-05', 'holiday', '春节'),
    ('2027-02-08', 'holiday', '春节'),
    ('2027-04-05', 'holiday', '清明节'),
    ('2027-06-09', 'holiday', '端午节'),
    ('2027-09-15', 'holiday', '中秋节'),
    ('2027-10-01', 'holiday', '国庆节');
