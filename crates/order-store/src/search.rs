//! The statement behind staff search (`GET /api/v1/orders`, routing's `search.rs`), in the
//! parts the bench runs under pgbench too: the columns of an order in a list, the words clause
//! and the page.

/// An order as a list shows it (with `FROM_ORDERS`).
pub const SUMMARY_COLUMNS: &str = "o.work_order_id, o.tracking_number, o.status, o.category_id, c.name as category_name, \
    o.title, o.urgent, o.agency_id, a.name as agency_name, o.deadline_at, o.created_at, now() as now";
pub const FROM_ORDERS: &str = "from work_orders o join categories c on c.category_id = o.category_id \
    left join agencies a on a.agency_id = o.agency_id";

/// Orders whose tracking number is the words (`words`, a placeholder for them as they were
/// typed, in any case and width), or whose title, description, address or supplements (补充说明,
/// `supplements_text`, migration 65) hold them. Both sides are compared as `search_text`
/// (migration 64) writes them: lower case, and in Unicode's compatibility form, so that words
/// typed in full width (ＬＥＤ, ３号楼) find those typed in half width and the other way round.
///
/// Two conditions, both of which hold:
/// - the order's pairs of adjacent characters hold each pair of the words (so written), which
///   the GIN index `work_orders_words` answers (migrations 63 to 65), or the words are the
///   tracking number (its own index). Words with no pair (one character) would have the index
///   give every order: for them the pairs are not asked for. Which is decided as PostgreSQL
///   plans the statement for the words given (a search's plans are made for its values,
///   [`CUSTOM_PLANS`]), so that it counts the characters as it writes them (two typed
///   characters may be one in compatibility form: `e` and a combining accent are `é`).
/// - the text holds the words (`like`), which decides among the orders the index leaves.
///
/// Written as one condition (the tracking number, or the text and the pairs), the whole of it
/// was checked again on each order the indexes gave, and so each order's pairs were computed
/// again: about 40 µs an order, where the text alone costs a few. Apart, the first is the
/// indexes' own and not checked again. Where PostgreSQL reads the orders newest first instead
/// (words most orders hold), it checks the cheaper `like` first and computes an order's pairs
/// only when it matched.
pub fn words_clause(words: &str) -> String {
    let number = format!("o.tracking_number = upper(normalize({words}::text, nfkc))");
    let found =
        |column: &str| format!("search_text(o.{column}) like search_pattern({words}::text)");
    format!(
        "(({number} or cardinality(search_bigrams({words}::text)) = 0 \
           or search_bigrams(o.title, o.description, o.address, o.supplements_text) \
              @> search_bigrams({words}::text)) \
          and ({number} or {} or {} or {} or {}))",
        found("title"),
        found("description"),
        found("address"),
        found("supplements_text")
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

/// Run first in a search's transaction: the search's statements are planned for the values
/// they are given each time. Otherwise, after five runs of one filter combination on a
/// connection, PostgreSQL may keep one generic plan for it, made without knowing whether the
/// words are rare (read through the words index) or common (read newest first until a page
/// is full); the wrong one reads every order of the span.
pub const CUSTOM_PLANS: &str = "set local plan_cache_mode = force_custom_plan";
