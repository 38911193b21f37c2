-- Hot issues (热点问题) come under key supervision too: an order with an agency that five citizens
-- raise (the one who filed it and those who follow it, among them the citizens of duplicates merged
-- into it) is put under key supervision in the transaction that adds the fifth, or that hands it to
-- an agency (`order_store::outbox::key_supervise_hot_issue`). The agency's staff hear of it as for
-- the supervisors' action; every supervisor hears why.
insert into notification_templates (kind, audience, title, body, fallback) values
    ('key_supervision_hot_issue', 'staff', '热点问题列入重点督办',
     '工单 {tracking_number}：{title} 已有多位群众反映同一问题，已自动列入重点督办，请跟踪督办。',
     false);
