-- Each person's unread notifications, newest first: the inbox's count of them (on every page of
-- the inbox, the apps' badge) and its page of the unread alone read only them
-- (`order_store::inbox`).
--
-- Through `notifications_by_recipient`, all of a person's notifications were read for either:
-- the staff of a busy agency are told of every new task, and read most in the app or not at
-- all. Over 50000 notifications of one staff member, 10 unread, among 230000: the count took 21
-- ms (PostgreSQL read the whole table, a fifth of it being theirs) and a page of the unread 24;
-- with this index 0.1 and 0.08 ms.
--
-- The index holds only the unread, so it stays as small as what waits to be read; a
-- notification marked read leaves it.
create index notifications_unread on notifications (recipient, created_at desc, notification_id desc)
    where read_at is null;
