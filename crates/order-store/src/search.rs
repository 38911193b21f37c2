//! The statement behind staff search (`GET /api/v1/orders`, routing's `search.rs`), in the
//! parts the bench runs under pgbench too: the columns of an order in a list, the words clause
//! and the page.

/// An order as a list shows it (with `FROM_ORDERS`).
pub const SUMMARY_COLUMNS: &str = "o.work_order_id, o.tracking_number, o.status, o.category_id, c.name as category_name, \
    o.title, o.urgent, o.agency_id, a.name as agency_name, o.deadline_at, o.created_at, now() as now";
pub const FROM_ORDERS: &str = "from work_orders o join categories c on c.category_id = o.category_id \
    left join agencies a on a.agency_id = o.agency_id";

/// Words shorter than this have no bigram, so the index cannot narrow their search.
pub const INDEXED_CHARS: usize = 2;

/// Orders whose tracking number is the words (`tracking`, a placeholder for them as they are),
/// or whose title, description or address holds them (`pattern`, a placeholder for the `LIKE`
/// pattern matching them anywhere). `bigrams`, a placeholder for the words as they are, lets
/// the GIN index `work_orders_words` (migration 63) narrow the orders to those holding each
/// pair of adjacent characters of the words; it must only be given for words of at least
/// [`INDEXED_CHARS`] characters (others have no pair, and every order would be read through the
/// index). The pattern comes first: where PostgreSQL reads the orders in filing order instead
/// (words most orders hold), it computes an order's bigrams only when the pattern matched.
pub fn words_clause(tracking: &str, pattern: &str, bigrams: Option<&str>) -> String {
    let matched = format!(
        "o.title ilike {pattern} or o.description ilike {pattern} or o.address ilike {pattern}"
    );
    match bigrams {
        Some(words) => format!(
            "(o.tracking_number = {tracking} or (({matched}) and \
              search_bigrams(o.title, o.description, o.address) @> search_bigrams({words}::text)))"
        ),
        None => format!("(o.tracking_number = {tracking} or {matched})"),
    }
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
