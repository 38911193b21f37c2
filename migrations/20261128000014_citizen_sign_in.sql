-- Citizens sign in with their phone number and a code sent by SMS. Codes are stored only as a
-- hash, live five minutes, and die after five wrong tries; how many were sent to a number or from
-- an address is counted from this table, so the limits hold across instances.
create table sms_codes (
    sms_code_id  bigint generated always as identity primary key,
    phone        text not null,
    code_hash    text not null,
    client_addr  text,
    -- The provider's id for the message (Aliyun BizId, Tencent SerialNo).
    provider_ref text,
    attempts     int not null default 0 check (attempts >= 0),
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null,
    used_at      timestamptz
);

create index sms_codes_by_phone on sms_codes (phone, created_at desc);
create index sms_codes_by_client on sms_codes (client_addr, created_at desc);
