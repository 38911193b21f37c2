-- Staff search by words (`q`) finds a single character through an index too.
--
-- Words of two characters or more are looked up through the orders' pairs of adjacent
-- characters (`work_orders_words`, migrations 63 to 65). A single character has no pair, so a
-- search for one was answered by reading the orders of its span newest first until a page was
-- full: at once for a character most orders hold (灯), but for one few hold (燃, a surname, the
-- one character of a place's name an operator remembers) every order of the span was read and
-- matched. Over half a million orders in a year that took about 3.5 s; past about two million
-- a year it would run past the request's 10 s limit, and take a core of PostgreSQL from
-- everyone else while it ran.
--
-- Each order's characters (as words are found in them: `search_text`, migration 64) are now in
-- a GIN index of their own. One character is one element of it, whose frequency PostgreSQL
-- knows from the index expression's statistics (there is nothing to multiply, as there is for
-- several pairs), so it reads the few orders holding a rare character through the index and
-- the newest first for a common one. Over those half a million orders, 燃 took 0.8 ms.
--
-- The price is paid in writes: about 50 distinct characters of a seeded order enter the index
-- beside about 80 pairs, measured as about 40 µs more of PostgreSQL's time for each order
-- written (each filing, and each change of an order's row). The characters are in an index of
-- their own, not among the pairs: the pairs' statistics (most common elements) would be
-- crowded out by the characters, more common than any pair.

-- Each character of each part, as words are found in it (duplicates left in: the index keeps
-- each once, and removing them here cost more than the index's own sort).
create function search_characters(variadic parts text[]) returns text[]
    language sql immutable parallel safe
return array(
    select c
    from unnest(parts) part,
         lateral string_to_table(search_text(part), null) c);

-- Built in this transaction (at ten million orders, minutes in which orders cannot be written,
-- as for migrations 64 and 65).
create index work_orders_characters on work_orders
    using gin (search_characters(title, description, address, supplements_text));

analyze work_orders;
