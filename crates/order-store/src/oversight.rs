//! The supervision component's SQL: the board of open orders and the requests of a period. The
//! bench runs the same statements under pgbench.

/// The orders an agency holds, whose deadline runs (`o` the order).
pub const OPEN: &str = "o.status in ('dispatched', 'signed', 'in_progress', 'return_requested')";

/// A group's counts, at `$1` (the database's time of the request).
const COUNTS: &str = "count(*) as open, \
    count(*) filter (where o.deadline_at <= $1) as overdue, \
    count(*) filter (where o.deadline_at > $1 and o.deadline_at <= $1 + interval '24 hours') as due_soon, \
    count(*) filter (where o.urgent) as urgent, \
    count(*) filter (where o.supervised_at is not null) as supervised, \
    count(*) filter (where o.key_supervised_at is not null) as key_supervised, \
    count(*) filter (where o.status = 'return_requested') as return_requested, \
    min(o.deadline_at) filter (where o.deadline_at <= $1) as overdue_since";

/// The counts of [`COUNTS`] but `overdue_since`, zero for a group with no open orders.
const COUNTED: [&str; 7] = [
    "open",
    "overdue",
    "due_soon",
    "urgent",
    "supervised",
    "key_supervised",
    "return_requested",
];

/// A group's requests for help (协办) still awaited (`h` the request), and those of them past
/// their due time at `$1`.
const CO_HANDLING: &str = "count(*) as co_handling_awaited, \
    count(*) filter (where h.due_at <= $1) as co_handling_overdue";

/// The requests for help still awaited (`h`).
const AWAITED: &str = "h.answered_at is null and h.cancelled_at is null";

/// The board's statement by `group_by` (`agency` or `district`; `None` for anything else):
/// `code, name` and the counts of each group with open orders, or with requests for help awaited
/// (from the agency; on the district's orders), at `$1`, most overdue first.
pub fn board_sql(group_by: &str) -> Option<String> {
    let (held, helping) = match group_by {
        "agency" => (
            format!(
                "select o.agency_id as code, a.name, {COUNTS} \
                 from work_orders o join agencies a on a.agency_id = o.agency_id \
                 where {OPEN} group by o.agency_id, a.name"
            ),
            format!(
                "select h.agency_id as code, a.name, {CO_HANDLING} \
                 from work_order_co_handlers h join agencies a on a.agency_id = h.agency_id \
                 where {AWAITED} group by h.agency_id, a.name"
            ),
        ),
        "district" => (
            format!(
                "select coalesce(o.district_id, 'unknown') as code, coalesce(d.name, '未填区域') as name, {COUNTS} \
                 from work_orders o left join districts d on d.district_id = o.district_id \
                 where {OPEN} group by 1, 2"
            ),
            format!(
                "select coalesce(o.district_id, 'unknown') as code, coalesce(d.name, '未填区域') as name, {CO_HANDLING} \
                 from work_order_co_handlers h join work_orders o on o.work_order_id = h.work_order_id \
                 left join districts d on d.district_id = o.district_id \
                 where {AWAITED} group by 1, 2"
            ),
        ),
        _ => return None,
    };
    let counted = COUNTED
        .iter()
        .map(|count| format!("coalesce(g.{count}, 0) as {count}"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "select coalesce(g.code, h.code) as code, coalesce(g.name, h.name) as name, {counted}, \
                g.overdue_since, coalesce(h.co_handling_awaited, 0) as co_handling_awaited, \
                coalesce(h.co_handling_overdue, 0) as co_handling_overdue \
         from ({held}) g full join ({helping}) h on h.code = g.code \
         order by overdue desc, open desc, co_handling_overdue desc, code"
    ))
}

/// The orders waiting for the centre to dispatch them (`waiting`).
pub const WAITING_DISPATCH: &str =
    "select count(*) as waiting from work_orders where status = 'received'";

/// The names of the top-level categories and of the districts (`kind, code, name`).
pub const GROUP_NAMES: &str = "select 'category' as kind, category_id as code, name from categories \
     where parent_id is null union all select 'district', district_id, name from districts";

