//! A person's own notifications as the inbox reads them (`GET /api/v1/notifications`).

/// A notification as the inbox shows it (`n`, with its order `o`).
pub const COLUMNS: &str = "n.notification_id, n.kind, n.title, n.body, n.work_order_id, \
     o.tracking_number, n.special_report_id, n.early_warning_id, n.circular_id, n.created_at, \
     n.read_at";

/// A page of `$1`'s notifications, newest first, after the cursor (`$2`, `$3`: when and which
/// of the last one shown, or nulls for the first page), at most `$4`; `unread_only`, those not
/// yet read.
///
/// The unread are read through their own index (`notifications_unread`, migration 72): a
/// separate statement, so that each plan knows which it reads. Through the index of them all,
/// newest first, a page of the unread read every notification its reader had read: over 50000
/// of a busy agency's staff member, 10 unread, 24 ms a page, and 0.08 ms so.
pub fn page(unread_only: bool) -> String {
    let unread = if unread_only {
        "and n.read_at is null"
    } else {
        ""
    };
    format!(
        "select {COLUMNS} from notifications n \
         left join work_orders o on o.work_order_id = n.work_order_id \
         where n.recipient = $1 {unread} \
           and ($2::timestamptz is null or (n.created_at, n.notification_id) < ($2::timestamptz, $3::uuid)) \
         order by n.created_at desc, n.notification_id desc limit $4"
    )
}

/// How many of `$1`'s notifications are not yet read (every page of the inbox says it: the
/// apps' badge), counted in the index of the unread alone (`notifications_unread`): through the
/// index of them all, PostgreSQL read all of a reader's notifications, 21 ms over 50000.
pub const UNREAD: &str =
    "select count(*) as unread from notifications where recipient = $1 and read_at is null";

/// Marks `$1`'s unread notifications read, every one, or (`$2`) the one the app showed newest
/// and those before it, so that what came after stays unread (全部已读); how many it marked
/// (`marked`) and how many stay unread (`unread`). Through `notifications_unread`, only the
/// unread are read and written.
pub const READ_ALL: &str = "with marked as ( \
         update notifications n set read_at = now() \
         where n.recipient = $1 and n.read_at is null \
           and ($2::uuid is null or (n.created_at, n.notification_id) <= \
                (select t.created_at, t.notification_id from notifications t \
                 where t.notification_id = $2 and t.recipient = $1)) \
         returning 1) \
     select (select count(*) from marked) as marked, \
            (select count(*) from notifications where recipient = $1 and read_at is null) \
              - (select count(*) from marked) as unread";
