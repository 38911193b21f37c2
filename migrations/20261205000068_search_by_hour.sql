-- Staff search by words (`q`) reads the orders holding words many orders hold a slice of time
-- at a time, newest first, through the words and characters indexes.
--
-- Words most of the newest orders hold fill a page there, and words few orders hold are read
-- whole through the words index (`order_store::search::find`). Between the two are words many
-- orders held before the newest: a housing estate (幸福家园) one order in thirty named over the
-- year, but none of the last few days. The index gives every order holding them, in no order of
-- time, so all of them were read to find the newest twenty: over ten million orders, 333000 in
-- 5 to 6 s. Reading the newest orders until a page was full instead reads every order filed
-- since the last that holds them.
--
-- The hour each order was filed in (`search_hour`, hours since 1970) is now a key of both
-- indexes, beside the order's pairs or characters (contrib's `btree_gin` lets a GIN index hold
-- such a key). One index scan then gives the orders of the last day, or eight, or sixty-four,
-- that hold the words, and nothing else. Measured over three million orders with 100000 holding
-- 幸福家园 (scratch database): the last day's 7 to 8 ms, eight days' 26 to 30, sixty-four days'
-- 205 to 317, against 735 to 980 ms for all of them. A search for the words alone is answered
-- by the same index, as before.
--
-- Keyed by the hour and not the filing time itself: filing times are all different, so each
-- order was a key of its own (260 MB against 59 over those three million orders), and
-- PostgreSQL read the 366 days of a search's span through the index too (947 ms). An hour holds
-- about a thousand orders of a city filing ten million a year; the index is as large as before
-- (56 MB). Each order written puts one element more in each index, beside its 80 pairs and 50
-- characters: inserting 20000 orders into 200000 and merging the pending lists (as routing's
-- schedule does) took 0.87 s against 0.80, about 3.5 µs an order.
--
-- Both indexes are built again in this transaction (over three million orders, 71 and 50 s,
-- most of it computing each order's pairs and characters again; at ten million orders, minutes
-- in which orders cannot be written, as for migrations 64 to 66). `merge_search_pending_lists`
-- (migration 67) names them and is made again with them.
create extension if not exists btree_gin;

-- The hours from 1970 to `at`: the same for every time zone, so that an index may hold it.
create function search_hour(at timestamptz) returns bigint
    language sql immutable parallel safe
return floor(extract(epoch from at) / 3600)::bigint;

drop function merge_search_pending_lists();

drop index work_orders_words;
create index work_orders_words on work_orders
    using gin (search_hour(created_at),
               search_bigrams(title, description, address, supplements_text));

drop index work_orders_characters;
create index work_orders_characters on work_orders
    using gin (search_hour(created_at),
               search_characters(title, description, address, supplements_text));

create function merge_search_pending_lists() returns bigint
    language sql
    security definer
    set search_path = pg_catalog, pg_temp
return gin_clean_pending_list('work_orders_words'::regclass)
     + gin_clean_pending_list('work_orders_characters'::regclass)
     + gin_clean_pending_list('knowledge_articles_terms'::regclass);

comment on function merge_search_pending_lists() is
    'Merges the pending lists of the search indexes into them (routing''s schedule, every ten seconds); how many pages of lists were merged.';

analyze work_orders;