/// The requests filed in [$1, $3), counted by whether they are of the period [$2, $3)
/// (`current`), channel, top-level category, district (`unknown` for none) and status (`n`);
/// of them, those answered from the knowledge base (`from_knowledge`) and those a leader took on
/// an answering day (`on_leader_days`).
pub const RECEIVED: &str = "select o.created_at >= $2 as current, o.channel, \
        coalesce(c.parent_id, c.category_id) as category, \
        coalesce(o.district_id, 'unknown') as district, o.status, count(*) as n, \
        count(*) filter (where o.answered_from_article is not null) as from_knowledge, \
        count(*) filter (where o.leader_day_id is not null) as on_leader_days \
     from work_orders o join categories c on c.category_id = o.category_id \
     where o.created_at >= $1 and o.created_at < $3 \
     group by 1, 2, 3, 4, 5";

/// The names of every category and district (`kind, code, name`).
pub const ALL_NAMES: &str = "select 'category' as kind, category_id as code, name from categories \
     union all select 'district', district_id, name from districts";

/// The requests filed in [$1, $2), all of them (`n`).
pub const RECEIVED_ALL: &str =
    "select count(*) as n from work_orders where created_at >= $1 and created_at < $2";

/// An order `o` on a topic: of category `$5` or one under it (any, when null), and with one of
/// the words `$4` in its title, description, address or supplements (补充说明): the text staff
/// search covers, so that a report on a place (幸福家园) counts the requests made there, and one
/// on a matter what citizens added to their requests later. Words and text are compared as
/// staff search compares them (`search_text`: lower case, in Unicode's compatibility form), so
/// that PM2.5 finds ＰＭ２.５ and ３号楼 finds 3号楼, typed in either width as Chinese input
/// methods type them. The words are found as they are (`strpos`): `%` and `_` mean themselves.
///
/// The words are put in that form once, for the statement. `search_text` puts the text in it only
/// where it is not already (`is nfkc normalized`, a quick check that is yes for text of Chinese
/// characters, digits and half-width letters; migration 69): over ten million orders, a month of
/// words no order holds (810 thousand orders read) took 1.4 s so against 0.86 in lower case only,
/// and 2.0 normalizing every order's text; a month of 路灯 (found in the first column looked in)
/// 0.60 to 0.67 s against 0.78.
fn on_topic() -> String {
    let found = |column: &str| format!("strpos(search_text(o.{column}), w.word) > 0");
    format!(
        "($5::text is null or o.category_id = $5 \
           or o.category_id in (select category_id from categories where parent_id = $5)) \
         and (cardinality($4::text[]) = 0 or exists ( \
           select 1 from unnest((select array(select search_text(a.word) from unnest($4::text[]) a(word)))) w(word) \
           where {} or {} or {} or {}))",
        found("title"),
        found("description"),
        found("address"),
        found("supplements_text")
    )
}

/// The orders the search indexes say hold one of `words` (`$4`), each word looked up as staff
/// search looks up its words ([`crate::search::indexes_hold`]).
fn held(words: &[String]) -> String {
    (1..=words.len())
        .map(|n| crate::search::indexes_hold(&format!("($4::text[])[{n}]")))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Whether a topic's `words` can be looked up through the search indexes: when there are any.
/// Words of two or more characters are looked up through the words index
/// (`work_orders_words`), a single character through the characters index
/// (`work_orders_characters`).
///
/// A topic report reads the requests of its span and the span before; without the indexes,
/// every one of them, through the BRIN index on filing time: over ten million orders, a year's
/// counts took 9.3 s for words no order holds (燃气泄漏) and 15.0 s for a place one in thirty
/// names (幸福家园), and its cases 10.1 s more; through the index, 1 ms, and 2.4 and 2.1 s. A
/// year of the character 燃 (held by none) took 20 s read whole, 15 ms through the characters
/// index.
///
/// The words index answers which orders' pairs of characters hold the words' pairs, and the
/// characters index which orders' characters hold a character, in the text as search compares
/// it (`search_text`), the form the report finds the words in too ([`on_topic`]): an order
/// holding the words holds each of their pairs, and their character if they have no pair, so
/// the indexes give every order the report finds. Which of the two serves a word is decided as
/// the statement is planned, by how many characters it has in that form, as staff search
/// decides it ([`crate::search::indexes_hold`]): a half-width kana and its voicing mark, ｶﾞ,
/// are one character, ガ, and have no pair.
///
/// Whether they are read, and how, is PostgreSQL's judgement ([`topic_read`]): for words most
/// orders hold (路灯, in every seeded one) it reads the span.
pub fn words_indexable(words: &[String]) -> bool {
    !words.is_empty()
}

/// How a topic report reads the requests of its span and the span before ([`topic`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicRead {
    /// Every request filed in them, through the BRIN index on filing time, each checked for
    /// the words: for a category alone, words most requests hold (路灯), and short spans.
    Whole,
    /// Every order the search indexes say holds the words, of any time, and of those the
    /// span's: words few orders hold (燃气泄漏, held by none) and long spans.
    Indexes,
    /// The orders the search indexes say hold the words and were filed from the hour the span
    /// before begins in: words many orders hold over spans of days to months.
    IndexesFromHour,
}

