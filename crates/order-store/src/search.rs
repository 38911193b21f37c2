//! The statement behind staff search (`GET /api/v1/orders`, routing's `search.rs`), in the
//! parts the bench runs under pgbench too: the columns of an order in a list, the words clause,
//! the page, and the reads of the newest orders a search by words makes first.

/// The joins that name an order's category and agency (`c`, `a`) in a list of orders (`o`).
macro_rules! names_joined {
    () => {
        "join categories c on c.category_id = o.category_id \
         left join agencies a on a.agency_id = o.agency_id"
    };
}

/// An order as a list shows it (with `FROM_ORDERS`).
pub const SUMMARY_COLUMNS: &str = "o.work_order_id, o.tracking_number, o.status, o.category_id, c.name as category_name, \
    o.title, o.urgent, o.agency_id, a.name as agency_name, o.deadline_at, o.created_at, now() as now, \
    o.photo_urls[1] as first_photo";
pub const FROM_ORDERS: &str = concat!("from work_orders o ", names_joined!());

/// The orders of a caller (`{}`: a placeholder for the number), as an operator looks them up
/// while the caller is on the line: those of the citizen registered with that number, and those
/// filed with it as the contact number; none confidential.
///
/// The citizen's orders are found by a list of citizens (`= any(array(...))`), so that both
/// halves are conditions an index answers (`work_orders_citizen_newest`,
/// `work_orders_by_contact_phone`) and PostgreSQL reads the orders both find. Written as
/// `o.citizen_id in (select ...) or ...`, the first half can only be checked order by order, and
/// PostgreSQL read every order newest first to find a caller's few: over 60000 orders 50 ms a
/// lookup (0.2 ms so), over a city's ten million several seconds.
pub const CALLERS_ORDERS: &str = "(o.citizen_id = any(array(select citizen_id from citizens where phone = {})) \
     or o.contact_phone = {}) and not o.confidential";

/// The orders an agency (`{}`: a placeholder for it) holds, of every status, as its staff's
/// search and the centre's search of one agency's orders read them: through
/// `work_orders_agency_newest` (migration 74), newest first, a page of them. (Through the
/// orders of every agency newest first, an agency holding one order in a thousand had 20000
/// read for a page of 20, and one with fewer than a page in the span every order of it.)
pub const AGENCYS_OWN: &str = "o.agency_id = {}";

/// The orders agency `agency` is asked to help with (协办), the request not taken back: a
/// subquery of their ids, read through the agency's requests for help
/// (`work_order_co_handlers_by_agency`, migration 74). What an agency's staff see is the orders
/// it holds and these: its search ([`agencys_co_handled`]), an order's view and the photos an
/// order names ([`agency_sees`]).
fn helped_by(agency: &str) -> String {
    format!(
        "select h.work_order_id from work_order_co_handlers h \
         where h.agency_id = {agency} and h.cancelled_at is null"
    )
}

/// Whether agency `agency` (an SQL expression; null for no agency, and so no) sees the order
/// `o` (an alias of `work_orders`): it holds it, or is asked to help with it ([`helped_by`]).
pub fn agency_sees(o: &str, agency: &str) -> String {
    format!(
        "({o}.agency_id = {agency} or {o}.work_order_id in ({}))",
        helped_by(agency)
    )
}

/// The orders agency `agency` is asked to help with ([`helped_by`]) but does not hold
/// ([`AGENCYS_OWN`]): the rest of what its staff search, found through its requests for help,
/// then each order by its key.
///
/// Its staff's search reads the two apart and keeps the newest of both ([`merge_newest`]):
/// written as one condition ([`agency_sees`]), no index gives the orders in order, and
/// PostgreSQL read the orders of every agency newest first until it had a page of the agency's.
pub fn agencys_co_handled(agency: &str) -> String {
    format!(
        "o.work_order_id in ({}) and o.agency_id is distinct from {agency}",
        helped_by(agency)
    )
}

/// `found` (the pages [`find`] gave for filters that find no order twice, each newest first)
/// as one page: newest first by `created_at` and then `work_order_id` (`key`), at most
/// `fetch`. The newest of the orders all the filters find are among the newest each found.
pub fn merge_newest<T, K: Ord>(found: Vec<Vec<T>>, fetch: usize, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut all: Vec<T> = found.into_iter().flatten().collect();
    all.sort_by_key(|row| std::cmp::Reverse(key(row)));
    all.truncate(fetch);
    all
}

