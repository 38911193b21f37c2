-- What is written to the search indexes is merged into them every ten seconds, not when 4 MB of
-- it has piled up.
--
-- A GIN index (`fastupdate`, PostgreSQL's default) does not put what a write adds where it
-- belongs in the index at once: it appends it to the index's pending list, cheaply, and merges
-- the list into the index in bulk when the list passes `gin_pending_list_limit` (4 MB), in the
-- write that passes it, or when the table is vacuumed. Every lookup through the index reads the
-- whole pending list besides. Every write of an order's row is one: a filing, and each change of
-- state (the row's other indexes change with it, so the update is not a HOT one) puts the
-- order's pairs and characters in the lists again.
--
-- Measured over the 500k orders of a scratch database, with two clients changing orders as fast
-- as they could for 40 s (one run of each setting):
-- - a search for words no order holds (燃, 燃气泄漏) took 3 to 7 ms with the lists as they
--   were left, against 0.1 to 0.3 ms with them merged: nearly all of it reading the lists
--   (about 11 µs a page of them, up to 512 pages);
-- - the write that passes the limit merges 4 MB while its citizen or agency worker waits: the
--   slowest of about 53 000 writes took 395 ms (the median 1.2 ms);
-- - a smaller limit makes the lookups cheaper but the merges more frequent and, per order,
--   dearer: at 256 kB, lookups took 0.3 ms, but one write in a hundred took 57 ms or more, and
--   the writes were 29% fewer;
-- - without a pending list (`fastupdate = off`) lookups took 0.1 ms, but every write put about
--   130 elements into the index one by one: the median write took 2.6 ms, and the writes were
--   47% fewer.
--
-- So the lists stay, at their size, and a schedule (routing's `/internal/search-indexes`,
-- every ten seconds) merges them outside anyone's request: a search then reads at most ten
-- seconds of writes besides the index (a city filing ten million orders a year, each written
-- half a dozen times in its life, writes a few dozen rows in ten seconds: a few pages). Only a burst of writes of more than 4 MB in
-- ten seconds still merges in a write.
--
-- `gin_clean_pending_list` takes the index's owner. The function runs as its owner (who ran
-- this migration), so that components connecting as a role with fewer rights can call it. Its
-- body names the indexes as this migration found them, whatever the caller's `search_path`
-- (PostgreSQL records that it depends on them: a migration that drops one of them drops this
-- function first and makes it again).
-- Writes go on while it merges (a write that passes the limit meanwhile leaves the merge to
-- it); a second call waits for the first.
create function merge_search_pending_lists() returns bigint
    language sql
    security definer
    set search_path = pg_catalog, pg_temp
return gin_clean_pending_list('work_orders_words'::regclass)
     + gin_clean_pending_list('work_orders_characters'::regclass)
     + gin_clean_pending_list('knowledge_articles_terms'::regclass);

comment on function merge_search_pending_lists() is
    'Merges the pending lists of the search indexes into them (routing''s schedule, every ten seconds); how many pages of lists were merged.';