/// The plans [`topic_read`] decides by, in the order it takes them: each way of reading, and
/// whether it is planned for the words as [`JUDGED_WORDS`] gives them (the ways through the
/// indexes) or for the words as asked (the whole read).
pub const TOPIC_PLANS: [(TopicRead, bool); 3] = [
    (TopicRead::Whole, false),
    (TopicRead::Indexes, true),
    (TopicRead::IndexesFromHour, true),
];

/// Which way a topic report reads its requests ([`TopicRead`]), from PostgreSQL's plans (the
/// lines `explain` gives) of its statement written each way ([`topic`]): the way it expects to
/// cost least, of those reading the span whole and those of the others whose plan reads one of
/// the search indexes.
///
/// The statements written for the indexes take the orders they give apart, before they keep
/// those of the span. Left to combine the two, PostgreSQL took the orders the index gave on
/// the pages the BRIN index on filing time gave for the span; those are whole ranges of pages,
/// and on them it checked the index's condition on every order, computing its pairs or
/// characters (10 to 25 µs an order). Over ten million orders: a week of 幸福家园 (one order in
/// thirty) took 5.3 s so, a month of the character 幸 12.8 s.
///
/// Over those ten million orders (psql, the report's settings, warm), each span with the span
/// before it:
/// - Through the indexes, every order holding the words is read, each on a page of its own:
///   幸福家园 in 333 thousand, 1.7 to 2.1 s for any span, where PostgreSQL weighed those reads at
///   less than they cost (from the system's cache, not its buffers) and read a week so, 2.0 s,
///   where reading it whole took 0.95. From the hour the span before begins (the indexes hold
///   each order's hour beside its pairs or characters, migration 68), only the orders holding
///   them in the two spans are read: a day of 幸福家园 21 to 35 ms (83 read whole), three days
///   54 to 72 ms (0.58 s whole), a week 0.23 to 0.28 s, two weeks 0.36 to 0.60 s (1.8
///   through the index), a month 0.87 to 1.2 s (2.1), ninety days 2.3 to 4.0 s (3.2 to 6.0);
///   the character 幸: a day 25 to 35 ms, a week 0.18 to 0.25 s, a month 0.72 to 0.90 s (1.6
///   through the index, 3.9 whole).
/// - The index gives the hours' orders as one more set to intersect with the words' (a year's
///   hours, every order), so for words few hold it is the dearer way (a year of 燃气泄漏, held
///   by none: 386 ms from the hour, 7 to 10 ms through the index alone), and for half a year or
///   more of 幸福家园, where the span holds most of the orders, about the same.
/// - Words most orders hold are read whole: from the hour, the index gives every order of the
///   span after reading its every order holding the words' pairs (a day of 路灯: 0.58 to 0.83 s
///   against 0.29 whole; a week, 5.8 to 6.6 s against 2.0).
///
/// PostgreSQL judged each of those the way it takes least time, planning the statements for the
/// indexes for the words as [`JUDGED_WORDS`] gives them: it takes words of several characters
/// to be rarer than they are, and so read a day of 幸福家园 through the index (1.6 to 2.1 s).
/// The statement reading from the hour has no other bound on filing time from below: its
/// estimate counted the same span twice, took a week of 路灯 to be 7000 requests where it is
/// 370 thousand, and judged the week cheaper to read through the index (6.6 s against 2.0).
pub fn topic_read(whole: &[String], indexes: &[String], from_hour: &[String]) -> TopicRead {
    let Some(mut least) = plan_cost(whole) else {
        return TopicRead::Whole;
    };
    let mut read = TopicRead::Whole;
    for (way, plan) in [
        (TopicRead::Indexes, indexes),
        (TopicRead::IndexesFromHour, from_hour),
    ] {
        let reads_index = plan.iter().any(|line| {
            line.contains("work_orders_words") || line.contains("work_orders_characters")
        });
        if reads_index
            && let Some(cost) = plan_cost(plan)
            && cost < least
        {
            (least, read) = (cost, way);
        }
    }
    read
}

