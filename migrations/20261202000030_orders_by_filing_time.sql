-- The orders by when they were filed, for the period reports (`GET /api/v1/supervision/report`:
-- a day's, week's or month's requests and the period's before). Nothing read orders by filing time
-- across the city before: each citizen's list has its own index.
--
-- BRIN, not a b-tree: orders are inserted in filing order, so a table block's orders were filed
-- within minutes of each other and a summary of each 128 blocks' range of times finds a period's
-- blocks, at a few kilobytes for millions of orders and next to nothing on each filing (a b-tree
-- would add an index entry to every filing's transaction, the path the bench's filing row
-- measures). `autosummarize` summarises a range once it is full, so the recent blocks are read
-- whole only until then.
create index work_orders_by_filing_time on work_orders using brin (created_at)
    with (autosummarize = on);
