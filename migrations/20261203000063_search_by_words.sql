-- Staff search by words (工单查询, `q`) without reading every order of the span.
--
-- A search by words matched `ilike '%words%'` against every order filed in its span: over a
-- year of a large city's orders (ten million), one search for a word no order holds read them
-- all, for seconds, and could run past the request's time limit. Chinese has no spaces between
-- words and most words are two characters, so neither PostgreSQL's full-text parsers nor
-- pg_trgm's trigrams (which need three) can index them. Bigrams can: every two adjacent
-- characters of the text, lower-cased (as `ilike` lower-cases both sides). An order holding the
-- words holds each of their bigrams, so `bigrams(order) @> bigrams(words)` never loses a match;
-- it narrows the orders to those that may hold the words, through a GIN index, and `ilike`
-- decides. Words of one character have no bigram and are matched as before.
--
-- Adjacent pairs by two passes of `(..)`: from the first character and from the second (a
-- regular expression walks the text once; taking `substr(w, i, 2)` for each `i` walks it from
-- the start each time). Each part separately: no pair spans the title and the description.
create function search_bigrams(variadic parts text[]) returns text[]
    language sql immutable parallel safe
return array(
    select m[1]
    from unnest(parts) part,
         lateral (select lower(part)) l(w),
         lateral (select regexp_matches(w, '(..)', 'g')
                  union all
                  select regexp_matches(substr(w, 2), '(..)', 'g')) p(m));

create index work_orders_words on work_orders
    using gin (search_bigrams(title, description, address));

-- Newest first, a page at a time: a word many orders hold (路灯) is found by reading the newest
-- orders until a page is full, not by sorting every order of the span. (The BRIN index on
-- filing time stays for the reports, which read whole months.)
create index work_orders_newest on work_orders (created_at, work_order_id);
