-- A reminder to rate (请评价): a citizen who has not rated a reply some days after it passed audit
-- hears of it once, while the rating window is still open.
--
-- Every order not rated in its window waits for an operator's follow-up call (回访), which costs a
-- person minutes of a working day where a push costs nothing. The reminder goes to the citizen who
-- filed the order (only they rate), once per round: a redo's reply is reminded of again.
--
-- `rating_reminded_for` is the `awaiting_rating_since` the citizen was reminded for, so a new round
-- (a new `awaiting_rating_since`) is reminded again without anything else changing the column. The
-- index holds only the orders still to be reminded, by when they began to wait, so the
-- every-minute sweep reads the ones whose time has come and nothing else (not the orders already
-- reminded, which are most of those waiting).
alter table work_orders add column rating_reminded_for timestamptz;

create index work_orders_rating_reminders on work_orders (awaiting_rating_since)
    where status = 'awaiting_rating' and rating_reminded_for is distinct from awaiting_rating_since;

-- Push and the in-app inbox only: a citizen without the app is reached by the follow-up call, and
-- administrators who have an H5 rating page may turn the fallback on. {deadline} here is when the
-- rating window closes.
insert into notification_templates (kind, audience, title, body, fallback) values
    ('citizen_rating_reminder', 'citizen', '请评价办理结果',
     '您的诉求（{tracking_number}）已有答复，尚未收到您的评价。请在 {deadline} 前查看并评价办理结果，逾期将由话务员电话回访。',
     false);
