-- An order's pairs and characters (the keys of the words and characters indexes) are found by
-- a loop that PostgreSQL prepares once a connection, not by a query it plans for each statement.
--
-- `search_bigrams` and `search_characters` (migrations 64 and 66) were SQL functions whose
-- body is a query (`array(select ... from unnest(parts) ...)`). PostgreSQL cannot put such a
-- body into the statement calling it, so each statement that calls one reads the body's stored
-- tree, decompresses and parses it and plans it again before its first row. Writing an order
-- is such a statement: its row enters both indexes, so each filing (and each change of an
-- order's title, description, address or supplements) paid for both plans. In a profile of
-- PostgreSQL inserting rows one statement at a time into a table with the words index alone,
-- reading the stored body (`pg_strtok`, `pglz_decompress`, `nodeRead`, `strtoll`) was over a
-- third of its time.
--
-- A PL/pgSQL function is compiled once a connection and its expressions prepared once; here it
-- loops over the parts and their characters. Measured on the bench's database (64000 to 127000
-- orders, warm; before and after in turns):
-- - 2000 orders inserted one statement at a time, in a loop: 0.46 and 0.45 ms an order before,
--   0.24 and 0.23 now (0.13 with neither index);
-- - the filing transaction under `pgbench -M prepared`, one client: its insert of the order
--   0.64 and 0.59 ms before, 0.38 and 0.40 now; 535 and 581 filings a second before, 669 and
--   642 now; at 16 clients 1015 and 956 before, 1128 and 1153 now;
-- - a title, a description and an address computed 20000 times in one statement: pairs 18 µs
--   an order before, 10 now; characters 8 µs before, 6 now.
--
-- The answers are the same arrays as before, element for element (checked over every one of
-- the 127000 orders there, and texts in every width, combined characters, emoji, line breaks and
-- nulls: tests/e2e/search.rs), so the indexes and statistics written with them stay valid.
-- The pairs of each part come as the query gave them: those starting at its odd characters,
-- then those at its even ones.
--
-- The text is put in the form words are found in (`search_text`, migration 69) by the same
-- built-ins written out here, not by calling `search_text`: PL/pgSQL finds the functions it
-- calls by the caller's `search_path`, and maintenance (an index built again, an `analyze`)
-- may run with only `pg_catalog` on it, where the built-ins are. The e2e test checks the two
-- agree.
create or replace function search_bigrams(variadic parts text[]) returns text[]
    language plpgsql immutable parallel safe
as $$
declare
    pairs text[] := '{}';
    part text;
    letters text[];
    last int;
begin
    foreach part in array coalesce(parts, '{}') loop
        letters := string_to_array(
            case when part is nfkc normalized then lower(part)
                 else lower(normalize(part, nfkc)) end,
            null);
        last := coalesce(cardinality(letters), 0) - 1;
        for i in 1..last by 2 loop
            pairs := pairs || (letters[i] || letters[i + 1]);
        end loop;
        for i in 2..last by 2 loop
            pairs := pairs || (letters[i] || letters[i + 1]);
        end loop;
    end loop;
    return pairs;
end
$$;

create or replace function search_characters(variadic parts text[]) returns text[]
    language plpgsql immutable parallel safe
as $$
declare
    characters text[] := '{}';
    part text;
begin
    foreach part in array coalesce(parts, '{}') loop
        characters := characters || string_to_array(
            case when part is nfkc normalized then lower(part)
                 else lower(normalize(part, nfkc)) end,
            null);
    end loop;
    return characters;
end
$$;
