-- Photos an agency's reply (办理结果) carries: the streetlight working again, the road mended. The
-- centre's auditors see them in the reply's history entry; the citizen sees them with the answer
-- once the audit passed it. One row per `replied` event that carried any, written in its
-- transaction; the photos are ones the replying staff uploaded (`photos`, migration 83).
create table work_order_event_photos (
    work_order_event_id bigint primary key references work_order_events (work_order_event_id),
    photo_urls text[] not null check (cardinality(photo_urls) between 1 and 9)
);