/// The pairs of adjacent characters of an order `o`'s searched text, as the words index
/// (`work_orders_words`, migrations 63 to 65 and 68) holds them: a condition on this expression
/// is one the index answers.
pub const ORDER_PAIRS: &str =
    "search_bigrams(o.title, o.description, o.address, o.supplements_text)";

/// The characters of an order `o`'s searched text, as the characters index
/// (`work_orders_characters`, migrations 66 and 68) holds them: a condition on this expression
/// is one the index answers.
pub const ORDER_CHARACTERS: &str =
    "search_characters(o.title, o.description, o.address, o.supplements_text)";

/// Orders whose tracking number is the words (`words`, a placeholder for them as they were
/// typed, in any case and width), or whose title, description, address or supplements (补充说明,
/// `supplements_text`, migration 65) hold them. Both sides are compared as `search_text`
/// (migration 64) writes them: lower case, and in Unicode's compatibility form, so that words
/// typed in full width (ＬＥＤ, ３号楼) find those typed in half width and the other way round.
///
/// Two conditions, both of which hold:
/// - the search indexes say the order holds the words ([`indexes_hold`]), or the words are the
///   tracking number (its own index);
/// - the text holds the words (`like`), which decides among the orders the indexes leave.
///
/// Written as one condition (the tracking number, or the text and the pairs), the whole of it
/// was checked again on each order the indexes gave, and so each order's pairs were computed
/// again: about 40 µs an order, where the text alone costs a few. Apart, the first two are the
/// indexes' own and not checked again. Where PostgreSQL reads the orders newest first instead
/// (words most orders hold), it checks the cheaper `like` first and computes an order's pairs
/// or characters only when it matched.
pub fn words_clause(words: &str) -> String {
    let number = format!("o.tracking_number = upper(normalize({words}::text, nfkc))");
    let found =
        |column: &str| format!("search_text(o.{column}) like search_pattern({words}::text)");
    format!(
        "(({number} or {}) \
          and ({number} or {} or {} or {} or {}))",
        indexes_hold(&format!("{words}::text")),
        found("title"),
        found("description"),
        found("address"),
        found("supplements_text")
    )
}

/// Orders `o` the search indexes say hold `word` (an SQL expression: one word, or the words of
/// a search, as typed):
/// - the order's pairs of adjacent characters hold each pair of the word (in `search_text`'s
///   form), which the GIN index `work_orders_words` answers (migrations 63 to 65 and 68). A word
///   with no pair (one character) would have that index give every order: for it the pairs are
///   not asked for;
/// - for a word with no pair, the order's characters hold the word's (one, or none if it is
///   empty), which the GIN index `work_orders_characters` answers (migrations 66 and 68). For a
///   word with pairs this is not asked.
///
/// Which index serves the word is decided as PostgreSQL plans the statement for the word given
/// (plans made for their values: a search's, [`SEARCH_SETTINGS`], and a topic report's,
/// `oversight::TOPIC_SETTINGS`): the condition not asked is true then, and dropped from the
/// plan. So it counts the characters as it writes them (two typed characters may be one in
/// compatibility form: `e` and a combining accent are `é`; ｶﾞ is ガ).
pub fn indexes_hold(word: &str) -> String {
    let pairs = format!("cardinality(search_bigrams({word}))");
    format!(
        "(({pairs} = 0 or {ORDER_PAIRS} @> search_bigrams({word})) \
          and ({pairs} > 0 or {ORDER_CHARACTERS} @> search_characters({word})))"
    )
}

/// The orders `filter` (a `where` clause, or nothing) finds, newest first (through
/// `work_orders_newest`), at most `fetch` (a placeholder) of them.
pub fn page(filter: &str, fetch: &str) -> String {
    format!(
        "select {SUMMARY_COLUMNS} {FROM_ORDERS} {filter} \
         order by o.created_at desc, o.work_order_id desc limit {fetch}"
    )
}

