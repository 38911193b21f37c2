-- Staff search by words (`q`) finds them in what was added to a request after filing it
-- (补充说明, `work_order_supplements`): the caller who phones back with the shop's name, the
-- citizen who adds that the leak is at gate 3.
--
-- The supplements' text is kept on the order too (`supplements_text`, for search only: each
-- supplement's text on a line of its own, in the order added), and the order's words index
-- covers it. Searched in their own table, the supplements made the search a union of two reads
-- (the orders holding the words, the orders a supplement holds them in), and the second read
-- had to be planned from PostgreSQL's estimate of how many supplements hold the words: it
-- multiplies the frequencies of the words' pairs of characters as if they were independent,
-- so words a thirtieth of the supplements held were taken for rare ones (612 expected, 16751
-- held, over half a million seeded orders), and every such order was read and sorted (190 ms)
-- where reading the newest until a page was full took a few. On the order, the words are
-- found the way an order's own text is, by one read with one index. The price: a supplement
-- writes the order's row again (it is locked for the supplement already), and its pairs enter
-- the index with the order's.
alter table work_orders add column supplements_text text;

comment on column work_orders.supplements_text is
    'The text of the order''s supplements, one a line, in the order added: for search only, '
    'kept by the trigger work_order_supplements_searched (supplements are never changed)';

update work_orders o
set supplements_text = s.text
from (select work_order_id, string_agg(text, E'\n' order by work_order_supplement_id) as text
      from work_order_supplements
      group by work_order_id) s
where s.work_order_id = o.work_order_id;

create function work_order_supplements_searched() returns trigger
    language plpgsql
as $$
begin
    update work_orders
    set supplements_text = concat_ws(E'\n', supplements_text, new.text)
    where work_order_id = new.work_order_id;
    return null;
end;
$$;

create trigger work_order_supplements_searched
    after insert on work_order_supplements
    for each row execute function work_order_supplements_searched();

-- The words index and the statistics of the text as searched, over the supplements too (at ten
-- million orders, minutes in which orders cannot be written, as for migration 64).
drop index work_orders_words;
create index work_orders_words on work_orders
    using gin (search_bigrams(title, description, address, supplements_text));

drop statistics work_orders_search_text;
create statistics work_orders_search_text
    on (search_text(title)), (search_text(description)), (search_text(address)),
       (search_text(supplements_text))
    from work_orders;

analyze work_orders;
