-- Idempotency keys are forgotten after `idempotency_key_hours` (intake's hourly schedule), found
-- by when they were claimed. Keys are inserted in that order, so a BRIN index of a few kilobytes
-- serves, and a filing (which claims a key when it carries one) pays next to nothing for it.
create index idempotency_keys_by_time on idempotency_keys using brin (created_at);