/// The orders `filter` (a `where` clause with the words) finds, newest first, at most `fetch`
/// of them, all of them read first, and so through the words or characters index: for words
/// the newest orders showed to be rare ([`find`]).
///
/// PostgreSQL cannot know an element of those indexes to be rare: one not among the thousand
/// most common it takes to be half as common as the least common of those (over half a
/// million seeded orders, one order in two hundred for a pair of characters; in the bench's
/// seeded text, of few characters, one in sixty). For a page of 20 it then expects to find
/// them among the newest few thousand and reads the orders newest first, and for words no
/// order holds it reads every order of the span: 燃 over three million orders of the bench's
/// text took 3.5 s, and 9 ms read this way. Read as a whole (`materialized`), the orders
/// holding the words are planned without the page's limit, and PostgreSQL reads them through
/// the index.
///
/// Only when and which each is are kept of them; the page's are then read again by their key.
/// Kept whole, a hundred thousand orders were 80 MB to write aside and sort (over three million
/// orders, 幸福家园 in 100000: 910 to 980 ms a read, 735 to 760 so; reading them from the table,
/// each on a page of its own, is the rest).
pub fn held_page(filter: &str, fetch: &str) -> String {
    format!(
        "with held as materialized (select o.created_at, o.work_order_id from work_orders o {filter}) \
         select {SUMMARY_COLUMNS} from (select h.work_order_id from held h \
           order by h.created_at desc, h.work_order_id desc limit {fetch}) h \
         join work_orders o on o.work_order_id = h.work_order_id {} \
         order by o.created_at desc, o.work_order_id desc limit {fetch}",
        names_joined!()
    )
}

/// Whether `filter` (a `where` clause with the words) finds at least [`HELD_MOST`] orders: one
/// row if it does, none if not. The orders holding the words are read as [`held_page`] reads
/// them (through the words or characters index, planned without a limit), but only until there
/// are [`HELD_MOST`]: at most that many orders are read, however many hold the words. `fetch` (a
/// placeholder, as the other statements take) limits nothing here.
pub fn held_many(filter: &str, fetch: &str) -> String {
    format!(
        "with held as materialized (select 1 from work_orders o {filter}) \
         select 1 from (select 1 from held limit {HELD_MOST}) h \
         having count(*) = {HELD_MOST} limit {fetch}"
    )
}

/// How many orders holding the words [`held_page`] reads (through the index, each on a page of
/// its own) before they are read a slice of time at a time instead ([`SLICES`]). Finding that
/// so many hold them costs the index's bitmap of all of them and this many reads: 幸福家园 in
/// 100000 of three million orders, 43 ms (125 to 145 at 10000); a slice that fills the page
/// costs a few more (the last day's, 3 to 5 ms). Words held by fewer, or none, are read whole
/// at once (燃气泄漏, held by none: 0.4 to 1.1 ms for `held_many`, where the three slices cost
/// 12).
pub const HELD_MOST: i64 = 1000;

/// The slices of time, in days back from the latest filing time a search covers, whose orders
/// holding the words are read in turn ([`slice`]) for words found rarely among the newest but
/// held by [`HELD_MOST`] orders or more, before they are all read.
pub const SLICES: [i64; 3] = [1, 8, 64];

/// `filter` (a `where` clause with the words) narrowed to the orders filed in the `days` before
/// `latest` (an SQL expression: the latest filing time the search covers), by the hour: within
/// an hour more, never fewer. The words and characters indexes hold the hour each order was
/// filed in beside its pairs or characters (migration 68), so one scan of the index gives the
/// orders of the slice that hold the words, and [`held_page`] reads only those: over three
/// million orders with 100000 holding 幸福家园, the last day's in 4 to 8 ms, eight days' in 19
/// to 30, sixty-four days' in 205 to 317, against 720 to 980 for all of them. Written on the
/// expression the indexes hold (`search_hour`), for PostgreSQL to find it there.
pub fn slice(filter: &str, latest: &str, days: i64) -> String {
    format!(
        "{filter} and search_hour(o.created_at) >= search_hour({latest} - interval '{days} days')"
    )
}

/// How many of the newest orders a search finds (without the words) a search by words reads
/// first, in [`newest_page`].
pub const FIRST_READ: i64 = 1000;

/// The most of the newest orders a second read covers.
pub const MOST_READ: i64 = 50_000;

/// The orders among the `scanned` newest that `filter` (a `where` clause, or nothing) finds
/// which hold `words` ([`words_clause`]), newest first, at most `fetch` of them.
///
/// A search by words reads these first. PostgreSQL cannot tell how many orders hold words of
/// several characters: it multiplies the frequencies of their pairs of characters as if they
/// were independent (an order holding 幸福 and 福超 mostly holds 幸福超), and again by the words'
/// own (which it knows), so it takes words that one order in thirty holds for words one in
/// tens of thousands does. For those it reads every order holding them through the words index
/// and sorts them, where reading the newest until a page is full reads a few hundred: over half
/// a million orders, 幸福超市 in 16751 of them took 250 ms that way and 7 ms this one (over ten
/// million, or past what `work_mem` keeps exact, seconds). A read of the newest cannot cost more
/// than `scanned` orders; a page it fills is the search's page (the newest that hold the words
/// are among the newest), and how many it found tells how common the words are
/// ([`second_read`]).
pub fn newest_page(filter: &str, words: &str, scanned: i64, fetch: &str) -> String {
    format!(
        "select {SUMMARY_COLUMNS} from (select o.* from work_orders o {filter} \
           order by o.created_at desc, o.work_order_id desc limit {scanned}) o {} \
         where {} order by o.created_at desc, o.work_order_id desc limit {fetch}",
        names_joined!(),
        words_clause(words)
    )
}

