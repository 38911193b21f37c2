-- The text as words are found in it is put in compatibility form only where it is not in it
-- already.
--
-- `search_text` (migration 64) wrote every text it was given in Unicode's compatibility form
-- (NFKC), then in lower case. Nearly every order's text is in that form as typed: Chinese
-- characters, digits and half-width letters are left as they are. `is nfkc normalized` says so
-- more cheaply than `normalize` writes it again (a quick check, which answers most text without
-- composing it), and for such text the lower case alone is the answer.
--
-- The answers are the same for every text (text that is in the form is what `normalize` gives
-- back unchanged; null is null either way), so the indexes and statistics written with it
-- stay valid. Measured over the bench's ten million orders (warm, one run after another):
-- - the 50 000 newest orders' title, description, address and supplements matched against
--   words, as a search's second read of the newest does: 119 to 127 ms before, 74 now;
-- - the 820 000 orders of the last 30 days so: 1.06 to 1.14 s before, 0.69 to 0.70 now.
-- The topic report compared in this way from its own statement (`oversight::on_topic`); it now
-- calls `search_text`, as search does.
create or replace function search_text(part text) returns text
    language sql immutable parallel safe
return case when part is nfkc normalized then lower(part) else lower(normalize(part, nfkc)) end;
