-- The knowledge base (知识库): the answers the centre gives to what citizens often ask, so that an
-- operator answers a call from it (直接办结) instead of filing a work order, and citizens find the
-- answer in the app before they file. Maintained by supervisors and administrators; every change
-- is kept (`knowledge_article_changes`, in the audit log).

-- Search terms of Chinese text without a word segmenter: every two neighbouring Han characters
-- (a bigram, the usual unit of Chinese full-text search: 社保卡补办 → 社保 保卡 卡补 补办), a Han
-- character standing alone, and every run of letters and digits as a word (full-width folded to
-- ASCII, lower case). A query is cut the same way; an article matches when it shares at least half
-- of the query's terms, and ranks by how many, those in its title and keywords counting twice.
-- Declared immutable (it is: `array_to_string` of text is), so that it can compute stored columns.
create function knowledge_terms(title text, answer text, keywords text[]) returns text[]
language sql immutable parallel safe as $$
    with runs as (
        select m[1] as run
        from regexp_matches(
                 translate(lower(coalesce(title, '') || ' ' || coalesce(answer, '') || ' '
                                 || coalesce(array_to_string(keywords, ' '), '')),
                           '０１２３４５６７８９ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ',
                           '0123456789abcdefghijklmnopqrstuvwxyz'),
                 '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+)', 'g') as m),
    terms as (
        select run as term from runs where run ~ '^[a-z0-9]' or length(run) = 1
        union
        select substr(run, i, 2) from runs, generate_series(1, length(run) - 1) as i
        where run !~ '^[a-z0-9]' and length(run) >= 2)
    select coalesce(array_agg(term order by term), '{}') from terms
$$;

create table knowledge_articles (
    knowledge_article_id  bigint generated always as identity primary key,
    -- The question as citizens put it, e.g. 社保卡丢失如何补办.
    title                 text not null check (length(title) between 1 and 100),
    answer                text not null check (length(answer) between 1 and 4000),
    category_id           text references categories (category_id),
    -- The agency whose rules the answer states (who to ask when they change).
    agency_id             text references agencies (agency_id),
    keywords              text[] not null default '{}',
    terms                 text[] not null generated always as (knowledge_terms(title, answer, keywords)) stored,
    title_terms           text[] not null generated always as (knowledge_terms(title, null, keywords)) stored,
    created_by            text not null,
    updated_by            text not null,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    -- No longer given (the rule changed); kept for the orders answered from it.
    retired_at            timestamptz
);

-- Search: the live articles sharing a term with the query.
create index knowledge_articles_terms on knowledge_articles using gin (terms) where retired_at is null;

create table knowledge_article_changes (
    knowledge_article_change_id  bigint generated always as identity primary key,
    knowledge_article_id         bigint not null references knowledge_articles (knowledge_article_id),
    change                       text not null check (change in ('created', 'updated', 'retired')),
    actor                        text not null,
    -- The article as it stood after the change.
    article                      jsonb not null,
    created_at                   timestamptz not null default now()
);

create index knowledge_article_changes_by_article on knowledge_article_changes (knowledge_article_id);

create trigger knowledge_article_changes_no_change
    before update or delete on knowledge_article_changes
    for each row execute function work_order_events_append_only();

-- Which article an operator's direct answer came from (how much the knowledge base answers).
alter table work_orders
    add column answered_from_article bigint references knowledge_articles (knowledge_article_id);

create or replace view audit_log as
    select created_at as at, actor, event as action, target, detail
    from auth_events
    union all
    select created_at, actor, 'dispatch_rule_' || change, dispatch_rule_id::text, rule
    from dispatch_rule_changes
    union all
    select created_at, actor, 'calendar_' || change, day::text, jsonb_build_object('before', before, 'after', after)
    from business_calendar_changes
    union all
    select r.created_at, r.subject, 'contact_phone_revealed', o.tracking_number,
           jsonb_build_object('role', r.role, 'agency', r.agency_id)
    from phone_reveals r join work_orders o on o.work_order_id = r.work_order_id
    union all
    select changed_at, changed_by, 'notification_template_changed', kind,
           jsonb_build_object('title', title, 'body', body)
    from notification_template_changes
    union all
    select q.requeued_at, q.requeued_by, 'delivery_requeued', q.delivery_id::text,
           jsonb_build_object('channel', d.channel)
    from notification_requeues q join notification_deliveries d on d.delivery_id = q.delivery_id
    union all
    select e.created_at, e.actor, 'complaint_ruled_unreasonable', o.tracking_number,
           jsonb_build_object('reason', e.note)
    from work_order_events e join work_orders o on o.work_order_id = e.work_order_id
    where e.event = 'complaint_ruled_unreasonable'
    union all
    select created_at, actor, 'knowledge_article_' || change, knowledge_article_id::text, article
    from knowledge_article_changes;