/// Each of the words `$1` (`word`, in their order) as a topic report has PostgreSQL judge the
/// statements written for the search indexes by ([`topic_read`]): a word whose pairs of
/// characters (in `search_text`'s form) are all among the words index's most common elements
/// by the rarest of them, any other word as it is.
///
/// For a word of several characters PostgreSQL multiplies the frequencies of its pairs, as if
/// an order held each apart from the others; but an order holding one of them mostly holds the
/// word. Over the bench's ten million orders it took 幸福家园 (幸福, 福家 and 家园, each in one
/// order of thirty) to be held by 342 orders, where 333 thousand hold it. No more orders hold
/// a word than hold its rarest pair, and for the name of a place or a matter about as many:
/// judged by that pair, PostgreSQL weighs reading the orders that may hold the word against
/// reading the span, as it does for a single character (幸). Over those ten million orders (psql,
/// warm), planning for 幸福家园 as it is, PostgreSQL took a day of it and the day before to be
/// cheapest to read through the index, every order holding the words (2.1 s, where reading the
/// two days whole took 83 ms, and those of the two days holding them, from the hour, 21 to 35).
///
/// A pair not among the most common is held by fewer orders than the least common of them, and
/// so is a word holding it: those words PostgreSQL judges as they are, as rare as it takes them
/// to be, and reads them through the index (a day of 燃气泄漏, held by none, 8 ms; read whole,
/// 128). Words whose pairs many orders hold each, but few together, are planned as if many
/// orders held them.
///
/// `pg_stats` shows the statistics of the indexes to their owner (the role the migrations ran
/// as); to a role that may not see them, every word is judged as it is.
pub const JUDGED_WORDS: &str = "with frequent as ( \
         select e.pair, e.frequency from pg_stats s \
         cross join unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) e(pair, frequency) \
         where s.schemaname = current_schema() and s.tablename = 'work_orders_words' \
           and s.attname = 'search_bigrams') \
     select coalesce( \
              (select case when bool_and(f.frequency is not null) \
                        then (array_agg(p.pair order by f.frequency, p.pair))[1] end \
               from unnest(search_bigrams(w.word)) p(pair) left join frequent f on f.pair = p.pair), \
              w.word) as word \
     from unnest($1::text[]) with ordinality w(word, n) order by w.n";

/// The total cost PostgreSQL expects of a plan (`explain`'s lines): the first line's
/// `cost=start..total`.
fn plan_cost(plan: &[String]) -> Option<f64> {
    let (_, cost) = plan.first()?.split_once("cost=")?;
    let (_, total) = cost.split_once("..")?;
    total.split_whitespace().next()?.parse().ok()
}

/// Run first in a topic report's transaction, for its statements:
/// - They are planned for the words they are given each time ([`words_indexable`]): through the
///   search indexes for words few orders hold, by reading the span for words most do (路灯, over
///   ten million orders, is held by all). A plan made once without the words (after five runs
///   of a statement, PostgreSQL may keep one) would take either for all.
/// - The orders the search indexes give are kept exactly (64 MB of `work_mem`, as a search's,
///   `search::SEARCH_SETTINGS`): past what `work_mem` holds, PostgreSQL would check every order
///   of the pages holding some again, computing its pairs of characters (about 40 µs an order).
pub const TOPIC_SETTINGS: &str = "select set_config('plan_cache_mode', 'force_custom_plan', true), \
     set_config('work_mem', '64MB', true)";

/// How many of a topic's requests a report names as its cases (`kind` `case` of [`topic`]).
const TOPIC_CASES: i64 = 10;

