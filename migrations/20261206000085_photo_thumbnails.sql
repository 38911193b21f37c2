-- Thumbnails of photos (`GET /api/v1/photos/{id}?size=thumbnail`): what an order list or a
-- timeline shows, a JPEG whose long side is 400 pixels, some 5 to 30 KB where the picture is up
-- to 2 MiB. Intake makes it at upload (the `thumbnail` crate), upright and without metadata, in
-- the statement that keeps the photo. Null for a picture that does not decode, or would take too
-- much memory to, and for photos kept before this migration: the picture itself is answered in
-- its place.
alter table photos
    add column thumbnail bytea check (octet_length(thumbnail) between 1 and 262144);
-- A JPEG is compressed already.
alter table photos alter column thumbnail set storage external;
