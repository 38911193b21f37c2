-- Photos that citizens and staff upload (`POST /api/v1/photos`): the picture of the broken
-- streetlight a citizen files with, one a supplement brings, one agency staff take on site. Kept
-- in the platform's one store, so that its backups and archive hold them with the orders that
-- name them. A filing, supplement or visit names a photo by its link (`/api/v1/photos/<id>`) in
-- its `photo_urls`, and marks it attached in its own transaction; those nobody attached within a
-- day are removed by the hourly schedule.
create table photos (
    -- Random: whoever has the link reads the photo (signed in).
    photo_id uuid primary key,
    -- The subject who uploaded it; only they may attach it.
    uploader text not null,
    -- As its bytes say, not as the sender did.
    content_type text not null check (content_type in ('image/jpeg', 'image/png', 'image/webp')),
    sha256 bytea not null check (octet_length(sha256) = 32),
    size integer not null check (size between 1 and 2097152),
    bytes bytea not null check (octet_length(bytes) = size),
    created_at timestamptz not null,
    attached_at timestamptz,
    -- The same bytes sent again by the same person are the photo they have.
    unique (uploader, sha256)
);
-- Pictures are compressed already: stored out of line as they are, not compressed again.
alter table photos alter column bytes set storage external;
-- One person's uploads of the last day (the daily limit), and the unattached ones by age.
create index photos_by_uploader on photos (uploader, created_at);
create index photos_unattached on photos (created_at) where attached_at is null;