/// After the first read of the newest ([`FIRST_READ`] orders) found `found` holding the words,
/// fewer than the `fetch` a page asks for: how many of the newest to read next. Words found
/// three times or more are common enough that about twice the orders expected to hold a page
/// of them (at most [`MOST_READ`]) are read; words found less often are looked up through the
/// words or characters index ([`held_page`]), which reads only the orders holding them.
pub fn second_read(found: usize, fetch: usize) -> Option<i64> {
    let (found, fetch) = (i64::try_from(found).ok()?, i64::try_from(fetch).ok()?);
    (found >= 3).then(|| (FIRST_READ * 2 * fetch / found).min(MOST_READ))
}

/// The orders a search finds, newest first, at most `fetch` of them (`placeholder` stands for
/// that number): `filter` (a `where` clause without the words, or nothing) and `words` (a
/// placeholder, if words were given). `latest` (an SQL expression) is the latest filing time
/// `filter` lets through: `now()`, or the end of the span or the page before, if earlier.
/// `run` runs a statement and gives its rows. By words, the newest are read first ([`newest_page`]), an export's page too, to learn how common the words
/// are. Words found often among them are read further among the newest ([`second_read`]), and
/// unless that fills the page, the orders of the last days holding them ([`SLICES`]), then the
/// search's own statement ([`page`]) reads the orders as PostgreSQL judges best (over ten
/// million orders, it read all 333000 holding 幸福家园 and sorted them, 2.8 s, where the last
/// day's slice took 10 ms). Words found rarely are looked for first among the last day's orders
/// ([`slice`]): words of an event earlier in the day, which the newest thousand no longer hold.
/// Over ten million orders (the bench's, after its filing rows), the last day's 892 holding
/// 幸福家园 were read so in 4.8 ms, where [`held_many`] alone took 170 ms (319 cold); for words
/// no order holds, the slice adds 3 ms (`held_many` 0.7 to 1). Unless the last day's fill the
/// page, they are read through the words or characters index
/// ([`held_page`]), unless [`HELD_MOST`] orders or more hold them ([`held_many`]): those were
/// held often before the newest (a place many orders named over the year, or an event months
/// ago), and reading every one costs 7 to 16 µs an order (each on a page of its own; 333
/// thousand, 5.4 s, for words one order in thirty holds over ten million). Those held in the
/// last eight or sixty-four days are read first ([`SLICES`]), then, unless a slice filled
/// the page, every order holding them. (Reading the newest orders further instead read every
/// order filed since the last that held the words: in vain when more than 64000 newer orders
/// held none.)
pub async fn find<T, E>(
    filter: &str,
    words: Option<&str>,
    latest: &str,
    placeholder: &str,
    fetch: usize,
    mut run: impl AsyncFnMut(String) -> Result<Vec<T>, E>,
) -> Result<Vec<T>, E> {
    let Some(words) = words else {
        return run(page(filter, placeholder)).await;
    };
    let first = run(newest_page(filter, words, FIRST_READ, placeholder)).await?;
    if first.len() >= fetch {
        return Ok(first);
    }
    let with_words = if filter.is_empty() {
        format!("where {}", words_clause(words))
    } else {
        format!("{filter} and {}", words_clause(words))
    };
    let Some(further) = second_read(first.len(), fetch) else {
        let (day, older) = SLICES.split_at(1);
        if let Some(sliced) = slices(&with_words, latest, placeholder, fetch, day, &mut run).await?
        {
            return Ok(sliced);
        }
        if !run(held_many(&with_words, placeholder)).await?.is_empty()
            && let Some(sliced) =
                slices(&with_words, latest, placeholder, fetch, older, &mut run).await?
        {
            return Ok(sliced);
        }
        return run(held_page(&with_words, placeholder)).await;
    };
    let second = run(newest_page(filter, words, further, placeholder)).await?;
    if second.len() >= fetch {
        return Ok(second);
    }
    if let Some(sliced) = slices(&with_words, latest, placeholder, fetch, &SLICES, &mut run).await?
    {
        return Ok(sliced);
    }
    run(page(&with_words, placeholder)).await
}

