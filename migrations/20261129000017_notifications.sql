-- Notifications: what people are told, and the outbox that delivers it.
--
-- A state change that people must hear of writes, in its own transaction, one `notifications`
-- row per person (their inbox in the app) and one `notification_deliveries` row per channel that
-- reaches them (a push token, a WeChat subscribe message, an SMS): the transactional outbox. The
-- `notifications` component delivers the outbox after the commit and on a schedule, so a crash or
-- an outage delays a message but never loses it.

-- What is said, per kind of notification, in Chinese. Operators of the platform edit the text
-- through the API; placeholders in braces are filled from the order when the notification is made:
-- {tracking_number} {title} {deadline} (China time, e.g. 12月3日 17:30).
create table notification_templates (
    kind        text primary key check (kind ~ '^[a-z][a-z_]{1,40}$'),
    audience    text not null check (audience in ('staff', 'citizen')),
    title       text not null check (char_length(title) between 1 and 40),
    body        text not null check (char_length(body) between 1 and 300),
    -- The WeChat subscribe message template and the SMS template approved for this kind, where
    -- the platform has them (a citizen with no app is reached by these).
    wechat_template_id  text,
    sms_template        text,
    -- Whether a citizen with no app hears of it by WeChat subscribe message or SMS (these cost
    -- the citizen's one-time consent or money, so only the kinds that matter most).
    fallback    boolean not null default false,
    updated_by  text not null default 'migration',
    updated_at  timestamptz not null default now()
);

insert into notification_templates (kind, audience, title, body, fallback) values
    ('task_new', 'staff', '新工单', '新派工单 {tracking_number}：{title}，请在 {deadline} 前办结。', false),
    ('task_returned', 'staff', '工单退回', '工单 {tracking_number}：{title} 已退回贵单位，请继续办理，办结时限 {deadline}。', false),
    ('task_redo', 'staff', '工单重办', '工单 {tracking_number}：{title} 市民不满意，已转重办，请在 {deadline} 前办结。', false),
    ('deadline_warning', 'staff', '即将超期', '工单 {tracking_number}：{title} 将于 {deadline} 到期，请抓紧办理。', false),
    ('reminder', 'staff', '催办', '工单 {tracking_number}：{title} 被催办，请尽快办理，办结时限 {deadline}。', false),
    ('supervision', 'staff', '督办', '工单 {tracking_number}：{title} 已列入督办，请于 {deadline} 前办结并报告办理情况。', false),
    ('citizen_accepted', 'citizen', '诉求已受理', '您的诉求（{tracking_number}）已受理，我们会尽快派给承办单位。', true),
    ('citizen_dispatched', 'citizen', '诉求已派单', '您的诉求（{tracking_number}）已派给承办单位办理。', false),
    ('citizen_replied', 'citizen', '诉求已答复', '您的诉求（{tracking_number}）已有答复，请查看并评价办理结果。', true),
    ('citizen_redo_started', 'citizen', '诉求重新办理', '您的诉求（{tracking_number}）已安排重新办理。', true);

create table notification_template_changes (
    change_id   bigint generated always as identity primary key,
    kind        text not null references notification_templates (kind),
    title       text not null,
    body        text not null,
    changed_by  text not null,
    changed_at  timestamptz not null default now()
);

-- Push tokens of people's phones. A token belongs to one person: registering it again (another
-- person signing in on the same phone) moves it.
create table devices (
    device_id      uuid primary key default gen_random_uuid(),
    -- The token's subject: a staff username or a citizen's subject.
    subject        text not null,
    platform       text not null check (platform in ('fcm', 'apns', 'hms')),
    token          text not null check (char_length(token) between 8 and 4096),
    app_version    text check (char_length(app_version) <= 40),
    created_at     timestamptz not null default now(),
    last_seen_at   timestamptz not null default now(),
    unique (platform, token)
);

create index devices_by_subject on devices (subject);

-- A person's inbox. The dedupe key names the event and the person, so writing a notification twice
-- for one event is impossible.
create table notifications (
    notification_id  uuid primary key default gen_random_uuid(),
    recipient        text not null,
    work_order_id    uuid references work_orders (work_order_id),
    kind             text not null references notification_templates (kind),
    title            text not null,
    body             text not null,
    dedupe_key       text not null unique,
    created_at       timestamptz not null default now(),
    read_at          timestamptz
);

create index notifications_by_recipient on notifications (recipient, created_at desc, notification_id desc);

-- The outbox: one row per channel a notification goes out on.
create table notification_deliveries (
    delivery_id       uuid primary key default gen_random_uuid(),
    notification_id   uuid not null references notifications (notification_id),
    channel           text not null check (channel in ('fcm', 'apns', 'hms', 'wechat', 'sms')),
    -- The device it goes to; null once the device is removed (the delivery is then dropped).
    device_id         uuid references devices (device_id) on delete set null,
    -- The push token, openid or phone number at the time of writing.
    address           text not null,
    -- pending → sent | dead (attempts used up, or the provider refused for good) | dropped (the
    -- address turned out invalid and was removed). Supervisors re-queue dead ones.
    status            text not null default 'pending' check (status in ('pending', 'sent', 'dead', 'dropped')),
    attempts          int not null default 0,
    next_attempt_at   timestamptz not null default now(),
    -- A delivering instance holds the row until then; another may take it over after.
    claimed_until     timestamptz,
    last_error        text,
    provider_message_id text,
    sent_at           timestamptz,
    created_at        timestamptz not null default now(),
    -- Sent with the message (FCM collapse key, APNs collapse id, ...) and unique here.
    dedupe_key        text not null unique
);

create index notification_deliveries_due on notification_deliveries (next_attempt_at) where status = 'pending';
create index notification_deliveries_dead on notification_deliveries (created_at desc) where status = 'dead';
create index notification_deliveries_by_notification on notification_deliveries (notification_id);

-- Re-queueing a dead delivery is a supervisor's act and is logged.
create table notification_requeues (
    requeue_id   bigint generated always as identity primary key,
    delivery_id  uuid not null references notification_deliveries (delivery_id),
    requeued_by  text not null,
    requeued_at  timestamptz not null default now()
);

-- The deadline the holding agency was last warned of (four-fifths of its time gone); an extension
-- sets a new deadline, which warns again.
alter table work_orders add column warned_deadline timestamptz;

create index work_orders_deadline_warnings on work_orders (deadline_at)
    where status in ('dispatched', 'signed', 'in_progress') and dispatched_at is not null;
