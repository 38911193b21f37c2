-- The front door's rate limits: requests per key (a principal or a client address) per minute.
-- Unlogged: a crash forgets the current minute's counts, which costs nothing worth a WAL write
-- on every request.
create unlogged table rate_counters (
    key           text not null,
    window_start  timestamptz not null,
    hits          int not null,
    primary key (key, window_start)
);