/// A topic report's statement: the requests on the topic (see [`on_topic`]) filed in [$1, $3),
/// `current` those of the span [$2, $3), read once (`matched`) and then counted and ranked, in
/// rows of two kinds.
///
/// `kind` `count`: their counts, in one pass by grouping sets: each row has `current` and at most
/// one of `day` (a date, China Standard Time), `channel`, `category`, `district` (`unknown` for
/// none) and `status` — none for the span's total. `n` requests; `overdue` with an agency and
/// past their deadline now; `rated` with a rating, `satisfied` whose latest rating is satisfied
/// or basically satisfied (counted for the span's requests only; their ratings were all made in
/// the span or after).
///
/// `kind` `case`: the ten (`TOPIC_CASES`) requests of the span that most citizens raised (the one
/// who filed and those who follow: `citizens`), then the newest, none confidential or merged, in
/// that order (`rank`, from 1): `tracking_number`, `title`, `status`, `created_at`,
/// `category_id` and `category_name`, `district_id` and `district_name`. The followers counted
/// are those of the span's requests, joined to them as a set: PostgreSQL looks them up by each
/// request's key, or reads them all and joins by hash, as it expects to cost less. Counted for
/// every order, they grew with the years of the city's followers, whatever the topic (320000
/// followers: 81 ms of a report of 100 requests, 0.8 so; of 3000, 85 and 11; of every one of
/// 60000 orders, 160 and 238). Looked up for every request in a subquery, the plan's cost was
/// high enough for PostgreSQL to compile it (0.9 s of JIT).
///
/// Why one statement: as two, counts and cases,
/// each read the requests on the topic from the table (over ten million orders, a year of the place one in thirty names,
/// 幸福家园: 333 thousand requests, each on a page of its own, 2.0 s a read); in psql, the two
/// statements took 7.7 to 7.8 s and this one 4.4 to 4.6 (a month of 路灯, every request of it,
/// 5.5 to 5.8 and 5.2 to 5.4; words no request holds, 7 to 8.5 ms and 6.6 to 7).
///
/// A request's latest rating is the one of the span no later rating of the span follows (an
/// anti join), joined to the requests of the span by their key: PostgreSQL looks each up by the
/// request's key, or reads the span's ratings, as it expects to cost less. Written as each
/// request's ratings sorted and the latest kept (`distinct on`), they were a set of their own
/// to join, and where PostgreSQL took few requests to be on the topic (from the hour, for words
/// it takes to be rare: a week of 幸福家园, 12450 requests it took to be 13, and 2533 ratings)
/// it compared every request with every rating, 7.3 s of a report that takes 0.26.
///
/// `words` are the words `$4` will be: the statement is written for how many there are, and
/// `read` the way it reads the requests ([`TopicRead`]; with no words, a category alone, the
/// span whole whatever it says). Through the search indexes, it takes the orders they give
/// apart (`offset 0` keeps PostgreSQL from combining them with the BRIN index on filing time,
/// [`topic_read`]) before it keeps those of the span on the topic. From the hour, the hour is
/// its only bound from below: `$1` is midnight in China (UTC+8, and so on the hour), where the
/// hours of the orders it gives begin.
pub fn topic(words: &[String], read: TopicRead) -> String {
    let read = if words_indexable(words) {
        read
    } else {
        TopicRead::Whole
    };
    let (orders, from) = match read {
        TopicRead::Whole => ("work_orders".to_owned(), "o.created_at >= $1 and "),
        TopicRead::Indexes => (
            format!(
                "(select * from work_orders o where {} offset 0)",
                held(words)
            ),
            "o.created_at >= $1 and ",
        ),
        TopicRead::IndexesFromHour => (
            format!(
                "(select * from work_orders o where ({}) \
                   and search_hour(o.created_at) >= search_hour($1) offset 0)",
                held(words)
            ),
            "",
        ),
    };
    format!(
        "with matched as materialized ( \
             select o.work_order_id, o.created_at, o.created_at >= $2 as current, \
                    (o.created_at at time zone 'Asia/Shanghai')::date as day, \
                    o.channel, o.category_id as category, coalesce(o.district_id, 'unknown') as district, \
                    o.status, {OPEN} and o.deadline_at <= now() as overdue, \
                    o.created_at >= $2 and not o.confidential and o.status <> 'merged' as a_case \
             from {orders} o \
             where {from}o.created_at < $3 and {}), \
         top as ( \
             select m.work_order_id, m.created_at, 1 + coalesce(f.n, 0) as citizens from matched m \
             left join (select c.work_order_id, count(*) as n from matched c \
                        join order_followers f on f.work_order_id = c.work_order_id \
                        where c.a_case group by 1) f \
               on f.work_order_id = m.work_order_id \
             where m.a_case order by citizens desc, m.created_at desc, m.work_order_id limit {TOPIC_CASES}) \
         select 'count' as kind, null::int8 as rank, m.current, m.day, m.channel, m.category, m.district, \
                m.status, count(*) as n, count(*) filter (where m.overdue) as overdue, \
                count(r.satisfaction) as rated, \
                count(*) filter (where r.satisfaction in ('satisfied', 'basically_satisfied')) as satisfied, \
                null::text as tracking_number, null::text as title, null::timestamptz as created_at, \
                null::text as category_id, null::text as category_name, null::text as district_id, \
                null::text as district_name, null::int8 as citizens \
         from matched m left join ( \
             select r.work_order_id, r.satisfaction from ratings r \
             where r.created_at >= $2 and not exists ( \
                 select 1 from ratings n where n.work_order_id = r.work_order_id \
                 and n.round > r.round and n.created_at >= $2)) r \
           on m.current and r.work_order_id = m.work_order_id \
         group by grouping sets ((m.current), (m.current, m.day), (m.current, m.channel), \
                                 (m.current, m.category), (m.current, m.district), (m.current, m.status)) \
         union all \
         select 'case', row_number() over (order by t.citizens desc, t.created_at desc, t.work_order_id), \
                null, null, null, null, null, o.status, null, null, null, null, \
                o.tracking_number, o.title, o.created_at, o.category_id, c.name, o.district_id, d.name, t.citizens \
         from top t join work_orders o on o.work_order_id = t.work_order_id \
         join categories c on c.category_id = o.category_id \
         left join districts d on d.district_id = o.district_id",
        on_topic()
    )
}

