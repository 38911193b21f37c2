-- Staff search by words (`q`) finds words however wide they were typed.
--
-- Chinese input methods type Latin letters, digits and punctuation in full width as readily as
-- in half width: one citizen writes 3号楼, the next ３号楼; an operator searching for 3号楼 or
-- LED found only the orders typed as they typed. Both sides are now compared in Unicode's
-- compatibility form (NFKC), which writes each full-width letter, digit and sign as its
-- ordinary one (ＬＥＤ as LED, ３ as 3, ％ as %, the ideographic space as a space) and leaves
-- Chinese characters as they are. Over a title, a description and an address it costs about
-- 5 µs an order, where it is computed: for the index as an order is written, and for the
-- orders the index finds when a search decides (the topic report, which reads every order of
-- its span, does not normalize: it would add seconds to a month over ten million orders).

-- The text as words are found in it: compatibility form, lower case.
create function search_text(part text) returns text
    language sql immutable parallel safe
return lower(normalize(part, nfkc));

-- A `like` pattern finding `words` (in compatibility form) anywhere: `%`, `_` and `\` in them
-- mean themselves (a full-width ％ too: it is normalized to % first, then escaped).
create function search_pattern(words text) returns text
    language sql immutable parallel safe
return '%' || regexp_replace(search_text(words), '([%_\\])', '\\\1', 'g') || '%';

-- As migration 63's, over the text as words are found in it.
create or replace function search_bigrams(variadic parts text[]) returns text[]
    language sql immutable parallel safe
return array(
    select m[1]
    from unnest(parts) part,
         lateral (select search_text(part)) l(w),
         lateral (select regexp_matches(w, '(..)', 'g')
                  union all
                  select regexp_matches(substr(w, 2), '(..)', 'g')) p(m));

-- What PostgreSQL knows of the text as searched. `ilike` over a column was estimated from the
-- column's statistics; over `search_text` it had none, took every search for words a rare
-- one (half a per cent of the orders) and, for words most orders hold, read them all through
-- the words index and sorted them instead of reading the newest until a page was full: 路灯
-- over a million orders went from 0.7 to 17 ms. With these (computed by `analyze` over its
-- sample of the orders, 1.8 s at a million) it knows that most orders hold 路灯 again.
create statistics work_orders_search_text
    on (search_text(title)), (search_text(description)), (search_text(address))
    from work_orders;

-- The index holds what the function gave before; it is built again (at ten million orders,
-- minutes in which orders cannot be written: a large deployment may build a new index
-- `concurrently` ahead of this migration and swap it in).
reindex index work_orders_words;

analyze work_orders;
