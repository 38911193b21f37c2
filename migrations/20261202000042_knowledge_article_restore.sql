-- A retired knowledge-base article can be given again (its rule came back, or it was retired by
-- mistake): the change is logged as `restored`, in the audit log as `knowledge_article_restored`.
alter table knowledge_article_changes drop constraint knowledge_article_changes_change_check;
alter table knowledge_article_changes add constraint knowledge_article_changes_change_check
    check (change in ('created', 'updated', 'retired', 'restored'));

-- The retired articles, latest retired first, for supervisors to find one to restore.
create index knowledge_articles_retired on knowledge_articles (retired_at) where retired_at is not null;
