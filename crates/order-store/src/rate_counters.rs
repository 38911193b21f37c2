//! The gateway's rate counter as SQL: the gateway runs it on every request, and the bench runs
//! the same text under pgbench.

/// Counts a request in this minute's rows for `$1` (the principal's key, or null) and `$2` (one
/// of the address's rows), and answers both counts and the seconds left in the minute; and
/// whether the token of `$3` (the principal's subject, or null) issued at `$4` (seconds since the
/// epoch) was revoked since (`access_revocations`: a disabled account, a new password, a
/// cancelled account), or its session `$5` (the token's refresh-token family, or null) ended (a
/// sign-out, a reused refresh token: the family has a revoked token), by key in the same
/// statement.
pub const COUNT: &str = "with hits as ( \
         insert into rate_counters (key, window_start, hits) \
         select k, date_trunc('minute', now()), 1 from unnest(array[$1, $2]::text[]) k where k is not null \
         on conflict (key, window_start) do update set hits = rate_counters.hits + 1 \
         returning key, hits) \
     select coalesce(max(hits) filter (where key = $1), 0) as principal_hits, \
            coalesce(max(hits) filter (where key = $2), 0) as address_hits, \
            (60 - extract(second from now()))::float8 as wait, \
            exists (select 1 from access_revocations r \
                    where r.subject = $3 and r.revoked_at > to_timestamp($4::float8)) \
            or exists (select 1 from refresh_tokens t \
                       where t.family_id = $5 and t.revoked_at is not null) as revoked \
     from hits";
