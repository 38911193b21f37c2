-- Internal articles (内部口径): what the centre tells its own staff — whom to call at an agency,
-- how to handle a kind of caller, what not to promise — beside the answers citizens read. Staff
-- find them as they find any article; citizens never do, and an operator answers from one only
-- in their own words.
alter table knowledge_articles add column internal boolean not null default false;
