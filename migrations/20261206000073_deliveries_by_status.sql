-- The outbox's deliveries by status, newest first, as supervisors list them
-- (`GET /api/v1/admin/deliveries?status=`, `order_store::outbox::DELIVERIES`): a page reads
-- its own deliveries alone.
--
-- Only the dead had an index (by age); a page of those sent, or dropped, read and sorted every
-- delivery of the outbox, which holds one for each message to each phone, WeChat user or SMS
-- number over the years. Over 120000 deliveries, 1% of them dead: a page of 100 sent took
-- 82 ms, of the dead 33 and of the dropped 23; with this index 1.1, 1.6 and 0.1 ms.
--
-- It takes the place of the index of the dead (`notification_deliveries_dead`, migration 17):
-- the outbox's metrics count the dead by it as well (4 ms over 1200).
create index notification_deliveries_by_status
    on notification_deliveries (status, created_at desc, delivery_id desc);
drop index notification_deliveries_dead;