/// The first of the slices `days` (of [`SLICES`]) whose orders holding the words (`with_words`,
/// a `where` clause) fill a page of `fetch`, read by `run`; none if none does.
async fn slices<T, E>(
    with_words: &str,
    latest: &str,
    placeholder: &str,
    fetch: usize,
    days: &[i64],
    run: &mut impl AsyncFnMut(String) -> Result<Vec<T>, E>,
) -> Result<Option<Vec<T>>, E> {
    for &days in days {
        let sliced = run(held_page(&slice(with_words, latest, days), placeholder)).await?;
        if sliced.len() >= fetch {
            return Ok(Some(sliced));
        }
    }
    Ok(None)
}

/// Run first in a search's transaction, for its statements:
/// - They are planned for the values they are given each time. Otherwise, after five runs of
///   one filter combination on a connection, PostgreSQL may keep one generic plan for it, made
///   without knowing whether the words are rare (read through the words index) or common (read
///   newest first until a page is full); the wrong one reads every order of the span.
/// - The orders an index gives are kept exactly, page by page and order by order (64 MB of
///   `work_mem`, against the 4 MB default: a bitmap of every page of ten million orders).
///   Past what `work_mem` holds, PostgreSQL keeps only which pages hold some (lossy) and checks
///   each order of those pages again, computing its pairs (about 40 µs an order): over half a
///   million orders, an export's read of the 16751 holding 幸福超市 took 13 s with 64 kB
///   against 0.27 s kept exact, which is how ten million orders fare with 4 MB. An export by
///   words one order in thirty holds, over a year of ten million, reads about 330 thousand
///   orders through the index, on most pages of the table. The memory is taken only as the
///   bitmap grows (about 70 bytes a page of orders).
/// - No statement starts parallel workers. PostgreSQL takes a character not among the thousand
///   most common of the characters index for one in sixty orders (in the bench's text), and for
///   that many it reads through the index with two workers: starting them cost 8 to 16 ms, where
///   the index found no order in 0.2 (燃 over three million orders: 13.5 ms a read with workers,
///   2 without; [`held_many`] the same). A search is one person's request among many, on a
///   machine whose cores serve them all.
/// - No statement is compiled to machine code (`jit`). PostgreSQL compiles a statement it
///   expects to cost more than `jit_above_cost` (100000 by default), and over ten million orders
///   it expects that of [`held_many`] and [`held_page`] for words it cannot know to be rare:
///   compiling them took 11 and 27 ms where the index found no order in 0.1 (燃: 14 and 28 to
///   48 ms a read with it, 1.4 to 2 without). A search's statements read few orders each (an
///   index's, or the newest until a page is full) and gain nothing from it.
pub const SEARCH_SETTINGS: &str = "select set_config('plan_cache_mode', 'force_custom_plan', true), \
     set_config('work_mem', '64MB', true), set_config('max_parallel_workers_per_gather', '0', true), \
     set_config('jit', 'off', true)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_found_often_enough_are_read_for_further_among_the_newest() {
        // None, or too few to tell: through the words index.
        assert_eq!(second_read(0, 21), None);
        assert_eq!(second_read(2, 21), None);
        // One order in a hundred: a page is expected in 2100, and twice that is read.
        assert_eq!(second_read(10, 21), Some(4200));
        assert_eq!(second_read(20, 21), Some(2100));
        // Three in a thousand would need 14000; an export's page is capped.
        assert_eq!(second_read(3, 21), Some(14000));
        assert_eq!(second_read(3, 10_001), Some(MOST_READ));
    }

    #[test]
    fn pages_of_several_filters_are_merged_newest_first() {
        // (filing time, key): an agency's own orders and those it helps with.
        let own = vec![(9, 'a'), (7, 'b'), (7, 'a'), (2, 'c')];
        let helped = vec![(8, 'z'), (7, 'c'), (1, 'y')];
        assert_eq!(
            merge_newest(vec![own.clone(), helped.clone()], 4, |&row| row),
            [(9, 'a'), (8, 'z'), (7, 'c'), (7, 'b')]
        );
        assert_eq!(
            merge_newest(vec![own, helped, Vec::new()], 10, |&row| row).len(),
            7
        );
        assert!(merge_newest(Vec::<Vec<(i32, char)>>::new(), 3, |&row| row).is_empty());
    }
}