/// The orders that came under key supervision (重点督办) in [$2, $3) (`current`) and in [$1, $2)
/// (`before`), through the partial index of the orders under it by when.
pub const KEY_SUPERVISED: &str = "select count(*) filter (where o.key_supervised_at >= $2) as current, \
        count(*) filter (where o.key_supervised_at < $2) as before \
     from work_orders o where o.key_supervised_at >= $1 and o.key_supervised_at < $3";

/// The early warnings (预警) raised in [$1, $2): what surged (`district` and `category` names)
/// and how many requests, most first.
pub const EARLY_WARNINGS_RAISED: &str = "select d.name as district, c.name as category, w.received \
     from early_warnings w join categories c on c.category_id = w.category_id \
     join districts d on d.district_id = w.district_id \
     where w.created_at >= $1 and w.created_at < $2 \
     order by w.received desc, w.early_warning_id";

/// The KPI appeals (考核申诉) filed in [$1, $2): how many, and how many of them are approved,
/// refused and not decided yet.
pub const APPEALS_FILED: &str = "select count(*) as filed, \
        count(*) filter (where decision = 'approved') as approved, \
        count(*) filter (where decision = 'refused') as refused, \
        count(*) filter (where decision is null) as pending \
     from kpi_appeals where filed_at >= $1 and filed_at < $2";

/// At most this many categories are named for each place: its hot issues.
pub const TOP_CATEGORIES_A_PLACE: i64 = 3;

/// An order of category `$4`, or of one under it; any order when `$4` is null (`o` the order).
const IN_CATEGORY: &str = "($4::text is null or o.category_id = $4 \
     or o.category_id in (select category_id from categories where parent_id = $4))";

