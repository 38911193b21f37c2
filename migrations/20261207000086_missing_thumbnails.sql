-- Thumbnails for the photos kept before migration 85 made them at upload: intake's schedule
-- (`POST /internal/thumbnails`, every minute for a few seconds) makes them, the newest first, and
-- marks each photo it tried, so that a picture that does not decode is tried once. Rows already
-- here are untried; a photo kept from now on was tried at its upload.
alter table photos add column thumbnail_tried boolean not null default false;
alter table photos alter column thumbnail_tried set default true;
-- What is left to try, newest first: empty once the schedule has been through them.
create index photos_without_thumbnail on photos (created_at desc)
    where thumbnail is null and not thumbnail_tried;
