-- WeChat's content check of what a mini-program citizen wrote: `pass`, `review`, `risky`, or
-- `unchecked` (WeChat could not be asked). Null for requests from other channels. Only requests
-- whose text is null-checked or passed are shown to other citizens among those nearby; the
-- filing itself is never refused for its words.
alter table work_orders add column content_check text
    check (content_check in ('pass', 'review', 'risky', 'unchecked'));