/// The hot spots' statement by `by` (`grid` or `district`; `None` for anything else), with each
/// place's boundary as GeoJSON (`geometry`) if `boundaries`. For every place, and for the orders
/// in none (`code` empty, `name` null): the requests received in [$2, $3) and in the period of
/// the same length before, [$1, $2); its orders open at `$3` and the overdue among them; and its
/// top categories of the period as JSON `[[code, name, count], ...]`, most first. `$4`, if not
/// null, counts only the orders of that category (or under it).
pub fn places_sql(by: &str, boundaries: bool) -> Option<String> {
    let (places, key, district) = match by {
        "grid" => (
            "grids",
            "grid_id",
            "p.district_id as district_code, \
             (select d.name from districts d where d.district_id = p.district_id) as district_name",
        ),
        "district" => (
            "districts",
            "district_id",
            "null::text as district_code, null::text as district_name",
        ),
        _ => return None,
    };
    // About 10 m: a city map loses nothing, and an imported boundary of thousands of points
    // does not make every answer megabytes.
    let geometry = if boundaries {
        ", st_asgeojson(st_simplifypreservetopology(p.boundary, 0.0001), 5) as geometry"
    } else {
        ""
    };
    Some(format!(
        "with filed as ( \
             select coalesce(o.{key}, '') as code, o.created_at >= $2 as current, o.category_id, count(*) as n \
             from work_orders o \
             where o.created_at >= $1 and o.created_at < $3 and {IN_CATEGORY} \
             group by 1, 2, 3), \
         received as ( \
             select code, coalesce(sum(n) filter (where current), 0)::int8 as received, \
                    coalesce(sum(n) filter (where not current), 0)::int8 as received_before \
             from filed group by code), \
         top as ( \
             select r.code, json_agg(json_build_array(r.category_id, c.name, r.n) \
                                     order by r.n desc, r.category_id)::text as top_categories \
             from (select f.code, f.category_id, f.n, \
                          row_number() over (partition by f.code order by f.n desc, f.category_id) as rank \
                   from filed f where f.current) r \
             join categories c on c.category_id = r.category_id \
             where r.rank <= {TOP_CATEGORIES_A_PLACE} group by r.code), \
         open as ( \
             select coalesce(o.{key}, '') as code, count(*) as open, \
                    count(*) filter (where o.deadline_at <= $3) as overdue \
             from work_orders o where {OPEN} and {IN_CATEGORY} group by 1), \
         keys as (select {key} as code from {places} union select code from received \
                  union select code from open) \
         select k.code, p.name, {district}, \
                round(st_y(st_pointonsurface(p.boundary))::numeric, 6)::float8 as lat, \
                round(st_x(st_pointonsurface(p.boundary))::numeric, 6)::float8 as lng, \
                coalesce(r.received, 0) as received, coalesce(r.received_before, 0) as received_before, \
                coalesce(op.open, 0) as open, coalesce(op.overdue, 0) as overdue, t.top_categories{geometry} \
         from keys k left join {places} p on p.{key} = k.code \
         left join received r on r.code = k.code left join open op on op.code = k.code \
         left join top t on t.code = k.code"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn any_words_are_looked_up_through_the_words_or_the_characters_index() {
        for asked in [
            &["暖气", "供暖"][..],
            &["幸福家园", "㐀㐁"],
            &["pm2.5", "３号楼", "led", "暖\u{F900}"],
            &["暖"],
            &["暖气", "气"],
            &["x"],
            &["３"],
            &["ｶﾞ"],
        ] {
            assert!(words_indexable(&words(asked)), "{asked:?}");
        }
        // None: a category alone.
        assert!(!words_indexable(&[]));
        for read in [TopicRead::Indexes, TopicRead::IndexesFromHour] {
            let statement = topic(&[], read);
            assert!(!statement.contains("search_bigrams"), "{read:?}");
            assert!(
                statement.contains("where o.created_at >= $1 and"),
                "{read:?}"
            );
        }
        // The words and the text compared in one form, the words put in it once.
        let statement = topic(&words(&["pm2.5"]), TopicRead::Whole);
        assert!(statement.contains("select search_text(a.word) from unnest($4::text[]) a(word)"));
        for column in ["title", "description", "address", "supplements_text"] {
            assert!(statement.contains(&format!("strpos(search_text(o.{column}), w.word) > 0")));
        }
        // One condition on the indexes for each word, when asked for: on the words index for
        // words with pairs of characters, on the characters index for those with none, decided
        // in the words' compatibility form, as PostgreSQL plans the statement.
        let heating = words(&["暖气", "气"]);
        let indexed = topic(&heating, TopicRead::Indexes);
        assert!(indexed.contains(&format!(
            "((cardinality(search_bigrams(($4::text[])[2])) = 0 \
               or {} @> search_bigrams(($4::text[])[2]))",
            crate::search::ORDER_PAIRS
        )));
        assert!(indexed.contains(&format!(
            "(cardinality(search_bigrams(($4::text[])[2])) > 0 \
               or {} @> search_characters(($4::text[])[2]))",
            crate::search::ORDER_CHARACTERS
        )));
        assert!(!indexed.contains("[3]"));
        assert!(indexed.contains(&format!(
            "from (select * from work_orders o where {} offset 0) o \
             where o.created_at >= $1 and o.created_at < $3",
            held(&heating)
        )));
        // From the hour: the hour its only bound from below, for PostgreSQL to expect the
        // orders of the span once.
        let hourly = topic(&heating, TopicRead::IndexesFromHour);
        assert!(hourly.contains(&format!(
            "from (select * from work_orders o where ({}) \
               and search_hour(o.created_at) >= search_hour($1) offset 0) o \
             where o.created_at < $3",
            held(&heating)
        )));
        assert!(!hourly.contains("o.created_at >= $1"));
        let read = topic(&heating, TopicRead::Whole);
        assert!(!read.contains("search_bigrams") && !read.contains("search_characters"));
        assert!(!read.contains("search_hour"));
    }

    #[test]
    fn a_topic_is_read_the_way_whose_plan_costs_least_of_those_reading_an_index_or_the_span() {
        let plan = |lines: &[&str]| words(lines);
        let whole = plan(&[
            "Append  (cost=678709.45..702333.62 rows=41 width=401)",
            "  ->  Bitmap Index Scan on work_orders_by_filing_time",
        ]);
        let words = plan(&[
            "Append  (cost=1680.35..1744.30 rows=41 width=401)",
            "  ->  Bitmap Index Scan on work_orders_words  (cost=0.00..78.71 rows=362 width=0)",
        ]);
        let hourly = plan(&[
            "Append  (cost=7551.10..7639.11 rows=41 width=401)",
            "  ->  Bitmap Index Scan on work_orders_words  (cost=0.00..1304.39 rows=13 width=0)",
        ]);
        assert_eq!(topic_read(&whole, &words, &hourly), TopicRead::Indexes);
        assert_eq!(
            topic_read(&whole, &hourly, &words),
            TopicRead::IndexesFromHour
        );
        assert_eq!(topic_read(&words, &whole, &hourly), TopicRead::Whole);
        let characters = plan(&[
            "Append  (cost=576201.92..577145.37 rows=41 width=401)",
            "        ->  BitmapOr",
            "              ->  Bitmap Index Scan on work_orders_words",
            "              ->  Bitmap Index Scan on work_orders_characters",
        ]);
        assert_eq!(topic_read(&whole, &characters, &[]), TopicRead::Indexes);
        assert_eq!(
            topic_read(&whole, &[], &characters),
            TopicRead::IndexesFromHour
        );
        // Costing more.
        let costly = plan(&[
            "Append  (cost=4204489.65..4228145.08 rows=41 width=401)",
            "  ->  Bitmap Index Scan on work_orders_characters",
        ]);
        assert_eq!(topic_read(&whole, &costly, &costly), TopicRead::Whole);
        assert_eq!(
            topic_read(&whole, &costly, &hourly),
            TopicRead::IndexesFromHour
        );
        // The same cost: the way listed first.
        assert_eq!(topic_read(&whole, &words, &words), TopicRead::Indexes);
        // Not reading the indexes, or no cost to compare.
        let seq = plan(&[
            "Append  (cost=1.00..2.00 rows=41 width=401)",
            "  ->  Seq Scan on work_orders o",
        ]);
        assert_eq!(topic_read(&whole, &seq, &seq), TopicRead::Whole);
        let costless = plan(&["Bitmap Index Scan on work_orders_words"]);
        assert_eq!(topic_read(&whole, &costless, &costless), TopicRead::Whole);
        assert_eq!(topic_read(&[], &words, &hourly), TopicRead::Whole);
    }
}
